/* test_intervals.c: the statistics: McNemar and the bootstrap by hand, the
 * intervals of MaxBoxAcc with the threshold chosen inside each resample
 * against their naive twin, the one-pass intervals against one call per
 * statistic, and sign-table shares, on data whose intervals are known by
 * construction. Each group also checks that a wrong answer would be caught.
 * (Split from test_analysis.c, unchanged.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/agg.h"
#include "analysis/intervals.h"
#include "analysis/loc.h"
#include "analysis/sign.h"
#include "analysis/stats.h"
#include "tests/testlib.h"

static rng R = {0x9E3779B97F4A7C15ull};
static double urand(void) { return rng_unit(&R); }
/* ---- statistics ---------------------------------------------------------- */

static void test_mcnemar_hand(void **state)
{
    (void)state;
    /* n = 7 discordant, min 1: P(X <= 1) = (1 + 7) / 128 -> p = 16/128 */
    assert_true(fabs(st_mcnemar_exact(1, 6) - 0.125) < 1e-12);
    assert_true(fabs(st_mcnemar_exact(6, 1) - 0.125) < 1e-12);
    /* n = 5, min 0: 2 / 32 */
    assert_true(fabs(st_mcnemar_exact(0, 5) - 0.0625) < 1e-12);
    /* n = 10, min 2: (1 + 10 + 45) / 1024 * 2 = 112 / 1024 */
    assert_true(fabs(st_mcnemar_exact(2, 8) - 112.0 / 1024.0) < 1e-12);
    /* balanced and empty: 1 */
    assert_true(st_mcnemar_exact(3, 3) == 1.0);
    assert_true(st_mcnemar_exact(0, 0) == 1.0);
    /* large counts stay finite and tiny: 0 vs 2000 is 2^-1999, below double range */
    double p = st_mcnemar_exact(0, 2000);
    assert_true(p >= 0.0 && p < 1e-300);
    /* a wrong hand value would be caught */
    assert_false(fabs(st_mcnemar_exact(1, 6) - 0.0625) < 1e-12);
}

static void test_bootstrap_known(void **state)
{
    (void)state;
    enum { N = 400, B = 1000 };
    double a[N], d[N], c[N], ci[2], ci3[2];
    void *work = malloc(st_boot_work_bytes(N, B, 3));
    uint32_t w[N];
    st_weights(w, N, 42, 7);
    int64_t sum = 0;
    for (int i = 0; i < N; i++) sum += w[i];
    assert_int_equal(sum, N);
    double v[4] = {1, 2, 3, 4};
    assert_true(st_quantile_sorted(v, 4, 0.5) == 2.5);
    assert_true(st_quantile_sorted(v, 4, 0.0) == 1.0 && st_quantile_sorted(v, 4, 1.0) == 4.0);
    /* identical units: the interval collapses onto the value */
    for (int i = 0; i < N; i++) { a[i] = 0.5; d[i] = 1; c[i] = 0.25; }
    st_boot_ratio(ci, a, NULL, d, N, B, 1, 1, work);
    assert_true(ci[0] == 0.5 && ci[1] == 0.5);
    /* paired difference of constants */
    st_boot_ratio(ci, a, c, d, N, B, 1, 1, work);
    assert_true(fabs(ci[0] - 0.25) < 1e-15 && fabs(ci[1] - 0.25) < 1e-15);
    /* half hits: the bootstrap mean is ~ Binomial(N, 1/2) / N, 95% interval
     * 0.5 -+ 1.96 * sqrt(0.25 / N) = 0.5 -+ 0.049 */
    for (int i = 0; i < N; i++) a[i] = i % 2;
    st_boot_ratio(ci, a, NULL, d, N, B, 1, 1, work);
    printf("    bootstrap of a 1/2 proportion, N=%d: [%.4f, %.4f] (normal theory 0.4510, 0.5490)\n",
           N, ci[0], ci[1]);
    assert_true(ci[0] > 0.44 && ci[0] < 0.46);
    assert_true(ci[1] > 0.54 && ci[1] < 0.56);
    /* the thread count does not change it */
    st_boot_ratio(ci3, a, NULL, d, N, B, 1, 3, work);
    assert_true(ci3[0] == ci[0] && ci3[1] == ci[1]);
    /* another seed gives another (close) interval: the seed is used */
    st_boot_ratio(ci3, a, NULL, d, N, B, 2, 1, work);
    assert_true(ci3[0] != ci[0] || ci3[1] != ci[1]);
    free(work);
}

/* ci_pair on records built by hand: 4 images, McNemar counts and the value
 * difference are exact; a target without a box is left out. */
static void test_ci_pair(void **state)
{
    (void)state;
    enum { T = 5, V = 2 };
    ci_rec rec[T * V];
    int32_t timg[T] = {0, 1, 1, 2, 3};
    memset(rec, 0, sizeof rec);
    int ha[T] = {1, 1, 0, 1, 1}, hb[T] = {0, 1, 0, 0, 1};
    for (int t = 0; t < T; t++) {
        rec[t * V].scored = rec[t * V + 1].scored = t != 4 ? 1 : 0;
        rec[t * V].point_hit = (uint8_t)ha[t];
        rec[t * V + 1].point_hit = (uint8_t)hb[t];
    }
    ci_ctx c = {rec, V, T, 4, timg, 200, 1, 1};
    agg_metrics m;
    memset(&m, 0, sizeof m);
    ci_pair p;
    assert_int_equal(ci_pair_compute(&p, &c, 0, &m, 1, &m, CI_POINTING, 0), 0);
    assert_int_equal(p.targets, 4);
    assert_int_equal(p.a_only, 2);
    assert_int_equal(p.b_only, 0);
    assert_true(fabs(p.a - 0.75) < 1e-15 && fabs(p.b - 0.25) < 1e-15);
    assert_true(fabs(p.p - 0.5) < 1e-12); /* n = 2, min 0: 2 * 1/4 */
    assert_true(p.ci[0] <= p.diff && p.diff <= p.ci[1]);
}

/* ---- thresholds chosen inside each resample -------------------------------- */

/* st_boot_max against its naive twin on seeded random counts of awkward
 * sizes: the same bytes, at 1, 2 and 7 threads, paired or not. */
static void test_boot_max_vs_ref(void **state)
{
    (void)state;
    static const int ns[] = {1, 7, 13, 64}, Ls[] = {1, 3}, ms[] = {1, 5, 100};
    enum { B = 97 };
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < 2; b++)
            for (size_t c = 0; c < 3; c++) {
                int n = ns[a], L = Ls[b], m = ms[c];
                size_t sz = (size_t)n * L * m;
                uint32_t *x = malloc(sz * sizeof *x), *y = malloc(sz * sizeof *y);
                uint32_t *d = malloc((size_t)n * sizeof *d);
                void *work = malloc(st_boot_max_work_bytes(n, L, m, B, 7));
                assert_non_null(x); assert_non_null(y); assert_non_null(d); assert_non_null(work);
                for (int i = 0; i < n; i++) {
                    d[i] = (uint32_t)(urand() * 4);          /* 0..3 targets; 0: no box */
                    for (int k = 0; k < L * m; k++) {
                        x[(size_t)i * L * m + k] = (uint32_t)(urand() * (d[i] + 1));
                        y[(size_t)i * L * m + k] = (uint32_t)(urand() * (d[i] + 1));
                    }
                }
                for (int paired = 0; paired < 2; paired++) {
                    double ref[2], got[2];
                    const uint32_t *yy = paired ? y : NULL;
                    assert_int_equal(st_boot_max_ref(ref, x, yy, d, n, L, m, B, 5), 0);
                    for (int th = 1; th <= 7; th += th == 1 ? 1 : 5) { /* 1, 2, 7 */
                        assert_int_equal(st_boot_max(got, x, yy, d, n, L, m, B, 5, th, work), 0);
                        if (memcmp(got, ref, sizeof got) != 0)
                            printf("    n=%d L=%d m=%d paired=%d threads=%d: [%.17g, %.17g] vs "
                                   "ref [%.17g, %.17g]\n", n, L, m, paired, th, got[0], got[1],
                                   ref[0], ref[1]);
                        assert_memory_equal(got, ref, sizeof got);
                    }
                }
                free(x); free(y); free(d); free(work);
            }
    /* a wrong input is caught: the twin on other counts gives another interval */
    uint32_t x[8 * 2], d[8];
    for (int i = 0; i < 8; i++) { d[i] = 1; x[2 * i] = (uint32_t)(i & 1); x[2 * i + 1] = i < 2; }
    double c1[2], c2[2];
    void *work = malloc(st_boot_max_work_bytes(8, 1, 2, 50, 1));
    st_boot_max(c1, x, NULL, d, 8, 1, 2, 50, 3, 1, work);
    x[1] = 0; /* image 0 no longer hit at threshold 1 */
    x[0] = 0;
    st_boot_max_ref(c2, x, NULL, d, 8, 1, 2, 50, 3);
    assert_false(c1[0] == c2[0] && c1[1] == c2[1]);
    assert_int_equal(st_boot_max(c1, x, NULL, d, 0, 1, 2, 50, 3, 1, work), -1); /* n = 0 */
    free(work);
}

/* One target per image; a target of image i is hit at threshold 10 when i is
 * even, at threshold 20 when i is odd: on the full data both thresholds
 * give 1/2 and the first (10) is chosen. At that fixed threshold a resample
 * is a Binomial proportion around 1/2 (the old interval, about [0.451,
 * 0.549] for N = 400). Chosen inside each resample, the maximum of p and
 * 1 - p is never below 1/2: the interval starts at 1/2 and reaches about
 * 1/2 + 2.24 * 0.025 = 0.556 (the 95% point of a half-normal). V2: IoU 0.3
 * always hit at threshold 5 (1), IoU 0.5 as the box, IoU 0.7 never (0). */
static void test_boot_max_resampled_threshold(void **state)
{
    (void)state;
    enum { N = 400, B = 1000 };
    ci_rec *rec = calloc(N, sizeof *rec);
    int32_t *timg = malloc(N * sizeof *timg);
    assert_non_null(rec); assert_non_null(timg);
    for (int i = 0; i < N; i++) {
        int t = i % 2 ? 20 : 10;
        timg[i] = i;
        rec[i].scored = 1;
        for (int n = 0; n < LOC_NNORM; n++) {
            rec[i].curve[n][t >> 3] |= (uint8_t)(1u << (t & 7));
            rec[i].any[n][1][t >> 3] |= (uint8_t)(1u << (t & 7));
            rec[i].any[n][0][5 >> 3] |= (uint8_t)(1u << (5 & 7));
        }
    }
    ci_ctx c = {rec, 1, N, N, timg, B, 1, 1};
    ci_variant v1, v2, v7;
    assert_int_equal(ci_variant_compute(&v1, &c, 0), 0);
    const double *ci = v1.maxboxacc[LOC_MAX];
    /* the old way: BoxAcc at the full data's threshold 10 in every resample */
    double a[N], d[N], old[2];
    void *work = malloc(st_boot_work_bytes(N, B, 1));
    for (int i = 0; i < N; i++) { a[i] = i % 2 ? 0 : 1; d[i] = 1; }
    st_boot_ratio(old, a, NULL, d, N, B, 1, 1, work);
    free(work);
    printf("    MaxBoxAcc 1/2 at two thresholds, N=%d: threshold chosen per resample [%.4f, "
           "%.4f], at the full data's threshold [%.4f, %.4f]\n", N, ci[0], ci[1], old[0], old[1]);
    assert_true(ci[0] >= 0.5 && ci[0] < 0.51);       /* a maximum of p and 1 - p */
    assert_true(ci[1] > 0.545 && ci[1] < 0.57);
    assert_true(ci[0] <= 0.5 + 1e-12);               /* holds the full data's 1/2 */
    assert_true(old[0] < 0.46 && old[1] > 0.54 && old[1] < 0.56);
    assert_false(old[0] == ci[0] && old[1] == ci[1]);
    /* V2 = (1 + max(p, 1 - p) + 0) / 3 in every resample */
    assert_true(fabs(v1.maxboxacc_v2[LOC_MAX][0] - (1 + ci[0]) / 3) < 1e-12);
    assert_true(fabs(v1.maxboxacc_v2[LOC_MAX][1] - (1 + ci[1]) / 3) < 1e-12);
    /* the thread count does not change any interval */
    c.threads = 2;
    assert_int_equal(ci_variant_compute(&v2, &c, 0), 0);
    c.threads = 7;
    assert_int_equal(ci_variant_compute(&v7, &c, 0), 0);
    assert_memory_equal(&v1, &v2, sizeof v1);
    assert_memory_equal(&v1, &v7, sizeof v1);
    free(rec);
    free(timg);
}

/* A single image: every resample draws it N = 1 time, so each interval
 * collapses onto the full data's maximum. Three targets: A hit at
 * thresholds 10..30, B at 20..40, C never: MaxBoxAcc 2/3 (thresholds 20..30).
 * Under a second variant only A is hit (1/3): the paired MaxBoxAcc
 * difference collapses onto 2/3 - 1/3, at 1, 2 and 7 threads. */
static void test_boot_max_single_image(void **state)
{
    (void)state;
    enum { T = 3, V = 2 };
    ci_rec rec[T * V];
    int32_t timg[T] = {0, 0, 0};
    memset(rec, 0, sizeof rec);
    for (int t = 0; t < T; t++)
        for (int v = 0; v < V; v++) {
            ci_rec *r = &rec[t * V + v];
            r->scored = 1;
            int lo = t == 0 ? 10 : t == 1 && v == 0 ? 20 : 100, hi = t == 0 ? 30 : 40;
            for (int i = lo; i <= hi && i < LOC_NTHR; i++)
                for (int n = 0; n < LOC_NNORM; n++) {
                    r->curve[n][i >> 3] |= (uint8_t)(1u << (i & 7));
                    for (int l = 0; l < 3; l++)
                        r->any[n][l][i >> 3] |= (uint8_t)(1u << (i & 7));
                }
        }
    agg_metrics ma, mb;
    memset(&ma, 0, sizeof ma);
    memset(&mb, 0, sizeof mb);
    ma.maxboxacc_i[LOC_MAX] = 20;
    mb.maxboxacc_i[LOC_MAX] = 10;
    ci_ctx c = {rec, V, T, 1, timg, 50, 9, 1};
    ci_variant out;
    assert_int_equal(ci_variant_compute(&out, &c, 0), 0);
    assert_true(out.maxboxacc[LOC_MAX][0] == 2.0 / 3 && out.maxboxacc[LOC_MAX][1] == 2.0 / 3);
    assert_true(fabs(out.maxboxacc_v2[LOC_MINMAX][0] - 2.0 / 3) < 1e-15);
    assert_true(fabs(out.maxboxacc_v2[LOC_MINMAX][1] - 2.0 / 3) < 1e-15);
    for (int th = 1; th <= 7; th += th == 1 ? 1 : 5) {
        c.threads = th;
        ci_pair p;
        assert_int_equal(ci_pair_compute(&p, &c, 0, &ma, 1, &mb, CI_MAXBOXACC, LOC_MAX), 0);
        assert_true(fabs(p.a - 2.0 / 3) < 1e-15 && fabs(p.b - 1.0 / 3) < 1e-15);
        assert_true(p.ci[0] == 2.0 / 3 - 1.0 / 3 && p.ci[1] == 2.0 / 3 - 1.0 / 3);
    }
    /* a wrong value would be caught: the interval is not the fixed-threshold 0 one */
    assert_false(out.maxboxacc[LOC_MAX][0] == 0.0);
}

/* The one-pass intervals against one call per statistic, bytes equal at 1
 * and 3 threads: st_boot_ratios against st_boot_ratio (some paired, wide
 * magnitudes so any reordering of a sum shows), st_boot_max_groups against
 * st_boot_max on the levels split out; ci_shares_compute against
 * ci_share_compute. A group with a wrong level range must differ. */
static void test_one_pass_intervals(void **state)
{
    (void)state;
    enum { N = 37, S = 5, B = 120, L = 4, M = 23 };
    static double a[S][N], b[S][N], d[S][N];
    static uint32_t cnt[N * L * M], c1[N * 1 * M], c3[N * 3 * M], den[N];
    for (int q = 0; q < S; q++)
        for (int i = 0; i < N; i++) {
            a[q][i] = (urand() - 0.3) * exp(30 * (urand() - 0.5));
            b[q][i] = urand() * exp(30 * (urand() - 0.5));
            d[q][i] = q == 4 && i % 2 ? 0.0 : urand() + 0.1;
        }
    for (int i = 0; i < N; i++) {
        den[i] = 1 + (uint32_t)(urand() * 5);
        for (int l = 0; l < L; l++) {
            int lo = (int)(urand() * M), hi = lo + (int)(urand() * M);
            for (int j = 0; j < M; j++) {
                uint32_t x = (j >= lo && j < hi) ? (uint32_t)(urand() * (den[i] + 1)) : 0;
                cnt[((size_t)i * L + l) * M + j] = x;
                if (l == 0) c1[(size_t)i * M + j] = x;
                else c3[((size_t)i * 3 + l - 1) * M + j] = x;
            }
        }
    }
    void *work = malloc(st_boot_ratios_work_bytes(N, S, B, 3) +
                        st_boot_max_groups_work_bytes(N, L, M, 2, B, 3) +
                        st_boot_max_work_bytes(N, 3, M, B, 3));
    assert_non_null(work);
    for (int th = 1; th <= 3; th += 2) {
        st_ratio in[S];
        for (int q = 0; q < S; q++)
            in[q] = (st_ratio){a[q], q % 2 ? b[q] : NULL, d[q]};
        double got[S][2], one[2];
        assert_int_equal(st_boot_ratios(got, in, S, N, B, 7, th, work), 0);
        for (int q = 0; q < S; q++) {
            assert_int_equal(st_boot_ratio(one, a[q], in[q].b, d[q], N, B, 7, th, work), 0);
            assert_memory_equal(one, got[q], sizeof one);
        }
        static const int lev0[3] = {0, 1, 4}, bad[3] = {0, 2, 4};
        double mg[2][2], mb[2][2], m1[2], m3[2];
        assert_int_equal(st_boot_max_groups(mg, cnt, den, N, L, M, 2, lev0, B, 7, th, work), 0);
        assert_int_equal(st_boot_max(m1, c1, NULL, den, N, 1, M, B, 7, th, work), 0);
        assert_int_equal(st_boot_max(m3, c3, NULL, den, N, 3, M, B, 7, th, work), 0);
        assert_memory_equal(mg[0], m1, sizeof m1);
        assert_memory_equal(mg[1], m3, sizeof m3);
        assert_int_equal(st_boot_max_groups(mb, cnt, den, N, L, M, 2, bad, B, 7, th, work), 0);
        assert_true(memcmp(mb, mg, sizeof mb) != 0);
        static const int empty[3] = {0, 1, 1};
        assert_int_equal(st_boot_max_groups(mb, cnt, den, N, L, M, 2, empty, B, 7, th, work), -1);
    }
    free(work);
    /* the sixteen share intervals at once */
    enum { T = 90, NI = 31 };
    static ci_sgn img[NI];
    int32_t timg[T];
    memset(img, 0, sizeof img);
    for (int t = 0; t < T; t++) {
        timg[t] = (int32_t)(t * NI / T);
        for (int q = 0; q < 2; q++)
            for (int g = 0; g < SGN_NREG; g++)
                for (int k = 0; k < CI_NSUM; k++)
                    img[timg[t]].s[q][g][k] += (k >= 2 ? -1 : 1) * urand() * exp(10 * urand());
    }
    for (int th = 1; th <= 3; th += 2) {
        ci_ctx c = {NULL, 0, T, NI, timg, B, 11, th};
        double all[2][SGN_NREG + 1][CI_NSHARE][2];
        assert_int_equal(ci_shares_compute(all, &c, img), 0);
        for (int q = 0; q < 2; q++)
            for (int g = 0; g <= SGN_NREG; g++)
                for (int k = 0; k < CI_NSHARE; k++) {
                    double one[2];
                    assert_int_equal(ci_share_compute(one, &c, img, q, g, k), 0);
                    assert_memory_equal(one, all[q][g][k], sizeof one);
                }
    }
}

/* ---- sign-table shares ---------------------------------------------------- */

/* Every image's NN share is 1/4 (NN = k, PP = 3k) and its NP share 1/4 of
 * the negative mass (NP = -k, PN = -3k), k = 1..N targets' worth: the
 * resampled ratio of sums is 1/4 in every resample, so the intervals
 * collapse onto 1/4, per region and for "all", at any thread count. The
 * "other" region is empty: no share (-1). Then one image with a share of 1
 * makes the interval open up and still hold the full data's share. */
static void test_share_intervals(void **state)
{
    (void)state;
    enum { N = 30, T = 45, B = 300 };
    ci_sgn *img = calloc(N, sizeof *img);
    int32_t timg[T];
    sgn_table tot[2];
    sgn_clear(&tot[0]);
    sgn_clear(&tot[1]);
    for (int t = 0; t < T; t++) {
        sgn_table tab[2];
        timg[t] = t % N;
        double k = 1 + t % 7;
        for (int q = 0; q < 2; q++) {
            sgn_clear(&tab[q]);
            for (int r = 0; r < SGN_NREG; r += 2) { /* target and background */
                tab[q].s[r][8] = k * (r + 1);          /* NN */
                tab[q].s[r][0] = 3 * k * (r + 1);      /* PP */
                tab[q].s[r][6] = -k;                   /* NP */
                tab[q].s[r][2] = -3 * k;               /* PN */
            }
            sgn_add(&tot[q], &tab[q]);
        }
        ci_sgn_add(&img[timg[t]], tab);
    }
    ci_ctx c = {NULL, 0, T, N, timg, B, 4, 1};
    for (int q = 0; q < 2; q++)
        for (int r = 0; r <= SGN_NREG; r++)
            for (int k = 0; k < CI_NSHARE; k++) {
                double v = ci_share(&tot[q], r, k), ci[2], ci7[2];
                if (r == SGN_OTHER) {
                    assert_true(v == -1.0);
                    continue;
                }
                assert_true(v == 0.25);
                c.threads = 1;
                assert_int_equal(ci_share_compute(ci, &c, img, q, r, k), 0);
                assert_true(ci[0] == 0.25 && ci[1] == 0.25);
                c.threads = 7;
                assert_int_equal(ci_share_compute(ci7, &c, img, q, r, k), 0);
                assert_memory_equal(ci, ci7, sizeof ci);
            }
    /* a deliberately different image (share 1): the interval no longer
     * collapses; the full data's share, summed by hand, lies inside it */
    img[3].s[0][SGN_TARGET][CI_SPP] = 0;
    double ci[2], nn = 0, pos = 0;
    for (int i = 0; i < N; i++) {
        nn += img[i].s[0][SGN_TARGET][CI_SNN];
        pos += img[i].s[0][SGN_TARGET][CI_SNN] + img[i].s[0][SGN_TARGET][CI_SPP];
    }
    c.threads = 2;
    assert_int_equal(ci_share_compute(ci, &c, img, 0, SGN_TARGET, CI_NN_SHARE), 0);
    printf("    NN share with one image at 1: %.4f in [%.4f, %.4f]\n", nn / pos, ci[0], ci[1]);
    assert_true(ci[0] < ci[1]);
    assert_true(ci[0] <= nn / pos && nn / pos <= ci[1]);
    assert_true(ci[0] >= 0.25);
    /* no resamples: no interval */
    c.B = 0;
    assert_int_equal(ci_share_compute(ci, &c, img, 0, SGN_TARGET, CI_NN_SHARE), 0);
    assert_true(ci[0] == 0 && ci[1] == 0);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcnemar_hand),
        cmocka_unit_test(test_bootstrap_known),
        cmocka_unit_test(test_ci_pair),
        cmocka_unit_test(test_boot_max_vs_ref),
        cmocka_unit_test(test_boot_max_resampled_threshold),
        cmocka_unit_test(test_boot_max_single_image),
        cmocka_unit_test(test_share_intervals),
        cmocka_unit_test(test_one_pass_intervals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
