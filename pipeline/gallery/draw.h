/* draw.h: pure RGB drawing for the gallery: colour maps, blending, boxes,
 * nearest-neighbour blits and a built-in 5x7 bitmap font. No I/O. */
#ifndef DRAW_H
#define DRAW_H

#include <stddef.h>
#include <stdint.h>

/* An RGB canvas: px is (h, w, 3) uint8, row-major, owned by the caller. */
typedef struct {
    uint8_t *px;
    int w, h;
} draw_canvas;

/* A half-open pixel rectangle [x0, x1) x [y0, y1) that drawing is clipped to
 * (always intersected with the canvas as well). */
typedef struct {
    int x0, y0, x1, y1;
} draw_rect;

/* Sequential map, v in [0, 1] (clamped; NaN -> 0): an inferno-like ramp,
 * black -> purple -> red -> orange -> pale yellow, luminance increasing. */
void draw_cmap_seq(uint8_t rgb[3], double v);

/* Diverging map, v in [-1, 1] (clamped; NaN -> 0): -1 blue (10, 40, 230),
 * 0 white, +1 red (220, 20, 20), linear in between. */
void draw_cmap_div(uint8_t rgb[3], double v);

/* m: (n) -> m / max(m) in place; returns max(m). When max(m) <= 0 (or no
 * finite value) every value becomes 0 and the return is that max (or 0). */
double draw_norm_max(double *m, size_t n);

/* m: (n) -> m / max|m| in place; returns max|m| (0: all values set to 0). */
double draw_norm_absmax(double *m, size_t n);

/* pix: (n, ch) uint8, ch 1 (gray) or 3 (RGB) -> out: (n, 3) RGB. */
void draw_to_rgb(uint8_t *out, const uint8_t *pix, size_t n, int ch);

/* out: (n, 3) = the gray (luma) of base: (n, 3), blended with
 * draw_cmap_seq(v[i]) at opacity alpha0 + alpha1 * v (v clamped to [0, 1]).
 * out may equal base. */
void draw_overlay(uint8_t *out, const uint8_t *base, const double *v, size_t n,
                  double alpha0, double alpha1);

/* out: (n, 3) = draw_cmap_div(v[i]). */
void draw_diverging(uint8_t *out, const double *v, size_t n);

/* Fill the rectangle (x, y, w, h), clipped to the canvas. */
void draw_fill(draw_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3]);

/* Copy src: (sh, sw, 3) to the canvas at (x, y), resized to (dh, dw) by
 * nearest neighbour: display pixel (r, q) shows source pixel
 * (r * sh / dh, q * sw / dw) (integer division), so an integer upscale
 * repeats each pixel exactly. Clipped to the canvas. */
void draw_blit(draw_canvas *c, int x, int y, int dw, int dh, const uint8_t *src, int sw,
               int sh);

/* Outline of the box [x0, x1) x [y0, y1) drawn inside its edges, thick pixels
 * wide, clipped to clip and the canvas. dash > 0 draws dash pixels on, dash
 * off along each side. outline != 0 first draws a 1 px dark border on both
 * sides of the line (visible on any background). */
void draw_box(draw_canvas *c, draw_rect clip, int x0, int y0, int x1, int y1, int thick,
              int dash, int outline, const uint8_t rgb[3]);

/* Text in the 5x7 font, each glyph cell 6 x 8 pixels times scale; letters
 * are drawn upper case, characters without a glyph as '?'. Stops before a
 * glyph would pass xmax. Returns the x after the last glyph drawn. */
int draw_text(draw_canvas *c, int x, int y, int scale, const uint8_t rgb[3], const char *s,
              int xmax);

/* Width in pixels draw_text needs for s (no xmax limit). */
int draw_text_width(const char *s, int scale);

#endif
