/* q4_q5.c: questions 4 and 5 of REPORT.md (the shift of A, Grad-CAM
 * among its variants) and "what the numbers say and do not say".
 *
 * DESIGN
 * As q1_q3.c: mechanism first, then a table over every input, the
 * figures, and readings decided by the interval rules (rp_side). The
 * closing summary restates, per input, the one reading of each question
 * that the question's section derived, with the same rules.
 *
 * Thread safety: pure text generation.
 */
#include "pipeline/report/q4_q5.h"

#include "pipeline/report/figures.h"
#include "pipeline/report/text.h"

#include <stdio.h>
#include <string.h>

static const char *const q4_metric[4] = {"boxacc", "boxacc", "pointing", "maxboxacc"};
static const int q4_norm[4] = {RP_MAX, RP_MINMAX, -1, RP_MAX};

/* 1 when no paired box moved and no hit changed; 0 when something moved;
 * -1 when the comparisons are missing. */
static int invariant(const rp_input *in)
{
    int found = 0;
    for (int k = 0; k < 4; k++) {
        const rp_pair *q = rp_find_pair(in, CAM_GRADCAM, CAM_CENTERED, q4_metric[k], q4_norm[k]);
        if (!q)
            continue;
        found = 1;
        if ((q->has_iou && q->box_iou != 1.0) || (q->has_mc && (q->a_only || q->b_only)) ||
            q->diff != 0)
            return 0;
    }
    return found ? 1 : -1;
}

static void q4_readings(FILE *md, const rp_input *in)
{
    char t[4 * RP_NUM], x[RP_NUM], y[RP_NUM];
    const rp_pair *bm = rp_find_pair(in, CAM_GRADCAM, CAM_CENTERED, "boxacc", RP_MAX);
    const rp_pair *bmm = rp_find_pair(in, CAM_GRADCAM, CAM_CENTERED, "boxacc", RP_MINMAX);
    const rp_pair *pt = rp_find_pair(in, CAM_GRADCAM, CAM_CENTERED, "pointing", -1);
    fprintf(md, "- `%s` (%s): ", in->stem, in->activation);
    int inv = invariant(in);
    if (inv < 0 || !bm) {
        fprintf(md, "`gradcam-centered` was not run on this input: no reading.\n");
        return;
    }
    if (bm->has_iou && bmm && bmm->has_iou)
        fprintf(md, "boxes at the threshold overlap with mean IoU %s (`max`) and %s "
                    "(`minmax`), 1 = unmoved. ",
                rp_fixed(x, bm->box_iou, 3), rp_fixed(y, bmm->box_iou, 3));
    if (bm->has_mc)
        fprintf(md, "With `max`, %ld of %ld targets change outcome (%ld hit before the shift "
                    "only, %ld after it only; McNemar p %s). ",
                bm->a_only + bm->b_only, bm->targets, bm->a_only, bm->b_only,
                rp_pval(x, bm->p));
    fprintf(md, "BoxAcc (max) difference %s: %s. ", rp_diff_text(t, bm),
            rp_verdict_diff(rp_side(bm->lo, bm->hi, bm->has_ci, 0)));
    if (pt && pt->has_mc)
        fprintf(md, "Pointing: %ld target%s change%s outcome, difference %s: %s. ",
                pt->a_only + pt->b_only, pt->a_only + pt->b_only == 1 ? "" : "s",
                pt->a_only + pt->b_only == 1 ? "s" : "", rp_diff_text(t, pt),
                rp_verdict_diff(rp_side(pt->lo, pt->hi, pt->has_ci, 0)));
    fprintf(md, "%s\n", inv ? "No box moved and no hit changed: invariant on this input."
                             : "Not invariant: the shift moves boxes.");
}

void rp_q4(FILE *md, const rp_study *st)
{
    char name[256];
    fprintf(md,
        "## Question 4: Is Grad-CAM invariant to a function-preserving shift of A?\n\n"
        "Subtract from each channel its mean over the file, `A'^k = A^k - mu_k`, and let the "
        "layer that consumes `A` add `mu_k` back (through its bias): the network computes "
        "the same function and the gradients are the same, so the weights `alpha_k` do not "
        "change. The map becomes `M - c` with `c = sum_k alpha_k mu_k`, one constant per "
        "target. A constant moves where zero is: the ReLU then cuts elsewhere, and `max` "
        "normalisation scales differently (only `minmax` without a ReLU would not notice). "
        "`gradcam-centered` is this map; here is how far it moves Grad-CAM's boxes and "
        "hits.\n\n"
        "| input | metric | norm " RP_PAIR_HEAD "|---|---|---|" RP_PAIR_RULE);
    for (int i = 0; i < st->n; i++)
        rp_paired_rows(md, &st->in[i], CAM_GRADCAM, CAM_CENTERED, NULL);
    fprintf(md, "\n");
    for (int i = 0; i < st->n; i++)
        q4_readings(md, &st->in[i]);
    fprintf(md, "\n");
    rp_fig_name(name, sizeof name, "q4-shift", NULL);
    rp_figure(md, st, name, "Grad-CAM against the centred map per input: mean IoU between "
                           "their boxes (left) and BoxAcc difference with 95% intervals "
                           "(right), both normalisations.");
}

static void variant_table(FILE *md, const rp_input *in)
{
    fprintf(md, "| variant | degenerate | BoxAcc max | BoxAcc minmax | MaxBoxAcc max (t) "
                "| MaxBoxAcc minmax (t) | MaxBoxAccV2 max | MaxBoxAccV2 minmax | pointing "
                "| energy |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int v = 0; v < VAR_N; v++) {
        const rp_variant *x = &in->var[v];
        if (!x->present)
            continue;
        char c[8][2 * RP_NUM], t0[RP_NUM], t1[RP_NUM];
        fprintf(md, "| `%s` | %ld | %s | %s | %s (%s) | %s (%s) | %s | %s | %s | %s |\n",
                var_name(v), x->degenerate, rp_valci_pct(c[0], &x->boxacc[RP_MAX]),
                rp_valci_pct(c[1], &x->boxacc[RP_MINMAX]),
                rp_valci_pct(c[2], &x->maxboxacc[RP_MAX]), rp_fixed(t0, x->maxboxacc_t[0], 2),
                rp_valci_pct(c[3], &x->maxboxacc[RP_MINMAX]),
                rp_fixed(t1, x->maxboxacc_t[1], 2), rp_valci_pct(c[4], &x->maxboxacc_v2[RP_MAX]),
                rp_valci_pct(c[5], &x->maxboxacc_v2[RP_MINMAX]),
                rp_valci_pct(c[6], &x->pointing), rp_valci_pct(c[7], &x->energy));
    }
    fprintf(md, "\n");
}

/* The variant with the highest value, and those whose interval overlaps its. */
static void best_of(FILE *md, const rp_input *in, const char *label, int which)
{
    const rp_val *vals[VAR_N] = {0};
    int best = -1;
    for (int v = 0; v < VAR_N; v++) {
        const rp_variant *x = &in->var[v];
        if (!x->present)
            continue;
        vals[v] = which == 0 ? &x->boxacc[RP_MAX] : which == 1 ? &x->maxboxacc_v2[RP_MAX]
                : which == 2 ? &x->pointing : &x->energy;
        if (best < 0 || vals[v]->v > vals[best]->v)
            best = v;
    }
    char t[2 * RP_NUM];
    fprintf(md, "%s: highest `%s` (%s)", label, var_name(best),
            rp_valci_pct(t, vals[best]));
    if (!vals[best]->has_ci) {
        fprintf(md, "; no intervals, no ranking");
        return;
    }
    int n = 0;
    for (int v = 0; v < VAR_N; v++)
        if (vals[v] && v != best && vals[v]->hi >= vals[best]->lo)
            fprintf(md, "%s`%s`", n++ ? ", " : "; not distinguishable from it: ",
                    var_name(v));
    if (!n)
        fprintf(md, "; every other variant's interval lies below");
}

static void q5_readings(FILE *md, const rp_input *in)
{
    static const char *const labels[4] = {"BoxAcc (max)", "MaxBoxAccV2 (max)", "pointing",
                                          "energy"};
    static const char *const metrics[4] = {"boxacc", "maxboxacc", "pointing", "energy"};
    static const int norms[4] = {RP_MAX, RP_MAX, -1, -1};
    for (int k = 0; k < 4; k++) {
        fprintf(md, "- ");
        best_of(md, in, labels[k], k);
        fprintf(md, ".\n");
    }
    /* Grad-CAM against each variant, by the paired intervals */
    static const char *const head[3] = {"higher than", "lower than", "not distinguishable from"};
    for (int k = 0; k < 4; k++) {
        if (k == 1)
            continue;  /* the paired comparisons hold MaxBoxAcc, not V2 */
        fprintf(md, "- Grad-CAM's %s, paired with each variant:", labels[k]);
        int groups = 0;
        for (int g = 0; g < 3; g++) {
            int n = 0;
            for (int v = 0; v < VAR_N; v++) {
                const rp_pair *q = rp_find_pair(in, CAM_GRADCAM, v, metrics[k], norms[k]);
                if (!q || !q->has_ci)
                    continue;
                int s = rp_side(q->lo, q->hi, 1, 0);
                if ((g == 0 && s == 1) || (g == 1 && s == -1) || (g == 2 && s == 0)) {
                    if (n++ == 0)
                        fprintf(md, "%s%s ", groups++ ? "; " : " ", head[g]);
                    else
                        fprintf(md, ", ");
                    fprintf(md, "`%s`", var_name(v));
                }
            }
        }
        fprintf(md, "%s.\n", groups ? "" : " no interval, no reading");
    }
}

/* The body's table: per input and headline metric, the highest variant and
 * Grad-CAM, and whether their intervals overlap. */
static void q5_compact(FILE *md, const rp_study *st)
{
    static const char *const labels[4] = {"BoxAcc (max)", "MaxBoxAccV2 (max)", "pointing",
                                          "energy"};
    fprintf(md, "| input | metric | highest | its value | Grad-CAM | Grad-CAM's interval "
                "overlaps it |\n|---|---|---|---:|---:|---|\n");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        for (int k = 0; k < 4; k++) {
            const rp_val *best = NULL, *g = NULL;
            int bi = -1;
            for (int v = 0; v < VAR_N; v++) {
                const rp_variant *x = &in->var[v];
                if (!x->present)
                    continue;
                const rp_val *y = k == 0 ? &x->boxacc[RP_MAX] : k == 1 ? &x->maxboxacc_v2[RP_MAX]
                                : k == 2 ? &x->pointing : &x->energy;
                if (v == CAM_GRADCAM)
                    g = y;
                if (!best || y->v > best->v)
                    best = y, bi = v;
            }
            char a[2 * RP_NUM], b[2 * RP_NUM];
            fprintf(md, "| `%s` | %s | `%s` | %s | %s | %s |\n", in->stem, labels[k],
                    var_name(bi), rp_valci_pct(a, best), rp_valci_pct(b, g),
                    bi == CAM_GRADCAM ? "(Grad-CAM is the highest)"
                    : !g->has_ci || !best->has_ci ? "no interval"
                    : g->hi >= best->lo ? "yes: not distinguishable" : "no: lower");
        }
    }
    fprintf(md, "\n");
}

void rp_q5(FILE *md, const rp_study *st)
{
    char name[256], cap[512];
    fprintf(md,
        "## Question 5: Where does Grad-CAM stand among the variants?\n\n"
        "The headline metrics of every map the engine computed, 95%% intervals in brackets: "
        "the highest variant per input and metric against Grad-CAM. Degenerate maps (no "
        "positive value) count as misses. Every variant and metric, with the paired "
        "readings, is in the appendix.\n\n");
    q5_compact(md, st);
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        rp_fig_name(name, sizeof name, "q5-metrics", in);
        snprintf(cap, sizeof cap, "`%s`: the headline metrics of every variant with 95%% "
                                  "intervals (box metrics with max normalisation).", in->stem);
        rp_figure(md, st, name, cap);
    }
}

void rp_q5_appendix(FILE *md, const rp_study *st)
{
    char name[256], cap[512];
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        fprintf(md, "### Question 5: `%s` (%s, `%s`)\n\n", in->stem, in->activation,
                in->layer);
        if (in->gallery) {
            fprintf(md, "Example maps of this input: [gallery-%s.png]", in->stem);
            rp_href(md, in->gallery);
            fprintf(md, ".\n\n");
        }
        fprintf(md, "Every variant, every metric; MaxBoxAcc with the threshold `t` it "
                    "chose.\n\n");
        variant_table(md, in);
        q5_readings(md, in);
        fprintf(md, "\n");
        rp_fig_name(name, sizeof name, "q5-boxacc-curves", in);
        snprintf(cap, sizeof cap, "`%s`: BoxAcc against the box threshold for every variant, "
                                  "max (left) and minmax (right) normalisation.", in->stem);
        rp_figure(md, st, name, cap);
        if (rp_perclass_plotted(in)) {
            rp_fig_name(name, sizeof name, "q5-pointing-per-class", in);
            snprintf(cap, sizeof cap, "`%s`: pointing accuracy per class.", in->stem);
            rp_figure(md, st, name, cap);
        } else if (in->var[CAM_GRADCAM].nclass > 0) {
            fprintf(md, "Per-class pointing: %d classes, too many for a bar chart (see "
                        "`pointing_per_class` in the summary).\n\n",
                    in->var[CAM_GRADCAM].nclass);
        } else {
            fprintf(md, "Per-class pointing: no class has a scored target.\n\n");
        }
    }
}

static const char *short_side(int s)
{
    return s == 1 ? "Grad-CAM higher" : s == -1 ? "Grad-CAM lower"
         : s == 0 ? "none detected" : "no interval";
}

void rp_findings(FILE *md, const rp_study *st)
{
    char t[4 * RP_NUM], u[4 * RP_NUM], x[RP_NUM], e[2 * RP_NUM];
    fprintf(md,
        "## What the numbers say and do not say\n\n"
        "The readings above, one per question and input, by the same rules:\n\n"
        "| input | Q1 ReLU, BoxAcc max | Q1 ReLU, BoxAcc minmax | Q2 negative enrichment "
        "(`gradcam-signed`) | Q3 NN share of positive mass | Q4 centring: box IoU (max), "
        "targets changed | Q5 best BoxAcc (max) | Q6 claim test, y^c (`zero`) |\n"
        "|---|---|---|---|---:|---|---|---|\n");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        const rp_pair *bm = rp_find_pair(in, CAM_GRADCAM, CAM_SIGNED, "boxacc", RP_MAX);
        const rp_pair *bmm = rp_find_pair(in, CAM_GRADCAM, CAM_SIGNED, "boxacc", RP_MINMAX);
        const rp_pair *c = rp_find_pair(in, CAM_GRADCAM, CAM_CENTERED, "boxacc", RP_MAX);
        const rp_variant *sg = &in->var[CAM_SIGNED];
        fprintf(md, "| `%s` | ", in->stem);
        if (bm)
            fprintf(md, "%s: %s", rp_diff_text(t, bm),
                    short_side(rp_side(bm->lo, bm->hi, bm->has_ci, 0)));
        else
            fprintf(md, "-");
        fprintf(md, " | ");
        if (bmm)
            fprintf(md, "%s: %s", rp_diff_text(u, bmm),
                    short_side(rp_side(bmm->lo, bmm->hi, bmm->has_ci, 0)));
        else
            fprintf(md, "-");
        fprintf(md, " | ");
        if (sg->present && sg->eligible_neg > 0) {
            int s = rp_side(sg->neg_enr.lo, sg->neg_enr.hi, sg->neg_enr.has_ci, 1.0);
            fprintf(md, "%s: %s", rp_valci_enr(e, &sg->neg_enr),
                    s == 1 ? "above 1" : s == -1 ? "below 1" : s == 0 ? "includes 1"
                                                                        : "no interval");
        } else {
            fprintf(md, "-");
        }
        const rp_cells *all = &in->signs[RT_ALPHAA][RR_ALL];
        double pos = all->sum[RC_PP] + all->sum[RC_NN];
        fprintf(md, " | %s | ", pos > 0 ? rp_pct(x, all->sum[RC_NN] / pos) : "-");
        if (c && c->has_iou && c->has_mc)
            fprintf(md, "%s, %ld of %ld", rp_fixed(x, c->box_iou, 3), c->a_only + c->b_only,
                    c->targets);
        else
            fprintf(md, "-");
        int best = CAM_GRADCAM;
        for (int v = 0; v < VAR_N; v++)
            if (in->var[v].present && in->var[v].boxacc[RP_MAX].v > in->var[best].boxacc[RP_MAX].v)
                best = v;
        fprintf(md, " | `%s` | ", var_name(best));
        const rp_causal *ca = &in->causal;
        if (!ca->present || !ca->has_ref[RP_REF_ZERO]) {
            fprintf(md, "not run |\n");
        } else {
            const rp_val *d = &ca->claim[RP_REF_ZERO].target_diff;
            fprintf(md, "%s: %s |\n", rp_valci_g3(e, d, 1),
                    ca->claim[RP_REF_ZERO].eligible == 0 ? "no eligible target"
                    : d->has_ci && d->lo > 0 ? "raised"
                    : d->has_ci && d->hi < 0 ? "lowered"
                    : d->has_ci ? "none detected" : "no interval");
        }
    }
    fprintf(md,
        "\nWhat they do not say:\n\n"
        "- \"No difference detected\" is not \"no difference\": an interval that includes 0 "
        "also includes effects of its own width.\n"
        "- A negative enrichment above 1 says where the negative mass lies, not that it is "
        "evidence *for* the other class: that would need the other class's own map.\n"
        "- Sign-table shares are totals over all targets and positions; they say which cells "
        "carry the mass, not which pixels win the argmax or pass the threshold.\n"
        "- The paper's ~%g points are top-1 localization error on ILSVRC with VGG-16; ours "
        "are BoxAcc differences on the ground-truth class, on other networks and images: "
        "comparable in direction and rough size, not as a replication.\n"
        "- Inputs that share images (taps of one network) are not independent; intervals of "
        "different inputs are compared only by overlap.\n"
        "- Question 6 removes cells by setting them to a reference (0 or the channel means): "
        "a layer the network never saw in training. Its answers hold for these two "
        "references, which is why both are given; a map that ranks well under one and not "
        "the other is ranking the reference as much as the evidence.\n\n",
        PAPER_RELU_POINTS);
}
