/* mu.c: each channel's mean activation over an input (the "absent" level of
 * gradcam-centered, and a record in maps.h5): a first pass over A.
 *
 * DESIGN
 * Per-image channel sums (threads over image x channel, each sum in pixel
 * order) are added image by image in image order; under MPI the running sum
 * passes from rank to rank, each adding its own images, so the bits are
 * those of a single process whatever the thread or rank count.
 */
#include "pipeline/run/run_int.h"

#include "pipeline/run/mpi_shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mu_k = mean of channel k over every image and pixel. Per-image channel
 * sums are added image by image in image order; under MPI the running sum
 * passes from rank to rank (each adds its own images), so the bits are
 * those of a single process. */
int run_mu(input_res *ir, int64_t budget, int threads, char *err, size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    int64_t K = m->K, hw = m->h * m->w, khw = K * hw;
    int rank = par_rank(), P = par_size();
    int64_t lo = plan_shard_start(m, rank, P), hi = plan_shard_start(m, rank + 1, P), nimg = hi - lo;
    int64_t per = khw * 4 + K * 8;
    int64_t nb = budget / per;
    if (nb < 1) nb = 1;
    if (nb > nimg) nb = nimg > 0 ? nimg : 1;
    float *A = malloc((size_t)(nb * khw) * sizeof(float));
    double *ps = malloc((size_t)((P > 1 ? nimg : nb) * K + 1) * sizeof(double));
    ir->mu = calloc((size_t)K, sizeof(double));
    par_head h;
    memset(&h, 0, sizeof h);
    if (!A || !ps || !ir->mu) {
        snprintf(h.err, sizeof h.err, "%s: /activations: out of memory for a batch of %lld images",
                 m->path, (long long)nb);
        h.rc = -2;
    }
    /* P == 1: sums of one batch at a time, added at once; P > 1: all of this
       shard's sums first, added when the running sum arrives */
    for (int64_t i0 = lo; i0 < hi && h.rc == 0; i0 += nb) {
        int64_t n = hi - i0 < nb ? hi - i0 : nb;
        if (h5in_read_acts(ir->f, A, i0, n, h.err, sizeof h.err) < 0) {
            h.rc = -1;
            break;
        }
        double *dst = P > 1 ? ps + (i0 - lo) * K : ps;
#pragma omp parallel for schedule(static) num_threads(threads)
        for (int64_t j = 0; j < n * K; j++) {
            const float *a = A + j * hw;
            double s = 0.0;
            for (int64_t p = 0; p < hw; p++)
                s += a[p];
            dst[j] = s;
        }
        if (P == 1)
            for (int64_t j = 0; j < n; j++)
                for (int64_t k = 0; k < K; k++)
                    ir->mu[k] += ps[j * K + k];
    }
    if (P > 1) {
        if (!A || !ps || !ir->mu) { /* the chain cannot run without them */
            fprintf(stderr, "gradcam-study: %s (rank %d)\n", h.err, rank);
            par_abort(1);
        }
        double *acc = ir->mu;
        if (rank > 0) {
            par_head in;
            par_recv(&in, sizeof in, rank - 1, TAG_MU);
            par_recv(acc, (size_t)K * sizeof(double), rank - 1, TAG_MU);
            if (in.rc != 0 && h.rc == 0)
                h = in;
        }
        if (h.rc == 0)
            for (int64_t j = 0; j < nimg; j++)
                for (int64_t k = 0; k < K; k++)
                    acc[k] += ps[j * K + k];
        if (rank < P - 1) {
            par_send(&h, sizeof h, rank + 1, TAG_MU);
            par_send(acc, (size_t)K * sizeof(double), rank + 1, TAG_MU);
        }
        /* the last rank has the sum and the first error on the chain */
        par_bcast(&h, sizeof h, P - 1);
        if (ir->mu)
            par_bcast(ir->mu, (size_t)K * sizeof(double), P - 1);
    }
    if (h.rc == 0)
        for (int64_t k = 0; k < K; k++)
            ir->mu[k] /= (double)m->N * (double)hw;
    free(A);
    free(ps);
    if (h.rc != 0)
        snprintf(err, errlen, "%s", h.err);
    return h.rc;
}

