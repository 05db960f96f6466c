/*
 * Tests of release fetching and the releases.json cache against release_server.py on
 * loopback: a real fetch and its hostile variants (50 MiB JSON, 500, 429), one fetch for
 * 8 concurrent processes sharing a cache dir, stale and future-dated entries refetched,
 * and corrupt, oversize, symlinked, FIFO and foreign cache files treated as misses
 * (refetched in bounded time, never a crash or hang). The server counts API requests at
 * /_count, and the log lines the devnet report relies on are counted too.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/relcache.h"
#include "ant/releases.h"
#include "release/test_server.h"
#include "test.h"

#define REPO "WithAutonomi/ant-node"
#define U "https://github.com/WithAutonomi/ant-node/releases/download/"

/* GitHub's shape, with fields we do not use (uploader, body, ids) kept in. */
static const char fixture[] =
    "[{\"url\":\"https://api.github.com/repos/x/y/releases/3\",\"id\":3,\"tag_name\":\"v0.3.0-rc.1\","
    "\"name\":\"rc\",\"draft\":false,\"prerelease\":true,\"published_at\":\"2026-11-01T00:00:00Z\","
    "\"body\":\"notes\",\"assets\":["
    "{\"name\":\"ant-node-cli-linux-x64.tar.gz\",\"size\":100,\"browser_download_url\":\"" U "v0.3.0-rc.1/ant-node-cli-linux-x64.tar.gz\",\"uploader\":{\"login\":\"bot\",\"id\":1}},"
    "{\"name\":\"ant-node-cli-linux-x64.tar.gz.sig\",\"size\":3309,\"browser_download_url\":\"" U "v0.3.0-rc.1/ant-node-cli-linux-x64.tar.gz.sig\"}]},"
    "{\"id\":2,\"tag_name\":\"v0.2.0\",\"draft\":false,\"prerelease\":false,\"published_at\":null,"
    "\"assets\":["
    "{\"name\":\"ant-node-cli-darwin-arm64.tar.gz\",\"size\":7,\"browser_download_url\":\"" U "v0.2.0/ant-node-cli-darwin-arm64.tar.gz\"},"
    "{\"name\":\"ant-node-cli-linux-x64.tar.gz\",\"size\":200,\"browser_download_url\":\"" U "v0.2.0/ant-node-cli-linux-x64.tar.gz\"},"
    "{\"name\":\"ant-node-cli-linux-x64.tar.gz.sig\",\"size\":3309,\"browser_download_url\":\"" U "v0.2.0/ant-node-cli-linux-x64.tar.gz.sig\"},"
    "{\"name\":\"ant-node-cli-linux-arm64.tar.gz\",\"size\":201,\"browser_download_url\":\"" U "v0.2.0/ant-node-cli-linux-arm64.tar.gz\"},"
    "{\"name\":\"ant-node-cli-linux-arm64.tar.gz.sig\",\"size\":3309,\"browser_download_url\":\"" U "v0.2.0/ant-node-cli-linux-arm64.tar.gz.sig\"}]},"
    "{\"id\":1,\"tag_name\":\"nightly\",\"draft\":false,\"prerelease\":true,\"assets\":[]}]";

static char workdir[] = "/tmp/ant-test-relcache-XXXXXX";
static bool workdir_made;
static char fixture_path[512], log_path[512];
static struct test_server srv;
static bool srv_up;

static void cleanup(void)
{
    char cmd[600];
    if (srv_up)
        test_server_stop(&srv);
    srv_up = false;
    if (workdir_made) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
        if (system(cmd) != 0)
            fprintf(stderr, "  could not remove %s\n", workdir);
    }
}

static bool write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* The shared server (serving `fixture`) and a log file, set up once. */
static bool setup(void)
{
    if (srv_up)
        return true;
    if (!workdir_made) {
        if (mkdtemp(workdir) == NULL)
            return false;
        workdir_made = true;
        atexit(cleanup);
    }
    snprintf(fixture_path, sizeof fixture_path, "%s/fixture.json", workdir);
    snprintf(log_path, sizeof log_path, "%s/log", workdir);
    CHECK(write_file(fixture_path, fixture, strlen(fixture)));
    const char *args[] = {"--releases", fixture_path, NULL};
    srv_up = test_server_start(&srv, args);
    CHECK(srv_up);
    return srv_up;
}

static long api_count(const struct test_server *s)
{
    char buf[256];
    if (!test_server_get(s, "/_count", buf, sizeof buf))
        return -1;
    return strtol(buf, NULL, 10);
}

/* A fresh cache directory under workdir, opened as the node would. */
static int new_cache_dir(const char *name, char *path, size_t cap)
{
    int dirfd = -1;
    snprintf(path, cap, "%s/%s", workdir, name);
    CHECK_OK(ant_fsx_open_trusted_dir(path, true, &dirfd));
    return dirfd;
}

static void opts_for(struct ant_relcache_opts *o, const struct test_server *s,
                     struct ant_http_opts *http)
{
    ant_http_opts_init(http);
    http->connect_timeout_ms = 3000;
    http->timeout_ms = 10000;
    http->stall_bytes_per_s = 100;
    http->stall_seconds = 2;
    ant_relcache_opts_init(o);
    o->api_url = s->base;
    o->repo = REPO;
    o->http = http;
    o->lock_timeout_ms = 20000;
}

/* Starts capturing log lines into log_path (truncated). */
static int log_begin(void)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    if (fd >= 0)
        ant_log_set_fd(fd);
    return fd;
}

static int count_in_log(const char *needle)
{
    static char buf[1 << 16];
    int n = 0;
    int fd = open(log_path, O_RDONLY | O_CLOEXEC);
    ssize_t r = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (r < 0)
        return -1;
    buf[r] = '\0';
    for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void log_end(int fd)
{
    ant_log_set_fd(STDERR_FILENO);
    if (fd >= 0)
        close(fd);
}

static void check_choice(const struct ant_release_list *list, const char *want)
{
    struct ant_release_criteria c;
    struct ant_release_choice ch;
    char v[ANT_SEMVER_TEXT_MAX];
    memset(&c, 0, sizeof c);
    CHECK_OK(ant_semver_parse("0.1.0", &c.running));
    c.channel = ANT_RELEASE_CHANNEL_STABLE;
    c.platform = "linux-x64";
    CHECK_OK(ant_releases_select(list, &c, &ch));
    CHECK(ant_semver_format(&ch.version, v, sizeof v));
    CHECK_STR(v, want);
    CHECK_STR(ch.asset_url, U "v0.2.0/ant-node-cli-linux-x64.tar.gz");
    CHECK_INT(ch.asset_size, 200);
    /* A release candidate is not for the beta channel either (ARCHITECTURE.md §10). */
    c.channel = ANT_RELEASE_CHANNEL_BETA;
    CHECK_OK(ant_releases_select(list, &c, &ch));
    CHECK(ant_semver_format(&ch.version, v, sizeof v));
    CHECK_STR(v, "0.2.0");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_fetch(void)
{
    struct ant_http_opts http;
    struct ant_relcache_opts o;
    struct ant_release_list *list = NULL;
    char url[ANT_HTTP_URL_MAX + 1];
    long status = 0;
    if (!setup())
        return;
    opts_for(&o, &srv, &http);
    CHECK_OK(ant_releases_api_url(srv.base, REPO, url, sizeof url));
    int lfd = log_begin();
    CHECK_OK(ant_releases_fetch(url, &http, &list, &status));
    log_end(lfd);
    CHECK_INT(status, 200);
    CHECK_INT(ant_releases_count(list), 2); /* "nightly" is not a version */
    if (list != NULL)
        check_choice(list, "0.2.0");
    ant_releases_free(list);
    CHECK_INT(count_in_log("Fetched release info url=http://127.0.0.1:"), 1);
}

/* Rewrites "fetched_at":N in the cache file to `when`. */
static bool set_fetched_at(int dirfd, int64_t when)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char *out = NULL;
    bool ok = false;
    if (ant_fsx_read_capped(dirfd, ANT_RELCACHE_FILE, ANT_RELCACHE_MAX, &data, &len) != ANT_OK)
        return false;
    char *p = strstr((char *)data, "\"fetched_at\":");
    if (p != NULL) {
        char *num = p + strlen("\"fetched_at\":");
        char *end = num;
        while (*end == '-' || (*end >= '0' && *end <= '9'))
            end++;
        out = malloc(len + 32);
        if (out != NULL) {
            int n = snprintf(out, len + 32, "%.*s%lld%s", (int)(num - (char *)data),
                             (char *)data, (long long)when, end);
            ok = n > 0 && ant_fsx_write_atomic(dirfd, ANT_RELCACHE_FILE, out, (size_t)n,
                                               0600) == ANT_OK;
        }
    }
    free(out);
    free(data);
    return ok;
}

static void test_fetch_hostile(void)
{
    static const struct {
        const char *mode;
        ant_err want;
        long status;
    } cases[] = {
        {"big-json", ANT_ERR_TOO_LARGE, 200},
        {"big-json-nocl", ANT_ERR_TOO_LARGE, 200},
        {"status/500", ANT_ERR_HTTP_STATUS, 500},
        {"status/429", ANT_ERR_HTTP_STATUS, 429},
        {"status/404", ANT_ERR_HTTP_STATUS, 404},
        {"cl-short", ANT_ERR_TRUNCATED, 200},
        {"ok", ANT_ERR_PARSE, 200}, /* "hello\n" is not JSON */
    };
    if (!setup())
        return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct test_server hs;
        struct ant_http_opts http;
        struct ant_relcache_opts o;
        struct ant_release_list *list = NULL;
        char dir[600];
        const char *args[] = {"--api-mode", cases[i].mode, NULL};
        if (!test_server_start(&hs, args)) {
            CHECK(false);
            continue;
        }
        opts_for(&o, &hs, &http);
        char name[64];
        snprintf(name, sizeof name, "hostile-%zu", i);
        int dirfd = new_cache_dir(name, dir, sizeof dir);
        double t0 = now_s();
        CHECK_MSG(ant_relcache_get(dirfd, &o, &list, NULL) == cases[i].want, "%s", cases[i].mode);
        CHECK(now_s() - t0 < 5.0);
        CHECK(list == NULL);
        CHECK_INT(api_count(&hs), 1);
        /* the failure is remembered: the next check gets it without asking the server */
        CHECK_MSG(ant_relcache_get(dirfd, &o, &list, NULL) == cases[i].want, "%s", cases[i].mode);
        CHECK(list == NULL);
        CHECK_INT(api_count(&hs), 1);
        /* ... until retry_s has passed */
        CHECK(set_fetched_at(dirfd, (int64_t)time(NULL) - ANT_RELCACHE_DEFAULT_RETRY_S - 1));
        CHECK_MSG(ant_relcache_get(dirfd, &o, &list, NULL) == cases[i].want, "%s", cases[i].mode);
        CHECK_INT(api_count(&hs), 2);
        long st_code = 0;
        char url[ANT_HTTP_URL_MAX + 1];
        CHECK_OK(ant_releases_api_url(hs.base, REPO, url, sizeof url));
        if (cases[i].want == ANT_ERR_HTTP_STATUS) {
            CHECK_ERR(ant_releases_fetch(url, &http, &list, &st_code), ANT_ERR_HTTP_STATUS);
            CHECK_INT(st_code, cases[i].status);
        }
        close(dirfd);
        test_server_stop(&hs);
    }
}

static void test_hit_after_fetch(void)
{
    struct ant_http_opts http;
    struct ant_relcache_opts o;
    struct ant_release_list *list = NULL;
    enum ant_relcache_source src = 0;
    char dir[600];
    if (!setup())
        return;
    opts_for(&o, &srv, &http);
    int dirfd = new_cache_dir("basic", dir, sizeof dir);
    long before = api_count(&srv);
    int lfd = log_begin();
    CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
    CHECK_INT(src, ANT_RELCACHE_FETCHED);
    ant_releases_free(list);
    list = NULL;
    CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
    CHECK_INT(src, ANT_RELCACHE_HIT);
    log_end(lfd);
    CHECK_INT(api_count(&srv) - before, 1);
    CHECK_INT(count_in_log("Fetched release info"), 1);
    CHECK_INT(count_in_log("Using cached release info"), 1);
    /* the cached list selects exactly what the fetched one did */
    CHECK_INT(ant_releases_count(list), 2);
    if (list != NULL)
        check_choice(list, "0.2.0");
    ant_releases_free(list);
    list = NULL;

    /* stored 0600, a regular file */
    struct stat st;
    CHECK(fstatat(dirfd, ANT_RELCACHE_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);

    /* another repository on the same cache dir: a miss, then its own entry */
    o.repo = "other/repo";
    CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
    CHECK_INT(src, ANT_RELCACHE_FETCHED);
    ant_releases_free(list);
    list = NULL;
    CHECK_INT(api_count(&srv) - before, 2);

    /* no cache dir: always a fetch */
    o.repo = REPO;
    CHECK_OK(ant_relcache_get(-1, &o, &list, &src));
    CHECK_INT(src, ANT_RELCACHE_FETCHED);
    ant_releases_free(list);
    CHECK_INT(api_count(&srv) - before, 3);
    o.repo = "not a repo";
    CHECK_ERR(ant_relcache_get(dirfd, &o, &list, &src), ANT_ERR_INVALID_ARG);
    close(dirfd);
}

/* N processes sharing a fresh cache dir check at once against server `s`; each must get
 * `want`. Returns the API requests the server saw. */
static long run_concurrent(const struct test_server *s, const char *name, ant_err want)
{
    enum { N = 8 };
    struct ant_http_opts http;
    struct ant_relcache_opts o;
    char dir[600];
    pid_t pids[N];
    int gate[2];
    opts_for(&o, s, &http);
    int dirfd = new_cache_dir(name, dir, sizeof dir);
    close(dirfd);
    long before = api_count(s);
    CHECK(pipe(gate) == 0);
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            /* Child: wait for the gate, then do what a node does. _exit skips atexit. */
            char c;
            struct ant_release_list *list = NULL;
            int fd = -1;
            close(gate[1]);
            if (read(gate[0], &c, 1) < 0)
                _exit(2);
            if (ant_fsx_open_trusted_dir(dir, false, &fd) != ANT_OK)
                _exit(3);
            ant_err err = ant_relcache_get(fd, &o, &list, NULL);
            int rc = err == want && (err != ANT_OK || ant_releases_count(list) == 2) ? 0 : 4;
            ant_releases_free(list);
            _exit(rc);
        }
    }
    close(gate[0]);
    close(gate[1]); /* all children start at once */
    for (int i = 0; i < N; i++) {
        int status = 0;
        CHECK(pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i]);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d status %d", i, status);
    }
    return api_count(s) - before;
}

static void test_concurrent_processes_fetch_once(void)
{
    if (!setup())
        return;
    int lfd = log_begin();
    CHECK_INT(run_concurrent(&srv, "concurrent", ANT_OK), 1);
    log_end(lfd);
    CHECK_INT(count_in_log("Fetched release info"), 1);
    CHECK_INT(count_in_log("Using cached release info"), 7);

    /* a rate-limited API is asked once per host too, not once per node */
    struct test_server limited;
    const char *args[] = {"--api-mode", "status/429", NULL};
    CHECK(test_server_start(&limited, args));
    if (limited.pid > 0) {
        CHECK_INT(run_concurrent(&limited, "concurrent-429", ANT_ERR_HTTP_STATUS), 1);
        test_server_stop(&limited);
    }
}

static void test_stale_and_future_refetch(void)
{
    struct ant_http_opts http;
    struct ant_relcache_opts o;
    struct ant_release_list *list = NULL;
    enum ant_relcache_source src = 0;
    char dir[600];
    int64_t now = (int64_t)time(NULL);
    if (!setup())
        return;
    opts_for(&o, &srv, &http);
    int dirfd = new_cache_dir("stale", dir, sizeof dir);
    long before = api_count(&srv);
    CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
    ant_releases_free(list);
    list = NULL;

    static const struct {
        int64_t offset;
        enum ant_relcache_source want;
    } cases[] = {
        {-3590, ANT_RELCACHE_HIT},      /* inside the TTL (slack for a loaded machine) */
        {-3601, ANT_RELCACHE_FETCHED},  /* just past it */
        {-86400 * 365, ANT_RELCACHE_FETCHED},
        {60, ANT_RELCACHE_HIT},         /* small clock skew */
        {ANT_RELCACHE_FUTURE_SKEW_S + 60, ANT_RELCACHE_FETCHED}, /* forged: future */
        {(int64_t)1 << 40, ANT_RELCACHE_FETCHED},
    };
    long fetches = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        now = (int64_t)time(NULL);
        CHECK(set_fetched_at(dirfd, now + cases[i].offset));
        CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
        CHECK_MSG(src == cases[i].want, "offset %lld: source %d", (long long)cases[i].offset,
                  (int)src);
        if (cases[i].want == ANT_RELCACHE_FETCHED)
            fetches++;
        ant_releases_free(list);
        list = NULL;
    }
    CHECK_INT(api_count(&srv) - before, fetches);

    /* A planted fetched_at far in the past must be a plain miss: computing its age as
     * now - fetched_at overflowed int64 (undefined behaviour; UBSan aborts the node). */
    static const int64_t hostile[] = {INT64_MIN, INT64_MIN + 1, -1};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        src = 0;
        CHECK(set_fetched_at(dirfd, hostile[i]));
        CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
        CHECK_MSG(src == ANT_RELCACHE_FETCHED, "fetched_at %lld: source %d",
                  (long long)hostile[i], (int)src);
        ant_releases_free(list);
        list = NULL;
    }

    /* a shorter TTL is honoured */
    CHECK(set_fetched_at(dirfd, now - 20));
    o.ttl_s = 10;
    CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
    CHECK_INT(src, ANT_RELCACHE_FETCHED);
    ant_releases_free(list);
    close(dirfd);
}

static void test_bad_cache_files_are_misses(void)
{
    struct ant_http_opts http;
    struct ant_relcache_opts o;
    char dir[600], path[700], target[700];
    if (!setup())
        return;
    opts_for(&o, &srv, &http);
    int dirfd = new_cache_dir("bad", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, ANT_RELCACHE_FILE);

    /* a good, fresh entry to plant behind a symlink */
    struct ant_release_list *list = NULL;
    CHECK_OK(ant_relcache_get(dirfd, &o, &list, NULL));
    ant_releases_free(list);
    list = NULL;
    snprintf(target, sizeof target, "%s/planted.json", workdir);
    CHECK(rename(path, target) == 0);

    size_t big = ANT_RELCACHE_MAX + 1;
    char *oversize = malloc(big);
    CHECK(oversize != NULL);
    if (oversize == NULL)
        return;
    memset(oversize, ' ', big);
    oversize[0] = '{';
    oversize[big - 1] = '}';

    enum { CORRUPT, OVERSIZE, SYMLINK, FIFO, WRONG_TYPES, NOT_OBJECT, EMPTY, DIRECTORY };
    static const char *const names[] = {"corrupt", "oversize", "symlink", "fifo",
                                        "wrong types", "not an object", "empty", "directory"};
    for (int k = CORRUPT; k <= DIRECTORY; k++) {
        enum ant_relcache_source src = 0;
        const char *wrong = "{\"format\":1,\"source\":5,\"fetched_at\":\"now\",\"releases\":{}}";
        unlink(path);
        switch (k) {
        case CORRUPT: CHECK(write_file(path, "{\"format\":1,\"sou", 16)); break;
        case OVERSIZE: CHECK(write_file(path, oversize, big)); break;
        case SYMLINK: CHECK(symlink(target, path) == 0); break;
        case FIFO: CHECK(mkfifo(path, 0600) == 0); break;
        case WRONG_TYPES: CHECK(write_file(path, wrong, strlen(wrong))); break;
        case NOT_OBJECT: CHECK(write_file(path, fixture, strlen(fixture))); break;
        case EMPTY: CHECK(write_file(path, "", 0)); break;
        case DIRECTORY: CHECK(mkdir(path, 0700) == 0); break;
        }
        long before = api_count(&srv);
        double t0 = now_s();
        CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
        CHECK_MSG(now_s() - t0 < 5.0, "%s", names[k]);
        CHECK_MSG(src == ANT_RELCACHE_FETCHED, "%s", names[k]);
        CHECK_MSG(ant_releases_count(list) == 2, "%s", names[k]);
        ant_releases_free(list);
        list = NULL;
        CHECK_INT(api_count(&srv) - before, 1);

        struct stat st;
        CHECK(lstat(path, &st) == 0);
        if (k == DIRECTORY) {
            CHECK(S_ISDIR(st.st_mode)); /* cannot be replaced: still used uncached */
            rmdir(path);
        } else {
            /* replaced by a good regular file (a symlink itself, never its target) */
            CHECK_MSG(S_ISREG(st.st_mode), "%s", names[k]);
            CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
            CHECK_MSG(src == ANT_RELCACHE_HIT, "%s", names[k]);
            ant_releases_free(list);
            list = NULL;
        }
    }
    /* the symlink's target was never written through */
    struct stat tst;
    CHECK(lstat(target, &tst) == 0 && S_ISREG(tst.st_mode));
    free(oversize);
    close(dirfd);
}

static void test_lock_timeout_still_fetches(void)
{
    struct ant_http_opts http;
    struct ant_relcache_opts o;
    struct ant_release_list *list = NULL;
    enum ant_relcache_source src = 0;
    char dir[600];
    int held = -1;
    if (!setup())
        return;
    opts_for(&o, &srv, &http);
    int dirfd = new_cache_dir("locked", dir, sizeof dir);
    /* a stuck holder of releases.lock (this process, through its own open file) */
    CHECK_OK(ant_fsx_lock(dirfd, ANT_RELCACHE_LOCK, 0, &held));
    o.lock_timeout_ms = 300;
    double t0 = now_s();
    CHECK_OK(ant_relcache_get(dirfd, &o, &list, &src));
    double dt = now_s() - t0;
    CHECK_MSG(dt >= 0.25 && dt < 3.0, "took %.2f s", dt);
    CHECK_INT(src, ANT_RELCACHE_FETCHED);
    CHECK_INT(ant_releases_count(list), 2);
    ant_releases_free(list);
    ant_fsx_unlock(held);
    close(dirfd);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_fetch),
    ANT_TEST(test_fetch_hostile),
    ANT_TEST(test_hit_after_fetch),
    ANT_TEST(test_concurrent_processes_fetch_once),
    ANT_TEST(test_stale_and_future_refetch),
    ANT_TEST(test_bad_cache_files_are_misses),
    ANT_TEST(test_lock_timeout_still_fetches),
};
ANT_TEST_MAIN(cases)
