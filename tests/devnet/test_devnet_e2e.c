/*
 * End-to-end devnet scenarios, driven through the ant-devnet program exactly as an operator
 * (or scripts/devnet-demo.sh) runs it, with real ant-node binaries of two versions, real
 * nginx over TLS, and the real upgrade engine in every node:
 *
 *   test_rollout            3 hosts x 5 nodes, publish the next version, wait for the
 *                           rollout, and require every report row to PASS; then `down`
 *                           leaves no process.
 *   test_kill_and_rollback  a node SIGKILLed while its upgrade is scheduled comes back
 *                           (supervisor restart) and still upgrades on its schedule, every
 *                           row PASS; then a release whose binary exits at start is rolled
 *                           back on every host (rollback rows PASS); then the supervisor is
 *                           killed as a failed step would leave it, and `down` still leaves
 *                           no process.
 *   test_netns              2 hosts x 2 nodes with --netns (root only, else skipped with
 *                           exit 77): every report row PASS, every node in its host's
 *                           network namespace (one per host, distinct) on the host's own
 *                           address; the supervisor is then SIGKILLed and `down` still
 *                           leaves no process, namespace or link of this devnet.
 *   test_staged             2 hosts x 5 nodes, a staged rollout steered by the signed
 *                           cursor (ARCHITECTURE.md §10): 0 % → nobody, 20 % → exactly the
 *                           candidates, halt + 50 % → nobody more, resume → exactly the
 *                           50 % candidates, 100 % → all (20 and 50 raised to the next
 *                           percent that selects someone new when the random seed selects
 *                           nobody); prints the per-step table and how long the halt took
 *                           to reach every node; then a release published after the good
 *                           one and yanked is never installed.
 *   test_minimum            2 hosts x 2 nodes with a 600 s window: the next version
 *                           scheduled far ahead, then made the minimum version: every node
 *                           upgrades at its next check, well inside the window.
 *
 * Paths and versions come from the environment CMake sets (tests/devnet/CMakeLists.txt).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/devnet.h"
#include "ant/meta.h"
#include "ant/upgrade.h"
#include "devnet/devnet_int.h"
#include "devnet/fleet.h"
#include "test.h"

extern char **environ;

/* The rollout test uses the demo's timings; the fault scenario a shorter window so its
 * three phases fit in a few minutes. Set once per test, before `up`. */
static int window_s = 60, interval_s = 10, ttl_s = 30;
#define TRIAL_S 15

static const char *env_or_skip(const char *name)
{
    const char *v = getenv(name);
    CHECK_MSG(v != NULL && v[0] != '\0', "%s not set (run through ctest)", name);
    return v != NULL ? v : "";
}

/* Runs argv to completion; stdout/stderr go to the test log. Returns the exit code. */
static int run(const char *const *argv)
{
    fprintf(stderr, "$");
    for (size_t i = 0; argv[i] != NULL; i++)
        fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "\n");
    fflush(NULL);
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], NULL, NULL, (char *const *)argv, environ) != 0)
        return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

struct fleet_view {
    struct dn_config cfg;
    struct dn_fleet f;
};

static bool view_open(struct fleet_view *v, const char *dir)
{
    memset(v, 0, sizeof *v);
    if (dn_config_load(dir, &v->cfg) != ANT_OK)
        return false;
    return dn_fleet_init(&v->f, v->cfg.hosts, v->cfg.nodes) == ANT_OK;
}

/* Waits until every node has logged `kind` for `version` (NULL: any); false on timeout. */
static bool wait_all(struct fleet_view *v, enum dn_ev_kind kind, const char *version,
                     double timeout_s)
{
    double end = dn_now() + timeout_s;
    while (dn_now() < end) {
        if (dn_fleet_read(&v->cfg, &v->f, NULL) != ANT_OK)
            return false;
        unsigned have = 0;
        for (unsigned i = 0; i < v->cfg.hosts * v->cfg.nodes; i++)
            have += dn_fleet_last(&v->f.node[i], kind, version) != NULL;
        if (have == v->cfg.hosts * v->cfg.nodes)
            return true;
        sleep_s(0.5);
    }
    return false;
}

/* report.json's row statuses: *fails is the number of FAIL rows; prints each FAIL. */
static json_object *read_report(const char *dir, int *fails, int *rows)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_object *o = json_object_from_file(path);
    json_object *arr = NULL;
    *fails = 0;
    *rows = 0;
    if (o == NULL || !json_object_object_get_ex(o, "rows", &arr))
        return o;
    *rows = (int)json_object_array_length(arr);
    for (int i = 0; i < *rows; i++) {
        json_object *r = json_object_array_get_idx(arr, (size_t)i), *s = NULL, *c = NULL, *val = NULL;
        json_object_object_get_ex(r, "status", &s);
        json_object_object_get_ex(r, "check", &c);
        json_object_object_get_ex(r, "value", &val);
        if (s == NULL || strcmp(json_object_get_string(s), "PASS") != 0) {
            (*fails)++;
            fprintf(stderr, "  FAIL row: %s: %s\n", c ? json_object_get_string(c) : "?",
                    val ? json_object_get_string(val) : "");
        }
    }
    return o;
}

static const char *status_of(json_object *o, const char *check)
{
    json_object *arr = NULL;
    if (o == NULL || !json_object_object_get_ex(o, "rows", &arr))
        return "missing";
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *r = json_object_array_get_idx(arr, i), *c = NULL, *s = NULL;
        if (json_object_object_get_ex(r, "check", &c) &&
            strcmp(json_object_get_string(c), check) == 0 &&
            json_object_object_get_ex(r, "status", &s))
            return json_object_get_string(s);
    }
    return "missing";
}

static int devnet_cmd(const char *dir, const char *cmd, const char *a1, const char *a2,
                      const char *a3, const char *a4);

/* The row `check` of report.json (for `version`, or any when NULL), or NULL. */
static json_object *row_of(json_object *o, const char *check, const char *version)
{
    json_object *arr = NULL;
    if (o == NULL || !json_object_object_get_ex(o, "rows", &arr))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *r = json_object_array_get_idx(arr, i), *c = NULL, *v = NULL;
        if (!json_object_object_get_ex(r, "check", &c) ||
            strcmp(json_object_get_string(c), check) != 0)
            continue;
        if (version == NULL || (json_object_object_get_ex(r, "version", &v) &&
                                strcmp(json_object_get_string(v), version) == 0))
            return r;
    }
    return NULL;
}

/* Runs `ant-devnet report`, requires every row to PASS and each of `need` to be there
 * (PASS), and prints those rows' values; returns report.json (the caller frees it). */
static json_object *report_passes(const char *dir, const char *const need[], size_t nneed)
{
    CHECK_INT(devnet_cmd(dir, "report", NULL, NULL, NULL, NULL), 0);
    int fails = 0, rows = 0;
    json_object *o = read_report(dir, &fails, &rows);
    CHECK(rows >= 10);
    CHECK_INT(fails, 0);
    fprintf(stderr, "ant-devnet report:\n");
    for (size_t i = 0; i < nneed; i++) {
        json_object *r = row_of(o, need[i], NULL), *val = NULL, *st = NULL;
        CHECK_MSG(r != NULL, "report has no row '%s'", need[i]);
        if (r == NULL)
            continue;
        json_object_object_get_ex(r, "value", &val);
        json_object_object_get_ex(r, "status", &st);
        CHECK_STR(json_object_get_string(st), "PASS");
        fprintf(stderr, "  %s: %s: %s\n", need[i], json_object_get_string(st),
                json_object_get_string(val));
    }
    return o;
}

static void print_file(const char *dir, const char *name)
{
    char path[PATH_MAX], buf[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(f);
}

/* True if some process other than us executes a file under `dir` or has `dir` in its
 * command line (nginx is started with its configuration path there). */
static bool any_process_under(const char *dir)
{
    DIR *d = opendir("/proc");
    bool found = false;
    struct dirent *de;
    size_t dlen = strlen(dir);
    while (d != NULL && !found && (de = readdir(d)) != NULL) {
        char path[300], buf[8192];
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || atoi(de->d_name) == (int)getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%s/exe", de->d_name);
        ssize_t n = readlink(path, buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = '\0';
            if (strncmp(buf, dir, dlen) == 0 && buf[dlen] == '/')
                found = true;
        }
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\0')
                buf[i] = ' ';
        }
        if (n > 0) {
            buf[n] = '\0';
            char needle[PATH_MAX + 8];
            snprintf(needle, sizeof needle, "%s/nginx", dir);
            if (strstr(buf, needle) != NULL)
                found = true;
        }
    }
    if (d != NULL)
        closedir(d);
    return found;
}

static void check_no_process_left(const char *dir)
{
    unsigned left = 99;
    CHECK_OK(ant_devnet_count_processes(dir, &left));
    CHECK_INT(left, 0);
    /* independent of the devnet's own marks */
    CHECK(!any_process_under(dir));
}

static bool with_netns;

static void up(const char *dir, const char *hosts, const char *nodes)
{
    const char *devnet = env_or_skip("ANT_DEVNET_BIN");
    char window[16], interval[16], ttl[16], trial[16];
    snprintf(window, sizeof window, "%d", window_s);
    snprintf(interval, sizeof interval, "%d", interval_s);
    snprintf(ttl, sizeof ttl, "%d", ttl_s);
    snprintf(trial, sizeof trial, "%d", TRIAL_S);
    const char *argv[] = {devnet, "up", "--dir", dir, "--binary", env_or_skip("ANT_NODE_BIN"),
                          "--hosts", hosts, "--nodes-per-host", nodes, "--rollout-window",
                          window, "--check-interval", interval, "--release-ttl", ttl,
                          "--trial-period", trial, with_netns ? "--netns" : NULL, NULL};
    CHECK_INT(run(argv), 0);
}

static int devnet_cmd(const char *dir, const char *cmd, const char *a1, const char *a2,
                      const char *a3, const char *a4)
{
    const char *argv[] = {env_or_skip("ANT_DEVNET_BIN"), cmd, "--dir", dir, a1, a2, a3, a4, NULL};
    return run(argv);
}

static void down_and_check(const char *dir)
{
    CHECK_INT(devnet_cmd(dir, "down", NULL, NULL, NULL, NULL), 0);
    check_no_process_left(dir);
}

static void make_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/ant-devnet-e2e-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

/* Publishes `version` from `binary`, watches until every node runs it, then waits for
 * every node to confirm its trial so the report sees a finished rollout. */
static bool roll_out(const char *dir, struct fleet_view *v, const char *binary,
                     const char *version)
{
    CHECK_INT(devnet_cmd(dir, "publish", "--binary", binary, "--release-version", version), 0);
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", window_s + ttl_s + interval_s + 120);
    const char *argv[] = {env_or_skip("ANT_DEVNET_BIN"), "watch", "--dir", dir,
                          "--release-version", version, "--timeout", timeout, NULL};
    int rc = run(argv);
    CHECK_INT(rc, 0);
    bool confirmed = wait_all(v, EV_TRIAL_CONFIRMED, version, TRIAL_S + 60);
    CHECK_MSG(confirmed, "not every node confirmed %s", version);
    return rc == 0 && confirmed;
}

static void test_rollout(void)
{
    char dir[64];
    struct fleet_view v;
    make_dir(dir, sizeof dir);
    up(dir, "3", "5");
    CHECK(view_open(&v, dir));
    const char *next = env_or_skip("ANT_NEXT_VERSION");
    if (roll_out(dir, &v, env_or_skip("ANT_NODE_NEXT_BIN"), next)) {
        int rc = devnet_cmd(dir, "report", NULL, NULL, NULL, NULL);
        CHECK_INT(rc, 0);
        int fails = 0, rows = 0;
        json_object *o = read_report(dir, &fails, &rows);
        CHECK(rows >= 10);
        CHECK_INT(fails, 0);
        CHECK_STR(status_of(o, "release metadata fresh on every node (newest root)"), "PASS");
        json_object_put(o);
    }
    if (ant_test_failures > 0) {
        print_file(dir, "report.md");
        print_file(dir, "supervisor.log");
    }
    dn_fleet_free(&v.f);
    CHECK(any_process_under(dir));
    down_and_check(dir);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/* The node to kill: on the host whose first scheduled restart is furthest away (so no node
 * there has replaced the binary yet), the node scheduled last. */
static unsigned pick_victim(struct fleet_view *v, const char *version, double *victim_at,
                            double *host_first_at)
{
    unsigned best = 0;
    double best_host_min = -1;
    for (unsigned h = 0; h < v->cfg.hosts; h++) {
        double min_at = 1e300, max_at = -1;
        unsigned max_i = h * v->cfg.nodes;
        for (unsigned n = 0; n < v->cfg.nodes; n++) {
            unsigned i = h * v->cfg.nodes + n;
            const struct dn_ev *s = dn_fleet_last(&v->f.node[i], EV_SCHEDULED, version);
            if (s == NULL)
                continue;
            min_at = s->at < min_at ? s->at : min_at;
            if (s->at > max_at) {
                max_at = s->at;
                max_i = i;
            }
        }
        if (min_at > best_host_min) {
            best_host_min = min_at;
            best = max_i;
            *victim_at = max_at;
        }
    }
    *host_first_at = best_host_min;
    return best;
}

static void test_kill_and_rollback(void)
{
    char dir[64];
    struct fleet_view v;
    window_s = 40;
    interval_s = 5;
    ttl_s = 20;
    make_dir(dir, sizeof dir);
    up(dir, "3", "3");
    CHECK(view_open(&v, dir));
    const char *next = env_or_skip("ANT_NEXT_VERSION");
    const char *bad = env_or_skip("ANT_BAD_VERSION");

    /* 1. kill a node while its upgrade is scheduled */
    CHECK_INT(devnet_cmd(dir, "publish", "--binary", env_or_skip("ANT_NODE_NEXT_BIN"),
                         "--release-version", next),
              0);
    CHECK(wait_all(&v, EV_SCHEDULED, next, ttl_s + interval_s + 30));
    double victim_at = 0, host_first = 0;
    unsigned victim = pick_victim(&v, next, &victim_at, &host_first);
    fprintf(stderr, "killing h%u/n%u: its restart is due in %.0fs, its host's first in %.0fs\n",
            victim / v.cfg.nodes, victim % v.cfg.nodes, victim_at - dn_now(), host_first - dn_now());
    struct dn_state *st = NULL;
    CHECK_OK(dn_state_load(dir, &st));
    pid_t killed = st != NULL ? st->node[victim].pid : 0;
    CHECK(killed > 0 && kill(killed, SIGKILL) == 0);
    free(st);
    st = NULL;
    /* the supervisor brings it back with a new pid and counts the restart */
    bool back = false;
    for (int i = 0; i < 40 && !back; i++) {
        sleep_s(0.25);
        if (dn_state_load(dir, &st) == ANT_OK) {
            back = st->node[victim].pid > 0 && st->node[victim].pid != killed &&
                   st->node[victim].restarts == 1;
            free(st);
            st = NULL;
        }
    }
    CHECK_MSG(back, "killed node was not restarted");

    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", window_s + ttl_s + interval_s + 120);
    const char *watch[] = {env_or_skip("ANT_DEVNET_BIN"), "watch", "--dir", dir,
                           "--release-version", next, "--timeout", timeout, "--quiet", NULL};
    CHECK_INT(run(watch), 0);
    CHECK(wait_all(&v, EV_TRIAL_CONFIRMED, next, TRIAL_S + 60));
    /* it kept its schedule across the kill: it restarted into the new version no earlier
     * than the time it had been given before it was killed */
    CHECK_OK(dn_fleet_read(&v.cfg, &v.f, NULL));
    const struct dn_ev *r = dn_fleet_last(&v.f.node[victim], EV_RESTARTING, next);
    CHECK(r != NULL && r->t >= victim_at - 1.0);
    CHECK_INT(devnet_cmd(dir, "report", NULL, NULL, NULL, NULL), 0);
    int fails = 0, rows = 0;
    json_object *o = read_report(dir, &fails, &rows);
    CHECK_INT(fails, 0);
    json_object_put(o);
    CHECK_OK(dn_state_load(dir, &st));
    if (st != NULL)
        CHECK_INT(st->node[victim].restarts, 2); /* the kill and the upgrade */
    free(st);
    st = NULL;

    /* 2. a release whose binary exits at start: rolled back on every host */
    CHECK_INT(devnet_cmd(dir, "publish", "--binary", env_or_skip("ANT_BAD_NODE_BIN"),
                         "--release-version", bad),
              0);
    /* The first node on each host whose time comes installs it, fails three trial starts
     * and rolls the host back; nodes that look after that skip the version (marked bad
     * beside the binary) without scheduling it. Wait for a rollback on every host, then
     * until every node has seen the release and passed any time it was given. */
    double published = dn_now();
    double deadline = published + ttl_s + interval_s + window_s + 60;
    bool all_hosts = false;
    while (!all_hosts && dn_now() < deadline) {
        sleep_s(1);
        CHECK_OK(dn_fleet_read(&v.cfg, &v.f, NULL));
        all_hosts = true;
        for (unsigned h = 0; h < v.cfg.hosts; h++) {
            bool rb = false;
            for (unsigned n = 0; n < v.cfg.nodes; n++)
                rb = rb || dn_fleet_last(&v.f.node[h * v.cfg.nodes + n], EV_ROLLBACK, bad) != NULL;
            all_hosts = all_hosts && rb;
        }
    }
    CHECK_MSG(all_hosts, "not every host rolled %s back", bad);
    while (dn_now() < published + ttl_s + interval_s + window_s + 10)
        sleep_s(1);
    const char *watch_back[] = {env_or_skip("ANT_DEVNET_BIN"), "watch", "--dir", dir,
                                "--release-version", next, "--timeout", "60", "--quiet", NULL};
    CHECK_INT(run(watch_back), 0);
    int rc = devnet_cmd(dir, "report", NULL, NULL, NULL, NULL);
    o = read_report(dir, &fails, &rows);
    static const char *const must_pass[] = {
        "rollback: failed version rolled back on every host",
        "rollback: failed version never reinstalled",
        "rollback: every node back on the previous version",
        "binaries on the new version, statically linked where built so",
        "peer id before = after",
    };
    for (size_t i = 0; i < sizeof must_pass / sizeof must_pass[0]; i++)
        CHECK_MSG(strcmp(status_of(o, must_pass[i]), "PASS") == 0, "%s: %s", must_pass[i],
                  status_of(o, must_pass[i]));
    fprintf(stderr, "report after rollback: exit %d, %d of %d rows FAIL\n", rc, fails, rows);
    json_object_put(o);
    print_file(dir, "report.md");

    /* 3. a failed step: the supervisor dies without cleaning up, a watch times out; `down`
     * must still stop every node and nginx */
    CHECK_OK(dn_state_load(dir, &st));
    if (st != NULL) {
        CHECK(kill(st->supervisor_pid, SIGKILL) == 0);
        sleep_s(0.5);
        unsigned left = 0;
        CHECK_OK(ant_devnet_count_processes(dir, &left));
        CHECK_MSG(left >= v.cfg.hosts * v.cfg.nodes, "orphans before down: %u", left);
        CHECK(any_process_under(dir)); /* the independent check sees them too */
    }
    free(st);
    const char *watch_fail[] = {env_or_skip("ANT_DEVNET_BIN"), "watch", "--dir", dir,
                                "--release-version", "99.0.0", "--timeout", "1", "--quiet", NULL};
    CHECK(run(watch_fail) != 0);
    if (ant_test_failures > 0)
        print_file(dir, "supervisor.log");
    dn_fleet_free(&v.f);
    down_and_check(dir);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/* The network namespace of process pid ("net:[inode]"), or "" when it is gone. */
static void net_ns_of(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    ssize_t n = readlink(path, buf, cap - 1);
    buf[n > 0 ? (size_t)n : 0] = '\0';
}

/* Counts entries of `dirpath` whose name starts with `prefix`. */
static unsigned count_prefixed(const char *dirpath, const char *prefix)
{
    DIR *d = opendir(dirpath);
    unsigned n = 0;
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL)
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    if (d != NULL)
        closedir(d);
    return n;
}

/* True if the node's log says it listens on `ip`. */
static bool node_listens_on(const char *dir, unsigned h, unsigned n, const char *ip)
{
    char path[PATH_MAX], needle[64], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/hosts/h%u/logs/n%u.log", dir, h, n);
    snprintf(needle, sizeof needle, " listen=%s:", ip);
    if (dn_read_file(path, 16u << 20, &text, &len) != ANT_OK)
        return false;
    bool found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void test_netns(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: --netns needs root\n");
        exit(77);
    }
    if (system("ip netns list >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: `ip netns` is not available\n");
        exit(77);
    }
    char dir[64];
    struct fleet_view v;
    with_netns = true;
    window_s = 20;
    interval_s = 5;
    ttl_s = 10;
    make_dir(dir, sizeof dir);
    up(dir, "2", "2");
    CHECK(view_open(&v, dir));
    CHECK(v.cfg.netns);
    const char *next = env_or_skip("ANT_NEXT_VERSION");
    if (roll_out(dir, &v, env_or_skip("ANT_NODE_NEXT_BIN"), next)) {
        CHECK_INT(devnet_cmd(dir, "report", NULL, NULL, NULL, NULL), 0);
        int fails = 0, rows = 0;
        json_object *o = read_report(dir, &fails, &rows);
        CHECK(rows >= 10);
        CHECK_INT(fails, 0);
        json_object_put(o);
    }
    /* One namespace per host: equal within a host, different across hosts, never ours. */
    struct dn_state *st = NULL;
    CHECK_OK(dn_state_load(dir, &st));
    char mine[64], first[2][64];
    net_ns_of(getpid(), mine, sizeof mine);
    CHECK(mine[0] != '\0');
    for (unsigned h = 0; st != NULL && h < 2; h++) {
        char hip[24];
        CHECK_OK(dn_netns_host_ip(&v.cfg, h, hip, sizeof hip));
        for (unsigned n = 0; n < 2; n++) {
            char ns[64];
            net_ns_of(st->node[h * 2 + n].pid, ns, sizeof ns);
            fprintf(stderr, "h%u/n%u pid %d %s\n", h, n, (int)st->node[h * 2 + n].pid, ns);
            CHECK(ns[0] != '\0');
            CHECK(strcmp(ns, mine) != 0);
            if (n == 0)
                snprintf(first[h], sizeof first[h], "%s", ns);
            else
                CHECK_STR(ns, first[h]);
            CHECK_MSG(node_listens_on(dir, h, n, hip), "h%u/n%u does not listen on %s", h, n,
                      hip);
        }
    }
    CHECK(strcmp(first[0], first[1]) != 0);
    char ns_prefix[32], link_prefix[32];
    snprintf(ns_prefix, sizeof ns_prefix, "antdn-%s-", v.cfg.net_id);
    snprintf(link_prefix, sizeof link_prefix, "adn%s", v.cfg.net_id);
    CHECK_INT(count_prefixed("/run/netns", ns_prefix), 2);
    CHECK_INT(count_prefixed("/sys/class/net", link_prefix), 3); /* bridge + 2 veth ends */
    if (ant_test_failures > 0) {
        print_file(dir, "report.md");
        print_file(dir, "supervisor.log");
    }
    /* a failed step: the supervisor dies without cleaning up; `down` still removes all */
    if (st != NULL)
        CHECK(kill(st->supervisor_pid, SIGKILL) == 0);
    free(st);
    sleep_s(0.5);
    dn_fleet_free(&v.f);
    down_and_check(dir);
    CHECK_INT(count_prefixed("/run/netns", ns_prefix), 0);
    CHECK_INT(count_prefixed("/sys/class/net", link_prefix), 0);
    char list[PATH_MAX];
    snprintf(list, sizeof list, "%s/%s", dir, DN_NETNS_FILE);
    CHECK(access(list, F_OK) != 0);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/* How many nodes' last metadata check (metadata_state.json) says `state` on root `root`
 * (0: any root version). */
static unsigned nodes_in_state(const struct fleet_view *v, const char *dir, const char *state,
                               unsigned long long root)
{
    unsigned n = 0;
    for (unsigned h = 0; h < v->cfg.hosts; h++) {
        for (unsigned k = 0; k < v->cfg.nodes; k++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/hosts/h%u/nodes/n%u/metadata_state.json", dir, h, k);
            json_object *o = json_object_from_file(path), *s = NULL, *r = NULL;
            if (o != NULL && json_object_object_get_ex(o, "state", &s) &&
                strcmp(json_object_get_string(s), state) == 0 &&
                json_object_object_get_ex(o, "root_version", &r) &&
                (root == 0 || (unsigned long long)json_object_get_int64(r) == root))
                n++;
            json_object_put(o);
        }
    }
    return n;
}

static bool wait_state(const struct fleet_view *v, const char *dir, const char *state,
                       unsigned long long root, double timeout_s)
{
    double end = dn_now() + timeout_s;
    unsigned want = v->cfg.hosts * v->cfg.nodes, have = 0;
    while (dn_now() < end) {
        have = nodes_in_state(v, dir, state, root);
        if (have == want)
            return true;
        sleep_s(1);
    }
    fprintf(stderr, "  %u/%u nodes %s (root %llu)\n", have, want, state, root);
    return false;
}

/*
 * Signed release metadata (ARCHITECTURE.md §9) across a live fleet: every node fresh from
 * the start; the targets, timestamp and root keys rotated through root versions 2-4 and
 * the next release, signed only by the new keys, taken by every node (the report's row on
 * root version 4); then a freeze: a release published while the timestamp is no longer
 * re-signed is never installed and every node goes `stale`; a thaw makes them fresh.
 */
static void test_metadata(void)
{
    char dir[64];
    struct fleet_view v;
    window_s = 10;
    interval_s = 5;
    ttl_s = 5;
    make_dir(dir, sizeof dir);
    up(dir, "2", "2");
    CHECK(view_open(&v, dir));
    CHECK(wait_state(&v, dir, "fresh", 1, 60));
    CHECK_INT(devnet_cmd(dir, "rotate", "--role", "targets", NULL, NULL), 0);
    CHECK_INT(devnet_cmd(dir, "rotate", "--role", "timestamp", NULL, NULL), 0);
    CHECK_INT(devnet_cmd(dir, "rotate", "--role", "root", NULL, NULL), 0);
    CHECK(wait_state(&v, dir, "fresh", 4, 60));
    const char *next = env_or_skip("ANT_NEXT_VERSION");
    if (roll_out(dir, &v, env_or_skip("ANT_NODE_NEXT_BIN"), next)) {
        CHECK_INT(devnet_cmd(dir, "report", NULL, NULL, NULL, NULL), 0);
        int fails = 0, rows = 0;
        json_object *o = read_report(dir, &fails, &rows);
        CHECK_INT(fails, 0);
        CHECK_STR(status_of(o, "release metadata fresh on every node (newest root)"), "PASS");
        json_object_put(o);
    }
    /* The freeze: the bad release is listed in targets, but no timestamp names it. */
    CHECK_INT(devnet_cmd(dir, "freeze", NULL, NULL, NULL, NULL), 0);
    CHECK_INT(devnet_cmd(dir, "publish", "--binary", env_or_skip("ANT_BAD_NODE_BIN"),
                         "--release-version", env_or_skip("ANT_BAD_VERSION")),
              0);
    CHECK(wait_state(&v, dir, "stale", 4, 60 + 4.0 * interval_s + 30));
    devnet_cmd(dir, "report", NULL, NULL, NULL, NULL); /* exit 3: the bad version's rows */
    int fails = 0, rows = 0;
    json_object *o = read_report(dir, &fails, &rows);
    CHECK_STR(status_of(o, "metadata frozen: every node stale, no install"), "PASS");
    json_object_put(o);
    CHECK(dn_fleet_read(&v.cfg, &v.f, NULL) == ANT_OK);
    for (unsigned i = 0; i < v.cfg.hosts * v.cfg.nodes; i++)
        CHECK(dn_fleet_last(&v.f.node[i], EV_DOWNLOADING, env_or_skip("ANT_BAD_VERSION")) ==
              NULL);
    CHECK_INT(devnet_cmd(dir, "thaw", NULL, NULL, NULL, NULL), 0);
    CHECK(wait_state(&v, dir, "fresh", 4, 60));
    if (ant_test_failures > 0) {
        print_file(dir, "report.md");
        print_file(dir, "supervisor.log");
    }
    dn_fleet_free(&v.f);
    down_and_check(dir);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/* The seed and cursor of the rollout the devnet's newest timestamp carries. */
static bool repo_rollout(const char *dir, struct ant_meta_rollout *ro)
{
    char path[PATH_MAX];
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_timestamp *ts = NULL;
    size_t plen = 0;
    memset(ro, 0, sizeof *ro);
    if (dn_meta_dir(dir, path, sizeof path) != ANT_OK)
        return false;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    if (ant_meta_repo_load(fd, ANT_META_ROLE_TIMESTAMP, 0, &env, NULL, 0) == ANT_OK) {
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        if (p != NULL && ant_meta_timestamp_parse(p, plen, &ts) == ANT_OK)
            ant_meta_timestamp_rollout(ts, ro);
    }
    ant_meta_timestamp_free(ts);
    ant_meta_envelope_free(env);
    close(fd);
    return ro->present;
}

/* A node's last scheduling check as it wrote it for `upgrade status` (rollout_status.json). */
struct node_rollout {
    bool ok, halted, candidate;
    char cursor[16];
};

static struct node_rollout node_rollout_of(const char *dir, const struct fleet_view *v, unsigned i)
{
    struct node_rollout r;
    char path[PATH_MAX];
    memset(&r, 0, sizeof r);
    snprintf(path, sizeof path, "%s/hosts/h%u/nodes/n%u/rollout_status.json", dir,
             i / v->cfg.nodes, i % v->cfg.nodes);
    json_object *o = json_object_from_file(path), *h = NULL, *c = NULL, *cur = NULL;
    if (o != NULL && json_object_object_get_ex(o, "halted", &h) &&
        json_object_object_get_ex(o, "candidate", &c) &&
        json_object_object_get_ex(o, "cursor", &cur)) {
        r.ok = true;
        r.halted = json_object_get_boolean(h);
        r.candidate = json_object_get_boolean(c);
        snprintf(r.cursor, sizeof r.cursor, "%s",
                 json_object_get_type(cur) == json_type_string ? json_object_get_string(cur) : "");
    }
    json_object_put(o);
    return r;
}

#define STAGED_NODES 10

/* Which nodes a cursor of `ppm` millionths (UINT32_MAX: the current timestamp's) selects,
 * computed here from each node's logged peer id and the signed seed with the node's own
 * function. */
static unsigned expected_candidates(const char *dir, struct fleet_view *v, uint32_t ppm,
                                    bool cand[])
{
    struct ant_meta_rollout ro;
    unsigned n = 0;
    CHECK(repo_rollout(dir, &ro));
    if (ppm != UINT32_MAX)
        ro.cursor_ppm = ppm;
    CHECK_OK(dn_fleet_read(&v->cfg, &v->f, NULL));
    for (unsigned i = 0; i < v->cfg.hosts * v->cfg.nodes; i++) {
        const struct dn_ev *st = dn_fleet_last(&v->f.node[i], EV_STARTED, NULL);
        cand[i] = false;
        CHECK(st != NULL && st->peer[0] != '\0');
        if (st != NULL && ro.cursor_ppm > 0)
            CHECK_OK(ant_upgrade_rollout_candidate(ro.seed, st->peer, ro.cursor_ppm, &cand[i]));
        n += cand[i];
    }
    return n;
}

/* The step's cursor: `pct` when it selects more than `above` nodes, else the smallest whole
 * percent that does (the seed is random: 20 % of 10 nodes is nobody one time in nine, and
 * a step that selects nobody new would test nothing). */
static unsigned step_cursor(const char *dir, struct fleet_view *v, unsigned pct, unsigned above)
{
    bool c[STAGED_NODES];
    while (pct < 100 && expected_candidates(dir, v, pct * 10000u, c) <= above)
        pct++;
    return pct;
}

/* Nodes that restarted into `version`; up[i] says which. */
static unsigned upgraded(struct fleet_view *v, const char *version, bool up_[])
{
    unsigned n = 0;
    CHECK_OK(dn_fleet_read(&v->cfg, &v->f, NULL));
    for (unsigned i = 0; i < v->cfg.hosts * v->cfg.nodes; i++) {
        up_[i] = dn_fleet_last(&v->f.node[i], EV_RESTARTING, version) != NULL;
        n += up_[i];
    }
    return n;
}

/* Waits until every node still below `version` reports `cursor` in its last check. */
static bool wait_cursor_seen(const char *dir, struct fleet_view *v, const char *version,
                             const char *cursor, double timeout_s)
{
    double end = dn_now() + timeout_s;
    bool up_[STAGED_NODES];
    while (dn_now() < end) {
        upgraded(v, version, up_);
        bool all = true;
        for (unsigned i = 0; i < v->cfg.hosts * v->cfg.nodes && all; i++) {
            struct node_rollout r = node_rollout_of(dir, v, i);
            all = up_[i] || (r.ok && strcmp(r.cursor, cursor) == 0);
        }
        if (all)
            return true;
        sleep_s(0.5);
    }
    return false;
}

struct step_row {
    const char *step;
    unsigned candidates, upgraded, extra, missing;
};

/* After a step: the nodes upgraded so far must be exactly `want` (the candidates). */
static void step_check(struct fleet_view *v, const char *version, const bool want[],
                       struct step_row *row)
{
    bool up_[STAGED_NODES];
    row->upgraded = upgraded(v, version, up_);
    row->candidates = 0;
    row->extra = row->missing = 0;
    for (unsigned i = 0; i < v->cfg.hosts * v->cfg.nodes; i++) {
        row->candidates += want[i];
        row->extra += up_[i] && !want[i];
        row->missing += want[i] && !up_[i];
    }
    CHECK_MSG(row->extra == 0 && row->missing == 0, "%s: %u upgraded, %u candidates, %u not "
              "candidates upgraded, %u candidates did not", row->step, row->upgraded,
              row->candidates, row->extra, row->missing);
}

/* Waits until the upgraded nodes are `want` (timeout), then one more check interval so a
 * node that should not have upgraded has had the time to. */
static void step_wait(struct fleet_view *v, const char *version, const bool want[],
                      double timeout_s)
{
    double end = dn_now() + timeout_s;
    bool up_[STAGED_NODES];
    while (dn_now() < end) {
        upgraded(v, version, up_);
        bool same = true;
        for (unsigned i = 0; i < v->cfg.hosts * v->cfg.nodes; i++)
            same = same && up_[i] == want[i];
        if (same)
            break;
        sleep_s(0.5);
    }
    sleep_s(interval_s + 1);
}

/*
 * A staged rollout (ARCHITECTURE.md §10, OPERATIONS.md "Steering a rollout") on 2 hosts x 5
 * nodes: the next version published at cursor 0, then 20 %, a halt, 50 % while halted, a
 * resume and 100 %. After each step the nodes that upgraded must be exactly the ones the
 * signed seed and cursor select (computed here from each node's peer id with
 * ant_upgrade_rollout_candidate, and equal to what each node reports); while halted none.
 */
static void test_staged(void)
{
    char dir[64];
    struct fleet_view v;
    struct step_row rows[5];
    size_t nrows = 0;
    bool want[STAGED_NODES], none[STAGED_NODES] = {false}, up_[STAGED_NODES];
    double t_start = dn_now();
    window_s = 12;
    interval_s = 3;
    ttl_s = 3;
    make_dir(dir, sizeof dir);
    up(dir, "2", "5");
    CHECK(view_open(&v, dir));
    CHECK_INT(v.cfg.hosts * v.cfg.nodes, STAGED_NODES);
    CHECK(wait_all(&v, EV_STARTED, NULL, 30));
    const char *next = env_or_skip("ANT_NEXT_VERSION");
    const double reach = ttl_s + 2.0 * interval_s + 20; /* a timestamp reaching every node */
    const double settle = ttl_s + interval_s + window_s + TRIAL_S + 30;

    /* 0 %: published, nobody starts (the cursor follows the publish within a second; a node
     * that saw the release without a cursor would still wait out its window) */
    CHECK_INT(devnet_cmd(dir, "publish", "--binary", env_or_skip("ANT_NODE_NEXT_BIN"),
                         "--release-version", next),
              0);
    CHECK_INT(devnet_cmd(dir, "rollout", "--release-version", next, "--cursor", "0"), 0);
    CHECK(wait_cursor_seen(dir, &v, next, "0", reach));
    sleep_s(window_s + interval_s);
    rows[nrows].step = "cursor 0";
    step_check(&v, next, none, &rows[nrows++]);

    /* 20 %: exactly the candidates */
    char c1[8], c2[8], step1[32], step2[32], step3[32];
    snprintf(c1, sizeof c1, "%u", step_cursor(dir, &v, 20, 0));
    CHECK_INT(devnet_cmd(dir, "rollout", "--cursor", c1, NULL, NULL), 0);
    expected_candidates(dir, &v, UINT32_MAX, want);
    CHECK(wait_cursor_seen(dir, &v, next, c1, reach));
    upgraded(&v, next, up_);
    for (unsigned i = 0; i < STAGED_NODES; i++) {
        struct node_rollout r = node_rollout_of(dir, &v, i);
        if (!up_[i])
            CHECK_MSG(r.candidate == want[i], "node %u reports candidate=%d, computed %d", i,
                      r.candidate, want[i]);
    }
    step_wait(&v, next, want, settle);
    snprintf(step1, sizeof step1, "cursor %s", c1);
    rows[nrows].step = step1;
    step_check(&v, next, want, &rows[nrows++]);

    /* halt: measured from the command to the last node still on the old version reporting
     * halted in its last check */
    bool before[STAGED_NODES];
    upgraded(&v, next, before);
    double t_halt = dn_now();
    CHECK_INT(devnet_cmd(dir, "rollout", "--halt", NULL, NULL, NULL), 0);
    double seen[STAGED_NODES] = {0}, last = 0;
    unsigned waiting = 0;
    for (unsigned i = 0; i < STAGED_NODES; i++)
        waiting += !before[i];
    while (waiting > 0 && dn_now() < t_halt + reach) {
        for (unsigned i = 0; i < STAGED_NODES; i++) {
            if (before[i] || seen[i] > 0)
                continue;
            struct node_rollout r = node_rollout_of(dir, &v, i);
            if (r.ok && r.halted) {
                seen[i] = dn_now();
                last = seen[i];
                waiting--;
            }
        }
        sleep_s(0.1);
    }
    CHECK_MSG(waiting == 0, "%u nodes never reported the halt", waiting);
    double halt_s = last - t_halt;
    /* 50 % while halted: nobody more */
    snprintf(c2, sizeof c2, "%u", step_cursor(dir, &v, 50, rows[1].candidates));
    CHECK_INT(devnet_cmd(dir, "rollout", "--cursor", c2, NULL, NULL), 0);
    CHECK(wait_cursor_seen(dir, &v, next, c2, reach));
    sleep_s(window_s + 2.0 * interval_s);
    snprintf(step2, sizeof step2, "halt, cursor %s", c2);
    rows[nrows].step = step2;
    step_check(&v, next, before, &rows[nrows++]);
    rows[nrows - 1].candidates = expected_candidates(dir, &v, UINT32_MAX, want);

    /* resume: exactly the 50 % candidates */
    CHECK_INT(devnet_cmd(dir, "rollout", "--resume", NULL, NULL, NULL), 0);
    expected_candidates(dir, &v, UINT32_MAX, want);
    for (unsigned i = 0; i < STAGED_NODES; i++)
        CHECK_MSG(!before[i] || want[i], "node %u chosen at %s %% but not at %s %%", i, c1, c2);
    step_wait(&v, next, want, reach + settle);
    snprintf(step3, sizeof step3, "resume, cursor %s", c2);
    rows[nrows].step = step3;
    step_check(&v, next, want, &rows[nrows++]);

    /* 100 %: everybody */
    CHECK_INT(devnet_cmd(dir, "rollout", "--cursor", "100", NULL, NULL), 0);
    CHECK_INT(expected_candidates(dir, &v, UINT32_MAX, want), STAGED_NODES);
    step_wait(&v, next, want, reach + settle);
    rows[nrows].step = "cursor 100";
    step_check(&v, next, want, &rows[nrows++]);
    CHECK(wait_all(&v, EV_TRIAL_CONFIRMED, next, TRIAL_S + 60));

    /* A release published after the good one and yanked: never installed. Without the yank
     * every node would take it within the window (no cursor names it). */
    const char *bad = env_or_skip("ANT_BAD_VERSION");
    CHECK_INT(devnet_cmd(dir, "publish", "--binary", env_or_skip("ANT_BAD_NODE_BIN"),
                         "--release-version", bad),
              0);
    CHECK_INT(devnet_cmd(dir, "yank", "--release-version", bad, NULL, NULL), 0);
    sleep_s(ttl_s + 2.0 * interval_s + window_s + 3);
    CHECK_OK(dn_fleet_read(&v.cfg, &v.f, NULL));
    unsigned bad_installs = 0;
    for (unsigned i = 0; i < STAGED_NODES; i++)
        bad_installs += dn_fleet_last(&v.f.node[i], EV_DOWNLOADING, bad) != NULL ||
                        dn_fleet_last(&v.f.node[i], EV_RESTARTING, bad) != NULL;
    CHECK_INT(bad_installs, 0);
    CHECK_INT(upgraded(&v, next, up_), STAGED_NODES);

    fprintf(stderr, "\nstaged rollout of %s on %u nodes (window %ds, check interval %ds, "
            "ttl %ds):\n", next, STAGED_NODES, window_s, interval_s, ttl_s);
    fprintf(stderr, "  %-18s %10s %9s %16s %17s\n", "step", "candidates", "upgraded",
            "non-cand. upgr.", "cand. not upgr.");
    for (size_t i = 0; i < nrows; i++)
        fprintf(stderr, "  %-18s %10u %9u %16u %17u\n", rows[i].step, rows[i].candidates,
                rows[i].upgraded, rows[i].extra, rows[i].missing);
    fprintf(stderr, "  (upgraded counts are cumulative; while halted the %u candidates at "
            "%s %% stayed where they were: no new upgrade)\n",
            rows[2].candidates, c2);
    fprintf(stderr, "halt propagation: %.1fs from `ant-devnet rollout --halt` to the last of "
            "the nodes on the old version reporting halted (bound: ttl %ds + check interval "
            "%ds)\n", halt_s, ttl_s, interval_s);
    fprintf(stderr, "yanked %s published after %s: downloaded or installed by %u of %u nodes "
            "over %ds (window %ds)\n", bad, next, bad_installs, STAGED_NODES,
            (int)(ttl_s + 2 * interval_s + window_s + 3), window_s);
    fprintf(stderr, "scenario runtime: %.0fs\n", dn_now() - t_start);

    /* The report rebuilds the same steps from the devnet's steering record and the node
     * logs, and its window rows count from each node's candidacy. */
    static const char *const need[] = {
        "staged rollout: upgraded = candidates at each cursor step",
        "halt: the rest held on the old version until resumed",
        "yanked release never installed",
        "restart times across the window",
        "restart at its scheduled time (hash-derived delay)",
    };
    json_object *rep = report_passes(dir, need, sizeof need / sizeof need[0]);
    json_object *srow = row_of(rep, need[0], next), *counts = NULL, *steps = NULL;
    CHECK(srow != NULL && json_object_object_get_ex(srow, "counts", &counts) &&
          json_object_object_get_ex(counts, "steps", &steps));
    /* the steps that moved the fleet (not halted, cursor above 0) are the test's rows 1, 3
     * and 4: the same candidates and upgraded counts */
    size_t want_rows[] = {1, 3, 4}, k = 0;
    for (size_t i = 0; steps != NULL && i < json_object_array_length(steps); i++) {
        json_object *s = json_object_array_get_idx(steps, i), *x = NULL;
        if (!json_object_object_get_ex(s, "halted", &x) || json_object_get_boolean(x))
            continue;
        if (!json_object_object_get_ex(s, "cursor_ppm", &x) || json_object_get_int64(x) == 0)
            continue;
        CHECK(k < 3);
        if (k >= 3)
            break;
        const struct step_row *tr = &rows[want_rows[k++]];
        json_object_object_get_ex(s, "candidates", &x);
        CHECK_INT((int)json_object_get_int64(x), (int)tr->candidates);
        json_object_object_get_ex(s, "upgraded", &x);
        CHECK_INT((int)json_object_get_int64(x), (int)tr->upgraded);
    }
    CHECK_INT((int)k, 3);
    json_object_put(rep);

    if (ant_test_failures > 0) {
        print_file(dir, "report.md");
        print_file(dir, "supervisor.log");
    }
    dn_fleet_free(&v.f);
    down_and_check(dir);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/*
 * minimum_version (ARCHITECTURE.md §10): with a 600 s window every node schedules the next
 * version far ahead; once the targets make it the minimum, every node upgrades at its next
 * check (`Below minimum version, upgrading now`), within TTL + check interval, not the window.
 */
static void test_minimum(void)
{
    char dir[64];
    struct fleet_view v;
    window_s = 600;
    interval_s = 3;
    ttl_s = 3;
    make_dir(dir, sizeof dir);
    up(dir, "2", "2");
    CHECK(view_open(&v, dir));
    const char *next = env_or_skip("ANT_NEXT_VERSION");
    CHECK_INT(devnet_cmd(dir, "publish", "--binary", env_or_skip("ANT_NODE_NEXT_BIN"),
                         "--release-version", next),
              0);
    CHECK(wait_all(&v, EV_SCHEDULED, next, ttl_s + 2.0 * interval_s + 30));
    unsigned total = v.cfg.hosts * v.cfg.nodes, early = 0;
    double t0 = dn_now(), first_at = 1e300;
    CHECK_OK(dn_fleet_read(&v.cfg, &v.f, NULL));
    for (unsigned i = 0; i < total; i++) {
        const struct dn_ev *s = dn_fleet_last(&v.f.node[i], EV_SCHEDULED, next);
        if (s != NULL)
            first_at = s->at < first_at ? s->at : first_at;
        early += dn_fleet_last(&v.f.node[i], EV_RESTARTING, next) != NULL;
    }
    CHECK_INT(early, 0);
    CHECK_INT(devnet_cmd(dir, "minimum", "--release-version", next, NULL, NULL), 0);
    CHECK(wait_all(&v, EV_RESTARTING, next, ttl_s + 2.0 * interval_s + 30));
    double last = 0;
    CHECK_OK(dn_fleet_read(&v.cfg, &v.f, NULL));
    for (unsigned i = 0; i < total; i++) {
        const struct dn_ev *r = dn_fleet_last(&v.f.node[i], EV_RESTARTING, next);
        if (r != NULL)
            last = r->t > last ? r->t : last;
    }
    fprintf(stderr, "minimum version %s: all %u nodes restarted into it %.1fs after `ant-devnet "
            "minimum` (ttl %ds, check interval %ds); the earliest schedule had been %.0fs away, "
            "window %ds\n", next, total, last - t0, ttl_s, interval_s, first_at - t0, window_s);
    /* they restarted before any of them was due: the minimum, not the window, moved them */
    CHECK(last < first_at);
    CHECK(wait_all(&v, EV_TRIAL_CONFIRMED, next, TRIAL_S + 60));
    static const char *const need[] = {
        "minimum version reached every node within one check",
        "restart at its scheduled time (hash-derived delay)",
    };
    json_object_put(report_passes(dir, need, sizeof need / sizeof need[0]));
    if (ant_test_failures > 0) {
        print_file(dir, "report.md");
        print_file(dir, "supervisor.log");
    }
    dn_fleet_free(&v.f);
    down_and_check(dir);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/*
 * Binary patches (issue 19): 2 hosts x 2 nodes on the deployed version, the next release
 * published with `--delta` (a patch from the hosts' binary): every host installs it from the
 * patch and the host's other node from the binary the first one rebuilt, so no archive is
 * downloaded, and the report's delta rows pass with the bytes per host. With `corrupt`
 * the patch is served with a byte flipped: every host falls back to the archive once.
 */
static void delta_case(bool corrupt)
{
    char dir[64], timeout[16];
    struct fleet_view v;
    window_s = 20;
    interval_s = 3;
    ttl_s = 3;
    make_dir(dir, sizeof dir);
    up(dir, "2", "2");
    CHECK(view_open(&v, dir));
    const char *next = env_or_skip("ANT_NEXT_VERSION");
    const char *pub[] = {env_or_skip("ANT_DEVNET_BIN"), "publish", "--dir", dir, "--binary",
                         env_or_skip("ANT_NODE_NEXT_BIN"), "--release-version", next,
                         corrupt ? "--delta-corrupt" : "--delta", NULL};
    CHECK_INT(run(pub), 0);
    snprintf(timeout, sizeof timeout, "%d", window_s + ttl_s + interval_s + 120);
    const char *watch[] = {env_or_skip("ANT_DEVNET_BIN"), "watch", "--dir", dir,
                           "--release-version", next, "--timeout", timeout, "--quiet", NULL};
    CHECK_INT(run(watch), 0);
    CHECK(wait_all(&v, EV_TRIAL_CONFIRMED, next, TRIAL_S + 60));
    CHECK_INT(devnet_cmd(dir, "report", NULL, NULL, NULL, NULL), 0);
    int fails = 0, rows = 0;
    json_object *o = read_report(dir, &fails, &rows);
    CHECK_INT(fails, 0);
    CHECK_STR(status_of(o, "delta: bytes downloaded per host (patch vs full archive)"), "PASS");
    CHECK_STR(status_of(o, corrupt ? "delta: corrupt patch falls back to the archive on every host"
                                   : "delta: patch applied on every host"),
              "PASS");
    CHECK_STR(status_of(o, "archive downloaded per host"), "PASS");
    CHECK_STR(status_of(o, "cache hits re-verified"), "PASS");
    json_object_put(o);
    print_file(dir, "report.md");
    if (ant_test_failures > 0)
        print_file(dir, "supervisor.log");
    dn_fleet_free(&v.f);
    down_and_check(dir);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

static void test_delta(void)
{
    delta_case(false);
}

static void test_delta_fallback(void)
{
    delta_case(true);
}

/* SIGKILLs nginx's worker processes (the master starts a new one): every transfer in
 * flight is cut where it stands. Returns how many were killed. */
static unsigned kill_nginx_workers(const char *dir)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    unsigned killed = 0;
    snprintf(path, sizeof path, "%s/nginx/nginx.pid", dir);
    if (dn_read_file(path, 64, &text, &len) != ANT_OK)
        return 0;
    long master = strtol(text, NULL, 10);
    free(text);
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (master > 1 && d != NULL && (de = readdir(d)) != NULL) {
        char stat_path[300], buf[512];
        long pid = strtol(de->d_name, NULL, 10), ppid = 0;
        if (pid <= 0)
            continue;
        snprintf(stat_path, sizeof stat_path, "/proc/%ld/stat", pid);
        FILE *f = fopen(stat_path, "r");
        if (f == NULL)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *close_paren = strrchr(buf, ')');
        if (close_paren != NULL && sscanf(close_paren + 2, "%*c %ld", &ppid) == 1 &&
            ppid == master && kill((pid_t)pid, SIGKILL) == 0)
            killed++;
    }
    if (d != NULL)
        closedir(d);
    return killed;
}

/*
 * Resume (issue 19): the archives served at 256 KiB/s, and for every archive download a
 * node starts, nginx's worker killed at a random moment 0.4-2.4 s into it (the ~850 KB
 * archive takes ~3.3 s), cutting it at a random offset. Every node must end on the new
 * version with its download continued by ranged requests, no upgrade error, and the
 * report's resume row (and every other row) passing.
 */
static void test_resume(void)
{
    char dir[64];
    struct fleet_view v;
    window_s = 40;
    interval_s = 3;
    ttl_s = 3;
    make_dir(dir, sizeof dir);
    CHECK(setenv("ANT_DEVNET_LIMIT_RATE", "262144", 1) == 0);
    up(dir, "2", "2");
    unsetenv("ANT_DEVNET_LIMIT_RATE");
    CHECK(view_open(&v, dir));
    const char *next = env_or_skip("ANT_NEXT_VERSION");
    CHECK_INT(devnet_cmd(dir, "publish", "--binary", env_or_skip("ANT_NODE_NEXT_BIN"),
                         "--release-version", next),
              0);
    unsigned total = v.cfg.hosts * v.cfg.nodes, seen = 0, kills = 0;
    double kill_at[16];
    size_t nkill = 0;
    srand((unsigned)time(NULL));
    double end = dn_now() + window_s + ttl_s + interval_s + 120;
    while (dn_now() < end) {
        CHECK_OK(dn_fleet_read(&v.cfg, &v.f, NULL));
        unsigned downloads = 0, restarted = 0;
        for (unsigned i = 0; i < total; i++) {
            const struct dn_fleet_node *fn = &v.f.node[i];
            for (size_t k = 0; k < fn->nev; k++)
                downloads += fn->ev[k].kind == EV_DOWNLOADING && strcmp(fn->ev[k].version, next) == 0;
            restarted += dn_fleet_last(fn, EV_RESTARTING, next) != NULL;
        }
        for (; seen < downloads && nkill < sizeof kill_at / sizeof kill_at[0]; seen++)
            kill_at[nkill++] = dn_now() + 0.4 + 2.0 * (double)rand() / RAND_MAX;
        for (size_t k = 0; k < nkill; k++) {
            if (kill_at[k] > 0 && dn_now() >= kill_at[k]) {
                kills += kill_nginx_workers(dir);
                kill_at[k] = 0;
            }
        }
        bool pending = false;
        for (size_t k = 0; k < nkill; k++)
            pending = pending || kill_at[k] > 0;
        if (restarted == total && !pending)
            break;
        sleep_s(0.1);
    }
    CHECK(wait_all(&v, EV_TRIAL_CONFIRMED, next, TRIAL_S + 60));
    unsigned resumed = 0;
    for (unsigned i = 0; i < total; i++)
        resumed += dn_fleet_last(&v.f.node[i], EV_RESUMED, next) != NULL;
    fprintf(stderr, "resume: %u downloads, %u workers killed, %u downloads logged resumes\n",
            seen, kills, resumed);
    CHECK(kills >= 1);
    CHECK(resumed >= 1);
    CHECK_INT(devnet_cmd(dir, "report", NULL, NULL, NULL, NULL), 0);
    int fails = 0, rows = 0;
    json_object *o = read_report(dir, &fails, &rows);
    CHECK_INT(fails, 0);
    CHECK_STR(status_of(o, "resume: downloads cut by the server completed"), "PASS");
    json_object_put(o);
    print_file(dir, "report.md");
    if (ant_test_failures > 0)
        print_file(dir, "supervisor.log");
    dn_fleet_free(&v.f);
    down_and_check(dir);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_rollout),
    ANT_TEST(test_metadata),
    ANT_TEST(test_kill_and_rollback),
    ANT_TEST(test_netns),
    ANT_TEST(test_staged),
    ANT_TEST(test_minimum),
    ANT_TEST(test_delta),
    ANT_TEST(test_delta_fallback),
    ANT_TEST(test_resume),
};
ANT_TEST_MAIN(cases)
