/* intervals.c: 95% intervals for the headline metrics, and paired comparisons.
 *
 * DESIGN
 * The pipeline keeps a compact ci_rec per target and variant (bits for the
 * hit at each of the 100 thresholds, the evidence shares, ...). Here each
 * metric is folded into per-image numerators and denominators and handed to
 * the image bootstrap of stats.c (1,000 resamples by default, fixed seed):
 *   BoxAcc, pointing, energy: sum over the image's scored targets / their
 *     number (st_boot_ratio);
 *   MaxBoxAcc and MaxBoxAccV2: per image, the number of its scored targets
 *     hit at each of the 100 thresholds (one row of 100 counters; three
 *     rows for V2, one per IoU level); st_boot_max takes, in each resample,
 *     the best threshold on the resampled images (V2: per level, then the
 *     mean of the three levels), so the threshold choice is resampled too;
 *   enrichment: sum of shares / sum of area shares over eligible targets;
 *   sign-table shares: per image, the sums of its targets' NN (NP) products
 *     and of the positive (negative) mass, a ratio of resampled sums.
 * Intervals over the same resamples are computed together, each resample
 * drawn once: a variant's six ratios in one st_boot_ratios pass, its
 * MaxBoxAcc and MaxBoxAccV2 of a norm in one st_boot_max_groups pass (one
 * count array of 4 levels: the curve, then the three IoU levels), and the
 * sixteen share intervals in one (ci_shares_compute); ci_share_compute is
 * the one-at-a-time twin. Same bytes either way (tested).
 * A paired comparison folds A - B per image with the same denominator, so
 * the resampled difference keeps the pairing (MaxBoxAcc: each variant's own
 * best threshold in each resample, max_a - max_b); binary metrics also get
 * McNemar's exact test on the discordant targets.
 *
 * Thread safety: pure; the bootstrap runs its own OpenMP loop.
 */
#include "analysis/intervals.h"
#include "analysis/stats.h"

#include <stdlib.h>
#include <string.h>

static int bit(const uint8_t *b, int i) { return (b[i >> 3] >> (i & 7)) & 1; }

void ci_rec_set(ci_rec *c, const loc_result *r, int scored)
{
    memset(c, 0, sizeof *c);
    c->scored = (uint8_t)scored;
    for (int n = 0; n < LOC_NNORM; n++) {
        for (int i = 0; i < LOC_NTHR; i++) {
            uint8_t b = r->curve[n][i];
            if (b & LOC_HIT) c->curve[n][i >> 3] |= (uint8_t)(1u << (i & 7));
            if (b & LOC_ANY30) c->any[n][0][i >> 3] |= (uint8_t)(1u << (i & 7));
            if (b & LOC_ANY50) c->any[n][1][i >> 3] |= (uint8_t)(1u << (i & 7));
            if (b & LOC_ANY70) c->any[n][2][i >> 3] |= (uint8_t)(1u << (i & 7));
        }
        c->hit[n] = r->iou[n] >= 0.5;
        if (!r->degenerate) {
            c->box[n][0] = (uint16_t)r->box[n].x0;
            c->box[n][1] = (uint16_t)r->box[n].y0;
            c->box[n][2] = (uint16_t)r->box[n].x1;
            c->box[n][3] = (uint16_t)r->box[n].y1;
        }
    }
    c->point_hit = r->point_hit;
    c->degenerate = r->degenerate;
    c->energy = r->energy;
    c->neg_ok = r->has_other && r->neg_ok;
    c->pos_ok = r->has_other && r->pos_ok;
    c->other_area = r->other_area;
    c->neg_other = r->neg_other;
    c->pos_other = r->pos_other;
}

const char *ci_metric_name(int metric)
{
    static const char *const n[CI_NMETRIC] = {"boxacc", "maxboxacc", "pointing", "energy"};
    return metric >= 0 && metric < CI_NMETRIC ? n[metric] : NULL;
}

int ci_metric_has_norm(int metric)
{
    return metric == CI_BOXACC || metric == CI_MAXBOXACC;
}

/* Value of one target for a metric (thr: threshold index for MaxBoxAcc). */
static double value(const ci_rec *r, int metric, int norm, int thr)
{
    switch (metric) {
    case CI_BOXACC: return r->hit[norm];
    case CI_MAXBOXACC: return bit(r->curve[norm], thr);
    case CI_POINTING: return r->point_hit;
    default: return r->energy;
    }
}

/* Per-image buffers: a, b, d for st_boot_ratio; ca (N, 3, LOC_NTHR),
 * cb (N, 1, LOC_NTHR) and cd (N) hit counts for st_boot_max; its work. */
typedef struct {
    double *a, *b, *d;
    uint32_t *ca, *cb, *cd;
    void *work;
} bufs;

static void bufs_free(bufs *u)
{
    free(u->a); free(u->b); free(u->d);
    free(u->ca); free(u->cb); free(u->cd);
    free(u->work);
}

static int bufs_alloc(bufs *u, const ci_ctx *c)
{
    size_t n = (size_t)c->N;
    unsigned long w1 = st_boot_work_bytes(c->N, c->B, c->threads);
    unsigned long w2 = st_boot_max_work_bytes(c->N, 3, LOC_NTHR, c->B, c->threads);
    u->a = calloc(n, sizeof(double));
    u->b = calloc(n, sizeof(double));
    u->d = calloc(n, sizeof(double));
    u->ca = calloc(n * 3 * LOC_NTHR, sizeof(uint32_t));
    u->cb = calloc(n * LOC_NTHR, sizeof(uint32_t));
    u->cd = calloc(n, sizeof(uint32_t));
    u->work = malloc(w1 > w2 ? w1 : w2);
    if (!u->a || !u->b || !u->d || !u->ca || !u->cb || !u->cd || !u->work) {
        bufs_free(u);
        return -1;
    }
    return 0;
}

static const ci_rec *rec_of(const ci_ctx *c, int64_t t, int v)
{
    return &c->rec[t * c->stride + v];
}

static void boot(double ci[2], const ci_ctx *c, bufs *u, int paired)
{
    st_boot_ratio(ci, u->a, paired ? u->b : NULL, u->d, c->N, c->B, c->seed, c->threads, u->work);
}

/* cnt: (N, L, LOC_NTHR) <- per image, its scored targets hit at each
 * threshold under variant v and norm: L = 1, the box at IoU >= 0.5 (curve);
 * L = 3, any component at IoU 0.3 / 0.5 / 0.7 (V2). den: (N) <- the number
 * of scored targets per image, when not NULL. */
static void fold_counts(uint32_t *cnt, uint32_t *den, const ci_ctx *c, int v, int norm, int L)
{
    memset(cnt, 0, (size_t)c->N * (size_t)L * LOC_NTHR * sizeof *cnt);
    if (den)
        memset(den, 0, (size_t)c->N * sizeof *den);
    for (int64_t t = 0; t < c->T; t++) {
        const ci_rec *r = rec_of(c, t, v);
        if (!r->scored)
            continue;
        int64_t i = c->timg[t];
        if (den)
            den[i]++;
        for (int l = 0; l < L; l++) {
            const uint8_t *bits = L == 1 ? r->curve[norm] : r->any[norm][l];
            uint32_t *row = cnt + ((size_t)i * (size_t)L + (size_t)l) * LOC_NTHR;
            for (int j = 0; j < LOC_NTHR; j++)
                row[j] += (uint32_t)bit(bits, j);
        }
    }
}

/* 0, or -1 when out of memory (the callers have B >= 2 and N >= 1). */
static int boot_max(double ci[2], const ci_ctx *c, bufs *u, int L, int paired)
{
    return st_boot_max(ci, u->ca, paired ? u->cb : NULL, u->cd, c->N, L, LOC_NTHR, c->B,
                       c->seed, c->threads, u->work);
}

/* cnt: (N, 4, LOC_NTHR) <- per image, its scored targets hit at each
 * threshold under variant v and norm: level 0 the box at IoU >= 0.5
 * (curve), levels 1..3 any component at IoU 0.3 / 0.5 / 0.7 (V2);
 * den: (N) <- the number of scored targets per image. */
static void fold_counts4(uint32_t *cnt, uint32_t *den, const ci_ctx *c, int v, int norm)
{
    memset(cnt, 0, (size_t)c->N * 4 * LOC_NTHR * sizeof *cnt);
    memset(den, 0, (size_t)c->N * sizeof *den);
    for (int64_t t = 0; t < c->T; t++) {
        const ci_rec *r = rec_of(c, t, v);
        if (!r->scored)
            continue;
        int64_t i = c->timg[t];
        den[i]++;
        for (int l = 0; l < 4; l++) {
            const uint8_t *bits = l == 0 ? r->curve[norm] : r->any[norm][l - 1];
            uint32_t *row = cnt + ((size_t)i * 4 + (size_t)l) * LOC_NTHR;
            for (int j = 0; j < LOC_NTHR; j++)
                row[j] += (uint32_t)bit(bits, j);
        }
    }
}

/* The ratio metrics of ci_variant_compute, in the order of their slots. */
enum { RV_BOX0, RV_BOX1, RV_POINT, RV_ENERGY, RV_NEG, RV_POS, RV_N };

int ci_variant_compute(ci_variant *out, const ci_ctx *c, int v)
{
    memset(out, 0, sizeof *out);
    if (c->B < 2 || c->N < 1)
        return 0;
    /* Every interval here resamples the same images with the same seed:
       the six ratios in one pass (st_boot_ratios), MaxBoxAcc and
       MaxBoxAccV2 of a norm in one (st_boot_max_groups); each sum is
       formed in the order one call per metric would form it. */
    size_t n = (size_t)c->N;
    unsigned long w1 = st_boot_ratios_work_bytes(c->N, RV_N, c->B, c->threads);
    unsigned long w2 = st_boot_max_groups_work_bytes(c->N, 4, LOC_NTHR, 2, c->B, c->threads);
    double *ad = calloc(2 * RV_N * n, sizeof *ad);
    uint32_t *ca = malloc(n * 4 * LOC_NTHR * sizeof *ca), *cd = malloc(n * sizeof *cd);
    void *work = malloc(w1 > w2 ? w1 : w2);
    int rc = -1;
    if (!ad || !ca || !cd || !work)
        goto done;
    double *a = ad, *d = ad + RV_N * n;
    for (int64_t t = 0; t < c->T; t++) {
        const ci_rec *r = rec_of(c, t, v);
        size_t i = (size_t)c->timg[t];
        if (r->scored) {
            for (int nm = 0; nm < LOC_NNORM; nm++) {
                d[(RV_BOX0 + nm) * n + i] += 1;
                a[(RV_BOX0 + nm) * n + i] += r->hit[nm];
            }
            d[RV_POINT * n + i] += 1;
            a[RV_POINT * n + i] += value(r, CI_POINTING, 0, 0);
            d[RV_ENERGY * n + i] += 1;
            a[RV_ENERGY * n + i] += value(r, CI_ENERGY, 0, 0);
        }
        if (r->neg_ok) {
            d[RV_NEG * n + i] += r->other_area;
            a[RV_NEG * n + i] += r->neg_other;
        }
        if (r->pos_ok) {
            d[RV_POS * n + i] += r->other_area;
            a[RV_POS * n + i] += r->pos_other;
        }
    }
    st_ratio in[RV_N];
    for (int q = 0; q < RV_N; q++)
        in[q] = (st_ratio){a + q * n, NULL, d + q * n};
    double ci[RV_N][2];
    st_boot_ratios(ci, in, RV_N, c->N, c->B, c->seed, c->threads, work);
    for (int nm = 0; nm < LOC_NNORM; nm++)
        memcpy(out->boxacc[nm], ci[RV_BOX0 + nm], sizeof ci[0]);
    memcpy(out->pointing, ci[RV_POINT], sizeof ci[0]);
    memcpy(out->energy, ci[RV_ENERGY], sizeof ci[0]);
    memcpy(out->neg_enrichment, ci[RV_NEG], sizeof ci[0]);
    memcpy(out->pos_enrichment, ci[RV_POS], sizeof ci[0]);
    static const int lev0[3] = {0, 1, 4}; /* MaxBoxAcc: level 0; V2: levels 1..3 */
    for (int nm = 0; nm < LOC_NNORM; nm++) {
        double mc[2][2];
        fold_counts4(ca, cd, c, v, nm);
        if (st_boot_max_groups(mc, ca, cd, c->N, 4, LOC_NTHR, 2, lev0, c->B, c->seed,
                               c->threads, work) < 0)
            goto done;
        memcpy(out->maxboxacc[nm], mc[0], sizeof mc[0]);
        memcpy(out->maxboxacc_v2[nm], mc[1], sizeof mc[1]);
    }
    rc = 0;
done:
    free(ad);
    free(ca);
    free(cd);
    free(work);
    return rc;
}

/* IoU of two predicted boxes; both empty -> 1, one empty -> 0. */
static double box_agreement(const uint16_t *a, const uint16_t *b)
{
    int ea = a[2] <= a[0] || a[3] <= a[1], eb = b[2] <= b[0] || b[3] <= b[1];
    if (ea || eb)
        return ea && eb ? 1.0 : 0.0;
    double iw = (double)(a[2] < b[2] ? a[2] : b[2]) - (double)(a[0] > b[0] ? a[0] : b[0]);
    double ih = (double)(a[3] < b[3] ? a[3] : b[3]) - (double)(a[1] > b[1] ? a[1] : b[1]);
    if (iw <= 0 || ih <= 0)
        return 0.0;
    double in = iw * ih;
    double ua = (double)(a[2] - a[0]) * (a[3] - a[1]) + (double)(b[2] - b[0]) * (b[3] - b[1]) - in;
    return in / ua;
}

int ci_pair_compute(ci_pair *out, const ci_ctx *c, int va, const agg_metrics *ma, int vb,
                    const agg_metrics *mb, int metric, int norm)
{
    bufs u;
    memset(&u, 0, sizeof u);
    memset(out, 0, sizeof *out);
    out->binary = metric != CI_ENERGY;
    out->p = 1.0;
    int ta = metric == CI_MAXBOXACC ? ma->maxboxacc_i[norm] : 0;
    int tb = metric == CI_MAXBOXACC ? mb->maxboxacc_i[norm] : 0;
    double sa = 0, sb = 0;
    int have = c->B >= 2 && c->N >= 1;
    if (have && bufs_alloc(&u, c) < 0)
        return -1;
    for (int64_t t = 0; t < c->T; t++) {
        const ci_rec *ra = rec_of(c, t, va), *rb = rec_of(c, t, vb);
        if (!ra->scored)
            continue;
        double xa = value(ra, metric, norm, ta), xb = value(rb, metric, norm, tb);
        out->targets++;
        if (metric == CI_BOXACC)
            out->box_iou += box_agreement(ra->box[norm], rb->box[norm]);
        sa += xa;
        sb += xb;
        if (out->binary) {
            out->a_only += xa > xb;
            out->b_only += xb > xa;
        }
        if (have) {
            u.a[c->timg[t]] += xa;
            u.b[c->timg[t]] += xb;
            u.d[c->timg[t]] += 1;
        }
    }
    if (out->targets > 0) {
        out->a = sa / (double)out->targets;
        out->b = sb / (double)out->targets;
        out->diff = out->a - out->b;
        out->box_iou /= (double)out->targets;
    }
    if (out->binary)
        out->p = st_mcnemar_exact(out->a_only, out->b_only);
    int rc = 0;
    if (have && metric == CI_MAXBOXACC) {
        fold_counts(u.ca, u.cd, c, va, norm, 1);
        fold_counts(u.cb, NULL, c, vb, norm, 1);
        rc = boot_max(out->ci, c, &u, 1, 1);
    } else if (have) {
        boot(out->ci, c, &u, 1);
    }
    if (have)
        bufs_free(&u);
    return rc;
}

void ci_sgn_add(ci_sgn *acc, const sgn_table tab[2])
{
    static const int cell[CI_NSUM] = {0, 8, 2, 6}; /* PP, NN, PN, NP (sign.h's order) */
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < SGN_NREG; r++)
            for (int q = 0; q < CI_NSUM; q++)
                acc->s[k][r][q] += tab[k].s[r][cell[q]];
}

double ci_share(const sgn_table *t, int region, int which)
{
    static const int cells[CI_NSHARE][2] = {{8, 0}, {6, 2}}; /* {NN, PP}, {NP, PN} */
    double part = 0, other = 0;
    for (int r = 0; r < SGN_NREG; r++)
        if (r == region || region == SGN_NREG) {
            part += t->s[r][cells[which][0]];
            other += t->s[r][cells[which][1]];
        }
    double mass = part + other;
    if (which == CI_NP_SHARE) { /* negative products: the mass is -(PN + NP) */
        part = -part;
        mass = -mass;
    }
    return mass > 0 ? part / mass : -1.0;
}

/* a, d: (N) <- the per-image numerator and denominator of one share. */
static void share_fold(double *a, double *d, const ci_ctx *c, const ci_sgn *img, int table,
                       int region, int which)
{
    int part = which == CI_NN_SHARE ? CI_SNN : CI_SNP;
    int other = which == CI_NN_SHARE ? CI_SPP : CI_SPN;
    double sign = which == CI_NN_SHARE ? 1.0 : -1.0;
    for (size_t i = 0; i < (size_t)c->N; i++) {
        double p = 0, o = 0;
        for (int r = 0; r < SGN_NREG; r++)
            if (r == region || region == SGN_NREG) {
                p += img[i].s[table][r][part];
                o += img[i].s[table][r][other];
            }
        a[i] = sign * p;
        d[i] = sign * (p + o);
    }
}

int ci_shares_compute(double ci[2][SGN_NREG + 1][CI_NSHARE][2], const ci_ctx *c,
                      const ci_sgn *img)
{
    enum { S = 2 * (SGN_NREG + 1) * CI_NSHARE };
    memset(ci, 0, sizeof(double) * S * 2);
    if (c->B < 2 || c->N < 1)
        return 0;
    size_t n = (size_t)c->N;
    double *ad = malloc(2 * S * n * sizeof *ad);
    void *work = malloc(st_boot_ratios_work_bytes(c->N, S, c->B, c->threads));
    if (!ad || !work) {
        free(ad); free(work);
        return -1;
    }
    st_ratio in[S];
    int q = 0;
    for (int t = 0; t < 2; t++)
        for (int r = 0; r <= SGN_NREG; r++)
            for (int k = 0; k < CI_NSHARE; k++, q++) {
                double *a = ad + (size_t)(2 * q) * n, *d = a + n;
                share_fold(a, d, c, img, t, r, k);
                in[q] = (st_ratio){a, NULL, d};
            }
    double out[S][2];
    st_boot_ratios(out, in, S, c->N, c->B, c->seed, c->threads, work);
    memcpy(ci, out, sizeof out);
    free(ad); free(work);
    return 0;
}

int ci_share_compute(double ci[2], const ci_ctx *c, const ci_sgn *img, int table, int region,
                     int which)
{
    ci[0] = ci[1] = 0.0;
    if (c->B < 2 || c->N < 1)
        return 0;
    size_t n = (size_t)c->N;
    double *a = malloc(n * sizeof *a), *d = malloc(n * sizeof *d);
    void *work = malloc(st_boot_work_bytes(c->N, c->B, c->threads));
    if (!a || !d || !work) {
        free(a); free(d); free(work);
        return -1;
    }
    share_fold(a, d, c, img, table, region, which);
    st_boot_ratio(ci, a, NULL, d, c->N, c->B, c->seed, c->threads, work);
    free(a); free(d); free(work);
    return 0;
}
