/* args.h: what every command's option parsing shares (the parser is
 * getopt_long(3); these are its leaves). */
#ifndef ARGS_H
#define ARGS_H

#include <stddef.h>

/* s as a whole-string decimal integer in lo..hi: 0, else -1. */
int arg_long(const char *s, long lo, long hi, long *out);

/* s as a whole-string number (strtod; range checks are the caller's): 0 or -1. */
int arg_double(const char *s, double *out);

/* The option getopt_long just refused ('?' or ':'): argv[optind - 1] when it
 * is the option itself, else the short option letter, as "-x" / "--name"
 * into buf[n]; returns buf. */
const char *arg_refused(char *const *argv, int optind_now, int optopt_now, char *buf, size_t n);

/* argv[0..argc) joined by spaces (the command line, for provenance); a new
 * allocation, or NULL. */
char *arg_join(int argc, char **argv);

#endif
