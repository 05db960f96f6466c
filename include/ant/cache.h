/*
 * The shared per-host archive cache (ARCHITECTURE.md §4).
 *
 * Every node run by one user on a host shares the cache, so its contents are treated as
 * attacker-writable: nothing read from it is trusted until it has been copied into the
 * caller's private staging directory and verified there. The layout is three files per
 * release, `ant-node-<version>-<platform>.archive`, `.sig` (raw 3309 B) and `.meta.json`
 * (version, platform, archive size, SHA-256), plus lock files owned by the engine.
 *
 * - The directory is opened once (created 0700) and refused unless owned by the effective
 *   uid or root with no group/other write; every operation is *at() on that fd with one
 *   validated name.
 * - A hit streams the cached archive into the staging dir, computing its SHA-256 (checked
 *   against the meta file, a corruption check) and mu in the same pass, and verifies the
 *   signature with the context of the requested version and platform.
 * - An entry is stored only after extraction and validation succeeded, and the store
 *   re-verifies while it copies: temp -> fsync -> rename for archive and sig, meta last,
 *   fsync dir. Only the newest ANT_CACHE_KEEP versions are kept.
 */
#ifndef ANT_CACHE_H
#define ANT_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"
#include "ant/release_context.h"
#include "ant/trust.h"

#define ANT_CACHE_ARCHIVE_CAP_DEFAULT ((uint64_t)200 << 20)
#define ANT_CACHE_META_CAP 4096
#define ANT_CACHE_KEEP 3
/* Name of the verified private copy a hit writes into the caller's staging dir. */
#define ANT_CACHE_STAGED_ARCHIVE "archive.tar.gz"

struct ant_cache;

/*
 * Writes the default cache directory into `buf`: $XDG_DATA_HOME/ant/upgrades when
 * XDG_DATA_HOME is an absolute path, else $HOME/.local/share/ant/upgrades (the passwd
 * entry's home when HOME is unset or relative).
 * Errors: ANT_ERR_NOT_FOUND (no home directory), ANT_ERR_INVALID_ARG (does not fit).
 */
ANT_MUST_CHECK ant_err ant_cache_default_dir(char *buf, size_t cap);

/*
 * Opens (creating 0700 with parents if missing) the cache directory `path`.
 * `archive_cap` is the largest archive accepted, 0 for ANT_CACHE_ARCHIVE_CAP_DEFAULT.
 * A directory that is a symlink, owned by another user or group/world-writable is refused
 * with a warning naming it: ANT_ERR_UNSAFE_FILE; the caller proceeds without a cache.
 * Errors: ANT_ERR_UNSAFE_FILE, ANT_ERR_IO, ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_cache_open(const char *path, uint64_t archive_cap,
                                      struct ant_cache **out);

/* Closes the directory fd and frees the cache. NULL is fine. */
void ant_cache_close(struct ant_cache *cache);

/* The open directory fd (for the engine's lock files); owned by the cache. */
int ant_cache_dirfd(const struct ant_cache *cache);

/* The path the cache was opened with; owned by the cache. */
const char *ant_cache_path(const struct ant_cache *cache);

/*
 * Creates a private 0700 staging directory `.staging-<random>` inside the cache directory
 * (mkdirat on the cache's fd, checked on its own fd) and returns its path and fd; remove it
 * with ant_cache_staging_remove. For callers without a staging area of their own (the
 * `ant-node cache` commands). Leftovers of crashed processes are pruned after a day.
 * Errors: ANT_ERR_RNG, ANT_ERR_IO, ANT_ERR_NO_SPACE, ANT_ERR_UNSAFE_FILE,
 * ANT_ERR_INVALID_ARG (path does not fit `pathcap`).
 */
ANT_MUST_CHECK ant_err ant_cache_staging_create(const struct ant_cache *cache, char *path,
                                                size_t pathcap, int *dirfd);

/*
 * Empties and removes a staging dir made by ant_cache_staging_create (`path` and `dirfd` as
 * it returned them; closes `dirfd`). The files go through `dirfd`, the directory by its
 * name on the cache's fd, so a cache path swapped after ant_cache_open is never followed
 * (ant_fsx_private_dir_remove with the path would rmdir whatever the path names now).
 */
void ant_cache_staging_remove(const struct ant_cache *cache, const char *path, int dirfd);

/*
 * Cache hit: copies the cached archive of `version`/`platform` into `staging_dirfd` as
 * ANT_CACHE_STAGED_ARCHIVE (0600, replacing a leftover; not fsynced, as it lives for one
 * attempt), verifying it on the way. ANT_OK means the private copy matches
 * the meta checksum and its signature verifies under `keys` with the context of exactly
 * this version and platform. On any error no staged file is left behind. The caller then
 * extracts from the private copy only.
 * Before any byte is copied, the archive, sig and meta are opened O_NOFOLLOW|O_NONBLOCK and
 * checked on their fds: regular files, archive <= the cache's cap, sig exactly 3309 bytes,
 * meta <= 4 KiB and consistent with the request and the archive size.
 * `*reason` (may be NULL) gets a static explanation of any error, NULL on success.
 * Errors: ANT_ERR_NOT_FOUND (miss: any of the three files absent), ANT_ERR_UNSAFE_FILE
 * (symlink, FIFO, device, ...), ANT_ERR_TOO_LARGE, ANT_ERR_BAD_SIGNATURE (wrong-size or
 * invalid signature), ANT_ERR_CORRUPT (checksum or size differs from the meta),
 * ANT_ERR_PARSE (meta is not our JSON), ANT_ERR_MISMATCH (meta names another
 * version/platform), ANT_ERR_BAD_VERSION, ANT_ERR_PLATFORM, ANT_ERR_IO, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_cache_get(struct ant_cache *cache, const struct ant_trust_keys *keys,
                                     const char *version, const char *platform,
                                     int staging_dirfd, const char **reason);

/*
 * As ant_cache_get, but the verified private copy is an unnamed file in `staging_dirfd`
 * (ant_fsx_anon_open) returned as *archive_fd, read-only at offset 0 (the caller closes
 * it; -1 on error). No process that can write the staging dir can reach those bytes, so
 * what is extracted is exactly what was verified. Errors: those of ant_cache_get.
 */
ANT_MUST_CHECK ant_err ant_cache_get_fd(struct ant_cache *cache, const struct ant_trust_keys *keys,
                                        const char *version, const char *platform,
                                        int staging_dirfd, int *archive_fd, const char **reason);

/*
 * Stores a release in the cache. Call only after the archive was extracted and the binary
 * validated (ARCHITECTURE.md §4: no poison pill). `archive_fd` is the caller's private copy (read
 * from offset 0; not closed), `sig` the detached signature. The archive is re-verified while
 * it is copied into the cache (an unsigned or wrongly signed archive is never stored); then
 * archive and sig are renamed into place, the meta file last, and the directory is fsynced.
 * Afterwards versions beyond the newest ANT_CACHE_KEEP are pruned.
 * Errors: ANT_ERR_TOO_LARGE (archive over the cap), ANT_ERR_BAD_SIGNATURE, ANT_ERR_BAD_KEY,
 * ANT_ERR_UNSAFE_FILE (archive_fd is not a regular file), ANT_ERR_BAD_VERSION,
 * ANT_ERR_PLATFORM, ANT_ERR_IO, ANT_ERR_NO_SPACE, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_cache_store(struct ant_cache *cache, const struct ant_trust_keys *keys,
                                       const char *version, const char *platform,
                                       int archive_fd, const uint8_t *sig, size_t siglen,
                                       const char **reason);

/*
 * The whole store path for an archive from elsewhere (`ant-node cache add`): copies
 * `archive_fd` into an unnamed file in a fresh staging dir while verifying it, extracts
 * `ant-node` from that copy into another unnamed file, validates that file (ELF for this
 * host, `--version` of the very file reports `version`), and only then calls
 * ant_cache_store. The staging dir is removed on every path.
 * Errors: those of ant_trust_verify_stream, ant_extract_binary, ant_validate_binary and
 * ant_cache_store; `*reason` names the failing step.
 */
ANT_MUST_CHECK ant_err ant_cache_add(struct ant_cache *cache, const struct ant_trust_keys *keys,
                                     const char *version, const char *platform, int archive_fd,
                                     const uint8_t *sig, size_t siglen, const char **reason);

/*
 * Binary entries (issue 19). A node that rebuilt a release binary from a patch has no
 * archive and no release signature to store, so the cache keeps the binary itself:
 * `ant-node-<version>-<platform>.binary` and `.binary.json` (version, platform,
 * binary_size, sha256), written meta last. The meta is a corruption check only: a hit is
 * accepted when the private copy's length and SHA-256 equal what the caller's own
 * verified targets lists for that binary, the same check an extracted binary passes. They
 * also serve as the old binary a later patch starts from. Pruned with their version.
 */
#define ANT_CACHE_BINARY_CAP ((uint64_t)256 << 20) /* the extraction cap of one binary */

/*
 * Copies the cached binary of `version`/`platform` into an unnamed 0700 file in
 * `staging_dirfd`, returned read-only at offset 0 in *binary_fd (-1 on error), if and only
 * if its SHA-256 is `want_sha256` and (unless `want_len` is 0) its length `want_len`.
 * Errors: ANT_ERR_NOT_FOUND (no such entry), ANT_ERR_MISMATCH (the entry names another
 * digest: another build under that version), ANT_ERR_CORRUPT (the copy does not match),
 * ANT_ERR_UNSAFE_FILE, ANT_ERR_TOO_LARGE, ANT_ERR_PARSE, ANT_ERR_BAD_VERSION,
 * ANT_ERR_PLATFORM, ANT_ERR_IO, ANT_ERR_NO_SPACE, ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_cache_get_binary_fd(struct ant_cache *cache, const char *version,
                                               const char *platform, uint64_t want_len,
                                               const uint8_t want_sha256[32], int staging_dirfd,
                                               int *binary_fd, const char **reason);

/*
 * Stores a validated binary (read from offset 0 of `binary_fd`, which must hold exactly
 * `len` bytes hashing to `sha256`, re-checked while copied), then prunes. Call only after
 * the binary matched signed metadata and passed validation.
 * Errors: ANT_ERR_MISMATCH, ANT_ERR_TOO_LARGE, ANT_ERR_BAD_VERSION, ANT_ERR_PLATFORM,
 * ANT_ERR_IO, ANT_ERR_NO_SPACE, ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_cache_store_binary(struct ant_cache *cache, const char *version,
                                              const char *platform, int binary_fd, uint64_t len,
                                              const uint8_t sha256[32], const char **reason);

struct ant_cache_entry {
    char version[ANT_RELEASE_VERSION_MAX + 1];
    char platform[16];
    uint64_t archive_size; /* size of the archive file now (lstat), not verified */
};

/*
 * Lists the releases present in the cache (any of the three files), newest version first,
 * by file name only: listing verifies nothing (use ant_cache_get for that). Names that do
 * not parse as ant-node-<semver>-<platform>.* are skipped. *entries is malloc'd (free it);
 * ANT_OK with *count 0 for an empty cache.
 * Errors: ANT_ERR_IO, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_cache_list(struct ant_cache *cache, struct ant_cache_entry **entries,
                                      size_t *count);

/*
 * Deletes every file of releases older than the newest `keep` versions (by semver order,
 * platforms together), meta first so a concurrent reader sees a miss, plus leftovers of
 * crashed writers (`.tmp-*` files and `.staging-*` dirs older than a day) and cache files
 * whose version does not parse. Errors: ANT_ERR_IO, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_cache_prune(struct ant_cache *cache, size_t keep);

#endif
