/* outdir.h: all-or-nothing output files in one directory. */
#ifndef OUTDIR_H
#define OUTDIR_H

#include <stddef.h>
#include <stdio.h>

#define OD_MAXFILES 64

typedef struct {
    char *dir;
    int n;
    char *final[OD_MAXFILES];
    char *tmp[OD_MAXFILES];
    int ncreated;             /* directories od_init created, removed again by od_abort */
    char *created[OD_MAXFILES];
} od_set;

/* Create dir (and parents) if needed and check it is a writable directory. */
int od_init(od_set *s, const char *dir, char *err, size_t errlen);

/* Register output `name` and return the temporary path it must be written
 * to (owned by s), or NULL with err set. */
const char *od_add(od_set *s, const char *name, char *err, size_t errlen);

/* Open a registered temporary path for writing (stdio). */
FILE *od_fopen(od_set *s, const char *name, char *err, size_t errlen);

/* Close a stdio output, checking every buffered write reached the disk. */
int od_fclose(FILE *f, const char *what, char *err, size_t errlen);

/* fsync and rename every temporary file to its final name; summary last. */
int od_commit(od_set *s, char *err, size_t errlen);

/* Remove every temporary file and the directories od_init created (a failed
 * run leaves no trace); safe after od_commit. od_free frees everything. */
void od_abort(od_set *s);
void od_free(od_set *s);

#endif
