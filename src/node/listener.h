/*
 * Internal to the node module: binding a listening socket from a `listen` setting (the
 * protocol port and the metrics endpoint), and taking over one another process bound (the
 * service manager's fd store, or the parent of a standalone restart). The public check of
 * such a socket against the configuration is ant_node_listener_check() in ant/node.h.
 */
#ifndef ANT_NODE_LISTENER_H
#define ANT_NODE_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "ant/err.h"

/* Makes `fd` non-blocking and close-on-exec and reads its port into *port. ANT_ERR_NETWORK
 * if it cannot be queried; the fd is not closed here. */
ANT_MUST_CHECK ant_err node_listener_adopt(int fd, uint16_t *port);

/*
 * Binds and listens on `text` ("HOST:PORT" or "[V6]:PORT", ant_node_split_hostport), non-
 * blocking and close-on-exec, with `backlog`; *fd and *port (the real one, for port 0) on
 * success. `loopback_only` refuses an address that does not resolve to loopback (checked on
 * the resolved address, so a name or 0.0.0.0 cannot slip past). Failures are logged under
 * `module`. Errors: ANT_ERR_INVALID_ARG (bad, unresolvable or refused address),
 * ANT_ERR_NETWORK (socket, bind or listen failed: the port may be taken).
 */
ANT_MUST_CHECK ant_err node_listener_bind(const char *text, bool loopback_only, int backlog,
                                          const char *module, int *fd, uint16_t *port);

#endif
