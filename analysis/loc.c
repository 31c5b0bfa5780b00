/* loc.c: what a map says about where the object is.
 *
 * DESIGN
 * Input: one target's map upsampled to its image (H, W), the ground-truth
 * boxes of its class and two pixel masks (inside the class's boxes; inside
 * another class's boxes only). Output: a loc_result with every per-target
 * figure of the protocol in README.md:
 *   - degenerate: max <= 0 (no positive value) or max == min (constant);
 *     a degenerate map has no box, no point and energy 0, but its evidence
 *     shares are still defined wherever its mass is;
 *   - boxes: both normalisations (m / max, (m - min) / (max - min)) are
 *     swept over the 100 thresholds at once, from m itself
 *     (kernels/sweep_norm.c: each threshold becomes an exact cut on m,
 *     one level byte per pixel, then the row-run sweep with the levels as
 *     vector lanes, kernels/sweep_lanes.c, which refuses only maps with
 *     more nodes than its room: those take the previous row-run or pixel
 *     sweep, with the same result); where its premises fail
 *     (non-finite extremes) the normalised maps are formed and swept by
 *     sw_sweep_pair, the previous version, with the same result; the box
 *     at the chosen threshold is the sweep's level when the threshold is
 *     on the grid i / 100.0, else one extra single-threshold sweep;
 *   - pointing: first argmax in row-major order, hit within the tolerance of
 *     a pixel of a box of the class (pixels whose centres are in the box);
 *   - energy and evidence: positive / negative mass shares in the masks.
 * All sums are in double, in row-major pixel order.
 *
 * Thread safety: pure; reentrant on caller-owned work buffers.
 */
#include "analysis/loc.h"
#include "analysis/sign.h"
#include "kernels/mapscan.h"

#include <math.h>
#include <string.h>

const char *loc_norm_name(int norm)
{
    return norm == LOC_MAX ? "max" : (norm == LOC_MINMAX ? "minmax" : NULL);
}

static size_t align8(size_t n) { return (n + 7u) & ~(size_t)7u; }

size_t loc_work_bytes(int H, int W)
{
    size_t npix = (size_t)H * (size_t)W;
    size_t a = sw_pair_work_bytes(H, W, LOC_NTHR, LOC_NTHR);
    size_t b = sw_norms_work_bytes(H, W, LOC_NTHR, LOC_NTHR);
    return 2 * align8(npix * sizeof(double)) + align8(a > b ? a : b);
}

static int inside(double cx, double cy, const float *b)
{
    return cx >= b[0] && cx < b[2] && cy >= b[1] && cy < b[3];
}

/* Columns (or rows) whose centres c + 0.5 are in [lo, hi): first and last,
 * clipped to [0, n - 1]; *first > *last when there are none. */
static void centre_span(double lo, double hi, int n, int *first, int *last)
{
    double f = ceil(lo - 0.5), l = ceil(hi - 0.5) - 1.0;
    if (f < 0.0) f = 0.0;
    if (l > n - 1.0) l = n - 1.0;
    if (f > l) { *first = 1; *last = 0; return; }
    *first = (int)f;
    *last = (int)l;
}

void loc_masks(uint8_t *tmask, uint8_t *omask, int H, int W,
               const float *boxes, const int32_t *cls, int nb, int c)
{
    size_t npix = (size_t)H * (size_t)W;
    memset(tmask, 0, npix);
    memset(omask, 0, npix);
    for (int pass = 0; pass < 2; pass++) {
        for (int b = 0; b < nb; b++) {
            int mine = cls[b] == c;
            if (mine != (pass == 0))
                continue;
            const float *bx = boxes + 4 * (size_t)b;
            int x0, x1, y0, y1;
            centre_span(bx[0], bx[2], W, &x0, &x1);
            centre_span(bx[1], bx[3], H, &y0, &y1);
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++) {
                    size_t i = (size_t)y * W + x;
                    if (mine)
                        tmask[i] = 1;
                    else if (!tmask[i])
                        omask[i] = 1;
                }
        }
    }
}

void loc_cell_regions(uint8_t *region, int h, int w, int H, int W,
                      const float *boxes, const int32_t *cls, int nb, int c)
{
    for (int i = 0; i < h; i++) {
        double cy = (i + 0.5) * H / h;
        for (int j = 0; j < w; j++) {
            double cx = (j + 0.5) * W / w;
            int r = SGN_BACKGROUND;
            for (int b = 0; b < nb && r != SGN_TARGET; b++)
                if (inside(cx, cy, boxes + 4 * (size_t)b))
                    r = cls[b] == c ? SGN_TARGET : SGN_OTHER;
            region[(size_t)i * w + j] = (uint8_t)r;
        }
    }
}

static int point_hit(int px, int py, const float *gt, int ngt, int H, int W, double tol)
{
    for (int g = 0; g < ngt; g++) {
        const float *b = gt + 4 * (size_t)g;
        int x0, x1, y0, y1;
        centre_span(b[0], b[2], W, &x0, &x1);
        centre_span(b[1], b[3], H, &y0, &y1);
        if (x0 > x1 || y0 > y1)
            continue;
        double du = px < x0 ? x0 - px : (px > x1 ? px - x1 : 0);
        double dv = py < y0 ? y0 - py : (py > y1 ? py - y1 : 0);
        if (du * du + dv * dv < tol * tol)
            return 1;
    }
    return 0;
}

/* The grid index of threshold t, or -1 when t is not exactly i / 100.0. */
static int grid_index(double t)
{
    for (int i = 0; i < LOC_NTHR; i++)
        if (t == i / 100.0)
            return i;
    return -1;
}

void loc_eval(loc_result *r, const double *m, int H, int W, const float *gt,
              int ngt, const uint8_t *tmask, const uint8_t *omask,
              const loc_params *p, void *work)
{
    size_t npix = (size_t)H * (size_t)W;
    double *v1 = work, *v2 = (double *)(void *)((char *)work + align8(npix * sizeof(double)));
    void *swork = (char *)work + 2 * align8(npix * sizeof(double));
    double thr[LOC_NTHR];
    sw_level lv[LOC_NNORM][LOC_NTHR];

    memset(r, 0, sizeof *r);
    r->px = r->py = -1;

    /* extremes, argmax, masses (kernels/mapscan.c: one pass, sums in
       row-major order) */
    ms_stats ms;
    ms_scan(&ms, m, tmask, omask, npix, SW_ISA_AUTO);
    double mx = ms.mx, mn = ms.mn, pos = ms.pos, neg = ms.neg, pos_in = ms.pos_in;
    double pos_oth = ms.pos_oth, neg_oth = ms.neg_oth;
    size_t arg = ms.arg, n_oth = ms.n_oth;

    r->has_other = n_oth > 0;
    if (r->has_other) {
        r->other_area = (double)n_oth / (double)npix;
        if (neg > 0) { r->neg_ok = 1; r->neg_other = neg_oth / neg; }
        if (pos > 0) { r->pos_ok = 1; r->pos_other = pos_oth / pos; }
    }

    if (!(mx > 0.0) || mx == mn) {
        r->degenerate = 1;
        return;
    }

    r->px = (int32_t)(arg % (size_t)W);
    r->py = (int32_t)(arg / (size_t)W);
    r->point_hit = (uint8_t)point_hit(r->px, r->py, gt, ngt, H, W, p->tolerance);
    r->energy = pos_in / pos;

    for (int i = 0; i < LOC_NTHR; i++)
        thr[i] = i / 100.0;
    int gi = grid_index(p->threshold);

    /* both normalisations swept from m in one pass (kernels/sweep.h,
       sw_sweep_norms); where its premises fail (non-finite extremes), the
       two normalised maps through the pixel sweep, one pass for the two */
    double span = mx - mn;
    int have_v = 0;
    if (sw_sweep_norms(lv[LOC_MAX], thr, LOC_NTHR, lv[LOC_MINMAX], thr, LOC_NTHR, m, H, W, mx, mn,
                       gt, ngt, SW_LANES, swork) < 0) {
        for (size_t i = 0; i < npix; i++) {
            v1[i] = m[i] / mx;
            v2[i] = (m[i] - mn) / span;
        }
        have_v = 1;
        sw_sweep_pair(lv[LOC_MAX], v1, thr, LOC_NTHR, lv[LOC_MINMAX], v2, thr, LOC_NTHR, H, W,
                      gt, ngt, swork);
    }
    for (int norm = 0; norm < LOC_NNORM; norm++) {
        const double *v = norm == LOC_MAX ? v1 : v2;
        for (int i = 0; i < LOC_NTHR; i++) {
            uint8_t bits = 0;
            if (lv[norm][i].iou_largest >= 0.5) bits |= LOC_HIT;
            if (lv[norm][i].iou_any >= 0.3) bits |= LOC_ANY30;
            if (lv[norm][i].iou_any >= 0.5) bits |= LOC_ANY50;
            if (lv[norm][i].iou_any >= 0.7) bits |= LOC_ANY70;
            r->curve[norm][i] = bits;
        }
        if (gi >= 0) {
            r->box[norm] = lv[norm][gi].largest;
            r->iou[norm] = lv[norm][gi].iou_largest;
        } else {
            if (!have_v) {
                for (size_t i = 0; i < npix; i++) {
                    v1[i] = m[i] / mx;
                    v2[i] = (m[i] - mn) / span;
                }
                have_v = 1;
            }
            sw_level one;
            sw_sweep(&one, v, H, W, &p->threshold, 1, gt, ngt, swork);
            r->box[norm] = one.largest;
            r->iou[norm] = one.iou_largest;
        }
    }
}
