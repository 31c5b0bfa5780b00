/* run.h: the `run` and `check` commands. */
#ifndef RUN_H
#define RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/output/results.h"



/* The whole study; 0, or -1 with err = "FILE: DATASET: problem" (bad input)
 * or -2 for an output/system failure. Outputs appear only on success. */
int run_study(const run_opts *o, char *err, size_t errlen);

/* Validate one file fully and print a summary to out; 0 or -1 with err. */
int run_check(const char *path, FILE *out, int64_t max_memory_mib, char *err, size_t errlen);

#endif
