/*
 * ant-node: the node daemon and its operator commands. main() only dispatches: each
 * subcommand lives in its own cmd_<name>.c and gets argv starting at its own name. With no
 * subcommand (or only options) the node runs. `--version` is answered before anything else
 * is touched, because the upgrader runs `<new binary> --version` on every candidate and
 * expects exactly `ant-node X.Y.Z[-pre]` from a binary with no config, no root dir and a
 * minimal environment.
 */
#include <stdio.h>
#include <string.h>

#include "ant/version.h"

/* Every subcommand: argv[0] is its name, the return value is the exit status. */
int cmd_run(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_cache(int argc, char **argv);

/* The dispatch table: one line per subcommand. */
static const struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"run", cmd_run, "run the node (the default when no command is given)"},
    {"identity", cmd_identity, "show this node's peer id"},
    {"status", cmd_status, "ask running nodes for their status"},
    {"put", cmd_put, "store a chunk on nodes"},
    {"get", cmd_get, "fetch a chunk from nodes"},
    {"upgrade", cmd_upgrade, "check, apply or show the state of an upgrade"},
    {"cache", cmd_cache, "add, list or verify releases in the shared upgrade cache"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ant-node [COMMAND] [OPTIONS...]\n       ant-node --version\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`ant-node COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("ant-node %s\n", ANT_VERSION_STRING);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2 || argv[1][0] == '-')
        return cmd_run(argc, argv);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ant-node: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
