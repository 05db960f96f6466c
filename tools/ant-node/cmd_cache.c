/*
 * `ant-node cache add|list|verify`: the operator's handle on the shared upgrade cache
 * (ARCHITECTURE.md §4). `add` pre-seeds the cache (an air-gapped host, say) through exactly the
 * path a download takes: verify, extract, validate, store. `list` shows each entry and
 * whether it verifies; `verify` checks one entry. Everything else is in libant
 * (ant/cache.h); this file is option parsing and output.
 *
 * Exit codes: 0 success (the entry verifies / was stored), 1 the input or entry was
 * checked and rejected (the reason is printed), 2 usage, configuration or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/log.h"
#include "ant/release_context.h"
#include "ant/trust.h"

int cmd_cache(int argc, char **argv);

static const char usage_text[] =
    "usage: ant-node cache add --release-version V [--platform P] --archive FILE --signature FILE\n"
    "       ant-node cache list\n"
    "       ant-node cache verify --release-version V [--platform P]\n"
    "options of every cache command:\n"
    "  --cache-dir DIR          the shared cache (default $XDG_DATA_HOME/ant/upgrades,\n"
    "                           else ~/.local/share/ant/upgrades)\n"
    "  --trusted-keys-dir DIR   extra trusted release keys (*.pub, raw 1952 bytes)\n"
    "  --platform P             linux-x64 or linux-arm64 (default: this build's)\n"
    "exit status: 0 ok, 1 rejected (reason printed), 2 usage or I/O error\n";

struct opts {
    const char *version;
    const char *platform;
    const char *archive;
    const char *signature;
    const char *cache_dir;
    const char *keys_dir;
};

/* The value of `--name V` or `--name=V` at argv[*i], advancing *i; NULL if `arg` is not
 * that option. *missing is set when the option has no value. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct {
        const char *name;
        size_t offset;
    } table[] = {
        {"--release-version", offsetof(struct opts, version)},
        {"--platform", offsetof(struct opts, platform)},
        {"--archive", offsetof(struct opts, archive)},
        {"--signature", offsetof(struct opts, signature)},
        {"--cache-dir", offsetof(struct opts, cache_dir)},
        {"--trusted-keys-dir", offsetof(struct opts, keys_dir)},
    };
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        bool matched = false, missing = false;
        for (size_t k = 0; k < sizeof table / sizeof table[0] && !matched; k++) {
            const char *v = option_value(argc, argv, &i, table[k].name, &missing);
            if (missing) {
                fprintf(stderr, "ant-node cache: %s needs a value\n", table[k].name);
                return 2;
            }
            if (v != NULL) {
                if (v[0] == '\0') {
                    fprintf(stderr, "ant-node cache: %s is empty\n", table[k].name);
                    return 2;
                }
                *(const char **)((char *)o + table[k].offset) = v;
                matched = true;
            }
        }
        if (!matched) {
            fprintf(stderr, "ant-node cache: unknown argument '%s'\n%s", argv[i], usage_text);
            return 2;
        }
    }
    if (o->platform == NULL)
        o->platform = ant_release_platform_host();
    if (o->platform == NULL || !ant_release_platform_valid(o->platform)) {
        fprintf(stderr, "ant-node cache: --platform must be linux-x64 or linux-arm64\n");
        return 2;
    }
    return 0;
}

/* A checked rejection of the input (1) or a fault that kept us from checking (2). */
static int exit_for(ant_err err)
{
    switch (err) {
    case ANT_OK: return 0;
    case ANT_ERR_INVALID_ARG:
    case ANT_ERR_NOMEM:
    case ANT_ERR_IO:
    case ANT_ERR_RNG:
    case ANT_ERR_CRYPTO:
    case ANT_ERR_INTERNAL:
    case ANT_ERR_NO_SPACE: return 2;
    default: return 1;
    }
}

/* Opens the cache and the key set every subcommand needs. Prints and returns 2 on error. */
static int open_common(const struct opts *o, struct ant_cache **cache,
                       struct ant_trust_keys **keys)
{
    char dir[PATH_MAX], why[512];
    const char *path = o->cache_dir;
    if (path == NULL) {
        if (ant_cache_default_dir(dir, sizeof dir) != ANT_OK) {
            fprintf(stderr, "ant-node cache: no default cache dir (no home); use --cache-dir\n");
            return 2;
        }
        path = dir;
    }
    ant_err err = ant_trust_keys_new(keys);
    if (err == ANT_OK && o->keys_dir != NULL) {
        err = ant_trust_keys_add_dir(*keys, o->keys_dir, why, sizeof why);
        if (err != ANT_OK) {
            fprintf(stderr, "ant-node cache: trusted keys refused: %s\n", why);
            return 2;
        }
    }
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node cache: %s\n", ant_strerror(err));
        return 2;
    }
    err = ant_cache_open(path, 0, cache);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node cache: cannot use cache dir %s: %s\n", path, ant_strerror(err));
        return 2;
    }
    return 0;
}

/* Reads the detached signature: a regular file of exactly 3309 bytes. */
static int read_signature(const char *path, uint8_t sig[ANT_MLDSA65_SIGBYTES])
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr, "ant-node cache: %s: %s\n", path, strerror(errno));
        return 2;
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "ant-node cache: %s: not a regular file\n", path);
        rc = 1;
    } else if (st.st_size != ANT_MLDSA65_SIGBYTES) {
        fprintf(stderr, "ant-node cache: rejected: %s is %lld bytes, a signature is exactly %d\n",
                path, (long long)st.st_size, ANT_MLDSA65_SIGBYTES);
        rc = 1;
    } else if (read(fd, sig, ANT_MLDSA65_SIGBYTES) != ANT_MLDSA65_SIGBYTES) {
        fprintf(stderr, "ant-node cache: %s: short read\n", path);
        rc = 2;
    }
    close(fd);
    return rc;
}

static int cache_add(const struct opts *o, struct ant_cache *cache,
                     const struct ant_trust_keys *keys)
{
    if (o->version == NULL || o->archive == NULL || o->signature == NULL) {
        fprintf(stderr, "ant-node cache add: --release-version, --archive and --signature are "
                        "required\n%s",
                usage_text);
        return 2;
    }
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    int rc = read_signature(o->signature, sig);
    if (rc != 0)
        return rc;
    int fd = open(o->archive, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr, "ant-node cache add: %s: %s\n", o->archive, strerror(errno));
        return 2;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "ant-node cache add: rejected: %s is not a regular file\n", o->archive);
        close(fd);
        return 1;
    }
    const char *reason = NULL;
    ant_err err = ant_cache_add(cache, keys, o->version, o->platform, fd, sig, sizeof sig,
                                &reason);
    close(fd);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node cache add: %s %s: %s: %s (%s)\n",
                exit_for(err) == 1 ? "rejected" : "failed", o->version,
                o->archive, reason != NULL ? reason : ant_strerror(err), ant_strerror(err));
        return exit_for(err);
    }
    printf("stored ant-node %s %s in %s\n", o->version, o->platform, ant_cache_path(cache));
    return 0;
}

/* Verifies one entry into a throw-away staging dir. */
static ant_err verify_entry(struct ant_cache *cache, const struct ant_trust_keys *keys,
                            const char *version, const char *platform, const char **reason)
{
    char staging[PATH_MAX];
    int sfd = -1;
    ant_err err = ant_cache_staging_create(cache, staging, sizeof staging, &sfd);
    if (err != ANT_OK) {
        *reason = "cannot create a private staging directory";
        return err;
    }
    err = ant_cache_get(cache, keys, version, platform, sfd, reason);
    ant_cache_staging_remove(cache, staging, sfd);
    return err;
}

static int cache_list(struct ant_cache *cache, const struct ant_trust_keys *keys)
{
    struct ant_cache_entry *e = NULL;
    size_t n = 0;
    ant_err err = ant_cache_list(cache, &e, &n);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node cache list: %s: %s\n", ant_cache_path(cache), ant_strerror(err));
        return 2;
    }
    printf("cache %s: %zu entr%s\n", ant_cache_path(cache), n, n == 1 ? "y" : "ies");
    if (n > 0)
        printf("%-24s %-12s %12s  %s\n", "VERSION", "PLATFORM", "BYTES", "STATUS");
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *reason = NULL;
        err = verify_entry(cache, keys, e[i].version, e[i].platform, &reason);
        printf("%-24s %-12s %12llu  %s%s\n", e[i].version, e[i].platform,
               (unsigned long long)e[i].archive_size,
               err == ANT_OK ? "verified" : exit_for(err) == 1 ? "rejected: " : "error: ",
               err == ANT_OK ? "" : reason != NULL ? reason : ant_strerror(err));
        if (exit_for(err) == 2)
            rc = 2;
    }
    free(e);
    return rc;
}

static int cache_verify(const struct opts *o, struct ant_cache *cache,
                        const struct ant_trust_keys *keys)
{
    if (o->version == NULL) {
        fprintf(stderr, "ant-node cache verify: --release-version is required\n%s", usage_text);
        return 2;
    }
    const char *reason = NULL;
    ant_err err = verify_entry(cache, keys, o->version, o->platform, &reason);
    if (err == ANT_OK) {
        printf("verified ant-node %s %s\n", o->version, o->platform);
        return 0;
    }
    int rc = exit_for(err);
    fprintf(stderr, "ant-node cache verify: %s %s %s: %s (%s)\n",
            rc == 1 ? "rejected" : "failed", o->version, o->platform,
            reason != NULL ? reason : ant_strerror(err), ant_strerror(err));
    return rc;
}

int cmd_cache(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "verify") != 0) {
        fprintf(stderr, "ant-node cache: unknown subcommand '%s'\n%s", sub, usage_text);
        return 2;
    }
    struct opts o;
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc;
    /* Our own messages carry the reasons; the library's log lines would repeat them. */
    ant_log_set_level(ANT_LOG_ERROR);
    struct ant_cache *cache = NULL;
    struct ant_trust_keys *keys = NULL;
    rc = open_common(&o, &cache, &keys);
    if (rc == 0) {
        if (strcmp(sub, "add") == 0)
            rc = cache_add(&o, cache, keys);
        else if (strcmp(sub, "list") == 0)
            rc = cache_list(cache, keys);
        else
            rc = cache_verify(&o, cache, keys);
    }
    ant_cache_close(cache);
    ant_trust_keys_free(keys);
    return rc;
}
