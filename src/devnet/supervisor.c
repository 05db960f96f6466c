/*
 * The devnet supervisor: the stand-in for systemd on every devnet host. It runs as its own
 * session leader (started by `up`), starts nginx and every node, and restarts whatever exits
 * after a short delay, like a unit with Restart=always: an upgrading node exits 75 and comes
 * back on the new binary; a crashed or killed node comes back on whatever binary is on disk.
 * Each restart is counted and the pid and start time of every run are kept in D/state.json,
 * which is what lets the report prove "a real restart, new pid, counted" independently of
 * the nodes' own logs. Each node's stdout and stderr go to its own log file, appended across
 * runs (the logger writes each line with one write(2), so lines stay whole). With --netns a
 * node enters its host's network namespace (setns) between fork and exec.
 *
 * Signals are blocked and taken synchronously with sigtimedwait(), so there are no handlers
 * racing the loop; children get the default mask and dispositions back before exec.
 */
/* setns(2) and CLONE_NEWNET are GNU extensions of <sched.h>. */
#define _GNU_SOURCE
#include "devnet/devnet_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/devnet_serve.h"
#include "ant/log.h"
#include "devnet/nspawn.h"
#include "devnet/svcmgr.h"

#define STOP_GRACE_S 15.0
#define MAX_ARGS 40

struct sup {
    struct dn_config *cfg;
    struct dn_state *st;
    double restart_at[ANT_DEVNET_MAX_HOSTS * ANT_DEVNET_MAX_NODES_PER_HOST];
    sigset_t oldmask;
    bool dirty;
    struct dn_svcmgr *mgr; /* SVCMGR HOOK: notify socket, start timeout, watchdog, fd store */
    struct dn_nspawn *hosts; /* --systemd: the containers whose systemd runs the nodes */
};

static void add_start(struct dn_node_state *n, pid_t pid, double at, int prev)
{
    if (n->nstarts == DN_STARTS_KEPT) {
        memmove(&n->starts[0], &n->starts[1], sizeof n->starts[0] * (DN_STARTS_KEPT - 1));
        n->nstarts--;
    }
    n->starts[n->nstarts].pid = pid;
    n->starts[n->nstarts].at = at;
    n->starts[n->nstarts].prev_status = prev;
    n->nstarts++;
}

/* Builds the node's command line into argv (strings in `store`, NUL-separated). */
static ant_err node_argv(const struct dn_config *c, unsigned i, char *store, size_t cap,
                         char **argv)
{
    unsigned h = i / c->nodes, n = i % c->nodes;
    size_t used = 0;
    int argc = 0;
    char tmp[PATH_MAX + 64];
#define ARG(...)                                                                          \
    do {                                                                                  \
        if (dn_path(tmp, sizeof tmp, __VA_ARGS__) != ANT_OK || argc >= MAX_ARGS - 1)      \
            return ANT_ERR_INVALID_ARG;                                                   \
        size_t l_ = strlen(tmp) + 1;                                                      \
        if (l_ > cap - used)                                                              \
            return ANT_ERR_INVALID_ARG;                                                   \
        memcpy(store + used, tmp, l_);                                                    \
        argv[argc++] = store + used;                                                      \
        used += l_;                                                                       \
    } while (0)
    ARG("%s/hosts/h%u/bin/ant-node", c->dir, h);
    ARG("run");
    ARG("--root-dir=%s/hosts/h%u/nodes/n%u", c->dir, h, n);
    /* With --netns the node lives in its host's namespace: it listens on the host's own
     * address and reaches the release server on the bridge. */
    char hip[24] = "127.0.0.1", sip[24] = "127.0.0.1";
    if (c->netns && (dn_netns_host_ip(c, h, hip, sizeof hip) != ANT_OK ||
                     dn_netns_server_ip(c, sip, sizeof sip) != ANT_OK))
        return ANT_ERR_INVALID_ARG;
    ARG("--listen=%s:%u", hip, (unsigned)c->node_port[i]);
    ARG("--cache-dir=%s/hosts/h%u/cache", c->dir, h);
    ARG("--trusted-keys-dir=%s/keys/trusted", c->dir);
    ARG("--ca-file=%s/tls/ca.pem", c->dir);
    ARG("--upgrade-api-url=https://%s:%u", sip, (unsigned)c->https_port);
    ARG("--upgrade-repo=%s/%s", ANT_DEVNET_OWNER, ANT_DEVNET_REPO);
    ARG("--trusted-root=%s/keys/meta/trusted-root.json", c->dir);
    ARG("--metadata-url=https://%s:%u/%s/%s/releases/download/metadata/", sip,
        (unsigned)c->https_port, ANT_DEVNET_OWNER, ANT_DEVNET_REPO);
    ARG("--upgrade-channel=%s", c->channel);
    ARG("--check-interval=%llus", (unsigned long long)c->check_interval_s);
    ARG("--rollout-window=%llus", (unsigned long long)c->rollout_window_s);
    ARG("--release-ttl=%llus", (unsigned long long)c->release_ttl_s);
    if (c->trial_period_s > 0)
        ARG("--trial-period=%llus", (unsigned long long)c->trial_period_s);
    ARG("--stop-on-upgrade");
#undef ARG
    argv[argc] = NULL;
    return ANT_OK;
}

static ant_err start_node(struct sup *s, unsigned i)
{
    const struct dn_config *c = s->cfg;
    struct dn_node_state *n = &s->st->node[i];
    char store[8192];
    char *argv[MAX_ARGS];
    char logpath[PATH_MAX];
    ant_err e = node_argv(c, i, store, sizeof store, argv);
    if (e == ANT_OK)
        e = dn_path(logpath, sizeof logpath, "%s/hosts/h%u/logs/n%u.log", c->dir, i / c->nodes,
                    i % c->nodes);
    if (e != ANT_OK)
        return e;
    int nsfd = -1;
    if (c->netns) {
        char ns[64], nspath[PATH_MAX];
        e = dn_netns_name(c, i / c->nodes, ns, sizeof ns);
        if (e == ANT_OK)
            e = dn_path(nspath, sizeof nspath, "/run/netns/%s", ns);
        if (e != ANT_OK)
            return e;
        nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) {
            ant_log(ANT_LOG_ERROR, "devnet", "network namespace missing path=%s", nspath);
            return ANT_ERR_IO;
        }
    }
    /* The node runs from its host's bin dir, opened here once and checked on its fd (ours,
     * not writable by others); the child executes `ant-node` relative to that fd and never
     * through a symlink, so no path is resolved again between the check and the exec. */
    char bindir[PATH_MAX];
    int binfd = -1;
    struct stat bst;
    e = dn_path(bindir, sizeof bindir, "%s/hosts/h%u/bin", c->dir, i / c->nodes);
    if (e == ANT_OK)
        binfd = open(bindir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (binfd < 0 || fstat(binfd, &bst) != 0 || bst.st_uid != geteuid() ||
        (bst.st_mode & 022) != 0) {
        ant_log(ANT_LOG_ERROR, "devnet", "Refusing to start node from unsafe bin dir path=%s",
                bindir);
        if (binfd >= 0)
            close(binfd);
        if (nsfd >= 0)
            close(nsfd);
        return e != ANT_OK ? e : ANT_ERR_UNSAFE_FILE;
    }
    /* The environment is built here, not in the child: the fleet page runs on another
     * thread, and a child that called setenv could hang on a lock that thread held. */
    struct dn_svcmgr_env env;
    e = dn_svcmgr_env_build(s->mgr, i, &env);
    int logfd = e == ANT_OK ? open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
                                                O_NOFOLLOW, 0600)
                            : -1;
    pid_t pid = logfd >= 0 ? fork() : -1;
    if (pid < 0) {
        if (logfd >= 0)
            close(logfd);
        if (e == ANT_OK)
            dn_svcmgr_env_free(&env);
        close(binfd);
        if (nsfd >= 0)
            close(nsfd);
        return e != ANT_OK ? e : ANT_ERR_IO;
    }
    if (pid == 0) {
        /* Child: back to default signal handling, then exec. Only async-signal-safe calls. */
        sigset_t none;
        sigemptyset(&none);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* O_CLOEXEC: only the dup2 copy on stdin may reach the node. */
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        /* Enter the host's network namespace before exec: the node never runs outside it.
         * A node that cannot enter it must not run in the root namespace instead. */
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) != 0) {
            static const char msg[] = "ant-devnet supervisor: setns failed\n";
            ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
            (void)w;
            _exit(126);
        }
        /* The service manager's hook may put the listener on fd 3: keep the bin dir's fd
         * clear of it (fcntl is async-signal-safe). */
        if (binfd == 3)
            binfd = fcntl(binfd, F_DUPFD_CLOEXEC, 4);
        dn_svcmgr_child(s->mgr, i, &env); /* SVCMGR HOOK: last, it may take fd 3 */
        syscall(SYS_execveat, binfd, "ant-node", argv, env.envp, AT_SYMLINK_NOFOLLOW);
        _exit(127);
    }
    dn_svcmgr_env_free(&env);
    close(logfd);
    close(binfd);
    if (nsfd >= 0)
        close(nsfd);
    double now = dn_now();
    int prev = n->nstarts > 0 ? n->last_status : -1;
    if (n->nstarts > 0)
        n->restarts++;
    n->pid = pid;
    n->started_at = now;
    dn_svcmgr_started(s->mgr, i, pid, now); /* SVCMGR HOOK */
    add_start(n, pid, now, prev);
    s->restart_at[i] = 0;
    s->dirty = true;
    return ANT_OK;
}

/* Reaps every exited child; schedules node restarts; restarts nginx if it died. */
static void reap(struct sup *s, bool stopping)
{
    const struct dn_config *c = s->cfg;
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        if (pid == s->st->nginx_pid) {
            s->st->nginx_pid = 0;
            s->dirty = true;
            ant_log(ANT_LOG_WARN, "devnet", "nginx exited status=%d", status);
            if (!stopping) {
                pid_t np = 0;
                if (dn_nginx_start(c, &np) == ANT_OK)
                    s->st->nginx_pid = np;
            }
            continue;
        }
        if (dn_nspawn_reaped(s->hosts, pid, status))
            continue;
        for (unsigned i = 0; i < c->hosts * c->nodes; i++) {
            struct dn_node_state *n = &s->st->node[i];
            if (n->pid != pid)
                continue;
            n->pid = 0;
            n->last_status = status;
            dn_svcmgr_exited(s->mgr, i); /* SVCMGR HOOK */
            s->dirty = true;
            ant_log(ANT_LOG_INFO, "devnet", "Node exited host=%u node=%u pid=%d code=%d signal=%d",
                    i / c->nodes, i % c->nodes, (int)pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            if (!stopping)
                s->restart_at[i] = dn_now() + (double)c->restart_delay_ms / 1000.0;
            break;
        }
    }
}

static unsigned live_children(const struct sup *s)
{
    unsigned live = s->st->nginx_pid > 0 ? 1 : 0;
    for (unsigned i = 0; i < s->cfg->hosts * s->cfg->nodes; i++)
        live += s->st->node[i].pid > 0 ? 1 : 0;
    return live;
}

static void signal_all(struct sup *s, int sig)
{
    for (unsigned i = 0; i < s->cfg->hosts * s->cfg->nodes; i++) {
        if (s->st->node[i].pid > 0)
            kill(s->st->node[i].pid, sig);
    }
    if (s->st->nginx_pid > 0)
        kill(s->st->nginx_pid, sig == SIGTERM ? SIGQUIT : sig);
}

static void save(struct sup *s)
{
    if (!s->dirty)
        return;
    if (dn_state_save(s->cfg->dir, s->st) != ANT_OK)
        ant_log(ANT_LOG_WARN, "devnet", "state file not written dir=%s", s->cfg->dir);
    s->dirty = false;
}

static void ready(int fd, const char *msg)
{
    if (fd < 0)
        return;
    size_t len = strlen(msg);
    while (len > 0) {
        ssize_t w = write(fd, msg, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        msg += w;
        len -= (size_t)w;
    }
    close(fd);
}

/* Stops everything: SIGTERM (nginx: graceful SIGQUIT), then SIGKILL after the grace time. */
static void stop_all(struct sup *s)
{
    s->st->stopping = true;
    s->dirty = true;
    save(s);
    dn_nspawn_stop(s->hosts); /* powers the containers off, waits for them */
    s->hosts = NULL;
    signal_all(s, SIGTERM);
    double deadline = dn_now() + STOP_GRACE_S;
    bool killed = false;
    while (live_children(s) > 0) {
        reap(s, true);
        if (live_children(s) == 0)
            break;
        if (!killed && dn_now() > deadline) {
            ant_log(ANT_LOG_WARN, "devnet", "children did not stop in time; killing live=%u",
                    live_children(s));
            signal_all(s, SIGKILL);
            killed = true;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    save(s);
}

ant_err ant_devnet_supervise(const char *dir, int ready_fd)
{
    struct sup s;
    memset(&s, 0, sizeof s);
    ant_err e = ANT_ERR_NOMEM;
    sigset_t set;
    bool blocked = false;
    char msg[128];
    struct ant_devnet_server *page = NULL; /* fleet page */

    s.cfg = calloc(1, sizeof *s.cfg);
    s.st = calloc(1, sizeof *s.st);
    if (s.cfg == NULL || s.st == NULL)
        goto fail;
    e = dn_config_load(dir, s.cfg);
    if (e != ANT_OK)
        goto fail;
    /* The mark every child inherits; `down` finds leftovers by it. */
    if (setenv(ANT_DEVNET_ENV, s.cfg->dir, 1) != 0) {
        e = ANT_ERR_NOMEM;
        goto fail;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, &s.oldmask) != 0) {
        e = ANT_ERR_IO;
        goto fail;
    }
    blocked = true;
    signal(SIGPIPE, SIG_IGN);

    /* The pid file first, so `down` can find this process from now on. */
    char pidtext[32];
    int plen = snprintf(pidtext, sizeof pidtext, "%d\n", (int)getpid());
    char pidfile[PATH_MAX];
    e = dn_path(pidfile, sizeof pidfile, "%s/%s", s.cfg->dir, DN_PID_FILE);
    if (e == ANT_OK)
        e = dn_write_file(pidfile, pidtext, (size_t)plen, 0600);
    if (e != ANT_OK)
        goto fail;
    s.st->supervisor_pid = getpid();
    s.st->sid = getsid(0);
    s.st->started_at = dn_now();
    s.st->hosts = s.cfg->hosts;
    s.st->nodes = s.cfg->nodes;
    for (unsigned i = 0; i < s.cfg->hosts * s.cfg->nodes; i++)
        s.st->node[i].last_status = -1;
    s.dirty = true;
    save(&s);

    /* SVCMGR HOOK: the nodes are Type=notify services of this supervisor (svcmgr.h). */
    {
        char sock[PATH_MAX];
        if (dn_path(sock, sizeof sock, "%s/%s", s.cfg->dir, DN_SVCMGR_SOCKET) != ANT_OK ||
            dn_svcmgr_open(sock, s.cfg->hosts * s.cfg->nodes, DN_SVCMGR_START_TIMEOUT_S,
                           DN_SVCMGR_WATCHDOG_S, &s.mgr) != ANT_OK)
            ant_log(ANT_LOG_WARN, "devnet",
                    "No notification socket: start timeout and watchdog not enforced");
    }

    pid_t np = 0;
    e = dn_nginx_start(s.cfg, &np);
    if (e != ANT_OK)
        goto fail;
    s.st->nginx_pid = np;
    s.dirty = true;
    if (s.cfg->systemd) {
        e = dn_nspawn_up(s.cfg, &s.hosts); /* systemd in each container runs the nodes */
        if (e != ANT_OK)
            goto fail;
    }
    for (unsigned i = 0; !s.cfg->systemd && i < s.cfg->hosts * s.cfg->nodes; i++) {
        e = start_node(&s, i);
        if (e != ANT_OK)
            goto fail;
    }
    save(&s);
    ant_log(ANT_LOG_INFO, "devnet", "Supervisor ready nodes=%u nginx_pid=%d port=%u",
            s.cfg->hosts * s.cfg->nodes, (int)np, (unsigned)s.cfg->https_port);
    /* fleet page: after the nodes, before `up` returns (it prints the URL); best effort. */
    if (ant_devnet_serve_auto(s.cfg->dir, &page) != ANT_OK)
        page = NULL;
    ready(ready_fd, "ok\n"); /* closes it; nothing below reports through it again */

    /* The online timestamp key's holder: re-sign at a third of the expiry, so a node never
     * sees it lapse while the devnet is not frozen (ARCHITECTURE.md §9). */
    double resign_every = (double)dn_meta_timestamp_expiry(s.cfg) / 3.0;
    double next_resign = dn_now() + resign_every;
    for (;;) {
        struct timespec wait = {0, 200 * 1000 * 1000};
        siginfo_t info;
        int sig = sigtimedwait(&set, &info, &wait);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
            break;
        reap(&s, false);
        dn_svcmgr_poll(s.mgr, dn_now()); /* SVCMGR HOOK: kills what missed READY/watchdog */
        dn_nspawn_poll(s.hosts, dn_now()); /* --systemd: exports journals and unit state */
        double now = dn_now();
        if (now >= next_resign) {
            if (dn_meta_resign(s.cfg) != ANT_OK)
                ant_log(ANT_LOG_WARN, "devnet", "timestamp re-signing failed; retrying");
            next_resign = now + resign_every;
        }
        for (unsigned i = 0; i < s.cfg->hosts * s.cfg->nodes; i++) {
            if (s.st->node[i].pid == 0 && s.restart_at[i] > 0 && now >= s.restart_at[i]) {
                ant_err se = start_node(&s, i);
                if (se != ANT_OK) {
                    /* Like systemd, keep trying rather than give the node up. */
                    ant_log(ANT_LOG_WARN, "devnet", "restart failed host=%u node=%u error=%s",
                            i / s.cfg->nodes, i % s.cfg->nodes, ant_strerror(se));
                    s.restart_at[i] = now + 1.0;
                }
            }
        }
        save(&s);
    }
    ant_log(ANT_LOG_INFO, "devnet", "Supervisor stopping");
    ant_devnet_serve_stop(page); /* fleet page */
    stop_all(&s);
    e = ANT_OK;
    goto out;

fail:
    snprintf(msg, sizeof msg, "error %s\n", ant_strerror(e));
    ant_log(ANT_LOG_ERROR, "devnet", "Supervisor failed error=%s", ant_strerror(e));
    if (s.cfg != NULL && s.st != NULL && s.st->hosts > 0)
        stop_all(&s);
    ready(ready_fd, msg);
out:
    if (s.cfg != NULL && s.cfg->dir[0] != '\0') {
        char path[PATH_MAX];
        if (dn_path(path, sizeof path, "%s/%s", s.cfg->dir, DN_PID_FILE) == ANT_OK)
            unlink(path);
    }
    if (blocked)
        sigprocmask(SIG_SETMASK, &s.oldmask, NULL);
    dn_svcmgr_close(s.mgr); /* SVCMGR HOOK */
    free(s.st);
    free(s.cfg);
    return e;
}
