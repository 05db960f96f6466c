/*
 * Backend selection for ML-DSA-65 and the portable backend's matrix and sampler
 * compositions (the polynomial kernels themselves are in mldsa65_poly.c).
 *
 * The choice is made once, on first use, from CPUID and XGETBV: the AVX2 backend needs the
 * CPU to have AVX2 and the OS to save the YMM registers (XCR0 bits 1 and 2); its build for
 * AVX-512VL also needs AVX-512F/VL and XCR0 bits 5-7. There is no
 * environment switch: the only way to pick the portable backend on an AVX2 machine is the
 * test-only mldsa_backend_force_for_testing(), declared in an internal header.
 */
#include "crypto/mldsa65_backend.h"

#include <pthread.h>
#include <string.h>

#include "crypto/keccak.h"

#if defined(MLDSA_HAVE_AVX2_BACKEND)
#include <cpuid.h>
#endif

/* --- portable compositions ----------------------------------------------------------- */

/* Rows two at a time, entries generated pairwise on the two-lane Keccak and never stored;
 * products accumulated exactly in 64 bits and reduced once. */
static void portable_matvec_expand(poly w[MLDSA_K], const uint8_t rho[32],
                                   const poly vhat[MLDSA_L])
{
    _Static_assert(MLDSA_K % 2 == 0, "rows are processed in pairs");
    poly a[2];
    int64_t acc[2][MLDSA_N];
    for (int i = 0; i < MLDSA_K; i += 2) {
        memset(acc, 0, sizeof acc);
        for (int j = 0; j < MLDSA_L; j++) {
            poly_uniform_x2(&a[0], &a[1], rho, (uint8_t)j, (uint8_t)i, (uint8_t)j,
                            (uint8_t)(i + 1));
            poly_mul_acc64(acc[0], &a[0], &vhat[j]);
            poly_mul_acc64(acc[1], &a[1], &vhat[j]);
        }
        poly_from_acc64(&w[i], acc[0]);
        poly_from_acc64(&w[i + 1], acc[1]);
    }
}

/* ExpandA (Alg. 32), two entries at a time in row-major order. */
static void portable_expand_matrix(poly mat[MLDSA_K][MLDSA_L], const uint8_t rho[32])
{
    _Static_assert(MLDSA_K * MLDSA_L % 2 == 0, "matrix entries are sampled in pairs");
    for (int e = 0; e < MLDSA_K * MLDSA_L; e += 2) {
        const int i0 = e / MLDSA_L, j0 = e % MLDSA_L;
        const int i1 = (e + 1) / MLDSA_L, j1 = (e + 1) % MLDSA_L;
        poly_uniform_x2(&mat[i0][j0], &mat[i1][j1], rho, (uint8_t)j0, (uint8_t)i0,
                        (uint8_t)j1, (uint8_t)i1);
    }
}

static void portable_matvec(poly w[MLDSA_K], const poly mat[MLDSA_K][MLDSA_L],
                            const poly vhat[MLDSA_L])
{
    int64_t acc[MLDSA_N];
    for (int i = 0; i < MLDSA_K; i++) {
        memset(acc, 0, sizeof acc);
        for (int j = 0; j < MLDSA_L; j++)
            poly_mul_acc64(acc, &mat[i][j], &vhat[j]);
        poly_from_acc64(&w[i], acc);
    }
}

/* s1 || s2 as one list of l + k polynomials, indexed by their ExpandS nonce. */
static poly *s_poly(poly s1[MLDSA_L], poly s2[MLDSA_K], int n)
{
    return n < MLDSA_L ? &s1[n] : &s2[n - MLDSA_L];
}

static void portable_expand_s(poly s1[MLDSA_L], poly s2[MLDSA_K], const uint8_t rhoprime[64])
{
    for (int n = 0; n < MLDSA_L + MLDSA_K; n += 2) {
        if (n + 1 < MLDSA_L + MLDSA_K)
            poly_uniform_eta_x2(s_poly(s1, s2, n), s_poly(s1, s2, n + 1), rhoprime,
                                (uint16_t)n, (uint16_t)(n + 1));
        else
            poly_uniform_eta(s_poly(s1, s2, n), rhoprime, (uint16_t)n);
    }
}

static void portable_expand_mask(poly y[MLDSA_L], const uint8_t rhopp[64], uint16_t kappa,
                                 struct mldsa_mask_cache *cache)
{
    (void)cache; /* two at a time: nothing is generated ahead */
    for (int j = 0; j + 1 < MLDSA_L; j += 2)
        poly_uniform_gamma1_x2(&y[j], &y[j + 1], rhopp, (uint16_t)(kappa + j),
                               (uint16_t)(kappa + j + 1));
    if (MLDSA_L % 2 != 0)
        poly_uniform_gamma1(&y[MLDSA_L - 1], rhopp, (uint16_t)(kappa + MLDSA_L - 1));
}

const struct mldsa_backend mldsa_backend_portable = {
    .name = "portable",
    .ntt = poly_ntt,
    .invntt_tomont = poly_invntt_tomont,
    .matvec_expand = portable_matvec_expand,
    .expand_matrix = portable_expand_matrix,
    .matvec = portable_matvec,
    .expand_s = portable_expand_s,
    .expand_mask = portable_expand_mask,
    .mul_challenge = poly_mul_challenge,
    .mul_challenge_eta = poly_mul_challenge,
    .add = poly_add,
    .sub = poly_sub,
    .reduce = poly_reduce,
    .freeze = poly_freeze,
    .caddq = poly_caddq,
    .chknorm = poly_chknorm,
    .decompose = poly_decompose,
    .pack_w1 = polyw1_pack,
    .unpack_eta = polyeta_unpack,
    .unpack_t0 = polyt0_unpack,
    .unpack_z = polyz_unpack,
    .use_hint = poly_use_hint,
};

/* --- selection ------------------------------------------------------------------------ */

static const struct mldsa_backend *native = &mldsa_backend_portable;
static const struct mldsa_backend *forced;
static pthread_once_t select_once = PTHREAD_ONCE_INIT;

#if defined(MLDSA_HAVE_AVX2_BACKEND)
/* XCR0 through the instruction itself: the _xgetbv intrinsic would need -mxsave. */
static uint64_t read_xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static int cpu_has_avx2(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return 0;
    /* OSXSAVE (bit 27) must be set before XGETBV may be executed; AVX is bit 28. */
    if ((ecx & (1u << 27)) == 0 || (ecx & (1u << 28)) == 0)
        return 0;
    if ((read_xcr0() & 6u) != 6u) /* XMM and YMM state enabled by the OS */
        return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return 0;
    /* AVX2 (bit 5), and BMI1 (bit 3) and BMI2 (bit 8) for the scalar Keccak build that
     * goes with this backend; every AVX2 CPU has them, but nothing says so. */
    return (ebx & (1u << 5)) != 0 && (ebx & (1u << 3)) != 0 && (ebx & (1u << 8)) != 0;
}

/* AVX-512F (leaf 7 EBX bit 16) and AVX-512VL (bit 31), with the opmask and upper ZMM
 * state enabled by the OS (XCR0 bits 5-7). Only asked once AVX2 is known to be usable. */
static int cpu_has_avx512vl(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return 0;
    if ((ebx & (1u << 16)) == 0 || (ebx & (1u << 31)) == 0)
        return 0;
    return (read_xcr0() & 0xE6u) == 0xE6u;
}
#endif

static void select_backend(void)
{
    mldsa_tables_init();
#if defined(MLDSA_HAVE_AVX2_BACKEND)
    if (cpu_has_avx2()) {
        mldsa_avx2_init(); /* also for the test-only switch to plain AVX2 */
        native = &mldsa_backend_avx2;
        if (cpu_has_avx512vl()) {
            mldsa_avx512vl_init();
            native = &mldsa_backend_avx512vl;
        }
        keccak_use_bmi2(1);
    }
#endif
}

const struct mldsa_backend *mldsa_backend(void)
{
    (void)pthread_once(&select_once, select_backend);
    return forced != NULL ? forced : native;
}

const char *mldsa_backend_force_for_testing(int force)
{
    (void)pthread_once(&select_once, select_backend);
    forced = NULL;
    if (force == MLDSA_FORCE_PORTABLE)
        forced = &mldsa_backend_portable;
#if defined(MLDSA_HAVE_AVX2_BACKEND)
    else if (force == MLDSA_FORCE_AVX2 && native == &mldsa_backend_avx512vl)
        forced = &mldsa_backend_avx2;
    /* The portable backend hashes with the generic Keccak build too. */
    keccak_use_bmi2(mldsa_backend() != &mldsa_backend_portable);
#endif
    return mldsa_backend()->name;
}

const char *mldsa_backend_native_name(void)
{
    (void)pthread_once(&select_once, select_backend);
    return native->name;
}
