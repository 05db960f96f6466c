/*
 * Extraction of the new binary from a verified release archive (ARCHITECTURE.md §5 step 6).
 *
 * libarchive only reads and decompresses; we decide what is written, and the only thing we
 * ever write is one regular file, `ant-node`, mode 0755, into the caller's private staging
 * directory. The archive must be a gzip-compressed tar with exactly one regular-file member
 * named `ant-node` (or `./ant-node`) at its root; other regular files and directories are
 * read past (and counted) but never written. Every limit is enforced on the bytes as they
 * stream out of the decompressor, never trusted from a header.
 */
#ifndef ANT_EXTRACT_H
#define ANT_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_EXTRACT_MEMBER_NAME "ant-node"
#define ANT_EXTRACT_MEMBER_CAP_DEFAULT ((uint64_t)256 << 20) /* the binary: 256 MiB */
#define ANT_EXTRACT_TOTAL_CAP_DEFAULT ((uint64_t)512 << 20)  /* all data decompressed */
#define ANT_EXTRACT_MAX_ENTRIES_DEFAULT 1000

struct ant_extract_limits {
    uint64_t member_cap;  /* most bytes the ant-node member may have */
    uint64_t total_cap;   /* most decompressed data bytes of all members together */
    size_t max_entries;   /* most archive entries (of any type) */
};

/* Fills `limits` with the defaults above. */
void ant_extract_limits_default(struct ant_extract_limits *limits);

/*
 * Reads the gzip tar archive from `archive_fd` (from its current offset; the fd is not
 * closed) and writes its `ant-node` member as `ant-node` (0755) into `out_dirfd`, through a
 * temp file that is renamed into place only after the whole archive was read and found
 * well formed. `limits` may be NULL for the defaults.
 *
 * `*reason` (if `reason` is not NULL) is set to a static one-line explanation on every
 * rejection, and to NULL on success. Each rejection is also logged at WARN.
 *
 * Errors:
 *   ANT_ERR_BAD_ARCHIVE  not gzip, not a tar, an absolute or `..` member path, an
 *                        `ant-node` member that is a symlink, hardlink, device, FIFO or
 *                        directory, two `ant-node` members, no `ant-node` member
 *   ANT_ERR_TRUNCATED    the compressed stream or the tar ends early
 *   ANT_ERR_TOO_LARGE    the member over member_cap, all data over total_cap (a gzip
 *                        bomb), more than max_entries entries
 *   ANT_ERR_NOMEM, ANT_ERR_IO, ANT_ERR_NO_SPACE, ANT_ERR_INVALID_ARG
 * On any error nothing named `ant-node` is created in out_dirfd.
 */
ANT_MUST_CHECK ant_err ant_extract_binary(int archive_fd, int out_dirfd,
                                          const struct ant_extract_limits *limits,
                                          const char **reason);

/*
 * As ant_extract_binary, but writes the `ant-node` member into `out_fd`, which must be an
 * empty regular file open for writing (e.g. from ant_fsx_anon_open): the binary then never
 * has a name another process could swap. On any error `out_fd` is truncated to 0 bytes.
 * Errors: as above; ANT_ERR_INVALID_ARG also for an `out_fd` that is not an empty regular
 * file.
 */
ANT_MUST_CHECK ant_err ant_extract_binary_fd(int archive_fd, int out_fd,
                                             const struct ant_extract_limits *limits,
                                             const char **reason);

#endif
