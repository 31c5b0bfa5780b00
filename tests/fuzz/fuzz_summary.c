/* fuzz_summary.c: libFuzzer harness for the summary reader as `report` uses
 * it: bytes -> sum_parse (output/summary.c: jansson, strict, the schema and
 * inputs checks) -> rp_load (report/model.c: every member checked into the
 * report's model) -> rp_free. Any input must end in a document or a one-line
 * message, never a crash, a leak or undefined behaviour (seeds-json/causal.json
 * carries a `causal` block: Question 6, report/q6model.c); the suite replays
 * the findings (tests/fuzz/crashes/json-*) through `gradcam-study report`.
 * Built by `make fuzz` with clang against the whole library (summary.c
 * also holds the writer, whose callees reach most of the tree). */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "pipeline/output/summary.h"
#include "pipeline/report/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    json_t *doc = sum_parse((const char *)data, size, "fuzz.json", err, sizeof err);
    if (!doc)
        return 0;
    rp_study st;
    memset(&st, 0, sizeof st);
    (void)rp_load(&st, doc, "fuzz.json", err, sizeof err);
    rp_free(&st);  /* releases doc */
    return 0;
}
