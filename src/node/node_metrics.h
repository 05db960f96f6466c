/*
 * The node's metrics (internal to src/node): the protocol families server.c updates on its
 * hot path, the scrape-time collector for the store and the process, the `node` health
 * component, and the `--metrics-listen` endpoint serving /metrics and /healthz from
 * ant_metrics_default() (ARCHITECTURE.md §12).
 */
#ifndef ANT_NODE_METRICS_H
#define ANT_NODE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "ant/err.h"
#include "ant/node_config.h"
#include "ant/node_store.h"

/* Monotonic microseconds, the clock of the request duration histogram. */
uint64_t node_metrics_now_us(void);

/*
 * One request on the calling worker thread: begin when its frame is complete, answer when
 * its reply (or ERROR) frame is about to be written — the request is counted and timed
 * there, before the client can see the answer, so a client that got its reply always finds
 * it counted — and end when the handler returns (`failed`: it closed the connection; a
 * request that failed before any answer is counted then, as an error).
 */
void node_metrics_begin(uint8_t type);
void node_metrics_answer(void);
void node_metrics_end(bool failed);

/* Called by the code that sends an ERROR frame, before sending it: the current request is
 * an error. */
void node_metrics_error_sent(void);

/* A malformed frame (no operation to count it under). */
void node_metrics_malformed(void);

/* Open protocol connections now, and one refused at the connection cap. */
void node_metrics_connections(unsigned open);
void node_metrics_refused(void);

struct node_metrics;

/*
 * Registers the node's families (idempotent), its collector over `store` (which must
 * outlive node_metrics_stop), sets the `node` health component to "starting", and starts
 * the endpoint when cfg->metrics_listen is set. Errors: those of ant_httpd_start (a bad or
 * non-loopback address without metrics-allow-remote, a port in use), ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err node_metrics_start(const struct ant_node_config *cfg,
                                          struct ant_node_store *store,
                                          struct node_metrics **out);

/* The endpoint's bound port (0 when off). */
uint16_t node_metrics_port(const struct node_metrics *m);

/* Sets antnode_ready and the `node` health component. */
void node_metrics_ready(const struct node_metrics *m, bool ready, const char *reason);

/* Stops the endpoint, removes the collector and the health component. NULL is a no-op. */
void node_metrics_stop(struct node_metrics *m);

#endif
