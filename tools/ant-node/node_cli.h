/*
 * Command-line plumbing shared by the ant-node subcommands of the daemon engineer
 * (run, identity, status, put, get): splitting argv into the command's own options,
 * positional arguments and config settings (every `--<setting>` of ant/node_config.h is
 * accepted by every subcommand), resolving the configuration, and connecting to the
 * nodes named by --to/--from.
 */
#ifndef ANT_NODE_TOOL_NODE_CLI_H
#define ANT_NODE_TOOL_NODE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "ant/node_client.h"
#include "ant/node_config.h"

#define NODE_CLI_POS_MAX 8
#define NODE_CLI_MULTI_MAX 64

/* One option of the subcommand itself. Exactly one of value/flag/multi is set. */
struct node_cli_opt {
    const char *spelling;   /* as typed: "--json", "-o", "--to" */
    const char **value;     /* takes one value (the last occurrence wins) */
    bool *flag;             /* bare flag */
    const char **multi;     /* repeatable; values may also be comma-separated */
    size_t *nmulti;
};

struct node_cli {
    struct ant_node_config_arg args[ANT_NODE_CONFIG_CLI_MAX];
    size_t nargs;
    const char *pos[NODE_CLI_POS_MAX];
    size_t npos;
    char multibuf[4096]; /* storage for split comma lists */
    size_t multiused;
    bool help; /* --help/-h was given and the usage was printed: exit 0 */
};

/* Parses argv[first..]. Prints the problem and returns 2 (usage error) or 0. --help is
 * an unknown option here (so a caller that does not check cli->help never acts on it). */
int node_cli_parse(const char *cmd, int argc, char **argv, int first,
                   const struct node_cli_opt *own, size_t nown, struct node_cli *cli);

/* As node_cli_parse, but --help/-h prints `usage` and the list of settings to stdout,
 * sets cli->help and returns 0: the caller must then exit 0 without acting. */
int node_cli_parse_help(const char *cmd, const char *usage, int argc, char **argv, int first,
                        const struct node_cli_opt *own, size_t nown, struct node_cli *cli);

/* Resolves the configuration from cli + environment + file, sets the log level. Prints
 * the problem and returns 2, or 0. */
int node_cli_config(const char *cmd, const struct node_cli *cli, struct ant_node_config *cfg);

/*
 * Reads the JSON file `path` (at most `cap` bytes, through ant_fsx_read_capped: regular
 * file, no symlink) and parses it into *out, which the caller releases with
 * json_object_put(). Prints the problem prefixed with "ant-node <cmd>:" and returns 2, or
 * returns 0.
 */
struct json_object;
int node_cli_read_json(const char *cmd, const char *path, size_t cap, struct json_object **out);

/*
 * Appends 127.0.0.1:<port> for every entry of "node_ports" in a devnet manifest
 * (`<devnet dir>/devnet.json`, written by ant-devnet) to addrs (cap NODE_CLI_MULTI_MAX).
 * Prints the problem and returns 2, or returns 0.
 */
int node_cli_devnet_addrs(const char *cmd, const char *path, const char **addrs, size_t *n,
                          struct node_cli *cli);

/* A connected node and what its STATUS said. */
struct node_peer {
    struct ant_node_client *client;
    struct ant_node_status status;
};

/* Connects to every address and asks each for STATUS (for its peer id). Returns 0, or
 * prints which node failed and returns 1 (peers already connected are closed). */
int node_cli_connect_all(const char *cmd, const char *const *addrs, size_t naddrs,
                         unsigned timeout_ms, struct node_peer *peers);

/* As node_cli_connect_all, but a node that cannot be reached is reported and skipped:
 * *nconnected peers are filled (in order). Returns 1 only if none could be reached. */
int node_cli_connect_some(const char *cmd, const char *const *addrs, size_t naddrs,
                          unsigned timeout_ms, struct node_peer *peers, size_t *nconnected);
void node_cli_close_all(struct node_peer *peers, size_t n);

/* Fills order[0..n) with peer indexes sorted by XOR distance of their peer id to addr. */
void node_cli_order_by_distance(const struct node_peer *peers, size_t n,
                                const uint8_t addr[32], size_t *order);

/* Subcommands (argv[0] is the subcommand name). */
int cmd_run(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);

#endif
