/*
 * The monitor loop with real processes (ARCHITECTURE.md §5 steps 1-4): a node waits for its own
 * rollout time before it installs, wakes at that time rather than at the next check, and
 * keeps its schedule across a restart (the second process neither re-rolls nor restarts
 * the delay). A newer release published while one is pending replaces it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ant/upgrade.h"
#include "harness.h"
#include "test.h"

/* Finds a node index whose peer id ("peer-<n>") gets a delay in [lo_ms, hi_ms) with a
 * known rollout secret, and plants that secret in the node's root (the engine keeps an
 * existing 0600 secret), so the test knows the delay an outsider cannot compute. */
static unsigned node_with_delay(struct world *w, const char *version, uint64_t window_ms,
                                uint64_t lo_ms, uint64_t hi_ms)
{
    uint8_t secret[ANT_UPGRADE_SECRET_BYTES];
    memset(secret, 0x5a, sizeof secret);
    for (unsigned n = 0; n < 64; n++) {
        char peer[32];
        uint64_t d = 0;
        snprintf(peer, sizeof peer, "peer-%u", n);
        if (ant_upgrade_rollout_delay_keyed(secret, sizeof secret, peer, version, window_ms,
                                            &d) != ANT_OK ||
            d < lo_ms || d >= hi_ms)
            continue;
        char root[400];
        world_root(w, n, root, sizeof root);
        CHECK(sh("mkdir -p '%s' && chmod 700 '%s' && head -c 32 /dev/zero | tr '\\0' 'Z' > "
                 "'%s/%s' && chmod 600 '%s/%s'",
                 root, root, root, ANT_UPGRADE_SECRET_FILE, root, ANT_UPGRADE_SECRET_FILE) == 0);
        return n;
    }
    return 0;
}

/* The `at=` value of the last "Upgrade scheduled" line of node n, or -1. */
static long long scheduled_at(struct world *w, unsigned n)
{
    char path[400], line[1024];
    long long at = -1;
    world_log(w, n, path, sizeof path);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        const char *p = strstr(line, "Upgrade scheduled");
        if (p != NULL && (p = strstr(p, " at=")) != NULL)
            at = strtoll(p + 4, NULL, 10);
    }
    if (f != NULL)
        fclose(f);
    return at;
}

static void test_schedule_waits_and_survives_restart(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    /* A node whose delay in a 5 s window is 3-5 s: whole seconds 3 or 4. */
    unsigned n = node_with_delay(&w, "0.2.0", 5000, 3000, 5000);
    const char *first[] = {"--stop-on-upgrade", "--window-ms", "5000", "--check-ms", "600000",
                           "--run-ms", "1000", NULL};
    time_t t0 = time(NULL);
    CHECK_INT(world_run(&w, w.binary, "run", n, first, NULL, 20000), 0); /* not yet due */
    long long at = scheduled_at(&w, n);
    CHECK(at >= (long long)t0 + 3 && at <= (long long)t0 + 5);
    CHECK_INT(world_log_count(&w, n, "Replacing binary"), 0);

    /* Restarted before its time: same schedule, no new first sighting, installs at `at`
     * (woken by the schedule, not by the 10-minute check interval). */
    const char *second[] = {"--stop-on-upgrade", "--window-ms", "5000", "--check-ms", "600000",
                            "--run-ms", "15000", NULL};
    CHECK_INT(world_run(&w, w.binary, "run", n, second, NULL, 20000), 75);
    time_t done = time(NULL);
    CHECK_INT(world_log_count(&w, n, "Upgrade scheduled"), 1);
    CHECK_INT(world_log_count(&w, n, "Upgrade available version=0.2.0"), 3);
    CHECK(done >= (time_t)at);
    char want[160];
    snprintf(want, sizeof want, "Restarting into new binary version=0.2.0 mode=exit75 scheduled_at=%lld",
             at);
    CHECK_INT(world_log_count(&w, n, want), 1);
    world_free(&w);
}

static void test_newer_release_replaces_pending(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    /* A long window: 0.2.0 stays pending. */
    const char *args[] = {"--stop-on-upgrade", "--window-ms", "3600000", "--check-ms",
                          "600000", "--run-ms", "300", NULL};
    unsigned n = node_with_delay(&w, "0.2.0", 3600000, 600000, 3600000);
    CHECK_INT(world_run(&w, w.binary, "run", n, args, NULL, 20000), 0);
    CHECK_INT(world_log_count(&w, n, "Upgrade scheduled version=0.2.0"), 1);
    CHECK(world_publish(&w, "0.3.0", FAKE_V3, NULL) == 0);
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", n, args, NULL, 20000), 0);
    CHECK_INT(world_log_count(&w, n, "Upgrade scheduled version=0.3.0"), 1);
    CHECK(sh("grep -q '\"pending\":{\"version\":\"0.3.0\"' '%s/node%u/upgrade_state.json'", w.dir,
             n) == 0);
    CHECK_INT(world_log_count(&w, n, "Replacing binary"), 0);
    world_free(&w);
}

/* Shutdown while the monitor is stuck in a slow download: the node still exits promptly,
 * and the binary is untouched. */
static void test_stop_does_not_wait_for_a_stalled_download(void)
{
    struct world w;
    char got[64] = "";
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    /* Point the archive (not its signature) at the drip path. It announces no length:
     * the node caps the body at the length targets lists and would refuse 10 MiB at once. */
    CHECK(sh("python3 -c 'import json,sys; p=sys.argv[1]; r=json.load(open(p)); "
             "[a.update(browser_download_url=a[\"browser_download_url\"].split(\"/download/\")[0]"
             "+\"/drip/unsized\") for a in r[0][\"assets\"] if a[\"name\"].endswith(\".tar.gz\")]; "
             "json.dump(r, open(p, \"w\"))' '%s/repos/test/ant-node/releases'",
             w.srv) == 0);
    CHECK(sh("grep -q /drip/unsized '%s/repos/test/ant-node/releases'", w.srv) == 0);
    const char *args[] = {"--window-ms", "0", "--check-ms", "600000", "--run-ms", "1500", NULL};
    time_t t0 = time(NULL);
    CHECK_INT(world_run(&w, w.binary, "run", 0, args, NULL, 20000), 0);
    time_t took = time(NULL) - t0;
    CHECK_MSG(took <= 10, "shutdown took %ld s", (long)took);
    CHECK_INT(world_log_count(&w, 0, "Downloading ant-node archive... version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Upgrade monitor busy at shutdown, leaving it behind"), 1);
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    CHECK_STR(got, "0.1.0");
    world_free(&w);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_stop_does_not_wait_for_a_stalled_download),
    ANT_TEST(test_schedule_waits_and_survives_restart),
    ANT_TEST(test_newer_release_replaces_pending),
};

ANT_TEST_MAIN(cases)
