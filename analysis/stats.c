/* stats.c: the statistics behind every interval in summary.json.
 *
 * DESIGN
 * Bootstrap over images: the targets of one image share its pixels and
 * activations, so images (not targets) are resampled. Every metric here is a
 * ratio of sums over targets (hits / targets, energy / targets, shares /
 * areas), so the caller first folds targets into per-image numerators a_i
 * and denominators d_i; one resample is a vector of multinomial counts w_i
 * and the statistic is sum w a / sum w d. Resample r draws its n indices
 * from its own splitmix64 stream seeded by (seed, r), so resamples can run
 * on any thread in any order and give the same numbers; the B statistics are
 * then sorted and the 2.5% and 97.5% quantiles taken (percentile interval).
 * Paired comparisons (the same targets under two variants) resample the
 * difference of the two ratios with the same weights.
 * Best-of-m shares (MaxBoxAcc: the best BoxAcc over 100 thresholds) choose
 * the best inside each resample, so the choice's own variability is in the
 * interval: the caller keeps per-unit integer counts per candidate (100
 * counters per image and level), and a resample is one weighted sum per
 * candidate (64-bit integers, exact: any thread, any order, same maxima),
 * then the maximum. The counts are stored as their changes along the
 * candidates (a target's hits over thresholds are mostly one run), so a
 * resample costs about B x (units drawn) x (changes per unit) + L x m, not
 * x L x m; st_boot_max_ref is the dense twin.
 * Statistics that share the resamples (the same seed and units) can be
 * computed in one pass over them: st_boot_ratios draws each resample once
 * for S ratios (their sums are independent chains, so they overlap in the
 * CPU) and st_boot_max_groups once for several best-of-m statistics over
 * level groups of one count array (MaxBoxAcc and MaxBoxAccV2); each
 * statistic's sums keep their order, so the bytes are those of one call per
 * statistic (tested).
 * McNemar's exact test is the two-sided binomial test on discordant pairs,
 * summed in log space (lgamma) so large counts neither overflow nor lose
 * the small tail.
 *
 * Thread safety: pure; st_boot_ratio runs its own OpenMP loop over resamples.
 */
#include "analysis/stats.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void st_weights(uint32_t *w, int64_t n, uint64_t seed, int r)
{
    uint64_t s = mix64(seed ^ mix64(0x9E3779B97F4A7C15ull * (uint64_t)(r + 1)));
    memset(w, 0, (size_t)n * sizeof *w);
    for (int64_t k = 0; k < n; k++) {
        s += 0x9E3779B97F4A7C15ull;
        uint64_t x = mix64(s);
        /* unbiased enough for n << 2^32: multiply-shift of 32 random bits */
        uint64_t i = ((x >> 32) * (uint64_t)n) >> 32;
        w[i]++;
    }
}

double st_quantile_sorted(const double *v, int n, double q)
{
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1)
        return v[n - 1];
    if (lo < 0)
        return v[0];
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo]);
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The 95% percentile interval of the B resampled statistics (sorts vals). */
static void finish(double ci[2], double *vals, int B)
{
    qsort(vals, (size_t)B, sizeof *vals, cmp_double);
    ci[0] = st_quantile_sorted(vals, B, 0.025);
    ci[1] = st_quantile_sorted(vals, B, 0.975);
}

unsigned long st_boot_work_bytes(int64_t n, int B, int threads)
{
    return (unsigned long)B * sizeof(double) +
           (unsigned long)threads * (unsigned long)n * sizeof(uint32_t);
}

int st_boot_ratio(double ci[2], const double *a, const double *b, const double *d, int64_t n,
                  int B, uint64_t seed, int threads, void *work)
{
    ci[0] = ci[1] = 0.0;
    if (n < 1 || B < 2)
        return -1;
    double *vals = work;
    uint32_t *wbase = (uint32_t *)(void *)(vals + B);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int r = 0; r < B; r++) {
        int tid = omp_get_thread_num();
        uint32_t *w = wbase + (size_t)tid * (size_t)n;
        st_weights(w, n, seed, r);
        double sa = 0, sb = 0, sd = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!w[i])
                continue;
            sa += w[i] * a[i];
            if (b)
                sb += w[i] * b[i];
            sd += w[i] * d[i];
        }
        vals[r] = sd > 0 ? (sa - sb) / sd : 0.0;
    }
    finish(ci, vals, B);
    return 0;
}

unsigned long st_boot_ratios_work_bytes(int64_t n, int S, int B, int threads)
{
    return (unsigned long)S * (unsigned long)B * sizeof(double) +
           (unsigned long)threads * ((unsigned long)n * 2 * sizeof(uint32_t) +
                                     3 * (unsigned long)S * sizeof(double));
}

/* The sums of up to four statistics q < nq over the drawn units idx (nz,
 * in unit order): sa[q] = sum w a, sb[q] = sum w b (0 when b is NULL),
 * sd[q] = sum w d; one chain per sum, in registers. */
static void ratio_sums4(double *sa, double *sb, double *sd, const st_ratio *in, int nq,
                        const uint32_t *w, const uint32_t *idx, size_t nz)
{
    static const double zero[1] = {0.0};
    const double *a[4], *b[4], *d[4];
    size_t bs[4]; /* 0 for a missing b: its term is w * 0 = +0, a no-op on a +0 sum */
    int anyb = 0;
    for (int q = 0; q < 4; q++) {
        int ok = q < nq;
        a[q] = ok ? in[q].a : zero;
        d[q] = ok ? in[q].d : zero;
        b[q] = ok && in[q].b ? in[q].b : zero;
        bs[q] = ok && in[q].b ? 1 : 0;
        anyb |= ok && in[q].b;
    }
    size_t as[4], ds[4];
    for (int q = 0; q < 4; q++)
        as[q] = ds[q] = q < nq ? 1 : 0;
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0, d0 = 0, d1 = 0, d2 = 0, d3 = 0;
    double b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    if (anyb) {
        for (size_t e = 0; e < nz; e++) {
            size_t i = idx[e];
            double wi = w[i];
            a0 += wi * a[0][i * as[0]]; a1 += wi * a[1][i * as[1]];
            a2 += wi * a[2][i * as[2]]; a3 += wi * a[3][i * as[3]];
            b0 += wi * b[0][i * bs[0]]; b1 += wi * b[1][i * bs[1]];
            b2 += wi * b[2][i * bs[2]]; b3 += wi * b[3][i * bs[3]];
            d0 += wi * d[0][i * ds[0]]; d1 += wi * d[1][i * ds[1]];
            d2 += wi * d[2][i * ds[2]]; d3 += wi * d[3][i * ds[3]];
        }
    } else {
        for (size_t e = 0; e < nz; e++) {
            size_t i = idx[e];
            double wi = w[i];
            a0 += wi * a[0][i * as[0]]; a1 += wi * a[1][i * as[1]];
            a2 += wi * a[2][i * as[2]]; a3 += wi * a[3][i * as[3]];
            d0 += wi * d[0][i * ds[0]]; d1 += wi * d[1][i * ds[1]];
            d2 += wi * d[2][i * ds[2]]; d3 += wi * d[3][i * ds[3]];
        }
    }
    double ra[4] = {a0, a1, a2, a3}, rb[4] = {b0, b1, b2, b3}, rd[4] = {d0, d1, d2, d3};
    for (int q = 0; q < nq; q++) {
        sa[q] = ra[q];
        sb[q] = in[q].b ? rb[q] : 0.0;
        sd[q] = rd[q];
    }
}

int st_boot_ratios(double (*ci)[2], const st_ratio *in, int S, int64_t n, int B, uint64_t seed,
                   int threads, void *work)
{
    for (int q = 0; q < S; q++)
        ci[q][0] = ci[q][1] = 0.0;
    if (n < 1 || B < 2 || S < 1)
        return -1;
    double *vals = work;
    char *tbase = (char *)(vals + (size_t)S * (size_t)B);
    size_t tbytes = (size_t)n * 2 * sizeof(uint32_t) + 3 * (size_t)S * sizeof(double);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int r = 0; r < B; r++) {
        char *t = tbase + (size_t)omp_get_thread_num() * tbytes;
        double *sa = (double *)(void *)t, *sb = sa + S, *sd = sb + S;
        uint32_t *w = (uint32_t *)(void *)(sd + S), *idx = w + n;
        st_weights(w, n, seed, r);
        size_t nz = 0;
        for (int64_t i = 0; i < n; i++) /* the units drawn, in order */
            if (w[i])
                idx[nz++] = (uint32_t)i;
        /* each statistic's sums in unit order, as st_boot_ratio's; four
           statistics at a time in registers, their chains independent */
        for (int q0 = 0; q0 < S; q0 += 4)
            ratio_sums4(sa + q0, sb + q0, sd + q0, in + q0, S - q0 < 4 ? S - q0 : 4, w, idx, nz);
        for (int q = 0; q < S; q++)
            vals[(size_t)q * B + r] = sd[q] > 0 ? (sa[q] - sb[q]) / sd[q] : 0.0;
    }
    for (int q = 0; q < S; q++)
        finish(ci[q], vals + (size_t)q * B, B);
    return 0;
}

/* A unit's counts as their changes along the candidates: per level l, the
 * row a[i][l][0..m) is stored as (k = l*m + j, a[i][l][j] - a[i][l][j-1])
 * wherever that difference is not 0 (a[i][l][-1] = 0). A target's hits over
 * thresholds are mostly one run, so an image holds a few changes, not m
 * counters; a resample adds w_i * change into a difference array and one
 * running sum per level gives every candidate's total. */
typedef struct {
    int64_t *start; /* (n + 1): unit i's changes are [start[i], start[i+1]) */
    uint32_t *k;
    int64_t *delta;
} changes;

static void changes_free(changes *c)
{
    free(c->start);
    free(c->k);
    free(c->delta);
}

static int changes_make(changes *c, const uint32_t *a, int64_t n, int L, int m)
{
    size_t lm = (size_t)L * (size_t)m;
    int64_t total = 0;
    c->start = malloc((size_t)(n + 1) * sizeof *c->start);
    c->k = NULL;
    c->delta = NULL;
    if (!c->start)
        return -1;
    for (int pass = 0; pass < 2; pass++) { /* count, then fill */
        int64_t e = 0;
        for (int64_t i = 0; i < n; i++) {
            c->start[i] = e;
            const uint32_t *row = a + (size_t)i * lm;
            for (size_t q = 0; q < lm; q++) {
                int64_t prev = q % (size_t)m ? row[q - 1] : 0;
                if ((int64_t)row[q] == prev)
                    continue;
                if (pass) {
                    c->k[e] = (uint32_t)q;
                    c->delta[e] = (int64_t)row[q] - prev;
                }
                e++;
            }
        }
        c->start[n] = e;
        if (!pass) {
            total = e;
            c->k = malloc((size_t)(total ? total : 1) * sizeof *c->k);
            c->delta = malloc((size_t)(total ? total : 1) * sizeof *c->delta);
            if (!c->k || !c->delta) {
                changes_free(c);
                return -1;
            }
        }
    }
    return 0;
}

/* acc (L*m) <- the resample's weighted changes of c; returns sum_i w_i d_i. */
static uint64_t max_acc(const uint32_t *w, const changes *c, const uint32_t *d, int64_t n,
                        int L, int m, int64_t *acc)
{
    uint64_t sd = 0;
    memset(acc, 0, (size_t)L * (size_t)m * sizeof *acc);
    for (int64_t i = 0; i < n; i++) {
        int64_t wi = w[i];
        if (!wi)
            continue;
        for (int64_t e = c->start[i]; e < c->start[i + 1]; e++)
            acc[c->k[e]] += wi * c->delta[e];
        sd += (uint64_t)wi * d[i];
    }
    return sd;
}

/* (1/(l1 - l0)) sum over levels l0..l1-1 of their best candidate / sd, from
 * acc (sd > 0). */
static double max_levels(const int64_t *acc, uint64_t sd, int l0, int l1, int m)
{
    double s = 0.0;
    for (int l = l0; l < l1; l++) {
        int64_t run = 0, best = 0;
        for (int j = 0; j < m; j++) {
            run += acc[(size_t)l * m + j];
            if (run > best)
                best = run;
        }
        s += (double)best / (double)sd;
    }
    return s / (l1 - l0);
}

/* One resample's best-of-m statistic from its weights w: acc (L*m) scratch. */
static double max_stat(const uint32_t *w, const changes *c, const uint32_t *d, int64_t n,
                       int L, int m, int64_t *acc)
{
    uint64_t sd = max_acc(w, c, d, n, L, m, acc);
    return sd == 0 ? 0.0 : max_levels(acc, sd, 0, L, m);
}

unsigned long st_boot_max_work_bytes(int64_t n, int L, int m, int B, int threads)
{
    return (unsigned long)B * sizeof(double) +
           (unsigned long)threads * ((unsigned long)n * sizeof(uint32_t) +
                                     (unsigned long)L * (unsigned long)m * sizeof(int64_t));
}

int st_boot_max(double ci[2], const uint32_t *a, const uint32_t *b, const uint32_t *d,
                int64_t n, int L, int m, int B, uint64_t seed, int threads, void *work)
{
    ci[0] = ci[1] = 0.0;
    if (n < 1 || B < 2 || L < 1 || m < 1)
        return -1;
    changes ca, cb;
    memset(&cb, 0, sizeof cb);
    if (changes_make(&ca, a, n, L, m) < 0)
        return -1;
    if (b && changes_make(&cb, b, n, L, m) < 0) {
        changes_free(&ca);
        return -1;
    }
    double *vals = work;
    size_t lm = (size_t)L * (size_t)m;
    int64_t *abase = (int64_t *)(void *)(vals + B); /* 8-byte aligned: B doubles before */
    uint32_t *wbase = (uint32_t *)(void *)(abase + (size_t)threads * lm);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int r = 0; r < B; r++) {
        int tid = omp_get_thread_num();
        uint32_t *w = wbase + (size_t)tid * (size_t)n;
        int64_t *acc = abase + (size_t)tid * lm;
        st_weights(w, n, seed, r);
        double v = max_stat(w, &ca, d, n, L, m, acc);
        if (b)
            v -= max_stat(w, &cb, d, n, L, m, acc);
        vals[r] = v;
    }
    changes_free(&ca);
    changes_free(&cb);
    finish(ci, vals, B);
    return 0;
}

unsigned long st_boot_max_groups_work_bytes(int64_t n, int L, int m, int G, int B, int threads)
{
    return (unsigned long)G * (unsigned long)B * sizeof(double) +
           (unsigned long)threads * ((unsigned long)n * sizeof(uint32_t) +
                                     (unsigned long)L * (unsigned long)m * sizeof(int64_t));
}

int st_boot_max_groups(double (*ci)[2], const uint32_t *a, const uint32_t *d, int64_t n, int L,
                       int m, int G, const int *lev0, int B, uint64_t seed, int threads,
                       void *work)
{
    for (int g = 0; g < G; g++)
        ci[g][0] = ci[g][1] = 0.0;
    if (n < 1 || B < 2 || L < 1 || m < 1 || G < 1 || lev0[0] < 0 || lev0[G] > L)
        return -1;
    for (int g = 0; g < G; g++)
        if (lev0[g + 1] <= lev0[g])
            return -1;
    changes ca;
    if (changes_make(&ca, a, n, L, m) < 0)
        return -1;
    double *vals = work;
    size_t lm = (size_t)L * (size_t)m;
    int64_t *abase = (int64_t *)(void *)(vals + (size_t)G * (size_t)B);
    uint32_t *wbase = (uint32_t *)(void *)(abase + (size_t)threads * lm);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int r = 0; r < B; r++) {
        int tid = omp_get_thread_num();
        uint32_t *w = wbase + (size_t)tid * (size_t)n;
        int64_t *acc = abase + (size_t)tid * lm;
        st_weights(w, n, seed, r);
        uint64_t sd = max_acc(w, &ca, d, n, L, m, acc);
        for (int g = 0; g < G; g++)
            vals[(size_t)g * B + r] = sd == 0 ? 0.0 : max_levels(acc, sd, lev0[g], lev0[g + 1], m);
    }
    changes_free(&ca);
    for (int g = 0; g < G; g++)
        finish(ci[g], vals + (size_t)g * B, B);
    return 0;
}

/* The naive statistic: candidate by candidate, sums in double. */
static double max_stat_ref(const uint32_t *w, const uint32_t *a, const uint32_t *d, int64_t n,
                           int L, int m)
{
    double sd = 0.0, s = 0.0;
    for (int64_t i = 0; i < n; i++)
        sd += (double)w[i] * d[i];
    if (sd == 0)
        return 0.0;
    for (int l = 0; l < L; l++) {
        double best = 0.0;
        for (int j = 0; j < m; j++) {
            double x = 0.0;
            for (int64_t i = 0; i < n; i++)
                x += (double)w[i] * a[((size_t)i * L + l) * m + j];
            if (x > best)
                best = x;
        }
        s += best / sd;
    }
    return s / L;
}

int st_boot_max_ref(double ci[2], const uint32_t *a, const uint32_t *b, const uint32_t *d,
                    int64_t n, int L, int m, int B, uint64_t seed)
{
    ci[0] = ci[1] = 0.0;
    if (n < 1 || B < 2 || L < 1 || m < 1)
        return -1;
    double *vals = malloc((size_t)B * sizeof *vals);
    uint32_t *w = malloc((size_t)n * sizeof *w);
    if (!vals || !w) {
        free(vals);
        free(w);
        return -1;
    }
    for (int r = 0; r < B; r++) {
        st_weights(w, n, seed, r);
        vals[r] = max_stat_ref(w, a, d, n, L, m) - (b ? max_stat_ref(w, b, d, n, L, m) : 0.0);
    }
    finish(ci, vals, B);
    free(vals);
    free(w);
    return 0;
}

double st_mcnemar_exact(int64_t n01, int64_t n10)
{
    int64_t n = n01 + n10, k = n01 < n10 ? n01 : n10;
    if (n == 0)
        return 1.0;
    double lg_n1 = lgamma((double)n + 1.0), ln2 = log(2.0), s = 0.0;
    for (int64_t j = 0; j <= k; j++)
        s += exp(lg_n1 - lgamma((double)j + 1.0) - lgamma((double)(n - j) + 1.0) - n * ln2);
    double p = 2.0 * s;
    return p < 1.0 ? p : 1.0;
}
