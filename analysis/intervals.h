/* intervals.h: intervals and paired comparisons for the headline metrics, and the
 * sign-table shares with their intervals. */
#ifndef CI_H
#define CI_H

#include <stdint.h>

#include "analysis/agg.h"
#include "analysis/sign.h"

/* What the statistics keep of one target under one variant (~110 bytes). */
typedef struct {
    uint8_t curve[LOC_NNORM][(LOC_NTHR + 7) / 8];     /* LOC_HIT per threshold, bit i */
    uint8_t any[LOC_NNORM][3][(LOC_NTHR + 7) / 8];    /* any-component IoU >= .3/.5/.7 */
    uint8_t hit[LOC_NNORM], point_hit, neg_ok, pos_ok, scored, degenerate;
    uint16_t box[LOC_NNORM][4];                       /* box at --threshold, edge coords */
    double energy, other_area, neg_other, pos_other;
} ci_rec;

/* Fill a record from a loc_result (scored: the target has a box of its class). */
void ci_rec_set(ci_rec *c, const loc_result *r, int scored);

typedef struct {
    double boxacc[LOC_NNORM][2], maxboxacc[LOC_NNORM][2], maxboxacc_v2[LOC_NNORM][2];
    double pointing[2], energy[2], neg_enrichment[2], pos_enrichment[2];
} ci_variant;

/* The metrics a paired comparison can be about. */
enum { CI_BOXACC = 0, CI_MAXBOXACC, CI_POINTING, CI_ENERGY, CI_NMETRIC };
const char *ci_metric_name(int metric);
int ci_metric_has_norm(int metric);

typedef struct {
    int64_t targets;          /* scored targets compared */
    double a, b, diff, ci[2]; /* values under A and B, A - B and its 95% interval */
    int binary;               /* hits: McNemar applies */
    int64_t a_only, b_only;   /* discordant pairs */
    double p;                 /* McNemar exact two-sided p (1 when not binary) */
    double box_iou;           /* boxacc only: mean IoU of A's box with B's box (two empty
                                 boxes agree: 1; one empty: 0) */
} ci_pair;

/* Context shared by the calls: T targets, recs of variant v at rec[t*stride + v],
 * timg: (T) image of each target, N images; B resamples, seed, threads. */
typedef struct {
    const ci_rec *rec;
    int64_t stride, T, N;
    const int32_t *timg;
    int B;
    uint64_t seed;
    int threads;
} ci_ctx;

/* 95% bootstrap intervals (images resampled) of variant v's metrics.
 * MaxBoxAcc and MaxBoxAccV2 choose their thresholds inside each resample
 * (the best of the 100 thresholds on the resampled images; V2 per IoU
 * level), so the interval covers the choice too. 0, or -1 when out of memory. */
int ci_variant_compute(ci_variant *out, const ci_ctx *c, int v);

/* Variant a against b on the same targets: metric (CI_*), norm (for box
 * metrics). For MaxBoxAcc, value_a and value_b are each variant's maximum on
 * the full data (ma, mb) and each resample of the interval takes each
 * variant's own maximum on the resampled images. 0 or -1. */
int ci_pair_compute(ci_pair *out, const ci_ctx *c, int va, const agg_metrics *ma, int vb,
                    const agg_metrics *mb, int metric, int norm);

/* What the share intervals keep of one image's sign tables: per table
 * (0: alpha x A, 1: G x A) and region, the sums over its targets of the
 * PP, NN, PN and NP products (CI_SPP ...). */
enum { CI_SPP, CI_SNN, CI_SPN, CI_SNP, CI_NSUM };
typedef struct {
    double s[2][SGN_NREG][CI_NSUM];
} ci_sgn;

/* acc += one target's two tables (callers add targets in target order). */
void ci_sgn_add(ci_sgn *acc, const sgn_table tab[2]);

/* The two shares of a sign table (README "summary.json"):
 *   CI_NN_SHARE: s_NN / (s_PP + s_NN), the NN share of the positive mass;
 *   CI_NP_SHARE: s_NP / (s_PN + s_NP), the NP share of the negative mass.
 * region: SGN_* or SGN_NREG for all regions (cells summed over regions in
 * region order, as summary.json's "all"). -1 when the mass is not > 0. */
enum { CI_NN_SHARE, CI_NP_SHARE, CI_NSHARE };
double ci_share(const sgn_table *t, int region, int which);

/* 95% image-bootstrap interval of a share: the ratio of the resampled
 * images' sums (st_boot_ratio with per-image numerator and denominator),
 * img: (c->N) per-image sums, table 0 or 1, region as ci_share. 0, or -1
 * when out of memory (ci [0, 0] when c->B < 2 or c->N < 1). */
int ci_share_compute(double ci[2], const ci_ctx *c, const ci_sgn *img, int table, int region,
                     int which);
/* Every share interval at once, [table][region or all][NN, NP], each the
 * bytes of ci_share_compute, the resamples drawn once for all sixteen. 0, or
 * -1 when out of memory. */
int ci_shares_compute(double ci[2][SGN_NREG + 1][CI_NSHARE][2], const ci_ctx *c,
                      const ci_sgn *img);

#endif
