/*
 * `ant-node upgrade apply --release-version V` online (ARCHITECTURE.md §10): the version an
 * operator names is installed now, through the real engine against a real loopback server
 * and metadata signed by the real src/meta steps, whatever channel, cursor, halt and
 * window say; but only when the fresh signed targets list it and do not yank it. The
 * attacker's (or the careless operator's) cases come first: a name the targets do not
 * list, a yanked one, one below the running version, one nobody published, and any name
 * while the metadata is stale are all refused before a byte of archive is fetched.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ant/upgrade.h"
#include "harness.h"
#include "test.h"

static const unsigned char SEED[32] = {1};

#define DAY_MS 86400000u

static struct ant_upgrade *engine(struct world *w, unsigned n, const char *channel)
{
    static char roots[4][400], peers[4][32];
    struct ant_upgrade_config cfg;
    struct ant_upgrade *u = NULL;
    char *argv[] = {"test_engine_named", NULL};
    world_root(w, n, roots[n], sizeof roots[n]);
    snprintf(peers[n], sizeof peers[n], "peer-%u", n);
    ant_upgrade_config_init(&cfg);
    cfg.root_dir = roots[n];
    cfg.peer_id = peers[n];
    cfg.running_version = "0.1.0";
    cfg.binary_path = w->binary;
    cfg.cache_dir = w->cache;
    cfg.api_url = w->api;
    cfg.repo = "test/ant-node";
    cfg.trusted_keys_dir = w->keys;
    cfg.trusted_root = w->anchor;
    cfg.metadata_url = w->meta_url;
    cfg.rollout_window_ms = DAY_MS;
    cfg.release_ttl_ms = 1000;
    cfg.lock_timeout_ms = 30000;
    cfg.channel = channel;
    CHECK_OK(ant_upgrade_new(&cfg, 1, argv, &u));
    return u;
}

static long archive_gets(struct world *w, const char *version)
{
    char path[200];
    world_archive_path(path, sizeof path, version);
    return world_count(w, path);
}

static void check_version(const char *path, const char *want)
{
    char got[64] = "";
    CHECK_MSG(binary_version(path, got, sizeof got) == 0 && strcmp(got, want) == 0,
              "%s reports '%s', want '%s'", path, got, want);
}

/* A refusal: the error, a reason naming why, nothing installed or fetched. */
static void refused(struct world *w, struct ant_upgrade *u, const char *version, ant_err want,
                    const char *reason_part)
{
    struct ant_upgrade_plan p;
    ant_err e = ant_upgrade_select_version(u, version, &p);
    CHECK_MSG(e == want, "%s: %s, want %s", version, ant_strerror(e), ant_strerror(want));
    CHECK(!p.available);
    CHECK_MSG(strstr(p.reason, reason_part) != NULL, "%s: reason '%s' lacks '%s'", version,
              p.reason, reason_part);
    /* and apply refuses a plan that was never selected */
    CHECK_ERR(ant_upgrade_apply(u, &p), ANT_ERR_INVALID_ARG);
    CHECK_INT(archive_gets(w, version), 0);
    CHECK(!ant_upgrade_restart_pending(u));
    check_version(w->binary, "0.1.0");
}

static void test_named_refusals_then_rc_installed_past_halt_and_channel(void)
{
    struct world w;
    struct ant_upgrade_plan p;
    struct meta_fault unlisted = {.unlisted = true};
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish_meta(&w, "0.1.5", FAKE_V15, NULL, NULL) == 0);
    CHECK(world_publish_meta(&w, "0.2.0-rc.1", FAKE_V2RC, NULL, NULL) == 0);
    CHECK(world_publish_meta(&w, "99.0.0", FAKE_V99, NULL, &unlisted) == 0);
    CHECK(world_meta_policy(&w, NULL, "0.1.5") == 0);
    /* The rc's rollout halted at cursor 0, and a day's window: nothing paces a name. */
    CHECK(world_meta_rollout(&w, "0.2.0-rc.1", SEED, "0", true) == 0);
    struct ant_upgrade *u = engine(&w, 0, NULL), *ub = engine(&w, 1, "beta");

    /* No channel installs any of them by itself: 0.1.5 yanked, 99.0.0 unlisted, an rc. */
    CHECK_OK(ant_upgrade_check(u, false, &p));
    CHECK(!p.available);
    CHECK_OK(ant_upgrade_check(ub, false, &p));
    CHECK(!p.available);

    refused(&w, u, "99.0.0", ANT_ERR_NOT_FOUND, "not listed in the signed targets");
    refused(&w, u, "0.1.5", ANT_ERR_DOWNGRADE, "0.1.5 is yanked in the signed targets");
    refused(&w, u, "0.0.9", ANT_ERR_DOWNGRADE, "not above the running version 0.1.0");
    refused(&w, u, "0.1.0", ANT_ERR_DOWNGRADE, "not above the running version 0.1.0");
    refused(&w, u, "0.2.0-rc.2", ANT_ERR_NOT_FOUND, "not listed in the signed targets");
    refused(&w, u, "not-a-version", ANT_ERR_BAD_VERSION, "is not a version");

    /* Listed, not yanked: installed now through the verify/validate/replace path. */
    CHECK_OK(ant_upgrade_select_version(u, "0.2.0-rc.1", &p));
    CHECK(p.available);
    CHECK_STR(p.version, "0.2.0-rc.1");
    CHECK(strstr(p.reason, "named by the operator") != NULL);
    CHECK_OK(ant_upgrade_apply(u, &p));
    CHECK(ant_upgrade_restart_pending(u));
    check_version(w.binary, "0.2.0-rc.1");
    CHECK_INT(archive_gets(&w, "0.2.0-rc.1"), 1);
    ant_upgrade_free(u);
    ant_upgrade_free(ub);
    world_free(&w);
}

/* Stale metadata (the timestamp expired: a frozen fleet) installs nothing, named or not. */
static void test_named_refused_on_stale_metadata(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish_meta(&w, "0.2.0-rc.1", FAKE_V2RC, NULL, NULL) == 0);
    CHECK(world_meta_timestamp(&w, -60) == 0);
    struct ant_upgrade *u = engine(&w, 0, NULL);
    refused(&w, u, "0.2.0-rc.1", ANT_ERR_NOT_FOUND, "release metadata");
    ant_upgrade_free(u);
    world_free(&w);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_named_refusals_then_rc_installed_past_halt_and_channel),
    ANT_TEST(test_named_refused_on_stale_metadata),
};

ANT_TEST_MAIN(cases)
