/* plot.h: figures drawn by gnuplot through a pipe, as PNG (pngcairo) and SVG. */
#ifndef PLOT_H
#define PLOT_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    int width, height, font_size; /* pixels, points */
    FILE *data;                   /* datablocks ($name << EOD ... EOD), sent once */
    FILE *body;                   /* commands, replayed for each terminal */
    char *dtext, *btext;          /* their open_memstream(3) buffers */
    size_t dlen, blen;
    int oom;                      /* 1 after an allocation or a write failed */
} plot_fig;

/* An empty figure of width x height pixels, font_size points (oom set when
 * its buffers cannot be made; plot_render then fails). */
void plot_init(plot_fig *f, int width, int height, int font_size);
void plot_free(plot_fig *f);

/* Append printf-style text to the data section / the command body. Data
 * lines belong between plot_data(f, "$name << EOD\n") and "EOD\n". */
void plot_data(plot_fig *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void plot_cmd(plot_fig *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s as a gnuplot single-quoted string literal ('' doubles a quote), or as a
 * double-quoted datablock field (a '"' becomes '\''), written into out[n]. */
const char *plot_sq(char *out, size_t n, const char *s);
const char *plot_dq(char *out, size_t n, const char *s);

/* Run gnuplot once: the figure goes to the temporary files DIR/.NAME.png.tmp
 * and DIR/.NAME.svg.tmp (see plot_commit). Every write and the pclose status
 * are checked; gnuplot's first error line ends up in err as
 * "DIR/NAME.png: gnuplot: problem". Returns 0 or -1 (temporaries removed). */
int plot_render(const plot_fig *f, const char *dir, const char *name, char *err, size_t errlen);

/* Rename the temporaries of NAME to DIR/NAME.png and DIR/NAME.svg; 0 or -1. */
int plot_commit(const char *dir, const char *name, char *err, size_t errlen);

/* Remove the temporaries of NAME (after a failure elsewhere). */
void plot_discard(const char *dir, const char *name);

#endif
