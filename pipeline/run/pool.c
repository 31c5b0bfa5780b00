/* pool.c: the main pass's worker threads (see pool.h).
 *
 * DESIGN
 * The main pass used OpenMP parallel loops. libgomp's idle threads spin
 * (OMP_WAIT_POLICY's default), and libgomp cannot see the run's reader and
 * digest threads: with one worker per core the spinning workers took the
 * cores those two needed between batches (Grad-CAM alone, 1000 targets,
 * --threads 2 on 2 cores: 0.76 s wall and 1.43 CPU seconds, slower than
 * --threads 1). The policy can only be chosen in the environment before
 * libgomp starts, so the pass has its own pool: helpers wait on a condition
 * variable between loops (no spinning), items are handed out one at a time
 * from an atomic counter (OpenMP's schedule(dynamic, 1)), and the caller
 * works as worker 0. Which worker runs an item never changes a result: each
 * item writes its own slot and uses its worker's own workspace.
 *
 * Thread safety: one thread calls pool_for at a time (the pass's main
 * thread); the mutex orders each loop's set-up before its items and every
 * item before pool_for returns.
 */
#include "pipeline/run/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct pool {
    int n; /* workers, the caller included */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t gen; /* loops started */
    int busy;     /* helpers still in the current loop */
    int quit;
    pool_fn fn;
    void *ctx;
    int64_t total;
    atomic_llong next;
};

typedef struct {
    pool *p;
    int tid;
} helper_arg;

static void run_items(pool *p, pool_fn fn, void *ctx, int64_t total, int tid)
{
    for (;;) {
        int64_t j = (int64_t)atomic_fetch_add(&p->next, 1);
        if (j >= total)
            return;
        fn(ctx, j, tid);
    }
}

static void *helper(void *arg)
{
    helper_arg a = *(helper_arg *)arg;
    free(arg);
    pool *p = a.p;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->gen == seen)
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pool_fn fn = p->fn;
        void *ctx = p->ctx;
        int64_t total = p->total;
        pthread_mutex_unlock(&p->mu);
        run_items(p, fn, ctx, total, a.tid);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

pool *pool_new(int threads)
{
    pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (threads < 1)
        threads = 1;
    p->th = calloc((size_t)threads, sizeof *p->th);
    if (!p->th) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    p->n = 1;
    for (int t = 1; t < threads; t++) {
        helper_arg *a = malloc(sizeof *a);
        if (!a)
            break;
        a->p = p;
        a->tid = t;
        if (pthread_create(&p->th[t], NULL, helper, a) != 0) {
            free(a);
            break;
        }
        p->n = t + 1;
    }
    return p;
}

void pool_for(pool *p, int64_t n, pool_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (p->n == 1) {
        for (int64_t j = 0; j < n; j++)
            fn(ctx, j, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->total = n;
    atomic_store(&p->next, 0);
    p->busy = p->n - 1;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_items(p, fn, ctx, n, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void pool_free(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int t = 1; t < p->n; t++)
        pthread_join(p->th[t], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p->th);
    free(p);
}
