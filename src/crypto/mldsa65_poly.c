/*
 * Polynomial arithmetic, rounding, sampling and packing for ML-DSA-65 (FIPS 204).
 *
 * Representation: coefficients are int32_t, not necessarily reduced; each function states
 * the range it accepts and produces, and callers reduce where the bounds would overflow.
 * Multiplication uses Montgomery reduction with R = 2^32, and the NTT twiddle factors are
 * kept in Montgomery form. The tables are computed once, on first use, from the primitive
 * 512-th root of unity 1753 (FIPS 204 §7.5), so no opaque constant table is needed.
 */
#include "crypto/mldsa65_poly.h"

#include <pthread.h>
#include <string.h>

#include "crypto/keccak.h"
#include "crypto/mldsa65_backend.h"

/* q^-1 mod 2^32: (uint32_t)(MLDSA_Q * QINV) == 1, checked when the tables are built. */
#define QINV 58728449u
#define ROOT_OF_UNITY 1753

/* zetas[i] = 1753^brv8(i) * 2^32 mod q, centred in (-q/2, q/2]. */
static int32_t zetas[MLDSA_N];
/* 2^64 / 256 mod q: undoes the inverse NTT's factor 256 and the Montgomery factor of one
 * pointwise product, leaving the result multiplied by 2^32 ("tomont"). */
static int32_t invntt_scale;
/* The same constants times q^-1 mod 2^32, for mul_zeta. */
static int32_t zetas_q[MLDSA_N];
static int32_t invntt_scale_q;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static uint32_t mulmod(uint32_t a, uint32_t b)
{
    return (uint32_t)(((uint64_t)a * b) % MLDSA_Q);
}

static uint32_t powmod(uint32_t base, uint32_t e)
{
    uint32_t r = 1;
    while (e > 0) {
        if (e & 1)
            r = mulmod(r, base);
        base = mulmod(base, base);
        e >>= 1;
    }
    return r;
}

static int32_t centre(uint32_t a)
{
    return a > MLDSA_Q / 2 ? (int32_t)a - MLDSA_Q : (int32_t)a;
}

static void build_tables(void)
{
    const uint32_t mont = (uint32_t)((1ULL << 32) % MLDSA_Q);
    for (uint32_t i = 0; i < MLDSA_N; i++) {
        uint32_t rev = 0;
        for (int b = 0; b < 8; b++)
            rev |= ((i >> b) & 1u) << (7 - b);
        zetas[i] = centre(mulmod(powmod(ROOT_OF_UNITY, rev), mont));
    }
    /* 256^-1 = 256^(q-2) by Fermat. */
    invntt_scale = centre(mulmod(mulmod(mont, mont), powmod(256, MLDSA_Q - 2)));
    for (unsigned i = 0; i < MLDSA_N; i++)
        zetas_q[i] = (int32_t)((uint32_t)zetas[i] * QINV);
    invntt_scale_q = (int32_t)((uint32_t)invntt_scale * QINV);
}

void mldsa_tables_init(void) { (void)pthread_once(&tables_once, build_tables); }

const int32_t *mldsa_zetas(void) { return zetas; }
const int32_t *mldsa_zetas_qinv(void) { return zetas_q; }
int32_t mldsa_invntt_scale(void) { return invntt_scale; }
int32_t mldsa_invntt_scale_qinv(void) { return invntt_scale_q; }

/* --- arithmetic -------------------------------------------------------------------- */

/* For |a| < 2^31 q returns r = a * 2^-32 mod q with |r| < q. */
static int32_t montgomery_reduce(int64_t a)
{
    int32_t t = (int32_t)((uint32_t)a * QINV);
    return (int32_t)((a - (int64_t)t * MLDSA_Q) >> 32);
}

/* For a <= 2^31 - 2^22 - 1 returns r = a mod q with -6283008 <= r <= 6283008. */
static int32_t reduce32(int32_t a)
{
    int32_t t = (a + (1 << 22)) >> 23;
    return a - t * MLDSA_Q;
}

static int32_t caddq(int32_t a)
{
    return a + ((a >> 31) & MLDSA_Q);
}

void poly_reduce(poly *a)
{
    for (int i = 0; i < MLDSA_N; i++)
        a->c[i] = reduce32(a->c[i]);
}

void poly_caddq(poly *a)
{
    for (int i = 0; i < MLDSA_N; i++)
        a->c[i] = caddq(a->c[i]);
}

void poly_freeze(poly *a)
{
    for (int i = 0; i < MLDSA_N; i++)
        a->c[i] = caddq(reduce32(a->c[i]));
}

void poly_add(poly *r, const poly *a, const poly *b)
{
    for (int i = 0; i < MLDSA_N; i++)
        r->c[i] = a->c[i] + b->c[i];
}

void poly_sub(poly *r, const poly *a, const poly *b)
{
    for (int i = 0; i < MLDSA_N; i++)
        r->c[i] = a->c[i] - b->c[i];
}

void poly_shiftl(poly *a)
{
    for (int i = 0; i < MLDSA_N; i++)
        a->c[i] = (int32_t)((uint32_t)a->c[i] << MLDSA_D);
}

/*
 * Montgomery product by a table constant z with zq = z * q^-1 mod 2^32 precomputed
 * (Seiler's trick): the low half m is computed from `a` directly, so the three
 * multiplications do not depend on one another. Same result as
 * montgomery_reduce((int64_t)a * z).
 */
static inline int32_t mul_zeta(int32_t a, int32_t z, int32_t zq)
{
    int32_t m = (int32_t)((uint32_t)a * (uint32_t)zq);
    return (int32_t)(((int64_t)a * z - (int64_t)m * MLDSA_Q) >> 32);
}

/*
 * Forward NTT (FIPS 204 Alg. 41), output in bit-reversed order. The eight layers of
 * Cooley-Tukey butterflies run as four passes of two layers each: every pass loads four
 * coefficients, applies the butterfly of the outer layer (node k, distance `len`) and the
 * two of the inner layer (nodes 2k and 2k+1, distance len/2), and stores them, halving the
 * memory traffic. No reductions: each butterfly adds at most q to the magnitude (|t| < q),
 * so |in| < q gives |out| < 9q.
 */
void poly_ntt(poly *a)
{
    int32_t *c = a->c;
    for (unsigned len = 128; len >= 2; len >>= 2) {
        const unsigned half = len / 2;
        for (unsigned start = 0, k = MLDSA_N / (2 * len); start < MLDSA_N;
             start += 2 * len, k++) {
            const int32_t z0 = zetas[k], z0q = zetas_q[k];
            const int32_t z1 = zetas[2 * k], z1q = zetas_q[2 * k];
            const int32_t z2 = zetas[2 * k + 1], z2q = zetas_q[2 * k + 1];
            for (unsigned j = start; j < start + half; j++) {
                int32_t a0 = c[j], a1 = c[j + half], a2 = c[j + len], a3 = c[j + len + half];
                int32_t t = mul_zeta(a2, z0, z0q);
                a2 = a0 - t;
                a0 = a0 + t;
                t = mul_zeta(a3, z0, z0q);
                a3 = a1 - t;
                a1 = a1 + t;
                t = mul_zeta(a1, z1, z1q);
                a1 = a0 - t;
                a0 = a0 + t;
                t = mul_zeta(a3, z2, z2q);
                a3 = a2 - t;
                a2 = a2 + t;
                c[j] = a0, c[j + half] = a1, c[j + len] = a2, c[j + len + half] = a3;
            }
        }
    }
}

/*
 * Inverse NTT (FIPS 204 Alg. 42): Gentleman-Sande butterflies, two layers per pass as
 * above, with the negated twiddles in the order the forward transform used them (node
 * 256/len - 1 - b for block b of a layer of distance len), then the scaling. Sums double
 * at most once per layer, so |in| < q keeps every value below 256 q < 2^31 before the final
 * Montgomery multiplication brings it back under q.
 */
void poly_invntt_tomont(poly *a)
{
    int32_t *c = a->c;
    for (unsigned len = 1; len < MLDSA_N; len <<= 2) {
        const unsigned dbl = 2 * len;
        for (unsigned start = 0, blk = 0; start < MLDSA_N; start += 4 * len, blk++) {
            const unsigned k0 = MLDSA_N / len - 1 - 2 * blk, k1 = k0 - 1;
            const unsigned k2 = MLDSA_N / dbl - 1 - blk;
            const int32_t z0 = -zetas[k0], z0q = (int32_t)(0u - (uint32_t)zetas_q[k0]);
            const int32_t z1 = -zetas[k1], z1q = (int32_t)(0u - (uint32_t)zetas_q[k1]);
            const int32_t z2 = -zetas[k2], z2q = (int32_t)(0u - (uint32_t)zetas_q[k2]);
            for (unsigned j = start; j < start + len; j++) {
                int32_t a0 = c[j], a1 = c[j + len], a2 = c[j + dbl], a3 = c[j + dbl + len];
                int32_t t = a0;
                a0 = t + a1;
                a1 = mul_zeta(t - a1, z0, z0q);
                t = a2;
                a2 = t + a3;
                a3 = mul_zeta(t - a3, z1, z1q);
                t = a0;
                a0 = t + a2;
                a2 = mul_zeta(t - a2, z2, z2q);
                t = a1;
                a1 = t + a3;
                a3 = mul_zeta(t - a3, z2, z2q);
                c[j] = a0, c[j + len] = a1, c[j + dbl] = a2, c[j + dbl + len] = a3;
            }
        }
    }
    for (unsigned j = 0; j < MLDSA_N; j++)
        c[j] = mul_zeta(c[j], invntt_scale, invntt_scale_q);
}

void poly_mul_acc64(int64_t acc[MLDSA_N], const poly *a, const poly *b)
{
    for (int i = 0; i < MLDSA_N; i++)
        acc[i] += (int64_t)a->c[i] * b->c[i];
}

void poly_from_acc64(poly *r, const int64_t acc[MLDSA_N])
{
    for (int i = 0; i < MLDSA_N; i++)
        r->c[i] = montgomery_reduce(acc[i]);
}

uint32_t poly_chknorm(const poly *a, int32_t bound)
{
    uint32_t bad = 0;
    for (int i = 0; i < MLDSA_N; i++) {
        /* Constant time: |x| by masking, and the comparison by the sign of the
         * difference, so neither the value nor the position of an offender leaks. */
        int32_t x = a->c[i];
        int32_t m = x >> 31;
        int32_t absx = (x ^ m) - m;
        bad |= (uint32_t)(bound - 1 - absx) >> 31;
    }
    return bad;
}

/* --- rounding ---------------------------------------------------------------------- */

/* FIPS 204 Alg. 35 for a in [0, q): a = a1 * 2^13 + a0 with a0 in (-2^12, 2^12]. */
void poly_power2round(poly *a1, poly *a0, const poly *a)
{
    for (int i = 0; i < MLDSA_N; i++) {
        int32_t x = a->c[i];
        int32_t hi = (x + (1 << (MLDSA_D - 1)) - 1) >> MLDSA_D;
        a0->c[i] = x - (hi << MLDSA_D);
        a1->c[i] = hi;
    }
}

/*
 * FIPS 204 Alg. 36 for gamma2 = (q-1)/32 and a in [0, q): a = a1 * 2 gamma2 + a0 with
 * a0 in (-gamma2, gamma2], except that the top class wraps to a1 = 0, a0 = a - q.
 * Constant time: the division by 2 gamma2 = 523776 is replaced by a multiply-shift that is
 * exact on [0, q) (a1 = round(ceil(a / 128) * 1025 / 2^22)), and the wrap by masking.
 */
void poly_decompose(poly *a1, poly *a0, const poly *a)
{
    for (int i = 0; i < MLDSA_N; i++) {
        int32_t x = a->c[i];
        int32_t hi = (x + 127) >> 7;
        hi = (hi * 1025 + (1 << 21)) >> 22;
        hi &= 15;
        int32_t lo = x - hi * 2 * MLDSA_GAMMA2;
        lo -= (((MLDSA_Q - 1) / 2 - lo) >> 31) & MLDSA_Q;
        a0->c[i] = lo;
        a1->c[i] = hi;
    }
}

/*
 * h = 1 iff a0 > gamma2, a0 < -gamma2, or a0 == -gamma2 and a1 != 0: with a0 = LowBits(w -
 * cs2) + ct0 and a1 = HighBits(w) this is MakeHint(-ct0, w - cs2 + ct0) of Alg. 7 line 26,
 * given the norm checks that precede it. Constant time: each condition is a sign bit.
 */
uint32_t poly_make_hint(poly *h, const poly *a0, const poly *a1)
{
    uint32_t count = 0;
    for (int i = 0; i < MLDSA_N; i++) {
        int32_t lo = a0->c[i], hi = a1->c[i];
        uint32_t above = (uint32_t)(MLDSA_GAMMA2 - lo) >> 31;
        uint32_t below = (uint32_t)(lo + MLDSA_GAMMA2) >> 31;
        int32_t e = lo + MLDSA_GAMMA2;
        uint32_t at_edge = ((uint32_t)(e | -e) >> 31) ^ 1u;
        uint32_t hi_nonzero = (uint32_t)(hi | -hi) >> 31;
        uint32_t bit = above | below | (at_edge & hi_nonzero);
        h->c[i] = (int32_t)bit;
        count += bit;
    }
    return count;
}

/* FIPS 204 Alg. 40 (verification only: branches on public data). */
void poly_use_hint(poly *b, const poly *a, const poly *h)
{
    poly a0;
    poly_decompose(b, &a0, a);
    for (int i = 0; i < MLDSA_N; i++) {
        if (h->c[i] == 0)
            continue;
        if (a0.c[i] > 0)
            b->c[i] = (b->c[i] + 1) & 15;
        else
            b->c[i] = (b->c[i] - 1) & 15;
    }
}

/* --- sampling ---------------------------------------------------------------------- */

/* Coefficients from 3-byte groups, 23 bits each, kept when below q (Alg. 14 on each). */
unsigned mldsa_rej_uniform(int32_t *a, unsigned ctr, const uint8_t *buf, size_t buflen)
{
    for (size_t pos = 0; ctr < MLDSA_N && pos + 3 <= buflen; pos += 3) {
        uint32_t t = (uint32_t)buf[pos] | (uint32_t)buf[pos + 1] << 8 |
                     (uint32_t)(buf[pos + 2] & 0x7F) << 16;
        if (t < MLDSA_Q)
            a[ctr++] = (int32_t)t;
    }
    return ctr;
}

/*
 * FIPS 204 Alg. 31 with eta = 4: each half-byte b < 9 gives the coefficient 4 - b.
 * Constant time: rho' is secret, and which half-bytes are rejected depends on it. Only the
 * accept/reject bit of each candidate is declassified; the accepted values stay secret.
 * Given the positions of the rejected half-bytes, the accepted ones are still uniform on
 * 0..8 and independent of them, so the leak says nothing about s1 or s2 (the usual
 * treatment of this sampler, e.g. in the reference implementation).
 */
unsigned mldsa_rej_eta(int32_t *a, unsigned ctr, const uint8_t *buf, size_t buflen)
{
    for (size_t pos = 0; ctr < MLDSA_N && pos < buflen; pos++) {
        uint32_t lo = buf[pos] & 15u, hi = (uint32_t)buf[pos] >> 4;
        uint32_t keep_lo = (lo - 9u) >> 31, keep_hi = (hi - 9u) >> 31;
        CT_DECLASSIFY(&keep_lo, sizeof keep_lo);
        CT_DECLASSIFY(&keep_hi, sizeof keep_hi);
        /* Write unconditionally and advance by the keep bit: no hard-to-predict branch.
         * a has room: ctr < 256 here, and the high half is written only while ctr
         * stays below 256. */
        a[ctr] = MLDSA_ETA - (int32_t)lo;
        ctr += keep_lo;
        if (ctr < MLDSA_N) {
            a[ctr] = MLDSA_ETA - (int32_t)hi;
            ctr += keep_hi;
        }
    }
    return ctr;
}

void poly_uniform_eta(poly *a, const uint8_t rhoprime[64], uint16_t nonce)
{
    /* Two SHAKE256 blocks (544 candidates) suffice except with tiny probability. */
    uint8_t buf[2 * KECCAK_SHAKE256_RATE];
    uint8_t n[2] = {(uint8_t)nonce, (uint8_t)(nonce >> 8)};
    struct keccak_state st;

    shake256_init(&st);
    shake_absorb(&st, rhoprime, 64);
    shake_absorb(&st, n, 2);
    shake_finalize(&st);
    shake_squeezeblocks(&st, buf, 2);
    unsigned ctr = mldsa_rej_eta(a->c, 0, buf, sizeof buf);
    while (ctr < MLDSA_N) {
        shake_squeezeblocks(&st, buf, 1);
        ctr = mldsa_rej_eta(a->c, ctr, buf, KECCAK_SHAKE256_RATE);
    }
    explicit_bzero(buf, sizeof buf);
    keccak_wipe(&st);
}

void poly_uniform_gamma1(poly *a, const uint8_t rhopp[64], uint16_t nonce)
{
    uint8_t buf[5 * KECCAK_SHAKE256_RATE]; /* 680 >= 640 */
    uint8_t n[2] = {(uint8_t)nonce, (uint8_t)(nonce >> 8)};
    struct keccak_state st;

    shake256_init(&st);
    shake_absorb(&st, rhopp, 64);
    shake_absorb(&st, n, 2);
    shake_finalize(&st);
    shake_squeezeblocks(&st, buf, 5);
    polyz_unpack(a, buf);
    explicit_bzero(buf, sizeof buf);
    keccak_wipe(&st);
}

/*
 * Two-at-a-time samplers on the two-lane Keccak: the expansions of A, s1/s2 and y consist
 * of many independent short-seed SHAKE streams. The eta and gamma1 ones give the same
 * outputs as calling the single versions above twice.
 *
 * RejNTTPoly (FIPS 204 Alg. 30) for two entries of A. Five SHAKE128 blocks (840 bytes, 280
 * candidates) almost always suffice for 256 coefficients; 168 is a multiple of 3, so no
 * candidate straddles two blocks.
 */
void poly_uniform_x2(poly *a0, poly *a1, const uint8_t rho[32], uint8_t s0, uint8_t r0,
                     uint8_t s1, uint8_t r1)
{
    uint8_t in0[34], in1[34];
    uint8_t buf0[5 * KECCAK_SHAKE128_RATE], buf1[5 * KECCAK_SHAKE128_RATE];
    struct keccakx2_state st;

    memcpy(in0, rho, 32);
    memcpy(in1, rho, 32);
    in0[32] = s0, in0[33] = r0, in1[32] = s1, in1[33] = r1;
    shakex2_absorb_once(&st, KECCAK_SHAKE128_RATE, in0, in1, sizeof in0);
    shakex2_squeezeblocks(&st, buf0, buf1, 5);
    unsigned c0 = mldsa_rej_uniform(a0->c, 0, buf0, sizeof buf0);
    unsigned c1 = mldsa_rej_uniform(a1->c, 0, buf1, sizeof buf1);
    while (c0 < MLDSA_N || c1 < MLDSA_N) {
        shakex2_squeezeblocks(&st, buf0, buf1, 1);
        c0 = mldsa_rej_uniform(a0->c, c0, buf0, KECCAK_SHAKE128_RATE);
        c1 = mldsa_rej_uniform(a1->c, c1, buf1, KECCAK_SHAKE128_RATE);
    }
}

void poly_uniform_eta_x2(poly *a0, poly *a1, const uint8_t rhoprime[64], uint16_t n0,
                         uint16_t n1)
{
    uint8_t in0[66], in1[66];
    uint8_t buf0[2 * KECCAK_SHAKE256_RATE], buf1[2 * KECCAK_SHAKE256_RATE];
    struct keccakx2_state st;

    memcpy(in0, rhoprime, 64);
    memcpy(in1, rhoprime, 64);
    in0[64] = (uint8_t)n0, in0[65] = (uint8_t)(n0 >> 8);
    in1[64] = (uint8_t)n1, in1[65] = (uint8_t)(n1 >> 8);
    shakex2_absorb_once(&st, KECCAK_SHAKE256_RATE, in0, in1, sizeof in0);
    shakex2_squeezeblocks(&st, buf0, buf1, 2);
    unsigned c0 = mldsa_rej_eta(a0->c, 0, buf0, sizeof buf0);
    unsigned c1 = mldsa_rej_eta(a1->c, 0, buf1, sizeof buf1);
    while (c0 < MLDSA_N || c1 < MLDSA_N) {
        shakex2_squeezeblocks(&st, buf0, buf1, 1);
        c0 = mldsa_rej_eta(a0->c, c0, buf0, KECCAK_SHAKE256_RATE);
        c1 = mldsa_rej_eta(a1->c, c1, buf1, KECCAK_SHAKE256_RATE);
    }
    explicit_bzero(in0, sizeof in0);
    explicit_bzero(in1, sizeof in1);
    explicit_bzero(buf0, sizeof buf0);
    explicit_bzero(buf1, sizeof buf1);
    keccakx2_wipe(&st);
}

void poly_uniform_gamma1_x2(poly *a0, poly *a1, const uint8_t rhopp[64], uint16_t n0,
                            uint16_t n1)
{
    uint8_t in0[66], in1[66];
    uint8_t buf0[5 * KECCAK_SHAKE256_RATE], buf1[5 * KECCAK_SHAKE256_RATE];
    struct keccakx2_state st;

    memcpy(in0, rhopp, 64);
    memcpy(in1, rhopp, 64);
    in0[64] = (uint8_t)n0, in0[65] = (uint8_t)(n0 >> 8);
    in1[64] = (uint8_t)n1, in1[65] = (uint8_t)(n1 >> 8);
    shakex2_absorb_once(&st, KECCAK_SHAKE256_RATE, in0, in1, sizeof in0);
    shakex2_squeezeblocks(&st, buf0, buf1, 5);
    polyz_unpack(a0, buf0);
    polyz_unpack(a1, buf1);
    explicit_bzero(in0, sizeof in0);
    explicit_bzero(in1, sizeof in1);
    explicit_bzero(buf0, sizeof buf0);
    explicit_bzero(buf1, sizeof buf1);
    keccakx2_wipe(&st);
}

/* FIPS 204 Alg. 29: tau = 49 coefficients +-1 placed by a Fisher-Yates shuffle. */
void poly_challenge(struct mldsa_challenge *ch, const uint8_t ctilde[MLDSA_CTILDEBYTES])
{
    uint8_t buf[KECCAK_SHAKE256_RATE];
    struct keccak_state st;
    int8_t c[MLDSA_N];
    uint8_t pos_list[MLDSA_TAU + 1], neg_list[MLDSA_TAU + 1];

    shake256_init(&st);
    shake_absorb(&st, ctilde, MLDSA_CTILDEBYTES);
    shake_finalize(&st);
    shake_squeezeblocks(&st, buf, 1);

    uint64_t signs = 0;
    for (int i = 0; i < 8; i++)
        signs |= (uint64_t)buf[i] << (8 * i);
    size_t pos = 8;

    memset(c, 0, sizeof c);
    for (unsigned i = MLDSA_N - MLDSA_TAU; i < MLDSA_N; i++) {
        unsigned j;
        do {
            if (pos >= sizeof buf) {
                shake_squeezeblocks(&st, buf, 1);
                pos = 0;
            }
            j = buf[pos++];
        } while (j > i);
        c[i] = c[j];
        c[j] = (int8_t)(1 - 2 * (int)(signs & 1));
        signs >>= 1;
    }
    /* The non-zero terms in order of position, without a branch per coefficient (one slot
     * of slack: every position is written, and the count advances on the non-zero ones). */
    unsigned n = 0;
    for (unsigned i = 0; i < MLDSA_N; i++) {
        pos_list[n] = (uint8_t)i;
        neg_list[n] = (uint8_t)(c[i] < 0);
        n += c[i] != 0;
    }
    memcpy(ch->pos, pos_list, MLDSA_TAU);
    memcpy(ch->neg, neg_list, MLDSA_TAU);
    unsigned plus = 0, minus = 0;
    for (unsigned k = 0; k < MLDSA_TAU; k++)
        plus += ch->neg[k] ^ 1u;
    ch->nplus = plus;
    for (unsigned k = 0; k < MLDSA_TAU; k++) {
        const unsigned neg = ch->neg[k];
        ch->by_sign[neg ? plus + minus : k - minus] = ch->pos[k];
        minus += neg;
    }
}

/*
 * r = c a in Z[X]/(X^256 + 1), exactly (no reduction mod q). With ext = (-a, a), the
 * coefficient r[i] is the sum over the tau terms +-X^p of +-ext[256 + i - p] (X^256 = -1
 * turns the wrapped part negative). Each block of 16 outputs is accumulated in registers
 * over all tau terms, so the work is one load and one add per term and coefficient.
 * Constant time: the positions and signs of c are public (c~ is declassified before
 * SampleInBall); the values of a may be secret and only flow through additions.
 */
void poly_mul_challenge(poly *r, const struct mldsa_challenge *ch, const poly *a)
{
    int32_t ext[2 * MLDSA_N];
    for (unsigned i = 0; i < MLDSA_N; i++) {
        ext[i] = -a->c[i];
        ext[MLDSA_N + i] = a->c[i];
    }
#if defined(__GNUC__)
    /* GCC/Clang vector extension: four 128-bit accumulators that stay in registers
     * (SSE2 on x86-64, NEON on arm64; the compiler lowers them portably elsewhere). */
    typedef int32_t v4 __attribute__((vector_size(16)));
    for (unsigned blk = 0; blk < MLDSA_N; blk += 16) {
        v4 acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0};
        for (unsigned k = 0; k < MLDSA_TAU; k++) {
            const int32_t *src = ext + MLDSA_N - ch->pos[k] + blk;
            v4 x0, x1, x2, x3;
            memcpy(&x0, src, sizeof x0);
            memcpy(&x1, src + 4, sizeof x1);
            memcpy(&x2, src + 8, sizeof x2);
            memcpy(&x3, src + 12, sizeof x3);
            if (ch->neg[k]) {
                acc0 -= x0, acc1 -= x1, acc2 -= x2, acc3 -= x3;
            } else {
                acc0 += x0, acc1 += x1, acc2 += x2, acc3 += x3;
            }
        }
        memcpy(r->c + blk, &acc0, sizeof acc0);
        memcpy(r->c + blk + 4, &acc1, sizeof acc1);
        memcpy(r->c + blk + 8, &acc2, sizeof acc2);
        memcpy(r->c + blk + 12, &acc3, sizeof acc3);
    }
#else
    for (unsigned i = 0; i < MLDSA_N; i++) {
        int32_t acc = 0;
        for (unsigned k = 0; k < MLDSA_TAU; k++) {
            int32_t x = ext[MLDSA_N - ch->pos[k] + i];
            acc += ch->neg[k] ? -x : x;
        }
        r->c[i] = acc;
    }
#endif
    explicit_bzero(ext, sizeof ext);
}

/* --- packing ----------------------------------------------------------------------- */

/*
 * Little-endian bit stream of 256 values of `bits` bits each (SimpleBitPack's layout),
 * bits <= 24. Eight values fill exactly `bits` bytes, so each group of eight is built in a
 * 256-bit accumulator of four 64-bit words and stored whole; inlined into each caller so
 * that `bits` is a constant and the shifts are fixed.
 */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void pack_bits(uint8_t *out, const uint32_t v[MLDSA_N], unsigned bits)
{
    for (unsigned g = 0; g < MLDSA_N / 8; g++) {
        uint64_t w[4] = {0, 0, 0, 0};
#pragma GCC unroll 8
        for (unsigned j = 0; j < 8; j++) {
            const unsigned bitpos = bits * j, word = bitpos / 64, sh = bitpos % 64;
            const uint64_t x = v[8 * g + j];
            w[word] |= x << sh;
            if (sh + bits > 64)
                w[word + 1] |= x >> (64 - sh);
        }
        uint8_t *p = out + (size_t)g * bits;
#pragma GCC unroll 24
        for (unsigned b = 0; b < bits; b++)
            p[b] = (uint8_t)(w[b / 8] >> (8 * (b % 8)));
    }
}

/*
 * Reads exactly 32 * bits bytes (bits <= 24), eight values (bits bytes) at a time. The input
 * is copied into a buffer with four zero bytes of slack, and each value is cut out of the
 * 32-bit little-endian word at its first byte. Inlined into each caller so that `bits` is a
 * constant and the inner loop unrolls into fixed shifts.
 */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void unpack_bits(uint32_t v[MLDSA_N], const uint8_t *in, unsigned bits)
{
    uint8_t buf[32 * 24 + 4];
    const uint32_t mask = (1u << bits) - 1;
    const size_t total = (size_t)32 * bits;
    memcpy(buf, in, total);
    memset(buf + total, 0, 4);
    for (unsigned g = 0; g < MLDSA_N / 8; g++) {
        const uint8_t *p = buf + (size_t)g * bits;
#pragma GCC unroll 8
        for (unsigned j = 0; j < 8; j++) {
            const unsigned bitpos = bits * j, off = bitpos / 8;
            const uint32_t w = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 |
                               (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
            v[8 * g + j] = (w >> (bitpos % 8)) & mask;
        }
    }
    explicit_bzero(buf, total); /* t0, s1 and s2 are secret */
}

/* BitPack(a, off-1.., off): stores off - a (FIPS 204 Alg. 17). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void pack_offset(uint8_t *out, const poly *a, int32_t off, unsigned bits)
{
    uint32_t v[MLDSA_N];
    for (int i = 0; i < MLDSA_N; i++)
        v[i] = (uint32_t)(off - a->c[i]);
    pack_bits(out, v, bits);
    explicit_bzero(v, sizeof v);
}

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void unpack_offset(poly *a, const uint8_t *in, int32_t off, unsigned bits)
{
    uint32_t v[MLDSA_N];
    unpack_bits(v, in, bits);
    for (int i = 0; i < MLDSA_N; i++)
        a->c[i] = off - (int32_t)v[i];
    explicit_bzero(v, sizeof v);
}

void polyt1_pack(uint8_t *r, const poly *a)
{
    uint32_t v[MLDSA_N];
    for (int i = 0; i < MLDSA_N; i++)
        v[i] = (uint32_t)a->c[i];
    pack_bits(r, v, 10);
}

void polyt1_unpack(poly *a, const uint8_t *r)
{
    uint32_t v[MLDSA_N];
    unpack_bits(v, r, 10);
    for (int i = 0; i < MLDSA_N; i++)
        a->c[i] = (int32_t)v[i];
}

void polyt0_pack(uint8_t *r, const poly *a) { pack_offset(r, a, 1 << (MLDSA_D - 1), 13); }
void polyt0_unpack(poly *a, const uint8_t *r) { unpack_offset(a, r, 1 << (MLDSA_D - 1), 13); }
void polyeta_pack(uint8_t *r, const poly *a) { pack_offset(r, a, MLDSA_ETA, 4); }

uint32_t polyeta_unpack(poly *a, const uint8_t *r)
{
    uint32_t bad = 0;
    unpack_offset(a, r, MLDSA_ETA, 4);
    for (int i = 0; i < MLDSA_N; i++) /* valid fields are 0..8, i.e. a in [-4, 4] */
        bad |= (uint32_t)(a->c[i] + MLDSA_ETA) >> 31;
    return bad;
}

/*
 * The 20-bit encodings are on the signer's and the verifier's hot path (ExpandMask unpacks
 * five per attempt), so they get a direct form of the generic bit stream: two values per
 * five bytes. Same layout as pack_bits / unpack_bits with bits = 20.
 */
void polyz_pack(uint8_t *r, const poly *a)
{
    for (int i = 0; i < MLDSA_N / 2; i++) {
        uint32_t t0 = (uint32_t)(MLDSA_GAMMA1 - a->c[2 * i]);
        uint32_t t1 = (uint32_t)(MLDSA_GAMMA1 - a->c[2 * i + 1]);
        r[5 * i + 0] = (uint8_t)t0;
        r[5 * i + 1] = (uint8_t)(t0 >> 8);
        r[5 * i + 2] = (uint8_t)((t0 >> 16) | (t1 << 4));
        r[5 * i + 3] = (uint8_t)(t1 >> 4);
        r[5 * i + 4] = (uint8_t)(t1 >> 12);
    }
}

void polyz_unpack(poly *a, const uint8_t *r)
{
    for (int i = 0; i < MLDSA_N / 2; i++) {
        uint32_t t0 = (uint32_t)r[5 * i] | (uint32_t)r[5 * i + 1] << 8 |
                      ((uint32_t)r[5 * i + 2] & 0x0F) << 16;
        uint32_t t1 = (uint32_t)r[5 * i + 2] >> 4 | (uint32_t)r[5 * i + 3] << 4 |
                      (uint32_t)r[5 * i + 4] << 12;
        a->c[2 * i] = MLDSA_GAMMA1 - (int32_t)t0;
        a->c[2 * i + 1] = MLDSA_GAMMA1 - (int32_t)t1;
    }
}

void polyw1_pack(uint8_t *r, const poly *a)
{
    /* 4-bit values, two per byte, low nibble first (pack_bits with bits = 4). */
    for (int i = 0; i < MLDSA_N / 2; i++)
        r[i] = (uint8_t)(a->c[2 * i] | a->c[2 * i + 1] << 4);
}
