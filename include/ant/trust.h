/*
 * Trust anchors and streamed release verification (ARCHITECTURE.md §3).
 *
 * A key set holds the ML-DSA-65 public keys a release may be signed with: the project's
 * release key compiled in at build time (CMake option ANT_RELEASE_KEY_FILE), plus keys an
 * operator adds with `--trusted-keys-dir DIR`. Tests and the devnet add their keys the same
 * way; there is no other door. A release archive verifies if its detached signature is
 * valid under ANY key of the set with the context `ant-node-release-v2:<version>:<platform>`
 * for the version and platform the caller intends to install (ant/release_context.h), so an
 * old release or another platform's archive planted under a new name never verifies.
 *
 * Verification streams: one pass over the archive feeds mu (for every key), an optional
 * SHA-256 and an optional copy to another fd, with memory independent of the file size.
 */
#ifndef ANT_TRUST_H
#define ANT_TRUST_H

#include <stddef.h>
#include <stdint.h>

#include "ant/digest.h"
#include "ant/err.h"
#include "ant/mldsa65.h"

#define ANT_TRUST_MAX_KEYS 64
#define ANT_TRUST_KEY_SUFFIX ".pub"

struct ant_trust_keys;

/* The compiled-in release public key: ANT_MLDSA65_PUBLICKEYBYTES static bytes. */
const uint8_t *ant_trust_release_key(void);

/* A new key set holding the compiled-in release key. Free with ant_trust_keys_free.
 * Errors: ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG. */
ANT_MUST_CHECK ant_err ant_trust_keys_new(struct ant_trust_keys **out);

/* A new key set with no key at all, for programs that deliberately trust only the keys of
 * a directory (a private fleet that must not accept project releases; the benchmark). A set
 * that stays empty verifies nothing. */
ANT_MUST_CHECK ant_err ant_trust_keys_new_empty(struct ant_trust_keys **out);

/*
 * Adds every `*.pub` file of directory `dir` (raw ANT_MLDSA65_PUBLICKEYBYTES bytes each);
 * other names are ignored. The directory and each key file must be owned by root or the
 * effective uid, must not be group- or world-writable and must not be symlinks; a key file
 * must be a regular file of exactly the key size. Any violation fails the whole call (no key
 * of the directory is added) and writes a one-line explanation naming the offending path to
 * `why` (capacity `whycap`; may be NULL) and to the log.
 * Errors: ANT_ERR_UNSAFE_FILE (symlink, owner, mode, not a regular file or directory),
 * ANT_ERR_BAD_KEY (wrong size), ANT_ERR_NOT_FOUND (no such dir), ANT_ERR_TOO_LARGE (the set
 * would exceed ANT_TRUST_MAX_KEYS), ANT_ERR_IO, ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_trust_keys_add_dir(struct ant_trust_keys *keys, const char *dir,
                                              char *why, size_t whycap);

/* Number of distinct keys in the set (a key present twice counts once). */
size_t ant_trust_keys_count(const struct ant_trust_keys *keys);

void ant_trust_keys_free(struct ant_trust_keys *keys);

/*
 * Reads `in_fd` from its current offset to EOF (at most `cap` bytes) once, computing mu for
 * each trusted key with the release context of `version` and `platform`, and, when
 * requested, the SHA-256 of the bytes (`sha256`, may be NULL) and a copy to `out_fd` (-1
 * for none). Then checks `sig` against every key. Returns ANT_OK only if one key accepts.
 * The SHA-256 and the copy are done by a helper thread while this thread absorbs mu, so the
 * wall time is close to that of one SHAKE256 pass.
 * `*size` (may be NULL) receives the number of bytes read. `sha256` and `*size` are set on
 * ANT_OK, and also on ANT_ERR_BAD_SIGNATURE when `sha256` was requested and the stream was
 * read to its end (so a caller can tell corruption from forgery); on every other error
 * `sha256` is zeroed. Whatever was copied to out_fd must be discarded on any error.
 * Errors: ANT_ERR_BAD_SIGNATURE (no key accepts, or siglen != ANT_MLDSA65_SIGBYTES, checked
 * before reading), ANT_ERR_BAD_KEY (empty key set), ANT_ERR_TOO_LARGE (more than `cap`
 * bytes), ANT_ERR_BAD_VERSION / ANT_ERR_PLATFORM (from ant_release_context), ANT_ERR_IO,
 * ANT_ERR_NO_SPACE, ANT_ERR_NOMEM, ANT_ERR_CRYPTO.
 */
ANT_MUST_CHECK ant_err ant_trust_verify_stream(const struct ant_trust_keys *keys,
                                               const char *version, const char *platform,
                                               int in_fd, uint64_t cap, int out_fd,
                                               const uint8_t *sig, size_t siglen,
                                               uint8_t sha256[ANT_SHA256_BYTES],
                                               uint64_t *size);

#endif
