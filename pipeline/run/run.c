/* run.c: the study driver (`run`): opens the inputs, plans memory and
 * batches, reads on one thread and computes on all, and hands the results to
 * the ordered walk and the writers.
 *
 * DESIGN
 * Per input file:
 *   1. h5in_open validates everything small up front; with --curves, rank 0
 *      reads and checks the input's curves file too (input/curves.c), and
 *      its input_sha256 against the digest once that is known (before the
 *      statistics, so before anything is renamed into place). Without
 *      --curves the statistics need no digest and run while the digest
 *      thread finishes.
 *   2. If gradcam-centered, --save-maps or --curves needs mu, a first pass reads the
 *      activations batch by batch and sums each channel per image (threads
 *      over images), adding the per-image sums in image order.
 *   3. The main pass takes batches of whole images with all their targets,
 *      sized to a memory budget (so memory does not grow with N), reads A
 *      once per image and G once per target, then runs the targets of the
 *      batch on the pass's worker pool (pool.c: helpers that sleep between
 *      loops, not OpenMP's spinning ones, which took the cores the reader
 *      and the digest need) in two stages (feature resolution: maps and
 *      sign tables; image resolution: upsampling and localization), each
 *      timed. When two input buffers fit the budget, a reader thread reads
 *      batch b + 1 while batch b is computed (it is the only thread that
 *      reads HDF5; this thread only writes maps.h5, and the thread-safe
 *      library serialises the two). Each target writes only its
 *      own slot of the batch's result arrays; each thread owns a workspace
 *      allocated once per input. After the parallel loop, this thread walks
 *      the targets in order (walk.c): CSV rows, aggregate sums, maps.h5 rows.
 * So every output is a function of the input alone: the thread count only
 * changes who computes a slot, never the order in which slots are combined.
 * All outputs go through output/outdir.c (a staging directory swapped in on
 * success). The parts: plan.c (memory, shards, batches), mu.c (first pass),
 * reader.c (a batch's input), target.c (one target's work), walk.c (the
 * ordered walk, MPI gather), stats.c (intervals), check.c (`check`); the
 * formats are output/'s.
 *
 * MPI (mpi_shim.h; one rank = one process of the above): rank r computes the
 * contiguous images of its shard (plan_shard_start), the mu sums travel along
 * the ranks in image order, and rank 0 walks its own targets and then every
 * other rank's, in target order, with the same walk: the same bytes
 * as one process. Ranks agree on every error before going on (rank 0 has
 * the last word), so no rank waits for one that has stopped.
 *
 * Thread safety: run_study is called once, from the main thread.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/run/run_int.h"

#include "pipeline/common/bigbuf.h"
#include "pipeline/common/timer.h"
#include "pipeline/input/digest.h"
#include "pipeline/output/summary.h"
#include "pipeline/output/targets_csv.h"
#include "pipeline/run/mpi_shim.h"
#include "pipeline/run/pool.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* maps.h5 of this input (rank 0, --save-maps), opened with mu written; the
 * outcome is every rank's. Under --features-only no variant is scored, but
 * every map is computed: the maps of the --variants selection are saved
 * (the fast first step of Question 6's flow). 0, or -2 with err. */
static int open_maps(input_res *ir, const run_opts *o, od_set *od, maps_out **mo, char *err,
                     size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    int rc = 0;
    *mo = NULL;
    if (ir->save_maps && par_rank() == 0) {
        const char *names[CAM_NMAPS];
        int vidx[CAM_NMAPS], nv = 0;
        for (int v = 0; v < CAM_NMAPS; v++)
            if (ir->active[v] || (o->features_only && ((o->variants >> v) & 1u))) {
                names[nv] = cam_name(v);
                vidx[nv++] = v;
            }
        const char *p = od_add(od, ir->maps_name, err, errlen);
        if (!p || maps_create(mo, p, m->T, m->h, m->w, m->K, nv, names, vidx, CAM_NMAPS, err,
                              errlen) < 0) {
            rc = -2;
        } else if (maps_write_mu(*mo, ir->mu, err, errlen) < 0) {
            char e2[H5IN_ERRLEN];
            maps_close(*mo, e2, sizeof e2);
            *mo = NULL;
            rc = -2;
        }
    }
    if (par_size() > 1) /* rank 0's outcome for everyone: the others must not wait for it */
        par_bcast(&rc, sizeof rc, 0);
    return rc;
}

/* A pass's buffers: the readers' inputs, one batch's maps and results, the
 * workers' workspaces. */
typedef struct {
    reader rd[2];
    float *maps;
    float *eig;         /* (max_imgs, h*w): the batch's eigencam maps, or NULL */
    int *eig_flip, *eig_rc; /* (max_imgs) */
    target_res *res;
    tg_work *ws;
    int nws;
    size_t maps_per_t;
} pass_bufs;

static void bufs_free(pass_bufs *b)
{
    if (b->ws)
        for (int i = 0; i < b->nws; i++)
            tg_free(&b->ws[i]);
    free(b->ws);
    for (int k = 0; k < 2; k++) {
        free(b->rd[k].A);
        free(b->rd[k].G);
        free(b->rd[k].S);
    }
    free(b->maps);
    free(b->eig);
    free(b->eig_flip);
    free(b->eig_rc);
    free(b->res);
    memset(b, 0, sizeof *b);
}

static int bufs_alloc(pass_bufs *b, input_res *ir, const run_plan *pl, const tg_size *tsz,
                      int threads, int eig)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    int64_t khw = m->K * m->h * m->w;
    int sal = ir->active[VAR_SALIENCY];
    size_t tcap = (size_t)(pl->max_t ? pl->max_t : 1);
    memset(b, 0, sizeof *b);
    b->maps_per_t = CAM_NMAPS * (size_t)(m->h * m->w);
    int ok = 1;
    for (int k = 0; k < pl->nbuf; k++) {
        b->rd[k].f = ir->f;
        b->rd[k].sal = sal;
        b->rd[k].A = bb_alloc((size_t)(pl->max_imgs * khw) * sizeof(float));
        b->rd[k].G = bb_alloc(tcap * (size_t)khw * sizeof(float));
        b->rd[k].S = sal ? bb_alloc(tcap * (size_t)(m->sal_h * m->sal_w) * sizeof(float)) : NULL;
        ok = ok && b->rd[k].A && b->rd[k].G && (!sal || b->rd[k].S);
    }
    b->maps = bb_alloc(tcap * b->maps_per_t * sizeof(float));
    if (eig) {
        size_t icap = (size_t)(pl->max_imgs ? pl->max_imgs : 1);
        b->eig = malloc(icap * (size_t)(m->h * m->w) * sizeof(float));
        b->eig_flip = malloc(icap * sizeof(int));
        b->eig_rc = malloc(icap * sizeof(int));
        ok = ok && b->eig && b->eig_flip && b->eig_rc;
    }
    b->res = malloc(tcap * sizeof(target_res));
    b->ws = calloc((size_t)threads, sizeof(tg_work));
    b->nws = threads;
    ok = ok && b->maps && b->res && b->ws;
    for (int i = 0; ok && i < threads; i++)
        ok = tg_alloc(&b->ws[i], tsz) == 0;
    return ok ? 0 : -1;
}

/* The eigencam maps of images [i0, i1) of a batch (A: their activations),
 * one image per call, on the workers; images without targets are skipped
 * (no map needs them). 0, or -1 with err naming the first image (in image
 * order) LAPACK failed on. */
typedef struct {
    pass_bufs *b;
    const h5in_meta *m;
    const float *A;
    const tg_ctx *c;
    int64_t i0, t0b;
    const float *G, *S;
    int sal;
} batch_job;

static void eig_item(void *ctx, int64_t j, int tid)
{
    batch_job *q = ctx;
    const h5in_meta *m = q->m;
    int64_t i = q->i0 + j, khw = m->K * m->h * m->w, hw = m->h * m->w;
    pass_bufs *b = q->b;
    b->eig_flip[j] = 0;
    b->eig_rc[j] = m->tfirst[i + 1] > m->tfirst[i]
                       ? tg_eigencam(b->eig + j * hw, &b->eig_flip[j], q->A + j * khw, q->c,
                                     &b->ws[tid])
                       : 0;
}

static void features_item(void *ctx, int64_t j, int tid)
{
    batch_job *q = ctx;
    const h5in_meta *m = q->m;
    pass_bufs *b = q->b;
    int64_t khw = m->K * m->h * m->w, hw = m->h * m->w;
    int64_t t = q->t0b + j, im = m->timg[t] - q->i0;
    const float *E = b->eig ? b->eig + im * hw : NULL;
    tg_features(&b->res[j], b->maps + j * b->maps_per_t, q->A + im * khw, q->G + j * khw, E,
                b->eig ? b->eig_flip[im] : 0, t, q->c, &b->ws[tid]);
}

static void localize_item(void *ctx, int64_t j, int tid)
{
    batch_job *q = ctx;
    const h5in_meta *m = q->m;
    pass_bufs *b = q->b;
    const float *St = q->sal ? q->S + j * m->sal_h * m->sal_w : NULL;
    tg_localize(&b->res[j], b->maps + j * b->maps_per_t, St, q->t0b + j, q->c, &b->ws[tid]);
}

static int eig_batch(pass_bufs *b, const h5in_meta *m, const float *A, int64_t i0, int64_t i1,
                     const tg_ctx *c, pool *pl, char *err, size_t errlen)
{
    batch_job q = {b, m, A, c, i0, 0, NULL, NULL, 0};
    pool_for(pl, i1 - i0, eig_item, &q);
    for (int64_t i = i0; i < i1; i++)
        if (b->eig_rc[i - i0] != 0) {
            snprintf(err, errlen, "%s: /activations: eigencam: LAPACK dsyevr failed on image %lld "
                     "(info %d)", m->path, (long long)i, b->eig_rc[i - i0]);
            return -1;
        }
    return 0;
}

/* The main pass over this rank's batches: batch 0 read on this thread; then
 * batch b + 1 on the reader thread while batch b is computed (HDF5 calls
 * stay on one thread at a time: the reader's, and this thread's maps.h5
 * writes, which the thread-safe library serialises). Rank 0 walks each
 * batch at once, the others stash it. */
static int main_pass(input_res *ir, const run_plan *pl, pass_bufs *b, const tg_ctx *c,
                     walk_ctx *wc, stash *st, pool *wp, char *err, size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    int sal = ir->active[VAR_SALIENCY], nbuf = pl->nbuf, rank = par_rank(), rc = 0;
    const int64_t *bstart = pl->bstart;
    size_t mpt = b->maps_per_t;
    if (pl->nbatch > 0) {
        reader_set(&b->rd[0], m, bstart[0], bstart[1]);
        reader_run(&b->rd[0]);
        ir->t_read += b->rd[0].seconds;
    }
    for (int64_t bi = 0; bi < pl->nbatch && rc == 0; bi++) {
        reader *cur = &b->rd[bi % nbuf];
        if (cur->rc != 0) {
            snprintf(err, errlen, "%s", cur->err);
            return -1;
        }
        /* this batch's range first: with one buffer, next is cur (read after) */
        int64_t i0 = cur->i0, i1 = cur->i1, t0b = cur->t0, nt = cur->nt;
        const float *A = cur->A, *G = cur->G, *S = cur->S;
        pthread_t th;
        int async = 0;
        reader *next = NULL;
        if (bi + 1 < pl->nbatch) {
            next = &b->rd[(bi + 1) % nbuf];
            reader_set(next, m, bstart[bi + 1], bstart[bi + 2]);
            if (nbuf == 2)
                async = pthread_create(&th, NULL, reader_main, next) == 0;
        }
        double tf = tm_now_s();
        if (b->eig && (rc = eig_batch(b, m, A, i0, i1, c, wp, err, errlen)) != 0) {
            if (async)
                pthread_join(th, NULL);
            return rc;
        }
        batch_job q = {b, m, A, c, i0, t0b, G, S, sal};
        pool_for(wp, nt, features_item, &q);
        double tl = tm_now_s();
        pool_for(wp, nt, localize_item, &q);
        double te = tm_now_s();
        ir->t_features += tl - tf;
        ir->t_localize += te - tl;
        if (rank == 0)
            rc = walk_batch(wc, t0b, nt, b->res, b->maps, err, errlen);
        else if (nt > 0 && stash_add(st, t0b, nt, b->res, ir->save_maps ? b->maps : NULL,
                                     mpt) < 0) {
            snprintf(err, errlen, "%s: -: out of memory keeping this rank's results", m->path);
            rc = -2;
        }
        if (next) {
            double tw = tm_now_s();
            if (async)
                pthread_join(th, NULL);
            else
                reader_run(next);
            ir->t_wait += tm_now_s() - tw;
            ir->t_read += next->seconds;
        }
    }
    return rc;
}

/* One input, start to end: plan, mu, maps.h5, the main pass, the gather. */
static int run_input(input_res *ir, int index, const run_opts *o, FILE *csv, FILE *sgn,
                     od_set *od, char *err, size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    int sal = ir->active[VAR_SALIENCY];
    int rank = par_rank(), P = par_size(), rc;
    loc_params lp = {o->threshold, o->tolerance};
    tg_size tsz;
    run_plan pl;
    int eig = ir->active[CAM_EIGENCAM] || o->features_only;
    if (tg_plan(&tsz, m, eig) < 0) {
        snprintf(err, errlen, "%s: -: eigencam: LAPACK's workspace query failed (K %lld, %lld "
                 "cells)", m->path, (long long)m->K, (long long)(m->h * m->w));
        return -2;
    }
    if ((rc = plan_memory(&pl, m, o, sal, tg_total(&tsz), err, errlen)) != 0)
        return rc;
    ir->double_buffered = pl.nbuf == 2;

    double t0 = tm_now_s();
    if ((ir->active[CAM_CENTERED] || ir->save_maps || ir->causal) &&
        (rc = run_mu(ir, pl.budget, o->threads, err, errlen)) != 0)
        return rc;
    ir->t_mu = tm_now_s() - t0;
    t0 = tm_now_s();

    maps_out *mo = NULL;
    if ((rc = open_maps(ir, o, od, &mo, err, errlen)) != 0)
        return rc;
    unsigned need = 0;
    for (int v = 0; v < CAM_NMAPS; v++)
        if (ir->active[v] || o->features_only)
            need |= CAM_BIT(v);
    pass_bufs b;
    memset(&b, 0, sizeof b);
    if ((rc = plan_batches(&pl, m, sal, rank, P, err, errlen)) != 0)
        goto done;
    if (bufs_alloc(&b, ir, &pl, &tsz, o->threads, eig) < 0 ||
        (rank == 0 && !(ir->rec = bb_calloc((size_t)m->T * VAR_N, sizeof(ci_rec)))) ||
        (rank == 0 && !(ir->img_sg = calloc((size_t)(m->N > 0 ? m->N : 1), sizeof(ci_sgn)))) ||
        (rank == 0 && ir->causal &&
         !(ir->mass = calloc((size_t)(m->T ? m->T : 1) * CZ_NMASS, sizeof(double))))) {
        snprintf(err, errlen, "%s: -: out of memory for the batch buffers", m->path);
        rc = -2;
        if (P > 1) { /* the others would wait for this rank forever */
            fprintf(stderr, "gradcam-study: %s (rank %d)\n", err, rank);
            par_abort(1);
        }
        goto done;
    }
    tg_ctx c = {m, ir, &lp, ir->mu, need, o->features_only, ir->causal};
    prog_state prog;
    prog_start(&prog, o, index, m);
    prog.on = prog.on && rank == 0;
    walk_ctx wc = {ir, index, o, csv, sgn, mo, &prog};
    stash st = {0};
    pool *wp = pool_new(o->threads);
    if (!wp) {
        snprintf(err, errlen, "%s: -: out of memory for the worker threads", m->path);
        rc = -2;
        if (P > 1) { /* the others would wait for this rank forever */
            fprintf(stderr, "gradcam-study: %s (rank %d)\n", err, rank);
            par_abort(1);
        }
    } else {
        rc = main_pass(ir, &pl, &b, &c, &wc, &st, wp, err, errlen);
        pool_free(wp);
    }
    rc = walk_gather(&wc, &st, rc, b.res, b.maps, b.maps_per_t, err, errlen);
    prog_end(&prog);
    stash_free(&st);
    ir->t_main = tm_now_s() - t0;
done:
    bufs_free(&b);
    plan_free(&pl);
    if (mo) {
        char e2[H5IN_ERRLEN];
        if (maps_close(mo, e2, sizeof e2) < 0 && rc == 0) {
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
        for (int v = 0; v < VAR_N; v++)
            irs[i].active[v] = !o->features_only && ((o->variants >> v) & 1u);
        if (!m->has_saliency) {
            if (o->variants_given && irs[i].active[VAR_SALIENCY]) {
                snprintf(err, errlen, "%s: /targets/saliency: variant saliency requested but the "
                         "dataset is absent", m->path);
                rc = -1;
            }
            irs[i].active[VAR_SALIENCY] = 0;
        }
        irs[i].save_maps = o->save_maps;
        irs[i].causal = o->ncurves > 0;
        if (irs[i].causal && par_rank() == 0) { /* read and checked before OUTDIR is touched */
            if (!(irs[i].cv = calloc(1, sizeof *irs[i].cv))) {
                snprintf(err, errlen, "%s: -: out of memory", o->curves[i]);
                rc = -2;
                break;
            }
            if (cv_read(irs[i].cv, o->curves[i], m, err, errlen) < 0) {
                free(irs[i].cv);
                irs[i].cv = NULL;
                rc = -1;
                break;
            }
        }
        if (o->ninputs == 1)
            snprintf(irs[i].maps_name, sizeof irs[i].maps_name, "maps.h5");
        else
            snprintf(irs[i].maps_name, sizeof irs[i].maps_name, "maps-%d.h5", i);
        for (int v = 0; v < VAR_N && rc == 0; v++)
            if (agg_init(&irs[i].agg[v], m->C) < 0) {
                snprintf(err, errlen, "%s: -: out of memory", m->path);
                rc = -2;
            }
    }
    return rc;
}

/* Validate every input before touching OUTDIR; under MPI rank 0 first (in
 * its isolated probe), then the others open what it accepted. */
static int open_all(input_res *irs, const run_opts *o, char *err, size_t errlen)
{
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
    return rc;
}

/* Close one of the run's tables (f may be NULL); the run's status after it. */
static int close_table(FILE *f, const char *name, const run_opts *o, int rc, char *err,
                       size_t errlen)
{
    char e2[H5IN_ERRLEN];
    if (f && od_fclose(f, name, e2, sizeof e2) < 0 && rc == 0) {
        snprintf(err, errlen, "%s/%s", o->outdir, e2);
        rc = -2;
    }
    return rc;
}

static void free_inputs(input_res *irs, int n)
{
    for (int i = 0; i < n; i++) {
        for (int v = 0; v < VAR_N; v++)
            agg_free(&irs[i].agg[v]);
        free(irs[i].mu);
        free(irs[i].rec);
        free(irs[i].img_sg);
        free(irs[i].pairs);
        if (irs[i].cv)
            cv_free(irs[i].cv);
        free(irs[i].cv);
        free(irs[i].mass);
        if (irs[i].cz)
            cz_free(irs[i].cz);
        free(irs[i].cz);
        h5in_close(irs[i].f);
    }
    free(irs);
}

/* eigencam's LAPACK calls run one per worker thread. install-deps.sh installs
 * the reference BLAS (single-threaded); if the system's libblas.so.3 is a
 * multithreaded OpenBLAS instead, it is told to use one thread, so that no
 * result depends on its thread count either. */
static void blas_one_thread(void)
{
    void *h = dlopen(NULL, RTLD_NOW);
    if (!h)
        return;
    void (*set)(int);
    *(void **)&set = dlsym(h, "openblas_set_num_threads");
    if (set)
        set(1);
    dlclose(h);
}

int run_study(const run_opts *o, char *err, size_t errlen)
{
    blas_one_thread();
    double t_start = tm_now_s();
    od_set od;
    input_res *irs = calloc((size_t)o->ninputs, sizeof *irs);
    if (!irs) {
        snprintf(err, errlen, "-: -: out of memory");
        return -2;
    }
    int rank = par_rank(), P = par_size();
    int rc = open_all(irs, o, err, errlen);
    /* rank 0 hashes the inputs on a thread of its own (or here, when no
       thread can be had) while the rest goes on. Started only after every
       input has been probed: the probe forks (guard.c), and a child forked
       while this thread holds a lock (the allocator's, under the
       sanitizers) can wait on it forever */
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
    int name_col = 0;
    for (int i = 0; rc == 0 && i < o->ninputs; i++)
        name_col |= h5in_meta_of(irs[i].f)->has_names;
    for (int i = 0; rc == 0 && i < o->ninputs; i++)
        irs[i].name_col = name_col;
    if (rc == 0 && rank == 0) {
        tcsv_write_header(csv, name_col);
        fputs(TCSV_SIGNS_HEADER, sgn);
    }
    for (int i = 0; i < o->ninputs; i++) {
        if (P > 1) /* go on only together (rank 0 has every rank's outcome) */
            par_bcast(&rc, sizeof rc, 0);
        if (rc != 0)
            break;
        rc = run_input(&irs[i], i, o, csv, sgn, &od, err, errlen);
    }
    rc = close_table(csv, "targets.csv", o, rc, err, errlen);
    rc = close_table(sgn, "signs.csv", o, rc, err, errlen);
    /* the statistics need no digest: they run while the digest thread may
       still be hashing, unless a curves file is to be checked against the
       digest first (its causal statistics are part of them) */
    int early = o->ncurves == 0;
    for (int i = 0; early && i < o->ninputs && rc == 0 && rank == 0; i++)
        rc = run_stats_input(&irs[i], o, err, errlen);
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
    for (int i = 0; rc == 0 && i < o->ninputs; i++) /* curves of these very files */
        if (irs[i].cv && cv_check_input(irs[i].cv, irs[i].sha256, o->inputs[i], err, errlen) < 0)
            rc = -1;
    for (int i = 0; !early && i < o->ninputs && rc == 0 && rank == 0; i++)
        rc = run_stats_input(&irs[i], o, err, errlen);
    if (rc == 0 && rank == 0)
        prog_table(irs, o);
    if (rc == 0 && rank == 0)
        rc = sum_write(&od, irs, o, P, tm_now_s() - t_start, err, errlen);
    if (rc == 0 && rank == 0 && od_commit(&od, err, errlen) < 0)
        rc = -2;
    if (P > 1) /* every rank exits with rank 0's status */
        par_bcast(&rc, sizeof rc, 0);
    if (od_ok) {
        od_abort(&od); /* after a commit: the old outputs; after a failure: the new ones */
        od_free(&od);
    }
    free_inputs(irs, o->ninputs);
    return rc;
}

