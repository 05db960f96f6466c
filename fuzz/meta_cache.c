/*
 * Fuzz target: the metadata client reading an attacker-written host cache
 * (ant_meta_refresh with no server). The input is split at FUZZ_META_SEP into the
 * cached timestamp, targets and root version 2; they are written into a private cache
 * directory and the client walks them from an anchor signed by the fixed fuzz key (the
 * corpus generator signs valid triples with the same key, so the fuzzer starts from a
 * fresh set and mutates it). Invariants: refresh never fails for cache content; FRESH
 * only with a timestamp and targets present and unexpired, the targets' version equal to
 * the one the timestamp names; an install lookup succeeds only in FRESH; root version
 * never below the anchor's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/meta.h"
#include "fuzz.h"

static int cachefd = -1;
static uint8_t *anchor;
static size_t anchor_len;
static char cachedir[] = "/tmp/ant-fuzz-meta-cache-XXXXXX";

static void cleanup(void)
{
    static const char *const files[] = {ANT_META_CACHE_TIMESTAMP, ANT_META_CACHE_TARGETS,
                                        "meta-root.2.json", ANT_META_CACHE_STATE,
                                        ANT_META_LOCK};
    if (cachefd < 0)
        return;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        (void)unlinkat(cachefd, files[i], 0);
    close(cachefd);
    cachefd = -1;
    rmdir(cachedir);
    free(anchor);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    uint8_t pk[1][ANT_MLDSA65_PUBLICKEYBYTES], sk[ANT_MLDSA65_SECRETKEYBYTES], seed[32];
    struct ant_meta_role_keys rk = {NULL, 1, 1};
    struct ant_meta_envelope *env = NULL;
    uint8_t *p = NULL;
    size_t plen = 0;
    (void)argc;
    (void)argv;
    ant_log_set_level(ANT_LOG_ERROR);
    memset(seed, FUZZ_MLDSA_SEED_BYTE, sizeof seed);
    rk.keys = (const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])pk;
    FUZZ_ASSERT(ant_mldsa65_keypair_from_seed(pk[0], sk, seed) == ANT_OK);
    FUZZ_ASSERT(ant_meta_root_build(1, FUZZ_META_EXPIRES, &rk, &rk, &rk, &p, &plen) == ANT_OK);
    FUZZ_ASSERT(ant_meta_envelope_new(ANT_META_ROLE_ROOT, p, plen, &env) == ANT_OK);
    FUZZ_ASSERT(ant_meta_envelope_sign(env, sk) == ANT_OK);
    FUZZ_ASSERT(ant_meta_envelope_serialize(env, &anchor, &anchor_len) == ANT_OK);
    ant_meta_envelope_free(env);
    free(p);
    FUZZ_ASSERT(mkdtemp(cachedir) != NULL);
    FUZZ_ASSERT(ant_fsx_open_trusted_dir(cachedir, false, &cachefd) == ANT_OK);
    atexit(cleanup);
    return 0;
}

/* Plain write (no fsync: this directory is thrown away) or removal for an empty part. */
static void put(const char *name, const uint8_t *data, size_t len)
{
    (void)unlinkat(cachefd, name, 0);
    if (len == 0)
        return;
    int fd = openat(cachefd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    FUZZ_ASSERT(fd >= 0);
    FUZZ_ASSERT(write(fd, data, len) == (ssize_t)len);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[3] = {ANT_META_CACHE_TIMESTAMP, ANT_META_CACHE_TARGETS,
                                         "meta-root.2.json"};
    const size_t seplen = strlen(FUZZ_META_SEP);
    size_t start = 0;
    struct ant_meta_opts o;
    struct ant_meta_status st;
    struct ant_meta_trusted *t = NULL;
    struct ant_meta_target e;

    for (int i = 0; i < 3; i++) {
        size_t end = size;
        if (i < 2)
            for (size_t j = start; j + seplen <= size; j++)
                if (memcmp(data + j, FUZZ_META_SEP, seplen) == 0) {
                    end = j;
                    break;
                }
        put(names[i], data + start, start <= end ? end - start : 0);
        start = end + seplen < size ? end + seplen : size;
    }
    ant_meta_opts_init(&o);
    o.trusted_root = anchor;
    o.trusted_root_len = anchor_len;
    o.now = FUZZ_META_NOW;
    FUZZ_ASSERT(ant_meta_refresh(cachefd, &o, &t, &st) == ANT_OK);
    FUZZ_ASSERT(st.state <= ANT_META_INVALID);
    FUZZ_ASSERT(st.root_version >= 1);
    const struct ant_meta_timestamp *ts = ant_meta_trusted_timestamp(t);
    const struct ant_meta_targets *tg = ant_meta_trusted_targets(t);
    if (st.state == ANT_META_FRESH) {
        struct ant_meta_targets_ref ref;
        FUZZ_ASSERT(ts != NULL && tg != NULL);
        ant_meta_timestamp_targets(ts, &ref);
        FUZZ_ASSERT(ref.version == ant_meta_targets_version(tg));
        FUZZ_ASSERT(ant_meta_timestamp_expires(ts) > FUZZ_META_NOW);
        FUZZ_ASSERT(ant_meta_targets_expires(tg) > FUZZ_META_NOW);
        for (size_t i = 0; i < ant_meta_targets_count(tg); i++) {
            FUZZ_ASSERT(ant_meta_targets_entry(tg, i, &e) == ANT_OK);
            ant_err err = ant_meta_lookup(t, e.version, e.platform, &e);
            FUZZ_ASSERT(err == ANT_OK || err == ANT_ERR_DOWNGRADE);
        }
    } else {
        FUZZ_ASSERT(ant_meta_lookup(t, "0.2.0", "linux-x64", &e) == ANT_ERR_BAD_SIGNATURE);
    }
    ant_meta_trusted_free(t);
    return 0;
}
