/*
 * The upgrade-engine test world (see harness.h): real files, a real loopback HTTP server
 * (engine_server.py), real signatures with a key generated at test time and trusted through
 * a trusted-keys dir, and the fake node binaries driving the real engine.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/fsx.h"
#include "ant/http.h"
#include "ant/meta.h"
#include "ant/mldsa65.h"
#include "ant/patch.h"
#include "ant/release_context.h"

#define PLATFORM "linux-x64"
#define ASSET "ant-node-cli-" PLATFORM ".tar.gz"

int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd)
        return -1;
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc))
        return -1;
    return WEXITSTATUS(rc);
}

static const char *platform(void)
{
    const char *p = ant_release_platform_host();
    return p != NULL ? p : PLATFORM;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return close(fd);
}

static int read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    if (buf == NULL)
        return -1;
    *data = buf;
    *len = n;
    return 0;
}

static int start_server(struct world *w)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char script[512];
        const char *src = getenv("ANT_SOURCE_DIR");
        snprintf(script, sizeof script, "%s/tests/engine/engine_server.py",
                 src != NULL ? src : ".");
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execlp("python3", "python3", script, "--root", w->srv, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    w->server = pid;
    char line[64] = "";
    size_t n = 0;
    while (n < sizeof line - 1) {
        ssize_t r = read(pipefd[0], line + n, 1);
        if (r <= 0)
            break;
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(pipefd[0]);
    unsigned port = 0;
    if (sscanf(line, "READY %u", &port) != 1 || port == 0)
        return -1;
    snprintf(w->api, sizeof w->api, "http://127.0.0.1:%u", port);
    return 0;
}

static int64_t unix_now(void)
{
    return (int64_t)time(NULL);
}

/* Opens the metadata repository dir (created when missing). */
static int meta_dir(struct world *w)
{
    if (sh("mkdir -p '%s'", w->meta) != 0)
        return -1;
    return open(w->meta, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int meta_sign(int dirfd, enum ant_meta_role role, const unsigned char *sk)
{
    char why[256] = "";
    ant_err err = ant_meta_repo_sign(dirfd, role, sk, NULL, why, sizeof why);
    if (err != ANT_OK)
        fprintf(stderr, "  metadata sign %s: %s (%s)\n", ant_meta_role_name(role), why,
                ant_strerror(err));
    return err == ANT_OK ? 0 : -1;
}

/* root.1.json with the three test keys, its copy as the nodes' trust anchor, and a first
 * (empty) targets with its timestamp, so a world with no release is fresh. */
static int meta_init(struct world *w)
{
    char why[256] = "";
    snprintf(w->meta, sizeof w->meta, "%s/meta", w->srv);
    snprintf(w->meta_url, sizeof w->meta_url, "%s/meta/", w->api);
    snprintf(w->anchor, sizeof w->anchor, "%s/anchor/root.json", w->dir);
    for (int r = 0; r < 3; r++) {
        unsigned char seed[ANT_MLDSA65_SEEDBYTES];
        for (size_t i = 0; i < sizeof seed; i++)
            seed[i] = (unsigned char)(0x10u * (unsigned)(r + 1) + i);
        if (ant_mldsa65_keypair_from_seed(w->meta_pk[r], w->meta_sk[r], seed) != ANT_OK)
            return -1;
    }
    struct ant_meta_role_keys rk = {(const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])w->meta_pk[0],
                                    1, 1};
    struct ant_meta_role_keys tk = {(const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])w->meta_pk[1],
                                    1, 1};
    struct ant_meta_role_keys sk = {(const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])w->meta_pk[2],
                                    1, 1};
    int dirfd = meta_dir(w);
    if (dirfd < 0)
        return -1;
    int rc = -1;
    ant_err err = ant_meta_repo_init(dirfd, &rk, &tk, &sk, unix_now() + 30 * 86400, why,
                                     sizeof why);
    if (err != ANT_OK) {
        fprintf(stderr, "  metadata init: %s\n", why);
        goto out;
    }
    if (meta_sign(dirfd, ANT_META_ROLE_ROOT, w->meta_sk[0]) != 0)
        goto out;
    if (sh("mkdir -p '%s/anchor' && chmod 700 '%s/anchor' && cp '%s/root.1.json' '%s' && "
           "chmod 600 '%s'",
           w->dir, w->dir, w->meta, w->anchor, w->anchor) != 0)
        goto out;
    struct ant_meta_targets_policy none = {"", NULL}; /* an empty targets: no release yet */
    err = ant_meta_repo_add(dirfd, NULL, &none, unix_now() + 7 * 86400, NULL, why, sizeof why);
    if (err != ANT_OK)
        fprintf(stderr, "  metadata add: %s (%s)\n", why, ant_strerror(err));
    if (err != ANT_OK || meta_sign(dirfd, ANT_META_ROLE_TARGETS, w->meta_sk[1]) != 0)
        goto out;
    close(dirfd);
    dirfd = -1;
    rc = world_meta_timestamp(w, 86400);
out:
    if (dirfd >= 0)
        close(dirfd);
    return rc;
}

int world_meta_timestamp(struct world *w, long expires_in_s)
{
    char why[256] = "";
    int dirfd = meta_dir(w);
    if (dirfd < 0)
        return -1;
    ant_err err = ant_meta_repo_timestamp(dirfd, NULL, unix_now() + expires_in_s, NULL, why,
                                          sizeof why);
    int rc = -1;
    if (err != ANT_OK)
        fprintf(stderr, "  metadata timestamp: %s\n", why);
    else
        rc = meta_sign(dirfd, ANT_META_ROLE_TIMESTAMP, w->meta_sk[2]);
    close(dirfd);
    return rc;
}

int world_meta_rollout(struct world *w, const char *version, const unsigned char seed[32],
                       const char *cursor, bool halted)
{
    struct ant_meta_rollout ro;
    char why[256] = "";
    memset(&ro, 0, sizeof ro);
    ro.present = true;
    snprintf(ro.version, sizeof ro.version, "%s", version);
    memcpy(ro.seed, seed, sizeof ro.seed);
    ro.halted = halted;
    if (ant_meta_cursor_parse(cursor, &ro.cursor_ppm) != ANT_OK)
        return -1;
    int dirfd = meta_dir(w);
    if (dirfd < 0)
        return -1;
    ant_err err = ant_meta_repo_timestamp(dirfd, &ro, unix_now() + 86400, NULL, why,
                                          sizeof why);
    int rc = -1;
    if (err != ANT_OK)
        fprintf(stderr, "  metadata rollout timestamp: %s\n", why);
    else
        rc = meta_sign(dirfd, ANT_META_ROLE_TIMESTAMP, w->meta_sk[2]);
    close(dirfd);
    return rc;
}

int world_meta_policy(struct world *w, const char *minimum, const char *yank)
{
    struct ant_meta_targets_policy pol = {.minimum_version = minimum, .yank = yank};
    char why[256] = "";
    int dirfd = meta_dir(w);
    if (dirfd < 0)
        return -1;
    int rc = -1;
    ant_err err = ant_meta_repo_add(dirfd, NULL, &pol, unix_now() + 7 * 86400, NULL, why,
                                    sizeof why);
    if (err != ANT_OK)
        fprintf(stderr, "  metadata policy: %s\n", why);
    else
        rc = meta_sign(dirfd, ANT_META_ROLE_TARGETS, w->meta_sk[1]);
    close(dirfd);
    return rc == 0 ? world_meta_timestamp(w, 86400) : rc;
}

int world_meta_remove(struct world *w)
{
    return sh("rm -rf '%s'", w->meta);
}

/* SHA-256 and length of a whole file. */
static int file_digest(const char *path, uint64_t *len, uint8_t sha[ANT_SHA256_BYTES])
{
    unsigned char *data = NULL;
    size_t n = 0;
    if (read_file(path, &data, &n) != 0)
        return -1;
    int rc = ant_sha256(sha, data, n) == ANT_OK ? 0 : -1;
    *len = n;
    free(data);
    return rc;
}

/* Lists the release in targets (the honest path, or as `fault` departs from it) and
 * signs a timestamp naming the new targets. */
void world_patch_path(char *buf, size_t cap, const char *version, const char *from_version)
{
    snprintf(buf, cap, "/download/%s/ant-node-cli-%s-from-%s.patch", version, platform(),
             from_version);
}

/* Makes the patch of `fault`, serves it (honestly or as the fault says) and lists it. */
static int publish_delta(struct world *w, const char *version, const struct meta_fault *fault,
                         const char *fake_binary, struct ant_meta_target *e)
{
    unsigned char *old = NULL, *neu = NULL;
    uint8_t *patch = NULL;
    size_t olen = 0, nlen = 0, plen = 0;
    char rel[200], path[700];
    int rc = -1;
    const char *result = fault->delta_result_binary != NULL ? fault->delta_result_binary
                                                            : fake_binary;
    if (read_file(fault->delta_from_binary, &old, &olen) != 0 ||
        read_file(result, &neu, &nlen) != 0 ||
        ant_patch_make(old, olen, neu, nlen, 19, &patch, &plen) != ANT_OK)
        goto out;
    struct ant_meta_delta *d = &e->deltas[e->ndeltas++];
    world_patch_path(rel, sizeof rel, version, fault->delta_from_version);
    snprintf(d->from_version, sizeof d->from_version, "%s", fault->delta_from_version);
    snprintf(d->name, sizeof d->name, "%s", strrchr(rel, '/') + 1);
    d->length = plen;
    if (ant_sha256(d->from_sha256, old, olen) != ANT_OK || ant_sha256(d->sha256, patch, plen) != ANT_OK)
        goto out;
    if (fault->delta_served_corrupt)
        patch[plen / 2] ^= 0x20;
    snprintf(path, sizeof path, "%s%s", w->srv, rel);
    if (write_file(path, patch, plen, 0644) != 0)
        goto out;
    if (fault->delta_served_oversize &&
        sh("head -c 100000 /dev/urandom >> '%s'", path) != 0)
        goto out;
    rc = 0;
out:
    free(patch);
    free(old);
    free(neu);
    return rc;
}

static int meta_publish(struct world *w, const char *version, const char *archive,
                        const char *fake_binary, const struct meta_fault *fault)
{
    struct ant_meta_target e;
    char why[256] = "";
    if (fault != NULL && fault->unlisted)
        return 0;
    memset(&e, 0, sizeof e);
    snprintf(e.version, sizeof e.version, "%s", version);
    snprintf(e.platform, sizeof e.platform, "%s", platform());
    snprintf(e.archive_name, sizeof e.archive_name, "ant-node-cli-%s.tar.gz", platform());
    const char *bin = fault != NULL && fault->meta_binary != NULL ? fault->meta_binary
                                                                  : fake_binary;
    if (file_digest(archive, &e.archive_length, e.archive_sha256) != 0 ||
        file_digest(bin, &e.binary_length, e.binary_sha256) != 0)
        return -1;
    if (fault != NULL && fault->wrong_archive_sha)
        e.archive_sha256[0] ^= 0x01;
    if (fault != NULL && fault->delta_from_version != NULL &&
        publish_delta(w, version, fault, fake_binary, &e) != 0)
        return -1;
    int dirfd = meta_dir(w);
    if (dirfd < 0)
        return -1;
    int rc = -1;
    ant_err err = ant_meta_repo_add(dirfd, &e, NULL, unix_now() + 7 * 86400, NULL, why,
                                    sizeof why);
    if (err != ANT_OK)
        fprintf(stderr, "  metadata add %s: %s\n", version, why);
    else
        rc = meta_sign(dirfd, ANT_META_ROLE_TARGETS, w->meta_sk[1]);
    close(dirfd);
    return rc == 0 ? world_meta_timestamp(w, 86400) : rc;
}

int world_init(struct world *w, const char *base, const char *initial_binary)
{
    memset(w, 0, sizeof *w);
    w->server = -1;
    snprintf(w->dir, sizeof w->dir, "%s/ant-engine-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(w->dir) == NULL)
        return -1;
    snprintf(w->srv, sizeof w->srv, "%s/srv", w->dir);
    snprintf(w->bin, sizeof w->bin, "%s/bin", w->dir);
    snprintf(w->binary, sizeof w->binary, "%s/bin/ant-node", w->dir);
    snprintf(w->cache, sizeof w->cache, "%s/cache", w->dir);
    snprintf(w->keys, sizeof w->keys, "%s/keys", w->dir);
    if (sh("mkdir -p '%s/repos/test/ant-node' '%s' '%s' && chmod 700 '%s' '%s'", w->srv, w->bin,
           w->keys, w->keys, w->dir) != 0)
        return -1;
    if (sh("cp '%s' '%s' && chmod 755 '%s'", initial_binary, w->binary, w->binary) != 0)
        return -1;

    /* The test release key, generated now from a fixed seed and trusted the way
     * production trusts extra keys: a .pub file in a trusted-keys dir. */
    unsigned char seed[ANT_MLDSA65_SEEDBYTES];
    for (size_t i = 0; i < sizeof seed; i++)
        seed[i] = (unsigned char)(0x42 + i);
    if (ant_mldsa65_keypair_from_seed(w->pk, w->sk, seed) != ANT_OK)
        return -1;
    char path[400];
    snprintf(path, sizeof path, "%s/test-release.pub", w->keys);
    if (write_file(path, w->pk, sizeof w->pk, 0600) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/repos/test/ant-node/releases", w->srv);
    if (write_file(path, "[]", 2, 0644) != 0)
        return -1;
    if (start_server(w) != 0)
        return -1;
    return meta_init(w);
}

void world_free(struct world *w)
{
    if (w->server > 0) {
        kill(w->server, SIGKILL);
        waitpid(w->server, NULL, 0);
        w->server = -1;
    }
    if (w->dir[0] != '\0' && getenv("ANT_KEEP_TEST_DIR") == NULL)
        sh("rm -rf '%s'", w->dir);
}

void world_archive_path(char *buf, size_t cap, const char *version)
{
    snprintf(buf, cap, "/download/%s/ant-node-cli-%s.tar.gz", version, platform());
}

/* Rewrites the release list from the releases published so far (newest last on disk,
 * newest first in the list, like GitHub). */
static int write_release_list(struct world *w)
{
    char listing[400], path[400];
    snprintf(listing, sizeof listing, "%s/published", w->dir);
    FILE *in = fopen(listing, "r");
    if (in == NULL)
        return -1;
    char versions[32][64];
    size_t n = 0;
    while (n < 32 && fscanf(in, "%63s", versions[n]) == 1)
        n++;
    fclose(in);
    json_object *arr = json_object_new_array();
    for (size_t i = n; i-- > 0;) {
        json_object *rel = json_object_new_object();
        json_object *assets = json_object_new_array();
        char tag[80], url[512], name[128];
        snprintf(tag, sizeof tag, "v%s", versions[i]);
        json_object_object_add(rel, "tag_name", json_object_new_string(tag));
        json_object_object_add(rel, "draft", json_object_new_boolean(0));
        json_object_object_add(rel, "prerelease", json_object_new_boolean(0));
        for (int sig = 0; sig < 2; sig++) {
            json_object *a = json_object_new_object();
            snprintf(name, sizeof name, "ant-node-cli-%s.tar.gz%s", platform(), sig ? ".sig" : "");
            snprintf(url, sizeof url, "%s/download/%s/%s", w->api, versions[i], name);
            json_object_object_add(a, "name", json_object_new_string(name));
            json_object_object_add(a, "browser_download_url", json_object_new_string(url));
            json_object_array_add(assets, a);
        }
        json_object_object_add(rel, "assets", assets);
        json_object_array_add(arr, rel);
    }
    const char *text = json_object_to_json_string(arr);
    snprintf(path, sizeof path, "%s/repos/test/ant-node/releases", w->srv);
    int rc = write_file(path, text, strlen(text), 0644);
    json_object_put(arr);
    return rc;
}

int world_publish(struct world *w, const char *version, const char *fake_binary,
                  const char *sign_as)
{
    return world_publish_meta(w, version, fake_binary, sign_as, NULL);
}

int world_publish_meta(struct world *w, const char *version, const char *fake_binary,
                       const char *sign_as, const struct meta_fault *fault)
{
    char stage[400], rel[400], archive[600], sigpath[620];
    snprintf(stage, sizeof stage, "%s/stage-%s", w->dir, version);
    snprintf(rel, sizeof rel, "%s/download/%s", w->srv, version);
    snprintf(archive, sizeof archive, "%s/ant-node-cli-%s.tar.gz", rel, platform());
    snprintf(sigpath, sizeof sigpath, "%s.sig", archive);
    if (sh("mkdir -p '%s' '%s' && cp '%s' '%s/ant-node' && chmod 755 '%s/ant-node' && "
           "tar -czf '%s' -C '%s' ant-node",
           stage, rel, fake_binary, stage, stage, archive, stage) != 0)
        return -1;
    unsigned char *data = NULL;
    size_t len = 0;
    if (read_file(archive, &data, &len) != 0)
        return -1;
    char ctx[ANT_RELEASE_CONTEXT_CAP];
    unsigned char sig[ANT_MLDSA65_SIGBYTES];
    int rc = -1;
    if (ant_release_context(ctx, sizeof ctx, sign_as != NULL ? sign_as : version, platform()) ==
            ANT_OK &&
        ant_mldsa65_sign(sig, data, len, (const unsigned char *)ctx, strlen(ctx), w->sk) ==
            ANT_OK &&
        write_file(sigpath, sig, sizeof sig, 0644) == 0 &&
        sh("echo '%s' >> '%s/published'", version, w->dir) == 0 &&
        meta_publish(w, version, archive, fake_binary, fault) == 0)
        rc = write_release_list(w);
    free(data);
    return rc;
}

long world_count(struct world *w, const char *path)
{
    char url[256];
    uint8_t *body = NULL;
    size_t len = 0;
    long count = -1;
    struct ant_http_opts opts;
    ant_http_opts_init(&opts);
    snprintf(url, sizeof url, "%s/_counts", w->api);
    if (ant_http_get_mem(url, &opts, 1 << 20, &body, &len, NULL) != ANT_OK)
        return -1;
    json_object *root = json_tokener_parse((const char *)body);
    json_object *v = NULL;
    if (root != NULL) {
        count = 0;
        if (json_object_object_get_ex(root, path, &v))
            count = (long)json_object_get_int64(v);
    }
    json_object_put(root);
    free(body);
    return count;
}

void world_root(struct world *w, unsigned n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/node%u", w->dir, n);
}

void world_log(struct world *w, unsigned n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/node%u.log", w->dir, n);
}

pid_t world_spawn(struct world *w, const char *fake_binary, const char *mode, unsigned n,
                  const char *const *extra, const char *const *env)
{
    char root[400], logpath[400], peer[32], cache[320];
    world_root(w, n, root, sizeof root);
    world_log(w, n, logpath, sizeof logpath);
    snprintf(peer, sizeof peer, "peer-%u", n);
    snprintf(cache, sizeof cache, "%s", w->cache);
    const char *argv[64];
    size_t a = 0;
    argv[a++] = fake_binary;
    argv[a++] = mode;
    const char *fixed[] = {"--root", root,     "--cache", cache,         "--api",
                           w->api,  "--repo", "test/ant-node", "--keys", w->keys,
                           "--peer", peer, "--trusted-root", w->anchor,
                           "--metadata-url", w->meta_url};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[a++] = fixed[i];
    for (size_t i = 0; extra != NULL && extra[i] != NULL && a < 62; i++)
        argv[a++] = extra[i];
    argv[a] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            putenv((char *)env[i]);
        execv(fake_binary, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int world_wait(pid_t pid, unsigned timeout_ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status = 0;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
            return -1;
        }
        if (r < 0)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms > (long)timeout_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fprintf(stderr, "  process %ld timed out after %u ms\n", (long)pid, timeout_ms);
            return -1;
        }
        usleep(5000);
    }
}

int world_run(struct world *w, const char *fake_binary, const char *mode, unsigned n,
              const char *const *extra, const char *const *env, unsigned timeout_ms)
{
    pid_t pid = world_spawn(w, fake_binary, mode, n, extra, env);
    if (pid < 0)
        return -1;
    return world_wait(pid, timeout_ms);
}

static unsigned count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[8192];
    unsigned count = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, needle) != NULL)
            count++;
    }
    fclose(f);
    return count;
}

unsigned world_log_count(struct world *w, unsigned n, const char *needle)
{
    char path[400];
    if (n != ~0u) {
        world_log(w, n, path, sizeof path);
        return count_in_file(path, needle);
    }
    unsigned total = 0;
    for (unsigned i = 0; i < 64; i++) {
        world_log(w, i, path, sizeof path);
        total += count_in_file(path, needle);
    }
    return total;
}

int binary_version(const char *path, char *buf, size_t cap)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' --version 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    char line[128] = "";
    char *got = fgets(line, sizeof line, p);
    int rc = pclose(p);
    if (got == NULL || rc != 0 || strncmp(line, "ant-node ", 9) != 0)
        return -1;
    line[strcspn(line, "\n")] = '\0';
    snprintf(buf, cap, "%s", line + 9);
    return 0;
}
