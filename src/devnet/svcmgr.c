/*
 * The devnet supervisor's service-manager side (svcmgr.h): one datagram socket with
 * SO_PASSCRED, so every notification arrives with the sender's pid from the kernel and is
 * credited only to the slot whose current process sent it (what NotifyAccess=main gives a
 * systemd unit). Enforcement follows systemd's rules for Type=notify with WatchdogSec=:
 * the clock for READY starts at fork, the watchdog clock at READY and at every WATCHDOG=1.
 */
/* struct ucred and SCM_CREDENTIALS are GNU extensions of <sys/socket.h>. */
#define _GNU_SOURCE
#include "devnet/svcmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ant/log.h"

#define FDNAME_LISTENER "listener"
#define MAX_FDS 16
#define DATAGRAM_MAX 4096

struct slot {
    pid_t pid;
    double started;
    double last_ping;
    bool ready;
    bool killed;
    unsigned timeouts;
    int listener; /* stored by FDSTORE=1 FDNAME=listener, -1 = none */
};

struct dn_svcmgr {
    int sock;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    char watchdog_usec[24];
    double start_timeout_s, watchdog_s;
    unsigned nslots;
    struct slot slots[];
};

ant_err dn_svcmgr_open(const char *path, unsigned nslots, double start_timeout_s,
                       double watchdog_s, struct dn_svcmgr **out)
{
    struct sockaddr_un sa;
    struct dn_svcmgr *m;
    int one = 1;

    *out = NULL;
    if (path == NULL || nslots == 0 || path[0] != '/' || strlen(path) >= sizeof sa.sun_path)
        return ANT_ERR_INVALID_ARG;
    m = calloc(1, sizeof *m + (size_t)nslots * sizeof m->slots[0]);
    if (m == NULL)
        return ANT_ERR_NOMEM;
    m->nslots = nslots;
    m->start_timeout_s = start_timeout_s;
    m->watchdog_s = watchdog_s;
    snprintf(m->path, sizeof m->path, "%s", path);
    snprintf(m->watchdog_usec, sizeof m->watchdog_usec, "%llu",
             (unsigned long long)(watchdog_s * 1e6));
    for (unsigned i = 0; i < nslots; i++)
        m->slots[i].listener = -1;
    m->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (m->sock < 0)
        goto fail;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path));
    (void)unlink(path); /* a socket left by a supervisor that was killed */
    if (bind(m->sock, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        setsockopt(m->sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
        goto fail;
    /* Nodes run as the supervisor's user; nobody else may speak for them. */
    if (chmod(path, 0600) != 0)
        goto fail;
    *out = m;
    return ANT_OK;
fail:
    ant_log(ANT_LOG_ERROR, "devnet", "Cannot open the notification socket path=%s error=\"%s\"",
            path, strerror(errno));
    if (m->sock >= 0)
        close(m->sock);
    free(m);
    return ANT_ERR_IO;
}

extern char **environ;

/* The variables the manager sets for a node: never passed on from its own environment. */
static bool is_manager_var(const char *e)
{
    static const char *const names[] = {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=",
                                        "LISTEN_FDS=",    "LISTEN_FDNAMES=", "LISTEN_PID="};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strncmp(e, names[i], strlen(names[i])) == 0)
            return true;
    }
    return false;
}

ant_err dn_svcmgr_env_build(const struct dn_svcmgr *m, unsigned slot, struct dn_svcmgr_env *env)
{
    static char fds_var[] = "LISTEN_FDS=1", names_var[] = "LISTEN_FDNAMES=" FDNAME_LISTENER;
    size_t nenv = 0, k = 0;

    memset(env, 0, sizeof *env);
    if (m != NULL && slot >= m->nslots)
        return ANT_ERR_INVALID_ARG;
    while (environ[nenv] != NULL)
        nenv++;
    env->envp = calloc(nenv + 6, sizeof *env->envp);
    if (env->envp == NULL)
        return ANT_ERR_NOMEM;
    for (size_t i = 0; i < nenv; i++) {
        if (m == NULL || !is_manager_var(environ[i]))
            env->envp[k++] = environ[i];
    }
    if (m == NULL)
        return ANT_OK;
    int n1 = snprintf(env->notify_var, sizeof env->notify_var, "NOTIFY_SOCKET=%s", m->path);
    int n2 = snprintf(env->watchdog_var, sizeof env->watchdog_var, "WATCHDOG_USEC=%s",
                      m->watchdog_usec);
    if (n1 < 0 || (size_t)n1 >= sizeof env->notify_var || n2 < 0 ||
        (size_t)n2 >= sizeof env->watchdog_var) {
        dn_svcmgr_env_free(env);
        return ANT_ERR_INVALID_ARG;
    }
    env->envp[k++] = env->notify_var;
    env->envp[k++] = env->watchdog_var;
    if (m->slots[slot].listener >= 0) {
        snprintf(env->pid_var, sizeof env->pid_var, "LISTEN_PID=");
        env->listen_at = k;
        env->envp[k++] = fds_var;
        env->envp[k++] = names_var;
        env->envp[k++] = env->pid_var;
    }
    env->envp[k] = NULL;
    return ANT_OK;
}

void dn_svcmgr_env_free(struct dn_svcmgr_env *env)
{
    free(env->envp);
    env->envp = NULL;
}

void dn_svcmgr_child(const struct dn_svcmgr *m, unsigned slot, struct dn_svcmgr_env *env)
{
    environ = env->envp;
    if (m == NULL || slot >= m->nslots || env->listen_at == 0)
        return;
    int fd = m->slots[slot].listener;
    if (fd < 0 || (fd == 3 ? fcntl(3, F_SETFD, 0) != 0 : dup2(fd, 3) < 0)) {
        env->envp[env->listen_at] = NULL; /* no LISTEN_*: the node binds its own socket */
        return;
    }
    ant_sysd_listen_pid_var(env->pid_var, (long)getpid());
}

void dn_svcmgr_started(struct dn_svcmgr *m, unsigned slot, pid_t pid, double now)
{
    if (m == NULL || slot >= m->nslots)
        return;
    struct slot *s = &m->slots[slot];
    s->pid = pid;
    s->started = now;
    s->last_ping = now;
    s->ready = false;
    s->killed = false;
}

void dn_svcmgr_exited(struct dn_svcmgr *m, unsigned slot)
{
    if (m == NULL || slot >= m->nslots)
        return;
    m->slots[slot].pid = 0;
    m->slots[slot].ready = false;
    m->slots[slot].killed = false;
}

static bool same_file(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* Applies one datagram from slot `s`; takes ownership of fds[0..nfds-1]. */
static void apply(struct dn_svcmgr *m, unsigned idx, char *text, int *fds, size_t nfds,
                  double now)
{
    struct slot *s = &m->slots[idx];
    bool fdstore = false, fdremove = false, named_listener = false;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strcmp(line, "READY=1") == 0) {
            if (!s->ready)
                ant_log(ANT_LOG_DEBUG, "devnet", "Node ready slot=%u pid=%d", idx, (int)s->pid);
            s->ready = true;
            s->last_ping = now;
        } else if (strcmp(line, "WATCHDOG=1") == 0) {
            s->last_ping = now;
        } else if (strcmp(line, "FDSTORE=1") == 0) {
            fdstore = true;
        } else if (strcmp(line, "FDSTOREREMOVE=1") == 0) {
            fdremove = true;
        } else if (strcmp(line, "FDNAME=" FDNAME_LISTENER) == 0) {
            named_listener = true;
        }
    }
    if (fdremove && named_listener && s->listener >= 0) {
        close(s->listener);
        s->listener = -1;
    }
    if (fdstore && named_listener && nfds == 1) {
        if (s->listener >= 0 && same_file(s->listener, fds[0])) {
            close(fds[0]); /* the same socket again: keep the one we have */
        } else {
            if (s->listener >= 0)
                close(s->listener);
            s->listener = fds[0];
        }
        return;
    }
    for (size_t i = 0; i < nfds; i++)
        close(fds[i]);
}

static void drain(struct dn_svcmgr *m, double now)
{
    for (;;) {
        char buf[DATAGRAM_MAX + 1];
        union {
            struct cmsghdr h;
            char b[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * MAX_FDS)];
        } ctl;
        struct iovec iov = {buf, DATAGRAM_MAX};
        struct msghdr mh;
        int fds[MAX_FDS];
        size_t nfds = 0;
        struct ucred cred = {0, 0, 0};
        bool have_cred = false;

        memset(&mh, 0, sizeof mh);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = ctl.b;
        mh.msg_controllen = sizeof ctl.b;
        ssize_t r = recvmsg(m->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN: drained */
        }
/* musl's CMSG_NXTHDR mixes signed and unsigned arithmetic inside the macro itself. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-conversion"
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level != SOL_SOCKET)
                continue;
            if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof cred)) {
                memcpy(&cred, CMSG_DATA(c), sizeof cred);
                have_cred = true;
            } else if (c->cmsg_type == SCM_RIGHTS) {
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                    int fd;
                    memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                    if (nfds < MAX_FDS)
                        fds[nfds++] = fd;
                    else
                        close(fd);
                }
            }
        }
#pragma GCC diagnostic pop
        buf[r] = '\0';
        /* Credited to the slot whose current process sent it, or to nobody. A truncated
         * datagram or control block is dropped whole, as systemd does. */
        unsigned idx = m->nslots;
        if (have_cred && cred.pid > 0 && !(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
            for (unsigned i = 0; i < m->nslots; i++) {
                if (m->slots[i].pid == cred.pid) {
                    idx = i;
                    break;
                }
            }
        }
        if (idx == m->nslots) {
            for (size_t i = 0; i < nfds; i++)
                close(fds[i]);
            continue;
        }
        apply(m, idx, buf, fds, nfds, now);
    }
}

unsigned dn_svcmgr_poll(struct dn_svcmgr *m, double now)
{
    unsigned killed = 0;
    if (m == NULL)
        return 0;
    drain(m, now);
    for (unsigned i = 0; i < m->nslots; i++) {
        struct slot *s = &m->slots[i];
        const char *why = NULL;
        if (s->pid <= 0 || s->killed)
            continue;
        if (!s->ready && now - s->started > m->start_timeout_s)
            why = "Start timed out";
        else if (s->ready && now - s->last_ping > m->watchdog_s)
            why = "Watchdog timeout";
        if (why == NULL)
            continue;
        ant_log(ANT_LOG_WARN, "devnet", "%s, killing slot=%u pid=%d after_s=%.1f", why, i,
                (int)s->pid, now - (s->ready ? s->last_ping : s->started));
        if (kill(s->pid, SIGKILL) == 0) {
            s->killed = true;
            s->timeouts++;
            killed++;
        }
    }
    return killed;
}

bool dn_svcmgr_ready(const struct dn_svcmgr *m, unsigned slot)
{
    return m != NULL && slot < m->nslots && m->slots[slot].ready;
}

unsigned dn_svcmgr_timeouts(const struct dn_svcmgr *m, unsigned slot)
{
    return m != NULL && slot < m->nslots ? m->slots[slot].timeouts : 0;
}

bool dn_svcmgr_has_listener(const struct dn_svcmgr *m, unsigned slot)
{
    return m != NULL && slot < m->nslots && m->slots[slot].listener >= 0;
}

void dn_svcmgr_close(struct dn_svcmgr *m)
{
    if (m == NULL)
        return;
    for (unsigned i = 0; i < m->nslots; i++) {
        if (m->slots[i].listener >= 0)
            close(m->slots[i].listener);
    }
    if (m->sock >= 0)
        close(m->sock);
    (void)unlink(m->path);
    free(m);
}
