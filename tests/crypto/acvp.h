/*
 * Helpers shared by the crypto tests: loading the NIST ACVP JSON files from
 * $ANT_SHARED_DIR/vectors/mldsa65/ (read in place) and decoding their hex fields.
 */
#ifndef ANT_TESTS_CRYPTO_ACVP_H
#define ANT_TESTS_CRYPTO_ACVP_H

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ant/digest.h"

/* Parses vectors/mldsa65/<name>; NULL (with a message) if the file is missing or bad. */
static inline json_object *acvp_load(const char *name)
{
    const char *dir = getenv("ANT_SHARED_DIR");
    char path[4096];
    if (dir == NULL) {
        fprintf(stderr, "  ANT_SHARED_DIR is not set (run through ctest)\n");
        return NULL;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/vectors/mldsa65/%s", dir, name) >= sizeof path)
        return NULL;
    json_object *root = json_object_from_file(path);
    if (root == NULL)
        fprintf(stderr, "  cannot parse %s: %s\n", path, json_util_get_last_err());
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
