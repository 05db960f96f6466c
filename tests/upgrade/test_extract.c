/*
 * Tests of src/upgrade/extract.c: a table of archives built here with libarchive's writer,
 * each with the error code and the reason it must produce, and the checks that nothing but
 * `ant-node` (0755, exact bytes) ever lands in the output dir, and nothing at all on error.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/extract.h"
#include "fixtures.h"
#include "test.h"

static char root[128];

static void remove_root(void)
{
    fx_rm_tree(root);
}

/* Every test works in one temp dir, made on first use and removed at exit. */
static void ensure_root(void)
{
    if (root[0] != '\0')
        return;
    fx_tmpdir(root, sizeof root, "extract");
    atexit(remove_root);
}

static const char binary[] = "\x7f" "ELF pretend binary contents";
static const char readme[] = "hello";

static size_t count_entries(int dirfd)
{
    int d2 = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    DIR *d = fdopendir(d2);
    size_t n = 0;
    rewinddir(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* Extracts `path` into a fresh output dir; returns the error, sets *reason. Leaves the
 * output dir open in *outfd for inspection (caller closes). */
static ant_err run_extract(const char *path, const struct ant_extract_limits *lim,
                           const char **reason, int *outfd)
{
    static int seq;
    char out[256];
    snprintf(out, sizeof out, "%s/out%d", root, seq++);
    if (mkdir(out, 0700) != 0)
        return ANT_ERR_IO;
    *outfd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int afd = open(path, O_RDONLY | O_CLOEXEC);
    if (afd < 0 || *outfd < 0)
        return ANT_ERR_IO;
    ant_err err = ant_extract_binary(afd, *outfd, lim, reason);
    close(afd);
    return err;
}

struct extract_case {
    const char *label;
    struct fx_member members[4];
    size_t n;
    ant_err want;
    const char *reason_part; /* substring of the expected reason */
};

static const struct extract_case cases[] = {
    {"plain", {{"README.md", FX_FILE, readme, 5, 0, NULL}, {"ant-node", FX_FILE, binary, sizeof binary, 0, NULL}}, 2, ANT_OK, NULL},
    {"dot-slash", {{"./ant-node", FX_FILE, binary, sizeof binary, 0, NULL}}, 1, ANT_OK, NULL},
    {"nested ant-node ignored", {{"docs/ant-node", FX_FILE, readme, 5, 0, NULL}, {"docs", FX_DIR, NULL, 0, 0, NULL}, {"ant-node", FX_FILE, binary, sizeof binary, 0, NULL}}, 3, ANT_OK, NULL},
    {"other links ignored", {{"latest", FX_SYMLINK, NULL, 0, 0, "ant-node"}, {"ant-node", FX_FILE, binary, sizeof binary, 0, NULL}}, 2, ANT_OK, NULL},
    {"absolute ant-node", {{"/ant-node", FX_FILE, binary, sizeof binary, 0, NULL}}, 1, ANT_ERR_BAD_ARCHIVE, "absolute path"},
    {"absolute other", {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL}, {"/etc/cron.d/x", FX_FILE, readme, 5, 0, NULL}}, 2, ANT_ERR_BAD_ARCHIVE, "absolute path"},
    {"dotdot", {{"../ant-node", FX_FILE, binary, sizeof binary, 0, NULL}}, 1, ANT_ERR_BAD_ARCHIVE, "'..'"},
    {"dotdot inside", {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL}, {"a/../../b", FX_FILE, readme, 5, 0, NULL}}, 2, ANT_ERR_BAD_ARCHIVE, "'..'"},
    {"symlink ant-node", {{"ant-node", FX_SYMLINK, NULL, 0, 0, "/bin/sh"}}, 1, ANT_ERR_BAD_ARCHIVE, "symlink"},
    {"hardlink ant-node", {{"README.md", FX_FILE, readme, 5, 0, NULL}, {"ant-node", FX_HARDLINK, NULL, 0, 0, "README.md"}}, 2, ANT_ERR_BAD_ARCHIVE, "hardlink"},
    {"device ant-node", {{"ant-node", FX_CHARDEV, NULL, 0, 0, NULL}}, 1, ANT_ERR_BAD_ARCHIVE, "device"},
    {"fifo ant-node", {{"ant-node", FX_FIFO, NULL, 0, 0, NULL}}, 1, ANT_ERR_BAD_ARCHIVE, "not a regular file"},
    {"two ant-node", {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL}, {"ant-node", FX_FILE, readme, 5, 0, NULL}}, 2, ANT_ERR_BAD_ARCHIVE, "two ant-node"},
    {"ant-node and ./ant-node", {{"./ant-node", FX_FILE, binary, sizeof binary, 0, NULL}, {"ant-node", FX_FILE, readme, 5, 0, NULL}}, 2, ANT_ERR_BAD_ARCHIVE, "two ant-node"},
    {"regular then symlink", {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL}, {"./ant-node", FX_SYMLINK, NULL, 0, 0, "/bin/sh"}}, 2, ANT_ERR_BAD_ARCHIVE, "symlink"},
    {"none", {{"README.md", FX_FILE, readme, 5, 0, NULL}, {"bin/ant-node", FX_FILE, binary, sizeof binary, 0, NULL}}, 2, ANT_ERR_BAD_ARCHIVE, "no ant-node"},
};

static void check_no_binary(int outfd, const char *label)
{
    CHECK_MSG(count_entries(outfd) == 0, "%s: output dir not empty", label);
}

static void test_member_table(void)
{
    ensure_root();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct extract_case *c = &cases[i];
        char path[256];
        snprintf(path, sizeof path, "%s/case%zu.tar.gz", root, i);
        CHECK_MSG(fx_archive(path, c->members, c->n, true), "%s: fixture", c->label);
        const char *reason = NULL;
        int outfd = -1;
        ant_err err = run_extract(path, NULL, &reason, &outfd);
        CHECK_MSG(err == c->want, "%s: got %d (%s) reason=%s", c->label, (int)err,
                  ant_strerror(err), reason ? reason : "(none)");
        if (c->want == ANT_OK) {
            CHECK_MSG(reason == NULL, "%s: reason set on success", c->label);
            CHECK_INT(count_entries(outfd), 1);
            struct stat st;
            CHECK(fstatat(outfd, "ant-node", &st, AT_SYMLINK_NOFOLLOW) == 0);
            CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0755);
            CHECK_INT(st.st_size, sizeof binary);
            char back[sizeof binary];
            int fd = openat(outfd, "ant-node", O_RDONLY);
            CHECK(read(fd, back, sizeof back) == (ssize_t)sizeof back);
            CHECK_MEM(back, binary, sizeof binary);
            close(fd);
        } else {
            CHECK_MSG(reason != NULL && strstr(reason, c->reason_part) != NULL,
                      "%s: reason '%s' lacks '%s'", c->label, reason ? reason : "(null)",
                      c->reason_part);
            check_no_binary(outfd, c->label);
        }
        close(outfd);
    }
}

static void test_member_size_cap_counted_while_streaming(void)
{
    ensure_root();
    struct ant_extract_limits lim;
    ant_extract_limits_default(&lim);
    lim.member_cap = 1 << 20;
    char path[256];
    const char *reason = NULL;
    int outfd = -1;

    struct fx_member exact[] = {{"ant-node", FX_FILE, NULL, 0, 1 << 20, NULL}};
    snprintf(path, sizeof path, "%s/exact.tar.gz", root);
    CHECK(fx_archive(path, exact, 1, true));
    CHECK_OK(run_extract(path, &lim, &reason, &outfd));
    close(outfd);

    struct fx_member over[] = {{"ant-node", FX_FILE, NULL, 0, (1 << 20) + 1, NULL}};
    snprintf(path, sizeof path, "%s/over.tar.gz", root);
    CHECK(fx_archive(path, over, 1, true));
    CHECK_ERR(run_extract(path, &lim, &reason, &outfd), ANT_ERR_TOO_LARGE);
    CHECK(reason != NULL && strstr(reason, "ant-node member exceeds") != NULL);
    check_no_binary(outfd, "over");
    close(outfd);
}

static void test_entry_count_cap(void)
{
    ensure_root();
    static struct fx_member many[1001];
    static char names[1001][16];
    for (size_t i = 0; i < 1001; i++) {
        snprintf(names[i], sizeof names[i], "f%zu", i);
        many[i] = (struct fx_member){names[i], FX_FILE, readme, 5, 0, NULL};
    }
    many[0] = (struct fx_member){"ant-node", FX_FILE, binary, sizeof binary, 0, NULL};
    char path[256];
    const char *reason = NULL;
    int outfd = -1;

    snprintf(path, sizeof path, "%s/n1000.tar.gz", root);
    CHECK(fx_archive(path, many, 1000, true));
    CHECK_OK(run_extract(path, NULL, &reason, &outfd));
    close(outfd);

    snprintf(path, sizeof path, "%s/n1001.tar.gz", root);
    CHECK(fx_archive(path, many, 1001, true));
    CHECK_ERR(run_extract(path, NULL, &reason, &outfd), ANT_ERR_TOO_LARGE);
    CHECK(reason != NULL && strstr(reason, "too many entries") != NULL);
    check_no_binary(outfd, "n1001");
    close(outfd);
}

static void test_gzip_bomb(void)
{
    ensure_root();
    /* An ignored member still has to be decompressed: it counts against the total. */
    struct ant_extract_limits lim;
    ant_extract_limits_default(&lim);
    lim.total_cap = 4 << 20;
    char path[256];
    const char *reason = NULL;
    int outfd = -1;
    struct fx_member bomb[] = {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL},
                               {"padding", FX_FILE, NULL, 0, 8 << 20, NULL}};
    snprintf(path, sizeof path, "%s/bomb.tar.gz", root);
    CHECK(fx_archive(path, bomb, 2, true));
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size < 64 * 1024); /* it really is a bomb */
    CHECK_ERR(run_extract(path, &lim, &reason, &outfd), ANT_ERR_TOO_LARGE);
    CHECK(reason != NULL && strstr(reason, "total size cap") != NULL);
    check_no_binary(outfd, "bomb");
    close(outfd);

    /* and with the default limits: 520 MiB of zeros behind the binary */
    struct fx_member big[] = {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL},
                              {"padding", FX_FILE, NULL, 0, (uint64_t)520 << 20, NULL}};
    snprintf(path, sizeof path, "%s/bomb-default.tar.gz", root);
    CHECK(fx_archive(path, big, 2, true));
    CHECK_ERR(run_extract(path, NULL, &reason, &outfd), ANT_ERR_TOO_LARGE);
    CHECK(reason != NULL && strstr(reason, "total size cap") != NULL);
    check_no_binary(outfd, "bomb-default");
    close(outfd);
}

static void test_truncated_and_not_gzip(void)
{
    ensure_root();
    char path[256], cut[256];
    const char *reason = NULL;
    int outfd = -1;
    /* big enough that half of it is mid-stream */
    struct fx_member m[] = {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL},
                            {"data", FX_FILE, NULL, 0, 0, NULL}};
    static uint8_t noise[200000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (uint8_t)(x >> 16);
    }
    m[1].data = noise;
    m[1].len = sizeof noise;
    snprintf(path, sizeof path, "%s/full.tar.gz", root);
    CHECK(fx_archive(path, m, 2, true));
    size_t len = 0;
    uint8_t *data = fx_read(path, &len);
    CHECK(data != NULL && len > 1000);
    snprintf(cut, sizeof cut, "%s/cut.tar.gz", root);
    CHECK(fx_write(cut, data, len / 2, 0600));
    CHECK_ERR(run_extract(cut, NULL, &reason, &outfd), ANT_ERR_TRUNCATED);
    CHECK(reason != NULL && strstr(reason, "truncated") != NULL);
    check_no_binary(outfd, "truncated");
    close(outfd);
    free(data);

    /* A small archive cut inside the extractor's first read block: libarchive fails the
     * open itself, before its gzip filter is visible; still a partial download. */
    struct fx_member small[] = {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL}};
    snprintf(path, sizeof path, "%s/small.tar.gz", root);
    CHECK(fx_archive(path, small, 1, true));
    data = fx_read(path, &len);
    CHECK(data != NULL && len > 40 && len < 64 * 1024);
    snprintf(cut, sizeof cut, "%s/small-cut.tar.gz", root);
    CHECK(fx_write(cut, data, 30, 0600));
    CHECK_ERR(run_extract(cut, NULL, &reason, &outfd), ANT_ERR_TRUNCATED);
    CHECK(reason != NULL && strstr(reason, "truncated") != NULL);
    check_no_binary(outfd, "small truncated");
    close(outfd);
    free(data);

    snprintf(path, sizeof path, "%s/plain.tar", root);
    CHECK(fx_archive(path, m, 1, false));
    CHECK_ERR(run_extract(path, NULL, &reason, &outfd), ANT_ERR_BAD_ARCHIVE);
    CHECK(reason != NULL && strstr(reason, "not gzip") != NULL);
    check_no_binary(outfd, "plain tar");
    close(outfd);

    snprintf(path, sizeof path, "%s/noise.bin", root);
    CHECK(fx_write(path, noise, 5000, 0600));
    CHECK_ERR(run_extract(path, NULL, &reason, &outfd), ANT_ERR_BAD_ARCHIVE);
    CHECK(reason != NULL && strstr(reason, "not gzip") != NULL);
    close(outfd);

    snprintf(path, sizeof path, "%s/empty.bin", root);
    CHECK(fx_write(path, "", 0, 0600));
    CHECK(run_extract(path, NULL, &reason, &outfd) == ANT_ERR_BAD_ARCHIVE);
    check_no_binary(outfd, "empty");
    close(outfd);
}

static void test_existing_output_untouched_on_error(void)
{
    ensure_root();
    /* A failed extraction never replaces an ant-node already in the output dir. */
    char out[256], path[256];
    snprintf(out, sizeof out, "%s/prefilled", root);
    CHECK(mkdir(out, 0700) == 0);
    int outfd = open(out, O_RDONLY | O_DIRECTORY);
    int f = openat(outfd, "ant-node", O_WRONLY | O_CREAT, 0600);
    CHECK(write(f, "old", 3) == 3);
    close(f);
    struct fx_member two[] = {{"ant-node", FX_FILE, binary, sizeof binary, 0, NULL},
                              {"ant-node", FX_FILE, readme, 5, 0, NULL}};
    snprintf(path, sizeof path, "%s/two.tar.gz", root);
    CHECK(fx_archive(path, two, 2, true));
    int afd = open(path, O_RDONLY);
    const char *reason = NULL;
    CHECK_ERR(ant_extract_binary(afd, outfd, NULL, &reason), ANT_ERR_BAD_ARCHIVE);
    close(afd);
    struct stat st;
    CHECK(fstatat(outfd, "ant-node", &st, 0) == 0 && st.st_size == 3);
    CHECK_INT(count_entries(outfd), 1);
    close(outfd);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_member_table),
    ANT_TEST(test_member_size_cap_counted_while_streaming),
    ANT_TEST(test_entry_count_cap),
    ANT_TEST(test_gzip_bomb),
    ANT_TEST(test_truncated_and_not_gzip),
    ANT_TEST(test_existing_output_untouched_on_error),
};

ANT_TEST_MAIN(tests)
