/* frame.h: REPORT.md's whole text (frame.c). */
#ifndef RP_FRAME_H
#define RP_FRAME_H

#include <stdio.h>

#include "pipeline/report/model.h"

/* Write the report of st to md; 0, or -1 when a write to md failed. */
int rp_write_markdown(FILE *md, const rp_study *st);

#endif
