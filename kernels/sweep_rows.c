/* sweep_rows.c: what the lane sweep (sweep_lanes.c) reads off one row of
 * levels before it makes runs: the row's peak, minimum and positive steps
 * (SSE2, the x86-64 baseline) and the highest and lowest levels with two
 * runs or more (scalar; the AVX2 version is beside the lane code).
 *
 * DESIGN
 * Split from sweep_lanes.c to keep that file within the size the layout
 * allows; the functions are unchanged and tested through sw_lanes and
 * sw_two_run_level (tests/test_sweep_lanes.c). Pure, no state.
 */
#include "kernels/sweep_int.h"

#include <stdint.h>

/* The highest level with two runs in row k (0: none): level l has two
 * runs exactly when some column y has k[y] < l <= min(pm[y], sm[y]), the
 * maxima of the columns up to y and from y, so g = the largest such
 * min(pm, sm) over the columns where it exceeds k. Scalar: one pass (a rise
 * to k[x] reopens the levels up to min(k[x], c), c the highest level a fall
 * has closed so far). */
int32_t sw_two_run_scalar(const uint8_t *k, int W, int32_t *low)
{
    int32_t c = 0, g = 0, lo = 256;
    for (int x = 1; x < W; x++) {
        int32_t a = k[x - 1], b = k[x];
        c = b < a && a > c ? a : c;
        int32_t re = b < c ? b : c;
        int32_t open = b > a && re > a; /* levels a+1..re get a second run */
        g = open && re > g ? re : g;
        lo = open && a + 1 < lo ? a + 1 : lo;
    }
    *low = g > 0 ? lo : 0;
    return g;
}

#if defined(__SSE2__)

/* Peak, minimum and positive steps (k[-1] = 0) of a row, 16 columns a
 * step: the steps are saturating differences, summed by psadbw. */
void sw_peak_up_sse2(const uint8_t *k, int W, int32_t *peak, int32_t *up, int32_t *low)
{
    __m128i mx = _mm_setzero_si128(), acc = _mm_setzero_si128(), zero = _mm_setzero_si128();
    __m128i mn = _mm_set1_epi8((char)-1);
    int x = 1;
    if (W >= 16) { /* the first 16 columns, k[-1] = 0 shifted in */
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)k);
        mx = b;
        mn = b;
        acc = _mm_sad_epu8(_mm_subs_epu8(b, _mm_slli_si128(b, 1)), zero);
        x = 16;
    }
    for (; x + 16 <= W; x += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(k + x));
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(k + x - 1));
        mx = _mm_max_epu8(mx, b);
        mn = _mm_min_epu8(mn, b);
        acc = _mm_add_epi64(acc, _mm_sad_epu8(_mm_subs_epu8(b, a), zero));
    }
    int32_t p = hmax_epu8(mx), u = W >= 16 ? 0 : k[0];
    int32_t lo = 255 - hmax_epu8(_mm_xor_si128(mn, _mm_set1_epi8((char)-1)));
    p = k[0] > p ? k[0] : p;
    lo = k[0] < lo ? k[0] : lo;
    u += (int32_t)_mm_cvtsi128_si32(acc) + (int32_t)_mm_cvtsi128_si32(_mm_srli_si128(acc, 8));
    for (; x < W; x++) {
        p = k[x] > p ? k[x] : p;
        lo = k[x] < lo ? k[x] : lo;
        u += k[x] > k[x - 1] ? k[x] - k[x - 1] : 0;
    }
    *peak = p;
    *up = u;
    *low = lo;
}
#endif


