/*
 * The shared per-host archive cache (include/ant/cache.h, ARCHITECTURE.md §4).
 *
 * The Rust ant-node's cache was a persistent-RCE hole before it was hardened: it trusted
 * files other processes could swap. Here the directory is opened once and checked on its
 * fd; every file is opened relative to it with O_NOFOLLOW|O_NONBLOCK and checked on the open
 * fd before a byte is read; and nothing read from the cache is used until the private copy
 * in the caller's staging dir has passed the signature check for the exact version and
 * platform requested. The meta file is unsigned and only a corruption check. Writes never
 * modify a file in place (temp -> fsync -> rename), so a reader holding an fd always sees
 * one complete file, and the meta file is renamed last so a half-stored entry is a miss.
 */
#include "ant/cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
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
#include "ant/semver.h"
#include "ant/validate.h"

#define NAME_PREFIX "ant-node-"
#define SUFFIX_ARCHIVE ".archive"
#define SUFFIX_SIG ".sig"
#define SUFFIX_META ".meta.json"
/* A binary rebuilt from a patch (issue 19): no archive exists for it on this host. */
#define SUFFIX_BINARY ".binary"
#define SUFFIX_BINMETA ".binary.json"
#define SIZE_ARCHIVE "archive_size"
#define SIZE_BINARY "binary_size"
#define STAGING_PREFIX ".staging-"
#define TMP_PREFIX ".tmp-"
#define STALE_SECONDS (24 * 60 * 60)
#define MAX_LISTED 1024 /* releases considered per scan; a flood of names cannot grow memory */

struct ant_cache {
    int dirfd;
    uint64_t archive_cap;
    char path[PATH_MAX];
};

static const char *const platforms[] = {ANT_PLATFORM_LINUX_X64, ANT_PLATFORM_LINUX_ARM64};

/* The file names of one release: the archive entry, and the binary entry. */
struct names {
    char archive[256];
    char sig[256];
    char meta[256];
    char binary[256];
    char binmeta[256];
};

static ant_err make_names(const char *version, const char *platform, struct names *n)
{
    /* ant_release_context is the one place that decides which version strings and
     * platforms are acceptable; reuse it so the cache never holds a name it would reject. */
    char ctx[ANT_RELEASE_CONTEXT_CAP];
    ant_err err = ant_release_context(ctx, sizeof ctx, version, platform);
    if (err != ANT_OK)
        return err;
    int a = snprintf(n->archive, sizeof n->archive, NAME_PREFIX "%s-%s" SUFFIX_ARCHIVE, version,
                     platform);
    int s = snprintf(n->sig, sizeof n->sig, NAME_PREFIX "%s-%s" SUFFIX_SIG, version, platform);
    int m = snprintf(n->meta, sizeof n->meta, NAME_PREFIX "%s-%s" SUFFIX_META, version, platform);
    int b = snprintf(n->binary, sizeof n->binary, NAME_PREFIX "%s-%s" SUFFIX_BINARY, version,
                     platform);
    int bm = snprintf(n->binmeta, sizeof n->binmeta, NAME_PREFIX "%s-%s" SUFFIX_BINMETA, version,
                      platform);
    if (a < 0 || s < 0 || m < 0 || b < 0 || bm < 0 || (size_t)a >= sizeof n->archive ||
        (size_t)s >= sizeof n->sig || (size_t)m >= sizeof n->meta ||
        (size_t)b >= sizeof n->binary || (size_t)bm >= sizeof n->binmeta ||
        !ant_fsx_name_ok(n->archive) || !ant_fsx_name_ok(n->sig) || !ant_fsx_name_ok(n->meta) ||
        !ant_fsx_name_ok(n->binary) || !ant_fsx_name_ok(n->binmeta))
        return ANT_ERR_BAD_VERSION;
    return ANT_OK;
}

ant_err ant_cache_default_dir(char *buf, size_t cap)
{
    if (buf == NULL || cap == 0)
        return ANT_ERR_INVALID_ARG;
    buf[0] = '\0';
    int n;
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg != NULL && xdg[0] == '/') {
        n = snprintf(buf, cap, "%s/ant/upgrades", xdg);
    } else {
        /* The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored. */
        const char *home = getenv("HOME");
        /* getpwuid_r: the engine may run this while other threads use the passwd calls. */
        struct passwd pwbuf, *pw = NULL;
        char pwstr[4096];
        if (home == NULL || home[0] != '/')
            home = getpwuid_r(geteuid(), &pwbuf, pwstr, sizeof pwstr, &pw) == 0 && pw != NULL
                       ? pw->pw_dir
                       : NULL;
        if (home == NULL || home[0] != '/')
            return ANT_ERR_NOT_FOUND;
        n = snprintf(buf, cap, "%s/.local/share/ant/upgrades", home);
    }
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return ANT_ERR_INVALID_ARG;
    }
    return ANT_OK;
}

ant_err ant_cache_open(const char *path, uint64_t archive_cap, struct ant_cache **out)
{
    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (path == NULL || path[0] == '\0' || strlen(path) >= PATH_MAX - 64)
        return ANT_ERR_INVALID_ARG;
    struct ant_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ANT_ERR_NOMEM;
    ant_err err = ant_fsx_open_trusted_dir(path, true, &c->dirfd);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_WARN, "upgrade",
                "Upgrade cache directory refused, continuing without the cache path=%s error=\"%s\"",
                path, ant_strerror(err));
        free(c);
        return err;
    }
    c->archive_cap = archive_cap == 0 ? ANT_CACHE_ARCHIVE_CAP_DEFAULT : archive_cap;
    snprintf(c->path, sizeof c->path, "%s", path);
    *out = c;
    return ANT_OK;
}

void ant_cache_close(struct ant_cache *cache)
{
    if (cache == NULL)
        return;
    if (cache->dirfd >= 0)
        close(cache->dirfd);
    free(cache);
}

int ant_cache_dirfd(const struct ant_cache *cache)
{
    return cache == NULL ? -1 : cache->dirfd;
}

const char *ant_cache_path(const struct ant_cache *cache)
{
    return cache == NULL ? NULL : cache->path;
}

ant_err ant_cache_staging_create(const struct ant_cache *cache, char *path, size_t pathcap,
                                 int *dirfd)
{
    if (dirfd == NULL || path == NULL || pathcap == 0)
        return ANT_ERR_INVALID_ARG;
    *dirfd = -1;
    path[0] = '\0';
    if (cache == NULL)
        return ANT_ERR_INVALID_ARG;
    /* Made with mkdirat on the cache's fd like every other cache operation: the cache path
     * is not resolved again (the returned path is for messages and ant_fsx_private_dir_remove). */
    char name[sizeof STAGING_PREFIX + 16];
    for (int attempt = 0; attempt < 16; attempt++) {
        uint8_t rnd[8];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            return ANT_ERR_RNG;
        char hex[2 * sizeof rnd + 1];
        ant_hex_encode(hex, rnd, sizeof rnd);
        snprintf(name, sizeof name, STAGING_PREFIX "%s", hex);
        if (mkdirat(cache->dirfd, name, 0700) == 0)
            break;
        if (errno != EEXIST)
            return errno == ENOSPC ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
        name[0] = '\0';
    }
    if (name[0] == '\0')
        return ANT_ERR_EXISTS;
    int n = snprintf(path, pathcap, "%s/%s", cache->path, name);
    int fd = openat(cache->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (n < 0 || (size_t)n >= pathcap || fd < 0 || fstat(fd, &st) != 0 ||
        st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        ant_err err = n < 0 || (size_t)n >= pathcap ? ANT_ERR_INVALID_ARG
                      : fd < 0                      ? ANT_ERR_IO
                                                    : ANT_ERR_UNSAFE_FILE;
        if (fd >= 0)
            close(fd);
        unlinkat(cache->dirfd, name, AT_REMOVEDIR);
        path[0] = '\0';
        return err;
    }
    *dirfd = fd;
    return ANT_OK;
}

/* Empties the staging dir through its own fd, then removes it by its name on the cache fd:
 * the cache path is not resolved again (it may have been swapped since the open). */
void ant_cache_staging_remove(const struct ant_cache *c, const char *path, int dirfd)
{
    ant_fsx_private_dir_remove(NULL, dirfd);
    const char *slash = path != NULL ? strrchr(path, '/') : NULL;
    if (c != NULL && slash != NULL && ant_fsx_name_ok(slash + 1) &&
        strncmp(slash + 1, STAGING_PREFIX, sizeof STAGING_PREFIX - 1) == 0)
        unlinkat(c->dirfd, slash + 1, AT_REMOVEDIR);
}

/* ---- meta ------------------------------------------------------------------------ */

struct meta {
    char version[ANT_RELEASE_VERSION_MAX + 1];
    char platform[16];
    uint64_t size;
    uint8_t sha256[ANT_SHA256_BYTES];
};

static bool json_string_field(json_object *obj, const char *key, char *out, size_t cap)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n >= cap || strlen(s) != n)
        return false;
    memcpy(out, s, n + 1);
    return true;
}

static ant_err meta_parse(const uint8_t *text, size_t len, const char *size_key, struct meta *m)
{
    memset(m, 0, sizeof *m);
    ant_err err = ANT_ERR_PARSE;
    /* Depth 2 is all our flat object needs; anything deeper is not ours. */
    json_tokener *tok = json_tokener_new_ex(2);
    if (tok == NULL)
        return ANT_ERR_NOMEM;
    json_object *root = json_tokener_parse_ex(tok, (const char *)text, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len || !json_object_is_type(root, json_type_object))
        goto out;
    char hex[ANT_SHA256_HEXBYTES];
    json_object *size = NULL;
    if (!json_string_field(root, "version", m->version, sizeof m->version) ||
        !json_string_field(root, "platform", m->platform, sizeof m->platform) ||
        !json_string_field(root, "sha256", hex, sizeof hex) ||
        !json_object_object_get_ex(root, size_key, &size) ||
        !json_object_is_type(size, json_type_int))
        goto out;
    int64_t s = json_object_get_int64(size);
    if (s < 0 || strlen(hex) != 2 * ANT_SHA256_BYTES ||
        ant_hex_decode(m->sha256, ANT_SHA256_BYTES, hex) != ANT_OK)
        goto out;
    m->size = (uint64_t)s;
    err = ANT_OK;
out:
    json_object_put(root);
    json_tokener_free(tok);
    return err;
}

#ifdef ANT_TEST_FAULTS
/* Test-only (ant_upgrade_faults): ANT_TEST_FAULT=meta-nomem makes the meta's strings fail
 * to allocate, as json_object_new_string does when memory runs out. */
static json_object *meta_string(const char *s)
{
    const char *f = getenv("ANT_TEST_FAULT");
    if (f != NULL && strcmp(f, "meta-nomem") == 0)
        return NULL;
    return json_object_new_string(s);
}
#else
static json_object *meta_string(const char *s)
{
    return json_object_new_string(s);
}
#endif

/* Adds `val` (owned) under `key`. json_object_object_add takes a NULL value as JSON null and
 * succeeds, so a failed allocation would otherwise be written as a meta with null fields
 * (read back as a corrupt entry) and the store reported as done; it is refused here. On a
 * failed add the value is still ours to release. */
static bool meta_add(json_object *root, const char *key, json_object *val)
{
    if (val == NULL)
        return false;
    if (json_object_object_add(root, key, val) != 0) {
        json_object_put(val);
        return false;
    }
    return true;
}

static ant_err meta_write(int dirfd, const char *name, const char *version, const char *platform,
                          const char *size_key, uint64_t size,
                          const uint8_t sha256[ANT_SHA256_BYTES])
{
    char hex[ANT_SHA256_HEXBYTES];
    ant_hex_encode(hex, sha256, ANT_SHA256_BYTES);
    json_object *root = json_object_new_object();
    if (root == NULL)
        return ANT_ERR_NOMEM;
    ant_err err = ANT_ERR_NOMEM;
    if (!meta_add(root, "version", meta_string(version)) ||
        !meta_add(root, "platform", meta_string(platform)) ||
        !meta_add(root, size_key, json_object_new_int64((int64_t)size)) ||
        !meta_add(root, "sha256", meta_string(hex)))
        goto out;
    size_t len = 0;
    const char *text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &len);
    if (text == NULL)
        goto out;
    if (len > ANT_CACHE_META_CAP) {
        err = ANT_ERR_INTERNAL;
        goto out;
    }
    err = ant_fsx_write_atomic(dirfd, name, text, len, 0600);
out:
    json_object_put(root);
    return err;
}

/* ---- get ------------------------------------------------------------------------- */

static ant_err fail(ant_err err, const char **reason, const char *why)
{
    *reason = why;
    return err;
}

/* Maps an ant_fsx_open_capped/read_capped error on cache file `what` to a reason. */
static ant_err open_failure(ant_err err, const char **reason, const char *unsafe,
                            const char *too_large)
{
    switch (err) {
    case ANT_ERR_NOT_FOUND: return fail(err, reason, "not in the cache");
    case ANT_ERR_UNSAFE_FILE: return fail(err, reason, unsafe);
    case ANT_ERR_TOO_LARGE: return fail(err, reason, too_large);
    default: return fail(err, reason, "cannot read the cache entry");
    }
}

static ant_err read_sig(int fd, uint8_t sig[ANT_MLDSA65_SIGBYTES])
{
    size_t got = 0;
    while (got < ANT_MLDSA65_SIGBYTES) {
        ssize_t r = read(fd, sig + got, ANT_MLDSA65_SIGBYTES - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ANT_ERR_IO;
        if (r == 0)
            return ANT_ERR_CORRUPT;
        got += (size_t)r;
    }
    return ANT_OK;
}

/*
 * Creates the private copy ANT_CACHE_STAGED_ARCHIVE in a staging dir (O_EXCL|O_NOFOLLOW,
 * 0600), replacing a leftover of an earlier attempt. No temp name and no fsync: the copy
 * lives only as long as this upgrade attempt, a crash discards it, and fsyncing 200 MiB
 * would cost the hit path more than the verification itself.
 */
static ant_err staged_create(int staging_dirfd, int *fd)
{
    if (unlinkat(staging_dirfd, ANT_CACHE_STAGED_ARCHIVE, 0) != 0 && errno != ENOENT)
        return ANT_ERR_IO;
    *fd = openat(staging_dirfd, ANT_CACHE_STAGED_ARCHIVE,
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return *fd < 0 ? ANT_ERR_IO : ANT_OK;
}

/* Closes the private copy; on failure (or when `keep` is false) removes it. */
static ant_err staged_finish(int staging_dirfd, int fd, bool keep)
{
    ant_err err = ANT_OK;
    if (fd >= 0 && close(fd) != 0)
        err = ANT_ERR_IO;
    if (!keep || err != ANT_OK)
        unlinkat(staging_dirfd, ANT_CACHE_STAGED_ARCHIVE, 0);
    return err;
}

/* With `out` NULL the private copy is ANT_CACHE_STAGED_ARCHIVE in the staging dir; else an
 * unnamed file there, returned in *out (read-only, offset 0). */
static ant_err cache_get(struct ant_cache *c, const struct ant_trust_keys *keys,
                         const char *version, const char *platform, int staging_dirfd,
                         int *out, const char **why)
{
    struct names n;
    ant_err err = make_names(version, platform, &n);
    if (err != ANT_OK)
        return fail(err, why, "invalid version or platform");
    int afd = -1, sfd = -1, staged = -1;
    uint64_t asize = 0, ssize = 0;
    uint8_t *metatext = NULL;
    size_t metalen = 0;
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    struct meta m;

    /* Every check that needs no copy comes first: a FIFO, a symlink to /dev/zero, a
     * sparse 200 MiB + 1 file or a 3310-byte sig costs us nothing but an fstat. */
    err = ant_fsx_open_capped(c->dirfd, n.archive, c->archive_cap, &afd, &asize);
    if (err != ANT_OK) {
        err = open_failure(err, why, "cached archive is not a regular file (symlink, FIFO, ...)",
                           "cached archive exceeds the size cap");
        goto out;
    }
    err = ant_fsx_open_capped(c->dirfd, n.sig, ANT_MLDSA65_SIGBYTES, &sfd, &ssize);
    if (err == ANT_ERR_TOO_LARGE) {
        err = fail(ANT_ERR_BAD_SIGNATURE, why, "cached signature is not exactly 3309 bytes");
        goto out;
    }
    if (err != ANT_OK) {
        err = open_failure(err, why, "cached signature is not a regular file (symlink, FIFO, ...)",
                           "cached signature is too large");
        goto out;
    }
    if (ssize != ANT_MLDSA65_SIGBYTES) {
        err = fail(ANT_ERR_BAD_SIGNATURE, why, "cached signature is not exactly 3309 bytes");
        goto out;
    }
    err = read_sig(sfd, sig);
    if (err != ANT_OK) {
        err = fail(err, why, "cannot read the cached signature");
        goto out;
    }
    err = ant_fsx_read_capped(c->dirfd, n.meta, ANT_CACHE_META_CAP, &metatext, &metalen);
    if (err != ANT_OK) {
        err = open_failure(err, why, "cached meta file is not a regular file (symlink, FIFO, ...)",
                           "cached meta file exceeds 4 KiB");
        goto out;
    }
    err = meta_parse(metatext, metalen, SIZE_ARCHIVE, &m);
    if (err != ANT_OK) {
        err = fail(err, why, "cached meta file is not valid");
        goto out;
    }
    if (strcmp(m.version, version) != 0 || strcmp(m.platform, platform) != 0) {
        err = fail(ANT_ERR_MISMATCH, why, "cached meta file names another version or platform");
        goto out;
    }
    if (m.size != asize) {
        err = fail(ANT_ERR_CORRUPT, why, "cached archive size differs from its meta file");
        goto out;
    }

    err = out != NULL ? ant_fsx_anon_open(staging_dirfd, 0600, &staged)
                      : staged_create(staging_dirfd, &staged);
    if (err != ANT_OK) {
        err = fail(err, why, "cannot create the private copy");
        goto out;
    }
    uint8_t sha[ANT_SHA256_BYTES];
    uint64_t copied = 0;
    err = ant_trust_verify_stream(keys, version, platform, afd, c->archive_cap, staged, sig,
                                  sizeof sig, sha, &copied);
    if (err == ANT_OK || err == ANT_ERR_BAD_SIGNATURE) {
        /* Corruption is reported as such even when the signature fails too. */
        if (copied != m.size || ant_ct_memcmp(sha, m.sha256, sizeof sha) != 0) {
            err = fail(ANT_ERR_CORRUPT, why, "cached archive does not match its meta checksum");
            goto out;
        }
    }
    if (err == ANT_ERR_BAD_SIGNATURE) {
        err = fail(err, why,
                   "cached archive signature does not verify for this version and platform");
        goto out;
    }
    if (err != ANT_OK) {
        err = fail(err, why, err == ANT_ERR_TOO_LARGE ? "cached archive exceeds the size cap"
                                                      : "cannot copy and verify the archive");
        goto out;
    }
    if (out != NULL) {
        err = ant_fsx_reopen_rdonly(&staged);
        if (err != ANT_OK) {
            err = fail(err, why, "cannot reopen the private copy");
            goto out;
        }
        *out = staged;
        staged = -1;
        goto out;
    }
    err = staged_finish(staging_dirfd, staged, true);
    staged = -1;
    if (err != ANT_OK)
        err = fail(err, why, "cannot write the private copy");
out:
    if (staged >= 0 && out != NULL)
        close(staged);
    else if (staged >= 0)
        staged_finish(staging_dirfd, staged, false);
    free(metatext);
    if (sfd >= 0)
        close(sfd);
    if (afd >= 0)
        close(afd);
    return err;
}

static ant_err get_logged(struct ant_cache *cache, const struct ant_trust_keys *keys,
                          const char *version, const char *platform, int staging_dirfd,
                          int *out, const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    if (out != NULL)
        *out = -1;
    if (cache == NULL || keys == NULL || version == NULL || platform == NULL || staging_dirfd < 0)
        return fail(ANT_ERR_INVALID_ARG, why, "invalid argument");
    ant_err err = cache_get(cache, keys, version, platform, staging_dirfd, out, why);
    if (err == ANT_OK)
        ant_log(ANT_LOG_INFO, "upgrade", "Cache hit verified version=%s platform=%s", version,
                platform);
    else if (err == ANT_ERR_NOT_FOUND)
        ant_log(ANT_LOG_DEBUG, "upgrade", "Cache miss version=%s platform=%s", version, platform);
    else
        ant_log(ANT_LOG_WARN, "upgrade",
                "Cache entry rejected version=%s platform=%s reason=\"%s\" error=\"%s\"", version,
                platform, *why, ant_strerror(err));
    return err;
}

ant_err ant_cache_get(struct ant_cache *cache, const struct ant_trust_keys *keys,
                      const char *version, const char *platform, int staging_dirfd,
                      const char **reason)
{
    return get_logged(cache, keys, version, platform, staging_dirfd, NULL, reason);
}

ant_err ant_cache_get_fd(struct ant_cache *cache, const struct ant_trust_keys *keys,
                         const char *version, const char *platform, int staging_dirfd,
                         int *archive_fd, const char **reason)
{
    if (archive_fd == NULL)
        return ANT_ERR_INVALID_ARG;
    return get_logged(cache, keys, version, platform, staging_dirfd, archive_fd, reason);
}

/* ---- store ----------------------------------------------------------------------- */

static ant_err cache_store(struct ant_cache *c, const struct ant_trust_keys *keys,
                           const char *version, const char *platform, int archive_fd,
                           const uint8_t *sig, size_t siglen, const char **why)
{
    struct names n;
    ant_err err = make_names(version, platform, &n);
    if (err != ANT_OK)
        return fail(err, why, "invalid version or platform");
    if (siglen != ANT_MLDSA65_SIGBYTES)
        return fail(ANT_ERR_BAD_SIGNATURE, why, "signature is not exactly 3309 bytes");
    struct stat st;
    if (fstat(archive_fd, &st) != 0)
        return fail(ANT_ERR_IO, why, "cannot stat the archive");
    if (!S_ISREG(st.st_mode))
        return fail(ANT_ERR_UNSAFE_FILE, why, "archive to store is not a regular file");
    if ((uint64_t)st.st_size > c->archive_cap)
        return fail(ANT_ERR_TOO_LARGE, why, "archive exceeds the cache size cap");
    if (lseek(archive_fd, 0, SEEK_SET) != 0)
        return fail(ANT_ERR_IO, why, "cannot rewind the archive");

    struct ant_fsx_tmp *tmp = NULL;
    err = ant_fsx_tmp_open(c->dirfd, n.archive, 0600, &tmp);
    if (err != ANT_OK)
        return fail(err, why, "cannot create a temp file in the cache");
    uint8_t sha[ANT_SHA256_BYTES];
    uint64_t size = 0;
    /* Re-verified while copied: whatever the caller checked, the bytes that land in the
     * cache are exactly the bytes that verified. */
    err = ant_trust_verify_stream(keys, version, platform, archive_fd, c->archive_cap,
                                  ant_fsx_tmp_fd(tmp), sig, siglen, sha, &size);
    if (err != ANT_OK) {
        ant_fsx_tmp_abort(tmp);
        return fail(err, why,
                    err == ANT_ERR_BAD_SIGNATURE ? "archive signature does not verify"
                    : err == ANT_ERR_TOO_LARGE   ? "archive exceeds the cache size cap"
                                                 : "cannot copy the archive into the cache");
    }
    err = ant_fsx_tmp_commit(tmp, n.archive);
    if (err != ANT_OK)
        return fail(err, why, "cannot install the archive in the cache");
    err = ant_fsx_write_atomic(c->dirfd, n.sig, sig, siglen, 0600);
    if (err != ANT_OK)
        return fail(err, why, "cannot install the signature in the cache");
    /* The meta file last: until it exists, readers see a miss, never half an entry. */
    err = meta_write(c->dirfd, n.meta, version, platform, SIZE_ARCHIVE, size, sha);
    if (err != ANT_OK)
        return fail(err, why, "cannot install the meta file in the cache");
    return ANT_OK;
}

/* The argument check shared by ant_cache_store and ant_cache_add; clears *why. */
static bool store_args_valid(const struct ant_cache *cache, const struct ant_trust_keys *keys,
                             const char *version, const char *platform, int archive_fd,
                             const uint8_t *sig, size_t siglen, const char **why)
{
    *why = NULL;
    return cache != NULL && keys != NULL && version != NULL && platform != NULL &&
           archive_fd >= 0 && (sig != NULL || siglen == 0);
}

ant_err ant_cache_store(struct ant_cache *cache, const struct ant_trust_keys *keys,
                        const char *version, const char *platform, int archive_fd,
                        const uint8_t *sig, size_t siglen, const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    if (!store_args_valid(cache, keys, version, platform, archive_fd, sig, siglen, why))
        return fail(ANT_ERR_INVALID_ARG, why, "invalid argument");
    ant_err err = cache_store(cache, keys, version, platform, archive_fd, sig, siglen, why);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_WARN, "upgrade",
                "Cache store refused version=%s platform=%s reason=\"%s\" error=\"%s\"", version,
                platform, *why, ant_strerror(err));
        return err;
    }
    ant_log(ANT_LOG_INFO, "upgrade", "Cached release archive version=%s platform=%s", version,
            platform);
    /* A failed prune leaves extra files behind but the store itself succeeded. */
    if (ant_cache_prune(cache, ANT_CACHE_KEEP) != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade", "Cache prune failed path=%s", cache->path);
    return ANT_OK;
}

ant_err ant_cache_add(struct ant_cache *cache, const struct ant_trust_keys *keys,
                      const char *version, const char *platform, int archive_fd,
                      const uint8_t *sig, size_t siglen, const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    if (!store_args_valid(cache, keys, version, platform, archive_fd, sig, siglen, why))
        return fail(ANT_ERR_INVALID_ARG, why, "invalid argument");
    char staging[PATH_MAX];
    int sdfd = -1, copy = -1, bin = -1;
    ant_err err = ant_cache_staging_create(cache, staging, sizeof staging, &sdfd);
    if (err != ANT_OK)
        return fail(err, why, "cannot create a private staging directory");

    /* 1. verify while copying into an unnamed private file: later steps read only it, and
     * no process that can write the staging dir (same uid) can swap it. */
    err = ant_fsx_anon_open(sdfd, 0600, &copy);
    if (err != ANT_OK) {
        err = fail(err, why, "cannot create the private copy");
        goto out;
    }
    err = ant_trust_verify_stream(keys, version, platform, archive_fd, cache->archive_cap, copy,
                                  sig, siglen, NULL, NULL);
    if (err != ANT_OK) {
        err = fail(err, why,
                   err == ANT_ERR_BAD_SIGNATURE ? "archive signature does not verify for this "
                                                  "version and platform"
                   : err == ANT_ERR_TOO_LARGE   ? "archive exceeds the size cap"
                                                : "cannot copy and verify the archive");
        goto out;
    }
    err = ant_fsx_reopen_rdonly(&copy);
    if (err == ANT_OK && lseek(copy, 0, SEEK_SET) != 0)
        err = ANT_ERR_IO;
    if (err != ANT_OK) {
        err = fail(err, why, "cannot reopen the private copy");
        goto out;
    }
    /* 2. extract into another unnamed file, 3. validate that very file: a signed archive
     * that holds no runnable binary for this host is never stored, or every node on the
     * host would take the poison pill. */
    err = ant_fsx_anon_open(sdfd, 0700, &bin);
    if (err != ANT_OK) {
        err = fail(err, why, "cannot create the private binary file");
        goto out;
    }
    err = ant_extract_binary_fd(copy, bin, NULL, why);
    if (err != ANT_OK)
        goto out;
    err = ant_fsx_reopen_rdonly(&bin);
    if (err != ANT_OK) {
        err = fail(err, why, "cannot reopen the extracted binary");
        goto out;
    }
    err = ant_validate_binary_fd(bin, version, why);
    if (err != ANT_OK)
        goto out;
    /* 4. store from the private copy, which is what was just validated */
    err = ant_cache_store(cache, keys, version, platform, copy, sig, siglen, why);
out:
    if (copy >= 0)
        close(copy);
    if (bin >= 0)
        close(bin);
    ant_cache_staging_remove(cache, staging, sdfd);
    return err;
}

/* ---- list and prune -------------------------------------------------------------- */

struct scanned {
    struct ant_cache_entry e;
    struct ant_semver v;
};

/* ---- binary entries (issue 19) ---------------------------------------------------- */

/* Copies at most `cap` bytes of `in` (from its offset) to `out`, hashing them. */
static ant_err copy_hash(int in, int out, uint64_t cap, uint64_t *len,
                         uint8_t sha[ANT_SHA256_BYTES])
{
    struct ant_digest *d = NULL;
    uint8_t *buf = malloc(65536);
    ant_err err = buf == NULL ? ANT_ERR_NOMEM : ant_digest_new(&d, ANT_DIGEST_SHA256);
    *len = 0;
    while (err == ANT_OK) {
        ssize_t n = read(in, buf, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = ANT_ERR_IO;
            break;
        }
        if (n == 0)
            break;
        if ((uint64_t)n > cap - *len) {
            err = ANT_ERR_TOO_LARGE;
            break;
        }
        *len += (uint64_t)n;
        err = ant_digest_update(d, buf, (size_t)n);
        for (ssize_t put = 0; err == ANT_OK && put < n;) {
            ssize_t w = write(out, buf + put, (size_t)(n - put));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                err = errno == ENOSPC || errno == EDQUOT ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
            else
                put += w;
        }
    }
    if (err == ANT_OK)
        err = ant_digest_final(d, sha, ANT_SHA256_BYTES);
    ant_digest_free(d);
    free(buf);
    return err;
}

static ant_err cache_get_binary(struct ant_cache *c, const char *version, const char *platform,
                                uint64_t want_len, const uint8_t want_sha[ANT_SHA256_BYTES],
                                int staging_dirfd, int *out, const char **why)
{
    struct names n;
    struct meta m;
    int bfd = -1, staged = -1;
    uint64_t bsize = 0, copied = 0;
    uint8_t *metatext = NULL, sha[ANT_SHA256_BYTES];
    size_t metalen = 0;
    ant_err err = make_names(version, platform, &n);
    if (err != ANT_OK)
        return fail(err, why, "invalid version or platform");

    /* The meta first this time: it names the digest, and a binary of another release
     * (the common miss when looking for a patch's old binary) costs no copy. */
    err = ant_fsx_read_capped(c->dirfd, n.binmeta, ANT_CACHE_META_CAP, &metatext, &metalen);
    if (err != ANT_OK) {
        err = open_failure(err, why, "cached binary meta is not a regular file (symlink, FIFO, ...)",
                           "cached binary meta exceeds 4 KiB");
        goto out;
    }
    err = meta_parse(metatext, metalen, SIZE_BINARY, &m);
    if (err != ANT_OK) {
        err = fail(err, why, "cached binary meta is not valid");
        goto out;
    }
    if (strcmp(m.version, version) != 0 || strcmp(m.platform, platform) != 0) {
        err = fail(ANT_ERR_MISMATCH, why, "cached binary meta names another version or platform");
        goto out;
    }
    if ((want_len != 0 && m.size != want_len) ||
        ant_ct_memcmp(m.sha256, want_sha, ANT_SHA256_BYTES) != 0) {
        err = fail(ANT_ERR_MISMATCH, why, "cached binary is not the one signed metadata lists");
        goto out;
    }
    err = ant_fsx_open_capped(c->dirfd, n.binary, ANT_CACHE_BINARY_CAP, &bfd, &bsize);
    if (err != ANT_OK) {
        err = open_failure(err, why, "cached binary is not a regular file (symlink, FIFO, ...)",
                           "cached binary exceeds the size cap");
        goto out;
    }
    if (bsize != m.size) {
        err = fail(ANT_ERR_CORRUPT, why, "cached binary size differs from its meta file");
        goto out;
    }
    /* 0700: the engine executes this very file for `--version` (execveat on the fd). */
    err = ant_fsx_anon_open(staging_dirfd, 0700, &staged);
    if (err != ANT_OK) {
        err = fail(err, why, "cannot create the private copy");
        goto out;
    }
    err = copy_hash(bfd, staged, bsize, &copied, sha);
    if (err != ANT_OK) {
        err = fail(err, why, "cannot copy the cached binary");
        goto out;
    }
    /* Safety: what counts is the private copy against the caller's signed digest; the
     * meta matched it above only to save a copy. */
    if (copied != m.size || ant_ct_memcmp(sha, want_sha, ANT_SHA256_BYTES) != 0) {
        err = fail(ANT_ERR_CORRUPT, why, "cached binary does not match the signed digest");
        goto out;
    }
    err = ant_fsx_reopen_rdonly(&staged);
    if (err != ANT_OK) {
        err = fail(err, why, "cannot reopen the private copy");
        goto out;
    }
    *out = staged;
    staged = -1;
out:
    if (staged >= 0)
        close(staged);
    if (bfd >= 0)
        close(bfd);
    free(metatext);
    return err;
}

ant_err ant_cache_get_binary_fd(struct ant_cache *cache, const char *version,
                                const char *platform, uint64_t want_len,
                                const uint8_t want_sha256[ANT_SHA256_BYTES], int staging_dirfd,
                                int *binary_fd, const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    if (binary_fd == NULL)
        return ANT_ERR_INVALID_ARG;
    *binary_fd = -1;
    if (cache == NULL || version == NULL || platform == NULL || want_sha256 == NULL ||
        staging_dirfd < 0)
        return fail(ANT_ERR_INVALID_ARG, why, "invalid argument");
    ant_err err = cache_get_binary(cache, version, platform, want_len, want_sha256,
                                   staging_dirfd, binary_fd, why);
    if (err == ANT_OK)
        ant_log(ANT_LOG_INFO, "upgrade", "Cached binary verified version=%s platform=%s",
                version, platform);
    else if (err != ANT_ERR_NOT_FOUND)
        ant_log(ANT_LOG_WARN, "upgrade",
                "Cached binary rejected version=%s platform=%s reason=\"%s\" error=\"%s\"",
                version, platform, *why, ant_strerror(err));
    return err;
}

ant_err ant_cache_store_binary(struct ant_cache *cache, const char *version,
                               const char *platform, int binary_fd, uint64_t len,
                               const uint8_t sha256[ANT_SHA256_BYTES], const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    struct ant_fsx_tmp *tmp = NULL;
    struct names n;
    uint8_t sha[ANT_SHA256_BYTES];
    uint64_t copied = 0;
    ant_err err;

    *why = NULL;
    if (cache == NULL || version == NULL || platform == NULL || binary_fd < 0 || sha256 == NULL)
        return fail(ANT_ERR_INVALID_ARG, why, "invalid argument");
    err = make_names(version, platform, &n);
    if (err != ANT_OK)
        return fail(err, why, "invalid version or platform");
    if (len == 0 || len > ANT_CACHE_BINARY_CAP)
        return fail(ANT_ERR_TOO_LARGE, why, "binary exceeds the cache size cap");
    if (lseek(binary_fd, 0, SEEK_SET) != 0)
        return fail(ANT_ERR_IO, why, "cannot rewind the binary");
    err = ant_fsx_tmp_open(cache->dirfd, n.binary, 0600, &tmp);
    if (err != ANT_OK)
        return fail(err, why, "cannot create a temp file in the cache");
    /* Re-hashed while copied: the bytes stored are the bytes that match the digest. */
    err = copy_hash(binary_fd, ant_fsx_tmp_fd(tmp), len, &copied, sha);
    if (err == ANT_OK && (copied != len || ant_ct_memcmp(sha, sha256, sizeof sha) != 0))
        err = ANT_ERR_MISMATCH;
    if (err != ANT_OK) {
        ant_fsx_tmp_abort(tmp);
        return fail(err, why, err == ANT_ERR_MISMATCH ? "binary does not match its digest"
                                                      : "cannot copy the binary into the cache");
    }
    err = ant_fsx_tmp_commit(tmp, n.binary);
    if (err != ANT_OK)
        return fail(err, why, "cannot install the binary in the cache");
    err = meta_write(cache->dirfd, n.binmeta, version, platform, SIZE_BINARY, len, sha256);
    if (err != ANT_OK)
        return fail(err, why, "cannot install the binary meta file in the cache");
    ant_log(ANT_LOG_INFO, "upgrade", "Cached release binary version=%s platform=%s", version,
            platform);
    if (ant_cache_prune(cache, ANT_CACHE_KEEP) != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade", "Cache prune failed path=%s", cache->path);
    return ANT_OK;
}

/* Parses `ant-node-<version>-<platform><suffix>`; false for any other name. */
static bool parse_cache_name(const char *name, char *version, size_t vcap, const char **platform,
                             bool *is_archive)
{
    /* Longer suffixes first: ".binary.json" also ends in ".json" (not a suffix here). */
    static const char *const suffixes[] = {SUFFIX_ARCHIVE, SUFFIX_SIG, SUFFIX_META,
                                           SUFFIX_BINMETA, SUFFIX_BINARY};
    size_t len = strlen(name), plen = sizeof NAME_PREFIX - 1;
    if (len <= plen || strncmp(name, NAME_PREFIX, plen) != 0)
        return false;
    for (size_t s = 0; s < sizeof suffixes / sizeof suffixes[0]; s++) {
        size_t sl = strlen(suffixes[s]);
        if (len <= plen + sl || strcmp(name + len - sl, suffixes[s]) != 0)
            continue;
        for (size_t p = 0; p < sizeof platforms / sizeof platforms[0]; p++) {
            size_t pl = strlen(platforms[p]);
            size_t mid = len - sl; /* end of "<version>-<platform>" */
            if (mid < plen + pl + 2 || name[mid - pl - 1] != '-' ||
                strncmp(name + mid - pl, platforms[p], pl) != 0)
                continue;
            size_t vlen = mid - pl - 1 - plen;
            if (vlen == 0 || vlen >= vcap)
                return false;
            memcpy(version, name + plen, vlen);
            version[vlen] = '\0';
            *platform = platforms[p];
            *is_archive = s == 0;
            return true;
        }
        return false;
    }
    return false;
}

static bool is_stale(const struct stat *st)
{
    return st->st_mtime < time(NULL) - STALE_SECONDS;
}

/*
 * Scans the directory once. Collects (version, platform) pairs whose version parses;
 * with `prune_junk`, deletes cache-named files whose version does not parse and stale
 * leftovers of crashed writers.
 */
static ant_err scan(struct ant_cache *c, bool prune_junk, struct scanned **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    int dfd = fcntl(c->dirfd, F_DUPFD_CLOEXEC, 0);
    if (dfd < 0)
        return ANT_ERR_IO;
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return ANT_ERR_IO;
    }
    rewinddir(d);
    ant_err err = ANT_OK;
    struct scanned *list = NULL;
    size_t n = 0, capn = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                err = ANT_ERR_IO;
            break;
        }
        const char *name = de->d_name;
        struct stat st;
        if (prune_junk && (strncmp(name, TMP_PREFIX, sizeof TMP_PREFIX - 1) == 0 ||
                           strncmp(name, STAGING_PREFIX, sizeof STAGING_PREFIX - 1) == 0)) {
            if (fstatat(c->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !is_stale(&st))
                continue;
            if (S_ISDIR(st.st_mode)) {
                int sfd = openat(c->dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sfd >= 0) {
                    ant_fsx_private_dir_remove(NULL, sfd);
                    unlinkat(c->dirfd, name, AT_REMOVEDIR);
                }
            } else {
                unlinkat(c->dirfd, name, 0);
            }
            continue;
        }
        char version[ANT_RELEASE_VERSION_MAX + 1];
        const char *platform = NULL;
        bool is_archive = false;
        if (!parse_cache_name(name, version, sizeof version, &platform, &is_archive))
            continue;
        struct ant_semver v;
        char ctx[ANT_RELEASE_CONTEXT_CAP];
        if (ant_semver_parse(version, &v) != ANT_OK ||
            ant_release_context(ctx, sizeof ctx, version, platform) != ANT_OK) {
            if (prune_junk)
                unlinkat(c->dirfd, name, 0);
            continue;
        }
        size_t i = 0;
        while (i < n && !(strcmp(list[i].e.version, version) == 0 &&
                          strcmp(list[i].e.platform, platform) == 0))
            i++;
        if (i == n) {
            if (n == MAX_LISTED)
                continue;
            if (n == capn) {
                size_t nc = capn == 0 ? 8 : capn * 2;
                struct scanned *nl = realloc(list, nc * sizeof *nl);
                if (nl == NULL) {
                    err = ANT_ERR_NOMEM;
                    break;
                }
                list = nl;
                capn = nc;
            }
            memset(&list[n], 0, sizeof list[n]);
            memcpy(list[n].e.version, version, strlen(version) + 1);
            snprintf(list[n].e.platform, sizeof list[n].e.platform, "%s", platform);
            list[n].v = v;
            n++;
        }
        if (is_archive && fstatat(c->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
            list[i].e.archive_size = (uint64_t)st.st_size;
    }
    closedir(d);
    if (err != ANT_OK) {
        free(list);
        return err;
    }
    *out = list;
    *count = n;
    return ANT_OK;
}

/* Newest first; equal versions by platform name for a stable order. */
static int cmp_newest_first(const void *a, const void *b)
{
    const struct scanned *x = a, *y = b;
    int c = ant_semver_compare(&y->v, &x->v);
    if (c != 0)
        return c;
    c = strcmp(x->e.version, y->e.version);
    return c != 0 ? c : strcmp(x->e.platform, y->e.platform);
}

ant_err ant_cache_list(struct ant_cache *cache, struct ant_cache_entry **entries, size_t *count)
{
    if (entries == NULL || count == NULL)
        return ANT_ERR_INVALID_ARG;
    *entries = NULL;
    *count = 0;
    if (cache == NULL)
        return ANT_ERR_INVALID_ARG;
    struct scanned *list = NULL;
    size_t n = 0;
    ant_err err = scan(cache, false, &list, &n);
    if (err != ANT_OK)
        return err;
    if (n == 0) {
        free(list);
        return ANT_OK;
    }
    qsort(list, n, sizeof *list, cmp_newest_first);
    struct ant_cache_entry *e = calloc(n, sizeof *e);
    if (e == NULL) {
        free(list);
        return ANT_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        e[i] = list[i].e;
    free(list);
    *entries = e;
    *count = n;
    return ANT_OK;
}

ant_err ant_cache_prune(struct ant_cache *cache, size_t keep)
{
    if (cache == NULL)
        return ANT_ERR_INVALID_ARG;
    struct scanned *list = NULL;
    size_t n = 0;
    ant_err err = scan(cache, true, &list, &n);
    if (err != ANT_OK)
        return err;
    /* An empty cache leaves list NULL, and qsort's base must not be NULL even for 0. */
    if (n > 0)
        qsort(list, n, sizeof *list, cmp_newest_first);
    /* Count distinct versions in order; everything after the first `keep` goes. */
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        bool new_version = i == 0 || ant_semver_compare(&list[i].v, &list[i - 1].v) != 0 ||
                           strcmp(list[i].e.version, list[i - 1].e.version) != 0;
        if (new_version)
            distinct++;
        if (distinct <= keep)
            continue;
        struct names nm;
        if (make_names(list[i].e.version, list[i].e.platform, &nm) != ANT_OK)
            continue;
        /* Meta first: a reader racing with us sees a miss, not an entry losing its files. */
        const char *order[] = {nm.meta, nm.binmeta, nm.sig, nm.archive, nm.binary};
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
            if (unlinkat(cache->dirfd, order[k], 0) != 0 && errno != ENOENT) {
                ant_log(ANT_LOG_WARN, "upgrade", "Cannot delete old cache file name=%s error=%s",
                        order[k], strerror(errno));
                err = ANT_ERR_IO;
            }
        }
        ant_log(ANT_LOG_INFO, "upgrade", "Pruned cached release version=%s platform=%s",
                list[i].e.version, list[i].e.platform);
    }
    free(list);
    if (ant_fsx_fsync_dir(cache->dirfd) != ANT_OK)
        err = ANT_ERR_IO;
    return err;
}
