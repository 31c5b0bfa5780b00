/* sweep.c: 8-connected components of a map at every threshold, in one pass.
 *
 * DESIGN
 * What: for v (H, W) and ascending thresholds thr[0..nthr-1], level i keeps
 * the pixels with v >= thr[i] (NaN never passes) and splits them into
 * 8-connected components. Per level: the largest component (pixel count;
 * ties to the component whose first pixel in row-major order comes first)
 * and its box, the box's IoU with the best gt box, the best IoU over every
 * component and every gt box, and the component count.
 *
 * Algorithm (a max-tree flavour): the passing sets are nested, the set at
 * thr[i] contains the set at thr[i + 1], so components only ever merge as i
 * goes down. Hence:
 *   1. Level of each pixel L(p) = largest i with v[p] >= thr[i], -1 if none:
 *      guessed from the mean threshold step and corrected with that same
 *      double comparison, so it is exact (one or two comparisons on the
 *      usual even grid instead of a 7-step binary search).
 *   2. Counting sort of the pixels with L >= 0 into buckets, highest level
 *      first.
 *   3. For i = nthr-1 .. 0: add the pixels of bucket i; each joins the set
 *      of already added 8-neighbours with union-find (full path compression,
 *      union by size; a neighbour whose parent is already p's root is
 *      skipped without a find). Every root owns one entry of a compact table of live
 *      components {root, n, first, box}; a root absorbed by a union gives
 *      its entry back by moving the last entry into its slot. After the
 *      bucket, one scan of the table fills out[i] (an empty bucket copies
 *      out[i + 1]).
 * Cost: O(N log nthr) for the levels, ~O(N) for the unions, plus one scan
 * of the live components per non-empty level (times ngt for the IoUs).
 *
 * Invariants:
 *   - parent[p] == -1 until p is added; a root r has parent[r] == r and
 *     live[slot[r]].root == r; live[0..nlive) are exactly the roots.
 *   - a root's entry holds the size, the edge-coordinate box and the
 *     smallest pixel index of its set; merging takes sum / union / min, so
 *     the result does not depend on the order in which pixels are added.
 *   - nlive <= ceil(H/2) * ceil(W/2): the two pixels of any aligned 2x2 block
 *     are 8-adjacent, so a block meets at most one component. A new pixel is
 *     first attached to a neighbour's root and only gets an entry of its own
 *     when it has no added neighbour, so nlive never exceeds the component
 *     count of a real pixel set, and the table never overflows.
 *   - Needs H * W <= INT32_MAX (pixel indices are int32); sw_work_bytes()
 *     returns 0 otherwise.
 *
 * Work buffer (caller-owned, sw_work_bytes() bytes, 4-byte aligned):
 *   comp live[ceil(H/2) * ceil(W/2)]; int32 level[N], order[N], parent[N],
 *   slot[N], head[nthr + 1].
 *
 * sw_sweep_keys runs the same union-find on byte levels (sweep_norm.c makes
 * them) when a map has too many runs for sweep_runs.c, and dispatches.
 *
 * sw_sweep_ref is the naive oracle: for each threshold on its own, a
 * row-major scan with a breadth-first flood fill (the seed of a component is
 * its first pixel, and a strict > keeps the first of equal sizes). It
 * allocates its label and queue arrays.
 *
 * Thread safety: pure functions of their arguments, no globals; sw_sweep
 * allocates nothing. Reentrant on distinct out/work buffers.
 */
#include "kernels/sweep.h"
#include "kernels/sweep_int.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* A live component, stored at its root's slot. */
typedef struct {
    int32_t root;           /* pixel index of the union-find root */
    int32_t n;              /* pixel count */
    int32_t first;          /* smallest pixel index (row-major first pixel) */
    int32_t x0, y0, x1, y1; /* box, edge coordinates */
} comp;

static size_t live_cap(int H, int W)
{
    return ((size_t)H + 1) / 2 * (((size_t)W + 1) / 2);
}

size_t sw_work_bytes(int H, int W, int nthr)
{
    if (H < 1 || W < 1 || nthr < 0)
        return 0;
    if ((size_t)H > (size_t)INT32_MAX / (size_t)W)
        return 0;
    size_t n = (size_t)H * (size_t)W;
    return live_cap(H, W) * sizeof(comp) + 4 * n * sizeof(int32_t) +
           ((size_t)nthr + 1) * sizeof(int32_t);
}

/* Root of x, with full path compression (every node on the path then
 * points at the root, so later finds from the same area are one step). */
static int32_t uf_find(int32_t *parent, int32_t x)
{
    int32_t r = x;
    while (parent[r] != r)
        r = parent[r];
    while (parent[x] != r) {
        int32_t nx = parent[x];
        parent[x] = r;
        x = nx;
    }
    return r;
}

/* Merge the components of roots a != b; returns the surviving root. */
static int32_t uf_unite(int32_t *parent, int32_t *slot, comp *live, int32_t *nlive,
                        int32_t a, int32_t b)
{
    if (live[slot[a]].n < live[slot[b]].n) {
        int32_t t = a;
        a = b;
        b = t;
    }
    comp *ca = &live[slot[a]];
    const comp *cb = &live[slot[b]];
    parent[b] = a;
    ca->n += cb->n;
    if (cb->first < ca->first) ca->first = cb->first;
    if (cb->x0 < ca->x0) ca->x0 = cb->x0;
    if (cb->y0 < ca->y0) ca->y0 = cb->y0;
    if (cb->x1 > ca->x1) ca->x1 = cb->x1;
    if (cb->y1 > ca->y1) ca->y1 = cb->y1;
    /* give b's slot back: the last entry moves into it */
    int32_t k = slot[b], last = *nlive - 1;
    if (k != last) {
        live[k] = live[last];
        slot[live[k].root] = k;
    }
    *nlive = last;
    return a;
}

/* p (at x, y) meets its neighbour q: nothing when q is not added yet or
 * already directly under p's root; else p joins q's component (the first
 * time) or q's component merges into p's. Returns p's root (-1: none yet). */
static inline int32_t uf_meet(int32_t p, int32_t x, int32_t y, int32_t q, int32_t root,
                              int32_t *parent, int32_t *slot, comp *live, int32_t *nlive)
{
    int32_t pq = parent[q];
    if (pq < 0 || pq == root)
        return root;
    int32_t rq = uf_find(parent, q);
    if (root < 0) {
        comp *c = &live[slot[rq]];
        parent[p] = rq;
        c->n++;
        if (p < c->first) c->first = p;
        if (x < c->x0) c->x0 = x;
        if (y < c->y0) c->y0 = y;
        if (x + 1 > c->x1) c->x1 = x + 1;
        if (y + 1 > c->y1) c->y1 = y + 1;
        return rq;
    }
    return rq != root ? uf_unite(parent, slot, live, nlive, root, rq) : root;
}

/* Adds pixel p: joins it to the components of its already added
 * 8-neighbours (merging them), or opens a component of its own. */
static void uf_add(int32_t p, int H, int W, int32_t *parent, int32_t *slot, comp *live,
                   int32_t *nlivep)
{
    int32_t nlive = *nlivep;
    int32_t y = p / W, x = p % W;
    int32_t root = -1;
    if (y > 0 && y < H - 1 && x > 0 && x < W - 1) {
        /* interior: the eight neighbours without bounds checks, same order */
        const int32_t nb[8] = {p - W - 1, p - W, p - W + 1, p - 1,
                               p + 1,     p + W - 1, p + W, p + W + 1};
        for (int k = 0; k < 8; k++)
            root = uf_meet(p, x, y, nb[k], root, parent, slot, live, &nlive);
    } else {
        for (int dy = -1; dy <= 1; dy++) {
            int32_t yy = y + dy;
            if (yy < 0 || yy >= H)
                continue;
            for (int dx = -1; dx <= 1; dx++) {
                int32_t xx = x + dx;
                if ((dx == 0 && dy == 0) || xx < 0 || xx >= W)
                    continue;
                root = uf_meet(p, x, y, yy * W + xx, root, parent, slot, live, &nlive);
            }
        }
    }
    if (root < 0) {
        parent[p] = p;
        slot[p] = nlive;
        live[nlive++] = (comp){p, 1, p, x, y, x + 1, y + 1};
    }
    *nlivep = nlive;
}

/* Largest of live[0..nlive), its IoU, the best IoU of all, the count -> *o. */
static void scan_live(sw_level *o, const comp *live, int32_t nlive, const float *gt, int ngt)
{
    sw_level r = {{0, 0, 0, 0}, 0, 0.0, 0.0, nlive};
    int32_t best = -1;
    for (int32_t k = 0; k < nlive; k++) {
        const comp *c = &live[k];
        if (best < 0 || c->n > live[best].n ||
            (c->n == live[best].n && c->first < live[best].first))
            best = k;
        sw_box b = {c->x0, c->y0, c->x1, c->y1};
        double u = sw_best_iou(&b, gt, ngt);
        if (u > r.iou_any)
            r.iou_any = u;
    }
    if (best >= 0) {
        const comp *c = &live[best];
        r.largest = (sw_box){c->x0, c->y0, c->x1, c->y1};
        r.largest_n = c->n;
        r.iou_largest = sw_best_iou(&r.largest, gt, ngt);
    }
    *o = r;
}

/* Largest i with x >= thr[i], or -1 (NaN included). thr ascending.
 * A guess from the mean step (exact for the usual evenly spaced grid up to
 * rounding), then corrected with the same comparisons a search would make,
 * so the answer is exact for any ascending thr. inv_step = 0 when the grid
 * has one threshold or no spread. */
static int32_t level_of(double x, const double *thr, int nthr, double inv_step)
{
    if (!(x >= thr[0]))
        return -1;
    double g = (x - thr[0]) * inv_step;
    int32_t i = g < (double)(nthr - 1) ? (int32_t)g : nthr - 1; /* x >= thr[0]: g >= 0 */
    while (i > 0 && !(x >= thr[i]))
        i--;
    while (i + 1 < nthr && x >= thr[i + 1])
        i++;
    return i;
}

/* 1 / the mean step of an ascending grid, for level_of's guess (0: no
 * usable step: one threshold, no spread, or an infinite one). */
static double inv_step_of(const double *thr, int n)
{
    double spread = thr[n - 1] - thr[0];
    return n > 1 && spread > 0.0 && isfinite(spread) ? (n - 1) / spread : 0.0;
}

/* Counting sort of the pixels with bucket b[p] in [lo, hi), highest bucket
 * first, pixel order kept within a bucket. head[b] holds the bucket sizes on
 * entry and each bucket's end in order[] on return (it starts where the
 * next higher bucket ends). */
static void bucket_sort(int32_t *order, int32_t *head, const int32_t *b, int32_t n, int lo,
                        int hi)
{
    int32_t pos = 0;
    for (int k = hi - 1; k >= lo; k--) {
        int32_t c = head[k];
        head[k] = pos;
        pos += c;
    }
    for (int32_t p = 0; p < n; p++)
        if (b[p] >= lo)
            order[head[b[p]]++] = p;
}

/* The work buffer of sw_sweep, carved. */
typedef struct {
    comp *live;
    int32_t *level, *order, *parent, *slot, *head;
} sweep_ws;

static sweep_ws sweep_carve(void *work, int H, int W)
{
    int32_t n = (int32_t)((size_t)H * (size_t)W);
    sweep_ws s;
    s.live = work;
    s.level = (int32_t *)(void *)(s.live + live_cap(H, W));
    s.order = s.level + n;
    s.parent = s.order + n;
    s.slot = s.parent + n;
    s.head = s.slot + n; /* (nthr + 1) */
    return s;
}

/* Steps 2 and 3 on s.level[] (each in -1..nthr-1), with s.head[0..nthr-1]
 * the bucket sizes and s.parent[] all -1. */
static void sweep_levels(sw_level *out, int H, int W, int nthr, const float *gt, int ngt,
                         const sweep_ws *s)
{
    int32_t n = (int32_t)((size_t)H * (size_t)W);
    /* 2. counting sort, highest level first: bucket i = [begin_i, head[i]) */
    bucket_sort(s->order, s->head, s->level, n, 0, nthr);

    /* 3. add the buckets from the top, one scan of the live roots each */
    int32_t nlive = 0, begin = 0;
    for (int i = nthr - 1; i >= 0; i--) {
        int32_t end = s->head[i];
        for (int32_t k = begin; k < end; k++)
            uf_add(s->order[k], H, W, s->parent, s->slot, s->live, &nlive);
        if (end == begin && i < nthr - 1)
            out[i] = out[i + 1];
        else
            scan_live(&out[i], s->live, nlive, gt, ngt);
        begin = end;
    }
}

/* v: (H, W), thr: (nthr), gt: (ngt, 4) -> out: (nthr) */
void sw_sweep(sw_level *out, const double *v, int H, int W, const double *thr, int nthr,
              const float *gt, int ngt, void *work)
{
    if (nthr < 1 || sw_work_bytes(H, W, nthr) == 0)
        return;
    int32_t n = (int32_t)((size_t)H * (size_t)W);
    sweep_ws s = sweep_carve(work, H, W);

    /* 1. levels and bucket sizes */
    for (int i = 0; i <= nthr; i++)
        s.head[i] = 0;
    double inv_step = inv_step_of(thr, nthr);
    for (int32_t p = 0; p < n; p++) {
        int32_t l = level_of(v[p], thr, nthr, inv_step);
        s.level[p] = l;
        s.parent[p] = -1;
        if (l >= 0)
            s.head[l]++;
    }
    sweep_levels(out, H, W, nthr, gt, ngt, &s);
}

/* The per-pixel union-find over byte levels (sw_sweep_keys' path for maps
 * with many runs): work as sw_keys_work_bytes, sizes already checked. */
void sw_pixels_keys(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
                    int ngt, void *work)
{
    int32_t n = (int32_t)((size_t)H * (size_t)W);
    sweep_ws s = sweep_carve(work, H, W);
    for (int i = 0; i <= nlev; i++)
        s.head[i] = 0;
    for (int32_t p = 0; p < n; p++) {
        int32_t l = (key[p] < nlev ? (int32_t)key[p] : nlev) - 1;
        s.level[p] = l;
        s.parent[p] = -1;
        if (l >= 0)
            s.head[l]++;
    }
    sweep_levels(out, H, W, nlev, gt, ngt, &s);
}

size_t sw_pair_work_bytes(int H, int W, int n1, int n2)
{
    size_t one = sw_work_bytes(H, W, 0);
    if (one == 0 || n1 < 1 || n2 < 1)
        return 0;
    return one + 3 * ((size_t)n1 + (size_t)n2 + 2) * sizeof(int32_t);
}

/* Both sweeps in one union-find pass. Key of a pixel = L1 + L2 + 2 (each
 * level -1..n-1): co-monotone values make the pairs (L1, L2) a chain, so the
 * key orders pixels like m and one key means one pair. Buckets are added
 * from the top key down; when the next bucket's L1 is below i, the state is
 * exactly {L1 >= i}, so out1[i] is read then (same for out2). */
void sw_sweep_pair(sw_level *out1, const double *v1, const double *thr1, int n1,
                   sw_level *out2, const double *v2, const double *thr2, int n2,
                   int H, int W, const float *gt, int ngt, void *work)
{
    if (sw_pair_work_bytes(H, W, n1, n2) == 0)
        return;
    int32_t n = (int32_t)((size_t)H * (size_t)W);
    int nk = n1 + n2 + 1; /* keys 0 .. n1 + n2 */
    comp *live = work;
    int32_t *key = (int32_t *)(void *)(live + live_cap(H, W));
    int32_t *order = key + n, *parent = order + n, *slot = parent + n;
    int32_t *head = slot + n + 1;         /* [nk + 1] */
    int32_t *kl1 = head + nk + 1, *kl2 = kl1 + nk + 1; /* the pair of each key */

    double is1 = inv_step_of(thr1, n1), is2 = inv_step_of(thr2, n2);
    for (int k = 0; k <= nk; k++)
        head[k] = 0;
    for (int32_t p = 0; p < n; p++) {
        int32_t l1 = level_of(v1[p], thr1, n1, is1), l2 = level_of(v2[p], thr2, n2, is2);
        int32_t k = l1 + l2 + 2;
        key[p] = k;
        parent[p] = -1;
        head[k]++;
        kl1[k] = l1;
        kl2[k] = l2;
    }
    /* counting sort, highest key first; key 0 (below both grids) is never added */
    bucket_sort(order, head, key, n, 1, nk);

    int32_t nlive = 0, begin = 0;
    int32_t next1 = n1 - 1, next2 = n2 - 1; /* highest level not yet recorded */
    for (int k = nk - 1; k >= 0; k--) {
        int32_t end = k >= 1 ? head[k] : begin;
        int32_t cnt = k >= 1 ? end - begin : 0;
        if (cnt == 0 && k > 0)
            continue;
        /* this bucket's pair; key 0 (the end) means (-1, -1) */
        int32_t l1 = k > 0 ? kl1[k] : -1, l2 = k > 0 ? kl2[k] : -1;
        /* before adding it: every level above this bucket's is complete */
        if (next1 > l1) {
            scan_live(&out1[next1], live, nlive, gt, ngt);
            for (int32_t i = next1 - 1; i > l1; i--)
                out1[i] = out1[next1];
            next1 = l1;
        }
        if (next2 > l2) {
            scan_live(&out2[next2], live, nlive, gt, ngt);
            for (int32_t i = next2 - 1; i > l2; i--)
                out2[i] = out2[next2];
            next2 = l2;
        }
        for (int32_t j = begin; j < end; j++)
            uf_add(order[j], H, W, parent, slot, live, &nlive);
        begin = end;
    }
}

/* v: (H, W), thr: (nthr), gt: (ngt, 4) -> out: (nthr). Naive, per threshold. */
int sw_sweep_ref(sw_level *out, const double *v, int H, int W, const double *thr, int nthr,
                 const float *gt, int ngt)
{
    if (H < 1 || W < 1 || nthr < 0)
        return -1;
    size_t n = (size_t)H * (size_t)W;
    int32_t *label = malloc(n * sizeof *label);
    size_t *queue = malloc(n * sizeof *queue);
    if (label == NULL || queue == NULL) {
        free(label);
        free(queue);
        return -1;
    }
    for (int i = 0; i < nthr; i++) {
        double t = thr[i];
        for (size_t p = 0; p < n; p++)
            label[p] = 0;
        sw_level r = {{0, 0, 0, 0}, 0, 0.0, 0.0, 0};
        for (size_t s = 0; s < n; s++) {
            if (label[s] || !(v[s] >= t))
                continue;
            /* flood fill from the seed s, the component's first pixel */
            r.ncomp++;
            size_t qh = 0, qt = 0;
            queue[qt++] = s;
            label[s] = r.ncomp;
            int64_t cnt = 0;
            sw_box b = {W, H, 0, 0};
            while (qh < qt) {
                size_t p = queue[qh++];
                int y = (int)(p / (size_t)W), x = (int)(p % (size_t)W);
                cnt++;
                if (x < b.x0) b.x0 = x;
                if (y < b.y0) b.y0 = y;
                if (x + 1 > b.x1) b.x1 = x + 1;
                if (y + 1 > b.y1) b.y1 = y + 1;
                for (int yy = y - 1; yy <= y + 1; yy++)
                    for (int xx = x - 1; xx <= x + 1; xx++) {
                        if (yy < 0 || yy >= H || xx < 0 || xx >= W)
                            continue;
                        size_t q = (size_t)yy * (size_t)W + (size_t)xx;
                        if (!label[q] && v[q] >= t) {
                            label[q] = r.ncomp;
                            queue[qt++] = q;
                        }
                    }
            }
            for (int j = 0; j < ngt; j++) {
                double u = sw_iou(&b, gt + 4 * j);
                if (u > r.iou_any)
                    r.iou_any = u;
            }
            if (cnt > r.largest_n) {
                r.largest_n = cnt;
                r.largest = b;
            }
        }
        if (r.largest_n > 0)
            for (int j = 0; j < ngt; j++) {
                double u = sw_iou(&r.largest, gt + 4 * j);
                if (u > r.iou_largest)
                    r.iou_largest = u;
            }
        out[i] = r;
    }
    free(label);
    free(queue);
    return 0;
}
