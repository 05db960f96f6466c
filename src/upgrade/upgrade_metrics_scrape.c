/*
 * The upgrade engine's scrape-time collector (upgrade_metrics.h): what must survive a
 * restart (the pending version, the trial, the versions marked bad, the last metadata check
 * and the last rollout view) is read from the node's files when /metrics is scraped. It
 * sits above the files it reads (state.c, rollout.c, metadata.c) and is attached by the
 * monitor, while the counters of upgrade_metrics.c sit below every step that bumps them:
 * one file for both made the engine's files call each other in a circle.
 */
#include <stdbool.h>
#include <stdint.h>

#include "ant/log.h"
#include "ant/meta.h"
#include "ant/metrics.h"
#include "upgrade/engine.h"
#include "upgrade/upgrade_metrics.h"

/* The last metadata check this node recorded (metadata_state.json in its root): the freeze
 * state as a state set, the trusted versions, and the times from which PromQL derives
 * freshness (`time() - antnode_metadata_last_check_timestamp_seconds`, and how long until
 * the timestamp expires). Nothing is written before the first check. */
static void collect_metadata(struct ant_upgrade *u, struct ant_metrics_writer *w)
{
    static const enum ant_meta_state all[] = {ANT_META_FRESH, ANT_META_STALE,
                                              ANT_META_ROOT_EXPIRED, ANT_META_MISSING,
                                              ANT_META_INVALID};
    static const struct {
        const char *name, *help;
    } versions[] = {
        {"antnode_metadata_root_version", "Version of the newest trusted root metadata."},
        {"antnode_metadata_targets_version", "Version of the trusted targets metadata."},
        {"antnode_metadata_timestamp_version", "Version of the trusted timestamp metadata."},
    };
    struct engine_meta_record rec;
    if (engine_meta_load(u->rootfd, &rec) != ANT_OK || !rec.checked)
        return;
    ant_metrics_write_family(w, "antnode_metadata_state", ANT_METRIC_GAUGE,
                             "Signed release metadata state at the last check: 1 for the "
                             "current one (only fresh allows an install).");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ant_metrics_write_sample(w, "antnode_metadata_state",
                                 (const char *[]){"state", ant_meta_state_name(all[i]), NULL},
                                 rec.status.state == all[i] ? 1 : 0);
    const uint64_t v[] = {rec.status.root_version, rec.status.targets_version,
                          rec.status.timestamp_version};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        ant_metrics_write_family(w, versions[i].name, ANT_METRIC_GAUGE, versions[i].help);
        ant_metrics_write_sample(w, versions[i].name, NULL, (double)v[i]);
    }
    ant_metrics_write_family(w, "antnode_metadata_timestamp_expiry_timestamp_seconds",
                             ANT_METRIC_GAUGE,
                             "Unix time the trusted timestamp metadata expires (0: none).");
    ant_metrics_write_sample(w, "antnode_metadata_timestamp_expiry_timestamp_seconds", NULL,
                             (double)rec.status.timestamp_expires);
    ant_metrics_write_family(w, "antnode_metadata_last_check_timestamp_seconds",
                             ANT_METRIC_GAUGE, "Unix time of the last metadata check.");
    ant_metrics_write_sample(w, "antnode_metadata_last_check_timestamp_seconds", NULL,
                             (double)rec.checked_at);
}

static void collect(void *ctx, struct ant_metrics_writer *w)
{
    struct ant_upgrade *u = ctx;
    struct upgrade_state st;

    /* The file is replaced atomically, so an unlocked read sees one whole version of it. */
    if (state_load(u->rootfd, &st) != ANT_OK)
        return;
    ant_metrics_write_family(w, "antnode_upgrade_pending_info", ANT_METRIC_GAUGE,
                             "1 with the version scheduled for installation, if any.");
    if (st.pending.version[0] != '\0')
        ant_metrics_write_sample(w, "antnode_upgrade_pending_info",
                                 (const char *[]){"version", st.pending.version, NULL}, 1);
    ant_metrics_write_family(w, "antnode_upgrade_pending_scheduled_timestamp_seconds",
                             ANT_METRIC_GAUGE,
                             "Unix time the rollout gate opens for the pending version (0: none).");
    ant_metrics_write_sample(w, "antnode_upgrade_pending_scheduled_timestamp_seconds", NULL,
                             st.pending.version[0] != '\0' ? (double)st.pending.scheduled_at : 0);
    ant_metrics_write_family(w, "antnode_upgrade_trial_open", ANT_METRIC_GAUGE,
                             "1 while a new version runs on trial (started, not yet confirmed).");
    ant_metrics_write_sample(w, "antnode_upgrade_trial_open", NULL,
                             st.trial.version[0] != '\0' ? 1 : 0);
    ant_metrics_write_family(w, "antnode_upgrade_trial_attempts", ANT_METRIC_GAUGE,
                             "Starts of the open trial so far (0: no trial).");
    ant_metrics_write_sample(w, "antnode_upgrade_trial_attempts", NULL,
                             st.trial.version[0] != '\0' ? (double)st.trial.attempts : 0);
    ant_metrics_write_family(w, "antnode_upgrade_bad_versions", ANT_METRIC_GAUGE,
                             "Versions this node marked bad after a failed trial (persisted).");
    ant_metrics_write_sample(w, "antnode_upgrade_bad_versions", NULL, (double)st.nbad);
    collect_metadata(u, w);
    /* The rollout control of the last scheduling check (ARCHITECTURE.md §10). */
    bool cand = false, halted = false;
    int64_t ppm = -1;
    if (engine_rollout_status(u->rootfd, &cand, &halted, &ppm)) {
        ant_metrics_write_family(w, "antnode_upgrade_rollout_candidate", ANT_METRIC_GAUGE,
                                 "1 when the last check found this node a rollout candidate "
                                 "for an available release.");
        ant_metrics_write_sample(w, "antnode_upgrade_rollout_candidate", NULL, cand ? 1 : 0);
        ant_metrics_write_family(w, "antnode_upgrade_rollout_halted", ANT_METRIC_GAUGE,
                                 "1 while the signed rollout is halted (or at cursor 0).");
        ant_metrics_write_sample(w, "antnode_upgrade_rollout_halted", NULL, halted ? 1 : 0);
        ant_metrics_write_family(w, "antnode_upgrade_rollout_cursor_percent", ANT_METRIC_GAUGE,
                                 "The signed rollout cursor in percent (-1: no rollout).");
        ant_metrics_write_sample(w, "antnode_upgrade_rollout_cursor_percent", NULL,
                                 ppm < 0 ? -1.0 : (double)ppm / 10000.0);
    }
}

void upgrade_metrics_attach(struct ant_upgrade *u)
{
    upgrade_metrics_health_start();
    if (ant_metrics_add_collector(ant_metrics_default(), collect, u) != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade", "Cannot add the upgrade state to the metrics");
}

void upgrade_metrics_detach(struct ant_upgrade *u)
{
    ant_metrics_remove_collector(ant_metrics_default(), collect, u);
    ant_metrics_health_clear(ant_metrics_default(), "upgrade");
}
