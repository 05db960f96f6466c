/*
 * Leaving for the new binary (ARCHITECTURE.md §5 step 10) and the one piece of process identity
 * it needs: the on-disk path of our own binary, resolved once at start.
 *
 * Why once and at start: after the binary is replaced, /proc/self/exe points at the old,
 * unlinked inode and reads "<path> (deleted)". Executing /proc/self/exe would start the old
 * version again (the stale-inode bug the fleet report checks for), and a path ending in
 * " (deleted)" names nothing. So the path is taken at start, the suffix stripped if the
 * binary was already replaced then, and only a path that names an existing regular file is
 * kept. Restart either exits with 75 for a service manager (--stop-on-upgrade; the shipped
 * systemd unit restarts on it) or spawns that path with the original arguments.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/sysd.h"
#include "ant/validate.h"
#include "upgrade/engine.h"

extern char **environ;

#define DELETED_SUFFIX " (deleted)"

ant_err engine_resolve_binary(struct ant_upgrade *u, const char *configured)
{
    char link[PATH_MAX];
    char real[PATH_MAX];
    struct stat sb;

    if (configured != NULL) {
        /* An operator-given path may be a symlink (/usr/bin/ant-node -> /opt/...): replace
         * the file it names, as /proc/self/exe would have reported it. */
        if (realpath(configured, real) == NULL) {
            ant_log(ANT_LOG_ERROR, "upgrade", "Cannot resolve binary path path=%s errno=%d",
                    configured, errno);
            return ANT_ERR_NOT_FOUND;
        }
    } else {
        ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
        if (n <= 0) {
            ant_log(ANT_LOG_ERROR, "upgrade", "Cannot read /proc/self/exe errno=%d", errno);
            return ANT_ERR_NOT_FOUND;
        }
        link[n] = '\0';
        size_t len = (size_t)n, slen = strlen(DELETED_SUFFIX);
        if (len > slen && strcmp(link + len - slen, DELETED_SUFFIX) == 0) {
            /* Replaced between exec and now: the new file (if any) lives at the old name. */
            link[len - slen] = '\0';
            ant_log(ANT_LOG_WARN, "upgrade", "Own binary was replaced since start path=%s", link);
        }
        if (!state_copy(real, sizeof real, link))
            return ANT_ERR_NOT_FOUND;
    }
    if (real[0] != '/' || stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ant_log(ANT_LOG_ERROR, "upgrade", "Binary path is not a regular file path=%s", real);
        return ANT_ERR_NOT_FOUND;
    }
    const char *slash = strrchr(real, '/');
    size_t dirlen = slash == real ? 1 : (size_t)(slash - real);
    if (dirlen >= sizeof u->binary_dir || strlen(slash + 1) >= sizeof u->binary_name ||
        !state_copy(u->binary_path, sizeof u->binary_path, real))
        return ANT_ERR_NOT_FOUND;
    memcpy(u->binary_dir, real, dirlen);
    u->binary_dir[dirlen] = '\0';
    memcpy(u->binary_name, slash + 1, strlen(slash + 1) + 1);
    return ANT_OK;
}

static bool has_deleted_suffix(const char *s)
{
    size_t len = strlen(s), slen = strlen(DELETED_SUFFIX);
    return len > slen && strcmp(s + len - slen, DELETED_SUFFIX) == 0;
}

void engine_check_stale_exe(struct ant_upgrade *u)
{
    char link[PATH_MAX], ondisk[ANT_SEMVER_TEXT_MAX], canon[ANT_SEMVER_TEXT_MAX];
    struct ant_semver v;
    const char *reason = NULL;
    int dirfd = -1;

    /* Once: the restart replaces this process; should it not (no request_shutdown hook),
     * asking again at every check would only repeat the log line. */
    if (u->stale_exe_restart)
        return;
    ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
    if (n <= 0)
        return;
    link[n] = '\0';
    if (!has_deleted_suffix(link))
        return;
    /* Only onto the very version we run: a different on-disk version is the business of
     * the upgrade path (a newer one is installed and restarted into there; an older or
     * failing one must not be started by this shortcut). The ELF check keeps a truncated or
     * foreign file from being spawned; --version proves it starts. */
    if (engine_open_binary_dir(u, &dirfd) != ANT_OK)
        return;
    ant_err err = ant_validate_elf(dirfd, u->binary_name, &reason);
    close(dirfd);
    if (err != ANT_OK || engine_binary_version(u->binary_path, ondisk, sizeof ondisk) != ANT_OK ||
        ant_semver_parse(ondisk, &v) != ANT_OK || !ant_semver_format(&v, canon, sizeof canon) ||
        strcmp(canon, u->running) != 0)
        return;
    u->stale_exe_restart = true;
    ant_log(ANT_LOG_INFO, "upgrade",
            "Restarting onto the on-disk binary reason=deleted-exe version=%s path=%s",
            u->running, u->binary_path);
    state_copy(u->restart_version, sizeof u->restart_version, u->running);
    u->restart_scheduled_at = 0;
    atomic_store(&u->restart_pending, true);
    engine_notify(u, "restarting-%s", u->running);
}

const char *ant_upgrade_binary_path(const struct ant_upgrade *u)
{
    return u != NULL ? u->binary_path : NULL;
}

bool ant_upgrade_restart_pending(const struct ant_upgrade *u)
{
    return u != NULL && atomic_load(&u->restart_pending);
}

ant_err ant_upgrade_restart(struct ant_upgrade *u, int *exit_code)
{
    return ant_upgrade_restart_with_listener(u, -1, exit_code);
}

/* ---- LISTENER HAND-OVER (ARCHITECTURE.md §11) ---------------------------------------- */

static bool is_listen_var(const char *e)
{
    return strncmp(e, "LISTEN_PID=", 11) == 0 || strncmp(e, "LISTEN_FDS=", 11) == 0 ||
           strncmp(e, "LISTEN_FDNAMES=", 15) == 0;
}

/* Without /proc, the fd numbers scanned by cloexec_all (see there). */
#define FD_SCAN_MAX 65536

/*
 * Marks every fd above stderr close-on-exec before the successor is started: the process
 * ends right after, and the successor must inherit exactly its stdio and the listener it
 * is handed (which spawn_with_listener puts at fd 3 without the flag), not whatever a
 * library, an inherited environment or the test runner left inheritable. A flag set in
 * the parent rather than a close in the child keeps the child's path between fork and exec
 * free of anything but async-signal-safe calls, and works the same on glibc and musl
 * (no close_range). /proc/self/fd lists what is open; without /proc, every number up to
 * the fd limit (at most FD_SCAN_MAX) is tried.
 */
static void cloexec_all(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        struct dirent *e;
        int self = dirfd(d);
        while ((e = readdir(d)) != NULL) {
            char *end = NULL;
            long fd = strtol(e->d_name, &end, 10);
            if (end == e->d_name || *end != '\0' || fd <= STDERR_FILENO || fd == self ||
                fd > INT_MAX)
                continue;
            int flags = fcntl((int)fd, F_GETFD);
            if (flags >= 0 && (flags & FD_CLOEXEC) == 0)
                (void)fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC);
        }
        closedir(d);
        return;
    }
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > FD_SCAN_MAX)
        max = FD_SCAN_MAX;
    for (int fd = STDERR_FILENO + 1; fd < (int)max; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && (flags & FD_CLOEXEC) == 0)
            (void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

/*
 * Starts the new binary with `listen_fd` as fd 3 and LISTEN_FDS=1, LISTEN_FDNAMES=listener
 * and LISTEN_PID=<its own pid>: exactly what systemd hands a service from its fd store, so
 * the successor takes the socket back by the same code path. LISTEN_PID is only known
 * after fork, which posix_spawn cannot express, hence fork and execve with nothing but
 * async-signal-safe calls in the child. A pipe (close-on-exec) reports an exec failure.
 */
static ant_err spawn_with_listener(struct ant_upgrade *u, int listen_fd, pid_t *pidout)
{
    static const char fds_var[] = "LISTEN_FDS=1", names_var[] = "LISTEN_FDNAMES=listener";
    char pid_var[ANT_SYSD_LISTEN_PID_VAR_MAX] = "LISTEN_PID=";
    size_t nenv = 0, k = 0;
    char **envp = NULL;
    int pipefd[2] = {-1, -1};
    ant_err err = ANT_ERR_IO;
    sigset_t none;
    pid_t pid;

    while (environ[nenv] != NULL)
        nenv++;
    envp = calloc(nenv + 4, sizeof *envp);
    if (envp == NULL)
        return ANT_ERR_NOMEM;
    for (size_t i = 0; i < nenv; i++) {
        if (!is_listen_var(environ[i]))
            envp[k++] = environ[i];
    }
    envp[k++] = (char *)fds_var;
    envp[k++] = (char *)names_var;
    envp[k++] = pid_var;
    envp[k] = NULL;
    sigemptyset(&none);
    /* Both ends close-on-exec and above the fd the child's dup2 overwrites. (No other
     * thread runs an exec now: the node and the monitor have stopped.) */
    if (pipe(pipefd) != 0)
        goto out;
    for (int i = 0; i < 2; i++) {
        int moved = fcntl(pipefd[i], F_DUPFD_CLOEXEC, ANT_UPGRADE_LISTEN_FD + 1);
        close(pipefd[i]);
        pipefd[i] = moved;
        if (moved < 0)
            goto out;
    }
    pid = fork();
    if (pid < 0)
        goto out;
    if (pid == 0) {
        struct sigaction dfl;
        int e;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        (void)sigaction(SIGTERM, &dfl, NULL);
        (void)sigaction(SIGINT, &dfl, NULL);
        (void)sigaction(SIGPIPE, &dfl, NULL);
        (void)sigprocmask(SIG_SETMASK, &none, NULL);
        ant_sysd_listen_pid_var(pid_var, (long)getpid());
        if (listen_fd == ANT_UPGRADE_LISTEN_FD)
            e = fcntl(listen_fd, F_SETFD, 0);
        else
            e = dup2(listen_fd, ANT_UPGRADE_LISTEN_FD) < 0 ? -1 : 0; /* dup2 clears CLOEXEC */
        if (e == 0)
            execve(u->binary_path, u->argv, envp);
        e = errno;
        (void)write(pipefd[1], &e, sizeof e);
        _exit(127);
    }
    close(pipefd[1]);
    pipefd[1] = -1;
    int child_errno = 0;
    ssize_t r;
    do {
        r = read(pipefd[0], &child_errno, sizeof child_errno);
    } while (r < 0 && errno == EINTR);
    if (r > 0) {
        /* The child never became the new binary: reap it, report its errno. */
        (void)waitpid(pid, NULL, 0);
        errno = child_errno;
        goto out;
    }
    *pidout = pid;
    err = ANT_OK;
out:
    if (err != ANT_OK)
        ant_log(ANT_LOG_ERROR, "upgrade", "Cannot spawn new binary path=%s error=%s",
                u->binary_path, strerror(errno));
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(envp);
    return err;
}

/* ---- end LISTENER HAND-OVER ------------------------------------------------------------ */

ant_err ant_upgrade_restart_with_listener(struct ant_upgrade *u, int listen_fd, int *exit_code)
{
    const char *mode = u->cfg.stop_on_upgrade ? "exit75" : "spawn";
    const char *version = u->restart_version[0] != '\0' ? u->restart_version : "unknown";

    *exit_code = ANT_UPGRADE_EXIT_RESTART;
    ant_log(ANT_LOG_INFO, "upgrade",
            "Restarting into new binary version=%s mode=%s scheduled_at=%lld", version, mode,
            (long long)u->restart_scheduled_at);
    if (u->cfg.stop_on_upgrade)
        return ANT_OK;

    /* Standalone: nothing will start us again, so start the on-disk binary ourselves. The
     * path was resolved at start (never /proc/self/exe) and now holds the new version. */
    /* The daemon blocks SIGTERM/SIGINT/SIGPIPE for its signalfd; exec keeps the mask, so
     * the new process starts with an empty mask and default dispositions instead. */
    posix_spawnattr_t attr;
    sigset_t none, defaults;
    pid_t pid;
    cloexec_all();
    if (listen_fd >= 0) {
        if (spawn_with_listener(u, listen_fd, &pid) != ANT_OK) {
            engine_fail(u, u->restart_version, "restart", ANT_ERR_IO);
            return ANT_ERR_IO;
        }
        ant_log(ANT_LOG_INFO, "upgrade", "Spawned new binary path=%s pid=%ld listener=inherited",
                u->binary_path, (long)pid);
        *exit_code = 0;
        return ANT_OK;
    }
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGPIPE);
    int rc = posix_spawnattr_init(&attr);
    if (rc == 0) {
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (rc == 0)
            rc = posix_spawnattr_setsigmask(&attr, &none);
        if (rc == 0)
            rc = posix_spawnattr_setsigdefault(&attr, &defaults);
        if (rc == 0)
            rc = posix_spawn(&pid, u->binary_path, NULL, &attr, u->argv, environ);
        posix_spawnattr_destroy(&attr);
    }
    if (rc != 0) {
        ant_log(ANT_LOG_ERROR, "upgrade", "Cannot spawn new binary path=%s error=%s",
                u->binary_path, strerror(rc));
        engine_fail(u, u->restart_version, "restart", ANT_ERR_IO);
        return ANT_ERR_IO;
    }
    ant_log(ANT_LOG_INFO, "upgrade", "Spawned new binary path=%s pid=%ld", u->binary_path,
            (long)pid);
    *exit_code = 0;
    return ANT_OK;
}
