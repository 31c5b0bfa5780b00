/* sweep_runs.c: the threshold sweep over byte levels, by row runs.
 *
 * DESIGN
 * What: key (H, W), one byte per pixel in 0..nlev -> out[j - 1] for every
 * level j = 1..nlev: the 8-connected components of {key >= j}, described as
 * sw_sweep describes them (largest by pixel count, ties to the smallest
 * first pixel in row-major order; its box and IoU; the best IoU of any
 * component; the count). The caller turns a map into levels once
 * (sweep_norm.c); this file never sees a double of the map.
 *
 * Algorithm (run-based labelling, every level at once):
 *   1. Row by row, one scan of the keys finds every (level, run) pair of the
 *      row: the maximal intervals where key >= l. A rise from a to b at x
 *      opens levels a+1..b at x; a fall from b to a closes levels b..a+1 at
 *      x - 1 (a zero sentinel closes the rest at the row's end). So the cost
 *      is one byte compare per pixel plus one step per run, and a run list
 *      per level comes out sorted by start.
 *   2. Each run is a union-find node carrying pixel count, first pixel and
 *      box. A run touches a run of the same level on the previous row when
 *      they overlap after widening by one pixel (8-connectivity); the two
 *      sorted lists of a level are merged with two pointers (advance the run
 *      that ends first: the other may still touch the next one, it may not).
 *   3. At the end every root is one component of its level: one scan of the
 *      nodes fills out[].
 * The cost grows with the number of runs, which is the sum over rows of the
 * positive steps of the key (key[-1] = 0). On smooth maps (an upsampled
 * Grad-CAM map) that is a few per pixel row and level, far below the pixel
 * count; on noise it exceeds it, and the per-pixel union-find of sweep.c is
 * the better path. sw_runs_count says which case a map is; sw_sweep_keys
 * (sweep.c) dispatches on it.
 *
 * Invariants:
 *   - node ids are given in emission order (row by row); find uses path
 *     halving and union by pixel count, and assumes no order of ids.
 *   - a root's stats are the sum / min / union of its runs' stats, so the
 *     result does not depend on the order of the unions.
 *   - head[l] is -1 for every level above the row's maximum (lists are
 *     cleared after use, up to the maximum they reached).
 *
 * Work buffer (caller-owned, sw_runs_work_bytes(H, W, cap) bytes, 8-byte
 * aligned): stat st[cap]; int32 par[cap], nxt[cap], rs[cap], re[cap];
 * uint8 lev[cap]; int32 heads and tails and open starts [4 * 256].
 *
 * Thread safety: pure, no globals, no allocation; reentrant on distinct
 * out/work buffers.
 */
#include "sweep.h"

#include <stdint.h>
#include <string.h>

typedef struct {
    int32_t n, first, x0, y0, x1, y1;
} rstat;

static size_t al8(size_t n) { return (n + 7u) & ~(size_t)7u; }

size_t sw_runs_work_bytes(int H, int W, int64_t cap)
{
    if (H < 1 || W < 1 || cap < 1 || cap > INT32_MAX)
        return 0;
    size_t c = (size_t)cap;
    return al8(c * sizeof(rstat)) + 4 * al8(c * sizeof(int32_t)) + al8(c) +
           4 * 256 * sizeof(int32_t);
}

int64_t sw_runs_count(const uint8_t *key, int H, int W, int *maxkey)
{
    int64_t runs = 0;
    int mk = 0;
    for (int y = 0; y < H; y++) {
        const uint8_t *k = key + (size_t)y * (size_t)W;
        int32_t up = k[0];
        uint8_t m = k[0];
        for (int x = 1; x < W; x++) {
            int32_t d = (int32_t)k[x] - (int32_t)k[x - 1];
            up += d > 0 ? d : 0;
            m = k[x] > m ? k[x] : m;
        }
        runs += up;
        if (m > mk)
            mk = m;
    }
    if (maxkey)
        *maxkey = mk;
    return runs;
}

static int32_t rfind(int32_t *par, int32_t x)
{
    while (par[x] != x) {
        par[x] = par[par[x]];
        x = par[x];
    }
    return x;
}

static void runite(int32_t *par, rstat *st, int32_t a, int32_t b)
{
    a = rfind(par, a);
    b = rfind(par, b);
    if (a == b)
        return;
    if (st[a].n < st[b].n) {
        int32_t t = a;
        a = b;
        b = t;
    }
    rstat *sa = &st[a];
    const rstat *sb = &st[b];
    par[b] = a;
    sa->n += sb->n;
    if (sb->first < sa->first) sa->first = sb->first;
    if (sb->x0 < sa->x0) sa->x0 = sb->x0;
    if (sb->y0 < sa->y0) sa->y0 = sb->y0;
    if (sb->x1 > sa->x1) sa->x1 = sb->x1;
    if (sb->y1 > sa->y1) sa->y1 = sb->y1;
}

int sw_runs(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
            int ngt, int64_t cap, void *work)
{
    if (nlev < 1 || nlev > 255 || sw_runs_work_bytes(H, W, cap) == 0 ||
        (size_t)H > (size_t)INT32_MAX / (size_t)W)
        return -1;
    size_t c = (size_t)cap;
    char *w = work;
    rstat *st = (rstat *)(void *)w;
    w += al8(c * sizeof(rstat));
    int32_t *par = (int32_t *)(void *)w;
    w += al8(c * sizeof(int32_t));
    int32_t *nxt = (int32_t *)(void *)w;
    w += al8(c * sizeof(int32_t));
    int32_t *rs = (int32_t *)(void *)w;
    w += al8(c * sizeof(int32_t));
    int32_t *re = (int32_t *)(void *)w;
    w += al8(c * sizeof(int32_t));
    uint8_t *lev = (uint8_t *)w;
    w += al8(c);
    int32_t *heads = (int32_t *)(void *)w; /* [2][256] */
    int32_t *tail = heads + 512, *ostart = tail + 256;
    int32_t *prev = heads, *cur = heads + 256;
    for (int l = 0; l < 512; l++)
        heads[l] = -1;

    int32_t nn = 0;
    int rprev = 0;
    for (int y = 0; y < H; y++) {
        const uint8_t *k = key + (size_t)y * (size_t)W;
        int32_t rowbase = (int32_t)((size_t)y * (size_t)W);
        int top = 0, rmax = 0;
        /* 1. the runs of this row, per level, left to right */
        for (int x = 0; x <= W; x++) {
            int kx = x < W ? k[x] : 0;
            if (kx > nlev)
                kx = nlev;
            if (kx == top)
                continue;
            if (kx > top) {
                for (int l = top + 1; l <= kx; l++)
                    ostart[l] = x;
                if (kx > rmax)
                    rmax = kx;
            } else {
                for (int l = top; l > kx; l--) {
                    if (nn >= cap)
                        return -1; /* more runs than the caller planned for */
                    int32_t id = nn++, s = ostart[l];
                    par[id] = id;
                    nxt[id] = -1;
                    rs[id] = s;
                    re[id] = x - 1;
                    lev[id] = (uint8_t)l;
                    st[id] = (rstat){x - s, rowbase + s, s, y, x, y + 1};
                    if (cur[l] < 0)
                        cur[l] = id;
                    else
                        nxt[tail[l]] = id;
                    tail[l] = id;
                }
            }
            top = kx;
        }
        /* 2. join each level's runs with the previous row's */
        int lmax = rmax < rprev ? rmax : rprev;
        for (int l = 1; l <= lmax; l++) {
            int32_t a = prev[l], b = cur[l];
            while (a >= 0 && b >= 0) {
                if (re[a] + 1 < rs[b]) {
                    a = nxt[a];
                } else if (re[b] + 1 < rs[a]) {
                    b = nxt[b];
                } else {
                    runite(par, st, a, b);
                    if (re[a] < re[b])
                        a = nxt[a];
                    else
                        b = nxt[b];
                }
            }
        }
        for (int l = 1; l <= rprev; l++)
            prev[l] = -1;
        int32_t *t = prev;
        prev = cur;
        cur = t;
        rprev = rmax;
    }

    /* 3. one scan of the roots */
    int32_t *best = tail; /* reuse: the largest root per level */
    for (int l = 0; l < nlev; l++) {
        out[l] = (sw_level){{0, 0, 0, 0}, 0, 0.0, 0.0, 0};
        best[l + 1] = -1;
    }
    for (int32_t i = 0; i < nn; i++) {
        if (par[i] != i)
            continue;
        int l = lev[i];
        sw_level *o = &out[l - 1];
        const rstat *s = &st[i];
        o->ncomp++;
        int32_t b = best[l];
        if (b < 0 || s->n > st[b].n || (s->n == st[b].n && s->first < st[b].first))
            best[l] = i;
        sw_box bx = {s->x0, s->y0, s->x1, s->y1};
        double u = sw_best_iou(&bx, gt, ngt);
        if (u > o->iou_any)
            o->iou_any = u;
    }
    for (int l = 1; l <= nlev; l++) {
        int32_t b = best[l];
        if (b < 0)
            continue;
        sw_level *o = &out[l - 1];
        o->largest = (sw_box){st[b].x0, st[b].y0, st[b].x1, st[b].y1};
        o->largest_n = st[b].n;
        o->iou_largest = sw_best_iou(&o->largest, gt, ngt);
    }
    return 0;
}
