/* fuzz_h5in.c: libFuzzer harness for the loader and validator (pipeline/input/h5in.c and its siblings).
 *
 * Each input is opened as an in-memory HDF5 file image and validated exactly
 * as `gradcam-study check` does: every small dataset, then (when the
 * declared shapes are small enough for a fuzzing iteration) every
 * activation, gradient and saliency value. Any crash, sanitizer report or
 * leak is a finding; a refused file is the expected outcome. Build and run:
 * `make fuzz FUZZ_SECONDS=1800` (README). */
#include <stdint.h>
#include <stdlib.h>

#include "pipeline/input/h5in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    h5in *f;
    char err[H5IN_ERRLEN];
    h5in_set_watchdog(0); /* libFuzzer's -timeout reports hangs itself */
    if (h5in_open_image(&f, data, size, "fuzz.h5", err, sizeof err) != 0)
        return 0;
    const h5in_meta *m = h5in_meta_of(f);
    int64_t khw = m->K * m->h * m->w;
    if (khw <= (1 << 16) && m->N <= 256 && m->T <= 1024) {
        float *buf = malloc((size_t)khw * sizeof(float));
        for (int64_t i = 0; buf && i < m->N; i++)
            if (h5in_read_acts(f, buf, i, 1, err, sizeof err) != 0)
                break;
        for (int64_t t = 0; buf && t < m->T; t++)
            if (h5in_read_grads(f, buf, t, 1, err, sizeof err) != 0)
                break;
        free(buf);
        if (m->has_saliency && m->sal_h * m->sal_w <= (1 << 20)) {
            float *s = malloc((size_t)(m->sal_h * m->sal_w) * sizeof(float));
            for (int64_t t = 0; s && t < m->T; t++)
                if (h5in_read_saliency(f, s, t, 1, err, sizeof err) != 0)
                    break;
            free(s);
        }
    }
    h5in_close(f);
    return 0;
}
