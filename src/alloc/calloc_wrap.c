/*
 * The program-wide calloc of static builds that link mimalloc (cmake/Allocator.cmake links
 * this file and passes -Wl,--wrap=calloc): every call to calloc in the program — ours, LMDB's,
 * libcurl's, OpenSSL's, libc's — arrives here. Blocks of ANT_ZERO_PAGES_MIN bytes or more are
 * zeroed without being written (include/ant/zero_pages.h says why); everything else goes to
 * mimalloc's calloc unchanged.
 *
 * Not part of libant: without --wrap, __real_calloc does not exist.
 */
#include <errno.h>
#include <stddef.h>

#include "ant/zero_pages.h"

void *__real_calloc(size_t count, size_t size);
void *__wrap_calloc(size_t count, size_t size);

void *__wrap_calloc(size_t count, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (total < ANT_ZERO_PAGES_MIN)
        return __real_calloc(count, size);
    return ant_calloc_untouched(count, size);
}
