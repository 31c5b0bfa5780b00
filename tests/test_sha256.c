/* test_sha256.c: SHA-256 against the FIPS 180-2 / NIST example vectors and
 * sha256sum; chunked updates must not change the digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "../kernels/sha256.h"

static void digest_of(char hex[65], const void *p, size_t n, size_t chunk)
{
    sha256_ctx c;
    uint8_t d[32];
    sha256_init(&c);
    for (size_t i = 0; i < n; i += chunk)
        sha256_update(&c, (const uint8_t *)p + i, n - i < chunk ? n - i : chunk);
    sha256_final(&c, d);
    sha256_hex(hex, d);
}

static void vectors(void)
{
    char h[65];
    digest_of(h, "", 0, 1);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    digest_of(h, "abc", 3, 3);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    for (size_t chunk = 1; chunk <= 64; chunk += 7) {
        digest_of(h, m, strlen(m), chunk);
        assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
    size_t n = 1000000;
    char *a = malloc(n);
    memset(a, 'a', n);
    digest_of(h, a, n, 4096);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    digest_of(h, a, n, 1000000);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* one byte less must change it */
    digest_of(h, a, n - 1, 4096);
    assert_string_not_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

/* Both compression paths: the portable one and, where the CPU has them, the
 * SHA instructions; and the two agree on random data of every length. */
static void test_vectors(void **state)
{
    (void)state;
    sha256_set_portable(1);
    vectors();
    int fast = sha256_set_portable(0);
    printf("    SHA instructions: %s\n", fast ? "yes, tested" : "not on this CPU");
    vectors();
    unsigned char buf[300];
    uint32_t x = 12345;
    for (size_t n = 0; n <= sizeof buf; n++) {
        for (size_t i = 0; i < n; i++) {
            x = x * 1664525u + 1013904223u;
            buf[i] = (unsigned char)(x >> 24);
        }
        char h1[65], h2[65];
        sha256_set_portable(1);
        digest_of(h1, buf, n, 64);
        sha256_set_portable(0);
        digest_of(h2, buf, n, 7);
        assert_string_equal(h1, h2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_vectors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
