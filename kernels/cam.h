/* cam.h: Grad-CAM family maps at feature resolution (pure numerics). */
#ifndef CAM_H
#define CAM_H

#include <stddef.h>

/* Hot loops get an AVX2 clone next to the baseline x86-64 one (GCC function
 * multiversioning); elsewhere a plain function. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define CAM_HOT __attribute__((target_clones("avx2", "default")))
#else
#define CAM_HOT
#endif

/* The feature-resolution variants, in output order. The indices are part of
 * the API: maps are laid out (CAM_NMAPS, hw) in this order. */
enum {
    CAM_GRADCAM = 0,      /* ReLU(M), M = sum_k alpha_k A^k            */
    CAM_SIGNED,           /* M                                          */
    CAM_COUNTERFACTUAL,   /* ReLU(-M)                                   */
    CAM_ABSGRAD,          /* ReLU(sum_k mean|G_k| A^k)                  */
    CAM_CENTERED,         /* ReLU(sum_k alpha_k (A^k - mu_k))           */
    CAM_ACTIVATION,       /* ReLU(sum_k A^k)                            */
    CAM_GRADIENT,         /* ReLU(sum_k G^k)                            */
    CAM_HIRESCAM,         /* ReLU(sum_k G^k A^k)                        */
    CAM_HIRESCAM_SIGNED,  /* sum_k G^k A^k                              */
    CAM_LAYERCAM,         /* ReLU(sum_k ReLU(G^k) A^k)                  */
    CAM_XGRADCAM,         /* ReLU(sum_k w_k A^k), XGradCAM weights      */
    CAM_GRADCAMPP,        /* ReLU(sum_k w_k A^k), Grad-CAM++ weights    */
    CAM_ELEMENTWISE,      /* ReLU(sum_k ReLU(G^k A^k))                  */
    CAM_EIGENCAM,         /* ReLU(first principal component of A), per
                             image: kernels/eigencam.h computes it; the
                             cam_maps* functions write zeros in its slot */
    CAM_NMAPS
};

/* Per-channel weights computed on the way, laid out (CAM_NW, K). */
enum { CAM_W_ALPHA = 0, CAM_W_ABSALPHA, CAM_W_XGRAD, CAM_W_GPP, CAM_NW };

/* Name of variant v ("gradcam", ...), or NULL when v is out of range. */
const char *cam_name(int v);

/* 1 when variant v is defined without a ReLU (its map can be negative). */
int cam_is_signed(int v);

/* Size in doubles of the work buffer cam_maps needs: CAM_WORK_PER_PIXEL * hw. */
#define CAM_WORK_PER_PIXEL 9
size_t cam_work_doubles(int K, int hw);

/* a: (K, hw), g: (K, hw), mu: (K) or NULL (centered then uses mu = 0)
 * -> maps: (CAM_NMAPS, hw) float, weights: (CAM_NW, K) double.
 * work: cam_work_doubles(K, hw) doubles. Sums are taken in double, in the
 * order k = 0..K-1, so the result does not depend on the caller's threads. */
void cam_maps(float *maps, double *weights, const float *a, const float *g,
              const double *mu, int K, int hw, double *work);

/* Bit of variant v in a `need` mask; CAM_ALL: every variant (CAM_EIGENCAM's
 * bit is the caller's: it depends on the image only, see eigencam.h). */
#define CAM_BIT(v) (1u << (v))
#define CAM_ALL ((1u << CAM_NMAPS) - 1u)

/* The same, computing only the maps whose bits are set in `need` (the
 * alpha weights are always computed; the other maps are written as zeros).
 * A map that is computed has the same bits as with need = CAM_ALL. */
void cam_maps_sel(float *maps, double *weights, const float *a, const float *g,
                  const double *mu, int K, int hw, double *work, unsigned need);

/* The masses the completeness fit needs (README `causal`), in double, in
 * the order k = 0..K-1: a: (K, hw), g: (K, hw), alpha: (K) (cam_maps'
 * CAM_W_ALPHA row), mu: (K) or NULL (zero) -> out: (4) = Grad-CAM's
 * sum_k alpha_k sum_ij A_kij, the same minus hw sum_k alpha_k mu_k,
 * HiResCAM's sum_kij G_kij A_kij, the same minus sum_k (sum_ij G_kij) mu_k. */
void cam_masses(double out[4], const float *a, const float *g, const double *alpha,
                const double *mu, int K, int hw);

/* Naive twin: every variant computed on its own, pixel by pixel (zeros in
 * CAM_EIGENCAM's slot, like cam_maps). */
void cam_maps_ref(float *maps, double *weights, const float *a, const float *g,
                  const double *mu, int K, int hw);

#endif
