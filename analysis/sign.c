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
 * sgn_tables accumulates per pixel over the channels first (k = 0..K-1, one
 * vectorisable pass per channel, counts as int32: K <= 2^20), then adds the
 * pixels into their regions in pixel order; cells with a zero factor have
 * sum 0 and their counts follow from the others. sgn_tables_ref is the
 * naive twin: one element at a time, in the order k, p. Counts agree
 * exactly; sums to rounding (tested).
 * Invariants (tested): counts add up to K*hw; the sums of the alpha table add
 * up to sum_p M_p, those of the G table to sum_p sum_k G A.
 *
 * Thread safety: pure; reentrant.
 */
#include "analysis/sign.h"

#include <string.h>

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
    return hw > 0 ? (size_t)hw * (8 * sizeof(double) + 12 * sizeof(int32_t)) : 1;
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

void sgn_tables(sgn_table *aA, sgn_table *gA, const float *a, const float *g,
                const double *alpha, const uint8_t *region, int K, int hw, void *work)
{
    sgn_clear(aA);
    sgn_clear(gA);
    if (hw < 1)
        return;
    double *sA = work, *sG = sA + 4 * (size_t)hw;        /* [alpha P/N][A P/N], [G][A] */
    int32_t *cA = (int32_t *)(void *)(sG + 4 * (size_t)hw); /* [alpha P/0/N][A P/N] */
    int32_t *cG = cA + 6 * (size_t)hw;                    /* G>0, G<0, PP, PN, NP, NN */
    memset(work, 0, sgn_work_bytes(hw));
    int64_t nsw[3] = {0, 0, 0};
    for (int k = 0; k < K; k++) {
        double al = alpha[k];
        int sw = sgn_of(al);
        nsw[sw]++;
        chan_acc(sA, cA, sG, cG, a + (size_t)k * hw, g + (size_t)k * hw, al, sw, hw);
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
