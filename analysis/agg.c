/* agg.c: from per-target results to the file's metrics.
 *
 * DESIGN
 * Counts (hits per threshold and norm, pointing hits per class) are integers,
 * so any order gives the same totals; the few double sums (energy, evidence
 * shares) are added in the order the caller feeds targets, which the
 * pipeline keeps to target order whatever the thread count.
 * MaxBoxAcc is the best BoxAcc over the 100 thresholds, with the first
 * threshold reaching it; MaxBoxAccV2 averages, over IoU 0.3 / 0.5 / 0.7, the
 * best BoxAcc over thresholds when any component's box may match.
 * A ratio whose denominator is 0 is reported as 0, never NaN.
 *
 * Thread safety: an agg_variant is owned by one thread at a time.
 */
#include "analysis/agg.h"

#include <stdlib.h>
#include <string.h>

int agg_init(agg_variant *a, int C)
{
    memset(a, 0, sizeof *a);
    a->C = C;
    a->cls_n = calloc((size_t)(C > 0 ? C : 1), sizeof(int64_t));
    a->cls_hit = calloc((size_t)(C > 0 ? C : 1), sizeof(int64_t));
    if (!a->cls_n || !a->cls_hit) {
        agg_free(a);
        return -1;
    }
    return 0;
}

void agg_free(agg_variant *a)
{
    free(a->cls_n);
    free(a->cls_hit);
    a->cls_n = a->cls_hit = NULL;
}

void agg_add(agg_variant *a, const loc_result *r, int has_box, int cls)
{
    a->targets++;
    if (r->has_other && r->neg_ok) {
        a->neg_n++;
        a->neg_area += r->other_area;
        a->neg_share += r->neg_other;
    }
    if (r->has_other && r->pos_ok) {
        a->pos_n++;
        a->pos_area += r->other_area;
        a->pos_share += r->pos_other;
    }
    if (!has_box)
        return;
    a->scored++;
    a->degenerate += r->degenerate;
    a->cls_n[cls]++;
    if (r->degenerate)
        return;
    for (int n = 0; n < LOC_NNORM; n++) {
        a->hit[n] += r->iou[n] >= 0.5;
        for (int i = 0; i < LOC_NTHR; i++) {
            uint8_t b = r->curve[n][i];
            a->curve[n][i] += (b & LOC_HIT) != 0;
            a->any[n][0][i] += (b & LOC_ANY30) != 0;
            a->any[n][1][i] += (b & LOC_ANY50) != 0;
            a->any[n][2][i] += (b & LOC_ANY70) != 0;
        }
    }
    a->point_hits += r->point_hit;
    a->cls_hit[cls] += r->point_hit;
    a->energy_sum += r->energy;
}

static double ratio(double num, double den)
{
    return den > 0 ? num / den : 0.0;
}

double agg_class_pointing(const agg_variant *a, int c)
{
    if (c < 0 || c >= a->C || a->cls_n[c] == 0)
        return -1.0;
    return (double)a->cls_hit[c] / (double)a->cls_n[c];
}

void agg_finish(agg_metrics *m, const agg_variant *a)
{
    double n = (double)a->scored;
    memset(m, 0, sizeof *m);
    for (int k = 0; k < LOC_NNORM; k++) {
        m->boxacc[k] = ratio((double)a->hit[k], n);
        for (int i = 0; i < LOC_NTHR; i++) {
            m->curve[k][i] = ratio((double)a->curve[k][i], n);
            if (i == 0 || m->curve[k][i] > m->maxboxacc[k]) {
                m->maxboxacc[k] = m->curve[k][i];
                m->maxboxacc_t[k] = i / 100.0;
                m->maxboxacc_i[k] = i;
            }
        }
        double v2 = 0.0;
        for (int d = 0; d < 3; d++) {
            int64_t best = 0;
            m->v2_t[k][d] = 0;
            for (int i = 0; i < LOC_NTHR; i++)
                if (a->any[k][d][i] > best) {
                    best = a->any[k][d][i];
                    m->v2_t[k][d] = i;
                }
            v2 += ratio((double)best, n);
        }
        m->maxboxacc_v2[k] = v2 / 3.0;
    }
    m->pointing = ratio((double)a->point_hits, n);
    double cm = 0.0;
    int nc = 0;
    for (int c = 0; c < a->C; c++)
        if (a->cls_n[c] > 0) {
            cm += (double)a->cls_hit[c] / (double)a->cls_n[c];
            nc++;
        }
    m->pointing_class_mean = ratio(cm, nc);
    m->energy = ratio(a->energy_sum, n);
    m->neg_other = ratio(a->neg_share, (double)a->neg_n);
    m->neg_area = ratio(a->neg_area, (double)a->neg_n);
    m->neg_enrichment = ratio(a->neg_share, a->neg_area);
    m->pos_other = ratio(a->pos_share, (double)a->pos_n);
    m->pos_area = ratio(a->pos_area, (double)a->pos_n);
    m->pos_enrichment = ratio(a->pos_share, a->pos_area);
}
