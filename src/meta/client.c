/*
 * The metadata client of include/ant/meta.h: root chain, timestamp, targets, the freeze
 * state, and their persistence in the shared host cache.
 *
 * The cache is attacker-writable (ARCHITECTURE.md §4), so nothing in it is believed: every
 * file is read with the capped O_NOFOLLOW|O_NONBLOCK primitives of fsx and verified again
 * from the trust anchor each time, exactly as if it had just been downloaded. What the
 * cache saves is the download, never a check. Roots are kept as meta-root.<N>.json (the
 * whole chain, because a reader must be able to walk it from the anchor), the current
 * timestamp and targets under fixed names, and meta-state.json records when the host last
 * asked the server (for the TTL) and what went wrong then.
 *
 * A writer of the cache can still delete files: a node then falls back to the anchor and
 * asks the server again, and the version floors the caller keeps in its private state
 * (opts->floor_*) stop a rollback below what it trusted before.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "meta/meta_int.h"

#define MOD "meta"
#define STATE_FORMAT 1
#define STATE_MAX 4096
/* Roots walked from the cache: more than one refresh may add, still bounded. */
#define CACHE_ROOT_STEPS 1024
/* A failed fetch is not repeated by the host's other nodes for this long (capped at TTL). */
#define RETRY_S 300
#define FUTURE_SKEW_S 300

struct ant_meta_trusted {
    struct ant_meta_root *root;
    struct ant_meta_timestamp *ts;
    struct ant_meta_targets *tg;
    uint8_t *ts_bytes, *tg_bytes; /* the envelopes as verified, for the cache */
    size_t ts_len, tg_len;
    uint64_t ts_floor, tg_floor;  /* versions the node must never go below */
    uint64_t floor_root;          /* the root version those floors were recorded under */
    bool invalid, root_expired;
    enum ant_meta_state state;
};

void ant_meta_opts_init(struct ant_meta_opts *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->ttl_s = ANT_META_DEFAULT_TTL_S;
    opts->lock_timeout_ms = ANT_META_DEFAULT_LOCK_TIMEOUT_MS;
}

static void drop_timestamp(struct ant_meta_trusted *t)
{
    ant_meta_timestamp_free(t->ts);
    free(t->ts_bytes);
    t->ts = NULL;
    t->ts_bytes = NULL;
    t->ts_len = 0;
}

static void drop_targets(struct ant_meta_trusted *t)
{
    ant_meta_targets_free(t->tg);
    free(t->tg_bytes);
    t->tg = NULL;
    t->tg_bytes = NULL;
    t->tg_len = 0;
}

void ant_meta_trusted_free(struct ant_meta_trusted *t)
{
    if (t == NULL)
        return;
    ant_meta_root_free(t->root);
    drop_timestamp(t);
    drop_targets(t);
    free(t);
}

/* The first failure is the one worth naming; later ones follow from it. */
static void fail(struct ant_meta_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct ant_meta_status *st, const char *fmt, ...)
{
    va_list ap;
    if (st->error[0] != '\0')
        return;
    va_start(ap, fmt);
    vsnprintf(st->error, sizeof st->error, fmt, ap);
    va_end(ap);
}

/* Parses and verifies `data` as root version cur->version + 1 signed by a threshold of
 * cur's root keys and of its own. */
static ant_err root_step(const struct ant_meta_root *cur, const uint8_t *data, size_t len,
                         struct ant_meta_root **next, const char **why)
{
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_root *r = NULL;
    size_t plen = 0;
    const uint8_t *p;
    ant_err err;

    *next = NULL;
    err = ant_meta_envelope_parse(ANT_META_ROLE_ROOT, data, len, &env);
    if (err != ANT_OK) {
        *why = "malformed envelope";
        return err;
    }
    p = ant_meta_envelope_payload(env, &plen);
    err = ant_meta_root_parse(p, plen, &r);
    if (err != ANT_OK) {
        *why = "malformed root";
        goto out;
    }
    if (r->version != cur->version + 1) {
        *why = "not the next root version";
        err = ANT_ERR_DOWNGRADE;
        goto out;
    }
    err = ant_meta_envelope_verify(env, cur, ANT_META_ROLE_ROOT, NULL);
    if (err != ANT_OK) {
        *why = "below the threshold of the previous root's keys";
        goto out;
    }
    err = ant_meta_envelope_verify(env, r, ANT_META_ROLE_ROOT, NULL);
    if (err != ANT_OK) {
        *why = "below the threshold of its own root keys";
        goto out;
    }
    *next = r;
    r = NULL;
out:
    ant_meta_root_free(r);
    ant_meta_envelope_free(env);
    return err;
}

/* Adopts a verified next root: a change of the timestamp or targets keys drops what those
 * keys signed, and the floors with it (TUF's recovery from a fast-forward attack) — but
 * only for a rotation newer than the root the caller's floors were recorded under. Every
 * refresh walks the chain from the anchor again, so it crosses rotations the node passed
 * long ago; the floors it saved after them were signed by the new keys and must hold, or a
 * replayed older file of the new keys would pass as fresh. */
static void adopt_root(struct ant_meta_trusted *t, struct ant_meta_root *next)
{
    bool ts_changed = meta_role_changed(t->root, next, ANT_META_ROLE_TIMESTAMP);
    bool tg_changed = meta_role_changed(t->root, next, ANT_META_ROLE_TARGETS);
    bool newer = ant_meta_root_version(next) > t->floor_root;
    if (ts_changed || tg_changed) {
        drop_timestamp(t);
        if (newer)
            t->ts_floor = 0;
    }
    if (tg_changed) {
        drop_targets(t);
        if (newer)
            t->tg_floor = 0;
    }
    ant_meta_root_free(t->root);
    t->root = next;
}

/* Verifies a timestamp envelope under t->root; *out the payload. */
static ant_err check_timestamp(const struct ant_meta_trusted *t, const uint8_t *data, size_t len,
                               struct ant_meta_timestamp **out, const char **why)
{
    struct ant_meta_envelope *env = NULL;
    size_t plen = 0;
    const uint8_t *p;
    ant_err err;

    *out = NULL;
    err = ant_meta_envelope_parse(ANT_META_ROLE_TIMESTAMP, data, len, &env);
    if (err != ANT_OK) {
        *why = "malformed envelope";
        return err;
    }
    err = ant_meta_envelope_verify(env, t->root, ANT_META_ROLE_TIMESTAMP, NULL);
    if (err != ANT_OK) {
        *why = "below the threshold of timestamp keys";
        goto out;
    }
    p = ant_meta_envelope_payload(env, &plen);
    err = ant_meta_timestamp_parse(p, plen, out);
    if (err != ANT_OK)
        *why = "malformed timestamp";
out:
    ant_meta_envelope_free(env);
    return err;
}

/* Verifies a targets envelope against the timestamp `ts` (length, SHA-256, version) and
 * the targets keys of t->root. */
static ant_err check_targets(const struct ant_meta_trusted *t, const struct ant_meta_timestamp *ts,
                             const uint8_t *data, size_t len, struct ant_meta_targets **out,
                             const char **why)
{
    struct ant_meta_envelope *env = NULL;
    uint8_t h[ANT_SHA256_BYTES];
    size_t plen = 0;
    const uint8_t *p;
    ant_err err;

    *out = NULL;
    if (len != ts->targets.length) {
        *why = "length differs from the timestamp's";
        return ANT_ERR_MISMATCH;
    }
    err = ant_sha256(h, data, len);
    if (err != ANT_OK)
        return err;
    if (ant_ct_memcmp(h, ts->targets.sha256, sizeof h) != 0) {
        *why = "SHA-256 differs from the timestamp's";
        return ANT_ERR_MISMATCH;
    }
    err = ant_meta_envelope_parse(ANT_META_ROLE_TARGETS, data, len, &env);
    if (err != ANT_OK) {
        *why = "malformed envelope";
        return err;
    }
    err = ant_meta_envelope_verify(env, t->root, ANT_META_ROLE_TARGETS, NULL);
    if (err != ANT_OK) {
        *why = "below the threshold of targets keys";
        goto out;
    }
    p = ant_meta_envelope_payload(env, &plen);
    err = ant_meta_targets_parse(p, plen, out);
    if (err != ANT_OK) {
        *why = "malformed targets";
        goto out;
    }
    if ((*out)->version != ts->targets.version) {
        *why = "version differs from the timestamp's";
        ant_meta_targets_free(*out);
        *out = NULL;
        err = ANT_ERR_MISMATCH;
    }
out:
    ant_meta_envelope_free(env);
    return err;
}

/* --- the cache ------------------------------------------------------------------------ */

static void root_cache_name(char *buf, size_t cap, uint64_t version)
{
    snprintf(buf, cap, "meta-root.%llu.json", (unsigned long long)version);
}

/* Reads a cache file; anything but a clean read is a miss, and anything but absence is
 * worth a warning (it points at tampering: a FIFO, a symlink, an oversize file). */
static bool cache_read(int dirfd, const char *name, size_t cap, uint8_t **data, size_t *len)
{
    ant_err err = ant_fsx_read_capped(dirfd, name, cap, data, len);
    if (err == ANT_OK)
        return true;
    if (err != ANT_ERR_NOT_FOUND)
        ant_log(ANT_LOG_WARN, MOD, "Ignoring cached metadata: %s file=%s", ant_strerror(err),
                name);
    return false;
}

/* Walks the cached root chain and loads the cached timestamp and targets, verifying each
 * exactly as a download. Resets nothing it cannot verify. */
static void cache_load(int dirfd, struct ant_meta_trusted *t)
{
    char name[64];
    uint8_t *data = NULL;
    size_t len = 0;
    const char *why = NULL;

    for (int i = 0; i < CACHE_ROOT_STEPS; i++) {
        struct ant_meta_root *next = NULL;
        root_cache_name(name, sizeof name, t->root->version + 1);
        if (!cache_read(dirfd, name, ANT_META_ROOT_MAX, &data, &len))
            break;
        ant_err err = root_step(t->root, data, len, &next, &why);
        free(data);
        data = NULL;
        if (err != ANT_OK) {
            ant_log(ANT_LOG_WARN, MOD, "Ignoring cached metadata: %s file=%s", why, name);
            break;
        }
        adopt_root(t, next);
    }
    if (cache_read(dirfd, ANT_META_CACHE_TIMESTAMP, ANT_META_TIMESTAMP_MAX, &data, &len)) {
        struct ant_meta_timestamp *ts = NULL;
        if (check_timestamp(t, data, len, &ts, &why) != ANT_OK) {
            ant_log(ANT_LOG_WARN, MOD, "Ignoring cached metadata: %s file=%s", why,
                    ANT_META_CACHE_TIMESTAMP);
        } else if (ts->version < t->ts_floor) {
            ant_log(ANT_LOG_WARN, MOD, "Ignoring cached metadata: version %llu below %llu "
                    "file=%s", (unsigned long long)ts->version,
                    (unsigned long long)t->ts_floor, ANT_META_CACHE_TIMESTAMP);
        } else {
            t->ts = ts;
            t->ts_bytes = data;
            t->ts_len = len;
            ts = NULL;
            data = NULL;
        }
        ant_meta_timestamp_free(ts);
        free(data);
        data = NULL;
    }
    if (t->ts != NULL &&
        cache_read(dirfd, ANT_META_CACHE_TARGETS, ANT_META_TARGETS_MAX, &data, &len)) {
        struct ant_meta_targets *tg = NULL;
        if (check_targets(t, t->ts, data, len, &tg, &why) != ANT_OK) {
            /* an older targets beside a newer timestamp is the normal state between two
             * writes of another node; only a file that claims to match and does not is
             * worth a warning */
            if (len == t->ts->targets.length)
                ant_log(ANT_LOG_WARN, MOD, "Ignoring cached metadata: %s file=%s", why,
                        ANT_META_CACHE_TARGETS);
        } else if (tg->version < t->tg_floor) {
            ant_log(ANT_LOG_WARN, MOD, "Ignoring cached metadata: targets version below the "
                    "trusted one file=%s", ANT_META_CACHE_TARGETS);
        } else {
            t->tg = tg;
            t->tg_bytes = data;
            t->tg_len = len;
            tg = NULL;
            data = NULL;
        }
        ant_meta_targets_free(tg);
        free(data);
    }
    /* The floors now include what the cache proved. */
    if (t->ts != NULL && t->ts->version > t->ts_floor)
        t->ts_floor = t->ts->version;
    if (t->tg != NULL && t->tg->version > t->tg_floor)
        t->tg_floor = t->tg->version;
}

/* meta-state.json: when the host last asked the server, and the error then (""). True if
 * that was within the TTL (or the shorter retry window after a failure) for `source`. */
static bool state_recent(int dirfd, const char *source, int64_t now, unsigned ttl_s,
                         char *error, size_t errcap, bool *invalid)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_object *o = NULL, *v = NULL;
    bool recent = false;

    error[0] = '\0';
    *invalid = false;
    if (!cache_read(dirfd, ANT_META_CACHE_STATE, STATE_MAX, &data, &len))
        return false;
    if (meta_json_parse(data, len, STATE_MAX, &o) != ANT_OK ||
        !json_object_is_type(o, json_type_object))
        goto out;
    if (!json_object_object_get_ex(o, "format", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) != STATE_FORMAT)
        goto out;
    if (!json_object_object_get_ex(o, "source", &v) || !json_object_is_type(v, json_type_string) ||
        strcmp(json_object_get_string(v), source) != 0)
        goto out;
    if (!json_object_object_get_ex(o, "fetched_at", &v) || !json_object_is_type(v, json_type_int))
        goto out;
    int64_t at = json_object_get_int64(v);
    if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string))
        snprintf(error, errcap, "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "invalid", &v) && json_object_is_type(v, json_type_boolean))
        *invalid = json_object_get_boolean(v);
    int64_t window = (int64_t)ttl_s;
    if (error[0] != '\0' && window > RETRY_S)
        window = RETRY_S;
    /* a date in the future would keep a planted state "recent" for ever */
    recent = at >= 0 && at <= now + FUTURE_SKEW_S && now - at < window;
out:
    if (!recent) {
        error[0] = '\0';
        *invalid = false;
    }
    json_object_put(o);
    free(data);
    return recent;
}

/* Records this fetch; `invalid` tells the host's other nodes, for the retry window, that
 * the server served something that failed verification, so they report it too instead
 * of a fresh state from the cache. */
static void state_store(int dirfd, const char *source, int64_t now, const char *error,
                        bool invalid)
{
    json_object *o = json_object_new_object();
    const char *text;
    size_t len = 0;
    if (o == NULL || json_object_object_add(o, "format", json_object_new_int(STATE_FORMAT)) != 0 ||
        json_object_object_add(o, "source", json_object_new_string(source)) != 0 ||
        json_object_object_add(o, "fetched_at", json_object_new_int64(now)) != 0 ||
        json_object_object_add(o, "error", json_object_new_string(error)) != 0 ||
        json_object_object_add(o, "invalid", json_object_new_boolean(invalid)) != 0) {
        json_object_put(o);
        return;
    }
    text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    if (text != NULL && len <= STATE_MAX &&
        ant_fsx_write_atomic(dirfd, ANT_META_CACHE_STATE, text, len, 0600) != ANT_OK)
        ant_log(ANT_LOG_WARN, MOD, "Could not cache metadata state file=%s",
                ANT_META_CACHE_STATE);
    json_object_put(o);
}

static void cache_store(int dirfd, const char *name, const uint8_t *data, size_t len)
{
    ant_err err = ant_fsx_write_atomic(dirfd, name, data, len, 0600);
    if (err != ANT_OK)
        ant_log(ANT_LOG_WARN, MOD, "Could not cache metadata: %s file=%s", ant_strerror(err),
                name);
}

/* --- the update ------------------------------------------------------------------------- */

static ant_err fetch(const struct ant_meta_opts *o, struct ant_meta_status *st, const char *name,
                     size_t cap, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    ant_err err = o->fetch(o->fetch_arg, name, cap, data, len);
    if (err != ANT_OK) {
        free(*data);
        *data = NULL;
        *len = 0;
        return err;
    }
    /* the callback's promise, checked: a peer costs what it sent, and never above cap */
    if (*len > cap) {
        free(*data);
        *data = NULL;
        *len = 0;
        return ANT_ERR_TOO_LARGE;
    }
    st->bytes_fetched += *len;
    return ANT_OK;
}

/* Asks the server. Rejections mark t->invalid with the reason in st->error; a transport
 * failure leaves t as the cache had it, with the reason in st->error too. */
static void update(int dirfd, const struct ant_meta_opts *o, int64_t now,
                   struct ant_meta_trusted *t, struct ant_meta_status *st)
{
    char name[64];
    uint8_t *data = NULL;
    size_t len = 0;
    const char *why = NULL;
    struct ant_meta_timestamp *ts = NULL;
    struct ant_meta_targets *tg = NULL;
    ant_err err;
    int i;

    st->fetched = true;
    /* 1. the root chain */
    for (i = 0; i < ANT_META_MAX_ROOT_STEPS; i++) {
        struct ant_meta_root *next = NULL;
        snprintf(name, sizeof name, "root.%llu.json", (unsigned long long)t->root->version + 1);
        err = fetch(o, st, name, ANT_META_ROOT_MAX, &data, &len);
        if (err == ANT_ERR_NOT_FOUND)
            break;
        if (err != ANT_OK) {
            fail(st, "%s: %s", name, ant_strerror(err));
            if (err == ANT_ERR_TOO_LARGE)
                t->invalid = true;
            return;
        }
        err = root_step(t->root, data, len, &next, &why);
        if (err != ANT_OK) {
            fail(st, "%s: %s", name, why);
            t->invalid = true;
            free(data);
            return;
        }
        if (dirfd >= 0) {
            root_cache_name(name, sizeof name, next->version);
            cache_store(dirfd, name, data, len);
        }
        free(data);
        data = NULL;
        adopt_root(t, next);
    }
    if (i == ANT_META_MAX_ROOT_STEPS) {
        /* an endless chain: what we walked is verified and kept, but we stop here */
        fail(st, "root chain longer than %d versions in one refresh", ANT_META_MAX_ROOT_STEPS);
        t->invalid = true;
        return;
    }
    if (t->root->expires <= now) {
        t->root_expired = true;
        fail(st, "root version %llu expired", (unsigned long long)t->root->version);
        return;
    }

    /* 2. the timestamp */
    err = fetch(o, st, "timestamp.json", ANT_META_TIMESTAMP_MAX, &data, &len);
    if (err != ANT_OK) {
        fail(st, "timestamp.json: %s", ant_strerror(err));
        if (err == ANT_ERR_TOO_LARGE)
            t->invalid = true;
        return;
    }
    err = check_timestamp(t, data, len, &ts, &why);
    if (err != ANT_OK)
        goto bad_ts;
    if (ts->version < t->ts_floor) {
        why = "version rollback";
        goto bad_ts;
    }
    if (t->ts != NULL && ts->targets.version < t->ts->targets.version) {
        why = "targets version rollback";
        goto bad_ts;
    }
    if (ts->expires <= now) {
        /* stale, not invalid: validly signed but too old to prove the targets current.
         * It is kept in memory only (so the state says stale rather than missing) and
         * never cached; nothing is installed in this state. */
        fail(st, "timestamp.json: expired");
        if (t->ts == NULL || ts->version >= t->ts->version) {
            drop_timestamp(t);
            t->ts = ts;
            ts = NULL;
        }
        goto out;
    }
    if (t->ts == NULL || ts->version > t->ts->version) {
        drop_timestamp(t);
        t->ts = ts;
        t->ts_bytes = data;
        t->ts_len = len;
        ts = NULL;
        data = NULL;
    }
    ant_meta_timestamp_free(ts);
    ts = NULL;
    free(data);
    data = NULL;

    /* 3. the targets it names (already held if the hash matches) */
    if (t->tg != NULL && t->tg_len == t->ts->targets.length && t->tg_bytes != NULL) {
        uint8_t h[ANT_SHA256_BYTES];
        if (ant_sha256(h, t->tg_bytes, t->tg_len) == ANT_OK &&
            ant_ct_memcmp(h, t->ts->targets.sha256, sizeof h) == 0)
            goto store;
    }
    drop_targets(t);
    if (t->ts->targets.length > ANT_META_TARGETS_MAX) {
        fail(st, "targets: length %llu over the cap", (unsigned long long)t->ts->targets.length);
        t->invalid = true;
        return;
    }
    snprintf(name, sizeof name, "targets.%llu.json", (unsigned long long)t->ts->targets.version);
    /* Safety: the timestamp says how long the file is, so an endless response stops at
     * that length, not at the 4 MiB cap. */
    err = fetch(o, st, name, (size_t)t->ts->targets.length, &data, &len);
    if (err != ANT_OK) {
        fail(st, "%s: %s", name, ant_strerror(err));
        if (err == ANT_ERR_TOO_LARGE)
            t->invalid = true;
        return;
    }
    err = check_targets(t, t->ts, data, len, &tg, &why);
    if (err != ANT_OK) {
        fail(st, "%s: %s", name, why);
        t->invalid = true;
        goto out;
    }
    if (tg->version < t->tg_floor) {
        fail(st, "%s: version rollback", name);
        t->invalid = true;
        goto out;
    }
    t->tg = tg;
    t->tg_bytes = data;
    t->tg_len = len;
    tg = NULL;
    data = NULL;
store:
    if (dirfd >= 0) {
        /* targets first: a reader that sees the new timestamp finds its targets */
        cache_store(dirfd, ANT_META_CACHE_TARGETS, t->tg_bytes, t->tg_len);
        cache_store(dirfd, ANT_META_CACHE_TIMESTAMP, t->ts_bytes, t->ts_len);
    }
    goto out;
bad_ts:
    fail(st, "timestamp.json: %s", why);
    t->invalid = true;
out:
    ant_meta_timestamp_free(ts);
    ant_meta_targets_free(tg);
    free(data);
}

static enum ant_meta_state compute_state(const struct ant_meta_trusted *t, int64_t now)
{
    if (t->invalid)
        return ANT_META_INVALID;
    if (t->root_expired || t->root->expires <= now)
        return ANT_META_ROOT_EXPIRED;
    if (t->ts == NULL)
        return ANT_META_MISSING;
    if (t->ts->expires <= now)
        return ANT_META_STALE;
    if (t->tg == NULL)
        return ANT_META_MISSING;
    if (t->tg->expires <= now)
        return ANT_META_STALE;
    return ANT_META_FRESH;
}

/* Loads the anchor into a fresh set. */
static ant_err anchor(const struct ant_meta_opts *o, struct ant_meta_trusted **out)
{
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_trusted *t;
    const uint8_t *data = o->trusted_root, *p;
    size_t len = o->trusted_root_len, plen = 0;
    ant_err err;

    if (data == NULL)
        data = ant_meta_embedded_root(&len);
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return ANT_ERR_NOMEM;
    /* The anchor is trusted for where it comes from (the build, or an owner-checked file),
     * not for its signatures: root version 1 of the project is published before its keys
     * sign anything, and a client that trusts it needs no proof from it. */
    err = ant_meta_envelope_parse(ANT_META_ROLE_ROOT, data, len, &env);
    if (err == ANT_OK) {
        p = ant_meta_envelope_payload(env, &plen);
        err = ant_meta_root_parse(p, plen, &t->root);
    }
    ant_meta_envelope_free(env);
    if (err != ANT_OK) {
        ant_meta_trusted_free(t);
        return err;
    }
    t->ts_floor = o->floor_timestamp_version;
    t->tg_floor = o->floor_targets_version;
    t->floor_root = o->floor_root_version;
    *out = t;
    return ANT_OK;
}

ant_err ant_meta_refresh(int cache_dirfd, const struct ant_meta_opts *opts,
                         struct ant_meta_trusted **out, struct ant_meta_status *status)
{
    struct ant_meta_opts o;
    struct ant_meta_trusted *t = NULL;
    const char *source;
    char recent_error[ANT_META_ERROR_MAX];
    bool recent_invalid = false;
    int lockfd = -1;
    int64_t now;
    ant_err err;

    if (opts == NULL || out == NULL || status == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    memset(status, 0, sizeof *status);
    o = *opts;
    if (o.ttl_s == 0)
        o.ttl_s = ANT_META_DEFAULT_TTL_S;
    if (o.lock_timeout_ms == 0)
        o.lock_timeout_ms = ANT_META_DEFAULT_LOCK_TIMEOUT_MS;
    now = o.now != 0 ? o.now : (int64_t)time(NULL);
    source = o.source != NULL ? o.source : "default";

    err = anchor(&o, &t);
    if (err != ANT_OK)
        return err;
    if (cache_dirfd >= 0) {
        cache_load(cache_dirfd, t);
        if (!o.force && state_recent(cache_dirfd, source, now, o.ttl_s, recent_error,
                                     sizeof recent_error, &recent_invalid) &&
            (compute_state(t, now) == ANT_META_FRESH || recent_error[0] != '\0')) {
            if (recent_error[0] != '\0')
                fail(status, "%s (the host's last fetch)", recent_error);
            t->invalid = t->invalid || recent_invalid;
            goto done;
        }
    }
    if (o.fetch == NULL) {
        if (t->ts == NULL || t->tg == NULL)
            fail(status, "no metadata source and nothing in the cache");
        goto done;
    }
    if (cache_dirfd >= 0) {
        err = ant_fsx_lock(cache_dirfd, ANT_META_LOCK, o.lock_timeout_ms, &lockfd);
        if (err != ANT_OK) {
            ant_log(ANT_LOG_WARN, MOD, "Could not take %s (%s); fetching metadata anyway",
                    ANT_META_LOCK, ant_strerror(err));
            lockfd = -1;
        } else {
            /* another node may have refreshed while we waited: start again from the anchor
             * so that nothing read before the lock is trusted without a fresh check */
            ant_meta_trusted_free(t);
            t = NULL;
            err = anchor(&o, &t);
            if (err != ANT_OK)
                goto unlock;
            cache_load(cache_dirfd, t);
            if (!o.force && state_recent(cache_dirfd, source, now, o.ttl_s, recent_error,
                                         sizeof recent_error, &recent_invalid) &&
                compute_state(t, now) == ANT_META_FRESH && !recent_invalid &&
                recent_error[0] == '\0')
                goto unlock;
        }
    }
    update(cache_dirfd, &o, now, t, status);
    if (cache_dirfd >= 0)
        state_store(cache_dirfd, source, now, status->error, t->invalid);
unlock:
    ant_fsx_unlock(lockfd);
    if (err != ANT_OK) {
        ant_meta_trusted_free(t);
        return err;
    }
done:
    if (o.floor_root_version > t->root->version) {
        t->invalid = true;
        fail(status, "root version %llu below the trusted %llu",
             (unsigned long long)t->root->version, (unsigned long long)o.floor_root_version);
    }
    t->state = compute_state(t, now);
    if (t->state != ANT_META_FRESH && status->error[0] == '\0') {
        if (t->state == ANT_META_STALE)
            fail(status, "%s expired", t->ts->expires <= now ? "timestamp" : "targets");
        else if (t->state == ANT_META_ROOT_EXPIRED)
            fail(status, "root version %llu expired", (unsigned long long)t->root->version);
        else if (t->state == ANT_META_MISSING)
            fail(status, "no timestamp or targets");
    }
    status->state = t->state;
    status->root_version = t->root->version;
    status->timestamp_version = t->ts != NULL ? t->ts->version : 0;
    status->timestamp_expires = t->ts != NULL ? t->ts->expires : 0;
    status->targets_version = t->tg != NULL ? t->tg->version : 0;
    *out = t;
    return ANT_OK;
}

const struct ant_meta_root *ant_meta_trusted_root(const struct ant_meta_trusted *t)
{
    return t != NULL ? t->root : NULL;
}

const struct ant_meta_targets *ant_meta_trusted_targets(const struct ant_meta_trusted *t)
{
    return t != NULL ? t->tg : NULL;
}

const struct ant_meta_timestamp *ant_meta_trusted_timestamp(const struct ant_meta_trusted *t)
{
    return t != NULL ? t->ts : NULL;
}

enum ant_meta_state ant_meta_trusted_state(const struct ant_meta_trusted *t)
{
    return t != NULL ? t->state : ANT_META_MISSING;
}

ant_err ant_meta_lookup(const struct ant_meta_trusted *t, const char *version,
                        const char *platform, struct ant_meta_target *out)
{
    ant_err err;
    if (t == NULL || version == NULL || platform == NULL || out == NULL)
        return ANT_ERR_INVALID_ARG;
    /* `version` and `platform` are read before `out` is written, so they may point into
     * *out (a caller checking an entry it just listed). */
    if (t->state != ANT_META_FRESH || t->tg == NULL)
        err = ANT_ERR_BAD_SIGNATURE;
    else if (ant_meta_targets_is_yanked(t->tg, version))
        err = ANT_ERR_DOWNGRADE;
    else
        err = ant_meta_targets_find(t->tg, version, platform, out);
    if (err != ANT_OK)
        memset(out, 0, sizeof *out);
    return err;
}

static ant_err check_pair(uint64_t want_len, const uint8_t want[ANT_SHA256_BYTES], uint64_t len,
                          const uint8_t sha256[ANT_SHA256_BYTES])
{
    if (sha256 == NULL)
        return ANT_ERR_INVALID_ARG;
    if (want_len != len || ant_ct_memcmp(want, sha256, ANT_SHA256_BYTES) != 0)
        return ANT_ERR_MISMATCH;
    return ANT_OK;
}

ant_err ant_meta_check_archive(const struct ant_meta_target *e, uint64_t length,
                               const uint8_t sha256[ANT_SHA256_BYTES])
{
    if (e == NULL)
        return ANT_ERR_INVALID_ARG;
    return check_pair(e->archive_length, e->archive_sha256, length, sha256);
}

ant_err ant_meta_check_binary(const struct ant_meta_target *e, uint64_t length,
                              const uint8_t sha256[ANT_SHA256_BYTES])
{
    if (e == NULL)
        return ANT_ERR_INVALID_ARG;
    return check_pair(e->binary_length, e->binary_sha256, length, sha256);
}

/* --- the trust anchor file --------------------------------------------------------------- */

static bool owner_ok(const struct stat *st)
{
    return (st->st_uid == 0 || st->st_uid == geteuid()) && (st->st_mode & 022) == 0;
}

ant_err ant_meta_read_trusted_root(const char *path, uint8_t **data, size_t *len, char *why,
                                   size_t whycap)
{
    char dir[4096];
    const char *base, *slash;
    struct stat st;
    int dirfd = -1, fd = -1;
    uint64_t size = 0;
    ant_err err;

    if (path == NULL || data == NULL || len == NULL)
        return ANT_ERR_INVALID_ARG;
    *data = NULL;
    *len = 0;
    slash = strrchr(path, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof dir, ".");
        base = path;
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return ANT_ERR_INVALID_ARG;
        memcpy(dir, path, n);
        dir[n == 0 ? 1 : n] = '\0';
        if (n == 0)
            dir[0] = '/';
        base = slash + 1;
    }
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        err = ANT_ERR_NOT_FOUND;
        if (why != NULL)
            snprintf(why, whycap, "cannot open directory %s", dir);
        goto out;
    }
    if (fstat(dirfd, &st) != 0 || !owner_ok(&st)) {
        err = ANT_ERR_UNSAFE_FILE;
        if (why != NULL)
            snprintf(why, whycap, "directory %s is not owned by root or us, or is group/world "
                     "writable", dir);
        goto out;
    }
    /* ant_fsx_name_ok is stricter than file names need to be; the O_NOFOLLOW open and the
     * checks on the open fd are what matter, so open here with the same flags. */
    fd = openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        err = errno == ENOENT ? ANT_ERR_NOT_FOUND : ANT_ERR_UNSAFE_FILE;
        if (why != NULL)
            snprintf(why, whycap, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !owner_ok(&st)) {
        err = ANT_ERR_UNSAFE_FILE;
        if (why != NULL)
            snprintf(why, whycap, "%s is not a regular file owned by root or us without "
                     "group/world write", path);
        goto out;
    }
    if ((uint64_t)st.st_size > ANT_META_ROOT_MAX) {
        err = ANT_ERR_TOO_LARGE;
        if (why != NULL)
            snprintf(why, whycap, "%s is over %zu bytes", path, ANT_META_ROOT_MAX);
        goto out;
    }
    size = (uint64_t)st.st_size;
    *data = malloc((size_t)size + 1);
    if (*data == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, *data + got, (size_t)size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = ANT_ERR_IO;
            goto out;
        }
        got += (size_t)n;
    }
    (*data)[got] = 0;
    *len = got;
    err = ANT_OK;
out:
    if (err != ANT_OK) {
        free(*data);
        *data = NULL;
        if (why != NULL && err != ANT_ERR_NOMEM && err != ANT_ERR_IO)
            ant_log(ANT_LOG_WARN, MOD, "Refusing trusted root: %s", why);
    }
    if (fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    return err;
}
