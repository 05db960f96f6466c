/*
 * ML-DSA-65 (FIPS 204): key generation (Alg. 1 and 6), signing (Alg. 2 and 7), verification
 * (Alg. 3 and 8), external mu, the streaming signer and verifier, and the RNG.
 *
 * Layout of the encodings (FIPS 204 Alg. 22-27):
 *   pk  = rho (32) || t1 (6 x 320)
 *   sk  = rho (32) || K (32) || tr (64) || s1 (5 x 128) || s2 (6 x 128) || t0 (6 x 416)
 *   sig = c~ (48) || z (5 x 640) || h (omega + k = 61)
 *
 * Secrets (the seed, rho', K, s1, s2, t0, y, rho'' and everything derived from them before
 * it becomes part of a signature) live in one workspace per call, wiped with explicit_bzero
 * before the call returns on every path.
 * Constant time: see mldsa65_poly.h; the few values FIPS 204 lets leak (the rejection
 * decision of ExpandS and of the signing loop, c~, and the hint of an accepted signature)
 * are marked with CT_DECLASSIFY, which the valgrind test in tests/crypto relies on.
 */
#include "ant/mldsa65.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ant/digest.h"
#include "crypto/keccak.h"
#include "crypto/mldsa65_backend.h"
#include "crypto/mldsa65_poly.h"

#define PK_T1 32
#define SK_KEY 32
#define SK_TR 64
#define SK_S1 128
#define SK_S2 (SK_S1 + MLDSA_L * MLDSA_POLYETA_BYTES)
#define SK_T0 (SK_S2 + MLDSA_K * MLDSA_POLYETA_BYTES)
#define SIG_Z MLDSA_CTILDEBYTES
#define SIG_H (SIG_Z + MLDSA_L * MLDSA_POLYZ_BYTES)
#define W1_BYTES (MLDSA_K * MLDSA_POLYW1_BYTES)

_Static_assert(PK_T1 + MLDSA_K * MLDSA_POLYT1_BYTES == ANT_MLDSA65_PUBLICKEYBYTES, "pk size");
_Static_assert(SK_T0 + MLDSA_K * MLDSA_POLYT0_BYTES == ANT_MLDSA65_SECRETKEYBYTES, "sk size");
_Static_assert(SIG_H + MLDSA_OMEGA + MLDSA_K == ANT_MLDSA65_SIGBYTES, "sig size");

/*
 * FIPS 204 Appendix C (Table 3): the signing loop may be bounded, but not below 814
 * iterations, where reaching the bound has probability of about 2^-256 or less. Each
 * iteration succeeds with probability about 1/5 for ML-DSA-65.
 */
#define MAX_SIGN_ITERATIONS 1000

/* --- RNG ------------------------------------------------------------------------- */

static int (*rng_hook)(uint8_t *buf, size_t len);

void ant_mldsa65_set_rng_for_testing(int (*rng)(uint8_t *buf, size_t len)) { rng_hook = rng; }

static ant_err random_bytes(uint8_t *buf, size_t len)
{
    if (rng_hook != NULL)
        return rng_hook(buf, len) == 0 ? ANT_OK : ANT_ERR_RNG;
    while (len > 0) {
        ssize_t n = getrandom(buf, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ANT_ERR_RNG;
        }
        buf += n;
        len -= (size_t)n;
    }
    return ANT_OK;
}

/* --- shared pieces --------------------------------------------------------------------- */

/* mu = H(tr || pre || msg, 64) where pre || msg is M' (FIPS 204 Alg. 7 line 6). */
static void compute_mu(uint8_t mu[ANT_MLDSA65_MUBYTES], const uint8_t tr[ANT_MLDSA65_TRBYTES],
                       const uint8_t *pre, size_t prelen, const uint8_t *ctx, size_t ctxlen,
                       const uint8_t *msg, size_t msglen)
{
    struct keccak_state st;
    shake256_init(&st);
    shake_absorb(&st, tr, ANT_MLDSA65_TRBYTES);
    shake_absorb(&st, pre, prelen);
    shake_absorb(&st, ctx, ctxlen);
    shake_absorb(&st, msg, msglen);
    shake_finalize(&st);
    shake_squeeze(&st, mu, ANT_MLDSA65_MUBYTES);
    keccak_wipe(&st);
}

/* --- key generation -------------------------------------------------------------------- */

struct keygen_ws {
    uint8_t seedbuf[ANT_MLDSA65_SEEDBYTES + 2];
    uint8_t expanded[128]; /* rho || rho' || K */
    poly s1[MLDSA_L], s1hat[MLDSA_L], s2[MLDSA_K];
    poly w[MLDSA_K], t1, t0;
};

/*
 * Computes t = A s1 + s2 (the backend generates the entries of A as it needs them, so the
 * 30 KiB matrix is never stored) and writes t1 into pk and t0 into `t0out` (k polys) or
 * into the secret key encoding.
 */
static void compute_t(const struct mldsa_backend *be, uint8_t *pk_t1, poly *t0out,
                      uint8_t *sk_t0, struct keygen_ws *ws, const uint8_t rho[32])
{
    be->matvec_expand(ws->w, rho, ws->s1hat);
    for (int row = 0; row < MLDSA_K; row++) {
        poly *t = &ws->w[row];
        be->invntt_tomont(t);
        be->add(t, t, &ws->s2[row]);
        be->freeze(t);
        poly_power2round(&ws->t1, &ws->t0, t);
        polyt1_pack(pk_t1 + (size_t)row * MLDSA_POLYT1_BYTES, &ws->t1);
        if (t0out != NULL)
            t0out[row] = ws->t0;
        if (sk_t0 != NULL)
            polyt0_pack(sk_t0 + (size_t)row * MLDSA_POLYT0_BYTES, &ws->t0);
    }
}

/* FIPS 204 Algorithm 6. */
static void keygen_internal(const struct mldsa_backend *be, uint8_t *pk, uint8_t *sk,
                            const uint8_t seed[32], struct keygen_ws *ws)
{
    const uint8_t *rho = ws->expanded, *rhoprime = ws->expanded + 32,
                  *key = ws->expanded + 96;

    memcpy(ws->seedbuf, seed, ANT_MLDSA65_SEEDBYTES);
    ws->seedbuf[32] = MLDSA_K;
    ws->seedbuf[33] = MLDSA_L;
    shake256(ws->expanded, sizeof ws->expanded, ws->seedbuf, sizeof ws->seedbuf);
    /* Constant time: rho is published in pk, so ExpandA may branch on it. */
    CT_DECLASSIFY(ws->expanded, 32);

    /* ExpandS (Alg. 33): nonce n gives s1[n] for n < l, else s2[n - l]. */
    be->expand_s(ws->s1, ws->s2, rhoprime);
    for (int i = 0; i < MLDSA_L; i++) {
        ws->s1hat[i] = ws->s1[i];
        be->ntt(&ws->s1hat[i]);
    }

    memcpy(pk, rho, 32);
    compute_t(be, pk + PK_T1, NULL, sk + SK_T0, ws, rho);

    memcpy(sk, rho, 32);
    memcpy(sk + SK_KEY, key, 32);
    shake256(sk + SK_TR, ANT_MLDSA65_TRBYTES, pk, ANT_MLDSA65_PUBLICKEYBYTES);
    for (int i = 0; i < MLDSA_L; i++)
        polyeta_pack(sk + SK_S1 + (size_t)i * MLDSA_POLYETA_BYTES, &ws->s1[i]);
    for (int i = 0; i < MLDSA_K; i++)
        polyeta_pack(sk + SK_S2 + (size_t)i * MLDSA_POLYETA_BYTES, &ws->s2[i]);
}

ant_err ant_mldsa65_keypair_from_seed(uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES],
                                      uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES],
                                      const uint8_t seed[ANT_MLDSA65_SEEDBYTES])
{
    struct keygen_ws ws;
    if (pk == NULL || sk == NULL)
        return ANT_ERR_INVALID_ARG;
    if (seed == NULL) {
        memset(pk, 0, ANT_MLDSA65_PUBLICKEYBYTES);
        memset(sk, 0, ANT_MLDSA65_SECRETKEYBYTES);
        return ANT_ERR_INVALID_ARG;
    }
    keygen_internal(mldsa_backend(), pk, sk, seed, &ws);
    explicit_bzero(&ws, sizeof ws);
    return ANT_OK;
}

ant_err ant_mldsa65_keypair(uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES],
                            uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    uint8_t seed[ANT_MLDSA65_SEEDBYTES];
    ant_err err;
    if (pk == NULL || sk == NULL)
        return ANT_ERR_INVALID_ARG;
    err = random_bytes(seed, sizeof seed);
    if (err != ANT_OK) {
        memset(pk, 0, ANT_MLDSA65_PUBLICKEYBYTES);
        explicit_bzero(sk, ANT_MLDSA65_SECRETKEYBYTES);
        goto out;
    }
    err = ant_mldsa65_keypair_from_seed(pk, sk, seed);
out:
    explicit_bzero(seed, sizeof seed);
    return err;
}

/* --- signing --------------------------------------------------------------------------- */

struct sign_ws {
    poly mat[MLDSA_K][MLDSA_L];
    poly s1[MLDSA_L], s2[MLDSA_K], t0[MLDSA_K];
    poly y[MLDSA_L], z[MLDSA_L];
    poly w0[MLDSA_K], w1[MLDSA_K], h[MLDSA_K];
    poly tmp;
    struct mldsa_challenge ch;
    struct mldsa_mask_cache mask_cache;
    uint8_t rhopp_in[32 + ANT_MLDSA65_RNDBYTES + ANT_MLDSA65_MUBYTES]; /* K || rnd || mu */
    uint8_t rhopp[64];
    uint8_t ctilde_in[ANT_MLDSA65_MUBYTES + W1_BYTES]; /* mu || w1Encode(w1) */
    uint8_t ctilde[MLDSA_CTILDEBYTES];
};

/* sigEncode's hint part (FIPS 204 Alg. 20); h is public by now. */
static void pack_hints(uint8_t out[MLDSA_OMEGA + MLDSA_K], const poly h[MLDSA_K])
{
    unsigned n = 0;
    memset(out, 0, MLDSA_OMEGA + MLDSA_K);
    for (int i = 0; i < MLDSA_K; i++) {
        for (unsigned j = 0; j < MLDSA_N; j++)
            if (h[i].c[j] != 0 && n < MLDSA_OMEGA)
                out[n++] = (uint8_t)j;
        out[MLDSA_OMEGA + i] = (uint8_t)n;
    }
}

/*
 * FIPS 204 Algorithm 7 from line 7 on (mu given). Returns ANT_ERR_INTERNAL only if the
 * iteration bound is hit, which does not happen in practice (see MAX_SIGN_ITERATIONS).
 */
static ant_err sign_mu(const struct mldsa_backend *be, uint8_t *sig,
                       const uint8_t mu[ANT_MLDSA65_MUBYTES],
                       const uint8_t rnd[ANT_MLDSA65_RNDBYTES], const uint8_t *sk,
                       struct sign_ws *ws)
{
    const uint8_t *rho = sk;

    /* s1, s2 and t0 stay in the normal domain: they are only ever multiplied by the
     * sparse challenge, which is cheaper and exact done directly (poly_mul_challenge). */
    for (int j = 0; j < MLDSA_L; j++)
        (void)be->unpack_eta(&ws->s1[j], sk + SK_S1 + (size_t)j * MLDSA_POLYETA_BYTES);
    for (int i = 0; i < MLDSA_K; i++) {
        (void)be->unpack_eta(&ws->s2[i], sk + SK_S2 + (size_t)i * MLDSA_POLYETA_BYTES);
        be->unpack_t0(&ws->t0[i], sk + SK_T0 + (size_t)i * MLDSA_POLYT0_BYTES);
    }
    /* ExpandA (Alg. 32). */
    be->expand_matrix(ws->mat, rho);

    /* rho'' = H(K || rnd || mu, 64) (line 7). */
    memcpy(ws->rhopp_in, sk + SK_KEY, 32);
    memcpy(ws->rhopp_in + 32, rnd, ANT_MLDSA65_RNDBYTES);
    memcpy(ws->rhopp_in + 32 + ANT_MLDSA65_RNDBYTES, mu, ANT_MLDSA65_MUBYTES);
    shake256(ws->rhopp, sizeof ws->rhopp, ws->rhopp_in, sizeof ws->rhopp_in);
    memcpy(ws->ctilde_in, mu, ANT_MLDSA65_MUBYTES);
    ws->mask_cache.count = 0;

    for (unsigned iter = 0; iter < MAX_SIGN_ITERATIONS; iter++) {
        uint32_t reject = 0, nhints = 0;
        const uint16_t kappa = (uint16_t)(iter * MLDSA_L);

        /* y = ExpandMask(rho'', kappa); w = NTT^-1(A NTT(y)) (lines 11-12). z holds
         * NTT(y) until it is overwritten with the candidate. */
        be->expand_mask(ws->y, ws->rhopp, kappa, &ws->mask_cache);
        for (int j = 0; j < MLDSA_L; j++) {
            ws->z[j] = ws->y[j];
            be->ntt(&ws->z[j]);
        }
        be->matvec(ws->w0, (const poly(*)[MLDSA_L])ws->mat, ws->z);
        for (int i = 0; i < MLDSA_K; i++) {
            be->invntt_tomont(&ws->w0[i]);
            be->caddq(&ws->w0[i]);
            be->decompose(&ws->w1[i], &ws->w0[i], &ws->w0[i]);
            be->pack_w1(ws->ctilde_in + ANT_MLDSA65_MUBYTES + (size_t)i * MLDSA_POLYW1_BYTES,
                        &ws->w1[i]);
        }
        shake256(ws->ctilde, sizeof ws->ctilde, ws->ctilde_in, sizeof ws->ctilde_in);
        /* Constant time: c~ is published in the signature when this candidate is
         * accepted. For a rejected candidate it is H(mu || w1), which depends on y but not
         * on s1, s2 or t0; the analysis of Fiat-Shamir with aborts treats the commitments
         * of rejected attempts as simulatable without the key, and the reference
         * implementations likewise treat c~ as public. SampleInBall's loop therefore
         * depends only on declassified data. */
        CT_DECLASSIFY(ws->ctilde, sizeof ws->ctilde);
        poly_challenge(&ws->ch, ws->ctilde);

        /* z = y + c s1 (line 19) and its bound (line 23). All products with c below are
         * exact small integers (|c s| <= tau * max|s|), so no reduction mod q is needed. */
        for (int j = 0; j < MLDSA_L; j++) {
            be->mul_challenge_eta(&ws->z[j], &ws->ch, &ws->s1[j]);
            be->add(&ws->z[j], &ws->z[j], &ws->y[j]);
            reject |= be->chknorm(&ws->z[j], MLDSA_GAMMA1 - MLDSA_BETA);
        }
        /* Constant time: whether a candidate is rejected (and so the number of
         * iterations) is observable by timing in any implementation and is treated as
         * public; the norms and the position of a large coefficient are not revealed. */
        CT_DECLASSIFY(&reject, sizeof reject);
        if (reject)
            continue;

        /* r0 = LowBits(w - c s2) (line 20) and its bound. */
        for (int i = 0; i < MLDSA_K; i++) {
            be->mul_challenge_eta(&ws->tmp, &ws->ch, &ws->s2[i]);
            be->sub(&ws->w0[i], &ws->w0[i], &ws->tmp);
            reject |= be->chknorm(&ws->w0[i], MLDSA_GAMMA2 - MLDSA_BETA);
        }
        CT_DECLASSIFY(&reject, sizeof reject);
        if (reject)
            continue;

        /* c t0, its bound, and the hint (lines 25-28). */
        for (int i = 0; i < MLDSA_K; i++) {
            be->mul_challenge(&ws->tmp, &ws->ch, &ws->t0[i]);
            reject |= be->chknorm(&ws->tmp, MLDSA_GAMMA2);
            be->add(&ws->w0[i], &ws->w0[i], &ws->tmp);
            nhints += poly_make_hint(&ws->h[i], &ws->w0[i], &ws->w1[i]);
        }
        reject |= (uint32_t)(MLDSA_OMEGA - (int32_t)nhints) >> 31;
        CT_DECLASSIFY(&reject, sizeof reject);
        if (reject)
            continue;

        /* Accepted: everything written below is the public signature. */
        CT_DECLASSIFY(ws->h, sizeof ws->h);
        memcpy(sig, ws->ctilde, MLDSA_CTILDEBYTES);
        for (int j = 0; j < MLDSA_L; j++)
            polyz_pack(sig + SIG_Z + (size_t)j * MLDSA_POLYZ_BYTES, &ws->z[j]);
        pack_hints(sig + SIG_H, ws->h);
        return ANT_OK;
    }
    return ANT_ERR_INTERNAL;
}

/* Allocates the workspace (about 90 KiB: kept off the stack for small thread stacks),
 * signs, wipes. sig is zeroed on error. */
static ant_err sign_mu_alloc(uint8_t *sig, const uint8_t mu[ANT_MLDSA65_MUBYTES],
                             const uint8_t rnd[ANT_MLDSA65_RNDBYTES], const uint8_t *sk)
{
    ant_err err = ANT_ERR_NOMEM;
    struct sign_ws *ws = malloc(sizeof *ws);
    if (ws == NULL)
        goto out;
    err = sign_mu(mldsa_backend(), sig, mu, rnd, sk, ws);
out:
    if (ws != NULL) {
        explicit_bzero(ws, sizeof *ws);
        free(ws);
    }
    if (err != ANT_OK)
        memset(sig, 0, ANT_MLDSA65_SIGBYTES);
    return err;
}

ant_err ant_mldsa65_sign_mu(uint8_t sig[ANT_MLDSA65_SIGBYTES],
                            const uint8_t mu[ANT_MLDSA65_MUBYTES],
                            const uint8_t rnd[ANT_MLDSA65_RNDBYTES],
                            const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    if (sig == NULL)
        return ANT_ERR_INVALID_ARG;
    if (mu == NULL || rnd == NULL || sk == NULL) {
        memset(sig, 0, ANT_MLDSA65_SIGBYTES);
        return ANT_ERR_INVALID_ARG;
    }
    return sign_mu_alloc(sig, mu, rnd, sk);
}

ant_err ant_mldsa65_sign_internal(uint8_t sig[ANT_MLDSA65_SIGBYTES], const uint8_t *mprime,
                                  size_t mprimelen, const uint8_t rnd[ANT_MLDSA65_RNDBYTES],
                                  const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    uint8_t mu[ANT_MLDSA65_MUBYTES];
    ant_err err;
    if (sig == NULL)
        return ANT_ERR_INVALID_ARG;
    if (rnd == NULL || sk == NULL || (mprime == NULL && mprimelen > 0)) {
        memset(sig, 0, ANT_MLDSA65_SIGBYTES);
        return ANT_ERR_INVALID_ARG;
    }
    compute_mu(mu, sk + SK_TR, NULL, 0, NULL, 0, mprime, mprimelen);
    err = sign_mu_alloc(sig, mu, rnd, sk);
    explicit_bzero(mu, sizeof mu);
    return err;
}

/* FIPS 204 Algorithm 2, with rnd random (hedged) or zero (deterministic). */
static ant_err sign_pure(uint8_t *sig, const uint8_t *msg, size_t msglen, const uint8_t *ctx,
                         size_t ctxlen, const uint8_t *sk, int deterministic)
{
    uint8_t mu[ANT_MLDSA65_MUBYTES], rnd[ANT_MLDSA65_RNDBYTES] = {0};
    uint8_t pre[2];
    ant_err err = ANT_ERR_INVALID_ARG;

    if (sig == NULL)
        return ANT_ERR_INVALID_ARG;
    memset(mu, 0, sizeof mu);
    if (sk == NULL || ctxlen > ANT_MLDSA65_CTX_MAX || (ctx == NULL && ctxlen > 0) ||
        (msg == NULL && msglen > 0))
        goto out;
    if (!deterministic) {
        err = random_bytes(rnd, sizeof rnd);
        if (err != ANT_OK)
            goto out;
    }
    pre[0] = 0;
    pre[1] = (uint8_t)ctxlen;
    compute_mu(mu, sk + SK_TR, pre, 2, ctx, ctxlen, msg, msglen);
    err = sign_mu_alloc(sig, mu, rnd, sk);
out:
    if (err != ANT_OK)
        memset(sig, 0, ANT_MLDSA65_SIGBYTES);
    explicit_bzero(rnd, sizeof rnd);
    explicit_bzero(mu, sizeof mu);
    return err;
}

ant_err ant_mldsa65_sign(uint8_t sig[ANT_MLDSA65_SIGBYTES], const uint8_t *msg, size_t msglen,
                         const uint8_t *ctx, size_t ctxlen,
                         const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    return sign_pure(sig, msg, msglen, ctx, ctxlen, sk, 0);
}

ant_err ant_mldsa65_sign_deterministic(uint8_t sig[ANT_MLDSA65_SIGBYTES], const uint8_t *msg,
                                       size_t msglen, const uint8_t *ctx, size_t ctxlen,
                                       const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    return sign_pure(sig, msg, msglen, ctx, ctxlen, sk, 1);
}

/* --- verification ---------------------------------------------------------------------- */

/*
 * HintBitUnpack (FIPS 204 Alg. 21) with every check it demands: the running counts never
 * decrease and stay <= omega, indices strictly increase within a polynomial, and unused
 * index bytes are zero. Returns 0 on success. Reads only the omega + k input bytes.
 */
static int unpack_hints(poly h[MLDSA_K], const uint8_t in[MLDSA_OMEGA + MLDSA_K])
{
    unsigned idx = 0;
    memset(h, 0, MLDSA_K * sizeof *h);
    for (int i = 0; i < MLDSA_K; i++) {
        unsigned end = in[MLDSA_OMEGA + i];
        if (end < idx || end > MLDSA_OMEGA)
            return -1;
        for (unsigned first = idx; idx < end; idx++) {
            if (idx > first && in[idx - 1] >= in[idx])
                return -1;
            h[i].c[in[idx]] = 1;
        }
    }
    for (; idx < MLDSA_OMEGA; idx++)
        if (in[idx] != 0)
            return -1;
    return 0;
}

/* FIPS 204 Algorithm 8 from line 7 on (mu given); public data only. */
static ant_err verify_mu(const uint8_t *sig, const uint8_t mu[ANT_MLDSA65_MUBYTES],
                         const uint8_t *pk)
{
    const struct mldsa_backend *be = mldsa_backend();
    poly z[MLDSA_L], h[MLDSA_K], w[MLDSA_K], t1, w1;
    struct mldsa_challenge ch;
    uint8_t ctilde_in[ANT_MLDSA65_MUBYTES + W1_BYTES];
    uint8_t ctilde[MLDSA_CTILDEBYTES];
    uint32_t bad = 0;

    /* Safety: the hint bytes follow the last z, so unpack_z may read its slack. */
    _Static_assert(MLDSA_OMEGA + MLDSA_K >= MLDSA_UNPACK_Z_SLACK, "slack after z");
    for (int j = 0; j < MLDSA_L; j++) {
        be->unpack_z(&z[j], sig + SIG_Z + (size_t)j * MLDSA_POLYZ_BYTES);
        bad |= be->chknorm(&z[j], MLDSA_GAMMA1 - MLDSA_BETA);
    }
    if (bad || unpack_hints(h, sig + SIG_H) != 0)
        return ANT_ERR_BAD_SIGNATURE;

    poly_challenge(&ch, sig);
    for (int j = 0; j < MLDSA_L; j++)
        be->ntt(&z[j]);

    /* w'_approx = NTT^-1(A NTT(z)) - c t1 2^d (A generated on the fly and never stored);
     * the product with the sparse c is done directly (|c t1 2^d| < tau 2^23 < 2^29, so
     * nothing overflows). */
    memcpy(ctilde_in, mu, ANT_MLDSA65_MUBYTES);
    be->matvec_expand(w, pk, z);
    for (int row = 0; row < MLDSA_K; row++) {
        polyt1_unpack(&t1, pk + PK_T1 + (size_t)row * MLDSA_POLYT1_BYTES);
        poly_shiftl(&t1);
        be->invntt_tomont(&w[row]);
        be->mul_challenge(&w1, &ch, &t1);
        be->sub(&w[row], &w[row], &w1);
        be->reduce(&w[row]);
        be->caddq(&w[row]);
        be->use_hint(&w1, &w[row], &h[row]);
        be->pack_w1(ctilde_in + ANT_MLDSA65_MUBYTES + (size_t)row * MLDSA_POLYW1_BYTES, &w1);
    }
    shake256(ctilde, sizeof ctilde, ctilde_in, sizeof ctilde_in);
    return ant_ct_memcmp(ctilde, sig, MLDSA_CTILDEBYTES) == 0 ? ANT_OK
                                                               : ANT_ERR_BAD_SIGNATURE;
}

/* Length checks shared by every verification entry point. */
static ant_err check_lengths(const uint8_t *sig, size_t siglen, const uint8_t *pk, size_t pklen)
{
    if (pk == NULL || pklen != ANT_MLDSA65_PUBLICKEYBYTES)
        return ANT_ERR_BAD_KEY;
    if (sig == NULL || siglen != ANT_MLDSA65_SIGBYTES)
        return ANT_ERR_BAD_SIGNATURE;
    return ANT_OK;
}

ant_err ant_mldsa65_verify_mu(const uint8_t *sig, size_t siglen,
                              const uint8_t mu[ANT_MLDSA65_MUBYTES], const uint8_t *pk,
                              size_t pklen)
{
    ant_err err = check_lengths(sig, siglen, pk, pklen);
    if (err != ANT_OK)
        return err;
    if (mu == NULL)
        return ANT_ERR_INVALID_ARG;
    return verify_mu(sig, mu, pk);
}

ant_err ant_mldsa65_verify_internal(const uint8_t *sig, size_t siglen, const uint8_t *mprime,
                                    size_t mprimelen, const uint8_t *pk, size_t pklen)
{
    uint8_t tr[ANT_MLDSA65_TRBYTES], mu[ANT_MLDSA65_MUBYTES];
    ant_err err = check_lengths(sig, siglen, pk, pklen);
    if (err != ANT_OK)
        return err;
    if (mprime == NULL && mprimelen > 0)
        return ANT_ERR_INVALID_ARG;
    shake256(tr, sizeof tr, pk, pklen);
    compute_mu(mu, tr, NULL, 0, NULL, 0, mprime, mprimelen);
    return verify_mu(sig, mu, pk);
}

ant_err ant_mldsa65_verify(const uint8_t *sig, size_t siglen, const uint8_t *msg, size_t msglen,
                           const uint8_t *ctx, size_t ctxlen, const uint8_t *pk, size_t pklen)
{
    uint8_t tr[ANT_MLDSA65_TRBYTES], mu[ANT_MLDSA65_MUBYTES], pre[2];
    ant_err err = check_lengths(sig, siglen, pk, pklen);
    if (err != ANT_OK)
        return err;
    /* A context over 255 bytes cannot be encoded in M' (Alg. 3 line 1 returns false). */
    if (ctxlen > ANT_MLDSA65_CTX_MAX || (ctx == NULL && ctxlen > 0) ||
        (msg == NULL && msglen > 0))
        return ANT_ERR_INVALID_ARG;
    pre[0] = 0;
    pre[1] = (uint8_t)ctxlen;
    shake256(tr, sizeof tr, pk, pklen);
    compute_mu(mu, tr, pre, 2, ctx, ctxlen, msg, msglen);
    return verify_mu(sig, mu, pk);
}

/* --- helpers ----------------------------------------------------------------------- */

ant_err ant_mldsa65_pk_hash(uint8_t tr[ANT_MLDSA65_TRBYTES], const uint8_t *pk, size_t pklen)
{
    if (tr == NULL)
        return ANT_ERR_INVALID_ARG;
    if (pk == NULL || pklen != ANT_MLDSA65_PUBLICKEYBYTES) {
        memset(tr, 0, ANT_MLDSA65_TRBYTES);
        return ANT_ERR_BAD_KEY;
    }
    shake256(tr, ANT_MLDSA65_TRBYTES, pk, pklen);
    return ANT_OK;
}

/*
 * Rebuilds pk from (rho, s1, s2) and accepts the secret key only if it is what KeyGen
 * would have written: s1, s2 coefficients in [-eta, eta], t0 equal to Power2Round's low
 * part of A s1 + s2, and tr equal to H(pk). K cannot be checked (it is free randomness).
 */
ant_err ant_mldsa65_pk_from_sk(uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES], const uint8_t *sk,
                               size_t sklen)
{
    const struct mldsa_backend *be;
    struct keygen_ws *ws = NULL;
    poly t0[MLDSA_K], stored;
    uint8_t tr[ANT_MLDSA65_TRBYTES];
    uint32_t bad = 0;
    ant_err err = ANT_ERR_BAD_KEY;

    if (pk == NULL)
        return ANT_ERR_INVALID_ARG;
    if (sk == NULL || sklen != ANT_MLDSA65_SECRETKEYBYTES)
        goto out;
    ws = malloc(sizeof *ws);
    if (ws == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    be = mldsa_backend();
    for (int i = 0; i < MLDSA_L; i++) {
        bad |= polyeta_unpack(&ws->s1[i], sk + SK_S1 + (size_t)i * MLDSA_POLYETA_BYTES);
        ws->s1hat[i] = ws->s1[i];
        be->ntt(&ws->s1hat[i]);
    }
    for (int i = 0; i < MLDSA_K; i++)
        bad |= polyeta_unpack(&ws->s2[i], sk + SK_S2 + (size_t)i * MLDSA_POLYETA_BYTES);

    memcpy(pk, sk, 32);
    compute_t(be, pk + PK_T1, t0, NULL, ws, sk);
    for (int i = 0; i < MLDSA_K; i++) {
        /* Every 13-bit field decodes to a value Power2Round can produce, so equality
         * with the recomputed t0 is the whole range check for t0. */
        polyt0_unpack(&stored, sk + SK_T0 + (size_t)i * MLDSA_POLYT0_BYTES);
        for (int n = 0; n < MLDSA_N; n++)
            bad |= (uint32_t)(stored.c[n] ^ t0[i].c[n]);
    }
    shake256(tr, sizeof tr, pk, ANT_MLDSA65_PUBLICKEYBYTES);
    bad |= (uint32_t)ant_ct_memcmp(tr, sk + SK_TR, sizeof tr);
    err = bad == 0 ? ANT_OK : ANT_ERR_BAD_KEY;
out:
    if (ws != NULL) {
        explicit_bzero(ws, sizeof *ws);
        free(ws);
    }
    explicit_bzero(t0, sizeof t0);
    explicit_bzero(&stored, sizeof stored);
    if (err != ANT_OK)
        memset(pk, 0, ANT_MLDSA65_PUBLICKEYBYTES);
    return err;
}

/* --- streaming --------------------------------------------------------------------- */

struct ant_mldsa65_verifier {
    struct ant_digest *mu;
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    int finished;
};

struct ant_mldsa65_signer {
    struct ant_digest *mu;
    uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    int deterministic;
    int finished;
};

/* Starts mu = SHAKE256(tr || 0 || ctxlen || ctx || ...) on OpenSSL's SHAKE256. */
static ant_err mu_stream_new(struct ant_digest **out, const uint8_t tr[ANT_MLDSA65_TRBYTES],
                             const uint8_t *ctx, size_t ctxlen)
{
    uint8_t pre[2] = {0, (uint8_t)ctxlen};
    struct ant_digest *d = NULL;
    ant_err err = ant_digest_new(&d, ANT_DIGEST_SHAKE256);
    if (err == ANT_OK)
        err = ant_digest_update(d, tr, ANT_MLDSA65_TRBYTES);
    if (err == ANT_OK)
        err = ant_digest_update(d, pre, sizeof pre);
    if (err == ANT_OK)
        err = ant_digest_update(d, ctx, ctxlen);
    if (err != ANT_OK) {
        ant_digest_free(d);
        d = NULL;
    }
    *out = d;
    return err;
}

ant_err ant_mldsa65_verifier_new(struct ant_mldsa65_verifier **out, const uint8_t *pk,
                                 size_t pklen, const uint8_t *ctx, size_t ctxlen)
{
    struct ant_mldsa65_verifier *v = NULL;
    uint8_t tr[ANT_MLDSA65_TRBYTES];
    ant_err err;

    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (pk == NULL || pklen != ANT_MLDSA65_PUBLICKEYBYTES)
        return ANT_ERR_BAD_KEY;
    if (ctxlen > ANT_MLDSA65_CTX_MAX || (ctx == NULL && ctxlen > 0))
        return ANT_ERR_INVALID_ARG;
    v = calloc(1, sizeof *v);
    if (v == NULL)
        return ANT_ERR_NOMEM;
    memcpy(v->pk, pk, pklen);
    shake256(tr, sizeof tr, pk, pklen);
    err = mu_stream_new(&v->mu, tr, ctx, ctxlen);
    if (err != ANT_OK) {
        ant_mldsa65_verifier_free(v);
        return err;
    }
    *out = v;
    return ANT_OK;
}

ant_err ant_mldsa65_verifier_update(struct ant_mldsa65_verifier *v, const uint8_t *data,
                                    size_t len)
{
    if (v == NULL || v->finished || (data == NULL && len > 0))
        return ANT_ERR_INVALID_ARG;
    return ant_digest_update(v->mu, data, len);
}

ant_err ant_mldsa65_verifier_final_mu(struct ant_mldsa65_verifier *v,
                                      uint8_t mu[ANT_MLDSA65_MUBYTES])
{
    if (mu == NULL)
        return ANT_ERR_INVALID_ARG;
    if (v == NULL || v->finished) {
        memset(mu, 0, ANT_MLDSA65_MUBYTES);
        return ANT_ERR_INVALID_ARG;
    }
    v->finished = 1;
    return ant_digest_final(v->mu, mu, ANT_MLDSA65_MUBYTES);
}

ant_err ant_mldsa65_verifier_final(struct ant_mldsa65_verifier *v, const uint8_t *sig,
                                   size_t siglen)
{
    uint8_t mu[ANT_MLDSA65_MUBYTES];
    ant_err err = ant_mldsa65_verifier_final_mu(v, mu);
    if (err != ANT_OK)
        return err;
    return ant_mldsa65_verify_mu(sig, siglen, mu, v->pk, sizeof v->pk);
}

void ant_mldsa65_verifier_free(struct ant_mldsa65_verifier *v)
{
    if (v == NULL)
        return;
    ant_digest_free(v->mu);
    free(v);
}

ant_err ant_mldsa65_signer_new(struct ant_mldsa65_signer **out,
                               const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES],
                               const uint8_t *ctx, size_t ctxlen, int deterministic)
{
    struct ant_mldsa65_signer *s = NULL;
    ant_err err;

    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (sk == NULL || ctxlen > ANT_MLDSA65_CTX_MAX || (ctx == NULL && ctxlen > 0))
        return ANT_ERR_INVALID_ARG;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return ANT_ERR_NOMEM;
    memcpy(s->sk, sk, sizeof s->sk);
    s->deterministic = deterministic != 0;
    err = mu_stream_new(&s->mu, sk + SK_TR, ctx, ctxlen);
    if (err != ANT_OK) {
        ant_mldsa65_signer_free(s);
        return err;
    }
    *out = s;
    return ANT_OK;
}

ant_err ant_mldsa65_signer_update(struct ant_mldsa65_signer *s, const uint8_t *data, size_t len)
{
    if (s == NULL || s->finished || (data == NULL && len > 0))
        return ANT_ERR_INVALID_ARG;
    return ant_digest_update(s->mu, data, len);
}

ant_err ant_mldsa65_signer_final(struct ant_mldsa65_signer *s, uint8_t sig[ANT_MLDSA65_SIGBYTES])
{
    uint8_t mu[ANT_MLDSA65_MUBYTES], rnd[ANT_MLDSA65_RNDBYTES] = {0};
    ant_err err = ANT_ERR_INVALID_ARG;

    if (sig == NULL)
        return ANT_ERR_INVALID_ARG;
    memset(mu, 0, sizeof mu);
    if (s == NULL || s->finished)
        goto out;
    s->finished = 1;
    err = ant_digest_final(s->mu, mu, sizeof mu);
    if (err != ANT_OK)
        goto out;
    if (!s->deterministic) {
        err = random_bytes(rnd, sizeof rnd);
        if (err != ANT_OK)
            goto out;
    }
    err = sign_mu_alloc(sig, mu, rnd, s->sk);
out:
    if (err != ANT_OK)
        memset(sig, 0, ANT_MLDSA65_SIGBYTES);
    explicit_bzero(mu, sizeof mu);
    explicit_bzero(rnd, sizeof rnd);
    return err;
}

void ant_mldsa65_signer_free(struct ant_mldsa65_signer *s)
{
    if (s == NULL)
        return;
    ant_digest_free(s->mu);
    explicit_bzero(s->sk, sizeof s->sk);
    free(s);
}
