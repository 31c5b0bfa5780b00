/* maps_out.h: the optional maps.h5 output. */
#ifndef MAPS_H5_H
#define MAPS_H5_H

#include <stddef.h>
#include <stdint.h>

typedef struct maps_out maps_out;

/* Create path with /maps/<name> float32 [T, h, w] for each of the nv
 * variants (names[i], index vidx[i] in the (nmaps, hw) batch layout), and
 * /maps/mu float64 [K]. No object timestamps, so equal runs give equal bytes. */
int maps_create(maps_out **out, const char *path, int64_t T, int64_t h, int64_t w, int64_t K,
                 int nv, const char *const *names, const int *vidx, int nmaps,
                 char *err, size_t errlen);

/* maps: (nt, nmaps, h*w) for targets [t0, t0 + nt). */
int maps_write(maps_out *o, int64_t t0, int64_t nt, const float *maps, char *err, size_t errlen);

int maps_write_mu(maps_out *o, const double *mu, char *err, size_t errlen);

/* Close (flushes); 0 or -1. o may be NULL. */
int maps_close(maps_out *o, char *err, size_t errlen);

#endif
