/*
 * Acquire/replace tests of the upgrade engine (ARCHITECTURE.md §5 steps 5-10) with real
 * processes: one node applying a signed release; 15 nodes sharing one binary and one cache
 * applying the same release at once (exactly one release-list fetch, one archive download
 * and one replacement; the other 14 reuse the verified cache entry and find the binary
 * already upgraded; all restart into the new version); and releases that must not
 * install (signed for another version, or by a key that is not trusted).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

static void check_version(const char *path, const char *want)
{
    char got[64] = "";
    CHECK_MSG(binary_version(path, got, sizeof got) == 0 && strcmp(got, want) == 0,
              "%s reports '%s', want '%s'", path, got, want);
}

static void test_apply_single_node(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000), 0);
    check_version(w.binary, "0.2.0");
    char backup[400];
    snprintf(backup, sizeof backup, "%s.backup", w.binary);
    check_version(backup, "0.1.0");
    char path[200];
    world_archive_path(path, sizeof path, "0.2.0");
    CHECK_INT(world_count(&w, path), 1);
    CHECK_INT(world_log_count(&w, 0, "Downloading ant-node archive... version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Archive signature verified version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Stored archive in cache version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Replacing binary... version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Upgrade failed"), 0);
    /* The installed file is a complete, executable copy with the release's mode. */
    struct stat sb;
    CHECK(stat(w.binary, &sb) == 0 && (sb.st_mode & 0777) == 0755);

    /* The new binary does not reinstall itself: nothing above 0.2.0 is listed. */
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000), 0);
    CHECK_INT(world_count(&w, path), 1);
    world_free(&w);
}

/* Nodes waiting behind a download that takes longer than the lock timeout: the waiter
 * must keep waiting for download.lock (the holder is bounded by the transfer timeout, not
 * the lock timeout) and then reuse the cached archive, not fail the check at `acquire`. */
static void test_download_lock_outlasts_slow_download(void)
{
    struct world w;
    char path[200];
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    world_archive_path(path, sizeof path, "0.2.0");
    CHECK(sh("echo 3 > '%s%s.delay'", w.srv, path) == 0);
    const char *args[] = {"--lock-ms", "1000", NULL};
    pid_t a = world_spawn(&w, w.binary, "apply", 0, args, NULL);
    CHECK(a > 0);
    for (int i = 0; i < 250 && world_log_count(&w, 0, "Downloading ant-node archive...") == 0; i++)
        usleep(20000);
    CHECK_INT(world_log_count(&w, 0, "Downloading ant-node archive... version=0.2.0"), 1);
    pid_t b = world_spawn(&w, w.binary, "apply", 1, args, NULL);
    CHECK(b > 0);
    CHECK_INT(world_wait(a, 30000), 0);
    CHECK_INT(world_wait(b, 30000), 0);
    CHECK_INT(world_log_count(&w, ~0u, "Upgrade failed"), 0);
    CHECK_INT(world_log_count(&w, 1, "Reused signature-verified cached archive for 0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 1, "Binary already upgraded to 0.2.0"), 1);
    CHECK_INT(world_count(&w, path), 1);
    check_version(w.binary, "0.2.0");
    world_free(&w);
}

/* A cache store whose meta text cannot be built (json_object_new_string out of memory,
 * forced by the test-only fault point `meta-nomem`) must fail the store, not write a meta
 * with null fields that every later reader rejects as corrupt. The upgrade itself still
 * completes: a failed store only costs other nodes a download. */
static void test_meta_alloc_failure_fails_store(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    const char *env[] = {"ANT_TEST_FAULT=meta-nomem", NULL};
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, env, 30000), 0);
    check_version(w.binary, "0.2.0");
    CHECK_INT(world_log_count(&w, 0, "Stored archive in cache"), 0);
    CHECK_INT(world_log_count(&w, 0, "Cannot store archive in cache version=0.2.0"), 1);
    CHECK(sh("ls '%s' | grep -q 'meta.json$'", w.cache) != 0);
    CHECK(sh("grep -rqs null '%s'/*.meta.json", w.cache) != 0);
    world_free(&w);
}

static void test_fifteen_nodes_one_download_one_replacement(void)
{
    enum { N = 15 };
    struct world w;
    pid_t pids[N];
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    const char *extra[] = {"--stop-on-upgrade", "--window-ms", "0", "--check-ms", "600000",
                           "--run-ms", "45000", NULL};
    for (unsigned i = 0; i < N; i++)
        pids[i] = world_spawn(&w, w.binary, "run", i, extra, NULL);
    unsigned exit75 = 0;
    for (unsigned i = 0; i < N; i++)
        exit75 += world_wait(pids[i], 50000) == 75;
    CHECK_INT(exit75, N);

    char path[200];
    world_archive_path(path, sizeof path, "0.2.0");
    CHECK_INT(world_count(&w, path), 1);
    CHECK_INT(world_count(&w, "/repos/test/ant-node/releases"), 1);
    CHECK_INT(world_log_count(&w, ~0u, "Downloading ant-node archive... version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, ~0u, "Replacing binary... version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, ~0u,
                              "Binary already upgraded to 0.2.0 by another service, skipping "
                              "replacement version=0.2.0"),
              N - 1);
    CHECK_INT(world_log_count(&w, ~0u,
                              "Reused signature-verified cached archive for 0.2.0 version=0.2.0"),
              N - 1);
    CHECK_INT(world_log_count(&w, ~0u, "Archive signature verified version=0.2.0"), N);
    CHECK_INT(world_log_count(&w, ~0u, "Restarting into new binary version=0.2.0 mode=exit75"), N);
    CHECK_INT(world_log_count(&w, ~0u, "Upgrade failed"), 0);
    check_version(w.binary, "0.2.0");

    /* The supervisor starts each node again: all 15 now run the new version. */
    const char *again[] = {"--stop-on-upgrade", "--window-ms", "0", "--check-ms", "600000",
                           "--run-ms", "200", NULL};
    for (unsigned i = 0; i < N; i++)
        pids[i] = world_spawn(&w, w.binary, "run", i, again, NULL);
    unsigned clean = 0;
    for (unsigned i = 0; i < N; i++)
        clean += world_wait(pids[i], 20000) == 0;
    CHECK_INT(clean, N);
    CHECK_INT(world_log_count(&w, ~0u, "Node started version=0.2.0"), N);
    CHECK_INT(world_log_count(&w, ~0u, "Trial boot started version=0.2.0 attempt=1"), N);
    world_free(&w);
}

static void test_rejected_releases_never_install(void)
{
    struct world w;
    char path[200];
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    /* An archive of 0.2.0 signed as 0.1.5: the version-bound context must refuse it. */
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, "0.1.5") == 0);
    CHECK(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000) != 0);
    check_version(w.binary, "0.1.0");
    CHECK_INT(world_log_count(&w, 0, "Upgrade failed version=0.2.0 stage=verify error=signature_is_invalid"), 1);
    CHECK_INT(world_log_count(&w, 0, "Stored archive in cache"), 0);
    CHECK_INT(world_log_count(&w, 0, "Replacing binary"), 0);
    CHECK(sh("ls '%s' | grep -q archive", w.cache) != 0); /* nothing cached */

    /* A correctly signed release, but the node does not trust the test key. */
    CHECK(world_publish(&w, "0.3.0", FAKE_V3, NULL) == 0);
    CHECK(sh("rm -f '%s'/*.pub '%s/releases.json'", w.keys, w.cache) == 0);
    CHECK(world_run(&w, w.binary, "apply", 1, NULL, NULL, 30000) != 0);
    check_version(w.binary, "0.1.0");
    CHECK_INT(world_log_count(&w, 1, "Upgrade failed version=0.3.0 stage=verify"), 1);
    world_archive_path(path, sizeof path, "0.3.0");
    CHECK_INT(world_count(&w, path), 1);
    world_free(&w);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_download_lock_outlasts_slow_download),
    ANT_TEST(test_meta_alloc_failure_fails_store),
    ANT_TEST(test_apply_single_node),
    ANT_TEST(test_fifteen_nodes_one_download_one_replacement),
    ANT_TEST(test_rejected_releases_never_install),
};

ANT_TEST_MAIN(cases)
