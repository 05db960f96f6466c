/*
 * The devnet supervisor's service-manager side (src/devnet/svcmgr.h) with real forked
 * processes standing in for nodes and the node's own sd_notify client (ant/sysd.h): a start
 * that never sends READY is killed at the start timeout (the hanging release), a READY node
 * that stops pinging is killed at the watchdog, a READY sent by another process is not
 * credited to the node (NotifyAccess=main), and a listener stored with FDSTORE=1 reaches the
 * slot's next process as fd 3 through LISTEN_FDS, until FDSTOREREMOVE drops it.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/sysd.h"
#include "devnet/svcmgr.h"
#include "test.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static char dir[64], sock[128];

static struct dn_svcmgr *open_mgr(void)
{
    struct dn_svcmgr *m = NULL;
    snprintf(dir, sizeof dir, "/tmp/ant-svcmgr-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(sock, sizeof sock, "%s/notify.sock", dir);
    CHECK_OK(dn_svcmgr_open(sock, 2, 0.6, 0.5, &m));
    return m;
}

static void close_mgr(struct dn_svcmgr *m)
{
    dn_svcmgr_close(m);
    CHECK(access(sock, F_OK) != 0);
    rmdir(dir);
}

/* Forks a "node" for slot 0 running `body` after the manager's child setup. */
static pid_t start(struct dn_svcmgr *m, unsigned slot, int (*body)(void))
{
    struct dn_svcmgr_env env;
    CHECK_OK(dn_svcmgr_env_build(m, slot, &env));
    pid_t pid = fork();
    if (pid == 0) {
        dn_svcmgr_child(m, slot, &env);
        _exit(body());
    }
    dn_svcmgr_env_free(&env);
    dn_svcmgr_started(m, slot, pid, now_s());
    return pid;
}

/* Polls until `pid` exits (or timeout_s); returns its wait status, -1 on timeout. */
static int run_until_exit(struct dn_svcmgr *m, unsigned slot, pid_t pid, double timeout_s)
{
    double end = now_s() + timeout_s;
    int st;
    while (now_s() < end) {
        dn_svcmgr_poll(m, now_s());
        if (waitpid(pid, &st, WNOHANG) == pid) {
            dn_svcmgr_exited(m, slot);
            return st;
        }
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    dn_svcmgr_exited(m, slot);
    return -1;
}

static int hang_body(void)
{
    pause();
    return 0;
}

static void test_start_timeout_kills_a_hang(void)
{
    struct dn_svcmgr *m = open_mgr();
    double t0 = now_s();
    pid_t pid = start(m, 0, hang_body);
    /* Someone else's READY=1 (this process) is not the node's. */
    CHECK(setenv("NOTIFY_SOCKET", sock, 1) == 0);
    CHECK_OK(ant_sysd_notify("READY=1"));
    unsetenv("NOTIFY_SOCKET");
    int st = run_until_exit(m, 0, pid, 5.0);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    CHECK(now_s() - t0 >= 0.6);
    CHECK_INT(dn_svcmgr_timeouts(m, 0), 1);
    CHECK(!dn_svcmgr_ready(m, 0));
    CHECK_INT(dn_svcmgr_timeouts(m, 1), 0);
    close_mgr(m);
}

/* READY, five pings 100 ms apart, then silence. Exits 3 if the environment is wrong. */
static int ready_then_silent_body(void)
{
    uint64_t us = 0;
    if (ant_sysd_watchdog_usec(&us) != ANT_OK || us != 500000)
        return 3;
    if (ant_sysd_notify("READY=1\nSTATUS=up") != ANT_OK)
        return 4;
    for (int i = 0; i < 5; i++) {
        sleep_ms(100);
        if (ant_sysd_notify("WATCHDOG=1") != ANT_OK)
            return 5;
    }
    pause();
    return 0;
}

static void test_watchdog_kills_a_silent_node(void)
{
    struct dn_svcmgr *m = open_mgr();
    pid_t pid = start(m, 0, ready_then_silent_body);
    double t0 = now_s();
    bool seen_ready = false, alive_while_pinging = true;
    int st = -1;
    while (now_s() - t0 < 5.0) {
        dn_svcmgr_poll(m, now_s());
        seen_ready |= dn_svcmgr_ready(m, 0);
        if (waitpid(pid, &st, WNOHANG) == pid) {
            dn_svcmgr_exited(m, 0);
            break;
        }
        /* Pinging for 0.5 s past the 0.6 s start timeout: READY stopped that clock. */
        if (now_s() - t0 < 0.65 && dn_svcmgr_timeouts(m, 0) > 0)
            alive_while_pinging = false;
        st = -1;
        sleep_ms(20);
    }
    CHECK(seen_ready);
    CHECK(alive_while_pinging);
    CHECK_MSG(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d", st);
    CHECK(now_s() - t0 >= 1.0); /* last ping at ~0.5 s + 0.5 s watchdog */
    CHECK_INT(dn_svcmgr_timeouts(m, 0), 1);
    if (st == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    close_mgr(m);
}

/* Binds a listener on loopback, stores it, says READY, exits. */
static int store_listener_body(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 8) != 0)
        return 3;
    if (ant_sysd_notify("READY=1") != ANT_OK || ant_sysd_fdstore(fd, "listener") != ANT_OK)
        return 4;
    return 0;
}

/* Fails with 3..5 unless fd 3 arrived as "listener" through LISTEN_FDS and is a listener;
 * then drops it from the store and waits to be stopped. */
static int expect_listener_body(void)
{
    struct ant_sysd_fd fds[4];
    size_t n = 0;
    int acc = 0;
    socklen_t len = sizeof acc;
    if (ant_sysd_listen_fds(fds, 4, &n) != ANT_OK || n != 1 || fds[0].fd != 3 ||
        strcmp(fds[0].name, "listener") != 0)
        return 3;
    if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) != 0 || acc != 1)
        return 4;
    if (ant_sysd_fdstore_remove("listener") != ANT_OK)
        return 5;
    pause();
    return 0;
}

static int expect_nothing_body(void)
{
    struct ant_sysd_fd fds[4];
    size_t n = 0;
    return ant_sysd_listen_fds(fds, 4, &n) == ANT_ERR_NOT_FOUND ? 0 : 3;
}

static void test_fd_store_across_restarts(void)
{
    struct dn_svcmgr *m = open_mgr();
    pid_t pid = start(m, 0, store_listener_body);
    int st = run_until_exit(m, 0, pid, 5.0);
    /* The last datagrams may land after the exit: one more poll reads them. */
    dn_svcmgr_poll(m, now_s());
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(dn_svcmgr_has_listener(m, 0));
    CHECK(!dn_svcmgr_has_listener(m, 1));

    pid = start(m, 0, expect_listener_body);
    double end = now_s() + 5.0;
    while (dn_svcmgr_has_listener(m, 0) && now_s() < end &&
           waitpid(pid, &st, WNOHANG) == 0) {
        dn_svcmgr_poll(m, now_s());
        sleep_ms(20);
    }
    /* Dropped on the live process's FDSTOREREMOVE (it checked fd 3 first). */
    CHECK(!dn_svcmgr_has_listener(m, 0));
    kill(pid, SIGTERM);
    st = run_until_exit(m, 0, pid, 5.0);
    CHECK_MSG(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %d", st);
    /* Slot 1 never stored anything and gets nothing. */
    pid = start(m, 1, expect_nothing_body);
    st = run_until_exit(m, 1, pid, 5.0);
    CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close_mgr(m);
}

/*
 * Another thread changes the environment (the supervisor has its fleet page thread, and a
 * library may call setenv) while the manager forks nodes. A child that calls setenv after
 * fork can find the environment's lock held by a thread that no longer exists in it and
 * hang forever, so the node never starts: the child's environment must be built before
 * fork. Each child here gets 20 s (valgrind is slow to fork) to reach exec-time; a hung
 * one (it would wait forever) fails the test.
 */
static atomic_bool churn_stop;
static pthread_mutex_t churn_mu = PTHREAD_MUTEX_INITIALIZER;

static void *churn_main(void *arg)
{
    (void)arg;
    char v[32];
    for (unsigned i = 0; !atomic_load(&churn_stop); i++) {
        snprintf(v, sizeof v, "%u", i);
        pthread_mutex_lock(&churn_mu);
        setenv("ANT_TEST_CHURN", v, 1);
        unsetenv("ANT_TEST_CHURN_B");
        pthread_mutex_unlock(&churn_mu);
    }
    return NULL;
}

static void test_child_setup_safe_with_other_threads(void)
{
    struct dn_svcmgr *m = open_mgr();
    pthread_t t;
    unsigned hung = 0, bad = 0;
    atomic_store(&churn_stop, false);
    CHECK(pthread_create(&t, NULL, churn_main, NULL) == 0);
    for (int k = 0; k < 300 && hung == 0; k++) {
        /* Built while the churn pauses: reading the environment in the parent while a
         * thread rewrites it would be the test's own race, not the one under test. */
        struct dn_svcmgr_env env;
        pthread_mutex_lock(&churn_mu);
        ant_err be = dn_svcmgr_env_build(m, 0, &env);
        pthread_mutex_unlock(&churn_mu);
        CHECK_OK(be);
        if (be != ANT_OK)
            break;
        pid_t pid = fork();
        if (pid == 0) {
            dn_svcmgr_child(m, 0, &env);
            const char *ns = getenv("NOTIFY_SOCKET");
            _exit(ns != NULL && strcmp(ns, sock) == 0 ? 0 : 3);
        }
        dn_svcmgr_env_free(&env);
        CHECK(pid > 0);
        if (pid <= 0)
            break;
        int st = 0;
        double end = now_s() + 20.0;
        pid_t r = 0;
        while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now_s() < end)
            sleep_ms(1);
        if (r == 0) {
            hung++;
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            bad++;
        }
    }
    atomic_store(&churn_stop, true);
    pthread_join(t, NULL);
    unsetenv("ANT_TEST_CHURN");
    CHECK_MSG(hung == 0, "%u child(ren) hung in their environment setup", hung);
    CHECK_INT(bad, 0);
    close_mgr(m);
}

static void test_open_refuses_bad_paths(void)
{
    struct dn_svcmgr *m = NULL;
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    CHECK_ERR(dn_svcmgr_open(longpath, 1, 1, 1, &m), ANT_ERR_INVALID_ARG);
    CHECK_ERR(dn_svcmgr_open("relative.sock", 1, 1, 1, &m), ANT_ERR_INVALID_ARG);
    CHECK_ERR(dn_svcmgr_open("/tmp/x.sock", 0, 1, 1, &m), ANT_ERR_INVALID_ARG);
    CHECK(m == NULL);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_start_timeout_kills_a_hang),
    ANT_TEST(test_watchdog_kills_a_silent_node),
    ANT_TEST(test_fd_store_across_restarts),
    ANT_TEST(test_open_refuses_bad_paths),
    ANT_TEST(test_child_setup_safe_with_other_threads),
};

ANT_TEST_MAIN(tests)
