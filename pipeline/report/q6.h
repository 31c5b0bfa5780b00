/* q6.h: Question 6 of REPORT.md and its appendix tables (q6.c), and its
 * figures (q6fig.c). */
#ifndef RP_Q6_H
#define RP_Q6_H

#include <stddef.h>
#include <stdio.h>

#include "pipeline/report/figures.h"
#include "pipeline/report/model.h"

void rp_q6(FILE *md, const rp_study *st);
/* Every order's AUCs and the paired differences; nothing without causal. */
void rp_q6_appendix(FILE *md, const rp_study *st);
/* q6-curves-FIGSTEM for every input with a causal block, rendered into
 * temporaries in dir and added to figs (as rp_figures). 0, or -1 with err. */
int rp_q6_figures(rp_figs *figs, const rp_study *st, const char *dir, char *err, size_t errlen);

#endif
