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
 *   2. the Gram matrix of the smaller side, n = min(K, hw) (eig_gram):
 *      X^T X (K x K) when K <= hw, entry (i, j) the dot product of channel
 *      rows i and j as four interleaved partial sums over the cells combined
 *      (s0 + s1) + (s2 + s3); else X X^T (hw x hw), entry (i, j) one sum over
 *      k = 0..K-1 in order. Every product is a multiply then an add (no FMA:
 *      CFLAGS have no -march, ISO C mode keeps -ffp-contract=off, and the
 *      AVX2 path enables avx2 only, never fma). These per-entry orders are
 *      the definition; eig_gram_ref computes them one entry (or one axpy) at
 *      a time and every path must give its bits exactly. The fast paths
 *      (register tiles: several i x several j entries accumulate over the
 *      sum index in registers, each entry in its own lanes) only regroup
 *      which entries are computed together, never an entry's order. A tile
 *      that would cross the matrix's edge is shifted back inside it, so some
 *      entries are computed twice (the same bits) and some of the upper
 *      triangle too (the Gram matrix is bitwise symmetric: a product
 *      commutes, the order over the sum index is the same for (i, j) and
 *      (j, i)); the upper triangle is then mirrored from the lower one.
 *      Paths: AVX2 (four doubles a register), chosen at run time with
 *      __builtin_cpu_supports, and the portable one, always there: SSE2
 *      tiles (two doubles a register, the x86-64 baseline), or the
 *      reference loop itself where there is no SSE2. n below the tile also
 *      takes the reference loop. (Plain C tiles left to the auto-vectoriser
 *      came out slower than the reference's dot4, hence intrinsics.)
 *      Measured at K = 512, 14x14 (cells side): reference 2.4 ms, SSE2
 *      1.2 ms, AVX2 0.65 ms, near the AVX2 mul + add throughput; at K = 64,
 *      12x12 (channel side) 0.046, 0.038, 0.028 ms;
 *   3. LAPACK dsyevr (LAPACKE, column-major, lower triangle, RANGE 'I' with
 *      IL = IU = n: only the largest eigenvalue and its eigenvector; the
 *      workspace its own query asks for): for X^T X the vector is v; for
 *      X X^T it is u, and v = X^T u / |X^T u| (the same singular vector,
 *      with u's sign). Why dsyevr: dsyevd computes all n eigenvectors (a
 *      divide and conquer and a back-transformation, O(n^3) twice more than
 *      needed); with one index dsyevr reduces to tridiagonal form (dsytrd),
 *      bisects for the one eigenvalue (dstebz), inverse-iterates for its
 *      vector (dstein) and back-transforms that one vector: about 2.5 ms
 *      against 10 to 15 ms for dsyevd at n = 196 on reference LAPACK (a
 *      shared, noisy machine). ABSTOL = 0: dstebz then uses ulp * |T|, and
 *      its relative test (2 ulp of the eigenvalue) is as tight for the
 *      largest eigenvalue, which is of order |T|; the vector agreed with
 *      dsyevd's to 2.5e-15 (largest component difference, up to sign) on
 *      20 images of a bench file (n = 196) and of vgg-relu-post (n = 64),
 *      and the float32 maps were the same bits. Accuracy:
 *      an eigenvector of the Gram matrix is as good as the singular vector
 *      (relative gap (s1^2 - s2^2) / s1^2 against (s1 - s2) / s1), about
 *      1e-13 of the map on random inputs (tests/test_kernels.c,
 *      tests/ref_check.py);
 *   4. the sign rule (LAPACK's sign is arbitrary): the component of v with
 *      the largest |v_k| is made positive; near-ties, |v_k| >= (1 - 1e-9)
 *      max|v|, go to the first such k (so that two libraries that agree to
 *      1e-9 pick the same k). A "sum of the projection >= 0" rule cannot
 *      decide anything here: the columns of X sum to 0, so sum_c p_c =
 *      (sum_c X_c.) v = 0 exactly, and only rounding would pick the sign.
 *      *flipped reports whether the rule negated dsyevr's vector: a count
 *      relative to that routine's arbitrary sign (dsyevd's differs), while
 *      the map does not depend on it;
 *   5. p = X v (per cell, k = 0..K-1), map = ReLU(p) rounded to float32.
 * Degenerate input: X == 0 (hw == 1, every channel constant over the cells,
 * an all-zero A) or a largest eigenvalue <= 0 gives an all-zero map and no
 * flip. K == 1: v = (1), the map is ReLU(A - mean). An eigenvalue tie
 * (s1 == s2) leaves v undefined: the map is then LAPACK's choice within the
 * tied subspace (not reproducible across LAPACK builds; never NaN).
 *
 * Thread safety: reentrant; each call uses only its arguments (the CPU
 * check reads a table the runtime filled at start-up). LAPACKE and
 * reference LAPACK/BLAS are reentrant; a multithreaded BLAS must be kept to
 * one thread by the caller (pipeline/run/run.c does), so the bytes do not
 * depend on any thread count. The Gram path does not change the bytes
 * either (every path gives eig_gram_ref's bits).
 */
#include "kernels/eigencam.h"
#include "kernels/sweep.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define EIG_X86 1
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Relative width of a tie in the sign rule. */
#define EIG_TIE 1e-9

/* dsyevr's workspace for order n, top eigenpair only (its own query):
 * lwork doubles, liwork ints. 0, or -1 when the query fails. */
static int syevr_query(int n, lapack_int *lwork, lapack_int *liwork)
{
    double wq = 0.0, dummy = 0.0, ev = 0.0, z = 0.0;
    lapack_int iwq = 0, m = 0, isuppz[2] = {0, 0};
    int nn = n > 0 ? n : 1;
    lapack_int info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'I', 'L', n, &dummy, nn, 0.0,
                                          0.0, nn, nn, 0.0, &m, &ev, &z, nn, isuppz, &wq, -1,
                                          &iwq, -1);
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
    if (syevr_query(n, &lw, &liw) < 0)
        return 0;
    /* X, Gram, eigenvalues, eigenvector, v, projection, LAPACK work,
     * LAPACK iwork and isuppz (2) */
    return (size_t)K * hw + (size_t)n * n + 2 * (size_t)n + (size_t)K + (size_t)hw +
           (size_t)lw + ints_as_doubles((size_t)liw + 2);
}

/* ---- Gram matrix ---------------------------------------------------------- */

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

/* y[i] += a x[i]: independent lanes, the same result at any vector width
 * (sums over k stay in order k = 0..K-1 per entry). */
static void axpy_d(double *restrict y, double a, const double *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* Mirror the lower triangle of G (n x n) into the upper one. */
static void mirror(double *G, int n)
{
    for (int j = 0; j < n; j++)
        for (int i = j + 1; i < n; i++)
            G[(size_t)i * n + j] = G[(size_t)j * n + i];
}

void eig_gram_ref(double *G, const double *X, int K, int hw)
{
    if (K <= 0 || hw <= 0)
        return;
    int n = K <= hw ? K : hw;
    if (K <= hw) {
        for (int j = 0; j < K; j++)
            for (int i = j; i < K; i++)
                G[(size_t)j * n + i] = dot4(X + (size_t)i * hw, X + (size_t)j * hw, hw);
    } else {
        memset(G, 0, (size_t)n * n * sizeof(double));
        for (int k = 0; k < K; k++) {
            const double *xk = X + (size_t)k * hw;
            for (int j = 0; j < hw; j++)
                axpy_d(G + (size_t)j * n + j, xk[j], xk + j, hw - j);
        }
    }
    mirror(G, n);
}

#ifdef __SSE2__
/* SSE2 tiles (the x86-64 baseline: the portable path there), multiplies and
 * adds separate. Channel side (n = K >= 2): 2 i x 2 j entries, each as two
 * registers (s0, s1) and (s2, s3) of dot4's partial sums. */
#define MA2(acc, x, y) acc = _mm_add_pd(acc, _mm_mul_pd(x, y))
static void gram_chan_sse2(double *G, const double *X, int K, int hw)
{
    const int n = K, c4 = hw & ~3;
    for (int j0 = 0; j0 < n; j0 += 2) {
        int jb = j0 + 2 <= n ? j0 : n - 2;
        const double *y0 = X + (size_t)jb * hw, *y1 = y0 + hw;
        for (int i0 = jb; i0 < n; i0 += 2) {
            int ib = i0 + 2 <= n ? i0 : n - 2;
            const double *x0 = X + (size_t)ib * hw, *x1 = x0 + hw;
            __m128d a0 = _mm_setzero_pd(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0,
                    d1 = a0;
            for (int c = 0; c < c4; c += 4) {
                __m128d v0 = _mm_loadu_pd(y0 + c), v1 = _mm_loadu_pd(y0 + c + 2);
                __m128d w0 = _mm_loadu_pd(y1 + c), w1 = _mm_loadu_pd(y1 + c + 2);
                __m128d u = _mm_loadu_pd(x0 + c);
                MA2(a0, u, v0);
                MA2(b0, u, w0);
                u = _mm_loadu_pd(x0 + c + 2);
                MA2(a1, u, v1);
                MA2(b1, u, w1);
                u = _mm_loadu_pd(x1 + c);
                MA2(c0, u, v0);
                MA2(d0, u, w0);
                u = _mm_loadu_pd(x1 + c + 2);
                MA2(c1, u, v1);
                MA2(d1, u, w1);
            }
            double s[2][2][4];
            _mm_storeu_pd(s[0][0], a0);
            _mm_storeu_pd(s[0][0] + 2, a1);
            _mm_storeu_pd(s[0][1], b0);
            _mm_storeu_pd(s[0][1] + 2, b1);
            _mm_storeu_pd(s[1][0], c0);
            _mm_storeu_pd(s[1][0] + 2, c1);
            _mm_storeu_pd(s[1][1], d0);
            _mm_storeu_pd(s[1][1] + 2, d1);
            const double *xi[2] = {x0, x1}, *yj[2] = {y0, y1};
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    double *e = s[a][b];
                    for (int c = c4; c < hw; c++)
                        e[0] += xi[a][c] * yj[b][c];
                    G[(size_t)(jb + b) * n + ib + a] = (e[0] + e[1]) + (e[2] + e[3]);
                }
        }
    }
}

/* Cell side (n = hw >= 4): 4 i (two registers of consecutive cells) x 4 j
 * (broadcast) entries, one sum over k each. */
static void gram_cell_sse2(double *G, const double *X, int K, int hw)
{
    const int n = hw;
    for (int j0 = 0; j0 < n; j0 += 4) {
        int jb = j0 + 4 <= n ? j0 : n - 4;
        for (int i0 = jb; i0 < n; i0 += 4) {
            int ib = i0 + 4 <= n ? i0 : n - 4;
            __m128d a00 = _mm_setzero_pd(), a01 = a00, a10 = a00, a11 = a00, a20 = a00,
                    a21 = a00, a30 = a00, a31 = a00;
            const double *xk = X;
            for (int k = 0; k < K; k++, xk += hw) {
                __m128d v0 = _mm_loadu_pd(xk + ib), v1 = _mm_loadu_pd(xk + ib + 2);
                __m128d b = _mm_load1_pd(xk + jb);
                MA2(a00, b, v0);
                MA2(a01, b, v1);
                b = _mm_load1_pd(xk + jb + 1);
                MA2(a10, b, v0);
                MA2(a11, b, v1);
                b = _mm_load1_pd(xk + jb + 2);
                MA2(a20, b, v0);
                MA2(a21, b, v1);
                b = _mm_load1_pd(xk + jb + 3);
                MA2(a30, b, v0);
                MA2(a31, b, v1);
            }
            double *g = G + (size_t)jb * n + ib;
            _mm_storeu_pd(g, a00);
            _mm_storeu_pd(g + 2, a01);
            _mm_storeu_pd(g + n, a10);
            _mm_storeu_pd(g + n + 2, a11);
            _mm_storeu_pd(g + 2 * (size_t)n, a20);
            _mm_storeu_pd(g + 2 * (size_t)n + 2, a21);
            _mm_storeu_pd(g + 3 * (size_t)n, a30);
            _mm_storeu_pd(g + 3 * (size_t)n + 2, a31);
        }
    }
}
#undef MA2
#endif

#ifdef EIG_X86
/* AVX2 tiles: separate multiplies and adds (this target enables no FMA). */
#define MA(acc, x, y) acc = _mm256_add_pd(acc, _mm256_mul_pd(x, y))

/* Channel side (n = K >= 4): 4 i x 2 j entries; lane l of an entry's
 * register is dot4's partial sum s_l. */
__attribute__((target("avx2"))) static void gram_chan_avx2(double *G, const double *X, int K,
                                                           int hw)
{
    const int n = K, c4 = hw & ~3;
    for (int j0 = 0; j0 < n; j0 += 2) {
        int jb = j0 + 2 <= n ? j0 : n - 2;
        const double *y0 = X + (size_t)jb * hw, *y1 = y0 + hw;
        for (int i0 = jb; i0 < n; i0 += 4) {
            int ib = i0 + 4 <= n ? i0 : n - 4;
            const double *x0 = X + (size_t)ib * hw, *x1 = x0 + hw, *x2 = x1 + hw, *x3 = x2 + hw;
            __m256d a00 = _mm256_setzero_pd(), a01 = a00, a10 = a00, a11 = a00, a20 = a00,
                    a21 = a00, a30 = a00, a31 = a00;
            for (int c = 0; c < c4; c += 4) {
                __m256d b0 = _mm256_loadu_pd(y0 + c), b1 = _mm256_loadu_pd(y1 + c);
                __m256d v = _mm256_loadu_pd(x0 + c);
                MA(a00, v, b0);
                MA(a01, v, b1);
                v = _mm256_loadu_pd(x1 + c);
                MA(a10, v, b0);
                MA(a11, v, b1);
                v = _mm256_loadu_pd(x2 + c);
                MA(a20, v, b0);
                MA(a21, v, b1);
                v = _mm256_loadu_pd(x3 + c);
                MA(a30, v, b0);
                MA(a31, v, b1);
            }
            double s[4][2][4];
            _mm256_storeu_pd(s[0][0], a00);
            _mm256_storeu_pd(s[0][1], a01);
            _mm256_storeu_pd(s[1][0], a10);
            _mm256_storeu_pd(s[1][1], a11);
            _mm256_storeu_pd(s[2][0], a20);
            _mm256_storeu_pd(s[2][1], a21);
            _mm256_storeu_pd(s[3][0], a30);
            _mm256_storeu_pd(s[3][1], a31);
            const double *xi[4] = {x0, x1, x2, x3}, *yj[2] = {y0, y1};
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 2; b++) {
                    double *e = s[a][b];
                    for (int c = c4; c < hw; c++)
                        e[0] += xi[a][c] * yj[b][c];
                    G[(size_t)(jb + b) * n + ib + a] = (e[0] + e[1]) + (e[2] + e[3]);
                }
        }
    }
}

/* Cell side (n = hw >= 8): 8 i (two registers of consecutive cells) x 4 j
 * (broadcast) entries, one sum over k each. */
__attribute__((target("avx2"))) static void gram_cell_avx2(double *G, const double *X, int K,
                                                           int hw)
{
    const int n = hw;
    for (int j0 = 0; j0 < n; j0 += 4) {
        int jb = j0 + 4 <= n ? j0 : n - 4;
        for (int i0 = jb; i0 < n; i0 += 8) {
            int ib = i0 + 8 <= n ? i0 : n - 8;
            __m256d a00 = _mm256_setzero_pd(), a01 = a00, a10 = a00, a11 = a00, a20 = a00,
                    a21 = a00, a30 = a00, a31 = a00;
            const double *xk = X;
            for (int k = 0; k < K; k++, xk += hw) {
                __m256d v0 = _mm256_loadu_pd(xk + ib), v1 = _mm256_loadu_pd(xk + ib + 4);
                __m256d b = _mm256_broadcast_sd(xk + jb);
                MA(a00, b, v0);
                MA(a01, b, v1);
                b = _mm256_broadcast_sd(xk + jb + 1);
                MA(a10, b, v0);
                MA(a11, b, v1);
                b = _mm256_broadcast_sd(xk + jb + 2);
                MA(a20, b, v0);
                MA(a21, b, v1);
                b = _mm256_broadcast_sd(xk + jb + 3);
                MA(a30, b, v0);
                MA(a31, b, v1);
            }
            double *g = G + (size_t)jb * n + ib;
            _mm256_storeu_pd(g, a00);
            _mm256_storeu_pd(g + 4, a01);
            _mm256_storeu_pd(g + n, a10);
            _mm256_storeu_pd(g + n + 4, a11);
            _mm256_storeu_pd(g + 2 * (size_t)n, a20);
            _mm256_storeu_pd(g + 2 * (size_t)n + 4, a21);
            _mm256_storeu_pd(g + 3 * (size_t)n, a30);
            _mm256_storeu_pd(g + 3 * (size_t)n + 4, a31);
        }
    }
}
#undef MA
#endif

static int avx2_ok(void)
{
#ifdef EIG_X86
    return sw_isa_supported(SW_ISA_AVX2); /* the CPU's, under sw_isa_cap */
#else
    return 0;
#endif
}

int eig_gram(double *G, const double *X, int K, int hw, int isa)
{
    if (isa == EIG_ISA_AUTO)
        isa = avx2_ok() ? EIG_ISA_AVX2 : EIG_ISA_SCALAR;
    if (isa == EIG_ISA_AVX2 ? !avx2_ok() : isa != EIG_ISA_SCALAR)
        return -1;
    if (K <= 0 || hw <= 0)
        return isa;
    int kside = K <= hw, n = kside ? K : hw;
#ifdef __SSE2__
    int tile = isa == EIG_ISA_AVX2 ? (kside ? 4 : 8) : (kside ? 2 : 4);
#else
    int tile = isa == EIG_ISA_AVX2 ? (kside ? 4 : 8) : n + 1; /* the reference loop */
#endif
    if (n < tile) {
        eig_gram_ref(G, X, K, hw);
        return isa;
    }
#ifdef EIG_X86
    if (isa == EIG_ISA_AVX2) {
        if (kside)
            gram_chan_avx2(G, X, K, hw);
        else
            gram_cell_avx2(G, X, K, hw);
        mirror(G, n);
        return isa;
    }
#endif
#ifdef __SSE2__
    if (kside)
        gram_chan_sse2(G, X, K, hw);
    else
        gram_cell_sse2(G, X, K, hw);
    mirror(G, n);
#endif
    return isa;
}

/* ---- the map -------------------------------------------------------------- */

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
    if (syevr_query(n, &lw, &liw) < 0)
        return -1;
    double *Gm = X + (size_t)K * hw, *ev = Gm + (size_t)n * n, *top = ev + n, *v = top + n;
    double *pr = v + K, *wk = pr + hw;
    lapack_int *iw = (lapack_int *)(wk + lw), *isuppz = iw + liw;

    eig_gram(Gm, X, K, hw, EIG_ISA_AUTO);
    lapack_int m = 0;
    lapack_int info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', 'I', 'L', n, Gm, n, 0.0, 0.0, n,
                                          n, 0.0, &m, ev, top, n, isuppz, wk, lw, iw, liw);
    if (info != 0)
        return (int)info;
    if (m != 1) /* IL == IU: one eigenpair, always, when info == 0 */
        return -1;
    if (!(ev[0] > 0.0))
        return 0;
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
