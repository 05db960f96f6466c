/*
 * The sd_notify client and LISTEN_FDS parser (ant/sysd.h) against a real AF_UNIX datagram
 * socket standing in for the service manager: the bytes it receives on path and abstract
 * addresses, the descriptor it receives with FDSTORE=1 (the same open file, usable), and
 * the malformed environments a broken or hostile manager could hand over (a LISTEN_PID for
 * another process or not a number, a huge LISTEN_FDS, names that do not match, a socket
 * path too long for sockaddr_un), each refused; the fds of a malformed LISTEN_FDS meant for
 * this process are made close-on-exec so no child inherits them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ant/sysd.h"
#include "test.h"

/* The stand-in manager: a datagram socket bound to `name` (path, or "@abstract"). */
static int manager_socket(const char *name)
{
    struct sockaddr_un sa;
    socklen_t len;
    size_t n = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (name[0] == '@') {
        memcpy(sa.sun_path + 1, name + 1, n - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        memcpy(sa.sun_path, name, n + 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
    if (bind(fd, (struct sockaddr *)&sa, len) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Receives one datagram into buf (NUL-terminated) and up to one passed fd (-1 if none).
 * Returns the datagram length or -1. */
static ssize_t manager_recv(int fd, char *buf, size_t cap, int *passed)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = cap - 1};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof control.buf;
    *passed = -1;
    ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    if (r < 0)
        return -1;
    buf[r] = '\0';
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
            cm->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(passed, CMSG_DATA(cm), sizeof(int));
    }
    return r;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ant-sysd-XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL);
}

static void test_not_under_a_manager(void)
{
    unsetenv("NOTIFY_SOCKET");
    CHECK_ERR(ant_sysd_notify("READY=1"), ANT_ERR_NOT_FOUND);
    setenv("NOTIFY_SOCKET", "", 1);
    CHECK_ERR(ant_sysd_notify("READY=1"), ANT_ERR_NOT_FOUND);
    CHECK_ERR(ant_sysd_status("serving"), ANT_ERR_NOT_FOUND);
    unsetenv("NOTIFY_SOCKET");
}

static void test_path_socket(void)
{
    char path[128], buf[ANT_SYSD_MESSAGE_MAX + 1];
    int passed;
    make_tmpdir();
    snprintf(path, sizeof path, "%s/notify", tmpdir);
    int m = manager_socket(path);
    CHECK(m >= 0);
    setenv("NOTIFY_SOCKET", path, 1);
    CHECK_OK(ant_sysd_notify("READY=1\nSTATUS=serving"));
    CHECK_INT(manager_recv(m, buf, sizeof buf, &passed), 22);
    CHECK_STR(buf, "READY=1\nSTATUS=serving");
    CHECK_INT(passed, -1);
    CHECK_OK(ant_sysd_notify("STOPPING=1"));
    CHECK(manager_recv(m, buf, sizeof buf, &passed) > 0);
    CHECK_STR(buf, "STOPPING=1");

    /* The largest datagram the manager reads arrives whole; one byte more is refused. */
    char *big = malloc(ANT_SYSD_MESSAGE_MAX + 2);
    CHECK(big != NULL);
    if (big != NULL) {
        memcpy(big, "STATUS=", 7);
        memset(big + 7, 'x', ANT_SYSD_MESSAGE_MAX - 7);
        big[ANT_SYSD_MESSAGE_MAX] = '\0';
        CHECK_OK(ant_sysd_notify(big));
        CHECK_INT(manager_recv(m, buf, sizeof buf, &passed), ANT_SYSD_MESSAGE_MAX);
        big[ANT_SYSD_MESSAGE_MAX] = 'x';
        big[ANT_SYSD_MESSAGE_MAX + 1] = '\0';
        CHECK_ERR(ant_sysd_notify(big), ANT_ERR_TOO_LARGE);
        free(big);
    }
    CHECK_ERR(ant_sysd_notify(""), ANT_ERR_INVALID_ARG);

    /* The manager went away: a clear I/O error, no hang. */
    close(m);
    unlink(path);
    CHECK_ERR(ant_sysd_notify("WATCHDOG=1"), ANT_ERR_IO);
    unsetenv("NOTIFY_SOCKET");
    rmdir(tmpdir);
}

static void test_abstract_socket(void)
{
    char name[64], buf[256];
    int passed;
    snprintf(name, sizeof name, "@ant-sysd-test-%ld", (long)getpid());
    int m = manager_socket(name);
    CHECK(m >= 0);
    setenv("NOTIFY_SOCKET", name, 1);
    CHECK_OK(ant_sysd_notify("WATCHDOG=1"));
    CHECK(manager_recv(m, buf, sizeof buf, &passed) == 10);
    CHECK_STR(buf, "WATCHDOG=1");
    close(m);
    unsetenv("NOTIFY_SOCKET");
}

static void test_bad_addresses(void)
{
    char longpath[200], longabs[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    memset(longabs, 'b', sizeof longabs - 1);
    longabs[0] = '@';
    longabs[sizeof longabs - 1] = '\0';
    const char *bad[] = {"relative/notify", "@", "vsock:2:1234", longpath, longabs};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("NOTIFY_SOCKET", bad[i], 1);
        CHECK_ERR(ant_sysd_notify("READY=1"), ANT_ERR_INVALID_ARG);
    }
    /* Exactly 107 bytes of path (+ NUL) is the most sockaddr_un holds: accepted by the
     * address check, then fails to send (nobody there). 108 does not fit. */
    char edge[109];
    memset(edge, 'c', sizeof edge);
    edge[0] = '/';
    edge[107] = '\0';
    setenv("NOTIFY_SOCKET", edge, 1);
    CHECK_ERR(ant_sysd_notify("READY=1"), ANT_ERR_IO);
    edge[107] = 'c';
    edge[108] = '\0';
    setenv("NOTIFY_SOCKET", edge, 1);
    CHECK_ERR(ant_sysd_notify("READY=1"), ANT_ERR_INVALID_ARG);
    unsetenv("NOTIFY_SOCKET");
}

/* A status is one assignment: a newline in it cannot add READY=1 or anything else. */
static void test_status_cannot_inject(void)
{
    char name[64], buf[512];
    int passed;
    snprintf(name, sizeof name, "@ant-sysd-status-%ld", (long)getpid());
    int m = manager_socket(name);
    CHECK(m >= 0);
    setenv("NOTIFY_SOCKET", name, 1);
    CHECK_OK(ant_sysd_status("upgrade\nREADY=1\nMAINPID=1"));
    CHECK(manager_recv(m, buf, sizeof buf, &passed) > 0);
    CHECK_STR(buf, "STATUS=upgrade_READY=1_MAINPID=1");
    char longtext[400];
    memset(longtext, 's', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    CHECK_OK(ant_sysd_status(longtext));
    CHECK_INT(manager_recv(m, buf, sizeof buf, &passed), 7 + 200);
    close(m);
    unsetenv("NOTIFY_SOCKET");
}

static void test_fdstore_passes_the_descriptor(void)
{
    char name[64], buf[512];
    int passed = -1, sp[2];
    snprintf(name, sizeof name, "@ant-sysd-fdstore-%ld", (long)getpid());
    int m = manager_socket(name);
    CHECK(m >= 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
    setenv("NOTIFY_SOCKET", name, 1);
    CHECK_OK(ant_sysd_fdstore(sp[0], "listener"));
    CHECK(manager_recv(m, buf, sizeof buf, &passed) > 0);
    CHECK_STR(buf, "FDSTORE=1\nFDNAME=listener");
    CHECK(passed >= 0 && passed != sp[0]);
    if (passed >= 0) {
        /* The same open socket: what the manager writes on its copy arrives at sp[1]. */
        struct stat a, b;
        CHECK(fstat(passed, &a) == 0 && fstat(sp[0], &b) == 0);
        CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        CHECK(write(passed, "hi", 2) == 2);
        char got[3] = {0};
        CHECK(read(sp[1], got, 2) == 2);
        CHECK_STR(got, "hi");
        close(passed);
    }
    /* The caller kept its own fd. */
    CHECK(fcntl(sp[0], F_GETFD) >= 0);

    CHECK_OK(ant_sysd_fdstore_remove("listener"));
    CHECK(manager_recv(m, buf, sizeof buf, &passed) > 0);
    CHECK_STR(buf, "FDSTOREREMOVE=1\nFDNAME=listener");
    CHECK_INT(passed, -1);

    char longname[ANT_SYSD_FDNAME_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *bad[] = {"", "a:b", "line\nREADY=1", longname};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(ant_sysd_fdstore(sp[0], bad[i]), ANT_ERR_INVALID_ARG);
        CHECK_ERR(ant_sysd_fdstore_remove(bad[i]), ANT_ERR_INVALID_ARG);
    }
    CHECK_ERR(ant_sysd_fdstore(-1, "listener"), ANT_ERR_INVALID_ARG);
    longname[ANT_SYSD_FDNAME_MAX] = '\0'; /* exactly the limit is fine */
    CHECK_OK(ant_sysd_fdstore(sp[0], longname));
    CHECK(manager_recv(m, buf, sizeof buf, &passed) > 0);
    if (passed >= 0)
        close(passed);
    close(sp[0]);
    close(sp[1]);
    close(m);
    unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_env(void)
{
    uint64_t us = 1;
    char pid[32];
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    CHECK_ERR(ant_sysd_watchdog_usec(&us), ANT_ERR_NOT_FOUND);
    CHECK_INT(us, 0);
    setenv("WATCHDOG_USEC", "20000000", 1);
    CHECK_OK(ant_sysd_watchdog_usec(&us));
    CHECK_INT(us, 20000000);
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    CHECK_OK(ant_sysd_watchdog_usec(&us));
    /* For another process (a parent that passed its environment on): not ours. */
    snprintf(pid, sizeof pid, "%ld", (long)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    CHECK_ERR(ant_sysd_watchdog_usec(&us), ANT_ERR_NOT_FOUND);
    setenv("WATCHDOG_PID", "12ab", 1);
    CHECK_ERR(ant_sysd_watchdog_usec(&us), ANT_ERR_PARSE);
    unsetenv("WATCHDOG_PID");
    const char *bad[] = {"", "0", "-5", " 5", "5s", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("WATCHDOG_USEC", bad[i], 1);
        CHECK_ERR(ant_sysd_watchdog_usec(&us), ANT_ERR_PARSE);
    }
    unsetenv("WATCHDOG_USEC");
}

/* Puts a fresh socket at fd `target`, saving what was there into *saved (-1 if nothing). */
static int place_socket(int target, int *saved, int *peer)
{
    int sp[2];
    *saved = fcntl(target, F_GETFD) >= 0 ? fcntl(target, F_DUPFD_CLOEXEC, 20) : -1;
    close(target);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
        return -1;
    /* socketpair may itself have landed on `target`: move both ends out of the way first. */
    int a = fcntl(sp[0], F_DUPFD_CLOEXEC, 20), b = fcntl(sp[1], F_DUPFD_CLOEXEC, 20);
    close(sp[0]);
    close(sp[1]);
    if (a < 0 || b < 0 || dup2(a, target) < 0) /* dup2 leaves `target` inheritable */
        return -1;
    close(a);
    *peer = b;
    return 0;
}

static void restore_fd(int target, int saved)
{
    if (saved >= 0) {
        dup2(saved, target);
        close(saved);
    } else {
        close(target);
    }
}

static void set_listen_env(const char *pid, const char *fds, const char *names)
{
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", fds, 1);
    if (names != NULL)
        setenv("LISTEN_FDNAMES", names, 1);
    else
        unsetenv("LISTEN_FDNAMES");
}

static void test_listen_fds(void)
{
    struct ant_sysd_fd fds[ANT_SYSD_LISTEN_FDS_MAX];
    char self[32], other[32];
    size_t n = 99;
    int saved3, saved4, peer3 = -1, peer4 = -1;

    snprintf(self, sizeof self, "%ld", (long)getpid());
    snprintf(other, sizeof other, "%ld", (long)getpid() + 1);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    CHECK_ERR(ant_sysd_listen_fds(fds, 16, &n), ANT_ERR_NOT_FOUND);
    CHECK_INT(n, 0);

    CHECK(place_socket(3, &saved3, &peer3) == 0);
    CHECK(place_socket(4, &saved4, &peer4) == 0);
    /* No CLOEXEC yet: passed fds arrive inheritable. */
    CHECK((fcntl(3, F_GETFD) & FD_CLOEXEC) == 0);

    /* Meant for another process: not ours, and the environment stays for that one. */
    set_listen_env(other, "2", "listener:other");
    CHECK_ERR(ant_sysd_listen_fds(fds, 16, &n), ANT_ERR_NOT_FOUND);
    CHECK(getenv("LISTEN_FDS") != NULL);

    /*
     * Malformed, and not known to be ours (LISTEN_PID not a pid): refused, fds untouched
     * (still inheritable), environment kept.
     */
    struct {
        const char *pid, *count, *names;
        ant_err want;
    } foreign[] = {
        {"12x", "2", NULL, ANT_ERR_PARSE},
        {"-1", "2", NULL, ANT_ERR_PARSE},
        {"0", "2", NULL, ANT_ERR_PARSE},
        {"99999999999", "2", NULL, ANT_ERR_PARSE},
    };
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        set_listen_env(foreign[i].pid, foreign[i].count, foreign[i].names);
        n = 99;
        ant_err got = ant_sysd_listen_fds(fds, 16, &n);
        CHECK_MSG(got == foreign[i].want, "case %zu (%s): got %s", i, foreign[i].pid,
                  ant_strerror(got));
        CHECK_INT(n, 0);
        CHECK(getenv("LISTEN_FDS") != NULL);
        CHECK((fcntl(3, F_GETFD) & FD_CLOEXEC) == 0);
    }
    /*
     * Malformed but addressed to this process: refused, and the variables are consumed
     * either way. When LISTEN_FDS is a number the manager passed that many fds, and each
     * one that is open is made close-on-exec, so a child started later (the restart's
     * successor, an execveat'd --version) does not inherit sockets nobody owns; an fd past
     * the count is not ours to touch. A count that is no number tells nothing: no fd is
     * touched.
     */
    struct {
        const char *count, *names;
        ant_err want;
        bool marks3, marks4;
    } bad[] = {
        {"", NULL, ANT_ERR_PARSE, false, false},
        {"0", NULL, ANT_ERR_PARSE, false, false},
        {"two", NULL, ANT_ERR_PARSE, false, false},
        {"+2", NULL, ANT_ERR_PARSE, false, false},
        {"17", NULL, ANT_ERR_TOO_LARGE, true, true},
        {"2147483647", NULL, ANT_ERR_TOO_LARGE, true, true},
        {"4294967298", NULL, ANT_ERR_TOO_LARGE, true, true},
        {"340282366920938463463374607431768211459", NULL, ANT_ERR_TOO_LARGE, true, true},
        {"2", "listener", ANT_ERR_PARSE, true, true},
        {"2", "listener:other:third", ANT_ERR_PARSE, true, true},
        {"2", "listener:", ANT_ERR_PARSE, true, true},
        {"2", ":other", ANT_ERR_PARSE, true, true},
        {"2", "listener:bad\nname", ANT_ERR_PARSE, true, true},
        {"1", "listener:other", ANT_ERR_PARSE, true, false},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(fcntl(3, F_SETFD, 0) == 0 && fcntl(4, F_SETFD, 0) == 0);
        set_listen_env(self, bad[i].count, bad[i].names);
        n = 99;
        ant_err got = ant_sysd_listen_fds(fds, 16, &n);
        CHECK_MSG(got == bad[i].want, "case %zu (%s, %s): got %s", i, bad[i].count,
                  bad[i].names ? bad[i].names : "-", ant_strerror(got));
        CHECK_INT(n, 0);
        CHECK_MSG(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL &&
                      getenv("LISTEN_FDNAMES") == NULL,
                  "case %zu: environment kept", i);
        CHECK_MSG(((fcntl(3, F_GETFD) & FD_CLOEXEC) != 0) == bad[i].marks3,
                  "case %zu: fd 3 close-on-exec is %d", i, fcntl(3, F_GETFD) & FD_CLOEXEC);
        CHECK_MSG(((fcntl(4, F_GETFD) & FD_CLOEXEC) != 0) == bad[i].marks4,
                  "case %zu: fd 4 close-on-exec is %d", i, fcntl(4, F_GETFD) & FD_CLOEXEC);
        CHECK(fcntl(3, F_GETFD) >= 0 && fcntl(4, F_GETFD) >= 0); /* marked, not closed */
    }
    CHECK(fcntl(3, F_SETFD, 0) == 0 && fcntl(4, F_SETFD, 0) == 0);
    /* More fds than the caller has room for. */
    set_listen_env(self, "2", NULL);
    CHECK_ERR(ant_sysd_listen_fds(fds, 1, &n), ANT_ERR_TOO_LARGE);
    CHECK((fcntl(3, F_GETFD) & FD_CLOEXEC) != 0 && (fcntl(4, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(fcntl(3, F_SETFD, 0) == 0 && fcntl(4, F_SETFD, 0) == 0);

    /* A listed fd that is not open: the open ones are still marked. */
    set_listen_env(self, "3", NULL);
    int saved5 = fcntl(5, F_GETFD) >= 0 ? fcntl(5, F_DUPFD_CLOEXEC, 20) : -1;
    close(5);
    CHECK_ERR(ant_sysd_listen_fds(fds, 16, &n), ANT_ERR_IO);
    CHECK((fcntl(3, F_GETFD) & FD_CLOEXEC) != 0 && (fcntl(4, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(getenv("LISTEN_FDS") == NULL);
    restore_fd(5, saved5);
    CHECK(fcntl(3, F_SETFD, 0) == 0 && fcntl(4, F_SETFD, 0) == 0);

    /* Well formed: both fds with their names, now close-on-exec, environment cleared. */
    set_listen_env(self, "2", "listener:other");
    CHECK_OK(ant_sysd_listen_fds(fds, 16, &n));
    CHECK_INT(n, 2);
    CHECK_INT(fds[0].fd, 3);
    CHECK_STR(fds[0].name, "listener");
    CHECK_INT(fds[1].fd, 4);
    CHECK_STR(fds[1].name, "other");
    CHECK((fcntl(3, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK((fcntl(4, F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL &&
          getenv("LISTEN_FDNAMES") == NULL);
    /* Read once: a second look finds nothing. */
    CHECK_ERR(ant_sysd_listen_fds(fds, 16, &n), ANT_ERR_NOT_FOUND);

    /* Without names every fd is "unknown". */
    set_listen_env(self, "1", NULL);
    CHECK_OK(ant_sysd_listen_fds(fds, 16, &n));
    CHECK_INT(n, 1);
    CHECK_STR(fds[0].name, "unknown");

    restore_fd(3, saved3);
    restore_fd(4, saved4);
    close(peer3);
    close(peer4);
}

static void test_parse_u64(void)
{
    uint64_t v = 7;
    CHECK(ant_sysd_parse_u64("0", 10, &v) && v == 0);
    CHECK(ant_sysd_parse_u64("10", 10, &v) && v == 10);
    CHECK(!ant_sysd_parse_u64("11", 10, &v));
    CHECK(ant_sysd_parse_u64("18446744073709551615", UINT64_MAX, &v) && v == UINT64_MAX);
    CHECK(!ant_sysd_parse_u64("18446744073709551616", UINT64_MAX, &v));
    CHECK(!ant_sysd_parse_u64("", 10, &v));
    CHECK(!ant_sysd_parse_u64(NULL, 10, &v));
    CHECK(!ant_sysd_parse_u64("1 ", 10, &v));
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_not_under_a_manager),
    ANT_TEST(test_path_socket),
    ANT_TEST(test_abstract_socket),
    ANT_TEST(test_bad_addresses),
    ANT_TEST(test_status_cannot_inject),
    ANT_TEST(test_fdstore_passes_the_descriptor),
    ANT_TEST(test_watchdog_env),
    ANT_TEST(test_listen_fds),
    ANT_TEST(test_parse_u64),
};

ANT_TEST_MAIN(tests)
