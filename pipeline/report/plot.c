/* plot.c: figures drawn by gnuplot through a pipe, as PNG and SVG.
 *
 * DESIGN
 * A figure is built in memory as two texts, each an open_memstream(3)
 * stream: the datablocks ($name << EOD, numbers printed by the caller) and
 * the command body. plot_render starts
 * one `gnuplot` with popen, sends the datablocks once, then for each of the
 * two terminals (pngcairo, svg; same size and font, noenhanced so that
 * names like layer_4 print as written) sets the output to a temporary file,
 * replays the body, and closes the output; a `reset` separates the two
 * passes (it keeps datablocks). Replaying the body instead of `replot` also
 * works for multiplot figures.
 * gnuplot's stderr goes to a temporary file beside the figure; when
 * gnuplot reports an error (non-zero exit status: gnuplot exits 1 after any
 * error when reading a pipe) its first "line N: ..." message becomes the
 * error text. SIGPIPE is ignored while writing so that a gnuplot that died
 * early shows up as a failed write instead of killing the process.
 * Outputs: DIR/.NAME.png.tmp and DIR/.NAME.svg.tmp, renamed by plot_commit:
 * the caller commits all figures and the report together, or discards.
 * Byte-for-byte reproducible: pngcairo and svg write no dates.
 *
 * Thread safety: main thread only (signal disposition, child process).
 */
#include "pipeline/report/plot.h"

#include "pipeline/common/paths.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void plot_init(plot_fig *f, int width, int height, int font_size)
{
    memset(f, 0, sizeof *f);
    f->width = width;
    f->height = height;
    f->font_size = font_size;
    f->data = open_memstream(&f->dtext, &f->dlen);
    f->body = open_memstream(&f->btext, &f->blen);
    f->oom = !f->data || !f->body;
}

void plot_free(plot_fig *f)
{
    if (f->data)
        fclose(f->data);
    if (f->body)
        fclose(f->body);
    free(f->dtext);
    free(f->btext);
    memset(f, 0, sizeof *f);
}

void plot_data(plot_fig *f, const char *fmt, ...)
{
    if (f->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(f->data, fmt, ap) < 0)
        f->oom = 1;
    va_end(ap);
}

void plot_cmd(plot_fig *f, const char *fmt, ...)
{
    if (f->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(f->body, fmt, ap) < 0)
        f->oom = 1;
    va_end(ap);
}

const char *plot_sq(char *out, size_t n, const char *s)
{
    size_t o = 0;
    if (n < 3)
        return n ? (out[0] = 0, out) : out;
    out[o++] = '\'';
    for (; *s && o + 3 < n; s++) {
        if (*s == '\'')
            out[o++] = '\'';
        out[o++] = *s == '\n' ? ' ' : *s;
    }
    out[o++] = '\'';
    out[o] = 0;
    return out;
}

const char *plot_dq(char *out, size_t n, const char *s)
{
    size_t o = 0;
    if (n < 3)
        return n ? (out[0] = 0, out) : out;
    out[o++] = '"';
    for (; *s && o + 2 < n; s++)
        out[o++] = (*s == '"' || *s == '\\') ? '\'' : (*s == '\n' ? ' ' : *s);
    out[o++] = '"';
    out[o] = 0;
    return out;
}

/* The path as a single-quoted POSIX shell word. */
static char *shell_quote(const char *s)
{
    size_t n = 3;
    for (const char *q = s; *q; q++)
        n += *q == '\'' ? 4 : 1;
    char *o = malloc(n), *w = o;
    if (!o)
        return NULL;
    *w++ = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            memcpy(w, "'\\''", 4);
            w += 4;
        } else {
            *w++ = *s;
        }
    }
    *w++ = '\'';
    *w = 0;
    return o;
}

/* The most useful line of gnuplot's stderr: its first "line N: ..." message,
 * else its last non-empty line; "" when there is none. */
static void first_error(const char *errpath, char *out, size_t n)
{
    out[0] = 0;
    FILE *e = fopen(errpath, "r");
    if (!e)
        return;
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, e)) {
        line[strcspn(line, "\r\n")] = 0;
        const char *s = line;
        while (*s == ' ' || *s == '\t' || *s == '"')
            s++;
        if (!*s || *s == '^')
            continue;
        const char *l = strstr(s, "line ");
        found = l && l[5] >= '0' && l[5] <= '9';
        snprintf(out, n, "%s", found ? l : s);
    }
    if (fclose(e) != 0)
        return;
}

static int send(FILE *p, const char *text, size_t len)
{
    return len && fwrite(text, 1, len, p) != len ? -1 : 0;
}

int plot_render(const plot_fig *f, const char *dir, const char *name, char *err, size_t errlen)
{
    char *png = path_join3(dir, name, ".png"), *tpng = NULL, *tsvg = NULL, *terr = NULL;
    char *qerr = NULL, *cmd = NULL, *qpng = NULL, *qsvg = NULL;
    int rc = -1;
    {
        size_t n = strlen(name) + 16;
        char *b = malloc(n);
        if (b) {
            snprintf(b, n, ".%s", name);
            tpng = path_join3(dir, b, ".png.tmp");
            tsvg = path_join3(dir, b, ".svg.tmp");
            terr = path_join3(dir, b, ".err.tmp");
            free(b);
        }
    }
    if (terr)
        qerr = shell_quote(terr);
    if (qerr) {
        size_t n = strlen(qerr) + 32;
        if ((cmd = malloc(n)))
            snprintf(cmd, n, "exec gnuplot 2>%s", qerr);
    }
    if (tpng && tsvg) {
        size_t n1 = 2 * strlen(tpng) + 3, n2 = 2 * strlen(tsvg) + 3;
        if ((qpng = malloc(n1)) && (qsvg = malloc(n2))) {
            plot_sq(qpng, n1, tpng);
            plot_sq(qsvg, n2, tsvg);
        }
    }
    /* flushing the streams makes dtext/btext hold all the text so far */
    int flushed = !f->oom && fflush(f->data) == 0 && fflush(f->body) == 0 &&
                  !ferror(f->data) && !ferror(f->body) && f->dtext && f->btext;
    if (!png || !qpng || !qsvg || !cmd || !flushed) {
        snprintf(err, errlen, "%s/%s.png: -: out of memory", dir, name);
        goto done;
    }
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGPIPE, &ign, &old) != 0) {
        snprintf(err, errlen, "%s: -: cannot ignore SIGPIPE: %s", png, strerror(errno));
        goto done;
    }
    FILE *p = popen(cmd, "w");
    if (!p) {
        snprintf(err, errlen, "%s: gnuplot: cannot start it: %s", png, strerror(errno));
        sigaction(SIGPIPE, &old, NULL);
        goto done;
    }
    char font[64];
    snprintf(font, sizeof font, "font 'DejaVu Sans,%d'", f->font_size);
    int bad = send(p, f->dtext, f->dlen) < 0 ||
              fprintf(p, "set terminal pngcairo size %d,%d %s noenhanced\nset output %s\n",
                      f->width, f->height, font, qpng) < 0 ||
              send(p, f->btext, f->blen) < 0 ||
              fprintf(p, "\nunset output\nreset\n"
                         "set terminal svg size %d,%d %s noenhanced background '#ffffff'\n"
                         "set output %s\n",
                      f->width, f->height, font, qsvg) < 0 ||
              send(p, f->btext, f->blen) < 0 || fputs("\nunset output\nexit\n", p) < 0 ||
              fflush(p) != 0;
    int st = pclose(p);
    sigaction(SIGPIPE, &old, NULL);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || bad) {
        char why[512];
        first_error(terr, why, sizeof why);
        if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127)
            snprintf(why, sizeof why, "not found (install gnuplot-nox)");
        else if (!why[0])
            snprintf(why, sizeof why, "%s", bad ? "cannot write to its pipe" : "failed");
        snprintf(err, errlen, "%s: gnuplot: %s", png, why);
        goto done;
    }
    struct stat s1, s2;
    if (stat(tpng, &s1) != 0 || stat(tsvg, &s2) != 0 || s1.st_size == 0 || s2.st_size == 0) {
        snprintf(err, errlen, "%s: gnuplot: wrote no figure", png);
        goto done;
    }
    rc = 0;
done:
    if (rc != 0 && tpng && tsvg) {
        unlink(tpng);
        unlink(tsvg);
    }
    if (terr)
        unlink(terr);
    free(png);
    free(tpng);
    free(tsvg);
    free(terr);
    free(qerr);
    free(qpng);
    free(qsvg);
    free(cmd);
    return rc;
}

int plot_commit(const char *dir, const char *name, char *err, size_t errlen)
{
    static const char *const ext[2] = {".png", ".svg"};
    int rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        size_t n = strlen(name) + 16;
        char *b = malloc(n), *from = NULL, *to = path_join3(dir, name, ext[i]);
        if (b) {
            snprintf(b, n, ".%s%s.tmp", name, ext[i]);
            from = path_join3(dir, b, "");
        }
        if (!from || !to) {
            snprintf(err, errlen, "%s/%s%s: -: out of memory", dir, name, ext[i]);
            rc = -1;
        } else if (rename(from, to) != 0) {
            snprintf(err, errlen, "%s: -: cannot rename the figure into place: %s", to,
                     strerror(errno));
            rc = -1;
        }
        free(b);
        free(from);
        free(to);
    }
    return rc;
}

void plot_discard(const char *dir, const char *name)
{
    static const char *const ext[2] = {".png.tmp", ".svg.tmp"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(name) + 16;
        char *b = malloc(n);
        if (!b)
            continue;
        snprintf(b, n, ".%s%s", name, ext[i]);
        char *p = path_join3(dir, b, "");
        if (p)
            unlink(p);
        free(p);
        free(b);
    }
}
