/*
 * The systemd hosts of `ant-devnet up --systemd` (nspawn.h, ARCHITECTURE.md §11): booting
 * them, installing ant-node in them, exporting what systemd and journald know about the
 * nodes, the ping clients, and stopping them. Containers boot with `--volatile=overlay`:
 * the cached root file system stays read-only underneath a tmpfs that lives in the
 * container's own mount namespace, so nothing is copied to start a host and nothing is
 * left mounted when it is gone. Commands run inside in every namespace of the container's
 * init (the "leader"), entered by a fork child that then drops every capability: the
 * binaries it runs belong to the container (struct enter). Files are read out of a container only through
 * openat2(RESOLVE_IN_ROOT) on its root: a node that plants a symlink in its state dir
 * cannot make the devnet (root) read a file of this machine.
 */
#define _GNU_SOURCE
#include "devnet/nspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/securebits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/upgrade.h"

#define NSPAWN "/usr/bin/systemd-nspawn"
#define BOOT_TIMEOUT_S 60.0
#define ACTIVE_TIMEOUT_S 90.0
#define STOP_GRACE_S 12.0
#define SYNC_EVERY_S 3.0
#define CMD_OUT_MAX (64u << 20) /* a journal export */
#define CMD_TIMEOUT_S 60.0
#define NODE_FILE_MAX (64u << 10)
#define PING_EVERY_MS 10

struct dn_nspawn {
    const struct dn_config *cfg;
    pid_t nspawn[ANT_DEVNET_MAX_HOSTS];
    pid_t leader[ANT_DEVNET_MAX_HOSTS];
    int leader_fd[ANT_DEVNET_MAX_HOSTS]; /* pidfd of leader[h], opened while it is known */
    pid_t pinger[ANT_DEVNET_MAX_HOSTS];
    double next_sync;
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* --- running programs ------------------------------------------------------------- */

/*
 * How a child enters a container: descriptors of the container init's namespaces, opened
 * before fork so the child makes only system calls. A command the devnet runs inside is a
 * binary of the container's file system, which root in the container can replace: the
 * child therefore drops every capability before exec (`drop_caps`), keeps uid 0 (the
 * journal and systemd's private socket are root's, no capability needed to read them),
 * and gets a fixed environment. Only install() keeps its capabilities (systemd wants
 * CAP_SYS_ADMIN of a caller that enables units), before any ant-node ran in the container.
 */
#define ENTER_MAX_NS 7
struct enter {
    int fd[ENTER_MAX_NS];
    unsigned n;
    bool pidns;      /* fork once more after setns, so the command is in the pid ns */
    bool drop_caps;
    int last_cap;    /* /proc/sys/kernel/cap_last_cap */
};

static char *const clean_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                                  "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", NULL};

static int cap_last(void)
{
    char buf[16] = {0};
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    long v = n > 0 ? strtol(buf, NULL, 10) : -1;
    /* Unknown: drop every number a capability could have. */
    return v >= 0 && v < 64 ? (int)v : 63;
}

/*
 * In a fork child: no way back to any capability, for this process and what it executes.
 * Securebits first (root gains nothing at exec, the bits locked), then the bounding and
 * ambient sets, no_new_privs, and last the process's own sets (capset needs none, but the
 * steps before need CAP_SETPCAP). Async-signal-safe: prctl and syscall only.
 */
static bool drop_all_caps(int last_cap)
{
    /* Without CAP_SETPCAP (not root: a test) there are no bounding bits to drop and no
     * securebits to set; no_new_privs and the empty sets below still hold. */
    if (prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1 || geteuid() != 0)
        goto rest;
    if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
                                     SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
                                     SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
                                     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
              0, 0, 0) != 0)
        return false;
    for (int c = 0; c <= last_cap; c++) {
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
            return false;
    }
rest:
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
        return false;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return false;
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    return syscall(SYS_capset, &hdr, data) == 0;
}

/* The fork child's part of entering: namespaces, the pid ns's extra fork, the cap drop. On
 * failure it _exits 126; the parent sees that as the command failing. */
static void child_enter(const struct enter *en)
{
    for (unsigned i = 0; i < en->n; i++) {
        if (setns(en->fd[i], 0) != 0)
            _exit(126);
        close(en->fd[i]);
    }
    if (en->n > 0 && chdir("/") != 0)
        _exit(126);
    if (en->drop_caps && !drop_all_caps(en->last_cap))
        _exit(126);
    if (!en->pidns)
        return;
    /* setns(pid) places only children in the namespace. This process waits for that child
     * and exits as it did; the child dies with it when the devnet kills it on a timeout.
     * Its parent is outside its pid namespace, so getppid() is 0 while that parent lives. */
    pid_t kid = fork();
    if (kid < 0)
        _exit(126);
    if (kid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != 0)
            _exit(126);
        return;
    }
    int st = 0;
    while (waitpid(kid, &st, 0) < 0) {
        if (errno != EINTR)
            _exit(126);
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/*
 * Runs argv (argv[0] an absolute path) with stdin from /dev/null and stdout captured into
 * *out (NUL-terminated, at most CMD_OUT_MAX; NULL: discarded), stderr to `errfd` (or
 * /dev/null), killed after CMD_TIMEOUT_S. *status = the wait status. With `en`, the child
 * enters its namespaces and drops its capabilities first (struct enter).
 */
static ant_err run(const char *const *argv, const struct enter *en, char **out, size_t *outlen,
                   int errfd, int *status)
{
    int p[2] = {-1, -1};
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (out != NULL && dn_pipe(p) != ANT_OK)
        return ANT_ERR_IO;
    pid_t pid = fork();
    if (pid < 0) {
        if (p[0] >= 0) {
            close(p[0]);
            close(p[1]);
        }
        return ANT_ERR_IO;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(out != NULL ? p[1] : devnull, STDOUT_FILENO);
            dup2(errfd >= 0 ? errfd : devnull, STDERR_FILENO);
        }
        if (en != NULL) {
            child_enter(en);
            execve(argv[0], (char *const *)argv, clean_env);
        } else {
            execv(argv[0], (char *const *)argv);
        }
        _exit(127);
    }
    ant_err e = ANT_OK;
    if (out != NULL) {
        close(p[1]);
        double deadline = dn_now() + CMD_TIMEOUT_S;
        for (;;) {
            double left = deadline - dn_now();
            if (left <= 0) {
                kill(pid, SIGKILL);
                e = ANT_ERR_TIMEOUT;
                break;
            }
            struct pollfd pf = {.fd = p[0], .events = POLLIN};
            int r = poll(&pf, 1, (int)(left * 1000) + 1);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                continue;
            if (cap - len < 65536) {
                size_t ncap = cap == 0 ? 262144 : cap * 2;
                if (ncap > CMD_OUT_MAX + 65536) {
                    kill(pid, SIGKILL);
                    e = ANT_ERR_TOO_LARGE;
                    break;
                }
                char *nb = realloc(buf, ncap);
                if (nb == NULL) {
                    kill(pid, SIGKILL);
                    e = ANT_ERR_NOMEM;
                    break;
                }
                buf = nb;
                cap = ncap;
            }
            ssize_t n = read(p[0], buf + len, cap - len - 1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            len += (size_t)n;
        }
        close(p[0]);
    }
    int st = 0;
    double deadline = dn_now() + CMD_TIMEOUT_S;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            e = ANT_ERR_IO;
            break;
        }
        if (dn_now() > deadline) {
            kill(pid, SIGKILL);
            deadline = dn_now() + 5;
            e = ANT_ERR_TIMEOUT;
        }
        sleep_ms(5);
    }
    if (status != NULL)
        *status = st;
    if (out != NULL) {
        if (e != ANT_OK) {
            free(buf);
            return e;
        }
        if (buf == NULL && (buf = malloc(1)) == NULL)
            return ANT_ERR_NOMEM;
        buf[len] = '\0';
        *out = buf;
        if (outlen != NULL)
            *outlen = len;
    }
    return e;
}

static void close_enter(struct enter *en)
{
    for (unsigned i = 0; i < en->n; i++)
        close(en->fd[i]);
    en->n = 0;
}

/* Opens the namespaces of `leader` that differ from this process's (setns into one's own
 * user namespace fails; the others are entered in nsenter's order, user last). */
static ant_err open_enter(pid_t leader, bool drop_caps, struct enter *en)
{
    static const char *const kinds[] = {"cgroup", "ipc", "uts", "net", "pid", "mnt", "user"};
    memset(en, 0, sizeof *en);
    en->drop_caps = drop_caps;
    en->last_cap = cap_last();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char path[64], self[64];
        struct stat a, b;
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)leader, kinds[k]);
        snprintf(self, sizeof self, "/proc/self/ns/%s", kinds[k]);
        if (stat(path, &a) != 0) {
            if (errno == ENOENT && strcmp(kinds[k], "cgroup") == 0)
                continue;
            close_enter(en);
            return ANT_ERR_NOT_FOUND;
        }
        if (stat(self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
            strcmp(kinds[k], "mnt") != 0)
            continue; /* the same: nothing to enter (mnt always, it sets root and cwd) */
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            close_enter(en);
            return ANT_ERR_NOT_FOUND;
        }
        en->fd[en->n++] = fd;
        if (strcmp(kinds[k], "pid") == 0)
            en->pidns = true;
    }
    return ANT_OK;
}

/* Runs a command inside the container whose init is `leader`, in every one of its
 * namespaces, without any capability (struct enter) unless `privileged`. */
static ant_err run_in_ex(pid_t leader, bool privileged, const char *const *argv, char **out,
                         size_t *outlen, int errfd, int *status)
{
    struct enter en;
    ant_err e = open_enter(leader, !privileged, &en);
    if (e != ANT_OK)
        return e;
    e = run(argv, &en, out, outlen, errfd, status);
    close_enter(&en);
    return e;
}

static ant_err run_in(pid_t leader, const char *const *argv, char **out, size_t *outlen,
                      int errfd, int *status)
{
    return run_in_ex(leader, false, argv, out, outlen, errfd, status);
}

ant_err dn_nspawn_run_capless(const char *const *argv, char **out, size_t *outlen, int *status)
{
    struct enter en;
    memset(&en, 0, sizeof en);
    en.drop_caps = true;
    en.last_cap = cap_last();
    return run(argv, &en, out, outlen, -1, status);
}

static bool exited_ok(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* --- containers ---------------------------------------------------------------------- */

ant_err dn_nspawn_check(const struct dn_config *cfg)
{
    char path[PATH_MAX];
    if (geteuid() != 0) {
        ant_log(ANT_LOG_ERROR, "devnet", "--systemd needs root (containers, namespaces)");
        return ANT_ERR_INVALID_ARG;
    }
    static const char *const tools[] = {NSPAWN};
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        if (access(tools[i], X_OK) != 0) {
            ant_log(ANT_LOG_ERROR, "devnet", "--systemd needs %s (systemd-container, util-linux)",
                    tools[i]);
            return ANT_ERR_NOT_FOUND;
        }
    }
    if (dn_path(path, sizeof path, "%s/.ant-complete", cfg->rootfs) != ANT_OK ||
        access(path, F_OK) != 0 ||
        dn_path(path, sizeof path, "%s/lib/systemd/systemd", cfg->rootfs) != ANT_OK ||
        access(path, X_OK) != 0) {
        ant_log(ANT_LOG_ERROR, "devnet",
                "no systemd host root file system at %s (make it with "
                "scripts/systemd-host-rootfs.sh BUILD_DIR)",
                cfg->rootfs);
        return ANT_ERR_NOT_FOUND;
    }
    if (dn_path(path, sizeof path, "%s/install.sh", cfg->packaging) != ANT_OK ||
        access(path, R_OK) != 0 ||
        dn_path(path, sizeof path, "%s/systemd/ant-node@.service", cfg->packaging) != ANT_OK ||
        access(path, R_OK) != 0) {
        ant_log(ANT_LOG_ERROR, "devnet", "no install.sh and ant-node@.service under %s",
                cfg->packaging);
        return ANT_ERR_NOT_FOUND;
    }
    return ANT_OK;
}

static ant_err copy_in(const char *src, const char *dir, const char *name)
{
    char dst[PATH_MAX];
    ant_err e = dn_path(dst, sizeof dst, "%s/%s", dir, name);
    return e != ANT_OK ? e : dn_copy_file(src, dst, 0644);
}

ant_err dn_nspawn_prepare(const struct dn_config *cfg)
{
    char dir[PATH_MAX], path[PATH_MAX], src[PATH_MAX], sip[24], hip[24];
    char text[2048];
    for (unsigned h = 0; h < cfg->hosts; h++) {
        ant_err e = dn_path(dir, sizeof dir, "%s/hosts/h%u/devnet", cfg->dir, h);
        if (e == ANT_OK)
            e = dn_mkdirs(dir, 0700);
        if (e == ANT_OK)
            e = dn_netns_server_ip(cfg, sip, sizeof sip);
        if (e == ANT_OK)
            e = dn_netns_host_ip(cfg, h, hip, sizeof hip);
        if (e == ANT_OK)
            e = dn_path(src, sizeof src, "%s/tls/ca.pem", cfg->dir);
        if (e == ANT_OK)
            e = copy_in(src, dir, "ca.pem");
        if (e == ANT_OK)
            e = dn_path(src, sizeof src, "%s/keys/trusted/devnet.pub", cfg->dir);
        if (e == ANT_OK)
            e = copy_in(src, dir, "devnet.pub");
        if (e == ANT_OK)
            e = dn_path(src, sizeof src, "%s/keys/meta/trusted-root.json", cfg->dir);
        if (e == ANT_OK)
            e = copy_in(src, dir, "trusted-root.json");
        if (e != ANT_OK)
            return e;
        /* The test-and-devnet drop-in: a hang fails in seconds, not the shipped 90 s. */
        int w = snprintf(text, sizeof text,
                         "# ant-devnet --systemd: a start that never sends READY=1 fails "
                         "fast (the shipped unit says 90 s).\n[Service]\nTimeoutStartSec=%d\n",
                         DN_NSPAWN_START_TIMEOUT_S);
        e = dn_path(path, sizeof path, "%s/zz-devnet.conf", dir);
        if (e == ANT_OK)
            e = dn_write_file(path, text, (size_t)w, 0644);
        for (unsigned n = 0; e == ANT_OK && n < cfg->nodes; n++) {
            char trial[64] = "";
            if (cfg->trial_period_s > 0)
                snprintf(trial, sizeof trial, "ANT_TRIAL_PERIOD=%llus\n",
                         (unsigned long long)cfg->trial_period_s);
            w = snprintf(text, sizeof text,
                         "ANT_LISTEN=%s:%u\n"
                         "ANT_TRUSTED_KEYS_DIR=/etc/ant-node/devnet/trusted\n"
                         "ANT_CA_FILE=/etc/ant-node/devnet/ca.pem\n"
                         "ANT_TRUSTED_ROOT=/etc/ant-node/devnet/trusted-root.json\n"
                         "ANT_UPGRADE_API_URL=https://%s:%u\n"
                         "ANT_UPGRADE_REPO=%s/%s\n"
                         "ANT_METADATA_URL=https://%s:%u/%s/%s/releases/download/metadata/\n"
                         "ANT_UPGRADE_CHANNEL=%s\n"
                         "ANT_CHECK_INTERVAL=%llus\n"
                         "ANT_ROLLOUT_WINDOW=%llus\n"
                         "ANT_RELEASE_TTL=%llus\n%s",
                         hip, (unsigned)cfg->node_port[h * cfg->nodes + n], sip,
                         (unsigned)cfg->https_port, ANT_DEVNET_OWNER, ANT_DEVNET_REPO, sip,
                         (unsigned)cfg->https_port, ANT_DEVNET_OWNER, ANT_DEVNET_REPO,
                         cfg->channel, (unsigned long long)cfg->check_interval_s,
                         (unsigned long long)cfg->rollout_window_s,
                         (unsigned long long)cfg->release_ttl_s, trial);
            if (w < 0 || (size_t)w >= sizeof text)
                return ANT_ERR_INVALID_ARG;
            e = dn_path(path, sizeof path, "%s/%u.env", dir, n + 1);
            if (e == ANT_OK)
                e = dn_write_file(path, text, (size_t)w, 0644);
        }
        if (e != ANT_OK)
            return e;
    }
    return ANT_OK;
}

/* Boots host h: systemd-nspawn as a child, console to logs/console.log. */
static ant_err boot(struct dn_nspawn *ns, unsigned h)
{
    const struct dn_config *c = ns->cfg;
    char netns[64], nsarg[PATH_MAX + 32], dir[PATH_MAX], machine[32], log[PATH_MAX];
    char b_dev[PATH_MAX + 32], b_pkg[PATH_MAX + 32], b_bin[PATH_MAX + 32], rootarg[PATH_MAX + 8];
    char b_doc[PATH_MAX + 32];
    ant_err e = dn_netns_name(c, h, netns, sizeof netns);
    if (e == ANT_OK)
        e = dn_path(nsarg, sizeof nsarg, "--network-namespace-path=/run/netns/%s", netns);
    if (e == ANT_OK)
        e = dn_path(dir, sizeof dir, "%s/hosts/h%u", c->dir, h);
    if (e == ANT_OK)
        e = dn_path(machine, sizeof machine, "--machine=adn%sh%u", c->net_id, h);
    if (e == ANT_OK)
        e = dn_path(log, sizeof log, "%s/logs/console.log", dir);
    if (e == ANT_OK)
        e = dn_path(rootarg, sizeof rootarg, "-D%s", c->rootfs);
    if (e == ANT_OK)
        e = dn_path(b_dev, sizeof b_dev, "--bind-ro=%s/devnet:/mnt/devnet", dir);
    if (e == ANT_OK)
        e = dn_path(b_pkg, sizeof b_pkg, "--bind-ro=%s:/mnt/src/packaging", c->packaging);
    if (e == ANT_OK)
        e = dn_path(b_doc, sizeof b_doc, "--bind-ro=%s/../docs:/mnt/src/docs", c->packaging);
    if (e == ANT_OK)
        e = dn_path(b_bin, sizeof b_bin, "--bind-ro=%s/bin/ant-node:/mnt/ant-node", dir);
    if (e != ANT_OK)
        return e;
    char docs[PATH_MAX];
    bool have_docs = dn_path(docs, sizeof docs, "%s/../docs", c->packaging) == ANT_OK &&
                     access(docs, R_OK | X_OK) == 0;
    /* --register=no --keep-unit: no machined or scope needed, so the host's init may be
     * anything; the container is this process's child and dies with its init. */
    const char *argv[] = {NSPAWN, rootarg, "--volatile=overlay", "--register=no",
                          "--keep-unit", nsarg, machine, b_dev, b_pkg, b_bin, "-b",
                          have_docs ? b_doc : NULL, NULL};
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (logfd < 0)
        return ANT_ERR_IO;
    pid_t pid = fork();
    if (pid < 0) {
        close(logfd);
        return ANT_ERR_IO;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        dup2(logfd, STDOUT_FILENO);
        dup2(logfd, STDERR_FILENO);
        execv(NSPAWN, (char *const *)argv);
        _exit(127);
    }
    close(logfd);
    ns->nspawn[h] = pid;
    return ANT_OK;
}

/* The parent pid of `pid` and its comm, from /proc. */
static bool proc_parent(pid_t pid, pid_t *ppid, char *comm, size_t cap)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *l = strchr(buf, '('), *r = strrchr(buf, ')');
    if (l == NULL || r == NULL || r < l || r[1] != ' ')
        return false;
    snprintf(comm, cap, "%.*s", (int)(r - l - 1), l + 1);
    /* after ") ": the state letter, a space, the parent pid */
    if (r[2] == '\0' || r[3] != ' ')
        return false;
    char *end = NULL;
    errno = 0;
    long pp = strtol(r + 4, &end, 10);
    if (errno != 0 || end == r + 4 || *end != ' ' || pp < 0 || pp > INT32_MAX)
        return false;
    *ppid = (pid_t)pp;
    return true;
}

/* Parses a positive pid at *p, then skips one space; false if there is none. */
static bool next_pid(char **p, pid_t *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (errno != 0 || end == *p || v <= 1 || v > INT32_MAX || *end != ' ')
        return false;
    *out = (pid_t)v;
    *p = end + 1;
    return true;
}

/* True if `pid` is in another pid namespace than this process. */
static bool other_pidns(pid_t pid)
{
    char a[64], b[64], path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
    ssize_t na = readlink(path, a, sizeof a - 1), nb = readlink("/proc/self/ns/pid", b, sizeof b - 1);
    if (na <= 0 || nb <= 0)
        return false;
    a[na] = b[nb] = '\0';
    return strcmp(a, b) != 0;
}

/* The container's init: the child of nspawn running systemd in a pid namespace of its own. */
static pid_t find_leader(pid_t nspawn)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)nspawn, (int)nspawn);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    for (char *p = buf; *p != '\0';) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        pid_t pp = 0;
        char comm[32];
        if (v > 1 && proc_parent((pid_t)v, &pp, comm, sizeof comm) && pp == nspawn &&
            strcmp(comm, "systemd") == 0 && other_pidns((pid_t)v))
            return (pid_t)v;
        p = end;
    }
    return 0;
}

static ant_err write_pidfile(const struct dn_config *c, unsigned h, pid_t nspawn, pid_t leader)
{
    char path[PATH_MAX], text[96];
    int w = snprintf(text, sizeof text, "%d %d %.3f\n", (int)nspawn, (int)leader,
                     dn_pid_start_time(leader));
    ant_err e = dn_path(path, sizeof path, "%s/hosts/h%u/container.pid", c->dir, h);
    return e != ANT_OK ? e : dn_write_file(path, text, (size_t)w, 0600);
}

/* Reads host h's container.pid; *leader = 0 unless it names the same live container init.
 * With `any_state`, a leader that is the same process (pid and start time) counts even
 * when it no longer looks like a running systemd (shutting down, its nspawn gone). */
static void read_pidfile_ex(const char *dir, unsigned h, pid_t *nspawn, pid_t *leader,
                            bool any_state)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    *nspawn = *leader = 0;
    if (dn_path(path, sizeof path, "%s/hosts/h%u/container.pid", dir, h) != ANT_OK ||
        dn_read_file(path, 128, &text, &len) != ANT_OK)
        return;
    pid_t a = 0, b = 0;
    double start = 0;
    char *p = text, *end = NULL;
    bool parsed = next_pid(&p, &a) && next_pid(&p, &b);
    if (parsed) {
        start = strtod(p, &end);
        parsed = end != p;
    }
    if (parsed) {
        pid_t pp = 0;
        char comm[32];
        double now_start = dn_pid_start_time((pid_t)b);
        *nspawn = (pid_t)a;
        bool same = now_start > 0 && now_start - start < 0.05 && start - now_start < 0.05;
        if (same && (any_state || (proc_parent((pid_t)b, &pp, comm, sizeof comm) &&
                                   strcmp(comm, "systemd") == 0 && other_pidns((pid_t)b))))
            *leader = (pid_t)b;
    }
    free(text);
}

static void read_pidfile(const char *dir, unsigned h, pid_t *nspawn, pid_t *leader)
{
    read_pidfile_ex(dir, h, nspawn, leader, false);
}

/* A pidfd of `pid`, -1 if none. Signals sent through it reach that process or nobody,
 * never one that got its pid after it died. */
static int pidfd_of(pid_t pid)
{
    return pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
}

static bool pidfd_kill(int pidfd, int sig)
{
    return pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0;
}

/* Waits until the container's manager is up and finished booting. */
static ant_err wait_booted(struct dn_nspawn *ns, unsigned h)
{
    double deadline = dn_now() + BOOT_TIMEOUT_S;
    while (ns->leader[h] == 0) {
        if (!dn_pid_alive(ns->nspawn[h]) || dn_now() > deadline) {
            ant_log(ANT_LOG_ERROR, "devnet", "container did not start host=%u (logs/console.log)",
                    h);
            return ANT_ERR_TIMEOUT;
        }
        ns->leader[h] = find_leader(ns->nspawn[h]);
        if (ns->leader[h] == 0) {
            sleep_ms(50);
            continue;
        }
        /* The pidfd names the process found only if it is still a systemd under our
         * nspawn once the pidfd is open (the pid may have been reused in between). */
        ns->leader_fd[h] = pidfd_of(ns->leader[h]);
        if (ns->leader_fd[h] < 0 || find_leader(ns->nspawn[h]) != ns->leader[h]) {
            if (ns->leader_fd[h] >= 0)
                close(ns->leader_fd[h]);
            ns->leader_fd[h] = -1;
            ns->leader[h] = 0;
            sleep_ms(50);
        }
    }
    ant_err e = write_pidfile(ns->cfg, h, ns->nspawn[h], ns->leader[h]);
    if (e != ANT_OK)
        return e;
    /* PID 1 exists before its bus does: ask until it answers, then until boot is over. */
    const char *argv[] = {"/bin/systemctl", "is-system-running", NULL};
    char *out = NULL;
    while (dn_now() < deadline) {
        int st = 0;
        if (run_in(ns->leader[h], argv, &out, NULL, -1, &st) == ANT_OK) {
            bool done = strncmp(out, "running", 7) == 0 || strncmp(out, "degraded", 8) == 0;
            if (done && strncmp(out, "degraded", 8) == 0)
                ant_log(ANT_LOG_WARN, "devnet", "container booted degraded host=%u", h);
            free(out);
            out = NULL;
            if (done)
                return ANT_OK;
        }
        sleep_ms(100);
    }
    ant_log(ANT_LOG_ERROR, "devnet", "container did not finish booting host=%u", h);
    return ANT_ERR_TIMEOUT;
}

/* Puts the devnet's files in place and runs the installer of packaging/ in host h. */
static ant_err install(struct dn_nspawn *ns, unsigned h)
{
    const struct dn_config *c = ns->cfg;
    char script[2048], log[PATH_MAX], hip[24];
    ant_err e = dn_netns_host_ip(c, h, hip, sizeof hip);
    if (e == ANT_OK)
        e = dn_path(script, sizeof script,
                    "set -e; cd /mnt/devnet;"
                    " install -d -m 0755 /etc/ant-node /etc/ant-node/devnet"
                    " /etc/ant-node/devnet/trusted /etc/systemd/system/ant-node@.service.d;"
                    " install -m 0644 ca.pem trusted-root.json /etc/ant-node/devnet/;"
                    " install -m 0644 devnet.pub /etc/ant-node/devnet/trusted/;"
                    " install -m 0644 *.env /etc/ant-node/;"
                    " install -m 0644 zz-devnet.conf /etc/systemd/system/ant-node@.service.d/;"
                    " exec /mnt/src/packaging/install.sh install --binary /mnt/ant-node"
                    " --instances %u --base-port %u --listen-host %s",
                    c->nodes, (unsigned)DN_NSPAWN_BASE_PORT, hip);
    if (e == ANT_OK)
        e = dn_path(log, sizeof log, "%s/hosts/h%u/logs/install.log", c->dir, h);
    if (e != ANT_OK)
        return e;
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (logfd < 0)
        return ANT_ERR_IO;
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    int st = 0;
    char *out = NULL;
    e = run_in_ex(ns->leader[h], true, argv, &out, NULL, logfd, &st);
    if (out != NULL) {
        ssize_t w = write(logfd, out, strlen(out));
        (void)w;
        free(out);
    }
    close(logfd);
    if (e == ANT_OK && !exited_ok(st)) {
        ant_log(ANT_LOG_ERROR, "devnet", "install.sh failed host=%u status=%d (logs/install.log)",
                h, st);
        e = ANT_ERR_IO;
    }
    return e;
}

/* Waits until every ant-node unit of host h is active (Type=notify: after READY=1). */
static ant_err wait_active(struct dn_nspawn *ns, unsigned h, double deadline)
{
    const struct dn_config *c = ns->cfg;
    const char *argv[4 + ANT_DEVNET_MAX_NODES_PER_HOST];
    char units[ANT_DEVNET_MAX_NODES_PER_HOST][32];
    size_t k = 0;
    argv[k++] = "/bin/systemctl";
    argv[k++] = "is-active";
    for (unsigned n = 0; n < c->nodes; n++) {
        snprintf(units[n], sizeof units[n], "ant-node@%u.service", n + 1);
        argv[k++] = units[n];
    }
    argv[k] = NULL;
    while (dn_now() < deadline) {
        char *out = NULL;
        int st = 0;
        if (run_in(ns->leader[h], argv, &out, NULL, -1, &st) == ANT_OK) {
            bool all = exited_ok(st);
            free(out);
            if (all)
                return ANT_OK;
        }
        sleep_ms(200);
    }
    ant_log(ANT_LOG_ERROR, "devnet", "ant-node units not active host=%u", h);
    return ANT_ERR_TIMEOUT;
}

/* --- the ping client ------------------------------------------------------------------ */

struct ping_counts {
    unsigned long long ok, refused, dropped;
    double longest_gap_ms;
};

static void ping_save(const char *path, const char *target, const struct ping_counts *pc)
{
    char text[512];
    int w = snprintf(text, sizeof text,
                     "{\"target\": \"%s\", \"ok\": %llu, \"refused\": %llu, \"dropped\": %llu, "
                     "\"longest_gap_ms\": %.0f, \"updated_at\": %.3f}\n",
                     target, pc->ok, pc->refused, pc->dropped, pc->longest_gap_ms, dn_now());
    if (w > 0 && (size_t)w < sizeof text && dn_write_file(path, text, (size_t)w, 0644) != ANT_OK)
        ant_log(ANT_LOG_WARN, "devnet", "ping counts not written path=%s", path);
}

/* One PING (the framed protocol: length 4, version 1, type PING, flags 0, "ping") and its
 * reply; 1 answered, 0 dropped, -1 refused. */
static int ping_once(const struct sockaddr_in *to)
{
    static const unsigned char frame[] = {0, 0, 0, 4, 1, 0x01, 0, 0, 'p', 'i', 'n', 'g'};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int result = 0;
    if (connect(fd, (const struct sockaddr *)to, sizeof *to) != 0) {
        result = errno == ECONNREFUSED ? -1 : 0;
        goto out;
    }
    if (send(fd, frame, sizeof frame, MSG_NOSIGNAL) != (ssize_t)sizeof frame)
        goto out;
    unsigned char reply[sizeof frame] = {0};
    size_t got = 0;
    while (got < sizeof reply) {
        ssize_t n = recv(fd, reply + got, sizeof reply - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    result = got == sizeof reply && reply[5] == 0x81;
out:
    close(fd);
    return result;
}

/* The client process: PINGs host h's node 0 every 10 ms until SIGTERM, saving its counts
 * every second and at the end. */
static void pinger_main(const struct dn_config *c, unsigned h, const char *hip)
{
    static volatile sig_atomic_t stop_flag;
    char path[PATH_MAX], target[48];
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons(c->node_port[h * c->nodes]);
    if (inet_pton(AF_INET, hip, &to.sin_addr) != 1 ||
        dn_path(path, sizeof path, "%s/hosts/h%u/ping.json", c->dir, h) != ANT_OK)
        _exit(1);
    snprintf(target, sizeof target, "%s:%u", hip, (unsigned)c->node_port[h * c->nodes]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    struct ping_counts pc = {0, 0, 0, 0};
    double last_ok = dn_now(), next_save = 0;
    while (!stop_flag) {
        int r = ping_once(&to);
        double now = dn_now();
        if (r > 0) {
            if ((now - last_ok) * 1000.0 > pc.longest_gap_ms)
                pc.longest_gap_ms = (now - last_ok) * 1000.0;
            last_ok = now;
            pc.ok++;
        } else if (r < 0) {
            pc.refused++;
        } else {
            pc.dropped++;
        }
        if (now >= next_save) {
            ping_save(path, target, &pc);
            next_save = now + 1.0;
        }
        struct timespec wait = {0, PING_EVERY_MS * 1000000L};
        siginfo_t info;
        if (sigtimedwait(&set, &info, &wait) == SIGTERM)
            stop_flag = 1;
    }
    ping_save(path, target, &pc);
    _exit(0);
}

static ant_err start_pinger(struct dn_nspawn *ns, unsigned h)
{
    char hip[24];
    ant_err e = dn_netns_host_ip(ns->cfg, h, hip, sizeof hip);
    if (e != ANT_OK)
        return e;
    pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return ANT_ERR_IO;
    if (pid == 0) {
        /* SIGTERM stays blocked (inherited from the supervisor): taken by sigtimedwait.
         * It also comes when the supervisor dies (SIGKILLed, no stop to end the client). */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigprocmask(SIG_SETMASK, &set, NULL);
        if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != self)
            _exit(1);
        pinger_main(ns->cfg, h, hip);
    }
    ns->pinger[h] = pid;
    return ANT_OK;
}

/* --- supervisor side ------------------------------------------------------------------ */

ant_err dn_nspawn_up(const struct dn_config *cfg, struct dn_nspawn **out)
{
    struct dn_nspawn *ns = calloc(1, sizeof *ns);
    if (ns == NULL)
        return ANT_ERR_NOMEM;
    ns->cfg = cfg;
    for (unsigned h = 0; h < ANT_DEVNET_MAX_HOSTS; h++)
        ns->leader_fd[h] = -1;
    ant_err e = ANT_OK;
    double t0 = dn_now();
    /* Boot all hosts at once; each takes about a second, installs are done one by one. */
    for (unsigned h = 0; h < cfg->hosts && e == ANT_OK; h++)
        e = boot(ns, h);
    for (unsigned h = 0; h < cfg->hosts && e == ANT_OK; h++) {
        e = wait_booted(ns, h);
        if (e == ANT_OK)
            e = install(ns, h);
    }
    for (unsigned h = 0; h < cfg->hosts && e == ANT_OK; h++)
        e = wait_active(ns, h, dn_now() + ACTIVE_TIMEOUT_S);
    for (unsigned h = 0; h < cfg->hosts && e == ANT_OK; h++)
        e = start_pinger(ns, h);
    if (e == ANT_OK)
        e = dn_nspawn_sync(cfg);
    if (e != ANT_OK) {
        dn_nspawn_stop(ns);
        return e;
    }
    ns->next_sync = dn_now() + SYNC_EVERY_S;
    ant_log(ANT_LOG_INFO, "devnet",
            "Systemd hosts up hosts=%u units=%u seconds=%.1f rootfs=%s", cfg->hosts,
            cfg->hosts * cfg->nodes, dn_now() - t0, cfg->rootfs);
    *out = ns;
    return ANT_OK;
}

bool dn_nspawn_reaped(struct dn_nspawn *ns, pid_t pid, int status)
{
    if (ns == NULL)
        return false;
    for (unsigned h = 0; h < ns->cfg->hosts; h++) {
        if (ns->nspawn[h] == pid) {
            ant_log(ANT_LOG_WARN, "devnet", "Container exited host=%u status=%d", h, status);
            ns->nspawn[h] = 0;
            ns->leader[h] = 0;
            if (ns->leader_fd[h] >= 0)
                close(ns->leader_fd[h]);
            ns->leader_fd[h] = -1;
            return true;
        }
        if (ns->pinger[h] == pid) {
            ns->pinger[h] = 0;
            return true;
        }
    }
    return false;
}

void dn_nspawn_poll(struct dn_nspawn *ns, double now)
{
    if (ns == NULL || now < ns->next_sync)
        return;
    if (dn_nspawn_sync(ns->cfg) != ANT_OK)
        ant_log(ANT_LOG_WARN, "devnet", "systemd hosts not synced; retrying");
    ns->next_sync = dn_now() + SYNC_EVERY_S;
}

void dn_nspawn_stop(struct dn_nspawn *ns)
{
    if (ns == NULL)
        return;
    const struct dn_config *c = ns->cfg;
    for (unsigned h = 0; h < c->hosts; h++) {
        if (ns->pinger[h] > 0)
            kill(ns->pinger[h], SIGTERM);
    }
    /* A last export, so report after `down` still sees the whole run. */
    if (dn_nspawn_sync(c) != ANT_OK)
        ant_log(ANT_LOG_WARN, "devnet", "last sync of the systemd hosts failed");
    /* SIGTERM makes nspawn power the container off (systemd stops the units). */
    for (unsigned h = 0; h < c->hosts; h++) {
        if (ns->nspawn[h] > 0)
            kill(ns->nspawn[h], SIGTERM);
    }
    double deadline = dn_now() + STOP_GRACE_S;
    bool killed = false;
    for (;;) {
        unsigned live = 0;
        for (unsigned h = 0; h < c->hosts; h++) {
            pid_t *ps[2] = {&ns->nspawn[h], &ns->pinger[h]};
            for (int k = 0; k < 2; k++) {
                if (*ps[k] <= 0)
                    continue;
                if (waitpid(*ps[k], NULL, WNOHANG) == *ps[k] || !dn_pid_alive(*ps[k]))
                    *ps[k] = 0;
                else
                    live++;
            }
        }
        if (live == 0)
            break;
        if (!killed && dn_now() > deadline) {
            ant_log(ANT_LOG_WARN, "devnet", "containers did not power off in time; killing");
            for (unsigned h = 0; h < c->hosts; h++) {
                /* The whole pid namespace goes with it; by pidfd, as the pid itself may
                 * be another process's by now. */
                pidfd_kill(ns->leader_fd[h], SIGKILL);
                if (ns->nspawn[h] > 0)
                    kill(ns->nspawn[h], SIGKILL);
                if (ns->pinger[h] > 0)
                    kill(ns->pinger[h], SIGKILL);
            }
            killed = true;
        }
        sleep_ms(50);
    }
    for (unsigned h = 0; h < c->hosts; h++) {
        char path[PATH_MAX];
        if (dn_path(path, sizeof path, "%s/hosts/h%u/container.pid", c->dir, h) == ANT_OK)
            unlink(path);
        if (ns->leader_fd[h] >= 0)
            close(ns->leader_fd[h]);
    }
    free(ns);
}

ant_err dn_nspawn_destroy(const char *dir)
{
    struct dn_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ANT_ERR_NOMEM;
    ant_err e = dn_config_load(dir, c);
    if (e != ANT_OK || !c->systemd) {
        free(c);
        return e == ANT_ERR_NOT_FOUND || e == ANT_OK ? ANT_OK : e;
    }
    unsigned left = 0;
    for (unsigned h = 0; h < c->hosts; h++) {
        pid_t nsp = 0, leader = 0;
        /* nspawn may be dead already (killed by `down`'s sweep): its container's init
         * then dies too (parent-death signal) or is still shutting down; wait for it. */
        read_pidfile_ex(c->dir, h, &nsp, &leader, true);
        if (leader > 0) {
            /* Checked by start time, then pinned by a pidfd and checked again: the signal
             * reaches the container's init or nobody. */
            int pfd = pidfd_of(leader);
            pid_t again = 0;
            if (pfd >= 0)
                read_pidfile_ex(c->dir, h, &nsp, &again, true);
            bool alive = again == leader && pidfd_kill(pfd, SIGKILL);
            struct pollfd pf = {.fd = pfd, .events = POLLIN}; /* readable once it exited */
            for (int i = 0; alive && i < 200; i++)
                alive = poll(&pf, 1, 50) == 0;
            if (pfd >= 0)
                close(pfd);
            if (alive) {
                ant_log(ANT_LOG_ERROR, "devnet", "container init survived SIGKILL host=%u", h);
                left++;
                continue;
            }
        }
        char path[PATH_MAX];
        if (dn_path(path, sizeof path, "%s/hosts/h%u/container.pid", c->dir, h) == ANT_OK)
            unlink(path);
    }
    free(c);
    return left == 0 ? ANT_OK : ANT_ERR_IO;
}

/* --- export --------------------------------------------------------------------------- */

ant_err dn_nspawn_read_at_root(int rootfd, const char *rel, size_t cap, char **data,
                               size_t *len)
{
    /* A handle first (O_PATH opens nothing: no FIFO wakes its writer, no device runs its
     * open), then the file itself only once it is known to be a regular file, through
     * that handle, checked to be the same inode. */
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int pfd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
    if (pfd < 0)
        return errno == ENOENT ? ANT_ERR_NOT_FOUND : ANT_ERR_UNSAFE_FILE;
    struct stat pst, st;
    if (fstat(pfd, &pst) != 0 || !S_ISREG(pst.st_mode)) {
        close(pfd);
        return ANT_ERR_UNSAFE_FILE;
    }
    char self[48];
    snprintf(self, sizeof self, "/proc/self/fd/%d", pfd);
    int fd = open(self, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    close(pfd);
    if (fd < 0)
        return ANT_ERR_UNSAFE_FILE;
    ant_err e = ANT_OK;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_dev != pst.st_dev ||
        st.st_ino != pst.st_ino || (uint64_t)st.st_size > cap) {
        e = ANT_ERR_UNSAFE_FILE;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        e = ANT_ERR_NOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return e;
}

/* A small file at `rel` inside the container whose init is `leader`. */
static ant_err read_in(pid_t leader, const char *rel, char **data, size_t *len)
{
    char root[64];
    snprintf(root, sizeof root, "/proc/%d/root", (int)leader);
    int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rfd < 0)
        return ANT_ERR_NOT_FOUND;
    ant_err e = dn_nspawn_read_at_root(rfd, rel, NODE_FILE_MAX, data, len);
    close(rfd);
    return e;
}

/* Copies node n's rollout secret and metadata state out of the container into
 * D/hosts/h<h>/nodes/n<n>, where the report reads them for every devnet. */
static void export_node_files(const struct dn_config *c, unsigned h, unsigned n, pid_t leader)
{
    static const char *const names[] = {ANT_UPGRADE_SECRET_FILE, "metadata_state.json"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char rel[128], dst[PATH_MAX];
        char *data = NULL;
        size_t len = 0;
        snprintf(rel, sizeof rel, "var/lib/ant-node/%u/%s", n + 1, names[k]);
        if (read_in(leader, rel, &data, &len) == ANT_OK &&
            dn_path(dst, sizeof dst, "%s/hosts/h%u/nodes/n%u/%s", c->dir, h, n, names[k]) ==
                ANT_OK &&
            dn_write_file(dst, data, len, 0600) != ANT_OK)
            ant_log(ANT_LOG_WARN, "devnet", "node file not exported path=%s", dst);
        if (data != NULL) {
            explicit_bzero(data, len);
            free(data);
        }
    }
}

/* The instance number of "ant-node@<i>.service" (1..nodes), or 0. */
static unsigned unit_instance(const char *unit, unsigned nodes)
{
    static const char prefix[] = "ant-node@";
    if (unit == NULL || strncmp(unit, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *p = unit + sizeof prefix - 1;
    char *end = NULL;
    if (*p < '1' || *p > '9')
        return 0;
    errno = 0;
    unsigned long i = strtoul(p, &end, 10);
    if (errno != 0 || strcmp(end, ".service") != 0 || i == 0 || i > nodes)
        return 0;
    return (unsigned)i;
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *x = NULL;
    if (!json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, json_type_string))
        return NULL;
    return json_object_get_string(x);
}

/* The syslog priority the node's level word asks for (src/core/log.c), -1 if none. */
static int level_priority(const char *msg)
{
    const char *sp = strchr(msg, ' ');
    if (sp == NULL)
        return -1;
    static const struct {
        const char *word;
        int prio;
    } map[] = {{"ERROR ", 3}, {"WARN ", 4}, {"INFO ", 6}, {"DEBUG ", 7}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strncmp(sp + 1, map[i].word, strlen(map[i].word)) == 0)
            return map[i].prio;
    }
    return -1;
}

struct unit_seen {
    json_object *restarts_at, *clean_exits_at, *timeouts_at;
    unsigned node_lines, prio_ok, prio_bad, err_lines;
    char *log;
    size_t loglen, logcap;
};

static bool append_line(struct unit_seen *u, const char *msg)
{
    size_t l = strlen(msg);
    if (u->loglen + l + 2 > u->logcap) {
        size_t ncap = (u->logcap == 0 ? 65536 : u->logcap * 2) + l + 2;
        if (ncap > CMD_OUT_MAX)
            return false;
        char *nb = realloc(u->log, ncap);
        if (nb == NULL)
            return false;
        u->log = nb;
        u->logcap = ncap;
    }
    memcpy(u->log + u->loglen, msg, l);
    u->loglen += l;
    u->log[u->loglen++] = '\n';
    return true;
}

/* Splits host h's journal export (journalctl -o json, one object a line) into the nodes'
 * log files and what systemd said about each unit. */
static void read_journal(const struct dn_config *c, char *text, struct unit_seen *seen)
{
    json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return;
    for (char *line = text; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        json_tokener_reset(tok);
        json_object *o = json_tokener_parse_ex(tok, line, (int)strlen(line));
        line = nl != NULL ? nl + 1 : NULL;
        if (o == NULL)
            continue;
        const char *msg = jstr(o, "MESSAGE"), *pid = jstr(o, "_PID");
        const char *rt = jstr(o, "__REALTIME_TIMESTAMP"), *prio = jstr(o, "PRIORITY");
        double t = rt != NULL ? strtod(rt, NULL) / 1e6 : 0;
        unsigned from_node = unit_instance(jstr(o, "_SYSTEMD_UNIT"), c->nodes);
        unsigned about = unit_instance(jstr(o, "UNIT"), c->nodes);
        if (msg != NULL && from_node > 0 && pid != NULL && strcmp(pid, "1") != 0) {
            struct unit_seen *u = &seen[from_node - 1];
            int want = level_priority(msg);
            if (want >= 0) {
                u->node_lines++;
                /* journald writes PRIORITY as one digit */
                if (prio != NULL && prio[0] == (char)('0' + want) && prio[1] == '\0')
                    u->prio_ok++;
                else
                    u->prio_bad++;
                u->err_lines += want <= 3;
            }
            append_line(u, msg);
        } else if (msg != NULL && about > 0 && pid != NULL && strcmp(pid, "1") == 0) {
            struct unit_seen *u = &seen[about - 1];
            if (strstr(msg, "Scheduled restart job") != NULL)
                json_object_array_add(u->restarts_at, json_object_new_double(t));
            else if (strstr(msg, ": Deactivated successfully.") != NULL)
                /* 75 is in SuccessExitStatus=: systemd logs its exit only at debug
                 * level, and a clean stop as this; a crash or kill says "Failed". */
                json_object_array_add(u->clean_exits_at, json_object_new_double(t));
            else if (strstr(msg, "start operation timed out") != NULL)
                json_object_array_add(u->timeouts_at, json_object_new_double(t));
        }
        json_object_put(o);
    }
    json_tokener_free(tok);
}

/* `systemctl show` output: one block of KEY=VALUE lines per unit, blank lines between,
 * in an order of systemd's choosing: each block is matched to its unit by its Id=. */
static void read_show(const struct dn_config *c, char *text, json_object **units)
{
    json_object *block = json_object_new_object();
    unsigned id = 0;
    if (block == NULL)
        return;
    for (char *line = text; line != NULL;) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        char *eq = strchr(line, '=');
        if (eq != NULL) {
            *eq = '\0';
            const char *k = line, *v = eq + 1;
            if (strcmp(k, "Id") == 0)
                id = unit_instance(v, c->nodes);
            else if (strcmp(k, "NRestarts") == 0 || strcmp(k, "ExecMainPID") == 0 ||
                     strcmp(k, "MainPID") == 0)
                json_object_object_add(block, k, json_object_new_int64(strtoll(v, NULL, 10)));
            else
                json_object_object_add(block, k, json_object_new_string(v));
        }
        line = nl != NULL ? nl + 1 : NULL;
        if (line == NULL || *line == '\0' || eq == NULL) { /* end of a block */
            if (id > 0) {
                json_object_object_foreach(block, key, val)
                {
                    json_object_object_add(units[id - 1], key, json_object_get(val));
                }
            }
            json_object_put(block);
            block = json_object_new_object();
            id = 0;
            if (block == NULL || line == NULL || *line == '\0')
                break;
        }
    }
    json_object_put(block);
}

/* Each unit's /proc/<MainPID>/exe inside the container (" (deleted)" if the process runs a
 * binary replaced on disk), as "exe" beside MainPID. Read by this process (a cap-less child
 * could not read another user's exe link) from the container's own procfs, reached by
 * openat2(RESOLVE_IN_ROOT) on its root so a planted /proc symlink leads nowhere outside;
 * "-" when unreadable or not a plain path. */
static void read_exes(pid_t leader, unsigned nn, json_object **units)
{
    char root[64];
    snprintf(root, sizeof root, "/proc/%d/root", (int)leader);
    int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (unsigned n = 0; n < nn; n++) {
        json_object *x = NULL;
        long long pid = json_object_object_get_ex(units[n], "MainPID", &x)
                            ? (long long)json_object_get_int64(x)
                            : 0;
        char rel[48], exe[PATH_MAX];
        const char *val = "-";
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
        snprintf(rel, sizeof rel, "proc/%lld", pid);
        int dfd = rfd >= 0 && pid > 0
                      ? (int)syscall(SYS_openat2, rfd, rel, &how, sizeof how)
                      : -1;
        struct statfs fs;
        if (dfd >= 0 && fstatfs(dfd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC) {
            ssize_t r = readlinkat(dfd, "exe", exe, sizeof exe - 1);
            if (r > 0) {
                exe[r] = '\0';
                if (strlen(exe) == (size_t)r && strchr(exe, '\n') == NULL)
                    val = exe;
            }
        }
        if (dfd >= 0)
            close(dfd);
        json_object_object_add(units[n], "exe", json_object_new_string(val));
    }
    if (rfd >= 0)
        close(rfd);
}

/* Exports host h. The whole journal of the units each time (simple and idempotent; for a
 * devnet of hours a few MB a host, capped at CMD_OUT_MAX: an export past it fails and the
 * previous one stays). */
static ant_err sync_host(const struct dn_config *c, unsigned h, pid_t leader)
{
    const unsigned nn = c->nodes;
    const char *jargv[8 + 2 * ANT_DEVNET_MAX_NODES_PER_HOST];
    const char *sargv[8 + ANT_DEVNET_MAX_NODES_PER_HOST];
    char units[ANT_DEVNET_MAX_NODES_PER_HOST][32];
    size_t jk = 0, sk = 0;
    jargv[jk++] = "/bin/journalctl";
    jargv[jk++] = "-o";
    jargv[jk++] = "json";
    jargv[jk++] = "--no-pager";
    sargv[sk++] = "/bin/systemctl";
    sargv[sk++] = "show";
    sargv[sk++] = "-p";
    sargv[sk++] = "Id,NRestarts,ExecMainPID,MainPID,ActiveState,SubState,StatusText";
    for (unsigned n = 0; n < nn; n++) {
        snprintf(units[n], sizeof units[n], "ant-node@%u.service", n + 1);
        jargv[jk++] = "-u";
        jargv[jk++] = units[n];
        sargv[sk++] = units[n];
    }
    jargv[jk] = sargv[sk] = NULL;

    if (nn == 0)
        return ANT_ERR_INVALID_ARG;
    struct unit_seen *seen = calloc(nn, sizeof(struct unit_seen));
    json_object **uobj = calloc(nn, sizeof(json_object *));
    json_object *top = json_object_new_object(), *arr = json_object_new_array();
    char *jtext = NULL, *stext = NULL, *vtext = NULL, *bad = NULL;
    size_t badlen = 0;
    ant_err e = ANT_ERR_NOMEM;
    if (seen == NULL || uobj == NULL || top == NULL || arr == NULL)
        goto out;
    for (unsigned n = 0; n < nn; n++) {
        seen[n].restarts_at = json_object_new_array();
        seen[n].clean_exits_at = json_object_new_array();
        seen[n].timeouts_at = json_object_new_array();
        uobj[n] = json_object_new_object();
        if (seen[n].restarts_at == NULL || seen[n].clean_exits_at == NULL ||
            seen[n].timeouts_at == NULL || uobj[n] == NULL)
            goto out;
    }
    int st = 0;
    e = run_in(leader, jargv, &jtext, NULL, -1, &st);
    if (e == ANT_OK)
        e = run_in(leader, sargv, &stext, NULL, -1, &st);
    if (e != ANT_OK)
        goto out;
    read_journal(c, jtext, seen);
    read_show(c, stext, uobj);
    read_exes(leader, nn, uobj);
    const char *vargv[] = {"/opt/ant-node/bin/ant-node", "--version", NULL};
    if (run_in(leader, vargv, &vtext, NULL, -1, &st) == ANT_OK && exited_ok(st) &&
        strncmp(vtext, "ant-node ", 9) == 0) {
        vtext[strcspn(vtext, "\n")] = '\0';
        json_object_object_add(top, "binary_version", json_object_new_string(vtext + 9));
    }
    json_object *badarr = json_object_new_array();
    if (badarr != NULL && read_in(leader, "opt/ant-node/bin/ant-node.bad-versions", &bad, &badlen) ==
                              ANT_OK) {
        for (char *p = bad; p != NULL && *p != '\0';) {
            char *nl = strchr(p, '\n');
            if (nl != NULL)
                *nl = '\0';
            if (*p != '\0')
                json_object_array_add(badarr, json_object_new_string(p));
            p = nl != NULL ? nl + 1 : NULL;
        }
    }
    json_object_object_add(top, "bad_versions", badarr);
    for (unsigned n = 0; n < nn; n++) {
        char path[PATH_MAX];
        json_object_object_add(uobj[n], "unit", json_object_new_string(units[n]));
        json_object_object_add(uobj[n], "restarts_at", seen[n].restarts_at);
        json_object_object_add(uobj[n], "clean_exits_at", seen[n].clean_exits_at);
        json_object_object_add(uobj[n], "timeouts_at", seen[n].timeouts_at);
        seen[n].restarts_at = seen[n].clean_exits_at = seen[n].timeouts_at = NULL;
        json_object_object_add(uobj[n], "node_lines", json_object_new_int64(seen[n].node_lines));
        json_object_object_add(uobj[n], "priority_ok", json_object_new_int64(seen[n].prio_ok));
        json_object_object_add(uobj[n], "priority_wrong", json_object_new_int64(seen[n].prio_bad));
        json_object_object_add(uobj[n], "err_lines", json_object_new_int64(seen[n].err_lines));
        json_object_array_add(arr, uobj[n]);
        uobj[n] = NULL;
        /* The node's log as the devnet keeps it for every other host kind. */
        if (dn_path(path, sizeof path, "%s/hosts/h%u/logs/n%u.log", c->dir, h, n) == ANT_OK &&
            dn_write_file(path, seen[n].log != NULL ? seen[n].log : "", seen[n].loglen, 0600) !=
                ANT_OK)
            ant_log(ANT_LOG_WARN, "devnet", "node log not exported path=%s", path);
        export_node_files(c, h, n, leader);
    }
    json_object_object_add(top, "units", arr);
    arr = NULL;
    json_object_object_add(top, "synced_at", json_object_new_double(dn_now()));
    {
        char path[PATH_MAX];
        const char *text = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PRETTY);
        e = dn_path(path, sizeof path, "%s/hosts/h%u/systemd.json", c->dir, h);
        if (e == ANT_OK)
            e = dn_write_file(path, text, strlen(text), 0600);
    }
out:
    for (unsigned n = 0; n < nn; n++) {
        if (seen != NULL) {
            json_object_put(seen[n].restarts_at);
            json_object_put(seen[n].clean_exits_at);
            json_object_put(seen[n].timeouts_at);
            free(seen[n].log);
        }
        if (uobj != NULL)
            json_object_put(uobj[n]);
    }
    free(seen);
    free(uobj);
    json_object_put(arr);
    json_object_put(top);
    free(jtext);
    free(stext);
    free(vtext);
    free(bad);
    return e;
}

ant_err dn_nspawn_sync(const struct dn_config *cfg)
{
    ant_err first = ANT_OK;
    for (unsigned h = 0; h < cfg->hosts; h++) {
        pid_t nsp = 0, leader = 0;
        read_pidfile(cfg->dir, h, &nsp, &leader);
        if (leader == 0)
            continue; /* gone: the last export stays */
        ant_err e = sync_host(cfg, h, leader);
        if (e != ANT_OK && first == ANT_OK)
            first = e;
    }
    return first;
}

/* --- readers of the export ------------------------------------------------------------ */

static json_object *load_host(const struct dn_config *cfg, unsigned h)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    if (dn_path(path, sizeof path, "%s/hosts/h%u/systemd.json", cfg->dir, h) != ANT_OK ||
        dn_read_file(path, CMD_OUT_MAX, &text, &len) != ANT_OK)
        return NULL;
    json_object *o = json_tokener_parse(text);
    free(text);
    return o;
}

static json_object *unit_obj(json_object *host, unsigned n)
{
    json_object *arr = NULL;
    if (host == NULL || !json_object_object_get_ex(host, "units", &arr) ||
        !json_object_is_type(arr, json_type_array) || n >= json_object_array_length(arr))
        return NULL;
    return json_object_array_get_idx(arr, n);
}

bool dn_nspawn_node_main(const struct dn_config *cfg, unsigned i, pid_t *pid, bool *active,
                         unsigned *nrestarts)
{
    json_object *host = load_host(cfg, i / cfg->nodes);
    json_object *u = unit_obj(host, i % cfg->nodes), *x = NULL;
    bool ok = u != NULL && json_object_object_get_ex(u, "MainPID", &x);
    if (ok) {
        *pid = (pid_t)json_object_get_int64(x);
        const char *s = jstr(u, "ActiveState");
        *active = s != NULL && strcmp(s, "active") == 0;
        int64_t r = json_object_object_get_ex(u, "NRestarts", &x) ? json_object_get_int64(x) : 0;
        *nrestarts = r > 0 && r < UINT32_MAX ? (unsigned)r : 0;
    }
    json_object_put(host);
    return ok;
}

void dn_nspawn_status(const struct dn_config *cfg, FILE *out)
{
    for (unsigned h = 0; h < cfg->hosts; h++) {
        pid_t nsp = 0, leader = 0;
        read_pidfile(cfg->dir, h, &nsp, &leader);
        json_object *host = load_host(cfg, h);
        const char *bin = host != NULL ? jstr(host, "binary_version") : NULL;
        fprintf(out, "  host h%u: container %s (nspawn pid %d, init pid %d), binary %s%s\n", h,
                leader > 0 ? "running" : "down", (int)nsp, (int)leader, bin != NULL ? bin : "?",
                leader > 0 ? "" : " (last export)");
        for (unsigned n = 0; n < cfg->nodes; n++) {
            json_object *u = unit_obj(host, n), *r = NULL, *p = NULL;
            const char *state = u != NULL ? jstr(u, "ActiveState") : NULL;
            const char *text = u != NULL ? jstr(u, "StatusText") : NULL;
            if (u != NULL) {
                json_object_object_get_ex(u, "NRestarts", &r);
                json_object_object_get_ex(u, "MainPID", &p);
            }
            fprintf(out, "    ant-node@%u %-10s MainPID %-6lld NRestarts %-3lld %s\n", n + 1,
                    state != NULL ? state : "?", p != NULL ? (long long)json_object_get_int64(p) : 0,
                    r != NULL ? (long long)json_object_get_int64(r) : 0, text != NULL ? text : "");
        }
        json_object_put(host);
    }
}
