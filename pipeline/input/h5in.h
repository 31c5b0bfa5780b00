/* h5in.h: reading and validating schema-v1 input files (data/SCHEMA.md). */
#ifndef H5IN_H
#define H5IN_H

#include <stddef.h>
#include <stdint.h>

#define H5IN_ERRLEN 512

/* The exporter's optional count attributes (data/SCHEMA.md), in the order
 * of h5in_meta.export_count (names: h5in_export_count_name). */
#define H5IN_NEXPORT 6

/* Everything small about one input, read and validated by h5in_open. */
typedef struct {
    char *path;
    char *attr[5];            /* schema, model, layer, activation, dataset */
    int C;                    /* classes */
    char **classes;           /* [C] */
    int64_t N, K, h, w, T, B; /* images, channels, feature map, targets, boxes */
    int32_t *size;            /* [N][2] (height, width) */
    uint8_t *labels;          /* [N][C] */
    float *scores;            /* [N][C] */
    int32_t *timg, *tcls;     /* [T] */
    int32_t *bimg, *bcls;     /* [B] */
    float *bxyxy;             /* [B][4], clipped to the frame */
    uint8_t *bdiff;           /* [B] (all 0 when the dataset is absent) */
    int64_t *tfirst;          /* [N + 1]: targets of image i are tfirst[i] .. tfirst[i+1]-1 */
    int64_t *bfirst;          /* [N + 1]: boxes likewise */
    int has_difficult, has_pixels, has_saliency;
    int64_t pix_h, pix_w, pix_ch;   /* /images/pixels dims (if present) */
    int64_t sal_h, sal_w;           /* /targets/saliency dims (if present) */
    int64_t boxes_clipped, boxes_difficult;
    int has_names;            /* /images/name present (valid) */
    char **names;             /* [N] image names, or NULL */
    int64_t export_count[H5IN_NEXPORT];  /* the exporter's counts (h5in_export_count_name), -1 absent */
    int64_t max_hw;           /* largest H * W over images */
    int64_t max_targets;      /* most targets of one image */
    const char *dtype_a, *dtype_g; /* "float16", "float32", "float64" */
} h5in_meta;

typedef struct h5in h5in;

/* Name of the exporter's count attribute k (0..H5IN_NEXPORT-1), or NULL. */
const char *h5in_export_count_name(int k);

/* Open path, read every small dataset and validate the whole schema except
 * the values of the big arrays (checked as they are read). On failure returns
 * a negative code, writes "FILE: DATASET: problem" into err and *out = NULL. */
int h5in_open(h5in **out, const char *path, char *err, size_t errlen);

/* The same from an in-memory HDF5 file image (len bytes, not copied: it must
 * outlive the h5in); `name` stands for the file in messages. For fuzzing. */
int h5in_open_image(h5in **out, const void *image, size_t len, const char *name, char *err,
                    size_t errlen);

const h5in_meta *h5in_meta_of(const h5in *f);

/* Read activations of images [i0, i0 + n) into dst: (n, K, h, w) float,
 * converting float16/float64; rejects non-finite values. 0 or negative. */
int h5in_read_acts(h5in *f, float *dst, int64_t i0, int64_t n, char *err, size_t errlen);
/* Gradients of targets [t0, t0 + n) into dst: (n, K, h, w). */
int h5in_read_grads(h5in *f, float *dst, int64_t t0, int64_t n, char *err, size_t errlen);
/* Saliency of targets [t0, t0 + n) into dst: (n, sal_h, sal_w). */
int h5in_read_saliency(h5in *f, float *dst, int64_t t0, int64_t n, char *err, size_t errlen);
/* Pixels of image i into dst: (pix_h, pix_w, pix_ch) uint8. */
int h5in_read_pixels(h5in *f, uint8_t *dst, int64_t i, char *err, size_t errlen);

/* Time limit in seconds for each HDF5 open or read (default 120; 0 disables).
 * A call that does not return in time ends the process with status 1 and the
 * usual one-line error (libhdf5 can loop forever on some corrupt files). */
void h5in_set_watchdog(unsigned seconds);

/* h5in_open validates metadata in a forked child first, so that a libhdf5
 * crash on a corrupt file becomes a one-line refusal (default on; off for
 * the fuzzing harness, which uses h5in_open_image anyway). */
void h5in_set_isolation(int on);

/* Release everything; f may be NULL. */
void h5in_close(h5in *f);

#endif
