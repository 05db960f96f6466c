/*
 * Zeroing large heap blocks without writing to them.
 *
 * mimalloc 2.0.9 (Debian 12) zeroes every calloc block by writing to it, even when the
 * memory is fresh from the kernel and already zero. LMDB callocs a 2 MiB dirty-page list when
 * it opens an environment and touches only the entries a write transaction uses, so the
 * static node carried 2 MiB of resident zeros that glibc's and musl's calloc (which hand out
 * fresh mmap'd memory untouched) never make resident. ant_zero_pages() zeroes a block the way
 * the kernel does: whole pages inside the block are given back with MADV_DONTNEED and read as
 * zero on their next use; only the partial pages at either end are written.
 *
 * Valid only for private anonymous memory, which is what every malloc implementation hands out
 * (brk or MAP_PRIVATE|MAP_ANONYMOUS); on file-backed or shared memory MADV_DONTNEED would
 * bring back the file's bytes, not zeros. If the kernel refuses the advice (e.g. hugetlbfs
 * pages need huge-page alignment) the pages are written with memset instead, so the result is
 * always zero.
 *
 * Not part of libant: cmake/Allocator.cmake compiles src/alloc/ into the programs that link
 * mimalloc statically, and the unit test compiles it directly.
 */
#ifndef ANT_ZERO_PAGES_H
#define ANT_ZERO_PAGES_H

#include <stddef.h>

/* Blocks at least this large are zeroed by ant_calloc_untouched() without writing them. */
#define ANT_ZERO_PAGES_MIN ((size_t)1 << 20)

/* Sets len bytes at p to zero (p must be private anonymous memory, see above). */
void ant_zero_pages(void *p, size_t len);

/*
 * calloc for large blocks: malloc(count * size), then ant_zero_pages(). Smaller blocks, and
 * count * size overflowing (NULL, errno ENOMEM, as calloc), are the caller's to route; the
 * program-wide calloc wrapper (src/alloc/calloc_wrap.c) sends blocks of at least
 * ANT_ZERO_PAGES_MIN bytes here and the rest to the allocator's own calloc.
 */
void *ant_calloc_untouched(size_t count, size_t size);

#endif
