/*
 * Tests of src/net (the HTTP client) against tests/release/release_server.py on loopback:
 * the URL policy, both sinks, and each hostile behaviour of issue 4 §4 that concerns
 * fetching (endless body, 1 byte/s drip, Content-Length lies, error statuses, redirects to
 * plain http and in loops, a 50 MiB JSON), each with its error code and a time bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/http.h"
#include "release/test_server.h"
#include "test.h"

#define MiB (1024u * 1024u)

static struct test_server srv;
static bool srv_up;

static void stop_server(void)
{
    if (srv_up)
        test_server_stop(&srv);
    srv_up = false;
}

/* One server for the whole file, stopped at exit whichever tests ran. */
static bool server(void)
{
    if (!srv_up) {
        srv_up = test_server_start(&srv, NULL);
        if (srv_up)
            atexit(stop_server);
    }
    CHECK(srv_up);
    return srv_up;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void url_of(char *buf, size_t cap, const char *path)
{
    snprintf(buf, cap, "%s%s", srv.base, path);
}

/* Fast-failing options for tests: hostile cases must end in seconds, not minutes. */
static void test_opts(struct ant_http_opts *o)
{
    ant_http_opts_init(o);
    o->connect_timeout_ms = 3000;
    o->timeout_ms = 15000;
    o->stall_bytes_per_s = 100;
    o->stall_seconds = 2;
}

static void test_url_policy(void)
{
    static const struct {
        const char *url;
        bool ok;
    } cases[] = {
        {"https://api.github.com/repos/a/b/releases", true},
        {"https://example.invalid:8443/x", true},
        {"http://127.0.0.1:8080/x", true},
        {"http://127.200.3.4/", true},
        {"http://localhost:1/", true},
        {"http://[::1]:8080/", true},
        {"HTTP://127.0.0.1/", true},
        {"http://example.invalid/", false},
        {"http://128.0.0.1/", false},
        {"http://10.0.0.1/", false},
        {"http://[::2]/", false},
        {"http://localhost.example.com/", false},
        {"ftp://127.0.0.1/", false},
        {"file:///etc/passwd", false},
        {"https://user:pw@example.com/", false},
        {"https://user@example.com/", false},
        {"https://", false},
        {"https://:443/", false},
        {"", false},
        {"not a url", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(ant_http_url_allowed(cases[i].url) == cases[i].ok, "%s", cases[i].url);
    CHECK(!ant_http_url_allowed(NULL));

    char long_url[ANT_HTTP_URL_MAX + 32];
    memset(long_url, 'a', sizeof long_url);
    memcpy(long_url, "https://h/", 10);
    long_url[sizeof long_url - 1] = '\0';
    CHECK(!ant_http_url_allowed(long_url));
    CHECK(ant_http_status_retryable(429) && ant_http_status_retryable(503));
    CHECK(!ant_http_status_retryable(404) && !ant_http_status_retryable(200));
}

static void test_get_mem_and_headers(void)
{
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[256];
    uint8_t *body = NULL;
    size_t len = 0;
    if (!server())
        return;
    test_opts(&o);
    url_of(url, sizeof url, "/ok");
    CHECK_OK(ant_http_get_mem(url, &o, 1024, &body, &len, &r));
    CHECK_INT(len, 6);
    CHECK_STR((char *)body, "hello\n");
    CHECK_INT(r.status, 200);
    free(body);

    /* Exactly at the cap is allowed; one byte over is not. */
    url_of(url, sizeof url, "/bytes/4096");
    CHECK_OK(ant_http_get_mem(url, &o, 4096, &body, &len, &r));
    CHECK_INT(len, 4096);
    free(body);
    CHECK_ERR(ant_http_get_mem(url, &o, 4095, &body, &len, &r), ANT_ERR_TOO_LARGE);
    CHECK(body == NULL && len == 0);

    o.github_api = true;
    url_of(url, sizeof url, "/echo-headers");
    CHECK_OK(ant_http_get_mem(url, &o, 8192, &body, &len, &r));
    if (body != NULL) {
        CHECK(strstr((char *)body, "User-Agent: ant-node/") != NULL);
        CHECK(strstr((char *)body, "Accept: application/vnd.github+json") != NULL);
    }
    free(body);
    o.github_api = false;
    CHECK_OK(ant_http_get_mem(url, &o, 8192, &body, &len, &r));
    if (body != NULL)
        CHECK(strstr((char *)body, "vnd.github") == NULL);
    free(body);
}

static void test_get_fd(void)
{
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[256], path[] = "/tmp/ant-test-net-XXXXXX";
    struct stat st;
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    unlink(path);
    if (!server()) {
        close(fd);
        return;
    }
    test_opts(&o);
    url_of(url, sizeof url, "/bytes/300000");
    CHECK_OK(ant_http_get_fd(url, &o, fd, 1 * MiB, &r));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 300000);
    CHECK_INT(r.bytes, 300000);

    /* chunked transfer coding, no Content-Length */
    CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
    url_of(url, sizeof url, "/chunked");
    CHECK_OK(ant_http_get_fd(url, &o, fd, 1 * MiB, &r));
    CHECK(fstat(fd, &st) == 0 && st.st_size == 30000);

    /* A failing sink is an I/O error, not a silent short file. */
    int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK_ERR(ant_http_get_fd(url, &o, ro, 1 * MiB, &r), ANT_ERR_IO);
    close(ro);
    close(fd);
}

static void test_endless_body_stops_at_cap(void)
{
    static const char *const paths[] = {"/endless", "/endless-chunked", "/big-json-nocl"};
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[256], path[] = "/tmp/ant-test-net-XXXXXX";
    struct stat st;
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    unlink(path);
    if (!server()) {
        close(fd);
        return;
    }
    test_opts(&o);
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        uint8_t *body = NULL;
        size_t len = 0;
        double t0 = now_s();
        url_of(url, sizeof url, paths[i]);
        CHECK_ERR(ant_http_get_mem(url, &o, 1 * MiB, &body, &len, &r), ANT_ERR_TOO_LARGE);
        CHECK(body == NULL);
        CHECK_MSG(r.bytes <= 1 * MiB, "%s: %llu bytes", paths[i], (unsigned long long)r.bytes);
        CHECK(now_s() - t0 < 5.0);

        CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
        CHECK_ERR(ant_http_get_fd(url, &o, fd, 2 * MiB, &r), ANT_ERR_TOO_LARGE);
        CHECK(fstat(fd, &st) == 0 && st.st_size <= (off_t)(2 * MiB));
    }
    close(fd);
}

static void test_drip_hits_stall_timeout(void)
{
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[256];
    uint8_t *body = NULL;
    size_t len = 0;
    if (!server())
        return;
    /* The default stall rate must catch a 1 byte/s drip; only the window is shortened. */
    ant_http_opts_init(&o);
    o.stall_seconds = 2;
    o.timeout_ms = 15000;
    url_of(url, sizeof url, "/drip");
    double t0 = now_s();
    CHECK_ERR(ant_http_get_mem(url, &o, 1 * MiB, &body, &len, &r), ANT_ERR_TIMEOUT);
    double dt = now_s() - t0;
    CHECK_MSG(dt >= 1.5 && dt < 6.0, "took %.1f s", dt);
    CHECK(r.bytes < 10);
}

static void test_content_length_lies(void)
{
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[256];
    uint8_t *body = NULL;
    size_t len = 0;
    if (!server())
        return;
    test_opts(&o);

    /* Declared above the cap: refused on the headers, no body byte delivered. */
    url_of(url, sizeof url, "/cl-over");
    double t0 = now_s();
    CHECK_ERR(ant_http_get_mem(url, &o, 1 * MiB, &body, &len, &r), ANT_ERR_TOO_LARGE);
    CHECK_INT(r.bytes, 0);
    CHECK(now_s() - t0 < 2.0);
    url_of(url, sizeof url, "/big-json");
    CHECK_ERR(ant_http_get_mem(url, &o, 1 * MiB, &body, &len, &r), ANT_ERR_TOO_LARGE);
    CHECK_INT(r.bytes, 0);

    url_of(url, sizeof url, "/cl-short");
    CHECK_ERR(ant_http_get_mem(url, &o, 1 * MiB, &body, &len, &r), ANT_ERR_TRUNCATED);
    CHECK(body == NULL);
    url_of(url, sizeof url, "/cl-long");
    CHECK_ERR(ant_http_get_mem(url, &o, 1 * MiB, &body, &len, &r), ANT_ERR_PROTOCOL);
    CHECK(body == NULL);
    url_of(url, sizeof url, "/cl-bad");
    CHECK_ERR(ant_http_get_mem(url, &o, 1 * MiB, &body, &len, &r), ANT_ERR_PROTOCOL);
    url_of(url, sizeof url, "/cl-dup");
    CHECK_ERR(ant_http_get_mem(url, &o, 1 * MiB, &body, &len, &r), ANT_ERR_PROTOCOL);
}

static void test_error_statuses(void)
{
    static const long codes[] = {500, 404, 429, 503, 403};
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[256], path[32];
    uint8_t *body = NULL;
    size_t len = 0;
    if (!server())
        return;
    test_opts(&o);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        snprintf(path, sizeof path, "/status/%ld", codes[i]);
        url_of(url, sizeof url, path);
        CHECK_ERR(ant_http_get_mem(url, &o, 1024, &body, &len, &r), ANT_ERR_HTTP_STATUS);
        CHECK_INT(r.status, codes[i]);
        CHECK_INT(r.bytes, 0); /* the error body is never delivered */
        CHECK(body == NULL);
    }
}

static void test_redirects(void)
{
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[512], path[256];
    uint8_t *body = NULL;
    size_t len = 0;
    if (!server())
        return;
    test_opts(&o);
    o.connect_timeout_ms = 5000;

    /* To plain http on a non-loopback host: refused before connecting. 192.0.2.1 is
     * TEST-NET-1; a connection attempt would take the whole connect timeout. */
    static const char *const bad[] = {"http://192.0.2.1/x", "http://example.invalid/x",
                                      "ftp://127.0.0.1/x", "file:///etc/passwd"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/redirect?to=%s", bad[i]);
        url_of(url, sizeof url, path);
        double t0 = now_s();
        CHECK_ERR(ant_http_get_mem(url, &o, 1024, &body, &len, &r), ANT_ERR_INSECURE_URL);
        CHECK_MSG(now_s() - t0 < 1.0, "%s", bad[i]);
        CHECK_INT(r.status, 302);
    }

    /* Loopback to loopback over plain http is what the tests themselves need. */
    snprintf(path, sizeof path, "/redirect?to=http://localhost:%d/ok", srv.port);
    url_of(url, sizeof url, path);
    CHECK_OK(ant_http_get_mem(url, &o, 1024, &body, &len, &r));
    CHECK_INT(r.redirects, 1);
    free(body);

    url_of(url, sizeof url, "/chain/5");
    CHECK_OK(ant_http_get_mem(url, &o, 1024, &body, &len, &r));
    CHECK_INT(r.redirects, 5);
    free(body);
    url_of(url, sizeof url, "/chain/6");
    CHECK_ERR(ant_http_get_mem(url, &o, 1024, &body, &len, &r), ANT_ERR_HTTP_STATUS);

    url_of(url, sizeof url, "/loop");
    double t0 = now_s();
    CHECK_ERR(ant_http_get_mem(url, &o, 1024, &body, &len, &r), ANT_ERR_HTTP_STATUS);
    CHECK_INT(r.redirects, 5);
    CHECK(now_s() - t0 < 5.0);

    /* A lower per-request limit is honoured. */
    o.max_redirects = 1;
    url_of(url, sizeof url, "/chain/2");
    CHECK_ERR(ant_http_get_mem(url, &o, 1024, &body, &len, &r), ANT_ERR_HTTP_STATUS);
}

static void test_https_only(void)
{
    struct ant_http_opts o;
    struct ant_http_result r;
    uint8_t *body = NULL;
    size_t len = 0;
    char path[] = "/tmp/ant-test-net-XXXXXX";
    test_opts(&o);
    double t0 = now_s();
    CHECK_ERR(ant_http_get_mem("http://example.invalid/", &o, 1024, &body, &len, &r),
              ANT_ERR_INSECURE_URL);
    CHECK_ERR(ant_http_get_mem("http://192.0.2.1/", &o, 1024, &body, &len, &r),
              ANT_ERR_INSECURE_URL);
    CHECK(now_s() - t0 < 1.0);
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK_ERR(ant_http_get_fd("http://example.invalid/a.tar.gz", &o, fd, 1024, &r),
              ANT_ERR_INSECURE_URL);
    close(fd);

    /* An explicit CA file that does not exist is a clear error, not a fallback. */
    o.ca_file = "/nonexistent/ca.pem";
    CHECK_ERR(ant_http_get_mem("https://127.0.0.1:1/", &o, 1024, &body, &len, &r),
              ANT_ERR_NETWORK);
    CHECK_ERR(ant_http_get_mem(NULL, &o, 1024, &body, &len, &r), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_http_get_mem("https://h/", &o, 0, &body, &len, &r), ANT_ERR_INVALID_ARG);
}

/* ---- HTTPS against the same server with a throw-away certificate ------------------ */

static struct test_server tls_srv;
static bool tls_up;
static char tls_dir[] = "/tmp/ant-test-net-tls-XXXXXX";
static char tls_cert[600];
static bool tls_dir_made;

static void stop_tls(void)
{
    char cmd[700];
    if (tls_up)
        test_server_stop(&tls_srv);
    tls_up = false;
    if (tls_dir_made) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tls_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "  could not remove %s\n", tls_dir);
    }
}

/* A self-signed P-256 certificate for 127.0.0.1 and localhost made with the openssl CLI
 * (installed by scripts/setup.sh), and the server speaking HTTPS with it. */
static bool tls_server(void)
{
    char cmd[2048], key[600];
    if (tls_up)
        return true;
    if (!tls_dir_made) {
        if (mkdtemp(tls_dir) == NULL)
            return false;
        tls_dir_made = true;
        atexit(stop_tls);
    }
    snprintf(tls_cert, sizeof tls_cert, "%s/cert.pem", tls_dir);
    snprintf(key, sizeof key, "%s/key.pem", tls_dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
             "-keyout '%s' -out '%s' >/dev/null 2>&1",
             key, tls_cert);
    CHECK(system(cmd) == 0);
    const char *args[] = {"--tls-cert", tls_cert, "--tls-key", key, NULL};
    tls_up = test_server_start(&tls_srv, args);
    CHECK(tls_up);
    if (tls_up)
        snprintf(tls_srv.base, sizeof tls_srv.base, "https://127.0.0.1:%d", tls_srv.port);
    return tls_up;
}

static void test_https(void)
{
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[512], path[256];
    uint8_t *body = NULL;
    size_t len = 0;
    if (!tls_server() || !server())
        return;
    test_opts(&o);
    o.ca_file = tls_cert;

    /* The body ends with a TCP close and no TLS close_notify, as with many real servers. */
    snprintf(url, sizeof url, "%s/bytes/100000", tls_srv.base);
    CHECK_OK(ant_http_get_mem(url, &o, 1024 * 1024, &body, &len, &r));
    CHECK_INT(len, 100000);
    free(body);
    snprintf(url, sizeof url, "https://localhost:%d/ok", tls_srv.port);
    CHECK_OK(ant_http_get_mem(url, &o, 1024, &body, &len, &r));
    free(body);

    /* Over TLS a length lie is caught the same way. */
    snprintf(url, sizeof url, "%s/cl-short", tls_srv.base);
    CHECK_ERR(ant_http_get_mem(url, &o, 1024 * 1024, &body, &len, &r), ANT_ERR_TRUNCATED);
    snprintf(url, sizeof url, "%s/cl-long", tls_srv.base);
    CHECK_ERR(ant_http_get_mem(url, &o, 1024 * 1024, &body, &len, &r), ANT_ERR_PROTOCOL);
    snprintf(url, sizeof url, "%s/cl-over", tls_srv.base);
    CHECK_ERR(ant_http_get_mem(url, &o, 1024 * 1024, &body, &len, &r), ANT_ERR_TOO_LARGE);
    CHECK_INT(r.bytes, 0);

    /* HTTPS on loopback may go to plain http on loopback, never elsewhere. */
    snprintf(path, sizeof path, "%s/redirect?to=http://127.0.0.1:%d/ok", tls_srv.base, srv.port);
    CHECK_OK(ant_http_get_mem(path, &o, 1024, &body, &len, &r));
    free(body);
    snprintf(path, sizeof path, "%s/redirect?to=http://192.0.2.1/ok", tls_srv.base);
    CHECK_ERR(ant_http_get_mem(path, &o, 1024, &body, &len, &r), ANT_ERR_INSECURE_URL);

    /* An untrusted certificate fails the handshake: the system bundle does not know it. */
    o.ca_file = NULL;
    snprintf(url, sizeof url, "%s/ok", tls_srv.base);
    CHECK_ERR(ant_http_get_mem(url, &o, 1024, &body, &len, &r), ANT_ERR_NETWORK);
    CHECK(body == NULL);
}

/* ---- resumable downloads (issue 19) ------------------------------------------------ */

static unsigned resume_ids;

static uint8_t pattern_byte(uint64_t i)
{
    return (uint8_t)((31u * i + (i >> 9)) & 255u);
}

/* The file holds exactly the server's `size` pattern bytes. */
static bool file_is_pattern(int fd, uint64_t size)
{
    uint8_t buf[65536];
    uint64_t off = 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != size || lseek(fd, 0, SEEK_SET) != 0)
        return false;
    while (off < size) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return false;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != pattern_byte(off + (uint64_t)i))
                return false;
        }
        off += (uint64_t)n;
    }
    return true;
}

/* One /resume download into a fresh private file; *fdp is left open for the caller
 * (closed by it) and `id` names the server's log of this download. */
static ant_err resume_get(const char *query, char *id, size_t idcap, uint64_t cap,
                          uint64_t expect, struct ant_http_result *r, int *fdp)
{
    struct ant_http_opts o;
    char url[512], path[] = "/tmp/ant-test-net-XXXXXX";
    int fd = mkstemp(path);
    *fdp = fd;
    if (fd < 0)
        return ANT_ERR_IO;
    unlink(path);
    snprintf(id, idcap, "r%u", ++resume_ids);
    snprintf(url, sizeof url, "%s/resume?id=%s&%s", srv.base, id, query);
    test_opts(&o);
    return ant_http_get_fd_resume(url, &o, fd, cap, expect, ANT_HTTP_MAX_RESUMES, r);
}

/* The server's log of one download: its lines in `buf`, their count returned. */
static int resume_log(const char *id, char *buf, size_t cap)
{
    char path[64];
    int lines = 0;
    snprintf(path, sizeof path, "/_resume-log?id=%s", id);
    if (!test_server_get(&srv, path, buf, cap))
        return -1;
    for (const char *p = buf; *p; p++)
        lines += *p == '\n';
    return lines;
}

static void test_resume_after_random_cuts(void)
{
    char id[32], q[128], log[4096];
    struct ant_http_result r;
    int fd;
    if (!server())
        return;
    /* Five seeds, so the cuts land at different offsets; each download is cut three times
     * and completes with three ranged continuations, costing exactly one body. */
    for (unsigned seed = 1; seed <= 5; seed++) {
        snprintf(q, sizeof q, "size=1048576&cuts=3&seed=%u", seed);
        CHECK_OK(resume_get(q, id, sizeof id, 2 * MiB, 0, &r, &fd));
        CHECK(file_is_pattern(fd, 1048576));
        CHECK_INT(r.resumes, 3);
        CHECK_INT(r.restarts, 0);
        CHECK_INT(r.bytes, 1048576);
        CHECK_INT(resume_log(id, log, sizeof log), 4);
        CHECK(strncmp(log, "- 200\n", 6) == 0);
        CHECK(strstr(log, "bytes=") != NULL && strstr(log, " 206\n") != NULL);
        close(fd);
    }
    /* Last-Modified alone is a validator too; the caller's expected length stands in. */
    CHECK_OK(resume_get("size=300000&cuts=2&mode=lastmod", id, sizeof id, 1 * MiB, 300000, &r,
                        &fd));
    CHECK(file_is_pattern(fd, 300000));
    CHECK_INT(r.resumes, 2);
    close(fd);
}

static void test_resume_budget_then_start_over(void)
{
    char id[32], log[4096];
    struct ant_http_result r;
    int fd;
    if (!server())
        return;
    /* Four cuts: three continuations, then the fourth cut starts over, which completes. */
    CHECK_OK(resume_get("size=200000&cuts=4&seed=7", id, sizeof id, 1 * MiB, 0, &r, &fd));
    CHECK(file_is_pattern(fd, 200000));
    CHECK_INT(r.resumes, 3);
    CHECK_INT(r.restarts, 1);
    CHECK_INT(resume_log(id, log, sizeof log), 5);
    CHECK(strstr(log, " 206\n- 200\n") != NULL);
    close(fd);
    /* A server that always cuts costs a bounded number of requests: 1 + 3, twice. */
    CHECK_ERR(resume_get("size=200000&cuts=1000&seed=8", id, sizeof id, 1 * MiB, 0, &r, &fd),
              ANT_ERR_TRUNCATED);
    CHECK_INT(resume_log(id, log, sizeof log), 8);
    CHECK_INT(r.restarts, 1);
    close(fd);
}

static void test_resume_changed_etag_starts_over(void)
{
    char id[32], log[4096];
    struct ant_http_result r;
    int fd;
    if (!server())
        return;
    /* The copy changed between attempts and the server honours If-Range: its 200 to the
     * ranged request is not appended; the body is fetched again from byte 0. */
    CHECK_OK(resume_get("size=200000&cuts=1&mode=etag-change", id, sizeof id, 1 * MiB, 0, &r,
                        &fd));
    CHECK(file_is_pattern(fd, 200000));
    CHECK_INT(r.restarts, 1);
    CHECK_INT(resume_log(id, log, sizeof log), 3);
    CHECK(strstr(log, " 200\n- 200\n") != NULL && strstr(log, "bytes=") != NULL);
    close(fd);
    /* A server that ignores If-Range and sends 206 of a new copy: the changed ETag is seen
     * and the mixed body never assembled. */
    CHECK_OK(resume_get("size=200000&cuts=1&mode=etag-change-ignore", id, sizeof id, 1 * MiB, 0,
                        &r, &fd));
    CHECK(file_is_pattern(fd, 200000));
    CHECK_INT(r.restarts, 1);
    CHECK_INT(resume_log(id, log, sizeof log), 3);
    CHECK(strstr(log, " 206\n- 200\n") != NULL);
    close(fd);
}

static void test_resume_wrong_range_refused(void)
{
    static const char *const modes[] = {"bad-start", "bad-total"};
    char id[32], q[128], url[256];
    struct ant_http_opts o;
    struct ant_http_result r;
    int fd;
    if (!server())
        return;
    for (size_t i = 0; i < 2; i++) {
        snprintf(q, sizeof q, "size=200000&cuts=1&mode=%s", modes[i]);
        CHECK_ERR(resume_get(q, id, sizeof id, 1 * MiB, 0, &r, &fd), ANT_ERR_PROTOCOL);
        close(fd);
    }
    /* 206 to a request that asked for no range, through both fd GETs. */
    CHECK_ERR(resume_get("size=1000&mode=always-206", id, sizeof id, 1 * MiB, 0, &r, &fd),
              ANT_ERR_PROTOCOL);
    CHECK(lseek(fd, 0, SEEK_END) == 0);
    snprintf(url, sizeof url, "%s/resume?id=x206&size=1000&mode=always-206", srv.base);
    test_opts(&o);
    CHECK_ERR(ant_http_get_fd(url, &o, fd, 1 * MiB, &r), ANT_ERR_PROTOCOL);
    CHECK(lseek(fd, 0, SEEK_END) == 0);
    close(fd);
}

static void test_resume_over_cap_refused(void)
{
    char id[32], log[4096];
    struct ant_http_result r;
    struct stat st;
    int fd;
    if (!server())
        return;
    /* The continuation never ends: it stops at what is left of the cap, in total. */
    CHECK_ERR(resume_get("size=200000&cuts=1&mode=over", id, sizeof id, 200000, 0, &r, &fd),
              ANT_ERR_TOO_LARGE);
    CHECK(fstat(fd, &st) == 0 && st.st_size <= 200000);
    CHECK(r.bytes <= 200000);
    close(fd);
    /* A body longer than the cap (the caller's listed length) is refused before a byte. */
    CHECK_ERR(resume_get("size=200000", id, sizeof id, 199999, 0, &r, &fd), ANT_ERR_TOO_LARGE);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 0);
    /* A body without a length that runs past the caller's expected length (within the cap)
     * is not taken as that body. */
    {
        struct ant_http_opts o;
        char url[256];
        CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
        snprintf(url, sizeof url, "%s/chunked", srv.base);
        test_opts(&o);
        CHECK_ERR(ant_http_get_fd_resume(url, &o, fd, 1 * MiB, 20000, 3, &r), ANT_ERR_PROTOCOL);
    }
    close(fd);
    fd = -1;
    /* A server whose length disagrees with the caller's expected length is not resumed. */
    CHECK_ERR(resume_get("size=200000&cuts=1", id, sizeof id, 1 * MiB, 150000, &r, &fd),
              ANT_ERR_TRUNCATED);
    CHECK_INT(resume_log(id, log, sizeof log), 1);
    close(fd);
}

static void test_resume_needs_strong_validator(void)
{
    static const char *const modes[] = {"none", "weak"};
    char id[32], q[128], log[4096];
    struct ant_http_result r;
    int fd;
    if (!server())
        return;
    for (size_t i = 0; i < 2; i++) {
        snprintf(q, sizeof q, "size=200000&cuts=1&mode=%s", modes[i]);
        CHECK_ERR(resume_get(q, id, sizeof id, 1 * MiB, 200000, &r, &fd), ANT_ERR_TRUNCATED);
        CHECK_INT(resume_log(id, log, sizeof log), 1);
        CHECK_INT(r.resumes, 0);
        close(fd);
    }
}

/* A link that hangs mid-body instead of closing ends in the stall timeout; that too is
 * continued, within the one request deadline. */
static void test_resume_after_stall(void)
{
    char id[32];
    struct ant_http_result r;
    int fd;
    if (!server())
        return;
    CHECK_OK(resume_get("size=300000&cuts=1&stall=1&seed=3", id, sizeof id, 1 * MiB, 0, &r,
                        &fd));
    CHECK(file_is_pattern(fd, 300000));
    CHECK_INT(r.resumes, 1);
    close(fd);
}

/* Release assets are redirects (GitHub to its storage host): each continuation follows
 * the redirect again under the same policy, and the Range reaches the final host. */
static void test_resume_through_redirect(void)
{
    struct ant_http_opts o;
    struct ant_http_result r;
    char url[512], log[4096], path[] = "/tmp/ant-test-net-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0 || !server())
        goto out;
    unlink(path);
    snprintf(url, sizeof url,
             "%s/redirect?to=%%2Fresume%%3Fid%%3Drd%%26size%%3D400000%%26cuts%%3D2%%26seed%%3D4",
             srv.base);
    test_opts(&o);
    CHECK_OK(ant_http_get_fd_resume(url, &o, fd, 1 * MiB, 400000, ANT_HTTP_MAX_RESUMES, &r));
    CHECK(file_is_pattern(fd, 400000));
    CHECK_INT(r.resumes, 2);
    CHECK_INT(r.redirects, 3);
    CHECK_INT(resume_log("rd", log, sizeof log), 3);
out:
    if (fd >= 0)
        close(fd);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_url_policy),
    ANT_TEST(test_get_mem_and_headers),
    ANT_TEST(test_get_fd),
    ANT_TEST(test_endless_body_stops_at_cap),
    ANT_TEST(test_drip_hits_stall_timeout),
    ANT_TEST(test_content_length_lies),
    ANT_TEST(test_error_statuses),
    ANT_TEST(test_redirects),
    ANT_TEST(test_https_only),
    ANT_TEST(test_https),
    ANT_TEST(test_resume_after_random_cuts),
    ANT_TEST(test_resume_budget_then_start_over),
    ANT_TEST(test_resume_changed_etag_starts_over),
    ANT_TEST(test_resume_wrong_range_refused),
    ANT_TEST(test_resume_over_cap_refused),
    ANT_TEST(test_resume_needs_strong_validator),
    ANT_TEST(test_resume_after_stall),
    ANT_TEST(test_resume_through_redirect),
};
ANT_TEST_MAIN(cases)
