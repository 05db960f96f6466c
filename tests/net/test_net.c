/*
 * Tests of src/net (the HTTP client) against tests/release/release_server.py on loopback:
 * the URL policy, both sinks, and each hostile behaviour of issue 4 §4 that concerns
 * fetching (endless body, 1 byte/s drip, Content-Length lies, error statuses, redirects to
 * plain http and in loops, a 50 MiB JSON), each with its error code and a time bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
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
};
ANT_TEST_MAIN(cases)
