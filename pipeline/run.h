/* run.h: the `run` and `check` commands. */
#ifndef RUN_H
#define RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../kernels/cam.h"

#define RUN_SALIENCY CAM_NMAPS       /* variant index of `saliency` */
#define RUN_NVAR (CAM_NMAPS + 1)

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
} run_opts;

/* Name of variant v in 0..RUN_NVAR-1. */
const char *run_variant_name(int v);
/* Index of a variant name, or -1. */
int run_variant_index(const char *name);

/* The whole study; 0, or -1 with err = "FILE: DATASET: problem" (bad input)
 * or -2 for an output/system failure. Outputs appear only on success. */
int run_study(const run_opts *o, char *err, size_t errlen);

/* Validate one file fully and print a summary to out; 0 or -1 with err. */
int run_check(const char *path, FILE *out, int64_t max_memory_mib, char *err, size_t errlen);

#endif
