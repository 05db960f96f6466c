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
#include "node_cli.h"

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
    struct ant_node *node = NULL;
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

    err = ant_node_start(&cfg, &node);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node run: cannot start: %s\n", ant_strerror(err));
        close(sigfd);
        return 1;
    }

    /*
     * UPGRADE MONITOR HOOK (start). The upgrade engine starts its monitor thread here,
     * unless cfg.no_auto_upgrade, handing it `node` (for ant_node_peer_id_hex,
     * ant_node_root_dirfd, ant_node_config, ant_node_set_upgrade_state and
     * ant_node_request_exit) and argv (to respawn with the same arguments). See
     * docs/OPERATIONS.md, "Upgrade hooks".
     */
    if (cfg.no_auto_upgrade)
        ant_log(ANT_LOG_INFO, "node", "Auto-upgrade disabled by configuration");

    code = ant_node_wait(node, sigfd);

    /* UPGRADE MONITOR HOOK (stop): stop and join the monitor here, before the node
     * (and the store it may be reporting on) goes away. */

    ant_node_stop(node);
    close(sigfd);
    return code;
}
