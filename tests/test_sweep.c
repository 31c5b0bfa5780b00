/* test_sweep.c: cmocka tests of the threshold sweeps (kernels/sweep.c,
 * sweep_runs.c, sweep_norm.c).
 *
 * Every sweep is compared field by field, exactly (box, pixel count, both
 * IoUs bit for bit, component count), with the naive per-threshold flood
 * fill sw_sweep_ref, and the fast paths also with the previous version
 * (sw_sweep_pair on the normalised maps), on every level of maps chosen to
 * be awkward: ties and values exactly on the thresholds, plateaus of zeros,
 * saddles, NaN, 1-pixel and 1-row frames, frames wider than 256 pixels,
 * noise (many runs) and smooth upsampled maps (few runs), values whose
 * quotient underflows. Random inputs come from a fixed-seed splitmix64.
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

#include "kernels/sweep.h"
#include "kernels/upsample.h"
#include "sweeplib.h"

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


static void test_sw_keys_vs_ref(void **state)
{
    (void)state;
    rng r = {0x4b455953};
    const int nlevs[] = {1, 7, 100, 200, 255};
    sw_diff all = {0};
    size_t maps = 0, runs_taken = 0;
    for (size_t s = 0; s < sizeof key_sizes / sizeof key_sizes[0]; s++) {
        int H = key_sizes[s][0], W = key_sizes[s][1];
        size_t n = (size_t)H * (size_t)W;
        uint8_t *k = xmalloc(n);
        double *v = xmalloc(n * sizeof *v);
        for (size_t li = 0; li < sizeof nlevs / sizeof nlevs[0]; li++) {
            int nlev = nlevs[li];
            double thr[255];
            for (int j = 0; j < nlev; j++)
                thr[j] = j + 1;
            for (int kind = 0; kind < 4; kind++) {
                if (n > 20000 && nlev > 100 && kind == 0)
                    continue; /* the flood fill would take seconds */
                make_keys(k, H, W, nlev, kind, &r);
                for (size_t i = 0; i < n; i++)
                    v[i] = k[i];
                float gt[12];
                make_gt(gt, 3, H, W, &r);
                sw_level *ref = xmalloc(255 * sizeof *ref), *got = xmalloc(255 * sizeof *got);
                assert_int_equal(sw_sweep_ref(ref, v, H, W, thr, nlev, gt, 3), 0);
                char what[96];
                void *work = xmalloc(sw_keys_work_bytes(H, W, nlev));
                for (int path = SW_AUTO; path <= SW_PIXELS; path++) {
                    int used = sw_sweep_keys(got, k, H, W, nlev, gt, 3, path, work);
                    if (path == SW_RUNS && used < 0) /* past the quarter: allowed to refuse */
                        assert_true(sw_runs_count(k, H, W, NULL) > (int64_t)(n / 4));
                    else
                        assert_true(used == SW_RUNS || used == SW_PIXELS);
                    if (used < 0)
                        continue;
                    runs_taken += used == SW_RUNS;
                    snprintf(what, sizeof what, "keys %dx%d nlev %d kind %d path %d", H, W,
                             nlev, kind, path);
                    sw_compare(&all, got, ref, nlev, what);
                }
                free(work);
                /* the run path with room for every run, whatever the map */
                int64_t cap = sw_runs_count(k, H, W, NULL) + 1;
                work = xmalloc(sw_runs_work_bytes(H, W, cap));
                assert_int_equal(sw_runs(got, k, H, W, nlev, gt, 3, cap, work), 0);
                snprintf(what, sizeof what, "runs %dx%d nlev %d kind %d", H, W, nlev, kind);
                sw_compare(&all, got, ref, nlev, what);
                /* less room than runs: refused or right, never wrong */
                if (cap > 2 && sw_runs(got, k, H, W, nlev, gt, 3, cap / 2, work) == 0)
                    sw_compare(&all, got, ref, nlev, what);
                free(work);
                free(ref);
                free(got);
                maps++;
            }
        }
        free(k);
        free(v);
    }
    printf("sw_sweep_keys (both paths) and sw_runs vs ref on %zu level maps (%zu on the "
           "run path by choice):\n", maps, runs_taken);
    sw_print(&all, "  exact comparison");
    assert_true(all.bad == 0);
    assert_true(sw_keys_work_bytes(0, 4, 3) == 0);
    assert_true(sw_keys_work_bytes(4, 4, 256) == 0);
}

static void test_sw_norms_vs_ref(void **state)
{
    (void)state;
    rng r = {0x6e6f726d};
    static const int sizes[][2] = {{1, 2}, {2, 1}, {1, 300}, {3, 3}, {7, 13}, {2, 257},
                                   {37, 53}, {96, 96}, {12, 600}, {224, 224}};
    const char *kinds[NM_N] = {"relu", "signed", "quantised", "noise", "NaN", "underflow",
                               "plateau", "1e300"};
    double thr[100];
    for (int i = 0; i < 100; i++)
        thr[i] = i / 100.0;
    const double odd[9] = {-INFINITY, -1.0, 0.0, 0.3, 0.3, 0.3, 0.5, 0.999, 2.0};
    sw_diff vs_ref = {0}, vs_old = {0};
    size_t maps = 0, paths[4] = {0};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int H = sizes[s][0], W = sizes[s][1];
        size_t n = (size_t)H * (size_t)W;
        double *m = xmalloc(n * sizeof *m), *v1 = xmalloc(n * sizeof *v1);
        double *v2 = xmalloc(n * sizeof *v2);
        for (int kind = 0; kind < NM_N; kind++) {
            make_norm_map(m, H, W, kind, &r);
            double mx = m[0], mn = m[0];
            for (size_t i = 0; i < n; i++) {
                if (m[i] > mx) mx = m[i];
                if (m[i] < mn) mn = m[i];
            }
            if (!(mx > 0.0) || !(mx > mn))
                continue;
            double span = mx - mn;
            for (size_t i = 0; i < n; i++) {
                v1[i] = m[i] / mx;
                v2[i] = (m[i] - mn) / span;
            }
            float gt[12];
            make_gt(gt, 3, H, W, &r);
            for (int grid = 0; grid < 2; grid++) {
                const double *t2 = grid == 0 ? thr : odd;
                int n2 = grid == 0 ? 100 : 9;
                sw_level a1[100], a2[100], b1[100], b2[100], o1[100], o2[100];
                assert_int_equal(sw_sweep_ref(b1, v1, H, W, thr, 100, gt, 3), 0);
                assert_int_equal(sw_sweep_ref(b2, v2, H, W, t2, n2, gt, 3), 0);
                void *pw = xmalloc(sw_pair_work_bytes(H, W, 100, n2));
                sw_sweep_pair(o1, v1, thr, 100, o2, v2, t2, n2, H, W, gt, 3, pw);
                free(pw);
                void *work = xmalloc(sw_norms_work_bytes(H, W, 100, n2));
                for (int path = SW_AUTO; path <= SW_LANES; path++) {
                    int used = sw_sweep_norms(a1, thr, 100, a2, t2, n2, m, H, W, mx, mn, gt, 3,
                                              path, work);
                    if (used < 0 && path == SW_RUNS)
                        continue; /* more runs than the run path keeps room for */
                    assert_true(used == SW_RUNS || used == SW_PIXELS || used == SW_LANES);
                    paths[used]++;
                    char what[96];
                    snprintf(what, sizeof what, "norms %dx%d %s grid %d path %d", H, W,
                             kinds[kind], grid, path);
                    sw_compare(&vs_ref, a1, b1, 100, what);
                    sw_compare(&vs_ref, a2, b2, n2, what);
                    sw_compare(&vs_old, a1, o1, 100, what);
                    sw_compare(&vs_old, a2, o2, n2, what);
                }
                free(work);
            }
            maps++;
        }
        free(m);
        free(v1);
        free(v2);
    }
    printf("sw_sweep_norms on %zu maps, two grids, every path (%zu runs, %zu pixels, %zu "
           "lanes):\n", maps, paths[SW_RUNS], paths[SW_PIXELS], paths[SW_LANES]);
    sw_print(&vs_ref, "  against the naive twin");
    sw_print(&vs_old, "  against sw_sweep_pair");
    assert_true(vs_ref.bad == 0 && vs_old.bad == 0);
    assert_true(vs_ref.levels > 10000);
}

/* Where the premises fail, sw_sweep_norms refuses (the caller falls back). */
static void test_sw_norms_refuses(void **state)
{
    (void)state;
    double m[4] = {1.0, 0.5, 0.0, 0.25}, thr[100];
    for (int i = 0; i < 100; i++)
        thr[i] = i / 100.0;
    sw_level a[100], b[100];
    void *work = xmalloc(sw_norms_work_bytes(2, 2, 100, 100));
    assert_int_equal(sw_sweep_norms(a, thr, 100, b, thr, 100, m, 2, 2, 1.0, 1.0, NULL, 0,
                                    SW_AUTO, work), -1);              /* constant */
    assert_int_equal(sw_sweep_norms(a, thr, 100, b, thr, 100, m, 2, 2, 0.0, -1.0, NULL, 0,
                                    SW_AUTO, work), -1);              /* mx <= 0 */
    assert_int_equal(sw_sweep_norms(a, thr, 100, b, thr, 100, m, 2, 2, INFINITY, 0.0, NULL,
                                    0, SW_AUTO, work), -1);           /* infinite */
    assert_int_equal(sw_sweep_norms(a, thr, 100, b, thr, 100, m, 2, 2, 1e308, -1e308, NULL,
                                    0, SW_AUTO, work), -1);           /* span overflows */
    double desc[3] = {0.5, 0.2, 0.1};
    assert_int_equal(sw_sweep_norms(a, desc, 3, b, thr, 3, m, 2, 2, 1.0, 0.0, NULL, 0,
                                    SW_AUTO, work), -1);              /* not ascending */
    assert_true(sw_norms_work_bytes(2, 2, 200, 100) == 0);           /* > 255 cuts */
    int used = sw_sweep_norms(a, thr, 100, b, thr, 100, m, 2, 2, 1.0, 0.0, NULL, 0, SW_AUTO,
                              work);
    assert_true(used == SW_RUNS || used == SW_PIXELS);
    free(work);
}

/* The comparison can fail: thresholds one ulp above the grid put the
 * pixels that sit exactly on a threshold in the level below, and it says so. */
static void test_sw_norms_detects(void **state)
{
    (void)state;
    rng r = {5};
    int H = 40, W = 40;
    size_t n = (size_t)H * W;
    double *m = xmalloc(n * sizeof *m), *v1 = xmalloc(n * sizeof *v1);
    for (size_t i = 0; i < n; i++)
        m[i] = floor(rng_unit(&r) * 100.0) / 100.0; /* on the grid, and mx = 1 */
    m[0] = 1.0;
    double mx = m[0], mn = m[0];
    for (size_t i = 0; i < n; i++) {
        if (m[i] > mx) mx = m[i];
        if (m[i] < mn) mn = m[i];
    }
    for (size_t i = 0; i < n; i++)
        v1[i] = m[i] / mx;
    double thr[100], low[100];
    for (int i = 0; i < 100; i++) {
        thr[i] = i / 100.0;
        low[i] = nextafter(thr[i], INFINITY);
    }
    sw_level a1[100], a2[100], b1[100];
    void *work = xmalloc(sw_norms_work_bytes(H, W, 100, 100));
    assert_true(sw_sweep_norms(a1, low, 100, a2, low, 100, m, H, W, mx, mn, NULL, 0, SW_AUTO,
                               work) > 0);
    assert_int_equal(sw_sweep_ref(b1, v1, H, W, thr, 100, NULL, 0), 0);
    sw_diff d = {0};
    sw_compare(&d, a1, b1, 100, "deliberately shifted thresholds");
    assert_true(d.bad > 0);
    free(work);
    free(m);
    free(v1);
}

/* The level lookup on every instruction set the CPU has, against the scalar
 * loop, byte for byte: NaN, infinities, values on bin edges and outside the
 * range, lengths that are not a multiple of the vector width. */
static void test_sw_lookup_isas(void **state)
{
    (void)state;
    rng r = {0x15a};
    enum { NBINS = SW_LEVEL_BINS };
    int32_t *tab = xmalloc(NBINS * sizeof *tab);
    /* entries: levels (< 256), one-cut bins (256 + j: j + (m >= u[j])) and
       bins counted by the caller (512 on: 255) */
    for (int b = 0; b < NBINS; b++) {
        int32_t v = (int32_t)(rng_next(&r) % (b % 5 == 0 ? 444 : 256));
        tab[b] = b % 3 == 0 ? 256 + (int32_t)(rng_next(&r) % 255) /* j <= 254 */
                            : (v < 256 ? v : v + 256);            /* or 512..699 */
    }
    double ucut[255];
    for (int j = 0; j < 255; j++)
        ucut[j] = -0.75 + 2.5 * rng_unit(&r);
    const size_t lens[] = {0, 1, 7, 8, 9, 31, 1000, 50177};
    const int nbs[] = {NBINS, 4096, 1024, 1};
    double mn = -0.75;
    size_t compared = 0, saturated = 0, onecut[2] = {0, 0};
    int tested[4] = {0};
    for (size_t li = 0; li < 2 * sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li % (sizeof lens / sizeof lens[0])];
        int nb = nbs[(li / 8 + li) % 4]; /* each length with two bin counts */
        double c = nb / 2.5;
        double *m = xmalloc(n * sizeof *m);
        uint8_t *ref = xmalloc(n), *got = xmalloc(n);
        for (size_t i = 0; i < n; i++) {
            double u = rng_unit(&r);
            switch (rng_next(&r) % 8) {
            case 0: m[i] = NAN; break;
            case 1: m[i] = (rng_next(&r) & 1) ? INFINITY : -INFINITY; break;
            case 2: m[i] = mn + (double)(rng_next(&r) % (uint64_t)nb) / c; break; /* bin edges */
            case 3: m[i] = mn - u; break;                                  /* below */
            case 4: m[i] = mn + 2.5 + u; break;                            /* above */
            case 5: m[i] = mn; break;
            case 6: m[i] = ucut[rng_next(&r) % 255]; break; /* on a cut */
            default: m[i] = mn + 2.5 * u; break;
            }
        }
        assert_int_equal(sw_levels_lookup(ref, m, n, mn, c, tab, nb, ucut, SW_ISA_SCALAR),
                         SW_ISA_SCALAR);
        for (int isa = SW_ISA_AUTO; isa <= SW_ISA_AVX512; isa++) {
            if (!sw_isa_supported(isa)) {
                assert_int_equal(sw_levels_lookup(got, m, n, mn, c, tab, nb, ucut, isa), -1);
                continue;
            }
            int used = sw_levels_lookup(got, m, n, mn, c, tab, nb, ucut, isa);
            assert_true(used >= SW_ISA_SCALAR);
            tested[used] = 1;
            assert_memory_equal(got, ref, n);
            compared += n;
            for (size_t i = 0; i < n; i++) {
                double q = (m[i] - mn) * c;
                int want = q >= 0.0 && q < nb ? tab[(int)q] : 255;
                if (want >= 256 && want < 512) {
                    int j = want - 256, pass = m[i] >= ucut[j];
                    onecut[pass]++;
                    want = j + pass;
                }
                assert_int_equal(got[i], want > 255 ? 255 : want);
                saturated += want > 255;
            }
        }
        /* u = NULL: one-cut bins saturate to 255 too (left to the caller),
           the same bytes on every path */
        uint8_t *ref0 = xmalloc(n);
        assert_int_equal(sw_levels_lookup(ref0, m, n, mn, c, tab, nb, NULL, SW_ISA_SCALAR),
                         SW_ISA_SCALAR);
        for (size_t i = 0; i < n; i++) {
            double q = (m[i] - mn) * c;
            int want = q >= 0.0 && q < nb ? tab[(int)q] : 255;
            assert_int_equal(ref0[i], want > 255 ? 255 : want);
        }
        for (int isa = SW_ISA_AVX2; isa <= SW_ISA_AVX512; isa++) {
            if (!sw_isa_supported(isa))
                continue;
            assert_int_equal(sw_levels_lookup(got, m, n, mn, c, tab, nb, NULL, isa), isa);
            assert_memory_equal(got, ref0, n);
            compared += n;
        }
        free(ref0);
        /* the comparison can fail: a different table changes bytes */
        if (n > 100) {
            int32_t t0 = tab[0], t1 = tab[nb / 2];
            tab[0] = t0 < 256 ? t0 ^ 1 : 3;
            tab[nb / 2] = nb > 1 ? (t1 < 256 ? t1 ^ 1 : 3) : tab[0];
            sw_levels_lookup(got, m, n, mn, c, tab, nb, ucut, SW_ISA_AUTO);
            assert_true(memcmp(got, ref, n) != 0);
            tab[nb / 2] = t1;
            tab[0] = t0;
        }
        free(m);
        free(ref);
        free(got);
    }
    printf("level lookup: %zu values compared byte for byte (%zu saturated entries, one-cut "
           "bins %zu below and %zu at or above their cut); paths run: scalar %d, AVX2 %d, "
           "AVX-512 %d\n", compared, saturated, onecut[0], onecut[1], tested[SW_ISA_SCALAR],
           tested[SW_ISA_AVX2], tested[SW_ISA_AVX512]);
    assert_true(onecut[0] > 1000 && onecut[1] > 1000);
    uint8_t k1;
    double one = 0;
    assert_int_equal(sw_levels_lookup(&k1, &one, 1, 0.0, 1.0, tab, 0, ucut, SW_ISA_SCALAR), -1);
    assert_int_equal(sw_levels_lookup(&k1, &one, 1, 0.0, 1.0, tab, NBINS + 1, ucut, SW_ISA_SCALAR),
                     -1);
    free(tab);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    const struct CMUnitTest sweep[] = {
        cmocka_unit_test(test_sw_iou_hand),
        cmocka_unit_test(test_sw_plus),
        cmocka_unit_test(test_sw_diagonal),
        cmocka_unit_test(test_sw_tiebreak),
        cmocka_unit_test(test_sw_box_edges),
        cmocka_unit_test(test_sw_vs_ref),
        cmocka_unit_test(test_sw_pair_vs_ref),
        cmocka_unit_test(test_sw_odd_thresholds),
        cmocka_unit_test(test_sw_keys_vs_ref),
        cmocka_unit_test(test_sw_norms_vs_ref),
        cmocka_unit_test(test_sw_norms_refuses),
        cmocka_unit_test(test_sw_norms_detects),
        cmocka_unit_test(test_sw_lookup_isas),
    };
    return cmocka_run_group_tests_name("sweep", sweep, NULL, NULL) ? 1 : 0;
}
