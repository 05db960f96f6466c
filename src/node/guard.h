/*
 * What the protocol server lets one peer, and all peers together, cost (internal to
 * src/node; see docs/PROTOCOL.md, "Limits and guarantees"): a process-wide byte budget for
 * connection buffers, and a table counting open connections per source address so one
 * address (an IPv4 address, or an IPv6 /64, which one subscriber usually holds whole)
 * cannot take every connection slot.
 */
#ifndef ANT_NODE_GUARD_H
#define ANT_NODE_GUARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ant/err.h"

/* A byte budget shared by threads: take before allocating, give back after freeing. */
struct node_budget {
    atomic_size_t used;
    size_t limit;
};

void node_budget_init(struct node_budget *b, size_t limit);
/* Takes n bytes if used + n stays within the limit; false (nothing taken) otherwise. */
bool node_budget_take(struct node_budget *b, size_t n);
/* Gives back n bytes taken earlier. */
void node_budget_give(struct node_budget *b, size_t n);
size_t node_budget_used(const struct node_budget *b);

/* A peer's address as the per-address limit counts it: IPv4 (also v4-mapped IPv6) as
 * ::ffff:a.b.c.d, IPv6 cut to its /64. */
struct node_addr_key {
    uint8_t b[16];
};

#define NODE_ADDR_TEXT_MAX 64

/* The key of `sa` (len bytes). Any family other than IPv4/IPv6 maps to the all-zero key,
 * which is counted like any other. */
void node_addr_key_of(const struct sockaddr *sa, socklen_t len, struct node_addr_key *key);
/* "192.0.2.7" or "2001:db8:1:2::/64", for log lines. */
void node_addr_key_format(const struct node_addr_key *key, char *buf, size_t cap);

struct node_addr_table;

/* A table for at most `max_keys` distinct keys in use at once (the connection limit).
 * Errors: ANT_ERR_INVALID_ARG (0 or over 65536), ANT_ERR_NOMEM. Not thread-safe: the
 * server calls it under its lock. */
ANT_MUST_CHECK ant_err node_addr_table_new(unsigned max_keys, struct node_addr_table **out);
void node_addr_table_free(struct node_addr_table *t);
/* Counts one more connection of `key` if it has fewer than `limit`; false otherwise (and
 * when max_keys distinct keys are already in use). */
bool node_addr_table_acquire(struct node_addr_table *t, const struct node_addr_key *key,
                             unsigned limit);
/* Counts one connection of `key` less (it must have been acquired). */
void node_addr_table_release(struct node_addr_table *t, const struct node_addr_key *key);
/* Connections counted for `key` now. */
unsigned node_addr_table_count(const struct node_addr_table *t, const struct node_addr_key *key);

#endif
