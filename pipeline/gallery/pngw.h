/* pngw.h: writing 8-bit RGB PNG files with libpng (prefix pngw_: libpng owns png_). */
#ifndef GCS_PNGW_H
#define GCS_PNGW_H

#include <stddef.h>
#include <stdint.h>

/* Largest width or height pngw_write_rgb accepts (libpng's default user limit). */
#define PNGW_MAX_SIDE 1000000

/* Write rgb: (h, w, 3) uint8, row-major, to a new file at path (truncated if
 * it exists): 8-bit RGB, no interlace, no time or text chunks, fixed zlib
 * level, so the same pixels always give the same bytes. Every libpng, stdio
 * and close result is checked. Returns 0, or -1 with "PATH: -: problem" in
 * err; on failure the partly written file is left for the caller (who writes
 * to a temporary name) to remove. */
int pngw_write_rgb(const char *path, const uint8_t *rgb, int w, int h, char *err, size_t errlen);

#endif
