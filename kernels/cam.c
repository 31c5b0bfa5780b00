/* cam.c: the Grad-CAM family of maps at feature resolution.
 *
 * DESIGN
 * One target = activations A (K, hw) of its image and gradients G (K, hw) of
 * its class score. Every variant here is a weighted channel sum followed (or
 * not) by a ReLU, so all thirteen maps come out of two passes over A and G:
 *   pass 1, per channel k: sum G, sum |G|, sum A, sum G*A, then the
 *           Grad-CAM++ weight (needs sum A first) -> the per-channel weights;
 *   pass 2, per channel k, per pixel: nine double accumulators
 *           (M, |alpha|-weighted, A, G, G*A, ReLU(G)*A, XGradCAM, Grad-CAM++,
 *           ReLU(G*A) for gradcam-elementwise).
 * eigencam does not depend on the target (no gradient): kernels/eigencam.c
 * computes it once per image and the caller copies it into CAM_EIGENCAM's
 * slot, which the functions here fill with zeros.
 * gradcam-centered is M - sum_k alpha_k mu_k: subtracting mu_k from A^k
 * shifts M by a constant, so no third pass is needed.
 * Everything is accumulated in double in a fixed order (maps: k = 0..K-1
 * per pixel; channel sums: four interleaved partial sums) and stored as
 * float at the end: results do not depend on threads or on the vector
 * width the compiler picks, and agree with a float64 reference to ~1e-7 of
 * the map's scale.
 * Speed (measured by `make bench`, gradcam-bench kernels): pass 2 is one
 * axpy per needed accumulator and channel, which the compiler vectorises
 * (lanes are pixels, so no reassociation); cam_maps_sel skips the
 * accumulators and weights of variants nobody asked for, and the values of
 * the maps it does compute are the same bits as with everything on. The
 * hot loops are compiled for AVX2 too when the CPU has it (CAM_HOT,
 * function multiversioning), with the same results.
 *
 * cam_masses (only when a run has causal curves): the maps' total masses for
 * the completeness fit, one plain pass in double, channel by channel.
 *
 * Weights follow pytorch-grad-cam's published definitions:
 *   XGradCAM  w_k = sum_ij G A / (sum_ij A + 1e-7); w_k = 0 when that
 *             denominator is exactly 0 (pytorch-grad-cam would divide by 0).
 *   Grad-CAM++ a = G^2 / (2 G^2 + sum_ij(A) G^3 + 1e-6), a = 0 where G = 0,
 *             w_k = sum_ij ReLU(G) a.
 *
 * Thread safety: pure functions on caller-owned memory; reentrant.
 */
#include "kernels/cam.h"

#include <math.h>
#include <stddef.h>

static const char *const cam_names[CAM_NMAPS] = {
    "gradcam", "gradcam-signed", "counterfactual", "gradcam-absgrad",
    "gradcam-centered", "activation", "gradient", "hirescam",
    "hirescam-signed", "layercam", "xgradcam", "gradcam++",
    "gradcam-elementwise", "eigencam",
};

const char *cam_name(int v)
{
    return (v >= 0 && v < CAM_NMAPS) ? cam_names[v] : NULL;
}

int cam_is_signed(int v)
{
    return v == CAM_SIGNED || v == CAM_HIRESCAM_SIGNED;
}

size_t cam_work_doubles(int K, int hw)
{
    (void)K;
    return (size_t)CAM_WORK_PER_PIXEL * (size_t)hw;
}

static double relu(double x) { return x > 0.0 ? x : 0.0; }

/* Grad-CAM++ per-element coefficient, 0 where g == 0. */

static double xgrad_weight(double sumga, double suma)
{
    double den = suma + 1e-7;
    return den != 0.0 ? sumga / den : 0.0;
}

/* Sum of x[0..n) in double, as four interleaved partial sums combined as
 * (s0 + s1) + (s2 + s3): a fixed order (so a fixed result), with four
 * independent chains instead of one long one. */
static double sum4(const float *x, int n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int p = 0;
    for (; p + 4 <= n; p += 4) {
        s0 += x[p];
        s1 += x[p + 1];
        s2 += x[p + 2];
        s3 += x[p + 3];
    }
    for (; p < n; p++)
        s0 += x[p];
    return (s0 + s1) + (s2 + s3);
}

/* acc[p] += w * x[p] over p: independent lanes, vectorisable, same result
 * at any vector width (no reassociation). */
CAM_HOT static void axpy(double *restrict acc, double w, const float *restrict x, int n)
{
    for (int p = 0; p < n; p++)
        acc[p] += w * (double)x[p];
}

/* Grad-CAM++ weight of one channel: sum_p ReLU(g) * c(g), c = g^2 / (2 g^2 +
 * suma g^3 + 1e-6) (suma: the channel's activation sum), the
 * terms computed branch-free into tmp (hw doubles), then summed like sum4. */
CAM_HOT static double gpp_weight(double *restrict tmp, const float *restrict g, double suma,
                                 int hw)
{
    for (int p = 0; p < hw; p++) {
        double gv = g[p], g2 = gv * gv;
        double c = g2 / (2.0 * g2 + suma * g2 * gv + 1e-6);
        tmp[p] = gv > 0.0 ? gv * c : 0.0;
    }
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int p = 0;
    for (; p + 4 <= hw; p += 4) {
        s0 += tmp[p];
        s1 += tmp[p + 1];
        s2 += tmp[p + 2];
        s3 += tmp[p + 3];
    }
    for (; p < hw; p++)
        s0 += tmp[p];
    return (s0 + s1) + (s2 + s3);
}

/* hr[p] += G A, lc[p] += ReLU(G) A: per-pixel lanes, vectorisable. */
CAM_HOT static void prod_acc(double *restrict hr, double *restrict lc, const float *restrict a,
                             const float *restrict g, int hw)
{
    for (int p = 0; p < hw; p++) {
        double av = a[p], gv = g[p];
        hr[p] += gv * av;
        lc[p] += (gv > 0.0 ? gv : 0.0) * av;
    }
}

/* ew[p] += ReLU(G A): per-pixel lanes, vectorisable (the product of two
 * floats is exact in double). */
CAM_HOT static void relu_prod_acc(double *restrict ew, const float *restrict a,
                                  const float *restrict g, int hw)
{
    for (int p = 0; p < hw; p++) {
        double x = (double)g[p] * (double)a[p];
        ew[p] += x > 0.0 ? x : 0.0;
    }
}

void cam_maps_sel(float *maps, double *weights, const float *a, const float *g,
                  const double *mu, int K, int hw, double *work, unsigned need)
{
    double *wa = weights + (size_t)CAM_W_ALPHA * (size_t)K;
    double *wab = weights + (size_t)CAM_W_ABSALPHA * (size_t)K;
    double *wx = weights + (size_t)CAM_W_XGRAD * (size_t)K;
    double *wp = weights + (size_t)CAM_W_GPP * (size_t)K;
    double shift = 0.0;
    const unsigned fam = CAM_BIT(CAM_GRADCAM) | CAM_BIT(CAM_SIGNED) |
                         CAM_BIT(CAM_COUNTERFACTUAL) | CAM_BIT(CAM_CENTERED);
    int need_cam = (need & fam) != 0, need_abs = (need & CAM_BIT(CAM_ABSGRAD)) != 0;
    int need_act = (need & CAM_BIT(CAM_ACTIVATION)) != 0, need_grad = (need & CAM_BIT(CAM_GRADIENT)) != 0;
    int need_hires = (need & (CAM_BIT(CAM_HIRESCAM) | CAM_BIT(CAM_HIRESCAM_SIGNED))) != 0;
    int need_layer = (need & CAM_BIT(CAM_LAYERCAM)) != 0, need_xgrad = (need & CAM_BIT(CAM_XGRADCAM)) != 0;
    int need_gpp = (need & CAM_BIT(CAM_GRADCAMPP)) != 0;
    int need_ew = (need & CAM_BIT(CAM_ELEMENTWISE)) != 0;

    /* pass 1: per-channel weights (alpha always: the sign tables use it) */
    for (int k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * (size_t)hw;
        const float *gk = g + (size_t)k * (size_t)hw;
        double sg = sum4(gk, hw);
        wa[k] = hw > 0 ? sg / hw : 0.0;
        wab[k] = wx[k] = wp[k] = 0.0;
        if (need_abs) {
            double s0 = 0.0, s1 = 0.0;
            int p = 0;
            for (; p + 2 <= hw; p += 2) {
                s0 += fabs((double)gk[p]);
                s1 += fabs((double)gk[p + 1]);
            }
            for (; p < hw; p++)
                s0 += fabs((double)gk[p]);
            wab[k] = hw > 0 ? (s0 + s1) / hw : 0.0;
        }
        if (need_xgrad || need_gpp) {
            double sa = sum4(ak, hw);
            if (need_xgrad) {
                double s0 = 0.0, s1 = 0.0;
                int p = 0;
                for (; p + 2 <= hw; p += 2) {
                    s0 += (double)gk[p] * (double)ak[p];
                    s1 += (double)gk[p + 1] * (double)ak[p + 1];
                }
                for (; p < hw; p++)
                    s0 += (double)gk[p] * (double)ak[p];
                wx[k] = xgrad_weight(s0 + s1, sa);
            }
            if (need_gpp) /* terms first (vectorised divisions), then a fixed-order sum */
                wp[k] = gpp_weight(work, gk, sa, hw);
        }
        if (mu)
            shift += wa[k] * mu[k];
    }

    /* pass 2: one accumulator per needed map family, channel by channel */
    double *m = work, *mab = work + hw, *sa = work + 2 * (size_t)hw;
    double *sg = work + 3 * (size_t)hw, *hr = work + 4 * (size_t)hw;
    double *lc = work + 5 * (size_t)hw, *xg = work + 6 * (size_t)hw;
    double *pp = work + 7 * (size_t)hw, *ew = work + 8 * (size_t)hw;
    for (size_t i = 0; i < 9 * (size_t)hw; i++)
        work[i] = 0.0;
    for (int k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * (size_t)hw;
        const float *gk = g + (size_t)k * (size_t)hw;
        if (need_cam) axpy(m, wa[k], ak, hw);
        if (need_abs) axpy(mab, wab[k], ak, hw);
        if (need_act) axpy(sa, 1.0, ak, hw);
        if (need_grad) axpy(sg, 1.0, gk, hw);
        if (need_xgrad) axpy(xg, wx[k], ak, hw);
        if (need_gpp) axpy(pp, wp[k], ak, hw);
        if (need_hires || need_layer)
            prod_acc(hr, lc, ak, gk, hw);
        if (need_ew)
            relu_prod_acc(ew, ak, gk, hw);
    }

    for (int p = 0; p < hw; p++) {
        maps[(size_t)CAM_GRADCAM * hw + p] = (float)relu(m[p]);
        maps[(size_t)CAM_SIGNED * hw + p] = (float)m[p];
        maps[(size_t)CAM_COUNTERFACTUAL * hw + p] = (float)relu(-m[p]);
        maps[(size_t)CAM_ABSGRAD * hw + p] = (float)relu(mab[p]);
        maps[(size_t)CAM_CENTERED * hw + p] = (float)relu(m[p] - shift);
        maps[(size_t)CAM_ACTIVATION * hw + p] = (float)relu(sa[p]);
        maps[(size_t)CAM_GRADIENT * hw + p] = (float)relu(sg[p]);
        maps[(size_t)CAM_HIRESCAM * hw + p] = (float)relu(hr[p]);
        maps[(size_t)CAM_HIRESCAM_SIGNED * hw + p] = (float)hr[p];
        maps[(size_t)CAM_LAYERCAM * hw + p] = (float)relu(lc[p]);
        maps[(size_t)CAM_XGRADCAM * hw + p] = (float)relu(xg[p]);
        maps[(size_t)CAM_GRADCAMPP * hw + p] = (float)relu(pp[p]);
        maps[(size_t)CAM_ELEMENTWISE * hw + p] = (float)relu(ew[p]);
        maps[(size_t)CAM_EIGENCAM * hw + p] = 0.0f;
    }
}

void cam_maps(float *maps, double *weights, const float *a, const float *g,
              const double *mu, int K, int hw, double *work)
{
    cam_maps_sel(maps, weights, a, g, mu, K, hw, work, CAM_ALL);
}

/* ---- naive twin ---------------------------------------------------------- */

static double ref_chan_sum(const float *x, int hw)
{
    double s = 0.0;
    for (int p = 0; p < hw; p++)
        s += x[p];
    return s;
}

void cam_maps_ref(float *maps, double *weights, const float *a, const float *g,
                  const double *mu, int K, int hw)
{
    for (int k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * hw, *gk = g + (size_t)k * hw;
        double suma = ref_chan_sum(ak, hw), sg = 0, sab = 0, sga = 0, spp = 0;
        for (int p = 0; p < hw; p++) {
            sg += gk[p];
            sab += gk[p] < 0 ? -(double)gk[p] : (double)gk[p];
            sga += (double)gk[p] * (double)ak[p];
            if (gk[p] != 0.0f) {
                double gg = gk[p];
                double c = (gg * gg) / (2.0 * gg * gg + suma * gg * gg * gg + 1e-6);
                spp += (gg > 0 ? gg : 0.0) * c;
            }
        }
        weights[CAM_W_ALPHA * (size_t)K + k] = hw ? sg / hw : 0.0;
        weights[CAM_W_ABSALPHA * (size_t)K + k] = hw ? sab / hw : 0.0;
        weights[CAM_W_XGRAD * (size_t)K + k] =
            (suma + 1e-7) != 0.0 ? sga / (suma + 1e-7) : 0.0;
        weights[CAM_W_GPP * (size_t)K + k] = spp;
    }
    for (int v = 0; v < CAM_NMAPS; v++) {
        for (int p = 0; p < hw; p++) {
            double s = 0.0;
            for (int k = 0; k < K; k++) {
                double av = a[(size_t)k * hw + p], gv = g[(size_t)k * hw + p];
                double al = weights[CAM_W_ALPHA * (size_t)K + k];
                switch (v) {
                case CAM_GRADCAM: case CAM_SIGNED: s += al * av; break;
                case CAM_COUNTERFACTUAL: s -= al * av; break;
                case CAM_ABSGRAD: s += weights[CAM_W_ABSALPHA * (size_t)K + k] * av; break;
                case CAM_CENTERED: s += al * (av - (mu ? mu[k] : 0.0)); break;
                case CAM_ACTIVATION: s += av; break;
                case CAM_GRADIENT: s += gv; break;
                case CAM_HIRESCAM: case CAM_HIRESCAM_SIGNED: s += gv * av; break;
                case CAM_LAYERCAM: s += (gv > 0 ? gv : 0.0) * av; break;
                case CAM_XGRADCAM: s += weights[CAM_W_XGRAD * (size_t)K + k] * av; break;
                case CAM_ELEMENTWISE: s += gv * av > 0 ? gv * av : 0.0; break;
                case CAM_EIGENCAM: break; /* per image: eigencam.c */
                case CAM_GRADCAMPP: s += weights[CAM_W_GPP * (size_t)K + k] * av; break;
                }
            }
            if (!cam_is_signed(v) && s < 0.0)
                s = 0.0;
            maps[(size_t)v * hw + p] = (float)s;
        }
    }
}

void cam_masses(double out[4], const float *a, const float *g, const double *alpha,
                const double *mu, int K, int hw)
{
    double mg = 0, cg = 0, mh = 0, ch = 0;
    for (int k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * (size_t)hw, *gk = g + (size_t)k * (size_t)hw;
        double sa = 0, sg = 0, sga = 0;
        for (int p = 0; p < hw; p++) {
            sa += ak[p];
            sg += gk[p];
            sga += (double)gk[p] * (double)ak[p];
        }
        double m = mu ? mu[k] : 0.0;
        mg += alpha[k] * sa;
        cg += (double)hw * alpha[k] * m;
        mh += sga;
        ch += sg * m;
    }
    out[0] = mg;
    out[1] = mg - cg;
    out[2] = mh;
    out[3] = mh - ch;
}
