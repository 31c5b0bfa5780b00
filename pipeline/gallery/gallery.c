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
 * Files: gallery.c (this: the command, the run matching), select.c (the
 * rules), render.c (the picture), draw.c (drawing primitives), pngw.c (the
 * PNG writer); targets.csv and maps.h5 are read through output/'s readers.
 *
 * Thread safety: single-threaded (HDF5 and stdio on the main thread).
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/gallery/gallery.h"

#include "pipeline/common/args.h"
#include "pipeline/common/paths.h"
#include "pipeline/gallery/gallery_int.h"
#include "pipeline/gallery/pngw.h"
#include "pipeline/input/digest.h"
#include "pipeline/output/outdir.h"
#include "pipeline/output/summary.h"

#include <errno.h>
#include <getopt.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ERRLEN H5IN_ERRLEN

static const char USAGE[] =
    "usage: gradcam-study gallery -o DIR --run RUNDIR [--per-rule 2] INPUT.h5 [INPUT.h5 ...]\n";

/* The run's rows of one input must describe this file. */
static int check_input(const tcsv_input *ti, const h5in_meta *m, int index, const char *csv,
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
        const tcsv_row *r = &ti->r[t];
        for (int v = 0; v < NV; v++)
            if (!r->seen[v]) {
                snprintf(err, errlen,
                         "%s: -: input %d target %lld has no %s row (run limited with --variants?)",
                         csv, index, (long long)t, GAL_VNAME[v]);
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

/* ' "NAME"' of image i when the input names its images, else "". */
static const char *named(const h5in_meta *m, int i, char *buf, size_t n)
{
    if (!m->has_names)
        return "";
    snprintf(buf, n, " \"%s\"", m->names[i]);
    return buf;
}

/* One input: validate against the run, pick, draw, write the PNG's temporary. */
static int one_input(od_set *od, const char *input, int index, const tcsv_table *rcsv,
                     const char *rundir, const char *csvpath, int per_rule, char *err,
                     size_t errlen)
{
    h5in *f = NULL;
    maps_in *mf = NULL;
    pick *picks = NULL;
    double *negfrac = NULL;
    draw_canvas cv = {NULL, 0, 0};
    int rc = -1;
    char stem[256], name[300], mname[32];
    path_stem(input, stem, sizeof stem);
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
    const tcsv_input *ti = &rcsv->in[index];
    if (check_input(ti, m, index, csvpath, err, errlen) < 0 ||
        maps_open_read(&mf, mpath, GAL_VNAME, NV, m->T, m->h, m->w, m->path, err, errlen) < 0)
        goto done;
    negfrac = gal_negative_fractions(mf, ti->n, m->h, m->w, mpath, err, errlen);
    if (!negfrac)
        goto done;
    picks = malloc(sizeof *picks * NRULE * (size_t)per_rule);
    int got[NRULE];
    int np = picks ? gal_select(ti, negfrac, per_rule, picks, got) : -1;
    if (np < 0) {
        snprintf(err, errlen, "%s: -: out of memory", input);
        goto done;
    }
    if (!m->has_pixels)
        printf("%s: %s has no /images/pixels: the image panels are mid-gray\n", name, input);
    for (int i = 0; i < np; i++) {
        const pick *p = &picks[i];
        char q[4200];
        const tcsv_row *r = &ti->r[p->t];
        if (p->rule == R_NEG)
            printf("%s: negative %d: target %lld (image %d%s, class %d %s): gradcam-signed "
                   "neg_other x negative fraction %.6g, rank %lld of %lld, highest first, "
                   "among targets where it is defined\n",
                   name, p->rank, (long long)p->t, r->image, named(m, r->image, q, sizeof q),
                   r->cls, m->classes[r->cls], p->key, (long long)p->pos, (long long)p->pool);
        else
            printf("%s: %s %d: target %lld (image %d%s, class %d %s): gradcam iou_max %.6g, "
                   "rank %lld of %lld, %s first, among targets with a box and a "
                   "non-degenerate gradcam map\n",
                   name, GAL_RULE[p->rule], p->rank, (long long)p->t, r->image,
                   named(m, r->image, q, sizeof q), r->cls,
                   m->classes[r->cls], p->key, (long long)p->pos, (long long)p->pool,
                   p->rule == R_BEST ? "highest" : "lowest");
    }
    for (int k = 0; k < NRULE; k++)
        if (got[k] < per_rule)
            printf("%s: %s: %d of %d (no more eligible targets not already shown)\n", name,
                   GAL_RULE[k], got[k], per_rule);
    char title[256];
    snprintf(title, sizeof title, "%.100s  BEST, WORST, NEGATIVE  (RUN %.100s)",
             path_base(input), path_base(rundir));
    gal_upper_ascii(title);
    if (gal_render(&cv, title, picks, np, ti, f, mf, err, errlen) < 0)
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
    maps_close_read(mf);
    h5in_close(f);
    return rc;
}

/* 1 when two inputs would write the same PNG (its name into png[n]). */
static int same_stems(const char **inputs, int ninputs, char *png, size_t n)
{
    for (int i = 0; i < ninputs; i++)
        for (int j = 0; j < i; j++) {
            char a[256], b[256];
            path_stem(inputs[i], a, sizeof a);
            path_stem(inputs[j], b, sizeof b);
            if (!strcmp(a, b)) {
                snprintf(png, n, "gallery-%s.png", a);
                return 1;
            }
        }
    return 0;
}

/* The inputs must be the very files the run scored: each one's size and
 * SHA-256 against the provenance RUNDIR/summary.json records for it (read
 * through output/summary.c), in order. Shapes alone could match another
 * file's. 0, or -1 with err set. */
static int same_inputs(const char *rundir, const char **inputs, int ninputs, char *err,
                       size_t errlen)
{
    char *path = path_join(rundir, "summary.json");
    if (!path) {
        snprintf(err, errlen, "%s: -: out of memory", rundir);
        return -1;
    }
    json_t *doc = sum_read(path, err, errlen);
    int rc = doc ? 0 : -1;
    json_t *ins = doc ? sum_inputs(doc) : NULL;
    if (rc == 0 && (int)json_array_size(ins) != ninputs) {
        snprintf(err, errlen, "%s: inputs: the run scored %d input%s, %d given", path,
                 (int)json_array_size(ins), json_array_size(ins) == 1 ? "" : "s", ninputs);
        rc = -1;
    }
    sum_ck ck = {path, err, errlen, 0};
    for (int i = 0; rc == 0 && i < ninputs; i++) {
        char at[64], hex[65];
        snprintf(at, sizeof at, "inputs[%d]", i);
        json_t *prov = sum_obj(&ck, json_array_get(ins, (size_t)i), at, "provenance");
        snprintf(at, sizeof at, "inputs[%d].provenance", i);
        const char *want = sum_str(&ck, prov, at, "sha256");
        long bytes = sum_count(&ck, prov, at, "bytes");
        struct stat st;
        int64_t got_bytes = 0;
        if (ck.failed) {
            rc = -1;
        } else if (stat(inputs[i], &st) != 0) {
            snprintf(err, errlen, "%s: -: cannot open: %s", inputs[i], strerror(errno));
            rc = -1;
        } else if ((long)st.st_size != bytes ||
                   (dg_file_sha256(inputs[i], hex, &got_bytes, NULL, err, errlen) == 0 &&
                    strcmp(hex, want) != 0)) {
            snprintf(err, errlen,
                     "%s: -: its size or SHA-256 differs from what %s records for input %d "
                     "(not the input the run scored)", inputs[i], path, i);
            rc = -1;
        } else if (got_bytes == 0 && bytes != 0) {
            rc = -1; /* dg_file_sha256 failed: err is set */
        }
    }
    json_decref(doc);
    free(path);
    return rc;
}

int gallery_main(int argc, char **argv)
{
    const char *outdir = NULL, *rundir = NULL;
    long per_rule = 2;
    static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
                                         {"run", required_argument, NULL, 'r'},
                                         {"per-rule", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        if (c == 'h') {
            help();
            return 0;
        } else if (c == 'o') {
            outdir = optarg;
        } else if (c == 'r') {
            rundir = optarg;
        } else if (c == 'p') {
            if (arg_long(optarg, 1, PER_RULE_MAX, &per_rule) < 0) {
                    return usage_error("--per-rule takes 1..20, not ", optarg);
            }
        } else {
            char b[128];
            return usage_error("unknown or incomplete option ",
                               arg_refused(argv, optind, optopt, b, sizeof b));
        }
    }
    const char **inputs = (const char **)(argv + optind);
    int ninputs = argc - optind;
    if (!outdir || !rundir || ninputs == 0) {
        return usage_error(!outdir ? "needs -o DIR" : !rundir ? "needs --run RUNDIR"
                                                               : "needs at least one INPUT.h5",
                           "");
    }
    char png[300];
    if (same_stems(inputs, ninputs, png, sizeof png)) {
        return usage_error("two inputs would both write ", png);
    }

    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char err[ERRLEN];
    char *csvpath = path_join(rundir, "targets.csv");
    tcsv_table rcsv;
    od_set od;
    int rc = 1, od_ok = 0;
    if (!csvpath) {
        snprintf(err, sizeof err, "%s: -: out of memory", rundir);
        fprintf(stderr, "gradcam-study: %s\n", err);
        return 1;
    }
    if (tcsv_read(&rcsv, csvpath, GAL_VNAME, NV, err, sizeof err) < 0)
        goto out_nocsv;
    if (rcsv.n != ninputs) {
        snprintf(err, sizeof err,
                 "%s: -: the run scored %d input%s, %d given (give the run's inputs, in order)",
                 csvpath, rcsv.n, rcsv.n == 1 ? "" : "s", ninputs);
        goto out;
    }
    if (same_inputs(rundir, inputs, ninputs, err, sizeof err) < 0)
        goto out;
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
    tcsv_free(&rcsv);
out_nocsv:
    if (od_ok) {
        od_abort(&od); /* after a commit: the old directory; after a failure: the new one */
        od_free(&od);
    }
    if (rc != 0)
        fprintf(stderr, "gradcam-study: %s\n", err);
    free(csvpath);
    return rc;
}
