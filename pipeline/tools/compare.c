/* compare.c: is today's run worse than yesterday's?
 *
 * DESIGN
 * `compare BASE NEW` reads BASE/summary.json and NEW/summary.json through
 * their owner (output/summary.c: strict, schema and inputs checked), pairs
 * their inputs (same file name and same model/layer/activation/dataset
 * attributes), and for every variant present in both compares the headline
 * metrics: BoxAcc, MaxBoxAcc, MaxBoxAccV2 (both norms), pointing, energy and
 * the two evidence enrichments. The yardstick is the BASE run's own 95%
 * interval, widened by --tolerance (absolute, default 0):
 *   inside                      -> ok
 *   below, for an accuracy      -> worse   (a regression)
 *   above, for an accuracy      -> better  (not a regression)
 *   outside, for an enrichment  -> changed (a regression: the study's answer moved)
 * Without intervals (a run with --bootstrap 0) the yardstick is the base
 * value +- tolerance. Inputs whose sha256 differ are compared all the same
 * and flagged. Exit 0: nothing regressed; 1: something did; 2: error.
 * `--history FILE.csv` appends one row per metric of the NEW run (date,
 * input, checksum, version, variant, metric, value, interval) and
 * `--trend PNG-BASENAME` draws the history of Grad-CAM's headline metrics.
 *
 * Metrics a variant lacks are skipped, not errors (an older or narrower
 * run); a missing "variants" object is an error naming its path.
 * Options with getopt_long; usage errors "gradcam-study: compare: OPTION:
 * problem" and the usage, exit 2.
 *
 * Thread safety: single-threaded command (getopt).
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/tools/compare.h"

#include "pipeline/common/csvfield.h"
#include "pipeline/common/paths.h"
#include "pipeline/output/summary.h"
#include "pipeline/report/plot.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char USAGE[] =
    "usage: gradcam-study compare BASE_OUTDIR NEW_OUTDIR [--tolerance X]\n"
    "                             [--history FILE.csv] [--trend DIR/NAME]\n";

typedef struct {
    const char *key, *sub; /* value at v[key][sub] (sub may be NULL), ci at v[key_ci95][sub] */
    const char *label;
    int accuracy;          /* higher is better */
} metric_def;

static const metric_def METRICS[] = {
    {"boxacc", "max", "boxacc/max", 1},
    {"boxacc", "minmax", "boxacc/minmax", 1},
    {"maxboxacc", "max", "maxboxacc/max", 1},
    {"maxboxacc", "minmax", "maxboxacc/minmax", 1},
    {"maxboxacc_v2", "max", "maxboxacc_v2/max", 1},
    {"maxboxacc_v2", "minmax", "maxboxacc_v2/minmax", 1},
    {"pointing", NULL, "pointing", 1},
    {"energy", NULL, "energy", 1},
    {"neg_enrichment", NULL, "neg_enrichment", 0},
    {"pos_enrichment", NULL, "pos_enrichment", 0},
};
#define NMETRIC ((int)(sizeof METRICS / sizeof METRICS[0]))

static const char *str_at(const json_t *v, const char *k)
{
    return json_string_value(json_object_get(v, k));  /* NULL when absent or not a string */
}

/* Value and interval of metric m in variant object var; 0 ok, -1 absent. */
static int metric_of(const json_t *var, const metric_def *m, double *val, double ci[2],
                     int *has_ci)
{
    const json_t *holder = var;
    if (!strcmp(m->key, "neg_enrichment") || !strcmp(m->key, "pos_enrichment"))
        holder = json_object_get(var, "evidence");
    json_t *x = json_object_get(holder, m->key);
    if (m->sub)
        x = json_object_get(x, m->sub);
    if (!json_is_number(x))
        return -1;
    *val = json_number_value(x);
    char ck[64];
    snprintf(ck, sizeof ck, "%s_ci95", m->key);
    json_t *c = json_object_get(holder, ck);
    if (m->sub)
        c = json_object_get(c, m->sub);
    *has_ci = json_array_size(c) == 2 && json_is_number(json_array_get(c, 0)) &&
              json_is_number(json_array_get(c, 1));
    if (*has_ci) {
        ci[0] = json_number_value(json_array_get(c, 0));
        ci[1] = json_number_value(json_array_get(c, 1));
    }
    return 0;
}

/* The same input: file name and the four attributes. */
static int same_input(const json_t *a, const json_t *b)
{
    const char *fa = str_at(a, "file"), *fb = str_at(b, "file");
    if (!fa || !fb || strcmp(path_base(fa), path_base(fb)) != 0)
        return 0;
    static const char *const keys[4] = {"model", "layer", "activation", "dataset"};
    const json_t *aa = json_object_get(a, "attributes"), *ab = json_object_get(b, "attributes");
    for (int i = 0; i < 4; i++) {
        const char *x = str_at(aa, keys[i]), *y = str_at(ab, keys[i]);
        if (!x || !y || strcmp(x, y) != 0)
            return 0;
    }
    return 1;
}

static const char *sha_of(const json_t *in)
{
    return str_at(json_object_get(in, "provenance"), "sha256");
}

static int append_history(const char *path, const json_t *root, const json_t *inputs,
                          char *err, size_t n)
{
    struct stat st;
    int fresh = stat(path, &st) != 0 || st.st_size == 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        snprintf(err, n, "%s: -: cannot append: %s", path, strerror(errno));
        return -1;
    }
    const json_t *run = json_object_get(root, "run");
    const char *date = str_at(run, "date_utc"), *ver = str_at(run, "version");
    if (fresh)
        fputs("date_utc,input,sha256,version,variant,metric,value,ci_lo,ci_hi\n", f);
    for (size_t i = 0; i < json_array_size(inputs); i++) {
        const json_t *in = json_array_get(inputs, i);
        const char *file = str_at(in, "file"), *sha = sha_of(in), *vname;
        json_t *var;
        json_object_foreach(json_object_get(in, "variants"), vname, var)  /* the file's order */
            for (int k = 0; k < NMETRIC; k++) {
                double val, ci[2];
                int has;
                if (metric_of(var, &METRICS[k], &val, ci, &has) < 0)
                    continue;
                csv_put(f, date ? date : "", 0);
                fputc(',', f);
                csv_put(f, file ? path_base(file) : "", 0);
                fprintf(f, ",%s,", sha ? sha : "");
                csv_put(f, ver ? ver : "", 0);
                fputc(',', f);
                csv_put(f, vname, 0);
                fprintf(f, ",%s,%.10g", METRICS[k].label, val);
                if (has)
                    fprintf(f, ",%.10g,%.10g\n", ci[0], ci[1]);
                else
                    fputs(",,\n", f);
            }
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, n, "%s: -: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Trend: Grad-CAM's BoxAcc (max), pointing and energy per input over the
 * history's runs (x = run number in the file's order). */
static int draw_trend(const char *hist, const char *target, char *err, size_t n)
{
    const char *name = path_base(target);
    char *dir = path_dir(target);
    if (!dir) {
        snprintf(err, n, "%s: -: out of memory", target);
        return -1;
    }
    FILE *f = fopen(hist, "r");
    if (!f) {
        snprintf(err, n, "%s: -: cannot read: %s", hist, strerror(errno));
        free(dir);
        return -1;
    }
    plot_fig fig;
    plot_init(&fig, 900, 500, 11);
    static const char *const want[3] = {"boxacc/max", "pointing", "energy"};
    char line[2048], q[512];
    int nseries = 0;
    char series[32][300];
    for (int w = 0; w < 3; w++) {
        rewind(f);
        char prev_date[64] = "";
        int run = 0;
        plot_data(&fig, "$%s << EOD\n", w == 0 ? "box" : w == 1 ? "pt" : "en");
        while (fgets(line, sizeof line, f)) {
            char *fld[9];
            int k = 0;
            char *save = NULL;
            for (char *t = strtok_r(line, ",\n", &save); t && k < 9;
                 t = strtok_r(NULL, ",\n", &save))
                fld[k++] = t;
            if (k < 7 || strcmp(fld[4], "gradcam") != 0 || strcmp(fld[5], want[w]) != 0)
                continue;
            if (strcmp(prev_date, fld[0]) != 0) {
                run++;
                snprintf(prev_date, sizeof prev_date, "%s", fld[0]);
            }
            plot_data(&fig, "%d %s %s\n", run, fld[6], plot_dq(q, sizeof q, fld[1]));
            if (w == 0) {
                int seen = 0;
                for (int s2 = 0; s2 < nseries; s2++)
                    seen |= !strcmp(series[s2], fld[1]);
                if (!seen && nseries < 32)
                    snprintf(series[nseries++], sizeof series[0], "%s", fld[1]);
            }
        }
        plot_data(&fig, "EOD\n");
    }
    fclose(f);
    plot_cmd(&fig, "set multiplot layout 1,3 title 'Grad-CAM over the nightly runs'\n");
    plot_cmd(&fig, "set xlabel 'run (history order)'\nset yrange [0:1]\nset key bottom left\n"
                   "set xtics 1\nset offsets 0.5, 0.5, 0, 0\n");
    static const char *const blk[3] = {"$box", "$pt", "$en"};
    static const char *const ttl[3] = {"BoxAcc (max norm)", "pointing", "energy"};
    for (int w = 0; w < 3; w++) {
        plot_cmd(&fig, "set title '%s'\nset ylabel 'share of targets'\n", ttl[w]);
        plot_cmd(&fig, "plot ");
        for (int s2 = 0; s2 < nseries; s2++)
            plot_cmd(&fig, "%s%s using 1:(strcol(3) eq %s ? $2 : NaN) with linespoints title %s",
                     s2 ? ", " : "", blk[w], plot_sq(q, sizeof q, series[s2]),
                     plot_sq(line, sizeof line, series[s2]));
        if (nseries == 0)
            plot_cmd(&fig, "NaN title 'no history'");
        plot_cmd(&fig, "\n");
    }
    plot_cmd(&fig, "unset multiplot\n");
    int rc = plot_render(&fig, dir, name, err, n);
    if (rc == 0)
        rc = plot_commit(dir, name, err, n);
    plot_free(&fig);
    free(dir);
    return rc;
}

static void help(void)
{
    fputs(USAGE, stdout);
    fputs("\nIs NEW's run worse than BASE's? Reads BASE_OUTDIR/summary.json and\n"
          "NEW_OUTDIR/summary.json, pairs their inputs (file name and attributes) and\n"
          "compares every variant's headline metrics against BASE's 95% interval.\n\n"
          "  --tolerance X        widen the interval by X (absolute, >= 0; default 0)\n"
          "  --history FILE.csv   append one row per metric of the NEW run\n"
          "  --trend DIR/NAME     draw the history as DIR/NAME.png and .svg (needs --history)\n"
          "  -h, --help           this text\n\n"
          "exit status: 0 nothing regressed, 1 something did, 2 bad usage or input\n",
          stdout);
}

/* "gradcam-study: compare: WHAT: problem" and the usage; status 2. */
static int usage_error(const char *what, const char *problem)
{
    fprintf(stderr, "gradcam-study: compare: %s: %s\n%s", what, problem, USAGE);
    return 2;
}

typedef struct {
    int worse, better, changed, total;
} tally;

/* One metric of one variant: a table row, counted in t. */
static void compare_metric(const char *file, const char *vname, const metric_def *m,
                           const json_t *xa, const json_t *xb, double tol, tally *t)
{
    double x0, x1, ci[2], cj[2];
    int h0, h1;
    if (metric_of(xa, m, &x0, ci, &h0) < 0 || metric_of(xb, m, &x1, cj, &h1) < 0)
        return;
    double lo = (h0 ? ci[0] : x0) - tol, hi = (h0 ? ci[1] : x0) + tol;
    const char *st = "ok";
    if (x1 < lo || x1 > hi) {
        if (!m->accuracy) {
            st = "CHANGED";
            t->changed++;
        } else if (x1 < lo) {
            st = "WORSE";
            t->worse++;
        } else {
            st = "better";
            t->better++;
        }
    }
    t->total++;
    char civ[64];
    if (h0)
        snprintf(civ, sizeof civ, "[%.4f, %.4f]", ci[0], ci[1]);
    else
        snprintf(civ, sizeof civ, "(none)");
    printf("%-28.28s %-19s %-20s %10.4f %23s %10.4f %+9.4f  %s\n", file, vname, m->label, x0,
           civ, x1, x1 - x0, st);
}

/* Every input of BASE against its counterpart in NEW; 0, or -1 with err
 * set (an input without counterpart, a missing variants object). */
static int compare_inputs(json_t *const root[2], const char path[2][4200], double tol,
                          tally *t, char *err, size_t errlen)
{
    json_t *in0 = sum_inputs(root[0]), *in1 = sum_inputs(root[1]);
    for (size_t i = 0; i < json_array_size(in0); i++) {
        json_t *a = json_array_get(in0, i), *b = NULL;
        size_t j = 0;
        for (; j < json_array_size(in1) && !b; j++)
            if (same_input(a, json_array_get(in1, j)))
                b = json_array_get(in1, j);
        const char *fa = str_at(a, "file");
        char at[64];
        snprintf(at, sizeof at, "inputs[%zu]", i);
        if (!b) {
            snprintf(err, errlen, "%s: %s: %s has no counterpart in %s", path[0], at,
                     fa ? path_base(fa) : "?", path[1]);
            return -1;
        }
        const char *sa = sha_of(a), *sb = sha_of(b);
        if (sa && sb && strcmp(sa, sb) != 0)
            printf("note: %s: the input files differ (sha256 %.12s... vs %.12s...)\n",
                   path_base(fa), sa, sb);
        sum_ck ca = {path[0], err, errlen, 0}, cb = {path[1], err, errlen, 0};
        json_t *va = sum_obj(&ca, a, at, "variants");
        snprintf(at, sizeof at, "inputs[%zu]", j - 1);
        json_t *vb = ca.failed ? NULL : sum_obj(&cb, b, at, "variants");
        if (ca.failed || cb.failed)
            return -1;
        const char *vname;
        json_t *xa;
        json_object_foreach(va, vname, xa) {
            json_t *xb = json_object_get(vb, vname);
            if (!xb) {
                printf("note: %s: variant %s is not in the new run\n", path_base(fa), vname);
                continue;
            }
            for (int k = 0; k < NMETRIC; k++)
                compare_metric(path_base(fa), vname, &METRICS[k], xa, xb, tol, t);
        }
        json_t *xb;
        json_object_foreach(vb, vname, xb) /* e.g. a base run from before a variant existed */
            if (!json_object_get(va, vname))
                printf("note: %s: variant %s is new (not in the base run): not compared\n",
                       path_base(fa), vname);
    }
    return 0;
}

int compare_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"tolerance", required_argument, NULL, 'T'},
        {"history", required_argument, NULL, 'H'},
        {"trend", required_argument, NULL, 'P'},
        {NULL, 0, NULL, 0}};
    const char *hist = NULL, *trend = NULL;
    double tol = 0.0;
    char opt[8], *end;
    int c;
    opterr = 0;
    optind = 0;  /* a fresh scan (GNU getopt) */
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            help();
            return 0;
        case 'T':
            tol = strtod(optarg, &end);
            if (!optarg[0] || *end || !(tol >= 0) || !isfinite(tol))
                return usage_error("--tolerance", "takes a number >= 0");
            break;
        case 'H':
            hist = optarg;
            break;
        case 'P':
            trend = optarg;
            break;
        case ':':
            return usage_error(argv[optind - 1], "needs a value");
        default:
            snprintf(opt, sizeof opt, "-%c", optopt);
            return usage_error(optopt ? opt : argv[optind - 1], "unknown option");
        }
    }
    if (argc - optind != 2)
        return usage_error(argc - optind < 2 ? "BASE_OUTDIR NEW_OUTDIR" : argv[optind + 2],
                           argc - optind < 2 ? "missing" : "unexpected (two folders only)");
    if (trend && !hist)
        return usage_error("--trend", "needs --history");
    char err[10000], path[2][4200];
    json_t *root[2] = {NULL, NULL};
    int rc = 2;
    tally t = {0, 0, 0, 0};
    for (int k = 0; k < 2; k++) {
        snprintf(path[k], sizeof path[k], "%s/summary.json", argv[optind + k]);
        if (!(root[k] = sum_read(path[k], err, sizeof err)))
            goto out;
    }
    printf("%-28s %-19s %-20s %10s %23s %10s %9s  %s\n", "input", "variant", "metric", "base",
           "base 95% interval", "new", "new-base", "status");
    if (compare_inputs(root, (const char(*)[4200])path, tol, &t, err, sizeof err) < 0)
        goto out;
    printf("compare: %d metrics, %d regressed (%d worse, %d changed), %d better, tolerance %g\n",
           t.total, t.worse + t.changed, t.worse, t.changed, t.better, tol);
    if (hist && append_history(hist, root[1], sum_inputs(root[1]), err, sizeof err) < 0)
        goto out;
    if (trend && draw_trend(hist, trend, err, sizeof err) < 0)
        goto out;
    rc = t.worse + t.changed > 0 ? 1 : 0;
out:
    if (rc == 2)
        fprintf(stderr, "gradcam-study: %s\n", err);
    json_decref(root[0]);
    json_decref(root[1]);
    if (fflush(stdout) != 0 && rc != 2) {
        fprintf(stderr, "gradcam-study: -: cannot write the table\n");
        rc = 2;
    }
    return rc;
}
