/* draw.c: pure RGB drawing for the gallery (colour maps, blending, boxes,
 * blits, a 5x7 font).
 *
 * DESIGN
 * Everything works on caller-owned RGB buffers (h, w, 3) uint8 and clips
 * every write to the canvas (and, for boxes, to a panel rectangle), so no
 * call can write out of bounds whatever the coordinates: a box that sticks
 * out of its panel is cut at the panel edge, never drawn over a neighbour.
 * This file lives in analysis/ (not pipeline/) only so the cmocka tests,
 * which link kernels/ and analysis/, can check it; it does no I/O.
 *
 * Colour maps:
 *   - sequential: piecewise linear through 11 samples of matplotlib's
 *     inferno (t = 0, 0.1, ..., 1), so luminance rises monotonically and the
 *     ramp stays readable in gray scale; it contains no green or cyan, which
 *     the boxes use.
 *   - diverging: linear from blue (-1) through white (0) to red (+1), the
 *     usual RdBu reading: white means "no evidence either way".
 * Values are clamped to their range; NaN is drawn as 0 (the caller has
 * already refused non-finite maps; this only keeps the function total).
 *
 * Font: 5x7 glyphs (digits, upper-case letters, a little punctuation), one
 * byte per row, bit 4 the leftmost column; lower case is drawn upper case.
 *
 * Thread safety: pure functions of their arguments, no globals written.
 */
#include "pipeline/gallery/draw.h"

#include <math.h>
#include <string.h>

/* inferno at t = 0, 0.1, ..., 1 (matplotlib, rounded to 8 bits) */
static const uint8_t SEQ[11][3] = {
    {0, 0, 4},       {22, 11, 57},   {66, 10, 104},  {106, 23, 110},
    {147, 38, 103},  {188, 55, 84},  {221, 81, 58},  {243, 120, 25},
    {252, 165, 10},  {246, 215, 70}, {252, 255, 164},
};
static const double DIV_NEG[3] = {10, 40, 230};
static const double DIV_POS[3] = {220, 20, 20};

static uint8_t to_byte(double x)
{
    if (!(x > 0))
        return 0;
    if (x >= 255)
        return 255;
    return (uint8_t)(x + 0.5);
}

void draw_cmap_seq(uint8_t rgb[3], double v)
{
    if (!(v > 0))
        v = 0; /* also NaN */
    if (v > 1)
        v = 1;
    double s = v * 10.0;
    int i = (int)s;
    if (i >= 10)
        i = 9;
    double f = s - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = to_byte(SEQ[i][k] * (1 - f) + SEQ[i + 1][k] * f);
}

void draw_cmap_div(uint8_t rgb[3], double v)
{
    if (v != v)
        v = 0;
    if (v < -1)
        v = -1;
    if (v > 1)
        v = 1;
    const double *end = v < 0 ? DIV_NEG : DIV_POS;
    double t = fabs(v);
    for (int k = 0; k < 3; k++)
        rgb[k] = to_byte(255.0 * (1 - t) + end[k] * t);
}

double draw_norm_max(double *m, size_t n)
{
    double mx = 0;
    int any = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(m[i]) && (!any || m[i] > mx)) {
            mx = m[i];
            any = 1;
        }
    for (size_t i = 0; i < n; i++)
        m[i] = mx > 0 && isfinite(m[i]) ? m[i] / mx : 0;
    return mx;
}

double draw_norm_absmax(double *m, size_t n)
{
    double mx = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(m[i]) && fabs(m[i]) > mx)
            mx = fabs(m[i]);
    for (size_t i = 0; i < n; i++)
        m[i] = mx > 0 && isfinite(m[i]) ? m[i] / mx : 0;
    return mx;
}

void draw_to_rgb(uint8_t *out, const uint8_t *pix, size_t n, int ch)
{
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++)
            out[3 * i + k] = ch == 1 ? pix[i] : pix[3 * i + k];
}

void draw_overlay(uint8_t *out, const uint8_t *base, const double *v, size_t n,
                  double alpha0, double alpha1)
{
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (!(x > 0))
            x = 0;
        if (x > 1)
            x = 1;
        double gray = 0.299 * base[3 * i] + 0.587 * base[3 * i + 1] + 0.114 * base[3 * i + 2];
        double a = alpha0 + alpha1 * x;
        if (a < 0)
            a = 0;
        if (a > 1)
            a = 1;
        uint8_t c[3];
        draw_cmap_seq(c, x);
        for (int k = 0; k < 3; k++)
            out[3 * i + k] = to_byte(gray * (1 - a) + c[k] * a);
    }
}

void draw_diverging(uint8_t *out, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        draw_cmap_div(out + 3 * i, v[i]);
}

/* ---- canvas ----------------------------------------------------------------- */

static draw_rect clip_canvas(const draw_canvas *c, draw_rect r)
{
    if (r.x0 < 0)
        r.x0 = 0;
    if (r.y0 < 0)
        r.y0 = 0;
    if (r.x1 > c->w)
        r.x1 = c->w;
    if (r.y1 > c->h)
        r.y1 = c->h;
    return r;
}

static void put(draw_canvas *c, draw_rect clip, int x, int y, const uint8_t rgb[3])
{
    if (x < clip.x0 || x >= clip.x1 || y < clip.y0 || y >= clip.y1)
        return;
    uint8_t *p = c->px + 3 * ((size_t)y * (size_t)c->w + (size_t)x);
    p[0] = rgb[0];
    p[1] = rgb[1];
    p[2] = rgb[2];
}

void draw_fill(draw_canvas *c, int x, int y, int w, int h, const uint8_t rgb[3])
{
    draw_rect r = clip_canvas(c, (draw_rect){x, y, x + w, y + h});
    for (int yy = r.y0; yy < r.y1; yy++)
        for (int xx = r.x0; xx < r.x1; xx++)
            put(c, r, xx, yy, rgb);
}

void draw_blit(draw_canvas *c, int x, int y, int dw, int dh, const uint8_t *src, int sw,
               int sh)
{
    if (dw < 1 || dh < 1 || sw < 1 || sh < 1)
        return;
    draw_rect r = clip_canvas(c, (draw_rect){x, y, x + dw, y + dh});
    for (int yy = r.y0; yy < r.y1; yy++) {
        int64_t sy = (int64_t)(yy - y) * sh / dh;
        for (int xx = r.x0; xx < r.x1; xx++) {
            int64_t sx = (int64_t)(xx - x) * sw / dw;
            put(c, r, xx, yy, src + 3 * ((size_t)sy * (size_t)sw + (size_t)sx));
        }
    }
}

/* The band [x0, x1) x [y0, y1) of a box side; dash along the x (horiz) or y
 * axis, counted from (ox, oy). */
static void band(draw_canvas *c, draw_rect clip, int x0, int y0, int x1, int y1, int dash,
                 int horiz, int ox, int oy, const uint8_t rgb[3])
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            if (dash > 0) {
                int along = horiz ? x - ox : y - oy;
                if (along < 0)
                    along = -along;
                if ((along / dash) % 2)
                    continue;
            }
            put(c, clip, x, y, rgb);
        }
}

static void outline_rect(draw_canvas *c, draw_rect clip, int x0, int y0, int x1, int y1, int t,
                         int dash, const uint8_t rgb[3])
{
    if (x1 - x0 < 2 * t || y1 - y0 < 2 * t) { /* too small for a hollow box: fill it */
        band(c, clip, x0, y0, x1, y1, 0, 1, x0, y0, rgb);
        return;
    }
    band(c, clip, x0, y0, x1, y0 + t, dash, 1, x0, y0, rgb);     /* top */
    band(c, clip, x0, y1 - t, x1, y1, dash, 1, x0, y0, rgb);     /* bottom */
    band(c, clip, x0, y0 + t, x0 + t, y1 - t, dash, 0, x0, y0, rgb); /* left */
    band(c, clip, x1 - t, y0 + t, x1, y1 - t, dash, 0, x0, y0, rgb); /* right */
}

void draw_box(draw_canvas *c, draw_rect clip, int x0, int y0, int x1, int y1, int thick,
              int dash, int outline, const uint8_t rgb[3])
{
    static const uint8_t DARK[3] = {0, 0, 0};
    if (x1 <= x0 || y1 <= y0 || thick < 1)
        return;
    /* clip (given) intersected with the canvas */
    draw_rect k = clip_canvas(c, clip);
    if (k.x1 <= k.x0 || k.y1 <= k.y0)
        return;
    if (outline) {
        /* the dark border: 1 px outside and 1 px inside the coloured line */
        outline_rect(c, k, x0 - 1, y0 - 1, x1 + 1, y1 + 1, thick + 2, 0, DARK);
    }
    outline_rect(c, k, x0, y0, x1, y1, thick, dash, rgb);
}

/* ---- font ----------------------------------------------------------------------- */

static const char GLYPH_CHARS[] =
    " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.,:-_#=()/%+?|<>'*";
static const uint8_t GLYPHS[][7] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* space */
    {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, /* 0 */
    {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}, /* 1 */
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, /* 2 */
    {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}, /* 3 */
    {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, /* 4 */
    {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}, /* 5 */
    {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, /* 6 */
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, /* 7 */
    {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, /* 8 */
    {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}, /* 9 */
    {0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11}, /* A */
    {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}, /* B */
    {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}, /* C */
    {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}, /* D */
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}, /* E */
    {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}, /* F */
    {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}, /* G */
    {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}, /* H */
    {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}, /* I */
    {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}, /* J */
    {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, /* K */
    {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}, /* L */
    {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}, /* M */
    {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, /* N */
    {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, /* O */
    {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}, /* P */
    {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}, /* Q */
    {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}, /* R */
    {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}, /* S */
    {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* T */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}, /* U */
    {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}, /* V */
    {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}, /* W */
    {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}, /* X */
    {0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04}, /* Y */
    {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}, /* Z */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}, /* . */
    {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}, /* , */
    {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}, /* : */
    {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}, /* - */
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}, /* _ */
    {0x0A, 0x0A, 0x1F, 0x0A, 0x1F, 0x0A, 0x0A}, /* # */
    {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}, /* = */
    {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}, /* ( */
    {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}, /* ) */
    {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}, /* / */
    {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}, /* % */
    {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}, /* + */
    {0x0E, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04}, /* ? */
    {0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* | */
    {0x02, 0x04, 0x08, 0x10, 0x08, 0x04, 0x02}, /* < */
    {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}, /* > */
    {0x0C, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00}, /* ' */
    {0x00, 0x04, 0x15, 0x0E, 0x15, 0x04, 0x00}, /* * */
};

_Static_assert(sizeof GLYPHS / sizeof GLYPHS[0] == sizeof GLYPH_CHARS - 1,
               "one glyph per character of GLYPH_CHARS");

static const uint8_t *glyph(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        ch = (char)(ch - 'a' + 'A');
    const char *p = ch ? strchr(GLYPH_CHARS, ch) : NULL;
    if (!p)
        p = strchr(GLYPH_CHARS, '?');
    return GLYPHS[p - GLYPH_CHARS];
}

int draw_text_width(const char *s, int scale)
{
    return (int)strlen(s) * 6 * scale;
}

int draw_text(draw_canvas *c, int x, int y, int scale, const uint8_t rgb[3], const char *s,
              int xmax)
{
    draw_rect all = clip_canvas(c, (draw_rect){0, 0, c->w, c->h});
    for (; *s; s++) {
        if (x + 5 * scale > xmax)
            break;
        const uint8_t *g = glyph(*s);
        for (int r = 0; r < 7; r++)
            for (int q = 0; q < 5; q++)
                if (g[r] & (0x10 >> q))
                    for (int dy = 0; dy < scale; dy++)
                        for (int dx = 0; dx < scale; dx++)
                            put(c, all, x + q * scale + dx, y + r * scale + dy, rgb);
        x += 6 * scale;
    }
    return x;
}
