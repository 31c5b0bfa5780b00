/* half.h: IEEE binary16 -> float conversion (pure numerics). */
#ifndef HALF_H
#define HALF_H

#include <stddef.h>
#include <stdint.h>

/* in: (n) IEEE binary16 bit patterns, native byte order -> out: (n) float.
 * Exact (every half is a float): zeros keep their sign, subnormals, normals
 * and infinities map to the same value, a NaN stays a NaN (payload and sign
 * kept). out and in must not overlap. */
void half_to_float(float *out, const uint16_t *in, size_t n);

/* Naive twin (test oracle): sign, exponent and mantissa decoded with ldexp.
 * Same values; its NaNs are a default quiet NaN (payload not kept). */
void half_to_float_ref(float *out, const uint16_t *in, size_t n);

#endif
