/* fuzz_jsonr.c: libFuzzer harness for the JSON reader (pipeline/jsonr.c),
 * which reads summary.json files written by anyone for `report` and
 * `compare`. Parses, walks the tree, frees. */
#include <stdint.h>
#include <stddef.h>

#include "pipeline/output/jsonr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const jr_val *v, int depth)
{
    size_t n = 1;
    if (depth > 300)
        return n;
    if (v->type == JR_ARR || v->type == JR_OBJ)
        for (int i = 0; i < v->n; i++)
            n += walk(&v->items[i], depth + 1);
    if (v->type == JR_OBJ && v->n > 0)
        (void)jr_get(v, v->keys[0]);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    jr_val *v = jr_parse((const char *)data, size, err, sizeof err);
    if (v) {
        (void)walk(v, 0);
        jr_free(v);
    }
    return 0;
}
