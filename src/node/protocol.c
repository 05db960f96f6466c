/*
 * Frame encoding and the pure frame parser of the node protocol (ant/node_proto.h). The
 * parser rejects anything outside the documented layout (version, type, reserved bits,
 * per-type payload sizes) as soon as the 8-byte header is in, so a server never buffers
 * more than one legal frame's worth of bytes from a peer that is sending garbage.
 */
#include "ant/node_proto.h"

#include <string.h>

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Inclusive payload size range of each frame type; false for an unknown type. */
static int payload_range(uint8_t type, size_t *min, size_t *max)
{
    switch (type) {
    case ANT_FRAME_PING:
    case ANT_FRAME_PING | ANT_FRAME_REPLY:
        *min = 0;
        *max = ANT_NODE_PROTO_PING_MAX;
        return 1;
    case ANT_FRAME_STATUS:
        *min = *max = 0;
        return 1;
    case ANT_FRAME_STATUS | ANT_FRAME_REPLY:
        *min = 1;
        *max = ANT_NODE_PROTO_STATUS_MAX;
        return 1;
    case ANT_FRAME_PUT:
        *min = ANT_NODE_ADDR_BYTES;
        *max = ANT_NODE_ADDR_BYTES + ANT_NODE_CHUNK_MAX;
        return 1;
    case ANT_FRAME_GET:
    case ANT_FRAME_HAS:
        *min = *max = ANT_NODE_ADDR_BYTES;
        return 1;
    case ANT_FRAME_PUT | ANT_FRAME_REPLY:
    case ANT_FRAME_HAS | ANT_FRAME_REPLY:
        *min = *max = 1;
        return 1;
    case ANT_FRAME_GET | ANT_FRAME_REPLY:
        *min = 0;
        *max = ANT_NODE_CHUNK_MAX;
        return 1;
    case ANT_FRAME_ERROR:
        *min = 4;
        *max = 4 + ANT_NODE_PROTO_ERRMSG_MAX;
        return 1;
    default:
        return 0;
    }
}

ant_err ant_node_proto_check_header(const uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES],
                                    size_t max_frame, size_t *total)
{
    size_t len, min, max;

    if (hdr == NULL || total == NULL)
        return ANT_ERR_INVALID_ARG;
    *total = 0;
    if (hdr[4] != ANT_NODE_PROTO_VERSION || hdr[6] != 0 || hdr[7] != 0)
        return ANT_ERR_PROTOCOL;
    if (!payload_range(hdr[5], &min, &max))
        return ANT_ERR_PROTOCOL;
    len = load_be32(hdr);
    /* Size before type limits: an oversize frame is reported as such even when its type
     * could never be that big. */
    if (len > SIZE_MAX - ANT_NODE_PROTO_HEADER_BYTES ||
        len + ANT_NODE_PROTO_HEADER_BYTES > max_frame)
        return ANT_ERR_TOO_LARGE;
    if (len < min || len > max)
        return ANT_ERR_PROTOCOL;
    *total = len + ANT_NODE_PROTO_HEADER_BYTES;
    return ANT_OK;
}

ant_err ant_node_proto_parse(const uint8_t *buf, size_t len, size_t max_frame,
                             struct ant_node_frame *frame, size_t *consumed)
{
    size_t total;
    ant_err err;

    if ((buf == NULL && len > 0) || frame == NULL || consumed == NULL)
        return ANT_ERR_INVALID_ARG;
    *consumed = 0;
    memset(frame, 0, sizeof *frame);
    if (len < ANT_NODE_PROTO_HEADER_BYTES)
        return ANT_ERR_TRUNCATED;
    err = ant_node_proto_check_header(buf, max_frame, &total);
    if (err != ANT_OK)
        return err;
    if (len < total)
        return ANT_ERR_TRUNCATED;
    frame->type = buf[5];
    frame->payload = buf + ANT_NODE_PROTO_HEADER_BYTES;
    frame->payload_len = total - ANT_NODE_PROTO_HEADER_BYTES;
    *consumed = total;
    return ANT_OK;
}

ant_err ant_node_proto_header(uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES], uint8_t type,
                              size_t payload_len)
{
    if (hdr == NULL)
        return ANT_ERR_INVALID_ARG;
    if (payload_len > UINT32_MAX)
        return ANT_ERR_TOO_LARGE;
    store_be32(hdr, (uint32_t)payload_len);
    hdr[4] = ANT_NODE_PROTO_VERSION;
    hdr[5] = type;
    hdr[6] = 0;
    hdr[7] = 0;
    return ANT_OK;
}

size_t ant_node_proto_error_payload(uint8_t *out, size_t cap, ant_err code, const char *msg)
{
    size_t mlen = msg != NULL ? strlen(msg) : 0;
    if (out == NULL || cap < 4)
        return 0;
    if (mlen > ANT_NODE_PROTO_ERRMSG_MAX)
        mlen = ANT_NODE_PROTO_ERRMSG_MAX;
    if (mlen > cap - 4)
        mlen = cap - 4;
    store_be32(out, (uint32_t)(int32_t)code);
    if (mlen > 0)
        memcpy(out + 4, msg, mlen);
    return 4 + mlen;
}

ant_err ant_node_proto_parse_error(const uint8_t *payload, size_t len, ant_err *code,
                                   char *msg, size_t msgcap)
{
    int32_t c;
    size_t mlen;

    if (payload == NULL || code == NULL || len < 4)
        return ANT_ERR_PROTOCOL;
    c = (int32_t)load_be32(payload);
    if (c >= 0)
        return ANT_ERR_PROTOCOL;
    *code = (ant_err)c;
    if (msg != NULL && msgcap > 0) {
        mlen = len - 4;
        if (mlen > msgcap - 1)
            mlen = msgcap - 1;
        for (size_t i = 0; i < mlen; i++) {
            uint8_t ch = payload[4 + i];
            /* The message goes to logs and terminals: keep it printable. */
            msg[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
        }
        msg[mlen] = '\0';
    }
    return ANT_OK;
}
