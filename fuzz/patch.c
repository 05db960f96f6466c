/*
 * Fuzz target: a binary patch (src/upgrade/patch.c, issue 19) as a release server could
 * serve it, applied to a fixed old binary with a fixed announced new length. The node
 * checks a patch's signed digest first, so this is defence in depth for what libzstd and
 * our framing rules see: whatever the bytes, ant_patch_apply returns one of its documented
 * codes, never writes past the announced length, and on success produced exactly it. The
 * seeds (make_corpus.c) hold the real patch from the same pair and cut, flipped and
 * extended copies of it.
 */
#include <string.h>

#include "ant/patch.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t old[FUZZ_PATCH_OLD_LEN], neu[FUZZ_PATCH_NEW_LEN];
    static uint8_t out[FUZZ_PATCH_NEW_LEN + 64];
    static int ready;
    if (!ready) {
        fuzz_patch_old_new(old, neu);
        ready = 1;
    }
    /* A guard after the announced length: the decoder must never touch it. */
    memset(out + FUZZ_PATCH_NEW_LEN, 0xa5, 64);
    ant_err err = ant_patch_apply(old, sizeof old, data, size, out, FUZZ_PATCH_NEW_LEN);
    FUZZ_ASSERT(err == ANT_OK || err == ANT_ERR_CORRUPT || err == ANT_ERR_TOO_LARGE ||
                err == ANT_ERR_TRUNCATED || err == ANT_ERR_NOMEM);
    for (size_t i = 0; i < 64; i++)
        FUZZ_ASSERT(out[FUZZ_PATCH_NEW_LEN + i] == 0xa5);
    /* The content checksum is always on in our patches, but a frame without one can still
     * decode: success only says the frame was well formed and exactly this long. */
    (void)neu;
    return 0;
}
