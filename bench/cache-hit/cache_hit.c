/*
 * The cache-hit benchmark's two halves (driven by bench/cache-hit/run.sh):
 *
 *   bench_cache_hit prepare CACHE_DIR KEYS_DIR FILE
 *       makes a key pair (KEYS_DIR/bench.pub), signs FILE for ant-node 0.2.0 linux-x64 with
 *       the streaming signer, and stores it in the cache through ant_cache_store;
 *   bench_cache_hit hit CACHE_DIR KEYS_DIR [release-key]
 *       one cache hit exactly as the upgrader does it: a private staging dir, ant_cache_get_fd
 *       (open + fstat checks, one pass copying into an unnamed file in the staging dir while
 *       computing SHA-256 and mu, signature check), then the staging dir is removed. Exit 0
 *       only if it verified.
 *
 * The key set is the bench key alone, as a production node has one key (the compiled-in
 * one); with `release-key` the compiled-in key is trusted too, which costs one more SHAKE256
 * stream (mu depends on the key), as on a devnet node.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/fsx.h"
#include "ant/mldsa65.h"
#include "ant/release_context.h"
#include "ant/trust.h"

#define VERSION "0.2.0"
#define PLATFORM ANT_PLATFORM_LINUX_X64

static int prepare(const char *cache_dir, const char *keys_dir, const char *file)
{
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES], sk[ANT_MLDSA65_SECRETKEYBYTES];
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    char ctx[ANT_RELEASE_CONTEXT_CAP], why[512];
    struct ant_mldsa65_signer *signer = NULL;
    struct ant_trust_keys *keys = NULL;
    struct ant_cache *cache = NULL;
    static uint8_t buf[1 << 20];
    int keys_fd = -1, fd = -1, rc = 1;

    if (ant_mldsa65_keypair(pk, sk) != ANT_OK ||
        ant_release_context(ctx, sizeof ctx, VERSION, PLATFORM) != ANT_OK ||
        ant_fsx_open_trusted_dir(keys_dir, true, &keys_fd) != ANT_OK ||
        ant_fsx_write_atomic(keys_fd, "bench.pub", pk, sizeof pk, 0644) != ANT_OK ||
        ant_mldsa65_signer_new(&signer, sk, (const uint8_t *)ctx, strlen(ctx), 0) != ANT_OK)
        goto out;
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto out;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if (ant_mldsa65_signer_update(signer, buf, (size_t)r) != ANT_OK)
            goto out;
    }
    if (ant_mldsa65_signer_final(signer, sig) != ANT_OK || ant_trust_keys_new_empty(&keys) != ANT_OK ||
        ant_trust_keys_add_dir(keys, keys_dir, why, sizeof why) != ANT_OK ||
        ant_cache_open(cache_dir, 0, &cache) != ANT_OK)
        goto out;
    const char *reason = NULL;
    if (ant_cache_store(cache, keys, VERSION, PLATFORM, fd, sig, sizeof sig, &reason) != ANT_OK) {
        fprintf(stderr, "store failed: %s\n", reason ? reason : "?");
        goto out;
    }
    rc = 0;
out:
    explicit_bzero(sk, sizeof sk);
    ant_mldsa65_signer_free(signer);
    ant_trust_keys_free(keys);
    ant_cache_close(cache);
    if (fd >= 0)
        close(fd);
    if (keys_fd >= 0)
        close(keys_fd);
    return rc;
}

static int hit(const char *cache_dir, const char *keys_dir, int with_release_key)
{
    struct ant_trust_keys *keys = NULL;
    struct ant_cache *cache = NULL;
    char why[512], staging[PATH_MAX];
    int sfd = -1, afd = -1, rc = 1;
    ant_err err = with_release_key ? ant_trust_keys_new(&keys) : ant_trust_keys_new_empty(&keys);
    if (err != ANT_OK || ant_trust_keys_add_dir(keys, keys_dir, why, sizeof why) != ANT_OK ||
        ant_cache_open(cache_dir, 0, &cache) != ANT_OK ||
        ant_cache_staging_create(cache, staging, sizeof staging, &sfd) != ANT_OK)
        goto out;
    const char *reason = NULL;
    err = ant_cache_get_fd(cache, keys, VERSION, PLATFORM, sfd, &afd, &reason);
    if (err != ANT_OK) {
        fprintf(stderr, "cache hit failed: %s\n", reason ? reason : ant_strerror(err));
        goto out;
    }
    printf("verified\n");
    rc = 0;
out:
    if (afd >= 0)
        close(afd);
    if (sfd >= 0)
        ant_fsx_private_dir_remove(staging, sfd);
    ant_cache_close(cache);
    ant_trust_keys_free(keys);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "prepare") == 0)
        return prepare(argv[2], argv[3], argv[4]);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "hit") == 0)
        return hit(argv[2], argv[3], argc == 5 && strcmp(argv[4], "release-key") == 0);
    fprintf(stderr, "usage: bench_cache_hit prepare CACHE_DIR KEYS_DIR FILE\n"
                    "       bench_cache_hit hit CACHE_DIR KEYS_DIR [release-key]\n");
    return 2;
}
