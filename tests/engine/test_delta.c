/*
 * Binary patches in the engine (issue 19, src/upgrade/delta.c), with real processes and the
 * loopback release server: a node whose host cache holds the old release takes the listed
 * patch instead of the archive; every way a patch can be wrong (served bytes that are not
 * the listed ones, more bytes than listed, a validly listed patch that builds another
 * binary) falls back to the full archive with one log line and installs the right binary;
 * and the binary a patch rebuilt serves the host's other nodes from the cache.
 *
 * Each world starts at 0.0.9 and installs 0.1.0 from its archive, so the cache holds the
 * 0.1.0 release a patch to 0.2.0 starts from.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "test.h"

static void check_version(const char *path, const char *want)
{
    char got[64] = "";
    CHECK_MSG(binary_version(path, got, sizeof got) == 0 && strcmp(got, want) == 0,
              "%s reports '%s', want '%s'", path, got, want);
}

/* A world at 0.1.0 with the 0.1.0 archive in the cache, and 0.2.0 published with a patch
 * from 0.1.0 as `fault` says. */
static int world_with_patch(struct world *w, struct meta_fault *fault)
{
    if (world_init(w, NULL, FAKE_V009) != 0 || world_publish(w, "0.1.0", FAKE_V1, NULL) != 0 ||
        world_run(w, w->binary, "apply", 0, NULL, NULL, 30000) != 0)
        return -1;
    fault->delta_from_version = "0.1.0";
    fault->delta_from_binary = FAKE_V1;
    /* The cached release list predates 0.2.0; a fetched one also forces a metadata refresh. */
    if (sh("rm -f '%s/releases.json'", w->cache) != 0)
        return -1;
    return world_publish_meta(w, "0.2.0", FAKE_V2, NULL, fault);
}

static void test_patch_used_when_old_binary_cached(void)
{
    struct world w;
    struct meta_fault f = {0};
    char archive[200], patch[200];
    CHECK(world_with_patch(&w, &f) == 0);
    CHECK(sh("ls '%s' | grep -q 'ant-node-0.1.0-.*archive'", w.cache) == 0);
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000), 0);
    check_version(w.binary, "0.2.0");
    world_archive_path(archive, sizeof archive, "0.2.0");
    world_patch_path(patch, sizeof patch, "0.2.0", "0.1.0");
    CHECK_INT(world_count(&w, archive), 0);
    CHECK_INT(world_count(&w, patch), 1);
    CHECK_INT(world_log_count(&w, 0, "Binary patch applied version=0.2.0 from=0.1.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Binary patch failed"), 0);
    CHECK_INT(world_log_count(&w, 0, "Stored binary in cache version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Replacing binary... version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Upgrade failed"), 0);
    /* What the cache keeps: the rebuilt binary with its targets digest, no archive. */
    CHECK(sh("test -f '%s/ant-node-0.2.0-%s.binary' && test -f '%s/ant-node-0.2.0-%s.binary.json'"
             " && ! ls '%s' | grep -q 'ant-node-0.2.0-.*archive'",
             w.cache, "linux-x64", w.cache, "linux-x64", w.cache) == 0);
    world_free(&w);
}

/* Another node of the host with its own copy of the 0.1.0 binary, after the patched
 * install: it reuses the rebuilt binary from the cache (checked against its own targets)
 * and downloads neither the archive nor the patch. A cached binary swapped by a process
 * of the same uid is refused and that node downloads the archive instead. */
static void test_cached_binary_serves_other_nodes(void)
{
    struct world w;
    struct meta_fault f = {0};
    char archive[200], patch[200], bin2[400], bin3[400];
    CHECK(world_with_patch(&w, &f) == 0);
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000), 0);
    CHECK_INT(world_log_count(&w, 0, "Binary patch applied version=0.2.0"), 1);
    snprintf(bin2, sizeof bin2, "%s/bin2/ant-node", w.dir);
    CHECK(sh("mkdir -p '%s/bin2' && cp '%s' '%s'", w.dir, FAKE_V1, bin2) == 0);
    CHECK_INT(world_run(&w, bin2, "apply", 1, NULL, NULL, 30000), 0);
    check_version(bin2, "0.2.0");
    world_archive_path(archive, sizeof archive, "0.2.0");
    world_patch_path(patch, sizeof patch, "0.2.0", "0.1.0");
    CHECK_INT(world_count(&w, archive), 0);
    CHECK_INT(world_count(&w, patch), 1);
    CHECK_INT(world_log_count(&w, 1, "Reused verified cached binary version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 1, "Upgrade failed"), 0);

    /* Swapped for the 0.3.0 binary, meta rewritten to match it. */
    CHECK(sh("cd '%s' && cp '%s' ant-node-0.2.0-linux-x64.binary && "
             "printf '{\"version\":\"0.2.0\",\"platform\":\"linux-x64\",\"binary_size\":%%s,"
             "\"sha256\":\"%%s\"}' $(stat -c %%s ant-node-0.2.0-linux-x64.binary) "
             "$(sha256sum ant-node-0.2.0-linux-x64.binary | cut -c1-64) > "
             "ant-node-0.2.0-linux-x64.binary.json",
             w.cache, FAKE_V3) == 0);
    snprintf(bin3, sizeof bin3, "%s/bin3/ant-node", w.dir);
    CHECK(sh("mkdir -p '%s/bin3' && cp '%s' '%s'", w.dir, FAKE_V1, bin3) == 0);
    CHECK_INT(world_run(&w, bin3, "apply", 2, NULL, NULL, 30000), 0);
    check_version(bin3, "0.2.0");
    CHECK_INT(world_log_count(&w, 2, "Reused verified cached binary"), 0);
    CHECK_INT(world_log_count(&w, 2, "Cached binary rejected version=0.2.0"), 1);
    /* The 0.1.0 archive is still cached, so node 2 takes the patch again. */
    CHECK_INT(world_log_count(&w, 2, "Binary patch applied version=0.2.0 from=0.1.0"), 1);
    world_free(&w);
}

/* The fallbacks: each installs 0.2.0 from the archive after one `Binary patch failed`. */
static void fallback_case(struct meta_fault *f, const char *stage)
{
    struct world w;
    char archive[200], line[200];
    CHECK(world_with_patch(&w, f) == 0);
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000), 0);
    check_version(w.binary, "0.2.0");
    world_archive_path(archive, sizeof archive, "0.2.0");
    CHECK_INT(world_count(&w, archive), 1);
    snprintf(line, sizeof line, "Binary patch failed, downloading full archive version=0.2.0 "
                                "from=0.1.0 stage=%s", stage);
    CHECK_MSG(world_log_count(&w, 0, line) == 1, "no '%s'", line);
    CHECK_INT(world_log_count(&w, 0, "Binary patch failed"), 1);
    CHECK_INT(world_log_count(&w, 0, "Binary patch applied"), 0);
    CHECK_INT(world_log_count(&w, 0, "Stored archive in cache version=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Stored binary in cache"), 0);
    CHECK_INT(world_log_count(&w, 0, "Upgrade failed"), 0);
    world_free(&w);
}

static void test_corrupt_patch_falls_back(void)
{
    struct meta_fault f = {.delta_served_corrupt = true};
    fallback_case(&f, "patch-digest");
}

static void test_oversize_patch_body_capped(void)
{
    struct meta_fault f = {.delta_served_oversize = true};
    fallback_case(&f, "download");
}

/* Signed, listed with its true digest, and applied cleanly: but it builds the 0.3.0
 * binary. Only the targets binary digest stops it, before it is ever run. */
static void test_listed_patch_with_wrong_result_falls_back(void)
{
    struct meta_fault f = {.delta_result_binary = FAKE_V3};
    fallback_case(&f, "patch-result");
}

/* No cached 0.1.0 release: the node's own on-disk 0.1.0 binary, copied and checked
 * against from_sha256, is the old binary (a node installed by hand has its release in no
 * cache). */
static void test_ondisk_binary_is_an_old_binary(void)
{
    struct world w;
    struct meta_fault f = {0};
    char archive[200], patch[200];
    CHECK(world_with_patch(&w, &f) == 0);
    CHECK(sh("rm -f '%s'/ant-node-0.1.0-*", w.cache) == 0);
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000), 0);
    check_version(w.binary, "0.2.0");
    world_archive_path(archive, sizeof archive, "0.2.0");
    world_patch_path(patch, sizeof patch, "0.2.0", "0.1.0");
    CHECK_INT(world_count(&w, archive), 0);
    CHECK_INT(world_count(&w, patch), 1);
    CHECK_INT(world_log_count(&w, 0, "Binary patch applied version=0.2.0 from=0.1.0"), 1);
    world_free(&w);
}

/* The patch is listed from an old binary this host has nowhere (another 0.1.0 build):
 * the archive, with no patch fetched and no failure logged. */
static void test_no_old_binary_downloads_archive(void)
{
    struct world w;
    struct meta_fault f = {0};
    char archive[200], patch[200];
    CHECK(world_init(&w, NULL, FAKE_V009) == 0);
    CHECK(world_publish(&w, "0.1.0", FAKE_V1, NULL) == 0);
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000), 0);
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
    f.delta_from_version = "0.1.0";
    f.delta_from_binary = FAKE_V15;
    CHECK(world_publish_meta(&w, "0.2.0", FAKE_V2, NULL, &f) == 0);
    CHECK_INT(world_run(&w, w.binary, "apply", 0, NULL, NULL, 30000), 0);
    check_version(w.binary, "0.2.0");
    world_archive_path(archive, sizeof archive, "0.2.0");
    world_patch_path(patch, sizeof patch, "0.2.0", "0.1.0");
    CHECK_INT(world_count(&w, archive), 1);
    CHECK_INT(world_count(&w, patch), 0);
    CHECK_INT(world_log_count(&w, 0, "Binary patch"), 0);
    world_free(&w);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_patch_used_when_old_binary_cached),
    ANT_TEST(test_cached_binary_serves_other_nodes),
    ANT_TEST(test_corrupt_patch_falls_back),
    ANT_TEST(test_oversize_patch_body_capped),
    ANT_TEST(test_listed_patch_with_wrong_result_falls_back),
    ANT_TEST(test_ondisk_binary_is_an_old_binary),
    ANT_TEST(test_no_old_binary_downloads_archive),
};
ANT_TEST_MAIN(cases)
