/*
 * Benchmark of libant's ML-DSA-65: key generation (a fresh seed each time), hedged signing
 * of many different 1 KiB messages (signing time depends on the message through the
 * rejection loop, so one message would measure one lucky or unlucky case), and
 * verification of a 1 KiB message. Each operation is timed individually; the figures are
 * medians over all timed operations of its CPU time (CLOCK_THREAD_CPUTIME_ID: on a shared
 * machine other processes stretch wall time, not this thread's CPU time), its wall time
 * (CLOCK_MONOTONIC) and its cycles (time-stamp counter, x86-64 only), and the median over
 * runs of each run's wall-clock ops/s. Not a CTest test: bench/mldsa65/run.sh runs it
 * beside @noble/post-quantum.
 *
 * Each operation is measured on the portable backend (forced through the test-only switch
 * of src/crypto/mldsa65_backend.h, impl "ant-portable"), on plain AVX2 where the machine
 * also has AVX-512 (impl "ant-avx2"), and on the backend the library picks on this
 * machine (impl "ant"), one after the other, so all see the same machine load.
 *
 *   bench_mldsa65 [RUNS [OPS_PER_RUN]]     (defaults 7 and 300)
 *
 * Lines starting with "RESULT" are for run.sh:
 *   RESULT impl op wall_ops_per_s median_wall_ns median_cpu_ns
 * and one line "BACKEND name" says which backend "ant" is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "ant/mldsa65.h"
#include "crypto/mldsa65_backend.h"

#define MSGLEN 1024
#define MAX_RUNS 101

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t cycles(void)
{
#if defined(__x86_64__)
    return __rdtsc();
#else
    return 0;
#endif
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double median_double(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Deterministic filler so every run measures the same inputs. */
static void fill(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 24);
    }
}

enum op { OP_KEYGEN, OP_SIGN, OP_VERIFY };
static const char *const op_names[] = {"keygen", "sign", "verify"};

struct fixture {
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    uint8_t msg[MSGLEN];
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
};

/* One operation; returns non-zero on a failure (the benchmark then stops). */
static int do_op(enum op op, struct fixture *f, uint64_t i)
{
    switch (op) {
    case OP_KEYGEN: {
        uint8_t seed[ANT_MLDSA65_SEEDBYTES];
        uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
        uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
        fill(seed, sizeof seed, i);
        return ant_mldsa65_keypair_from_seed(pk, sk, seed) != ANT_OK;
    }
    case OP_SIGN: {
        uint8_t msg[MSGLEN];
        uint8_t sig[ANT_MLDSA65_SIGBYTES];
        fill(msg, sizeof msg, 1000003u + i);
        return ant_mldsa65_sign(sig, msg, sizeof msg, NULL, 0, f->sk) != ANT_OK;
    }
    case OP_VERIFY:
        return ant_mldsa65_verify(f->sig, sizeof f->sig, f->msg, sizeof f->msg, NULL, 0, f->pk,
                                  sizeof f->pk) != ANT_OK;
    }
    return 1;
}

int main(int argc, char **argv)
{
    long runs = argc > 1 ? strtol(argv[1], NULL, 10) : 7;
    long per = argc > 2 ? strtol(argv[2], NULL, 10) : 300;
    if (runs < 1 || runs > MAX_RUNS || per < 1 || per > 100000) {
        fprintf(stderr, "usage: %s [RUNS (1-%d) [OPS_PER_RUN (1-100000)]]\n", argv[0],
                MAX_RUNS);
        return 2;
    }
    printf("command:");
    for (int a = 0; a < argc; a++)
        printf(" %s", argv[a]);
    printf("\n");

    struct fixture f;
    uint8_t seed[ANT_MLDSA65_SEEDBYTES];
    fill(seed, sizeof seed, 42);
    fill(f.msg, sizeof f.msg, 7);
    if (ant_mldsa65_keypair_from_seed(f.pk, f.sk, seed) != ANT_OK ||
        ant_mldsa65_sign(f.sig, f.msg, sizeof f.msg, NULL, 0, f.sk) != ANT_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }

    size_t total = (size_t)runs * (size_t)per;
    uint64_t *ns = malloc(total * sizeof *ns), *cyc = malloc(total * sizeof *cyc);
    uint64_t *cpu = malloc(total * sizeof *cpu);
    double rate[MAX_RUNS];
    if (ns == NULL || cyc == NULL || cpu == NULL) {
        fprintf(stderr, "out of memory\n");
        free(ns);
        free(cyc);
        free(cpu);
        return 1;
    }
    printf("BACKEND %s\n", mldsa_backend_native_name());

    const char *native = mldsa_backend_native_name();
    for (int op = OP_KEYGEN; op <= OP_VERIFY; op++)
    for (int b = 0; b < 3; b++) {
        /* portable, then plain AVX2 (only where the native choice is something else),
         * then the native choice */
        static const int force[3] = {MLDSA_FORCE_PORTABLE, MLDSA_FORCE_AVX2, MLDSA_FORCE_NONE};
        static const char *const impls[3] = {"ant-portable", "ant-avx2", "ant"};
        const char *impl = impls[b];
        if (strcmp(mldsa_backend_force_for_testing(force[b]), native) == 0 && b == 1)
            continue;
        /* Warm-up: page in code and tables, let the clock settle. */
        for (uint64_t i = 0; i < 20; i++)
            if (do_op((enum op)op, &f, i) != 0)
                goto fail;
        for (long r = 0; r < runs; r++) {
            uint64_t run0 = now_ns();
            for (long k = 0; k < per; k++) {
                size_t idx = (size_t)r * (size_t)per + (size_t)k;
                uint64_t u0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), c0 = cycles(), t0 = now_ns();
                if (do_op((enum op)op, &f, (uint64_t)idx) != 0)
                    goto fail;
                uint64_t t1 = now_ns(), c1 = cycles(), u1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
                ns[idx] = t1 - t0;
                cyc[idx] = c1 - c0;
                cpu[idx] = u1 - u0;
            }
            rate[r] = (double)per * 1e9 / (double)(now_ns() - run0);
        }
        uint64_t mns = median_u64(ns, total), mcyc = median_u64(cyc, total);
        uint64_t mcpu = median_u64(cpu, total);
        double mrate = median_double(rate, (size_t)runs);
        printf("%-12s %-6s  median %8.1f us CPU = %7.0f ops/s; wall %8.1f us, %9llu cycles; "
               "runs %7.0f ops/s  (%ld runs x %ld)\n",
               impl, op_names[op], (double)mcpu / 1e3, 1e9 / (double)mcpu, (double)mns / 1e3,
               (unsigned long long)mcyc, mrate, runs, per);
        printf("RESULT %s %s %.1f %llu %llu\n", impl, op_names[op], mrate, (unsigned long long)mns,
               (unsigned long long)mcpu);
    }
    free(ns);
    free(cyc);
    free(cpu);
    return 0;
fail:
    fprintf(stderr, "an ML-DSA operation failed\n");
    free(ns);
    free(cyc);
    free(cpu);
    return 1;
}
