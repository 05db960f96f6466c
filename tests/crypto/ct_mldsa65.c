/*
 * Constant-time check of ML-DSA-65 key generation and signing under valgrind memcheck.
 *
 * The seed, the secret key (except rho and tr, which are public: rho is in pk and tr is
 * H(pk)) and the signing randomness are marked undefined; memcheck then reports every
 * branch and every memory index that depends on them. The library, compiled into this
 * program with ANT_CT_TESTING, declassifies only what FIPS 204 makes public (the ExpandS and
 * signing rejection decisions, c~, the accepted hint); this program declassifies the outputs
 * (pk, signature) before using them. Run as `valgrind --error-exitcode=1 ct_mldsa65`;
 * without valgrind the client requests are no-ops and it is a plain round-trip test.
 * Built under ANT_SANITIZE it exits 77 (skipped): valgrind and ASan do not mix.
 *
 * Both backends run: the one the library picks (AVX2 where the CPU has it; valgrind's
 * amd64 CPU model reports AVX2 but never AVX-512, so under valgrind this is the plain AVX2
 * backend, and the line "backend:" in the output says which ran), then the portable one
 * forced through the test-only switch. The AVX-512VL build of the four-way Keccak is the
 * same branch-free source as the AVX2 build, and is not run under valgrind.
 */
#include <stdio.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "ant/mldsa65.h"
#include "crypto/mldsa65_backend.h"

#define SKIP 77

#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

int main(void)
{
#if defined(ANT_CT_SKIP) && ANT_CT_SKIP == 1
    printf("SKIPPED: built with ANT_SANITIZE; valgrind and ASan do not mix\n");
    return SKIP;
#elif defined(ANT_CT_SKIP)
    printf("SKIPPED: valgrind is not installed (scripts/setup.sh installs it)\n");
    return SKIP;
#else
    static uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES], sk[ANT_MLDSA65_SECRETKEYBYTES];
    static uint8_t sig[ANT_MLDSA65_SIGBYTES];
    uint8_t seed[ANT_MLDSA65_SEEDBYTES], rnd[ANT_MLDSA65_RNDBYTES], msg[100], ctx[20];
    int failures = 0;

    printf("running under valgrind: %s\n", RUNNING_ON_VALGRIND ? "yes" : "no");
    for (int run = 0; run < 4; run++) {
        const int round = run % 2;
        if (round == 0)
            printf("backend: %s\n", mldsa_backend_force_for_testing(
                                         run / 2 ? MLDSA_FORCE_PORTABLE : MLDSA_FORCE_NONE));
        for (size_t i = 0; i < sizeof seed; i++)
            seed[i] = (uint8_t)(i * 13 + (size_t)round);
        SECRET(seed, sizeof seed);
        if (ant_mldsa65_keypair_from_seed(pk, sk, seed) != ANT_OK)
            failures++;
        PUBLIC(pk, sizeof pk);
        /* sk as a caller would hold it: secret apart from rho (bytes 0..31) and tr
         * (64..127). K and s1, s2, t0 stay undefined. */
        SECRET(sk, sizeof sk);
        PUBLIC(sk, 32);
        PUBLIC(sk + 64, 64);

        for (int m = 0; m < 2; m++) {
            for (size_t i = 0; i < sizeof msg; i++)
                msg[i] = (uint8_t)(i + (size_t)m);
            for (size_t i = 0; i < sizeof ctx; i++)
                ctx[i] = (uint8_t)(i ^ (size_t)m);
            for (size_t i = 0; i < sizeof rnd; i++)
                rnd[i] = (uint8_t)(i * 7 + (size_t)m);
            SECRET(rnd, sizeof rnd);

            /* Deterministic pure signing (the public API path). */
            if (ant_mldsa65_sign_deterministic(sig, msg, sizeof msg, ctx, sizeof ctx, sk) !=
                ANT_OK)
                failures++;
            PUBLIC(sig, sizeof sig);
            if (ant_mldsa65_verify(sig, sizeof sig, msg, sizeof msg, ctx, sizeof ctx, pk,
                                   sizeof pk) != ANT_OK)
                failures++;

            /* Sign_internal with secret rnd (the hedged path, rnd from the caller). */
            if (ant_mldsa65_sign_internal(sig, msg, sizeof msg, rnd, sk) != ANT_OK)
                failures++;
            PUBLIC(sig, sizeof sig);
            if (ant_mldsa65_verify_internal(sig, sizeof sig, msg, sizeof msg, pk, sizeof pk) !=
                ANT_OK)
                failures++;
        }
    }
    printf("%s (%d failures)\n", failures == 0 ? "ok" : "FAILED", failures);
    return failures == 0 ? 0 : 1;
#endif
}
