/* check.c: the `check` command: validate one file against schema v1
 * and print a one-screen summary.
 *
 * DESIGN
 * h5in_open (input/h5in.c) validates everything small and says what is
 * wrong; this then reads every activation, gradient and saliency value in
 * bounded batches through the same reader functions a run uses (which
 * refuse non-finite values), so a file that passes `check` reads cleanly in
 * `run`, and prints the counts, the policies applied and the sign mix of A.
 *
 * Thread safety: main thread only.
 */
#include "pipeline/run/run_int.h"

#include <stdlib.h>

int run_check(const char *path, FILE *out, int64_t max_memory_mib, char *err, size_t errlen)
{
    h5in *f;
    if (h5in_open(&f, path, err, errlen) < 0)
        return -1;
    const h5in_meta *m = h5in_meta_of(f);
    int64_t khw = m->K * m->h * m->w;
    int64_t budget = (max_memory_mib << 20) / 2;
    if (budget > BATCH_CAP) budget = BATCH_CAP;
    int64_t rows = budget / (khw * 4);
    if (rows < 1) rows = 1;
    int64_t srow = m->has_saliency ? m->sal_h * m->sal_w : 0;
    int64_t rowlen = khw > srow ? khw : srow;
    float *buf = malloc((size_t)(rows * rowlen) * sizeof(float));
    int rc = 0;
    if (!buf) {
        snprintf(err, errlen, "%s: -: out of memory", path);
        h5in_close(f);
        return -2;
    }
    int64_t npos = 0, nzero = 0, nneg = 0;
    for (int64_t i = 0; i < m->N && rc == 0; i += rows) {
        int64_t n = m->N - i < rows ? m->N - i : rows;
        rc = h5in_read_acts(f, buf, i, n, err, errlen);
        for (int64_t j = 0; rc == 0 && j < n * khw; j++) {
            npos += buf[j] > 0;
            nneg += buf[j] < 0;
        }
    }
    nzero = m->N * khw - npos - nneg;
    for (int64_t t = 0; t < m->T && rc == 0; t += rows)
        rc = h5in_read_grads(f, buf, t, m->T - t < rows ? m->T - t : rows, err, errlen);
    int64_t srows = srow ? (rows * rowlen) / srow : 0;
    for (int64_t t = 0; m->has_saliency && t < m->T && rc == 0; t += srows)
        rc = h5in_read_saliency(f, buf, t, m->T - t < srows ? m->T - t : srows, err, errlen);
    free(buf);
    if (rc != 0) {
        h5in_close(f);
        return -1;
    }
    int64_t multi = 0, nobox = 0;
    for (int64_t t = 0; t < m->T; t++) {
        int64_t i = m->timg[t], has = 0;
        for (int64_t b = m->bfirst[i]; b < m->bfirst[i + 1]; b++)
            has |= m->bcls[b] == m->tcls[t];
        nobox += !has;
    }
    for (int64_t i = 0; i < m->N; i++) {
        int n = 0;
        for (int c = 0; c < m->C; c++)
            n += m->labels[i * m->C + c];
        multi += n >= 2;
    }
    fprintf(out, "%s: valid gradcam-study/1 file\n", path);
    fprintf(out, "  model %s, layer %s (%s), dataset %s\n", m->attr[1], m->attr[2], m->attr[3],
            m->attr[4]);
    fprintf(out, "  images N=%lld (%lld with >= 2 classes), classes C=%d\n", (long long)m->N,
            (long long)multi, m->C);
    fprintf(out, "  activations [%lld,%lld,%lld,%lld] %s, gradients %s\n", (long long)m->N,
            (long long)m->K, (long long)m->h, (long long)m->w, m->dtype_a, m->dtype_g);
    double tot = (double)(m->N * khw);
    fprintf(out, "  sign mix of A: %.2f%% positive, %.2f%% zero, %.2f%% negative%s\n",
            100.0 * npos / tot, 100.0 * nzero / tot, 100.0 * nneg / tot,
            nneg == 0 ? " (no negative activation)" : "");
    fprintf(out, "  targets T=%lld (%lld without a box of their class, at most %lld per image)\n",
            (long long)m->T, (long long)nobox, (long long)m->max_targets);
    fprintf(out, "  boxes B=%lld (%lld difficult, %lld clipped to the frame)\n", (long long)m->B,
            (long long)m->boxes_difficult, (long long)m->boxes_clipped);
    fprintf(out, "  saliency: %s; pixels: %s\n", m->has_saliency ? "yes" : "no",
            m->has_pixels ? "yes" : "no");
    if (m->has_names)
        fprintf(out, "  image names (/images/name): yes, e.g. image 0 is \"%s\"\n", m->names[0]);
    else
        fprintf(out, "  image names (/images/name): no (images are named by index)\n");
    int nexp = 0;
    for (int k = 0; k < H5IN_NEXPORT; k++)
        if (m->export_count[k] >= 0)
            fprintf(out, "%s%s %lld", nexp++ ? ", " : "  the exporter recorded: ",
                    h5in_export_count_name(k), (long long)m->export_count[k]);
    if (nexp)
        fputc('\n', out);
    fprintf(out, "  all values finite; indices in range and ordered\n");
    h5in_close(f);
    if (fflush(out) != 0) {
        snprintf(err, errlen, "%s: -: cannot write the summary", path);
        return -2;
    }
    return 0;
}
