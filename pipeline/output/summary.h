/* summary.h: summary.json (README "Outputs"): the one writer and the one
 * reader. */
#ifndef SUMMARY_H
#define SUMMARY_H

#include <stddef.h>

#include <jansson.h>

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

/* ---- reading ----------------------------------------------------------------
 * Every command that reads a summary goes through these. Messages are one
 * line, "FILE: WHERE: problem", WHERE a line and column for a syntax error
 * or the member's path ("inputs[2].variants.gradcam.boxacc.max").
 * Numbers: integers and reals alike (json_number_value); an integer beyond
 * long long is a syntax error of jansson's ("too big integer"), which no
 * summary the engine writes contains (counts stay below 2^53). */

#define SUM_SCHEMA "gradcam-study-summary/1"

/* Parse text[0..len) (named `file` in messages) strictly: one object, no
 * duplicate member names, no NUL in strings; then check that "schema" is
 * SUM_SCHEMA and "inputs" an array. Returns the document (json_decref it) or
 * NULL with err "FILE: line L column C: problem" / "FILE: schema: ...". */
json_t *sum_parse(const char *text, size_t len, const char *file, char *err, size_t errlen);

/* sum_parse on the whole file at path; "PATH: -: cannot open: reason" when
 * it cannot be read. */
json_t *sum_read(const char *path, char *err, size_t errlen);

/* The "inputs" array of a document sum_read returned (never NULL). */
json_t *sum_inputs(const json_t *doc);

/* Checked access. A reader keeps one sum_ck; the first failure writes
 * "FILE: AT.KEY: problem" into err and sets failed, after which every call
 * returns a neutral value (NULL, 0, "") and writes nothing, so a loader
 * can read a whole block and test failed once. AT is the path of obj
 * ("" for the top level), KEY the member (NULL: obj itself). */
typedef struct {
    const char *file;
    char *err;
    size_t errlen;
    int failed;
} sum_ck;

void sum_fail(sum_ck *c, const char *at, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* "an object", "a number", ... for messages. */
const char *sum_type_name(const json_t *v);
/* Member key of obj as an object / array / string; NULL (failed) when
 * missing or of another type. */
json_t *sum_obj(sum_ck *c, const json_t *obj, const char *at, const char *key);
json_t *sum_arr(sum_ck *c, const json_t *obj, const char *at, const char *key);
json_t *sum_strv(sum_ck *c, const json_t *obj, const char *at, const char *key);
/* Its text ("" on failure; points into the document). */
const char *sum_str(sum_ck *c, const json_t *obj, const char *at, const char *key);
/* A number in [lo, hi] (0 on failure). */
double sum_num(sum_ck *c, const json_t *obj, const char *at, const char *key, double lo,
               double hi);
/* A whole number in [0, 9e15] (0 on failure). */
long sum_count(sum_ck *c, const json_t *obj, const char *at, const char *key);
/* An optional interval [lo, hi] of two numbers within [min, max]: 1 read
 * into lohi, 0 absent (or obj NULL), -1 failed. */
int sum_interval(sum_ck *c, const json_t *obj, const char *at, const char *key, double min,
                 double max, double lohi[2]);

#endif
