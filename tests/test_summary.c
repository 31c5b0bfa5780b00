/* test_summary.c: cmocka tests of the summary.json reader (output/summary.c)
 * and of the report's model load on top of it (report/model.c).
 *
 * What the project does with jansson: one-line messages naming the file and
 * the line and column of a syntax error, or the member's path for a missing
 * member, a wrong type or a value out of range; duplicate names refused;
 * integers and reals both read as numbers; an integer beyond long long a
 * syntax error (the decision: the engine never writes one). Each check has
 * a negative control: the same document made valid must load.
 * The documents come from tests/fuzz/seeds-json/summary.json (a real one),
 * edited in memory with jansson, so no fixture is duplicated here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/output/summary.h"
#include "pipeline/report/model.h"

#define SEED "tests/fuzz/seeds-json/summary.json"

static char err[1024];

/* A parse of text; expect_ok 1: a document (freed here), 0: NULL and err. */
static int parses(const char *text)
{
    json_t *d = sum_parse(text, strlen(text), "s.json", err, sizeof err);
    json_decref(d);
    return d != NULL;
}

/* The seed, edited by the caller, dumped and loaded into a model. */
static int loads(json_t *doc)
{
    char *text = json_dumps(doc, JSON_PRESERVE_ORDER);
    assert_non_null(text);
    json_t *d = sum_parse(text, strlen(text), "s.json", err, sizeof err);
    free(text);
    if (!d)
        return 0;
    rp_study st;
    memset(&st, 0, sizeof st);
    int rc = rp_load(&st, d, "s.json", err, sizeof err);
    rp_free(&st);
    return rc == 0;
}

static json_t *seed(void)
{
    json_error_t e;
    json_t *d = json_load_file(SEED, 0, &e);
    assert_non_null(d);
    return d;
}

static json_t *gradcam(json_t *doc)
{
    return json_object_get(json_object_get(json_array_get(json_object_get(doc, "inputs"), 0),
                                           "variants"), "gradcam");
}

static void test_syntax(void **state)
{
    (void)state;
    assert_false(parses("{\"schema\": \"gradcam-study-summary/1\",\n \"inputs\": [1,]}"));
    assert_string_equal(err, "s.json: line 2 column 15: unexpected token near ']'");
    assert_false(parses("{\"schema\": "));
    assert_non_null(strstr(err, "s.json: line 1 column "));
    assert_null(strchr(err, '\n'));
    /* control */
    assert_true(parses("{\"schema\": \"gradcam-study-summary/1\",\n \"inputs\": [1]}"));
}

static void test_top_level(void **state)
{
    (void)state;
    assert_false(parses("[1, 2]"));
    assert_string_equal(err, "s.json: (top level): expected an object, found an array");
    assert_false(parses("{\"schema\": \"gradcam-study-summary/9\", \"inputs\": []}"));
    assert_string_equal(err, "s.json: schema: \"gradcam-study-summary/9\", expected "
                             "\"gradcam-study-summary/1\"");
    assert_false(parses("{\"schema\": \"gradcam-study-summary/1\", \"inputs\": {}}"));
    assert_string_equal(err, "s.json: inputs: expected an array, found an object");
    assert_false(parses("{\"schema\": \"gradcam-study-summary/1\"}"));
    assert_string_equal(err, "s.json: inputs: missing");
}

static void test_duplicates(void **state)
{
    (void)state;
    assert_false(parses("{\"schema\": \"gradcam-study-summary/1\", \"inputs\": [], "
                        "\"inputs\": []}"));
    assert_non_null(strstr(err, "duplicate object key"));
    assert_true(parses("{\"schema\": \"gradcam-study-summary/1\", \"inputs\": [], "
                       "\"input\": []}"));
}

static void test_numbers(void **state)
{
    (void)state;
    /* integers and reals are both numbers */
    json_t *d = seed();
    json_object_set_new(gradcam(d), "pointing", json_integer(1));
    json_object_set_new(gradcam(d), "degenerate", json_real(3.0));
    assert_true(loads(d));
    json_decref(d);
    /* an integer beyond long long: jansson's syntax error */
    assert_false(parses("{\"schema\": \"gradcam-study-summary/1\", "
                        "\"inputs\": [99999999999999999999]}"));
    assert_string_equal(err,
                        "s.json: line 1 column 69: too big integer near '99999999999999999999'");
    assert_true(parses("{\"schema\": \"gradcam-study-summary/1\", "
                       "\"inputs\": [9223372036854775807, 1e300]}"));
    /* a count must be whole and in range */
    d = seed();
    json_object_set_new(gradcam(d), "degenerate", json_real(2.5));
    assert_false(loads(d));
    assert_string_equal(err, "s.json: inputs[0].variants.gradcam.degenerate: expected a whole "
                             "number, found 2.5");
    json_decref(d);
}

static void test_paths(void **state)
{
    (void)state;
    json_t *d = seed();
    json_object_del(json_object_get(gradcam(d), "boxacc"), "minmax");
    assert_false(loads(d));
    assert_string_equal(err, "s.json: inputs[0].variants.gradcam.boxacc.minmax: missing");
    json_decref(d);
    d = seed();
    json_object_set_new(gradcam(d), "energy", json_string("high"));
    assert_false(loads(d));
    assert_string_equal(err, "s.json: inputs[0].variants.gradcam.energy: expected a number, "
                             "found a string");
    json_decref(d);
    d = seed();
    json_object_set_new(gradcam(d), "pointing", json_real(1.5));
    assert_false(loads(d));
    assert_string_equal(err, "s.json: inputs[0].variants.gradcam.pointing: 1.5 is out of range "
                             "[0, 1]");
    json_decref(d);
    d = seed();
    json_t *ci = json_pack("[f, f]", 0.9, 0.1);
    json_object_set_new(gradcam(d), "pointing_ci95", ci);
    assert_false(loads(d));
    assert_string_equal(err, "s.json: inputs[0].variants.gradcam.pointing_ci95: [0.9, 0.1] is "
                             "not an interval within [0, 1]");
    json_decref(d);
    /* control: the seed itself */
    d = seed();
    assert_true(loads(d));
    json_decref(d);
}

static void test_read_file(void **state)
{
    (void)state;
    json_t *d = sum_read(SEED, err, sizeof err);
    assert_non_null(d);
    assert_true(json_array_size(sum_inputs(d)) >= 1);
    json_decref(d);
    assert_null(sum_read("tests/fuzz/no-such.json", err, sizeof err));
    assert_string_equal(err, "tests/fuzz/no-such.json: -: cannot open: No such file or directory");
    assert_null(sum_read("tests/fuzz", err, sizeof err));
    assert_string_equal(err, "tests/fuzz: -: cannot open: Is a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_top_level),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_read_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
