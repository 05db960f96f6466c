/* Tests of the release signature context builder (ant/release_context.h). */
#include "ant/release_context.h"
#include "test.h"

static void test_builds_the_documented_string(void)
{
    char buf[ANT_RELEASE_CONTEXT_CAP];
    CHECK_OK(ant_release_context(buf, sizeof buf, "0.2.0", "linux-x64"));
    CHECK_STR(buf, "ant-node-release-v2:0.2.0:linux-x64");
    CHECK_OK(ant_release_context(buf, sizeof buf, "1.10.3-rc.1+build.7", "linux-arm64"));
    CHECK_STR(buf, "ant-node-release-v2:1.10.3-rc.1+build.7:linux-arm64");
}

static void test_rejects_bad_versions(void)
{
    static const char *const bad[] = {
        "",           /* empty */
        "v0.2.0",     /* must start with a digit */
        ".1",         "-1",
        "0.2.0:linux-arm64", /* ':' would let a version forge another platform's context */
        "0.2.0 ",     "0.2.0\n", "0.2/0", "0.2.0_1", "0.2.0\xc3\xa9",
    };
    char buf[ANT_RELEASE_CONTEXT_CAP];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf[0] = 'x';
        CHECK_ERR(ant_release_context(buf, sizeof buf, bad[i], "linux-x64"), ANT_ERR_BAD_VERSION);
        CHECK_INT(buf[0], '\0');
    }
}

static void test_version_length_limit(void)
{
    char version[ANT_RELEASE_VERSION_MAX + 2];
    memset(version, '1', sizeof version);
    version[ANT_RELEASE_VERSION_MAX] = '\0';
    char buf[ANT_RELEASE_CONTEXT_CAP];
    CHECK_OK(ant_release_context(buf, sizeof buf, version, "linux-arm64"));
    CHECK_INT(strlen(buf), ANT_RELEASE_CONTEXT_CAP - 1);
    CHECK(strlen(buf) <= 255);
    version[ANT_RELEASE_VERSION_MAX] = '1';
    version[ANT_RELEASE_VERSION_MAX + 1] = '\0';
    CHECK_ERR(ant_release_context(buf, sizeof buf, version, "linux-x64"), ANT_ERR_BAD_VERSION);
}

static void test_rejects_bad_platforms(void)
{
    static const char *const bad[] = {"", "linux", "linux-x86_64", "Linux-x64", "linux-x64 ",
                                      "linux-arm64-musl", "darwin-arm64", "linux-x6"};
    char buf[ANT_RELEASE_CONTEXT_CAP];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(ant_release_context(buf, sizeof buf, "0.2.0", bad[i]), ANT_ERR_PLATFORM);
        CHECK(!ant_release_platform_valid(bad[i]));
    }
    CHECK(ant_release_platform_valid("linux-x64"));
    CHECK(ant_release_platform_valid("linux-arm64"));
    CHECK(!ant_release_platform_valid(NULL));
}

static void test_small_buffer_and_null_arguments(void)
{
    char buf[ANT_RELEASE_CONTEXT_CAP];
    size_t need = strlen("ant-node-release-v2:0.2.0:linux-x64") + 1;
    CHECK_ERR(ant_release_context(buf, need - 1, "0.2.0", "linux-x64"), ANT_ERR_INVALID_ARG);
    CHECK_INT(buf[0], '\0');
    CHECK_OK(ant_release_context(buf, need, "0.2.0", "linux-x64"));
    CHECK_ERR(ant_release_context(NULL, sizeof buf, "0.2.0", "linux-x64"), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_release_context(buf, 0, "0.2.0", "linux-x64"), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_release_context(buf, sizeof buf, NULL, "linux-x64"), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_release_context(buf, sizeof buf, "0.2.0", NULL), ANT_ERR_INVALID_ARG);
}

static void test_host_platform_matches_the_build_target(void)
{
    const char *host = ant_release_platform_host();
#if defined(__x86_64__)
    CHECK_STR(host, "linux-x64");
#elif defined(__aarch64__)
    CHECK_STR(host, "linux-arm64");
#else
    CHECK(host == NULL);
#endif
    if (host != NULL)
        CHECK(ant_release_platform_valid(host));
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_builds_the_documented_string),
    ANT_TEST(test_rejects_bad_versions),
    ANT_TEST(test_version_length_limit),
    ANT_TEST(test_rejects_bad_platforms),
    ANT_TEST(test_small_buffer_and_null_arguments),
    ANT_TEST(test_host_platform_matches_the_build_target),
};
ANT_TEST_MAIN(cases)
