/* q4_q5.h: questions 4 and 5 of REPORT.md and the closing findings (q4_q5.c). */
#ifndef RP_Q4_Q5_H
#define RP_Q4_Q5_H

#include <stdio.h>

#include "pipeline/report/model.h"

void rp_q4(FILE *md, const rp_study *st);        /* invariance to a shift of A */
void rp_q5(FILE *md, const rp_study *st);        /* Grad-CAM among its variants */
void rp_findings(FILE *md, const rp_study *st);  /* what the numbers say and do not say */

/* Question 5 per input: every variant's table, readings and curves. */
void rp_q5_appendix(FILE *md, const rp_study *st);

#endif
