/*
 * HTTP(S) GET on libcurl for release discovery and downloads (ARCHITECTURE.md §5 steps 2 and 5).
 *
 * The policy is fixed here, not left to callers: HTTPS only, with plain http:// allowed
 * only to loopback hosts (127.0.0.0/8, ::1, localhost) so tests can run a local server;
 * at most 5 redirects, each checked against the same policy before any connection is made
 * (a loopback URL may redirect only to loopback or HTTPS); connect, overall and stall
 * timeouts; a byte cap counted as the body arrives, so an endless or lying body stops at
 * the cap, and a Content-Length above the cap is refused before the body is read. A body
 * goes either to a caller's fd (downloads; never buffered in memory) or to a capped
 * malloc'd buffer (API JSON). No content encoding is requested, so the cap is on the bytes
 * that reach the sink. Transfers log their failures through ant_log (module "net").
 */
#ifndef ANT_HTTP_H
#define ANT_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_HTTP_MAX_REDIRECTS 5   /* hard upper bound on redirects followed */
#define ANT_HTTP_URL_MAX 2048      /* longest URL accepted (also for redirect targets) */

/*
 * Transfer options, a plain value type (an intended exception to "structs are opaque":
 * callers fill it field by field from their configuration). Start from
 * ant_http_opts_init(); a zero timeout field means "use the default".
 */
struct ant_http_opts {
    const char *ca_file;         /* CA bundle; NULL = first existing of the usual paths */
    unsigned connect_timeout_ms; /* TCP + TLS handshake; default 10 000 */
    unsigned timeout_ms;         /* whole request incl. redirects; default 60 000 */
    unsigned stall_bytes_per_s;  /* below this rate ... (default 1024 bytes/s, so a
                                    1 byte/s drip is a stall, not a slow success) */
    unsigned stall_seconds;      /* ... for this long the transfer fails; default 30 s */
    unsigned max_redirects;      /* default and maximum ANT_HTTP_MAX_REDIRECTS */
    bool github_api;             /* send Accept: application/vnd.github+json */
};

/* Fills `opts` with the defaults above (ca_file NULL, github_api false). */
void ant_http_opts_init(struct ant_http_opts *opts);

/*
 * True if `url` may be fetched: an https:// URL with a host, or an http:// URL whose host
 * is loopback (127.0.0.0/8, [::1], localhost). Userinfo in the URL is refused (it would
 * leak into logs and has no use here). Longer than ANT_HTTP_URL_MAX: false.
 */
bool ant_http_url_allowed(const char *url);

/* Extra detail on a finished request; every field is set on success and on failure. */
struct ant_http_result {
    long status;    /* last HTTP status seen, 0 if no response arrived */
    uint64_t bytes; /* body bytes delivered to the sink */
    unsigned redirects; /* redirects followed */
    unsigned resumes;   /* ranged requests that continued a cut body (resumable GET only) */
    unsigned restarts;  /* times the body was discarded and fetched again from byte 0 */
};

/*
 * GET `url` into a new buffer of at most `cap` bytes (cap ≥ 1). On success *body is
 * malloc'd with a NUL after the last byte (not counted in *len); the caller frees it. On
 * failure *body is NULL and *len 0. `result` may be NULL.
 * Errors: ANT_ERR_INVALID_ARG, ANT_ERR_INSECURE_URL (the URL or a redirect breaks the
 * policy), ANT_ERR_TOO_LARGE (Content-Length or the body over `cap`), ANT_ERR_HTTP_STATUS
 * (status ≥ 400, or a 3xx that cannot be followed, or too many redirects; the status is in
 * result->status, so 429 and 5xx can be told apart), ANT_ERR_TIMEOUT (connect, overall or
 * stall timeout), ANT_ERR_TRUNCATED (body shorter than its Content-Length),
 * ANT_ERR_PROTOCOL (body longer than its Content-Length, or a malformed response),
 * ANT_ERR_NETWORK (DNS, TCP, TLS, no CA bundle), ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_http_get_mem(const char *url, const struct ant_http_opts *opts,
                                        size_t cap, uint8_t **body, size_t *len,
                                        struct ant_http_result *result);

/*
 * GET `url` and write the body to `fd` (the caller's open file; not closed, not
 * truncated or synced) at its current offset, at most `cap` bytes. Nothing is written for
 * a redirect or error response. On failure some bytes may already have been written: the
 * caller writes to a temp file it discards on error.
 * Errors: as ant_http_get_mem, plus ANT_ERR_IO or ANT_ERR_NO_SPACE when writing to `fd`
 * fails.
 */
ANT_MUST_CHECK ant_err ant_http_get_fd(const char *url, const struct ant_http_opts *opts,
                                       int fd, uint64_t cap, struct ant_http_result *result);

#define ANT_HTTP_MAX_RESUMES 3 /* ranged continuations before the body starts over */

/*
 * GET `url` into `fd` like ant_http_get_fd, but a body cut mid-way (truncated, a network
 * error or a stall) continues with a ranged request from the bytes already in `fd`
 * instead of starting over. `fd` must be an empty file the caller owns (a private
 * temp file); on success it holds exactly the body (bytes 0..length-1), offset unspecified.
 *
 * A continuation is sent only when the first answer named its total length (a
 * Content-Length, or `expect_len` when the caller knows it, e.g. from signed metadata;
 * 0 = unknown) and a strong validator: `Range: bytes=N-` with `If-Range:` the strong ETag,
 * else the Last-Modified date. The answer must be 206 with `Content-Range: bytes
 * N-(T-1)/T` for the same total T, the same ETag/Last-Modified when it repeats them, and a
 * Content-Length (if any) equal to T-N; a wrong range is refused (ANT_ERR_PROTOCOL), a
 * changed validator, a 200 or a 416 starts over from byte 0. After `max_resumes`
 * continuations (capped at ANT_HTTP_MAX_RESUMES) the body starts over once; a second cut
 * after that fails. The body never exceeds `cap` in total, each attempt is capped at
 * what is left of it, and all attempts share the one `opts->timeout_ms` deadline, so the
 * worst case in time is that of ant_http_get_fd. A 206 answer to a request without a
 * Range is refused. The caller still checks the final bytes (digest) as before.
 * Errors: as ant_http_get_fd, from the last attempt.
 */
ANT_MUST_CHECK ant_err ant_http_get_fd_resume(const char *url, const struct ant_http_opts *opts,
                                              int fd, uint64_t cap, uint64_t expect_len,
                                              unsigned max_resumes,
                                              struct ant_http_result *result);

/* True for statuses worth retrying later rather than treating as a hard failure:
 * 408, 429 and 5xx. */
bool ant_http_status_retryable(long status);

#endif
