/* digest.h: SHA-256 of the input files for the provenance record, on a thread of its own. */
#ifndef DIGEST_H
#define DIGEST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pipeline/input/h5in.h" /* H5IN_ERRLEN */

/* One input's result: hex digest (64 digits + NUL), bytes read, seconds. */
typedef struct {
    char hex[65];
    int64_t bytes;
    double seconds;
} dg_file;

typedef struct {
    const char *const *paths; /* (n) */
    dg_file *out;             /* (n) */
    int n;
    atomic_int stop;
    int rc, async;
    pthread_t th;
    char err[H5IN_ERRLEN];
} dg_job;

/* Start hashing paths[0..n) in order into out[] on a new thread (or here,
 * at once, when no thread can be had). Returns 0. */
int dg_start(dg_job *j, const char *const *paths, dg_file *out, int n);

/* Wait for the job. abandon != 0 asks it to stop at its next megabyte (the
 * run failed; the digests are not needed). Returns 0, or -1 with the
 * message ("FILE: -: problem") in j->err. */
int dg_finish(dg_job *j, int abandon);

/* SHA-256 of one file -> hex, *bytes. stop (may be NULL) is polled between
 * reads. Returns 0, or -1 with a one-line message in err. */
int dg_file_sha256(const char *path, char hex[65], int64_t *bytes, atomic_int *stop, char *err,
                   size_t errlen);

#endif
