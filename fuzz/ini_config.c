/*
 * Fuzz target: the node's INI config parser (ant_node_config_ini_parse) and the value
 * parsers behind it (ant_node_config_set: durations, sizes, booleans, strings). Each
 * `key = value` the parser hands out must be trimmed and NUL-free with line numbers that
 * only grow; a rejected value must leave the config unchanged (the documented contract)
 * and explain itself; an accepted one must survive format -> set -> format unchanged.
 * Input starting with "#!strict" makes the callback return the setter's error, so the
 * stop-on-callback-error path is covered too.
 */
#include <stdbool.h>
#include <string.h>

#include "ant/log.h"
#include "ant/node_config.h"
#include "fuzz.h"

struct ctx {
    struct ant_node_config c;
    bool strict;
    size_t last_line;
    size_t calls;
};

/* The INI format's whitespace: space, tab and the CR of CRLF files (not \f or \v, which
 * stay part of a key and make it unknown). */
static bool is_space_char(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

/* format -> set -> format of one setting must be a fixed point. */
static void check_roundtrip(const struct ant_node_config *c, enum ant_node_config_key key)
{
    char a[ANT_NODE_CONFIG_STR_MAX + 64], b[ANT_NODE_CONFIG_STR_MAX + 64], errbuf[256];
    ant_node_config_format(c, key, a, sizeof a);
    struct ant_node_config copy = *c;
    const char *name = ant_node_config_key_name(key);
    FUZZ_ASSERT(name != NULL);
    errbuf[0] = '\0';
    ant_err err = ant_node_config_set(&copy, name, a, ANT_NODE_CONFIG_CLI, errbuf, sizeof errbuf);
    if (err != ANT_OK) {
        fprintf(stderr, "round trip of %s = '%s' failed: %s\n", name, a, errbuf);
        FUZZ_ASSERT(err == ANT_OK);
    }
    ant_node_config_format(&copy, key, b, sizeof b);
    FUZZ_ASSERT(strcmp(a, b) == 0);
}

static ant_err on_setting(void *arg, const char *key, const char *value, size_t line)
{
    struct ctx *x = arg;
    size_t klen = strlen(key);
    FUZZ_ASSERT(klen > 0 && klen <= ANT_NODE_CONFIG_LINE_MAX);
    FUZZ_ASSERT(!is_space_char(key[0]) && !is_space_char(key[klen - 1]));
    FUZZ_ASSERT(strchr(key, '\n') == NULL && strchr(value, '\n') == NULL);
    FUZZ_ASSERT(strchr(key, '=') == NULL);
    FUZZ_ASSERT(strlen(value) <= ANT_NODE_CONFIG_LINE_MAX);
    FUZZ_ASSERT(line > x->last_line);
    x->last_line = line;
    x->calls++;

    struct ant_node_config before;
    memcpy(&before, &x->c, sizeof before);
    char errbuf[256];
    errbuf[0] = '\0';
    ant_err err = ant_node_config_set(&x->c, key, value, ANT_NODE_CONFIG_FILE, errbuf,
                                      sizeof errbuf);
    if (err != ANT_OK) {
        FUZZ_ASSERT(err == ANT_ERR_NOT_FOUND || err == ANT_ERR_PARSE);
        FUZZ_ASSERT(errbuf[0] != '\0');
        FUZZ_ASSERT(memcmp(&before, &x->c, sizeof before) == 0);
        return x->strict ? err : ANT_OK;
    }
    int k = ant_node_config_lookup(key);
    FUZZ_ASSERT(k >= 0 && k < ANT_CFG_COUNT);
    FUZZ_ASSERT(x->c.source[k] == ANT_NODE_CONFIG_FILE);
    check_roundtrip(&x->c, (enum ant_node_config_key)k);
    return ANT_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ant_log_set_level(ANT_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A static context: the config struct is ~10 KiB, and zeroing it first makes the
     * "unchanged on error" comparison independent of stack garbage in padding. */
    static struct ctx x;
    memset(&x, 0, sizeof x);
    char *const envp[] = {"HOME=/home/fuzz", NULL};
    ant_node_config_defaults(&x.c, envp);
    x.strict = size >= 8 && memcmp(data, "#!strict", 8) == 0;

    /* An exact-size heap copy: the parser must never read past `size`. */
    char *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    size_t err_line = 99999;
    ant_err err = ant_node_config_ini_parse(buf, size, on_setting, &x, &err_line);
    if (err == ANT_OK) {
        FUZZ_ASSERT(err_line == 0);
    } else {
        FUZZ_ASSERT(err == ANT_ERR_TOO_LARGE || err == ANT_ERR_PARSE ||
                    err == ANT_ERR_NOT_FOUND);
        if (size <= ANT_NODE_CONFIG_INI_MAX)
            FUZZ_ASSERT(err_line >= 1 && err_line >= x.last_line && err_line <= size + 1);
    }
    for (int k = 0; k < ANT_CFG_COUNT; k++)
        check_roundtrip(&x.c, (enum ant_node_config_key)k);
    free(buf);
    return 0;
}
