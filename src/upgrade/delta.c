/*
 * The new binary without the archive (issue 19, ARCHITECTURE.md §5 step 5 and §4): a binary
 * another node of this host already rebuilt (a cache binary entry), or a binary patch from
 * an old binary the host cache holds (or the node's own on-disk binary). Everything untrusted here is checked against the
 * signed targets entry the engine selected: the old binary's SHA-256 against the patch's
 * `from_sha256`, the patch's length and SHA-256 against its listing before it is applied,
 * and the result's length and SHA-256 against the targets binary before apply.c ever runs
 * it. A patch is applied in the private staging dir (unnamed files only) with the old and
 * new binary as its only large buffers, capped at DELTA_MEM_CAP together.
 *
 * Any failure of the patch path (no usable old binary is not one) is logged once and
 * reported as a miss: apply.c then downloads the full archive as before, so a patch can
 * make an upgrade cheaper but never stop one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/extract.h"
#include "ant/fsx.h"
#include "ant/http.h"
#include "ant/log.h"
#include "ant/patch.h"
#include "upgrade/engine.h"
#include "upgrade/upgrade_metrics.h"

/* Old + new binary held in memory while a patch is applied. Real binaries are ~4 MiB; a
 * pair above this (only signed lengths are used) takes the archive path instead. */
#define DELTA_MEM_CAP ((uint64_t)256 << 20)

/* The patch asset's URL: the archive's URL with its last path segment replaced by `name`
 * (a signed plain file name). Patches are assets of the same release, so on GitHub and on
 * any server laid out like it they sit beside the archive. A URL with a query or fragment
 * is not guessed at. */
static bool patch_url(const char *archive_url, const char *name, char *buf, size_t cap)
{
    const char *scheme = strstr(archive_url, "://");
    const char *slash = strrchr(archive_url, '/');
    if (scheme == NULL || slash == NULL || slash < scheme + 3 ||
        strpbrk(archive_url, "?#") != NULL || !ant_fsx_name_ok(name))
        return false;
    int n = snprintf(buf, cap, "%.*s%s", (int)(slash + 1 - archive_url), archive_url, name);
    return n > 0 && (size_t)n < cap;
}

/* The hit of another node's rebuilt binary for this release. */
static ant_err cached_binary(struct ant_upgrade *u, const struct ant_meta_target *entry,
                             int stagingfd, int *binfd)
{
    const char *reason = NULL;
    ant_err err = ant_cache_get_binary_fd(u->cache, entry->version, entry->platform,
                                          entry->binary_length, entry->binary_sha256, stagingfd,
                                          binfd, &reason);
    return err == ANT_OK ? ANT_OK : ANT_ERR_NOT_FOUND;
}

/* A private copy of the on-disk binary this node was started from (the path resolved at
 * engine start), capped; its digest is checked by the caller like any other source. */
static ant_err ondisk_copy(struct ant_upgrade *u, int stagingfd, int *out)
{
    int in = -1, fd = -1;
    uint64_t copied = 0;
    struct stat st;
    ant_err err;
    in = open(u->binary_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        return ANT_ERR_NOT_FOUND;
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > ANT_CACHE_BINARY_CAP) {
        close(in);
        return ANT_ERR_NOT_FOUND;
    }
    err = ant_fsx_anon_open(stagingfd, 0600, &fd);
    if (err == ANT_OK)
        err = ant_fsx_copy_fd(in, fd, ANT_CACHE_BINARY_CAP, &copied);
    close(in);
    if (err != ANT_OK) {
        if (fd >= 0)
            close(fd);
        return ANT_ERR_NOT_FOUND;
    }
    *out = fd;
    return ANT_OK;
}

/*
 * The old binary a patch starts from: the host cache's binary entry of `from_version`,
 * else that version's cached archive (signature verified by the cache) with `ant-node`
 * extracted from it, else a copy of the on-disk binary (a node that was installed, not
 * upgraded, has its own release in no cache). Whatever the source, the private copy must
 * hash to the patch's signed `from_sha256`; ANT_ERR_NOT_FOUND when none does.
 */
static ant_err old_binary(struct ant_upgrade *u, const struct ant_trust_keys *keys,
                          const struct ant_meta_delta *d, const char *platform, int stagingfd,
                          int *oldfd, uint64_t *old_len)
{
    const char *reason = NULL;
    uint8_t sha[ANT_SHA256_BYTES];

    for (int source = 0; source < 3; source++) {
        int fd = -1, archivefd = -1;
        ant_err err;
        if (source == 0) {
            err = ant_cache_get_binary_fd(u->cache, d->from_version, platform, 0,
                                          d->from_sha256, stagingfd, &fd, &reason);
        } else if (source == 1) {
            err = ant_cache_get_fd(u->cache, keys, d->from_version, platform, stagingfd,
                                   &archivefd, &reason);
            if (err == ANT_OK) {
                err = ant_fsx_anon_open(stagingfd, 0600, &fd);
                if (err == ANT_OK)
                    err = ant_extract_binary_fd(archivefd, fd, NULL, &reason);
                close(archivefd);
            }
        } else {
            err = ondisk_copy(u, stagingfd, &fd);
        }
        if (err == ANT_OK)
            err = engine_hash_fd(fd, ANT_CACHE_BINARY_CAP, old_len, sha);
        if (err == ANT_OK && ant_ct_memcmp(sha, d->from_sha256, sizeof sha) == 0) {
            *oldfd = fd;
            return ANT_OK;
        }
        if (fd >= 0)
            close(fd);
    }
    return ANT_ERR_NOT_FOUND;
}

/* Downloads, checks and applies patch `d`; the result in *binfd matches the targets
 * binary. `*stage` names the failing step for the one log line. */
static ant_err patch_path(struct ant_upgrade *u, const struct ant_meta_target *entry,
                          const struct ant_meta_delta *d, int oldfd, uint64_t old_len,
                          int stagingfd, const char *url, int *binfd, uint64_t *got,
                          const char **stage)
{
    struct ant_http_opts http;
    struct ant_http_result res;
    uint8_t sha[ANT_SHA256_BYTES];
    uint64_t len = 0;
    int patchfd = -1, outfd = -1;
    ant_err err;

    *stage = "download";
    engine_http_opts(u, &http);
    ant_log(ANT_LOG_INFO, "upgrade",
            "Downloading binary patch... version=%s from=%s url=%s length=%llu", entry->version,
            d->from_version, url, (unsigned long long)d->length);
    err = ant_fsx_anon_open(stagingfd, 0600, &patchfd);
    if (err != ANT_OK)
        goto out;
    /* Capped at the signed length: a server sending more costs what it sent up to it. A
     * cut transfer continues as the archive's does. */
    memset(&res, 0, sizeof res);
    err = ant_http_get_fd_resume(url, &http, patchfd, d->length, d->length,
                                 ANT_HTTP_MAX_RESUMES, &res);
    *got = res.bytes;
    if (err != ANT_OK)
        goto out;
    upgrade_metrics_download(patchfd); /* metrics */
    *stage = "patch-digest";
    err = engine_hash_fd(patchfd, d->length, &len, sha);
    if (err == ANT_OK && (len != d->length || ant_ct_memcmp(sha, d->sha256, sizeof sha) != 0))
        err = ANT_ERR_MISMATCH;
    if (err != ANT_OK)
        goto out;
    *stage = "patch-apply";
    err = ant_fsx_anon_open(stagingfd, 0700, &outfd);
    if (err == ANT_OK)
        err = ant_patch_apply_fd(oldfd, old_len, patchfd, d->length, outfd,
                                 entry->binary_length, DELTA_MEM_CAP);
    if (err == ANT_OK)
        err = ant_fsx_reopen_rdonly(&outfd);
    if (err != ANT_OK)
        goto out;
    /* Safety: a validly signed patch may still produce other bytes (a release tool bug, a
     * patch listed for the wrong pair): only the signed binary digest decides. */
    *stage = "patch-result";
    err = engine_hash_fd(outfd, entry->binary_length, &len, sha);
    if (err == ANT_OK)
        err = ant_meta_check_binary(entry, len, sha);
    if (err != ANT_OK)
        goto out;
    *binfd = outfd;
    outfd = -1;
out:
    if (outfd >= 0)
        close(outfd);
    if (patchfd >= 0)
        close(patchfd);
    return err;
}

ant_err engine_delta_acquire(struct ant_upgrade *u, const struct ant_meta_target *entry,
                             const struct ant_trust_keys *keys, int stagingfd,
                             const char *archive_url, int *binfd, enum delta_source *how)
{
    *binfd = -1;
    *how = DELTA_NONE;
    if (u->cache == NULL || entry == NULL)
        return ANT_ERR_NOT_FOUND;
    if (cached_binary(u, entry, stagingfd, binfd) == ANT_OK) {
        *how = DELTA_CACHED_BINARY;
        upgrade_metrics_cache_hit(); /* metrics */
        ant_log(ANT_LOG_INFO, "upgrade", "Reused verified cached binary version=%s",
                entry->version);
        return ANT_OK;
    }
    for (size_t i = 0; i < entry->ndeltas && i < ANT_META_MAX_DELTAS; i++) {
        const struct ant_meta_delta *d = &entry->deltas[i];
        char url[ANT_HTTP_URL_MAX + 1];
        const char *stage = "old-binary";
        uint64_t old_len = 0, got = 0;
        int oldfd = -1;
        /* A patch no smaller than the archive saves nothing. */
        if (d->length >= entry->archive_length ||
            !patch_url(archive_url, d->name, url, sizeof url))
            continue;
        if (old_binary(u, keys, d, entry->platform, stagingfd, &oldfd, &old_len) != ANT_OK)
            continue;
        /* The first patch whose old binary the host has is the one tried; a failure falls
         * back to the archive rather than to another patch (one log line, one fallback). */
        ant_err err = patch_path(u, entry, d, oldfd, old_len, stagingfd, url, binfd, &got,
                                 &stage);
        close(oldfd);
        if (err == ANT_OK) {
            *how = DELTA_PATCHED;
            ant_log(ANT_LOG_INFO, "upgrade",
                    "Binary patch applied version=%s from=%s patch_bytes=%llu archive_bytes=%llu",
                    entry->version, d->from_version, (unsigned long long)d->length,
                    (unsigned long long)entry->archive_length);
            return ANT_OK;
        }
        char tok[STATE_ERROR_MAX];
        engine_error_token(err, tok, sizeof tok);
        ant_log(ANT_LOG_WARN, "upgrade",
                "Binary patch failed, downloading full archive version=%s from=%s stage=%s "
                "error=%s bytes=%llu",
                entry->version, d->from_version, stage, tok, (unsigned long long)got);
        return ANT_ERR_NOT_FOUND;
    }
    return ANT_ERR_NOT_FOUND;
}

void engine_delta_store(struct ant_upgrade *u, const struct ant_meta_target *entry, int binfd)
{
    const char *reason = NULL;
    if (u->cache == NULL || entry == NULL)
        return;
    ant_err err = ant_cache_store_binary(u->cache, entry->version, entry->platform, binfd,
                                         entry->binary_length, entry->binary_sha256, &reason);
    if (err == ANT_OK)
        ant_log(ANT_LOG_INFO, "upgrade", "Stored binary in cache version=%s", entry->version);
    else
        ant_log(ANT_LOG_WARN, "upgrade", "Cannot store binary in cache version=%s error=%s",
                entry->version, ant_strerror(err));
}
