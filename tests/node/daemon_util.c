/*
 * Helpers for the tests that run the real ant-node binary as a process (path in
 * $ANT_NODE_BIN): start and stop a node on a root dir, run its commands, open raw
 * connections, read its log. Shared by test_node_daemon.c and test_node_attacks.c.
 */
#include "daemon_util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "ant/node.h"
#include "ant/node_client.h"


const char *node_bin(void)
{
    const char *b = getenv("ANT_NODE_BIN");
    return b != NULL ? b : "ant-node";
}

char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/ant-noded-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d != NULL ? strdup(d) : NULL;
}

void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  cleanup of %s failed\n", dir);
}

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

/* Runs node_bin with args (NULL-terminated), stdout to `out` (may be NULL: /dev/null),
 * stderr appended to `log`, extra environment entries `env` (NULL-terminated, may be
 * NULL). Returns the pid. */
pid_t spawn(const char *const *args, const char *out, const char *log,
                   const char *const *env)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[64];
        char *envp[256];
        size_t n = 0, e = 0;
        int ofd = open(out != NULL ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int lfd = open(log != NULL ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (ofd < 0 || lfd < 0 || dup2(ofd, 1) < 0 || dup2(lfd, 2) < 0)
            _exit(126);
        argv[n++] = (char *)node_bin();
        for (size_t i = 0; args[i] != NULL && n < 63; i++)
            argv[n++] = (char *)args[i];
        argv[n] = NULL;
        for (size_t i = 0; environ[i] != NULL && e < 200; i++)
            if (strncmp(environ[i], "ANT_", 4) != 0)
                envp[e++] = environ[i];
        for (size_t i = 0; env != NULL && env[i] != NULL && e < 255; i++)
            envp[e++] = (char *)env[i];
        envp[e] = NULL;
        execve(argv[0], argv, envp);
        _exit(127);
    }
    return pid;
}

/* Waits for `pid` at most timeout_ms; returns its exit status or -1 (signal/timeout). */
int wait_exit(pid_t pid, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 || now_ms() > end)
            break;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* Runs a command to completion (10 s max), stdout into `out` (cap), returns exit code. */
int run_cmd(const char *const *args, char *out, size_t cap, const char *const *env)
{
    char path[] = "/tmp/ant-noded-out-XXXXXX";
    int fd = mkstemp(path), code;
    pid_t pid;
    ssize_t n = 0;
    if (fd < 0)
        return -1;
    close(fd);
    pid = spawn(args, path, NULL, env);
    code = wait_exit(pid, 10000);
    if (out != NULL && cap > 0) {
        fd = open(path, O_RDONLY);
        n = fd >= 0 ? read(fd, out, cap - 1) : -1;
        out[n > 0 ? n : 0] = '\0';
        if (fd >= 0)
            close(fd);
    }
    unlink(path);
    return code;
}

/* Starts `ant-node run` on root (port 0) and waits for node.port. */
int start_node(struct node_proc *np, const char *root, const char *const *extra)
{
    const char *args[40];
    char portfile[700];
    size_t n = 0;
    uint64_t end = now_ms() + 15000;

    memset(np, 0, sizeof *np);
    snprintf(np->root, sizeof np->root, "%s", root);
    snprintf(np->log, sizeof np->log, "%s.log", root);
    snprintf(portfile, sizeof portfile, "%s/%s", root, ANT_NODE_PORT_FILE);
    args[n++] = "run";
    args[n++] = "--root-dir";
    args[n++] = root;
    args[n++] = "--listen";
    args[n++] = "127.0.0.1:0";
    args[n++] = "--no-auto-upgrade";
    args[n++] = "--map-size";
    args[n++] = "256MiB";
    for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 39; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    np->pid = spawn(args, NULL, np->log, NULL);
    while (now_ms() < end) {
        FILE *f = fopen(portfile, "r");
        unsigned port = 0;
        int st;
        if (f != NULL) {
            int ok = fscanf(f, "%u", &port) == 1;
            fclose(f);
            if (ok && port > 0 && port < 65536) {
                np->port = (uint16_t)port;
                snprintf(np->addr, sizeof np->addr, "127.0.0.1:%u", port);
                return 0;
            }
        }
        if (waitpid(np->pid, &st, WNOHANG) == np->pid) {
            np->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    return -1;
}

int stop_node(struct node_proc *np)
{
    int code;
    if (np->pid <= 0)
        return -1;
    kill(np->pid, SIGTERM);
    code = wait_exit(np->pid, 15000);
    np->pid = 0;
    return code;
}

bool log_has(const struct node_proc *np, const char *needle)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "grep -qF -- '%s' '%s'", needle, np->log);
    return system(cmd) == 0;
}

int raw_connect(uint16_t port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Reads until EOF (true) or timeout/error (false), discarding what arrives. */
bool sees_eof(int fd, unsigned timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int left = (int)(end > now_ms() ? end - now_ms() : 0);
        ssize_t r;
        if (poll(&p, 1, left) <= 0)
            return false;
        r = recv(fd, buf, sizeof buf, 0);
        if (r == 0)
            return true;
        if (r < 0)
            return errno == ECONNRESET;
    }
}

ant_err ping(const char *addr)
{
    struct ant_node_client *c = NULL;
    ant_err err = ant_node_client_connect(addr, 5000, &c);
    if (err == ANT_OK)
        err = ant_node_client_ping(c);
    ant_node_client_close(c);
    return err;
}


int connect_from(const char *src_ip, uint16_t port, int rcvbuf)
{
    struct sockaddr_in src, dst;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* SO_RCVBUF before connect: the window is negotiated in the handshake. */
    if (inet_pton(AF_INET, src_ip, &src.sin_addr) != 1 ||
        (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) ||
        bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

uint64_t proc_status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    size_t flen = strlen(field);
    uint64_t v = 0;
    FILE *f;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            v = strtoull(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}
