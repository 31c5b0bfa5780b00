/* text.h: the leaves of REPORT.md's text: the number formats, the Markdown
 * pieces (links, figures), the interval rules and the rows of the paired
 * tables. The frame (frame.c) and the questions (q1_q3.c, q4_q5.c) write
 * through these into a stream (an open_memstream(3) buffer: report.c). */
#ifndef RP_TEXT_H
#define RP_TEXT_H

#include <stdio.h>

#include "pipeline/report/model.h"

/* ---- number formats: every number of the report goes through these, so
 * the tests can format a value the same way ---- */
#define RP_NUM 96                                     /* size of o for the below */
const char *rp_pct(char *o, double share);            /* "87.1" (percent, 1 decimal) */
const char *rp_pts(char *o, double diff);             /* "+3.2" / "0.0" / "-1.5" (points) */
const char *rp_ci_pct(char *o, const rp_val *v);      /* "[83.6, 90.2]" or "" */
const char *rp_valci_pct(char *o, const rp_val *v);   /* "87.1 [83.6, 90.2]" */
const char *rp_valci_enr(char *o, const rp_val *v);   /* "2.94 [2.85, 3.04]" */
const char *rp_pval(char *o, double p);               /* "0.688", "6.1e-92" */
const char *rp_fixed(char *o, double v, int decimals); /* "%.*f", never "-0.0" */
const char *rp_sig(char *o, double v);                /* "%.4g", "-0" never */
/* Question 6's numbers: raw scores and slopes with 3 significant digits
 * ("%.3g", "+" shown when plus), normalised AUCs and r with 2 decimals. */
const char *rp_g3(char *o, double v, int plus);
const char *rp_valci_g3(char *o, const rp_val *v, int plus);  /* "+0.512 [+0.301, +0.723]" */
const char *rp_valci_fix(char *o, const rp_val *v, int decimals); /* "0.43 [0.41, 0.45]" */

/* ---- Markdown pieces ---- */
/* "![caption](FIGDIR/name.png)" and its SVG link, FIGDIR relative to the report. */
void rp_figure(FILE *md, const rp_study *st, const char *name, const char *caption);
void rp_href(FILE *md, const char *path);  /* "(path)", "(<path>)" when it has spaces */

/* ---- interval rules: -1 below ref, 0 includes ref, +1 above, 2 no interval ---- */
int rp_side(double lo, double hi, int has_ci, double ref);
const char *rp_verdict_diff(int side);  /* "no difference detected", "higher", ... */

/* ---- paired tables ---- */
#define PAPER_RELU_POINTS 15.0  /* the paper's appendix: error up ~15 points without ReLU */
#define RP_PAIR_HEAD "| Grad-CAM | other | diff (points) | a only / b only | McNemar p " \
                     "| box IoU |\n"
#define RP_PAIR_RULE "---:|---:|---:|---:|---:|---:|\n"
/* "BoxAcc", "MaxBoxAcc", "pointing", "energy", or metric itself. */
const char *rp_metric_label(const char *metric);
/* One row of a paired table after the leading cells `lead`: values, diff
 * [interval], discordant targets, McNemar p, mean box IoU. */
void rp_pair_row(FILE *md, const char *lead, const rp_pair *q);
/* Rows of the paired comparisons a vs v (the six metric/norm pairs), led by
 * "| `stem` [| label] | metric | norm ". */
void rp_paired_rows(FILE *md, const rp_input *in, int a, int v, const char *label);
/* "+3.2 [1.0, 5.1] points" into o[4 * RP_NUM]. */
const char *rp_diff_text(char *o, const rp_pair *q);

#endif
