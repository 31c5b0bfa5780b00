/* results.h: the record of a run as its writers see it: the options it ran
 * with, one input's results and one target's. run/ fills them; the writers
 * of targets.csv, signs.csv and summary.json (this folder) read them. Types
 * only, no functions: it is here so that the arrows point one way
 * (run/ -> output/ -> analysis/, input/). */
#ifndef RESULTS_H
#define RESULTS_H

#include <stdint.h>

#include "analysis/agg.h"
#include "analysis/causal.h"
#include "analysis/intervals.h"
#include "analysis/loc.h"
#include "analysis/sign.h"
#include "pipeline/common/variants.h"
#include "pipeline/input/curves.h"
#include "pipeline/input/h5in.h"

/* What `run` was asked to do. */
typedef struct {
    const char *outdir;
    int threads;                 /* > 0 */
    uint32_t variants;           /* bit v set: variant v selected */
    int variants_given;          /* --variants was given (saliency then required) */
    double threshold, tolerance;
    int save_maps;
    int features_only;           /* maps and sign tables only (benchmarks) */
    int64_t max_memory_mib;
    int bootstrap;               /* resamples for the 95% intervals (0: none) */
    uint64_t seed;               /* bootstrap seed */
    int ninputs;
    char **inputs;
    const char *command;         /* the command line, for provenance */
    int progress;                /* show progress and a final table on stderr (a terminal) */
    int ncurves;                 /* --curves files (0, or one per input) */
    char **curves;               /* (ncurves) their paths, in input order */
} run_opts;

/* One input's results and bookkeeping. */
typedef struct {
    h5in *f;
    int active[VAR_N];
    agg_variant agg[VAR_N];
    sgn_table tot[2];
    int64_t targets_without_box;
    double *mu;
    ci_rec *rec;                  /* [T][VAR_N] for the intervals */
    ci_sgn *img_sg;               /* [N] per-image sign-table sums, for the share intervals */
    double share_ci[2][SGN_NREG + 1][CI_NSHARE][2]; /* [table][region or all][NN, NP] 95% */
    agg_metrics am[VAR_N];
    ci_variant ci[VAR_N];
    ci_pair *pairs;               /* [npairs] */
    int npairs, pair_a[VAR_N + 1], pair_b[VAR_N + 1];
    double t_mu, t_main, t_stats, t_hash;
    double t_read, t_wait, t_features, t_localize; /* parts of t_main */
    int double_buffered;
    char sha256[65];
    int64_t bytes;
    char maps_name[32];
    int save_maps;
    int name_col;                 /* targets.csv has the image_name column (any input has names) */
    int causal;                   /* --curves given: masses computed (every rank) */
    cv_file *cv;                  /* its curves file (rank 0), or NULL */
    double *mass;                 /* (T, CZ_NMASS) masses for the completeness fit (rank 0) */
    cz_res *cz;                   /* the curves' statistics, or NULL */
    int64_t eig_images, eig_flips; /* eigencam: images computed, sign flips (walk.c) */
} input_res;

/* One target's results, as the workers leave them for the walk. */
typedef struct {
    loc_result loc[VAR_N];
    sgn_table sg[2];
    int has_box;
    double mass[CZ_NMASS];        /* only with --curves (cam_masses) */
    int eig_flip;    /* first target of its image with eigencam on: the image's flip (0/1); else -1 */
} target_res;

#endif
