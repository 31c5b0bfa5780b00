/* eigencam.h: EigenCAM (pytorch-grad-cam's get_2d_projection, then BaseCAM's
 * ReLU) at feature resolution, once per image (pure numerics, LAPACK). */
#ifndef EIGENCAM_H
#define EIGENCAM_H

#include <stddef.h>

/* Size in doubles of the work buffer eig_map needs for (K, hw); 0 when the
 * LAPACK (dsyevr) workspace query fails (then eig_map would fail too). */
size_t eig_work_doubles(int K, int hw);

/* Gram matrix paths (eig_gram's isa): the widest the CPU has, or one forced. */
enum { EIG_ISA_AUTO = 0, EIG_ISA_SCALAR = 1, EIG_ISA_AVX2 = 2 };

/* X: (K, hw) row-major (centred activations, row k = channel k) -> G:
 * (n, n), n = min(K, hw), both triangles, the Gram matrix of the smaller
 * side: K <= hw, G(i, j) = channels i and j's dot product as four
 * interleaved partial sums over the cells, combined (s0 + s1) + (s2 + s3);
 * K > hw, G(i, j) = sum over k = 0..K-1 in order of X[k][i] X[k][j] (cells
 * i, j). Multiplies and adds separate, no FMA. Every path gives eig_gram_ref's bits exactly.
 * isa: EIG_ISA_AUTO, EIG_ISA_SCALAR (portable: SSE2 tiles on x86-64, the
 * reference loop without SSE2) or EIG_ISA_AVX2. Returns
 * the path used, or -1 when the CPU lacks the one asked for (G untouched).
 * Pure, reentrant. */
int eig_gram(double *G, const double *X, int K, int hw, int isa);

/* Naive twin of eig_gram (the loops it replaced: one dot4 per entry, or
 * one axpy per (k, column) on a zeroed matrix). Same shapes and bits. */
void eig_gram_ref(double *G, const double *X, int K, int hw);

/* a: (K, hw) activations of one image -> map: (hw) float32,
 * ReLU(X v) with X = A^T centred per channel (rows = cells, columns =
 * channels, each column minus its mean over the cells) and v its first
 * right singular vector, signed by the rule (eigencam.c): the largest |v_k|
 * positive (first k among |v_k| >= (1 - 1e-9) max|v|).
 * *flipped: 1 when the rule negated LAPACK dsyevr's vector, else 0 (relative
 * to that routine's arbitrary sign; the map does not depend on it).
 * Degenerate input (X == 0: hw == 1, every channel constant, zeros): an
 * all-zero map, *flipped = 0, no LAPACK call.
 * work: eig_work_doubles(K, hw) doubles. Returns 0, or the LAPACK info
 * (non-zero: dsyevr failed; -1: its workspace query failed or it returned
 * no eigenpair; map zeros) -- never NaN from finite input.
 * Deterministic: fixed-order sums, one LAPACK call on this thread (the
 * caller keeps BLAS single-threaded). Reentrant. */
int eig_map(float *map, int *flipped, const float *a, int K, int hw, double *work);

/* Naive twin (no LAPACK): the same map from a cyclic Jacobi eigensolver on
 * the K x K matrix X^T X, the same sign rule. *flipped is not defined by
 * the twin (it has no LAPACK output): always 0. Allocates; -1 when out of
 * memory. For tests (K up to a few hundred). */
int eig_map_ref(float *map, const float *a, int K, int hw);

#endif
