/* report_load.c: summary.json (a parsed DOM) -> the report's model, checked.
 *
 * DESIGN
 * One pass over the DOM fills rp_study; every key the report uses is looked
 * up with its expected type, and a missing key, a wrong type or a value out
 * of range stops the load with the key's full path, e.g.
 * "inputs[1].variants.gradcam.boxacc.max: expected a number, found a string".
 * So the text and figure code never meet a missing value. What the engine
 * writes optionally is optional here too: the _ci95 intervals (absent with
 * --bootstrap 0), variants (--variants, saliency), box_iou_mean and the
 * McNemar fields of paired comparisons, maps_file. Variants and paired
 * comparisons with names the report does not know are counted and skipped
 * (a newer engine). The "run" block is never read: it holds timings.
 * rp_load_models reads the training records NAME.json (scripts/train.py)
 * tolerantly: a missing or unreadable record only leaves a note.
 * Strings of rp_input point into the DOM, which rp_study owns.
 *
 * Thread safety: no globals written; one study per thread.
 */
#include "pipeline/report/report_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const rp_variant_names[RV_N] = {
    "gradcam", "gradcam-signed", "counterfactual", "gradcam-absgrad", "gradcam-centered",
    "activation", "gradient", "hirescam", "hirescam-signed", "layercam", "xgradcam",
    "gradcam++", "saliency"};
const char *const rp_cell_names[RC_N] = {"PP", "P0", "PN", "0P", "00", "0N", "NP", "N0", "NN"};
const char *const rp_region_names[RR_N] = {"target", "other", "background", "all"};
const char *const rp_norm_names[RP_NNORM] = {"max", "minmax"};
static const char *const table_names[RT_N] = {"alphaA", "GA"};

#define PATHLEN 256

/* snprintf into a fixed buffer where truncation is acceptable (a key path
 * or note cut short in a message). */
static void fmtn(char *o, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o, n, fmt, ap);
    va_end(ap);
}

typedef struct {
    char *err;
    size_t errlen;
    int failed;
} ld;

static void fail(ld *l, const char *at, const char *key, const char *fmt, ...)
{
    if (l->failed)
        return;
    l->failed = 1;
    int n = snprintf(l->err, l->errlen, "%s%s%s: ", at, *at && key ? "." : "", key ? key : "");
    if (n < 0 || (size_t)n >= l->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->err + n, l->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static const jr_val *need(ld *l, const jr_val *obj, const char *at, const char *key, jr_type t)
{
    if (l->failed)
        return NULL;
    const jr_val *v = jr_get(obj, key);
    if (!v) {
        fail(l, at, key, "missing");
        return NULL;
    }
    if (v->type != t) {
        fail(l, at, key, "expected %s, found %s (line %d column %d)", jr_type_name(t),
             jr_type_name(v->type), v->line, v->col);
        return NULL;
    }
    return v;
}

static double num(ld *l, const jr_val *obj, const char *at, const char *key, double lo, double hi)
{
    const jr_val *v = need(l, obj, at, key, JR_NUM);
    if (!v)
        return 0;
    if (!(v->num >= lo && v->num <= hi)) {
        fail(l, at, key, "%.10g is out of range [%g, %g] (line %d column %d)", v->num, lo, hi,
             v->line, v->col);
        return 0;
    }
    return v->num;
}

static long integer(ld *l, const jr_val *obj, const char *at, const char *key)
{
    double d = num(l, obj, at, key, 0, 9.0e15);
    if (!l->failed && d != (double)(long)d)
        fail(l, at, key, "expected a whole number, found %.10g", d);
    return (long)d;
}

static const char *str(ld *l, const jr_val *obj, const char *at, const char *key)
{
    const jr_val *v = need(l, obj, at, key, JR_STR);
    return v ? v->str : "";
}

/* A string shown in Markdown tables: made safe in place (the DOM is ours):
 * '|' would split a cell, '`' end a code span, control characters a line. */
static const char *md_str(ld *l, const jr_val *obj, const char *at, const char *key)
{
    const jr_val *v = need(l, obj, at, key, JR_STR);
    if (!v)
        return "";
    for (size_t i = 0; i < v->len; i++) {
        char c = v->str[i];
        if (c == '|')
            v->str[i] = '/';
        else if (c == '`')
            v->str[i] = '\'';
        else if ((unsigned char)c < 0x20 || c == 0x7F)
            v->str[i] = ' ';
    }
    return v->str;
}

/* An optional [lo, hi] interval within [min, max]. */
static void interval(ld *l, const jr_val *obj, const char *at, const char *key, double min,
                     double max, double *lo, double *hi, int *has)
{
    *has = 0;
    const jr_val *v = jr_get(obj, key);
    if (l->failed || !v)
        return;
    if (v->type != JR_ARR || v->n != 2 || v->items[0].type != JR_NUM ||
        v->items[1].type != JR_NUM) {
        fail(l, at, key, "expected an interval [lo, hi] of two numbers (line %d column %d)",
             v->line, v->col);
        return;
    }
    *lo = v->items[0].num;
    *hi = v->items[1].num;
    if (!(*lo <= *hi) || *lo < min || *hi > max) {
        fail(l, at, key, "[%.10g, %.10g] is not an interval within [%g, %g]", *lo, *hi, min, max);
        return;
    }
    *has = 1;
}

/* A value (with its optional KEY_ci95) in [min, max]. */
static void val(ld *l, const jr_val *obj, const char *at, const char *key, double min,
                double max, rp_val *out)
{
    char cikey[64];
    out->v = num(l, obj, at, key, min, max);
    snprintf(cikey, sizeof cikey, "%s_ci95", key);
    interval(l, obj, at, cikey, min, max, &out->lo, &out->hi, &out->has_ci);
}

/* {"max": x, "minmax": y} values with their optional KEY_ci95 intervals. */
static void norms(ld *l, const jr_val *obj, const char *at, const char *key, double min,
                  double max, rp_val out[RP_NNORM])
{
    char p[PATHLEN], cikey[64];
    fmtn(p, sizeof p, "%s.%s", at, key);
    snprintf(cikey, sizeof cikey, "%s_ci95", key);
    const jr_val *o = need(l, obj, at, key, JR_OBJ);
    const jr_val *ci = jr_get(obj, cikey);
    if (ci && ci->type != JR_OBJ && !l->failed)
        fail(l, at, cikey, "expected an object, found %s", jr_type_name(ci->type));
    for (int k = 0; k < RP_NNORM && !l->failed; k++) {
        out[k].v = num(l, o, p, rp_norm_names[k], min, max);
        fmtn(p, sizeof p, "%s.%s", at, cikey);
        interval(l, ci, p, rp_norm_names[k], min, max, &out[k].lo, &out[k].hi, &out[k].has_ci);
        fmtn(p, sizeof p, "%s.%s", at, key);
    }
}

static void load_variant(ld *l, const jr_val *o, const char *at, long nthr, rp_variant *v)
{
    char p[PATHLEN];
    rp_val t[RP_NNORM];
    v->present = 1;
    v->degenerate = integer(l, o, at, "degenerate");
    norms(l, o, at, "boxacc", 0, 1, v->boxacc);
    norms(l, o, at, "maxboxacc", 0, 1, v->maxboxacc);
    norms(l, o, at, "maxboxacc_threshold", 0, 1, t);
    v->maxboxacc_t[0] = t[0].v;
    v->maxboxacc_t[1] = t[1].v;
    norms(l, o, at, "maxboxacc_v2", 0, 1, v->maxboxacc_v2);
    const jr_val *c = need(l, o, at, "boxacc_curve", JR_OBJ);
    fmtn(p, sizeof p, "%s.boxacc_curve", at);
    for (int k = 0; k < RP_NNORM && !l->failed; k++) {
        const jr_val *a = need(l, c, p, rp_norm_names[k], JR_ARR);
        if (a && a->n != nthr)
            fail(l, p, rp_norm_names[k], "%d values, expected protocol.thresholds = %ld", a->n,
                 nthr);
        if (l->failed)
            return;
        v->curve[k] = malloc((size_t)nthr * sizeof(double));
        if (!v->curve[k]) {
            fail(l, p, rp_norm_names[k], "out of memory");
            return;
        }
        for (int i = 0; i < a->n; i++) {
            if (a->items[i].type != JR_NUM || !(a->items[i].num >= 0 && a->items[i].num <= 1)) {
                fail(l, p, rp_norm_names[k], "element %d is not a share in [0, 1]", i);
                return;
            }
            v->curve[k][i] = a->items[i].num;
        }
    }
    val(l, o, at, "pointing", 0, 1, &v->pointing);
    v->pointing_class_mean = num(l, o, at, "pointing_class_mean", 0, 1);
    const jr_val *pc = need(l, o, at, "pointing_per_class", JR_OBJ);
    if (l->failed)
        return;
    v->cls = calloc((size_t)pc->n + 1, sizeof *v->cls);
    v->cls_pointing = calloc((size_t)pc->n + 1, sizeof *v->cls_pointing);
    if (!v->cls || !v->cls_pointing) {
        fail(l, at, "pointing_per_class", "out of memory");
        return;
    }
    fmtn(p, sizeof p, "%s.pointing_per_class", at);
    for (int i = 0; i < pc->n && !l->failed; i++) {
        v->cls[i] = pc->keys[i];
        v->cls_pointing[i] = num(l, pc, p, pc->keys[i], 0, 1);
    }
    v->nclass = pc->n;
    val(l, o, at, "energy", 0, 1, &v->energy);
    const jr_val *e = need(l, o, at, "evidence", JR_OBJ);
    fmtn(p, sizeof p, "%s.evidence", at);
    v->eligible_neg = integer(l, e, p, "eligible_neg");
    v->neg_other = num(l, e, p, "neg_other", 0, 1);
    v->neg_area = num(l, e, p, "neg_area", 0, 1);
    val(l, e, p, "neg_enrichment", 0, 1e12, &v->neg_enr);
    v->eligible_pos = integer(l, e, p, "eligible_pos");
    v->pos_other = num(l, e, p, "pos_other", 0, 1);
    v->pos_area = num(l, e, p, "pos_area", 0, 1);
    val(l, e, p, "pos_enrichment", 0, 1e12, &v->pos_enr);
}

static int variant_index(const char *name)
{
    for (int v = 0; v < RV_N; v++)
        if (!strcmp(name, rp_variant_names[v]))
            return v;
    return -1;
}

static void load_pairs(ld *l, const jr_val *arr, const char *at, rp_input *in)
{
    char p[PATHLEN];
    in->pairs = calloc((size_t)arr->n + 1, sizeof *in->pairs);
    if (!in->pairs) {
        fail(l, at, NULL, "out of memory");
        return;
    }
    for (int i = 0; i < arr->n && !l->failed; i++) {
        const jr_val *o = &arr->items[i];
        fmtn(p, sizeof p, "%s[%d]", at, i);
        if (o->type != JR_OBJ) {
            fail(l, p, NULL, "expected an object, found %s", jr_type_name(o->type));
            return;
        }
        rp_pair *q = &in->pairs[in->npairs];
        q->a = variant_index(str(l, o, p, "a"));
        q->b = variant_index(str(l, o, p, "b"));
        snprintf(q->metric, sizeof q->metric, "%s", str(l, o, p, "metric"));
        q->norm = -1;
        const jr_val *nv = jr_get(o, "norm");
        if (nv) {
            const char *ns = str(l, o, p, "norm");
            for (int k = 0; k < RP_NNORM; k++)
                if (!strcmp(ns, rp_norm_names[k]))
                    q->norm = k;
            if (q->norm < 0 && !l->failed)
                fail(l, p, "norm", "\"%s\" is neither max nor minmax", ns);
        }
        q->targets = integer(l, o, p, "targets");
        q->va = num(l, o, p, "value_a", -1e12, 1e12);
        q->vb = num(l, o, p, "value_b", -1e12, 1e12);
        q->diff = num(l, o, p, "diff", -1e12, 1e12);
        interval(l, o, p, "diff_ci95", -1e12, 1e12, &q->lo, &q->hi, &q->has_ci);
        if (jr_get(o, "box_iou_mean")) {
            q->box_iou = num(l, o, p, "box_iou_mean", 0, 1);
            q->has_iou = 1;
        }
        if (jr_get(o, "a_only") || jr_get(o, "b_only") || jr_get(o, "mcnemar_p")) {
            q->a_only = integer(l, o, p, "a_only");
            q->b_only = integer(l, o, p, "b_only");
            q->p = num(l, o, p, "mcnemar_p", 0, 1);
            q->has_mc = 1;
        }
        if (q->a >= 0 && q->b >= 0)
            in->npairs++;
    }
}

static void load_signs(ld *l, const jr_val *o, const char *at, rp_input *in)
{
    char p[PATHLEN], p2[PATHLEN];
    for (int t = 0; t < RT_N && !l->failed; t++) {
        const jr_val *tab = need(l, o, at, table_names[t], JR_OBJ);
        for (int r = 0; r < RR_N && !l->failed; r++) {
            fmtn(p, sizeof p, "%s.%s", at, table_names[t]);
            const jr_val *reg = need(l, tab, p, rp_region_names[r], JR_OBJ);
            fmtn(p, sizeof p, "%s.%s.%s", at, table_names[t], rp_region_names[r]);
            const jr_val *cnt = need(l, reg, p, "count", JR_OBJ);
            const jr_val *sum = need(l, reg, p, "sum", JR_OBJ);
            for (int c = 0; c < RC_N && !l->failed; c++) {
                fmtn(p2, sizeof p2, "%s.count", p);
                in->signs[t][r].count[c] = (double)integer(l, cnt, p2, rp_cell_names[c]);
                fmtn(p2, sizeof p2, "%s.sum", p);
                in->signs[t][r].sum[c] = num(l, sum, p2, rp_cell_names[c], -1e300, 1e300);
            }
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

static int load_input(ld *l, const jr_val *o, const char *at, rp_input *in)
{
    char p[PATHLEN];
    in->file = str(l, o, at, "file");
    fmtn(p, sizeof p, "%s.attributes", at);
    const jr_val *a = need(l, o, at, "attributes", JR_OBJ);
    in->model = md_str(l, a, p, "model");
    in->layer = md_str(l, a, p, "layer");
    in->activation = md_str(l, a, p, "activation");
    in->dataset = md_str(l, a, p, "dataset");
    need(l, o, at, "classes", JR_ARR);
    fmtn(p, sizeof p, "%s.counts", at);
    const jr_val *c = need(l, o, at, "counts", JR_OBJ);
    in->images = integer(l, c, p, "images");
    in->nclasses = integer(l, c, p, "classes");
    in->channels = integer(l, c, p, "channels");
    in->height = integer(l, c, p, "height");
    in->width = integer(l, c, p, "width");
    in->targets = integer(l, c, p, "targets");
    in->boxes = integer(l, c, p, "boxes");
    in->boxes_difficult = integer(l, c, p, "boxes_difficult");
    in->boxes_clipped = integer(l, c, p, "boxes_clipped");
    in->targets_without_box = integer(l, c, p, "targets_without_box");
    in->targets_scored = integer(l, c, p, "targets_scored");
    in->dtype_a = md_str(l, c, p, "dtype_activations");
    in->dtype_g = md_str(l, c, p, "dtype_gradients");
    fmtn(p, sizeof p, "%s.protocol", at);
    const jr_val *pr = need(l, o, at, "protocol", JR_OBJ);
    in->threshold = num(l, pr, p, "threshold", 0, 1);
    in->tolerance = num(l, pr, p, "tolerance", 0, 1e9);
    in->iou = num(l, pr, p, "iou", 0, 1);
    in->nthr = integer(l, pr, p, "thresholds");
    if (!l->failed && (in->nthr < 1 || in->nthr > 10000))
        fail(l, p, "thresholds", "%ld is out of range [1, 10000]", in->nthr);
    in->resamples = integer(l, pr, p, "bootstrap_resamples");
    in->seed = integer(l, pr, p, "bootstrap_seed");
    in->unit = str(l, pr, p, "bootstrap_unit");
    fmtn(p, sizeof p, "%s.variants", at);
    const jr_val *vs = need(l, o, at, "variants", JR_OBJ);
    for (int i = 0; !l->failed && i < vs->n; i++) {
        int v = variant_index(vs->keys[i]);
        char pv[PATHLEN];
        fmtn(pv, sizeof pv, "%s.%s", p, vs->keys[i]);
        if (vs->items[i].type != JR_OBJ) {
            fail(l, pv, NULL, "expected an object, found %s", jr_type_name(vs->items[i].type));
        } else if (v < 0) {
            in->nunknown++;
        } else if (in->var[v].present) {
            fail(l, pv, NULL, "appears twice");
        } else {
            load_variant(l, &vs->items[i], pv, in->nthr, &in->var[v]);
        }
    }
    if (!l->failed && !in->var[RV_GRADCAM].present)
        fail(l, p, "gradcam", "missing (every question compares against Grad-CAM)");
    fmtn(p, sizeof p, "%s.paired", at);
    const jr_val *pa = need(l, o, at, "paired", JR_ARR);
    if (!l->failed)
        load_pairs(l, pa, p, in);
    fmtn(p, sizeof p, "%s.sign_tables", at);
    const jr_val *sg = need(l, o, at, "sign_tables", JR_OBJ);
    if (!l->failed)
        load_signs(l, sg, p, in);
    if (l->failed)
        return -1;
    in->stem = make_stem(in->file);
    if (!in->stem) {
        fail(l, at, "file", "out of memory");
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

int rp_load(rp_study *st, jr_val *doc, char *err, size_t errlen)
{
    ld l = {err, errlen, 0};
    st->doc = doc;
    if (doc->type != JR_OBJ) {
        fail(&l, "(top level)", NULL, "expected an object, found %s", jr_type_name(doc->type));
        return -1;
    }
    const char *schema = str(&l, doc, "", "schema");
    if (!l.failed && strcmp(schema, "gradcam-study-summary/1") != 0)
        fail(&l, "schema", NULL, "\"%s\", expected \"gradcam-study-summary/1\"", schema);
    const jr_val *ins = need(&l, doc, "", "inputs", JR_ARR);
    if (l.failed)
        return -1;
    if (ins->n == 0) {
        fail(&l, "inputs", NULL, "empty (expected at least one input)");
        return -1;
    }
    st->in = calloc((size_t)ins->n, sizeof *st->in);
    if (!st->in) {
        fail(&l, "inputs", NULL, "out of memory");
        return -1;
    }
    st->n = ins->n;
    for (int i = 0; i < ins->n; i++) {
        char p[PATHLEN];
        fmtn(p, sizeof p, "inputs[%d]", i);
        if (ins->items[i].type != JR_OBJ) {
            fail(&l, p, NULL, "expected an object, found %s", jr_type_name(ins->items[i].type));
            return -1;
        }
        if (load_input(&l, &ins->items[i], p, &st->in[i]) < 0)
            return -1;
    }
    if (make_figstems(st) < 0) {
        fail(&l, "inputs", NULL, "out of memory");
        return -1;
    }
    return 0;
}

int rp_load_models(rp_study *st, const char *dir)
{
    st->models_given = 1;
    for (int i = 0; i < st->n; i++) {
        rp_input *in = &st->in[i];
        char why[512], path[4096];
        why[0] = 0;
        if (!in->model[0] || strchr(in->model, '/')) {
            fmtn(why, sizeof why, "the model name \"%s\" is not a file name", in->model);
        } else {
            fmtn(path, sizeof path, "%s/%s.json", dir, in->model);
            char perr[512];
            struct stat sb;
            int missing = stat(path, &sb) != 0 && errno == ENOENT;
            jr_val *rec = missing ? NULL : jr_parse_file(path, perr, sizeof perr);
            const jr_val *test = rec ? jr_get(rec, "test") : NULL;
            const jr_val *m = test ? jr_get(test, "map") : NULL;
            const jr_val *vm = rec ? jr_get(rec, "val_map") : NULL;
            if (missing)
                fmtn(why, sizeof why, "no training record `%s.json` in the models folder",
                     in->model);
            else if (!rec)
                fmtn(why, sizeof why, "`%s.json`: %s", in->model,
                     !strncmp(perr, "-: ", 3) ? perr + 3 : perr);
            else if (!m || m->type != JR_NUM || !(m->num >= 0 && m->num <= 1))
                fmtn(why, sizeof why, "`%s.json` has no test.map in [0, 1]", in->model);
            else {
                in->has_map = 1;
                in->test_map = m->num;
                if (vm && vm->type == JR_NUM && vm->num >= 0 && vm->num <= 1)
                    in->has_val = 1, in->val_map = vm->num;
            }
            jr_free(rec);
        }
        if (why[0] && !(in->map_note = strdup(why)))
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
        for (int v = 0; v < RV_N; v++) {
            free(in->var[v].curve[0]);
            free(in->var[v].curve[1]);
            free(in->var[v].cls);
            free(in->var[v].cls_pointing);
        }
        free(in->pairs);
        free(in->stem);
        free(in->figstem);
        free(in->map_note);
        free(in->gallery);
    }
    free(st->in);
    free(st->summary_link);
    free(st->fig_link);
    free(st->models_md_link);
    jr_free(st->doc);
    memset(st, 0, sizeof *st);
}
