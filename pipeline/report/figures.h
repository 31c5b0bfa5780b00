/* figures.h: the figures of REPORT.md (figures.c, drawn through plot.h). */
#ifndef RP_FIGURES_H
#define RP_FIGURES_H

#include <stddef.h>

#include "pipeline/report/model.h"
#include "pipeline/report/plot.h"

#define RP_MAXCLASS_BARS 40   /* more classes than this: no per-class bar chart */
#define RP_MAXFIGS 256
typedef struct {
    int n;
    char *name[RP_MAXFIGS];   /* base names (owned), rendered to temporaries */
} rp_figs;

/* The figure names the text links to (the same functions name the files):
 * "what-FIGSTEM", or "what" when in is NULL; into o[n]. */
void rp_fig_name(char *o, size_t n, const char *what, const rp_input *in);
/* 1 when the per-class pointing chart of in is drawn (1 to RP_MAXCLASS_BARS classes). */
int rp_perclass_plotted(const rp_input *in);
/* Shared with the figures of other modules (q6fig.c): the common style,
 * the colour of a variant (var_index; -1 or out of range: grey), and the
 * rendering of f as NAME into dir, recorded in figs. */
void rp_fig_style(plot_fig *f);
const char *rp_var_color(int v);
int rp_fig_render(rp_figs *figs, plot_fig *f, const char *dir, const char *name, char *err,
                  size_t errlen);
/* Render every figure into temporaries in dir (plot_render); the caller
 * commits or discards figs->name[0..n). 0, or -1 with err set. */
int rp_figures(rp_figs *figs, const rp_study *st, const char *dir, char *err, size_t errlen);

#endif
