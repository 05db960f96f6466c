/*
 * The request-head parser of the observability HTTP server (src/node/httpd.c), apart so it
 * can be fuzzed and tested as a pure function over attacker bytes (fuzz/httpd_head.c).
 * Internal to src/node; the server is include/ant/httpd.h.
 */
#ifndef ANT_NODE_HTTPD_PARSE_H
#define ANT_NODE_HTTPD_PARSE_H

#include <stddef.h>

#include "ant/httpd.h"

/* Incremental scan state: zero it before the first byte of a request. */
struct httpd_scan {
    size_t scanned;    /* bytes already looked at */
    size_t line_start; /* where the current line begins */
    size_t lines;      /* complete lines so far */
};

enum {
    HTTPD_HEAD_MORE = 0,      /* no end yet: read more (unless the buffer is full) */
    HTTPD_HEAD_DONE = 1,      /* *end = bytes of the head, blank line included */
    HTTPD_HEAD_TOO_MANY = -1, /* more than max_headers header lines: answer 431 */
};

/*
 * Scans buf[s->scanned..len) for the blank line (LF or CRLF) that ends the head, counting
 * lines so that calls on a growing buffer look at each byte once. A blank first line does
 * not end the head (it is a malformed request line, answered 400 by the parser).
 */
int httpd_scan_head(const char *buf, size_t len, struct httpd_scan *s, unsigned max_headers,
                    size_t *end);

/*
 * Validates a complete head (buf[0..end), as found by httpd_scan_head) and returns the
 * status to answer: 0 for a well-formed GET, with the target's path (query removed,
 * NUL-terminated, printable ASCII without spaces, starting with '/') in `path`; else 400
 * (malformed request line or header line, or a version other than HTTP/1.0 or 1.1), 405
 * (a well-formed request with another method) or 414 (path of ANT_HTTPD_PATH_MAX bytes or
 * more).
 */
int httpd_parse_head(const char *buf, size_t end, char path[ANT_HTTPD_PATH_MAX]);

#endif
