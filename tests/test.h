/*
 * A minimal test harness: each test file defines `static void test_x(void)` functions,
 * lists them in a table and calls ant_test_main(). A failed CHECK records the failure with
 * file:line and the test carries on, so one run shows every broken check. The closing line
 * is "N passed, N failed" and the exit status is non-zero on any failure.
 */
#ifndef ANT_TESTS_TEST_H
#define ANT_TESTS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ant/err.h"

struct ant_test_case {
    const char *name;
    void (*fn)(void);
};

extern int ant_test_failures; /* failures in the current test */

#define ANT_TEST(fn) {#fn, fn}

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);    \
            ant_test_failures++;                                                          \
        }                                                                                 \
    } while (0)

#define CHECK_MSG(cond, ...)                                                              \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "  %s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            ant_test_failures++;                                                          \
        }                                                                                 \
    } while (0)

/* Compares two ant_err values and prints both names when they differ. */
#define CHECK_ERR(expr, want)                                                             \
    do {                                                                                  \
        ant_err got_ = (expr);                                                            \
        ant_err want_ = (want);                                                           \
        if (got_ != want_) {                                                              \
            fprintf(stderr, "  %s:%d: %s = %d (%s), want %d (%s)\n", __FILE__, __LINE__,  \
                    #expr, (int)got_, ant_strerror(got_), (int)want_,                     \
                    ant_strerror(want_));                                                 \
            ant_test_failures++;                                                          \
        }                                                                                 \
    } while (0)

#define CHECK_OK(expr) CHECK_ERR((expr), ANT_OK)

#define CHECK_INT(a, b)                                                                   \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        if (a_ != b_) {                                                                   \
            fprintf(stderr, "  %s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #a, a_, \
                    b_);                                                                  \
            ant_test_failures++;                                                          \
        }                                                                                 \
    } while (0)

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *a_ = (a), *b_ = (b);                                                  \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                            \
            fprintf(stderr, "  %s:%d: %s = \"%s\", want \"%s\"\n", __FILE__, __LINE__, #a, \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                              \
            ant_test_failures++;                                                          \
        }                                                                                 \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

/* Runs every case (or only those named on the command line) and prints the summary. */
int ant_test_main(int argc, char **argv, const struct ant_test_case *cases, size_t count);

#define ANT_TEST_MAIN(table)                                                              \
    int ant_test_failures;                                                                \
    int main(int argc, char **argv)                                                       \
    {                                                                                     \
        return ant_test_main(argc, argv, table, sizeof(table) / sizeof(table[0]));        \
    }

#endif
