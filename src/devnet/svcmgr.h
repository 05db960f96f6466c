/*
 * The devnet supervisor's systemd side (ARCHITECTURE.md §11): the parts of a Type=notify
 * service manager that decide what a node's start means. Each node is a slot. The manager
 * owns one notification socket (a path, so nodes in other network namespaces reach it),
 * hands it to every node with NOTIFY_SOCKET and WATCHDOG_USEC, reads READY/WATCHDOG/
 * FDSTORE/FDSTOREREMOVE from it (the sender known by SCM_CREDENTIALS, like systemd's
 * NotifyAccess=main: only the slot's current pid counts), and enforces what the unit
 * enforces: a node not READY within the start timeout, or READY and silent for the
 * watchdog interval, is killed (SIGKILL), so the supervisor restarts it and a trial counts
 * a failed attempt. The stored listener is passed to the slot's next process as fd 3 with
 * LISTEN_FDS=1, LISTEN_FDNAMES=listener and LISTEN_PID, so the port stays open across
 * restarts as under systemd.
 *
 * The socket is D/notify.sock (DN_SVCMGR_SOCKET) in the devnet directory.
 *
 * Single-threaded use only (the supervisor's loop). The supervisor has other threads (the
 * fleet page), so a node's environment is built before fork (dn_svcmgr_env_build) and the
 * child only writes its pid into it and places fd 3 (dn_svcmgr_child).
 */
#ifndef ANT_DEVNET_SVCMGR_H
#define ANT_DEVNET_SVCMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ant/err.h"
#include "ant/sysd.h"

#define DN_SVCMGR_SOCKET "notify.sock"
#define DN_SVCMGR_START_TIMEOUT_S 60.0
#define DN_SVCMGR_WATCHDOG_S 20.0

struct dn_svcmgr;

/*
 * Binds the notification socket at `path` (replacing a stale one) for `nslots` nodes.
 * Errors: ANT_ERR_INVALID_ARG (path too long for sockaddr_un, nslots 0), ANT_ERR_IO,
 * ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err dn_svcmgr_open(const char *path, unsigned nslots, double start_timeout_s,
                                      double watchdog_s, struct dn_svcmgr **out);

/*
 * The environment of a slot's next process, built in the parent before fork: the child of
 * a process with other threads (the fleet page) may call nothing that takes a lock, and
 * setenv does. envp is the parent's environment without the manager's variables, then
 * NOTIFY_SOCKET, WATCHDOG_USEC and, when the slot holds a listener, LISTEN_FDS,
 * LISTEN_FDNAMES and LISTEN_PID (its digits written by dn_svcmgr_child). Its strings are
 * the parent's or in this struct: valid until dn_svcmgr_env_free.
 */
struct dn_svcmgr_env {
    char **envp;
    size_t listen_at;    /* index of the first LISTEN_* entry; 0 = none */
    char notify_var[160];
    char watchdog_var[48];
    char pid_var[ANT_SYSD_LISTEN_PID_VAR_MAX];
};

/* Builds `env` for slot `slot` (NULL m: the parent's environment unchanged). Errors:
 * ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG. */
ANT_MUST_CHECK ant_err dn_svcmgr_env_build(const struct dn_svcmgr *m, unsigned slot,
                                           struct dn_svcmgr_env *env);
void dn_svcmgr_env_free(struct dn_svcmgr_env *env);

/* In the forked child of slot `slot`, before exec with env->envp: the stored listener as
 * fd 3 and LISTEN_PID = this pid in `env` (or no LISTEN_* at all when fd 3 cannot be
 * placed), and `environ` pointed at env->envp. Only async-signal-safe calls: no lock, no
 * allocation. NULL m is a no-op apart from `environ`. */
void dn_svcmgr_child(const struct dn_svcmgr *m, unsigned slot, struct dn_svcmgr_env *env);

/* The parent started `pid` for `slot` at `now` (dn_now seconds). */
void dn_svcmgr_started(struct dn_svcmgr *m, unsigned slot, pid_t pid, double now);

/* The slot's process was reaped. */
void dn_svcmgr_exited(struct dn_svcmgr *m, unsigned slot);

/*
 * Reads every pending notification, then kills (SIGKILL) each slot's process that missed
 * its start timeout or watchdog, logging `Start timed out` / `Watchdog timeout`. Returns
 * the number of processes killed.
 */
unsigned dn_svcmgr_poll(struct dn_svcmgr *m, double now);

/* Observations for the report and tests. */
bool dn_svcmgr_ready(const struct dn_svcmgr *m, unsigned slot);
unsigned dn_svcmgr_timeouts(const struct dn_svcmgr *m, unsigned slot);
bool dn_svcmgr_has_listener(const struct dn_svcmgr *m, unsigned slot);

/* Closes the socket (and unlinks it), every stored fd, frees. NULL is fine. */
void dn_svcmgr_close(struct dn_svcmgr *m);

#endif
