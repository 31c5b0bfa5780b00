/* q6model.c: an input's summary.json `causal` block -> rp_causal, checked.
 *
 * DESIGN
 * The block is written by the engine from a curves file (scripts/causal.py,
 * schema gradcam-study-curves/1; spec: issue 13). It is walked once, as
 * model.c walks the rest of the summary: every member the report uses is
 * taken with its expected type and range through the sum_* accessors, and
 * the first missing member, wrong type or inconsistent value stops the load
 * with the member's full path, e.g.
 * "FILE: inputs[0].causal.claim.mu.target_diff: missing".
 * Required: curves_file, network, layer, steps, cells (steps + 1 counts,
 * non-decreasing, from 0 to h * w), targets, seed, references (a non-empty
 * subset of zero, mu, in that order), orders (distinct names, `random` last
 * when present), and for every listed reference: scale (> 0),
 * scale_degenerate, deletion/insertion per order (auc, curve and raw_curve
 * of steps + 1 numbers), best per mode (an order other than random, or ""
 * when there is none: -1), claim,
 * completeness of gradcam and hirescam; paired (may be empty; its orders
 * must be listed). Optional, as everywhere in the summary: the _ci95
 * intervals (absent with --bootstrap 0). Order names are kept as strings:
 * the engine may know variants this report does not.
 * Memory: the curves live in one block (buf); rp_causal_free releases all.
 *
 * Thread safety: no globals written; one model per thread.
 */
#include "pipeline/report/q6model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rp_ref_names[RP_NREF] = {"zero", "mu"};
const char *const rp_mode_names[RP_NMODE] = {"deletion", "insertion"};
const char *const rp_comp_names[RP_NCOMP] = {"gradcam", "hirescam"};

#define PATHLEN 256
#define BIG 1e300
#define MAXSTEPS 100000

static void pathf(char *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pathf(char *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o, PATHLEN, fmt, ap);  /* a path cut short only shortens a message */
    va_end(ap);
}

/* A string shown in Markdown tables, made safe in the document: '|' would
 * split a cell, '`' end a code span, control characters a line. */
const char *rp_md_str(sum_ck *c, json_t *obj, const char *at, const char *key)
{
    json_t *v = sum_strv(c, obj, at, key);
    if (!v)
        return "";
    const char *s = json_string_value(v);
    size_t k = 0;
    while (s[k] && s[k] != '|' && s[k] != '`' && (unsigned char)s[k] >= 0x20 && s[k] != 0x7F)
        k++;
    if (!s[k])
        return s;  /* nothing to replace */
    char *t = strdup(s);
    if (!t) {
        sum_fail(c, at, key, "out of memory");
        return "";
    }
    for (char *q = t; *q; q++) {
        if (*q == '|')
            *q = '/';
        else if (*q == '`')
            *q = '\'';
        else if ((unsigned char)*q < 0x20 || *q == 0x7F)
            *q = ' ';
    }
    int bad = json_string_set(v, t);  /* ASCII for ASCII: still UTF-8 */
    free(t);
    if (bad) {
        sum_fail(c, at, key, "out of memory");
        return "";
    }
    return json_string_value(v);
}

void rp_val_read(sum_ck *c, json_t *obj, const char *at, const char *key, double min,
                 double max, rp_val *out)
{
    char cikey[64];
    double lohi[2] = {0, 0};
    out->v = sum_num(c, obj, at, key, min, max);
    snprintf(cikey, sizeof cikey, "%s_ci95", key);
    out->has_ci = sum_interval(c, obj, at, cikey, min, max, lohi) == 1;
    out->lo = lohi[0];
    out->hi = lohi[1];
}

static int cbool(sum_ck *c, json_t *obj, const char *at, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (c->failed)
        return 0;
    if (!v)
        sum_fail(c, at, key, "missing");
    else if (!json_is_boolean(v))
        sum_fail(c, at, key, "expected true or false, found %s", sum_type_name(v));
    return v && json_is_true(v);
}

/* n numbers of array `key` into out. */
static void numbers(sum_ck *c, json_t *obj, const char *at, const char *key, long n, double *out)
{
    json_t *a = sum_arr(c, obj, at, key);
    if (c->failed)
        return;
    if ((long)json_array_size(a) != n) {
        sum_fail(c, at, key, "%zu values, expected steps + 1 = %ld", json_array_size(a), n);
        return;
    }
    for (long i = 0; i < n; i++) {
        json_t *x = json_array_get(a, (size_t)i);
        double d = json_number_value(x);
        if (!json_is_number(x) || !(d >= -BIG && d <= BIG)) {
            sum_fail(c, at, key, "element %ld is not a number", i);
            return;
        }
        out[i] = d;
    }
}

/* An order name into its index; fails unless listed (and not random when
 * best). A best order may be "": the engine's "no order other than
 * random", -1. */
static int order_of(sum_ck *c, rp_causal *q, json_t *obj, const char *at, const char *key,
                    int best)
{
    const char *s = sum_str(c, obj, at, key);
    if (c->failed)
        return 0;
    if (best && !s[0])
        return -1;
    int k = rp_causal_order(q, s);
    if (k < 0)
        sum_fail(c, at, key, "\"%s\" is not one of the orders", s);
    else if (best && k == q->random)
        sum_fail(c, at, key, "\"%s\" cannot be the best order", s);
    return k < 0 ? 0 : k;
}

static void load_cells(sum_ck *c, json_t *o, const char *at, long ncells, rp_causal *q)
{
    q->steps = sum_count(c, o, at, "steps");
    if (!c->failed && (q->steps < 1 || q->steps > MAXSTEPS))
        sum_fail(c, at, "steps", "%ld is out of range [1, %d]", q->steps, MAXSTEPS);
    json_t *a = sum_arr(c, o, at, "cells");
    if (c->failed)
        return;
    long n = q->steps + 1;
    if ((long)json_array_size(a) != n) {
        sum_fail(c, at, "cells", "%zu values, expected steps + 1 = %ld", json_array_size(a), n);
        return;
    }
    q->cells = calloc((size_t)n, sizeof *q->cells);
    q->x = calloc((size_t)n, sizeof *q->x);
    if (!q->cells || !q->x) {
        sum_fail(c, at, "cells", "out of memory");
        return;
    }
    for (long i = 0; i < n; i++) {
        json_t *x = json_array_get(a, (size_t)i);
        double d = json_number_value(x);
        if (!json_is_integer(x) || d < 0 || d > ncells || (i && d < q->cells[i - 1]) ||
            (i == 0 && d != 0) || (i == n - 1 && d != ncells)) {
            sum_fail(c, at, "cells", "element %ld is not a count k_s, non-decreasing from 0 "
                     "to h * w = %ld", i, ncells);
            return;
        }
        q->cells[i] = (long)d;
        q->x[i] = d / (double)ncells;
    }
}

static void load_names(sum_ck *c, json_t *o, const char *at, rp_causal *q)
{
    char p[PATHLEN];
    json_t *r = sum_arr(c, o, at, "references");
    pathf(p, "%s.references", at);
    int last = -1;
    for (size_t i = 0; !c->failed && i < json_array_size(r); i++) {
        const char *s = json_string_value(json_array_get(r, i));
        int k = -1;
        for (int j = 0; s && j < RP_NREF; j++)
            if (!strcmp(s, rp_ref_names[j]))
                k = j;
        if (k <= last)
            sum_fail(c, p, NULL, "element %zu is not zero or mu (each once, in that order)", i);
        else
            q->has_ref[last = k] = 1;
    }
    if (!c->failed && last < 0)
        sum_fail(c, p, NULL, "empty (expected zero, mu or both)");
    json_t *a = sum_arr(c, o, at, "orders");
    pathf(p, "%s.orders", at);
    if (!c->failed && json_array_size(a) == 0)
        sum_fail(c, p, NULL, "empty");
    if (c->failed)
        return;
    q->norder = (int)json_array_size(a);
    if (!(q->order = calloc((size_t)q->norder, sizeof *q->order))) {
        sum_fail(c, p, NULL, "out of memory");
        return;
    }
    q->random = -1;
    for (int i = 0; i < q->norder; i++) {
        const char *s = json_string_value(json_array_get(a, (size_t)i));
        if (!s || !s[0] || strpbrk(s, "|`'\\") || rp_causal_order(q, s) >= 0) {
            sum_fail(c, p, NULL, "element %d is not a distinct order name (without | ` ' \\)",
                     i);
            return;
        }
        q->order[i] = s;
        if (!strcmp(s, "random"))
            q->random = i;
    }
    if (q->random >= 0 && q->random != q->norder - 1)
        sum_fail(c, p, NULL, "\"random\" is not the last order");
}

/* deletion / insertion: mode -> reference -> order -> {auc, curve, raw_curve}. */
static void load_curves(sum_ck *c, json_t *o, const char *at, rp_causal *q)
{
    long n = q->steps + 1;
    size_t per = (size_t)q->norder * (size_t)n * 2;
    if (!(q->buf = calloc(per * RP_NMODE * RP_NREF, sizeof *q->buf))) {
        sum_fail(c, at, NULL, "out of memory");
        return;
    }
    double *w = q->buf;
    for (int m = 0; m < RP_NMODE && !c->failed; m++) {
        char pm[PATHLEN];
        json_t *mo = sum_obj(c, o, at, rp_mode_names[m]);
        pathf(pm, "%s.%s", at, rp_mode_names[m]);
        for (int r = 0; r < RP_NREF && !c->failed; r++) {
            if (!q->has_ref[r])
                continue;
            char pr[PATHLEN];
            json_t *ro = sum_obj(c, mo, pm, rp_ref_names[r]);
            pathf(pr, "%s.%s", pm, rp_ref_names[r]);
            if (!(q->cv[m][r] = calloc((size_t)q->norder, sizeof(rp_curve)))) {
                sum_fail(c, pr, NULL, "out of memory");
                return;
            }
            for (int k = 0; k < q->norder && !c->failed; k++) {
                char pk[PATHLEN];
                rp_curve *cv = &q->cv[m][r][k];
                json_t *ko = sum_obj(c, ro, pr, q->order[k]);
                pathf(pk, "%s.%s", pr, q->order[k]);
                rp_val_read(c, ko, pk, "auc", -BIG, BIG, &cv->auc);
                cv->curve = w;
                cv->raw = w + n;
                w += 2 * n;
                numbers(c, ko, pk, "curve", n, cv->curve);
                numbers(c, ko, pk, "raw_curve", n, cv->raw);
            }
        }
    }
}

static void load_pairs(sum_ck *c, json_t *o, const char *at, rp_causal *q)
{
    char p[PATHLEN];
    json_t *a = sum_arr(c, o, at, "paired");
    if (c->failed)
        return;
    if (!(q->pairs = calloc(json_array_size(a) + 1, sizeof *q->pairs))) {
        sum_fail(c, at, "paired", "out of memory");
        return;
    }
    for (size_t i = 0; i < json_array_size(a) && !c->failed; i++) {
        json_t *e = json_array_get(a, i);
        rp_cpair *x = &q->pairs[i];
        pathf(p, "%s.paired[%zu]", at, i);
        if (!json_is_object(e)) {
            sum_fail(c, p, NULL, "expected an object, found %s", sum_type_name(e));
            return;
        }
        const char *ms = sum_str(c, e, p, "mode"), *rs = sum_str(c, e, p, "reference");
        x->mode = x->ref = -1;
        for (int m = 0; m < RP_NMODE; m++)
            if (!strcmp(ms, rp_mode_names[m]))
                x->mode = m;
        for (int r = 0; r < RP_NREF; r++)
            if (!strcmp(rs, rp_ref_names[r]) && q->has_ref[r])
                x->ref = r;
        if (!c->failed && x->mode < 0)
            sum_fail(c, p, "mode", "\"%s\" is neither deletion nor insertion", ms);
        if (!c->failed && x->ref < 0)
            sum_fail(c, p, "reference", "\"%s\" is not one of the references", rs);
        x->a = order_of(c, q, e, p, "a", 0);
        x->b = order_of(c, q, e, p, "b", 0);
        x->targets = sum_count(c, e, p, "targets");
        x->va = sum_num(c, e, p, "value_a", -BIG, BIG);
        x->vb = sum_num(c, e, p, "value_b", -BIG, BIG);
        x->diff = sum_num(c, e, p, "diff", -BIG, BIG);
        double lohi[2] = {0, 0};
        x->has_ci = sum_interval(c, e, p, "diff_ci95", -BIG, BIG, lohi) == 1;
        x->lo = lohi[0];
        x->hi = lohi[1];
        q->npairs += !c->failed;
    }
}

static void load_claim(sum_ck *c, json_t *o, const char *at, rp_claim *k)
{
    k->eligible = sum_count(c, o, at, "eligible");
    k->target_neg = sum_num(c, o, at, "target_neg", -BIG, BIG);
    k->target_random = sum_num(c, o, at, "target_random", -BIG, BIG);
    rp_val_read(c, o, at, "target_diff", -BIG, BIG, &k->target_diff);
    k->eligible_others = sum_count(c, o, at, "eligible_others");
    k->others_neg = sum_num(c, o, at, "others_neg", -BIG, BIG);
    k->others_random = sum_num(c, o, at, "others_random", -BIG, BIG);
    rp_val_read(c, o, at, "others_diff", -BIG, BIG, &k->others_diff);
}

/* best, claim, completeness and scale: one object per listed reference. */
static void load_per_ref(sum_ck *c, json_t *o, const char *at, rp_causal *q)
{
    char p[PATHLEN], pr[PATHLEN];
    json_t *sc = sum_obj(c, o, at, "scale"), *sd = sum_obj(c, o, at, "scale_degenerate");
    json_t *best = sum_obj(c, o, at, "best"), *cl = sum_obj(c, o, at, "claim");
    json_t *co = sum_obj(c, o, at, "completeness");
    for (int r = 0; r < RP_NREF && !c->failed; r++) {
        if (!q->has_ref[r])
            continue;
        const char *rn = rp_ref_names[r];
        pathf(p, "%s.scale", at);
        q->scale[r] = sum_num(c, sc, p, rn, 0, BIG);
        if (!c->failed && !(q->scale[r] > 0))
            sum_fail(c, p, rn, "is 0 (the engine writes 1 for a degenerate scale)");
        pathf(p, "%s.scale_degenerate", at);
        q->scale_degenerate[r] = cbool(c, sd, p, rn);
        for (int m = 0; m < RP_NMODE; m++) {
            pathf(p, "%s.best", at);
            json_t *bm = sum_obj(c, best, p, rp_mode_names[m]);
            pathf(p, "%s.best.%s", at, rp_mode_names[m]);
            q->best[m][r] = order_of(c, q, bm, p, rn, 1);
        }
        pathf(p, "%s.claim", at);
        json_t *k = sum_obj(c, cl, p, rn);
        pathf(pr, "%s.claim.%s", at, rn);
        load_claim(c, k, pr, &q->claim[r]);
        pathf(p, "%s.completeness", at);
        json_t *cr = sum_obj(c, co, p, rn);
        pathf(p, "%s.completeness.%s", at, rn);
        for (int m = 0; m < RP_NCOMP && !c->failed; m++) {
            json_t *x = sum_obj(c, cr, p, rp_comp_names[m]);
            rp_comp *cp = &q->comp[r][m];
            pathf(pr, "%s.%s", p, rp_comp_names[m]);
            rp_val_read(c, x, pr, "r", -1, 1, &cp->r);
            rp_val_read(c, x, pr, "slope", -BIG, BIG, &cp->slope);
            cp->n = sum_count(c, x, pr, "n");
        }
    }
}

void rp_causal_load(sum_ck *c, json_t *o, const char *at, long ncells, rp_causal *q)
{
    char p[PATHLEN];
    pathf(p, "%s.causal", at);
    if (!json_is_object(o)) {
        sum_fail(c, p, NULL, "expected an object, found %s", sum_type_name(o));
        return;
    }
    q->present = 1;
    q->curves_file = rp_md_str(c, o, p, "curves_file");
    sum_str(c, o, p, "curves_sha256");
    q->network = rp_md_str(c, o, p, "network");
    q->layer = rp_md_str(c, o, p, "layer");
    q->targets = sum_count(c, o, p, "targets");
    q->seed = sum_count(c, o, p, "seed");
    load_cells(c, o, p, ncells, q);
    load_names(c, o, p, q);
    if (!c->failed)
        load_curves(c, o, p, q);
    if (!c->failed)
        load_per_ref(c, o, p, q);
    if (!c->failed)
        load_pairs(c, o, p, q);
}

int rp_causal_order(const rp_causal *q, const char *name)
{
    for (int k = 0; k < q->norder && q->order[k]; k++)
        if (!strcmp(q->order[k], name))
            return k;
    return -1;
}

void rp_causal_free(rp_causal *q)
{
    free(q->cells);
    free(q->x);
    free(q->order);
    for (int m = 0; m < RP_NMODE; m++)
        for (int r = 0; r < RP_NREF; r++)
            free(q->cv[m][r]);
    free(q->buf);
    free(q->pairs);
    memset(q, 0, sizeof *q);
}
