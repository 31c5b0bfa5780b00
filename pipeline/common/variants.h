/* variants.h: the one list of the engine's variants: the feature-resolution
 * maps of kernels/cam.h (same indices, same names) followed by `saliency`,
 * the exporter's input-gradient map. Every command names and orders
 * variants through this list (run, the summary reader, the report, compare,
 * the gallery). */
#ifndef VARIANTS_H
#define VARIANTS_H

#include "kernels/cam.h"

#define VAR_SALIENCY CAM_NMAPS       /* index of `saliency` */
#define VAR_N (CAM_NMAPS + 1)        /* variants in all */

/* Name of variant v in 0..VAR_N-1 ("gradcam", ..., "saliency"), or NULL. */
const char *var_name(int v);

/* Index of a variant name, or -1. */
int var_index(const char *name);

#endif
