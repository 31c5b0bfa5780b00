/* summary.h: summary.json (README "Outputs"): the one writer and the one
 * reader. */
#ifndef SUMMARY_H
#define SUMMARY_H

#include <stddef.h>

#include "pipeline/output/outdir.h"
#include "pipeline/output/results.h"

/* The paired comparisons an input's summary reports: gradcam against every
 * other variant, and HiResCAM with and without its ReLU; per pair these
 * metrics (CI_*) and norms (LOC_*): BoxAcc and MaxBoxAcc per norm, pointing,
 * energy. */
#define SUM_PAIR_METRICS 6
extern const int sum_pair_metric[SUM_PAIR_METRICS];
extern const int sum_pair_norm[SUM_PAIR_METRICS];

/* OUTDIR/summary.json of the whole run (ranks: MPI processes, for the
 * record). 0, or -2 with err set. */
int sum_write(od_set *od, const input_res *irs, const run_opts *o, int ranks, double wall,
              char *err, size_t errlen);

#endif
