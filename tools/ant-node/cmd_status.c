/*
 * `ant-node status [--root-dir D] [--json] [--addr HOST:PORT]`: asks a running node for
 * STATUS. Without --addr the port comes from <root>/node.port (written by the running
 * node) and the host from the listen setting (a wildcard listen address is reached on
 * loopback).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/node.h"
#include "ant/node_client.h"
#include "ant/node_proto.h"
#include "node_cli.h"

#define STATUS_USAGE "usage: ant-node status [--root-dir DIR] [--addr HOST:PORT] [--json]"

/* Builds HOST:PORT for the node whose root is cfg->root_dir. */
static int local_address(const struct ant_node_config *cfg, char *out, size_t cap)
{
    char host[256];
    uint16_t lport;
    uint8_t *text = NULL;
    size_t len = 0;
    unsigned long port = 0;
    int rootfd = -1;
    ant_err err;

    if (ant_node_split_hostport(cfg->listen, host, sizeof host, &lport) != ANT_OK) {
        fprintf(stderr, "ant-node status: bad listen setting %s\n", cfg->listen);
        return 2;
    }
    err = ant_fsx_open_trusted_dir(cfg->root_dir, false, &rootfd);
    if (err == ANT_OK)
        err = ant_fsx_read_capped(rootfd, ANT_NODE_PORT_FILE, 16, &text, &len);
    if (rootfd >= 0)
        close(rootfd);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node status: %s/%s: %s (is the node running?)\n", cfg->root_dir,
                ANT_NODE_PORT_FILE, ant_strerror(err));
        free(text);
        return 1;
    }
    for (size_t i = 0; i < len && text[i] != '\n'; i++) {
        if (text[i] < '0' || text[i] > '9' || port > 65535) {
            port = 0;
            break;
        }
        port = port * 10 + (unsigned long)(text[i] - '0');
    }
    free(text);
    if (port == 0 || port > 65535) {
        fprintf(stderr, "ant-node status: %s/%s is damaged\n", cfg->root_dir,
                ANT_NODE_PORT_FILE);
        return 1;
    }
    if (strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    else if (strcmp(host, "::") == 0)
        snprintf(host, sizeof host, "::1");
    if (strchr(host, ':') != NULL)
        snprintf(out, cap, "[%s]:%lu", host, port);
    else
        snprintf(out, cap, "%s:%lu", host, port);
    return 0;
}

int cmd_status(int argc, char **argv)
{
    struct ant_node_config cfg;
    struct ant_node_client *client = NULL;
    struct ant_node_status st;
    struct node_cli cli;
    bool json = false;
    const char *addr = NULL;
    const struct node_cli_opt own[] = {
        {"--json", NULL, &json, NULL, NULL},
        {"--addr", &addr, NULL, NULL, NULL},
    };
    char hostport[300];
    char text[ANT_NODE_PROTO_STATUS_MAX + 1];
    ant_err err;
    int rc;

    rc = node_cli_parse_help("status", STATUS_USAGE, argc, argv, 1, own, sizeof own / sizeof own[0], &cli);
    if (rc != 0 || cli.help)
        return rc;
    if (cli.npos > 0) {
        fprintf(stderr, "%s\n", STATUS_USAGE);
        return 2;
    }
    rc = node_cli_config("status", &cli, &cfg);
    if (rc != 0)
        return rc;
    if (addr != NULL) {
        snprintf(hostport, sizeof hostport, "%s", addr);
    } else {
        rc = local_address(&cfg, hostport, sizeof hostport);
        if (rc != 0)
            return rc;
    }
    err = ant_node_client_connect(hostport, (unsigned)cfg.connect_timeout_ms, &client);
    if (err == ANT_OK) {
        if (json)
            err = ant_node_client_status_json(client, text, sizeof text);
        else
            err = ant_node_client_status(client, &st);
    }
    ant_node_client_close(client);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node status: %s: %s\n", hostport, ant_strerror(err));
        return 1;
    }
    if (json) {
        printf("%s\n", text);
    } else {
        printf("address:       %s\n", hostport);
        printf("version:       %s\n", st.version);
        printf("peer id:       %s\n", st.peer_id);
        printf("pid:           %ld\n", st.pid);
        printf("uptime:        %" PRIu64 " s\n", st.uptime_s);
        printf("chunks:        %" PRIu64 "\n", st.chunks);
        printf("bytes stored:  %" PRIu64 "\n", st.bytes);
        printf("upgrade state: %s\n", st.upgrade_state);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
