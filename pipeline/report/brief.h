/* brief.h: "## The answer in brief" of REPORT.md (brief.c). */
#ifndef RP_BRIEF_H
#define RP_BRIEF_H

#include <stdio.h>

#include "pipeline/report/model.h"

/* One paragraph per question of the seed, from st; writes into md. */
void rp_brief(FILE *md, const rp_study *st);

#endif
