/*
 * New-binary validation (include/ant/validate.h).
 *
 * The ELF checks read the headers themselves, bounded by the file size, rather than asking
 * the dynamic loader: a binary for another machine or libc must be refused before we run
 * it. Running `--version` is the last check because it executes the new code; it happens in
 * a child with no shell, /dev/null for stdin and stderr, a minimal environment, its own
 * process group (so a child that forks cannot outlive the timeout) and a byte cap on what
 * we read back.
 */
/* pipe2(O_CLOEXEC): a plain pipe() would leak its fds into binaries other threads spawn. */
#define _GNU_SOURCE
#include "ant/validate.h"

#include <assert.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#else
#define HOST_MACHINE EM_NONE /* no release platform: every binary is refused */
#endif

#define MAX_PHDRS 256
#define VERSION_PREFIX "ant-node "

static ant_err reject(ant_err err, const char **reason, const char *why)
{
    *reason = why;
    ant_log(ANT_LOG_WARN, "upgrade", "New binary rejected reason=\"%s\"", why);
    return err;
}

static bool pread_exact(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += (size_t)r;
        len -= (size_t)r;
        off += (uint64_t)r;
    }
    return true;
}

/* Checks the PT_INTERP program header's path names a regular file on this host. */
static ant_err check_interp(int fd, const Elf64_Phdr *ph, uint64_t size, const char **reason)
{
    char interp[PATH_MAX];
    if (ph->p_filesz < 2 || ph->p_filesz > sizeof interp || ph->p_offset > size ||
        ph->p_filesz > size - ph->p_offset)
        return reject(ANT_ERR_BAD_BINARY, reason, "malformed ELF interpreter entry");
    if (!pread_exact(fd, interp, (size_t)ph->p_filesz, ph->p_offset))
        return reject(ANT_ERR_IO, reason, "cannot read the ELF interpreter entry");
    if (memchr(interp, '\0', (size_t)ph->p_filesz) == NULL || interp[0] != '/')
        return reject(ANT_ERR_BAD_BINARY, reason, "malformed ELF interpreter path");
    struct stat st;
    /* stat, not lstat: the loader itself follows the usual /lib64 -> /lib symlinks. */
    if (stat(interp, &st) != 0 || !S_ISREG(st.st_mode)) {
        ant_log(ANT_LOG_WARN, "upgrade", "ELF interpreter missing on this host interp=%s",
                interp);
        return reject(ANT_ERR_BAD_BINARY, reason,
                      "the binary's ELF interpreter does not exist on this host (built for "
                      "another libc?)");
    }
    return ANT_OK;
}

/* The ELF checks on an open regular file of `size` bytes. */
static ant_err check_elf(int fd, uint64_t size, const char **why)
{
    ant_err err = ANT_OK;
    Elf64_Ehdr eh;
    if (size < EI_NIDENT || !pread_exact(fd, eh.e_ident, EI_NIDENT, 0) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
        err = reject(ANT_ERR_BAD_BINARY, why, "not an ELF executable (a script or data file?)");
        goto out;
    }
    if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
        err = reject(ANT_ERR_BAD_BINARY, why, "not a 64-bit ELF binary");
        goto out;
    }
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        err = reject(ANT_ERR_BAD_BINARY, why, "not a little-endian ELF binary");
        goto out;
    }
    if (size < sizeof eh || !pread_exact(fd, &eh, sizeof eh, 0)) {
        err = reject(ANT_ERR_BAD_BINARY, why, "truncated ELF header");
        goto out;
    }
    if (eh.e_machine != HOST_MACHINE) {
        ant_log(ANT_LOG_WARN, "upgrade", "ELF machine mismatch binary=%u host=%u",
                (unsigned)eh.e_machine, (unsigned)HOST_MACHINE);
        err = reject(ANT_ERR_PLATFORM, why,
                     "ELF binary is for another machine architecture than this host");
        goto out;
    }
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
        err = reject(ANT_ERR_BAD_BINARY, why, "ELF file is not an executable");
        goto out;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_PHDRS ||
        eh.e_phoff > size || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff) {
        err = reject(ANT_ERR_BAD_BINARY, why, "malformed ELF program headers");
        goto out;
    }
    static_assert(MAX_PHDRS * sizeof(Elf64_Phdr) < 16384, "program header table on stack");
    Elf64_Phdr ph[MAX_PHDRS];
    if (!pread_exact(fd, ph, (size_t)eh.e_phnum * sizeof(Elf64_Phdr), eh.e_phoff)) {
        err = reject(ANT_ERR_IO, why, "cannot read ELF program headers");
        goto out;
    }
    bool seen_interp = false;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_INTERP)
            continue;
        if (seen_interp) {
            err = reject(ANT_ERR_BAD_BINARY, why, "ELF binary has two interpreter entries");
            goto out;
        }
        seen_interp = true;
        err = check_interp(fd, &ph[i], size, why);
        if (err != ANT_OK)
            goto out;
    }
out:
    return err;
}

ant_err ant_validate_elf(int dirfd, const char *name, const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    int fd = -1;
    uint64_t size = 0;
    /* The cap only bounds what a header may point at; the member cap already limited it. */
    ant_err err = ant_fsx_open_capped(dirfd, name, UINT64_MAX, &fd, &size);
    if (err != ANT_OK)
        return reject(err, why, "cannot open the new binary as a regular file");
    err = check_elf(fd, size, why);
    close(fd);
    return err;
}

ant_err ant_validate_elf_fd(int fd, const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return reject(ANT_ERR_INVALID_ARG, why, "invalid argument");
    if (!S_ISREG(st.st_mode))
        return reject(ANT_ERR_UNSAFE_FILE, why, "the new binary is not a regular file");
    return check_elf(fd, (uint64_t)st.st_size, why);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What to run: a path, or (dirfd >= 0) `name` in an open directory, which is then also
 * the working directory. */
struct target {
    const char *path;
    const char *workdir;
    int dirfd;
    const char *name;
    int execfd; /* >= 0: execute this open file itself (execveat), nothing by name */
};

/* Child side, between fork and exec: only async-signal-safe calls. */
static void child_exec(const struct target *t, int out_w, int devnull)
{
    const char *path = t->path;
    static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
    char *argv[] = {(char *)(t->execfd >= 0  ? "ant-node"
                             : t->dirfd >= 0 ? t->name
                                             : path),
                    "--version", NULL};
    /* Above the standard descriptors before they are replaced, whatever number it had. */
    int xfd = t->execfd >= 0 ? fcntl(t->execfd, F_DUPFD, 3) : -1;
    if (t->execfd >= 0 && xfd < 0)
        _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);
    setpgid(0, 0);
    if (dup2(devnull, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
        dup2(devnull, STDERR_FILENO) < 0)
        _exit(126);
    if (t->execfd >= 0 ? chdir("/") != 0
        : t->dirfd >= 0 ? fchdir(t->dirfd) != 0
                        : t->workdir != NULL && chdir(t->workdir) != 0)
        _exit(126);
    /* The file to run stays open as fd 3 (without close-on-exec), everything above goes. */
    unsigned first = 3;
    if (xfd >= 0) {
        if (xfd != 3 && dup2(xfd, 3) != 3)
            _exit(126);
        first = 4;
    }
    /* Descriptors the parent opened without O_CLOEXEC must not reach the new binary. */
#ifdef SYS_close_range
    if (syscall(SYS_close_range, first, ~0u, 0u) != 0)
#endif
    {
        /* Kernels before 5.9: every descriptor the limit allows (a lowered limit leaves
         * higher ones open, hence at least 4096), up to the kernel's default nr_open. */
        struct rlimit rl;
        rlim_t bound = 1u << 20;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < bound)
            bound = rl.rlim_cur < 4096 ? 4096 : rl.rlim_cur;
        for (int fd = (int)first; (rlim_t)fd < bound; fd++)
            close(fd);
    }
    /* Safety: with an exec fd, the very file that was verified is what runs; no path is
     * looked up at all, so nothing swapped in under any name can take its place. */
    if (xfd >= 0) {
        syscall(SYS_execveat, 3, "", argv, envp, AT_EMPTY_PATH);
        /* Without execveat (kernels before 3.19, valgrind before 3.20): the magic link of
         * the same descriptor, which names that open file and nothing else. */
        execve("/proc/self/fd/3", argv, envp);
        _exit(127);
    }
    /* Safety: with a directory fd, the working directory is now that very directory (the
     * one the ELF checks read through), so "./ant-node" is resolved inside it and the
     * staging path is never looked up again. */
    execve(t->dirfd >= 0 ? t->name : path, argv, envp);
    _exit(127);
}

/* Kills the child's process group, reaps the child. */
static void kill_and_reap(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

static bool version_text_ok(const char *v)
{
    if (*v == '\0')
        return false;
    for (; *v != '\0'; v++) {
        char c = *v;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '+';
        if (!ok)
            return false;
    }
    return true;
}

static ant_err run_version(const struct target *t, unsigned timeout_ms, char *version,
                           size_t cap, const char **reason)
{
    const char *path = t->path;
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    if (version != NULL && cap > 0)
        version[0] = '\0';
    if ((path == NULL && t->execfd < 0) || version == NULL || cap == 0) {
        *why = "invalid argument";
        return ANT_ERR_INVALID_ARG;
    }
    int pipefd[2] = {-1, -1};
    int devnull = -1;
    pid_t pid = -1;
    ant_err err = ANT_OK;
    char out[ANT_VALIDATE_OUTPUT_CAP + 1];
    size_t outlen = 0;

    if (pipe2(pipefd, O_CLOEXEC) != 0 ||
        (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        err = reject(ANT_ERR_IO, why, "cannot set up the --version run");
        goto out;
    }
    uint64_t deadline = now_ms() + timeout_ms;
    pid = fork();
    if (pid < 0) {
        err = reject(ANT_ERR_IO, why, "cannot fork for the --version run");
        goto out;
    }
    if (pid == 0)
        child_exec(t, pipefd[1], devnull);
    /* Both sides set the group, so the kill below works whichever runs first. */
    setpgid(pid, pid);
    close(pipefd[1]);
    pipefd[1] = -1;

    bool eof = false;
    while (!eof) {
        uint64_t now = now_ms();
        if (now >= deadline) {
            kill_and_reap(pid);
            pid = -1;
            err = reject(ANT_ERR_TIMEOUT, why, "the binary did not answer --version in time");
            goto out;
        }
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        uint64_t left = deadline - now;
        int pr = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (pr < 0 && errno != EINTR) {
            kill_and_reap(pid);
            pid = -1;
            err = reject(ANT_ERR_IO, why, "poll failed during the --version run");
            goto out;
        }
        if (pr <= 0)
            continue;
        ssize_t r = read(pipefd[0], out + outlen, sizeof out - outlen);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            kill_and_reap(pid);
            pid = -1;
            err = reject(ANT_ERR_IO, why, "cannot read the --version output");
            goto out;
        }
        if (r == 0)
            eof = true;
        outlen += (size_t)r;
        if (outlen > ANT_VALIDATE_OUTPUT_CAP) {
            kill_and_reap(pid);
            pid = -1;
            err = reject(ANT_ERR_BAD_BINARY, why, "the --version output is too long");
            goto out;
        }
    }

    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            kill_and_reap(pid);
            pid = -1;
            err = reject(ANT_ERR_IO, why, "cannot wait for the --version run");
            goto out;
        }
        if (now_ms() >= deadline) {
            kill_and_reap(pid);
            pid = -1;
            err = reject(ANT_ERR_TIMEOUT, why, "the binary did not exit after --version in time");
            goto out;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pid = -1;
    if (WIFSIGNALED(status)) {
        err = reject(ANT_ERR_BAD_BINARY, why, "the binary was killed by a signal on --version");
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        err = reject(ANT_ERR_BAD_BINARY, why,
                     WIFEXITED(status) && WEXITSTATUS(status) == 127
                         ? "the binary could not be executed on this host"
                         : "the binary exited with a non-zero status on --version");
        goto out;
    }
    out[outlen] = '\0';
    if (outlen > 0 && out[outlen - 1] == '\n')
        out[--outlen] = '\0';
    const size_t plen = sizeof VERSION_PREFIX - 1;
    if (memchr(out, '\0', outlen) != NULL || outlen <= plen ||
        memcmp(out, VERSION_PREFIX, plen) != 0 || !version_text_ok(out + plen)) {
        err = reject(ANT_ERR_BAD_BINARY, why,
                     "the --version output is not exactly 'ant-node <version>'");
        goto out;
    }
    if (outlen - plen >= cap) {
        err = reject(ANT_ERR_INVALID_ARG, why, "the reported version does not fit the buffer");
        goto out;
    }
    memcpy(version, out + plen, outlen - plen + 1);
out:
    if (pid > 0)
        kill_and_reap(pid);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    if (devnull >= 0)
        close(devnull);
    return err;
}

ant_err ant_validate_run_version(const char *path, const char *workdir, unsigned timeout_ms,
                                 char *version, size_t cap, const char **reason)
{
    struct target t = {.path = path, .workdir = workdir, .dirfd = -1, .name = NULL, .execfd = -1};
    return run_version(&t, timeout_ms, version, cap, reason);
}

ant_err ant_validate_run_version_fd(int fd, unsigned timeout_ms, char *version, size_t cap,
                                    const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    if (fd < 0) {
        *why = "invalid argument";
        return ANT_ERR_INVALID_ARG;
    }
    struct target t = {.path = NULL, .workdir = NULL, .dirfd = -1, .name = NULL, .execfd = fd};
    return run_version(&t, timeout_ms, version, cap, why);
}

ant_err ant_validate_binary_fd(int fd, const char *expected_version, const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    if (fd < 0 || expected_version == NULL) {
        *why = "invalid argument";
        return ANT_ERR_INVALID_ARG;
    }
    ant_err err = ant_validate_elf_fd(fd, why);
    if (err != ANT_OK)
        return err;
    char got[ANT_VALIDATE_OUTPUT_CAP];
    err = ant_validate_run_version_fd(fd, ANT_VALIDATE_TIMEOUT_MS, got, sizeof got, why);
    if (err != ANT_OK)
        return err;
    if (strcmp(got, expected_version) != 0) {
        ant_log(ANT_LOG_WARN, "upgrade", "New binary reports another version expected=%s got=%s",
                expected_version, got);
        return reject(ANT_ERR_MISMATCH, why,
                      "the binary reports a different version than expected");
    }
    return ANT_OK;
}

ant_err ant_validate_binary(const char *dir_path, int dirfd, const char *expected_version,
                            const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    if (dir_path == NULL || expected_version == NULL || dirfd < 0) {
        *why = "invalid argument";
        return ANT_ERR_INVALID_ARG;
    }
    ant_err err = ant_validate_elf(dirfd, "ant-node", why);
    if (err != ANT_OK)
        return err;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/ant-node", dir_path);
    if (n < 0 || (size_t)n >= sizeof path) {
        *why = "staging path too long";
        return ANT_ERR_INVALID_ARG;
    }
    char got[ANT_VALIDATE_OUTPUT_CAP];
    struct target t = {.path = path, .workdir = dir_path, .dirfd = dirfd, .name = "./ant-node",
                       .execfd = -1};
    err = run_version(&t, ANT_VALIDATE_TIMEOUT_MS, got, sizeof got, why);
    if (err != ANT_OK)
        return err;
    if (strcmp(got, expected_version) != 0) {
        ant_log(ANT_LOG_WARN, "upgrade", "New binary reports another version expected=%s got=%s",
                expected_version, got);
        return reject(ANT_ERR_MISMATCH, why,
                      "the binary reports a different version than expected");
    }
    return ANT_OK;
}
