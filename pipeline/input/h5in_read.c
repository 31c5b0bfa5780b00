/* h5in_read.c: the big arrays of an input, read in batches of rows:
 * activations, gradients, saliency, pixels.
 *
 * DESIGN
 * float16 is read raw (HDF5's own conversion is ~650x slower) into the tail
 * of the caller's float buffer and expanded in place, front to back, through
 * a small bounce buffer: element i's output bytes never reach raw elements
 * not yet converted. Every value read is checked finite (the check is fused
 * into one vectorised pass over the block just read), and a bad one is
 * refused with its row and element. Each read runs under the watchdog.
 *
 * Thread safety: an h5in is read from one thread at a time.
 */
#include "pipeline/input/h5in_int.h"

#include "pipeline/input/guard.h"
#include "pipeline/input/half.h"

#include <math.h>
#include <string.h>

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
    guard_arm(f->m.path, name);
    /* the memory space has the selection's own shape: with a flat one,
       libhdf5 maps every element through H5S_select_iterate (~10x slower) */
    hid_t ms = H5Screate_simple(rank, count, NULL);
    if (ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0) {
        rc = h5in_fail(f, err, n, name, "cannot select rows %lld..%lld", (long long)r0,
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
            rc = h5in_fail(f, err, n, name, "read of rows %lld..%lld failed", (long long)r0,
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
        rc = h5in_fail(f, err, n, name, "read of rows %lld..%lld failed", (long long)r0,
                  (long long)(r0 + nr - 1));
        goto done;
    }
    size_t i = first_nonfinite(dst, total);
    if (i < total)
        rc = h5in_fail(f, err, n, name, "non-finite value (%g) at row %lld, element %zu", dst[i],
                  (long long)(r0 + (int64_t)(i / row)), i % row);
done:
    if (ms >= 0)
        H5Sclose(ms);
    H5Sclose(fs);
    guard_disarm();
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
        return h5in_fail(f, err, errlen, "/targets/saliency", "absent");
    return rd_rows(f, f->dS, 0, "/targets/saliency", dst, t0, n, err, errlen);
}

int h5in_read_pixels(h5in *f, uint8_t *dst, int64_t i, char *err, size_t errlen)
{
    if (!f->m.has_pixels)
        return h5in_fail(f, err, errlen, "/images/pixels", "absent");
    hid_t fs = H5Dget_space(f->dP);
    hsize_t start[4] = {(hsize_t)i, 0, 0, 0};
    hsize_t count[4] = {1, (hsize_t)f->m.pix_h, (hsize_t)f->m.pix_w, (hsize_t)f->m.pix_ch};
    hsize_t total = count[1] * count[2] * count[3];
    hid_t ms = H5Screate_simple(1, &total, NULL);
    int rc = 0;
    if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(f->dP, H5T_NATIVE_UINT8, ms, fs, H5P_DEFAULT, dst) < 0)
        rc = h5in_fail(f, err, errlen, "/images/pixels", "read of image %lld failed", (long long)i);
    H5Sclose(ms);
    H5Sclose(fs);
    return rc;
}

