/* sign.c: sign tables of alpha x A and G x A.
 *
 * DESIGN
 * The skeptic's point is that a negative weight times a negative activation
 * is a positive contribution. The tables make it countable: every element
 * (k, p) of a target falls into one of 3 x 3 cells, sign of the weight
 * (alpha_k for the Grad-CAM table, G_kp for the element-wise one) by sign of
 * A_kp, with exact zeros in their own cells (after a ReLU most A are exactly
 * 0), and into one of three regions of the image (where the feature cell's
 * centre falls; computed by loc_cell_regions). Each cell keeps the count and
 * the sum of the products in double.
 * sgn_tables accumulates per pixel over the channels first (k = 0..K-1,
 * counts as int32: K <= 2^20), then adds the pixels into their regions in
 * pixel order; cells with a zero factor have sum 0 and their counts follow
 * from the others. Two paths fill the per-pixel accumulators, chosen at run
 * time (sgn_tables_isa): channel-major (one vectorisable pass per channel,
 * accumulators in memory; every CPU) and, where the CPU has AVX-512,
 * pixel blocks (8 pixels' accumulators in registers over a chunk of 32
 * channels, the next chunk prefetched: about 2x faster). Every per-pixel
 * sum gets the same terms in the same order on both, so they give the same
 * bytes (tested on awkward sizes, NaN and underflow). sgn_tables_ref is the
 * naive twin: one element at a time, in the order k, p. Counts agree
 * exactly; sums to rounding (tested).
 * Invariants (tested): counts add up to K*hw; the sums of the alpha table add
 * up to sum_p M_p, those of the G table to sum_p sum_k G A.
 *
 * Thread safety: pure; reentrant.
 */
#include "analysis/sign.h"

#include "kernels/sweep.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define SGN_X86 1
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define SGN_HOT __attribute__((target_clones("avx2", "default")))
#else
#define SGN_HOT
#endif

static const char *const cell_names[SGN_NCELL] = {
    "PP", "P0", "PN", "0P", "00", "0N", "NP", "N0", "NN"};
static const char *const region_names[SGN_NREG] = {"target", "other", "background"};

const char *sgn_cell_name(int cell)
{
    return (cell >= 0 && cell < SGN_NCELL) ? cell_names[cell] : NULL;
}

const char *sgn_region_name(int region)
{
    return (region >= 0 && region < SGN_NREG) ? region_names[region] : NULL;
}

void sgn_clear(sgn_table *t)
{
    memset(t, 0, sizeof *t);
}

void sgn_add(sgn_table *acc, const sgn_table *t)
{
    for (int r = 0; r < SGN_NREG; r++)
        for (int c = 0; c < SGN_NCELL; c++) {
            acc->n[r][c] += t->n[r][c];
            acc->s[r][c] += t->s[r][c];
        }
}

static int sgn_of(double x)
{
    return x > 0.0 ? 0 : (x < 0.0 ? 2 : 1);
}

size_t sgn_work_bytes(int hw)
{
    return hw > 0 ? (size_t)hw * (8 * sizeof(double) + 12 * sizeof(int32_t) + 2 * sizeof(int64_t))
                  : 1;
}

/* The per-pixel pieces, each a short loop over distinct restrict arrays so
 * that the compiler vectorises it: comparisons give 0/1 counts, products
 * are selected, not branched on; lanes are pixels, so the result does not
 * depend on the vector width. */
static inline void cnt_sign(int32_t *restrict cp, int32_t *restrict cn, const float *restrict x,
                            int hw)
{
    for (int p = 0; p < hw; p++) {
        cp[p] += x[p] > 0.0f;
        cn[p] += x[p] < 0.0f;
    }
}

static inline void cnt_pairs(int32_t *restrict cpp, int32_t *restrict cpn, int32_t *restrict cnp,
                             int32_t *restrict cnn, const float *restrict a,
                             const float *restrict g, int hw)
{
    for (int p = 0; p < hw; p++) {
        int ap = a[p] > 0.0f, an = a[p] < 0.0f, gp = g[p] > 0.0f, gn = g[p] < 0.0f;
        cpp[p] += gp & ap;
        cpn[p] += gp & an;
        cnp[p] += gn & ap;
        cnn[p] += gn & an;
    }
}

static inline void sum_pairs(double *restrict spp, double *restrict spn, double *restrict snp,
                             double *restrict snn, const float *restrict a,
                             const float *restrict g, int hw)
{
    for (int p = 0; p < hw; p++) {
        float av = a[p], gv = g[p];
        double prod = (double)gv * (double)av;
        spp[p] += (gv > 0.0f && av > 0.0f) ? prod : 0.0;
        spn[p] += (gv > 0.0f && av < 0.0f) ? prod : 0.0;
        snp[p] += (gv < 0.0f && av > 0.0f) ? prod : 0.0;
        snn[p] += (gv < 0.0f && av < 0.0f) ? prod : 0.0;
    }
}

static inline void sum_alpha(double *restrict sp, double *restrict sn, const float *restrict a,
                             double al, int hw)
{
    for (int p = 0; p < hw; p++) {
        float av = a[p];
        double prod = al * (double)av;
        sp[p] += av > 0.0f ? prod : 0.0;
        sn[p] += av < 0.0f ? prod : 0.0;
    }
}

/* One channel into the per-pixel accumulators. */
SGN_HOT static void chan_acc(double *sA, int32_t *cA, double *sG, int32_t *cG, const float *a,
                             const float *g, double al, int sw, int hw)
{
    size_t n = (size_t)hw;
    cnt_sign(cA + 2 * (size_t)sw * n, cA + (2 * (size_t)sw + 1) * n, a, hw);
    cnt_sign(cG, cG + n, g, hw);
    cnt_pairs(cG + 2 * n, cG + 3 * n, cG + 4 * n, cG + 5 * n, a, g, hw);
    sum_pairs(sG, sG + n, sG + 2 * n, sG + 3 * n, a, g, hw);
    if (sw != 1) { /* alpha != 0: the alpha x A products of this channel */
        double *sp = sA + (sw == 0 ? 0 : 2) * n;
        sum_alpha(sp, sp + n, a, al, hw);
    }
}

/* The per-pixel accumulators of the work buffer (sgn_work_bytes). */
typedef struct {
    double *sA, *sG;  /* [alpha P/N][A P/N], [G][A]: 4 arrays of hw each */
    int32_t *cA, *cG; /* [alpha P/0/N][A P/N]: 6; G>0, G<0, PP, PN, NP, NN: 6 */
} sgn_acc;

static sgn_acc acc_of(void *work, int hw)
{
    sgn_acc a;
    a.sA = work;
    a.sG = a.sA + 4 * (size_t)hw;
    a.cA = (int32_t *)(void *)(a.sG + 4 * (size_t)hw);
    a.cG = a.cA + 6 * (size_t)hw;
    return a;
}

/* The channel-major path: one pass over the pixels per channel, the
 * accumulators in memory (every CPU). */
static void acc_channels(const sgn_acc *w, const float *a, const float *g, const double *alpha,
                         int K, int hw)
{
    for (int k = 0; k < K; k++) {
        double al = alpha[k];
        chan_acc(w->sA, w->cA, w->sG, w->cG, a + (size_t)k * hw, g + (size_t)k * hw, al,
                 sgn_of(al), hw);
    }
}

#ifdef SGN_X86
/* The pixel-block path (AVX-512): 8 pixels at a time, all their
 * accumulators in registers while k runs over a chunk of SGN_CH channels
 * (whose rows then stay in L1 from one block to the next), so each double
 * sum gets the same terms in the same order as on the channel-major path; a
 * term that path adds as 0.0 is skipped here (x + 0.0 == x for every x a
 * sum can hold: the sums start at +0.0 and never become -0.0). The A counts
 * by sign of alpha are packed in one 64-bit lane per pixel, a 21-bit field
 * per sign class (K <= 2^20), kept between chunks in pk and unpacked at the
 * end. */
enum { SGN_CH = 32 };

__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw"))) static void
acc_blocks(const sgn_acc *w, int64_t *pk, const float *a, const float *g, const double *alpha,
           int K, int hw)
{
    double tal[SGN_CH];
    const __m512d z = _mm512_setzero_pd();
    const __m256i mone = _mm256_set1_epi32(-1);
    const __m256 zf = _mm256_setzero_ps();
    size_t n = (size_t)hw;
    for (int k0 = 0; k0 < K; k0 += SGN_CH) {
        int nk = K - k0 < SGN_CH ? K - k0 : SGN_CH;
        int cls[4] = {0, 0, 0, 0}, ord[SGN_CH];
        for (int j = 0; j < nk; j++) {
            tal[j] = alpha[k0 + j];
            cls[sgn_of(tal[j]) + 1]++;
        }
        cls[2] += cls[1];
        cls[3] += cls[2];
        int fill[3] = {cls[0], cls[1], cls[2]};
        for (int j = 0; j < nk; j++) /* classes P, 0, N; k order within each */
            ord[fill[sgn_of(tal[j])]++] = j;
        /* the next chunk's rows of A and G are contiguous: prefetch them a
           slice per block (the strided reads of a chunk defeat the hardware
           prefetchers when A and G come from memory) */
        int nkn = K - k0 - nk < SGN_CH ? K - k0 - nk : SGN_CH;
        size_t nlines = ((size_t)nkn * n * sizeof(float) + 63) / 64, nblk = (n + 7) / 8;
        const char *na = (const char *)(a + (size_t)(k0 + nk) * n);
        const char *ng = (const char *)(g + (size_t)(k0 + nk) * n);
        for (int p = 0; p < hw; p += 8) {
            size_t bi = (size_t)p / 8, l0 = bi * nlines / nblk, l1 = (bi + 1) * nlines / nblk;
            for (size_t l = l0; l < l1; l++) {
                _mm_prefetch(na + 64 * l, _MM_HINT_T0);
                _mm_prefetch(ng + 64 * l, _MM_HINT_T0);
            }
            __mmask8 lm = (__mmask8)(hw - p >= 8 ? 0xFF : (1u << (hw - p)) - 1u);
            __m512d sA0, sA1, sA2, sA3, sG0, sG1, sG2, sG3;
            __m256i cgp, cgn, cpp, cpn, cnp, cnn;
            __m512i cap, can;
            if (k0 == 0) {
                sA0 = sA1 = sA2 = sA3 = sG0 = sG1 = sG2 = sG3 = z;
                cgp = cgn = cpp = cpn = cnp = cnn = _mm256_setzero_si256();
                cap = can = _mm512_setzero_si512();
            } else { /* the previous chunk's partial sums and counts */
                sA0 = _mm512_maskz_loadu_pd(lm, w->sA + p);
                sA1 = _mm512_maskz_loadu_pd(lm, w->sA + n + p);
                sA2 = _mm512_maskz_loadu_pd(lm, w->sA + 2 * n + p);
                sA3 = _mm512_maskz_loadu_pd(lm, w->sA + 3 * n + p);
                sG0 = _mm512_maskz_loadu_pd(lm, w->sG + p);
                sG1 = _mm512_maskz_loadu_pd(lm, w->sG + n + p);
                sG2 = _mm512_maskz_loadu_pd(lm, w->sG + 2 * n + p);
                sG3 = _mm512_maskz_loadu_pd(lm, w->sG + 3 * n + p);
                cgp = _mm256_maskz_loadu_epi32(lm, w->cG + p);
                cgn = _mm256_maskz_loadu_epi32(lm, w->cG + n + p);
                cpp = _mm256_maskz_loadu_epi32(lm, w->cG + 2 * n + p);
                cpn = _mm256_maskz_loadu_epi32(lm, w->cG + 3 * n + p);
                cnp = _mm256_maskz_loadu_epi32(lm, w->cG + 4 * n + p);
                cnn = _mm256_maskz_loadu_epi32(lm, w->cG + 5 * n + p);
                cap = _mm512_maskz_loadu_epi64(lm, pk + p);
                can = _mm512_maskz_loadu_epi64(lm, pk + n + p);
            }
            /* G x A: every channel of the chunk in order */
            const float *ak = a + (size_t)k0 * n + p, *gk = g + (size_t)k0 * n + p;
            for (int j = 0; j < nk; j++, ak += n, gk += n) {
                __m256 af = _mm256_maskz_loadu_ps(lm, ak), gf = _mm256_maskz_loadu_ps(lm, gk);
                __mmask8 gp = _mm256_cmp_ps_mask(gf, zf, _CMP_GT_OQ);
                __mmask8 gn = _mm256_cmp_ps_mask(gf, zf, _CMP_LT_OQ);
                __mmask8 pp = _mm256_mask_cmp_ps_mask(gp, af, zf, _CMP_GT_OQ);
                __mmask8 pn = _mm256_mask_cmp_ps_mask(gp, af, zf, _CMP_LT_OQ);
                __mmask8 np = _mm256_mask_cmp_ps_mask(gn, af, zf, _CMP_GT_OQ);
                __mmask8 nn = _mm256_mask_cmp_ps_mask(gn, af, zf, _CMP_LT_OQ);
                __m512d prod = _mm512_mul_pd(_mm512_cvtps_pd(gf), _mm512_cvtps_pd(af));
                sG0 = _mm512_mask_add_pd(sG0, pp, sG0, prod);
                sG1 = _mm512_mask_add_pd(sG1, pn, sG1, prod);
                sG2 = _mm512_mask_add_pd(sG2, np, sG2, prod);
                sG3 = _mm512_mask_add_pd(sG3, nn, sG3, prod);
                cgp = _mm256_mask_sub_epi32(cgp, gp, cgp, mone);
                cgn = _mm256_mask_sub_epi32(cgn, gn, cgn, mone);
                cpp = _mm256_mask_sub_epi32(cpp, pp, cpp, mone);
                cpn = _mm256_mask_sub_epi32(cpn, pn, cpn, mone);
                cnp = _mm256_mask_sub_epi32(cnp, np, cnp, mone);
                cnn = _mm256_mask_sub_epi32(cnn, nn, cnn, mone);
            }
            /* alpha x A: the channels of alpha > 0, then those of alpha < 0
               (each sum sees only its class, in k order), then alpha 0 */
            for (int c = 0; c < 3; c++) {
                __m512d *s0 = c == 0 ? &sA0 : &sA2, *s1 = c == 0 ? &sA1 : &sA3;
                __m512d x0 = *s0, x1 = *s1;
                __m512i inc = _mm512_set1_epi64((int64_t)1 << (21 * c));
                for (int q = cls[c]; q < cls[c + 1]; q++) {
                    int j = ord[q];
                    __m256 af = _mm256_maskz_loadu_ps(lm, a + (size_t)(k0 + j) * n + p);
                    __mmask8 ap = _mm256_cmp_ps_mask(af, zf, _CMP_GT_OQ);
                    __mmask8 an = _mm256_cmp_ps_mask(af, zf, _CMP_LT_OQ);
                    cap = _mm512_mask_add_epi64(cap, ap, cap, inc);
                    can = _mm512_mask_add_epi64(can, an, can, inc);
                    if (c != 1) {
                        __m512d am = _mm512_mul_pd(_mm512_set1_pd(tal[j]), _mm512_cvtps_pd(af));
                        x0 = _mm512_mask_add_pd(x0, ap, x0, am);
                        x1 = _mm512_mask_add_pd(x1, an, x1, am);
                    }
                }
                *s0 = x0;
                *s1 = x1;
            }
            _mm512_mask_storeu_pd(w->sA + p, lm, sA0);
            _mm512_mask_storeu_pd(w->sA + n + p, lm, sA1);
            _mm512_mask_storeu_pd(w->sA + 2 * n + p, lm, sA2);
            _mm512_mask_storeu_pd(w->sA + 3 * n + p, lm, sA3);
            _mm512_mask_storeu_pd(w->sG + p, lm, sG0);
            _mm512_mask_storeu_pd(w->sG + n + p, lm, sG1);
            _mm512_mask_storeu_pd(w->sG + 2 * n + p, lm, sG2);
            _mm512_mask_storeu_pd(w->sG + 3 * n + p, lm, sG3);
            _mm256_mask_storeu_epi32(w->cG + p, lm, cgp);
            _mm256_mask_storeu_epi32(w->cG + n + p, lm, cgn);
            _mm256_mask_storeu_epi32(w->cG + 2 * n + p, lm, cpp);
            _mm256_mask_storeu_epi32(w->cG + 3 * n + p, lm, cpn);
            _mm256_mask_storeu_epi32(w->cG + 4 * n + p, lm, cnp);
            _mm256_mask_storeu_epi32(w->cG + 5 * n + p, lm, cnn);
            _mm512_mask_storeu_epi64(pk + p, lm, cap);
            _mm512_mask_storeu_epi64(pk + n + p, lm, can);
        }
    }
    const int64_t field = ((int64_t)1 << 21) - 1;
    for (size_t p = 0; p < n; p++)
        for (int sw = 0; sw < 3; sw++) {
            w->cA[2 * sw * n + p] = (int32_t)((pk[p] >> (21 * sw)) & field);
            w->cA[(2 * sw + 1) * n + p] = (int32_t)((pk[n + p] >> (21 * sw)) & field);
        }
}
#endif

int sgn_tables_isa(sgn_table *aA, sgn_table *gA, const float *a, const float *g,
                   const double *alpha, const uint8_t *region, int K, int hw, void *work,
                   int isa)
{
    if (isa == SW_ISA_AUTO)
        isa = sw_isa_supported(SW_ISA_AVX512) ? SW_ISA_AVX512 : SW_ISA_SCALAR;
    if ((isa != SW_ISA_SCALAR && isa != SW_ISA_AVX512) || !sw_isa_supported(isa))
        return -1;
#ifndef SGN_X86
    if (isa != SW_ISA_SCALAR)
        return -1;
#endif
    sgn_clear(aA);
    sgn_clear(gA);
    if (hw < 1)
        return isa;
    sgn_acc w = acc_of(work, hw);
    const double *sA = w.sA, *sG = w.sG;
    const int32_t *cA = w.cA, *cG = w.cG;
    int64_t nsw[3] = {0, 0, 0};
    for (int k = 0; k < K; k++)
        nsw[sgn_of(alpha[k])]++;
#ifdef SGN_X86
    if (isa == SW_ISA_AVX512 && K > 0)
        acc_blocks(&w, (int64_t *)(void *)(w.cG + 6 * (size_t)hw), a, g, alpha, K, hw);
    else
#endif
    {
        memset(work, 0, sgn_work_bytes(hw));
        acc_channels(&w, a, g, alpha, K, hw);
    }
    /* per pixel into its region, in pixel order */
    for (int p = 0; p < hw; p++) {
        int r = region[p];
        int64_t apos = 0, aneg = 0;
        for (int sw = 0; sw < 3; sw++) {
            int64_t cp = cA[(size_t)(2 * sw) * hw + p], cn = cA[(size_t)(2 * sw + 1) * hw + p];
            aA->n[r][3 * sw + 0] += cp;
            aA->n[r][3 * sw + 2] += cn;
            aA->n[r][3 * sw + 1] += nsw[sw] - cp - cn;
            apos += cp;
            aneg += cn;
        }
        aA->s[r][0] += sA[p];
        aA->s[r][2] += sA[(size_t)hw + p];
        aA->s[r][6] += sA[2 * (size_t)hw + p];
        aA->s[r][8] += sA[3 * (size_t)hw + p];
        int64_t gp = cG[p], gn = cG[(size_t)hw + p], pp = cG[2 * (size_t)hw + p];
        int64_t pn = cG[3 * (size_t)hw + p], np = cG[4 * (size_t)hw + p];
        int64_t nn = cG[5 * (size_t)hw + p];
        int64_t *n = gA->n[r];
        n[0] += pp;
        n[2] += pn;
        n[6] += np;
        n[8] += nn;
        n[1] += gp - pp - pn;
        n[7] += gn - np - nn;
        n[3] += apos - pp - np;
        n[5] += aneg - pn - nn;
        n[4] += (int64_t)K - gp - gn - (apos - pp - np) - (aneg - pn - nn);
        gA->s[r][0] += sG[p];
        gA->s[r][2] += sG[(size_t)hw + p];
        gA->s[r][6] += sG[2 * (size_t)hw + p];
        gA->s[r][8] += sG[3 * (size_t)hw + p];
    }
    return isa;
}

void sgn_tables(sgn_table *aA, sgn_table *gA, const float *a, const float *g,
                const double *alpha, const uint8_t *region, int K, int hw, void *work)
{
    sgn_tables_isa(aA, gA, a, g, alpha, region, K, hw, work, SW_ISA_AUTO);
}

/* ---- naive twin ---------------------------------------------------------- */

void sgn_tables_ref(sgn_table *aA, sgn_table *gA, const float *a, const float *g,
                const double *alpha, const uint8_t *region, int K, int hw)
{
    sgn_clear(aA);
    sgn_clear(gA);
    for (int k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * (size_t)hw;
        const float *gk = g + (size_t)k * (size_t)hw;
        double al = alpha[k];
        int sw = 3 * sgn_of(al);
        for (int p = 0; p < hw; p++) {
            double av = ak[p], gv = gk[p];
            int r = region[p], sa = sgn_of(av);
            aA->n[r][sw + sa]++;
            aA->s[r][sw + sa] += al * av;
            int cg = 3 * sgn_of(gv) + sa;
            gA->n[r][cg]++;
            gA->s[r][cg] += gv * av;
        }
    }
}
