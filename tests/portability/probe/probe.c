/* ant-portability-probe: a small program that touches every C dependency of the release build
 * (zlib, OpenSSL libcrypto + libssl through libcurl, libarchive, LMDB, json-c, mimalloc) so the
 * musl toolchain and the portability tests can be proven independently of the real programs.
 * Subcommands:
 *   versions            print one "name version" line per library (exit 0)
 *   selftest DIR        SHA-256 known answer, json-c round trip, tar.gz round trip in memory,
 *                       LMDB put/get in DIR (must exist and be empty), a zlib round trip
 *   alloc               exit 0 only if memory handed out by malloc, strdup (libc), libcurl,
 *                       OpenSSL, json-c, libarchive, LMDB and another thread all lies in
 *                       mimalloc's heap, i.e. mimalloc replaced the allocator of the whole
 *                       program (exit 3 when the probe was built without mimalloc)
 *   https URL CAFILE    GET URL with CAFILE as the only trust anchor, print the body
 */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#if defined(ANT_WITH_MIMALLOC)
#include <mimalloc.h>
#endif

#define BODY_CAP ((size_t)1 << 20)

static int fail(const char *what)
{
    fprintf(stderr, "probe: %s\n", what);
    return 1;
}

static int cmd_versions(void)
{
    printf("zlib %s\n", zlibVersion());
    printf("openssl %s\n", OpenSSL_version(OPENSSL_VERSION));
    printf("curl %s\n", curl_version());
    printf("libarchive %s\n", archive_version_details());
    printf("lmdb %s\n", mdb_version(NULL, NULL, NULL));
    printf("json-c %s\n", json_c_version());
#if defined(ANT_WITH_MIMALLOC)
    printf("mimalloc %d\n", mi_version());
#else
    printf("mimalloc none\n");
#endif
    return 0;
}

static int test_sha256(void)
{
    /* FIPS 180-4 example: SHA-256("abc"). */
    static const uint8_t want[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t got[32];
    unsigned int len = 0;
    if (EVP_Digest("abc", 3, got, &len, EVP_sha256(), NULL) != 1 || len != sizeof got)
        return fail("EVP_Digest failed");
    if (memcmp(got, want, sizeof got) != 0)
        return fail("SHA-256 known answer mismatch");
    return 0;
}

static int test_json(void)
{
    int rc = 1;
    json_object *obj = json_tokener_parse("{\"tag_name\":\"v1.2.3\",\"assets\":[1,2,3]}");
    json_object *tag = NULL, *assets = NULL;
    if (obj == NULL)
        return fail("json_tokener_parse failed");
    if (!json_object_object_get_ex(obj, "tag_name", &tag) ||
        strcmp(json_object_get_string(tag), "v1.2.3") != 0 ||
        !json_object_object_get_ex(obj, "assets", &assets) || json_object_array_length(assets) != 3) {
        fail("json content mismatch");
        goto out;
    }
    rc = 0;
out:
    json_object_put(obj);
    return rc;
}

static int test_tar(void)
{
    static const char payload[] = "static musl binary\n";
    static char buf[16384];
    size_t used = 0;
    int rc = 1;
    struct archive *w = archive_write_new();
    struct archive *r = NULL;
    struct archive_entry *e = archive_entry_new();
    char got[64];
    la_ssize_t n;

    if (w == NULL || e == NULL)
        goto out;
    if (archive_write_set_format_ustar(w) != ARCHIVE_OK || archive_write_add_filter_gzip(w) != ARCHIVE_OK ||
        archive_write_open_memory(w, buf, sizeof buf, &used) != ARCHIVE_OK) {
        fail(archive_error_string(w));
        goto out;
    }
    archive_entry_set_pathname(e, "ant-node");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0755);
    archive_entry_set_size(e, (la_int64_t)(sizeof payload - 1));
    if (archive_write_header(w, e) != ARCHIVE_OK ||
        archive_write_data(w, payload, sizeof payload - 1) != (la_ssize_t)(sizeof payload - 1) ||
        archive_write_close(w) != ARCHIVE_OK) {
        fail(archive_error_string(w));
        goto out;
    }
    r = archive_read_new();
    if (r == NULL || archive_read_support_format_tar(r) != ARCHIVE_OK ||
        archive_read_support_filter_gzip(r) != ARCHIVE_OK ||
        archive_read_open_memory(r, buf, used) != ARCHIVE_OK) {
        fail("archive_read_open_memory failed");
        goto out;
    }
    struct archive_entry *re = NULL;
    if (archive_read_next_header(r, &re) != ARCHIVE_OK || strcmp(archive_entry_pathname(re), "ant-node") != 0 ||
        archive_filter_code(r, 0) != ARCHIVE_FILTER_GZIP) {
        fail("tar.gz entry mismatch");
        goto out;
    }
    n = archive_read_data(r, got, sizeof got);
    if (n != (la_ssize_t)(sizeof payload - 1) || memcmp(got, payload, sizeof payload - 1) != 0) {
        fail("tar.gz payload mismatch");
        goto out;
    }
    rc = 0;
out:
    if (r != NULL)
        archive_read_free(r);
    if (w != NULL)
        archive_write_free(w);
    if (e != NULL)
        archive_entry_free(e);
    return rc;
}

static int test_lmdb(const char *dir)
{
    int rc = 1;
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val k = {.mv_size = 5, .mv_data = (void *)"chunk"};
    MDB_val v = {.mv_size = 4, .mv_data = (void *)"data"};
    MDB_val got;

    if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, (size_t)1 << 24) != 0 ||
        mdb_env_open(env, dir, 0, 0600) != 0) {
        fail("mdb_env_open failed");
        goto out;
    }
    if (mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
        mdb_put(txn, dbi, &k, &v, 0) != 0 || mdb_txn_commit(txn) != 0) {
        txn = NULL;
        fail("mdb_put failed");
        goto out;
    }
    txn = NULL;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 || mdb_get(txn, dbi, &k, &got) != 0 ||
        got.mv_size != v.mv_size || memcmp(got.mv_data, v.mv_data, v.mv_size) != 0) {
        fail("mdb_get mismatch");
        goto out;
    }
    rc = 0;
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (env != NULL)
        mdb_env_close(env);
    return rc;
}

static int test_zlib(void)
{
    static const char text[] = "ant-node ant-node ant-node ant-node";
    Bytef packed[128], plain[128];
    uLongf plen = sizeof packed, ulen = sizeof plain;
    if (compress2(packed, &plen, (const Bytef *)text, sizeof text, 9) != Z_OK ||
        uncompress(plain, &ulen, packed, plen) != Z_OK || ulen != sizeof text ||
        memcmp(plain, text, sizeof text) != 0)
        return fail("zlib round trip failed");
    return 0;
}

static int cmd_selftest(const char *dir)
{
    if (test_sha256() || test_json() || test_tar() || test_lmdb(dir) || test_zlib())
        return 1;
    printf("selftest ok\n");
    return 0;
}

#if defined(ANT_WITH_MIMALLOC)
static void *thread_alloc(void *arg)
{
    (void)arg;
    return malloc(100);
}

static int owned(const char *what, const void *p)
{
    int ok = p != NULL && mi_is_in_heap_region(p);
    printf("%-12s %s\n", what, ok ? "mimalloc" : "NOT mimalloc");
    return ok;
}
#endif

static int cmd_alloc(void)
{
#if defined(ANT_WITH_MIMALLOC)
    int ok = 1;
    pthread_t t;
    void *from_thread = NULL;
    void *m = malloc(48);
    char *dup = strdup("libc allocates through malloc");
    CURL *curl = curl_easy_init();
    char *esc = curl != NULL ? curl_easy_escape(curl, "a b", 3) : NULL;
    void *ossl = OPENSSL_malloc(48);
    EVP_MD_CTX *mdctx = EVP_MD_CTX_new();
    json_object *js = json_object_new_string("json-c allocates through malloc");
    struct archive *ar = archive_read_new();
    MDB_env *env = NULL;

    if (pthread_create(&t, NULL, thread_alloc, NULL) == 0)
        (void)pthread_join(t, &from_thread);
    (void)mdb_env_create(&env);
    ok &= owned("malloc", m);
    ok &= owned("strdup", dup);
    ok &= owned("libcurl", esc);
    ok &= owned("openssl", ossl);
    ok &= owned("openssl-ctx", mdctx);
    ok &= owned("json-c", js);
    ok &= owned("libarchive", ar);
    ok &= owned("lmdb", env);
    ok &= owned("thread", from_thread);
    free(from_thread);
    if (env != NULL)
        mdb_env_close(env);
    if (ar != NULL)
        archive_read_free(ar);
    json_object_put(js);
    EVP_MD_CTX_free(mdctx);
    OPENSSL_free(ossl);
    curl_free(esc);
    if (curl != NULL)
        curl_easy_cleanup(curl);
    free(dup);
    free(m);
    return ok ? 0 : 1;
#else
    printf("built without mimalloc\n");
    return 3;
#endif
}

struct body {
    char *buf;
    size_t len;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct body *b = userp;
    size_t n = size * nmemb;
    /* A size option alone does not stop an endless body: count and cap here. */
    if (nmemb != 0 && n / nmemb != size)
        return 0;
    if (n > BODY_CAP - b->len)
        return 0;
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    return n;
}

static int cmd_https(const char *url, const char *cafile)
{
    int rc = 1;
    long status = 0;
    struct body b = {.buf = malloc(BODY_CAP), .len = 0};
    CURL *curl = NULL;
    CURLcode res;

    if (b.buf == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        goto out;
    curl = curl_easy_init();
    if (curl == NULL)
        goto out;
    if (curl_easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_CAINFO, cafile) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_CAPATH, NULL) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b) != CURLE_OK) {
        fail("curl_easy_setopt failed");
        goto out;
    }
    res = curl_easy_perform(curl);
    if (res != CURLE_OK) {
        fprintf(stderr, "probe: https: %s\n", curl_easy_strerror(res));
        goto out;
    }
    if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 200) {
        fprintf(stderr, "probe: https: HTTP status %ld\n", status);
        goto out;
    }
    fwrite(b.buf, 1, b.len, stdout);
    rc = 0;
out:
    if (curl != NULL)
        curl_easy_cleanup(curl);
    curl_global_cleanup();
    free(b.buf);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "versions") == 0)
        return cmd_versions();
    if (argc == 3 && strcmp(argv[1], "selftest") == 0)
        return cmd_selftest(argv[2]);
    if (argc == 2 && strcmp(argv[1], "alloc") == 0)
        return cmd_alloc();
    if (argc == 4 && strcmp(argv[1], "https") == 0)
        return cmd_https(argv[2], argv[3]);
    fprintf(stderr, "usage: %s versions | selftest DIR | alloc | https URL CAFILE\n", argv[0]);
    return 2;
}
