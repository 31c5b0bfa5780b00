/* csvfield.h: one CSV field written the RFC 4180 way, for every CSV the
 * tree writes (targets.csv's names, compare's history). */
#ifndef CSVFIELD_H
#define CSVFIELD_H

#include <stdio.h>

/* s as one field: in double quotes ("" for a quote inside) when `always`
 * or when it holds a comma, a quote, CR or LF; else as it is. */
void csv_put(FILE *f, const char *s, int always);

#endif
