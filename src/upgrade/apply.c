/*
 * Installing a selected release on disk (ARCHITECTURE.md §5 steps 5-9): acquire the signed
 * archive (a re-verified cache hit, or a download under download.lock after looking in the
 * cache again), extract and validate the new binary, store the archive in the shared
 * cache, and replace the on-disk binary once per host under replace.lock. The archive and
 * the binary live in unnamed files (ant_fsx_anon_open) inside the staging dir: the bytes
 * that were verified are the bytes extracted, executed for `--version` (execveat on the
 * fd) and copied over the binary, whatever a process of the same uid does to the staging
 * dir meanwhile.
 *
 * Host coordination is what keeps a host with N nodes at one download and one replacement:
 * the node holding download.lock keeps it until the archive is stored, so every other node
 * that waited finds a cache hit when it gets the lock; and under replace.lock a node first
 * asks the on-disk binary for its version and skips the replacement if another node already
 * installed the target. Every durable step is atomic (temp file, fsync, rename, fsync dir),
 * so a crash at any point leaves the old or the new binary, never a torn one; the
 * ENGINE_FAULT points let the tests prove that.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/extract.h"
#include "ant/fsx.h"
#include "ant/http.h"
#include "ant/log.h"
#include "ant/mldsa65.h"
#include "ant/trust.h"
#include "ant/validate.h"
#include "upgrade/engine.h"
#include "upgrade/upgrade_metrics.h"

#define DOWNLOAD_LOCK "download.lock"
/* Everything one apply holds; released by apply_cleanup on every path. */
struct apply_ctx {
    struct ant_upgrade *u;
    const char *version;
    const char *platform;
    struct ant_trust_keys *keys;
    char staging[PATH_MAX];
    int stagingfd;
    int download_lock;
    int archivefd; /* the verified private copy (unnamed: ant_fsx_anon_open) */
    int binfd;     /* the extracted binary (unnamed, read-only once written) */
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    bool hit;
    enum delta_source binary_source; /* binfd came without an archive (delta.c) */
    /* The targets entry the archive and binary must match (ARCHITECTURE.md §9); NULL
     * only for an operator's archive in hand (ant_upgrade_apply_archive). */
    const struct ant_meta_target *entry;
};

static ant_err load_keys(struct apply_ctx *c)
{
    char why[256] = "";
    ant_err err = ant_trust_keys_new(&c->keys);
    if (err != ANT_OK)
        return err;
    if (c->u->cfg.trusted_keys_dir != NULL && c->u->cfg.trusted_keys_dir[0] != '\0') {
        err = ant_trust_keys_add_dir(c->keys, c->u->cfg.trusted_keys_dir, why, sizeof why);
        if (err != ANT_OK)
            ant_log(ANT_LOG_ERROR, "upgrade", "Trusted keys dir refused path=%s",
                    c->u->cfg.trusted_keys_dir);
    }
    return err;
}

static ant_err make_staging(struct apply_ctx *c)
{
    if (c->u->cache != NULL)
        return ant_cache_staging_create(c->u->cache, c->staging, sizeof c->staging,
                                        &c->stagingfd);
    /* Uncached: stage in the node's own private root dir (executable, unlike many /tmp).
     * The flock on the dir's fd marks it in use until the fd is closed (by the removal, or
     * by a crash); engine_sweep_root_staging removes only unlocked ones. A sweeper may
     * have taken the fresh dir between mkdir and our lock: it removes the dir while
     * holding the lock, so once we hold it a removed dir shows st_nlink 0; then retry. */
    for (int attempt = 0; attempt < 3; attempt++) {
        struct stat sb;
        ant_err err = ant_fsx_private_dir_create(c->u->cfg.root_dir, ROOT_STAGING_PREFIX,
                                                 c->staging, sizeof c->staging, &c->stagingfd);
        if (err != ANT_OK)
            return err;
        if (flock(c->stagingfd, LOCK_EX) == 0 && fstat(c->stagingfd, &sb) == 0 &&
            sb.st_nlink > 0)
            return ANT_OK;
        ant_fsx_private_dir_remove(c->staging, c->stagingfd);
        c->stagingfd = -1;
    }
    return ANT_ERR_IO;
}

void engine_sweep_root_staging(struct ant_upgrade *u)
{
    int scanfd = dup(u->rootfd);
    DIR *d = scanfd >= 0 ? fdopendir(scanfd) : NULL;
    if (d == NULL) {
        if (scanfd >= 0)
            close(scanfd);
        return;
    }
    /* Names are collected first: removing entries while readdir walks the same directory
     * may skip or repeat entries. A crash-loop could leave a few; 64 per start is plenty. */
    char names[64][NAME_MAX + 1];
    size_t n = 0;
    struct dirent *de;
    while (n < 64 && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ROOT_STAGING_PREFIX, sizeof ROOT_STAGING_PREFIX - 1) == 0 &&
            ant_fsx_name_ok(de->d_name) && strlen(de->d_name) < sizeof names[0])
            memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
    }
    closedir(d);
    for (size_t i = 0; i < n; i++) {
        int fd = openat(u->rootfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        /* Held: a live upgrader (an `upgrade apply` beside the daemon) is using it. */
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd);
            continue;
        }
        /* Empty it through a duplicate (which the removal closes) and rmdir it while `fd`
         * still holds the lock, so a creator racing for this dir sees it gone. */
        int efd = dup(fd);
        if (efd >= 0)
            ant_fsx_private_dir_remove(NULL, efd);
        if (unlinkat(u->rootfd, names[i], AT_REMOVEDIR) == 0)
            ant_log(ANT_LOG_INFO, "upgrade", "Removed stale staging dir name=%s", names[i]);
        else
            ant_log(ANT_LOG_WARN, "upgrade", "Cannot remove stale staging dir name=%s errno=%d",
                    names[i], errno);
        close(fd);
    }
}

static void log_verified(const struct apply_ctx *c)
{
    ant_log(ANT_LOG_INFO, "upgrade", "Archive signature verified version=%s key=trusted-set-of-%zu",
            c->version, ant_trust_keys_count(c->keys));
}

/* The archive against the targets entry, before anything reads it as an archive: a
 * validly signed archive that targets does not name (an old release re-served, another
 * build under the same version) stops here. */
static ant_err check_archive_meta(const struct apply_ctx *c)
{
    uint64_t len = 0;
    uint8_t sha[ANT_SHA256_BYTES];
    if (c->entry == NULL)
        return ANT_OK;
    ant_err err = engine_hash_fd(c->archivefd, c->u->cfg.archive_cap, &len, sha);
    if (err == ANT_OK)
        err = ant_meta_check_archive(c->entry, len, sha);
    if (err != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade",
                "Archive does not match signed metadata version=%s length=%llu "
                "expected_length=%llu",
                c->version, (unsigned long long)len,
                (unsigned long long)c->entry->archive_length);
    return err;
}

/* The extracted binary against the targets entry, before it is ever executed. */
static ant_err check_binary_meta(const struct apply_ctx *c)
{
    uint64_t len = 0;
    uint8_t sha[ANT_SHA256_BYTES];
    if (c->entry == NULL)
        return ANT_OK;
    ant_err err = engine_hash_fd(c->binfd, BINARY_CAP, &len, sha);
    if (err == ANT_OK)
        err = ant_meta_check_binary(c->entry, len, sha);
    if (err != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade",
                "Binary does not match signed metadata version=%s length=%llu "
                "expected_length=%llu",
                c->version, (unsigned long long)len,
                (unsigned long long)c->entry->binary_length);
    return err;
}

/* Cache hit into the staging dir. ANT_ERR_NOT_FOUND on a miss; any other failure of an
 * attacker-writable cache is reported as a miss too (the download path then decides). */
static ant_err try_cache(struct apply_ctx *c)
{
    const char *reason = NULL;
    if (c->u->cache == NULL)
        return ANT_ERR_NOT_FOUND;
    ant_err err = ant_cache_get_fd(c->u->cache, c->keys, c->version, c->platform, c->stagingfd,
                                   &c->archivefd, &reason);
    if (err == ANT_ERR_NOT_FOUND)
        return err;
    if (err != ANT_OK) {
        char tok[STATE_ERROR_MAX];
        engine_error_token(err, tok, sizeof tok);
        ant_log(ANT_LOG_WARN, "upgrade", "Cached archive rejected, downloading version=%s error=%s",
                c->version, tok);
        return ANT_ERR_NOT_FOUND;
    }
    /* The signature alone is not enough: the cache may hold a signed archive that the
     * current targets does not name. Then it is a miss and the download path decides. */
    if (check_archive_meta(c) != ANT_OK) {
        close(c->archivefd);
        c->archivefd = -1;
        return ANT_ERR_NOT_FOUND;
    }
    c->hit = true;
    upgrade_metrics_cache_hit(); /* metrics */
    log_verified(c);
    ant_log(ANT_LOG_INFO, "upgrade", "Reused signature-verified cached archive for %s version=%s",
            c->version, c->version);
    return ANT_OK;
}

/*
 * How long to wait for download.lock. The holder keeps it through up to three HTTP
 * transfers (a binary patch that then fails, the signature, the archive: delta.c), each
 * bounded by the transfer timeout, then extraction,
 * validation (`--version`, bounded by ANT_VALIDATE_TIMEOUT_MS) and the cache store. A
 * waiter that gave up at the plain lock timeout (shorter than one transfer by default)
 * failed its check at `acquire` and lost a whole interval although the holder was making
 * progress and was about to store what the waiter needs. So the wait covers the holder's
 * worst case: three transfer timeouts, plus the validation limit, plus a margin for
 * extracting and storing up to the archive cap on a slow disk. A holder that takes longer
 * is stuck, not slow, and failing is right. Chosen over a retry loop at a short back-off:
 * the waiter wakes the moment the lock is released (flock), and the bound stays simple.
 */
#define DOWNLOAD_LOCK_MARGIN_MS 60000u

static unsigned download_lock_wait_ms(const struct ant_upgrade *u)
{
    struct ant_http_opts http;
    engine_http_opts(u, &http); /* the effective transfer timeout, default included */
    uint64_t wait = 3 * (uint64_t)http.timeout_ms + ANT_VALIDATE_TIMEOUT_MS +
                    DOWNLOAD_LOCK_MARGIN_MS;
    if (wait < u->cfg.lock_timeout_ms)
        wait = u->cfg.lock_timeout_ms;
    return wait > UINT32_MAX ? UINT32_MAX : (unsigned)wait;
}

static ant_err download(struct apply_ctx *c, const char **stage)
{
    const struct ant_release_choice *ch = &c->u->choice;
    struct ant_http_opts http;
    uint8_t *sigbuf = NULL;
    size_t siglen = 0;
    int fd = -1;
    ant_err err;

    engine_http_opts(c->u, &http);
    /* The signature first: it is tiny and exactly sized, so a wrong one costs no archive. */
    err = ant_http_get_mem(ch->sig_url, &http, ANT_MLDSA65_SIGBYTES, &sigbuf, &siglen, NULL);
    if (err != ANT_OK)
        goto out;
    if (siglen != ANT_MLDSA65_SIGBYTES) {
        err = ANT_ERR_BAD_SIGNATURE;
        goto out;
    }
    memcpy(c->sig, sigbuf, siglen);

    ant_log(ANT_LOG_INFO, "upgrade", "Downloading ant-node archive... version=%s url=%s",
            c->version, ch->asset_url);
    /* Unnamed: a process that can write the staging dir cannot swap the archive between
     * its verification and its extraction (issue 13 item 5). */
    err = ant_fsx_anon_open(c->stagingfd, 0600, &fd);
    if (err != ANT_OK)
        goto out;
    /* Targets says how long the archive is: a server sending more costs what it sent
     * up to that length, not up to the archive cap. */
    uint64_t cap = c->u->cfg.archive_cap;
    if (c->entry != NULL && c->entry->archive_length < cap)
        cap = c->entry->archive_length;
    /* A cut transfer continues from the bytes already in the unnamed file (Range with
     * If-Range, same cap, same deadline); whatever arrives is verified below as a whole. */
    struct ant_http_result res;
    err = ant_http_get_fd_resume(ch->asset_url, &http, fd, cap,
                                 c->entry != NULL ? c->entry->archive_length : 0,
                                 ANT_HTTP_MAX_RESUMES, &res);
    if (err != ANT_OK)
        goto out;
    if (res.resumes > 0 || res.restarts > 0)
        ant_log(ANT_LOG_INFO, "upgrade", "Archive download resumed %u times, restarted %u "
                                         "times version=%s bytes=%llu",
                res.resumes, res.restarts, c->version, (unsigned long long)res.bytes);
    upgrade_metrics_download(fd); /* metrics */
    ENGINE_FAULT("after-download");
    *stage = "verify";
    if (lseek(fd, 0, SEEK_SET) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    err = ant_trust_verify_stream(c->keys, c->version, c->platform, fd, c->u->cfg.archive_cap,
                                  -1, c->sig, sizeof c->sig, NULL, NULL);
    if (err != ANT_OK)
        goto out;
    log_verified(c);
    c->archivefd = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    free(sigbuf);
    return err;
}

/* Installs staging/ant-node over the on-disk binary, once per host (step 9). */
static ant_err replace_binary(struct apply_ctx *c, const char **stage)
{
    struct ant_upgrade *u = c->u;
    char ondisk[ANT_SEMVER_TEXT_MAX] = "";
    char backup[NAME_MAX + 1];
    struct ant_fsx_tmp *tmp = NULL;
    int lockfd = -1, dirfd = -1, in = -1;
    uint64_t size = 0, copied = 0;
    ant_err err;

    *stage = "replace";
    int n = snprintf(backup, sizeof backup, "%s%s", u->binary_name, BACKUP_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof backup)
        return ANT_ERR_INVALID_ARG;
    err = engine_replace_lock(u, &lockfd);
    if (err != ANT_OK)
        return err;
    err = engine_open_binary_dir(u, &dirfd);
    if (err != ANT_OK)
        goto out;

    /* Another node sharing this binary may have installed it while we acquired. */
    if (engine_binary_version(u->binary_path, ondisk, sizeof ondisk) == ANT_OK) {
        struct ant_semver have, want;
        if (ant_semver_parse(ondisk, &have) == ANT_OK &&
            ant_semver_parse(c->version, &want) == ANT_OK) {
            int cmp = ant_semver_compare(&have, &want);
            if (cmp == 0) {
                ant_log(ANT_LOG_INFO, "upgrade",
                        "Binary already upgraded to %s by another service, skipping replacement version=%s",
                        c->version, c->version);
                goto out;
            }
            if (cmp > 0) {
                ant_log(ANT_LOG_INFO, "upgrade",
                        "Binary already at a newer version, skipping replacement version=%s found=%s",
                        c->version, ondisk);
                goto out;
            }
        }
    }

    ant_log(ANT_LOG_INFO, "upgrade", "Replacing binary... version=%s path=%s", c->version,
            u->binary_path);
    *stage = "backup";
    err = engine_copy_file(dirfd, u->binary_name, backup, 0755);
    if (err != ANT_OK)
        goto out;
    ENGINE_FAULT("after-backup");

    *stage = "replace";
    /* From the very file that was validated (it has no name anyone could swap). */
    struct stat sb;
    if (fstat(c->binfd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 ||
        (uint64_t)sb.st_size > BINARY_CAP || lseek(c->binfd, 0, SEEK_SET) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    size = (uint64_t)sb.st_size;
    in = c->binfd;
    err = ant_fsx_tmp_open(dirfd, u->binary_name, 0755, &tmp);
    if (err != ANT_OK)
        goto out;
    err = ant_fsx_copy_fd(in, ant_fsx_tmp_fd(tmp), size, &copied);
    if (err == ANT_OK && copied != size)
        err = ANT_ERR_TRUNCATED;
    if (err != ANT_OK) {
        ant_fsx_tmp_abort(tmp);
        goto out;
    }
    ENGINE_FAULT("after-write");
    /* fsync, rename over the binary, fsync the directory. */
    err = ant_fsx_tmp_commit(tmp, u->binary_name);
    if (err != ANT_OK)
        goto out;
    ENGINE_FAULT("after-rename");
out:
    if (dirfd >= 0)
        close(dirfd);
    ant_fsx_unlock(lockfd);
    return err;
}

static ant_err check_allowed(struct ant_upgrade *u, const char *version)
{
    struct upgrade_state st;
    struct ant_semver want, floor;
    ant_err err = state_load(u->rootfd, &st);
    if (err != ANT_OK)
        return err;
    if (ant_semver_parse(version, &want) != ANT_OK)
        return ANT_ERR_BAD_VERSION;
    if (ant_semver_compare(&want, &u->running_v) <= 0)
        return ANT_ERR_DOWNGRADE;
    if (st.floor[0] != '\0' && ant_semver_parse(st.floor, &floor) == ANT_OK &&
        ant_semver_compare(&want, &floor) < 0)
        return ANT_ERR_DOWNGRADE;
    if (engine_bad_blocks(u, &st, version))
        return ANT_ERR_BAD_VERSION_SEEN;
    return ANT_OK;
}

static void apply_init(struct apply_ctx *c, struct ant_upgrade *u, const char *version)
{
    memset(c, 0, sizeof *c);
    c->u = u;
    c->stagingfd = -1;
    c->download_lock = -1;
    c->archivefd = -1;
    c->binfd = -1;
    c->version = version;
    c->platform = ant_release_host_platform();
}

static void apply_cleanup(struct apply_ctx *c)
{
    struct ant_upgrade *u = c->u;
    if (c->archivefd >= 0)
        close(c->archivefd);
    if (c->binfd >= 0)
        close(c->binfd);
    ant_fsx_unlock(c->download_lock);
    /* A staging dir in the shared cache is removed on the cache's fd, never by its path. */
    if (c->stagingfd >= 0 && u->cache != NULL)
        ant_cache_staging_remove(u->cache, c->staging, c->stagingfd);
    else if (c->stagingfd >= 0)
        ant_fsx_private_dir_remove(c->staging, c->stagingfd);
    ant_trust_keys_free(c->keys);
}

/* Steps 6-9 from a verified archive in c->archivefd: extract, check, validate, store,
 * replace. */
static ant_err install(struct apply_ctx *c, const char **stage)
{
    struct ant_upgrade *u = c->u;
    const char *reason = NULL;
    ant_err err;

    if (c->binary_source != DELTA_NONE)
        goto binary; /* no archive: delta.c checked the binary against targets already */
    /* Before extraction: the archive must be the one the signed targets lists. */
    *stage = "metadata";
    err = check_archive_meta(c);
    if (err != ANT_OK)
        return err;

    /* Steps 6-7: extract from the private copy only, then validate what came out. */
    *stage = "extract";
    if (lseek(c->archivefd, 0, SEEK_SET) != 0)
        return ANT_ERR_IO;
    err = ant_fsx_anon_open(c->stagingfd, 0700, &c->binfd);
    if (err != ANT_OK)
        return err;
    err = ant_extract_binary_fd(c->archivefd, c->binfd, NULL, &reason);
    if (err != ANT_OK)
        return err;
    /* Read-only from here: the kernel runs a file only while nobody may write it. */
    err = ant_fsx_reopen_rdonly(&c->binfd);
    if (err != ANT_OK)
        return err;
binary:
    /* The binary targets names, before it is ever executed for its version. */
    *stage = "metadata";
    err = check_binary_meta(c);
    if (err != ANT_OK)
        return err;
    *stage = "validate";
    err = ant_validate_binary_fd(c->binfd, c->version, &reason);
    if (err != ANT_OK)
        return err;

    /* Step 8: store, only now that the archive is known good (no poison pill). A failed
     * store costs other nodes a download, not this upgrade. */
    if (c->binary_source == DELTA_PATCHED)
        engine_delta_store(u, c->entry, c->binfd);
    else if (!c->hit && c->binary_source == DELTA_NONE && u->cache != NULL) {
        if (lseek(c->archivefd, 0, SEEK_SET) != 0)
            return ANT_ERR_IO;
        ant_err serr = ant_cache_store(u->cache, c->keys, c->version, c->platform, c->archivefd,
                                       c->sig, sizeof c->sig, &reason);
        if (serr == ANT_OK) {
            ant_log(ANT_LOG_INFO, "upgrade", "Stored archive in cache version=%s", c->version);
            ENGINE_FAULT("after-store");
        } else {
            ant_log(ANT_LOG_WARN, "upgrade", "Cannot store archive in cache version=%s error=%s",
                    c->version, ant_strerror(serr));
        }
    }
    ant_fsx_unlock(c->download_lock);
    c->download_lock = -1;

    /* Step 9: replace once per host. */
    return replace_binary(c, stage);
}

ant_err ant_upgrade_apply(struct ant_upgrade *u, const struct ant_upgrade_plan *plan)
{
    struct apply_ctx c;
    const char *stage = "select";
    char chosen[ANT_SEMVER_TEXT_MAX];
    ant_err err;

    apply_init(&c, u, plan->version);
    if (!plan->available || !u->have_choice ||
        !ant_semver_format(&u->choice.version, chosen, sizeof chosen) ||
        strcmp(chosen, plan->version) != 0 || strcmp(u->meta_entry.version, chosen) != 0)
        return ANT_ERR_INVALID_ARG; /* apply only what this engine's last check selected */
    c.entry = &u->meta_entry;
    if (c.platform == NULL || strcmp(c.platform, u->meta_entry.platform) != 0) {
        err = ANT_ERR_PLATFORM;
        goto out;
    }
    err = check_allowed(u, c.version);
    if (err != ANT_OK)
        goto out;
    engine_notify(u, "applying-%s", c.version);

    stage = "keys";
    err = load_keys(&c);
    if (err != ANT_OK)
        goto out;
    stage = "staging";
    err = make_staging(&c);
    if (err != ANT_OK)
        goto out;

    /* Step 5: acquire. */
    stage = "acquire";
    err = try_cache(&c);
    if (err == ANT_ERR_NOT_FOUND && u->cachefd >= 0) {
        err = ant_fsx_lock(u->cachefd, DOWNLOAD_LOCK, download_lock_wait_ms(u), &c.download_lock);
        if (err != ANT_OK)
            goto out;
        err = try_cache(&c); /* the previous holder has probably just stored it */
    }
    if (err == ANT_ERR_NOT_FOUND) /* issue 19: a rebuilt binary, or a patch */
        err = engine_delta_acquire(u, c.entry, c.keys, c.stagingfd, u->choice.asset_url,
                                   &c.binfd, &c.binary_source);
    if (err == ANT_ERR_NOT_FOUND) {
        stage = "download";
        err = download(&c, &stage);
    }
    if (err != ANT_OK)
        goto out;

    err = install(&c, &stage);
    if (err != ANT_OK)
        goto out;
    state_copy(u->restart_version, sizeof u->restart_version, c.version);
    u->restart_scheduled_at = plan->scheduled_at;
    atomic_store(&u->restart_pending, true);
    engine_notify(u, "restarting-%s", c.version);
out:
    if (err != ANT_OK)
        engine_fail(u, c.version, stage, err);
    apply_cleanup(&c);
    return err;
}

/* Opens an operator's file: a regular file, not a FIFO or device (no blocking open). */
static ant_err open_operator_file(const char *path, int *fd, uint64_t *size)
{
    struct stat sb;
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0)
        return errno == ENOENT ? ANT_ERR_NOT_FOUND : ANT_ERR_IO;
    if (fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(*fd);
        *fd = -1;
        return ANT_ERR_UNSAFE_FILE;
    }
    *size = (uint64_t)sb.st_size;
    return ANT_OK;
}

ant_err ant_upgrade_apply_archive(struct ant_upgrade *u, const char *version,
                                  const char *archive_path, const char *signature_path)
{
    struct apply_ctx c;
    struct ant_semver v;
    const char *stage = "select";
    char canon[ANT_SEMVER_TEXT_MAX];
    int in = -1, sigfd = -1;
    uint64_t size = 0, copied = 0;
    ant_err err;

    if (u == NULL || version == NULL || archive_path == NULL || signature_path == NULL)
        return ANT_ERR_INVALID_ARG;
    if (ant_semver_parse(version, &v) != ANT_OK || !ant_semver_format(&v, canon, sizeof canon))
        return ANT_ERR_BAD_VERSION;
    apply_init(&c, u, canon);
    if (c.platform == NULL) {
        err = ANT_ERR_PLATFORM;
        goto out;
    }
    /* No metadata (air-gapped, files in hand): the floor, the bad marks, the signature
     * and the binary validation still apply. */
    err = check_allowed(u, c.version);
    if (err != ANT_OK)
        goto out;
    ant_log(ANT_LOG_WARN, "upgrade",
            "Installing an operator's archive without release metadata version=%s path=%s",
            c.version, archive_path);
    engine_notify(u, "applying-%s", c.version);
    stage = "keys";
    err = load_keys(&c);
    if (err != ANT_OK)
        goto out;
    stage = "signature";
    err = open_operator_file(signature_path, &sigfd, &size);
    if (err != ANT_OK)
        goto out;
    if (size != ANT_MLDSA65_SIGBYTES) {
        err = ANT_ERR_BAD_SIGNATURE;
        goto out;
    }
    {
        size_t got = 0;
        while (got < sizeof c.sig) {
            ssize_t n = read(sigfd, c.sig + got, sizeof c.sig - got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        if (got != sizeof c.sig) {
            err = ANT_ERR_TRUNCATED;
            goto out;
        }
    }
    stage = "staging";
    err = make_staging(&c);
    if (err != ANT_OK)
        goto out;
    /* The operator's file is copied into an unnamed staging file first: what is verified
     * is what is extracted, whatever happens to the path meanwhile. */
    stage = "acquire";
    err = open_operator_file(archive_path, &in, &size);
    if (err != ANT_OK)
        goto out;
    if (size > u->cfg.archive_cap) {
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    err = ant_fsx_anon_open(c.stagingfd, 0600, &c.archivefd);
    if (err == ANT_OK)
        err = ant_fsx_copy_fd(in, c.archivefd, u->cfg.archive_cap, &copied);
    if (err != ANT_OK)
        goto out;
    stage = "verify";
    if (lseek(c.archivefd, 0, SEEK_SET) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    err = ant_trust_verify_stream(c.keys, c.version, c.platform, c.archivefd,
                                  u->cfg.archive_cap, -1, c.sig, sizeof c.sig, NULL, NULL);
    if (err != ANT_OK)
        goto out;
    log_verified(&c);
    err = install(&c, &stage);
out:
    if (err != ANT_OK)
        engine_fail(u, c.version, stage, err);
    if (in >= 0)
        close(in);
    if (sigfd >= 0)
        close(sigfd);
    apply_cleanup(&c);
    return err;
}
