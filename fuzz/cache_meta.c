/*
 * Fuzz target: the meta file of the shared archive cache (`<entry>.meta.json`), which any
 * process of the user can write. The parser is internal to src/upgrade/cache.c, so the
 * target goes through the public entry point that reads it, ant_cache_get: a private cache
 * directory holds a small archive, a 3309-byte signature that does not verify, and the
 * input as the meta file. Whatever the meta says, the call must fail (nothing in this
 * cache is signed by the compiled-in key), with a reason, with one of the documented
 * codes, and without leaving the private copy in the staging directory. A meta file that
 * matches the archive gets past the parser into the copy-and-verify stage, so the seeds
 * include one.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/trust.h"
#include "fuzz.h"

#define META_NAME "ant-node-" FUZZ_CACHE_VERSION "-" FUZZ_CACHE_PLATFORM ".meta.json"
#define ARCHIVE_NAME "ant-node-" FUZZ_CACHE_VERSION "-" FUZZ_CACHE_PLATFORM ".archive"
#define SIG_NAME "ant-node-" FUZZ_CACHE_VERSION "-" FUZZ_CACHE_PLATFORM ".sig"

static struct ant_cache *cache;
static struct ant_trust_keys *keys;
static int staging_fd = -1;
static char root[256], staging[512];

static void write_file(int dirfd, const char *name, const void *data, size_t len)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    FUZZ_ASSERT(fd >= 0);
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        FUZZ_ASSERT(w > 0);
        p += w;
        len -= (size_t)w;
    }
    FUZZ_ASSERT(close(fd) == 0);
}

static void cleanup(void)
{
    if (staging_fd >= 0) {
        ant_fsx_private_dir_remove(staging, staging_fd);
        staging_fd = -1;
    }
    if (cache != NULL) {
        int dirfd = ant_cache_dirfd(cache);
        unlinkat(dirfd, META_NAME, 0);
        unlinkat(dirfd, ARCHIVE_NAME, 0);
        unlinkat(dirfd, SIG_NAME, 0);
        ant_cache_close(cache);
        cache = NULL;
        rmdir(root);
    }
    ant_trust_keys_free(keys);
    keys = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ant_log_set_level(ANT_LOG_ERROR);
    fuzz_make_temp_dir(root, sizeof root, "ant-fuzz-cache-");
    FUZZ_ASSERT(ant_cache_open(root, 0, &cache) == ANT_OK);
    FUZZ_ASSERT(ant_trust_keys_new(&keys) == ANT_OK);
    FUZZ_ASSERT(ant_cache_staging_create(cache, staging, sizeof staging, &staging_fd) == ANT_OK);
    int dirfd = ant_cache_dirfd(cache);
    write_file(dirfd, ARCHIVE_NAME, FUZZ_CACHE_ARCHIVE, sizeof FUZZ_CACHE_ARCHIVE - 1);
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    memset(sig, 0x33, sizeof sig);
    write_file(dirfd, SIG_NAME, sig, sizeof sig);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (cache == NULL)
        LLVMFuzzerInitialize(NULL, NULL);
    write_file(ant_cache_dirfd(cache), META_NAME, data, size);
    const char *reason = NULL;
    ant_err err = ant_cache_get(cache, keys, FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, staging_fd,
                                &reason);
    FUZZ_ASSERT(err != ANT_OK);
    FUZZ_ASSERT(reason != NULL);
    if (size > ANT_CACHE_META_CAP)
        FUZZ_ASSERT(err == ANT_ERR_TOO_LARGE);
    FUZZ_ASSERT(err == ANT_ERR_PARSE || err == ANT_ERR_MISMATCH || err == ANT_ERR_CORRUPT ||
                err == ANT_ERR_BAD_SIGNATURE || err == ANT_ERR_TOO_LARGE);
    struct stat st;
    FUZZ_ASSERT(fstatat(staging_fd, ANT_CACHE_STAGED_ARCHIVE, &st, AT_SYMLINK_NOFOLLOW) != 0);
    return 0;
}
