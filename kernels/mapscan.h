/* mapscan.h: one pass over an image-resolution map: its extremes, first
 * argmax and the positive / negative masses inside two pixel masks (the
 * first pass of analysis/loc.c's loc_eval). Pure numerics. */
#ifndef MAPSCAN_H
#define MAPSCAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double mx, mn;     /* largest and smallest value, NaN ignored unless m[0] is NaN */
    size_t arg;        /* first index of the largest value (0 when m[0] is NaN) */
    double pos, neg;   /* sum of the x > 0, sum of -x over the x < 0 */
    double pos_in;     /* sum of the x > 0 with tmask != 0 */
    double pos_oth;    /* sum of the x > 0 with omask != 0 */
    double neg_oth;    /* sum of -x over the x < 0 with omask != 0 */
    size_t n_oth;      /* sum of the omask bytes */
} ms_stats;

/* m: (n) doubles, tmask: (n), omask: (n) bytes -> s. Every sum is in index
 * order, one term after the other (the bytes of ms_scan_ref, whatever the
 * path). isa: SW_ISA_AUTO, SW_ISA_SCALAR or SW_ISA_AVX512 (kernels/sweep.h).
 * n = 0 gives zeros and mx = mn = 0. Returns the path used, or -1 when the
 * CPU lacks the one asked for (s then unspecified). */
int ms_scan(ms_stats *s, const double *m, const uint8_t *tmask, const uint8_t *omask, size_t n,
            int isa);

/* Naive twin (test oracle): one pixel at a time, with branches. */
void ms_scan_ref(ms_stats *s, const double *m, const uint8_t *tmask, const uint8_t *omask,
                 size_t n);

#endif
