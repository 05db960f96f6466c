/*
 * Command-line plumbing for the daemon's subcommands (see node_cli.h). Settings are looked
 * up in the config table, so a new setting is accepted on the command line without any
 * change here.
 */
#include "node_cli.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"

extern char **environ;

static int add_multi(const char *cmd, const struct node_cli_opt *o, const char *value,
                     struct node_cli *cli)
{
    const char *p = value;
    while (*p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            char *copy;
            if (*o->nmulti >= NODE_CLI_MULTI_MAX ||
                len + 1 > sizeof cli->multibuf - cli->multiused) {
                fprintf(stderr, "ant-node %s: too many values for %s\n", cmd, o->spelling);
                return 2;
            }
            copy = cli->multibuf + cli->multiused;
            memcpy(copy, p, len);
            copy[len] = '\0';
            cli->multiused += len + 1;
            o->multi[(*o->nmulti)++] = copy;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return 0;
}

static void print_help(const char *usage)
{
    printf("%s\n", usage);
    printf("Every setting is also accepted as an option (command line > ANT_* environment >\n"
           "--config FILE > default; `ant-node run --print-config` shows the result):\n");
    for (int k = 0; k < ANT_CFG_COUNT; k++) {
        const char *name = ant_node_config_key_name((enum ant_node_config_key)k);
        printf("  --%s%s\n", name,
               ant_node_config_is_bool((enum ant_node_config_key)k) ? "[=BOOL]" : " VALUE");
    }
}

int node_cli_parse(const char *cmd, int argc, char **argv, int first,
                   const struct node_cli_opt *own, size_t nown, struct node_cli *cli)
{
    return node_cli_parse_help(cmd, NULL, argc, argv, first, own, nown, cli);
}

int node_cli_parse_help(const char *cmd, const char *usage, int argc, char **argv, int first,
                        const struct node_cli_opt *own, size_t nown, struct node_cli *cli)
{
    memset(cli, 0, sizeof *cli);
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (usage != NULL && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            print_help(usage);
            cli->help = true;
            return 0;
        }
        const struct node_cli_opt *o = NULL;
        const char *eq, *value = NULL;
        char name[64];
        size_t nlen;
        int key;

        if (arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (cli->npos >= NODE_CLI_POS_MAX) {
                fprintf(stderr, "ant-node %s: too many arguments\n", cmd);
                return 2;
            }
            cli->pos[cli->npos++] = arg;
            continue;
        }
        eq = strchr(arg, '=');
        nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        for (size_t k = 0; k < nown; k++)
            if (strlen(own[k].spelling) == nlen && strncmp(own[k].spelling, arg, nlen) == 0)
                o = &own[k];
        if (o != NULL) {
            if (o->flag != NULL) {
                if (eq != NULL) {
                    fprintf(stderr, "ant-node %s: %s takes no value\n", cmd, o->spelling);
                    return 2;
                }
                *o->flag = true;
                continue;
            }
            if (eq != NULL)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                fprintf(stderr, "ant-node %s: %s needs a value\n", cmd, o->spelling);
                return 2;
            }
            if (o->value != NULL)
                *o->value = value;
            else if (add_multi(cmd, o, value, cli) != 0)
                return 2;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || nlen - 2 >= sizeof name) {
            fprintf(stderr, "ant-node %s: unknown option %s\n", cmd, arg);
            return 2;
        }
        memcpy(name, arg + 2, nlen - 2);
        name[nlen - 2] = '\0';
        key = ant_node_config_lookup(name);
        if (key < 0) {
            fprintf(stderr, "ant-node %s: unknown option %s\n", cmd, arg);
            return 2;
        }
        if (eq != NULL)
            value = eq + 1;
        else if (ant_node_config_is_bool((enum ant_node_config_key)key))
            value = "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "ant-node %s: --%s needs a value\n", cmd, name);
            return 2;
        }
        if (cli->nargs >= ANT_NODE_CONFIG_CLI_MAX) {
            fprintf(stderr, "ant-node %s: too many options\n", cmd);
            return 2;
        }
        cli->args[cli->nargs].name = ant_node_config_key_name((enum ant_node_config_key)key);
        cli->args[cli->nargs].value = value;
        cli->nargs++;
    }
    return 0;
}

int node_cli_config(const char *cmd, const struct node_cli *cli, struct ant_node_config *cfg)
{
    char why[1024];
    ant_err err = ant_node_config_resolve(cfg, cli->args, cli->nargs, environ, why, sizeof why);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node %s: configuration: %s\n", cmd, why);
        return 2;
    }
    ant_log_set_level(cfg->log_level);
    return 0;
}

#define DEVNET_MANIFEST_MAX ((size_t)1 << 20)

int node_cli_read_json(const char *cmd, const char *path, size_t cap, struct json_object **out)
{
    char *d = strdup(path), *b = strdup(path);
    struct json_tokener *tok = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    int dirfd = -1, rc = 2;
    ant_err err;

    *out = NULL;
    if (d == NULL || b == NULL || cap > (size_t)INT32_MAX)
        goto out;
    /* Capped, O_NOFOLLOW, checked on the open fd: a manifest is user input like any other. */
    dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    err = dirfd < 0 ? ANT_ERR_NOT_FOUND : ant_fsx_read_capped(dirfd, basename(b), cap, &text, &len);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node %s: %s: %s\n", cmd, path, ant_strerror(err));
        goto out;
    }
    tok = json_tokener_new_ex(8);
    if (tok == NULL)
        goto out;
    *out = json_tokener_parse_ex(tok, (const char *)text, (int)len);
    if (*out == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        fprintf(stderr, "ant-node %s: %s: not valid JSON\n", cmd, path);
        if (*out != NULL)
            json_object_put(*out);
        *out = NULL;
        goto out;
    }
    rc = 0;
out:
    if (tok != NULL)
        json_tokener_free(tok);
    free(text);
    if (dirfd >= 0)
        close(dirfd);
    free(d);
    free(b);
    return rc;
}

int node_cli_devnet_addrs(const char *cmd, const char *path, const char **addrs, size_t *n,
                          struct node_cli *cli)
{
    json_object *o = NULL, *ports;
    int rc = 2;

    if (node_cli_read_json(cmd, path, DEVNET_MANIFEST_MAX, &o) != 0)
        goto out;
    if (!json_object_object_get_ex(o, "node_ports", &ports) ||
        !json_object_is_type(ports, json_type_array)) {
        fprintf(stderr, "ant-node %s: %s: not a devnet manifest (no node_ports)\n", cmd, path);
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(ports); i++) {
        json_object *p = json_object_array_get_idx(ports, i);
        int64_t port = json_object_is_type(p, json_type_int) ? json_object_get_int64(p) : 0;
        char addr[32];
        int alen;
        if (port < 1 || port > 65535 || *n >= NODE_CLI_MULTI_MAX) {
            fprintf(stderr, "ant-node %s: %s: bad or too many node ports\n", cmd, path);
            goto out;
        }
        alen = snprintf(addr, sizeof addr, "127.0.0.1:%d", (int)port);
        if ((size_t)alen + 1 > sizeof cli->multibuf - cli->multiused) {
            fprintf(stderr, "ant-node %s: too many nodes\n", cmd);
            goto out;
        }
        memcpy(cli->multibuf + cli->multiused, addr, (size_t)alen + 1);
        addrs[(*n)++] = cli->multibuf + cli->multiused;
        cli->multiused += (size_t)alen + 1;
    }
    rc = 0;
out:
    if (o != NULL)
        json_object_put(o);
    return rc;
}

int node_cli_connect_all(const char *cmd, const char *const *addrs, size_t naddrs,
                         unsigned timeout_ms, struct node_peer *peers)
{
    for (size_t i = 0; i < naddrs; i++) {
        ant_err err;
        memset(&peers[i], 0, sizeof peers[i]);
        err = ant_node_client_connect(addrs[i], timeout_ms, &peers[i].client);
        if (err == ANT_OK)
            err = ant_node_client_status(peers[i].client, &peers[i].status);
        if (err != ANT_OK) {
            fprintf(stderr, "ant-node %s: node %s: %s\n", cmd, addrs[i], ant_strerror(err));
            node_cli_close_all(peers, i + 1);
            return 1;
        }
    }
    return 0;
}

int node_cli_connect_some(const char *cmd, const char *const *addrs, size_t naddrs,
                          unsigned timeout_ms, struct node_peer *peers, size_t *nconnected)
{
    *nconnected = 0;
    for (size_t i = 0; i < naddrs; i++) {
        struct node_peer *p = &peers[*nconnected];
        ant_err err;
        memset(p, 0, sizeof *p);
        err = ant_node_client_connect(addrs[i], timeout_ms, &p->client);
        if (err == ANT_OK)
            err = ant_node_client_status(p->client, &p->status);
        if (err != ANT_OK) {
            fprintf(stderr, "ant-node %s: node %s: %s (skipped)\n", cmd, addrs[i],
                    ant_strerror(err));
            ant_node_client_close(p->client);
            p->client = NULL;
            continue;
        }
        (*nconnected)++;
    }
    if (*nconnected == 0) {
        fprintf(stderr, "ant-node %s: no node could be reached\n", cmd);
        return 1;
    }
    return 0;
}

void node_cli_close_all(struct node_peer *peers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ant_node_client_close(peers[i].client);
        peers[i].client = NULL;
    }
}

void node_cli_order_by_distance(const struct node_peer *peers, size_t n,
                                const uint8_t addr[32], size_t *order)
{
    /* Insertion sort: n is a handful of nodes. */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        order[i] = i;
        while (j > 0 && ant_node_xor_cmp(peers[order[j]].status.peer_id_bin,
                                         peers[order[j - 1]].status.peer_id_bin, addr) < 0) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
            j--;
        }
    }
}
