/*
 * The trial health probe of ant/node_service.h in-process, against a real node: false
 * before READY, true once the node answers a PING on its own port (wildcard listeners
 * probed on loopback), still true when peers hold every connection slot (the node admits
 * its own probe past the limits), false when what the probe reaches accepts but never
 * answers, and after ANT_NODE_SERVICE_TRIAL_PROBES such failures a node
 * run for a service manager asks to exit with ANT_NODE_SERVICE_EXIT_UNHEALTHY, so the hang
 * is counted as a failed trial attempt; a standalone node keeps running. The heartbeat the
 * watchdog reports stops while the node cannot serve although its acceptor still turns
 * (every worker stuck in a store that another process holds locked), and resumes after.
 */
#include <arpa/inet.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/node.h"
#include "ant/node_client.h"
#include "ant/node_config.h"
#include "ant/node_proto.h"
#include "ant/node_service.h"
#include "ant/node_store.h"
#include "test.h"

static void rm_rf(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  cleanup of %s failed\n", dir);
}

static void base_config(struct ant_node_config *cfg, const char *root, const char *listen)
{
    ant_node_config_defaults(cfg, NULL);
    CHECK_OK(ant_node_config_set(cfg, "root-dir", root, ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(cfg, "map-size", "64MiB", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(cfg, "listen", listen, ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(cfg, "workers", "1", ANT_NODE_CONFIG_CLI, NULL, 0));
}

/* Returns the code ant_node_wait gives when woken by an already readable fd: the exit
 * code asked for earlier, or 0 if none was. */
static int pending_exit_code(struct ant_node *node)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    if (write(p[1], "x", 1) != 1)
        return -1;
    int code = ant_node_wait(node, p[0]);
    close(p[0]);
    close(p[1]);
    return code;
}

static void test_healthy_node(void)
{
    char dir[] = "/tmp/ant-svcu-XXXXXX", root[64];
    struct ant_node_config cfg;
    struct ant_node_service *svc = NULL;
    struct ant_node *node = NULL;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(root, sizeof root, "%s/root", dir);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("LISTEN_FDS");
    unsetenv("WATCHDOG_USEC");
    base_config(&cfg, root, "0.0.0.0:0");
    CHECK_OK(ant_node_service_new(&cfg, &svc));
    CHECK(!ant_node_service_healthy(svc)); /* not ready yet */
    CHECK_INT(ant_node_service_take_listener(svc), -1);
    CHECK_OK(ant_node_start(&cfg, &node));
    if (node != NULL) {
        CHECK_OK(ant_node_service_ready(svc, node));
        CHECK(ant_node_service_healthy(svc));
        CHECK(ant_node_service_healthy(svc));
        ant_node_service_status(svc, "scheduled-0.2.0-rc.1-at-1700000000");
        ant_node_service_stopping(svc, 0);
        CHECK_INT(pending_exit_code(node), 0);
        ant_node_stop(node);
    }
    ant_node_service_free(svc);
    rm_rf(dir);
}

/* Connects fd (a fresh socket, maybe bound) to the node on loopback and waits for the
 * answer to one PING, so the node has accepted the connection (and counts it) when this
 * returns. -1 on failure (fd closed). */
static int hold_connection_fd(int fd, uint16_t port)
{
    struct sockaddr_in sa;
    uint8_t frame[ANT_NODE_PROTO_HEADER_BYTES], answer[ANT_NODE_PROTO_HEADER_BYTES];
    struct timeval tv = {5, 0};
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        ant_node_proto_header(frame, ANT_FRAME_PING, 0) != ANT_OK ||
        write(fd, frame, sizeof frame) != (ssize_t)sizeof frame ||
        recv(fd, answer, sizeof answer, MSG_WAITALL) != (ssize_t)sizeof answer) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A stand-in for a node that is up but never answers: a listener on 127.0.0.2 that
 * accepts each connection and closes it at once, until `stop`. */
struct closer {
    int fd;
    atomic_bool stop;
    pthread_t thread;
};

static void *closer_main(void *arg)
{
    struct closer *cl = arg;
    while (!atomic_load(&cl->stop)) {
        struct pollfd pfd = {.fd = cl->fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) == 1) {
            int c = accept(cl->fd, NULL, NULL);
            if (c >= 0)
                close(c);
        }
    }
    return NULL;
}

/* A listener on 127.0.0.2:port, or -1. */
static int listen_on_2(uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(0x7f000002);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 16) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void run_unanswering(bool service_managed, int want_code)
{
    char dir[] = "/tmp/ant-svcu-XXXXXX", root[64];
    struct ant_node_config cfg, scfg;
    struct ant_node_service *svc = NULL;
    struct ant_node *node = NULL;
    struct closer cl;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(root, sizeof root, "%s/root", dir);
    base_config(&cfg, root, "127.0.0.1:0");
    /* The service is told the node listens on 127.0.0.2, where the closer sits on the
     * node's port: the node is up (listening, acceptor turning) but what the probe reaches
     * accepts and never answers. (A full connection table no longer does that: the node
     * admits its own probe past the limits, test_probe_passes_a_full_table.) */
    base_config(&scfg, root, "127.0.0.2:0");
    scfg.stop_on_upgrade = service_managed;
    CHECK_OK(ant_node_service_new(&scfg, &svc));
    CHECK_OK(ant_node_start(&cfg, &node));
    if (node != NULL) {
        cl.fd = listen_on_2(ant_node_port(node));
        atomic_init(&cl.stop, false);
        CHECK(cl.fd >= 0 && pthread_create(&cl.thread, NULL, closer_main, &cl) == 0);
        CHECK_OK(ant_node_service_ready(svc, node));
        for (unsigned i = 0; i < ANT_NODE_SERVICE_TRIAL_PROBES; i++)
            CHECK(!ant_node_service_healthy(svc));
        CHECK_INT(pending_exit_code(node), want_code);
        ant_node_service_stopping(svc, want_code);
        if (cl.fd >= 0) {
            atomic_store(&cl.stop, true);
            pthread_join(cl.thread, NULL);
            close(cl.fd);
        }
        ant_node_stop(node);
    }
    ant_node_service_free(svc);
    rm_rf(dir);
}

/* A connection from source address `ip` to 127.0.0.1:port that has been answered one
 * PING (so the node counts it), or -1. */
static int hold_from(const char *ip, uint16_t port)
{
    struct sockaddr_in src;
    int fd, one = 1;
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &src.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0) {
        close(fd);
        return -1;
    }
    return hold_connection_fd(fd, port);
}

/*
 * Issue 13 item 2: peers holding every slot within their per-address limits (2 slots, one
 * each from 127.0.0.2 and 127.0.0.3) refuse everyone else, a client on 127.0.0.1 too, but
 * not the node's own health probe; the admission is for the probe's port only, once.
 */
static void test_probe_passes_a_full_table(void)
{
    char dir[] = "/tmp/ant-svcu-XXXXXX", root[64];
    struct ant_node_config cfg;
    struct ant_node_service *svc = NULL;
    struct ant_node *node = NULL;

    CHECK(mkdtemp(dir) != NULL);
    snprintf(root, sizeof root, "%s/root", dir);
    base_config(&cfg, root, "127.0.0.1:0");
    cfg.stop_on_upgrade = true;
    CHECK_OK(ant_node_config_set(&cfg, "max-connections", "2", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "max-connections-per-address", "1", ANT_NODE_CONFIG_CLI,
                                 NULL, 0));
    CHECK_OK(ant_node_service_new(&cfg, &svc));
    CHECK_OK(ant_node_start(&cfg, &node));
    if (node != NULL) {
        uint16_t port = ant_node_port(node);
        int a = hold_from("127.0.0.2", port), b = hold_from("127.0.0.3", port);
        int c = hold_from("127.0.0.1", port), d;
        CHECK(a >= 0 && b >= 0);
        CHECK_MSG(c < 0, "a third connection got in past max-connections 2");
        CHECK_OK(ant_node_service_ready(svc, node));
        for (unsigned i = 0; i < ANT_NODE_SERVICE_TRIAL_PROBES + 1; i++)
            CHECK(ant_node_service_healthy(svc));
        /* Nothing left open for anyone else: the registration was consumed. */
        d = hold_from("127.0.0.1", port);
        CHECK_MSG(d < 0, "a client got in past the limits after the probe");
        CHECK_INT(pending_exit_code(node), 0);
        ant_node_service_stopping(svc, 0);
        for (int *fd = (int[]){a, b, c, d}, i = 0; i < 4; i++)
            if (fd[i] >= 0)
                close(fd[i]);
        ant_node_stop(node);
    }
    ant_node_service_free(svc);
    rm_rf(dir);
}

static void test_unanswering_node_leaves_under_a_manager(void)
{
    run_unanswering(true, ANT_NODE_SERVICE_EXIT_UNHEALTHY);
}

static void test_unanswering_standalone_node_stays(void)
{
    run_unanswering(false, 0);
}

/* STATUS= in words for every upgrade state token, a pre-release version included. */
static void test_status_texts(void)
{
    struct sockaddr_un sa;
    struct ant_node_config cfg;
    struct ant_node_service *svc = NULL;
    char name[64], buf[512];
    struct timeval tv = {2, 0};

    snprintf(name, sizeof name, "ant-svc-status-%ld", (long)getpid());
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path + 1, name, strlen(name));
    int m = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(m >= 0 && bind(m, (struct sockaddr *)&sa,
                         (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))) == 0);
    CHECK(setsockopt(m, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    char env[80];
    snprintf(env, sizeof env, "@%s", name);
    CHECK(setenv("NOTIFY_SOCKET", env, 1) == 0);
    base_config(&cfg, "/nonexistent", "127.0.0.1:0");
    CHECK_OK(ant_node_service_new(&cfg, &svc));
    const struct {
        const char *state, *want;
    } cases[] = {
        {"idle", "STATUS=Starting on port 0"},
        {"scheduled-0.2.0-rc.1-at-1700000000",
         "STATUS=Starting on port 0, upgrade to 0.2.0-rc.1 scheduled at 2023-11-14T22:13:20Z"},
        {"trial-0.2.0", "STATUS=Starting on port 0, trial of 0.2.0"},
        {"restarting-0.1.0", "STATUS=Restarting into 0.1.0"},
        {"applying-0.2.0", "STATUS=Starting on port 0, installing 0.2.0"},
        {"failed-download", "STATUS=Starting on port 0, upgrade failed-download"},
        {"scheduled-at-x", "STATUS=Starting on port 0, upgrade scheduled-at-x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ant_node_service_status(svc, cases[i].state);
        ssize_t r = recv(m, buf, sizeof buf - 1, 0);
        buf[r > 0 ? r : 0] = '\0';
        CHECK_STR(buf, cases[i].want);
    }
    ant_node_service_free(svc);
    unsetenv("NOTIFY_SOCKET");
    close(m);
}

static uint64_t mono_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct putter {
    char addr[64];
    ant_err err;
    pthread_t thread;
};

/* One PUT, which blocks until the store's writer lock is free again. */
static void *putter_main(void *arg)
{
    struct putter *p = arg;
    uint8_t chunk[1024], caddr[ANT_NODE_ADDR_BYTES];
    struct ant_node_client *cl = NULL;
    memset(chunk, 7, sizeof chunk);
    p->err = ant_sha256(caddr, chunk, sizeof chunk);
    if (p->err == ANT_OK)
        p->err = ant_node_client_connect(p->addr, 30000, &cl);
    if (p->err == ANT_OK)
        p->err = ant_node_client_put(cl, caddr, chunk, sizeof chunk, NULL);
    ant_node_client_close(cl);
    return NULL;
}

/*
 * The heartbeat proves the node can serve, not only that its acceptor turns: with its one
 * worker stuck in a PUT (another process holds the store's LMDB writer lock, as a hung
 * disk or a stuck writer would), the heartbeat stops moving, so the watchdog stops pinging
 * and the manager kills the node; once the lock is free the PUT completes and the beat
 * resumes.
 */
static void test_heartbeat_stops_while_workers_are_stuck(void)
{
    char dir[] = "/tmp/ant-svcu-XXXXXX", root[64], store[96];
    struct ant_node_config cfg;
    struct ant_node *node = NULL;
    int ready[2] = {-1, -1};

    CHECK(mkdtemp(dir) != NULL);
    snprintf(root, sizeof root, "%s/root", dir);
    snprintf(store, sizeof store, "%s/%s", root, ANT_NODE_STORE_DIR);
    base_config(&cfg, root, "127.0.0.1:0"); /* one worker */
    CHECK_OK(ant_node_start(&cfg, &node));
    CHECK(pipe(ready) == 0);
    if (node == NULL) {
        rm_rf(dir);
        return;
    }
    pid_t holder = fork();
    if (holder == 0) {
        MDB_env *env = NULL;
        MDB_txn *txn = NULL;
        char ok = 'x';
        if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 2) == 0 &&
            mdb_env_set_mapsize(env, (size_t)64 << 20) == 0 &&
            mdb_env_open(env, store, 0, 0600) == 0 && mdb_txn_begin(env, NULL, 0, &txn) == 0)
            ok = 'y';
        if (write(ready[1], &ok, 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    char ok = 0;
    CHECK(holder > 0 && read(ready[0], &ok, 1) == 1 && ok == 'y');

    struct putter p;
    memset(&p, 0, sizeof p);
    snprintf(p.addr, sizeof p.addr, "127.0.0.1:%u", (unsigned)ant_node_port(node));
    CHECK(pthread_create(&p.thread, NULL, putter_main, &p) == 0);
    /* The worker takes the PUT and blocks in the store while the acceptor turns on: the
     * heartbeat must stand still over a window longer than both loops' tick (slow runs,
     * valgrind, may need a few windows before the worker is stuck). */
    bool still = false;
    uint64_t b1 = 0, b2 = 0;
    for (int tries = 0; tries < 6 && !still; tries++) {
        b1 = ant_node_heartbeat_ms(node);
        usleep(2500 * 1000);
        b2 = ant_node_heartbeat_ms(node);
        still = b2 == b1;
    }
    CHECK_MSG(still, "heartbeat moved by %llu ms while no worker could serve",
              (unsigned long long)(b2 - b1));

    /* The holder dies: LMDB's robust lock passes to the node, the PUT completes. */
    if (holder > 0) {
        kill(holder, SIGKILL);
        waitpid(holder, NULL, 0);
    }
    pthread_join(p.thread, NULL);
    CHECK_OK(p.err);
    uint64_t end = mono_now_ms() + 10000;
    while (mono_now_ms() - ant_node_heartbeat_ms(node) >= 2000 && mono_now_ms() < end)
        usleep(50 * 1000);
    CHECK(mono_now_ms() - ant_node_heartbeat_ms(node) < 2000);
    ant_node_stop(node);
    close(ready[0]);
    close(ready[1]);
    rm_rf(dir);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_status_texts),
    ANT_TEST(test_healthy_node),
    ANT_TEST(test_unanswering_node_leaves_under_a_manager),
    ANT_TEST(test_unanswering_standalone_node_stays),
    ANT_TEST(test_probe_passes_a_full_table),
    ANT_TEST(test_heartbeat_stops_while_workers_are_stuck),
};

ANT_TEST_MAIN(tests)
