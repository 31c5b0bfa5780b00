/* csvfield.c: quoting one CSV field (see csvfield.h). Pure, thread-safe. */
#include "pipeline/common/csvfield.h"

#include <string.h>

void csv_put(FILE *f, const char *s, int always)
{
    if (!always && !strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
