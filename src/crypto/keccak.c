/*
 * Keccak-f[1600] (FIPS 202 §3) and the sponge construction for SHAKE128/256 and
 * SHA3-256/512. The permutation keeps the 25 lanes in local variables and spells out one
 * round lane by lane, so the compiler can hold the state in registers; the sponge XORs and
 * extracts whole 64-bit little-endian lanes where it can and falls back to bytes only at the
 * ragged ends of a call. No branch or index depends on the data being hashed.
 */
#include "crypto/keccak.h"

#include <stdatomic.h>
#include <string.h>

#define ROL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/* Round constants: the output of the rc() LFSR of FIPS 202 Algorithm 5, one per round. */
static const uint64_t round_constants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL,
    0x8000000080008000ULL, 0x000000000000808bULL, 0x0000000080000001ULL,
    0x8000000080008081ULL, 0x8000000000008009ULL, 0x000000000000008aULL,
    0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL,
    0x8000000000008003ULL, 0x8000000000008002ULL, 0x8000000000000080ULL,
    0x000000000000800aULL, 0x800000008000000aULL, 0x8000000080008081ULL,
    0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/*
 * One round from state A to state E: theta (column parities c, their mixes d), then, one
 * output plane y at a time, rho and pi (lane A[x][y], rotated, lands in b[y][2x+3y]; the
 * five b of plane y are gathered here) and chi into E[.][y]; iota. Producing E plane by
 * plane keeps about 35 values live instead of 50 (every A lane is read once after theta),
 * which lets the compiler keep more of them in registers: 7% faster here for the scalar
 * and the vector builds. Lane Axy is lane x + 5y of the state.
 */
#define KECCAK_ROUND(A, E, rc) \
    c0 = A##00 ^ A##01 ^ A##02 ^ A##03 ^ A##04; \
    c1 = A##10 ^ A##11 ^ A##12 ^ A##13 ^ A##14; \
    c2 = A##20 ^ A##21 ^ A##22 ^ A##23 ^ A##24; \
    c3 = A##30 ^ A##31 ^ A##32 ^ A##33 ^ A##34; \
    c4 = A##40 ^ A##41 ^ A##42 ^ A##43 ^ A##44; \
    d0 = c4 ^ ROL64(c1, 1); \
    d1 = c0 ^ ROL64(c2, 1); \
    d2 = c1 ^ ROL64(c3, 1); \
    d3 = c2 ^ ROL64(c4, 1); \
    d4 = c3 ^ ROL64(c0, 1); \
    b0 = A##00 ^ d0; \
    b1 = ROL64(A##11 ^ d1, 44); \
    b2 = ROL64(A##22 ^ d2, 43); \
    b3 = ROL64(A##33 ^ d3, 21); \
    b4 = ROL64(A##44 ^ d4, 14); \
    E##00 = b0 ^ (~b1 & b2); \
    E##10 = b1 ^ (~b2 & b3); \
    E##20 = b2 ^ (~b3 & b4); \
    E##30 = b3 ^ (~b4 & b0); \
    E##40 = b4 ^ (~b0 & b1); \
    b0 = ROL64(A##30 ^ d3, 28); \
    b1 = ROL64(A##41 ^ d4, 20); \
    b2 = ROL64(A##02 ^ d0, 3); \
    b3 = ROL64(A##13 ^ d1, 45); \
    b4 = ROL64(A##24 ^ d2, 61); \
    E##01 = b0 ^ (~b1 & b2); \
    E##11 = b1 ^ (~b2 & b3); \
    E##21 = b2 ^ (~b3 & b4); \
    E##31 = b3 ^ (~b4 & b0); \
    E##41 = b4 ^ (~b0 & b1); \
    b0 = ROL64(A##10 ^ d1, 1); \
    b1 = ROL64(A##21 ^ d2, 6); \
    b2 = ROL64(A##32 ^ d3, 25); \
    b3 = ROL64(A##43 ^ d4, 8); \
    b4 = ROL64(A##04 ^ d0, 18); \
    E##02 = b0 ^ (~b1 & b2); \
    E##12 = b1 ^ (~b2 & b3); \
    E##22 = b2 ^ (~b3 & b4); \
    E##32 = b3 ^ (~b4 & b0); \
    E##42 = b4 ^ (~b0 & b1); \
    b0 = ROL64(A##40 ^ d4, 27); \
    b1 = ROL64(A##01 ^ d0, 36); \
    b2 = ROL64(A##12 ^ d1, 10); \
    b3 = ROL64(A##23 ^ d2, 15); \
    b4 = ROL64(A##34 ^ d3, 56); \
    E##03 = b0 ^ (~b1 & b2); \
    E##13 = b1 ^ (~b2 & b3); \
    E##23 = b2 ^ (~b3 & b4); \
    E##33 = b3 ^ (~b4 & b0); \
    E##43 = b4 ^ (~b0 & b1); \
    b0 = ROL64(A##20 ^ d2, 62); \
    b1 = ROL64(A##31 ^ d3, 55); \
    b2 = ROL64(A##42 ^ d4, 39); \
    b3 = ROL64(A##03 ^ d0, 41); \
    b4 = ROL64(A##14 ^ d1, 2); \
    E##04 = b0 ^ (~b1 & b2); \
    E##14 = b1 ^ (~b2 & b3); \
    E##24 = b2 ^ (~b3 & b4); \
    E##34 = b3 ^ (~b4 & b0); \
    E##44 = b4 ^ (~b0 & b1); \
    E##00 ^= (rc);

/*
 * The whole permutation on 25 lanes of type T held in locals, read from and written back to
 * the array `st`. T is uint64_t for one state, or a two-element vector for two states at
 * once (the operators ^ & ~ << >> apply element-wise, and a scalar round constant is
 * broadcast by the compiler).
 */
#define KECCAK_PERMUTE(T, st)                                                              \
    do {                                                                                   \
        T a00 = st[0], a10 = st[1], a20 = st[2], a30 = st[3], a40 = st[4];                 \
        T a01 = st[5], a11 = st[6], a21 = st[7], a31 = st[8], a41 = st[9];                 \
        T a02 = st[10], a12 = st[11], a22 = st[12], a32 = st[13], a42 = st[14];            \
        T a03 = st[15], a13 = st[16], a23 = st[17], a33 = st[18], a43 = st[19];            \
        T a04 = st[20], a14 = st[21], a24 = st[22], a34 = st[23], a44 = st[24];            \
        T e00, e10, e20, e30, e40, e01, e11, e21, e31, e41, e02, e12, e22, e32, e42;       \
        T e03, e13, e23, e33, e43, e04, e14, e24, e34, e44;                                \
        T c0, c1, c2, c3, c4, d0, d1, d2, d3, d4, b0, b1, b2, b3, b4;                      \
        for (int r = 0; r < 24; r += 2) {                                                  \
            KECCAK_ROUND(a, e, round_constants[r]);                                        \
            KECCAK_ROUND(e, a, round_constants[r + 1]);                                    \
        }                                                                                  \
        st[0] = a00, st[1] = a10, st[2] = a20, st[3] = a30, st[4] = a40;                   \
        st[5] = a01, st[6] = a11, st[7] = a21, st[8] = a31, st[9] = a41;                   \
        st[10] = a02, st[11] = a12, st[12] = a22, st[13] = a32, st[14] = a42;              \
        st[15] = a03, st[16] = a13, st[17] = a23, st[18] = a33, st[19] = a43;              \
        st[20] = a04, st[21] = a14, st[22] = a24, st[23] = a34, st[24] = a44;              \
    } while (0)

#if defined(__x86_64__) && defined(__GNUC__)
/*
 * The same permutation built for BMI1/BMI2 as well: rotations become rorx and chi's
 * ~b & c one andn, about 30% faster here. The ML-DSA backend selection turns it on
 * together with the AVX2 backend (which implies a CPU that has them) and off when the
 * portable backend is forced; the pointer is atomic because that may happen while other
 * threads hash. Same results either way.
 */
static void keccak_f1600_generic(uint64_t s[25]) { KECCAK_PERMUTE(uint64_t, s); }

__attribute__((target("bmi,bmi2"))) static void keccak_f1600_bmi2(uint64_t s[25])
{
    KECCAK_PERMUTE(uint64_t, s);
}

static void (*_Atomic keccak_permute)(uint64_t s[25]) = keccak_f1600_generic;

void keccak_use_bmi2(int on)
{
    atomic_store_explicit(&keccak_permute, on ? keccak_f1600_bmi2 : keccak_f1600_generic,
                          memory_order_relaxed);
}

void keccak_f1600(uint64_t s[25])
{
    atomic_load_explicit(&keccak_permute, memory_order_relaxed)(s);
}
#else
void keccak_f1600(uint64_t s[25]) { KECCAK_PERMUTE(uint64_t, s); }
#endif

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define KECCAK_LITTLE_ENDIAN 1
#else
#define KECCAK_LITTLE_ENDIAN 0
#endif

static uint64_t load64(const uint8_t *p)
{
#if KECCAK_LITTLE_ENDIAN
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
#endif
}

static void store64(uint8_t *p, uint64_t v)
{
#if KECCAK_LITTLE_ENDIAN
    memcpy(p, &v, sizeof v);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

#if defined(__GNUC__)
/* GCC/Clang vector extension: SSE2 on x86-64, NEON on arm64, emulated elsewhere. */
typedef uint64_t lane_x2 __attribute__((vector_size(16)));

static void keccak_f1600_x2(uint64_t s[25][2])
{
    lane_x2 v[25];
    memcpy(v, s, sizeof v);
    KECCAK_PERMUTE(lane_x2, v);
    memcpy(s, v, sizeof v);
}
#else
static void keccak_f1600_x2(uint64_t s[25][2])
{
    uint64_t one[25];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 25; i++)
            one[i] = s[i][k];
        keccak_f1600(one);
        for (int i = 0; i < 25; i++)
            s[i][k] = one[i];
    }
}
#endif

void shakex2_absorb_once(struct keccakx2_state *st, unsigned rate, const uint8_t *in0,
                         const uint8_t *in1, size_t len)
{
    const uint8_t *in[2] = {in0, in1};
    memset(st->s, 0, sizeof st->s);
    st->rate = rate;
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < len; i++)
            st->s[i / 8][k] ^= (uint64_t)in[k][i] << (8 * (i & 7));
        st->s[len / 8][k] ^= 0x1FULL << (8 * (len & 7));
        st->s[(rate - 1) / 8][k] ^= 0x80ULL << (8 * ((rate - 1) & 7));
    }
}

void shakex2_squeezeblocks(struct keccakx2_state *st, uint8_t *out0, uint8_t *out1,
                           size_t nblocks)
{
    while (nblocks-- > 0) {
        keccak_f1600_x2(st->s);
        for (unsigned i = 0; i < st->rate / 8; i++) {
            store64(out0 + 8 * i, st->s[i][0]);
            store64(out1 + 8 * i, st->s[i][1]);
        }
        out0 += st->rate;
        out1 += st->rate;
    }
}

void keccakx2_wipe(struct keccakx2_state *st) { explicit_bzero(st, sizeof *st); }

#if defined(KECCAK_HAVE_X4)
#include <immintrin.h>

/*
 * Four states at once in 256-bit vectors: the same round macro on a four-element vector
 * type, compiled for the target named in the attribute (so only these functions need
 * AVX2; the caller checks the CPU). With AVX2 alone the rotations become shift-shift-or
 * and the 50 live lanes spill from the 16 registers; with AVX-512VL on the same 256-bit
 * vectors the compiler has 32 registers, a rotate instruction and three-input logic, and
 * the permutation takes about 40% less time here. Same results either way.
 */
typedef uint64_t lane_x4 __attribute__((vector_size(32)));

#define KECCAK_X4_VARIANT(suffix, target_spec)                                             \
    __attribute__((target(target_spec))) static void keccak_f1600_x4_##suffix(             \
        uint64_t s[25][4])                                                                 \
    {                                                                                      \
        lane_x4 v[25];                                                                     \
        memcpy(v, s, sizeof v);                                                            \
        KECCAK_PERMUTE(lane_x4, v);                                                        \
        memcpy(s, v, sizeof v);                                                            \
    }                                                                                      \
    __attribute__((target(target_spec))) void shakex4_squeezeblocks_##suffix(              \
        struct keccakx4_state *st, uint8_t *const out[4], size_t nblocks)                  \
    {                                                                                      \
        for (size_t b = 0; b < nblocks; b++) {                                             \
            keccak_f1600_x4_##suffix(st->s);                                               \
            const size_t at = b * st->rate;                                                \
            unsigned i = 0;                                                                \
            /* Four lanes of four instances: a 4 x 4 transpose, one store per instance. */ \
            for (; i + 4 <= st->rate / 8; i += 4) {                                        \
                const __m256i r0 = _mm256_load_si256((const __m256i *)st->s[i]);           \
                const __m256i r1 = _mm256_load_si256((const __m256i *)st->s[i + 1]);       \
                const __m256i r2 = _mm256_load_si256((const __m256i *)st->s[i + 2]);       \
                const __m256i r3 = _mm256_load_si256((const __m256i *)st->s[i + 3]);       \
                const __m256i t0 = _mm256_unpacklo_epi64(r0, r1);                          \
                const __m256i t1 = _mm256_unpackhi_epi64(r0, r1);                          \
                const __m256i t2 = _mm256_unpacklo_epi64(r2, r3);                          \
                const __m256i t3 = _mm256_unpackhi_epi64(r2, r3);                          \
                _mm256_storeu_si256((__m256i *)(out[0] + at + 8 * i),                      \
                                    _mm256_permute2x128_si256(t0, t2, 0x20));              \
                _mm256_storeu_si256((__m256i *)(out[1] + at + 8 * i),                      \
                                    _mm256_permute2x128_si256(t1, t3, 0x20));              \
                _mm256_storeu_si256((__m256i *)(out[2] + at + 8 * i),                      \
                                    _mm256_permute2x128_si256(t0, t2, 0x31));              \
                _mm256_storeu_si256((__m256i *)(out[3] + at + 8 * i),                      \
                                    _mm256_permute2x128_si256(t1, t3, 0x31));              \
            }                                                                              \
            for (; i < st->rate / 8; i++)                                                  \
                for (int k = 0; k < 4; k++)                                                \
                    store64(out[k] + at + 8 * i, st->s[i][k]);                             \
        }                                                                                  \
    }

KECCAK_X4_VARIANT(avx2, "avx2")
KECCAK_X4_VARIANT(avx512vl, "avx2,avx512f,avx512vl")

void shakex4_absorb_once(struct keccakx4_state *st, unsigned rate, const uint8_t *const in[4],
                         size_t len)
{
    memset(st->s, 0, sizeof st->s);
    st->rate = rate;
    for (int k = 0; k < 4; k++) {
        size_t i = 0;
        for (; i + 8 <= len; i += 8) /* whole lanes, then the ragged end byte by byte */
            st->s[i / 8][k] = load64(in[k] + i);
        for (; i < len; i++)
            st->s[i / 8][k] ^= (uint64_t)in[k][i] << (8 * (i & 7));
        st->s[len / 8][k] ^= 0x1FULL << (8 * (len & 7));
        st->s[(rate - 1) / 8][k] ^= 0x80ULL << (8 * ((rate - 1) & 7));
    }
}

void keccakx4_wipe(struct keccakx4_state *st) { explicit_bzero(st, sizeof *st); }
#endif

static void keccak_init(struct keccak_state *st, unsigned rate)
{
    memset(st->s, 0, sizeof st->s);
    st->rate = rate;
    st->pos = 0;
    st->squeezing = 0;
}

void shake128_init(struct keccak_state *st) { keccak_init(st, KECCAK_SHAKE128_RATE); }
void shake256_init(struct keccak_state *st) { keccak_init(st, KECCAK_SHAKE256_RATE); }

/* XORs `len` bytes into the state starting at byte offset `pos` (pos + len <= rate). */
static void xor_bytes(uint64_t s[25], unsigned pos, const uint8_t *in, size_t len)
{
    while (len > 0 && (pos & 7) != 0) {
        s[pos / 8] ^= (uint64_t)*in++ << (8 * (pos & 7));
        pos++, len--;
    }
    while (len >= 8) {
        s[pos / 8] ^= load64(in);
        in += 8, pos += 8, len -= 8;
    }
    while (len > 0) {
        s[pos / 8] ^= (uint64_t)*in++ << (8 * (pos & 7));
        pos++, len--;
    }
}

/* Copies `len` state bytes from offset `pos` to `out` (pos + len <= rate). */
static void extract_bytes(const uint64_t s[25], unsigned pos, uint8_t *out, size_t len)
{
#if KECCAK_LITTLE_ENDIAN
    /* The lanes are stored little-endian, so the state's bytes are the array's bytes. */
    memcpy(out, (const uint8_t *)s + pos, len);
#else
    for (size_t i = 0; i < len; i++, pos++)
        out[i] = (uint8_t)(s[pos / 8] >> (8 * (pos & 7)));
#endif
}

void shake_absorb(struct keccak_state *st, const uint8_t *in, size_t len)
{
    if (st->squeezing)
        return;
    while (len > 0) {
        size_t take = st->rate - st->pos;
        if (take > len)
            take = len;
        xor_bytes(st->s, st->pos, in, take);
        st->pos += (unsigned)take;
        in += take, len -= take;
        if (st->pos == st->rate) {
            keccak_f1600(st->s);
            st->pos = 0;
        }
    }
}

/* pad10*1 with the domain-separation bits `ds` (0x1F for SHAKE, 0x06 for SHA-3). */
static void keccak_finalize(struct keccak_state *st, uint8_t ds)
{
    if (st->squeezing)
        return;
    st->s[st->pos / 8] ^= (uint64_t)ds << (8 * (st->pos & 7));
    st->s[(st->rate - 1) / 8] ^= 0x80ULL << (8 * ((st->rate - 1) & 7));
    st->squeezing = 1;
    /* The first output block is produced lazily by the first squeeze. */
    st->pos = st->rate;
}

void shake_finalize(struct keccak_state *st) { keccak_finalize(st, 0x1F); }

void shake_squeeze(struct keccak_state *st, uint8_t *out, size_t len)
{
    while (len > 0) {
        if (st->pos == st->rate) {
            keccak_f1600(st->s);
            st->pos = 0;
        }
        size_t take = st->rate - st->pos;
        if (take > len)
            take = len;
        extract_bytes(st->s, st->pos, out, take);
        st->pos += (unsigned)take;
        out += take, len -= take;
    }
}

void shake_squeezeblocks(struct keccak_state *st, uint8_t *out, size_t nblocks)
{
    /* Safety: with no partial block pending this is exactly shake_squeeze of whole
     * blocks; the shortcut only skips the per-call bookkeeping. */
    while (nblocks-- > 0) {
        keccak_f1600(st->s);
        extract_bytes(st->s, 0, out, st->rate);
        out += st->rate;
    }
    st->pos = st->rate;
}

void keccak_wipe(struct keccak_state *st) { explicit_bzero(st, sizeof *st); }

static void oneshot(unsigned rate, uint8_t ds, uint8_t *out, size_t outlen, const uint8_t *in,
                    size_t inlen)
{
    struct keccak_state st;
    keccak_init(&st, rate);
    shake_absorb(&st, in, inlen);
    keccak_finalize(&st, ds);
    shake_squeeze(&st, out, outlen);
    keccak_wipe(&st);
}

void shake128(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
    oneshot(KECCAK_SHAKE128_RATE, 0x1F, out, outlen, in, inlen);
}

void shake256(uint8_t *out, size_t outlen, const uint8_t *in, size_t inlen)
{
    oneshot(KECCAK_SHAKE256_RATE, 0x1F, out, outlen, in, inlen);
}

void sha3_256(uint8_t out[32], const uint8_t *in, size_t inlen)
{
    oneshot(KECCAK_SHA3_256_RATE, 0x06, out, 32, in, inlen);
}

void sha3_512(uint8_t out[64], const uint8_t *in, size_t inlen)
{
    oneshot(KECCAK_SHA3_512_RATE, 0x06, out, 64, in, inlen);
}
