/*
 * Tests of the ant-keygen program as an operator runs it: every case executes the real
 * binary (path in $ANT_KEYGEN, set by CTest) in a fresh temporary directory and checks its
 * exit code, its output and the files it leaves, and cross-checks signatures and keys with
 * the library directly. Negative fixtures (short, long, symlinked, FIFO, tampered files)
 * are made here.
 */
/* nftw(3) is an XSI interface. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pty.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/mldsa65.h"
#include "test.h"

#define OUTCAP 16384

struct run {
    int code;           /* exit status, or 128 + signal */
    char out[OUTCAP];   /* stdout (with the pty: everything the terminal saw) */
    char err[OUTCAP];
    long maxrss_kib;    /* peak RSS of the child, from wait4 */
    double seconds;
};

static char dir[64];

static void setup_dir(void)
{
    snprintf(dir, sizeof dir, "%s", "/tmp/ant-keygen-test-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void cleanup_dir(void)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* "<dir>/<name>" in a rotating set of static buffers, so several can be live at once. */
static const char *P(const char *name)
{
    static char bufs[256][256]; /* more than any one test uses at once */
    static unsigned next;
    char *b = bufs[next++ % 256];
    snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
    return b;
}

static void slurp(FILE *f, char *buf)
{
    rewind(f);
    size_t n = fread(buf, 1, OUTCAP - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int decode_status(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs ant-keygen with the NULL-terminated arguments in `args`. With `tty`, the child's
 * stdin, stdout and stderr are a pseudo-terminal and r->out is what it displayed. */
static int run_argv(struct run *r, int tty, const char *const *args)
{
    const char *bin = getenv("ANT_KEYGEN");
    if (bin == NULL) {
        fprintf(stderr, "ANT_KEYGEN is not set: run this test through CTest\n");
        exit(1);
    }
    const char *argv[32];
    size_t n = 0;
    argv[n++] = bin;
    for (; args[n - 1] != NULL && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;

    memset(r, 0, sizeof *r);
    double t0 = now();
    pid_t pid;
    int status = 0;
    struct rusage ru;
    if (tty) {
        int master = -1;
        fflush(NULL);
        pid = forkpty(&master, NULL, NULL, NULL);
        if (pid == 0) {
            execv(bin, (char *const *)argv);
            _exit(127);
        }
        size_t used = 0;
        for (;;) {
            ssize_t k = read(master, r->out + used, OUTCAP - 1 - used);
            if (k <= 0) /* EIO once the child side has closed */
                break;
            used += (size_t)k;
            if (used == OUTCAP - 1)
                used = 0; /* keep the latest output only */
        }
        r->out[used] = '\0';
        close(master);
    } else {
        FILE *out = tmpfile(), *err = tmpfile();
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", O_RDONLY);
            dup2(devnull, 0);
            dup2(fileno(out), 1);
            dup2(fileno(err), 2);
            execv(bin, (char *const *)argv);
            _exit(127);
        }
        if (wait4(pid, &status, 0, &ru) == pid) {
            r->code = decode_status(status);
            r->maxrss_kib = ru.ru_maxrss;
        }
        slurp(out, r->out);
        slurp(err, r->err);
        r->seconds = now() - t0;
        return r->code;
    }
    if (wait4(pid, &status, 0, &ru) == pid) {
        r->code = decode_status(status);
        r->maxrss_kib = ru.ru_maxrss;
    }
    r->seconds = now() - t0;
    return r->code;
}

#define KG(r, ...) run_argv((r), 0, (const char *const[]){__VA_ARGS__, NULL})
#define KG_TTY(r, ...) run_argv((r), 1, (const char *const[]){__VA_ARGS__, NULL})

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(write(fd, data, len) == (ssize_t)len);
    close(fd);
}

/* Reads up to `cap` bytes; returns the file size or -1. */
static long read_file(const char *path, void *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    fstat(fd, &st);
    size_t want = (size_t)st.st_size < cap ? (size_t)st.st_size : cap;
    ssize_t got = read(fd, buf, want);
    close(fd);
    return got == (ssize_t)want ? (long)st.st_size : -1;
}

static long file_size(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (long)st.st_size : -1;
}

static unsigned file_mode(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0xFFFFu;
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
}

static const char SEED_A[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char SEED_B[] = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/* Generates a key pair from `seed` into <dir>/<sub>; returns the exit code. */
static int gen(const char *sub, const char *seed)
{
    struct run r;
    return KG(&r, "generate", "--out-dir", P(sub), "--seed-hex", seed);
}

/* --- cases ---------------------------------------------------------------------------- */

static void test_generate_sign_verify_round_trip(void)
{
    setup_dir();
    struct run r;
    CHECK_INT(KG(&r, "generate", "--out-dir", P("keys")), 0);
    CHECK_INT(file_mode(P("keys")), 0700);
    CHECK_INT(file_size(P("keys/release-signing-key.secret")), ANT_MLDSA65_SECRETKEYBYTES);
    CHECK_INT(file_size(P("keys/release-signing-key.pub")), ANT_MLDSA65_PUBLICKEYBYTES);
    CHECK_INT(file_mode(P("keys/release-signing-key.secret")), 0600);
    CHECK_INT(file_mode(P("keys/release-signing-key.pub")), 0644);

    /* The printed fingerprint is the SHA-256 of the public key file. */
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES], digest[32];
    char hex[65], line[128];
    CHECK_INT(read_file(P("keys/release-signing-key.pub"), pk, sizeof pk), sizeof pk);
    CHECK_OK(ant_sha256(digest, pk, sizeof pk));
    ant_hex_encode(hex, digest, sizeof digest);
    snprintf(line, sizeof line, "Fingerprint: %s\n", hex);
    CHECK_MSG(strstr(r.out, line) != NULL, "stdout: %s", r.out);
    CHECK_INT(KG(&r, "fingerprint", "--key", P("keys/release-signing-key.pub")), 0);
    CHECK_STR(r.out, (snprintf(line, sizeof line, "%s\n", hex), line));

    /* A real file: this test's own executable. */
    static uint8_t input[4 << 20];
    long inlen = read_file("/proc/self/exe", input, sizeof input);
    CHECK(inlen > 0 && (size_t)inlen <= sizeof input);
    write_file(P("input.bin"), input, (size_t)inlen);

    CHECK_INT(KG(&r, "sign", "--key", P("keys/release-signing-key.secret"), "--input",
                 P("input.bin"), "--output", P("input.bin.sig")),
              0);
    CHECK_INT(file_size(P("input.bin.sig")), ANT_MLDSA65_SIGBYTES);
    CHECK_INT(file_mode(P("input.bin.sig")), 0644);
    CHECK_INT(KG(&r, "verify", "--key", P("keys/release-signing-key.pub"), "--input",
                 P("input.bin"), "--signature", P("input.bin.sig")),
              0);
    CHECK_STR(r.out, "Signature is VALID\n");

    /* The library agrees: the CLI signed exactly these bytes with the empty context. */
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    CHECK_INT(read_file(P("input.bin.sig"), sig, sizeof sig), sizeof sig);
    CHECK_OK(ant_mldsa65_verify(sig, sizeof sig, input, (size_t)inlen, NULL, 0, pk, sizeof pk));

    /* An empty file signs and verifies too. */
    write_file(P("empty"), "", 0);
    CHECK_INT(KG(&r, "sign", "--key", P("keys/release-signing-key.secret"), "--input",
                 P("empty"), "--output", P("empty.sig")),
              0);
    CHECK_INT(KG(&r, "verify", "--key", P("keys/release-signing-key.pub"), "--input",
                 P("empty"), "--signature", P("empty.sig")),
              0);
    CHECK_INT(read_file(P("empty.sig"), sig, sizeof sig), sizeof sig);
    CHECK_OK(ant_mldsa65_verify(sig, sizeof sig, (const uint8_t *)"", 0, NULL, 0, pk, sizeof pk));
    cleanup_dir();
}

static void test_generate_refuses_to_overwrite(void)
{
    setup_dir();
    struct run r;
    uint8_t before[ANT_MLDSA65_SECRETKEYBYTES], after[ANT_MLDSA65_SECRETKEYBYTES];
    CHECK_INT(KG(&r, "generate", "--out-dir", dir), 0);
    CHECK_INT(read_file(P("release-signing-key.secret"), before, sizeof before), sizeof before);
    CHECK_INT(KG(&r, "generate", "--out-dir", dir), 2);
    CHECK_MSG(strstr(r.err, "already exists") != NULL, "stderr: %s", r.err);
    CHECK_INT(read_file(P("release-signing-key.secret"), after, sizeof after), sizeof after);
    CHECK_MEM(before, after, sizeof before);
    CHECK_INT(file_mode(P("release-signing-key.secret")), 0600);

    /* Only the public file exists: refused, and no secret key is left behind. */
    CHECK_INT(mkdir(P("pubonly"), 0700), 0);
    write_file(P("pubonly/release-signing-key.pub"), "x", 1);
    CHECK_INT(KG(&r, "generate", "--out-dir", P("pubonly")), 2);
    CHECK_INT(file_size(P("pubonly/release-signing-key.secret")), -1);
    CHECK_INT(file_size(P("pubonly/release-signing-key.pub")), 1);

    /* A planted symlink is not written through, even to a file that does not exist yet. */
    CHECK_INT(mkdir(P("planted"), 0700), 0);
    CHECK_INT(symlink(P("stolen"), P("planted/release-signing-key.secret")), 0);
    CHECK_INT(KG(&r, "generate", "--out-dir", P("planted")), 2);
    CHECK_INT(file_size(P("stolen")), -1);
    CHECK_INT(file_size(P("planted/release-signing-key.pub")), -1);
    cleanup_dir();
}

static void test_secret_key_is_0600_whatever_the_umask(void)
{
    setup_dir();
    struct run r;
    mode_t old = umask(0);
    CHECK_INT(KG(&r, "generate", "--out-dir", P("a")), 0);
    umask(077);
    CHECK_INT(KG(&r, "generate", "--out-dir", P("b")), 0);
    umask(old);
    CHECK_INT(file_mode(P("a/release-signing-key.secret")), 0600);
    CHECK_INT(file_mode(P("b/release-signing-key.secret")), 0600);
    CHECK_INT(file_mode(P("a/release-signing-key.pub")), 0644);
    CHECK_INT(file_mode(P("b/release-signing-key.pub")), 0644);
    cleanup_dir();
}

static void test_seed_hex_is_reproducible(void)
{
    setup_dir();
    struct run r;
    uint8_t pk1[ANT_MLDSA65_PUBLICKEYBYTES], pk2[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t pk3[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t sk1[ANT_MLDSA65_SECRETKEYBYTES], sk2[ANT_MLDSA65_SECRETKEYBYTES];
    uint8_t lpk[ANT_MLDSA65_PUBLICKEYBYTES], lsk[ANT_MLDSA65_SECRETKEYBYTES];
    uint8_t seed[32];
    CHECK_INT(gen("one", SEED_A), 0);
    CHECK_INT(gen("two", SEED_A), 0);
    CHECK_INT(gen("three", SEED_B), 0);
    CHECK_INT(read_file(P("one/release-signing-key.pub"), pk1, sizeof pk1), sizeof pk1);
    CHECK_INT(read_file(P("two/release-signing-key.pub"), pk2, sizeof pk2), sizeof pk2);
    CHECK_INT(read_file(P("three/release-signing-key.pub"), pk3, sizeof pk3), sizeof pk3);
    CHECK_INT(read_file(P("one/release-signing-key.secret"), sk1, sizeof sk1), sizeof sk1);
    CHECK_INT(read_file(P("two/release-signing-key.secret"), sk2, sizeof sk2), sizeof sk2);
    CHECK_MEM(pk1, pk2, sizeof pk1);
    CHECK_MEM(sk1, sk2, sizeof sk1);
    CHECK(memcmp(pk1, pk3, sizeof pk1) != 0);
    /* The same keys as ML-DSA.KeyGen_internal on that seed. */
    CHECK_OK(ant_hex_decode(seed, sizeof seed, SEED_A));
    CHECK_OK(ant_mldsa65_keypair_from_seed(lpk, lsk, seed));
    CHECK_MEM(pk1, lpk, sizeof lpk);
    CHECK_MEM(sk1, lsk, sizeof lsk);

    CHECK_INT(KG(&r, "generate", "--out-dir", P("bad1"), "--seed-hex", "0011"), 2);
    CHECK_INT(KG(&r, "generate", "--out-dir", P("bad2"), "--seed-hex",
                 "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"),
              2);
    CHECK_INT(file_size(P("bad1/release-signing-key.secret")), -1);
    CHECK_INT(KG(&r, "generate", "--help"), 0);
    CHECK_MSG(strstr(r.out, "test vectors") != NULL && strstr(r.out, "reproducible") != NULL,
              "help: %s", r.out);
    cleanup_dir();
}

/* A key pair from SEED_A in <dir>/k and a signed input file <dir>/in with <dir>/in.sig. */
static void signed_fixture(const char *ctxflag, const char *ctxval)
{
    struct run r;
    uint8_t data[70000];
    fill_pattern(data, sizeof data, 7);
    write_file(P("in"), data, sizeof data);
    CHECK_INT(gen("k", SEED_A), 0);
    if (ctxflag != NULL)
        CHECK_INT(KG(&r, "sign", "--key", P("k/release-signing-key.secret"), "--input", P("in"),
                     "--output", P("in.sig"), ctxflag, ctxval),
                  0);
    else
        CHECK_INT(KG(&r, "sign", "--key", P("k/release-signing-key.secret"), "--input", P("in"),
                     "--output", P("in.sig")),
                  0);
}

static int verify_with(struct run *r, const char *key, const char *in, const char *sig)
{
    return KG(r, "verify", "--key", key, "--input", in, "--signature", sig);
}

static void test_wrong_size_or_unsafe_key_files_exit_2(void)
{
    setup_dir();
    struct run r;
    signed_fixture(NULL, NULL);
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES + 1];
    CHECK_INT(read_file(P("k/release-signing-key.pub"), pk, ANT_MLDSA65_PUBLICKEYBYTES),
              ANT_MLDSA65_PUBLICKEYBYTES);
    pk[ANT_MLDSA65_PUBLICKEYBYTES] = 0;
    write_file(P("short.pub"), pk, ANT_MLDSA65_PUBLICKEYBYTES - 1);
    write_file(P("long.pub"), pk, ANT_MLDSA65_PUBLICKEYBYTES + 1);
    write_file(P("empty.pub"), pk, 0);

    CHECK_INT(verify_with(&r, P("short.pub"), P("in"), P("in.sig")), 2);
    CHECK_MSG(strstr(r.err, "1951 bytes") != NULL, "stderr: %s", r.err);
    CHECK_MSG(strstr(r.out, "VALID") == NULL, "stdout: %s", r.out);
    CHECK_INT(verify_with(&r, P("long.pub"), P("in"), P("in.sig")), 2);
    CHECK_INT(verify_with(&r, P("empty.pub"), P("in"), P("in.sig")), 2);
    CHECK_INT(verify_with(&r, P("missing.pub"), P("in"), P("in.sig")), 2);
    /* The secret key in place of the public key: refused with a hint. */
    CHECK_INT(verify_with(&r, P("k/release-signing-key.secret"), P("in"), P("in.sig")), 2);
    CHECK_MSG(strstr(r.err, "secret key") != NULL, "stderr: %s", r.err);
    CHECK_INT(KG(&r, "sign", "--key", P("k/release-signing-key.pub"), "--input", P("in"),
                 "--output", P("x.sig")),
              2);
    CHECK_MSG(strstr(r.err, "public key") != NULL, "stderr: %s", r.err);
    CHECK_INT(file_size(P("x.sig")), -1);
    CHECK_INT(KG(&r, "fingerprint", "--key", P("short.pub")), 2);
    CHECK_INT(KG(&r, "verify-key", "--key", P("short.pub")), 2);

    /* A symlink to the right key is refused (O_NOFOLLOW), a FIFO without blocking. */
    CHECK_INT(symlink(P("k/release-signing-key.pub"), P("link.pub")), 0);
    CHECK_INT(verify_with(&r, P("link.pub"), P("in"), P("in.sig")), 2);
    CHECK_MSG(strstr(r.err, "symlink") != NULL, "stderr: %s", r.err);
    CHECK_INT(mkfifo(P("fifo.pub"), 0600), 0);
    CHECK_INT(verify_with(&r, P("fifo.pub"), P("in"), P("in.sig")), 2);
    CHECK(r.seconds < 5);
    CHECK_INT(verify_with(&r, dir, P("in"), P("in.sig")), 2);
    /* The untouched key still verifies: the failures above are about the files. */
    CHECK_INT(verify_with(&r, P("k/release-signing-key.pub"), P("in"), P("in.sig")), 0);
    cleanup_dir();
}

static void test_tampering_is_invalid(void)
{
    setup_dir();
    struct run r;
    signed_fixture(NULL, NULL);
    const char *pub = P("k/release-signing-key.pub");
    uint8_t data[70000], sig[ANT_MLDSA65_SIGBYTES + 1];
    CHECK_INT(read_file(P("in"), data, sizeof data), sizeof data);
    CHECK_INT(read_file(P("in.sig"), sig, ANT_MLDSA65_SIGBYTES), ANT_MLDSA65_SIGBYTES);

    data[12345] ^= 0x10;
    write_file(P("tampered"), data, sizeof data);
    CHECK_INT(verify_with(&r, pub, P("tampered"), P("in.sig")), 1);
    CHECK_STR(r.out, "Signature is INVALID\n");
    write_file(P("short"), data, sizeof data - 1);
    CHECK_INT(verify_with(&r, pub, P("short"), P("in.sig")), 1);

    sig[100] ^= 0x01;
    write_file(P("bad.sig"), sig, ANT_MLDSA65_SIGBYTES);
    CHECK_INT(verify_with(&r, pub, P("in"), P("bad.sig")), 1);
    CHECK_STR(r.out, "Signature is INVALID\n");
    sig[100] ^= 0x01;

    /* Wrong-size signatures are invalid signatures (exit 1), not usage errors. */
    write_file(P("short.sig"), sig, ANT_MLDSA65_SIGBYTES - 1);
    CHECK_INT(verify_with(&r, pub, P("in"), P("short.sig")), 1);
    CHECK_STR(r.out, "Signature is INVALID\n");
    sig[ANT_MLDSA65_SIGBYTES] = 0;
    write_file(P("long.sig"), sig, ANT_MLDSA65_SIGBYTES + 1);
    CHECK_INT(verify_with(&r, pub, P("in"), P("long.sig")), 1);
    write_file(P("empty.sig"), sig, 0);
    CHECK_INT(verify_with(&r, pub, P("in"), P("empty.sig")), 1);
    /* ... but an unreadable or special signature file stops the check (exit 2). */
    CHECK_INT(verify_with(&r, pub, P("in"), P("missing.sig")), 2);
    CHECK_INT(mkfifo(P("fifo.sig"), 0600), 0);
    CHECK_INT(verify_with(&r, pub, P("in"), P("fifo.sig")), 2);
    CHECK_INT(verify_with(&r, pub, P("missing-input"), P("in.sig")), 2);
    CHECK_INT(mkfifo(P("fifo.in"), 0600), 0);
    CHECK_INT(verify_with(&r, pub, P("fifo.in"), P("in.sig")), 2);
    CHECK(r.seconds < 5);

    /* Another key does not verify it. */
    CHECK_INT(gen("other", SEED_B), 0);
    CHECK_INT(verify_with(&r, P("other/release-signing-key.pub"), P("in"), P("in.sig")), 1);
    CHECK_STR(r.out, "Signature is INVALID\n");
    /* And the untouched triple still does. */
    CHECK_INT(verify_with(&r, pub, P("in"), P("in.sig")), 0);
    cleanup_dir();
}

static void test_release_context_binds_version_and_platform(void)
{
    setup_dir();
    struct run r;
    uint8_t data[70000];
    fill_pattern(data, sizeof data, 7);
    write_file(P("in"), data, sizeof data);
    CHECK_INT(gen("k", SEED_A), 0);
    const char *sk = P("k/release-signing-key.secret"), *pub = P("k/release-signing-key.pub");
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("in.sig"),
                 "--release-version", "0.2.0", "--platform", "linux-x64"),
              0);
    const char *v[] = {"verify", "--key", pub, "--input", P("in"), "--signature", P("in.sig")};
#define VERIFY(...) KG(&r, v[0], v[1], v[2], v[3], v[4], v[5], v[6], __VA_ARGS__)
    CHECK_INT(VERIFY("--release-version", "0.2.0", "--platform", "linux-x64"), 0);
    CHECK_STR(r.out, "Signature is VALID\n");
    CHECK_INT(VERIFY("--release-version", "0.1.0", "--platform", "linux-x64"), 1);
    CHECK_STR(r.out, "Signature is INVALID\n");
    CHECK_INT(VERIFY("--release-version", "0.2.0", "--platform", "linux-arm64"), 1);
    CHECK_INT(VERIFY("--release-version", "0.2.0-rc.1", "--platform", "linux-x64"), 1);
    CHECK_INT(VERIFY("--context", "ant-node-release-v1"), 1);
    CHECK_INT(KG(&r, v[0], v[1], v[2], v[3], v[4], v[5], v[6]), 1);
    /* The flags build exactly the documented string. */
    CHECK_INT(VERIFY("--context", "ant-node-release-v2:0.2.0:linux-x64"), 0);
    CHECK_INT(VERIFY("--context-hex",
                     "616e742d6e6f64652d72656c656173652d76323a302e322e303a6c696e75782d783634"),
              0);
    /* Usage errors: half the pair, bad values, two context forms at once. */
    CHECK_INT(VERIFY("--release-version", "0.2.0"), 2);
    CHECK_INT(VERIFY("--platform", "linux-x64"), 2);
    CHECK_INT(VERIFY("--release-version", "0.2.0", "--platform", "linux-x86_64"), 2);
    CHECK_INT(VERIFY("--release-version", "0.2.0:linux-x64", "--platform", "linux-x64"), 2);
    CHECK_INT(VERIFY("--release-version", "v0.2.0", "--platform", "linux-x64"), 2);
    CHECK_INT(VERIFY("--release-version", "0.2.0", "--platform", "linux-x64", "--context", "x"),
              2);
    CHECK_INT(VERIFY("--context", "a", "--context-hex", "61"), 2);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("x.sig"),
                 "--release-version", "0.2.0", "--platform", "darwin"),
              2);
    CHECK_INT(file_size(P("x.sig")), -1);
#undef VERIFY
    cleanup_dir();
}

static void test_empty_context_forms_are_equal(void)
{
    setup_dir();
    struct run r;
    uint8_t data[5000];
    fill_pattern(data, sizeof data, 3);
    write_file(P("in"), data, sizeof data);
    CHECK_INT(gen("k", SEED_A), 0);
    const char *sk = P("k/release-signing-key.secret"), *pub = P("k/release-signing-key.pub");
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("none.sig"),
                 "--deterministic"),
              0);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("hex.sig"),
                 "--deterministic", "--context-hex", ""),
              0);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("str.sig"),
                 "--deterministic", "--context="),
              0);
    uint8_t a[ANT_MLDSA65_SIGBYTES], b[ANT_MLDSA65_SIGBYTES], c[ANT_MLDSA65_SIGBYTES];
    CHECK_INT(read_file(P("none.sig"), a, sizeof a), sizeof a);
    CHECK_INT(read_file(P("hex.sig"), b, sizeof b), sizeof b);
    CHECK_INT(read_file(P("str.sig"), c, sizeof c), sizeof c);
    CHECK_MEM(a, b, sizeof a);
    CHECK_MEM(a, c, sizeof a);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("none.sig"),
                 "--context-hex", ""),
              0);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("none.sig"),
                 "--context", ""),
              0);
    /* A one-byte context of 0x00 is not the empty context. */
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("none.sig"),
                 "--context-hex", "00"),
              1);
    cleanup_dir();
}

static void test_context_length_limit(void)
{
    setup_dir();
    struct run r;
    write_file(P("in"), "release", 7);
    CHECK_INT(gen("k", SEED_A), 0);
    const char *sk = P("k/release-signing-key.secret"), *pub = P("k/release-signing-key.pub");
    char ctx255[256], ctx256[257], hex255[511], hex256[513];
    memset(ctx255, 'c', 255);
    ctx255[255] = '\0';
    memset(ctx256, 'c', 256);
    ctx256[256] = '\0';
    memset(hex255, 'a', 510);
    hex255[510] = '\0';
    memset(hex256, 'a', 512);
    hex256[512] = '\0';

    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("255.sig"),
                 "--context", ctx255),
              0);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("255.sig"),
                 "--context", ctx255),
              0);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("256.sig"),
                 "--context", ctx256),
              2);
    CHECK_MSG(strstr(r.err, "at most 255") != NULL, "stderr: %s", r.err);
    CHECK_INT(file_size(P("256.sig")), -1);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("256.sig"),
                 "--context-hex", hex256),
              2);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("255.sig"),
                 "--context", ctx256),
              2);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("255.sig"),
                 "--context-hex", hex256),
              2);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("h.sig"),
                 "--context-hex", hex255),
              0);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("h.sig"),
                 "--context-hex", hex255),
              0);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("h.sig"),
                 "--context-hex", "abc"),
              2);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", P("h.sig"),
                 "--context-hex", "zz"),
              2);
    cleanup_dir();
}

static void test_deterministic_and_hedged_signing(void)
{
    setup_dir();
    struct run r;
    uint8_t data[3000];
    fill_pattern(data, sizeof data, 11);
    write_file(P("in"), data, sizeof data);
    CHECK_INT(gen("k", SEED_A), 0);
    const char *sk = P("k/release-signing-key.secret"), *pub = P("k/release-signing-key.pub");
    const char *outs[] = {P("d1.sig"), P("d2.sig"), P("h1.sig"), P("h2.sig")};
    for (int i = 0; i < 4; i++) {
        if (i < 2)
            CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", outs[i],
                         "--context", "ctx", "--deterministic"),
                      0);
        else
            CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", outs[i],
                         "--context", "ctx"),
                      0);
        CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("in"), "--signature", outs[i],
                     "--context", "ctx"),
                  0);
    }
    uint8_t s[4][ANT_MLDSA65_SIGBYTES];
    for (int i = 0; i < 4; i++)
        CHECK_INT(read_file(outs[i], s[i], sizeof s[i]), sizeof s[i]);
    CHECK_MEM(s[0], s[1], sizeof s[0]);
    CHECK(memcmp(s[2], s[3], sizeof s[0]) != 0);
    CHECK(memcmp(s[0], s[2], sizeof s[0]) != 0);

    /* The deterministic signature is the library's one-shot deterministic signature. */
    uint8_t sk_bytes[ANT_MLDSA65_SECRETKEYBYTES], want[ANT_MLDSA65_SIGBYTES];
    CHECK_INT(read_file(sk, sk_bytes, sizeof sk_bytes), sizeof sk_bytes);
    CHECK_OK(ant_mldsa65_sign_deterministic(want, data, sizeof data, (const uint8_t *)"ctx", 3,
                                            sk_bytes));
    CHECK_MEM(s[0], want, sizeof want);
    cleanup_dir();
}

static void test_signature_output_is_atomic_and_not_followed(void)
{
    setup_dir();
    struct run r;
    write_file(P("in"), "payload", 7);
    write_file(P("victim"), "keep me", 7);
    CHECK_INT(gen("k", SEED_A), 0);
    const char *sk = P("k/release-signing-key.secret");
    /* The output path is a symlink: the link is replaced, its target left alone. */
    CHECK_INT(symlink(P("victim"), P("out.sig")), 0);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("out.sig")), 0);
    char buf[16] = {0};
    CHECK_INT(read_file(P("victim"), buf, sizeof buf), 7);
    CHECK_STR(buf, "keep me");
    struct stat st;
    CHECK(lstat(P("out.sig"), &st) == 0 && S_ISREG(st.st_mode));
    CHECK_INT(st.st_size, ANT_MLDSA65_SIGBYTES);

    /* A failing sign leaves an existing signature as it was and no temp file. */
    uint8_t before[ANT_MLDSA65_SIGBYTES], after[ANT_MLDSA65_SIGBYTES];
    CHECK_INT(read_file(P("out.sig"), before, sizeof before), sizeof before);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("missing"), "--output", P("out.sig")), 2);
    CHECK_INT(read_file(P("out.sig"), after, sizeof after), sizeof after);
    CHECK_MEM(before, after, sizeof before);
    int tmpfiles = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        tmpfiles += strstr(e->d_name, ".tmp") != NULL;
    if (d != NULL)
        closedir(d);
    CHECK_INT(tmpfiles, 0);

    /* --output naming the input or the key (directly or through a link) is refused. */
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", P("in")), 2);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in"), "--output", sk), 2);
    CHECK_INT(symlink(P("in"), P("in-link")), 0);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("in-link"), "--output", P("in")), 2);
    CHECK_INT(file_size(P("in")), 7);
    CHECK_INT(file_size(sk), ANT_MLDSA65_SECRETKEYBYTES);
    cleanup_dir();
}

static void test_fingerprint_and_verify_key(void)
{
    setup_dir();
    struct run r;
    CHECK_INT(gen("a", SEED_A), 0);
    CHECK_INT(gen("b", SEED_B), 0);
    const char *ska = P("a/release-signing-key.secret"), *pka = P("a/release-signing-key.pub");
    const char *pkb = P("b/release-signing-key.pub");

    CHECK_INT(KG(&r, "verify-key", "--key", ska), 0);
    CHECK_MSG(strstr(r.out, "well formed") != NULL, "stdout: %s", r.out);
    CHECK_INT(KG(&r, "verify-key", "--key", ska, "--pub", pka), 0);
    CHECK_MSG(strstr(r.out, "matches") != NULL, "stdout: %s", r.out);
    CHECK_INT(KG(&r, "verify-key", "--key", ska, "--pub", pkb), 1);
    CHECK_MSG(strstr(r.out, "NOT match") != NULL, "stdout: %s", r.out);
    CHECK_INT(KG(&r, "verify-key", "--key", pka), 2);
    CHECK_INT(KG(&r, "verify-key", "--key", ska, "--pub", ska), 2);

    /* verify-key prints the same fingerprint as fingerprint and generate. */
    CHECK_INT(KG(&r, "fingerprint", "--key", pka), 0);
    char fp[80];
    snprintf(fp, sizeof fp, "%.64s", r.out);
    CHECK_INT(strlen(r.out), 65);
    CHECK_INT(KG(&r, "verify-key", "--key", ska), 0);
    CHECK_MSG(strstr(r.out, fp) != NULL, "stdout: %s", r.out);
    CHECK_INT(KG(&r, "fingerprint", "--key", pkb), 0);
    CHECK(strncmp(r.out, fp, 64) != 0);

    /* A secret key with a coefficient of s1 out of range is malformed. FIPS 204 layout:
     * rho(32) K(32) tr(64) s1(5 x 128 bytes, 4 bits per coefficient, value eta - c). */
    uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    CHECK_INT(read_file(ska, sk, sizeof sk), sizeof sk);
    sk[128 + 10] = 0xFF;
    write_file(P("bad.secret"), sk, sizeof sk);
    chmod(P("bad.secret"), 0600);
    CHECK_INT(KG(&r, "verify-key", "--key", P("bad.secret")), 1);
    CHECK_MSG(strstr(r.out, "INVALID") != NULL, "stdout: %s", r.out);
    CHECK_INT(KG(&r, "sign", "--key", P("bad.secret"), "--input", pka, "--output", P("s")), 2);

    /* A secret key that others can read still works but draws a warning. */
    CHECK_INT(read_file(ska, sk, sizeof sk), sizeof sk);
    write_file(P("open.secret"), sk, sizeof sk);
    chmod(P("open.secret"), 0644);
    CHECK_INT(KG(&r, "verify-key", "--key", P("open.secret")), 0);
    CHECK_MSG(strstr(r.err, "warning") != NULL, "stderr: %s", r.err);
    cleanup_dir();
}

static void test_usage_errors_and_help(void)
{
    struct run r;
    CHECK_INT(KG(&r, "--version"), 0);
    CHECK(strncmp(r.out, "ant-keygen ", 11) == 0);
    CHECK_INT(KG(&r, "--help"), 0);
    CHECK(strstr(r.out, "verify-key") != NULL);
    CHECK_INT(KG(&r, "frobnicate"), 2);
    CHECK_INT(KG(&r, "sign", "--key"), 2);
    CHECK_INT(KG(&r, "sign", "--key", "a", "--input", "b"), 2);
    CHECK_MSG(strstr(r.err, "--output is required") != NULL, "stderr: %s", r.err);
    CHECK_INT(KG(&r, "verify", "--key", "a", "--key", "b", "--input", "c", "--signature", "d"), 2);
    CHECK_MSG(strstr(r.err, "twice") != NULL, "stderr: %s", r.err);
    CHECK_INT(KG(&r, "verify", "--ke", "a", "--input", "c", "--signature", "d"), 2);
    CHECK_INT(KG(&r, "verify", "stray", "--key", "a"), 2);
    CHECK_INT(KG(&r, "sign", "--deterministic=yes"), 2);
    static const char *const cmds[] = {"generate", "sign", "verify", "fingerprint",
                                       "verify-key"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "Usage: ant-keygen %s", cmds[i]);
        CHECK_INT(KG(&r, cmds[i], "--help"), 0);
        CHECK_MSG(strncmp(r.out, want, strlen(want)) == 0, "%s --help: %s", cmds[i], r.out);
    }
    /* A plain run with no arguments is a usage error, not success. */
    const char *const none[] = {NULL};
    CHECK_INT(run_argv(&r, 0, none), 2);
}

/* Progress appears only on a terminal and only for big files; memory stays flat. */
static void test_streaming_progress_and_memory(void)
{
    setup_dir();
    struct run r, small;
    CHECK_INT(gen("k", SEED_A), 0);
    const char *sk = P("k/release-signing-key.secret"), *pub = P("k/release-signing-key.pub");
    /* A sparse file just over the 64 MiB threshold costs no disk. */
    int fd = open(P("big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && ftruncate(fd, (64 << 20) + 4096) == 0);
    CHECK(pwrite(fd, "tail", 4, (64 << 20) + 100) == 4);
    close(fd);
    write_file(P("small"), "small", 5);

    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("big"), "--output", P("big.sig"),
                 "--release-version", "1.0.0", "--platform", "linux-arm64"),
              0);
    CHECK_MSG(strchr(r.err, '%') == NULL, "stderr without a terminal: %s", r.err);
    CHECK_INT(KG(&r, "verify", "--key", pub, "--input", P("big"), "--signature", P("big.sig"),
                 "--release-version", "1.0.0", "--platform", "linux-arm64"),
              0);
    CHECK_MSG(strchr(r.err, '%') == NULL, "stderr without a terminal: %s", r.err);
    CHECK_INT(KG(&r, "sign", "--key", sk, "--input", P("small"), "--output", P("small.sig")), 0);
    CHECK_INT(KG(&small, "verify", "--key", pub, "--input", P("small"), "--signature",
                 P("small.sig")),
              0);
    /* Reading the whole file would add at least 64 MiB; streaming adds nothing. */
    CHECK_MSG(r.maxrss_kib - small.maxrss_kib < 8 * 1024, "maxrss big %ld KiB, small %ld KiB",
              r.maxrss_kib, small.maxrss_kib);

    CHECK_INT(KG_TTY(&r, "verify", "--key", pub, "--input", P("big"), "--signature",
                     P("big.sig"), "--release-version", "1.0.0", "--platform", "linux-arm64"),
              0);
    CHECK_MSG(strstr(r.out, "verifying 100% (64/64 MiB)") != NULL, "tty: %s", r.out);
    CHECK_MSG(strstr(r.out, "Signature is VALID") != NULL, "tty: %s", r.out);
    CHECK_INT(KG_TTY(&r, "verify", "--key", pub, "--input", P("small"), "--signature",
                     P("small.sig")),
              0);
    CHECK_MSG(strchr(r.out, '%') == NULL, "tty, small file: %s", r.out);
    cleanup_dir();
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_generate_sign_verify_round_trip),
    ANT_TEST(test_generate_refuses_to_overwrite),
    ANT_TEST(test_secret_key_is_0600_whatever_the_umask),
    ANT_TEST(test_seed_hex_is_reproducible),
    ANT_TEST(test_wrong_size_or_unsafe_key_files_exit_2),
    ANT_TEST(test_tampering_is_invalid),
    ANT_TEST(test_release_context_binds_version_and_platform),
    ANT_TEST(test_empty_context_forms_are_equal),
    ANT_TEST(test_context_length_limit),
    ANT_TEST(test_deterministic_and_hedged_signing),
    ANT_TEST(test_signature_output_is_atomic_and_not_followed),
    ANT_TEST(test_fingerprint_and_verify_key),
    ANT_TEST(test_usage_errors_and_help),
    ANT_TEST(test_streaming_progress_and_memory),
};
ANT_TEST_MAIN(cases)
