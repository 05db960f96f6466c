/*
 * Signed release metadata (ARCHITECTURE.md §9, §10): TUF's roles in a smaller shape.
 *
 * Three roles, each a DSSE envelope (JSON) whose payload is the exact JSON bytes signed:
 * `root` (the keys and thresholds of every role, a chain root.1.json, root.2.json, ...),
 * `targets` (offline keys: every installable release, per platform the archive and the
 * binary inside it, plus minimum_version and yanked) and `timestamp` (an online key, short
 * expiry: the current targets file's version, length and SHA-256, plus the rollout control).
 * Each signature is ML-DSA-65 over DSSE's PAE(payloadType, payload) with the context
 * `ant-node-metadata-v1:<role>`; a keyid is the hex SHA-256 of the raw public key, and
 * the payload parser checks that, so one key can never count twice under two keyids.
 *
 * Two layers:
 *  - parsing and verification of single files (ant_meta_envelope_*, ant_meta_*_parse),
 *    used by the client below, by `ant-release` and by the fuzz targets;
 *  - the client (ant_meta_refresh): from a trust anchor (the build's packaging/root.json
 *    or an operator's --trusted-root file), walk the root chain, then the timestamp, then
 *    the targets it names, all through a caller-supplied fetch callback, with the last
 *    trusted files kept in the shared host cache and re-verified from the anchor whenever
 *    they are read. The result is a trusted set (struct ant_meta_trusted) and a status
 *    with the freeze state of §9; the upgrade engine asks the set whether a (version,
 *    platform) is installable and what its archive and binary must hash to.
 *
 * Everything read is capped before it is parsed (root 512 KiB, targets 4 MiB, timestamp
 * 64 KiB); every JSON field is type-checked; unknown fields are ignored.
 *
 * Use by the upgrade engine, once per check:
 *   struct ant_meta_http h;  ant_meta_http_init(&h, metadata_url_or_NULL, repo, &http_opts);
 *   opts.fetch = ant_meta_http_fetch; opts.fetch_arg = &h; opts.source = h.base;
 *   opts.trusted_root = bytes of --trusted-root (ant_meta_read_trusted_root) or NULL;
 *   opts.floor_* = what it persisted from the last status;
 *   ant_meta_refresh(cache_dirfd, &opts, &t, &status)  -> log status.state once as WARN
 *     unless fresh, show it in `upgrade status --json`, persist the versions;
 *   ant_meta_lookup(t, version, platform, &entry)      -> install only on ANT_OK;
 *   ant_meta_check_archive(&entry, len, sha256) before extraction,
 *   ant_meta_check_binary(&entry, len, sha256) after it (and on cache hits);
 *   ant_meta_targets_minimum_version / _is_yanked and ant_meta_timestamp_rollout for §10.
 */
#ifndef ANT_META_H
#define ANT_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/digest.h"
#include "ant/err.h"
#include "ant/http.h"
#include "ant/mldsa65.h"
#include "ant/semver.h"

#define ANT_META_ROOT_MAX ((size_t)512 << 10)      /* cap on a root file, bytes */
#define ANT_META_TARGETS_MAX ((size_t)4 << 20)     /* cap on a targets file */
#define ANT_META_TIMESTAMP_MAX ((size_t)64 << 10)  /* cap on timestamp.json */
#define ANT_META_MAX_KEYS 64            /* keys in a root, and keyids per role */
#define ANT_META_MAX_SIGNATURES 64      /* signatures in one envelope */
#define ANT_META_MAX_ROOT_STEPS 32      /* root versions walked in one refresh */
#define ANT_META_MAX_RELEASES 4096      /* versions listed in one targets file */
#define ANT_META_KEYID_HEX 65           /* 64 hex digits + NUL */
#define ANT_META_NAME_MAX 128           /* longest archive or platform name */
#define ANT_META_ERROR_MAX 192          /* status error text, with NUL */
#define ANT_META_MAX_DELTAS 4           /* binary patches listed per release and platform */
#define ANT_META_DEFAULT_TTL_S 3600u
#define ANT_META_DEFAULT_LOCK_TIMEOUT_MS 90000u

/* Files in the shared host cache (ARCHITECTURE.md §4). Root versions are kept as
 * meta-root.<N>.json. */
#define ANT_META_LOCK "metadata.lock"
#define ANT_META_CACHE_TIMESTAMP "meta-timestamp.json"
#define ANT_META_CACHE_TARGETS "meta-targets.json"
#define ANT_META_CACHE_STATE "meta-state.json"

enum ant_meta_role {
    ANT_META_ROLE_ROOT = 1,
    ANT_META_ROLE_TARGETS = 2,
    ANT_META_ROLE_TIMESTAMP = 3,
};

/* "root", "targets", "timestamp"; "?" for anything else. */
const char *ant_meta_role_name(enum ant_meta_role role);

/* The freeze states of ARCHITECTURE.md §9. Only FRESH allows an install. */
enum ant_meta_state {
    ANT_META_FRESH = 0,        /* every role verified and unexpired */
    ANT_META_STALE = 1,        /* timestamp or targets expired: keep running, install nothing */
    ANT_META_ROOT_EXPIRED = 2, /* the newest trusted root expired */
    ANT_META_MISSING = 3,      /* no timestamp/targets could be had (never fetched, 404,
                                  network down with nothing trusted in the cache) */
    ANT_META_INVALID = 4,      /* a file failed verification (signature, threshold,
                                  rollback, hash, format) */
};

/* "fresh", "stale", "root_expired", "missing", "invalid". */
const char *ant_meta_state_name(enum ant_meta_state state);

/* --- envelopes ----------------------------------------------------------------------- */

struct ant_meta_envelope;

/* Parses a DSSE envelope of `role` (payloadType must be that role's). Signatures are kept
 * as they are (up to ANT_META_MAX_SIGNATURES; more is ANT_ERR_TOO_LARGE); they are checked
 * only by ant_meta_envelope_verify. `len` over the role's cap is ANT_ERR_TOO_LARGE.
 * Errors: ANT_ERR_PARSE, ANT_ERR_TOO_LARGE, ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG. */
ANT_MUST_CHECK ant_err ant_meta_envelope_parse(enum ant_meta_role role, const uint8_t *data,
                                               size_t len, struct ant_meta_envelope **out);

/* A new envelope around `payload` (copied) with no signature. */
ANT_MUST_CHECK ant_err ant_meta_envelope_new(enum ant_meta_role role, const uint8_t *payload,
                                             size_t len, struct ant_meta_envelope **out);

/* The payload bytes; valid as long as the envelope. */
const uint8_t *ant_meta_envelope_payload(const struct ant_meta_envelope *env, size_t *len);
size_t ant_meta_envelope_signature_count(const struct ant_meta_envelope *env);
/* The keyid (hex) of signature i, or NULL past the end. */
const char *ant_meta_envelope_signature_keyid(const struct ant_meta_envelope *env, size_t i);

/* Adds a signature by secret key `sk` (its keyid is computed from the public key derived
 * from it). A second signature with the same keyid is ANT_ERR_EXISTS.
 * Errors: ANT_ERR_BAD_KEY, ANT_ERR_EXISTS, ANT_ERR_TOO_LARGE, ANT_ERR_RNG, ANT_ERR_NOMEM. */
ANT_MUST_CHECK ant_err ant_meta_envelope_sign(struct ant_meta_envelope *env,
                                              const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES]);

/* Serialises the envelope as JSON (one line, newline-terminated) into a malloc'd buffer
 * the caller frees. */
ANT_MUST_CHECK ant_err ant_meta_envelope_serialize(const struct ant_meta_envelope *env,
                                                   uint8_t **out, size_t *len);

void ant_meta_envelope_free(struct ant_meta_envelope *env);

/* --- payloads ----------------------------------------------------------------------- */

struct ant_meta_root;
struct ant_meta_targets;
struct ant_meta_timestamp;

/* Parse payload JSON of each role: "type" must name the role, "version" an integer >= 1,
 * "expires" an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SSZ`. Root: each key's keyid must be
 * the SHA-256 of its public key, scheme "ml-dsa-65"; each role's keyids must be keys of
 * the root; 1 <= threshold <= distinct keyids. Errors: ANT_ERR_PARSE, ANT_ERR_TOO_LARGE,
 * ANT_ERR_BAD_KEY, ANT_ERR_BAD_VERSION, ANT_ERR_NOMEM. */
ANT_MUST_CHECK ant_err ant_meta_root_parse(const uint8_t *payload, size_t len,
                                           struct ant_meta_root **out);
ANT_MUST_CHECK ant_err ant_meta_targets_parse(const uint8_t *payload, size_t len,
                                              struct ant_meta_targets **out);
ANT_MUST_CHECK ant_err ant_meta_timestamp_parse(const uint8_t *payload, size_t len,
                                                struct ant_meta_timestamp **out);
void ant_meta_root_free(struct ant_meta_root *root);
void ant_meta_targets_free(struct ant_meta_targets *targets);
void ant_meta_timestamp_free(struct ant_meta_timestamp *ts);

uint64_t ant_meta_root_version(const struct ant_meta_root *root);
int64_t ant_meta_root_expires(const struct ant_meta_root *root);
uint64_t ant_meta_targets_version(const struct ant_meta_targets *targets);
int64_t ant_meta_targets_expires(const struct ant_meta_targets *targets);
uint64_t ant_meta_timestamp_version(const struct ant_meta_timestamp *ts);
int64_t ant_meta_timestamp_expires(const struct ant_meta_timestamp *ts);

/* The role's threshold and its i-th keyid (NULL past the end). */
unsigned ant_meta_root_threshold(const struct ant_meta_root *root, enum ant_meta_role role);
const char *ant_meta_root_keyid(const struct ant_meta_root *root, enum ant_meta_role role,
                                size_t i);
/* The public key of the role's i-th keyid (ANT_MLDSA65_PUBLICKEYBYTES bytes), NULL past
 * the end; valid as long as the root. */
const uint8_t *ant_meta_root_key(const struct ant_meta_root *root, enum ant_meta_role role,
                                 size_t i);
/* True if `pk` is one of `role`'s keys in `root`. */
bool ant_meta_root_has_key(const struct ant_meta_root *root, enum ant_meta_role role,
                           const uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES]);

/*
 * Counts the distinct keyids of `role` in `root` whose signature in `env` verifies
 * (ML-DSA-65 over PAE with context ant-node-metadata-v1:<role>); signatures by keyids
 * that are not the role's, repeated keyids, and malformed signatures count for nothing.
 * With `valid` NULL (the node) it stops at the threshold; with a counter it checks every
 * signature and stores the count. Returns ANT_OK if the count reaches the role's
 * threshold, else ANT_ERR_BAD_SIGNATURE (also when the envelope is of another role).
 * Errors also ANT_ERR_NOMEM, ANT_ERR_CRYPTO.
 */
ANT_MUST_CHECK ant_err ant_meta_envelope_verify(const struct ant_meta_envelope *env,
                                                const struct ant_meta_root *root,
                                                enum ant_meta_role role, unsigned *valid);

/*
 * A binary patch listed for one release and platform (issue 19, ARCHITECTURE.md §9): zstd
 * `--patch-from` bytes that turn the binary whose SHA-256 is `from_sha256` (the binary of
 * `from_version`) into this entry's binary. The patch is an asset of the same release,
 * beside the archive, named `name`. Plain value type.
 */
struct ant_meta_delta {
    char from_version[ANT_SEMVER_TEXT_MAX];
    uint8_t from_sha256[ANT_SHA256_BYTES]; /* the old binary */
    char name[ANT_META_NAME_MAX];          /* the patch asset, an ant_fsx_name_ok name */
    uint64_t length;                       /* of the patch */
    uint8_t sha256[ANT_SHA256_BYTES];      /* of the patch */
};

/* One platform's entry of a release in targets. Plain value type. */
struct ant_meta_target {
    char version[ANT_SEMVER_TEXT_MAX];
    char platform[ANT_META_NAME_MAX];
    char archive_name[ANT_META_NAME_MAX];
    uint64_t archive_length;
    uint8_t archive_sha256[ANT_SHA256_BYTES];
    uint64_t binary_length;
    uint8_t binary_sha256[ANT_SHA256_BYTES];
    /* Optional "deltas": at most ANT_META_MAX_DELTAS, distinct from_sha256 each. */
    struct ant_meta_delta deltas[ANT_META_MAX_DELTAS];
    size_t ndeltas;
};

/* The targets entry for (version, platform). ANT_ERR_NOT_FOUND if it is not listed
 * (*out zeroed). `version` and `platform` may point into *out. */
ANT_MUST_CHECK ant_err ant_meta_targets_find(const struct ant_meta_targets *targets,
                                             const char *version, const char *platform,
                                             struct ant_meta_target *out);
/* Number of (version, platform) entries and the i-th of them, in file order. */
size_t ant_meta_targets_count(const struct ant_meta_targets *targets);
ANT_MUST_CHECK ant_err ant_meta_targets_entry(const struct ant_meta_targets *targets, size_t i,
                                              struct ant_meta_target *out);
/* minimum_version ("" when absent) and whether `version` is listed in yanked. */
const char *ant_meta_targets_minimum_version(const struct ant_meta_targets *targets);
bool ant_meta_targets_is_yanked(const struct ant_meta_targets *targets, const char *version);
size_t ant_meta_targets_yanked_count(const struct ant_meta_targets *targets);

/* What the timestamp says about the current targets file. */
struct ant_meta_targets_ref {
    uint64_t version;
    uint64_t length;
    uint8_t sha256[ANT_SHA256_BYTES];
};
void ant_meta_timestamp_targets(const struct ant_meta_timestamp *ts,
                                struct ant_meta_targets_ref *out);

/* The rollout control of ARCHITECTURE.md §10, from the timestamp. Plain value type. */
struct ant_meta_rollout {
    bool present;               /* false: the timestamp has no "rollout" */
    char version[ANT_SEMVER_TEXT_MAX];
    uint8_t seed[32];
    uint32_t cursor_ppm;        /* the cursor in millionths: "12.5" percent = 125000 */
    bool halted;
};
void ant_meta_timestamp_rollout(const struct ant_meta_timestamp *ts,
                                struct ant_meta_rollout *out);

/* The rollout cursor text "<percent>" (0-100, at most 4 decimals) in millionths;
 * ANT_ERR_PARSE otherwise. */
ANT_MUST_CHECK ant_err ant_meta_cursor_parse(const char *text, uint32_t *ppm);

/* --- time ---------------------------------------------------------------------------- */

/* Strict RFC 3339 UTC `YYYY-MM-DDTHH:MM:SSZ` to Unix seconds. ANT_ERR_PARSE otherwise. */
ANT_MUST_CHECK ant_err ant_meta_time_parse(const char *text, int64_t *out);
/* Formats Unix seconds the same way; `buf` needs 21 bytes. */
bool ant_meta_time_format(int64_t t, char *buf, size_t cap);

/* --- the client ---------------------------------------------------------------------- */

/*
 * Fetches metadata file `name` ("root.3.json", "timestamp.json", "targets.7.json") from
 * the metadata base URL into a malloc'd buffer, at most `cap` bytes (more is
 * ANT_ERR_TOO_LARGE, counted while receiving). An absent file (HTTP 404) must be
 * ANT_ERR_NOT_FOUND: that ends the root chain walk. Other errors are the transport's.
 */
typedef ant_err (*ant_meta_fetch_fn)(void *arg, const char *name, size_t cap, uint8_t **data,
                                     size_t *len);

/* Settings, a plain value type; start from ant_meta_opts_init(). */
struct ant_meta_opts {
    /* Trust anchor: a root envelope. NULL = the build's embedded packaging/root.json. */
    const uint8_t *trusted_root;
    size_t trusted_root_len;
    ant_meta_fetch_fn fetch; /* NULL = use only what the cache holds */
    void *fetch_arg;
    const char *source;      /* names the metadata URL in the cache; NULL = "default" */
    unsigned ttl_s;          /* 0 = ANT_META_DEFAULT_TTL_S */
    unsigned lock_timeout_ms; /* 0 = ANT_META_DEFAULT_LOCK_TIMEOUT_MS */
    int64_t now;             /* Unix seconds; 0 = time(NULL) (tests set it) */
    bool force;              /* fetch even if the cache was refreshed within the TTL */
    /* Floors the caller persisted in its own private state (0 = none): a cache that an
     * attacker emptied cannot then roll a node back below versions it already trusted.
     * A root rotation that changes the timestamp (or targets) keys resets those floors,
     * as it drops what the old keys signed; persist status versions together with
     * status->root_version and pass them back. */
    uint64_t floor_root_version, floor_timestamp_version, floor_targets_version;
};

void ant_meta_opts_init(struct ant_meta_opts *opts);

/* Where things stand after a refresh; plain value type, the fields of
 * `ant-node upgrade status --json` "metadata". */
struct ant_meta_status {
    enum ant_meta_state state;
    uint64_t root_version, targets_version, timestamp_version;
    int64_t timestamp_expires;       /* Unix seconds, 0 when none */
    bool fetched;                    /* this refresh asked the server */
    size_t bytes_fetched;            /* bytes received by this refresh */
    char error[ANT_META_ERROR_MAX];  /* "" when none: the first failure, named */
};

struct ant_meta_trusted;

/*
 * Brings the trusted metadata up to date and returns it with its state.
 *
 * `cache_dirfd` is the checked host cache directory (ant_fsx_open_trusted_dir) or -1.
 * Nodes of one host are expected to share one anchor and one metadata source; nodes with
 * different ones can share the directory safely (everything is re-verified) but will
 * refetch each other's files away.
 * Cached files are read with the capped O_NOFOLLOW primitives and re-verified from the
 * trust anchor every time: a forged, swapped (FIFO, symlink) or rolled-back file is
 * ignored with a warning. If the cache holds a complete set stored within the TTL for the
 * same source, no fetch happens; else, under `metadata.lock`, the root chain is walked
 * (root.<N+1>.json until ANT_ERR_NOT_FOUND, at most ANT_META_MAX_ROOT_STEPS, each signed
 * by a threshold of the previous root's root keys and of its own, and exactly version
 * N+1), then timestamp.json (threshold of timestamp keys, version not below the last
 * trusted one), then targets.<M>.json (length and SHA-256 equal to the timestamp's,
 * threshold of targets keys, version equal to the timestamp's and not below the last
 * trusted one); what verified is stored back. A root rotation that changes the targets or
 * timestamp keys drops the trusted targets and timestamp. A transport failure with a
 * verified, unexpired set in the cache keeps that set (its expiry, not our reach of the
 * server, is what proves freshness) and names the failure in status->error.
 *
 * On ANT_OK, *out is the trusted set (free with ant_meta_trusted_free) and *status says
 * whether it may be used: only ANT_META_FRESH allows an install (ant_meta_lookup checks
 * it). *out may hold no timestamp/targets (state missing or invalid).
 * Errors (faults only; every rejection of metadata is a state, not an error):
 * ANT_ERR_INVALID_ARG, ANT_ERR_NOMEM, and ANT_ERR_BAD_KEY / ANT_ERR_PARSE if the trust
 * anchor itself is malformed.
 */
ANT_MUST_CHECK ant_err ant_meta_refresh(int cache_dirfd, const struct ant_meta_opts *opts,
                                        struct ant_meta_trusted **out,
                                        struct ant_meta_status *status);

void ant_meta_trusted_free(struct ant_meta_trusted *t);

/* The verified parts (NULL when absent); valid as long as the set. */
const struct ant_meta_root *ant_meta_trusted_root(const struct ant_meta_trusted *t);
const struct ant_meta_targets *ant_meta_trusted_targets(const struct ant_meta_trusted *t);
const struct ant_meta_timestamp *ant_meta_trusted_timestamp(const struct ant_meta_trusted *t);
enum ant_meta_state ant_meta_trusted_state(const struct ant_meta_trusted *t);

/*
 * The install gate: the targets entry for (version, platform) if the set is FRESH, the
 * version is listed for that platform and not yanked.
 * Errors: ANT_ERR_NOT_FOUND (not listed: e.g. an old signed release re-served),
 * ANT_ERR_DOWNGRADE (yanked), ANT_ERR_BAD_SIGNATURE (state not fresh; nothing may be
 * installed), ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_meta_lookup(const struct ant_meta_trusted *t, const char *version,
                                       const char *platform, struct ant_meta_target *out);

/* ANT_OK if (length, sha256) equals the entry's archive (resp. binary); else
 * ANT_ERR_MISMATCH. Constant-time digest comparison. */
ANT_MUST_CHECK ant_err ant_meta_check_archive(const struct ant_meta_target *entry,
                                              uint64_t length,
                                              const uint8_t sha256[ANT_SHA256_BYTES]);
ANT_MUST_CHECK ant_err ant_meta_check_binary(const struct ant_meta_target *entry,
                                             uint64_t length,
                                             const uint8_t sha256[ANT_SHA256_BYTES]);

/* The build's trust anchor (packaging/root.json as an envelope), static bytes. */
const uint8_t *ant_meta_embedded_root(size_t *len);

/*
 * Reads an operator's trust anchor (`--trusted-root FILE`): the file must not be a
 * symlink, must be a regular file of at most ANT_META_ROOT_MAX bytes owned by root or the
 * effective uid and not group- or world-writable, and its directory likewise (the rules
 * of --trusted-keys-dir). The caller frees *data. `why` (may be NULL) gets a one-line
 * reason on failure. Errors: ANT_ERR_UNSAFE_FILE, ANT_ERR_TOO_LARGE, ANT_ERR_NOT_FOUND,
 * ANT_ERR_IO, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_meta_read_trusted_root(const char *path, uint8_t **data, size_t *len,
                                                  char *why, size_t whycap);

/* --- fetching over HTTP ----------------------------------------------------------------- */

/* The default metadata base: the assets of the release tagged `metadata` of the repo. */
#define ANT_META_DEFAULT_URL_FMT "https://github.com/%s/releases/download/metadata/"

/* A ready-made ant_meta_fetch_fn over src/net (HTTPS; http only to loopback, as for the
 * release API). Plain value type: fill with ant_meta_http_init, pass its address as
 * fetch_arg and ant_meta_http_fetch as fetch. */
struct ant_meta_http {
    char base[ANT_HTTP_URL_MAX + 1]; /* ends with '/' */
    struct ant_http_opts http;
    long last_status;                /* HTTP status of the last request, 0 if none */
};

/* `base_url` (NULL = ANT_META_DEFAULT_URL_FMT of `repo`, OWNER/NAME) must pass
 * ant_http_url_allowed; a missing trailing '/' is added. `http` NULL = defaults.
 * Errors: ANT_ERR_INSECURE_URL, ANT_ERR_INVALID_ARG (no repo, too long). */
ANT_MUST_CHECK ant_err ant_meta_http_init(struct ant_meta_http *h, const char *base_url,
                                          const char *repo, const struct ant_http_opts *http);

/* GET base + name with the byte cap; HTTP 404 (and 410) is ANT_ERR_NOT_FOUND. */
ant_err ant_meta_http_fetch(void *arg, const char *name, size_t cap, uint8_t **data,
                            size_t *len);

/* --- building metadata (ant-release) -------------------------------------------------- */

/* A keyid: hex SHA-256 of the raw public key. */
ANT_MUST_CHECK ant_err ant_meta_keyid(char out[ANT_META_KEYID_HEX],
                                      const uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES]);

/* Keys of one role for ant_meta_root_build. */
struct ant_meta_role_keys {
    const uint8_t (*keys)[ANT_MLDSA65_PUBLICKEYBYTES];
    size_t count;
    unsigned threshold;
};

/* Root payload JSON (malloc'd) with the given keys; roles indexed root, targets,
 * timestamp. Errors: ANT_ERR_INVALID_ARG (threshold 0 or above the distinct keys, too
 * many keys), ANT_ERR_NOMEM. */
ANT_MUST_CHECK ant_err ant_meta_root_build(uint64_t version, int64_t expires,
                                           const struct ant_meta_role_keys *root_keys,
                                           const struct ant_meta_role_keys *targets_keys,
                                           const struct ant_meta_role_keys *timestamp_keys,
                                           uint8_t **out, size_t *len);

/* The root payload `prev` with a new version and expiry and, for every role whose
 * argument is not NULL, that role's keys replaced. */
ANT_MUST_CHECK ant_err ant_meta_root_rebuild(const struct ant_meta_root *prev, uint64_t version,
                                             int64_t expires,
                                             const struct ant_meta_role_keys *root_keys,
                                             const struct ant_meta_role_keys *targets_keys,
                                             const struct ant_meta_role_keys *timestamp_keys,
                                             uint8_t **out, size_t *len);

/* Changes to the release policy of targets (ARCHITECTURE.md §10); NULL fields keep
 * what the previous targets said. */
struct ant_meta_targets_policy {
    const char *minimum_version; /* a version, or "" to remove it */
    const char *yank;            /* a version to add to yanked */
};

/* Targets payload: `prev` (NULL for none) with `entry` (may be NULL) added, replacing the
 * same version/platform, `policy` (may be NULL) applied, a new version and expiry.
 * ANT_ERR_BAD_VERSION for a policy version that is not canonical X.Y.Z[-pre]. */
ANT_MUST_CHECK ant_err ant_meta_targets_build(const struct ant_meta_targets *prev,
                                              uint64_t version, int64_t expires,
                                              const struct ant_meta_target *entry,
                                              const struct ant_meta_targets_policy *policy,
                                              uint8_t **out, size_t *len);

/* Timestamp payload naming the targets file `ref`, with `rollout` (NULL: keep `prev`'s,
 * if any; one with present false: none). */
ANT_MUST_CHECK ant_err ant_meta_timestamp_build(const struct ant_meta_timestamp *prev,
                                                uint64_t version, int64_t expires,
                                                const struct ant_meta_targets_ref *ref,
                                                const struct ant_meta_rollout *rollout,
                                                uint8_t **out, size_t *len);

/* --- a metadata repository directory (ant-release, the devnet) ------------------------- */

/*
 * The operator's steps on a directory holding root.<N>.json, targets.<M>.json and
 * timestamp.json (the files a node fetches). `dirfd` is the open directory. Each step
 * writes the next version of one role unsigned, or adds one signature; `why` (may be NULL)
 * receives a one-line reason on failure. Refusals: ANT_ERR_EXISTS (the file exists, or
 * the key already signed it), ANT_ERR_BAD_KEY (a key that is not the role's, bad keys or
 * thresholds), ANT_ERR_BAD_SIGNATURE (targets below its threshold for `timestamp`),
 * ANT_ERR_NOT_FOUND (no root or targets yet), ANT_ERR_INVALID_ARG and parse errors of
 * the files; faults: ANT_ERR_IO, ANT_ERR_NOMEM, ANT_ERR_RNG.
 */

/* The role's file name for `version` ("timestamp.json" for the timestamp). */
void ant_meta_repo_file_name(enum ant_meta_role role, uint64_t version, char *buf, size_t cap);
/* The newest version of a role in the directory (0 when none): the highest N of the
 * numbered files, or the version inside timestamp.json. */
ANT_MUST_CHECK ant_err ant_meta_repo_newest(int dirfd, enum ant_meta_role role,
                                            uint64_t *version);
/* Reads the role's file of `version` as an envelope (the caller frees it). */
ANT_MUST_CHECK ant_err ant_meta_repo_load(int dirfd, enum ant_meta_role role, uint64_t version,
                                          struct ant_meta_envelope **env, char *why,
                                          size_t whycap);
/* root.1.json with these keys; never replaces one. */
ANT_MUST_CHECK ant_err ant_meta_repo_init(int dirfd, const struct ant_meta_role_keys *root_keys,
                                          const struct ant_meta_role_keys *targets_keys,
                                          const struct ant_meta_role_keys *timestamp_keys,
                                          int64_t expires, char *why, size_t whycap);
/* targets.<M+1>.json: the newest targets plus `entry` (may be NULL) with `policy` (may be
 * NULL) applied; *version (may be NULL) = M+1. */
ANT_MUST_CHECK ant_err ant_meta_repo_add(int dirfd, const struct ant_meta_target *entry,
                                         const struct ant_meta_targets_policy *policy,
                                         int64_t expires, uint64_t *version, char *why,
                                         size_t whycap);
/* The next timestamp.json naming the newest targets, which must carry its threshold of
 * valid signatures under the newest root; `rollout` as for ant_meta_timestamp_build
 * (NULL keeps the previous timestamp's). */
ANT_MUST_CHECK ant_err ant_meta_repo_timestamp(int dirfd, const struct ant_meta_rollout *rollout,
                                               int64_t expires, uint64_t *version, char *why,
                                               size_t whycap);
/* Adds a signature by `sk` to the newest file of `role`; the key must be the role's in
 * the newest root (for the root: in it or in the root before it). *signatures (may be
 * NULL) = the file's signature count afterwards. */
ANT_MUST_CHECK ant_err ant_meta_repo_sign(int dirfd, enum ant_meta_role role,
                                          const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES],
                                          size_t *signatures, char *why, size_t whycap);
/* root.<N+1>.json: the newest root with the non-NULL roles' keys replaced. */
ANT_MUST_CHECK ant_err ant_meta_repo_rotate(int dirfd, const struct ant_meta_role_keys *root_keys,
                                            const struct ant_meta_role_keys *targets_keys,
                                            const struct ant_meta_role_keys *timestamp_keys,
                                            int64_t expires, uint64_t *version, char *why,
                                            size_t whycap);

#endif
