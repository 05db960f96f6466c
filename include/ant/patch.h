/*
 * Binary patches between two releases' binaries (issue 19, ARCHITECTURE.md §5 step 5):
 * zstd's `--patch-from` format through libzstd. A patch is one zstd frame whose content is
 * the new binary, compressed with the old binary as a referenced prefix (long-distance
 * matching, a window covering both), so `zstd -d --patch-from=OLD` reads it as well.
 *
 * Nothing here decides trust: the caller checks the patch's length and SHA-256 against
 * signed metadata before applying it and the result's against the signed binary digest
 * after. What this module guarantees is that applying a hostile patch costs bounded
 * memory and output: the old binary and the output are the only large buffers, their sum
 * is capped by the caller, the decoder's window may not exceed what the two lengths need,
 * the output may not exceed the announced new length, and exactly one frame that ends at
 * the patch's last byte is accepted.
 */
#ifndef ANT_PATCH_H
#define ANT_PATCH_H

#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_PATCH_LEVEL_DEFAULT 19 /* what scripts/release.sh uses; bench/delta measures it */
#define ANT_PATCH_WINDOW_LOG_MAX 30 /* libzstd's limit on 64-bit: 1 GiB */

/*
 * The window log a patch from `old_len` to `new_len` bytes uses and a decoder allows:
 * ceil(log2(old_len + new_len)), at least 10. 0 when the sum needs more than
 * ANT_PATCH_WINDOW_LOG_MAX (such a patch is neither made nor applied).
 */
unsigned ant_patch_window_log(uint64_t old_len, uint64_t new_len);

/*
 * Makes the patch from `old` to `new_bin` at compression `level` (1-22; 0 =
 * ANT_PATCH_LEVEL_DEFAULT) into a malloc'd buffer the caller frees.
 * Errors: ANT_ERR_INVALID_ARG, ANT_ERR_TOO_LARGE (the lengths need a window over
 * ANT_PATCH_WINDOW_LOG_MAX), ANT_ERR_NOMEM, ANT_ERR_INTERNAL (libzstd refused).
 */
ANT_MUST_CHECK ant_err ant_patch_make(const uint8_t *old, size_t old_len, const uint8_t *new_bin,
                                      size_t new_len, int level, uint8_t **patch,
                                      size_t *patch_len);

/*
 * Applies a patch in memory: `out` receives exactly `new_len` bytes.
 * Errors: ANT_ERR_CORRUPT (not one well-formed zstd frame, a frame that needs a larger
 * window, a checksum failure, bytes after the frame), ANT_ERR_TOO_LARGE (more output than
 * new_len, or a content size that is not new_len), ANT_ERR_TRUNCATED (less output or the
 * patch ends inside the frame), ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_patch_apply(const uint8_t *old, size_t old_len, const uint8_t *patch,
                                       size_t patch_len, uint8_t *out, size_t new_len);

/*
 * Applies a patch between files: reads the old binary (`old_len` bytes from offset 0 of
 * `old_fd`), streams the patch (`patch_len` bytes from offset 0 of `patch_fd`, in small
 * chunks) and writes the `new_len`-byte result to `out_fd` (from its current offset).
 * `mem_cap` bounds old_len + new_len, the two buffers held (ANT_ERR_TOO_LARGE above it);
 * the patch itself is never held whole. A file shorter than announced is ANT_ERR_TRUNCATED.
 * Errors: those of ant_patch_apply, plus ANT_ERR_IO.
 */
ANT_MUST_CHECK ant_err ant_patch_apply_fd(int old_fd, uint64_t old_len, int patch_fd,
                                          uint64_t patch_len, int out_fd, uint64_t new_len,
                                          uint64_t mem_cap);

#endif
