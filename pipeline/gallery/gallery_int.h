/* gallery_int.h: what the files of the `gallery` command share (not an API:
 * gallery.h is). */
#ifndef GALLERY_INT_H
#define GALLERY_INT_H

#include <stdint.h>

#include "pipeline/gallery/draw.h"
#include "pipeline/input/h5in.h"
#include "pipeline/output/maps_h5.h"
#include "pipeline/output/targets_csv.h"

/* The variants shown, in the order asked of the readers. */
enum { V_GC, V_SIGNED, V_CF, NV };
extern const char *const GAL_VNAME[NV];

enum { R_BEST, R_WORST, R_NEG, NRULE };
extern const char *const GAL_RULE[NRULE];

/* layout, in pixels (see gallery.c DESIGN) */
enum {
    PANEL_MIN = 192, PANEL_MAX = 512, MARGIN = 8, GAP = 8,
    TITLE_H = 24, BAND_H = 32, LEGEND_H = 40, NPANEL = 4, PER_RULE_MAX = 20
};

typedef struct {
    int rule, rank;      /* rank: 1.. within the rule */
    int64_t t, pos, pool; /* pos: 1.. in the rule's sorted pool of `pool` targets */
    double key;
} pick;


/* ---- select.c ---- */
/* Per target: sum max(-m, 0) / sum |m| of its gradcam-signed map (h, w)
 * (0 for an all-zero map); path names maps.h5 in messages. NULL with err
 * set on failure. */
double *gal_negative_fractions(const maps_in *mf, int64_t T, int64_t h, int64_t w,
                               const char *path, char *err, size_t errlen);
/* Up to per_rule targets per rule into picks (capacity NRULE * per_rule);
 * returns the count, or -1 when out of memory. got[r]: picks of rule r. */
int gal_select(const tcsv_input *ti, const double *negfrac, int per_rule, pick *picks,
               int got[NRULE]);

/* ---- render.c ---- */
/* The whole gallery of one input into *cv (pixels allocated here, NULL on
 * failure). 0, or -1 with err set. */
int gal_render(draw_canvas *cv, const char *title, const pick *picks, int np,
               const tcsv_input *ti, h5in *f, const maps_in *mf, char *err, size_t errlen);
/* ASCII letters to upper case in place (the bitmap font has capitals only). */
void gal_upper_ascii(char *s);

#endif
