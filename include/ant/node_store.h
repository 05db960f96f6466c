/*
 * The chunk store: an LMDB environment under <root>/chunks holding content-addressed
 * chunks. A chunk's address is the SHA-256 of its bytes, so a PUT whose address does not
 * match is refused and a GET can re-check what the disk returned. Chunks are at most
 * ANT_NODE_CHUNK_MAX bytes. The store is safe to use from many threads at once (LMDB
 * serialises writers and lets readers run in parallel).
 *
 * Durability: a PUT returns only after the LMDB transaction holding it has committed with
 * LMDB's default sync (data pages and meta page fsynced), so an acknowledged chunk survives
 * a crash or power loss, and a killed process never leaves a store that fails to reopen.
 * Concurrent PUTs share one transaction and one sync (group commit, see store.c).
 */
#ifndef ANT_NODE_STORE_H
#define ANT_NODE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/digest.h"
#include "ant/err.h"

#define ANT_NODE_CHUNK_MAX ((size_t)4 << 20) /* 4 MiB */
#define ANT_NODE_ADDR_BYTES ANT_SHA256_BYTES
#define ANT_NODE_STORE_DIR "chunks"

struct ant_node_store;

struct ant_node_store_options {
    uint64_t map_size;   /* LMDB map size in bytes: the store's capacity (rounded to pages) */
    bool verify_reads;   /* re-hash each chunk on GET and refuse a mismatch */
};

/*
 * Opens (creating if needed, 0700) the directory `root_path`/chunks and the LMDB
 * environment inside it. `root_dirfd` is the already-checked root directory (see
 * ant_fsx_open_trusted_dir): the chunks directory is created and checked through it, and
 * LMDB, which only takes paths, is then pointed at `root_path`/chunks.
 * A map_size below 1 MiB is ANT_ERR_INVALID_ARG.
 * Errors: ANT_ERR_UNSAFE_FILE (chunks is a symlink or not a directory), ANT_ERR_CORRUPT
 * (LMDB refuses the files), ANT_ERR_BUSY (lock table unusable), ANT_ERR_IO, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_node_store_open(const char *root_path, int root_dirfd,
                                           const struct ant_node_store_options *opts,
                                           struct ant_node_store **out);

/* Closes the environment (flushes nothing: every commit was already synced). NULL ok.
 * No other call on the store may be running. */
void ant_node_store_close(struct ant_node_store *s);

/*
 * Stores `len` bytes under `addr` after checking addr == SHA-256(data). Storing a chunk
 * that is already present succeeds without rewriting it. *created (may be NULL) is set to
 * whether it was new.
 * Errors: ANT_ERR_MISMATCH (wrong address), ANT_ERR_TOO_LARGE (len > ANT_NODE_CHUNK_MAX),
 * ANT_ERR_NO_SPACE (the LMDB map is full: raise map-size), ANT_ERR_IO, ANT_ERR_INTERNAL.
 */
ANT_MUST_CHECK ant_err ant_node_store_put(struct ant_node_store *s,
                                          const uint8_t addr[ANT_NODE_ADDR_BYTES],
                                          const void *data, size_t len, bool *created);

/*
 * Looks up `addr` and, if present, calls `sink(ctx, data, len)` with the chunk while a
 * read transaction pins it: `data` points into the memory map and is valid only during
 * the call (no copy is made). The sink's return value is passed back. With verify_reads,
 * the bytes are hashed first and a mismatch is ANT_ERR_CORRUPT (logged; sink not called).
 * Errors: ANT_ERR_NOT_FOUND, ANT_ERR_CORRUPT, ANT_ERR_IO, or the sink's error.
 */
typedef ant_err (*ant_node_store_sink)(void *ctx, const uint8_t *data, size_t len);
ANT_MUST_CHECK ant_err ant_node_store_get(struct ant_node_store *s,
                                          const uint8_t addr[ANT_NODE_ADDR_BYTES],
                                          ant_node_store_sink sink, void *ctx);

/* Copies the chunk at `addr` into a malloc'd buffer (*data, *len; caller frees).
 * Errors as ant_node_store_get, plus ANT_ERR_NOMEM. */
ANT_MUST_CHECK ant_err ant_node_store_get_copy(struct ant_node_store *s,
                                               const uint8_t addr[ANT_NODE_ADDR_BYTES],
                                               uint8_t **data, size_t *len);

/* *present = whether `addr` is stored (no hashing). Errors: ANT_ERR_IO. */
ANT_MUST_CHECK ant_err ant_node_store_has(struct ant_node_store *s,
                                          const uint8_t addr[ANT_NODE_ADDR_BYTES],
                                          bool *present);

/* Number of chunks and total payload bytes stored (kept in the same transactions as the
 * chunks, so they are exact). Errors: ANT_ERR_IO. */
ANT_MUST_CHECK ant_err ant_node_store_stats(struct ant_node_store *s, uint64_t *chunks,
                                            uint64_t *bytes);

/* Bytes of the LMDB map in use (pages up to the highest ever used, free pages inside it
 * included) and the map's size, for the store's capacity metrics. Errors: ANT_ERR_IO. */
ANT_MUST_CHECK ant_err ant_node_store_map_usage(struct ant_node_store *s, uint64_t *used,
                                                uint64_t *size);

/* Name of the LMDB sub-database holding chunks (address -> bytes) and the one holding the
 * totals; documented for operators and tests that inspect the files with LMDB tools. */
#define ANT_NODE_STORE_DB_CHUNKS "chunks"
#define ANT_NODE_STORE_DB_META "meta"

#endif
