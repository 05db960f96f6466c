/*
 * Fuzz target: the targets payload parser (ant_meta_targets_parse) and the lookup the
 * install gate uses. Invariants: every listed entry is found again by (version,
 * platform) with identical fields; a version is never both unlisted and found; a rebuild
 * adding the first entry again parses with the same number of entries.
 */
#include <string.h>

#include "ant/log.h"
#include "ant/meta.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ant_log_set_level(ANT_LOG_ERROR);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ant_meta_targets *t = NULL, *t2 = NULL;
    struct ant_meta_target e, f;
    uint8_t *text = NULL;
    size_t len = 0;
    ant_err err = ant_meta_targets_parse(data, size, &t);
    FUZZ_ASSERT(err == ANT_OK || err == ANT_ERR_PARSE || err == ANT_ERR_TOO_LARGE ||
                err == ANT_ERR_BAD_VERSION || err == ANT_ERR_NOMEM);
    if (err != ANT_OK)
        return 0;
    size_t n = ant_meta_targets_count(t);
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(ant_meta_targets_entry(t, i, &e) == ANT_OK);
        FUZZ_ASSERT(ant_meta_targets_find(t, e.version, e.platform, &f) == ANT_OK);
        /* JSON objects cannot hold a key twice after json-c, so the first match is it */
        FUZZ_ASSERT(memcmp(&e, &f, sizeof e) == 0);
        FUZZ_ASSERT(e.archive_length >= 1 && e.binary_length >= 1);
    }
    FUZZ_ASSERT(ant_meta_targets_find(t, "99999.0.0-nothere", "linux-x64", &f) ==
                ANT_ERR_NOT_FOUND);
    if (n > 0 && ant_meta_targets_expires(t) >= 0) {
        FUZZ_ASSERT(ant_meta_targets_entry(t, 0, &e) == ANT_OK);
        err = ant_meta_targets_build(t, ant_meta_targets_version(t), ant_meta_targets_expires(t),
                                     &e, NULL, &text, &len);
        if (err == ANT_OK) {
            FUZZ_ASSERT(ant_meta_targets_parse(text, len, &t2) == ANT_OK);
            FUZZ_ASSERT(ant_meta_targets_count(t2) == n);
        } else {
            /* pretty printing can push a file near the cap over it */
            FUZZ_ASSERT(err == ANT_ERR_TOO_LARGE);
        }
    }
    free(text);
    ant_meta_targets_free(t2);
    ant_meta_targets_free(t);
    return 0;
}
