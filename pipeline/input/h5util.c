/* h5util.c: small HDF5 reading helpers shared by the input readers.
 *
 * DESIGN
 * Two pieces both readers (h5in.c, curves.c) need with the same rules: a
 * link check that walks the path from the root, and the read of a string
 * attribute in either of HDF5's string layouts. They return a status, and
 * each caller words its own one-line error (the file and the dataset it
 * names differ).
 *
 * Thread safety: main thread only (HDF5 calls stay on one thread).
 */
#include "pipeline/input/h5util.h"

#include <stdlib.h>
#include <string.h>

int h5u_path_exists(hid_t fid, const char *path)
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

int h5u_is_dataset(hid_t fid, const char *path)
{
    hid_t o = H5Oopen(fid, path, H5P_DEFAULT);
    if (o < 0)
        return 0;
    int r = H5Iget_type(o) == H5I_DATASET;
    H5Oclose(o);
    return r;
}

const char *h5u_attr_string(hid_t a, hid_t t, char **out)
{
    const char *why = NULL;
    *out = NULL;
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_cset(mt, H5Tget_cset(t));
    if (H5Tis_variable_str(t) > 0) {
        H5Tset_size(mt, H5T_VARIABLE);
        char *s = NULL;
        if (H5Aread(a, mt, &s) < 0 || !s) {
            why = "read failed";
        } else {
            *out = strdup(s);
            H5free_memory(s);
        }
    } else {
        size_t sz = H5Tget_size(t);
        char *s = calloc(sz + 1, 1);
        H5Tset_size(mt, sz);
        H5Tset_strpad(mt, H5T_STR_NULLPAD);
        if (!s || H5Aread(a, mt, s) < 0) {
            free(s);
            why = s ? "read failed" : "out of memory";
        } else {
            *out = s;
        }
    }
    H5Tclose(mt);
    if (!why && !*out)
        why = "out of memory";
    return why;
}
