/*
 * Fuzz target: ML-DSA-65 signature and public-key decoding and verification
 * (ant/mldsa65.h), the check every release rests on. Input layout:
 *
 *   byte 0  mode: 0 pure verify under the fixed key, 1 pure verify under a public key from
 *           the input, 2 external mu under the fixed key, 3 verify_internal (M' as given)
 *           under the fixed key
 *   byte 1  flags: bit 0 passes siglen + 1, bit 1 siglen - 1, bit 2 pklen - 1 (mode 1);
 *           bits 3-7 pick where the streaming verifier splits the message
 *   mode 0/1: [pk 1952 (mode 1)] ctxlen(1) ctx sig(3309) msg...
 *   mode 2:   mu(64) sig(3309)
 *   mode 3:   sig(3309) M'...
 *
 * The fixed key is generated from FUZZ_MLDSA_SEED_BYTE with our own keygen, the same key
 * the corpus generator signs with, so seeds reach the accepting path. Besides memory
 * safety the target checks that the three ways to verify agree: one-shot, the streaming
 * verifier (split anywhere), and verify_mu over the mu the streaming verifier produced;
 * and that the ML-DSA backends (the one the library picks, plain AVX2, and the portable
 * reference, forced through the test-only switch) give the same verdict.
 */
#include <stdbool.h>
#include <string.h>

#include "ant/mldsa65.h"
#include "crypto/mldsa65_backend.h"
#include "fuzz.h"

static uint8_t fixed_pk[ANT_MLDSA65_PUBLICKEYBYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    uint8_t seed[ANT_MLDSA65_SEEDBYTES];
    static uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    memset(seed, FUZZ_MLDSA_SEED_BYTE, sizeof seed);
    FUZZ_ASSERT(ant_mldsa65_keypair_from_seed(fixed_pk, sk, seed) == ANT_OK);
    return 0;
}

/* An exact-size heap copy, so a read past the declared length is caught under ASan. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *d = malloc(n > 0 ? n : 1);
    if (d != NULL && n > 0)
        memcpy(d, p, n);
    return d;
}

static bool pure_verify(const uint8_t *sig, size_t siglen, const uint8_t *msg, size_t msglen,
                        const uint8_t *ctx, size_t ctxlen, const uint8_t *pk, size_t pklen,
                        unsigned split_sel)
{
    ant_err one = ant_mldsa65_verify(sig, siglen, msg, msglen, ctx, ctxlen, pk, pklen);
    FUZZ_ASSERT(one == ANT_OK || one == ANT_ERR_BAD_SIGNATURE || one == ANT_ERR_BAD_KEY ||
                one == ANT_ERR_INVALID_ARG);

    struct ant_mldsa65_verifier *v = NULL;
    ant_err err = ant_mldsa65_verifier_new(&v, pk, pklen, ctx, ctxlen);
    if (err != ANT_OK) {
        /* A key or context the verifier refuses must be refused by one-shot too. */
        FUZZ_ASSERT(one != ANT_OK);
        return false;
    }
    size_t split = msglen == 0 ? 0 : (msglen * split_sel) / 31;
    FUZZ_ASSERT(ant_mldsa65_verifier_update(v, msg, split) == ANT_OK);
    FUZZ_ASSERT(ant_mldsa65_verifier_update(v, msg + split, msglen - split) == ANT_OK);
    ant_err streamed = ant_mldsa65_verifier_final(v, sig, siglen);
    ant_mldsa65_verifier_free(v);
    FUZZ_ASSERT((streamed == ANT_OK) == (one == ANT_OK));

    v = NULL;
    FUZZ_ASSERT(ant_mldsa65_verifier_new(&v, pk, pklen, ctx, ctxlen) == ANT_OK);
    FUZZ_ASSERT(ant_mldsa65_verifier_update(v, msg, msglen) == ANT_OK);
    uint8_t mu[ANT_MLDSA65_MUBYTES];
    FUZZ_ASSERT(ant_mldsa65_verifier_final_mu(v, mu) == ANT_OK);
    ant_mldsa65_verifier_free(v);
    FUZZ_ASSERT((ant_mldsa65_verify_mu(sig, siglen, mu, pk, pklen) == ANT_OK) == (one == ANT_OK));
    return one == ANT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0] & 3u;
    unsigned flags = data[1];
    const uint8_t *p = data + 2;
    size_t left = size - 2;
    uint8_t *pk = NULL, *ctx = NULL, *sig = NULL, *msg = NULL;
    size_t pklen = ANT_MLDSA65_PUBLICKEYBYTES;

    if (mode == 1) {
        if (left < ANT_MLDSA65_PUBLICKEYBYTES)
            return 0;
        if (flags & 4u)
            pklen--;
        pk = dup_exact(p, pklen);
        p += ANT_MLDSA65_PUBLICKEYBYTES;
        left -= ANT_MLDSA65_PUBLICKEYBYTES;
    } else {
        pk = dup_exact(fixed_pk, pklen);
    }

    size_t ctxlen = 0;
    uint8_t mu[ANT_MLDSA65_MUBYTES];
    if (mode <= 1) {
        if (left < 1)
            goto out;
        ctxlen = p[0];
        p++;
        left--;
        if (left < ctxlen)
            goto out;
        ctx = dup_exact(p, ctxlen);
        p += ctxlen;
        left -= ctxlen;
    } else if (mode == 2) {
        if (left < sizeof mu)
            goto out;
        memcpy(mu, p, sizeof mu);
        p += sizeof mu;
        left -= sizeof mu;
    }

    /* The signature takes its nominal size (or what is left), adjusted by the flags. */
    size_t siglen = left < ANT_MLDSA65_SIGBYTES ? left : ANT_MLDSA65_SIGBYTES;
    if ((flags & 1u) && siglen < left)
        siglen++;
    if ((flags & 2u) && siglen > 0)
        siglen--;
    sig = dup_exact(p, siglen);
    p += siglen;
    left -= siglen;
    msg = dup_exact(p, left);
    if (pk == NULL || sig == NULL || msg == NULL || (ctxlen > 0 && ctx == NULL))
        goto out;

    static const int backends[3] = {MLDSA_FORCE_NONE, MLDSA_FORCE_AVX2, MLDSA_FORCE_PORTABLE};
    int verdict[3];
    for (int force = 0; force < 3; force++) {
        (void)mldsa_backend_force_for_testing(backends[force]);
        switch (mode) {
        case 0:
        case 1:
            verdict[force] = pure_verify(sig, siglen, msg, left, ctx, ctxlen, pk, pklen,
                                         (flags >> 3) & 31u);
            break;
        case 2: {
            ant_err err = ant_mldsa65_verify_mu(sig, siglen, mu, pk, pklen);
            FUZZ_ASSERT(err == ANT_OK || err == ANT_ERR_BAD_SIGNATURE);
            verdict[force] = err == ANT_OK;
            break;
        }
        default: {
            ant_err err = ant_mldsa65_verify_internal(sig, siglen, msg, left, pk, pklen);
            FUZZ_ASSERT(err == ANT_OK || err == ANT_ERR_BAD_SIGNATURE);
            uint8_t tr[ANT_MLDSA65_TRBYTES];
            FUZZ_ASSERT(ant_mldsa65_pk_hash(tr, pk, pklen) == ANT_OK);
            verdict[force] = err == ANT_OK;
            break;
        }
        }
    }
    (void)mldsa_backend_force_for_testing(MLDSA_FORCE_NONE);
    FUZZ_ASSERT(verdict[0] == verdict[1] && verdict[1] == verdict[2]);
out:
    free(pk);
    free(ctx);
    free(sig);
    free(msg);
    return 0;
}
