/* run_out.c: what a run writes besides maps.h5: the targets.csv and
 * signs.csv rows, the per-input statistics (metrics, bootstrap intervals,
 * paired comparisons) and summary.json.
 *
 * DESIGN
 * Pure formatting and arithmetic over the results run.c has collected, in
 * the order it hands them over (target order), so that the bytes depend on
 * the inputs alone. Split from run.c, which drives the computation.
 *
 * Thread safety: called from the main thread; the statistics use OpenMP
 * threads inside analysis/ci.c.
 */
#define _POSIX_C_SOURCE 200809L
#include "run_internal.h"

#include "../kernels/cam.h"
#include "json.h"
#include "par.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef GCS_VERSION
#define GCS_VERSION "unknown"
#endif

/* ---- CSV ----------------------------------------------------------------- */

const char RUN_CSV_HEADER[] =
    "input,target,image,class,variant,has_box,degenerate,"
    "x0_max,y0_max,x1_max,y1_max,iou_max,hit_max,"
    "x0_minmax,y0_minmax,x1_minmax,y1_minmax,iou_minmax,hit_minmax,"
    "point_x,point_y,point_hit,energy,"
    "other_area,neg_other,pos_other,neg_enrichment,pos_enrichment\n";

void run_csv_row(FILE *f, int input, int64_t t, int img, int cls, int v, const target_res *r)
{
    const loc_result *L = &r->loc[v];
    int show = r->has_box && !L->degenerate;
    fprintf(f, "%d,%lld,%d,%d,%s,%d,%d", input, (long long)t, img, cls, run_variant_name(v),
            r->has_box, L->degenerate);
    for (int n = 0; n < LOC_NNORM; n++) {
        if (show)
            fprintf(f, ",%d,%d,%d,%d", L->box[n].x0, L->box[n].y0, L->box[n].x1, L->box[n].y1);
        else
            fputs(",,,,", f);
        if (r->has_box)
            fprintf(f, ",%.9g,%d", L->iou[n], L->iou[n] >= 0.5);
        else
            fputs(",,", f);
    }
    if (show)
        fprintf(f, ",%d,%d,%d", L->px, L->py, L->point_hit);
    else if (r->has_box)
        fputs(",,,0", f);
    else
        fputs(",,,", f);
    if (r->has_box)
        fprintf(f, ",%.9g", L->energy);
    else
        fputs(",", f);
    if (L->has_other) {
        fprintf(f, ",%.9g", L->other_area);
        if (L->neg_ok) fprintf(f, ",%.9g", L->neg_other); else fputs(",", f);
        if (L->pos_ok) fprintf(f, ",%.9g", L->pos_other); else fputs(",", f);
        if (L->neg_ok) fprintf(f, ",%.9g", L->neg_other / L->other_area); else fputs(",", f);
        if (L->pos_ok) fprintf(f, ",%.9g", L->pos_other / L->other_area); else fputs(",", f);
    } else {
        fputs(",,,,,", f);
    }
    fputc('\n', f);
}

const char RUN_SIGNS_HEADER[] =
    "input,target,image,class,table,region,"
    "n_PP,n_P0,n_PN,n_0P,n_00,n_0N,n_NP,n_N0,n_NN,"
    "s_PP,s_P0,s_PN,s_0P,s_00,s_0N,s_NP,s_N0,s_NN\n";

void run_signs_rows(FILE *f, int input, int64_t t, int img, int cls, const target_res *r)
{
    static const char *const tname[2] = {"alphaA", "GA"};
    for (int tb = 0; tb < 2; tb++)
        for (int reg = 0; reg < SGN_NREG; reg++) {
            fprintf(f, "%d,%lld,%d,%d,%s,%s", input, (long long)t, img, cls, tname[tb],
                    sgn_region_name(reg));
            for (int c = 0; c < SGN_NCELL; c++)
                fprintf(f, ",%lld", (long long)r->sg[tb].n[reg][c]);
            for (int c = 0; c < SGN_NCELL; c++)
                fprintf(f, ",%.17g", r->sg[tb].s[reg][c] == 0.0 ? 0.0 : r->sg[tb].s[reg][c]);
            fputc('\n', f);
        }
}

/* ---- statistics ---------------------------------------------------------- */

/* Pairs compared: gradcam against every other variant, and HiResCAM with
 * and without its ReLU. Metrics per pair: BoxAcc and MaxBoxAcc per norm,
 * pointing, energy. */
#define PAIR_METRICS 6
static const int pair_metric[PAIR_METRICS] = {CI_BOXACC, CI_BOXACC, CI_MAXBOXACC,
                                              CI_MAXBOXACC, CI_POINTING, CI_ENERGY};
static const int pair_norm[PAIR_METRICS] = {LOC_MAX, LOC_MINMAX, LOC_MAX, LOC_MINMAX, 0, 0};

int run_stats_input(input_res *ir, const run_opts *o, char *err, size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(ir->f);
    double t0 = run_now_s();
    ci_ctx c = {ir->rec, RUN_NVAR, m->T, m->N, m->timg, o->bootstrap, o->seed, o->threads};
    for (int v = 0; v < RUN_NVAR; v++) {
        if (!ir->active[v])
            continue;
        agg_finish(&ir->am[v], &ir->agg[v]);
        if (ci_variant_compute(&ir->ci[v], &c, v, &ir->am[v]) < 0)
            goto oom;
    }
    int np = 0;
    for (int v = 0; v < RUN_NVAR; v++)
        if (v != CAM_GRADCAM && ir->active[CAM_GRADCAM] && ir->active[v]) {
            ir->pair_a[np] = CAM_GRADCAM;
            ir->pair_b[np++] = v;
        }
    if (ir->active[CAM_HIRESCAM] && ir->active[CAM_HIRESCAM_SIGNED]) {
        ir->pair_a[np] = CAM_HIRESCAM;
        ir->pair_b[np++] = CAM_HIRESCAM_SIGNED;
    }
    ir->npairs = np;
    ir->pairs = calloc((size_t)(np ? np : 1) * PAIR_METRICS, sizeof(ci_pair));
    if (!ir->pairs)
        goto oom;
    for (int p = 0; p < np; p++)
        for (int k = 0; k < PAIR_METRICS; k++) {
            int a = ir->pair_a[p], b = ir->pair_b[p];
            if (ci_pair_compute(&ir->pairs[p * PAIR_METRICS + k], &c, a, &ir->am[a], b,
                                &ir->am[b], pair_metric[k], pair_norm[k]) < 0)
                goto oom;
        }
    ir->t_stats = run_now_s() - t0;
    return 0;
oom:
    snprintf(err, errlen, "%s: -: out of memory for the bootstrap", m->path);
    return -2;
}

/* ---- summary.json -------------------------------------------------------- */

static void json_norms(jw *w, const char *key, const double *v)
{
    jw_obj(w, key);
    for (int n = 0; n < LOC_NNORM; n++)
        jw_num(w, loc_norm_name(n), v[n]);
    jw_obj_end(w);
}

static void json_norms_ci(jw *w, const char *key, const double ci[LOC_NNORM][2])
{
    jw_obj(w, key);
    for (int n = 0; n < LOC_NNORM; n++)
        jw_nums(w, loc_norm_name(n), ci[n], 2);
    jw_obj_end(w);
}

static void json_table(jw *w, const char *key, const sgn_table *t)
{
    jw_obj(w, key);
    for (int reg = 0; reg <= SGN_NREG; reg++) {
        jw_obj(w, reg < SGN_NREG ? sgn_region_name(reg) : "all");
        jw_obj(w, "count");
        for (int c = 0; c < SGN_NCELL; c++) {
            int64_t n = 0;
            for (int r = 0; r < SGN_NREG; r++)
                if (r == reg || reg == SGN_NREG) n += t->n[r][c];
            jw_int(w, sgn_cell_name(c), n);
        }
        jw_obj_end(w);
        jw_obj(w, "sum");
        for (int c = 0; c < SGN_NCELL; c++) {
            double s = 0;
            for (int r = 0; r < SGN_NREG; r++)
                if (r == reg || reg == SGN_NREG) s += t->s[r][c];
            jw_num(w, sgn_cell_name(c), s);
        }
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

static void json_input(jw *w, const input_res *ir, const run_opts *o)
{
    static const char *const an[5] = {"schema", "model", "layer", "activation", "dataset"};
    const h5in_meta *m = h5in_meta_of(ir->f);
    jw_obj(w, NULL);
    jw_str(w, "file", m->path);
    jw_obj(w, "provenance");
    jw_int(w, "bytes", ir->bytes);
    jw_str(w, "sha256", ir->sha256);
    jw_obj_end(w);
    jw_obj(w, "attributes");
    for (int i = 0; i < 5; i++)
        jw_str(w, an[i], m->attr[i]);
    jw_obj_end(w);
    jw_arr(w, "classes");
    for (int c = 0; c < m->C; c++)
        jw_str(w, NULL, m->classes[c]);
    jw_arr_end(w);
    jw_obj(w, "counts");
    jw_int(w, "images", m->N);
    jw_int(w, "classes", m->C);
    jw_int(w, "channels", m->K);
    jw_int(w, "height", m->h);
    jw_int(w, "width", m->w);
    jw_int(w, "targets", m->T);
    jw_int(w, "boxes", m->B);
    jw_int(w, "boxes_difficult", m->boxes_difficult);
    jw_int(w, "boxes_clipped", m->boxes_clipped);
    jw_int(w, "targets_without_box", ir->targets_without_box);
    jw_int(w, "targets_scored", m->T - ir->targets_without_box);
    jw_str(w, "dtype_activations", m->dtype_a);
    jw_str(w, "dtype_gradients", m->dtype_g);
    jw_obj_end(w);
    jw_obj(w, "protocol");
    jw_num(w, "threshold", o->threshold);
    jw_num(w, "tolerance", o->tolerance);
    jw_num(w, "iou", 0.5);
    jw_int(w, "thresholds", LOC_NTHR);
    jw_int(w, "bootstrap_resamples", o->bootstrap);
    jw_int(w, "bootstrap_seed", (int64_t)o->seed);
    jw_str(w, "bootstrap_unit", "image");
    jw_obj_end(w);
    if (ir->save_maps)
        jw_str(w, "maps_file", ir->maps_name);
    jw_obj(w, "variants");
    for (int v = 0; v < RUN_NVAR; v++) {
        if (!ir->active[v])
            continue;
        const agg_metrics *am = &ir->am[v];
        const ci_variant *ci = &ir->ci[v];
        const agg_variant *a = &ir->agg[v];
        int with_ci = o->bootstrap >= 2;
        jw_obj(w, run_variant_name(v));
        jw_int(w, "degenerate", a->degenerate);
        json_norms(w, "boxacc", am->boxacc);
        if (with_ci) json_norms_ci(w, "boxacc_ci95", ci->boxacc);
        json_norms(w, "maxboxacc", am->maxboxacc);
        if (with_ci) json_norms_ci(w, "maxboxacc_ci95", ci->maxboxacc);
        json_norms(w, "maxboxacc_threshold", am->maxboxacc_t);
        json_norms(w, "maxboxacc_v2", am->maxboxacc_v2);
        if (with_ci) json_norms_ci(w, "maxboxacc_v2_ci95", ci->maxboxacc_v2);
        jw_obj(w, "boxacc_curve");
        for (int n = 0; n < LOC_NNORM; n++)
            jw_nums(w, loc_norm_name(n), am->curve[n], LOC_NTHR);
        jw_obj_end(w);
        jw_num(w, "pointing", am->pointing);
        if (with_ci) jw_nums(w, "pointing_ci95", ci->pointing, 2);
        jw_num(w, "pointing_class_mean", am->pointing_class_mean);
        jw_obj(w, "pointing_per_class");
        for (int cl = 0; cl < m->C; cl++) {
            double p = agg_class_pointing(a, cl);
            if (p >= 0)
                jw_num(w, m->classes[cl], p);
        }
        jw_obj_end(w);
        jw_num(w, "energy", am->energy);
        if (with_ci) jw_nums(w, "energy_ci95", ci->energy, 2);
        jw_obj(w, "evidence");
        jw_int(w, "eligible_neg", a->neg_n);
        jw_num(w, "neg_other", am->neg_other);
        jw_num(w, "neg_area", am->neg_area);
        jw_num(w, "neg_enrichment", am->neg_enrichment);
        if (with_ci) jw_nums(w, "neg_enrichment_ci95", ci->neg_enrichment, 2);
        jw_int(w, "eligible_pos", a->pos_n);
        jw_num(w, "pos_other", am->pos_other);
        jw_num(w, "pos_area", am->pos_area);
        jw_num(w, "pos_enrichment", am->pos_enrichment);
        if (with_ci) jw_nums(w, "pos_enrichment_ci95", ci->pos_enrichment, 2);
        jw_obj_end(w);
        jw_obj_end(w);
    }
    jw_obj_end(w);
    jw_arr(w, "paired");
    for (int p = 0; p < ir->npairs; p++)
        for (int k = 0; k < PAIR_METRICS; k++) {
            const ci_pair *q = &ir->pairs[p * PAIR_METRICS + k];
            jw_obj(w, NULL);
            jw_str(w, "a", run_variant_name(ir->pair_a[p]));
            jw_str(w, "b", run_variant_name(ir->pair_b[p]));
            jw_str(w, "metric", ci_metric_name(pair_metric[k]));
            if (ci_metric_has_norm(pair_metric[k]))
                jw_str(w, "norm", loc_norm_name(pair_norm[k]));
            jw_int(w, "targets", q->targets);
            jw_num(w, "value_a", q->a);
            jw_num(w, "value_b", q->b);
            jw_num(w, "diff", q->diff);
            if (o->bootstrap >= 2)
                jw_nums(w, "diff_ci95", q->ci, 2);
            if (pair_metric[k] == CI_BOXACC)
                jw_num(w, "box_iou_mean", q->box_iou);
            if (q->binary) {
                jw_int(w, "a_only", q->a_only);
                jw_int(w, "b_only", q->b_only);
                jw_num(w, "mcnemar_p", q->p);
            }
            jw_obj_end(w);
        }
    jw_arr_end(w);
    jw_obj(w, "sign_tables");
    json_table(w, "alphaA", &ir->tot[0]);
    json_table(w, "GA", &ir->tot[1]);
    jw_obj_end(w);
    jw_obj_end(w);
}

int run_write_summary(od_set *od, input_res *irs, const run_opts *o, double wall,
                         char *err, size_t errlen)
{
    FILE *f = od_fopen(od, "summary.json", err, errlen);
    if (!f)
        return -2;
    jw w;
    jw_init(&w, f);
    jw_obj(&w, NULL);
    jw_str(&w, "schema", "gradcam-study-summary/1");
    jw_arr(&w, "inputs");
    for (int i = 0; i < o->ninputs; i++)
        json_input(&w, &irs[i], o);
    jw_arr_end(&w);
    jw_obj(&w, "run");
    char date[32];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    jw_str(&w, "date_utc", date);
    jw_str(&w, "version", GCS_VERSION);
    jw_str(&w, "command", o->command ? o->command : "");
    jw_int(&w, "threads", o->threads);
    jw_int(&w, "features_only", o->features_only);
    jw_int(&w, "ranks", par_size());
    jw_num(&w, "wall_seconds", wall);
    jw_arr(&w, "stages");
    for (int i = 0; i < o->ninputs; i++) {
        jw_obj(&w, NULL);
        jw_num(&w, "hash_seconds", irs[i].t_hash);
        jw_num(&w, "mu_seconds", irs[i].t_mu);
        jw_num(&w, "main_seconds", irs[i].t_main);
        jw_num(&w, "stats_seconds", irs[i].t_stats);
        jw_num(&w, "read_seconds", irs[i].t_read);
        jw_num(&w, "read_wait_seconds", irs[i].t_wait);
        jw_num(&w, "features_seconds", irs[i].t_features);
        jw_num(&w, "localization_seconds", irs[i].t_localize);
        jw_int(&w, "double_buffered", irs[i].double_buffered);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    jw_obj_end(&w);
    int bad = jw_end(&w);
    if (od_fclose(f, "summary.json", err, errlen) < 0)
        return -2;
    if (bad) {
        snprintf(err, errlen, "%s: summary.json: a non-finite number or a write error", o->outdir);
        return -2;
    }
    return 0;
}

