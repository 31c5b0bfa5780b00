/* test_kernels.c: cmocka tests of kernels/upsample, kernels/sweep, kernels/half.
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

#include "../kernels/half.h"
#include "../kernels/sweep.h"
#include "../kernels/upsample.h"

/* ---------------------------------------------------------------- helpers */

typedef struct { uint64_t s; } rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

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

/* ups_bilinear into a fresh buffer of exactly ups_work_bytes() bytes. */
static void run_ups(double *out, const float *in, int h, int w, int H, int W)
{
    size_t wb = ups_work_bytes(h, w, H, W);
    assert_true(wb > 0);
    void *work = xmalloc(wb);
    ups_bilinear(out, in, h, w, H, W, work);
    free(work);
}

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

/* ---------------------------------------------------------------- sweep */

/* sw_sweep into a fresh buffer of exactly sw_work_bytes() bytes. */
static void run_sweep(sw_level *out, const double *v, int H, int W, const double *thr,
                      int nthr, const float *gt, int ngt)
{
    size_t wb = sw_work_bytes(H, W, nthr);
    assert_true(wb > 0);
    void *work = xmalloc(wb);
    sw_sweep(out, v, H, W, thr, nthr, gt, ngt, work);
    free(work);
}

static int box_eq(const sw_box *a, const sw_box *b)
{
    return a->x0 == b->x0 && a->y0 == b->y0 && a->x1 == b->x1 && a->y1 == b->y1;
}

typedef struct {
    size_t levels, bad;                     /* levels compared, levels differing */
    double d_iou_largest, d_iou_any;        /* worst |difference| */
    int64_t d_n, d_ncomp;                   /* worst |difference| */
    size_t d_box;                           /* levels whose boxes differ */
} sw_diff;

/* Compare n levels exactly, accumulating into *d; prints the first mismatch. */
static void sw_compare(sw_diff *d, const sw_level *a, const sw_level *ref, int n,
                       const char *what)
{
    for (int i = 0; i < n; i++) {
        const sw_level *x = &a[i], *y = &ref[i];
        double di = fabs(x->iou_largest - y->iou_largest), da = fabs(x->iou_any - y->iou_any);
        int64_t dn = llabs(x->largest_n - y->largest_n);
        int64_t dc = llabs((int64_t)x->ncomp - (int64_t)y->ncomp);
        int boxes = box_eq(&x->largest, &y->largest);
        if (di > d->d_iou_largest) d->d_iou_largest = di;
        if (da > d->d_iou_any) d->d_iou_any = da;
        if (dn > d->d_n) d->d_n = dn;
        if (dc > d->d_ncomp) d->d_ncomp = dc;
        if (!boxes) d->d_box++;
        int same = boxes && x->largest_n == y->largest_n && x->ncomp == y->ncomp &&
                   x->iou_largest == y->iou_largest && x->iou_any == y->iou_any;
        if (!same && d->bad++ == 0)
            printf("  first mismatch (%s, level %d): got box {%d,%d,%d,%d} n=%lld ncomp=%d "
                   "iou=%.17g any=%.17g; ref box {%d,%d,%d,%d} n=%lld ncomp=%d iou=%.17g "
                   "any=%.17g\n",
                   what, i, x->largest.x0, x->largest.y0, x->largest.x1, x->largest.y1,
                   (long long)x->largest_n, x->ncomp, x->iou_largest, x->iou_any,
                   y->largest.x0, y->largest.y0, y->largest.x1, y->largest.y1,
                   (long long)y->largest_n, y->ncomp, y->iou_largest, y->iou_any);
        d->levels++;
    }
}

static void sw_print(const sw_diff *d, const char *what)
{
    printf("%s: %zu levels, %zu differ; worst |d iou_largest| = %.3g, |d iou_any| = %.3g, "
           "|d n| = %lld, |d ncomp| = %lld, boxes differing = %zu\n",
           what, d->levels, d->bad, d->d_iou_largest, d->d_iou_any, (long long)d->d_n,
           (long long)d->d_ncomp, d->d_box);
}

/* Single threshold, one run of each; returns out[0] of the fast kernel and
 * checks the twin agrees. */
static sw_level sweep1(const double *v, int H, int W, double t, const float *gt, int ngt)
{
    sw_level a, b;
    run_sweep(&a, v, H, W, &t, 1, gt, ngt);
    assert_int_equal(sw_sweep_ref(&b, v, H, W, &t, 1, gt, ngt), 0);
    sw_diff d = {0};
    sw_compare(&d, &a, &b, 1, "hand");
    assert_true(d.bad == 0);
    return a;
}

static void test_sw_iou_hand(void **state)
{
    (void)state;
    const sw_box b = {0, 0, 4, 4}, empty = {0, 0, 0, 0};
    const float g1[4] = {2, 2, 6, 6};          /* inter 4, union 16 + 16 - 4 = 28 */
    const float g2[4] = {0.5f, 0, 4, 4};       /* inter 14, union 16 + 14 - 14 = 16 */
    const float g3[4] = {10, 10, 12, 12};      /* disjoint */
    const float g4[4] = {1, 1, 1, 1};          /* zero area: inter 0 */
    const float g5[4] = {0, 0, 4, 4};
    assert_true(sw_iou(&b, g1) == 4.0 / 28.0);
    assert_true(sw_iou(&b, g2) == 0.875);
    assert_true(sw_iou(&b, g3) == 0.0);
    assert_true(sw_iou(&b, g4) == 0.0);
    assert_true(sw_iou(&b, g5) == 1.0);
    assert_true(sw_iou(&empty, g5) == 0.0);
    assert_true(sw_iou(&empty, g4) == 0.0);
}

/* A plus-shaped blob in 5x5. */
static void test_sw_plus(void **state)
{
    (void)state;
    double v[25] = {0};
    const int plus[5][2] = {{2, 1}, {1, 2}, {2, 2}, {3, 2}, {2, 3}}; /* (x, y) */
    for (int k = 0; k < 5; k++)
        v[plus[k][1] * 5 + plus[k][0]] = 1.0;
    const float gt[4] = {1, 1, 4, 4};
    const double thr[2] = {0.0, 0.5};
    sw_level o[2];
    run_sweep(o, v, 5, 5, thr, 2, gt, 1);
    /* t = 0.5: the plus; box columns 1..3, rows 1..3 -> {1, 1, 4, 4} */
    assert_int_equal(o[1].ncomp, 1);
    assert_int_equal(o[1].largest_n, 5);
    assert_int_equal(o[1].largest.x0, 1);
    assert_int_equal(o[1].largest.y0, 1);
    assert_int_equal(o[1].largest.x1, 4);
    assert_int_equal(o[1].largest.y1, 4);
    assert_true(o[1].iou_largest == 1.0 && o[1].iou_any == 1.0);
    /* t = 0: every pixel, the whole frame; IoU 9 / 25 */
    assert_int_equal(o[0].ncomp, 1);
    assert_int_equal(o[0].largest_n, 25);
    assert_true(box_eq(&o[0].largest, &(sw_box){0, 0, 5, 5}));
    assert_true(o[0].iou_largest == 9.0 / 25.0);
    sw_level r[2];
    assert_int_equal(sw_sweep_ref(r, v, 5, 5, thr, 2, gt, 1), 0);
    sw_diff d = {0};
    sw_compare(&d, o, r, 2, "plus");
    assert_true(d.bad == 0);
}

/* Components with 4-connectivity, the deliberately wrong labelling. */
static int count4(const double *v, int H, int W, double t)
{
    int *lab = xmalloc((size_t)H * (size_t)W * sizeof *lab), *st = xmalloc((size_t)H * (size_t)W * sizeof *st);
    memset(lab, 0, (size_t)H * (size_t)W * sizeof *lab);
    int nc = 0;
    for (int s = 0; s < H * W; s++) {
        if (lab[s] || !(v[s] >= t))
            continue;
        nc++;
        int sp = 0;
        st[sp++] = s;
        lab[s] = nc;
        while (sp > 0) {
            int p = st[--sp], y = p / W, x = p % W;
            const int nb[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
            for (int k = 0; k < 4; k++) {
                int yy = y + nb[k][0], xx = x + nb[k][1];
                if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                    continue;
                int q = yy * W + xx;
                if (!lab[q] && v[q] >= t) {
                    lab[q] = nc;
                    st[sp++] = q;
                }
            }
        }
    }
    free(lab);
    free(st);
    return nc;
}

/* Diagonal-touching pixels are one component under 8-connectivity; both
 * diagonals, so every neighbour offset is exercised. A 4-connected labelling
 * must disagree, and the level comparison must notice a corrupted level. */
static void test_sw_diagonal(void **state)
{
    (void)state;
    const double main_d[4] = {1, 0, 0, 1}, anti_d[4] = {0, 1, 1, 0};
    sw_level a = sweep1(main_d, 2, 2, 0.5, NULL, 0);
    sw_level b = sweep1(anti_d, 2, 2, 0.5, NULL, 0);
    assert_int_equal(a.ncomp, 1);
    assert_int_equal(a.largest_n, 2);
    assert_true(box_eq(&a.largest, &(sw_box){0, 0, 2, 2}));
    assert_int_equal(b.ncomp, 1);
    assert_int_equal(b.largest_n, 2);
    assert_true(box_eq(&b.largest, &(sw_box){0, 0, 2, 2}));

    /* a 3x3 staircase (0,0), (1,1), (2,2) plus (0,2), (2,0): one X-shaped component */
    const double x3[9] = {1, 0, 1, 0, 1, 0, 1, 0, 1};
    sw_level c = sweep1(x3, 3, 3, 0.5, NULL, 0);
    assert_int_equal(c.ncomp, 1);
    assert_int_equal(c.largest_n, 5);

    /* deliberately wrong: 4-connectivity gives 2 and 5 components */
    int n4a = count4(main_d, 2, 2, 0.5), n4c = count4(x3, 3, 3, 0.5);
    printf("diagonal: 8-connected %d and %d components, 4-connected %d and %d\n", a.ncomp,
           c.ncomp, n4a, n4c);
    assert_int_not_equal(n4a, a.ncomp);
    assert_int_not_equal(n4c, c.ncomp);

    /* and a wrong level (one pixel short) must fail the exact comparison */
    sw_level wrong = c;
    wrong.largest_n--;
    sw_diff d = {0};
    sw_compare(&d, &wrong, &c, 1, "deliberately wrong");
    assert_true(d.bad == 1 && d.d_n == 1);
}

/* Equal sizes: the component whose first pixel (row-major) comes first wins,
 * even when the other one was formed at a higher threshold. */
static void test_sw_tiebreak(void **state)
{
    (void)state;
    /* 3x5: A = row 0, cols 3-4 (value 0.6, first pixel 3);
     *      B = row 2, cols 0-1 (value 0.9, first pixel 10). */
    double v[15] = {0};
    v[3] = v[4] = 0.6;
    v[10] = v[11] = 0.9;
    const double thr[2] = {0.5, 0.8};
    sw_level o[2];
    run_sweep(o, v, 3, 5, thr, 2, NULL, 0);
    assert_int_equal(o[1].ncomp, 1);
    assert_true(box_eq(&o[1].largest, &(sw_box){0, 2, 2, 3}));   /* only B */
    assert_int_equal(o[0].ncomp, 2);
    assert_int_equal(o[0].largest_n, 2);
    assert_true(box_eq(&o[0].largest, &(sw_box){3, 0, 5, 1}));   /* tie -> A */

    /* first pixel, not box corner: C = (x4,y0),(x3,y1), first pixel 4;
     * D = (x0,y1),(x1,y1), first pixel 5, its box further left and no higher. */
    double w[15] = {0};
    w[4] = w[8] = 1.0;  /* C */
    w[5] = w[6] = 1.0;  /* D: (x0,y1), (x1,y1) */
    sw_level e = sweep1(w, 3, 5, 0.5, NULL, 0);
    assert_int_equal(e.ncomp, 2);
    assert_true(box_eq(&e.largest, &(sw_box){3, 0, 5, 2}));

    /* a NaN splits a row into two equal halves; NaN never passes, even at -inf */
    const double r5[5] = {1, 1, NAN, 1, 1};
    sw_level f = sweep1(r5, 1, 5, 0.5, NULL, 0);
    assert_int_equal(f.ncomp, 2);
    assert_true(box_eq(&f.largest, &(sw_box){0, 0, 2, 1}));
    const double nan4[4] = {NAN, NAN, NAN, NAN};
    sw_level g = sweep1(nan4, 2, 2, -INFINITY, NULL, 0);
    assert_int_equal(g.ncomp, 0);
    assert_int_equal(g.largest_n, 0);
    assert_true(box_eq(&g.largest, &(sw_box){0, 0, 0, 0}));
    assert_true(g.iou_largest == 0.0 && g.iou_any == 0.0);
}

/* A 10x10 block at columns/rows 0..9 of a 12x12 map: box {0, 0, 10, 10}. */
static void test_sw_box_edges(void **state)
{
    (void)state;
    double v[144] = {0};
    for (int y = 0; y < 10; y++)
        for (int x = 0; x < 10; x++)
            v[y * 12 + x] = 1.0;
    const float gt1[4] = {0, 0, 10, 10};
    const float gt3[12] = {0, 0, 5, 10, 5, 0, 15, 10, 0, 0, 10, 10};
    sw_level o = sweep1(v, 12, 12, 0.5, gt1, 1);
    assert_true(box_eq(&o.largest, &(sw_box){0, 0, 10, 10}));
    assert_int_equal(o.largest_n, 100);
    assert_true(o.iou_largest == 1.0 && o.iou_any == 1.0);
    sw_level h = sweep1(v, 12, 12, 0.5, gt3, 2); /* halves: 0.5 and 50/150 */
    assert_true(h.iou_largest == 0.5);
    const float gt_third[4] = {5, 0, 15, 10};
    assert_true(sw_iou(&o.largest, gt_third) == 1.0 / 3.0);
    assert_true(sweep1(v, 12, 12, 0.5, gt3, 3).iou_largest == 1.0);
    /* no gt: IoUs are 0 */
    sw_level z = sweep1(v, 12, 12, 0.5, NULL, 0);
    assert_true(z.iou_largest == 0.0 && z.iou_any == 0.0);

    /* iou_any sees a small component the largest one misses */
    double u[144] = {0};
    for (int y = 6; y < 10; y++)
        for (int x = 6; x < 10; x++)
            u[y * 12 + x] = 1.0;
    u[0] = u[1] = u[12] = u[13] = 1.0;
    const float g2[4] = {0, 0, 2, 2};
    sw_level a = sweep1(u, 12, 12, 0.5, g2, 1);
    assert_int_equal(a.ncomp, 2);
    assert_int_equal(a.largest_n, 16);
    assert_true(a.iou_largest == 0.0 && a.iou_any == 1.0);

    /* isolated dots on even rows and columns: the most components a frame can
     * hold, ceil(H/2) * ceil(W/2); fills the live table exactly */
    double dots[7 * 13] = {0};
    for (int y = 0; y < 7; y += 2)
        for (int x = 0; x < 13; x += 2)
            dots[y * 13 + x] = 1.0;
    assert_int_equal(sweep1(dots, 7, 13, 0.5, NULL, 0).ncomp, 4 * 7);

    assert_true(sw_work_bytes(0, 5, 3) == 0);
    assert_true(sw_work_bytes(5, 5, -1) == 0);
    assert_true(sw_work_bytes(65536, 65536, 100) == 0);
}

/* Random gt boxes inside (and sometimes past) the frame; half on integers. */
static void make_gt(float *gt, int ngt, int H, int W, rng *r)
{
    for (int j = 0; j < ngt; j++) {
        double x0 = rng_unit(r) * W * 0.8, y0 = rng_unit(r) * H * 0.8;
        double x1 = x0 + (0.05 + rng_unit(r)) * (W - x0);
        double y1 = y0 + (0.05 + rng_unit(r)) * (H - y0);
        if (rng_next(r) & 1) {
            x0 = floor(x0); y0 = floor(y0); x1 = ceil(x1); y1 = ceil(y1);
        }
        gt[4 * j + 0] = (float)x0;
        gt[4 * j + 1] = (float)y0;
        gt[4 * j + 2] = (float)x1;
        gt[4 * j + 3] = (float)y1;
    }
}

enum { MAP_NOISE, MAP_SMOOTH, MAP_QUANT, MAP_SPARSE, MAP_NKIND };

/* A random (H, W) map of the given kind. */
static void make_map(double *v, int H, int W, int kind, rng *r)
{
    size_t n = (size_t)H * (size_t)W;
    if (kind == MAP_SMOOTH) {
        /* a bilinear-upsampled random 7x7: large, blob-shaped components */
        float small[49];
        for (int i = 0; i < 49; i++)
            small[i] = (float)rng_unit(r);
        run_ups(v, small, 7, 7, H, W);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double u = rng_unit(r);
        if (kind == MAP_NOISE)
            v[i] = u;
        else if (kind == MAP_QUANT)  /* exactly on the thresholds i / 100.0 */
            v[i] = floor(u * 100.0) / 100.0;
        else                          /* mostly low, some NaN and negatives */
            v[i] = u < 0.02 ? NAN : u < 0.1 ? -u : u < 0.7 ? u * 0.2 : u;
    }
}

static const int sw_sizes[][2] = {
    {1, 1}, {1, 17}, {17, 1}, {2, 2}, {3, 3}, {7, 13}, {13, 7}, {31, 64}, {96, 96}, {224, 224},
};

/* sw_sweep against the naive twin, exactly, on many random maps. */
static void test_sw_vs_ref(void **state)
{
    (void)state;
    rng r = {0x5eed};
    double thr100[100];
    for (int i = 0; i < 100; i++)
        thr100[i] = i / 100.0;
    const char *kinds[MAP_NKIND] = {"noise", "smooth", "quantised", "sparse+NaN"};
    sw_diff all = {0};
    size_t maps = 0;
    for (size_t s = 0; s < sizeof sw_sizes / sizeof sw_sizes[0]; s++) {
        int H = sw_sizes[s][0], W = sw_sizes[s][1];
        size_t n = (size_t)H * (size_t)W;
        double *v = xmalloc(n * sizeof *v);
        for (int kind = 0; kind < MAP_NKIND; kind++) {
            int reps = n < 10000 ? 3 : 1;
            for (int rep = 0; rep < reps; rep++) {
                make_map(v, H, W, kind, &r);
                maps++;
                for (int ngt = 0; ngt <= 3; ngt += (ngt == 0 ? 1 : 2)) {
                    float gt[12];
                    make_gt(gt, ngt, H, W, &r);
                    char what[96];
                    snprintf(what, sizeof what, "%dx%d %s ngt=%d", H, W, kinds[kind], ngt);
                    sw_level a[100], b[100];
                    run_sweep(a, v, H, W, thr100, 100, gt, ngt);
                    assert_int_equal(sw_sweep_ref(b, v, H, W, thr100, 100, gt, ngt), 0);
                    sw_compare(&all, a, b, 100, what);
                    /* one threshold: the 0.15 default and a random one */
                    double t1[2] = {0.15, rng_unit(&r)};
                    for (int k = 0; k < 2; k++) {
                        run_sweep(a, v, H, W, &t1[k], 1, gt, ngt);
                        assert_int_equal(sw_sweep_ref(b, v, H, W, &t1[k], 1, gt, ngt), 0);
                        sw_compare(&all, a, b, 1, what);
                    }
                }
            }
        }
        free(v);
    }
    printf("sw_sweep vs ref on %zu random maps:\n", maps);
    sw_print(&all, "  exact comparison");
    assert_true(all.bad == 0);
}

/* sw_sweep_pair: the two normalisations of one map in one pass, against two
 * naive sweeps, exactly; also with two different (odd) grids. */
static void test_sw_pair_vs_ref(void **state)
{
    (void)state;
    rng r = {0xba1};
    double thr100[100];
    for (int i = 0; i < 100; i++)
        thr100[i] = i / 100.0;
    const double odd[9] = {-INFINITY, -1.0, 0.0, 0.3, 0.3, 0.3, 0.5, 0.999, 2.0};
    sw_diff all = {0};
    size_t maps = 0;
    for (size_t s = 0; s < sizeof sw_sizes / sizeof sw_sizes[0]; s++) {
        int H = sw_sizes[s][0], W = sw_sizes[s][1];
        size_t n = (size_t)H * (size_t)W;
        double *m = xmalloc(n * sizeof *m), *v1 = xmalloc(n * sizeof *v1);
        double *v2 = xmalloc(n * sizeof *v2);
        for (int kind = 0; kind < MAP_NKIND; kind++) {
            int reps = n < 10000 ? 3 : 1;
            for (int rep = 0; rep < reps; rep++) {
                make_map(m, H, W, kind, &r);
                double mx = -INFINITY, mn = INFINITY;
                for (size_t i = 0; i < n; i++) {
                    if (isnan(m[i])) m[i] = -0.5; /* loc's maps are finite */
                    if (kind == MAP_SPARSE) m[i] -= 0.3; /* negative values too */
                    if (m[i] > mx) mx = m[i];
                    if (m[i] < mn) mn = m[i];
                }
                double span = mx > mn ? mx - mn : 1.0, den = mx > 0 ? mx : 1.0;
                for (size_t i = 0; i < n; i++) {
                    v1[i] = m[i] / den;
                    v2[i] = (m[i] - mn) / span;
                }
                maps++;
                float gt[12];
                make_gt(gt, 3, H, W, &r);
                for (int grid = 0; grid < 2; grid++) {
                    const double *t2 = grid == 0 ? thr100 : odd;
                    int n2 = grid == 0 ? 100 : 9;
                    size_t wb = sw_pair_work_bytes(H, W, 100, n2);
                    void *work = xmalloc(wb);
                    sw_level a1[100], a2[100], b1[100], b2[100];
                    sw_sweep_pair(a1, v1, thr100, 100, a2, v2, t2, n2, H, W, gt, 3, work);
                    assert_int_equal(sw_sweep_ref(b1, v1, H, W, thr100, 100, gt, 3), 0);
                    assert_int_equal(sw_sweep_ref(b2, v2, H, W, t2, n2, gt, 3), 0);
                    char what[96];
                    snprintf(what, sizeof what, "pair %dx%d kind %d grid %d", H, W, kind, grid);
                    sw_compare(&all, a1, b1, 100, what);
                    sw_compare(&all, a2, b2, n2, what);
                    free(work);
                }
            }
        }
        free(m);
        free(v1);
        free(v2);
    }
    printf("sw_sweep_pair vs two naive sweeps on %zu random maps:\n", maps);
    sw_print(&all, "  exact comparison");
    assert_true(all.bad == 0);
    assert_true(sw_pair_work_bytes(0, 5, 3, 3) == 0);
    assert_true(sw_pair_work_bytes(5, 5, 0, 3) == 0);
}

/* Uneven thresholds: duplicates, below everything, above everything. */
static void test_sw_odd_thresholds(void **state)
{
    (void)state;
    rng r = {99};
    const double thr[9] = {-INFINITY, -1.0, 0.0, 0.3, 0.3, 0.3, 0.5, 0.999, 2.0};
    sw_diff d = {0};
    for (int rep = 0; rep < 20; rep++) {
        int H = 1 + (int)(rng_next(&r) % 40), W = 1 + (int)(rng_next(&r) % 40);
        double *v = xmalloc((size_t)H * (size_t)W * sizeof *v);
        make_map(v, H, W, rep % MAP_NKIND, &r);
        float gt[12];
        make_gt(gt, 3, H, W, &r);
        sw_level a[9], b[9];
        run_sweep(a, v, H, W, thr, 9, gt, 3);
        assert_int_equal(sw_sweep_ref(b, v, H, W, thr, 9, gt, 3), 0);
        sw_compare(&d, a, b, 9, "odd thresholds");
        assert_int_equal(a[8].ncomp, 0); /* nothing reaches 2.0 */
        free(v);
    }
    sw_print(&d, "sw_sweep odd thresholds");
    assert_true(d.bad == 0);
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

/* ---------------------------------------------------------------- main */

int main(void)
{
    const struct CMUnitTest ups[] = {
        cmocka_unit_test(test_ups_hand_2x2),
        cmocka_unit_test(test_ups_hand_edges),
        cmocka_unit_test(test_ups_vs_ref),
        cmocka_unit_test(test_ups_compare_detects),
    };
    const struct CMUnitTest sweep[] = {
        cmocka_unit_test(test_sw_iou_hand),
        cmocka_unit_test(test_sw_plus),
        cmocka_unit_test(test_sw_diagonal),
        cmocka_unit_test(test_sw_tiebreak),
        cmocka_unit_test(test_sw_box_edges),
        cmocka_unit_test(test_sw_vs_ref),
        cmocka_unit_test(test_sw_pair_vs_ref),
        cmocka_unit_test(test_sw_odd_thresholds),
    };
    const struct CMUnitTest half[] = {
        cmocka_unit_test(test_half_all),
        cmocka_unit_test(test_half_known),
    };
    int fails = 0;
    fails += cmocka_run_group_tests_name("upsample", ups, NULL, NULL);
    fails += cmocka_run_group_tests_name("sweep", sweep, NULL, NULL);
    fails += cmocka_run_group_tests_name("half", half, NULL, NULL);
    return fails ? 1 : 0;
}
