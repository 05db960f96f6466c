/*
 * Attacks on how the devnet (root) reads files out of a systemd host's container
 * (dn_nspawn_read_at_root, src/devnet/nspawn.c): the node user owns its state dir inside the
 * container, so it can plant symlinks there. An absolute symlink in a middle component, a
 * `..` walk and a symlink as the file itself must all stay inside the container's root or
 * be refused, never reach a file of the machine the devnet runs on.
 */
/* O_PATH is a GNU extension of <fcntl.h>. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devnet/nspawn.h"
#include "test.h"

static char base[64], root[128], outside[128];

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* base/outside/metadata_state.json ("host secret") and base/root, the container's "/",
 * with var/lib/ant-node/ made by the test. */
static int setup(void)
{
    char path[256];
    snprintf(base, sizeof base, "/tmp/ant-nspawn-XXXXXX");
    CHECK(mkdtemp(base) != NULL);
    snprintf(root, sizeof root, "%s/root", base);
    snprintf(outside, sizeof outside, "%s/outside", base);
    CHECK(mkdir(root, 0700) == 0 && mkdir(outside, 0700) == 0);
    snprintf(path, sizeof path, "%s/metadata_state.json", outside);
    put(path, "host secret");
    snprintf(path, sizeof path, "%s/var", root);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/var/lib", root);
    CHECK(mkdir(path, 0755) == 0);
    snprintf(path, sizeof path, "%s/var/lib/ant-node", root);
    CHECK(mkdir(path, 0700) == 0);
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    return fd;
}

static void teardown(int fd)
{
    char cmd[128];
    close(fd);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    CHECK(system(cmd) == 0);
}

static void test_reads_a_plain_file(void)
{
    int fd = setup();
    char path[256], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/var/lib/ant-node/1", root);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/var/lib/ant-node/1/metadata_state.json", root);
    put(path, "{\"state\":\"fresh\"}");
    CHECK_OK(dn_nspawn_read_at_root(fd, "var/lib/ant-node/1/metadata_state.json", 4096, &data,
                                    &len));
    CHECK(data != NULL && strcmp(data, "{\"state\":\"fresh\"}") == 0 && len == 17);
    free(data);
    data = NULL;
    CHECK_ERR(dn_nspawn_read_at_root(fd, "var/lib/ant-node/1/metadata_state.json", 8, &data,
                                     &len),
              ANT_ERR_UNSAFE_FILE); /* over the cap */
    CHECK_ERR(dn_nspawn_read_at_root(fd, "var/lib/ant-node/1", 4096, &data, &len),
              ANT_ERR_UNSAFE_FILE); /* a directory */
    CHECK_ERR(dn_nspawn_read_at_root(fd, "var/lib/ant-node/2/x", 4096, &data, &len),
              ANT_ERR_NOT_FOUND);
    CHECK(data == NULL);
    teardown(fd);
}

/* The node replaces its state dir by an absolute symlink to a directory of the host. */
static void test_absolute_symlink_in_the_path_stays_inside(void)
{
    int fd = setup();
    char path[256], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/var/lib/ant-node/1", root);
    CHECK(symlink(outside, path) == 0);
    ant_err e = dn_nspawn_read_at_root(fd, "var/lib/ant-node/1/metadata_state.json", 4096,
                                       &data, &len);
    CHECK_MSG(e != ANT_OK, "read the host's file through the symlink: %s", data ? data : "");
    CHECK(data == NULL);
    free(data);
    teardown(fd);
}

/* A relative symlink climbing out with more `..` than the container's root has. */
static void test_dotdot_symlink_stays_inside(void)
{
    int fd = setup();
    char path[256], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/var/lib/ant-node/1", root);
    /* One more ".." than the three directories it sits under: it would climb out of root. */
    char climb[64];
    size_t at = 0;
    for (int i = 0; i < 4; i++, at += 3)
        memcpy(climb + at, "../", 3);
    memcpy(climb + at, "outside", sizeof "outside");
    CHECK(symlink(climb, path) == 0);
    ant_err e = dn_nspawn_read_at_root(fd, "var/lib/ant-node/1/metadata_state.json", 4096,
                                       &data, &len);
    CHECK_MSG(e != ANT_OK, "read the host's file through ..: %s", data ? data : "");
    free(data);
    data = NULL;
    e = dn_nspawn_read_at_root(fd, "../outside/metadata_state.json", 4096, &data, &len);
    CHECK_MSG(e != ANT_OK, "a .. path left the root: %s", data ? data : "");
    free(data);
    teardown(fd);
}

/* The file itself is a symlink (to a host file): refused, not followed. */
static void test_symlink_as_the_file_is_refused(void)
{
    int fd = setup();
    char path[256], target[256], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/var/lib/ant-node/1", root);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/var/lib/ant-node/1/metadata_state.json", root);
    snprintf(target, sizeof target, "%s/metadata_state.json", outside);
    CHECK(symlink(target, path) == 0);
    CHECK_ERR(dn_nspawn_read_at_root(fd, "var/lib/ant-node/1/metadata_state.json", 4096, &data,
                                     &len),
              ANT_ERR_UNSAFE_FILE);
    CHECK(data == NULL);
    teardown(fd);
}

/* The value of `key` ("CapEff:") in /proc/self/status text, or NULL. */
static const char *status_field(const char *text, const char *key, char *buf, size_t cap)
{
    const char *p = strstr(text, key);
    if (p == NULL)
        return NULL;
    p += strlen(key);
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, "\n");
    if (n >= cap)
        return NULL;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* Root in a container replaces /bin/journalctl, which the devnet (root of this machine)
 * runs in it at every sync: the child that runs it must hold no capability at all, gain
 * none at exec (uid 0 and file capabilities), and keep none in the bounding set. The same
 * child setup as inside a container, without entering one. */
static void test_commands_run_without_any_capability(void)
{
    const char *argv[] = {"/bin/sh", "-c", "cat /proc/self/status; env", NULL};
    char *out = NULL, buf[64];
    int st = 0;
    CHECK(setenv("ANT_NSPAWN_TEST_MARK", "1", 1) == 0);
    CHECK_OK(dn_nspawn_run_capless(argv, &out, NULL, &st));
    CHECK(out != NULL && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (out == NULL)
        return;
    static const char *const zero[] = {"CapInh:", "CapPrm:", "CapEff:", "CapAmb:"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
        const char *v = status_field(out, zero[i], buf, sizeof buf);
        CHECK_MSG(v != NULL && strspn(v, "0") == strlen(v), "%s %s", zero[i], v ? v : "?");
    }
    const char *v = status_field(out, "NoNewPrivs:", buf, sizeof buf);
    CHECK_MSG(v != NULL && strcmp(v, "1") == 0, "NoNewPrivs: %s", v ? v : "?");
    if (geteuid() == 0) {
        v = status_field(out, "CapBnd:", buf, sizeof buf);
        CHECK_MSG(v != NULL && strspn(v, "0") == strlen(v), "CapBnd: %s", v ? v : "?");
    }
    /* The devnet's own environment stays out (a fixed one instead). */
    CHECK(strstr(out, "ANT_NSPAWN_TEST_MARK") == NULL);
    CHECK(strstr(out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin") != NULL);
    free(out);
}

/* Until pid sleeps in openat (/proc/<pid>/syscall names the call it is blocked in): a
 * reader that came before would not release it. */
static bool writer_blocked_in_open(pid_t pid)
{
    char path[64], text[64], want[16];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    snprintf(want, sizeof want, "%ld ", (long)SYS_openat);
    for (int i = 0; i < 500; i++) {
        int f = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = f >= 0 ? read(f, text, sizeof text - 1) : -1;
        if (f >= 0)
            close(f);
        if (n > 0) {
            text[n] = '\0';
            if (strncmp(text, want, strlen(want)) == 0)
                return true;
        }
        usleep(10000);
    }
    return false;
}

/* The node puts a FIFO where the devnet reads its state file. Opened for reading, it would
 * have let a writer in the container through; it is refused from its O_PATH handle. A
 * child opens it for writing, which blocks until some reader opens it: when the read is
 * over, that child must still be blocked (the devnet never opened the FIFO to read). */
static void test_fifo_is_never_opened_for_reading(void)
{
    int fd = setup();
    char path[256], *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/var/lib/ant-node/1", root);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/var/lib/ant-node/1/metadata_state.json", root);
    CHECK(mkfifo(path, 0600) == 0);
    int done[2];
    CHECK(pipe(done) == 0);
    pid_t w = fork();
    CHECK(w >= 0);
    if (w == 0) {
        close(done[0]);
        int wfd = open(path, O_WRONLY); /* blocks until a reader opens the FIFO */
        char c = wfd >= 0 ? 'o' : 'e';
        _exit(write(done[1], &c, 1) == 1 ? 0 : 1);
    }
    close(done[1]);
    CHECK(writer_blocked_in_open(w));
    CHECK_ERR(dn_nspawn_read_at_root(fd, "var/lib/ant-node/1/metadata_state.json", 4096, &data,
                                     &len),
              ANT_ERR_UNSAFE_FILE);
    CHECK(data == NULL);
    /* A reader that came and went releases the writer, which then reports within a
     * moment; give it two seconds before concluding nobody opened the FIFO. */
    struct pollfd pf = {.fd = done[0], .events = POLLIN};
    int r = poll(&pf, 1, 2000);
    CHECK_MSG(r == 0, "the FIFO was opened for reading (writer released)");
    kill(w, SIGKILL);
    waitpid(w, NULL, 0);
    close(done[0]);
    teardown(fd);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_fifo_is_never_opened_for_reading),
    ANT_TEST(test_commands_run_without_any_capability),
    ANT_TEST(test_reads_a_plain_file),
    ANT_TEST(test_absolute_symlink_in_the_path_stays_inside),
    ANT_TEST(test_dotdot_symlink_stays_inside),
    ANT_TEST(test_symlink_as_the_file_is_refused),
};

ANT_TEST_MAIN(tests)
