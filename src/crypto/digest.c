/*
 * ant/digest.h on OpenSSL's EVP interface: SHA-256 and SHAKE256 streams, one-shot SHA-256,
 * hex encoding and decoding, and a constant-time comparison. OpenSSL is used for bulk
 * hashing because its assembly Keccak and SHA-256 are several times faster than portable C
 * on large files; a SHAKE256 stream is finalised exactly once (OpenSSL 3.0 has no
 * incremental squeeze).
 */
#include "ant/digest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct ant_digest {
    EVP_MD_CTX *ctx;
    enum ant_digest_kind kind;
    int finished;
};

ant_err ant_digest_new(struct ant_digest **out, enum ant_digest_kind kind)
{
    ant_err err = ANT_ERR_CRYPTO;
    struct ant_digest *d = NULL;
    const EVP_MD *md = NULL;

    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (kind == ANT_DIGEST_SHA256)
        md = EVP_sha256();
    else if (kind == ANT_DIGEST_SHAKE256)
        md = EVP_shake256();
    else
        return ANT_ERR_INVALID_ARG;

    d = calloc(1, sizeof *d);
    if (d == NULL)
        return ANT_ERR_NOMEM;
    d->kind = kind;
    d->ctx = EVP_MD_CTX_new();
    if (d->ctx == NULL || md == NULL || EVP_DigestInit_ex(d->ctx, md, NULL) != 1)
        goto out;
    *out = d;
    d = NULL;
    err = ANT_OK;
out:
    ant_digest_free(d);
    return err;
}

ant_err ant_digest_update(struct ant_digest *d, const void *data, size_t len)
{
    if (d == NULL || (data == NULL && len > 0) || d->finished)
        return ANT_ERR_INVALID_ARG;
    if (len == 0)
        return ANT_OK;
    return EVP_DigestUpdate(d->ctx, data, len) == 1 ? ANT_OK : ANT_ERR_CRYPTO;
}

ant_err ant_digest_final(struct ant_digest *d, uint8_t *out, size_t outlen)
{
    if (d == NULL || out == NULL || d->finished)
        return ANT_ERR_INVALID_ARG;
    if (d->kind == ANT_DIGEST_SHA256) {
        unsigned int n = 0;
        if (outlen != ANT_SHA256_BYTES)
            return ANT_ERR_INVALID_ARG;
        d->finished = 1;
        if (EVP_DigestFinal_ex(d->ctx, out, &n) != 1 || n != ANT_SHA256_BYTES) {
            memset(out, 0, outlen);
            return ANT_ERR_CRYPTO;
        }
        return ANT_OK;
    }
    if (outlen == 0)
        return ANT_ERR_INVALID_ARG;
    d->finished = 1;
    if (EVP_DigestFinalXOF(d->ctx, out, outlen) != 1) {
        memset(out, 0, outlen);
        return ANT_ERR_CRYPTO;
    }
    return ANT_OK;
}

void ant_digest_free(struct ant_digest *d)
{
    if (d == NULL)
        return;
    /* The context may hold a message prefix derived from secret-key material (a
     * signer's mu stream); EVP_MD_CTX_free cleanses it. */
    EVP_MD_CTX_free(d->ctx);
    free(d);
}

ant_err ant_sha256(uint8_t out[ANT_SHA256_BYTES], const void *data, size_t len)
{
    unsigned int n = 0;
    if (out == NULL || (data == NULL && len > 0))
        return ANT_ERR_INVALID_ARG;
    if (EVP_Digest(len > 0 ? data : "", len, out, &n, EVP_sha256(), NULL) != 1 ||
        n != ANT_SHA256_BYTES) {
        memset(out, 0, ANT_SHA256_BYTES);
        return ANT_ERR_CRYPTO;
    }
    return ANT_OK;
}

void ant_hex_encode(char *hex, const uint8_t *bytes, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[2 * len] = '\0';
}

/* Value of one hex digit, or -1. */
static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ant_err ant_hex_decode(uint8_t *bytes, size_t len, const char *hex)
{
    if (bytes == NULL && len > 0)
        return ANT_ERR_INVALID_ARG;
    if (hex == NULL)
        goto bad;
    /* strnlen caps the scan: a string longer than expected is refused without reading
     * past the digit after the last one we need. */
    if (len > (SIZE_MAX - 1) / 2 || strnlen(hex, 2 * len + 1) != 2 * len)
        goto bad;
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            goto bad;
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    return ANT_OK;
bad:
    if (bytes != NULL && len > 0)
        memset(bytes, 0, len);
    return ANT_ERR_PARSE;
}

int ant_ct_memcmp(const void *a, const void *b, size_t len)
{
    const volatile uint8_t *pa = a, *pb = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (uint8_t)(pa[i] ^ pb[i]);
    /* Map any non-zero difference to 1 without a data-dependent branch. */
    return (int)((diff + 0xFFu) >> 8);
}
