/* summary.c: summary.json (README "Outputs"), the record of a run: its one
 * writer and its one reader; every command that reads a summary (report,
 * compare, gallery) reads it through here.
 *
 * DESIGN
 * Writing: a streaming writer (jsonw.c) in a fixed member order, numbers as
 * %.10g, so equal runs give equal bytes outside the "run" block (date,
 * command, timings). Reading: jansson, strict (JSON_REJECT_DUPLICATES), with
 * the file, line and column of a syntax error; then the checks every reader
 * needs (schema string, an inputs array); sum_* accessors turn a missing
 * member or a wrong type into "FILE: PATH.TO.MEMBER: problem".
 *
 * Thread safety: no shared state.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/output/summary.h"

#include "pipeline/output/jsonw.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef GCS_VERSION
#define GCS_VERSION "unknown"
#endif

const int sum_pair_metric[SUM_PAIR_METRICS] = {CI_BOXACC, CI_BOXACC, CI_MAXBOXACC,
                                               CI_MAXBOXACC, CI_POINTING, CI_ENERGY};
const int sum_pair_norm[SUM_PAIR_METRICS] = {LOC_MAX, LOC_MINMAX, LOC_MAX, LOC_MINMAX, 0, 0};

/* ---- writing ------------------------------------------------------------- */

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

/* A sign table: per region and "all", the counts and sums, then the NN and
 * NP shares (ci_share; absent where their mass is 0) with their intervals
 * (share_ci: [region or all][NN, NP], written when with_ci). */
static void json_table(jw *w, const char *key, const sgn_table *t,
                       const double share_ci[SGN_NREG + 1][CI_NSHARE][2], int with_ci)
{
    static const char *const sk[CI_NSHARE] = {"nn_share", "np_share"};
    static const char *const ck[CI_NSHARE] = {"nn_share_ci95", "np_share_ci95"};
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
        for (int k = 0; k < CI_NSHARE; k++) {
            double v = ci_share(t, reg, k);
            if (v < 0)
                continue;
            jw_num(w, sk[k], v);
            if (with_ci)
                jw_nums(w, ck[k], share_ci[reg][k], 2);
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

/* One variant's object: its metrics, their intervals, the curves, the
 * per-class pointing and the evidence block. */
static void json_variant(jw *w, const input_res *ir, const run_opts *o, const h5in_meta *m,
                         int v)
{
    const agg_metrics *am = &ir->am[v];
    const ci_variant *ci = &ir->ci[v];
    const agg_variant *a = &ir->agg[v];
    int with_ci = o->bootstrap >= 2;
    jw_obj(w, var_name(v));
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

/* The "paired" array: every pair of variants the input compares, per metric. */
static void json_pairs(jw *w, const input_res *ir, const run_opts *o)
{
    jw_arr(w, "paired");
    for (int p = 0; p < ir->npairs; p++)
        for (int k = 0; k < SUM_PAIR_METRICS; k++) {
            const ci_pair *q = &ir->pairs[p * SUM_PAIR_METRICS + k];
            jw_obj(w, NULL);
            jw_str(w, "a", var_name(ir->pair_a[p]));
            jw_str(w, "b", var_name(ir->pair_b[p]));
            jw_str(w, "metric", ci_metric_name(sum_pair_metric[k]));
            if (ci_metric_has_norm(sum_pair_metric[k]))
                jw_str(w, "norm", loc_norm_name(sum_pair_norm[k]));
            jw_int(w, "targets", q->targets);
            jw_num(w, "value_a", q->a);
            jw_num(w, "value_b", q->b);
            jw_num(w, "diff", q->diff);
            if (o->bootstrap >= 2)
                jw_nums(w, "diff_ci95", q->ci, 2);
            if (sum_pair_metric[k] == CI_BOXACC)
                jw_num(w, "box_iou_mean", q->box_iou);
            if (q->binary) {
                jw_int(w, "a_only", q->a_only);
                jw_int(w, "b_only", q->b_only);
                jw_num(w, "mcnemar_p", q->p);
            }
            jw_obj_end(w);
        }
    jw_arr_end(w);
}

/* One mode's {"zero": {order: {auc, auc_ci95, curve, raw_curve}}, ...}. */
static void json_causal_mode(jw *w, const cv_file *cv, const cz_res *z, int mode, int with_ci)
{
    int P = cv->S + 1;
    jw_obj(w, mode == CZ_DELETION ? "deletion" : "insertion");
    for (int r = 0; r < cv->R; r++) {
        jw_obj(w, cv_ref_name(cv, r));
        for (int o = 0; o < cv->O; o++) {
            size_t ro = (size_t)(mode * cv->R + r) * (size_t)cv->O + (size_t)o;
            jw_obj(w, cv->orders[o]);
            jw_num(w, "auc", z->auc[ro]);
            if (with_ci)
                jw_nums(w, "auc_ci95", z->auc_ci + 2 * ro, 2);
            jw_nums(w, "curve", z->curve + ro * (size_t)P, P);
            jw_nums(w, "raw_curve", z->raw + ro * (size_t)P, P);
            jw_obj_end(w);
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

static void json_causal_pairs(jw *w, const cv_file *cv, const cz_res *z, int64_t T, int with_ci)
{
    jw_arr(w, "paired");
    for (int mode = 0; mode < CZ_NMODE && cv->gradcam >= 0; mode++)
        for (int r = 0; r < cv->R; r++)
            for (int o = 0; o < cv->O; o++) {
                if (o == cv->gradcam)
                    continue;
                const cz_pair *p = &z->pair[(size_t)(mode * cv->R + r) * (size_t)cv->O + (size_t)o];
                jw_obj(w, NULL);
                jw_str(w, "mode", mode == CZ_DELETION ? "deletion" : "insertion");
                jw_str(w, "reference", cv_ref_name(cv, r));
                jw_str(w, "a", cv->orders[cv->gradcam]);
                jw_str(w, "b", cv->orders[o]);
                jw_int(w, "targets", T);
                jw_num(w, "value_a", p->value_a);
                jw_num(w, "value_b", p->value_b);
                jw_num(w, "diff", p->diff);
                if (with_ci)
                    jw_nums(w, "diff_ci95", p->ci, 2);
                jw_obj_end(w);
            }
    jw_arr_end(w);
}

static void json_causal_claim(jw *w, const cv_file *cv, const cz_res *z, int with_ci)
{
    jw_obj(w, "claim");
    for (int r = 0; r < cv->R; r++) {
        const cz_claim *c = &z->claim[r];
        jw_obj(w, cv_ref_name(cv, r));
        jw_int(w, "eligible", c->eligible);
        jw_num(w, "target_neg", c->target_neg);
        jw_num(w, "target_random", c->target_random);
        jw_num(w, "target_diff", c->target_diff);
        if (with_ci)
            jw_nums(w, "target_diff_ci95", c->target_ci, 2);
        jw_int(w, "eligible_others", c->eligible_others);
        jw_num(w, "others_neg", c->others_neg);
        jw_num(w, "others_random", c->others_random);
        jw_num(w, "others_diff", c->others_diff);
        if (with_ci)
            jw_nums(w, "others_diff_ci95", c->others_ci, 2);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

static void json_causal_fits(jw *w, const cv_file *cv, const cz_res *z, int with_ci)
{
    static const char *const fn[CZ_NFIT] = {"gradcam", "hirescam"};
    jw_obj(w, "completeness");
    for (int r = 0; r < cv->R; r++) {
        jw_obj(w, cv_ref_name(cv, r));
        for (int k = 0; k < CZ_NFIT; k++) {
            const cz_fit *f = &z->fit[r * CZ_NFIT + k];
            jw_obj(w, fn[k]);
            jw_num(w, "r", f->r);
            if (with_ci)
                jw_nums(w, "r_ci95", f->r_ci, 2);
            jw_num(w, "slope", f->slope);
            if (with_ci)
                jw_nums(w, "slope_ci95", f->slope_ci, 2);
            jw_int(w, "n", f->n);
            jw_obj_end(w);
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

/* inputs[i].causal (README "summary.json"): only with --curves. */
static void json_causal(jw *w, const input_res *ir, const run_opts *o, int index)
{
    const cv_file *cv = ir->cv;
    const cz_res *z = ir->cz;
    int with_ci = o->bootstrap >= 2;
    jw_obj(w, "causal");
    jw_str(w, "curves_file", o->curves[index]);
    jw_str(w, "curves_sha256", cv->sha256);
    jw_str(w, "network", cv->network);
    jw_str(w, "layer", cv->layer);
    jw_int(w, "steps", cv->S);
    double *cells = malloc((size_t)(cv->S + 1) * sizeof *cells);
    if (cells) { /* one line; the counts are below 2^31, printed exactly by %.10g */
        for (int s = 0; s <= cv->S; s++)
            cells[s] = cv->cells[s];
        jw_nums(w, "cells", cells, cv->S + 1);
    } else {
        w->err = 1;
    }
    free(cells);
    jw_int(w, "targets", cv->T);
    jw_int(w, "seed", cv->seed);
    jw_arr(w, "references");
    for (int r = 0; r < cv->R; r++)
        jw_str(w, NULL, cv_ref_name(cv, r));
    jw_arr_end(w);
    jw_arr(w, "orders");
    for (int k = 0; k < cv->O; k++)
        jw_str(w, NULL, cv->orders[k]);
    jw_arr_end(w);
    jw_obj(w, "scale");
    for (int r = 0; r < cv->R; r++)
        jw_num(w, cv_ref_name(cv, r), z->scale[r]);
    jw_obj_end(w);
    jw_obj(w, "scale_degenerate");
    for (int r = 0; r < cv->R; r++)
        jw_bool(w, cv_ref_name(cv, r), z->scale_degenerate[r]);
    jw_obj_end(w);
    json_causal_mode(w, cv, z, CZ_DELETION, with_ci);
    json_causal_mode(w, cv, z, CZ_INSERTION, with_ci);
    jw_obj(w, "best");
    for (int mode = 0; mode < CZ_NMODE; mode++) {
        jw_obj(w, mode == CZ_DELETION ? "deletion" : "insertion");
        for (int r = 0; r < cv->R; r++) {
            int b = z->best[mode * cv->R + r];
            jw_str(w, cv_ref_name(cv, r), b >= 0 ? cv->orders[b] : "");
        }
        jw_obj_end(w);
    }
    jw_obj_end(w);
    json_causal_pairs(w, cv, z, cv->T, with_ci);
    json_causal_claim(w, cv, z, with_ci);
    json_causal_fits(w, cv, z, with_ci);
    jw_obj_end(w);
}

static void json_input(jw *w, const input_res *ir, const run_opts *o, int index)
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
    if (m->has_names)
        jw_int(w, "images_named", m->N); /* only when /images/name exists: older bytes kept */
    jw_obj_end(w);
    int nexp = 0;
    for (int k = 0; k < H5IN_NEXPORT; k++)
        nexp += m->export_count[k] >= 0;
    if (nexp) { /* the exporter's own counts (root attributes), only when it wrote some */
        jw_obj(w, "export");
        for (int k = 0; k < H5IN_NEXPORT; k++)
            if (m->export_count[k] >= 0)
                jw_int(w, h5in_export_count_name(k), m->export_count[k]);
        jw_obj_end(w);
    }
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
    for (int v = 0; v < VAR_N; v++) {
        if (!ir->active[v])
            continue;
        json_variant(w, ir, o, m, v);
    }
    jw_obj_end(w);
    json_pairs(w, ir, o);
    jw_obj(w, "sign_tables");
    json_table(w, "alphaA", &ir->tot[0], ir->share_ci[0], o->bootstrap >= 2);
    json_table(w, "GA", &ir->tot[1], ir->share_ci[1], o->bootstrap >= 2);
    jw_obj_end(w);
    if (ir->cv && ir->cz)
        json_causal(w, ir, o, index);
    if (ir->active[CAM_EIGENCAM]) { /* images with targets, and how often the sign rule flipped LAPACK's */
        jw_obj(w, "eigencam");
        jw_int(w, "images", ir->eig_images);
        jw_int(w, "sign_flips", ir->eig_flips);
        jw_obj_end(w);
    }
    jw_obj_end(w);
}

int sum_write(od_set *od, const input_res *irs, const run_opts *o, int ranks, double wall,
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
        json_input(&w, &irs[i], o, i);
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
    jw_int(&w, "ranks", ranks);
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


/* ---- reading ------------------------------------------------------------- */

/* Strict: no duplicate member names (a summary never has any; a reader
 * would have to pick one), and every number as jansson reads it (integers
 * as json_int_t, reals as double; json_number_value reads both). */
#define SUM_LOAD_FLAGS JSON_REJECT_DUPLICATES

/* The top-level checks every reader needs, on a document jansson returned
 * (or NULL with its error e). Consumes doc on failure. */
static json_t *checked(json_t *doc, const json_error_t *e, const char *file, char *err,
                       size_t errlen)
{
    if (!doc) {
        snprintf(err, errlen, "%s: line %d column %d: %s", file, e->line, e->column, e->text);
        return NULL;
    }
    sum_ck c = {file, err, errlen, 0};
    if (!json_is_object(doc))
        sum_fail(&c, "(top level)", NULL, "expected an object, found %s", sum_type_name(doc));
    const char *schema = sum_str(&c, doc, "", "schema");
    if (!c.failed && strcmp(schema, SUM_SCHEMA) != 0)
        sum_fail(&c, "schema", NULL, "\"%s\", expected \"" SUM_SCHEMA "\"", schema);
    sum_arr(&c, doc, "", "inputs");
    if (c.failed) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *sum_parse(const char *text, size_t len, const char *file, char *err, size_t errlen)
{
    json_error_t e;
    json_t *doc = json_loadb(text, len, SUM_LOAD_FLAGS, &e);
    return checked(doc, &e, file, err, errlen);
}

json_t *sum_read(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (f && fstat(fileno(f), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        fclose(f);
        f = NULL;
        errno = EISDIR;
    }
    if (!f) {
        snprintf(err, errlen, "%s: -: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    json_error_t e;
    json_t *doc = json_loadf(f, SUM_LOAD_FLAGS, &e);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        json_decref(doc);
        snprintf(err, errlen, "%s: -: read failed: %s", path, strerror(errno ? errno : EIO));
        return NULL;
    }
    return checked(doc, &e, path, err, errlen);
}

json_t *sum_inputs(const json_t *doc)
{
    return json_object_get(doc, "inputs");
}

void sum_fail(sum_ck *c, const char *at, const char *key, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = 1;
    int n = snprintf(c->err, c->errlen, "%s: %s%s%s: ", c->file, at, *at && key ? "." : "",
                     key ? key : "");
    if (n < 0 || (size_t)n >= c->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

const char *sum_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Member key of obj when it has type t (JSON_REAL: any number); else fail. */
static json_t *need(sum_ck *c, const json_t *obj, const char *at, const char *key, json_type t)
{
    static const char *const want[] = {
        [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
        [JSON_REAL] = "a number"};
    if (c->failed || !obj)
        return NULL;
    json_t *v = json_object_get(obj, key);
    if (!v) {
        sum_fail(c, at, key, "missing");
        return NULL;
    }
    if (t == JSON_REAL ? !json_is_number(v) : json_typeof(v) != t) {
        sum_fail(c, at, key, "expected %s, found %s", want[t], sum_type_name(v));
        return NULL;
    }
    return v;
}

json_t *sum_obj(sum_ck *c, const json_t *obj, const char *at, const char *key)
{
    return need(c, obj, at, key, JSON_OBJECT);
}

json_t *sum_arr(sum_ck *c, const json_t *obj, const char *at, const char *key)
{
    return need(c, obj, at, key, JSON_ARRAY);
}

json_t *sum_strv(sum_ck *c, const json_t *obj, const char *at, const char *key)
{
    return need(c, obj, at, key, JSON_STRING);
}

const char *sum_str(sum_ck *c, const json_t *obj, const char *at, const char *key)
{
    json_t *v = need(c, obj, at, key, JSON_STRING);
    return v ? json_string_value(v) : "";
}

double sum_num(sum_ck *c, const json_t *obj, const char *at, const char *key, double lo,
               double hi)
{
    json_t *v = need(c, obj, at, key, JSON_REAL);
    if (!v)
        return 0;
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) {
        sum_fail(c, at, key, "%.10g is out of range [%g, %g]", x, lo, hi);
        return 0;
    }
    return x;
}

long sum_count(sum_ck *c, const json_t *obj, const char *at, const char *key)
{
    double d = sum_num(c, obj, at, key, 0, 9.0e15);
    if (!c->failed && d != (double)(long)d)
        sum_fail(c, at, key, "expected a whole number, found %.10g", d);
    return c->failed ? 0 : (long)d;
}

int sum_interval(sum_ck *c, const json_t *obj, const char *at, const char *key, double min,
                 double max, double lohi[2])
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (c->failed)
        return -1;
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_number(json_array_get(v, 0)) ||
        !json_is_number(json_array_get(v, 1))) {
        sum_fail(c, at, key, "expected an interval [lo, hi] of two numbers, found %s",
                 json_is_array(v) ? "another array" : sum_type_name(v));
        return -1;
    }
    lohi[0] = json_number_value(json_array_get(v, 0));
    lohi[1] = json_number_value(json_array_get(v, 1));
    if (!(lohi[0] <= lohi[1]) || lohi[0] < min || lohi[1] > max) {
        sum_fail(c, at, key, "[%.10g, %.10g] is not an interval within [%g, %g]", lohi[0],
                 lohi[1], min, max);
        return -1;
    }
    return 1;
}
