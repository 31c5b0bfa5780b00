/* h5in.c: the only reader of input files (schema v1, data/SCHEMA.md).
 *
 * DESIGN
 * h5in_open reads and validates everything small (attributes, classes,
 * image sizes, labels, scores, targets, boxes) and the shapes and types of the
 * big arrays, so that a bad file is refused before any work starts. The big
 * arrays (activations, gradients, saliency) are read later in batches by
 * h5in_read_*, which convert float16 / float64 to float and reject
 * non-finite values with the index of the first one.
 * float16 is read raw (HDF5's own conversion is ~650x slower) into the tail
 * of the caller's float buffer and expanded in place, front to back, through
 * a small bounce buffer: element i's output bytes never reach raw elements
 * not yet converted.
 * Every error becomes "FILE: DATASET: problem" in the caller's buffer; the
 * HDF5 error stack printing is switched off.
 *
 * Policies (documented in data/SCHEMA.md): a box partly outside its frame is
 * clipped and counted; a box with no area inside the frame is an error.
 *
 * Thread safety: an h5in is used from one thread (HDF5 serialises anyway).
 */
#include "pipeline/input/h5in.h"

#include "pipeline/input/half.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAME 32768       /* image height / width */
#define MAX_FEAT 4096         /* feature map height / width */
#define MAX_CHANNELS (1 << 20)
#define MAX_COUNT 2147483647LL /* N, T, B, C: indices are int32 */

/* ---- watchdog -------------------------------------------------------------
 * libhdf5 can loop forever on some corrupt files (fuzzing found a global-heap
 * loop inside H5Aread of a variable-length string). Every HDF5 call of this
 * module runs under alarm(): if the library does not return in time, the
 * handler prints the usual one-line error and ends the process with status 1
 * (async-signal-safe: write and _exit only). Outputs are unaffected: a run
 * writes into a staging directory that the next run removes. */
static unsigned wd_seconds = 120;
static volatile sig_atomic_t wd_armed;
static const char *volatile wd_path = "-";
static const char *volatile wd_what = "-";

static void wd_write(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void wd_handler(int sig)
{
    (void)sig;
    if (!wd_armed)
        return;
    wd_write("gradcam-study: ");
    wd_write(wd_path);
    wd_write(": ");
    wd_write(wd_what);
    wd_write(": the HDF5 library did not return within the time limit (a corrupt file can make it loop)\n");
    _exit(1);
}

void h5in_set_watchdog(unsigned seconds)
{
    wd_seconds = seconds;
}

static void wd_arm(const char *path, const char *what)
{
    if (!wd_seconds)
        return;
    static int installed;
    if (!installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = wd_handler;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        installed = 1;
    }
    wd_path = path;
    wd_what = what;
    wd_armed = 1;
    alarm(wd_seconds);
}

static void wd_disarm(void)
{
    if (!wd_seconds)
        return;
    alarm(0);
    wd_armed = 0;
}

/* ---- isolation ------------------------------------------------------------
 * libhdf5 1.10 also crashes (out-of-bounds reads in H5HG_read, found by
 * fuzzing) on some corrupt files while converting variable-length strings.
 * So h5in_open first validates the file's metadata in a forked child: the
 * child reports each dataset it starts on through a pipe, then its verdict.
 * If it dies (a signal, a sanitizer abort) or hangs past the watchdog, the
 * parent refuses the file with one line naming the dataset it was reading;
 * the parent itself only reads metadata that the child read without harm.
 * The child's stderr goes to /dev/null (its crash report would be noise).
 * fork happens before any OpenMP thread exists (inputs are opened first). */
static int progress_fd = -1;
static int isolate = 1;

void h5in_set_isolation(int on)
{
    isolate = on;
}

static void progress(const char *what)
{
    if (progress_fd < 0)
        return;
    char line[300];
    int n = snprintf(line, sizeof line, "W%s\n", what);
    if (n > 0 && write(progress_fd, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0)
        progress_fd = -1;
}

struct h5in {
    hid_t fid;
    h5in_meta m;
    hid_t dA, dG, dS, dP;      /* big datasets, kept open */
    int a_half, g_half;        /* raw float16 */
};

static int fail(const h5in *f, char *err, size_t n, const char *ds, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, n, "%s: %s: %s", f->m.path, ds, msg);
    return -1;
}

/* 1 when every component of the absolute path exists as a link. */
static int path_exists(hid_t fid, const char *path)
{
    char buf[256];
    size_t len = strlen(path);
    if (len >= sizeof buf)
        return 0;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (H5Lexists(fid, buf, H5P_DEFAULT) <= 0)
                return 0;
            buf[i] = c;
        }
    }
    return 1;
}

typedef struct {
    hid_t d;
    int rank;
    hsize_t dims[8];
    H5T_class_t cls;
    size_t tsize;
} dsinfo;

/* Open dataset `name`; rank must be `rank`. 1 ok, 0 absent (when optional),
 * -1 error (message written). */
static int ds_open(h5in *f, const char *name, int rank, int optional, dsinfo *di,
                   char *err, size_t n)
{
    memset(di, 0, sizeof *di);
    di->d = H5I_INVALID_HID;
    wd_what = name;
    progress(name);
    if (!path_exists(f->fid, name)) {
        if (optional)
            return 0;
        return fail(f, err, n, name, "missing (required by schema v1)");
    }
    H5O_info_t oi;
    if (H5Oget_info_by_name(f->fid, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_DATASET)
        return fail(f, err, n, name, "not a dataset");
    di->d = H5Dopen2(f->fid, name, H5P_DEFAULT);
    if (di->d < 0)
        return fail(f, err, n, name, "cannot open dataset");
    hid_t sp = H5Dget_space(di->d);
    if (sp < 0) {
        H5Dclose(di->d);
        di->d = H5I_INVALID_HID;
        return fail(f, err, n, name, "cannot read its dataspace");
    }
    int r = H5Sget_simple_extent_ndims(sp);
    if (r >= 0 && r <= 8)
        H5Sget_simple_extent_dims(sp, di->dims, NULL);
    H5Sclose(sp);
    hid_t t = H5Dget_type(di->d);
    di->cls = H5Tget_class(t);
    di->tsize = H5Tget_size(t);
    H5Tclose(t);
    if (r != rank) {
        H5Dclose(di->d);
        di->d = H5I_INVALID_HID;
        return fail(f, err, n, name, "rank %d, expected %d", r, rank);
    }
    di->rank = r;
    return 1;
}

static void ds_close(dsinfo *di)
{
    if (di->d >= 0)
        H5Dclose(di->d);
    di->d = H5I_INVALID_HID;
}

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    default: return "non-numeric";
    }
}

/* Read a whole integer dataset into int64 (any integer type). */
static int rd_ints(h5in *f, dsinfo *di, const char *name, int64_t *dst, char *err, size_t n)
{
    if (di->cls != H5T_INTEGER)
        return fail(f, err, n, name, "type is %s, expected integer", class_name(di->cls));
    if (H5Dread(di->d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)
        return fail(f, err, n, name, "read failed");
    return 0;
}

/* 1 when a float dataset's type is IEEE binary16. */
static int is_half(hid_t t)
{
    size_t spos, epos, esize, mpos, msize;
    if (H5Tget_class(t) != H5T_FLOAT || H5Tget_size(t) != 2)
        return 0;
    if (H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) < 0)
        return 0;
    return spos == 15 && epos == 10 && esize == 5 && mpos == 0 && msize == 10 &&
           H5Tget_ebias(t) == 15;
}

/* Check a float dataset's type; sets *half and the dtype name. */
static int float_type(h5in *f, dsinfo *di, const char *name, int *half, const char **dtype,
                      char *err, size_t n)
{
    *half = 0;
    if (di->cls != H5T_FLOAT)
        return fail(f, err, n, name, "type is %s, expected float16/32/64",
                    class_name(di->cls));
    if (di->tsize == 2) {
        hid_t t = H5Dget_type(di->d);
        int ok = is_half(t);
        H5Tclose(t);
        if (!ok)
            return fail(f, err, n, name, "2-byte float that is not IEEE binary16");
        *half = 1;
        if (dtype) *dtype = "float16";
    } else if (di->tsize == 4) {
        if (dtype) *dtype = "float32";
    } else if (di->tsize == 8) {
        if (dtype) *dtype = "float64";
    } else {
        return fail(f, err, n, name, "unsupported %zu-byte float", di->tsize);
    }
    return 0;
}

/* Read a string attribute of the root group into a new string. */
static int rd_attr(h5in *f, const char *name, char **out, char *err, size_t n)
{
    char where[64];
    snprintf(where, sizeof where, "/@%s", name);
    static char wd_where[64];
    memcpy(wd_where, where, sizeof where);
    wd_what = wd_where;
    progress(wd_where);
    *out = NULL;
    if (H5Aexists(f->fid, name) <= 0)
        return fail(f, err, n, where, "attribute missing (required by schema v1)");
    hid_t a = H5Aopen(f->fid, name, H5P_DEFAULT);
    if (a < 0)
        return fail(f, err, n, where, "cannot open attribute");
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = 0;
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (H5Tget_class(t) != H5T_STRING) {
        rc = fail(f, err, n, where, "type is %s, expected string", class_name(H5Tget_class(t)));
    } else if (np != 1) {
        rc = fail(f, err, n, where, "expected one string, found %lld", (long long)np);
    } else if (H5Tis_variable_str(t) > 0) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        char *s = NULL;
        if (H5Aread(a, mt, &s) < 0 || !s) {
            rc = fail(f, err, n, where, "read failed");
        } else {
            *out = strdup(s);
            H5free_memory(s);
        }
        H5Tclose(mt);
    } else {
        size_t sz = H5Tget_size(t);
        char *s = calloc(sz + 1, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz);
        H5Tset_strpad(mt, H5T_STR_NULLPAD);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (!s || H5Aread(a, mt, s) < 0) {
            free(s);
            rc = fail(f, err, n, where, "read failed");
        } else {
            *out = s;
        }
        H5Tclose(mt);
    }
    if (rc == 0 && !*out)
        rc = fail(f, err, n, where, "out of memory");
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

/* /classes: C strings (fixed or variable length). */
static int rd_classes(h5in *f, char *err, size_t n)
{
    dsinfo di;
    int r = ds_open(f, "/classes", 1, 0, &di, err, n);
    if (r < 0)
        return -1;
    int rc = 0;
    if (di.cls != H5T_STRING) {
        rc = fail(f, err, n, "/classes", "type is %s, expected string", class_name(di.cls));
    } else if (di.dims[0] < 1 || di.dims[0] > 65535) {
        rc = fail(f, err, n, "/classes", "%llu classes, expected 1..65535",
                  (unsigned long long)di.dims[0]);
    } else {
        size_t C = (size_t)di.dims[0];
        f->m.C = (int)C;
        f->m.classes = calloc(C, sizeof(char *));
        hid_t t = H5Dget_type(di.d);
        if (!f->m.classes) {
            rc = fail(f, err, n, "/classes", "out of memory");
        } else if (H5Tis_variable_str(t) > 0) {
            char **tmp = calloc(C, sizeof(char *));
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (!tmp || H5Dread(di.d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0) {
                rc = fail(f, err, n, "/classes", "read failed");
            } else {
                for (size_t i = 0; i < C && rc == 0; i++) {
                    f->m.classes[i] = strdup(tmp[i] ? tmp[i] : "");
                    if (!f->m.classes[i])
                        rc = fail(f, err, n, "/classes", "out of memory");
                }
                hid_t sp = H5Dget_space(di.d);
                H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
                H5Sclose(sp);
            }
            free(tmp);
            H5Tclose(mt);
        } else {
            size_t sz = H5Tget_size(t);
            char *buf = calloc(C, sz + 1);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, sz);
            H5Tset_strpad(mt, H5T_STR_NULLPAD);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (!buf || H5Dread(di.d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
                rc = fail(f, err, n, "/classes", "read failed");
            } else {
                for (size_t i = 0; i < C && rc == 0; i++) {
                    f->m.classes[i] = strndup(buf + i * sz, sz);
                    if (!f->m.classes[i])
                        rc = fail(f, err, n, "/classes", "out of memory");
                }
            }
            free(buf);
            H5Tclose(mt);
        }
        H5Tclose(t);
    }
    ds_close(&di);
    return rc;
}

static int check_dim(h5in *f, const char *name, const dsinfo *di, int axis, int64_t want,
                     const char *what, char *err, size_t n)
{
    if ((int64_t)di->dims[axis] != want)
        return fail(f, err, n, name, "dimension %d is %llu, expected %lld (%s)", axis,
                    (unsigned long long)di->dims[axis], (long long)want, what);
    return 0;
}

static int check_count(h5in *f, const char *name, hsize_t v, int64_t lo, int64_t hi,
                       const char *what, char *err, size_t n)
{
    if ((int64_t)v < lo || (int64_t)v > hi || v > (hsize_t)INT64_MAX)
        return fail(f, err, n, name, "%s is %llu, expected %lld..%lld", what,
                    (unsigned long long)v, (long long)lo, (long long)hi);
    return 0;
}

/* A small integer dataset of `count` elements into a new int64 array. */
static int64_t *rd_int_array(h5in *f, dsinfo *di, const char *name, size_t count, char *err,
                             size_t n)
{
    int64_t *v = malloc((count ? count : 1) * sizeof *v);
    if (!v) {
        fail(f, err, n, name, "out of memory");
        return NULL;
    }
    if (rd_ints(f, di, name, v, err, n) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* Read a small float dataset (any float type) as float and check finiteness. */
static int rd_floats_small(h5in *f, dsinfo *di, const char *name, float *dst, size_t count,
                           char *err, size_t n)
{
    int half;
    if (float_type(f, di, name, &half, NULL, err, n) < 0)
        return -1;
    if (half) {
        uint16_t *raw = malloc((count ? count : 1) * sizeof *raw);
        hid_t t = H5Dget_type(di->d);
        hid_t mt = H5Tcopy(t);
        H5Tset_order(mt, H5Tget_order(H5T_NATIVE_USHORT));
        herr_t e = raw ? H5Dread(di->d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) : -1;
        H5Tclose(mt);
        H5Tclose(t);
        if (e < 0) {
            free(raw);
            return fail(f, err, n, name, "read failed");
        }
        half_to_float(dst, raw, count);
        free(raw);
    } else if (H5Dread(di->d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
        return fail(f, err, n, name, "read failed");
    }
    for (size_t i = 0; i < count; i++)
        if (!isfinite(dst[i]))
            return fail(f, err, n, name, "non-finite value at element %zu", i);
    return 0;
}

static int rd_images(h5in *f, char *err, size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    if (ds_open(f, "/images/size", 2, 0, &di, err, n) < 0)
        return -1;
    if (check_count(f, "/images/size", di.dims[0], 1, MAX_COUNT, "N (images)", err, n) < 0 ||
        check_dim(f, "/images/size", &di, 1, 2, "(height, width)", err, n) < 0)
        goto done;
    f->m.N = (int64_t)di.dims[0];
    if (!(v = rd_int_array(f, &di, "/images/size", (size_t)f->m.N * 2, err, n)))
        goto done;
    f->m.size = malloc((size_t)f->m.N * 2 * sizeof(int32_t));
    if (!f->m.size) {
        fail(f, err, n, "/images/size", "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < f->m.N; i++) {
        int64_t H = v[2 * i], W = v[2 * i + 1];
        if (H < 1 || W < 1 || H > MAX_FRAME || W > MAX_FRAME) {
            fail(f, err, n, "/images/size", "image %lld has size %lldx%lld, expected 1..%d",
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
    ds_close(&di);
    return rc;
}

static int rd_labels_scores(h5in *f, char *err, size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    size_t cnt = (size_t)f->m.N * (size_t)f->m.C;
    if (ds_open(f, "/images/labels", 2, 0, &di, err, n) < 0)
        return -1;
    if (check_dim(f, "/images/labels", &di, 0, f->m.N, "N from /images/size", err, n) < 0 ||
        check_dim(f, "/images/labels", &di, 1, f->m.C, "C from /classes", err, n) < 0 ||
        !(v = rd_int_array(f, &di, "/images/labels", cnt, err, n)))
        goto done;
    if (!(f->m.labels = malloc(cnt ? cnt : 1))) {
        fail(f, err, n, "/images/labels", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < cnt; i++) {
        if (v[i] != 0 && v[i] != 1) {
            fail(f, err, n, "/images/labels", "value %lld at image %zu, class %zu; expected 0 or 1",
                 (long long)v[i], i / (size_t)f->m.C, i % (size_t)f->m.C);
            goto done;
        }
        f->m.labels[i] = (uint8_t)v[i];
    }
    ds_close(&di);
    if (ds_open(f, "/images/scores", 2, 0, &di, err, n) < 0)
        goto done;
    if (check_dim(f, "/images/scores", &di, 0, f->m.N, "N from /images/size", err, n) < 0 ||
        check_dim(f, "/images/scores", &di, 1, f->m.C, "C from /classes", err, n) < 0)
        goto done;
    if (!(f->m.scores = malloc((cnt ? cnt : 1) * sizeof(float)))) {
        fail(f, err, n, "/images/scores", "out of memory");
        goto done;
    }
    if (rd_floats_small(f, &di, "/images/scores", f->m.scores, cnt, err, n) < 0)
        goto done;
    rc = 0;
done:
    free(v);
    ds_close(&di);
    return rc;
}

/* An image-index dataset: in range and non-decreasing; fills first[N+1]. */
static int rd_index(h5in *f, const char *name, int64_t count, int32_t **out, int64_t **first,
                    char *err, size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    if (ds_open(f, name, 1, 0, &di, err, n) < 0)
        return -1;
    if (check_dim(f, name, &di, 0, count, "its group's count", err, n) < 0 ||
        !(v = rd_int_array(f, &di, name, (size_t)count, err, n)))
        goto done;
    *out = malloc((size_t)count * sizeof(int32_t));
    *first = calloc((size_t)f->m.N + 1, sizeof(int64_t));
    if (!*out || !*first) {
        fail(f, err, n, name, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        if (v[i] < 0 || v[i] >= f->m.N) {
            fail(f, err, n, name, "image index %lld at element %lld is out of range 0..%lld",
                 (long long)v[i], (long long)i, (long long)f->m.N - 1);
            goto done;
        }
        if (i > 0 && v[i] < v[i - 1]) {
            fail(f, err, n, name, "decreasing at element %lld (%lld after %lld); must be non-decreasing",
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
    ds_close(&di);
    return rc;
}

static int rd_class_index(h5in *f, const char *name, int64_t count, int32_t **out, char *err,
                          size_t n)
{
    dsinfo di;
    int rc = -1;
    int64_t *v = NULL;
    if (ds_open(f, name, 1, 0, &di, err, n) < 0)
        return -1;
    if (check_dim(f, name, &di, 0, count, "its group's count", err, n) < 0 ||
        !(v = rd_int_array(f, &di, name, (size_t)count, err, n)))
        goto done;
    if (!(*out = malloc((size_t)count * sizeof(int32_t)))) {
        fail(f, err, n, name, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < count; i++) {
        if (v[i] < 0 || v[i] >= f->m.C) {
            fail(f, err, n, name, "class %lld at element %lld is out of range 0..%d",
                 (long long)v[i], (long long)i, f->m.C - 1);
            goto done;
        }
        (*out)[i] = (int32_t)v[i];
    }
    rc = 0;
done:
    free(v);
    ds_close(&di);
    return rc;
}

static int rd_targets(h5in *f, char *err, size_t n)
{
    dsinfo di;
    if (ds_open(f, "/targets/image", 1, 0, &di, err, n) < 0)
        return -1;
    hsize_t T = di.dims[0];
    ds_close(&di);
    if (check_count(f, "/targets/image", T, 1, MAX_COUNT, "T (targets)", err, n) < 0)
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
    if (ds_open(f, "/boxes/image", 1, 0, &di, err, n) < 0)
        return -1;
    hsize_t B = di.dims[0];
    ds_close(&di);
    if (check_count(f, "/boxes/image", B, 1, MAX_COUNT, "B (boxes)", err, n) < 0)
        return -1;
    f->m.B = (int64_t)B;
    if (rd_index(f, "/boxes/image", f->m.B, &f->m.bimg, &f->m.bfirst, err, n) < 0 ||
        rd_class_index(f, "/boxes/class", f->m.B, &f->m.bcls, err, n) < 0)
        return -1;
    if (ds_open(f, "/boxes/xyxy", 2, 0, &di, err, n) < 0)
        return -1;
    if (check_dim(f, "/boxes/xyxy", &di, 0, f->m.B, "B from /boxes/image", err, n) < 0 ||
        check_dim(f, "/boxes/xyxy", &di, 1, 4, "x0, y0, x1, y1", err, n) < 0)
        goto done;
    if (!(f->m.bxyxy = malloc((size_t)f->m.B * 4 * sizeof(float)))) {
        fail(f, err, n, "/boxes/xyxy", "out of memory");
        goto done;
    }
    if (rd_floats_small(f, &di, "/boxes/xyxy", f->m.bxyxy, (size_t)f->m.B * 4, err, n) < 0)
        goto done;
    for (int64_t b = 0; b < f->m.B; b++) {
        float *x = f->m.bxyxy + 4 * b;
        int64_t img = f->m.bimg[b];
        float H = (float)f->m.size[2 * img], W = (float)f->m.size[2 * img + 1];
        if (!(x[2] > x[0]) || !(x[3] > x[1])) {
            fail(f, err, n, "/boxes/xyxy", "box %lld is empty or inverted (%g,%g,%g,%g)",
                 (long long)b, x[0], x[1], x[2], x[3]);
            goto done;
        }
        if (x[2] <= 0 || x[3] <= 0 || x[0] >= W || x[1] >= H) {
            fail(f, err, n, "/boxes/xyxy",
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
    ds_close(&di);
    f->m.bdiff = calloc((size_t)f->m.B, 1);
    if (!f->m.bdiff) {
        fail(f, err, n, "/boxes/difficult", "out of memory");
        goto done;
    }
    int r = ds_open(f, "/boxes/difficult", 1, 1, &di, err, n);
    if (r < 0)
        goto done;
    if (r == 1) {
        f->m.has_difficult = 1;
        if (check_dim(f, "/boxes/difficult", &di, 0, f->m.B, "B from /boxes/image", err, n) < 0 ||
            !(v = rd_int_array(f, &di, "/boxes/difficult", (size_t)f->m.B, err, n)))
            goto done;
        for (int64_t b = 0; b < f->m.B; b++) {
            if (v[b] != 0 && v[b] != 1) {
                fail(f, err, n, "/boxes/difficult", "value %lld at box %lld; expected 0 or 1",
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
    ds_close(&di);
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
    if (ds_open(f, "/activations", 4, 0, &di, err, n) < 0)
        return -1;
    f->dA = di.d;
    if (float_type(f, &di, "/activations", &f->a_half, &f->m.dtype_a, err, n) < 0 ||
        check_dim(f, "/activations", &di, 0, f->m.N, "N from /images/size", err, n) < 0 ||
        check_count(f, "/activations", di.dims[1], 1, MAX_CHANNELS, "K (channels)", err, n) < 0 ||
        check_count(f, "/activations", di.dims[2], 1, MAX_FEAT, "h", err, n) < 0 ||
        check_count(f, "/activations", di.dims[3], 1, MAX_FEAT, "w", err, n) < 0)
        return -1;
    if (dims_product(di.dims + 1, 3, (uint64_t)1 << 31, &prod) < 0)
        return fail(f, err, n, "/activations", "K*h*w = %llu*%llu*%llu is too large (limit 2^31)",
                    (unsigned long long)di.dims[1], (unsigned long long)di.dims[2],
                    (unsigned long long)di.dims[3]);
    f->m.K = (int64_t)di.dims[1];
    f->m.h = (int64_t)di.dims[2];
    f->m.w = (int64_t)di.dims[3];

    if (ds_open(f, "/targets/gradients", 4, 0, &di, err, n) < 0)
        return -1;
    f->dG = di.d;
    if (float_type(f, &di, "/targets/gradients", &f->g_half, &f->m.dtype_g, err, n) < 0 ||
        check_dim(f, "/targets/gradients", &di, 0, f->m.T, "T from /targets/image", err, n) < 0 ||
        check_dim(f, "/targets/gradients", &di, 1, f->m.K, "K from /activations", err, n) < 0 ||
        check_dim(f, "/targets/gradients", &di, 2, f->m.h, "h from /activations", err, n) < 0 ||
        check_dim(f, "/targets/gradients", &di, 3, f->m.w, "w from /activations", err, n) < 0)
        return -1;

    int r = ds_open(f, "/targets/saliency", 3, 1, &di, err, n);
    if (r < 0)
        return -1;
    if (r == 1) {
        int half;
        f->dS = di.d;
        f->m.has_saliency = 1;
        if (float_type(f, &di, "/targets/saliency", &half, NULL, err, n) < 0)
            return -1;
        if (half)
            return fail(f, err, n, "/targets/saliency", "float16 is not supported here; use float32");
        if (check_dim(f, "/targets/saliency", &di, 0, f->m.T, "T from /targets/image", err, n) < 0)
            return -1;
        f->m.sal_h = (int64_t)di.dims[1];
        f->m.sal_w = (int64_t)di.dims[2];
        for (int64_t t = 0; t < f->m.T; t++) {
            int64_t i = f->m.timg[t];
            if (f->m.size[2 * i] != f->m.sal_h || f->m.size[2 * i + 1] != f->m.sal_w)
                return fail(f, err, n, "/targets/saliency",
                            "maps are %lldx%lld but image %lld of target %lld is %dx%d",
                            (long long)f->m.sal_h, (long long)f->m.sal_w, (long long)i,
                            (long long)t, f->m.size[2 * i], f->m.size[2 * i + 1]);
        }
    }

    r = ds_open(f, "/images/pixels", 4, 1, &di, err, n);
    if (r < 0)
        return -1;
    if (r == 1) {
        f->dP = di.d;
        f->m.has_pixels = 1;
        if (di.cls != H5T_INTEGER)
            return fail(f, err, n, "/images/pixels", "type is %s, expected uint8",
                        class_name(di.cls));
        if (check_dim(f, "/images/pixels", &di, 0, f->m.N, "N from /images/size", err, n) < 0)
            return -1;
        if (di.dims[3] != 1 && di.dims[3] != 3)
            return fail(f, err, n, "/images/pixels", "%llu channels, expected 1 or 3",
                        (unsigned long long)di.dims[3]);
        f->m.pix_h = (int64_t)di.dims[1];
        f->m.pix_w = (int64_t)di.dims[2];
        f->m.pix_ch = (int64_t)di.dims[3];
        for (int64_t i = 0; i < f->m.N; i++)
            if (f->m.size[2 * i] != f->m.pix_h || f->m.size[2 * i + 1] != f->m.pix_w)
                return fail(f, err, n, "/images/pixels",
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
            return fail(f, err, n, "/@schema",
                        "schema \"%s\" is not supported; this build reads gradcam-study/1", s);
        return fail(f, err, n, "/@schema", "\"%s\" is not a gradcam-study schema", s);
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
            fail(f, err, errlen, "-", "not an HDF5 file (or truncated)");
            goto bad;
        }
        hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
        if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 ||
            H5Pset_file_image(fapl, (void *)(uintptr_t)image, len) < 0) {
            if (fapl >= 0)
                H5Pclose(fapl);
            fail(f, err, errlen, "-", "cannot set up an in-memory file");
            goto bad;
        }
        f->fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
        H5Pclose(fapl);
    } else {
        FILE *probe = fopen(path, "rb");
        if (!probe) {
            fail(f, err, errlen, "-", "cannot open: %s", strerror(errno));
            goto bad;
        }
        fclose(probe);
        if (H5Fis_hdf5(path) <= 0) {
            fail(f, err, errlen, "-", "not an HDF5 file (or truncated)");
            goto bad;
        }
        f->fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    if (f->fid < 0) {
        fail(f, err, errlen, "-", "HDF5 cannot open it (corrupt or truncated)");
        goto bad;
    }
    if (check_schema(f, err, errlen) < 0 || rd_classes(f, err, errlen) < 0 ||
        rd_images(f, err, errlen) < 0 || rd_labels_scores(f, err, errlen) < 0 ||
        rd_targets(f, err, errlen) < 0 || rd_boxes(f, err, errlen) < 0 ||
        rd_big_shapes(f, err, errlen) < 0)
        goto bad;
    *out = f;
    return 0;
bad:
    h5in_close(f);
    return -1;
}

/* Validate path's metadata in a child process. 0: the child opened it
 * cleanly; -1: refused (err set: the child's own message, or its crash). */
static int probe_in_child(const char *path, char *err, size_t errlen)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 0; /* cannot isolate: fall back to reading in this process */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0)
            dup2(dn, 2);
        progress_fd = fds[1];
        wd_seconds = 0; /* the parent keeps the time */
        h5in *f = NULL;
        char e[H5IN_ERRLEN];
        int rc = open_any(&f, path, NULL, 0, e, sizeof e);
        char line[H5IN_ERRLEN + 8];
        int n = rc == 0 ? snprintf(line, sizeof line, "OK\n")
                        : snprintf(line, sizeof line, "E%s\n", e);
        if (write(fds[1], line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1)) < 0)
            _exit(3);
        _exit(0);
    }
    close(fds[1]);
    char buf[8192], last[300] = "-", verdict[H5IN_ERRLEN + 8] = "";
    size_t have = 0;
    int timed_out = 0;
    for (;;) {
        struct pollfd pf = {fds[0], POLLIN, 0};
        int pr = poll(&pf, 1, wd_seconds ? (int)wd_seconds * 1000 : -1);
        if (pr == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        ssize_t r = read(fds[0], buf + have, sizeof buf - 1 - have);
        if (r <= 0)
            break;
        have += (size_t)r;
        buf[have] = 0;
        char *nl;
        while ((nl = strchr(buf, '\n')) != NULL) {
            *nl = 0;
            if (buf[0] == 'W')
                snprintf(last, sizeof last, "%.250s", buf + 1);
            else
                snprintf(verdict, sizeof verdict, "%.500s", buf);
            size_t used = (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, have - used + 1);
            have -= used;
        }
        if (have >= sizeof buf - 1)
            have = 0; /* an absurdly long line: drop it */
    }
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        snprintf(err, errlen, "%s: %s: the HDF5 library did not return within %u s "
                 "(a corrupt file can make it loop)", path, last, wd_seconds);
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && verdict[0]) {
        if (!strcmp(verdict, "OK"))
            return 0;
        snprintf(err, errlen, "%s", verdict + 1);
        return -1;
    }
    snprintf(err, errlen, "%s: %s: the HDF5 library crashed reading it (a corrupt file)", path,
             last);
    return -1;
}

int h5in_open(h5in **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    if (isolate && probe_in_child(path, err, errlen) < 0)
        return -1;
    wd_arm(path, "-");
    int rc = open_any(out, path, NULL, 0, err, errlen);
    wd_disarm();
    return rc;
}

int h5in_open_image(h5in **out, const void *image, size_t len, const char *name, char *err,
                    size_t errlen)
{
    wd_arm(name, "-");
    int rc = open_any(out, name, image, len, err, errlen);
    wd_disarm();
    return rc;
}

const h5in_meta *h5in_meta_of(const h5in *f)
{
    return &f->m;
}

/* Index of the first non-finite value of x[0..n), or n. Blocks of 4096 are
 * first OR-reduced on the exponent bits (a loop the compiler vectorises:
 * about 0.1 ns a value instead of a branch per value); only a block that
 * holds a bad value is searched again. */
static size_t first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i += 4096) {
        size_t e = n - i < 4096 ? n : i + 4096;
        uint32_t bad = 0;
        for (size_t j = i; j < e; j++) {
            uint32_t u;
            memcpy(&u, &x[j], sizeof u);
            bad |= (u & 0x7f800000u) == 0x7f800000u;
        }
        if (bad)
            for (size_t j = i; j < e; j++)
                if (!isfinite(x[j]))
                    return j;
    }
    return n;
}

/* Read rows [r0, r0 + nr) of a 3- or 4-d float dataset into dst (float),
 * row = product of the other dims. */
static int rd_rows(h5in *f, hid_t d, int half, const char *name, float *dst, int64_t r0,
                   int64_t nr, char *err, size_t n)
{
    hid_t fs = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(fs);
    hsize_t dims[4], start[4] = {0, 0, 0, 0}, count[4];
    H5Sget_simple_extent_dims(fs, dims, NULL);
    size_t row = 1;
    for (int i = 0; i < rank; i++) {
        count[i] = dims[i];
        if (i > 0)
            row *= (size_t)dims[i];
    }
    start[0] = (hsize_t)r0;
    count[0] = (hsize_t)nr;
    size_t total = row * (size_t)nr;
    int rc = 0;
    wd_arm(f->m.path, name);
    /* the memory space has the selection's own shape: with a flat one,
       libhdf5 maps every element through H5S_select_iterate (~10x slower) */
    hid_t ms = H5Screate_simple(rank, count, NULL);
    if (ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
        rc = fail(f, err, n, name, "cannot select rows %lld..%lld", (long long)r0,
                  (long long)(r0 + nr - 1));
        goto done;
    }
    if (half) {
        /* raw halves into the tail of dst, expanded front to back */
        uint16_t *raw = (uint16_t *)(void *)((char *)dst + total * sizeof(uint16_t));
        hid_t t = H5Dget_type(d), mt = H5Tcopy(t);
        H5Tset_order(mt, H5Tget_order(H5T_NATIVE_USHORT));
        herr_t e = H5Dread(d, mt, ms, fs, H5P_DEFAULT, raw);
        H5Tclose(mt);
        H5Tclose(t);
        if (e < 0) {
            rc = fail(f, err, n, name, "read of rows %lld..%lld failed", (long long)r0,
                      (long long)(r0 + nr - 1));
            goto done;
        }
        uint16_t bounce[4096];
        for (size_t i = 0; i < total; i += 4096) {
            size_t c = total - i < 4096 ? total - i : 4096;
            memcpy(bounce, raw + i, c * sizeof(uint16_t));
            half_to_float(dst + i, bounce, c);
        }
    } else if (H5Dread(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, dst) < 0) {
        rc = fail(f, err, n, name, "read of rows %lld..%lld failed", (long long)r0,
                  (long long)(r0 + nr - 1));
        goto done;
    }
    size_t i = first_nonfinite(dst, total);
    if (i < total)
        rc = fail(f, err, n, name, "non-finite value (%g) at row %lld, element %zu", dst[i],
                  (long long)(r0 + (int64_t)(i / row)), i % row);
done:
    if (ms >= 0)
        H5Sclose(ms);
    H5Sclose(fs);
    wd_disarm();
    return rc;
}

int h5in_read_acts(h5in *f, float *dst, int64_t i0, int64_t n, char *err, size_t errlen)
{
    return rd_rows(f, f->dA, f->a_half, "/activations", dst, i0, n, err, errlen);
}

int h5in_read_grads(h5in *f, float *dst, int64_t t0, int64_t n, char *err, size_t errlen)
{
    return rd_rows(f, f->dG, f->g_half, "/targets/gradients", dst, t0, n, err, errlen);
}

int h5in_read_saliency(h5in *f, float *dst, int64_t t0, int64_t n, char *err, size_t errlen)
{
    if (!f->m.has_saliency)
        return fail(f, err, errlen, "/targets/saliency", "absent");
    return rd_rows(f, f->dS, 0, "/targets/saliency", dst, t0, n, err, errlen);
}

int h5in_read_pixels(h5in *f, uint8_t *dst, int64_t i, char *err, size_t errlen)
{
    if (!f->m.has_pixels)
        return fail(f, err, errlen, "/images/pixels", "absent");
    hid_t fs = H5Dget_space(f->dP);
    hsize_t start[4] = {(hsize_t)i, 0, 0, 0};
    hsize_t count[4] = {1, (hsize_t)f->m.pix_h, (hsize_t)f->m.pix_w, (hsize_t)f->m.pix_ch};
    hsize_t total = count[1] * count[2] * count[3];
    hid_t ms = H5Screate_simple(1, &total, NULL);
    int rc = 0;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(f->dP, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, dst) < 0)
        rc = fail(f, err, errlen, "/images/pixels", "read of image %lld failed", (long long)i);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc;
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
