/* h5out.h: the optional maps.h5 output. */
#ifndef H5OUT_H
#define H5OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct h5out h5out;

/* Create path with /maps/<name> float32 [T, h, w] for each of the nv
 * variants (names[i], index vidx[i] in the (nmaps, hw) batch layout), and
 * /maps/mu float64 [K]. No object timestamps, so equal runs give equal bytes. */
int h5out_create(h5out **out, const char *path, int64_t T, int64_t h, int64_t w, int64_t K,
                 int nv, const char *const *names, const int *vidx, int nmaps,
                 char *err, size_t errlen);

/* maps: (nt, nmaps, h*w) for targets [t0, t0 + nt). */
int h5out_write(h5out *o, int64_t t0, int64_t nt, const float *maps, char *err, size_t errlen);

int h5out_write_mu(h5out *o, const double *mu, char *err, size_t errlen);

/* Close (flushes); 0 or -1. o may be NULL. */
int h5out_close(h5out *o, char *err, size_t errlen);

#endif
