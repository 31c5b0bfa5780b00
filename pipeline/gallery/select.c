/* select.c: the gallery's rules: which targets of an input it shows (best,
 * worst, negative; see gallery.c DESIGN for their definitions).
 *
 * DESIGN
 * Each rule sorts its pool (qsort on (key, target): a total order, so ties
 * go to the lowest target index whatever qsort does) and takes the first
 * targets no earlier rule took. The negative rule's key needs each
 * target's negative fraction, read from maps.h5 (gal_negative_fractions).
 *
 * Thread safety: no shared state.
 */
#include "pipeline/gallery/gallery_int.h"

#include <math.h>
#include <stdlib.h>

const char *const GAL_VNAME[NV] = {"gradcam", "gradcam-signed", "counterfactual"};
const char *const GAL_RULE[NRULE] = {"best", "worst", "negative"};

/* Per target: sum max(-m, 0) / sum |m| of the gradcam-signed feature map (0
 * for an all-zero map). NULL with err set on failure. */
double *gal_negative_fractions(const maps_in *mf, int64_t T, int64_t h, int64_t w,
                               const char *path, char *err, size_t errlen)
{
    double *fr = malloc(sizeof *fr * (size_t)(T ? T : 1));
    float *buf = malloc(sizeof *buf * (size_t)h * (size_t)w);
    if (!fr || !buf) {
        snprintf(err, errlen, "%s: -: out of memory", path);
        free(fr);
        free(buf);
        return NULL;
    }
    for (int64_t t = 0; t < T; t++) {
        if (maps_read(mf, V_SIGNED, t, buf, err, errlen) < 0) {
            free(fr);
            free(buf);
            return NULL;
        }
        double neg = 0, all = 0;
        for (int64_t i = 0; i < h * w; i++) {
            neg += buf[i] < 0 ? -(double)buf[i] : 0.0;
            all += buf[i] < 0 ? -(double)buf[i] : (double)buf[i];
        }
        fr[t] = all > 0 ? neg / all : 0.0;
    }
    free(buf);
    return fr;
}

typedef struct {
    double key;
    int64_t t;
} cand;

static int cmp_asc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

static int cmp_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

/* Pick up to per_rule targets per rule into picks (capacity NRULE * per_rule);
 * returns the count, or -1 when out of memory. got[r]: picks of rule r. */
int gal_select(const tcsv_input *ti, const double *negfrac, int per_rule, pick *picks,
                          int got[NRULE])
{
    int64_t T = ti->n;
    cand *c = malloc(sizeof *c * (size_t)(T ? T : 1));
    uint8_t *used = calloc((size_t)(T ? T : 1), 1);
    if (!c || !used) {
        free(c);
        free(used);
        return -1;
    }
    int np = 0;
    for (int rule = 0; rule < NRULE; rule++) {
        int64_t n = 0;
        for (int64_t t = 0; t < T; t++) {
            const tcsv_row *r = &ti->r[t];
            double k = rule == R_NEG ? r->neg_other[V_SIGNED] * negfrac[t] : r->iou[V_GC];
            int ok = rule == R_NEG ? !isnan(k) : r->has_box && !r->degenerate[V_GC] && !isnan(k);
            if (ok)
                c[n++] = (cand){k, t};
        }
        qsort(c, (size_t)n, sizeof *c, rule == R_WORST ? cmp_asc : cmp_desc);
        got[rule] = 0;
        for (int64_t i = 0; i < n && got[rule] < per_rule; i++) {
            if (used[c[i].t])
                continue;
            used[c[i].t] = 1;
            picks[np++] = (pick){rule, ++got[rule], c[i].t, i + 1, n, c[i].key};
        }
    }
    free(c);
    free(used);
    return np;
}

