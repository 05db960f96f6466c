/*
 * Node configuration (see ant/node_config.h). One table describes every setting: its
 * name, type, where it lives in the struct, its range and its default text. Defaults are
 * applied by parsing that text with the same code as user input, so a default can never
 * be a value the parser would refuse, and every setting is reachable the same three ways.
 */
#include "ant/node_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum setting_type { T_STR, T_UINT, T_SIZE, T_DURATION, T_BOOL, T_LOGLEVEL, T_CHANNEL };

struct setting {
    const char *name;
    enum setting_type type;
    size_t offset;
    size_t size;  /* of the field */
    uint64_t min; /* numeric range, inclusive */
    uint64_t max;
    const char *def; /* default text; NULL = computed (root-dir) */
};

#define FIELD(f) offsetof(struct ant_node_config, f), sizeof(((struct ant_node_config *)0)->f)
#define MS_DAY ((uint64_t)86400000)

static const struct setting settings[ANT_CFG_COUNT] = {
    [ANT_CFG_CONFIG] = {"config", T_STR, FIELD(config), 0, 0, ""},
    [ANT_CFG_ROOT_DIR] = {"root-dir", T_STR, FIELD(root_dir), 0, 0, NULL},
    [ANT_CFG_LISTEN] = {"listen", T_STR, FIELD(listen), 0, 0, "127.0.0.1:0"},
    [ANT_CFG_WORKERS] = {"workers", T_UINT, FIELD(workers), 1, 64, "4"},
    /* A 4 MiB chunk plus its 32-byte address and the 8-byte header must fit. */
    [ANT_CFG_MAX_FRAME] = {"max-frame", T_SIZE, FIELD(max_frame), 64 * 1024,
                           (uint64_t)64 << 20, "4100KiB"},
    [ANT_CFG_MAX_CONNECTIONS] = {"max-connections", T_UINT, FIELD(max_connections), 1, 65536,
                                 "1024"},
    [ANT_CFG_IDLE_TIMEOUT] = {"idle-timeout", T_DURATION, FIELD(idle_timeout_ms), 100,
                              MS_DAY, "60s"},
    /* 4 MiB in 30 s is 140 KB/s: slower peers are the slowloris case (docs/PROTOCOL.md). */
    [ANT_CFG_FRAME_TIMEOUT] = {"frame-timeout", T_DURATION, FIELD(frame_timeout_ms), 100,
                               MS_DAY, "30s"},
    [ANT_CFG_MAX_CONNECTIONS_PER_ADDRESS] = {"max-connections-per-address", T_UINT,
                                             FIELD(max_connections_per_address), 1, 65536,
                                             "32"},
    /* Receive and send buffers of every connection together; the node checks at start
     * that at least one largest frame fits. */
    [ANT_CFG_MAX_BUFFER_MEMORY] = {"max-buffer-memory", T_SIZE, FIELD(max_buffer_memory),
                                   (uint64_t)1 << 20, (uint64_t)1 << 40, "256MiB"},
    [ANT_CFG_MAP_SIZE] = {"map-size", T_SIZE, FIELD(map_size), (uint64_t)1 << 20,
                          (uint64_t)1 << 50, "64GiB"},
    [ANT_CFG_VERIFY_READS] = {"verify-reads", T_BOOL, FIELD(verify_reads), 0, 1, "true"},
    [ANT_CFG_LOG_LEVEL] = {"log-level", T_LOGLEVEL, FIELD(log_level), 0, 0, "info"},
    [ANT_CFG_NO_AUTO_UPGRADE] = {"no-auto-upgrade", T_BOOL, FIELD(no_auto_upgrade), 0, 1,
                                 "false"},
    [ANT_CFG_STOP_ON_UPGRADE] = {"stop-on-upgrade", T_BOOL, FIELD(stop_on_upgrade), 0, 1,
                                 "false"},
    [ANT_CFG_UPGRADE_API_URL] = {"upgrade-api-url", T_STR, FIELD(upgrade_api_url), 0, 0,
                                 "https://api.github.com"},
    [ANT_CFG_UPGRADE_REPO] = {"upgrade-repo", T_STR, FIELD(upgrade_repo), 0, 0,
                              "WithAutonomi/ant-node"},
    [ANT_CFG_UPGRADE_CHANNEL] = {"upgrade-channel", T_CHANNEL, FIELD(upgrade_channel), 0, 0,
                                 "stable"},
    [ANT_CFG_CACHE_DIR] = {"cache-dir", T_STR, FIELD(cache_dir), 0, 0, ""},
    [ANT_CFG_TRUSTED_KEYS_DIR] = {"trusted-keys-dir", T_STR, FIELD(trusted_keys_dir), 0, 0,
                                  ""},
    [ANT_CFG_CA_FILE] = {"ca-file", T_STR, FIELD(ca_file), 0, 0, ""},
    [ANT_CFG_CHECK_INTERVAL] = {"check-interval", T_DURATION, FIELD(check_interval_ms), 1000,
                                30 * MS_DAY, "1h"},
    [ANT_CFG_ROLLOUT_WINDOW] = {"rollout-window", T_DURATION, FIELD(rollout_window_ms), 0,
                                30 * MS_DAY, "24h"},
    [ANT_CFG_RELEASE_TTL] = {"release-ttl", T_DURATION, FIELD(release_ttl_ms), 0, MS_DAY,
                             "1h"},
    [ANT_CFG_CONNECT_TIMEOUT] = {"connect-timeout", T_DURATION, FIELD(connect_timeout_ms),
                                 100, 3600000, "10s"},
    [ANT_CFG_TRANSFER_TIMEOUT] = {"transfer-timeout", T_DURATION, FIELD(transfer_timeout_ms),
                                  1000, MS_DAY, "10m"},
    [ANT_CFG_STALL_TIMEOUT] = {"stall-timeout", T_DURATION, FIELD(stall_timeout_ms), 1000,
                               3600000, "30s"},
    [ANT_CFG_LOCK_TIMEOUT] = {"lock-timeout", T_DURATION, FIELD(lock_timeout_ms), 0, MS_DAY,
                              "10m"},
    [ANT_CFG_TRIAL_PERIOD] = {"trial-period", T_DURATION, FIELD(trial_period_ms), 1000,
                              MS_DAY, "60s"},
    [ANT_CFG_METRICS_LISTEN] = {"metrics-listen", T_STR, FIELD(metrics_listen), 0, 0, ""},
    [ANT_CFG_METRICS_ALLOW_REMOTE] = {"metrics-allow-remote", T_BOOL,
                                      FIELD(metrics_allow_remote), 0, 1, "false"},
    /* Checked when the engine reads it (ant_meta_read_trusted_root: owner, mode, no
     * symlink, as --trusted-keys-dir) and the URL when the engine starts (https, or http
     * to loopback only). */
    [ANT_CFG_TRUSTED_ROOT] = {"trusted-root", T_STR, FIELD(trusted_root), 0, 0, ""},
    [ANT_CFG_METADATA_URL] = {"metadata-url", T_STR, FIELD(metadata_url), 0, 0, ""},
};

static void seterr(char *errbuf, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *errbuf, size_t errcap, const char *fmt, ...)
{
    va_list ap;
    if (errbuf == NULL || errcap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, errcap, fmt, ap);
    va_end(ap);
}

const char *ant_node_config_key_name(enum ant_node_config_key key)
{
    if ((int)key < 0 || key >= ANT_CFG_COUNT)
        return NULL;
    return settings[key].name;
}

int ant_node_config_lookup(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < ANT_CFG_COUNT; i++)
        if (strcmp(settings[i].name, name) == 0)
            return i;
    return -1;
}

bool ant_node_config_is_bool(enum ant_node_config_key key)
{
    return (int)key >= 0 && key < ANT_CFG_COUNT && settings[key].type == T_BOOL;
}

const char *ant_node_config_source_name(enum ant_node_config_source src)
{
    switch (src) {
    case ANT_NODE_CONFIG_DEFAULT:
        return "default";
    case ANT_NODE_CONFIG_FILE:
        return "file";
    case ANT_NODE_CONFIG_ENV:
        return "env";
    case ANT_NODE_CONFIG_CLI:
        return "cli";
    }
    return "?";
}

/* Parses a decimal uint64 prefix; *end points after the digits. False on no digits or
 * overflow. strtoull is avoided: it accepts signs, spaces and hex. */
static bool parse_digits(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p)) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        p++;
    }
    *out = v;
    *end = p;
    return true;
}

static bool mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > UINT64_MAX / b)
        return false;
    *out = a * b;
    return true;
}

static bool parse_duration_ms(const char *s, uint64_t *ms)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
                 {"d", 86400000}};
    const char *end;
    uint64_t v;
    if (!parse_digits(s, &v, &end))
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0)
            return mul_ok(v, units[i].mult, ms);
    return false;
}

static bool parse_size(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *unit;
        unsigned shift;
    } units[] = {{"", 0},    {"B", 0},    {"K", 10},   {"KiB", 10}, {"M", 20},
                 {"MiB", 20}, {"G", 30},  {"GiB", 30}, {"T", 40},   {"TiB", 40}};
    const char *end;
    uint64_t v;
    if (!parse_digits(s, &v, &end))
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0)
            return mul_ok(v, (uint64_t)1 << units[i].shift, bytes);
    return false;
}

static bool parse_bool(const char *s, bool *b)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *b = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *b = false;
            return true;
        }
    }
    return false;
}

static bool has_control_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

ant_err ant_node_config_set(struct ant_node_config *c, const char *name, const char *value,
                            enum ant_node_config_source source, char *errbuf, size_t errcap)
{
    int key;
    const struct setting *st;
    uint8_t *field;
    uint64_t num = 0;
    bool b;
    enum ant_log_level level;

    if (c == NULL || name == NULL || value == NULL)
        return ANT_ERR_INVALID_ARG;
    key = ant_node_config_lookup(name);
    if (key < 0) {
        seterr(errbuf, errcap, "unknown setting '%s'", name);
        return ANT_ERR_NOT_FOUND;
    }
    st = &settings[key];
    field = (uint8_t *)c + st->offset;

    switch (st->type) {
    case T_STR:
    case T_CHANNEL: {
        size_t len = strlen(value);
        if (len >= st->size || has_control_chars(value)) {
            seterr(errbuf, errcap, "%s: value too long or has control characters", name);
            return ANT_ERR_PARSE;
        }
        if (st->type == T_CHANNEL && strcmp(value, "stable") != 0 &&
            strcmp(value, "beta") != 0) {
            seterr(errbuf, errcap, "%s: '%s' is not stable or beta", name, value);
            return ANT_ERR_PARSE;
        }
        memcpy(field, value, len + 1);
        break;
    }
    case T_UINT:
    case T_SIZE:
    case T_DURATION: {
        const char *end;
        bool ok;
        if (st->type == T_UINT)
            ok = parse_digits(value, &num, &end) && *end == '\0';
        else if (st->type == T_SIZE)
            ok = parse_size(value, &num);
        else
            ok = parse_duration_ms(value, &num);
        if (!ok) {
            seterr(errbuf, errcap, "%s: cannot parse '%s'%s", name, value,
                   st->type == T_SIZE       ? " (want e.g. 4MiB)"
                   : st->type == T_DURATION ? " (want e.g. 30s, 1h)"
                                            : "");
            return ANT_ERR_PARSE;
        }
        if (num < st->min || num > st->max) {
            seterr(errbuf, errcap, "%s: '%s' out of range", name, value);
            return ANT_ERR_PARSE;
        }
        if (st->size == sizeof(unsigned)) {
            unsigned u = (unsigned)num;
            memcpy(field, &u, sizeof u);
        } else {
            memcpy(field, &num, sizeof num);
        }
        break;
    }
    case T_BOOL:
        if (!parse_bool(value, &b)) {
            seterr(errbuf, errcap, "%s: '%s' is not a boolean", name, value);
            return ANT_ERR_PARSE;
        }
        memcpy(field, &b, sizeof b);
        break;
    case T_LOGLEVEL:
        if (!ant_log_parse_level(value, &level)) {
            seterr(errbuf, errcap, "%s: '%s' is not error, warn, info or debug", name,
                   value);
            return ANT_ERR_PARSE;
        }
        memcpy(field, &level, sizeof level);
        break;
    }
    c->source[key] = source;
    return ANT_OK;
}

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    if (envp == NULL)
        return NULL;
    for (size_t i = 0; envp[i] != NULL; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

void ant_node_config_defaults(struct ant_node_config *c, char *const *envp)
{
    const char *xdg, *home;
    memset(c, 0, sizeof *c);
    for (int i = 0; i < ANT_CFG_COUNT; i++) {
        if (settings[i].def == NULL)
            continue;
        /* The defaults are constants checked by the tests; a failure here is a bug in the
         * table, and the zeroed field is the safest fallback. */
        ant_err err = ant_node_config_set(c, settings[i].name, settings[i].def,
                                          ANT_NODE_CONFIG_DEFAULT, NULL, 0);
        (void)err;
    }
    xdg = env_get(envp, "XDG_DATA_HOME");
    home = env_get(envp, "HOME");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(c->root_dir, sizeof c->root_dir, "%s/ant/node", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(c->root_dir, sizeof c->root_dir, "%s/.local/share/ant/node", home);
    else
        snprintf(c->root_dir, sizeof c->root_dir, "ant-node-data");
    c->source[ANT_CFG_ROOT_DIR] = ANT_NODE_CONFIG_DEFAULT;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

ant_err ant_node_config_ini_parse(const char *buf, size_t len, ant_node_config_ini_cb cb,
                                  void *ctx, size_t *err_line)
{
    char line[ANT_NODE_CONFIG_LINE_MAX + 1];
    size_t pos = 0, lineno = 0;
    ant_err err = ANT_OK;

    if (err_line != NULL)
        *err_line = 0;
    if ((buf == NULL && len > 0) || cb == NULL)
        return ANT_ERR_INVALID_ARG;
    if (len > ANT_NODE_CONFIG_INI_MAX)
        return ANT_ERR_TOO_LARGE;

    while (pos < len) {
        size_t start = pos, end, n;
        char *p, *q, *eq, *key, *value;

        lineno++;
        while (pos < len && buf[pos] != '\n')
            pos++;
        end = pos;
        if (pos < len)
            pos++; /* skip '\n' */
        n = end - start;
        if (n > ANT_NODE_CONFIG_LINE_MAX) {
            err = ANT_ERR_TOO_LARGE;
            goto fail;
        }
        if (n > 0 && memchr(buf + start, '\0', n) != NULL) {
            err = ANT_ERR_PARSE;
            goto fail;
        }
        memcpy(line, buf + start, n);
        line[n] = '\0';

        p = line;
        while (is_space(*p))
            p++;
        q = p + strlen(p);
        while (q > p && is_space(q[-1]))
            *--q = '\0';
        if (*p == '\0' || *p == '#' || *p == ';')
            continue;
        if (*p == '[') {
            if (q[-1] != ']' || q - p < 3) {
                err = ANT_ERR_PARSE;
                goto fail;
            }
            continue;
        }
        eq = strchr(p, '=');
        if (eq == NULL) {
            err = ANT_ERR_PARSE;
            goto fail;
        }
        key = p;
        q = eq;
        while (q > key && is_space(q[-1]))
            q--;
        *q = '\0';
        if (*key == '\0') {
            err = ANT_ERR_PARSE;
            goto fail;
        }
        value = eq + 1;
        while (is_space(*value))
            value++;
        if (*value == '"') {
            size_t vlen = strlen(value);
            if (vlen < 2 || value[vlen - 1] != '"') {
                err = ANT_ERR_PARSE;
                goto fail;
            }
            value[vlen - 1] = '\0';
            value++;
        }
        err = cb(ctx, key, value, lineno);
        if (err != ANT_OK)
            goto fail;
    }
    return ANT_OK;
fail:
    if (err_line != NULL)
        *err_line = lineno;
    return err;
}

struct file_ctx {
    struct ant_node_config *c;
    char *errbuf;
    size_t errcap;
};

static ant_err file_setting(void *ctx, const char *key, const char *value, size_t line)
{
    struct file_ctx *f = ctx;
    char why[256];
    ant_err err;
    if (strcmp(key, "config") == 0) {
        seterr(f->errbuf, f->errcap, "line %zu: 'config' cannot be set inside the file",
               line);
        return ANT_ERR_PARSE;
    }
    err = ant_node_config_set(f->c, key, value, ANT_NODE_CONFIG_FILE, why, sizeof why);
    if (err != ANT_OK)
        seterr(f->errbuf, f->errcap, "line %zu: %s", line, why);
    return err;
}

/* Reads the INI file: no final symlink, no FIFO or device, capped size. The file is
 * operator-provided and trusted for its contents, so owner and mode are not checked. */
static ant_err read_config_file(const char *path, char **data, size_t *len, char *errbuf,
                                size_t errcap)
{
    struct stat st;
    char *buf = NULL;
    size_t done = 0;
    ant_err err;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        seterr(errbuf, errcap, "config file %s: %s", path, strerror(errno));
        return errno == ENOENT ? ANT_ERR_NOT_FOUND
               : errno == ELOOP ? ANT_ERR_UNSAFE_FILE
                                : ANT_ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        seterr(errbuf, errcap, "config file %s: not a regular file", path);
        err = ANT_ERR_UNSAFE_FILE;
        goto out;
    }
    if (st.st_size > ANT_NODE_CONFIG_INI_MAX) {
        seterr(errbuf, errcap, "config file %s: larger than %d bytes", path,
               ANT_NODE_CONFIG_INI_MAX);
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = ANT_ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *data = buf;
    *len = done;
    buf = NULL;
    err = ANT_OK;
out:
    free(buf);
    close(fd);
    return err;
}

ant_err ant_node_config_resolve(struct ant_node_config *c,
                                const struct ant_node_config_arg *args, size_t nargs,
                                char *const *envp, char *errbuf, size_t errcap)
{
    struct ant_node_config tmp;
    const char *cfgpath = NULL;
    enum ant_node_config_source cfgsrc = ANT_NODE_CONFIG_DEFAULT;
    char why[512];
    ant_err err;

    if (c == NULL || (args == NULL && nargs > 0))
        return ANT_ERR_INVALID_ARG;
    ant_node_config_defaults(&tmp, envp);

    for (size_t i = 0; i < nargs; i++) {
        if (strcmp(args[i].name, "config") == 0) {
            cfgpath = args[i].value;
            cfgsrc = ANT_NODE_CONFIG_CLI;
        }
    }
    if (cfgpath == NULL && (cfgpath = env_get(envp, "ANT_CONFIG")) != NULL)
        cfgsrc = ANT_NODE_CONFIG_ENV;
    if (cfgpath != NULL && cfgpath[0] != '\0') {
        struct file_ctx f = {&tmp, why, sizeof why};
        char *data = NULL;
        size_t len = 0, line = 0;
        err = ant_node_config_set(&tmp, "config", cfgpath, cfgsrc, why, sizeof why);
        if (err == ANT_OK)
            err = read_config_file(cfgpath, &data, &len, why, sizeof why);
        if (err == ANT_OK) {
            why[0] = '\0';
            err = ant_node_config_ini_parse(data, len, file_setting, &f, &line);
            if (err != ANT_OK && why[0] == '\0')
                snprintf(why, sizeof why, "line %zu: %s", line, ant_strerror(err));
            if (err != ANT_OK) {
                free(data);
                seterr(errbuf, errcap, "config file %s: %s", cfgpath, why);
                return err;
            }
        }
        free(data);
        if (err != ANT_OK) {
            seterr(errbuf, errcap, "%s", why);
            return err;
        }
    }

    for (int i = 0; i < ANT_CFG_COUNT; i++) {
        char envname[64] = "ANT_";
        size_t k = 4;
        const char *v;
        if (i == ANT_CFG_CONFIG)
            continue;
        for (const char *p = settings[i].name; *p && k + 1 < sizeof envname; p++)
            envname[k++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        envname[k] = '\0';
        v = env_get(envp, envname);
        if (v == NULL)
            continue;
        err = ant_node_config_set(&tmp, settings[i].name, v, ANT_NODE_CONFIG_ENV, why,
                                  sizeof why);
        if (err != ANT_OK) {
            seterr(errbuf, errcap, "%s: %s", envname, why);
            return err;
        }
    }

    for (size_t i = 0; i < nargs; i++) {
        if (strcmp(args[i].name, "config") == 0)
            continue;
        err = ant_node_config_set(&tmp, args[i].name, args[i].value, ANT_NODE_CONFIG_CLI, why,
                                  sizeof why);
        if (err != ANT_OK) {
            seterr(errbuf, errcap, "--%s", why);
            return err;
        }
    }
    *c = tmp;
    return ANT_OK;
}

static void format_duration(uint64_t ms, char *buf, size_t cap)
{
    if (ms == 0)
        snprintf(buf, cap, "0s");
    else if (ms % 86400000 == 0)
        snprintf(buf, cap, "%" PRIu64 "d", ms / 86400000);
    else if (ms % 3600000 == 0)
        snprintf(buf, cap, "%" PRIu64 "h", ms / 3600000);
    else if (ms % 60000 == 0)
        snprintf(buf, cap, "%" PRIu64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(buf, cap, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(buf, cap, "%" PRIu64 "ms", ms);
}

static void format_size(uint64_t b, char *buf, size_t cap)
{
    static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};
    static const unsigned shifts[] = {40, 30, 20, 10};
    for (size_t i = 0; i < 4; i++) {
        uint64_t m = (uint64_t)1 << shifts[i];
        if (b != 0 && b % m == 0) {
            snprintf(buf, cap, "%" PRIu64 "%s", b / m, units[i]);
            return;
        }
    }
    snprintf(buf, cap, "%" PRIu64, b);
}

void ant_node_config_format(const struct ant_node_config *c, enum ant_node_config_key key,
                            char *buf, size_t cap)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    const struct setting *st;
    const uint8_t *field;
    uint64_t num = 0;
    unsigned u;
    bool b;
    enum ant_log_level level;

    if (buf == NULL || cap == 0)
        return;
    buf[0] = '\0';
    if (c == NULL || (int)key < 0 || key >= ANT_CFG_COUNT)
        return;
    st = &settings[key];
    field = (const uint8_t *)c + st->offset;
    switch (st->type) {
    case T_STR:
    case T_CHANNEL:
        snprintf(buf, cap, "%s", (const char *)field);
        break;
    case T_UINT:
        memcpy(&u, field, sizeof u);
        snprintf(buf, cap, "%u", u);
        break;
    case T_SIZE:
        memcpy(&num, field, sizeof num);
        format_size(num, buf, cap);
        break;
    case T_DURATION:
        memcpy(&num, field, sizeof num);
        format_duration(num, buf, cap);
        break;
    case T_BOOL:
        memcpy(&b, field, sizeof b);
        snprintf(buf, cap, "%s", b ? "true" : "false");
        break;
    case T_LOGLEVEL:
        memcpy(&level, field, sizeof level);
        snprintf(buf, cap, "%s", (unsigned)level < 4 ? levels[level] : "?");
        break;
    }
}

void ant_node_config_print(const struct ant_node_config *c, FILE *out)
{
    char value[ANT_NODE_CONFIG_STR_MAX];
    for (int i = 0; i < ANT_CFG_COUNT; i++) {
        ant_node_config_format(c, (enum ant_node_config_key)i, value, sizeof value);
        fprintf(out, "%-17s = %-30s # %s\n", settings[i].name, value,
                ant_node_config_source_name(c->source[i]));
    }
}
