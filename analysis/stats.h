/* stats.h: bootstrap intervals over images and McNemar's exact test. */
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

/* Resample r of n units: w[i] = how many times unit i was drawn (sum n).
 * A pure function of (seed, r, n): any thread may compute any resample. */
void st_weights(uint32_t *w, int64_t n, uint64_t seed, int r);

/* Percentile of sorted v (n > 0) at q in [0, 1], linear interpolation
 * between order statistics (numpy's default "linear" method). */
double st_quantile_sorted(const double *v, int n, double q);

/* 95% percentile bootstrap interval of the ratio sum_i w_i a_i / sum_i w_i d_i
 * (minus the same ratio of b_i when b is not NULL: a paired difference) over
 * B resamples of the n units. A resample whose denominator is 0 counts as 0.
 * work: st_boot_work_bytes(n, B, threads) bytes (B doubles, then n uint32 per
 * thread: each thread's resample counts). threads: OpenMP
 * threads for the resamples; the result does not depend on it.
 * Returns 0, or -1 when n < 1 or B < 2 (ci then [0, 0]). */
unsigned long st_boot_work_bytes(int64_t n, int B, int threads);
int st_boot_ratio(double ci[2], const double *a, const double *b, const double *d, int64_t n,
                  int B, uint64_t seed, int threads, void *work);

/* S ratios over the same resamples in one pass: ci[q] is st_boot_ratio's
 * interval for (in[q].a, in[q].b, in[q].d), the same bytes; each resample is
 * drawn once. work: st_boot_ratios_work_bytes(n, S, B, threads) bytes.
 * Returns 0, or -1 when n < 1, B < 2 or S < 1 (every ci then [0, 0]). */
typedef struct {
    const double *a, *b, *d; /* (n) each; b may be NULL */
} st_ratio;
unsigned long st_boot_ratios_work_bytes(int64_t n, int S, int B, int threads);
int st_boot_ratios(double (*ci)[2], const st_ratio *in, int S, int64_t n, int B, uint64_t seed,
                   int threads, void *work);

/* 95% percentile bootstrap interval of a best-of-m share, the best chosen
 * inside each resample. a: (n, L, m) counts >= 0 (unit i, level l,
 * candidate j: e.g. the hits of image i at IoU level l and threshold j),
 * d: (n) denominators. With resample r's counts w_i (st_weights):
 *   stat_r = (1/L) sum_l [ max_j sum_i w_i a[i][l][j] ] / sum_i w_i d_i,
 * minus the same statistic of b (n, L, m) when b is not NULL: a paired
 * difference, each side taking its own maxima in the same resample. A
 * resample whose denominator is 0 counts as 0. The sums are exact (64-bit
 * integers), so the result does not depend on threads (or summation order).
 * work: st_boot_max_work_bytes(n, L, m, B, threads) bytes; the function
 * also allocates its compact copy of a and b (their nonzero changes along
 * j). 0, or -1 when n < 1, B < 2, L < 1, m < 1 or out of memory (ci then
 * [0, 0]). */
unsigned long st_boot_max_work_bytes(int64_t n, int L, int m, int B, int threads);
int st_boot_max(double ci[2], const uint32_t *a, const uint32_t *b, const uint32_t *d,
                int64_t n, int L, int m, int B, uint64_t seed, int threads, void *work);
/* G best-of-m statistics from the level groups of one count array a:
 * (n, L, m), in one pass over the resamples: ci[g] is st_boot_max's
 * interval (b NULL) for levels lev0[g] .. lev0[g+1]-1 of a alone, the same
 * bytes (e.g. MaxBoxAcc at level 0 and MaxBoxAccV2 at levels 1..3). lev0:
 * (G + 1) ascending, within 0..L. work: st_boot_max_groups_work_bytes(n, L,
 * m, G, B, threads) bytes. 0, or -1 on bad sizes or out of memory. */
unsigned long st_boot_max_groups_work_bytes(int64_t n, int L, int m, int G, int B, int threads);
int st_boot_max_groups(double (*ci)[2], const uint32_t *a, const uint32_t *d, int64_t n, int L,
                       int m, int G, const int *lev0, int B, uint64_t seed, int threads,
                       void *work);
/* Naive twin (test oracle): one thread, each candidate's sum in double
 * (exact below 2^53), candidate by candidate; the same bytes as st_boot_max. */
int st_boot_max_ref(double ci[2], const uint32_t *a, const uint32_t *b, const uint32_t *d,
                    int64_t n, int L, int m, int B, uint64_t seed);

/* McNemar's exact test for paired hits: n01 = pairs where only A hit,
 * n10 = only B hit. Two-sided p = min(1, 2 P(X <= min(n01, n10))),
 * X ~ Binomial(n01 + n10, 1/2); 1 when there is no discordant pair. */
double st_mcnemar_exact(int64_t n01, int64_t n10);

#endif
