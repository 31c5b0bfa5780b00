/* test_kernels.c: cmocka tests of kernels/upsample, kernels/eigencam, the
 * gradcam-elementwise map of kernels/cam, kernels/mapscan and pipeline/input/half (the sweeps
 * have tests/test_sweep.c; the other cam maps tests/test_analysis.c).
 *
 * Each fast kernel is checked three ways: against hand-computed exact values,
 * against its naive `_ref` twin on seeded random inputs of awkward sizes
 * (the worst difference is printed), and by a deliberately wrong input that
 * the comparison must reject (a test that cannot fail proves nothing).
 * Random inputs come from a fixed-seed splitmix64, so runs are reproducible.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/input/half.h"
#include "kernels/cam.h"
#include "kernels/eigencam.h"
#include "kernels/mapscan.h"
#include "kernels/sweep.h"
#include "kernels/upsample.h"
#include "testlib.h"

/* ---------------------------------------------------------------- helpers */

/* Number of i with |a - ref| > atol + rtol |ref| (a NaN on one side only
 * counts too); *worst = the largest |a - ref| seen. */
static size_t count_far(const double *a, const double *ref, size_t n, double atol,
                        double rtol, double *worst)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(ref[i])) {
            if (!(isnan(a[i]) && isnan(ref[i])))
                bad++;
            continue;
        }
        double d = fabs(a[i] - ref[i]);
        if (d > *worst)
            *worst = d;
        if (d > atol + rtol * fabs(ref[i]))
            bad++;
    }
    return bad;
}

/* ---------------------------------------------------------------- upsample */

/* The README / brief formula transcribed literally, as the numpy reference
 * does: coordinate tables, full row pass into r, then the column pass. */
static void ups_literal(double *out, const float *in, int h, int w, int H, int W)
{
    int *x0 = xmalloc((size_t)W * sizeof *x0), *x1 = xmalloc((size_t)W * sizeof *x1);
    double *f = xmalloc((size_t)W * sizeof *f);
    double *r = xmalloc((size_t)h * (size_t)W * sizeof *r);
    for (int x = 0; x < W; x++) {
        double s = (x + 0.5) * ((double)w / W) - 0.5;
        if (s < 0) s = 0;
        x0[x] = (int)floor(s);
        if (x0[x] >= w - 1) { x0[x] = w - 1; x1[x] = w - 1; f[x] = 0; }
        else { x1[x] = x0[x] + 1; f[x] = s - x0[x]; }
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < W; x++)
            r[y * W + x] = (double)in[y * w + x0[x]] * (1.0 - f[x]) +
                           (double)in[y * w + x1[x]] * f[x];
    for (int Y = 0; Y < H; Y++) {
        double s = (Y + 0.5) * ((double)h / H) - 0.5;
        if (s < 0) s = 0;
        int y0 = (int)floor(s), y1;
        double g;
        if (y0 >= h - 1) { y0 = h - 1; y1 = h - 1; g = 0; }
        else { y1 = y0 + 1; g = s - y0; }
        for (int x = 0; x < W; x++)
            out[Y * W + x] = r[y0 * W + x] * (1.0 - g) + r[y1 * W + x] * g;
    }
    free(x0);
    free(x1);
    free(f);
    free(r);
}

/* 2x2 -> 4x4, scale 0.5. Columns (rows alike):
 *   x=0: s = 0.5*0.5-0.5 = -0.25 -> 0: x0=0, f=0     -> a
 *   x=1: s = 0.25:  x0=0, f=0.25                     -> 0.75 a + 0.25 b
 *   x=2: s = 0.75:  x0=0, f=0.75                     -> 0.25 a + 0.75 b
 *   x=3: s = 1.25:  x0=1 >= w-1 -> x0=x1=1, f=0      -> b   (edge clamp)
 * in = [[1, 2], [3, 4]]: row pass r0 = [1, 1.25, 1.75, 2], r1 = [3, 3.25, 3.75, 4];
 * column pass: Y0 = r0, Y1 = 0.75 r0 + 0.25 r1, Y2 = 0.25 r0 + 0.75 r1, Y3 = r1.
 * All values are dyadic, so the arithmetic is exact and == is the right test. */
static void test_ups_hand_2x2(void **state)
{
    (void)state;
    const float in[4] = {1, 2, 3, 4};
    const double want[16] = {
        1.0, 1.25, 1.75, 2.0,
        1.5, 1.75, 2.25, 2.5,
        2.5, 2.75, 3.25, 3.5,
        3.0, 3.25, 3.75, 4.0,
    };
    double out[16], ref[16];
    run_ups(out, in, 2, 2, 4, 4);
    for (int i = 0; i < 16; i++)
        assert_true(out[i] == want[i]);
    assert_int_equal(ups_bilinear_ref(ref, in, 2, 2, 4, 4), 0);
    for (int i = 0; i < 16; i++)
        assert_true(ref[i] == want[i]);
}

/* Edge clamps, 1-pixel axes, downsampling and the identity. */
static void test_ups_hand_edges(void **state)
{
    (void)state;
    /* 1x3 -> 1x6, scale 0.5: s = -0.25(->0), 0.25, 0.75, 1.25, 1.75, 2.25;
     * the last has x0 = 2 >= w-1 -> clamp. in {0, 4, 8} ->
     * {0, 0.75*0+0.25*4, 0.25*0+0.75*4, 0.75*4+0.25*8, 0.25*4+0.75*8, 8} */
    const float row[3] = {0, 4, 8};
    const double want6[6] = {0, 1, 3, 5, 7, 8};
    double o6[6];
    run_ups(o6, row, 1, 3, 1, 6);
    for (int i = 0; i < 6; i++)
        assert_true(o6[i] == want6[i]);
    run_ups(o6, row, 3, 1, 6, 1); /* the same along rows */
    for (int i = 0; i < 6; i++)
        assert_true(o6[i] == want6[i]);

    /* 1x4 -> 1x2, scale 2: s = 0.5 (x0=0, f=0.5), 2.5 (x0=2, f=0.5) */
    const float four[4] = {1, 2, 3, 4};
    double o2[2];
    run_ups(o2, four, 1, 4, 1, 2);
    assert_true(o2[0] == 1.5 && o2[1] == 3.5);

    /* 1x1 -> 3x5: every pixel is the single value */
    const float one[1] = {0.3f};
    double o15[15];
    run_ups(o15, one, 1, 1, 3, 5);
    for (int i = 0; i < 15; i++)
        assert_true(o15[i] == (double)0.3f);

    /* 3x4 -> 1x1: s = 0.5 * 3 - 0.5 = 1 -> y0 = 1, g = 0; x: 1.5 -> x0=1, f=0.5 */
    const float m34[12] = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
    double o1[1];
    run_ups(o1, m34, 3, 4, 1, 1);
    assert_true(o1[0] == 11.5);

    /* identity: scale 1, s = x, f = 0 -> a copy */
    rng r = {42};
    float id[7 * 13];
    double oid[7 * 13];
    for (int i = 0; i < 7 * 13; i++)
        id[i] = (float)(rng_unit(&r) * 2.0 - 1.0);
    run_ups(oid, id, 7, 13, 7, 13);
    for (int i = 0; i < 7 * 13; i++)
        assert_true(oid[i] == (double)id[i]);

    assert_true(ups_work_bytes(0, 3, 4, 4) == 0);
    assert_true(ups_work_bytes(3, 3, 4, -1) == 0);
    assert_int_equal(ups_bilinear_ref(o1, m34, 3, 4, 0, 1), -1);
}

static const int ups_sizes[][4] = {
    {1, 1, 1, 1},   {1, 1, 5, 7},    {2, 2, 4, 4},     {7, 7, 224, 224}, {14, 14, 224, 224},
    {7, 13, 96, 96}, {13, 7, 5, 3},  {224, 224, 7, 7}, {1, 9, 1, 4},     {9, 1, 2, 17},
    {3, 5, 97, 89},  {6, 6, 96, 96}, {5, 11, 11, 5},   {12, 12, 12, 12}, {2, 3, 2, 1000},
};

/* ups_bilinear against the naive twin and against the literal transcription. */
static void test_ups_vs_ref(void **state)
{
    (void)state;
    rng r = {20240601};
    double worst = 0.0, worst_lit = 0.0;
    size_t bad = 0, bad_lit = 0, cases = 0;
    for (size_t c = 0; c < sizeof ups_sizes / sizeof ups_sizes[0]; c++) {
        int h = ups_sizes[c][0], w = ups_sizes[c][1], H = ups_sizes[c][2], W = ups_sizes[c][3];
        size_t nin = (size_t)h * (size_t)w, nout = (size_t)H * (size_t)W;
        float *in = xmalloc(nin * sizeof *in);
        double *out = xmalloc(nout * sizeof *out), *ref = xmalloc(nout * sizeof *ref);
        double *lit = xmalloc(nout * sizeof *lit);
        for (int rep = 0; rep < 3; rep++) {
            double scale = rep == 0 ? 1.0 : rep == 1 ? 10.0 : 1e-3;
            for (size_t i = 0; i < nin; i++)
                in[i] = (float)((rng_unit(&r) * 2.0 - 1.0) * scale);
            run_ups(out, in, h, w, H, W);
            assert_int_equal(ups_bilinear_ref(ref, in, h, w, H, W), 0);
            ups_literal(lit, in, h, w, H, W);
            bad += count_far(out, ref, nout, 1e-12 * scale, 1e-12, &worst);
            bad_lit += count_far(out, lit, nout, 0.0, 0.0, &worst_lit);
            cases++;
        }
        free(in);
        free(out);
        free(ref);
        free(lit);
    }
    printf("ups_bilinear: %zu cases; vs ref worst |diff| = %.3g (%zu beyond atol+rtol); "
           "vs literal formula worst |diff| = %.3g (%zu differ)\n",
           cases, worst, bad, worst_lit, bad_lit);
    assert_true(bad == 0);
    assert_true(bad_lit == 0);
}

/* The comparison must reject a wrong answer: a slipped row (y0 off by one),
 * and a single pixel perturbed by 1e-9. */
static void test_ups_compare_detects(void **state)
{
    (void)state;
    rng r = {7};
    float in[5 * 5];
    for (int i = 0; i < 25; i++)
        in[i] = (float)rng_unit(&r);
    double out[20 * 20], ref[20 * 20];
    run_ups(out, in, 5, 5, 20, 20);
    assert_int_equal(ups_bilinear_ref(ref, in, 5, 5, 20, 20), 0);
    double worst = 0.0;
    assert_true(count_far(out, ref, 400, 1e-12, 1e-12, &worst) == 0);

    out[137] += 1e-9;
    worst = 0.0;
    size_t bad = count_far(out, ref, 400, 1e-12, 1e-12, &worst);
    printf("ups compare, one pixel + 1e-9: %zu flagged, worst |diff| = %.3g\n", bad, worst);
    assert_true(bad == 1);

    /* a wrong kernel: output rows shifted by one */
    double shifted[20 * 20];
    memcpy(shifted, ref, sizeof shifted);
    memmove(shifted, ref + 20, sizeof ref - 20 * sizeof ref[0]);
    worst = 0.0;
    bad = count_far(shifted, ref, 400, 1e-12, 1e-12, &worst);
    printf("ups compare, rows shifted: %zu flagged, worst |diff| = %.3g\n", bad, worst);
    assert_true(bad > 100);
}

/* ---------------------------------------------------------------- half */

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Patterns where got and ref disagree (bits, or NaN-ness for NaNs). */
static size_t half_mismatches(const float *got, const float *ref, size_t n, size_t *first)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = isnan(ref[i]) ? isnan(got[i]) != 0 : fbits(got[i]) == fbits(ref[i]);
        if (!ok && bad++ == 0)
            *first = i;
    }
    return bad;
}

static void test_half_all(void **state)
{
    (void)state;
    uint16_t *in = xmalloc(65536 * sizeof *in);
    float *a = xmalloc(65536 * sizeof *a), *b = xmalloc(65536 * sizeof *b);
    for (size_t i = 0; i < 65536; i++)
        in[i] = (uint16_t)i;
    half_to_float(a, in, 65536);
    half_to_float_ref(b, in, 65536);
    size_t first = 0, nan = 0;
    size_t bad = half_mismatches(a, b, 65536, &first);
    for (size_t i = 0; i < 65536; i++)
        nan += isnan(b[i]) != 0;
    printf("half_to_float vs ref: 65536 patterns, %zu differ (%zu NaNs compared as NaN)\n",
           bad, nan);
    if (bad)
        printf("  first: 0x%04zx -> 0x%08x, ref 0x%08x\n", first, (unsigned)fbits(a[first]),
               (unsigned)fbits(b[first]));
    assert_true(bad == 0);
    assert_true(nan == 2 * 1023);

    /* deliberately wrong: flushing subnormals to zero must be caught */
    for (size_t i = 0; i < 65536; i++)
        if ((in[i] & 0x7c00u) == 0)
            a[i] = (in[i] & 0x8000u) ? -0.0f : 0.0f;
    bad = half_mismatches(a, b, 65536, &first);
    printf("half, subnormals flushed (deliberately wrong): %zu differ\n", bad);
    assert_true(bad == 2 * 1023);
    free(in);
    free(a);
    free(b);
}

static void test_half_known(void **state)
{
    (void)state;
    const uint16_t in[] = {0x3C00, 0xC000, 0x0001, 0x7BFF, 0x7C00, 0xFC00, 0x0000,
                           0x8000, 0x03FF, 0x0400, 0x3555, 0x7E00, 0xFE00, 0x7C01};
    const size_t n = sizeof in / sizeof in[0];
    float a[sizeof in / sizeof in[0]], b[sizeof in / sizeof in[0]];
    half_to_float(a, in, n);
    half_to_float_ref(b, in, n);
    const float want[] = {1.0f, -2.0f, 0x1p-24f, 65504.0f, INFINITY, -INFINITY, 0.0f,
                          -0.0f, 0x3FFp-24f, 0x1p-14f, 0x1.554p-2f};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(fbits(a[i]) == fbits(want[i]));
        assert_true(fbits(b[i]) == fbits(want[i]));
    }
    /* NaNs stay NaN; the fast path keeps sign and payload */
    for (size_t i = 11; i < n; i++)
        assert_true(isnan(a[i]) && isnan(b[i]));
    assert_true(fbits(a[11]) == 0x7FC00000u);
    assert_true(fbits(a[12]) == 0xFFC00000u);
    assert_true(fbits(a[13]) == 0x7F802000u);
    /* n = 0 touches nothing */
    float sentinel = 5.0f;
    half_to_float(&sentinel, in, 0);
    half_to_float_ref(&sentinel, in, 0);
    assert_true(sentinel == 5.0f);
}

/* ---------------------------------------------------------------- eigencam */

/* eig_map on a work buffer filled with garbage first (the result must not
 * depend on it); returns eig_map's status. */
static int run_eig(float *map, int *flip, const float *a, int K, int hw)
{
    size_t nw = eig_work_doubles(K, hw);
    assert_true(nw > 0);
    double *work = xmalloc(nw * sizeof *work);
    for (size_t i = 0; i < nw; i++)
        work[i] = (double)i * 1e300; /* garbage, some of it inf */
    int rc = eig_map(map, flip, a, K, hw, work);
    free(work);
    return rc;
}

/* Largest |map - want| over hw cells, relative to max|want| (or absolute
 * when want is all zero); fails on a NaN. */
static double eig_err(const float *map, const double *want, int hw)
{
    double scale = 0.0, worst = 0.0;
    for (int c = 0; c < hw; c++)
        scale = fmax(scale, fabs(want[c]));
    for (int c = 0; c < hw; c++) {
        assert_false(isnan(map[c]));
        worst = fmax(worst, fabs(map[c] - want[c]));
    }
    return scale > 0 ? worst / scale : worst;
}

/* Hand cases: K = 1 (map = ReLU(A - mean), exact); rank one, A1 = 2 A0 and
 * A1 = -2 A0 (v = (1, 2)/sqrt5 and (-1, 2)/sqrt5 by the sign rule); equal
 * |v_k| (A1 = A0: v = (1, 1)/sqrt2; A1 = -A0: tie -> v_0 > 0, (1, -1)/sqrt2). */
static void test_eig_hand(void **state)
{
    (void)state;
    float map[4];
    int flip = -1;
    const float k1[4] = {1, 2, 3, 6}; /* mean 3 */
    assert_int_equal(run_eig(map, &flip, k1, 1, 4), 0);
    const double want1[4] = {0, 0, 0, 3};
    for (int c = 0; c < 4; c++)
        assert_true(map[c] == (float)want1[c]);
    assert_true(flip == 0 || flip == 1);

    const double r5 = sqrt(5.0), r2 = sqrt(2.0);
    struct { float a[8]; double want[4]; } cases[] = {
        {{0, 1, 2, 3, 0, 2, 4, 6}, {0, 0, 0.5 * r5, 1.5 * r5}},     /* A1 = 2 A0  */
        {{0, 1, 2, 3, 0, -2, -4, -6}, {1.5 * r5, 0.5 * r5, 0, 0}},  /* A1 = -2 A0 */
        {{0, 1, 2, 3, 0, 1, 2, 3}, {0, 0, 0.5 * r2, 1.5 * r2}},     /* A1 = A0    */
        {{0, 1, 2, 3, 0, -1, -2, -3}, {0, 0, 0.5 * r2, 1.5 * r2}},  /* A1 = -A0: tie, v_0 > 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        float ref[4];
        assert_int_equal(run_eig(map, &flip, cases[i].a, 2, 4), 0);
        assert_int_equal(eig_map_ref(ref, cases[i].a, 2, 4), 0);
        double e = eig_err(map, cases[i].want, 4), er = eig_err(ref, cases[i].want, 4);
        printf("eigencam hand case %zu: |diff| %.3g (LAPACK), %.3g (Jacobi twin), flip %d\n", i,
               e, er, flip);
        assert_true(e <= 1e-6 && er <= 1e-6);
    }
    /* deliberately wrong: the other sign of case 1 is caught */
    const double wrong[4] = {0, 0, 0.5 * r5, 1.5 * r5};
    assert_int_equal(run_eig(map, &flip, cases[1].a, 2, 4), 0);
    assert_true(eig_err(map, wrong, 4) > 0.5);
}

/* Degenerate inputs: an all-zero map, no flip, status 0, never NaN. */
static void test_eig_degenerate(void **state)
{
    (void)state;
    enum { K = 5, HW = 7 };
    float a[K * HW], map[HW];
    int flip = -1;
    const double zero[HW] = {0};
    /* zero matrix */
    memset(a, 0, sizeof a);
    assert_int_equal(run_eig(map, &flip, a, K, HW), 0);
    assert_true(eig_err(map, zero, HW) == 0.0 && flip == 0);
    /* every channel constant over the cells */
    for (int k = 0; k < K; k++)
        for (int c = 0; c < HW; c++)
            a[k * HW + c] = (float)(k * 3 - 4);
    flip = -1;
    assert_int_equal(run_eig(map, &flip, a, K, HW), 0);
    assert_true(eig_err(map, zero, HW) == 0.0 && flip == 0);
    /* one cell (h*w == 1), with K = 5 and K = 1 */
    const float one[5] = {3, -1, 2, 7, 0.5f};
    flip = -1;
    assert_int_equal(run_eig(map, &flip, one, 5, 1), 0);
    assert_true(map[0] == 0.0f && flip == 0);
    assert_int_equal(run_eig(map, &flip, one, 1, 1), 0);
    assert_true(map[0] == 0.0f && flip == 0);
    float r1[1];
    assert_int_equal(eig_map_ref(r1, one, 5, 1), 0);
    assert_true(r1[0] == 0.0f);
    /* K = 0 or hw = 0 touch nothing beyond the map */
    assert_int_equal(run_eig(map, &flip, one, 0, 3), 0);
    assert_true(map[0] == 0.0f && map[2] == 0.0f && flip == 0);
}

/* eig_map against its Jacobi twin on seeded random inputs of awkward sizes
 * (both Gram sides: K <= hw and K > hw), three value scales, a shared
 * offset per channel (must not matter: the map is centred), repeatability
 * and independence from the work buffer's contents. */
static void test_eig_vs_ref(void **state)
{
    (void)state;
    static const int sizes[][2] = {{1, 2},  {1, 9},  {2, 2},   {2, 3},  {3, 2},   {7, 15},
                                   {13, 4}, {40, 20}, {5, 35}, {17, 17}, {64, 144}, {31, 6}};
    rng r = {424242};
    double worst = 0.0, worst_shift = 0.0;
    size_t cases = 0, flips = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int K = sizes[s][0], hw = sizes[s][1];
        float *a = xmalloc((size_t)K * hw * sizeof *a), *b = xmalloc((size_t)K * hw * sizeof *b);
        float *m1 = xmalloc((size_t)hw * sizeof *m1), *m2 = xmalloc((size_t)hw * sizeof *m2);
        float *m3 = xmalloc((size_t)hw * sizeof *m3), *ref = xmalloc((size_t)hw * sizeof *ref);
        double *want = xmalloc((size_t)hw * sizeof *want);
        for (int rep = 0; rep < 3; rep++) {
            double scale = rep == 0 ? 1.0 : rep == 1 ? 1e3 : 1e-20;
            for (int i = 0; i < K * hw; i++) /* non-negative like post-ReLU maps, a few zeros */
                a[i] = rng_unit(&r) < 0.2 ? 0.0f : (float)(rng_unit(&r) * scale);
            int f1 = -1, f2 = -1, f3 = -1;
            assert_int_equal(run_eig(m1, &f1, a, K, hw), 0);
            assert_int_equal(run_eig(m2, &f2, a, K, hw), 0);
            assert_int_equal(eig_map_ref(ref, a, K, hw), 0);
            assert_memory_equal(m1, m2, (size_t)hw * sizeof *m1); /* same bytes, any work */
            assert_int_equal(f1, f2);
            for (int c = 0; c < hw; c++)
                want[c] = ref[c];
            double e = eig_err(m1, want, hw);
            if (e > worst)
                worst = e;
            if (e > 1e-6)
                fail_msg("eigencam K=%d hw=%d scale %g: %.3g of the map's scale from the twin", K,
                         hw, scale, e);
            /* a per-channel offset leaves the centred matrix (up to float rounding) alone */
            for (int k = 0; k < K; k++)
                for (int c = 0; c < hw; c++)
                    b[k * hw + c] = a[k * hw + c] + (float)(0.25 * scale * (k % 3));
            assert_int_equal(run_eig(m3, &f3, b, K, hw), 0);
            double es = eig_err(m3, want, hw);
            if (es > worst_shift)
                worst_shift = es;
            assert_true(es <= 1e-5);
            flips += (size_t)f1;
            cases++;
        }
        free(a); free(b); free(m1); free(m2); free(m3); free(ref); free(want);
    }
    printf("eig_map vs Jacobi twin: %zu cases, worst %.3g of the map's scale; after a channel "
           "offset %.3g; %zu sign flips\n", cases, worst, worst_shift, flips);
}

/* The comparison catches a wrong map: the twin's answer for another input
 * (one channel's cells reversed). */
static void test_eig_compare_detects(void **state)
{
    (void)state;
    enum { K = 6, HW = 20 };
    rng r = {99};
    float a[K * HW], map[HW], ref[HW];
    double want[HW];
    for (int i = 0; i < K * HW; i++)
        a[i] = (float)rng_unit(&r);
    int flip;
    assert_int_equal(run_eig(map, &flip, a, K, HW), 0);
    for (int c = 0; c < HW / 2; c++) { /* reverse the cells of the strongest-varying channel */
        float t = a[c];
        a[c] = a[HW - 1 - c];
        a[HW - 1 - c] = t;
    }
    for (int k = 0; k < K; k++)
        a[k * HW] *= 4.0f;
    assert_int_equal(eig_map_ref(ref, a, K, HW), 0);
    for (int c = 0; c < HW; c++)
        want[c] = ref[c];
    double e = eig_err(map, want, HW);
    printf("eigencam compare, a changed input (deliberately wrong): %.3g of the scale\n", e);
    assert_true(e > 1e-3);
}

/* The Gram matrix by its definition, one entry at a time (the test's own
 * transcription of eig_gram's contract): K <= hw, entry (i, j) = rows i and
 * j's dot product as partial sums s_l over the cells c = l mod 4 (the cells
 * past the last whole group of four into s0), (s0 + s1) + (s2 + s3); K > hw,
 * entry (i, j) = sum over k = 0..K-1 in order. G: (n, n), both triangles. */
static void gram_literal(double *G, const double *X, int K, int hw)
{
    int n = K <= hw ? K : hw;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double e;
            if (K <= hw) {
                double s[4] = {0.0, 0.0, 0.0, 0.0};
                int c4 = hw - hw % 4;
                for (int c = 0; c < hw; c++) {
                    double p = X[(size_t)i * hw + c] * X[(size_t)j * hw + c];
                    s[c < c4 ? c % 4 : 0] += p;
                }
                e = (s[0] + s[1]) + (s[2] + s[3]);
            } else {
                e = 0.0;
                for (int k = 0; k < K; k++) {
                    double p = X[(size_t)k * hw + i] * X[(size_t)k * hw + j];
                    e += p;
                }
            }
            G[(size_t)j * n + i] = e;
        }
}

/* eig_gram, every path, against eig_gram_ref and the literal definition:
 * the same bits (memcmp, the whole matrix; G filled with NaN first so an
 * entry left unwritten shows) on awkward sizes, both sides, below, at and
 * above the tiles (2 x 2 and 4 x 4 portable, 4 x 2 and 8 x 4 AVX2), and the
 * study's (K = 64, 12x12; K = 512, 14x14). Values: signed, of mixed
 * magnitudes (sums that round), exact zeros and negative zeros. */
static void test_eig_gram_bits(void **state)
{
    (void)state;
    static const int sizes[][2] = {
        {1, 1},   {1, 2},   {2, 1},   {2, 2},  {3, 3},  {1, 7},   {7, 1},    {3, 7},
        {7, 3},   {7, 7},   {2, 9},   {9, 2},  {5, 13}, {13, 5},  {4, 4},    {8, 8},
        {9, 17},  {17, 9},  {31, 33}, {33, 31}, {3, 40}, {40, 3}, {11, 200}, {200, 11},
        {64, 144}, {512, 196}, {196, 512}};
    rng r = {777};
    size_t ncases = 0, npaths = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int K = sizes[s][0], hw = sizes[s][1], n = K <= hw ? K : hw;
        size_t nn = (size_t)n * n;
        double *X = xmalloc((size_t)K * hw * sizeof *X);
        double *want = xmalloc(nn * sizeof *want), *ref = xmalloc(nn * sizeof *ref);
        double *got = xmalloc(nn * sizeof *got);
        for (int i = 0; i < K * hw; i++) {
            double u = rng_unit(&r);
            X[i] = u < 0.1 ? 0.0 : u < 0.15 ? -0.0 : (rng_unit(&r) - 0.5) * exp(8.0 * rng_unit(&r));
        }
        gram_literal(want, X, K, hw);
        eig_gram_ref(ref, X, K, hw);
        if (memcmp(ref, want, nn * sizeof *ref) != 0)
            fail_msg("eig_gram_ref K=%d hw=%d: not the literal definition's bits", K, hw);
        const int isas[] = {EIG_ISA_SCALAR, EIG_ISA_AVX2, EIG_ISA_AUTO};
        for (size_t p = 0; p < 3; p++) {
            for (size_t i = 0; i < nn; i++)
                got[i] = NAN;
            int used = eig_gram(got, X, K, hw, isas[p]);
            if (used < 0) {
                assert_int_equal(isas[p], EIG_ISA_AVX2); /* only AVX2 may be missing */
                continue;
            }
            if (memcmp(got, want, nn * sizeof *got) != 0) {
                size_t bad = 0;
                for (size_t i = 0; i < nn; i++)
                    bad += memcmp(got + i, want + i, sizeof *got) != 0;
                fail_msg("eig_gram K=%d hw=%d path %d: %zu of %zu entries differ in bits", K, hw,
                         used, bad, nn);
            }
            npaths++;
        }
        ncases++;
        free(X); free(want); free(ref); free(got);
    }
    printf("eig_gram: %zu sizes, %zu path runs bit-identical to the literal loop (AVX2 %s)\n",
           ncases, npaths, eig_gram(NULL, NULL, 0, 0, EIG_ISA_AVX2) < 0 ? "absent" : "tested");
    /* deliberately wrong: the channel side as one plain sum per entry (another order) is
     * caught by the same bitwise comparison */
    enum { K = 24, HW = 100 };
    double *X = xmalloc((size_t)K * HW * sizeof *X), G[K * K], W[K * K];
    for (int i = 0; i < K * HW; i++)
        X[i] = (rng_unit(&r) - 0.5) * exp(8.0 * rng_unit(&r));
    assert_int_equal(eig_gram(G, X, K, HW, EIG_ISA_AUTO) > 0, 1);
    for (int j = 0; j < K; j++)
        for (int i = 0; i < K; i++) {
            double e = 0.0;
            for (int c = 0; c < HW; c++)
                e += X[i * HW + c] * X[j * HW + c];
            W[j * K + i] = e;
        }
    size_t differ = 0;
    for (int i = 0; i < K * K; i++)
        differ += memcmp(G + i, W + i, sizeof *G) != 0;
    printf("eig_gram vs one plain sum per entry (deliberately wrong order): %zu of %d entries "
           "differ in bits\n", differ, K * K);
    assert_true(differ > 0);
    free(X);
}

/* gradcam-elementwise by hand: the ReLU inside the sum is what differs from
 * hirescam and layercam. K = 2, hw = 3, per cell (G0 A0, G1 A1):
 * cell 0: G = (1, 1), A = (2, -3): hirescam ReLU(2 - 3) = 0, elementwise 2,
 *         layercam ReLU(2 - 3) = 0;
 * cell 1: G = (-1, 2), A = (-4, 1): products (4, 2): all three 6 (layercam 2);
 * cell 2: zeros: 0. */
static void test_elementwise_hand(void **state)
{
    (void)state;
    const float A[6] = {2, -4, 0, -3, 1, 0}, G[6] = {1, -1, 0, 1, 2, 0};
    float m[CAM_NMAPS * 3], mr[CAM_NMAPS * 3];
    double w[CAM_NW * 2], wr[CAM_NW * 2];
    double *work = xmalloc(cam_work_doubles(2, 3) * sizeof *work);
    cam_maps(m, w, A, G, NULL, 2, 3, work);
    cam_maps_ref(mr, wr, A, G, NULL, 2, 3);
    const float ew[3] = {2, 6, 0}, hr[3] = {0, 6, 0}, lc[3] = {0, 2, 0};
    for (int c = 0; c < 3; c++) {
        assert_true(m[CAM_ELEMENTWISE * 3 + c] == ew[c] && mr[CAM_ELEMENTWISE * 3 + c] == ew[c]);
        assert_true(m[CAM_HIRESCAM * 3 + c] == hr[c]);
        assert_true(m[CAM_LAYERCAM * 3 + c] == lc[c]);
        assert_true(m[CAM_EIGENCAM * 3 + c] == 0.0f && mr[CAM_EIGENCAM * 3 + c] == 0.0f);
    }
    /* only elementwise asked for: the same bits; deliberately wrong: it is not hirescam */
    float ms[CAM_NMAPS * 3];
    cam_maps_sel(ms, w, A, G, NULL, 2, 3, work, CAM_BIT(CAM_ELEMENTWISE));
    assert_memory_equal(ms + CAM_ELEMENTWISE * 3, m + CAM_ELEMENTWISE * 3, 3 * sizeof(float));
    assert_true(m[CAM_ELEMENTWISE * 3] != m[CAM_HIRESCAM * 3]);
    free(work);
}

/* ups_bilinear against the same arithmetic written out here, bytes equal:
 * this file is built for the baseline ISA, ups_bilinear also for AVX2
 * (chosen at run time), so a vector path that fused or reordered anything
 * would show. Sizes: up, down, 1 x 1, odd, primes. */
static void plain_ups(double *out, const float *in, int h, int w, int H, int W)
{
    double sx = (double)w / (double)W, sy = (double)h / (double)H;
    for (int Y = 0; Y < H; Y++) {
        double t = ((double)Y + 0.5) * sy - 0.5;
        if (t < 0.0) t = 0.0;
        int y0 = (int)floor(t), y1;
        double gy;
        if (y0 >= h - 1) { y0 = y1 = h - 1; gy = 0.0; } else { y1 = y0 + 1; gy = t - (double)y0; }
        for (int x = 0; x < W; x++) {
            double u = ((double)x + 0.5) * sx - 0.5;
            if (u < 0.0) u = 0.0;
            int x0 = (int)floor(u), x1;
            double fx;
            if (x0 >= w - 1) { x0 = x1 = w - 1; fx = 0.0; } else { x1 = x0 + 1; fx = u - (double)x0; }
            double r0 = (double)in[(size_t)y0 * w + x0] * (1.0 - fx) + (double)in[(size_t)y0 * w + x1] * fx;
            double r1 = (double)in[(size_t)y1 * w + x0] * (1.0 - fx) + (double)in[(size_t)y1 * w + x1] * fx;
            out[(size_t)Y * W + x] = r0 * (1.0 - gy) + r1 * gy;
        }
    }
}

static void test_ups_bytes(void **state)
{
    (void)state;
    static const int sz[][4] = {{14, 14, 224, 224}, {1, 1, 3, 5}, {7, 5, 97, 131}, {13, 17, 5, 3},
                                {12, 12, 224, 199}, {3, 2, 1, 1}, {14, 14, 14, 14}};
    rng r = {5};
    for (size_t c = 0; c < sizeof sz / sizeof *sz; c++) {
        int h = sz[c][0], w = sz[c][1], H = sz[c][2], W = sz[c][3];
        float *in = xmalloc((size_t)h * w * sizeof *in);
        double *a = xmalloc((size_t)H * W * sizeof *a), *b = xmalloc((size_t)H * W * sizeof *b);
        for (int i = 0; i < h * w; i++)
            in[i] = (float)((rng_unit(&r) - 0.3) * exp(20 * (rng_unit(&r) - 0.5)));
        run_ups(a, in, h, w, H, W);
        plain_ups(b, in, h, w, H, W);
        assert_memory_equal(a, b, (size_t)H * W * sizeof *a);
        free(in); free(a); free(b);
    }
}

/* ---------------------------------------------------------------- mapscan */

/* Every path of ms_scan against ms_scan_ref, bytes equal: sizes around the
 * 8-pixel blocks, ReLU'd maps with zero blocks, ties of the max and min in
 * several lanes, signed zeros, NaN (at 0 and elsewhere), infinities, masks
 * with values other than 1; and an upsampled map (the run's case). */
static void test_mapscan_paths(void **state)
{
    (void)state;
    static const size_t ns[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1001, 50176};
    rng r = {41};
    size_t nmax = 50176;
    double *m = xmalloc(nmax * sizeof *m);
    uint8_t *tm = xmalloc(nmax), *om = xmalloc(nmax);
    int cases = 0;
    for (size_t in = 0; in < sizeof ns / sizeof *ns; in++)
        for (int kind = 0; kind < 7; kind++) {
            size_t n = ns[in];
            for (size_t i = 0; i < n; i++) {
                double u = rng_unit(&r) * 2 - 1;
                if (kind == 1 && u < 0.2) u = 0;                   /* ReLU'd */
                if (kind == 2) u = (double)(int)(u * 3);           /* ties: -2..2 */
                if (kind == 3) u = rng_unit(&r) < 0.5 ? 0.0 : -0.0; /* signed zeros */
                if (kind == 4 && rng_unit(&r) < 0.1) u = NAN;
                if (kind == 5 && rng_unit(&r) < 0.02) u = rng_unit(&r) < 0.5 ? INFINITY : -INFINITY;
                if (kind == 6) u *= exp(40 * (rng_unit(&r) - 0.5));  /* rounding bites */
                m[i] = u;
                tm[i] = (uint8_t)(rng_unit(&r) < 0.3 ? 1 + (rng_next(&r) & 3) : 0);
                om[i] = (uint8_t)(rng_unit(&r) < 0.3 ? 1 : 0);
            }
            if (kind == 1) /* whole zero blocks */
                for (size_t i = 0; i < n; i++)
                    if ((i / 8) % 3 == 1) m[i] = 0.0;
            if (kind == 4 && n > 0 && in % 2) m[0] = NAN;
            ms_stats ref, got;
            ms_scan_ref(&ref, m, tm, om, n);
            for (int isa = SW_ISA_SCALAR; isa <= SW_ISA_AVX512; isa += 2) {
                int rc = ms_scan(&got, m, tm, om, n, isa);
                if (!sw_isa_supported(isa)) {
                    assert_int_equal(rc, -1);
                    continue;
                }
                assert_int_equal(rc, isa);
                assert_memory_equal(&got, &ref, sizeof got);
                cases++;
            }
        }
    /* the run's case: a ReLU'd 14 x 14 map upsampled to 224 x 224 */
    float f[196];
    for (int i = 0; i < 196; i++) {
        double u = rng_unit(&r) - 0.4;
        f[i] = (float)(u > 0 ? u : 0);
    }
    run_ups(m, f, 14, 14, 224, 224);
    ms_stats ref, got;
    ms_scan_ref(&ref, m, tm, om, 50176);
    assert_int_equal(ms_scan(&got, m, tm, om, 50176, SW_ISA_AUTO) > 0, 1);
    assert_memory_equal(&got, &ref, sizeof got);
    /* the comparison must catch a reassociated sum: eight interleaved
       partial sums of the same terms differ from the sequential one here */
    double part[8] = {0}, seq = 0, re = 0;
    for (size_t i = 0; i < 50176; i++) {
        double x = m[i] * exp(30 * (rng_unit(&r) - 0.5));
        seq += x;
        part[i % 8] += x;
    }
    for (int j = 0; j < 8; j++) re += part[j];
    assert_true(memcmp(&seq, &re, sizeof seq) != 0);
    assert_int_equal(ms_scan(&got, m, tm, om, 1, 99), -1);
    printf("    mapscan: %d cases bytewise equal to ms_scan_ref\n", cases);
    free(m); free(tm); free(om);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    const struct CMUnitTest ups[] = {
        cmocka_unit_test(test_ups_hand_2x2),
        cmocka_unit_test(test_ups_hand_edges),
        cmocka_unit_test(test_ups_vs_ref),
        cmocka_unit_test(test_ups_compare_detects),
        cmocka_unit_test(test_ups_bytes),
        cmocka_unit_test(test_mapscan_paths),
    };
    const struct CMUnitTest half[] = {
        cmocka_unit_test(test_half_all),
        cmocka_unit_test(test_half_known),
    };
    const struct CMUnitTest eig[] = {
        cmocka_unit_test(test_eig_hand),
        cmocka_unit_test(test_eig_degenerate),
        cmocka_unit_test(test_eig_vs_ref),
        cmocka_unit_test(test_eig_compare_detects),
        cmocka_unit_test(test_eig_gram_bits),
        cmocka_unit_test(test_elementwise_hand),
    };
    int fails = 0;
    fails += cmocka_run_group_tests_name("upsample", ups, NULL, NULL);
    fails += cmocka_run_group_tests_name("eigencam and gradcam-elementwise", eig, NULL, NULL);
    fails += cmocka_run_group_tests_name("half", half, NULL, NULL);
    return fails ? 1 : 0;
}
