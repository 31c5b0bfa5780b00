/* plan.c: how a run uses its memory: the bytes an image with its targets
 * costs, the MPI shards, the memory budget and the batches.
 *
 * DESIGN
 * Every rank computes every shard and every batch boundary from the
 * metadata alone, so buffer sizes agree across ranks without talking. A
 * batch is whole images with all their targets, never across a shard
 * boundary, within the budget (one image always fits: the budget check
 * refuses a run whose largest image does not).
 */
#include "pipeline/run/run_int.h"

#include "kernels/cam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes the main pass needs for image i with its targets. */
int64_t plan_image_bytes(const h5in_meta *m, int64_t i, int sal)
{
    int64_t khw = m->K * m->h * m->w, nt = m->tfirst[i + 1] - m->tfirst[i];
    int64_t per_t = khw * 4 + (int64_t)sizeof(target_res) + CAM_NMAPS * m->h * m->w * 4;
    if (sal)
        per_t += m->sal_h * m->sal_w * 4;
    /* the image's A, its eigencam map and status, its targets */
    return khw * 4 + m->h * m->w * 4 + 2 * (int64_t)sizeof(int) + nt * per_t;
}

/* MPI shards:
 * Rank r of P takes the contiguous images [lo, hi) whose targets start at
 * or after ceil(r T / P): about T / P targets each, whole images only. Every
 * rank can compute every shard, so buffer sizes agree without talking. */
int64_t plan_shard_start(const h5in_meta *m, int r, int P)
{
    if (r <= 0)
        return 0;
    if (r >= P)
        return m->N;
    int64_t want = (m->T * r + P - 1) / P, lo = 0, hi = m->N;
    while (lo < hi) { /* first image i with tfirst[i] >= want */
        int64_t mid = lo + (hi - lo) / 2;
        if (m->tfirst[mid] >= want)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int plan_memory(run_plan *p, const h5in_meta *m, const run_opts *o, int sal, size_t tg_bytes,
                char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    int64_t fixed = (int64_t)o->threads * (int64_t)tg_bytes +
                    m->T * VAR_N * (int64_t)sizeof(ci_rec) + m->N * (int64_t)sizeof(ci_sgn);
    int64_t limit = o->max_memory_mib << 20;
    int64_t worst = 0, worst_i = 0;
    for (int64_t i = 0; i < m->N; i++) {
        int64_t b = plan_image_bytes(m, i, sal);
        if (b > worst) { worst = b; worst_i = i; }
    }
    if (fixed + worst > limit) {
        snprintf(err, errlen,
                 "%s: /activations: needs %lld MiB (image %lld with its %lld targets, %d threads), "
                 "over the --max-memory limit of %lld MiB",
                 m->path, (long long)((fixed + worst) >> 20) + 1, (long long)worst_i,
                 (long long)(m->tfirst[worst_i + 1] - m->tfirst[worst_i]), o->threads,
                 (long long)o->max_memory_mib);
        return -1;
    }
    /* Two input buffers when they fit, so that the reader thread fills the
       next batch while the workers compute this one; one otherwise. */
    int64_t budget = limit - fixed;
    const char *rt = getenv("GRADCAM_STUDY_READER_THREAD"); /* "0": off (tests) */
    int nbuf = budget >= 2 * worst && reader_h5_threadsafe() && !(rt && strcmp(rt, "0") == 0)
                   ? 2 : 1;
    budget /= nbuf;
    if (budget > BATCH_CAP / nbuf) budget = BATCH_CAP / nbuf; /* same peak either way */
    if (budget < worst) budget = worst;
    p->budget = budget;
    p->nbuf = nbuf;
    return 0;
}

/* The first batches of a shard ramp up: 1/16, 1/8, 1/4 and 1/2 of the
 * budget, then the whole of it. Batch 0 is read before anything else can
 * start (the workers wait for it, the reader thread is idle); a small one
 * lets the workers start after about a millisecond instead of a whole
 * 8 MiB read, and the reader thread then stays ahead of them. */
enum { RAMP = 4 };

int plan_batches(run_plan *p, const h5in_meta *m, int sal, int rank, int P, char *err,
                 size_t errlen)
{
    p->nbatch = p->max_imgs = p->max_t = 0;
    p->bstart = malloc((size_t)(m->N + 2) * sizeof(int64_t));
    if (!p->bstart) {
        snprintf(err, errlen, "%s: -: out of memory for the batch plan", m->path);
        return -2;
    }
    for (int r = 0; r < P; r++) {
        int64_t hi = plan_shard_start(m, r + 1, P);
        int k = 0;
        for (int64_t i0 = plan_shard_start(m, r, P); i0 < hi; k++) {
            int64_t i1 = i0, bytes = 0, cap = p->budget >> (k < RAMP ? RAMP - k : 0);
            while (i1 < hi && (i1 == i0 || bytes + plan_image_bytes(m, i1, sal) <= cap))
                bytes += plan_image_bytes(m, i1++, sal);
            if (i1 - i0 > p->max_imgs) p->max_imgs = i1 - i0;
            if (m->tfirst[i1] - m->tfirst[i0] > p->max_t) p->max_t = m->tfirst[i1] - m->tfirst[i0];
            if (r == rank)
                p->bstart[p->nbatch++] = i0;
            i0 = i1;
        }
        if (r == rank)
            p->bstart[p->nbatch] = hi;
    }
    return 0;
}

void plan_free(run_plan *p)
{
    free(p->bstart);
    p->bstart = NULL;
}
