/*
 * The C side of release_server.py: process control and a raw-socket GET used to read the
 * server's counters without going through the HTTP client under test.
 */
#include "test_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

bool test_server_start(struct test_server *s, const char *const *args)
{
    const char *src = getenv("ANT_SOURCE_DIR");
    char script[4096];
    const char *argv[32];
    int pfd[2];
    size_t n = 0;
    char line[128];
    size_t used = 0;

    memset(s, 0, sizeof *s);
    s->pid = -1;
    if (src == NULL) {
        fprintf(stderr, "  ANT_SOURCE_DIR is not set\n");
        return false;
    }
    snprintf(script, sizeof script, "%s/tests/release/release_server.py", src);
    argv[n++] = "python3";
    argv[n++] = script;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    if (pipe(pfd) != 0)
        return false;
    fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
    s->pid = fork();
    if (s->pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return false;
    }
    if (s->pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);

    /* Read until a full line arrives, at most 10 s. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (used < sizeof line - 1 && memchr(line, '\n', used) == NULL) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = 10000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = read(pfd[0], line + used, sizeof line - 1 - used);
        if (r <= 0)
            break;
        used += (size_t)r;
    }
    close(pfd[0]);
    line[used] = '\0';
    if (sscanf(line, "READY %d", &s->port) != 1 || s->port <= 0) {
        fprintf(stderr, "  release_server.py did not start: \"%s\"\n", line);
        test_server_stop(s);
        return false;
    }
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    return true;
}

void test_server_stop(struct test_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            s->pid = -1;
            return;
        }
        usleep(20000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = -1;
}

bool test_server_get(const struct test_server *s, const char *path, char *buf, size_t cap)
{
    struct sockaddr_in sa;
    char req[512];
    size_t used = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || cap == 0)
        return false;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                     path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || n <= 0 ||
        write(fd, req, (size_t)n) != n) {
        close(fd);
        return false;
    }
    for (;;) {
        ssize_t r = read(fd, buf + used, cap - 1 - used);
        if (r <= 0)
            break;
        used += (size_t)r;
        if (used == cap - 1)
            break;
    }
    close(fd);
    buf[used] = '\0';
    char *body = strstr(buf, "\r\n\r\n");
    if (body == NULL)
        return false;
    memmove(buf, body + 4, strlen(body + 4) + 1);
    return true;
}
