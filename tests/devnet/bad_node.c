/*
 * A broken ant-node release for the devnet rollback scenario: it passes the upgrader's
 * pre-install validation (an ELF for this host that prints `ant-node <version>` for
 * --version), but `run` exits with status 1 right after start-up's trial-boot check, the
 * way a release that crashes during start-up does. The trial-boot check is the real upgrade
 * engine (ant_upgrade_boot): it counts each failed start, and once the attempts are used up
 * it restores the previous binary, marks this version bad for the host and asks for a
 * restart (exit 75), exactly as the real daemon's start-up would.
 *
 * Its version comes from the build (BAD_NODE_VERSION), above the version the devnet rolls
 * out first, so the fleet takes it as an upgrade.
 *
 * Built with BAD_NODE_HANG (devnet_hang_node) it is the hanging release instead: after the
 * trial-boot check it never sends READY=1 and never exits, the failure a crash count alone
 * misses. Only a service manager's start timeout ends it (ARCHITECTURE.md §11).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/node_identity.h"
#include "ant/upgrade.h"

#ifndef BAD_NODE_VERSION
#error "BAD_NODE_VERSION must be defined by the build"
#endif

/* Value of `--name=value` or `--name value` in argv, or NULL. */
static const char *opt(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
        if (strcmp(argv[i], name) == 0 && i + 1 < argc)
            return argv[i + 1];
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("ant-node %s\n", BAD_NODE_VERSION);
        return 0;
    }
    /* The settings' environment form too, as the systemd unit passes them. */
    const char *root = opt(argc, argv, "--root-dir");
    const char *cache = opt(argc, argv, "--cache-dir");
    if (root == NULL)
        root = getenv("ANT_ROOT_DIR");
    if (cache == NULL)
        cache = getenv("ANT_CACHE_DIR");
    if (argc < 2 || strcmp(argv[1], "run") != 0 || root == NULL) {
        fprintf(stderr, "usage: ant-node run --root-dir DIR [--cache-dir DIR]\n");
        return 2;
    }
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct ant_node_identity *id = NULL;
    struct ant_upgrade *u = NULL;
    int code = 1;
    if (rootfd < 0 || ant_node_identity_load(rootfd, &id) != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node", "Cannot load identity root=%s", root);
        goto out;
    }
    struct ant_upgrade_config cfg;
    ant_upgrade_config_init(&cfg);
    cfg.root_dir = root;
    cfg.peer_id = ant_node_identity_peer_id_hex(id);
    cfg.running_version = BAD_NODE_VERSION;
    cfg.cache_dir = cache;
    cfg.stop_on_upgrade = true;
    bool restart = false;
    ant_err e = ant_upgrade_new(&cfg, argc, argv, &u);
    if (e == ANT_OK)
        e = ant_upgrade_boot(u, &restart);
    if (e != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "node", "Trial boot check failed error=%s", ant_strerror(e));
        goto out;
    }
    if (restart) {
        /* rolled back: leave for the restored binary like the daemon does */
        if (ant_upgrade_restart(u, &code) != ANT_OK)
            code = ANT_UPGRADE_EXIT_RESTART;
        goto out;
    }
#ifdef BAD_NODE_HANG
    ant_log(ANT_LOG_ERROR, "node", "Start-up hangs (devnet hanging release) version=%s",
            BAD_NODE_VERSION);
    for (;;)
        pause();
#endif
    ant_log(ANT_LOG_ERROR, "node", "Start-up failed (devnet broken release) version=%s",
            BAD_NODE_VERSION);
    code = 1;
out:
    ant_upgrade_free(u);
    ant_node_identity_free(id);
    if (rootfd >= 0)
        close(rootfd);
    return code;
}
