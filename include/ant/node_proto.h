/*
 * The node wire protocol (docs/PROTOCOL.md): length-prefixed binary frames over TCP.
 *
 * Every frame is an 8-byte header followed by `length` payload bytes:
 *   u32 length (big-endian, payload bytes only) | u8 version (1) | u8 type | u16 zero
 * Requests: PING, STATUS, PUT, GET, HAS. Each answer is the request type with bit 0x80
 * set, or ERROR carrying the ant_err code and a short message. The parser is a pure
 * function over a buffer so it can be fuzzed and table-tested without sockets.
 */
#ifndef ANT_NODE_PROTO_H
#define ANT_NODE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"
#include "ant/node_store.h"

#define ANT_NODE_PROTO_VERSION 1
#define ANT_NODE_PROTO_HEADER_BYTES 8
#define ANT_NODE_PROTO_PING_MAX 64       /* PING payload echoed back */
#define ANT_NODE_PROTO_STATUS_MAX 4096   /* STATUS answer (JSON text) */
#define ANT_NODE_PROTO_ERRMSG_MAX 256    /* ERROR message bytes */
/* Smallest max-frame that still carries a full chunk with its address. */
#define ANT_NODE_PROTO_MIN_CHUNK_FRAME                                                    \
    (ANT_NODE_PROTO_HEADER_BYTES + ANT_NODE_ADDR_BYTES + ANT_NODE_CHUNK_MAX)

enum ant_node_frame_type {
    ANT_FRAME_PING = 0x01,   /* payload: 0..64 opaque bytes */
    ANT_FRAME_STATUS = 0x02, /* payload: empty */
    ANT_FRAME_PUT = 0x03,    /* payload: 32-byte address, then 0..4 MiB chunk */
    ANT_FRAME_GET = 0x04,    /* payload: 32-byte address */
    ANT_FRAME_HAS = 0x05,    /* payload: 32-byte address */
    ANT_FRAME_ERROR = 0x7f,  /* answer: i32 ant_err (big-endian), then 0..256 message bytes */
    ANT_FRAME_REPLY = 0x80,  /* bit set on every success answer */
    /* success answers:
     *   PING|REPLY   the PING payload
     *   STATUS|REPLY JSON object, 1..4096 bytes (see docs/PROTOCOL.md)
     *   PUT|REPLY    1 byte: 1 = stored now, 0 = was already present
     *   GET|REPLY    the chunk, 0..4 MiB
     *   HAS|REPLY    1 byte: 1 = present, 0 = absent */
};

/* A parsed frame. `payload` points into the parser's input buffer (not copied). */
struct ant_node_frame {
    uint8_t type;
    const uint8_t *payload;
    size_t payload_len;
};

/*
 * Checks a frame header (the first 8 bytes of `hdr`) against `max_frame` (the largest
 * whole frame, header included) and the type's payload limits. On success *total is the
 * whole frame size (header + payload).
 * Errors: ANT_ERR_TOO_LARGE (over max_frame), ANT_ERR_PROTOCOL (wrong version, unknown
 * type, non-zero reserved bits, a payload length the type cannot have).
 */
ANT_MUST_CHECK ant_err ant_node_proto_check_header(const uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES],
                                                   size_t max_frame, size_t *total);

/*
 * Parses one frame from the start of `buf` (`len` bytes available). On ANT_OK, *frame
 * describes it and *consumed is its size; bytes after it belong to the next frame.
 * Errors: ANT_ERR_TRUNCATED (not a whole frame yet: read more; *consumed = 0), and those
 * of ant_node_proto_check_header. Never reads past buf+len.
 */
ANT_MUST_CHECK ant_err ant_node_proto_parse(const uint8_t *buf, size_t len, size_t max_frame,
                                            struct ant_node_frame *frame, size_t *consumed);

/* Writes the 8-byte header of a frame of `type` with `payload_len` bytes to follow.
 * ANT_ERR_TOO_LARGE if payload_len does not fit in 32 bits. */
ANT_MUST_CHECK ant_err ant_node_proto_header(uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES],
                                             uint8_t type, size_t payload_len);

/* Encodes an ERROR payload into `out` (cap >= 4 + ANT_NODE_PROTO_ERRMSG_MAX); returns its
 * length. The message is cut at ANT_NODE_PROTO_ERRMSG_MAX bytes. */
size_t ant_node_proto_error_payload(uint8_t *out, size_t cap, ant_err code, const char *msg);

/* Decodes an ERROR payload: *code, and the message copied NUL-terminated into msg
 * (cap msgcap, may be 0). ANT_ERR_PROTOCOL if shorter than 4 bytes or the code is not
 * negative. */
ANT_MUST_CHECK ant_err ant_node_proto_parse_error(const uint8_t *payload, size_t len,
                                                  ant_err *code, char *msg, size_t msgcap);

#endif
