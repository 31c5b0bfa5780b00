/* stats.c: one input's statistics after its walk: the per-variant metrics,
 * their bootstrap intervals, the sign-table shares' intervals and the paired
 * comparisons (which pairs and metrics: output/summary.h, the format that
 * reports them), and with --curves the causal curves' statistics
 * (analysis/causal.c).
 *
 * DESIGN
 * The arithmetic is analysis/agg.c's and analysis/intervals.c's; this file
 * only chooses what to compute, in a fixed order, so the bytes do not depend
 * on the thread count (the bootstrap's own threads combine in a fixed order).
 */
#include "pipeline/run/run_int.h"

#include "pipeline/common/timer.h"
#include "pipeline/output/summary.h"

#include <stdlib.h>

/* The causal curves' statistics (analysis/causal.c) of an input with a
 * curves file. 0 or -1 (out of memory). */
static int causal_stats(input_res *ir, const run_opts *o)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    const cv_file *cv = ir->cv;
    cz_in in = {cv->R, cv->O, cv->S, m->T, m->N, m->timg, cv->cells, m->h * m->w, cv->ref_mu,
                cv->gradcam, cv->random, cv->y_orig, cv->y_ref, {cv->del, cv->ins},
                cv->n_neg, cv->n_others, cv->claim_target, cv->claim_others, ir->mass,
                o->bootstrap, o->seed, o->threads};
    if (!(ir->cz = calloc(1, sizeof *ir->cz)) || cz_compute(ir->cz, &in) < 0) {
        free(ir->cz);
        ir->cz = NULL;
        return -1;
    }
    return 0;
}

int run_stats_input(input_res *ir, const run_opts *o, char *err, size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    double t0 = tm_now_s();
    ci_ctx c = {ir->rec, VAR_N, m->T, m->N, m->timg, o->bootstrap, o->seed, o->threads};
    for (int v = 0; v < VAR_N; v++) {
        if (!ir->active[v])
            continue;
        agg_finish(&ir->am[v], &ir->agg[v]);
        if (ci_variant_compute(&ir->ci[v], &c, v) < 0)
            goto oom;
    }
    if (ci_shares_compute(ir->share_ci, &c, ir->img_sg) < 0)
        goto oom;
    int np = 0;
    for (int v = 0; v < VAR_N; v++)
        if (v != CAM_GRADCAM && ir->active[CAM_GRADCAM] && ir->active[v]) {
            ir->pair_a[np] = CAM_GRADCAM;
            ir->pair_b[np++] = v;
        }
    if (ir->active[CAM_HIRESCAM] && ir->active[CAM_HIRESCAM_SIGNED]) {
        ir->pair_a[np] = CAM_HIRESCAM;
        ir->pair_b[np++] = CAM_HIRESCAM_SIGNED;
    }
    ir->npairs = np;
    ir->pairs = calloc((size_t)(np ? np : 1) * SUM_PAIR_METRICS, sizeof(ci_pair));
    if (!ir->pairs)
        goto oom;
    for (int p = 0; p < np; p++)
        for (int k = 0; k < SUM_PAIR_METRICS; k++) {
            int a = ir->pair_a[p], b = ir->pair_b[p];
            if (ci_pair_compute(&ir->pairs[p * SUM_PAIR_METRICS + k], &c, a, &ir->am[a], b,
                                &ir->am[b], sum_pair_metric[k], sum_pair_norm[k]) < 0)
                goto oom;
        }
    if (ir->cv && causal_stats(ir, o) < 0)
        goto oom;
    ir->t_stats = tm_now_s() - t0;
    return 0;
oom:
    snprintf(err, errlen, "%s: -: out of memory for the bootstrap", m->path);
    return -2;
}

