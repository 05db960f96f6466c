/*
 * `ant-node run` (the default command): resolve the configuration, start the node, wait
 * for SIGTERM/SIGINT or an exit request, shut down cleanly and return the exit code the
 * node was asked to leave with (75 when the upgrade engine wants a service-manager
 * restart).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/node.h"
#include "ant/node_service.h"
#include "ant/upgrade.h"
#include "ant/version.h"
#include "node_cli.h"

void cmd_upgrade_config(const struct ant_node_config *nc, struct ant_upgrade_config *uc);

/*
 * What the engine's hooks reach. `node` exists only after ant_node_start, but the trial
 * boot check runs before it (a failing version is rolled back without serving), so the
 * state it reports then ("trial-<version>") is kept here and handed to the node when it
 * starts: STATUS must say a trial is open, not `idle`. Only the main thread calls the
 * hooks until the monitor thread is created after `node` is set.
 */
struct run_ctx {
    struct ant_node *node; /* NULL before start and after stop */
    struct ant_node_service *svc;
    char early_state[ANT_NODE_UPGRADE_STATE_MAX];
};

static void upgrade_shutdown(void *arg)
{
    struct run_ctx *ctx = arg;
    if (ctx->node != NULL)
        ant_node_request_exit(ctx->node, ANT_NODE_EXIT_RESTART, "upgrade");
}

static void upgrade_state(void *arg, const char *state)
{
    struct run_ctx *ctx = arg;
    if (ctx->node != NULL)
        ant_node_set_upgrade_state(ctx->node, state);
    else
        snprintf(ctx->early_state, sizeof ctx->early_state, "%s", state != NULL ? state : "");
    ant_node_service_status(ctx->svc, state);
}

#define RUN_USAGE "usage: ant-node [run] [--print-config] [--SETTING VALUE...]"

/* Lets max-connections sockets open without EMFILE: the soft limit is often 1024 while
 * the hard limit is much higher (systemd's default is 524288). */
static void raise_fd_limit(unsigned max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        ant_log(ANT_LOG_WARN, "node",
                "Open file limit below max-connections, some connections will be refused "
                "limit=%lu max_connections=%u",
                (unsigned long)rl.rlim_cur, max_connections);
}

int cmd_run(int argc, char **argv)
{
    struct ant_node_config cfg;
    struct run_ctx ctx = {NULL, NULL, ""};
    struct node_cli cli;
    bool print_config = false;
    const struct node_cli_opt own[] = {
        {"--print-config", NULL, &print_config, NULL, NULL},
    };
    sigset_t mask;
    int sigfd = -1, code, rc;
    ant_err err;

    rc = node_cli_parse_help("run", RUN_USAGE, argc, argv, 1, own, sizeof own / sizeof own[0], &cli);
    if (rc != 0 || cli.help)
        return rc;
    if (cli.npos > 0) {
        fprintf(stderr, "ant-node run: unexpected argument %s\n", cli.pos[0]);
        return 2;
    }
    rc = node_cli_config("run", &cli, &cfg);
    if (rc != 0)
        return rc;
    if (print_config) {
        ant_node_config_print(&cfg, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }

    /* Signals are taken synchronously through a signalfd: block them before any thread
     * exists so every thread inherits the mask and none runs a handler. SIGPIPE is
     * blocked too; sockets are written with MSG_NOSIGNAL anyway. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGPIPE);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
        ant_log(ANT_LOG_ERROR, "node", "Cannot block signals");
        return 1;
    }
    sigdelset(&mask, SIGPIPE);
    sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sigfd < 0) {
        ant_log(ANT_LOG_ERROR, "node", "Cannot create signalfd");
        return 1;
    }
    raise_fd_limit(cfg.max_connections);

    /* The service manager's environment (LISTEN_FDS) is read before any thread exists. */
    err = ant_node_service_new(&cfg, &ctx.svc);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node", "Cannot set up service notification error=%s",
                ant_strerror(err));
        close(sigfd);
        return 1;
    }

    /* Trial-boot check before the node opens anything: a failing new version is rolled
     * back here, on its 4th start, without serving. */
    struct ant_upgrade_config ucfg;
    struct ant_upgrade *up = NULL;
    bool up_restart = false;
    cmd_upgrade_config(&cfg, &ucfg);
    ucfg.running_version = ANT_VERSION_STRING;
    ucfg.request_shutdown = upgrade_shutdown;
    ucfg.request_shutdown_arg = &ctx;
    ucfg.state_changed = upgrade_state;
    ucfg.state_changed_arg = &ctx;
    /* A trial is confirmed only by a node that became ready, kept its serving loop turning
     * and answers a PING on its own port (ARCHITECTURE.md §11). */
    ucfg.healthy = ant_node_service_healthy;
    ucfg.healthy_arg = ctx.svc;
    err = ant_upgrade_new(&ucfg, argc, argv, &up);
    if (err != ANT_OK)
        ant_log(ANT_LOG_WARN, "node", "Upgrade engine unavailable error=%s", ant_strerror(err));
    else if ((err = ant_upgrade_boot(up, &up_restart)) != ANT_OK)
        ant_log(ANT_LOG_WARN, "node", "Trial boot check failed error=%s", ant_strerror(err));
    if (up_restart) {
        int passed = ant_node_service_take_listener(ctx.svc);
        code = ANT_UPGRADE_EXIT_RESTART;
        ant_node_service_stopping(ctx.svc, code);
        if (ant_upgrade_restart_with_listener(up, passed, &code) != ANT_OK)
            ant_log(ANT_LOG_ERROR, "node", "Restart after rollback failed");
        if (passed >= 0)
            close(passed);
        ant_upgrade_free(up);
        ant_node_service_free(ctx.svc);
        close(sigfd);
        return code;
    }

    err = ant_node_start_with_listener(&cfg, ant_node_service_take_listener(ctx.svc),
                                       &ctx.node);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node run: cannot start: %s\n", ant_strerror(err));
        ant_upgrade_free(up);
        ant_node_service_free(ctx.svc);
        close(sigfd);
        return 1;
    }
    if (ctx.early_state[0] != '\0')
        ant_node_set_upgrade_state(ctx.node, ctx.early_state);
    /* Identity, store and listener are up: READY=1 (ARCHITECTURE.md §11). */
    if (ant_node_service_ready(ctx.svc, ctx.node) != ANT_OK)
        ant_log(ANT_LOG_WARN, "node", "Service watchdog not started");
    struct ant_node *node = ctx.node;

    /*
     * UPGRADE MONITOR HOOK (start). The upgrade engine starts its monitor thread here,
     * unless cfg.no_auto_upgrade, handing it `node` (for ant_node_peer_id_hex,
     * ant_node_root_dirfd, ant_node_config, ant_node_set_upgrade_state and
     * ant_node_request_exit) and argv (to respawn with the same arguments). See
     * docs/OPERATIONS.md, "Upgrade hooks".
     */
    if (cfg.no_auto_upgrade)
        ant_log(ANT_LOG_INFO, "node", "Auto-upgrade disabled by configuration");
    /* Started even without auto-upgrade: it also confirms a trial boot. */
    if (up != NULL && (ant_upgrade_set_peer_id(up, ant_node_peer_id_hex(node)) != ANT_OK ||
                       ant_upgrade_monitor_start(up) != ANT_OK))
        ant_log(ANT_LOG_WARN, "node", "Upgrade monitor not started");

    code = ant_node_wait(node, sigfd);

    /* UPGRADE MONITOR HOOK (stop): stop and join the monitor here, before the node
     * (and the store it may be reporting on) goes away. */

    ant_upgrade_monitor_stop(up);
    ant_node_service_stopping(ctx.svc, code);
    /* Standalone, the successor inherits the listening socket (under a service manager the
     * fd store already has it): a copy outlives ant_node_stop(). */
    int handover = -1;
    bool restart = up != NULL && ant_upgrade_restart_pending(up);
    if (restart && !cfg.stop_on_upgrade && ant_node_dup_listener(node, &handover) != ANT_OK)
        ant_log(ANT_LOG_WARN, "node", "Cannot keep the listener for the successor");
    ctx.node = NULL;
    ant_node_stop(node);
    node = NULL;
    if (restart && ant_upgrade_restart_with_listener(up, handover, &code) != ANT_OK)
        ant_log(ANT_LOG_ERROR, "node", "Restart into the new binary failed");
    if (handover >= 0)
        close(handover);
    ant_upgrade_free(up);
    ant_node_service_free(ctx.svc);
    close(sigfd);
    return code;
}
