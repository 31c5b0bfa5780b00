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
 *   1. Row by row, the runs of every level: the maximal intervals where
 *      key >= l. A row that rises and then falls (one hump: most rows of
 *      an upsampled map) has one run per level, from the column where the
 *      rise first reaches l to the column before the fall leaves it, read
 *      off in one pass. Any other row is scanned once more: a rise from a to
 *      b at x opens levels a+1..b at x, a fall closes them at x - 1, and
 *      each level's runs come out sorted by start (a linked list per level).
 *   2. Rows are joined level by level: a run touches a run of the previous
 *      row when they overlap after widening by one column (8-connectivity).
 *      When both rows have one run at a level (the usual case) that is one
 *      test; otherwise the two sorted lists are merged with two pointers
 *      (advance the run that ends first: the other may still touch the next
 *      one). A run that touches nothing opens a component (a union-find
 *      node with pixel count, first pixel and box); a run that touches
 *      extends the root of the first run it touches, and unites the others'.
 *   3. At the end every root is one component of its level: one scan of the
 *      nodes fills out[].
 * The cost grows with the runs: one step per (row, level) pair, plus a pass
 * per row. On smooth maps that is far below the pixel count (0.1-0.4 runs a
 * pixel on the bench's Grad-CAM and signed maps); on noise it is far above,
 * and sw_sweep_keys (sweep.c) sends such maps to the per-pixel union-find.
 *
 * Invariants:
 *   - a run's label is the root of its component when it was joined; find
 *     (path halving) resolves later unions. Union is by pixel count.
 *   - a root's stats are the sum / min / union of its runs' stats (a run
 *     never lowers `first`: earlier rows have smaller pixel indices), so the
 *     result does not depend on the order of the unions.
 *   - head[l] and cnt[l] are valid for l <= rmax of their row only.
 *
 * Work buffer (caller-owned, sw_runs_work_bytes(H, W, cap) bytes, 8-byte
 * aligned): stat st[cap]; int32 par[cap]; uint8 lev[cap] (the components);
 * two row pools of min(cap, ceil(W / 2) * 255) runs; per-level arrays.
 *
 * Thread safety: pure, no globals, no allocation; reentrant on distinct
 * out/work buffers.
 */
#include "kernels/sweep.h"
#include "kernels/sweep_int.h"

#include <stdint.h>
#include <string.h>

typedef sw_cstat rstat;

/* One run of one row at one level: columns s..e, its component lab. */
typedef struct {
    int32_t s, e, lab, next;
} run;

/* The runs of one row: per level l, head[l] (-1: none), cnt[l]. */
typedef struct {
    run *pool;
    int32_t *head, *tail, *cnt;
    int32_t n, rmax;
    int simple; /* one run per level, pool[l - 1] */
} rowruns;

static size_t al8(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* Runs one row can hold: ceil(W / 2) per level at most, and never more
 * than the whole map's cap. */
static size_t pool_cap(int W, int64_t cap)
{
    size_t c = ((size_t)W + 1) / 2 * 255u;
    return c < (size_t)cap ? c : (size_t)cap;
}

size_t sw_runs_work_bytes(int H, int W, int64_t cap)
{
    if (H < 1 || W < 1 || cap < 1 || cap > INT32_MAX)
        return 0;
    size_t c = (size_t)cap, pc = pool_cap(W, cap) + 1;
    return al8(c * sizeof(rstat)) + al8(c * sizeof(int32_t)) + al8(c) +
           2 * al8(pc * sizeof(run)) + 12 * 256 * sizeof(int32_t) + 4 * 257 * sizeof(int32_t);
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

#define rfind sw_cfind
#define runite sw_cunite

/* Run c of row y joins root r (a component of earlier rows). */
static void extend(rstat *s, const run *c, int32_t y)
{
    s->n += c->e - c->s + 1;
    if (c->s < s->x0) s->x0 = c->s;
    if (c->e + 1 > s->x1) s->x1 = c->e + 1;
    s->y1 = y + 1;
}

/* The state of the sweep, carved from the work buffer. */
typedef struct {
    rstat *st;
    int32_t *par;
    uint8_t *lev;
    int32_t nn, cap;
} forest;

static int32_t new_comp(forest *f, const run *c, int32_t y, int32_t W, int l)
{
    int32_t id = f->nn++;
    f->par[id] = id;
    f->lev[id] = (uint8_t)l;
    f->st[id] = (rstat){c->e - c->s + 1, y * W + c->s, c->s, y, c->e + 1, y + 1};
    return id;
}

static void push_run(rowruns *r, int l, int32_t s, int32_t e)
{
    int32_t i = r->n++;
    r->pool[i] = (run){s, e, -1, -1};
    if (r->head[l] < 0)
        r->head[l] = i;
    else
        r->pool[r->tail[l]].next = i;
    r->tail[l] = i;
    r->cnt[l]++;
}

/* The runs of row k (W pixels) into r. A row that rises and then falls
 * (one hump, the usual row of a smooth map) has one run per level, from the
 * column where the rise first reaches the level to the column before the
 * fall leaves it: one pass, and the runs go to pool[l - 1]. Any other row
 * takes the general scan, which opens levels on each rise and closes them
 * on each fall. Returns -1 when a key exceeds nlev or the row has more runs
 * than the pool holds. */
static int row_runs(rowruns *r, const uint8_t *k, int W, int nlev, size_t pcap,
                    int32_t *first, int32_t *last)
{
    int top = 0, peak = 0, falling = 0, x;
    for (x = 0; x < W; x++) {
        int kx = k[x];
        if (kx > top) {
            if (falling)
                break;
            for (int l = top + 1; l <= kx; l++)
                first[l] = x;
            peak = kx;
        } else if (kx < top) {
            falling = 1;
            for (int l = top; l > kx; l--)
                last[l] = x - 1;
        }
        top = kx;
    }
    r->n = 0;
    if (x == W) { /* one hump (or none) */
        if (peak > nlev || (size_t)peak > pcap)
            return -1;
        for (int l = top; l >= 1; l--)
            last[l] = W - 1;
        r->rmax = peak;
        r->simple = 1;
        for (int l = 1; l <= peak; l++) {
            r->pool[l - 1] = (run){first[l], last[l], -1, -1};
            r->head[l] = l - 1;
            r->cnt[l] = 1;
        }
        r->n = peak;
        return 0;
    }
    /* the general scan (first[] holds the open columns) */
    r->simple = 0;
    int m = 0;
    for (x = 0; x < W; x++)
        m = k[x] > m ? k[x] : m;
    if (m > nlev)
        return -1;
    r->rmax = m;
    for (int l = 1; l <= m; l++) {
        r->head[l] = -1;
        r->cnt[l] = 0;
    }
    top = 0;
    for (x = 0; x <= W; x++) {
        int kx = x < W ? k[x] : 0;
        if (kx > top) {
            for (int l = top + 1; l <= kx; l++)
                first[l] = x;
        } else if (kx < top) {
            for (int l = top; l > kx; l--) {
                if ((size_t)r->n >= pcap)
                    return -1;
                push_run(r, l, first[l], x - 1);
            }
        }
        top = kx;
    }
    return 0;
}

/* Level l has one run in each row: c extends p's component when they
 * touch, else opens its own. Returns -1 when no node is left. */
static inline int join_one(forest *f, const run *p, run *c, int32_t y, int32_t W, int l)
{
    if (p->s <= c->e + 1 && c->s <= p->e + 1) {
        int32_t r = rfind(f->par, p->lab);
        extend(&f->st[r], c, y);
        c->lab = r;
        return 0;
    }
    if (f->nn >= f->cap)
        return -1;
    c->lab = new_comp(f, c, y, W, l);
    return 0;
}

/* Join the runs of row y (cur) with those of row y - 1 (prev), level by
 * level: a run touches a run above it when they overlap after widening by
 * one column (8-connectivity). Each run gets the root of its component. */
static int join_rows(forest *f, rowruns *cur, const rowruns *prev, int32_t y, int32_t W)
{
    int l0 = 1;
    if (cur->simple && prev->simple) { /* one run per level in both rows */
        int lm = cur->rmax < prev->rmax ? cur->rmax : prev->rmax;
        const run *pp = prev->pool;
        run *cp = cur->pool;
        for (int l = 1; l <= lm; l++) {
            const run *p = &pp[l - 1];
            run *c = &cp[l - 1];
            if (join_one(f, p, c, y, W, l) < 0)
                return -1;
        }
        l0 = lm + 1;
    }
    for (int l = l0; l <= cur->rmax; l++) {
        int pc = l <= prev->rmax ? prev->cnt[l] : 0;
        if (pc == 1 && cur->cnt[l] == 1) { /* the usual case */
            const run *p = &prev->pool[prev->head[l]];
            run *c = &cur->pool[cur->head[l]];
            if (join_one(f, p, c, y, W, l) < 0)
                return -1;
            continue;
        }
        int32_t pi = pc > 0 ? prev->head[l] : -1;
        for (int32_t ci = cur->head[l]; ci >= 0; ci = cur->pool[ci].next) {
            run *c = &cur->pool[ci];
            while (pi >= 0 && prev->pool[pi].e + 1 < c->s)
                pi = prev->pool[pi].next;
            int32_t lab = -1;
            for (int32_t q = pi; q >= 0 && prev->pool[q].s <= c->e + 1; q = prev->pool[q].next) {
                int32_t r = rfind(f->par, prev->pool[q].lab);
                if (lab < 0) {
                    lab = r;
                    extend(&f->st[lab], c, y);
                } else if (r != lab) {
                    lab = runite(f->par, f->st, lab, r);
                }
            }
            if (lab < 0) {
                if (f->nn >= f->cap)
                    return -1;
                lab = new_comp(f, c, y, W, l);
            }
            c->lab = lab;
        }
    }
    return 0;
}

int sw_runs(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
            int ngt, int64_t cap, void *work)
{
    if (nlev < 1 || nlev > 255 || sw_runs_work_bytes(H, W, cap) == 0 ||
        (size_t)H > (size_t)INT32_MAX / (size_t)W)
        return -1;
    size_t c = (size_t)cap, pc = pool_cap(W, cap) + 1;
    char *w = work;
    forest f;
    f.st = (rstat *)(void *)w;
    w += al8(c * sizeof(rstat));
    f.par = (int32_t *)(void *)w;
    w += al8(c * sizeof(int32_t));
    f.lev = (uint8_t *)w;
    w += al8(c);
    f.nn = 0;
    f.cap = (int32_t)cap;
    rowruns rr[2];
    for (int i = 0; i < 2; i++) {
        rr[i].pool = (run *)(void *)w;
        w += al8(pc * sizeof(run));
    }
    int32_t *iw = (int32_t *)(void *)w;
    for (int i = 0; i < 2; i++) {
        rr[i].head = iw;
        rr[i].tail = iw + 256;
        rr[i].cnt = iw + 512;
        rr[i].n = 0;
        rr[i].rmax = 0;
        rr[i].simple = 0;
        iw += 768;
    }
    int32_t *first = iw, *last = iw + 256, *best = iw + 512;

    rowruns *prev = &rr[0], *cur = &rr[1];
    for (int y = 0; y < H; y++) {
        if (row_runs(cur, key + (size_t)y * (size_t)W, W, nlev, pc - 1, first, last) < 0 ||
            join_rows(&f, cur, prev, y, W) < 0)
            return -1;
        rowruns *t = prev;
        prev = cur;
        cur = t;
    }

    sw_read_roots(out, f.st, f.par, f.lev, f.nn, best, nlev, gt, ngt);
    return 0;
}
