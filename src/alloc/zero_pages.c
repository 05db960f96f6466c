/*
 * ant_zero_pages and ant_calloc_untouched: see include/ant/zero_pages.h for why.
 */
#include "ant/zero_pages.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Under valgrind, memory that MADV_DONTNEED turned into zero pages is still "uninitialised"
 * in memcheck's books; tell it what the kernel guarantees. Without valgrind's header (the
 * static musl build) or outside valgrind this is nothing. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define MARK_DEFINED(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#endif
#endif
#ifndef MARK_DEFINED
#define MARK_DEFINED(p, n) ((void)(p), (void)(n))
#endif

void ant_zero_pages(void *p, size_t len)
{
    if (p == NULL || len == 0)
        return;
    long page_l = sysconf(_SC_PAGESIZE);
    size_t page = page_l > 0 ? (size_t)page_l : 4096;
    unsigned char *bytes = p;
    /* head: bytes before the first whole page inside the block; whole: bytes in whole pages. */
    size_t misalign = (size_t)((uintptr_t)p % page);
    size_t head = misalign == 0 ? 0 : page - misalign;
    if (head >= len || len - head < page) { /* no whole page inside: plain writes */
        memset(bytes, 0, len);
        return;
    }
    size_t whole = (len - head) / page * page;
    memset(bytes, 0, head);
    memset(bytes + head + whole, 0, len - head - whole);
    if (madvise(bytes + head, whole, MADV_DONTNEED) != 0)
        memset(bytes + head, 0, whole);
    else
        MARK_DEFINED(bytes + head, whole);
}

void *ant_calloc_untouched(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(total);
    if (p != NULL)
        ant_zero_pages(p, total);
    return p;
}
