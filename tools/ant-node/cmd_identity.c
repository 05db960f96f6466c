/*
 * `ant-node identity show [--root-dir D]`: prints the node's peer id (hex SHA-256 of its
 * ML-DSA-65 public key). It only reads: a root without an identity is an error, because
 * the identity is created by the first `ant-node run`, not by looking at it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/node_identity.h"
#include "node_cli.h"

#define IDENTITY_USAGE "usage: ant-node identity show [--root-dir DIR]"

int cmd_identity(int argc, char **argv)
{
    struct ant_node_config cfg;
    struct ant_node_identity *id = NULL;
    struct node_cli cli;
    ant_err err;
    int rootfd = -1, rc;

    rc = node_cli_parse_help("identity", IDENTITY_USAGE, argc, argv, 1, NULL, 0, &cli);
    if (rc != 0 || cli.help)
        return rc;
    if (cli.npos != 1 || strcmp(cli.pos[0], "show") != 0) {
        fprintf(stderr, "%s\n", IDENTITY_USAGE);
        return 2;
    }
    rc = node_cli_config("identity", &cli, &cfg);
    if (rc != 0)
        return rc;
    err = ant_fsx_open_trusted_dir(cfg.root_dir, false, &rootfd);
    if (err == ANT_OK)
        err = ant_node_identity_load(rootfd, &id);
    if (rootfd >= 0)
        close(rootfd);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node identity: %s: %s%s\n", cfg.root_dir, ant_strerror(err),
                err == ANT_ERR_NOT_FOUND ? " (start the node once to create it)" : "");
        return 1;
    }
    printf("%s\n", ant_node_identity_peer_id_hex(id));
    ant_node_identity_free(id);
    return fflush(stdout) == 0 ? 0 : 1;
}
