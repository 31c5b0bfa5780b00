/* run.c: the study driver: reads inputs in batches, computes on all threads,
 * writes results in target order.
 *
 * DESIGN
 * Per input file:
 *   1. h5in_open validates everything small up front.
 *   2. If gradcam-centered or --save-maps needs mu, a first pass reads the
 *      activations batch by batch and sums each channel per image (threads
 *      over images), adding the per-image sums in image order.
 *   3. The main pass takes batches of whole images with all their targets,
 *      sized to a memory budget (so memory does not grow with N), reads A
 *      once per image and G once per target, then runs the targets of the
 *      batch on OpenMP threads in two stages (feature resolution: maps and
 *      sign tables; image resolution: upsampling and localization), each
 *      timed. When two input buffers fit the budget, a reader thread reads
 *      batch b + 1 while batch b is computed (it is the only thread that
 *      reads HDF5; this thread only writes maps.h5, and the thread-safe
 *      library serialises the two). Each target writes only its
 *      own slot of the batch's result arrays; each thread owns a workspace
 *      allocated once per input. After the parallel loop, this thread walks
 *      the targets in order: CSV rows, aggregate sums, maps.h5 rows.
 * So every output is a function of the input alone: the thread count only
 * changes who computes a slot, never the order in which slots are combined.
 * All outputs go through outdir.c (temporary names, renamed on success).
 * What the rows, statistics and summary.json look like is run_out.c's
 * business; the `check` command is run_check.c.
 *
 * MPI (par.h; one rank = one process of the above): rank r computes the
 * contiguous images of its shard (shard_start), the mu sums travel along
 * the ranks in image order, and rank 0 walks its own targets and then every
 * other rank's, in target order, with the same walk_batch: the same bytes
 * as one process. Ranks agree on every error before going on (rank 0 has
 * the last word), so no rank waits for one that has stopped.
 *
 * Thread safety: run_study is called once, from the main thread.
 */
#define _POSIX_C_SOURCE 200809L
#include "run.h"

#include "../analysis/agg.h"
#include "../analysis/ci.h"
#include "../analysis/loc.h"
#include "../analysis/sign.h"
#include "../kernels/cam.h"
#include "../kernels/sweep.h"
#include "../kernels/upsample.h"
#include "digest.h"
#include "h5in.h"
#include "h5out.h"
#include "json.h"
#include "outdir.h"
#include "par.h"
#include "run_internal.h"

#include <errno.h>
#include <hdf5.h>
#include <omp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef GCS_VERSION
#define GCS_VERSION "unknown"
#endif


const char *run_variant_name(int v)
{
    return v == RUN_SALIENCY ? "saliency" : cam_name(v);
}

int run_variant_index(const char *name)
{
    for (int v = 0; v < RUN_NVAR; v++)
        if (strcmp(name, run_variant_name(v)) == 0)
            return v;
    return -1;
}

double run_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- per-thread workspace ------------------------------------------------ */

typedef struct {
    double *cam_work, *weights, *up;
    void *ups_work, *loc_work, *sgn_work;
    uint8_t *tmask, *omask, *region;
    float *gt;
} tws;

typedef struct {
    size_t cam, weights, up, ups, loc, sgn, mask, region, gt;
} tws_size;

static size_t tws_total(const tws_size *s)
{
    return s->cam * sizeof(double) + s->weights * sizeof(double) + s->up * sizeof(double) +
           s->ups + s->loc + s->sgn + 2 * s->mask + s->region + s->gt * sizeof(float);
}

static void tws_free(tws *t)
{
    free(t->cam_work);
    free(t->weights);
    free(t->up);
    free(t->ups_work);
    free(t->loc_work);
    free(t->sgn_work);
    free(t->tmask);
    free(t->omask);
    free(t->region);
    free(t->gt);
    memset(t, 0, sizeof *t);
}

static int tws_alloc(tws *t, const tws_size *s)
{
    memset(t, 0, sizeof *t);
    t->cam_work = malloc(s->cam * sizeof(double));
    t->weights = malloc(s->weights * sizeof(double));
    t->up = malloc(s->up * sizeof(double));
    t->ups_work = malloc(s->ups ? s->ups : 1);
    t->loc_work = malloc(s->loc ? s->loc : 1);
    t->sgn_work = malloc(s->sgn);
    t->tmask = malloc(s->mask);
    t->omask = malloc(s->mask);
    t->region = malloc(s->region);
    t->gt = malloc((s->gt ? s->gt : 1) * sizeof(float));
    if (!t->cam_work || !t->weights || !t->up || !t->ups_work || !t->loc_work || !t->sgn_work || !t->tmask ||
        !t->omask || !t->region || !t->gt) {
        tws_free(t);
        return -1;
    }
    return 0;
}

static void tws_plan(tws_size *s, const h5in_meta *m)
{
    int64_t hw = m->h * m->w, maxb = 0;
    memset(s, 0, sizeof *s);
    s->cam = cam_work_doubles((int)m->K, (int)hw);
    s->weights = (size_t)CAM_NW * (size_t)m->K;
    s->up = (size_t)m->max_hw;
    s->mask = (size_t)m->max_hw;
    s->region = (size_t)hw;
    s->sgn = sgn_work_bytes((int)hw);
    for (int64_t i = 0; i < m->N; i++) {
        int H = m->size[2 * i], W = m->size[2 * i + 1];
        size_t u = ups_work_bytes((int)m->h, (int)m->w, H, W);
        size_t l = loc_work_bytes(H, W);
        if (u > s->ups) s->ups = u;
        if (l > s->loc) s->loc = l;
        if (m->bfirst[i + 1] - m->bfirst[i] > maxb) maxb = m->bfirst[i + 1] - m->bfirst[i];
    }
    s->gt = 4 * (size_t)maxb;
}

/* ---- one target ---------------------------------------------------------- */

typedef struct {
    const h5in_meta *m;
    const input_res *ir;
    const loc_params *lp;
    const double *mu;
    unsigned need;      /* cam_maps_sel mask */
    int features_only;  /* no image-resolution work */
} tctx;

/* Feature resolution: all maps the run needs and the sign tables. */
static void do_features(target_res *res, float *maps, const float *A, const float *G, int64_t t,
                        const tctx *c, tws *w)
{
    const h5in_meta *m = c->m;
    int K = (int)m->K, h = (int)m->h, wd = (int)m->w, hw = h * wd;
    int64_t img = m->timg[t];
    int cls = m->tcls[t];
    int H = m->size[2 * img], W = m->size[2 * img + 1];
    int64_t b0 = m->bfirst[img], nb = m->bfirst[img + 1] - b0;
    cam_maps_sel(maps, w->weights, A, G, c->mu, K, hw, w->cam_work, c->need);
    loc_cell_regions(w->region, h, wd, H, W, m->bxyxy + 4 * b0, m->bcls + b0, (int)nb, cls);
    sgn_tables(&res->sg[0], &res->sg[1], A, G, w->weights + (size_t)CAM_W_ALPHA * K,
               w->region, K, hw, w->sgn_work);
}

/* Image resolution: upsample each scored map and localise it. */
static void do_localize(target_res *res, const float *maps, const float *S, int64_t t,
                        const tctx *c, tws *w)
{
    const h5in_meta *m = c->m;
    int h = (int)m->h, wd = (int)m->w, hw = h * wd;
    int64_t img = m->timg[t];
    int cls = m->tcls[t];
    int H = m->size[2 * img], W = m->size[2 * img + 1];
    int64_t b0 = m->bfirst[img], nb = m->bfirst[img + 1] - b0;
    const float *boxes = m->bxyxy + 4 * b0;
    const int32_t *bcls = m->bcls + b0;

    int ngt = 0;
    for (int64_t b = 0; b < nb; b++)
        if (bcls[b] == cls) {
            memcpy(w->gt + 4 * ngt, boxes + 4 * b, 4 * sizeof(float));
            ngt++;
        }
    res->has_box = ngt > 0;
    if (c->features_only)
        return;
    loc_masks(w->tmask, w->omask, H, W, boxes, bcls, (int)nb, cls);

    for (int v = 0; v < RUN_NVAR; v++) {
        if (!c->ir->active[v])
            continue;
        if (v == RUN_SALIENCY) {
            size_t npix = (size_t)H * (size_t)W;
            for (size_t i = 0; i < npix; i++)
                w->up[i] = S[i];
        } else {
            ups_bilinear(w->up, maps + (size_t)v * hw, h, wd, H, W, w->ups_work);
        }
        loc_eval(&res->loc[v], w->up, H, W, w->gt, ngt, w->tmask, w->omask, c->lp,
                 w->loc_work);
    }
}

/* ---- batches ------------------------------------------------------------- */

/* Bytes the main pass needs for image i with its targets. */
static int64_t image_bytes(const h5in_meta *m, int64_t i, int sal, int keep_maps)
{
    int64_t khw = m->K * m->h * m->w, nt = m->tfirst[i + 1] - m->tfirst[i];
    int64_t per_t = khw * 4 + (int64_t)sizeof(target_res) + CAM_NMAPS * m->h * m->w * 4;
    if (sal)
        per_t += m->sal_h * m->sal_w * 4;
    (void)keep_maps;
    return khw * 4 + nt * per_t;
}

/* ---- shards (MPI) ----------------------------------------------------------
 * Rank r of P takes the contiguous images [lo, hi) whose targets start at
 * or after ceil(r T / P): about T / P targets each, whole images only. Every
 * rank can compute every shard, so buffer sizes agree without talking. */
static int64_t shard_start(const h5in_meta *m, int r, int P)
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

enum { TAG_MU = 11, TAG_HEAD = 12, TAG_RES = 13, TAG_MAPS = 14 };

/* What travels between ranks besides the numbers: a status. */
typedef struct {
    int64_t t0, nt; /* a batch of results; nt < 0: the end of a rank's stream */
    int rc;
    char err[H5IN_ERRLEN];
} par_head;

/* mu_k = mean of channel k over every image and pixel. Per-image channel
 * sums are added image by image in image order; under MPI the running sum
 * passes from rank to rank (each adds its own images), so the bits are
 * those of a single process. */
static int compute_mu(input_res *ir, int64_t budget, int threads, char *err, size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    int64_t K = m->K, hw = m->h * m->w, khw = K * hw;
    int rank = par_rank(), P = par_size();
    int64_t lo = shard_start(m, rank, P), hi = shard_start(m, rank + 1, P), nimg = hi - lo;
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

/* ---- the reader ------------------------------------------------------------
 * One batch's input: A of its images, G (and saliency) of their targets.
 * reader_run does the HDF5 calls; run_input runs it on a second thread for
 * the next batch while the workers compute the current one. */
typedef struct {
    h5in *f;
    int sal;
    float *A, *G, *S;
    int64_t i0, i1, t0, nt;
    int rc;
    double seconds;
    char err[H5IN_ERRLEN];
} reader;

static void reader_set(reader *r, const h5in_meta *m, int64_t i0, int64_t i1)
{
    r->i0 = i0;
    r->i1 = i1;
    r->t0 = m->tfirst[i0];
    r->nt = m->tfirst[i1] - r->t0;
    r->rc = 0;
    r->seconds = 0.0;
}

static void reader_run(reader *r)
{
    double t = run_now_s();
    if (r->nt > 0 &&
        (h5in_read_acts(r->f, r->A, r->i0, r->i1 - r->i0, r->err, sizeof r->err) < 0 ||
         h5in_read_grads(r->f, r->G, r->t0, r->nt, r->err, sizeof r->err) < 0 ||
         (r->sal && h5in_read_saliency(r->f, r->S, r->t0, r->nt, r->err, sizeof r->err) < 0)))
        r->rc = -1;
    r->seconds = run_now_s() - t;
}

static void *reader_main(void *arg)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* error stacks are per thread */
    reader_run(arg);
    return NULL;
}

/* Whether HDF5 may be called from the reader thread while this one writes
 * maps.h5 (a thread-safe build serialises the calls). */
static int h5_threadsafe(void)
{
    hbool_t ts = 0;
    return H5is_library_threadsafe(&ts) >= 0 && ts;
}

/* ---- the ordered walk (rank 0) -------------------------------------------- */

typedef struct {
    input_res *ir;
    int index;
    const run_opts *o;
    FILE *csv, *sgn;
    h5out *mo;
} walk_ctx;

/* Targets t0 .. t0+nt-1 in order: CSV rows, aggregates, interval records,
 * sign-table sums, maps.h5 rows. The only place results are combined, so
 * the order (and every sum) is that of the targets, whoever computed them. */
static int walk_batch(walk_ctx *w, int64_t t0, int64_t nt, const target_res *res,
                      const float *maps, char *err, size_t errlen)
{
    input_res *ir = w->ir;
    const h5in_meta *m = h5in_meta_of(ir->f);
    for (int64_t j = 0; j < nt; j++) {
        int64_t t = t0 + j;
        const target_res *r = &res[j];
        for (int v = 0; v < RUN_NVAR; v++)
            if (ir->active[v]) {
                run_csv_row(w->csv, w->index, t, m->timg[t], m->tcls[t], v, r);
                agg_add(&ir->agg[v], &r->loc[v], r->has_box, m->tcls[t]);
                ci_rec_set(&ir->rec[t * RUN_NVAR + v], &r->loc[v], r->has_box);
            }
        run_signs_rows(w->sgn, w->index, t, m->timg[t], m->tcls[t], r);
        sgn_add(&ir->tot[0], &r->sg[0]);
        sgn_add(&ir->tot[1], &r->sg[1]);
        ir->targets_without_box += !r->has_box;
    }
    if (ferror(w->csv) || ferror(w->sgn)) {
        snprintf(err, errlen, "%s: -: write failed (disk full?)", w->o->outdir);
        return -2;
    }
    if (w->mo && nt > 0 && h5out_write(w->mo, t0, nt, maps, err, errlen) < 0)
        return -2;
    return 0;
}

/* A rank > 0 keeps its batches' results until rank 0 asks for them. */
typedef struct {
    int64_t t0, nt;
    target_res *res;
    float *maps;
} stash_batch;

typedef struct {
    stash_batch *b;
    size_t n, cap;
} stash;

static int stash_add(stash *s, int64_t t0, int64_t nt, const target_res *res, const float *maps,
                     size_t maps_per_t)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        stash_batch *b = realloc(s->b, cap * sizeof *b);
        if (!b)
            return -1;
        s->b = b;
        s->cap = cap;
    }
    stash_batch *b = &s->b[s->n];
    b->t0 = t0;
    b->nt = nt;
    b->res = malloc((size_t)nt * sizeof(target_res));
    b->maps = maps ? malloc((size_t)nt * maps_per_t * sizeof(float)) : NULL;
    if (!b->res || (maps && !b->maps)) {
        free(b->res);
        free(b->maps);
        return -1;
    }
    memcpy(b->res, res, (size_t)nt * sizeof(target_res));
    if (maps)
        memcpy(b->maps, maps, (size_t)nt * maps_per_t * sizeof(float));
    s->n++;
    return 0;
}

static void stash_free(stash *s)
{
    for (size_t k = 0; k < s->n; k++) {
        free(s->b[k].res);
        free(s->b[k].maps);
    }
    free(s->b);
    memset(s, 0, sizeof *s);
}

static int run_input(input_res *ir, int index, const run_opts *o, FILE *csv, FILE *sgn,
                     od_set *od, char *err, size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    int64_t K = m->K, hw = m->h * m->w, khw = K * hw;
    int sal = ir->active[RUN_SALIENCY];
    loc_params lp = {o->threshold, o->tolerance};
    int rc = 0;

    /* memory plan */
    tws_size tsz;
    tws_plan(&tsz, m);
    int64_t fixed = (int64_t)o->threads * (int64_t)tws_total(&tsz) +
                    m->T * RUN_NVAR * (int64_t)sizeof(ci_rec);
    int64_t limit = o->max_memory_mib << 20;
    int64_t worst = 0, worst_i = 0;
    for (int64_t i = 0; i < m->N; i++) {
        int64_t b = image_bytes(m, i, sal, ir->save_maps);
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
    int nbuf = budget >= 2 * worst && h5_threadsafe() && !(rt && strcmp(rt, "0") == 0) ? 2 : 1;
    budget /= nbuf;
    if (budget > BATCH_CAP / nbuf) budget = BATCH_CAP / nbuf; /* same peak either way */
    if (budget < worst) budget = worst;
    ir->double_buffered = nbuf == 2;

    double t0 = run_now_s();
    if (ir->active[CAM_CENTERED] || ir->save_maps) {
        if ((rc = compute_mu(ir, budget, o->threads, err, errlen)) != 0)
            return rc;
    }
    ir->t_mu = run_now_s() - t0;
    t0 = run_now_s();

    h5out *mo = NULL;
    int rank = par_rank(), P = par_size();
    unsigned need = 0;
    for (int v = 0; v < CAM_NMAPS; v++)
        if (ir->active[v] || o->features_only)
            need |= CAM_BIT(v);
    if (ir->save_maps && rank == 0) {
        const char *names[CAM_NMAPS];
        int vidx[CAM_NMAPS], nv = 0;
        for (int v = 0; v < CAM_NMAPS; v++)
            if (ir->active[v]) {
                names[nv] = cam_name(v);
                vidx[nv++] = v;
            }
        const char *p = od_add(od, ir->maps_name, err, errlen);
        if (!p || h5out_create(&mo, p, m->T, m->h, m->w, K, nv, names, vidx, CAM_NMAPS, err,
                               errlen) < 0) {
            rc = -2;
        } else if (h5out_write_mu(mo, ir->mu, err, errlen) < 0) {
            char e2[H5IN_ERRLEN];
            h5out_close(mo, e2, sizeof e2);
            mo = NULL;
            rc = -2;
        }
    }
    if (P > 1) /* rank 0's outcome for everyone: the others must not wait for it */
        par_bcast(&rc, sizeof rc, 0);
    if (rc != 0)
        return rc;

    /* the batches: whole images with all their targets, within the budget,
       never across a shard boundary; every rank plans every shard, so the
       buffer sizes agree */
    int64_t nbatch = 0, max_imgs = 0, max_t = 0;
    int64_t *bstart = malloc((size_t)(m->N + 2) * sizeof(int64_t));
    if (!bstart) {
        snprintf(err, errlen, "%s: -: out of memory for the batch plan", m->path);
        rc = -2;
        goto done_mo;
    }
    for (int r = 0; r < P; r++) {
        int64_t hi = shard_start(m, r + 1, P);
        for (int64_t i0 = shard_start(m, r, P); i0 < hi;) {
            int64_t i1 = i0, bytes = 0;
            while (i1 < hi && (i1 == i0 || bytes + image_bytes(m, i1, sal, 0) <= budget))
                bytes += image_bytes(m, i1++, sal, 0);
            if (i1 - i0 > max_imgs) max_imgs = i1 - i0;
            if (m->tfirst[i1] - m->tfirst[i0] > max_t) max_t = m->tfirst[i1] - m->tfirst[i0];
            if (r == rank)
                bstart[nbatch++] = i0;
            i0 = i1;
        }
        if (r == rank)
            bstart[nbatch] = hi;
    }

    reader rd[2];
    memset(rd, 0, sizeof rd);
    size_t tcap = (size_t)(max_t ? max_t : 1);
    size_t maps_per_t = CAM_NMAPS * (size_t)hw;
    int ok = 1;
    for (int b = 0; b < nbuf; b++) {
        rd[b].f = ir->f;
        rd[b].sal = sal;
        rd[b].A = malloc((size_t)(max_imgs * khw) * sizeof(float));
        rd[b].G = malloc(tcap * (size_t)khw * sizeof(float));
        rd[b].S = sal ? malloc(tcap * (size_t)(m->sal_h * m->sal_w) * sizeof(float)) : NULL;
        ok = ok && rd[b].A && rd[b].G && (!sal || rd[b].S);
    }
    float *maps = malloc(tcap * maps_per_t * sizeof(float));
    target_res *res = malloc(tcap * sizeof(target_res));
    tws *ws = calloc((size_t)o->threads, sizeof(tws));
    ok = ok && maps && res && ws;
    for (int i = 0; ok && i < o->threads; i++)
        ok = tws_alloc(&ws[i], &tsz) == 0;
    if (ok && rank == 0) {
        ir->rec = calloc((size_t)m->T * RUN_NVAR, sizeof(ci_rec));
        ok = ir->rec != NULL;
    }
    if (!ok) {
        snprintf(err, errlen, "%s: -: out of memory for the batch buffers", m->path);
        rc = -2;
        if (P > 1) { /* the others would wait for this rank forever */
            fprintf(stderr, "gradcam-study: %s (rank %d)\n", err, rank);
            par_abort(1);
        }
        goto done;
    }
    tctx c = {m, ir, &lp, ir->mu, need, o->features_only};
    walk_ctx wc = {ir, index, o, csv, sgn, mo};
    stash st = {0};

    /* batch 0 on this thread; then batch b + 1 on the reader thread while
       batch b is computed (HDF5 calls stay on one thread at a time: the
       reader's, and this thread's maps.h5 writes, which the thread-safe
       library serialises) */
    if (nbatch > 0) {
        reader_set(&rd[0], m, bstart[0], bstart[1]);
        reader_run(&rd[0]);
        ir->t_read += rd[0].seconds;
    }
    for (int64_t bi = 0; bi < nbatch && rc == 0; bi++) {
        reader *cur = &rd[bi % nbuf];
        if (cur->rc != 0) {
            snprintf(err, errlen, "%s", cur->err);
            rc = -1;
            break;
        }
        /* this batch's range first: with one buffer, nxt is cur (read after) */
        int64_t i0 = cur->i0, t0b = cur->t0, nt = cur->nt;
        const float *A = cur->A, *G = cur->G, *S = cur->S;
        pthread_t th;
        int async = 0;
        reader *nxt = NULL;
        if (bi + 1 < nbatch) {
            nxt = &rd[(bi + 1) % nbuf];
            reader_set(nxt, m, bstart[bi + 1], bstart[bi + 2]);
            if (nbuf == 2)
                async = pthread_create(&th, NULL, reader_main, nxt) == 0;
        }
        double tf = run_now_s();
#pragma omp parallel for schedule(dynamic, 1) num_threads(o->threads)
        for (int64_t j = 0; j < nt; j++) {
            int64_t t = t0b + j;
            do_features(&res[j], maps + j * maps_per_t, A + (m->timg[t] - i0) * khw,
                        G + j * khw, t, &c, &ws[omp_get_thread_num()]);
        }
        double tl = run_now_s();
#pragma omp parallel for schedule(dynamic, 1) num_threads(o->threads)
        for (int64_t j = 0; j < nt; j++) {
            int64_t t = t0b + j;
            const float *St = sal ? S + j * m->sal_h * m->sal_w : NULL;
            do_localize(&res[j], maps + j * maps_per_t, St, t, &c, &ws[omp_get_thread_num()]);
        }
        double te = run_now_s();
        ir->t_features += tl - tf;
        ir->t_localize += te - tl;
        if (rank == 0)
            rc = walk_batch(&wc, t0b, nt, res, maps, err, errlen);
        else if (nt > 0 && stash_add(&st, t0b, nt, res, ir->save_maps ? maps : NULL,
                                     maps_per_t) < 0) {
            snprintf(err, errlen, "%s: -: out of memory keeping this rank's results", m->path);
            rc = -2;
        }
        if (nxt) {
            double tw = run_now_s();
            if (async)
                pthread_join(th, NULL);
            else
                reader_run(nxt);
            ir->t_wait += run_now_s() - tw;
            ir->t_read += nxt->seconds;
        }
    }

    /* MPI: the other ranks' results, rank by rank, batch by batch: rank 0
       walks them in target order, as if it had computed them itself */
    if (P > 1 && rank > 0) {
        par_head h;
        for (size_t k = 0; k < st.n; k++) {
            memset(&h, 0, sizeof h);
            h.t0 = st.b[k].t0;
            h.nt = st.b[k].nt;
            par_send(&h, sizeof h, 0, TAG_HEAD);
            par_send(st.b[k].res, (size_t)h.nt * sizeof(target_res), 0, TAG_RES);
            if (ir->save_maps)
                par_send(st.b[k].maps, (size_t)h.nt * maps_per_t * sizeof(float), 0, TAG_MAPS);
        }
        memset(&h, 0, sizeof h);
        h.nt = -1;
        h.rc = rc;
        snprintf(h.err, sizeof h.err, "%s", rc ? err : "");
        par_send(&h, sizeof h, 0, TAG_HEAD);
    } else if (P > 1) {
        for (int r = 1; r < P; r++)
            for (;;) {
                par_head h;
                par_recv(&h, sizeof h, r, TAG_HEAD);
                if (h.nt < 0) {
                    if (h.rc != 0 && rc == 0) {
                        rc = h.rc;
                        snprintf(err, errlen, "%s", h.err);
                    }
                    break;
                }
                par_recv(res, (size_t)h.nt * sizeof(target_res), r, TAG_RES);
                if (ir->save_maps)
                    par_recv(maps, (size_t)h.nt * maps_per_t * sizeof(float), r, TAG_MAPS);
                if (rc == 0)
                    rc = walk_batch(&wc, h.t0, h.nt, res, maps, err, errlen);
            }
    }
    stash_free(&st);
    ir->t_main = run_now_s() - t0;
done:
    if (ws)
        for (int i = 0; i < o->threads; i++)
            tws_free(&ws[i]);
    free(ws);
    for (int b = 0; b < 2; b++) {
        free(rd[b].A);
        free(rd[b].G);
        free(rd[b].S);
    }
    free(maps);
    free(res);
    free(bstart);
done_mo:
    if (mo) {
        char e2[H5IN_ERRLEN];
        if (h5out_close(mo, e2, sizeof e2) < 0 && rc == 0) {
            snprintf(err, errlen, "%s", e2);
            rc = -2;
        }
    }
    return rc;
}

/* Opens and validates every input and sets what runs (digest.c hashes). */
static int open_inputs(input_res *irs, const run_opts *o, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; i < o->ninputs && rc == 0; i++) {
        if (h5in_open(&irs[i].f, o->inputs[i], err, errlen) < 0) {
            rc = -1;
            break;
        }
        const h5in_meta *m = h5in_meta_of(irs[i].f);
        for (int v = 0; v < RUN_NVAR; v++)
            irs[i].active[v] = !o->features_only && ((o->variants >> v) & 1u);
        if (!m->has_saliency) {
            if (o->variants_given && irs[i].active[RUN_SALIENCY]) {
                snprintf(err, errlen, "%s: /targets/saliency: variant saliency requested but the "
                         "dataset is absent", m->path);
                rc = -1;
            }
            irs[i].active[RUN_SALIENCY] = 0;
        }
        irs[i].save_maps = o->save_maps;
        if (o->ninputs == 1)
            snprintf(irs[i].maps_name, sizeof irs[i].maps_name, "maps.h5");
        else
            snprintf(irs[i].maps_name, sizeof irs[i].maps_name, "maps-%d.h5", i);
        for (int v = 0; v < RUN_NVAR && rc == 0; v++)
            if (agg_init(&irs[i].agg[v], m->C) < 0) {
                snprintf(err, errlen, "%s: -: out of memory", m->path);
                rc = -2;
            }
    }
    return rc;
}

int run_study(const run_opts *o, char *err, size_t errlen)
{
    double t_start = run_now_s();
    od_set od;
    input_res *irs = calloc((size_t)o->ninputs, sizeof *irs);
    if (!irs) {
        snprintf(err, errlen, "-: -: out of memory");
        return -2;
    }
    /* validate every input before touching OUTDIR; under MPI rank 0 first
       (in its isolated probe), then the others open what it accepted */
    int rank = par_rank(), P = par_size();
    int rc = 0;
    if (rank == 0)
        rc = open_inputs(irs, o, err, errlen);
    if (P > 1) {
        par_bcast(&rc, sizeof rc, 0);
        par_bcast(err, errlen, 0);
        if (rc == 0) {
            if (rank > 0) {
                h5in_set_isolation(0);
                rc = open_inputs(irs, o, err, errlen);
            }
            if (par_max_int(rc != 0)) { /* rank 0 accepted what another cannot open */
                if (rc != 0)
                    fprintf(stderr, "gradcam-study: %s (rank %d)\n", err, rank);
                rc = -1;
                snprintf(err, errlen, "-: -: rank %d opened the inputs, another rank could not "
                         "(its message above)", rank);
            }
        }
    }
    /* rank 0 hashes the inputs on a thread of its own (or here, when no
       thread can be had) while the rest goes on */
    dg_job dg;
    dg_file *dgf = calloc((size_t)o->ninputs, sizeof *dgf);
    int dg_on = 0;
    if (rc == 0 && rank == 0) {
        if (!dgf) {
            snprintf(err, errlen, "-: -: out of memory");
            rc = -2;
        } else {
            dg_start(&dg, (const char *const *)o->inputs, dgf, o->ninputs);
            dg_on = 1;
        }
    }
    FILE *csv = NULL, *sgn = NULL;
    int od_ok = 0;
    if (rc == 0 && rank == 0) {
        if (od_init(&od, o->outdir, err, errlen) < 0)
            rc = -2;
        else
            od_ok = 1;
    }
    if (rc == 0 && rank == 0 && (!(csv = od_fopen(&od, "targets.csv", err, errlen)) ||
                                 !(sgn = od_fopen(&od, "signs.csv", err, errlen))))
        rc = -2;
    if (rc == 0 && rank == 0) {
        fputs(RUN_CSV_HEADER, csv);
        fputs(RUN_SIGNS_HEADER, sgn);
    }
    for (int i = 0; i < o->ninputs; i++) {
        if (P > 1) /* go on only together (rank 0 has every rank's outcome) */
            par_bcast(&rc, sizeof rc, 0);
        if (rc != 0)
            break;
        rc = run_input(&irs[i], i, o, csv, sgn, &od, err, errlen);
    }
    if (csv) {
        char e2[H5IN_ERRLEN];
        if (od_fclose(csv, "targets.csv", e2, sizeof e2) < 0 && rc == 0) {
            snprintf(err, errlen, "%s/%s", o->outdir, e2);
            rc = -2;
        }
    }
    if (sgn) {
        char e2[H5IN_ERRLEN];
        if (od_fclose(sgn, "signs.csv", e2, sizeof e2) < 0 && rc == 0) {
            snprintf(err, errlen, "%s/%s", o->outdir, e2);
            rc = -2;
        }
    }
    if (dg_on && dg_finish(&dg, rc != 0) != 0 && rc == 0) {
        snprintf(err, errlen, "%s", dg.err);
        rc = -1;
    }
    for (int i = 0; dg_on && rc == 0 && i < o->ninputs; i++) {
        memcpy(irs[i].sha256, dgf[i].hex, sizeof irs[i].sha256);
        irs[i].bytes = dgf[i].bytes;
        irs[i].t_hash = dgf[i].seconds;
    }
    free(dgf);
    for (int i = 0; i < o->ninputs && rc == 0 && rank == 0; i++)
        rc = run_stats_input(&irs[i], o, err, errlen);
    if (rc == 0 && rank == 0)
        rc = run_write_summary(&od, irs, o, run_now_s() - t_start, err, errlen);
    if (rc == 0 && rank == 0 && od_commit(&od, err, errlen) < 0)
        rc = -2;
    if (P > 1) /* every rank exits with rank 0's status */
        par_bcast(&rc, sizeof rc, 0);
    if (od_ok) {
        od_abort(&od); /* after a commit: the old outputs; after a failure: the new ones */
        od_free(&od);
    }
    for (int i = 0; i < o->ninputs; i++) {
        for (int v = 0; v < RUN_NVAR; v++)
            agg_free(&irs[i].agg[v]);
        free(irs[i].mu);
        free(irs[i].rec);
        free(irs[i].pairs);
        h5in_close(irs[i].f);
    }
    free(irs);
    return rc;
}

