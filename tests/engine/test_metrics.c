/*
 * The upgrade engine's metrics (src/upgrade/upgrade_metrics.c) against what the engine did,
 * in-process against the signed release server of the harness: one node applying a release
 * counts one download of exactly the archive's bytes and one good verification; a second
 * node sharing the cache counts a cache hit and no download; a release signed for another
 * version counts a bad signature and a failure at stage verify. The engine's state set and
 * the `upgrade` health component follow (restarting -> /healthz would say 503), the
 * state-file collector reports the pending schedule and the metadata state (fresh, then
 * stale once the timestamp expires), and a trial that failed with nothing to
 * roll back to leaves the node unhealthy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ant/metrics.h"
#include "ant/upgrade.h"
#include "harness.h"
#include "test.h"

static double sample(const char *series)
{
    char *text = NULL;
    size_t len = 0, n = strlen(series);
    double v = -1;
    if (ant_metrics_render(ant_metrics_default(), &text, &len) != ANT_OK)
        return -2;
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    free(text);
    return v;
}

static struct ant_upgrade *engine(struct world *w, unsigned n, const char *running)
{
    static char roots[4][400], peers[4][32];
    struct ant_upgrade_config cfg;
    struct ant_upgrade *u = NULL;
    char *argv[] = {"test_engine_metrics", NULL};
    world_root(w, n, roots[n], sizeof roots[n]);
    snprintf(peers[n], sizeof peers[n], "peer-%u", n);
    ant_upgrade_config_init(&cfg);
    cfg.root_dir = roots[n];
    cfg.peer_id = peers[n];
    cfg.running_version = running;
    cfg.binary_path = w->binary;
    cfg.cache_dir = w->cache;
    cfg.api_url = w->api;
    cfg.repo = "test/ant-node";
    cfg.trusted_keys_dir = w->keys;
    cfg.trusted_root = w->anchor;   /* the harness's signed metadata (ARCHITECTURE.md §9) */
    cfg.metadata_url = w->meta_url;
    cfg.rollout_window_ms = 0;
    cfg.lock_timeout_ms = 30000;
    CHECK_OK(ant_upgrade_new(&cfg, 1, argv, &u));
    return u;
}

static ant_err check_and_apply(struct ant_upgrade *u)
{
    struct ant_upgrade_plan plan;
    ant_err err = ant_upgrade_check(u, true, &plan);
    if (err == ANT_OK && !plan.available)
        err = ANT_ERR_NOT_FOUND;
    if (err == ANT_OK)
        err = ant_upgrade_apply(u, &plan);
    return err;
}

static void test_counts_follow_the_engine(void)
{
    struct world w;
    struct ant_upgrade *a, *b, *c;
    char path[200], file[600], why[256];
    struct stat sb;

    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    world_archive_path(path, sizeof path, "0.2.0");
    snprintf(file, sizeof file, "%s%s", w.srv, path);
    CHECK(stat(file, &sb) == 0 && sb.st_size > 0);

    a = engine(&w, 0, "0.1.0");
    CHECK_OK(check_and_apply(a));
    CHECK(sample("antnode_upgrade_downloads_total") == 1);
    CHECK(sample("antnode_upgrade_download_bytes_total") == (double)sb.st_size);
    CHECK(sample("antnode_upgrade_signature_verifications_total{result=\"ok\"}") >= 1);
    CHECK(sample("antnode_upgrade_signature_verifications_total{result=\"bad_signature\"}") == 0);
    CHECK(sample("antnode_upgrade_cache_hits_total") == 0);
    CHECK(sample("antnode_upgrade_state{state=\"restarting\"}") == 1);
    CHECK(sample("antnode_upgrade_state{state=\"idle\"}") == 0);
    CHECK(!ant_metrics_healthy(ant_metrics_default(), why, sizeof why));
    CHECK_STR(why, "upgrade: restarting into 0.2.0");
    double ok_verifications = sample("antnode_upgrade_signature_verifications_total{result=\"ok\"}");
    ant_upgrade_free(a);

    /* Same host, same cache: the second node reuses the verified archive. */
    b = engine(&w, 1, "0.1.0");
    CHECK_OK(check_and_apply(b));
    CHECK(sample("antnode_upgrade_downloads_total") == 1);
    CHECK(sample("antnode_upgrade_cache_hits_total") == 1);
    CHECK(sample("antnode_upgrade_signature_verifications_total{result=\"ok\"}") >
          ok_verifications);
    CHECK_INT(world_count(&w, path), 1);
    ant_upgrade_free(b);

    /* 0.3.0 signed as 0.2.0: the version-bound context refuses it. */
    CHECK(world_publish(&w, "0.3.0", FAKE_V3, "0.2.0") == 0);
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0); /* the cached list predates 0.3.0 */
    c = engine(&w, 2, "0.2.0");
    CHECK(check_and_apply(c) == ANT_ERR_BAD_SIGNATURE);
    CHECK(sample("antnode_upgrade_signature_verifications_total{result=\"bad_signature\"}") == 1);
    CHECK(sample("antnode_upgrade_failures_total{stage=\"verify\"}") == 1);
    CHECK(sample("antnode_upgrade_failures_total{stage=\"download\"}") == 0);
    CHECK(sample("antnode_upgrade_state{state=\"failed\"}") == 1);
    CHECK(sample("antnode_upgrade_downloads_total") == 2);
    ant_upgrade_free(c);
    world_free(&w);
}

static void test_state_file_collector(void)
{
    struct world w;
    struct ant_upgrade *u;
    struct ant_upgrade_plan plan;

    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    u = engine(&w, 0, "0.1.0");
    /* Not attached yet: no state-file families. */
    CHECK(sample("antnode_upgrade_trial_open") == -1);
    CHECK_OK(ant_upgrade_check(u, true, &plan));
    CHECK(plan.available);
    /* The monitor attaches the collector (auto-upgrade off: it only confirms trials). */
    CHECK_OK(ant_upgrade_monitor_start(u));
    CHECK(sample("antnode_upgrade_pending_info{version=\"0.2.0\"}") == 1);
    CHECK(sample("antnode_upgrade_pending_scheduled_timestamp_seconds") ==
          (double)plan.scheduled_at);
    CHECK(sample("antnode_upgrade_trial_open") == 0);
    CHECK(sample("antnode_upgrade_bad_versions") == 0);
    /* No rollout in the timestamp: a candidate by the window alone, not halted. */
    CHECK(sample("antnode_upgrade_rollout_candidate") == 1);
    CHECK(sample("antnode_upgrade_rollout_halted") == 0);
    CHECK(sample("antnode_upgrade_rollout_cursor_percent") == -1);
    /* The metadata check the node recorded: fresh, on the harness's first root. */
    CHECK(sample("antnode_metadata_state{state=\"fresh\"}") == 1);
    CHECK(sample("antnode_metadata_state{state=\"stale\"}") == 0);
    CHECK(sample("antnode_metadata_root_version") == 1);
    CHECK(sample("antnode_metadata_targets_version") >= 1);
    CHECK(sample("antnode_metadata_timestamp_expiry_timestamp_seconds") > (double)time(NULL));
    CHECK(sample("antnode_metadata_last_check_timestamp_seconds") > 0);
    /* The online key stops signing: once the timestamp expires the node reports stale. */
    CHECK(world_meta_timestamp(&w, -60) == 0);
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0); /* a fetched list forces a refresh */
    CHECK_OK(ant_upgrade_check(u, true, &plan)); /* a check that installs nothing */
    CHECK(sample("antnode_metadata_state{state=\"stale\"}") == 1);
    CHECK(sample("antnode_metadata_state{state=\"fresh\"}") == 0);
    ant_upgrade_free(u); /* stops the monitor and detaches */
    CHECK(sample("antnode_upgrade_trial_open") == -1);
    world_free(&w);
}

/* A trial that fails with nothing to roll back to: the node keeps running the failed
 * version, and /healthz must say so (it stays unhealthy for the life of the process, so this
 * test runs last). */
static void test_failed_trial_is_unhealthy(void)
{
    struct world w;
    struct ant_upgrade *u;
    bool restart = true;
    char why[256];

    /* The binary on disk is 0.2.0 and nothing older is kept beside it. */
    CHECK(world_init(&w, NULL, FAKE_V2) == 0);
    u = engine(&w, 3, "0.1.0");
    CHECK_OK(ant_upgrade_boot(u, &restart)); /* first run: 0.1.0 confirmed */
    ant_upgrade_free(u);
    /* 0.2.0 starts three times without being confirmed (there is no .backup beside it). */
    for (int i = 0; i < 3; i++) {
        u = engine(&w, 3, "0.2.0");
        CHECK_OK(ant_upgrade_boot(u, &restart));
        CHECK(!restart);
        ant_upgrade_free(u);
    }
    double before = sample("antnode_upgrade_failures_total{stage=\"rollback\"}");
    /* The fourth start: the trial has failed, and the rollback finds no backup. */
    u = engine(&w, 3, "0.2.0");
    CHECK(ant_upgrade_boot(u, &restart) != ANT_OK);
    CHECK(!restart);
    CHECK(sample("antnode_upgrade_failures_total{stage=\"rollback\"}") == before + 1);
    CHECK(!ant_metrics_healthy(ant_metrics_default(), why, sizeof why));
    CHECK_STR(why, "upgrade: version 0.2.0 failed its trial and could not be rolled back");
    /* Its monitor starting does not make it healthy again. */
    CHECK_OK(ant_upgrade_monitor_start(u));
    CHECK(!ant_metrics_healthy(ant_metrics_default(), why, sizeof why));
    CHECK(sample("antnode_upgrade_trial_open") == 1);
    ant_upgrade_free(u);
    world_free(&w);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_counts_follow_the_engine),
    ANT_TEST(test_state_file_collector),
    ANT_TEST(test_failed_trial_is_unhealthy),
};

ANT_TEST_MAIN(cases)
