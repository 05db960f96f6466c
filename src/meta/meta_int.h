/*
 * Internal to src/meta: the layouts behind the opaque types of ant/meta.h and the helpers
 * the parser, the client, the builder and the fuzz targets share (strict JSON, base64).
 */
#ifndef ANT_META_META_INT_H
#define ANT_META_META_INT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/meta.h"

#define META_SIG_CTX_PREFIX "ant-node-metadata-v1:"
#define META_PAYLOAD_TYPE_PREFIX "application/vnd.ant-node."
#define META_PAYLOAD_TYPE_SUFFIX "+json"
/* Largest integer we take for a version or a length: JSON readers elsewhere (JavaScript)
 * lose precision above 2^53, so a value they would read differently is refused. */
#define META_INT_MAX ((int64_t)1 << 53)
#define META_MAX_ENTRIES 8192 /* (version, platform) pairs in one targets file */
#define META_MAX_PLATFORMS 16 /* platforms of one release */
#define META_ROLE_COUNT 3

struct meta_sig {
    char keyid[ANT_META_KEYID_HEX]; /* "" when not 64 lower-case hex digits */
    uint8_t *sig;                   /* NULL when not base64 of exactly SIGBYTES bytes */
};

struct ant_meta_envelope {
    enum ant_meta_role role;
    uint8_t *payload;
    size_t payload_len;
    struct meta_sig sigs[ANT_META_MAX_SIGNATURES];
    size_t nsigs;
};

struct meta_key {
    char keyid[ANT_META_KEYID_HEX];
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
};

struct meta_role_def {
    size_t keyidx[ANT_META_MAX_KEYS]; /* distinct indexes into root->keys */
    size_t nkeys;
    unsigned threshold;
};

struct ant_meta_root {
    uint64_t version;
    int64_t expires;
    struct meta_key *keys;
    size_t nkeys;
    struct meta_role_def roles[META_ROLE_COUNT]; /* by role - 1 */
};

struct ant_meta_targets {
    uint64_t version;
    int64_t expires;
    struct ant_meta_target *entries;
    size_t nentries;
    char minimum_version[ANT_SEMVER_TEXT_MAX]; /* "" when absent */
    char (*yanked)[ANT_SEMVER_TEXT_MAX];
    size_t nyanked;
};

struct ant_meta_timestamp {
    uint64_t version;
    int64_t expires;
    struct ant_meta_targets_ref targets;
    struct ant_meta_rollout rollout;
};

/* Parses `len` bytes of JSON (at most `cap`) into an object with bounded nesting, strict
 * mode, valid UTF-8, no NUL byte, nothing but white space after it. The caller puts it.
 * Errors: ANT_ERR_TOO_LARGE, ANT_ERR_PARSE, ANT_ERR_NOMEM. */
ant_err meta_json_parse(const uint8_t *data, size_t len, size_t cap, json_object **out);

/* Strict base64 (RFC 4648 §4, padded, no white space): decodes into a malloc'd buffer.
 * ANT_ERR_PARSE on any deviation, ANT_ERR_TOO_LARGE when the result exceeds `cap`. */
ant_err meta_b64_decode(const char *text, size_t textlen, size_t cap, uint8_t **out,
                        size_t *outlen);
/* Encodes into a malloc'd NUL-terminated string; NULL when out of memory. */
char *meta_b64_encode(const uint8_t *data, size_t len);

/* True if `s` is exactly 64 lower-case hex digits. */
bool meta_is_hex64(const char *s);

/* True if `name` is a canonical semantic version: it parses and formats back to itself
 * (no leading 'v'). */
bool meta_version_canonical(const char *name);

/* The exact payloadType and signature context of a role, into `buf`. */
bool meta_payload_type(enum ant_meta_role role, char *buf, size_t cap);
bool meta_sig_context(enum ant_meta_role role, char *buf, size_t cap);

/* True when the keyid sets and thresholds of `role` differ between the two roots. */
bool meta_role_changed(const struct ant_meta_root *a, const struct ant_meta_root *b,
                       enum ant_meta_role role);

/* True when some key of `root` belongs to both roles `a` and `b`. */
bool meta_roles_share_key(const struct ant_meta_root *root, enum ant_meta_role a,
                          enum ant_meta_role b);

#endif
