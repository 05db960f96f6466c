/*
 * A node under a service manager (ARCHITECTURE.md §11): what `ant-node run` tells systemd
 * and takes from it. Everything here also works, and does nothing visible, without one.
 *
 *   ant_node_service_new(&cfg, &s);          first, before any thread: reads LISTEN_FDS
 *   ant_node_start_with_listener(&cfg, ant_node_service_take_listener(s), &node);
 *   ant_node_service_ready(s, node);         READY=1, listener to the fd store, watchdog
 *   ... ant_node_service_status(s, upgrade_state) on every upgrade state change ...
 *   ant_node_service_healthy(s)              the upgrade engine's trial health probe
 *   ant_node_service_stopping(s, code);      STOPPING=1, watchdog joined; before
 *   ant_node_stop(node); ant_node_service_free(s);
 *
 * The listener goes into the manager's fd store (FDNAME "listener") as soon as the node
 * serves (unless it came from there), so whatever ends this process (an upgrade's exit 75, a crash, the watchdog) the
 * next start takes the same socket back and connections wait in its backlog instead of
 * being refused. The watchdog pings only while the node's heartbeat is fresh (its acceptor
 * turns and some worker is free to serve), so a wedged node stops pinging and the manager
 * kills it.
 */
#ifndef ANT_NODE_SERVICE_H
#define ANT_NODE_SERVICE_H

#include <stdbool.h>

#include "ant/err.h"
#include "ant/node.h"
#include "ant/node_config.h"

/* The fd store / LISTEN_FDNAMES name of the node's listening socket. */
#define ANT_NODE_SERVICE_FDNAME "listener"
/* The acceptor and every free worker turn at least once a second; this many ms without a
 * heartbeat (ant_node_heartbeat_ms) is a hang. */
#define ANT_NODE_SERVICE_STALE_MS 5000
/* Failed trial health probes in a row (one per trial period) before a node under a service
 * manager exits with ANT_NODE_SERVICE_EXIT_UNHEALTHY, so the attempt counts. */
#define ANT_NODE_SERVICE_TRIAL_PROBES 3
#define ANT_NODE_SERVICE_EXIT_UNHEALTHY 1

struct ant_node_service;

/*
 * Reads the manager's environment. A socket named ANT_NODE_SERVICE_FDNAME in LISTEN_FDS
 * that passes ant_node_listener_check() against cfg->listen is kept for
 * ant_node_service_take_listener(); one that does not (the configuration changed) is
 * closed and dropped from the manager's fd store, and the node binds afresh. Other passed
 * fds are closed. A malformed environment is logged and ignored. `cfg` is borrowed for the
 * service's life. Errors: ANT_ERR_INVALID_ARG, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_node_service_new(const struct ant_node_config *cfg,
                                            struct ant_node_service **out);

/* The listener taken from the manager (the caller owns it from now on), or -1. */
int ant_node_service_take_listener(struct ant_node_service *s);

/*
 * The node is up (identity, store, listener): sends READY=1 and a STATUS, hands a copy of
 * the listener to the fd store unless it was taken from the manager, and starts the watchdog thread when WATCHDOG_USEC asks for
 * one (pings at half the interval while ant_node_heartbeat_ms() is fresh). The node must
 * outlive ant_node_service_stopping(). Errors: ANT_ERR_NOMEM (no thread; nothing sent).
 */
ANT_MUST_CHECK ant_err ant_node_service_ready(struct ant_node_service *s, struct ant_node *node);

/* Reports an upgrade state token (ant_upgrade_config.state_changed) as STATUS=. Any thread;
 * NULL s is a no-op. */
void ant_node_service_status(struct ant_node_service *s, const char *upgrade_state);

/*
 * The trial health probe (ant_upgrade_config.healthy; `arg` is the service): true only if
 * the node became ready, its heartbeat has not been seen stale since the previous
 * probe, and a PING to the node's own port is answered now. After
 * ANT_NODE_SERVICE_TRIAL_PROBES failures in a row, a node run for a service manager
 * (cfg->stop_on_upgrade) is asked to exit with ANT_NODE_SERVICE_EXIT_UNHEALTHY: the
 * manager restarts it, and the trial counts that start as a failed attempt.
 */
bool ant_node_service_healthy(void *arg);

/* Shutting down with `exit_code`: STOPPING=1 with a STATUS, and the watchdog thread joined.
 * Call before ant_node_stop(). */
void ant_node_service_stopping(struct ant_node_service *s, int exit_code);

/* Frees the service (joins the watchdog if still running, closes an untaken listener). */
void ant_node_service_free(struct ant_node_service *s);

#endif
