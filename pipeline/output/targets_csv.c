/* targets_csv.c: targets.csv and signs.csv, the per-target tables of a run:
 * their headers, the writer of their rows and the reader of targets.csv
 * (used by the gallery).
 *
 * DESIGN
 * Rows are written in the order the caller walks the targets (target
 * order), each a pure function of one target's results, so the bytes depend
 * on the inputs alone. Numbers use %.9g (floats' round trip) and %.17g
 * (doubles'); an absent value is an empty field.
 *
 * Thread safety: the writers touch only their FILE; the reader only its
 * result.
 */
#define _POSIX_C_SOURCE 200809L
#include "pipeline/output/targets_csv.h"

#include "pipeline/common/csvfield.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ------------------------------------------------------------- */

const char TCSV_HEADER[] =
    "input,target,image,class,variant,has_box,degenerate,"
    "x0_max,y0_max,x1_max,y1_max,iou_max,hit_max,"
    "x0_minmax,y0_minmax,x1_minmax,y1_minmax,iou_minmax,hit_minmax,"
    "point_x,point_y,point_hit,energy,"
    "other_area,neg_other,pos_other,neg_enrichment,pos_enrichment\n";

void tcsv_write_header(FILE *f, int name_col)
{
    fwrite(TCSV_HEADER, 1, sizeof TCSV_HEADER - 2, f); /* without its newline */
    fputs(name_col ? ",image_name\n" : "\n", f);
}

/* A row is built in memory and written with one fwrite: a target's rows
 * were about 40 fprintf calls, and at 500 Grad-CAM targets the calls alone
 * (format parsing, the stream's lock) cost about 10 ms of the thread that
 * also computes. Integers and zeros are formatted here; every other number
 * still goes through snprintf with the same format, so the bytes are
 * printf's. */
typedef struct {
    char b[1024];
    size_t n;
} rowbuf;

static void rb_str(rowbuf *r, const char *s)
{
    size_t k = strlen(s);
    if (k > sizeof r->b - r->n)
        k = sizeof r->b - r->n;
    memcpy(r->b + r->n, s, k);
    r->n += k;
}

/* ",v" (lead ','), or "v" (lead 0), as %lld prints it */
static void rb_int(rowbuf *r, char lead, long long v)
{
    char t[24];
    int k = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        t[k++] = (char)('0' + u % 10);
    while ((u /= 10) != 0);
    if (r->n + (size_t)k + 2 > sizeof r->b)
        return;
    if (lead)
        r->b[r->n++] = lead;
    if (v < 0)
        r->b[r->n++] = '-';
    while (k > 0)
        r->b[r->n++] = t[--k];
}

/* "," then x as printf's fmt ("%.9g" or "%.17g") prints it ("0" for +0) */
static void rb_num(rowbuf *r, const char *fmt, double x)
{
    if (x == 0.0 && !signbit(x)) {
        rb_str(r, ",0");
        return;
    }
    if (r->n + 2 > sizeof r->b)
        return;
    r->b[r->n++] = ',';
    int k = snprintf(r->b + r->n, sizeof r->b - r->n, fmt, x);
    if (k > 0)
        r->n += (size_t)k < sizeof r->b - r->n ? (size_t)k : sizeof r->b - r->n - 1;
}

/* The five leading fields of both tables: input,target,image,class,name */
static void rb_lead(rowbuf *rb, int input, int64_t t, int img, int cls, const char *name)
{
    rb->n = 0;
    rb_int(rb, 0, input);
    rb_int(rb, ',', (long long)t);
    rb_int(rb, ',', img);
    rb_int(rb, ',', cls);
    rb_str(rb, ",");
    rb_str(rb, name);
}

void tcsv_write_row(FILE *f, int input, int64_t t, int img, int cls, int v, const target_res *r,
                    int name_col, const char *name)
{
    const loc_result *L = &r->loc[v];
    int show = r->has_box && !L->degenerate;
    rowbuf rb;
    rb_lead(&rb, input, t, img, cls, var_name(v));
    rb_int(&rb, ',', r->has_box);
    rb_int(&rb, ',', L->degenerate);
    for (int n = 0; n < LOC_NNORM; n++) {
        if (show) {
            rb_int(&rb, ',', L->box[n].x0);
            rb_int(&rb, ',', L->box[n].y0);
            rb_int(&rb, ',', L->box[n].x1);
            rb_int(&rb, ',', L->box[n].y1);
        } else {
            rb_str(&rb, ",,,,");
        }
        if (r->has_box) {
            rb_num(&rb, "%.9g", L->iou[n]);
            rb_int(&rb, ',', L->iou[n] >= 0.5);
        } else {
            rb_str(&rb, ",,");
        }
    }
    if (show) {
        rb_int(&rb, ',', L->px);
        rb_int(&rb, ',', L->py);
        rb_int(&rb, ',', L->point_hit);
    } else if (r->has_box) {
        rb_str(&rb, ",,,0");
    } else {
        rb_str(&rb, ",,,");
    }
    if (r->has_box)
        rb_num(&rb, "%.9g", L->energy);
    else
        rb_str(&rb, ",");
    if (L->has_other) {
        rb_num(&rb, "%.9g", L->other_area);
        if (L->neg_ok) rb_num(&rb, "%.9g", L->neg_other); else rb_str(&rb, ",");
        if (L->pos_ok) rb_num(&rb, "%.9g", L->pos_other); else rb_str(&rb, ",");
        if (L->neg_ok) rb_num(&rb, "%.9g", L->neg_other / L->other_area); else rb_str(&rb, ",");
        if (L->pos_ok) rb_num(&rb, "%.9g", L->pos_other / L->other_area); else rb_str(&rb, ",");
    } else {
        rb_str(&rb, ",,,,,");
    }
    fwrite(rb.b, 1, rb.n, f);
    if (name_col) {
        fputc(',', f);
        if (name)
            csv_put(f, name, 1);
    }
    fputc('\n', f);
}

const char TCSV_SIGNS_HEADER[] =
    "input,target,image,class,table,region,"
    "n_PP,n_P0,n_PN,n_0P,n_00,n_0N,n_NP,n_N0,n_NN,"
    "s_PP,s_P0,s_PN,s_0P,s_00,s_0N,s_NP,s_N0,s_NN\n";

void tcsv_write_signs(FILE *f, int input, int64_t t, int img, int cls, const target_res *r)
{
    static const char *const tname[2] = {"alphaA", "GA"};
    for (int tb = 0; tb < 2; tb++)
        for (int reg = 0; reg < SGN_NREG; reg++) {
            rowbuf rb;
            rb_lead(&rb, input, t, img, cls, tname[tb]);
            rb_str(&rb, ",");
            rb_str(&rb, sgn_region_name(reg));
            for (int c = 0; c < SGN_NCELL; c++)
                rb_int(&rb, ',', (long long)r->sg[tb].n[reg][c]);
            for (int c = 0; c < SGN_NCELL; c++)
                rb_num(&rb, "%.17g", r->sg[tb].s[reg][c] == 0.0 ? 0.0 : r->sg[tb].s[reg][c]);
            rb_str(&rb, "\n");
            fwrite(rb.b, 1, rb.n, f);
        }
}


/* ---- reading targets.csv -------------------------------------------------- */

enum { COL_INPUT, COL_TARGET, COL_IMAGE, COL_CLASS, COL_VARIANT, COL_HASBOX, COL_DEGEN,
       COL_X0, COL_Y0, COL_X1, COL_Y1, COL_IOU, COL_NEG, NCOL };
static const char *const COLNAME[NCOL] = {
    "input", "target", "image", "class", "variant", "has_box", "degenerate",
    "x0_max", "y0_max", "x1_max", "y1_max", "iou_max", "neg_other"};

void tcsv_free(tcsv_table *rc)
{
    for (int i = 0; i < rc->n; i++)
        free(rc->in[i].r);
    free(rc->in);
    rc->in = NULL;
    rc->n = 0;
}

int tcsv_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* An optional number: empty -> NaN. */
static int parse_opt(const char *s, double *out)
{
    if (!*s) {
        *out = NAN;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Split line (no newline) at commas in place; returns the field count, at most max. */
/* Split line (no newline) into fields in place, RFC 4180 style: a field
 * that starts with '"' runs to the closing quote, "" inside it is one
 * quote (the writer quotes image names so). Returns the field count (at
 * most max stored), or -1 for an unterminated quoted field. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *field = p, *c;
        if (*p == '"') {
            char *w = p;
            field = w;
            for (p++;; p++) {
                if (*p == 0)
                    return -1;
                if (*p == '"') {
                    if (p[1] != '"')
                        break;
                    p++;
                }
                *w++ = *p;
            }
            p++; /* past the closing quote */
            *w = 0;
            if (*p != ',' && *p != 0)
                return -1;
            c = *p == ',' ? p : NULL;
        } else {
            c = strchr(p, ',');
        }
        if (n < max)
            f[n] = field;
        n++;
        if (!c)
            break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
}

static tcsv_row *row_at(tcsv_table *rc, int64_t input, int64_t target)
{
    if (input >= rc->n) {
        tcsv_input *in = realloc(rc->in, sizeof *in * (size_t)(input + 1));
        if (!in)
            return NULL;
        memset(in + rc->n, 0, sizeof *in * (size_t)(input + 1 - rc->n));
        rc->in = in;
        rc->n = (int)input + 1;
    }
    tcsv_input *ti = &rc->in[input];
    if (target >= ti->cap) {
        int64_t cap = ti->cap ? ti->cap : 256;
        while (cap <= target)
            cap *= 2;
        tcsv_row *r = realloc(ti->r, sizeof *r * (size_t)cap);
        if (!r)
            return NULL;
        memset(r + ti->cap, 0, sizeof *r * (size_t)(cap - ti->cap));
        ti->r = r;
        ti->cap = cap;
    }
    if (target >= ti->n)
        ti->n = target + 1;
    return &ti->r[target];
}

/* One data line (fields f[0..ncols-1]) into rc. 0, or -1 with err set. */
static int csv_line(tcsv_table *rc, char **f, const int *col, const char *path, long line,
                    char *err, size_t errlen)
{
    int v = -1;
    for (int k = 0; k < rc->nv; k++)
        if (!strcmp(f[col[COL_VARIANT]], rc->vname[k]))
            v = k;
    if (v < 0)
        return 0;
    int64_t input = 0, target = 0, image = 0, cls = 0, hb = 0, dg = 0, xy[4] = {0, 0, 0, 0};
    double iou = 0.0, neg = 0.0;
    int bad = -1;
    if (tcsv_parse_i64(f[col[COL_INPUT]], 0, 65535, &input) < 0)
        bad = COL_INPUT;
    else if (tcsv_parse_i64(f[col[COL_TARGET]], 0, INT32_MAX - 1, &target) < 0)
        bad = COL_TARGET;
    else if (tcsv_parse_i64(f[col[COL_IMAGE]], 0, INT32_MAX, &image) < 0)
        bad = COL_IMAGE;
    else if (tcsv_parse_i64(f[col[COL_CLASS]], 0, INT32_MAX, &cls) < 0)
        bad = COL_CLASS;
    else if (tcsv_parse_i64(f[col[COL_HASBOX]], 0, 1, &hb) < 0)
        bad = COL_HASBOX;
    else if (tcsv_parse_i64(f[col[COL_DEGEN]], 0, 1, &dg) < 0)
        bad = COL_DEGEN;
    else if (parse_opt(f[col[COL_IOU]], &iou) < 0)
        bad = COL_IOU;
    else if (parse_opt(f[col[COL_NEG]], &neg) < 0)
        bad = COL_NEG;
    int has_pred = *f[col[COL_X0]] != 0;
    for (int k = 0; k < 4 && bad < 0 && has_pred; k++)
        if (tcsv_parse_i64(f[col[COL_X0 + k]], -(1 << 20), 1 << 20, &xy[k]) < 0)
            bad = COL_X0 + k;
    if (bad >= 0) {
        snprintf(err, errlen, "%s: line %ld: bad %s '%.40s'", path, line, COLNAME[bad],
                 f[col[bad]]);
        return -1;
    }
    tcsv_row *r = row_at(rc, input, target);
    if (!r) {
        snprintf(err, errlen, "%s: -: out of memory", path);
        return -1;
    }
    int any = 0;
    for (int k = 0; k < rc->nv; k++)
        any |= r->seen[k];
    if (r->seen[v]) {
        snprintf(err, errlen, "%s: line %ld: second %s row for input %lld target %lld", path,
                 line, rc->vname[v], (long long)input, (long long)target);
        return -1;
    }
    if (any && (r->image != image || r->cls != cls || r->has_box != hb)) {
        snprintf(err, errlen, "%s: line %ld: input %lld target %lld disagrees with its other rows",
                 path, line, (long long)input, (long long)target);
        return -1;
    }
    r->seen[v] = 1;
    r->image = (int32_t)image;
    r->cls = (int32_t)cls;
    r->has_box = (uint8_t)hb;
    r->degenerate[v] = (uint8_t)dg;
    r->has_pred[v] = (uint8_t)has_pred;
    for (int k = 0; k < 4; k++)
        r->pred[v][k] = has_pred ? (int32_t)xy[k] : 0;
    r->iou[v] = iou;
    r->neg_other[v] = neg;
    return 0;
}

int tcsv_read(tcsv_table *rc, const char *path, const char *const *names, int nv, char *err,
              size_t errlen)
{
    memset(rc, 0, sizeof *rc);
    if (nv < 1 || nv > TCSV_MAXV) {
        snprintf(err, errlen, "%s: -: %d variants asked for (1..%d)", path, nv, TCSV_MAXV);
        return -1;
    }
    rc->nv = nv;
    rc->vname = names;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: -: cannot open: %s (--run must be a run's OUTDIR)", path,
                 strerror(errno));
        return -1;
    }
    char *line = NULL, *hdr[64], *f[64];
    size_t cap = 0;
    int rc_ = -1, col[NCOL];
    long lineno = 1;
    if (getline(&line, &cap, fp) < 0) {
        snprintf(err, errlen, "%s: -: empty or unreadable", path);
        goto done;
    }
    chomp(line);
    int ncols = split(line, hdr, 64);
    if (ncols > 64) {
        snprintf(err, errlen, "%s: line 1: %d columns (not a gradcam-study targets.csv)", path,
                 ncols);
        goto done;
    }
    for (int k = 0; k < NCOL; k++) {
        col[k] = -1;
        for (int j = 0; j < ncols; j++)
            if (!strcmp(hdr[j], COLNAME[k]))
                col[k] = j;
        if (col[k] < 0) {
            snprintf(err, errlen, "%s: line 1: no column '%s' (not a gradcam-study targets.csv)",
                     path, COLNAME[k]);
            goto done;
        }
    }
    errno = 0;
    while (getline(&line, &cap, fp) >= 0) {
        lineno++;
        chomp(line);
        if (!*line)
            continue;
        int nf = split(line, f, 64);
        if (nf < 0) {
            snprintf(err, errlen, "%s: line %ld: a quoted field without its closing quote", path,
                     lineno);
            goto done;
        }
        if (nf != ncols) {
            snprintf(err, errlen, "%s: line %ld: %d fields, the header has %d", path, lineno, nf,
                     ncols);
            goto done;
        }
        if (csv_line(rc, f, col, path, lineno, err, errlen) < 0)
            goto done;
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: -: read failed: %s", path, strerror(errno));
        goto done;
    }
    if (rc->n == 0) {
        snprintf(err, errlen, "%s: -: no %s rows (a run limited with --variants?)", path, names[0]);
        goto done;
    }
    rc_ = 0;
done:
    free(line);
    if (fclose(fp) != 0 && rc_ == 0) {
        snprintf(err, errlen, "%s: -: close failed: %s", path, strerror(errno));
        rc_ = -1;
    }
    if (rc_ < 0)
        tcsv_free(rc);
    return rc_;
}

