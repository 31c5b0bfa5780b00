/* run_internal.h: what the parts of the `run` command share (not an API).
 *
 * run.c drives a run (batches, threads, MPI shards, the ordered walk);
 * run_out.c writes what it produces (the CSV rows, the statistics and
 * summary.json); run_check.c is the `check` command. They see one input's results through input_res and one
 * target's through target_res. */
#ifndef RUN_INTERNAL_H
#define RUN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "../analysis/agg.h"
#include "../analysis/ci.h"
#include "../analysis/loc.h"
#include "../analysis/sign.h"
#include "h5in.h"
#include "outdir.h"
#include "run.h"

#define BATCH_CAP ((int64_t)16 << 20) /* bytes of input per batch, at most: two buffers of 8 MiB stay in the last-level cache (reads 2-3x faster than 64 MiB ones, measured with make bench) */

/* One input's results and bookkeeping. */
typedef struct {
    h5in *f;
    int active[RUN_NVAR];
    agg_variant agg[RUN_NVAR];
    sgn_table tot[2];
    int64_t targets_without_box;
    double *mu;
    ci_rec *rec;                  /* [T][RUN_NVAR] for the intervals */
    agg_metrics am[RUN_NVAR];
    ci_variant ci[RUN_NVAR];
    ci_pair *pairs;               /* [npairs] */
    int npairs, pair_a[RUN_NVAR + 1], pair_b[RUN_NVAR + 1];
    double t_mu, t_main, t_stats, t_hash;
    double t_read, t_wait, t_features, t_localize; /* parts of t_main */
    int double_buffered;
    char sha256[65];
    int64_t bytes;
    char maps_name[32];
    int save_maps;
} input_res;

/* One target's results, as the workers leave them for the walk. */
typedef struct {
    loc_result loc[RUN_NVAR];
    sgn_table sg[2];
    int has_box;
} target_res;

extern const char RUN_CSV_HEADER[];
extern const char RUN_SIGNS_HEADER[];

/* Monotonic seconds. */
double run_now_s(void);
/* The targets.csv row of target t, variant v. */
void run_csv_row(FILE *f, int input, int64_t t, int img, int cls, int v, const target_res *r);
/* The signs.csv rows of target t (both tables, every region). */
void run_signs_rows(FILE *f, int input, int64_t t, int img, int cls, const target_res *r);
/* Per-variant metrics, intervals and paired comparisons of one input (after its walk). */
int run_stats_input(input_res *ir, const run_opts *o, char *err, size_t errlen);
/* OUTDIR/summary.json of the whole run. */
int run_write_summary(od_set *od, input_res *irs, const run_opts *o, double wall, char *err,
                      size_t errlen);

#endif
