/* sweep_int.h: what the sweep files share beyond sweep.h (not an API). */
#ifndef SWEEP_INT_H
#define SWEEP_INT_H

#include <stdint.h>

#include "kernels/sweep.h"

/* sweep.c: the per-pixel union-find over byte levels; work:
 * sw_keys_work_bytes(H, W, nlev) bytes, sizes checked by the caller. */
void sw_pixels_keys(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
                    int ngt, void *work);

#endif
