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

/* q^-1 mod 2^32: (uint32_t)(MLDSA_Q * QINV) == 1, checked when the tables are built. */
#define QINV 58728449u
#define ROOT_OF_UNITY 1753

/* zetas[i] = 1753^brv8(i) * 2^32 mod q, centred in (-q/2, q/2]. */
static int32_t zetas[MLDSA_N];
/* 2^64 / 256 mod q: undoes the inverse NTT's factor 256 and the Montgomery factor of one
 * pointwise product, leaving the result multiplied by 2^32 ("tomont"). */
static int32_t invntt_scale;
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
}

void mldsa_tables_init(void) { (void)pthread_once(&tables_once, build_tables); }

/* --- arithmetic -------------------------------------------------------------------- */

/* For |a| < 2^31 q returns r = a * 2^-32 mod q with |r| < q. */
int32_t mldsa_montgomery_reduce(int64_t a)
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
 * Forward NTT, Cooley-Tukey butterflies, output in bit-reversed order (FIPS 204 Alg. 41).
 * No reductions inside: every butterfly adds at most q to the magnitude (|t| < q after the
 * Montgomery product), so |in| < q gives |out| < 9q, well inside int32_t.
 */
void poly_ntt(poly *a)
{
    int32_t *c = a->c;
    unsigned k = 0;
    for (unsigned len = 128; len > 0; len >>= 1) {
        for (unsigned start = 0; start < MLDSA_N; start += 2 * len) {
            const int64_t zeta = zetas[++k];
            for (unsigned j = start; j < start + len; j++) {
                int32_t t = mldsa_montgomery_reduce(zeta * c[j + len]);
                c[j + len] = c[j] - t;
                c[j] = c[j] + t;
            }
        }
    }
}

/*
 * Inverse NTT, Gentleman-Sande butterflies (FIPS 204 Alg. 42), then the scaling. Sums
 * double at most once per level, so |in| < q keeps every value below 256 q < 2^31 before
 * the final Montgomery multiplication brings it back under q.
 */
void poly_invntt_tomont(poly *a)
{
    int32_t *c = a->c;
    unsigned k = MLDSA_N;
    for (unsigned len = 1; len < MLDSA_N; len <<= 1) {
        for (unsigned start = 0; start < MLDSA_N; start += 2 * len) {
            const int64_t zeta = -zetas[--k];
            for (unsigned j = start; j < start + len; j++) {
                int32_t t = c[j];
                c[j] = t + c[j + len];
                c[j + len] = mldsa_montgomery_reduce(zeta * (t - c[j + len]));
            }
        }
    }
    for (unsigned j = 0; j < MLDSA_N; j++)
        c[j] = mldsa_montgomery_reduce((int64_t)invntt_scale * c[j]);
}

void poly_pointwise(poly *r, const poly *a, const poly *b)
{
    for (int i = 0; i < MLDSA_N; i++)
        r->c[i] = mldsa_montgomery_reduce((int64_t)a->c[i] * b->c[i]);
}

void poly_pointwise_acc(poly *r, const poly *a, const poly *b)
{
    for (int i = 0; i < MLDSA_N; i++)
        r->c[i] += mldsa_montgomery_reduce((int64_t)a->c[i] * b->c[i]);
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
static unsigned rej_uniform(int32_t *a, unsigned ctr, const uint8_t *buf, size_t buflen)
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
 * FIPS 204 Alg. 30. Five SHAKE128 blocks (840 bytes, 280 candidates) almost always suffice
 * for 256 coefficients; squeezing them in one go saves the per-block bookkeeping. 168 is a
 * multiple of 3, so no candidate straddles two blocks.
 */
void poly_uniform(poly *a, const uint8_t rho[32], uint8_t s, uint8_t r)
{
    uint8_t buf[5 * KECCAK_SHAKE128_RATE];
    uint8_t nonce[2] = {s, r};
    struct keccak_state st;

    shake128_init(&st);
    shake_absorb(&st, rho, 32);
    shake_absorb(&st, nonce, 2);
    shake_finalize(&st);
    shake_squeezeblocks(&st, buf, 5);
    unsigned ctr = rej_uniform(a->c, 0, buf, sizeof buf);
    while (ctr < MLDSA_N) {
        shake_squeezeblocks(&st, buf, 1);
        ctr = rej_uniform(a->c, ctr, buf, KECCAK_SHAKE128_RATE);
    }
}

/*
 * FIPS 204 Alg. 31 with eta = 4: each half-byte b < 9 gives the coefficient 4 - b.
 * Constant time: rho' is secret, and which half-bytes are rejected depends on it. Only the
 * accept/reject bit of each candidate is declassified (the accepted values stay secret);
 * that bit is a function of SHAKE256 output independent of the accepted coefficients, the
 * treatment FIPS 204 §3.6.3 allows for rejection sampling of this kind.
 */
static unsigned rej_eta(int32_t *a, unsigned ctr, const uint8_t *buf, size_t buflen)
{
    for (size_t pos = 0; ctr < MLDSA_N && pos < buflen; pos++) {
        uint32_t nib[2] = {buf[pos] & 15u, (uint32_t)buf[pos] >> 4};
        for (int h = 0; h < 2 && ctr < MLDSA_N; h++) {
            uint32_t keep = (nib[h] - 9u) >> 31;
            CT_DECLASSIFY(&keep, sizeof keep);
            if (keep)
                a[ctr++] = MLDSA_ETA - (int32_t)nib[h];
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
    unsigned ctr = rej_eta(a->c, 0, buf, sizeof buf);
    while (ctr < MLDSA_N) {
        shake_squeezeblocks(&st, buf, 1);
        ctr = rej_eta(a->c, ctr, buf, KECCAK_SHAKE256_RATE);
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

/* FIPS 204 Alg. 29: tau = 49 coefficients +-1 placed by a Fisher-Yates shuffle. */
void poly_challenge(poly *c, const uint8_t ctilde[MLDSA_CTILDEBYTES])
{
    uint8_t buf[KECCAK_SHAKE256_RATE];
    struct keccak_state st;

    shake256_init(&st);
    shake_absorb(&st, ctilde, MLDSA_CTILDEBYTES);
    shake_finalize(&st);
    shake_squeezeblocks(&st, buf, 1);

    uint64_t signs = 0;
    for (int i = 0; i < 8; i++)
        signs |= (uint64_t)buf[i] << (8 * i);
    size_t pos = 8;

    memset(c, 0, sizeof *c);
    for (unsigned i = MLDSA_N - MLDSA_TAU; i < MLDSA_N; i++) {
        unsigned j;
        do {
            if (pos >= sizeof buf) {
                shake_squeezeblocks(&st, buf, 1);
                pos = 0;
            }
            j = buf[pos++];
        } while (j > i);
        c->c[i] = c->c[j];
        c->c[j] = 1 - 2 * (int32_t)(signs & 1);
        signs >>= 1;
    }
}

/* --- packing ----------------------------------------------------------------------- */

/* Little-endian bit stream of 256 values of `bits` bits each (SimpleBitPack's layout). */
static void pack_bits(uint8_t *out, const uint32_t v[MLDSA_N], unsigned bits)
{
    uint64_t acc = 0;
    unsigned have = 0;
    for (int i = 0; i < MLDSA_N; i++) {
        acc |= (uint64_t)v[i] << have;
        have += bits;
        while (have >= 8) {
            *out++ = (uint8_t)acc;
            acc >>= 8;
            have -= 8;
        }
    }
}

/* Reads exactly 32 * bits bytes. */
static void unpack_bits(uint32_t v[MLDSA_N], const uint8_t *in, unsigned bits)
{
    const uint64_t mask = (1ULL << bits) - 1;
    uint64_t acc = 0;
    unsigned have = 0;
    for (int i = 0; i < MLDSA_N; i++) {
        while (have < bits) {
            acc |= (uint64_t)*in++ << have;
            have += 8;
        }
        v[i] = (uint32_t)(acc & mask);
        acc >>= bits;
        have -= bits;
    }
}

/* BitPack(a, off-1.., off): stores off - a (FIPS 204 Alg. 17). */
static void pack_offset(uint8_t *out, const poly *a, int32_t off, unsigned bits)
{
    uint32_t v[MLDSA_N];
    for (int i = 0; i < MLDSA_N; i++)
        v[i] = (uint32_t)(off - a->c[i]);
    pack_bits(out, v, bits);
    explicit_bzero(v, sizeof v);
}

static void unpack_offset(poly *a, const uint8_t *in, int32_t off, unsigned bits)
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

void polyz_pack(uint8_t *r, const poly *a) { pack_offset(r, a, MLDSA_GAMMA1, 20); }
void polyz_unpack(poly *a, const uint8_t *r) { unpack_offset(a, r, MLDSA_GAMMA1, 20); }

void polyw1_pack(uint8_t *r, const poly *a)
{
    uint32_t v[MLDSA_N];
    for (int i = 0; i < MLDSA_N; i++)
        v[i] = (uint32_t)a->c[i];
    pack_bits(r, v, 4);
}
