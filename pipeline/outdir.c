/* outdir.c: outputs appear complete or not at all.
 *
 * DESIGN
 * Every output is registered here and written under a temporary name
 * ".NAME.tmp.PID" in OUTDIR. Only when the whole run has succeeded does
 * od_commit fsync each file and rename it over its final name, in
 * registration order (the caller registers summary.json last, so a reader
 * that sees a new summary sees new companions). On any failure od_abort
 * unlinks the temporaries and removes the directories od_init created,
 * leaving the file system as it was. Every fclose, fflush,
 * fsync and rename result is checked: a full disk is an error, not a
 * truncated file.
 *
 * Thread safety: used from the main thread only.
 */
#define _POSIX_C_SOURCE 200809L
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* mkdir -p, remembering each directory it creates. */
static int mkdirs(od_set *s, const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return -1;
    size_t len = strlen(p);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0777) == 0) {
            if (s->ncreated < OD_MAXFILES)
                s->created[s->ncreated++] = strdup(p);
        } else if (errno != EEXIST) {
            free(p);
            return -1;
        }
        p[i] = c;
    }
    free(p);
    return 0;
}

int od_init(od_set *s, const char *dir, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    if (mkdirs(s, dir) != 0 || stat(dir, &st) != 0) {
        snprintf(err, errlen, "%s: -: cannot create output directory: %s", dir, strerror(errno));
        goto bad;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: -: not a directory", dir);
        goto bad;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        snprintf(err, errlen, "%s: -: output directory is not writable: %s", dir,
                 strerror(errno));
        goto bad;
    }
    s->dir = strdup(dir);
    if (!s->dir) {
        snprintf(err, errlen, "%s: -: out of memory", dir);
        goto bad;
    }
    return 0;
bad:
    od_abort(s);
    od_free(s);
    return -1;
}

const char *od_add(od_set *s, const char *name, char *err, size_t errlen)
{
    char tname[256];
    if (s->n >= OD_MAXFILES) {
        snprintf(err, errlen, "%s: %s: too many output files", s->dir, name);
        return NULL;
    }
    snprintf(tname, sizeof tname, ".%s.tmp.%ld", name, (long)getpid());
    s->final[s->n] = path_join(s->dir, name);
    s->tmp[s->n] = path_join(s->dir, tname);
    if (!s->final[s->n] || !s->tmp[s->n]) {
        snprintf(err, errlen, "%s: %s: out of memory", s->dir, name);
        return NULL;
    }
    return s->tmp[s->n++];
}

FILE *od_fopen(od_set *s, const char *name, char *err, size_t errlen)
{
    const char *t = od_add(s, name, err, errlen);
    if (!t)
        return NULL;
    FILE *f = fopen(t, "w");
    if (!f)
        snprintf(err, errlen, "%s: %s: cannot create: %s", s->dir, name, strerror(errno));
    return f;
}

int od_fclose(FILE *f, const char *what, char *err, size_t errlen)
{
    int bad = ferror(f);
    if (fflush(f) != 0)
        bad = 1;
    if (fsync(fileno(f)) != 0 && errno != EINVAL)
        bad = 1;
    if (fclose(f) != 0)
        bad = 1;
    if (bad) {
        snprintf(err, errlen, "%s: -: write failed: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

int od_commit(od_set *s, char *err, size_t errlen)
{
    for (int i = 0; i < s->n; i++) {
        int fd = open(s->tmp[i], O_RDONLY);
        if (fd < 0 || fsync(fd) != 0) {
            snprintf(err, errlen, "%s: -: cannot sync: %s", s->tmp[i], strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    for (int i = 0; i < s->n; i++) {
        if (rename(s->tmp[i], s->final[i]) != 0) {
            snprintf(err, errlen, "%s: -: cannot rename into place: %s", s->final[i],
                     strerror(errno));
            return -1;
        }
        free(s->tmp[i]);
        s->tmp[i] = NULL;
    }
    int dfd = open(s->dir, O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: not every file system syncs directories */
        close(dfd);
    }
    return 0;
}

void od_abort(od_set *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->tmp[i])
            unlink(s->tmp[i]);
    for (int i = s->ncreated - 1; i >= 0; i--)
        if (s->created[i])
            rmdir(s->created[i]); /* only if empty: never removes anything else */
}

void od_free(od_set *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->tmp[i]);
        free(s->final[i]);
    }
    for (int i = 0; i < s->ncreated; i++)
        free(s->created[i]);
    free(s->dir);
    memset(s, 0, sizeof *s);
}
