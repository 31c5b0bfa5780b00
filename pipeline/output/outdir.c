/* outdir.c: an output directory shows the previous complete run or the new
 * complete run, never a mix, whatever moment the process is killed.
 *
 * DESIGN
 * All outputs are written into a staging directory ".NAME.staging-PID" next
 * to OUTDIR (same parent, so the same file system). On success od_commit
 * fsyncs every file and the staging directory, hard-links into staging any
 * regular file of the old OUTDIR that this run does not replace (so a user's
 * files survive), and then swaps the two directories with one
 * renameat2(RENAME_EXCHANGE) system call, or renames staging into place when
 * OUTDIR did not exist yet. Only then is the old tree (now under the staging
 * name) deleted. A SIGKILL before the swap leaves OUTDIR untouched (and a
 * stale staging directory beside it, which the next run into the same
 * OUTDIR deletes once its process is gone); after the swap OUTDIR is
 * complete.
 * Sub-directories of an old OUTDIR are moved across just before the swap; a
 * kill in that instant can leave one in the stale staging directory.
 * Where the file system cannot exchange (renameat2 fails with EINVAL or
 * ENOSYS) the fallback renames the old OUTDIR aside first: a kill between
 * the two renames then leaves OUTDIR missing, never mixed.
 * On failure od_abort deletes the staging directory: OUTDIR is as it was,
 * and is not created. Every write, close, fsync and rename is checked.
 *
 * Thread safety: main thread only.
 */
#define _GNU_SOURCE
#include "pipeline/output/outdir.h"

#include "pipeline/common/paths.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Delete a directory holding only files and (recursively) directories. */
static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = path_join(dir, e->d_name);
        if (!p)
            continue;
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_tree(p);
        else
            unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Delete ".BASE.staging-PID" directories in parent whose process is gone. */
static void sweep_stale(const char *parent, const char *base)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    char prefix[PATH_MAX + 16];
    snprintf(prefix, sizeof prefix, ".%s.staging-", base);
    size_t np = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, np) != 0)
            continue;
        char *end;
        long pid = strtol(e->d_name + np, &end, 10);
        if (pid <= 0 || (*end && strncmp(end, ".old-", 5) != 0))
            continue;
        if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue; /* a live run's */
        char *p = path_join(parent, e->d_name);
        if (p)
            rm_tree(p);
        free(p);
    }
    closedir(d);
}

int od_init(od_set *s, const char *dir, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    char parent[PATH_MAX], base[PATH_MAX], real[PATH_MAX];
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len == 0 || len >= sizeof parent) {
        snprintf(err, errlen, "%s: -: not a usable output directory name", dir);
        return -1;
    }
    memcpy(parent, dir, len);
    parent[len] = 0;
    char *slash = strrchr(parent, '/');
    const char *b = slash ? slash + 1 : parent;
    if (!strcmp(b, ".") || !strcmp(b, "..") || !strcmp(parent, "/")) {
        snprintf(err, errlen, "%s: -: name the output directory itself (not . .. or /)", dir);
        return -1;
    }
    snprintf(base, sizeof base, "%s", b);
    if (slash == parent)
        strcpy(parent, "/");
    else if (slash)
        *slash = 0;
    else
        strcpy(parent, ".");
    if (path_mkdirs(parent) != 0 || !realpath(parent, real)) {
        snprintf(err, errlen, "%s: -: cannot create its parent directory: %s", dir,
                 strerror(errno));
        return -1;
    }
    char tmp[2 * PATH_MAX + 64];
    snprintf(tmp, sizeof tmp, "%s/%s", strcmp(real, "/") ? real : "", base);
    s->abs = strdup(tmp);
    snprintf(tmp, sizeof tmp, "%s/.%s.staging-%ld", strcmp(real, "/") ? real : "", base,
             (long)getpid());
    s->staging = strdup(tmp);
    s->dir = strdup(dir);
    if (!s->abs || !s->staging || !s->dir) {
        snprintf(err, errlen, "%s: -: out of memory", dir);
        od_free(s);
        return -1;
    }
    struct stat st;
    if (stat(s->abs, &st) == 0 && !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: -: exists and is not a directory", dir);
        od_free(s);
        return -1;
    }
    sweep_stale(real, base); /* staging directories of killed runs */
    if (mkdir(s->staging, 0777) != 0) {
        snprintf(err, errlen, "%s: -: cannot create a directory beside it: %s", dir,
                 strerror(errno));
        od_free(s);
        return -1;
    }
    return 0;
}

const char *od_add(od_set *s, const char *name, char *err, size_t errlen)
{
    if (s->n >= OD_MAXFILES) {
        snprintf(err, errlen, "%s: %s: too many output files", s->dir, name);
        return NULL;
    }
    s->name[s->n] = strdup(name);
    s->path[s->n] = path_join(s->staging, name);
    if (!s->name[s->n] || !s->path[s->n]) {
        snprintf(err, errlen, "%s: %s: out of memory", s->dir, name);
        return NULL;
    }
    return s->path[s->n++];
}

FILE *od_fopen(od_set *s, const char *name, char *err, size_t errlen)
{
    const char *p = od_add(s, name, err, errlen);
    if (!p)
        return NULL;
    FILE *f = fopen(p, "w");
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
    int e = errno;
    if (fclose(f) != 0)
        bad = 1, e = errno;
    if (bad) {
        snprintf(err, errlen, "%s: -: write failed: %s", what, strerror(e ? e : EIO));
        return -1;
    }
    return 0;
}

static int ours(const od_set *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], name))
            return 1;
    return 0;
}

static int sync_path(const char *p)
{
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Carry the old OUTDIR's other entries into staging. */
static int carry_over(od_set *s, char *err, size_t errlen)
{
    DIR *d = opendir(s->abs);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || ours(s, e->d_name))
            continue;
        char *from = path_join(s->abs, e->d_name), *to = path_join(s->staging, e->d_name);
        struct stat st;
        if (!from || !to || lstat(from, &st) != 0) {
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc = rename(from, to);
        } else if (link(from, to) != 0) {
            rc = -1;
        }
        if (rc != 0)
            snprintf(err, errlen, "%s: %s: cannot carry it over: %s", s->dir, e->d_name,
                     strerror(errno));
        free(from);
        free(to);
    }
    closedir(d);
    return rc;
}

int od_commit(od_set *s, char *err, size_t errlen)
{
    for (int i = 0; i < s->n; i++)
        if (sync_path(s->path[i]) != 0) {
            snprintf(err, errlen, "%s: %s: cannot sync: %s", s->dir, s->name[i], strerror(errno));
            return -1;
        }
    if (carry_over(s, err, errlen) != 0)
        return -1;
    sync_path(s->staging);
    struct stat st;
    if (stat(s->abs, &st) != 0) {
        if (rename(s->staging, s->abs) != 0) {
            snprintf(err, errlen, "%s: -: cannot move the outputs into place: %s", s->dir,
                     strerror(errno));
            return -1;
        }
        /* nothing left to delete under the staging name */
    } else if (renameat2(AT_FDCWD, s->staging, AT_FDCWD, s->abs, RENAME_EXCHANGE) != 0) {
        if (errno != EINVAL && errno != ENOSYS) {
            snprintf(err, errlen, "%s: -: cannot swap the outputs into place: %s", s->dir,
                     strerror(errno));
            return -1;
        }
        char aside[PATH_MAX + 64];
        snprintf(aside, sizeof aside, "%s.old-%ld", s->staging, (long)getpid());
        if (rename(s->abs, aside) != 0 || rename(s->staging, s->abs) != 0) {
            snprintf(err, errlen, "%s: -: cannot move the outputs into place: %s", s->dir,
                     strerror(errno));
            return -1;
        }
        rm_tree(aside);
    }
    char *parent = strdup(s->abs);
    if (parent) {
        char *sl = strrchr(parent, '/');
        if (sl && sl != parent) {
            *sl = 0;
            sync_path(parent); /* best effort: not every file system syncs directories */
        }
        free(parent);
    }
    return 0;
}

void od_abort(od_set *s)
{
    if (s->staging)
        rm_tree(s->staging);
}

void od_free(od_set *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->name[i]);
        free(s->path[i]);
    }
    free(s->dir);
    free(s->abs);
    free(s->staging);
    memset(s, 0, sizeof *s);
}
