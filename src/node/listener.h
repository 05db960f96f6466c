/*
 * Internal to the node module: taking over a listening socket another process bound (the
 * service manager's fd store, or the parent of a standalone restart). The public check of
 * such a socket against the configuration is ant_node_listener_check() in ant/node.h.
 */
#ifndef ANT_NODE_LISTENER_H
#define ANT_NODE_LISTENER_H

#include <stdint.h>

#include "ant/err.h"

/* Makes `fd` non-blocking and close-on-exec and reads its port into *port. ANT_ERR_NETWORK
 * if it cannot be queried; the fd is not closed here. */
ANT_MUST_CHECK ant_err node_listener_adopt(int fd, uint16_t *port);

#endif
