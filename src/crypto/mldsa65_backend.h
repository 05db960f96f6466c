/*
 * The ML-DSA-65 backends: the portable C code (mldsa65_poly.c, the specification-shaped
 * reference) and, on x86-64 CPUs with AVX2, a vectorised one (mldsa65_vector.inc) chosen once
 * at run time by CPUID and XGETBV. Both compute byte-identical keys and signatures: every
 * operation below is specified by its result, and the AVX2 versions perform the same
 * Montgomery products, in the same butterflies, as the portable ones, so even the
 * non-canonical intermediate representatives agree.
 *
 * The AVX2 code is compiled with per-function target attributes, so the build flags of the
 * library (and of the static musl builds) stay those of the portable code. Where the CPU
 * also has AVX-512F and AVX-512VL, the same kernels and the four-way Keccak run in a build
 * for those (same source on 256-bit vectors, with 32 registers and the rotate and
 * ternary-logic instructions).
 */
#ifndef ANT_CRYPTO_MLDSA65_BACKEND_H
#define ANT_CRYPTO_MLDSA65_BACKEND_H

#include <stdint.h>

#include "crypto/mldsa65_poly.h"

/* Bytes past a 640-byte z encoding that a backend's unpack_z may read (see below). */
#define MLDSA_UNPACK_Z_SLACK 6

/* Mask polynomials generated ahead of need: y for nonces first .. first + count - 1. */
struct mldsa_mask_cache {
    poly y[3];
    uint16_t first;
    unsigned count;
};

struct mldsa_backend {
    const char *name;
    void (*ntt)(poly *a);
    void (*invntt_tomont)(poly *a);
    /* w[i] = sum over j of A[i][j] vhat[j], times 2^-32, |w[i]| < q, for the matrix A =
     * ExpandA(rho) (FIPS 204 Alg. 32) generated on the fly and not stored. Public rho. */
    void (*matvec_expand)(poly w[MLDSA_K], const uint8_t rho[32], const poly vhat[MLDSA_L]);
    /* The whole matrix A = ExpandA(rho), for the signer, which uses it every iteration. */
    void (*expand_matrix)(poly mat[MLDSA_K][MLDSA_L], const uint8_t rho[32]);
    /* As matvec_expand with A given. */
    void (*matvec)(poly w[MLDSA_K], const poly mat[MLDSA_K][MLDSA_L],
                   const poly vhat[MLDSA_L]);
    /* ExpandS (FIPS 204 Alg. 33): s1 from nonces 0..l-1, s2 from l..l+k-1. */
    void (*expand_s)(poly s1[MLDSA_L], poly s2[MLDSA_K], const uint8_t rhoprime[64]);
    /* ExpandMask (Alg. 34): y[j] from nonce kappa + j. A backend may keep polynomials of
     * the following nonces in `cache` (count 0 before the first call for a rho''; wiped
     * by the caller with its other secrets) and take them from there next time. */
    void (*expand_mask)(poly y[MLDSA_L], const uint8_t rhopp[64], uint16_t kappa,
                        struct mldsa_mask_cache *cache);
    void (*mul_challenge)(poly *r, const struct mldsa_challenge *c, const poly *a);
    /* The same, for |a| <= eta only (s1, s2). */
    void (*mul_challenge_eta)(poly *r, const struct mldsa_challenge *c, const poly *a);
    /* The elementwise operations of mldsa65_poly.h, same contracts. */
    void (*add)(poly *r, const poly *a, const poly *b);
    void (*sub)(poly *r, const poly *a, const poly *b);
    void (*reduce)(poly *a);
    void (*freeze)(poly *a);
    void (*caddq)(poly *a);
    /* 1 if some |coefficient| >= bound, else 0; no early exit (poly_chknorm). */
    uint32_t (*chknorm)(const poly *a, int32_t bound);
    void (*decompose)(poly *a1, poly *a0, const poly *a);
    /* polyw1_pack (w1 coefficients in [0, 16)). */
    void (*pack_w1)(uint8_t *r, const poly *a);
    /* polyeta_unpack (returns 1 for a field above 2 eta) and polyt0_unpack; they read
     * exactly the encoding. */
    uint32_t (*unpack_eta)(poly *a, const uint8_t *in);
    void (*unpack_t0)(poly *a, const uint8_t *in);
    /* polyz_unpack, allowed to read MLDSA_UNPACK_Z_SLACK bytes past the 640 of `in`. */
    void (*unpack_z)(poly *a, const uint8_t *in);
    /* UseHint (FIPS 204 Alg. 40) for a in [0, q) and hints in {0, 1}; public data. */
    void (*use_hint)(poly *b, const poly *a, const poly *h);
};

/* The backend in use: AVX2 when the CPU and OS support it, otherwise portable. Thread-safe;
 * also builds the NTT tables. */
const struct mldsa_backend *mldsa_backend(void);

/* The portable backend, always available. */
extern const struct mldsa_backend mldsa_backend_portable;

/*
 * For tests only (declared here, not in include/ant): MLDSA_FORCE_PORTABLE makes every
 * later call use the portable backend even where AVX2 is available, MLDSA_FORCE_AVX2 the
 * AVX2 backend without AVX-512 (where the machine has AVX-512; otherwise it is the
 * automatic choice), MLDSA_FORCE_NONE restores the automatic choice. Returns the name of
 * the backend now in use. Not thread-safe; call it between operations.
 */
enum { MLDSA_FORCE_NONE = 0, MLDSA_FORCE_PORTABLE = 1, MLDSA_FORCE_AVX2 = 2 };
const char *mldsa_backend_force_for_testing(int force);

/* The name of the backend the automatic choice gives on this machine. */
const char *mldsa_backend_native_name(void);

#if defined(__x86_64__) && defined(__GNUC__)
#define MLDSA_HAVE_AVX2_BACKEND 1
extern const struct mldsa_backend mldsa_backend_avx2;
/* The same kernels built for AVX-512VL, with the AVX-512VL four-way Keccak. */
extern const struct mldsa_backend mldsa_backend_avx512vl;
/* Build each one's twiddle and sampler tables from the portable ones; called once by
 * mldsa_backend() for each backend the CPU can run. */
void mldsa_avx2_init(void);
void mldsa_avx512vl_init(void);
#endif

/* The portable NTT twiddles (zetas[i] = 1753^brv8(i) 2^32 mod q, centred) and their
 * products with q^-1 mod 2^32, for the AVX2 tables. Valid after mldsa_tables_init(). */
const int32_t *mldsa_zetas(void);
const int32_t *mldsa_zetas_qinv(void);
int32_t mldsa_invntt_scale(void);
int32_t mldsa_invntt_scale_qinv(void);

/* Pieces of the portable samplers the AVX2 backend reuses for the scalar tails. */
unsigned mldsa_rej_uniform(int32_t *a, unsigned ctr, const uint8_t *buf, size_t buflen);
unsigned mldsa_rej_eta(int32_t *a, unsigned ctr, const uint8_t *buf, size_t buflen);

#endif
