/*
 * A blocking client for the node protocol (ant/node_proto.h), used by `ant-node status`,
 * `put`, `get`, the tests and the benchmark. One connection per client object; requests
 * are sent one at a time. Every wait on the socket is bounded by the timeout given at
 * connect time, and every answer is parsed with the same capped parser the server uses.
 */
#ifndef ANT_NODE_CLIENT_H
#define ANT_NODE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"
#include "ant/node_identity.h"
#include "ant/node_store.h"

struct ant_node_client;

/* What STATUS reports (docs/PROTOCOL.md). */
struct ant_node_status {
    char version[64];
    char peer_id[ANT_NODE_PEER_ID_HEXBYTES];
    uint8_t peer_id_bin[ANT_NODE_PEER_ID_BYTES];
    uint64_t uptime_s;
    uint64_t chunks;
    uint64_t bytes;
    char upgrade_state[64];
    long pid;
};

/*
 * Connects to "HOST:PORT" / "[V6]:PORT". `timeout_ms` bounds the connect and every later
 * send or receive stall (0 = 10 s).
 * Errors: ANT_ERR_PARSE (bad address), ANT_ERR_NETWORK (unreachable, refused),
 * ANT_ERR_TIMEOUT, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_node_client_connect(const char *hostport, unsigned timeout_ms,
                                               struct ant_node_client **out);
/*
 * The same, from a socket bound to port 0 of its family's wildcard address first:
 * `bound(local_port, arg)` is called with the port the socket then holds, before it
 * connects (the node's health probe registers it with ant_node_expect_probe). Same errors.
 */
ANT_MUST_CHECK ant_err ant_node_client_connect_bound(const char *hostport, unsigned timeout_ms,
                                                     void (*bound)(uint16_t local_port,
                                                                   void *arg),
                                                     void *arg, struct ant_node_client **out);
void ant_node_client_close(struct ant_node_client *c);

/* The address given to connect (owned by the client). */
const char *ant_node_client_address(const struct ant_node_client *c);

/*
 * Request helpers. Each returns ANT_OK on a success answer; an ERROR answer from the node
 * is returned as its ant_err code (e.g. ANT_ERR_NOT_FOUND, ANT_ERR_MISMATCH,
 * ANT_ERR_NO_SPACE) with the connection still usable. Transport failures are
 * ANT_ERR_NETWORK / ANT_ERR_TIMEOUT, a malformed answer ANT_ERR_PROTOCOL; after those the
 * connection is closed and every later call fails with ANT_ERR_NETWORK.
 */
ANT_MUST_CHECK ant_err ant_node_client_ping(struct ant_node_client *c);
ANT_MUST_CHECK ant_err ant_node_client_status(struct ant_node_client *c,
                                              struct ant_node_status *st);
/* The raw STATUS JSON (NUL-terminated, cap >= ANT_NODE_PROTO_STATUS_MAX + 1). */
ANT_MUST_CHECK ant_err ant_node_client_status_json(struct ant_node_client *c, char *json,
                                                   size_t cap);
/* *created (may be NULL): whether the node stored it now (false: it already had it). */
ANT_MUST_CHECK ant_err ant_node_client_put(struct ant_node_client *c,
                                           const uint8_t addr[ANT_NODE_ADDR_BYTES],
                                           const void *data, size_t len, bool *created);
/* Receives the chunk into a malloc'd buffer (*data, *len; caller frees) and checks that
 * it hashes to `addr`: ANT_ERR_MISMATCH (nothing returned) if a node sent wrong bytes. */
ANT_MUST_CHECK ant_err ant_node_client_get(struct ant_node_client *c,
                                           const uint8_t addr[ANT_NODE_ADDR_BYTES],
                                           uint8_t **data, size_t *len);
/* As ant_node_client_get into a caller buffer of `cap` bytes (ANT_ERR_TOO_LARGE if the
 * chunk does not fit). With verify false the hash check is skipped (benchmarks compare
 * the bytes themselves). */
ANT_MUST_CHECK ant_err ant_node_client_get_into(struct ant_node_client *c,
                                                const uint8_t addr[ANT_NODE_ADDR_BYTES],
                                                uint8_t *buf, size_t cap, size_t *len,
                                                bool verify);
ANT_MUST_CHECK ant_err ant_node_client_has(struct ant_node_client *c,
                                           const uint8_t addr[ANT_NODE_ADDR_BYTES],
                                           bool *present);

/* Sends raw bytes as they are (tests use it for malformed input). */
ANT_MUST_CHECK ant_err ant_node_client_send_raw(struct ant_node_client *c, const void *data,
                                                size_t len);

/* XOR distance ordering used to place chunks: returns <0, 0, >0 as a^t is smaller than,
 * equal to or larger than b^t, comparing as 256-bit big-endian numbers. */
int ant_node_xor_cmp(const uint8_t a[32], const uint8_t b[32], const uint8_t t[32]);

#endif
