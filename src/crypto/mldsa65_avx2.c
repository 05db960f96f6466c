/*
 * The AVX2 backend of ML-DSA-65 (see mldsa65_backend.h): the NTT and its inverse, the
 * matrix-vector product, ExpandA / ExpandS / ExpandMask on a four-way Keccak with vector
 * rejection sampling, the products with the challenge, Decompose, UseHint, the norm check,
 * the elementwise operations and the hot packings, on eight 32-bit (or sixteen 16-bit)
 * coefficients per register.
 *
 * Every function carries a target attribute (AVX2 below) instead of the file being built
 * with -mavx2: the portable code, and the library's flags, do not change, and nothing here
 * runs unless mldsa65_backend.c found AVX2 at run time. On other targets the file is empty.
 *
 * Byte-identical to the portable backend by construction: the NTTs perform exactly the
 * portable butterflies (same twiddles, same Montgomery products, same order of additions
 * and subtractions, only grouped eight at a time), the matrix-vector product accumulates
 * the same exact 64-bit sums and reduces them the same way, and the samplers consume the
 * same SHAKE streams with the same rejection rules, candidate by candidate in order.
 * tests/crypto/test_mldsa65_backends.c checks this kernel by kernel and on 10 000 random
 * key generations, signatures and verifications.
 *
 * Constant time: as the portable code. Arithmetic has no branch or address that depends on
 * coefficient values; the samplers are variable-time only in what FIPS 204 makes public or
 * what the portable code declassifies (ExpandA works on the public rho; ExpandS reveals
 * which half-bytes were rejected, not the accepted values). The challenge products loop
 * over the positions of c, which are public once c~ is.
 */
#include "crypto/mldsa65_backend.h"

#if defined(MLDSA_HAVE_AVX2_BACKEND)

#include <immintrin.h>
#include <string.h>

#include "crypto/keccak.h"

/*
 * This file is compiled twice: as itself, the AVX2 backend, and included by
 * mldsa65_avx512vl.c with MLDSA_AVX2_FOR_AVX512VL defined, which builds the same kernels
 * for AVX-512VL (32 vector registers, EVEX forms) with the AVX-512VL build of the four-way
 * Keccak. Everything here is static except the init function and the backend table, whose
 * names the macros below give per build.
 */
#if defined(MLDSA_AVX2_FOR_AVX512VL)
#define AVX2 __attribute__((target("avx2,avx512f,avx512vl")))
#define AVX2_INIT mldsa_avx512vl_init
#define AVX2_BACKEND mldsa_backend_avx512vl
#define AVX2_BACKEND_NAME "avx2+avx512vl"
#define AVX2_SQUEEZE shakex4_squeezeblocks_avx512vl
#else
#define AVX2 __attribute__((target("avx2")))
#define AVX2_INIT mldsa_avx2_init
#define AVX2_BACKEND mldsa_backend_avx2
#define AVX2_BACKEND_NAME "avx2"
#define AVX2_SQUEEZE shakex4_squeezeblocks_avx2
#endif

/* q^-1 mod 2^32, as in mldsa65_poly.c. */
#define QINV 58728449

/*
 * Twiddles of the three innermost layers (distances 4, 2, 1), laid out for the transposed
 * form used there: a block of 64 coefficients is loaded as eight vectors and transposed, so
 * that lane i of vector e holds coefficient 8 i + e of the block and each butterfly of
 * those layers is one vector operation with a vector of eight different twiddles. Index
 * [blk] is the 64-coefficient block, [s] the butterfly group within eight coefficients.
 * The inverse tables hold the negated twiddles the portable inverse NTT uses.
 */
struct twiddles {
    int32_t z4[4][8], z4q[4][8];
    int32_t z2[4][2][8], z2q[4][2][8];
    int32_t z1[4][4][8], z1q[4][4][8];
};
static struct twiddles fwd, inv;

/* For the rejection sampler: for each 8-bit mask of accepted candidates, the indices of
 * its set bits in order (then zeros), and how many there are. */
static uint8_t compress_idx[256][8];
static uint8_t compress_cnt[256];

static int32_t neg32(int32_t x) { return (int32_t)(0u - (uint32_t)x); }

void AVX2_INIT(void)
{
    for (unsigned m = 0; m < 256; m++) {
        unsigned n = 0;
        for (unsigned b = 0; b < 8; b++)
            if (m & (1u << b))
                compress_idx[m][n++] = (uint8_t)b;
        compress_cnt[m] = (uint8_t)n;
    }
    const int32_t *z = mldsa_zetas(), *zq = mldsa_zetas_qinv();
    for (int blk = 0; blk < 4; blk++) {
        for (int i = 0; i < 8; i++) {
            const int b = 8 * blk + i; /* the 8-coefficient group */
            fwd.z4[blk][i] = z[32 + b];
            fwd.z4q[blk][i] = zq[32 + b];
            inv.z4[blk][i] = neg32(z[63 - b]);
            inv.z4q[blk][i] = neg32(zq[63 - b]);
            for (int s = 0; s < 2; s++) {
                fwd.z2[blk][s][i] = z[64 + 2 * b + s];
                fwd.z2q[blk][s][i] = zq[64 + 2 * b + s];
                inv.z2[blk][s][i] = neg32(z[127 - 2 * b - s]);
                inv.z2q[blk][s][i] = neg32(zq[127 - 2 * b - s]);
            }
            for (int m = 0; m < 4; m++) {
                fwd.z1[blk][m][i] = z[128 + 4 * b + m];
                fwd.z1q[blk][m][i] = zq[128 + 4 * b + m];
                inv.z1[blk][m][i] = neg32(z[255 - 4 * b - m]);
                inv.z1q[blk][m][i] = neg32(zq[255 - 4 * b - m]);
            }
        }
    }
}

/* --- arithmetic kernels ---------------------------------------------------------------- */

static inline AVX2 __m256i load8(const int32_t *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}
static inline AVX2 void store8(int32_t *p, __m256i v) { _mm256_storeu_si256((__m256i *)p, v); }

/* Copies each odd 32-bit lane into the even lane below it (the upper halves of the 64-bit
 * lanes into the lower ones), as _mm256_mul_epi32 reads only the even lanes. */
static inline AVX2 __m256i odd_to_even(__m256i x)
{
    return _mm256_castps_si256(_mm256_movehdup_ps(_mm256_castsi256_ps(x)));
}

/*
 * Eight Montgomery products a z 2^-32 with zq = z q^-1 mod 2^32: exactly the portable
 * mul_zeta, ((int64) a z - (int64) m q) >> 32 with m = a zq mod 2^32. The two 64-bit
 * products agree in their low halves, so the difference of their high halves is exact.
 * Even lanes go through _mm256_mul_epi32 directly, odd lanes after movehdup (which runs
 * on the shuffle port, leaving the two multiply ports to the six multiplications); m is
 * the low half of a 64-bit product, which is where the next multiplication reads it.
 */
static inline AVX2 __m256i mulz(__m256i a, __m256i z, __m256i zq)
{
    const __m256i q = _mm256_set1_epi32(MLDSA_Q);
    const __m256i ao = odd_to_even(a);
    const __m256i pe = _mm256_mul_epi32(a, z), po = _mm256_mul_epi32(ao, odd_to_even(z));
    const __m256i me = _mm256_mul_epi32(a, zq), mo = _mm256_mul_epi32(ao, odd_to_even(zq));
    const __m256i re = _mm256_sub_epi64(pe, _mm256_mul_epi32(me, q));
    const __m256i ro = _mm256_sub_epi64(po, _mm256_mul_epi32(mo, q));
    return _mm256_blend_epi32(odd_to_even(re), ro, 0xAA);
}

/* Cooley-Tukey: (a, b) -> (a + z b, a - z b). */
static inline AVX2 void ct_bfly(__m256i *a, __m256i *b, __m256i z, __m256i zq)
{
    __m256i t = mulz(*b, z, zq);
    *b = _mm256_sub_epi32(*a, t);
    *a = _mm256_add_epi32(*a, t);
}

/* Gentleman-Sande with a negated twiddle: (a, b) -> (a + b, (a - b)(-z)). */
static inline AVX2 void gs_bfly(__m256i *a, __m256i *b, __m256i z, __m256i zq)
{
    __m256i t = *a;
    *a = _mm256_add_epi32(t, *b);
    *b = mulz(_mm256_sub_epi32(t, *b), z, zq);
}

/* 8 x 8 transpose of 32-bit elements: v[r] lane c <-> v[c] lane r. */
static inline AVX2 void transpose8(__m256i v[8])
{
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) {
        u[4 * h + 0] = _mm256_unpacklo_epi64(t[4 * h + 0], t[4 * h + 2]);
        u[4 * h + 1] = _mm256_unpackhi_epi64(t[4 * h + 0], t[4 * h + 2]);
        u[4 * h + 2] = _mm256_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
        u[4 * h + 3] = _mm256_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x20);
        v[4 + i] = _mm256_permute2x128_si256(u[i], u[4 + i], 0x31);
    }
}

/* Broadcast twiddle k, and the negated one of the inverse transform. */
static inline AVX2 __m256i bz(const int32_t *z, unsigned k) { return _mm256_set1_epi32(z[k]); }
static inline AVX2 __m256i bnz(const int32_t *z, unsigned k)
{
    return _mm256_set1_epi32(neg32(z[k]));
}

/*
 * Forward NTT in three passes over memory, two layers each, like the portable code. The
 * zeta index of a butterfly of distance d on coefficient c is 256/(2d) + c/(2d).
 * Pass 1, distances 128 and 64: vectors at j, j + 64, j + 128, j + 192.
 * Pass 2, distances 32 and 16: vectors at j, j + 16, j + 32, j + 48 within 64-blocks.
 * Pass 3, per 64-block: distance 8 on the vectors as loaded, then an 8 x 8 transpose so
 * that distances 4, 2, 1 pair whole vectors, with the per-lane twiddle tables.
 */
static AVX2 void avx2_ntt(poly *a)
{
    int32_t *c = a->c;
    const int32_t *z = mldsa_zetas(), *zq = mldsa_zetas_qinv();
    for (unsigned j = 0; j < 64; j += 8) {
        __m256i v0 = load8(c + j), v1 = load8(c + j + 64);
        __m256i v2 = load8(c + j + 128), v3 = load8(c + j + 192);
        ct_bfly(&v0, &v2, bz(z, 1), bz(zq, 1));
        ct_bfly(&v1, &v3, bz(z, 1), bz(zq, 1));
        ct_bfly(&v0, &v1, bz(z, 2), bz(zq, 2));
        ct_bfly(&v2, &v3, bz(z, 3), bz(zq, 3));
        store8(c + j, v0), store8(c + j + 64, v1), store8(c + j + 128, v2);
        store8(c + j + 192, v3);
    }
    for (unsigned b = 0; b < 4; b++) {
        for (unsigned j = 64 * b; j < 64 * b + 16; j += 8) {
            __m256i v0 = load8(c + j), v1 = load8(c + j + 16);
            __m256i v2 = load8(c + j + 32), v3 = load8(c + j + 48);
            ct_bfly(&v0, &v2, bz(z, 4 + b), bz(zq, 4 + b));
            ct_bfly(&v1, &v3, bz(z, 4 + b), bz(zq, 4 + b));
            ct_bfly(&v0, &v1, bz(z, 8 + 2 * b), bz(zq, 8 + 2 * b));
            ct_bfly(&v2, &v3, bz(z, 9 + 2 * b), bz(zq, 9 + 2 * b));
            store8(c + j, v0), store8(c + j + 16, v1), store8(c + j + 32, v2);
            store8(c + j + 48, v3);
        }
    }
    for (int blk = 0; blk < 4; blk++) {
        int32_t *p = c + 64 * blk;
        __m256i v[8], vz, vzq;
        for (int i = 0; i < 8; i++)
            v[i] = load8(p + 8 * i);
        for (unsigned i = 0; i < 8; i += 2)
            ct_bfly(&v[i], &v[i + 1], bz(z, 16 + 4 * (unsigned)blk + i / 2),
                    bz(zq, 16 + 4 * (unsigned)blk + i / 2));
        transpose8(v);
        vz = load8(fwd.z4[blk]), vzq = load8(fwd.z4q[blk]);
        for (int e = 0; e < 4; e++)
            ct_bfly(&v[e], &v[e + 4], vz, vzq);
        for (int h = 0; h < 2; h++) {
            vz = load8(fwd.z2[blk][h]), vzq = load8(fwd.z2q[blk][h]);
            ct_bfly(&v[4 * h], &v[4 * h + 2], vz, vzq);
            ct_bfly(&v[4 * h + 1], &v[4 * h + 3], vz, vzq);
        }
        for (int m = 0; m < 4; m++) {
            vz = load8(fwd.z1[blk][m]), vzq = load8(fwd.z1q[blk][m]);
            ct_bfly(&v[2 * m], &v[2 * m + 1], vz, vzq);
        }
        transpose8(v);
        for (int i = 0; i < 8; i++)
            store8(p + 8 * i, v[i]);
    }
}

/*
 * Inverse NTT, the mirror image (zeta index 256/d - 1 - c/(2d), negated, as the portable
 * code): per 64-block distances 1, 2, 4 transposed and 8; then 16 and 32; then 64 and 128
 * with the final scaling.
 */
static AVX2 void avx2_invntt_tomont(poly *a)
{
    int32_t *c = a->c;
    const int32_t *z = mldsa_zetas(), *zq = mldsa_zetas_qinv();
    for (int blk = 0; blk < 4; blk++) {
        int32_t *p = c + 64 * blk;
        __m256i v[8], vz, vzq;
        for (int i = 0; i < 8; i++)
            v[i] = load8(p + 8 * i);
        transpose8(v);
        for (int m = 0; m < 4; m++) {
            vz = load8(inv.z1[blk][m]), vzq = load8(inv.z1q[blk][m]);
            gs_bfly(&v[2 * m], &v[2 * m + 1], vz, vzq);
        }
        for (int h = 0; h < 2; h++) {
            vz = load8(inv.z2[blk][h]), vzq = load8(inv.z2q[blk][h]);
            gs_bfly(&v[4 * h], &v[4 * h + 2], vz, vzq);
            gs_bfly(&v[4 * h + 1], &v[4 * h + 3], vz, vzq);
        }
        vz = load8(inv.z4[blk]), vzq = load8(inv.z4q[blk]);
        for (int e = 0; e < 4; e++)
            gs_bfly(&v[e], &v[e + 4], vz, vzq);
        transpose8(v);
        for (unsigned i = 0; i < 8; i += 2)
            gs_bfly(&v[i], &v[i + 1], bnz(z, 31 - 4 * (unsigned)blk - i / 2),
                    bnz(zq, 31 - 4 * (unsigned)blk - i / 2));
        for (int i = 0; i < 8; i++)
            store8(p + 8 * i, v[i]);
    }
    for (unsigned b = 0; b < 4; b++) {
        for (unsigned j = 64 * b; j < 64 * b + 16; j += 8) {
            __m256i v0 = load8(c + j), v1 = load8(c + j + 16);
            __m256i v2 = load8(c + j + 32), v3 = load8(c + j + 48);
            gs_bfly(&v0, &v1, bnz(z, 15 - 2 * b), bnz(zq, 15 - 2 * b));
            gs_bfly(&v2, &v3, bnz(z, 14 - 2 * b), bnz(zq, 14 - 2 * b));
            gs_bfly(&v0, &v2, bnz(z, 7 - b), bnz(zq, 7 - b));
            gs_bfly(&v1, &v3, bnz(z, 7 - b), bnz(zq, 7 - b));
            store8(c + j, v0), store8(c + j + 16, v1), store8(c + j + 32, v2);
            store8(c + j + 48, v3);
        }
    }
    const __m256i s = _mm256_set1_epi32(mldsa_invntt_scale());
    const __m256i sq = _mm256_set1_epi32(mldsa_invntt_scale_qinv());
    for (unsigned j = 0; j < 64; j += 8) {
        __m256i v0 = load8(c + j), v1 = load8(c + j + 64);
        __m256i v2 = load8(c + j + 128), v3 = load8(c + j + 192);
        gs_bfly(&v0, &v1, bnz(z, 3), bnz(zq, 3));
        gs_bfly(&v2, &v3, bnz(z, 2), bnz(zq, 2));
        gs_bfly(&v0, &v2, bnz(z, 1), bnz(zq, 1));
        gs_bfly(&v1, &v3, bnz(z, 1), bnz(zq, 1));
        store8(c + j, mulz(v0, s, sq)), store8(c + j + 64, mulz(v1, s, sq));
        store8(c + j + 128, mulz(v2, s, sq)), store8(c + j + 192, mulz(v3, s, sq));
    }
}

/*
 * r = (sum over j < l of a[j] b[j]) 2^-32 coefficient-wise: the exact 64-bit sum, then one
 * Montgomery reduction (t = sum q^-1 mod 2^32, r = (sum - t q) >> 32), the portable
 * poly_mul_acc64 + poly_from_acc64. |sum| < l q 9q < 2^31 q holds for NTT outputs.
 */
static AVX2 void dot_mont(poly *r, const poly *const a[MLDSA_L], const poly b[MLDSA_L])
{
    const __m256i q = _mm256_set1_epi32(MLDSA_Q), qinv = _mm256_set1_epi32(QINV);
    for (unsigned i = 0; i < MLDSA_N; i += 8) {
        __m256i ae = _mm256_setzero_si256(), ao = _mm256_setzero_si256();
        for (int j = 0; j < MLDSA_L; j++) {
            __m256i x = load8(a[j]->c + i), y = load8(b[j].c + i);
            ae = _mm256_add_epi64(ae, _mm256_mul_epi32(x, y));
            ao = _mm256_add_epi64(ao, _mm256_mul_epi32(_mm256_srli_epi64(x, 32),
                                                       _mm256_srli_epi64(y, 32)));
        }
        __m256i te = _mm256_mul_epu32(ae, qinv), to = _mm256_mul_epu32(ao, qinv);
        __m256i re = _mm256_sub_epi64(ae, _mm256_mul_epi32(te, q));
        __m256i ro = _mm256_sub_epi64(ao, _mm256_mul_epi32(to, q));
        store8(r->c + i, _mm256_blend_epi32(_mm256_srli_epi64(re, 32), ro, 0xAA));
    }
}

static void avx2_matvec(poly w[MLDSA_K], const poly mat[MLDSA_K][MLDSA_L],
                        const poly vhat[MLDSA_L])
{
    for (int i = 0; i < MLDSA_K; i++) {
        const poly *row[MLDSA_L];
        for (int j = 0; j < MLDSA_L; j++)
            row[j] = &mat[i][j];
        dot_mont(&w[i], row, vhat);
    }
}

/* --- samplers on the four-way Keccak ----------------------------------------------- */

/* The four-way squeeze: the AVX2 build or the AVX-512VL build of the same code. */
typedef void (*squeeze4_fn)(struct keccakx4_state *st, uint8_t *const out[4], size_t nblocks);

#define UNIFORM_BLOCKS 5 /* 840 bytes, 280 candidates: almost always enough for 256 */

/*
 * mldsa_rej_uniform eight candidates at a time: 24 bytes spread to eight 32-bit lanes
 * (a cross-lane dword permute, then a byte shuffle per 128-bit half), masked to 23 bits,
 * compared with q, and the accepted ones packed to the front with a permutation from the
 * mask's table entry. Candidates are taken in order, and once fewer than eight places are
 * left the scalar loop finishes from the same byte, so the result is the portable one.
 * Variable time by design: the table index and the count depend on the candidates, which
 * come from the public rho only.
 */
static AVX2 unsigned rej_uniform_avx2(int32_t *a, unsigned ctr, const uint8_t *buf,
                                      size_t buflen)
{
    const __m256i spread = _mm256_setr_epi32(0, 1, 2, 3, 3, 4, 5, 6);
    const __m256i bytes = _mm256_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11,
                                           -1, 0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10,
                                           11, -1);
    const __m256i mask23 = _mm256_set1_epi32(0x7FFFFF), q = _mm256_set1_epi32(MLDSA_Q);
    size_t pos = 0;
    while (ctr + 8 <= MLDSA_N && pos + 32 <= buflen) {
        __m256i t = _mm256_loadu_si256((const __m256i *)(buf + pos));
        t = _mm256_permutevar8x32_epi32(t, spread);
        t = _mm256_and_si256(_mm256_shuffle_epi8(t, bytes), mask23);
        const unsigned m =
            (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(q, t)));
        const __m256i idx =
            _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)compress_idx[m]));
        store8(a + ctr, _mm256_permutevar8x32_epi32(t, idx));
        ctr += compress_cnt[m];
        pos += 24;
    }
    return mldsa_rej_uniform(a, ctr, buf + pos, buflen - pos);
}

/* RejNTTPoly (Alg. 30) for four entries; entry k is A[r[k]][s[k]]. Public data. */
static void uniform_x4(squeeze4_fn squeeze, poly *const a[4], const uint8_t rho[32],
                       const uint8_t s[4], const uint8_t r[4])
{
    uint8_t in[4][34];
    _Alignas(32) uint8_t buf[4][UNIFORM_BLOCKS * KECCAK_SHAKE128_RATE];
    uint8_t *const out[4] = {buf[0], buf[1], buf[2], buf[3]};
    const uint8_t *const inp[4] = {in[0], in[1], in[2], in[3]};
    struct keccakx4_state st;
    unsigned ctr[4];

    for (int k = 0; k < 4; k++) {
        memcpy(in[k], rho, 32);
        in[k][32] = s[k];
        in[k][33] = r[k];
    }
    shakex4_absorb_once(&st, KECCAK_SHAKE128_RATE, inp, sizeof in[0]);
    squeeze(&st, out, UNIFORM_BLOCKS);
    for (int k = 0; k < 4; k++)
        ctr[k] = rej_uniform_avx2(a[k]->c, 0, buf[k], sizeof buf[k]);
    while (ctr[0] < MLDSA_N || ctr[1] < MLDSA_N || ctr[2] < MLDSA_N || ctr[3] < MLDSA_N) {
        squeeze(&st, out, 1);
        for (int k = 0; k < 4; k++)
            ctr[k] = rej_uniform_avx2(a[k]->c, ctr[k], buf[k], KECCAK_SHAKE128_RATE);
    }
}

/* Entries e0 .. e0 + n - 1 (n <= 4) of the row-major list of A into out[0..n-1]. */
static void uniform_entries(squeeze4_fn squeeze, poly *const out[4], const uint8_t rho[32],
                            int e0, int n, poly *scratch)
{
    poly *dst[4];
    uint8_t s[4], r[4];
    for (int k = 0; k < 4; k++) {
        const int e = k < n ? e0 + k : e0; /* unused lanes repeat a real entry */
        dst[k] = k < n ? out[k] : scratch;
        r[k] = (uint8_t)(e / MLDSA_L);
        s[k] = (uint8_t)(e % MLDSA_L);
    }
    uniform_x4(squeeze, dst, rho, s, r);
}

static void expand_matrix(squeeze4_fn squeeze, poly mat[MLDSA_K][MLDSA_L],
                          const uint8_t rho[32])
{
    poly scratch;
    for (int e = 0; e < MLDSA_K * MLDSA_L; e += 4) {
        const int n = MLDSA_K * MLDSA_L - e < 4 ? MLDSA_K * MLDSA_L - e : 4;
        poly *out[4];
        for (int k = 0; k < 4; k++)
            out[k] = k < n ? &mat[(e + k) / MLDSA_L][(e + k) % MLDSA_L] : &scratch;
        uniform_entries(squeeze, out, rho, e, n, &scratch);
    }
}

/* Three rows at a time (15 entries on four four-way calls), not storing the whole matrix:
 * 16 KiB of stack instead of 30. */
#define ROWS_PER_PASS 3
_Static_assert(MLDSA_K % ROWS_PER_PASS == 0, "rows are processed in threes");

static void matvec_expand(squeeze4_fn squeeze, poly w[MLDSA_K], const uint8_t rho[32],
                          const poly vhat[MLDSA_L])
{
    poly ent[ROWS_PER_PASS * MLDSA_L + 1];
    const int count = ROWS_PER_PASS * MLDSA_L;
    for (int i0 = 0; i0 < MLDSA_K; i0 += ROWS_PER_PASS) {
        for (int e = 0; e < count; e += 4) {
            const int n = count - e < 4 ? count - e : 4;
            poly *out[4];
            for (int k = 0; k < 4; k++)
                out[k] = k < n ? &ent[e + k] : &ent[count];
            uniform_entries(squeeze, out, rho, i0 * MLDSA_L + e, n, &ent[count]);
        }
        for (int r = 0; r < ROWS_PER_PASS; r++) {
            const poly *row[MLDSA_L];
            for (int j = 0; j < MLDSA_L; j++)
                row[j] = &ent[r * MLDSA_L + j];
            dot_mont(&w[i0 + r], row, vhat);
        }
    }
}

/*
 * mldsa_rej_eta eight half-bytes (four bytes, low half first) at a time: each byte is
 * doubled, shifted by 0 or 4 and masked, the values below 9 are kept and packed to the
 * front as in rej_uniform_avx2, and the scalar loop finishes from the same byte.
 * Constant time: as the scalar sampler, only the accept/reject bits (the mask) are
 * declassified, and they alone choose the table entry and the count; the accepted values
 * only move through registers.
 */
static AVX2 unsigned rej_eta_avx2(int32_t *a, unsigned ctr, const uint8_t *buf, size_t buflen)
{
    const __m128i dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i shifts = _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4);
    const __m256i fifteen = _mm256_set1_epi32(15), nine = _mm256_set1_epi32(9);
    const __m256i eta = _mm256_set1_epi32(MLDSA_ETA);
    size_t pos = 0;
    while (ctr + 8 <= MLDSA_N && pos + 4 <= buflen) {
        uint32_t w;
        memcpy(&w, buf + pos, sizeof w);
        __m256i t = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(_mm_cvtsi32_si128((int)w), dup));
        t = _mm256_and_si256(_mm256_srlv_epi32(t, shifts), fifteen);
        unsigned m =
            (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(nine, t)));
        CT_DECLASSIFY(&m, sizeof m);
        const __m256i idx =
            _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)compress_idx[m]));
        store8(a + ctr, _mm256_permutevar8x32_epi32(_mm256_sub_epi32(eta, t), idx));
        ctr += compress_cnt[m];
        pos += 4;
    }
    return mldsa_rej_eta(a, ctr, buf + pos, buflen - pos);
}

/* RejBoundedPoly (Alg. 31) for four nonces of rho'. */
static void eta_x4(squeeze4_fn squeeze, poly *const a[4], const uint8_t rhoprime[64],
                   const uint16_t nonce[4])
{
    uint8_t in[4][66];
    _Alignas(32) uint8_t buf[4][2 * KECCAK_SHAKE256_RATE];
    uint8_t *const out[4] = {buf[0], buf[1], buf[2], buf[3]};
    const uint8_t *const inp[4] = {in[0], in[1], in[2], in[3]};
    struct keccakx4_state st;
    unsigned ctr[4];

    for (int k = 0; k < 4; k++) {
        memcpy(in[k], rhoprime, 64);
        in[k][64] = (uint8_t)nonce[k];
        in[k][65] = (uint8_t)(nonce[k] >> 8);
    }
    shakex4_absorb_once(&st, KECCAK_SHAKE256_RATE, inp, sizeof in[0]);
    squeeze(&st, out, 2);
    for (int k = 0; k < 4; k++)
        ctr[k] = rej_eta_avx2(a[k]->c, 0, buf[k], sizeof buf[k]);
    /* Constant time: which streams need another block follows from the declassified
     * accept/reject bits (see mldsa_rej_eta). */
    while (ctr[0] < MLDSA_N || ctr[1] < MLDSA_N || ctr[2] < MLDSA_N || ctr[3] < MLDSA_N) {
        squeeze(&st, out, 1);
        for (int k = 0; k < 4; k++)
            ctr[k] = rej_eta_avx2(a[k]->c, ctr[k], buf[k], KECCAK_SHAKE256_RATE);
    }
    explicit_bzero(in, sizeof in);
    explicit_bzero(buf, sizeof buf);
    keccakx4_wipe(&st);
}

static void expand_s(squeeze4_fn squeeze, poly s1[MLDSA_L], poly s2[MLDSA_K],
                     const uint8_t rhoprime[64])
{
    poly scratch;
    for (int n0 = 0; n0 < MLDSA_L + MLDSA_K; n0 += 4) {
        poly *out[4];
        uint16_t nonce[4];
        for (int k = 0; k < 4; k++) {
            const int n = n0 + k;
            nonce[k] = (uint16_t)n;
            out[k] = n < MLDSA_L ? &s1[n] : n < MLDSA_L + MLDSA_K ? &s2[n - MLDSA_L] : &scratch;
        }
        eta_x4(squeeze, out, rhoprime, nonce);
    }
    explicit_bzero(&scratch, sizeof scratch);
}

/*
 * polyz_unpack eight coefficients (20 bytes) at a time: each 128-bit half gets the ten
 * bytes of four coefficients, a byte shuffle gives each its three bytes, a shift by 0 or 4
 * and a mask its 20 bits. Reads up to 6 bytes past the 640 of the encoding (the ExpandMask
 * buffers are 680 bytes long; in a signature the hint bytes follow).
 */
#define POLYZ_UNPACK_SLACK MLDSA_UNPACK_Z_SLACK
static AVX2 void polyz_unpack_avx2(poly *a, const uint8_t *buf)
{
    const __m256i bytes = _mm256_setr_epi8(0, 1, 2, -1, 2, 3, 4, -1, 5, 6, 7, -1, 7, 8, 9, -1,
                                           0, 1, 2, -1, 2, 3, 4, -1, 5, 6, 7, -1, 7, 8, 9, -1);
    const __m256i shifts = _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4);
    const __m256i mask = _mm256_set1_epi32(0xFFFFF), g1 = _mm256_set1_epi32(MLDSA_GAMMA1);
    for (unsigned i = 0; i < MLDSA_N / 8; i++) {
        const uint8_t *p = buf + 20 * i;
        __m256i t = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
            _mm_loadu_si128((const __m128i *)(p + 10)), 1);
        t = _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(t, bytes), shifts), mask);
        store8(a->c + 8 * i, _mm256_sub_epi32(g1, t));
    }
}

/*
 * polyw1_pack 64 coefficients (32 bytes) at a time: narrowed to bytes with two saturating
 * packs (the values are 0..15) and a dword permute that undoes the packs' per-half order,
 * then each byte pair combined as c[2i] + 16 c[2i+1] by a multiply-add with (1, 16).
 */
static AVX2 void pack_w1_avx2(uint8_t *r, const poly *a)
{
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i weights = _mm256_set1_epi16(16 << 8 | 1);
    for (unsigned i = 0; i < MLDSA_N; i += 64) {
        __m256i half[2];
        for (unsigned h = 0; h < 2; h++) {
            const int32_t *c = a->c + i + 32 * h;
            const __m256i p01 = _mm256_packs_epi32(load8(c), load8(c + 8));
            const __m256i p23 = _mm256_packs_epi32(load8(c + 16), load8(c + 24));
            const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(p01, p23), order);
            half[h] = _mm256_maddubs_epi16(b, weights);
        }
        const __m256i out = _mm256_permute4x64_epi64(_mm256_packus_epi16(half[0], half[1]), 0xD8);
        _mm256_storeu_si256((__m256i *)(r + i / 2), out);
    }
}

/*
 * polyeta_unpack eight half-bytes (four bytes) at a time, as in rej_eta_avx2: a = eta - b,
 * and the result says whether some b exceeded 2 eta (an invalid encoding). No branch on
 * the (secret) values: the check is an OR of comparisons.
 */
static AVX2 uint32_t unpack_eta_avx2(poly *a, const uint8_t *in)
{
    const __m128i dup = _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256i shifts = _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4);
    const __m256i fifteen = _mm256_set1_epi32(15), eta = _mm256_set1_epi32(MLDSA_ETA);
    const __m256i max = _mm256_set1_epi32(2 * MLDSA_ETA);
    __m256i bad = _mm256_setzero_si256();
    for (unsigned i = 0; i < MLDSA_POLYETA_BYTES; i += 4) {
        uint32_t w;
        memcpy(&w, in + i, sizeof w);
        __m256i t = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(_mm_cvtsi32_si128((int)w), dup));
        t = _mm256_and_si256(_mm256_srlv_epi32(t, shifts), fifteen);
        bad = _mm256_or_si256(bad, _mm256_cmpgt_epi32(t, max));
        store8(a->c + 2 * i, _mm256_sub_epi32(eta, t));
    }
    return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(bad)) != 0;
}

/*
 * polyt0_unpack eight 13-bit fields (13 bytes) at a time: the low 128-bit half takes the
 * bytes of fields 0-3, the high half those of fields 4-7 (from byte 6 on), a byte shuffle
 * gives each field its three bytes, a variable shift and a mask its 13 bits, and the
 * result is 2^12 - field. The last group is read from a padded copy, so nothing past the
 * 416 bytes of the encoding is read.
 */
static AVX2 void unpack_t0_avx2(poly *a, const uint8_t *in)
{
    const __m256i bytes = _mm256_setr_epi8(0, 1, 2, -1, 1, 2, 3, -1, 3, 4, 5, -1, 4, 5, 6, -1,
                                           0, 1, 2, -1, 2, 3, 4, -1, 3, 4, 5, -1, 5, 6, 7, -1);
    const __m256i shifts = _mm256_setr_epi32(0, 5, 2, 7, 4, 1, 6, 3);
    const __m256i mask = _mm256_set1_epi32(0x1FFF);
    const __m256i off = _mm256_set1_epi32(1 << (MLDSA_D - 1));
    uint8_t last[13 + 16] = {0};
    memcpy(last, in + MLDSA_POLYT0_BYTES - 13, 13);
    for (unsigned g = 0; g < MLDSA_N / 8; g++) {
        const uint8_t *p = g + 1 < MLDSA_N / 8 ? in + 13 * g : last;
        __m256i t = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
            _mm_loadu_si128((const __m128i *)(p + 6)), 1);
        t = _mm256_and_si256(_mm256_srlv_epi32(_mm256_shuffle_epi8(t, bytes), shifts), mask);
        store8(a->c + 8 * g, _mm256_sub_epi32(off, t));
    }
    explicit_bzero(last, sizeof last);
}

/* ExpandMask's polynomials for the four nonces first .. first + 3 into out[0..3]. */
static void gamma1_x4(squeeze4_fn squeeze, poly *const out[4], const uint8_t rhopp[64],
                      uint16_t first)
{
    uint8_t in[4][66];
    _Alignas(32) uint8_t buf[4][5 * KECCAK_SHAKE256_RATE]; /* 680 >= 640 */
    uint8_t *const bufp[4] = {buf[0], buf[1], buf[2], buf[3]};
    const uint8_t *const inp[4] = {in[0], in[1], in[2], in[3]};
    struct keccakx4_state st;

    for (int k = 0; k < 4; k++) {
        const uint16_t nonce = (uint16_t)(first + k);
        memcpy(in[k], rhopp, 64);
        in[k][64] = (uint8_t)nonce;
        in[k][65] = (uint8_t)(nonce >> 8);
    }
    shakex4_absorb_once(&st, KECCAK_SHAKE256_RATE, inp, sizeof in[0]);
    squeeze(&st, bufp, 5);
    _Static_assert(5 * KECCAK_SHAKE256_RATE >= MLDSA_POLYZ_BYTES + POLYZ_UNPACK_SLACK,
                   "room to read past the encoding");
    for (int k = 0; k < 4; k++)
        polyz_unpack_avx2(out[k], buf[k]);
    explicit_bzero(in, sizeof in);
    explicit_bzero(buf, sizeof buf);
    keccakx4_wipe(&st);
}

/*
 * ExpandMask, four nonces per four-way call. An attempt needs l = 5 polynomials and the
 * next attempt continues with the next nonces (kappa grows by l), so the ones generated
 * beyond this attempt's go into the cache for the next: 1.25 four-way calls per attempt on
 * average instead of one plus five scalar permutations. The cache is used only if it
 * starts exactly at kappa; anything else is regenerated.
 */
static void expand_mask(squeeze4_fn squeeze, poly y[MLDSA_L], const uint8_t rhopp[64],
                        uint16_t kappa, struct mldsa_mask_cache *cache)
{
    _Static_assert(MLDSA_L <= 8 && MLDSA_L % 4 != 0, "at most two calls, some left over");
    unsigned have = 0;
    if (cache->count > 0 && cache->first == kappa) {
        for (unsigned i = 0; i < cache->count; i++)
            y[i] = cache->y[i];
        have = cache->count;
    }
    cache->count = 0;
    cache->first = (uint16_t)(kappa + MLDSA_L);
    while (have < MLDSA_L) {
        poly *out[4];
        for (unsigned k = 0; k < 4; k++)
            out[k] = have + k < MLDSA_L ? &y[have + k] : &cache->y[cache->count++];
        gamma1_x4(squeeze, out, rhopp, (uint16_t)(kappa + have));
        have += 4;
    }
}

/* The samplers bound to this build's four-way Keccak, for the backend table. */
static void avx2_expand_matrix(poly mat[MLDSA_K][MLDSA_L], const uint8_t rho[32])
{
    expand_matrix(AVX2_SQUEEZE, mat, rho);
}

static void avx2_matvec_expand(poly w[MLDSA_K], const uint8_t rho[32], const poly vhat[MLDSA_L])
{
    matvec_expand(AVX2_SQUEEZE, w, rho, vhat);
}

static void avx2_expand_s(poly s1[MLDSA_L], poly s2[MLDSA_K], const uint8_t rhoprime[64])
{
    expand_s(AVX2_SQUEEZE, s1, s2, rhoprime);
}

static void avx2_expand_mask(poly y[MLDSA_L], const uint8_t rhopp[64], uint16_t kappa,
                             struct mldsa_mask_cache *cache)
{
    expand_mask(AVX2_SQUEEZE, y, rhopp, kappa, cache);
}

/* --- challenge product and rounding ------------------------------------------------- */

/*
 * r = c a exactly, as poly_mul_challenge: ext = (-a, a), r[i] = sum over the terms +-X^p
 * of +-ext[256 + i - p], with 64 outputs in eight accumulators per pass. The terms are
 * taken grouped by sign (by_sign), so there is no unpredictable branch per term; the sums
 * are exact, so their order does not change the result. The positions are public (c is
 * public once c~ is).
 */
static AVX2 void avx2_mul_challenge(poly *r, const struct mldsa_challenge *ch, const poly *a)
{
    _Alignas(32) int32_t ext[2 * MLDSA_N];
    for (unsigned i = 0; i < MLDSA_N; i += 8) {
        __m256i x = load8(a->c + i);
        store8(ext + i, _mm256_sub_epi32(_mm256_setzero_si256(), x));
        store8(ext + MLDSA_N + i, x);
    }
    for (unsigned blk = 0; blk < MLDSA_N; blk += 64) {
        /* Eight named accumulators: an array of them ends up in memory. */
        __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
        __m256i c4 = c0, c5 = c0, c6 = c0, c7 = c0;
#define CHALLENGE_TERM(op)                                                                 \
    do {                                                                                   \
        c0 = op(c0, load8(src)), c1 = op(c1, load8(src + 8));                              \
        c2 = op(c2, load8(src + 16)), c3 = op(c3, load8(src + 24));                        \
        c4 = op(c4, load8(src + 32)), c5 = op(c5, load8(src + 40));                        \
        c6 = op(c6, load8(src + 48)), c7 = op(c7, load8(src + 56));                        \
    } while (0)
        for (unsigned k = 0; k < ch->nplus; k++) {
            const int32_t *src = ext + MLDSA_N - ch->by_sign[k] + blk;
            CHALLENGE_TERM(_mm256_add_epi32);
        }
        for (unsigned k = ch->nplus; k < MLDSA_TAU; k++) {
            const int32_t *src = ext + MLDSA_N - ch->by_sign[k] + blk;
            CHALLENGE_TERM(_mm256_sub_epi32);
        }
#undef CHALLENGE_TERM
        int32_t *dst = r->c + blk;
        store8(dst, c0), store8(dst + 8, c1), store8(dst + 16, c2), store8(dst + 24, c3);
        store8(dst + 32, c4), store8(dst + 40, c5), store8(dst + 48, c6), store8(dst + 56, c7);
    }
    explicit_bzero(ext, sizeof ext);
}

/*
 * The same product for |a| <= eta (s1 and s2): every partial sum is at most tau eta = 196
 * in magnitude, so the terms are added as 16-bit lanes, sixteen per register, which halves
 * the loads; the result is widened to 32 bits at the end. Exactly poly_mul_challenge's.
 */
_Static_assert(MLDSA_TAU * MLDSA_ETA < 32768, "c s fits in 16 bits");

static AVX2 void avx2_mul_challenge_eta(poly *r, const struct mldsa_challenge *ch,
                                        const poly *a)
{
    _Alignas(32) int16_t ext[2 * MLDSA_N];
    for (unsigned i = 0; i < MLDSA_N; i += 16) {
        /* packs works per 128-bit half; the permute puts the 16 values back in order */
        __m256i x = _mm256_packs_epi32(load8(a->c + i), load8(a->c + i + 8));
        x = _mm256_permute4x64_epi64(x, 0xD8);
        _mm256_store_si256((__m256i *)(ext + MLDSA_N + i), x);
        _mm256_store_si256((__m256i *)(ext + i), _mm256_sub_epi16(_mm256_setzero_si256(), x));
    }
    for (unsigned blk = 0; blk < MLDSA_N; blk += 128) {
        __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
        __m256i c4 = c0, c5 = c0, c6 = c0, c7 = c0;
#define LOAD16(p) _mm256_loadu_si256((const __m256i *)(p))
#define CHALLENGE_TERM16(op)                                                               \
    do {                                                                                   \
        c0 = op(c0, LOAD16(src)), c1 = op(c1, LOAD16(src + 16));                           \
        c2 = op(c2, LOAD16(src + 32)), c3 = op(c3, LOAD16(src + 48));                      \
        c4 = op(c4, LOAD16(src + 64)), c5 = op(c5, LOAD16(src + 80));                      \
        c6 = op(c6, LOAD16(src + 96)), c7 = op(c7, LOAD16(src + 112));                     \
    } while (0)
        for (unsigned k = 0; k < ch->nplus; k++) {
            const int16_t *src = ext + MLDSA_N - ch->by_sign[k] + blk;
            CHALLENGE_TERM16(_mm256_add_epi16);
        }
        for (unsigned k = ch->nplus; k < MLDSA_TAU; k++) {
            const int16_t *src = ext + MLDSA_N - ch->by_sign[k] + blk;
            CHALLENGE_TERM16(_mm256_sub_epi16);
        }
#undef CHALLENGE_TERM16
#undef LOAD16
        const __m256i acc[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
        for (int q = 0; q < 8; q++) {
            int32_t *dst = r->c + blk + 16 * q;
            store8(dst, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc[q])));
            store8(dst + 8, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc[q], 1)));
        }
    }
    explicit_bzero(ext, sizeof ext);
}

/* poly_add, poly_sub (wrapping 32-bit arithmetic, as the portable loops on in-range
 * values), poly_reduce (reduce32: a - ((a + 2^22) >> 23) q) and poly_freeze. */
static AVX2 void avx2_add(poly *r, const poly *a, const poly *b)
{
    for (unsigned i = 0; i < MLDSA_N; i += 8)
        store8(r->c + i, _mm256_add_epi32(load8(a->c + i), load8(b->c + i)));
}

static AVX2 void avx2_sub(poly *r, const poly *a, const poly *b)
{
    for (unsigned i = 0; i < MLDSA_N; i += 8)
        store8(r->c + i, _mm256_sub_epi32(load8(a->c + i), load8(b->c + i)));
}

static inline AVX2 __m256i reduce32_x8(__m256i x)
{
    const __m256i q = _mm256_set1_epi32(MLDSA_Q), half = _mm256_set1_epi32(1 << 22);
    const __m256i t = _mm256_srai_epi32(_mm256_add_epi32(x, half), 23);
    return _mm256_sub_epi32(x, _mm256_mullo_epi32(t, q));
}

static AVX2 void avx2_reduce(poly *a)
{
    for (unsigned i = 0; i < MLDSA_N; i += 8)
        store8(a->c + i, reduce32_x8(load8(a->c + i)));
}

static AVX2 void avx2_freeze(poly *a)
{
    const __m256i q = _mm256_set1_epi32(MLDSA_Q);
    for (unsigned i = 0; i < MLDSA_N; i += 8) {
        const __m256i x = reduce32_x8(load8(a->c + i));
        store8(a->c + i, _mm256_add_epi32(x, _mm256_and_si256(_mm256_srai_epi32(x, 31), q)));
    }
}

/* poly_caddq: q added to the negative coefficients. */
static AVX2 void avx2_caddq(poly *a)
{
    const __m256i q = _mm256_set1_epi32(MLDSA_Q);
    for (unsigned i = 0; i < MLDSA_N; i += 8) {
        const __m256i x = load8(a->c + i);
        store8(a->c + i, _mm256_add_epi32(x, _mm256_and_si256(_mm256_srai_epi32(x, 31), q)));
    }
}

/* poly_chknorm: every coefficient is looked at and the answer is one OR of comparisons,
 * so neither the values nor the position of an offender change the time. */
static AVX2 uint32_t avx2_chknorm(const poly *a, int32_t bound)
{
    const __m256i limit = _mm256_set1_epi32(bound - 1);
    __m256i bad = _mm256_setzero_si256();
    for (unsigned i = 0; i < MLDSA_N; i += 8)
        bad = _mm256_or_si256(bad, _mm256_cmpgt_epi32(_mm256_abs_epi32(load8(a->c + i)),
                                                      limit));
    return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(bad)) != 0;
}

/* poly_decompose, eight at a time: the same multiply-shift (times 1025 as a shift and an
 * add, 2 gamma2 = 2^19 - 2^9 likewise) and the same masked wrap. */
static AVX2 void avx2_decompose(poly *a1, poly *a0, const poly *a)
{
    const __m256i c127 = _mm256_set1_epi32(127), round = _mm256_set1_epi32(1 << 21);
    const __m256i fifteen = _mm256_set1_epi32(15), q = _mm256_set1_epi32(MLDSA_Q);
    const __m256i half = _mm256_set1_epi32((MLDSA_Q - 1) / 2);
    for (unsigned i = 0; i < MLDSA_N; i += 8) {
        __m256i x = load8(a->c + i);
        __m256i hi = _mm256_srai_epi32(_mm256_add_epi32(x, c127), 7);
        hi = _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(hi, 10), hi), round);
        hi = _mm256_and_si256(_mm256_srai_epi32(hi, 22), fifteen);
        __m256i lo = _mm256_sub_epi32(
            x, _mm256_sub_epi32(_mm256_slli_epi32(hi, 19), _mm256_slli_epi32(hi, 9)));
        __m256i wrap = _mm256_srai_epi32(_mm256_sub_epi32(half, lo), 31);
        lo = _mm256_sub_epi32(lo, _mm256_and_si256(wrap, q));
        store8(a0->c + i, lo);
        store8(a1->c + i, hi);
    }
}

/*
 * UseHint (FIPS 204 Alg. 40) after avx2_decompose: where h = 1, a1 moves by +1 if a0 > 0
 * and by -1 otherwise, modulo 16 (the portable poly_use_hint, without its branches).
 */
static AVX2 void avx2_use_hint(poly *b, const poly *a, const poly *h)
{
    poly a0;
    avx2_decompose(b, &a0, a);
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    const __m256i two = _mm256_set1_epi32(2), fifteen = _mm256_set1_epi32(15);
    for (unsigned i = 0; i < MLDSA_N; i += 8) {
        /* delta = +1 where a0 > 0, -1 elsewhere; added only where h = 1 */
        const __m256i pos = _mm256_cmpgt_epi32(load8(a0.c + i), zero);
        const __m256i delta = _mm256_sub_epi32(_mm256_and_si256(pos, two), one);
        const __m256i hmask = _mm256_sub_epi32(zero, load8(h->c + i));
        const __m256i moved = _mm256_add_epi32(load8(b->c + i), _mm256_and_si256(hmask, delta));
        store8(b->c + i, _mm256_and_si256(moved, fifteen));
    }
}

const struct mldsa_backend AVX2_BACKEND = {
    .name = AVX2_BACKEND_NAME,
    .ntt = avx2_ntt,
    .invntt_tomont = avx2_invntt_tomont,
    .matvec_expand = avx2_matvec_expand,
    .expand_matrix = avx2_expand_matrix,
    .matvec = avx2_matvec,
    .expand_s = avx2_expand_s,
    .expand_mask = avx2_expand_mask,
    .mul_challenge = avx2_mul_challenge,
    .mul_challenge_eta = avx2_mul_challenge_eta,
    .add = avx2_add,
    .sub = avx2_sub,
    .reduce = avx2_reduce,
    .freeze = avx2_freeze,
    .caddq = avx2_caddq,
    .chknorm = avx2_chknorm,
    .decompose = avx2_decompose,
    .pack_w1 = pack_w1_avx2,
    .unpack_eta = unpack_eta_avx2,
    .unpack_t0 = unpack_t0_avx2,
    .unpack_z = polyz_unpack_avx2,
    .use_hint = avx2_use_hint,
};

#else
/* ISO C forbids an empty translation unit. */
typedef int mldsa65_avx2_unused;
#endif
