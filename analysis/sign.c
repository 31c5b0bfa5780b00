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
 * the sum of the products in double, accumulated in the order k, p.
 * Invariants (tested): counts add up to K*hw; the sums of the alpha table add
 * up to sum_p M_p, those of the G table to sum_p sum_k G A.
 *
 * Thread safety: pure; reentrant.
 */
#include "sign.h"

#include <string.h>

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

void sgn_tables(sgn_table *aA, sgn_table *gA, const float *a, const float *g,
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
