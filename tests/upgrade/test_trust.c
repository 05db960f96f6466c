/*
 * Tests of src/upgrade/trust.c: the compiled-in key is the shipped key file; the
 * trusted-keys dir accepts only safe owners, modes and plain files of the right size, all or
 * nothing, naming the offending path; and the one-pass stream accepts exactly the signature
 * made for this version, platform and key, whatever the chunking, while its SHA-256 and copy
 * match the input byte for byte.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/trust.h"
#include "fixtures.h"
#include "test.h"

static char root[128];
static char keys_dir[256];
static uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
static uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];

static void remove_root(void)
{
    explicit_bzero(sk, sizeof sk);
    fx_rm_tree(root);
}

static void ensure_root(void)
{
    if (root[0] != '\0')
        return;
    fx_tmpdir(root, sizeof root, "trust");
    atexit(remove_root);
    snprintf(keys_dir, sizeof keys_dir, "%s/keys", root);
    if (mkdir(keys_dir, 0755) != 0 || !fx_keypair(keys_dir, "test", pk, sk)) {
        fprintf(stderr, "fixture: key pair\n");
        exit(2);
    }
}

static void test_compiled_in_key_is_the_shipped_file(void)
{
    size_t len = 0;
    uint8_t *file = fx_read(ANT_TEST_RELEASE_KEY_FILE, &len);
    CHECK(file != NULL);
    CHECK_INT(len, ANT_MLDSA65_PUBLICKEYBYTES);
    if (file != NULL && len == ANT_MLDSA65_PUBLICKEYBYTES)
        CHECK_MEM(ant_trust_release_key(), file, len);
    free(file);
    /* with the default configuration the file is the one the repository ships */
    char shipped[512];
    const char *src = getenv("ANT_SOURCE_DIR");
    snprintf(shipped, sizeof shipped, "%s/packaging/release-signing-key.pub", src ? src : ".");
    if (strcmp(shipped, ANT_TEST_RELEASE_KEY_FILE) == 0) {
        file = fx_read(shipped, &len);
        CHECK(file != NULL && len == ANT_MLDSA65_PUBLICKEYBYTES &&
              memcmp(file, ant_trust_release_key(), len) == 0);
        free(file);
    } else {
        fprintf(stderr, "  (configured with another ANT_RELEASE_KEY_FILE: %s)\n",
                ANT_TEST_RELEASE_KEY_FILE);
    }
    struct ant_trust_keys *keys = NULL;
    CHECK_OK(ant_trust_keys_new(&keys));
    CHECK_INT(ant_trust_keys_count(keys), 1);
    ant_trust_keys_free(keys);
    CHECK_OK(ant_trust_keys_new_empty(&keys));
    CHECK_INT(ant_trust_keys_count(keys), 0);
    ant_trust_keys_free(keys);
}

static void test_keys_dir_accepts_safe_keys(void)
{
    ensure_root();
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/good", root);
    CHECK(mkdir(dir, 0755) == 0);
    uint8_t pk2[ANT_MLDSA65_PUBLICKEYBYTES], sk2[ANT_MLDSA65_SECRETKEYBYTES];
    CHECK(fx_keypair(dir, "a", pk2, sk2));
    snprintf(path, sizeof path, "%s/b.pub", dir);
    CHECK(fx_write(path, pk, sizeof pk, 0444));
    snprintf(path, sizeof path, "%s/same-as-b.pub", dir);
    CHECK(fx_write(path, pk, sizeof pk, 0600));
    /* not *.pub: ignored even when unsafe */
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    CHECK(fx_write(path, "x", 1, 0666));
    snprintf(path, sizeof path, "%s/c.pub.bak", dir);
    CHECK(fx_write(path, "x", 1, 0666));

    struct ant_trust_keys *keys = NULL;
    char why[512];
    CHECK_OK(ant_trust_keys_new(&keys));
    CHECK_OK(ant_trust_keys_add_dir(keys, dir, why, sizeof why));
    CHECK_INT(ant_trust_keys_count(keys), 3); /* release key + a + b (b twice) */
    ant_trust_keys_free(keys);
    explicit_bzero(sk2, sizeof sk2);
}

/* Builds <root>/bad<i>/ with one good key and one problem; add_dir must refuse all of it. */
static void check_refused(const char *dir, const char *label, ant_err want, const char *name_part,
                          const char *why_part)
{
    struct ant_trust_keys *keys = NULL;
    char why[512] = "";
    CHECK_OK(ant_trust_keys_new(&keys));
    double t0 = fx_now();
    ant_err err = ant_trust_keys_add_dir(keys, dir, why, sizeof why);
    CHECK_MSG(err == want, "%s: got %s", label, ant_strerror(err));
    CHECK_MSG(fx_now() - t0 < 2.0, "%s: did not return promptly", label);
    CHECK_MSG(strstr(why, name_part) != NULL, "%s: '%s' does not name '%s'", label, why,
              name_part);
    CHECK_MSG(strstr(why, why_part) != NULL, "%s: '%s' lacks '%s'", label, why, why_part);
    CHECK_MSG(ant_trust_keys_count(keys) == 1, "%s: keys were added", label);
    ant_trust_keys_free(keys);
}

static void make_dir_with_good_key(char *dir, size_t cap, const char *tag)
{
    snprintf(dir, cap, "%s/%s", root, tag);
    CHECK(mkdir(dir, 0700) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/good.pub", dir);
    CHECK(fx_write(path, pk, sizeof pk, 0644));
}

static void test_keys_dir_refusals_name_the_path(void)
{
    ensure_root();
    char dir[256], path[512];

    make_dir_with_good_key(dir, sizeof dir, "gw");
    CHECK(chmod(dir, 0770) == 0);
    check_refused(dir, "group-writable dir", ANT_ERR_UNSAFE_FILE, dir, "group/world-writable");

    make_dir_with_good_key(dir, sizeof dir, "ww");
    CHECK(chmod(dir, 0703) == 0);
    check_refused(dir, "world-writable dir", ANT_ERR_UNSAFE_FILE, dir, "group/world-writable");

    make_dir_with_good_key(dir, sizeof dir, "foreign");
    if (chown(dir, 12345, 12345) == 0)
        check_refused(dir, "dir owned by another uid", ANT_ERR_UNSAFE_FILE, dir, "owner 12345");
    else
        fprintf(stderr, "  (skipped foreign-owner dir: chown not permitted)\n");

    make_dir_with_good_key(dir, sizeof dir, "real");
    char link[256];
    snprintf(link, sizeof link, "%s/linkdir", root);
    CHECK(symlink(dir, link) == 0);
    check_refused(link, "dir is a symlink", ANT_ERR_UNSAFE_FILE, link, "symlink");
    /* a trailing slash makes the kernel follow the symlink despite O_NOFOLLOW */
    char slashed[300];
    snprintf(slashed, sizeof slashed, "%s/", link);
    check_refused(slashed, "dir is a symlink, given with a slash", ANT_ERR_UNSAFE_FILE, link,
                  "symlink");

    make_dir_with_good_key(dir, sizeof dir, "gwkey");
    snprintf(path, sizeof path, "%s/evil.pub", dir);
    CHECK(fx_write(path, pk, sizeof pk, 0664));
    check_refused(dir, "group-writable key", ANT_ERR_UNSAFE_FILE, path, "group/world-writable");

    make_dir_with_good_key(dir, sizeof dir, "forkey");
    snprintf(path, sizeof path, "%s/evil.pub", dir);
    CHECK(fx_write(path, pk, sizeof pk, 0644));
    if (chown(path, 12345, 12345) == 0)
        check_refused(dir, "key owned by another uid", ANT_ERR_UNSAFE_FILE, path, "owner 12345");

    make_dir_with_good_key(dir, sizeof dir, "linkkey");
    snprintf(path, sizeof path, "%s/evil.pub", dir);
    char target[512];
    snprintf(target, sizeof target, "%s/good.pub", dir);
    CHECK(symlink(target, path) == 0);
    check_refused(dir, "key is a symlink", ANT_ERR_UNSAFE_FILE, path, "symlink");

    make_dir_with_good_key(dir, sizeof dir, "short");
    snprintf(path, sizeof path, "%s/evil.pub", dir);
    CHECK(fx_write(path, pk, sizeof pk - 1, 0644));
    check_refused(dir, "short key", ANT_ERR_BAD_KEY, path, "1951 bytes");

    make_dir_with_good_key(dir, sizeof dir, "long");
    snprintf(path, sizeof path, "%s/evil.pub", dir);
    uint8_t longer[ANT_MLDSA65_PUBLICKEYBYTES + 1] = {0};
    CHECK(fx_write(path, longer, sizeof longer, 0644));
    check_refused(dir, "long key", ANT_ERR_BAD_KEY, path, "1953 bytes");

    make_dir_with_good_key(dir, sizeof dir, "fifo");
    snprintf(path, sizeof path, "%s/evil.pub", dir);
    CHECK(mkfifo(path, 0600) == 0);
    check_refused(dir, "FIFO key", ANT_ERR_UNSAFE_FILE, path, "not a regular file");

    make_dir_with_good_key(dir, sizeof dir, "subdir");
    snprintf(path, sizeof path, "%s/evil.pub", dir);
    CHECK(mkdir(path, 0700) == 0);
    check_refused(dir, "directory named .pub", ANT_ERR_UNSAFE_FILE, path, "not a regular file");

    snprintf(dir, sizeof dir, "%s/missing", root);
    check_refused(dir, "missing dir", ANT_ERR_NOT_FOUND, dir, "no such directory");
}

/* Deterministic test data. */
static uint8_t *pattern(size_t len, uint32_t seed)
{
    uint8_t *d = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1664525u + 1013904223u;
        d[i] = (uint8_t)(seed >> 24);
    }
    return d;
}

static int file_with(const char *name, const uint8_t *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, name);
    CHECK(fx_write(path, data, len, 0600));
    return open(path, O_RDONLY | O_CLOEXEC);
}

static void sign(uint8_t sig[ANT_MLDSA65_SIGBYTES], const uint8_t *data, size_t len,
                 const char *ctx)
{
    CHECK_OK(ant_mldsa65_sign(sig, data, len, (const uint8_t *)ctx, strlen(ctx), sk));
}

static struct ant_trust_keys *test_keys(void)
{
    struct ant_trust_keys *keys = NULL;
    char why[512];
    CHECK_OK(ant_trust_keys_new(&keys));
    CHECK_OK(ant_trust_keys_add_dir(keys, keys_dir, why, sizeof why));
    return keys;
}

static void test_stream_any_chunking(void)
{
    ensure_root();
    struct ant_trust_keys *keys = test_keys();
    static const size_t sizes[] = {0, 1, 4095, (1u << 20) - 1, 1u << 20, (1u << 20) + 1,
                                   (4u << 20), (5u << 20) + 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t len = sizes[i];
        uint8_t *data = pattern(len, (uint32_t)i + 1);
        uint8_t sig[ANT_MLDSA65_SIGBYTES];
        sign(sig, data, len, "ant-node-release-v2:0.2.0:linux-x64");
        int in = file_with("in", data, len);
        char outpath[512];
        snprintf(outpath, sizeof outpath, "%s/copy", root);
        int out = open(outpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        uint8_t sha[ANT_SHA256_BYTES], want[ANT_SHA256_BYTES];
        uint64_t size = 0;
        CHECK_OK(ant_sha256(want, data, len));
        CHECK_OK(ant_trust_verify_stream(keys, "0.2.0", "linux-x64", in, len, out, sig,
                                         sizeof sig, sha, &size));
        CHECK_INT(size, len);
        CHECK_MEM(sha, want, sizeof want);
        size_t clen = 0;
        uint8_t *copy = fx_read(outpath, &clen);
        CHECK_MSG(clen == len && (len == 0 || memcmp(copy, data, len) == 0), "copy of %zu", len);
        free(copy);
        /* one byte over the cap is refused */
        if (len > 0) {
            CHECK(lseek(in, 0, SEEK_SET) == 0);
            CHECK_ERR(ant_trust_verify_stream(keys, "0.2.0", "linux-x64", in, len - 1, -1, sig,
                                              sizeof sig, NULL, NULL),
                      ANT_ERR_TOO_LARGE);
        }
        close(in);
        close(out);
        free(data);
    }
    ant_trust_keys_free(keys);
}

static void test_stream_rejects_other_context_key_or_bytes(void)
{
    ensure_root();
    struct ant_trust_keys *keys = test_keys();
    size_t len = 300000;
    uint8_t *data = pattern(len, 99);
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    sign(sig, data, len, "ant-node-release-v2:0.2.0:linux-x64");
    int in = file_with("in2", data, len);
    uint8_t sha[ANT_SHA256_BYTES];

#define VERIFY(k, v, p, s, slen) \
    (lseek(in, 0, SEEK_SET), ant_trust_verify_stream((k), (v), (p), in, len, -1, (s), (slen), sha, NULL))

    CHECK_OK(VERIFY(keys, "0.2.0", "linux-x64", sig, sizeof sig));
    CHECK_ERR(VERIFY(keys, "0.1.0", "linux-x64", sig, sizeof sig), ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(VERIFY(keys, "0.2.0", "linux-arm64", sig, sizeof sig), ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(VERIFY(keys, "0.2.0-rc.1", "linux-x64", sig, sizeof sig), ANT_ERR_BAD_SIGNATURE);
    CHECK_ERR(VERIFY(keys, "0.2.0:linux-x64", "linux-x64", sig, sizeof sig), ANT_ERR_BAD_VERSION);
    CHECK_ERR(VERIFY(keys, "0.2.0", "linux-x86", sig, sizeof sig), ANT_ERR_PLATFORM);

    /* the signing key is not trusted without the dir */
    struct ant_trust_keys *release_only = NULL, *empty = NULL;
    CHECK_OK(ant_trust_keys_new(&release_only));
    CHECK_ERR(VERIFY(release_only, "0.2.0", "linux-x64", sig, sizeof sig), ANT_ERR_BAD_SIGNATURE);
    CHECK_OK(ant_trust_keys_new_empty(&empty));
    CHECK_ERR(VERIFY(empty, "0.2.0", "linux-x64", sig, sizeof sig), ANT_ERR_BAD_KEY);

    /* a signature of the wrong length is refused before reading anything */
    CHECK(lseek(in, 0, SEEK_SET) == 0);
    CHECK_ERR(ant_trust_verify_stream(keys, "0.2.0", "linux-x64", in, len, -1, sig,
                                      sizeof sig - 1, NULL, NULL),
              ANT_ERR_BAD_SIGNATURE);
    CHECK_INT(lseek(in, 0, SEEK_CUR), 0);

    /* a flipped signature bit, and a flipped archive bit (the checksum still comes back) */
    sig[100] ^= 1;
    CHECK_ERR(VERIFY(keys, "0.2.0", "linux-x64", sig, sizeof sig), ANT_ERR_BAD_SIGNATURE);
    sig[100] ^= 1;
    close(in);
    data[len / 2] ^= 0x40;
    in = file_with("in3", data, len);
    uint8_t want[ANT_SHA256_BYTES];
    CHECK_OK(ant_sha256(want, data, len));
    CHECK_ERR(VERIFY(keys, "0.2.0", "linux-x64", sig, sizeof sig), ANT_ERR_BAD_SIGNATURE);
    CHECK_MEM(sha, want, sizeof want);
#undef VERIFY

    /* the copy failing (read-only fd) is a fault, not a verdict */
    char path[512];
    snprintf(path, sizeof path, "%s/in3", root);
    int ro = open(path, O_RDONLY);
    CHECK(lseek(in, 0, SEEK_SET) == 0);
    CHECK_ERR(ant_trust_verify_stream(keys, "0.2.0", "linux-x64", in, len, ro, sig, sizeof sig,
                                      NULL, NULL),
              ANT_ERR_IO);
    close(ro);
    close(in);
    free(data);
    ant_trust_keys_free(release_only);
    ant_trust_keys_free(empty);
    ant_trust_keys_free(keys);
}


/* With many trusted keys, mu for each is absorbed on a different thread: whichever key of
 * the set signed, it must verify, and a key outside the set must not. */
static void test_stream_many_keys(void)
{
    ensure_root();
    char dir[256];
    snprintf(dir, sizeof dir, "%s/many", root);
    CHECK(mkdir(dir, 0700) == 0);
    enum { NKEYS = 6 };
    static uint8_t pks[NKEYS][ANT_MLDSA65_PUBLICKEYBYTES], sks[NKEYS][ANT_MLDSA65_SECRETKEYBYTES];
    for (int k = 0; k < NKEYS; k++) {
        char name[16];
        snprintf(name, sizeof name, "k%d", k);
        CHECK(fx_keypair(dir, name, pks[k], sks[k]));
    }
    struct ant_trust_keys *keys = NULL;
    char why[512];
    CHECK_OK(ant_trust_keys_new(&keys));
    CHECK_OK(ant_trust_keys_add_dir(keys, dir, why, sizeof why));
    CHECK_INT(ant_trust_keys_count(keys), NKEYS + 1);
    size_t len = (3u << 20) + 5;
    uint8_t *data = pattern(len, 7);
    int in = file_with("many-in", data, len);
    const char *ctx = "ant-node-release-v2:1.0.0-rc.1:linux-arm64";
    uint8_t want[ANT_SHA256_BYTES], sha[ANT_SHA256_BYTES];
    CHECK_OK(ant_sha256(want, data, len));
    for (int k = 0; k < NKEYS; k++) {
        uint8_t sig[ANT_MLDSA65_SIGBYTES];
        CHECK_OK(ant_mldsa65_sign(sig, data, len, (const uint8_t *)ctx, strlen(ctx), sks[k]));
        CHECK(lseek(in, 0, SEEK_SET) == 0);
        CHECK_MSG(ant_trust_verify_stream(keys, "1.0.0-rc.1", "linux-arm64", in, len, -1, sig,
                                          sizeof sig, sha, NULL) == ANT_OK,
                  "key %d", k);
        CHECK_MEM(sha, want, sizeof want);
    }
    /* the test key of the other tests is not in this set */
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    CHECK_OK(ant_mldsa65_sign(sig, data, len, (const uint8_t *)ctx, strlen(ctx), sk));
    CHECK(lseek(in, 0, SEEK_SET) == 0);
    CHECK_ERR(ant_trust_verify_stream(keys, "1.0.0-rc.1", "linux-arm64", in, len, -1, sig,
                                      sizeof sig, NULL, NULL),
              ANT_ERR_BAD_SIGNATURE);
    close(in);
    free(data);
    explicit_bzero(sks, sizeof sks);
    ant_trust_keys_free(keys);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_compiled_in_key_is_the_shipped_file),
    ANT_TEST(test_keys_dir_accepts_safe_keys),
    ANT_TEST(test_keys_dir_refusals_name_the_path),
    ANT_TEST(test_stream_any_chunking),
    ANT_TEST(test_stream_rejects_other_context_key_or_bytes),
    ANT_TEST(test_stream_many_keys),
};

ANT_TEST_MAIN(tests)
