/* h5in_ds.c: checked access to one dataset of an input file: open it with
 * its rank, type and size, read small ones whole, and check dimensions and
 * counts, each failure a "FILE: DATASET: problem" message. The schema's
 * validation (h5in.c) is a sequence of these.
 *
 * Thread safety: as h5in.c (one thread per h5in).
 */
#include "pipeline/input/h5in_int.h"
#include "pipeline/input/h5util.h"

#include "pipeline/input/guard.h"
#include "pipeline/input/half.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int h5in_fail(const h5in *f, char *err, size_t n, const char *ds, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, n, "%s: %s: %s", f->m.path, ds, msg);
    return -1;
}

/* 1 when d is stored in chunks with no filter (compression, checksum). */
static int unfiltered_chunks(hid_t d)
{
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0)
        return 0;
    int r = H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_nfilters(dcpl) == 0;
    H5Pclose(dcpl);
    return r;
}

/* Open dataset `name`; rank must be `rank`. 1 ok, 0 absent (when optional),
 * -1 error (message written). */
int h5in_ds_open(h5in *f, const char *name, int rank, int optional, dsinfo *di,
                   char *err, size_t n)
{
    memset(di, 0, sizeof *di);
    di->d = H5I_INVALID_HID;
    guard_note(name);
    if (!h5u_path_exists(f->fid, name)) {
        if (optional)
            return 0;
        return h5in_fail(f, err, n, name, "missing (required by schema v1)");
    }
    if (!h5u_is_dataset(f->fid, name))
        return h5in_fail(f, err, n, name, "not a dataset");
    di->d = H5Dopen2(f->fid, name, H5P_DEFAULT);
    if (di->d >= 0 && unfiltered_chunks(di->d)) {
        /* reopened without a chunk cache: the reads take whole rows in
           batches, so a chunk is read once (twice at a batch boundary) and
           never revisited, and an unfiltered chunk then goes straight into
           the caller's buffer instead of through the cache and a memcpy
           (about 0.07 ms of CPU a 400 KB target). Filtered chunks keep the
           cache: without it a chunk spanning several batches would be
           decompressed once per batch. */
        hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
        if (dapl >= 0 && H5Pset_chunk_cache(dapl, 0, 0, H5D_CHUNK_CACHE_W0_DEFAULT) >= 0) {
            /* closed first: an open dataset's cache is shared by every open
               of it, and a second open would keep the first one's */
            H5Dclose(di->d);
            di->d = H5Dopen2(f->fid, name, dapl);
        }
        if (dapl >= 0)
            H5Pclose(dapl);
    }
    if (di->d < 0)
        return h5in_fail(f, err, n, name, "cannot open dataset");
    hid_t sp = H5Dget_space(di->d);
    if (sp < 0) {
        H5Dclose(di->d);
        di->d = H5I_INVALID_HID;
        return h5in_fail(f, err, n, name, "cannot read its dataspace");
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
        return h5in_fail(f, err, n, name, "rank %d, expected %d", r, rank);
    }
    di->rank = r;
    return 1;
}

void h5in_ds_close(dsinfo *di)
{
    if (di->d >= 0)
        H5Dclose(di->d);
    di->d = H5I_INVALID_HID;
}

const char *h5in_class_name(H5T_class_t c)
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

/* A transfer property list whose type-conversion buffer fits `count`
 * elements of `elem` bytes (4 KiB to 1 MiB), or H5P_DEFAULT. A string read
 * that converts (int32 to int64, a string layout) gets a conversion buffer
 * that libhdf5 1.10 zero-fills, by default 1 MiB: for a file's dozen small
 * datasets, a few ms of page faults and memset per open, twice (the probe
 * and the parent). */
static hid_t small_xfer(size_t count, size_t elem)
{
    size_t need = count * elem, bs = need < 4096 ? 4096 : need > (1u << 20) ? (1u << 20) : need;
    if (bs < elem)
        bs = elem;
    hid_t x = H5Pcreate(H5P_DATASET_XFER);
    if (x >= 0 && H5Pset_buffer(x, bs, NULL, NULL) < 0) {
        H5Pclose(x);
        x = -1;
    }
    return x >= 0 ? x : H5P_DEFAULT;
}

/* H5Dread of the whole of d as memory type mt through small_xfer. */
static herr_t small_read(hid_t d, hid_t mt, size_t count, size_t elem, void *dst)
{
    hid_t x = small_xfer(count, elem);
    herr_t e = H5Dread(d, mt, H5S_ALL, H5S_ALL, x, dst);
    if (x != H5P_DEFAULT)
        H5Pclose(x);
    return e;
}

/* Read a whole integer dataset into int64 (any integer type). */
int h5in_rd_ints(h5in *f, dsinfo *di, const char *name, int64_t *dst, char *err, size_t n)
{
    if (di->cls != H5T_INTEGER)
        return h5in_fail(f, err, n, name, "type is %s, expected integer", h5in_class_name(di->cls));
    size_t count = 1;
    for (int i = 0; i < di->rank; i++)
        count *= (size_t)di->dims[i];
    if (small_read(di->d, H5T_NATIVE_INT64, count, di->tsize > 8 ? di->tsize : 8, dst) < 0)
        return h5in_fail(f, err, n, name, "read failed");
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
int h5in_float_type(h5in *f, dsinfo *di, const char *name, int *half, const char **dtype,
                      char *err, size_t n)
{
    *half = 0;
    if (di->cls != H5T_FLOAT)
        return h5in_fail(f, err, n, name, "type is %s, expected float16/32/64",
                    h5in_class_name(di->cls));
    if (di->tsize == 2) {
        hid_t t = H5Dget_type(di->d);
        int ok = is_half(t);
        H5Tclose(t);
        if (!ok)
            return h5in_fail(f, err, n, name, "2-byte float that is not IEEE binary16");
        *half = 1;
        if (dtype) *dtype = "float16";
    } else if (di->tsize == 4) {
        if (dtype) *dtype = "float32";
    } else if (di->tsize == 8) {
        if (dtype) *dtype = "float64";
    } else {
        return h5in_fail(f, err, n, name, "unsupported %zu-byte float", di->tsize);
    }
    return 0;
}

int h5in_check_dim(h5in *f, const char *name, const dsinfo *di, int axis, int64_t want,
                     const char *what, char *err, size_t n)
{
    if ((int64_t)di->dims[axis] != want)
        return h5in_fail(f, err, n, name, "dimension %d is %llu, expected %lld (%s)", axis,
                    (unsigned long long)di->dims[axis], (long long)want, what);
    return 0;
}

int h5in_check_count(h5in *f, const char *name, hsize_t v, int64_t lo, int64_t hi,
                       const char *what, char *err, size_t n)
{
    if ((int64_t)v < lo || (int64_t)v > hi || v > (hsize_t)INT64_MAX)
        return h5in_fail(f, err, n, name, "%s is %llu, expected %lld..%lld", what,
                    (unsigned long long)v, (long long)lo, (long long)hi);
    return 0;
}

/* A small integer dataset of `count` elements into a new int64 array. */
int64_t *h5in_rd_int_array(h5in *f, dsinfo *di, const char *name, size_t count, char *err,
                             size_t n)
{
    int64_t *v = malloc((count ? count : 1) * sizeof *v);
    if (!v) {
        h5in_fail(f, err, n, name, "out of memory");
        return NULL;
    }
    if (h5in_rd_ints(f, di, name, v, err, n) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* Read a small float dataset (any float type) as float and check finiteness. */
int h5in_rd_floats_small(h5in *f, dsinfo *di, const char *name, float *dst, size_t count,
                           char *err, size_t n)
{
    int half;
    if (h5in_float_type(f, di, name, &half, NULL, err, n) < 0)
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
            return h5in_fail(f, err, n, name, "read failed");
        }
        half_to_float(dst, raw, count);
        free(raw);
    } else {
        if (small_read(di->d, H5T_NATIVE_FLOAT, count, di->tsize > 4 ? di->tsize : 4, dst) < 0)
            return h5in_fail(f, err, n, name, "read failed");
    }
    for (size_t i = 0; i < count; i++)
        if (!isfinite(dst[i]))
            return h5in_fail(f, err, n, name, "non-finite value at element %zu", i);
    return 0;
}


int h5in_rd_strings(h5in *f, dsinfo *di, const char *name, size_t count, char ***out, char *err,
                    size_t n)
{
    char **v = calloc(count ? count : 1, sizeof(char *));
    *out = v;
    if (!v)
        return h5in_fail(f, err, n, name, "out of memory");
    int rc = 0;
    hid_t t = H5Dget_type(di->d);
    if (H5Tis_variable_str(t) > 0) {
        char **tmp = calloc(count ? count : 1, sizeof(char *));
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        size_t el = H5Tget_size(t) > sizeof(char *) ? H5Tget_size(t) : sizeof(char *);
        if (!tmp || small_read(di->d, mt, count, el + 16, tmp) < 0) {
            rc = h5in_fail(f, err, n, name, "read failed");
        } else {
            for (size_t i = 0; i < count && rc == 0; i++) {
                v[i] = strdup(tmp[i] ? tmp[i] : "");
                if (!v[i])
                    rc = h5in_fail(f, err, n, name, "out of memory");
            }
            hid_t sp = H5Dget_space(di->d);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
            H5Sclose(sp);
        }
        free(tmp);
        H5Tclose(mt);
    } else {
        size_t sz = H5Tget_size(t);
        char *buf = calloc(count ? count : 1, sz + 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz);
        H5Tset_strpad(mt, H5T_STR_NULLPAD);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (!buf || small_read(di->d, mt, count, sz, buf) < 0) {
            rc = h5in_fail(f, err, n, name, "read failed");
        } else {
            for (size_t i = 0; i < count && rc == 0; i++) {
                v[i] = strndup(buf + i * sz, sz);
                if (!v[i])
                    rc = h5in_fail(f, err, n, name, "out of memory");
            }
        }
        free(buf);
        H5Tclose(mt);
    }
    H5Tclose(t);
    return rc;
}
