/*
 * Crash safety of apply (ARCHITECTURE.md §5 steps 5-9): the upgrader is killed with SIGKILL at
 * each test-only fault point (after the download, after the cache store, after the backup,
 * after writing the new file, after the rename). After each crash the binary on disk runs
 * and reports the old or the new version, every cache entry that verifies is byte-for-byte
 * the published archive, and the next attempt completes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/fsx.h"
#include "ant/trust.h"
#include "harness.h"
#include "test.h"

/* Verifies the cache entry of `version` through the real cache API. Returns the result of
 * ant_cache_get; on ANT_OK the verified copy is compared with the published archive. */
static ant_err cache_entry_state(struct world *w, const char *version, int *same)
{
    struct ant_cache *cache = NULL;
    struct ant_trust_keys *keys = NULL;
    char staging[512];
    int sfd = -1;
    *same = 0;
    ant_err err = ant_cache_open(w->cache, 0, &cache);
    if (err != ANT_OK)
        return err;
    err = ant_trust_keys_new_empty(&keys);
    if (err == ANT_OK)
        err = ant_trust_keys_add_dir(keys, w->keys, NULL, 0);
    if (err == ANT_OK)
        err = ant_cache_staging_create(cache, staging, sizeof staging, &sfd);
    if (err == ANT_OK) {
        err = ant_cache_get(cache, keys, version, ant_release_platform_host(), sfd, NULL);
        if (err == ANT_OK) {
            char archive[200];
            world_archive_path(archive, sizeof archive, version);
            *same = sh("cmp -s '%s/%s' '%s%s'", staging, ANT_CACHE_STAGED_ARCHIVE, w->srv,
                       archive) == 0;
        }
        ant_fsx_private_dir_remove(staging, sfd);
    }
    ant_trust_keys_free(keys);
    ant_cache_close(cache);
    return err;
}

static void crash_at(const char *point, const char *want_after_crash)
{
    struct world w;
    char env[64], archive[200], got[64] = "";
    int same = 0;
    fprintf(stderr, "  fault point %s\n", point);
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    world_archive_path(archive, sizeof archive, "0.2.0");
    snprintf(env, sizeof env, "ANT_TEST_FAULT=%s", point);
    const char *envs[] = {env, NULL};

    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, envs, 30000), 128 + 9);
    CHECK_INT(world_log_count(&w, 0, "Test fault point reached"), 1);

    /* The binary on disk runs, as the old or (after the rename) the new version. */
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    CHECK_STR(got, want_after_crash);

    /* No cache entry that verifies is corrupt; after the store, the entry is complete. */
    ant_err cerr = cache_entry_state(&w, "0.2.0", &same);
    CHECK(cerr == ANT_OK || cerr == ANT_ERR_NOT_FOUND);
    if (cerr == ANT_OK)
        CHECK(same);
    if (strcmp(point, "after-download") != 0)
        CHECK_ERR(cerr, ANT_OK);

    /* The next attempt completes. After the rename the node is already on 0.2.0: its next
     * start is the trial of the new version. */
    if (strcmp(want_after_crash, "0.1.0") == 0) {
        CHECK_INT(world_run(&w, w.binary, "apply", 1, NULL, NULL, 30000), 0);
        if (strcmp(point, "after-download") != 0) {
            CHECK_INT(world_log_count(&w, 1, "Reused signature-verified cached archive for 0.2.0"), 1);
            CHECK_INT(world_count(&w, archive), 1);
        }
    } else {
        const char *run[] = {"--run-ms", "100", NULL};
        CHECK_INT(world_run(&w, w.binary, "run", 1, run, NULL, 30000), 0);
        CHECK_INT(world_log_count(&w, 1, "Node started version=0.2.0"), 1);
    }
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    CHECK_STR(got, "0.2.0");
    CHECK_ERR(cache_entry_state(&w, "0.2.0", &same), ANT_OK);
    CHECK(same);
    world_free(&w);
}

static void test_crash_after_download(void)
{
    crash_at("after-download", "0.1.0");
}

static void test_crash_after_store(void)
{
    crash_at("after-store", "0.1.0");
}

static void test_crash_after_backup(void)
{
    crash_at("after-backup", "0.1.0");
}

static void test_crash_after_write(void)
{
    crash_at("after-write", "0.1.0");
}

static void test_crash_after_rename(void)
{
    crash_at("after-rename", "0.2.0");
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_crash_after_download), ANT_TEST(test_crash_after_store),
    ANT_TEST(test_crash_after_backup),   ANT_TEST(test_crash_after_write),
    ANT_TEST(test_crash_after_rename),
};

ANT_TEST_MAIN(cases)
