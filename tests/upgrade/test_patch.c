/*
 * The patch format (src/upgrade/patch.c): round trips, and a hostile patch costing bounded
 * memory and output. Trust is not decided here (tests/engine/test_delta.c has the attacks on
 * the node's use of patches); what is checked is that applying refuses every patch that is
 * not exactly one frame producing exactly the announced length from the given old bytes.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader */
#include <zstd.h>

#include "ant/patch.h"
#include "test.h"

#define LEN 300000

/* Pseudo-random but compressible "binaries": old, and new = old with a few edits and an
 * insertion that shifts everything after it, as a code change does. */
static void make_pair(uint8_t *old, uint8_t *neu, size_t *new_len)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < LEN; i++) {
        x = x * 1103515245u + 12345u;
        old[i] = (uint8_t)((x >> 16) & 0x3f);
    }
    memcpy(neu, old, 1000);
    memcpy(neu + 1000, "inserted bytes", 14);
    memcpy(neu + 1014, old + 1000, LEN - 1000);
    for (size_t i = 5000; i < LEN + 14; i += 7919)
        neu[i] ^= 0x55;
    *new_len = LEN + 14;
}

struct pair {
    uint8_t old[LEN], neu[LEN + 14], out[LEN + 64];
    size_t nlen;
    uint8_t *patch;
    size_t plen;
};

static struct pair *pair_new(void)
{
    struct pair *p = calloc(1, sizeof *p);
    if (p == NULL)
        abort();
    make_pair(p->old, p->neu, &p->nlen);
    if (ant_patch_make(p->old, LEN, p->neu, p->nlen, 3, &p->patch, &p->plen) != ANT_OK)
        abort();
    return p;
}

static void pair_free(struct pair *p)
{
    free(p->patch);
    free(p);
}

static void test_round_trip_and_size(void)
{
    struct pair *p = pair_new();
    /* The patch must be far smaller than the new bytes (which compress to ~75 % alone). */
    CHECK_MSG(p->plen < p->nlen / 20, "patch %zu bytes for %zu", p->plen, p->nlen);
    CHECK_OK(ant_patch_apply(p->old, LEN, p->patch, p->plen, p->out, p->nlen));
    CHECK(memcmp(p->out, p->neu, p->nlen) == 0);
    /* The same through files. */
    char tmpl[] = "/tmp/test_patch-XXXXXX";
    int ofd = mkstemp(tmpl);
    unlink(tmpl);
    char tmpl2[] = "/tmp/test_patch-XXXXXX";
    int pfd = mkstemp(tmpl2);
    unlink(tmpl2);
    char tmpl3[] = "/tmp/test_patch-XXXXXX";
    int nfd = mkstemp(tmpl3);
    unlink(tmpl3);
    CHECK(ofd >= 0 && pfd >= 0 && nfd >= 0);
    CHECK(write(ofd, p->old, LEN) == LEN);
    CHECK(write(pfd, p->patch, p->plen) == (ssize_t)p->plen);
    CHECK_OK(ant_patch_apply_fd(ofd, LEN, pfd, p->plen, nfd, p->nlen, 2 * LEN + 100));
    memset(p->out, 0, sizeof p->out);
    CHECK(pread(nfd, p->out, sizeof p->out, 0) == (ssize_t)p->nlen);
    CHECK(memcmp(p->out, p->neu, p->nlen) == 0);
    /* Memory cap: old + new over it is refused before anything is read. */
    CHECK_ERR(ant_patch_apply_fd(ofd, LEN, pfd, p->plen, nfd, p->nlen, 2 * LEN), ANT_ERR_TOO_LARGE);
    /* A patch file shorter than its announced length. */
    CHECK_ERR(ant_patch_apply_fd(ofd, LEN, pfd, p->plen + 10, nfd, p->nlen, 4 * LEN),
              ANT_ERR_TRUNCATED);
    close(ofd);
    close(pfd);
    close(nfd);
    pair_free(p);
}

/* The zstd CLI reads our patches (`zstd -d --patch-from`), so release tooling and
 * operators can check one by hand: the format is zstd's, not ours. Done in memory here
 * with the plain libzstd one-shot decoder and the prefix. */
static void test_is_plain_zstd_patch_from(void)
{
    struct pair *p = pair_new();
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    CHECK(dc != NULL);
    CHECK(!ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, 30)));
    CHECK(!ZSTD_isError(ZSTD_DCtx_refPrefix(dc, p->old, LEN)));
    size_t n = ZSTD_decompressDCtx(dc, p->out, sizeof p->out, p->patch, p->plen);
    CHECK(!ZSTD_isError(n) && n == p->nlen && memcmp(p->out, p->neu, n) == 0);
    ZSTD_freeDCtx(dc);
    pair_free(p);
}

static void test_hostile_patches(void)
{
    struct pair *p = pair_new();
    uint8_t *bad = malloc(p->plen + 64);
    CHECK(bad != NULL);

    /* Wrong old bytes: the content checksum (always on) catches it. */
    uint8_t *wrong_old = malloc(LEN);
    memcpy(wrong_old, p->old, LEN);
    wrong_old[2000] ^= 1;
    CHECK_ERR(ant_patch_apply(wrong_old, LEN, p->patch, p->plen, p->out, p->nlen), ANT_ERR_CORRUPT);
    free(wrong_old);

    /* Announced new length smaller or larger than the frame's content. */
    CHECK_ERR(ant_patch_apply(p->old, LEN, p->patch, p->plen, p->out, p->nlen - 1), ANT_ERR_TOO_LARGE);
    CHECK_ERR(ant_patch_apply(p->old, LEN, p->patch, p->plen, p->out, p->nlen + 1), ANT_ERR_TRUNCATED);

    /* Cut short, and a byte flipped in the middle. */
    CHECK_ERR(ant_patch_apply(p->old, LEN, p->patch, p->plen - 5, p->out, p->nlen), ANT_ERR_TRUNCATED);
    memcpy(bad, p->patch, p->plen);
    bad[p->plen / 2] ^= 0x40;
    CHECK(ant_patch_apply(p->old, LEN, bad, p->plen, p->out, p->nlen) != ANT_OK);

    /* Junk after the frame, and a second frame. */
    memcpy(bad, p->patch, p->plen);
    memset(bad + p->plen, 0, 8);
    CHECK_ERR(ant_patch_apply(p->old, LEN, bad, p->plen + 8, p->out, p->nlen), ANT_ERR_CORRUPT);

    /* Nothing, and a skippable frame (content size 0). */
    CHECK_ERR(ant_patch_apply(p->old, LEN, bad, 0, p->out, p->nlen), ANT_ERR_TRUNCATED);
    static const uint8_t skippable[] = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
    CHECK(ant_patch_apply(p->old, LEN, skippable, sizeof skippable, p->out, p->nlen) != ANT_OK);

    /* A frame without a content size (streamed by the CLI from a pipe) is refused. */
    {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        uint8_t *z = malloc(ZSTD_compressBound(p->nlen));
        ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
        ZSTD_CCtx_refPrefix(cc, p->old, LEN);
        ZSTD_outBuffer ob = {z, ZSTD_compressBound(p->nlen), 0};
        ZSTD_inBuffer ib = {p->neu, p->nlen, 0};
        size_t r = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
        CHECK(r == 0);
        CHECK_ERR(ant_patch_apply(p->old, LEN, z, ob.pos, p->out, p->nlen), ANT_ERR_CORRUPT);
        free(z);
        ZSTD_freeCCtx(cc);
    }

    /* A frame whose header asks for a 1 GiB window on a 600 KB pair (streamed, so zstd
     * keeps the window as asked and names no content size): refused. */
    {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        uint8_t *z = malloc(ZSTD_compressBound(p->nlen));
        ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, 30);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_enableLongDistanceMatching, 1);
        ZSTD_CCtx_refPrefix(cc, p->old, LEN);
        ZSTD_outBuffer ob = {z, ZSTD_compressBound(p->nlen), 0};
        ZSTD_inBuffer ib = {p->neu, 1000, 0};
        size_t r = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue);
        ib.size = p->nlen;
        r = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
        CHECK(r == 0);
        ZSTD_frameHeader fh;
        CHECK(ZSTD_getFrameHeader(&fh, z, ob.pos) == 0 && fh.windowSize == (1ull << 30));
        CHECK_ERR(ant_patch_apply(p->old, LEN, z, ob.pos, p->out, p->nlen), ANT_ERR_CORRUPT);
        free(z);
        ZSTD_freeCCtx(cc);
    }
    free(bad);
    pair_free(p);
}

static void test_window_log(void)
{
    CHECK_INT(ant_patch_window_log(0, 1), 10);
    CHECK_INT(ant_patch_window_log(4320552, 4320552), 24);
    CHECK_INT(ant_patch_window_log((uint64_t)1 << 29, (uint64_t)1 << 29), 30);
    CHECK_INT(ant_patch_window_log((uint64_t)1 << 29, ((uint64_t)1 << 29) + 1), 0);
    CHECK_INT(ant_patch_window_log(UINT64_MAX, 2), 0);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_round_trip_and_size),
    ANT_TEST(test_is_plain_zstd_patch_from),
    ANT_TEST(test_hostile_patches),
    ANT_TEST(test_window_log),
};
ANT_TEST_MAIN(cases)
