/* loc.h: localization metrics of one image-resolution map against boxes. */
#ifndef LOC_H
#define LOC_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/sweep.h"

#define LOC_NTHR 100 /* thresholds t_i = i / 100.0, i = 0..99 */
enum { LOC_MAX = 0, LOC_MINMAX = 1, LOC_NNORM = 2 };
/* bits of loc_result.curve[norm][i] */
enum { LOC_HIT = 1, LOC_ANY30 = 2, LOC_ANY50 = 4, LOC_ANY70 = 8 };

typedef struct {
    double threshold; /* box threshold in [0, 1) of the normalised map */
    double tolerance; /* pointing tolerance in pixels */
} loc_params;

typedef struct {
    uint8_t degenerate;            /* no positive value, or constant */
    sw_box box[LOC_NNORM];         /* box at params.threshold (empty if degenerate) */
    double iou[LOC_NNORM];         /* its IoU with the best gt box (0 if none) */
    uint8_t curve[LOC_NNORM][LOC_NTHR]; /* LOC_* bits per threshold */
    int32_t px, py;                /* argmax pixel (-1 if degenerate) */
    uint8_t point_hit;
    double energy;                 /* positive mass share in the class's boxes */
    uint8_t has_other;             /* the other region is not empty */
    uint8_t neg_ok, pos_ok;        /* the share below is defined */
    double other_area, neg_other, pos_other;
} loc_result;

/* The normalisation names: "max", "minmax". */
const char *loc_norm_name(int norm);

/* Bytes of work loc_eval needs for an (H, W) map. */
size_t loc_work_bytes(int H, int W);

/* Pixel masks of the target. boxes: (nb, 4) xyxy edge coordinates of all
 * boxes of the image, cls: (nb) their classes, c: the target's class
 * -> tmask: (H, W) 1 where the pixel centre is inside a box of class c;
 *    omask: (H, W) 1 where inside a box of another class and not in tmask.
 * A centre (x + 0.5, y + 0.5) is inside [x0, x1) x [y0, y1). */
void loc_masks(uint8_t *tmask, uint8_t *omask, int H, int W,
               const float *boxes, const int32_t *cls, int nb, int c);

/* Region of each feature cell's centre ((j + 0.5) W / w, (i + 0.5) H / h):
 * -> region: (h, w) SGN_TARGET, SGN_OTHER or SGN_BACKGROUND. */
void loc_cell_regions(uint8_t *region, int h, int w, int H, int W,
                      const float *boxes, const int32_t *cls, int nb, int c);

/* m: (H, W) the map at image resolution; gt: (ngt, 4) the boxes of the
 * target's class; tmask, omask from loc_masks -> r. work: loc_work_bytes(). */
void loc_eval(loc_result *r, const double *m, int H, int W, const float *gt,
              int ngt, const uint8_t *tmask, const uint8_t *omask,
              const loc_params *p, void *work);

#endif
