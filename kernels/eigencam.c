/* eigencam.c: EigenCAM at feature resolution, one image at a time.
 *
 * DESIGN
 * pytorch-grad-cam's EigenCAM (get_2d_projection) takes an image's
 * activations as a matrix X (rows = the hw cells, columns = the K channels),
 * centres each column (subtracts the channel's mean over the cells), and
 * projects X on its first right singular vector v: p = X v. BaseCAM then
 * applies np.maximum(p, 0) to every method's map, so the map here is
 * ReLU(p). No gradient enters: the map is the image's, the same for all its
 * targets, and the caller computes it once per image.
 *
 * Algorithm (double throughout, from the float32 input):
 *   1. means in a fixed order (c = 0..hw-1), X = A - mean, in the layout of
 *      A: (K, hw) row-major is X (hw x K) column-major, leading dimension hw;
 *   2. the Gram matrix of the smaller side, n = min(K, hw): X^T X (K x K)
 *      when K <= hw, else X X^T (hw x hw), fixed-order sums;
 *   3. LAPACK dsyevd (LAPACKE, column-major, lower triangle, the workspace
 *      its own query asks for): the eigenvector of the largest eigenvalue.
 *      For X^T X it is v; for X X^T it is u, and v = X^T u / |X^T u|
 *      (the same singular vector, with u's sign). Accuracy: an eigenvector
 *      of the Gram matrix is as good as the singular vector (relative gap
 *      (s1^2 - s2^2) / s1^2 against (s1 - s2) / s1), about 1e-13 of the map
 *      on random inputs (tests/test_kernels.c, tests/ref_check.py);
 *   4. the sign rule (LAPACK's sign is arbitrary): the component of v with
 *      the largest |v_k| is made positive; near-ties, |v_k| >= (1 - 1e-9)
 *      max|v|, go to the first such k (so that two libraries that agree to
 *      1e-9 pick the same k). A "sum of the projection >= 0" rule cannot
 *      decide anything here: the columns of X sum to 0, so sum_c p_c =
 *      (sum_c X_c.) v = 0 exactly, and only rounding would pick the sign.
 *      *flipped reports whether the rule negated LAPACK's vector;
 *   5. p = X v (per cell, k = 0..K-1), map = ReLU(p) rounded to float32.
 * Degenerate input: X == 0 (hw == 1, every channel constant over the cells,
 * an all-zero A) or a largest eigenvalue <= 0 gives an all-zero map and no
 * flip. K == 1: v = (1), the map is ReLU(A - mean). An eigenvalue tie
 * (s1 == s2) leaves v undefined: the map is then LAPACK's choice within the
 * tied subspace (not reproducible across LAPACK builds; never NaN).
 *
 * Thread safety: reentrant; each call uses only its arguments. LAPACKE and
 * reference LAPACK/BLAS are reentrant; a multithreaded BLAS must be kept to
 * one thread by the caller (pipeline/run/run.c does), so the bytes do not
 * depend on any thread count.
 */
#include "kernels/eigencam.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Relative width of a tie in the sign rule. */
#define EIG_TIE 1e-9

/* dsyevd's workspace for order n (its own query): lwork doubles, liwork ints.
 * 0, or -1 when the query fails. */
static int syevd_query(int n, lapack_int *lwork, lapack_int *liwork)
{
    double wq = 0.0, dummy = 0.0, ev = 0.0;
    lapack_int iwq = 0;
    lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'L', n, &dummy, n > 0 ? n : 1,
                                          &ev, &wq, -1, &iwq, -1);
    if (info != 0)
        return -1;
    *lwork = (lapack_int)wq;
    *liwork = iwq;
    return 0;
}

/* Doubles that hold n lapack_ints. */
static size_t ints_as_doubles(size_t n)
{
    return (n * sizeof(lapack_int) + sizeof(double) - 1) / sizeof(double);
}

size_t eig_work_doubles(int K, int hw)
{
    if (K <= 0 || hw <= 0)
        return 1;
    int n = K <= hw ? K : hw;
    lapack_int lw, liw;
    if (syevd_query(n, &lw, &liw) < 0)
        return 0;
    /* X, Gram, eigenvalues, v, projection, LAPACK work, LAPACK iwork */
    return (size_t)K * hw + (size_t)n * n + (size_t)n + (size_t)K + (size_t)hw + (size_t)lw +
           ints_as_doubles((size_t)liw);
}

/* Dot product of x and y (n doubles) as four interleaved partial sums,
 * combined (s0 + s1) + (s2 + s3): a fixed order. */
static double dot4(const double *x, const double *y, int n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i] * y[i];
        s1 += x[i + 1] * y[i + 1];
        s2 += x[i + 2] * y[i + 2];
        s3 += x[i + 3] * y[i + 3];
    }
    for (; i < n; i++)
        s0 += x[i] * y[i];
    return (s0 + s1) + (s2 + s3);
}

/* y[i] += a x[i]: independent lanes, vectorisable, the same result at any
 * vector width (sums over k stay in order k = 0..K-1 per entry). */
static void axpy_d(double *restrict y, double a, const double *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* X = A - per-channel mean (both (K, hw)); 1 when X has a non-zero. */
static int centre(double *X, const float *a, int K, int hw)
{
    int any = 0;
    for (int k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * hw;
        double s = 0.0;
        for (int c = 0; c < hw; c++)
            s += ak[c];
        double mean = s / hw;
        double *xk = X + (size_t)k * hw;
        for (int c = 0; c < hw; c++) {
            xk[c] = (double)ak[c] - mean;
            any |= xk[c] != 0.0;
        }
    }
    return any;
}

/* The sign rule on v (K): returns 1 when it negated v. */
static int sign_rule(double *v, int K)
{
    double vmax = 0.0;
    for (int k = 0; k < K; k++)
        if (fabs(v[k]) > vmax)
            vmax = fabs(v[k]);
    int ks = 0;
    for (int k = 0; k < K; k++)
        if (fabs(v[k]) >= (1.0 - EIG_TIE) * vmax) {
            ks = k;
            break;
        }
    if (!(v[ks] < 0.0))
        return 0;
    for (int k = 0; k < K; k++)
        v[k] = -v[k];
    return 1;
}

/* map = ReLU(X v) per cell (k = 0..K-1), into pr (hw doubles) then float. */
static void project(float *map, double *pr, const double *X, const double *v, int K, int hw)
{
    for (int c = 0; c < hw; c++)
        pr[c] = 0.0;
    for (int k = 0; k < K; k++) {
        const double *xk = X + (size_t)k * hw;
        double vk = v[k];
        for (int c = 0; c < hw; c++)
            pr[c] += xk[c] * vk;
    }
    for (int c = 0; c < hw; c++)
        map[c] = pr[c] > 0.0 ? (float)pr[c] : 0.0f;
}

int eig_map(float *map, int *flipped, const float *a, int K, int hw, double *work)
{
    *flipped = 0;
    for (int c = 0; c < hw; c++)
        map[c] = 0.0f;
    if (K <= 0 || hw <= 0)
        return 0;
    double *X = work;
    if (!centre(X, a, K, hw))
        return 0;
    int kside = K <= hw, n = kside ? K : hw;
    lapack_int lw, liw;
    if (syevd_query(n, &lw, &liw) < 0)
        return -1;
    double *Gm = X + (size_t)K * hw, *ev = Gm + (size_t)n * n, *v = ev + n, *pr = v + K;
    double *wk = pr + hw;
    lapack_int *iw = (lapack_int *)(wk + lw);

    /* the Gram matrix, lower triangle (column j, rows i >= j), mirrored */
    if (kside) {
        for (int j = 0; j < K; j++)
            for (int i = j; i < K; i++)
                Gm[(size_t)j * n + i] = dot4(X + (size_t)i * hw, X + (size_t)j * hw, hw);
    } else {
        memset(Gm, 0, (size_t)n * n * sizeof(double));
        for (int k = 0; k < K; k++) {
            const double *xk = X + (size_t)k * hw;
            for (int j = 0; j < hw; j++)
                axpy_d(Gm + (size_t)j * n + j, xk[j], xk + j, hw - j);
        }
    }
    for (int j = 0; j < n; j++)
        for (int i = j + 1; i < n; i++)
            Gm[(size_t)i * n + j] = Gm[(size_t)j * n + i];

    lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'L', n, Gm, n, ev, wk, lw, iw,
                                          liw);
    if (info != 0)
        return (int)info;
    if (!(ev[n - 1] > 0.0))
        return 0;
    const double *top = Gm + (size_t)(n - 1) * n; /* eigenvalues ascend: the last column */
    if (kside) {
        memcpy(v, top, (size_t)K * sizeof(double));
    } else {
        double nv = 0.0;
        for (int k = 0; k < K; k++) {
            v[k] = dot4(X + (size_t)k * hw, top, hw);
            nv += v[k] * v[k];
        }
        if (!(nv > 0.0))
            return 0;
        nv = sqrt(nv);
        for (int k = 0; k < K; k++)
            v[k] /= nv;
    }
    *flipped = sign_rule(v, K);
    project(map, pr, X, v, K, hw);
    return 0;
}

/* ---- naive twin ---------------------------------------------------------- */

/* Cyclic Jacobi on the symmetric n x n matrix S (overwritten: its diagonal
 * ends as the eigenvalues); V (n x n, column j = eigenvector j). Sweeps
 * until no off-diagonal entry is above 1e-18 of its two diagonal entries
 * (at most 60). */
static void jacobi(double *S, double *V, int n)
{
    for (int i = 0; i < n * n; i++)
        V[i] = 0.0;
    for (int i = 0; i < n; i++)
        V[(size_t)i * n + i] = 1.0;
    for (int sweep = 0; sweep < 60; sweep++) {
        int rotated = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = S[(size_t)p * n + q];
                double app = S[(size_t)p * n + p], aqq = S[(size_t)q * n + q];
                if (fabs(apq) <= 1e-18 * (fabs(app) + fabs(aqq))) { /* negligible: drop */
                    S[(size_t)p * n + q] = S[(size_t)q * n + p] = 0.0;
                    continue;
                }
                rotated = 1;
                double tau = (S[(size_t)q * n + q] - S[(size_t)p * n + p]) / (2.0 * apq);
                double t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + sqrt(1.0 + tau * tau));
                double c = 1.0 / sqrt(1.0 + t * t), s = t * c;
                for (int k = 0; k < n; k++) { /* S J */
                    double kp = S[(size_t)k * n + p], kq = S[(size_t)k * n + q];
                    S[(size_t)k * n + p] = c * kp - s * kq;
                    S[(size_t)k * n + q] = s * kp + c * kq;
                }
                for (int k = 0; k < n; k++) { /* J^T S */
                    double pk = S[(size_t)p * n + k], qk = S[(size_t)q * n + k];
                    S[(size_t)p * n + k] = c * pk - s * qk;
                    S[(size_t)q * n + k] = s * pk + c * qk;
                }
                for (int k = 0; k < n; k++) { /* V J */
                    double kp = V[(size_t)k * n + p], kq = V[(size_t)k * n + q];
                    V[(size_t)k * n + p] = c * kp - s * kq;
                    V[(size_t)k * n + q] = s * kp + c * kq;
                }
                S[(size_t)p * n + q] = S[(size_t)q * n + p] = 0.0; /* zero in exact arithmetic */
            }
        if (!rotated)
            break;
    }
}

int eig_map_ref(float *map, const float *a, int K, int hw)
{
    for (int c = 0; c < hw; c++)
        map[c] = 0.0f;
    if (K <= 0 || hw <= 0)
        return 0;
    double *X = malloc((size_t)K * hw * sizeof(double));
    double *S = malloc((size_t)K * K * sizeof(double));
    double *V = malloc((size_t)K * K * sizeof(double));
    double *v = malloc((size_t)K * sizeof(double));
    double *pr = malloc((size_t)hw * sizeof(double));
    int rc = 0;
    if (!X || !S || !V || !v || !pr) {
        rc = -1;
        goto done;
    }
    if (!centre(X, a, K, hw))
        goto done;
    for (int i = 0; i < K; i++) /* S = X^T X, one plain sum per entry */
        for (int j = 0; j < K; j++) {
            double s = 0.0;
            for (int c = 0; c < hw; c++)
                s += X[(size_t)i * hw + c] * X[(size_t)j * hw + c];
            S[(size_t)i * K + j] = s;
        }
    jacobi(S, V, K);
    int best = 0;
    for (int i = 1; i < K; i++)
        if (S[(size_t)i * K + i] > S[(size_t)best * K + best])
            best = i;
    if (!(S[(size_t)best * K + best] > 0.0))
        goto done;
    double nv = 0.0;
    for (int k = 0; k < K; k++) {
        v[k] = V[(size_t)k * K + best];
        nv += v[k] * v[k];
    }
    nv = sqrt(nv);
    for (int k = 0; k < K; k++)
        v[k] /= nv;
    sign_rule(v, K);
    project(map, pr, X, v, K, hw);
done:
    free(X);
    free(S);
    free(V);
    free(v);
    free(pr);
    return rc;
}
