/* report.c: the `report` command: summary.json -> REPORT.md and figures.
 *
 * DESIGN
 *   gradcam-study report --out REPORT.md --figures DIR [--models DIR] SUMMARY.json
 * 1. Read SUMMARY.json through its owner (output/summary.c: jansson,
 *    strict) and check it into the report's model (model.c); the "run"
 *    block (timings, thread count) is never read, so the report depends
 *    only on the results.
 * 2. Optional training records (--models DIR, DIR/MODEL.json) give the test
 *    mAP; DIR/../MODELS.md, when present, is linked, not parsed.
 * 3. Figures (figures.c, gnuplot through a pipe: plot.c) are rendered to
 *    temporary names in the figures DIR; the Markdown (frame.c and the
 *    question files) is written into an open_memstream(3) buffer and staged
 *    as a temporary beside REPORT.md (common/paths.h).
 * 4. Only when everything succeeded are the figures renamed into place and
 *    then the report: a failed run leaves no REPORT.md (nor half a figure);
 *    its temporaries are removed. Figures are linked by paths relative to
 *    the report's directory (both directories resolved with realpath).
 * Same inputs, same bytes: nothing depends on the clock, the host or the
 * order of a directory listing.
 * Errors: "gradcam-study: FILE: WHERE: problem" on stderr and status 1;
 * usage errors "gradcam-study: report: OPTION: problem" and the usage line,
 * status 2.
 *
 * Thread safety: main thread only (getopt, gnuplot).
 */
#include "pipeline/report/report.h"

#include "pipeline/common/paths.h"
#include "pipeline/output/summary.h"
#include "pipeline/report/figures.h"
#include "pipeline/report/frame.h"
#include "pipeline/report/model.h"
#include "pipeline/report/plot.h"
#include "pipeline/report/q6.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
    fputs("\nWrites REPORT.md from the engine's summary.json (gradcam-study run): the six\n"
          "questions of the study (the answer in brief first, then each question with\n"
          "tables, figures and rule-based readings; Question 6 from the `causal` block).\n\n"
          "  -o, --out REPORT.md  the report (written under a temporary name, then renamed)\n"
          "  --figures DIR        figures as PNG and SVG (gnuplot); created if needed; gallery\n"
          "                       images DIR/gallery-STEM.png, when present, are linked\n"
          "  --models DIR         training records DIR/MODEL.json (test mAP); DIR/../MODELS.md\n"
          "                       is linked when it exists\n"
          "  -h, --help           this text\n\n"
          "exit status: 0 ok, 1 bad input or failed write, 2 bad usage\n",
          stdout);
}

/* "gradcam-study: report: WHAT: problem" and the usage line; status 2. */
static int usage_error(const char *what, const char *problem)
{
    fprintf(stderr, "gradcam-study: report: %s: %s\n%s", what, problem, USAGE);
    return 2;
}

/* Gallery images made by `gradcam-study gallery`: DIR/gallery-STEM.png. */
static int find_galleries(rp_study *st, const char *figdir, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: -: out of memory", figdir);
    for (int i = 0; i < st->n; i++) {
        rp_input *in = &st->in[i];
        /* the stem as `gallery` makes it: base name without ".h5" */
        char name[PATH_MAX];
        snprintf(name, sizeof name, "gallery-");
        path_stem(in->file, name + 8, sizeof name - 8);
        char *p = path_join3(figdir, name, ".png");
        if (!p)
            return -1;
        struct stat s;
        int there = stat(p, &s) == 0 && S_ISREG(s.st_mode);
        free(p);
        if (there && !(in->gallery = path_join3(st->fig_link, name, ".png")))
            return -1;
    }
    return 0;
}

/* Links from the report's directory: the summary, the figures, MODELS.md. */
static int make_links(rp_study *st, const char *out, const char *figdir, const char *summary,
                      const char *models, char *err, size_t errlen)
{
    char rdir[PATH_MAX], fdir[PATH_MAX], sum[PATH_MAX], md[PATH_MAX];
    char *od = path_dir(out);
    if (!od) {
        snprintf(err, errlen, "%s: -: out of memory", out);
        return -1;
    }
    if (path_mkdirs(od) != 0 || !realpath(od, rdir)) {
        snprintf(err, errlen, "%s: -: cannot create its directory: %s", out, strerror(errno));
        free(od);
        return -1;
    }
    free(od);
    if (path_mkdirs(figdir) != 0 || !realpath(figdir, fdir)) {
        snprintf(err, errlen, "%s: -: cannot create the figures directory: %s", figdir,
                 strerror(errno));
        return -1;
    }
    if (!realpath(summary, sum)) {
        snprintf(err, errlen, "%s: -: cannot resolve its path: %s", summary, strerror(errno));
        return -1;
    }
    if (!(st->fig_link = path_relative(rdir, fdir)) ||
        !(st->summary_link = path_relative(rdir, sum))) {
        snprintf(err, errlen, "%s: -: out of memory", out);
        return -1;
    }
    if (models) {
        char *p = path_join(models, "../MODELS.md");
        if (!p) {
            snprintf(err, errlen, "%s: -: out of memory", out);
            return -1;
        }
        struct stat s;
        if (stat(p, &s) == 0 && S_ISREG(s.st_mode) && realpath(p, md) &&
            !(st->models_md_link = path_relative(rdir, md))) {
            free(p);
            snprintf(err, errlen, "%s: -: out of memory", out);
            return -1;
        }
        free(p);
    }
    return 0;
}

/* Figures, then the Markdown, then everything committed; a failure
 * discards what was not committed. 0 or 1 (message printed). */
static int write_all(rp_study *st, const char *out, const char *figdir)
{
    char err[ERRLEN], tmp[PATH_MAX + 32];
    rp_figs figs;
    char *text = NULL;
    size_t len = 0;
    int rc = 1, committed = 0, staged = 0;
    memset(&figs, 0, sizeof figs);
    if (rp_figures(&figs, st, figdir, err, sizeof err) < 0 ||
        rp_q6_figures(&figs, st, figdir, err, sizeof err) < 0)
        goto fail;
    FILE *md = open_memstream(&text, &len);
    int bad = !md || rp_write_markdown(md, st) < 0;
    if (md && fclose(md) != 0)
        bad = 1;
    if (bad) {
        snprintf(err, sizeof err, "%s: -: out of memory", out);
        goto fail;
    }
    if (path_stage(out, text, len, tmp, sizeof tmp, err, sizeof err) < 0)
        goto fail;
    staged = 1;
    for (; committed < figs.n; committed++)
        if (plot_commit(figdir, figs.name[committed], err, sizeof err) < 0)
            goto fail;
    staged = 0;  /* path_commit removes the temporary itself on failure */
    if (path_commit(tmp, out, err, sizeof err) < 0)
        goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "gradcam-study: %s\n", err);
    for (int i = committed; i < figs.n; i++)
        plot_discard(figdir, figs.name[i]);
    if (staged)
        unlink(tmp);
done:
    for (int i = 0; i < figs.n; i++)
        free(figs.name[i]);
    free(text);
    return rc;
}

static int run_report(const char *out, const char *figdir, const char *models,
                      const char *summary)
{
    char err[ERRLEN];
    rp_study st;
    memset(&st, 0, sizeof st);
    int rc = 1;
    json_t *doc = sum_read(summary, err, sizeof err);
    if (!doc || rp_load(&st, doc, summary, err, sizeof err) < 0) {
        fprintf(stderr, "gradcam-study: %s\n", err);
    } else if (models && rp_load_models(&st, models) < 0) {
        fprintf(stderr, "gradcam-study: %s: -: out of memory\n", models);
    } else if (make_links(&st, out, figdir, summary, models, err, sizeof err) < 0 ||
               find_galleries(&st, figdir, err, sizeof err) < 0) {
        fprintf(stderr, "gradcam-study: %s\n", err);
    } else {
        rc = write_all(&st, out, figdir);
    }
    rp_free(&st);
    return rc;
}

int report_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"out", required_argument, NULL, 'o'},
        {"figures", required_argument, NULL, 'F'},
        {"models", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0}};
    const char *out = NULL, *figdir = NULL, *models = NULL;
    char opt[8];
    int c;
    opterr = 0;
    optind = 0;  /* a fresh scan (GNU getopt) */
    while ((c = getopt_long(argc, argv, ":ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            help();
            return 0;
        case 'o':
            out = optarg;
            break;
        case 'F':
            figdir = optarg;
            break;
        case 'M':
            models = optarg;
            break;
        case ':':
            return usage_error(argv[optind - 1], "needs a value");
        default:
            snprintf(opt, sizeof opt, "-%c", optopt);
            return usage_error(optopt ? opt : argv[optind - 1], "unknown option");
        }
    }
    if (!out || !out[0])
        return usage_error("--out", "missing (the report to write)");
    if (!figdir || !figdir[0])
        return usage_error("--figures", "missing (the folder of the figures)");
    if (optind >= argc)
        return usage_error("SUMMARY.json", "missing");
    if (optind + 1 < argc)
        return usage_error(argv[optind + 1], "one SUMMARY.json only");
    if (out[strlen(out) - 1] == '/')
        return usage_error(out, "--out names a file, not a directory");
    return run_report(out, figdir, models, argv[optind]);
}
