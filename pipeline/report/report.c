/* report.c: the `report` command: summary.json -> REPORT.md and figures.
 *
 * DESIGN
 *   gradcam-study report --out REPORT.md --figures DIR [--models DIR] SUMMARY.json
 * 1. Read SUMMARY.json with the strict reader (jsonr) and check it into the
 *    report's model (report_load.c); the "run" block (timings, thread count)
 *    is never read, so the report depends only on the results.
 * 2. Optional training records (--models DIR, DIR/MODEL.json) give the test
 *    mAP; DIR/../MODELS.md, when present, is linked, not parsed.
 * 3. Figures (report_fig.c, gnuplot through a pipe) are rendered to
 *    temporary names in the figures DIR; the Markdown (report_md.c,
 *    report_qa.c, report_qb.c) is built in memory and written to
 *    "REPORT.md.tmp".
 * 4. Only when everything succeeded are the figures renamed into place and
 *    then the report: a failed run leaves no REPORT.md (nor half a figure);
 *    its temporaries are removed. Figures are linked by paths relative to
 *    the report's directory (both directories resolved with realpath).
 * Same inputs, same bytes: nothing depends on the clock, the host or the
 * order of a directory listing.
 * Errors: "gradcam-study: FILE: WHAT: problem" on stderr and status 1;
 * usage errors status 2.
 *
 * Thread safety: main thread only.
 */
#include "pipeline/report/report.h"
#include "pipeline/report/plot.h"
#include "pipeline/report/report_int.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 1024

static const char USAGE[] =
    "usage: gradcam-study report --out REPORT.md --figures DIR [--models DIR] SUMMARY.json\n";

static void help(void)
{
    fputs(USAGE, stdout);
    fputs("\nWrites REPORT.md from the engine's summary.json (gradcam-study run): the five\n"
          "questions of the study, each with tables, figures and rule-based readings.\n\n"
          "  --out REPORT.md   the report (written under a temporary name, then renamed)\n"
          "  --figures DIR     figures as PNG and SVG (gnuplot); created if needed; gallery\n"
          "                    images DIR/gallery-STEM.png, when present, are linked\n"
          "  --models DIR      training records DIR/MODEL.json (test mAP); DIR/../MODELS.md\n"
          "                    is linked when it exists\n\n"
          "exit status: 0 ok, 1 bad input or failed write, 2 bad usage\n",
          stdout);
}

static int usage_error(const char *fmt, const char *arg)
{
    fputs("gradcam-study: report: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n", stderr);
    fputs(USAGE, stderr);
    return 2;
}

void rp_printf(rp_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1 << 16;
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static int mkdirs(const char *dir)
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
            free(p);
            return -1;
        }
        p[i] = c;
    }
    free(p);
    struct stat s;
    return stat(dir, &s) == 0 && S_ISDIR(s.st_mode) ? 0 : -1;
}

/* The directory part of a path ("." when there is none); malloc'd. */
static char *dir_of(const char *path)
{
    const char *sl = strrchr(path, '/');
    if (!sl)
        return strdup(".");
    if (sl == path)
        return strdup("/");
    return strndup(path, (size_t)(sl - path));
}

/* Path of absolute canonical `to` relative to absolute canonical directory
 * `from`, e.g. from /a/b/c to /a/d/e.png -> ../../d/e.png; malloc'd. */
static char *relative(const char *from, const char *to)
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

static int write_file(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
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
        unlink(path);
        return -1;
    }
    return 0;
}

/* Gallery images made by `gradcam-study gallery`: DIR/gallery-STEM.png. */
static int find_galleries(rp_study *st, const char *figdir, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: -: out of memory", figdir);
    for (int i = 0; i < st->n; i++) {
        rp_input *in = &st->in[i];
        /* the stem as `gallery` makes it: base name without ".h5" */
        const char *b = strrchr(in->file, '/');
        b = b ? b + 1 : in->file;
        size_t len = strlen(b);
        if (len > 3 && !strcmp(b + len - 3, ".h5"))
            len -= 3;
        size_t n = strlen(figdir) + len + 32;
        char *p = malloc(n);
        if (!p)
            return -1;
        snprintf(p, n, "%s/gallery-%.*s.png", figdir, (int)len, b);
        struct stat s;
        int there = stat(p, &s) == 0 && S_ISREG(s.st_mode);
        free(p);
        if (!there)
            continue;
        n = strlen(st->fig_link) + len + 32;
        if (!(in->gallery = malloc(n)))
            return -1;
        snprintf(in->gallery, n, "%s/gallery-%.*s.png", st->fig_link, (int)len, b);
    }
    return 0;
}

/* Links from the report's directory: the summary, the figures, MODELS.md. */
static int make_links(rp_study *st, const char *out, const char *figdir, const char *summary,
                      const char *models, char *err, size_t errlen)
{
    char rdir[PATH_MAX], fdir[PATH_MAX], sum[PATH_MAX], md[PATH_MAX];
    char *od = dir_of(out);
    if (!od) {
        snprintf(err, errlen, "%s: -: out of memory", out);
        return -1;
    }
    if (mkdirs(od) != 0 || !realpath(od, rdir)) {
        snprintf(err, errlen, "%s: -: cannot create its directory: %s", out, strerror(errno));
        free(od);
        return -1;
    }
    free(od);
    if (mkdirs(figdir) != 0 || !realpath(figdir, fdir)) {
        snprintf(err, errlen, "%s: -: cannot create the figures directory: %s", figdir,
                 strerror(errno));
        return -1;
    }
    if (!realpath(summary, sum)) {
        snprintf(err, errlen, "%s: -: cannot resolve its path: %s", summary, strerror(errno));
        return -1;
    }
    if (!(st->fig_link = relative(rdir, fdir)) || !(st->summary_link = relative(rdir, sum))) {
        snprintf(err, errlen, "%s: -: out of memory", out);
        return -1;
    }
    if (models) {
        size_t n = strlen(models) + 16;
        char *p = malloc(n);
        if (!p) {
            snprintf(err, errlen, "%s: -: out of memory", out);
            return -1;
        }
        snprintf(p, n, "%s/../MODELS.md", models);
        struct stat s;
        if (stat(p, &s) == 0 && S_ISREG(s.st_mode) && realpath(p, md) &&
            !(st->models_md_link = relative(rdir, md))) {
            free(p);
            snprintf(err, errlen, "%s: -: out of memory", out);
            return -1;
        }
        free(p);
    }
    return 0;
}

static int run_report(const char *out, const char *figdir, const char *models,
                      const char *summary)
{
    char err[ERRLEN];
    rp_study st;
    rp_figs figs;
    rp_buf md = {NULL, 0, 0, 0};
    char *tmp = NULL;
    int rc = 1, nfigs_committed = 0;
    memset(&st, 0, sizeof st);
    memset(&figs, 0, sizeof figs);

    jr_val *doc = jr_parse_file(summary, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "gradcam-study: %s: %s\n", summary, err);
        return 1;
    }
    if (rp_load(&st, doc, err, sizeof err) < 0) {
        fprintf(stderr, "gradcam-study: %s: %s\n", summary, err);
        rp_free(&st);
        return 1;
    }
    if (models && rp_load_models(&st, models) < 0) {
        fprintf(stderr, "gradcam-study: %s: -: out of memory\n", models);
        rp_free(&st);
        return 1;
    }
    if (make_links(&st, out, figdir, summary, models, err, sizeof err) < 0 ||
        find_galleries(&st, figdir, err, sizeof err) < 0) {
        fprintf(stderr, "gradcam-study: %s\n", err);
        rp_free(&st);
        return 1;
    }
    size_t n = strlen(out) + 8;
    if (!(tmp = malloc(n))) {
        fprintf(stderr, "gradcam-study: %s: -: out of memory\n", out);
        goto done;
    }
    snprintf(tmp, n, "%s.tmp", out);
    if (rp_figures(&figs, &st, figdir, err, sizeof err) < 0)
        goto fail;
    if (rp_write_markdown(&md, &st) < 0 || md.oom) {
        snprintf(err, sizeof err, "%s: -: out of memory", out);
        goto fail;
    }
    if (write_file(tmp, md.s, md.len, err, sizeof err) < 0)
        goto fail;
    for (; nfigs_committed < figs.n; nfigs_committed++)
        if (plot_commit(figdir, figs.name[nfigs_committed], err, sizeof err) < 0)
            goto fail;
    if (rename(tmp, out) != 0) {
        snprintf(err, sizeof err, "%s: -: cannot rename %s into place: %s", out, tmp,
                 strerror(errno));
        goto fail;
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "gradcam-study: %s\n", err);
    for (int i = nfigs_committed; i < figs.n; i++)
        plot_discard(figdir, figs.name[i]);
    if (tmp)
        unlink(tmp);
done:
    for (int i = 0; i < figs.n; i++)
        free(figs.name[i]);
    free(md.s);
    free(tmp);
    rp_free(&st);
    return rc;
}

int report_main(int argc, char **argv)
{
    const char *out = NULL, *figdir = NULL, *models = NULL, *summary = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help();
            return 0;
        } else if ((!strcmp(a, "--out") || !strcmp(a, "-o")) && has_val) {
            out = argv[++i];
        } else if (!strcmp(a, "--figures") && has_val) {
            figdir = argv[++i];
        } else if (!strcmp(a, "--models") && has_val) {
            models = argv[++i];
        } else if (a[0] == '-' && a[1] != 0) {
            return usage_error("unknown or incomplete option '%s'", a);
        } else if (summary) {
            return usage_error("one SUMMARY.json only (a second: '%s')", a);
        } else {
            summary = a;
        }
    }
    if (!out || !out[0])
        return usage_error("needs --out REPORT.md%s", "");
    if (!figdir || !figdir[0])
        return usage_error("needs --figures DIR%s", "");
    if (!summary)
        return usage_error("needs a SUMMARY.json%s", "");
    size_t ol = strlen(out);
    if (out[ol - 1] == '/')
        return usage_error("--out names a file, not a directory: '%s'", out);
    return run_report(out, figdir, models, summary);
}
