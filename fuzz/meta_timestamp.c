/*
 * Fuzz target: the timestamp payload parser (ant_meta_timestamp_parse) with its rollout
 * control (ARCHITECTURE.md §10). Invariants: the cursor is within 0..100 % (<= 1000000
 * ppm); a rebuild keeps the targets reference and the rollout fields exactly.
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
    struct ant_meta_timestamp *t = NULL, *t2 = NULL;
    struct ant_meta_targets_ref ref, ref2;
    struct ant_meta_rollout ro, ro2;
    uint8_t *text = NULL;
    size_t len = 0;
    ant_err err = ant_meta_timestamp_parse(data, size, &t);
    FUZZ_ASSERT(err == ANT_OK || err == ANT_ERR_PARSE || err == ANT_ERR_TOO_LARGE ||
                err == ANT_ERR_BAD_VERSION || err == ANT_ERR_NOMEM);
    if (err != ANT_OK)
        return 0;
    ant_meta_timestamp_targets(t, &ref);
    ant_meta_timestamp_rollout(t, &ro);
    FUZZ_ASSERT(ref.version >= 1 && ref.length >= 1);
    FUZZ_ASSERT(!ro.present || ro.cursor_ppm <= 1000000);
    if (ant_meta_timestamp_expires(t) >= 0) {
        FUZZ_ASSERT(ant_meta_timestamp_build(t, ant_meta_timestamp_version(t),
                                             ant_meta_timestamp_expires(t), &ref, NULL, &text,
                                             &len) == ANT_OK);
        FUZZ_ASSERT(ant_meta_timestamp_parse(text, len, &t2) == ANT_OK);
        ant_meta_timestamp_targets(t2, &ref2);
        ant_meta_timestamp_rollout(t2, &ro2);
        FUZZ_ASSERT(memcmp(&ref, &ref2, sizeof ref) == 0);
        FUZZ_ASSERT(ro.present == ro2.present);
        if (ro.present)
            FUZZ_ASSERT(ro.cursor_ppm == ro2.cursor_ppm && ro.halted == ro2.halted &&
                        strcmp(ro.version, ro2.version) == 0 &&
                        memcmp(ro.seed, ro2.seed, sizeof ro.seed) == 0);
        FUZZ_ASSERT(ant_meta_timestamp_version(t2) == ant_meta_timestamp_version(t));
    }
    free(text);
    ant_meta_timestamp_free(t2);
    ant_meta_timestamp_free(t);
    return 0;
}
