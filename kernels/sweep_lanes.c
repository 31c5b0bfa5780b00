/* sweep_lanes.c: the threshold sweep over byte levels, by row runs, with the
 * levels as vector lanes.
 *
 * DESIGN
 * What: the same function as sw_runs (sweep_runs.c): key (H, W), one byte
 * per pixel in 0..nlev -> out[j - 1] for j = 1..nlev, the 8-connected
 * components of {key >= j} described as sw_sweep describes them. It is the
 * same run-based labelling (a run of a row joins the runs of the previous
 * row that it touches after widening by one column; union-find over run
 * components carrying pixel count, first pixel and box), organised so that
 * the usual case costs a few vector operations per row instead of a few
 * scalar steps per (row, level) pair.
 *
 * Why not the bilinear patch graph of issue 11: it needs the upsampler's
 * block structure (loc_eval sees only the upsampled map), per-map checks of
 * premises that were verified numerically, not proven, and a fallback; this
 * design has no premise at all: it is exact on any key map. Its fast case
 * (one run a level in both rows) is decided exactly per row and level.
 *
 * Algorithm, row by row:
 *   1. The row's peak and its positive steps (key[-1] = 0; their sum is the
 *      row's number of (level, run) pairs). When the sum equals the peak,
 *      every level has one run (one hump, the usual row of a smooth map);
 *      otherwise g and gl, the highest and the lowest level with two runs,
 *      come from prefix and suffix maxima (l has two runs iff some column y
 *      has key[y] < l <= min(max key[..y], max key[y..]), so gl is the
 *      smallest such key[y] + 1). Levels 1..gl-1 and g+1..peak have one
 *      run, the hull [first(l), last(l)] of the columns with key >= l,
 *      found without branches: scatters F[key[x]] = x (descending, up to
 *      the peak's first column) and L[key[x]] = x (ascending, from it), then
 *      a suffix min / max over the levels. Levels gl..g get per-level
 *      linked lists of runs, sorted by start, made level by level from
 *      the bits of k >= l over the columns of level gl's hull (64 columns
 *      a word, SSE2 compares): a bit that differs from the one before it
 *      starts a run or ends one, read off with ctz. (The scalar path makes
 *      the same lists column by column: a rise from a to b at x opens
 *      a+1..b, a fall closes them at x - 1. The SSE2 path did that too,
 *      from the columns where the row clamped to gl-1..g changes; its
 *      inner loops of unpredictable length cost about 20% of the sweep of
 *      a 96-px signed map, the bit words about 12%.) A smooth row of a
 *      signed map spans ~80 levels with ~6 multi-run ones between gl and g.
 *   2. Joining row y to row y - 1. The levels with one run in both rows
 *      (1..min gl - 1 and max g + 1..min peak, and when both rows have
 *      lists whose ranges gl..g do not meet, the levels between them up to
 *      the lower peak) are one branch-free pass
 *      each over level arrays (8 levels a step in AVX2): a
 *      run that touches the run above continues its component: the label,
 *      kept in one array for both rows, stays, and the run's stats go to
 *      per-level accumulators (count, x0, x1, y1) instead of the
 *      union-find node. A level whose runs do not touch opens a new
 *      component (scalar, after the pass, from the list of such levels the
 *      pass makes). Every other level takes the
 *      general merge of two sorted run lists (as in sw_runs), after
 *      flushing that level's accumulator.
 *   3. At the end the accumulators are flushed and one scan of the roots
 *      fills out[], as in sw_runs.
 * Exactness: a component's stats are sums, minima and maxima of its runs'
 * stats (first pixel: the node's own, never lowered by a later row), so
 * adding a run's stats to an accumulator that is folded into the root later
 * gives the same stats as adding them at once, provided the fold happens
 * before the root is read or united. Nodes of level l are only read or
 * united by the general merge at level l and by the final scan, and both
 * flush level l first. An accumulator only ever belongs to one node: it is
 * handed to a label when a single run gets one (general merge, new
 * component) and is empty then; a chain of touching single runs at level l
 * never meets a union (one run a row), and every other event at level l
 * flushes it first.
 *
 * Room: cap = 2 N + 64 nodes. A row opens at most one node a run, so a row
 * whose runs do not fit in the nodes left is refused (-1) before anything
 * is stored; the caller then takes another exact path (sw_sweep_keys: the
 * previous run sweep or the pixel union-find). A row's runs also fit its
 * pool: at most ceil(W / 2) a level, and at most cap.
 *
 * Work buffer (caller-owned, sw_lanes_work_bytes() bytes, 8-byte aligned):
 * node stats, parents, levels [cap]; two row pools of min(cap, ceil(W / 2)
 * * 255) + 1 runs; int32 level arrays [256] (two rows of start, end,
 * head, tail, one unused; the labels; the accumulators; scratch); W bytes.
 *
 * Vector code: SSE2 (peak and steps, the bit words of the lists; the
 * x86-64 baseline) and AVX2 (the two-run levels, 32 columns a step;
 * the hulls' suffix min / max and the lane join, 8 levels a step), each
 * beside a scalar loop; with SW_ISA_AVX512 the hulls and the lane join take
 * 16 levels a step, their partial blocks masked (no scalar remainder), and
 * the hulls skip the levels at or below the row's minimum (they span the
 * row: S = 0, E = W - 1), the rest as for AVX2. (Measured on an AMD EPYC
 * with AVX-512: the 16-level steps gain little over AVX2's 8.) isa chooses at run time (SW_ISA_AUTO: the widest the CPU
 * has, checked with sw_isa_supported; SW_ISA_SCALAR takes every scalar
 * loop). Integer only, so every path gives the same result (tested: the
 * three paths against sw_runs, the naive twin and each other).
 *
 * Thread safety: pure, no globals, no allocation; reentrant on distinct
 * out/work buffers.
 */
#include "kernels/sweep.h"
#include "kernels/sweep_int.h"

#include <stdint.h>
#include <string.h>

enum { NL = 256 }; /* level arrays, index = level 0..255 */

typedef sw_cstat lstat;

/* One run of one row at one level (general rows): columns s..e. */
typedef struct {
    int32_t s, e, lab, next;
} lrun;

/* One row. Simple rows use S, E, LB (index = level, 1..peak); general rows
 * use the pool lists head / tail. */
typedef struct {
    int32_t *S, *E, *LB, *head, *tail;
    lrun *pool;
    int32_t n, peak;
    int32_t g;  /* the highest level with two runs or more (0: none) */
    int32_t gl; /* the lowest such (g > 0), peak + 1 when g == 0: levels gl..g
                   have lists, 1..gl-1 and g+1..peak one run each, S, E, LB */
} lrow;

/* Accumulators of the chains of single touching runs, per level. */
typedef struct {
    int32_t *n, *x0, *x1, *y1, *lab; /* lab: node they belong to, -1: empty */
} lacc;

typedef struct {
    lstat *st;
    int32_t *par;
    uint8_t *lev;
    int32_t nn;
} lforest;

static size_t al8(size_t n) { return (n + 7u) & ~(size_t)7u; }

static int64_t lanes_cap(int H, int W) { return (int64_t)((size_t)H * (size_t)W * 2) + 64; }

static size_t lpool_cap(int W, int64_t cap)
{
    size_t c = ((size_t)W + 1) / 2 * 255u;
    return (c < (size_t)cap ? c : (size_t)cap) + 1;
}

size_t sw_lanes_work_bytes(int H, int W, int nlev)
{
    if (H < 1 || W < 1 || nlev < 1 || nlev > 255 || (size_t)H > (size_t)INT32_MAX / (size_t)W)
        return 0;
    int64_t cap = lanes_cap(H, W);
    if (cap > INT32_MAX)
        return 0;
    size_t c = (size_t)cap, pc = lpool_cap(W, cap);
    return al8(c * sizeof(lstat)) + al8(c * sizeof(int32_t)) + al8(c) +
           2 * al8(pc * sizeof(lrun)) + 26 * NL * sizeof(int32_t) + al8((size_t)W);
}

#define lfind sw_cfind

static inline int32_t lunite(lforest *f, int32_t a, int32_t b)
{
    return sw_cunite(f->par, f->st, a, b);
}

static int32_t lnew(lforest *f, int32_t s, int32_t e, int32_t y, int32_t W, int l)
{
    int32_t id = f->nn++;
    f->par[id] = id;
    f->lev[id] = (uint8_t)l;
    f->st[id] = (lstat){e - s + 1, y * W + s, s, y, e + 1, y + 1};
    return id;
}

/* Fold level l's accumulator into its node's root and empty it. */
static void lflush(lforest *f, lacc *a, int l)
{
    if (a->lab[l] < 0)
        return;
    lstat *s = &f->st[lfind(f->par, a->lab[l])];
    s->n += a->n[l];
    if (a->x0[l] < s->x0) s->x0 = a->x0[l];
    if (a->x1[l] > s->x1) s->x1 = a->x1[l];
    if (a->y1[l] > s->y1) s->y1 = a->y1[l];
    a->lab[l] = -1;
    a->n[l] = 0;
    a->x0[l] = INT32_MAX;
    a->x1[l] = 0;
    a->y1[l] = 0;
}

/* Row scans (two_run_scalar, peak_up_sse2, hmax_epu8): kernels/sweep_rows.c. */
#if defined(__SSE2__)
#define LJ_SSE2 1
#endif

/* Appends the run s..e to level l's list of row r. */
static inline void lpush(lrow *r, int l, int32_t s, int32_t e)
{
    int32_t i = r->n++;
    r->pool[i] = (lrun){s, e, -1, -1};
    if (r->head[l] < 0)
        r->head[l] = i;
    else
        r->pool[r->tail[l]].next = i;
    r->tail[l] = i;
}

#ifdef LJ_SSE2
/* The columns x .. x + 63 (x + 63 < W) with k >= l, as bits (SSE2: four
 * compares of 16 columns, k >= l where max(k, l) == k). */
static inline uint64_t lbits64(const uint8_t *k, int x, __m128i lv)
{
    uint64_t m = 0;
    for (int i = 0; i < 4; i++) {
        __m128i kv = _mm_loadu_si128((const __m128i *)(const void *)(k + x + 16 * i));
        m |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(kv, lv), kv))
             << (16 * i);
    }
    return m;
}

/* The lists of levels gl..g (1 <= gl <= g), level by level: the columns
 * with k >= l as bit words of 64 columns, whose changes (a bit that differs
 * from the one before it) are the runs' starts and the columns after their
 * ends, read off with ctz. Only columns x0..x1 are scanned, level l's hull
 * S[l]..E[l] when hull (else the whole row): every column with k >= l lies
 * there, and columns x0 - 1 and x1 + 1 are below l. Each level's list
 * is sorted by start, as the scalar loop's; the runs go to the pool in
 * level order rather than the scalar loop's column order, which changes
 * only their places in the pool (the joins read the lists, not the pool's
 * order). */
static void lists_sse2(lrow *r, const uint8_t *k, int W, int gl, int g, int hull)
{
    for (int l = gl; l <= g; l++) {
        int x0 = hull ? r->S[l] : 0, x1 = hull ? r->E[l] : W - 1;
        const __m128i lv = _mm_set1_epi8((char)(uint8_t)l);
        uint64_t prev = 0; /* the bit of the column before the word (x0 - 1: 0) */
        int32_t open = 0, in = 0;
        for (int x = x0; x <= x1; x += 64) {
            uint64_t m;
            if (x + 64 <= W) {
                m = lbits64(k, x, lv);
            } else if (W >= 64) { /* the row's last 64 columns, shifted */
                m = lbits64(k, W - 64, lv) >> (x - (W - 64));
            } else { /* a row of fewer than 64 columns: bit by bit */
                m = 0;
                for (int i = 0; x + i < W; i++)
                    m |= (uint64_t)(k[x + i] >= l) << i;
            }
            if (x1 - x < 63)
                m &= (UINT64_C(2) << (x1 - x)) - 1u; /* columns past x1 count as below */
            uint64_t ch = m ^ ((m << 1) | prev);
            prev = m >> 63;
            while (ch) {
                int32_t xx = x + __builtin_ctzll(ch);
                ch &= ch - 1;
                if (!in)
                    open = xx;
                else
                    lpush(r, l, open, xx - 1);
                in ^= 1;
            }
        }
        if (in) /* a run open at x1: x1 is its end */
            lpush(r, l, open, x1);
    }
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LJ_X86 1
/* The suffix minima of F and maxima of L over the levels, 8 levels a step
 * from the peak down (S[l] = min(F[l..peak]), E[l] = max(L[l..peak])):
 * within a vector by three shifted copies (a lane index clipped at the top
 * lane only repeats a lane already in the suffix), then the carry of the
 * block above. Returns the highest level left for the scalar loop (< 8),
 * *f, *e its carries. */
__attribute__((target("avx2"))) static int hull_avx2(int32_t *S, int32_t *E, const int32_t *F,
                                                     const int32_t *L, int peak, int32_t *f,
                                                     int32_t *e)
{
    const __m256i i1 = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);
    const __m256i i2 = _mm256_setr_epi32(2, 3, 4, 5, 6, 7, 7, 7);
    const __m256i i4 = _mm256_setr_epi32(4, 5, 6, 7, 7, 7, 7, 7);
    const __m256i i0 = _mm256_setzero_si256();
    __m256i cf = _mm256_set1_epi32(*f), ce = _mm256_set1_epi32(*e);
    int l = peak;
    for (; l >= 8; l -= 8) { /* levels l - 7 .. l */
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(F + l - 7));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(L + l - 7));
        a = _mm256_min_epi32(a, _mm256_permutevar8x32_epi32(a, i1));
        b = _mm256_max_epi32(b, _mm256_permutevar8x32_epi32(b, i1));
        a = _mm256_min_epi32(a, _mm256_permutevar8x32_epi32(a, i2));
        b = _mm256_max_epi32(b, _mm256_permutevar8x32_epi32(b, i2));
        a = _mm256_min_epi32(a, _mm256_permutevar8x32_epi32(a, i4));
        b = _mm256_max_epi32(b, _mm256_permutevar8x32_epi32(b, i4));
        a = _mm256_min_epi32(a, cf);
        b = _mm256_max_epi32(b, ce);
        _mm256_storeu_si256((__m256i *)(void *)(S + l - 7), a);
        _mm256_storeu_si256((__m256i *)(void *)(E + l - 7), b);
        cf = _mm256_permutevar8x32_epi32(a, i0);
        ce = _mm256_permutevar8x32_epi32(b, i0);
    }
    *f = _mm256_cvtsi256_si32(cf);
    *e = _mm256_cvtsi256_si32(ce);
    return l;
}
/* F[rmin + 1..peak] = W and L[rmin + 1..peak] = -1 (the scalar loop in
 * lrow_scan, less the levels at or below the row's minimum rmin, which
 * hull_avx512 does not read), 16 levels a store, the last block masked. */
__attribute__((target("avx512f,avx512vl,avx2"))) static void
hull_init_avx512(int32_t *F, int32_t *L, int rmin, int peak, int W)
{
    const __m512i wv = _mm512_set1_epi32(W), nv = _mm512_set1_epi32(-1);
    for (int l = rmin + 1; l <= peak; l += 16) {
        __mmask16 in = peak - l >= 15 ? (__mmask16)0xFFFF : (__mmask16)((1u << (peak - l + 1)) - 1u);
        _mm512_mask_storeu_epi32(F + l, in, wv);
        _mm512_mask_storeu_epi32(L + l, in, nv);
    }
}

/* The same suffix minima and maxima, 16 levels a step in AVX-512 (four
 * shifted copies a step), levels peak down to rmin + 1: the last, partial
 * block loads only its levels (the other lanes hold W and -1, which change
 * no minimum or maximum) and stores only them, so no level is left for a
 * scalar loop. Levels 1..rmin, rmin the row's minimum, span the whole row
 * (S = 0, E = W - 1: every column has k >= rmin), filled 16 a store; the
 * scatter's writes to F[rmin] and L[rmin] are not read. */
__attribute__((target("avx512f,avx512vl,avx2"))) static void
hull_avx512(int32_t *S, int32_t *E, const int32_t *F, const int32_t *L, int rmin, int peak,
            int W)
{
    const __m512i i1 = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15);
    const __m512i i2 = _mm512_setr_epi32(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15, 15);
    const __m512i i4 = _mm512_setr_epi32(4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15, 15, 15, 15);
    const __m512i i8 = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 15, 15, 15, 15, 15, 15, 15,
                                         15);
    const __m512i i0 = _mm512_setzero_si512();
    const __m512i wv = _mm512_set1_epi32(W), nv = _mm512_set1_epi32(-1);
    __m512i cf = wv, ce = nv;
    for (int l = peak; l > rmin;) { /* levels b .. l */
        int b = l - 15 > rmin + 1 ? l - 15 : rmin + 1;
        __mmask16 in = (__mmask16)((1u << (l - b + 1)) - 1u);
        __m512i a = _mm512_mask_loadu_epi32(wv, in, F + b);
        __m512i c = _mm512_mask_loadu_epi32(nv, in, L + b);
        a = _mm512_min_epi32(a, _mm512_permutexvar_epi32(i1, a));
        c = _mm512_max_epi32(c, _mm512_permutexvar_epi32(i1, c));
        a = _mm512_min_epi32(a, _mm512_permutexvar_epi32(i2, a));
        c = _mm512_max_epi32(c, _mm512_permutexvar_epi32(i2, c));
        a = _mm512_min_epi32(a, _mm512_permutexvar_epi32(i4, a));
        c = _mm512_max_epi32(c, _mm512_permutexvar_epi32(i4, c));
        a = _mm512_min_epi32(a, _mm512_permutexvar_epi32(i8, a));
        c = _mm512_max_epi32(c, _mm512_permutexvar_epi32(i8, c));
        a = _mm512_min_epi32(a, cf);
        c = _mm512_max_epi32(c, ce);
        _mm512_mask_storeu_epi32(S + b, in, a);
        _mm512_mask_storeu_epi32(E + b, in, c);
        cf = _mm512_permutexvar_epi32(i0, a);
        ce = _mm512_permutexvar_epi32(i0, c);
        l = b - 1;
    }
    const __m512i z = _mm512_setzero_si512(), ev = _mm512_set1_epi32(W - 1);
    for (int l = 1; l <= rmin; l += 16) {
        __mmask16 in = rmin - l >= 15 ? (__mmask16)0xFFFF : (__mmask16)((1u << (rmin - l + 1)) - 1u);
        _mm512_mask_storeu_epi32(S + l, in, z);
        _mm512_mask_storeu_epi32(E + l, in, ev);
    }
}

/* The highest and lowest levels with two runs from the formula (see
 * two_run_scalar), 32 columns a step: prefix maxima into pm (log-step
 * shifts inside each 128-bit half, then the low half's last byte into the
 * high half, then the carry of the step before), then suffix maxima from
 * the right the same way, fused with the test; the columns left over at
 * either end in scalar. pm: (W) scratch. */
__attribute__((target("avx2"))) static int32_t two_run_avx2(const uint8_t *k, int W,
                                                            uint8_t *pm, int32_t *low)
{
    const __m256i b15 = _mm256_set1_epi8(15), b0 = _mm256_setzero_si256();
    int x = 0;
    __m256i carry = _mm256_setzero_si256();
    for (; x + 32 <= W; x += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(k + x));
        v = _mm256_max_epu8(v, _mm256_slli_si256(v, 1));
        v = _mm256_max_epu8(v, _mm256_slli_si256(v, 2));
        v = _mm256_max_epu8(v, _mm256_slli_si256(v, 4));
        v = _mm256_max_epu8(v, _mm256_slli_si256(v, 8));
        __m256i t = _mm256_shuffle_epi8(v, b15); /* each half's last byte, broadcast */
        v = _mm256_max_epu8(v, _mm256_permute2x128_si256(t, t, 0x08)); /* low's into high */
        v = _mm256_max_epu8(v, carry);
        _mm256_storeu_si256((__m256i *)(void *)(pm + x), v);
        t = _mm256_shuffle_epi8(v, b15);
        carry = _mm256_permute2x128_si256(t, t, 0x11); /* the high half's, both halves */
    }
    uint8_t m = x > 0 ? pm[x - 1] : 0;
    for (; x < W; x++) {
        m = k[x] > m ? k[x] : m;
        pm[x] = m;
    }
    __m256i gv = _mm256_setzero_si256(), lv = _mm256_set1_epi8((char)-1);
    carry = _mm256_setzero_si256();
    for (x = W - 32; x >= 0; x -= 32) {
        __m256i kv = _mm256_loadu_si256((const __m256i *)(const void *)(k + x));
        __m256i v = _mm256_max_epu8(kv, _mm256_srli_si256(kv, 1));
        v = _mm256_max_epu8(v, _mm256_srli_si256(v, 2));
        v = _mm256_max_epu8(v, _mm256_srli_si256(v, 4));
        v = _mm256_max_epu8(v, _mm256_srli_si256(v, 8));
        __m256i t = _mm256_shuffle_epi8(v, b0); /* each half's first byte, broadcast */
        v = _mm256_max_epu8(v, _mm256_permute2x128_si256(t, t, 0x81)); /* high's into low */
        v = _mm256_max_epu8(v, carry);
        t = _mm256_shuffle_epi8(v, b0);
        carry = _mm256_permute2x128_si256(t, t, 0x00); /* the low half's, both halves */
        __m256i mn =
            _mm256_min_epu8(v, _mm256_loadu_si256((const __m256i *)(const void *)(pm + x)));
        __m256i kge = _mm256_cmpeq_epi8(_mm256_max_epu8(kv, mn), kv); /* k >= mn */
        gv = _mm256_max_epu8(gv, _mm256_andnot_si256(kge, mn));
        lv = _mm256_min_epu8(lv, _mm256_or_si256(kv, kge)); /* k where k < mn, else 255 */
    }
    uint8_t sm = (uint8_t)_mm256_cvtsi256_si32(carry), gb[32], lb[32];
    _mm256_storeu_si256((__m256i *)(void *)gb, gv);
    _mm256_storeu_si256((__m256i *)(void *)lb, lv);
    __m128i g16 = _mm_max_epu8(_mm_loadu_si128((const __m128i *)(const void *)gb),
                               _mm_loadu_si128((const __m128i *)(const void *)(gb + 16)));
    __m128i l16 = _mm_min_epu8(_mm_loadu_si128((const __m128i *)(const void *)lb),
                               _mm_loadu_si128((const __m128i *)(const void *)(lb + 16)));
    int32_t g = hmax_epu8(g16); /* the min as 255 - the max of the complements */
    int32_t lo = 255 - hmax_epu8(_mm_xor_si128(l16, _mm_set1_epi8((char)-1)));
    for (x = x + 31; x >= 0; x--) { /* the first W % 32 columns */
        sm = k[x] > sm ? k[x] : sm;
        uint8_t mn = pm[x] < sm ? pm[x] : sm;
        g = k[x] < mn && mn > g ? mn : g;
        lo = k[x] < mn && k[x] < lo ? k[x] : lo;
    }
    *low = g > 0 ? lo + 1 : 0; /* k < mn <= 255 where it counts: lo + 1 <= 255 */
    return g;
}
#endif

int sw_two_run_level(const uint8_t *k, int W, uint8_t *pm, int isa, int *low)
{
    if (W < 1 || !sw_isa_supported(isa))
        return -1;
    if (isa == SW_ISA_AUTO)
        isa = sw_isa_supported(SW_ISA_AVX2) ? SW_ISA_AVX2 : SW_ISA_SCALAR;
    int32_t lo, g;
#ifdef LJ_X86
    if (isa == SW_ISA_AVX2)
        g = two_run_avx2(k, W, pm, &lo);
    else
#endif
        g = sw_two_run_scalar(k, W, &lo);
    (void)pm;
    if (low != NULL)
        *low = lo;
    return g;
}


/* Step 1 for row k: peak, the highest level g with more than one run
 * (0: none), the runs. Levels g+1..peak have one run each, the hull
 * [first(l), last(l)] -> S, E; levels 1..g get per-level lists. F, L, O:
 * scratch [NL]. Returns the row's number of runs, or -1 when a key exceeds
 * nlev or the row has more than room runs (checked before any run is
 * stored; room is at most the pool's, cap).
 * g without branches: a rise to k[x] reopens the levels up to min(k[x], c),
 * c the highest level a fall has closed so far in the row. */
static int64_t lrow_scan(lrow *r, const uint8_t *k, int W, int nlev, int64_t room, int32_t *F,
                         int32_t *L, int32_t *O, uint8_t *pm, int isa)
{
    /* peak and positive steps */
    int32_t peak = 0, up = k[0], g = 0, rmin = 0; /* rmin: the row's minimum (SSE2 paths) */
#ifdef LJ_SSE2
    if (isa != SW_ISA_SCALAR)
        sw_peak_up_sse2(k, W, &peak, &up, &rmin);
    else
#endif
    {
        for (int x = 0; x < W; x++)
            peak = k[x] > peak ? k[x] : peak;
        for (int x = 1; x < W; x++)
            up += k[x] > k[x - 1] ? k[x] - k[x - 1] : 0;
    }
    int32_t gl = 0;
    if (up != peak) { /* not one hump: the highest and lowest levels with two runs */
#ifdef LJ_SSE2
        if (isa >= SW_ISA_AVX2)
            g = two_run_avx2(k, W, pm, &gl);
        else
#endif
            g = sw_two_run_scalar(k, W, &gl);
    }
    if (peak > nlev || up > room)
        return -1;
    r->peak = peak;
    r->g = g;
    r->gl = g > 0 ? gl : peak + 1;
    r->n = 0;
    if (peak == 0)
        return 0;
    if (g < peak || gl > 1) { /* the hulls of the single-run levels */
#ifdef LJ_X86
        if (isa == SW_ISA_AVX512)
            hull_init_avx512(F, L, rmin, peak, W);
        else
#endif
            for (int l = 1; l <= peak; l++) {
                F[l] = W;
                L[l] = -1;
            }
        /* a level's first column is at or before the peak, its last at or
           after it: one scatter a pixel */
        int am = (int)((const uint8_t *)memchr(k, peak, (size_t)W) - k);
        int x = am;
        for (; x >= 3; x -= 4) { /* unrolled by hand, same stores in the same order */
            F[k[x]] = x;
            F[k[x - 1]] = x - 1;
            F[k[x - 2]] = x - 2;
            F[k[x - 3]] = x - 3;
        }
        for (; x >= 0; x--)
            F[k[x]] = x;
        for (x = am; x + 3 < W; x += 4) {
            L[k[x]] = x;
            L[k[x + 1]] = x + 1;
            L[k[x + 2]] = x + 2;
            L[k[x + 3]] = x + 3;
        }
        for (; x < W; x++)
            L[k[x]] = x;
        int32_t f = W, e = -1, l = peak;
#ifdef LJ_X86
        if (isa == SW_ISA_AVX512) {
            hull_avx512(r->S, r->E, F, L, rmin, peak, W);
            l = 0;
        } else if (isa == SW_ISA_AVX2) {
            l = hull_avx2(r->S, r->E, F, L, peak, &f, &e);
        }
#endif
        for (; l >= 1; l--) { /* (levels gl..g unused) */
            f = F[l] < f ? F[l] : f;
            e = L[l] > e ? L[l] : e;
            r->S[l] = f;
            r->E[l] = e;
        }
    }
    if (g == 0)
        return up;
    /* levels gl..g: per-level lists, sorted by start (O holds the open columns) */
    for (int l = gl; l <= g; l++) {
        r->head[l] = -1;
    }
#ifdef LJ_SSE2
    if (isa != SW_ISA_SCALAR) {
        lists_sse2(r, k, W, gl, g, g < peak || gl > 1); /* (S, E computed) */
        return up;
    }
#endif
    int top = 0;
    for (int x = 0; x <= W; x++) {
        int kx = x < W ? k[x] : 0;
        if (kx > top) {
            for (int l = top + 1 > gl ? top + 1 : gl; l <= kx && l <= g; l++)
                O[l] = x;
        } else if (kx < top) {
            for (int l = top < g ? top : g; l > kx && l >= gl; l--)
                lpush(r, l, O[l], x - 1);
        }
        top = kx;
    }
    return up;
}

/* The branch-free join of levels lo..hi, which have one run in both rows:
 * a run that touches the one above continues its component (its label in
 * LB, shared by the two rows, stays; its stats go to the accumulators,
 * which belong to that label). Returns the number of levels whose runs do
 * not touch (left as they were, for the caller), listed ascending in
 * badl: (hi - lo + 1) scratch. */
static int32_t ljoin_scalar(int32_t *an, int32_t *ax0, int32_t *ax1, int32_t *ay1,
                            const int32_t *S, const int32_t *E, const int32_t *PS,
                            const int32_t *PE, int lo, int hi, int32_t y, int32_t *badl)
{
    int32_t bad = 0;
    for (int l = lo; l <= hi; l++) {
        int32_t s = S[l], e = E[l] + 1, ps = PS[l], pe = PE[l] + 1;
        int32_t ov = (ps <= e) & (s <= pe);
        int32_t x0 = ax0[l], x1 = ax1[l];
        an[l] += ov ? e - s : 0;
        ax0[l] = ov && s < x0 ? s : x0;
        ax1[l] = ov && e > x1 ? e : x1;
        ay1[l] = ov ? y + 1 : ay1[l];
        badl[bad] = l; /* kept only where the runs do not touch */
        bad += 1 - ov;
    }
    return bad;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The same, 8 levels a step in AVX2 (the compiler does not vectorise the
 * scalar loop by itself); the scalar loop only for levels within 8 of the
 * arrays' end. */
__attribute__((target("avx2"))) static int32_t
ljoin_avx2(int32_t *an, int32_t *ax0, int32_t *ax1, int32_t *ay1, const int32_t *S,
           const int32_t *E, const int32_t *PS, const int32_t *PE, int lo, int hi, int32_t y,
           int32_t *badl)
{
    int32_t bad = 0;
    const __m256i one = _mm256_set1_epi32(1), yv = _mm256_set1_epi32(y + 1);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int l = lo;
    /* 8 levels a step; the last partial step too while l + 7 stays inside
       the level arrays (NL entries): its lanes past hi count as "no" (left
       as they were: the stores write back what was loaded) and are not
       listed */
    for (; l <= hi && l + 8 <= NL; l += 8) {
#define LD(p) _mm256_loadu_si256((const __m256i *)(const void *)((p) + l))
#define ST(p, v) _mm256_storeu_si256((__m256i *)(void *)((p) + l), (v))
        __m256i past = _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(hi - l));
        __m256i sv = LD(S), ev = _mm256_add_epi32(LD(E), one);
        __m256i psv = LD(PS), pev = _mm256_add_epi32(LD(PE), one);
        /* no: the runs do not touch (ps > e or s > pe) */
        __m256i no = _mm256_or_si256(_mm256_cmpgt_epi32(psv, ev), _mm256_cmpgt_epi32(sv, pev));
        __m256i keep = _mm256_or_si256(no, past);
        __m256i n = LD(an), x0 = LD(ax0), x1 = LD(ax1), y1 = LD(ay1);
        ST(an, _mm256_add_epi32(n, _mm256_andnot_si256(keep, _mm256_sub_epi32(ev, sv))));
        ST(ax0, _mm256_blendv_epi8(_mm256_min_epi32(x0, sv), x0, keep));
        ST(ax1, _mm256_blendv_epi8(_mm256_max_epi32(x1, ev), x1, keep));
        ST(ay1, _mm256_blendv_epi8(yv, y1, keep));
        for (unsigned bits = (unsigned)_mm256_movemask_ps(
                 _mm256_castsi256_ps(_mm256_andnot_si256(past, no)));
             bits; bits &= bits - 1)
            badl[bad++] = l + __builtin_ctz(bits);
#undef LD
#undef ST
    }
    if (l <= hi)
        bad += ljoin_scalar(an, ax0, ax1, ay1, S, E, PS, PE, l, hi, y, badl + bad);
    return bad;
}
#endif

#ifdef LJ_X86
/* The same, 16 levels a step in AVX-512: the lanes past hi are masked off
 * (not loaded, not stored, not listed), so no level is left for a scalar
 * loop; masked stores write only the levels whose runs touch, as the
 * blends of ljoin_avx2 keep the others. */
__attribute__((target("avx512f,avx512vl,avx2"))) static int32_t
ljoin_avx512(int32_t *an, int32_t *ax0, int32_t *ax1, int32_t *ay1, const int32_t *S,
             const int32_t *E, const int32_t *PS, const int32_t *PE, int lo, int hi, int32_t y,
             int32_t *badl)
{
    int32_t bad = 0;
    const __m512i one = _mm512_set1_epi32(1), yv = _mm512_set1_epi32(y + 1);
    for (int l = lo; l <= hi; l += 16) {
        __mmask16 in = hi - l >= 15 ? (__mmask16)0xFFFF : (__mmask16)((1u << (hi - l + 1)) - 1u);
#define LD(p) _mm512_maskz_loadu_epi32(in, (p) + l)
        __m512i sv = LD(S), ev = _mm512_add_epi32(LD(E), one);
        __m512i psv = LD(PS), pev = _mm512_add_epi32(LD(PE), one);
        /* no: the runs do not touch (ps > e or s > pe) */
        __mmask16 no = _mm512_mask_cmpgt_epi32_mask(in, psv, ev) |
                       _mm512_mask_cmpgt_epi32_mask(in, sv, pev);
        __mmask16 ov = in & (__mmask16)~no;
        __m512i n = _mm512_maskz_loadu_epi32(ov, an + l), x0 = _mm512_maskz_loadu_epi32(ov, ax0 + l);
        __m512i x1 = _mm512_maskz_loadu_epi32(ov, ax1 + l);
        _mm512_mask_storeu_epi32(an + l, ov, _mm512_add_epi32(n, _mm512_sub_epi32(ev, sv)));
        _mm512_mask_storeu_epi32(ax0 + l, ov, _mm512_min_epi32(x0, sv));
        _mm512_mask_storeu_epi32(ax1 + l, ov, _mm512_max_epi32(x1, ev));
        _mm512_mask_storeu_epi32(ay1 + l, ov, yv);
        for (unsigned bits = no; bits; bits &= bits - 1)
            badl[bad++] = l + __builtin_ctz(bits);
#undef LD
    }
    return bad;
}

#endif

/* The general merge at level l: the runs of cur (a list, or the single run
 * of a simple row) against those of prev (same, or none when l is above
 * prev's peak). Each cur run gets the root of its component. */
static void ljoin_general(lforest *f, lacc *a, lrow *cur, const lrow *prev, int l, int32_t y,
                          int32_t W)
{
    lflush(f, a, l);
    lrun one_p = {0, -1, -1, -1}, one_c;
    const lrun *pp;
    lrun *cp;
    int32_t pi = -1, ci;
    if (l <= prev->peak) {
        if (l > prev->g || l < prev->gl) {
            one_p = (lrun){prev->S[l], prev->E[l], prev->LB[l], -1};
            pp = &one_p;
            pi = 0;
        } else {
            pp = prev->pool;
            pi = prev->head[l];
        }
    } else {
        pp = &one_p;
    }
    int csingle = l > cur->g || l < cur->gl;
    if (csingle) {
        one_c = (lrun){cur->S[l], cur->E[l], -1, -1};
        cp = &one_c;
        ci = 0;
    } else {
        cp = cur->pool;
        ci = cur->head[l];
    }
    for (; ci >= 0; ci = cp[ci].next) {
        lrun *c = &cp[ci];
        while (pi >= 0 && pp[pi].e + 1 < c->s)
            pi = pp[pi].next;
        int32_t lab = -1;
        for (int32_t q = pi; q >= 0 && pp[q].s <= c->e + 1; q = pp[q].next) {
            int32_t r = lfind(f->par, pp[q].lab);
            if (lab < 0) {
                lab = r;
                lstat *s = &f->st[lab];
                s->n += c->e - c->s + 1;
                if (c->s < s->x0) s->x0 = c->s;
                if (c->e + 1 > s->x1) s->x1 = c->e + 1;
                s->y1 = y + 1;
            } else if (r != lab) {
                lab = lunite(f, lab, r);
            }
        }
        if (lab < 0)
            lab = lnew(f, c->s, c->e, y, W, l);
        c->lab = lab;
    }
    if (csingle) { /* its accumulator (empty) now belongs to this label */
        cur->LB[l] = one_c.lab;
        a->lab[l] = one_c.lab;
    }
}

/* Levels lo..hi (none when lo > hi) have one run in both rows: the
 * branch-free join, then a new component for each level whose runs do not
 * touch. */
static void join_single(lforest *f, lacc *a, lrow *cur, const lrow *prev, int lo, int hi,
                        int32_t y, int32_t W, int isa, int32_t *badl)
{
    if (lo > hi)
        return;
    int32_t bad;
#ifdef LJ_X86
    if (isa == SW_ISA_AVX512)
        bad = ljoin_avx512(a->n, a->x0, a->x1, a->y1, cur->S, cur->E, prev->S, prev->E, lo, hi,
                           y, badl);
    else if (isa == SW_ISA_AVX2)
        bad = ljoin_avx2(a->n, a->x0, a->x1, a->y1, cur->S, cur->E, prev->S, prev->E, lo, hi, y,
                         badl);
    else
#endif
        bad = ljoin_scalar(a->n, a->x0, a->x1, a->y1, cur->S, cur->E, prev->S, prev->E, lo, hi,
                           y, badl);
    (void)isa;
    for (int32_t i = 0; i < bad; i++) { /* the levels whose runs do not touch, ascending */
        int l = badl[i];
        lflush(f, a, l);
        cur->LB[l] = lnew(f, cur->S[l], cur->E[l], y, W, l);
        a->lab[l] = cur->LB[l];
    }
}

int sw_lanes(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
             int ngt, int isa, void *work)
{
    if (sw_lanes_work_bytes(H, W, nlev) == 0)
        return -1;
    if (isa == SW_ISA_AUTO)
        isa = sw_isa_supported(SW_ISA_AVX512) ? SW_ISA_AVX512
              : sw_isa_supported(SW_ISA_AVX2) ? SW_ISA_AVX2 : SW_ISA_SCALAR;
    if (!sw_isa_supported(isa))
        return -1;
    int64_t cap = lanes_cap(H, W);
    size_t c = (size_t)cap, pc = lpool_cap(W, cap);
    char *w = work;
    lforest f;
    f.st = (lstat *)(void *)w;
    w += al8(c * sizeof(lstat));
    f.par = (int32_t *)(void *)w;
    w += al8(c * sizeof(int32_t));
    f.lev = (uint8_t *)w;
    w += al8(c);
    f.nn = 0;
    lrow rows[2];
    for (int i = 0; i < 2; i++) {
        rows[i].pool = (lrun *)(void *)w;
        w += al8(pc * sizeof(lrun));
    }
    int32_t *iw = (int32_t *)(void *)w;
    for (int i = 0; i < 2; i++) {
        lrow *r = &rows[i];
        r->S = iw;
        r->E = iw + NL;
        r->LB = rows[0].S + 2 * NL; /* one label array for both rows */
        r->head = iw + 3 * NL;
        r->tail = iw + 4 * NL;
        r->n = 0;
        r->peak = 0;
        r->g = 0;
        r->gl = 1;
        iw += 6 * NL;
    }
    lacc a = {iw, iw + NL, iw + 2 * NL, iw + 3 * NL, iw + 4 * NL};
    for (int l = 0; l < NL; l++) {
        a.n[l] = 0;
        a.x0[l] = INT32_MAX;
        a.x1[l] = 0;
        a.y1[l] = 0;
        a.lab[l] = -1;
    }
    iw += 5 * NL;
    int32_t *F = iw, *L = iw + NL, *O = iw + 3 * NL; /* scratch */
    int32_t *badl = iw + 2 * NL;                     /* (NL) */
    int32_t *best = iw + 4 * NL;
    uint8_t *pm = (uint8_t *)(void *)(iw + 5 * NL); /* (W) */

    lrow *prev = &rows[0], *cur = &rows[1];
    for (int32_t y = 0; y < H; y++) {
        /* a row opens at most one node a run: room for all of them */
        if (lrow_scan(cur, key + (size_t)y * (size_t)W, W, nlev, cap - f.nn, F, L, O, pm, isa) < 0)
            return -1;
        /* levels with one run in both rows: the vector join, on the low
           range 1..lh and the high range hl..hh; every other level of cur
           takes the general merge */
        int lh = (cur->gl < prev->gl ? cur->gl : prev->gl) - 1;
        int hl = (cur->g > prev->g ? cur->g : prev->g) + 1;
        int hh = cur->peak < prev->peak ? cur->peak : prev->peak;
        hl = hl > lh ? hl : lh + 1;
        join_single(&f, &a, cur, prev, 1, lh, y, W, isa, badl);
        join_single(&f, &a, cur, prev, hl, hh, y, W, isa, badl);
        if (hl > hh)
            hl = hh = cur->peak + 1; /* no high range: nothing to skip */
        /* when both rows have lists and their ranges gl..g do not meet, the
           levels between them (up to both peaks) have one run in both rows
           too: a middle range ml..mh for the vector join */
        int ml = (cur->g < prev->g ? cur->g : prev->g) + 1;
        int mh = (cur->gl > prev->gl ? cur->gl : prev->gl) - 1;
        int pk = cur->peak < prev->peak ? cur->peak : prev->peak;
        mh = mh < pk ? mh : pk;
        if (cur->g == 0 || prev->g == 0 || ml > mh)
            ml = mh = cur->peak + 1; /* none */
        else
            join_single(&f, &a, cur, prev, ml, mh, y, W, isa, badl);
        for (int l = lh + 1; l <= cur->peak; l++) {
            if (l == ml)
                l = mh + 1;
            if (l == hl)
                l = hh + 1;
            if (l > cur->peak)
                break;
            ljoin_general(&f, &a, cur, prev, l, y, W);
        }
        lrow *t = prev;
        prev = cur;
        cur = t;
    }
    for (int l = 1; l < NL; l++)
        lflush(&f, &a, l);

    sw_read_roots(out, f.st, f.par, f.lev, f.nn, best, nlev, gt, ngt);
    return 0;
}
