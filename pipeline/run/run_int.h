/* run_int.h: what the files of the `run` command share (not an API: run.h is).
 *
 * run.c drives a run; plan.c sizes memory and batches; mu.c is the first
 * pass; reader.c reads a batch; target.c is one target's work; walk.c the
 * ordered walk and the MPI gather; stats.c the intervals; check.c the
 * `check` command. They see one input's results through input_res and one
 * target's through target_res (output/results.h). */
#ifndef RUN_INT_H
#define RUN_INT_H

#include <stdint.h>
#include <stdio.h>

#include "analysis/loc.h"
#include "pipeline/input/h5in.h"
#include "pipeline/output/maps_h5.h"
#include "pipeline/output/outdir.h"
#include "pipeline/output/results.h"
#include "pipeline/run/run.h"

/* Bytes of input per batch, at most: two buffers of 8 MiB stay in the
 * last-level cache (reads 2-3x faster than 64 MiB ones, measured with make
 * bench). */
#define BATCH_CAP ((int64_t)16 << 20)

/* ---- MPI messages --------------------------------------------------------- */

enum { TAG_MU = 11, TAG_HEAD = 12, TAG_RES = 13, TAG_MAPS = 14 };

/* What travels between ranks besides the numbers: a status. */
typedef struct {
    int64_t t0, nt; /* a batch of results; nt < 0: the end of a rank's stream */
    int rc;
    char err[H5IN_ERRLEN];
} par_head;


/* ---- plan.c: memory and batches ------------------------------------------ */

/* Bytes the main pass needs for image i with its targets (sal: saliency read). */
int64_t plan_image_bytes(const h5in_meta *m, int64_t i, int sal);
/* First image of rank r's shard of P (plan_shard_start(m, P, P) == N). */
int64_t plan_shard_start(const h5in_meta *m, int r, int P);

typedef struct {
    int64_t budget;     /* bytes of input per batch buffer */
    int nbuf;           /* 2: a reader thread fills the next batch; 1: none */
    int64_t nbatch;     /* this rank's batches, images bstart[b] .. bstart[b+1]-1 */
    int64_t *bstart;    /* (nbatch + 1), owned */
    int64_t max_imgs, max_t; /* most images, most targets in any rank's batch */
} run_plan;

/* The memory plan of input m with tg workspaces for o->threads threads:
 * the budget and the buffer count. 0, or -1 with err set when the largest
 * image is over --max-memory. */
int plan_memory(run_plan *p, const h5in_meta *m, const run_opts *o, int sal, size_t tg_bytes,
                char *err, size_t errlen);
/* The batches of every rank (this rank's kept in p->bstart). 0 or -2 (out of memory). */
int plan_batches(run_plan *p, const h5in_meta *m, int sal, int rank, int P, char *err,
                 size_t errlen);
void plan_free(run_plan *p);

/* ---- target.c: one target's work ---------------------------------------- */

/* A worker thread's buffers, allocated once per input. */
typedef struct {
    double *cam_work, *weights, *up, *eig_work;
    void *ups_work, *loc_work, *sgn_work;
    uint8_t *tmask, *omask, *region;
    float *gt;
} tg_work;

/* Their sizes (elements or bytes, as each field says in tg_plan). */
typedef struct {
    size_t cam, weights, up, ups, loc, sgn, mask, region, gt, eig;
} tg_size;

/* What every target of an input shares. */
typedef struct {
    const h5in_meta *m;
    const input_res *ir;
    const loc_params *lp;
    const double *mu;
    unsigned need;      /* cam_maps_sel mask */
    int features_only;  /* no image-resolution work */
    int masses;         /* --curves: the completeness masses (cam_masses) */
} tg_ctx;

/* Sizes for input m (its largest image; eig: eigencam's workspace too);
 * the total in bytes. tg_plan: 0, or -1 when LAPACK's workspace query fails. */
int tg_plan(tg_size *s, const h5in_meta *m, int eig);
size_t tg_total(const tg_size *s);
/* 0, or -1 (out of memory; nothing left allocated). */
int tg_alloc(tg_work *t, const tg_size *s);
void tg_free(tg_work *t);
/* Eigencam of one image: A: (K, h, w) -> map (h*w), *flip (see
 * kernels/eigencam.h). 0, or LAPACK's non-zero info. */
int tg_eigencam(float *map, int *flip, const float *A, const tg_ctx *c, tg_work *w);
/* Feature resolution for target t: maps: (CAM_NMAPS, h*w), A: (K, h, w) of
 * its image, G: (K, h, w), E: its image's eigencam map (h*w) and eflip the
 * image's sign flip, or E NULL (eigencam not needed) -> maps, res->sg,
 * res->eig_flip. */
void tg_features(target_res *res, float *maps, const float *A, const float *G, const float *E,
                 int eflip, int64_t t, const tg_ctx *c, tg_work *w);
/* Image resolution: res->loc of every active variant, res->has_box; S:
 * the target's saliency map (sal_h, sal_w) or NULL. */
void tg_localize(target_res *res, const float *maps, const float *S, int64_t t,
                 const tg_ctx *c, tg_work *w);

/* ---- reader.c: a batch's input ----------------------------------------- */

typedef struct {
    h5in *f;
    int sal;
    float *A, *G, *S;
    int64_t i0, i1, t0, nt;
    int rc;
    double seconds;
    char err[H5IN_ERRLEN];
} reader;

/* Aim r at images [i0, i1) of m and their targets. */
void reader_set(reader *r, const h5in_meta *m, int64_t i0, int64_t i1);
/* Read them (r->rc -1 with r->err on failure; r->seconds the time taken). */
void reader_run(reader *r);
/* reader_run as a pthread entry point (arg: the reader). */
void *reader_main(void *arg);
/* Whether HDF5 may be called from the reader thread while the main thread
 * writes maps.h5. */
int reader_h5_threadsafe(void);

/* ---- walk.c: the ordered walk -------------------------------------------- */

typedef struct {
    input_res *ir;
    int index;
    const run_opts *o;
    FILE *csv, *sgn;
    maps_out *mo;
    struct prog_state *prog; /* progress on a terminal */
} walk_ctx;

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

/* Targets t0 .. t0+nt-1 of w's input in order (see walk.c). 0, or -2 with err. */
int walk_batch(walk_ctx *w, int64_t t0, int64_t nt, const target_res *res, const float *maps,
               char *err, size_t errlen);
/* Keep a copy of a batch (maps may be NULL). 0 or -1 (out of memory). */
int stash_add(stash *s, int64_t t0, int64_t nt, const target_res *res, const float *maps,
              size_t maps_per_t);
void stash_free(stash *s);
/* Under MPI: ranks > 0 send their stash and status, rank 0 walks them.
 * Returns the run's status (rc, or the first failure of another rank). */
int walk_gather(walk_ctx *w, stash *st, int rc, target_res *res, float *maps, size_t maps_per_t,
                char *err, size_t errlen);

/* ---- progress.c: what a terminal shows ----------------------------------- */

typedef struct prog_state {
    int on, index, ninputs;
    int64_t total, done;
    const char *name;
    double t0, last;
} prog_state;

/* Input `index` (metadata m) starts: its line, when o->progress. */
void prog_start(prog_state *p, const run_opts *o, int index, const h5in_meta *m);
/* n more targets walked. */
void prog_add(prog_state *p, int64_t n);
/* The input is done: the line's last state and a newline. */
void prog_end(prog_state *p);
/* The headline metrics per input and variant (after the statistics). */
void prog_table(const input_res *irs, const run_opts *o);

/* ---- mu.c, stats.c --------------------------------------------------------- */

/* ir->mu: each channel's mean over the input (this rank's share read in
 * batches of at most budget bytes). 0, -1 (bad input) or -2, with err. */
int run_mu(input_res *ir, int64_t budget, int threads, char *err, size_t errlen);

/* Per-variant metrics, intervals and paired comparisons of one input (after its walk). */
int run_stats_input(input_res *ir, const run_opts *o, char *err, size_t errlen);

#endif
