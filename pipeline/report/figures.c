/* figures.c: the figures of REPORT.md, drawn by gnuplot (plot.c).
 *
 * DESIGN
 * Two shapes cover every figure: grouped bars with 95% error bars (one
 * series per metric or variant, one group per input, variant, region or
 * class), built by bars_* below, and BoxAcc-against-threshold curves. Each
 * figure is 900 x 500 px at 11 pt, PNG and SVG, named deterministically:
 * q1-relu-diff, q1-boxacc-curve-STEM, q2-enrichment, q3-signs-STEM,
 * q4-shift, q5-metrics-STEM, q5-boxacc-curves-STEM,
 * q5-pointing-per-class-STEM (STEM = the input's figstem). Numbers are
 * written into gnuplot datablocks with %.10g; values without an interval
 * get no error bar; a series with no value is left out; a panel with no
 * series says so instead of failing.
 * rp_fig_name is the single source of file names for the text and here.
 *
 * Thread safety: main thread only (plot.c runs gnuplot).
 */
#include "pipeline/report/figures.h"

#include "pipeline/report/plot.h"
#include "pipeline/report/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIG_W 900
#define FIG_H 500
#define FONT 11
#define MAXSERIES 8

/* One colour per variant (common/variants.h order), readable on white. */
static const char *const var_color[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#637939", "#ad494a",
    "#000000"};
_Static_assert(sizeof var_color / sizeof var_color[0] == VAR_N, "one colour per variant");
static const char *const series_color[MAXSERIES] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf", "#7f7f7f"};

void rp_fig_name(char *o, size_t n, const char *what, const rp_input *in)
{
    if (in)
        snprintf(o, n, "%s-%s", what, in->figstem);
    else
        snprintf(o, n, "%s", what);
}

int rp_perclass_plotted(const rp_input *in)
{
    int n = in->var[CAM_GRADCAM].nclass;
    return n >= 1 && n <= RP_MAXCLASS_BARS;
}

/* ---- grouped bars ---- */

typedef struct {
    int ns, ng;
    const char *title[MAXSERIES];
    const char *color[MAXSERIES];
    double *v, *lo, *hi;      /* [s * ng + g] */
    unsigned char *has, *ci;
    const char **glabel;      /* ng group labels */
} bars;

static int bars_new(bars *bt, int ns, int ng)
{
    memset(bt, 0, sizeof *bt);
    bt->ns = ns;
    bt->ng = ng;
    size_t n = (size_t)ns * (size_t)(ng > 0 ? ng : 1);
    bt->v = calloc(n, sizeof(double));
    bt->lo = calloc(n, sizeof(double));
    bt->hi = calloc(n, sizeof(double));
    bt->has = calloc(n, 1);
    bt->ci = calloc(n, 1);
    bt->glabel = calloc((size_t)(ng > 0 ? ng : 1), sizeof(char *));
    for (int s = 0; s < ns && s < MAXSERIES; s++)
        bt->color[s] = series_color[s];
    return bt->v && bt->lo && bt->hi && bt->has && bt->ci && bt->glabel ? 0 : -1;
}

static void bars_free(bars *bt)
{
    free(bt->v);
    free(bt->lo);
    free(bt->hi);
    free(bt->has);
    free(bt->ci);
    free(bt->glabel);
}

/* Set value (scaled) and optional interval of series s, group g. */
static void bars_set(bars *bt, int s, int g, double scale, double v, int has_ci, double lo,
                     double hi)
{
    int i = s * bt->ng + g;
    bt->has[i] = 1;
    bt->v[i] = scale * v;
    bt->ci[i] = (unsigned char)has_ci;
    bt->lo[i] = scale * lo;
    bt->hi[i] = scale * hi;
}

/* Datablocks $<tag>s<S> (x y) and $<tag>e<S> (x y lo hi), then the plot
 * command with group labels as x tics; `extra` (or NULL) is one more plot
 * element, e.g. a reference line with its key entry. */
static void bars_plot(plot_fig *f, const bars *bt, const char *tag, int rotate,
                      const char *extra)
{
    char q[1024];
    double width = 0.8 / (bt->ns > 0 ? bt->ns : 1);
    int nplots = 0;
    plot_cmd(f, "set xrange [-0.6:%d.4]\nset boxwidth %.6f absolute\nset xtics (", bt->ng - 1,
             width * 0.92);
    for (int g = 0; g < bt->ng; g++)
        plot_cmd(f, "%s%s %d", g ? ", " : "", plot_sq(q, sizeof q, bt->glabel[g]), g);
    plot_cmd(f, ")%s\n", rotate ? " rotate by 30 right" : "");
    for (int s = 0; s < bt->ns; s++) {
        int npts = 0, nci = 0;
        for (int g = 0; g < bt->ng; g++) {
            npts += bt->has[s * bt->ng + g];
            nci += bt->ci[s * bt->ng + g];
        }
        if (!npts)
            continue;
        plot_data(f, "$%ss%d << EOD\n", tag, s);
        for (int g = 0; g < bt->ng; g++) {
            int i = s * bt->ng + g;
            double x = g - 0.4 + width * (s + 0.5);
            if (bt->has[i])
                plot_data(f, "%.10g %.10g\n", x, bt->v[i]);
        }
        plot_data(f, "EOD\n");
        plot_cmd(f, "%s$%ss%d using 1:2 with boxes lc rgb '%s' title %s", nplots++ ? ", \\\n  "
                                                                               : "plot ",
                 tag, s, bt->color[s], plot_sq(q, sizeof q, bt->title[s]));
        if (!nci)
            continue;
        plot_data(f, "$%se%d << EOD\n", tag, s);
        for (int g = 0; g < bt->ng; g++) {
            int i = s * bt->ng + g;
            double x = g - 0.4 + width * (s + 0.5);
            if (bt->has[i] && bt->ci[i])
                plot_data(f, "%.10g %.10g %.10g %.10g\n", x, bt->v[i], bt->lo[i], bt->hi[i]);
        }
        plot_data(f, "EOD\n");
        /* the interval as a vertical segment with caps (yerrorbars leaves a gap) */
        double cap = width * 0.25;
        plot_cmd(f, ", \\\n  $%se%d using 1:3:(0):($4-$3) with vectors nohead lc rgb '#222222' "
                    "lw 1.2 notitle", tag, s);
        for (int c = 3; c <= 4; c++)
            plot_cmd(f, ", \\\n  $%se%d using ($1-%.6f):%d:(%.6f):(0) with vectors nohead "
                        "lc rgb '#222222' lw 1.2 notitle", tag, s, cap, c, 2 * cap);
    }
    if (nplots && extra)
        plot_cmd(f, ", \\\n  %s", extra);
    if (!nplots)
        plot_cmd(f, "set label 'not in this summary' at graph 0.5, graph 0.5 center\n"
                    "set yrange [0:1]\nplot -1 notitle");
    plot_cmd(f, "\n");
}

void rp_fig_style(plot_fig *f)
{
    plot_cmd(f, "set border 3 lw 1\nset tics nomirror\nset grid ytics lc rgb '#d9d9d9' lw 1\n"
                "set style fill solid 0.85 noborder\nset key noautotitle\n");
}

const char *rp_var_color(int v)
{
    return v >= 0 && v < VAR_N ? var_color[v] : "#7f7f7f";
}

int rp_fig_render(rp_figs *figs, plot_fig *f, const char *dir, const char *name, char *err,
                  size_t errlen)
{
    if (figs->n >= RP_MAXFIGS) {
        snprintf(err, errlen, "%s/%s.png: -: more than %d figures", dir, name, RP_MAXFIGS);
        return -1;
    }
    if (plot_render(f, dir, name, err, errlen) < 0)
        return -1;
    if (!(figs->name[figs->n] = strdup(name))) {
        plot_discard(dir, name);
        snprintf(err, errlen, "%s/%s.png: -: out of memory", dir, name);
        return -1;
    }
    figs->n++;
    return 0;
}

/* ---- the figures ---- */

static const char *const q1_metric[6] = {"boxacc", "boxacc", "maxboxacc", "maxboxacc",
                                         "pointing", "energy"};
static const int q1_norm[6] = {RP_MAX, RP_MINMAX, RP_MAX, RP_MINMAX, -1, -1};
static const char *const q1_title[6] = {"BoxAcc, max", "BoxAcc, minmax", "MaxBoxAcc, max",
                                        "MaxBoxAcc, minmax", "pointing", "energy"};

static int fig_q1_diff(plot_fig *f, const rp_study *st)
{
    bars bt;
    if (bars_new(&bt, 6, st->n) < 0)
        return bars_free(&bt), -1;
    for (int k = 0; k < 6; k++)
        bt.title[k] = q1_title[k];
    for (int i = 0; i < st->n; i++) {
        bt.glabel[i] = st->in[i].stem;
        for (int k = 0; k < 6; k++) {
            const rp_pair *q = rp_find_pair(&st->in[i], CAM_GRADCAM, CAM_SIGNED, q1_metric[k],
                                            q1_norm[k]);
            if (q)
                bars_set(&bt, k, i, 100, q->diff, q->has_ci, q->lo, q->hi);
        }
    }
    rp_fig_style(f);
    plot_cmd(f, "set title 'Grad-CAM minus Grad-CAM without ReLU (positive: the ReLU helps)'\n"
                "set ylabel 'difference (percentage points)'\nset xzeroaxis lt -1 lw 1\n"
                "set key outside right top vertical\n"
                "set yrange [*:*]\nset offsets 0,0,3,3\n");
    char extra[256];
    snprintf(extra, sizeof extra, "%g with lines dt 2 lw 2 lc rgb '#a00000' title "
                                  "'paper: about %g points'",
             PAPER_RELU_POINTS, PAPER_RELU_POINTS);
    bars_plot(f, &bt, "q1d", st->n > 4, extra);
    bars_free(&bt);
    return 0;
}

/* BoxAcc curves of the variants vs[0..nv) on one panel, norms given. */
static void curves(plot_fig *f, const rp_input *in, const int *vs, int nv, const int *nm,
                   int nn, const char *tag)
{
    int col = 2, nplots = 0;
    plot_data(f, "$%s << EOD\n", tag);
    for (long t = 0; t < in->nthr; t++) {
        plot_data(f, "%.10g", (double)t / (double)in->nthr);
        for (int a = 0; a < nv; a++)
            for (int k = 0; k < nn; k++)
                if (in->var[vs[a]].present)
                    plot_data(f, " %.10g", 100.0 * in->var[vs[a]].curve[nm[k]][t]);
        plot_data(f, "\n");
    }
    plot_data(f, "EOD\n");
    plot_cmd(f, "set arrow from %.10g, graph 0 to %.10g, graph 1 nohead dt 3 lc rgb '#555555'\n",
             in->threshold, in->threshold);
    for (int a = 0; a < nv; a++)
        for (int k = 0; k < nn; k++) {
            if (!in->var[vs[a]].present)
                continue;
            char title[128], q[256];
            snprintf(title, sizeof title, nn > 1 ? "%s, %s" : "%s", var_name(vs[a]),
                     rp_norm_names[nm[k]]);
            plot_cmd(f, "%s$%s using 1:%d with lines lw %s dt %d lc rgb '%s' title %s",
                     nplots++ ? ", \\\n  " : "plot ", tag, col++,
                     nv > 2 && vs[a] == CAM_GRADCAM ? "4" : "2", k == 0 ? 1 : 2,
                     nv > 2 ? var_color[vs[a]] : series_color[a], plot_sq(q, sizeof q, title));
        }
    plot_cmd(f, "\n");
}

static int fig_q1_curve(plot_fig *f, const rp_input *in)
{
    static const int vs[2] = {CAM_GRADCAM, CAM_SIGNED}, nm[2] = {RP_MAX, RP_MINMAX};
    char q[512], t[600];
    snprintf(t, sizeof t, "%s: BoxAcc against the threshold, with and without ReLU", in->stem);
    rp_fig_style(f);
    plot_cmd(f, "set title %s\nset xlabel 'box threshold (fraction of the normalised map)'\n"
                "set ylabel 'BoxAcc (%% of targets, IoU >= %g)'\nset xrange [0:1]\n"
                "set yrange [0:100]\nset key outside right top vertical\n",
             plot_sq(q, sizeof q, t), in->iou);
    curves(f, in, vs, 2, nm, 2, "q1c");
    return 0;
}

static int fig_q2(plot_fig *f, const rp_study *st)
{
    static const int vs[2] = {CAM_SIGNED, CAM_HIRESCAM_SIGNED};
    static const char *const titles[4] = {"gradcam-signed, negative", "gradcam-signed, positive",
                                          "hirescam-signed, negative",
                                          "hirescam-signed, positive"};
    static const char *const colors[4] = {"#1f4e9c", "#e07b39", "#6fa8dc", "#f6c08f"};
    bars bt;
    if (bars_new(&bt, 4, st->n) < 0)
        return bars_free(&bt), -1;
    for (int s = 0; s < 4; s++)
        bt.title[s] = titles[s], bt.color[s] = colors[s];
    for (int i = 0; i < st->n; i++) {
        bt.glabel[i] = st->in[i].stem;
        for (int k = 0; k < 2; k++) {
            const rp_variant *v = &st->in[i].var[vs[k]];
            if (!v->present)
                continue;
            if (v->eligible_neg > 0)
                bars_set(&bt, 2 * k, i, 1, v->neg_enr.v, v->neg_enr.has_ci, v->neg_enr.lo,
                         v->neg_enr.hi);
            if (v->eligible_pos > 0)
                bars_set(&bt, 2 * k + 1, i, 1, v->pos_enr.v, v->pos_enr.has_ci, v->pos_enr.lo,
                         v->pos_enr.hi);
        }
    }
    rp_fig_style(f);
    plot_cmd(f, "set title 'Evidence on other classes'' boxes (mass share / area share)'\n"
                "set ylabel 'enrichment (1 = no preference)'\nset yrange [0:*]\n"
                "set key outside right top vertical\n");
    bars_plot(f, &bt, "q2", st->n > 4,
              "1 with lines dt 2 lw 2 lc rgb '#444444' title 'no preference (1)'");
    bars_free(&bt);
    return 0;
}

static int fig_q3(plot_fig *f, const rp_input *in)
{
    static const int cells[4] = {RC_PP, RC_NN, RC_PN, RC_NP};
    static const char *const colors[4] = {"#b2182b", "#ef8a62", "#2166ac", "#67a9cf"};
    static const char *const tnames[4] = {"PP (+ weight, + A)", "NN (- weight, - A)",
                                          "PN (+ weight, - A)", "NP (- weight, + A)"};
    static const char *const ptitle[RT_N] = {"alpha x A (weight: alpha)",
                                             "G x A (weight: G, per element)"};
    char q[512], t[600];
    rp_fig_style(f);
    snprintf(t, sizeof t, "%s (%s): sign-table sums per feature element", in->stem,
             in->activation);
    plot_cmd(f, "set multiplot layout 1,2 title %s\nset xzeroaxis lt -1 lw 1\n"
                "set key inside top right vertical font ',10' samplen 1.5\n"
                "set offsets 0, 0, graph 0.45, graph 0.02\n", plot_sq(q, sizeof q, t));
    for (int tb = 0; tb < RT_N; tb++) {
        bars bt;
        if (bars_new(&bt, 4, 3) < 0)
            return bars_free(&bt), -1;
        for (int s = 0; s < 4; s++)
            bt.title[s] = tnames[s], bt.color[s] = colors[s];
        for (int r = 0; r < 3; r++) {
            const rp_cells *c = &in->signs[tb][r];
            double n = 0;
            for (int k = 0; k < RC_N; k++)
                n += c->count[k];
            bt.glabel[r] = rp_region_names[r];
            for (int s = 0; s < 4 && n > 0; s++)
                bars_set(&bt, s, r, 1.0 / n, c->sum[cells[s]], 0, 0, 0);
        }
        plot_cmd(f, "set title %s\nset ylabel %s\n", plot_sq(q, sizeof q, ptitle[tb]),
                 tb == 0 ? "'sum of products / elements'" : "''");
        char tag[16];
        snprintf(tag, sizeof tag, "q3%d", tb);
        bars_plot(f, &bt, tag, 0, NULL);
        bars_free(&bt);
    }
    plot_cmd(f, "unset multiplot\n");
    return 0;
}

static int fig_q4(plot_fig *f, const rp_study *st)
{
    bars iou, d;
    if (bars_new(&iou, 2, st->n) < 0 || bars_new(&d, 2, st->n) < 0) {
        bars_free(&iou);
        bars_free(&d);
        return -1;
    }
    for (int k = 0; k < 2; k++)
        iou.title[k] = d.title[k] = rp_norm_names[k];
    for (int i = 0; i < st->n; i++) {
        iou.glabel[i] = d.glabel[i] = st->in[i].stem;
        for (int k = 0; k < 2; k++) {
            const rp_pair *q = rp_find_pair(&st->in[i], CAM_GRADCAM, CAM_CENTERED, "boxacc", k);
            if (!q)
                continue;
            if (q->has_iou)
                bars_set(&iou, k, i, 1, q->box_iou, 0, 0, 0);
            bars_set(&d, k, i, 100, q->diff, q->has_ci, q->lo, q->hi);
        }
    }
    rp_fig_style(f);
    plot_cmd(f, "set multiplot layout 1,2 title 'Grad-CAM against the map of the centred "
                "activations (gradcam-centered)'\nset key top right vertical\n"
                "set title 'boxes: mean IoU between the two (1 = unmoved)'\n"
                "set ylabel 'mean box IoU'\nset yrange [0:1.15]\n");
    bars_plot(f, &iou, "q4i", st->n > 2, NULL);
    plot_cmd(f, "set title 'BoxAcc, Grad-CAM minus centred'\n"
                "set ylabel 'difference (percentage points)'\nset yrange [*:*]\n"
                "set offsets 0,0,2,2\nset xzeroaxis lt -1 lw 1\n");
    bars_plot(f, &d, "q4d", st->n > 2, NULL);
    plot_cmd(f, "unset multiplot\n");
    bars_free(&iou);
    bars_free(&d);
    return 0;
}

static int fig_q5_metrics(plot_fig *f, const rp_input *in)
{
    static const char *const titles[4] = {"BoxAcc (max)", "MaxBoxAccV2 (max)", "pointing",
                                          "energy"};
    int vs[VAR_N], nv = 0;
    for (int v = 0; v < VAR_N; v++)
        if (in->var[v].present)
            vs[nv++] = v;
    bars bt;
    if (bars_new(&bt, 4, nv) < 0)
        return bars_free(&bt), -1;
    for (int s = 0; s < 4; s++)
        bt.title[s] = titles[s];
    for (int g = 0; g < nv; g++) {
        const rp_variant *x = &in->var[vs[g]];
        const rp_val *vals[4] = {&x->boxacc[RP_MAX], &x->maxboxacc_v2[RP_MAX], &x->pointing,
                                 &x->energy};
        bt.glabel[g] = var_name(vs[g]);
        for (int s = 0; s < 4; s++)
            bars_set(&bt, s, g, 100, vals[s]->v, vals[s]->has_ci, vals[s]->lo, vals[s]->hi);
    }
    char q[512], t[600];
    snprintf(t, sizeof t, "%s (%s): every variant", in->stem, in->activation);
    rp_fig_style(f);
    plot_cmd(f, "set title %s\nset ylabel '%% of targets (energy: %% of positive mass)'\n"
                "set yrange [0:122]\nset ytics 0, 20, 100\n"
                "set key inside top center horizontal reverse Left samplen 1.5 width 2\n",
             plot_sq(q, sizeof q, t));
    bars_plot(f, &bt, "q5m", 1, NULL);
    bars_free(&bt);
    return 0;
}

static int fig_q5_curves(plot_fig *f, const rp_input *in)
{
    int vs[VAR_N], nv = 0;
    for (int v = 0; v < VAR_N; v++)
        if (in->var[v].present && v != VAR_SALIENCY)
            vs[nv++] = v;
    if (in->var[VAR_SALIENCY].present)
        vs[nv++] = VAR_SALIENCY;
    char q[512], t[600];
    snprintf(t, sizeof t, "%s: BoxAcc against the threshold, every variant", in->stem);
    rp_fig_style(f);
    plot_cmd(f, "set multiplot title %s\nset xrange [0:1]\nset yrange [0:100]\n"
                "set xlabel 'box threshold'\nset key at screen 0.995, screen 0.88 right top "
                "vertical font ',10' samplen 2\nset tmargin at screen 0.86\n"
                "set bmargin at screen 0.12\n", plot_sq(q, sizeof q, t));
    for (int k = 0; k < RP_NNORM; k++) {
        int nm = k;
        snprintf(t, sizeof t, "%s normalisation", rp_norm_names[k]);
        plot_cmd(f, "set lmargin at screen %s\nset rmargin at screen %s\nset title %s\n"
                    "set ylabel %s\n%s\n",
                 k ? "0.465" : "0.085", k ? "0.785" : "0.405", plot_sq(q, sizeof q, t),
                 k ? "''" : "'BoxAcc (% of targets)'", k ? "set key" : "unset key");
        char tag[16];
        snprintf(tag, sizeof tag, "q5c%d", k);
        /* one column per variant: curves() with one norm, colour by variant */
        curves(f, in, vs, nv, &nm, 1, tag);
        plot_cmd(f, "unset arrow\n");
    }
    plot_cmd(f, "unset multiplot\n");
    return 0;
}

static int fig_q5_perclass(plot_fig *f, const rp_input *in)
{
    static const int cand[6] = {CAM_GRADCAM, CAM_HIRESCAM, CAM_LAYERCAM, CAM_XGRADCAM,
                                CAM_GRADCAMPP, VAR_SALIENCY};
    const rp_variant *g = &in->var[CAM_GRADCAM];
    int vs[6], nv = 0;
    for (int k = 0; k < 6; k++)
        if (in->var[cand[k]].present)
            vs[nv++] = cand[k];
    bars bt;
    if (bars_new(&bt, nv, g->nclass) < 0)
        return bars_free(&bt), -1;
    for (int s = 0; s < nv; s++)
        bt.title[s] = var_name(vs[s]), bt.color[s] = var_color[vs[s]];
    for (int c = 0; c < g->nclass; c++) {
        bt.glabel[c] = g->cls[c];
        for (int s = 0; s < nv; s++) {
            const rp_variant *x = &in->var[vs[s]];
            for (int j = 0; j < x->nclass; j++)
                if (!strcmp(x->cls[j], g->cls[c]))
                    bars_set(&bt, s, c, 100, x->cls_pointing[j], 0, 0, 0);
        }
    }
    char q[512], t[600];
    snprintf(t, sizeof t, "%s: pointing game per class (tolerance %g px)", in->stem,
             in->tolerance);
    rp_fig_style(f);
    plot_cmd(f, "set title %s\nset ylabel 'pointing (%% of the class''s targets)'\n"
                "set yrange [0:105]\nset key outside right top vertical\n",
             plot_sq(q, sizeof q, t));
    bars_plot(f, &bt, "q5p", g->nclass > 6, NULL);
    bars_free(&bt);
    return 0;
}

typedef int (*fig_all)(plot_fig *, const rp_study *);
typedef int (*fig_one)(plot_fig *, const rp_input *);

static int one(rp_figs *figs, const char *dir, const char *name, fig_all fa, fig_one fo,
               const rp_study *st, const rp_input *in, char *err, size_t errlen)
{
    plot_fig f;
    plot_init(&f, FIG_W, FIG_H, FONT);
    int rc = fa ? fa(&f, st) : fo(&f, in);
    if (rc < 0 || f.oom) {
        snprintf(err, errlen, "%s/%s.png: -: out of memory", dir, name);
        rc = -1;
    } else {
        rc = rp_fig_render(figs, &f, dir, name, err, errlen);
    }
    plot_free(&f);
    return rc;
}

int rp_figures(rp_figs *figs, const rp_study *st, const char *dir, char *err, size_t errlen)
{
    char name[256];
    rp_fig_name(name, sizeof name, "q1-relu-diff", NULL);
    if (one(figs, dir, name, fig_q1_diff, NULL, st, NULL, err, errlen) < 0)
        return -1;
    for (int i = 0; i < st->n; i++) {
        rp_fig_name(name, sizeof name, "q1-boxacc-curve", &st->in[i]);
        if (one(figs, dir, name, NULL, fig_q1_curve, st, &st->in[i], err, errlen) < 0)
            return -1;
    }
    rp_fig_name(name, sizeof name, "q2-enrichment", NULL);
    if (one(figs, dir, name, fig_q2, NULL, st, NULL, err, errlen) < 0)
        return -1;
    for (int i = 0; i < st->n; i++) {
        rp_fig_name(name, sizeof name, "q3-signs", &st->in[i]);
        if (one(figs, dir, name, NULL, fig_q3, st, &st->in[i], err, errlen) < 0)
            return -1;
    }
    rp_fig_name(name, sizeof name, "q4-shift", NULL);
    if (one(figs, dir, name, fig_q4, NULL, st, NULL, err, errlen) < 0)
        return -1;
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        rp_fig_name(name, sizeof name, "q5-metrics", in);
        if (one(figs, dir, name, NULL, fig_q5_metrics, st, in, err, errlen) < 0)
            return -1;
        rp_fig_name(name, sizeof name, "q5-boxacc-curves", in);
        if (one(figs, dir, name, NULL, fig_q5_curves, st, in, err, errlen) < 0)
            return -1;
        if (!rp_perclass_plotted(in))
            continue;
        rp_fig_name(name, sizeof name, "q5-pointing-per-class", in);
        if (one(figs, dir, name, NULL, fig_q5_perclass, st, in, err, errlen) < 0)
            return -1;
    }
    return 0;
}
