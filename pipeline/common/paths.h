/* paths.h: file names and directories: the one place the tree joins, splits and creates them. */
#ifndef PATHS_H
#define PATHS_H

#include <stddef.h>

/* "a/b" in a new allocation (free it), or NULL when out of memory. */
char *path_join(const char *a, const char *b);

/* a + "/" + b + suffix in a new allocation, or NULL. */
char *path_join3(const char *a, const char *b, const char *suffix);

/* The part after the last '/' (p itself when there is none); points into p. */
const char *path_base(const char *p);

/* The directory part ("." when there is none, "/" for a file in the root);
 * a new allocation, or NULL. */
char *path_dir(const char *p);

/* The base name without a trailing ".h5", into out[n] (truncated to fit). */
void path_stem(const char *p, char *out, size_t n);

/* Path of absolute canonical `to` relative to the absolute canonical
 * directory `from`, e.g. from /a/b/c to /a/d/e.png -> ../../d/e.png;
 * a new allocation, or NULL. */
char *path_relative(const char *from, const char *to);

/* mkdir -p: dir and every missing parent (mode 0777 before the umask).
 * 0 when dir then exists as a directory, else -1 with errno set. */
int path_mkdirs(const char *dir);

/* Write text[0..len) to path all or nothing: into a temporary sibling
 * (path.tmpPID), flushed and fsync'd, then renamed over path. 0, or -1 with
 * "PATH: -: problem" in err and no temporary left. The single-file twin of
 * output/outdir.c's staging directory (which a set of files needs). */
int path_write_atomic(const char *path, const char *text, size_t len, char *err, size_t errlen);

/* The two halves, for a caller that commits other files in between:
 * path_stage writes the temporary (its name into tmp[tmplen]), path_commit
 * renames it over path (removing it on failure). 0 or -1 with err set. */
int path_stage(const char *path, const char *text, size_t len, char *tmp, size_t tmplen,
               char *err, size_t errlen);
int path_commit(const char *tmp, const char *path, char *err, size_t errlen);

#endif
