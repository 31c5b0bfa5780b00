/* report_int.h: internals shared by the files of the `report` command
 * (report.c: command line and files; report_load.c: summary.json -> model;
 * report_md.c, report_qa.c, report_qb.c: the Markdown text; report_fig.c:
 * the figures).
 * Not a public API: only report.h is. */
#ifndef REPORT_INT_H
#define REPORT_INT_H

#include <stddef.h>

#include "pipeline/output/jsonr.h"

enum { RP_MAX, RP_MINMAX, RP_NNORM };

/* The variants the report knows, in the engine's order (README). */
enum {
    RV_GRADCAM, RV_SIGNED, RV_COUNTERFACTUAL, RV_ABSGRAD, RV_CENTERED, RV_ACTIVATION,
    RV_GRADIENT, RV_HIRESCAM, RV_HIRESCAM_SIGNED, RV_LAYERCAM, RV_XGRADCAM, RV_GRADCAMPP,
    RV_SALIENCY, RV_N
};

/* Cells of a sign table: first letter the sign of alpha (or G), second of A. */
enum { RC_PP, RC_P0, RC_PN, RC_0P, RC_00, RC_0N, RC_NP, RC_N0, RC_NN, RC_N };
enum { RR_TARGET, RR_OTHER, RR_BACKGROUND, RR_ALL, RR_N };
enum { RT_ALPHAA, RT_GA, RT_N };

/* A value with its 95% bootstrap interval (has_ci 0 when the run had none). */
typedef struct {
    double v, lo, hi;
    int has_ci;
} rp_val;

typedef struct {
    int present;
    long degenerate;
    rp_val boxacc[RP_NNORM], maxboxacc[RP_NNORM], maxboxacc_v2[RP_NNORM];
    double maxboxacc_t[RP_NNORM];
    double *curve[RP_NNORM];  /* protocol.thresholds values each (owned) */
    rp_val pointing;
    double pointing_class_mean;
    int nclass;               /* pointing_per_class, in file order */
    char **cls;               /* names (owned) */
    double *cls_pointing;     /* shares (owned) */
    rp_val energy;
    long eligible_neg, eligible_pos;
    double neg_other, neg_area, pos_other, pos_area;
    rp_val neg_enr, pos_enr;
} rp_variant;

typedef struct {
    int a, b;                 /* RV_* */
    char metric[16];          /* boxacc, maxboxacc, pointing, energy, or another name */
    int norm;                 /* RP_* or -1 */
    long targets;
    double va, vb, diff;
    int has_ci;
    double lo, hi;
    int has_iou;
    double box_iou;
    int has_mc;
    long a_only, b_only;
    double p;
} rp_pair;

typedef struct {
    double count[RC_N], sum[RC_N];
} rp_cells;

typedef struct {
    const char *file;
    char *stem;               /* file name without directory and ".h5", Markdown-safe (owned) */
    char *figstem;            /* stem made safe and unique, for figure names (owned) */
    const char *model, *layer, *activation, *dataset;
    long images, nclasses, channels, height, width, targets, boxes, boxes_difficult,
        boxes_clipped, targets_without_box, targets_scored;
    const char *dtype_a, *dtype_g;
    double threshold, tolerance, iou;
    long nthr, resamples, seed;
    const char *unit;
    rp_variant var[RV_N];
    int nunknown;             /* variants in the file this report does not know */
    rp_pair *pairs;
    int npairs;
    rp_cells signs[RT_N][RR_N];
    /* from --models */
    int has_map;
    double test_map, val_map;
    int has_val;
    char *map_note;           /* why the mAP is missing (owned), or NULL */
    char *gallery;            /* link to the gallery PNG relative to the report (owned) */
} rp_input;

typedef struct {
    jr_val *doc;              /* the parsed summary (strings above point into it) */
    int n;
    rp_input *in;
    char *summary_link;       /* SUMMARY.json relative to the report's directory */
    char *fig_link;           /* the figures DIR relative to the report's directory */
    char *models_md_link;     /* data/MODELS.md relative to the report, or NULL */
    int models_given;
} rp_study;

/* ---- report_load.c ---- */
extern const char *const rp_variant_names[RV_N];
extern const char *const rp_cell_names[RC_N];
extern const char *const rp_region_names[RR_N];
extern const char *const rp_norm_names[RP_NNORM];
/* Fill st from a parsed summary; err "PATH.TO.KEY: problem"; 0 or -1. */
int rp_load(rp_study *st, jr_val *doc, char *err, size_t errlen);
/* Read DIR/MODEL.json for every input (missing or unreadable records are
 * noted, not fatal); 0, or -1 on out of memory. */
int rp_load_models(rp_study *st, const char *dir);
void rp_free(rp_study *st);
/* The paired comparison a vs b for metric/norm (norm -1 for none), or NULL. */
const rp_pair *rp_find_pair(const rp_input *in, int a, int b, const char *metric, int norm);

/* ---- a growing string (report.c) ---- */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} rp_buf;
void rp_printf(rp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- number formats (report_md.c): every number of the report goes
 * through these, so the tests can format a value the same way ---- */
const char *rp_pct(char *o, double share);            /* "87.1" (percent, 1 decimal) */
const char *rp_pts(char *o, double diff);             /* "+3.2" / "0.0" / "-1.5" (points) */
const char *rp_ci_pct(char *o, const rp_val *v);      /* "[83.6, 90.2]" or "" */
const char *rp_valci_pct(char *o, const rp_val *v);   /* "87.1 [83.6, 90.2]" */
const char *rp_valci_enr(char *o, const rp_val *v);   /* "2.94 [2.85, 3.04]" */
const char *rp_pval(char *o, double p);               /* "0.688", "6.1e-92" */
const char *rp_fixed(char *o, double v, int decimals);
#define RP_NUM 96                                     /* size of o for the above */

const char *rp_sig(char *o, double v);                /* "%.4g", "-0" never */

/* Markdown pieces (report_md.c). */
void rp_figure(rp_buf *b, const rp_study *st, const char *name, const char *caption);
void rp_href(rp_buf *b, const char *path);  /* "(path)", "(<path>)" when it has spaces */
const char *rp_verdict_diff(int side);  /* "no difference detected", "higher", ... */

/* Interval rules (report_md.c): -1 below ref, 0 includes ref, +1 above, 2 no interval. */
int rp_side(double lo, double hi, int has_ci, double ref);

/* ---- report_md.c, report_qa.c (questions 1-3), report_qb.c (4, 5, findings) ---- */
int rp_write_markdown(rp_buf *b, const rp_study *st);
void rp_q1(rp_buf *b, const rp_study *st);
void rp_q2(rp_buf *b, const rp_study *st);
void rp_q3(rp_buf *b, const rp_study *st);
void rp_q4(rp_buf *b, const rp_study *st);
void rp_q5(rp_buf *b, const rp_study *st);
void rp_findings(rp_buf *b, const rp_study *st);
/* One row of a paired table after the leading cells `lead`: values, diff
 * [interval], discordant targets, McNemar p, mean box IoU (report_qa.c). */
void rp_pair_row(rp_buf *b, const char *lead, const rp_pair *q);
#define RP_PAIR_HEAD "| Grad-CAM | other | diff (points) | a only / b only | McNemar p " \
                     "| box IoU |\n"
#define RP_PAIR_RULE "---:|---:|---:|---:|---:|---:|\n"
const char *rp_metric_label(const char *metric);
/* Rows of the paired comparisons a vs v (the six metric/norm pairs), led by
 * "| `stem` [| label] | metric | norm " (report_qa.c). */
void rp_paired_rows(rp_buf *b, const rp_input *in, int a, int v, const char *label);
/* "+3.2 [1.0, 5.1] points" into o[4 * RP_NUM] (report_qa.c). */
const char *rp_diff_text(char *o, const rp_pair *q);  /* "BoxAcc", "MaxBoxAcc", ... */
#define PAPER_RELU_POINTS 15.0  /* the paper's appendix: error up ~15 points without ReLU */

/* ---- report_fig.c ---- */
#define RP_MAXCLASS_BARS 40   /* more classes than this: no per-class bar chart */
#define RP_MAXFIGS 256
typedef struct {
    int n;
    char *name[RP_MAXFIGS];   /* base names (owned), rendered to temporaries */
} rp_figs;
/* The figure names the text links to (the same functions name the files). */
void rp_fig_name(char *o, size_t n, const char *what, const rp_input *in);
int rp_perclass_plotted(const rp_input *in);
/* Render every figure into temporaries in dir; 0 or -1 with err set. */
int rp_figures(rp_figs *figs, const rp_study *st, const char *dir, char *err, size_t errlen);

#endif
