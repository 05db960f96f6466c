/*
 * ML-DSA-65 (FIPS 204, security category 3): key generation, signing and verification.
 *
 * Our own implementation: Debian 12 ships no C library for ML-DSA. The core keeps its own
 * Keccak (FIPS 202) because it needs incremental squeezing; bulk hashing of a streamed
 * message goes through OpenSSL's SHAKE256 (see ant/digest.h).
 *
 * Conventions (all functions):
 * - The caller owns every buffer; sizes are the macros below, and variable-length inputs
 *   carry an explicit size_t length.
 * - Verification returns ANT_OK only on full acceptance; any malformed or wrong signature
 *   is ANT_ERR_BAD_SIGNATURE, a public key of the wrong length ANT_ERR_BAD_KEY.
 * - On any error, outputs (keys, signatures, mu) are zeroed; secrets are wiped on every path.
 * - Key generation and signing have no branch or memory index that depends on secret data
 *   (checked under valgrind by tests/crypto).
 */
#ifndef ANT_MLDSA65_H
#define ANT_MLDSA65_H

#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_MLDSA65_PUBLICKEYBYTES 1952
#define ANT_MLDSA65_SECRETKEYBYTES 4032
#define ANT_MLDSA65_SIGBYTES 3309
#define ANT_MLDSA65_SEEDBYTES 32
#define ANT_MLDSA65_RNDBYTES 32
#define ANT_MLDSA65_TRBYTES 64
#define ANT_MLDSA65_MUBYTES 64
#define ANT_MLDSA65_CTX_MAX 255

/* --- key generation --------------------------------------------------------------- */

/* ML-DSA.KeyGen_internal (FIPS 204, Algorithm 6) from a 32-byte seed ξ. */
ANT_MUST_CHECK ant_err ant_mldsa65_keypair_from_seed(uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES],
                                                     uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES],
                                                     const uint8_t seed[ANT_MLDSA65_SEEDBYTES]);

/* ML-DSA.KeyGen (Algorithm 1): seed from getrandom(2). ANT_ERR_RNG if the RNG fails. */
ANT_MUST_CHECK ant_err ant_mldsa65_keypair(uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES],
                                           uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES]);

/* --- signing ---------------------------------------------------------------------- */

/*
 * ML-DSA.Sign (Algorithm 2), pure, hedged: rnd is 32 fresh bytes from getrandom(2).
 * ctx may be NULL when ctxlen is 0; ctxlen > 255 is ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_mldsa65_sign(uint8_t sig[ANT_MLDSA65_SIGBYTES], const uint8_t *msg,
                                        size_t msglen, const uint8_t *ctx, size_t ctxlen,
                                        const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES]);

/* As ant_mldsa65_sign, deterministic variant: rnd = 32 zero bytes. */
ANT_MUST_CHECK ant_err ant_mldsa65_sign_deterministic(uint8_t sig[ANT_MLDSA65_SIGBYTES],
                                                      const uint8_t *msg, size_t msglen,
                                                      const uint8_t *ctx, size_t ctxlen,
                                                      const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES]);

/* ML-DSA.Sign_internal (Algorithm 7) over M' as given, with explicit rnd. For tests. */
ANT_MUST_CHECK ant_err ant_mldsa65_sign_internal(uint8_t sig[ANT_MLDSA65_SIGBYTES],
                                                 const uint8_t *mprime, size_t mprimelen,
                                                 const uint8_t rnd[ANT_MLDSA65_RNDBYTES],
                                                 const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES]);

/* Signing given mu = SHAKE256(tr || M', 64) directly (external mu), with explicit rnd. */
ANT_MUST_CHECK ant_err ant_mldsa65_sign_mu(uint8_t sig[ANT_MLDSA65_SIGBYTES],
                                           const uint8_t mu[ANT_MLDSA65_MUBYTES],
                                           const uint8_t rnd[ANT_MLDSA65_RNDBYTES],
                                           const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES]);

/* --- verification ----------------------------------------------------------------- */

/* ML-DSA.Verify (Algorithm 3), pure, with context. siglen must be exactly SIGBYTES. */
ANT_MUST_CHECK ant_err ant_mldsa65_verify(const uint8_t *sig, size_t siglen, const uint8_t *msg,
                                          size_t msglen, const uint8_t *ctx, size_t ctxlen,
                                          const uint8_t *pk, size_t pklen);

/* ML-DSA.Verify_internal (Algorithm 8) over M' as given. */
ANT_MUST_CHECK ant_err ant_mldsa65_verify_internal(const uint8_t *sig, size_t siglen,
                                                   const uint8_t *mprime, size_t mprimelen,
                                                   const uint8_t *pk, size_t pklen);

/* Verification given mu directly (external mu, FIPS 204 §6.3). */
ANT_MUST_CHECK ant_err ant_mldsa65_verify_mu(const uint8_t *sig, size_t siglen,
                                             const uint8_t mu[ANT_MLDSA65_MUBYTES],
                                             const uint8_t *pk, size_t pklen);

/* --- helpers ---------------------------------------------------------------------- */

/* tr = SHAKE256(pk, 64), the public-key hash that prefixes mu. */
ANT_MUST_CHECK ant_err ant_mldsa65_pk_hash(uint8_t tr[ANT_MLDSA65_TRBYTES], const uint8_t *pk,
                                           size_t pklen);

/* Recomputes the public key from a secret key (for ant-keygen verify-key). Checks the
 * secret key is well formed (coefficients in range); ANT_ERR_BAD_KEY otherwise. */
ANT_MUST_CHECK ant_err ant_mldsa65_pk_from_sk(uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES],
                                              const uint8_t *sk, size_t sklen);

/* --- streaming (constant memory for any message length) ---------------------------- */

/*
 * A stream computes mu = SHAKE256(tr || 0x00 || ctxlen || ctx || M, 64) while M arrives in
 * pieces, then signs or verifies on mu. For any chunking the result equals the one-shot
 * ant_mldsa65_sign / ant_mldsa65_verify. Memory use does not depend on the message length.
 */
struct ant_mldsa65_verifier;
struct ant_mldsa65_signer;

/* Allocates a verifier for public key `pk` and context `ctx` (0-255 bytes). */
ANT_MUST_CHECK ant_err ant_mldsa65_verifier_new(struct ant_mldsa65_verifier **out,
                                                const uint8_t *pk, size_t pklen,
                                                const uint8_t *ctx, size_t ctxlen);
ANT_MUST_CHECK ant_err ant_mldsa65_verifier_update(struct ant_mldsa65_verifier *v,
                                                   const uint8_t *data, size_t len);
/* Finishes mu and verifies. The verifier may not be updated afterwards. */
ANT_MUST_CHECK ant_err ant_mldsa65_verifier_final(struct ant_mldsa65_verifier *v,
                                                  const uint8_t *sig, size_t siglen);
/* Writes the 64-byte mu instead of verifying (for callers that verify later). */
ANT_MUST_CHECK ant_err ant_mldsa65_verifier_final_mu(struct ant_mldsa65_verifier *v,
                                                     uint8_t mu[ANT_MLDSA65_MUBYTES]);
void ant_mldsa65_verifier_free(struct ant_mldsa65_verifier *v);

/* A signer keeps a copy of sk (wiped by _free). deterministic != 0 uses rnd = 0^32. */
ANT_MUST_CHECK ant_err ant_mldsa65_signer_new(struct ant_mldsa65_signer **out,
                                              const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES],
                                              const uint8_t *ctx, size_t ctxlen,
                                              int deterministic);
ANT_MUST_CHECK ant_err ant_mldsa65_signer_update(struct ant_mldsa65_signer *s,
                                                 const uint8_t *data, size_t len);
ANT_MUST_CHECK ant_err ant_mldsa65_signer_final(struct ant_mldsa65_signer *s,
                                                uint8_t sig[ANT_MLDSA65_SIGBYTES]);
void ant_mldsa65_signer_free(struct ant_mldsa65_signer *s);

/* --- test hooks --------------------------------------------------------------------- */

/*
 * Replaces the OS RNG used by keypair() and hedged signing (NULL restores getrandom).
 * The hook fills `len` bytes and returns 0, or returns -1 to simulate an RNG failure.
 * For fault-injection tests only; not thread-safe.
 */
void ant_mldsa65_set_rng_for_testing(int (*rng)(uint8_t *buf, size_t len));

#endif
