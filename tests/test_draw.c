/* test_draw.c: cmocka tests of pipeline/gallery/draw (the gallery's pure drawing).
 *
 * Colour maps at their anchors (diverging: 0 white, -1 blue, +1 red, and
 * monotone in between; sequential: luminance rising, no green/cyan that
 * the boxes use), normalisations, clipping of boxes and blits (a guard
 * band around the canvas must stay untouched whatever the coordinates),
 * nearest-neighbour blits by hand, and the font's pixel counts. Each group
 * has a negative control: a wrong answer the same check must reject.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/gallery/draw.h"

static int is_blue(const uint8_t c[3])
{
    return c[2] >= 200 && c[0] <= 60 && c[1] <= 80;
}

static int is_red(const uint8_t c[3])
{
    return c[0] >= 200 && c[1] <= 60 && c[2] <= 60;
}

static double luma(const uint8_t c[3])
{
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
}

static void test_div_anchors(void **state)
{
    (void)state;
    uint8_t c[3];
    draw_cmap_div(c, 0.0);
    assert_true(c[0] == 255 && c[1] == 255 && c[2] == 255);
    draw_cmap_div(c, -1.0);
    assert_true(is_blue(c));
    assert_false(is_red(c)); /* negative control: blue is not red */
    draw_cmap_div(c, 1.0);
    assert_true(is_red(c));
    assert_false(is_blue(c));
    uint8_t d[3];
    draw_cmap_div(d, -7.0); /* clamped */
    draw_cmap_div(c, -1.0);
    assert_memory_equal(c, d, 3);
    draw_cmap_div(d, NAN); /* NaN drawn as 0 */
    assert_true(d[0] == 255 && d[1] == 255 && d[2] == 255);
    /* half way: light, still on its side */
    draw_cmap_div(c, -0.5);
    assert_true(c[2] > c[0] && c[2] > 230 && c[0] > 100);
    draw_cmap_div(c, 0.5);
    assert_true(c[0] > c[2] && c[0] > 230 && c[2] > 100);
}

static void test_div_monotone(void **state)
{
    (void)state;
    uint8_t prev_p[3], prev_n[3], p[3], n[3];
    draw_cmap_div(prev_p, 0);
    draw_cmap_div(prev_n, 0);
    for (int i = 1; i <= 200; i++) {
        double v = i / 200.0;
        draw_cmap_div(p, v);
        draw_cmap_div(n, -v);
        /* towards red: green and blue fall; towards blue: red and green fall */
        assert_true(p[1] <= prev_p[1] && p[2] <= prev_p[2]);
        assert_true(n[0] <= prev_n[0] && n[1] <= prev_n[1]);
        assert_true(luma(p) < luma(prev_p) + 1e-9 && luma(n) < luma(prev_n) + 1e-9);
        memcpy(prev_p, p, 3);
        memcpy(prev_n, n, 3);
    }
    /* symmetric scale: +v and -v sit the same fraction of the way from white */
    draw_cmap_div(p, 0.3);
    draw_cmap_div(n, -0.3);
    assert_true(fabs((255 - p[1]) / (255.0 - 20) - 0.3) < 0.01);
    assert_true(fabs((255 - n[0]) / (255.0 - 10) - 0.3) < 0.01);
}

static void test_seq(void **state)
{
    (void)state;
    uint8_t c[3], prev[3];
    draw_cmap_seq(c, 0.0);
    assert_true(luma(c) < 10);
    draw_cmap_seq(c, 1.0);
    assert_true(luma(c) > 230);
    draw_cmap_seq(prev, 0.0);
    int rising = 1;
    for (int i = 1; i <= 100; i++) { /* steps of 0.01: strictly brighter */
        draw_cmap_seq(c, i / 100.0);
        if (!(luma(c) > luma(prev)))
            rising = 0;
        memcpy(prev, c, 3);
    }
    draw_cmap_seq(prev, 0.0);
    for (int i = 1; i <= 1000; i++) { /* fine steps: never darker beyond byte rounding */
        draw_cmap_seq(c, i / 1000.0);
        if (luma(c) + 1.0 < luma(prev))
            rising = 0;
        /* never green or cyan (the box colours): green is never well above red */
        assert_true(c[1] <= c[0] + 5);
        memcpy(prev, c, 3);
    }
    assert_true(rising);
    /* negative control: a reversed ramp fails the same test */
    draw_cmap_seq(prev, 1.0);
    int rising_rev = 1;
    for (int i = 99; i >= 0; i--) {
        draw_cmap_seq(c, i / 100.0);
        if (!(luma(c) > luma(prev)))
            rising_rev = 0;
        memcpy(prev, c, 3);
    }
    assert_false(rising_rev);
    uint8_t a[3], b[3];
    draw_cmap_seq(a, -3);
    draw_cmap_seq(b, NAN);
    draw_cmap_seq(c, 0);
    assert_memory_equal(a, c, 3);
    assert_memory_equal(b, c, 3);
}

static void test_norm(void **state)
{
    (void)state;
    double m[4] = {0, 2, 1, -1};
    assert_true(draw_norm_max(m, 4) == 2);
    assert_true(m[0] == 0 && m[1] == 1 && m[2] == 0.5 && m[3] == -0.5);
    double z[3] = {-3, -1, -2}; /* no positive value: all 0 */
    draw_norm_max(z, 3);
    assert_true(z[0] == 0 && z[1] == 0 && z[2] == 0);
    double s[3] = {-4, 2, 0};
    assert_true(draw_norm_absmax(s, 3) == 4);
    assert_true(s[0] == -1 && s[1] == 0.5 && s[2] == 0);
    double e[2] = {0, 0};
    assert_true(draw_norm_absmax(e, 2) == 0);
    assert_true(e[0] == 0 && e[1] == 0);
}

static void test_box_clip(void **state)
{
    (void)state;
    const int w = 20, h = 16;
    size_t n = (size_t)w * h * 3;
    uint8_t *buf = malloc(n + 2 * 64);
    memset(buf, 0xAB, n + 2 * 64);
    draw_canvas c = {buf + 64, w, h};
    memset(c.px, 0, n);
    const uint8_t red[3] = {255, 0, 0};
    /* a box entirely inside, 1 px, no outline: exactly its perimeter */
    draw_box(&c, (draw_rect){0, 0, w, h}, 2, 2, 8, 6, 1, 0, 0, red);
    int count = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int on = c.px[3 * (y * w + x)] == 255;
            int edge = x >= 2 && x < 8 && y >= 2 && y < 6 &&
                       (x == 2 || x == 7 || y == 2 || y == 5);
            assert_int_equal(on, edge);
            count += on;
        }
    assert_int_equal(count, 2 * 6 + 2 * 4 - 4);
    /* boxes far outside the canvas and the clip, with outline and dashes */
    memset(c.px, 0, n);
    draw_rect panel = {5, 4, 12, 10};
    draw_box(&c, panel, -100, -50, 300, 200, 3, 4, 1, red);
    draw_box(&c, panel, 3, 3, 30, 30, 2, 0, 1, red);
    draw_box(&c, (draw_rect){-10, -10, 100, 100}, -5, -5, 40, 40, 2, 0, 1, red);
    for (int i = 0; i < 64; i++) {
        assert_int_equal(buf[i], 0xAB);
        assert_int_equal(buf[64 + n + i], 0xAB);
    }
    /* the panel-clipped boxes wrote nothing outside the panel (the third box
     * covers the canvas edge, so check with it undone) */
    memset(c.px, 0, n);
    draw_box(&c, panel, -100, -50, 300, 200, 3, 4, 1, red);
    draw_box(&c, panel, 3, 3, 30, 30, 2, 0, 1, red);
    int outside = 0, inside = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int touched = c.px[3 * (y * w + x)] != 0 || c.px[3 * (y * w + x) + 1] != 0;
            int in = x >= panel.x0 && x < panel.x1 && y >= panel.y0 && y < panel.y1;
            if (touched && !in)
                outside++;
            if (touched && in)
                inside++;
        }
    assert_int_equal(outside, 0);
    assert_true(inside > 0); /* negative control: something was drawn */
    free(buf);
}

static void test_blit(void **state)
{
    (void)state;
    const uint8_t src[2 * 3 * 3] = {1, 1, 1, 2, 2, 2, 3, 3, 3,   /* row 0 */
                                    4, 4, 4, 5, 5, 5, 6, 6, 6};  /* row 1 */
    const int w = 10, h = 5;
    uint8_t px[10 * 5 * 3];
    memset(px, 0, sizeof px);
    draw_canvas c = {px, w, h};
    draw_blit(&c, 1, 1, 6, 4, src, 3, 2); /* x2 upscale of (2, 3) -> (4, 6) */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int want = 0;
            if (x >= 1 && x < 7 && y >= 1 && y < 5)
                want = 1 + 3 * ((y - 1) / 2) + (x - 1) / 2;
            assert_int_equal(px[3 * (y * w + x)], want);
        }
    /* partly outside the canvas: clipped, no crash, visible part right */
    memset(px, 0, sizeof px);
    draw_blit(&c, 8, -2, 6, 4, src, 3, 2);
    assert_int_equal(px[3 * (0 * w + 8)], 4); /* display row 2 -> source row 1 */
    assert_int_equal(px[3 * (1 * w + 9)], 4);
    assert_int_equal(px[3 * (2 * w + 8)], 0);
}

static void test_text(void **state)
{
    (void)state;
    assert_int_equal(draw_text_width("AB", 2), 24);
    uint8_t px[40 * 20 * 3];
    memset(px, 0, sizeof px);
    draw_canvas c = {px, 40, 20};
    const uint8_t white[3] = {255, 255, 255};
    int x = draw_text(&c, 1, 1, 2, white, "1", 40);
    assert_int_equal(x, 13);
    int on = 0;
    for (size_t i = 0; i < sizeof px; i += 3)
        on += px[i] == 255;
    assert_int_equal(on, 10 * 4); /* the '1' glyph has 10 pixels, x2 scale */
    /* lower case is drawn as upper case; unknown characters as '?' */
    uint8_t a[40 * 20 * 3], b[40 * 20 * 3];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    draw_canvas ca = {a, 40, 20}, cb = {b, 40, 20};
    draw_text(&ca, 0, 0, 1, white, "ab~", 40);
    draw_text(&cb, 0, 0, 1, white, "AB?", 40);
    assert_memory_equal(a, b, sizeof a);
    draw_text(&cb, 0, 10, 1, white, "X", 40);
    assert_memory_not_equal(a, b, sizeof a); /* negative control */
    /* stops before passing xmax */
    memset(a, 0, sizeof a);
    assert_int_equal(draw_text(&ca, 0, 0, 1, white, "ABCDEFGH", 17), 18);
}

static void test_overlay(void **state)
{
    (void)state;
    const uint8_t base[2 * 3] = {100, 100, 100, 10, 200, 30};
    const double v[2] = {0, 1};
    uint8_t out[6], hot[3], cold[3];
    draw_overlay(out, base, v, 2, 0.35, 0.5);
    draw_cmap_seq(cold, 0);
    draw_cmap_seq(hot, 1);
    for (int k = 0; k < 3; k++)
        assert_int_equal(out[k], (int)(100 * 0.65 + cold[k] * 0.35 + 0.5));
    double g = 0.299 * 10 + 0.587 * 200 + 0.114 * 30;
    for (int k = 0; k < 3; k++) {
        double want = g * 0.15 + hot[k] * 0.85;
        assert_true(fabs(out[3 + k] - want) <= 0.5 + 1e-9);
    }
    uint8_t rgb[6];
    const uint8_t gray[2] = {7, 9};
    draw_to_rgb(rgb, gray, 2, 1);
    assert_true(rgb[0] == 7 && rgb[1] == 7 && rgb[2] == 7 && rgb[3] == 9 && rgb[5] == 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_div_anchors),
        cmocka_unit_test(test_div_monotone),
        cmocka_unit_test(test_seq),
        cmocka_unit_test(test_norm),
        cmocka_unit_test(test_box_clip),
        cmocka_unit_test(test_blit),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_overlay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
