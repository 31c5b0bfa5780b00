/* outdir.h: all-or-nothing output directories. */
#ifndef OUTDIR_H
#define OUTDIR_H

#include <stddef.h>
#include <stdio.h>

#define OD_MAXFILES 64

typedef struct {
    char *dir;      /* OUTDIR as given */
    char *abs;      /* its absolute path */
    char *staging;  /* sibling directory the outputs are written into */
    int n;
    char *name[OD_MAXFILES];
    char *path[OD_MAXFILES]; /* staging/name */
} od_set;

/* Prepare a run writing into dir: create dir's parent if needed and a fresh
 * staging directory next to dir. dir itself is not touched until od_commit.
 * 0, or -1 with err set. */
int od_init(od_set *s, const char *dir, char *err, size_t errlen);

/* Register output `name`; returns the path to write it to (owned by s). */
const char *od_add(od_set *s, const char *name, char *err, size_t errlen);

/* od_add + fopen(path, "w"). */
FILE *od_fopen(od_set *s, const char *name, char *err, size_t errlen);

/* Close a stdio output, checking that every buffered write reached the disk. */
int od_fclose(FILE *f, const char *what, char *err, size_t errlen);

/* fsync everything and swap the staging directory in as dir, atomically
 * (renameat2 RENAME_EXCHANGE). Files of dir that this run did not write are
 * carried over. 0, or -1 with err set (dir then unchanged). */
int od_commit(od_set *s, char *err, size_t errlen);

/* Remove the staging directory (after a failure, or what is left after
 * od_commit), then free everything. */
void od_abort(od_set *s);
void od_free(od_set *s);

#endif
