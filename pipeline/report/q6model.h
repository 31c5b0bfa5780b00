/* q6model.h: the report's model of Question 6, an input's summary.json
 * `causal` block (deletion and insertion through the network, the paper's
 * claim test, completeness), checked into plain structs (q6model.c). */
#ifndef RP_Q6MODEL_H
#define RP_Q6MODEL_H

#include <jansson.h>

#include "pipeline/output/summary.h"

/* A value with its 95% bootstrap interval (has_ci 0 when the run had none). */
typedef struct {
    double v, lo, hi;
    int has_ci;
} rp_val;

/* References (the value a removed cell takes) and the two curve modes, in
 * the summary's spelling and order. */
enum { RP_REF_ZERO, RP_REF_MU, RP_NREF };
enum { RP_DELETION, RP_INSERTION, RP_NMODE };
/* Maps whose total mass is checked against the score change. */
enum { RP_COMP_GRADCAM, RP_COMP_HIRESCAM, RP_NCOMP };
extern const char *const rp_ref_names[RP_NREF];
extern const char *const rp_mode_names[RP_NMODE];
extern const char *const rp_comp_names[RP_NCOMP];

/* One order's mean curve of one mode and reference. */
typedef struct {
    rp_val auc;               /* trapezoid of the normalised mean curve over x */
    double *curve, *raw;      /* steps + 1 means: normalised u, raw y (into rp_causal.buf) */
} rp_curve;

/* One "paired" element: order a against order b, AUC difference a - b. */
typedef struct {
    int mode, ref, a, b;      /* RP_DELETION..., RP_REF_..., order indices */
    long targets;
    double va, vb, diff;
    int has_ci;
    double lo, hi;
} rp_cpair;

typedef struct {
    long eligible, eligible_others;
    double target_neg, target_random, others_neg, others_random; /* mean score changes */
    rp_val target_diff, others_diff;  /* neg minus random, paired image bootstrap */
} rp_claim;

typedef struct {
    rp_val r, slope;          /* Pearson r and OLS slope of the score change on the mass */
    long n;
} rp_comp;

typedef struct {
    int present;              /* 0: the input has no `causal` (Question 6 not run) */
    const char *curves_file, *network, *layer;  /* point into the document */
    long steps, targets, seed;
    long *cells;              /* steps + 1 cell counts k_s (owned) */
    double *x;                /* steps + 1 fractions k_s / n (owned) */
    int has_ref[RP_NREF];
    int norder;
    const char **order;       /* order names, the summary's order (owned array) */
    int random;               /* index of `random`, or -1 */
    double scale[RP_NREF];
    int scale_degenerate[RP_NREF];
    rp_curve *cv[RP_NMODE][RP_NREF];  /* norder each (owned), NULL for an absent reference */
    double *buf;              /* the curves' storage (owned) */
    int best[RP_NMODE][RP_NREF];      /* order index, -1: none (only random) */
    rp_cpair *pairs;          /* (owned) */
    int npairs;
    rp_claim claim[RP_NREF];
    rp_comp comp[RP_NREF][RP_NCOMP];
} rp_causal;

/* Check obj (the member `causal` at path `at`) into q; ncells is the
 * input's h * w (the last cell count must equal it). On failure c is
 * failed with the first bad member's path; q may hold partial allocations
 * either way (rp_causal_free releases them). */
/* obj.key, a string shown in Markdown, made safe in the document itself
 * ('|' -> '/', '`' -> '\'', control characters -> ' '): the one sanitiser of
 * the summary's free text (model.c's attributes, the causal block's names). */
const char *rp_md_str(sum_ck *c, json_t *obj, const char *at, const char *key);

/* obj.key, a number in [min, max], and its optional key_ci95 (the one
 * reader of a value with an interval, model.c's and this file's). */
void rp_val_read(sum_ck *c, json_t *obj, const char *at, const char *key, double min,
                 double max, rp_val *out);

void rp_causal_load(sum_ck *c, json_t *obj, const char *at, long ncells, rp_causal *q);
void rp_causal_free(rp_causal *q);

/* Index of an order name in q, or -1. */
int rp_causal_order(const rp_causal *q, const char *name);

#endif
