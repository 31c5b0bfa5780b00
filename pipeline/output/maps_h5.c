/* maps_out.c: writes /maps/<variant> and /maps/mu.
 *
 * DESIGN
 * Datasets are contiguous and sized up front ([T, h, w] float32); each batch
 * of targets is one hyperslab write per variant, picked out of the batch's
 * (nt, nmaps, hw) buffer by a strided memory selection, so nothing is
 * copied. Object timestamps are off (H5Pset_obj_track_times) on the group
 * and the datasets, which makes the file a pure function of the data.
 *
 * Thread safety: main thread only (HDF5 calls stay on one thread).
 */
#include "pipeline/output/maps_h5.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

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
