/*
 * The blocking protocol client (ant/node_client.h). Sockets use SO_RCVTIMEO/SO_SNDTIMEO
 * so no call waits longer than the connect-time timeout per stall, and answers go
 * through ant_node_proto_check_header with the largest legal answer as the cap, so a
 * misbehaving node cannot make the client allocate more than one chunk.
 */
#include "ant/node_client.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ant/node.h"
#include "ant/node_proto.h"

/* The largest answer a node can legally send: a GET reply with a full chunk. */
#define MAX_ANSWER (ANT_NODE_PROTO_HEADER_BYTES + ANT_NODE_CHUNK_MAX)

struct ant_node_client {
    int fd;
    char address[300];
};

int ant_node_xor_cmp(const uint8_t a[32], const uint8_t b[32], const uint8_t t[32])
{
    for (size_t i = 0; i < 32; i++) {
        uint8_t da = (uint8_t)(a[i] ^ t[i]), db = (uint8_t)(b[i] ^ t[i]);
        if (da != db)
            return da < db ? -1 : 1;
    }
    return 0;
}

/* Binds fd to port 0 of the wildcard address of `family` and calls bound() with the port
 * it got. */
static ant_err bind_any(int fd, int family, void (*bound)(uint16_t, void *), void *arg)
{
    struct sockaddr_storage ss;
    socklen_t len;
    uint16_t port;

    memset(&ss, 0, sizeof ss);
    ss.ss_family = (sa_family_t)family;
    len = family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                             : (socklen_t)sizeof(struct sockaddr_in);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0)
        return ANT_ERR_NETWORK;
    len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return ANT_ERR_NETWORK;
    port = family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                              : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    bound(port, arg);
    return ANT_OK;
}

static ant_err connect_one(const struct addrinfo *ai, unsigned timeout_ms,
                           void (*bound)(uint16_t, void *), void *arg, int *out)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct pollfd pfd;
    struct timeval tv;
    int soerr = 0, flags, one = 1, rc;
    socklen_t len = sizeof soerr;

    if (fd < 0)
        return ANT_ERR_NETWORK;
    if (bound != NULL && bind_any(fd, ai->ai_family, bound, arg) != ANT_OK) {
        close(fd);
        return ANT_ERR_NETWORK;
    }
    rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
        close(fd);
        return ANT_ERR_NETWORK;
    }
    if (rc != 0) {
        pfd.fd = fd;
        pfd.events = POLLOUT;
        do
            rc = poll(&pfd, 1, (int)timeout_ms);
        while (rc < 0 && errno == EINTR);
        if (rc <= 0) {
            close(fd);
            return rc == 0 ? ANT_ERR_TIMEOUT : ANT_ERR_NETWORK;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
            close(fd);
            return ANT_ERR_NETWORK;
        }
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        close(fd);
        return ANT_ERR_NETWORK;
    }
    tv.tv_sec = (time_t)(timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)((timeout_ms % 1000) * 1000);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *out = fd;
    return ANT_OK;
}

ant_err ant_node_client_connect(const char *hostport, unsigned timeout_ms,
                                struct ant_node_client **out)
{
    return ant_node_client_connect_bound(hostport, timeout_ms, NULL, NULL, out);
}

ant_err ant_node_client_connect_bound(const char *hostport, unsigned timeout_ms,
                                      void (*bound)(uint16_t local_port, void *arg), void *arg,
                                      struct ant_node_client **out)
{
    struct addrinfo hints, *res = NULL;
    struct ant_node_client *c;
    char host[256], portstr[8];
    uint16_t port;
    ant_err err;
    int fd = -1;

    if (hostport == NULL || out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (timeout_ms == 0)
        timeout_ms = 10000;
    if (strlen(hostport) >= sizeof c->address)
        return ANT_ERR_PARSE;
    err = ant_node_split_hostport(hostport, host, sizeof host, &port);
    if (err != ANT_OK)
        return err;
    if (port == 0)
        return ANT_ERR_PARSE;
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL)
        return ANT_ERR_NETWORK;
    err = ANT_ERR_NETWORK;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        err = connect_one(ai, timeout_ms, bound, arg, &fd);
        if (err == ANT_OK)
            break;
    }
    freeaddrinfo(res);
    if (err != ANT_OK)
        return err;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        close(fd);
        return ANT_ERR_NOMEM;
    }
    c->fd = fd;
    snprintf(c->address, sizeof c->address, "%s", hostport);
    *out = c;
    return ANT_OK;
}

void ant_node_client_close(struct ant_node_client *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

const char *ant_node_client_address(const struct ant_node_client *c)
{
    return c->address;
}

/* A transport failure leaves the stream at an unknown position: drop the connection. */
static ant_err fail(struct ant_node_client *c, ant_err err)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    return err;
}

static ant_err send_iov(struct ant_node_client *c, struct iovec *iov, int iovcnt)
{
    if (c->fd < 0)
        return ANT_ERR_NETWORK;
    while (iovcnt > 0) {
        struct msghdr mh;
        ssize_t w;
        memset(&mh, 0, sizeof mh);
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)iovcnt;
        w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return fail(c, errno == EAGAIN || errno == EWOULDBLOCK ? ANT_ERR_TIMEOUT
                                                                   : ANT_ERR_NETWORK);
        }
        while (iovcnt > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return ANT_OK;
}

ant_err ant_node_client_send_raw(struct ant_node_client *c, const void *data, size_t len)
{
    struct iovec iov = {(void *)data, len};
    if (c == NULL || (data == NULL && len > 0))
        return ANT_ERR_INVALID_ARG;
    return send_iov(c, &iov, 1);
}

static ant_err send_request(struct ant_node_client *c, uint8_t type, const void *a, size_t alen,
                            const void *b, size_t blen)
{
    uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES];
    struct iovec iov[3];
    int n = 1;
    ant_err err;

    if (alen > SIZE_MAX - blen)
        return ANT_ERR_TOO_LARGE;
    err = ant_node_proto_header(hdr, type, alen + blen);
    if (err != ANT_OK)
        return err;
    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof hdr;
    if (alen > 0) {
        iov[n].iov_base = (void *)a;
        iov[n++].iov_len = alen;
    }
    if (blen > 0) {
        iov[n].iov_base = (void *)b;
        iov[n++].iov_len = blen;
    }
    return send_iov(c, iov, n);
}

static ant_err recv_full(struct ant_node_client *c, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = recv(c->fd, buf + done, len - done, 0);
        if (r == 0)
            return fail(c, ANT_ERR_NETWORK);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return fail(c, errno == EAGAIN || errno == EWOULDBLOCK ? ANT_ERR_TIMEOUT
                                                                   : ANT_ERR_NETWORK);
        }
        done += (size_t)r;
    }
    return ANT_OK;
}

/*
 * Receives one answer to a request of `type`. The payload goes to `buf` (cap bytes) when
 * given, else into a malloc'd *heap. An ERROR answer becomes its code.
 */
static ant_err recv_answer(struct ant_node_client *c, uint8_t type, uint8_t *buf, size_t cap,
                           uint8_t **heap, size_t *len)
{
    uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES];
    uint8_t small[4 + ANT_NODE_PROTO_ERRMSG_MAX];
    size_t total, plen;
    ant_err err, code;

    if (c->fd < 0)
        return ANT_ERR_NETWORK;
    err = recv_full(c, hdr, sizeof hdr);
    if (err != ANT_OK)
        return err;
    err = ant_node_proto_check_header(hdr, MAX_ANSWER, &total);
    if (err != ANT_OK)
        return fail(c, ANT_ERR_PROTOCOL);
    plen = total - ANT_NODE_PROTO_HEADER_BYTES;
    if (hdr[5] == ANT_FRAME_ERROR) {
        err = recv_full(c, small, plen);
        if (err != ANT_OK)
            return err;
        if (ant_node_proto_parse_error(small, plen, &code, NULL, 0) != ANT_OK)
            return fail(c, ANT_ERR_PROTOCOL);
        return code;
    }
    if (hdr[5] != (type | ANT_FRAME_REPLY))
        return fail(c, ANT_ERR_PROTOCOL);
    if (buf != NULL) {
        if (plen > cap) {
            /* Drain so the connection stays in step, then report the size problem. */
            uint8_t sink[4096];
            size_t left = plen;
            while (left > 0) {
                size_t n = left < sizeof sink ? left : sizeof sink;
                err = recv_full(c, sink, n);
                if (err != ANT_OK)
                    return err;
                left -= n;
            }
            return ANT_ERR_TOO_LARGE;
        }
        err = recv_full(c, buf, plen);
    } else {
        *heap = malloc(plen > 0 ? plen : 1);
        if (*heap == NULL)
            return fail(c, ANT_ERR_NOMEM);
        err = recv_full(c, *heap, plen);
        if (err != ANT_OK) {
            free(*heap);
            *heap = NULL;
        }
    }
    if (err == ANT_OK)
        *len = plen;
    return err;
}

ant_err ant_node_client_ping(struct ant_node_client *c)
{
    static const uint8_t probe[8] = {'a', 'n', 't', '-', 'p', 'i', 'n', 'g'};
    uint8_t echo[ANT_NODE_PROTO_PING_MAX];
    size_t len = 0;
    ant_err err;

    if (c == NULL)
        return ANT_ERR_INVALID_ARG;
    err = send_request(c, ANT_FRAME_PING, probe, sizeof probe, NULL, 0);
    if (err == ANT_OK)
        err = recv_answer(c, ANT_FRAME_PING, echo, sizeof echo, NULL, &len);
    if (err == ANT_OK && (len != sizeof probe || memcmp(echo, probe, len) != 0))
        err = fail(c, ANT_ERR_PROTOCOL);
    return err;
}

ant_err ant_node_client_status_json(struct ant_node_client *c, char *json, size_t cap)
{
    size_t len = 0;
    ant_err err;

    if (c == NULL || json == NULL || cap < 2)
        return ANT_ERR_INVALID_ARG;
    err = send_request(c, ANT_FRAME_STATUS, NULL, 0, NULL, 0);
    if (err == ANT_OK)
        err = recv_answer(c, ANT_FRAME_STATUS, (uint8_t *)json, cap - 1, NULL, &len);
    if (err != ANT_OK)
        return err;
    json[len] = '\0';
    return ANT_OK;
}

static bool get_str(struct json_object *o, const char *key, char *out, size_t cap)
{
    struct json_object *v;
    const char *s;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return false;
    s = json_object_get_string(v);
    if (strlen(s) >= cap)
        return false;
    snprintf(out, cap, "%s", s);
    return true;
}

static bool get_u64(struct json_object *o, const char *key, uint64_t *out)
{
    struct json_object *v;
    int64_t x;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    x = json_object_get_int64(v);
    if (x < 0)
        return false;
    *out = (uint64_t)x;
    return true;
}

ant_err ant_node_client_status(struct ant_node_client *c, struct ant_node_status *st)
{
    char json[ANT_NODE_PROTO_STATUS_MAX + 1];
    struct json_tokener *tok = NULL;
    struct json_object *o = NULL;
    uint64_t pid = 0;
    ant_err err;

    if (st == NULL)
        return ANT_ERR_INVALID_ARG;
    memset(st, 0, sizeof *st);
    err = ant_node_client_status_json(c, json, sizeof json);
    if (err != ANT_OK)
        return err;
    tok = json_tokener_new_ex(8);
    if (tok == NULL)
        return ANT_ERR_NOMEM;
    o = json_tokener_parse_ex(tok, json, (int)strlen(json));
    err = ANT_ERR_PROTOCOL;
    if (o == NULL || !json_object_is_type(o, json_type_object))
        goto out;
    if (!get_str(o, "version", st->version, sizeof st->version) ||
        !get_str(o, "peer_id", st->peer_id, sizeof st->peer_id) ||
        !get_str(o, "upgrade_state", st->upgrade_state, sizeof st->upgrade_state) ||
        !get_u64(o, "uptime_s", &st->uptime_s) || !get_u64(o, "chunks", &st->chunks) ||
        !get_u64(o, "bytes", &st->bytes) || !get_u64(o, "pid", &pid))
        goto out;
    if (ant_hex_decode(st->peer_id_bin, sizeof st->peer_id_bin, st->peer_id) != ANT_OK)
        goto out;
    st->pid = (long)pid;
    err = ANT_OK;
out:
    if (o != NULL)
        json_object_put(o);
    json_tokener_free(tok);
    return err;
}

ant_err ant_node_client_put(struct ant_node_client *c, const uint8_t addr[ANT_NODE_ADDR_BYTES],
                            const void *data, size_t len, bool *created)
{
    uint8_t flag = 0;
    size_t rlen = 0;
    ant_err err;

    if (created != NULL)
        *created = false;
    if (c == NULL || addr == NULL || (data == NULL && len > 0))
        return ANT_ERR_INVALID_ARG;
    if (len > ANT_NODE_CHUNK_MAX)
        return ANT_ERR_TOO_LARGE;
    err = send_request(c, ANT_FRAME_PUT, addr, ANT_NODE_ADDR_BYTES, data, len);
    if (err == ANT_OK)
        err = recv_answer(c, ANT_FRAME_PUT, &flag, 1, NULL, &rlen);
    if (err == ANT_OK && created != NULL)
        *created = flag == 1;
    return err;
}

static ant_err check_addr(const uint8_t addr[ANT_NODE_ADDR_BYTES], const uint8_t *data,
                          size_t len)
{
    uint8_t sum[ANT_SHA256_BYTES];
    ant_err err = ant_sha256(sum, data, len);
    if (err != ANT_OK)
        return err;
    return memcmp(sum, addr, sizeof sum) == 0 ? ANT_OK : ANT_ERR_MISMATCH;
}

ant_err ant_node_client_get(struct ant_node_client *c, const uint8_t addr[ANT_NODE_ADDR_BYTES],
                            uint8_t **data, size_t *len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    ant_err err;

    if (c == NULL || addr == NULL || data == NULL || len == NULL)
        return ANT_ERR_INVALID_ARG;
    *data = NULL;
    *len = 0;
    err = send_request(c, ANT_FRAME_GET, addr, ANT_NODE_ADDR_BYTES, NULL, 0);
    if (err == ANT_OK)
        err = recv_answer(c, ANT_FRAME_GET, NULL, 0, &buf, &n);
    if (err == ANT_OK)
        err = check_addr(addr, buf, n);
    if (err != ANT_OK) {
        free(buf);
        return err;
    }
    *data = buf;
    *len = n;
    return ANT_OK;
}

ant_err ant_node_client_get_into(struct ant_node_client *c,
                                 const uint8_t addr[ANT_NODE_ADDR_BYTES], uint8_t *buf,
                                 size_t cap, size_t *len, bool verify)
{
    size_t n = 0;
    ant_err err;

    if (c == NULL || addr == NULL || buf == NULL || len == NULL)
        return ANT_ERR_INVALID_ARG;
    *len = 0;
    err = send_request(c, ANT_FRAME_GET, addr, ANT_NODE_ADDR_BYTES, NULL, 0);
    if (err == ANT_OK)
        err = recv_answer(c, ANT_FRAME_GET, buf, cap, NULL, &n);
    if (err == ANT_OK && verify)
        err = check_addr(addr, buf, n);
    if (err == ANT_OK)
        *len = n;
    return err;
}

ant_err ant_node_client_has(struct ant_node_client *c, const uint8_t addr[ANT_NODE_ADDR_BYTES],
                            bool *present)
{
    uint8_t flag = 0;
    size_t rlen = 0;
    ant_err err;

    if (c == NULL || addr == NULL || present == NULL)
        return ANT_ERR_INVALID_ARG;
    *present = false;
    err = send_request(c, ANT_FRAME_HAS, addr, ANT_NODE_ADDR_BYTES, NULL, 0);
    if (err == ANT_OK)
        err = recv_answer(c, ANT_FRAME_HAS, &flag, 1, NULL, &rlen);
    if (err == ANT_OK)
        *present = flag == 1;
    return err;
}
