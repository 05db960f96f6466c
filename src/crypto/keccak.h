/*
 * Keccak-f[1600] and the FIPS 202 functions the ML-DSA core needs: SHAKE128 and SHAKE256
 * with incremental absorb and incremental squeeze, and one-shot SHA3-256 / SHA3-512.
 * Internal to src/crypto: bulk hashing of big inputs goes through OpenSSL (ant/digest.h);
 * this Keccak exists because ML-DSA's samplers squeeze a stream piece by piece, which
 * OpenSSL 3.0 cannot do. Everything here is constant time in the data hashed.
 */
#ifndef ANT_CRYPTO_KECCAK_H
#define ANT_CRYPTO_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#define KECCAK_SHAKE128_RATE 168
#define KECCAK_SHAKE256_RATE 136
#define KECCAK_SHA3_256_RATE 136
#define KECCAK_SHA3_512_RATE 72

/*
 * A sponge in one of two phases. While absorbing, `pos` counts the bytes of the current
 * block already XORed into the state; after finalize, it counts the bytes of the current
 * output block already handed out (== rate means the block is used up).
 */
struct keccak_state {
    uint64_t s[25];
    unsigned rate;
    unsigned pos;
    int squeezing;
};

/* The permutation itself, 24 rounds, on lanes in FIPS 202 order (x + 5y). */
void keccak_f1600(uint64_t s[25]);

#if defined(__x86_64__) && defined(__GNUC__)
/* 1: use the build of the permutation for BMI1/BMI2 (the caller has checked the CPU);
 * 0: the generic build. Identical results; thread-safe. */
void keccak_use_bmi2(int on);
#endif

/* SHAKE128 / SHAKE256: init, absorb any number of times, finalize once, squeeze any number
 * of times. Absorbing after finalize is a programming error and is ignored. */
void shake128_init(struct keccak_state *st);
void shake256_init(struct keccak_state *st);
void shake_absorb(struct keccak_state *st, const uint8_t *in, size_t len);
void shake_finalize(struct keccak_state *st);
void shake_squeeze(struct keccak_state *st, uint8_t *out, size_t len);
/* Squeezes whole blocks (nblocks * rate bytes). Only valid right after finalize or after a
 * previous whole-block squeeze, i.e. when no partial output block is pending. */
void shake_squeezeblocks(struct keccak_state *st, uint8_t *out, size_t nblocks);

/* One-shot helpers. */
void shake128(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen);
void shake256(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen);
void sha3_256(uint8_t out[32], const uint8_t *in, size_t inlen);
void sha3_512(uint8_t out[64], const uint8_t *in, size_t inlen);

/* Zeroes the state (it may hold secret-derived data). */
void keccak_wipe(struct keccak_state *st);

/*
 * Two independent SHAKE instances run side by side (two-lane SIMD where the compiler has
 * 128-bit vectors), for the samplers that expand many polynomials from short seeds. Only
 * the shape they need: absorb one short input per instance (len < rate), then squeeze
 * whole blocks from both.
 */
struct keccakx2_state {
    _Alignas(16) uint64_t s[25][2]; /* lane i of instance k is s[i][k] */
    unsigned rate;
};

void shakex2_absorb_once(struct keccakx2_state *st, unsigned rate, const uint8_t *in0,
                         const uint8_t *in1, size_t len);
void shakex2_squeezeblocks(struct keccakx2_state *st, uint8_t *out0, uint8_t *out1,
                           size_t nblocks);
void keccakx2_wipe(struct keccakx2_state *st);

/*
 * Four instances side by side in 256-bit registers, same shape as the two-lane version.
 * Only on x86-64 with GCC or Clang. The squeeze comes in two builds of the same code:
 * _avx2 needs a CPU with AVX2, _avx512vl one with AVX-512F and AVX-512VL; the caller (the
 * ML-DSA vector backends) has checked.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define KECCAK_HAVE_X4 1
struct keccakx4_state {
    _Alignas(32) uint64_t s[25][4]; /* lane i of instance k is s[i][k] */
    unsigned rate;
};

void shakex4_absorb_once(struct keccakx4_state *st, unsigned rate, const uint8_t *const in[4],
                         size_t len);
void shakex4_squeezeblocks_avx2(struct keccakx4_state *st, uint8_t *const out[4],
                                size_t nblocks);
void shakex4_squeezeblocks_avx512vl(struct keccakx4_state *st, uint8_t *const out[4],
                                    size_t nblocks);
void keccakx4_wipe(struct keccakx4_state *st);
#endif

#endif
