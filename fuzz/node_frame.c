/*
 * Fuzz target: the node protocol frame parser (ant/node_proto.h), the first code to see a
 * peer's bytes. The first input byte picks the max-frame limit, the rest is a byte stream
 * parsed frame by frame as a server would. Checked on every accepted frame: it lies wholly
 * inside the buffer, the header check agrees with the parser, and re-encoding the header
 * gives back the same bytes; on TRUNCATED nothing is consumed. ERROR payloads are decoded
 * into buffers of several sizes, and the error encoder must round-trip.
 */
#include <stdbool.h>
#include <string.h>

#include "ant/node_proto.h"
#include "fuzz.h"

static const size_t max_frames[] = {
    0, 1, ANT_NODE_PROTO_HEADER_BYTES, ANT_NODE_PROTO_HEADER_BYTES + 1, 40, 72, 4096,
    ANT_NODE_PROTO_MIN_CHUNK_FRAME, ANT_NODE_PROTO_MIN_CHUNK_FRAME + 1, SIZE_MAX,
};

static void check_error_payload(const uint8_t *p, size_t len)
{
    static const size_t caps[] = {0, 1, 5, ANT_NODE_PROTO_ERRMSG_MAX + 1};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        char msg[ANT_NODE_PROTO_ERRMSG_MAX + 1];
        memset(msg, 'x', sizeof msg);
        ant_err code = ANT_OK;
        ant_err err = ant_node_proto_parse_error(p, len, &code, msg, caps[i]);
        if (err != ANT_OK)
            continue;
        FUZZ_ASSERT(code < 0);
        if (caps[i] > 0)
            FUZZ_ASSERT(memchr(msg, '\0', caps[i]) != NULL);
        if (caps[i] < sizeof msg)
            FUZZ_ASSERT(caps[i] == 0 || msg[caps[i]] == 'x');
    }
}

/* Encodes a message taken from the input as an ERROR payload and decodes it again. */
static void check_error_roundtrip(const uint8_t *data, size_t size)
{
    char text[ANT_NODE_PROTO_ERRMSG_MAX + 64];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    size_t textlen = strlen(text);
    uint8_t payload[4 + ANT_NODE_PROTO_ERRMSG_MAX];
    size_t plen = ant_node_proto_error_payload(payload, sizeof payload, ANT_ERR_PROTOCOL, text);
    size_t want = textlen < ANT_NODE_PROTO_ERRMSG_MAX ? textlen : ANT_NODE_PROTO_ERRMSG_MAX;
    FUZZ_ASSERT(plen == 4 + want);
    ant_err code = ANT_OK;
    char back[ANT_NODE_PROTO_ERRMSG_MAX + 1];
    FUZZ_ASSERT(ant_node_proto_parse_error(payload, plen, &code, back, sizeof back) == ANT_OK);
    FUZZ_ASSERT(code == ANT_ERR_PROTOCOL);
    FUZZ_ASSERT(strlen(back) == want);
    /* The decoder keeps printable ASCII and shows anything else as '?'. */
    for (size_t i = 0; i < want; i++) {
        unsigned char ch = (unsigned char)text[i];
        FUZZ_ASSERT(back[i] == ((ch >= 0x20 && ch < 0x7f) ? text[i] : '?'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_frame = max_frames[data[0] % (sizeof max_frames / sizeof max_frames[0])];
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    size_t off = 0;
    check_error_roundtrip(buf, len);
    while (off <= len) {
        struct ant_node_frame frame;
        size_t consumed = 12345;
        ant_err err = ant_node_proto_parse(buf + off, len - off, max_frame, &frame, &consumed);
        if (err == ANT_ERR_TRUNCATED) {
            FUZZ_ASSERT(consumed == 0);
            if (len - off >= ANT_NODE_PROTO_HEADER_BYTES) {
                size_t total = 0;
                FUZZ_ASSERT(ant_node_proto_check_header(buf + off, max_frame, &total) == ANT_OK);
                FUZZ_ASSERT(total > len - off);
            }
            break;
        }
        if (err != ANT_OK) {
            FUZZ_ASSERT(err == ANT_ERR_TOO_LARGE || err == ANT_ERR_PROTOCOL);
            FUZZ_ASSERT(len - off >= ANT_NODE_PROTO_HEADER_BYTES);
            size_t total = 0;
            FUZZ_ASSERT(ant_node_proto_check_header(buf + off, max_frame, &total) == err);
            break;
        }
        FUZZ_ASSERT(consumed >= ANT_NODE_PROTO_HEADER_BYTES && consumed <= len - off);
        FUZZ_ASSERT(consumed <= max_frame);
        FUZZ_ASSERT(frame.payload == buf + off + ANT_NODE_PROTO_HEADER_BYTES);
        FUZZ_ASSERT(frame.payload_len == consumed - ANT_NODE_PROTO_HEADER_BYTES);
        size_t total = 0;
        FUZZ_ASSERT(ant_node_proto_check_header(buf + off, max_frame, &total) == ANT_OK);
        FUZZ_ASSERT(total == consumed);
        uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES];
        FUZZ_ASSERT(ant_node_proto_header(hdr, frame.type, frame.payload_len) == ANT_OK);
        FUZZ_ASSERT(memcmp(hdr, buf + off, sizeof hdr) == 0);
        if (frame.type == ANT_FRAME_ERROR)
            check_error_payload(frame.payload, frame.payload_len);
        /* Touch every payload byte so an out-of-bounds payload trips ASan here. */
        uint8_t sum = 0;
        for (size_t i = 0; i < frame.payload_len; i++)
            sum = (uint8_t)(sum ^ frame.payload[i]);
        (void)sum;
        off += consumed;
    }
    return 0;
}
