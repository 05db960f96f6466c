/*
 * The upgrade engine's use of signed release metadata (ARCHITECTURE.md §9): once per check
 * it brings the trusted set up to date through src/meta (root chain, timestamp, targets,
 * host cache under metadata.lock), keeps the outcome and the version floors in the node's
 * private root (`metadata_state.json`), and answers the install questions: is this version
 * listed for this platform, and do the archive and the binary hash to what targets says.
 *
 * The floors live in the node's root, not only in the shared cache: a process of the same
 * uid can empty the cache, and without a private floor the node would then accept any
 * older (still signed, still unexpired) timestamp or targets again. A root rotation that
 * changes keys resets the role floors (src/meta drops what the old keys signed), so the
 * floors follow the newest root version seen, never fall within one root version.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/meta.h"
#include "upgrade/engine.h"

#define META_STATE_CAP 8192
#define HASH_CHUNK 65536

/* One log token: spaces, tabs and '=' become '_' (LOG-EVENTS.md: values have none). */
static void tokenize(char *buf)
{
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\t' || *p == '=' || *p == '\n')
            *p = '_';
    }
}

static uint64_t get_u64(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return 0;
    int64_t x = json_object_get_int64(v);
    return x > 0 ? (uint64_t)x : 0;
}

static void get_str(json_object *o, const char *key, char *buf, size_t cap)
{
    json_object *v = NULL;
    buf[0] = '\0';
    if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        state_copy(buf, cap, json_object_get_string(v));
}

static enum ant_meta_state state_from_name(const char *name)
{
    static const enum ant_meta_state all[] = {ANT_META_FRESH, ANT_META_STALE,
                                              ANT_META_ROOT_EXPIRED, ANT_META_MISSING,
                                              ANT_META_INVALID};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, ant_meta_state_name(all[i])) == 0)
            return all[i];
    }
    return ANT_META_INVALID;
}

ant_err engine_meta_load(int rootfd, struct engine_meta_record *rec)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char state[32];

    memset(rec, 0, sizeof *rec);
    rec->status.state = ANT_META_MISSING;
    ant_err err = ant_fsx_read_capped(rootfd, ENGINE_META_STATE_FILE, META_STATE_CAP, &data,
                                      &len);
    if (err == ANT_ERR_NOT_FOUND)
        return ANT_OK; /* never checked: nothing trusted yet */
    if (err != ANT_OK)
        return err;
    json_object *o = json_tokener_parse((const char *)data);
    free(data);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return ANT_ERR_PARSE;
    }
    rec->checked = true;
    get_str(o, "state", state, sizeof state);
    rec->status.state = state_from_name(state);
    rec->status.root_version = get_u64(o, "root_version");
    rec->status.targets_version = get_u64(o, "targets_version");
    rec->status.timestamp_version = get_u64(o, "timestamp_version");
    rec->status.timestamp_expires = (int64_t)get_u64(o, "timestamp_expires_unix");
    get_str(o, "error", rec->status.error, sizeof rec->status.error);
    rec->checked_at = (int64_t)get_u64(o, "checked_at");
    rec->floor_root = get_u64(o, "floor_root_version");
    rec->floor_targets = get_u64(o, "floor_targets_version");
    rec->floor_timestamp = get_u64(o, "floor_timestamp_version");
    json_object_put(o);
    return ANT_OK;
}

/* The "metadata" object of `upgrade status --json`. */
json_object *engine_meta_json(const struct engine_meta_record *rec)
{
    char expires[32] = "";
    if (rec->status.timestamp_expires > 0 &&
        !ant_meta_time_format(rec->status.timestamp_expires, expires, sizeof expires))
        expires[0] = '\0';
    json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    const char *err = rec->status.error;
    if (!rec->checked)
        err = "no metadata check yet";
    json_object *f[] = {
        json_object_new_string(ant_meta_state_name(rec->status.state)),
        json_object_new_int64((int64_t)rec->status.root_version),
        json_object_new_int64((int64_t)rec->status.targets_version),
        json_object_new_int64((int64_t)rec->status.timestamp_version),
        expires[0] != '\0' ? json_object_new_string(expires) : NULL,
        json_object_new_string(err),
        json_object_new_int64(rec->checked_at),
    };
    static const char *const keys[] = {"state",           "root_version", "targets_version",
                                       "timestamp_version", "timestamp_expires", "error",
                                       "checked_at"};
    bool ok = true;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        /* timestamp_expires is null when no timestamp was ever trusted. */
        bool nullable = i == 4;
        if (ok && (f[i] != NULL || nullable) && json_object_object_add(o, keys[i], f[i]) == 0)
            continue;
        ok = false;
        json_object_put(f[i]);
    }
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static ant_err meta_save(int rootfd, const struct engine_meta_record *rec)
{
    json_object *o = engine_meta_json(rec);
    if (o == NULL)
        return ANT_ERR_NOMEM;
    json_object *f[] = {json_object_new_int64(rec->status.timestamp_expires),
                        json_object_new_int64((int64_t)rec->floor_root),
                        json_object_new_int64((int64_t)rec->floor_targets),
                        json_object_new_int64((int64_t)rec->floor_timestamp)};
    static const char *const keys[] = {"timestamp_expires_unix", "floor_root_version",
                                       "floor_targets_version", "floor_timestamp_version"};
    ant_err err = ANT_OK;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (err == ANT_OK && f[i] != NULL && json_object_object_add(o, keys[i], f[i]) == 0)
            continue;
        err = ANT_ERR_NOMEM;
        json_object_put(f[i]);
    }
    if (err == ANT_OK) {
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        err = s != NULL ? ant_fsx_write_atomic(rootfd, ENGINE_META_STATE_FILE, s, strlen(s), 0600)
                        : ANT_ERR_NOMEM;
    }
    json_object_put(o);
    return err;
}

/* New floors from the old ones and a refresh: within one root version they only rise; a
 * newer root may have reset the role floors (its rotation dropped what old keys signed). */
static void raise_floors(struct engine_meta_record *rec, const struct ant_meta_status *s)
{
    if (s->root_version > rec->floor_root) {
        rec->floor_root = s->root_version;
        rec->floor_targets = s->targets_version;
        rec->floor_timestamp = s->timestamp_version;
        return;
    }
    if (s->root_version < rec->floor_root)
        return; /* src/meta refused below the floor; nothing of this refresh raises it */
    if (s->targets_version > rec->floor_targets)
        rec->floor_targets = s->targets_version;
    if (s->timestamp_version > rec->floor_timestamp)
        rec->floor_timestamp = s->timestamp_version;
}

ant_err engine_meta_refresh(struct ant_upgrade *u, bool force, struct ant_meta_trusted **out,
                            struct ant_meta_status *status)
{
    struct engine_meta_record rec;
    struct ant_meta_opts opts;
    struct ant_meta_http h;
    struct ant_http_opts http;
    uint8_t *anchor = NULL;
    size_t anchor_len = 0;
    char why[160] = "";
    int lockfd = -1;
    ant_err err;

    *out = NULL;
    memset(status, 0, sizeof *status);
    status->state = ANT_META_INVALID;
    engine_http_opts(u, &http);
    err = ant_meta_http_init(&h, u->cfg.metadata_url, u->cfg.repo, &http);
    if (err != ANT_OK) {
        snprintf(status->error, sizeof status->error, "metadata url refused: %s",
                 ant_strerror(err));
        goto record;
    }
    if (u->cfg.trusted_root != NULL && u->cfg.trusted_root[0] != '\0') {
        err = ant_meta_read_trusted_root(u->cfg.trusted_root, &anchor, &anchor_len, why,
                                         sizeof why);
        if (err != ANT_OK) {
            snprintf(status->error, sizeof status->error, "trusted root %s refused: %s",
                     u->cfg.trusted_root, why[0] != '\0' ? why : ant_strerror(err));
            goto record;
        }
    }
    err = engine_meta_load(u->rootfd, &rec);
    if (err != ANT_OK) {
        /* An unreadable record is not reset silently: with no floors the node could be
         * rolled back, so it installs nothing until an operator looks. */
        snprintf(status->error, sizeof status->error, "%s unreadable: %s",
                 ENGINE_META_STATE_FILE, ant_strerror(err));
        goto out_nosave;
    }
    ant_meta_opts_init(&opts);
    opts.trusted_root = anchor;
    opts.trusted_root_len = anchor_len;
    opts.fetch = ant_meta_http_fetch;
    opts.fetch_arg = &h;
    opts.source = h.base;
    uint64_t ttl = u->cfg.release_ttl_ms / 1000;
    opts.ttl_s = ttl == 0 ? 1u : ttl > UINT32_MAX ? UINT32_MAX : (unsigned)ttl;
    opts.lock_timeout_ms = u->cfg.lock_timeout_ms;
    opts.force = force;
    opts.floor_root_version = rec.floor_root;
    opts.floor_targets_version = rec.floor_targets;
    opts.floor_timestamp_version = rec.floor_timestamp;
    err = ant_meta_refresh(u->cachefd, &opts, out, status);
    if (err != ANT_OK) {
        /* A malformed anchor is the operator's file (or the build's): nothing installs. */
        status->state = ANT_META_INVALID;
        snprintf(status->error, sizeof status->error, "trust anchor unusable: %s",
                 ant_strerror(err));
        *out = NULL;
    }
record:
    err = ANT_OK; /* every metadata problem is a state, never a failed check */
    if (engine_meta_load(u->rootfd, &rec) != ANT_OK)
        goto out_nosave;
    if (status->state == ANT_META_FRESH)
        raise_floors(&rec, status);
    rec.checked = true;
    rec.checked_at = engine_now();
    {
        struct ant_meta_status keep = *status;
        if (keep.root_version == 0) {
            /* Nothing verified this time: show what was last trusted, with the new state. */
            keep.root_version = rec.status.root_version;
            keep.targets_version = rec.status.targets_version;
            keep.timestamp_version = rec.status.timestamp_version;
            keep.timestamp_expires = rec.status.timestamp_expires;
        }
        rec.status = keep;
    }
    if (state_lock(u->rootfd, u->cfg.lock_timeout_ms, &lockfd) == ANT_OK) {
        /* Floors raised by another process (an operator's `upgrade check`) stay. */
        struct engine_meta_record now;
        if (engine_meta_load(u->rootfd, &now) == ANT_OK) {
            if (now.floor_root > rec.floor_root ||
                (now.floor_root == rec.floor_root && now.floor_targets > rec.floor_targets))
                rec.floor_targets = now.floor_targets;
            if (now.floor_root > rec.floor_root ||
                (now.floor_root == rec.floor_root && now.floor_timestamp > rec.floor_timestamp))
                rec.floor_timestamp = now.floor_timestamp;
            if (now.floor_root > rec.floor_root)
                rec.floor_root = now.floor_root;
        }
        if (meta_save(u->rootfd, &rec) != ANT_OK)
            ant_log(ANT_LOG_WARN, "upgrade", "Cannot record metadata state file=%s",
                    ENGINE_META_STATE_FILE);
        ant_fsx_unlock(lockfd);
    }
out_nosave:
    if (status->state != ANT_META_FRESH) {
        char tok[ANT_META_ERROR_MAX];
        state_copy(tok, sizeof tok, status->error[0] != '\0' ? status->error : "-");
        tokenize(tok);
        /* Once per check: the node keeps its version and says why. */
        ant_log(ANT_LOG_WARN, "upgrade",
                "Release metadata not fresh, installing nothing state=%s root_version=%llu "
                "targets_version=%llu timestamp_version=%llu error=%s",
                ant_meta_state_name(status->state), (unsigned long long)status->root_version,
                (unsigned long long)status->targets_version,
                (unsigned long long)status->timestamp_version, tok);
    } else if (status->fetched) {
        ant_log(ANT_LOG_INFO, "upgrade",
                "Release metadata verified root_version=%llu targets_version=%llu "
                "timestamp_version=%llu bytes=%zu",
                (unsigned long long)status->root_version,
                (unsigned long long)status->targets_version,
                (unsigned long long)status->timestamp_version, status->bytes_fetched);
    }
    free(anchor);
    return err;
}

ant_err engine_hash_fd(int fd, uint64_t cap, uint64_t *length, uint8_t sha256[ANT_SHA256_BYTES])
{
    struct ant_digest *d = NULL;
    uint8_t *buf = NULL;
    uint64_t total = 0;
    ant_err err;

    if (lseek(fd, 0, SEEK_SET) != 0)
        return ANT_ERR_IO;
    err = ant_digest_new(&d, ANT_DIGEST_SHA256);
    if (err != ANT_OK)
        return err;
    buf = malloc(HASH_CHUNK);
    if (buf == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, HASH_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = ANT_ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if (total > cap) {
            err = ANT_ERR_TOO_LARGE;
            goto out;
        }
        err = ant_digest_update(d, buf, (size_t)n);
        if (err != ANT_OK)
            goto out;
    }
    err = ant_digest_final(d, sha256, ANT_SHA256_BYTES);
    *length = total;
    if (err == ANT_OK && lseek(fd, 0, SEEK_SET) != 0)
        err = ANT_ERR_IO;
out:
    free(buf);
    ant_digest_free(d);
    return err;
}
