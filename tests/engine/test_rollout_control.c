/*
 * The rollout control of ARCHITECTURE.md §10 through the real engine, a real loopback
 * server and metadata signed with the real src/meta repository steps: the signed cursor
 * lets exactly its candidates start (the rest wait, not even downloading), a halt holds a
 * persisted schedule across a restart until resumed, cursor 0 starts nobody, a node below
 * minimum_version or running a yanked version upgrades at once whatever the cursor and the
 * window, a yanked release is never selected, and a timestamp naming a version the offline
 * targets do not list installs nothing.
 *
 * Engines run in this process (like test_engine_metrics); the release list and metadata
 * TTL is 1 s, so after each metadata change the test waits that long.
 * Candidacy with the seed 0..31 (Python's hashlib, see test_candidacy.c): peer-0 is a
 * candidate from 34.3165 %, peer-1 from 71.5171 %, peer-5 from 19.1846 %.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/upgrade.h"
#include "harness.h"
#include "test.h"
#include "upgrade/engine.h"

static const unsigned char SEED[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                       11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                       22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

#define DAY_MS 86400000u

static struct ant_upgrade *engine(struct world *w, unsigned n, const char *running,
                                  uint64_t window_ms)
{
    static char roots[8][400], peers[8][32];
    struct ant_upgrade_config cfg;
    struct ant_upgrade *u = NULL;
    char *argv[] = {"test_engine_rollout_control", NULL};
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
    cfg.trusted_root = w->anchor;
    cfg.metadata_url = w->meta_url;
    cfg.rollout_window_ms = window_ms;
    cfg.release_ttl_ms = 1000;
    cfg.lock_timeout_ms = 30000;
    CHECK_OK(ant_upgrade_new(&cfg, 1, argv, &u));
    return u;
}

/* Past the 1 s TTL of release list and metadata: the next check sees the change. */
static void next_ttl(void)
{
    usleep(1100000);
}

static void check_version(const char *path, const char *want)
{
    char got[64] = "";
    CHECK_MSG(binary_version(path, got, sizeof got) == 0 && strcmp(got, want) == 0,
              "%s reports '%s', want '%s'", path, got, want);
}

static long archive_gets(struct world *w, const char *version)
{
    char path[200];
    world_archive_path(path, sizeof path, version);
    return world_count(w, path);
}

/* The "rollout" object of `upgrade status --json` as text, and one of its fields. */
static void status_rollout(struct ant_upgrade *u, const char *key, char *buf, size_t cap)
{
    char *text = NULL;
    buf[0] = '\0';
    CHECK_OK(ant_upgrade_status(u, true, &text));
    json_object *o = text != NULL ? json_tokener_parse(text) : NULL, *ro = NULL, *v = NULL;
    if (o != NULL && json_object_object_get_ex(o, "rollout", &ro) && ro != NULL &&
        json_object_object_get_ex(ro, key, &v))
        snprintf(buf, cap, "%s", json_object_get_string(v));
    json_object_put(o);
    free(text);
}

static void test_cursor_starts_exactly_its_candidates(void)
{
    struct world w;
    struct ant_upgrade_plan p0, p1;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish_meta(&w, "0.2.0", FAKE_V2, NULL, NULL) == 0);
    CHECK(world_meta_rollout(&w, "0.2.0", SEED, "50", false) == 0);
    struct ant_upgrade *u0 = engine(&w, 0, "0.1.0", 0), *u1 = engine(&w, 1, "0.1.0", 0);

    CHECK_OK(ant_upgrade_check(u0, true, &p0));
    CHECK(p0.available && !p0.held && p0.candidate && p0.rollout);
    CHECK_STR(p0.cursor, "50");
    CHECK_OK(ant_upgrade_check(u1, true, &p1));
    CHECK(p1.available && p1.held && !p1.candidate && !p1.halted);
    CHECK_STR(p1.reason, "not a candidate at 50% for 0.2.0");
    CHECK_INT(p1.scheduled_at, 0);
    char buf[200];
    status_rollout(u1, "candidate", buf, sizeof buf);
    CHECK_STR(buf, "false");
    status_rollout(u1, "cursor", buf, sizeof buf);
    CHECK_STR(buf, "50");
    /* What the metrics read (antnode_upgrade_rollout_*). */
    char root[400];
    world_root(&w, 1, root, sizeof root);
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool cand = true, halted = true;
    int64_t ppm = 0;
    CHECK(rfd >= 0 && engine_rollout_status(rfd, &cand, &halted, &ppm));
    CHECK(!cand && !halted);
    CHECK_INT(ppm, 500000);
    if (rfd >= 0)
        close(rfd);

    /* The non-candidate's tick neither installs nor downloads. */
    uint64_t next = 0;
    CHECK_OK(ant_upgrade_run_once(u1, &next));
    CHECK(!ant_upgrade_restart_pending(u1));
    CHECK_INT(archive_gets(&w, "0.2.0"), 0);
    check_version(w.binary, "0.1.0");

    /* Raising the cursor adds it; its window counts from now (candidate_since). */
    next_ttl();
    CHECK(world_meta_rollout(&w, "0.2.0", SEED, "75", false) == 0);
    CHECK_OK(ant_upgrade_check(u1, true, &p1));
    CHECK(p1.available && !p1.held && p1.candidate);
    CHECK(p1.scheduled_at > 0);
    CHECK_OK(ant_upgrade_run_once(u1, &next));
    CHECK(ant_upgrade_restart_pending(u1));
    check_version(w.binary, "0.2.0");
    ant_upgrade_free(u0);
    ant_upgrade_free(u1);
    world_free(&w);
}

static void test_halt_holds_a_schedule_across_restart_until_resumed(void)
{
    struct world w;
    struct ant_upgrade_plan p;
    char buf[200];
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish_meta(&w, "0.2.0", FAKE_V2, NULL, NULL) == 0);
    CHECK(world_meta_rollout(&w, "0.2.0", SEED, "100", false) == 0);
    /* A one-second window: scheduled, not yet due. */
    struct ant_upgrade *u = engine(&w, 1, "0.1.0", 1000);
    CHECK_OK(ant_upgrade_check(u, true, &p));
    CHECK(p.available && !p.held && p.candidate);
    int64_t since = p.first_seen, at = p.scheduled_at;
    CHECK(at >= since);

    next_ttl();
    CHECK(world_meta_rollout(&w, "0.2.0", SEED, "100", true) == 0);
    ant_upgrade_free(u); /* the node restarts while halted */
    next_ttl();
    u = engine(&w, 1, "0.1.0", 1000);
    uint64_t next = 0;
    CHECK_OK(ant_upgrade_run_once(u, &next));
    CHECK(!ant_upgrade_restart_pending(u));
    CHECK_INT(archive_gets(&w, "0.2.0"), 0);
    CHECK_OK(ant_upgrade_check(u, true, &p));
    CHECK(p.held && p.halted);
    CHECK_INT(p.scheduled_at, at); /* the persisted schedule waits, unchanged */
    CHECK_STR(p.reason, "halted: the rollout of 0.2.0 is halted, no upgrade starts");
    status_rollout(u, "halted", buf, sizeof buf);
    CHECK_STR(buf, "true");

    /* Cursor 0 is a halt too (status says so), with no halted flag. */
    next_ttl();
    CHECK(world_meta_rollout(&w, "0.2.0", SEED, "0", false) == 0);
    CHECK_OK(ant_upgrade_run_once(u, &next));
    CHECK(!ant_upgrade_restart_pending(u));
    CHECK_OK(ant_upgrade_check(u, false, &p));
    CHECK(p.held && p.halted);
    CHECK_STR(p.reason, "halted: the rollout of 0.2.0 is at cursor 0%, no upgrade starts");

    /* Resumed: the schedule (long due) opens at the next check. */
    next_ttl();
    CHECK(world_meta_rollout(&w, "0.2.0", SEED, "100", false) == 0);
    CHECK_OK(ant_upgrade_run_once(u, &next));
    CHECK(ant_upgrade_restart_pending(u));
    check_version(w.binary, "0.2.0");
    ant_upgrade_free(u);
    world_free(&w);
}

static void test_minimum_version_skips_cursor_and_window(void)
{
    struct world w;
    struct ant_upgrade_plan p;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish_meta(&w, "0.2.0", FAKE_V2, NULL, NULL) == 0);
    /* peer-1 is not a candidate at 10 %, and the window is a day. */
    CHECK(world_meta_rollout(&w, "0.2.0", SEED, "10", false) == 0);
    struct ant_upgrade *u = engine(&w, 1, "0.1.0", DAY_MS);
    CHECK_OK(ant_upgrade_check(u, true, &p));
    CHECK(p.held && !p.urgent);

    /* A minimum at the running version changes nothing; above it, the fast path. */
    next_ttl();
    CHECK(world_meta_policy(&w, "0.1.0", NULL) == 0);
    CHECK_OK(ant_upgrade_check(u, true, &p));
    CHECK(p.held && !p.urgent);
    next_ttl();
    CHECK(world_meta_policy(&w, "0.2.0", NULL) == 0);
    CHECK_OK(ant_upgrade_check(u, false, &p));
    CHECK(!p.held && p.urgent);
    CHECK_STR(p.reason, "below minimum version 0.2.0: upgrading to 0.2.0 now");
    uint64_t next = 0;
    CHECK_OK(ant_upgrade_run_once(u, &next));
    CHECK(ant_upgrade_restart_pending(u));
    check_version(w.binary, "0.2.0");
    ant_upgrade_free(u);
    world_free(&w);
}

static void test_yanked_release_never_selected_and_yanked_running_upgrades(void)
{
    struct world w;
    struct ant_upgrade_plan p;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish_meta(&w, "0.2.0", FAKE_V2, NULL, NULL) == 0);
    CHECK(world_publish_meta(&w, "0.3.0", FAKE_V3, NULL, NULL) == 0);
    CHECK(world_meta_policy(&w, NULL, "0.3.0") == 0);
    struct ant_upgrade *u = engine(&w, 1, "0.1.0", DAY_MS);
    /* Selection table: 0.3.0 yanked, so 0.2.0; a day's window, not urgent. */
    CHECK_OK(ant_upgrade_check(u, true, &p));
    CHECK(p.available && !p.urgent && !p.held);
    CHECK_STR(p.version, "0.2.0");
    CHECK(p.scheduled_at > 0);
    /* The running version yanked: at once, as below the minimum. */
    next_ttl();
    CHECK(world_meta_policy(&w, NULL, "0.1.0") == 0);
    CHECK_OK(ant_upgrade_check(u, true, &p));
    CHECK(p.available && p.urgent && !p.held);
    CHECK_STR(p.version, "0.2.0");
    CHECK_STR(p.reason, "running version 0.1.0 is yanked: upgrading to 0.2.0 now");
    uint64_t next = 0;
    CHECK_OK(ant_upgrade_run_once(u, &next));
    CHECK(ant_upgrade_restart_pending(u));
    check_version(w.binary, "0.2.0");
    CHECK_INT(archive_gets(&w, "0.3.0"), 0);
    ant_upgrade_free(u);
    world_free(&w);
}

/* The online timestamp key alone cannot install anything: a rollout naming a release the
 * offline targets keys did not list (though signed and in the release list) selects
 * nothing; next to a listed one it steers nothing (the listed one keeps its window). */
static void test_timestamp_naming_unlisted_version_installs_nothing(void)
{
    struct world w;
    struct ant_upgrade_plan p;
    struct meta_fault unlisted = {.unlisted = true};
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish_meta(&w, "99.0.0", FAKE_V99, NULL, &unlisted) == 0);
    CHECK(world_meta_rollout(&w, "99.0.0", SEED, "100", false) == 0);
    struct ant_upgrade *u = engine(&w, 0, "0.1.0", 0);
    uint64_t next = 0;
    CHECK_OK(ant_upgrade_run_once(u, &next));
    CHECK(!ant_upgrade_restart_pending(u));
    CHECK_OK(ant_upgrade_check(u, false, &p));
    CHECK(!p.available);
    CHECK_INT(archive_gets(&w, "99.0.0"), 0);
    check_version(w.binary, "0.1.0");

    next_ttl();
    CHECK(world_publish_meta(&w, "0.2.0", FAKE_V2, NULL, NULL) == 0);
    CHECK(world_meta_rollout(&w, "99.0.0", SEED, "0", false) == 0);
    CHECK_OK(ant_upgrade_check(u, true, &p));
    CHECK(p.available && !p.held && !p.halted && p.candidate);
    CHECK_STR(p.version, "0.2.0");
    CHECK_OK(ant_upgrade_run_once(u, &next));
    CHECK(ant_upgrade_restart_pending(u));
    check_version(w.binary, "0.2.0");
    CHECK_INT(archive_gets(&w, "99.0.0"), 0);
    ant_upgrade_free(u);
    world_free(&w);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_cursor_starts_exactly_its_candidates),
    ANT_TEST(test_halt_holds_a_schedule_across_restart_until_resumed),
    ANT_TEST(test_minimum_version_skips_cursor_and_window),
    ANT_TEST(test_yanked_release_never_selected_and_yanked_running_upgrades),
    ANT_TEST(test_timestamp_naming_unlisted_version_installs_nothing),
};

ANT_TEST_MAIN(cases)
