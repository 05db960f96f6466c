/*
 * Starts and stops tests/release/release_server.py from a C test: fork/exec of python3 on
 * a random loopback port, waiting (bounded) for its `READY <port>` line. Shared by the net
 * and release tests (and usable by the upgrade tests).
 */
#ifndef ANT_TESTS_RELEASE_TEST_SERVER_H
#define ANT_TESTS_RELEASE_TEST_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

struct test_server {
    pid_t pid;
    int port;
    char base[64]; /* "http://127.0.0.1:<port>" */
};

/* Starts the server with the extra arguments `args` (NULL-terminated, may be NULL).
 * Returns false (after logging why to stderr) if it did not come up within 10 s. */
bool test_server_start(struct test_server *s, const char *const *args);

/* Kills the server (SIGTERM, then SIGKILL) and reaps it. Safe on a server that failed
 * to start. */
void test_server_stop(struct test_server *s);

/* GETs `path` from the server into buf (NUL-terminated); returns false on any error.
 * Uses a raw socket, not the client under test. */
bool test_server_get(const struct test_server *s, const char *path, char *buf, size_t cap);

#endif
