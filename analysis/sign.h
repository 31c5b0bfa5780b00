/* sign.h: sign tables of weight x activation products. */
#ifndef SIGN_H
#define SIGN_H

#include <stddef.h>
#include <stdint.h>

enum { SGN_TARGET = 0, SGN_OTHER = 1, SGN_BACKGROUND = 2, SGN_NREG = 3 };
enum { SGN_NCELL = 9 }; /* cell = 3 * s(w) + s(A); s: + -> 0, 0 -> 1, - -> 2 */

/* One table: per region and cell, the element count and the sum of products. */
typedef struct {
    int64_t n[SGN_NREG][SGN_NCELL];
    double s[SGN_NREG][SGN_NCELL];
} sgn_table;

/* Cell names in order: "PP", "P0", "PN", "0P", "00", "0N", "NP", "N0", "NN". */
const char *sgn_cell_name(int cell);
/* Region names: "target", "other", "background". */
const char *sgn_region_name(int region);

void sgn_clear(sgn_table *t);
/* acc += t, cell by cell (callers add in a fixed order for reproducible sums). */
void sgn_add(sgn_table *acc, const sgn_table *t);

/* Bytes of work sgn_tables needs (any malloc result is aligned enough). */
size_t sgn_work_bytes(int hw);

/* a: (K, hw), g: (K, hw), alpha: (K), region: (hw) in {SGN_*}
 * -> aA: table of sign(alpha_k) x sign(A_kp), sums of alpha_k A_kp;
 *    gA: table of sign(G_kp) x sign(A_kp), sums of G_kp A_kp.
 * Both tables are overwritten. Counts add up to K*hw. K <= 2^20.
 * work: sgn_work_bytes(hw) bytes. */
void sgn_tables(sgn_table *aA, sgn_table *gA, const float *a, const float *g,
                const double *alpha, const uint8_t *region, int K, int hw, void *work);

/* The same with the path chosen: isa SW_ISA_AUTO (the widest this CPU has),
 * SW_ISA_SCALAR (channel by channel, accumulators in memory: every CPU) or
 * SW_ISA_AVX512 (pixel blocks, accumulators in registers) from
 * kernels/sweep.h. Every path gives the same bytes. Returns the path used,
 * or -1 when the CPU lacks the one asked for (tables then unspecified). */
int sgn_tables_isa(sgn_table *aA, sgn_table *gA, const float *a, const float *g,
                   const double *alpha, const uint8_t *region, int K, int hw, void *work,
                   int isa);

/* Naive twin (test oracle): element by element in the order k, p. */
void sgn_tables_ref(sgn_table *aA, sgn_table *gA, const float *a, const float *g,
                    const double *alpha, const uint8_t *region, int K, int hw);

#endif
