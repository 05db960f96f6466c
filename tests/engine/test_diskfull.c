/*
 * Disk full during an upgrade (small tmpfs mounts; needs root, otherwise every case prints
 * "SKIP:" and CTest reports the test as skipped): during the download, during staging
 * (extraction) and during the replacement (backup copy, then the new file). Each must end
 * with a clean `Upgrade failed` error, the old binary intact and runnable, and nothing
 * half-written left behind (no staging dir, temp file or partial cache entry).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static long round_kib(long bytes)
{
    return (bytes + 4095) / 4096 * 4;
}

/* Mounts a tmpfs of `kib` KiB on `dir`. Returns 0, or -1 with a SKIP line. */
static int mount_small(const char *dir, long kib)
{
    if (geteuid() != 0) {
        printf("SKIP: disk-full tests need root to mount a small tmpfs\n");
        fprintf(stderr, "  SKIP: not root\n");
        return -1;
    }
    if (sh("mkdir -p '%s' && mount -t tmpfs -o size=%ldk,mode=0700 tmpfs '%s'", dir, kib, dir) != 0) {
        printf("SKIP: cannot mount a tmpfs here (no CAP_SYS_ADMIN?)\n");
        fprintf(stderr, "  SKIP: mount failed\n");
        return -1;
    }
    return 0;
}

static void check_intact(struct world *w)
{
    char got[64] = "";
    CHECK(binary_version(w->binary, got, sizeof got) == 0);
    CHECK_STR(got, "0.1.0");
    CHECK(sh("cmp -s '%s' '%s'", w->binary, FAKE_V1) == 0);
    /* No temp file beside the binary, no staging dir or partial archive in the cache. */
    CHECK(sh("ls -a '%s' | grep -q '^\\.tmp-'", w->bin) != 0);
    CHECK(sh("ls -a '%s' | grep -q -e '^\\.staging' -e '^\\.tmp-' -e 'archive'", w->cache) != 0);
}

/* Archive and binary sizes of the release used below. */
static void sizes(struct world *w, long *archive, long *binary)
{
    char path[600], rel[200];
    world_archive_path(rel, sizeof rel, "0.2.0");
    snprintf(path, sizeof path, "%s%s", w->srv, rel);
    *archive = file_size(path);
    *binary = file_size(FAKE_V2);
}

static void cache_full_case(long (*tmpfs_kib)(long archive, long binary), const char *stage)
{
    struct world w;
    long a = 0, b = 0;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    sizes(&w, &a, &b);
    CHECK(a > 0 && b > 0);
    if (mount_small(w.cache, tmpfs_kib(a, b)) != 0) {
        world_free(&w);
        return;
    }
    CHECK(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000) != 0);
    char want[120];
    snprintf(want, sizeof want, "Upgrade failed version=0.2.0 stage=%s error=no_space_left", stage);
    CHECK_INT(world_log_count(&w, 0, want), 1);
    check_intact(&w);
    CHECK(sh("umount '%s'", w.cache) == 0);
    world_free(&w);
}

/* Room for the release list and locks, not for the archive. */
static long kib_for_download(long archive, long binary)
{
    (void)binary;
    return round_kib(archive / 2);
}

/* Room for the archive, not for the extracted binary beside it. */
static long kib_for_staging(long archive, long binary)
{
    return round_kib(archive + binary / 2);
}

static void test_disk_full_during_download(void)
{
    cache_full_case(kib_for_download, "download");
}

static void test_disk_full_during_staging(void)
{
    cache_full_case(kib_for_staging, "extract");
}

/* The binary dir is its own small tmpfs: with room for 1.5 binaries the backup copy fails,
 * with room for 2.5 the backup succeeds and writing the new file fails. */
static void bin_full_case(long halves, const char *stage)
{
    struct world w;
    long a = 0, b = 0;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    sizes(&w, &a, &b);
    CHECK(sh("mv '%s' '%s/saved-binary'", w.binary, w.dir) == 0);
    if (mount_small(w.bin, round_kib(b * halves / 2)) != 0) {
        world_free(&w);
        return;
    }
    CHECK(sh("chmod 755 '%s' && cp '%s/saved-binary' '%s'", w.bin, w.dir, w.binary) == 0);
    CHECK(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000) != 0);
    char want[120];
    snprintf(want, sizeof want, "Upgrade failed version=0.2.0 stage=%s error=no_space_left", stage);
    CHECK_INT(world_log_count(&w, 0, want), 1);
    CHECK_INT(world_log_count(&w, 0, "Replacing binary... version=0.2.0"), 1);
    char got[64] = "";
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    CHECK_STR(got, "0.1.0");
    CHECK(sh("cmp -s '%s' '%s'", w.binary, FAKE_V1) == 0);
    CHECK(sh("ls -a '%s' | grep -q '^\\.tmp-'", w.bin) != 0);
    if (strcmp(stage, "replace") == 0) {
        char backup[400];
        snprintf(backup, sizeof backup, "%s.backup", w.binary);
        CHECK(sh("cmp -s '%s' '%s'", backup, FAKE_V1) == 0);
    }
    /* Once space is back the next attempt completes (the cache entry was stored). */
    CHECK(sh("umount '%s'", w.bin) == 0);
    CHECK(sh("cp '%s/saved-binary' '%s'", w.dir, w.binary) == 0);
    CHECK_INT(world_run(&w, w.binary, "apply", 1, NULL, NULL, 30000), 0);
    CHECK(binary_version(w.binary, got, sizeof got) == 0);
    CHECK_STR(got, "0.2.0");
    world_free(&w);
}

static void test_disk_full_during_backup(void)
{
    bin_full_case(3, "backup");
}

static void test_disk_full_during_replacement(void)
{
    bin_full_case(5, "replace");
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_disk_full_during_download),
    ANT_TEST(test_disk_full_during_staging),
    ANT_TEST(test_disk_full_during_backup),
    ANT_TEST(test_disk_full_during_replacement),
};

ANT_TEST_MAIN(cases)
