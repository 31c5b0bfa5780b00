/* maps_h5.c: maps.h5, the optional map output of `run --save-maps`: its one
 * writer (/maps/<variant> and /maps/mu) and its one reader (the gallery's).
 *
 * DESIGN
 * Datasets are contiguous and sized up front ([T, h, w] float32); each batch
 * of targets is one hyperslab write per variant, picked out of the batch's
 * (nt, nmaps, hw) buffer by a strided memory selection, so nothing is
 * copied. Object timestamps are off (H5Pset_obj_track_times) on the group
 * and the datasets, which makes the file a pure function of the data.
 *
 * The reader checks each dataset asked for: present, rank-3 float,
 * [T, h, w] as the input says, and every value read finite.
 *
 * Thread safety: main thread only (HDF5 calls stay on one thread).
 */
#include "pipeline/output/maps_h5.h"

#include <hdf5.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H5OUT_MAXV 32

struct maps_out {
    const char *path;
    hid_t fid, grp, ds[H5OUT_MAXV], mu;
    int nv, vidx[H5OUT_MAXV], nmaps;
    int64_t T, hw;
};

static int fail(const char *path, char *err, size_t n, const char *what)
{
    snprintf(err, n, "%s: /maps: %s", path, what);
    return -1;
}

int maps_create(maps_out **out, const char *path, int64_t T, int64_t h, int64_t w, int64_t K,
                 int nv, const char *const *names, const int *vidx, int nmaps,
                 char *err, size_t errlen)
{
    *out = NULL;
    if (nv > H5OUT_MAXV)
        return fail(path, err, errlen, "too many variants");
    maps_out *o = calloc(1, sizeof *o);
    if (!o)
        return fail(path, err, errlen, "out of memory");
    o->fid = o->grp = o->mu = H5I_INVALID_HID;
    for (int i = 0; i < H5OUT_MAXV; i++)
        o->ds[i] = H5I_INVALID_HID;
    o->nv = nv;
    o->nmaps = nmaps;
    o->T = T;
    o->hw = h * w;
    o->path = path;
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    int rc = -1;
    H5Pset_obj_track_times(gcpl, 0);
    H5Pset_obj_track_times(dcpl, 0);
    o->fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (o->fid < 0) {
        fail(path, err, errlen, "cannot create file");
        goto done;
    }
    o->grp = H5Gcreate2(o->fid, "maps", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    if (o->grp < 0) {
        fail(path, err, errlen, "cannot create group");
        goto done;
    }
    hsize_t dims[3] = {(hsize_t)T, (hsize_t)h, (hsize_t)w};
    hid_t sp = H5Screate_simple(3, dims, NULL);
    for (int i = 0; i < nv; i++) {
        o->vidx[i] = vidx[i];
        o->ds[i] = H5Dcreate2(o->grp, names[i], H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl,
                              H5P_DEFAULT);
        if (o->ds[i] < 0) {
            H5Sclose(sp);
            fail(path, err, errlen, "cannot create a variant dataset");
            goto done;
        }
    }
    H5Sclose(sp);
    hsize_t kd = (hsize_t)K;
    sp = H5Screate_simple(1, &kd, NULL);
    o->mu = H5Dcreate2(o->grp, "mu", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Sclose(sp);
    if (o->mu < 0) {
        fail(path, err, errlen, "cannot create mu");
        goto done;
    }
    rc = 0;
done:
    H5Pclose(gcpl);
    H5Pclose(dcpl);
    if (rc < 0) {
        char e2[8];
        maps_close(o, e2, sizeof e2);
        return rc;
    }
    *out = o;
    return 0;
}

int maps_write(maps_out *o, int64_t t0, int64_t nt, const float *maps, char *err, size_t errlen)
{
    hsize_t mdims[3] = {(hsize_t)nt, (hsize_t)o->nmaps, (hsize_t)o->hw};
    hid_t ms = H5Screate_simple(3, mdims, NULL);
    int rc = 0;
    for (int i = 0; i < o->nv && rc == 0; i++) {
        hsize_t mstart[3] = {0, (hsize_t)o->vidx[i], 0}, mcount[3] = {(hsize_t)nt, 1, (hsize_t)o->hw};
        hid_t fs = H5Dget_space(o->ds[i]);
        hsize_t fdims[3];
        H5Sget_simple_extent_dims(fs, fdims, NULL);
        hsize_t fstart[3] = {(hsize_t)t0, 0, 0}, fcount[3] = {(hsize_t)nt, fdims[1], fdims[2]};
        if (H5Sselect_hyperslab(ms, H5S_SELECT_SET, mstart, NULL, mcount, NULL) < 0 ||
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, fstart, NULL, fcount, NULL) < 0 ||
            H5Dwrite(o->ds[i], H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, maps) < 0)
            rc = fail(o->path, err, errlen, "write failed (disk full?)");
        H5Sclose(fs);
    }
    H5Sclose(ms);
    return rc;
}

int maps_write_mu(maps_out *o, const double *mu, char *err, size_t errlen)
{
    if (H5Dwrite(o->mu, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, mu) < 0)
        return fail(o->path, err, errlen, "write of mu failed");
    return 0;
}

int maps_close(maps_out *o, char *err, size_t errlen)
{
    if (!o)
        return 0;
    int rc = 0;
    for (int i = 0; i < H5OUT_MAXV; i++)
        if (o->ds[i] >= 0 && H5Dclose(o->ds[i]) < 0)
            rc = -1;
    if (o->mu >= 0 && H5Dclose(o->mu) < 0)
        rc = -1;
    if (o->grp >= 0 && H5Gclose(o->grp) < 0)
        rc = -1;
    if (o->fid >= 0 && H5Fclose(o->fid) < 0)
        rc = -1;
    if (rc < 0)
        fail(o->path, err, errlen, "close failed (disk full?)");
    free(o);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

struct maps_in {
    const char *path;
    hid_t fid, ds[MAPS_MAXV];
    const char *const *names;
    int nv;
    int64_t h, w;
};

static void in_close(maps_in *mf)
{
    for (int v = 0; v < mf->nv; v++)
        if (mf->ds[v] >= 0)
            H5Dclose(mf->ds[v]);
    if (mf->fid >= 0)
        H5Fclose(mf->fid);
    mf->fid = H5I_INVALID_HID;
    for (int v = 0; v < mf->nv; v++)
        mf->ds[v] = H5I_INVALID_HID;
}

static int in_open(maps_in *mf, const char *path, const char *const *names, int nv, int64_t T,
                   int64_t h, int64_t w, const char *input, char *err, size_t errlen)
{
    mf->path = path;
    mf->fid = H5I_INVALID_HID;
    mf->names = names;
    mf->nv = nv;
    mf->h = h;
    mf->w = w;
    for (int v = 0; v < mf->nv; v++)
        mf->ds[v] = H5I_INVALID_HID;
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: -: cannot open: %s (run with --save-maps)", path,
                 strerror(errno));
        return -1;
    }
    if (H5Fis_hdf5(path) <= 0 || (mf->fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        snprintf(err, errlen, "%s: -: not a readable HDF5 file", path);
        return -1;
    }
    if (H5Lexists(mf->fid, "/maps", H5P_DEFAULT) <= 0) {
        snprintf(err, errlen, "%s: /maps: missing", path);
        goto bad;
    }
    for (int v = 0; v < mf->nv; v++) {
        char name[64];
        snprintf(name, sizeof name, "/maps/%s", mf->names[v]);
        if (H5Lexists(mf->fid, name, H5P_DEFAULT) <= 0) {
            snprintf(err, errlen, "%s: %s: missing (run limited with --variants?)", path, name);
            goto bad;
        }
        mf->ds[v] = H5Dopen2(mf->fid, name, H5P_DEFAULT);
        if (mf->ds[v] < 0) {
            snprintf(err, errlen, "%s: %s: cannot open dataset", path, name);
            goto bad;
        }
        hid_t sp = H5Dget_space(mf->ds[v]), ty = H5Dget_type(mf->ds[v]);
        hsize_t d[3] = {0, 0, 0};
        int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        if (rank == 3)
            H5Sget_simple_extent_dims(sp, d, NULL);
        H5T_class_t cls = ty >= 0 ? H5Tget_class(ty) : H5T_NO_CLASS;
        if (sp >= 0)
            H5Sclose(sp);
        if (ty >= 0)
            H5Tclose(ty);
        if (rank != 3 || cls != H5T_FLOAT) {
            snprintf(err, errlen, "%s: %s: not a rank-3 float dataset", path, name);
            goto bad;
        }
        if ((int64_t)d[0] != T || (int64_t)d[1] != h || (int64_t)d[2] != w) {
            snprintf(err, errlen,
                     "%s: %s: shape [%llu, %llu, %llu], but %s has T=%lld, %lldx%lld "
                     "(not the input the run scored?)",
                     path, name, (unsigned long long)d[0], (unsigned long long)d[1],
                     (unsigned long long)d[2], input, (long long)T, (long long)h,
                     (long long)w);
            goto bad;
        }
    }
    return 0;
bad:
    in_close(mf);
    return -1;
}

/* Map of target t, variant v into dst: (h, w). */
int maps_read(const maps_in *mf, int v, int64_t t, float *dst, char *err, size_t errlen)
{
    hsize_t start[3] = {(hsize_t)t, 0, 0}, count[3] = {1, (hsize_t)mf->h, (hsize_t)mf->w};
    hsize_t total = count[1] * count[2];
    hid_t fs = H5Dget_space(mf->ds[v]);
    hid_t ms = H5Screate_simple(1, &total, NULL);
    int rc = 0;
    if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dread(mf->ds[v], H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, dst) < 0) {
        snprintf(err, errlen, "%s: /maps/%s: read of target %lld failed", mf->path, mf->names[v],
                 (long long)t);
        rc = -1;
    }
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    for (hsize_t i = 0; rc == 0 && i < total; i++)
        if (!isfinite(dst[i])) {
            snprintf(err, errlen, "%s: /maps/%s: target %lld has a non-finite value", mf->path,
                     mf->names[v], (long long)t);
            rc = -1;
        }
    return rc;
}

int maps_open_read(maps_in **out, const char *path, const char *const *names, int nv, int64_t T,
                   int64_t h, int64_t w, const char *input, char *err, size_t errlen)
{
    *out = NULL;
    if (nv < 1 || nv > MAPS_MAXV) {
        snprintf(err, errlen, "%s: /maps: %d variants asked for (1..%d)", path, nv, MAPS_MAXV);
        return -1;
    }
    maps_in *mf = calloc(1, sizeof *mf);
    if (!mf) {
        snprintf(err, errlen, "%s: -: out of memory", path);
        return -1;
    }
    if (in_open(mf, path, names, nv, T, h, w, input, err, errlen) < 0) {
        free(mf);
        return -1;
    }
    *out = mf;
    return 0;
}

void maps_close_read(maps_in *mf)
{
    if (!mf)
        return;
    in_close(mf);
    free(mf);
}
