/* h5in_int.h: what h5in.c (open and validate) and h5in_read.c (the batch
 * reads) share (not an API: h5in.h is). */
#ifndef H5IN_INT_H
#define H5IN_INT_H

#include <hdf5.h>

#include "pipeline/input/h5in.h"

struct h5in {
    hid_t fid;
    h5in_meta m;
    hid_t dA, dG, dS, dP;      /* big datasets, kept open */
    int a_half, g_half;        /* raw float16 */
};

/* "FILE: DATASET: problem" into err; returns -1. */
int h5in_fail(const h5in *f, char *err, size_t n, const char *ds, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- h5in_ds.c: one dataset, checked ---- */
typedef struct {
    hid_t d;
    int rank;
    hsize_t dims[8];
    H5T_class_t cls;
    size_t tsize;
} dsinfo;

int h5in_ds_open(h5in *f, const char *name, int rank, int optional, dsinfo *di,
                   char *err, size_t n);
void h5in_ds_close(dsinfo *di);
const char *h5in_class_name(H5T_class_t c);
int h5in_rd_ints(h5in *f, dsinfo *di, const char *name, int64_t *dst, char *err, size_t n);
int h5in_float_type(h5in *f, dsinfo *di, const char *name, int *half, const char **dtype,
                      char *err, size_t n);
int h5in_check_dim(h5in *f, const char *name, const dsinfo *di, int axis, int64_t want,
                     const char *what, char *err, size_t n);
int h5in_check_count(h5in *f, const char *name, hsize_t v, int64_t lo, int64_t hi,
                       const char *what, char *err, size_t n);
int64_t *h5in_rd_int_array(h5in *f, dsinfo *di, const char *name, size_t count, char *err,
                             size_t n);
int h5in_rd_floats_small(h5in *f, dsinfo *di, const char *name, float *dst, size_t count,
                           char *err, size_t n);
/* Read a string dataset of count entries (variable or fixed length; a
 * fixed-length entry ends at its first NUL) into *out, count new strings
 * (*out is set even on failure, for h5in_close to free). 0 or -1. */
int h5in_rd_strings(h5in *f, dsinfo *di, const char *name, size_t count, char ***out, char *err,
                    size_t n);

#endif
