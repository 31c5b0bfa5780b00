/* jsonr.h: a small strict JSON reader (RFC 8259) building a DOM. */
#ifndef JSONR_H
#define JSONR_H

#include <stddef.h>

typedef enum { JR_NULL, JR_FALSE, JR_TRUE, JR_NUM, JR_STR, JR_ARR, JR_OBJ } jr_type;

typedef struct jr_val jr_val;
struct jr_val {
    jr_type type;
    int line, col;  /* where the value starts in the text (from 1), for messages */
    double num;     /* JR_NUM */
    char *str;      /* JR_STR: UTF-8, NUL-terminated (may hold \u0000: see len) */
    size_t len;     /* JR_STR: bytes in str */
    int n;          /* JR_ARR, JR_OBJ: elements / members */
    jr_val *items;  /* JR_ARR, JR_OBJ: n values in document order */
    char **keys;    /* JR_OBJ: n member names (NUL-terminated UTF-8) */
};

#define JR_MAXDEPTH 256

/* Parse text[0..len) (one JSON value, surrounding whitespace allowed).
 * Returns the root (free with jr_free) or NULL with err set to
 * "line L column C: problem". */
jr_val *jr_parse(const char *text, size_t len, char *err, size_t errlen);

/* Read and parse a whole file; err is "line L column C: problem" or, for a
 * system error, "-: cannot open: reason" (always "WHERE: problem"). */
jr_val *jr_parse_file(const char *path, char *err, size_t errlen);

void jr_free(jr_val *v);

/* Member `key` of an object (the last one when a name repeats, like most
 * readers), or NULL when v is not an object or has no such member. */
const jr_val *jr_get(const jr_val *v, const char *key);

/* The name of a type, for messages: "null", "a number", "an object", ... */
const char *jr_type_name(jr_type t);

#endif
