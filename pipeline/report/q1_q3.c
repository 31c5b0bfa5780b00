/* q1_q3.c: questions 1 to 3 of REPORT.md (the ReLU, negative evidence,
 * the sign tables).
 *
 * DESIGN
 * Each question: a short statement of the mechanism (what the formula
 * implies, true for any data), one table over every input, its figures,
 * and per-input readings chosen by the interval rules of text.c
 * (rp_side): the text never states a result that a number did not decide.
 * A variant or a paired comparison absent from the summary (a run with
 * --variants) is said to be absent, not guessed.
 *
 * Thread safety: pure text generation.
 */
#include "pipeline/report/q1_q3.h"

#include "pipeline/report/figures.h"
#include "pipeline/report/text.h"

#include <stdio.h>
#include <string.h>

static void q1_readings(FILE *md, const rp_input *in)
{
    char t[4 * RP_NUM], iou[RP_NUM];
    const rp_pair *bm = rp_find_pair(in, CAM_GRADCAM, CAM_SIGNED, "boxacc", RP_MAX);
    const rp_pair *bmm = rp_find_pair(in, CAM_GRADCAM, CAM_SIGNED, "boxacc", RP_MINMAX);
    const rp_pair *en = rp_find_pair(in, CAM_GRADCAM, CAM_SIGNED, "energy", -1);
    fprintf(md, "`%s` (%s):\n\n", in->stem, in->activation);
    if (!bm || !bmm) {
        fprintf(md, "- `gradcam-signed` was not run on this input: no reading.\n\n");
        return;
    }
    int s = rp_side(bm->lo, bm->hi, bm->has_ci, 0);
    if (in->threshold <= 0)
        s = 3;  /* at t = 0 every pixel of the ReLU map passes: the argument needs t > 0 */
    fprintf(md, "- `max`: the two maps' boxes overlap with mean IoU %s (1 = the same boxes)",
            bm->has_iou ? rp_fixed(iou, bm->box_iou, 3) : "(not in the summary)");
    if (bm->has_mc)
        fprintf(md, "; %ld of %ld targets change outcome (%ld hit with the ReLU only, %ld "
                    "without it only)", bm->a_only + bm->b_only, bm->targets, bm->a_only,
                bm->b_only);
    fprintf(md, ". BoxAcc difference %s: %s.", rp_diff_text(t, bm),
            s == 0 ? "the interval includes 0, no difference detected, as the argument "
                       "predicts"
            : s == 2 ? "no interval, no reading"
            : s == 3 ? "the box threshold is 0, where the ReLU does change which pixels pass "
                         "(all of them pass with it), so the argument does not apply"
                       : "the interval excludes 0; since the passing pixels are the same at "
                         "feature resolution, this difference comes from upsampling");
    fprintf(md, "\n");
    s = rp_side(bmm->lo, bmm->hi, bmm->has_ci, 0);
    fprintf(md, "- `minmax`: BoxAcc difference %s: %s.\n", rp_diff_text(t, bmm),
            s == 1    ? "the interval is above 0, the ReLU helps under minmax normalisation"
            : s == -1 ? "the interval is below 0, the map without the ReLU does better under "
                          "minmax normalisation"
            : s == 0  ? "the interval includes 0, no difference detected"
                        : "no interval, no reading");
    if (en) {
        s = rp_side(en->lo, en->hi, en->has_ci, 0);
        fprintf(md, "- energy: difference %s: %s.\n", rp_diff_text(t, en),
                s == 0 ? "no difference detected" : s == 2 ? "no reading"
                : s == 1 ? "higher with the ReLU (upsampling only: both sum max(m, 0))"
                           : "lower with the ReLU (upsampling only: both sum max(m, 0))");
    }
    for (int k = 0; k < 2; k++) {
        const rp_pair *q = k ? bmm : bm;
        s = rp_side(q->lo, q->hi, q->has_ci, PAPER_RELU_POINTS / 100.0);
        fprintf(md, "- Against the paper's ~%g points (`%s`): %s.\n", PAPER_RELU_POINTS,
                rp_norm_names[q->norm],
                s == -1  ? "our interval lies below it"
                : s == 1 ? "our interval lies above it"
                : s == 0 ? "our interval includes it"
                           : "no interval, no comparison");
    }
    fprintf(md, "\n");
}

void rp_q1(FILE *md, const rp_study *st)
{
    char name[256];
    fprintf(md,
        "## Question 1: Does the ReLU help localization?\n\n"
        "Separate the ReLU from the normalisation. With `max` normalisation a pixel passes "
        "threshold `t > 0` when `m >= t max(m)`, which needs `m > 0`: the ReLU only changes "
        "pixels with `m < 0`, and those fail either way. So at feature resolution the ReLU "
        "cannot change which pixels pass (when no value is positive, both maps are "
        "degenerate). The engine thresholds at image resolution after bilinear upsampling, "
        "where negative neighbours pull positive pixels down in the signed map only: small "
        "differences with `max` are upsampling. With `minmax` normalisation the signed map's "
        "minimum is negative, so `t` of the range lies below `t max(m)` and more pixels pass; "
        "the energy metric sums `max(m, 0)` for both maps. Any loss without the ReLU must "
        "come from `minmax`, from the energy metric, or from upsampling.\n\n"
        "The paper's appendix reports the localization error rising by about %g points "
        "without the ReLU (ILSVRC-15 val, VGG-16). Ours: Grad-CAM minus `gradcam-signed`, "
        "per metric and normalisation.\n\n"
        "| input | metric | norm " RP_PAIR_HEAD "|---|---|---|" RP_PAIR_RULE,
        PAPER_RELU_POINTS);
    for (int i = 0; i < st->n; i++)
        rp_paired_rows(md, &st->in[i], CAM_GRADCAM, CAM_SIGNED, NULL);
    fprintf(md, "\n");
    for (int i = 0; i < st->n; i++)
        q1_readings(md, &st->in[i]);
    rp_fig_name(name, sizeof name, "q1-relu-diff", NULL);
    rp_figure(md, st, name, "Grad-CAM minus the map without ReLU, per input, metric and "
                           "normalisation, with 95% intervals; the dashed line is the paper's "
                           "reported effect (about 15 points of localization error).");
    fprintf(md, "BoxAcc against the box threshold, per input, with and without the ReLU: "
                "appendix.\n\n");
}

static void q1_appendix(FILE *md, const rp_study *st)
{
    char name[256];
    fprintf(md, "### Question 1: BoxAcc against the threshold\n\n");
    for (int i = 0; i < st->n; i++) {
        rp_fig_name(name, sizeof name, "q1-boxacc-curve", &st->in[i]);
        char cap[512];
        const rp_variant *g = &st->in[i].var[CAM_GRADCAM];
        int same = 1;
        for (long t = 0; t < st->in[i].nthr; t++)
            same &= g->curve[RP_MAX][t] == g->curve[RP_MINMAX][t];
        snprintf(cap, sizeof cap, "`%s`: BoxAcc against the box threshold, with and without "
                                  "the ReLU, both normalisations; the vertical line is the "
                                  "threshold used for BoxAcc.%s", st->in[i].stem,
                 same ? " Grad-CAM's max and minmax curves coincide (drawn over each other)."
                      : "");
        rp_figure(md, st, name, cap);
    }
}

static void enr_reading(FILE *md, const char *what, const rp_val *e)
{
    char t[2 * RP_NUM];
    int s = rp_side(e->lo, e->hi, e->has_ci, 1.0);
    fprintf(md, "%s enrichment %s: %s", what, rp_valci_enr(t, e),
            s == 1    ? "concentrates on other classes' boxes (interval above 1)"
            : s == -1 ? "avoids other classes' boxes (interval below 1)"
            : s == 0  ? "no preference detected (interval includes 1)"
                        : "no interval, no reading");
}

void rp_q2(FILE *md, const rp_study *st)
{
    static const int vs[2] = {CAM_SIGNED, CAM_HIRESCAM_SIGNED};
    char x[RP_NUM], y[RP_NUM], z[RP_NUM], w[2 * RP_NUM], u[2 * RP_NUM], name[256];
    fprintf(md,
        "## Question 2: Do negative pixels belong to other categories?\n\n"
        "For a target whose image also holds another class, the *other region* is the "
        "inside of the other classes' boxes minus the target class's boxes. Negative "
        "enrichment = the share of the map's negative mass that falls there, divided by the "
        "region's share of the frame (means over eligible targets); positive enrichment "
        "likewise for the positive mass. 1 = no preference. The signed maps carry both "
        "signs: `gradcam-signed` (weights per channel) and `hirescam-signed` (per element).\n\n"
        "| input | variant | targets (neg) | negative mass there (%%) | area (%%) "
        "| negative enrichment | targets (pos) | positive mass there (%%) "
        "| positive enrichment |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < st->n; i++)
        for (int k = 0; k < 2; k++) {
            const rp_variant *v = &st->in[i].var[vs[k]];
            if (!v->present)
                continue;
            fprintf(md, "| `%s` | `%s` | %ld | %s | %s | %s | %ld | %s | %s |\n",
                    st->in[i].stem, var_name(vs[k]), v->eligible_neg,
                    rp_pct(x, v->neg_other), rp_pct(y, v->neg_area),
                    rp_valci_enr(w, &v->neg_enr), v->eligible_pos, rp_pct(z, v->pos_other),
                    rp_valci_enr(u, &v->pos_enr));
        }
    fprintf(md, "\n");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        fprintf(md, "`%s` (%s):\n\n", in->stem, in->activation);
        for (int k = 0; k < 2; k++) {
            const rp_variant *v = &in->var[vs[k]];
            if (!v->present) {
                fprintf(md, "- `%s` was not run on this input.\n", var_name(vs[k]));
                continue;
            }
            if (v->eligible_neg == 0) {
                fprintf(md, "- `%s`: no target has both negative mass and another class's "
                            "box: no reading.\n", var_name(vs[k]));
                continue;
            }
            fprintf(md, "- `%s`: ", var_name(vs[k]));
            enr_reading(md, "negative", &v->neg_enr);
            fprintf(md, "; ");
            enr_reading(md, "positive", &v->pos_enr);
            const rp_val *n = &v->neg_enr, *p = &v->pos_enr;
            fprintf(md, ". Negative vs positive: %s. %s%% of the negative mass lies on "
                        "other classes' boxes, %s%% elsewhere.\n",
                    !n->has_ci || !p->has_ci ? "no intervals, no comparison"
                    : n->lo > p->hi          ? "the negative evidence is the more enriched "
                                                 "(intervals disjoint)"
                    : n->hi < p->lo          ? "the positive evidence is the more enriched "
                                                 "(intervals disjoint)"
                                               : "not distinguishable (intervals overlap)",
                    rp_pct(x, v->neg_other), rp_pct(y, 1.0 - v->neg_other));
        }
        fprintf(md, "\n");
    }
    rp_fig_name(name, sizeof name, "q2-enrichment", NULL);
    rp_figure(md, st, name, "Negative and positive evidence enrichment on other classes' boxes "
                           "per input, with 95% intervals; 1 = no preference.");
}

/* Shares of one sign-table region; nn, np: the shares with the summary's
 * 95% intervals (has_ci 0 when the summary has none). */
typedef struct {
    double n, neg_a, zero_a, pos, nn_share, negm, np_share, net;
    rp_val nn, np;
} sign_summary;

static sign_summary summarise(const rp_cells *c)
{
    sign_summary s;
    memset(&s, 0, sizeof s);
    s.nn_share = s.np_share = -1;
    for (int k = 0; k < RC_N; k++) {
        s.n += c->count[k];
        s.net += c->sum[k];
    }
    s.neg_a = s.n > 0 ? (c->count[RC_PN] + c->count[RC_0N] + c->count[RC_NN]) / s.n : 0;
    s.zero_a = s.n > 0 ? (c->count[RC_P0] + c->count[RC_00] + c->count[RC_N0]) / s.n : 0;
    s.pos = c->sum[RC_PP] + c->sum[RC_NN];
    s.negm = -(c->sum[RC_PN] + c->sum[RC_NP]);
    if (s.pos > 0)
        s.nn_share = c->sum[RC_NN] / s.pos;
    if (s.negm > 0)
        s.np_share = -c->sum[RC_NP] / s.negm;
    s.nn = c->share[RS_NN];
    s.nn.v = s.nn_share;
    s.nn.has_ci &= s.nn_share >= 0;
    s.np = c->share[RS_NP];
    s.np.v = s.np_share;
    s.np.has_ci &= s.np_share >= 0;
    return s;
}

/* "12.3 [11.0, 13.6]" (percent, with the interval when there is one), or
 * "-" for a share that is not defined. o: RP_NUM bytes. */
static const char *share_text(char *o, const rp_val *v)
{
    return v->v >= 0 ? rp_valci_pct(o, v) : "-";
}

/* For the readings: "12.3% [11.0, 13.6]", "12.3%" without an interval, or
 * "-" for a share that is not defined. o: 2 * RP_NUM bytes. */
static const char *share_says(char *o, const rp_val *v)
{
    char a[RP_NUM], c[RP_NUM];
    if (v->v < 0)
        return "-";
    snprintf(o, 2 * RP_NUM, "%s%%%s%s", rp_pct(a, v->v), v->has_ci ? " " : "", rp_ci_pct(c, v));
    return o;
}

/* Whether any share of the study has an interval (the text then says so). */
static int any_share_ci(const rp_study *st)
{
    for (int i = 0; i < st->n; i++)
        for (int t = 0; t < RT_N; t++)
            for (int r = 0; r < RR_N; r++)
                for (int k = 0; k < RS_N; k++)
                    if (st->in[i].signs[t][r].share[k].has_ci)
                        return 1;
    return 0;
}

static void sign_table(FILE *md, const rp_study *st, int t)
{
    fprintf(md, "| input | activation | region | elements | A < 0 (%%) | A = 0 (%%) "
                "| positive mass | from NN (%%) | negative mass | from NP (%%) | sum |\n"
                "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < st->n; i++)
        for (int r = 0; r < RR_N; r++) {
            sign_summary s = summarise(&st->in[i].signs[t][r]);
            char a[RP_NUM], c[RP_NUM], d[RP_NUM], e[RP_NUM], f[RP_NUM], g[RP_NUM], h[RP_NUM];
            fprintf(md, "| `%s` | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
                    st->in[i].stem, st->in[i].activation, rp_region_names[r], s.n,
                    rp_pct(a, s.neg_a), rp_pct(c, s.zero_a), rp_sig(d, s.pos),
                    share_text(e, &s.nn), rp_sig(f, s.negm), share_text(g, &s.np),
                    rp_sig(h, s.net));
        }
    fprintf(md, "\n");
}

static void q3_tap_readings(FILE *md, const rp_input *in)
{
    char x[RP_NUM], y[RP_NUM], z[2 * RP_NUM], w[2 * RP_NUM], v[2 * RP_NUM], g[2 * RP_NUM];
    sign_summary all = summarise(&in->signs[RT_ALPHAA][RR_ALL]);
    sign_summary tgt = summarise(&in->signs[RT_ALPHAA][RR_TARGET]);
    sign_summary oth = summarise(&in->signs[RT_ALPHAA][RR_OTHER]);
    sign_summary ga = summarise(&in->signs[RT_GA][RR_ALL]);
    fprintf(md, "- `%s` (%s): ", in->stem, in->activation);
    if (all.neg_a == 0) {
        fprintf(md, "no element of A is negative, so the NN and PN cells are empty: all "
                    "positive mass is PP, a positive weight times activation strength, and "
                    "%s%% of the elements are exactly 0 (\"absent\" contributes nothing).",
                rp_pct(x, all.zero_a));
    } else {
        fprintf(md, "%s%% of A's elements are negative and %s%% are 0. The NN cell (negative "
                    "weight times negative activation) supplies %s of the positive mass "
                    "overall, %s inside the target's boxes and %s on other classes' "
                    "boxes; PP supplies the rest.",
                rp_pct(x, all.neg_a), rp_pct(y, all.zero_a), share_says(z, &all.nn),
                share_says(w, &tgt.nn), share_says(v, &oth.nn));
        if (ga.nn_share >= 0)
            fprintf(md, " Per element (G times A), NN supplies %s of the positive mass.",
                    share_says(g, &ga.nn));
    }
    fprintf(md, " Net sum of alpha A: %s inside the target's boxes, %s on other classes' "
                "boxes.\n", rp_sig(z, tgt.net), rp_sig(w, oth.net));
}

static void taps(FILE *md, const rp_study *st)
{
    char x[RP_NUM], y[RP_NUM], z[RP_NUM], p[2 * RP_NUM], q[2 * RP_NUM], d[4 * RP_NUM];
    int any = 0;
    for (int i = 0; i < st->n; i++)
        for (int j = i + 1; j < st->n; j++)
            any |= !strcmp(st->in[i].model, st->in[j].model);
    fprintf(md, "### Taps of one network\n\n");
    if (!any) {
        fprintf(md, "Each network has a single tap in this summary: no within-network "
                    "comparison of taps.\n\n");
        return;
    }
    fprintf(md, "A post-ReLU tap has `A >= 0`, so zero means \"absent\" and only positive "
                "weights add to the map; a pre-activation or signed tap lets NN add too.\n\n"
                "| network | input | activation | A < 0 (%%) | A = 0 (%%) | NN share (%%) "
                "| Grad-CAM BoxAcc (max) | Grad-CAM pointing | ReLU effect, BoxAcc minmax "
                "(points) |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < st->n; i++) {
        int shared = 0;
        for (int j = 0; j < st->n; j++)
            shared |= j != i && !strcmp(st->in[i].model, st->in[j].model);
        if (!shared)
            continue;
        const rp_input *in = &st->in[i];
        sign_summary s = summarise(&in->signs[RT_ALPHAA][RR_ALL]);
        const rp_pair *r = rp_find_pair(in, CAM_GRADCAM, CAM_SIGNED, "boxacc", RP_MINMAX);
        fprintf(md, "| `%s` | `%s` | %s | %s | %s | %s | %s | %s | %s |\n", in->model,
                in->stem, in->activation, rp_pct(x, s.neg_a), rp_pct(y, s.zero_a),
                share_text(z, &s.nn), rp_valci_pct(p, &in->var[CAM_GRADCAM].boxacc[RP_MAX]),
                rp_valci_pct(q, &in->var[CAM_GRADCAM].pointing), r ? rp_diff_text(d, r) : "-");
    }
    fprintf(md, "\n");
    for (int i = 0; i < st->n; i++)
        for (int j = i + 1; j < st->n; j++) {
            if (strcmp(st->in[i].model, st->in[j].model) != 0)
                continue;
            const rp_variant *a = &st->in[i].var[CAM_GRADCAM], *c = &st->in[j].var[CAM_GRADCAM];
            for (int k = 0; k < 2; k++) {
                const rp_val *u = k ? &a->pointing : &a->boxacc[RP_MAX];
                const rp_val *v = k ? &c->pointing : &c->boxacc[RP_MAX];
                const char *hi = u->lo > v->hi ? st->in[i].stem
                               : u->hi < v->lo ? st->in[j].stem : NULL;
                fprintf(md, "- `%s`: Grad-CAM %s on `%s` (%s) vs `%s` (%s): ", st->in[i].model,
                        k ? "pointing" : "BoxAcc (max)", st->in[i].stem,
                        st->in[i].activation, st->in[j].stem, st->in[j].activation);
                if (!u->has_ci || !v->has_ci)
                    fprintf(md, "no intervals, no reading.\n");
                else if (hi)
                    fprintf(md, "higher on `%s` (intervals disjoint).\n", hi);
                else
                    fprintf(md, "no difference detected (intervals overlap).\n");
            }
        }
    fprintf(md, "\n");
}

/* Grad-CAM against activation alone, gradient alone, absolute gradients. */
static void alone_readings(FILE *md, const rp_study *st)
{
    static const int vs[3] = {CAM_ACTIVATION, CAM_GRADIENT, CAM_ABSGRAD};
    char t[4 * RP_NUM];
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        for (int k = 0; k < 3; k++) {
            const rp_pair *q = rp_find_pair(in, CAM_GRADCAM, vs[k], "boxacc", RP_MAX);
            const rp_pair *p = rp_find_pair(in, CAM_GRADCAM, vs[k], "pointing", -1);
            if (!q || !p)
                continue;
            fprintf(md, "- `%s`, Grad-CAM vs `%s`: BoxAcc (max) %s, %s", in->stem,
                    var_name(vs[k]), rp_diff_text(t, q),
                    rp_verdict_diff(rp_side(q->lo, q->hi, q->has_ci, 0)));
            fprintf(md, "; pointing %s, %s.\n", rp_diff_text(t, p),
                    rp_verdict_diff(rp_side(p->lo, p->hi, p->has_ci, 0)));
        }
    }
    fprintf(md, "\n");
}

void rp_q3(FILE *md, const rp_study *st)
{
    char name[256];
    fprintf(md,
        "## Question 3: Why activation strength?\n\n"
        "Every element `(k, i, j)` of the layer adds `alpha_k A_kij` to the map. The sign "
        "table sorts these products by the sign of `alpha_k` (first letter) and of `A_kij` "
        "(second): positive mass comes from PP and NN, negative mass from PN and NP (a cell "
        "with a 0 adds nothing); the appendix has the same table per element, with `G_kij` "
        "in place of `alpha_k` (HiResCAM's products). Sums are over all targets of the input; "
        "regions are where the feature cell's centre falls: inside a box of the target's "
        "class, of another class, or neither.%s\n\n"
        "Products `alpha x A`:\n\n",
        any_share_ci(st) ? " The shares (NN's share of the positive mass, NP's of the negative "
                           "mass) are ratios of sums over targets; the brackets are their 95% "
                           "intervals, resampling images with all their targets." : "");
    sign_table(md, st, RT_ALPHAA);
    for (int i = 0; i < st->n; i++)
        q3_tap_readings(md, &st->in[i]);
    fprintf(md, "\nThe paired table of activation alone, gradient alone and absolute gradients "
                "against Grad-CAM is in the appendix; its readings:\n\n");
    alone_readings(md, st);
    for (int i = 0; i < st->n; i++) {
        rp_fig_name(name, sizeof name, "q3-signs", &st->in[i]);
        char cap[512];
        snprintf(cap, sizeof cap, "`%s`: sign-table sums per region, divided by the region's "
                                  "number of elements (mean product per feature element).",
                 st->in[i].stem);
        rp_figure(md, st, name, cap);
    }
    taps(md, st);
}

static void q3_appendix(FILE *md, const rp_study *st)
{
    static const int vs[3] = {CAM_ACTIVATION, CAM_GRADIENT, CAM_ABSGRAD};
    fprintf(md, "### Question 3: products `G x A`\n\n"
                "The sign table of Question 3 with `G_kij` in place of `alpha_k` (first "
                "letter: the sign of G):\n\n");
    sign_table(md, st, RT_GA);
    fprintf(md, "### Question 3: activation alone, gradient alone\n\n"
                "Grad-CAM minus the map of activation strength alone (`activation`), of "
                "gradients alone (`gradient`), and with absolute gradients as weights "
                "(`gradcam-absgrad`).\n\n"
                "| input | compared with | metric | norm " RP_PAIR_HEAD
                "|---|---|---|---|" RP_PAIR_RULE);
    for (int i = 0; i < st->n; i++)
        for (int k = 0; k < 3; k++) {
            char label[64];
            snprintf(label, sizeof label, "`%s`", var_name(vs[k]));
            rp_paired_rows(md, &st->in[i], CAM_GRADCAM, vs[k], label);
        }
    fprintf(md, "\n");
    fprintf(md, "\n");
}

void rp_q1_q3_appendix(FILE *md, const rp_study *st)
{
    q1_appendix(md, st);
    q3_appendix(md, st);
}
