/* h5util.h: small HDF5 reading helpers shared by the input readers (h5in for
 * schema-v1 inputs, curves for Question 6's curves files). */
#ifndef H5UTIL_H
#define H5UTIL_H

#include <hdf5.h>

/* 1 when every component of the absolute path exists as a link (so that
 * H5Lexists is never asked about a path whose parent is missing), else 0;
 * paths of 256 bytes or more count as absent. */
int h5u_path_exists(hid_t fid, const char *path);

/* 1 when the object at path (which exists) is a dataset, else 0. Opens
 * the object and asks its identifier's type: H5Oget_info_by_name would do,
 * but in HDF5 1.10 it also totals the chunk index's size, a walk of the
 * whole index (44 ms on a 4,000-target file, once in the probe and once
 * again in the parent). */
int h5u_is_dataset(hid_t fid, const char *path);

/* The one string held by attribute a of type t (class H5T_STRING and one
 * element: the caller checks both), into a new string (*out, to free):
 * variable length, or fixed length ending at its first NUL. NULL on success,
 * else what failed ("read failed", "out of memory"), *out then NULL. */
const char *h5u_attr_string(hid_t a, hid_t t, char **out);

#endif
