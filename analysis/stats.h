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
/* Naive twin (test oracle): one thread, each candidate's sum in double
 * (exact below 2^53), candidate by candidate; the same bytes as st_boot_max. */
int st_boot_max_ref(double ci[2], const uint32_t *a, const uint32_t *b, const uint32_t *d,
                    int64_t n, int L, int m, int B, uint64_t seed);

/* McNemar's exact test for paired hits: n01 = pairs where only A hit,
 * n10 = only B hit. Two-sided p = min(1, 2 P(X <= min(n01, n10))),
 * X ~ Binomial(n01 + n10, 1/2); 1 when there is no discordant pair. */
double st_mcnemar_exact(int64_t n01, int64_t n10);

#endif
