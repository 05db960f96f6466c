/*
 * Differential test of the ML-DSA-65 backends (src/crypto/mldsa65_backend.h): the backend
 * the library picks on this machine (AVX2, with the AVX-512VL Keccak where the CPU has it)
 * and plain AVX2 against the portable reference. First kernel by kernel on random and
 * extreme inputs: NTT, inverse NTT, matrix-vector product, Decompose, UseHint, the norm
 * check, add, sub, reduce, freeze, caddq, w1 packing, eta / t0 / z unpacking, the
 * challenge products, ExpandA, ExpandS, ExpandMask (with nonces that wrap at 2^16 and
 * with its cache across attempts). Then end to end: for 10 000 random seeds,
 * messages, contexts and rnd values, keys and signatures must be byte-identical and the
 * verification verdicts (of the signature and of a corrupted copy) equal (plain AVX2,
 * where it is not the native choice, on every fourth case).
 *
 * Iterations: 10 000 end-to-end cases in a plain build; 1 000 under ASan and 150 under
 * valgrind (scripts/check/valgrind-tests.py), which run the code 10-50 times slower; the
 * test prints the count it used. On a machine without AVX2 both sides are the portable
 * backend and the test says so (it still checks the dispatch answer against the CPU).
 */
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "ant/mldsa65.h"
#include "crypto/mldsa65_backend.h"
#include "test.h"

#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static uint64_t prng = 0x243F6A8885A308D3ull;
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

/* Uniform in [lo, hi], with the end points themselves one time in eight each. */
static int32_t coeff(int32_t lo, int32_t hi)
{
    uint32_t r = rnd32();
    if ((r & 7u) == 0)
        return lo;
    if ((r & 7u) == 1)
        return hi;
    const uint64_t span = (uint64_t)((int64_t)hi - lo + 1);
    return (int32_t)(lo + (int64_t)(rnd32() % span));
}

static void random_poly(poly *a, int32_t lo, int32_t hi)
{
    for (int i = 0; i < MLDSA_N; i++)
        a->c[i] = coeff(lo, hi);
}

static int end_to_end_iterations(void)
{
    if (RUNNING_ON_VALGRIND)
        return 150;
    return UNDER_ASAN ? 1000 : 10000;
}

/*
 * The vector backends compared with the portable one: the native choice and, where it is
 * the AVX-512VL variant, plain AVX2 too. Returns how many (1 or 2; both portable on a
 * machine without AVX2).
 */
static int vector_backends(const struct mldsa_backend *out[2])
{
    int n = 0;
    (void)mldsa_backend_force_for_testing(MLDSA_FORCE_NONE);
    out[n++] = mldsa_backend();
    (void)mldsa_backend_force_for_testing(MLDSA_FORCE_AVX2);
    if (mldsa_backend() != out[0])
        out[n++] = mldsa_backend();
    (void)mldsa_backend_force_for_testing(MLDSA_FORCE_NONE);
    return n;
}

static void for_each_vector_backend(void (*fn)(const struct mldsa_backend *be))
{
    const struct mldsa_backend *list[2];
    const int n = vector_backends(list);
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "  %s against portable\n", list[i]->name);
        fn(list[i]);
    }
}

static const struct mldsa_backend *const portable = &mldsa_backend_portable;

static void test_dispatch_matches_cpu(void)
{
    const char *name = mldsa_backend_native_name();
#if defined(MLDSA_HAVE_AVX2_BACKEND)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2"))
        CHECK_STR(name, "portable");
#else
    CHECK_STR(name, "portable");
#endif
    CHECK_STR(mldsa_backend_force_for_testing(MLDSA_FORCE_PORTABLE), "portable");
    CHECK(mldsa_backend() == portable);
#if defined(MLDSA_HAVE_AVX2_BACKEND)
    if (__builtin_cpu_supports("avx2")) {
        const int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
        CHECK_STR(name, avx512 ? "avx2+avx512vl" : "avx2");
        CHECK_STR(mldsa_backend_force_for_testing(MLDSA_FORCE_AVX2), "avx2");
    }
#endif
    CHECK_STR(mldsa_backend_force_for_testing(MLDSA_FORCE_NONE), name);
    fprintf(stderr, "  native backend: %s\n", name);
}

static void test_ntt_kernels_agree_with(const struct mldsa_backend *be)
{
    poly a, b;
    for (int it = 0; it < 10000; it++) {
        /* Forward: |in| < q (the NTT's contract); inverse: |in| < q as well. */
        random_poly(&a, -(MLDSA_Q - 1), MLDSA_Q - 1);
        b = a;
        portable->ntt(&a);
        be->ntt(&b);
        CHECK_MEM(a.c, b.c, sizeof a.c);
        random_poly(&a, -(MLDSA_Q - 1), MLDSA_Q - 1);
        b = a;
        portable->invntt_tomont(&a);
        be->invntt_tomont(&b);
        CHECK_MEM(a.c, b.c, sizeof a.c);
        random_poly(&a, 0, MLDSA_Q - 1);
        poly a1p, a0p, a1v, a0v;
        portable->decompose(&a1p, &a0p, &a);
        be->decompose(&a1v, &a0v, &a);
        CHECK_MEM(a1p.c, a1v.c, sizeof a1p.c);
        CHECK_MEM(a0p.c, a0v.c, sizeof a0p.c);
        /* chknorm around its bounds, and caddq on (-q, q) */
        static const int32_t bounds[] = {MLDSA_GAMMA1 - MLDSA_BETA, MLDSA_GAMMA2 - MLDSA_BETA,
                                         MLDSA_GAMMA2};
        const int32_t bound = bounds[it % 3];
        random_poly(&b, -bound, bound);
        CHECK_INT(portable->chknorm(&b, bound), be->chknorm(&b, bound));
        random_poly(&b, -(bound - 1), bound - 1);
        CHECK_INT(be->chknorm(&b, bound), 0);
        b.c[rnd32() % MLDSA_N] = (it & 1) ? bound : -bound;
        CHECK_INT(be->chknorm(&b, bound), 1);
        random_poly(&b, -(MLDSA_Q - 1), MLDSA_Q - 1);
        a1p = b;
        portable->caddq(&a1p);
        be->caddq(&b);
        CHECK_MEM(a1p.c, b.c, sizeof b.c);
        /* add, sub, reduce, freeze over the whole range reduce32 accepts */
        random_poly(&a1p, -(1 << 29), 1 << 29); /* sums stay inside int32 */
        random_poly(&a0p, -(1 << 29), 1 << 29);
        portable->add(&a1v, &a1p, &a0p);
        be->add(&a0v, &a1p, &a0p);
        CHECK_MEM(a1v.c, a0v.c, sizeof a0v.c);
        portable->sub(&a1v, &a1p, &a0p);
        be->sub(&a0v, &a1p, &a0p);
        CHECK_MEM(a1v.c, a0v.c, sizeof a0v.c);
        random_poly(&a1p, INT32_MIN, INT32_MAX - (1 << 22));
        a1v = a1p, a0v = a1p;
        portable->reduce(&a1v);
        be->reduce(&a0v);
        CHECK_MEM(a1v.c, a0v.c, sizeof a0v.c);
        a1v = a1p, a0v = a1p;
        portable->freeze(&a1v);
        be->freeze(&a0v);
        CHECK_MEM(a1v.c, a0v.c, sizeof a0v.c);
        uint8_t w1p[MLDSA_POLYW1_BYTES], w1v[MLDSA_POLYW1_BYTES];
        random_poly(&a1p, 0, 15);
        portable->pack_w1(w1p, &a1p);
        be->pack_w1(w1v, &a1p);
        CHECK_MEM(w1p, w1v, sizeof w1p);
        /* eta and t0 encodings, valid and not, read from exact-size heap copies (ASan) */
        uint8_t *eta_enc = malloc(MLDSA_POLYETA_BYTES), *t0_enc = malloc(MLDSA_POLYT0_BYTES);
        CHECK(eta_enc != NULL && t0_enc != NULL);
        if (eta_enc == NULL || t0_enc == NULL) {
            free(eta_enc);
            free(t0_enc);
            return;
        }
        fill(eta_enc, MLDSA_POLYETA_BYTES);
        if (it % 2 == 0) /* mostly valid: fields 0..8 */
            for (int i = 0; i < MLDSA_POLYETA_BYTES; i++)
                eta_enc[i] = (uint8_t)((eta_enc[i] & 0x0F) % 9 | ((eta_enc[i] >> 4) % 9) << 4);
        if (it % 4 == 0)
            eta_enc[rnd32() % MLDSA_POLYETA_BYTES] |= 0x90; /* one field of 9 */
        CHECK_INT(portable->unpack_eta(&a1p, eta_enc), be->unpack_eta(&a1v, eta_enc));
        CHECK_MEM(a1p.c, a1v.c, sizeof a1p.c);
        fill(t0_enc, MLDSA_POLYT0_BYTES);
        portable->unpack_t0(&a1p, t0_enc);
        be->unpack_t0(&a1v, t0_enc);
        CHECK_MEM(a1p.c, a1v.c, sizeof a1p.c);
        free(eta_enc);
        free(t0_enc);
        uint8_t enc[MLDSA_POLYZ_BYTES + MLDSA_UNPACK_Z_SLACK];
        fill(enc, sizeof enc);
        portable->unpack_z(&a1p, enc);
        be->unpack_z(&a1v, enc);
        CHECK_MEM(a1p.c, a1v.c, sizeof a1p.c);
        random_poly(&b, 0, 1); /* hints */
        portable->use_hint(&a1p, &a, &b);
        be->use_hint(&a1v, &a, &b);
        CHECK_MEM(a1p.c, a1v.c, sizeof a1p.c);
        if (ant_test_failures > 0)
            return;
    }
}

static void test_matvec_and_challenge_agree_with(const struct mldsa_backend *be)
{
    static poly mat[MLDSA_K][MLDSA_L], v[MLDSA_L], wp[MLDSA_K], wv[MLDSA_K];
    uint8_t rho[32], ctilde[MLDSA_CTILDEBYTES];
    for (int it = 0; it < 2000; it++) {
        for (int i = 0; i < MLDSA_K; i++)
            for (int j = 0; j < MLDSA_L; j++)
                random_poly(&mat[i][j], 0, MLDSA_Q - 1);
        for (int j = 0; j < MLDSA_L; j++) /* NTT outputs are below 9q in magnitude */
            random_poly(&v[j], -(9 * MLDSA_Q - 1), 9 * MLDSA_Q - 1);
        portable->matvec(wp, (const poly(*)[MLDSA_L])mat, v);
        be->matvec(wv, (const poly(*)[MLDSA_L])mat, v);
        CHECK_MEM(wp, wv, sizeof wp);

        fill(ctilde, sizeof ctilde);
        struct mldsa_challenge ch;
        poly_challenge(&ch, ctilde);
        int plus = 0;
        for (int k = 0; k < MLDSA_TAU; k++)
            plus += ch.neg[k] == 0;
        CHECK_INT(ch.nplus, plus);
        random_poly(&v[0], -(1 << 23), 1 << 23); /* covers t1 2^d, s1, s2 and t0 */
        portable->mul_challenge(&wp[0], &ch, &v[0]);
        be->mul_challenge(&wv[0], &ch, &v[0]);
        CHECK_MEM(wp[0].c, wv[0].c, sizeof wp[0].c);
        random_poly(&v[1], -MLDSA_ETA, MLDSA_ETA); /* s1, s2 */
        portable->mul_challenge_eta(&wp[1], &ch, &v[1]);
        be->mul_challenge_eta(&wv[1], &ch, &v[1]);
        CHECK_MEM(wp[1].c, wv[1].c, sizeof wp[1].c);
        portable->mul_challenge(&wp[2], &ch, &v[1]);
        CHECK_MEM(wp[1].c, wp[2].c, sizeof wp[1].c);

        if (it % 20 == 0) {
            fill(rho, sizeof rho);
            for (int j = 0; j < MLDSA_L; j++)
                random_poly(&v[j], -(9 * MLDSA_Q - 1), 9 * MLDSA_Q - 1);
            portable->matvec_expand(wp, rho, v);
            be->matvec_expand(wv, rho, v);
            CHECK_MEM(wp, wv, sizeof wp);
            static poly m2[MLDSA_K][MLDSA_L];
            portable->expand_matrix(mat, rho);
            be->expand_matrix(m2, rho);
            CHECK_MEM(mat, m2, sizeof mat);
        }
        if (ant_test_failures > 0)
            return;
    }
}

static void test_samplers_agree_with(const struct mldsa_backend *be)
{
    poly s1p[MLDSA_L], s2p[MLDSA_K], s1v[MLDSA_L], s2v[MLDSA_K];
    uint8_t seed[64];
    for (int it = 0; it < 1000; it++) {
        fill(seed, sizeof seed);
        portable->expand_s(s1p, s2p, seed);
        be->expand_s(s1v, s2v, seed);
        CHECK_MEM(s1p, s1v, sizeof s1p);
        CHECK_MEM(s2p, s2v, sizeof s2p);
        /* kappa = l * iteration in the signer; include values where kappa + j wraps. */
        uint16_t kappa = it < 10 ? (uint16_t)(65535 - it) : (uint16_t)(rnd32() % 5000u * 5u);
        /* A run of attempts as the signer makes them (kappa += l, the cache carried
         * over), then one that does not continue the run (the cache must be ignored). */
        struct mldsa_mask_cache cp = {.count = 0}, cv = {.count = 0};
        for (int attempt = 0; attempt < 6; attempt++) {
            const uint16_t kk = attempt < 5 ? (uint16_t)(kappa + MLDSA_L * attempt)
                                            : (uint16_t)(kappa + 1);
            portable->expand_mask(s1p, seed, kk, &cp);
            be->expand_mask(s1v, seed, kk, &cv);
            CHECK_MEM(s1p, s1v, sizeof s1p);
        }
        if (ant_test_failures > 0)
            return;
    }
}

static void test_ntt_kernels_agree(void)
{
    for_each_vector_backend(test_ntt_kernels_agree_with);
}

static void test_matvec_and_challenge_agree(void)
{
    for_each_vector_backend(test_matvec_and_challenge_agree_with);
}

static void test_samplers_agree(void)
{
    for_each_vector_backend(test_samplers_agree_with);
}

/* Even cases sign and verify M' directly (Sign_internal), odd ones the pure API. */
static ant_err verify_either(int it, const uint8_t *sig, const uint8_t *msg, size_t msglen,
                             const uint8_t *ctx, size_t ctxlen, const uint8_t *pk)
{
    if (it % 2 == 0)
        return ant_mldsa65_verify_internal(sig, ANT_MLDSA65_SIGBYTES, msg, msglen, pk,
                                           ANT_MLDSA65_PUBLICKEYBYTES);
    return ant_mldsa65_verify(sig, ANT_MLDSA65_SIGBYTES, msg, msglen, ctx, ctxlen, pk,
                              ANT_MLDSA65_PUBLICKEYBYTES);
}

static void test_keys_and_signatures_identical(void)
{
    static const int force[3] = {MLDSA_FORCE_PORTABLE, MLDSA_FORCE_NONE, MLDSA_FORCE_AVX2};
    static uint8_t pk[3][ANT_MLDSA65_PUBLICKEYBYTES], sk[3][ANT_MLDSA65_SECRETKEYBYTES];
    static uint8_t sig[3][ANT_MLDSA65_SIGBYTES], msg[300];
    uint8_t seed[32], rnd[32], ctx[255];
    const int n = end_to_end_iterations();
    int compared = 0;

    fprintf(stderr, "  %d random seeds/messages (%s)\n", n,
            RUNNING_ON_VALGRIND ? "valgrind" : UNDER_ASAN ? "ASan" : "plain build");
    for (int it = 0; it < n; it++) {
        const size_t msglen = rnd32() % (sizeof msg + 1);
        const size_t ctxlen = it % 3 == 0 ? 0 : rnd32() % (sizeof ctx + 1);
        ant_err verdict[3][2];
        fill(seed, sizeof seed);
        fill(rnd, sizeof rnd);
        fill(msg, msglen);
        fill(ctx, ctxlen);
        const size_t flip = rnd32() % (ANT_MLDSA65_SIGBYTES * 8);
        for (int b = 0; b < 3; b++) {
            if (b == 2 && it % 4 != 0) { /* plain AVX2 on every fourth case */
                memcpy(pk[2], pk[1], sizeof pk[2]);
                memcpy(sk[2], sk[1], sizeof sk[2]);
                memcpy(sig[2], sig[1], sizeof sig[2]);
                verdict[2][0] = verdict[1][0];
                verdict[2][1] = verdict[1][1];
                continue;
            }
            (void)mldsa_backend_force_for_testing(force[b]);
            CHECK_OK(ant_mldsa65_keypair_from_seed(pk[b], sk[b], seed));
            if (it % 2 == 0)
                CHECK_OK(ant_mldsa65_sign_internal(sig[b], msg, msglen, rnd, sk[b]));
            else
                CHECK_OK(ant_mldsa65_sign_deterministic(sig[b], msg, msglen, ctx, ctxlen,
                                                        sk[b]));
            verdict[b][0] = verify_either(it, sig[b], msg, msglen, ctx, ctxlen,
                                              pk[b]);
            /* A corrupted copy: usually rejected, the same way by both. */
            sig[b][flip / 8] ^= (uint8_t)(1u << (flip % 8));
            verdict[b][1] = verify_either(it, sig[b], msg, msglen, ctx, ctxlen,
                                              pk[b]);
            sig[b][flip / 8] ^= (uint8_t)(1u << (flip % 8));
        }
        for (int b = 1; b < 3; b++) {
            CHECK_MEM(pk[0], pk[b], sizeof pk[0]);
            CHECK_MEM(sk[0], sk[b], sizeof sk[0]);
            CHECK_MEM(sig[0], sig[b], sizeof sig[0]);
            CHECK_ERR(verdict[b][0], ANT_OK);
            CHECK_INT(verdict[0][1], verdict[b][1]);
        }
        CHECK_ERR(verdict[0][0], ANT_OK);
        if (ant_test_failures > 0)
            break;
        compared++;
    }
    (void)mldsa_backend_force_for_testing(MLDSA_FORCE_NONE);
    CHECK_INT(compared, n);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_dispatch_matches_cpu),
    ANT_TEST(test_ntt_kernels_agree),
    ANT_TEST(test_matvec_and_challenge_agree),
    ANT_TEST(test_samplers_agree),
    ANT_TEST(test_keys_and_signatures_identical),
};

ANT_TEST_MAIN(cases)
