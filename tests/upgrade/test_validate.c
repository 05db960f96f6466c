/*
 * Tests of src/upgrade/validate.c. The good binary is a fake ant-node built for this host;
 * every bad one is made here from it (e_machine patched to arm64, class or byte order
 * flipped, interpreter path pointed at a file that does not exist) or is a script, a hang,
 * or prints another version. Each must be refused with its own reason, and the reasons
 * must differ from each other.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/validate.h"
#include "fixtures.h"
#include "test.h"

static char root[128];

static void remove_root(void)
{
    fx_rm_tree(root);
}

static void ensure_root(void)
{
    if (root[0] != '\0')
        return;
    fx_tmpdir(root, sizeof root, "validate");
    atexit(remove_root);
}

/* A fresh staging dir holding `ant-node` = data (0755). */
static int stage(const void *data, size_t len, char *dir, size_t cap)
{
    static int seq;
    snprintf(dir, cap, "%s/stage%d", root, seq++);
    if (mkdir(dir, 0700) != 0)
        return -1;
    char path[300];
    snprintf(path, sizeof path, "%s/ant-node", dir);
    if (!fx_write(path, data, len, 0755))
        return -1;
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static uint8_t *fake(const char *version, size_t *len)
{
    char path[512];
    fx_fake_binary(path, sizeof path, version);
    uint8_t *data = fx_read(path, len);
    if (data == NULL || *len < sizeof(Elf64_Ehdr)) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    return data;
}

static ant_err validate(const void *data, size_t len, const char *want, const char **reason)
{
    char dir[256];
    int dfd = stage(data, len, dir, sizeof dir);
    CHECK(dfd >= 0);
    ant_err err = ant_validate_binary(dir, dfd, want, reason);
    close(dfd);
    return err;
}

static void test_good_binary(void)
{
    ensure_root();
    size_t len;
    uint8_t *bin = fake("0.2.0", &len);
    const char *reason = "unset";
    CHECK_OK(validate(bin, len, "0.2.0", &reason));
    CHECK(reason == NULL);
    free(bin);
}

static void test_each_rejection_has_its_own_reason(void)
{
    ensure_root();
    size_t len;
    uint8_t *bin = fake("0.2.0", &len);
    uint8_t *copy = malloc(len);
    const char *reasons[8];
    size_t nr = 0;
    const char *reason = NULL;

    /* another version */
    CHECK_ERR(validate(bin, len, "0.3.0", &reason), ANT_ERR_MISMATCH);
    CHECK(reason != NULL && strstr(reason, "different version") != NULL);
    reasons[nr++] = reason;

    /* a script that would even print the right version */
    static const char script[] = "#!/bin/sh\necho ant-node 0.2.0\n";
    CHECK_ERR(validate(script, sizeof script - 1, "0.2.0", &reason), ANT_ERR_BAD_BINARY);
    CHECK(reason != NULL && strstr(reason, "not an ELF") != NULL);
    reasons[nr++] = reason;

    /* arm64 on this host (the ELF check runs before anything is executed) */
    memcpy(copy, bin, len);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)copy;
    eh->e_machine = eh->e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    CHECK_ERR(validate(copy, len, "0.2.0", &reason), ANT_ERR_PLATFORM);
    CHECK(reason != NULL && strstr(reason, "another machine") != NULL);
    reasons[nr++] = reason;

    /* 32-bit class and big-endian data */
    memcpy(copy, bin, len);
    copy[EI_CLASS] = ELFCLASS32;
    CHECK_ERR(validate(copy, len, "0.2.0", &reason), ANT_ERR_BAD_BINARY);
    CHECK(reason != NULL && strstr(reason, "64-bit") != NULL);
    reasons[nr++] = reason;
    memcpy(copy, bin, len);
    copy[EI_DATA] = ELFDATA2MSB;
    CHECK_ERR(validate(copy, len, "0.2.0", &reason), ANT_ERR_BAD_BINARY);
    CHECK(reason != NULL && strstr(reason, "little-endian") != NULL);
    reasons[nr++] = reason;

    /* interpreter missing on this host: rewrite the PT_INTERP path in place */
    memcpy(copy, bin, len);
    eh = (Elf64_Ehdr *)copy;
    bool patched = false;
    for (size_t i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(copy + eh->e_phoff + i * sizeof(Elf64_Phdr));
        if (ph->p_type != PT_INTERP)
            continue;
        static const char missing[] = "/nonexistent/ld.so";
        CHECK(ph->p_filesz >= sizeof missing);
        memset(copy + ph->p_offset, 0, ph->p_filesz);
        memcpy(copy + ph->p_offset, missing, sizeof missing);
        patched = true;
    }
    CHECK_MSG(patched, "the fake binary has no PT_INTERP (built static?)");
    CHECK_ERR(validate(copy, len, "0.2.0", &reason), ANT_ERR_BAD_BINARY);
    CHECK(reason != NULL && strstr(reason, "interpreter does not exist") != NULL);
    reasons[nr++] = reason;

    /* one that never answers: killed after 5 s */
    size_t hlen;
    uint8_t *hang = fake("hang", &hlen);
    double t0 = fx_now();
    CHECK_ERR(validate(hang, hlen, "0.2.0", &reason), ANT_ERR_TIMEOUT);
    double took = fx_now() - t0;
    CHECK_MSG(took >= 4.9 && took < 7.0, "hang took %.2f s", took);
    CHECK(reason != NULL && strstr(reason, "in time") != NULL);
    reasons[nr++] = reason;
    free(hang);

    for (size_t i = 0; i < nr; i++)
        for (size_t j = i + 1; j < nr; j++)
            CHECK_MSG(reasons[i] != NULL && reasons[j] != NULL &&
                          strcmp(reasons[i], reasons[j]) != 0,
                      "reasons %zu and %zu are the same", i, j);
    free(copy);
    free(bin);
}

static void test_malformed_elf_headers(void)
{
    ensure_root();
    size_t len;
    uint8_t *bin = fake("0.2.0", &len);
    uint8_t *copy = malloc(len);
    const char *reason = NULL;

    CHECK_ERR(validate(bin, 40, "0.2.0", &reason), ANT_ERR_BAD_BINARY);
    CHECK(reason != NULL && strstr(reason, "truncated ELF header") != NULL);

    memcpy(copy, bin, len);
    ((Elf64_Ehdr *)copy)->e_phoff = (Elf64_Off)len; /* table past the end */
    CHECK_ERR(validate(copy, len, "0.2.0", &reason), ANT_ERR_BAD_BINARY);
    CHECK(reason != NULL && strstr(reason, "program headers") != NULL);

    memcpy(copy, bin, len);
    ((Elf64_Ehdr *)copy)->e_phoff = UINT64_MAX - 8; /* offset + size overflows */
    CHECK_ERR(validate(copy, len, "0.2.0", &reason), ANT_ERR_BAD_BINARY);

    memcpy(copy, bin, len);
    ((Elf64_Ehdr *)copy)->e_type = ET_REL;
    CHECK_ERR(validate(copy, len, "0.2.0", &reason), ANT_ERR_BAD_BINARY);
    CHECK(reason != NULL && strstr(reason, "not an executable") != NULL);

    /* a symlink named ant-node is not opened */
    char dir[256];
    int dfd = stage(bin, len, dir, sizeof dir);
    CHECK(unlinkat(dfd, "ant-node", 0) == 0);
    char target[600];
    fx_fake_binary(target, sizeof target, "0.2.0");
    CHECK(symlinkat(target, dfd, "ant-node") == 0);
    CHECK_ERR(ant_validate_binary(dir, dfd, "0.2.0", &reason), ANT_ERR_UNSAFE_FILE);
    close(dfd);
    free(copy);
    free(bin);
}

static void test_run_version_helper(void)
{
    ensure_root();
    char path[512], version[64];
    const char *reason = NULL;
    fx_fake_binary(path, sizeof path, "0.4.0");
    CHECK_OK(ant_validate_run_version(path, root, 5000, version, sizeof version, &reason));
    CHECK_STR(version, "0.4.0");
    char tiny[4];
    CHECK_ERR(ant_validate_run_version(path, NULL, 5000, tiny, sizeof tiny, &reason),
              ANT_ERR_INVALID_ARG);

    /* the helper runs anything executable (the ELF check is separate): scripts make the
     * odd outputs easy to produce */
    static const struct {
        const char *body;
        ant_err want;
        const char *reason_part;
    } cases[] = {
        {"#!/bin/sh\necho ant-node 1.2.3-rc.1\n", ANT_OK, NULL},
        {"#!/bin/sh\nprintf 'ant-node 1.2.3'\n", ANT_OK, NULL},
        {"#!/bin/sh\necho ant-node 1.2.3; exit 3\n", ANT_ERR_BAD_BINARY, "non-zero status"},
        {"#!/bin/sh\necho 'ant-node  1.2.3'\n", ANT_ERR_BAD_BINARY, "not exactly"},
        {"#!/bin/sh\necho ant-node 1.2.3; echo extra\n", ANT_ERR_BAD_BINARY, "not exactly"},
        {"#!/bin/sh\necho ant-nodes 1.2.3\n", ANT_ERR_BAD_BINARY, "not exactly"},
        {"#!/bin/sh\necho ant-node\n", ANT_ERR_BAD_BINARY, "not exactly"},
        {"#!/bin/sh\nwhile :; do echo ant-node 1.2.3; done\n", ANT_ERR_BAD_BINARY, "too long"},
        {"#!/bin/sh\nkill -9 $$\n", ANT_ERR_BAD_BINARY, "signal"},
        {"#!/bin/sh\nexec sleep 30\n", ANT_ERR_TIMEOUT, "in time"},
        {"#!/bin/sh\n[ -z \"$ANT_SECRET_TEST\" ] && echo ant-node 9.9.9\n", ANT_OK, NULL},
    };
    setenv("ANT_SECRET_TEST", "leaked", 1); /* the child gets a minimal environment */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char spath[300];
        snprintf(spath, sizeof spath, "%s/script%zu", root, i);
        CHECK(fx_write(spath, cases[i].body, strlen(cases[i].body), 0755));
        double t0 = fx_now();
        ant_err err = ant_validate_run_version(spath, root, 1000, version, sizeof version, &reason);
        CHECK_MSG(err == cases[i].want, "case %zu: %s (%s)", i, ant_strerror(err),
                  reason ? reason : "-");
        CHECK_MSG(fx_now() - t0 < 3.0, "case %zu took too long", i);
        if (cases[i].want != ANT_OK)
            CHECK_MSG(reason != NULL && strstr(reason, cases[i].reason_part) != NULL,
                      "case %zu: reason %s", i, reason ? reason : "(null)");
    }
    unsetenv("ANT_SECRET_TEST");

    snprintf(path, sizeof path, "%s/does-not-exist", root);
    CHECK_ERR(ant_validate_run_version(path, NULL, 1000, version, sizeof version, &reason),
              ANT_ERR_BAD_BINARY);
    CHECK(reason != NULL && strstr(reason, "could not be executed") != NULL);
}


/* Writes `data` into an unnamed file under the test root and returns it read-only. */
static int anon_with(const void *data, size_t len)
{
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;
    CHECK(dfd >= 0);
    CHECK_OK(ant_fsx_anon_open(dfd, 0700, &fd));
    close(dfd);
    CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
    CHECK_OK(ant_fsx_reopen_rdonly(&fd));
    return fd;
}

/* The fd variants (issue 13 item 5): the unnamed file that was checked is the one that
 * runs; it has no name in the directory at all; the same rejections hold. */
static void test_fd_variants_run_the_unnamed_file(void)
{
    ensure_root();
    size_t len = 0;
    uint8_t *good = fake("0.2.0", &len);
    int fd = anon_with(good, len);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && S_ISREG(st.st_mode));
    CHECK(fcntl(fd, F_GETFL) >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY);
    const char *reason = "unset";
    CHECK_OK(ant_validate_binary_fd(fd, "0.2.0", &reason));
    CHECK(reason == NULL);
    CHECK_ERR(ant_validate_binary_fd(fd, "0.3.0", &reason), ANT_ERR_MISMATCH);
    char v[64];
    CHECK_OK(ant_validate_run_version_fd(fd, 5000, v, sizeof v, &reason));
    CHECK_STR(v, "0.2.0");
    close(fd);

    static const char script[] = "#!/bin/sh\necho 'ant-node 0.2.0'\n";
    fd = anon_with(script, sizeof script - 1);
    CHECK_ERR(ant_validate_binary_fd(fd, "0.2.0", &reason), ANT_ERR_BAD_BINARY);
    close(fd);
    CHECK_ERR(ant_validate_binary_fd(-1, "0.2.0", &reason), ANT_ERR_INVALID_ARG);
    free(good);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_good_binary),
    ANT_TEST(test_each_rejection_has_its_own_reason),
    ANT_TEST(test_malformed_elf_headers),
    ANT_TEST(test_run_version_helper),
    ANT_TEST(test_fd_variants_run_the_unnamed_file),
};

ANT_TEST_MAIN(tests)
