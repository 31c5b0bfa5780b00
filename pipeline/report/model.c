/* model.c: summary.json -> the report's model (rp_study), checked; the
 * training records -> the test mAP.
 *
 * DESIGN
 * The summary is read by its owner, output/summary.c (jansson, strict:
 * duplicate names and syntax errors are refused with line and column), and
 * walked here once: every member the report uses is taken with its
 * expected type and range through the sum_* accessors, and the first
 * missing member, wrong type or out-of-range value stops the load with the
 * member's full path, e.g.
 * "FILE: inputs[1].variants.gradcam.boxacc.max: expected a number, found a string".
 * So the text and figure code never meet a missing value. What the engine
 * writes optionally is optional here too: the _ci95 intervals (absent with
 * --bootstrap 0), variants (--variants, saliency), box_iou_mean, the
 * McNemar fields of paired comparisons, the sign tables' shares (absent
 * in older summaries and where a region has no mass) and the `causal` block
 * (Question 6, checked by q6model.c). Variants and paired comparisons
 * with names the report does not know are counted and skipped (a newer
 * engine). The "run" block is never read: it holds timings.
 * Variants are indexed as pipeline/common/variants.h (the engine's order).
 * Strings of rp_input point into the document, which rp_study owns; the
 * strings shown in Markdown tables are made safe in the document itself.
 * rp_load_models reads the training records NAME.json (scripts/train.py)
 * tolerantly: a missing or unreadable record only leaves a note.
 *
 * Thread safety: no globals written; one study per thread.
 */
#include "pipeline/report/model.h"

#include "pipeline/output/summary.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const rp_cell_names[RC_N] = {"PP", "P0", "PN", "0P", "00", "0N", "NP", "N0", "NN"};
const char *const rp_region_names[RR_N] = {"target", "other", "background", "all"};
const char *const rp_norm_names[RP_NNORM] = {"max", "minmax"};
static const char *const table_names[RT_N] = {"alphaA", "GA"};

#define PATHLEN 256

/* snprintf into a fixed buffer where truncation is acceptable (a member
 * path or a note cut short in a message). */
static void fmtn(char *o, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fmtn(char *o, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o, n, fmt, ap);
    va_end(ap);
}

/* {"max": x, "minmax": y} values with their optional KEY_ci95 intervals. */
static void norms(sum_ck *c, json_t *obj, const char *at, const char *key, double min,
                  double max, rp_val out[RP_NNORM])
{
    char p[PATHLEN], pci[PATHLEN], cikey[64];
    fmtn(p, sizeof p, "%s.%s", at, key);
    snprintf(cikey, sizeof cikey, "%s_ci95", key);
    fmtn(pci, sizeof pci, "%s.%s", at, cikey);
    json_t *o = sum_obj(c, obj, at, key);
    json_t *ci = json_object_get(obj, cikey);
    if (ci && !json_is_object(ci))
        sum_fail(c, at, cikey, "expected an object, found %s", sum_type_name(ci));
    for (int k = 0; k < RP_NNORM && !c->failed; k++) {
        double lohi[2] = {0, 0};
        out[k].v = sum_num(c, o, p, rp_norm_names[k], min, max);
        out[k].has_ci = sum_interval(c, ci, pci, rp_norm_names[k], min, max, lohi) == 1;
        out[k].lo = lohi[0];
        out[k].hi = lohi[1];
    }
}

/* boxacc_curve.{max,minmax}: nthr shares each, into owned arrays. */
static void curves(sum_ck *c, json_t *o, const char *at, long nthr, rp_variant *v)
{
    char p[PATHLEN];
    json_t *cv = sum_obj(c, o, at, "boxacc_curve");
    fmtn(p, sizeof p, "%s.boxacc_curve", at);
    for (int k = 0; k < RP_NNORM && !c->failed; k++) {
        json_t *a = sum_arr(c, cv, p, rp_norm_names[k]);
        if (a && (long)json_array_size(a) != nthr)
            sum_fail(c, p, rp_norm_names[k], "%zu values, expected protocol.thresholds = %ld",
                     json_array_size(a), nthr);
        if (c->failed)
            return;
        v->curve[k] = malloc((size_t)nthr * sizeof(double));
        if (!v->curve[k]) {
            sum_fail(c, p, rp_norm_names[k], "out of memory");
            return;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            json_t *x = json_array_get(a, i);
            double d = json_number_value(x);  /* 0 for a non-number */
            if (!json_is_number(x) || !(d >= 0 && d <= 1)) {
                sum_fail(c, p, rp_norm_names[k], "element %zu is not a share in [0, 1]", i);
                return;
            }
            v->curve[k][i] = d;
        }
    }
}

/* pointing_per_class: class name -> share, in file order. */
static void per_class(sum_ck *c, json_t *o, const char *at, rp_variant *v)
{
    char p[PATHLEN];
    json_t *pc = sum_obj(c, o, at, "pointing_per_class");
    if (c->failed)
        return;
    size_t n = json_object_size(pc);
    v->cls = calloc(n + 1, sizeof *v->cls);
    v->cls_pointing = calloc(n + 1, sizeof *v->cls_pointing);
    if (!v->cls || !v->cls_pointing) {
        sum_fail(c, at, "pointing_per_class", "out of memory");
        return;
    }
    fmtn(p, sizeof p, "%s.pointing_per_class", at);
    const char *key;
    json_t *x;
    int i = 0;
    json_object_foreach(pc, key, x) {  /* insertion order: the file's */
        (void)x;
        v->cls[i] = key;
        v->cls_pointing[i++] = sum_num(c, pc, p, key, 0, 1);
        if (c->failed)
            return;
    }
    v->nclass = i;
}

static void load_variant(sum_ck *c, json_t *o, const char *at, long nthr, rp_variant *v)
{
    char p[PATHLEN];
    rp_val t[RP_NNORM];
    v->present = 1;
    v->degenerate = sum_count(c, o, at, "degenerate");
    norms(c, o, at, "boxacc", 0, 1, v->boxacc);
    norms(c, o, at, "maxboxacc", 0, 1, v->maxboxacc);
    norms(c, o, at, "maxboxacc_threshold", 0, 1, t);
    v->maxboxacc_t[0] = t[0].v;
    v->maxboxacc_t[1] = t[1].v;
    norms(c, o, at, "maxboxacc_v2", 0, 1, v->maxboxacc_v2);
    curves(c, o, at, nthr, v);
    rp_val_read(c, o, at, "pointing", 0, 1, &v->pointing);
    v->pointing_class_mean = sum_num(c, o, at, "pointing_class_mean", 0, 1);
    per_class(c, o, at, v);
    rp_val_read(c, o, at, "energy", 0, 1, &v->energy);
    json_t *e = sum_obj(c, o, at, "evidence");
    fmtn(p, sizeof p, "%s.evidence", at);
    v->eligible_neg = sum_count(c, e, p, "eligible_neg");
    v->neg_other = sum_num(c, e, p, "neg_other", 0, 1);
    v->neg_area = sum_num(c, e, p, "neg_area", 0, 1);
    rp_val_read(c, e, p, "neg_enrichment", 0, 1e12, &v->neg_enr);
    v->eligible_pos = sum_count(c, e, p, "eligible_pos");
    v->pos_other = sum_num(c, e, p, "pos_other", 0, 1);
    v->pos_area = sum_num(c, e, p, "pos_area", 0, 1);
    rp_val_read(c, e, p, "pos_enrichment", 0, 1e12, &v->pos_enr);
}

/* One element of "paired" into q; 1 when both variants are known. */
static int load_pair(sum_ck *c, json_t *o, const char *p, rp_pair *q)
{
    q->a = var_index(sum_str(c, o, p, "a"));
    q->b = var_index(sum_str(c, o, p, "b"));
    snprintf(q->metric, sizeof q->metric, "%s", sum_str(c, o, p, "metric"));
    q->norm = -1;
    if (json_object_get(o, "norm")) {
        const char *ns = sum_str(c, o, p, "norm");
        for (int k = 0; k < RP_NNORM; k++)
            if (!strcmp(ns, rp_norm_names[k]))
                q->norm = k;
        if (q->norm < 0)
            sum_fail(c, p, "norm", "\"%s\" is neither max nor minmax", ns);
    }
    q->targets = sum_count(c, o, p, "targets");
    q->va = sum_num(c, o, p, "value_a", -1e12, 1e12);
    q->vb = sum_num(c, o, p, "value_b", -1e12, 1e12);
    q->diff = sum_num(c, o, p, "diff", -1e12, 1e12);
    double lohi[2] = {0, 0};
    q->has_ci = sum_interval(c, o, p, "diff_ci95", -1e12, 1e12, lohi) == 1;
    q->lo = lohi[0];
    q->hi = lohi[1];
    if (json_object_get(o, "box_iou_mean")) {
        q->box_iou = sum_num(c, o, p, "box_iou_mean", 0, 1);
        q->has_iou = 1;
    }
    if (json_object_get(o, "a_only") || json_object_get(o, "b_only") ||
        json_object_get(o, "mcnemar_p")) {
        q->a_only = sum_count(c, o, p, "a_only");
        q->b_only = sum_count(c, o, p, "b_only");
        q->p = sum_num(c, o, p, "mcnemar_p", 0, 1);
        q->has_mc = 1;
    }
    return q->a >= 0 && q->b >= 0;
}

static void load_pairs(sum_ck *c, json_t *arr, const char *at, rp_input *in)
{
    char p[PATHLEN];
    in->pairs = calloc(json_array_size(arr) + 1, sizeof *in->pairs);
    if (!in->pairs) {
        sum_fail(c, at, NULL, "out of memory");
        return;
    }
    for (size_t i = 0; i < json_array_size(arr) && !c->failed; i++) {
        json_t *o = json_array_get(arr, i);
        fmtn(p, sizeof p, "%s[%zu]", at, i);
        if (!json_is_object(o)) {
            sum_fail(c, p, NULL, "expected an object, found %s", sum_type_name(o));
            return;
        }
        in->npairs += load_pair(c, o, p, &in->pairs[in->npairs]);
    }
}

/* An optional share in [0, 1] with its optional KEY_ci95 (v -1 when absent). */
static void share(sum_ck *c, json_t *obj, const char *at, const char *key, rp_val *out)
{
    memset(out, 0, sizeof *out);
    out->v = -1;
    if (json_object_get(obj, key))
        rp_val_read(c, obj, at, key, 0, 1, out);
}

static void load_signs(sum_ck *c, json_t *o, const char *at, rp_input *in)
{
    char p[PATHLEN], p2[PATHLEN];
    for (int t = 0; t < RT_N && !c->failed; t++) {
        json_t *tab = sum_obj(c, o, at, table_names[t]);
        for (int r = 0; r < RR_N && !c->failed; r++) {
            fmtn(p, sizeof p, "%s.%s", at, table_names[t]);
            json_t *reg = sum_obj(c, tab, p, rp_region_names[r]);
            fmtn(p, sizeof p, "%s.%s.%s", at, table_names[t], rp_region_names[r]);
            json_t *cnt = sum_obj(c, reg, p, "count");
            json_t *sum = sum_obj(c, reg, p, "sum");
            for (int k = 0; k < RC_N && !c->failed; k++) {
                fmtn(p2, sizeof p2, "%s.count", p);
                in->signs[t][r].count[k] = (double)sum_count(c, cnt, p2, rp_cell_names[k]);
                fmtn(p2, sizeof p2, "%s.sum", p);
                in->signs[t][r].sum[k] = sum_num(c, sum, p2, rp_cell_names[k], -1e300, 1e300);
            }
            for (int k = 0; k < RS_N && !c->failed; k++) /* optional: newer summaries */
                share(c, reg, p, k ? "np_share" : "nn_share", &in->signs[t][r].share[k]);
        }
    }
}

static char *make_stem(const char *file)
{
    const char *b = strrchr(file, '/');
    b = b ? b + 1 : file;
    char *s = strdup(*b ? b : "input");
    if (!s)
        return NULL;
    size_t len = strlen(s);
    if (len > 3 && !strcmp(s + len - 3, ".h5"))  /* as `gallery` names its files */
        s[len - 3] = 0;
    for (char *q = s; *q; q++)  /* shown in tables and code spans */
        if (*q == '|' || *q == '`' || (unsigned char)*q < 0x20)
            *q = '_';
    return s;
}

/* attributes, counts and protocol of one input. */
static void load_header(sum_ck *c, json_t *o, const char *at, rp_input *in)
{
    char p[PATHLEN];
    in->file = sum_str(c, o, at, "file");
    fmtn(p, sizeof p, "%s.attributes", at);
    json_t *a = sum_obj(c, o, at, "attributes");
    in->model = rp_md_str(c, a, p, "model");
    in->layer = rp_md_str(c, a, p, "layer");
    in->activation = rp_md_str(c, a, p, "activation");
    in->dataset = rp_md_str(c, a, p, "dataset");
    sum_arr(c, o, at, "classes");
    fmtn(p, sizeof p, "%s.counts", at);
    json_t *n = sum_obj(c, o, at, "counts");
    in->images = sum_count(c, n, p, "images");
    in->nclasses = sum_count(c, n, p, "classes");
    in->channels = sum_count(c, n, p, "channels");
    in->height = sum_count(c, n, p, "height");
    in->width = sum_count(c, n, p, "width");
    in->targets = sum_count(c, n, p, "targets");
    in->boxes = sum_count(c, n, p, "boxes");
    in->boxes_difficult = sum_count(c, n, p, "boxes_difficult");
    in->boxes_clipped = sum_count(c, n, p, "boxes_clipped");
    in->targets_without_box = sum_count(c, n, p, "targets_without_box");
    in->targets_scored = sum_count(c, n, p, "targets_scored");
    in->dtype_a = rp_md_str(c, n, p, "dtype_activations");
    in->dtype_g = rp_md_str(c, n, p, "dtype_gradients");
    in->images_named = json_object_get(n, "images_named") ? sum_count(c, n, p, "images_named") : 0;
    json_t *ex = json_object_get(o, "export");
    fmtn(p, sizeof p, "%s.export", at);
    if (ex && !json_is_object(ex))
        sum_fail(c, at, "export", "expected an object, found %s", sum_type_name(ex));
    for (int k = 0; k < H5IN_NEXPORT; k++) {
        const char *name = h5in_export_count_name(k);
        in->export_count[k] =
            ex && json_is_object(ex) && json_object_get(ex, name) ? sum_count(c, ex, p, name) : -1;
    }
    json_t *eg = json_object_get(o, "eigencam");
    fmtn(p, sizeof p, "%s.eigencam", at);
    if (eg && !json_is_object(eg))
        sum_fail(c, at, "eigencam", "expected an object, found %s", sum_type_name(eg));
    in->eig_images = in->eig_flips = -1;
    if (eg && json_is_object(eg)) {
        in->eig_images = sum_count(c, eg, p, "images");
        in->eig_flips = sum_count(c, eg, p, "sign_flips");
        if (!c->failed && in->eig_flips > in->eig_images)
            sum_fail(c, p, "sign_flips", "%ld is more than images (%ld)", in->eig_flips,
                     in->eig_images);
    }
    fmtn(p, sizeof p, "%s.protocol", at);
    json_t *pr = sum_obj(c, o, at, "protocol");
    in->threshold = sum_num(c, pr, p, "threshold", 0, 1);
    in->tolerance = sum_num(c, pr, p, "tolerance", 0, 1e9);
    in->iou = sum_num(c, pr, p, "iou", 0, 1);
    in->nthr = sum_count(c, pr, p, "thresholds");
    if (!c->failed && (in->nthr < 1 || in->nthr > 10000))
        sum_fail(c, p, "thresholds", "%ld is out of range [1, 10000]", in->nthr);
    in->resamples = sum_count(c, pr, p, "bootstrap_resamples");
    in->seed = sum_count(c, pr, p, "bootstrap_seed");
    in->unit = sum_str(c, pr, p, "bootstrap_unit");
}

static int load_input(sum_ck *c, json_t *o, const char *at, rp_input *in)
{
    char p[PATHLEN];
    load_header(c, o, at, in);
    fmtn(p, sizeof p, "%s.variants", at);
    json_t *vs = sum_obj(c, o, at, "variants");
    const char *key;
    json_t *x;
    if (!c->failed)
        json_object_foreach(vs, key, x) {  /* no name twice: the reader refuses duplicates */
            int v = var_index(key);
            char pv[PATHLEN];
            fmtn(pv, sizeof pv, "%s.%s", p, key);
            if (!json_is_object(x))
                sum_fail(c, pv, NULL, "expected an object, found %s", sum_type_name(x));
            else if (v < 0)
                in->nunknown++;
            else
                load_variant(c, x, pv, in->nthr, &in->var[v]);
            if (c->failed)
                break;
        }
    if (!c->failed && !in->var[CAM_GRADCAM].present)
        sum_fail(c, p, "gradcam", "missing (every question compares against Grad-CAM)");
    fmtn(p, sizeof p, "%s.paired", at);
    json_t *pa = sum_arr(c, o, at, "paired");
    if (!c->failed)
        load_pairs(c, pa, p, in);
    fmtn(p, sizeof p, "%s.sign_tables", at);
    json_t *sg = sum_obj(c, o, at, "sign_tables");
    if (!c->failed)
        load_signs(c, sg, p, in);
    json_t *ca = json_object_get(o, "causal");  /* absent without --curves */
    if (ca && !c->failed)
        rp_causal_load(c, ca, at, in->height * in->width, &in->causal);
    if (c->failed)
        return -1;
    in->stem = make_stem(in->file);
    if (!in->stem) {
        sum_fail(c, at, "file", "out of memory");
        return -1;
    }
    return 0;
}

/* Figure names: the stem with unsafe bytes replaced, "-I" added when two
 * inputs would share a name. */
static int make_figstems(rp_study *st)
{
    for (int i = 0; i < st->n; i++) {
        rp_input *in = &st->in[i];
        size_t n = strlen(in->stem) + 24;
        if (!(in->figstem = malloc(n)))
            return -1;
        char *w = in->figstem;
        for (const char *s = in->stem; *s; s++) {
            char ch = *s;
            int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
            *w++ = ok ? ch : '_';
        }
        *w = 0;
        for (int j = 0; j < i; j++)
            if (!strcmp(st->in[j].figstem, in->figstem)) {
                snprintf(w, 24, "-%d", i);
                break;
            }
    }
    return 0;
}

int rp_load(rp_study *st, json_t *doc, const char *file, char *err, size_t errlen)
{
    sum_ck c = {file, err, errlen, 0};
    st->doc = doc;
    json_t *ins = sum_arr(&c, doc, "", "inputs");
    if (c.failed)
        return -1;
    size_t n = json_array_size(ins);
    if (n == 0) {
        sum_fail(&c, "inputs", NULL, "empty (expected at least one input)");
        return -1;
    }
    if (!(st->in = calloc(n, sizeof *st->in))) {
        sum_fail(&c, "inputs", NULL, "out of memory");
        return -1;
    }
    st->n = (int)n;
    for (size_t i = 0; i < n; i++) {
        char p[PATHLEN];
        fmtn(p, sizeof p, "inputs[%zu]", i);
        json_t *o = json_array_get(ins, i);
        if (!json_is_object(o)) {
            sum_fail(&c, p, NULL, "expected an object, found %s", sum_type_name(o));
            return -1;
        }
        if (load_input(&c, o, p, &st->in[i]) < 0)
            return -1;
    }
    if (make_figstems(st) < 0) {
        sum_fail(&c, "inputs", NULL, "out of memory");
        return -1;
    }
    return 0;
}

/* The test mAP of one training record DIR/MODEL.json into in, or the
 * reason it is missing into why[n] (left empty when it was found). */
static void load_record(rp_input *in, const char *dir, char *why, size_t n)
{
    char path[4096];
    why[0] = 0;
    if (!in->model[0] || strchr(in->model, '/')) {
        fmtn(why, n, "the model name \"%s\" is not a file name", in->model);
        return;
    }
    fmtn(path, sizeof path, "%s/%s.json", dir, in->model);
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT) {
        fmtn(why, n, "no training record `%s.json` in the models folder", in->model);
        return;
    }
    json_error_t e;
    json_t *rec = json_load_file(path, 0, &e);  /* tolerant: a record, not a summary */
    json_t *m = json_object_get(json_object_get(rec, "test"), "map");
    json_t *vm = json_object_get(rec, "val_map");
    double dm = json_number_value(m), dv = json_number_value(vm);
    if (!rec && e.line > 0)
        fmtn(why, n, "`%s.json`: line %d column %d: %s", in->model, e.line, e.column, e.text);
    else if (!rec)
        fmtn(why, n, "`%s.json`: %s", in->model, e.text);
    else if (!json_is_number(m) || !(dm >= 0 && dm <= 1))
        fmtn(why, n, "`%s.json` has no test.map in [0, 1]", in->model);
    else {
        in->has_map = 1;
        in->test_map = dm;
        if (json_is_number(vm) && dv >= 0 && dv <= 1)
            in->has_val = 1, in->val_map = dv;
    }
    json_decref(rec);
}

int rp_load_models(rp_study *st, const char *dir)
{
    st->models_given = 1;
    for (int i = 0; i < st->n; i++) {
        char why[512];
        load_record(&st->in[i], dir, why, sizeof why);
        if (why[0] && !(st->in[i].map_note = strdup(why)))
            return -1;
    }
    return 0;
}

const rp_pair *rp_find_pair(const rp_input *in, int a, int b, const char *metric, int norm)
{
    for (int i = 0; i < in->npairs; i++) {
        const rp_pair *q = &in->pairs[i];
        if (q->a == a && q->b == b && q->norm == norm && !strcmp(q->metric, metric))
            return q;
    }
    return NULL;
}

void rp_free(rp_study *st)
{
    for (int i = 0; st->in && i < st->n; i++) {
        rp_input *in = &st->in[i];
        for (int v = 0; v < VAR_N; v++) {
            free(in->var[v].curve[0]);
            free(in->var[v].curve[1]);
            free(in->var[v].cls);
            free(in->var[v].cls_pointing);
        }
        free(in->pairs);
        rp_causal_free(&in->causal);
        free(in->stem);
        free(in->figstem);
        free(in->map_note);
        free(in->gallery);
    }
    free(st->in);
    free(st->summary_link);
    free(st->fig_link);
    free(st->models_md_link);
    json_decref(st->doc);
    memset(st, 0, sizeof *st);
}
