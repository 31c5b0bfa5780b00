/* sweep_keys.c: the sweep of a byte-level map by whichever exact path fits
 * it (sw_sweep_keys): the lane sweep (sweep_lanes.c), the row-run sweep
 * (sweep_runs.c) or the per-pixel union-find (sweep.c).
 *
 * DESIGN
 * Every path gives the same sw_level tables (tests/test_sweep.c checks each
 * against the naive twin and the others); they differ in what they cost
 * on a map: the row paths a few ns per run, the pixel path a constant
 * ~18 ns per pixel. A path that runs out of room refuses before writing
 * anything that matters, and the next one takes the map. Pure; the caller
 * owns the work buffer (sw_keys_work_bytes). Its own file so that the
 * paths do not depend on each other (no file-level cycle).
 */
#include "kernels/sweep.h"
#include "kernels/sweep_int.h"

#include <stddef.h>
#include <stdint.h>

/* Runs per pixel up to which the row-run path is taken: it costs a few ns a
 * run, the pixel path about 18 ns a pixel (README, Benchmark), so the
 * break-even sits past one run per pixel; the bench's upsampled maps have
 * 0.1-0.4, noise up to ~100 (one per level step). */
static int64_t runs_cap(int H, int W)
{
    return (int64_t)((size_t)H * (size_t)W * 2) + 64;
}

size_t sw_keys_work_bytes(int H, int W, int nlev)
{
    size_t a = sw_work_bytes(H, W, nlev), b = sw_runs_work_bytes(H, W, runs_cap(H, W));
    size_t c = sw_lanes_work_bytes(H, W, nlev);
    if (a == 0 || b == 0 || c == 0 || nlev < 1 || nlev > 255)
        return 0;
    a = a > b ? a : b;
    return a > c ? a : c;
}

int sw_sweep_keys(sw_level *out, const uint8_t *key, int H, int W, int nlev, const float *gt,
                  int ngt, int path, void *work)
{
    if (sw_keys_work_bytes(H, W, nlev) == 0)
        return -1;
    if (path == SW_LANES) {
        if (sw_lanes(out, key, H, W, nlev, gt, ngt, SW_ISA_AUTO, work) == 0)
            return SW_LANES;
        path = SW_AUTO;
    }
    if (path != SW_PIXELS) {
        int64_t cap = runs_cap(H, W);
        if (path == SW_RUNS || sw_runs_count(key, H, W, NULL) <= cap) {
            if (sw_runs(out, key, H, W, nlev, gt, ngt, cap, work) == 0)
                return SW_RUNS;
            if (path == SW_RUNS)
                return -1;
        }
    }
    sw_pixels_keys(out, key, H, W, nlev, gt, ngt, work);
    return SW_PIXELS;
}
