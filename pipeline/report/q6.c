/* q6.c: Question 6 of REPORT.md (deletion and insertion through the
 * network, the paper's claim test, completeness) and its appendix tables.
 *
 * DESIGN
 * As the other questions: what was done and why (the normalisation), one
 * table of AUCs over every input that has a `causal` block (a selection
 * of orders: gradcam, hirescam, gradcam-centered, random and each best
 * order; every order is in the appendix), one figure per input (q6fig.c),
 * the claim-test table, the completeness table, and the best order per
 * reference with whether it changes. Readings use the interval rule of
 * the brief (rp_side). Inputs without `causal` are named as not run; with
 * none at all the section says so and has no table.
 * Every number comes from the model (q6model.c) through text.c's formats.
 *
 * Thread safety: pure text generation into the caller's stream.
 */
#include "pipeline/report/q6.h"

#include "pipeline/report/figures.h"
#include "pipeline/report/text.h"

#include <stdio.h>
#include <string.h>

static int any_causal(const rp_study *st)
{
    for (int i = 0; i < st->n; i++)
        if (st->in[i].causal.present)
            return 1;
    return 0;
}

/* The four AUC cells (deletion, insertion) x (zero, mu) of order k. */
static void auc_cells(FILE *md, const rp_causal *c, int k)
{
    char t[2 * RP_NUM];
    for (int r = 0; r < RP_NREF; r++)
        for (int m = 0; m < RP_NMODE; m++)
            fprintf(md, " %s |", c->has_ref[r] ? rp_valci_fix(t, &c->cv[m][r][k].auc, 2) : "-");
}

static int selected(const rp_causal *c, int k)
{
    static const char *const pick[] = {"gradcam", "hirescam", "gradcam-centered", "random"};
    for (size_t j = 0; j < sizeof pick / sizeof pick[0]; j++)
        if (!strcmp(c->order[k], pick[j]))
            return 1;
    for (int m = 0; m < RP_NMODE; m++)
        for (int r = 0; r < RP_NREF; r++)
            if (c->has_ref[r] && c->best[m][r] == k)
                return 1;
    return 0;
}

static void auc_table(FILE *md, const rp_study *st, int all)
{
    fprintf(md, "| input | order | deletion AUC, `zero` | insertion AUC, `zero` "
                "| deletion AUC, `mu` | insertion AUC, `mu` |\n|---|---|---:|---:|---:|---:|\n");
    for (int i = 0; i < st->n; i++) {
        const rp_causal *c = &st->in[i].causal;
        for (int k = 0; c->present && k < c->norder; k++) {
            if (!all && !selected(c, k))
                continue;
            fprintf(md, "| `%s` | `%s` |", st->in[i].stem, c->order[k]);
            auc_cells(md, c, k);
            fprintf(md, "\n");
        }
    }
    fprintf(md, "\n");
}

static const char *claim_reading(const rp_val *v, int predicted)
{
    int s = rp_side(v->lo, v->hi, v->has_ci, 0);
    if (s == 2)
        return "no interval";
    if (s == 0)
        return "does not detectably change";
    return s == predicted ? (s > 0 ? "raises, as predicted" : "lowers, as predicted")
                          : (s > 0 ? "raises, against the claim" : "lowers, against the claim");
}

static void claim_table(FILE *md, const rp_study *st)
{
    char a[RP_NUM], b[RP_NUM], d[2 * RP_NUM], e[RP_NUM], f[RP_NUM], g[2 * RP_NUM];
    fprintf(md, "| input | reference | targets | change of y^c, negative cells removed "
                "| random cells removed | negative minus random | reading | targets (others) "
                "| change of the others' mean score, negative cells removed | random cells "
                "removed | negative minus random | reading |\n"
                "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < st->n; i++) {
        const rp_causal *c = &st->in[i].causal;
        for (int r = 0; c->present && r < RP_NREF; r++) {
            if (!c->has_ref[r])
                continue;
            const rp_claim *k = &c->claim[r];
            fprintf(md, "| `%s` | `%s` | %ld | %s | %s | %s | %s | %ld | %s | %s | %s | %s |\n",
                    st->in[i].stem, rp_ref_names[r], k->eligible, rp_g3(a, k->target_neg, 1),
                    rp_g3(b, k->target_random, 1), rp_valci_g3(d, &k->target_diff, 1),
                    k->eligible ? claim_reading(&k->target_diff, 1) : "no eligible target",
                    k->eligible_others, rp_g3(e, k->others_neg, 1),
                    rp_g3(f, k->others_random, 1), rp_valci_g3(g, &k->others_diff, 1),
                    k->eligible_others ? claim_reading(&k->others_diff, -1)
                                       : "no eligible target");
        }
    }
    fprintf(md, "\n");
}

static void completeness_table(FILE *md, const rp_study *st)
{
    char a[2 * RP_NUM], b[2 * RP_NUM];
    fprintf(md, "| input | reference | map | r | slope | targets |\n"
                "|---|---|---|---:|---:|---:|\n");
    for (int i = 0; i < st->n; i++) {
        const rp_causal *c = &st->in[i].causal;
        for (int r = 0; c->present && r < RP_NREF; r++)
            for (int m = 0; c->has_ref[r] && m < RP_NCOMP; m++) {
                const rp_comp *x = &c->comp[r][m];
                fprintf(md, "| `%s` | `%s` | `%s` | %s | %s | %ld |\n", st->in[i].stem,
                        rp_ref_names[r], rp_comp_names[m], rp_valci_fix(a, &x->r, 2),
                        rp_valci_g3(b, &x->slope, 0), x->n);
            }
    }
    fprintf(md, "\n");
}

static void provenance(FILE *md, const rp_input *in)
{
    const rp_causal *c = &in->causal;
    char x[RP_NUM];
    fprintf(md, "- `%s`: ", in->stem);
    if (!c->present) {
        fprintf(md, "not run (no `causal` block: run `scripts/causal.py` on its maps and the "
                    "engine with `--curves`).\n");
        return;
    }
    fprintf(md, "network `%s`, layer `%s`, curves `%s`; %ld targets, %ld steps (%ld cells), "
                "random-order seed %ld; scale", c->network, c->layer, c->curves_file,
            c->targets, c->steps, c->cells[c->steps], c->seed);
    for (int r = 0, k = 0; r < RP_NREF; r++)
        if (c->has_ref[r])
            fprintf(md, "%s `%s` %s%s", k++ ? "," : "", rp_ref_names[r],
                    rp_g3(x, c->scale[r], 0),
                    c->scale_degenerate[r] ? " (degenerate: every target's change is 0, "
                                             "1 used)" : "");
    fprintf(md, ".\n");
}

static void best_readings(FILE *md, const rp_study *st)
{
    for (int i = 0; i < st->n; i++) {
        const rp_causal *c = &st->in[i].causal;
        if (!c->present)
            continue;
        fprintf(md, "- `%s`:", st->in[i].stem);
        for (int m = 0; m < RP_NMODE; m++) {
            fprintf(md, "%s best %s order", m ? ";" : "", rp_mode_names[m]);
            for (int r = 0, k = 0; r < RP_NREF; r++)
                if (c->has_ref[r])
                    fprintf(md, "%s `%s` (`%s`)", k++ ? "," : "",
                            c->best[m][r] >= 0 ? c->order[c->best[m][r]] : "none",
                            rp_ref_names[r]);
            if (c->has_ref[RP_REF_ZERO] && c->has_ref[RP_REF_MU])
                fprintf(md, ": %s", c->best[m][RP_REF_ZERO] == c->best[m][RP_REF_MU]
                                        ? "the same for both references"
                                        : "it changes with the reference");
        }
        fprintf(md, ".\n");
    }
    fprintf(md, "\n");
}

void rp_q6(FILE *md, const rp_study *st)
{
    char name[256], cap[512];
    fprintf(md,
        "## Question 6: What does removing the map's cells do to the score?\n\n"
        "The other questions compare maps with boxes; this one asks the network. For each "
        "target and each *order* (the cells of one feature-resolution map sorted by value, "
        "highest first, ties by cell index; and a random permutation), `scripts/causal.py` "
        "removes the first `k_s` cells of the tapped layer (all channels of a cell set to the "
        "*reference*: `zero`, or `mu`, the channel means over the file) and runs the rest of "
        "the network to the class score `y^c` (the logit), at `S + 1` steps from no cell to "
        "all `n`. *Deletion* starts from `A` and removes; *insertion* starts from the layer "
        "with every cell at the reference and puts cells back. A map that ranks the cells the "
        "network uses first makes deletion fall fast (low AUC) and insertion rise fast (high "
        "AUC).\n\n"
        "Normalisation: raw scores differ between targets and networks, so each curve is "
        "turned into `u_s = (y_s - y_ref) / scale`, where `y_ref` is the target's score with "
        "every cell at the reference and `scale` is one number per file and reference, the "
        "median over targets of `|y(A) - y_ref|`. Not the mean, which a few extreme targets "
        "would set; not a per-target division, which explodes where `y(A)` is close to "
        "`y_ref`. So `u = 1` is a typical target's whole effect and `u = 0` the "
        "all-reference score; the AUC is the trapezoid of `u` over the fraction of cells "
        "`x_s = k_s / n` (0 to 1), averaged over targets, with the image bootstrap interval "
        "of every metric.\n\n"
        "The paper's claim test: remove the negative Grad-CAM cells (where `counterfactual` "
        "is positive) and, as control, as many random cells (4 draws); compare the change "
        "of `y^c` and of the other present classes' mean score (raw score units, negative "
        "minus random, paired image bootstrap). Completeness: per target, the score change "
        "`y(A) - y_ref` against the map's total mass (`gradcam`: `sum_ij M_ij`; `hirescam`: "
        "`sum_kij G A`; centred on `mu` for the `mu` reference); Pearson `r` and the OLS "
        "slope (1 would be an exact first-order account).\n\n");
    for (int i = 0; i < st->n; i++)
        provenance(md, &st->in[i]);
    fprintf(md, "\n");
    if (!any_causal(st)) {
        fprintf(md, "No input of this summary has a `causal` block: Question 6 was not run.\n\n");
        return;
    }
    fprintf(md, "AUCs of the normalised mean curves (deletion: lower is better; insertion: "
                "higher is better); `gradcam`, `hirescam`, `gradcam-centered`, `random` and "
                "each best order (every order: appendix):\n\n");
    auc_table(md, st, 0);
    best_readings(md, st);
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        if (!in->causal.present)
            continue;
        rp_fig_name(name, sizeof name, "q6-curves", in);
        snprintf(cap, sizeof cap, "`%s`: mean deletion and insertion curves per order at the "
                                  "`%s` reference, normalised (top) and raw scores (bottom), "
                                  "against the fraction of cells removed or put back.",
                 in->stem, in->causal.has_ref[RP_REF_ZERO] ? "zero" : "mu");
        rp_figure(md, st, name, cap);
    }
    fprintf(md, "The claim test (predicted by the paper: negative minus random *raises* "
                "`y^c` and *lowers* the others' scores):\n\n");
    claim_table(md, st);
    fprintf(md, "Completeness (score change against the map's total mass):\n\n");
    completeness_table(md, st);
}

void rp_q6_appendix(FILE *md, const rp_study *st)
{
    char a[RP_NUM], b[RP_NUM], d[4 * RP_NUM], lo[RP_NUM], hi[RP_NUM];
    if (!any_causal(st))
        return;
    fprintf(md, "### Question 6: every order\n\n");
    auc_table(md, st, 1);
    fprintf(md, "Paired AUC differences, `gradcam` minus each order (paired image "
                "bootstrap):\n\n| input | mode | reference | a | b | AUC a | AUC b | a - b |\n"
                "|---|---|---|---|---|---:|---:|---:|\n");
    for (int i = 0; i < st->n; i++) {
        const rp_causal *c = &st->in[i].causal;
        for (int k = 0; c->present && k < c->npairs; k++) {
            const rp_cpair *q = &c->pairs[k];
            if (q->has_ci)
                snprintf(d, sizeof d, "%s [%s, %s]", rp_fixed(a, q->diff, 3),
                         rp_fixed(lo, q->lo, 3), rp_fixed(hi, q->hi, 3));
            else
                rp_fixed(d, q->diff, 3);
            fprintf(md, "| `%s` | %s | `%s` | `%s` | `%s` | %s | %s | %s |\n", st->in[i].stem,
                    rp_mode_names[q->mode], rp_ref_names[q->ref], c->order[q->a],
                    c->order[q->b], rp_fixed(a, q->va, 3), rp_fixed(b, q->vb, 3), d);
        }
    }
    fprintf(md, "\n");
}
