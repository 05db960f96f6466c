/*
 * Internal arithmetic of ML-DSA-65 (FIPS 204): parameters, polynomials over
 * Z_q[X]/(X^256 + 1) with 32-bit coefficients, the Montgomery-form NTT, the rounding
 * functions, the samplers and the bit packing of keys and signatures. Used only by
 * mldsa65.c. Unless a function says otherwise it runs in constant time: no branch or memory
 * index depends on coefficient values.
 */
#ifndef ANT_CRYPTO_MLDSA65_POLY_H
#define ANT_CRYPTO_MLDSA65_POLY_H

#include <stddef.h>
#include <stdint.h>

/* FIPS 204, Table 1, ML-DSA-65. */
#define MLDSA_N 256
#define MLDSA_Q 8380417
#define MLDSA_D 13
#define MLDSA_K 6
#define MLDSA_L 5
#define MLDSA_ETA 4
#define MLDSA_TAU 49
#define MLDSA_BETA 196 /* tau * eta */
#define MLDSA_GAMMA1 (1 << 19)
#define MLDSA_GAMMA2 ((MLDSA_Q - 1) / 32)
#define MLDSA_OMEGA 55
#define MLDSA_CTILDEBYTES 48 /* lambda / 4 */

/* Encoded sizes (FIPS 204 §7.2). */
#define MLDSA_POLYT1_BYTES 320  /* 10 bits per coefficient */
#define MLDSA_POLYT0_BYTES 416  /* 13 bits */
#define MLDSA_POLYETA_BYTES 128 /* 4 bits */
#define MLDSA_POLYZ_BYTES 640   /* 20 bits */
#define MLDSA_POLYW1_BYTES 128  /* 4 bits */

/*
 * Under ANT_CT_TESTING (the valgrind constant-time test only) CT_DECLASSIFY tells memcheck
 * that a value FIPS 204 allows to be public is no longer secret; otherwise it is nothing.
 */
#ifdef ANT_CT_TESTING
#include <valgrind/memcheck.h>
#define CT_DECLASSIFY(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define CT_DECLASSIFY(p, n) ((void)(p), (void)(n))
#endif

typedef struct {
    int32_t c[MLDSA_N];
} poly;

/* Computes the NTT tables on first use (thread-safe); every entry point calls it. */
void mldsa_tables_init(void);

/* --- arithmetic -------------------------------------------------------------------- */
void poly_reduce(poly *a);    /* each coefficient to about (-q/1.33, q/1.33), same class */
void poly_caddq(poly *a);     /* adds q to negative coefficients */
void poly_freeze(poly *a);    /* canonical [0, q) */
void poly_add(poly *r, const poly *a, const poly *b);
void poly_sub(poly *r, const poly *a, const poly *b);
void poly_shiftl(poly *a);    /* multiplies by 2^d */
void poly_ntt(poly *a);       /* |in| < q -> |out| < 9q, bit-reversed order */
void poly_invntt_tomont(poly *a); /* |in| < q -> |out| < q, times 2^32 mod q */
/* Lazy accumulation of NTT-domain products: acc += a * b without reduction (the caller
 * keeps the sum under 2^31 q), then r = acc * 2^-32 with |r| < q. */
void poly_mul_acc64(int64_t acc[MLDSA_N], const poly *a, const poly *b);
void poly_from_acc64(poly *r, const int64_t acc[MLDSA_N]);
/* 1 if some |coefficient| >= bound (coefficients must be reduced), else 0; no early exit. */
uint32_t poly_chknorm(const poly *a, int32_t bound);

/* --- rounding (FIPS 204 §7.4) ------------------------------------------------------ */
void poly_power2round(poly *a1, poly *a0, const poly *a);
void poly_decompose(poly *a1, poly *a0, const poly *a);
/* h = MakeHint in the form used after the ct0 correction; returns the number of ones. */
uint32_t poly_make_hint(poly *h, const poly *a0, const poly *a1);
/* Public data only (verification). */
void poly_use_hint(poly *b, const poly *a, const poly *h);

/* --- sampling (FIPS 204 §7.3) ------------------------------------------------------- */
/* RejBoundedPoly(rho' || IntegerToBytes(nonce, 2)) with eta = 4. */
void poly_uniform_eta(poly *a, const uint8_t rhoprime[64], uint16_t nonce);
/* ExpandMask's polynomial: BitUnpack(H(rho'' || IntegerToBytes(nonce, 2)), gamma1-1, gamma1). */
void poly_uniform_gamma1(poly *a, const uint8_t rhopp[64], uint16_t nonce);
/* The challenge c as its tau non-zero terms: c = sum over k of (neg[k] ? -1 : 1) X^pos[k]. */
struct mldsa_challenge {
    uint8_t pos[MLDSA_TAU];
    uint8_t neg[MLDSA_TAU];
    /* The same terms grouped by sign: by_sign[0 .. nplus-1] are the positions of the +1
     * terms, the rest those of the -1 terms (for loops without a branch per term). */
    uint8_t by_sign[MLDSA_TAU];
    unsigned nplus;
};
/* RejNTTPoly(rho || s || r) (Alg. 30) for two entries A[r0][s0] and A[r1][s1] at once.
 * Public data. */
void poly_uniform_x2(poly *a0, poly *a1, const uint8_t rho[32], uint8_t s0, uint8_t r0,
                     uint8_t s1, uint8_t r1);
/* The two samplers above for two nonces at once; identical outputs to two single calls. */
void poly_uniform_eta_x2(poly *a0, poly *a1, const uint8_t rhoprime[64], uint16_t n0,
                         uint16_t n1);
void poly_uniform_gamma1_x2(poly *a0, poly *a1, const uint8_t rhopp[64], uint16_t n0,
                            uint16_t n1);
/* SampleInBall(c~) (Alg. 29). c~ must already be public. */
void poly_challenge(struct mldsa_challenge *c, const uint8_t ctilde[MLDSA_CTILDEBYTES]);
/* r = c a exactly over the integers mod X^256 + 1 (no reduction); |r| <= tau max|a|. */
void poly_mul_challenge(poly *r, const struct mldsa_challenge *c, const poly *a);

/* --- packing (FIPS 204 §7.1-7.2) ---------------------------------------------------- */
void polyt1_pack(uint8_t *r, const poly *a);
void polyt1_unpack(poly *a, const uint8_t *r);
void polyt0_pack(uint8_t *r, const poly *a);
void polyt0_unpack(poly *a, const uint8_t *r);
void polyeta_pack(uint8_t *r, const poly *a);
/* Returns 1 if some 4-bit field is above 2*eta (not a valid encoding), else 0. */
uint32_t polyeta_unpack(poly *a, const uint8_t *r);
void polyz_pack(uint8_t *r, const poly *a);
void polyz_unpack(poly *a, const uint8_t *r);
void polyw1_pack(uint8_t *r, const poly *a);

#endif
