/* test_causal.c: cmocka tests of analysis/causal.c with exact answers.
 *
 * Hand cases whose every number is exact in binary (so assert_true(x == y)):
 * the median, the trapezoid on uneven steps, the r/slope sums, and a whole
 * cz_compute on 4 targets in 2 images (scale, AUCs, mean curves, best
 * orders, paired differences, the claim test and its degenerate intervals,
 * the completeness fit); the bootstrap of the fit on y = 2 x (every
 * resample r = 1, slope = 2); a degenerate scale; and thread-count
 * invariance of everything on a random case (memcmp at 1 and 3 threads).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analysis/causal.h"
#include "tests/testlib.h"

static void test_median_auc_fit(void **state)
{
    (void)state;
    double a[5] = {5, 1, 4, 2, 3}, b[4] = {7, 1, 3, 2};
    assert_true(cz_median(a, 5) == 3.0);
    assert_true(cz_median(b, 4) == 2.5);
    /* uneven steps: x = 0, .25, .75, 1 */
    int32_t cells[4] = {0, 1, 3, 4};
    double u[4] = {1, 0.75, 0.25, 0};
    assert_true(cz_auc(u, cells, 3, 4) == 0.5); /* .21875 + .25 + .03125 */
    double r, s;
    cz_fit_sums(&r, &s, 4, 10, 20, 30, 60, 120); /* x = 1..4, y = 2x */
    assert_true(r == 1.0 && s == 2.0);
    cz_fit_sums(&r, &s, 4, 10, -20, 30, -60, 120); /* y = -2x */
    assert_true(r == -1.0 && s == -2.0);
    cz_fit_sums(&r, &s, 3, 6, 5, 12, 10, 9); /* x constant 2: undefined -> 0 */
    assert_true(r == 0.0 && s == 0.0);
    cz_fit_sums(&r, &s, 1, 1, 2, 1, 2, 4); /* one point */
    assert_true(r == 0.0 && s == 0.0);
}

/* 4 targets, images {0, 0, 1, 1}; one reference (zero); orders gradcam,
 * random; S = 2 over n = 2 cells. */
enum { T4 = 4, P3 = 3 };
static const int32_t timg4[T4] = {0, 0, 1, 1}, cells3[P3] = {0, 1, 2};
static const int refmu0[1] = {0};
static const double yo4[T4] = {3, 3, 2, 4}, yr4[T4] = {1, 1, 1, 1}; /* |d| 2 2 1 3: median 2 */
static double del4[2 * T4 * P3], ins4[2 * T4 * P3];
static const int32_t nneg4[T4] = {0, 1, 2, 3}, noth4[T4] = {1, 1, 1, 1};
static const double ct4[T4 * 2] = {9, 9, 1, 2.5, 1, 1.5, 1, 3.5};  /* t0 not eligible */
static const double co4[T4 * 3] = {9, 9, 9, 3, 2, 2.5, 2, 1, 1.5, 4, 3, 3.5};
static const double mass4[T4 * CZ_NMASS] = {1, 0, 1, 0, 1, 0, 1, 0, 0.5, 0, 0.5, 0,
                                            1.5, 0, 1.5, 0};

static void fill4(void)
{
    static const double dg[P3] = {3, 2, 1}, dr[P3] = {3, 3, 1}; /* u: 1 .5 0 | 1 1 0 */
    static const double ig[P3] = {1, 3, 3}, ir[P3] = {1, 1, 3}; /* u: 0 1 1 | 0 0 1 */
    for (int t = 0; t < T4; t++)
        for (int s = 0; s < P3; s++) {
            del4[(0 * T4 + t) * P3 + s] = dg[s];
            del4[(1 * T4 + t) * P3 + s] = dr[s];
            ins4[(0 * T4 + t) * P3 + s] = ig[s];
            ins4[(1 * T4 + t) * P3 + s] = ir[s];
        }
}

static cz_in in4(int threads)
{
    fill4();
    cz_in in = {1, 2, 2, T4, 2, timg4, cells3, 2, refmu0, 0, 1, yo4, yr4, {del4, ins4},
                nneg4, noth4, ct4, co4, mass4, 200, 7, threads};
    return in;
}

static void test_compute_hand(void **state)
{
    (void)state;
    cz_in in = in4(2);
    cz_res z;
    assert_int_equal(cz_compute(&z, &in), 0);
    assert_true(z.scale[0] == 2.0 && !z.scale_degenerate[0]);
    /* auc (mode, r, o): deletion gradcam .5, random .75; insertion .75, .25 */
    assert_true(z.auc[0] == 0.5 && z.auc[1] == 0.75 && z.auc[2] == 0.75 && z.auc[3] == 0.25);
    assert_true(z.auc_ci[0] == 0.5 && z.auc_ci[1] == 0.5); /* the same AUC for every target */
    double cg[P3] = {1, 0.5, 0}, rg[P3] = {3, 2, 1};
    for (int s = 0; s < P3; s++)
        assert_true(z.curve[s] == cg[s] && z.raw[s] == rg[s]);
    assert_true(z.curve[3 * P3 + 2] == 1.0); /* insertion random, last point */
    assert_int_equal(z.best[0], 0);       /* deletion: gradcam (random never) */
    assert_int_equal(z.best[1], 0);       /* insertion: gradcam */
    const cz_pair *pd = &z.pair[1], *pi = &z.pair[2 + 1];
    assert_true(pd->value_a == 0.5 && pd->value_b == 0.75 && pd->diff == -0.25);
    assert_true(pd->ci[0] == -0.25 && pd->ci[1] == -0.25);
    assert_true(pi->diff == 0.5 && pi->ci[0] == 0.5 && pi->ci[1] == 0.5);
    const cz_claim *c = &z.claim[0];
    assert_int_equal(c->eligible, 3);
    assert_true(c->target_neg == -2.0 && c->target_random == -0.5 && c->target_diff == -1.5);
    assert_true(c->target_ci[0] == -1.5 && c->target_ci[1] == -1.5);
    assert_int_equal(c->eligible_others, 3);
    assert_true(c->others_neg == -1.0 && c->others_random == -0.5 && c->others_diff == -0.5);
    assert_true(c->others_ci[0] == -0.5 && c->others_ci[1] == -0.5);
    const cz_fit *fg = &z.fit[CZ_FIT_GRADCAM], *fh = &z.fit[CZ_FIT_HIRES];
    assert_int_equal(fg->n, 4);
    assert_true(fg->r == 1.0 && fg->slope == 2.0); /* y = 2 x */
    assert_true(fh->r == 1.0 && fh->slope == 2.0);
    cz_free(&z);
}

static void test_no_gradcam_no_spread(void **state)
{
    (void)state;
    cz_in in = in4(1);
    static const double same[T4] = {3, 3, 2, 4};
    in.y_ref = same; /* y_orig = y_ref: scale 0 -> 1, flagged */
    in.gradcam = -1; /* no pairs; best still found */
    in.B = 0;        /* no intervals */
    cz_res z;
    assert_int_equal(cz_compute(&z, &in), 0);
    assert_true(z.scale[0] == 1.0 && z.scale_degenerate[0]);
    assert_true(z.auc_ci[0] == 0.0 && z.auc_ci[1] == 0.0);
    assert_true(z.pair[1].diff == 0.0);
    assert_true(z.fit[0].r == 0.0 && z.fit[0].slope == 0.0); /* y has no spread */
    cz_free(&z);
}

/* y = 2 x inside every image, x spread inside every image: every resample
 * gives r = 1 and slope = 2 exactly (small integers). */
static void test_boot_fit(void **state)
{
    (void)state;
    enum { N = 5 };
    double s[N * 6];
    for (int i = 0; i < N; i++) {
        double x0 = i, x1 = i + 2 + i % 2;
        double v[6] = {2, x0 + x1, 2 * (x0 + x1), x0 * x0 + x1 * x1, 2 * (x0 * x0 + x1 * x1),
                       4 * (x0 * x0 + x1 * x1)};
        memcpy(s + i * 6, v, sizeof v);
    }
    double cr[2], cs[2], cr3[2], cs3[2];
    assert_int_equal(cz_boot_fit(cr, cs, s, N, 500, 3, 1), 0);
    assert_true(cr[0] == 1.0 && cr[1] == 1.0 && cs[0] == 2.0 && cs[1] == 2.0);
    assert_int_equal(cz_boot_fit(cr3, cs3, s, N, 500, 3, 3), 0);
    assert_memory_equal(cr, cr3, sizeof cr);
    /* a deliberately noisy y (image 0's first target, x = 0: y 0 -> 1): the
       interval is no longer a point */
    s[2] += 1.0; /* sy; sxy unchanged (x = 0) */
    s[5] += 1.0; /* syy */
    assert_int_equal(cz_boot_fit(cr, cs, s, N, 500, 3, 2), 0);
    assert_true(cr[0] < cr[1] && cr[1] <= 1.0 && cs[0] < cs[1]);
}

/* Random curves: the same bytes at 1 and 3 threads. */
static void test_threads(void **state)
{
    (void)state;
    enum { T = 37, N = 11, R = 2, O = 4, S = 5, P = S + 1 };
    rng g = {99};
    static int32_t timg[T], cells[P], nneg[T], noth[T];
    static double yo[T], yr[R * T], del[R * O * T * P], ins[R * O * T * P], ct[R * T * 2],
        co[R * T * 3], mass[T * CZ_NMASS];
    static const int refmu[R] = {0, 1};
    for (int t = 0; t < T; t++) {
        timg[t] = (int32_t)(t * N / T);
        nneg[t] = (int32_t)(rng_next(&g) % 4);
        noth[t] = (int32_t)(rng_next(&g) % 3);
        yo[t] = rng_unit(&g) * 4 - 1;
    }
    for (int s = 0; s < P; s++)
        cells[s] = (int32_t)((s * 20 + S / 2) / S);
    for (int i = 0; i < R * T; i++)
        yr[i] = rng_unit(&g);
    for (int i = 0; i < R * O * T * P; i++) {
        del[i] = rng_unit(&g) * 3;
        ins[i] = rng_unit(&g) * 3;
    }
    for (int i = 0; i < R * T * 2; i++)
        ct[i] = rng_unit(&g);
    for (int i = 0; i < R * T * 3; i++)
        co[i] = rng_unit(&g);
    for (int i = 0; i < T * CZ_NMASS; i++)
        mass[i] = rng_unit(&g) - 0.3;
    cz_in in = {R, O, S, T, N, timg, cells, 20, refmu, 1, O - 1, yo, yr, {del, ins},
                nneg, noth, ct, co, mass, 300, 5, 1};
    cz_res a, b;
    assert_int_equal(cz_compute(&a, &in), 0);
    in.threads = 3;
    assert_int_equal(cz_compute(&b, &in), 0);
    size_t nro = (size_t)CZ_NMODE * R * O;
    assert_memory_equal(a.auc_ci, b.auc_ci, 2 * nro * sizeof(double));
    assert_memory_equal(a.pair, b.pair, nro * sizeof(cz_pair));
    assert_memory_equal(a.claim, b.claim, R * sizeof(cz_claim));
    assert_memory_equal(a.fit, b.fit, R * CZ_NFIT * sizeof(cz_fit));
    assert_true(a.fit[0].r_ci[0] < a.fit[0].r_ci[1]); /* real intervals, not zeros */
    assert_true(a.auc_ci[0] < a.auc[0] && a.auc[0] < a.auc_ci[1]);
    cz_free(&a);
    cz_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_median_auc_fit),
        cmocka_unit_test(test_compute_hand),
        cmocka_unit_test(test_no_gradcam_no_spread),
        cmocka_unit_test(test_boot_fit),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
