/*
 * systemd's notification and socket-passing protocols (ant/sysd.h), from their documented
 * wire format (sd_notify(3), sd_listen_fds(3)): one AF_UNIX datagram per notification,
 * descriptors as SCM_RIGHTS, and the LISTEN_* variables read once and then removed. Each
 * send opens its own socket, so there is no shared state between the threads that notify
 * (the serving loop's watchdog, the upgrade engine's status changes).
 */
#include "ant/sysd.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ant/log.h"

#define STATUS_TEXT_MAX 200

bool ant_sysd_parse_u64(const char *text, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (text == NULL || text[0] == '\0')
        return false;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Fills `sa` from $NOTIFY_SOCKET's value. Abstract names have no terminating NUL: the
 * address length says where they end. */
static ant_err notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
    size_t n = strlen(name);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (name[0] == '/') {
        if (n >= sizeof sa->sun_path)
            return ANT_ERR_INVALID_ARG;
        memcpy(sa->sun_path, name, n);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        return ANT_OK;
    }
    if (name[0] == '@' && n > 1) {
        if (n > sizeof sa->sun_path)
            return ANT_ERR_INVALID_ARG;
        /* sun_path[0] stays 0: the abstract namespace. */
        memcpy(sa->sun_path + 1, name + 1, n - 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        return ANT_OK;
    }
    return ANT_ERR_INVALID_ARG;
}

ant_err ant_sysd_notify_with_fds(const char *state, const int *fds, size_t nfds)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t salen = 0;
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int) * ANT_SYSD_LISTEN_FDS_MAX)];
    } control;
    struct iovec iov;
    struct msghdr mh;
    int fd = -1;
    ant_err err;

    if (name == NULL || name[0] == '\0')
        return ANT_ERR_NOT_FOUND;
    if (state == NULL || state[0] == '\0' || nfds > ANT_SYSD_LISTEN_FDS_MAX ||
        (nfds > 0 && fds == NULL))
        return ANT_ERR_INVALID_ARG;
    size_t len = strnlen(state, ANT_SYSD_MESSAGE_MAX + 1);
    if (len > ANT_SYSD_MESSAGE_MAX)
        return ANT_ERR_TOO_LARGE;
    err = notify_address(name, &sa, &salen);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_WARN, "sysd", "Unusable NOTIFY_SOCKET address, not notifying");
        return err;
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ANT_ERR_IO;
    /* A manager that stopped reading must not stall the serving loop's watchdog ping. */
    struct timeval tv = {.tv_sec = ANT_SYSD_SEND_TIMEOUT_MS / 1000,
                         .tv_usec = (ANT_SYSD_SEND_TIMEOUT_MS % 1000) * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

    memset(&mh, 0, sizeof mh);
    iov.iov_base = (void *)state;
    iov.iov_len = len;
    mh.msg_name = &sa;
    mh.msg_namelen = salen;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (nfds > 0) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.buf;
        /* size_t in glibc, socklen_t in musl; at most CMSG_SPACE(64) either way. */
        mh.msg_controllen = (socklen_t)CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = (socklen_t)CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    for (;;) {
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w >= 0) {
            err = (size_t)w == len ? ANT_OK : ANT_ERR_IO;
            break;
        }
        if (errno == EINTR)
            continue;
        err = ANT_ERR_IO;
        break;
    }
    close(fd);
    return err;
}

ant_err ant_sysd_notify(const char *state)
{
    return ant_sysd_notify_with_fds(state, NULL, 0);
}

ant_err ant_sysd_status(const char *text)
{
    char msg[sizeof "STATUS=" + STATUS_TEXT_MAX];
    size_t at = sizeof "STATUS=" - 1;
    memcpy(msg, "STATUS=", at);
    for (size_t i = 0; text != NULL && text[i] != '\0' && i < STATUS_TEXT_MAX; i++) {
        char c = text[i];
        msg[at++] = (c >= ' ' && c < 0x7f) ? c : '_';
    }
    msg[at] = '\0';
    return ant_sysd_notify(msg);
}

static bool fdname_ok(const char *name)
{
    size_t n = 0;
    if (name == NULL || name[0] == '\0')
        return false;
    for (; name[n] != '\0'; n++) {
        if (n >= ANT_SYSD_FDNAME_MAX || name[n] < ' ' || name[n] >= 0x7f || name[n] == ':')
            return false;
    }
    return true;
}

ant_err ant_sysd_fdstore(int fd, const char *name)
{
    char msg[sizeof "FDSTORE=1\nFDNAME=" + ANT_SYSD_FDNAME_MAX];
    if (fd < 0 || !fdname_ok(name))
        return ANT_ERR_INVALID_ARG;
    snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=%s", name);
    return ant_sysd_notify_with_fds(msg, &fd, 1);
}

ant_err ant_sysd_fdstore_remove(const char *name)
{
    char msg[sizeof "FDSTOREREMOVE=1\nFDNAME=" + ANT_SYSD_FDNAME_MAX];
    if (!fdname_ok(name))
        return ANT_ERR_INVALID_ARG;
    snprintf(msg, sizeof msg, "FDSTOREREMOVE=1\nFDNAME=%s", name);
    return ant_sysd_notify(msg);
}

/* LISTEN_PID / WATCHDOG_PID: a positive pid_t in strict decimal. */
static bool parse_pid(const char *text, pid_t *pid)
{
    uint64_t v;
    if (!ant_sysd_parse_u64(text, 0x7fffffff, &v) || v == 0)
        return false;
    *pid = (pid_t)v;
    return true;
}

ant_err ant_sysd_watchdog_usec(uint64_t *usec)
{
    const char *us = getenv("WATCHDOG_USEC"), *pidtext = getenv("WATCHDOG_PID");
    uint64_t v;
    if (usec == NULL)
        return ANT_ERR_INVALID_ARG;
    *usec = 0;
    if (us == NULL)
        return ANT_ERR_NOT_FOUND;
    if (pidtext != NULL) {
        pid_t pid;
        if (!parse_pid(pidtext, &pid))
            return ANT_ERR_PARSE;
        if (pid != getpid())
            return ANT_ERR_NOT_FOUND;
    }
    if (!ant_sysd_parse_u64(us, UINT64_MAX, &v) || v == 0)
        return ANT_ERR_PARSE;
    *usec = v;
    return ANT_OK;
}

/*
 * Past this many fds from ANT_SYSD_LISTEN_FDS_START a malformed count is not followed: no
 * manager passes more (systemd caps a unit's fd store far below), and a count near 2^31
 * under LimitNOFILE=infinity would otherwise cost a billion fcntl calls at start.
 */
#define PASSED_FDS_SCAN_MAX 65536

/*
 * After a LISTEN_FDS addressed to this process turned out malformed: the manager did pass
 * `count` fds from ANT_SYSD_LISTEN_FDS_START, inheritable, and nobody will own them. Each
 * one that is open is made close-on-exec so no child (the restart's successor, a binary
 * run for --version) inherits a socket. Marked, not closed: a count that overstates what
 * was passed must not close fds the process opened itself.
 */
static void cloexec_passed(uint64_t count)
{
    long open_max = sysconf(_SC_OPEN_MAX);
    uint64_t limit = open_max > ANT_SYSD_LISTEN_FDS_START
                         ? (uint64_t)open_max - ANT_SYSD_LISTEN_FDS_START
                         : 0;
    if (limit > PASSED_FDS_SCAN_MAX)
        limit = PASSED_FDS_SCAN_MAX;
    if (count > limit)
        count = limit;
    for (uint64_t i = 0; i < count; i++) {
        int fd = ANT_SYSD_LISTEN_FDS_START + (int)i;
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && (flags & FD_CLOEXEC) == 0)
            (void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

ant_err ant_sysd_listen_fds(struct ant_sysd_fd *out, size_t cap, size_t *n)
{
    const char *pidtext = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    uint64_t nfds = 0;
    bool counted = false; /* LISTEN_FDS is a number: that many fds were passed */
    ant_err err = ANT_OK;
    pid_t pid;

    if (n == NULL || (out == NULL && cap > 0))
        return ANT_ERR_INVALID_ARG;
    *n = 0;
    if (pidtext == NULL || count == NULL)
        return ANT_ERR_NOT_FOUND;
    /* A LISTEN_PID that is no pid may be meant for anyone: nothing here is touched. */
    if (!parse_pid(pidtext, &pid))
        return ANT_ERR_PARSE;
    if (pid != getpid())
        return ANT_ERR_NOT_FOUND;
    /* From here the variables are ours, and consumed (removed at `out`) whatever they say. */
    if (count[0] == '\0' || strspn(count, "0123456789") != strlen(count)) {
        err = ANT_ERR_PARSE;
        goto out;
    }
    counted = true;
    /* A count of digits too long for any integer is TOO_LARGE like 17 is, never wrapped. */
    if (!ant_sysd_parse_u64(count, UINT64_MAX, &nfds)) {
        nfds = UINT64_MAX;
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    if (nfds == 0) {
        err = ANT_ERR_PARSE;
        goto out;
    }
    if (nfds > ANT_SYSD_LISTEN_FDS_MAX || nfds > cap) {
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }

    /* Names first, into `out`, so a mismatch is found before any fd is handed over. */
    const char *p = names;
    for (size_t i = 0; i < nfds; i++) {
        out[i].fd = ANT_SYSD_LISTEN_FDS_START + (int)i;
        if (names == NULL) {
            snprintf(out[i].name, sizeof out[i].name, "unknown");
            continue;
        }
        const char *end = strchr(p, ':');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == 0 || len > ANT_SYSD_FDNAME_MAX || (end != NULL) != (i + 1 < nfds)) {
            err = ANT_ERR_PARSE;
            goto out;
        }
        memcpy(out[i].name, p, len);
        out[i].name[len] = '\0';
        if (!fdname_ok(out[i].name)) {
            err = ANT_ERR_PARSE;
            goto out;
        }
        p = end != NULL ? end + 1 : p + len;
    }
    for (size_t i = 0; i < nfds; i++) {
        if (fcntl(out[i].fd, F_GETFD) < 0) {
            err = ANT_ERR_IO;
            goto out;
        }
    }
    for (size_t i = 0; i < nfds; i++) {
        int flags = fcntl(out[i].fd, F_GETFD);
        if (flags < 0 || fcntl(out[i].fd, F_SETFD, flags | FD_CLOEXEC) != 0) {
            err = ANT_ERR_IO;
            goto out;
        }
    }
    *n = (size_t)nfds;
out:
    if (err != ANT_OK && counted)
        cloexec_passed(nfds);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return err;
}
