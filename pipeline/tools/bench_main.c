/* bench_main.c: gradcam-bench, the measuring tools behind `make bench`.
 *
 * DESIGN
 * Two subcommands, each printing one JSON object on stdout:
 *   read FILE [--batch-mib M]
 *       The raw-read roofline: every byte of /activations and
 *       /targets/gradients read with the HDF5 C library, in row batches of
 *       about M MiB (default 64, the engine's batch size), in the file's own
 *       type (float16 stays raw), into one reused buffer, and nothing else:
 *       no validation, no conversion, no finiteness check. The engine cannot
 *       beat this on the same machine and cache state.
 *   kernels FILE [--targets N] [--reps R] [--need MASK]
 *       Per-stage costs of the engine's own kernels on the file's first N
 *       targets (default 200): cam_maps (all variants, ns per input element
 *       of A and G), sgn_tables, one bilinear upsampling pass to the frame,
 *       the 100-threshold union-find sweep (sw_sweep), the naive
 *       per-threshold flood fill it replaces (sw_sweep_ref, on a few maps),
 *       and the whole loc_eval (both norms, pointing, energy, evidence), in
 *       ns per image pixel; the sweep of both normalisations as the engine
 *       runs it (sw_sweep_norms, from the map) and as it ran before (v1 and
 *       v2 formed, sw_sweep_pair), on the Grad-CAM and on the signed maps,
 *       and on the lanes path (SW_LANES, kernels/sweep_lanes.c) loc_eval takes;
 *       and cam_maps_sel with Grad-CAM alone (or the
 *       variant mask given by --need, bit v = variant v of kernels/cam.h). One thread; best of R repetitions.
 * The file is read through h5in (the engine's loader) for `kernels`; `read`
 * uses raw HDF5 on purpose, so that it measures the library alone.
 *
 * Thread safety: single-threaded tool.
 */
#define _POSIX_C_SOURCE 200809L
#include "analysis/loc.h"
#include "analysis/sign.h"
#include "kernels/cam.h"
#include "kernels/sweep.h"
#include "kernels/upsample.h"
#include "pipeline/common/args.h"
#include "pipeline/common/bigbuf.h"
#include "pipeline/common/timer.h"
#include "pipeline/input/h5in.h"

#include <getopt.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int die(const char *path, const char *what, const char *msg)
{
    fprintf(stderr, "gradcam-bench: %s: %s: %s\n", path, what, msg);
    return 1;
}

/* Reads every row of dataset `name` in batches of `rows` rows; adds bytes. */
static int read_all(hid_t fid, const char *path, const char *name, void *buf, size_t bufbytes,
                    int64_t *bytes)
{
    hid_t d = H5Dopen2(fid, name, H5P_DEFAULT);
    if (d < 0)
        return die(path, name, "cannot open");
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    hsize_t dims[8];
    int r = H5Sget_simple_extent_ndims(s);
    if (r < 1 || r > 8 || H5Sget_simple_extent_dims(s, dims, NULL) < 0) {
        H5Sclose(s); H5Tclose(t); H5Dclose(d);
        return die(path, name, "bad rank");
    }
    size_t esz = H5Tget_size(t), row = esz;
    for (int i = 1; i < r; i++)
        row *= (size_t)dims[i];
    hid_t mt = esz == 2 ? H5Tcopy(H5T_NATIVE_USHORT) : H5Tcopy(H5T_NATIVE_FLOAT);
    hsize_t per = bufbytes / row ? bufbytes / row : 1;
    int rc = 0;
    for (hsize_t r0 = 0; r0 < dims[0] && rc == 0; r0 += per) {
        hsize_t n = dims[0] - r0 < per ? dims[0] - r0 : per;
        hsize_t start[8] = {r0}, count[8];
        count[0] = n;
        for (int i = 1; i < r; i++)
            count[i] = dims[i];
        hid_t ms = H5Screate_simple(r, count, NULL);
        if (H5Sselect_hyperslab(s, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(d, mt, ms, s, H5P_DEFAULT, buf) < 0)
            rc = die(path, name, "read failed");
        H5Sclose(ms);
        *bytes += (int64_t)(n * row);
    }
    H5Tclose(mt);
    H5Sclose(s);
    H5Tclose(t);
    H5Dclose(d);
    return rc;
}

static int cmd_read(int argc, char **argv)
{
    double mib = 64;
    static const struct option opts[] = {{"batch-mib", required_argument, NULL, 'b'},
                                         {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1)
        if (c != 'b' || arg_double(optarg, &mib) < 0 || !(mib > 0) || mib > 1e6) {
            fprintf(stderr, "usage: gradcam-bench read FILE [--batch-mib M]\n");
            return 2;
        }
    if (argc - optind != 1) {
        fprintf(stderr, "usage: gradcam-bench read FILE [--batch-mib M]\n");
        return 2;
    }
    const char *path = argv[optind];
    size_t cap = (size_t)(mib * 1048576.0);
    /* one row of the biggest dataset fits too; on huge pages, as the
       engine's batch buffers are (a roofline must not pay page faults the
       engine does not) */
    void *buf = bb_alloc(cap + 1048576 * 8);
    if (!buf)
        return die(path, "-", "out of memory");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    double t0 = tm_now_s();
    hid_t fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fid < 0) {
        free(buf);
        return die(path, "-", "HDF5 cannot open it");
    }
    int64_t bytes = 0;
    int rc = read_all(fid, path, "/activations", buf, cap, &bytes);
    if (rc == 0)
        rc = read_all(fid, path, "/targets/gradients", buf, cap, &bytes);
    H5Fclose(fid);
    double dt = tm_now_s() - t0;
    free(buf);
    if (rc)
        return rc;
    printf("{\"file\": \"%s\", \"bytes\": %lld, \"seconds\": %.6f, \"mib_per_s\": %.3f}\n", path,
           (long long)bytes, dt, (double)bytes / 1048576.0 / dt);
    return 0;
}

/* The 100 thresholds k / 100 of the map's maximum (the `max` norm's grid). */
static void max_grid(double *thr, const double *u, size_t n)
{
    double mx = 0;
    for (size_t p = 0; p < n; p++)
        if (u[p] > mx) mx = u[p];
    for (int k = 0; k < LOC_NTHR; k++)
        thr[k] = mx * k / 100.0;
}

/* Both normalisations of every map of up (T maps, stride npmax), swept the
 * engine's way (sw_sweep_norms from m) when `fast`, else the previous way
 * (v1 and v2 formed, then sw_sweep_pair). Seconds; *runs counts the maps
 * that took the row-run path. */
static double time_norms(const double *up, int64_t T, size_t npmax, const h5in_meta *m,
                         int fast, double *v1, double *v2, void *work, int64_t *runs)
{
    double thr[LOC_NTHR];
    sw_level a[LOC_NTHR], b[LOC_NTHR];
    for (int k = 0; k < LOC_NTHR; k++)
        thr[k] = k / 100.0;
    *runs = 0;
    /* the extremes come from loc_eval's first pass (kernels/mapscan.c) in
       the engine, before the sweep: found here before the clock starts,
       so the figure is the sweep's alone */
    double *ext = malloc(2 * (size_t)(T > 0 ? T : 1) * sizeof(double));
    if (!ext) {
        fprintf(stderr, "gradcam-bench: kernels: out of memory for %lld targets' extremes\n",
                (long long)T);
        exit(1);
    }
    for (int64_t t = 0; t < T; t++) {
        int64_t i = m->timg[t];
        size_t n = (size_t)m->size[2 * i] * (size_t)m->size[2 * i + 1];
        const double *u = up + (size_t)t * npmax;
        double mx = u[0], mn = u[0];
        for (size_t p = 0; p < n; p++) {
            if (u[p] > mx) mx = u[p];
            if (u[p] < mn) mn = u[p];
        }
        ext[2 * t] = mx;
        ext[2 * t + 1] = mn;
    }
    double t0 = tm_now_s();
    for (int64_t t = 0; t < T; t++) {
        int64_t i = m->timg[t];
        int H = m->size[2 * i], W = m->size[2 * i + 1];
        size_t n = (size_t)H * (size_t)W;
        const double *u = up + (size_t)t * npmax;
        double mx = ext[2 * t], mn = ext[2 * t + 1];
        if (!(mx > 0.0) || mx == mn)
            continue;
        const float *gt = m->bxyxy + 4 * m->bfirst[i];
        int ngt = m->bfirst[i + 1] > m->bfirst[i] ? 1 : 0;
        if (fast) {
            int used = sw_sweep_norms(a, thr, LOC_NTHR, b, thr, LOC_NTHR, u, H, W, mx, mn, gt,
                                      ngt, fast == 2 ? SW_LANES : SW_AUTO, work);
            *runs += used == (fast == 2 ? SW_LANES : SW_RUNS);
        } else {
            double span = mx - mn;
            for (size_t p = 0; p < n; p++) {
                v1[p] = u[p] / mx;
                v2[p] = (u[p] - mn) / span;
            }
            sw_sweep_pair(a, v1, thr, LOC_NTHR, b, v2, thr, LOC_NTHR, H, W, gt, ngt, work);
        }
    }
    double dt = tm_now_s() - t0;
    free(ext);
    return dt;
}

/* What cmd_kernels works on: the first T targets' inputs and every buffer. */
typedef struct {
    const h5in_meta *m;
    int64_t T, nimg, npix;
    int K, h, w, hw, maxH, maxW;
    size_t khw, npmax;
    float *A, *G, *maps;
    double *weights, *cw, *up, *ups2, *v1, *v2;
    uint8_t *region, *tm, *om;
    void *sgw, *nw, *uw, *sw, *lw;
    sw_level *lev;
} kbench;

static void kb_free(kbench *b)
{
    free(b->A); free(b->G); free(b->maps); free(b->weights); free(b->cw); free(b->region);
    free(b->up); free(b->uw); free(b->sw); free(b->lw); free(b->tm); free(b->om); free(b->lev);
    free(b->sgw); free(b->ups2); free(b->v1); free(b->v2); free(b->nw);
}

/* Sizes and buffers for the first `want` targets of m; 0 or -1 (out of memory). */
static int kb_alloc(kbench *b, const h5in_meta *m, int64_t want)
{
    memset(b, 0, sizeof *b);
    b->m = m;
    b->K = (int)m->K, b->h = (int)m->h, b->w = (int)m->w, b->hw = b->h * b->w;
    b->T = m->T < want ? m->T : want;
    b->nimg = m->timg[b->T - 1] + 1;
    b->khw = (size_t)b->K * (size_t)b->hw;
    for (int64_t t = 0; t < b->T; t++) {
        int64_t i = m->timg[t];
        if (m->size[2 * i] > b->maxH) b->maxH = m->size[2 * i];
        if (m->size[2 * i + 1] > b->maxW) b->maxW = m->size[2 * i + 1];
        b->npix += (int64_t)m->size[2 * i] * m->size[2 * i + 1];
    }
    int maxH = b->maxH, maxW = b->maxW;
    b->npmax = (size_t)maxH * (size_t)maxW;
    b->A = malloc((size_t)b->nimg * b->khw * sizeof(float));
    b->G = malloc((size_t)b->T * b->khw * sizeof(float));
    b->maps = malloc((size_t)b->T * CAM_NMAPS * (size_t)b->hw * sizeof(float));
    b->weights = malloc((size_t)CAM_NW * (size_t)b->K * sizeof(double));
    b->cw = malloc(cam_work_doubles(b->K, b->hw) * sizeof(double));
    b->region = calloc((size_t)b->hw, 1);
    b->sgw = malloc(sgn_work_bytes(b->hw));
    b->up = malloc((size_t)b->T * b->npmax * sizeof(double));
    b->ups2 = malloc((size_t)b->T * b->npmax * sizeof(double)); /* the signed maps */
    b->v1 = malloc(b->npmax * sizeof(double));
    b->v2 = malloc(b->npmax * sizeof(double));
    size_t nwb = sw_norms_work_bytes(maxH, maxW, LOC_NTHR, LOC_NTHR);
    size_t pwb = sw_pair_work_bytes(maxH, maxW, LOC_NTHR, LOC_NTHR);
    b->nw = malloc(nwb > pwb ? nwb : pwb);
    b->uw = malloc(ups_work_bytes(b->h, b->w, maxH, maxW));
    b->sw = malloc(sw_work_bytes(maxH, maxW, LOC_NTHR));
    b->lw = malloc(loc_work_bytes(maxH, maxW));
    b->tm = malloc(b->npmax);
    b->om = malloc(b->npmax);
    b->lev = malloc(LOC_NTHR * sizeof(sw_level));
    return b->A && b->G && b->maps && b->weights && b->cw && b->region && b->up && b->uw &&
                   b->sw && b->lw && b->tm && b->om && b->lev && b->sgw && b->ups2 && b->v1 &&
                   b->v2 && b->nw
               ? 0 : -1;
}

enum { KB_NSTAGE = 13 };

/* One repetition of every timed stage into d (seconds); counts the maps that
 * took the fast paths; *npix_ref: pixels the naive twin swept. */
static void kb_rep(kbench *b, unsigned need, double d[KB_NSTAGE], int64_t runs[4],
                   int64_t *npix_ref, volatile double *sink)
{
    const h5in_meta *m = b->m;
    int64_t T = b->T, nref = T < 5 ? T : 5;
    int K = b->K, h = b->h, w = b->w, hw = b->hw;
    size_t khw = b->khw, npmax = b->npmax;
    double t0 = tm_now_s();
    for (int64_t t = 0; t < T; t++)
        cam_maps(b->maps + (size_t)t * CAM_NMAPS * hw, b->weights,
                 b->A + (size_t)m->timg[t] * khw, b->G + (size_t)t * khw, NULL, K, hw, b->cw);
    double t1 = tm_now_s();
    sgn_table st[2];
    for (int64_t t = 0; t < T; t++)
        sgn_tables(&st[0], &st[1], b->A + (size_t)m->timg[t] * khw, b->G + (size_t)t * khw,
                   b->weights, b->region, K, hw, b->sgw);
    *sink += st[0].s[0][0];
    double t2 = tm_now_s();
    for (int64_t t = 0; t < T; t++) {
        int64_t i = m->timg[t];
        ups_bilinear(b->up + (size_t)t * npmax, b->maps + (size_t)t * CAM_NMAPS * hw, h, w,
                     m->size[2 * i], m->size[2 * i + 1], b->uw);
    }
    double t3 = tm_now_s();
    double thr[LOC_NTHR];
    for (int64_t t = 0; t < T; t++) {
        int64_t i = m->timg[t];
        int H = m->size[2 * i], W = m->size[2 * i + 1];
        const double *u = b->up + (size_t)t * npmax;
        max_grid(thr, u, (size_t)H * (size_t)W);
        sw_sweep(b->lev, u, H, W, thr, LOC_NTHR, m->bxyxy + 4 * m->bfirst[i], 1, b->sw);
        *sink += b->lev[15].iou_largest;
    }
    double t4 = tm_now_s();
    loc_params lp = {0.15, 15};
    for (int64_t t = 0; t < T; t++) {
        int64_t i = m->timg[t];
        int H = m->size[2 * i], W = m->size[2 * i + 1];
        int64_t b0 = m->bfirst[i], nb = m->bfirst[i + 1] - b0;
        loc_masks(b->tm, b->om, H, W, m->bxyxy + 4 * b0, m->bcls + b0, (int)nb, m->tcls[t]);
        loc_result lr;
        loc_eval(&lr, b->up + (size_t)t * npmax, H, W, m->bxyxy + 4 * b0, nb > 0 ? 1 : 0, b->tm,
                 b->om, &lp, b->lw);
        *sink += lr.energy;
    }
    double t5 = tm_now_s();
    *npix_ref = 0;
    for (int64_t t = 0; t < nref; t++) {
        int64_t i = m->timg[t];
        int H = m->size[2 * i], W = m->size[2 * i + 1];
        const double *u = b->up + (size_t)t * npmax;
        max_grid(thr, u, (size_t)H * (size_t)W);
        sw_sweep_ref(b->lev, u, H, W, thr, LOC_NTHR, m->bxyxy + 4 * m->bfirst[i], 1);
        *npix_ref += (int64_t)H * W;
    }
    double t6 = tm_now_s();
    for (int64_t t = 0; t < T; t++)
        cam_maps_sel(b->maps + (size_t)t * CAM_NMAPS * hw, b->weights,
                     b->A + (size_t)m->timg[t] * khw, b->G + (size_t)t * khw, NULL, K, hw,
                     b->cw, need);
    double t7 = tm_now_s();
    for (int64_t t = 0; t < T; t++) {
        int64_t i = m->timg[t];
        ups_bilinear(b->ups2 + (size_t)t * npmax,
                     b->maps + ((size_t)t * CAM_NMAPS + CAM_SIGNED) * hw, h, w, m->size[2 * i],
                     m->size[2 * i + 1], b->uw);
    }
    double e[KB_NSTAGE] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6,
                           time_norms(b->up, T, npmax, m, 0, b->v1, b->v2, b->nw, &runs[0]),
                           time_norms(b->ups2, T, npmax, m, 0, b->v1, b->v2, b->nw, &runs[1]),
                           time_norms(b->up, T, npmax, m, 1, b->v1, b->v2, b->nw, &runs[0]),
                           time_norms(b->ups2, T, npmax, m, 1, b->v1, b->v2, b->nw, &runs[1]),
                           time_norms(b->up, T, npmax, m, 2, b->v1, b->v2, b->nw, &runs[2]),
                           time_norms(b->ups2, T, npmax, m, 2, b->v1, b->v2, b->nw, &runs[3])};
    memcpy(d, e, sizeof e);
}

static void kb_print(const char *path, const kbench *b, int reps, const double *best,
                     const int64_t runs[4], int64_t npix_ref)
{
    double elems = 2.0 * (double)b->T * (double)b->khw, T = (double)b->T;
    double npix = (double)b->npix;
    printf("{\"file\": \"%s\", \"targets\": %lld, \"K\": %d, \"h\": %d, \"w\": %d, "
           "\"pixels\": %lld, \"reps\": %d,\n"
           " \"cam_maps_ns_per_element\": %.4f, \"sign_tables_ns_per_element\": %.4f,\n"
           " \"cam_maps_us_per_target\": %.3f, \"sign_tables_us_per_target\": %.3f,\n"
           " \"upsample_ns_per_px\": %.4f, \"sweep_ns_per_px\": %.4f, "
           "\"loc_eval_ns_per_px\": %.4f, \"sweep_ref_ns_per_px\": %.4f, "
           "\"sweep_ref_pixels\": %lld,\n"
           " \"cam_gradcam_only_us_per_target\": %.3f,\n"
           " \"pair_prev_gradcam_ns_per_px\": %.4f, \"pair_prev_signed_ns_per_px\": %.4f,\n"
           " \"norms_runs_gradcam_ns_per_px\": %.4f, \"norms_runs_signed_ns_per_px\": %.4f,\n"
           " \"norms_gradcam_run_path_share\": %.4f, \"norms_signed_run_path_share\": %.4f,\n",
           path, (long long)b->T, b->K, b->h, b->w, (long long)b->npix, reps,
           best[0] * 1e9 / elems, best[1] * 1e9 / elems, best[0] * 1e6 / T, best[1] * 1e6 / T,
           best[2] * 1e9 / npix, best[3] * 1e9 / npix, best[4] * 1e9 / npix,
           best[5] * 1e9 / (double)npix_ref, (long long)npix_ref, best[6] * 1e6 / T,
           best[7] * 1e9 / npix, best[8] * 1e9 / npix, best[9] * 1e9 / npix,
           best[10] * 1e9 / npix, (double)runs[0] / T, (double)runs[1] / T);
    /* the engine's sweep of both norms: the lanes path (kernels/sweep_lanes.c), as
       loc_eval runs it; norms_runs_* above is the row-run path it replaced */
    printf(" \"norms_gradcam_ns_per_px\": %.4f, \"norms_signed_ns_per_px\": %.4f,\n"
           " \"norms_lanes_gradcam_path_share\": %.4f, \"norms_lanes_signed_path_share\": %.4f}\n",
           best[11] * 1e9 / npix, best[12] * 1e9 / npix, (double)runs[2] / T,
           (double)runs[3] / T);
}

static const char KUSAGE[] =
    "usage: gradcam-bench kernels FILE [--targets N] [--reps R] [--need MASK]\n";

static int cmd_kernels(int argc, char **argv)
{
    long want = 200, reps = 3, need = CAM_BIT(CAM_GRADCAM);
    static const struct option opts[] = {{"targets", required_argument, NULL, 't'},
                                         {"reps", required_argument, NULL, 'r'},
                                         {"need", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        char buf[128];
        int bad = c == '?' || c == ':' ||
                  (c == 't' && arg_long(optarg, 1, 1L << 40, &want) < 0) ||
                  (c == 'r' && arg_long(optarg, 1, 1000000, &reps) < 0) ||
                  (c == 'n' && arg_long(optarg, 1, (long)CAM_ALL, &need) < 0);
        if (bad) {
            fprintf(stderr, "gradcam-bench: kernels: %s: bad or incomplete option\n%s",
                    c == '?' || c == ':' ? arg_refused(argv, optind, optopt, buf, sizeof buf)
                                         : argv[optind - 2 >= 0 ? optind - 2 : 0],
                    KUSAGE);
            return 2;
        }
    }
    if (argc - optind != 1) {
        fputs(KUSAGE, stderr);
        return 2;
    }
    const char *path = argv[optind];
    h5in *f;
    char err[H5IN_ERRLEN];
    if (h5in_open(&f, path, err, sizeof err) != 0) {
        fprintf(stderr, "gradcam-bench: %s\n", err);
        return 1;
    }
    kbench b;
    int rc = 1;
    if (kb_alloc(&b, h5in_meta_of(f), want) < 0) {
        fprintf(stderr, "gradcam-bench: %s: -: out of memory for %lld targets\n", path,
                (long long)b.T);
    } else if (h5in_read_acts(f, b.A, 0, b.nimg, err, sizeof err) < 0 ||
               h5in_read_grads(f, b.G, 0, b.T, err, sizeof err) < 0) {
        fprintf(stderr, "gradcam-bench: %s\n", err);
    } else {
        double best[KB_NSTAGE], d[KB_NSTAGE];
        int64_t runs[4] = {0, 0, 0, 0}, npix_ref = 0;
        volatile double sink = 0;
        for (int s = 0; s < KB_NSTAGE; s++)
            best[s] = 1e300;
        for (long r = 0; r < reps; r++) {
            kb_rep(&b, (unsigned)need, d, runs, &npix_ref, &sink);
            for (int s = 0; s < KB_NSTAGE; s++)
                if (d[s] < best[s]) best[s] = d[s];
        }
        kb_print(path, &b, (int)reps, best, runs, npix_ref);
        rc = 0;
    }
    kb_free(&b);
    h5in_close(f);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "read") == 0)
        return cmd_read(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "kernels") == 0)
        return cmd_kernels(argc - 1, argv + 1);
    fprintf(stderr, "usage: gradcam-bench read FILE [--batch-mib M]\n%s", KUSAGE);
    return 2;
}
