/*
 * Bulk hashing through OpenSSL's EVP interface (assembly Keccak and SHA-256): SHA-256 for
 * checksums, content addresses and fingerprints, SHAKE256 for streaming mu over big files.
 * OpenSSL 3.0 cannot squeeze SHAKE incrementally, so each SHAKE256 stream is finalised once.
 */
#ifndef ANT_DIGEST_H
#define ANT_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_SHA256_BYTES 32
#define ANT_SHA256_HEXBYTES 65 /* 64 hex digits + NUL */

enum ant_digest_kind {
    ANT_DIGEST_SHA256 = 1,
    ANT_DIGEST_SHAKE256 = 2,
};

struct ant_digest;

/* Allocates a streaming digest of `kind`. ANT_ERR_CRYPTO if OpenSSL refuses. */
ANT_MUST_CHECK ant_err ant_digest_new(struct ant_digest **out, enum ant_digest_kind kind);
ANT_MUST_CHECK ant_err ant_digest_update(struct ant_digest *d, const void *data, size_t len);
/* SHA-256: outlen must be 32. SHAKE256: any outlen >= 1, produced once. */
ANT_MUST_CHECK ant_err ant_digest_final(struct ant_digest *d, uint8_t *out, size_t outlen);
void ant_digest_free(struct ant_digest *d);

/* One-shot SHA-256. */
ANT_MUST_CHECK ant_err ant_sha256(uint8_t out[ANT_SHA256_BYTES], const void *data, size_t len);

/* Lower-case hex of `len` bytes into `hex` (2*len+1 bytes). */
void ant_hex_encode(char *hex, const uint8_t *bytes, size_t len);

/* Decodes exactly `len` bytes from a hex string of 2*len digits (either case).
 * ANT_ERR_PARSE on a wrong length or a non-hex digit; `bytes` is then zeroed. */
ANT_MUST_CHECK ant_err ant_hex_decode(uint8_t *bytes, size_t len, const char *hex);

/* Constant-time comparison: 0 when equal. */
int ant_ct_memcmp(const void *a, const void *b, size_t len);

#endif
