/* testlib.h: what the cmocka unit tests share: a seeded generator, a
 * checked malloc and an upsampling into a fresh work buffer. Include after <cmocka.h>. Everything is static inline, so
 * a test that uses a part only pays for that part. */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <stdint.h>
#include <stdlib.h>

#include "kernels/upsample.h"

/* splitmix64: fixed seeds make every run reproducible */
typedef struct { uint64_t s; } rng;

static inline uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static inline double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1p-53;
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    return p;
}

/* ups_bilinear into a fresh buffer of exactly ups_work_bytes() bytes. */
static inline void run_ups(double *out, const float *in, int h, int w, int H, int W)
{
    size_t wb = ups_work_bytes(h, w, H, W);
    assert_true(wb > 0);
    void *work = xmalloc(wb);
    ups_bilinear(out, in, h, w, H, W, work);
    free(work);
}

#endif
