/*
 * The staged-rollout gate (ARCHITECTURE.md §5 step 4). Each node waits a delay in [0, window)
 * derived from SHA-256(peer_id ‖ version), counted from the moment it first saw that
 * version, so a fleet's restarts spread uniformly over the window instead of all nodes
 * leaving the network at once. The hash makes the delay stable across restarts and
 * different for every release (no node is always first), and it needs no coordination.
 * The first sighting and the resulting time are persisted in the state file, so a restart
 * neither resets nor re-rolls the schedule.
 */
#include <string.h>

#include "ant/digest.h"
#include "ant/log.h"
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

ant_err rollout_schedule(struct upgrade_state *st, const char *peer_id, const char *version,
                         uint64_t window_ms, int64_t now, bool *changed)
{
    struct ant_semver want, have;
    uint64_t delay = 0;
    ant_err err;

    *changed = false;
    if (now < 0)
        return ANT_ERR_INVALID_ARG;
    if (ant_semver_parse(version, &want) != ANT_OK)
        return ANT_ERR_BAD_VERSION;
    /* The same version keeps its persisted schedule: a restart must not reset it. */
    if (st->pending.version[0] != '\0' && ant_semver_parse(st->pending.version, &have) == ANT_OK &&
        ant_semver_compare(&want, &have) == 0 && st->pending.first_seen > 0)
        return ANT_OK;

    /* First sighting, or another release replaces the pending one (normally a newer one:
     * the selection only ever offers the highest acceptable version). */
    err = ant_upgrade_rollout_delay(peer_id, version, window_ms, &delay);
    if (err != ANT_OK)
        return err;
    delay /= 1000; /* the schedule is kept in whole seconds, like first_seen */
    if (delay > (uint64_t)INT64_MAX - (uint64_t)now)
        return ANT_ERR_INVALID_ARG;
    if (!state_copy(st->pending.version, sizeof st->pending.version, version))
        return ANT_ERR_BAD_VERSION;
    st->pending.first_seen = now;
    st->pending.scheduled_at = now + (int64_t)delay;
    *changed = true;
    ant_log(ANT_LOG_INFO, "upgrade", "Upgrade scheduled version=%s first_seen=%lld delay_s=%llu at=%lld",
            version, (long long)now, (unsigned long long)delay,
            (long long)st->pending.scheduled_at);
    return ANT_OK;
}
