/* agg.h: per-variant aggregation of per-target localization results. */
#ifndef AGG_H
#define AGG_H

#include <stdint.h>

#include "analysis/loc.h"

/* Running totals. Integer counts only, except the double sums, which the
 * caller must feed in a fixed (target) order for reproducible results. */
typedef struct {
    int C;
    int64_t targets, scored, degenerate;
    int64_t hit[LOC_NNORM];
    int64_t curve[LOC_NNORM][LOC_NTHR];
    int64_t any[LOC_NNORM][3][LOC_NTHR]; /* IoU 0.3, 0.5, 0.7, any component */
    int64_t point_hits;
    int64_t *cls_n, *cls_hit;            /* [C] pointing per class */
    double energy_sum;
    int64_t neg_n, pos_n;
    double neg_area, neg_share, pos_area, pos_share;
} agg_variant;

/* Final figures; every value is finite (0 where its denominator is 0). */
typedef struct {
    double boxacc[LOC_NNORM];
    double curve[LOC_NNORM][LOC_NTHR];
    double maxboxacc[LOC_NNORM], maxboxacc_t[LOC_NNORM];
    double maxboxacc_v2[LOC_NNORM];
    int v2_t[LOC_NNORM][3];    /* per IoU level 0.3/0.5/0.7: first best threshold index */
    int maxboxacc_i[LOC_NNORM]; /* index of maxboxacc_t */
    double pointing, pointing_class_mean;
    double energy;
    double neg_other, neg_area, neg_enrichment;
    double pos_other, pos_area, pos_enrichment;
} agg_metrics;

/* 0, or -1 when out of memory. */
int agg_init(agg_variant *a, int C);
void agg_free(agg_variant *a);

/* One target: has_box = the image has a box of its class (else it only
 * counts for the evidence figures), cls its class. */
void agg_add(agg_variant *a, const loc_result *r, int has_box, int cls);

void agg_finish(agg_metrics *m, const agg_variant *a);

/* Pointing share of class c, or -1 when no scored target has class c. */
double agg_class_pointing(const agg_variant *a, int c);

#endif
