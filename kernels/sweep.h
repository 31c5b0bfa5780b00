/* sweep.h: connected components of a map at every threshold, in one pass (pure numerics). */
#ifndef SWEEP_H
#define SWEEP_H

#include <stddef.h>
#include <stdint.h>

/* Edge coordinates: pixel columns x0..x1-1, rows y0..y1-1; empty = all 0. */
typedef struct { int32_t x0, y0, x1, y1; } sw_box;

typedef struct {
    sw_box  largest;      /* box of the largest component (empty if no pixel passes) */
    int64_t largest_n;    /* its pixel count (0 if none) */
    double  iou_largest;  /* IoU of `largest` with the best gt box (0 if none / ngt == 0) */
    double  iou_any;      /* best IoU over all components x all gt boxes (0 if none) */
    int32_t ncomp;        /* number of components at this threshold */
} sw_level;

/* IoU of a pixel box with a gt box g = {x0, y0, x1, y1} in edge coordinates (floats):
   inter = max(0, min(b.x1, g.x1) - max(b.x0, g.x0)) * (same for y); union = area_b + area_g - inter;
   returns inter / union in double, 0 when union <= 0 or b is empty.
   A gt side with x1 < x0 counts as width 0 in area_g (its area is never negative). */
double sw_iou(const sw_box *b, const float *g);

/* Bytes of work sw_sweep needs; 0 when H < 1, W < 1, nthr < 0 or when
 * H * W > INT32_MAX (the caller must then not call sw_sweep). */
size_t sw_work_bytes(int H, int W, int nthr);

/* v: (H, W), thr: (nthr) ascending, gt: (ngt, 4) -> out: (nthr). work: sw_work_bytes() bytes
 * (4-byte aligned). At each threshold i the pixels with v >= thr[i] (NaN never) are split into
 * 8-connected components; out[i] describes them (largest by pixel count, ties to the component
 * whose first pixel in row-major order comes first). */
void sw_sweep(sw_level *out, const double *v, int H, int W, const double *thr, int nthr,
              const float *gt, int ngt, void *work);

/* Two sweeps of co-monotone maps in one pass: v2 must be a non-decreasing
 * function of v1 (v1[p] <= v1[q] implies v2[p] <= v2[q]), as two
 * normalisations of one map are. Then out1 is sw_sweep(v1, thr1) and out2
 * is sw_sweep(v2, thr2), exactly, for the cost of one union-find pass:
 * adding pixels from high to low is the same process for both, only the
 * moments at which it is read differ. n1, n2 >= 1.
 * work: sw_pair_work_bytes(H, W, n1, n2) bytes (0: sizes not supported). */
size_t sw_pair_work_bytes(int H, int W, int n1, int n2);
void sw_sweep_pair(sw_level *out1, const double *v1, const double *thr1, int n1,
                   sw_level *out2, const double *v2, const double *thr2, int n2,
                   int H, int W, const float *gt, int ngt, void *work);

/* Best IoU of box b over the ngt gt boxes (0 when ngt == 0). */
double sw_best_iou(const sw_box *b, const float *gt, int ngt);

/* ---- sweeps over byte levels (sweep_runs.c, sweep.c) ----------------------
 * key: (H, W), each in 0..nlev (1 <= nlev <= 255; larger keys count as nlev)
 * -> out: (nlev), out[j - 1] describes the set {key >= j} exactly as
 * sw_sweep describes {v >= thr[j - 1]}. */
enum { SW_AUTO = 0, SW_RUNS = 1, SW_PIXELS = 2, SW_LANES = 3 };

/* Runs of a level map: the sum over rows of the key's positive steps
 * (key[-1] = 0), which is the number of (row, level) runs sw_runs makes;
 * *maxkey (may be NULL) gets the largest key. */
int64_t sw_runs_count(const uint8_t *key, int H, int W, int *maxkey);

/* The row-run sweep with room for cap components (and cap runs in a row):
 * work sw_runs_work_bytes(H, W, cap) bytes; cap = sw_runs_count() + 1 always
 * suffices. Returns 0, or -1 on bad sizes, a key above nlev, or a map that
 * needs more room (out is then unspecified). */
size_t sw_runs_work_bytes(int H, int W, int64_t cap);
int sw_runs(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
            int ngt, int64_t cap, void *work);

/* The row-run sweep with the levels as vector lanes (sweep_lanes.c): the
 * same output as sw_runs, exactly, on any key map. work:
 * sw_lanes_work_bytes(H, W, nlev) bytes (0: sizes not supported); isa:
 * SW_ISA_AUTO, SW_ISA_SCALAR or SW_ISA_AVX2 (same results). Returns 0, or -1
 * on bad sizes, a key above nlev, more than 2 H W + 64 runs, or an isa the
 * CPU lacks (out is then unspecified). */
size_t sw_lanes_work_bytes(int H, int W, int nlev);
int sw_lanes(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
             int ngt, int isa, void *work);

/* A step of sw_lanes, exposed for its tests: the highest level l with two
 * or more runs of {k >= l} in the row k: (W), 0 when none, -1 when W < 1 or
 * the CPU lacks isa; *low (may be NULL) gets the lowest such level (0 when
 * none). pm: (W) scratch. Every isa gives the same answer (SW_ISA_SCALAR: a
 * plain loop; SW_ISA_AVX2, which SW_ISA_AUTO takes where the CPU has it:
 * prefix and suffix maxima 32 columns a step). */
int sw_two_run_level(const uint8_t *k, int W, uint8_t *pm, int isa, int *low);

/* One path on the same work buffer (sw_keys_work_bytes(H, W, nlev)):
 * SW_AUTO takes the runs when the map has at most two runs per pixel
 * (sw_runs_count), else the per-pixel union-find; SW_RUNS and SW_PIXELS
 * force one (for tests; SW_RUNS may refuse past two); SW_LANES takes
 * sw_lanes and, where it refuses, what SW_AUTO takes. Returns the path
 * taken, or -1 on bad sizes. */
size_t sw_keys_work_bytes(int H, int W, int nlev);
int sw_sweep_keys(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
                  int ngt, int path, void *work);

/* ---- both normalisations from the map itself (sweep_norm.c) ---------------
 * m: (H, W), mx > 0 its largest and mn < mx its smallest value (NaN aside),
 * thr1: (n1) and thr2: (n2) ascending, n1 + n2 <= 255 -> out1: (n1) equal to
 * sw_sweep(m / mx, thr1) and out2: (n2) equal to sw_sweep((m - mn) / (mx -
 * mn), thr2), bit for bit. work: sw_norms_work_bytes() bytes (0: sizes not
 * supported). path: as for sw_sweep_keys. Returns the path taken (SW_LANES,
 * SW_RUNS or SW_PIXELS), or -1 when the
 * premises fail (non-finite extremes or span, thresholds not ascending):
 * the caller then sweeps v1 and v2 with sw_sweep_pair. */
size_t sw_norms_work_bytes(int H, int W, int n1, int n2);

/* The per-pixel step of sw_sweep_norms, exposed for its tests: m: (n) ->
 * key: (n). With v = tab[(int)q], q = (m[p] - mn) * c, when 0 <= q < nb,
 * else v = 255 (NaN included): key[p] = v when v < 256; j + (m[p] >= u[j])
 * when v = 256 + j (a bin with one cut, u[j]; j <= 254); 255 when v >= 512
 * (a bin the caller counts exactly). tab: (nb) values >= 0, 1 <= nb <=
 * SW_LEVEL_BINS; u: the cuts, or NULL: then an entry in 256..511 gives 255
 * too (the caller resolves those pixels with the ones from 512 on).
 * isa: SW_ISA_AUTO (the widest the CPU has), or one path forced. Every path
 * gives the same bytes. Returns the path used, -1 when the CPU lacks the
 * one asked for or nb is out of range. */
enum { SW_LEVEL_BINS = 16384 };
enum { SW_ISA_AUTO = 0, SW_ISA_SCALAR = 1, SW_ISA_AVX2 = 2, SW_ISA_AVX512 = 3 };
int sw_isa_supported(int isa);
/* The widest instruction set sw_isa_supported admits from now on, process-
 * wide (default SW_ISA_AVX512: every one the CPU has). Set once at start-up,
 * before any thread runs (gradcam-study's GRADCAM_STUDY_ISA): it lets a run
 * on this CPU take the paths another CPU would, so that the suite can check
 * they give the same bytes end to end. */
void sw_isa_cap(int isa);
int sw_levels_lookup(uint8_t *key, const double *m, size_t n, double mn, double c,
                     const int32_t *tab, int nb, const double *u, int isa);
int sw_sweep_norms(sw_level *out1, const double *thr1, int n1, sw_level *out2,
                   const double *thr2, int n2, const double *m, int H, int W, double mx,
                   double mn, const float *gt, int ngt, int path, void *work);

/* Naive twin (test oracle): an independent row-major flood fill per threshold.
 * Same shapes. Returns 0, or -1 on allocation failure or bad sizes. */
int  sw_sweep_ref(sw_level *out, const double *v, int H, int W, const double *thr, int nthr,
                  const float *gt, int ngt);

#endif
