/* cam.c: the Grad-CAM family of maps at feature resolution.
 *
 * DESIGN
 * One target = activations A (K, hw) of its image and gradients G (K, hw) of
 * its class score. Every variant is a weighted channel sum followed (or not)
 * by a ReLU, so all twelve maps come out of two passes over A and G:
 *   pass 1, per channel k: sum G, sum |G|, sum A, sum G*A, then the
 *           Grad-CAM++ weight (needs sum A first) -> the per-channel weights;
 *   pass 2, per channel k, per pixel: eight double accumulators
 *           (M, |alpha|-weighted, A, G, G*A, ReLU(G)*A, XGradCAM, Grad-CAM++).
 * gradcam-centered is M - sum_k alpha_k mu_k: subtracting mu_k from A^k
 * shifts M by a constant, so no third pass is needed.
 * Everything is accumulated in double in the fixed order k = 0..K-1 and
 * stored as float at the end: results do not depend on threads, and agree
 * with a float64 reference to ~1e-7 of the map's scale.
 *
 * Weights follow pytorch-grad-cam's published definitions:
 *   XGradCAM  w_k = sum_ij G A / (sum_ij A + 1e-7); w_k = 0 when that
 *             denominator is exactly 0 (pytorch-grad-cam would divide by 0).
 *   Grad-CAM++ a = G^2 / (2 G^2 + sum_ij(A) G^3 + 1e-6), a = 0 where G = 0,
 *             w_k = sum_ij ReLU(G) a.
 *
 * Thread safety: pure functions on caller-owned memory; reentrant.
 */
#include "cam.h"

#include <stddef.h>

static const char *const cam_names[CAM_NMAPS] = {
    "gradcam", "gradcam-signed", "counterfactual", "gradcam-absgrad",
    "gradcam-centered", "activation", "gradient", "hirescam",
    "hirescam-signed", "layercam", "xgradcam", "gradcam++",
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
    return (size_t)8 * (size_t)hw;
}

static double relu(double x) { return x > 0.0 ? x : 0.0; }

/* Grad-CAM++ per-element coefficient, 0 where g == 0. */
static double gpp_coef(double g, double suma)
{
    if (g == 0.0)
        return 0.0;
    double g2 = g * g;
    return g2 / (2.0 * g2 + suma * g2 * g + 1e-6);
}

static double xgrad_weight(double sumga, double suma)
{
    double den = suma + 1e-7;
    return den != 0.0 ? sumga / den : 0.0;
}

void cam_maps(float *maps, double *weights, const float *a, const float *g,
              const double *mu, int K, int hw, double *work)
{
    double *wa = weights + (size_t)CAM_W_ALPHA * (size_t)K;
    double *wab = weights + (size_t)CAM_W_ABSALPHA * (size_t)K;
    double *wx = weights + (size_t)CAM_W_XGRAD * (size_t)K;
    double *wp = weights + (size_t)CAM_W_GPP * (size_t)K;
    double shift = 0.0;

    /* pass 1: per-channel weights */
    for (int k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * (size_t)hw;
        const float *gk = g + (size_t)k * (size_t)hw;
        double sg = 0.0, sag = 0.0, sa = 0.0, sga = 0.0;
        for (int p = 0; p < hw; p++) {
            double gv = gk[p], av = ak[p];
            sg += gv;
            sag += gv < 0.0 ? -gv : gv;
            sa += av;
            sga += gv * av;
        }
        double spp = 0.0;
        for (int p = 0; p < hw; p++) {
            double gv = gk[p];
            spp += relu(gv) * gpp_coef(gv, sa);
        }
        wa[k] = hw > 0 ? sg / hw : 0.0;
        wab[k] = hw > 0 ? sag / hw : 0.0;
        wx[k] = xgrad_weight(sga, sa);
        wp[k] = spp;
        if (mu)
            shift += wa[k] * mu[k];
    }

    /* pass 2: eight accumulators per pixel */
    double *m = work, *mab = work + hw, *sa = work + 2 * (size_t)hw;
    double *sg = work + 3 * (size_t)hw, *hr = work + 4 * (size_t)hw;
    double *lc = work + 5 * (size_t)hw, *xg = work + 6 * (size_t)hw;
    double *pp = work + 7 * (size_t)hw;
    for (size_t i = 0; i < 8 * (size_t)hw; i++)
        work[i] = 0.0;
    for (int k = 0; k < K; k++) {
        const float *ak = a + (size_t)k * (size_t)hw;
        const float *gk = g + (size_t)k * (size_t)hw;
        double al = wa[k], ab = wab[k], x = wx[k], q = wp[k];
        for (int p = 0; p < hw; p++) {
            double av = ak[p], gv = gk[p];
            m[p] += al * av;
            mab[p] += ab * av;
            sa[p] += av;
            sg[p] += gv;
            hr[p] += gv * av;
            lc[p] += relu(gv) * av;
            xg[p] += x * av;
            pp[p] += q * av;
        }
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
    }
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
                default: s += weights[CAM_W_GPP * (size_t)K + k] * av; break;
                }
            }
            if (!cam_is_signed(v) && s < 0.0)
                s = 0.0;
            maps[(size_t)v * hw + p] = (float)s;
        }
    }
}
