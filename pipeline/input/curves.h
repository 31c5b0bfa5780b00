/* curves.h: reading and checking a causal curves file
 * (`gradcam-study-curves/1`, written by scripts/causal.py; README
 * "summary.json", `causal`). */
#ifndef CURVES_H
#define CURVES_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/input/h5in.h"

#define CV_SCHEMA "gradcam-study-curves/1"
#define CV_MAXREF 2

/* One curves file, every dataset read and checked against its input. */
typedef struct {
    char *path;
    char sha256[65];            /* of the curves file itself */
    char *input_sha256, *network, *layer;
    int64_t seed;
    int R, O, S;                /* references, orders, steps */
    int ref_mu[CV_MAXREF];      /* reference r is mu (1) or zero (0) */
    char **orders;              /* (O) variant names, then `random` */
    int gradcam, random;        /* indices of those orders, or -1 */
    int32_t *cells;             /* (S + 1) */
    int64_t T;
    double *y_orig;             /* (T) */
    double *y_ref;              /* (R, T) */
    double *del, *ins;          /* (R, O, T, S + 1) */
    int32_t *n_neg, *n_others;  /* (T) */
    double *claim_target;       /* (R, T, 2) */
    double *claim_others;       /* (R, T, 3) */
} cv_file;

/* Name of reference r of c ("zero" or "mu"). */
const char *cv_ref_name(const cv_file *c, int r);

/* Read and check the curves file at path for the input m (its targets, its
 * class count and its map's cells; the input's sha256 is checked
 * separately, cv_check_input, when the digest is known). The metadata is
 * first read in a forked child (guard.c), as for inputs. Main thread only,
 * before any OpenMP thread exists. 0, or -1 with "FILE: DATASET: problem"
 * in err (c then freed). */
int cv_read(cv_file *c, const char *path, const h5in_meta *m, char *err, size_t errlen);

/* The file's input_sha256 against the input's digest (hex). 0, or -1 with
 * err "FILE: /@input_sha256: ...". */
int cv_check_input(const cv_file *c, const char *input_sha256, const char *input_path,
                   char *err, size_t errlen);

/* Release everything (c may be zeroed). */
void cv_free(cv_file *c);

#endif
