/*
 * The staged-rollout gate (ARCHITECTURE.md §5 step 4). Each node waits a delay in [0, window)
 * derived from SHA-256 over a node-local secret, its peer_id and the version, counted from
 * the moment it first saw that version, so a fleet's restarts spread uniformly over the
 * window instead of all nodes leaving the network at once. The hash makes the delay stable
 * across restarts and different for every release (no node is always first), and it needs
 * no coordination. The secret (32 random bytes in the node's root, never sent anywhere)
 * is what keeps an outsider who knows the public peer id from computing the moment a node
 * restarts, which is when a trial is open and a kill counts against it (issue 13 item 9).
 * The first sighting and the resulting time are persisted in the state file, so a restart
 * neither resets nor re-rolls the schedule.
 *
 * Before the window there is the signed cursor of ARCHITECTURE.md §10: whether this node is
 * a candidate for a rollout at all. That test hashes only public inputs (the operator's seed
 * and the peer id) so the operator can tell who is in at each cursor; the window that follows
 * keeps the secret. The comparison is exact integer arithmetic (see rollout_hash_within).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/fsx.h"

#include "ant/digest.h"
#include "ant/log.h"
#include "ant/meta.h"
#include "upgrade/engine.h"

ant_err ant_upgrade_rollout_delay(const char *peer_id, const char *version, uint64_t window,
                                  uint64_t *delay)
{
    struct ant_digest *d = NULL;
    uint8_t hash[ANT_SHA256_BYTES];
    ant_err err;

    if (peer_id == NULL || version == NULL || delay == NULL || peer_id[0] == '\0' ||
        version[0] == '\0')
        return ANT_ERR_INVALID_ARG;
    *delay = 0;
    err = ant_digest_new(&d, ANT_DIGEST_SHA256);
    if (err != ANT_OK)
        goto out;
    err = ant_digest_update(d, peer_id, strlen(peer_id));
    if (err != ANT_OK)
        goto out;
    err = ant_digest_update(d, version, strlen(version));
    if (err != ANT_OK)
        goto out;
    err = ant_digest_final(d, hash, sizeof hash);
    if (err != ANT_OK)
        goto out;

    uint64_t h = 0;
    for (size_t i = 0; i < 8; i++)
        h = (h << 8) | hash[i];
    /* window × h / 2^64 exactly, in 128-bit arithmetic: never overflows, always < window. */
    *delay = (uint64_t)(((unsigned __int128)window * h) >> 64);
out:
    ant_digest_free(d);
    return err;
}

#define SECRET_DOMAIN "ant-node rollout delay v2"

ant_err ant_upgrade_rollout_delay_keyed(const uint8_t *secret, size_t secret_len,
                                        const char *peer_id, const char *version, uint64_t window,
                                        uint64_t *delay)
{
    if (secret_len == 0)
        return ant_upgrade_rollout_delay(peer_id, version, window, delay);
    struct ant_digest *d = NULL;
    uint8_t hash[ANT_SHA256_BYTES];
    static const uint8_t zero = 0;
    ant_err err;

    if (secret == NULL || peer_id == NULL || version == NULL || delay == NULL ||
        peer_id[0] == '\0' || version[0] == '\0')
        return ANT_ERR_INVALID_ARG;
    *delay = 0;
    err = ant_digest_new(&d, ANT_DIGEST_SHA256);
    /* Domain, separator, fixed-size secret, then the two texts with a separator between:
     * no two different inputs hash the same bytes. */
    if (err == ANT_OK)
        err = ant_digest_update(d, SECRET_DOMAIN, sizeof SECRET_DOMAIN - 1);
    if (err == ANT_OK)
        err = ant_digest_update(d, &zero, 1);
    if (err == ANT_OK)
        err = ant_digest_update(d, secret, secret_len);
    if (err == ANT_OK)
        err = ant_digest_update(d, peer_id, strlen(peer_id));
    if (err == ANT_OK)
        err = ant_digest_update(d, &zero, 1);
    if (err == ANT_OK)
        err = ant_digest_update(d, version, strlen(version));
    if (err == ANT_OK)
        err = ant_digest_final(d, hash, sizeof hash);
    if (err == ANT_OK) {
        uint64_t h = 0;
        for (size_t i = 0; i < 8; i++)
            h = (h << 8) | hash[i];
        *delay = (uint64_t)(((unsigned __int128)window * h) >> 64);
    }
    explicit_bzero(hash, sizeof hash);
    ant_digest_free(d);
    return err;
}

/* Creates the secret file with O_EXCL: two processes of one node starting at once never
 * both write one (the loser reads the winner's). */
static ant_err secret_create(int rootfd, uint8_t secret[ANT_UPGRADE_SECRET_BYTES])
{
    if (getrandom(secret, ANT_UPGRADE_SECRET_BYTES, 0) != ANT_UPGRADE_SECRET_BYTES)
        return ANT_ERR_RNG;
    int fd = openat(rootfd, ANT_UPGRADE_SECRET_FILE,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? ANT_ERR_EXISTS : ANT_ERR_IO;
    ssize_t w = write(fd, secret, ANT_UPGRADE_SECRET_BYTES);
    bool ok = w == ANT_UPGRADE_SECRET_BYTES && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || ant_fsx_fsync_dir(rootfd) != ANT_OK) {
        unlinkat(rootfd, ANT_UPGRADE_SECRET_FILE, 0);
        return ANT_ERR_IO;
    }
    ant_log(ANT_LOG_INFO, "upgrade", "Created rollout secret file=%s", ANT_UPGRADE_SECRET_FILE);
    return ANT_OK;
}

ant_err rollout_secret_load(int rootfd, uint8_t secret[ANT_UPGRADE_SECRET_BYTES])
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = -1;
        uint64_t size = 0;
        ant_err err = ant_fsx_open_capped(rootfd, ANT_UPGRADE_SECRET_FILE, 4096, &fd, &size);
        if (err == ANT_ERR_NOT_FOUND) {
            err = secret_create(rootfd, secret);
            if (err == ANT_ERR_EXISTS)
                continue; /* created by another process meanwhile: read it */
            return err;
        }
        struct stat st;
        bool good = err == ANT_OK && size == ANT_UPGRADE_SECRET_BYTES && fstat(fd, &st) == 0 &&
                    st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
                    pread(fd, secret, ANT_UPGRADE_SECRET_BYTES, 0) == ANT_UPGRADE_SECRET_BYTES;
        if (fd >= 0)
            close(fd);
        if (good)
            return ANT_OK;
        explicit_bzero(secret, ANT_UPGRADE_SECRET_BYTES);
        /* A secret others could read (or a damaged one) protects nothing: a new one. */
        ant_log(ANT_LOG_WARN, "upgrade", "Replacing unusable rollout secret file=%s",
                ANT_UPGRADE_SECRET_FILE);
        if (unlinkat(rootfd, ANT_UPGRADE_SECRET_FILE, 0) != 0 && errno != ENOENT)
            return ANT_ERR_IO;
    }
    return ANT_ERR_IO;
}

/* The delay of `version` for this node, in whole seconds (the schedule's unit). */
static ant_err delay_s(const char *peer_id, const uint8_t *secret, size_t secret_len,
                       const char *version, uint64_t window_ms, int64_t now, uint64_t *out)
{
    uint64_t delay = 0;
    ant_err err = ant_upgrade_rollout_delay_keyed(secret, secret_len, peer_id, version,
                                                  window_ms, &delay);
    if (err != ANT_OK)
        return err;
    delay /= 1000;
    if (delay > (uint64_t)INT64_MAX - (uint64_t)now)
        return ANT_ERR_INVALID_ARG;
    *out = delay;
    return ANT_OK;
}

ant_err rollout_schedule(struct upgrade_state *st, const char *peer_id, const uint8_t *secret,
                         size_t secret_len, const char *version, uint64_t window_ms, int64_t now,
                         enum rollout_mode mode, bool *changed)
{
    struct ant_semver want, have;
    uint64_t delay = 0;
    ant_err err;

    *changed = false;
    if (now <= 0)
        return ANT_ERR_INVALID_ARG;
    if (ant_semver_parse(version, &want) != ANT_OK)
        return ANT_ERR_BAD_VERSION;
    bool same = st->pending.version[0] != '\0' &&
                ant_semver_parse(st->pending.version, &have) == ANT_OK &&
                ant_semver_compare(&want, &have) == 0 && st->pending.first_seen > 0;
    if (!same) {
        /* First sighting, or another release replaces the pending one (normally a newer
         * one: the selection only ever offers the highest acceptable version). */
        if (!state_copy(st->pending.version, sizeof st->pending.version, version))
            return ANT_ERR_BAD_VERSION;
        st->pending.first_seen = now;
        st->pending.candidate_since = 0;
        st->pending.scheduled_at = 0;
        *changed = true;
    }
    switch (mode) {
    case ROLLOUT_WAIT:
        /* Not a candidate: nothing to schedule. A node that was one keeps its schedule
         * (a lowered cursor holds it at the gate, see the check). */
        if (*changed)
            ant_log(ANT_LOG_INFO, "upgrade",
                    "Upgrade waiting for the rollout cursor version=%s first_seen=%lld",
                    version, (long long)now);
        return ANT_OK;
    case ROLLOUT_WINDOW:
        if (st->pending.candidate_since > 0)
            return ANT_OK; /* persisted: a restart neither resets nor re-rolls it */
        err = delay_s(peer_id, secret, secret_len, version, window_ms, now, &delay);
        if (err != ANT_OK)
            return err;
        st->pending.candidate_since = now;
        st->pending.scheduled_at = now + (int64_t)delay;
        *changed = true;
        ant_log(ANT_LOG_INFO, "upgrade",
                "Upgrade scheduled version=%s first_seen=%lld candidate_since=%lld delay_s=%llu "
                "at=%lld keyed=%s",
                version, (long long)st->pending.first_seen, (long long)now,
                (unsigned long long)delay, (long long)st->pending.scheduled_at,
                secret_len > 0 ? "yes" : "no");
        return ANT_OK;
    case ROLLOUT_NOW:
        if (st->pending.candidate_since > 0 && st->pending.scheduled_at <= now)
            return ANT_OK;
        if (st->pending.candidate_since == 0)
            st->pending.candidate_since = now;
        st->pending.scheduled_at = now;
        *changed = true;
        ant_log(ANT_LOG_INFO, "upgrade", "Upgrade scheduled version=%s first_seen=%lld "
                "candidate_since=%lld at=%lld urgent=yes", version,
                (long long)st->pending.first_seen, (long long)st->pending.candidate_since,
                (long long)now);
        return ANT_OK;
    }
    return ANT_ERR_INVALID_ARG;
}

enum rollout_mode rollout_mode_of(const struct rollout_decision *d)
{
    if (d->below_minimum || d->running_yanked)
        return ROLLOUT_NOW;
    if (d->applies && !d->candidate)
        return ROLLOUT_WAIT;
    return ROLLOUT_WINDOW;
}

void rollout_cursor_text(uint32_t ppm, char *buf, size_t cap)
{
    unsigned whole = ppm / 10000u, frac = ppm % 10000u;
    if (frac == 0) {
        snprintf(buf, cap, "%u", whole);
        return;
    }
    char f[8];
    snprintf(f, sizeof f, "%04u", frac);
    for (size_t n = strlen(f); n > 0 && f[n - 1] == '0'; n--)
        f[n - 1] = '\0';
    snprintf(buf, cap, "%u.%s", whole, f);
}

/* out = a × m, with a a 256-bit number in four 64-bit limbs, most significant first, and
 * out five limbs (320 bits), most significant first: the product of a 256-bit number and a
 * 32-bit one always fits. */
static void mul_256_by_32(const uint64_t a[4], uint32_t m, uint64_t out[5])
{
    unsigned __int128 carry = 0;
    for (size_t i = 4; i-- > 0;) {
        unsigned __int128 p = (unsigned __int128)a[i] * m + carry;
        out[i + 1] = (uint64_t)p;
        carry = p >> 64;
    }
    out[0] = (uint64_t)carry;
}

bool rollout_hash_within(const uint8_t hash[32], uint32_t cursor_ppm)
{
    if (cursor_ppm > 1000000u)
        cursor_ppm = 1000000u;
    /* H × 10^6 ≤ cursor_ppm × (2^256 − 1): both sides exact in 320 bits, compared limb by
     * limb from the top. No division, so no rounding decides a node at the boundary. */
    uint64_t h[4], ones[4] = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX};
    uint64_t lhs[5], rhs[5];
    for (size_t i = 0; i < 4; i++) {
        h[i] = 0;
        for (size_t j = 0; j < 8; j++)
            h[i] = (h[i] << 8) | hash[i * 8 + j];
    }
    mul_256_by_32(h, 1000000u, lhs);
    mul_256_by_32(ones, cursor_ppm, rhs);
    int cmp = 0;
    for (size_t i = 0; i < 5 && cmp == 0; i++)
        cmp = lhs[i] < rhs[i] ? -1 : lhs[i] > rhs[i] ? 1 : 0;
    return cmp <= 0;
}

ant_err ant_upgrade_rollout_candidate(const uint8_t seed[32], const char *peer_id,
                                      uint32_t cursor_ppm, bool *candidate)
{
    struct ant_digest *d = NULL;
    uint8_t hash[ANT_SHA256_BYTES];
    ant_err err;

    if (candidate != NULL)
        *candidate = false;
    if (seed == NULL || peer_id == NULL || peer_id[0] == '\0' || candidate == NULL)
        return ANT_ERR_INVALID_ARG;
    if (cursor_ppm > 1000000u)
        cursor_ppm = 1000000u;
    err = ant_digest_new(&d, ANT_DIGEST_SHA256);
    if (err == ANT_OK)
        err = ant_digest_update(d, seed, 32);
    if (err == ANT_OK)
        err = ant_digest_update(d, peer_id, strlen(peer_id));
    if (err == ANT_OK)
        err = ant_digest_final(d, hash, sizeof hash);
    ant_digest_free(d);
    if (err != ANT_OK)
        return err;

    *candidate = rollout_hash_within(hash, cursor_ppm);
    return ANT_OK;
}

/* ---- the last scheduling check's rollout view (ENGINE_ROLLOUT_STATUS_FILE) ---------- */

void engine_rollout_status_save(int rootfd, const struct ant_upgrade_plan *plan)
{
    json_object *o = json_object_new_object();
    json_object *f[] = {
        plan->rollout ? json_object_new_string(plan->rollout_version) : NULL,
        plan->rollout ? json_object_new_string(plan->cursor) : NULL,
        json_object_new_boolean(plan->halted),
        json_object_new_boolean(plan->available && plan->candidate),
        json_object_new_string(plan->reason),
        json_object_new_int64(engine_now()),
    };
    static const char *const keys[] = {"version", "cursor",    "halted",
                                       "candidate", "reason", "checked_at"};
    bool ok = o != NULL;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        bool nullable = i < 2;
        if (ok && (f[i] != NULL || nullable) && json_object_object_add(o, keys[i], f[i]) == 0)
            continue;
        ok = false;
        json_object_put(f[i]);
    }
    const char *text = ok ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
    if (text == NULL || ant_fsx_write_atomic(rootfd, ENGINE_ROLLOUT_STATUS_FILE, text,
                                             strlen(text), 0600) != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade", "Cannot record rollout status file=%s",
                ENGINE_ROLLOUT_STATUS_FILE);
    json_object_put(o);
}

json_object *engine_rollout_status_json(int rootfd)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (ant_fsx_read_capped(rootfd, ENGINE_ROLLOUT_STATUS_FILE, 4096, &data, &len) != ANT_OK)
        return NULL;
    json_object *o = json_tokener_parse((const char *)data);
    free(data);
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

bool engine_rollout_status(int rootfd, bool *candidate, bool *halted, int64_t *cursor_ppm)
{
    uint8_t *data = NULL;
    size_t len = 0;
    uint32_t ppm = 0;
    if (ant_fsx_read_capped(rootfd, ENGINE_ROLLOUT_STATUS_FILE, 4096, &data, &len) != ANT_OK)
        return false;
    json_object *o = json_tokener_parse((const char *)data), *v = NULL;
    free(data);
    bool ok = o != NULL && json_object_is_type(o, json_type_object);
    if (ok) {
        *candidate = json_object_object_get_ex(o, "candidate", &v) && json_object_get_boolean(v);
        *halted = json_object_object_get_ex(o, "halted", &v) && json_object_get_boolean(v);
        *cursor_ppm = json_object_object_get_ex(o, "cursor", &v) &&
                              json_object_is_type(v, json_type_string) &&
                              ant_meta_cursor_parse(json_object_get_string(v), &ppm) == ANT_OK
                          ? (int64_t)ppm
                          : -1;
    }
    json_object_put(o);
    return ok;
}
