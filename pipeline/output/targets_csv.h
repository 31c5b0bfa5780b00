/* targets_csv.h: targets.csv and signs.csv (README "Outputs"): the one
 * writer and the one reader. */
#ifndef TARGETS_CSV_H
#define TARGETS_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "pipeline/output/results.h"

extern const char TCSV_HEADER[];
extern const char TCSV_SIGNS_HEADER[];

/* The targets.csv row of target t, variant v. */
void tcsv_row(FILE *f, int input, int64_t t, int img, int cls, int v, const target_res *r);

/* The signs.csv rows of target t (both tables, every region). */
void tcsv_signs_rows(FILE *f, int input, int64_t t, int img, int cls, const target_res *r);

#endif
