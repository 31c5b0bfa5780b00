/* guard.h: the watchdog and the forked probe that protect the process from
 * libhdf5 on corrupt files (see guard.c). */
#ifndef GUARD_H
#define GUARD_H

#include <stddef.h>

#define GUARD_ERRLEN 512

/* Seconds an armed HDF5 call may take (default 120; 0 disables). Past it
 * the process prints "gradcam-study: FILE: DATASET: the HDF5 library did not
 * return within the time limit ..." and exits with status 1. */
void guard_set_timeout(unsigned seconds);
void guard_arm(const char *path, const char *what);
void guard_disarm(void);

/* The dataset now being read (for the watchdog's message and the probe). */
void guard_note(const char *what);

/* Probe files in a forked child first (default on). */
void guard_set_isolation(int on);
int guard_isolation(void);

/* Run open_fn(path) in a forked child (stderr to /dev/null, no watchdog:
 * the parent keeps the time). 0: it returned 0; -1: refused, err set to the
 * child's own message, or to "PATH: DATASET: the HDF5 library crashed ..."
 * / "... did not return within N s" naming the last dataset noted. When no
 * child can be made, returns 0 (the caller then reads in this process). */
typedef int (*guard_open_fn)(const char *path, char *err, size_t errlen);
int guard_probe(const char *path, guard_open_fn open_fn, char *err, size_t errlen);

#endif
