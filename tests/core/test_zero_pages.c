/* Tests of ant_zero_pages / ant_calloc_untouched (include/ant/zero_pages.h). */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ant/zero_pages.h"
#include "test.h"

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Number of resident pages among the whole pages inside [p, p + len). */
static size_t resident_pages_inside(const unsigned char *p, size_t len)
{
    size_t page = page_size();
    size_t misalign = (size_t)((uintptr_t)p % page);
    size_t head = misalign == 0 ? 0 : page - misalign;
    if (head >= len || len - head < page)
        return 0;
    size_t n = (len - head) / page;
    unsigned char *vec = malloc(n);
    CHECK(vec != NULL);
    if (vec == NULL)
        return 0;
    CHECK_INT(mincore((void *)(p + head), n * page, vec), 0);
    size_t resident = 0;
    for (size_t i = 0; i < n; i++)
        resident += vec[i] & 1;
    free(vec);
    return resident;
}

static void test_zeroes_exactly_the_range_and_releases_whole_pages(void)
{
    const size_t len = (size_t)8 << 20;
    unsigned char *block = malloc(len);
    CHECK(block != NULL);
    if (block == NULL)
        return;
    memset(block, 0xA5, len);
    CHECK(resident_pages_inside(block, len) > 0);

    /* Unaligned at both ends: partial pages are written, whole pages handed back. */
    const size_t head = 100, tail = 300;
    unsigned char *p = block + head;
    size_t n = len - head - tail;
    ant_zero_pages(p, n);
    CHECK_INT(resident_pages_inside(p, n), 0);

    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++)
        nonzero += p[i] != 0;
    CHECK_INT(nonzero, 0);
    for (size_t i = 0; i < head; i++)
        CHECK_MSG(block[i] == 0xA5, "byte %zu before the range changed", i);
    for (size_t i = len - tail; i < len; i++)
        CHECK_MSG(block[i] == 0xA5, "byte %zu after the range changed", i);
    free(block);
}

static void test_small_ranges_are_written(void)
{
    unsigned char buf[64];
    memset(buf, 0x5A, sizeof buf);
    ant_zero_pages(buf + 1, 10); /* inside one page */
    CHECK(buf[0] == 0x5A && buf[11] == 0x5A);
    for (size_t i = 1; i <= 10; i++)
        CHECK(buf[i] == 0);
    ant_zero_pages(buf, 0);
    ant_zero_pages(NULL, 10);
    CHECK(buf[0] == 0x5A);
}

static void test_calloc_untouched_returns_zeroes_over_reused_memory(void)
{
    const size_t count = 3 * 1024 + 7, size = 1031; /* ≈ 3 MiB, not a page multiple */
    for (int round = 0; round < 4; round++) {
        unsigned char *dirty = malloc(count * size);
        CHECK(dirty != NULL);
        if (dirty == NULL)
            return;
        memset(dirty, 0xFF, count * size);
        free(dirty); /* likely handed out again below */
        unsigned char *p = ant_calloc_untouched(count, size);
        CHECK(p != NULL);
        if (p == NULL)
            return;
        size_t nonzero = 0;
        for (size_t i = 0; i < count * size; i++)
            nonzero += p[i] != 0;
        CHECK_INT(nonzero, 0);
        free(p);
    }
}

static void test_calloc_untouched_refuses_an_overflowing_size(void)
{
    errno = 0;
    CHECK(ant_calloc_untouched(SIZE_MAX / 2, 3) == NULL);
    CHECK_INT(errno, ENOMEM);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_zeroes_exactly_the_range_and_releases_whole_pages),
    ANT_TEST(test_small_ranges_are_written),
    ANT_TEST(test_calloc_untouched_returns_zeroes_over_reused_memory),
    ANT_TEST(test_calloc_untouched_refuses_an_overflowing_size),
};
ANT_TEST_MAIN(cases)
