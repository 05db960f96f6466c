/*
 * The node daemon (ant/node.h): one acceptor thread and N worker threads around a shared
 * epoll set. Each connection is registered EPOLLONESHOT, so exactly one worker owns it
 * from the moment its event fires until the worker re-arms or closes it; no per-connection
 * lock is needed. Sockets are non-blocking and answers wait on their connection for
 * EPOLLOUT, so no worker ever waits for a peer. The acceptor admits connections (total and
 * per-address limits) and enforces the idle timeout and the frame deadline, but it never
 * closes or frees a connection itself (a worker may own it at that instant): it shuts the
 * socket down, which wakes the connection, and the owning worker then closes it. Only
 * workers (and ant_node_stop, after they are joined) free connections. What peers may cost
 * is bounded as docs/PROTOCOL.md ("Guarantees to the node") states; the budget and the
 * per-address table live in guard.c.
 */
/* accept4(SOCK_CLOEXEC): the connection fd must never exist without close-on-exec, since the
 * upgrade engine may spawn a new binary from another thread at any moment. */
#define _GNU_SOURCE
#include "ant/node.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/node_identity.h"
#include "ant/node_proto.h"
#include "ant/node_store.h"
#include "ant/version.h"
#include "node/guard.h"
#include "node/listener.h"
#include "node_metrics.h"

/* The first receive buffer of a connection, enough for every request but a PUT; with
 * the connection record and one small answer, the per-connection cost that is not drawn
 * from the buffer budget (docs/PROTOCOL.md, "Limits and guarantees"). */
#define BUF_FIRST ((size_t)4096)
/* Requests served per wakeup before the worker turns to other connections. */
#define SERVE_FRAMES 64
/* The sweeper runs at least this often (deadline and idle checks). */
#define SWEEP_MAX_MS 1000
/* An idle worker wakes this often to stamp its heartbeat (see worker_beat_ms). */
#define WORKER_TICK_MS 1000
/* Accepts per listener wakeup. The listener is level-triggered: what a connect flood leaves
 * in the backlog is taken on the acceptor's next turn, after the sweep (deadlines, idle
 * connections), the stop check and the heartbeat, which an unbounded accept loop starves. */
#define ACCEPT_BATCH 64

struct conn {
    int fd;
    bool busy;            /* owned by a worker right now (under node->lock) */
    bool shut;            /* the sweeper has shut it down (under node->lock) */
    uint64_t last_ms;     /* last activity, monotonic ms (under node->lock) */
    uint64_t deadline_ms; /* the frame in flight must be done by then, 0 = none (lock) */
    struct node_addr_key addr; /* counted in node->addrs (set once, under the lock) */
    bool probe;           /* the node's own health probe: outside every limit (set once) */
    /* The rest belongs to the worker that owns the connection. */
    uint8_t *buf;         /* received bytes not yet answered */
    size_t cap;
    size_t len;
    size_t charged;       /* bytes of buf drawn from the budget (cap beyond BUF_FIRST) */
    uint64_t in_start_ms; /* when the first byte of the unfinished frame arrived */
    uint8_t *out;         /* the answer being sent: header and payload */
    size_t out_len;
    size_t out_sent;
    size_t out_charged;   /* bytes of out drawn from the budget */
    uint64_t out_start_ms;
    bool close_after;     /* close once `out` is sent (a refused frame) */
    struct conn *prev, *next;
};

/* One running node per root: held for the node's life. A respawned successor (the
 * upgrade's standalone restart) starts while its parent is still shutting down, so it
 * waits this long for the lock before giving up. */
#define ROOT_LOCK_FILE "node.lock"
#define ROOT_LOCK_WAIT_MS 15000

/* Kinds of rate-limited warnings. */
enum warn_kind { WARN_ACCEPT, WARN_LIMIT, WARN_BUDGET, WARN_MALFORMED, WARN_DEADLINE, WARN_KINDS };

struct ant_node {
    struct ant_node_config cfg;
    int rootfd;
    int lockfd;
    struct ant_node_identity *id;
    struct ant_node_store *store;
    int listenfd;
    uint16_t port;
    int epfd;      /* worker epoll set: connections + stopfd */
    int stopfd;    /* eventfd, readable once workers must leave */
    int exitfd;    /* eventfd, readable once an exit was requested */
    pthread_t acceptor;
    bool acceptor_started;
    pthread_t *workers;
    unsigned nworkers;
    atomic_bool stopping;
    uint64_t started_ms;
    atomic_uint_fast64_t last_warn_s[WARN_KINDS];
    struct node_budget budget; /* receive buffers beyond BUF_FIRST and GET answers */
    /* Service-manager hooks (src/node/service.c): a listener handed over by the previous
     * process (-1: bind one), and for the watchdog the acceptor loop's last turn and the
     * last turn of any worker's loop (ant_node_heartbeat_ms takes the older: the node
     * serves only while it accepts and some worker can take a request). */
    int inherited_fd;
    atomic_uint_fast64_t heartbeat_ms;
    atomic_uint_fast64_t worker_beat_ms;
    /* The local port the trial health probe is connecting from, 0 when none: that one
     * connection is admitted past the connection limits (ant_node_expect_probe). */
    atomic_uint probe_port;

    pthread_mutex_t lock; /* guards everything below */
    struct node_addr_table *addrs; /* open connections per source address */
    struct conn *conns;
    unsigned nconns;
    bool exit_requested;
    int exit_code;
    char exit_reason[32];
    char upgrade_state[ANT_NODE_UPGRADE_STATE_MAX];

    struct node_metrics *metrics; /* metrics: collector, health, --metrics-listen endpoint */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* At most one warning per second and kind for events a hostile peer can trigger at will;
 * one kind flooding the log does not hide another. */
static bool warn_allowed(struct ant_node *n, enum warn_kind kind)
{
    uint64_t s = now_ms() / 1000;
    uint_fast64_t last = atomic_load(&n->last_warn_s[kind]);
    return last != s && atomic_compare_exchange_strong(&n->last_warn_s[kind], &last, s);
}

static ant_err open_listener(struct ant_node *n)
{
    char host[256];
    uint16_t port;

    /* The address is checked even when a listener is handed over, so a bad setting fails
     * the start the same way either way. */
    if (ant_node_split_hostport(n->cfg.listen, host, sizeof host, &port) != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node", "Bad listen address listen=%s", n->cfg.listen);
        return ANT_ERR_INVALID_ARG;
    }
    if (n->inherited_fd >= 0) {
        /* SERVICE HOOK: the caller checked it against cfg.listen (ant_node_listener_check). */
        n->listenfd = n->inherited_fd;
        n->inherited_fd = -1;
        return node_listener_adopt(n->listenfd, &n->port);
    }
    return node_listener_bind(n->cfg.listen, false, 511, "node", &n->listenfd, &n->port);
}

/* ---- answers ------------------------------------------------------------------------ */

/*
 * Every answer is queued on its connection and sent as the socket takes it: a worker never
 * waits for a peer. A connection holds at most one answer; the next request is not even
 * parsed until it is sent, so a peer that does not read costs one answer, not one per
 * pipelined request. Answers up to ANSWER_SMALL_MAX bytes are part of the per-connection
 * fixed cost; GET answers (up to 4 MiB) are drawn from the buffer budget.
 */
#define ANSWER_SMALL_MAX (ANT_NODE_PROTO_HEADER_BYTES + ANT_NODE_PROTO_STATUS_MAX)

static void out_free(struct ant_node *n, struct conn *c)
{
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_sent = 0;
    if (c->out_charged > 0)
        node_budget_give(&n->budget, c->out_charged);
    c->out_charged = 0;
}

/* Queues one answer (header + a copy of the payload). `charge`: draw it from the budget.
 * Errors: ANT_ERR_BUSY (budget exhausted), ANT_ERR_NOMEM, ANT_ERR_TOO_LARGE. */
static ant_err queue_answer(struct ant_node *n, struct conn *c, uint8_t type,
                            const void *payload, size_t len, bool charge)
{
    size_t total;
    ant_err err;
    if (len > SIZE_MAX - ANT_NODE_PROTO_HEADER_BYTES)
        return ANT_ERR_TOO_LARGE;
    node_metrics_answer(); /* metrics: counted before the client can see the answer */
    total = ANT_NODE_PROTO_HEADER_BYTES + len;
    if (charge && !node_budget_take(&n->budget, total))
        return ANT_ERR_BUSY;
    c->out = malloc(total);
    if (c->out == NULL) {
        if (charge)
            node_budget_give(&n->budget, total);
        return ANT_ERR_NOMEM;
    }
    err = ant_node_proto_header(c->out, type, len);
    if (err != ANT_OK) {
        free(c->out);
        c->out = NULL;
        if (charge)
            node_budget_give(&n->budget, total);
        return err;
    }
    if (len > 0)
        memcpy(c->out + ANT_NODE_PROTO_HEADER_BYTES, payload, len);
    c->out_len = total;
    c->out_sent = 0;
    c->out_charged = charge ? total : 0;
    c->out_start_ms = now_ms();
    return ANT_OK;
}

static ant_err queue_error(struct ant_node *n, struct conn *c, ant_err code, const char *msg)
{
    uint8_t payload[4 + ANT_NODE_PROTO_ERRMSG_MAX];
    size_t len = ant_node_proto_error_payload(payload, sizeof payload, code, msg);
    node_metrics_error_sent(); /* metrics */
    return queue_answer(n, c, ANT_FRAME_ERROR, payload, len, false);
}

/* Sends what the socket takes now: 1 = the answer is out, 0 = the socket is full (wait
 * for EPOLLOUT), -1 = the peer is gone. */
static int flush_out(struct ant_node *n, struct conn *c)
{
    while (c->out_sent < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        c->out_sent += (size_t)w;
    }
    out_free(n, c);
    return 1;
}

/* ---- request handling ---------------------------------------------------------------- */

struct get_sink_ctx {
    struct ant_node *n;
    struct conn *c;
};

/* Copies the chunk out of the LMDB map into the connection's answer while the read
 * transaction is open, so the transaction ends before a single byte goes to the peer: a
 * slow reader pins no LMDB pages (which would stop the map's free pages being reused)
 * and holds at most one chunk of memory, drawn from the budget. */
static ant_err get_sink(void *ctx, const uint8_t *data, size_t len)
{
    struct get_sink_ctx *g = ctx;
    return queue_answer(g->n, g->c, ANT_FRAME_GET | ANT_FRAME_REPLY, data, len, true);
}

static size_t format_status(struct ant_node *n, char *out, size_t cap)
{
    uint64_t chunks = 0, bytes = 0;
    char state[ANT_NODE_UPGRADE_STATE_MAX];
    int w;

    if (ant_node_store_stats(n->store, &chunks, &bytes) != ANT_OK)
        chunks = bytes = 0;
    ant_node_get_upgrade_state(n, state, sizeof state);
    w = snprintf(out, cap,
                 "{\"version\":\"%s\",\"peer_id\":\"%s\",\"uptime_s\":%" PRIu64
                 ",\"chunks\":%" PRIu64 ",\"bytes\":%" PRIu64
                 ",\"upgrade_state\":\"%s\",\"pid\":%ld,\"protocol\":%d}",
                 ANT_VERSION_STRING, ant_node_identity_peer_id_hex(n->id),
                 (now_ms() - n->started_ms) / 1000, chunks, bytes, state, (long)getpid(),
                 ANT_NODE_PROTO_VERSION);
    if (w < 0 || (size_t)w >= cap)
        return 0;
    return (size_t)w;
}

static void budget_warning(struct ant_node *n, const struct conn *c, const char *what)
{
    char peer[NODE_ADDR_TEXT_MAX];
    if (!warn_allowed(n, WARN_BUDGET))
        return;
    node_addr_key_format(&c->addr, peer, sizeof peer);
    ant_log(ANT_LOG_WARN, "node",
            "Buffer memory budget exhausted, %s peer=%s used=%zu max_buffer_memory=%" PRIu64, what,
            peer, node_budget_used(&n->budget), n->cfg.max_buffer_memory);
}

/* Answers one request (queues the answer). Returns ANT_OK, or an error to close the
 * connection (ANT_ERR_PROTOCOL: a reply type sent as a request). */
static ant_err handle_frame(struct ant_node *n, struct conn *c, const struct ant_node_frame *f)
{
    const uint8_t *addr = f->payload;
    uint8_t byte;
    bool flag;
    ant_err err;

    switch (f->type) {
    case ANT_FRAME_PING:
        return queue_answer(n, c, ANT_FRAME_PING | ANT_FRAME_REPLY, f->payload, f->payload_len,
                            false);
    case ANT_FRAME_STATUS: {
        char json[ANT_NODE_PROTO_STATUS_MAX];
        size_t len = format_status(n, json, sizeof json);
        if (len == 0)
            return queue_error(n, c, ANT_ERR_INTERNAL, "status too long");
        return queue_answer(n, c, ANT_FRAME_STATUS | ANT_FRAME_REPLY, json, len, false);
    }
    case ANT_FRAME_PUT:
        err = ant_node_store_put(n->store, addr, f->payload + ANT_NODE_ADDR_BYTES,
                                 f->payload_len - ANT_NODE_ADDR_BYTES, &flag);
        if (err != ANT_OK)
            return queue_error(n, c, err, ant_strerror(err));
        byte = flag ? 1 : 0;
        return queue_answer(n, c, ANT_FRAME_PUT | ANT_FRAME_REPLY, &byte, 1, false);
    case ANT_FRAME_GET: {
        struct get_sink_ctx g = {n, c};
        err = ant_node_store_get(n->store, addr, get_sink, &g);
        if (err == ANT_ERR_BUSY) {
            budget_warning(n, c, "refusing GET");
            return queue_error(n, c, err, "buffer memory budget exhausted, retry later");
        }
        if (err != ANT_OK)
            return queue_error(n, c, err, ant_strerror(err));
        return ANT_OK;
    }
    case ANT_FRAME_HAS:
        err = ant_node_store_has(n->store, addr, &flag);
        if (err != ANT_OK)
            return queue_error(n, c, err, ant_strerror(err));
        byte = flag ? 1 : 0;
        return queue_answer(n, c, ANT_FRAME_HAS | ANT_FRAME_REPLY, &byte, 1, false);
    default:
        /* A reply or error type sent as a request: well formed, but not a request. */
        return ANT_ERR_PROTOCOL;
    }
}

/* Queues a best-effort ERROR answer after which the connection is closed. */
static void reject_frame(struct ant_node *n, struct conn *c, ant_err err, const char *msg)
{
    out_free(n, c);
    (void)queue_error(n, c, err, msg);
    c->close_after = true;
}

/* ---- receiving ---------------------------------------------------------------------- */

/* Drops `used` bytes (answered frames) from the front of the receive buffer. What is left
 * already arrived: the next frame's clock starts now. An emptied buffer is freed, so an
 * idle connection holds no buffer at all. */
static void consume(struct ant_node *n, struct conn *c, size_t used)
{
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    c->in_start_ms = c->len > 0 ? now_ms() : 0;
    if (c->len == 0 && c->cap > BUF_FIRST) {
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
        node_budget_give(&n->budget, c->charged);
        c->charged = 0;
    }
}

static void buf_release(struct ant_node *n, struct conn *c)
{
    free(c->buf);
    c->buf = NULL;
    c->cap = c->len = 0;
    if (c->charged > 0)
        node_budget_give(&n->budget, c->charged);
    c->charged = 0;
}

/*
 * Makes room for at least one more byte. The first buffer is BUF_FIRST bytes (the
 * per-connection fixed cost). A full buffer at most doubles, and never past the frame
 * being received, so capacity stays within max(BUF_FIRST, 2 x bytes buffered): memory
 * follows what the peer sent, never what it announced. Growth beyond BUF_FIRST is drawn
 * from the budget. Errors: ANT_ERR_BUSY (budget exhausted), ANT_ERR_NOMEM.
 */
static ant_err make_room(struct ant_node *n, struct conn *c)
{
    size_t want, extra, total;
    uint8_t *nb;

    if (c->len < c->cap)
        return ANT_OK;
    if (c->cap == 0) {
        c->buf = malloc(BUF_FIRST);
        if (c->buf == NULL)
            return ANT_ERR_NOMEM;
        c->cap = BUF_FIRST;
        return ANT_OK;
    }
    want = c->cap * 2;
    /* The buffer is full and holds no complete frame, so it holds a valid header of a
     * frame longer than the buffer (the parser rejected anything else already). */
    if (ant_node_proto_check_header(c->buf, (size_t)n->cfg.max_frame, &total) == ANT_OK &&
        total > c->cap && total < want)
        want = total;
    extra = want - c->cap;
    if (!node_budget_take(&n->budget, extra))
        return ANT_ERR_BUSY;
    nb = realloc(c->buf, want);
    if (nb == NULL) {
        node_budget_give(&n->budget, extra);
        return ANT_ERR_NOMEM;
    }
    c->buf = nb;
    c->cap = want;
    c->charged += extra;
    return ANT_OK;
}

enum serve_result { SERVE_CLOSE, SERVE_READ, SERVE_WRITE };

/*
 * Serves a ready connection until it has to wait: for the peer to read its answer
 * (SERVE_WRITE), for more bytes (SERVE_READ), or it is done (SERVE_CLOSE: peer gone,
 * malformed frame answered, node stopping). At most SERVE_FRAMES requests per wakeup, so
 * one busy peer cannot keep a worker from the others.
 */
static enum serve_result serve_conn(struct ant_node *n, struct conn *c)
{
    unsigned frames = 0;
    for (;;) {
        struct ant_node_frame f;
        size_t used;
        ssize_t r;
        ant_err err;

        if (c->out != NULL) {
            int fr = flush_out(n, c);
            if (fr < 0)
                return SERVE_CLOSE;
            if (fr == 0)
                return SERVE_WRITE;
        }
        if (c->close_after || atomic_load(&n->stopping))
            return SERVE_CLOSE;

        err = ant_node_proto_parse(c->buf, c->len, (size_t)n->cfg.max_frame, &f, &used);
        if (err == ANT_OK) {
            node_metrics_begin(f.type); /* metrics */
            err = handle_frame(n, c, &f);
            node_metrics_end(err != ANT_OK); /* metrics */
            consume(n, c, used);
            frames++;
            /* A finished request is progress too: on storage where one fsync'd commit
             * takes ~80 ms, a turn of SERVE_FRAMES PUTs would outlast the stale limit and a
             * peer's PUT flood would get a busy, healthy node killed by its watchdog (and,
             * in a trial, rolled back). A request that never returns still stops this. */
            atomic_store(&n->worker_beat_ms, now_ms()); /* SERVICE HOOK: watchdog liveness */
            if (err == ANT_ERR_PROTOCOL) {
                if (warn_allowed(n, WARN_MALFORMED))
                    ant_log(ANT_LOG_WARN, "node",
                            "Closing connection after a malformed frame error=%s",
                            ant_strerror(err));
                node_metrics_malformed(); /* metrics */
                reject_frame(n, c, err, "malformed frame, closing");
            } else if (err != ANT_OK) {
                /* No answer could be queued (out of memory): nothing sensible to say. */
                return SERVE_CLOSE;
            }
            /* The cap holds for frames already buffered too, or a peer that reads its
             * answers and pipelines small frames (each PUT an fsync'd commit) keeps the
             * worker for the whole buffer. What is left waits for the next turn: an answer
             * to send or buffered frames re-arm for writability, which fires at once and
             * queues the connection behind the others; an empty buffer waits for bytes. */
            if (frames >= SERVE_FRAMES)
                return c->out != NULL || c->len > 0 ? SERVE_WRITE : SERVE_READ;
            continue;
        }
        if (err != ANT_ERR_TRUNCATED) {
            if (warn_allowed(n, WARN_MALFORMED))
                ant_log(ANT_LOG_WARN, "node", "Closing connection after a malformed frame error=%s",
                        ant_strerror(err));
            node_metrics_malformed(); /* metrics */
            reject_frame(n, c, err, "malformed frame, closing");
            continue;
        }
        err = make_room(n, c);
        if (err == ANT_ERR_NOMEM) {
            if (warn_allowed(n, WARN_BUDGET))
                ant_log(ANT_LOG_WARN, "node", "Out of memory for a frame, closing connection");
            return SERVE_CLOSE;
        }
        if (err != ANT_OK) {
            budget_warning(n, c, "closing connection");
            reject_frame(n, c, ANT_ERR_BUSY, "buffer memory budget exhausted, closing");
            continue;
        }
        r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r == 0)
            return SERVE_CLOSE;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (c->len == 0)
                    buf_release(n, c);
                return SERVE_READ;
            }
            return SERVE_CLOSE;
        }
        if (c->len == 0)
            c->in_start_ms = now_ms();
        c->len += (size_t)r;
    }
}

/* ---- connections -------------------------------------------------------------------- */

static void conn_free(struct ant_node *n, struct conn *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    buf_release(n, c);
    out_free(n, c);
    free(c);
}

static void conn_unlink_locked(struct ant_node *n, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        n->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    if (!c->probe)
        node_addr_table_release(n->addrs, &c->addr);
    n->nconns--;
    node_metrics_connections(n->nconns); /* metrics */
}

static void *worker_main(void *arg)
{
    struct ant_node *n = arg;
    for (;;) {
        struct epoll_event ev;
        struct conn *c;
        enum serve_result res;
        bool keep;
        /* Every turn, with or without work: a worker that is back here can serve. One that
         * is stuck in a request (a store that does not return) stops stamping, and when
         * every worker is, the heartbeat goes stale and the watchdog stops pinging. */
        atomic_store(&n->worker_beat_ms, now_ms()); /* SERVICE HOOK: watchdog liveness */
        int rc = epoll_wait(n->epfd, &ev, 1, WORKER_TICK_MS);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            ant_log(ANT_LOG_ERROR, "node", "epoll_wait failed error=\"%s\"", strerror(errno));
            break;
        }
        if (rc == 0)
            continue;
        if (ev.data.ptr == NULL) /* stopfd: level-triggered, so every worker sees it */
            break;
        c = ev.data.ptr;
        pthread_mutex_lock(&n->lock);
        c->busy = true;
        pthread_mutex_unlock(&n->lock);

        res = serve_conn(n, c);
        keep = res != SERVE_CLOSE;

        /* Re-arming under the lock orders everything this worker did with the connection
         * before whatever the next owner does (the next owner takes the lock first). The
         * deadline the sweeper enforces is published here too: the answer being sent, or
         * else the frame being received, must be done frame-timeout after it started. */
        pthread_mutex_lock(&n->lock);
        c->busy = false;
        c->last_ms = now_ms();
        if (c->out != NULL)
            c->deadline_ms = c->out_start_ms + n->cfg.frame_timeout_ms;
        else if (c->len > 0)
            c->deadline_ms = c->in_start_ms + n->cfg.frame_timeout_ms;
        else
            c->deadline_ms = 0;
        if (keep) {
            /* Waiting to send, only writability matters (hang-ups are always reported);
             * EPOLLRDHUP there would wake the worker again and again for nothing. */
            struct epoll_event re = {.events = res == SERVE_WRITE
                                                   ? EPOLLOUT | EPOLLONESHOT
                                                   : EPOLLIN | EPOLLRDHUP | EPOLLONESHOT,
                                     .data.ptr = c};
            if (epoll_ctl(n->epfd, EPOLL_CTL_MOD, c->fd, &re) != 0)
                keep = false;
        }
        if (!keep)
            conn_unlink_locked(n, c);
        pthread_mutex_unlock(&n->lock);
        if (!keep)
            conn_free(n, c); /* close() also drops it from the epoll set */
    }
    return NULL;
}

/*
 * True if fd is the health probe's connection (ant_node_expect_probe), which is then
 * consumed. It is one only if it comes from the registered port and from the very address
 * it reached: a source address of this host, and that port is held by the probe's bound
 * socket for as long as the registration lasts, so no peer elsewhere can present it and
 * no other process here can bind it. Peers filling every slot within their per-address
 * limits must not make a healthy node on trial fail its probe (issue 13 item 2).
 */
static bool is_probe(struct ant_node *n, int fd, const struct sockaddr_storage *peer)
{
    unsigned want = atomic_load(&n->probe_port);
    struct sockaddr_storage self;
    socklen_t len = sizeof self;
    bool same;

    if (want == 0)
        return false;
    memset(&self, 0, sizeof self);
    if (getsockname(fd, (struct sockaddr *)&self, &len) != 0 || self.ss_family != peer->ss_family)
        return false;
    if (peer->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)peer;
        const struct sockaddr_in *b = (const struct sockaddr_in *)&self;
        same = ntohs(a->sin_port) == want && a->sin_addr.s_addr == b->sin_addr.s_addr;
    } else if (peer->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)peer;
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&self;
        same = ntohs(a->sin6_port) == want &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    } else {
        return false;
    }
    return same && atomic_compare_exchange_strong(&n->probe_port, &want, 0u);
}

void ant_node_expect_probe(struct ant_node *node, uint16_t local_port)
{
    if (node != NULL)
        atomic_store(&node->probe_port, (unsigned)local_port);
}

static void accept_ready(struct ant_node *n)
{
    for (unsigned taken = 0; taken < ACCEPT_BATCH; taken++) {
        struct epoll_event ev;
        struct conn *c;
        struct sockaddr_storage peer;
        struct node_addr_key key;
        socklen_t peerlen = sizeof peer;
        bool probe;
        int fd;

        memset(&peer, 0, sizeof peer);
        fd = accept4(n->listenfd, (struct sockaddr *)&peer, &peerlen,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (warn_allowed(n, WARN_ACCEPT))
                    ant_log(ANT_LOG_WARN, "node", "Cannot accept connection error=\"%s\"",
                            strerror(errno));
                /* The listen socket stays readable; back off instead of spinning. */
                nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000}, NULL);
            }
            return;
        }
        node_addr_key_of((struct sockaddr *)&peer, peerlen, &key);
        probe = is_probe(n, fd, &peer);
        pthread_mutex_lock(&n->lock);
        if (!probe && n->nconns >= n->cfg.max_connections) {
            pthread_mutex_unlock(&n->lock);
            if (warn_allowed(n, WARN_LIMIT))
                ant_log(ANT_LOG_WARN, "node",
                        "Connection limit reached, refusing connection max_connections=%u",
                        n->cfg.max_connections);
            node_metrics_refused(); /* metrics */
            close(fd);
            continue;
        }
        if (!probe &&
            !node_addr_table_acquire(n->addrs, &key, n->cfg.max_connections_per_address)) {
            pthread_mutex_unlock(&n->lock);
            if (warn_allowed(n, WARN_LIMIT)) {
                char text[NODE_ADDR_TEXT_MAX];
                node_addr_key_format(&key, text, sizeof text);
                ant_log(ANT_LOG_WARN, "node",
                        "Per-address connection limit reached, refusing connection peer=%s "
                        "max_connections_per_address=%u",
                        text, n->cfg.max_connections_per_address);
            }
            close(fd);
            continue;
        }
        c = calloc(1, sizeof *c);
        if (c == NULL) {
            if (!probe)
                node_addr_table_release(n->addrs, &key);
            pthread_mutex_unlock(&n->lock);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->addr = key;
        c->probe = probe;
        c->last_ms = now_ms();
        c->next = n->conns;
        if (n->conns != NULL)
            n->conns->prev = c;
        n->conns = c;
        n->nconns++;
        node_metrics_connections(n->nconns); /* metrics */
        {
            int one = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
        ev.data.ptr = c;
        if (epoll_ctl(n->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            conn_unlink_locked(n, c);
            pthread_mutex_unlock(&n->lock);
            conn_free(n, c);
            continue;
        }
        pthread_mutex_unlock(&n->lock);
    }
}

/* Shuts down connections idle past idle-timeout and those whose frame (in or out) is past
 * its deadline; their worker then closes them. A trickle of bytes resets the idle timer
 * but not the deadline, which is what closes a slowloris. */
static void sweep(struct ant_node *n)
{
    uint64_t now;
    unsigned idle = 0, late = 0;
    pthread_mutex_lock(&n->lock);
    /* Read the clock under the lock: a worker stamps last_ms under it too, so no stamp
     * can be later than `now` (which would wrap the subtraction below). */
    now = now_ms();
    for (struct conn *c = n->conns; c != NULL; c = c->next) {
        if (c->busy || c->shut)
            continue;
        if (c->deadline_ms != 0 && now >= c->deadline_ms) {
            (void)shutdown(c->fd, SHUT_RDWR);
            c->shut = true;
            late++;
        } else if (c->last_ms <= now && now - c->last_ms >= n->cfg.idle_timeout_ms) {
            (void)shutdown(c->fd, SHUT_RDWR);
            c->shut = true;
            idle++;
        }
    }
    pthread_mutex_unlock(&n->lock);
    if (idle > 0)
        ant_log(ANT_LOG_DEBUG, "node", "Closed idle connections count=%u", idle);
    if (late > 0 && warn_allowed(n, WARN_DEADLINE))
        ant_log(ANT_LOG_WARN, "node",
                "Closed connections past their frame deadline count=%u frame_timeout_ms=%" PRIu64,
                late, n->cfg.frame_timeout_ms);
}

static void *acceptor_main(void *arg)
{
    struct ant_node *n = arg;
    struct epoll_event evs[2];
    int aep = epoll_create1(EPOLL_CLOEXEC);
    uint64_t shortest;
    int tick;

    if (aep < 0) {
        ant_log(ANT_LOG_ERROR, "node", "epoll_create failed error=\"%s\"", strerror(errno));
        ant_node_request_exit(n, 1, "acceptor_failed");
        return NULL;
    }
    {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
        struct epoll_event sv = {.events = EPOLLIN, .data.u32 = 2};
        if (epoll_ctl(aep, EPOLL_CTL_ADD, n->listenfd, &ev) != 0 ||
            epoll_ctl(aep, EPOLL_CTL_ADD, n->stopfd, &sv) != 0) {
            close(aep);
            ant_node_request_exit(n, 1, "acceptor_failed");
            return NULL;
        }
    }
    /* Check timers several times per timeout period, at most every SWEEP_MAX_MS: a
     * connection is closed at most that long after its deadline or idle time. */
    shortest = n->cfg.idle_timeout_ms < n->cfg.frame_timeout_ms ? n->cfg.idle_timeout_ms
                                                                : n->cfg.frame_timeout_ms;
    tick = shortest / 4 >= SWEEP_MAX_MS ? SWEEP_MAX_MS : (int)(shortest / 4) + 1;
    while (!atomic_load(&n->stopping)) {
        atomic_store(&n->heartbeat_ms, now_ms()); /* SERVICE HOOK: watchdog liveness */
        int rc = epoll_wait(aep, evs, 2, tick);
        bool stop = false;
        for (int i = 0; i < rc; i++) {
            if (evs[i].data.u32 == 2)
                stop = true;
            else
                accept_ready(n);
        }
        if (stop)
            break;
        sweep(n);
    }
    close(aep);
    return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static ant_err write_port_file(struct ant_node *n)
{
    char text[16];
    int len = snprintf(text, sizeof text, "%u\n", (unsigned)n->port);
    return ant_fsx_write_atomic(n->rootfd, ANT_NODE_PORT_FILE, text, (size_t)len, 0644);
}

static void node_free(struct ant_node *n)
{
    if (n == NULL)
        return;
    node_metrics_stop(n->metrics); /* metrics: before the store its collector reads */
    while (n->conns != NULL) {
        struct conn *c = n->conns;
        conn_unlink_locked(n, c);
        conn_free(n, c);
    }
    node_addr_table_free(n->addrs);
    ant_node_store_close(n->store);
    ant_node_identity_free(n->id);
    if (n->inherited_fd >= 0)
        close(n->inherited_fd);
    if (n->listenfd >= 0)
        close(n->listenfd);
    if (n->epfd >= 0)
        close(n->epfd);
    if (n->stopfd >= 0)
        close(n->stopfd);
    if (n->exitfd >= 0)
        close(n->exitfd);
    if (n->lockfd >= 0)
        ant_fsx_unlock(n->lockfd);
    if (n->rootfd >= 0)
        close(n->rootfd);
    free(n->workers);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

static void stop_threads(struct ant_node *n)
{
    uint64_t one = 1;
    atomic_store(&n->stopping, true);
    if (n->stopfd >= 0)
        (void)write(n->stopfd, &one, sizeof one);
    if (n->acceptor_started) {
        pthread_join(n->acceptor, NULL);
        n->acceptor_started = false;
    }
    for (unsigned i = 0; i < n->nworkers; i++)
        pthread_join(n->workers[i], NULL);
    n->nworkers = 0;
}

ant_err ant_node_start(const struct ant_node_config *cfg, struct ant_node **out)
{
    return ant_node_start_with_listener(cfg, -1, out);
}

ant_err ant_node_start_with_listener(const struct ant_node_config *cfg, int listenfd,
                                     struct ant_node **out)
{
    struct ant_node_store_options so;
    struct ant_node *n = NULL;
    struct epoll_event ev;
    int created = 0;
    ant_err err;

    if (cfg == NULL || out == NULL || cfg->workers == 0) {
        if (listenfd >= 0)
            close(listenfd);
        return ANT_ERR_INVALID_ARG;
    }
    *out = NULL;
    n = calloc(1, sizeof *n);
    if (n == NULL) {
        if (listenfd >= 0)
            close(listenfd);
        return ANT_ERR_NOMEM;
    }
    n->cfg = *cfg;
    n->rootfd = n->lockfd = n->listenfd = n->epfd = n->stopfd = n->exitfd = -1;
    n->inherited_fd = listenfd;
    atomic_store(&n->heartbeat_ms, now_ms());
    atomic_store(&n->worker_beat_ms, now_ms());
    pthread_mutex_init(&n->lock, NULL);
    snprintf(n->upgrade_state, sizeof n->upgrade_state, "idle");
    n->started_ms = now_ms();
    node_budget_init(&n->budget, (size_t)cfg->max_buffer_memory);

    /* One largest frame must fit in the budget, or a legitimate maximum PUT could never
     * be received. */
    if (cfg->frame_timeout_ms == 0 || cfg->max_connections_per_address == 0 ||
        cfg->max_connections == 0) {
        ant_log(ANT_LOG_ERROR, "node", "Connection limits and frame-timeout must not be 0");
        err = ANT_ERR_INVALID_ARG;
        goto fail;
    }
    if (cfg->max_buffer_memory < cfg->max_frame || cfg->max_buffer_memory > SIZE_MAX) {
        ant_log(ANT_LOG_ERROR, "node",
                "Buffer budget below the largest frame max_buffer_memory=%" PRIu64
                " max_frame=%" PRIu64,
                cfg->max_buffer_memory, cfg->max_frame);
        err = ANT_ERR_INVALID_ARG;
        goto fail;
    }
    err = node_addr_table_new(cfg->max_connections, &n->addrs);
    if (err != ANT_OK)
        goto fail;

    err = ant_fsx_open_trusted_dir(cfg->root_dir, true, &n->rootfd);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node", "Cannot use root directory root=%s error=%s",
                cfg->root_dir, ant_strerror(err));
        goto fail;
    }
    err = ant_fsx_lock(n->rootfd, ROOT_LOCK_FILE, ROOT_LOCK_WAIT_MS, &n->lockfd);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node",
                "Another node is running on this root directory root=%s error=%s",
                cfg->root_dir, ant_strerror(err));
        err = err == ANT_ERR_TIMEOUT ? ANT_ERR_BUSY : err;
        goto fail;
    }
    err = ant_node_identity_load_or_create(n->rootfd, &n->id, &created);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node", "Cannot load node identity root=%s error=%s",
                cfg->root_dir, ant_strerror(err));
        goto fail;
    }
    if (created)
        ant_log(ANT_LOG_INFO, "node", "Created node identity peer_id=%s",
                ant_node_identity_peer_id_hex(n->id));
    so.map_size = cfg->map_size;
    so.verify_reads = cfg->verify_reads;
    err = ant_node_store_open(cfg->root_dir, n->rootfd, &so, &n->store);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node", "Cannot open chunk store root=%s error=%s",
                cfg->root_dir, ant_strerror(err));
        goto fail;
    }
    err = open_listener(n);
    if (err != ANT_OK)
        goto fail;
    err = node_metrics_start(cfg, n->store, &n->metrics); /* metrics */
    if (err != ANT_OK)
        goto fail;

    n->epfd = epoll_create1(EPOLL_CLOEXEC);
    n->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    n->exitfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (n->epfd < 0 || n->stopfd < 0 || n->exitfd < 0) {
        err = ANT_ERR_IO;
        goto fail;
    }
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    if (epoll_ctl(n->epfd, EPOLL_CTL_ADD, n->stopfd, &ev) != 0) {
        err = ANT_ERR_IO;
        goto fail;
    }

    n->workers = calloc(cfg->workers, sizeof *n->workers);
    if (n->workers == NULL) {
        err = ANT_ERR_NOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < cfg->workers; i++) {
        if (pthread_create(&n->workers[i], NULL, worker_main, n) != 0) {
            err = ANT_ERR_NOMEM;
            goto fail_threads;
        }
        n->nworkers++;
    }
    if (pthread_create(&n->acceptor, NULL, acceptor_main, n) != 0) {
        err = ANT_ERR_NOMEM;
        goto fail_threads;
    }
    n->acceptor_started = true;

    err = write_port_file(n);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node", "Cannot write port file root=%s error=%s",
                cfg->root_dir, ant_strerror(err));
        goto fail_threads;
    }
    ant_log(ANT_LOG_INFO, "node", "Node started version=%s peer_id=%s pid=%ld root=%s",
            ANT_VERSION_STRING, ant_node_identity_peer_id_hex(n->id), (long)getpid(),
            cfg->root_dir);
    ant_log(ANT_LOG_INFO, "node", "Listening listen=%s port=%u workers=%u", cfg->listen,
            (unsigned)n->port, cfg->workers);
    node_metrics_ready(n->metrics, true, "serving"); /* metrics */
    *out = n;
    return ANT_OK;

fail_threads:
    stop_threads(n);
fail:
    node_free(n);
    return err;
}

void ant_node_request_exit(struct ant_node *node, int exit_code, const char *reason)
{
    uint64_t one = 1;
    if (node == NULL)
        return;
    pthread_mutex_lock(&node->lock);
    if (!node->exit_requested) {
        node->exit_requested = true;
        node->exit_code = exit_code;
        snprintf(node->exit_reason, sizeof node->exit_reason, "%s",
                 reason != NULL && reason[0] != '\0' ? reason : "requested");
        for (char *p = node->exit_reason; *p; p++)
            if (*p <= ' ' || *p == 0x7f)
                *p = '_';
    }
    pthread_mutex_unlock(&node->lock);
    (void)write(node->exitfd, &one, sizeof one);
}

int ant_node_wait(struct ant_node *node, int sigfd)
{
    struct pollfd pfd[2];
    int code;
    char reason[32];

    pfd[0].fd = node->exitfd;
    pfd[0].events = POLLIN;
    pfd[1].fd = sigfd;
    pfd[1].events = POLLIN;
    for (;;) {
        int rc = poll(pfd, sigfd >= 0 ? 2 : 1, -1);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            ant_node_request_exit(node, 1, "poll_failed");
            break;
        }
        if (pfd[0].revents & POLLIN)
            break;
        if (sigfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            struct signalfd_siginfo si;
            const char *why = "signal";
            ssize_t r = read(sigfd, &si, sizeof si);
            if (r == (ssize_t)sizeof si)
                why = si.ssi_signo == SIGTERM  ? "SIGTERM"
                      : si.ssi_signo == SIGINT ? "SIGINT"
                                               : "signal";
            ant_node_request_exit(node, 0, why);
            break;
        }
    }
    pthread_mutex_lock(&node->lock);
    code = node->exit_code;
    snprintf(reason, sizeof reason, "%s", node->exit_reason);
    pthread_mutex_unlock(&node->lock);
    ant_log(ANT_LOG_INFO, "node", "Node stopping reason=%s exit_code=%d", reason, code);
    return code;
}

void ant_node_stop(struct ant_node *node)
{
    if (node == NULL)
        return;
    node_metrics_ready(node->metrics, false, "stopping"); /* metrics */
    stop_threads(node);
    if (unlinkat(node->rootfd, ANT_NODE_PORT_FILE, 0) == 0) {
        ant_err err = ant_fsx_fsync_dir(node->rootfd);
        (void)err; /* a stale port file after a crash is harmless: status then fails */
    }
    node_free(node);
    ant_log(ANT_LOG_INFO, "node", "Node stopped");
}

void ant_node_set_upgrade_state(struct ant_node *node, const char *state)
{
    size_t i = 0;
    if (node == NULL)
        return;
    pthread_mutex_lock(&node->lock);
    /* The state goes verbatim into STATUS JSON and log lines: keep it to characters that
     * need no escaping there. */
    for (; state != NULL && state[i] != '\0' && i + 1 < sizeof node->upgrade_state; i++) {
        char ch = state[i];
        node->upgrade_state[i] =
            (ch > ' ' && ch < 0x7f && ch != '"' && ch != '\\') ? ch : '_';
    }
    node->upgrade_state[i] = '\0';
    pthread_mutex_unlock(&node->lock);
}

void ant_node_get_upgrade_state(struct ant_node *node, char *buf, size_t cap)
{
    if (node == NULL || buf == NULL || cap == 0)
        return;
    pthread_mutex_lock(&node->lock);
    snprintf(buf, cap, "%s", node->upgrade_state);
    pthread_mutex_unlock(&node->lock);
}

size_t ant_node_buffer_used(const struct ant_node *node)
{
    return node != NULL ? node_budget_used(&node->budget) : 0;
}

const char *ant_node_peer_id_hex(const struct ant_node *node)
{
    return ant_node_identity_peer_id_hex(node->id);
}

uint16_t ant_node_port(const struct ant_node *node)
{
    return node->port;
}

/* SERVICE HOOKS (src/node/service.c) */
ant_err ant_node_dup_listener(const struct ant_node *node, int *fd)
{
    *fd = node->listenfd >= 0 ? fcntl(node->listenfd, F_DUPFD_CLOEXEC, 3) : -1;
    return *fd >= 0 ? ANT_OK : ANT_ERR_IO;
}

uint64_t ant_node_heartbeat_ms(struct ant_node *node)
{
    uint64_t acceptor = atomic_load(&node->heartbeat_ms);
    uint64_t worker = atomic_load(&node->worker_beat_ms);
    return acceptor < worker ? acceptor : worker;
}

int ant_node_root_dirfd(const struct ant_node *node)
{
    return node->rootfd;
}

const struct ant_node_config *ant_node_config(const struct ant_node *node)
{
    return &node->cfg;
}
