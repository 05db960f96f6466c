/*
 * Publishing a devnet release the way the project's release tooling does (ARCHITECTURE.md §3):
 * the devnet's own ML-DSA-65 release key, the archive `ant-node-cli-<platform>.tar.gz` with
 * `ant-node` (0755) at its root written by libarchive, a detached raw signature over the
 * exact archive bytes under the version-bound context, and the release added to a
 * GitHub-shaped release list that nginx serves. The list is rewritten atomically (temp,
 * fsync, rename) so a node fetching during a publish sees the old list or the new one,
 * never half of it, and an asset is in place before the list names it.
 */
#include "devnet/devnet_int.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/mldsa65.h"
#include "ant/release_context.h"
#include "ant/semver.h"

#define CHUNK (64u << 10)

ant_err dn_keys_create(const char *dir)
{
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    char path[PATH_MAX];
    ant_err e = dn_path(path, sizeof path, "%s/keys/trusted", dir);
    if (e == ANT_OK)
        e = dn_mkdirs(path, 0700);
    /* The trusted-keys dir must pass the node's owner/mode check: 0700 even under a
     * permissive umask (mkdir applies it, and an existing dir keeps its mode). */
    if (e == ANT_OK && chmod(path, 0700) != 0)
        e = ANT_ERR_IO;
    if (e != ANT_OK)
        return e;
    e = ant_mldsa65_keypair(pk, sk);
    if (e != ANT_OK)
        goto out;
    e = dn_path(path, sizeof path, "%s/keys/release.key", dir);
    if (e == ANT_OK)
        e = dn_write_file(path, sk, sizeof sk, 0600);
    if (e == ANT_OK)
        e = dn_path(path, sizeof path, "%s/keys/release.pub", dir);
    if (e == ANT_OK)
        e = dn_write_file(path, pk, sizeof pk, 0644);
    if (e == ANT_OK)
        e = dn_path(path, sizeof path, "%s/keys/trusted/devnet.pub", dir);
    if (e == ANT_OK)
        e = dn_write_file(path, pk, sizeof pk, 0644);
out:
    explicit_bzero(sk, sizeof sk);
    return e;
}

ant_err dn_pack(const char *binary, const char *out_path)
{
    int in = -1, sdir = -1, odir = -1;
    struct archive *a = NULL;
    struct archive_entry *entry = NULL;
    struct ant_fsx_tmp *tmp = NULL;
    uint8_t *buf = NULL;
    uint64_t size = 0;
    ant_err e;
    char parent[PATH_MAX];

    const char *slash = strrchr(binary, '/');
    const char *oslash = strrchr(out_path, '/');
    if (slash == NULL || oslash == NULL)
        return ANT_ERR_INVALID_ARG;
    e = dn_path(parent, sizeof parent, "%.*s", (int)(slash - binary), binary);
    if (e != ANT_OK)
        return e;
    sdir = open(parent[0] != '\0' ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sdir < 0)
        return ANT_ERR_NOT_FOUND;
    e = ant_fsx_open_capped(sdir, slash + 1, DN_BINARY_MAX, &in, &size);
    if (e != ANT_OK)
        goto out;
    e = dn_path(parent, sizeof parent, "%.*s", (int)(oslash - out_path), out_path);
    if (e != ANT_OK)
        goto out;
    odir = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (odir < 0) {
        e = ANT_ERR_IO;
        goto out;
    }
    e = ant_fsx_tmp_open(odir, oslash + 1, 0644, &tmp);
    if (e != ANT_OK)
        goto out;
    e = ANT_ERR_NOMEM;
    buf = malloc(CHUNK);
    a = archive_write_new();
    entry = archive_entry_new();
    if (buf == NULL || a == NULL || entry == NULL)
        goto out;
    e = ANT_ERR_BAD_ARCHIVE;
    if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_format_ustar(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, ant_fsx_tmp_fd(tmp)) != ARCHIVE_OK)
        goto out;
    archive_entry_set_pathname(entry, "ant-node");
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, 0755);
    archive_entry_set_size(entry, (la_int64_t)size);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_uname(entry, "root");
    archive_entry_set_gname(entry, "root");
    archive_entry_set_mtime(entry, time(NULL), 0);
    if (archive_write_header(a, entry) != ARCHIVE_OK)
        goto out;
    uint64_t left = size;
    while (left > 0) {
        size_t want = left < CHUNK ? (size_t)left : CHUNK;
        ssize_t n = read(in, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = ANT_ERR_TRUNCATED;
            goto out;
        }
        if (archive_write_data(a, buf, (size_t)n) != n)
            goto out;
        left -= (uint64_t)n;
    }
    if (archive_write_close(a) != ARCHIVE_OK)
        goto out;
    e = ant_fsx_tmp_commit(tmp, oslash + 1);
    tmp = NULL;
out:
    if (e != ANT_OK && a != NULL && archive_error_string(a) != NULL)
        ant_log(ANT_LOG_ERROR, "devnet", "packing failed error=%s", archive_error_string(a));
    if (a != NULL)
        archive_write_free(a);
    archive_entry_free(entry);
    if (tmp != NULL)
        ant_fsx_tmp_abort(tmp);
    free(buf);
    if (in >= 0)
        close(in);
    if (sdir >= 0)
        close(sdir);
    if (odir >= 0)
        close(odir);
    return e;
}

ant_err dn_sign_file(const char *path, const char *sk_path, const char *ctx,
                     uint8_t sig[ANT_MLDSA65_SIGBYTES])
{
    char *sk = NULL;
    size_t sklen = 0;
    struct ant_mldsa65_signer *s = NULL;
    int fd = -1;
    uint8_t *buf = NULL;
    ant_err e = dn_read_file(sk_path, ANT_MLDSA65_SECRETKEYBYTES, &sk, &sklen);
    if (e != ANT_OK)
        goto out;
    if (sklen != ANT_MLDSA65_SECRETKEYBYTES) {
        e = ANT_ERR_BAD_KEY;
        goto out;
    }
    e = ant_mldsa65_signer_new(&s, (const uint8_t *)sk, (const uint8_t *)ctx, strlen(ctx), 0);
    if (e != ANT_OK)
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    buf = malloc(CHUNK);
    if (fd < 0 || buf == NULL) {
        e = fd < 0 ? ANT_ERR_IO : ANT_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = ANT_ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        e = ant_mldsa65_signer_update(s, buf, (size_t)n);
        if (e != ANT_OK)
            goto out;
    }
    e = ant_mldsa65_signer_final(s, sig);
out:
    ant_mldsa65_signer_free(s);
    if (sk != NULL) {
        explicit_bzero(sk, sklen);
        free(sk);
    }
    free(buf);
    if (fd >= 0)
        close(fd);
    return e;
}

static void iso_time(char *buf, size_t cap, time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    /* strftime leaves the buffer indeterminate when the text does not fit. */
    if (cap > 0 && strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        buf[0] = '\0';
}

static json_object *asset_json(const char *name, uint64_t size, const char *url,
                               const char *content_type)
{
    json_object *a = json_object_new_object();
    if (a == NULL)
        return NULL;
    json_object_object_add(a, "name", json_object_new_string(name));
    json_object_object_add(a, "size", json_object_new_int64((int64_t)size));
    json_object_object_add(a, "content_type", json_object_new_string(content_type));
    json_object_object_add(a, "state", json_object_new_string("uploaded"));
    json_object_object_add(a, "browser_download_url", json_object_new_string(url));
    return a;
}

/* Loads the release list (an empty list when none was published yet). */
static ant_err load_list(const char *path, json_object **list)
{
    char *text = NULL;
    size_t len = 0;
    ant_err e = dn_read_file(path, DN_RELEASES_MAX, &text, &len);
    if (e == ANT_ERR_NOT_FOUND) {
        *list = json_object_new_array();
        return *list != NULL ? ANT_OK : ANT_ERR_NOMEM;
    }
    if (e != ANT_OK)
        return e;
    *list = json_tokener_parse(text);
    free(text);
    if (*list == NULL || !json_object_is_type(*list, json_type_array)) {
        json_object_put(*list);
        *list = NULL;
        return ANT_ERR_PARSE;
    }
    return ANT_OK;
}

ant_err ant_devnet_publish(const char *dir, const char *binary, const char *version,
                           bool prerelease)
{
    return ant_devnet_publish_delta(dir, binary, version, prerelease, ANT_DEVNET_DELTA_NONE);
}

ant_err ant_devnet_publish_delta(const char *dir, const char *binary, const char *version,
                                 bool prerelease, enum ant_devnet_delta delta)
{
    struct ant_meta_delta deltas[ANT_META_MAX_DELTAS];
    size_t ndeltas = 0;
    uint64_t delta_bytes = 0;
    struct dn_config *cfg = NULL;
    json_object *list = NULL, *rel = NULL, *published = NULL;
    char ctx[ANT_RELEASE_CONTEXT_CAP];
    char asset[64], reldir[PATH_MAX], archive[PATH_MAX], sigpath[PATH_MAX];
    char listpath[PATH_MAX], url[PATH_MAX], sigurl[PATH_MAX], tag[DN_VERSION_MAX + 2];
    char path[PATH_MAX], got[DN_VERSION_MAX + 1], stamp[32], binabs[PATH_MAX];
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    struct ant_semver sv;
    int lockfd = -1, ddir = -1;
    struct stat st;
    bool is_static = false;
    ant_err e;

    if (dir == NULL || binary == NULL || version == NULL)
        return ANT_ERR_INVALID_ARG;
    cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return ANT_ERR_NOMEM;
    e = dn_config_load(dir, cfg);
    if (e != ANT_OK)
        goto out;
    e = ant_semver_parse(version, &sv);
    if (e != ANT_OK)
        goto out;
    if ((sv.pre[0] != '\0') && !prerelease)
        ant_log(ANT_LOG_WARN, "devnet",
                "publishing a pre-release version as stable version=%s", version);
    if (realpath(binary, binabs) == NULL) {
        e = ANT_ERR_NOT_FOUND;
        goto out;
    }
    e = dn_binary_version(binabs, got, sizeof got);
    if (e != ANT_OK)
        goto out;
    if (strcmp(got, version) != 0) {
        ant_log(ANT_LOG_ERROR, "devnet", "binary reports another version binary=%s reports=%s",
                binabs, got);
        e = ANT_ERR_MISMATCH;
        goto out;
    }
    /* Only an ELF executable can be a release; the static flag goes into the record the
     * report checks the installed binaries against. */
    e = dn_elf_is_static(binabs, &is_static);
    if (e != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "devnet", "not an ELF executable binary=%s", binabs);
        goto out;
    }
    e = ant_release_context(ctx, sizeof ctx, version, cfg->platform);
    if (e != ANT_OK)
        goto out;

    /* One publisher at a time: two concurrent publishes would each drop the other's entry. */
    ddir = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (ddir < 0) {
        e = ANT_ERR_IO;
        goto out;
    }
    e = ant_fsx_lock(ddir, "publish.lock", 30000, &lockfd);
    if (e != ANT_OK)
        goto out;

    e = dn_path(listpath, sizeof listpath, "%s/www/repos/%s/%s/releases", cfg->dir,
                ANT_DEVNET_OWNER, ANT_DEVNET_REPO);
    if (e == ANT_OK)
        e = load_list(listpath, &list);
    if (e != ANT_OK)
        goto out;
    e = dn_path(tag, sizeof tag, "v%s", version);
    if (e != ANT_OK)
        goto out;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *t = NULL;
        if (json_object_object_get_ex(json_object_array_get_idx(list, i), "tag_name", &t) &&
            strcmp(json_object_get_string(t), tag) == 0) {
            e = ANT_ERR_EXISTS;
            goto out;
        }
    }

    e = dn_path(asset, sizeof asset, "ant-node-cli-%s.tar.gz", cfg->platform);
    if (e == ANT_OK)
        e = dn_path(reldir, sizeof reldir, "%s/www/%s/%s/releases/download/%s", cfg->dir,
                    ANT_DEVNET_OWNER, ANT_DEVNET_REPO, tag);
    if (e == ANT_OK)
        e = dn_mkdirs(reldir, 0700);
    if (e == ANT_OK)
        e = dn_path(archive, sizeof archive, "%s/%s", reldir, asset);
    if (e == ANT_OK)
        e = dn_path(sigpath, sizeof sigpath, "%s/%s.sig", reldir, asset);
    if (e == ANT_OK)
        e = dn_pack(binabs, archive);
    if (e == ANT_OK)
        e = dn_path(path, sizeof path, "%s/keys/release.key", cfg->dir);
    if (e == ANT_OK)
        e = dn_sign_file(archive, path, ctx, sig);
    if (e == ANT_OK)
        e = dn_write_file(sigpath, sig, sizeof sig, 0644);
    if (e != ANT_OK)
        goto out;
    if (stat(archive, &st) != 0) {
        e = ANT_ERR_IO;
        goto out;
    }
    /* Listed in signed metadata before the release list names it: a node that sees the
     * release finds its targets entry too. */
    if (delta != ANT_DEVNET_DELTA_NONE) {
        e = dn_delta_make(cfg, version, binabs, reldir, delta == ANT_DEVNET_DELTA_CORRUPT, deltas,
                          &ndeltas, &delta_bytes);
        if (e != ANT_OK)
            goto out;
    }
    e = dn_meta_publish_locked(cfg, version, archive, binabs, deltas, ndeltas);
    if (e != ANT_OK)
        goto out;

    /* The nodes fetch the asset at this address: with --netns they are in their hosts'
     * namespaces, where only the bridge address reaches the server. */
    char host[24] = "127.0.0.1";
    e = cfg->netns ? dn_netns_server_ip(cfg, host, sizeof host) : ANT_OK;
    if (e == ANT_OK)
        e = dn_path(url, sizeof url, "https://%s:%u/%s/%s/releases/download/%s/%s", host,
                    (unsigned)cfg->https_port, ANT_DEVNET_OWNER, ANT_DEVNET_REPO, tag, asset);
    if (e == ANT_OK)
        e = dn_path(sigurl, sizeof sigurl, "%s.sig", url);
    if (e != ANT_OK)
        goto out;
    e = ANT_ERR_NOMEM;
    rel = json_object_new_object();
    json_object *assets = json_object_new_array();
    if (rel == NULL || assets == NULL) {
        json_object_put(assets);
        goto out;
    }
    iso_time(stamp, sizeof stamp, time(NULL));
    json_object_object_add(rel, "tag_name", json_object_new_string(tag));
    json_object_object_add(rel, "name", json_object_new_string(tag));
    json_object_object_add(rel, "draft", json_object_new_boolean(0));
    json_object_object_add(rel, "prerelease", json_object_new_boolean(prerelease));
    json_object_object_add(rel, "created_at", json_object_new_string(stamp));
    json_object_object_add(rel, "published_at", json_object_new_string(stamp));
    json_object_array_add(assets, asset_json(asset, (uint64_t)st.st_size, url,
                                             "application/gzip"));
    char signame[96];
    snprintf(signame, sizeof signame, "%s.sig", asset);
    json_object_array_add(assets, asset_json(signame, sizeof sig, sigurl,
                                             "application/octet-stream"));
    json_object_object_add(rel, "assets", assets);
    /* GitHub lists the newest release first: a new list with it at the front. */
    json_object *fresh = json_object_new_array();
    if (fresh == NULL || json_object_array_add(fresh, rel) != 0) {
        json_object_put(fresh);
        goto out;
    }
    rel = NULL;
    for (size_t i = 0; i < json_object_array_length(list); i++)
        json_object_array_add(fresh, json_object_get(json_object_array_get_idx(list, i)));
    json_object_put(list);
    list = fresh;
    const char *text = json_object_to_json_string_ext(list, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    e = dn_write_file(listpath, text, strlen(text), 0644);
    if (e != ANT_OK)
        goto out;

    /* The devnet's own record for the report: when, and whether the binary was static. */
    e = dn_path(path, sizeof path, "%s/published.json", cfg->dir);
    if (e != ANT_OK)
        goto out;
    e = load_list(path, &published);
    if (e != ANT_OK)
        goto out;
    e = ANT_ERR_NOMEM;
    json_object *p = json_object_new_object();
    if (p == NULL)
        goto out;
    json_object_object_add(p, "version", json_object_new_string(version));
    json_object_object_add(p, "published_at", json_object_new_double(dn_now()));
    json_object_object_add(p, "static", json_object_new_boolean(is_static));
    json_object_object_add(p, "prerelease", json_object_new_boolean(prerelease));
    json_object_object_add(p, "archive_bytes", json_object_new_int64((int64_t)st.st_size));
    json_object_object_add(p, "deltas", json_object_new_int64((int64_t)ndeltas));
    json_object_object_add(p, "delta_bytes", json_object_new_int64((int64_t)delta_bytes));
    json_object_object_add(p, "delta_corrupt",
                           json_object_new_boolean(delta == ANT_DEVNET_DELTA_CORRUPT));
    json_object_array_add(published, p);
    text = json_object_to_json_string_ext(published, JSON_C_TO_STRING_PRETTY);
    e = dn_write_file(path, text, strlen(text), 0600);
    if (e == ANT_OK)
        ant_log(ANT_LOG_INFO, "devnet", "Published release version=%s asset=%s bytes=%lld",
                version, asset, (long long)st.st_size);
out:
    if (lockfd >= 0)
        ant_fsx_unlock(lockfd);
    if (ddir >= 0)
        close(ddir);
    json_object_put(rel);
    json_object_put(list);
    json_object_put(published);
    free(cfg);
    return e;
}
