/* run.h: the `run` and `check` commands. */
#ifndef RUN_H
#define RUN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pipeline/output/results.h"



/* The `run` and `check` commands (cli.c): argv[0] is the command's name;
 * the process exit status (0, 1 bad input, 2 usage). */
int run_main(int argc, char **argv);
int check_main(int argc, char **argv);
/* The usage lines of run and check, and run's options for --help. */
extern const char RUN_USAGE[];
void run_help(FILE *f);

/* The whole study; 0, or -1 with err = "FILE: DATASET: problem" (bad input)
 * or -2 for an output/system failure. Outputs appear only on success. */
int run_study(const run_opts *o, char *err, size_t errlen);

/* Validate one file fully and print a summary to out; 0 or -1 with err. */
int run_check(const char *path, FILE *out, int64_t max_memory_mib, char *err, size_t errlen);

#endif
