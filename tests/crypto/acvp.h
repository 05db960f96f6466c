/*
 * Helpers shared by the crypto tests: loading the NIST ACVP JSON files kept in the tree under
 * tests/crypto/vectors/ (see its README for their source) and decoding their hex fields.
 * Every file is checked against tests/crypto/vectors/SHA256SUMS before it is parsed, so a
 * truncated or edited vector file fails the test loudly instead of quietly testing less.
 */
#ifndef ANT_TESTS_CRYPTO_ACVP_H
#define ANT_TESTS_CRYPTO_ACVP_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ant/digest.h"

/* The vector files are 0.3-1 MiB; anything past this cap is not one of ours. */
#define ACVP_MAX_FILE ((size_t)8 << 20)

/* Reads tests/crypto/vectors/<name> whole into a fresh NUL-terminated buffer. */
static inline char *acvp_read(const char *name, size_t *len)
{
    const char *src = getenv("ANT_SOURCE_DIR");
    char path[4096];
    if (src == NULL) {
        fprintf(stderr, "  ANT_SOURCE_DIR is not set (run through ctest)\n");
        return NULL;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/tests/crypto/vectors/%s", src, name) >= sizeof path)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "  cannot open %s\n", path);
        return NULL;
    }
    char *buf = malloc(ACVP_MAX_FILE + 1);
    size_t n = buf ? fread(buf, 1, ACVP_MAX_FILE + 1, f) : 0;
    int bad = buf == NULL || ferror(f) || n > ACVP_MAX_FILE;
    fclose(f);
    if (bad) {
        fprintf(stderr, "  cannot read %s (or larger than %zu bytes)\n", path, ACVP_MAX_FILE);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The hex SHA-256 that SHA256SUMS lists for `name` into want[65]; 0 if listed, -1 if not. */
static inline int acvp_listed_digest(const char *name, char want[65])
{
    size_t len = 0;
    char *sums = acvp_read("SHA256SUMS", &len);
    int found = -1;
    for (char *line = sums, *next; line != NULL && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        /* sha256sum's format: 64 hex digits, two spaces, the file name. */
        if (strlen(line) > 66 && line[64] == ' ' && line[65] == ' ' &&
            strcmp(line + 66, name) == 0) {
            memcpy(want, line, 64);
            want[64] = '\0';
            found = 0;
            break;
        }
    }
    free(sums);
    return found;
}

/* Reads vectors/<name>, checks it against SHA256SUMS and parses it; NULL (with a message)
 * if the file is missing, unlisted, altered or not JSON. */
static inline json_object *acvp_load(const char *name)
{
    char want[65], got[65];
    uint8_t digest[ANT_SHA256_BYTES];
    size_t len = 0;
    if (acvp_listed_digest(name, want) != 0) {
        fprintf(stderr, "  %s is not listed in tests/crypto/vectors/SHA256SUMS\n", name);
        return NULL;
    }
    char *text = acvp_read(name, &len);
    if (text == NULL)
        return NULL;
    if (ant_sha256(digest, text, len) != ANT_OK) {
        free(text);
        return NULL;
    }
    ant_hex_encode(got, digest, sizeof digest);
    if (strcasecmp(got, want) != 0) {
        fprintf(stderr, "  %s: SHA-256 %s, SHA256SUMS lists %s: the vector file is corrupt\n",
                name, got, want);
        free(text);
        return NULL;
    }
    json_object *root = json_tokener_parse(text);
    if (root == NULL)
        fprintf(stderr, "  cannot parse %s as JSON\n", name);
    free(text);
    return root;
}

static inline const char *acvp_str(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static inline int64_t acvp_int(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v))
        return -1;
    return json_object_get_int64(v);
}

/* Decodes hex field `key` into a fresh buffer; *len gets its length. NULL on error. */
static inline uint8_t *acvp_hex(json_object *obj, const char *key, size_t *len)
{
    const char *hex = acvp_str(obj, key);
    if (hex == NULL)
        return NULL;
    size_t n = strlen(hex);
    if (n % 2 != 0)
        return NULL;
    uint8_t *buf = malloc(n / 2 + 1);
    if (buf == NULL)
        return NULL;
    if (ant_hex_decode(buf, n / 2, hex) != ANT_OK) {
        free(buf);
        return NULL;
    }
    *len = n / 2;
    return buf;
}

#endif
