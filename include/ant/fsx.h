/*
 * Safe file primitives for directories other processes may write into (the shared
 * per-host cache, ARCHITECTURE.md §4) and for durable private state.
 *
 * Every function works relative to an open directory fd with one validated name component,
 * never a path that could be re-resolved through a swapped symlink. Reads open with
 * O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC and check the already-open fd (regular file, size cap), so
 * a FIFO, device, socket, symlink or oversize file is refused without blocking. Writes go to
 * a fresh temp name (O_CREAT|O_EXCL|O_NOFOLLOW), are fsynced, renamed into place, and the
 * directory is fsynced.
 */
#ifndef ANT_FSX_H
#define ANT_FSX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ant/err.h"

/* True if `name` is one safe path component: 1-255 bytes of [A-Za-z0-9._+-], not "." or
 * "..", not starting with '-'. Everything taking a `name` below checks this first and
 * returns ANT_ERR_INVALID_ARG otherwise. */
bool ant_fsx_name_ok(const char *name);

/*
 * Opens directory `path` (O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC) and checks it on the open fd:
 * owned by the effective uid or root, no group or other write bit. With `create`, a missing
 * directory (and missing parents) is created 0700 first.
 * Errors: ANT_ERR_UNSAFE_FILE (symlink, wrong owner or mode; logged with the path),
 * ANT_ERR_NOT_FOUND, ANT_ERR_IO.
 */
ANT_MUST_CHECK ant_err ant_fsx_open_trusted_dir(const char *path, bool create, int *dirfd);

/*
 * Opens `name` in `dirfd` for reading and checks the open fd: a regular file of at most
 * `cap` bytes. O_NONBLOCK is cleared after the check. On success *fd is the open file and
 * *size its size at open time; read at most that many bytes.
 * Errors: ANT_ERR_NOT_FOUND, ANT_ERR_UNSAFE_FILE (symlink, FIFO, device, socket, dir),
 * ANT_ERR_TOO_LARGE, ANT_ERR_IO.
 */
ANT_MUST_CHECK ant_err ant_fsx_open_capped(int dirfd, const char *name, uint64_t cap, int *fd,
                                           uint64_t *size);

/* Reads a whole file (checked as above) into a malloc'd buffer with a NUL after the
 * last byte (not counted in *len). The caller frees *data. A file that changes size while
 * read is ANT_ERR_CORRUPT. */
ANT_MUST_CHECK ant_err ant_fsx_read_capped(int dirfd, const char *name, size_t cap,
                                           uint8_t **data, size_t *len);

/* Writes `data` to `name` atomically: temp file (mode) -> fsync -> renameat -> fsync dir.
 * On any error the temp file is removed and `name` is left as it was. */
ANT_MUST_CHECK ant_err ant_fsx_write_atomic(int dirfd, const char *name, const void *data,
                                            size_t len, mode_t mode);

/*
 * Streaming atomic write, for files too big for memory:
 *   ant_fsx_tmp_open(dirfd, "target", 0600, &tmp) -> write to ant_fsx_tmp_fd(tmp) ->
 *   ant_fsx_tmp_commit(tmp, "target")  (fsync, renameat, fsync dir; frees tmp)
 * or ant_fsx_tmp_abort(tmp) (unlinks the temp file; frees tmp). Temp names are random,
 * created with O_CREAT|O_EXCL|O_NOFOLLOW, and start with ".tmp-".
 */
struct ant_fsx_tmp;
ANT_MUST_CHECK ant_err ant_fsx_tmp_open(int dirfd, const char *target_name, mode_t mode,
                                        struct ant_fsx_tmp **tmp);
int ant_fsx_tmp_fd(const struct ant_fsx_tmp *tmp);
ANT_MUST_CHECK ant_err ant_fsx_tmp_commit(struct ant_fsx_tmp *tmp, const char *name);
void ant_fsx_tmp_abort(struct ant_fsx_tmp *tmp);

/* fsync(2) on a directory fd, so a rename or unlink in it is durable. */
ANT_MUST_CHECK ant_err ant_fsx_fsync_dir(int dirfd);

/*
 * Takes an exclusive flock(2) on `name` in `dirfd` (created 0600 if missing, opened
 * O_NOFOLLOW), waiting at most `timeout_ms` (0 = try once). A holder that dies releases it.
 * On success *lockfd holds the lock until ant_fsx_unlock().
 * Errors: ANT_ERR_TIMEOUT, ANT_ERR_UNSAFE_FILE, ANT_ERR_IO.
 */
ANT_MUST_CHECK ant_err ant_fsx_lock(int dirfd, const char *name, unsigned timeout_ms,
                                    int *lockfd);
void ant_fsx_unlock(int lockfd);

/*
 * Creates a fresh private directory (0700, random name with `prefix`) under `parent_path`
 * (which must itself pass ant_fsx_open_trusted_dir; it is created 0700, with missing
 * parents, if it does not exist). Writes its path into `path` (cap `pathcap`) and its fd
 * into *dirfd. Errors: those of ant_fsx_open_trusted_dir, ANT_ERR_INVALID_ARG (bad prefix,
 * path does not fit), ANT_ERR_RNG, ANT_ERR_IO.
 */
ANT_MUST_CHECK ant_err ant_fsx_private_dir_create(const char *parent_path, const char *prefix,
                                                  char *path, size_t pathcap, int *dirfd);

/* Removes a private directory made by ant_fsx_private_dir_create and the regular files in
 * it (one level; it never follows symlinks). Closes dirfd. With `path` NULL the directory
 * is only emptied; the caller removes it (e.g. with unlinkat on its parent's fd). */
void ant_fsx_private_dir_remove(const char *path, int dirfd);

/*
 * Creates an unnamed regular file (O_TMPFILE|O_EXCL in `dirfd`, falling back to
 * memfd_create on a file system without O_TMPFILE), open read-write, mode `mode` (at most
 * 0700). It has no name in any directory and can never be given one, so no process that
 * can write `dirfd` can open, replace or swap it: it holds verified bytes between the check
 * and their use (ARCHITECTURE.md §4, docs/THREAT-MODEL.md §1.2). Not fsynced; it lives for
 * one operation. Errors: ANT_ERR_INVALID_ARG, ANT_ERR_NO_SPACE, ANT_ERR_IO.
 */
ANT_MUST_CHECK ant_err ant_fsx_anon_open(int dirfd, mode_t mode, int *fd);

/*
 * Replaces *fd by a read-only descriptor of the same file (through /proc/self/fd) and
 * closes the writable one: the kernel executes a file only while nothing has it open for
 * writing. Errors: ANT_ERR_INVALID_ARG, ANT_ERR_IO (*fd is then unchanged).
 */
ANT_MUST_CHECK ant_err ant_fsx_reopen_rdonly(int *fd);

/* Copies at most `cap` bytes from in_fd to out_fd; ANT_ERR_TOO_LARGE if more remain. */
ANT_MUST_CHECK ant_err ant_fsx_copy_fd(int in_fd, int out_fd, uint64_t cap, uint64_t *copied);

/* Writes all len bytes to fd, retrying short writes and EINTR. ANT_ERR_NO_SPACE on ENOSPC or
 * EDQUOT (a full disk is the operator's to fix, not a fault), ANT_ERR_IO otherwise. */
ANT_MUST_CHECK ant_err ant_fsx_write_all(int fd, const void *buf, size_t len);

#endif
