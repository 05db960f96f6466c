/*
 * Tests of the persisted upgrade state and the rollout gate: delays of 1000 peer ids are
 * uniform over the window (chi-square, 12 bins, p > 0.01), the schedule survives a restart
 * (state written, process state dropped, reloaded), a newer release replaces the pending
 * one, and a damaged or unsafe state file is refused rather than reset.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/fsx.h"
#include "test.h"
#include "upgrade/engine.h"

static char tmpdir[256];

static int make_tmp(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ant-rollout-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    int fd = -1;
    if (ant_fsx_open_trusted_dir(tmpdir, false, &fd) != ANT_OK)
        return -1;
    return fd;
}

static void rm_tmp(int fd)
{
    char cmd[300];
    if (fd >= 0)
        close(fd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static void peer_id_for(unsigned i, char hex[ANT_SHA256_HEXBYTES])
{
    uint8_t h[ANT_SHA256_BYTES];
    char seed[32];
    snprintf(seed, sizeof seed, "peer-%u", i);
    if (ant_sha256(h, seed, strlen(seed)) != ANT_OK)
        memset(h, 0, sizeof h);
    ant_hex_encode(hex, h, sizeof h);
}

static void test_delay_uniform_chi_square(void)
{
    enum { N = 1000, BINS = 12 };
    const uint64_t window = 12 * 3600;
    unsigned bins[BINS] = {0};
    char peer[ANT_SHA256_HEXBYTES];
    for (unsigned i = 0; i < N; i++) {
        uint64_t d = UINT64_MAX;
        peer_id_for(i, peer);
        CHECK_OK(ant_upgrade_rollout_delay(peer, "0.2.0", window, &d));
        CHECK(d < window);
        bins[d * BINS / window]++;
    }
    double expected = (double)N / BINS, chi2 = 0;
    for (unsigned b = 0; b < BINS; b++) {
        double diff = bins[b] - expected;
        chi2 += diff * diff / expected;
    }
    /* Critical value of chi-square with 11 degrees of freedom at p = 0.01. */
    fprintf(stderr, "  chi-square over %d bins: %.2f (critical 24.725)\n", BINS, chi2);
    CHECK(chi2 < 24.725);
}

static void test_delay_properties(void)
{
    uint64_t a = 1, b = 2, c = 3;
    CHECK_OK(ant_upgrade_rollout_delay("abcd", "0.2.0", 0, &a));
    CHECK_INT(a, 0);
    /* Same inputs, same delay; another version moves the node elsewhere in the window. */
    CHECK_OK(ant_upgrade_rollout_delay("abcd", "0.2.0", 1000000, &a));
    CHECK_OK(ant_upgrade_rollout_delay("abcd", "0.2.0", 1000000, &b));
    CHECK_OK(ant_upgrade_rollout_delay("abcd", "0.3.0", 1000000, &c));
    CHECK_INT(a, b);
    CHECK(a != c);
    /* Known value: SHA-256("abcd" "0.2.0") first 8 bytes scaled to 2^64 - 1 window. */
    uint8_t h[ANT_SHA256_BYTES];
    CHECK_OK(ant_sha256(h, "abcd0.2.0", 9));
    uint64_t top = 0;
    for (int i = 0; i < 8; i++)
        top = (top << 8) | h[i];
    uint64_t full = 0;
    CHECK_OK(ant_upgrade_rollout_delay("abcd", "0.2.0", UINT64_MAX, &full));
    CHECK(full == (top != 0 ? top - 1 : 0)); /* (2^64-1)·h / 2^64 = h - 1 for h > 0 */
    CHECK_ERR(ant_upgrade_rollout_delay("", "0.2.0", 10, &a), ANT_ERR_INVALID_ARG);
}

static void test_schedule_survives_restart(void)
{
    int fd = make_tmp();
    CHECK(fd >= 0);
    struct upgrade_state st;
    bool changed = false;
    CHECK_OK(state_load(fd, &st)); /* missing file: empty state */
    CHECK_STR(st.floor, "");
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 1000000,
                              ROLLOUT_WINDOW, &changed));
    CHECK(changed);
    int64_t at = st.pending.scheduled_at;
    CHECK(at >= 1000000 && at < 1000000 + 3600);
    CHECK_OK(state_save(fd, &st));

    /* "Restart": everything in memory is gone; the node sees the release again later. */
    memset(&st, 0xa5, sizeof st);
    CHECK_OK(state_load(fd, &st));
    CHECK_STR(st.pending.version, "0.2.0");
    CHECK_INT(st.pending.first_seen, 1000000);
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 1002000,
                              ROLLOUT_WINDOW, &changed));
    CHECK(!changed);
    CHECK_INT(st.pending.scheduled_at, at);
    CHECK_INT(st.pending.first_seen, 1000000);

    /* A newer release replaces the pending one, counted from its own first sighting. */
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.3.0", 3600000, 1002000,
                              ROLLOUT_WINDOW, &changed));
    CHECK(changed);
    CHECK_STR(st.pending.version, "0.3.0");
    CHECK_INT(st.pending.first_seen, 1002000);
    uint64_t d = 0;
    CHECK_OK(ant_upgrade_rollout_delay("peer-x", "0.3.0", 3600000, &d));
    CHECK_INT(st.pending.scheduled_at, 1002000 + (int64_t)(d / 1000));
    rm_tmp(fd);
}

/* The signed cursor (ARCHITECTURE.md §10): a non-candidate has no schedule; the window
 * counts from when it became a candidate, persisted across a restart; the urgent path
 * moves the schedule to now; a state file from before the cursor keeps its schedule. */
static void test_schedule_from_candidacy(void)
{
    int fd = make_tmp();
    CHECK(fd >= 0);
    struct upgrade_state st;
    bool changed = false;
    uint64_t d = 0;
    CHECK_OK(ant_upgrade_rollout_delay("peer-x", "0.2.0", 3600000, &d));
    memset(&st, 0, sizeof st);
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 1000000, ROLLOUT_WAIT,
                              &changed));
    CHECK(changed);
    CHECK_INT(st.pending.first_seen, 1000000);
    CHECK_INT(st.pending.candidate_since, 0);
    CHECK_INT(st.pending.scheduled_at, 0);
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 1000500, ROLLOUT_WAIT,
                              &changed));
    CHECK(!changed);
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 1001000,
                              ROLLOUT_WINDOW, &changed));
    CHECK(changed);
    CHECK_INT(st.pending.first_seen, 1000000);
    CHECK_INT(st.pending.candidate_since, 1001000);
    CHECK_INT(st.pending.scheduled_at, 1001000 + (int64_t)(d / 1000));
    CHECK_OK(state_save(fd, &st));
    memset(&st, 0xa5, sizeof st);
    CHECK_OK(state_load(fd, &st));
    CHECK_INT(st.pending.candidate_since, 1001000);
    /* A lowered cursor (WAIT again) and a later WINDOW keep the persisted schedule. */
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 1002000, ROLLOUT_WAIT,
                              &changed));
    CHECK(!changed);
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 1003000,
                              ROLLOUT_WINDOW, &changed));
    CHECK(!changed);
    CHECK_INT(st.pending.scheduled_at, 1001000 + (int64_t)(d / 1000));
    /* Below minimum / yanked: now. */
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 1001001, ROLLOUT_NOW,
                              &changed));
    CHECK(changed || d < 1000);
    CHECK_INT(st.pending.scheduled_at, d < 1000 ? 1001000 : 1001001);
    CHECK_ERR(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 0, ROLLOUT_WINDOW,
                               &changed),
              ANT_ERR_INVALID_ARG);

    /* A state file written before candidate_since existed: candidate since first_seen. */
    static const char legacy[] =
        "{\"format\":1,\"floor\":\"\",\"confirmed\":\"\",\"pending\":{\"version\":\"0.2.0\","
        "\"first_seen\":5000,\"scheduled_at\":5100}}";
    CHECK_OK(ant_fsx_write_atomic(fd, "upgrade_state.json", legacy, sizeof legacy - 1, 0600));
    CHECK_OK(state_load(fd, &st));
    CHECK_INT(st.pending.candidate_since, 5000);
    CHECK_INT(st.pending.scheduled_at, 5100);
    CHECK_OK(rollout_schedule(&st, "peer-x", NULL, 0, "0.2.0", 3600000, 6000, ROLLOUT_WINDOW,
                              &changed));
    CHECK(!changed);
    rm_tmp(fd);
}

static void test_state_roundtrip_and_rejects(void)
{
    int fd = make_tmp();
    struct upgrade_state st, back;
    memset(&st, 0, sizeof st);
    CHECK(state_copy(st.floor, sizeof st.floor, "0.2.0"));
    CHECK(state_copy(st.confirmed, sizeof st.confirmed, "0.1.0"));
    CHECK(state_copy(st.trial.version, sizeof st.trial.version, "0.3.0-rc.1"));
    st.trial.attempts = 2;
    state_add_bad(&st, "0.2.5", "trial-failed", 100, 1000, 3, NULL);
    state_add_bad(&st, "0.2.5", "trial-failed", 100, 1000, 3, NULL);
    state_add_bad(&st, "v0.2.6", "rolled-back-on-host", 200, 1000, 3, NULL);
    state_set_error(&st, "0.3.0-rc.1", "download", ANT_ERR_TIMEOUT, 77);
    CHECK_OK(state_save(fd, &st));
    CHECK_OK(state_load(fd, &back));
    CHECK_STR(back.floor, "0.2.0");
    CHECK_STR(back.confirmed, "0.1.0");
    CHECK_STR(back.trial.version, "0.3.0-rc.1");
    CHECK_INT(back.trial.attempts, 2);
    CHECK_INT(back.nbad, 2);
    CHECK(state_is_bad(&back, "0.2.6"));
    CHECK(!state_is_bad(&back, "0.2.7"));
    /* "bad" keeps the plain version strings earlier releases parse; details are apart. */
    uint8_t *text = NULL;
    size_t tlen = 0;
    CHECK_OK(ant_fsx_read_capped(fd, ANT_UPGRADE_STATE_FILE, 65536, &text, &tlen));
    CHECK(text != NULL && strstr((char *)text, "\"bad\":[\"0.2.5\",\"0.2.6\"]") != NULL);
    free(text);
    const struct bad_mark *m = state_find_bad(&back, "0.2.6");
    CHECK(m != NULL && strcmp(m->reason, "rolled-back-on-host") == 0 && m->marked_at == 200 &&
          m->marks == 1);
    CHECK_STR(back.last_error.stage, "download");
    CHECK_INT(back.last_error.time, 77);

    struct stat sb;
    CHECK(fstatat(fd, ANT_UPGRADE_STATE_FILE, &sb, 0) == 0 && (sb.st_mode & 0777) == 0600);

    /* Damaged files are errors, never an empty state (that would drop the floor). */
    static const char *const bad_files[] = {
        "{\"format\":1,\"floor\":\"0.2\"}",
        "{\"format\":2}",
        "{\"format\":1,\"floor\":5}",
        "{\"format\":1,\"pending\":{\"version\":\"0.3.0\",\"first_seen\":-4}}",
        "{\"format\":1,\"bad\":[\"x\"]}",
        "{\"format\":1} trailing",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        CHECK_OK(ant_fsx_write_atomic(fd, ANT_UPGRADE_STATE_FILE, bad_files[i],
                                      strlen(bad_files[i]), 0600));
        CHECK_ERR(state_load(fd, &back), ANT_ERR_PARSE);
        CHECK_STR(back.floor, "");
    }
    /* A symlink planted as the state file is refused, not followed. */
    CHECK(unlinkat(fd, ANT_UPGRADE_STATE_FILE, 0) == 0);
    CHECK(symlinkat("/etc/passwd", fd, ANT_UPGRADE_STATE_FILE) == 0);
    CHECK_ERR(state_load(fd, &back), ANT_ERR_UNSAFE_FILE);
    rm_tmp(fd);
}

/* The host-wide bad list beside the binary keeps its newest entries: marks appended after
 * 64 older ones (many rollbacks, or lines padded in by anyone who can write the binary's
 * directory) must still be seen, or another node sharing the binary retries a version that
 * already failed its trial here. */
static void test_host_bad_list_sees_newest_entries(void)
{
    int fd = make_tmp();
    CHECK(fd >= 0);
    struct ant_upgrade *u = calloc(1, sizeof *u);
    CHECK(u != NULL);
    if (u == NULL || fd < 0)
        return;
    CHECK(state_copy(u->binary_dir, sizeof u->binary_dir, tmpdir));
    CHECK(state_copy(u->binary_name, sizeof u->binary_name, "ant-node"));

    u->cfg.bad_version_backoff_ms = 86400000;
    u->cfg.bad_version_max_marks = 3;
    long long now = (long long)time(NULL);
    char text[16384];
    size_t off = 0;
    for (unsigned i = 1; i <= HOST_BAD_MAX; i++)
        off += (size_t)snprintf(text + off, sizeof text - off,
                                "0.0.%u\n#mark 0.0.%u %lld 1 trial-failed\n", i, i, now);
    off += (size_t)snprintf(text + off, sizeof text - off, "#mark 0.2.0 %lld 1 trial-failed\n",
                            now);
    /* A bare version (the format of earlier releases) is one mark of unknown time: its
     * backoff is over, so it no longer blocks. */
    off += (size_t)snprintf(text + off, sizeof text - off, "0.2.2\n");
    /* Malformed lines are skipped, never half-read. */
    off += (size_t)snprintf(text + off, sizeof text - off,
                            "#mark 0.2.3 %lldx 1 trial-failed\n#mark 0.2.4 %lld 0 trial-failed\n"
                            "#mark 0.2.5 %lld 1\n0.2.6 %lld 1 a b\n",
                            now, now, now, now);
    CHECK(off < sizeof text);
    CHECK_OK(ant_fsx_write_atomic(fd, "ant-node.bad-versions", text, off, 0644));
    /* 66 versions (the bare one too): the two oldest fall past the cap of 64. */
    CHECK(!engine_host_bad(u, "0.0.1"));
    CHECK(engine_host_bad(u, "0.0.3"));
    CHECK(engine_host_bad(u, "0.2.0"));
    CHECK(!engine_host_bad(u, "0.2.1"));
    CHECK(!engine_host_bad(u, "0.2.2"));
    for (unsigned i = 3; i <= 6; i++) {
        char v[16];
        snprintf(v, sizeof v, "0.2.%u", i);
        CHECK_MSG(!engine_host_bad(u, v), "malformed line of %s read as a mark", v);
    }

    /* Marking through the engine rewrites with the newest last; the new mark counts at once. */
    CHECK_OK(engine_host_mark_bad(u, "0.3.0", "trial-failed", NULL));
    CHECK(engine_host_bad(u, "0.3.0"));
    struct bad_mark list[HOST_BAD_MAX];
    size_t n = 0;
    CHECK_OK(engine_host_bad_list(u, list, HOST_BAD_MAX, &n));
    CHECK_INT(n, HOST_BAD_MAX);
    CHECK(n == HOST_BAD_MAX && strcmp(list[n - 1].version, "0.3.0") == 0);

    /* Earlier releases read the same file as bare version lines of at most 4 KiB: every
     * mark written now is one of those too, so a node rolled back to one still sees it. */
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(ant_fsx_read_capped(fd, "ant-node.bad-versions", 4096, &data, &len));
    bool bare = false;
    char *save = NULL;
    for (char *line = data != NULL ? strtok_r((char *)data, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        struct ant_semver v;
        bare = bare || (ant_semver_parse(line, &v) == ANT_OK && strcmp(line, "0.3.0") == 0);
    }
    CHECK(bare);
    free(data);
    free(u);
    rm_tmp(fd);
}

/* replace.lock guards the binary, so every process that may write the binary must take the
 * same lock whatever cache it uses: an operator's `upgrade apply` with another (or no)
 * cache dir racing the daemons could otherwise back up the already-new binary as .backup,
 * and a failing release could then never be rolled back. */
static void test_replace_lock_follows_the_binary_not_the_cache(void)
{
    int fd = make_tmp();
    CHECK(fd >= 0);
    struct ant_upgrade *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    CHECK(a != NULL && b != NULL);
    if (a == NULL || b == NULL || fd < 0) {
        free(a);
        free(b);
        return;
    }
    CHECK(mkdirat(fd, "cache-a", 0700) == 0 && mkdirat(fd, "bin", 0700) == 0);
    struct ant_upgrade *both[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        char dir[300];
        snprintf(dir, sizeof dir, "%s/bin", tmpdir);
        CHECK(state_copy(both[i]->binary_dir, sizeof both[i]->binary_dir, dir));
        CHECK(state_copy(both[i]->binary_name, sizeof both[i]->binary_name, "ant-node"));
        both[i]->cfg.lock_timeout_ms = 0;
    }
    a->cachefd = openat(fd, "cache-a", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    b->cachefd = -1; /* its cache dir was refused: it runs uncached */
    CHECK(a->cachefd >= 0);

    int la = -1, lb = -1;
    CHECK_OK(engine_replace_lock(a, &la));
    CHECK_ERR(engine_replace_lock(b, &lb), ANT_ERR_TIMEOUT);
    ant_fsx_unlock(lb);
    ant_fsx_unlock(la);
    CHECK_OK(engine_replace_lock(b, &lb));
    CHECK_ERR(engine_replace_lock(a, &la), ANT_ERR_TIMEOUT);
    ant_fsx_unlock(la);
    ant_fsx_unlock(lb);
    /* A binary name that cannot name a lock file still locks, in the cache. */
    CHECK(state_copy(a->binary_name, sizeof a->binary_name, "ant node"));
    CHECK_OK(engine_replace_lock(a, &la));
    ant_fsx_unlock(la);
    close(a->cachefd);
    free(a);
    free(b);
    rm_tmp(fd);
}


/*
 * Issue 13 item 9: the restart moment of a node was window × H(peer_id ‖ version), and the
 * peer id is public, so anyone could compute when a node would restart (and its trial
 * open). The engine now mixes a node-local secret into the in-window delay: across
 * releases its delays must not be the public ones, must differ between two nodes with the
 * same peer id, and must stay uniform over the window.
 */
static void test_delay_not_predictable_from_peer_id(void)
{
    int fd = make_tmp();
    CHECK(fd >= 0);
    char root[320];
    snprintf(root, sizeof root, "%s/rootA", tmpdir);
    struct ant_upgrade_config cfg;
    struct ant_upgrade *u = NULL, *u2 = NULL;
    char *argv[] = {(char *)"/bin/true", NULL};
    ant_upgrade_config_init(&cfg);
    cfg.root_dir = root;
    cfg.binary_path = "/bin/true";
    cfg.cache_dir = tmpdir;
    cfg.peer_id = "public-peer-id";
    cfg.running_version = "0.1.0";
    CHECK_OK(ant_upgrade_new(&cfg, 1, argv, &u));
    char root2[320];
    snprintf(root2, sizeof root2, "%s/rootB", tmpdir);
    cfg.root_dir = root2;
    CHECK_OK(ant_upgrade_new(&cfg, 1, argv, &u2));
    if (u == NULL || u2 == NULL) {
        ant_upgrade_free(u);
        ant_upgrade_free(u2);
        rm_tmp(fd);
        return;
    }
    const uint64_t window = 86400000;
    unsigned same_public = 0, same_sibling = 0;
    for (unsigned i = 0; i < 16; i++) {
        char v[32];
        snprintf(v, sizeof v, "0.%u.0", i + 2);
        /* The node's delay, as the engine schedules it. */
        struct upgrade_state st;
        bool changed = false;
        memset(&st, 0, sizeof st);
        CHECK_OK(rollout_schedule(&st, u->peer_id, u->secret, u->secret_len, v, window, 1000,
                                  ROLLOUT_WINDOW, &changed));
        uint64_t pub = 0, sib = 0;
        CHECK_OK(ant_upgrade_rollout_delay("public-peer-id", v, window, &pub));
        CHECK_OK(ant_upgrade_rollout_delay_keyed(u2->secret, u2->secret_len, u2->peer_id, v,
                                                 window, &sib));
        int64_t mine = st.pending.scheduled_at - st.pending.first_seen;
        CHECK(mine >= 0 && (uint64_t)mine < window / 1000);
        same_public += (int64_t)(pub / 1000) == mine;
        same_sibling += (int64_t)(sib / 1000) == mine;
    }
    /* A 1-in-86400 coincidence may happen once; a formula anyone can compute would match
     * all 16. */
    CHECK_MSG(same_public <= 1, "%u of 16 delays equal the public formula", same_public);
    CHECK_MSG(same_sibling <= 1, "%u of 16 delays equal another node's", same_sibling);
    ant_upgrade_free(u);
    ant_upgrade_free(u2);

    /* The secret: 32 bytes, 0600, and the same at the next start. */
    char path[400];
    snprintf(path, sizeof path, "%s/" ANT_UPGRADE_SECRET_FILE, root);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0777) == 0600 &&
          sb.st_size == ANT_UPGRADE_SECRET_BYTES);
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    uint8_t a[ANT_UPGRADE_SECRET_BYTES], b[ANT_UPGRADE_SECRET_BYTES];
    CHECK_OK(rollout_secret_load(rfd, a));
    CHECK_OK(rollout_secret_load(rfd, b));
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* One that others could read is replaced (its bytes may be known). */
    CHECK(chmod(path, 0644) == 0);
    CHECK_OK(rollout_secret_load(rfd, b));
    CHECK(memcmp(a, b, sizeof a) != 0);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    /* A damaged one too. */
    CHECK(truncate(path, 5) == 0);
    CHECK_OK(rollout_secret_load(rfd, a));
    CHECK(stat(path, &sb) == 0 && sb.st_size == ANT_UPGRADE_SECRET_BYTES);
    close(rfd);
    rm_tmp(fd);
}

/* Keyed delays are as uniform over the window as the public ones (1000 secrets). */
static void test_keyed_delay_uniform_chi_square(void)
{
    enum { N = 1000, BINS = 12 };
    const uint64_t window = 12 * 3600;
    unsigned bins[BINS] = {0};
    for (unsigned i = 0; i < N; i++) {
        uint8_t secret[ANT_UPGRADE_SECRET_BYTES];
        char seed[32];
        snprintf(seed, sizeof seed, "secret-%u", i);
        CHECK_OK(ant_sha256(secret, seed, strlen(seed)));
        uint64_t d = UINT64_MAX;
        CHECK_OK(ant_upgrade_rollout_delay_keyed(secret, sizeof secret, "same-peer", "0.2.0",
                                                 window, &d));
        CHECK(d < window);
        bins[d * BINS / window]++;
    }
    double expected = (double)N / BINS, chi2 = 0;
    for (unsigned b = 0; b < BINS; b++) {
        double diff = bins[b] - expected;
        chi2 += diff * diff / expected;
    }
    fprintf(stderr, "  keyed chi-square over %d bins: %.2f (critical 24.725)\n", BINS, chi2);
    CHECK(chi2 < 24.725);
    uint64_t d = 0;
    CHECK_ERR(ant_upgrade_rollout_delay_keyed(NULL, 32, "p", "0.2.0", 10, &d),
              ANT_ERR_INVALID_ARG);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_delay_uniform_chi_square),
    ANT_TEST(test_delay_properties),
    ANT_TEST(test_schedule_survives_restart),
    ANT_TEST(test_schedule_from_candidacy),
    ANT_TEST(test_state_roundtrip_and_rejects),
    ANT_TEST(test_host_bad_list_sees_newest_entries),
    ANT_TEST(test_delay_not_predictable_from_peer_id),
    ANT_TEST(test_keyed_delay_uniform_chi_square),
    ANT_TEST(test_replace_lock_follows_the_binary_not_the_cache),
};

ANT_TEST_MAIN(cases)
