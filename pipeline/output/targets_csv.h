/* targets_csv.h: targets.csv and signs.csv (README "Outputs"): the one
 * writer and the one reader. */
#ifndef TARGETS_CSV_H
#define TARGETS_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "pipeline/output/results.h"

extern const char TCSV_HEADER[];
extern const char TCSV_SIGNS_HEADER[];

/* The header of targets.csv; name_col: with the last column image_name
 * (when any input carries /images/name; without it the bytes are as
 * before the column existed). */
void tcsv_write_header(FILE *f, int name_col);

/* The targets.csv row of target t, variant v; name_col as the header's,
 * name: the image's name (quoted) or NULL (an empty field). */
void tcsv_write_row(FILE *f, int input, int64_t t, int img, int cls, int v, const target_res *r,
                    int name_col, const char *name);

/* The signs.csv rows of target t (both tables, every region). */
void tcsv_write_signs(FILE *f, int input, int64_t t, int img, int cls, const target_res *r);

/* ---- reading targets.csv (the gallery's view) ----------------------------
 * Columns are found by name; only the rows of the variants asked for are
 * kept, as fields [k] of each target's row, k = the variant's place in the
 * list. Every input and target seen gets a row; a row must not repeat, and a
 * target's rows must agree on image, class and has_box. */
#define TCSV_MAXV 4
typedef struct {
    uint8_t seen[TCSV_MAXV];
    uint8_t has_box;
    uint8_t degenerate[TCSV_MAXV];
    uint8_t has_pred[TCSV_MAXV];
    int32_t image, cls;
    int32_t pred[TCSV_MAXV][4]; /* x0, y0, x1, y1 (edge coordinates), max norm, run threshold */
    double iou[TCSV_MAXV];       /* iou_max; NaN when empty */
    double neg_other[TCSV_MAXV]; /* NaN when undefined */
} tcsv_row;

typedef struct {
    int64_t n, cap; /* rows 0..n-1 (targets) */
    tcsv_row *r;
} tcsv_input;

typedef struct {
    int n;           /* inputs */
    tcsv_input *in;
    int nv;
    const char *const *vname;
} tcsv_table;

/* Read path keeping the nv (1..TCSV_MAXV) variants names[] (not copied:
 * they must outlive the table). 0, or -1 with "PATH: line L: problem" in
 * err (nothing allocated). */
int tcsv_read(tcsv_table *t, const char *path, const char *const *names, int nv, char *err,
              size_t errlen);
void tcsv_free(tcsv_table *t);

/* A decimal integer in lo..hi, the whole string: 0, else -1. */
int tcsv_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);

#endif
