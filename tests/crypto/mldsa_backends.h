/*
 * Runs a test table once per ML-DSA-65 backend in the same process: first the one the
 * library picks on this machine (AVX2, with the AVX-512VL Keccak where the CPU has it),
 * then plain AVX2 if that is a different backend here, then the portable reference, each
 * forced through the test-only switch of src/crypto/mldsa65_backend.h. On a machine
 * without AVX2 the portable backend runs twice, and the output says so.
 */
#ifndef ANT_TESTS_CRYPTO_MLDSA_BACKENDS_H
#define ANT_TESTS_CRYPTO_MLDSA_BACKENDS_H

#include <stdio.h>
#include <string.h>

#include "crypto/mldsa65_backend.h"
#include "test.h"

static inline int ant_test_main_mldsa_backends(int argc, char **argv,
                                               const struct ant_test_case *cases, size_t n)
{
    static const int order[] = {MLDSA_FORCE_NONE, MLDSA_FORCE_AVX2, MLDSA_FORCE_PORTABLE};
    const char *native = mldsa_backend_force_for_testing(MLDSA_FORCE_NONE);
    int rc = 0;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *name = mldsa_backend_force_for_testing(order[i]);
        if (order[i] == MLDSA_FORCE_AVX2 && strcmp(name, native) == 0)
            continue; /* no AVX-512 here: plain AVX2 was the native run */
        fprintf(stderr, "=== ML-DSA-65 backend: %s%s\n", name,
                order[i] == MLDSA_FORCE_NONE ? " (native choice)" : " (forced)");
        rc |= ant_test_main(argc, argv, cases, n);
    }
    (void)mldsa_backend_force_for_testing(MLDSA_FORCE_NONE);
    return rc;
}

#define ANT_TEST_MAIN_MLDSA_BACKENDS(table)                                               \
    int ant_test_failures;                                                                \
    int main(int argc, char **argv)                                                       \
    {                                                                                     \
        return ant_test_main_mldsa_backends(argc, argv, table,                            \
                                            sizeof(table) / sizeof(table[0]));            \
    }

#endif
