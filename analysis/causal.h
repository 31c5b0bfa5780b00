/* causal.h: the statistics of the causal deletion/insertion curves
 * (README "summary.json", `causal`): normalised curves, AUCs, their image
 * bootstrap intervals, paired differences, the paper's claim test and the
 * completeness fit. Pure: the curves come from a curves file that
 * pipeline/input/curves.c has read and checked. */
#ifndef CAUSAL_H
#define CAUSAL_H

#include <stdint.h>

enum { CZ_DELETION = 0, CZ_INSERTION, CZ_NMODE };
/* Masses per target, laid out (T, CZ_NMASS): Grad-CAM's sum_ij M and HiResCAM's
 * sum_kij G A, raw (reference zero) and mu-centred (reference mu). */
enum { CZ_M_GRADCAM = 0, CZ_M_GRADCAM_MU, CZ_M_HIRES, CZ_M_HIRES_MU, CZ_NMASS };
/* The completeness fits: Grad-CAM's mass, HiResCAM's. */
enum { CZ_FIT_GRADCAM = 0, CZ_FIT_HIRES, CZ_NFIT };

/* What the statistics read (every array owned by the caller). */
typedef struct {
    int R, O, S;              /* references, orders, steps (S + 1 points) */
    int64_t T, N;             /* targets, images */
    const int32_t *timg;      /* (T) image of each target, in 0..N-1 */
    const int32_t *cells;     /* (S + 1) k_s */
    int64_t n;                /* cells of the map (h * w) = cells[S] */
    const int *ref_mu;        /* (R) 1: reference mu (centred masses), 0: zero */
    int gradcam;              /* index of the gradcam order, or -1 */
    int random;               /* index of the random order, or -1 */
    const double *y_orig;     /* (T) */
    const double *y_ref;      /* (R, T) */
    const double *curve[CZ_NMODE]; /* (R, O, T, S + 1) deletion, insertion */
    const int32_t *n_neg, *n_others; /* (T) */
    const double *claim_target;      /* (R, T, 2) y after neg removed, after random */
    const double *claim_others;      /* (R, T, 3) others' mean: original, neg, random */
    const double *mass;       /* (T, CZ_NMASS) */
    int B;                    /* bootstrap resamples (< 2: no intervals) */
    uint64_t seed;
    int threads;
} cz_in;

typedef struct {
    double value_a, value_b, diff, ci[2];
} cz_pair;

typedef struct {
    int64_t eligible, eligible_others;
    double target_neg, target_random, target_diff, target_ci[2];
    double others_neg, others_random, others_diff, others_ci[2];
} cz_claim;

typedef struct {
    int64_t n;
    double r, r_ci[2], slope, slope_ci[2];
} cz_fit;

/* The results; arrays allocated by cz_compute, released by cz_free. */
typedef struct {
    int R, O, S;
    double *scale;            /* (R) */
    int *scale_degenerate;    /* (R) */
    double *auc, *auc_ci;     /* (CZ_NMODE, R, O) and (CZ_NMODE, R, O, 2) */
    double *curve, *raw;      /* (CZ_NMODE, R, O, S + 1) mean u, mean y */
    int *best;                /* (CZ_NMODE, R) order index, -1 when no order but random */
    cz_pair *pair;            /* (CZ_NMODE, R, O): gradcam against order b (b != gradcam) */
    cz_claim *claim;          /* (R) */
    cz_fit *fit;              /* (R, CZ_NFIT) */
} cz_res;

/* Median of v (n >= 1), the mean of the middle two for even n; v is sorted
 * in place. */
double cz_median(double *v, int64_t n);

/* Trapezoid area of u over x_s = cells[s] / n, s = 0..S. */
double cz_auc(const double *u, const int32_t *cells, int S, int64_t n);

/* Pearson r and OLS slope of y on x from sums (cnt, sx, sy, sxx, sxy, syy);
 * both 0 when x or y has no spread (or cnt < 2). */
void cz_fit_sums(double *r, double *slope, double cnt, double sx, double sy, double sxx,
                 double sxy, double syy);

/* Image bootstrap of r and slope from per-image sums s: (N, 6) = n, x, y,
 * xx, xy, yy; resample q is st_weights(seed, q); percentile 95%. ci_r, ci_s
 * [0, 0] when B < 2. The bytes do not depend on threads. 0, or -1 (out of
 * memory). */
int cz_boot_fit(double ci_r[2], double ci_s[2], const double *s, int64_t N, int B,
                uint64_t seed, int threads);

/* Everything, into res. 0, or -1 (out of memory; res freed). */
int cz_compute(cz_res *res, const cz_in *in);
void cz_free(cz_res *res);

#endif
