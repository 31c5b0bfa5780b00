/* mapscan.c: the first pass of loc_eval over an image-resolution map.
 *
 * DESIGN
 * One read of m (and of the two masks) gives the extremes, the first argmax
 * and five masses (all of x > 0, of -x over x < 0, and their parts in the
 * target and other-class masks). The masses are sums in double in index
 * order, so they cannot be split into partial sums: each stays one
 * sequential chain, and the speed comes from elsewhere:
 *   - the AVX-512 path reads 8 pixels at a time, tracks max / min and their
 *     first index per lane (strict comparisons, so a lane keeps its first
 *     occurrence; the lanes are then merged by value, ties to the smaller
 *     index: the first occurrence overall, as the scalar loop finds);
 *   - it forms the five terms of the 8 pixels with masks, no branches, and
 *     adds them to their chains in index order; a term that is not there is
 *     +0.0, and x + 0.0 == x for every value a chain can hold (it starts at
 *     +0.0, only adds x > 0 or -x > 0, so it is never -0.0); a block with no
 *     non-zero pixel adds nothing at all (after a ReLU, large parts of a map
 *     are exactly 0);
 *   - the last n % 8 pixels go through the scalar loop, which continues the
 *     same chains and extremes.
 * NaN pixels are in no sum and never win a comparison, as in the scalar
 * loop; a NaN m[0] stays the max and min (both paths start from m[0]).
 * ms_scan_ref is the naive twin, the loop loc_eval had: the paths agree with
 * it bit for bit (tested on ties, NaN, signed zeros, odd sizes).
 *
 * Thread safety: pure; reentrant.
 */
#include "kernels/mapscan.h"
#include "kernels/sweep.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define MS_X86 1
#include <immintrin.h>
#endif

/* The scalar loop from index i0 on, continuing s (mx, mn, arg from m[0] or
 * the vector lanes; the chains from their sums so far). */
static void scan_tail(ms_stats *s, size_t *amin, const double *m, const uint8_t *tmask,
                      const uint8_t *omask, size_t i0, size_t n)
{
    double mx = s->mx, mn = s->mn, pos = s->pos, neg = s->neg, pos_in = s->pos_in;
    double pos_oth = s->pos_oth, neg_oth = s->neg_oth;
    size_t arg = s->arg, argmn = *amin, n_oth = s->n_oth;
    for (size_t i = i0; i < n; i++) {
        double x = m[i];
        if (x > mx) { mx = x; arg = i; }
        if (x < mn) { mn = x; argmn = i; }
        if (x > 0) {
            pos += x;
            if (tmask[i]) pos_in += x;
            if (omask[i]) pos_oth += x;
        } else if (x < 0) {
            neg -= x;
            if (omask[i]) neg_oth -= x;
        }
        n_oth += omask[i];
    }
    s->mx = mx; s->mn = mn; s->arg = arg; *amin = argmn;
    s->pos = pos; s->neg = neg; s->pos_in = pos_in; s->pos_oth = pos_oth; s->neg_oth = neg_oth;
    s->n_oth = n_oth;
}

static void init(ms_stats *s, const double *m, size_t n)
{
    memset(s, 0, sizeof *s);
    s->mx = s->mn = n ? m[0] : 0.0;
}

void ms_scan_ref(ms_stats *s, const double *m, const uint8_t *tmask, const uint8_t *omask,
                 size_t n)
{
    size_t amin = 0;
    init(s, m, n);
    scan_tail(s, &amin, m, tmask, omask, 0, n);
}

#ifdef MS_X86
__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))) static size_t
scan_avx512(ms_stats *s, size_t *amin, const double *m, const uint8_t *tmask,
            const uint8_t *omask, size_t n)
{
    size_t nb = n / 8 * 8;
    __m512d vmx = _mm512_set1_pd(m[0]), vmn = vmx, z = _mm512_setzero_pd();
    __m512i imx = _mm512_setzero_si512(), imn = imx, cnt = imx;
    __m512i idx = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), step = _mm512_set1_epi64(8);
    double pos = 0, neg = 0, pos_in = 0, pos_oth = 0, neg_oth = 0;
    double tp[8], tn[8], ti[8], to[8], tq[8];
    for (size_t i = 0; i < nb; i += 8, idx = _mm512_add_epi64(idx, step)) {
        __m512d v = _mm512_loadu_pd(m + i);
        __mmask8 gt = _mm512_cmp_pd_mask(v, vmx, _CMP_GT_OQ);
        __mmask8 lt = _mm512_cmp_pd_mask(v, vmn, _CMP_LT_OQ);
        vmx = _mm512_mask_mov_pd(vmx, gt, v);
        imx = _mm512_mask_mov_epi64(imx, gt, idx);
        vmn = _mm512_mask_mov_pd(vmn, lt, v);
        imn = _mm512_mask_mov_epi64(imn, lt, idx);
        __m128i ob = _mm_loadl_epi64((const __m128i *)(const void *)(omask + i));
        cnt = _mm512_add_epi64(cnt, _mm512_cvtepu8_epi64(ob));
        __mmask8 kp = _mm512_cmp_pd_mask(v, z, _CMP_GT_OQ);
        __mmask8 kn = _mm512_cmp_pd_mask(v, z, _CMP_LT_OQ);
        if (!(kp | kn))
            continue;
        __m128i tb = _mm_loadl_epi64((const __m128i *)(const void *)(tmask + i));
        __mmask8 kt = _mm_test_epi8_mask(tb, tb), ko = _mm_test_epi8_mask(ob, ob);
        __m512d nv = _mm512_maskz_sub_pd(kn, z, v); /* -x where x < 0 (0 - x == -x) */
        _mm512_storeu_pd(tp, _mm512_maskz_mov_pd(kp, v));
        _mm512_storeu_pd(tn, nv);
        _mm512_storeu_pd(ti, _mm512_maskz_mov_pd(kp & kt, v));
        _mm512_storeu_pd(to, _mm512_maskz_mov_pd(kp & ko, v));
        _mm512_storeu_pd(tq, _mm512_maskz_mov_pd(ko, nv));
        for (int j = 0; j < 8; j++) {
            pos += tp[j];
            neg += tn[j];
            pos_in += ti[j];
            pos_oth += to[j];
            neg_oth += tq[j];
        }
    }
    double xm[8], xn[8];
    int64_t am[8], an[8], c[8];
    _mm512_storeu_pd(xm, vmx);
    _mm512_storeu_pd(xn, vmn);
    _mm512_storeu_si512(am, imx);
    _mm512_storeu_si512(an, imn);
    _mm512_storeu_si512(c, cnt);
    int bm = 0, bn = 0;
    size_t n_oth = 0;
    for (int j = 0; j < 8; j++) {
        if (xm[j] > xm[bm] || (xm[j] == xm[bm] && am[j] < am[bm])) bm = j;
        if (xn[j] < xn[bn] || (xn[j] == xn[bn] && an[j] < an[bn])) bn = j;
        n_oth += (size_t)c[j];
    }
    s->mx = xm[bm]; s->arg = (size_t)am[bm];
    s->mn = xn[bn]; *amin = (size_t)an[bn];
    s->pos = pos; s->neg = neg; s->pos_in = pos_in; s->pos_oth = pos_oth; s->neg_oth = neg_oth;
    s->n_oth = n_oth;
    return nb;
}
#endif

int ms_scan(ms_stats *s, const double *m, const uint8_t *tmask, const uint8_t *omask, size_t n,
            int isa)
{
    if (isa == SW_ISA_AUTO)
        isa = sw_isa_supported(SW_ISA_AVX512) ? SW_ISA_AVX512 : SW_ISA_SCALAR;
    if ((isa != SW_ISA_SCALAR && isa != SW_ISA_AVX512) || !sw_isa_supported(isa))
        return -1;
    size_t amin = 0, i0 = 0;
    init(s, m, n);
#ifdef MS_X86
    if (isa == SW_ISA_AVX512 && n >= 8)
        i0 = scan_avx512(s, &amin, m, tmask, omask, n);
#else
    if (isa != SW_ISA_SCALAR)
        return -1;
#endif
    scan_tail(s, &amin, m, tmask, omask, i0, n);
    return isa;
}
