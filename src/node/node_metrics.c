/*
 * The node's metrics and its observability endpoint (node_metrics.h). The protocol families
 * are registered once per process in ant_metrics_default() and updated by server.c with one
 * relaxed atomic add each; the store's size and the process's identity are read at scrape
 * time by a collector, so a scrape costs one LMDB read transaction and nothing is counted
 * twice. The endpoint is an ant_httpd on its own thread: a client of it can slow only
 * itself, never a protocol worker.
 */
#include "node_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ant/httpd.h"
#include "ant/log.h"
#include "ant/metrics.h"
#include "ant/node_proto.h"
#include "ant/version.h"

/* mimalloc, when it is the program's allocator (cmake/Allocator.cmake), defines this; the
 * weak reference is then non-NULL. Asked at run time, so the label tells what really runs. */
extern const char *mi_version(void) __attribute__((weak));

enum op { OP_PING, OP_STATUS, OP_PUT, OP_GET, OP_HAS, OP_OTHER, OP_MALFORMED, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"ping", "status", "put",      "get",
                                               "has",  "other",  "malformed"};

/* 100 µs .. 10 s: a PING on loopback to a 4 MiB PUT on a slow disk. */
static const uint64_t duration_buckets[] = {100,    250,    500,     1000,    2500,   5000,
                                            10000,  25000,  50000,   100000,  250000, 500000,
                                            1000000, 2500000, 5000000, 10000000};

static struct ant_metric *m_requests, *m_errors, *m_duration, *m_connections, *m_refused,
    *m_ready;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;

struct node_metrics {
    struct ant_node_store *store;
    uint64_t started_us;
    struct ant_httpd *httpd;
    bool collector;
};

uint64_t node_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void register_families(void)
{
    struct ant_metrics *reg = ant_metrics_default();
    /* The malformed pseudo-op only ever has errors; requests use the first six. */
    const struct ant_metric_desc requests = {
        "antnode_protocol_requests_total", "Protocol requests handled, by operation.",
        ANT_METRIC_COUNTER, "op", op_names, OP_MALFORMED, NULL, 0};
    const struct ant_metric_desc errors = {
        "antnode_protocol_errors_total",
        "Protocol requests answered with an ERROR frame (a GET or HAS miss included) or that "
        "closed the connection, by operation; malformed frames under op=\"malformed\".",
        ANT_METRIC_COUNTER, "op", op_names, OP_COUNT, NULL, 0};
    const struct ant_metric_desc duration = {
        "antnode_protocol_request_duration_seconds",
        "Time from a complete request frame to its answer handed to the socket, by operation.",
        ANT_METRIC_HISTOGRAM, "op", op_names, OP_MALFORMED, duration_buckets,
        sizeof duration_buckets / sizeof duration_buckets[0]};
    const struct ant_metric_desc connections = {
        "antnode_protocol_connections", "Open protocol connections.", ANT_METRIC_GAUGE,
        NULL, NULL, 0, NULL, 0};
    const struct ant_metric_desc refused = {
        "antnode_protocol_connections_refused_total",
        "Protocol connections refused at the max-connections cap.", ANT_METRIC_COUNTER,
        NULL, NULL, 0, NULL, 0};
    const struct ant_metric_desc ready = {
        "antnode_ready", "1 while the node serves its protocol, 0 while starting or stopping.",
        ANT_METRIC_GAUGE, NULL, NULL, 0, NULL, 0};

    /* A family that fails to register stays NULL and its updates do nothing: metrics must
     * never stop the node from serving. */
    if (ant_metrics_register(reg, &requests, &m_requests) != ANT_OK ||
        ant_metrics_register(reg, &errors, &m_errors) != ANT_OK ||
        ant_metrics_register(reg, &duration, &m_duration) != ANT_OK ||
        ant_metrics_register(reg, &connections, &m_connections) != ANT_OK ||
        ant_metrics_register(reg, &refused, &m_refused) != ANT_OK ||
        ant_metrics_register(reg, &ready, &m_ready) != ANT_OK)
        ant_log(ANT_LOG_WARN, "node", "Cannot register node metrics");
}

static size_t op_index(uint8_t type)
{
    switch (type) {
    case ANT_FRAME_PING:
        return OP_PING;
    case ANT_FRAME_STATUS:
        return OP_STATUS;
    case ANT_FRAME_PUT:
        return OP_PUT;
    case ANT_FRAME_GET:
        return OP_GET;
    case ANT_FRAME_HAS:
        return OP_HAS;
    default:
        return OP_OTHER;
    }
}

/* The request the calling worker is handling (a worker handles one at a time). */
static _Thread_local struct {
    bool active, answered, error;
    size_t op;
    uint64_t t0;
} cur;

static void record(bool error)
{
    uint64_t now = node_metrics_now_us();
    ant_metric_inc(m_requests, cur.op);
    if (error)
        ant_metric_inc(m_errors, cur.op);
    ant_metric_observe(m_duration, cur.op, now >= cur.t0 ? now - cur.t0 : 0);
}

void node_metrics_begin(uint8_t type)
{
    cur.active = true;
    cur.answered = false;
    cur.error = false;
    cur.op = op_index(type);
    cur.t0 = node_metrics_now_us();
}

void node_metrics_answer(void)
{
    if (!cur.active || cur.answered)
        return;
    cur.answered = true;
    record(cur.error);
}

void node_metrics_end(bool failed)
{
    if (!cur.active)
        return;
    if (!cur.answered)
        record(true); /* no answer at all: the request failed */
    else if (failed && !cur.error)
        ant_metric_inc(m_errors, cur.op); /* answered, then the send failed */
    cur.active = false;
}

void node_metrics_error_sent(void)
{
    cur.error = true;
}

void node_metrics_malformed(void)
{
    ant_metric_inc(m_errors, OP_MALFORMED);
}

void node_metrics_connections(unsigned open)
{
    ant_metric_set(m_connections, 0, (int64_t)open);
}

void node_metrics_refused(void)
{
    ant_metric_inc(m_refused, 0);
}

/* ---- scrape-time values ------------------------------------------------------------- */

static void collect(void *ctx, struct ant_metrics_writer *w)
{
    struct node_metrics *m = ctx;
    uint64_t chunks, bytes, used, size;
    const char *build[] = {"version",
                           ANT_VERSION_STRING,
                           "libc",
#ifdef __GLIBC__
                           "glibc",
#else
                           "musl",
#endif
                           "allocator",
                           mi_version != NULL ? "mimalloc" : "libc",
                           NULL};

    ant_metrics_write_family(w, "antnode_build_info", ANT_METRIC_GAUGE,
                             "Always 1; the labels say what this binary is.");
    ant_metrics_write_sample(w, "antnode_build_info", build, 1);
    ant_metrics_write_family(w, "antnode_uptime_seconds", ANT_METRIC_GAUGE,
                             "Seconds since this node process started serving.");
    ant_metrics_write_sample(w, "antnode_uptime_seconds", NULL,
                             (double)(node_metrics_now_us() - m->started_us) / 1e6);
    /* A store read failure leaves the store families out of this scrape rather than
     * reporting a false zero. */
    if (ant_node_store_stats(m->store, &chunks, &bytes) == ANT_OK) {
        ant_metrics_write_family(w, "antnode_store_chunks", ANT_METRIC_GAUGE,
                                 "Chunks in the store.");
        ant_metrics_write_sample(w, "antnode_store_chunks", NULL, (double)chunks);
        ant_metrics_write_family(w, "antnode_store_bytes", ANT_METRIC_GAUGE,
                                 "Payload bytes of the chunks in the store.");
        ant_metrics_write_sample(w, "antnode_store_bytes", NULL, (double)bytes);
    }
    if (ant_node_store_map_usage(m->store, &used, &size) == ANT_OK) {
        ant_metrics_write_family(w, "antnode_store_map_used_bytes", ANT_METRIC_GAUGE,
                                 "Bytes of the LMDB map in use (free pages included).");
        ant_metrics_write_sample(w, "antnode_store_map_used_bytes", NULL, (double)used);
        ant_metrics_write_family(w, "antnode_store_map_size_bytes", ANT_METRIC_GAUGE,
                                 "Size of the LMDB map: the store's capacity.");
        ant_metrics_write_sample(w, "antnode_store_map_size_bytes", NULL, (double)size);
    }
}

/* ---- endpoint ----------------------------------------------------------------------- */

static void handle(void *ctx, const char *path, struct ant_httpd_response *resp)
{
    (void)ctx;
    if (strcmp(path, "/metrics") == 0) {
        ant_err err = ant_metrics_render(ant_metrics_default(), &resp->body, &resp->len);
        if (err != ANT_OK) {
            ant_log(ANT_LOG_ERROR, "metrics", "Cannot render metrics error=%s",
                    ant_strerror(err));
            resp->status = 500;
            resp->body = strdup("cannot render metrics\n");
            resp->len = resp->body != NULL ? strlen(resp->body) : 0;
            return;
        }
        resp->content_type = ANT_METRICS_CONTENT_TYPE;
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        char reason[ANT_METRICS_REASON_MAX + 40];
        bool ok = ant_metrics_healthy(ant_metrics_default(), reason, sizeof reason - 1);
        if (ok)
            snprintf(reason, sizeof reason, "ok");
        resp->status = ok ? 200 : 503;
        size_t n = strlen(reason);
        reason[n] = '\n';
        resp->body = malloc(n + 1);
        if (resp->body != NULL) {
            memcpy(resp->body, reason, n + 1);
            resp->len = n + 1;
        }
        return;
    }
    resp->status = 404;
    resp->body = strdup("not found: try /metrics or /healthz\n");
    resp->len = resp->body != NULL ? strlen(resp->body) : 0;
}

ant_err node_metrics_start(const struct ant_node_config *cfg, struct ant_node_store *store,
                           struct node_metrics **out)
{
    struct node_metrics *m;
    ant_err err;

    if (cfg == NULL || store == NULL || out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    pthread_once(&register_once, register_families);
    m = calloc(1, sizeof *m);
    if (m == NULL)
        return ANT_ERR_NOMEM;
    m->store = store;
    m->started_us = node_metrics_now_us();
    node_metrics_ready(m, false, "starting");
    /* Several nodes in one process (tests) can exhaust the collector slots: that costs
     * those nodes their store gauges, never their start. */
    if (ant_metrics_add_collector(ant_metrics_default(), collect, m) == ANT_OK)
        m->collector = true;
    else
        ant_log(ANT_LOG_WARN, "metrics", "Store metrics unavailable: too many collectors");
    if (cfg->metrics_listen[0] != '\0') {
        struct ant_httpd_opts o;
        ant_httpd_opts_init(&o);
        o.listen = cfg->metrics_listen;
        o.allow_remote = cfg->metrics_allow_remote;
        o.log_module = "metrics";
        o.handler = handle;
        o.handler_ctx = m;
        err = ant_httpd_start(&o, &m->httpd);
        if (err == ANT_ERR_NETWORK) {
            /* The port is taken (bind or listen failed). Anyone on the host can hold a
             * loopback port, for instance in the gap of a restart; if that stopped the
             * node, a good release would fail its trial and be rolled back. The node serves
             * without the endpoint: the scraper sees the target down. A bad address or a
             * non-loopback one without the opt-in is the operator's error and still stops
             * the start. */
            ant_log(ANT_LOG_ERROR, "metrics",
                    "Metrics endpoint not started, serving without it listen=%s error=%s",
                    cfg->metrics_listen, ant_strerror(err));
        } else if (err != ANT_OK) {
            goto fail;
        } else {
            ant_log(ANT_LOG_INFO, "metrics", "Metrics endpoint listening listen=%s port=%u",
                    cfg->metrics_listen, (unsigned)ant_httpd_port(m->httpd));
        }
    }
    *out = m;
    return ANT_OK;
fail:
    node_metrics_stop(m);
    return err;
}

uint16_t node_metrics_port(const struct node_metrics *m)
{
    return m != NULL ? ant_httpd_port(m->httpd) : 0;
}

void node_metrics_ready(const struct node_metrics *m, bool ready, const char *reason)
{
    if (m == NULL)
        return;
    ant_metric_set(m_ready, 0, ready ? 1 : 0);
    if (ant_metrics_health_set(ant_metrics_default(), "node", ready, reason) != ANT_OK)
        ant_log(ANT_LOG_WARN, "metrics", "Cannot record node health");
}

void node_metrics_stop(struct node_metrics *m)
{
    if (m == NULL)
        return;
    ant_httpd_stop(m->httpd);
    if (m->collector)
        ant_metrics_remove_collector(ant_metrics_default(), collect, m);
    ant_metric_set(m_ready, 0, 0);
    ant_metrics_health_clear(ant_metrics_default(), "node");
    free(m);
}
