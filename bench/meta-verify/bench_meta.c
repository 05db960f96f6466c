/*
 * Benchmark of a full signed-metadata check (ant_meta_refresh): what every node pays per
 * check and what every host downloads per TTL.
 *
 * A typical repository: root with 3 root keys (threshold 2), 3 targets keys (threshold 2)
 * and 1 timestamp key; targets listing RELEASES versions x 2 platforms (default 30, the
 * GitHub page the release list reads); a timestamp. Measured, each as the median over
 * ITERS runs of this thread's CPU time and of wall time:
 *   - "cache": a node's check within the TTL: every file read from the host cache and
 *     verified again from the embedded-style anchor (2 targets + 1 timestamp signature;
 *     the anchor itself is not re-verified), no network;
 *   - "fetch": the host's once-per-TTL refresh from a server (in memory here, so the
 *     figure is CPU, not the network): the same cache re-verification it starts with,
 *     then root.2.json probe (absent), timestamp (verified), targets (already held: its
 *     hash matches), and the fsync'd atomic writes of the cache files (most of its wall).
 * Bytes: file sizes of the three roles, and what a host fetches per TTL in steady state
 * (timestamp.json only, plus one 404 for root.<N+1>.json) and on a new release (plus the
 * new targets file).
 *
 *   bench_meta [RELEASES [ITERS]]      (defaults 30 and 50)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/meta.h"

struct file {
    const char *name;
    uint8_t *data;
    size_t len;
};
static struct file files[3];

static ant_err fetch_mem(void *arg, const char *name, size_t cap, uint8_t **data, size_t *len)
{
    (void)arg;
    for (size_t i = 0; i < 3; i++)
        if (files[i].name != NULL && strcmp(files[i].name, name) == 0) {
            if (files[i].len > cap)
                return ANT_ERR_TOO_LARGE;
            *data = malloc(files[i].len + 1);
            if (*data == NULL)
                return ANT_ERR_NOMEM;
            memcpy(*data, files[i].data, files[i].len);
            *len = files[i].len;
            return ANT_OK;
        }
    return ANT_ERR_NOT_FOUND;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint8_t *sign_env(enum ant_meta_role role, uint8_t *payload, size_t plen,
                         uint8_t (*sk)[ANT_MLDSA65_SECRETKEYBYTES], const int *who, size_t n,
                         size_t *len)
{
    struct ant_meta_envelope *env = NULL;
    uint8_t *out = NULL;
    if (ant_meta_envelope_new(role, payload, plen, &env) != ANT_OK)
        exit(2);
    for (size_t i = 0; i < n; i++)
        if (ant_meta_envelope_sign(env, sk[who[i]]) != ANT_OK)
            exit(2);
    if (ant_meta_envelope_serialize(env, &out, len) != ANT_OK)
        exit(2);
    ant_meta_envelope_free(env);
    free(payload);
    return out;
}

int main(int argc, char **argv)
{
    size_t releases = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 30;
    size_t iters = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 50;
    static uint8_t pk[7][ANT_MLDSA65_PUBLICKEYBYTES], sk[7][ANT_MLDSA65_SECRETKEYBYTES];
    struct ant_meta_role_keys rk[3];
    struct ant_meta_targets *tg = NULL;
    uint8_t *payload = NULL, *anchor;
    size_t plen = 0, alen = 0;
    int64_t now = (int64_t)time(NULL);

    if (releases == 0 || iters == 0 || iters > 100000)
        return 2;
    ant_log_set_level(ANT_LOG_ERROR);
    for (int i = 0; i < 7; i++) {
        uint8_t seed[32];
        memset(seed, 0x30 + i, sizeof seed);
        if (ant_mldsa65_keypair_from_seed(pk[i], sk[i], seed) != ANT_OK)
            return 2;
    }
    rk[0] = (struct ant_meta_role_keys){(const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])pk[0], 3, 2};
    rk[1] = (struct ant_meta_role_keys){(const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])pk[3], 3, 2};
    rk[2] = (struct ant_meta_role_keys){(const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])pk[6], 1, 1};
    if (ant_meta_root_build(1, now + 365 * 86400, &rk[0], &rk[1], &rk[2], &payload, &plen) != ANT_OK)
        return 2;
    anchor = sign_env(ANT_META_ROLE_ROOT, payload, plen, sk, (const int[]){0, 1}, 2, &alen);
    payload = NULL; /* sign_env took it */

    for (size_t r = 0; r < releases; r++) {
        for (int p = 0; p < 2; p++) {
            struct ant_meta_target e;
            memset(&e, 0, sizeof e);
            snprintf(e.version, sizeof e.version, "0.%zu.%d", r / 10, (int)(r % 10));
            snprintf(e.platform, sizeof e.platform, p == 0 ? "linux-x64" : "linux-arm64");
            snprintf(e.archive_name, sizeof e.archive_name, "%s",
                     p == 0 ? "ant-node-cli-linux-x64.tar.gz" : "ant-node-cli-linux-arm64.tar.gz");
            e.archive_length = 12345678;
            e.binary_length = 34567890;
            memset(e.archive_sha256, (int)(r * 7 + (size_t)p), 32);
            memset(e.binary_sha256, (int)(r * 11 + (size_t)p), 32);
            struct ant_meta_targets *next = NULL;
            free(payload);
            payload = NULL;
            if (ant_meta_targets_build(tg, 1, now + 90 * 86400, &e, NULL, &payload, &plen) != ANT_OK ||
                ant_meta_targets_parse(payload, plen, &next) != ANT_OK)
                return 2;
            ant_meta_targets_free(tg);
            tg = next;
        }
    }
    ant_meta_targets_free(tg);
    files[0].name = "targets.1.json";
    files[0].data = sign_env(ANT_META_ROLE_TARGETS, payload, plen, sk, (const int[]){3, 4}, 2,
                             &files[0].len);
    struct ant_meta_targets_ref ref = {1, files[0].len, {0}};
    if (ant_sha256(ref.sha256, files[0].data, files[0].len) != ANT_OK ||
        ant_meta_timestamp_build(NULL, 1, now + 86400, &ref, NULL, &payload, &plen) != ANT_OK)
        return 2;
    files[1].name = "timestamp.json";
    files[1].data = sign_env(ANT_META_ROLE_TIMESTAMP, payload, plen, sk, (const int[]){6}, 1,
                             &files[1].len);

    char dir[] = "/tmp/ant-bench-meta-XXXXXX";
    int dirfd = -1;
    if (mkdtemp(dir) == NULL || ant_fsx_open_trusted_dir(dir, false, &dirfd) != ANT_OK)
        return 2;
    uint64_t *cpu = calloc(iters, sizeof *cpu), *wall = calloc(iters, sizeof *wall);
    uint64_t med[2][2];
    size_t fetched = 0;
    for (int mode = 0; mode < 2; mode++) { /* 0 fetch, 1 cache */
        for (size_t i = 0; i < iters; i++) {
            struct ant_meta_opts o;
            struct ant_meta_status st;
            struct ant_meta_trusted *t = NULL;
            ant_meta_opts_init(&o);
            o.trusted_root = anchor;
            o.trusted_root_len = alen;
            o.fetch = mode == 0 ? fetch_mem : NULL;
            o.force = mode == 0;
            uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);
            if (ant_meta_refresh(dirfd, &o, &t, &st) != ANT_OK || st.state != ANT_META_FRESH) {
                fprintf(stderr, "bench_meta: state %s: %s\n", ant_meta_state_name(st.state),
                        st.error);
                return 1;
            }
            cpu[i] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
            wall[i] = clock_ns(CLOCK_MONOTONIC) - w0;
            if (mode == 0)
                fetched = st.bytes_fetched;
            ant_meta_trusted_free(t);
        }
        qsort(cpu, iters, sizeof *cpu, cmp_u64);
        qsort(wall, iters, sizeof *wall, cmp_u64);
        med[mode][0] = cpu[iters / 2];
        med[mode][1] = wall[iters / 2];
    }
    printf("command: bench_meta %zu %zu\n", releases, iters);
    printf("repository: root 3 keys k=2 / targets 3 keys k=2 / timestamp 1 key; %zu releases x 2 "
           "platforms\n", releases);
    printf("sizes: root.1.json %zu B, targets.1.json %zu B, timestamp.json %zu B\n", alen,
           files[0].len, files[1].len);
    printf("check from the host cache (re-verify all, no network): %.3f ms CPU, %.3f ms wall "
           "(median of %zu)\n", (double)med[1][0] / 1e6, (double)med[1][1] / 1e6, iters);
    printf("refresh from the server (root probe + timestamp + targets): %.3f ms CPU, %.3f ms "
           "wall (median of %zu), %zu B received\n", (double)med[0][0] / 1e6,
           (double)med[0][1] / 1e6, iters, fetched);
    printf("bytes per host per TTL: steady state %zu B (timestamp.json + a 404 for "
           "root.2.json); with a new release %zu B (+ targets); first contact %zu B\n",
           files[1].len, files[1].len + files[0].len, files[1].len + files[0].len);
    free(cpu);
    free(wall);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_meta: could not remove %s\n", dir);
    close(dirfd);
    free(anchor);
    free(files[0].data);
    free(files[1].data);
    return 0;
}
