/*
 * Tests of src/crypto/keccak.c and src/crypto/digest.c: FIPS 202 known answers
 * (published digests of "", "abc", the 448-bit message and a million 'a'), incremental
 * absorb and squeeze against one-shot for many chunkings, the two-lane Keccak against the
 * single one, the four-lane builds (AVX2 and AVX-512VL, where the CPU has them) against
 * the single one, our SHAKE256 against OpenSSL's for many lengths, SHA-256 known answers
 * and streaming, hex and constant-time compare. On x86-64 every case runs with the generic
 * build of the permutation and again with the BMI1/BMI2 build where the CPU has those.
 */
#include "ant/digest.h"
#include "crypto/keccak.h"
#include "test.h"

static void check_hex(const uint8_t *got, size_t len, const char *want_hex)
{
    char hex[2 * 200 + 1];
    CHECK(len <= 200);
    ant_hex_encode(hex, got, len);
    CHECK_STR(hex, want_hex);
}

static void test_fips202_known_answers(void)
{
    uint8_t out[64];
    const uint8_t *abc = (const uint8_t *)"abc";
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

    sha3_256(out, NULL, 0);
    check_hex(out, 32, "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    sha3_512(out, NULL, 0);
    check_hex(out, 64,
              "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1475c80a6"
              "15b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e301758586281dcd26");
    shake128(out, 32, NULL, 0);
    check_hex(out, 32, "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26");
    shake256(out, 64, NULL, 0);
    check_hex(out, 64,
              "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"
              "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be");
    sha3_256(out, abc, 3);
    check_hex(out, 32, "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
    sha3_512(out, abc, 3);
    check_hex(out, 64,
              "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e"
              "10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0");
    sha3_256(out, (const uint8_t *)m448, strlen(m448));
    check_hex(out, 32, "41c0dba2a9d6240849100376a8235e2c82e1b9998a999e21db32dd97496d3376");
}

static void test_fips202_million_a(void)
{
    size_t n = 1000000;
    uint8_t *msg = malloc(n), out[64];
    CHECK(msg != NULL);
    if (msg == NULL)
        return;
    memset(msg, 'a', n);
    sha3_256(out, msg, n);
    check_hex(out, 32, "5c8875ae474a3634ba4fd55ec85bffd661f32aca75c6d699d0cdcb6c115891c1");
    sha3_512(out, msg, n);
    check_hex(out, 64,
              "3c3a876da14034ab60627c077bb98f7e120a2a5370212dffb3385a18d4f38859"
              "ed311d0a9d5141ce9cc5c66ee689b266a8aa18ace8282a0e0db596c90b0a7b87");
    free(msg);
}

/* A small deterministic generator so chunkings differ but runs are reproducible. */
static uint32_t rng_state = 0x12345678u;
static uint32_t next_rand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_incremental_equals_oneshot(void)
{
    enum { MSG = 1500, OUT = 1000 };
    uint8_t msg[MSG], want[OUT], got[OUT];
    for (size_t i = 0; i < MSG; i++)
        msg[i] = (uint8_t)(i * 7 + 3);

    for (int variant = 0; variant < 2; variant++) {
        for (int trial = 0; trial < 200; trial++) {
            size_t msglen = next_rand() % MSG;
            struct keccak_state st;
            if (variant == 0) {
                shake128(want, OUT, msg, msglen);
                shake128_init(&st);
            } else {
                shake256(want, OUT, msg, msglen);
                shake256_init(&st);
            }
            /* Absorb in random pieces, including empty ones and pieces that cross the
             * rate boundary. */
            for (size_t off = 0; off < msglen;) {
                size_t piece = next_rand() % 300;
                if (piece > msglen - off)
                    piece = msglen - off;
                shake_absorb(&st, msg + off, piece);
                off += piece;
            }
            shake_absorb(&st, msg, 0);
            shake_finalize(&st);
            for (size_t off = 0; off < OUT;) {
                size_t piece = next_rand() % 400;
                if (piece > OUT - off)
                    piece = OUT - off;
                shake_squeeze(&st, got + off, piece);
                off += piece;
            }
            CHECK_MSG(memcmp(got, want, OUT) == 0, "variant %d msglen %zu", variant, msglen);
        }
    }

    /* Whole-block squeezing continues the same stream as byte squeezing. */
    uint8_t blocks[3 * KECCAK_SHAKE128_RATE];
    struct keccak_state st;
    shake128(want, sizeof blocks, msg, 100);
    shake128_init(&st);
    shake_absorb(&st, msg, 100);
    shake_finalize(&st);
    shake_squeezeblocks(&st, blocks, 2);
    shake_squeezeblocks(&st, blocks + 2 * KECCAK_SHAKE128_RATE, 1);
    CHECK_MEM(blocks, want, sizeof blocks);
}

static void test_two_lane_keccak_matches_single(void)
{
    uint8_t in0[200], in1[200], want0[3 * 168], want1[3 * 168], got0[3 * 168], got1[3 * 168];
    const unsigned rates[2] = {KECCAK_SHAKE128_RATE, KECCAK_SHAKE256_RATE};
    for (size_t i = 0; i < sizeof in0; i++) {
        in0[i] = (uint8_t)next_rand();
        in1[i] = (uint8_t)next_rand();
    }
    for (int v = 0; v < 2; v++) {
        const unsigned rate = rates[v];
        /* Every input length the one-block absorb accepts, up to rate - 1. */
        for (size_t len = 0; len < rate; len++) {
            struct keccakx2_state st;
            if (v == 0) {
                shake128(want0, 3 * rate, in0, len);
                shake128(want1, 3 * rate, in1, len);
            } else {
                shake256(want0, 3 * rate, in0, len);
                shake256(want1, 3 * rate, in1, len);
            }
            shakex2_absorb_once(&st, rate, in0, in1, len);
            shakex2_squeezeblocks(&st, got0, got1, 2);
            shakex2_squeezeblocks(&st, got0 + 2 * rate, got1 + 2 * rate, 1);
            CHECK_MSG(memcmp(got0, want0, 3 * rate) == 0 && memcmp(got1, want1, 3 * rate) == 0,
                      "rate %u len %zu", rate, len);
        }
    }
}

#if defined(KECCAK_HAVE_X4)
static void four_lane_matches_single(void (*squeeze)(struct keccakx4_state *, uint8_t *const[4],
                                                     size_t))
{
    static uint8_t in[4][200], want[4][3 * 168], got[4][3 * 168];
    const unsigned rates[2] = {KECCAK_SHAKE128_RATE, KECCAK_SHAKE256_RATE};
    const uint8_t *const inp[4] = {in[0], in[1], in[2], in[3]};
    uint8_t *const out[4] = {got[0], got[1], got[2], got[3]};
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < sizeof in[k]; i++)
            in[k][i] = (uint8_t)next_rand();
    for (int v = 0; v < 2; v++) {
        const unsigned rate = rates[v];
        for (size_t len = 0; len < rate; len++) {
            struct keccakx4_state st;
            for (int k = 0; k < 4; k++) {
                if (v == 0)
                    shake128(want[k], 3 * rate, in[k], len);
                else
                    shake256(want[k], 3 * rate, in[k], len);
            }
            shakex4_absorb_once(&st, rate, inp, len);
            uint8_t *const third[4] = {got[0] + 2 * rate, got[1] + 2 * rate,
                                       got[2] + 2 * rate, got[3] + 2 * rate};
            squeeze(&st, out, 2);
            squeeze(&st, third, 1);
            for (int k = 0; k < 4; k++)
                CHECK_MSG(memcmp(got[k], want[k], 3 * rate) == 0, "rate %u len %zu lane %d",
                          rate, len, k);
        }
    }
}
#endif

static void test_four_lane_keccak_matches_single(void)
{
#if defined(KECCAK_HAVE_X4)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        four_lane_matches_single(shakex4_squeezeblocks_avx2);
    else
        fprintf(stderr, "  no AVX2 here: the AVX2 four-lane build is not run\n");
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
        four_lane_matches_single(shakex4_squeezeblocks_avx512vl);
    else
        fprintf(stderr, "  no AVX-512VL here (or under valgrind): that build is not run\n");
#else
    fprintf(stderr, "  no four-lane Keccak on this target\n");
#endif
}

static void test_shake256_matches_openssl(void)
{
    uint8_t msg[700], a[300], b[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)next_rand();
    for (size_t len = 0; len < sizeof msg; len += 1 + len / 8) {
        struct ant_digest *d = NULL;
        size_t outlen = 1 + len % sizeof a;
        shake256(a, outlen, msg, len);
        CHECK_OK(ant_digest_new(&d, ANT_DIGEST_SHAKE256));
        CHECK_OK(ant_digest_update(d, msg, len / 2));
        CHECK_OK(ant_digest_update(d, msg + len / 2, len - len / 2));
        CHECK_OK(ant_digest_final(d, b, outlen));
        CHECK_MSG(memcmp(a, b, outlen) == 0, "len %zu", len);
        /* A stream is finalised once. */
        CHECK_ERR(ant_digest_final(d, b, outlen), ANT_ERR_INVALID_ARG);
        CHECK_ERR(ant_digest_update(d, msg, 1), ANT_ERR_INVALID_ARG);
        ant_digest_free(d);
    }
}

static void test_sha256(void)
{
    uint8_t out[ANT_SHA256_BYTES];
    char hex[ANT_SHA256_HEXBYTES];
    struct ant_digest *d = NULL;

    CHECK_OK(ant_sha256(out, "abc", 3));
    ant_hex_encode(hex, out, sizeof out);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK_OK(ant_sha256(out, NULL, 0));
    ant_hex_encode(hex, out, sizeof out);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    CHECK_OK(ant_digest_new(&d, ANT_DIGEST_SHA256));
    CHECK_OK(ant_digest_update(d, "a", 1));
    CHECK_OK(ant_digest_update(d, NULL, 0));
    CHECK_OK(ant_digest_update(d, "bc", 2));
    CHECK_ERR(ant_digest_final(d, out, 31), ANT_ERR_INVALID_ARG);
    CHECK_OK(ant_digest_final(d, out, sizeof out));
    ant_hex_encode(hex, out, sizeof out);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ant_digest_free(d);

    CHECK_ERR(ant_digest_new(&d, (enum ant_digest_kind)7), ANT_ERR_INVALID_ARG);
    CHECK(d == NULL);
}

static void test_hex(void)
{
    uint8_t buf[4];
    char hex[9];
    const uint8_t bytes[4] = {0x00, 0xAB, 0x7f, 0xff};

    ant_hex_encode(hex, bytes, 4);
    CHECK_STR(hex, "00ab7fff");
    CHECK_OK(ant_hex_decode(buf, 4, "00AB7fFf"));
    CHECK_MEM(buf, bytes, 4);
    memset(buf, 0x55, sizeof buf);
    CHECK_ERR(ant_hex_decode(buf, 4, "00ab7ff"), ANT_ERR_PARSE);   /* short */
    CHECK(buf[0] == 0 && buf[3] == 0);                              /* zeroed */
    CHECK_ERR(ant_hex_decode(buf, 4, "00ab7fff0"), ANT_ERR_PARSE); /* long */
    CHECK_ERR(ant_hex_decode(buf, 4, "00ab7fgf"), ANT_ERR_PARSE);  /* not hex */
    CHECK_ERR(ant_hex_decode(buf, 4, NULL), ANT_ERR_PARSE);
    CHECK_OK(ant_hex_decode(buf, 0, ""));
}

static void test_ct_memcmp(void)
{
    uint8_t a[100], b[100];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = b[i] = (uint8_t)i;
    CHECK(ant_ct_memcmp(a, b, sizeof a) == 0);
    CHECK(ant_ct_memcmp(a, b, 0) == 0);
    for (size_t i = 0; i < sizeof a; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            CHECK(ant_ct_memcmp(a, b, sizeof a) != 0);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_fips202_known_answers),
    ANT_TEST(test_fips202_million_a),
    ANT_TEST(test_incremental_equals_oneshot),
    ANT_TEST(test_two_lane_keccak_matches_single),
    ANT_TEST(test_four_lane_keccak_matches_single),
    ANT_TEST(test_shake256_matches_openssl),
    ANT_TEST(test_sha256),
    ANT_TEST(test_hex),
    ANT_TEST(test_ct_memcmp),
};

int ant_test_failures;

int main(int argc, char **argv)
{
    int rc = ant_test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2")) {
        fprintf(stderr, "=== again with the BMI1/BMI2 build of the permutation\n");
        keccak_use_bmi2(1);
        rc |= ant_test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
        keccak_use_bmi2(0);
    }
#endif
    return rc;
}
