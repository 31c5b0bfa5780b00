/* q6fig.c: the figure of Question 6, one per input with a `causal` block:
 * q6-curves-FIGSTEM.
 *
 * DESIGN
 * Four panels drawn by gnuplot (plot.c) at the `zero` reference (`mu` when
 * zero was not run): the mean normalised deletion and insertion curves of
 * every order (top), and the same means in raw score units (bottom, the
 * curves the normalisation starts from), against the fraction of cells
 * x_s = k_s / n. One colour per order (the variant's colour of figures.c,
 * a small palette for names this report does not know; `random` dashed
 * grey), Grad-CAM drawn thicker; one key for the four
 * panels at the right. Data go into datablocks with %.10g, so the same
 * summary gives the same bytes.
 *
 * Thread safety: main thread only (plot.c runs gnuplot).
 */
#include "pipeline/report/q6.h"

#include "pipeline/common/variants.h"
#include "pipeline/report/plot.h"

#include <stdio.h>
#include <string.h>

#define W 1000
#define H 760
#define FONT 11

/* Datablock $q6<mode><raw>: x then one column per order. */
static void block(plot_fig *f, const rp_causal *c, int ref, int m, int raw)
{
    plot_data(f, "$q6%d%d << EOD\n", m, raw);
    for (long s = 0; s <= c->steps; s++) {
        plot_data(f, "%.10g", c->x[s]);
        for (int k = 0; k < c->norder; k++) {
            const rp_curve *cv = &c->cv[m][ref][k];
            plot_data(f, " %.10g", raw ? cv->raw[s] : cv->curve[s]);
        }
        plot_data(f, "\n");
    }
    plot_data(f, "EOD\n");
}

static void panel(plot_fig *f, const rp_causal *c, int m, int raw)
{
    static const char *const lm[2] = {"0.08", "0.45"}, *const rm[2] = {"0.40", "0.77"};
    static const char *const tm[2] = {"0.90", "0.45"}, *const bm[2] = {"0.55", "0.09"};
    char q[256], t[128];
    snprintf(t, sizeof t, "%s, %s", rp_mode_names[m], raw ? "raw score y^c" : "normalised u");
    plot_cmd(f, "set lmargin at screen %s\nset rmargin at screen %s\nset tmargin at screen %s\n"
                "set bmargin at screen %s\nset title %s\nset ylabel %s\n"
                "set xlabel %s\nset yrange [*:*]\n%s\n",
             lm[m], rm[m], tm[raw], bm[raw], plot_sq(q, sizeof q, t),
             m ? "''" : raw ? "'mean y^c (logit)'" : "'mean u (1 = typical full effect)'",
             raw ? "'fraction of cells'" : "''", m == 0 && raw == 0 ? "set key" : "unset key");
    /* orders this report does not know (a newer engine's variants) */
    static const char *const extra[4] = {"#a6761d", "#1b9e77", "#e7298a", "#66a61e"};
    for (int k = 0; k < c->norder; k++) {
        int v = var_index(c->order[k]);
        int rnd = k == c->random;
        const char *col = rnd ? "#444444" : v >= 0 ? rp_var_color(v) : extra[k % 4];
        plot_cmd(f, "%s$q6%d%d using 1:%d with lines lw %s dt %d lc rgb '%s' title %s",
                 k ? ", \\\n  " : "plot ", m, raw, k + 2, v == CAM_GRADCAM ? "4" : "2",
                 rnd ? 2 : 1, col,
                 plot_sq(q, sizeof q, c->order[k]));
    }
    plot_cmd(f, "\n");
}

static void draw(plot_fig *f, const rp_input *in)
{
    const rp_causal *c = &in->causal;
    int ref = c->has_ref[RP_REF_ZERO] ? RP_REF_ZERO : RP_REF_MU;
    char q[512], t[600];
    snprintf(t, sizeof t, "%s: deletion and insertion through the network, reference %s",
             in->stem, rp_ref_names[ref]);
    rp_fig_style(f);
    plot_cmd(f, "set multiplot title %s\nset xrange [0:1]\nset xzeroaxis lt -1 lw 1\n"
                "set key at screen 0.995, screen 0.90 right top vertical font ',10' "
                "samplen 2\n", plot_sq(q, sizeof q, t));
    for (int raw = 0; raw < 2; raw++)
        for (int m = 0; m < RP_NMODE; m++) {
            block(f, c, ref, m, raw);
            panel(f, c, m, raw);
        }
    plot_cmd(f, "unset multiplot\n");
}

int rp_q6_figures(rp_figs *figs, const rp_study *st, const char *dir, char *err, size_t errlen)
{
    char name[256];
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        if (!in->causal.present)
            continue;
        rp_fig_name(name, sizeof name, "q6-curves", in);
        plot_fig f;
        plot_init(&f, W, H, FONT);
        draw(&f, in);
        int rc;
        if (f.oom) {
            snprintf(err, errlen, "%s/%s.png: -: out of memory", dir, name);
            rc = -1;
        } else {
            rc = rp_fig_render(figs, &f, dir, name, err, errlen);
        }
        plot_free(&f);
        if (rc < 0)
            return -1;
    }
    return 0;
}
