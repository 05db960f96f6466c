/*
 * Tests of src/fsx: name validation, the trusted-directory rule, capped opens that refuse
 * symlinks, FIFOs, sockets, devices and oversize files without blocking, atomic writes that
 * leave no partial file, flock with a timeout (and release when the holder dies), private
 * staging directories and the capped copy. Every fixture is built here in a fresh mkdtemp.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/socket.h>
#include <linux/fs.h> /* RENAME_EXCHANGE */
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "test.h"

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh 0700 directory owned by us; `buf` receives its path. */
static void make_tmpdir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/ant-test-fsx-XXXXXX");
    if (mkdtemp(buf) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

static int open_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    return fd;
}

static void write_file(int dirfd, const char *name, const char *text)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static void test_name_ok(void)
{
    static const struct {
        const char *name;
        bool ok;
    } cases[] = {
        {"ant-node-0.2.0-linux-x64.archive", true},
        {"releases.json", true},
        {".tmp-abc", true},
        {"a+b_c", true},
        {"", false},
        {".", false},
        {"..", false},
        {"-rf", false},
        {"a/b", false},
        {"../x", false},
        {"a b", false},
        {"a\nb", false},
        {"é", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(ant_fsx_name_ok(cases[i].name) == cases[i].ok, "name '%s'", cases[i].name);
    CHECK(!ant_fsx_name_ok(NULL));
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[255] = '\0';
    CHECK(ant_fsx_name_ok(longname));
    longname[255] = 'a';
    longname[256] = '\0';
    CHECK(!ant_fsx_name_ok(longname));
}

static void test_trusted_dir_rules(void)
{
    char root[64], path[256];
    make_tmpdir(root, sizeof root);
    int fd = -1;

    snprintf(path, sizeof path, "%s/a/b/cache", root);
    CHECK_ERR(ant_fsx_open_trusted_dir(path, false, &fd), ANT_ERR_NOT_FOUND);
    CHECK_INT(fd, -1);
    CHECK_OK(ant_fsx_open_trusted_dir(path, true, &fd));
    CHECK(fd >= 0);
    close(fd);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);
    snprintf(path, sizeof path, "%s/a", root);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0700);

    /* group- or world-writable: refused, even with create */
    snprintf(path, sizeof path, "%s/gw", root);
    CHECK(mkdir(path, 0700) == 0 && chmod(path, 0770) == 0);
    CHECK_ERR(ant_fsx_open_trusted_dir(path, true, &fd), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(path, 0702) == 0);
    CHECK_ERR(ant_fsx_open_trusted_dir(path, false, &fd), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(path, 0755) == 0);
    CHECK_OK(ant_fsx_open_trusted_dir(path, false, &fd));
    close(fd);

    /* owned by another uid (we run as root in CI; as a normal user chown fails and the
     * check is skipped, since we could not build the fixture) */
    snprintf(path, sizeof path, "%s/other", root);
    CHECK(mkdir(path, 0700) == 0);
    if (chown(path, 12345, 12345) == 0) {
        CHECK_ERR(ant_fsx_open_trusted_dir(path, false, &fd), ANT_ERR_UNSAFE_FILE);
    } else {
        fprintf(stderr, "  (skipped foreign-owner case: chown not permitted)\n");
    }

    /* a symlink to a good directory is refused */
    char link[256];
    snprintf(link, sizeof link, "%s/link", root);
    snprintf(path, sizeof path, "%s/a", root);
    CHECK(symlink(path, link) == 0);
    CHECK_ERR(ant_fsx_open_trusted_dir(link, false, &fd), ANT_ERR_UNSAFE_FILE);
    CHECK_ERR(ant_fsx_open_trusted_dir(link, true, &fd), ANT_ERR_UNSAFE_FILE);
    CHECK_INT(fd, -1);
    /* ... also with trailing slashes, which make the kernel follow a final symlink
     * despite O_NOFOLLOW; a real directory given with one is still fine */
    char slashed[300];
    snprintf(slashed, sizeof slashed, "%s//", link);
    CHECK_ERR(ant_fsx_open_trusted_dir(slashed, false, &fd), ANT_ERR_UNSAFE_FILE);
    CHECK_ERR(ant_fsx_open_trusted_dir(slashed, true, &fd), ANT_ERR_UNSAFE_FILE);
    CHECK_INT(fd, -1);
    snprintf(slashed, sizeof slashed, "%s/", path);
    CHECK_OK(ant_fsx_open_trusted_dir(slashed, false, &fd));
    if (fd >= 0)
        close(fd);

    /* a regular file is not a directory */
    int rfd = open_dir(root);
    write_file(rfd, "file", "x");
    close(rfd);
    snprintf(path, sizeof path, "%s/file", root);
    CHECK_ERR(ant_fsx_open_trusted_dir(path, false, &fd), ANT_ERR_UNSAFE_FILE);
    rm_tree(root);
}

static void test_open_capped_rejects_special_files(void)
{
    char root[64];
    make_tmpdir(root, sizeof root);
    int dfd = open_dir(root);
    int fd = -1;
    uint64_t size = 0;

    write_file(dfd, "good", "hello");
    CHECK_OK(ant_fsx_open_capped(dfd, "good", 5, &fd, &size));
    CHECK_INT(size, 5);
    CHECK(fd >= 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK) == 0);
    CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
    close(fd);
    CHECK_ERR(ant_fsx_open_capped(dfd, "good", 4, &fd, &size), ANT_ERR_TOO_LARGE);
    CHECK_INT(fd, -1);
    CHECK_ERR(ant_fsx_open_capped(dfd, "missing", 4, &fd, &size), ANT_ERR_NOT_FOUND);
    CHECK_ERR(ant_fsx_open_capped(dfd, "../good", 4, &fd, &size), ANT_ERR_INVALID_ARG);

    /* symlink to a regular file: refused all the same */
    CHECK(symlinkat("good", dfd, "link-good") == 0);
    CHECK_ERR(ant_fsx_open_capped(dfd, "link-good", 100, &fd, &size), ANT_ERR_UNSAFE_FILE);
    CHECK(symlinkat("/dev/zero", dfd, "link-zero") == 0);
    CHECK_ERR(ant_fsx_open_capped(dfd, "link-zero", 100, &fd, &size), ANT_ERR_UNSAFE_FILE);

    /* FIFO: refused, and promptly (no writer exists, a blocking open would hang) */
    CHECK(mkfifoat(dfd, "fifo", 0600) == 0);
    double t0 = now_s();
    CHECK_ERR(ant_fsx_open_capped(dfd, "fifo", 100, &fd, &size), ANT_ERR_UNSAFE_FILE);
    CHECK(now_s() - t0 < 2.0);

    /* directory and socket */
    CHECK(mkdirat(dfd, "sub", 0700) == 0);
    CHECK_ERR(ant_fsx_open_capped(dfd, "sub", 100, &fd, &size), ANT_ERR_UNSAFE_FILE);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", root);
    CHECK(bind(s, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK_ERR(ant_fsx_open_capped(dfd, "sock", 100, &fd, &size), ANT_ERR_UNSAFE_FILE);
    close(s);

    /* device node (root only) */
    if (mknodat(dfd, "null", S_IFCHR | 0600, makedev(1, 3)) == 0)
        CHECK_ERR(ant_fsx_open_capped(dfd, "null", 100, &fd, &size), ANT_ERR_UNSAFE_FILE);

    /* oversize as a sparse file: refused from fstat, without reading */
    int big = openat(dfd, "sparse", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(big >= 0 && ftruncate(big, (off_t)1 << 32) == 0);
    close(big);
    CHECK_ERR(ant_fsx_open_capped(dfd, "sparse", ((uint64_t)1 << 32) - 1, &fd, &size),
              ANT_ERR_TOO_LARGE);
    CHECK_OK(ant_fsx_open_capped(dfd, "sparse", (uint64_t)1 << 32, &fd, &size));
    close(fd);
    close(dfd);
    rm_tree(root);
}


/*
 * The name is swapped between a regular file and a FIFO (renameat2 RENAME_EXCHANGE) by a
 * child as fast as it can while we open it: whatever we get back must be the regular file.
 * A check made only before the open (by name) loses this race; the check of the open fd
 * cannot.
 */
static void test_open_capped_checks_the_open_fd(void)
{
    char root[64];
    make_tmpdir(root, sizeof root);
    int dfd = open_dir(root);
    write_file(dfd, "a", "regular");
    CHECK(mkfifoat(dfd, "b", 0600) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            if (syscall(SYS_renameat2, dfd, "a", dfd, "b", RENAME_EXCHANGE) != 0)
                _exit(1);
    }
    unsigned ok = 0, refused = 0, wrong = 0;
    double t0 = now_s();
    while (now_s() - t0 < 1.5) {
        int fd = -1;
        uint64_t size = 0;
        ant_err err = ant_fsx_open_capped(dfd, "a", 100, &fd, &size);
        if (err == ANT_OK) {
            struct stat st;
            if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
                wrong++;
            ok++;
            close(fd);
        } else if (err == ANT_ERR_UNSAFE_FILE || err == ANT_ERR_NOT_FOUND) {
            refused++;
        } else {
            wrong++;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK_MSG(wrong == 0, "%u opens returned a non-regular file", wrong);
    CHECK_MSG(ok > 0 && refused > 0, "race not exercised: ok=%u refused=%u", ok, refused);
    close(dfd);
    rm_tree(root);
}

static void test_read_capped(void)
{
    char root[64];
    make_tmpdir(root, sizeof root);
    int dfd = open_dir(root);
    uint8_t *data = NULL;
    size_t len = 0;

    write_file(dfd, "meta", "{\"a\":1}");
    CHECK_OK(ant_fsx_read_capped(dfd, "meta", 4096, &data, &len));
    CHECK_INT(len, 7);
    CHECK(data != NULL && memcmp(data, "{\"a\":1}", 8) == 0); /* NUL-terminated */
    free(data);

    write_file(dfd, "empty", "");
    CHECK_OK(ant_fsx_read_capped(dfd, "empty", 4096, &data, &len));
    CHECK_INT(len, 0);
    CHECK(data != NULL && data[0] == '\0');
    free(data);

    CHECK_ERR(ant_fsx_read_capped(dfd, "meta", 6, &data, &len), ANT_ERR_TOO_LARGE);
    CHECK(data == NULL && len == 0);
    CHECK(mkfifoat(dfd, "fifo", 0600) == 0);
    CHECK_ERR(ant_fsx_read_capped(dfd, "fifo", 6, &data, &len), ANT_ERR_UNSAFE_FILE);
    close(dfd);
    rm_tree(root);
}

static void test_write_atomic(void)
{
    char root[64];
    make_tmpdir(root, sizeof root);
    int dfd = open_dir(root);

    CHECK_OK(ant_fsx_write_atomic(dfd, "state", "one", 3, 0600));
    CHECK_OK(ant_fsx_write_atomic(dfd, "state", "second", 6, 0640));
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(ant_fsx_read_capped(dfd, "state", 100, &data, &len));
    CHECK(len == 6 && memcmp(data, "second", 6) == 0);
    free(data);
    struct stat st;
    CHECK(fstatat(dfd, "state", &st, 0) == 0 && (st.st_mode & 0777) == 0640);
    CHECK_INT(count_entries(dfd), 1); /* no temp file left behind */

    /* the mode is exact even under a restrictive umask */
    mode_t old = umask(077);
    CHECK_OK(ant_fsx_write_atomic(dfd, "exe", "#!", 2, 0755));
    umask(old);
    CHECK(fstatat(dfd, "exe", &st, 0) == 0 && (st.st_mode & 0777) == 0755);

    CHECK_ERR(ant_fsx_write_atomic(dfd, "a/b", "x", 1, 0600), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_fsx_write_atomic(dfd, "..", "x", 1, 0600), ANT_ERR_INVALID_ARG);

    /* rename onto a directory fails: the temp file must be gone and the dir intact */
    CHECK(mkdirat(dfd, "dir", 0700) == 0);
    int sub = openat(dfd, "dir", O_RDONLY | O_DIRECTORY);
    write_file(sub, "keep", "k");
    close(sub);
    CHECK(ant_fsx_write_atomic(dfd, "dir", "x", 1, 0600) != ANT_OK);
    CHECK_INT(count_entries(dfd), 3);
    close(dfd);
    rm_tree(root);
}

static void test_tmp_stream(void)
{
    char root[64];
    make_tmpdir(root, sizeof root);
    int dfd = open_dir(root);
    struct ant_fsx_tmp *tmp = NULL;

    CHECK_OK(ant_fsx_tmp_open(dfd, "big", 0600, &tmp));
    int fd = ant_fsx_tmp_fd(tmp);
    CHECK(fd >= 0 && write(fd, "abc", 3) == 3);
    /* the temp file is invisible under the final name until commit */
    CHECK(faccessat(dfd, "big", F_OK, AT_SYMLINK_NOFOLLOW) != 0);
    CHECK_INT(count_entries(dfd), 1);
    CHECK_OK(ant_fsx_tmp_commit(tmp, "big"));
    CHECK_INT(count_entries(dfd), 1);
    CHECK(faccessat(dfd, "big", F_OK, AT_SYMLINK_NOFOLLOW) == 0);

    CHECK_OK(ant_fsx_tmp_open(dfd, "other", 0600, &tmp));
    CHECK(write(ant_fsx_tmp_fd(tmp), "zz", 2) == 2);
    ant_fsx_tmp_abort(tmp);
    CHECK_INT(count_entries(dfd), 1);

    /* temp names are fresh each time */
    struct ant_fsx_tmp *t1 = NULL, *t2 = NULL;
    CHECK_OK(ant_fsx_tmp_open(dfd, "x", 0600, &t1));
    CHECK_OK(ant_fsx_tmp_open(dfd, "x", 0600, &t2));
    CHECK_INT(count_entries(dfd), 3);
    ant_fsx_tmp_abort(t1);
    CHECK_ERR(ant_fsx_tmp_commit(t2, "bad/name"), ANT_ERR_INVALID_ARG);
    CHECK_INT(count_entries(dfd), 1);
    close(dfd);
    rm_tree(root);
}

static void test_lock_timeout_and_holder_death(void)
{
    char root[64];
    make_tmpdir(root, sizeof root);
    int dfd = open_dir(root);
    int l1 = -1, l2 = -1;

    CHECK_OK(ant_fsx_lock(dfd, "download.lock", 0, &l1));
    /* flock conflicts between separate opens even in one process */
    double t0 = now_s();
    CHECK_ERR(ant_fsx_lock(dfd, "download.lock", 150, &l2), ANT_ERR_TIMEOUT);
    double waited = now_s() - t0;
    CHECK_MSG(waited >= 0.14 && waited < 1.5, "waited %.3f s", waited);
    CHECK_INT(l2, -1);
    ant_fsx_unlock(l1);
    CHECK_OK(ant_fsx_lock(dfd, "download.lock", 0, &l2));
    ant_fsx_unlock(l2);

    /* a child takes the lock and is killed: the waiter gets it */
    int ready[2];
    CHECK(pipe(ready) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        int l = -1;
        if (ant_fsx_lock(dfd, "download.lock", 0, &l) != ANT_OK)
            _exit(1);
        if (write(ready[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    CHECK(read(ready[0], &c, 1) == 1);
    CHECK_ERR(ant_fsx_lock(dfd, "download.lock", 0, &l2), ANT_ERR_TIMEOUT);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    CHECK_OK(ant_fsx_lock(dfd, "download.lock", 2000, &l2));
    ant_fsx_unlock(l2);
    close(ready[0]);
    close(ready[1]);

    /* lock names that are symlinks or FIFOs are refused without blocking */
    CHECK(symlinkat("/tmp", dfd, "evil.lock") == 0);
    CHECK_ERR(ant_fsx_lock(dfd, "evil.lock", 0, &l2), ANT_ERR_UNSAFE_FILE);
    CHECK(mkfifoat(dfd, "fifo.lock", 0600) == 0);
    CHECK_ERR(ant_fsx_lock(dfd, "fifo.lock", 0, &l2), ANT_ERR_UNSAFE_FILE);
    close(dfd);
    rm_tree(root);
}

static void test_private_dir(void)
{
    char root[64], parent[128], p1[256], p2[256];
    make_tmpdir(root, sizeof root);
    snprintf(parent, sizeof parent, "%s/staging", root);
    int d1 = -1, d2 = -1;

    CHECK_OK(ant_fsx_private_dir_create(parent, "upgrade-", p1, sizeof p1, &d1));
    CHECK_OK(ant_fsx_private_dir_create(parent, "upgrade-", p2, sizeof p2, &d2));
    CHECK(strcmp(p1, p2) != 0);
    CHECK(strncmp(p1, parent, strlen(parent)) == 0 && strstr(p1, "/upgrade-") != NULL);
    struct stat st;
    CHECK(fstat(d1, &st) == 0 && (st.st_mode & 0777) == 0700 && st.st_uid == geteuid());

    /* remove deletes its files and links but never follows a link out */
    int outside = open_dir(root);
    write_file(outside, "precious", "keep me");
    write_file(d1, "ant-node", "bin");
    char target[200];
    snprintf(target, sizeof target, "%s/precious", root);
    CHECK(symlinkat(target, d1, "link") == 0);
    ant_fsx_private_dir_remove(p1, d1);
    CHECK(access(p1, F_OK) != 0);
    CHECK(faccessat(outside, "precious", F_OK, 0) == 0);
    ant_fsx_private_dir_remove(p2, d2);
    CHECK(access(p2, F_OK) != 0);

    /* path buffer too small, bad prefix, untrusted parent */
    char tiny[8];
    CHECK_ERR(ant_fsx_private_dir_create(parent, "u-", tiny, sizeof tiny, &d1),
              ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_fsx_private_dir_create(parent, "../x", p1, sizeof p1, &d1),
              ANT_ERR_INVALID_ARG);
    CHECK(chmod(parent, 0777) == 0);
    CHECK_ERR(ant_fsx_private_dir_create(parent, "u-", p1, sizeof p1, &d1), ANT_ERR_UNSAFE_FILE);
    CHECK_INT(d1, -1);
    CHECK_INT(count_entries(outside), 2);
    close(outside);
    rm_tree(root);
}

static void test_copy_fd_cap(void)
{
    char root[64];
    make_tmpdir(root, sizeof root);
    int dfd = open_dir(root);
    static uint8_t buf[300000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7);
    int in = openat(dfd, "in", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    CHECK(in >= 0 && write(in, buf, sizeof buf) == (ssize_t)sizeof buf);

    uint64_t copied = 0;
    int out = openat(dfd, "out", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(lseek(in, 0, SEEK_SET) == 0);
    CHECK_OK(ant_fsx_copy_fd(in, out, sizeof buf, &copied));
    CHECK_INT(copied, sizeof buf);
    static uint8_t back[300000];
    CHECK(pread(out, back, sizeof back, 0) == (ssize_t)sizeof back);
    CHECK(memcmp(back, buf, sizeof buf) == 0);
    close(out);

    out = openat(dfd, "out2", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(lseek(in, 0, SEEK_SET) == 0);
    CHECK_ERR(ant_fsx_copy_fd(in, out, sizeof buf - 1, &copied), ANT_ERR_TOO_LARGE);
    CHECK_INT(copied, sizeof buf - 1);
    struct stat st;
    CHECK(fstat(out, &st) == 0 && st.st_size == (off_t)(sizeof buf - 1));
    close(out);
    close(in);
    close(dfd);
    rm_tree(root);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_name_ok),
    ANT_TEST(test_trusted_dir_rules),
    ANT_TEST(test_open_capped_rejects_special_files),
    ANT_TEST(test_open_capped_checks_the_open_fd),
    ANT_TEST(test_read_capped),
    ANT_TEST(test_write_atomic),
    ANT_TEST(test_tmp_stream),
    ANT_TEST(test_lock_timeout_and_holder_death),
    ANT_TEST(test_private_dir),
    ANT_TEST(test_copy_fd_cap),
};

ANT_TEST_MAIN(cases)
