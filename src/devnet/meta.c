/*
 * The devnet's signed release metadata (ARCHITECTURE.md §9), kept the way a real release
 * operator keeps it, with the same src/meta repository steps `ant-release` uses: a root of
 * 3 root keys (threshold 2), 3 targets keys (threshold 2) and 1 timestamp key, short
 * expiries, every release listed in a new targets signed by two targets keys, and a
 * timestamp the supervisor re-signs on a schedule. nginx serves the files beside the
 * release assets (the `metadata` release of the repo); every node trusts root.1.json
 * through --trusted-root.
 *
 * Layout: D/keys/meta/ (0700) holds <role>-<i>.key (secret, 0600) and .pub for the current
 * keys, retired keys as <role>-<i>.key.r<root version>, and trusted-root.json (the nodes'
 * anchor); D/meta.frozen, while it exists, stops the re-signing (`ant-devnet freeze`).
 * Everything that writes the repository holds D/publish.lock, so a publish, a re-sign and
 * a rotation never interleave.
 */
#include "devnet/devnet_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/meta.h"
#include "ant/mldsa65.h"

#define ROLES 3
static const char *const role_file[ROLES] = {"root", "targets", "timestamp"};
static const unsigned role_count[ROLES] = {3, 3, 1};
static const unsigned role_threshold[ROLES] = {2, 2, 1};
#define ROOT_EXPIRY_S (7 * 86400)
#define TARGETS_EXPIRY_S 86400

struct role_keys {
    uint8_t pk[3][ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t sk[3][ANT_MLDSA65_SECRETKEYBYTES];
    unsigned n;
};

static void keys_wipe(struct role_keys *k)
{
    explicit_bzero(k->sk, sizeof k->sk);
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

ant_err dn_meta_dir(const char *dir, char *buf, size_t cap)
{
    return dn_path(buf, cap, "%s/www/%s/%s/releases/download/metadata", dir, ANT_DEVNET_OWNER,
                   ANT_DEVNET_REPO);
}

static ant_err key_path(const char *dir, unsigned role, unsigned i, const char *ext, char *buf,
                        size_t cap)
{
    return dn_path(buf, cap, "%s/keys/meta/%s-%u.%s", dir, role_file[role], i, ext);
}

static ant_err keys_new(const char *dir, unsigned role, struct role_keys *k, bool write)
{
    char path[PATH_MAX];
    ant_err e = ANT_OK;
    k->n = role_count[role];
    for (unsigned i = 0; i < k->n && e == ANT_OK; i++) {
        e = ant_mldsa65_keypair(k->pk[i], k->sk[i]);
        if (e == ANT_OK && write)
            e = key_path(dir, role, i, "key", path, sizeof path);
        if (e == ANT_OK && write)
            e = dn_write_file(path, k->sk[i], sizeof k->sk[i], 0600);
        if (e == ANT_OK && write)
            e = key_path(dir, role, i, "pub", path, sizeof path);
        if (e == ANT_OK && write)
            e = dn_write_file(path, k->pk[i], sizeof k->pk[i], 0644);
    }
    return e;
}

static ant_err keys_load(const char *dir, unsigned role, struct role_keys *k)
{
    char path[PATH_MAX];
    ant_err e = ANT_OK;
    k->n = role_count[role];
    for (unsigned i = 0; i < k->n && e == ANT_OK; i++) {
        char *data = NULL;
        size_t len = 0;
        e = key_path(dir, role, i, "key", path, sizeof path);
        if (e == ANT_OK)
            e = dn_read_file(path, ANT_MLDSA65_SECRETKEYBYTES, &data, &len);
        if (e == ANT_OK && len != ANT_MLDSA65_SECRETKEYBYTES)
            e = ANT_ERR_BAD_KEY;
        if (e == ANT_OK)
            memcpy(k->sk[i], data, len);
        if (data != NULL) {
            explicit_bzero(data, len);
            free(data);
        }
        data = NULL;
        if (e == ANT_OK)
            e = key_path(dir, role, i, "pub", path, sizeof path);
        if (e == ANT_OK)
            e = dn_read_file(path, ANT_MLDSA65_PUBLICKEYBYTES, &data, &len);
        if (e == ANT_OK && len != ANT_MLDSA65_PUBLICKEYBYTES)
            e = ANT_ERR_BAD_KEY;
        if (e == ANT_OK)
            memcpy(k->pk[i], data, len);
        free(data);
    }
    return e;
}

static struct ant_meta_role_keys as_role_keys(const struct role_keys *k, unsigned role)
{
    struct ant_meta_role_keys r = {(const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])k->pk, k->n,
                                   role_threshold[role]};
    return r;
}

static ant_err open_repo(const char *dir, int *fd)
{
    char path[PATH_MAX];
    ant_err e = dn_meta_dir(dir, path, sizeof path);
    if (e == ANT_OK)
        e = dn_mkdirs(path, 0700);
    if (e != ANT_OK)
        return e;
    *fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return *fd >= 0 ? ANT_OK : ANT_ERR_IO;
}

/* Signs the newest file of `role` with the first `count` keys of k. */
static ant_err sign_n(int fd, enum ant_meta_role role, const struct role_keys *k, unsigned count)
{
    char why[256] = "";
    for (unsigned i = 0; i < count; i++) {
        ant_err e = ant_meta_repo_sign(fd, role, k->sk[i], NULL, why, sizeof why);
        if (e != ANT_OK) {
            ant_log(ANT_LOG_ERROR, "devnet", "metadata signing failed role=%s error=%s",
                    ant_meta_role_name(role), ant_strerror(e));
            return e;
        }
    }
    return ANT_OK;
}

static ant_err lock_repo(const char *dir, int *ddir, int *lockfd)
{
    *ddir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*ddir < 0)
        return ANT_ERR_IO;
    ant_err e = ant_fsx_lock(*ddir, "publish.lock", 30000, lockfd);
    if (e != ANT_OK) {
        close(*ddir);
        *ddir = -1;
    }
    return e;
}

/* The metadata repository held for one change: publish.lock on the devnet dir (the lock
 * publish takes too) and the repository dir's fd. Release it whatever repo_hold returned. */
struct repo_hold {
    int ddir, lockfd, fd;
};
#define REPO_HOLD_INIT {-1, -1, -1}

static ant_err repo_hold(const char *dir, struct repo_hold *h)
{
    ant_err e = lock_repo(dir, &h->ddir, &h->lockfd);
    return e == ANT_OK ? open_repo(dir, &h->fd) : e;
}

static void repo_release(struct repo_hold *h)
{
    if (h->fd >= 0)
        close(h->fd);
    ant_fsx_unlock(h->lockfd);
    if (h->ddir >= 0)
        close(h->ddir);
}

/* timestamp.json naming the newest targets, signed by the timestamp key. Caller holds the
 * lock. */
static ant_err timestamp_locked(const char *dir, int fd, uint64_t expiry_s)
{
    struct role_keys k;
    char why[256] = "";
    uint64_t v = 0;
    ant_err e = keys_load(dir, 2, &k);
    if (e == ANT_OK)
        e = ant_meta_repo_timestamp(fd, NULL, now_s() + (int64_t)expiry_s, &v, why, sizeof why);
    if (e == ANT_OK)
        e = sign_n(fd, ANT_META_ROLE_TIMESTAMP, &k, 1);
    if (e != ANT_OK)
        ant_log(ANT_LOG_ERROR, "devnet", "timestamp not signed error=%s why=%s",
                ant_strerror(e), why);
    keys_wipe(&k);
    return e;
}

ant_err dn_meta_create(const struct dn_config *cfg)
{
    struct role_keys k[ROLES];
    char path[PATH_MAX], why[256] = "";
    int fd = -1;
    ant_err e = dn_path(path, sizeof path, "%s/keys/meta", cfg->dir);
    if (e == ANT_OK)
        e = dn_mkdirs(path, 0700);
    if (e == ANT_OK && chmod(path, 0700) != 0)
        e = ANT_ERR_IO;
    for (unsigned r = 0; r < ROLES && e == ANT_OK; r++)
        e = keys_new(cfg->dir, r, &k[r], true);
    if (e == ANT_OK)
        e = open_repo(cfg->dir, &fd);
    if (e != ANT_OK)
        goto out;
    struct ant_meta_role_keys rk = as_role_keys(&k[0], 0), tk = as_role_keys(&k[1], 1),
                              sk = as_role_keys(&k[2], 2);
    e = ant_meta_repo_init(fd, &rk, &tk, &sk, now_s() + ROOT_EXPIRY_S, why, sizeof why);
    if (e == ANT_OK)
        e = sign_n(fd, ANT_META_ROLE_ROOT, &k[0], role_threshold[0]);
    /* The nodes' trust anchor: root.1.json, in the keys dir (0700, ours), as the node's
     * --trusted-root checks demand. */
    if (e == ANT_OK) {
        char src[PATH_MAX];
        e = dn_meta_dir(cfg->dir, src, sizeof src);
        if (e == ANT_OK)
            e = dn_path(src + strlen(src), sizeof src - strlen(src), "/root.1.json");
        if (e == ANT_OK)
            e = dn_path(path, sizeof path, "%s/keys/meta/trusted-root.json", cfg->dir);
        if (e == ANT_OK)
            e = dn_copy_file(src, path, 0600);
    }
    /* An empty targets and its timestamp: a node checking before the first release is
     * fresh with nothing to install, not `missing`. */
    struct ant_meta_targets_policy none = {"", NULL};
    if (e == ANT_OK)
        e = ant_meta_repo_add(fd, NULL, &none, now_s() + TARGETS_EXPIRY_S, NULL, why, sizeof why);
    if (e == ANT_OK)
        e = sign_n(fd, ANT_META_ROLE_TARGETS, &k[1], role_threshold[1]);
    if (e == ANT_OK)
        e = timestamp_locked(cfg->dir, fd, dn_meta_timestamp_expiry(cfg));
    if (e != ANT_OK)
        ant_log(ANT_LOG_ERROR, "devnet", "metadata repository not created error=%s why=%s",
                ant_strerror(e), why);
out:
    for (unsigned r = 0; r < ROLES; r++)
        keys_wipe(&k[r]);
    if (fd >= 0)
        close(fd);
    return e;
}

uint64_t dn_meta_timestamp_expiry(const struct dn_config *cfg)
{
    /* Three check intervals, at least a minute: long enough that a healthy supervisor
     * re-signing at a third of it never lets a node see it expire, short enough that a
     * freeze shows within minutes. */
    uint64_t s = 3 * cfg->check_interval_s;
    return s < 60 ? 60 : s;
}

static bool frozen(const char *dir)
{
    char path[PATH_MAX];
    struct stat sb;
    return dn_path(path, sizeof path, "%s/meta.frozen", dir) == ANT_OK &&
           lstat(path, &sb) == 0;
}

static ant_err file_digest(const char *path, uint64_t *len, uint8_t sha[ANT_SHA256_BYTES])
{
    char *data = NULL;
    size_t n = 0;
    ant_err e = dn_read_file(path, DN_BINARY_MAX, &data, &n);
    if (e == ANT_OK)
        e = ant_sha256(sha, data, n);
    *len = n;
    free(data);
    return e;
}

ant_err dn_meta_publish_locked(const struct dn_config *cfg, const char *version,
                               const char *archive, const char *binary,
                               const struct ant_meta_delta *deltas, size_t ndeltas)
{
    struct ant_meta_target t;
    struct role_keys k;
    char why[256] = "";
    int fd = -1;
    memset(&t, 0, sizeof t);
    memset(&k, 0, sizeof k);
    snprintf(t.version, sizeof t.version, "%s", version);
    snprintf(t.platform, sizeof t.platform, "%s", cfg->platform);
    snprintf(t.archive_name, sizeof t.archive_name, "ant-node-cli-%s.tar.gz", cfg->platform);
    ant_err e = file_digest(archive, &t.archive_length, t.archive_sha256);
    if (e == ANT_OK)
        e = file_digest(binary, &t.binary_length, t.binary_sha256);
    for (size_t i = 0; i < ndeltas && i < ANT_META_MAX_DELTAS; i++)
        t.deltas[t.ndeltas++] = deltas[i];
    if (e == ANT_OK)
        e = keys_load(cfg->dir, 1, &k);
    if (e == ANT_OK)
        e = open_repo(cfg->dir, &fd);
    if (e == ANT_OK)
        e = ant_meta_repo_add(fd, &t, NULL, now_s() + TARGETS_EXPIRY_S, NULL, why, sizeof why);
    /* Two of the three targets key holders sign, in turn. */
    if (e == ANT_OK)
        e = sign_n(fd, ANT_META_ROLE_TARGETS, &k, role_threshold[1]);
    /* Frozen, the online key signs nothing: the nodes keep the timestamp they have, which
     * names the previous targets, and never see this one. */
    if (e == ANT_OK && !frozen(cfg->dir))
        e = timestamp_locked(cfg->dir, fd, dn_meta_timestamp_expiry(cfg));
    if (e != ANT_OK)
        ant_log(ANT_LOG_ERROR, "devnet", "release not listed in metadata version=%s error=%s "
                "why=%s", version, ant_strerror(e), why);
    else
        ant_log(ANT_LOG_INFO, "devnet", "Listed release in signed metadata version=%s", version);
    keys_wipe(&k);
    if (fd >= 0)
        close(fd);
    return e;
}

ant_err dn_meta_resign(const struct dn_config *cfg)
{
    struct repo_hold rh = REPO_HOLD_INIT;
    if (frozen(cfg->dir))
        return ANT_OK;
    ant_err e = repo_hold(cfg->dir, &rh);
    if (e == ANT_OK)
        e = timestamp_locked(cfg->dir, rh.fd, dn_meta_timestamp_expiry(cfg));
    repo_release(&rh);
    return e;
}

ant_err ant_devnet_freeze(const char *dir, bool freeze)
{
    struct dn_config *cfg = calloc(1, sizeof *cfg);
    char path[PATH_MAX], text[32];
    if (cfg == NULL)
        return ANT_ERR_NOMEM;
    ant_err e = dn_config_load(dir, cfg);
    if (e == ANT_OK)
        e = dn_path(path, sizeof path, "%s/meta.frozen", cfg->dir);
    if (e == ANT_OK && freeze) {
        int n = snprintf(text, sizeof text, "%.3f\n", dn_now());
        e = dn_write_file(path, text, (size_t)n, 0600);
        if (e == ANT_OK)
            ant_log(ANT_LOG_INFO, "devnet", "Metadata frozen: the timestamp is no longer "
                    "re-signed expires_within_s=%llu",
                    (unsigned long long)dn_meta_timestamp_expiry(cfg));
    } else if (e == ANT_OK) {
        if (unlink(path) != 0 && errno != ENOENT)
            e = ANT_ERR_IO;
        /* Fresh at once rather than at the supervisor's next turn. */
        if (e == ANT_OK)
            e = dn_meta_resign(cfg);
        if (e == ANT_OK)
            ant_log(ANT_LOG_INFO, "devnet", "Metadata thawed: timestamp re-signed");
    }
    free(cfg);
    return e;
}

/* Moves the current key files of `role` aside (suffix .r<root version>). */
static ant_err retire_keys(const char *dir, unsigned role, uint64_t root_version)
{
    char from[PATH_MAX], to[PATH_MAX + 32];
    for (unsigned i = 0; i < role_count[role]; i++) {
        for (int pub = 0; pub < 2; pub++) {
            ant_err e = key_path(dir, role, i, pub ? "pub" : "key", from, sizeof from);
            if (e == ANT_OK)
                e = dn_path(to, sizeof to, "%s.r%llu", from, (unsigned long long)root_version);
            if (e != ANT_OK)
                return e;
            if (rename(from, to) != 0)
                return ANT_ERR_IO;
        }
    }
    return ANT_OK;
}

ant_err ant_devnet_rotate(const char *dir, const char *role_name, uint64_t *root_version)
{
    struct dn_config *cfg = calloc(1, sizeof *cfg);
    struct role_keys oldroot, fresh;
    char why[256] = "";
    struct repo_hold rh = REPO_HOLD_INIT;
    unsigned role = ROLES;
    uint64_t n = 0;
    memset(&oldroot, 0, sizeof oldroot);
    memset(&fresh, 0, sizeof fresh);
    if (cfg == NULL)
        return ANT_ERR_NOMEM;
    for (unsigned r = 0; r < ROLES; r++) {
        if (role_name != NULL && strcmp(role_name, role_file[r]) == 0)
            role = r;
    }
    ant_err e = role == ROLES ? ANT_ERR_INVALID_ARG : dn_config_load(dir, cfg);
    if (e == ANT_OK)
        e = repo_hold(cfg->dir, &rh);
    if (e == ANT_OK)
        e = keys_load(cfg->dir, 0, &oldroot);
    /* New keys, not yet in place: the old root keys must still sign root N+1. */
    if (e == ANT_OK)
        e = keys_new(cfg->dir, role, &fresh, false);
    if (e != ANT_OK)
        goto out;
    struct ant_meta_role_keys nk = as_role_keys(&fresh, role);
    e = ant_meta_repo_rotate(rh.fd, role == 0 ? &nk : NULL, role == 1 ? &nk : NULL,
                             role == 2 ? &nk : NULL, now_s() + ROOT_EXPIRY_S, &n, why,
                             sizeof why);
    /* Root N+1 carries a threshold of the old root keys and, when they changed, of the
     * new ones too (src/meta checks both). */
    if (e == ANT_OK)
        e = sign_n(rh.fd, ANT_META_ROLE_ROOT, &oldroot, role_threshold[0]);
    if (e == ANT_OK && role == 0)
        e = sign_n(rh.fd, ANT_META_ROLE_ROOT, &fresh, role_threshold[0]);
    if (e == ANT_OK)
        e = retire_keys(cfg->dir, role, n - 1);
    for (unsigned i = 0; e == ANT_OK && i < fresh.n; i++) {
        char path[PATH_MAX];
        e = key_path(cfg->dir, role, i, "key", path, sizeof path);
        if (e == ANT_OK)
            e = dn_write_file(path, fresh.sk[i], sizeof fresh.sk[i], 0600);
        if (e == ANT_OK)
            e = key_path(cfg->dir, role, i, "pub", path, sizeof path);
        if (e == ANT_OK)
            e = dn_write_file(path, fresh.pk[i], sizeof fresh.pk[i], 0644);
    }
    /* New targets keys: the nodes drop what the old ones signed, so the current list is
     * signed again, by the new keys only. */
    if (e == ANT_OK && role == 1) {
        struct ant_meta_targets_policy keep = {NULL, NULL};
        e = ant_meta_repo_add(rh.fd, NULL, &keep, now_s() + TARGETS_EXPIRY_S, NULL, why,
                              sizeof why);
        if (e == ANT_OK)
            e = sign_n(rh.fd, ANT_META_ROLE_TARGETS, &fresh, role_threshold[1]);
    }
    if (e == ANT_OK)
        e = timestamp_locked(cfg->dir, rh.fd, dn_meta_timestamp_expiry(cfg));
    if (e == ANT_OK) {
        *root_version = n;
        ant_log(ANT_LOG_INFO, "devnet", "Rotated metadata keys role=%s root_version=%llu",
                role_file[role], (unsigned long long)n);
    } else {
        ant_log(ANT_LOG_ERROR, "devnet", "rotation failed role=%s error=%s why=%s",
                role < ROLES ? role_file[role] : "?", ant_strerror(e), why);
    }
out:
    keys_wipe(&oldroot);
    keys_wipe(&fresh);
    repo_release(&rh);
    free(cfg);
    return e;
}

/* The newest targets and timestamp of the devnet's repository, parsed (either may be NULL
 * on return when missing or unreadable). */
static void repo_current(int fd, struct ant_meta_targets **t, struct ant_meta_timestamp **ts)
{
    struct ant_meta_envelope *env = NULL;
    uint64_t m = 0;
    size_t plen = 0;
    *t = NULL;
    *ts = NULL;
    if (ant_meta_repo_newest(fd, ANT_META_ROLE_TARGETS, &m) == ANT_OK && m > 0 &&
        ant_meta_repo_load(fd, ANT_META_ROLE_TARGETS, m, &env, NULL, 0) == ANT_OK) {
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        if (ant_meta_targets_parse(p, plen, t) != ANT_OK)
            *t = NULL;
    }
    ant_meta_envelope_free(env);
    env = NULL;
    if (faccessat(fd, "timestamp.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
        ant_meta_repo_load(fd, ANT_META_ROLE_TIMESTAMP, 0, &env, NULL, 0) == ANT_OK) {
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        if (ant_meta_timestamp_parse(p, plen, ts) != ANT_OK)
            *ts = NULL;
    }
    ant_meta_envelope_free(env);
}

static bool targets_lists(const struct ant_meta_targets *t, const char *version)
{
    for (size_t i = 0; t != NULL && i < ant_meta_targets_count(t); i++) {
        struct ant_meta_target e;
        if (ant_meta_targets_entry(t, i, &e) == ANT_OK && strcmp(e.version, version) == 0)
            return true;
    }
    return false;
}

ant_err ant_devnet_rollout(const char *dir, const char *version, const char *cursor, int halt)
{
    struct dn_config *cfg = calloc(1, sizeof *cfg);
    struct ant_meta_targets *t = NULL;
    struct ant_meta_timestamp *ts = NULL;
    struct ant_meta_rollout old, ro;
    struct role_keys k;
    char why[256] = "";
    struct repo_hold rh = REPO_HOLD_INIT;
    memset(&k, 0, sizeof k);
    memset(&old, 0, sizeof old);
    memset(&ro, 0, sizeof ro);
    if (cfg == NULL)
        return ANT_ERR_NOMEM;
    ant_err e = dn_config_load(dir, cfg);
    /* Frozen, the online key signs nothing: thaw first. */
    if (e == ANT_OK && frozen(cfg->dir))
        e = ANT_ERR_BUSY;
    if (e == ANT_OK)
        e = repo_hold(cfg->dir, &rh);
    if (e != ANT_OK)
        goto out;
    repo_current(rh.fd, &t, &ts);
    if (ts != NULL)
        ant_meta_timestamp_rollout(ts, &old);
    if (version == NULL && !old.present) {
        e = ANT_ERR_NOT_FOUND; /* nothing to steer: name the version */
        goto out;
    }
    snprintf(ro.version, sizeof ro.version, "%s", version != NULL ? version : old.version);
    bool same = old.present && strcmp(old.version, ro.version) == 0;
    /* The online key paces only what the targets keys listed (ARCHITECTURE.md §10). */
    if (!targets_lists(t, ro.version)) {
        e = ANT_ERR_NOT_FOUND;
        goto out;
    }
    if (cursor != NULL) {
        e = ant_meta_cursor_parse(cursor, &ro.cursor_ppm);
        if (e != ANT_OK)
            goto out;
    } else if (same) {
        ro.cursor_ppm = old.cursor_ppm;
    } else {
        e = ANT_ERR_INVALID_ARG; /* a new rollout needs its cursor */
        goto out;
    }
    ro.halted = halt > 0 || (halt < 0 && same && old.halted);
    if (same)
        memcpy(ro.seed, old.seed, sizeof ro.seed);
    else if (getrandom(ro.seed, sizeof ro.seed, 0) != (ssize_t)sizeof ro.seed) {
        e = ANT_ERR_RNG;
        goto out;
    }
    ro.present = true;
    e = keys_load(cfg->dir, 2, &k);
    if (e == ANT_OK)
        e = ant_meta_repo_timestamp(rh.fd, &ro, now_s() + (int64_t)dn_meta_timestamp_expiry(cfg),
                                    NULL, why, sizeof why);
    if (e == ANT_OK)
        e = sign_n(rh.fd, ANT_META_ROLE_TIMESTAMP, &k, 1);
    if (e == ANT_OK) {
        /* The report rebuilds the steps from this record (steer.c). */
        struct dn_steer rec = {.kind = DN_STEER_ROLLOUT, .at = dn_now(),
                               .cursor_ppm = ro.cursor_ppm, .halted = ro.halted};
        memcpy(rec.version, ro.version, strnlen(ro.version, sizeof rec.version - 1));
        memcpy(rec.seed, ro.seed, sizeof rec.seed);
        e = dn_steer_append(cfg->dir, &rec);
        snprintf(why, sizeof why, "signed, but not recorded in steering.json");
    }
    if (e == ANT_OK) {
        char pct[16];
        snprintf(pct, sizeof pct, "%u.%04u", ro.cursor_ppm / 10000u, ro.cursor_ppm % 10000u);
        ant_log(ANT_LOG_INFO, "devnet", "Rollout set version=%s cursor=%s halted=%s", ro.version,
                pct, ro.halted ? "yes" : "no");
    } else {
        ant_log(ANT_LOG_ERROR, "devnet", "rollout not signed error=%s why=%s", ant_strerror(e),
                why);
    }
out:
    keys_wipe(&k);
    ant_meta_targets_free(t);
    ant_meta_timestamp_free(ts);
    repo_release(&rh);
    free(cfg);
    return e;
}

ant_err ant_devnet_policy(const char *dir, const char *version, bool yank)
{
    struct dn_config *cfg = calloc(1, sizeof *cfg);
    struct ant_meta_targets_policy pol = {NULL, NULL};
    struct role_keys k;
    char why[256] = "";
    struct repo_hold rh = REPO_HOLD_INIT;
    memset(&k, 0, sizeof k);
    if (cfg == NULL)
        return ANT_ERR_NOMEM;
    if (yank)
        pol.yank = version;
    else
        pol.minimum_version = version;
    ant_err e = version == NULL ? ANT_ERR_INVALID_ARG : dn_config_load(dir, cfg);
    if (e == ANT_OK)
        e = repo_hold(cfg->dir, &rh);
    if (e == ANT_OK)
        e = keys_load(cfg->dir, 1, &k);
    if (e == ANT_OK)
        e = ant_meta_repo_add(rh.fd, NULL, &pol, now_s() + TARGETS_EXPIRY_S, NULL, why, sizeof why);
    if (e == ANT_OK)
        e = sign_n(rh.fd, ANT_META_ROLE_TARGETS, &k, role_threshold[1]);
    /* Frozen, the online key signs nothing (as for a publish). */
    if (e == ANT_OK && !frozen(cfg->dir))
        e = timestamp_locked(cfg->dir, rh.fd, dn_meta_timestamp_expiry(cfg));
    if (e == ANT_OK) {
        struct dn_steer rec = {.kind = yank ? DN_STEER_YANK : DN_STEER_MINIMUM, .at = dn_now()};
        snprintf(rec.version, sizeof rec.version, "%s", version);
        e = dn_steer_append(cfg->dir, &rec);
        snprintf(why, sizeof why, "signed, but not recorded in steering.json");
    }
    if (e == ANT_OK)
        ant_log(ANT_LOG_INFO, "devnet", "%s version=%s", yank ? "Yanked release" :
                "Minimum version set", version);
    else
        ant_log(ANT_LOG_ERROR, "devnet", "policy not signed error=%s why=%s", ant_strerror(e),
                why);
    keys_wipe(&k);
    repo_release(&rh);
    free(cfg);
    return e;
}
