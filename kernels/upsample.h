/* upsample.h: bilinear resize of a feature map to image resolution (pure numerics). */
#ifndef UPSAMPLE_H
#define UPSAMPLE_H

#include <stddef.h>

/* Bytes of work ups_bilinear needs for (h, w) -> (H, W); 0 when a size is
 * < 1 or the size does not fit in size_t. */
size_t ups_work_bytes(int h, int w, int H, int W);

/* in: (h, w) float -> out: (H, W) double. Bilinear, half-pixel centres, edge
 * clamp (cv2.resize INTER_LINEAR, F.interpolate(align_corners=False)): row
 * pass then column pass, in double, as in README "Localization protocol" 1.
 * Any h, w, H, W >= 1 (H < h downsamples). work: ups_work_bytes(h, w, H, W)
 * bytes, aligned for double (any malloc result). Does nothing when a size
 * is < 1. */
void ups_bilinear(double *out, const float *in, int h, int w, int H, int W, void *work);

/* Naive twin (test oracle): each output pixel straight from its four
 * neighbours, with its own coordinate code. Same shapes. Returns 0, or -1
 * when a size is < 1 (it allocates nothing, so never fails otherwise). */
int ups_bilinear_ref(double *out, const float *in, int h, int w, int H, int W);

#endif
