/*
 * ant-release: the release operator's tool for the signed metadata of ARCHITECTURE.md §9.
 *
 * A metadata directory holds exactly the files a node fetches: root.<N>.json for every
 * root version, targets.<M>.json, timestamp.json. Subcommands create the next version of
 * a role unsigned (init, add, timestamp, rotate), add one signature at a time (sign: each
 * key holder signs in turn, on their own machine), check the whole chain exactly as a node
 * does (verify, through the same ant_meta_refresh) and print it (show). Keys are
 * `ant-keygen generate` files: raw 1952-byte public and 4032-byte secret keys.
 *
 * Exit status: 0 done, 1 refused (the metadata or a key does not allow it), 2 usage or
 * I/O error. main() and argument parsing only; the formats live in src/meta.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/extract.h"
#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/meta.h"
#include "ant/mldsa65.h"
#include "ant/patch.h"
#include "ant/version.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define MAX_OPTS 16
#define DAY_S 86400

struct opt {
    const char *name;
    const char *value; /* NULL when absent; "" for a present flag */
    int flag;          /* takes no value */
};

/* Parses --name VALUE pairs (and flags) into `opts`; anything else is a usage error. */
static int parse_opts(int argc, char **argv, struct opt *opts, size_t n, const char *cmd,
                      int *help)
{
    *help = 0;
    for (int i = 2; i < argc; i++) {
        size_t k;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *help = 1;
            return 0;
        }
        for (k = 0; k < n; k++)
            if (strcmp(argv[i], opts[k].name) == 0)
                break;
        if (k == n) {
            fprintf(stderr, "ant-release %s: unknown argument '%s' (try --help)\n", cmd, argv[i]);
            return EXIT_USAGE;
        }
        if (opts[k].value != NULL) {
            fprintf(stderr, "ant-release %s: %s given twice\n", cmd, opts[k].name);
            return EXIT_USAGE;
        }
        if (opts[k].flag) {
            opts[k].value = "";
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "ant-release %s: %s needs a value\n", cmd, opts[k].name);
            return EXIT_USAGE;
        }
        opts[k].value = argv[++i];
    }
    return 0;
}

static int need(const struct opt *o, const char *cmd)
{
    if (o->value == NULL || o->value[0] == '\0') {
        fprintf(stderr, "ant-release %s: %s is required (try --help)\n", cmd, o->name);
        return EXIT_USAGE;
    }
    return 0;
}

static int parse_uint(const char *text, unsigned long long max, unsigned long long *out,
                      const char *what)
{
    char *end = NULL;
    if (text == NULL || text[0] < '0' || text[0] > '9') {
        fprintf(stderr, "ant-release: %s must be a positive number\n", what);
        return EXIT_USAGE;
    }
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > max) {
        fprintf(stderr, "ant-release: %s must be 1..%llu\n", what, max);
        return EXIT_USAGE;
    }
    *out = v;
    return 0;
}

/* Reads a key file of exactly `size` bytes: no symlink, no FIFO, a regular file. */
static int read_key(const char *path, uint8_t *buf, size_t size, const char *what)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    size_t got = 0;
    if (fd < 0) {
        fprintf(stderr, "ant-release: cannot open %s %s: %s\n", what, path, strerror(errno));
        return EXIT_USAGE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
        fprintf(stderr, "ant-release: %s %s is not a regular file of %zu bytes\n", what, path,
                size);
        close(fd);
        return EXIT_USAGE;
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "ant-release: cannot read %s %s\n", what, path);
            close(fd);
            explicit_bzero(buf, size);
            return EXIT_USAGE;
        }
        got += (size_t)n;
    }
    close(fd);
    return 0;
}

/* A comma-separated list of public key files into `keys` (at most ANT_META_MAX_KEYS). */
static int read_key_list(const char *list, uint8_t (*keys)[ANT_MLDSA65_PUBLICKEYBYTES],
                         size_t *n)
{
    char *copy = strdup(list), *save = NULL;
    int rc = 0;
    *n = 0;
    if (copy == NULL)
        return EXIT_USAGE;
    for (char *p = strtok_r(copy, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        if (*n >= ANT_META_MAX_KEYS) {
            fprintf(stderr, "ant-release: more than %d keys in one role\n", ANT_META_MAX_KEYS);
            rc = EXIT_USAGE;
            break;
        }
        rc = read_key(p, keys[*n], ANT_MLDSA65_PUBLICKEYBYTES, "public key");
        if (rc != 0)
            break;
        (*n)++;
    }
    free(copy);
    if (rc == 0 && *n == 0) {
        fprintf(stderr, "ant-release: empty key list\n");
        rc = EXIT_USAGE;
    }
    return rc;
}

static int open_dir(const char *path, bool create, int *dirfd)
{
    ant_err err = ant_fsx_open_trusted_dir(path, create, dirfd);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-release: cannot use directory %s: %s\n", path, ant_strerror(err));
        return EXIT_USAGE;
    }
    return 0;
}

/* Exit status for a failed library step: the metadata or a key refused it (1), or this
 * machine could not do it (2). The reason was printed already. */
static int exit_of(ant_err err, const char *cmd, const char *why)
{
    fprintf(stderr, "ant-release %s: %s\n", cmd, why[0] != '\0' ? why : ant_strerror(err));
    switch (err) {
    case ANT_ERR_IO:
    case ANT_ERR_NOMEM:
    case ANT_ERR_RNG:
    case ANT_ERR_CRYPTO:
    case ANT_ERR_INTERNAL:
    case ANT_ERR_NO_SPACE:
        return EXIT_USAGE;
    default:
        return EXIT_REFUSED;
    }
}

static uint64_t newest(int dirfd, enum ant_meta_role role)
{
    uint64_t v = 0;
    if (ant_meta_repo_newest(dirfd, role, &v) != ANT_OK)
        return 0;
    return v;
}

static void wrote(enum ant_meta_role role, uint64_t version)
{
    char name[64];
    ant_meta_repo_file_name(role, version, name, sizeof name);
    printf("wrote %s (unsigned: sign it with `ant-release sign --role %s`)\n", name,
           ant_meta_role_name(role));
}

/* The role's file of `version` as an envelope; prints why on failure. */
static int load_env(int dirfd, enum ant_meta_role role, uint64_t version,
                    struct ant_meta_envelope **env)
{
    char why[256] = "";
    ant_err err = ant_meta_repo_load(dirfd, role, version, env, why, sizeof why);
    return err == ANT_OK ? 0 : exit_of(err, "show", why);
}

/* The root of `version`, envelope and payload; prints why on failure. */
static int load_root(int dirfd, uint64_t version, struct ant_meta_envelope **env,
                     struct ant_meta_root **root)
{
    char why[256] = "";
    size_t plen = 0;
    ant_err err = ant_meta_repo_load(dirfd, ANT_META_ROLE_ROOT, version, env, why, sizeof why);
    if (err == ANT_OK) {
        const uint8_t *p = ant_meta_envelope_payload(*env, &plen);
        err = ant_meta_root_parse(p, plen, root);
        if (err != ANT_OK) {
            snprintf(why, sizeof why, "root.%llu.json: %s", (unsigned long long)version,
                     ant_strerror(err));
            ant_meta_envelope_free(*env);
            *env = NULL;
        }
    }
    return err == ANT_OK ? 0 : exit_of(err, "show", why);
}

/* --- init ------------------------------------------------------------------------------ */

static const char init_help[] =
    "Usage: ant-release init --out-dir D --root-keys A.pub,B.pub,C.pub --root-threshold K\n"
    "         --targets-keys ... --targets-threshold K --timestamp-keys ...\n"
    "         --timestamp-threshold K [--expires-days N]\n"
    "\n"
    "Writes D/root.1.json, root version 1 with these public keys (ant-keygen .pub files)\n"
    "and thresholds, unsigned. Each root key holder then signs it with `ant-release sign\n"
    "--role root`. --expires-days defaults to 365. Refuses to replace an existing root.1.json.\n";

struct role_args {
    uint8_t keys[ANT_META_MAX_KEYS][ANT_MLDSA65_PUBLICKEYBYTES];
    struct ant_meta_role_keys rk;
};

static int role_from_opts(const struct opt *keys, const struct opt *threshold,
                          struct role_args *ra, bool *given)
{
    unsigned long long th = 0;
    int rc;
    *given = keys->value != NULL || threshold->value != NULL;
    if (!*given)
        return 0;
    if (keys->value == NULL || threshold->value == NULL) {
        fprintf(stderr, "ant-release: %s and %s go together\n", keys->name, threshold->name);
        return EXIT_USAGE;
    }
    rc = read_key_list(keys->value, ra->keys, &ra->rk.count);
    if (rc == 0)
        rc = parse_uint(threshold->value, ANT_META_MAX_KEYS, &th, threshold->name);
    if (rc != 0)
        return rc;
    if (th > ra->rk.count) {
        fprintf(stderr, "ant-release: %s %llu is above the %zu keys given\n", threshold->name,
                th, ra->rk.count);
        return EXIT_USAGE;
    }
    ra->rk.keys = (const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])ra->keys;
    ra->rk.threshold = (unsigned)th;
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    struct opt o[] = {{"--out-dir", NULL, 0},        {"--root-keys", NULL, 0},
                      {"--root-threshold", NULL, 0}, {"--targets-keys", NULL, 0},
                      {"--targets-threshold", NULL, 0}, {"--timestamp-keys", NULL, 0},
                      {"--timestamp-threshold", NULL, 0}, {"--expires-days", NULL, 0}};
    struct role_args *ra = NULL;
    unsigned long long days = 365;
    int help, dirfd = -1, rc;
    bool given;

    rc = parse_opts(argc, argv, o, 8, "init", &help);
    if (rc != 0 || help) {
        fputs(init_help, help ? stdout : stderr);
        return rc;
    }
    for (int i = 0; i < 7; i++)
        if ((rc = need(&o[i], "init")) != 0)
            return rc;
    if (o[7].value != NULL && (rc = parse_uint(o[7].value, 3660, &days, "--expires-days")) != 0)
        return rc;
    ra = calloc(3, sizeof *ra);
    if (ra == NULL)
        return EXIT_USAGE;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = role_from_opts(&o[1 + 2 * i], &o[2 + 2 * i], &ra[i], &given);
    if (rc != 0)
        goto out;
    rc = open_dir(o[0].value, true, &dirfd);
    if (rc != 0)
        goto out;
    char why[256] = "";
    ant_err err = ant_meta_repo_init(dirfd, &ra[0].rk, &ra[1].rk, &ra[2].rk,
                                     (int64_t)time(NULL) + (int64_t)days * DAY_S, why, sizeof why);
    if (err != ANT_OK)
        rc = exit_of(err, "init", why);
    else
        wrote(ANT_META_ROLE_ROOT, 1);
out:
    free(ra);
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

/* --- add ------------------------------------------------------------------------------- */

static const char add_help[] =
    "Usage: ant-release add --dir D --release-version V --platform P --archive FILE\n"
    "         [--expires-days N] [--minimum-version V] [--yank V]\n"
    "         [--delta-from OLD=ARCHIVE[,OLD=ARCHIVE...]] [--delta-dir DIR]\n"
    "\n"
    "Writes the next targets version (targets.<M+1>.json, unsigned) listing every release of\n"
    "the newest targets plus this one: the archive's name, length and SHA-256, and the length\n"
    "and SHA-256 of the ant-node binary read from inside it (extracted with the node's own\n"
    "rules). --expires-days defaults to 90. --minimum-version sets the version below which\n"
    "nodes upgrade at once (\"\" removes it); --yank adds a version nodes must never install\n"
    "(ARCHITECTURE.md §10). --delta-from makes, for each OLD release whose archive is given,\n"
    "a binary patch from OLD's binary to this one (zstd --patch-from through libzstd) as\n"
    "DIR/ant-node-cli-P-from-OLD.patch (DIR defaults to the archive's directory; publish it\n"
    "beside the archive) and lists it; OLD must be listed in the newest targets with exactly\n"
    "that binary, and a patch no smaller than the archive is not listed. Then: sign it with a\n"
    "threshold of targets keys, and run `ant-release timestamp`.\n";

/* Length and SHA-256 of everything readable from fd. */
static ant_err hash_fd(int fd, uint64_t *len, uint8_t sha[ANT_SHA256_BYTES])
{
    struct ant_digest *d = NULL;
    uint8_t buf[65536];
    ant_err err = ant_digest_new(&d, ANT_DIGEST_SHA256);
    *len = 0;
    while (err == ANT_OK) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = ANT_ERR_IO;
        if (n <= 0)
            break;
        *len += (uint64_t)n;
        err = ant_digest_update(d, buf, (size_t)n);
    }
    if (err == ANT_OK)
        err = ant_digest_final(d, sha, ANT_SHA256_BYTES);
    ant_digest_free(d);
    return err;
}

/* Reads all of `fd` (at most 256 MiB, the extraction cap) into a malloc'd buffer. */
static ant_err slurp_fd(int fd, uint8_t **out, size_t *len)
{
    struct stat st;
    *out = NULL;
    *len = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > ((uint64_t)256 << 20))
        return ANT_ERR_IO;
    uint8_t *buf = malloc((size_t)st.st_size);
    if (buf == NULL)
        return ANT_ERR_NOMEM;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return ANT_ERR_IO;
        }
        got += (size_t)n;
    }
    *out = buf;
    *len = got;
    return ANT_OK;
}

/* Names the archive, hashes it and the ant-node inside it into `e`; with `bin` not NULL
 * also returns the binary's bytes (malloc'd). */
static int describe_archive(const char *path, struct ant_meta_target *e, uint8_t **bin_bytes,
                            size_t *bin_len)
{
    char tmpl[] = "/tmp/ant-release-XXXXXX";
    const char *reason = NULL, *base = strrchr(path, '/');
    struct stat st;
    int fd = -1, outfd = -1, bin = -1, rc = EXIT_USAGE;
    ant_err err;

    base = base != NULL ? base + 1 : path;
    if (!ant_fsx_name_ok(base) || strlen(base) >= sizeof e->archive_name) {
        fprintf(stderr, "ant-release add: archive name '%s' is not a plain file name\n", base);
        return EXIT_USAGE;
    }
    snprintf(e->archive_name, sizeof e->archive_name, "%s", base);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "ant-release add: %s is not a readable regular file\n", path);
        goto out;
    }
    err = hash_fd(fd, &e->archive_length, e->archive_sha256);
    if (err != ANT_OK || e->archive_length != (uint64_t)st.st_size) {
        fprintf(stderr, "ant-release add: cannot read %s (or it changed while read)\n", path);
        goto out;
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || mkdtemp(tmpl) == NULL ||
        (outfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fprintf(stderr, "ant-release add: cannot make a temporary directory\n");
        goto out;
    }
    err = ant_extract_binary(fd, outfd, NULL, &reason);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-release add: %s: %s%s%s\n", path, ant_strerror(err),
                reason != NULL ? ": " : "", reason != NULL ? reason : "");
        rc = EXIT_REFUSED;
        goto out;
    }
    bin = openat(outfd, ANT_EXTRACT_MEMBER_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (bin < 0 || hash_fd(bin, &e->binary_length, e->binary_sha256) != ANT_OK) {
        fprintf(stderr, "ant-release add: cannot hash the extracted binary\n");
        goto out;
    }
    if (bin_bytes != NULL &&
        (slurp_fd(bin, bin_bytes, bin_len) != ANT_OK || *bin_len != e->binary_length)) {
        fprintf(stderr, "ant-release add: cannot read the extracted binary\n");
        free(*bin_bytes);
        *bin_bytes = NULL;
        goto out;
    }
    rc = 0;
out:
    if (bin >= 0)
        close(bin);
    if (outfd >= 0) {
        unlinkat(outfd, ANT_EXTRACT_MEMBER_NAME, 0);
        close(outfd);
        rmdir(tmpl);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The newest targets' entry for (version, platform); ANT_ERR_NOT_FOUND if not listed. */
static ant_err listed_entry(int dirfd, const char *version, const char *platform,
                            struct ant_meta_target *out)
{
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_targets *tg = NULL;
    char why[256] = "";
    size_t plen = 0;
    uint64_t m = newest(dirfd, ANT_META_ROLE_TARGETS);
    if (m == 0)
        return ANT_ERR_NOT_FOUND;
    ant_err err = ant_meta_repo_load(dirfd, ANT_META_ROLE_TARGETS, m, &env, why, sizeof why);
    if (err == ANT_OK) {
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        err = ant_meta_targets_parse(p, plen, &tg);
    }
    if (err == ANT_OK)
        err = ant_meta_targets_find(tg, version, platform, out);
    ant_meta_targets_free(tg);
    ant_meta_envelope_free(env);
    return err;
}

/*
 * One `--delta-from OLD=ARCHIVE`: OLD's binary out of its archive (extracted like the new
 * one), checked against what the newest targets lists for OLD (a node's `from` digest is
 * the listed one, so a patch from any other build would never be used), the patch made
 * and written to `outdir`, and listed in `e`.
 */
static int add_delta(int dirfd, const char *spec, const char *outdir, struct ant_meta_target *e,
                     const uint8_t *new_bin, size_t new_len)
{
    char old_version[ANT_SEMVER_TEXT_MAX], path[PATH_MAX], name[ANT_META_NAME_MAX];
    struct ant_meta_target old, listed;
    struct ant_semver sv;
    uint8_t *old_bin = NULL, *patch = NULL;
    size_t old_len = 0, plen = 0;
    int rc = EXIT_USAGE, fd = -1;
    const char *eq = strchr(spec, '=');

    if (eq == NULL || eq == spec || (size_t)(eq - spec) >= sizeof old_version) {
        fprintf(stderr, "ant-release add: --delta-from wants OLD=ARCHIVE, got '%s'\n", spec);
        return EXIT_USAGE;
    }
    memcpy(old_version, spec, (size_t)(eq - spec));
    old_version[eq - spec] = '\0';
    if (ant_semver_parse(old_version, &sv) != ANT_OK ||
        !ant_semver_format(&sv, old_version, sizeof old_version)) {
        fprintf(stderr, "ant-release add: '%s' is not a version X.Y.Z[-pre]\n", old_version);
        return EXIT_USAGE;
    }
    if (e->ndeltas >= ANT_META_MAX_DELTAS) {
        fprintf(stderr, "ant-release add: at most %d patches per release and platform\n",
                ANT_META_MAX_DELTAS);
        return EXIT_USAGE;
    }
    memset(&old, 0, sizeof old);
    rc = describe_archive(eq + 1, &old, &old_bin, &old_len);
    if (rc != 0)
        return rc;
    rc = EXIT_REFUSED;
    if (listed_entry(dirfd, old_version, e->platform, &listed) != ANT_OK) {
        fprintf(stderr, "ant-release add: %s is not listed for %s in the newest targets\n",
                old_version, e->platform);
        goto out;
    }
    if (ant_meta_check_binary(&listed, old.binary_length, old.binary_sha256) != ANT_OK) {
        fprintf(stderr, "ant-release add: the binary in %s is not the one targets lists for %s\n",
                eq + 1, old_version);
        goto out;
    }
    int n = snprintf(name, sizeof name, "ant-node-cli-%s-from-%s.patch", e->platform, old_version);
    if (n < 0 || (size_t)n >= sizeof name || !ant_fsx_name_ok(name)) {
        fprintf(stderr, "ant-release add: patch name for %s too long\n", old_version);
        rc = EXIT_USAGE;
        goto out;
    }
    ant_err err = ant_patch_make(old_bin, old_len, new_bin, new_len, ANT_PATCH_LEVEL_DEFAULT,
                                 &patch, &plen);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-release add: cannot make the patch from %s: %s\n", old_version,
                ant_strerror(err));
        rc = EXIT_USAGE;
        goto out;
    }
    /* Proved before it is listed: the patch rebuilds exactly the new binary. */
    uint8_t *check = malloc(new_len);
    err = check == NULL ? ANT_ERR_NOMEM
                        : ant_patch_apply(old_bin, old_len, patch, plen, check, new_len);
    if (err == ANT_OK && memcmp(check, new_bin, new_len) != 0)
        err = ANT_ERR_MISMATCH;
    free(check);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-release add: the patch from %s does not rebuild the binary: %s\n",
                old_version, ant_strerror(err));
        rc = EXIT_USAGE;
        goto out;
    }
    if (plen >= e->archive_length) {
        printf("%s %s: patch from %s is %zu bytes, not smaller than the archive: not listed\n",
               e->version, e->platform, old_version, plen);
        rc = 0;
        goto out;
    }
    n = snprintf(path, sizeof path, "%s/%s", outdir, name);
    fd = n > 0 && (size_t)n < sizeof path
             ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644)
             : -1;
    size_t put = 0;
    while (fd >= 0 && put < plen) {
        ssize_t w = write(fd, patch + put, plen - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        put += (size_t)w;
    }
    if (fd < 0 || put != plen || fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "ant-release add: cannot write %s\n", path);
        if (fd >= 0)
            close(fd);
        rc = EXIT_USAGE;
        goto out;
    }
    struct ant_meta_delta *d = &e->deltas[e->ndeltas];
    snprintf(d->from_version, sizeof d->from_version, "%s", old_version);
    memcpy(d->from_sha256, old.binary_sha256, sizeof d->from_sha256);
    snprintf(d->name, sizeof d->name, "%s", name);
    d->length = plen;
    if (ant_sha256(d->sha256, patch, plen) != ANT_OK) {
        rc = EXIT_USAGE;
        goto out;
    }
    e->ndeltas++;
    printf("%s %s: patch from %s %zu bytes (%.2f %% of the archive) in %s\n", e->version,
           e->platform, old_version, plen, 100.0 * (double)plen / (double)e->archive_length,
           path);
    rc = 0;
out:
    free(patch);
    free(old_bin);
    return rc;
}

static int cmd_add(int argc, char **argv)
{
    struct opt o[] = {{"--dir", NULL, 0},     {"--release-version", NULL, 0},
                      {"--platform", NULL, 0}, {"--archive", NULL, 0},
                      {"--expires-days", NULL, 0}, {"--minimum-version", NULL, 0},
                      {"--yank", NULL, 0}, {"--delta-from", NULL, 0},
                      {"--delta-dir", NULL, 0}};
    struct ant_meta_targets_policy policy = {NULL, NULL};
    struct ant_meta_target e;
    struct ant_semver sv;
    unsigned long long days = 90;
    int help, dirfd = -1, rc;

    rc = parse_opts(argc, argv, o, 9, "add", &help);
    policy.minimum_version = o[5].value;
    policy.yank = o[6].value;
    if (rc != 0 || help) {
        fputs(add_help, help ? stdout : stderr);
        return rc;
    }
    for (int i = 0; i < 4; i++)
        if ((rc = need(&o[i], "add")) != 0)
            return rc;
    if (o[4].value != NULL && (rc = parse_uint(o[4].value, 3660, &days, "--expires-days")) != 0)
        return rc;
    memset(&e, 0, sizeof e);
    if (ant_semver_parse(o[1].value, &sv) != ANT_OK ||
        !ant_semver_format(&sv, e.version, sizeof e.version)) {
        fprintf(stderr, "ant-release add: '%s' is not a version X.Y.Z[-pre]\n", o[1].value);
        return EXIT_USAGE;
    }
    if (strlen(o[2].value) >= sizeof e.platform) {
        fprintf(stderr, "ant-release add: platform name too long\n");
        return EXIT_USAGE;
    }
    snprintf(e.platform, sizeof e.platform, "%s", o[2].value);
    uint8_t *new_bin = NULL;
    size_t new_len = 0;
    bool deltas = o[7].value != NULL && o[7].value[0] != '\0';
    rc = describe_archive(o[3].value, &e, deltas ? &new_bin : NULL, &new_len);
    if (rc != 0)
        return rc;
    rc = open_dir(o[0].value, false, &dirfd);
    if (rc != 0) {
        free(new_bin);
        return rc;
    }
    if (deltas) {
        char outdir[PATH_MAX], list[4096];
        const char *slash = strrchr(o[3].value, '/');
        if (o[8].value != NULL)
            snprintf(outdir, sizeof outdir, "%s", o[8].value);
        else if (slash != NULL)
            snprintf(outdir, sizeof outdir, "%.*s", (int)(slash - o[3].value), o[3].value);
        else
            snprintf(outdir, sizeof outdir, ".");
        if (outdir[0] == '\0')
            snprintf(outdir, sizeof outdir, "/");
        if (strlen(o[7].value) >= sizeof list) {
            fprintf(stderr, "ant-release add: --delta-from too long\n");
            rc = EXIT_USAGE;
        } else {
            snprintf(list, sizeof list, "%s", o[7].value);
            char *save = NULL;
            for (char *spec = strtok_r(list, ",", &save); spec != NULL && rc == 0;
                 spec = strtok_r(NULL, ",", &save))
                rc = add_delta(dirfd, spec, outdir, &e, new_bin, new_len);
        }
        free(new_bin);
        if (rc != 0) {
            close(dirfd);
            return rc;
        }
    }
    char why[256] = "";
    uint64_t m = 0;
    ant_err err = ant_meta_repo_add(dirfd, &e, &policy, (int64_t)time(NULL) + (int64_t)days * DAY_S, &m,
                                    why, sizeof why);
    if (err != ANT_OK) {
        rc = exit_of(err, "add", why);
    } else {
        char hex[ANT_SHA256_HEXBYTES];
        wrote(ANT_META_ROLE_TARGETS, m);
        ant_hex_encode(hex, e.binary_sha256, ANT_SHA256_BYTES);
        printf("%s %s: archive %s %llu bytes, binary %llu bytes sha256 %s\n", e.version,
               e.platform, e.archive_name, (unsigned long long)e.archive_length,
               (unsigned long long)e.binary_length, hex);
    }
    close(dirfd);
    return rc;
}

/* --- timestamp --------------------------------------------------------------------------- */

static const char timestamp_help[] =
    "Usage: ant-release timestamp --dir D [--expires-hours H]\n"
    "         [--rollout-version V --rollout-cursor PERCENT [--rollout-seed HEX]\n"
    "          [--rollout-halted] | --no-rollout]\n"
    "       ant-release timestamp --dir D [--rollout-version V] [--cursor PERCENT]\n"
    "         [--seed HEX] [--halt | --resume]\n"
    "\n"
    "Writes the next timestamp.json (unsigned) naming the newest targets file by version,\n"
    "length and SHA-256, keeping the rollout control of the previous timestamp. Refuses if\n"
    "that targets file lacks a threshold of valid targets signatures under the newest root.\n"
    "--expires-hours defaults to 24; re-sign at least every H/2 hours (docs/RELEASING.md).\n"
    "The rollout control (ARCHITECTURE.md §10): version, cursor 0-100 %, seed (64 hex; by\n"
    "default kept for the same version, fresh random for a new one), halted. The short\n"
    "forms steer the rollout the previous timestamp names, keeping what they do not\n"
    "change: `--cursor 50`, `--halt`, `--resume`. A rollout of a version the newest\n"
    "targets does not list is refused (exit 1): the online key paces only what the\n"
    "offline targets keys listed.\n";

/* The seed: given in hex, else the previous timestamp's for the same version, else 32
 * fresh random bytes (a new seed per release changes who goes first, §10). */
static int rollout_seed(int dirfd, const char *hex, struct ant_meta_rollout *ro)
{
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_timestamp *prev = NULL;
    size_t plen = 0;
    if (hex != NULL) {
        if (strlen(hex) != 64 || ant_hex_decode(ro->seed, sizeof ro->seed, hex) != ANT_OK) {
            fprintf(stderr, "ant-release timestamp: --rollout-seed needs 64 hex digits\n");
            return EXIT_USAGE;
        }
        return 0;
    }
    if (faccessat(dirfd, "timestamp.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
        ant_meta_repo_load(dirfd, ANT_META_ROLE_TIMESTAMP, 0, &env, NULL, 0) == ANT_OK) {
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        if (ant_meta_timestamp_parse(p, plen, &prev) == ANT_OK) {
            struct ant_meta_rollout old;
            ant_meta_timestamp_rollout(prev, &old);
            bool same = old.present && strcmp(old.version, ro->version) == 0;
            if (same)
                memcpy(ro->seed, old.seed, sizeof ro->seed);
            ant_meta_timestamp_free(prev);
            ant_meta_envelope_free(env);
            if (same)
                return 0;
            env = NULL;
        }
        ant_meta_envelope_free(env);
    }
    if (getrandom(ro->seed, sizeof ro->seed, 0) != (ssize_t)sizeof ro->seed) {
        fprintf(stderr, "ant-release timestamp: the system RNG failed\n");
        return EXIT_USAGE;
    }
    return 0;
}

/* The previous timestamp's rollout (present false when none or unreadable). */
static void previous_rollout(int dirfd, struct ant_meta_rollout *old)
{
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_timestamp *prev = NULL;
    size_t plen = 0;
    memset(old, 0, sizeof *old);
    if (faccessat(dirfd, "timestamp.json", F_OK, AT_SYMLINK_NOFOLLOW) != 0 ||
        ant_meta_repo_load(dirfd, ANT_META_ROLE_TIMESTAMP, 0, &env, NULL, 0) != ANT_OK)
        return;
    const uint8_t *p = ant_meta_envelope_payload(env, &plen);
    if (ant_meta_timestamp_parse(p, plen, &prev) == ANT_OK)
        ant_meta_timestamp_rollout(prev, old);
    ant_meta_timestamp_free(prev);
    ant_meta_envelope_free(env);
}

/* 0 when the newest targets lists `version` (for any platform); 1 (refused) otherwise: the
 * online key may pace only what the offline targets keys listed (ARCHITECTURE.md §10). */
static int rollout_listed(int dirfd, const char *version)
{
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_targets *t = NULL;
    uint64_t m = 0;
    size_t plen = 0;
    bool listed = false;
    if (ant_meta_repo_newest(dirfd, ANT_META_ROLE_TARGETS, &m) == ANT_OK && m > 0 &&
        ant_meta_repo_load(dirfd, ANT_META_ROLE_TARGETS, m, &env, NULL, 0) == ANT_OK) {
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        if (ant_meta_targets_parse(p, plen, &t) == ANT_OK) {
            for (size_t i = 0; !listed && i < ant_meta_targets_count(t); i++) {
                struct ant_meta_target e;
                listed = ant_meta_targets_entry(t, i, &e) == ANT_OK &&
                         strcmp(e.version, version) == 0;
            }
        }
    }
    ant_meta_targets_free(t);
    ant_meta_envelope_free(env);
    if (listed)
        return 0;
    fprintf(stderr, "ant-release timestamp: refused: %s is not listed in the newest targets "
            "(targets.%llu.json); add it and sign targets first\n", version,
            (unsigned long long)m);
    return 1;
}

static int cmd_timestamp(int argc, char **argv)
{
    struct opt o[] = {{"--dir", NULL, 0},           {"--expires-hours", NULL, 0},
                      {"--rollout-version", NULL, 0}, {"--rollout-cursor", NULL, 0},
                      {"--rollout-seed", NULL, 0},    {"--rollout-halted", NULL, 1},
                      {"--no-rollout", NULL, 1},      {"--cursor", NULL, 0},
                      {"--seed", NULL, 0},            {"--halt", NULL, 1},
                      {"--resume", NULL, 1}};
    struct ant_meta_rollout ro, old;
    unsigned long long hours = 24;
    int help, dirfd = -1, rc;

    rc = parse_opts(argc, argv, o, 11, "timestamp", &help);
    if (rc != 0 || help) {
        fputs(timestamp_help, help ? stdout : stderr);
        return rc;
    }
    if ((rc = need(&o[0], "timestamp")) != 0)
        return rc;
    if (o[1].value != NULL &&
        (rc = parse_uint(o[1].value, 24 * 366, &hours, "--expires-hours")) != 0)
        return rc;
    if ((o[3].value != NULL && o[7].value != NULL) || (o[4].value != NULL && o[8].value != NULL) ||
        (o[9].value != NULL && (o[10].value != NULL || o[5].value != NULL))) {
        fprintf(stderr, "ant-release timestamp: --cursor/--seed/--halt are short for "
                "--rollout-cursor/--rollout-seed/--rollout-halted: give one of each; "
                "--halt and --resume exclude each other\n");
        return EXIT_USAGE;
    }
    if (o[5].value != NULL && o[10].value != NULL) {
        fprintf(stderr, "ant-release timestamp: --rollout-halted with --resume\n");
        return EXIT_USAGE;
    }
    /* The operator's short forms (--cursor, --seed, --halt, --resume) steer the rollout
     * the previous timestamp names, keeping what they do not change. */
    bool short_form = o[7].value != NULL || o[8].value != NULL || o[9].value != NULL ||
                      o[10].value != NULL;
    const char *cursor = o[3].value != NULL ? o[3].value : o[7].value;
    const char *seed = o[4].value != NULL ? o[4].value : o[8].value;
    memset(&ro, 0, sizeof ro);
    bool set_rollout = o[2].value != NULL || cursor != NULL || seed != NULL ||
                       o[5].value != NULL || short_form;
    if (set_rollout && o[6].value != NULL) {
        fprintf(stderr, "ant-release timestamp: --no-rollout with rollout settings\n");
        return EXIT_USAGE;
    }
    rc = open_dir(o[0].value, false, &dirfd);
    if (rc != 0)
        return rc;
    previous_rollout(dirfd, &old);
    if (set_rollout) {
        struct ant_semver sv;
        const char *version = o[2].value;
        if (version == NULL && short_form && old.present)
            version = old.version;
        bool same = old.present && version != NULL && strcmp(old.version, version) == 0;
        if (version == NULL || (cursor == NULL && !(short_form && same))) {
            fprintf(stderr, "ant-release timestamp: a rollout needs --rollout-version and "
                    "--cursor (or a previous rollout to steer)\n");
            rc = EXIT_USAGE;
            goto out;
        }
        if (ant_semver_parse(version, &sv) != ANT_OK ||
            !ant_semver_format(&sv, ro.version, sizeof ro.version)) {
            fprintf(stderr, "ant-release timestamp: '%s' is not a version\n", version);
            rc = EXIT_USAGE;
            goto out;
        }
        if (cursor == NULL) {
            ro.cursor_ppm = old.cursor_ppm;
        } else if (ant_meta_cursor_parse(cursor, &ro.cursor_ppm) != ANT_OK) {
            fprintf(stderr, "ant-release timestamp: --cursor is a percentage 0-100 "
                    "with at most 4 decimals\n");
            rc = EXIT_USAGE;
            goto out;
        }
        ro.present = true;
        if (o[5].value != NULL || o[9].value != NULL)
            ro.halted = true;
        else if (o[10].value != NULL)
            ro.halted = false;
        else
            ro.halted = short_form && same && old.halted;
        if ((rc = rollout_listed(dirfd, ro.version)) != 0)
            goto out;
        if ((rc = rollout_seed(dirfd, seed, &ro)) != 0)
            goto out;
    }
    char why[256] = "";
    uint64_t tv = 0;
    ant_err err = ant_meta_repo_timestamp(dirfd, set_rollout || o[6].value != NULL ? &ro : NULL,
                                          (int64_t)time(NULL) + (int64_t)hours * 3600,
                                          &tv, why, sizeof why);
    if (err != ANT_OK) {
        rc = exit_of(err, "timestamp", why);
    } else {
        wrote(ANT_META_ROLE_TIMESTAMP, tv);
        if (ro.present) {
            char pct[16];
            unsigned whole = ro.cursor_ppm / 10000u, frac = ro.cursor_ppm % 10000u;
            snprintf(pct, sizeof pct, "%u.%04u", whole, frac);
            printf("rollout %s cursor %s%% %s\n", ro.version, pct,
                   ro.halted ? "halted" : "running");
        }
    }
out:
    close(dirfd);
    return rc;
}

/* --- yank, minimum --------------------------------------------------------------------- */

static const char policy_help[] =
    "Usage: ant-release yank --dir D --release-version V [--expires-days N]\n"
    "       ant-release minimum --dir D --release-version V [--expires-days N]\n"
    "\n"
    "Writes the next targets version (unsigned): the newest targets with V added to yanked\n"
    "(nodes never install it; a node running it upgrades at once to an allowed newer one),\n"
    "or with minimum_version V (a node below it upgrades at its next check, whatever the\n"
    "rollout cursor and window; \"\" removes it). ARCHITECTURE.md §10. Then: sign it with a\n"
    "threshold of targets keys, and run `ant-release timestamp`.\n";

static int cmd_policy(int argc, char **argv, bool yank)
{
    const char *cmd = yank ? "yank" : "minimum";
    struct opt o[] = {{"--dir", NULL, 0}, {"--release-version", NULL, 0},
                      {"--expires-days", NULL, 0}};
    struct ant_meta_targets_policy policy = {NULL, NULL};
    unsigned long long days = 90;
    int help, dirfd = -1, rc;

    rc = parse_opts(argc, argv, o, 3, cmd, &help);
    if (rc != 0 || help) {
        fputs(policy_help, help ? stdout : stderr);
        return rc;
    }
    for (int i = 0; i < 2; i++)
        if ((rc = need(&o[i], cmd)) != 0)
            return rc;
    if (o[2].value != NULL && (rc = parse_uint(o[2].value, 3660, &days, "--expires-days")) != 0)
        return rc;
    if (yank)
        policy.yank = o[1].value;
    else
        policy.minimum_version = o[1].value;
    rc = open_dir(o[0].value, false, &dirfd);
    if (rc != 0)
        return rc;
    char why[256] = "";
    uint64_t m = 0;
    ant_err err = ant_meta_repo_add(dirfd, NULL, &policy,
                                    (int64_t)time(NULL) + (int64_t)days * DAY_S, &m, why,
                                    sizeof why);
    if (err != ANT_OK) {
        rc = exit_of(err, cmd, why);
    } else {
        wrote(ANT_META_ROLE_TARGETS, m);
        printf("%s %s\n", yank ? "yanked" : "minimum_version", o[1].value);
    }
    close(dirfd);
    return rc;
}

/* --- sign ------------------------------------------------------------------------------- */

static const char sign_help[] =
    "Usage: ant-release sign --dir D --role root|targets|timestamp --key SECRET\n"
    "\n"
    "Adds one signature by SECRET (an ant-keygen secret key) to the newest file of the role:\n"
    "root.<N>.json, targets.<M>.json or timestamp.json. The key must be one of the role's\n"
    "keys in the newest root (for a new root: in it or in the root before it). Key holders\n"
    "sign in turn until the threshold is met.\n";

static int cmd_sign(int argc, char **argv)
{
    struct opt o[] = {{"--dir", NULL, 0}, {"--role", NULL, 0}, {"--key", NULL, 0}};
    uint8_t *sk = NULL, pk[ANT_MLDSA65_PUBLICKEYBYTES];
    enum ant_meta_role role;
    int help, dirfd = -1, rc;

    rc = parse_opts(argc, argv, o, 3, "sign", &help);
    if (rc != 0 || help) {
        fputs(sign_help, help ? stdout : stderr);
        return rc;
    }
    for (int i = 0; i < 3; i++)
        if ((rc = need(&o[i], "sign")) != 0)
            return rc;
    if (strcmp(o[1].value, "root") == 0)
        role = ANT_META_ROLE_ROOT;
    else if (strcmp(o[1].value, "targets") == 0)
        role = ANT_META_ROLE_TARGETS;
    else if (strcmp(o[1].value, "timestamp") == 0)
        role = ANT_META_ROLE_TIMESTAMP;
    else {
        fprintf(stderr, "ant-release sign: --role must be root, targets or timestamp\n");
        return EXIT_USAGE;
    }
    sk = malloc(ANT_MLDSA65_SECRETKEYBYTES);
    if (sk == NULL)
        return EXIT_USAGE;
    if ((rc = read_key(o[2].value, sk, ANT_MLDSA65_SECRETKEYBYTES, "secret key")) != 0)
        goto out;
    if (ant_mldsa65_pk_from_sk(pk, sk, ANT_MLDSA65_SECRETKEYBYTES) != ANT_OK) {
        fprintf(stderr, "ant-release sign: %s is not a valid ML-DSA-65 secret key\n", o[2].value);
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = open_dir(o[0].value, false, &dirfd)) != 0)
        goto out;
    char why[256] = "";
    size_t nsigs = 0;
    ant_err err = ant_meta_repo_sign(dirfd, role, sk, &nsigs, why, sizeof why);
    if (err != ANT_OK) {
        rc = exit_of(err, "sign", why);
    } else {
        char name[64];
        ant_meta_repo_file_name(role, newest(dirfd, role), name, sizeof name);
        printf("signed %s (%zu signature(s))\n", name, nsigs);
    }
out:
    if (sk != NULL) {
        explicit_bzero(sk, ANT_MLDSA65_SECRETKEYBYTES);
        free(sk);
    }
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

/* --- rotate ----------------------------------------------------------------------------- */

static const char rotate_help[] =
    "Usage: ant-release rotate --dir D [--root-keys ... --root-threshold K]\n"
    "         [--targets-keys ... --targets-threshold K]\n"
    "         [--timestamp-keys ... --timestamp-threshold K] [--expires-days N]\n"
    "\n"
    "Writes root.<N+1>.json (unsigned): the newest root with the given roles' keys and\n"
    "thresholds replaced. It must then be signed by a threshold of the OLD root keys and a\n"
    "threshold of the NEW ones; a node accepts nothing less. Changing the targets or\n"
    "timestamp keys makes nodes drop their trusted targets/timestamp: publish a new targets\n"
    "and timestamp signed by the new keys with it. --expires-days defaults to 365.\n";

static int cmd_rotate(int argc, char **argv)
{
    struct opt o[] = {{"--dir", NULL, 0},        {"--root-keys", NULL, 0},
                      {"--root-threshold", NULL, 0}, {"--targets-keys", NULL, 0},
                      {"--targets-threshold", NULL, 0}, {"--timestamp-keys", NULL, 0},
                      {"--timestamp-threshold", NULL, 0}, {"--expires-days", NULL, 0}};
    struct role_args *ra = NULL;
    const struct ant_meta_role_keys *rk[3] = {NULL, NULL, NULL};
    unsigned long long days = 365;
    int help, dirfd = -1, rc;
    bool any = false;

    rc = parse_opts(argc, argv, o, 8, "rotate", &help);
    if (rc != 0 || help) {
        fputs(rotate_help, help ? stdout : stderr);
        return rc;
    }
    if ((rc = need(&o[0], "rotate")) != 0)
        return rc;
    if (o[7].value != NULL && (rc = parse_uint(o[7].value, 3660, &days, "--expires-days")) != 0)
        return rc;
    ra = calloc(3, sizeof *ra);
    if (ra == NULL)
        return EXIT_USAGE;
    for (int i = 0; i < 3 && rc == 0; i++) {
        bool given = false;
        rc = role_from_opts(&o[1 + 2 * i], &o[2 + 2 * i], &ra[i], &given);
        if (given) {
            rk[i] = &ra[i].rk;
            any = true;
        }
    }
    if (rc != 0)
        goto out;
    if ((rc = open_dir(o[0].value, false, &dirfd)) != 0)
        goto out;
    if (!any)
        fprintf(stderr, "ant-release rotate: no keys change; writing the next root with a new "
                "expiry only\n");
    char why[256] = "";
    uint64_t n = 0;
    ant_err err = ant_meta_repo_rotate(dirfd, rk[0], rk[1], rk[2],
                                       (int64_t)time(NULL) + (int64_t)days * DAY_S, &n, why,
                                       sizeof why);
    if (err != ANT_OK) {
        rc = exit_of(err, "rotate", why);
    } else {
        wrote(ANT_META_ROLE_ROOT, n);
        printf("root.%llu.json needs a threshold of the old root keys and of the new ones\n",
               (unsigned long long)n);
    }
out:
    free(ra);
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

/* --- verify ----------------------------------------------------------------------------- */

static const char verify_help[] =
    "Usage: ant-release verify --dir D [--trusted-root FILE]\n"
    "\n"
    "Checks D exactly as a node checks a metadata server: from the trust anchor (the root\n"
    "compiled into this build, or FILE, default $ANT_TRUSTED_ROOT, which must be owned by\n"
    "root or you and not group- or world-writable), walk root.<N+1>.json as far as it goes, then timestamp.json, then the\n"
    "targets file it names. Exit 0 when the result is fresh; 1 naming the first failure.\n";

struct dir_fetch {
    int dirfd;
};

static ant_err fetch_from_dir(void *arg, const char *name, size_t cap, uint8_t **data,
                              size_t *len)
{
    const struct dir_fetch *df = arg;
    return ant_fsx_read_capped(df->dirfd, name, cap, data, len);
}

static int cmd_verify(int argc, char **argv)
{
    struct opt o[] = {{"--dir", NULL, 0}, {"--trusted-root", NULL, 0}};
    struct ant_meta_opts mo;
    struct ant_meta_status st;
    struct ant_meta_trusted *t = NULL;
    struct dir_fetch df = {-1};
    uint8_t *anchor = NULL;
    size_t alen = 0;
    char why[256] = "";
    int help, rc;

    rc = parse_opts(argc, argv, o, 2, "verify", &help);
    if (rc != 0 || help) {
        fputs(verify_help, help ? stdout : stderr);
        return rc;
    }
    if ((rc = need(&o[0], "verify")) != 0)
        return rc;
    ant_meta_opts_init(&mo);
    /* the node's environment variable, so an operator checks with the anchor nodes use */
    const char *anchor_path = o[1].value != NULL ? o[1].value : getenv("ANT_TRUSTED_ROOT");
    if (anchor_path != NULL && anchor_path[0] != '\0') {
        ant_err err = ant_meta_read_trusted_root(anchor_path, &anchor, &alen, why, sizeof why);
        if (err != ANT_OK) {
            fprintf(stderr, "ant-release verify: trusted root refused: %s\n",
                    why[0] != '\0' ? why : ant_strerror(err));
            return err == ANT_ERR_UNSAFE_FILE ? EXIT_REFUSED : EXIT_USAGE;
        }
        mo.trusted_root = anchor;
        mo.trusted_root_len = alen;
    }
    if ((rc = open_dir(o[0].value, false, &df.dirfd)) != 0) {
        free(anchor);
        return rc;
    }
    mo.fetch = fetch_from_dir;
    mo.fetch_arg = &df;
    ant_err err = ant_meta_refresh(-1, &mo, &t, &st);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-release verify: the trust anchor does not parse: %s\n",
                ant_strerror(err));
        rc = EXIT_REFUSED;
    } else {
        char exp[32] = "-";
        if (st.timestamp_expires != 0)
            (void)ant_meta_time_format(st.timestamp_expires, exp, sizeof exp);
        printf("state %s root %llu targets %llu timestamp %llu timestamp_expires %s\n",
               ant_meta_state_name(st.state), (unsigned long long)st.root_version,
               (unsigned long long)st.targets_version, (unsigned long long)st.timestamp_version,
               exp);
        if (st.error[0] != '\0')
            printf("first failure: %s\n", st.error);
        rc = st.state == ANT_META_FRESH ? 0 : EXIT_REFUSED;
    }
    ant_meta_trusted_free(t);
    close(df.dirfd);
    free(anchor);
    return rc;
}

/* --- show ------------------------------------------------------------------------------- */

static const char show_help[] =
    "Usage: ant-release show --dir D [--json]\n"
    "\n"
    "Prints the newest root (keys and thresholds), the newest targets (releases) and the\n"
    "timestamp, with how many signatures each carries and how many of them verify under\n"
    "the newest root. Nothing is trusted here: use `verify` for the node's verdict.\n";

static json_object *role_json(const struct ant_meta_root *r, enum ant_meta_role role)
{
    json_object *o = json_object_new_object(), *ids = json_object_new_array();
    const char *kid;
    for (size_t i = 0; (kid = ant_meta_root_keyid(r, role, i)) != NULL; i++)
        json_object_array_add(ids, json_object_new_string(kid));
    json_object_object_add(o, "keyids", ids);
    json_object_object_add(o, "threshold",
                           json_object_new_int((int)ant_meta_root_threshold(r, role)));
    return o;
}

static void add_time(json_object *o, const char *key, int64_t t)
{
    char buf[32] = "";
    (void)ant_meta_time_format(t, buf, sizeof buf);
    json_object_object_add(o, key, json_object_new_string(buf));
}

static void add_sigs(json_object *o, const struct ant_meta_envelope *env,
                     const struct ant_meta_root *root, enum ant_meta_role role)
{
    unsigned valid = 0;
    /* the count is what is shown; the verdict below threshold is the count itself */
    if (ant_meta_envelope_verify(env, root, role, &valid) != ANT_OK && valid == 0)
        valid = 0;
    json_object_object_add(o, "signatures",
                           json_object_new_int((int)ant_meta_envelope_signature_count(env)));
    json_object_object_add(o, "valid_signatures", json_object_new_int((int)valid));
    json_object_object_add(o, "threshold",
                           json_object_new_int((int)ant_meta_root_threshold(root, role)));
}

static int cmd_show(int argc, char **argv)
{
    struct opt o[] = {{"--dir", NULL, 0}, {"--json", NULL, 1}};
    struct ant_meta_envelope *renv = NULL, *env = NULL;
    struct ant_meta_root *root = NULL;
    json_object *out = NULL;
    int help, dirfd = -1, rc;
    size_t plen = 0;

    rc = parse_opts(argc, argv, o, 2, "show", &help);
    if (rc != 0 || help) {
        fputs(show_help, help ? stdout : stderr);
        return rc;
    }
    if ((rc = need(&o[0], "show")) != 0)
        return rc;
    if ((rc = open_dir(o[0].value, false, &dirfd)) != 0)
        return rc;
    uint64_t n = newest(dirfd, ANT_META_ROLE_ROOT), m = newest(dirfd, ANT_META_ROLE_TARGETS);
    if (n == 0) {
        fprintf(stderr, "ant-release show: %s has no root file\n", o[0].value);
        rc = EXIT_REFUSED;
        goto out;
    }
    if ((rc = load_root(dirfd, n, &renv, &root)) != 0)
        goto out;
    out = json_object_new_object();
    json_object *jr = json_object_new_object(), *roles = json_object_new_object();
    json_object_object_add(out, "root", jr);
    json_object_object_add(jr, "version", json_object_new_int64((int64_t)n));
    add_time(jr, "expires", ant_meta_root_expires(root));
    add_sigs(jr, renv, root, ANT_META_ROLE_ROOT);
    for (int r = ANT_META_ROLE_ROOT; r <= ANT_META_ROLE_TIMESTAMP; r++)
        json_object_object_add(roles, ant_meta_role_name((enum ant_meta_role)r),
                               role_json(root, (enum ant_meta_role)r));
    json_object_object_add(jr, "roles", roles);
    if (m > 0) {
        struct ant_meta_targets *tg = NULL;
        if ((rc = load_env(dirfd, ANT_META_ROLE_TARGETS, m, &env)) != 0)
            goto out;
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        if (ant_meta_targets_parse(p, plen, &tg) == ANT_OK) {
            json_object *jt = json_object_new_object(), *rel = json_object_new_array();
            json_object_object_add(out, "targets", jt);
            json_object_object_add(jt, "version", json_object_new_int64((int64_t)m));
            add_time(jt, "expires", ant_meta_targets_expires(tg));
            add_sigs(jt, env, root, ANT_META_ROLE_TARGETS);
            json_object_object_add(jt, "minimum_version",
                                   json_object_new_string(ant_meta_targets_minimum_version(tg)));
            json_object_object_add(
                jt, "yanked_count",
                json_object_new_int64((int64_t)ant_meta_targets_yanked_count(tg)));
            for (size_t i = 0; i < ant_meta_targets_count(tg); i++) {
                struct ant_meta_target e;
                char hex[ANT_SHA256_HEXBYTES];
                if (ant_meta_targets_entry(tg, i, &e) != ANT_OK)
                    continue;
                json_object *je = json_object_new_object();
                json_object_object_add(je, "version", json_object_new_string(e.version));
                json_object_object_add(je, "platform", json_object_new_string(e.platform));
                json_object_object_add(je, "archive", json_object_new_string(e.archive_name));
                json_object_object_add(je, "archive_length",
                                       json_object_new_int64((int64_t)e.archive_length));
                ant_hex_encode(hex, e.binary_sha256, ANT_SHA256_BYTES);
                json_object_object_add(je, "binary_sha256", json_object_new_string(hex));
                if (e.ndeltas > 0) {
                    json_object *jd = json_object_new_array();
                    for (size_t k = 0; k < e.ndeltas; k++) {
                        json_object *d = json_object_new_object();
                        json_object_object_add(d, "from_version",
                                               json_object_new_string(e.deltas[k].from_version));
                        json_object_object_add(d, "name", json_object_new_string(e.deltas[k].name));
                        json_object_object_add(d, "length",
                                               json_object_new_int64((int64_t)e.deltas[k].length));
                        json_object_array_add(jd, d);
                    }
                    json_object_object_add(je, "deltas", jd);
                }
                json_object_array_add(rel, je);
            }
            json_object_object_add(jt, "releases", rel);
        }
        ant_meta_targets_free(tg);
        ant_meta_envelope_free(env);
        env = NULL;
    }
    if (faccessat(dirfd, "timestamp.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        struct ant_meta_timestamp *ts = NULL;
        if ((rc = load_env(dirfd, ANT_META_ROLE_TIMESTAMP, 0, &env)) != 0)
            goto out;
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        if (ant_meta_timestamp_parse(p, plen, &ts) == ANT_OK) {
            json_object *js = json_object_new_object();
            struct ant_meta_targets_ref ref;
            struct ant_meta_rollout ro;
            ant_meta_timestamp_targets(ts, &ref);
            ant_meta_timestamp_rollout(ts, &ro);
            json_object_object_add(out, "timestamp", js);
            json_object_object_add(js, "version",
                                   json_object_new_int64((int64_t)ant_meta_timestamp_version(ts)));
            add_time(js, "expires", ant_meta_timestamp_expires(ts));
            add_sigs(js, env, root, ANT_META_ROLE_TIMESTAMP);
            json_object_object_add(js, "targets_version",
                                   json_object_new_int64((int64_t)ref.version));
            if (ro.present) {
                json_object *jro = json_object_new_object();
                json_object_object_add(jro, "version", json_object_new_string(ro.version));
                json_object_object_add(jro, "cursor_ppm", json_object_new_int64(ro.cursor_ppm));
                json_object_object_add(jro, "halted", json_object_new_boolean(ro.halted));
                char seedhex[2 * sizeof ro.seed + 1];
                ant_hex_encode(seedhex, ro.seed, sizeof ro.seed);
                json_object_object_add(jro, "seed", json_object_new_string(seedhex));
                json_object_object_add(js, "rollout", jro);
            }
        }
        ant_meta_timestamp_free(ts);
    }
    if (o[1].value != NULL) {
        puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
    } else {
        json_object *v;
        printf("root %llu expires %s signatures %d valid %d threshold %d\n",
               (unsigned long long)n,
               json_object_get_string(json_object_object_get(jr, "expires")),
               json_object_get_int(json_object_object_get(jr, "signatures")),
               json_object_get_int(json_object_object_get(jr, "valid_signatures")),
               json_object_get_int(json_object_object_get(jr, "threshold")));
        for (int r = ANT_META_ROLE_ROOT; r <= ANT_META_ROLE_TIMESTAMP; r++) {
            printf("  role %-9s threshold %u keys", ant_meta_role_name((enum ant_meta_role)r),
                   ant_meta_root_threshold(root, (enum ant_meta_role)r));
            const char *kid;
            for (size_t i = 0; (kid = ant_meta_root_keyid(root, (enum ant_meta_role)r, i)) != NULL; i++)
                printf(" %.16s", kid);
            putchar('\n');
        }
        if (json_object_object_get_ex(out, "targets", &v)) {
            json_object *rel = json_object_object_get(v, "releases");
            printf("targets %lld expires %s signatures %d valid %d threshold %d\n",
                   (long long)json_object_get_int64(json_object_object_get(v, "version")),
                   json_object_get_string(json_object_object_get(v, "expires")),
                   json_object_get_int(json_object_object_get(v, "signatures")),
                   json_object_get_int(json_object_object_get(v, "valid_signatures")),
                   json_object_get_int(json_object_object_get(v, "threshold")));
            for (size_t i = 0; i < json_object_array_length(rel); i++) {
                json_object *e = json_object_array_get_idx(rel, i);
                printf("  %s %s %s %lld bytes binary sha256 %s\n",
                       json_object_get_string(json_object_object_get(e, "version")),
                       json_object_get_string(json_object_object_get(e, "platform")),
                       json_object_get_string(json_object_object_get(e, "archive")),
                       (long long)json_object_get_int64(json_object_object_get(e, "archive_length")),
                       json_object_get_string(json_object_object_get(e, "binary_sha256")));
            }
        }
        if (json_object_object_get_ex(out, "timestamp", &v))
            printf("timestamp %lld expires %s targets %lld signatures %d valid %d threshold %d\n",
                   (long long)json_object_get_int64(json_object_object_get(v, "version")),
                   json_object_get_string(json_object_object_get(v, "expires")),
                   (long long)json_object_get_int64(json_object_object_get(v, "targets_version")),
                   json_object_get_int(json_object_object_get(v, "signatures")),
                   json_object_get_int(json_object_object_get(v, "valid_signatures")),
                   json_object_get_int(json_object_object_get(v, "threshold")));
    }
    rc = 0;
out:
    json_object_put(out);
    ant_meta_envelope_free(env);
    ant_meta_root_free(root);
    ant_meta_envelope_free(renv);
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

static const char main_help[] =
    "Usage: ant-release COMMAND [options]   (ant-release COMMAND --help for each)\n"
    "\n"
    "Signed release metadata (root, targets, timestamp) for ant-node fleets:\n"
    "  init       root version 1 from public keys and thresholds\n"
    "  add        the next targets version with one more release archive\n"
    "  timestamp  the next timestamp, naming the newest (signed) targets; steers a rollout\n"
    "  yank       the next targets version with one more yanked version\n"
    "  minimum    the next targets version with a new minimum_version\n"
    "  sign       add one signature to the newest file of a role\n"
    "  rotate     the next root version with new keys or thresholds\n"
    "  verify     check a metadata directory exactly as a node does\n"
    "  show       print what a metadata directory holds\n"
    "\n"
    "Exit status: 0 done, 1 refused, 2 usage or I/O error. --version prints the version.\n";

int main(int argc, char **argv)
{
    ant_log_set_level(ANT_LOG_ERROR);
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_help, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ant-release %s\n", ANT_VERSION_STRING);
        return 0;
    }
    if (strcmp(cmd, "init") == 0)
        return cmd_init(argc, argv);
    if (strcmp(cmd, "add") == 0)
        return cmd_add(argc, argv);
    if (strcmp(cmd, "timestamp") == 0)
        return cmd_timestamp(argc, argv);
    if (strcmp(cmd, "sign") == 0)
        return cmd_sign(argc, argv);
    if (strcmp(cmd, "yank") == 0)
        return cmd_policy(argc, argv, true);
    if (strcmp(cmd, "minimum") == 0)
        return cmd_policy(argc, argv, false);
    if (strcmp(cmd, "rotate") == 0)
        return cmd_rotate(argc, argv);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc, argv);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(argc, argv);
    fprintf(stderr, "ant-release: unknown command '%s'\n", cmd);
    fputs(main_help, stderr);
    return EXIT_USAGE;
}
