/*
 * Attacks on the signed release metadata (ARCHITECTURE.md §9), from the attacker's side:
 * a metadata server, a network attacker or a writer of the shared host cache serves
 * something, and the client must end in the named state with nothing installable.
 *
 * The "server" is a directory read through the same fetch callback shape the node uses;
 * the cache is a real directory under the fsx rules. Keys are derived from fixed seeds.
 * Categories (see docs/THREAT-MODEL.md §2): signatures and thresholds, rollback and
 * freshness, root chain, endless and oversized data, install gate, host cache, parsing.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/meta.h"
#include "release/test_server.h"
#include "test.h"

#define NKEYS 9
enum { R1, R2, R3, T1, T2, S1, N1, N2, N3 };
#define NOW ((int64_t)1800000000) /* 2027-01-15 */
#define DAY 86400

static uint8_t pk[NKEYS][ANT_MLDSA65_PUBLICKEYBYTES];
static uint8_t sk[NKEYS][ANT_MLDSA65_SECRETKEYBYTES];
static bool keys_made;

struct spec {
    int k[4];
    size_t n;
    unsigned th;
};

struct fx {
    char srv[64], cache[64];
    int srvfd, cachefd;
    uint8_t *anchor;
    size_t anchor_len;
    uint8_t *tg;      /* the last targets file published */
    size_t tg_len;
    uint64_t tg_version;
    int64_t now;
    size_t fetches;   /* fetch callback calls */
};

/* Also quiets the log: the warnings the attacks provoke are expected here. */
static void make_keys(void)
{
    ant_log_set_level(ANT_LOG_ERROR);
    if (keys_made)
        return;
    for (int i = 0; i < NKEYS; i++) {
        uint8_t seed[32];
        memset(seed, 0x40 + i, sizeof seed);
        if (ant_mldsa65_keypair_from_seed(pk[i], sk[i], seed) != ANT_OK)
            abort();
    }
    keys_made = true;
}

/* An envelope of `role` around `payload` (taken) signed by the keys in `signers`. */
static uint8_t *envelope(enum ant_meta_role role, uint8_t *payload, size_t len,
                         const int *signers, size_t ns, size_t *out_len)
{
    struct ant_meta_envelope *env = NULL;
    uint8_t *out = NULL;
    CHECK_OK(ant_meta_envelope_new(role, payload, len, &env));
    free(payload);
    for (size_t i = 0; env != NULL && i < ns; i++)
        CHECK_OK(ant_meta_envelope_sign(env, sk[signers[i]]));
    if (env != NULL)
        CHECK_OK(ant_meta_envelope_serialize(env, &out, out_len));
    ant_meta_envelope_free(env);
    return out;
}

static void rk_of(const struct spec *s, uint8_t (*buf)[ANT_MLDSA65_PUBLICKEYBYTES],
                  struct ant_meta_role_keys *rk)
{
    for (size_t i = 0; i < s->n; i++)
        memcpy(buf[i], pk[s->k[i]], ANT_MLDSA65_PUBLICKEYBYTES);
    rk->keys = (const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])buf;
    rk->count = s->n;
    rk->threshold = s->th;
}

static uint8_t *root_file(uint64_t version, int64_t expires, struct spec r, struct spec t,
                          struct spec s, const int *signers, size_t ns, size_t *len)
{
    static uint8_t kb[3][4][ANT_MLDSA65_PUBLICKEYBYTES];
    struct ant_meta_role_keys rk[3];
    uint8_t *payload = NULL;
    size_t plen = 0;
    rk_of(&r, kb[0], &rk[0]);
    rk_of(&t, kb[1], &rk[1]);
    rk_of(&s, kb[2], &rk[2]);
    CHECK_OK(ant_meta_root_build(version, expires, &rk[0], &rk[1], &rk[2], &payload, &plen));
    return envelope(ANT_META_ROLE_ROOT, payload, plen, signers, ns, len);
}

static const struct spec ROOT_KEYS = {{R1, R2, R3}, 3, 2};
static const struct spec TARGET_KEYS = {{T1, T2}, 2, 2};
static const struct spec TS_KEYS = {{S1}, 1, 1};

static void put(struct fx *f, const char *name, const uint8_t *data, size_t len)
{
    CHECK_OK(ant_fsx_write_atomic(f->srvfd, name, data, len, 0600));
}

static struct ant_meta_target entry(const char *version, uint8_t fill)
{
    struct ant_meta_target e;
    memset(&e, 0, sizeof e);
    snprintf(e.version, sizeof e.version, "%s", version);
    snprintf(e.platform, sizeof e.platform, "linux-x64");
    snprintf(e.archive_name, sizeof e.archive_name, "ant-node-cli-linux-x64.tar.gz");
    e.archive_length = 1000;
    memset(e.archive_sha256, fill, 32);
    e.binary_length = 5000;
    memset(e.binary_sha256, (uint8_t)(fill + 1), 32);
    return e;
}

/* Publishes targets.<version>.json listing 0.2.0 (and `extra` if given). */
static void publish_targets(struct fx *f, uint64_t version, int64_t expires, const int *signers,
                            size_t ns, const char *extra)
{
    struct ant_meta_targets *prev = NULL;
    struct ant_meta_target e = entry("0.2.0", 0x11);
    uint8_t *payload = NULL, *p2 = NULL;
    size_t plen = 0;
    char name[64];
    CHECK_OK(ant_meta_targets_build(NULL, version, expires, &e, NULL, &payload, &plen));
    if (extra != NULL) {
        CHECK_OK(ant_meta_targets_parse(payload, plen, &prev));
        e = entry(extra, 0x21);
        free(payload);
        CHECK_OK(ant_meta_targets_build(prev, version, expires, &e, NULL, &p2, &plen));
        payload = p2;
        ant_meta_targets_free(prev);
    }
    free(f->tg);
    f->tg = envelope(ANT_META_ROLE_TARGETS, payload, plen, signers, ns, &f->tg_len);
    f->tg_version = version;
    snprintf(name, sizeof name, "targets.%llu.json", (unsigned long long)version);
    put(f, name, f->tg, f->tg_len);
}

/* Publishes timestamp.json naming the last published targets. */
static void publish_timestamp(struct fx *f, uint64_t version, int64_t expires, const int *signers,
                              size_t ns)
{
    struct ant_meta_targets_ref ref;
    uint8_t *payload = NULL, *env;
    size_t plen = 0, len = 0;
    ref.version = f->tg_version;
    ref.length = f->tg_len;
    CHECK_OK(ant_sha256(ref.sha256, f->tg, f->tg_len));
    CHECK_OK(ant_meta_timestamp_build(NULL, version, expires, &ref, NULL, &payload, &plen));
    env = envelope(ANT_META_ROLE_TIMESTAMP, payload, plen, signers, ns, &len);
    put(f, "timestamp.json", env, len);
    free(env);
}

static const int TSIGN[] = {T1, T2};
static const int SSIGN[] = {S1};
static const int RSIGN[] = {R1, R2};

/* A server with root 1 (the anchor), targets 1 and timestamp 1, all good. */
static void setup(struct fx *f)
{
    memset(f, 0, sizeof *f);
    make_keys();
    snprintf(f->srv, sizeof f->srv, "/tmp/ant-test-meta-srv-XXXXXX");
    snprintf(f->cache, sizeof f->cache, "/tmp/ant-test-meta-cache-XXXXXX");
    if (mkdtemp(f->srv) == NULL || mkdtemp(f->cache) == NULL)
        abort();
    CHECK_OK(ant_fsx_open_trusted_dir(f->srv, false, &f->srvfd));
    CHECK_OK(ant_fsx_open_trusted_dir(f->cache, false, &f->cachefd));
    f->now = NOW;
    f->anchor = root_file(1, NOW + 365 * DAY, ROOT_KEYS, TARGET_KEYS, TS_KEYS, RSIGN, 2,
                          &f->anchor_len);
    put(f, "root.1.json", f->anchor, f->anchor_len);
    publish_targets(f, 1, NOW + 90 * DAY, TSIGN, 2, NULL);
    publish_timestamp(f, 1, NOW + DAY, SSIGN, 1);
}

static void teardown(struct fx *f)
{
    char cmd[200];
    close(f->srvfd);
    close(f->cachefd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", f->srv, f->cache);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove the test dirs\n");
    free(f->anchor);
    free(f->tg);
}

static ant_err fetch_dir(void *arg, const char *name, size_t cap, uint8_t **data, size_t *len)
{
    struct fx *f = arg;
    f->fetches++;
    return ant_fsx_read_capped(f->srvfd, name, cap, data, len);
}

/* A refresh as a node does it; `cache` false runs without the host cache. */
static struct ant_meta_trusted *refresh_ex(struct fx *f, bool cache, bool force,
                                           struct ant_meta_status *st)
{
    struct ant_meta_opts o;
    struct ant_meta_trusted *t = NULL;
    ant_meta_opts_init(&o);
    o.trusted_root = f->anchor;
    o.trusted_root_len = f->anchor_len;
    o.fetch = fetch_dir;
    o.fetch_arg = f;
    o.now = f->now;
    o.force = force;
    o.lock_timeout_ms = 2000;
    CHECK_OK(ant_meta_refresh(cache ? f->cachefd : -1, &o, &t, st));
    return t;
}

static enum ant_meta_state refresh(struct fx *f, struct ant_meta_status *st)
{
    struct ant_meta_trusted *t = refresh_ex(f, true, true, st);
    enum ant_meta_state s = ant_meta_trusted_state(t);
    ant_meta_trusted_free(t);
    return s;
}

#define CHECK_STATE(f, want)                                                              \
    do {                                                                                  \
        struct ant_meta_status st_;                                                       \
        enum ant_meta_state s_ = refresh((f), &st_);                                      \
        CHECK_MSG(s_ == (want), "state %s, want %s (error: %s)", ant_meta_state_name(s_), \
                  ant_meta_state_name(want), st_.error);                                  \
    } while (0)

/* ---- the good path ------------------------------------------------------------------- */

static void test_fresh_and_lookup(void)
{
    struct fx f;
    struct ant_meta_status st;
    struct ant_meta_target e, want = entry("0.2.0", 0x11);
    setup(&f);
    struct ant_meta_trusted *t = refresh_ex(&f, true, true, &st);
    CHECK_STR(ant_meta_state_name(st.state), "fresh");
    CHECK_INT(st.root_version, 1);
    CHECK_INT(st.targets_version, 1);
    CHECK_INT(st.timestamp_version, 1);
    CHECK_INT(st.timestamp_expires, NOW + DAY);
    CHECK_OK(ant_meta_lookup(t, "0.2.0", "linux-x64", &e));
    CHECK_OK(ant_meta_check_archive(&e, want.archive_length, want.archive_sha256));
    CHECK_OK(ant_meta_check_binary(&e, want.binary_length, want.binary_sha256));
    CHECK_OK(ant_meta_lookup(t, "v0.2.0", "linux-x64", &e));
    ant_meta_trusted_free(t);
    teardown(&f);
}

/* ---- signatures and thresholds ---------------------------------------------------------- */

static void test_targets_below_threshold(void)
{
    struct fx f;
    setup(&f);
    publish_targets(&f, 2, NOW + 90 * DAY, (const int[]){T1}, 1, "0.3.0");
    publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_INVALID);
    teardown(&f);
}

static void test_signature_of_another_role(void)
{
    struct fx f;
    setup(&f);
    /* one targets key plus the timestamp key, and plus a root key: still one valid */
    publish_targets(&f, 2, NOW + 90 * DAY, (const int[]){T1, S1, R1}, 3, "0.3.0");
    publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_INVALID);
    /* a timestamp signed by a targets key */
    publish_targets(&f, 2, NOW + 90 * DAY, TSIGN, 2, "0.3.0");
    publish_timestamp(&f, 2, NOW + DAY, (const int[]){T1}, 1);
    CHECK_STATE(&f, ANT_META_INVALID);
    teardown(&f);
}

static void test_duplicate_keyid_counts_once(void)
{
    struct fx f;
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_root *root = NULL;
    size_t plen = 0;
    setup(&f);
    CHECK_OK(ant_meta_envelope_parse(ANT_META_ROLE_ROOT, f.anchor, f.anchor_len, &env));
    const uint8_t *p = ant_meta_envelope_payload(env, &plen);
    CHECK_OK(ant_meta_root_parse(p, plen, &root));
    ant_meta_envelope_free(env);
    env = NULL;
    /* targets signed once by T1, then the signature entry repeated: the JSON is edited
     * by hand, as an attacker would */
    publish_targets(&f, 2, NOW + 90 * DAY, (const int[]){T1}, 1, "0.3.0");
    char *s = (char *)f.tg, *sig = strstr(s, "{\"keyid\"");
    CHECK(sig != NULL);
    if (sig != NULL) {
        char *end = strchr(sig, '}');
        size_t one = (size_t)(end - sig + 1), head = (size_t)(sig - s);
        size_t nlen = f.tg_len + one + 1;
        char *n = malloc(nlen + 1);
        memcpy(n, s, head + one);
        n[head + one] = ',';
        memcpy(n + head + one + 1, sig, f.tg_len - head);
        n[nlen] = '\0';
        CHECK_OK(ant_meta_envelope_parse(ANT_META_ROLE_TARGETS, (uint8_t *)n, nlen, &env));
        CHECK_INT(ant_meta_envelope_signature_count(env), 2);
        unsigned valid = 9;
        CHECK_ERR(ant_meta_envelope_verify(env, root, ANT_META_ROLE_TARGETS, &valid),
                  ANT_ERR_BAD_SIGNATURE);
        CHECK_INT(valid, 1);
        /* and end to end through the client */
        free(f.tg);
        f.tg = (uint8_t *)n;
        f.tg_len = nlen;
        put(&f, "targets.2.json", f.tg, f.tg_len);
        publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
        CHECK_STATE(&f, ANT_META_INVALID);
    }
    ant_meta_envelope_free(env);
    ant_meta_root_free(root);
    teardown(&f);
}

static void test_keyid_must_be_key_hash(void)
{
    /* one key listed under a second keyid would count twice: the root is refused */
    char b64[8192], json[20000];
    make_keys();
    char *enc = NULL;
    {
        /* the base64 of pk[R1] through a one-key root, read back from the builder */
        uint8_t kb[1][ANT_MLDSA65_PUBLICKEYBYTES];
        struct ant_meta_role_keys rk;
        struct spec s = {{R1}, 1, 1};
        uint8_t *payload = NULL;
        size_t plen = 0;
        rk_of(&s, kb, &rk);
        CHECK_OK(ant_meta_root_build(1, NOW, &rk, &rk, &rk, &payload, &plen));
        char *pub = payload != NULL ? strstr((char *)payload, "\"public\"") : NULL;
        CHECK(pub != NULL);
        if (pub != NULL) {
            pub = strchr(pub + 8, '"') + 1;
            size_t n = (size_t)(strchr(pub, '"') - pub);
            memcpy(b64, pub, n);
            b64[n] = '\0';
            enc = b64;
        }
        free(payload);
    }
    if (enc == NULL)
        return;
    char kid[ANT_META_KEYID_HEX], fake[ANT_META_KEYID_HEX];
    CHECK_OK(ant_meta_keyid(kid, pk[R1]));
    memcpy(fake, kid, sizeof fake);
    fake[0] = fake[0] == 'a' ? 'b' : 'a';
    snprintf(json, sizeof json,
             "{\"type\":\"root\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{"
             "\"%s\":{\"scheme\":\"ml-dsa-65\",\"public\":\"%s\"},"
             "\"%s\":{\"scheme\":\"ml-dsa-65\",\"public\":\"%s\"}},\"roles\":{"
             "\"root\":{\"keyids\":[\"%s\",\"%s\"],\"threshold\":2},"
             "\"targets\":{\"keyids\":[\"%s\"],\"threshold\":1},"
             "\"timestamp\":{\"keyids\":[\"%s\"],\"threshold\":1}}}",
             kid, enc, fake, enc, kid, fake, kid, kid);
    struct ant_meta_root *r = NULL;
    CHECK_ERR(ant_meta_root_parse((uint8_t *)json, strlen(json), &r), ANT_ERR_BAD_KEY);
    ant_meta_root_free(r);
}

static void test_tampered_payload(void)
{
    struct fx f;
    setup(&f);
    publish_targets(&f, 2, NOW + 90 * DAY, TSIGN, 2, "0.3.0");
    /* re-encode the envelope with one payload byte changed (the base64 of a different
     * JSON that still parses): the signatures no longer cover it */
    struct ant_meta_envelope *env = NULL;
    size_t plen = 0;
    CHECK_OK(ant_meta_envelope_parse(ANT_META_ROLE_TARGETS, f.tg, f.tg_len, &env));
    uint8_t *p = (uint8_t *)ant_meta_envelope_payload(env, &plen);
    char *v = strstr((char *)p, "\"0.3.0\"");
    CHECK(v != NULL);
    if (v != NULL)
        v[3] = '9'; /* 0.9.0 */
    free(f.tg);
    CHECK_OK(ant_meta_envelope_serialize(env, &f.tg, &f.tg_len));
    ant_meta_envelope_free(env);
    put(&f, "targets.2.json", f.tg, f.tg_len);
    publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_INVALID);
    teardown(&f);
}

static void test_wrong_payload_type(void)
{
    struct fx f;
    struct ant_meta_envelope *env = NULL;
    setup(&f);
    /* a timestamp envelope is never a targets envelope, whoever signed it */
    uint8_t *ts = NULL;
    size_t len = 0;
    CHECK_OK(ant_fsx_read_capped(f.srvfd, "timestamp.json", ANT_META_TIMESTAMP_MAX, &ts, &len));
    CHECK_ERR(ant_meta_envelope_parse(ANT_META_ROLE_TARGETS, ts, len, &env), ANT_ERR_PARSE);
    CHECK_ERR(ant_meta_envelope_parse(ANT_META_ROLE_ROOT, ts, len, &env), ANT_ERR_PARSE);
    free(ts);
    teardown(&f);
}

/* ---- rollback and freshness -------------------------------------------------------------- */

static void test_timestamp_rollback(void)
{
    struct fx f;
    setup(&f);
    publish_timestamp(&f, 5, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_FRESH);
    publish_timestamp(&f, 4, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_INVALID);
    teardown(&f);
}

static void test_targets_rollback(void)
{
    struct fx f;
    setup(&f);
    publish_targets(&f, 3, NOW + 90 * DAY, TSIGN, 2, "0.3.0");
    publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_FRESH);
    /* a newer timestamp that points back at targets 1 (old, validly signed) */
    publish_targets(&f, 1, NOW + 90 * DAY, TSIGN, 2, NULL);
    publish_timestamp(&f, 3, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_INVALID);
    teardown(&f);
}

static void test_mix_and_match(void)
{
    struct fx f;
    setup(&f);
    /* the timestamp names targets 2 as published; then the server swaps in another
     * validly signed targets 2 (a different release list) */
    publish_targets(&f, 2, NOW + 90 * DAY, TSIGN, 2, "0.3.0");
    publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
    publish_targets(&f, 2, NOW + 90 * DAY, TSIGN, 2, "0.4.0");
    CHECK_STATE(&f, ANT_META_INVALID);
    teardown(&f);
}

static void test_expired_timestamp(void)
{
    struct fx f;
    setup(&f);
    publish_timestamp(&f, 2, NOW - 1, SSIGN, 1);
    struct ant_meta_status st;
    struct ant_meta_trusted *t = refresh_ex(&f, false, true, &st);
    CHECK_STR(ant_meta_state_name(st.state), "stale");
    struct ant_meta_target e;
    CHECK_ERR(ant_meta_lookup(t, "0.2.0", "linux-x64", &e), ANT_ERR_BAD_SIGNATURE);
    ant_meta_trusted_free(t);
    teardown(&f);
}

static void test_expired_targets(void)
{
    struct fx f;
    setup(&f);
    publish_targets(&f, 2, NOW - 1, TSIGN, 2, "0.3.0");
    publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_STALE);
    teardown(&f);
}

static void test_expired_root(void)
{
    struct fx f;
    setup(&f);
    free(f.anchor);
    f.anchor = root_file(1, NOW - 1, ROOT_KEYS, TARGET_KEYS, TS_KEYS, RSIGN, 2, &f.anchor_len);
    CHECK_STATE(&f, ANT_META_ROOT_EXPIRED);
    /* a root 2 published in time revives the node: the expiry of intermediate roots does
     * not matter, only the newest one's */
    size_t len = 0;
    uint8_t *r2 = root_file(2, NOW + DAY, ROOT_KEYS, TARGET_KEYS, TS_KEYS, RSIGN, 2, &len);
    put(&f, "root.2.json", r2, len);
    free(r2);
    CHECK_STATE(&f, ANT_META_FRESH);
    teardown(&f);
}

/* The freeze attack: the server keeps serving the same, once valid timestamp. */
static void test_freeze(void)
{
    struct fx f;
    setup(&f);
    CHECK_STATE(&f, ANT_META_FRESH);
    f.now = NOW + DAY + 1;
    struct ant_meta_status st;
    struct ant_meta_trusted *t = refresh_ex(&f, true, true, &st);
    CHECK_STR(ant_meta_state_name(st.state), "stale");
    CHECK(strstr(st.error, "expired") != NULL);
    struct ant_meta_target e;
    CHECK_ERR(ant_meta_lookup(t, "0.2.0", "linux-x64", &e), ANT_ERR_BAD_SIGNATURE);
    ant_meta_trusted_free(t);
    teardown(&f);
}

/* ---- the root chain ----------------------------------------------------------------------- */

static const struct spec NEW_ROOT_KEYS = {{N1, N2, N3}, 3, 2};

static void test_root_signed_only_by_new_keys(void)
{
    struct fx f;
    size_t len = 0;
    setup(&f);
    uint8_t *r2 = root_file(2, NOW + 365 * DAY, NEW_ROOT_KEYS, TARGET_KEYS, TS_KEYS,
                            (const int[]){N1, N2}, 2, &len);
    put(&f, "root.2.json", r2, len);
    free(r2);
    struct ant_meta_status st;
    CHECK(refresh(&f, &st) == ANT_META_INVALID);
    CHECK_INT(st.root_version, 1);
    teardown(&f);
}

static void test_root_signed_only_by_old_keys(void)
{
    struct fx f;
    size_t len = 0;
    setup(&f);
    uint8_t *r2 = root_file(2, NOW + 365 * DAY, NEW_ROOT_KEYS, TARGET_KEYS, TS_KEYS, RSIGN, 2,
                            &len);
    put(&f, "root.2.json", r2, len);
    free(r2);
    struct ant_meta_status st;
    CHECK(refresh(&f, &st) == ANT_META_INVALID);
    CHECK_INT(st.root_version, 1);
    teardown(&f);
}

static void test_root_skipping_a_version(void)
{
    struct fx f;
    size_t len = 0;
    setup(&f);
    uint8_t *r3 = root_file(3, NOW + 365 * DAY, ROOT_KEYS, TARGET_KEYS, TS_KEYS, RSIGN, 2, &len);
    put(&f, "root.2.json", r3, len);
    free(r3);
    CHECK_STATE(&f, ANT_META_INVALID);
    teardown(&f);
}

static void test_rotation_of_targets_keys(void)
{
    struct fx f;
    size_t len = 0;
    setup(&f);
    CHECK_STATE(&f, ANT_META_FRESH);
    /* root 2: targets keys N1,N2; signed by old and new root keys (same root keys here) */
    const struct spec new_targets = {{N1, N2}, 2, 2};
    uint8_t *r2 = root_file(2, NOW + 365 * DAY, ROOT_KEYS, new_targets, TS_KEYS, RSIGN, 2, &len);
    put(&f, "root.2.json", r2, len);
    free(r2);
    /* the old targets (signed by T1,T2) no longer verify */
    CHECK_STATE(&f, ANT_META_INVALID);
    publish_targets(&f, 2, NOW + 90 * DAY, (const int[]){N1, N2}, 2, "0.3.0");
    publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
    struct ant_meta_status st;
    struct ant_meta_trusted *t = refresh_ex(&f, true, true, &st);
    CHECK_STR(ant_meta_state_name(st.state), "fresh");
    CHECK_INT(st.root_version, 2);
    struct ant_meta_target e;
    CHECK_OK(ant_meta_lookup(t, "0.3.0", "linux-x64", &e));
    ant_meta_trusted_free(t);
    /* the cache walks the chain too: with no server it still ends on root 2, fresh */
    struct ant_meta_opts o;
    ant_meta_opts_init(&o);
    o.trusted_root = f.anchor;
    o.trusted_root_len = f.anchor_len;
    o.now = f.now;
    CHECK_OK(ant_meta_refresh(f.cachefd, &o, &t, &st));
    CHECK_STR(ant_meta_state_name(st.state), "fresh");
    CHECK_INT(st.root_version, 2);
    ant_meta_trusted_free(t);
    teardown(&f);
}

/* A fast-forward recovery: a stolen timestamp key pushed the version to 1000; the root
 * rotates the timestamp key and the node accepts version 1 again from the new key. */
static void test_timestamp_key_rotation_resets_version(void)
{
    struct fx f;
    size_t len = 0;
    setup(&f);
    publish_timestamp(&f, 1000, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&f, ANT_META_FRESH);
    const struct spec new_ts = {{N3}, 1, 1};
    uint8_t *r2 = root_file(2, NOW + 365 * DAY, ROOT_KEYS, TARGET_KEYS, new_ts, RSIGN, 2, &len);
    put(&f, "root.2.json", r2, len);
    free(r2);
    publish_timestamp(&f, 1, NOW + DAY, (const int[]){N3}, 1);
    CHECK_STATE(&f, ANT_META_FRESH);
    teardown(&f);
}

/* A rotation the node has already passed must not wipe its private floors: root 2 rotated
 * the timestamp key, the node then trusted timestamp 7 under root 2 and persisted floors
 * (root 2, timestamp 7). Every refresh walks the chain from the anchor again, across that
 * rotation; an older timestamp 3 signed by the same new key, served by the server after the
 * cache was emptied or planted in the cache by a same-uid writer, must be refused, not
 * reported fresh. (Found by review; this test failed before the fix: state fresh, ts 3.) */
static void test_passed_rotation_keeps_floors(void)
{
    struct fx f;
    struct ant_meta_status st;
    struct ant_meta_trusted *t = NULL;
    struct ant_meta_opts o;
    size_t len = 0;
    uint8_t *old_ts = NULL;
    size_t old_len = 0;
    const struct spec new_ts = {{N3}, 1, 1};

    setup(&f);
    uint8_t *r2 = root_file(2, NOW + 365 * DAY, ROOT_KEYS, TARGET_KEYS, new_ts, RSIGN, 2, &len);
    put(&f, "root.2.json", r2, len);
    free(r2);
    /* the old timestamp 3 the attacker keeps, then the current timestamp 7 */
    publish_timestamp(&f, 3, NOW + DAY, (const int[]){N3}, 1);
    CHECK_OK(ant_fsx_read_capped(f.srvfd, "timestamp.json", ANT_META_TIMESTAMP_MAX, &old_ts,
                                 &old_len));
    publish_timestamp(&f, 7, NOW + DAY, (const int[]){N3}, 1);
    CHECK_STATE(&f, ANT_META_FRESH);

    ant_meta_opts_init(&o);
    o.trusted_root = f.anchor;
    o.trusted_root_len = f.anchor_len;
    o.fetch = fetch_dir;
    o.fetch_arg = &f;
    o.now = f.now;
    o.force = true;
    o.floor_root_version = 2;
    o.floor_timestamp_version = 7;
    o.floor_targets_version = 1;

    /* 1. the server replays timestamp 3 to a node whose cache was emptied */
    put(&f, "timestamp.json", old_ts, old_len);
    CHECK(unlinkat(f.cachefd, ANT_META_CACHE_TIMESTAMP, 0) == 0);
    CHECK_OK(ant_meta_refresh(f.cachefd, &o, &t, &st));
    CHECK_MSG(st.state == ANT_META_INVALID, "server replay: state %s, timestamp %llu",
              ant_meta_state_name(st.state), (unsigned long long)st.timestamp_version);
    ant_meta_trusted_free(t);
    t = NULL;

    /* 2. a same-uid writer plants timestamp 3 in the cache; a cache-only read */
    CHECK_OK(ant_fsx_write_atomic(f.cachefd, ANT_META_CACHE_TIMESTAMP, old_ts, old_len, 0600));
    o.fetch = NULL;
    o.force = false;
    CHECK_OK(ant_meta_refresh(f.cachefd, &o, &t, &st));
    CHECK_MSG(st.state != ANT_META_FRESH || st.timestamp_version >= 7,
              "cache plant: state %s, timestamp %llu", ant_meta_state_name(st.state),
              (unsigned long long)st.timestamp_version);
    ant_meta_trusted_free(t);
    free(old_ts);
    teardown(&f);
}

/* ---- endless and oversized ---------------------------------------------------------------- */

static void test_endless_root_chain(void)
{
    struct fx f;
    setup(&f);
    for (uint64_t v = 2; v <= ANT_META_MAX_ROOT_STEPS + 3; v++) {
        char name[64];
        size_t len = 0;
        uint8_t *r = root_file(v, NOW + 365 * DAY, ROOT_KEYS, TARGET_KEYS, TS_KEYS, RSIGN, 2, &len);
        snprintf(name, sizeof name, "root.%llu.json", (unsigned long long)v);
        put(&f, name, r, len);
        free(r);
    }
    struct ant_meta_status st;
    f.fetches = 0;
    CHECK(refresh(&f, &st) == ANT_META_INVALID);
    CHECK_INT(st.root_version, 1 + ANT_META_MAX_ROOT_STEPS);
    CHECK(f.fetches <= ANT_META_MAX_ROOT_STEPS);
    teardown(&f);
}

/* An endless response: the transport stops at the cap it was given. */
struct endless {
    struct fx *f;
    size_t max_cap_seen;
    const char *which;
};

static ant_err fetch_endless(void *arg, const char *name, size_t cap, uint8_t **data, size_t *len)
{
    struct endless *e = arg;
    if (strcmp(name, e->which) != 0)
        return fetch_dir(e->f, name, cap, data, len);
    if (cap > e->max_cap_seen)
        e->max_cap_seen = cap;
    /* a stream that never ends: what a correct transport does is count and stop */
    (void)data;
    (void)len;
    return ANT_ERR_TOO_LARGE;
}

static void test_endless_and_oversized(void)
{
    struct fx f;
    struct ant_meta_opts o;
    struct ant_meta_status st;
    struct ant_meta_trusted *t = NULL;
    struct endless e;
    setup(&f);
    const char *which[] = {"root.2.json", "timestamp.json", "targets.1.json"};
    const size_t caps[] = {ANT_META_ROOT_MAX, ANT_META_TIMESTAMP_MAX, 0};
    for (int i = 0; i < 3; i++) {
        e.f = &f;
        e.max_cap_seen = 0;
        e.which = which[i];
        ant_meta_opts_init(&o);
        o.trusted_root = f.anchor;
        o.trusted_root_len = f.anchor_len;
        o.fetch = fetch_endless;
        o.fetch_arg = &e;
        o.now = f.now;
        CHECK_OK(ant_meta_refresh(-1, &o, &t, &st));
        CHECK_MSG(st.state == ANT_META_INVALID, "%s: %s", which[i], ant_meta_state_name(st.state));
        /* the targets cap is the timestamp's length, not 4 MiB */
        CHECK_INT(e.max_cap_seen, caps[i] != 0 ? caps[i] : f.tg_len);
        ant_meta_trusted_free(t);
    }
    /* an oversized timestamp file on the server, read through the capped reader */
    uint8_t *big = malloc(ANT_META_TIMESTAMP_MAX + 10);
    memset(big, ' ', ANT_META_TIMESTAMP_MAX + 10);
    put(&f, "timestamp.json", big, ANT_META_TIMESTAMP_MAX + 10);
    free(big);
    CHECK_STATE(&f, ANT_META_INVALID);
    /* and the parsers refuse an over-cap buffer even if a caller hands one over */
    struct ant_meta_envelope *env = NULL;
    big = calloc(1, ANT_META_ROOT_MAX + 1);
    CHECK_ERR(ant_meta_envelope_parse(ANT_META_ROLE_ROOT, big, ANT_META_ROOT_MAX + 1, &env),
              ANT_ERR_TOO_LARGE);
    free(big);
    teardown(&f);
}

/* ---- the install gate ------------------------------------------------------------------- */

static void test_install_gate(void)
{
    struct fx f;
    struct ant_meta_status st;
    struct ant_meta_target e;
    setup(&f);
    struct ant_meta_trusted *t = refresh_ex(&f, false, true, &st);
    CHECK_STR(ant_meta_state_name(st.state), "fresh");
    /* an old signed release re-served, never listed: refused */
    CHECK_ERR(ant_meta_lookup(t, "0.1.5", "linux-x64", &e), ANT_ERR_NOT_FOUND);
    /* listed for another platform only */
    CHECK_ERR(ant_meta_lookup(t, "0.2.0", "linux-arm64", &e), ANT_ERR_NOT_FOUND);
    CHECK_OK(ant_meta_lookup(t, "0.2.0", "linux-x64", &e));
    /* an archive or binary that differs from the entry by one byte or one length unit */
    struct ant_meta_target w = entry("0.2.0", 0x11);
    uint8_t other[32];
    memcpy(other, w.binary_sha256, 32);
    other[31] ^= 1;
    CHECK_ERR(ant_meta_check_binary(&e, w.binary_length, other), ANT_ERR_MISMATCH);
    CHECK_ERR(ant_meta_check_binary(&e, w.binary_length + 1, w.binary_sha256), ANT_ERR_MISMATCH);
    memcpy(other, w.archive_sha256, 32);
    other[0] ^= 0x80;
    CHECK_ERR(ant_meta_check_archive(&e, w.archive_length, other), ANT_ERR_MISMATCH);
    CHECK_ERR(ant_meta_check_archive(&e, w.archive_length - 1, w.archive_sha256), ANT_ERR_MISMATCH);
    ant_meta_trusted_free(t);
    teardown(&f);
}

static void test_yanked_and_rollout_fields(void)
{
    make_keys();
    static const char tj[] =
        "{\"type\":\"targets\",\"version\":4,\"expires\":\"2030-01-01T00:00:00Z\","
        "\"minimum_version\":\"0.2.0\",\"yanked\":[\"0.2.1\"],\"future_field\":[1,2],"
        "\"releases\":{\"0.2.1\":{\"linux-x64\":{\"archive\":{\"name\":\"a.tar.gz\",\"length\":1,"
        "\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"},"
        "\"binary\":{\"length\":2,\"sha256\":\""
        "1111111111111111111111111111111111111111111111111111111111111111" "\"}}}}}";
    struct ant_meta_targets *tg = NULL;
    CHECK_OK(ant_meta_targets_parse((const uint8_t *)tj, strlen(tj), &tg));
    CHECK_STR(ant_meta_targets_minimum_version(tg), "0.2.0");
    CHECK(ant_meta_targets_is_yanked(tg, "0.2.1"));
    CHECK(!ant_meta_targets_is_yanked(tg, "0.2.0"));
    ant_meta_targets_free(tg);
    static const char ts[] =
        "{\"type\":\"timestamp\",\"version\":9,\"expires\":\"2030-01-01T00:00:00Z\","
        "\"targets\":{\"version\":4,\"length\":10,\"sha256\":\""
        "2222222222222222222222222222222222222222222222222222222222222222" "\"},"
        "\"rollout\":{\"version\":\"0.2.0\",\"seed\":\""
        "abababababababababababababababababababababababababababababababab" "\","
        "\"cursor\":\"12.5\",\"halted\":true}}";
    struct ant_meta_timestamp *t = NULL;
    struct ant_meta_rollout r;
    CHECK_OK(ant_meta_timestamp_parse((const uint8_t *)ts, strlen(ts), &t));
    ant_meta_timestamp_rollout(t, &r);
    CHECK(r.present);
    CHECK_STR(r.version, "0.2.0");
    CHECK_INT(r.cursor_ppm, 125000);
    CHECK(r.halted);
    CHECK_INT(r.seed[5], 0xab);
    ant_meta_timestamp_free(t);
    /* cursors outside 0..100 or not a decimal text are refused */
    static const char *const bad_cursor[] = {"100.0001", "101", "-1", "1e2", "", ".5", "5.",
                                             "12.34567", "0x10", NULL};
    for (size_t i = 0; bad_cursor[i] != NULL; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf,
                 "{\"type\":\"timestamp\",\"version\":9,\"expires\":\"2030-01-01T00:00:00Z\","
                 "\"targets\":{\"version\":4,\"length\":10,\"sha256\":\"%064d\"},"
                 "\"rollout\":{\"version\":\"0.2.0\",\"seed\":\"%064d\",\"cursor\":\"%s\"}}",
                 0, 0, bad_cursor[i]);
        CHECK_MSG(ant_meta_timestamp_parse((const uint8_t *)buf, strlen(buf), &t) == ANT_ERR_PARSE,
                  "cursor %s", bad_cursor[i]);
    }
}

static void test_yanked_lookup_refused(void)
{
    struct fx f;
    struct ant_meta_status st;
    struct ant_meta_target e;
    setup(&f);
    /* targets whose list includes 0.3.0 and yanks it */
    struct ant_meta_targets *prev = NULL;
    uint8_t *payload = NULL;
    size_t plen = 0;
    char j[4096];
    snprintf(j, sizeof j,
             "{\"type\":\"targets\",\"version\":2,\"expires\":\"2030-01-01T00:00:00Z\","
             "\"yanked\":[\"0.3.0\"],\"releases\":{\"0.3.0\":{\"linux-x64\":{\"archive\":{"
             "\"name\":\"a.tar.gz\",\"length\":1,\"sha256\":\"%064d\"},\"binary\":{\"length\":2,"
             "\"sha256\":\"%064d\"}}}}}", 0, 0);
    CHECK_OK(ant_meta_targets_parse((uint8_t *)j, strlen(j), &prev));
    ant_meta_targets_free(prev);
    payload = (uint8_t *)strdup(j);
    plen = strlen(j);
    free(f.tg);
    f.tg = envelope(ANT_META_ROLE_TARGETS, payload, plen, TSIGN, 2, &f.tg_len);
    f.tg_version = 2;
    put(&f, "targets.2.json", f.tg, f.tg_len);
    publish_timestamp(&f, 2, NOW + DAY, SSIGN, 1);
    struct ant_meta_trusted *t = refresh_ex(&f, false, true, &st);
    CHECK_STR(ant_meta_state_name(st.state), "fresh");
    CHECK_ERR(ant_meta_lookup(t, "0.3.0", "linux-x64", &e), ANT_ERR_DOWNGRADE);
    ant_meta_trusted_free(t);
    teardown(&f);
}

/* ---- the host cache --------------------------------------------------------------------- */

/* A cache-only refresh (no server), as a node does within the TTL. */
static struct ant_meta_trusted *cache_only(struct fx *f, struct ant_meta_status *st)
{
    struct ant_meta_opts o;
    struct ant_meta_trusted *t = NULL;
    ant_meta_opts_init(&o);
    o.trusted_root = f->anchor;
    o.trusted_root_len = f->anchor_len;
    o.now = f->now;
    CHECK_OK(ant_meta_refresh(f->cachefd, &o, &t, st));
    return t;
}

static void test_cache_fifo_and_symlink(void)
{
    struct fx f;
    struct ant_meta_status st;
    setup(&f);
    CHECK_STATE(&f, ANT_META_FRESH);
    struct ant_meta_trusted *t = cache_only(&f, &st);
    CHECK_STR(ant_meta_state_name(st.state), "fresh");
    ant_meta_trusted_free(t);
    /* the timestamp swapped for a FIFO: refused without blocking, nothing trusted */
    CHECK(unlinkat(f.cachefd, ANT_META_CACHE_TIMESTAMP, 0) == 0);
    CHECK(mkfifoat(f.cachefd, ANT_META_CACHE_TIMESTAMP, 0600) == 0);
    t = cache_only(&f, &st);
    CHECK_STR(ant_meta_state_name(st.state), "missing");
    ant_meta_trusted_free(t);
    /* swapped for a symlink to a valid copy elsewhere: refused too (O_NOFOLLOW) */
    CHECK(unlinkat(f.cachefd, ANT_META_CACHE_TIMESTAMP, 0) == 0);
    char target[128];
    snprintf(target, sizeof target, "%s/timestamp.json", f.srv);
    CHECK(symlinkat(target, f.cachefd, ANT_META_CACHE_TIMESTAMP) == 0);
    t = cache_only(&f, &st);
    CHECK_STR(ant_meta_state_name(st.state), "missing");
    ant_meta_trusted_free(t);
    /* a FIFO in place of a root of the chain: the walk stops, no hang */
    CHECK(mkfifoat(f.cachefd, "meta-root.2.json", 0600) == 0);
    t = cache_only(&f, &st);
    CHECK_INT(st.root_version, 1);
    ant_meta_trusted_free(t);
    /* and a refresh with the server repairs the cache */
    CHECK(unlinkat(f.cachefd, ANT_META_CACHE_TIMESTAMP, 0) == 0);
    CHECK(unlinkat(f.cachefd, "meta-root.2.json", 0) == 0);
    CHECK_STATE(&f, ANT_META_FRESH);
    teardown(&f);
}

static void test_cache_forgery_and_rollback(void)
{
    struct fx f;
    struct ant_meta_status st;
    setup(&f);
    CHECK_STATE(&f, ANT_META_FRESH);
    /* a cache writer plants a targets file listing 0.9.9 with no valid signature, and a
     * timestamp that names it, signed by a key of its own */
    uint8_t seed[32];
    memset(seed, 0x77, 32);
    uint8_t *tgt = NULL, *tsb = NULL;
    size_t tgl = 0, tsl = 0;
    struct fx g = f;
    g.tg = NULL;
    /* build forged files in the server dir of g (same dir), then move them to the cache */
    publish_targets(&g, 2, NOW + 90 * DAY, (const int[]){T1, N1}, 2, "0.9.9");
    publish_timestamp(&g, 2, NOW + DAY, (const int[]){N2}, 1);
    CHECK_OK(ant_fsx_read_capped(f.srvfd, "timestamp.json", ANT_META_TIMESTAMP_MAX, &tsb, &tsl));
    CHECK_OK(ant_fsx_read_capped(f.srvfd, "targets.2.json", ANT_META_TARGETS_MAX, &tgt, &tgl));
    CHECK_OK(ant_fsx_write_atomic(f.cachefd, ANT_META_CACHE_TARGETS, tgt, tgl, 0600));
    CHECK_OK(ant_fsx_write_atomic(f.cachefd, ANT_META_CACHE_TIMESTAMP, tsb, tsl, 0600));
    free(tgt);
    free(tsb);
    free(g.tg);
    struct ant_meta_trusted *t = cache_only(&f, &st);
    struct ant_meta_target e;
    CHECK(st.state != ANT_META_FRESH);
    CHECK_ERR(ant_meta_lookup(t, "0.9.9", "linux-x64", &e), ANT_ERR_BAD_SIGNATURE);
    ant_meta_trusted_free(t);

    /* rollback through the cache: the node trusted timestamp 7; an attacker empties the
     * cache and the server replays timestamp 1. The floor the node keeps privately
     * refuses it. */
    setup(&g);
    publish_timestamp(&g, 7, NOW + DAY, SSIGN, 1);
    CHECK_STATE(&g, ANT_META_FRESH);
    CHECK(unlinkat(g.cachefd, ANT_META_CACHE_TIMESTAMP, 0) == 0);
    publish_timestamp(&g, 1, NOW + DAY, SSIGN, 1);
    struct ant_meta_opts o;
    ant_meta_opts_init(&o);
    o.trusted_root = g.anchor;
    o.trusted_root_len = g.anchor_len;
    o.fetch = fetch_dir;
    o.fetch_arg = &g;
    o.now = g.now;
    o.force = true;
    o.floor_timestamp_version = 7;
    CHECK_OK(ant_meta_refresh(g.cachefd, &o, &t, &st));
    CHECK_STR(ant_meta_state_name(st.state), "invalid");
    ant_meta_trusted_free(t);
    teardown(&g);
    /* `f` shares nothing with g; only clean it */
    teardown(&f);
}

static void test_cache_ttl_one_fetch(void)
{
    struct fx f;
    struct ant_meta_status st;
    setup(&f);
    struct ant_meta_trusted *t = refresh_ex(&f, true, false, &st);
    CHECK(st.fetched);
    CHECK(st.bytes_fetched > 0);
    ant_meta_trusted_free(t);
    f.fetches = 0;
    f.now += 60;
    t = refresh_ex(&f, true, false, &st);
    CHECK_STR(ant_meta_state_name(st.state), "fresh");
    CHECK(!st.fetched);
    CHECK_INT(f.fetches, 0);
    ant_meta_trusted_free(t);
    /* re-verified whenever read: a flipped byte in the cached targets is noticed, within
     * the TTL, and the cached set is not used */
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(ant_fsx_read_capped(f.cachefd, ANT_META_CACHE_TARGETS, ANT_META_TARGETS_MAX, &data, &len));
    data[len / 2] ^= 1;
    CHECK_OK(ant_fsx_write_atomic(f.cachefd, ANT_META_CACHE_TARGETS, data, len, 0600));
    free(data);
    t = refresh_ex(&f, true, false, &st);
    CHECK_STR(ant_meta_state_name(st.state), "fresh"); /* fetched again, repaired */
    CHECK(st.fetched);
    ant_meta_trusted_free(t);
    /* after the TTL, a new fetch */
    f.now += ANT_META_DEFAULT_TTL_S + 1;
    t = refresh_ex(&f, true, false, &st);
    CHECK(st.fetched);
    ant_meta_trusted_free(t);
    teardown(&f);
}

/* One node of the host meets a rollback; the others, within the retry window, report it
 * too (from meta-state.json) instead of "fresh" from their cache, and do not refetch. */
static void test_invalid_shared_with_host(void)
{
    struct fx f;
    struct ant_meta_status st;
    setup(&f);
    publish_timestamp(&f, 5, NOW + DAY, SSIGN, 1);
    struct ant_meta_trusted *t = refresh_ex(&f, true, false, &st);
    CHECK_STR(ant_meta_state_name(st.state), "fresh");
    ant_meta_trusted_free(t);
    publish_timestamp(&f, 4, NOW + DAY, SSIGN, 1);
    f.now += ANT_META_DEFAULT_TTL_S + 1;
    t = refresh_ex(&f, true, false, &st);
    CHECK_STR(ant_meta_state_name(st.state), "invalid");
    ant_meta_trusted_free(t);
    f.fetches = 0;
    f.now += 10;
    t = refresh_ex(&f, true, false, &st);
    CHECK_STR(ant_meta_state_name(st.state), "invalid");
    CHECK_INT(f.fetches, 0);
    CHECK(strstr(st.error, "rollback") != NULL);
    ant_meta_trusted_free(t);
    teardown(&f);
}

static void test_missing(void)
{
    struct fx f;
    setup(&f);
    CHECK(unlinkat(f.srvfd, "timestamp.json", 0) == 0);
    struct ant_meta_status st;
    CHECK(refresh(&f, &st) == ANT_META_MISSING);
    CHECK(strstr(st.error, "timestamp.json") != NULL);
    teardown(&f);
}

/* ---- parsing --------------------------------------------------------------------------- */

static void test_parse_strictness(void)
{
    struct ant_meta_timestamp *t = NULL;
    struct ant_meta_envelope *env = NULL;
    const char *H = "2222222222222222222222222222222222222222222222222222222222222222";
    char buf[2048];
    static const char *const bad_ts[] = {
        /* version as a string, negative, zero, above 2^53 */
        "{\"type\":\"timestamp\",\"version\":\"1\",\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}}",
        "{\"type\":\"timestamp\",\"version\":-1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}}",
        "{\"type\":\"timestamp\",\"version\":0,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}}",
        "{\"type\":\"timestamp\",\"version\":9007199254740993,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}}",
        /* wrong type name, expiry not strict RFC 3339 UTC, no targets */
        "{\"type\":\"targets\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}}",
        "{\"type\":\"timestamp\",\"version\":1,\"expires\":\"2030-01-01T00:00:00+01:00\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}}",
        "{\"type\":\"timestamp\",\"version\":1,\"expires\":\"2030-02-30T00:00:00Z\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}}",
        "{\"type\":\"timestamp\",\"version\":1,\"expires\":1893456000,\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}}",
        "{\"type\":\"timestamp\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\"}%s",
        /* upper-case hex, trailing garbage, a halted that is a string */
        "{\"type\":\"timestamp\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"A%.63s\"}}",
        "{\"type\":\"timestamp\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\"}} x",
        NULL};
    for (size_t i = 0; bad_ts[i] != NULL; i++) {
        snprintf(buf, sizeof buf, bad_ts[i], H);
        CHECK_MSG(ant_meta_timestamp_parse((const uint8_t *)buf, strlen(buf), &t) != ANT_OK,
                  "case %zu accepted", i);
    }
    /* unknown fields ignored */
    snprintf(buf, sizeof buf,
             "{\"type\":\"timestamp\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\","
             "\"x\":{\"y\":[null]},\"targets\":{\"version\":1,\"length\":1,\"sha256\":\"%s\","
             "\"z\":1}}", H);
    CHECK_OK(ant_meta_timestamp_parse((const uint8_t *)buf, strlen(buf), &t));
    ant_meta_timestamp_free(t);
    /* a NUL inside the JSON: json-c would stop there, so bytes after it are refused */
    static const char nul[] = "{\"a\":1}\0{\"b\":2}";
    CHECK_ERR(ant_meta_envelope_parse(ANT_META_ROLE_ROOT, (const uint8_t *)nul, sizeof nul - 1, &env),
              ANT_ERR_PARSE);
    /* base64 that is not canonical (non-zero padding bits), or has white space */
    static const char *const bad_env[] = {
        "{\"payloadType\":\"application/vnd.ant-node.root+json\",\"payload\":\"QR==\",\"signatures\":[]}",
        "{\"payloadType\":\"application/vnd.ant-node.root+json\",\"payload\":\"QQ= =\",\"signatures\":[]}",
        "{\"payloadType\":\"application/vnd.ant-node.root+json\",\"payload\":\"QQ==\",\"signatures\":{}}",
        "{\"payloadType\":\"application/vnd.ant-node.root+json\",\"payload\":\"QQ==\",\"signatures\":[{\"keyid\":1,\"sig\":\"QQ==\"}]}",
        "{\"payloadType\":\"application/vnd.ant-node.Root+json\",\"payload\":\"QQ==\",\"signatures\":[]}",
        "[]", NULL};
    for (size_t i = 0; bad_env[i] != NULL; i++)
        CHECK_MSG(ant_meta_envelope_parse(ANT_META_ROLE_ROOT, (const uint8_t *)bad_env[i],
                                          strlen(bad_env[i]), &env) != ANT_OK, "env %zu", i);
    static const char ok_env[] =
        "{\"payloadType\":\"application/vnd.ant-node.root+json\",\"payload\":\"QQ==\","
        "\"signatures\":[{\"keyid\":\"zz\",\"sig\":\"QQ==\"}],\"other\":true}";
    CHECK_OK(ant_meta_envelope_parse(ANT_META_ROLE_ROOT, (const uint8_t *)ok_env, strlen(ok_env), &env));
    CHECK_INT(ant_meta_envelope_signature_count(env), 1);
    ant_meta_envelope_free(env);
    /* a threshold above the role's keys, and a role key not among the keys */
    make_keys();
    uint8_t kb[1][ANT_MLDSA65_PUBLICKEYBYTES];
    struct ant_meta_role_keys rk;
    struct spec s1 = {{R1}, 1, 2};
    rk_of(&s1, kb, &rk);
    uint8_t *p = NULL;
    size_t pl = 0;
    CHECK_ERR(ant_meta_root_build(1, NOW, &rk, &rk, &rk, &p, &pl), ANT_ERR_INVALID_ARG);
    int64_t tt = 0;
    CHECK_OK(ant_meta_time_parse("2028-02-29T23:59:59Z", &tt));
    CHECK_ERR(ant_meta_time_parse("2027-02-29T00:00:00Z", &tt), ANT_ERR_PARSE);
    CHECK_ERR(ant_meta_time_parse("2027-01-01T00:00:60Z", &tt), ANT_ERR_PARSE);
}

/* Binary patches listed in targets (issue 19): the parser's limits on count, fields and
 * names, and a builder round trip. */
static void test_targets_deltas(void)
{
    const char *A = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *B = "2222222222222222222222222222222222222222222222222222222222222222";
    const char *C = "3333333333333333333333333333333333333333333333333333333333333333";
    static const char head[] =
        "{\"type\":\"targets\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\","
        "\"releases\":{\"0.2.0\":{\"linux-x64\":{\"archive\":{\"name\":\"a.tar.gz\","
        "\"length\":10,\"sha256\":\"%s\"},\"binary\":{\"length\":20,\"sha256\":\"%s\"}%s}}}}";
    char deltas[2048], buf[4096];
    struct ant_meta_targets *tg = NULL;
    struct ant_meta_target e;

    /* one delta: parsed into the entry */
    snprintf(deltas, sizeof deltas,
             ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%s\",\"name\":\"p.patch\","
             "\"length\":7,\"sha256\":\"%s\"}]", C, A);
    snprintf(buf, sizeof buf, head, A, B, deltas);
    CHECK_OK(ant_meta_targets_parse((const uint8_t *)buf, strlen(buf), &tg));
    CHECK_OK(ant_meta_targets_find(tg, "0.2.0", "linux-x64", &e));
    CHECK_INT(e.ndeltas, 1);
    CHECK(strcmp(e.deltas[0].from_version, "0.1.0") == 0);
    CHECK(strcmp(e.deltas[0].name, "p.patch") == 0);
    CHECK_INT(e.deltas[0].length, 7);
    CHECK(e.deltas[0].from_sha256[0] == 0x33 && e.deltas[0].sha256[31] == 0x11);

    /* the builder writes them back exactly */
    uint8_t *out = NULL;
    size_t olen = 0;
    struct ant_meta_targets *tg2 = NULL;
    struct ant_meta_target e2;
    CHECK_OK(ant_meta_targets_build(tg, 2, NOW + 1000, NULL, NULL, &out, &olen));
    CHECK_OK(ant_meta_targets_parse(out, olen, &tg2));
    CHECK_OK(ant_meta_targets_find(tg2, "0.2.0", "linux-x64", &e2));
    CHECK(e2.ndeltas == 1 && memcmp(&e2.deltas[0], &e.deltas[0], sizeof e.deltas[0]) == 0);
    free(out);
    ant_meta_targets_free(tg2);
    ant_meta_targets_free(tg);
    tg = NULL;

    /* no deltas: none */
    snprintf(buf, sizeof buf, head, A, B, "");
    CHECK_OK(ant_meta_targets_parse((const uint8_t *)buf, strlen(buf), &tg));
    CHECK_OK(ant_meta_targets_find(tg, "0.2.0", "linux-x64", &e));
    CHECK_INT(e.ndeltas, 0);
    ant_meta_targets_free(tg);
    tg = NULL;

    /* more than ANT_META_MAX_DELTAS */
    size_t used = (size_t)snprintf(deltas, sizeof deltas, ",\"deltas\":[");
    for (int i = 0; i <= ANT_META_MAX_DELTAS; i++)
        used += (size_t)snprintf(deltas + used, sizeof deltas - used,
                                 "%s{\"from_version\":\"0.1.%d\",\"from_sha256\":\"%x%.63s\","
                                 "\"name\":\"p%d\",\"length\":7,\"sha256\":\"%s\"}",
                                 i ? "," : "", i, i, C, i, A);
    snprintf(deltas + used, sizeof deltas - used, "]");
    snprintf(buf, sizeof buf, head, A, B, deltas);
    CHECK_ERR(ant_meta_targets_parse((const uint8_t *)buf, strlen(buf), &tg), ANT_ERR_TOO_LARGE);

    static const char *const bad[] = {
        /* not an array; an element not an object */
        ",\"deltas\":{}", ",\"deltas\":[1]",
        /* from_version not canonical, missing */
        ",\"deltas\":[{\"from_version\":\"v0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"p\",\"length\":7,\"sha256\":\"%2$s\"}]",
        ",\"deltas\":[{\"from_sha256\":\"%1$s\",\"name\":\"p\",\"length\":7,\"sha256\":\"%2$s\"}]",
        /* a name with a slash, "..", a leading dash, empty */
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"../p\",\"length\":7,\"sha256\":\"%2$s\"}]",
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"..\",\"length\":7,\"sha256\":\"%2$s\"}]",
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"-p\",\"length\":7,\"sha256\":\"%2$s\"}]",
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"\",\"length\":7,\"sha256\":\"%2$s\"}]",
        /* length zero, negative, a string, above 2^53 */
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"p\",\"length\":0,\"sha256\":\"%2$s\"}]",
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"p\",\"length\":-7,\"sha256\":\"%2$s\"}]",
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"p\",\"length\":\"7\",\"sha256\":\"%2$s\"}]",
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"p\",\"length\":9007199254740993,\"sha256\":\"%2$s\"}]",
        /* digests short, upper-case, missing */
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$.62s\",\"name\":\"p\",\"length\":7,\"sha256\":\"%2$s\"}]",
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"p\",\"length\":7,\"sha256\":\"A%2$.63s\"}]",
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"name\":\"p\",\"length\":7,\"sha256\":\"%2$s\"}]",
        /* two patches from the same old binary */
        ",\"deltas\":[{\"from_version\":\"0.1.0\",\"from_sha256\":\"%1$s\",\"name\":\"p\",\"length\":7,\"sha256\":\"%2$s\"},"
        "{\"from_version\":\"0.1.1\",\"from_sha256\":\"%1$s\",\"name\":\"q\",\"length\":7,\"sha256\":\"%2$s\"}]",
        NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        snprintf(deltas, sizeof deltas, bad[i], C, A);
        snprintf(buf, sizeof buf, head, A, B, deltas);
        tg = NULL;
        CHECK_MSG(ant_meta_targets_parse((const uint8_t *)buf, strlen(buf), &tg) != ANT_OK,
                  "bad delta %zu accepted", i);
        ant_meta_targets_free(tg);
    }
}

static void test_embedded_root(void)
{
    size_t len = 0;
    const uint8_t *data = ant_meta_embedded_root(&len);
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_root *root = NULL;
    size_t plen = 0;
    CHECK(len > 0);
    CHECK_OK(ant_meta_envelope_parse(ANT_META_ROLE_ROOT, data, len, &env));
    const uint8_t *p = ant_meta_envelope_payload(env, &plen);
    CHECK_OK(ant_meta_root_parse(p, plen, &root));
    CHECK_INT(ant_meta_root_version(root), 1);
    CHECK(ant_meta_root_threshold(root, ANT_META_ROLE_ROOT) >= 1);
    ant_meta_root_free(root);
    ant_meta_envelope_free(env);
}

static void test_trusted_root_file_checks(void)
{
    char dir[] = "/tmp/ant-test-meta-anchor-XXXXXX", path[128], link[128];
    uint8_t *data = NULL;
    size_t len = 0;
    char why[256];
    ant_log_set_level(ANT_LOG_ERROR);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/root.json", dir);
    snprintf(link, sizeof link, "%s/link.json", dir);
    FILE *fp = fopen(path, "w");
    fputs("{}", fp);
    fclose(fp);
    CHECK(chmod(path, 0644) == 0);
    CHECK_OK(ant_meta_read_trusted_root(path, &data, &len, why, sizeof why));
    CHECK_INT(len, 2);
    free(data);
    CHECK(chmod(path, 0666) == 0);
    CHECK_ERR(ant_meta_read_trusted_root(path, &data, &len, why, sizeof why), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(path, 0644) == 0);
    CHECK(symlink(path, link) == 0);
    CHECK_ERR(ant_meta_read_trusted_root(link, &data, &len, why, sizeof why), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(dir, 0777) == 0);
    CHECK_ERR(ant_meta_read_trusted_root(path, &data, &len, why, sizeof why), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(dir, 0700) == 0);
    unlink(link);
    CHECK(mkfifo(link, 0600) == 0);
    CHECK_ERR(ant_meta_read_trusted_root(link, &data, &len, why, sizeof why), ANT_ERR_UNSAFE_FILE);
    unlink(link);
    unlink(path);
    rmdir(dir);
}


/* ---- the repository steps (what ant-release and the devnet call) -------------------------- */

static void test_repo_steps(void)
{
    struct fx f;
    struct ant_meta_status st;
    struct ant_meta_target e = entry("0.5.0", 0x55), got;
    uint8_t kb[3][4][ANT_MLDSA65_PUBLICKEYBYTES];
    struct ant_meta_role_keys rk[3];
    char why[256];
    size_t nsig = 0;
    uint64_t v = 0;
    setup(&f);
    /* an empty server directory of its own */
    CHECK(unlinkat(f.srvfd, "root.1.json", 0) == 0);
    CHECK(unlinkat(f.srvfd, "targets.1.json", 0) == 0);
    CHECK(unlinkat(f.srvfd, "timestamp.json", 0) == 0);
    rk_of(&ROOT_KEYS, kb[0], &rk[0]);
    rk_of(&TARGET_KEYS, kb[1], &rk[1]);
    rk_of(&TS_KEYS, kb[2], &rk[2]);
    CHECK_ERR(ant_meta_repo_add(f.srvfd, &e, NULL, NOW + 90 * DAY, &v, why, sizeof why), ANT_OK);
    CHECK(unlinkat(f.srvfd, "targets.1.json", 0) == 0);
    CHECK_ERR(ant_meta_repo_timestamp(f.srvfd, NULL, NOW + DAY, &v, why, sizeof why), ANT_ERR_NOT_FOUND);
    /* The online timestamp key must not also be a targets key: that one key would then list
     * releases on its own wherever the targets threshold is 1 (found by review). */
    {
        struct ant_meta_role_keys shared = rk[1];
        shared.count = 1;
        shared.threshold = 1;
        CHECK_ERR(ant_meta_repo_init(f.srvfd, &rk[0], &rk[1], &shared, NOW + 365 * DAY, why,
                                     sizeof why),
                  ANT_ERR_INVALID_ARG);
        CHECK(strstr(why, "timestamp key") != NULL);
    }
    CHECK_OK(ant_meta_repo_init(f.srvfd, &rk[0], &rk[1], &rk[2], NOW + 365 * DAY, why, sizeof why));
    CHECK_ERR(ant_meta_repo_init(f.srvfd, &rk[0], &rk[1], &rk[2], NOW, why, sizeof why), ANT_ERR_EXISTS);
    /* nor can a rotation make the timestamp key a targets key */
    {
        struct ant_meta_role_keys tg_with_ts = rk[2];
        uint64_t none = 0;
        CHECK_ERR(ant_meta_repo_rotate(f.srvfd, NULL, &tg_with_ts, NULL, NOW + 365 * DAY, &none,
                                       why, sizeof why),
                  ANT_ERR_INVALID_ARG);
        CHECK_INT(none, 0);
    }
    CHECK_ERR(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_ROOT, sk[T1], NULL, why, sizeof why),
              ANT_ERR_BAD_KEY);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_ROOT, sk[R1], &nsig, why, sizeof why));
    CHECK_ERR(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_ROOT, sk[R1], NULL, why, sizeof why),
              ANT_ERR_EXISTS);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_ROOT, sk[R2], &nsig, why, sizeof why));
    CHECK_INT(nsig, 2);
    CHECK_OK(ant_meta_repo_add(f.srvfd, &e, NULL, NOW + 90 * DAY, &v, why, sizeof why));
    CHECK_INT(v, 1);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TARGETS, sk[T1], NULL, why, sizeof why));
    CHECK_ERR(ant_meta_repo_timestamp(f.srvfd, NULL, NOW + DAY, &v, why, sizeof why),
              ANT_ERR_BAD_SIGNATURE);
    CHECK(strstr(why, "1 valid signature(s), the threshold is 2") != NULL);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TARGETS, sk[T2], NULL, why, sizeof why));
    CHECK_OK(ant_meta_repo_timestamp(f.srvfd, NULL, NOW + DAY, &v, why, sizeof why));
    CHECK_ERR(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TIMESTAMP, sk[T1], NULL, why, sizeof why),
              ANT_ERR_BAD_KEY);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TIMESTAMP, sk[S1], NULL, why, sizeof why));
    /* the node's view of what the steps made */
    free(f.anchor);
    CHECK_OK(ant_fsx_read_capped(f.srvfd, "root.1.json", ANT_META_ROOT_MAX, &f.anchor, &f.anchor_len));
    struct ant_meta_trusted *t = refresh_ex(&f, true, true, &st);
    CHECK_MSG(st.state == ANT_META_FRESH, "%s", st.error);
    CHECK_OK(ant_meta_lookup(t, "0.5.0", "linux-x64", &got));
    CHECK_OK(ant_meta_check_binary(&got, e.binary_length, e.binary_sha256));
    ant_meta_trusted_free(t);
    /* rotate the timestamp key (root keys unchanged, so R1 and R3 sign as old and new);
     * the old timestamp key can no longer sign */
    const struct spec new_ts = {{N1}, 1, 1};
    uint8_t nb[1][ANT_MLDSA65_PUBLICKEYBYTES];
    struct ant_meta_role_keys nrk;
    rk_of(&new_ts, nb, &nrk);
    CHECK_OK(ant_meta_repo_rotate(f.srvfd, NULL, NULL, &nrk, NOW + 365 * DAY, &v, why, sizeof why));
    CHECK_INT(v, 2);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_ROOT, sk[R1], NULL, why, sizeof why));
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_ROOT, sk[R3], NULL, why, sizeof why));
    CHECK_OK(ant_meta_repo_timestamp(f.srvfd, NULL, NOW + DAY, &v, why, sizeof why));
    CHECK_ERR(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TIMESTAMP, sk[S1], NULL, why, sizeof why),
              ANT_ERR_BAD_KEY);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TIMESTAMP, sk[N1], NULL, why, sizeof why));
    t = refresh_ex(&f, true, true, &st);
    CHECK_MSG(st.state == ANT_META_FRESH && st.root_version == 2, "%s root %llu: %s",
              ant_meta_state_name(st.state), (unsigned long long)st.root_version, st.error);
    CHECK_INT(st.timestamp_version, 2);
    ant_meta_trusted_free(t);
    teardown(&f);
}

/* §10 controls through the repository steps: minimum_version and yanked in targets, the
 * rollout in the timestamp (kept, replaced, removed), and a yanked version refused. */
static void test_repo_policy_and_rollout(void)
{
    struct fx f;
    struct ant_meta_status st;
    struct ant_meta_target e = entry("0.5.0", 0x55), got;
    struct ant_meta_targets_policy pol = {"0.4.0", "0.5.0"};
    struct ant_meta_rollout ro, back;
    char why[256];
    uint64_t v = 0;
    setup(&f);
    CHECK_OK(ant_meta_repo_add(f.srvfd, &e, &pol, NOW + 90 * DAY, &v, why, sizeof why));
    CHECK_INT(v, 2);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TARGETS, sk[T1], NULL, why, sizeof why));
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TARGETS, sk[T2], NULL, why, sizeof why));
    memset(&ro, 0, sizeof ro);
    ro.present = true;
    snprintf(ro.version, sizeof ro.version, "0.5.0");
    CHECK_OK(ant_meta_cursor_parse("12.5", &ro.cursor_ppm));
    memset(ro.seed, 0xcd, sizeof ro.seed);
    /* the timestamp at version 2 (the fixture's is version 1) */
    CHECK_OK(ant_meta_repo_timestamp(f.srvfd, &ro, NOW + DAY, &v, why, sizeof why));
    CHECK_INT(v, 2);
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TIMESTAMP, sk[S1], NULL, why, sizeof why));
    struct ant_meta_trusted *t = refresh_ex(&f, false, true, &st);
    CHECK_MSG(st.state == ANT_META_FRESH, "%s", st.error);
    const struct ant_meta_targets *tg = ant_meta_trusted_targets(t);
    CHECK_STR(ant_meta_targets_minimum_version(tg), "0.4.0");
    CHECK(ant_meta_targets_is_yanked(tg, "0.5.0"));
    CHECK_ERR(ant_meta_lookup(t, "0.5.0", "linux-x64", &got), ANT_ERR_DOWNGRADE);
    CHECK_OK(ant_meta_lookup(t, "0.2.0", "linux-x64", &got));
    ant_meta_timestamp_rollout(ant_meta_trusted_timestamp(t), &back);
    CHECK(back.present && back.cursor_ppm == 125000 && !back.halted);
    CHECK_STR(back.version, "0.5.0");
    CHECK_MEM(back.seed, ro.seed, sizeof ro.seed);
    ant_meta_trusted_free(t);
    /* the next timestamp keeps the rollout; one with present=false removes it */
    CHECK_OK(ant_meta_repo_timestamp(f.srvfd, NULL, NOW + DAY, &v, why, sizeof why));
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TIMESTAMP, sk[S1], NULL, why, sizeof why));
    t = refresh_ex(&f, false, true, &st);
    ant_meta_timestamp_rollout(ant_meta_trusted_timestamp(t), &back);
    CHECK(back.present && back.cursor_ppm == 125000);
    ant_meta_trusted_free(t);
    ro.present = false;
    CHECK_OK(ant_meta_repo_timestamp(f.srvfd, &ro, NOW + DAY, &v, why, sizeof why));
    CHECK_OK(ant_meta_repo_sign(f.srvfd, ANT_META_ROLE_TIMESTAMP, sk[S1], NULL, why, sizeof why));
    t = refresh_ex(&f, false, true, &st);
    ant_meta_timestamp_rollout(ant_meta_trusted_timestamp(t), &back);
    CHECK(!back.present);
    CHECK_INT(st.timestamp_version, 4);
    ant_meta_trusted_free(t);
    /* policy versions must be versions */
    struct ant_meta_targets_policy bad = {"v1", NULL};
    CHECK_ERR(ant_meta_repo_add(f.srvfd, NULL, &bad, NOW, &v, why, sizeof why), ANT_ERR_BAD_VERSION);
    teardown(&f);
}

/* ---- over HTTP ------------------------------------------------------------------------- */

/* The real transport: release_server.py serves the metadata directory on loopback; the
 * root chain walk ends on its 404, and a missing timestamp is "missing". */
static void test_http_end_to_end(void)
{
    struct fx f;
    struct test_server srv;
    struct ant_meta_http h;
    struct ant_meta_opts o;
    struct ant_meta_status st;
    struct ant_meta_trusted *t = NULL;
    char base[128];
    setup(&f);
    const char *args[] = {"--asset-dir", f.srv, NULL};
    if (!test_server_start(&srv, args)) {
        CHECK_MSG(false, "release_server.py did not start");
        teardown(&f);
        return;
    }
    snprintf(base, sizeof base, "%s/download", srv.base);
    CHECK_ERR(ant_meta_http_init(&h, "http://example.com/x/", NULL, NULL), ANT_ERR_INSECURE_URL);
    CHECK_ERR(ant_meta_http_init(&h, NULL, "../x", NULL), ANT_ERR_INVALID_ARG);
    CHECK_OK(ant_meta_http_init(&h, NULL, "WithAutonomi/ant-node", NULL));
    CHECK_STR(h.base, "https://github.com/WithAutonomi/ant-node/releases/download/metadata/");
    CHECK_OK(ant_meta_http_init(&h, base, NULL, NULL));
    ant_meta_opts_init(&o);
    o.trusted_root = f.anchor;
    o.trusted_root_len = f.anchor_len;
    o.fetch = ant_meta_http_fetch;
    o.fetch_arg = &h;
    o.now = f.now;
    o.source = base;
    CHECK_OK(ant_meta_refresh(f.cachefd, &o, &t, &st));
    CHECK_MSG(st.state == ANT_META_FRESH, "%s: %s", ant_meta_state_name(st.state), st.error);
    CHECK(st.bytes_fetched > f.tg_len);
    ant_meta_trusted_free(t);
    CHECK(unlinkat(f.srvfd, "timestamp.json", 0) == 0);
    o.force = true;
    CHECK_OK(ant_meta_refresh(-1, &o, &t, &st));
    CHECK_STR(ant_meta_state_name(st.state), "missing");
    CHECK_INT(h.last_status, 404);
    ant_meta_trusted_free(t);
    test_server_stop(&srv);
    teardown(&f);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_fresh_and_lookup),
    ANT_TEST(test_targets_below_threshold),
    ANT_TEST(test_signature_of_another_role),
    ANT_TEST(test_duplicate_keyid_counts_once),
    ANT_TEST(test_keyid_must_be_key_hash),
    ANT_TEST(test_tampered_payload),
    ANT_TEST(test_wrong_payload_type),
    ANT_TEST(test_timestamp_rollback),
    ANT_TEST(test_targets_rollback),
    ANT_TEST(test_mix_and_match),
    ANT_TEST(test_expired_timestamp),
    ANT_TEST(test_expired_targets),
    ANT_TEST(test_expired_root),
    ANT_TEST(test_freeze),
    ANT_TEST(test_root_signed_only_by_new_keys),
    ANT_TEST(test_root_signed_only_by_old_keys),
    ANT_TEST(test_root_skipping_a_version),
    ANT_TEST(test_rotation_of_targets_keys),
    ANT_TEST(test_passed_rotation_keeps_floors),
    ANT_TEST(test_timestamp_key_rotation_resets_version),
    ANT_TEST(test_endless_root_chain),
    ANT_TEST(test_endless_and_oversized),
    ANT_TEST(test_install_gate),
    ANT_TEST(test_yanked_and_rollout_fields),
    ANT_TEST(test_yanked_lookup_refused),
    ANT_TEST(test_cache_fifo_and_symlink),
    ANT_TEST(test_cache_forgery_and_rollback),
    ANT_TEST(test_cache_ttl_one_fetch),
    ANT_TEST(test_invalid_shared_with_host),
    ANT_TEST(test_missing),
    ANT_TEST(test_parse_strictness),
    ANT_TEST(test_targets_deltas),
    ANT_TEST(test_embedded_root),
    ANT_TEST(test_trusted_root_file_checks),
    ANT_TEST(test_http_end_to_end),
    ANT_TEST(test_repo_steps),
    ANT_TEST(test_repo_policy_and_rollout),
};
ANT_TEST_MAIN(cases)
