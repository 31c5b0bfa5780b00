/* jsonw.c: streaming JSON writer.
 *
 * DESIGN
 * Objects and arrays are written as they come, two-space indented, with a
 * member counter per depth for the commas. Strings are escaped per RFC 8259.
 * Numbers use "%.10g", enough for every metric here and stable across runs;
 * a non-finite number is a bug upstream, so it is written as null and flagged
 * (jw_end then fails), never emitted as NaN. All fputs/fprintf results are
 * folded into w->err.
 *
 * Thread safety: one writer per thread.
 */
#include "pipeline/output/jsonw.h"

#include <math.h>
#include <inttypes.h>

void jw_init(jw *w, FILE *f)
{
    w->f = f;
    w->depth = 0;
    w->count[0] = 0;
    w->err = 0;
}

static void put(jw *w, const char *s)
{
    if (fputs(s, w->f) < 0)
        w->err = 1;
}

static void put_str(jw *w, const char *s)
{
    put(w, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char buf[8];
        if (*p == '"' || *p == '\\') {
            buf[0] = '\\'; buf[1] = (char)*p; buf[2] = 0;
        } else if (*p < 0x20) {
            snprintf(buf, sizeof buf, "\\u%04x", *p);
        } else {
            buf[0] = (char)*p; buf[1] = 0;
        }
        put(w, buf);
    }
    put(w, "\"");
}

static void indent(jw *w)
{
    put(w, "\n");
    for (int i = 0; i < w->depth; i++)
        put(w, "  ");
}

/* Comma, newline, indentation and key before a member. */
static void member(jw *w, const char *key)
{
    if (w->depth > 0) {
        if (w->count[w->depth]++ > 0)
            put(w, ",");
        indent(w);
    }
    if (key) {
        put_str(w, key);
        put(w, ": ");
    }
}

static void open_(jw *w, const char *key, const char *c)
{
    member(w, key);
    put(w, c);
    if (w->depth + 1 >= JW_MAXDEPTH) {
        w->err = 1;
        return;
    }
    w->count[++w->depth] = 0;
}

static void close_(jw *w, const char *c)
{
    int had = w->count[w->depth];
    if (w->depth > 0)
        w->depth--;
    if (had)
        indent(w);
    put(w, c);
}

void jw_obj(jw *w, const char *key) { open_(w, key, "{"); }
void jw_obj_end(jw *w) { close_(w, "}"); }
void jw_arr(jw *w, const char *key) { open_(w, key, "["); }
void jw_arr_end(jw *w) { close_(w, "]"); }

void jw_str(jw *w, const char *key, const char *s)
{
    member(w, key);
    put_str(w, s ? s : "");
}

static void put_num(jw *w, double v)
{
    char buf[40];
    if (!isfinite(v)) {
        w->err = 1;
        put(w, "null");
        return;
    }
    if (v == 0.0)
        v = 0.0; /* no "-0" */
    snprintf(buf, sizeof buf, "%.10g", v);
    put(w, buf);
}

void jw_num(jw *w, const char *key, double v)
{
    member(w, key);
    put_num(w, v);
}

void jw_int(jw *w, const char *key, int64_t v)
{
    char buf[32];
    member(w, key);
    snprintf(buf, sizeof buf, "%" PRId64, v);
    put(w, buf);
}

void jw_bool(jw *w, const char *key, int v)
{
    member(w, key);
    put(w, v ? "true" : "false");
}

void jw_nums(jw *w, const char *key, const double *v, int n)
{
    member(w, key);
    put(w, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            put(w, ", ");
        put_num(w, v[i]);
    }
    put(w, "]");
}

int jw_end(jw *w)
{
    put(w, "\n");
    if (fflush(w->f) != 0)
        w->err = 1;
    return w->err ? -1 : 0;
}
