/* q1_q3.h: questions 1 to 3 of REPORT.md (q1_q3.c). */
#ifndef RP_Q1_Q3_H
#define RP_Q1_Q3_H

#include <stdio.h>

#include "pipeline/report/model.h"

void rp_q1(FILE *md, const rp_study *st);  /* does the ReLU help localization? */
void rp_q2(FILE *md, const rp_study *st);  /* negative evidence on other categories? */
void rp_q3(FILE *md, const rp_study *st);  /* the sign tables: why activation strength? */

/* The long tables and per-input figures of questions 1 and 3. */
void rp_q1_q3_appendix(FILE *md, const rp_study *st);

#endif
