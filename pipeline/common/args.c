/* args.c: option-parsing leaves (see args.h). Pure, thread-safe. */
#include "pipeline/common/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int arg_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int arg_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

const char *arg_refused(char *const *argv, int optind_now, int optopt_now, char *buf, size_t n)
{
    const char *last = optind_now > 0 ? argv[optind_now - 1] : NULL;
    if (last && last[0] == '-' && last[1] == '-')
        snprintf(buf, n, "%s", last); /* a long option (or "--name=value") */
    else if (optopt_now > 0 && optopt_now < 128)
        snprintf(buf, n, "-%c", optopt_now);
    else
        snprintf(buf, n, "%s", last ? last : "?");
    return buf;
}

char *arg_join(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = 0;
    for (int i = 0; i < argc; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}
