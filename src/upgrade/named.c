/*
 * A release the operator names (`ant-node upgrade apply --release-version V`, ARCHITECTURE.md
 * §10): the way onto a version no channel installs by itself (an `-rc`, an `-alpha`) or
 * ahead of the cursor on one node. Naming it skips only what paces a fleet: the channel,
 * the signed cursor, a halt and the window. It never skips what makes an install safe:
 * the metadata must be fresh and its targets must list V for this platform and not yank it
 * (the offline keys vouch for every install), V must be above the running version and the
 * floor and not marked bad here, and the archive then goes through the normal acquire,
 * verify, validate and replace path (ant_upgrade_apply) with its signed digests.
 */
#include <stdio.h>
#include <string.h>

#include "ant/log.h"
#include "ant/releases.h"
#include "upgrade/engine.h"

ant_err ant_upgrade_select_version(struct ant_upgrade *u, const char *version,
                                   struct ant_upgrade_plan *plan)
{
    struct ant_semver want, fl;
    struct upgrade_state st;
    struct ant_meta_target entry;
    struct ant_release_choice choice;
    struct rollout_decision dec;
    struct ant_meta_trusted *meta = NULL;
    struct ant_meta_status mstatus;
    bool found = false;
    ant_err err;

    if (u == NULL || plan == NULL || version == NULL)
        return ANT_ERR_INVALID_ARG;
    memset(plan, 0, sizeof *plan);
    state_copy(plan->running, sizeof plan->running, u->running);
    if (ant_semver_parse(version, &want) != ANT_OK) {
        snprintf(plan->reason, sizeof plan->reason, "'%.40s' is not a version", version);
        return ANT_ERR_BAD_VERSION;
    }
    state_copy(plan->version, sizeof plan->version, version);
    err = state_load(u->rootfd, &st);
    if (err != ANT_OK)
        return err;
    state_copy(plan->floor, sizeof plan->floor, st.floor);
    if (ant_semver_compare(&want, &u->running_v) <= 0 ||
        (st.floor[0] != '\0' && ant_semver_parse(st.floor, &fl) == ANT_OK &&
         ant_semver_compare(&want, &fl) < 0)) {
        snprintf(plan->reason, sizeof plan->reason,
                 "%s is not above the running version %s and the floor %s", plan->version,
                 u->running, st.floor[0] != '\0' ? st.floor : "(none)");
        return ANT_ERR_DOWNGRADE;
    }

    /* The offline keys' word first, fetched now: a name the targets do not list, or yank,
     * is refused before anything else is asked of the network. */
    err = engine_meta_refresh(u, true, &meta, &mstatus);
    if (err != ANT_OK)
        goto out;
    if (meta == NULL || mstatus.state != ANT_META_FRESH) {
        snprintf(plan->reason, sizeof plan->reason, "release metadata %s: installing nothing",
                 ant_meta_state_name(mstatus.state));
        err = ANT_ERR_NOT_FOUND;
        goto out;
    }
    const char *platform = ant_release_host_platform();
    if (platform == NULL) {
        err = ANT_ERR_PLATFORM;
        goto out;
    }
    err = ant_meta_lookup(meta, plan->version, platform, &entry);
    if (err == ANT_ERR_NOT_FOUND) {
        snprintf(plan->reason, sizeof plan->reason,
                 "%s is not listed in the signed targets for %s", plan->version, platform);
        goto out;
    }
    if (err == ANT_ERR_DOWNGRADE) {
        snprintf(plan->reason, sizeof plan->reason, "%s is yanked in the signed targets",
                 plan->version);
        goto out;
    }
    if (err != ANT_OK)
        goto out;
    ant_meta_trusted_free(meta);
    meta = NULL;

    /* The release list for its URLs, through the same selection as every check with the
     * channel replaced by the name (running, floor and bad marks still apply). */
    err = engine_discover_select(u, &st, &want, &choice, &entry, &dec, &found);
    if (err != ANT_OK)
        goto out;
    if (!found) {
        snprintf(plan->reason, sizeof plan->reason,
                 "%s is not in the release list with an archive and signature for %s, or "
                 "this node marked it bad",
                 plan->version, platform);
        err = ANT_ERR_NOT_FOUND;
        goto out;
    }
    u->choice = choice;
    u->meta_entry = entry;
    u->have_choice = true;
    plan->available = true;
    plan->scheduled_at = engine_now();
    snprintf(plan->reason, sizeof plan->reason,
             "named by the operator: installing %s now (channel, cursor, halt and window do "
             "not apply)",
             plan->version);
    ant_log(ANT_LOG_WARN, "upgrade", "Operator named a release, installing it version=%s "
            "running=%s", plan->version, u->running);
out:
    ant_meta_trusted_free(meta);
    return err;
}
