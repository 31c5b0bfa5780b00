/* pool.h: the run's worker threads, which sleep while they have nothing to do. */
#ifndef POOL_H
#define POOL_H

#include <stdint.h>

typedef struct pool pool;

/* Item j of a loop, on worker tid (0 .. threads - 1). */
typedef void (*pool_fn)(void *ctx, int64_t j, int tid);

/* threads - 1 helper threads (the caller is worker 0). NULL when out of
 * memory; fewer helpers when the system gives fewer threads (the loops then
 * run on those: the results do not depend on who runs an item). */
pool *pool_new(int threads);

/* fn(ctx, j, tid) for j = 0 .. n - 1, each item once, handed out one at a
 * time to whichever worker is free; returns when all are done. */
void pool_for(pool *p, int64_t n, pool_fn fn, void *ctx);

void pool_free(pool *p);

#endif
