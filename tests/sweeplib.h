/* sweeplib.h: what the sweep tests share (test_sweep.c, test_sweep_lanes.c):
 * exact field-by-field comparison of sw_level tables, and generators of
 * awkward maps, gt boxes and level maps. Header-only (static inline), like
 * testlib.h. */
#ifndef SWEEPLIB_H
#define SWEEPLIB_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/sweep.h"
#include "kernels/upsample.h"
#include "testlib.h"

/* ---------------------------------------------------------------- sweep */

/* sw_sweep into a fresh buffer of exactly sw_work_bytes() bytes. */
static inline void run_sweep(sw_level *out, const double *v, int H, int W, const double *thr,
                      int nthr, const float *gt, int ngt)
{
    size_t wb = sw_work_bytes(H, W, nthr);
    assert_true(wb > 0);
    void *work = xmalloc(wb);
    sw_sweep(out, v, H, W, thr, nthr, gt, ngt, work);
    free(work);
}

static inline int box_eq(const sw_box *a, const sw_box *b)
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
static inline void sw_compare(sw_diff *d, const sw_level *a, const sw_level *ref, int n,
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

static inline void sw_print(const sw_diff *d, const char *what)
{
    printf("%s: %zu levels, %zu differ; worst |d iou_largest| = %.3g, |d iou_any| = %.3g, "
           "|d n| = %lld, |d ncomp| = %lld, boxes differing = %zu\n",
           what, d->levels, d->bad, d->d_iou_largest, d->d_iou_any, (long long)d->d_n,
           (long long)d->d_ncomp, d->d_box);
}

/* Single threshold, one run of each; returns out[0] of the fast kernel and
 * checks the twin agrees. */
static inline sw_level sweep1(const double *v, int H, int W, double t, const float *gt, int ngt)
{
    sw_level a, b;
    run_sweep(&a, v, H, W, &t, 1, gt, ngt);
    assert_int_equal(sw_sweep_ref(&b, v, H, W, &t, 1, gt, ngt), 0);
    sw_diff d = {0};
    sw_compare(&d, &a, &b, 1, "hand");
    assert_true(d.bad == 0);
    return a;
}

static inline void make_gt(float *gt, int ngt, int H, int W, rng *r)
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
static inline void make_map(double *v, int H, int W, int kind, rng *r)
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

static const int sw_sizes[][2] __attribute__((unused)) = {
    {1, 1}, {1, 17}, {17, 1}, {2, 2}, {3, 3}, {7, 13}, {13, 7}, {31, 64}, {96, 96}, {224, 224},
};

/* sw_sweep against the naive twin, exactly, on many random maps. */
/* ------------------------------------------------------- sweeps over levels */

/* A random key map in 0..nlev: kind 0 noise, 1 smooth (an upsampled random
 * coarse map, quantised), 2 plateaus (blocks of one level, many zeros),
 * 3 saddles (a checkerboard of coarse cells, diagonal contacts). */
static inline void make_keys(uint8_t *k, int H, int W, int nlev, int kind, rng *r)
{
    size_t n = (size_t)H * (size_t)W;
    if (kind == 0) {
        for (size_t i = 0; i < n; i++)
            k[i] = (uint8_t)(rng_next(r) % (uint64_t)(nlev + 1));
    } else if (kind == 1) {
        double *v = xmalloc(n * sizeof *v);
        float small[25];
        for (int i = 0; i < 25; i++)
            small[i] = (float)rng_unit(r);
        run_ups(v, small, 5, 5, H, W);
        for (size_t i = 0; i < n; i++)
            k[i] = (uint8_t)(v[i] * (nlev + 1) > nlev ? nlev : v[i] * (nlev + 1));
        free(v);
    } else if (kind == 2) {
        int bh = 1 + (int)(rng_next(r) % 9), bw = 1 + (int)(rng_next(r) % 9);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint64_t h = (uint64_t)(y / bh) * 7919u + (uint64_t)(x / bw) * 104729u;
                rng b = {h ^ 0xabcdefu};
                uint64_t u = rng_next(&b);
                k[(size_t)y * W + x] = (uint8_t)(u % 3 == 0 ? u % (uint64_t)(nlev + 1) : 0);
            }
    } else {
        int c = 1 + (int)(rng_next(r) % 4);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                k[(size_t)y * W + x] =
                    (uint8_t)(((y / c + x / c) & 1) ? nlev - (x + y) % (nlev > 3 ? 3 : 1) : 0);
    }
}

static const int key_sizes[][2] __attribute__((unused)) = {
    {1, 1}, {1, 300}, {300, 1}, {2, 2}, {7, 13}, {3, 257}, {31, 64}, {96, 96}, {5, 700},
    {224, 224},
};

/* sw_sweep_keys on both paths (and sw_runs with room for every run) against
 * the naive flood fill on the levels as doubles, thresholds 1..nlev. */
/* Maps for the two-norm sweep, each with a non-NaN first value and mx > mn. */
enum { NM_RELU, NM_SIGNED, NM_QUANT, NM_NOISE, NM_NAN, NM_UNDERFLOW, NM_PLATEAU, NM_BIG, NM_N };

static inline void make_norm_map(double *m, int H, int W, int kind, rng *r)
{
    size_t n = (size_t)H * (size_t)W;
    float small[36];
    for (int i = 0; i < 36; i++)
        small[i] = (float)(rng_unit(r) - 0.4);
    if (kind == NM_RELU || kind == NM_SIGNED || kind == NM_NAN || kind == NM_BIG)
        run_ups(m, small, 6, 6, H, W);
    for (size_t i = 0; i < n; i++) {
        double u = rng_unit(r);
        switch (kind) {
        case NM_RELU: m[i] = m[i] > 0 ? m[i] : 0.0; break;    /* plateau of zeros, mn = 0 */
        case NM_QUANT: m[i] = floor(u * 100.0) / 100.0 * 3.0; break; /* on the cuts */
        case NM_NOISE: m[i] = u - 0.3; break;
        case NM_NAN: if (i > 0 && u < 0.05) m[i] = NAN; break;
        case NM_UNDERFLOW: /* quotients that underflow to -0 */
            m[i] = u < 0.3 ? -0x1p-1074 * (double)(1 + (rng_next(r) & 3)) : u < 0.6 ? 0.0 : u * 4.0;
            break;
        case NM_PLATEAU: m[i] = (i / 7) % 3 == 0 ? 0.5 : (u < 0.5 ? 0.0 : 1.0); break;
        case NM_BIG: m[i] = m[i] * 1e300; break;
        default: break;
        }
    }
    m[0] = kind == NM_UNDERFLOW ? 4.0 : (isnan(m[0]) ? 0.0 : m[0]);
    if (n > 1)
        m[n - 1] = kind == NM_QUANT ? 0.0 : m[n - 1] - 1.0; /* mx > mn */
}

/* sw_sweep_norms against the naive twin on both normalised maps and against
 * the previous version (sw_sweep_pair), on every path. */
#endif
