/*
 * Rollout candidacy by the signed cursor (ARCHITECTURE.md §10): SHA-256(seed ‖ peer id) as
 * a 256-bit big-endian H, a candidate when H × 10^6 ≤ cursor_ppm × (2^256 − 1). The
 * expected values were computed independently with Python's hashlib and arbitrary-precision
 * integers (seed = bytes 0..31):
 *
 *   H = int.from_bytes(sha256(seed + pid.encode()).digest(), 'big')
 *   candidate = H * 10**6 <= ppm * (2**256 - 1)
 *
 * plus the exact boundary hashes floor(ppm × (2^256 − 1) / 10^6) for a few cursors, where
 * the boundary itself is in and one more is out. Monotonicity (a higher cursor keeps every
 * node) and uniformity (10 000 peer ids at 25 % within 4.5 binomial sigma) complete it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "upgrade/engine.h"

static const uint8_t SEED[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};

static void test_candidacy_vectors(void)
{
    static const struct {
        const char *peer;
        uint32_t ppm;
        bool want;
    } v[] = {
        /* 50 % */
        {"peer-0", 500000u, true},
        {"peer-1", 500000u, false},
        {"peer-2", 500000u, false},
        {"peer-3", 500000u, false},
        {"peer-4", 500000u, false},
        {"peer-5", 500000u, true},
        /* 0.01 %: peer-2394 is the first of peer-0.. in; it needs at least 46 ppm */
        {"peer-2394", 100u, true},
        {"peer-2394", 46u, true},
        {"peer-2394", 45u, false},
        {"peer-0", 100u, false},
        /* 0 % and 100 % */
        {"peer-0", 0u, false},
        {"peer-1", 0u, false},
        {"peer-2394", 0u, false},
        {"peer-0", 1000000u, true},
        {"peer-1", 1000000u, true},
        {"peer-1", 4000000000u, true}, /* above 100 % counts as 100 % */
        /* a node's own threshold: the first cursor that takes it */
        {"peer-2", 987743u, true},
        {"peer-2", 987742u, false},
        {"peer-3", 622673u, true},
        {"peer-3", 622672u, false},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        bool c = !v[i].want;
        CHECK_OK(ant_upgrade_rollout_candidate(SEED, v[i].peer, v[i].ppm, &c));
        CHECK_MSG(c == v[i].want, "%s at %u ppm", v[i].peer, v[i].ppm);
    }
    bool c = true;
    CHECK_ERR(ant_upgrade_rollout_candidate(SEED, "", 500000u, &c), ANT_ERR_INVALID_ARG);
    CHECK(!c);
    CHECK_ERR(ant_upgrade_rollout_candidate(NULL, "p", 500000u, &c), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_upgrade_rollout_candidate(SEED, NULL, 500000u, &c), ANT_ERR_INVALID_ARG);
}

static void from_hex(const char *hex, uint8_t out[32])
{
    for (size_t i = 0; i < 32; i++) {
        unsigned b = 0;
        CHECK(sscanf(hex + 2 * i, "%2x", &b) == 1);
        out[i] = (uint8_t)b;
    }
}

/* hash + 1 as a 256-bit big-endian number (no overflow in these cases). */
static void plus_one(uint8_t h[32])
{
    for (size_t i = 32; i-- > 0;) {
        if (++h[i] != 0)
            break;
    }
}

static void test_candidacy_exact_boundary(void)
{
    static const struct {
        uint32_t ppm;
        const char *boundary; /* floor(ppm × (2^256 − 1) / 10^6), from Python */
    } b[] = {
        {1u, "000010c6f7a0b5ed8d36b4c7f34938583621fafc8b0079a2834d26fa3fcc9ea9"},
        {333333u, "55554fbdad7518b0d0edc3bd5992428d434a01abd1aa821f2990f301eabbcb1c"},
        {500000u, "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
        {999999u, "ffffef39085f4a1272c94b380cb6c7a7c9de050374ff865d7cb2d905c0336155"},
    };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        uint8_t h[32];
        from_hex(b[i].boundary, h);
        CHECK_MSG(rollout_hash_within(h, b[i].ppm), "boundary in at %u", b[i].ppm);
        plus_one(h);
        CHECK_MSG(!rollout_hash_within(h, b[i].ppm), "boundary+1 out at %u", b[i].ppm);
        CHECK_MSG(rollout_hash_within(h, b[i].ppm + 1), "boundary+1 in at %u", b[i].ppm + 1);
    }
    uint8_t zero[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    /* H = 0 is the one hash cursor 0 takes; the engine treats cursor 0 as a halt anyway. */
    CHECK(rollout_hash_within(zero, 0));
    zero[31] = 1;
    CHECK(!rollout_hash_within(zero, 0));
    CHECK(rollout_hash_within(ones, 1000000u));
    CHECK(!rollout_hash_within(ones, 999999u));
}

static void test_candidacy_monotonic(void)
{
    static const uint32_t steps[] = {0, 1, 100, 10000, 200000, 250000, 500000, 750000,
                                     999999, 1000000};
    for (unsigned p = 0; p < 2000; p++) {
        char peer[32];
        snprintf(peer, sizeof peer, "mono-%u", p);
        bool was = false;
        for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
            bool c = false;
            CHECK_OK(ant_upgrade_rollout_candidate(SEED, peer, steps[s], &c));
            CHECK_MSG(!was || c, "%s left at %u ppm", peer, steps[s]);
            was = c;
        }
        CHECK_MSG(was, "%s not in at 100 %%", peer);
    }
}

static void test_candidacy_uniform_at_25(void)
{
    enum { N = 10000 };
    unsigned in = 0;
    for (unsigned p = 0; p < N; p++) {
        char peer[32];
        snprintf(peer, sizeof peer, "uniform-%u", p);
        bool c = false;
        CHECK_OK(ant_upgrade_rollout_candidate(SEED, peer, 250000u, &c));
        in += c;
    }
    /* Binomial(10 000, 0.25): mean 2500, sigma sqrt(10 000 × 0.25 × 0.75) ≈ 43.3. */
    double sigma = sqrt(N * 0.25 * 0.75), dev = fabs((double)in - N * 0.25);
    fprintf(stderr, "  25 %%: %u of %d candidates (%.2f sigma from 2500)\n", in, N, dev / sigma);
    CHECK(dev <= 4.5 * sigma);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_candidacy_vectors),
    ANT_TEST(test_candidacy_exact_boundary),
    ANT_TEST(test_candidacy_monotonic),
    ANT_TEST(test_candidacy_uniform_at_25),
};

ANT_TEST_MAIN(cases)
