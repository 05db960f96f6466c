/*
 * A stand-in ant-node for the upgrade-engine tests, built at several versions (compile
 * definitions FAKE_VERSION and FAKE_FAIL). It answers `--version` exactly like ant-node and
 * drives the real engine exactly as the daemon does (boot check, monitor, restart), but
 * serves nothing, so the engine tests do not depend on the daemon and start in
 * milliseconds. A FAKE_FAIL build dies right after the trial-boot check, like a release
 * that cannot come up.
 *
 *   fake_node --version
 *   fake_node run   --root DIR [options]   boot check, monitor, restart when due
 *   fake_node apply --root DIR [options]   one check + apply now (ant-node upgrade apply --now)
 *   fake_node check --root DIR [options]   one read-only check, the plan printed as JSON
 *   fake_node status --root DIR [options]  ant_upgrade_status as JSON (no network)
 * options: --cache DIR --api URL --repo O/N --keys DIR --peer ID --channel C
 *          --trusted-root FILE --metadata-url URL
 *          --window-ms N --check-ms N --trial-ms N --run-ms N --lock-ms N
 *          --archive-cap N --stop-on-upgrade --listen 1
 * Exit codes: run: 0 after --run-ms, 75 or 0 after a restart as ant_upgrade_restart says,
 * 2 on usage or engine errors; FAKE_FAIL: 1.
 * With FAKE_SELF_REPLACE=PATH in the environment the program first installs PATH over its
 * own file (temp + rename), so the engine starts with /proc/self/exe ending " (deleted)".
 * With --listen 1 it holds a listening socket like the daemon: taken from LISTEN_FDS when
 * passed (else bound on 127.0.0.1:0), logged as `Fake listener port=P inherited=yes|no`,
 * and handed to the successor by ant_upgrade_restart_with_listener().
 * A run starts by logging the fds above 2 it inherited (`Fake inherited fds=3,7` or
 * `fds=-`); --leak-fd 1 opens one inheritable fd (no O_CLOEXEC, as a library might) before
 * the restart, which the successor must not see.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "ant/log.h"
#include "ant/sysd.h"
#include "ant/upgrade.h"

#ifndef FAKE_VERSION
#error "build with -DFAKE_VERSION=\"X.Y.Z\""
#endif
#ifndef FAKE_FAIL
#define FAKE_FAIL 0
#endif

static atomic_bool shutdown_requested;

/* The daemon's listener, in miniature (see --listen above). -1 on failure. */
static int take_or_bind_listener(void)
{
    struct ant_sysd_fd fds[ANT_SYSD_LISTEN_FDS_MAX];
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    size_t n = 0;
    int fd = -1;
    bool inherited = false;
    if (ant_sysd_listen_fds(fds, ANT_SYSD_LISTEN_FDS_MAX, &n) == ANT_OK && n == 1 &&
        strcmp(fds[0].name, "listener") == 0) {
        fd = fds[0].fd;
        inherited = true;
    } else {
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0)
            return -1;
    }
    if (getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    ant_log(ANT_LOG_INFO, "node", "Fake listener port=%u inherited=%s", ntohs(sa.sin_port),
            inherited ? "yes" : "no");
    return fd;
}
/* Logs the fds above 2 this process was started with (see the header). */
static void log_inherited_fds(void)
{
    char list[512] = "-";
    size_t off = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        char *end = NULL;
        long fd = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '\0' || fd <= 2 || fd == dirfd(d))
            continue;
        int w = snprintf(list + off, sizeof list - off, "%s%ld", off > 0 ? "," : "", fd);
        if (w > 0 && (size_t)w < sizeof list - off)
            off += (size_t)w;
    }
    if (d != NULL)
        closedir(d);
    ant_log(ANT_LOG_INFO, "node", "Fake inherited fds=%s", list);
}

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
    (void)sig;
    got_term = 1;
}

static void request_shutdown(void *arg)
{
    (void)arg;
    atomic_store(&shutdown_requested, true);
}

/* Copies `src` over our own on-disk file the way an upgrader would: temp file, rename. */
static int replace_self(const char *src)
{
    char self[PATH_MAX], tmp[PATH_MAX + 8], buf[65536];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    snprintf(tmp, sizeof tmp, "%s.fake", self);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    int rc = in >= 0 && out >= 0 ? 0 : -1;
    while (rc == 0 && (n = read(in, buf, sizeof buf)) > 0)
        rc = write(out, buf, (size_t)n) == n ? 0 : -1;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0)
        rc = -1;
    if (rc == 0)
        rc = rename(tmp, self);
    return rc;
}

/* Stands in for ant_node_set_upgrade_state: the tests read these lines. */
static void state_changed(void *arg, const char *state)
{
    (void)arg;
    ant_log(ANT_LOG_INFO, "node", "Upgrade state state=%s", state);
}

static uint64_t num(const char *s)
{
    return strtoull(s, NULL, 10);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("ant-node %s\n", FAKE_VERSION);
        return 0;
    }
    if (argc < 2)
        return 2;
    const char *mode = argv[1];
    if (strcmp(mode, "run") == 0)
        log_inherited_fds(); /* before the engine opens its own */
    struct ant_upgrade_config cfg;
    ant_upgrade_config_init(&cfg);
    cfg.running_version = FAKE_VERSION;
    cfg.request_shutdown = request_shutdown;
    cfg.state_changed = state_changed;
    cfg.first_check_min_ms = 0;
    cfg.first_check_max_ms = 0;
    cfg.lock_timeout_ms = 30000;
    uint64_t run_ms = 0;
    bool want_listener = false, leak_fd = false;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (strcmp(k, "--stop-on-upgrade") == 0) {
            cfg.stop_on_upgrade = true;
            continue;
        }
        if (i + 1 >= argc)
            return 2;
        const char *v = argv[++i];
        if (strcmp(k, "--root") == 0)
            cfg.root_dir = v;
        else if (strcmp(k, "--cache") == 0)
            cfg.cache_dir = v;
        else if (strcmp(k, "--api") == 0)
            cfg.api_url = v;
        else if (strcmp(k, "--repo") == 0)
            cfg.repo = v;
        else if (strcmp(k, "--keys") == 0)
            cfg.trusted_keys_dir = v;
        else if (strcmp(k, "--trusted-root") == 0)
            cfg.trusted_root = v;
        else if (strcmp(k, "--metadata-url") == 0)
            cfg.metadata_url = v;
        else if (strcmp(k, "--peer") == 0)
            cfg.peer_id = v;
        else if (strcmp(k, "--channel") == 0)
            cfg.channel = v;
        else if (strcmp(k, "--window-ms") == 0)
            cfg.rollout_window_ms = num(v);
        else if (strcmp(k, "--check-ms") == 0)
            cfg.check_interval_ms = num(v);
        else if (strcmp(k, "--trial-ms") == 0)
            cfg.trial_period_ms = num(v);
        else if (strcmp(k, "--lock-ms") == 0)
            cfg.lock_timeout_ms = (unsigned)num(v);
        else if (strcmp(k, "--archive-cap") == 0)
            cfg.archive_cap = num(v);
        else if (strcmp(k, "--bad-backoff-ms") == 0)
            cfg.bad_version_backoff_ms = num(v);
        else if (strcmp(k, "--bad-max-marks") == 0)
            cfg.bad_version_max_marks = (unsigned)num(v);
        else if (strcmp(k, "--run-ms") == 0)
            run_ms = num(v);
        else if (strcmp(k, "--listen") == 0)
            want_listener = num(v) != 0;
        else if (strcmp(k, "--leak-fd") == 0)
            leak_fd = num(v) != 0;
        else
            return 2;
    }

    const char *self_replace = getenv("FAKE_SELF_REPLACE");
    if (self_replace != NULL && replace_self(self_replace) != 0) {
        fprintf(stderr, "fake_node: cannot replace own binary\n");
        return 2;
    }
    /* One generation only: the node the engine spawns inherits our environment and would
     * otherwise replace the binary again (and log it) while the test counts the lines. */
    unsetenv("FAKE_SELF_REPLACE");
    struct ant_upgrade *u = NULL;
    ant_err err = ant_upgrade_new(&cfg, argc, argv, &u);
    if (err != ANT_OK) {
        fprintf(stderr, "fake_node: ant_upgrade_new: %s\n", ant_strerror(err));
        return 2;
    }
    int code = 2;
    if (strcmp(mode, "apply") == 0) {
        struct ant_upgrade_plan plan;
        err = ant_upgrade_check(u, true, &plan);
        if (err == ANT_OK && plan.available)
            err = ant_upgrade_apply(u, &plan);
        code = err == ANT_OK ? 0 : 2;
        goto out;
    }
    if (strcmp(mode, "check") == 0 || strcmp(mode, "status") == 0) {
        struct ant_upgrade_plan plan;
        char *text = NULL;
        if (strcmp(mode, "check") == 0) {
            err = ant_upgrade_check(u, false, &plan);
            if (err == ANT_OK)
                err = ant_upgrade_plan_format(&plan, true, &text);
        } else {
            err = ant_upgrade_status(u, true, &text);
        }
        if (text != NULL)
            printf("%s: %s", mode, text);
        free(text);
        code = err == ANT_OK ? 0 : 2;
        goto out;
    }
    if (strcmp(mode, "run") != 0)
        goto out;

    bool restart = false;
    err = ant_upgrade_boot(u, &restart);
    if (err != ANT_OK)
        fprintf(stderr, "fake_node: boot check: %s\n", ant_strerror(err));
    if (restart) {
        if (ant_upgrade_restart(u, &code) != ANT_OK)
            fprintf(stderr, "fake_node: restart failed\n");
        goto out;
    }
    if (FAKE_FAIL) {
        ant_log(ANT_LOG_ERROR, "node", "Fake node failing at start version=%s", FAKE_VERSION);
        code = 1;
        goto out;
    }
    int listener = want_listener ? take_or_bind_listener() : -1;
    if (want_listener && listener < 0) {
        code = 2;
        goto out;
    }
    ant_log(ANT_LOG_INFO, "node", "Node started version=%s pid=%ld", FAKE_VERSION,
            (long)getpid());
    signal(SIGTERM, on_term);
    if (ant_upgrade_monitor_start(u) != ANT_OK) {
        code = 2;
        goto out;
    }
    int64_t start = mono_ms();
    while (!atomic_load(&shutdown_requested) && !got_term &&
           (run_ms == 0 || mono_ms() - start < (int64_t)run_ms))
        usleep(10000);
    ant_upgrade_monitor_stop(u);
    code = 0;
    /* Deliberately inheritable and never closed: what a careless library leaves open. */
    if (leak_fd && open("/dev/null", O_RDONLY) < 0)
        fprintf(stderr, "fake_node: cannot open /dev/null\n");
    if (ant_upgrade_restart_pending(u) &&
        ant_upgrade_restart_with_listener(u, listener, &code) != ANT_OK)
        fprintf(stderr, "fake_node: restart failed\n");
    if (listener >= 0)
        close(listener);
out:
    ant_upgrade_free(u);
    return code;
}
