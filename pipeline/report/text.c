/* text.c: the leaves of REPORT.md's text (see text.h): number formats,
 * Markdown pieces, interval rules and the rows of the paired tables.
 *
 * DESIGN
 * Every number printed in the report comes from the model (model.c) and
 * goes through the formatters here, so the same value always prints the
 * same way (one decimal for percentages and points, no "-0.0"). Readings
 * are chosen by rules on intervals (rp_side), never written in advance.
 * Nothing here knows the order of the report: frame.c and the question
 * files call these, never the other way round.
 *
 * Thread safety: pure; the streams passed in are the caller's.
 */
#include "pipeline/report/text.h"

#include <stdio.h>
#include <string.h>

const char *rp_fixed(char *o, double v, int decimals)
{
    snprintf(o, RP_NUM, "%.*f", decimals, v);
    if (o[0] == '-' && strspn(o + 1, "0.") == strlen(o + 1))
        memmove(o, o + 1, strlen(o));  /* no "-0.0" */
    return o;
}

const char *rp_pct(char *o, double share)
{
    return rp_fixed(o, 100.0 * share, 1);
}

const char *rp_pts(char *o, double diff)
{
    char t[RP_NUM];
    rp_fixed(t, 100.0 * diff, 1);
    size_t n = strlen(t);
    if (t[0] == '-' || strspn(t, "0.") == n) {
        memcpy(o, t, n + 1);
    } else {
        if (n > RP_NUM - 2)
            n = RP_NUM - 2;
        o[0] = '+';
        memcpy(o + 1, t, n);
        o[n + 1] = 0;
    }
    return o;
}

const char *rp_ci_pct(char *o, const rp_val *v)
{
    char a[RP_NUM], c[RP_NUM];
    if (!v->has_ci)
        o[0] = 0;
    else
        snprintf(o, RP_NUM, "[%s, %s]", rp_pct(a, v->lo), rp_pct(c, v->hi));
    return o;
}

const char *rp_valci_pct(char *o, const rp_val *v)
{
    char a[RP_NUM], c[RP_NUM];
    snprintf(o, RP_NUM, "%s%s%s", rp_pct(a, v->v), v->has_ci ? " " : "", rp_ci_pct(c, v));
    return o;
}

const char *rp_valci_enr(char *o, const rp_val *v)
{
    char a[RP_NUM], c[RP_NUM], d[RP_NUM];
    if (v->has_ci)
        snprintf(o, RP_NUM, "%s [%s, %s]", rp_fixed(a, v->v, 2), rp_fixed(c, v->lo, 2),
                 rp_fixed(d, v->hi, 2));
    else
        snprintf(o, RP_NUM, "%s", rp_fixed(a, v->v, 2));
    return o;
}

const char *rp_pval(char *o, double p)
{
    if (p >= 0.001 || p == 0)
        return rp_fixed(o, p, 3);
    snprintf(o, RP_NUM, "%.1e", p);
    return o;
}

const char *rp_sig(char *o, double v)
{
    snprintf(o, RP_NUM, "%.4g", v);
    if (!strcmp(o, "-0"))
        strcpy(o, "0");
    return o;
}

const char *rp_g3(char *o, double v, int plus)
{
    snprintf(o, RP_NUM, plus ? "%+.3g" : "%.3g", v);
    if (!strcmp(o, "-0") || !strcmp(o, "+0"))
        strcpy(o, "0");
    return o;
}

const char *rp_valci_g3(char *o, const rp_val *v, int plus)
{
    char a[RP_NUM], c[RP_NUM], d[RP_NUM];
    if (v->has_ci)
        snprintf(o, RP_NUM, "%s [%s, %s]", rp_g3(a, v->v, plus), rp_g3(c, v->lo, plus),
                 rp_g3(d, v->hi, plus));
    else
        snprintf(o, RP_NUM, "%s", rp_g3(a, v->v, plus));
    return o;
}

const char *rp_valci_fix(char *o, const rp_val *v, int decimals)
{
    char a[RP_NUM], c[RP_NUM], d[RP_NUM];
    if (v->has_ci)
        snprintf(o, RP_NUM, "%s [%s, %s]", rp_fixed(a, v->v, decimals),
                 rp_fixed(c, v->lo, decimals), rp_fixed(d, v->hi, decimals));
    else
        snprintf(o, RP_NUM, "%s", rp_fixed(a, v->v, decimals));
    return o;
}

int rp_side(double lo, double hi, int has_ci, double ref)
{
    if (!has_ci)
        return 2;
    if (lo > ref)
        return 1;
    if (hi < ref)
        return -1;
    return 0;
}

const char *rp_verdict_diff(int side)
{
    switch (side) {
    case 1:
        return "Grad-CAM higher (interval above 0)";
    case -1:
        return "Grad-CAM lower (interval below 0)";
    case 0:
        return "no difference detected (interval includes 0)";
    default:
        return "no interval (bootstrap off): no reading";
    }
}

void rp_href(FILE *md, const char *path)
{
    int angle = strpbrk(path, " ()<>") != NULL;
    fprintf(md, "(%s%s%s)", angle ? "<" : "", path, angle ? ">" : "");
}

void rp_figure(FILE *md, const rp_study *st, const char *name, const char *caption)
{
    int angle = strpbrk(st->fig_link, " ()<>") != NULL;
    const char *o = angle ? "<" : "", *c = angle ? ">" : "";
    fprintf(md, "![%s](%s%s/%s.png%s)\n\n*%s* ([SVG](%s%s/%s.svg%s))\n\n", caption, o,
            st->fig_link, name, c, caption, o, st->fig_link, name, c);
}

const char *rp_metric_label(const char *metric)
{
    if (!strcmp(metric, "boxacc"))
        return "BoxAcc";
    if (!strcmp(metric, "maxboxacc"))
        return "MaxBoxAcc";
    if (!strcmp(metric, "pointing"))
        return "pointing";
    if (!strcmp(metric, "energy"))
        return "energy";
    return metric;
}

void rp_pair_row(FILE *md, const char *lead, const rp_pair *q)
{
    char va[RP_NUM], vb[RP_NUM], d[RP_NUM], lo[RP_NUM], hi[RP_NUM], p[RP_NUM], iou[RP_NUM];
    char ci[2 * RP_NUM + 8] = "", disc[2 * RP_NUM] = "-";
    if (q->has_ci)
        snprintf(ci, sizeof ci, " [%s, %s]", rp_pts(lo, q->lo), rp_pts(hi, q->hi));
    if (q->has_mc)
        snprintf(disc, sizeof disc, "%ld / %ld", q->a_only, q->b_only);
    fprintf(md, "%s| %s | %s | %s%s | %s | %s | %s |\n", lead, rp_pct(va, q->va),
            rp_pct(vb, q->vb), rp_pts(d, q->diff), ci, disc,
            q->has_mc ? rp_pval(p, q->p) : "-", q->has_iou ? rp_fixed(iou, q->box_iou, 3) : "-");
}

const char *rp_diff_text(char *o, const rp_pair *q)
{
    char d[RP_NUM], lo[RP_NUM], hi[RP_NUM];
    if (q->has_ci)
        snprintf(o, 3 * RP_NUM + 16, "%s [%s, %s] points", rp_pts(d, q->diff), rp_pts(lo, q->lo),
                 rp_pts(hi, q->hi));
    else
        snprintf(o, 3 * RP_NUM + 16, "%s points", rp_pts(d, q->diff));
    return o;
}

static const char *const q1_metric[6] = {"boxacc", "boxacc", "maxboxacc", "maxboxacc",
                                         "pointing", "energy"};
static const int q1_norm[6] = {RP_MAX, RP_MINMAX, RP_MAX, RP_MINMAX, -1, -1};

void rp_paired_rows(FILE *md, const rp_input *in, int a, int v, const char *label)
{
    for (int k = 0; k < 6; k++) {
        const rp_pair *q = rp_find_pair(in, a, v, q1_metric[k], q1_norm[k]);
        if (!q)
            continue;
        char lead[256];
        snprintf(lead, sizeof lead, "| `%s` %s%s%s| %s | %s ", in->stem, label ? "| " : "",
                 label ? label : "", label ? " " : "", rp_metric_label(q->metric),
                 q->norm >= 0 ? rp_norm_names[q->norm] : "-");
        rp_pair_row(md, lead, q);
    }
}

