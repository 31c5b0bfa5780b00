/* target.c: one target's work, on a worker thread: its maps and sign tables
 * at feature resolution (tg_features; with --curves also the masses of the
 * completeness fit, kernels/cam.c's cam_masses), then each scored map
 * upsampled to the image and localised (tg_localize); one image's eigencam
 * map, which all its targets share (tg_eigencam, before their tg_features);
 * and the per-thread workspace they use, sized once per input from its
 * largest image (tg_plan).
 *
 * DESIGN
 * Each call writes only its target's result slot and its thread's
 * workspace, so targets can run on any thread in any order; the kernels and
 * analysis it calls are pure. The order results are combined in is the
 * walk's (walk.c), never this file's.
 */
#include "pipeline/run/run_int.h"

#include "kernels/cam.h"
#include "kernels/eigencam.h"
#include "kernels/upsample.h"

#include <stdlib.h>
#include <string.h>

size_t tg_total(const tg_size *s)
{
    return s->cam * sizeof(double) + s->weights * sizeof(double) + s->up * sizeof(double) +
           s->eig * sizeof(double) + s->ups + s->loc + s->sgn + 2 * s->mask + s->region + s->gt * sizeof(float);
}

void tg_free(tg_work *t)
{
    free(t->cam_work);
    free(t->weights);
    free(t->up);
    free(t->ups_work);
    free(t->loc_work);
    free(t->sgn_work);
    free(t->tmask);
    free(t->omask);
    free(t->region);
    free(t->gt);
    free(t->eig_work);
    memset(t, 0, sizeof *t);
}

int tg_alloc(tg_work *t, const tg_size *s)
{
    memset(t, 0, sizeof *t);
    t->cam_work = malloc(s->cam * sizeof(double));
    t->weights = malloc(s->weights * sizeof(double));
    t->up = malloc(s->up * sizeof(double));
    t->ups_work = malloc(s->ups ? s->ups : 1);
    t->loc_work = malloc(s->loc ? s->loc : 1);
    t->sgn_work = malloc(s->sgn);
    t->tmask = malloc(s->mask);
    t->omask = malloc(s->mask);
    t->region = malloc(s->region);
    t->gt = malloc((s->gt ? s->gt : 1) * sizeof(float));
    t->eig_work = malloc((s->eig ? s->eig : 1) * sizeof(double));
    if (!t->eig_work || !t->cam_work || !t->weights || !t->up || !t->ups_work || !t->loc_work || !t->sgn_work || !t->tmask ||
        !t->omask || !t->region || !t->gt) {
        tg_free(t);
        return -1;
    }
    return 0;
}

int tg_plan(tg_size *s, const h5in_meta *m, int eig)
{
    int64_t hw = m->h * m->w, maxb = 0;
    memset(s, 0, sizeof *s);
    if (eig && (s->eig = eig_work_doubles((int)m->K, (int)hw)) == 0)
        return -1;
    s->cam = cam_work_doubles((int)m->K, (int)hw);
    s->weights = (size_t)CAM_NW * (size_t)m->K;
    s->up = (size_t)m->max_hw;
    s->mask = (size_t)m->max_hw;
    s->region = (size_t)hw;
    s->sgn = sgn_work_bytes((int)hw);
    for (int64_t i = 0; i < m->N; i++) {
        int H = m->size[2 * i], W = m->size[2 * i + 1];
        size_t u = ups_work_bytes((int)m->h, (int)m->w, H, W);
        size_t l = loc_work_bytes(H, W);
        if (u > s->ups) s->ups = u;
        if (l > s->loc) s->loc = l;
        if (m->bfirst[i + 1] - m->bfirst[i] > maxb) maxb = m->bfirst[i + 1] - m->bfirst[i];
    }
    s->gt = 4 * (size_t)maxb;
    return 0;
}

int tg_eigencam(float *map, int *flip, const float *A, const tg_ctx *c, tg_work *w)
{
    return eig_map(map, flip, A, (int)c->m->K, (int)(c->m->h * c->m->w), w->eig_work);
}

/* Feature resolution: all maps the run needs and the sign tables. */
void tg_features(target_res *res, float *maps, const float *A, const float *G, const float *E,
                 int eflip, int64_t t, const tg_ctx *c, tg_work *w)
{
    const h5in_meta *m = c->m;
    int K = (int)m->K, h = (int)m->h, wd = (int)m->w, hw = h * wd;
    int64_t img = m->timg[t];
    int cls = m->tcls[t];
    int H = m->size[2 * img], W = m->size[2 * img + 1];
    int64_t b0 = m->bfirst[img], nb = m->bfirst[img + 1] - b0;
    cam_maps_sel(maps, w->weights, A, G, c->mu, K, hw, w->cam_work, c->need);
    res->eig_flip = -1;
    if (E) { /* the image's eigencam map, computed once for all its targets */
        memcpy(maps + (size_t)CAM_EIGENCAM * hw, E, (size_t)hw * sizeof(float));
        if (t == m->tfirst[img])
            res->eig_flip = eflip;
    }
    loc_cell_regions(w->region, h, wd, H, W, m->bxyxy + 4 * b0, m->bcls + b0, (int)nb, cls);
    sgn_tables(&res->sg[0], &res->sg[1], A, G, w->weights + (size_t)CAM_W_ALPHA * K,
               w->region, K, hw, w->sgn_work);
    if (c->masses)
        cam_masses(res->mass, A, G, w->weights + (size_t)CAM_W_ALPHA * K, c->mu, K, hw);
}

/* Image resolution: upsample each scored map and localise it. */
void tg_localize(target_res *res, const float *maps, const float *S, int64_t t,
                        const tg_ctx *c, tg_work *w)
{
    const h5in_meta *m = c->m;
    int h = (int)m->h, wd = (int)m->w, hw = h * wd;
    int64_t img = m->timg[t];
    int cls = m->tcls[t];
    int H = m->size[2 * img], W = m->size[2 * img + 1];
    int64_t b0 = m->bfirst[img], nb = m->bfirst[img + 1] - b0;
    const float *boxes = m->bxyxy + 4 * b0;
    const int32_t *bcls = m->bcls + b0;

    int ngt = 0;
    for (int64_t b = 0; b < nb; b++)
        if (bcls[b] == cls) {
            memcpy(w->gt + 4 * ngt, boxes + 4 * b, 4 * sizeof(float));
            ngt++;
        }
    res->has_box = ngt > 0;
    if (c->features_only)
        return;
    loc_masks(w->tmask, w->omask, H, W, boxes, bcls, (int)nb, cls);

    for (int v = 0; v < VAR_N; v++) {
        if (!c->ir->active[v])
            continue;
        if (v == VAR_SALIENCY) {
            size_t npix = (size_t)H * (size_t)W;
            for (size_t i = 0; i < npix; i++)
                w->up[i] = S[i];
        } else {
            ups_bilinear(w->up, maps + (size_t)v * hw, h, wd, H, W, w->ups_work);
        }
        loc_eval(&res->loc[v], w->up, H, W, w->gt, ngt, w->tmask, w->omask, c->lp,
                 w->loc_work);
    }
}

