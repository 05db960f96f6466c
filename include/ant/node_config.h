/*
 * Node configuration: every setting of the daemon and of its upgrade engine, resolved with
 * the precedence command line > ANT_* environment > INI file (--config) > built-in
 * defaults, and the source each effective value came from (for `run --print-config`).
 *
 * Every setting has one name used everywhere: `--name value` (or `--name=value`; booleans
 * may be given as a bare `--name`), environment variable ANT_NAME with '-' turned into '_'
 * and upper-cased (`upgrade-api-url` -> ANT_UPGRADE_API_URL), and `name = value` in the INI
 * file. The file itself is named by `--config` or ANT_CONFIG (never by the file).
 *
 * Value syntax: durations are an integer with an optional unit ms, s, m, h or d (bare =
 * seconds); sizes are an integer with an optional unit B, K/KiB, M/MiB, G/GiB, T/TiB
 * (bare = bytes); booleans are true/false, yes/no, on/off or 1/0.
 */
#ifndef ANT_NODE_CONFIG_H
#define ANT_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ant/err.h"
#include "ant/log.h"

#define ANT_NODE_CONFIG_STR_MAX 1024     /* bytes per string setting, NUL included */
#define ANT_NODE_CONFIG_INI_MAX (64 * 1024) /* cap on the INI file and ini_parse input */
#define ANT_NODE_CONFIG_LINE_MAX 2048    /* cap on one INI line */
#define ANT_NODE_CONFIG_CLI_MAX 64       /* command-line settings per invocation */

enum ant_node_config_source {
    ANT_NODE_CONFIG_DEFAULT = 0,
    ANT_NODE_CONFIG_FILE = 1,
    ANT_NODE_CONFIG_ENV = 2,
    ANT_NODE_CONFIG_CLI = 3,
};

/* Identifiers of the settings, in --print-config order. */
enum ant_node_config_key {
    ANT_CFG_CONFIG,
    ANT_CFG_ROOT_DIR,
    ANT_CFG_LISTEN,
    ANT_CFG_WORKERS,
    ANT_CFG_MAX_FRAME,
    ANT_CFG_MAX_CONNECTIONS,
    ANT_CFG_IDLE_TIMEOUT,
    ANT_CFG_FRAME_TIMEOUT,
    ANT_CFG_MAX_CONNECTIONS_PER_ADDRESS,
    ANT_CFG_MAX_BUFFER_MEMORY,
    ANT_CFG_MAP_SIZE,
    ANT_CFG_VERIFY_READS,
    ANT_CFG_LOG_LEVEL,
    ANT_CFG_NO_AUTO_UPGRADE,
    ANT_CFG_STOP_ON_UPGRADE,
    ANT_CFG_UPGRADE_API_URL,
    ANT_CFG_UPGRADE_REPO,
    ANT_CFG_UPGRADE_CHANNEL,
    ANT_CFG_CACHE_DIR,
    ANT_CFG_TRUSTED_KEYS_DIR,
    ANT_CFG_CA_FILE,
    ANT_CFG_CHECK_INTERVAL,
    ANT_CFG_ROLLOUT_WINDOW,
    ANT_CFG_RELEASE_TTL,
    ANT_CFG_CONNECT_TIMEOUT,
    ANT_CFG_TRANSFER_TIMEOUT,
    ANT_CFG_STALL_TIMEOUT,
    ANT_CFG_LOCK_TIMEOUT,
    ANT_CFG_TRIAL_PERIOD,
    ANT_CFG_METRICS_LISTEN,
    ANT_CFG_METRICS_ALLOW_REMOTE,
    ANT_CFG_TRUSTED_ROOT,
    ANT_CFG_METADATA_URL,
    ANT_CFG_COUNT
};

/*
 * The effective settings. A plain value struct (no pointers, nothing to free) so the
 * daemon and the upgrade engine can copy it freely. Durations are milliseconds.
 */
struct ant_node_config {
    char config[ANT_NODE_CONFIG_STR_MAX];     /* INI file path, "" = none */
    char root_dir[ANT_NODE_CONFIG_STR_MAX];   /* node state: identity, chunks, node.port */
    char listen[ANT_NODE_CONFIG_STR_MAX];     /* ADDR:PORT, [v6]:PORT; port 0 = any */
    unsigned workers;                         /* protocol worker threads, 1..64 */
    uint64_t max_frame;                       /* largest frame accepted, bytes */
    unsigned max_connections;                 /* open client connections, 1..65536 */
    uint64_t idle_timeout_ms;                 /* close a connection idle this long */
    uint64_t frame_timeout_ms;                /* a started frame, in or out, must finish */
    unsigned max_connections_per_address;     /* per IPv4 address / IPv6 /64, 1..65536 */
    uint64_t max_buffer_memory;               /* all connections' buffers together, bytes */
    uint64_t map_size;                        /* LMDB map size: chunk store capacity */
    bool verify_reads;                        /* re-hash chunks on GET */
    enum ant_log_level log_level;
    bool no_auto_upgrade;                     /* do not start the upgrade monitor */
    bool stop_on_upgrade;                     /* exit 75 for the service manager to restart */
    char upgrade_api_url[ANT_NODE_CONFIG_STR_MAX]; /* GitHub-compatible REST API base */
    char upgrade_repo[ANT_NODE_CONFIG_STR_MAX];    /* owner/name of the release repository */
    char upgrade_channel[16];                 /* "stable" or "beta" */
    char cache_dir[ANT_NODE_CONFIG_STR_MAX];  /* shared upgrade cache, "" = XDG default */
    char trusted_keys_dir[ANT_NODE_CONFIG_STR_MAX]; /* extra release keys, "" = none */
    char ca_file[ANT_NODE_CONFIG_STR_MAX];    /* CA bundle for HTTPS, "" = system default */
    uint64_t check_interval_ms;
    uint64_t rollout_window_ms;
    uint64_t release_ttl_ms;
    uint64_t connect_timeout_ms;
    uint64_t transfer_timeout_ms;
    uint64_t stall_timeout_ms;
    uint64_t lock_timeout_ms;
    uint64_t trial_period_ms;
    char metrics_listen[ANT_NODE_CONFIG_STR_MAX]; /* /metrics + /healthz ADDR:PORT, "" = off */
    bool metrics_allow_remote;                /* let metrics-listen be a non-loopback address */
    char trusted_root[ANT_NODE_CONFIG_STR_MAX]; /* metadata trust anchor (root envelope),
                                                * "" = the build's packaging/root.json */
    char metadata_url[ANT_NODE_CONFIG_STR_MAX]; /* metadata base URL, "" = the assets of
                                                * the upgrade repo's release `metadata` */
    enum ant_node_config_source source[ANT_CFG_COUNT];
};

/* One `--name value` pair from a command line (pointers borrowed from argv). */
struct ant_node_config_arg {
    const char *name; /* without the leading "--" */
    const char *value;
};

/*
 * Sets every field to its default. `envp` (may be NULL) is only used for the defaults
 * derived from HOME / XDG_DATA_HOME: root-dir = $XDG_DATA_HOME/ant/node (else
 * $HOME/.local/share/ant/node, else ./ant-node-data); cache-dir stays "" and the upgrade
 * engine derives its own default.
 */
void ant_node_config_defaults(struct ant_node_config *c, char *const *envp);

/* Name of setting `key` ("root-dir", ...), or NULL if out of range. */
const char *ant_node_config_key_name(enum ant_node_config_key key);

/* Looks a setting up by name. Returns its key, or -1 if unknown. */
int ant_node_config_lookup(const char *name);

/* True if setting `key` is a boolean (may be given as a bare --flag). */
bool ant_node_config_is_bool(enum ant_node_config_key key);

/* Name of a source: "default", "file", "env", "cli". */
const char *ant_node_config_source_name(enum ant_node_config_source src);

/*
 * Parses `value` for setting `name` and stores it with `source`. On error *c is unchanged
 * and, if errbuf is given, a one-line reason is written there.
 * Errors: ANT_ERR_NOT_FOUND (unknown name), ANT_ERR_PARSE (bad value or out of range).
 */
ANT_MUST_CHECK ant_err ant_node_config_set(struct ant_node_config *c, const char *name,
                                           const char *value,
                                           enum ant_node_config_source source, char *errbuf,
                                           size_t errcap);

/*
 * The INI parser: a pure function over `len` bytes of `buf` (not NUL-terminated; at most
 * ANT_NODE_CONFIG_INI_MAX). Calls `cb(ctx, key, value, line)` for each `key = value`
 * line, in order, with whitespace trimmed and one pair of surrounding double quotes
 * removed from the value. Blank lines and lines starting with '#' or ';' are skipped. A
 * `[section]` line is accepted and ignored (settings are global names). A callback
 * returning non-OK stops the parse with that error. *err_line (may be NULL) receives the
 * 1-based line of the first error.
 * Errors: ANT_ERR_TOO_LARGE (input or a line over its cap), ANT_ERR_PARSE (no '=', empty
 * key, a NUL byte, an unterminated quote or section), or the callback's error.
 */
typedef ant_err (*ant_node_config_ini_cb)(void *ctx, const char *key, const char *value,
                                          size_t line);
ANT_MUST_CHECK ant_err ant_node_config_ini_parse(const char *buf, size_t len,
                                                 ant_node_config_ini_cb cb, void *ctx,
                                                 size_t *err_line);

/*
 * Resolves the full configuration: defaults (from envp), then the INI file named by the
 * `config` setting (command line first, then ANT_CONFIG), then every ANT_* variable of
 * `envp` that names a setting, then the `args` from the command line. Unknown ANT_*
 * variables are ignored (other tools share the prefix); an unknown key in the file or on
 * the command line is an error. The file is opened without following a final symlink and
 * must be a regular file of at most ANT_NODE_CONFIG_INI_MAX bytes.
 * Errors: ANT_ERR_NOT_FOUND (unknown setting or missing file), ANT_ERR_PARSE,
 * ANT_ERR_TOO_LARGE, ANT_ERR_UNSAFE_FILE, ANT_ERR_IO; errbuf explains.
 */
ANT_MUST_CHECK ant_err ant_node_config_resolve(struct ant_node_config *c,
                                               const struct ant_node_config_arg *args,
                                               size_t nargs, char *const *envp,
                                               char *errbuf, size_t errcap);

/* Writes the effective value of `key` into buf (durations and sizes in their largest
 * exact unit, e.g. "1h", "4MiB"). */
void ant_node_config_format(const struct ant_node_config *c, enum ant_node_config_key key,
                            char *buf, size_t cap);

/* Prints every setting as `name = value  # source`, one per line. */
void ant_node_config_print(const struct ant_node_config *c, FILE *out);

#endif
