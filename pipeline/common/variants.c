/* variants.c: the list of variants (see variants.h). Pure, thread-safe. */
#include "pipeline/common/variants.h"

#include <string.h>

const char *var_name(int v)
{
    return v == VAR_SALIENCY ? "saliency" : cam_name(v);
}

int var_index(const char *name)
{
    for (int v = 0; v < VAR_N; v++)
        if (strcmp(name, var_name(v)) == 0)
            return v;
    return -1;
}
