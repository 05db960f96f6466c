/*
 * The devnet's lifecycle: `up` builds the directory tree, key, TLS material and nginx
 * configuration, then starts the supervisor in its own session and waits for it to report
 * that nginx and every node are running; `down` stops it and then sweeps every process still
 * carrying the devnet's marks, so a crashed supervisor or a half-finished `up` never leaves a
 * node or nginx behind (and, with --netns, deletes the namespaces and links it recorded); `status` and `watch` show the fleet while a rollout runs.
 */
#include "devnet/devnet_int.h"
#include "devnet/nspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/release_context.h"

#define UP_READY_TIMEOUT_S 60.0
/* Booting containers and installing into them, on a busy machine. */
#define UP_READY_TIMEOUT_SYSTEMD_S 300.0
#define MAX_PROCS 8192

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* --- up ------------------------------------------------------------------------------ */

static ant_err make_layout(struct dn_config *cfg, const char *binary)
{
    char path[PATH_MAX];
    ant_err e;
    static const char *const dirs[] = {"keys", "tls", "nginx", "www"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        e = dn_path(path, sizeof path, "%s/%s", cfg->dir, dirs[i]);
        if (e == ANT_OK)
            e = dn_mkdirs(path, 0700);
        if (e != ANT_OK)
            return e;
    }
    e = dn_keys_create(cfg->dir);
    if (e == ANT_OK)
        e = dn_meta_create(cfg);
    if (e != ANT_OK)
        return e;
    char sip[24] = "";
    e = dn_path(path, sizeof path, "%s/tls", cfg->dir);
    if (e == ANT_OK && cfg->netns)
        e = dn_netns_server_ip(cfg, sip, sizeof sip);
    if (e == ANT_OK)
        e = dn_tls_create_ip(path, cfg->netns ? sip : NULL);
    if (e != ANT_OK)
        return e;
    /* An empty release list from the start: a node checking before the first publish
     * finds "no release", not a 404 it would have to report as an error. */
    e = dn_path(path, sizeof path, "%s/www/repos/%s/%s", cfg->dir, ANT_DEVNET_OWNER,
                ANT_DEVNET_REPO);
    if (e == ANT_OK)
        e = dn_mkdirs(path, 0700);
    if (e == ANT_OK)
        e = dn_path(path, sizeof path, "%s/www/repos/%s/%s/releases", cfg->dir,
                    ANT_DEVNET_OWNER, ANT_DEVNET_REPO);
    if (e == ANT_OK)
        e = dn_write_file(path, "[]\n", 3, 0644);
    if (e == ANT_OK)
        e = dn_nginx_write_conf(cfg);
    if (e != ANT_OK)
        return e;
    for (unsigned h = 0; h < cfg->hosts; h++) {
        static const char *const sub[] = {"bin", "cache", "logs"};
        for (size_t k = 0; k < sizeof sub / sizeof sub[0]; k++) {
            e = dn_path(path, sizeof path, "%s/hosts/h%u/%s", cfg->dir, h, sub[k]);
            if (e == ANT_OK)
                e = dn_mkdirs(path, 0700);
            if (e != ANT_OK)
                return e;
        }
        for (unsigned n = 0; n < cfg->nodes; n++) {
            e = dn_path(path, sizeof path, "%s/hosts/h%u/nodes/n%u", cfg->dir, h, n);
            if (e == ANT_OK)
                e = dn_mkdirs(path, 0700);
            if (e != ANT_OK)
                return e;
        }
        e = dn_path(path, sizeof path, "%s/hosts/h%u/bin/ant-node", cfg->dir, h);
        if (e == ANT_OK)
            e = dn_copy_file(binary, path, 0755);
        if (e != ANT_OK)
            return e;
    }
    return ANT_OK;
}

static ant_err pick_ports(struct dn_config *cfg)
{
    size_t total = (size_t)cfg->hosts * cfg->nodes + 1;
    for (size_t i = 0; i < total; i++) {
        uint16_t p = 0;
        bool unique = false;
        for (int tries = 0; tries < 50 && !unique; tries++) {
            ant_err e = dn_free_port(&p);
            if (e != ANT_OK)
                return e;
            unique = p != cfg->https_port;
            for (size_t k = 0; unique && k + 1 < total && k < i; k++)
                unique = cfg->node_port[k] != p;
        }
        if (!unique)
            return ANT_ERR_IO;
        if (i == 0)
            cfg->https_port = p;
        else
            cfg->node_port[i - 1] = p;
    }
    return ANT_OK;
}

/* Waits for the supervisor's ready line; ANT_OK on "ok". */
static ant_err wait_ready(int fd, double timeout_s)
{
    char buf[160];
    size_t used = 0;
    double deadline = dn_now() + timeout_s;
    while (used < sizeof buf - 1) {
        double left = deadline - dn_now();
        if (left <= 0)
            return ANT_ERR_TIMEOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t n = read(fd, buf + used, sizeof buf - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
        if (memchr(buf, '\n', used) != NULL)
            break;
    }
    buf[used] = '\0';
    if (strncmp(buf, "ok\n", 3) == 0)
        return ANT_OK;
    ant_log(ANT_LOG_ERROR, "devnet", "supervisor did not start says=%.*s",
            (int)strcspn(buf, "\n"), buf);
    return ANT_ERR_IO;
}

ant_err ant_devnet_up(const struct ant_devnet_up_opts *o)
{
    struct dn_config *cfg = NULL;
    char path[PATH_MAX], binary[PATH_MAX];
    int pfd[2] = {-1, -1};
    pid_t sup = 0;
    bool started = false, net_made = false;
    ant_err e;

    if (o == NULL || o->dir == NULL || o->binary == NULL || o->hosts == 0 ||
        o->hosts > ANT_DEVNET_MAX_HOSTS || o->nodes_per_host == 0 ||
        o->nodes_per_host > ANT_DEVNET_MAX_NODES_PER_HOST)
        return ANT_ERR_INVALID_ARG;
    bool netns = o->netns || o->systemd; /* containers live in the hosts' namespaces */
    if (o->systemd && (o->rootfs == NULL || o->packaging == NULL))
        return ANT_ERR_INVALID_ARG;
    if (netns && geteuid() != 0) {
        ant_log(ANT_LOG_ERROR, "devnet",
                "--netns needs root (creating network namespaces and veth pairs)");
        return ANT_ERR_INVALID_ARG;
    }
    if (netns && !dn_netns_available()) {
        ant_log(ANT_LOG_ERROR, "devnet", "--netns needs iproute2's ip (not found)");
        return ANT_ERR_NOT_FOUND;
    }
    if (o->channel != NULL && strcmp(o->channel, "stable") != 0 && strcmp(o->channel, "beta") != 0)
        return ANT_ERR_INVALID_ARG;
    if (ant_release_platform_host() == NULL)
        return ANT_ERR_PLATFORM;
    if (realpath(o->binary, binary) == NULL)
        return ANT_ERR_NOT_FOUND;
    cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return ANT_ERR_NOMEM;
    e = dn_resolve_dir(o->dir, true, cfg->dir, sizeof cfg->dir);
    if (e != ANT_OK)
        goto out;
    e = dn_path(path, sizeof path, "%s/%s", cfg->dir, DN_CONFIG_FILE);
    if (e != ANT_OK)
        goto out;
    if (access(path, F_OK) == 0) {
        ant_log(ANT_LOG_ERROR, "devnet", "a devnet already exists dir=%s", cfg->dir);
        e = ANT_ERR_EXISTS;
        goto out;
    }
    if (chmod(cfg->dir, 0700) != 0) {
        e = ANT_ERR_IO;
        goto out;
    }
    cfg->hosts = o->hosts;
    cfg->nodes = o->nodes_per_host;
    cfg->rollout_window_s = o->rollout_window_s;
    cfg->check_interval_s = o->check_interval_s;
    cfg->release_ttl_s = o->release_ttl_s;
    cfg->trial_period_s = o->trial_period_s;
    cfg->restart_delay_ms = o->restart_delay_ms != 0 ? o->restart_delay_ms : 500;
    snprintf(cfg->channel, sizeof cfg->channel, "%s", o->channel != NULL ? o->channel : "stable");
    snprintf(cfg->platform, sizeof cfg->platform, "%s", ant_release_platform_host());
    e = dn_binary_version(binary, cfg->initial_version, sizeof cfg->initial_version);
    if (e != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "devnet", "binary does not report a version binary=%s", binary);
        goto out;
    }
    e = pick_ports(cfg);
    if (e == ANT_OK && netns)
        e = dn_netns_plan(cfg);
    if (e == ANT_OK && o->systemd) {
        /* Every host has an address of its own: the same ports on each (install.sh's
         * --base-port), the loopback ports picked above are not used by the nodes. */
        cfg->systemd = true;
        for (unsigned i = 0; i < cfg->hosts * cfg->nodes; i++)
            cfg->node_port[i] = (uint16_t)(DN_NSPAWN_BASE_PORT + i % cfg->nodes);
        if (realpath(o->rootfs, cfg->rootfs) == NULL ||
            realpath(o->packaging, cfg->packaging) == NULL) {
            ant_log(ANT_LOG_ERROR, "devnet", "--rootfs or --packaging not found");
            e = ANT_ERR_NOT_FOUND;
        } else {
            e = dn_nspawn_check(cfg);
        }
    }
    if (e == ANT_OK)
        e = make_layout(cfg, binary);
    if (e == ANT_OK && cfg->systemd)
        e = dn_nspawn_prepare(cfg);
    if (e == ANT_OK)
        e = dn_config_save(cfg);
    if (e != ANT_OK)
        goto out;
    if (cfg->netns) {
        net_made = true; /* from here on, D/netns.list may name something to delete */
        e = dn_netns_create(cfg);
        if (e != ANT_OK)
            goto out;
    }

    if (dn_pipe(pfd) != ANT_OK) {
        e = ANT_ERR_IO;
        goto out;
    }
    char logpath[PATH_MAX];
    e = dn_path(logpath, sizeof logpath, "%s/supervisor.log", cfg->dir);
    if (e != ANT_OK)
        goto out;
    fflush(NULL);
    /* Double fork: the supervisor is not the caller's child (no zombie for a library
     * caller to reap, reparented to init when `up` exits) and leads its own session (no
     * terminal, not hit by the caller's Ctrl-C). _exit below ends forked children only,
     * never the caller's program. */
    pid_t mid = fork();
    if (mid < 0) {
        e = ANT_ERR_IO;
        goto out;
    }
    if (mid == 0) {
        close(pfd[0]);
        pid_t child = fork();
        if (child != 0)
            _exit(child < 0 ? 1 : 0);
        setsid();
        /* O_CLOEXEC: the dup2 copies are the supervisor's stdio; the originals would
         * otherwise pass to nginx and every node it starts. */
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (devnull >= 0)
            dup2(devnull, STDIN_FILENO);
        if (logfd >= 0) {
            dup2(logfd, STDOUT_FILENO);
            dup2(logfd, STDERR_FILENO);
        }
        ant_log_set_fd(STDERR_FILENO);
        ant_err se = ant_devnet_supervise(cfg->dir, pfd[1]);
        _exit(se == ANT_OK ? 0 : 1);
    }
    started = true;
    close(pfd[1]);
    pfd[1] = -1;
    while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
        ;
    e = wait_ready(pfd[0], cfg->systemd ? UP_READY_TIMEOUT_SYSTEMD_S : UP_READY_TIMEOUT_S);
    if (e == ANT_OK) {
        e = dn_path(path, sizeof path, "%s/%s", cfg->dir, DN_PID_FILE);
        sup = e == ANT_OK ? dn_read_pid_file(path) : 0;
    }
out:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (e != ANT_OK && started) {
        if (ant_devnet_down(cfg->dir) != ANT_OK)
            ant_log(ANT_LOG_ERROR, "devnet", "cleanup after failed up incomplete dir=%s",
                    cfg->dir);
    } else if (e != ANT_OK && net_made) {
        if (dn_netns_destroy(cfg->dir) != ANT_OK)
            ant_log(ANT_LOG_ERROR, "devnet", "network cleanup after failed up incomplete dir=%s",
                    cfg->dir);
    }
    if (e == ANT_OK)
        ant_log(ANT_LOG_INFO, "devnet",
                "Devnet up dir=%s hosts=%u nodes_per_host=%u version=%s port=%u supervisor=%d",
                cfg->dir, cfg->hosts, cfg->nodes, cfg->initial_version,
                (unsigned)cfg->https_port, (int)sup);
    free(cfg);
    return e;
}

/* --- down ---------------------------------------------------------------------------- */

/* True if `pid` is this devnet's supervisor: alive, leader of its own session, and the
 * pid the state file names when there is one. */
static bool is_supervisor(pid_t pid, const struct dn_state *st)
{
    if (pid <= 1 || !dn_pid_alive(pid) || getsid(pid) != pid)
        return false;
    return st == NULL || st->supervisor_pid == pid;
}

ant_err ant_devnet_down(const char *dir)
{
    char real[PATH_MAX], path[PATH_MAX];
    struct dn_state *st = NULL;
    pid_t *pids = NULL;
    size_t count = 0;
    ant_err e = dn_resolve_dir(dir, false, real, sizeof real);
    if (e == ANT_ERR_NOT_FOUND)
        return ANT_OK;
    if (e != ANT_OK)
        return e;
    pids = calloc(MAX_PROCS, sizeof *pids);
    if (pids == NULL)
        return ANT_ERR_NOMEM;
    if (dn_state_load(real, &st) != ANT_OK)
        st = NULL;
    e = dn_path(path, sizeof path, "%s/%s", real, DN_PID_FILE);
    if (e != ANT_OK)
        goto out;
    pid_t sup = dn_read_pid_file(path);
    if (sup <= 0 && st != NULL)
        sup = st->supervisor_pid;
    /* The session the supervisor made: its members keep that id after the leader died. */
    pid_t sid = st != NULL && st->sid == st->supervisor_pid ? st->sid : 0;
    bool sup_ok = is_supervisor(sup, st);
    if (sup_ok) {
        sid = sup;
        kill(sup, SIGTERM);
        /* The supervisor stops the nodes (SIGTERM, then SIGKILL after its grace time). */
        for (int i = 0; i < 400 && dn_pid_alive(sup); i++) {
            waitpid(sup, NULL, WNOHANG);
            sleep_ms(50);
        }
        waitpid(sup, NULL, WNOHANG);
    }
    /* Whatever is left (the supervisor itself if it hung, nodes of a crashed supervisor,
     * nginx of a failed `up`) is killed outright. */
    e = ANT_ERR_TIMEOUT;
    for (int round = 0; round < 100; round++) {
        ant_err fe = dn_find_processes(real, sid, pids, MAX_PROCS, &count);
        if (fe != ANT_OK) {
            e = fe;
            goto out;
        }
        /* the supervisor itself carries no mark; it is known by the checks above */
        if (sup_ok && dn_pid_alive(sup) && count < MAX_PROCS)
            pids[count++] = sup;
        if (count == 0) {
            e = ANT_OK;
            break;
        }
        for (size_t i = 0; i < count && i < MAX_PROCS; i++)
            kill(pids[i], SIGKILL);
        if (sup > 1)
            waitpid(sup, NULL, WNOHANG);
        sleep_ms(50);
    }
    unlink(path);
    /* Containers whose supervisor died: their init is not marked, it is found by its
     * pid file (and checked to be the same process). */
    {
        ant_err ce = dn_nspawn_destroy(real);
        if (ce != ANT_OK && e == ANT_OK)
            e = ce;
    }
    /* Namespaces and links last: no process of the devnet is left to hold them. */
    {
        ant_err ne = dn_netns_destroy(real);
        if (ne != ANT_OK) {
            ant_log(ANT_LOG_ERROR, "devnet", "down left network namespaces or links dir=%s", real);
            if (e == ANT_OK)
                e = ne;
        }
    }
out:
    if (e != ANT_OK)
        ant_log(ANT_LOG_ERROR, "devnet", "down incomplete dir=%s processes=%zu", real, count);
    free(st);
    free(pids);
    return e;
}

ant_err ant_devnet_count_processes(const char *dir, unsigned *count)
{
    char real[PATH_MAX], path[PATH_MAX];
    size_t n = 0;
    *count = 0;
    ant_err e = dn_resolve_dir(dir, false, real, sizeof real);
    if (e == ANT_ERR_NOT_FOUND)
        return ANT_OK;
    if (e != ANT_OK)
        return e;
    e = dn_path(path, sizeof path, "%s/%s", real, DN_PID_FILE);
    if (e != ANT_OK)
        return e;
    pid_t sup = dn_read_pid_file(path);
    pid_t sid = is_supervisor(sup, NULL) ? sup : 0;
    struct dn_state *st = NULL;
    if (sid == 0 && dn_state_load(real, &st) == ANT_OK && st->sid == st->supervisor_pid)
        sid = st->sid;
    free(st);
    e = dn_find_processes(real, sid, NULL, 0, &n);
    if (e != ANT_OK)
        return e;
    if (sid == sup && sup > 0)
        n++; /* the live supervisor */
    *count = (unsigned)n;
    return ANT_OK;
}
