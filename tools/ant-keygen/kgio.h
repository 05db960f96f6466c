/*
 * File handling of ant-keygen: exact-size key and signature reads that refuse symlinks and
 * special files, creation of new key files that never replace an existing one, atomic
 * signature writes, and the fixed-buffer streaming of an input file through the ML-DSA
 * signer and verifier (memory does not grow with the file). Every function prints its own
 * message to stderr on failure, naming the path, so main() only maps errors to exit codes.
 */
#ifndef ANT_KEYGEN_KGIO_H
#define ANT_KEYGEN_KGIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ant/err.h"

/* Bytes read per read(2) while streaming an input file. */
#define KG_CHUNK (1024u * 1024u)
/* Files above this size get a progress line when stderr is a terminal. */
#define KG_PROGRESS_MIN (64ull * 1024u * 1024u)

/*
 * Reads the file at `path` into `buf`, which must end up holding exactly `size` bytes.
 * The open refuses a symlink (O_NOFOLLOW) and never blocks on a FIFO (O_NONBLOCK); the open
 * fd must be a regular file of exactly `size` bytes, and nothing is read from a file of any
 * other size. `what` names the file in messages ("public key"). `*found_size` (may be NULL)
 * receives the size seen by fstat, or 0 if the file could not be checked.
 * If `quiet_size` is non-zero a wrong size returns its error without printing (the caller
 * words the verdict itself).
 * Errors: ANT_ERR_TRUNCATED (smaller than `size`, or shrank while read), ANT_ERR_TOO_LARGE
 * (larger, or grew while read), ANT_ERR_UNSAFE_FILE, ANT_ERR_NOT_FOUND, ANT_ERR_IO.
 * On error `buf` is zeroed.
 */
ant_err kg_read_exact(const char *path, const char *what, uint8_t *buf, size_t size,
                      uint64_t *found_size, int quiet_size);

/* Opens a new file `name` in `dirfd` with O_CREAT|O_EXCL|O_NOFOLLOW and sets exactly `mode`.
 * An existing entry (file, symlink, anything) is ANT_ERR_EXISTS: a key is never replaced.
 * `shown` is the path used in messages. */
ant_err kg_create_new(int dirfd, const char *name, const char *shown, mode_t mode, int *fd);

/* Writes all `len` bytes to `fd` and fsyncs it. */
ant_err kg_write_all_sync(int fd, const uint8_t *data, size_t len, const char *shown);

/* Replaces `path` atomically with `data`: a fresh temp file beside it (O_EXCL|O_NOFOLLOW),
 * mode `mode`, fsync, rename over `path`, fsync the directory. On error `path` is untouched
 * and the temp file is removed. */
ant_err kg_write_atomic(const char *path, const uint8_t *data, size_t len, mode_t mode);

/* Receives each chunk of a streamed file. */
typedef ant_err (*kg_sink)(void *arg, const uint8_t *data, size_t len);

/*
 * Opens `path` (a regular file; a FIFO or device is refused without blocking) and feeds it
 * to `sink` in chunks of at most KG_CHUNK bytes from one fixed buffer. `verb` ("signing")
 * labels the progress line, shown only when stderr is a terminal and the file is larger
 * than KG_PROGRESS_MIN. A file whose size or modification time changes while it is read is
 * ANT_ERR_CORRUPT: the result would not describe any one version of it.
 * Errors: those of the sink, ANT_ERR_UNSAFE_FILE, ANT_ERR_NOT_FOUND, ANT_ERR_IO,
 * ANT_ERR_NOMEM, ANT_ERR_CORRUPT. `*total` (may be NULL) receives the bytes streamed.
 */
ant_err kg_stream_file(const char *path, const char *verb, kg_sink sink, void *arg,
                       uint64_t *total);

#endif
