/* h5in.c: the only reader of input files (schema v1, data/SCHEMA.md).
 *
 * DESIGN
 * h5in_open reads and validates everything small (attributes, classes,
 * image sizes, labels, scores, targets, boxes) and the shapes and types of the
 * big arrays, so that a bad file is refused before any work starts. The big
 * arrays (activations, gradients, saliency) are read later in batches by
 * h5in_read_*, which convert float16 / float64 to float and reject
 * non-finite values with the index of the first one.
 * (h5in_read.c; float16 is expanded there.) A corrupt file cannot hang or
 * crash the process: guard.c's watchdog and forked probe.
 * Every error becomes "FILE: DATASET: problem" in the caller's buffer; the
 * HDF5 error stack printing is switched off.
 *
 * Policies (documented in data/SCHEMA.md): a box partly outside its frame is
 * clipped and counted; a box with no area inside the frame is an error.
 *
 * Thread safety: an h5in is used from one thread (HDF5 serialises anyway).
 */
#include "pipeline/input/h5in_int.h"

#include "pipeline/input/guard.h"
#include "pipeline/input/half.h"
#include "pipeline/input/h5util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FRAME 32768       /* image height / width */
#define MAX_FEAT 4096         /* feature map height / width */
#define MAX_CHANNELS (1 << 20)
#define MAX_COUNT 2147483647LL /* N, T, B, C: indices are int32 */


/* Read a string attribute of the root group into a new string. */
static int rd_attr(h5in *f, const char *name, char **out, char *err, size_t n)
{
    char where[64];
    snprintf(where, sizeof where, "/@%s", name);
    static char wd_where[64];
    memcpy(wd_where, where, sizeof where);
    guard_note(wd_where);
    *out = NULL;
    if (H5Aexists(f->fid, name) <= 0)
        return h5in_fail(f, err, n, where, "attribute missing (required by schema v1)");
    hid_t a = H5Aopen(f->fid, name, H5P_DEFAULT);
    if (a < 0)
        return h5in_fail(f, err, n, where, "cannot open attribute");
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = 0;
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (H5Tget_class(t) != H5T_STRING) {
        rc = h5in_fail(f, err, n, where, "type is %s, expected string", h5in_class_name(H5Tget_class(t)));
    } else if (np != 1) {
        rc = h5in_fail(f, err, n, where, "expected one string, found %lld", (long long)np);
    } else {
        const char *why = h5u_attr_string(a, t, out);
        if (why)
            rc = h5in_fail(f, err, n, where, "%s", why);
    }
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

/* /classes: C strings (fixed or variable length). */
static int rd_classes(h5in *f, char *err, size_t n)
{
    dsinfo di;
    int r = h5in_ds_open(f, "/classes", 1, 0, &di, err, n);
    if (r < 0)
        return -1;
    int rc = 0;
    if (di.cls != H5T_STRING) {
        rc = h5in_fail(f, err, n, "/classes", "type is %s, expected string",
                       h5in_class_name(di.cls));
    } else if (di.dims[0] < 1 || di.dims[0] > 65535) {
        rc = h5in_fail(f, err, n, "/classes", "%llu classes, expected 1..65535",
                       (unsigned long long)di.dims[0]);
    } else {
        f->m.C = (int)di.dims[0];
        rc = h5in_rd_strings(f, &di, "/classes", (size_t)f->m.C, &f->m.classes, err, n);
    }
    h5in_ds_close(&di);
    return rc;
}

/* Length of the valid UTF-8 sequence at s (no overlong forms, no
 * surrogates, at most U+10FFFF) and its code point, or 0 when invalid. */
static int utf8_one(const unsigned char *s, unsigned *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4)
        return 0;
    unsigned v = c & (0x7Fu >> len);
    for (int k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[k] & 0x3Fu);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* Optional /images/name: N names, each non-empty, at most 4096 bytes, valid
 * UTF-8 without control characters (data/SCHEMA.md), so a name can go into
 * a CSV field or a caption whole. */
static int rd_names(h5in *f, char *err, size_t n)
{
    const char *ds = "/images/name";
    dsinfo di;
    int r = h5in_ds_open(f, ds, 1, 1, &di, err, n);
    if (r <= 0)
        return r;
    int rc = 0;
    if (di.cls != H5T_STRING)
        rc = h5in_fail(f, err, n, ds, "type is %s, expected string", h5in_class_name(di.cls));
    else if ((int64_t)di.dims[0] != f->m.N)
        rc = h5in_fail(f, err, n, ds, "%llu names for N = %lld images",
                       (unsigned long long)di.dims[0], (long long)f->m.N);
    else
        rc = h5in_rd_strings(f, &di, ds, (size_t)f->m.N, &f->m.names, err, n);
    for (int64_t i = 0; rc == 0 && i < f->m.N; i++) {
        const unsigned char *q = (const unsigned char *)f->m.names[i];
        size_t len = strlen((const char *)q);
        if (len == 0 || len > 4096) {
            rc = h5in_fail(f, err, n, ds, "name of image %lld is %s", (long long)i,
                           len ? "longer than 4096 bytes" : "empty");
            break;
        }
        for (size_t k = 0; k < len && rc == 0;) {
            unsigned cp = 0;
            int l = utf8_one(q + k, &cp);
            if (l == 0)
                rc = h5in_fail(f, err, n, ds, "name of image %lld is not valid UTF-8 (byte %zu)",
                               (long long)i, k);
            else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
                rc = h5in_fail(f, err, n, ds, "name of image %lld holds control character "
                               "U+%04X (byte %zu)", (long long)i, cp, k);
            k += (size_t)(l ? l : 1);
        }
    }
    if (rc == 0)
        f->m.has_names = 1;
    h5in_ds_close(&di);
    return rc;
}

/* The exporter's optional counts (data/SCHEMA.md): scalar integers >= 0;
 * -1 in meta when absent. */
static int rd_export_counts(h5in *f, char *err, size_t n)
{
    for (int k = 0; k < H5IN_NEXPORT; k++) {
        const char *name = h5in_export_count_name(k);
        char where[64];
        snprintf(where, sizeof where, "/@%s", name);
        guard_note(name);
        f->m.export_count[k] = -1;
        if (H5Aexists(f->fid, name) <= 0)
            continue;
        hid_t a = H5Aopen(f->fid, name, H5P_DEFAULT);
        if (a < 0)
            return h5in_fail(f, err, n, where, "cannot open attribute");
        hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
        long long v = -1;
        int rc = 0;
        if (H5Tget_class(t) != H5T_INTEGER)
            rc = h5in_fail(f, err, n, where, "type is %s, expected integer",
                           h5in_class_name(H5Tget_class(t)));
        else if (H5Sget_simple_extent_npoints(sp) != 1)
            rc = h5in_fail(f, err, n, where, "expected one integer");
        else if (H5Aread(a, H5T_NATIVE_LLONG, &v) < 0)
            rc = h5in_fail(f, err, n, where, "read failed");
        else if (v < 0)
            rc = h5in_fail(f, err, n, where, "%lld, expected a count >= 0", v);
        H5Tclose(t);
        H5Sclose(sp);
        H5Aclose(a);
        if (rc < 0)
            return rc;
        f->m.export_count[k] = v;
    }
    return 0;
}

static int rd_images(h5in *f, char *err, size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    if (h5in_ds_open(f, "/images/size", 2, 0, &di, err, n) < 0)
        return -1;
    if (h5in_check_count(f, "/images/size", di.dims[0], 1, MAX_COUNT, "N (images)", err, n) < 0 ||
        h5in_check_dim(f, "/images/size", &di, 1, 2, "(height, width)", err, n) < 0)
        goto done;
    f->m.N = (int64_t)di.dims[0];
    if (!(v = h5in_rd_int_array(f, &di, "/images/size", (size_t)f->m.N * 2, err, n)))
        goto done;
    f->m.size = malloc((size_t)f->m.N * 2 * sizeof(int32_t));
    if (!f->m.size) {
        h5in_fail(f, err, n, "/images/size", "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < f->m.N; i++) {
        int64_t H = v[2 * i], W = v[2 * i + 1];
        if (H < 1 || W < 1 || H > MAX_FRAME || W > MAX_FRAME) {
            h5in_fail(f, err, n, "/images/size", "image %lld has size %lldx%lld, expected 1..%d",
                 (long long)i, (long long)H, (long long)W, MAX_FRAME);
            goto done;
        }
        f->m.size[2 * i] = (int32_t)H;
        f->m.size[2 * i + 1] = (int32_t)W;
        if (H * W > f->m.max_hw)
            f->m.max_hw = H * W;
    }
    rc = 0;
done:
    free(v);
    h5in_ds_close(&di);
    return rc;
}

static int rd_labels_scores(h5in *f, char *err, size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    size_t cnt = (size_t)f->m.N * (size_t)f->m.C;
    if (h5in_ds_open(f, "/images/labels", 2, 0, &di, err, n) < 0)
        return -1;
    if (h5in_check_dim(f, "/images/labels", &di, 0, f->m.N, "N from /images/size", err, n) < 0 ||
        h5in_check_dim(f, "/images/labels", &di, 1, f->m.C, "C from /classes", err, n) < 0 ||
        !(v = h5in_rd_int_array(f, &di, "/images/labels", cnt, err, n)))
        goto done;
    if (!(f->m.labels = malloc(cnt ? cnt : 1))) {
        h5in_fail(f, err, n, "/images/labels", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < cnt; i++) {
        if (v[i] != 0 && v[i] != 1) {
            h5in_fail(f, err, n, "/images/labels", "value %lld at image %zu, class %zu; expected 0 or 1",
                 (long long)v[i], i / (size_t)f->m.C, i % (size_t)f->m.C);
            goto done;
        }
        f->m.labels[i] = (uint8_t)v[i];
    }
    h5in_ds_close(&di);
    if (h5in_ds_open(f, "/images/scores", 2, 0, &di, err, n) < 0)
        goto done;
    if (h5in_check_dim(f, "/images/scores", &di, 0, f->m.N, "N from /images/size", err, n) < 0 ||
        h5in_check_dim(f, "/images/scores", &di, 1, f->m.C, "C from /classes", err, n) < 0)
        goto done;
    if (!(f->m.scores = malloc((cnt ? cnt : 1) * sizeof(float)))) {
        h5in_fail(f, err, n, "/images/scores", "out of memory");
        goto done;
    }
    if (h5in_rd_floats_small(f, &di, "/images/scores", f->m.scores, cnt, err, n) < 0)
        goto done;
    rc = 0;
done:
    free(v);
    h5in_ds_close(&di);
    return rc;
}

/* An image-index dataset: in range and non-decreasing; fills first[N+1]. */
static int rd_index(h5in *f, const char *name, int64_t count, int32_t **out, int64_t **first,
                    char *err, size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    if (h5in_ds_open(f, name, 1, 0, &di, err, n) < 0)
        return -1;
    if (h5in_check_dim(f, name, &di, 0, count, "its group's count", err, n) < 0 ||
        !(v = h5in_rd_int_array(f, &di, name, (size_t)count, err, n)))
        goto done;
    *out = malloc((size_t)count * sizeof(int32_t));
    *first = calloc((size_t)f->m.N + 1, sizeof(int64_t));
    if (!*out || !*first) {
        h5in_fail(f, err, n, name, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        if (v[i] < 0 || v[i] >= f->m.N) {
            h5in_fail(f, err, n, name, "image index %lld at element %lld is out of range 0..%lld",
                 (long long)v[i], (long long)i, (long long)f->m.N - 1);
            goto done;
        }
        if (i > 0 && v[i] < v[i - 1]) {
            h5in_fail(f, err, n, name, "decreasing at element %lld (%lld after %lld); must be non-decreasing",
                 (long long)i, (long long)v[i], (long long)v[i - 1]);
            goto done;
        }
        (*out)[i] = (int32_t)v[i];
        (*first)[v[i] + 1]++;
    }
    for (int64_t i = 0; i < f->m.N; i++)
        (*first)[i + 1] += (*first)[i];
    rc = 0;
done:
    free(v);
    h5in_ds_close(&di);
    return rc;
}

static int rd_class_index(h5in *f, const char *name, int64_t count, int32_t **out, char *err,
                          size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    if (h5in_ds_open(f, name, 1, 0, &di, err, n) < 0)
        return -1;
    if (h5in_check_dim(f, name, &di, 0, count, "its group's count", err, n) < 0 ||
        !(v = h5in_rd_int_array(f, &di, name, (size_t)count, err, n)))
        goto done;
    if (!(*out = malloc((size_t)count * sizeof(int32_t)))) {
        h5in_fail(f, err, n, name, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        if (v[i] < 0 || v[i] >= f->m.C) {
            h5in_fail(f, err, n, name, "class %lld at element %lld is out of range 0..%d",
                 (long long)v[i], (long long)i, f->m.C - 1);
            goto done;
        }
        (*out)[i] = (int32_t)v[i];
    }
    rc = 0;
done:
    free(v);
    h5in_ds_close(&di);
    return rc;
}

static int rd_targets(h5in *f, char *err, size_t n)
{
    dsinfo di;
    if (h5in_ds_open(f, "/targets/image", 1, 0, &di, err, n) < 0)
        return -1;
    hsize_t T = di.dims[0];
    h5in_ds_close(&di);
    if (h5in_check_count(f, "/targets/image", T, 1, MAX_COUNT, "T (targets)", err, n) < 0)
        return -1;
    f->m.T = (int64_t)T;
    if (rd_index(f, "/targets/image", f->m.T, &f->m.timg, &f->m.tfirst, err, n) < 0 ||
        rd_class_index(f, "/targets/class", f->m.T, &f->m.tcls, err, n) < 0)
        return -1;
    for (int64_t i = 0; i < f->m.N; i++) {
        int64_t c = f->m.tfirst[i + 1] - f->m.tfirst[i];
        if (c > f->m.max_targets)
            f->m.max_targets = c;
    }
    return 0;
}

static int rd_boxes(h5in *f, char *err, size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    if (h5in_ds_open(f, "/boxes/image", 1, 0, &di, err, n) < 0)
        return -1;
    hsize_t B = di.dims[0];
    h5in_ds_close(&di);
    if (h5in_check_count(f, "/boxes/image", B, 1, MAX_COUNT, "B (boxes)", err, n) < 0)
        return -1;
    f->m.B = (int64_t)B;
    if (rd_index(f, "/boxes/image", f->m.B, &f->m.bimg, &f->m.bfirst, err, n) < 0 ||
        rd_class_index(f, "/boxes/class", f->m.B, &f->m.bcls, err, n) < 0)
        return -1;
    if (h5in_ds_open(f, "/boxes/xyxy", 2, 0, &di, err, n) < 0)
        return -1;
    if (h5in_check_dim(f, "/boxes/xyxy", &di, 0, f->m.B, "B from /boxes/image", err, n) < 0 ||
        h5in_check_dim(f, "/boxes/xyxy", &di, 1, 4, "x0, y0, x1, y1", err, n) < 0)
        goto done;
    if (!(f->m.bxyxy = malloc((size_t)f->m.B * 4 * sizeof(float)))) {
        h5in_fail(f, err, n, "/boxes/xyxy", "out of memory");
        goto done;
    }
    if (h5in_rd_floats_small(f, &di, "/boxes/xyxy", f->m.bxyxy, (size_t)f->m.B * 4, err, n) < 0)
        goto done;
    for (int64_t b = 0; b < f->m.B; b++) {
        float *x = f->m.bxyxy + 4 * b;
        int64_t img = f->m.bimg[b];
        float H = (float)f->m.size[2 * img], W = (float)f->m.size[2 * img + 1];
        if (!(x[2] > x[0]) || !(x[3] > x[1])) {
            h5in_fail(f, err, n, "/boxes/xyxy", "box %lld is empty or inverted (%g,%g,%g,%g)",
                 (long long)b, x[0], x[1], x[2], x[3]);
            goto done;
        }
        if (x[2] <= 0 || x[3] <= 0 || x[0] >= W || x[1] >= H) {
            h5in_fail(f, err, n, "/boxes/xyxy",
                 "box %lld (%g,%g,%g,%g) lies outside its %gx%g frame (image %lld)",
                 (long long)b, x[0], x[1], x[2], x[3], H, W, (long long)img);
            goto done;
        }
        if (x[0] < 0 || x[1] < 0 || x[2] > W || x[3] > H) {
            f->m.boxes_clipped++;
            x[0] = x[0] < 0 ? 0 : x[0];
            x[1] = x[1] < 0 ? 0 : x[1];
            x[2] = x[2] > W ? W : x[2];
            x[3] = x[3] > H ? H : x[3];
        }
    }
    h5in_ds_close(&di);
    f->m.bdiff = calloc((size_t)f->m.B, 1);
    if (!f->m.bdiff) {
        h5in_fail(f, err, n, "/boxes/difficult", "out of memory");
        goto done;
    }
    int r = h5in_ds_open(f, "/boxes/difficult", 1, 1, &di, err, n);
    if (r < 0)
        goto done;
    if (r == 1) {
        f->m.has_difficult = 1;
        if (h5in_check_dim(f, "/boxes/difficult", &di, 0, f->m.B, "B from /boxes/image", err, n) < 0 ||
            !(v = h5in_rd_int_array(f, &di, "/boxes/difficult", (size_t)f->m.B, err, n)))
            goto done;
        for (int64_t b = 0; b < f->m.B; b++) {
            if (v[b] != 0 && v[b] != 1) {
                h5in_fail(f, err, n, "/boxes/difficult", "value %lld at box %lld; expected 0 or 1",
                     (long long)v[b], (long long)b);
                goto done;
            }
            f->m.bdiff[b] = (uint8_t)v[b];
            f->m.boxes_difficult += v[b];
        }
    }
    rc = 0;
done:
    free(v);
    h5in_ds_close(&di);
    return rc;
}

/* Product of dims with overflow check against `limit`. */
static int dims_product(const hsize_t *d, int rank, uint64_t limit, uint64_t *out)
{
    uint64_t p = 1;
    for (int i = 0; i < rank; i++) {
        if (d[i] != 0 && p > limit / d[i])
            return -1;
        p *= d[i];
    }
    *out = p;
    return 0;
}

static int rd_big_shapes(h5in *f, char *err, size_t n)
{
    dsinfo di;
    uint64_t prod;
    if (h5in_ds_open(f, "/activations", 4, 0, &di, err, n) < 0)
        return -1;
    f->dA = di.d;
    if (h5in_float_type(f, &di, "/activations", &f->a_half, &f->m.dtype_a, err, n) < 0 ||
        h5in_check_dim(f, "/activations", &di, 0, f->m.N, "N from /images/size", err, n) < 0 ||
        h5in_check_count(f, "/activations", di.dims[1], 1, MAX_CHANNELS, "K (channels)", err, n) < 0 ||
        h5in_check_count(f, "/activations", di.dims[2], 1, MAX_FEAT, "h", err, n) < 0 ||
        h5in_check_count(f, "/activations", di.dims[3], 1, MAX_FEAT, "w", err, n) < 0)
        return -1;
    if (dims_product(di.dims + 1, 3, (uint64_t)1 << 31, &prod) < 0)
        return h5in_fail(f, err, n, "/activations", "K*h*w = %llu*%llu*%llu is too large (limit 2^31)",
                    (unsigned long long)di.dims[1], (unsigned long long)di.dims[2],
                    (unsigned long long)di.dims[3]);
    f->m.K = (int64_t)di.dims[1];
    f->m.h = (int64_t)di.dims[2];
    f->m.w = (int64_t)di.dims[3];

    if (h5in_ds_open(f, "/targets/gradients", 4, 0, &di, err, n) < 0)
        return -1;
    f->dG = di.d;
    if (h5in_float_type(f, &di, "/targets/gradients", &f->g_half, &f->m.dtype_g, err, n) < 0 ||
        h5in_check_dim(f, "/targets/gradients", &di, 0, f->m.T, "T from /targets/image", err, n) < 0 ||
        h5in_check_dim(f, "/targets/gradients", &di, 1, f->m.K, "K from /activations", err, n) < 0 ||
        h5in_check_dim(f, "/targets/gradients", &di, 2, f->m.h, "h from /activations", err, n) < 0 ||
        h5in_check_dim(f, "/targets/gradients", &di, 3, f->m.w, "w from /activations", err, n) < 0)
        return -1;

    int r = h5in_ds_open(f, "/targets/saliency", 3, 1, &di, err, n);
    if (r < 0)
        return -1;
    if (r == 1) {
        int half;
        f->dS = di.d;
        f->m.has_saliency = 1;
        if (h5in_float_type(f, &di, "/targets/saliency", &half, NULL, err, n) < 0)
            return -1;
        if (half)
            return h5in_fail(f, err, n, "/targets/saliency", "float16 is not supported here; use float32");
        if (h5in_check_dim(f, "/targets/saliency", &di, 0, f->m.T, "T from /targets/image", err, n) < 0)
            return -1;
        f->m.sal_h = (int64_t)di.dims[1];
        f->m.sal_w = (int64_t)di.dims[2];
        for (int64_t t = 0; t < f->m.T; t++) {
            int64_t i = f->m.timg[t];
            if (f->m.size[2 * i] != f->m.sal_h || f->m.size[2 * i + 1] != f->m.sal_w)
                return h5in_fail(f, err, n, "/targets/saliency",
                            "maps are %lldx%lld but image %lld of target %lld is %dx%d",
                            (long long)f->m.sal_h, (long long)f->m.sal_w, (long long)i,
                            (long long)t, f->m.size[2 * i], f->m.size[2 * i + 1]);
        }
    }

    r = h5in_ds_open(f, "/images/pixels", 4, 1, &di, err, n);
    if (r < 0)
        return -1;
    if (r == 1) {
        f->dP = di.d;
        f->m.has_pixels = 1;
        if (di.cls != H5T_INTEGER)
            return h5in_fail(f, err, n, "/images/pixels", "type is %s, expected uint8",
                        h5in_class_name(di.cls));
        if (h5in_check_dim(f, "/images/pixels", &di, 0, f->m.N, "N from /images/size", err, n) < 0)
            return -1;
        if (di.dims[3] != 1 && di.dims[3] != 3)
            return h5in_fail(f, err, n, "/images/pixels", "%llu channels, expected 1 or 3",
                        (unsigned long long)di.dims[3]);
        f->m.pix_h = (int64_t)di.dims[1];
        f->m.pix_w = (int64_t)di.dims[2];
        f->m.pix_ch = (int64_t)di.dims[3];
        for (int64_t i = 0; i < f->m.N; i++)
            if (f->m.size[2 * i] != f->m.pix_h || f->m.size[2 * i + 1] != f->m.pix_w)
                return h5in_fail(f, err, n, "/images/pixels",
                            "pixels are %lldx%lld but image %lld is %dx%d",
                            (long long)f->m.pix_h, (long long)f->m.pix_w, (long long)i,
                            f->m.size[2 * i], f->m.size[2 * i + 1]);
    }
    return 0;
}

static int check_schema(h5in *f, char *err, size_t n)
{
    static const char *const names[5] = {"schema", "model", "layer", "activation", "dataset"};
    if (rd_attr(f, "schema", &f->m.attr[0], err, n) < 0)
        return -1;
    const char *s = f->m.attr[0];
    if (strcmp(s, "gradcam-study/1") != 0) {
        if (strncmp(s, "gradcam-study/", 14) == 0)
            return h5in_fail(f, err, n, "/@schema",
                        "schema \"%s\" is not supported; this build reads gradcam-study/1", s);
        return h5in_fail(f, err, n, "/@schema", "\"%s\" is not a gradcam-study schema", s);
    }
    for (int i = 1; i < 5; i++)
        if (rd_attr(f, names[i], &f->m.attr[i], err, n) < 0)
            return -1;
    return 0;
}

/* Open from a path, or (image != NULL) from an in-memory file image, which
 * the fuzzing harness uses; `path` then only names it in messages. */
static int open_any(h5in **out, const char *path, const void *image, size_t len, char *err,
                    size_t errlen)
{
    *out = NULL;
    h5in *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "%s: -: out of memory", path);
        return -1;
    }
    f->fid = f->dA = f->dG = f->dS = f->dP = H5I_INVALID_HID;
    f->m.path = strdup(path);
    if (!f->m.path) {
        snprintf(err, errlen, "%s: -: out of memory", path);
        free(f);
        return -1;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    if (image) {
        static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
        if (len < 8 || memcmp(image, sig, 8) != 0) {
            h5in_fail(f, err, errlen, "-", "not an HDF5 file (or truncated)");
            goto bad;
        }
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
            H5Pset_file_image(fapl, (void *)(uintptr_t)image, len) < 0) {
            if (fapl >= 0)
                H5Pclose(fapl);
            h5in_fail(f, err, errlen, "-", "cannot set up an in-memory file");
            goto bad;
        }
        f->fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        H5Pclose(fapl);
    } else {
        FILE *probe = fopen(path, "rb");
        if (!probe) {
            h5in_fail(f, err, errlen, "-", "cannot open: %s", strerror(errno));
            goto bad;
        }
        fclose(probe);
        if (H5Fis_hdf5(path) <= 0) {
            h5in_fail(f, err, errlen, "-", "not an HDF5 file (or truncated)");
            goto bad;
        }
        f->fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    if (f->fid < 0) {
        h5in_fail(f, err, errlen, "-", "HDF5 cannot open it (corrupt or truncated)");
        goto bad;
    }
    if (check_schema(f, err, errlen) < 0 || rd_classes(f, err, errlen) < 0 ||
        rd_images(f, err, errlen) < 0 || rd_names(f, err, errlen) < 0 ||
        rd_export_counts(f, err, errlen) < 0 || rd_labels_scores(f, err, errlen) < 0 ||
        rd_targets(f, err, errlen) < 0 || rd_boxes(f, err, errlen) < 0 ||
        rd_big_shapes(f, err, errlen) < 0)
        goto bad;
    *out = f;
    return 0;
bad:
    h5in_close(f);
    return -1;
}

/* What the probe's child runs: the whole validation, in its own process. */
static int probe_open(const char *path, char *err, size_t errlen)
{
    h5in *f = NULL;
    return open_any(&f, path, NULL, 0, err, errlen);
}

void h5in_set_watchdog(unsigned seconds)
{
    guard_set_timeout(seconds);
}

void h5in_set_isolation(int on)
{
    guard_set_isolation(on);
}

int h5in_open(h5in **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* a pipe or a device: HDF5 would wait on it forever, and the file
           is read more than once (probe, validation, batches, digest) */
        snprintf(err, errlen, "%s: -: not a regular file (a pipe or a device; give a file)",
                 path);
        return -1;
    }
    /* the library is set up here, before the probe forks, so that the
       child inherits it instead of setting it up again (about 5 ms) */
    H5open();
    if (guard_isolation() && guard_probe(path, probe_open, err, errlen) < 0)
        return -1;
    guard_arm(path, "-");
    int rc = open_any(out, path, NULL, 0, err, errlen);
    guard_disarm();
    return rc;
}

int h5in_open_image(h5in **out, const void *image, size_t len, const char *name, char *err,
                    size_t errlen)
{
    guard_arm(name, "-");
    int rc = open_any(out, name, image, len, err, errlen);
    guard_disarm();
    return rc;
}

const char *h5in_export_count_name(int k)
{
    static const char *const names[H5IN_NEXPORT] = {
        "boxes_dropped", "boxes_clipped", "boxes_inverted", "boxes_outside_image",
        "objects_unknown_class", "images_skipped"};
    return k >= 0 && k < H5IN_NEXPORT ? names[k] : NULL;
}

const h5in_meta *h5in_meta_of(const h5in *f)
{
    return &f->m;
}

void h5in_close(h5in *f)
{
    if (!f)
        return;
    hid_t ds[4] = {f->dA, f->dG, f->dS, f->dP};
    for (int i = 0; i < 4; i++)
        if (ds[i] >= 0)
            H5Dclose(ds[i]);
    if (f->fid >= 0)
        H5Fclose(f->fid);
    for (int i = 0; i < 5; i++)
        free(f->m.attr[i]);
    if (f->m.classes)
        for (int i = 0; i < f->m.C; i++)
            free(f->m.classes[i]);
    free(f->m.classes);
    if (f->m.names)
        for (int64_t i = 0; i < f->m.N; i++)
            free(f->m.names[i]);
    free(f->m.names);
    free(f->m.size);
    free(f->m.labels);
    free(f->m.scores);
    free(f->m.timg);
    free(f->m.tcls);
    free(f->m.bimg);
    free(f->m.bcls);
    free(f->m.bxyxy);
    free(f->m.bdiff);
    free(f->m.tfirst);
    free(f->m.bfirst);
    free(f->m.path);
    free(f);
}
