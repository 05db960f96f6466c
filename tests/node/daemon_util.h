/*
 * Helpers for the process tests of the real ant-node binary (tests/node/daemon_util.c).
 */
#ifndef ANT_TESTS_NODE_DAEMON_UTIL_H
#define ANT_TESTS_NODE_DAEMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ant/err.h"

extern char **environ;

/* The ant-node under test: $ANT_NODE_BIN, else "ant-node" on PATH. */
const char *node_bin(void);
/* A fresh /tmp/ant-noded-XXXXXX (malloc'd), NULL on failure. */
char *make_tmpdir(void);
void rm_rf(const char *dir);
uint64_t now_ms(void);
/* Deterministic pseudo-random bytes from `seed`. */
void fill(uint8_t *p, size_t n, uint32_t seed);

/* Runs node_bin with args (NULL-terminated), stdout to `out` (may be NULL: /dev/null),
 * stderr appended to `log`, extra environment entries `env` (NULL-terminated, may be
 * NULL; inherited ANT_* variables are dropped). Returns the pid. */
pid_t spawn(const char *const *args, const char *out, const char *log,
            const char *const *env);
/* Waits for `pid` at most timeout_ms; returns its exit status or -1 (signal/timeout). */
int wait_exit(pid_t pid, unsigned timeout_ms);
/* Runs a command to completion (10 s max), stdout into `out` (cap), returns exit code. */
int run_cmd(const char *const *args, char *out, size_t cap, const char *const *env);

struct node_proc {
    pid_t pid;
    char root[512];
    char log[600];
    char addr[64];
    uint16_t port;
};

/* Starts `ant-node run` on root (127.0.0.1, port 0, no auto-upgrade, 256 MiB map) with
 * `extra` arguments (NULL-terminated, may be NULL) and waits for node.port. 0 or -1. */
int start_node(struct node_proc *np, const char *root, const char *const *extra);
/* SIGTERM, then the exit status (-1 after 15 s or on a signal). */
int stop_node(struct node_proc *np);
/* True if the node's log contains `needle`. */
bool log_has(const struct node_proc *np, const char *needle);

/* A blocking TCP connection to 127.0.0.1:port, or -1. */
int raw_connect(uint16_t port);
/* The same from source address `src_ip` (any 127.x.y.z), with SO_RCVBUF `rcvbuf` set
 * before connecting when > 0. */
int connect_from(const char *src_ip, uint16_t port, int rcvbuf);
/* Reads until EOF (true) or timeout/error (false), discarding what arrives. */
bool sees_eof(int fd, unsigned timeout_ms);
/* One PING on a fresh connection to addr ("127.0.0.1:PORT"). */
ant_err ping(const char *addr);
/* A "Name:   N kB" field of /proc/<pid>/status (VmRSS, VmHWM, VmData...), 0 if absent. */
uint64_t proc_status_kib(pid_t pid, const char *field);

#endif
