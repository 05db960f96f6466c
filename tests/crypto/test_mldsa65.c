/*
 * Behaviour tests of the ML-DSA-65 API beyond the ACVP vectors: round trips; one flipped
 * bit in signature, message, context or public key rejected; context and length limits;
 * malformed hint encodings and out-of-range z built from a valid signature and rejected;
 * streaming signer and verifier equal to one-shot for random chunkings (with empty
 * updates); external mu; pk_from_sk's checks; and RNG fault injection.
 */
#include "ant/mldsa65.h"
#include "crypto/keccak.h"
#include "mldsa_backends.h"
#include "test.h"

#define PK ANT_MLDSA65_PUBLICKEYBYTES
#define SK ANT_MLDSA65_SECRETKEYBYTES
#define SIG ANT_MLDSA65_SIGBYTES
#define OMEGA 55
#define K 6
#define HINTS (SIG - OMEGA - K) /* offset of the hint bytes */
#define GAMMA1 (1 << 19)
#define BETA 196

static uint64_t prng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd32(void)
{
    prng ^= prng << 13;
    prng ^= prng >> 7;
    prng ^= prng << 17;
    return (uint32_t)(prng >> 16);
}

static void fill(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)rnd32();
}

static int all_zero(const uint8_t *buf, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc |= buf[i];
    return acc == 0;
}

static void keypair_from(uint8_t *pk, uint8_t *sk, uint8_t first)
{
    uint8_t seed[32];
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(first + 31 * i);
    CHECK_OK(ant_mldsa65_keypair_from_seed(pk, sk, seed));
}

static void test_round_trip_and_determinism(void)
{
    static uint8_t pk[PK], sk[SK], s1[SIG], s2[SIG], s3[SIG];
    const uint8_t msg[] = "release archive bytes";
    const uint8_t ctx[] = "ant-node-release-v2:0.2.0:linux-x64";

    CHECK_OK(ant_mldsa65_keypair(pk, sk));
    CHECK_OK(ant_mldsa65_sign(s1, msg, sizeof msg, ctx, sizeof ctx - 1, sk));
    CHECK_OK(ant_mldsa65_verify(s1, SIG, msg, sizeof msg, ctx, sizeof ctx - 1, pk, PK));
    /* Hedged signatures differ; deterministic ones repeat and also verify. */
    CHECK_OK(ant_mldsa65_sign(s2, msg, sizeof msg, ctx, sizeof ctx - 1, sk));
    CHECK(memcmp(s1, s2, SIG) != 0);
    CHECK_OK(ant_mldsa65_sign_deterministic(s2, msg, sizeof msg, ctx, sizeof ctx - 1, sk));
    CHECK_OK(ant_mldsa65_sign_deterministic(s3, msg, sizeof msg, ctx, sizeof ctx - 1, sk));
    CHECK_MEM(s2, s3, SIG);
    CHECK_OK(ant_mldsa65_verify(s2, SIG, msg, sizeof msg, ctx, sizeof ctx - 1, pk, PK));

    /* Pure signing is Sign_internal over M' = 0 || |ctx| || ctx || M with rnd = 0. */
    uint8_t mprime[2 + sizeof ctx - 1 + sizeof msg], zero[32] = {0};
    mprime[0] = 0;
    mprime[1] = (uint8_t)(sizeof ctx - 1);
    memcpy(mprime + 2, ctx, sizeof ctx - 1);
    memcpy(mprime + 2 + sizeof ctx - 1, msg, sizeof msg);
    CHECK_OK(ant_mldsa65_sign_internal(s3, mprime, sizeof mprime, zero, sk));
    CHECK_MEM(s2, s3, SIG);
    CHECK_OK(ant_mldsa65_verify_internal(s3, SIG, mprime, sizeof mprime, pk, PK));

    /* Empty message and empty context (ctx NULL allowed when its length is 0). */
    CHECK_OK(ant_mldsa65_sign(s1, NULL, 0, NULL, 0, sk));
    CHECK_OK(ant_mldsa65_verify(s1, SIG, NULL, 0, NULL, 0, pk, PK));
    CHECK_OK(ant_mldsa65_verify(s1, SIG, (const uint8_t *)"", 0, (const uint8_t *)"", 0, pk, PK));

    /* tr = SHAKE256(pk, 64), as stored in sk. */
    uint8_t tr[64], want[64];
    CHECK_OK(ant_mldsa65_pk_hash(tr, pk, PK));
    shake256(want, sizeof want, pk, PK);
    CHECK_MEM(tr, want, 64);
    CHECK_MEM(tr, sk + 64, 64);
    CHECK_ERR(ant_mldsa65_pk_hash(tr, pk, PK - 1), ANT_ERR_BAD_KEY);
}

static void test_flipped_bits_rejected(void)
{
    static uint8_t pk[PK], sk[SK], sig[SIG];
    uint8_t msg[200], ctx[17];
    fill(msg, sizeof msg);
    fill(ctx, sizeof ctx);
    keypair_from(pk, sk, 1);
    CHECK_OK(ant_mldsa65_sign(sig, msg, sizeof msg, ctx, sizeof ctx, sk));
    CHECK_OK(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, sizeof ctx, pk, PK));

    /* Every bit of c~ and of the hint area, and a spread of bits of z. */
    int tried = 0, rejected = 0;
    for (size_t bit = 0; bit < (size_t)SIG * 8; bit++) {
        size_t byte = bit / 8;
        if (byte >= 48 && byte < HINTS && bit % 37 != 0)
            continue;
        sig[byte] ^= (uint8_t)(1u << (bit % 8));
        ant_err err = ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, sizeof ctx, pk, PK);
        sig[byte] ^= (uint8_t)(1u << (bit % 8));
        tried++;
        rejected += err == ANT_ERR_BAD_SIGNATURE;
        CHECK_MSG(err == ANT_ERR_BAD_SIGNATURE, "signature bit %zu accepted (%d)", bit, err);
    }
    printf("signature bit flips rejected: %d/%d\n", rejected, tried);

    for (size_t bit = 0; bit < sizeof msg * 8; bit += 13) {
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, sizeof ctx, pk, PK),
                  ANT_ERR_BAD_SIGNATURE);
        msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (size_t bit = 0; bit < sizeof ctx * 8; bit += 5) {
        ctx[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, sizeof ctx, pk, PK),
                  ANT_ERR_BAD_SIGNATURE);
        ctx[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* A context that is a prefix or an extension of the signed one. */
    CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, sizeof ctx - 1, pk, PK),
              ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, NULL, 0, pk, PK),
              ANT_ERR_BAD_SIGNATURE);
    for (size_t bit = 0; bit < (size_t)PK * 8; bit += 97) {
        pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, sizeof ctx, pk, PK),
                  ANT_ERR_BAD_SIGNATURE);
        pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    CHECK_OK(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, sizeof ctx, pk, PK));
}

static void test_context_and_length_limits(void)
{
    static uint8_t pk[PK], sk[SK], sig[SIG], longsig[SIG + 1];
    uint8_t ctx[256], msg[10] = {1, 2, 3};
    struct ant_mldsa65_verifier *v = NULL;
    struct ant_mldsa65_signer *s = NULL;
    fill(ctx, sizeof ctx);
    keypair_from(pk, sk, 2);

    /* 255 bytes is the largest context; 256 is refused and the output zeroed. */
    CHECK_OK(ant_mldsa65_sign(sig, msg, sizeof msg, ctx, 255, sk));
    CHECK_OK(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, 255, pk, PK));
    CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, ctx, 256, pk, PK),
              ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_mldsa65_sign(sig, msg, sizeof msg, ctx, 256, sk), ANT_ERR_INVALID_ARG);
    CHECK(all_zero(sig, SIG));
    CHECK_ERR(ant_mldsa65_sign_deterministic(sig, msg, sizeof msg, ctx, 256, sk),
              ANT_ERR_INVALID_ARG);
    CHECK(all_zero(sig, SIG));
    CHECK_ERR(ant_mldsa65_verifier_new(&v, pk, PK, ctx, 256), ANT_ERR_INVALID_ARG);
    CHECK(v == NULL);
    CHECK_ERR(ant_mldsa65_signer_new(&s, sk, ctx, 256, 1), ANT_ERR_INVALID_ARG);
    CHECK(s == NULL);

    /* Truncated, over-long, empty signatures; wrong-length keys. */
    CHECK_OK(ant_mldsa65_sign(sig, msg, sizeof msg, NULL, 0, sk));
    memcpy(longsig, sig, SIG);
    longsig[SIG] = 0;
    for (size_t len = 0; len < SIG; len += 331)
        CHECK_ERR(ant_mldsa65_verify(sig, len, msg, sizeof msg, NULL, 0, pk, PK),
                  ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(ant_mldsa65_verify(sig, SIG - 1, msg, sizeof msg, NULL, 0, pk, PK),
              ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(ant_mldsa65_verify(longsig, SIG + 1, msg, sizeof msg, NULL, 0, pk, PK),
              ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(ant_mldsa65_verify(NULL, 0, msg, sizeof msg, NULL, 0, pk, PK),
              ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(ant_mldsa65_verify_internal(sig, SIG - 1, msg, sizeof msg, pk, PK),
              ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, NULL, 0, pk, PK - 1),
              ANT_ERR_BAD_KEY);
    CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, NULL, 0, pk, PK + 1),
              ANT_ERR_BAD_KEY);
    CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, NULL, 0, NULL, 0), ANT_ERR_BAD_KEY);
    CHECK_ERR(ant_mldsa65_verifier_new(&v, pk, PK - 1, NULL, 0), ANT_ERR_BAD_KEY);
    CHECK_OK(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, NULL, 0, pk, PK));

    /* The streaming verifier applies the same length rule at the end. */
    CHECK_OK(ant_mldsa65_verifier_new(&v, pk, PK, NULL, 0));
    CHECK_OK(ant_mldsa65_verifier_update(v, msg, sizeof msg));
    CHECK_ERR(ant_mldsa65_verifier_final(v, longsig, SIG + 1), ANT_ERR_BAD_SIGNATURE);
    ant_mldsa65_verifier_free(v);
}

/* Signs messages until the hint part has what `want` asks for, then returns it. */
static int sign_with_hints(uint8_t *sig, const uint8_t *sk, int (*want)(const uint8_t *h))
{
    uint8_t msg[8] = {0};
    for (uint32_t i = 0; i < 200; i++) {
        memcpy(msg, &i, sizeof i);
        if (ant_mldsa65_sign_deterministic(sig, msg, sizeof msg, NULL, 0, sk) != ANT_OK)
            return -1;
        if (want(sig + HINTS))
            return (int)i;
    }
    return -1;
}

/* Some polynomial has two or more hints. */
static int has_pair(const uint8_t *h)
{
    unsigned prev = 0;
    for (int i = 0; i < K; i++) {
        if (h[OMEGA + i] >= prev + 2)
            return 1;
        prev = h[OMEGA + i];
    }
    return 0;
}

/* Fewer than omega hints in total, so padding bytes exist. */
static int has_padding(const uint8_t *h) { return h[OMEGA + K - 1] < OMEGA && has_pair(h); }

static void verify_msg_for(const uint8_t *sig, int i, const uint8_t *pk, ant_err want)
{
    uint8_t msg[8] = {0};
    uint32_t n = (uint32_t)i;
    memcpy(msg, &n, sizeof n);
    CHECK_ERR(ant_mldsa65_verify(sig, SIG, msg, sizeof msg, NULL, 0, pk, PK), want);
}

static void test_malformed_hints_rejected(void)
{
    static uint8_t pk[PK], sk[SK], sig[SIG], bad[SIG];
    keypair_from(pk, sk, 3);
    int i = sign_with_hints(sig, sk, has_padding);
    CHECK(i >= 0);
    if (i < 0)
        return;
    verify_msg_for(sig, i, pk, ANT_OK);
    uint8_t *h = bad + HINTS;

    /* Swap two indices of one polynomial: the same set of hints, but not in strictly
     * increasing order, which only a strict decoder notices. */
    unsigned start = 0;
    int hpoly = -1;
    for (int p = 0; p < K; p++) {
        if (sig[HINTS + OMEGA + p] >= start + 2) {
            hpoly = p;
            break;
        }
        start = sig[HINTS + OMEGA + p];
    }
    CHECK(hpoly >= 0);
    memcpy(bad, sig, SIG);
    uint8_t t = h[start];
    h[start] = h[start + 1];
    h[start + 1] = t;
    verify_msg_for(bad, i, pk, ANT_ERR_BAD_SIGNATURE);

    /* A repeated index. */
    memcpy(bad, sig, SIG);
    h[start + 1] = h[start];
    verify_msg_for(bad, i, pk, ANT_ERR_BAD_SIGNATURE);

    /* A non-zero padding byte after the last used index (ignored by a lax decoder). */
    unsigned used = sig[HINTS + OMEGA + K - 1];
    for (unsigned pad = used; pad < OMEGA; pad++) {
        memcpy(bad, sig, SIG);
        h[pad] = 1;
        verify_msg_for(bad, i, pk, ANT_ERR_BAD_SIGNATURE);
    }

    /* More than omega hints: a running count above 55. */
    memcpy(bad, sig, SIG);
    h[OMEGA + K - 1] = OMEGA + 1;
    verify_msg_for(bad, i, pk, ANT_ERR_BAD_SIGNATURE);
    memcpy(bad, sig, SIG);
    h[OMEGA + K - 1] = 255;
    verify_msg_for(bad, i, pk, ANT_ERR_BAD_SIGNATURE);

    /* Running counts that decrease. */
    for (int p = 1; p < K; p++) {
        if (sig[HINTS + OMEGA + p - 1] == 0)
            continue;
        memcpy(bad, sig, SIG);
        h[OMEGA + p] = (uint8_t)(h[OMEGA + p - 1] - 1);
        verify_msg_for(bad, i, pk, ANT_ERR_BAD_SIGNATURE);
    }
}

/* Reads / writes the 20-bit field j of polynomial p of z (stored as gamma1 - z). */
static uint32_t zfield_get(const uint8_t *sig, int p, int j)
{
    size_t bit = (size_t)(48 + p * 640) * 8 + (size_t)j * 20;
    uint32_t v = 0;
    for (int b = 0; b < 20; b++, bit++)
        v |= (uint32_t)((sig[bit / 8] >> (bit % 8)) & 1) << b;
    return v;
}

static void zfield_set(uint8_t *sig, int p, int j, uint32_t v)
{
    size_t bit = (size_t)(48 + p * 640) * 8 + (size_t)j * 20;
    for (int b = 0; b < 20; b++, bit++) {
        sig[bit / 8] &= (uint8_t)~(1u << (bit % 8));
        sig[bit / 8] |= (uint8_t)(((v >> b) & 1) << (bit % 8));
    }
}

static void test_z_out_of_range_rejected(void)
{
    static uint8_t pk[PK], sk[SK], sig[SIG], bad[SIG];
    const uint8_t msg[] = "z";
    keypair_from(pk, sk, 4);
    CHECK_OK(ant_mldsa65_sign_deterministic(sig, msg, sizeof msg, NULL, 0, sk));

    /* The helpers decode what the signer encoded: every |z| < gamma1 - beta. */
    int32_t maxabs = 0;
    for (int p = 0; p < 5; p++)
        for (int j = 0; j < 256; j++) {
            int32_t z = GAMMA1 - (int32_t)zfield_get(sig, p, j);
            if (abs(z) > maxabs)
                maxabs = abs(z);
        }
    CHECK(maxabs < GAMMA1 - BETA && maxabs > GAMMA1 / 2);

    /* Re-encode one coefficient at the bound and beyond, in several places. */
    const int32_t values[] = {GAMMA1 - BETA, -(GAMMA1 - BETA), GAMMA1, -GAMMA1 + 1,
                              GAMMA1 - BETA + 1};
    for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
        for (int p = 0; p < 5; p += 2) {
            memcpy(bad, sig, SIG);
            zfield_set(bad, p, (int)(v * 37 + (size_t)p) % 256,
                       (uint32_t)(GAMMA1 - values[v]));
            CHECK_ERR(ant_mldsa65_verify(bad, SIG, msg, sizeof msg, NULL, 0, pk, PK),
                      ANT_ERR_BAD_SIGNATURE);
        }
    }
    /* Re-encoding an unchanged value keeps the signature valid (the helpers are right). */
    memcpy(bad, sig, SIG);
    zfield_set(bad, 3, 100, zfield_get(sig, 3, 100));
    CHECK_OK(ant_mldsa65_verify(bad, SIG, msg, sizeof msg, NULL, 0, pk, PK));
}

/* Feeds `len` bytes in random pieces, with empty updates sprinkled in. */
static ant_err feed(ant_err (*update)(void *, const uint8_t *, size_t), void *obj,
                    const uint8_t *msg, size_t len)
{
    ant_err err = ANT_OK;
    for (size_t off = 0; err == ANT_OK && off <= len;) {
        size_t piece = rnd32() % 4 == 0 ? 0 : rnd32() % (1u + (rnd32() % 2 ? 64u : 3000u));
        if (piece > len - off)
            piece = len - off;
        err = update(obj, msg + off, piece);
        if (off == len)
            break;
        off += piece;
    }
    return err;
}

static ant_err vupdate(void *v, const uint8_t *d, size_t n)
{
    return ant_mldsa65_verifier_update(v, d, n);
}

static ant_err supdate(void *s, const uint8_t *d, size_t n)
{
    return ant_mldsa65_signer_update(s, d, n);
}

static void test_streaming_equals_oneshot(void)
{
    static uint8_t pk[PK], sk[SK], one[SIG], streamed[SIG], msg[20000];
    uint8_t ctx[255], mu[64], zero[32] = {0};
    keypair_from(pk, sk, 5);
    for (int trial = 0; trial < 40; trial++) {
        size_t msglen = trial == 0 ? 0 : rnd32() % sizeof msg;
        size_t ctxlen = trial == 1 ? 0 : rnd32() % 256;
        struct ant_mldsa65_verifier *v = NULL;
        struct ant_mldsa65_signer *s = NULL;
        fill(msg, msglen);
        fill(ctx, ctxlen);

        CHECK_OK(ant_mldsa65_sign_deterministic(one, msg, msglen, ctx, ctxlen, sk));
        CHECK_OK(ant_mldsa65_signer_new(&s, sk, ctx, ctxlen, 1));
        CHECK_OK(feed(supdate, s, msg, msglen));
        CHECK_OK(ant_mldsa65_signer_final(s, streamed));
        CHECK_MSG(memcmp(one, streamed, SIG) == 0, "trial %d msglen %zu ctxlen %zu", trial,
                  msglen, ctxlen);
        CHECK_ERR(ant_mldsa65_signer_update(s, msg, 1), ANT_ERR_INVALID_ARG);
        CHECK_ERR(ant_mldsa65_signer_final(s, streamed), ANT_ERR_INVALID_ARG);
        CHECK(all_zero(streamed, SIG));
        ant_mldsa65_signer_free(s);

        CHECK_OK(ant_mldsa65_verifier_new(&v, pk, PK, ctx, ctxlen));
        CHECK_OK(feed(vupdate, v, msg, msglen));
        CHECK_OK(ant_mldsa65_verifier_final(v, one, SIG));
        CHECK_ERR(ant_mldsa65_verifier_update(v, msg, 1), ANT_ERR_INVALID_ARG);
        ant_mldsa65_verifier_free(v);

        /* A streamed mu signs and verifies as external mu, with the same result. */
        CHECK_OK(ant_mldsa65_verifier_new(&v, pk, PK, ctx, ctxlen));
        CHECK_OK(feed(vupdate, v, msg, msglen));
        CHECK_OK(ant_mldsa65_verifier_final_mu(v, mu));
        ant_mldsa65_verifier_free(v);
        CHECK_OK(ant_mldsa65_verify_mu(one, SIG, mu, pk, PK));
        CHECK_OK(ant_mldsa65_sign_mu(streamed, mu, zero, sk));
        CHECK_MEM(one, streamed, SIG);

        /* The streamed verifier rejects a signature over a different message. */
        if (msglen > 0) {
            msg[rnd32() % msglen] ^= 1;
            CHECK_OK(ant_mldsa65_verifier_new(&v, pk, PK, ctx, ctxlen));
            CHECK_OK(feed(vupdate, v, msg, msglen));
            CHECK_ERR(ant_mldsa65_verifier_final(v, one, SIG), ANT_ERR_BAD_SIGNATURE);
            ant_mldsa65_verifier_free(v);
        }
    }
    /* A hedged streaming signature verifies one-shot. */
    struct ant_mldsa65_signer *s = NULL;
    CHECK_OK(ant_mldsa65_signer_new(&s, sk, NULL, 0, 0));
    CHECK_OK(ant_mldsa65_signer_update(s, msg, 1000));
    CHECK_OK(ant_mldsa65_signer_final(s, streamed));
    ant_mldsa65_signer_free(s);
    CHECK_OK(ant_mldsa65_verify(streamed, SIG, msg, 1000, NULL, 0, pk, PK));
}

static void test_pk_from_sk(void)
{
    static uint8_t pk[PK], sk[SK], got[PK], bad[SK];
    keypair_from(pk, sk, 6);
    CHECK_OK(ant_mldsa65_pk_from_sk(got, sk, SK));
    CHECK_MEM(got, pk, PK);
    CHECK_ERR(ant_mldsa65_pk_from_sk(got, sk, SK - 1), ANT_ERR_BAD_KEY);
    CHECK(all_zero(got, PK));

    /* s1 and s2 nibbles above 2 eta = 8 are not valid encodings. */
    const size_t offsets[] = {128, 128 + 639, 128 + 640, 128 + 640 + 767};
    for (size_t i = 0; i < 4; i++) {
        memcpy(bad, sk, SK);
        bad[offsets[i]] = (uint8_t)((bad[offsets[i]] & 0x0F) | 0x90);
        CHECK_ERR(ant_mldsa65_pk_from_sk(got, bad, SK), ANT_ERR_BAD_KEY);
        CHECK(all_zero(got, PK));
    }
    /* A valid-looking but different s1 coefficient no longer matches t0. */
    memcpy(bad, sk, SK);
    bad[200] = (uint8_t)((bad[200] & 0xF0) | ((bad[200] & 0x0F) == 4 ? 5 : 4));
    CHECK_ERR(ant_mldsa65_pk_from_sk(got, bad, SK), ANT_ERR_BAD_KEY);
    /* A changed t0 or tr is caught; rho changes t1 and so t0. */
    const size_t tampers[] = {0, 64, 127, 4031, 2000};
    for (size_t i = 0; i < 5; i++) {
        memcpy(bad, sk, SK);
        bad[tampers[i]] ^= 1;
        CHECK_ERR(ant_mldsa65_pk_from_sk(got, bad, SK), ANT_ERR_BAD_KEY);
    }
    /* K (bytes 32..63) is free randomness and cannot be checked. */
    memcpy(bad, sk, SK);
    bad[40] ^= 1;
    CHECK_OK(ant_mldsa65_pk_from_sk(got, bad, SK));
}

static int failing_rng(uint8_t *buf, size_t len)
{
    memset(buf, 0x5A, len); /* a failing source may have written garbage */
    return -1;
}

static int fixed_rng(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i + 1);
    return 0;
}

static void test_rng_failure(void)
{
    static uint8_t pk[PK], sk[SK], sig[SIG], pk2[PK], sk2[SK];
    struct ant_mldsa65_signer *s = NULL;
    keypair_from(pk2, sk2, 7);

    ant_mldsa65_set_rng_for_testing(failing_rng);
    memset(pk, 0xAA, PK);
    memset(sk, 0xAA, SK);
    CHECK_ERR(ant_mldsa65_keypair(pk, sk), ANT_ERR_RNG);
    CHECK(all_zero(pk, PK));
    CHECK(all_zero(sk, SK));
    memset(sig, 0xAA, SIG);
    CHECK_ERR(ant_mldsa65_sign(sig, (const uint8_t *)"m", 1, NULL, 0, sk2), ANT_ERR_RNG);
    CHECK(all_zero(sig, SIG));
    CHECK_OK(ant_mldsa65_signer_new(&s, sk2, NULL, 0, 0));
    CHECK_OK(ant_mldsa65_signer_update(s, (const uint8_t *)"m", 1));
    memset(sig, 0xAA, SIG);
    CHECK_ERR(ant_mldsa65_signer_final(s, sig), ANT_ERR_RNG);
    CHECK(all_zero(sig, SIG));
    ant_mldsa65_signer_free(s);
    /* Deterministic signing needs no randomness. */
    CHECK_OK(ant_mldsa65_sign_deterministic(sig, (const uint8_t *)"m", 1, NULL, 0, sk2));
    CHECK_OK(ant_mldsa65_verify(sig, SIG, (const uint8_t *)"m", 1, NULL, 0, pk2, PK));

    /* The hook really is the source of the seed. */
    uint8_t seed[32];
    ant_mldsa65_set_rng_for_testing(fixed_rng);
    CHECK_OK(ant_mldsa65_keypair(pk, sk));
    fixed_rng(seed, sizeof seed);
    CHECK_OK(ant_mldsa65_keypair_from_seed(pk2, sk2, seed));
    CHECK_MEM(pk, pk2, PK);
    CHECK_MEM(sk, sk2, SK);

    ant_mldsa65_set_rng_for_testing(NULL);
    CHECK_OK(ant_mldsa65_keypair(pk2, sk2));
    CHECK(memcmp(pk, pk2, PK) != 0);
}

static void test_bad_arguments(void)
{
    static uint8_t pk[PK], sk[SK], sig[SIG];
    uint8_t mu[64] = {0};
    keypair_from(pk, sk, 8);
    CHECK_ERR(ant_mldsa65_keypair_from_seed(pk, sk, NULL), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_mldsa65_sign(sig, NULL, 5, NULL, 0, sk), ANT_ERR_INVALID_ARG);
    CHECK(all_zero(sig, SIG));
    CHECK_ERR(ant_mldsa65_sign(sig, (const uint8_t *)"m", 1, NULL, 3, sk), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_mldsa65_sign_mu(sig, mu, NULL, sk), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_mldsa65_verify_mu(sig, SIG, NULL, pk, PK), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_mldsa65_verifier_final(NULL, sig, SIG), ANT_ERR_INVALID_ARG);
    ant_mldsa65_verifier_free(NULL);
    ant_mldsa65_signer_free(NULL);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_round_trip_and_determinism),
    ANT_TEST(test_flipped_bits_rejected),
    ANT_TEST(test_context_and_length_limits),
    ANT_TEST(test_malformed_hints_rejected),
    ANT_TEST(test_z_out_of_range_rejected),
    ANT_TEST(test_streaming_equals_oneshot),
    ANT_TEST(test_pk_from_sk),
    ANT_TEST(test_rng_failure),
    ANT_TEST(test_bad_arguments),
};

ANT_TEST_MAIN_MLDSA_BACKENDS(cases)
