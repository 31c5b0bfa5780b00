/* causal.c: what the causal deletion/insertion curves say (README
 * "summary.json", `causal`), from the curves a network computed
 * (scripts/causal.py) and the masses the engine computed.
 *
 * DESIGN
 * Normalisation, per reference r: scale_r = median over targets of
 * |y_orig - y_ref_r|, one number for the whole file (1 when it is 0, and
 * flagged). A curve point y_s becomes u_s = (y_s - y_ref_r) / scale_r: 0 at
 * the reference, about 1 at the original score for a typical target. A
 * per-target ratio (y_s - y_ref) / (y_orig - y_ref) would blow up for the
 * targets whose removal changes little; the file median cannot.
 * AUC: trapezoid of u over x_s = k_s / n (the fraction of cells moved), so
 * it lies on the same 0..1 axis whatever the step count.
 * Every mean over targets gets the image bootstrap of analysis/stats.c
 * (st_boot_ratio: per-image sums over per-image counts, the same resamples
 * as every other interval of a run); a paired comparison (gradcam against
 * another order, neg cells against random cells) resamples the difference
 * with the same weights.
 * Completeness: Pearson r and OLS slope of y = y_orig - y_ref on the mass
 * x, from per-image sums (n, x, y, xx, xy, yy); resample q weights the
 * images by st_weights(seed, q), so the resamples are those of every other
 * interval. Undefined values (no eligible target, no spread) are 0, with
 * their counts beside them in the summary.
 *
 * Thread safety: pure; the bootstraps run their own OpenMP loops over
 * resamples, each resample a fixed-order sum over images, so the bytes do
 * not depend on the thread count.
 */
#include "analysis/causal.h"

#include "analysis/stats.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

double cz_median(double *v, int64_t n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    if (n % 2)
        return v[n / 2];
    return 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double cz_auc(const double *u, const int32_t *cells, int S, int64_t n)
{
    double a = 0.0;
    for (int s = 0; s < S; s++)
        a += (double)(cells[s + 1] - cells[s]) / (double)n * 0.5 * (u[s] + u[s + 1]);
    return a;
}

void cz_fit_sums(double *r, double *slope, double cnt, double sx, double sy, double sxx,
                 double sxy, double syy)
{
    *r = *slope = 0.0;
    if (cnt < 2)
        return;
    double vx = sxx - sx * sx / cnt, vy = syy - sy * sy / cnt, cxy = sxy - sx * sy / cnt;
    if (!(vx > 0))
        return;
    *slope = cxy / vx;
    if (vy > 0) {
        double q = cxy / sqrt(vx * vy);
        *r = q > 1.0 ? 1.0 : q < -1.0 ? -1.0 : q;
    }
}

int cz_boot_fit(double ci_r[2], double ci_s[2], const double *s, int64_t N, int B,
                uint64_t seed, int threads)
{
    ci_r[0] = ci_r[1] = ci_s[0] = ci_s[1] = 0.0;
    if (B < 2 || N < 1)
        return 0;
    double *vr = malloc((size_t)B * sizeof *vr), *vs = malloc((size_t)B * sizeof *vs);
    uint32_t *wb = malloc((size_t)threads * (size_t)N * sizeof *wb);
    if (!vr || !vs || !wb) {
        free(vr);
        free(vs);
        free(wb);
        return -1;
    }
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int q = 0; q < B; q++) {
        uint32_t *w = wb + (size_t)omp_get_thread_num() * (size_t)N;
        st_weights(w, N, seed, q);
        double a[6] = {0, 0, 0, 0, 0, 0};
        for (int64_t i = 0; i < N; i++)
            if (w[i])
                for (int k = 0; k < 6; k++)
                    a[k] += w[i] * s[i * 6 + k];
        cz_fit_sums(&vr[q], &vs[q], a[0], a[1], a[2], a[3], a[4], a[5]);
    }
    qsort(vr, (size_t)B, sizeof *vr, cmp_double);
    qsort(vs, (size_t)B, sizeof *vs, cmp_double);
    ci_r[0] = st_quantile_sorted(vr, B, 0.025);
    ci_r[1] = st_quantile_sorted(vr, B, 0.975);
    ci_s[0] = st_quantile_sorted(vs, B, 0.025);
    ci_s[1] = st_quantile_sorted(vs, B, 0.975);
    free(vr);
    free(vs);
    free(wb);
    return 0;
}

void cz_free(cz_res *res)
{
    free(res->scale);
    free(res->scale_degenerate);
    free(res->auc);
    free(res->auc_ci);
    free(res->curve);
    free(res->raw);
    free(res->best);
    free(res->pair);
    free(res->claim);
    free(res->fit);
    memset(res, 0, sizeof *res);
}

/* Scratch shared by the steps: per-image sums and the bootstrap's work. */
typedef struct {
    double *a, *b, *d;  /* (N) */
    void *work;         /* st_boot_work_bytes(N, B, threads) */
    double *auc;        /* (O, T) one mode and reference */
    double *tmp;        /* (T) */
    double *u;          /* (S + 1) one normalised curve */
} scratch;

/* 95% interval of sum a / sum d (minus sum b / sum d when b) over images. */
static void boot(double ci[2], const scratch *w, int with_b, const cz_in *in)
{
    ci[0] = ci[1] = 0.0;
    if (in->B >= 2)
        st_boot_ratio(ci, w->a, with_b ? w->b : NULL, w->d, in->N, in->B, in->seed, in->threads,
                      w->work);
}

static void scales(cz_res *res, const cz_in *in, scratch *w)
{
    for (int r = 0; r < in->R; r++) {
        for (int64_t t = 0; t < in->T; t++)
            w->tmp[t] = fabs(in->y_orig[t] - in->y_ref[(int64_t)r * in->T + t]);
        double s = in->T > 0 ? cz_median(w->tmp, in->T) : 0.0;
        res->scale_degenerate[r] = !(s > 0);
        res->scale[r] = s > 0 ? s : 1.0;
    }
}

/* One mode and reference: AUCs per order and target, means, intervals,
 * mean curves, the best order and gradcam's paired differences. */
static void curves_one(cz_res *res, const cz_in *in, scratch *w, int mode, int r)
{
    int O = in->O, S = in->S, P = S + 1;
    int64_t T = in->T;
    double scale = res->scale[r];
    const double *yr = in->y_ref + (int64_t)r * T;
    for (int o = 0; o < O; o++) {
        size_t ro = (size_t)(mode * in->R + r) * (size_t)O + (size_t)o;
        double *cm = res->curve + ro * (size_t)P, *rm = res->raw + ro * (size_t)P;
        double *u = w->u, sum = 0.0;
        memset(cm, 0, (size_t)P * sizeof *cm);
        memset(rm, 0, (size_t)P * sizeof *rm);
        memset(w->a, 0, (size_t)in->N * sizeof *w->a);
        memset(w->d, 0, (size_t)in->N * sizeof *w->d);
        for (int64_t t = 0; t < T; t++) {
            const double *y = in->curve[mode] + (((int64_t)r * O + o) * T + t) * P;
            for (int s = 0; s < P; s++) {
                u[s] = (y[s] - yr[t]) / scale;
                cm[s] += u[s];
                rm[s] += y[s];
            }
            double a = cz_auc(u, in->cells, S, in->n);
            w->auc[(int64_t)o * T + t] = a;
            sum += a;
            w->a[in->timg[t]] += a;
            w->d[in->timg[t]] += 1.0;
        }
        for (int s = 0; s < P && T > 0; s++) {
            cm[s] /= (double)T;
            rm[s] /= (double)T;
        }
        res->auc[ro] = T > 0 ? sum / (double)T : 0.0;
        boot(res->auc_ci + 2 * ro, w, 0, in);
    }
    int best = -1;
    for (int o = 0; o < O; o++) {
        double v = res->auc[(size_t)(mode * in->R + r) * (size_t)O + (size_t)o];
        double bv = best < 0 ? 0 : res->auc[(size_t)(mode * in->R + r) * (size_t)O + (size_t)best];
        if (o != in->random && (best < 0 || (mode == CZ_DELETION ? v < bv : v > bv)))
            best = o;
    }
    res->best[mode * in->R + r] = best;
    int g = in->gradcam;
    for (int o = 0; g >= 0 && o < O; o++) {
        if (o == g)
            continue;
        size_t ro = (size_t)(mode * in->R + r) * (size_t)O;
        cz_pair *p = &res->pair[ro + (size_t)o];
        p->value_a = res->auc[ro + (size_t)g];
        p->value_b = res->auc[ro + (size_t)o];
        p->diff = p->value_a - p->value_b;
        memset(w->a, 0, (size_t)in->N * sizeof *w->a);
        memset(w->b, 0, (size_t)in->N * sizeof *w->b);
        memset(w->d, 0, (size_t)in->N * sizeof *w->d);
        for (int64_t t = 0; t < T; t++) {
            w->a[in->timg[t]] += w->auc[(int64_t)g * T + t];
            w->b[in->timg[t]] += w->auc[(int64_t)o * T + t];
            w->d[in->timg[t]] += 1.0;
        }
        boot(p->ci, w, 1, in);
    }
}

/* The claim test of reference r: neg cells against as many random cells,
 * on the target's score and on the other present classes' mean. */
static void claim_one(cz_claim *c, const cz_in *in, scratch *w, int r)
{
    int64_t T = in->T;
    for (int part = 0; part < 2; part++) {
        double sn = 0, sr = 0;
        int64_t cnt = 0;
        memset(w->a, 0, (size_t)in->N * sizeof *w->a);
        memset(w->b, 0, (size_t)in->N * sizeof *w->b);
        memset(w->d, 0, (size_t)in->N * sizeof *w->d);
        for (int64_t t = 0; t < T; t++) {
            if (in->n_neg[t] <= 0 || (part == 1 && in->n_others[t] <= 0))
                continue;
            double dn, dr;
            if (part == 0) {
                const double *ct = in->claim_target + ((int64_t)r * T + t) * 2;
                dn = ct[0] - in->y_orig[t];
                dr = ct[1] - in->y_orig[t];
            } else {
                const double *co = in->claim_others + ((int64_t)r * T + t) * 3;
                dn = co[1] - co[0];
                dr = co[2] - co[0];
            }
            sn += dn;
            sr += dr;
            cnt++;
            w->a[in->timg[t]] += dn;
            w->b[in->timg[t]] += dr;
            w->d[in->timg[t]] += 1.0;
        }
        double mn = cnt ? sn / (double)cnt : 0.0, mr = cnt ? sr / (double)cnt : 0.0;
        if (part == 0) {
            c->eligible = cnt;
            c->target_neg = mn;
            c->target_random = mr;
            c->target_diff = mn - mr;
            boot(c->target_ci, w, 1, in);
        } else {
            c->eligible_others = cnt;
            c->others_neg = mn;
            c->others_random = mr;
            c->others_diff = mn - mr;
            boot(c->others_ci, w, 1, in);
        }
    }
}

/* Completeness of reference r, mass column col: r and slope of y on x. */
static int fit_one(cz_fit *f, const cz_in *in, int r, int col)
{
    double *s = calloc((size_t)(in->N ? in->N : 1) * 6, sizeof *s);
    if (!s)
        return -1;
    double a[6] = {0, 0, 0, 0, 0, 0};
    for (int64_t t = 0; t < in->T; t++) {
        double x = in->mass[t * CZ_NMASS + col];
        double y = in->y_orig[t] - in->y_ref[(int64_t)r * in->T + t];
        double v[6] = {1.0, x, y, x * x, x * y, y * y};
        for (int k = 0; k < 6; k++) {
            s[(int64_t)in->timg[t] * 6 + k] += v[k];
        }
    }
    for (int64_t i = 0; i < in->N; i++) /* the full sample through the same sums */
        for (int k = 0; k < 6; k++)
            a[k] += s[i * 6 + k];
    f->n = in->T;
    cz_fit_sums(&f->r, &f->slope, a[0], a[1], a[2], a[3], a[4], a[5]);
    int rc = cz_boot_fit(f->r_ci, f->slope_ci, s, in->N, in->B, in->seed, in->threads);
    free(s);
    return rc;
}

int cz_compute(cz_res *res, const cz_in *in)
{
    int R = in->R, O = in->O, P = in->S + 1;
    size_t nro = (size_t)CZ_NMODE * (size_t)R * (size_t)O;
    size_t N1 = (size_t)(in->N ? in->N : 1), T1 = (size_t)(in->T ? in->T : 1);
    memset(res, 0, sizeof *res);
    res->R = R;
    res->O = O;
    res->S = in->S;
    res->scale = calloc((size_t)R, sizeof *res->scale);
    res->scale_degenerate = calloc((size_t)R, sizeof *res->scale_degenerate);
    res->auc = calloc(nro, sizeof *res->auc);
    res->auc_ci = calloc(2 * nro, sizeof *res->auc_ci);
    res->curve = calloc(nro * (size_t)P, sizeof *res->curve);
    res->raw = calloc(nro * (size_t)P, sizeof *res->raw);
    res->best = calloc((size_t)CZ_NMODE * (size_t)R, sizeof *res->best);
    res->pair = calloc(nro, sizeof *res->pair);
    res->claim = calloc((size_t)R, sizeof *res->claim);
    res->fit = calloc((size_t)R * CZ_NFIT, sizeof *res->fit);
    scratch w = {0};
    w.a = calloc(N1, sizeof *w.a);
    w.b = calloc(N1, sizeof *w.b);
    w.d = calloc(N1, sizeof *w.d);
    w.work = malloc(in->B >= 2 ? st_boot_work_bytes(in->N, in->B, in->threads) : 1);
    w.auc = calloc((size_t)(O ? O : 1) * T1, sizeof *w.auc);
    w.tmp = calloc(T1, sizeof *w.tmp);
    w.u = calloc((size_t)P, sizeof *w.u);
    int rc = -1;
    if (!res->scale || !res->scale_degenerate || !res->auc || !res->auc_ci || !res->curve ||
        !res->raw || !res->best || !res->pair || !res->claim || !res->fit || !w.a || !w.b ||
        !w.d || !w.work || !w.auc || !w.tmp || !w.u)
        goto done;
    scales(res, in, &w);
    for (int mode = 0; mode < CZ_NMODE; mode++)
        for (int r = 0; r < R; r++)
            curves_one(res, in, &w, mode, r);
    for (int r = 0; r < R; r++)
        claim_one(&res->claim[r], in, &w, r);
    rc = 0;
    for (int r = 0; r < R && rc == 0; r++) {
        int mu = in->ref_mu[r];
        if (fit_one(&res->fit[r * CZ_NFIT + CZ_FIT_GRADCAM], in, r,
                    mu ? CZ_M_GRADCAM_MU : CZ_M_GRADCAM) < 0 ||
            fit_one(&res->fit[r * CZ_NFIT + CZ_FIT_HIRES], in, r,
                    mu ? CZ_M_HIRES_MU : CZ_M_HIRES) < 0)
            rc = -1;
    }
done:
    free(w.a);
    free(w.b);
    free(w.d);
    free(w.work);
    free(w.auc);
    free(w.tmp);
    free(w.u);
    if (rc < 0)
        cz_free(res);
    return rc;
}
