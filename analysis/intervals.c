/* intervals.c: 95% intervals for the headline metrics, and paired comparisons.
 *
 * DESIGN
 * The pipeline keeps a compact ci_rec per target and variant (bits for the
 * hit at each of the 100 thresholds, the evidence shares, ...). Here each
 * metric is folded into per-image numerators and denominators and handed to
 * the image bootstrap of stats.c (1,000 resamples by default, fixed seed):
 *   BoxAcc, pointing, energy: sum over the image's scored targets / their
 *     number; MaxBoxAcc: BoxAcc at the threshold chosen on the full data
 *     (the selection itself is not resampled, so the interval is slightly
 *     optimistic; stated in README); MaxBoxAccV2: the mean of the three
 *     IoU levels' hits at their chosen thresholds;
 *   enrichment: sum of shares / sum of area shares over eligible targets.
 * A paired comparison folds A - B per image with the same denominator, so
 * the resampled difference keeps the pairing; binary metrics also get
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

typedef struct {
    double *a, *b, *d;
    void *work;
} bufs;

static int bufs_alloc(bufs *u, const ci_ctx *c)
{
    size_t n = (size_t)c->N;
    u->a = calloc(n, sizeof(double));
    u->b = calloc(n, sizeof(double));
    u->d = calloc(n, sizeof(double));
    u->work = malloc(st_boot_work_bytes(c->N, c->B, c->threads));
    if (!u->a || !u->b || !u->d || !u->work) {
        free(u->a); free(u->b); free(u->d); free(u->work);
        return -1;
    }
    return 0;
}

static void bufs_clear(bufs *u, const ci_ctx *c)
{
    memset(u->a, 0, (size_t)c->N * sizeof(double));
    memset(u->b, 0, (size_t)c->N * sizeof(double));
    memset(u->d, 0, (size_t)c->N * sizeof(double));
}

static void bufs_free(bufs *u)
{
    free(u->a); free(u->b); free(u->d); free(u->work);
}

static const ci_rec *rec_of(const ci_ctx *c, int64_t t, int v)
{
    return &c->rec[t * c->stride + v];
}

static void boot(double ci[2], const ci_ctx *c, bufs *u, int paired)
{
    st_boot_ratio(ci, u->a, paired ? u->b : NULL, u->d, c->N, c->B, c->seed, c->threads, u->work);
}

int ci_variant_compute(ci_variant *out, const ci_ctx *c, int v, const agg_metrics *m)
{
    bufs u;
    memset(out, 0, sizeof *out);
    if (c->B < 2 || c->N < 1)
        return 0;
    if (bufs_alloc(&u, c) < 0)
        return -1;
    for (int n = 0; n < LOC_NNORM; n++) {
        for (int metric = 0; metric < 3; metric++) {
            bufs_clear(&u, c);
            for (int64_t t = 0; t < c->T; t++) {
                const ci_rec *r = rec_of(c, t, v);
                if (!r->scored)
                    continue;
                int64_t i = c->timg[t];
                u.d[i] += 1;
                if (metric == 0)
                    u.a[i] += r->hit[n];
                else if (metric == 1)
                    u.a[i] += bit(r->curve[n], m->maxboxacc_i[n]);
                else
                    u.a[i] += (bit(r->any[n][0], m->v2_t[n][0]) + bit(r->any[n][1], m->v2_t[n][1]) +
                               bit(r->any[n][2], m->v2_t[n][2])) / 3.0;
            }
            boot(metric == 0 ? out->boxacc[n] : metric == 1 ? out->maxboxacc[n]
                                                            : out->maxboxacc_v2[n],
                 c, &u, 0);
        }
    }
    for (int metric = CI_POINTING; metric <= CI_ENERGY; metric++) {
        bufs_clear(&u, c);
        for (int64_t t = 0; t < c->T; t++) {
            const ci_rec *r = rec_of(c, t, v);
            if (!r->scored)
                continue;
            u.d[c->timg[t]] += 1;
            u.a[c->timg[t]] += value(r, metric, 0, 0);
        }
        boot(metric == CI_POINTING ? out->pointing : out->energy, c, &u, 0);
    }
    for (int sgn = 0; sgn < 2; sgn++) {
        bufs_clear(&u, c);
        for (int64_t t = 0; t < c->T; t++) {
            const ci_rec *r = rec_of(c, t, v);
            if (!(sgn ? r->pos_ok : r->neg_ok))
                continue;
            u.d[c->timg[t]] += r->other_area;
            u.a[c->timg[t]] += sgn ? r->pos_other : r->neg_other;
        }
        boot(sgn ? out->pos_enrichment : out->neg_enrichment, c, &u, 0);
    }
    bufs_free(&u);
    return 0;
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
    if (have) {
        boot(out->ci, c, &u, 1);
        bufs_free(&u);
    }
    return 0;
}
