/*
 * The observability HTTP server (ant/httpd.h). One thread owns everything: the listener,
 * a fixed table of connection slots and an epoll set whose event data is the slot index,
 * so there is no locking and no connection outlives its slot. A connection moves through
 * READ (collecting the request head into a buffer of exactly the cap), WRITE (the whole
 * response is built in memory first, then written as the socket takes it) and LINGER
 * (write side shut, draining what the client still sends so the close does not turn into
 * a reset that destroys the response in flight). Every state is bounded by the one
 * deadline set at accept.
 */
#define _GNU_SOURCE
#include "ant/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/node.h"
#include "node/httpd_parse.h"
#include "node/listener.h"

#define DEF_MAX_CONNECTIONS 64
#define DEF_MAX_REQUEST 8192
#define DEF_MAX_HEADERS 64
#define DEF_DEADLINE_MS 5000
#define LINGER_DRAIN_MAX (64 * 1024) /* bytes read and dropped after the response */
#define TICK_MS 200                  /* deadline sweep period */
/* Accepts per listener wakeup: the listener is level-triggered, so what a flood leaves in
 * the backlog is taken on the next turn, after the open connections' I/O and the sweep. */
#define ACCEPT_BATCH 64

#define EV_LISTEN 0
#define EV_STOP 1
#define EV_CONN0 2

enum cstate { C_FREE = 0, C_READ, C_WRITE, C_LINGER };

struct hconn {
    int fd;
    enum cstate st;
    uint64_t accepted_ms;
    uint64_t deadline_ms;
    char *in;
    size_t inlen;
    struct httpd_scan scan;
    size_t drained;
    char *out;
    size_t outlen;
    size_t outoff;
};

struct ant_httpd {
    struct ant_httpd_opts o;
    char module[32];
    int lfd;
    int epfd;
    int stopfd;
    uint16_t port;
    pthread_t thread;
    bool started;
    struct hconn *conns;
    unsigned nopen;
    uint64_t last_warn_s;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* At most one warning per second for what a client can trigger at will. */
static bool warn_allowed(struct ant_httpd *h)
{
    uint64_t s = now_ms() / 1000;
    if (s == h->last_warn_s)
        return false;
    h->last_warn_s = s;
    return true;
}

void ant_httpd_opts_init(struct ant_httpd_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_connections = DEF_MAX_CONNECTIONS;
    o->max_request_bytes = DEF_MAX_REQUEST;
    o->max_headers = DEF_MAX_HEADERS;
    o->deadline_ms = DEF_DEADLINE_MS;
}

/* ---- address ------------------------------------------------------------------------ */

static ant_err open_listener(struct ant_httpd *h)
{
    return node_listener_bind(h->o.listen, !h->o.allow_remote, 128, h->module, &h->lfd,
                              &h->port);
}

/* ---- connections -------------------------------------------------------------------- */

static void conn_close(struct ant_httpd *h, struct hconn *c)
{
    if (c->st == C_FREE)
        return;
    close(c->fd); /* also leaves the epoll set */
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof *c);
    c->fd = -1;
    h->nopen--;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Builds the whole response into c->out and switches to WRITE. Takes ownership of body. */
static void respond(struct ant_httpd *h, struct hconn *c, int status, const char *ctype,
                    char *body, size_t len)
{
    char head[512];
    int hl;

    if (len > ANT_HTTPD_BODY_MAX) {
        free(body);
        body = NULL;
        len = 0;
        status = 500;
        ant_log(ANT_LOG_ERROR, h->module, "Response body over its cap, answering 500");
    }
    if (status < 100 || status > 599)
        status = 500;
    hl = snprintf(head, sizeof head,
                  "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                  "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                  "Connection: close\r\n\r\n",
                  status, reason_phrase(status),
                  ctype != NULL ? ctype : "text/plain; charset=utf-8", len,
                  status == 405 ? "Allow: GET\r\n" : "");
    if (hl < 0 || (size_t)hl >= sizeof head) {
        free(body);
        conn_close(h, c);
        return;
    }
    c->out = malloc((size_t)hl + len);
    if (c->out == NULL) {
        free(body);
        conn_close(h, c);
        return;
    }
    memcpy(c->out, head, (size_t)hl);
    if (len > 0)
        memcpy(c->out + hl, body, len);
    free(body);
    c->outlen = (size_t)hl + len;
    c->outoff = 0;
    c->st = C_WRITE;
    free(c->in);
    c->in = NULL;
}

static void respond_text(struct ant_httpd *h, struct hconn *c, int status, const char *text)
{
    char *body = strdup(text);
    respond(h, c, status, NULL, body, body != NULL ? strlen(body) : 0);
}

/* The head is complete in c->in[0..end): validate it and answer. */
static void handle_request(struct ant_httpd *h, struct hconn *c, size_t end)
{
    struct ant_httpd_response resp;
    char path[ANT_HTTPD_PATH_MAX];
    int status = httpd_parse_head(c->in, end, path);

    if (status == 405) {
        respond_text(h, c, 405, "only GET is served\n");
        return;
    }
    if (status == 414) {
        respond_text(h, c, 414, "request target too long\n");
        return;
    }
    if (status != 0) {
        respond_text(h, c, 400, "bad request\n");
        return;
    }
    memset(&resp, 0, sizeof resp);
    resp.status = 200;
    h->o.handler(h->o.handler_ctx, path, &resp);
    respond(h, c, resp.status, resp.content_type, resp.body, resp.body != NULL ? resp.len : 0);
}

/* Looks at what arrived since the last call; answers once the head is complete or a cap
 * is crossed. */
static void check_head(struct ant_httpd *h, struct hconn *c)
{
    size_t end = 0;
    int r = httpd_scan_head(c->in, c->inlen, &c->scan, h->o.max_headers, &end);
    if (r == HTTPD_HEAD_TOO_MANY) {
        if (warn_allowed(h))
            ant_log(ANT_LOG_WARN, h->module, "Refusing request with too many headers max=%u",
                    h->o.max_headers);
        respond_text(h, c, 431, "too many header lines\n");
        return;
    }
    if (r == HTTPD_HEAD_DONE) {
        handle_request(h, c, end);
        return;
    }
    if (c->inlen == h->o.max_request_bytes) {
        if (warn_allowed(h))
            ant_log(ANT_LOG_WARN, h->module, "Refusing request over its size cap max_bytes=%zu",
                    h->o.max_request_bytes);
        /* No complete line yet: it is the request line that is too long. */
        if (c->scan.lines > 0)
            respond_text(h, c, 431, "request head too large\n");
        else
            respond_text(h, c, 414, "request line too long\n");
    }
}

static void set_events(struct ant_httpd *h, struct hconn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = EV_CONN0 + (uint64_t)(c - h->conns)};
    if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        conn_close(h, c);
}

static void do_write(struct ant_httpd *h, struct hconn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t w = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_events(h, c, EPOLLOUT);
                return;
            }
            conn_close(h, c);
            return;
        }
        c->outoff += (size_t)w;
    }
    free(c->out);
    c->out = NULL;
    (void)shutdown(c->fd, SHUT_WR);
    c->st = C_LINGER;
    set_events(h, c, EPOLLIN | EPOLLRDHUP);
}

static void do_read(struct ant_httpd *h, struct hconn *c)
{
    for (;;) {
        char drop[4096];
        ssize_t r;
        if (c->st == C_LINGER) {
            r = recv(c->fd, drop, sizeof drop, 0);
            if (r > 0) {
                c->drained += (size_t)r;
                if (c->drained > LINGER_DRAIN_MAX) {
                    conn_close(h, c);
                    return;
                }
                continue;
            }
        } else {
            size_t room = h->o.max_request_bytes - c->inlen;
            r = recv(c->fd, c->in + c->inlen, room, 0);
            if (r > 0) {
                c->inlen += (size_t)r;
                check_head(h, c);
                if (c->st == C_WRITE) {
                    do_write(h, c);
                    return;
                }
                if (c->st != C_READ)
                    return;
                continue;
            }
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        conn_close(h, c); /* EOF or error */
        return;
    }
}

static void accept_ready(struct ant_httpd *h)
{
    for (unsigned taken = 0; taken < ACCEPT_BATCH; taken++) {
        struct hconn *slot = NULL, *oldest = NULL;
        struct epoll_event ev;
        struct sockaddr_storage peer;
        socklen_t peerlen = sizeof peer;
        int fd = accept4(h->lfd, (struct sockaddr *)&peer, &peerlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && warn_allowed(h))
                ant_log(ANT_LOG_WARN, h->module, "Cannot accept connection error=\"%s\"",
                        strerror(errno));
            return;
        }
        for (unsigned i = 0; i < h->o.max_connections; i++) {
            struct hconn *c = &h->conns[i];
            if (c->st == C_FREE) {
                slot = c;
                break;
            }
            if (oldest == NULL || c->accepted_ms < oldest->accepted_ms)
                oldest = c;
        }
        if (slot == NULL && oldest == NULL) { /* no slots at all (max_connections 0) */
            close(fd);
            continue;
        }
        if (slot == NULL) {
            /* Full: the oldest connection makes room. Idle connections held open to block
             * the endpoint are thus recycled instead of locking a scraper out. */
            if (warn_allowed(h))
                ant_log(ANT_LOG_WARN, h->module,
                        "Connection limit reached, closing the oldest max_connections=%u",
                        h->o.max_connections);
            conn_close(h, oldest);
            slot = oldest;
        }
        slot->in = malloc(h->o.max_request_bytes);
        if (slot->in == NULL) {
            close(fd);
            continue;
        }
        slot->fd = fd;
        slot->st = C_READ;
        slot->accepted_ms = now_ms();
        slot->deadline_ms = slot->accepted_ms + h->o.deadline_ms;
        h->nopen++;
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = EV_CONN0 + (uint64_t)(slot - h->conns);
        if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            conn_close(h, slot);
    }
}

static void sweep(struct ant_httpd *h)
{
    uint64_t now = now_ms();
    unsigned n = 0;
    for (unsigned i = 0; i < h->o.max_connections; i++) {
        struct hconn *c = &h->conns[i];
        if (c->st != C_FREE && now >= c->deadline_ms) {
            if (c->st == C_READ)
                n++;
            conn_close(h, c);
        }
    }
    if (n > 0 && warn_allowed(h))
        ant_log(ANT_LOG_DEBUG, h->module, "Closed connections past their deadline count=%u", n);
}

static void *server_main(void *arg)
{
    struct ant_httpd *h = arg;
    struct epoll_event evs[32];
    for (;;) {
        /* Deadlines only need sweeping while a connection is open; idle, sleep. */
        int rc = epoll_wait(h->epfd, evs, 32, h->nopen > 0 ? TICK_MS : -1);
        if (rc < 0 && errno != EINTR) {
            ant_log(ANT_LOG_ERROR, h->module, "epoll_wait failed error=\"%s\"", strerror(errno));
            break;
        }
        for (int i = 0; i < rc; i++) {
            uint64_t id = evs[i].data.u64;
            if (id == EV_STOP)
                return NULL;
            if (id == EV_LISTEN) {
                accept_ready(h);
                continue;
            }
            struct hconn *c = &h->conns[id - EV_CONN0];
            if (c->st == C_WRITE)
                do_write(h, c);
            else if (c->st == C_READ || c->st == C_LINGER)
                do_read(h, c);
        }
        sweep(h);
    }
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void httpd_free(struct ant_httpd *h)
{
    if (h == NULL)
        return;
    for (unsigned i = 0; h->conns != NULL && i < h->o.max_connections; i++)
        conn_close(h, &h->conns[i]);
    free(h->conns);
    if (h->lfd >= 0)
        close(h->lfd);
    if (h->epfd >= 0)
        close(h->epfd);
    if (h->stopfd >= 0)
        close(h->stopfd);
    free(h);
}

ant_err ant_httpd_start(const struct ant_httpd_opts *o, struct ant_httpd **out)
{
    struct ant_httpd *h;
    struct epoll_event ev;
    ant_err err;

    if (o == NULL || out == NULL || o->handler == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    h = calloc(1, sizeof *h);
    if (h == NULL)
        return ANT_ERR_NOMEM;
    h->o = *o;
    h->lfd = h->epfd = h->stopfd = -1;
    snprintf(h->module, sizeof h->module, "%s", o->log_module != NULL ? o->log_module : "httpd");
    if (h->o.max_connections == 0)
        h->o.max_connections = DEF_MAX_CONNECTIONS;
    if (h->o.max_request_bytes < 64)
        h->o.max_request_bytes = DEF_MAX_REQUEST;
    if (h->o.max_headers == 0)
        h->o.max_headers = DEF_MAX_HEADERS;
    if (h->o.deadline_ms == 0)
        h->o.deadline_ms = DEF_DEADLINE_MS;
    h->conns = calloc(h->o.max_connections, sizeof *h->conns);
    if (h->conns == NULL) {
        err = ANT_ERR_NOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < h->o.max_connections; i++)
        h->conns[i].fd = -1;
    err = open_listener(h);
    if (err != ANT_OK)
        goto fail;
    h->o.listen = NULL; /* borrowed; not needed after the bind */
    h->epfd = epoll_create1(EPOLL_CLOEXEC);
    h->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    err = ANT_ERR_IO;
    if (h->epfd < 0 || h->stopfd < 0)
        goto fail;
    ev.events = EPOLLIN;
    ev.data.u64 = EV_LISTEN;
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &ev) != 0)
        goto fail;
    ev.data.u64 = EV_STOP;
    if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->stopfd, &ev) != 0)
        goto fail;
    if (pthread_create(&h->thread, NULL, server_main, h) != 0)
        goto fail;
    h->started = true;
    *out = h;
    return ANT_OK;
fail:
    httpd_free(h);
    return err;
}

uint16_t ant_httpd_port(const struct ant_httpd *h)
{
    return h != NULL ? h->port : 0;
}

void ant_httpd_stop(struct ant_httpd *h)
{
    uint64_t one = 1;
    if (h == NULL)
        return;
    if (h->started) {
        (void)write(h->stopfd, &one, sizeof one);
        pthread_join(h->thread, NULL);
    }
    httpd_free(h);
}
