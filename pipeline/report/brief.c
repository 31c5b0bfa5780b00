/* brief.c: "## The answer in brief", the first section of REPORT.md: one
 * short paragraph per question of the seed, answered from the summary.
 *
 * DESIGN
 * The seed asks five things: (a) why Grad-CAM trusts activation strength,
 * (b) what the ReLU does and through which mechanism, (c) whether negative
 * evidence belongs to other categories, (d) whether a shift of zero
 * matters, (e) where the (alpha < 0, A < 0) products matter. Each
 * paragraph states the mechanism in one sentence, then gives per input the
 * numbers that decide it, each with its 95% interval, taken from the same
 * members the question's own section reads (Questions 1 to 6): paired
 * differences (Q1, Q3, Q4), the negative enrichment (Q2), the sign tables
 * (Q3: totals, with the NN share's interval when the summary has one),
 * the causal block (Q6: claim test,
 * completeness, best order per reference). The verb of every reading is
 * chosen by the interval rule stated at the top (rp_side), never typed.
 * An input without `causal` gets "Question 6 was not run for it"; a
 * missing variant or comparison is said to be missing.
 *
 * Thread safety: pure text generation into the caller's stream.
 */
#include "pipeline/report/brief.h"

#include "pipeline/report/text.h"

#include <stdio.h>
#include <string.h>

/* "raises" / "lowers" / "does not detectably change" by the interval. */
static const char *change_verb(const rp_val *v)
{
    switch (rp_side(v->lo, v->hi, v->has_ci, 0)) {
    case 1:
        return "raises";
    case -1:
        return "lowers";
    case 0:
        return "does not detectably change";
    default:
        return "(no interval, no reading) changes";
    }
}

static const char *diff_verdict(const rp_pair *q)
{
    switch (rp_side(q->lo, q->hi, q->has_ci, 0)) {
    case 1:
        return "Grad-CAM higher";
    case -1:
        return "Grad-CAM lower";
    case 0:
        return "no detectable difference";
    default:
        return "no interval, no reading";
    }
}

/* 1 when some input has a causal block: then each input without one is
 * named as not run where its Question 6 numbers would be; otherwise the
 * brief says it once (rp_brief). */
static int some_causal(const rp_study *st)
{
    for (int i = 0; i < st->n; i++)
        if (st->in[i].causal.present)
            return 1;
    return 0;
}

static void not_run(FILE *md, const rp_study *st)
{
    if (some_causal(st))
        fprintf(md, " Question 6 was not run for it (no `causal` block in the summary).");
}

static void brief_a(FILE *md, const rp_study *st)
{
    char t[4 * RP_NUM], r[2 * RP_NUM], s[2 * RP_NUM];
    fprintf(md, "**(a) Why does Grad-CAM trust activation strength?** Its map `sum_k alpha_k "
                "A^k` is the first-order estimate of how much the class score changes when "
                "the layer goes from `A` to 0: the activation is the step, the mean gradient "
                "the slope, so strength counts as far as that linear estimate holds and 0 "
                "means \"absent\". Activation alone, and whether the map's total mass "
                "predicts the score change (Question 6, completeness):");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        const rp_pair *q = rp_find_pair(in, CAM_GRADCAM, CAM_ACTIVATION, "boxacc", RP_MAX);
        fprintf(md, " `%s`:", in->stem);
        if (q)
            fprintf(md, " Grad-CAM minus `activation`, BoxAcc (max), %s (%s).",
                    rp_diff_text(t, q), diff_verdict(q));
        else
            fprintf(md, " `activation` was not run.");
        const rp_causal *c = &in->causal;
        if (!c->present) {
            not_run(md, st);
            continue;
        }
        fprintf(md, " Grad-CAM mass against the score change:");
        for (int ref = 0, k = 0; ref < RP_NREF; ref++) {
            if (!c->has_ref[ref])
                continue;
            const rp_comp *g = &c->comp[ref][RP_COMP_GRADCAM];
            int side = rp_side(g->r.lo, g->r.hi, g->r.has_ci, 0);
            fprintf(md, "%s `%s` r = %s (%s), slope %s", k++ ? ";" : "", rp_ref_names[ref],
                    rp_valci_fix(r, &g->r, 2),
                    side == 1 ? "above 0" : side == -1 ? "below 0: inverted"
                    : side == 0 ? "contains 0: no detectable relation" : "no interval",
                    rp_valci_g3(s, &g->slope, 0));
        }
        fprintf(md, " (%ld targets).", c->comp[c->has_ref[0] ? 0 : 1][RP_COMP_GRADCAM].n);
    }
    fprintf(md, "\n\n");
}

static void brief_b(FILE *md, const rp_study *st)
{
    char t[4 * RP_NUM], u[4 * RP_NUM];
    fprintf(md, "**(b) What does the ReLU do, and through which mechanism?** With `max` "
                "normalisation a pixel passes a threshold `t > 0` only where the map is "
                "positive, so the ReLU cannot change which feature cells pass; it acts "
                "through `minmax` normalisation (without it the negative minimum lowers "
                "the threshold) and, slightly, through upsampling (Question 1). BoxAcc with "
                "minus without the ReLU:");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        const rp_pair *bm = rp_find_pair(in, CAM_GRADCAM, CAM_SIGNED, "boxacc", RP_MAX);
        const rp_pair *bmm = rp_find_pair(in, CAM_GRADCAM, CAM_SIGNED, "boxacc", RP_MINMAX);
        if (!bm || !bmm) {
            fprintf(md, " `%s`: `gradcam-signed` was not run.", in->stem);
            continue;
        }
        fprintf(md, " `%s`: `max` %s (%s), `minmax` %s (%s).", in->stem, rp_diff_text(t, bm),
                diff_verdict(bm), rp_diff_text(u, bmm), diff_verdict(bmm));
    }
    fprintf(md, "\n\n");
}

static void claim_text(FILE *md, const rp_causal *c, int ref)
{
    char t[2 * RP_NUM], o[2 * RP_NUM];
    const rp_claim *k = &c->claim[ref];
    fprintf(md, " `%s` reference:", rp_ref_names[ref]);
    if (k->eligible == 0) {
        fprintf(md, " no target has a negative cell.");
        return;
    }
    fprintf(md, " removing the negative cells rather than as many random ones %s y^c "
                "(%s, %ld targets)", change_verb(&k->target_diff),
            rp_valci_g3(t, &k->target_diff, 1), k->eligible);
    if (k->eligible_others == 0)
        fprintf(md, "; no target has another class present.");
    else
        fprintf(md, " and %s the other present classes' mean score (%s, %ld targets).",
                change_verb(&k->others_diff), rp_valci_g3(o, &k->others_diff, 1),
                k->eligible_others);
}

static void brief_c(FILE *md, const rp_study *st)
{
    char e[2 * RP_NUM];
    fprintf(md, "**(c) Does negative evidence belong to other categories?** By location: the "
                "negative mass of the signed map (`gradcam-signed`) on other classes' boxes "
                "over their share of the frame (Question 2; 1 = no preference). By cause: "
                "removing the negative Grad-CAM cells against removing as many random cells "
                "(Question 6, in raw score units); if the negative evidence were the other "
                "classes', removing it would raise y^c and lower the other classes' "
                "scores:");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        const rp_variant *v = &in->var[CAM_SIGNED];
        fprintf(md, " `%s`:", in->stem);
        if (!v->present || v->eligible_neg == 0) {
            fprintf(md, " no negative enrichment (`gradcam-signed` %s).",
                    v->present ? "has no eligible target" : "was not run");
        } else {
            int s = rp_side(v->neg_enr.lo, v->neg_enr.hi, v->neg_enr.has_ci, 1.0);
            fprintf(md, " negative enrichment %s (%s).", rp_valci_enr(e, &v->neg_enr),
                    s == 1 ? "concentrates on other classes' boxes"
                    : s == -1 ? "avoids other classes' boxes"
                    : s == 0 ? "no detectable preference" : "no interval");
        }
        if (!in->causal.present) {
            not_run(md, st);
            continue;
        }
        for (int ref = 0; ref < RP_NREF; ref++)
            if (in->causal.has_ref[ref])
                claim_text(md, &in->causal, ref);
    }
    fprintf(md, "\n\n");
}

static void best_text(FILE *md, const rp_causal *c)
{
    for (int m = 0; m < RP_NMODE; m++) {
        fprintf(md, " Best %s order:", rp_mode_names[m]);
        if (!c->has_ref[RP_REF_ZERO] || !c->has_ref[RP_REF_MU]) {
            int r = c->has_ref[RP_REF_ZERO] ? RP_REF_ZERO : RP_REF_MU;
            fprintf(md, " `%s` at `%s` (the other reference was not run).",
                    c->best[m][r] >= 0 ? c->order[c->best[m][r]] : "none", rp_ref_names[r]);
            continue;
        }
        int a = c->best[m][RP_REF_ZERO], b = c->best[m][RP_REF_MU];
        if (a < 0 || b < 0) {
            fprintf(md, " none (no order other than `random`).");
            continue;
        }
        const rp_val *va = &c->cv[m][RP_REF_ZERO][a].auc, *vb = &c->cv[m][RP_REF_MU][b].auc;
        char x[2 * RP_NUM], y[2 * RP_NUM];
        fprintf(md, " `%s` at `zero` (AUC %s), `%s` at `mu` (AUC %s): %s.", c->order[a],
                rp_valci_fix(x, va, 2), c->order[b], rp_valci_fix(y, vb, 2),
                a == b ? "the reference does not change it" : "the reference changes it");
    }
}

static void brief_d(FILE *md, const rp_study *st)
{
    char t[4 * RP_NUM], x[RP_NUM];
    fprintf(md, "**(d) Does a shift of zero matter?** Subtracting the channel means (`A - "
                "mu`, which the next layer's bias can undo) shifts Grad-CAM's map by a "
                "constant per target (Question 4), and moves the value a removed cell takes "
                "from 0 to `mu` (Question 6, the best-ranking map of each reference):");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        const rp_pair *q = rp_find_pair(in, CAM_GRADCAM, CAM_CENTERED, "boxacc", RP_MAX);
        fprintf(md, " `%s`:", in->stem);
        if (!q) {
            fprintf(md, " `gradcam-centered` was not run.");
        } else {
            fprintf(md, " Grad-CAM minus the centred map, BoxAcc (max), %s (%s)",
                    rp_diff_text(t, q), diff_verdict(q));
            if (q->has_iou)
                fprintf(md, "; their boxes overlap with mean IoU %s (1 = unmoved)",
                        rp_fixed(x, q->box_iou, 3));
            fprintf(md, ".");
        }
        if (in->causal.present)
            best_text(md, &in->causal);
        else
            not_run(md, st);
    }
    fprintf(md, "\n\n");
}

/* NN's share of the positive mass of alpha x A in region r, with the
 * summary's interval when it has one; "-" when there is no positive mass.
 * o: 2 * RP_NUM bytes. */
static const char *nn_text(char *o, const rp_cells *x)
{
    char a[RP_NUM], c[RP_NUM];
    double pos = x->sum[RC_PP] + x->sum[RC_NN];
    if (!(pos > 0))
        return "-";
    rp_val v = x->share[RS_NN];
    v.v = x->sum[RC_NN] / pos;
    snprintf(o, 2 * RP_NUM, "%s%%%s%s", rp_pct(a, v.v), v.has_ci ? " " : "", rp_ci_pct(c, &v));
    return o;
}

static void brief_e(FILE *md, const rp_study *st)
{
    char a[RP_NUM], b[2 * RP_NUM], c[2 * RP_NUM], d[2 * RP_NUM];
    int any_ci = 0;
    for (int i = 0; i < st->n; i++)
        any_ci |= st->in[i].signs[RT_ALPHAA][RR_ALL].share[RS_NN].has_ci;
    fprintf(md, "**(e) Where do the (alpha < 0, A < 0) products matter?** A negative weight "
                "times a negative activation adds positive mass (the NN cell of Question 3's "
                "sign table); only a tap whose activations can be negative has any. Share of "
                "the positive mass of `alpha x A` from NN (totals over all targets and "
                "positions%s):", any_ci ? ", with the image bootstrap interval" : ": the summary "
                "has no interval for them");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        const rp_cells *all = &in->signs[RT_ALPHAA][RR_ALL];
        double n = 0;
        for (int k = 0; k < RC_N; k++)
            n += all->count[k];
        double neg = all->count[RC_PN] + all->count[RC_0N] + all->count[RC_NN];
        fprintf(md, " `%s` (%s):", in->stem, in->activation);
        if (neg == 0) {
            fprintf(md, " no activation is negative, NN is empty.");
            continue;
        }
        fprintf(md, " %s%% of A negative; NN gives %s overall, %s inside the target's boxes, "
                    "%s on other classes' boxes.",
                rp_pct(a, n > 0 ? neg / n : 0), nn_text(b, all),
                nn_text(c, &in->signs[RT_ALPHAA][RR_TARGET]),
                nn_text(d, &in->signs[RT_ALPHAA][RR_OTHER]));
    }
    fprintf(md, "\n\n");
}

void rp_brief(FILE *md, const rp_study *st)
{
    fprintf(md,
        "## The answer in brief\n\n"
        "How to read it: every number is read from the summary and followed by its 95%% "
        "interval in brackets and, in code font, the input it comes from. A difference "
        "*raises* (is *higher*) when its interval lies above 0, *lowers* (is *lower*) when "
        "it lies below 0, and *does not detectably change* (*no detectable difference*) "
        "when its interval contains 0; an enrichment *concentrates* when its interval lies "
        "above 1. Sign-table shares are totals over all targets, with their interval when "
        "the summary has one.");
    if (!some_causal(st)) {
        fprintf(md, " Question 6 was not run for any input (");
        for (int i = 0; i < st->n; i++)
            fprintf(md, "%s`%s`", i ? ", " : "", st->in[i].stem);
        fprintf(md, "): the summary has no `causal` block, so the causal parts of (a), (c) "
                    "and (d) are missing.");
    }
    fprintf(md, "\n\n");
    brief_a(md, st);
    brief_b(md, st);
    brief_c(md, st);
    brief_d(md, st);
    brief_e(md, st);
}
