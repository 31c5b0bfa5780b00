/* gallery.c: the `gallery` command: one PNG per input showing the targets
 * that rules pick from a run's targets.csv, with their maps and boxes.
 *
 *   gradcam-study gallery -o DIR --run RUNDIR [--per-rule 2] INPUT.h5 ...
 *
 * DESIGN
 * Inputs: RUNDIR/targets.csv and RUNDIR/maps.h5 (one input) or
 * RUNDIR/maps-I.h5 (several), written by `run --save-maps` with the same
 * inputs in the same order. targets.csv is read once (columns found by name;
 * only the gradcam, gradcam-signed and counterfactual rows are kept); each
 * input must match the run: same number of inputs, T targets 0..T-1 with
 * the same image and class, each with a row of all three variants, and
 * maps [T, h, w] of the same feature size. Anything else is an error.
 *
 * Rules (per input, in this order; ties go to the lowest target index; a
 * target already shown by an earlier rule is skipped):
 *   best     highest gradcam iou_max, over targets with has_box=1, degenerate=0
 *   worst    lowest gradcam iou_max, same pool
 *   negative highest share of the whole map's absolute mass that is negative
 *            and lies on other classes' boxes: gradcam-signed neg_other (the
 *            share of the negative mass there, image resolution, targets.csv)
 *            times the negative fraction sum max(-m,0) / sum |m| of its
 *            feature-resolution map (maps.h5), where neg_other is defined.
 *            (neg_other alone favours maps with a speck of negative mass.)
 * --per-rule N (1..20, default 2) targets per rule; fewer when the pool
 * runs out (said on stdout). One stdout line per pick says why.
 *
 * Picture: one row per pick, four panels, each the image frame (H, W)
 * shown at display size (dh, dw) by nearest neighbour: an integer upscale
 * `ceil(192 / max(H, W))` when max(H, W) < 192, an integer downscale
 * `ceil(max(H, W) / 512)` (sizes rounded up) when it is > 512, else 1:1.
 *   1  the image (/images/pixels, gray or RGB; mid-gray when absent);
 *   2  gradcam: the map upsampled to (H, W) with ups_bilinear (the
 *      protocol's upsampling), divided by its max, inferno-like ramp
 *      blended over the image's gray at opacity 0.35 + 0.5 v;
 *   3  gradcam-signed upsampled, divided by max |m|, blue-white-red;
 *   4  counterfactual like 2.
 * Boxes on every panel: the target's class ground truth (green, solid),
 * other classes' (orange, dashed), and on 2 and 4 that variant's predicted
 * box from targets.csv (cyan); 2 px lines with a 1 px dark border, drawn
 * inside the box's edges, clipped to the panel.
 * Layout (pw, ph = the largest display size over the picks; 192 x 192 when
 * nothing is picked; R = rows):
 *   width  = 2 MARGIN + 4 pw + 3 GAP
 *   height = 2 MARGIN + TITLE_H + R (BAND_H + ph) + max(R - 1, 0) GAP + LEGEND_H
 * with MARGIN 8, GAP 8, TITLE_H 24, BAND_H 32, LEGEND_H 40 (tests/test_gallery.sh
 * recomputes this). Each row's band holds its rule, target, image and class,
 * and a caption per panel (IoU, neg_other, degenerate).
 *
 * Outputs: DIR/gallery-STEM.png (STEM = file name without directory and
 * ".h5") through outdir.c: temporary names, renamed only when every input
 * succeeded. The PNG is a pure function of the inputs (same bytes twice).
 *
 * Size: above STYLE's 800 lines because the command's targets.csv reader and
 * rule selection live here too (the brief kept this work to gallery.c, png.c
 * and draw.c); the reader would split out cleanly as pipeline/runcsv.c.
 *
 * Thread safety: single-threaded (HDF5 and stdio on the main thread).
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/gallery/gallery.h"

#include "pipeline/gallery/draw.h"
#include "kernels/upsample.h"
#include "pipeline/input/h5in.h"
#include "pipeline/output/outdir.h"
#include "pipeline/gallery/pngw.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ERRLEN H5IN_ERRLEN

enum { V_GC, V_SIGNED, V_CF, NV };
static const char *const VNAME[NV] = {"gradcam", "gradcam-signed", "counterfactual"};

enum { R_BEST, R_WORST, R_NEG, NRULE };
static const char *const RULE[NRULE] = {"best", "worst", "negative"};

/* layout, in pixels (see DESIGN) */
enum {
    PANEL_MIN = 192, PANEL_MAX = 512, MARGIN = 8, GAP = 8,
    TITLE_H = 24, BAND_H = 32, LEGEND_H = 40, NPANEL = 4, PER_RULE_MAX = 20
};

static const uint8_t C_BG[3] = {22, 22, 26}, C_CELL[3] = {40, 40, 46},
                     C_TEXT[3] = {230, 230, 230}, C_DIM[3] = {165, 165, 175},
                     C_RULE[3] = {255, 205, 80}, C_GT[3] = {60, 235, 60},
                     C_OTHER[3] = {255, 150, 30}, C_PRED[3] = {0, 225, 255};

static const char USAGE[] =
    "usage: gradcam-study gallery -o DIR --run RUNDIR [--per-rule 2] INPUT.h5 [INPUT.h5 ...]\n";

/* ---- targets.csv ------------------------------------------------------------------ */

typedef struct {
    uint8_t seen[NV];
    uint8_t has_box;
    uint8_t degenerate[NV];
    uint8_t has_pred[NV];
    int32_t image, cls;
    int32_t pred[NV][4];  /* x0, y0, x1, y1 (edge coordinates) at the run's threshold */
    double iou[NV];       /* iou_max; NaN when empty */
    double neg_other;     /* gradcam-signed; NaN when undefined */
} trow;

typedef struct {
    int64_t n, cap; /* rows 0..n-1 (targets) */
    trow *r;
} tinput;

typedef struct {
    int n;
    tinput *in;
} runcsv;

enum { COL_INPUT, COL_TARGET, COL_IMAGE, COL_CLASS, COL_VARIANT, COL_HASBOX, COL_DEGEN,
       COL_X0, COL_Y0, COL_X1, COL_Y1, COL_IOU, COL_NEG, NCOL };
static const char *const COLNAME[NCOL] = {
    "input", "target", "image", "class", "variant", "has_box", "degenerate",
    "x0_max", "y0_max", "x1_max", "y1_max", "iou_max", "neg_other"};

static void runcsv_free(runcsv *rc)
{
    for (int i = 0; i < rc->n; i++)
        free(rc->in[i].r);
    free(rc->in);
    rc->in = NULL;
    rc->n = 0;
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* An optional number: empty -> NaN. */
static int parse_opt(const char *s, double *out)
{
    if (!*s) {
        *out = NAN;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Split line (no newline) at commas in place; returns the field count, at most max. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n < max)
            f[n] = p;
        n++;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
}

static trow *row_at(runcsv *rc, int64_t input, int64_t target)
{
    if (input >= rc->n) {
        tinput *in = realloc(rc->in, sizeof *in * (size_t)(input + 1));
        if (!in)
            return NULL;
        memset(in + rc->n, 0, sizeof *in * (size_t)(input + 1 - rc->n));
        rc->in = in;
        rc->n = (int)input + 1;
    }
    tinput *ti = &rc->in[input];
    if (target >= ti->cap) {
        int64_t cap = ti->cap ? ti->cap : 256;
        while (cap <= target)
            cap *= 2;
        trow *r = realloc(ti->r, sizeof *r * (size_t)cap);
        if (!r)
            return NULL;
        memset(r + ti->cap, 0, sizeof *r * (size_t)(cap - ti->cap));
        ti->r = r;
        ti->cap = cap;
    }
    if (target >= ti->n)
        ti->n = target + 1;
    return &ti->r[target];
}

/* One data line (fields f[0..ncols-1]) into rc. 0, or -1 with err set. */
static int csv_line(runcsv *rc, char **f, const int *col, const char *path, long line,
                    char *err, size_t errlen)
{
    int v = -1;
    for (int k = 0; k < NV; k++)
        if (!strcmp(f[col[COL_VARIANT]], VNAME[k]))
            v = k;
    if (v < 0)
        return 0;
    int64_t input = 0, target = 0, image = 0, cls = 0, hb = 0, dg = 0, xy[4] = {0, 0, 0, 0};
    double iou = 0.0, neg = 0.0;
    int bad = -1;
    if (parse_i64(f[col[COL_INPUT]], 0, 65535, &input) < 0)
        bad = COL_INPUT;
    else if (parse_i64(f[col[COL_TARGET]], 0, INT32_MAX - 1, &target) < 0)
        bad = COL_TARGET;
    else if (parse_i64(f[col[COL_IMAGE]], 0, INT32_MAX, &image) < 0)
        bad = COL_IMAGE;
    else if (parse_i64(f[col[COL_CLASS]], 0, INT32_MAX, &cls) < 0)
        bad = COL_CLASS;
    else if (parse_i64(f[col[COL_HASBOX]], 0, 1, &hb) < 0)
        bad = COL_HASBOX;
    else if (parse_i64(f[col[COL_DEGEN]], 0, 1, &dg) < 0)
        bad = COL_DEGEN;
    else if (parse_opt(f[col[COL_IOU]], &iou) < 0)
        bad = COL_IOU;
    else if (parse_opt(f[col[COL_NEG]], &neg) < 0)
        bad = COL_NEG;
    int has_pred = *f[col[COL_X0]] != 0;
    for (int k = 0; k < 4 && bad < 0 && has_pred; k++)
        if (parse_i64(f[col[COL_X0 + k]], -(1 << 20), 1 << 20, &xy[k]) < 0)
            bad = COL_X0 + k;
    if (bad >= 0) {
        snprintf(err, errlen, "%s: line %ld: bad %s '%.40s'", path, line, COLNAME[bad],
                 f[col[bad]]);
        return -1;
    }
    trow *r = row_at(rc, input, target);
    if (!r) {
        snprintf(err, errlen, "%s: -: out of memory", path);
        return -1;
    }
    int any = r->seen[V_GC] || r->seen[V_SIGNED] || r->seen[V_CF];
    if (r->seen[v]) {
        snprintf(err, errlen, "%s: line %ld: second %s row for input %lld target %lld", path,
                 line, VNAME[v], (long long)input, (long long)target);
        return -1;
    }
    if (any && (r->image != image || r->cls != cls || r->has_box != hb)) {
        snprintf(err, errlen, "%s: line %ld: input %lld target %lld disagrees with its other rows",
                 path, line, (long long)input, (long long)target);
        return -1;
    }
    r->seen[v] = 1;
    r->image = (int32_t)image;
    r->cls = (int32_t)cls;
    r->has_box = (uint8_t)hb;
    r->degenerate[v] = (uint8_t)dg;
    r->has_pred[v] = (uint8_t)has_pred;
    for (int k = 0; k < 4; k++)
        r->pred[v][k] = has_pred ? (int32_t)xy[k] : 0;
    r->iou[v] = iou;
    if (v == V_SIGNED)
        r->neg_other = neg;
    return 0;
}

static int read_csv(runcsv *rc, const char *path, char *err, size_t errlen)
{
    memset(rc, 0, sizeof *rc);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: -: cannot open: %s (--run must be a run's OUTDIR)", path,
                 strerror(errno));
        return -1;
    }
    char *line = NULL, *hdr[64], *f[64];
    size_t cap = 0;
    int rc_ = -1, col[NCOL];
    long lineno = 1;
    if (getline(&line, &cap, fp) < 0) {
        snprintf(err, errlen, "%s: -: empty or unreadable", path);
        goto done;
    }
    chomp(line);
    int ncols = split(line, hdr, 64);
    if (ncols > 64) {
        snprintf(err, errlen, "%s: line 1: %d columns (not a gradcam-study targets.csv)", path,
                 ncols);
        goto done;
    }
    for (int k = 0; k < NCOL; k++) {
        col[k] = -1;
        for (int j = 0; j < ncols; j++)
            if (!strcmp(hdr[j], COLNAME[k]))
                col[k] = j;
        if (col[k] < 0) {
            snprintf(err, errlen, "%s: line 1: no column '%s' (not a gradcam-study targets.csv)",
                     path, COLNAME[k]);
            goto done;
        }
    }
    errno = 0;
    while (getline(&line, &cap, fp) >= 0) {
        lineno++;
        chomp(line);
        if (!*line)
            continue;
        int nf = split(line, f, 64);
        if (nf != ncols) {
            snprintf(err, errlen, "%s: line %ld: %d fields, the header has %d", path, lineno, nf,
                     ncols);
            goto done;
        }
        if (csv_line(rc, f, col, path, lineno, err, errlen) < 0)
            goto done;
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: -: read failed: %s", path, strerror(errno));
        goto done;
    }
    if (rc->n == 0) {
        snprintf(err, errlen, "%s: -: no gradcam rows (a run limited with --variants?)", path);
        goto done;
    }
    rc_ = 0;
done:
    free(line);
    if (fclose(fp) != 0 && rc_ == 0) {
        snprintf(err, errlen, "%s: -: close failed: %s", path, strerror(errno));
        rc_ = -1;
    }
    if (rc_ < 0)
        runcsv_free(rc);
    return rc_;
}

/* The run's rows of one input must describe this file. */
static int check_input(const tinput *ti, const h5in_meta *m, int index, const char *csv,
                       char *err, size_t errlen)
{
    if (ti->n != m->T) {
        snprintf(err, errlen,
                 "%s: /targets/image: %lld targets, but %s has %lld for input %d "
                 "(not the input the run scored?)",
                 m->path, (long long)m->T, csv, (long long)ti->n, index);
        return -1;
    }
    for (int64_t t = 0; t < ti->n; t++) {
        const trow *r = &ti->r[t];
        for (int v = 0; v < NV; v++)
            if (!r->seen[v]) {
                snprintf(err, errlen,
                         "%s: -: input %d target %lld has no %s row (run limited with --variants?)",
                         csv, index, (long long)t, VNAME[v]);
                return -1;
            }
        if (r->image != m->timg[t] || r->cls != m->tcls[t]) {
            snprintf(err, errlen,
                     "%s: /targets: target %lld is image %d class %d here, image %d class %d in "
                     "%s (not the input the run scored?)",
                     m->path, (long long)t, m->timg[t], m->tcls[t], r->image, r->cls, csv);
            return -1;
        }
    }
    return 0;
}

/* ---- maps.h5 ----------------------------------------------------------------------- */

typedef struct {
    const char *path;
    hid_t fid, ds[NV];
    int64_t h, w;
} mapsfile;

static void maps_close(mapsfile *mf)
{
    for (int v = 0; v < NV; v++)
        if (mf->ds[v] >= 0)
            H5Dclose(mf->ds[v]);
    if (mf->fid >= 0)
        H5Fclose(mf->fid);
    mf->fid = H5I_INVALID_HID;
    for (int v = 0; v < NV; v++)
        mf->ds[v] = H5I_INVALID_HID;
}

static int maps_open(mapsfile *mf, const char *path, const h5in_meta *m, char *err,
                     size_t errlen)
{
    mf->path = path;
    mf->fid = H5I_INVALID_HID;
    mf->h = m->h;
    mf->w = m->w;
    for (int v = 0; v < NV; v++)
        mf->ds[v] = H5I_INVALID_HID;
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: -: cannot open: %s (run with --save-maps)", path,
                 strerror(errno));
        return -1;
    }
    if (H5Fis_hdf5(path) <= 0 || (mf->fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        snprintf(err, errlen, "%s: -: not a readable HDF5 file", path);
        return -1;
    }
    if (H5Lexists(mf->fid, "/maps", H5P_DEFAULT) <= 0) {
        snprintf(err, errlen, "%s: /maps: missing", path);
        goto bad;
    }
    for (int v = 0; v < NV; v++) {
        char name[64];
        snprintf(name, sizeof name, "/maps/%s", VNAME[v]);
        if (H5Lexists(mf->fid, name, H5P_DEFAULT) <= 0) {
            snprintf(err, errlen, "%s: %s: missing (run limited with --variants?)", path, name);
            goto bad;
        }
        mf->ds[v] = H5Dopen2(mf->fid, name, H5P_DEFAULT);
        if (mf->ds[v] < 0) {
            snprintf(err, errlen, "%s: %s: cannot open dataset", path, name);
            goto bad;
        }
        hid_t sp = H5Dget_space(mf->ds[v]), ty = H5Dget_type(mf->ds[v]);
        hsize_t d[3] = {0, 0, 0};
        int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        if (rank == 3)
            H5Sget_simple_extent_dims(sp, d, NULL);
        H5T_class_t cls = ty >= 0 ? H5Tget_class(ty) : H5T_NO_CLASS;
        if (sp >= 0)
            H5Sclose(sp);
        if (ty >= 0)
            H5Tclose(ty);
        if (rank != 3 || cls != H5T_FLOAT) {
            snprintf(err, errlen, "%s: %s: not a rank-3 float dataset", path, name);
            goto bad;
        }
        if ((int64_t)d[0] != m->T || (int64_t)d[1] != m->h || (int64_t)d[2] != m->w) {
            snprintf(err, errlen,
                     "%s: %s: shape [%llu, %llu, %llu], but %s has T=%lld, %lldx%lld "
                     "(not the input the run scored?)",
                     path, name, (unsigned long long)d[0], (unsigned long long)d[1],
                     (unsigned long long)d[2], m->path, (long long)m->T, (long long)m->h,
                     (long long)m->w);
            goto bad;
        }
    }
    return 0;
bad:
    maps_close(mf);
    return -1;
}

/* Map of target t, variant v into dst: (h, w). */
static int maps_read(const mapsfile *mf, int v, int64_t t, float *dst, char *err,
                     size_t errlen)
{
    hsize_t start[3] = {(hsize_t)t, 0, 0}, count[3] = {1, (hsize_t)mf->h, (hsize_t)mf->w};
    hsize_t total = count[1] * count[2];
    hid_t fs = H5Dget_space(mf->ds[v]);
    hid_t ms = H5Screate_simple(1, &total, NULL);
    int rc = 0;
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(mf->ds[v], H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, dst) < 0) {
        snprintf(err, errlen, "%s: /maps/%s: read of target %lld failed", mf->path, VNAME[v],
                 (long long)t);
        rc = -1;
    }
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    for (hsize_t i = 0; rc == 0 && i < total; i++)
        if (!isfinite(dst[i])) {
            snprintf(err, errlen, "%s: /maps/%s: target %lld has a non-finite value", mf->path,
                     VNAME[v], (long long)t);
            rc = -1;
        }
    return rc;
}

/* ---- rules -------------------------------------------------------------------------- */

/* Per target: sum max(-m, 0) / sum |m| of the gradcam-signed feature map (0
 * for an all-zero map). NULL with err set on failure. */
static double *negative_fractions(const mapsfile *mf, int64_t T, char *err, size_t errlen)
{
    double *fr = malloc(sizeof *fr * (size_t)(T ? T : 1));
    float *buf = malloc(sizeof *buf * (size_t)mf->h * (size_t)mf->w);
    if (!fr || !buf) {
        snprintf(err, errlen, "%s: -: out of memory", mf->path);
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
        for (int64_t i = 0; i < (int64_t)mf->h * mf->w; i++) {
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

typedef struct {
    int rule, rank;      /* rank: 1.. within the rule */
    int64_t t, pos, pool; /* pos: 1.. in the rule's sorted pool of `pool` targets */
    double key;
} pick;

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
static int select_targets(const tinput *ti, const double *negfrac, int per_rule, pick *picks,
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
            const trow *r = &ti->r[t];
            double k = rule == R_NEG ? r->neg_other * negfrac[t] : r->iou[V_GC];
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

/* ---- picture ------------------------------------------------------------------------ */

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

static void upper_ascii(char *s)
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

static int render_row(draw_canvas *c, int y, int pw, const pick *pk, const trow *r,
                      h5in *f, const h5in_meta *m, const mapsfile *mf, rowbuf *b, char *err,
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
    upper_ascii(cname);
    int xmax = c->w - MARGIN;
    int x = draw_text(c, MARGIN, y + 4, 2, C_RULE, RULE[pk->rule], xmax);
    snprintf(s, sizeof s, " %d  TARGET %lld  IMAGE %d  CLASS %d (%s)", pk->rank, (long long)pk->t,
             img, cls, cname);
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
            else if (isnan(r->neg_other))
                snprintf(s, sizeof s, "SIGNED  NEG-OTHER -");
            else
                snprintf(s, sizeof s, "SIGNED  NEG-OTHER %.3f", r->neg_other);
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
static int render(draw_canvas *cv, const char *title, const pick *picks, int np,
                  const tinput *ti, h5in *f, const mapsfile *mf, char *err, size_t errlen)
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

/* ---- command ------------------------------------------------------------------------- */

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "gradcam-study: gallery: %s%s\n", msg, arg);
    fputs(USAGE, stderr);
    return 2;
}

static void help(void)
{
    fputs(USAGE, stdout);
    fputs("\nOne PNG per input, DIR/gallery-STEM.png, showing targets picked by rule from\n"
          "RUNDIR (the OUTDIR of `gradcam-study run --save-maps` on the same inputs, in the\n"
          "same order): best = highest gradcam iou_max, worst = lowest (targets with a box\n"
          "and a non-degenerate map), negative = highest gradcam-signed neg_other.\n"
          "Each row: image | gradcam overlay | gradcam-signed (blue - white - red) |\n"
          "counterfactual overlay; target class boxes green, other classes orange dashed,\n"
          "predicted box cyan.\n\n"
          "  -o, --out DIR      output directory (created if needed)\n"
          "  --run RUNDIR       the run's output directory (targets.csv, maps*.h5)\n"
          "  --per-rule N       targets per rule, 1..20 (2)\n\n"
          "exit status: 0 ok, 1 bad input or failed write, 2 bad usage\n",
          stdout);
}

/* File name without directory and without a trailing ".h5". */
static void stem_of(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(out, n, "%s", b);
    size_t len = strlen(out);
    if (len > 3 && !strcmp(out + len - 3, ".h5"))
        out[len - 3] = 0;
}

/* "a/b" in a new allocation, or NULL. */
static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static const char *path_base(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* One input: validate against the run, pick, draw, write the PNG's temporary. */
static int one_input(od_set *od, const char *input, int index, const runcsv *rcsv,
                     const char *rundir, const char *csvpath, int per_rule, char *err,
                     size_t errlen)
{
    h5in *f = NULL;
    mapsfile mf = {.fid = H5I_INVALID_HID,
                   .ds = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID}};
    pick *picks = NULL;
    double *negfrac = NULL;
    draw_canvas cv = {NULL, 0, 0};
    int rc = -1;
    char stem[256], name[300], mname[32];
    stem_of(input, stem, sizeof stem);
    snprintf(name, sizeof name, "gallery-%s.png", stem);
    if (rcsv->n == 1)
        snprintf(mname, sizeof mname, "maps.h5");
    else
        snprintf(mname, sizeof mname, "maps-%d.h5", index);
    char *mpath = path_join(rundir, mname);
    if (!mpath) {
        snprintf(err, errlen, "%s: -: out of memory", rundir);
        goto done;
    }
    if (h5in_open(&f, input, err, errlen) < 0)
        goto done;
    const h5in_meta *m = h5in_meta_of(f);
    const tinput *ti = &rcsv->in[index];
    if (check_input(ti, m, index, csvpath, err, errlen) < 0 ||
        maps_open(&mf, mpath, m, err, errlen) < 0)
        goto done;
    negfrac = negative_fractions(&mf, ti->n, err, errlen);
    if (!negfrac)
        goto done;
    picks = malloc(sizeof *picks * NRULE * (size_t)per_rule);
    int got[NRULE];
    int np = picks ? select_targets(ti, negfrac, per_rule, picks, got) : -1;
    if (np < 0) {
        snprintf(err, errlen, "%s: -: out of memory", input);
        goto done;
    }
    if (!m->has_pixels)
        printf("%s: %s has no /images/pixels: the image panels are mid-gray\n", name, input);
    for (int i = 0; i < np; i++) {
        const pick *p = &picks[i];
        const trow *r = &ti->r[p->t];
        if (p->rule == R_NEG)
            printf("%s: negative %d: target %lld (image %d, class %d %s): gradcam-signed "
                   "neg_other x negative fraction %.6g, rank %lld of %lld, highest first, "
                   "among targets where it is defined\n",
                   name, p->rank, (long long)p->t, r->image, r->cls, m->classes[r->cls], p->key,
                   (long long)p->pos, (long long)p->pool);
        else
            printf("%s: %s %d: target %lld (image %d, class %d %s): gradcam iou_max %.6g, "
                   "rank %lld of %lld, %s first, among targets with a box and a "
                   "non-degenerate gradcam map\n",
                   name, RULE[p->rule], p->rank, (long long)p->t, r->image, r->cls,
                   m->classes[r->cls], p->key, (long long)p->pos, (long long)p->pool,
                   p->rule == R_BEST ? "highest" : "lowest");
    }
    for (int k = 0; k < NRULE; k++)
        if (got[k] < per_rule)
            printf("%s: %s: %d of %d (no more eligible targets not already shown)\n", name,
                   RULE[k], got[k], per_rule);
    char title[256];
    snprintf(title, sizeof title, "%.100s  BEST, WORST, NEGATIVE  (RUN %.100s)",
             path_base(input), path_base(rundir));
    upper_ascii(title);
    if (render(&cv, title, picks, np, ti, f, &mf, err, errlen) < 0)
        goto done;
    const char *tmp = od_add(od, name, err, errlen);
    if (!tmp || pngw_write_rgb(tmp, cv.px, cv.w, cv.h, err, errlen) < 0)
        goto done;
    printf("%s: %d rows, %dx%d pixels\n", name, np, cv.w, cv.h);
    rc = 0;
done:
    free(cv.px);
    free(picks);
    free(negfrac);
    free(mpath);
    maps_close(&mf);
    h5in_close(f);
    return rc;
}

int gallery_main(int argc, char **argv)
{
    const char *outdir = NULL, *rundir = NULL;
    long per_rule = 2;
    const char **inputs = calloc((size_t)(argc > 0 ? argc : 1), sizeof *inputs);
    int ninputs = 0;
    if (!inputs) {
        fputs("gradcam-study: gallery: out of memory\n", stderr);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help();
            free(inputs);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && has_val) {
            outdir = argv[++i];
        } else if (!strcmp(a, "--run") && has_val) {
            rundir = argv[++i];
        } else if (!strcmp(a, "--per-rule") && has_val) {
            int64_t v;
            if (parse_i64(argv[++i], 1, PER_RULE_MAX, &v) < 0) {
                free(inputs);
                return usage_error("--per-rule takes 1..20, not ", argv[i]);
            }
            per_rule = (long)v;
        } else if (a[0] == '-' && a[1] != 0) {
            free(inputs);
            return usage_error("unknown or incomplete option ", a);
        } else {
            inputs[ninputs++] = a;
        }
    }
    if (!outdir || !rundir || ninputs == 0) {
        free(inputs);
        return usage_error(!outdir ? "needs -o DIR" : !rundir ? "needs --run RUNDIR"
                                                               : "needs at least one INPUT.h5",
                           "");
    }
    for (int i = 0; i < ninputs; i++)
        for (int j = 0; j < i; j++) {
            char a[256], b[256];
            stem_of(inputs[i], a, sizeof a);
            stem_of(inputs[j], b, sizeof b);
            if (!strcmp(a, b)) {
                char png[300];
                snprintf(png, sizeof png, "gallery-%s.png", a);
                free(inputs);
                return usage_error("two inputs would both write ", png);
            }
        }

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char err[ERRLEN];
    char *csvpath = path_join(rundir, "targets.csv");
    runcsv rcsv;
    od_set od;
    int rc = 1, od_ok = 0;
    if (!csvpath) {
        snprintf(err, sizeof err, "%s: -: out of memory", rundir);
        free(inputs);
        fprintf(stderr, "gradcam-study: %s\n", err);
        return 1;
    }
    if (read_csv(&rcsv, csvpath, err, sizeof err) < 0)
        goto out_nocsv;
    if (rcsv.n != ninputs) {
        snprintf(err, sizeof err,
                 "%s: -: the run scored %d input%s, %d given (give the run's inputs, in order)",
                 csvpath, rcsv.n, rcsv.n == 1 ? "" : "s", ninputs);
        goto out;
    }
    if (od_init(&od, outdir, err, sizeof err) < 0)
        goto out;
    od_ok = 1;
    for (int i = 0; i < ninputs; i++)
        if (one_input(&od, inputs[i], i, &rcsv, rundir, csvpath, (int)per_rule, err,
                      sizeof err) < 0)
            goto out;
    if (fflush(stdout) != 0) {
        snprintf(err, sizeof err, "-: -: cannot write to stdout: %s", strerror(errno));
        goto out;
    }
    if (od_commit(&od, err, sizeof err) < 0)
        goto out;
    rc = 0;
out:
    runcsv_free(&rcsv);
out_nocsv:
    if (od_ok) {
        od_abort(&od); /* after a commit: the old directory; after a failure: the new one */
        od_free(&od);
    }
    if (rc != 0)
        fprintf(stderr, "gradcam-study: %s\n", err);
    free(csvpath);
    free(inputs);
    return rc;
}
