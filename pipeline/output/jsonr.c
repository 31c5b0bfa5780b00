/* jsonr.c: a small strict JSON reader building a DOM (RFC 8259).
 *
 * DESIGN
 * Recursive descent over the whole text held in memory, one function per
 * grammar rule; each value records the line and column where it starts so
 * that callers can point at a bad value. Strict: no comments, no trailing
 * commas, no NaN/Infinity, no leading zeros or '+', no control characters or
 * invalid UTF-8 inside strings, no lone surrogates, no byte order mark, no
 * content after the value; numbers that overflow a double are refused
 * rather than turned into infinities. Everything valid is accepted: any
 * nesting up to JR_MAXDEPTH, \u escapes (surrogate pairs joined, \u0000 kept,
 * see jr_val.len), repeated member names (jr_get returns the last one).
 * Numbers are checked against the grammar first, then converted by strtod
 * (the C locale: the program never calls setlocale).
 * Invariants: a returned tree is complete; on error everything allocated so
 * far is freed and NULL returned with "line L column C: problem".
 *
 * Thread safety: no globals; distinct trees may be used from any thread.
 */
#include "pipeline/output/jsonr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *s, *p, *end;
    const char *line_start;
    int line;
    char *err;
    size_t errlen;
    int failed;
    char found[16];  /* describe()'s text for a character */
} parser;

static void fail_at(parser *ps, const char *at, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = 1;
    /* recompute line and column of `at` from the start (errors are rare) */
    int line = 1;
    const char *ls = ps->s;
    for (const char *q = ps->s; q < at; q++)
        if (*q == '\n')
            line++, ls = q + 1;
    int n = snprintf(ps->err, ps->errlen, "line %d column %d: ", line, (int)(at - ls) + 1);
    if (n < 0 || (size_t)n >= ps->errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '\n') {
            ps->line++;
            ps->line_start = ps->p + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        ps->p++;
    }
}

static const char *describe(parser *ps)
{
    if (ps->p >= ps->end)
        return "the end of the file";
    unsigned char c = (unsigned char)*ps->p;
    if (c > 0x20 && c < 0x7F)
        snprintf(ps->found, sizeof ps->found, "'%c'", c);
    else
        snprintf(ps->found, sizeof ps->found, "byte 0x%02X", c);
    return ps->found;
}

static void mark(parser *ps, jr_val *v)
{
    v->line = ps->line;
    v->col = (int)(ps->p - ps->line_start) + 1;
}

static int parse_value(parser *ps, jr_val *v, int depth);

/* Grow a buffer of elem-sized items to hold at least need items. */
static int grow(void **buf, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int nc = *cap ? *cap * 2 : 8;
    while (nc < need)
        nc *= 2;
    void *nb = realloc(*buf, (size_t)nc * elem);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = nc;
    return 0;
}

static int hex4(const char *q, unsigned *out)
{
    unsigned u = 0;
    for (int i = 0; i < 4; i++) {
        char c = q[i];
        u <<= 4;
        if (c >= '0' && c <= '9')
            u |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            u |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            u |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = u;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence at q (bytes >= 0x80 only), 0 if invalid. */
static size_t utf8_len(const unsigned char *q, const unsigned char *end)
{
    unsigned c = q[0];
    size_t n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - q) < n)
        return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((q[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (q[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* ps->p at the opening quote; on success *out is a malloc'd string. */
static int parse_string(parser *ps, char **out, size_t *outlen)
{
    const char *open = ps->p++;
    /* the decoded string is never longer than the source text */
    const char *q = ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\' && q + 1 < ps->end)
            q++;
        q++;
    }
    char *o = malloc((size_t)(q - ps->p) + 1);
    if (!o) {
        fail_at(ps, open, "out of memory");
        return -1;
    }
    size_t n = 0;
    for (;;) {
        if (ps->p >= ps->end) {
            fail_at(ps, open, "unterminated string (the file ends inside it)");
            break;
        }
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            o[n] = 0;
            *out = o;
            *outlen = n;
            return 0;
        }
        if (c < 0x20) {
            fail_at(ps, ps->p, c == '\n' ? "unterminated string (a line break inside it)"
                                         : "control character inside a string (escape it)");
            break;
        }
        if (c >= 0x80) {
            size_t k = utf8_len((const unsigned char *)ps->p, (const unsigned char *)ps->end);
            if (!k) {
                fail_at(ps, ps->p, "invalid UTF-8 inside a string");
                break;
            }
            memcpy(o + n, ps->p, k);
            n += k;
            ps->p += k;
            continue;
        }
        if (c != '\\') {
            o[n++] = (char)c;
            ps->p++;
            continue;
        }
        const char *esc = ps->p;
        if (ps->p + 1 >= ps->end) {
            fail_at(ps, open, "unterminated string (the file ends inside it)");
            break;
        }
        char e = ps->p[1];
        ps->p += 2;
        const char *simple = "\"\\/bfnrt", *mapped = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(simple, e) : NULL;
        if (hit) {
            o[n++] = mapped[hit - simple];
            continue;
        }
        unsigned cp, lo;
        if (e != 'u' || ps->end - ps->p < 4 || hex4(ps->p, &cp) < 0) {
            fail_at(ps, esc, e == 'u' ? "bad \\u escape (four hex digits expected)"
                                      : "unknown escape sequence in a string");
            break;
        }
        ps->p += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail_at(ps, esc, "lone low surrogate in a \\u escape");
            break;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                hex4(ps->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
                fail_at(ps, esc, "high surrogate not followed by a low surrogate");
                break;
            }
            ps->p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        n += put_utf8(o + n, cp);
    }
    free(o);
    return -1;
}

static int parse_number(parser *ps, jr_val *v)
{
    const char *start = ps->p, *q = ps->p, *e = ps->end;
    if (q < e && *q == '-')
        q++;
    if (q >= e || *q < '0' || *q > '9') {
        fail_at(ps, start, "bad number (a digit must follow '-')");
        return -1;
    }
    if (*q == '0') {
        q++;
        if (q < e && *q >= '0' && *q <= '9') {
            fail_at(ps, start, "bad number (leading zero)");
            return -1;
        }
    } else {
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < e && *q == '.') {
        q++;
        if (q >= e || *q < '0' || *q > '9') {
            fail_at(ps, start, "bad number (a digit must follow '.')");
            return -1;
        }
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < e && (*q == '+' || *q == '-'))
            q++;
        if (q >= e || *q < '0' || *q > '9') {
            fail_at(ps, start, "bad number (a digit must follow the exponent)");
            return -1;
        }
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    /* strtod needs a terminated copy: the text need not be NUL-terminated */
    char buf[128], *tmp = buf;
    size_t n = (size_t)(q - start);
    if (n >= sizeof buf && !(tmp = malloc(n + 1))) {
        fail_at(ps, start, "out of memory");
        return -1;
    }
    memcpy(tmp, start, n);
    tmp[n] = 0;
    errno = 0;
    v->num = strtod(tmp, NULL);
    int range = errno == ERANGE && (v->num > 1.0 || v->num < -1.0);
    if (tmp != buf)
        free(tmp);
    if (range) {
        fail_at(ps, start, "number too large for a double");
        return -1;
    }
    v->type = JR_NUM;
    ps->p = q;
    return 0;
}

static int parse_literal(parser *ps, jr_val *v)
{
    static const char *const words[] = {"null", "false", "true"};
    static const jr_type types[] = {JR_NULL, JR_FALSE, JR_TRUE};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, words[i], n)) {
            const char *after = ps->p + n;
            if (after < ps->end && ((*after >= 'a' && *after <= 'z') ||
                                    (*after >= 'A' && *after <= 'Z') ||
                                    (*after >= '0' && *after <= '9'))) {
                break;
            }
            v->type = types[i];
            ps->p = after;
            return 0;
        }
    }
    fail_at(ps, ps->p, "expected a value (object, array, string, number, true, false or "
                       "null), found %s", describe(ps));
    return -1;
}

static int parse_array(parser *ps, jr_val *v, int depth)
{
    const char *open = ps->p++;
    int cap = 0;
    v->type = JR_ARR;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (grow((void **)&v->items, &cap, v->n + 1, sizeof *v->items) < 0) {
            fail_at(ps, open, "out of memory");
            return -1;
        }
        jr_val *it = &v->items[v->n];
        memset(it, 0, sizeof *it);
        v->n++;
        skip_ws(ps);
        if (parse_value(ps, it, depth + 1) < 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ']') {
                fail_at(ps, ps->p, "trailing comma before ']'");
                return -1;
            }
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return 0;
        }
        fail_at(ps, ps->p, "expected ',' or ']' in the array opened at line %d column %d, "
                           "found %s", v->line, v->col, describe(ps));
        return -1;
    }
}

static int parse_object(parser *ps, jr_val *v, int depth)
{
    const char *open = ps->p++;
    int cap = 0, kcap = 0;
    v->type = JR_OBJ;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            fail_at(ps, ps->p, "expected a member name (a string) in the object opened at "
                               "line %d column %d, found %s", v->line, v->col, describe(ps));
            return -1;
        }
        if (grow((void **)&v->items, &cap, v->n + 1, sizeof *v->items) < 0 ||
            grow((void **)&v->keys, &kcap, v->n + 1, sizeof *v->keys) < 0) {
            fail_at(ps, open, "out of memory");
            return -1;
        }
        jr_val *it = &v->items[v->n];
        memset(it, 0, sizeof *it);
        v->keys[v->n] = NULL;
        v->n++;
        size_t klen;
        if (parse_string(ps, &v->keys[v->n - 1], &klen) < 0)
            return -1;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            fail_at(ps, ps->p, "expected ':' after the member name \"%s\", found %s",
                    v->keys[v->n - 1], describe(ps));
            return -1;
        }
        ps->p++;
        skip_ws(ps);
        if (parse_value(ps, it, depth + 1) < 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == '}') {
                fail_at(ps, ps->p, "trailing comma before '}'");
                return -1;
            }
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return 0;
        }
        fail_at(ps, ps->p, "expected ',' or '}' in the object opened at line %d column %d, "
                           "found %s", v->line, v->col, describe(ps));
        return -1;
    }
}

static int parse_value(parser *ps, jr_val *v, int depth)
{
    mark(ps, v);
    if (ps->p >= ps->end) {
        fail_at(ps, ps->p, "unexpected end of the file (expected a value)");
        return -1;
    }
    char c = *ps->p;
    if ((c == '{' || c == '[') && depth >= JR_MAXDEPTH) {
        fail_at(ps, ps->p, "nesting deeper than %d levels", JR_MAXDEPTH);
        return -1;
    }
    if (c == '{')
        return parse_object(ps, v, depth);
    if (c == '[')
        return parse_array(ps, v, depth);
    if (c == '"') {
        v->type = JR_STR;
        return parse_string(ps, &v->str, &v->len);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, v);
    return parse_literal(ps, v);
}

static void free_contents(jr_val *v)
{
    if (v->type == JR_STR)
        free(v->str);
    if (v->type == JR_ARR || v->type == JR_OBJ) {
        for (int i = 0; i < v->n; i++) {
            free_contents(&v->items[i]);
            if (v->keys)
                free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
}

jr_val *jr_parse(const char *text, size_t len, char *err, size_t errlen)
{
    parser ps = {text, text, text + len, text, 1, err, errlen, 0, ""};
    jr_val *root = calloc(1, sizeof *root);
    if (!root) {
        snprintf(err, errlen, "line 1 column 1: out of memory");
        return NULL;
    }
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
        fail_at(&ps, text, "byte order mark at the start (not allowed in JSON text)");
    } else {
        skip_ws(&ps);
        if (ps.p >= ps.end)
            fail_at(&ps, ps.p, "empty file (expected a JSON value)");
        else if (parse_value(&ps, root, 0) == 0) {
            skip_ws(&ps);
            if (ps.p < ps.end)
                fail_at(&ps, ps.p, "content after the JSON value (%s)", describe(&ps));
        }
    }
    if (ps.failed) {
        free_contents(root);
        free(root);
        return NULL;
    }
    return root;
}

jr_val *jr_parse_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "-: cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    int rerr = 0;
    while (buf) {
        if (n == cap) {
            char *nb = cap < ((size_t)1 << 30) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            rerr = ferror(f);
            break;
        }
    }
    int e = errno;
    if (fclose(f) != 0 && buf && !rerr)
        rerr = 1, e = errno;
    if (!buf) {
        snprintf(err, errlen, "-: cannot read: out of memory (or larger than 1 GiB)");
        return NULL;
    }
    if (rerr) {
        snprintf(err, errlen, "-: cannot read: %s", strerror(e ? e : EIO));
        free(buf);
        return NULL;
    }
    jr_val *root = jr_parse(buf, n, err, errlen);
    free(buf);
    return root;
}

void jr_free(jr_val *v)
{
    if (!v)
        return;
    free_contents(v);
    free(v);
}

const jr_val *jr_get(const jr_val *v, const char *key)
{
    if (!v || v->type != JR_OBJ)
        return NULL;
    for (int i = v->n - 1; i >= 0; i--)
        if (!strcmp(v->keys[i], key))
            return &v->items[i];
    return NULL;
}

const char *jr_type_name(jr_type t)
{
    static const char *const names[] = {"null", "false", "true", "a number", "a string",
                                        "an array", "an object"};
    return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}
