/*
 * Binary patches in zstd's `--patch-from` format through libzstd (include/ant/patch.h).
 *
 * Making: the new binary is compressed as one frame with the old binary referenced as a
 * prefix (ZSTD_CCtx_refPrefix), long-distance matching on and a window covering old + new,
 * which is what lets a match reach from any byte of the new binary back to the same code in
 * the old one. Applying: the same prefix on the decoder (ZSTD_DCtx_refPrefix), the window
 * capped at what the two lengths need (ZSTD_d_windowLogMax: a frame asking for more is
 * refused before any allocation), and a stable output buffer of exactly the announced new
 * length (ZSTD_d_stableOutBuffer), so the decoder writes straight into it and allocates no
 * window of its own: memory is the old binary, the new binary and libzstd's fixed context.
 * The patch is streamed in small chunks; one frame, ending at the patch's last byte, whose
 * content size is the announced length, is all that is accepted.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_d_stableOutBuffer: an enum value, no static-only symbol */
#include "ant/patch.h"

#include "ant/fsx.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#define CHUNK ((size_t)64 << 10)
#define WINDOW_LOG_MIN 10

unsigned ant_patch_window_log(uint64_t old_len, uint64_t new_len)
{
    if (old_len > UINT64_MAX - new_len)
        return 0;
    uint64_t n = old_len + new_len;
    unsigned log = WINDOW_LOG_MIN;
    while (log <= ANT_PATCH_WINDOW_LOG_MAX && ((uint64_t)1 << log) < n)
        log++;
    return log > ANT_PATCH_WINDOW_LOG_MAX ? 0 : log;
}

ant_err ant_patch_make(const uint8_t *old, size_t old_len, const uint8_t *new_bin,
                       size_t new_len, int level, uint8_t **patch, size_t *patch_len)
{
    ZSTD_CCtx *cc = NULL;
    uint8_t *buf = NULL;
    ant_err err = ANT_ERR_INTERNAL;

    if (patch == NULL || patch_len == NULL || (old == NULL && old_len > 0) ||
        (new_bin == NULL && new_len > 0) || level < 0 || level > ZSTD_maxCLevel())
        return ANT_ERR_INVALID_ARG;
    *patch = NULL;
    *patch_len = 0;
    unsigned wlog = ant_patch_window_log(old_len, new_len);
    if (wlog == 0)
        return ANT_ERR_TOO_LARGE;
    cc = ZSTD_createCCtx();
    size_t bound = ZSTD_compressBound(new_len);
    if (cc == NULL || ZSTD_isError(bound) || (buf = malloc(bound)) == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    if (ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel,
                                            level == 0 ? ANT_PATCH_LEVEL_DEFAULT : level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, (int)wlog)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cc, new_len)) ||
        (old_len > 0 && ZSTD_isError(ZSTD_CCtx_refPrefix(cc, old, old_len))))
        goto out;
    size_t n = ZSTD_compress2(cc, buf, bound, new_bin, new_len);
    if (ZSTD_isError(n))
        goto out;
    *patch = buf;
    *patch_len = n;
    buf = NULL;
    err = ANT_OK;
out:
    free(buf);
    ZSTD_freeCCtx(cc);
    return err;
}

/* Where the patch bytes come from: memory, or a file read with pread from offset 0. */
struct source {
    const uint8_t *mem;
    int fd;
    uint64_t len;  /* bytes the patch has */
    uint64_t done; /* bytes handed to the decoder so far */
};

/* Next chunk into `buf`; *n 0 at the end. A file shorter than announced is TRUNCATED. */
static ant_err source_next(struct source *s, uint8_t *buf, const uint8_t **chunk, size_t *n)
{
    uint64_t left = s->len - s->done;
    size_t want = left < CHUNK ? (size_t)left : CHUNK;
    *n = 0;
    if (want == 0)
        return ANT_OK;
    if (s->mem != NULL) {
        *chunk = s->mem + s->done;
    } else {
        size_t got = 0;
        while (got < want) {
            ssize_t r = pread(s->fd, buf + got, want - got, (off_t)(s->done + got));
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return ANT_ERR_IO;
            if (r == 0)
                return ANT_ERR_TRUNCATED;
            got += (size_t)r;
        }
        *chunk = buf;
    }
    s->done += want;
    *n = want;
    return ANT_OK;
}

static ant_err zstd_error(size_t r)
{
    switch (ZSTD_getErrorCode(r)) {
    case ZSTD_error_memory_allocation: return ANT_ERR_NOMEM;
    case ZSTD_error_dstSize_tooSmall: return ANT_ERR_TOO_LARGE;
    default: return ANT_ERR_CORRUPT;
    }
}

static ant_err apply_source(const uint8_t *old, size_t old_len, struct source *src, uint8_t *out,
                            size_t new_len)
{
    ZSTD_DCtx *dc = NULL;
    uint8_t *buf = NULL;
    ant_err err = ANT_ERR_NOMEM;
    bool first = true, frame_done = false;

    unsigned wlog = ant_patch_window_log(old_len, new_len);
    if (wlog == 0)
        return ANT_ERR_TOO_LARGE;
    if (src->len == 0)
        return ANT_ERR_TRUNCATED;
    dc = ZSTD_createDCtx();
    if (dc == NULL || (src->mem == NULL && (buf = malloc(CHUNK)) == NULL))
        goto out;
    err = ANT_ERR_INTERNAL;
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, (int)wlog)) ||
        ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_stableOutBuffer, 1)) ||
        (old_len > 0 && ZSTD_isError(ZSTD_DCtx_refPrefix(dc, old, old_len))))
        goto out;
    ZSTD_outBuffer ob = {out, new_len, 0};
    while (!frame_done) {
        const uint8_t *chunk = NULL;
        size_t n = 0;
        err = source_next(src, buf, &chunk, &n);
        if (err != ANT_OK)
            goto out;
        if (n == 0) {
            err = ANT_ERR_TRUNCATED; /* the patch ended inside the frame */
            goto out;
        }
        if (first) {
            /* The content size is in the frame header (at most 18 bytes, well inside the
             * first chunk unless the whole patch is shorter): it must be the length the
             * caller expects, or the frame is not the binary we were promised. A skippable
             * frame reads as size 0 and stops here too. */
            unsigned long long cs = ZSTD_getFrameContentSize(chunk, n);
            if (cs == ZSTD_CONTENTSIZE_ERROR || cs == ZSTD_CONTENTSIZE_UNKNOWN) {
                err = ANT_ERR_CORRUPT;
                goto out;
            }
            if (cs != new_len) {
                err = cs > new_len ? ANT_ERR_TOO_LARGE : ANT_ERR_TRUNCATED;
                goto out;
            }
            first = false;
        }
        ZSTD_inBuffer ib = {chunk, n, 0};
        while (ib.pos < ib.size) {
            size_t in0 = ib.pos, out0 = ob.pos;
            size_t r = ZSTD_decompressStream(dc, &ob, &ib);
            if (ZSTD_isError(r)) {
                err = zstd_error(r);
                goto out;
            }
            if (r == 0) {
                frame_done = true;
                break;
            }
            if (ib.pos == in0 && ob.pos == out0) {
                /* No progress with input left: the output is full and the frame wants
                 * more room than the announced length. */
                err = ANT_ERR_TOO_LARGE;
                goto out;
            }
        }
        if (frame_done && (ib.pos < ib.size || src->done < src->len)) {
            err = ANT_ERR_CORRUPT; /* bytes after the frame: a second frame, or junk */
            goto out;
        }
    }
    err = ob.pos == new_len ? ANT_OK : ANT_ERR_TRUNCATED;
out:
    free(buf);
    ZSTD_freeDCtx(dc);
    return err;
}

ant_err ant_patch_apply(const uint8_t *old, size_t old_len, const uint8_t *patch,
                        size_t patch_len, uint8_t *out, size_t new_len)
{
    if ((old == NULL && old_len > 0) || patch == NULL || out == NULL || new_len == 0)
        return ANT_ERR_INVALID_ARG;
    struct source src = {patch, -1, patch_len, 0};
    return apply_source(old, old_len, &src, out, new_len);
}

/* Reads exactly `len` bytes from offset 0 of `fd`. */
static ant_err read_all(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ANT_ERR_IO;
        if (r == 0)
            return ANT_ERR_TRUNCATED;
        got += (size_t)r;
    }
    return ANT_OK;
}

ant_err ant_patch_apply_fd(int old_fd, uint64_t old_len, int patch_fd, uint64_t patch_len,
                           int out_fd, uint64_t new_len, uint64_t mem_cap)
{
    uint8_t *old = NULL, *out = NULL;
    ant_err err;

    if (old_fd < 0 || patch_fd < 0 || out_fd < 0 || new_len == 0)
        return ANT_ERR_INVALID_ARG;
    /* Safety: both buffers are sized from the caller's (signed) lengths and checked
     * against the cap before anything is allocated. */
    if (old_len > mem_cap || new_len > mem_cap - old_len || old_len > SIZE_MAX ||
        new_len > SIZE_MAX)
        return ANT_ERR_TOO_LARGE;
    old = malloc(old_len > 0 ? (size_t)old_len : 1);
    out = malloc((size_t)new_len);
    if (old == NULL || out == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    err = read_all(old_fd, old, (size_t)old_len);
    if (err != ANT_OK)
        goto out;
    struct source src = {NULL, patch_fd, patch_len, 0};
    err = apply_source(old, (size_t)old_len, &src, out, (size_t)new_len);
    if (err == ANT_OK)
        err = ant_fsx_write_all(out_fd, out, (size_t)new_len);
out:
    free(out);
    free(old);
    return err;
}
