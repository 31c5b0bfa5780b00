/* sweep_norm.c: both normalisations of a map swept at once, straight from the map.
 *
 * DESIGN
 * What: for a map m (H, W) with mx > 0 and mn < mx (its extremes, as
 * loc_eval finds them), the same sw_level tables as
 *   sw_sweep(v1 = m / mx, thr1)  and  sw_sweep(v2 = (m - mn) / (mx - mn), thr2),
 * bit for bit, without forming v1 or v2 and with one sweep for both.
 *
 * Why it is exact: each normalised value is a chain of correctly rounded
 * operations on m (a subtraction of a constant, a division by a positive
 * constant), each monotone non-decreasing, so for every threshold t the set
 * {m : fl(norm(m)) >= t} is an up-set of the doubles: {m >= T} for one cut
 * T, the smallest double that passes. cut_of finds T from a guess
 * (t * mx, or mn + t * span), stepping by one ulp at a time, and bisects
 * over the ordered bit patterns when the boundary is further away (near
 * zero, where a quotient underflows, it can be). NaN never passes, as in
 * sw_sweep, and needs no cut: m >= T is false for it too.
 *   Both norms' cuts merge into one ascending list U of distinct values;
 * the level of a pixel is the number of cuts <= m, a byte (|U| <= 255), and
 * the set of threshold i of norm 1 is {level >= 1 + index of T1_i in U}.
 * Where mn == 0 the two norms give the same cuts and U holds each once, so a
 * ReLU map costs one norm's work.
 *   Levels per pixel without a search: f(x) = fl(fl(x - mn) * c), c = B /
 * span, is monotone non-decreasing too, so a pixel whose f falls in a bin
 * [b, b + 1) that holds no cut's f has exactly the cuts with f < b below it
 * (a table lookup); in a bin that holds one cut j, the table holds 256 +
 * j and the pixel's level is j + (x >= U[j]), compared in double; in a bin
 * that holds several, 512 + j, and such a pixel counts j plus the bin's
 * cuts <= it, compared in double from j on. The lookup (sw_levels_lookup
 * with u = NULL) saturates both kinds to the key 255 and a pass over the
 * keys resolves them (about 2% of a smooth map's pixels sit in a bin with
 * a cut): doing the one-cut comparison in the vector loop itself took a
 * second gather and a branch on about a fifth of the vectors (perf on the
 * 96 x 96 signed bench maps: the lookup went from about 16% of the sweep's
 * samples to about 10%, the pass that now resolves those pixels added
 * about 2%).
 * The cuts are searched from the guess by single steps of the ordered bit
 * patterns (nextafter's own step, taken inline away from the zeros and the
 * infinities, where nextafter itself).
 * Values outside [mn, mx] or NaN take an exact binary search or level 0.
 * Nothing here depends on an error bound: only on monotonicity. B is
 * SW_LEVEL_BINS, halved down to 1024 while it exceeds the pixel count
 * (the table is filled once per map; a 96 x 96 map takes 8192: measured
 * against 4096, whose one-cut bins hold more pixels).
 * Where mn == 0 and both grids are one, the second norm's cuts are the
 * first's (x - 0 and mx - 0 are exact) and are copied, not searched.
 *   The levels go to sw_sweep_keys (with SW_LANES, as loc_eval asks: the
 * row runs with the levels as vector lanes, sweep_lanes.c; else row runs
 * where the map is smooth, the per-pixel union-find where it is not). The
 * level table is filled by ranges between the bins that hold cuts.
 *
 * Returns -1 (the caller then uses sw_sweep_pair on v1, v2) when the
 * premises fail: mx, mn or the span not finite, mx <= 0, span <= 0, B / span
 * not finite, more than 255 cuts, or thresholds that are not ascending.
 *
 * Work buffer (caller-owned, sw_norms_work_bytes() bytes, 8-byte aligned):
 * uint8 key[H * W]; int32 table[SW_LEVEL_BINS]; double U[n1 + n2]; sw_level lv[n1 + n2];
 * then sw_keys_work_bytes().
 *
 * Thread safety: pure, no globals, no allocation; reentrant on distinct
 * out/work buffers.
 */
#include "kernels/sweep.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

enum { NB = SW_LEVEL_BINS }; /* bins of the level table */
enum { LV_EXACT = 255 };     /* a key to be counted exactly */
enum { LV_ONE = 256 };       /* table entry LV_ONE + j: the bin holds one cut, j */
enum { LV_MANY = 512 };      /* LV_MANY + j: the bin holds cuts j, j + 1, ... */

/* ---- the table lookup, three ways (sw_levels_lookup) --------------------
 * v = tab[bin of m[p]], or LV_EXACT where m[p] is outside [mn, mn + nb / c)
 * or NaN; key[p] = v below LV_ONE, j + (m[p] >= u[j]) for v = LV_ONE + j (a
 * bin with one cut: one comparison in double), LV_EXACT from LV_MANY on.
 * The scalar loop is the reference; the AVX2 and AVX-512 loops do the same
 * arithmetic (sub, mul, truncation, the comparison: exact IEEE operations
 * in every lane) with gathers, so all three give the same bytes (tested). */
static void lv_scalar(uint8_t *key, const double *m, size_t n, double mn, double c,
                      const int32_t *tab, int nb, const double *u)
{
    for (size_t p = 0; p < n; p++) {
        double q = (m[p] - mn) * c;
        int32_t v = q >= 0.0 && q < (double)nb ? tab[(int32_t)q] : LV_EXACT;
        if (v >= LV_MANY || (v >= LV_ONE && u == NULL))
            v = LV_EXACT;
        else if (v >= LV_ONE)
            v = v - LV_ONE + (m[p] >= u[v - LV_ONE]);
        key[p] = (uint8_t)v;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LV_X86 1

__attribute__((target("avx2"))) static void lv_avx2(uint8_t *key, const double *m, size_t n,
                                                      double mn, double c, const int32_t *tab,
                                                      int nb, const double *u)
{
    const __m256d vmn = _mm256_set1_pd(mn), vc = _mm256_set1_pd(c);
    const __m256d zero = _mm256_setzero_pd(), top = _mm256_set1_pd((double)nb);
    const __m128i exact = _mm_set1_epi32(LV_EXACT);
    const __m128i one_lo = _mm_set1_epi32(LV_ONE - 1), one_hi = _mm_set1_epi32(LV_MANY);
    const __m128i vone = _mm_set1_epi32(LV_ONE);
    const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    size_t p = 0;
    for (; p + 8 <= n; p += 8) {
        __m128i v[2];
        for (int h = 0; h < 2; h++) {
            __m256d x = _mm256_loadu_pd(m + p + 4 * h);
            __m256d q = _mm256_mul_pd(_mm256_sub_pd(x, vmn), vc);
            __m256d in = _mm256_and_pd(_mm256_cmp_pd(q, zero, _CMP_GE_OQ),
                                       _mm256_cmp_pd(q, top, _CMP_LT_OQ));
            __m128i b = _mm256_cvttpd_epi32(_mm256_and_pd(q, in)); /* 0 where out */
            __m128i g = _mm_i32gather_epi32(tab, b, 4);
            __m128i k32 = _mm256_castsi256_si128(
                _mm256_permutevar8x32_epi32(_mm256_castpd_si256(in), pick));
            g = _mm_blendv_epi8(exact, g, k32);
            /* one-cut bins: j + (x >= u[j]) */
            __m128i one = _mm_and_si128(_mm_cmpgt_epi32(g, one_lo), _mm_cmplt_epi32(g, one_hi));
            if (u != NULL && _mm_movemask_epi8(one)) {
                __m128i j = _mm_sub_epi32(g, vone);
                __m256d msk = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(one));
                __m256d uj = _mm256_mask_i32gather_pd(zero, u, j, msk, 8);
                __m256d ge = _mm256_and_pd(_mm256_cmp_pd(x, uj, _CMP_GE_OQ), msk);
                __m128i ge32 = _mm256_castsi256_si128(
                    _mm256_permutevar8x32_epi32(_mm256_castpd_si256(ge), pick));
                g = _mm_blendv_epi8(g, _mm_sub_epi32(j, ge32), one); /* ge32 is -1 or 0 */
            }
            v[h] = g;
        }
        __m128i w16 = _mm_packus_epi32(v[0], v[1]); /* both saturate: > 255 gives 255 */
        __m128i w8 = _mm_packus_epi16(w16, w16);
        _mm_storel_epi64((__m128i *)(void *)(key + p), w8);
    }
    lv_scalar(key + p, m + p, n - p, mn, c, tab, nb, u);
}

__attribute__((target("avx512f,avx512vl,avx2"))) static void
lv_avx512(uint8_t *key, const double *m, size_t n, double mn, double c, const int32_t *tab,
          int nb, const double *u)
{
    const __m512d vmn = _mm512_set1_pd(mn), vc = _mm512_set1_pd(c);
    const __m512d zero = _mm512_setzero_pd(), top = _mm512_set1_pd((double)nb);
    const __m256i exact = _mm256_set1_epi32(LV_EXACT);
    const __m256i one_lo = _mm256_set1_epi32(LV_ONE), one_hi = _mm256_set1_epi32(LV_MANY);
    const __m256i vone = _mm256_set1_epi32(1);
    size_t p = 0;
    if (u == NULL) /* every entry from LV_ONE on saturates: no branch, two steps a turn */
        for (; p + 16 <= n; p += 16) {
            __m512d x0 = _mm512_loadu_pd(m + p), x1 = _mm512_loadu_pd(m + p + 8);
            __m512d q0 = _mm512_mul_pd(_mm512_sub_pd(x0, vmn), vc);
            __m512d q1 = _mm512_mul_pd(_mm512_sub_pd(x1, vmn), vc);
            __mmask8 in0 = _mm512_cmp_pd_mask(q0, zero, _CMP_GE_OQ) &
                           _mm512_cmp_pd_mask(q0, top, _CMP_LT_OQ);
            __mmask8 in1 = _mm512_cmp_pd_mask(q1, zero, _CMP_GE_OQ) &
                           _mm512_cmp_pd_mask(q1, top, _CMP_LT_OQ);
            __m256i g0 = _mm256_mmask_i32gather_epi32(exact, in0, _mm512_maskz_cvttpd_epi32(in0, q0),
                                                      tab, 4);
            __m256i g1 = _mm256_mmask_i32gather_epi32(exact, in1, _mm512_maskz_cvttpd_epi32(in1, q1),
                                                      tab, 4);
            _mm_storeu_si128((__m128i *)(void *)(key + p),
                             _mm512_cvtusepi32_epi8(_mm512_inserti64x4(
                                 _mm512_castsi256_si512(g0), g1, 1)));
        }
    for (; p + 8 <= n; p += 8) {
        __m512d x = _mm512_loadu_pd(m + p);
        __m512d q = _mm512_mul_pd(_mm512_sub_pd(x, vmn), vc);
        __mmask8 in = _mm512_cmp_pd_mask(q, zero, _CMP_GE_OQ) &
                      _mm512_cmp_pd_mask(q, top, _CMP_LT_OQ);
        __m256i b = _mm512_maskz_cvttpd_epi32(in, q);
        __m256i g = _mm256_mmask_i32gather_epi32(exact, in, b, tab, 4);
        /* one-cut bins: j + (x >= u[j]) */
        __mmask8 one = _mm256_cmpge_epi32_mask(g, one_lo) & _mm256_cmplt_epi32_mask(g, one_hi);
        if (u != NULL && one) {
            __m256i j = _mm256_sub_epi32(g, one_lo);
            __m512d uj = _mm512_mask_i32gather_pd(zero, one, j, u, 8);
            __mmask8 ge = _mm512_mask_cmp_pd_mask(one, x, uj, _CMP_GE_OQ);
            g = _mm256_mask_mov_epi32(g, one, _mm256_mask_add_epi32(j, ge, j, vone));
        }
        /* unsigned saturation: an entry from LV_MANY on gives 255 */
        _mm_storel_epi64((__m128i *)(void *)(key + p), _mm256_cvtusepi32_epi8(g));
    }
    lv_scalar(key + p, m + p, n - p, mn, c, tab, nb, u);
}
#endif

int sw_levels_lookup(uint8_t *key, const double *m, size_t n, double mn, double c,
                     const int32_t *tab, int nb, const double *u, int isa)
{
    if (nb < 1 || nb > NB)
        return -1;
    if (isa == SW_ISA_AUTO)
        isa = sw_isa_supported(SW_ISA_AVX512) ? SW_ISA_AVX512
              : sw_isa_supported(SW_ISA_AVX2) ? SW_ISA_AVX2 : SW_ISA_SCALAR;
    if (!sw_isa_supported(isa))
        return -1;
#ifdef LV_X86
    if (isa == SW_ISA_AVX512) {
        lv_avx512(key, m, n, mn, c, tab, nb, u);
        return isa;
    }
    if (isa == SW_ISA_AVX2) {
        lv_avx2(key, m, n, mn, c, tab, nb, u);
        return isa;
    }
#endif
    lv_scalar(key, m, n, mn, c, tab, nb, u);
    return SW_ISA_SCALAR;
}

static size_t al8(size_t n) { return (n + 7u) & ~(size_t)7u; }

size_t sw_norms_work_bytes(int H, int W, int n1, int n2)
{
    if (H < 1 || W < 1 || n1 < 1 || n2 < 1 || n1 + n2 > 255)
        return 0;
    size_t kw = sw_keys_work_bytes(H, W, n1 + n2);
    if (kw == 0)
        return 0;
    size_t nu = (size_t)(n1 + n2);
    size_t lvb = nu * sizeof(sw_level) > NB * sizeof(int32_t) ? nu * sizeof(sw_level)
                                                             : NB * sizeof(int32_t);
    return al8((size_t)H * (size_t)W) + al8(NB * sizeof(int32_t)) + al8(nu * sizeof(double)) +
           al8(lvb) + kw;
}

/* The normalisation: 0 is m / mx, 1 is (m - mn) / span, as loc_eval writes them. */
typedef struct {
    int norm;
    double mx, mn, span;
} nrm;

static int passes(const nrm *z, double x, double t)
{
    double v = z->norm == 0 ? x / z->mx : (x - z->mn) / z->span;
    return v >= t;
}

/* Doubles (NaN excluded) in order as unsigned integers, -0 just below +0. */
static uint64_t okey(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static double ofrom(uint64_t k)
{
    uint64_t u = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* nextafter(g, -INFINITY) (dir < 0) or nextafter(g, INFINITY): one step
 * of the ordered bit patterns, except at a zero (the step from +0 down or
 * -0 up skips the other zero) and at an infinity, where nextafter itself. */
static double step_of(double g, int dir)
{
    if (g == 0.0 || !isfinite(g))
        return nextafter(g, dir < 0 ? -INFINITY : INFINITY);
    return ofrom(dir < 0 ? okey(g) - 1 : okey(g) + 1);
}

/* The smallest double that passes threshold t (NaN: none does). The caller
 * has checked mx > 0, mn and the span finite, span > 0, so both norms send
 * +inf to +inf and -inf to -inf: +inf passes unless t is NaN, -inf only
 * when t is -inf (what passes() of the infinities gives, without the
 * divisions). */
static double cut_of(const nrm *z, double t, double guess)
{
    if (t != t)
        return NAN;
    if (t == -INFINITY)
        return -INFINITY;
    double g = isfinite(guess) ? guess : 0.0;
    uint64_t lo, hi; /* okey(lo) fails, okey(hi) passes */
    if (passes(z, g, t)) {
        for (int s = 0; s < 8; s++) {
            double d = step_of(g, -1);
            if (!passes(z, d, t))
                return g;
            g = d;
        }
        lo = okey(-INFINITY);
        hi = okey(g);
    } else {
        for (int s = 0; s < 8; s++) {
            double u = step_of(g, 1);
            if (passes(z, u, t))
                return u;
            g = u;
        }
        lo = okey(g);
        hi = okey(INFINITY);
    }
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (passes(z, ofrom(mid), t))
            hi = mid;
        else
            lo = mid;
    }
    return ofrom(hi);
}

/* Number of u[0..n) that are <= x (u ascending, x not NaN). */
static int count_le(const double *u, int n, double x)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (x >= u[mid])
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Cuts of one norm -> cut[0..n); -1 when they are not ascending. */
static int cuts(double *cut, const nrm *z, const double *thr, int n)
{
    for (int i = 0; i < n; i++) {
        double g = z->norm == 0 ? thr[i] * z->mx : z->mn + thr[i] * z->span;
        cut[i] = cut_of(z, thr[i], g);
        if (i > 0 && !isnan(cut[i]) && (isnan(cut[i - 1]) || cut[i] < cut[i - 1]))
            return -1;
    }
    return 0;
}

int sw_sweep_norms(sw_level *out1, const double *thr1, int n1, sw_level *out2,
                   const double *thr2, int n2, const double *m, int H, int W, double mx,
                   double mn, const float *gt, int ngt, int path, void *work)
{
    if (sw_norms_work_bytes(H, W, n1, n2) == 0 || n1 + n2 >= LV_EXACT)
        return -1;
    double span = mx - mn;
    size_t npix = (size_t)H * (size_t)W;
    /* bins: NB, or fewer on a small map (the table's fill is paid per
       map), down to 1024 */
    int nb = NB;
    while (nb > 1024 && (size_t)nb > npix)
        nb /= 2;
    double c = (double)nb / span;
    if (!(mx > 0.0) || !isfinite(mx) || !isfinite(mn) || !(span > 0.0) || !isfinite(span) ||
        !isfinite(c))
        return -1;
    int nu = 0;
    char *w = work;
    uint8_t *key = (uint8_t *)w;
    w += al8(npix);
    int32_t *tab = (int32_t *)(void *)w;
    w += al8(NB * sizeof(int32_t));
    double *u = (double *)(void *)w;
    w += al8((size_t)(n1 + n2) * sizeof(double));
    sw_level *lv = (sw_level *)(void *)w;
    w += al8((size_t)(n1 + n2) * sizeof(sw_level) > NB * sizeof(int32_t)
                 ? (size_t)(n1 + n2) * sizeof(sw_level) : NB * sizeof(int32_t));
    void *kwork = w;

    /* the cuts of both norms, merged into one ascending list u of distinct values */
    double c1[255], c2[255];
    uint8_t i1[255], i2[255]; /* each non-NaN cut's index in u */
    nrm z1 = {0, mx, mn, span}, z2 = {1, mx, mn, span};
    int same = mn == 0.0 && n1 == n2 && memcmp(thr1, thr2, (size_t)n1 * sizeof *thr1) == 0;
    if (cuts(c1, &z1, thr1, n1) < 0)
        return -1;
    if (same) /* (x - 0) / (mx - 0) is x / mx, operation for operation: same cuts */
        memcpy(c2, c1, (size_t)n1 * sizeof *c1);
    else if (cuts(c2, &z2, thr2, n2) < 0)
        return -1;
    for (int i = 0, j = 0; i < n1 || j < n2;) {
        double a = i < n1 && !isnan(c1[i]) ? c1[i] : INFINITY;
        double b = j < n2 && !isnan(c2[j]) ? c2[j] : INFINITY;
        int ta = i < n1 && !isnan(c1[i]), tb = j < n2 && !isnan(c2[j]);
        if (!ta && !tb)
            break;
        double x;
        uint8_t *at; /* where this cut's index in u goes */
        if (ta && (!tb || a <= b)) {
            x = a;
            at = &i1[i++];
        } else {
            x = b;
            at = &i2[j++];
        }
        if (nu == 0 || x != u[nu - 1])
            u[nu++] = x;
        *at = (uint8_t)(nu - 1); /* u holds each value once: the one equal to x */
    }

    /* the level table over nb bins of f(x) = (x - mn) * c: the level of a
       bin that holds no cut, LV_ONE + j for a bin that holds one cut (j),
       LV_MANY + j for one that holds cuts j, j + 1, ...
       Cuts ascending
       have non-decreasing bins (f is monotone), so the bins between two
       cut bins all have one level, the number of cuts before: the table is
       filled by ranges. */
    int j = 0, b0 = 0;
    for (; j < nu; j++) {
        /* the table serves only x >= mn (q >= 0 means exactly that), so a
           cut at or below mn is below every pixel it serves, wherever its
           own q lands (a cut a hair below 0 can round to q = -0) */
        if (u[j] <= mn)
            continue;
        double q = (u[j] - mn) * c;
        if (!(q < (double)nb))
            break; /* this cut and every later one lie past the table */
        int b = (int)q;
        if (b < b0) { /* a second cut in the bin: counted from the first */
            if (tab[b] < LV_MANY)
                tab[b] += LV_MANY - LV_ONE;
            continue;
        }
        for (; b0 < b; b0++)
            tab[b0] = j;
        tab[b] = LV_ONE + j;
        b0 = b + 1;
    }
    for (; b0 < nb; b0++)
        tab[b0] = j;

    /* the level of every pixel (cuts <= m[p]): the table, then the exact
       count for the pixels it leaves open */
    sw_levels_lookup(key, m, npix, mn, c, tab, nb, NULL, SW_ISA_AUTO);
    for (uint8_t *q = key, *end = key + npix; (q = memchr(q, LV_EXACT, (size_t)(end - q)));) {
        double x = m[q - key];
        double f = (x - mn) * c; /* the lookup's own arithmetic: the same bin */
        int lev;
        int32_t v = f >= 0.0 && f < (double)nb ? tab[(int32_t)f] : -1;
        if (v >= LV_ONE && v < LV_MANY) {
            /* a bin with one cut: the comparison the lookup leaves here */
            lev = v - LV_ONE + (x >= u[v - LV_ONE]);
        } else if (v >= LV_MANY) {
            /* the cuts before the bin's first pass, the later ones are
               counted from it (few: the cuts of one bin) */
            lev = v - LV_MANY;
            while (lev < nu && x >= u[lev])
                lev++;
        } else {
            lev = x == x ? count_le(u, nu, x) : 0;
        }
        *q++ = (uint8_t)lev;
    }

    int used = nu > 0 ? sw_sweep_keys(lv, key, H, W, nu, gt, ngt, path, kwork) : SW_PIXELS;
    if (used < 0)
        return -1;
    const sw_level none = {{0, 0, 0, 0}, 0, 0.0, 0.0, 0};
    for (int i = 0; i < n1; i++)
        out1[i] = isnan(c1[i]) ? none : lv[i1[i]];
    for (int i = 0; i < n2; i++)
        out2[i] = isnan(c2[i]) ? none : lv[i2[i]];
    return used;
}
