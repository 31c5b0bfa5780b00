/* jsonw.h: a small streaming JSON writer with error tracking. */
#ifndef JSON_H
#define JSON_H

#include <stdint.h>
#include <stdio.h>

#define JW_MAXDEPTH 32

typedef struct {
    FILE *f;
    int depth;
    int count[JW_MAXDEPTH]; /* members written at each depth */
    int err;                /* 1 after a write error or a non-finite number */
} jw;

void jw_init(jw *w, FILE *f);
/* key is NULL for array elements and the top-level value. */
void jw_obj(jw *w, const char *key);
void jw_obj_end(jw *w);
void jw_arr(jw *w, const char *key);
void jw_arr_end(jw *w);
void jw_str(jw *w, const char *key, const char *s);
void jw_num(jw *w, const char *key, double v);   /* %.10g; non-finite sets err */
void jw_int(jw *w, const char *key, int64_t v);
void jw_bool(jw *w, const char *key, int v);     /* true / false */
void jw_nums(jw *w, const char *key, const double *v, int n); /* one line */
/* Finish: newline, flush; 0 or -1 when anything failed. */
int jw_end(jw *w);

#endif
