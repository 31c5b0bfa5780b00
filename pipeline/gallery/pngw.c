/* pngw.c: 8-bit RGB PNG writer on libpng.
 *
 * DESIGN
 * libpng reports errors by calling an error function that must not return;
 * ours records libpng's message and longjmps back to the setjmp in
 * write_body(). That function sets no local variable after setjmp that is
 * read after the jump, so nothing needs `volatile`; the png structures are
 * destroyed by the caller, which never jumps. libpng's default write
 * function turns a short fwrite into png_error ("Write Error"); the flush
 * and close at the end are checked here (fflush, ferror, fsync, fclose), so
 * a full disk is an error, never a truncated PNG reported as written.
 * Output is a pure function of the pixels: no tIME/tEXt chunks, a fixed
 * compression level and the default filter heuristics.
 *
 * Thread safety: reentrant (no globals); each call owns its png_struct.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/gallery/pngw.h"

#include <png.h> /* libpng: angle brackets search -I paths, not this directory */

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char msg[200];
} pngw_ctx;

static void on_error(png_structp p, png_const_charp msg)
{
    pngw_ctx *ctx = png_get_error_ptr(p);
    if (ctx)
        snprintf(ctx->msg, sizeof ctx->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(p, 1);
}

static void on_warning(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg; /* warnings (none expected for plain RGB) are not errors */
}

/* The libpng calls; 0, or -1 when libpng reported an error. */
static int write_body(png_structp p, png_infop info, FILE *f, const uint8_t *rgb, int w, int h)
{
    if (setjmp(png_jmpbuf(p)))
        return -1;
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(p, 6);
    png_write_info(p, info);
    for (int y = 0; y < h; y++)
        png_write_row(p, rgb + (size_t)y * (size_t)w * 3);
    png_write_end(p, info);
    return 0;
}

int pngw_write_rgb(const char *path, const uint8_t *rgb, int w, int h, char *err, size_t errlen)
{
    if (w < 1 || h < 1 || w > PNGW_MAX_SIDE || h > PNGW_MAX_SIDE) {
        snprintf(err, errlen, "%s: -: image size %dx%d out of range", path, w, h);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: -: cannot create: %s", path, strerror(errno));
        return -1;
    }
    pngw_ctx ctx;
    ctx.msg[0] = 0;
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_error, on_warning);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    int rc = 0;
    if (!p || !info) {
        snprintf(err, errlen, "%s: -: out of memory (libpng)", path);
        rc = -1;
    } else if (write_body(p, info, f, rgb, w, h) != 0) {
        snprintf(err, errlen, "%s: -: PNG write failed: %s", path,
                 ctx.msg[0] ? ctx.msg : "libpng error");
        rc = -1;
    }
    if (p)
        png_destroy_write_struct(&p, info ? &info : NULL);
    int bad = ferror(f);
    if (fflush(f) != 0)
        bad = 1;
    if (fsync(fileno(f)) != 0 && errno != EINVAL)
        bad = 1;
    if (fclose(f) != 0)
        bad = 1;
    if (bad && rc == 0) {
        snprintf(err, errlen, "%s: -: write failed: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}
