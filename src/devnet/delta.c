/*
 * Binary patches of a devnet release (`ant-devnet publish --delta`, issue 19), made the way
 * `ant-release add --delta-from` makes them (src/upgrade/patch.c, zstd --patch-from through
 * libzstd) and served beside the archive as ant-node-cli-<platform>-from-<old>.patch. The
 * old binaries are what the fleet can hold: each host's binary as it is now (the deployed
 * one before any upgrade) and the binaries of the newest earlier published releases, one
 * patch per distinct old binary, at most ANT_META_MAX_DELTAS. With `corrupt` (a fault
 * scenario) every patch is listed with its true length and digest but served with one byte
 * flipped, so every node must fall back to the archive.
 */
#include "devnet/devnet_int.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/extract.h"
#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/patch.h"

#define EARLIER_RELEASES 3

struct old_bin {
    char version[DN_VERSION_MAX + 1];
    uint8_t *bytes;
    size_t len;
    uint8_t sha[ANT_SHA256_BYTES];
};

/* `ant-node` out of a published release's archive, into memory. */
static ant_err extract_published(const struct dn_config *cfg, const char *version,
                                 uint8_t **bytes, size_t *len)
{
    char archive[PATH_MAX], tmpl[PATH_MAX], *data = NULL;
    const char *reason = NULL;
    int afd = -1, out = -1;
    ant_err e = dn_path(archive, sizeof archive, "%s/www/%s/%s/releases/download/v%s/"
                        "ant-node-cli-%s.tar.gz", cfg->dir, ANT_DEVNET_OWNER, ANT_DEVNET_REPO,
                        version, cfg->platform);
    if (e == ANT_OK)
        e = dn_path(tmpl, sizeof tmpl, "%s/.delta-XXXXXX", cfg->dir);
    if (e != ANT_OK)
        return e;
    afd = open(archive, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    out = mkstemp(tmpl);
    if (afd < 0 || out < 0) {
        e = afd < 0 ? ANT_ERR_NOT_FOUND : ANT_ERR_IO;
        goto out;
    }
    unlink(tmpl);
    e = ant_extract_binary_fd(afd, out, NULL, &reason);
    if (e == ANT_OK) {
        off_t end = lseek(out, 0, SEEK_END);
        if (end <= 0 || (uint64_t)end > DN_BINARY_MAX || (data = malloc((size_t)end)) == NULL ||
            pread(out, data, (size_t)end, 0) != end) {
            free(data);
            data = NULL;
            e = ANT_ERR_IO;
        } else {
            *bytes = (uint8_t *)data;
            *len = (size_t)end;
        }
    }
out:
    if (afd >= 0)
        close(afd);
    if (out >= 0)
        close(out);
    return e;
}

/* Adds `bytes` (owned from here) as an old binary unless its digest is known or new. */
static void add_old(struct old_bin *olds, size_t *n, const char *version, uint8_t *bytes,
                    size_t len, const uint8_t new_sha[ANT_SHA256_BYTES])
{
    struct old_bin *o = &olds[*n];
    if (*n >= ANT_META_MAX_DELTAS || ant_sha256(o->sha, bytes, len) != ANT_OK ||
        memcmp(o->sha, new_sha, ANT_SHA256_BYTES) == 0) {
        free(bytes);
        return;
    }
    for (size_t i = 0; i < *n; i++) {
        if (memcmp(olds[i].sha, o->sha, ANT_SHA256_BYTES) == 0) {
            free(bytes);
            return;
        }
    }
    snprintf(o->version, sizeof o->version, "%s", version);
    o->bytes = bytes;
    o->len = len;
    (*n)++;
}

/* The newest EARLIER_RELEASES versions of D/published.json, newest first. */
static size_t earlier_releases(const struct dn_config *cfg, char out[][DN_VERSION_MAX + 1])
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0, n = 0;
    if (dn_path(path, sizeof path, "%s/published.json", cfg->dir) != ANT_OK ||
        dn_read_file(path, DN_RELEASES_MAX, &text, &len) != ANT_OK)
        return 0;
    json_object *arr = json_tokener_parse(text);
    free(text);
    if (arr != NULL && json_object_is_type(arr, json_type_array)) {
        for (size_t i = json_object_array_length(arr); i > 0 && n < EARLIER_RELEASES; i--) {
            json_object *v = NULL;
            if (json_object_object_get_ex(json_object_array_get_idx(arr, i - 1), "version", &v))
                snprintf(out[n++], DN_VERSION_MAX + 1, "%s", json_object_get_string(v));
        }
    }
    json_object_put(arr);
    return n;
}

ant_err dn_delta_make(const struct dn_config *cfg, const char *version, const char *binary,
                      const char *reldir, bool corrupt, struct ant_meta_delta *out, size_t *nout,
                      uint64_t *bytes)
{
    struct old_bin olds[ANT_META_MAX_DELTAS];
    char earlier[EARLIER_RELEASES][DN_VERSION_MAX + 1];
    char *newtext = NULL;
    size_t nold = 0, newlen = 0;
    uint8_t new_sha[ANT_SHA256_BYTES];
    ant_err e;

    memset(olds, 0, sizeof olds);
    *nout = 0;
    *bytes = 0;
    e = dn_read_file(binary, DN_BINARY_MAX, &newtext, &newlen);
    if (e == ANT_OK)
        e = ant_sha256(new_sha, newtext, newlen);
    if (e != ANT_OK)
        goto out;
    /* What the hosts run now (before this release: the deployed binary or the last
     * installed one), then what was published before. */
    for (unsigned h = 0; h < cfg->hosts && nold < ANT_META_MAX_DELTAS; h++) {
        char path[PATH_MAX], v[DN_VERSION_MAX + 1], *data = NULL;
        size_t len = 0;
        if (dn_path(path, sizeof path, "%s/hosts/h%u/bin/ant-node", cfg->dir, h) != ANT_OK ||
            dn_binary_version(path, v, sizeof v) != ANT_OK ||
            dn_read_file(path, DN_BINARY_MAX, &data, &len) != ANT_OK)
            continue;
        add_old(olds, &nold, v, (uint8_t *)data, len, new_sha);
    }
    size_t ne = earlier_releases(cfg, earlier);
    for (size_t i = 0; i < ne && nold < ANT_META_MAX_DELTAS; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (extract_published(cfg, earlier[i], &data, &len) == ANT_OK)
            add_old(olds, &nold, earlier[i], data, len, new_sha);
    }
    for (size_t i = 0; i < nold; i++) {
        struct ant_meta_delta *d = &out[*nout];
        uint8_t *patch = NULL;
        size_t plen = 0;
        char path[PATH_MAX];
        memset(d, 0, sizeof *d);
        e = ant_patch_make(olds[i].bytes, olds[i].len, (const uint8_t *)newtext, newlen, 0,
                           &patch, &plen);
        if (e == ANT_OK)
            e = ant_sha256(d->sha256, patch, plen);
        if (e == ANT_OK)
            e = dn_path(d->name, sizeof d->name, "ant-node-cli-%s-from-%s.patch", cfg->platform,
                        olds[i].version);
        if (e == ANT_OK && !ant_fsx_name_ok(d->name))
            e = ANT_ERR_INVALID_ARG;
        if (e == ANT_OK)
            e = dn_path(path, sizeof path, "%s/%s", reldir, d->name);
        if (e == ANT_OK && corrupt)
            patch[plen / 2] ^= 0x20; /* listed honestly, served wrong */
        if (e == ANT_OK)
            e = dn_write_file(path, patch, plen, 0644);
        free(patch);
        if (e != ANT_OK)
            goto out;
        /* Both NUL-terminated, DN_VERSION_MAX < ANT_SEMVER_TEXT_MAX. */
        memcpy(d->from_version, olds[i].version, strnlen(olds[i].version, DN_VERSION_MAX) + 1);
        memcpy(d->from_sha256, olds[i].sha, sizeof d->from_sha256);
        d->length = plen;
        *bytes += plen;
        (*nout)++;
        ant_log(ANT_LOG_INFO, "devnet", "Published binary patch version=%s from=%s bytes=%zu%s",
                version, olds[i].version, plen, corrupt ? " served=corrupt" : "");
    }
out:
    for (size_t i = 0; i < nold; i++)
        free(olds[i].bytes);
    free(newtext);
    return e;
}
