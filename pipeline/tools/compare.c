/* compare.c: is today's run worse than yesterday's?
 *
 * DESIGN
 * `compare BASE NEW` reads BASE/summary.json and NEW/summary.json, pairs
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
 * Thread safety: single-threaded command.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/tools/compare.h"

#include "pipeline/output/jsonr.h"
#include "pipeline/report/plot.h"

#include <errno.h>
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

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static const char *str_at(const jr_val *v, const char *k)
{
    const jr_val *x = jr_get(v, k);
    return x && x->type == JR_STR ? x->str : NULL;
}

/* Value and interval of metric m in variant object var; 0 ok, -1 absent. */
static int metric_of(const jr_val *var, const metric_def *m, double *val, double ci[2], int *has_ci)
{
    const jr_val *holder = var;
    if (!strcmp(m->key, "neg_enrichment") || !strcmp(m->key, "pos_enrichment"))
        holder = jr_get(var, "evidence");
    if (!holder)
        return -1;
    const jr_val *x = jr_get(holder, m->key);
    if (x && m->sub)
        x = jr_get(x, m->sub);
    if (!x || x->type != JR_NUM)
        return -1;
    *val = x->num;
    char ck[64];
    snprintf(ck, sizeof ck, "%s_ci95", m->key);
    const jr_val *c = jr_get(holder, ck);
    if (c && m->sub)
        c = jr_get(c, m->sub);
    *has_ci = c && c->type == JR_ARR && c->n == 2 && c->items[0].type == JR_NUM &&
              c->items[1].type == JR_NUM;
    if (*has_ci) {
        ci[0] = c->items[0].num;
        ci[1] = c->items[1].num;
    }
    return 0;
}

static const jr_val *inputs_of(const jr_val *root, const char *path, char *err, size_t n)
{
    const char *schema = str_at(root, "schema");
    if (!schema || strcmp(schema, "gradcam-study-summary/1") != 0) {
        snprintf(err, n, "%s: schema: not a gradcam-study-summary/1 file", path);
        return NULL;
    }
    const jr_val *in = jr_get(root, "inputs");
    if (!in || in->type != JR_ARR) {
        snprintf(err, n, "%s: inputs: missing or not a list", path);
        return NULL;
    }
    return in;
}

/* The same input: file name and the four attributes. */
static int same_input(const jr_val *a, const jr_val *b)
{
    const char *fa = str_at(a, "file"), *fb = str_at(b, "file");
    if (!fa || !fb || strcmp(base_name(fa), base_name(fb)) != 0)
        return 0;
    static const char *const keys[4] = {"model", "layer", "activation", "dataset"};
    const jr_val *aa = jr_get(a, "attributes"), *ab = jr_get(b, "attributes");
    for (int i = 0; i < 4; i++) {
        const char *x = aa ? str_at(aa, keys[i]) : NULL, *y = ab ? str_at(ab, keys[i]) : NULL;
        if (!x || !y || strcmp(x, y) != 0)
            return 0;
    }
    return 1;
}

static const char *sha_of(const jr_val *in)
{
    const jr_val *p = jr_get(in, "provenance");
    return p ? str_at(p, "sha256") : NULL;
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int append_history(const char *path, const jr_val *root, const jr_val *inputs,
                          char *err, size_t n)
{
    struct stat st;
    int fresh = stat(path, &st) != 0 || st.st_size == 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        snprintf(err, n, "%s: -: cannot append: %s", path, strerror(errno));
        return -1;
    }
    const jr_val *run = jr_get(root, "run");
    const char *date = run ? str_at(run, "date_utc") : NULL;
    const char *ver = run ? str_at(run, "version") : NULL;
    if (fresh)
        fputs("date_utc,input,sha256,version,variant,metric,value,ci_lo,ci_hi\n", f);
    for (int i = 0; i < inputs->n; i++) {
        const jr_val *in = &inputs->items[i];
        const jr_val *vars = jr_get(in, "variants");
        const char *file = str_at(in, "file"), *sha = sha_of(in);
        if (!vars || vars->type != JR_OBJ)
            continue;
        for (int v = 0; v < vars->n; v++)
            for (int k = 0; k < NMETRIC; k++) {
                double val, ci[2];
                int has;
                if (metric_of(&vars->items[v], &METRICS[k], &val, ci, &has) < 0)
                    continue;
                csv_field(f, date ? date : "");
                fputc(',', f);
                csv_field(f, file ? base_name(file) : "");
                fprintf(f, ",%s,", sha ? sha : "");
                csv_field(f, ver ? ver : "");
                fputc(',', f);
                csv_field(f, vars->keys[v]);
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
    char dir[4096], name[256];
    const char *sl = strrchr(target, '/');
    if (sl) {
        snprintf(dir, sizeof dir, "%.*s", (int)(sl - target), target);
        snprintf(name, sizeof name, "%s", sl + 1);
    } else {
        snprintf(dir, sizeof dir, ".");
        snprintf(name, sizeof name, "%s", target);
    }
    FILE *f = fopen(hist, "r");
    if (!f) {
        snprintf(err, n, "%s: -: cannot read: %s", hist, strerror(errno));
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
            for (char *t = strtok_r(line, ",\n", &save); t && k < 9; t = strtok_r(NULL, ",\n", &save))
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
    return rc;
}

int compare_main(int argc, char **argv)
{
    const char *dirs[2] = {NULL, NULL}, *hist = NULL, *trend = NULL;
    double tol = 0.0;
    int nd = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--tolerance") && i + 1 < argc) {
            char *end;
            tol = strtod(argv[++i], &end);
            if (*end || !(tol >= 0) || !isfinite(tol)) {
                fprintf(stderr, "gradcam-study: --tolerance takes a number >= 0\n%s", USAGE);
                return 2;
            }
        } else if (!strcmp(argv[i], "--history") && i + 1 < argc) {
            hist = argv[++i];
        } else if (!strcmp(argv[i], "--trend") && i + 1 < argc) {
            trend = argv[++i];
        } else if (argv[i][0] == '-' || nd == 2) {
            fprintf(stderr, "gradcam-study: compare: unexpected '%s'\n%s", argv[i], USAGE);
            return 2;
        } else {
            dirs[nd++] = argv[i];
        }
    }
    if (nd != 2) {
        fprintf(stderr, "gradcam-study: compare needs BASE_OUTDIR and NEW_OUTDIR\n%s", USAGE);
        return 2;
    }
    if (trend && !hist) {
        fprintf(stderr, "gradcam-study: --trend needs --history\n%s", USAGE);
        return 2;
    }
    char err[10000], path[2][4200];
    jr_val *root[2] = {NULL, NULL};
    const jr_val *in[2];
    int rc = 2;
    for (int k = 0; k < 2; k++) {
        snprintf(path[k], sizeof path[k], "%s/summary.json", dirs[k]);
        char e2[1000];
        root[k] = jr_parse_file(path[k], e2, sizeof e2);
        if (!root[k]) {
            snprintf(err, sizeof err, "%s: %s", path[k], e2);
            goto out;
        }
        if (!(in[k] = inputs_of(root[k], path[k], err, sizeof err)))
            goto out;
    }
    int worse = 0, better = 0, changed = 0, total = 0;
    printf("%-28s %-18s %-20s %10s %23s %10s %9s  %s\n", "input", "variant", "metric", "base",
           "base 95% interval", "new", "new-base", "status");
    for (int i = 0; i < in[0]->n; i++) {
        const jr_val *a = &in[0]->items[i], *b = NULL;
        for (int j = 0; j < in[1]->n && !b; j++)
            if (same_input(a, &in[1]->items[j]))
                b = &in[1]->items[j];
        const char *fa = str_at(a, "file");
        if (!b) {
            snprintf(err, sizeof err, "%s: inputs[%d]: %s has no counterpart in %s", path[0], i,
                     fa ? base_name(fa) : "?", path[1]);
            goto out;
        }
        const char *sa = sha_of(a), *sb = sha_of(b);
        if (sa && sb && strcmp(sa, sb) != 0)
            printf("note: %s: the input files differ (sha256 %.12s... vs %.12s...)\n",
                   base_name(fa), sa, sb);
        const jr_val *va = jr_get(a, "variants"), *vb = jr_get(b, "variants");
        if (!va || va->type != JR_OBJ || !vb || vb->type != JR_OBJ) {
            snprintf(err, sizeof err, "%s: inputs[%d].variants: missing", path[0], i);
            goto out;
        }
        for (int v = 0; v < va->n; v++) {
            const jr_val *xb = jr_get(vb, va->keys[v]);
            if (!xb) {
                printf("note: %s: variant %s is not in the new run\n", base_name(fa), va->keys[v]);
                continue;
            }
            for (int k = 0; k < NMETRIC; k++) {
                const metric_def *m = &METRICS[k];
                double x0, x1, ci[2], cj[2];
                int h0, h1;
                if (metric_of(&va->items[v], m, &x0, ci, &h0) < 0 ||
                    metric_of(xb, m, &x1, cj, &h1) < 0)
                    continue;
                double lo = (h0 ? ci[0] : x0) - tol, hi = (h0 ? ci[1] : x0) + tol;
                const char *st = "ok";
                if (x1 < lo || x1 > hi) {
                    if (!m->accuracy) {
                        st = "CHANGED";
                        changed++;
                    } else if (x1 < lo) {
                        st = "WORSE";
                        worse++;
                    } else {
                        st = "better";
                        better++;
                    }
                }
                total++;
                char civ[64];
                if (h0)
                    snprintf(civ, sizeof civ, "[%.4f, %.4f]", ci[0], ci[1]);
                else
                    snprintf(civ, sizeof civ, "(none)");
                printf("%-28.28s %-18s %-20s %10.4f %23s %10.4f %+9.4f  %s\n", base_name(fa),
                       va->keys[v], m->label, x0, civ, x1, x1 - x0, st);
            }
        }
    }
    printf("compare: %d metrics, %d regressed (%d worse, %d changed), %d better, tolerance %g\n",
           total, worse + changed, worse, changed, better, tol);
    if (hist && append_history(hist, root[1], in[1], err, sizeof err) < 0)
        goto out;
    if (trend && draw_trend(hist, trend, err, sizeof err) < 0)
        goto out;
    rc = worse + changed > 0 ? 1 : 0;
out:
    if (rc == 2)
        fprintf(stderr, "gradcam-study: %s\n", err);
    jr_free(root[0]);
    jr_free(root[1]);
    if (fflush(stdout) != 0 && rc != 2) {
        fprintf(stderr, "gradcam-study: -: cannot write the table\n");
        rc = 2;
    }
    return rc;
}
