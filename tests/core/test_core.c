/* Tests of src/core: error strings and the log line format. */
#include <fcntl.h>
#include <unistd.h>

#include "ant/err.h"
#include "ant/log.h"
#include "test.h"

static void test_every_error_has_a_distinct_message(void)
{
    CHECK_STR(ant_strerror(ANT_OK), "success");
    CHECK(strcmp(ant_strerror(ANT_ERR_BAD_SIGNATURE), ant_strerror(ANT_ERR_IO)) != 0);
    CHECK_STR(ant_strerror((ant_err)-999), "unknown error");
    for (int a = -1; a >= -60; a--) {
        const char *ma = ant_strerror((ant_err)a);
        if (strcmp(ma, "unknown error") == 0)
            continue;
        for (int b = a - 1; b >= -60; b--)
            CHECK_MSG(strcmp(ma, ant_strerror((ant_err)b)) != 0, "codes %d and %d", a, b);
    }
}

static void test_log_line_format_and_level(void)
{
    char path[] = "/tmp/ant-test-log-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unsetenv("JOURNAL_STREAM");
    ant_log_set_fd(fd);
    ant_log_set_level(ANT_LOG_INFO);
    ant_log(ANT_LOG_INFO, "upgrade", "Replacing binary... version=%s", "0.2.0");
    ant_log(ANT_LOG_DEBUG, "upgrade", "dropped");
    ant_log(ANT_LOG_WARN, "node", "two\nlines");
    setenv("JOURNAL_STREAM", "8:1", 1);
    ant_log(ANT_LOG_ERROR, "node", "journal");
    unsetenv("JOURNAL_STREAM");
    ant_log_set_fd(STDERR_FILENO);

    char buf[1024] = {0};
    CHECK(pread(fd, buf, sizeof buf - 1, 0) > 0);
    close(fd);
    unlink(path);
    /* 2026-11-27T06:14:23.123Z INFO upgrade Replacing binary... version=0.2.0 */
    CHECK(strlen(buf) > 25 && buf[4] == '-' && buf[10] == 'T' && buf[23] == 'Z');
    CHECK(strstr(buf, "Z INFO upgrade Replacing binary... version=0.2.0\n") != NULL);
    CHECK(strstr(buf, "dropped") == NULL);
    CHECK(strstr(buf, "WARN node two lines\n") != NULL);
    CHECK(strstr(buf, "\n<3>") != NULL && strstr(buf, "ERROR node journal\n") != NULL);

    enum ant_log_level lvl;
    CHECK(ant_log_parse_level("DEBUG", &lvl) && lvl == ANT_LOG_DEBUG);
    CHECK(ant_log_parse_level("warning", &lvl) && lvl == ANT_LOG_WARN);
    CHECK(!ant_log_parse_level("verbose", &lvl));
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_every_error_has_a_distinct_message),
    ANT_TEST(test_log_line_format_and_level),
};
ANT_TEST_MAIN(cases)
