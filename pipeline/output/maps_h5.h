/* maps_h5.h: maps.h5, the optional map output: the one writer and the one reader. */
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

/* ---- reading ---- */
#define MAPS_MAXV 8
typedef struct maps_in maps_in;

/* Open path for the nv (1..MAPS_MAXV) variants names[] (not copied), each
 * [T, h, w] as `input` (named in messages) says. 0, or -1 with err set:
 * missing file ("run with --save-maps"), not HDF5, a dataset missing ("run
 * limited with --variants?"), of another rank, type or shape. */
int maps_open_read(maps_in **out, const char *path, const char *const *names, int nv, int64_t T,
                   int64_t h, int64_t w, const char *input, char *err, size_t errlen);
/* Map of target t, variant v (index into names) into dst: (h, w); -1 on a
 * failed read or a non-finite value. */
int maps_read(const maps_in *mf, int v, int64_t t, float *dst, char *err, size_t errlen);
void maps_close_read(maps_in *mf);

#endif
