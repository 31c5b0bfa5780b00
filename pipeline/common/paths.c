/* paths.c: file names and directories (see paths.h).
 *
 * DESIGN
 * Pure string work except path_mkdirs and path_write_atomic, which touch the
 * file system. Every function allocates its result or writes into the
 * caller's buffer; nothing is static, so all are thread-safe.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/common/paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

char *path_join3(const char *a, const char *b, const char *suffix)
{
    size_t n = strlen(a) + strlen(b) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", a, b, suffix);
    return p;
}

char *path_join(const char *a, const char *b)
{
    return path_join3(a, b, "");
}

const char *path_base(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

char *path_dir(const char *p)
{
    const char *sl = strrchr(p, '/');
    if (!sl)
        return strdup(".");
    if (sl == p)
        return strdup("/");
    return strndup(p, (size_t)(sl - p));
}

void path_stem(const char *p, char *out, size_t n)
{
    snprintf(out, n, "%s", path_base(p));
    size_t len = strlen(out);
    if (len > 3 && !strcmp(out + len - 3, ".h5"))
        out[len - 3] = 0;
}

char *path_relative(const char *from, const char *to)
{
    /* skip the common whole components */
    const char *f = from, *t = to;
    for (;;) {
        while (*f == '/')
            f++;
        while (*t == '/')
            t++;
        size_t nf = strcspn(f, "/"), nt = strcspn(t, "/");
        if (!nf || nf != nt || strncmp(f, t, nf) != 0)
            break;
        f += nf;
        t += nt;
    }
    int ups = 0;
    for (const char *q = f; *q;) {
        while (*q == '/')
            q++;
        if (!*q)
            break;
        ups++;
        q += strcspn(q, "/");
    }
    size_t n = (size_t)ups * 3 + strlen(t) + 2;
    char *o = malloc(n), *w = o;
    if (!o)
        return NULL;
    for (int k = 0; k < ups; k++) {
        memcpy(w, "../", 3);
        w += 3;
    }
    strcpy(w, t);
    size_t len = strlen(o);
    while (len > 0 && o[len - 1] == '/')
        o[--len] = 0;
    if (!o[0])
        strcpy(o, ".");
    return o;
}

int path_mkdirs(const char *dir)
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
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            errno = e;
            return -1;
        }
        p[i] = c;
    }
    free(p);
    struct stat s;
    if (stat(dir, &s) != 0)
        return -1;
    if (!S_ISDIR(s.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int path_stage(const char *path, const char *text, size_t len, char *tmp, size_t tmplen,
               char *err, size_t errlen)
{
    if ((size_t)snprintf(tmp, tmplen, "%s.tmp%ld", path, (long)getpid()) >= tmplen) {
        snprintf(err, errlen, "%s: -: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: -: cannot create: %s", path, strerror(errno));
        return -1;
    }
    int bad = (len && fwrite(text, 1, len, f) != len) || fflush(f) != 0 ||
              (fsync(fileno(f)) != 0 && errno != EINVAL);
    int e = errno;
    if (fclose(f) != 0 && !bad)
        bad = 1, e = errno;
    if (bad) {
        snprintf(err, errlen, "%s: -: write failed: %s", path, strerror(e ? e : EIO));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int path_commit(const char *tmp, const char *path, char *err, size_t errlen)
{
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: -: cannot rename %s into place: %s", path, tmp,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int path_write_atomic(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    char tmp[4096];
    if (path_stage(path, text, len, tmp, sizeof tmp, err, errlen) < 0)
        return -1;
    return path_commit(tmp, path, err, errlen);
}
