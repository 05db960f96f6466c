/*
 * Host-wide files the upgrade engine keeps beside the binary and in the node's root, under
 * concurrency and after crashes: `<binary>.bad-versions` marked by many processes at once
 * loses no mark (it is updated under its own lock), and a private staging dir left in the
 * root by a crashed uncached upgrade is removed at the next engine start while one held by
 * a live upgrader is left alone. A bad-version mark blocks for a backoff that doubles with
 * each counted mark, then for good; one failure marked by every node of a host counts once.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "test.h"
#include "upgrade/engine.h"

static char tmpdir[256];
static char bindir[300], binary[320], root[300];

static int make_world(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ant-marks-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(bindir, sizeof bindir, "%s/bin", tmpdir);
    snprintf(binary, sizeof binary, "%s/ant-node", bindir);
    snprintf(root, sizeof root, "%s/root", tmpdir);
    if (mkdir(bindir, 0700) != 0)
        return -1;
    int fd = open(binary, O_WRONLY | O_CREAT | O_EXCL, 0755);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static void rm_world(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

/* An uncached engine on the test binary (no cache dir: an unusable path). */
static struct ant_upgrade *engine(void)
{
    struct ant_upgrade_config cfg;
    struct ant_upgrade *u = NULL;
    char *argv[] = {binary, NULL};
    static char nocache[340];
    snprintf(nocache, sizeof nocache, "%s/bin/ant-node/not-a-dir", tmpdir);
    ant_upgrade_config_init(&cfg);
    cfg.root_dir = root;
    cfg.binary_path = binary;
    cfg.cache_dir = nocache;
    cfg.peer_id = "peer";
    cfg.running_version = "0.1.0";
    cfg.lock_timeout_ms = 20000;
    if (ant_upgrade_new(&cfg, 1, argv, &u) != ANT_OK)
        return NULL;
    return u;
}

/* Eight processes mark eight versions each at the same time: all 64 marks must be in the
 * file. Without a lock, each read-modify-write replaces the file with its own view and
 * drops the marks written since it read. */
static void test_bad_versions_concurrent_marks_not_lost(void)
{
    enum { PROCS = 8, EACH = 8 };
    CHECK(make_world() == 0);
    struct ant_upgrade *u = engine();
    CHECK(u != NULL);
    if (u == NULL) {
        rm_world();
        return;
    }
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            int bad = 0;
            for (int i = 0; i < EACH; i++) {
                char v[32];
                snprintf(v, sizeof v, "1.%d.%d", p, i);
                if (engine_host_mark_bad(u, v, "trial-failed", NULL) != ANT_OK)
                    bad++;
            }
            _exit(bad == 0 ? 0 : 1);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        CHECK(pids[p] > 0 && waitpid(pids[p], &status, 0) == pids[p] && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0);
    }
    unsigned missing = 0;
    for (int p = 0; p < PROCS; p++) {
        for (int i = 0; i < EACH; i++) {
            char v[32];
            snprintf(v, sizeof v, "1.%d.%d", p, i);
            if (!engine_host_bad(u, v))
                missing++;
        }
    }
    CHECK_INT(missing, 0);
    ant_upgrade_free(u);
    rm_world();
}

/* A crashed uncached upgrade leaves its private staging dir (with a partial download) in
 * the node's root; nothing ever removed it. At the next engine start an unlocked one goes;
 * one locked by a live upgrader (here: this process) and other entries stay. */
static void test_stale_root_staging_swept_at_start(void)
{
    char stale[400], live[400], other[400], file[450];
    CHECK(make_world() == 0);
    CHECK(mkdir(root, 0700) == 0);
    snprintf(stale, sizeof stale, "%s/.upgrade-staging-0011223344556677", root);
    snprintf(live, sizeof live, "%s/.upgrade-staging-8899aabbccddeeff", root);
    snprintf(other, sizeof other, "%s/keep-me", root);
    CHECK(mkdir(stale, 0700) == 0 && mkdir(live, 0700) == 0 && mkdir(other, 0700) == 0);
    snprintf(file, sizeof file, "%s/download.tar.gz", stale);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && write(fd, "partial", 7) == 7);
    if (fd >= 0)
        close(fd);
    int livefd = open(live, O_RDONLY | O_DIRECTORY);
    CHECK(livefd >= 0 && flock(livefd, LOCK_EX | LOCK_NB) == 0);

    struct ant_upgrade *u = engine();
    CHECK(u != NULL);
    struct stat sb;
    CHECK_MSG(stat(stale, &sb) != 0, "stale staging dir %s still there", stale);
    CHECK(stat(live, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK(stat(other, &sb) == 0 && S_ISDIR(sb.st_mode));
    ant_upgrade_free(u);

    /* Once its holder is gone, the next start removes it too. */
    if (livefd >= 0)
        close(livefd);
    u = engine();
    CHECK(u != NULL);
    CHECK(stat(live, &sb) != 0);
    CHECK(stat(other, &sb) == 0);
    ant_upgrade_free(u);
    rm_world();
}


/*
 * Issue 13 item 2: one node's evidence (three trial starts a peer could kill) made a mark
 * that kept a good release out forever. Now a mark blocks for backoff × 2^(marks-1), a
 * retry that fails again counts one more mark, and at max_marks the block is permanent.
 */
static void test_bad_mark_backoff_then_permanent(void)
{
    struct bad_mark m;
    memset(&m, 0, sizeof m);
    const uint64_t backoff = 10000; /* 10 s */
    CHECK(bad_mark_record(&m, "0.2.0", "trial-failed", 1000, backoff, 3));
    CHECK_INT(m.marks, 1);
    CHECK_STR(m.reason, "trial-failed");
    CHECK_INT(bad_mark_retry_at(&m, backoff, 3), 1010);
    CHECK(bad_mark_blocks(&m, 1009, backoff, 3));
    CHECK(!bad_mark_blocks(&m, 1010, backoff, 3));
    /* Marked again while blocked (another node of the host, same failure): not counted. */
    CHECK(!bad_mark_record(&m, "0.2.0", "rolled-back-on-host", 1005, backoff, 3));
    CHECK_INT(m.marks, 1);
    CHECK_INT(m.marked_at, 1000);
    /* The retry failed too: a second mark, twice the backoff. */
    CHECK(bad_mark_record(&m, "0.2.0", "trial-failed", 1020, backoff, 3));
    CHECK_INT(m.marks, 2);
    CHECK_INT(bad_mark_retry_at(&m, backoff, 3), 1040);
    CHECK(bad_mark_blocks(&m, 1039, backoff, 3) && !bad_mark_blocks(&m, 1040, backoff, 3));
    /* Third failure: permanent. */
    CHECK(bad_mark_record(&m, "0.2.0", "trial-failed", 1050, backoff, 3));
    CHECK_INT(m.marks, 3);
    CHECK_INT(bad_mark_retry_at(&m, backoff, 3), -1);
    CHECK(bad_mark_blocks(&m, INT64_MAX, backoff, 3));
    /* A reason that is no clean token is not kept as given. */
    struct bad_mark r;
    memset(&r, 0, sizeof r);
    CHECK(bad_mark_record(&r, "0.2.0", "x y=z\n", 5, backoff, 3));
    CHECK_STR(r.reason, "unknown");
    /* A huge backoff saturates to permanent rather than wrapping into the past. */
    CHECK(bad_mark_blocks(&m, 0, UINT64_MAX, 100));
}

/* Every node of a host rolls back the same failure at once: the host-wide mark counts it
 * once, or one bad start on a host of 8 nodes would make the block permanent. */
static void test_one_failure_counted_once_host_wide(void)
{
    enum { PROCS = 8 };
    CHECK(make_world() == 0);
    struct ant_upgrade *u = engine();
    CHECK(u != NULL);
    if (u == NULL) {
        rm_world();
        return;
    }
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0)
            _exit(engine_host_mark_bad(u, "0.2.0", "trial-failed", NULL) == ANT_OK ? 0 : 1);
    }
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        CHECK(pids[p] > 0 && waitpid(pids[p], &status, 0) == pids[p] && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0);
    }
    struct bad_mark list[HOST_BAD_MAX];
    size_t n = 0;
    CHECK_OK(engine_host_bad_list(u, list, HOST_BAD_MAX, &n));
    CHECK_INT(n, 1);
    CHECK(n == 1 && list[0].marks == 1 && strcmp(list[0].reason, "trial-failed") == 0);
    CHECK(engine_host_bad(u, "0.2.0"));
    bool found = false;
    CHECK_OK(engine_host_clear_bad(u, "0.2.0", &found));
    CHECK(found);
    CHECK(!engine_host_bad(u, "0.2.0"));
    ant_upgrade_free(u);
    rm_world();
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_stale_root_staging_swept_at_start),
    ANT_TEST(test_bad_versions_concurrent_marks_not_lost),
    ANT_TEST(test_bad_mark_backoff_then_permanent),
    ANT_TEST(test_one_failure_counted_once_host_wide),
};

ANT_TEST_MAIN(cases)
