/*
 * Runs a test table once per ML-DSA-65 backend in the same process: first the one the
 * library picks on this machine (AVX2 where the CPU has it), then the portable reference
 * forced through the test-only switch of src/crypto/mldsa65_backend.h. On a machine
 * without AVX2 both runs use the portable backend, and the output says so.
 */
#ifndef ANT_TESTS_CRYPTO_MLDSA_BACKENDS_H
#define ANT_TESTS_CRYPTO_MLDSA_BACKENDS_H

#include <stdio.h>

#include "crypto/mldsa65_backend.h"
#include "test.h"

static inline int ant_test_main_mldsa_backends(int argc, char **argv,
                                               const struct ant_test_case *cases, size_t n)
{
    int rc = 0;
    for (int force = 0; force <= 1; force++) {
        const char *name = mldsa_backend_force_portable_for_testing(force);
        fprintf(stderr, "=== ML-DSA-65 backend: %s%s\n", name,
                force ? " (forced)" : " (native choice)");
        rc |= ant_test_main(argc, argv, cases, n);
    }
    mldsa_backend_force_portable_for_testing(0);
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
