/* model.h: the report's model of a study: summary.json (read through
 * output/summary.h) checked into plain structs, plus the training records'
 * test mAP. Everything the text and the figures print comes from here. */
#ifndef RP_MODEL_H
#define RP_MODEL_H

#include <stddef.h>

#include "pipeline/input/h5in.h"

#include <jansson.h>

#include "pipeline/common/variants.h"

/* The two normalisations of the box metrics, in the summary's order. */
enum { RP_MAX, RP_MINMAX, RP_NNORM };

/* Cells of a sign table: first letter the sign of alpha (or G), second of A. */
enum { RC_PP, RC_P0, RC_PN, RC_0P, RC_00, RC_0N, RC_NP, RC_N0, RC_NN, RC_N };
enum { RR_TARGET, RR_OTHER, RR_BACKGROUND, RR_ALL, RR_N };
enum { RT_ALPHAA, RT_GA, RT_N };

/* rp_val (a value with its 95% interval) and the `causal` block. */
#include "pipeline/report/q6model.h"

typedef struct {
    int present;
    long degenerate;
    rp_val boxacc[RP_NNORM], maxboxacc[RP_NNORM], maxboxacc_v2[RP_NNORM];
    double maxboxacc_t[RP_NNORM];
    double *curve[RP_NNORM];  /* protocol.thresholds values each (owned) */
    rp_val pointing;
    double pointing_class_mean;
    int nclass;               /* pointing_per_class, in file order */
    const char **cls;         /* names (owned array; the names point into the document) */
    double *cls_pointing;     /* shares (owned) */
    rp_val energy;
    long eligible_neg, eligible_pos;
    double neg_other, neg_area, pos_other, pos_area;
    rp_val neg_enr, pos_enr;
} rp_variant;

typedef struct {
    int a, b;                 /* variant indices (common/variants.h) */
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

/* Shares of a sign-table region (summary.json's nn_share, np_share). */
enum { RS_NN, RS_NP, RS_N };

typedef struct {
    double count[RC_N], sum[RC_N];
    rp_val share[RS_N];       /* as the summary gives them; v -1 when absent (an older
                                 summary, or no mass), has_ci 0 without an interval */
} rp_cells;

typedef struct {
    const char *file;
    char *stem;               /* file name without directory and ".h5", Markdown-safe (owned) */
    char *figstem;            /* stem made safe and unique, for figure names (owned) */
    const char *model, *layer, *activation, *dataset;
    long images, nclasses, channels, height, width, targets, boxes, boxes_difficult,
        boxes_clipped, targets_without_box, targets_scored;
    long images_named;        /* counts.images_named, 0 when absent */
    long export_count[H5IN_NEXPORT]; /* the "export" object's counts, -1 when absent */
    long eig_images, eig_flips;  /* the "eigencam" object (sign rule), -1 when absent */
    const char *dtype_a, *dtype_g;
    double threshold, tolerance, iou;
    long nthr, resamples, seed;
    const char *unit;
    rp_variant var[VAR_N];     /* indexed as common/variants.h */
    int nunknown;             /* variants in the file this report does not know */
    rp_pair *pairs;
    int npairs;
    rp_cells signs[RT_N][RR_N];
    rp_causal causal;         /* Question 6; causal.present 0 without --curves */
    /* from --models */
    int has_map;
    double test_map, val_map;
    int has_val;
    char *map_note;           /* why the mAP is missing (owned), or NULL */
    char *gallery;            /* link to the gallery PNG relative to the report (owned) */
} rp_input;

typedef struct {
    json_t *doc;              /* the parsed summary (strings above point into it) */
    int n;
    rp_input *in;
    char *summary_link;       /* SUMMARY.json relative to the report's directory */
    char *fig_link;           /* the figures DIR relative to the report's directory */
    char *models_md_link;     /* data/MODELS.md relative to the report, or NULL */
    int models_given;
} rp_study;

/* Names as the summary spells them. */
extern const char *const rp_cell_names[RC_N];
extern const char *const rp_region_names[RR_N];
extern const char *const rp_norm_names[RP_NNORM];
/* Fill st from a summary that sum_read/sum_parse returned (named `file` in
 * messages); st takes the reference to doc (rp_free releases it, also after
 * a failure). 0, or -1 with err "FILE: PATH.TO.KEY: problem". */
int rp_load(rp_study *st, json_t *doc, const char *file, char *err, size_t errlen);
/* Read DIR/MODEL.json for every input (missing or unreadable records are
 * noted, not fatal); 0, or -1 on out of memory. */
int rp_load_models(rp_study *st, const char *dir);
void rp_free(rp_study *st);
/* The paired comparison a vs b for metric/norm (norm -1 for none), or NULL. */
const rp_pair *rp_find_pair(const rp_input *in, int a, int b, const char *metric, int norm);

#endif
