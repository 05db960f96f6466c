/*
 * The HTTP(S) client of include/ant/http.h on the libcurl easy API.
 *
 * Redirects are followed here, not by libcurl: each Location is turned into an absolute
 * URL by libcurl (CURLINFO_REDIRECT_URL), checked against our policy, and only then
 * requested, so a refused redirect never opens a connection. Requests are HTTP/1.1 with
 * `Connection: close` and libcurl told to ignore Content-Length: the body then ends where
 * the server closes, and we compare what arrived with what was declared, which makes a
 * Content-Length lie visible in both directions (libcurl alone silently drops an excess).
 * The declared length still matters: above the cap it is refused before the body. Bytes
 * are counted in the write callback against the cap, which is what stops an endless body;
 * CURLOPT_MAXFILESIZE alone would not (curl's security guide says as much).
 */
#include "ant/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/version.h"

#define MOD "net"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define DEFAULT_TIMEOUT_MS 60000u
#define DEFAULT_STALL_BYTES 1024u
#define DEFAULT_STALL_SECONDS 30u
#define MEM_INITIAL_ALLOC 16384u
#define VALIDATOR_MAX 127u /* longest ETag / Last-Modified value kept for a resume */

/* Where distributions keep their CA bundle. A statically linked binary cannot rely on the
 * path compiled into its libcurl, so we look for the first one that exists. */
static const char *const ca_bundle_paths[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Gentoo, Arch */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL 6 */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+, CentOS */
    "/etc/ssl/cert.pem",                                 /* Alpine, Void */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE, SLES */
    "/etc/pki/tls/cacert.pem",                           /* OpenELEC */
    "/etc/ssl/certs/ca-bundle.crt",                      /* older SUSE, Slackware */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void ant_http_opts_init(struct ant_http_opts *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    opts->timeout_ms = DEFAULT_TIMEOUT_MS;
    opts->stall_bytes_per_s = DEFAULT_STALL_BYTES;
    opts->stall_seconds = DEFAULT_STALL_SECONDS;
    opts->max_redirects = ANT_HTTP_MAX_REDIRECTS;
}

bool ant_http_status_retryable(long status)
{
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* ---- URL policy ------------------------------------------------------------------- */

struct url_info {
    bool https;
    bool loopback;
};

static bool host_is_loopback(const char *host)
{
    char buf[64];
    size_t n = strlen(host);
    struct in_addr a4;
    struct in6_addr a6;

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') { /* IPv6 literal */
        if (n - 2 >= sizeof buf)
            return false;
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Parses `url` with libcurl's own parser (the one the transfer will use, so the policy
 * sees the same scheme and host libcurl connects to) and applies the policy. */
static bool url_check(const char *url, struct url_info *info)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *user = NULL;
    bool ok = false;

    if (url == NULL || strnlen(url, ANT_HTTP_URL_MAX + 1) > ANT_HTTP_URL_MAX)
        return false;
    u = curl_url();
    if (u == NULL)
        return false;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
        goto out;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
        goto out; /* credentials in a URL: refused */
    info->loopback = host_is_loopback(host);
    if (strcasecmp(scheme, "https") == 0) {
        info->https = true;
        ok = true;
    } else if (strcasecmp(scheme, "http") == 0) {
        info->https = false;
        ok = info->loopback;
    }
out:
    curl_free(user);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

bool ant_http_url_allowed(const char *url)
{
    struct url_info info;
    if (pthread_once(&global_once, global_init) != 0 || global_rc != CURLE_OK)
        return false;
    return url_check(url, &info);
}

static const char *find_ca_bundle(void)
{
    struct stat st;
    for (size_t i = 0; i < sizeof ca_bundle_paths / sizeof ca_bundle_paths[0]; i++) {
        if (stat(ca_bundle_paths[i], &st) == 0 && S_ISREG(st.st_mode) &&
            access(ca_bundle_paths[i], R_OK) == 0)
            return ca_bundle_paths[i];
    }
    return NULL;
}

/* ---- one transfer ----------------------------------------------------------------- */

struct xfer {
    /* sink: fd >= 0, else the memory buffer */
    int fd;
    uint8_t *buf;
    size_t alloc;
    uint64_t cap;
    uint64_t bytes;

    /* the response being received (reset on every status line, e.g. after a 100) */
    long status;
    bool have_cl;
    uint64_t cl;
    bool chunked;
    char location[ANT_HTTP_URL_MAX + 1]; /* "" if none or too long */
    char etag[VALIDATOR_MAX + 1];        /* "" if none, too long or not printable */
    char lastmod[VALIDATOR_MAX + 1];
    bool have_crange; /* a well-formed Content-Range: bytes first-last/total */
    uint64_t cr_first, cr_last, cr_total;

    /* a ranged request (resumable GET): range_from > 0 sends Range and If-Range, and the
     * 206 must match the validators and total of the body being continued */
    uint64_t range_from;
    uint64_t want_total;
    const char *want_etag;    /* "" = not compared */
    const char *want_lastmod; /* "" = not compared */
    char range_hdr[64];
    char ifrange_hdr[VALIDATOR_MAX + 16];
    bool stop_restart; /* the server's copy changed or it ignored the range: start over */

    /* why a callback stopped the transfer */
    ant_err stop_err;
    bool stop_redirect;
    bool refused_addr;
    bool loopback_only; /* plain http: sockets may only go to loopback addresses */
};

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == n || s[i] < '0' || s[i] > '9') /* at least one digit */
        return false;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    if (i != n)
        return false;
    *out = v;
    return true;
}

static bool header_is(const char *line, size_t n, const char *name, const char **value,
                      size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return false;
    *value = line + k + 1;
    *vlen = n - k - 1;
    return true;
}

/* Copies a header value without surrounding blanks if it is short printable ASCII;
 * otherwise leaves "" (an unusable validator just means no resume). */
static void copy_token(char *dst, const char *v, size_t vlen)
{
    while (vlen > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' ||
                        v[vlen - 1] == '\t'))
        vlen--;
    dst[0] = '\0';
    if (vlen == 0 || vlen > VALIDATOR_MAX)
        return;
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] < 0x20 || v[i] > 0x7e)
            return;
    }
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

/* "bytes FIRST-LAST/TOTAL" with first <= last < total; anything else (including the
 * unsatisfied form "bytes * /TOTAL" and an unknown total) is not usable. */
static bool parse_content_range(const char *v, size_t n, uint64_t *first, uint64_t *last,
                                uint64_t *total)
{
    const char *dash, *slash;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    if (n < 6 || strncasecmp(v, "bytes ", 6) != 0)
        return false;
    v += 6;
    n -= 6;
    dash = memchr(v, '-', n);
    slash = memchr(v, '/', n);
    if (dash == NULL || slash == NULL || slash < dash)
        return false;
    if (!parse_u64(v, (size_t)(dash - v), first) ||
        !parse_u64(dash + 1, (size_t)(slash - dash - 1), last) ||
        !parse_u64(slash + 1, n - (size_t)(slash - v) - 1, total))
        return false;
    return *first <= *last && *last < *total;
}

/* End of a 2xx header block: is this the answer the request asked for? A 206 is only
 * accepted for a ranged request, and then only for exactly the range and copy asked. */
static bool check_ranged_answer(struct xfer *x)
{
    if (x->range_from == 0) {
        if (x->status == 206) {
            ant_log(ANT_LOG_WARN, MOD, "Refusing 206 Partial Content to a request without Range");
            x->stop_err = ANT_ERR_PROTOCOL;
            return false;
        }
        return true;
    }
    if (x->status == 200) { /* the server sends the whole body: If-Range failed or no ranges */
        x->stop_restart = true;
        return false;
    }
    if (x->status != 206) {
        x->stop_err = ANT_ERR_PROTOCOL;
        return false;
    }
    if ((x->want_etag[0] != '\0' && strcmp(x->etag, x->want_etag) != 0) ||
        (x->want_lastmod[0] != '\0' && strcmp(x->lastmod, x->want_lastmod) != 0)) {
        ant_log(ANT_LOG_INFO, MOD, "The server's copy changed (ETag/Last-Modified differ); "
                                   "starting the download over");
        x->stop_restart = true;
        return false;
    }
    if (!x->have_crange || x->chunked || x->cr_first != x->range_from ||
        x->cr_last + 1 != x->cr_total || x->cr_total != x->want_total ||
        (x->have_cl && x->cl != x->cr_total - x->cr_first)) {
        ant_log(ANT_LOG_WARN, MOD, "Refusing 206 whose Content-Range is not bytes %llu-%llu/%llu",
                (unsigned long long)x->range_from, (unsigned long long)(x->want_total - 1),
                (unsigned long long)x->want_total);
        x->stop_err = ANT_ERR_PROTOCOL;
        return false;
    }
    return true;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nitems; /* libcurl guarantees size == 1 */
    const char *v;
    size_t vlen;

    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        const char *sp = memchr(line, ' ', n);
        long status = 0;
        x->have_cl = false;
        x->chunked = false;
        x->location[0] = '\0';
        x->etag[0] = '\0';
        x->lastmod[0] = '\0';
        x->have_crange = false;
        if (sp != NULL && (size_t)(sp - line) + 4 <= n) {
            for (int i = 1; i <= 3; i++) {
                char c = sp[i];
                if (c < '0' || c > '9') {
                    status = 0;
                    break;
                }
                status = status * 10 + (c - '0');
            }
        }
        if (status < 100) {
            x->stop_err = ANT_ERR_PROTOCOL;
            return 0;
        }
        x->status = status;
        return n;
    }
    if (header_is(line, n, "content-length", &v, &vlen)) {
        uint64_t cl;
        if (!parse_u64(v, vlen, &cl) || (x->have_cl && cl != x->cl)) {
            ant_log(ANT_LOG_WARN, MOD, "Malformed Content-Length in response");
            x->stop_err = ANT_ERR_PROTOCOL;
            return 0;
        }
        x->have_cl = true;
        x->cl = cl;
        return n;
    }
    if (header_is(line, n, "location", &v, &vlen)) {
        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
            vlen--;
        if (vlen > 0 && vlen <= ANT_HTTP_URL_MAX && memchr(v, '\0', vlen) == NULL) {
            memcpy(x->location, v, vlen);
            x->location[vlen] = '\0';
        } else {
            x->location[0] = '\0';
        }
        return n;
    }
    if (header_is(line, n, "etag", &v, &vlen)) {
        copy_token(x->etag, v, vlen);
        return n;
    }
    if (header_is(line, n, "last-modified", &v, &vlen)) {
        copy_token(x->lastmod, v, vlen);
        return n;
    }
    if (header_is(line, n, "content-range", &v, &vlen)) {
        x->have_crange = parse_content_range(v, vlen, &x->cr_first, &x->cr_last, &x->cr_total);
        return n;
    }
    if (header_is(line, n, "transfer-encoding", &v, &vlen)) {
        for (size_t i = 0; i + 7 <= vlen; i++) {
            if (strncasecmp(v + i, "chunked", 7) == 0)
                x->chunked = true;
        }
        return n;
    }
    if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) { /* end of this response's headers */
        if (x->status < 200)
            return n; /* an interim response; the real one follows */
        if (x->status >= 300 && x->status < 400) {
            /* Stop before any redirect body; the caller decides whether to follow. */
            x->stop_redirect = true;
            return 0;
        }
        if (x->status >= 400) {
            x->stop_err = ANT_ERR_HTTP_STATUS; /* the error body is never read */
            return 0;
        }
        if (!check_ranged_answer(x))
            return 0;
        if (x->have_cl && !x->chunked && x->cl > x->cap) {
            ant_log(ANT_LOG_WARN, MOD, "Refusing response: Content-Length %llu over cap %llu",
                    (unsigned long long)x->cl, (unsigned long long)x->cap);
            x->stop_err = ANT_ERR_TOO_LARGE;
            return 0;
        }
    }
    return n;
}

static ant_err sink_fd(struct xfer *x, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = write(x->fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            ant_log(ANT_LOG_ERROR, MOD, "Writing download failed: %s", strerror(e));
            return (e == ENOSPC || e == EDQUOT) ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
        }
        data += w;
        n -= (size_t)w;
    }
    return ANT_OK;
}

static ant_err sink_mem(struct xfer *x, const char *data, size_t n)
{
    /* bytes + n <= cap was checked by the caller, and cap fits size_t for memory sinks */
    size_t need = (size_t)x->bytes + n + 1;
    if (need > x->alloc) {
        size_t a = x->alloc ? x->alloc : MEM_INITIAL_ALLOC;
        while (a < need)
            a = a > SIZE_MAX / 2 ? need : a * 2;
        if (a > (size_t)x->cap + 1)
            a = (size_t)x->cap + 1;
        uint8_t *nb = realloc(x->buf, a);
        if (nb == NULL)
            return ANT_ERR_NOMEM;
        x->buf = nb;
        x->alloc = a;
    }
    memcpy(x->buf + x->bytes, data, n);
    x->buf[x->bytes + n] = '\0';
    return ANT_OK;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb;
    ant_err err;

    if (x->status < 200 || x->status >= 300) {
        x->stop_err = ANT_ERR_PROTOCOL; /* headers_cb stops every other status first */
        return 0;
    }
    if (n > x->cap - x->bytes) {
        ant_log(ANT_LOG_WARN, MOD, "Response body exceeds cap of %llu bytes",
                (unsigned long long)x->cap);
        x->stop_err = ANT_ERR_TOO_LARGE;
        return 0;
    }
    err = x->fd >= 0 ? sink_fd(x, data, n) : sink_mem(x, data, n);
    if (err != ANT_OK) {
        x->stop_err = err;
        return 0;
    }
    x->bytes += n;
    return n;
}

/* Plain http is allowed to loopback hosts only; checking the address each socket is
 * opened for also covers a "localhost" that resolves somewhere else. The sockets are
 * close-on-exec so a restart of the node never inherits them. */
static curl_socket_t opensocket_cb(void *clientp, curlsocktype purpose,
                                   struct curl_sockaddr *addr)
{
    struct xfer *x = clientp;
    (void)purpose;
    if (x->loopback_only) {
        bool lo = false;
        if (addr->family == AF_INET && addr->addrlen >= sizeof(struct sockaddr_in)) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)(void *)&addr->addr;
            lo = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
        } else if (addr->family == AF_INET6 && addr->addrlen >= sizeof(struct sockaddr_in6)) {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(void *)&addr->addr;
            lo = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
        }
        if (!lo) {
            x->refused_addr = true;
            return CURL_SOCKET_BAD;
        }
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* The absolute URL a Location value points to, resolved against `base` by libcurl's URL
 * parser (Location may be relative). malloc'd; NULL if there is none or it is malformed. */
static char *resolve_location(const char *base, const char *location)
{
    CURLU *u;
    char *abs = NULL, *out = NULL;
    if (location[0] == '\0')
        return NULL;
    u = curl_url();
    if (u == NULL)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &abs, 0) == CURLUE_OK &&
        strlen(abs) <= ANT_HTTP_URL_MAX)
        out = strdup(abs);
    curl_free(abs);
    curl_url_cleanup(u);
    return out;
}

static ant_err map_curl(CURLcode rc, const char *errbuf, const char *url)
{
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    ant_err err;
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: err = ANT_ERR_TIMEOUT; break;
    case CURLE_PARTIAL_FILE: err = ANT_ERR_TRUNCATED; break;
    case CURLE_FILESIZE_EXCEEDED: err = ANT_ERR_TOO_LARGE; break;
    case CURLE_OUT_OF_MEMORY: err = ANT_ERR_NOMEM; break;
    case CURLE_UNSUPPORTED_PROTOCOL: err = ANT_ERR_INSECURE_URL; break;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING: err = ANT_ERR_PROTOCOL; break;
    default: err = ANT_ERR_NETWORK; break;
    }
    ant_log(ANT_LOG_WARN, MOD, "HTTP request failed: %s url=%s", why, url);
    return err;
}

#define SETOPT(h, opt, val)                                                                \
    do {                                                                                   \
        CURLcode rc_ = curl_easy_setopt((h), (opt), (val));                                \
        if (rc_ != CURLE_OK) {                                                             \
            ant_log(ANT_LOG_ERROR, MOD, "curl_easy_setopt(%s) failed: %s", #opt,          \
                    curl_easy_strerror(rc_));                                              \
            err = rc_ == CURLE_OUT_OF_MEMORY ? ANT_ERR_NOMEM : ANT_ERR_INTERNAL;           \
            goto out;                                                                      \
        }                                                                                  \
    } while (0)

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Options that stay the same on every hop of one request. */
static ant_err setup_handle(CURL *h, const struct ant_http_opts *o, struct xfer *x,
                            struct curl_slist *hdrs, char *errbuf, const char *ca)
{
    ant_err err = ANT_OK;
    SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    SETOPT(h, CURLOPT_NOPROGRESS, 1L);
    SETOPT(h, CURLOPT_HTTPGET, 1L);
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    SETOPT(h, CURLOPT_IGNORE_CONTENT_LENGTH, 1L);
    SETOPT(h, CURLOPT_FORBID_REUSE, 1L);
    SETOPT(h, CURLOPT_HTTPHEADER, hdrs);
    SETOPT(h, CURLOPT_USERAGENT, "ant-node/" ANT_VERSION_STRING);
    SETOPT(h, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    SETOPT(h, CURLOPT_HEADERFUNCTION, header_cb);
    SETOPT(h, CURLOPT_HEADERDATA, x);
    SETOPT(h, CURLOPT_WRITEFUNCTION, write_cb);
    SETOPT(h, CURLOPT_WRITEDATA, x);
    SETOPT(h, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
    SETOPT(h, CURLOPT_OPENSOCKETDATA, x);
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    SETOPT(h, CURLOPT_LOW_SPEED_LIMIT, (long)o->stall_bytes_per_s);
    SETOPT(h, CURLOPT_LOW_SPEED_TIME, (long)o->stall_seconds);
    SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (ca != NULL)
        SETOPT(h, CURLOPT_CAINFO, ca);
out:
    return err;
}

static ant_err do_get(const char *url, const struct ant_http_opts *opts_in, struct xfer *x,
                      struct ant_http_result *result)
{
    struct ant_http_opts o;
    struct url_info cur, next;
    struct curl_slist *hdrs = NULL, *tmp;
    char errbuf[CURL_ERROR_SIZE];
    char *cur_url = NULL;
    const char *ca = NULL;
    CURL *h = NULL;
    ant_err err = ANT_OK;
    unsigned redirects = 0;
    uint64_t deadline;

    if (opts_in != NULL)
        o = *opts_in;
    else
        ant_http_opts_init(&o);
    if (o.connect_timeout_ms == 0)
        o.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (o.timeout_ms == 0)
        o.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (o.stall_bytes_per_s == 0)
        o.stall_bytes_per_s = DEFAULT_STALL_BYTES;
    if (o.stall_seconds == 0)
        o.stall_seconds = DEFAULT_STALL_SECONDS;
    if (o.max_redirects > ANT_HTTP_MAX_REDIRECTS)
        o.max_redirects = ANT_HTTP_MAX_REDIRECTS;
    errbuf[0] = '\0';

    if (pthread_once(&global_once, global_init) != 0 || global_rc != CURLE_OK) {
        ant_log(ANT_LOG_ERROR, MOD, "curl_global_init failed");
        return ANT_ERR_INTERNAL;
    }
    if (!url_check(url, &cur)) {
        ant_log(ANT_LOG_WARN, MOD, "Refusing URL (HTTPS only; plain http only to loopback) "
                                   "url=%.200s", url);
        return ANT_ERR_INSECURE_URL;
    }
    if (o.ca_file != NULL) {
        if (access(o.ca_file, R_OK) != 0) {
            ant_log(ANT_LOG_ERROR, MOD, "CA file not readable: %s path=%s", strerror(errno),
                    o.ca_file);
            return ANT_ERR_NETWORK;
        }
        ca = o.ca_file;
    } else {
        ca = find_ca_bundle(); /* only required once an https hop is made */
    }

    hdrs = curl_slist_append(NULL, "Connection: close");
    if (hdrs != NULL && o.github_api) {
        tmp = curl_slist_append(hdrs, "Accept: application/vnd.github+json");
        if (tmp != NULL)
            tmp = curl_slist_append(hdrs, "X-GitHub-Api-Version: 2022-11-28");
        if (tmp == NULL) {
            err = ANT_ERR_NOMEM;
            goto out;
        }
    }
    if (hdrs != NULL && x->range_hdr[0] != '\0') {
        tmp = curl_slist_append(hdrs, x->range_hdr);
        if (tmp != NULL && x->ifrange_hdr[0] != '\0')
            tmp = curl_slist_append(hdrs, x->ifrange_hdr);
        if (tmp == NULL) {
            err = ANT_ERR_NOMEM;
            goto out;
        }
    }
    h = curl_easy_init();
    cur_url = strdup(url);
    if (hdrs == NULL || h == NULL || cur_url == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    err = setup_handle(h, &o, x, hdrs, errbuf, ca);
    if (err != ANT_OK)
        goto out;

    deadline = now_ms() + o.timeout_ms;
    for (;;) {
        uint64_t t = now_ms();
        CURLcode rc;
        char *loc = NULL;

        if (cur.https && ca == NULL) {
            ant_log(ANT_LOG_ERROR, MOD, "No CA bundle found in the usual places; "
                                        "pass --ca-file");
            err = ANT_ERR_NETWORK;
            goto out;
        }
        if (t >= deadline) {
            err = ANT_ERR_TIMEOUT;
            goto out;
        }
        SETOPT(h, CURLOPT_URL, cur_url);
        SETOPT(h, CURLOPT_PROTOCOLS_STR, cur.https ? "https" : "http");
        SETOPT(h, CURLOPT_TIMEOUT_MS, (long)(deadline - t));
        /* loopback needs no proxy and a proxy would defeat the loopback-only rule */
        SETOPT(h, CURLOPT_NOPROXY, cur.loopback ? "*" : (const char *)NULL);
        x->loopback_only = !cur.https;
        x->status = 0;
        x->have_cl = false;
        x->chunked = false;
        x->stop_err = ANT_OK;
        x->stop_redirect = false;
        x->stop_restart = false;
        x->refused_addr = false;
        errbuf[0] = '\0';

        rc = curl_easy_perform(h);
        if (x->stop_redirect) {
            loc = resolve_location(cur_url, x->location);
            if (loc == NULL) {
                ant_log(ANT_LOG_WARN, MOD, "HTTP %ld without a usable Location url=%s",
                        x->status, cur_url);
                err = ANT_ERR_HTTP_STATUS;
                goto out;
            }
            if (redirects >= o.max_redirects) {
                free(loc);
                ant_log(ANT_LOG_WARN, MOD, "Too many redirects (max %u) url=%s",
                        o.max_redirects, url);
                err = ANT_ERR_HTTP_STATUS;
                goto out;
            }
            if (!url_check(loc, &next) || (!next.https && !cur.loopback)) {
                ant_log(ANT_LOG_WARN, MOD, "Refusing redirect (HTTPS only; plain http only "
                                           "from loopback to loopback) from=%s to=%.200s",
                        cur_url, loc);
                free(loc);
                err = ANT_ERR_INSECURE_URL;
                goto out;
            }
            free(cur_url);
            cur_url = loc;
            cur = next;
            redirects++;
            continue;
        }
        if (x->stop_restart) {
            err = ANT_ERR_MISMATCH; /* ant_http_get_fd_resume starts over */
            goto out;
        }
        if (x->stop_err != ANT_OK) {
            err = x->stop_err;
            if (err == ANT_ERR_HTTP_STATUS)
                ant_log(ANT_LOG_WARN, MOD, "HTTP status %ld url=%s", x->status, cur_url);
            else if (err == ANT_ERR_PROTOCOL)
                ant_log(ANT_LOG_WARN, MOD, "Malformed HTTP response url=%s", cur_url);
            goto out;
        }
        if (x->refused_addr) {
            ant_log(ANT_LOG_WARN, MOD, "Refusing plain http to a non-loopback address url=%s",
                    cur_url);
            err = ANT_ERR_INSECURE_URL;
            goto out;
        }
        /* A server that keeps the connection open after a complete body despite our
         * `Connection: close` ends in the stall timeout; the body is still whole. */
        if (rc == CURLE_OPERATION_TIMEDOUT && x->have_cl && !x->chunked && x->bytes == x->cl &&
            x->status >= 200 && x->status < 300)
            rc = CURLE_OK;
        if (rc != CURLE_OK) {
            err = map_curl(rc, errbuf, cur_url);
            goto out;
        }
        if (x->status < 200 || x->status >= 300) {
            ant_log(ANT_LOG_WARN, MOD, "HTTP status %ld url=%s", x->status, cur_url);
            err = ANT_ERR_HTTP_STATUS;
            goto out;
        }
        if (x->have_cl && !x->chunked && x->bytes != x->cl) {
            ant_log(ANT_LOG_WARN, MOD, "Body length %llu differs from Content-Length %llu url=%s",
                    (unsigned long long)x->bytes, (unsigned long long)x->cl, cur_url);
            err = x->bytes < x->cl ? ANT_ERR_TRUNCATED : ANT_ERR_PROTOCOL;
            goto out;
        }
        err = ANT_OK;
        break;
    }
out:
    if (result != NULL) {
        result->status = x->status;
        result->bytes = x->bytes;
        result->redirects = redirects;
    }
    if (h != NULL)
        curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    free(cur_url);
    return err;
}

ant_err ant_http_get_mem(const char *url, const struct ant_http_opts *opts, size_t cap,
                         uint8_t **body, size_t *len, struct ant_http_result *result)
{
    struct xfer x;
    ant_err err;

    if (result != NULL)
        memset(result, 0, sizeof *result);
    if (body == NULL || len == NULL)
        return ANT_ERR_INVALID_ARG;
    *body = NULL;
    *len = 0;
    if (url == NULL || cap == 0 || cap == SIZE_MAX)
        return ANT_ERR_INVALID_ARG;
    memset(&x, 0, sizeof x);
    x.fd = -1;
    x.cap = cap;
    err = do_get(url, opts, &x, result);
    if (err == ANT_OK && x.buf == NULL) { /* an empty body still gets its NUL */
        x.buf = malloc(1);
        if (x.buf == NULL)
            err = ANT_ERR_NOMEM;
        else
            x.buf[0] = '\0';
    }
    if (err != ANT_OK) {
        free(x.buf);
        return err;
    }
    *body = x.buf;
    *len = (size_t)x.bytes;
    return ANT_OK;
}

ant_err ant_http_get_fd(const char *url, const struct ant_http_opts *opts, int fd,
                        uint64_t cap, struct ant_http_result *result)
{
    struct xfer x;

    if (result != NULL)
        memset(result, 0, sizeof *result);
    if (url == NULL || fd < 0 || cap == 0)
        return ANT_ERR_INVALID_ARG;
    memset(&x, 0, sizeof x);
    x.fd = fd;
    x.cap = cap;
    return do_get(url, opts, &x, result);
}

/* ---- resumable download ----------------------------------------------------------- */

/* The copy of the body being assembled in the caller's fd: how much of it is there, how
 * long it is, and what identifies it on the server. */
struct resume_state {
    uint64_t have;
    uint64_t total; /* 0 = unknown: no resume */
    char etag[VALIDATOR_MAX + 1];    /* strong ETag, or "" */
    char lastmod[VALIDATOR_MAX + 1]; /* Last-Modified, or "" */
};

/* After a from-zero attempt: remember what identifies the body, if it can be resumed. */
static void record_validators(struct resume_state *rs, const struct xfer *x, uint64_t expect)
{
    rs->total = 0;
    rs->etag[0] = '\0';
    rs->lastmod[0] = '\0';
    if (x->status != 200)
        return;
    if (x->have_cl && !x->chunked)
        rs->total = (expect == 0 || x->cl == expect) ? x->cl : 0;
    else
        rs->total = expect;
    if (x->etag[0] == '"') /* strong; a weak W/"..." ETag cannot validate a range */
        memcpy(rs->etag, x->etag, sizeof rs->etag);
    memcpy(rs->lastmod, x->lastmod, sizeof rs->lastmod);
}

static bool cut_is_resumable(ant_err err)
{
    return err == ANT_OK || err == ANT_ERR_TRUNCATED || err == ANT_ERR_NETWORK ||
           err == ANT_ERR_TIMEOUT;
}

static ant_err reset_fd(int fd, uint64_t len)
{
    if (len > (uint64_t)INT64_MAX || ftruncate(fd, (off_t)len) != 0 ||
        lseek(fd, (off_t)len, SEEK_SET) != (off_t)len) {
        ant_log(ANT_LOG_ERROR, MOD, "Resetting download file failed: %s", strerror(errno));
        return ANT_ERR_IO;
    }
    return ANT_OK;
}

ant_err ant_http_get_fd_resume(const char *url, const struct ant_http_opts *opts, int fd,
                               uint64_t cap, uint64_t expect_len, unsigned max_resumes,
                               struct ant_http_result *result)
{
    struct ant_http_opts o;
    struct resume_state rs;
    struct ant_http_result r, total_r;
    struct xfer x;
    uint64_t deadline;
    unsigned resumes = 0; /* of the current copy */
    ant_err err;

    memset(&total_r, 0, sizeof total_r);
    if (result != NULL)
        memset(result, 0, sizeof *result);
    if (url == NULL || fd < 0 || cap == 0)
        return ANT_ERR_INVALID_ARG;
    if (opts != NULL)
        o = *opts;
    else
        ant_http_opts_init(&o);
    if (o.timeout_ms == 0)
        o.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (max_resumes > ANT_HTTP_MAX_RESUMES)
        max_resumes = ANT_HTTP_MAX_RESUMES;
    if (expect_len > cap)
        expect_len = 0; /* over the cap it would be refused anyway; no resume on its word */
    memset(&rs, 0, sizeof rs);
    deadline = now_ms() + o.timeout_ms;

    for (;;) {
        uint64_t t = now_ms();
        bool restart = false;

        memset(&x, 0, sizeof x);
        x.fd = fd;
        x.cap = cap - rs.have;
        x.want_etag = rs.etag;
        x.want_lastmod = rs.lastmod;
        if (rs.have > 0) {
            x.range_from = rs.have;
            x.want_total = rs.total;
            snprintf(x.range_hdr, sizeof x.range_hdr, "Range: bytes=%llu-",
                     (unsigned long long)rs.have);
            snprintf(x.ifrange_hdr, sizeof x.ifrange_hdr, "If-Range: %s",
                     rs.etag[0] != '\0' ? rs.etag : rs.lastmod);
        }
        err = reset_fd(fd, rs.have);
        if (err != ANT_OK)
            goto out;
        if (t >= deadline) {
            err = ANT_ERR_TIMEOUT;
            goto out;
        }
        o.timeout_ms = (unsigned)(deadline - t);
        /* do_get leaves the result untouched when it fails before a transfer starts. */
        memset(&r, 0, sizeof r);
        err = do_get(url, &o, &x, &r);
        total_r.status = r.status;
        total_r.bytes += r.bytes;
        total_r.redirects += r.redirects;
        if (rs.have == 0)
            record_validators(&rs, &x, expect_len);
        rs.have += x.bytes;

        if (x.stop_restart ||
            (x.range_from > 0 && err == ANT_ERR_HTTP_STATUS && x.status == 416)) {
            restart = true;
        } else if (!cut_is_resumable(err) ||
                   (err == ANT_OK && (rs.total == 0 || rs.have == rs.total))) {
            goto out; /* a failure that is not a cut; or complete (or of unknown length) */
        } else {
            /* Cut short: continue from what arrived if the body can be identified. */
            if (rs.total != 0 && rs.have > rs.total) {
                ant_log(ANT_LOG_WARN, MOD, "Body of %llu bytes is longer than its known length "
                                           "%llu url=%s",
                        (unsigned long long)rs.have, (unsigned long long)rs.total, url);
                err = ANT_ERR_PROTOCOL;
                goto out;
            }
            if (err == ANT_OK)
                err = ANT_ERR_TRUNCATED; /* close-delimited and short of the known length */
            if (rs.total == 0 || rs.have == 0 || rs.have >= rs.total ||
                (rs.etag[0] == '\0' && rs.lastmod[0] == '\0'))
                goto out;
            if (resumes >= max_resumes) {
                restart = true;
            } else {
                resumes++;
                total_r.resumes++;
                ant_log(ANT_LOG_INFO, MOD, "Download cut at %llu of %llu bytes; resuming "
                                           "(%u of %u) url=%s",
                        (unsigned long long)rs.have, (unsigned long long)rs.total,
                        resumes, max_resumes, url);
                continue;
            }
        }
        if (restart) {
            if (total_r.restarts >= 1) {
                if (err == ANT_OK || err == ANT_ERR_MISMATCH)
                    err = ANT_ERR_TRUNCATED;
                goto out;
            }
            total_r.restarts++;
            resumes = 0;
            ant_log(ANT_LOG_INFO, MOD, "Starting the download over from byte 0 url=%s", url);
            memset(&rs, 0, sizeof rs);
        }
    }
out:
    if (err == ANT_ERR_MISMATCH)
        err = ANT_ERR_PROTOCOL;
    if (result != NULL)
        *result = total_r;
    return err;
}
