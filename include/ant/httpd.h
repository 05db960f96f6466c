/*
 * A small HTTP/1.1 server for observability endpoints (ARCHITECTURE.md §12): the node's
 * `/metrics` and `/healthz`, the devnet's fleet page. It is built to be left open to a
 * hostile local client without costing the process it lives in more than a fixed budget:
 *
 * - one thread and one epoll set of its own, so nothing it does can stall the caller's
 *   workers; every socket is non-blocking and nothing ever waits on a peer;
 * - GET only (other methods: 405); one request per connection, answered with
 *   `Connection: close`; a request body is never read;
 * - caps: the request head (line + headers) in bytes (414/431 past it), the number of
 *   header lines (431), the number of open connections (when full, the oldest connection
 *   is closed to make room, so idle connections cannot lock a scraper out), and one
 *   deadline per connection covering the whole exchange from accept to the last byte
 *   written (a slowloris client is cut off at it);
 * - bound to loopback unless the caller explicitly allows remote addresses.
 *
 * The handler runs on the server's thread, one request at a time.
 */
#ifndef ANT_HTTPD_H
#define ANT_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_HTTPD_PATH_MAX 256 /* longest request path handed to the handler */
#define ANT_HTTPD_BODY_MAX ((size_t)8 << 20) /* largest response body sent */

/* What the handler fills in. `body` is malloc'd by the handler and freed by the server
 * (NULL with len 0 for an empty body); `content_type` is a static string. */
struct ant_httpd_response {
    int status;               /* default 200 */
    const char *content_type; /* default "text/plain; charset=utf-8" */
    char *body;
    size_t len;
};

/* Called for each well-formed GET with its path (query string removed, NUL-terminated).
 * The response starts as 200 with no body. */
typedef void (*ant_httpd_handler)(void *ctx, const char *path, struct ant_httpd_response *resp);

/* Settings, a plain value type: start from ant_httpd_opts_init(). Zero caps mean default. */
struct ant_httpd_opts {
    const char *listen;          /* "ADDR:PORT" or "[V6]:PORT"; port 0 = any free port */
    bool allow_remote;           /* false: the address must be loopback */
    unsigned max_connections;    /* default 64 */
    size_t max_request_bytes;    /* request line + headers; default 8192 */
    unsigned max_headers;        /* default 64 */
    unsigned deadline_ms;        /* whole exchange per connection; default 5000 */
    const char *log_module;      /* module name in log lines; default "httpd" */
    ant_httpd_handler handler;
    void *handler_ctx;
};

void ant_httpd_opts_init(struct ant_httpd_opts *o);

struct ant_httpd;

/*
 * Resolves and binds o->listen, checks the loopback rule on the resolved address, and
 * starts the server thread. Errors: ANT_ERR_INVALID_ARG (no handler, bad address,
 * a non-loopback address without allow_remote), ANT_ERR_NETWORK (bind/listen failed),
 * ANT_ERR_IO, ANT_ERR_NOMEM. On error nothing is left running.
 */
ANT_MUST_CHECK ant_err ant_httpd_start(const struct ant_httpd_opts *o, struct ant_httpd **out);

/* The bound port (useful with port 0). */
uint16_t ant_httpd_port(const struct ant_httpd *h);

/* Stops the thread, closes every connection and the listener, frees. NULL is a no-op. */
void ant_httpd_stop(struct ant_httpd *h);

#endif
