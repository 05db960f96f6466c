/*
 * Restart, trial boot and rollback (ARCHITECTURE.md §5 steps 10-11) and the anti-rollback floor
 * (§3), with real processes and a supervisor loop standing in for systemd's
 * Restart=always: a release that dies at start is rolled back after 3 attempts and never
 * retried; a healthy one is confirmed and raises the floor, below which nothing installs
 * again; standalone nodes spawn the on-disk binary, never their own deleted inode.
 */
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/upgrade.h"
#include "harness.h"
#include "test.h"

static void check_version(const char *path, const char *want)
{
    char got[64] = "";
    CHECK_MSG(binary_version(path, got, sizeof got) == 0 && strcmp(got, want) == 0,
              "%s reports '%s', want '%s'", path, got, want);
}

/* Reads a string field of node n's upgrade_state.json ("floor") into buf. */
static void state_field(struct world *w, unsigned n, const char *key, char *buf, size_t cap)
{
    char root[400], path[450];
    world_root(w, n, root, sizeof root);
    snprintf(path, sizeof path, "%s/upgrade_state.json", root);
    buf[0] = '\0';
    json_object *st = json_object_from_file(path), *v = NULL;
    if (st != NULL && json_object_object_get_ex(st, key, &v))
        snprintf(buf, cap, "%s", json_object_get_string(v));
    json_object_put(st);
}

/* The pid a spawned (not our child) node logged as `Node started version=<v> pid=`, waiting
 * up to 4 s for it; 0 if it never came up. */
static long started_pid(struct world *w, unsigned n, const char *version)
{
    char needle[96], logp[400], line[512];
    snprintf(needle, sizeof needle, "Node started version=%s pid=", version);
    world_log(w, n, logp, sizeof logp);
    for (int tries = 0; tries < 200; tries++) {
        long pid = 0;
        FILE *f = fopen(logp, "r");
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            const char *p = strstr(line, needle);
            if (p != NULL)
                pid = strtol(p + strlen(needle), NULL, 10);
        }
        if (f != NULL)
            fclose(f);
        if (pid > 0)
            return pid;
        usleep(20000);
    }
    return 0;
}

static const char *const service[] = {"--stop-on-upgrade", "--window-ms", "0", "--check-ms",
                                      "600000", "--trial-ms", "400", "--run-ms", "1500", NULL};

static void test_failing_release_rolled_back_never_retried(void)
{
    struct world w;
    char path[200];
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2FAIL, NULL) == 0);

    /* Supervisor: restart on every exit, like Restart=always, 6 starts. */
    int codes[6];
    for (int i = 0; i < 6; i++)
        codes[i] = world_run(&w, w.binary, "run", 0, service, NULL, 20000);
    CHECK_INT(codes[0], 75); /* 0.1.0 installed 0.2.0 and asked to be restarted */
    CHECK_INT(codes[1], 1);  /* 0.2.0 dies at start: attempts 1, 2, 3 */
    CHECK_INT(codes[2], 1);
    CHECK_INT(codes[3], 1);
    CHECK_INT(codes[4], 75); /* 4th start: rollback to .backup, restart */
    CHECK_INT(codes[5], 0);  /* 0.1.0 runs again, finds nothing to install */
    check_version(w.binary, "0.1.0");
    CHECK_INT(world_log_count(&w, 0, "Trial boot started version=0.2.0 attempt=1"), 1);
    CHECK_INT(world_log_count(&w, 0, "Trial boot started version=0.2.0 attempt=3"), 1);
    CHECK_INT(world_log_count(&w, 0, "Trial boot started version=0.2.0 attempt=4"), 0);
    CHECK_INT(world_log_count(&w, 0, "Rolling back failed upgrade version=0.2.0 attempts=3"), 1);
    CHECK_INT(world_log_count(&w, 0, "Upgrade state state=restarting-0.1.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Trial boot confirmed"), 0);
    /* The bad version is remembered by the node and beside the shared binary. */
    CHECK(sh("grep -q '\"0.2.0\"' '%s/node0/upgrade_state.json'", w.dir) == 0);
    CHECK(sh("grep -qx '0.2.0' '%s.bad-versions'", w.binary) == 0);
    CHECK(sh("grep -q '^#mark 0.2.0 [0-9]* 1 trial-failed$' '%s.bad-versions'", w.binary) == 0);
    CHECK_INT(world_log_count(&w, 0, "Version marked bad version=0.2.0 reason=trial-failed "
                                     "attempts=3 marks=1 max_marks=3 retry_at="), 1);
    /* The floor stays at the highest version ever installed; the bad mark keeps it out. */
    char floor[64], confirmed[64];
    state_field(&w, 0, "floor", floor, sizeof floor);
    state_field(&w, 0, "confirmed", confirmed, sizeof confirmed);
    CHECK_STR(floor, "0.2.0");
    CHECK_STR(confirmed, "0.1.0");

    /* Never retried: further checks (a fresh release list too) install nothing, and a
     * second node sharing the binary does not install it either. */
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 0);
    CHECK_INT(world_run(&w, w.binary, "run", 1, service, NULL, 20000), 0);
    check_version(w.binary, "0.1.0");
    CHECK_INT(world_log_count(&w, ~0u, "Replacing binary..."), 1);
    CHECK_INT(world_log_count(&w, 1, "Upgrade available"), 0);
    world_archive_path(path, sizeof path, "0.2.0");
    CHECK_INT(world_count(&w, path), 1);

    /* Anti-rollback after a rollback: 0.1.5 is above the running 0.1.0 but below the
     * highest version this node ever installed (0.2.0), so node 0 does not take it; node 1,
     * which never installed anything above 0.1.0, does. */
    CHECK(world_publish(&w, "0.1.5", FAKE_V15, NULL) == 0);
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 0);
    CHECK_INT(world_log_count(&w, 0, "Upgrade available version=0.1.5"), 0);
    check_version(w.binary, "0.1.0");
    CHECK_INT(world_run(&w, w.binary, "run", 1, service, NULL, 20000), 75);
    CHECK_INT(world_log_count(&w, 1, "Replacing binary... version=0.1.5"), 1);
    check_version(w.binary, "0.1.5");
    world_free(&w);
}


/*
 * Issue 13 item 2: three kills of a node in its trial (a peer could cause them) marked a
 * good release bad for good, host-wide. Now the mark expires after a backoff and the
 * version is tried again; a retry that fails again adds a mark, and at max_marks it stays
 * out until an operator clears it. `upgrade status` says why at every step.
 */
static void test_bad_mark_expires_retried_then_permanent(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2FAIL, NULL) == 0);
    static const char *const svc[] = {"--stop-on-upgrade", "--window-ms", "0", "--check-ms",
                                      "600000", "--trial-ms", "400", "--run-ms", "600",
                                      "--bad-backoff-ms", "2000", "--bad-max-marks", "2", NULL};
    /* install, 3 failed starts, rollback: one episode. */
    static const int episode[] = {75, 1, 1, 1, 75};
    for (int round = 1; round <= 2; round++) {
        for (size_t i = 0; i < sizeof episode / sizeof episode[0]; i++)
            CHECK_INT(world_run(&w, w.binary, "run", 0, svc, NULL, 20000), episode[i]);
        check_version(w.binary, "0.1.0");
        /* Still blocked right after the rollback. */
        CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
        CHECK_INT(world_run(&w, w.binary, "run", 0, svc, NULL, 20000), 0);
        check_version(w.binary, "0.1.0");
        if (round == 1) {
            CHECK_INT(world_log_count(&w, 0, "Version marked bad version=0.2.0 "
                                             "reason=trial-failed attempts=3 marks=1 "
                                             "max_marks=2 retry_at="), 1);
            sleep(3); /* the 2 s backoff of the first mark */
            CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
        }
    }
    CHECK_INT(world_log_count(&w, 0, "Trial boot started version=0.2.0 attempt=1"), 2);
    CHECK_INT(world_log_count(&w, 0, "Version marked bad version=0.2.0 reason=trial-failed "
                                     "attempts=3 marks=2 max_marks=2 retry_at=never"), 1);
    /* Permanent now: well past any backoff, nothing is installed. */
    sleep(5);
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, svc, NULL, 20000), 0);
    check_version(w.binary, "0.1.0");
    CHECK_INT(world_log_count(&w, 0, "Replacing binary... version=0.2.0"), 2);

    /* The operator sees why, and clears it. */
    char root[400];
    world_root(&w, 0, root, sizeof root);
    struct ant_upgrade_config cfg;
    struct ant_upgrade *u = NULL;
    char *argv[] = {w.binary, NULL};
    ant_upgrade_config_init(&cfg);
    cfg.root_dir = root;
    cfg.binary_path = w.binary;
    cfg.cache_dir = w.cache;
    cfg.peer_id = "operator";
    cfg.running_version = "0.1.0";
    cfg.bad_version_backoff_ms = 2000;
    cfg.bad_version_max_marks = 2;
    CHECK_OK(ant_upgrade_new(&cfg, 1, argv, &u));
    char *text = NULL;
    if (u != NULL)
        CHECK_OK(ant_upgrade_status(u, false, &text));
    CHECK_MSG(text != NULL && strstr(text, "bad_version: 0.2.0 scope=node reason=trial-failed "
                                           "marks=2/2 ") != NULL &&
                  strstr(text, "retry_at=never blocked=yes") != NULL,
              "status: %s", text != NULL ? text : "(none)");
    free(text);
    text = NULL;
    if (u != NULL)
        CHECK_OK(ant_upgrade_status(u, true, &text));
    CHECK_MSG(text != NULL && strstr(text, "\"bad_versions\":[{\"version\":\"0.2.0\","
                                           "\"scope\":\"node\",\"reason\":\"trial-failed\","
                                           "\"marks\":2,\"max_marks\":2") != NULL &&
                  strstr(text, "\"retry_at\":-1,\"blocked\":true") != NULL,
              "status --json: %s", text != NULL ? text : "(none)");
    free(text);
    text = NULL;
    if (u != NULL) {
        CHECK_OK(ant_upgrade_clear_bad(u, "0.2.0"));
        CHECK_ERR(ant_upgrade_clear_bad(u, "0.2.0"), ANT_ERR_NOT_FOUND);
        CHECK_OK(ant_upgrade_status(u, false, &text));
    }
    CHECK(text != NULL && strstr(text, "bad_version:") == NULL);
    free(text);
    ant_upgrade_free(u);
    world_free(&w);
}


/*
 * Issue 13 item 8: on rollback `<binary>.backup` was restored and run without looking at
 * who can write the binary's directory, so anyone who could write there chose what the
 * node ran next. The directory must pass the cache dir's rules (owner = euid or root, no
 * group/other write) and the backup must be a regular file of ours, not writable by
 * others; otherwise the rollback is refused and logged.
 */
static void test_unsafe_binary_dir_blocks_rollback(void)
{
    struct world w;
    char backup[400];
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2FAIL, NULL) == 0);
    snprintf(backup, sizeof backup, "%s.backup", w.binary);
    static const int episode[] = {75, 1, 1, 1};
    for (size_t i = 0; i < sizeof episode / sizeof episode[0]; i++)
        CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), episode[i]);

    /* A world-writable binary dir (another user could have planted .backup). */
    CHECK(sh("chmod 0777 '%s'", w.bin) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 1);
    check_version(w.binary, "0.2.0");
    CHECK_INT(world_log_count(&w, 0, "Binary directory unsafe, not restoring backup"), 1);
    CHECK_INT(world_log_count(&w, 0, "Rolling back failed upgrade"), 0);

    /* Group-writable: refused too. */
    CHECK(sh("chmod 0770 '%s'", w.bin) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 1);
    CHECK_INT(world_log_count(&w, 0, "Binary directory unsafe, not restoring backup"), 2);

    /* A safe dir but a backup others may write, then a backup that is a symlink. */
    CHECK(sh("chmod 0755 '%s' && chmod 0666 '%s'", w.bin, backup) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 1);
    CHECK_INT(world_log_count(&w, 0, "Backup binary unsafe, not restoring it"), 1);
    CHECK(sh("mv '%s' '%s.real' && chmod 0755 '%s.real' && ln -s '%s.real' '%s'", backup, backup,
             backup, backup, backup) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 1);
    CHECK_INT(world_log_count(&w, 0, "Backup binary unsafe, not restoring it"), 2);
    check_version(w.binary, "0.2.0");

    /* Once both are safe again the rollback happens. */
    CHECK(sh("rm '%s' && mv '%s.real' '%s'", backup, backup, backup) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 75);
    check_version(w.binary, "0.1.0");
    CHECK_INT(world_log_count(&w, 0, "Rolling back failed upgrade version=0.2.0"), 1);
    world_free(&w);
}

static void test_healthy_release_confirmed_and_floor_holds(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 75);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 0);
    CHECK_INT(world_log_count(&w, 0, "Trial boot started version=0.2.0 attempt=1"), 1);
    CHECK_INT(world_log_count(&w, 0, "Trial boot confirmed version=0.2.0"), 1);
    /* The state the node's STATUS would show moved along. */
    CHECK_INT(world_log_count(&w, 0, "Upgrade state state=applying-0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Upgrade state state=restarting-0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Upgrade state state=trial-0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Upgrade state state=idle"), 1);
    char floor[64], confirmed[64];
    state_field(&w, 0, "floor", floor, sizeof floor);
    state_field(&w, 0, "confirmed", confirmed, sizeof confirmed);
    CHECK_STR(floor, "0.2.0");
    CHECK_STR(confirmed, "0.2.0");

    /* A later start of the confirmed version is no trial. */
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 0);
    CHECK_INT(world_log_count(&w, 0, "Trial boot started"), 1);

    /* Floor: the operator puts 0.1.0 back by hand; only 0.1.5 (above running, below the
     * floor) is listed now, and it must not install. */
    CHECK(sh("cp '%s' '%s'", FAKE_V1, w.binary) == 0);
    CHECK(sh("sed -i '/^0.2.0$/d' '%s/published'", w.dir) == 0);
    CHECK(world_publish(&w, "0.1.5", FAKE_V15, NULL) == 0);
    CHECK(sh("rm -f '%s/releases.json'", w.cache) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 0);
    check_version(w.binary, "0.1.0");
    CHECK_INT(world_log_count(&w, 0, "Running below the upgrade floor version=0.1.0 floor=0.2.0"), 1);
    CHECK_INT(world_log_count(&w, 0, "Upgrade available version=0.1.5"), 0);
    world_free(&w);
}

/* Standalone mode: two nodes share one binary; node 0 replaces it, node 1 (now running a
 * deleted inode) restarts too. Both spawn the on-disk path, so both children run 0.2.0 from
 * a live file. */
static void test_standalone_spawns_on_disk_binary(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    const char *standalone[] = {"--window-ms", "0", "--check-ms", "600000", "--trial-ms",
                                "60000", "--run-ms", "3000", NULL};
    pid_t a = world_spawn(&w, w.binary, "run", 0, standalone, NULL);
    pid_t b = world_spawn(&w, w.binary, "run", 1, standalone, NULL);
    CHECK_INT(world_wait(a, 20000), 0);
    CHECK_INT(world_wait(b, 20000), 0);
    CHECK_INT(world_log_count(&w, ~0u, "Restarting into new binary version=0.2.0 mode=spawn"), 2);

    /* The children are not ours: find them through their log lines and look at
     * /proc/<pid>/exe while they run. */
    for (unsigned n = 0; n < 2; n++) {
        long pid = started_pid(&w, n, "0.2.0");
        CHECK_MSG(pid > 0, "node %u did not come back as 0.2.0", n);
        if (pid <= 0)
            continue;
        char proc[64], exe[512] = "";
        snprintf(proc, sizeof proc, "/proc/%ld/exe", pid);
        ssize_t len = readlink(proc, exe, sizeof exe - 1);
        if (len > 0)
            exe[len] = '\0';
        CHECK_STR(exe, w.binary);
        CHECK(strstr(exe, "(deleted)") == NULL);
        kill((pid_t)pid, SIGTERM);
    }
    usleep(200000);
    world_free(&w);
}

/* Started from a binary that was replaced before the engine looked: /proc/self/exe ends in
 * " (deleted)". The engine strips that, so the later restart spawns the live file. */
static void test_deleted_exe_resolved_to_live_path(void)
{
    struct world w;
    char env[512];
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    snprintf(env, sizeof env, "FAKE_SELF_REPLACE=%s", FAKE_V15);
    const char *envs[] = {env, NULL};
    const char *args[] = {"--window-ms", "0", "--check-ms", "600000", "--trial-ms", "60000",
                          "--run-ms", "2000", NULL};
    CHECK_INT(world_run(&w, w.binary, "run", 0, args, envs, 20000), 0);
    char want[512];
    snprintf(want, sizeof want, "Own binary was replaced since start path=%s", w.binary);
    CHECK_INT(world_log_count(&w, 0, want), 1);
    /* The on-disk 0.1.5 was replaced by 0.2.0 and that file was spawned. */
    snprintf(want, sizeof want, "Spawned new binary path=%s ", w.binary);
    CHECK_INT(world_log_count(&w, 0, want), 1);
    long pid = started_pid(&w, 0, "0.2.0");
    CHECK(pid > 0);
    CHECK_INT(world_log_count(&w, 0, "(deleted)"), 0);
    if (pid > 0)
        kill((pid_t)pid, SIGTERM);
    usleep(100000);
    world_free(&w);
}

/* A rollback returns to the version the trial started from, never below it: a stale
 * .backup older than the confirmed version (left by an earlier upgrade, then a binary
 * installed by hand) must not be restored, or a release that fails its trial would take
 * the node below the version it had confirmed and, with the floor raised, keep it there. */
static void test_rollback_never_below_confirmed(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.1.5", FAKE_V15, NULL) == 0);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 75);
    CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 0);
    CHECK_INT(world_log_count(&w, 0, "Trial boot confirmed version=0.1.5"), 1);
    check_version(w.binary, "0.1.5"); /* .backup is 0.1.0 */

    /* The operator installs a 0.2.0 that dies at start by hand; .backup stays 0.1.0. */
    CHECK(sh("cp '%s' '%s'", FAKE_V2FAIL, w.binary) == 0);
    for (int i = 0; i < 4; i++)
        CHECK_INT(world_run(&w, w.binary, "run", 0, service, NULL, 20000), 1);
    CHECK_INT(world_log_count(&w, 0, "Trial boot started version=0.2.0 attempt=3"), 1);
    CHECK_INT(world_log_count(&w, 0, "Rolling back failed upgrade"), 0);
    CHECK_INT(world_log_count(&w, 0, "stage=rollback"), 1);
    check_version(w.binary, "0.2.0");
    world_free(&w);
}

/* A fleet-wide rollback leaves the other nodes on the host running an unlinked inode: node 1
 * scheduled 0.2.0 far in its rollout window, node 0 installed it, failed 3 trial starts and
 * restored .backup (a new file). Node 1 never took 0.2.0 (now marked bad beside the binary),
 * so nothing would restart it; at its next own check it must see that its exe is deleted
 * and that the on-disk binary is exactly its version, and restart onto it, once. While the
 * on-disk binary was the failing 0.2.0 (another version) it must not have restarted. */
static void test_rollback_restarts_nodes_on_deleted_inode(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2FAIL, NULL) == 0);
    const char *waiter[] = {"--stop-on-upgrade", "--window-ms", "1000000000000", "--check-ms",
                            "600", "--trial-ms", "400", "--run-ms", "10000", NULL};
    pid_t b = world_spawn(&w, w.binary, "run", 1, waiter, NULL);
    CHECK(b > 0);
    /* Let node 1 schedule 0.2.0 before node 0 installs it. */
    for (int i = 0; i < 200 && world_log_count(&w, 1, "Upgrade scheduled version=0.2.0") == 0; i++)
        usleep(20000);
    CHECK_INT(world_log_count(&w, 1, "Upgrade scheduled version=0.2.0"), 1);
    int codes[5];
    for (int i = 0; i < 5; i++)
        codes[i] = world_run(&w, w.binary, "run", 0, service, NULL, 20000);
    CHECK_INT(codes[0], 75);
    CHECK_INT(codes[4], 75);
    CHECK_INT(world_log_count(&w, 0, "Rolling back failed upgrade version=0.2.0"), 1);
    check_version(w.binary, "0.1.0");

    /* Node 1 restarts by itself, long before its --run-ms. */
    CHECK_INT(world_wait(b, 12000), 75);
    CHECK_INT(world_log_count(&w, 1,
                              "Restarting onto the on-disk binary reason=deleted-exe version=0.1.0"),
              1);
    CHECK_INT(world_log_count(&w, 1, "Restarting into new binary version=0.1.0 mode=exit75"), 1);
    CHECK_INT(world_log_count(&w, 1, "Replacing binary..."), 0);

    /* Started again from the live file, it has no reason to restart. */
    const char *again[] = {"--stop-on-upgrade", "--window-ms", "1000000000000", "--check-ms",
                           "300", "--trial-ms", "400", "--run-ms", "1500", NULL};
    CHECK_INT(world_run(&w, w.binary, "run", 1, again, NULL, 20000), 0);
    CHECK_INT(world_log_count(&w, 1, "Restarting onto the on-disk binary"), 1);
    world_free(&w);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_deleted_exe_resolved_to_live_path),
    ANT_TEST(test_failing_release_rolled_back_never_retried),
    ANT_TEST(test_bad_mark_expires_retried_then_permanent),
    ANT_TEST(test_unsafe_binary_dir_blocks_rollback),
    ANT_TEST(test_healthy_release_confirmed_and_floor_holds),
    ANT_TEST(test_rollback_never_below_confirmed),
    ANT_TEST(test_rollback_restarts_nodes_on_deleted_inode),
    ANT_TEST(test_standalone_spawns_on_disk_binary),
};

ANT_TEST_MAIN(cases)
