/* test_sweep_lanes.c: cmocka tests of the lane sweep (kernels/sweep_lanes.c),
 * the engine's path for both norms; the helpers are tests/sweeplib.h's, the
 * other sweeps' tests tests/test_sweep.c.
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

/* ------------------------------------------------- the lanes sweep (sweep_lanes.c) */

/* Key map kinds beyond make_keys: 4 one hump a row (a smooth bump, every
 * row simple), 5 rows alternating between one hump and two (simple and
 * general rows next to each other), 6 a ReLU bump (zeros around, a plateau
 * of the top level), 7 a coarse random map upsampled by a scale that is not
 * an integer, with wide plateaus; 8 columns of stripes (no run touches the
 * one above at some levels); 9 rows of several humps over a raised floor
 * whose valleys change height from row to row (levels below a row's lowest
 * valley are single runs under the multi-run ones: the low vector range). */
static void make_keys2(uint8_t *k, int H, int W, int nlev, int kind, rng *r)
{
    size_t n = (size_t)H * (size_t)W;
    if (kind < 4) {
        make_keys(k, H, W, nlev, kind, r);
        return;
    }
    double cx = rng_unit(r) * W, cy = rng_unit(r) * H;
    double sx = 0.2 + W * rng_unit(r), sy = 0.2 + H * rng_unit(r);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double dx = (x - cx) / sx, dy = (y - cy) / sy, v;
            size_t i = (size_t)y * W + x;
            switch (kind) {
            case 4: v = exp(-(dx * dx + dy * dy)); break;
            case 5: v = (y & 1) ? exp(-dx * dx) * fabs(sin(x * 0.05 + y)) : exp(-dx * dx); break;
            case 6: v = 1.3 - (dx * dx + dy * dy); v = v < 0 ? 0 : (v > 1 ? 1 : v); break;
            case 8: v = ((x / 3 + y / 5) % 4 == 0) ? 0.9 : ((x + y) % 7 == 0 ? 0.5 : 0.0); break;
            case 9:
                v = 0.2 + 0.3 * dy * dy / (1 + dy * dy) +
                    0.25 * (1 + sin(x * 0.7 / sx * 6 + y * 0.3)) * (0.6 + 0.4 * cos(y * 0.21));
                break;
            default: v = 0; break;
            }
            k[i] = (uint8_t)(v * nlev >= nlev ? nlev : v * nlev);
        }
    if (kind == 7) {
        int h = 2 + (int)(rng_next(r) % 11), w = 2 + (int)(rng_next(r) % 11);
        float *small = xmalloc((size_t)h * w * sizeof *small);
        for (int i = 0; i < h * w; i++)
            small[i] = (float)(rng_unit(r) - 0.3);
        double *v = xmalloc(n * sizeof *v);
        run_ups(v, small, h, w, H, W);
        for (size_t i = 0; i < n; i++) {
            double q = v[i] < 0 ? 0 : v[i] * (nlev + 1);
            k[i] = (uint8_t)(q > nlev ? nlev : q);
        }
        free(v);
        free(small);
    }
}

/* sw_lanes on every ISA the CPU has against sw_runs (room for every run)
 * and, where it is affordable, the naive flood fill; then through
 * sw_sweep_keys(SW_LANES). */
static void test_sw_lanes_vs_ref(void **state)
{
    (void)state;
    rng r = {0x6c616e65};
    static const int sizes[][2] = {{1, 1}, {1, 2}, {2, 1}, {1, 300}, {300, 1}, {2, 2}, {3, 3},
                                   {7, 13}, {3, 257}, {31, 64}, {96, 96}, {5, 700},
                                   {224, 224}, {61, 299}, {4, 63}, {9, 129}, {17, 128}};
    const int nlevs[] = {1, 2, 7, 100, 200, 255};
    sw_diff vs_ref = {0}, vs_runs = {0}, vs_scalar = {0};
    size_t maps = 0, refused = 0, isas[4] = {0}, raised = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int H = sizes[s][0], W = sizes[s][1];
        size_t n = (size_t)H * (size_t)W;
        uint8_t *k = xmalloc(n);
        double *v = xmalloc(n * sizeof *v);
        for (size_t li = 0; li < sizeof nlevs / sizeof nlevs[0]; li++) {
            int nlev = nlevs[li];
            double thr[255];
            for (int j = 0; j < nlev; j++)
                thr[j] = j + 1;
            for (int kind = 0; kind < 10; kind++) {
                make_keys2(k, H, W, nlev, kind, &r);
                if (kind == 9) { /* rows with single runs under multi-run levels */
                    uint8_t *pm = xmalloc((size_t)W);
                    for (int y = 0; y < H; y++) {
                        int low = 0;
                        sw_two_run_level(k + (size_t)y * W, W, pm, SW_ISA_SCALAR, &low);
                        raised += low > 1;
                    }
                    free(pm);
                }
                float gt[12];
                make_gt(gt, 3, H, W, &r);
                sw_level ref[255], got[255], runs[255], scal[255];
                int64_t cap = sw_runs_count(k, H, W, NULL) + 1;
                void *rw = xmalloc(sw_runs_work_bytes(H, W, cap));
                assert_int_equal(sw_runs(runs, k, H, W, nlev, gt, 3, cap, rw), 0);
                free(rw);
                int with_ref = n * (size_t)nlev <= 3000000;
                if (with_ref) {
                    for (size_t i = 0; i < n; i++)
                        v[i] = k[i];
                    assert_int_equal(sw_sweep_ref(ref, v, H, W, thr, nlev, gt, 3), 0);
                }
                void *work = xmalloc(sw_lanes_work_bytes(H, W, nlev));
                char what[96];
                int scal_ok = 0;
                for (int isa = SW_ISA_SCALAR; isa <= SW_ISA_AVX512; isa++) {
                    if (!sw_isa_supported(isa)) {
                        assert_int_equal(sw_lanes(got, k, H, W, nlev, gt, 3, isa, work), -1);
                        continue;
                    }
                    if (sw_lanes(got, k, H, W, nlev, gt, 3, isa, work) != 0) {
                        /* refused only past its room */
                        assert_true(cap - 1 > (int64_t)(2 * n + 64));
                        refused++;
                        continue;
                    }
                    isas[isa]++;
                    snprintf(what, sizeof what, "lanes %dx%d nlev %d kind %d isa %d", H, W,
                             nlev, kind, isa);
                    sw_compare(&vs_runs, got, runs, nlev, what);
                    if (with_ref)
                        sw_compare(&vs_ref, got, ref, nlev, what);
                    if (isa == SW_ISA_SCALAR) { /* the vector paths against the scalar one */
                        memcpy(scal, got, (size_t)nlev * sizeof *got);
                        scal_ok = 1;
                    } else if (scal_ok) {
                        sw_compare(&vs_scalar, got, scal, nlev, what);
                    }
                }
                free(work);
                work = xmalloc(sw_keys_work_bytes(H, W, nlev));
                int used = sw_sweep_keys(got, k, H, W, nlev, gt, 3, SW_LANES, work);
                assert_true(used == SW_LANES || used == SW_RUNS || used == SW_PIXELS);
                snprintf(what, sizeof what, "keys/lanes %dx%d nlev %d kind %d", H, W, nlev, kind);
                sw_compare(&vs_runs, got, runs, nlev, what);
                free(work);
                maps++;
            }
        }
        free(k);
        free(v);
    }
    printf("sw_lanes on %zu level maps (scalar %zu, AVX2 %zu, AVX-512 %zu runs; %zu refused for "
           "room):\n",
           maps, isas[SW_ISA_SCALAR], isas[SW_ISA_AVX2], isas[SW_ISA_AVX512], refused);
    printf("  %zu rows with multi-run levels above single-run ones (kind 9)\n", raised);
    sw_print(&vs_runs, "  against sw_runs");
    sw_print(&vs_ref, "  against the naive twin");
    sw_print(&vs_scalar, "  AVX2 and AVX-512 against the scalar path");
    assert_true(vs_runs.bad == 0 && vs_ref.bad == 0 && vs_scalar.bad == 0);
    assert_true(vs_scalar.levels > 0);
    assert_true(raised > 1000);
    assert_true(vs_ref.levels > 50000);
    assert_true(sw_lanes_work_bytes(0, 3, 5) == 0 && sw_lanes_work_bytes(3, 3, 256) == 0);
    /* a key above nlev is refused */
    uint8_t k3[3] = {1, 9, 2};
    sw_level o[8];
    void *work = xmalloc(sw_lanes_work_bytes(1, 3, 8));
    assert_int_equal(sw_lanes(o, k3, 1, 3, 8, NULL, 0, SW_ISA_AUTO, work), -1);
    free(work);
}

/* The two-run level of a row against a brute-force count of runs per
 * level, on every ISA: rows of every width from 1 to 600 (vector chunks and
 * leftovers), noise, few values, smooth humps, plateaus. */
static void test_sw_two_run_level(void **state)
{
    (void)state;
    rng r = {0x74776f};
    uint8_t k[600], pm[600];
    size_t rows = 0;
    for (int it = 0; it < 6000; it++) {
        int W = 1 + (int)(rng_next(&r) % (it % 3 == 0 ? 600 : 40));
        int kind = it % 4;
        double f = 0.02 + 0.3 * rng_unit(&r);
        for (int x = 0; x < W; x++) {
            uint64_t u = rng_next(&r);
            int v;
            switch (kind) {
            case 0: v = (int)(u & 255); break;
            case 1: v = (int)(u % 4); break;
            case 2: v = (int)(120 + 120 * sin(x * f)) + (int)(u % 3); break;
            default: v = x < W / 2 ? x * 255 / W : (W - x) * 255 / W + (u % 7 == 0 ? 3 : 0);
            }
            k[x] = (uint8_t)(v > 255 ? 255 : v);
        }
        int want = 0, wlow = 0;
        for (int l = 1; l <= 255; l++) {
            int runs = 0;
            for (int x = 0; x < W; x++)
                runs += k[x] >= l && (x == 0 || k[x - 1] < l);
            if (runs >= 2) {
                want = l;
                wlow = wlow ? wlow : l;
            }
        }
        for (int isa = SW_ISA_SCALAR; isa <= SW_ISA_AVX2; isa++)
            if (sw_isa_supported(isa)) {
                int low = -7;
                assert_int_equal(sw_two_run_level(k, W, pm, isa, &low), want);
                assert_int_equal(low, wlow);
            }
        rows++;
    }
    /* a hand row: levels 1..3 have two runs, 4 and 5 one */
    const uint8_t h[7] = {5, 2, 0, 3, 1, 1, 0};
    int low = 0;
    assert_int_equal(sw_two_run_level(h, 7, pm, SW_ISA_AUTO, &low), 3);
    assert_int_equal(low, 1);
    /* a valley at 2 between humps 5 and 4: only levels 3 and 4 have two runs */
    const uint8_t v[6] = {1, 5, 2, 4, 1, 0};
    assert_int_equal(sw_two_run_level(v, 6, pm, SW_ISA_SCALAR, &low), 4);
    assert_int_equal(low, 3);
    assert_int_equal(sw_two_run_level(v, 6, pm, SW_ISA_AUTO, &low), 4);
    assert_int_equal(low, 3);
    assert_int_equal(sw_two_run_level(h, 0, pm, SW_ISA_AUTO, NULL), -1);
    printf("two-run level: %zu rows, every isa equal to the brute-force count\n", rows);
}

/* A hand case with known answers at every level: a 5x7 map holding a
 * pyramid (levels 1..3), a lone pixel of level 2 touching it only
 * diagonally, and a separate pair of level 1; a wrong answer must fail. */
static void test_sw_lanes_hand(void **state)
{
    (void)state;
    const uint8_t k[5 * 7] = {
        1, 1, 1, 0, 0, 0, 0,
        1, 2, 1, 0, 0, 1, 1,
        1, 3, 1, 0, 0, 0, 0,
        1, 1, 1, 0, 0, 0, 0,
        0, 0, 0, 2, 0, 0, 0,
    };
    const float gt[4] = {0, 0, 3, 4};
    sw_level o[3];
    void *work = xmalloc(sw_lanes_work_bytes(5, 7, 3));
    for (int isa = SW_ISA_SCALAR; isa <= SW_ISA_AVX512; isa++) {
        if (!sw_isa_supported(isa))
            continue;
        assert_int_equal(sw_lanes(o, k, 5, 7, 3, gt, 1, isa, work), 0);
        /* level 1: pyramid + diagonal pixel (13 px, box 0..4 x 0..5), the pair */
        assert_int_equal(o[0].ncomp, 2);
        assert_int_equal(o[0].largest_n, 13);
        assert_int_equal(o[0].largest.x0, 0);
        assert_int_equal(o[0].largest.y0, 0);
        assert_int_equal(o[0].largest.x1, 4);
        assert_int_equal(o[0].largest.y1, 5);
        assert_true(o[0].iou_largest == 12.0 / 20.0);
        assert_true(o[0].iou_any == 12.0 / 20.0);
        /* level 2: the column of two and the lone pixel, apart */
        assert_int_equal(o[1].ncomp, 2);
        assert_int_equal(o[1].largest_n, 2);
        assert_int_equal(o[1].largest.y0, 1);
        assert_int_equal(o[1].largest.y1, 3);
        /* level 3: one pixel */
        assert_int_equal(o[2].ncomp, 1);
        assert_int_equal(o[2].largest_n, 1);
        assert_true(o[2].iou_largest == 1.0 / 12.0);
    }
    /* the comparison can fail: one changed byte changes the answer */
    uint8_t k2[5 * 7];
    memcpy(k2, k, sizeof k2);
    k2[4 * 7 + 3] = 0; /* the diagonal pixel goes */
    assert_int_equal(sw_lanes(o, k2, 5, 7, 3, gt, 1, SW_ISA_AUTO, work), 0);
    assert_int_equal(o[0].largest_n, 12);
    free(work);
}

/* Upsampled maps the way the engine makes them: coarse maps (smooth,
 * random, ReLU'd or signed, with ties and zeros) through ups_bilinear at
 * integer, non-integer and downsampling scales, odd sizes and frames wider
 * than 256 px; sw_sweep_norms on the lanes path against the previous
 * version (sw_sweep_pair) on both normalisations, and against the naive
 * twin on some. */
static void test_sw_lanes_upsampled(void **state)
{
    (void)state;
    rng r = {0x75707361};
    static const int shapes[][4] = {{12, 12, 96, 96},  {14, 14, 224, 224}, {7, 9, 50, 61},
                                    {12, 12, 97, 95},  {20, 20, 13, 17},   {14, 14, 300, 511},
                                    {3, 3, 1, 1},      {2, 5, 1, 40},      {6, 6, 40, 1},
                                    {1, 1, 8, 8},      {14, 14, 224, 200}, {5, 16, 33, 260}};
    double thr[100];
    for (int i = 0; i < 100; i++)
        thr[i] = i / 100.0;
    sw_diff vs_old = {0}, vs_ref = {0};
    size_t maps = 0, lanes = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int h = shapes[s][0], w = shapes[s][1], H = shapes[s][2], W = shapes[s][3];
        size_t n = (size_t)H * (size_t)W, hw = (size_t)h * (size_t)w;
        double *m = xmalloc(n * sizeof *m), *v1 = xmalloc(n * sizeof *v1);
        double *v2 = xmalloc(n * sizeof *v2);
        float *small = xmalloc(hw * sizeof *small);
        void *work = xmalloc(sw_norms_work_bytes(H, W, 100, 100));
        void *pw = xmalloc(sw_pair_work_bytes(H, W, 100, 100));
        int reps = n > 20000 ? 12 : 40;
        for (int rep = 0; rep < reps; rep++) {
            int kind = rep % 6; /* smooth relu, smooth signed, random, quantised ties,
                                   relu with a NaN, constant rows */
            for (size_t i = 0; i < hw; i++) {
                int y = (int)(i / (size_t)w), x = (int)(i % (size_t)w);
                double u = rng_unit(&r);
                double smooth = sin(0.7 * x + rep) * cos(0.5 * y - rep) + 0.3 * u;
                switch (kind) {
                case 0: small[i] = (float)(smooth > 0 ? smooth : 0); break;
                case 1: small[i] = (float)smooth; break;
                case 2: small[i] = (float)(u - 0.5); break;
                case 3: small[i] = (float)(floor(u * 4) / 4); break;
                case 4: small[i] = (float)(smooth > 0 ? smooth : 0); break;
                default: small[i] = (float)(y % 3 == 0 ? 0.5 : u); break;
                }
            }
            run_ups(m, small, h, w, H, W);
            if (kind == 4 && n > 4)
                m[n / 2] = NAN;
            if (kind == 2 && rep % 4 == 2) /* a non-smooth map: noise on every pixel */
                for (size_t i = 0; i < n; i++)
                    m[i] += 0.05 * rng_unit(&r);
            double mx = -INFINITY, mn = INFINITY;
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
            float gt[8];
            make_gt(gt, 2, H, W, &r);
            sw_level a1[100], a2[100], o1[100], o2[100], b1[100], b2[100];
            int used = sw_sweep_norms(a1, thr, 100, a2, thr, 100, m, H, W, mx, mn, gt, 2,
                                      SW_LANES, work);
            assert_true(used == SW_LANES || used == SW_RUNS || used == SW_PIXELS);
            lanes += used == SW_LANES;
            sw_sweep_pair(o1, v1, thr, 100, o2, v2, thr, 100, H, W, gt, 2, pw);
            char what[96];
            snprintf(what, sizeof what, "upsampled %dx%d->%dx%d kind %d rep %d", h, w, H, W,
                     kind, rep);
            sw_compare(&vs_old, a1, o1, 100, what);
            sw_compare(&vs_old, a2, o2, 100, what);
            if (rep < 6) {
                assert_int_equal(sw_sweep_ref(b1, v1, H, W, thr, 100, gt, 2), 0);
                assert_int_equal(sw_sweep_ref(b2, v2, H, W, thr, 100, gt, 2), 0);
                sw_compare(&vs_ref, a1, b1, 100, what);
                sw_compare(&vs_ref, a2, b2, 100, what);
            }
            maps++;
        }
        free(m);
        free(v1);
        free(v2);
        free(small);
        free(work);
        free(pw);
    }
    printf("sw_sweep_norms(SW_LANES) on %zu upsampled maps (%zu on the lanes path):\n", maps,
           lanes);
    sw_print(&vs_old, "  against sw_sweep_pair");
    sw_print(&vs_ref, "  against the naive twin");
    assert_true(vs_old.bad == 0 && vs_ref.bad == 0);
    assert_true(lanes > maps / 2);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    const struct CMUnitTest sweep[] = {
        cmocka_unit_test(test_sw_two_run_level),
        cmocka_unit_test(test_sw_lanes_hand),
        cmocka_unit_test(test_sw_lanes_vs_ref),
        cmocka_unit_test(test_sw_lanes_upsampled),
    };
    return cmocka_run_group_tests_name("sweep", sweep, NULL, NULL) ? 1 : 0;
}
