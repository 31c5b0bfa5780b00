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
    qsort(vals, (size_t)B, sizeof *vals, cmp_double);
    ci[0] = st_quantile_sorted(vals, B, 0.025);
    ci[1] = st_quantile_sorted(vals, B, 0.975);
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
