/*
 * Shared by the fuzz targets, the replay driver and the corpus generator: the libFuzzer
 * entry points, the fixed key seed (so the generator's signatures verify in the target),
 * and FUZZ_ASSERT, the invariant check that turns a silent logic error into a crash the
 * fuzzer reports. Aborting is right here and only here: a fuzz target is a test program,
 * never library code.
 */
#ifndef ANT_FUZZ_H
#define ANT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Every byte of the ML-DSA-65 key seed used by mldsa65_verify and the generator. */
#define FUZZ_MLDSA_SEED_BYTE 0x5a

/* Limits the extract target passes, so a decompression bomb costs milliseconds. */
#define FUZZ_EXTRACT_MEMBER_CAP ((uint64_t)64 << 10)
#define FUZZ_EXTRACT_TOTAL_CAP ((uint64_t)256 << 10)
#define FUZZ_EXTRACT_MAX_ENTRIES 16

/* The archive the cache_meta target puts in its cache, and the entry it asks for. */
#define FUZZ_CACHE_ARCHIVE "ant-node fuzz cache archive\n"
#define FUZZ_CACHE_VERSION "0.1.0"
#define FUZZ_CACHE_PLATFORM "linux-x64"

/* The meta_cache target: the separator of its three cached files, the clock it runs at
 * and the expiry the generator signs (so the seeds are fresh at that clock). */
#define FUZZ_META_SEP "\n--8<--\n"
#define FUZZ_META_NOW ((int64_t)1800000000)
#define FUZZ_META_EXPIRES ((int64_t)1900000000)

/* The patch target (issue 19): its fixed old binary of FUZZ_PATCH_OLD_LEN bytes and the
 * new length it announces, both derived from one generator the corpus maker shares. */
#define FUZZ_PATCH_OLD_LEN 4096
#define FUZZ_PATCH_NEW_LEN 4200
static inline void fuzz_patch_old_new(uint8_t *old, uint8_t *neu)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < FUZZ_PATCH_OLD_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        old[i] = (uint8_t)(x & 0x3f);
    }
    /* new: old with 104 bytes inserted at 1000 and a few edits, as a code change looks */
    for (size_t i = 0; i < FUZZ_PATCH_NEW_LEN; i++)
        neu[i] = i < 1000 ? old[i] : i < 1104 ? (uint8_t)i : old[i - 104];
    for (size_t i = 1500; i < FUZZ_PATCH_NEW_LEN; i += 700)
        neu[i] ^= 0x55;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond)                                                                  \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__,      \
                    #cond);                                                                \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/*
 * Creates a fresh directory <base>/<prefix>XXXXXX for a target's files (base: /dev/shm when
 * writable, else $TMPDIR, else /tmp) and writes its path into path (capacity cap).
 */
static inline void fuzz_make_temp_dir(char *path, size_t cap, const char *prefix)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int m = snprintf(path, cap, "%s/%sXXXXXX", base, prefix);
    FUZZ_ASSERT(m > 0 && (size_t)m < cap);
    FUZZ_ASSERT(mkdtemp(path) != NULL);
}

#endif
