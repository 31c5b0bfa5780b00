/* render.c: the gallery's picture: one row per pick (a band of text, then
 * four panels: the image, gradcam, gradcam-signed, counterfactual, with the
 * boxes), a title and a legend (layout and colours: gallery.c DESIGN).
 *
 * DESIGN
 * Maps are upsampled with the protocol's own ups_bilinear, so a panel shows
 * what was scored; every pixel is a pure function of the inputs (no fonts
 * from the system, no time), so the PNG has the same bytes twice.
 *
 * Thread safety: no shared state (HDF5 reads on the calling thread).
 */
#include "pipeline/gallery/gallery_int.h"

#include "kernels/upsample.h"
#include "pipeline/gallery/pngw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t C_BG[3] = {22, 22, 26}, C_CELL[3] = {40, 40, 46},
                     C_TEXT[3] = {230, 230, 230}, C_DIM[3] = {165, 165, 175},
                     C_RULE[3] = {255, 205, 80}, C_GT[3] = {60, 235, 60},
                     C_OTHER[3] = {255, 150, 30}, C_PRED[3] = {0, 225, 255};

static void display_size(int H, int W, int *dh, int *dw)
{
    int m = H > W ? H : W;
    if (m < PANEL_MIN) {
        int up = (PANEL_MIN + m - 1) / m;
        *dh = H * up;
        *dw = W * up;
    } else if (m > PANEL_MAX) {
        int dn = (m + PANEL_MAX - 1) / PANEL_MAX;
        *dh = (H + dn - 1) / dn;
        *dw = (W + dn - 1) / dn;
    } else {
        *dh = H;
        *dw = W;
    }
}

/* Frame edge coordinate x (of a frame `size` wide) -> display pixel edge. */
static int to_disp(double x, int size, int dsize)
{
    return (int)lround(x * dsize / size);
}

static void panel_box(draw_canvas *c, draw_rect p, int H, int W, int dh, int dw,
                      const double *xyxy, int dash, const uint8_t rgb[3])
{
    int x0 = p.x0 + to_disp(xyxy[0], W, dw), y0 = p.y0 + to_disp(xyxy[1], H, dh);
    int x1 = p.x0 + to_disp(xyxy[2], W, dw), y1 = p.y0 + to_disp(xyxy[3], H, dh);
    if (x1 <= x0)
        x1 = x0 + 1;
    if (y1 <= y0)
        y1 = y0 + 1;
    draw_box(c, p, x0, y0, x1, y1, 2, dash, 1, rgb);
}

/* Boxes of image img on one panel: other classes, then the target's class,
 * then (pred != NULL) the predicted box. */
static void panel_boxes(draw_canvas *c, draw_rect p, const h5in_meta *m, int img, int cls,
                        int dh, int dw, const int32_t *pred)
{
    int H = m->size[2 * img], W = m->size[2 * img + 1];
    for (int pass = 0; pass < 2; pass++)
        for (int64_t b = m->bfirst[img]; b < m->bfirst[img + 1]; b++) {
            int mine = m->bcls[b] == cls;
            if (mine != pass)
                continue;
            double xy[4];
            for (int k = 0; k < 4; k++)
                xy[k] = m->bxyxy[4 * b + k];
            panel_box(c, p, H, W, dh, dw, xy, mine ? 0 : 5, mine ? C_GT : C_OTHER);
        }
    if (pred) {
        double xy[4] = {pred[0], pred[1], pred[2], pred[3]};
        panel_box(c, p, H, W, dh, dw, xy, 0, C_PRED);
    }
}

void gal_upper_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

static void legend(draw_canvas *c, int y)
{
    int x = MARGIN, xmax = c->w - MARGIN;
    const struct {
        const uint8_t *col;
        int dash;
        const char *txt;
    } sw[3] = {{C_GT, 0, "TARGET CLASS BOX"},
               {C_OTHER, 5, "OTHER CLASS BOX"},
               {C_PRED, 0, "PREDICTED BOX (RUN THRESHOLD, MAX NORM)"}};
    for (int i = 0; i < 3; i++) {
        draw_rect all = {0, 0, c->w, c->h};
        if (x + 22 > xmax)
            break;
        draw_box(c, all, x + 1, y - 1, x + 21, y + 9, 2, sw[i].dash, 1, sw[i].col);
        x = draw_text(c, x + 28, y + 1, 1, C_TEXT, sw[i].txt, xmax) + 16;
    }
    x = MARGIN;
    y += 16;
    for (int bar = 0; bar < 2; bar++) {
        const char *lo = bar ? "-MAX ABS" : "0";
        const char *hi = bar ? "+MAX ABS  SIGNED" : "MAX  GRAD-CAM, COUNTERFACTUAL";
        x = draw_text(c, x, y + 1, 1, C_TEXT, lo, xmax) + 4;
        for (int i = 0; i < 120 && x + i < xmax; i++) {
            uint8_t rgb[3];
            double v = i / 119.0;
            if (bar)
                draw_cmap_div(rgb, 2 * v - 1);
            else
                draw_cmap_seq(rgb, v);
            draw_fill(c, x + i, y, 1, 9, rgb);
        }
        x = draw_text(c, x + 124, y + 1, 1, C_TEXT, hi, xmax) + 24;
    }
}

/* Work buffers for one row, sized for the largest frame. */
typedef struct {
    uint8_t *pix, *base, *fr[NPANEL];
    float *map;
    double *up;
    void *work;
} rowbuf;

static int render_row(draw_canvas *c, int y, int pw, const pick *pk, const tcsv_row *r,
                      h5in *f, const h5in_meta *m, const maps_in *mf, rowbuf *b, char *err,
                      size_t errlen)
{
    int img = r->image, cls = r->cls;
    int H = m->size[2 * img], W = m->size[2 * img + 1], dh, dw;
    display_size(H, W, &dh, &dw);
    size_t n = (size_t)H * (size_t)W;

    /* panel 1: the image */
    if (m->has_pixels) {
        if (h5in_read_pixels(f, b->pix, img, err, errlen) < 0)
            return -1;
        draw_to_rgb(b->base, b->pix, n, (int)m->pix_ch);
    } else {
        memset(b->base, 128, n * 3);
    }
    memcpy(b->fr[0], b->base, n * 3);
    /* panels 2..4: the maps at frame resolution */
    double mx[NV];
    for (int v = 0; v < NV; v++) {
        if (maps_read(mf, v, pk->t, b->map, err, errlen) < 0)
            return -1;
        ups_bilinear(b->up, b->map, (int)m->h, (int)m->w, H, W, b->work);
        if (v == V_SIGNED) {
            mx[v] = draw_norm_absmax(b->up, n);
            draw_diverging(b->fr[2], b->up, n);
        } else {
            mx[v] = draw_norm_max(b->up, n);
            draw_overlay(b->fr[v == V_GC ? 1 : 3], b->base, b->up, n, 0.35, 0.5);
        }
    }

    /* band: rule, target, image, class; captions */
    char s[256], cname[96];
    snprintf(cname, sizeof cname, "%s", m->classes[cls]);
    gal_upper_ascii(cname);
    int xmax = c->w - MARGIN;
    int x = draw_text(c, MARGIN, y + 4, 2, C_RULE, GAL_RULE[pk->rule], xmax);
    snprintf(s, sizeof s, " %d  TARGET %lld  IMAGE %d  CLASS %d (%s)%s%.120s", pk->rank,
             (long long)pk->t, img, cls, cname, m->has_names ? "  " : "",
             m->has_names ? m->names[img] : "");
    draw_text(c, x, y + 4, 2, C_TEXT, s, xmax);
    for (int k = 0; k < NPANEL; k++) {
        int px = MARGIN + k * (pw + GAP);
        if (k == 0) {
            if (m->has_pixels)
                snprintf(s, sizeof s, "IMAGE H%d W%d", H, W);
            else
                snprintf(s, sizeof s, "NO PIXELS: GRAY");
        } else if (k == 2) {
            if (mx[V_SIGNED] == 0)
                snprintf(s, sizeof s, "SIGNED: ALL ZERO");
            else if (isnan(r->neg_other[V_SIGNED]))
                snprintf(s, sizeof s, "SIGNED  NEG-OTHER -");
            else
                snprintf(s, sizeof s, "SIGNED  NEG-OTHER %.3f", r->neg_other[V_SIGNED]);
        } else {
            int v = k == 1 ? V_GC : V_CF;
            const char *nm = k == 1 ? "GRAD-CAM" : "COUNTERFACTUAL";
            if (r->degenerate[v])
                snprintf(s, sizeof s, "%s  DEGENERATE", nm);
            else if (isnan(r->iou[v]))
                snprintf(s, sizeof s, "%s  NO BOX", nm);
            else
                snprintf(s, sizeof s, "%s  IOU %.3f", nm, r->iou[v]);
        }
        draw_text(c, px, y + 23, 1, C_DIM, s, px + pw);
    }

    /* panels and boxes */
    int py = y + BAND_H;
    for (int k = 0; k < NPANEL; k++) {
        int px = MARGIN + k * (pw + GAP);
        draw_blit(c, px, py, dw, dh, b->fr[k], W, H);
        draw_rect p = {px, py, px + dw, py + dh};
        int v = k == 1 ? V_GC : k == 3 ? V_CF : -1;
        const int32_t *pred = v >= 0 && r->has_pred[v] ? r->pred[v] : NULL;
        panel_boxes(c, p, m, img, cls, dh, dw, pred);
    }
    return 0;
}

static void rowbuf_free(rowbuf *b)
{
    free(b->pix);
    free(b->base);
    for (int k = 0; k < NPANEL; k++)
        free(b->fr[k]);
    free(b->map);
    free(b->up);
    free(b->work);
    memset(b, 0, sizeof *b);
}

/* Draw the whole gallery of one input into *canvas (allocated here). */
int gal_render(draw_canvas *cv, const char *title, const pick *picks, int np,
                  const tcsv_input *ti, h5in *f, const maps_in *mf, char *err, size_t errlen)
{
    const h5in_meta *m = h5in_meta_of(f);
    int pw = np ? 0 : PANEL_MIN, ph = np ? 0 : PANEL_MIN;
    size_t maxn = 1, maxwork = 1;
    for (int i = 0; i < np; i++) {
        int img = ti->r[picks[i].t].image, H = m->size[2 * img], W = m->size[2 * img + 1];
        int dh, dw;
        display_size(H, W, &dh, &dw);
        if (dh > ph)
            ph = dh;
        if (dw > pw)
            pw = dw;
        size_t n = (size_t)H * (size_t)W, wk = ups_work_bytes((int)m->h, (int)m->w, H, W);
        if (n > maxn)
            maxn = n;
        if (wk > maxwork)
            maxwork = wk;
    }
    cv->w = 2 * MARGIN + NPANEL * pw + (NPANEL - 1) * GAP;
    cv->h = 2 * MARGIN + TITLE_H + np * (BAND_H + ph) + (np > 1 ? (np - 1) * GAP : 0) + LEGEND_H;
    if (cv->w > PNGW_MAX_SIDE || cv->h > PNGW_MAX_SIDE) {
        snprintf(err, errlen, "%s: -: gallery of %dx%d pixels is too large", m->path, cv->w,
                 cv->h);
        return -1;
    }
    cv->px = malloc((size_t)cv->w * (size_t)cv->h * 3);
    rowbuf b;
    memset(&b, 0, sizeof b);
    b.pix = malloc(maxn * 3);
    b.base = malloc(maxn * 3);
    for (int k = 0; k < NPANEL; k++)
        b.fr[k] = malloc(maxn * 3);
    b.map = malloc(sizeof(float) * (size_t)(m->h * m->w));
    b.up = malloc(sizeof(double) * maxn);
    b.work = malloc(maxwork);
    int ok = cv->px && b.pix && b.base && b.map && b.up && b.work;
    for (int k = 0; k < NPANEL; k++)
        ok = ok && b.fr[k];
    if (!ok) {
        snprintf(err, errlen, "%s: -: out of memory for the gallery", m->path);
        rowbuf_free(&b);
        free(cv->px);
        cv->px = NULL;
        return -1;
    }
    draw_fill(cv, 0, 0, cv->w, cv->h, C_BG);
    draw_text(cv, MARGIN, MARGIN + 2, 2, C_TEXT, title, cv->w - MARGIN);
    if (np == 0)
        draw_text(cv, MARGIN, MARGIN + TITLE_H + 4, 1, C_DIM, "NO TARGET FITS ANY RULE",
                  cv->w - MARGIN);
    int rc = 0;
    for (int i = 0; i < np && rc == 0; i++) {
        int y = MARGIN + TITLE_H + i * (BAND_H + ph + GAP);
        for (int k = 0; k < NPANEL; k++)
            draw_fill(cv, MARGIN + k * (pw + GAP), y + BAND_H, pw, ph, C_CELL);
        rc = render_row(cv, y, pw, &picks[i], &ti->r[picks[i].t], f, m, mf, &b, err, errlen);
    }
    if (rc == 0)
        legend(cv, cv->h - MARGIN - LEGEND_H + 8);
    rowbuf_free(&b);
    if (rc < 0) {
        free(cv->px);
        cv->px = NULL;
    }
    return rc;
}

