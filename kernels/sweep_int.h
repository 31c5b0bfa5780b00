/* sweep_int.h: what the sweep files share beyond sweep.h (not an API). */
#ifndef SWEEP_INT_H
#define SWEEP_INT_H

#include <stdint.h>

#include "kernels/sweep.h"

/* sweep.c: the per-pixel union-find over byte levels; work:
 * sw_keys_work_bytes(H, W, nlev) bytes, sizes checked by the caller. */
void sw_pixels_keys(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
                    int ngt, void *work);

/* ---- the row sweeps' union-find (sweep_runs.c, sweep_lanes.c) ----------
 * A component's statistics: pixel count, first pixel (row-major index),
 * box in edge coordinates. */
typedef struct {
    int32_t n, first, x0, y0, x1, y1;
} sw_cstat;

/* Root of x, halving the path on the way. */
static inline int32_t sw_cfind(int32_t *par, int32_t x)
{
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

/* Merge the components of roots a != b (the larger survives, by size);
 * returns the surviving root. */
static inline int32_t sw_cunite(int32_t *par, sw_cstat *st, int32_t a, int32_t b)
{
    if (st[a].n < st[b].n) {
        int32_t t = a;
        a = b;
        b = t;
    }
    sw_cstat *sa = &st[a];
    const sw_cstat *sb = &st[b];
    par[b] = a;
    sa->n += sb->n;
    if (sb->first < sa->first) sa->first = sb->first;
    if (sb->x0 < sa->x0) sa->x0 = sb->x0;
    if (sb->y0 < sa->y0) sa->y0 = sb->y0;
    if (sb->x1 > sa->x1) sa->x1 = sb->x1;
    if (sb->y1 > sa->y1) sa->y1 = sb->y1;
    return a;
}

/* sweep_leaf.c: one scan of the roots of a forest of nn nodes (par, node
 * levels lev in 1..nlev, stats st) into out: (nlev), each level's
 * component count, its largest component (ties to the first pixel) and
 * both IoUs. best: (nlev + 1) scratch. */
void sw_read_roots(sw_level *out, const sw_cstat *st, const int32_t *par, const uint8_t *lev,
                   int32_t nn, int32_t *best, int nlev, const float *gt, int ngt);

/* sweep_rows.c: a row of levels k (W bytes). The highest level with two
 * runs or more (0: none), *low the lowest such (0 when none). */
int32_t sw_two_run_scalar(const uint8_t *k, int W, int32_t *low);

#if defined(__SSE2__)
#include <emmintrin.h>
/* The largest byte of v (shifts bring in zeros, which do not change a max). */
static inline int32_t hmax_epu8(__m128i v)
{
    v = _mm_max_epu8(v, _mm_srli_si128(v, 8));
    v = _mm_max_epu8(v, _mm_srli_si128(v, 4));
    v = _mm_max_epu8(v, _mm_srli_si128(v, 2));
    v = _mm_max_epu8(v, _mm_srli_si128(v, 1));
    return (int32_t)(_mm_cvtsi128_si32(v) & 0xFF);
}
/* The row's peak, minimum and positive steps (k[-1] = 0), 16 columns a step. */
void sw_peak_up_sse2(const uint8_t *k, int W, int32_t *peak, int32_t *up, int32_t *low);
#endif

#endif
