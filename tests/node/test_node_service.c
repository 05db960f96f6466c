/*
 * The real ant-node binary under a stand-in service manager (ARCHITECTURE.md §11): this test
 * plays systemd's part of Type=notify with an fd store. It owns the notification socket,
 * waits for READY=1, keeps the listening socket the node hands over with FDSTORE=1, stops
 * the node, and starts the next one with that socket as fd 3 and LISTEN_FDS/LISTEN_PID/
 * LISTEN_FDNAMES, exactly as systemd restarts a service from its fd store. Meanwhile a client
 * connects and PINGs every 10 ms: across the restart it must see no refused connection, and
 * the successor must serve on the same port. Also: the watchdog pings at half of
 * WATCHDOG_USEC, STOPPING=1 on shutdown, a stored socket that no longer matches `listen` is
 * dropped from the store (FDSTOREREMOVE) rather than served on, and a malformed LISTEN_FDS
 * does not keep the node from starting.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "ant/node.h"
#include "ant/node_proto.h"
#include "test.h"

extern char **environ;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *node_bin(void)
{
    const char *b = getenv("ANT_NODE_BIN");
    return b != NULL ? b : "ant-node";
}

/* ---- the stand-in manager ------------------------------------------------------------ */

struct manager {
    int sock;
    char name[64]; /* "@..." */
};

static int manager_open(struct manager *m, const char *tag)
{
    struct sockaddr_un sa;
    snprintf(m->name, sizeof m->name, "@ant-test-svc-%s-%ld", tag, (long)getpid());
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(m->name);
    memcpy(sa.sun_path + 1, m->name + 1, n - 1);
    m->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (m->sock < 0)
        return -1;
    return bind(m->sock, (struct sockaddr *)&sa,
                (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
}

/* Waits up to timeout_ms for a datagram containing `want` (a line such as "READY=1");
 * earlier ones are dropped. A passed fd in the matching datagram goes to *fd (else -1;
 * fds of skipped datagrams are closed). Returns 0 when found. */
static int manager_wait(struct manager *m, const char *want, unsigned timeout_ms, int *fd,
                        char *text, size_t cap)
{
    uint64_t end = now_ms() + timeout_ms;
    if (fd != NULL)
        *fd = -1;
    while (now_ms() < end) {
        struct pollfd p = {m->sock, POLLIN, 0};
        if (poll(&p, 1, (int)(end - now_ms())) <= 0)
            continue;
        char buf[4200];
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(int) * 4)];
        } ctl;
        struct iovec iov = {buf, sizeof buf - 1};
        struct msghdr mh;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.b;
        mh.msg_controllen = sizeof ctl.b;
        ssize_t r = recvmsg(m->sock, &mh, MSG_CMSG_CLOEXEC);
        if (r < 0)
            continue;
        buf[r] = '\0';
        int got = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                memcpy(&got, CMSG_DATA(c), sizeof got);
        if (strstr(buf, want) != NULL) {
            if (text != NULL)
                snprintf(text, cap, "%s", buf);
            if (fd != NULL)
                *fd = got;
            else if (got >= 0)
                close(got);
            return 0;
        }
        if (got >= 0)
            close(got);
    }
    return -1;
}

/* ---- the node processes ---------------------------------------------------------------- */

/*
 * Starts `ant-node run` on `root` with `listen`, NOTIFY_SOCKET = m, extra environment
 * `env` (NULL-terminated, may be NULL), and, if pass_fd >= 0, that fd as fd 3 with
 * LISTEN_FDS=1, LISTEN_FDNAMES=listener and LISTEN_PID = the child's pid (filled in after
 * fork with async-signal-safe code, the way a manager does). pass_fd -2: LISTEN_PID only,
 * for an `env` that brings its own (malformed) LISTEN_FDS.
 */
static pid_t start_node(const struct manager *m, const char *root, const char *listen,
                        int pass_fd, const char *const *env, const char *log)
{
    char notify[96], pidvar[40] = "LISTEN_PID=";
    char *argv[] = {(char *)node_bin(), "run", "--root-dir", (char *)root, "--listen",
                    (char *)listen, "--no-auto-upgrade", "--map-size", "64MiB", NULL};
    char *envp[300];
    size_t e = 0;
    snprintf(notify, sizeof notify, "NOTIFY_SOCKET=%s", m->name);
    for (size_t i = 0; environ[i] != NULL && e < 250; i++)
        if (strncmp(environ[i], "ANT_", 4) != 0 && strncmp(environ[i], "LISTEN_", 7) != 0 &&
            strncmp(environ[i], "WATCHDOG_", 9) != 0 && strncmp(environ[i], "NOTIFY_", 7) != 0)
            envp[e++] = environ[i];
    envp[e++] = notify;
    for (size_t i = 0; env != NULL && env[i] != NULL && e < 290; i++)
        envp[e++] = (char *)env[i];
    if (pass_fd >= 0) {
        envp[e++] = "LISTEN_FDS=1";
        envp[e++] = "LISTEN_FDNAMES=listener";
    }
    if (pass_fd != -1)
        envp[e++] = pidvar;
    envp[e] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (lfd < 0 || dup2(lfd, 2) < 0)
            _exit(126);
        if (pass_fd != -1) {
            char digits[24];
            size_t n = 0;
            long v = (long)getpid();
            do {
                digits[n++] = (char)('0' + v % 10);
                v /= 10;
            } while (v > 0);
            for (size_t i = 0; i < n; i++)
                pidvar[11 + i] = digits[n - 1 - i];
            pidvar[11 + n] = '\0';
            if (pass_fd >= 0 &&
                (pass_fd == 3 ? fcntl(3, F_SETFD, 0) != 0 : dup2(pass_fd, 3) < 0))
                _exit(125);
        }
        execve(argv[0], argv, envp);
        _exit(127);
    }
    return pid;
}

static int stop_node(pid_t pid)
{
    int st;
    uint64_t end = now_ms() + 15000;
    kill(pid, SIGTERM);
    while (now_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static bool file_has(const char *path, const char *needle)
{
    char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static uint16_t sock_port(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0 || sa.sin_family != AF_INET)
        return 0;
    return ntohs(sa.sin_port);
}

/* ---- the client that must never be refused ---------------------------------------------- */

struct pinger {
    uint16_t port;
    atomic_bool stop;
    unsigned ok, refused, dropped;
    uint64_t longest_gap_ms;
};

/* One connection, one PING, one reply. 0 ok, 1 refused, 2 dropped or timed out. */
static int ping_once(uint16_t port)
{
    struct sockaddr_in sa;
    uint8_t frame[ANT_NODE_PROTO_HEADER_BYTES + 4] = {0}, reply[64];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 2;
    if (fd < 0)
        return 2;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        rc = errno == ECONNREFUSED ? 1 : 2;
        goto out;
    }
    if (ant_node_proto_header(frame, ANT_FRAME_PING, 4) != ANT_OK)
        goto out;
    memcpy(frame + ANT_NODE_PROTO_HEADER_BYTES, "ping", 4);
    if (send(fd, frame, sizeof frame, MSG_NOSIGNAL) != (ssize_t)sizeof frame)
        goto out;
    /* The reply may wait for the successor to start: up to 20 s. */
    size_t got = 0;
    uint64_t end = now_ms() + 20000;
    while (got < sizeof frame && now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t r = recv(fd, reply + got, sizeof reply - got, 0);
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    if (got >= sizeof frame && reply[5] == (ANT_FRAME_PING | ANT_FRAME_REPLY))
        rc = 0;
out:
    close(fd);
    return rc;
}

static void *pinger_main(void *arg)
{
    struct pinger *p = arg;
    uint64_t last_ok = now_ms();
    while (!atomic_load(&p->stop)) {
        int rc = ping_once(p->port);
        uint64_t t = now_ms();
        if (rc == 0) {
            if (t - last_ok > p->longest_gap_ms)
                p->longest_gap_ms = t - last_ok;
            last_ok = t;
            p->ok++;
        } else if (rc == 1) {
            p->refused++;
        } else {
            p->dropped++;
        }
        usleep(10000);
    }
    return NULL;
}

/* ---- tests ----------------------------------------------------------------------------- */

static void test_restart_from_the_fd_store(void)
{
    char root[] = "/tmp/ant-svc-XXXXXX", log[128], text[4200];
    struct manager m = {-1, ""};
    int stored = -1, again = -1;
    pthread_t th;

    CHECK(mkdtemp(root) != NULL);
    snprintf(log, sizeof log, "%s.log", root);
    CHECK(manager_open(&m, "restart") == 0);

    pid_t first = start_node(&m, root, "127.0.0.1:0", -1, NULL, log);
    CHECK(manager_wait(&m, "READY=1", 20000, NULL, text, sizeof text) == 0);
    CHECK(strstr(text, "STATUS=Serving on port") != NULL);
    /* The listener goes to the store as soon as the node serves. */
    CHECK(manager_wait(&m, "FDSTORE=1\nFDNAME=listener", 5000, &stored, NULL, 0) == 0);
    CHECK(stored >= 0);
    if (stored < 0) {
        stop_node(first);
        goto out;
    }
    int acc = 0;
    socklen_t al = sizeof acc;
    CHECK(getsockopt(stored, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) == 0 && acc == 1);
    uint16_t port = sock_port(stored);
    CHECK(port != 0);

    struct pinger p = {.port = port};
    atomic_init(&p.stop, false);
    CHECK(pthread_create(&th, NULL, pinger_main, &p) == 0);
    usleep(300000);

    /* Stop the first node; the store keeps the socket; start the next one 300 ms later
     * (the unit's restart delay, shortened) with the stored socket. */
    CHECK_INT(stop_node(first), 0);
    CHECK(manager_wait(&m, "STOPPING=1", 2000, NULL, NULL, 0) == 0);
    usleep(300000);
    const char *wd[] = {"WATCHDOG_USEC=1000000", NULL};
    pid_t second = start_node(&m, root, "127.0.0.1:0", stored, wd, log);
    CHECK(manager_wait(&m, "READY=1", 20000, NULL, NULL, 0) == 0);
    /* It pings the watchdog, and does not push the socket the store already holds. */
    CHECK(manager_wait(&m, "WATCHDOG=1", 3000, NULL, NULL, 0) == 0);
    CHECK(manager_wait(&m, "WATCHDOG=1", 3000, NULL, NULL, 0) == 0);
    CHECK(manager_wait(&m, "FDSTORE=1", 1500, &again, NULL, 0) != 0);
    if (again >= 0)
        close(again);
    usleep(500000);
    unsigned ok_before_stop = p.ok;
    atomic_store(&p.stop, true);
    pthread_join(th, NULL);

    fprintf(stderr, "  pings ok=%u refused=%u dropped=%u longest_gap_ms=%llu\n", p.ok,
            p.refused, p.dropped, (unsigned long long)p.longest_gap_ms);
    CHECK_INT(p.refused, 0);
    CHECK(ok_before_stop > 20);
    CHECK(file_has(log, "Taking over listening socket"));

    /* The successor really serves on the very port, and says STOPPING=1 on the way out. */
    CHECK_INT(ping_once(port), 0);
    CHECK_INT(stop_node(second), 0);
    CHECK(manager_wait(&m, "STOPPING=1", 5000, NULL, NULL, 0) == 0);
    close(stored);
out:
    close(m.sock);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, log);
    if (system(cmd) != 0)
        fprintf(stderr, "  cleanup failed\n");
}

/* After an operator changed `listen`, the stored socket is the wrong one: the node binds the
 * new address and tells the manager to drop the old socket, or it would come back forever. */
static void test_stale_stored_socket_is_dropped(void)
{
    char root[] = "/tmp/ant-svc-XXXXXX", log[128];
    struct manager m = {-1, ""};
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;

    CHECK(mkdtemp(root) != NULL);
    snprintf(log, sizeof log, "%s.log", root);
    CHECK(manager_open(&m, "stale") == 0);
    /* A listener on some port: the "old" one in the store. */
    int old = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(old, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(old, 8) == 0);
    CHECK(getsockname(old, (struct sockaddr *)&sa, &len) == 0);
    /* The new configuration names another port: one the kernel just gave out and took
     * back, so nothing else is likely to hold it. */
    int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in pa;
    socklen_t plen = sizeof pa;
    memset(&pa, 0, sizeof pa);
    pa.sin_family = AF_INET;
    pa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(probe, (struct sockaddr *)&pa, sizeof pa) == 0 &&
          getsockname(probe, (struct sockaddr *)&pa, &plen) == 0);
    uint16_t new_port = ntohs(pa.sin_port);
    close(probe);
    char listen_addr[64];
    snprintf(listen_addr, sizeof listen_addr, "127.0.0.1:%u", (unsigned)new_port);

    pid_t pid = start_node(&m, root, listen_addr, old, NULL, log);
    CHECK(manager_wait(&m, "FDSTOREREMOVE=1\nFDNAME=listener", 20000, NULL, NULL, 0) == 0);
    CHECK(manager_wait(&m, "READY=1", 20000, NULL, NULL, 0) == 0);
    CHECK(file_has(log, "does not match listen"));
    CHECK_INT(ping_once(new_port), 0);
    CHECK_INT(stop_node(pid), 0);
    close(old);

    /* A socket that is not a listener at all (a connected pair) is refused the same way. */
    int sp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
    pid = start_node(&m, root, "127.0.0.1:0", sp[0], NULL, log);
    CHECK(manager_wait(&m, "READY=1", 20000, NULL, NULL, 0) == 0);
    CHECK(file_has(log, "error=invalid argument"));
    CHECK_INT(stop_node(pid), 0);
    close(sp[0]);
    close(sp[1]);

    /* A malformed environment (huge LISTEN_FDS, our pid) is logged and ignored. */
    const char *huge[] = {"LISTEN_FDS=99999999999999999999", NULL};
    pid = start_node(&m, root, "127.0.0.1:0", -2, huge, log);
    CHECK(manager_wait(&m, "READY=1", 20000, NULL, NULL, 0) == 0);
    CHECK(file_has(log, "Ignoring malformed LISTEN_FDS error=input exceeds its size limit"));
    CHECK_INT(stop_node(pid), 0);
    close(m.sock);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", root, log);
    if (system(cmd) != 0)
        fprintf(stderr, "  cleanup failed\n");
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_restart_from_the_fd_store),
    ANT_TEST(test_stale_stored_socket_is_dropped),
};

ANT_TEST_MAIN(tests)
