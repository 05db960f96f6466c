/*
 * Tests of src/upgrade/cache.c, written as an attacker who can write into the shared cache
 * directory: the Rust ant-node's 14 cache tests (miss, store + get, unsigned store, forged
 * checksum, post-hit swap, missing sig/meta, oversize archive/sig/meta before any copy,
 * /dev/zero and FIFO tricks) and what goes beyond them: downgrade and platform
 * substitution, every special file at every path, an unsafe cache dir, 8 processes storing
 * and reading at once, a signed but malformed archive, and pruning to the newest 3.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/digest.h"
#include "ant/fsx.h"
#include "ant/trust.h"
#include "ant/version.h"
#include "fixtures.h"
#include "test.h"

#define X64 ANT_PLATFORM_LINUX_X64
#define ARM64 ANT_PLATFORM_LINUX_ARM64

static char root[128];
static char keys_dir[256];
static char rel_dir[256]; /* signed release fixtures, by "<binary>-<signed version>-<platform>" */
static uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
static struct ant_trust_keys *keys;

static void remove_root(void)
{
    explicit_bzero(sk, sizeof sk);
    ant_trust_keys_free(keys);
    fx_rm_tree(root);
}

static void ensure_root(void)
{
    if (root[0] != '\0')
        return;
    fx_tmpdir(root, sizeof root, "cache");
    atexit(remove_root);
    snprintf(keys_dir, sizeof keys_dir, "%s/keys", root);
    snprintf(rel_dir, sizeof rel_dir, "%s/releases", root);
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    char why[512];
    if (mkdir(keys_dir, 0755) != 0 || mkdir(rel_dir, 0700) != 0 ||
        !fx_keypair(keys_dir, "test", pk, sk) || ant_trust_keys_new(&keys) != ANT_OK ||
        ant_trust_keys_add_dir(keys, keys_dir, why, sizeof why) != ANT_OK) {
        fprintf(stderr, "fixture: keys\n");
        exit(2);
    }
}

/* A signed release archive (made once per combination): `ant-node` answers `binary`, the
 * signature binds `version` and `platform`. Paths into `archive` and `sigpath`. */
static void release(const char *binary, const char *version, const char *platform,
                    char *archive, size_t cap, char *sigpath, size_t sigcap)
{
    snprintf(archive, cap, "%s/%s-%s-%s.tar.gz", rel_dir, binary, version, platform);
    snprintf(sigpath, sigcap, "%s.sig", archive);
    if (access(archive, F_OK) != 0)
        CHECK(fx_signed_release(archive, binary, version, platform, sk));
}

static void read_sig(const char *path, uint8_t sig[ANT_MLDSA65_SIGBYTES])
{
    size_t len = 0;
    uint8_t *d = fx_read(path, &len);
    CHECK(d != NULL && len == ANT_MLDSA65_SIGBYTES);
    if (d != NULL && len == ANT_MLDSA65_SIGBYTES)
        memcpy(sig, d, len);
    free(d);
}

/* A fresh empty cache dir and its handle. */
static struct ant_cache *new_cache(char *path, size_t cap, uint64_t archive_cap)
{
    static int seq;
    snprintf(path, cap, "%s/cache%d/ant/upgrades", root, seq++);
    struct ant_cache *c = NULL;
    CHECK_OK(ant_cache_open(path, archive_cap, &c));
    return c;
}

struct staging {
    char path[512];
    int fd;
};

static void staging_new(struct staging *s)
{
    char parent[256];
    snprintf(parent, sizeof parent, "%s/staging", root);
    CHECK_OK(ant_fsx_private_dir_create(parent, "s-", s->path, sizeof s->path, &s->fd));
}

static void staging_free(struct staging *s)
{
    ant_fsx_private_dir_remove(s->path, s->fd);
}

static size_t count_entries(int dirfd)
{
    int d2 = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    DIR *d = fdopendir(d2);
    size_t n = 0;
    rewinddir(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static bool exists_in(int dirfd, const char *name)
{
    return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Stores the release (archive, sig) as version/platform through the real store path. */
static ant_err store(struct ant_cache *c, const char *version, const char *platform,
                     const char *archive, const char *sigpath)
{
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    read_sig(sigpath, sig);
    int fd = open(archive, O_RDONLY | O_CLOEXEC);
    const char *reason = NULL;
    ant_err err = ant_cache_store(c, keys, version, platform, fd, sig, sizeof sig, &reason);
    close(fd);
    return err;
}

/* A get into a fresh staging dir; *staged_ok tells whether a staged file exists after. */
static ant_err get(struct ant_cache *c, const char *version, const char *platform,
                   const char **reason, bool *staged)
{
    struct staging s;
    staging_new(&s);
    ant_err err = ant_cache_get(c, keys, version, platform, s.fd, reason);
    *staged = exists_in(s.fd, ANT_CACHE_STAGED_ARCHIVE);
    CHECK_MSG(count_entries(s.fd) == (err == ANT_OK ? 1u : 0u), "staging dir holds leftovers");
    staging_free(&s);
    return err;
}

/* Plants bytes under `name` in the cache dir as an attacker would (plain write). */
static void plant(struct ant_cache *c, const char *name, const void *data, size_t len)
{
    int dfd = ant_cache_dirfd(c);
    unlinkat(dfd, name, 0);
    int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
    close(fd);
}

/* Plants archive + sig + a meta that is consistent with the planted archive (an attacker
 * can always compute the checksum), under the names of version/platform. */
static void plant_release(struct ant_cache *c, const char *version, const char *platform,
                          const char *archive, const char *sigpath)
{
    size_t alen = 0, slen = 0;
    uint8_t *a = fx_read(archive, &alen);
    uint8_t *s = fx_read(sigpath, &slen);
    char name[256], meta[512], hex[ANT_SHA256_HEXBYTES];
    uint8_t sha[ANT_SHA256_BYTES];
    CHECK(a != NULL && s != NULL);
    CHECK_OK(ant_sha256(sha, a, alen));
    ant_hex_encode(hex, sha, sizeof sha);
    snprintf(name, sizeof name, "ant-node-%s-%s.archive", version, platform);
    plant(c, name, a, alen);
    snprintf(name, sizeof name, "ant-node-%s-%s.sig", version, platform);
    plant(c, name, s, slen);
    snprintf(name, sizeof name, "ant-node-%s-%s.meta.json", version, platform);
    int n = snprintf(meta, sizeof meta,
                     "{\"version\":\"%s\",\"platform\":\"%s\",\"archive_size\":%zu,\"sha256\":\"%s\"}",
                     version, platform, alen, hex);
    plant(c, name, meta, (size_t)n);
    free(a);
    free(s);
}

static void replace_with_symlink(struct ant_cache *c, const char *name, const char *target)
{
    unlinkat(ant_cache_dirfd(c), name, 0);
    CHECK(symlinkat(target, ant_cache_dirfd(c), name) == 0);
}

static void replace_with_fifo(struct ant_cache *c, const char *name)
{
    unlinkat(ant_cache_dirfd(c), name, 0);
    CHECK(mkfifoat(ant_cache_dirfd(c), name, 0600) == 0);
}

/* ---- the Rust ant-node's 14 cache tests ---------------------------------------- */

static void test_miss_returns_not_found(void)
{
    ensure_root();
    char path[256];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    const char *reason = NULL;
    bool staged;
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_NOT_FOUND);
    CHECK(!staged);
    ant_cache_close(c);
}

static void test_store_then_get_returns_private_copy(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    int dfd = ant_cache_dirfd(c);
    CHECK(exists_in(dfd, "ant-node-0.2.0-linux-x64.archive"));
    CHECK(exists_in(dfd, "ant-node-0.2.0-linux-x64.sig"));
    CHECK(exists_in(dfd, "ant-node-0.2.0-linux-x64.meta.json"));
    CHECK_INT(count_entries(dfd), 3); /* no temp files left */
    struct stat st;
    CHECK(fstatat(dfd, "ant-node-0.2.0-linux-x64.archive", &st, 0) == 0 &&
          (st.st_mode & 0777) == 0600);

    /* the meta file says what it should */
    uint8_t *meta = NULL;
    size_t mlen = 0;
    CHECK_OK(ant_fsx_read_capped(dfd, "ant-node-0.2.0-linux-x64.meta.json", 4096, &meta, &mlen));
    size_t alen = 0;
    uint8_t *a = fx_read(archive, &alen);
    uint8_t sha[ANT_SHA256_BYTES];
    char hex[ANT_SHA256_HEXBYTES], want_size[32];
    CHECK_OK(ant_sha256(sha, a, alen));
    ant_hex_encode(hex, sha, sizeof sha);
    snprintf(want_size, sizeof want_size, "\"archive_size\":%zu", alen);
    CHECK(meta != NULL && strstr((char *)meta, hex) != NULL);
    CHECK(meta != NULL && strstr((char *)meta, want_size) != NULL);
    CHECK(meta != NULL && strstr((char *)meta, "\"version\":\"0.2.0\"") != NULL);
    CHECK(meta != NULL && strstr((char *)meta, "\"platform\":\"linux-x64\"") != NULL);
    free(meta);

    struct staging s;
    staging_new(&s);
    const char *reason = "unset";
    CHECK_OK(ant_cache_get(c, keys, "0.2.0", X64, s.fd, &reason));
    CHECK(reason == NULL);
    char staged[600];
    snprintf(staged, sizeof staged, "%s/" ANT_CACHE_STAGED_ARCHIVE, s.path);
    size_t blen = 0;
    uint8_t *b = fx_read(staged, &blen);
    CHECK(b != NULL && blen == alen && memcmp(a, b, alen) == 0);
    CHECK(stat(staged, &st) == 0 && st.st_ino != 0);
    struct stat cached;
    CHECK(fstatat(dfd, "ant-node-0.2.0-linux-x64.archive", &cached, 0) == 0);
    CHECK(st.st_ino != cached.st_ino); /* a copy, not a link to the shared file */
    free(b);
    free(a);
    staging_free(&s);
    ant_cache_close(c);
}

static void test_unsigned_archive_refused_by_store(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    uint8_t zeros[ANT_MLDSA65_SIGBYTES] = {0};
    int fd = open(archive, O_RDONLY);
    const char *reason = NULL;
    CHECK_ERR(ant_cache_store(c, keys, "0.2.0", X64, fd, zeros, sizeof zeros, &reason),
              ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(ant_cache_store(c, keys, "0.2.0", X64, fd, zeros, 0, &reason),
              ANT_ERR_BAD_SIGNATURE);
    close(fd);
    CHECK_INT(count_entries(ant_cache_dirfd(c)), 0);
    ant_cache_close(c);
}

static void test_store_and_add_refuse_bad_arguments(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    read_sig(sigpath, sig);
    int fd = open(archive, O_RDONLY);
    ant_err (*const entry[2])(struct ant_cache *, const struct ant_trust_keys *, const char *,
                              const char *, int, const uint8_t *, size_t, const char **) = {
        ant_cache_store, ant_cache_add};
    for (int i = 0; i < 2; i++) {
        const char *reason = NULL;
        CHECK_ERR(entry[i](NULL, keys, "0.2.0", X64, fd, sig, sizeof sig, &reason),
                  ANT_ERR_INVALID_ARG);
        CHECK_STR(reason, "invalid argument");
        CHECK_ERR(entry[i](c, NULL, "0.2.0", X64, fd, sig, sizeof sig, NULL), ANT_ERR_INVALID_ARG);
        CHECK_ERR(entry[i](c, keys, NULL, X64, fd, sig, sizeof sig, NULL), ANT_ERR_INVALID_ARG);
        CHECK_ERR(entry[i](c, keys, "0.2.0", NULL, fd, sig, sizeof sig, NULL),
                  ANT_ERR_INVALID_ARG);
        CHECK_ERR(entry[i](c, keys, "0.2.0", X64, -1, sig, sizeof sig, NULL), ANT_ERR_INVALID_ARG);
        CHECK_ERR(entry[i](c, keys, "0.2.0", X64, fd, NULL, sizeof sig, NULL),
                  ANT_ERR_INVALID_ARG);
    }
    close(fd);
    CHECK_INT(count_entries(ant_cache_dirfd(c)), 0);
    ant_cache_close(c);
}

static void test_tampered_archive_with_forged_checksum_rejected(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600], tampered[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    size_t len = 0;
    uint8_t *a = fx_read(archive, &len);
    a[len / 2] ^= 0x01;
    snprintf(tampered, sizeof tampered, "%s/tampered.tar.gz", root);
    CHECK(fx_write(tampered, a, len, 0600));
    plant_release(c, "0.2.0", X64, tampered, sigpath); /* meta recomputed to match */
    const char *reason = NULL;
    bool staged;
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_BAD_SIGNATURE);
    CHECK(!staged);
    CHECK(reason != NULL && strstr(reason, "signature does not verify") != NULL);
    free(a);
    ant_cache_close(c);
}

static void test_post_hit_swap_does_not_change_private_copy(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600], other[512], othersig[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    release("0.3.0", "0.2.0", X64, other, sizeof other, othersig, sizeof othersig);
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    struct staging s;
    staging_new(&s);
    CHECK_OK(ant_cache_get(c, keys, "0.2.0", X64, s.fd, NULL));
    plant_release(c, "0.2.0", X64, other, othersig); /* swapped after the hit */
    char staged[600];
    snprintf(staged, sizeof staged, "%s/" ANT_CACHE_STAGED_ARCHIVE, s.path);
    size_t alen = 0, blen = 0;
    uint8_t *a = fx_read(archive, &alen), *b = fx_read(staged, &blen);
    CHECK(a != NULL && b != NULL && alen == blen && memcmp(a, b, alen) == 0);
    free(a);
    free(b);
    staging_free(&s);
    ant_cache_close(c);
}

static void test_missing_sig_or_meta_is_a_miss(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    const char *reason = NULL;
    bool staged;
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    CHECK(unlinkat(ant_cache_dirfd(c), "ant-node-0.2.0-linux-x64.sig", 0) == 0);
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_NOT_FOUND);
    CHECK(!staged);
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    CHECK(unlinkat(ant_cache_dirfd(c), "ant-node-0.2.0-linux-x64.meta.json", 0) == 0);
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_NOT_FOUND);
    CHECK(!staged);
    ant_cache_close(c);
}

static void test_oversize_archive_rejected_before_copy(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    int fd = openat(ant_cache_dirfd(c), "ant-node-0.2.0-linux-x64.archive", O_WRONLY);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)ANT_CACHE_ARCHIVE_CAP_DEFAULT + 1) == 0);
    close(fd);
    const char *reason = NULL;
    bool staged;
    double t0 = fx_now();
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_TOO_LARGE);
    CHECK(fx_now() - t0 < 0.5); /* 200 MiB were not read */
    CHECK(!staged);
    CHECK(reason != NULL && strstr(reason, "archive exceeds") != NULL);
    ant_cache_close(c);
}

static void test_wrong_size_sig_rejected_before_copy(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    uint8_t sig[ANT_MLDSA65_SIGBYTES + 1] = {0};
    read_sig(sigpath, sig);
    const char *reason = NULL;
    bool staged;
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    plant(c, "ant-node-0.2.0-linux-x64.sig", sig, ANT_MLDSA65_SIGBYTES - 1);
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_BAD_SIGNATURE);
    CHECK(reason != NULL && strstr(reason, "not exactly 3309") != NULL);
    CHECK(!staged);
    plant(c, "ant-node-0.2.0-linux-x64.sig", sig, ANT_MLDSA65_SIGBYTES + 1);
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_BAD_SIGNATURE);
    CHECK(reason != NULL && strstr(reason, "not exactly 3309") != NULL);
    CHECK(!staged);
    ant_cache_close(c);
}

static void test_store_refuses_oversize(void)
{
    ensure_root();
    char path[256], big[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 1 << 20);
    release("0.2.0", "0.2.0", X64, big, sizeof big, sigpath, sizeof sigpath);
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    read_sig(sigpath, sig);
    snprintf(big, sizeof big, "%s/sparse-over-cap", root);
    int fd = open(big, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, (1 << 20) + 1) == 0);
    const char *reason = NULL;
    CHECK_ERR(ant_cache_store(c, keys, "0.2.0", X64, fd, sig, sizeof sig, &reason),
              ANT_ERR_TOO_LARGE);
    close(fd);
    CHECK_INT(count_entries(ant_cache_dirfd(c)), 0);
    ant_cache_close(c);
}

static void test_special_files_at_every_path(void)
{
    ensure_root();
    static const char *const suffixes[] = {"archive", "sig", "meta.json"};
    char path[256], archive[512], sigpath[600], name[128], target[512];
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    for (size_t i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "ant-node-0.2.0-linux-x64.%s", suffixes[i]);
        for (int kind = 0; kind < 3; kind++) {
            struct ant_cache *c = new_cache(path, sizeof path, 0);
            CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
            if (kind == 0) {
                replace_with_symlink(c, name, "/dev/zero");
            } else if (kind == 1) {
                replace_with_fifo(c, name);
            } else {
                /* a symlink to a perfectly good regular file is refused all the same */
                snprintf(target, sizeof target, "%s/%s.copy", path, name);
                CHECK(renameat(ant_cache_dirfd(c), name, AT_FDCWD, target) == 0);
                replace_with_symlink(c, name, target);
            }
            const char *reason = NULL;
            bool staged;
            double t0 = fx_now();
            ant_err err = get(c, "0.2.0", X64, &reason, &staged);
            double took = fx_now() - t0;
            CHECK_MSG(err == ANT_ERR_UNSAFE_FILE, "%s kind %d: %s", name, kind,
                      ant_strerror(err));
            CHECK_MSG(took < 2.0, "%s kind %d took %.2f s", name, kind, took);
            CHECK(!staged);
            ant_cache_close(c);
        }
    }
}

static void test_oversize_meta_rejected(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    static char big[ANT_CACHE_META_CAP + 1];
    memset(big, ' ', sizeof big);
    plant(c, "ant-node-0.2.0-linux-x64.meta.json", big, sizeof big);
    const char *reason = NULL;
    bool staged;
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_TOO_LARGE);
    CHECK(reason != NULL && strstr(reason, "4 KiB") != NULL);
    CHECK(!staged);
    ant_cache_close(c);
}

/* ---- beyond the Rust tests ------------------------------------------------------- */

static void test_downgrade_substitution_rejected(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    /* a genuine, validly signed 0.1.0 release ... */
    release("0.1.0", "0.1.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_OK(store(c, "0.1.0", X64, archive, sigpath));
    /* ... planted under 0.2.0's names with a consistent meta */
    plant_release(c, "0.2.0", X64, archive, sigpath);
    const char *reason = NULL;
    bool staged;
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_BAD_SIGNATURE);
    CHECK(!staged);
    /* and the store path refuses it too */
    CHECK_ERR(store(c, "0.2.0", X64, archive, sigpath), ANT_ERR_BAD_SIGNATURE);
    /* while the real 0.1.0 entry still verifies as 0.1.0 */
    CHECK_OK(get(c, "0.1.0", X64, &reason, &staged));
    ant_cache_close(c);
}

static void test_platform_substitution_rejected(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", ARM64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_OK(store(c, "0.2.0", ARM64, archive, sigpath));
    plant_release(c, "0.2.0", X64, archive, sigpath);
    const char *reason = NULL;
    bool staged;
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_BAD_SIGNATURE);
    CHECK(!staged);
    CHECK_ERR(store(c, "0.2.0", X64, archive, sigpath), ANT_ERR_BAD_SIGNATURE);
    ant_cache_close(c);
}

static void test_meta_must_match(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    const char *reason = NULL;
    bool staged;
    static const struct {
        const char *meta;
        ant_err want;
    } cases[] = {
        {"not json", ANT_ERR_PARSE},
        {"[]", ANT_ERR_PARSE},
        {"{\"version\":\"0.2.0\"}", ANT_ERR_PARSE},
        {"{\"version\":\"0.2.0\",\"platform\":\"linux-x64\",\"archive_size\":\"1\",\"sha256\":\"00\"}", ANT_ERR_PARSE},
        {"{\"version\":\"0.2.0\",\"platform\":\"linux-x64\",\"archive_size\":1,\"sha256\":\"zz\"}", ANT_ERR_PARSE},
        {"{\"version\":\"0.2.0\",\"platform\":\"linux-x64\",\"archive_size\":1,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"} trailing", ANT_ERR_PARSE},
        {"{\"version\":\"0.1.0\",\"platform\":\"linux-x64\",\"archive_size\":1,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}", ANT_ERR_MISMATCH},
        {"{\"version\":\"0.2.0\",\"platform\":\"linux-arm64\",\"archive_size\":1,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}", ANT_ERR_MISMATCH},
        {"{\"version\":\"0.2.0\",\"platform\":\"linux-x64\",\"archive_size\":1,\"sha256\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}", ANT_ERR_CORRUPT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
        plant(c, "ant-node-0.2.0-linux-x64.meta.json", cases[i].meta, strlen(cases[i].meta));
        ant_err err = get(c, "0.2.0", X64, &reason, &staged);
        CHECK_MSG(err == cases[i].want, "meta case %zu: %s", i, ant_strerror(err));
        CHECK(!staged);
    }
    /* right size, wrong checksum, valid signature: corruption, reported as such */
    CHECK_OK(store(c, "0.2.0", X64, archive, sigpath));
    size_t alen = 0;
    uint8_t *a = fx_read(archive, &alen);
    char meta[512];
    int n = snprintf(meta, sizeof meta,
                     "{\"version\":\"0.2.0\",\"platform\":\"linux-x64\",\"archive_size\":%zu,"
                     "\"sha256\":\"%064d\"}",
                     alen, 0);
    plant(c, "ant-node-0.2.0-linux-x64.meta.json", meta, (size_t)n);
    CHECK_ERR(get(c, "0.2.0", X64, &reason, &staged), ANT_ERR_CORRUPT);
    CHECK(reason != NULL && strstr(reason, "checksum") != NULL);
    free(a);
    ant_cache_close(c);
}

static void test_unsafe_cache_dir_refused(void)
{
    ensure_root();
    char path[256];
    struct ant_cache *c = NULL;

    snprintf(path, sizeof path, "%s/gw-cache", root);
    CHECK(mkdir(path, 0700) == 0 && chmod(path, 0770) == 0);
    CHECK_ERR(ant_cache_open(path, 0, &c), ANT_ERR_UNSAFE_FILE);
    CHECK(c == NULL);
    CHECK(chmod(path, 0757) == 0);
    CHECK_ERR(ant_cache_open(path, 0, &c), ANT_ERR_UNSAFE_FILE);

    snprintf(path, sizeof path, "%s/foreign-cache", root);
    CHECK(mkdir(path, 0700) == 0);
    if (chown(path, 12345, 12345) == 0)
        CHECK_ERR(ant_cache_open(path, 0, &c), ANT_ERR_UNSAFE_FILE);
    else
        fprintf(stderr, "  (skipped foreign-owner cache: chown not permitted)\n");

    char real[256];
    snprintf(real, sizeof real, "%s/real-cache", root);
    CHECK(mkdir(real, 0700) == 0);
    snprintf(path, sizeof path, "%s/link-cache", root);
    CHECK(symlink(real, path) == 0);
    CHECK_ERR(ant_cache_open(path, 0, &c), ANT_ERR_UNSAFE_FILE);

    /* a fresh one is created 0700 with its parents */
    snprintf(path, sizeof path, "%s/new/a/b/upgrades", root);
    CHECK_OK(ant_cache_open(path, 0, &c));
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
    ant_cache_close(c);
}

static void test_default_dir(void)
{
    char buf[512];
    char *old_xdg = getenv("XDG_DATA_HOME") ? strdup(getenv("XDG_DATA_HOME")) : NULL;
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("XDG_DATA_HOME", "/data/x", 1);
    CHECK_OK(ant_cache_default_dir(buf, sizeof buf));
    CHECK_STR(buf, "/data/x/ant/upgrades");
    setenv("XDG_DATA_HOME", "relative/ignored", 1);
    setenv("HOME", "/home/op", 1);
    CHECK_OK(ant_cache_default_dir(buf, sizeof buf));
    CHECK_STR(buf, "/home/op/.local/share/ant/upgrades");
    unsetenv("XDG_DATA_HOME");
    CHECK_OK(ant_cache_default_dir(buf, sizeof buf));
    CHECK_STR(buf, "/home/op/.local/share/ant/upgrades");
    char tiny[8];
    CHECK_ERR(ant_cache_default_dir(tiny, sizeof tiny), ANT_ERR_INVALID_ARG);
    if (old_xdg != NULL)
        setenv("XDG_DATA_HOME", old_xdg, 1);
    if (old_home != NULL)
        setenv("HOME", old_home, 1);
    free(old_xdg);
    free(old_home);
}

/* One of 8 concurrent workers: stores and reads the same version over and over. Exits 0
 * if every read was a miss or a private copy identical to the release, 1 otherwise. */
static int worker(const char *cache_path, const char *archive, const char *sigpath, int rounds)
{
    struct ant_cache *c = NULL;
    if (ant_cache_open(cache_path, 0, &c) != ANT_OK)
        return 1;
    size_t alen = 0;
    uint8_t *a = fx_read(archive, &alen);
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    size_t slen = 0;
    uint8_t *s = fx_read(sigpath, &slen);
    if (a == NULL || s == NULL || slen != sizeof sig)
        return 1;
    memcpy(sig, s, sizeof sig);
    int bad = 0;
    for (int r = 0; r < rounds && bad == 0; r++) {
        char staging[512];
        int sfd = -1;
        if (ant_cache_staging_create(c, staging, sizeof staging, &sfd) != ANT_OK)
            return 1;
        const char *reason = NULL;
        ant_err err = ant_cache_get(c, keys, "0.2.0", X64, sfd, &reason);
        if (err == ANT_OK) {
            char p[600];
            snprintf(p, sizeof p, "%s/" ANT_CACHE_STAGED_ARCHIVE, staging);
            size_t blen = 0;
            uint8_t *b = fx_read(p, &blen);
            if (b == NULL || blen != alen || memcmp(a, b, alen) != 0)
                bad = 1;
            free(b);
        } else if (err != ANT_ERR_NOT_FOUND) {
            fprintf(stderr, "  worker %d: read %s (%s)\n", (int)getpid(), ant_strerror(err),
                    reason ? reason : "-");
            bad = 1;
        }
        ant_fsx_private_dir_remove(staging, sfd);
        int fd = open(archive, O_RDONLY | O_CLOEXEC);
        if (ant_cache_store(c, keys, "0.2.0", X64, fd, sig, sizeof sig, &reason) != ANT_OK) {
            fprintf(stderr, "  worker %d: store failed (%s)\n", (int)getpid(),
                    reason ? reason : "-");
            bad = 1;
        }
        close(fd);
    }
    free(a);
    free(s);
    ant_cache_close(c);
    return bad;
}

static void test_eight_processes_never_see_a_torn_entry(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    pid_t pids[8];
    for (int i = 0; i < 8; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(worker(path, archive, sigpath, 15));
    }
    for (int i = 0; i < 8; i++) {
        int status = 0;
        CHECK(waitpid(pids[i], &status, 0) == pids[i]);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d failed", i);
    }
    /* and the entry they left verifies */
    const char *reason = NULL;
    bool staged;
    CHECK_OK(get(c, "0.2.0", X64, &reason, &staged));
    size_t n = count_entries(ant_cache_dirfd(c));
    CHECK_MSG(n == 3, "%zu files left in the cache (temp files?)", n);
    ant_cache_close(c);
}

static ant_err add(struct ant_cache *c, const char *version, const char *archive,
                   const char *sigpath, const char **reason)
{
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    read_sig(sigpath, sig);
    int fd = open(archive, O_RDONLY | O_CLOEXEC);
    ant_err err = ant_cache_add(c, keys, version, X64, fd, sig, sizeof sig, reason);
    close(fd);
    return err;
}

static void test_signed_but_malformed_never_stored(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    const char *reason = NULL;
    struct ant_cache *c = new_cache(path, sizeof path, 0);

    /* signed, but no ant-node inside */
    snprintf(archive, sizeof archive, "%s/no-binary.tar.gz", root);
    snprintf(sigpath, sizeof sigpath, "%s.sig", archive);
    struct fx_member m[] = {{"README.md", FX_FILE, "x", 1, 0, NULL}};
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    CHECK(fx_archive(archive, m, 1, true));
    CHECK(fx_sign_file(archive, sk, "0.2.0", X64, sig));
    CHECK(fx_write(sigpath, sig, sizeof sig, 0600));
    CHECK_ERR(add(c, "0.2.0", archive, sigpath, &reason), ANT_ERR_BAD_ARCHIVE);

    /* signed as 0.2.0, but the binary inside says 0.3.0 */
    release("0.3.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_ERR(add(c, "0.2.0", archive, sigpath, &reason), ANT_ERR_MISMATCH);

    /* signed, but the binary is not for this machine */
    char bin[512];
    fx_fake_binary(bin, sizeof bin, "0.2.0");
    size_t blen = 0;
    uint8_t *b = fx_read(bin, &blen);
    b[18] = b[18] == 183 ? 62 : 183; /* e_machine, little-endian low byte */
    struct fx_member arm[] = {{"ant-node", FX_FILE, b, blen, 0, NULL}};
    snprintf(archive, sizeof archive, "%s/arm.tar.gz", root);
    snprintf(sigpath, sizeof sigpath, "%s.sig", archive);
    CHECK(fx_archive(archive, arm, 1, true));
    CHECK(fx_sign_file(archive, sk, "0.2.0", X64, sig));
    CHECK(fx_write(sigpath, sig, sizeof sig, 0600));
    CHECK_ERR(add(c, "0.2.0", archive, sigpath, &reason), ANT_ERR_PLATFORM);
    free(b);

    /* nothing was stored, no staging dir was left behind */
    CHECK_INT(count_entries(ant_cache_dirfd(c)), 0);

    /* the well-formed release goes through the same path */
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_OK(add(c, "0.2.0", archive, sigpath, &reason));
    CHECK_INT(count_entries(ant_cache_dirfd(c)), 3);
    bool staged;
    CHECK_OK(get(c, "0.2.0", X64, &reason, &staged));
    ant_cache_close(c);
}

static void test_pruning_keeps_newest_three(void)
{
    ensure_root();
    char path[256], archive[512], sigpath[600];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    int dfd = ant_cache_dirfd(c);
    /* unrelated files of the cache stay; junk with our prefix goes */
    plant(c, "releases.json", "{}", 2);
    plant(c, "download.lock", "", 0);
    plant(c, "ant-node-garbage-linux-x64.archive", "x", 1);
    /* leftovers of crashed writers: removed once a day old, kept while they may be in use */
    struct timespec old[2] = {{.tv_sec = time(NULL) - 2 * 86400}, {.tv_sec = time(NULL) - 2 * 86400}};
    CHECK(mkdirat(dfd, ".staging-deadbeef", 0700) == 0);
    int sd = openat(dfd, ".staging-deadbeef", O_RDONLY | O_DIRECTORY);
    int sf = openat(sd, "archive.tar.gz", O_WRONLY | O_CREAT, 0600);
    close(sf);
    close(sd);
    CHECK(utimensat(dfd, ".staging-deadbeef", old, 0) == 0);
    CHECK(mkdirat(dfd, ".staging-fresh", 0700) == 0);
    plant(c, ".tmp-0123456789abcdef", "partial", 7);
    CHECK(utimensat(dfd, ".tmp-0123456789abcdef", old, 0) == 0);
    plant(c, ".tmp-fedcba9876543210", "in progress", 11);
    /* stored out of order; 0.10.0 > 0.9.0 numerically, 0.10.0-rc.1 < 0.10.0 */
    static const char *const order[] = {"0.2.0", "0.10.0", "0.9.0", "0.3.0", "0.10.0-rc.1"};
    for (size_t i = 0; i < 5; i++) {
        release("0.2.0", order[i], X64, archive, sizeof archive, sigpath, sizeof sigpath);
        CHECK_OK(store(c, order[i], X64, archive, sigpath));
    }
    struct ant_cache_entry *e = NULL;
    size_t n = 0;
    CHECK_OK(ant_cache_list(c, &e, &n));
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_STR(e[0].version, "0.10.0");
        CHECK_STR(e[1].version, "0.10.0-rc.1");
        CHECK_STR(e[2].version, "0.9.0");
        CHECK(e[0].archive_size > 0);
    }
    free(e);
    CHECK(!exists_in(dfd, "ant-node-0.2.0-linux-x64.archive"));
    CHECK(!exists_in(dfd, "ant-node-0.2.0-linux-x64.sig"));
    CHECK(!exists_in(dfd, "ant-node-0.2.0-linux-x64.meta.json"));
    CHECK(!exists_in(dfd, "ant-node-0.3.0-linux-x64.meta.json"));
    CHECK(!exists_in(dfd, "ant-node-garbage-linux-x64.archive"));
    CHECK(exists_in(dfd, "releases.json"));
    CHECK(exists_in(dfd, "download.lock"));
    CHECK(!exists_in(dfd, ".staging-deadbeef"));
    CHECK(!exists_in(dfd, ".tmp-0123456789abcdef"));
    CHECK(exists_in(dfd, ".staging-fresh"));
    CHECK(exists_in(dfd, ".tmp-fedcba9876543210"));
    CHECK_INT(count_entries(dfd), 3 * 3 + 4);

    /* the prune is by version: two platforms of one version count once */
    release("0.2.0", "0.10.0", ARM64, archive, sizeof archive, sigpath, sizeof sigpath);
    CHECK_OK(store(c, "0.10.0", ARM64, archive, sigpath));
    CHECK_OK(ant_cache_list(c, &e, &n));
    CHECK_INT(n, 4);
    free(e);
    const char *reason = NULL;
    bool staged;
    CHECK_OK(get(c, "0.9.0", X64, &reason, &staged));
    ant_cache_close(c);
}


/* ---- the `ant-node cache` commands ---------------------------------------------- */

/* Runs the built ant-node with `args` (NULL-terminated, without argv[0]); captures
 * stdout and stderr (NUL-terminated, truncated to the caps) and returns the exit status. */
static int run_cli(const char *const *args, char *out, size_t outcap, char *err, size_t errcap)
{
    const char *bin = getenv("ANT_BINARY_DIR");
    char exe[512], opath[256], epath[256];
    snprintf(exe, sizeof exe, "%s/tools/ant-node/ant-node", bin != NULL ? bin : ".");
    snprintf(opath, sizeof opath, "%s/cli.out", root);
    snprintf(epath, sizeof epath, "%s/cli.err", root);
    char *argv[32];
    size_t n = 0;
    argv[n++] = exe;
    for (; args[n - 1] != NULL && n < 31; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(99);
        execv(exe, argv);
        _exit(98);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    size_t len = 0;
    uint8_t *d = fx_read(opath, &len);
    snprintf(out, outcap, "%.*s", (int)len, d != NULL ? (char *)d : "");
    free(d);
    d = fx_read(epath, &len);
    snprintf(err, errcap, "%.*s", (int)len, d != NULL ? (char *)d : "");
    free(d);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_cli_version_is_exact(void)
{
    ensure_root();
    char out[256], err[256];
    const char *args[] = {"--version", NULL};
    CHECK_INT(run_cli(args, out, sizeof out, err, sizeof err), 0);
    CHECK_STR(out, "ant-node " ANT_VERSION_STRING "\n");
    CHECK_STR(err, "");
}

static void test_cli_cache_add_list_verify(void)
{
    ensure_root();
    char cdir[256], archive[512], sigpath[600], out[4096], err[4096];
    snprintf(cdir, sizeof cdir, "%s/cli-cache", root);
    release("0.2.0", "0.2.0", X64, archive, sizeof archive, sigpath, sizeof sigpath);

    /* without the test key the release is not trusted */
    const char *untrusted[] = {"cache", "add", "--release-version", "0.2.0", "--platform", X64,
                               "--archive", archive, "--signature", sigpath, "--cache-dir", cdir,
                               NULL};
    CHECK_INT(run_cli(untrusted, out, sizeof out, err, sizeof err), 1);
    CHECK(strstr(err, "signature does not verify") != NULL);

    const char *add[] = {"cache", "add", "--release-version", "0.2.0", "--platform", X64,
                         "--archive", archive, "--signature", sigpath, "--cache-dir", cdir,
                         "--trusted-keys-dir", keys_dir, NULL};
    CHECK_INT(run_cli(add, out, sizeof out, err, sizeof err), 0);
    CHECK(strstr(out, "stored ant-node 0.2.0 linux-x64") != NULL);

    const char *list[] = {"cache", "list", "--cache-dir", cdir, "--trusted-keys-dir", keys_dir,
                          NULL};
    CHECK_INT(run_cli(list, out, sizeof out, err, sizeof err), 0);
    CHECK_MSG(strstr(out, "0.2.0") != NULL && strstr(out, "verified") != NULL, "list: %s", out);

    const char *verify[] = {"cache", "verify", "--release-version", "0.2.0", "--platform", X64,
                            "--cache-dir", cdir, "--trusted-keys-dir", keys_dir, NULL};
    CHECK_INT(run_cli(verify, out, sizeof out, err, sizeof err), 0);
    CHECK(strstr(out, "verified ant-node 0.2.0") != NULL);

    const char *verify_missing[] = {"cache", "verify", "--release-version=0.3.0", "--platform",
                                    X64, "--cache-dir", cdir, "--trusted-keys-dir", keys_dir,
                                    NULL};
    CHECK_INT(run_cli(verify_missing, out, sizeof out, err, sizeof err), 1);
    CHECK(strstr(err, "not in the cache") != NULL);

    /* tamper with the cached archive: verify and list say so, with the reason */
    char cached[600];
    snprintf(cached, sizeof cached, "%s/ant-node-0.2.0-linux-x64.archive", cdir);
    size_t len = 0;
    uint8_t *a = fx_read(cached, &len);
    CHECK(a != NULL && len > 100);
    a[len - 30] ^= 0x55;
    CHECK(fx_write(cached, a, len, 0600));
    free(a);
    CHECK_INT(run_cli(verify, out, sizeof out, err, sizeof err), 1);
    CHECK_MSG(strstr(err, "rejected") != NULL && strstr(err, "checksum") != NULL, "verify: %s",
              err);
    CHECK_INT(run_cli(list, out, sizeof out, err, sizeof err), 0);
    CHECK_MSG(strstr(out, "rejected: ") != NULL, "list: %s", out);

    /* a signed archive without a binary is rejected and not stored */
    char bad[512], badsig[600];
    snprintf(bad, sizeof bad, "%s/cli-no-binary.tar.gz", root);
    snprintf(badsig, sizeof badsig, "%s.sig", bad);
    struct fx_member m[] = {{"README.md", FX_FILE, "x", 1, 0, NULL}};
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    CHECK(fx_archive(bad, m, 1, true));
    CHECK(fx_sign_file(bad, sk, "0.4.0", X64, sig));
    CHECK(fx_write(badsig, sig, sizeof sig, 0600));
    const char *add_bad[] = {"cache", "add", "--release-version", "0.4.0", "--platform", X64,
                             "--archive", bad, "--signature", badsig, "--cache-dir", cdir,
                             "--trusted-keys-dir", keys_dir, NULL};
    CHECK_INT(run_cli(add_bad, out, sizeof out, err, sizeof err), 1);
    CHECK(strstr(err, "no ant-node member") != NULL);
    snprintf(cached, sizeof cached, "%s/ant-node-0.4.0-linux-x64.archive", cdir);
    CHECK(access(cached, F_OK) != 0);
}

static void test_cli_usage_and_refusals(void)
{
    ensure_root();
    char cdir[256], out[4096], err[4096], gw[256];
    snprintf(cdir, sizeof cdir, "%s/cli-cache2", root);
    const char *no_version[] = {"cache", "verify", "--cache-dir", cdir, NULL};
    CHECK_INT(run_cli(no_version, out, sizeof out, err, sizeof err), 2);
    const char *bogus[] = {"cache", "bogus", NULL};
    CHECK_INT(run_cli(bogus, out, sizeof out, err, sizeof err), 2);
    const char *unknown[] = {"cache", "list", "--cache-dir", cdir, "--frobnicate", NULL};
    CHECK_INT(run_cli(unknown, out, sizeof out, err, sizeof err), 2);
    const char *dangling[] = {"cache", "list", "--cache-dir", NULL};
    CHECK_INT(run_cli(dangling, out, sizeof out, err, sizeof err), 2);
    const char *platform[] = {"cache", "verify", "--release-version", "0.2.0", "--platform",
                              "linux-x86", "--cache-dir", cdir, NULL};
    CHECK_INT(run_cli(platform, out, sizeof out, err, sizeof err), 2);

    /* an unsafe trusted-keys dir is named in the error */
    snprintf(gw, sizeof gw, "%s/cli-gw-keys", root);
    CHECK(mkdir(gw, 0700) == 0 && chmod(gw, 0775) == 0);
    const char *gwkeys[] = {"cache", "list", "--cache-dir", cdir, "--trusted-keys-dir", gw, NULL};
    CHECK_INT(run_cli(gwkeys, out, sizeof out, err, sizeof err), 2);
    CHECK_MSG(strstr(err, gw) != NULL, "err: %s", err);

    /* an unsafe cache dir */
    snprintf(gw, sizeof gw, "%s/cli-gw-cache", root);
    CHECK(mkdir(gw, 0700) == 0 && chmod(gw, 0777) == 0);
    const char *gwcache[] = {"cache", "list", "--cache-dir", gw, NULL};
    CHECK_INT(run_cli(gwcache, out, sizeof out, err, sizeof err), 2);
    CHECK_MSG(strstr(err, gw) != NULL, "err: %s", err);
}

/* A staging dir made in the cache is removed through the cache's fd, never by its path:
 * after the cache path was swapped (the directory moved away, a decoy put in its place),
 * the real staging dir goes and the decoy of the same name stays. */
static void test_staging_removed_by_fd_after_path_swap(void)
{
    ensure_root();
    char path[256], moved[300], decoy[800], real[800], staging[512];
    struct ant_cache *c = NULL;
    int sfd = -1;
    struct stat st;
    snprintf(path, sizeof path, "%s/swap-cache", root);
    snprintf(moved, sizeof moved, "%s.moved", path);
    CHECK_OK(ant_cache_open(path, 0, &c));
    CHECK_OK(ant_cache_staging_create(c, staging, sizeof staging, &sfd));
    const char *name = strrchr(staging, '/');
    CHECK(name != NULL);
    if (c == NULL || name == NULL)
        return;
    snprintf(decoy, sizeof decoy, "%s%s", path, name);
    snprintf(real, sizeof real, "%s%s", moved, name);
    CHECK(rename(path, moved) == 0);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(mkdir(decoy, 0700) == 0);
    ant_cache_staging_remove(c, staging, sfd);
    CHECK_MSG(stat(decoy, &st) == 0, "the decoy at the swapped path was removed");
    CHECK_MSG(stat(real, &st) != 0, "the real staging dir was left behind");
    ant_cache_close(c);
}

/* Binary entries (issue 19): a binary rebuilt from a patch is kept as itself and a hit is
 * decided by the caller's signed digest, never by the entry's own meta. */
static void test_binary_entries(void)
{
    ensure_root();
    char path[256], bin[512];
    struct ant_cache *c = new_cache(path, sizeof path, 0);
    int dfd = ant_cache_dirfd(c);
    fx_fake_binary(bin, sizeof bin, "0.2.0");
    size_t blen = 0;
    uint8_t *b = fx_read(bin, &blen);
    uint8_t sha[ANT_SHA256_BYTES], other[ANT_SHA256_BYTES];
    CHECK(b != NULL);
    CHECK_OK(ant_sha256(sha, b, blen));
    memcpy(other, sha, sizeof other);
    other[0] ^= 1;
    int in = open(bin, O_RDONLY | O_CLOEXEC);
    CHECK(in >= 0);
    const char *reason = NULL;
    struct staging s;
    staging_new(&s);
    int out = -1;

    CHECK_ERR(ant_cache_get_binary_fd(c, "0.2.0", X64, 0, sha, s.fd, &out, &reason),
              ANT_ERR_NOT_FOUND);
    /* a store whose digest is not the binary's is refused and leaves nothing */
    CHECK_ERR(ant_cache_store_binary(c, "0.2.0", X64, in, blen, other, &reason), ANT_ERR_MISMATCH);
    CHECK(!exists_in(dfd, "ant-node-0.2.0-linux-x64.binary"));
    CHECK_OK(ant_cache_store_binary(c, "0.2.0", X64, in, blen, sha, &reason));
    CHECK(exists_in(dfd, "ant-node-0.2.0-linux-x64.binary"));
    CHECK(exists_in(dfd, "ant-node-0.2.0-linux-x64.binary.json"));

    /* hit: a private, executable-mode, read-only copy with the same bytes */
    CHECK_OK(ant_cache_get_binary_fd(c, "0.2.0", X64, blen, sha, s.fd, &out, &reason));
    CHECK(out >= 0);
    struct stat st;
    CHECK(fstat(out, &st) == 0 && (uint64_t)st.st_size == blen && (st.st_mode & 0700) == 0700);
    CHECK((fcntl(out, F_GETFL) & O_ACCMODE) == O_RDONLY);
    uint8_t *copy = malloc(blen);
    CHECK(copy != NULL && pread(out, copy, blen, 0) == (ssize_t)blen && memcmp(copy, b, blen) == 0);
    free(copy);
    close(out);
    out = -1;
    /* the caller's digest decides: another digest, another length */
    CHECK_ERR(ant_cache_get_binary_fd(c, "0.2.0", X64, 0, other, s.fd, &out, &reason),
              ANT_ERR_MISMATCH);
    CHECK_ERR(ant_cache_get_binary_fd(c, "0.2.0", X64, blen + 1, sha, s.fd, &out, &reason),
              ANT_ERR_MISMATCH);
    CHECK(out == -1);

    /* an attacker swaps the binary, same size, meta untouched: the copy does not match */
    uint8_t *evil = malloc(blen);
    memcpy(evil, b, blen);
    evil[blen / 2] ^= 0xff;
    plant(c, "ant-node-0.2.0-linux-x64.binary", evil, blen);
    CHECK_ERR(ant_cache_get_binary_fd(c, "0.2.0", X64, blen, sha, s.fd, &out, &reason),
              ANT_ERR_CORRUPT);
    CHECK(out == -1);
    /* ... and rewrites the meta to its own digest: no longer the signed one, a miss */
    char meta[512], hex[ANT_SHA256_HEXBYTES];
    uint8_t esha[ANT_SHA256_BYTES];
    CHECK_OK(ant_sha256(esha, evil, blen));
    ant_hex_encode(hex, esha, sizeof esha);
    int n = snprintf(meta, sizeof meta,
                     "{\"version\":\"0.2.0\",\"platform\":\"linux-x64\",\"binary_size\":%zu,"
                     "\"sha256\":\"%s\"}", blen, hex);
    plant(c, "ant-node-0.2.0-linux-x64.binary.json", meta, (size_t)n);
    CHECK_ERR(ant_cache_get_binary_fd(c, "0.2.0", X64, blen, sha, s.fd, &out, &reason),
              ANT_ERR_MISMATCH);
    /* a symlink and a FIFO in place of the binary cost an fstat */
    CHECK_OK(ant_cache_store_binary(c, "0.2.0", X64, in, blen, sha, &reason));
    replace_with_symlink(c, "ant-node-0.2.0-linux-x64.binary", bin);
    CHECK_ERR(ant_cache_get_binary_fd(c, "0.2.0", X64, blen, sha, s.fd, &out, &reason),
              ANT_ERR_UNSAFE_FILE);
    replace_with_fifo(c, "ant-node-0.2.0-linux-x64.binary");
    CHECK_ERR(ant_cache_get_binary_fd(c, "0.2.0", X64, blen, sha, s.fd, &out, &reason),
              ANT_ERR_UNSAFE_FILE);
    CHECK_INT(count_entries(s.fd), 0);

    /* listed with its version and pruned with it */
    CHECK_OK(ant_cache_store_binary(c, "0.2.0", X64, in, blen, sha, &reason));
    static const char *const newer[] = {"0.3.0", "0.4.0", "0.5.0"};
    for (size_t i = 0; i < 3; i++)
        CHECK_OK(ant_cache_store_binary(c, newer[i], X64, in, blen, sha, &reason));
    CHECK(!exists_in(dfd, "ant-node-0.2.0-linux-x64.binary"));
    CHECK(!exists_in(dfd, "ant-node-0.2.0-linux-x64.binary.json"));
    CHECK(exists_in(dfd, "ant-node-0.5.0-linux-x64.binary.json"));
    struct ant_cache_entry *e = NULL;
    size_t ne = 0;
    CHECK_OK(ant_cache_list(c, &e, &ne));
    CHECK(ne == 3 && e != NULL && strcmp(e[0].version, "0.5.0") == 0);
    free(e);
    free(evil);
    free(b);
    close(in);
    staging_free(&s);
    ant_cache_close(c);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_binary_entries),
    ANT_TEST(test_miss_returns_not_found),
    ANT_TEST(test_store_then_get_returns_private_copy),
    ANT_TEST(test_unsigned_archive_refused_by_store),
    ANT_TEST(test_store_and_add_refuse_bad_arguments),
    ANT_TEST(test_tampered_archive_with_forged_checksum_rejected),
    ANT_TEST(test_post_hit_swap_does_not_change_private_copy),
    ANT_TEST(test_missing_sig_or_meta_is_a_miss),
    ANT_TEST(test_oversize_archive_rejected_before_copy),
    ANT_TEST(test_wrong_size_sig_rejected_before_copy),
    ANT_TEST(test_store_refuses_oversize),
    ANT_TEST(test_special_files_at_every_path),
    ANT_TEST(test_oversize_meta_rejected),
    ANT_TEST(test_downgrade_substitution_rejected),
    ANT_TEST(test_platform_substitution_rejected),
    ANT_TEST(test_meta_must_match),
    ANT_TEST(test_unsafe_cache_dir_refused),
    ANT_TEST(test_default_dir),
    ANT_TEST(test_eight_processes_never_see_a_torn_entry),
    ANT_TEST(test_signed_but_malformed_never_stored),
    ANT_TEST(test_pruning_keeps_newest_three),
    ANT_TEST(test_cli_version_is_exact),
    ANT_TEST(test_cli_cache_add_list_verify),
    ANT_TEST(test_cli_usage_and_refusals),
    ANT_TEST(test_staging_removed_by_fd_after_path_swap),
};

ANT_TEST_MAIN(tests)
