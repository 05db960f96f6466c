/*
 * The node daemon: opens the root directory, the identity and the chunk store, serves the
 * protocol (ant/node_proto.h) on worker threads, and shuts down cleanly on request.
 *
 * Lifecycle, as `ant-node run` drives it:
 *   ant_node_start(cfg, &node)            open everything, listen, write <root>/node.port
 *   [upgrade monitor starts here unless cfg->no_auto_upgrade; see docs/OPERATIONS.md]
 *   code = ant_node_wait(node, sigfd)     until a signal or ant_node_request_exit()
 *   [upgrade monitor stops here]
 *   ant_node_stop(node)                   drain workers, close LMDB, remove node.port
 *   return code from main()
 *
 * Hooks for the upgrade engine (all thread-safe, callable from its monitor thread):
 *   ant_node_set_upgrade_state()  the string STATUS reports ("idle" until set)
 *   ant_node_request_exit()       ask the daemon to shut down cleanly and exit with a code
 *                                 (75 = restart me, under a service manager)
 *   ant_node_peer_id_hex(), ant_node_root_dirfd(), ant_node_config() for its inputs.
 */
#ifndef ANT_NODE_H
#define ANT_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"
#include "ant/node_config.h"

#define ANT_NODE_PORT_FILE "node.port"
#define ANT_NODE_UPGRADE_STATE_MAX 64 /* bytes of the upgrade state string, NUL included */
#define ANT_NODE_EXIT_RESTART 75      /* EX_TEMPFAIL: the systemd unit restarts on it */

struct ant_node;

/*
 * Starts a node with settings `cfg` (copied). Creates the root dir (0700) if missing and
 * checks it (ant_fsx_open_trusted_dir), locks <root>/node.lock (waiting up to 15 s for a
 * predecessor to exit), loads or creates the identity, opens the store,
 * binds cfg->listen, starts cfg->workers workers, writes the bound port to
 * <root>/node.port atomically and logs `Node started`.
 * Errors: ANT_ERR_BUSY (another node holds the root), those of the identity and store
 * opens; ANT_ERR_INVALID_ARG (bad listen
 * address); ANT_ERR_NETWORK (bind/listen failed: in use, not permitted); ANT_ERR_IO;
 * ANT_ERR_NOMEM. On error nothing is left running.
 */
ANT_MUST_CHECK ant_err ant_node_start(const struct ant_node_config *cfg,
                                      struct ant_node **out);

/*
 * ant_node_start() serving on `listenfd`, a listening socket taken over from the previous
 * process (the service manager's fd store or a restarting parent) and already checked
 * with ant_node_listener_check(); -1 binds cfg->listen as ant_node_start() does. The node
 * owns `listenfd` from the call on, on success and on error alike. Errors: as
 * ant_node_start(), ANT_ERR_NETWORK if the socket cannot be set up.
 */
ANT_MUST_CHECK ant_err ant_node_start_with_listener(const struct ant_node_config *cfg,
                                                    int listenfd, struct ant_node **out);

/*
 * Checks that `fd` is a listening TCP socket bound to the address `listen` names (the
 * port too, unless it is 0). Returns ANT_OK, ANT_ERR_MISMATCH (a listener on another
 * address or port: the configuration changed), or ANT_ERR_INVALID_ARG (not a listening
 * stream socket of AF_INET/AF_INET6, or an unparsable `listen`).
 */
ANT_MUST_CHECK ant_err ant_node_listener_check(const char *listen, int fd);

/* A close-on-exec duplicate of the node's listening socket in *fd, for handing it to the
 * next process (the caller owns it). ANT_ERR_IO if it cannot be duplicated. */
ANT_MUST_CHECK ant_err ant_node_dup_listener(const struct ant_node *node, int *fd);

/* CLOCK_MONOTONIC ms of the node's latest proof that it can serve: the older of the
 * acceptor loop's latest turn and the latest turn of any worker's loop (each turns at least
 * once a second while it is not stuck in a request). The liveness the service watchdog
 * reports. Safe from any thread. */
uint64_t ant_node_heartbeat_ms(struct ant_node *node);

/*
 * The trial health probe (src/node/service.c) is about to connect from `local_port`, a
 * port its own bound socket holds: the next connection from that port and from the
 * address it reaches (so from this host) is admitted past max-connections and
 * max-connections-per-address, once. Peers holding every slot within their limits then
 * cannot fail the probe of a healthy node on trial (issue 13 item 2). 0 clears it.
 * Safe from any thread.
 */
void ant_node_expect_probe(struct ant_node *node, uint16_t local_port);

/*
 * Blocks until ant_node_request_exit() is called or, if `sigfd` >= 0, that fd (a
 * signalfd for SIGTERM/SIGINT, or any fd) becomes readable. Returns the exit code: the
 * requested one, or 0 for a signal. Logs `Node stopping` with the reason.
 */
int ant_node_wait(struct ant_node *node, int sigfd);

/*
 * Asks the node to shut down and ant_node_wait() to return `exit_code`. `reason` is a
 * short word for the log (e.g. "upgrade"). The first request wins; later ones are
 * ignored. Safe from any thread, not from a signal handler.
 */
void ant_node_request_exit(struct ant_node *node, int exit_code, const char *reason);

/* Sets the upgrade state reported by STATUS (cut to ANT_NODE_UPGRADE_STATE_MAX - 1 bytes,
 * control characters replaced). Safe from any thread. */
void ant_node_set_upgrade_state(struct ant_node *node, const char *state);

/* Copies the current upgrade state into buf (cap >= ANT_NODE_UPGRADE_STATE_MAX). */
void ant_node_get_upgrade_state(struct ant_node *node, char *buf, size_t cap);

/* Stops the workers (each finishes the request it is on), closes every connection and
 * the store, removes node.port, frees the node. NULL is a no-op. */
void ant_node_stop(struct ant_node *node);

/* Bytes of the buffer budget (max-buffer-memory) in use now: receive-buffer growth beyond
 * each connection's first 4 KiB plus GET answers being sent (docs/PROTOCOL.md). 0 when no
 * large frame is in flight. Thread-safe. */
size_t ant_node_buffer_used(const struct ant_node *node);

/* Accessors; the returned pointers live as long as the node. */
const char *ant_node_peer_id_hex(const struct ant_node *node);
uint16_t ant_node_port(const struct ant_node *node);
int ant_node_root_dirfd(const struct ant_node *node);
const struct ant_node_config *ant_node_config(const struct ant_node *node);

/*
 * Parses "HOST:PORT" or "[V6]:PORT" (numeric host or a name) for connecting or binding.
 * Writes the host (brackets removed) into host (cap hostcap) and the port into *port.
 * Errors: ANT_ERR_PARSE.
 */
ANT_MUST_CHECK ant_err ant_node_split_hostport(const char *text, char *host, size_t hostcap,
                                               uint16_t *port);

#endif
