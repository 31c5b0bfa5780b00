/* targets_csv.c: targets.csv and signs.csv, the per-target tables of a run:
 * their headers, the writer of their rows and the reader of targets.csv
 * (used by the gallery).
 *
 * DESIGN
 * Rows are written in the order the caller walks the targets (target
 * order), each a pure function of one target's results, so the bytes depend
 * on the inputs alone. Numbers use %.9g (floats' round trip) and %.17g
 * (doubles'); an absent value is an empty field.
 *
 * Thread safety: the writers touch only their FILE; the reader only its
 * result.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/output/targets_csv.h"

#include <stdlib.h>
#include <string.h>

/* ---- writing ------------------------------------------------------------- */

const char TCSV_HEADER[] =
    "input,target,image,class,variant,has_box,degenerate,"
    "x0_max,y0_max,x1_max,y1_max,iou_max,hit_max,"
    "x0_minmax,y0_minmax,x1_minmax,y1_minmax,iou_minmax,hit_minmax,"
    "point_x,point_y,point_hit,energy,"
    "other_area,neg_other,pos_other,neg_enrichment,pos_enrichment\n";

void tcsv_row(FILE *f, int input, int64_t t, int img, int cls, int v, const target_res *r)
{
    const loc_result *L = &r->loc[v];
    int show = r->has_box && !L->degenerate;
    fprintf(f, "%d,%lld,%d,%d,%s,%d,%d", input, (long long)t, img, cls, var_name(v),
            r->has_box, L->degenerate);
    for (int n = 0; n < LOC_NNORM; n++) {
        if (show)
            fprintf(f, ",%d,%d,%d,%d", L->box[n].x0, L->box[n].y0, L->box[n].x1, L->box[n].y1);
        else
            fputs(",,,,", f);
        if (r->has_box)
            fprintf(f, ",%.9g,%d", L->iou[n], L->iou[n] >= 0.5);
        else
            fputs(",,", f);
    }
    if (show)
        fprintf(f, ",%d,%d,%d", L->px, L->py, L->point_hit);
    else if (r->has_box)
        fputs(",,,0", f);
    else
        fputs(",,,", f);
    if (r->has_box)
        fprintf(f, ",%.9g", L->energy);
    else
        fputs(",", f);
    if (L->has_other) {
        fprintf(f, ",%.9g", L->other_area);
        if (L->neg_ok) fprintf(f, ",%.9g", L->neg_other); else fputs(",", f);
        if (L->pos_ok) fprintf(f, ",%.9g", L->pos_other); else fputs(",", f);
        if (L->neg_ok) fprintf(f, ",%.9g", L->neg_other / L->other_area); else fputs(",", f);
        if (L->pos_ok) fprintf(f, ",%.9g", L->pos_other / L->other_area); else fputs(",", f);
    } else {
        fputs(",,,,,", f);
    }
    fputc('\n', f);
}

const char TCSV_SIGNS_HEADER[] =
    "input,target,image,class,table,region,"
    "n_PP,n_P0,n_PN,n_0P,n_00,n_0N,n_NP,n_N0,n_NN,"
    "s_PP,s_P0,s_PN,s_0P,s_00,s_0N,s_NP,s_N0,s_NN\n";

void tcsv_signs_rows(FILE *f, int input, int64_t t, int img, int cls, const target_res *r)
{
    static const char *const tname[2] = {"alphaA", "GA"};
    for (int tb = 0; tb < 2; tb++)
        for (int reg = 0; reg < SGN_NREG; reg++) {
            fprintf(f, "%d,%lld,%d,%d,%s,%s", input, (long long)t, img, cls, tname[tb],
                    sgn_region_name(reg));
            for (int c = 0; c < SGN_NCELL; c++)
                fprintf(f, ",%lld", (long long)r->sg[tb].n[reg][c]);
            for (int c = 0; c < SGN_NCELL; c++)
                fprintf(f, ",%.17g", r->sg[tb].s[reg][c] == 0.0 ? 0.0 : r->sg[tb].s[reg][c]);
            fputc('\n', f);
        }
}

