/* sha256.h: SHA-256 (FIPS 180-4), for input checksums in provenance records. */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t bytes;      /* total length so far */
    uint8_t buf[64];
    size_t nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t n);
/* -> out: 32 bytes; c is finished (init again to reuse). */
void sha256_final(sha256_ctx *c, uint8_t out[32]);
/* 1: use the portable code even where the CPU has SHA instructions; 0: the
 * fastest available. Returns 1 when the SHA-instruction path is in use. */
int sha256_set_portable(int portable);
/* -> hex: 65 chars (64 hex digits + NUL). */
void sha256_hex(char hex[65], const uint8_t digest[32]);

#endif
