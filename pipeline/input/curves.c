/* curves.c: the one reader of causal curves files (`gradcam-study-curves/1`,
 * README "summary.json", `causal`; scripts/causal.py writes them).
 *
 * DESIGN
 * The whole file is small (a few doubles per target, order and step), so
 * cv_read reads every dataset whole and checks all of it before the run
 * writes anything: presence, rank, dimensions, type (strings, integers,
 * float64), finiteness, the step rule k_s = (s n + S/2) / S with n = h w of
 * the input, the reference and order names (orders: the engine's
 * feature-resolution variants, `random` last), and the input's targets
 * (image and class, element by element). The input's sha256 is checked by
 * cv_check_input once the run's digest is known (before anything is
 * renamed into place). Every problem is "FILE: DATASET: problem".
 * As for inputs (guard.c), the metadata is read first in a forked child, so
 * a libhdf5 crash on a corrupt file is a refusal, and every HDF5 call runs
 * under the watchdog.
 *
 * Thread safety: main thread only (HDF5; the probe forks).
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/input/curves.h"
#include "pipeline/input/h5util.h"

#include "pipeline/common/variants.h"
#include "pipeline/input/digest.h"
#include "pipeline/input/guard.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ELEMS ((int64_t)1 << 28) /* doubles in one dataset (2 GiB) */

typedef struct {
    hid_t fid;
    const char *path;
    char *err;
    size_t errlen;
} rd;

static int fail(rd *r, const char *ds, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(rd *r, const char *ds, const char *fmt, ...)
{
    char msg[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->errlen, "%s: %s: %s", r->path, ds, msg);
    return -1;
}

/* A scalar string attribute of the root group into a new string. */
static int attr_str(rd *r, const char *name, char **out)
{
    char where[64];
    snprintf(where, sizeof where, "/@%s", name);
    *out = NULL;
    if (H5Aexists(r->fid, name) <= 0)
        return fail(r, where, "attribute missing (required by " CV_SCHEMA ")");
    hid_t a = H5Aopen(r->fid, name, H5P_DEFAULT);
    if (a < 0)
        return fail(r, where, "cannot open attribute");
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    int rc = 0;
    if (H5Tget_class(t) != H5T_STRING) {
        rc = fail(r, where, "not a string");
    } else if (np != 1) {
        rc = fail(r, where, "expected one string, found %lld", (long long)np);
    } else {
        const char *why = h5u_attr_string(a, t, out);
        if (why)
            rc = fail(r, where, "%s", why);
    }
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

static int attr_i64(rd *r, const char *name, int64_t *v)
{
    char where[64];
    snprintf(where, sizeof where, "/@%s", name);
    if (H5Aexists(r->fid, name) <= 0)
        return fail(r, where, "attribute missing (required by " CV_SCHEMA ")");
    hid_t a = H5Aopen(r->fid, name, H5P_DEFAULT);
    if (a < 0)
        return fail(r, where, "cannot open attribute");
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    int rc = 0;
    if (H5Tget_class(t) != H5T_INTEGER)
        rc = fail(r, where, "not an integer");
    else if (H5Sget_simple_extent_npoints(sp) != 1)
        rc = fail(r, where, "expected one integer");
    else if (H5Aread(a, H5T_NATIVE_INT64, v) < 0)
        rc = fail(r, where, "read failed");
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

enum { K_STR, K_INT, K_F64 };

/* Open dataset name: rank, element kind and dims (want[i] >= 0: must equal,
 * with what[i] naming it). Returns the dataset, or -1 with err. */
static hid_t ds_open(rd *r, const char *name, int rank, int kind, const int64_t *want,
                     const char *const *what, hsize_t *dims)
{
    guard_note(name);
    if (!h5u_path_exists(r->fid, name))
        return fail(r, name, "missing (required by " CV_SCHEMA ")");
    if (!h5u_is_dataset(r->fid, name))
        return fail(r, name, "not a dataset");
    hid_t d = H5Dopen2(r->fid, name, H5P_DEFAULT);
    if (d < 0)
        return fail(r, name, "cannot open dataset");
    hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
    int rk = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (rk >= 0 && rk <= 8)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    H5T_class_t cls = H5Tget_class(t);
    size_t tsize = H5Tget_size(t);
    if (sp >= 0)
        H5Sclose(sp);
    H5Tclose(t);
    int rc = 0;
    int64_t n = 1;
    if (rk != rank)
        rc = fail(r, name, "rank %d, expected %d", rk, rank);
    else if (kind == K_STR && cls != H5T_STRING)
        rc = fail(r, name, "type is not string");
    else if (kind == K_INT && cls != H5T_INTEGER)
        rc = fail(r, name, "type is not integer");
    else if (kind == K_F64 && (cls != H5T_FLOAT || tsize != 8))
        rc = fail(r, name, "type is not float64");
    for (int i = 0; i < rank && rc == 0; i++) {
        if (want[i] >= 0 && (int64_t)dims[i] != want[i])
            rc = fail(r, name, "dimension %d is %llu, expected %lld (%s)", i,
                      (unsigned long long)dims[i], (long long)want[i], what[i]);
        else if (dims[i] > (hsize_t)MAX_ELEMS || (n *= (int64_t)dims[i]) > MAX_ELEMS)
            rc = fail(r, name, "too large (more than %lld elements)", (long long)MAX_ELEMS);
    }
    if (rc < 0) {
        H5Dclose(d);
        return -1;
    }
    return d;
}

/* A float64 dataset of the given dims, whole, every value finite. */
static double *rd_f64(rd *r, const char *name, int rank, const int64_t *want,
                      const char *const *what)
{
    hsize_t dims[8];
    hid_t d = ds_open(r, name, rank, K_F64, want, what, dims);
    if (d < 0)
        return NULL;
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    double *v = malloc((n ? n : 1) * sizeof *v);
    int rc = 0;
    if (!v)
        rc = fail(r, name, "out of memory");
    else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        rc = fail(r, name, "read failed");
    for (size_t i = 0; i < n && rc == 0; i++)
        if (!isfinite(v[i]))
            rc = fail(r, name, "non-finite value at element %zu", i);
    H5Dclose(d);
    if (rc < 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* A rank-1 integer dataset of want elements (want < 0: any, *count set),
 * each in [lo, hi], as int32. */
static int32_t *rd_i32(rd *r, const char *name, int64_t want, const char *what, int64_t lo,
                       int64_t hi, int64_t *count)
{
    hsize_t dims[8];
    hid_t d = ds_open(r, name, 1, K_INT, &want, &what, dims);
    if (d < 0)
        return NULL;
    size_t n = (size_t)dims[0];
    int64_t *v = malloc((n ? n : 1) * sizeof *v);
    int32_t *o = malloc((n ? n : 1) * sizeof *o);
    int rc = 0;
    if (!v || !o)
        rc = fail(r, name, "out of memory");
    else if (H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        rc = fail(r, name, "read failed");
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (v[i] < lo || v[i] > hi)
            rc = fail(r, name, "element %zu is %lld, expected %lld..%lld", i, (long long)v[i],
                      (long long)lo, (long long)hi);
        else
            o[i] = (int32_t)v[i];
    }
    H5Dclose(d);
    free(v);
    if (rc < 0) {
        free(o);
        return NULL;
    }
    if (count)
        *count = (int64_t)n;
    return o;
}

/* A rank-1 string dataset (variable or fixed length) of 1..maxn entries. */
static char **rd_strs(rd *r, const char *name, int maxn, int *count)
{
    hsize_t dims[8];
    int64_t any = -1;
    const char *what = "";
    hid_t d = ds_open(r, name, 1, K_STR, &any, &what, dims);
    if (d < 0)
        return NULL;
    if (dims[0] < 1 || dims[0] > (hsize_t)maxn) {
        fail(r, name, "%llu entries, expected 1..%d", (unsigned long long)dims[0], maxn);
        H5Dclose(d);
        return NULL;
    }
    size_t n = (size_t)dims[0];
    char **v = calloc(n, sizeof *v);
    hid_t t = H5Dget_type(d);
    int rc = v ? 0 : fail(r, name, "out of memory");
    if (rc == 0 && H5Tis_variable_str(t) > 0) {
        char **tmp = calloc(n, sizeof *tmp);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));
        if (!tmp || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) < 0) {
            rc = fail(r, name, "read failed");
        } else {
            for (size_t i = 0; i < n && rc == 0; i++)
                if (!(v[i] = strdup(tmp[i] ? tmp[i] : "")))
                    rc = fail(r, name, "out of memory");
            hid_t sp = H5Dget_space(d);
            H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, tmp);
            H5Sclose(sp);
        }
        free(tmp);
        H5Tclose(mt);
    } else if (rc == 0) {
        size_t sz = H5Tget_size(t);
        char *buf = calloc(n, sz + 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz);
        H5Tset_strpad(mt, H5T_STR_NULLPAD);
        if (!buf || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            rc = fail(r, name, "read failed");
        for (size_t i = 0; i < n && rc == 0; i++)
            if (!(v[i] = strndup(buf + i * sz, sz)))
                rc = fail(r, name, "out of memory");
        free(buf);
        H5Tclose(mt);
    }
    H5Tclose(t);
    H5Dclose(d);
    if (rc < 0) {
        for (size_t i = 0; v && i < n; i++)
            free(v[i]);
        free(v);
        return NULL;
    }
    *count = (int)n;
    return v;
}

static void free_strs(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static int rd_attrs(rd *r, cv_file *c)
{
    char *schema = NULL;
    if (attr_str(r, "schema", &schema) < 0)
        return -1;
    int rc = 0;
    if (strcmp(schema, CV_SCHEMA) != 0)
        rc = fail(r, "/@schema", "\"%s\", expected \"" CV_SCHEMA "\"%s", schema,
                  strncmp(schema, "gradcam-study-curves/", 21) == 0 ? " (unsupported version)"
                                                                    : "");
    free(schema);
    if (rc < 0 || attr_str(r, "input_sha256", &c->input_sha256) < 0)
        return -1;
    size_t len = strlen(c->input_sha256);
    for (size_t i = 0; i < len && len == 64; i++)
        if (!strchr("0123456789abcdef", c->input_sha256[i]))
            len = 0;
    if (len != 64)
        return fail(r, "/@input_sha256", "\"%.80s\" is not 64 lower-case hex digits",
                    c->input_sha256);
    if (attr_str(r, "network", &c->network) < 0 || attr_str(r, "layer", &c->layer) < 0 ||
        attr_i64(r, "seed", &c->seed) < 0)
        return -1;
    return 0;
}

/* /references and /orders: known names, in order, no repeats. */
static int rd_names(rd *r, cv_file *c)
{
    char **refs = rd_strs(r, "/references", CV_MAXREF, &c->R);
    if (!refs)
        return -1;
    int rc = 0;
    for (int i = 0; i < c->R && rc == 0; i++) {
        int mu = !strcmp(refs[i], "mu");
        if (!mu && strcmp(refs[i], "zero") != 0)
            rc = fail(r, "/references", "unknown reference \"%.60s\" (zero, mu)", refs[i]);
        else if (i > 0 && mu <= c->ref_mu[i - 1])
            rc = fail(r, "/references", "expected zero then mu, each at most once");
        else
            c->ref_mu[i] = mu;
    }
    free_strs(refs, c->R);
    if (rc < 0 || !(c->orders = rd_strs(r, "/orders", VAR_N + 1, &c->O)))
        return -1;
    c->gradcam = c->random = -1;
    for (int o = 0; o < c->O; o++) {
        const char *s = c->orders[o];
        int v = var_index(s);
        if (!strcmp(s, "random")) {
            if (o != c->O - 1)
                return fail(r, "/orders", "`random` must be the last order");
            c->random = o;
            continue;
        }
        if (v < 0 || v == VAR_SALIENCY)
            return fail(r, "/orders", "unknown order \"%.60s\" (a feature-resolution variant "
                        "of this engine, or random)", s);
        for (int p = 0; p < o; p++)
            if (!strcmp(c->orders[p], s))
                return fail(r, "/orders", "\"%s\" appears twice", s);
        if (v == CAM_GRADCAM)
            c->gradcam = o;
    }
    if (c->random == c->O - 1 && c->O == 1)
        return fail(r, "/orders", "no variant order, only random");
    return 0;
}

/* /cells: S + 1 step counts following k_s = (s n + S / 2) / S. */
static int rd_cells(rd *r, cv_file *c, int64_t n)
{
    int64_t cnt = 0;
    if (!(c->cells = rd_i32(r, "/cells", -1, "", 0, n, &cnt)))
        return -1;
    if (cnt < 2)
        return fail(r, "/cells", "%lld entries, expected at least 2 (steps + 1)", (long long)cnt);
    int64_t S = cnt - 1;
    if (S > n)
        return fail(r, "/cells", "%lld steps for %lld cells (at most one step per cell)",
                    (long long)S, (long long)n);
    c->S = (int)S;
    for (int64_t s = 1; s <= S; s++)
        if (c->cells[s] < c->cells[s - 1])
            return fail(r, "/cells", "not non-decreasing at element %lld (%d after %d)",
                        (long long)s, c->cells[s], c->cells[s - 1]);
    for (int64_t s = 0; s <= S; s++)
        if (c->cells[s] != (s * n + S / 2) / S)
            return fail(r, "/cells", "element %lld is %d, expected (s n + S/2) / S = %lld "
                        "(n = %lld cells, S = %lld steps)", (long long)s, c->cells[s],
                        (long long)((s * n + S / 2) / S), (long long)n, (long long)S);
    return 0;
}

static int rd_targets(rd *r, cv_file *c, const h5in_meta *m)
{
    static const char *const nm[2] = {"/targets/image", "/targets/class"};
    const int32_t *want[2] = {m->timg, m->tcls};
    for (int k = 0; k < 2; k++) {
        int32_t *v = rd_i32(r, nm[k], m->T, "the input's targets", INT32_MIN, INT32_MAX, NULL);
        if (!v)
            return -1;
        int64_t bad = -1;
        for (int64_t t = 0; t < m->T && bad < 0; t++)
            if (v[t] != want[k][t])
                bad = t;
        int32_t got = bad >= 0 ? v[bad] : 0;
        free(v);
        if (bad >= 0)
            return fail(r, nm[k], "target %lld is %d, the input's is %d (curves of another "
                        "file?)", (long long)bad, got, want[k][bad]);
    }
    c->T = m->T;
    return 0;
}

static int rd_values(rd *r, cv_file *c, const h5in_meta *m)
{
    const int64_t T = m->T, R = c->R, O = c->O, P = c->S + 1;
    static const char *const w_t[1] = {"targets"};
    static const char *const w_rt[2] = {"references", "targets"};
    static const char *const w_rots[4] = {"references", "orders", "targets", "steps + 1"};
    static const char *const w_rt2[3] = {"references", "targets", "2"};
    static const char *const w_rt3[3] = {"references", "targets", "3"};
    int64_t d_t[1] = {T}, d_rt[2] = {R, T}, d_rots[4] = {R, O, T, P};
    int64_t d_rt2[3] = {R, T, 2}, d_rt3[3] = {R, T, 3};
    if (!(c->y_orig = rd_f64(r, "/y/original", 1, d_t, w_t)) ||
        !(c->y_ref = rd_f64(r, "/y/reference", 2, d_rt, w_rt)) ||
        !(c->del = rd_f64(r, "/deletion", 4, d_rots, w_rots)) ||
        !(c->ins = rd_f64(r, "/insertion", 4, d_rots, w_rots)) ||
        !(c->n_neg = rd_i32(r, "/claim/n_neg", T, "targets", 0, m->h * m->w, NULL)) ||
        !(c->n_others = rd_i32(r, "/claim/n_others", T, "targets", 0, m->C - 1, NULL)) ||
        !(c->claim_target = rd_f64(r, "/claim/target", 3, d_rt2, w_rt2)) ||
        !(c->claim_others = rd_f64(r, "/claim/others", 3, d_rt3, w_rt3)))
        return -1;
    return 0;
}

/* Everything from an open file. */
static int rd_all(rd *r, cv_file *c, const h5in_meta *m)
{
    if (rd_attrs(r, c) < 0 || rd_names(r, c) < 0 || rd_cells(r, c, m->h * m->w) < 0 ||
        rd_targets(r, c, m) < 0 || rd_values(r, c, m) < 0)
        return -1;
    return 0;
}

void cv_free(cv_file *c)
{
    free(c->path);
    free(c->input_sha256);
    free(c->network);
    free(c->layer);
    free_strs(c->orders, c->O);
    free(c->cells);
    free(c->y_orig);
    free(c->y_ref);
    free(c->del);
    free(c->ins);
    free(c->n_neg);
    free(c->n_others);
    free(c->claim_target);
    free(c->claim_others);
    memset(c, 0, sizeof *c);
}

/* Open, read and check (in this process). */
static int read_here(cv_file *c, const char *path, const h5in_meta *m, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    rd r = {H5I_INVALID_HID, path, err, errlen};
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return fail(&r, "-", "cannot open: %s", strerror(errno));
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0)
        return fail(&r, "-", "not an HDF5 file (or truncated)");
    r.fid = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (r.fid < 0)
        return fail(&r, "-", "HDF5 cannot open it (corrupt or truncated)");
    int rc = rd_all(&r, c, m);
    H5Fclose(r.fid);
    if (rc < 0)
        cv_free(c);
    return rc;
}

/* The forked probe's view: its open function takes only a path. */
static const h5in_meta *probe_meta;

static int probe_read(const char *path, char *err, size_t errlen)
{
    cv_file c;
    int rc = read_here(&c, path, probe_meta, err, errlen);
    if (rc == 0)
        cv_free(&c);
    return rc;
}

int cv_read(cv_file *c, const char *path, const h5in_meta *m, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    probe_meta = m;
    H5open(); /* inherited by the probe's child (see h5in_open) */
    if (guard_isolation() && guard_probe(path, probe_read, err, errlen) < 0)
        return -1;
    guard_arm(path, "-");
    int rc = read_here(c, path, m, err, errlen);
    guard_disarm();
    if (rc < 0)
        return -1;
    int64_t bytes;
    if (!(c->path = strdup(path)) ||
        dg_file_sha256(path, c->sha256, &bytes, NULL, err, errlen) < 0) {
        if (!c->path)
            snprintf(err, errlen, "%s: -: out of memory", path);
        cv_free(c);
        return -1;
    }
    return 0;
}

int cv_check_input(const cv_file *c, const char *input_sha256, const char *input_path,
                   char *err, size_t errlen)
{
    if (strcmp(c->input_sha256, input_sha256) == 0)
        return 0;
    snprintf(err, errlen, "%s: /@input_sha256: %.16s... is not the sha256 of %s (%.16s...): "
             "curves of another file, or of an older version of it", c->path, c->input_sha256,
             input_path, input_sha256);
    return -1;
}

const char *cv_ref_name(const cv_file *c, int r)
{
    return c->ref_mu[r] ? "mu" : "zero";
}
