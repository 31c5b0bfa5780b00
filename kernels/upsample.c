/* upsample.c: bilinear resize of a feature map to image resolution.
 *
 * DESIGN
 * What: in (h, w) float -> out (H, W) double, half-pixel centres, edge
 * clamp: the semantics of cv2.resize(INTER_LINEAR) and
 * F.interpolate(mode="bilinear", align_corners=False). The project's numpy
 * reference reproduces this arithmetic bit for bit, so it is followed
 * literally, in double:
 *   per output column x:
 *     s = (x + 0.5) * ((double)w / W) - 0.5;  if (s < 0) s = 0;
 *     x0 = (int)floor(s);
 *     if (x0 >= w - 1) { x0 = x1 = w - 1; f = 0; }
 *     else             { x1 = x0 + 1;     f = s - x0; }
 *   rows likewise with h, H -> y0, y1, g.
 *   row pass:    r[y][x]   = (double)in[y][x0] * (1 - f) + (double)in[y][x1] * f
 *                for every source row y (r is (h, W));
 *   column pass: out[Y][x] = r[y0][x] * (1 - g) + r[y1][x] * g.
 * The scale is computed once as (double)w / W (cv2 and torch do the same);
 * README's "(x + 0.5) * w / W" is the same number up to one rounding.
 *
 * Invariants: 0 <= x0 <= x1 <= w - 1 and 0 <= f < 1 (s never reaches w - 0.5
 * because (W - 0.5) * w / W - 0.5 < w - 1 + 0.5), so every read is in bounds
 * for any h, w, H, W >= 1, downsampling included. Non-finite inputs
 * propagate as the formula says (inf * 0 = NaN), like numpy would.
 *
 * Work buffer (caller-owned, ups_work_bytes() bytes, double-aligned):
 *   double f[W], r[h * W]; int x0[W], x1[W].
 *
 * ups_bilinear_ref recomputes each output pixel from its four neighbours
 * with independently written coordinate code (s = (x + 0.5) * w / W - 0.5,
 * truncation, min(x0 + 1, w - 1)), the README's wording; it agrees with the
 * fast path to a few ulps.
 *
 * Thread safety: pure functions of their arguments, no globals, no
 * allocation; reentrant on distinct out/work buffers.
 */
#include "kernels/upsample.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* One axis of source coordinates for output index x of n_out, source n_in. */
static void axis_coord(int *i0, int *i1, double *frac, int x, double scale, int n_in)
{
    double s = ((double)x + 0.5) * scale - 0.5;
    if (s < 0.0)
        s = 0.0;
    double fl = floor(s);
    int a = (int)fl;
    if (a >= n_in - 1) {
        *i0 = n_in - 1;
        *i1 = n_in - 1;
        *frac = 0.0;
    } else {
        *i0 = a;
        *i1 = a + 1;
        *frac = s - (double)a;
    }
}

size_t ups_work_bytes(int h, int w, int H, int W)
{
    (void)w;
    (void)H;
    if (h < 1 || w < 1 || H < 1 || W < 1)
        return 0;
    size_t nW = (size_t)W, nh = (size_t)h;
    if (nh + 1 > (SIZE_MAX / 16) / nW)
        return 0; /* (h + 1) * W doubles + 2 W ints would not fit */
    return (nh + 1) * nW * sizeof(double) + 2 * nW * sizeof(int);
}

/* Compiled for AVX2 too where the CPU has it (function multiversioning):
 * the passes' lanes are pixels, each a multiply-add without fusing
 * (-std=c11 keeps contraction off), so every path gives the same bytes. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define UPS_HOT __attribute__((target_clones("avx2", "default")))
#else
#define UPS_HOT
#endif

/* in: (h, w) -> out: (H, W) */
UPS_HOT void ups_bilinear(double *out, const float *in, int h, int w, int H, int W, void *work)
{
    if (h < 1 || w < 1 || H < 1 || W < 1)
        return;
    size_t nW = (size_t)W;
    double *fx = work;                       /* (W) */
    double *r = fx + nW;                     /* (h, W) */
    int *x0 = (int *)(void *)(r + (size_t)h * nW); /* (W) */
    int *x1 = x0 + nW;                       /* (W) */

    double sx = (double)w / (double)W;
    for (int x = 0; x < W; x++)
        axis_coord(&x0[x], &x1[x], &fx[x], x, sx, w);

    /* row pass: every source row -> r (h, W) */
    for (int y = 0; y < h; y++) {
        const float *src = in + (size_t)y * (size_t)w;
        double *dst = r + (size_t)y * nW;
        for (int x = 0; x < W; x++) {
            double f = fx[x];
            dst[x] = (double)src[x0[x]] * (1.0 - f) + (double)src[x1[x]] * f;
        }
    }

    /* column pass: r (h, W) -> out (H, W) */
    double sy = (double)h / (double)H;
    for (int Y = 0; Y < H; Y++) {
        int y0, y1;
        double g;
        axis_coord(&y0, &y1, &g, Y, sy, h);
        const double *r0 = r + (size_t)y0 * nW;
        const double *r1 = r + (size_t)y1 * nW;
        double *dst = out + (size_t)Y * nW;
        for (int x = 0; x < W; x++)
            dst[x] = r0[x] * (1.0 - g) + r1[x] * g;
    }
}

/* in: (h, w) -> out: (H, W). Naive: four neighbours per output pixel. */
int ups_bilinear_ref(double *out, const float *in, int h, int w, int H, int W)
{
    if (h < 1 || w < 1 || H < 1 || W < 1)
        return -1;
    for (int Y = 0; Y < H; Y++) {
        double sy = ((double)Y + 0.5) * (double)h / (double)H - 0.5;
        if (sy < 0.0)
            sy = 0.0;
        int ya = (int)sy; /* truncation == floor for sy >= 0 */
        int yb = ya + 1 < h ? ya + 1 : h - 1;
        double gy = ya >= h - 1 ? 0.0 : sy - (double)ya;
        if (ya > h - 1)
            ya = h - 1;
        for (int x = 0; x < W; x++) {
            double sx = ((double)x + 0.5) * (double)w / (double)W - 0.5;
            if (sx < 0.0)
                sx = 0.0;
            int xa = (int)sx;
            int xb = xa + 1 < w ? xa + 1 : w - 1;
            double gx = xa >= w - 1 ? 0.0 : sx - (double)xa;
            if (xa > w - 1)
                xa = w - 1;
            double a = (double)in[(size_t)ya * (size_t)w + (size_t)xa];
            double b = (double)in[(size_t)ya * (size_t)w + (size_t)xb];
            double c = (double)in[(size_t)yb * (size_t)w + (size_t)xa];
            double d = (double)in[(size_t)yb * (size_t)w + (size_t)xb];
            double top = a + (b - a) * gx;
            double bot = c + (d - c) * gx;
            out[(size_t)Y * (size_t)W + (size_t)x] = top + (bot - top) * gy;
        }
    }
    return 0;
}
