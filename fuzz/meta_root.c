/*
 * Fuzz target: the root payload parser (ant_meta_root_parse). Invariants: every role of a
 * parsed root has 1 <= threshold <= its distinct keys, every keyid is 64 hex digits and is
 * the SHA-256 of the key it names; a rebuild of the same root (ant_meta_root_rebuild with
 * no change) parses to the same thresholds and keyids.
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
    struct ant_meta_root *r = NULL, *r2 = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    ant_err err = ant_meta_root_parse(data, size, &r);
    FUZZ_ASSERT(err == ANT_OK || err == ANT_ERR_PARSE || err == ANT_ERR_TOO_LARGE ||
                err == ANT_ERR_BAD_KEY || err == ANT_ERR_BAD_VERSION || err == ANT_ERR_NOMEM);
    if (err != ANT_OK)
        return 0;
    FUZZ_ASSERT(ant_meta_root_version(r) >= 1);
    for (int role = ANT_META_ROLE_ROOT; role <= ANT_META_ROLE_TIMESTAMP; role++) {
        unsigned th = ant_meta_root_threshold(r, (enum ant_meta_role)role);
        size_t n = 0;
        const char *kid;
        while ((kid = ant_meta_root_keyid(r, (enum ant_meta_role)role, n)) != NULL) {
            char want[ANT_META_KEYID_HEX];
            const uint8_t *pk = ant_meta_root_key(r, (enum ant_meta_role)role, n);
            FUZZ_ASSERT(pk != NULL && ant_meta_keyid(want, pk) == ANT_OK);
            FUZZ_ASSERT(strcmp(want, kid) == 0);
            n++;
        }
        FUZZ_ASSERT(th >= 1 && th <= n);
    }
    if (ant_meta_root_expires(r) >= 0) {
        err = ant_meta_root_rebuild(r, ant_meta_root_version(r), ant_meta_root_expires(r), NULL,
                                    NULL, NULL, &text, &len);
        FUZZ_ASSERT(err == ANT_OK);
        FUZZ_ASSERT(ant_meta_root_parse(text, len, &r2) == ANT_OK);
        for (int role = ANT_META_ROLE_ROOT; role <= ANT_META_ROLE_TIMESTAMP; role++) {
            FUZZ_ASSERT(ant_meta_root_threshold(r, (enum ant_meta_role)role) ==
                        ant_meta_root_threshold(r2, (enum ant_meta_role)role));
            for (size_t i = 0; ant_meta_root_keyid(r, (enum ant_meta_role)role, i) != NULL; i++)
                FUZZ_ASSERT(strcmp(ant_meta_root_keyid(r, (enum ant_meta_role)role, i),
                                   ant_meta_root_keyid(r2, (enum ant_meta_role)role, i)) == 0);
        }
    }
    free(text);
    ant_meta_root_free(r2);
    ant_meta_root_free(r);
    return 0;
}
