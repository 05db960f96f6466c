/*
 * Node identity: the ML-DSA-65 key pair that names a node, kept in
 * <root>/node_identity.key, and the peer id derived from it (hex SHA-256 of the public key).
 *
 * The key file is fixed-size binary (ANT_NODE_IDENTITY_FILE_BYTES):
 *   offset 0     8 bytes  magic "ANTNID\0" followed by format version 0x01
 *   offset 8  1952 bytes  ML-DSA-65 public key
 *   offset 1960 4032 bytes ML-DSA-65 secret key
 *   offset 5992  32 bytes  SHA-256 of bytes 0..5991 (detects truncation and bit rot)
 * It is created once (temp file O_CREAT|O_EXCL|O_NOFOLLOW 0600, fsync, link(2) to the final
 * name, which never overwrites) and then only read. Loading refuses a file that is not a
 * regular file, is a symlink, is not owned by the effective uid, or has any group/other
 * permission bit, and one whose checksum, size or key pair does not match.
 */
#ifndef ANT_NODE_IDENTITY_H
#define ANT_NODE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "ant/digest.h"
#include "ant/err.h"
#include "ant/mldsa65.h"

#define ANT_NODE_IDENTITY_FILE "node_identity.key"
#define ANT_NODE_IDENTITY_MAGIC_BYTES 8
#define ANT_NODE_IDENTITY_FILE_BYTES                                                      \
    (ANT_NODE_IDENTITY_MAGIC_BYTES + ANT_MLDSA65_PUBLICKEYBYTES +                         \
     ANT_MLDSA65_SECRETKEYBYTES + ANT_SHA256_BYTES)
#define ANT_NODE_PEER_ID_BYTES ANT_SHA256_BYTES
#define ANT_NODE_PEER_ID_HEXBYTES ANT_SHA256_HEXBYTES /* 64 hex digits + NUL */

struct ant_node_identity;

/*
 * Loads the identity from `root_dirfd`, creating a fresh key pair first if the file does
 * not exist. *created (may be NULL) tells which happened. The caller frees *out with
 * ant_node_identity_free.
 * Errors: ANT_ERR_UNSAFE_FILE (symlink, not a regular file, wrong owner, group/world
 * permissions), ANT_ERR_CORRUPT (bad magic, version, checksum or key pair),
 * ANT_ERR_TRUNCATED (wrong size), ANT_ERR_RNG, ANT_ERR_IO, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_node_identity_load_or_create(int root_dirfd,
                                                        struct ant_node_identity **out,
                                                        int *created);

/* As above but never creates: ANT_ERR_NOT_FOUND when the file is absent. */
ANT_MUST_CHECK ant_err ant_node_identity_load(int root_dirfd, struct ant_node_identity **out);

/* Wipes the secret key and frees. NULL is a no-op. */
void ant_node_identity_free(struct ant_node_identity *id);

/* The 1952-byte public key (owned by `id`, valid until it is freed). */
const uint8_t *ant_node_identity_public_key(const struct ant_node_identity *id);

/* The binary peer id (32 bytes, owned by `id`). */
const uint8_t *ant_node_identity_peer_id(const struct ant_node_identity *id);

/* The peer id as 64 lower-case hex digits (NUL-terminated, owned by `id`). */
const char *ant_node_identity_peer_id_hex(const struct ant_node_identity *id);

/* Signs `msg` with the node key (hedged ML-DSA-65, context `ctx`). */
ANT_MUST_CHECK ant_err ant_node_identity_sign(const struct ant_node_identity *id,
                                              uint8_t sig[ANT_MLDSA65_SIGBYTES],
                                              const uint8_t *msg, size_t msglen,
                                              const uint8_t *ctx, size_t ctxlen);

#endif
