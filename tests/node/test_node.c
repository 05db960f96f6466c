/*
 * Unit tests of the node module in one process: identity file handling (creation, reload,
 * every refusal), the LMDB chunk store (round trips, mismatch, full map, verified reads
 * of a chunk corrupted behind the store's back), the pure frame parser (table), the INI
 * parser (table), value parsing and configuration precedence (table), and the in-process
 * daemon's upgrade hooks (exit code, upgrade state in STATUS).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/log.h"
#include "ant/mldsa65.h"
#include "ant/node.h"
#include "ant/node_client.h"
#include "ant/node_config.h"
#include "ant/node_identity.h"
#include "ant/node_proto.h"
#include "ant/node_store.h"
#include "node/guard.h"
#include "daemon_util.h"
#include "test.h"

static int open_dir(const char *dir)
{
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ssize_t w;
    if (fd < 0)
        return -1;
    w = write(fd, data, len);
    if (fchmod(fd, mode) != 0)
        w = -1;
    close(fd);
    return w == (ssize_t)len ? 0 : -1;
}

/* ---- identity ------------------------------------------------------------------------ */

static void test_identity_create_and_reload(void)
{
    char *dir = make_tmpdir();
    struct ant_node_identity *a = NULL, *b = NULL;
    char path[512];
    struct stat st;
    uint8_t sum[32];
    char hex[65];
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    int created = -1, fd = open_dir(dir);

    CHECK_OK(ant_node_identity_load_or_create(fd, &a, &created));
    CHECK_INT(created, 1);
    snprintf(path, sizeof path, "%s/%s", dir, ANT_NODE_IDENTITY_FILE);
    CHECK(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0600);
    CHECK_INT(st.st_size, ANT_NODE_IDENTITY_FILE_BYTES);
    CHECK_INT(ANT_NODE_IDENTITY_FILE_BYTES, 8 + 1952 + 4032 + 32);
    /* peer id = hex SHA-256 of the public key */
    CHECK_OK(ant_sha256(sum, ant_node_identity_public_key(a), ANT_MLDSA65_PUBLICKEYBYTES));
    ant_hex_encode(hex, sum, sizeof sum);
    CHECK_STR(ant_node_identity_peer_id_hex(a), hex);
    CHECK_MEM(ant_node_identity_peer_id(a), sum, 32);

    CHECK_OK(ant_node_identity_load_or_create(fd, &b, &created));
    CHECK_INT(created, 0);
    CHECK_STR(ant_node_identity_peer_id_hex(b), ant_node_identity_peer_id_hex(a));
    /* The reloaded secret key signs for the original public key. */
    CHECK_OK(ant_node_identity_sign(b, sig, (const uint8_t *)"hello", 5, NULL, 0));
    CHECK_OK(ant_mldsa65_verify(sig, sizeof sig, (const uint8_t *)"hello", 5, NULL, 0,
                                ant_node_identity_public_key(a), ANT_MLDSA65_PUBLICKEYBYTES));
    /* No temp file is left behind. */
    {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
        CHECK(system(cmd) == 0);
    }
    ant_node_identity_free(a);
    ant_node_identity_free(b);
    close(fd);
    rm_rf(dir);
    free(dir);
}

static void test_identity_refusals(void)
{
    char *dir = make_tmpdir();
    struct ant_node_identity *id = NULL;
    char path[512], other[512];
    uint8_t *img;
    size_t len = 0;
    int fd = open_dir(dir);

    CHECK_OK(ant_node_identity_load_or_create(fd, &id, NULL));
    ant_node_identity_free(id);
    id = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, ANT_NODE_IDENTITY_FILE);
    snprintf(other, sizeof other, "%s/saved.key", dir);
    img = read_file(path, &len);
    CHECK(img != NULL && len == ANT_NODE_IDENTITY_FILE_BYTES);
    if (img == NULL)
        goto out;

    /* Group- or world-readable: refused, never silently fixed. */
    CHECK(chmod(path, 0640) == 0);
    CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_UNSAFE_FILE);
    CHECK_ERR(ant_node_identity_load_or_create(fd, &id, NULL), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(path, 0604) == 0);
    CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(path, 0600) == 0);
    CHECK_OK(ant_node_identity_load(fd, &id));
    ant_node_identity_free(id);
    id = NULL;

    /* A symlink to a good key file, and a dangling one, are refused (not replaced). */
    CHECK(rename(path, other) == 0);
    CHECK(symlink(other, path) == 0);
    CHECK_ERR(ant_node_identity_load_or_create(fd, &id, NULL), ANT_ERR_UNSAFE_FILE);
    CHECK(unlink(path) == 0);
    CHECK(symlink("/nonexistent/key", path) == 0);
    CHECK_ERR(ant_node_identity_load_or_create(fd, &id, NULL), ANT_ERR_UNSAFE_FILE);
    CHECK(unlink(path) == 0);

    /* Not a regular file: a directory and a FIFO (must not block). */
    CHECK(mkdir(path, 0700) == 0);
    CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_UNSAFE_FILE);
    CHECK(rmdir(path) == 0);
    CHECK(mkfifo(path, 0600) == 0);
    CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_UNSAFE_FILE);
    CHECK(unlink(path) == 0);

    /* Truncated, oversize, bad magic, flipped key byte, consistent checksum over a pk that
     * does not belong to the sk. */
    CHECK(write_file(path, img, len - 1, 0600) == 0);
    CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_TRUNCATED);
    {
        uint8_t *big = calloc(1, len + 1);
        memcpy(big, img, len);
        CHECK(write_file(path, big, len + 1, 0600) == 0);
        CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_CORRUPT);
        memcpy(big, img, len);
        big[0] ^= 1;
        CHECK(write_file(path, big, len, 0600) == 0);
        CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_CORRUPT);
        memcpy(big, img, len);
        big[100] ^= 1;
        CHECK(write_file(path, big, len, 0600) == 0);
        CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_CORRUPT);
        CHECK_OK(ant_sha256(big + len - 32, big, len - 32));
        CHECK(write_file(path, big, len, 0600) == 0);
        CHECK_ERR(ant_node_identity_load(fd, &id), ANT_ERR_CORRUPT);
        free(big);
    }
    /* The original image loads again: the refusals were about the files, not the key. */
    CHECK(write_file(path, img, len, 0600) == 0);
    CHECK_OK(ant_node_identity_load(fd, &id));
    ant_node_identity_free(id);
out:
    free(img);
    close(fd);
    rm_rf(dir);
    free(dir);
}

/* ---- store --------------------------------------------------------------------------- */

static void test_store_round_trip(void)
{
    char *dir = make_tmpdir();
    struct ant_node_store_options o = {(uint64_t)64 << 20, true};
    struct ant_node_store *s = NULL;
    uint8_t addr[32], addr2[32], *data = malloc(300000), *got = NULL;
    uint64_t chunks = 9, bytes = 9;
    size_t len = 0;
    bool created = false, present = true;
    int fd = open_dir(dir);

    fill(data, 300000, 1);
    CHECK_OK(ant_node_store_open(dir, fd, &o, &s));
    CHECK_OK(ant_node_store_stats(s, &chunks, &bytes));
    CHECK_INT(chunks, 0);
    CHECK_OK(ant_sha256(addr, data, 300000));
    CHECK_ERR(ant_node_store_has(s, addr, &present), ANT_OK);
    CHECK(!present);
    CHECK_ERR(ant_node_store_get_copy(s, addr, &got, &len), ANT_ERR_NOT_FOUND);
    CHECK_OK(ant_node_store_put(s, addr, data, 300000, &created));
    CHECK(created);
    CHECK_OK(ant_node_store_put(s, addr, data, 300000, &created));
    CHECK(!created);
    CHECK_OK(ant_node_store_has(s, addr, &present));
    CHECK(present);
    CHECK_OK(ant_node_store_get_copy(s, addr, &got, &len));
    CHECK(len == 300000 && got != NULL && memcmp(got, data, len) == 0);
    free(got);
    got = NULL;
    /* An empty chunk is a valid chunk. */
    CHECK_OK(ant_sha256(addr2, data, 0));
    CHECK_OK(ant_node_store_put(s, addr2, data, 0, &created));
    CHECK_OK(ant_node_store_get_copy(s, addr2, &got, &len));
    CHECK_INT(len, 0);
    free(got);
    got = NULL;
    CHECK_OK(ant_node_store_stats(s, &chunks, &bytes));
    CHECK_INT(chunks, 2);
    CHECK_INT(bytes, 300000);

    /* Mismatch: right bytes under a wrong address, and a wrong byte under the right one. */
    addr2[0] ^= 1;
    CHECK_ERR(ant_node_store_put(s, addr2, data, 300000, NULL), ANT_ERR_MISMATCH);
    data[5] ^= 1;
    CHECK_ERR(ant_node_store_put(s, addr, data, 300000, NULL), ANT_ERR_MISMATCH);
    data[5] ^= 1;
    CHECK_ERR(ant_node_store_put(s, addr, data, ANT_NODE_CHUNK_MAX + 1, NULL),
              ANT_ERR_TOO_LARGE);
    CHECK_OK(ant_node_store_stats(s, &chunks, &bytes));
    CHECK_INT(chunks, 2);

    /* Durable across close and reopen. */
    ant_node_store_close(s);
    s = NULL;
    CHECK_OK(ant_node_store_open(dir, fd, &o, &s));
    CHECK_OK(ant_node_store_get_copy(s, addr, &got, &len));
    CHECK(len == 300000 && got != NULL && memcmp(got, data, len) == 0);
    free(got);
    ant_node_store_close(s);
    free(data);
    close(fd);
    rm_rf(dir);
    free(dir);
}

static void test_store_full_map(void)
{
    char *dir = make_tmpdir();
    struct ant_node_store_options o = {(uint64_t)2 << 20, true};
    struct ant_node_store *s = NULL;
    uint8_t *data = malloc(256 * 1024), addr[32];
    ant_err err = ANT_OK;
    int fd = open_dir(dir), stored = 0;

    CHECK_OK(ant_node_store_open(dir, fd, &o, &s));
    for (uint32_t i = 0; i < 20 && err == ANT_OK; i++) {
        fill(data, 256 * 1024, 100 + i);
        CHECK_OK(ant_sha256(addr, data, 256 * 1024));
        err = ant_node_store_put(s, addr, data, 256 * 1024, NULL);
        if (err == ANT_OK)
            stored++;
    }
    CHECK_ERR(err, ANT_ERR_NO_SPACE);
    CHECK(stored >= 3 && stored < 8);
    /* Full is not broken: what was stored still reads back. */
    fill(data, 256 * 1024, 100);
    CHECK_OK(ant_sha256(addr, data, 256 * 1024));
    {
        uint8_t *got = NULL;
        size_t len = 0;
        CHECK_OK(ant_node_store_get_copy(s, addr, &got, &len));
        CHECK(len == 256 * 1024 && got != NULL && memcmp(got, data, len) == 0);
        free(got);
    }
    CHECK_ERR(ant_node_store_open(dir, fd, &(struct ant_node_store_options){1000, true}, &(struct ant_node_store *){NULL}),
              ANT_ERR_INVALID_ARG);
    ant_node_store_close(s);
    free(data);
    close(fd);
    rm_rf(dir);
    free(dir);
}

/* Group commit under contention: 4 threads, overlapping chunk sets, a map that fills up
 * mid-run. Every chunk some PUT acknowledged must read back intact, only NO_SPACE may
 * fail, and the totals must count each distinct stored chunk exactly once. */
struct put_thread {
    struct ant_node_store *s;
    int first;
    int ok[40];
    int nospace;
};

static void *put_thread_main(void *arg)
{
    struct put_thread *t = arg;
    uint8_t *data = malloc(200 * 1024), addr[32];
    for (int i = 0; i < 40; i++) {
        ant_err err;
        fill(data, 200 * 1024, (uint32_t)(t->first + i));
        if (ant_sha256(addr, data, 200 * 1024) != ANT_OK)
            break;
        err = ant_node_store_put(t->s, addr, data, 200 * 1024, NULL);
        t->ok[i] = err == ANT_OK;
        t->nospace += err == ANT_ERR_NO_SPACE;
        if (err != ANT_OK && err != ANT_ERR_NO_SPACE)
            t->ok[i] = -1;
    }
    free(data);
    return NULL;
}

static void test_store_concurrent_group_commit(void)
{
    char *dir = make_tmpdir();
    struct ant_node_store_options o = {(uint64_t)12 << 20, true};
    struct ant_node_store *s = NULL;
    struct put_thread t[4];
    pthread_t th[4];
    uint8_t *data = malloc(200 * 1024), addr[32];
    int stored[200] = {0}, nospace = 0, distinct = 0;
    uint64_t chunks = 0, bytes = 0;
    int fd = open_dir(dir);

    CHECK_OK(ant_node_store_open(dir, fd, &o, &s));
    for (int i = 0; i < 4; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].s = s;
        t[i].first = 1000 + i * 20; /* neighbours share 20 of their 40 chunks */
        CHECK(pthread_create(&th[i], NULL, put_thread_main, &t[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        nospace += t[i].nospace;
        for (int k = 0; k < 40; k++) {
            CHECK(t[i].ok[k] != -1);
            if (t[i].ok[k] == 1)
                stored[t[i].first - 1000 + k] = 1;
        }
    }
    CHECK_MSG(nospace > 0, "the 12 MiB map never filled up");
    for (int c = 0; c < 100; c++) {
        uint8_t *got = NULL;
        size_t len = 0;
        ant_err err;
        fill(data, 200 * 1024, (uint32_t)(1000 + c));
        CHECK_OK(ant_sha256(addr, data, 200 * 1024));
        err = ant_node_store_get_copy(s, addr, &got, &len);
        if (stored[c]) {
            distinct++;
            CHECK_MSG(err == ANT_OK && len == 200 * 1024 && memcmp(got, data, len) == 0,
                      "chunk %d acknowledged but not readable: %s", c, ant_strerror(err));
        }
        free(got);
    }
    CHECK_OK(ant_node_store_stats(s, &chunks, &bytes));
    CHECK_INT(chunks, distinct);
    CHECK_INT(bytes, (uint64_t)distinct * 200 * 1024);
    ant_node_store_close(s);
    free(data);
    close(fd);
    rm_rf(dir);
    free(dir);
}

/* Writes bad bytes under a valid address directly through LMDB, as bit rot or a foreign
 * writer would, then checks that verified reads catch it and unverified reads do not. */
static void test_store_verify_reads(void)
{
    char *dir = make_tmpdir();
    char path[512];
    struct ant_node_store_options o = {(uint64_t)16 << 20, true};
    struct ant_node_store *s = NULL;
    uint8_t good[1000], bad[1000], addr[32], *got = NULL;
    size_t len = 0;
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    int fd = open_dir(dir);

    fill(good, sizeof good, 7);
    memcpy(bad, good, sizeof bad);
    bad[500] ^= 0x80;
    CHECK_OK(ant_sha256(addr, good, sizeof good));
    CHECK_OK(ant_node_store_open(dir, fd, &o, &s));
    ant_node_store_close(s);
    s = NULL;

    snprintf(path, sizeof path, "%s/%s", dir, ANT_NODE_STORE_DIR);
    CHECK(mdb_env_create(&env) == 0);
    CHECK(mdb_env_set_maxdbs(env, 2) == 0);
    CHECK(mdb_env_open(env, path, 0, 0600) == 0);
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, ANT_NODE_STORE_DB_CHUNKS, 0, &dbi) == 0);
    {
        MDB_val k = {32, addr}, v = {sizeof bad, bad};
        CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
    }
    CHECK(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);

    CHECK_OK(ant_node_store_open(dir, fd, &o, &s));
    CHECK_ERR(ant_node_store_get_copy(s, addr, &got, &len), ANT_ERR_CORRUPT);
    CHECK(got == NULL);
    ant_node_store_close(s);
    o.verify_reads = false;
    CHECK_OK(ant_node_store_open(dir, fd, &o, &s));
    CHECK_OK(ant_node_store_get_copy(s, addr, &got, &len));
    CHECK(got != NULL && len == sizeof bad && memcmp(got, bad, len) == 0);
    free(got);
    ant_node_store_close(s);
    close(fd);
    rm_rf(dir);
    free(dir);
}

static void test_store_refuses_symlinked_dir(void)
{
    char *dir = make_tmpdir(), *elsewhere = make_tmpdir();
    char path[512];
    struct ant_node_store_options o = {(uint64_t)16 << 20, true};
    struct ant_node_store *s = NULL;
    int fd = open_dir(dir);
    snprintf(path, sizeof path, "%s/%s", dir, ANT_NODE_STORE_DIR);
    CHECK(symlink(elsewhere, path) == 0);
    CHECK_ERR(ant_node_store_open(dir, fd, &o, &s), ANT_ERR_UNSAFE_FILE);
    close(fd);
    rm_rf(dir);
    rm_rf(elsewhere);
    free(dir);
    free(elsewhere);
}

/* ---- frame parser -------------------------------------------------------------------- */

struct frame_case {
    const char *name;
    uint8_t hdr[8];
    size_t avail_payload; /* payload bytes present after the header */
    size_t max_frame;
    ant_err want;
};

#define MF ((size_t)ANT_NODE_PROTO_MIN_CHUNK_FRAME)

static void test_proto_parse_table(void)
{
    static uint8_t payload[ANT_NODE_PROTO_MIN_CHUNK_FRAME + 16];
    static const struct frame_case cases[] = {
        {"ping empty", {0, 0, 0, 0, 1, 0x01, 0, 0}, 0, MF, ANT_OK},
        {"ping 64", {0, 0, 0, 64, 1, 0x01, 0, 0}, 64, MF, ANT_OK},
        {"ping 65", {0, 0, 0, 65, 1, 0x01, 0, 0}, 65, MF, ANT_ERR_PROTOCOL},
        {"status", {0, 0, 0, 0, 1, 0x02, 0, 0}, 0, MF, ANT_OK},
        {"status with payload", {0, 0, 0, 1, 1, 0x02, 0, 0}, 1, MF, ANT_ERR_PROTOCOL},
        {"get 32", {0, 0, 0, 32, 1, 0x04, 0, 0}, 32, MF, ANT_OK},
        {"get 31", {0, 0, 0, 31, 1, 0x04, 0, 0}, 31, MF, ANT_ERR_PROTOCOL},
        {"has 33", {0, 0, 0, 33, 1, 0x05, 0, 0}, 33, MF, ANT_ERR_PROTOCOL},
        {"put addr only", {0, 0, 0, 32, 1, 0x03, 0, 0}, 32, MF, ANT_OK},
        {"put short", {0, 0, 0, 31, 1, 0x03, 0, 0}, 31, MF, ANT_ERR_PROTOCOL},
        {"put 4MiB", {0, 0x40, 0, 32, 1, 0x03, 0, 0}, 32 + (4u << 20), MF, ANT_OK},
        {"put 4MiB+1", {0, 0x40, 0, 33, 1, 0x03, 0, 0}, 0, MF + 1, ANT_ERR_PROTOCOL},
        {"over max-frame", {0, 0x40, 0, 32, 1, 0x03, 0, 0}, 0, 65536, ANT_ERR_TOO_LARGE},
        {"length 2^32-1", {0xff, 0xff, 0xff, 0xff, 1, 0x03, 0, 0}, 0, MF, ANT_ERR_TOO_LARGE},
        {"bad version", {0, 0, 0, 0, 2, 0x01, 0, 0}, 0, MF, ANT_ERR_PROTOCOL},
        {"version 0", {0, 0, 0, 0, 0, 0x01, 0, 0}, 0, MF, ANT_ERR_PROTOCOL},
        {"reserved set", {0, 0, 0, 0, 1, 0x01, 0, 1}, 0, MF, ANT_ERR_PROTOCOL},
        {"reserved set 2", {0, 0, 0, 0, 1, 0x01, 0x80, 0}, 0, MF, ANT_ERR_PROTOCOL},
        {"unknown type", {0, 0, 0, 0, 1, 0x06, 0, 0}, 0, MF, ANT_ERR_PROTOCOL},
        {"type zero", {0, 0, 0, 0, 1, 0x00, 0, 0}, 0, MF, ANT_ERR_PROTOCOL},
        {"error short", {0, 0, 0, 3, 1, 0x7f, 0, 0}, 3, MF, ANT_ERR_PROTOCOL},
        {"error ok", {0, 0, 0, 4, 1, 0x7f, 0, 0}, 4, MF, ANT_OK},
        {"put reply 2", {0, 0, 0, 2, 1, 0x83, 0, 0}, 2, MF, ANT_ERR_PROTOCOL},
        {"status reply empty", {0, 0, 0, 0, 1, 0x82, 0, 0}, 0, MF, ANT_ERR_PROTOCOL},
        {"truncated payload", {0, 0, 0, 32, 1, 0x04, 0, 0}, 31, MF, ANT_ERR_TRUNCATED},
        {"get reply 0", {0, 0, 0, 0, 1, 0x84, 0, 0}, 0, MF, ANT_OK},
    };
    static uint8_t buf[8 + sizeof payload];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct frame_case *c = &cases[i];
        struct ant_node_frame f;
        size_t consumed = 99;
        ant_err got;
        memcpy(buf, c->hdr, 8);
        memset(buf + 8, 0xAB, c->avail_payload);
        got = ant_node_proto_parse(buf, 8 + c->avail_payload, c->max_frame, &f, &consumed);
        CHECK_MSG(got == c->want, "case '%s': got %s want %s", c->name, ant_strerror(got),
                  ant_strerror(c->want));
        if (got == ANT_OK) {
            CHECK_INT(consumed, 8 + c->avail_payload);
            CHECK_INT(f.type, c->hdr[5]);
            CHECK_INT(f.payload_len, c->avail_payload);
            CHECK(f.payload == buf + 8);
        } else {
            CHECK_INT(consumed, 0);
        }
    }
    /* Every prefix of a header is "read more", never an error or a read past the end. */
    for (size_t n = 0; n < 8; n++) {
        struct ant_node_frame f;
        size_t consumed;
        uint8_t *exact = malloc(n > 0 ? n : 1);
        memcpy(exact, cases[5].hdr, n);
        CHECK_ERR(ant_node_proto_parse(exact, n, MF, &f, &consumed), ANT_ERR_TRUNCATED);
        free(exact);
    }
    (void)payload;
}

static void test_proto_pipelined_and_encode(void)
{
    uint8_t buf[64], ep[300];
    struct ant_node_frame f;
    size_t consumed, off = 0, n;
    ant_err code;
    char msg[64];

    CHECK_OK(ant_node_proto_header(buf, ANT_FRAME_PING, 3));
    memcpy(buf + 8, "abc", 3);
    CHECK_OK(ant_node_proto_header(buf + 11, ANT_FRAME_STATUS, 0));
    CHECK_OK(ant_node_proto_parse(buf, 19, MF, &f, &consumed));
    CHECK_INT(consumed, 11);
    CHECK(f.type == ANT_FRAME_PING && f.payload_len == 3 && memcmp(f.payload, "abc", 3) == 0);
    off += consumed;
    CHECK_OK(ant_node_proto_parse(buf + off, 19 - off, MF, &f, &consumed));
    CHECK(f.type == ANT_FRAME_STATUS && consumed == 8);

    n = ant_node_proto_error_payload(ep, sizeof ep, ANT_ERR_MISMATCH, "bad\naddr");
    CHECK_INT(n, 4 + 8);
    CHECK_OK(ant_node_proto_parse_error(ep, n, &code, msg, sizeof msg));
    CHECK_INT(code, ANT_ERR_MISMATCH);
    CHECK_STR(msg, "bad?addr");
    ep[0] = 0; /* code 0x00ff.. is positive: not an error code */
    CHECK_ERR(ant_node_proto_parse_error(ep, n, &code, msg, sizeof msg), ANT_ERR_PROTOCOL);
    CHECK_ERR(ant_node_proto_parse_error(ep, 3, &code, msg, sizeof msg), ANT_ERR_PROTOCOL);
    {
        char longmsg[600];
        memset(longmsg, 'x', sizeof longmsg - 1);
        longmsg[sizeof longmsg - 1] = '\0';
        CHECK_INT(ant_node_proto_error_payload(ep, sizeof ep, ANT_ERR_IO, longmsg),
                  4 + ANT_NODE_PROTO_ERRMSG_MAX);
    }
}

/* Random input must only ever yield the documented results. */
static void test_proto_random_bytes(void)
{
    uint8_t buf[64];
    uint32_t x = 12345;
    for (int iter = 0; iter < 200000; iter++) {
        struct ant_node_frame f;
        size_t consumed, len = (size_t)(x % sizeof buf);
        ant_err err;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = (uint8_t)x;
        }
        /* Bias towards plausible headers so the deeper checks run too. */
        if (len >= 8 && (x & 1)) {
            buf[0] = buf[1] = buf[2] = 0;
            buf[3] &= 0x3f;
            buf[4] = 1;
            buf[6] = buf[7] = 0;
        }
        x += 0x9e3779b9u;
        err = ant_node_proto_parse(buf, len, MF, &f, &consumed);
        CHECK(err == ANT_OK || err == ANT_ERR_TRUNCATED || err == ANT_ERR_PROTOCOL ||
              err == ANT_ERR_TOO_LARGE);
        if (err == ANT_OK)
            CHECK(consumed <= len && consumed == 8 + f.payload_len);
    }
}

/* ---- INI parser ---------------------------------------------------------------------- */

struct ini_collect {
    char text[512];
};

static ant_err collect_cb(void *ctx, const char *key, const char *value, size_t line)
{
    struct ini_collect *c = ctx;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof c->text - used, "%zu:%s=%s;", line, key, value);
    return ANT_OK;
}

static ant_err refuse_cb(void *ctx, const char *key, const char *value, size_t line)
{
    (void)ctx;
    (void)value;
    (void)line;
    return strcmp(key, "bad") == 0 ? ANT_ERR_NOT_FOUND : ANT_OK;
}

static void test_ini_parse_table(void)
{
    static const struct {
        const char *in;
        ant_err want;
        size_t line;
        const char *pairs;
    } cases[] = {
        {"", ANT_OK, 0, ""},
        {"a=1", ANT_OK, 0, "1:a=1;"},
        {"  a  =  1  \n", ANT_OK, 0, "1:a=1;"},
        {"a=1\r\nb = two words\r\n", ANT_OK, 0, "1:a=1;2:b=two words;"},
        {"# c\n; c\n\n[node]\nlisten = \"0.0.0.0:1\"\n", ANT_OK, 0, "5:listen=0.0.0.0:1;"},
        {"a=\n", ANT_OK, 0, "1:a=;"},
        {"a=b=c\n", ANT_OK, 0, "1:a=b=c;"},
        {"a=\"\"\n", ANT_OK, 0, "1:a=;"},
        {"noequals\n", ANT_ERR_PARSE, 1, ""},
        {"a=1\n = 2\n", ANT_ERR_PARSE, 2, "1:a=1;"},
        {"a=\"open\n", ANT_ERR_PARSE, 1, ""},
        {"a=\"\n", ANT_ERR_PARSE, 1, ""},
        {"[sec\n", ANT_ERR_PARSE, 1, ""},
        {"[]\n", ANT_ERR_PARSE, 1, ""},
        {"a=1\nb=2\nc", ANT_ERR_PARSE, 3, "1:a=1;2:b=2;"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ini_collect c = {""};
        size_t line = 99;
        ant_err got = ant_node_config_ini_parse(cases[i].in, strlen(cases[i].in), collect_cb,
                                                &c, &line);
        CHECK_MSG(got == cases[i].want, "case %zu: got %s", i, ant_strerror(got));
        CHECK_MSG(strcmp(c.text, cases[i].pairs) == 0, "case %zu: pairs '%s'", i, c.text);
        if (got != ANT_OK)
            CHECK_MSG(line == cases[i].line, "case %zu: line %zu", i, line);
    }
    /* NUL inside a line, an over-long line, over-size input, callback errors. */
    {
        const char nul[] = "a=1\nb=x\0y\n";
        size_t line = 0;
        struct ini_collect c = {""};
        CHECK_ERR(ant_node_config_ini_parse(nul, sizeof nul - 1, collect_cb, &c, &line),
                  ANT_ERR_PARSE);
        CHECK_INT(line, 2);
    }
    {
        char *big = malloc(ANT_NODE_CONFIG_INI_MAX + 1);
        struct ini_collect c = {""};
        size_t line = 0;
        memset(big, '#', ANT_NODE_CONFIG_INI_MAX + 1);
        CHECK_ERR(ant_node_config_ini_parse(big, ANT_NODE_CONFIG_INI_MAX + 1, collect_cb, &c,
                                            &line),
                  ANT_ERR_TOO_LARGE);
        CHECK_ERR(ant_node_config_ini_parse(big, ANT_NODE_CONFIG_LINE_MAX + 1, collect_cb, &c,
                                            &line),
                  ANT_ERR_TOO_LARGE);
        CHECK_OK(ant_node_config_ini_parse(big, ANT_NODE_CONFIG_LINE_MAX, collect_cb, &c,
                                           &line));
        free(big);
    }
    {
        const char in[] = "good=1\nbad=2\n";
        size_t line = 0;
        CHECK_ERR(ant_node_config_ini_parse(in, sizeof in - 1, refuse_cb, NULL, &line),
                  ANT_ERR_NOT_FOUND);
        CHECK_INT(line, 2);
    }
}

static ant_err count_cb(void *ctx, const char *key, const char *value, size_t line)
{
    size_t *n = ctx;
    /* What reaches the callback is always a trimmed, non-empty key without '='. */
    if (key[0] == '\0' || strchr(key, '=') != NULL || key[0] == ' ' || line == 0 ||
        value == NULL)
        return ANT_ERR_INTERNAL;
    (*n)++;
    return ANT_OK;
}

/* Random text over the INI alphabet yields only the documented results. */
static void test_ini_random_input(void)
{
    static const char alphabet[] = "ab=[]#; \t\r\n\"x\0";
    char buf[256];
    uint32_t x = 777;
    for (int iter = 0; iter < 50000; iter++) {
        size_t len = x % sizeof buf, n = 0, line = 0;
        ant_err err;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = alphabet[x % (sizeof alphabet - 1)];
        }
        x += 0x9e3779b9u;
        err = ant_node_config_ini_parse(buf, len, count_cb, &n, &line);
        CHECK(err == ANT_OK || err == ANT_ERR_PARSE);
        if (err != ANT_OK)
            CHECK(line >= 1 && line <= len + 1);
    }
}

/* ---- config values and precedence ------------------------------------------------------ */

static void test_config_values(void)
{
    static const struct {
        const char *key, *value;
        ant_err want;
        const char *formatted; /* effective value printed back */
    } cases[] = {
        {"idle-timeout", "90", ANT_OK, "90s"},
        {"idle-timeout", "1500ms", ANT_OK, "1500ms"},
        {"idle-timeout", "2m", ANT_OK, "2m"},
        {"check-interval", "2h", ANT_OK, "2h"},
        {"rollout-window", "1d", ANT_OK, "1d"},
        {"rollout-window", "0", ANT_OK, "0s"},
        {"idle-timeout", "50ms", ANT_ERR_PARSE, NULL}, /* below range */
        {"idle-timeout", "1x", ANT_ERR_PARSE, NULL},
        {"idle-timeout", "-1", ANT_ERR_PARSE, NULL},
        {"idle-timeout", " 5", ANT_ERR_PARSE, NULL},
        {"idle-timeout", "99999999999999999999", ANT_ERR_PARSE, NULL},
        {"map-size", "1GiB", ANT_OK, "1GiB"},
        {"map-size", "3M", ANT_OK, "3MiB"},
        {"map-size", "1048577", ANT_OK, "1048577"},
        {"map-size", "512K", ANT_ERR_PARSE, NULL},
        {"map-size", "17179869184TiB", ANT_ERR_PARSE, NULL}, /* overflows */
        {"max-frame", "8MiB", ANT_OK, "8MiB"},
        {"max-frame", "1KiB", ANT_ERR_PARSE, NULL},
        {"workers", "8", ANT_OK, "8"},
        {"workers", "0", ANT_ERR_PARSE, NULL},
        {"workers", "65", ANT_ERR_PARSE, NULL},
        {"workers", "4k", ANT_ERR_PARSE, NULL},
        {"verify-reads", "off", ANT_OK, "false"},
        {"verify-reads", "YES", ANT_OK, "true"},
        {"verify-reads", "maybe", ANT_ERR_PARSE, NULL},
        {"log-level", "debug", ANT_OK, "debug"},
        {"log-level", "loud", ANT_ERR_PARSE, NULL},
        {"upgrade-channel", "beta", ANT_OK, "beta"},
        {"upgrade-channel", "nightly", ANT_ERR_PARSE, NULL},
        {"listen", "[::1]:7000", ANT_OK, "[::1]:7000"},
        {"listen", "a\tb", ANT_ERR_PARSE, NULL},
        {"no-such-setting", "1", ANT_ERR_NOT_FOUND, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ant_node_config c, before;
        char out[ANT_NODE_CONFIG_STR_MAX];
        int key = ant_node_config_lookup(cases[i].key);
        ant_err got;
        ant_node_config_defaults(&c, NULL);
        before = c;
        got = ant_node_config_set(&c, cases[i].key, cases[i].value, ANT_NODE_CONFIG_CLI, NULL, 0);
        CHECK_MSG(got == cases[i].want, "case %zu (%s=%s): %s", i, cases[i].key,
                  cases[i].value, ant_strerror(got));
        if (got == ANT_OK) {
            ant_node_config_format(&c, (enum ant_node_config_key)key, out, sizeof out);
            CHECK_MSG(strcmp(out, cases[i].formatted) == 0, "case %zu: formatted '%s'", i, out);
            CHECK(c.source[key] == ANT_NODE_CONFIG_CLI);
        } else {
            CHECK_MSG(memcmp(&c, &before, sizeof c) == 0, "case %zu changed the config", i);
        }
    }
    {
        struct ant_node_config c;
        ant_node_config_defaults(&c, NULL);
        CHECK_INT(c.workers, 4);
        CHECK_INT(c.check_interval_ms, 3600000);
        CHECK_INT(c.release_ttl_ms, 3600000);
        CHECK_INT(c.trial_period_ms, 60000);
        CHECK_STR(c.listen, "127.0.0.1:0");
        CHECK_STR(c.upgrade_api_url, "https://api.github.com");
        CHECK_STR(c.upgrade_channel, "stable");
        CHECK(c.verify_reads && !c.no_auto_upgrade && !c.stop_on_upgrade);
        CHECK(c.max_frame >= ANT_NODE_PROTO_MIN_CHUNK_FRAME);
    }
    {
        struct ant_node_config c;
        char *env1[] = {"XDG_DATA_HOME=/x/data", "HOME=/home/u", NULL};
        char *env2[] = {"HOME=/home/u", NULL};
        char *env3[] = {"XDG_DATA_HOME=relative", "HOME=/home/u", NULL};
        ant_node_config_defaults(&c, env1);
        CHECK_STR(c.root_dir, "/x/data/ant/node");
        ant_node_config_defaults(&c, env2);
        CHECK_STR(c.root_dir, "/home/u/.local/share/ant/node");
        ant_node_config_defaults(&c, env3);
        CHECK_STR(c.root_dir, "/home/u/.local/share/ant/node");
    }
}

static void test_config_precedence_table(void)
{
    char *dir = make_tmpdir();
    char path[512], envcfg[600];
    /* Each row: is the setting in the file / env / cli, and the winner. */
    static const struct {
        int file, env, cli;
        const char *want;
        enum ant_node_config_source src;
    } rows[] = {
        {0, 0, 0, "4", ANT_NODE_CONFIG_DEFAULT}, {1, 0, 0, "11", ANT_NODE_CONFIG_FILE},
        {0, 1, 0, "22", ANT_NODE_CONFIG_ENV},    {0, 0, 1, "33", ANT_NODE_CONFIG_CLI},
        {1, 1, 0, "22", ANT_NODE_CONFIG_ENV},    {1, 0, 1, "33", ANT_NODE_CONFIG_CLI},
        {0, 1, 1, "33", ANT_NODE_CONFIG_CLI},    {1, 1, 1, "33", ANT_NODE_CONFIG_CLI},
    };
    snprintf(path, sizeof path, "%s/node.ini", dir);
    snprintf(envcfg, sizeof envcfg, "ANT_CONFIG=%s", path);
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        struct ant_node_config c;
        struct ant_node_config_arg args[2];
        size_t nargs = 0;
        char *envp[4];
        size_t ne = 0;
        char why[256] = "";
        const char *ini = rows[r].file ? "workers = 11\nlog-level = warn\n" : "log-level = warn\n";
        char out[64];
        CHECK(write_file(path, ini, strlen(ini), 0600) == 0);
        envp[ne++] = envcfg;
        if (rows[r].env)
            envp[ne++] = "ANT_WORKERS=22";
        envp[ne++] = "ANT_UNRELATED_TOOL_SETTING=whatever"; /* ignored, not an error */
        envp[ne] = NULL;
        if (rows[r].cli) {
            args[nargs].name = "workers";
            args[nargs++].value = "33";
        }
        CHECK_OK(ant_node_config_resolve(&c, args, nargs, envp, why, sizeof why));
        ant_node_config_format(&c, ANT_CFG_WORKERS, out, sizeof out);
        CHECK_MSG(strcmp(out, rows[r].want) == 0, "row %zu: workers=%s (%s)", r, out, why);
        CHECK_MSG(c.source[ANT_CFG_WORKERS] == rows[r].src, "row %zu: source %s", r,
                  ant_node_config_source_name(c.source[ANT_CFG_WORKERS]));
        CHECK(c.log_level == ANT_LOG_WARN && c.source[ANT_CFG_LOG_LEVEL] == ANT_NODE_CONFIG_FILE);
        CHECK(c.source[ANT_CFG_CONFIG] == ANT_NODE_CONFIG_ENV);
    }

    /* Every setting is reachable each way: file, env and cli each set it. */
    for (int k = 1; k < ANT_CFG_COUNT; k++) {
        const char *name = ant_node_config_key_name((enum ant_node_config_key)k);
        struct ant_node_config def, c;
        char value[ANT_NODE_CONFIG_STR_MAX], ini[1200], envvar[1200], why[256];
        char *envp[3] = {NULL, NULL, NULL};
        struct ant_node_config_arg arg = {name, value};
        size_t p = 4;

        ant_node_config_defaults(&def, NULL);
        ant_node_config_format(&def, (enum ant_node_config_key)k, value, sizeof value);
        snprintf(ini, sizeof ini, "%s = \"%s\"\n", name, value);
        CHECK(write_file(path, ini, strlen(ini), 0600) == 0);
        {
            struct ant_node_config_arg cfgarg = {"config", path};
            CHECK_OK(ant_node_config_resolve(&c, &cfgarg, 1, NULL, why, sizeof why));
            CHECK_MSG(c.source[k] == ANT_NODE_CONFIG_FILE, "%s via file: %s", name, why);
            CHECK(c.source[ANT_CFG_CONFIG] == ANT_NODE_CONFIG_CLI);
        }
        strcpy(envvar, "ANT_");
        for (const char *q = name; *q; q++)
            envvar[p++] = *q == '-' ? '_' : (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
        snprintf(envvar + p, sizeof envvar - p, "=%s", value);
        envp[0] = envvar;
        CHECK_OK(ant_node_config_resolve(&c, NULL, 0, envp, why, sizeof why));
        CHECK_MSG(c.source[k] == ANT_NODE_CONFIG_ENV, "%s via %s: %s", name, envvar, why);
        CHECK_OK(ant_node_config_resolve(&c, &arg, 1, NULL, why, sizeof why));
        CHECK_MSG(c.source[k] == ANT_NODE_CONFIG_CLI, "%s via cli: %s", name, why);
        def.source[k] = c.source[k];
        CHECK_MSG(memcmp(&def, &c, sizeof c) == 0, "%s: value changed by a round trip", name);
    }

    /* Errors name the culprit and leave the output untouched. */
    {
        struct ant_node_config c;
        struct ant_node_config_arg cfgarg = {"config", path}, bad = {"workers", "zero"};
        char why[256] = "";
        const char *ini = "listen = 1.2.3.4:5\nbogus = 1\n";
        memset(&c, 0x5a, sizeof c);
        CHECK(write_file(path, ini, strlen(ini), 0600) == 0);
        CHECK_ERR(ant_node_config_resolve(&c, &cfgarg, 1, NULL, why, sizeof why),
                  ANT_ERR_NOT_FOUND);
        CHECK(strstr(why, "line 2") != NULL && strstr(why, "bogus") != NULL);
        CHECK(((uint8_t *)&c)[0] == 0x5a);
        ini = "config = /etc/other.ini\n";
        CHECK(write_file(path, ini, strlen(ini), 0600) == 0);
        CHECK_ERR(ant_node_config_resolve(&c, &cfgarg, 1, NULL, why, sizeof why), ANT_ERR_PARSE);
        CHECK_ERR(ant_node_config_resolve(&c, &bad, 1, NULL, why, sizeof why), ANT_ERR_PARSE);
        CHECK(strstr(why, "workers") != NULL);
        {
            char *envp[] = {"ANT_MAP_SIZE=lots", NULL};
            CHECK_ERR(ant_node_config_resolve(&c, NULL, 0, envp, why, sizeof why), ANT_ERR_PARSE);
            CHECK(strstr(why, "ANT_MAP_SIZE") != NULL);
        }
        {
            struct ant_node_config_arg missing = {"config", "/nonexistent/ant.ini"};
            CHECK_ERR(ant_node_config_resolve(&c, &missing, 1, NULL, why, sizeof why),
                      ANT_ERR_NOT_FOUND);
        }
        {
            char fifo[600];
            struct ant_node_config_arg f = {"config", fifo};
            snprintf(fifo, sizeof fifo, "%s/fifo.ini", dir);
            CHECK(mkfifo(fifo, 0600) == 0);
            CHECK_ERR(ant_node_config_resolve(&c, &f, 1, NULL, why, sizeof why),
                      ANT_ERR_UNSAFE_FILE);
        }
    }
    rm_rf(dir);
    free(dir);
}

static void test_config_print(void)
{
    struct ant_node_config c;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ant_node_config_defaults(&c, NULL);
    CHECK_OK(ant_node_config_set(&c, "workers", "9", ANT_NODE_CONFIG_ENV, NULL, 0));
    ant_node_config_print(&c, f);
    fclose(f);
    for (int k = 0; k < ANT_CFG_COUNT; k++)
        CHECK(strstr(buf, ant_node_config_key_name((enum ant_node_config_key)k)) != NULL);
    CHECK(strstr(buf, "workers           = 9") != NULL);
    CHECK(strstr(buf, "# env") != NULL);
    CHECK(strstr(buf, "check-interval    = 1h") != NULL);
    free(buf);
}

/* ---- in-process daemon: the upgrade hooks ------------------------------------------- */

struct exit_ctx {
    struct ant_node *node;
};

static void *request_exit_later(void *arg)
{
    struct exit_ctx *e = arg;
    usleep(100000);
    ant_node_request_exit(e->node, ANT_NODE_EXIT_RESTART, "upgrade");
    ant_node_request_exit(e->node, 3, "second"); /* the first request wins */
    return NULL;
}

static void test_node_hooks(void)
{
    char *dir = make_tmpdir();
    char root[600], addr[64];
    struct ant_node_config cfg;
    struct ant_node *node = NULL;
    struct ant_node_client *cl = NULL;
    struct ant_node_status st;
    struct exit_ctx e;
    pthread_t t;
    int code;

    snprintf(root, sizeof root, "%s/root", dir);
    ant_node_config_defaults(&cfg, NULL);
    CHECK_OK(ant_node_config_set(&cfg, "root-dir", root, ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "map-size", "64MiB", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_start(&cfg, &node));
    if (node == NULL)
        goto out;
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)ant_node_port(node));
    CHECK_OK(ant_node_client_connect(addr, 5000, &cl));
    CHECK_OK(ant_node_client_status(cl, &st));
    CHECK_STR(st.upgrade_state, "idle");
    CHECK_STR(st.peer_id, ant_node_peer_id_hex(node));
    ant_node_set_upgrade_state(node, "downloading 0.2.0 \"x\"");
    CHECK_OK(ant_node_client_status(cl, &st));
    CHECK_STR(st.upgrade_state, "downloading_0.2.0__x_");
    CHECK(ant_node_root_dirfd(node) >= 0);
    CHECK_STR(ant_node_config(node)->root_dir, root);
    {
        char portfile[700];
        struct stat sb;
        snprintf(portfile, sizeof portfile, "%s/%s", root, ANT_NODE_PORT_FILE);
        CHECK(stat(portfile, &sb) == 0);
    }
    e.node = node;
    CHECK(pthread_create(&t, NULL, request_exit_later, &e) == 0);
    code = ant_node_wait(node, -1);
    pthread_join(t, NULL);
    CHECK_INT(code, ANT_NODE_EXIT_RESTART);
    ant_node_stop(node);
    /* The client's connection was closed by the shutdown. */
    CHECK(ant_node_client_ping(cl) != ANT_OK);
    ant_node_client_close(cl);
    {
        char portfile[700];
        struct stat sb;
        snprintf(portfile, sizeof portfile, "%s/%s", root, ANT_NODE_PORT_FILE);
        CHECK(stat(portfile, &sb) != 0 && errno == ENOENT);
    }
out:
    rm_rf(dir);
    free(dir);
}

static void test_hostport(void)
{
    char host[64];
    uint16_t port;
    CHECK_OK(ant_node_split_hostport("127.0.0.1:80", host, sizeof host, &port));
    CHECK(strcmp(host, "127.0.0.1") == 0 && port == 80);
    CHECK_OK(ant_node_split_hostport("[::1]:0", host, sizeof host, &port));
    CHECK(strcmp(host, "::1") == 0 && port == 0);
    CHECK_OK(ant_node_split_hostport("localhost:65535", host, sizeof host, &port));
    CHECK_ERR(ant_node_split_hostport("::1:80", host, sizeof host, &port), ANT_ERR_PARSE);
    CHECK_ERR(ant_node_split_hostport("host:65536", host, sizeof host, &port), ANT_ERR_PARSE);
    CHECK_ERR(ant_node_split_hostport("host:", host, sizeof host, &port), ANT_ERR_PARSE);
    CHECK_ERR(ant_node_split_hostport(":80", host, sizeof host, &port), ANT_ERR_PARSE);
    CHECK_ERR(ant_node_split_hostport("host:8x", host, sizeof host, &port), ANT_ERR_PARSE);
    CHECK_ERR(ant_node_split_hostport("[::1]80", host, sizeof host, &port), ANT_ERR_PARSE);
}

static void test_xor_order(void)
{
    uint8_t a[32] = {0}, b[32] = {0}, t[32] = {0};
    a[0] = 0x80; /* far from t = 0 */
    b[31] = 0x01;
    CHECK(ant_node_xor_cmp(a, b, t) > 0);
    CHECK(ant_node_xor_cmp(b, a, t) < 0);
    CHECK(ant_node_xor_cmp(a, a, t) == 0);
    t[0] = 0x80; /* now a is the closest */
    CHECK(ant_node_xor_cmp(a, b, t) < 0);
}

static void v4_key(struct node_addr_key *k, uint32_t ip)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(ip);
    node_addr_key_of((struct sockaddr *)&sa, sizeof sa, k);
}

/* The per-address table and the buffer budget of the protocol server (src/node/guard.c):
 * limits hold per key, releases make room again, backward-shift deletion keeps every
 * remaining key findable, IPv6 counts per /64 and v4-mapped addresses as IPv4. */
static void test_guard_table_and_budget(void)
{
    struct node_addr_table *t = NULL;
    struct node_addr_key a, b, k;
    char text[NODE_ADDR_TEXT_MAX];

    CHECK_ERR(node_addr_table_new(0, &t), ANT_ERR_INVALID_ARG);
    CHECK_ERR(node_addr_table_new(65537, &t), ANT_ERR_INVALID_ARG);
    CHECK_OK(node_addr_table_new(300, &t));
    if (t == NULL)
        return;
    v4_key(&a, 0x7f000002);
    v4_key(&b, 0x7f000003);
    for (int i = 0; i < 3; i++)
        CHECK(node_addr_table_acquire(t, &a, 3));
    CHECK(!node_addr_table_acquire(t, &a, 3));
    CHECK(node_addr_table_acquire(t, &b, 3));
    CHECK_INT(node_addr_table_count(t, &a), 3);
    node_addr_table_release(t, &a);
    CHECK(node_addr_table_acquire(t, &a, 3));
    node_addr_key_format(&a, text, sizeof text);
    CHECK_STR(text, "127.0.0.2");
    /* Fill to the distinct-key cap, then release every other key in a scrambled order:
     * the survivors must keep their counts (deletion must not cut a probe chain). */
    for (uint32_t i = 0; i < 298; i++) {
        v4_key(&k, 0x0a000000u + i * 7919u);
        CHECK(node_addr_table_acquire(t, &k, 2));
        CHECK(node_addr_table_acquire(t, &k, 2));
    }
    v4_key(&k, 0x0b000000u);
    CHECK(!node_addr_table_acquire(t, &k, 5)); /* 300 distinct keys in use */
    for (uint32_t j = 0; j < 298; j++) {
        uint32_t i = (j * 151u) % 298u;
        if (i % 2 == 0)
            continue;
        v4_key(&k, 0x0a000000u + i * 7919u);
        node_addr_table_release(t, &k);
        node_addr_table_release(t, &k);
    }
    for (uint32_t i = 0; i < 298; i++) {
        v4_key(&k, 0x0a000000u + i * 7919u);
        CHECK_INT(node_addr_table_count(t, &k), i % 2 == 0 ? 2 : 0);
    }
    CHECK_INT(node_addr_table_count(t, &a), 3);
    CHECK_INT(node_addr_table_count(t, &b), 1);
    node_addr_table_free(t);

    {
        struct sockaddr_in6 s1, s2, m;
        struct node_addr_key k1, k2, km;
        memset(&s1, 0, sizeof s1);
        s1.sin6_family = AF_INET6;
        CHECK(inet_pton(AF_INET6, "2001:db8:1:2::1", &s1.sin6_addr) == 1);
        s2 = s1;
        CHECK(inet_pton(AF_INET6, "2001:db8:1:2:ffff::9", &s2.sin6_addr) == 1);
        m = s1;
        CHECK(inet_pton(AF_INET6, "::ffff:127.0.0.2", &m.sin6_addr) == 1);
        node_addr_key_of((struct sockaddr *)&s1, sizeof s1, &k1);
        node_addr_key_of((struct sockaddr *)&s2, sizeof s2, &k2);
        node_addr_key_of((struct sockaddr *)&m, sizeof m, &km);
        CHECK(memcmp(&k1, &k2, sizeof k1) == 0);
        CHECK(memcmp(&km, &a, sizeof a) == 0);
        node_addr_key_format(&k1, text, sizeof text);
        CHECK_STR(text, "2001:db8:1:2::/64");
    }
    {
        struct node_budget bud;
        node_budget_init(&bud, 100);
        CHECK(node_budget_take(&bud, 60));
        CHECK(!node_budget_take(&bud, 41));
        CHECK(node_budget_take(&bud, 40));
        CHECK(!node_budget_take(&bud, 1));
        CHECK(!node_budget_take(&bud, SIZE_MAX));
        node_budget_give(&bud, 60);
        CHECK_INT(node_budget_used(&bud), 40);
        CHECK(node_budget_take(&bud, 60));
    }
}

/* Waits up to wait_ms for the peer to close fd (EOF or reset), dropping what arrives. */
static bool closed_within(int fd, unsigned wait_ms)
{
    uint8_t buf[65536];
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return true;
        if (r > 0)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= (long)wait_ms)
            return false;
        usleep(20000);
    }
}

/*
 * The protocol server's hostile-peer paths in this process, so valgrind and ASan see them
 * (the attack tests in test_node_attacks.c run the binary and measure it): the per-address
 * limit, a stalled large frame (receive growth from the budget), a stalled header, a peer
 * that pipelines GETs and does not read (answers queued for EPOLLOUT, from the budget), a
 * malformed frame; all closed by the frame deadline or at once, a legitimate client served
 * throughout, and every byte of the budget given back once they are gone.
 */
static void test_server_hostile_in_process(void)
{
    char *dir = make_tmpdir();
    char root[600], addr[64];
    struct ant_node_config cfg;
    struct ant_node *node = NULL;
    struct ant_node_client *cl = NULL;
    size_t clen = 200 * 1024;
    uint8_t *chunk = malloc(clen), caddr[32], hdr[8], garbage[8];
    uint8_t gets[16][8 + 32];
    int fds[6], refused = 0;
    uint16_t port;

    for (int i = 0; i < 6; i++)
        fds[i] = -1;
    snprintf(root, sizeof root, "%s/root", dir);
    ant_node_config_defaults(&cfg, NULL);
    CHECK_OK(ant_node_config_set(&cfg, "root-dir", root, ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "map-size", "64MiB", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "max-frame", "256KiB", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "max-buffer-memory", "1MiB", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "frame-timeout", "2s", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "max-connections-per-address", "4", ANT_NODE_CONFIG_CLI,
                                 NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "workers", "2", ANT_NODE_CONFIG_CLI, NULL, 0));
    {
        /* A budget below one largest frame is refused at start. */
        struct ant_node_config bad = cfg;
        CHECK_OK(ant_node_config_set(&bad, "max-frame", "2MiB", ANT_NODE_CONFIG_CLI, NULL, 0));
        CHECK_ERR(ant_node_start(&bad, &node), ANT_ERR_INVALID_ARG);
        CHECK(node == NULL);
    }
    CHECK_OK(ant_node_start(&cfg, &node));
    if (node == NULL)
        goto out;
    port = ant_node_port(node);
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    fill(chunk, clen, 3);
    CHECK_OK(ant_sha256(caddr, chunk, clen));
    CHECK_OK(ant_node_client_connect(addr, 10000, &cl));
    CHECK_OK(ant_node_client_put(cl, caddr, chunk, clen, NULL));
    CHECK_INT(ant_node_buffer_used(node), 0);

    for (int i = 0; i < 6; i++)
        fds[i] = connect_from("127.0.0.2", port, i == 2 ? 4096 : 0);
    /* 0: a 200 KiB PUT stalled after 100 KiB. */
    CHECK_OK(ant_node_proto_header(hdr, ANT_FRAME_PUT, clen));
    CHECK(send(fds[0], hdr, 8, MSG_NOSIGNAL) == 8);
    CHECK(send(fds[0], chunk, 100 * 1024, MSG_NOSIGNAL) == 100 * 1024);
    /* 1: three bytes of a header, then nothing. */
    CHECK(send(fds[1], hdr, 3, MSG_NOSIGNAL) == 3);
    /* 2: sixteen pipelined GETs of the 200 KiB chunk through a 4 KiB window, never read. */
    for (int k = 0; k < 16; k++) {
        CHECK_OK(ant_node_proto_header(gets[k], ANT_FRAME_GET, 32));
        memcpy(gets[k] + 8, caddr, 32);
    }
    CHECK(send(fds[2], gets, sizeof gets, MSG_NOSIGNAL) == (ssize_t)sizeof gets);
    /* 4, 5: over the per-address limit, closed at once. */
    for (int i = 4; i < 6; i++)
        refused += fds[i] >= 0 && closed_within(fds[i], 5000);
    CHECK_INT(refused, 2);
    /* 3: a malformed header: answered ERROR and closed at once (only now: its slot must not
     * free up for 4 or 5 before they were refused). */
    memset(garbage, 0xee, sizeof garbage);
    CHECK(send(fds[3], garbage, sizeof garbage, MSG_NOSIGNAL) == (ssize_t)sizeof garbage);
    CHECK(closed_within(fds[3], 5000));
    {
        size_t used = 0;
        for (int t = 0; t < 250 && (used = ant_node_buffer_used(node)) == 0; t++)
            usleep(20000);
        CHECK(used > 0);
    }
    CHECK(ant_node_buffer_used(node) <= ((size_t)1 << 20));
    CHECK_OK(ant_node_client_ping(cl));
    /* The stalled ones miss their deadline (2 s, checked every 0.5 s). Nothing is read
     * before then: a reader that drains in time is not a slow reader. */
    usleep(3500000);
    for (int i = 0; i < 3; i++)
        CHECK_MSG(closed_within(fds[i], 10000), "attacker %d not closed", i);
    {
        size_t used = 1;
        for (int t = 0; t < 100 && (used = ant_node_buffer_used(node)) != 0; t++)
            usleep(20000);
        CHECK_INT(used, 0);
    }
    {
        uint8_t *got = NULL;
        size_t glen = 0;
        CHECK_OK(ant_node_client_get(cl, caddr, &got, &glen));
        CHECK(glen == clen && got != NULL && memcmp(got, chunk, clen) == 0);
        free(got);
    }
    ant_node_client_close(cl);
    cl = NULL;
    ant_node_stop(node);
out:
    ant_node_client_close(cl);
    for (int i = 0; i < 6; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(chunk);
    rm_rf(dir);
    free(dir);
}

/*
 * Takes the store's LMDB writer lock from another process (waiting for it like any writer),
 * says so with a byte on `ready`, and holds it until a byte on `go`: a PUT of the node's
 * then waits in its commit, a frame that does not return until the test says so.
 */
static pid_t writer_lock_child(const char *root, int go, int ready)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char path[700];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    char b = 0;
    snprintf(path, sizeof path, "%s/%s", root, ANT_NODE_STORE_DIR);
    if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 2) != 0 ||
        mdb_env_set_mapsize(env, (size_t)64 << 20) != 0 ||
        mdb_env_open(env, path, MDB_NOTLS, 0600) != 0 ||
        mdb_txn_begin(env, NULL, 0, &txn) != 0)
        _exit(2);
    if (write(ready, "r", 1) != 1 || read(go, &b, 1) != 1)
        _exit(3);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    _exit(0);
}

/* Bytes readable on fd until `quiet_ms` pass with none (or `cap` bytes). */
static size_t drain(int fd, size_t cap, int quiet_ms)
{
    uint8_t buf[4096];
    size_t got = 0;
    while (got < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, quiet_ms) <= 0)
            break;
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/*
 * One peer's pipelined frames already in its receive buffer are served at most
 * SERVE_FRAMES (64) per turn, like frames still in the socket: a peer that reads its
 * answers and pipelines hundreds of small frames (PUTs, each an fsync'd commit) otherwise
 * holds a worker for all of them, starving every other peer and, with every worker so held,
 * the watchdog heartbeat. One worker: B's PUT waits on the writer lock (held by one child
 * process, a second one queued behind the worker for it) while A pipelines 300 PINGs and C
 * sends a PUT. Released, B's commit goes through, the second child holds the lock, and the
 * worker must come to C (whose PUT then waits) after at most 64 of A's frames.
 */
static void test_server_pipelined_frames_yield_per_turn(void)
{
    char *dir = make_tmpdir();
    char root[600];
    struct ant_node_config cfg;
    struct ant_node *node = NULL;
    int go[2] = {-1, -1}, ready[2] = {-1, -1}, go2[2] = {-1, -1};
    int a = -1, b = -1, c = -1;
    pid_t child = -1, child2 = -1;
    enum { NPING = 300 };
    uint8_t pings[NPING][8], put1[8 + 32 + 1], put2[8 + 32 + 1];
    char r = 0;

    snprintf(root, sizeof root, "%s/root", dir);
    ant_node_config_defaults(&cfg, NULL);
    CHECK_OK(ant_node_config_set(&cfg, "root-dir", root, ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "map-size", "64MiB", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "workers", "1", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "max-connections-per-address", "8", ANT_NODE_CONFIG_CLI,
                                 NULL, 0));
    CHECK_OK(ant_node_config_set(&cfg, "frame-timeout", "30s", ANT_NODE_CONFIG_CLI, NULL, 0));
    CHECK_OK(ant_node_start(&cfg, &node));
    if (node == NULL)
        goto out;
    uint16_t port = ant_node_port(node);
    for (size_t i = 0; i < NPING; i++)
        CHECK_OK(ant_node_proto_header(pings[i], ANT_FRAME_PING, 0));
    uint8_t *puts[2] = {put1, put2};
    for (int k = 0; k < 2; k++) {
        CHECK_OK(ant_node_proto_header(puts[k], ANT_FRAME_PUT, 33));
        puts[k][40] = (uint8_t)('x' + k);
        CHECK_OK(ant_sha256(puts[k] + 8, puts[k] + 40, 1));
    }
    CHECK(pipe(go) == 0 && pipe(ready) == 0 && pipe(go2) == 0);
    child = writer_lock_child(root, go[0], ready[1]);
    CHECK(child > 0);
    CHECK(read(ready[0], &r, 1) == 1); /* the child holds the writer lock */
    a = connect_from("127.0.0.1", port, 0);
    b = connect_from("127.0.0.1", port, 0);
    c = connect_from("127.0.0.1", port, 0);
    CHECK(a >= 0 && b >= 0 && c >= 0);
    usleep(200000); /* accepted and registered */
    CHECK(send(b, put1, sizeof put1, MSG_NOSIGNAL) == (ssize_t)sizeof put1);
    usleep(300000); /* the one worker waits in B's commit */
    child2 = writer_lock_child(root, go2[0], ready[1]);
    CHECK(child2 > 0);
    usleep(200000); /* the second child waits for the lock behind the worker */
    CHECK(send(a, pings, sizeof pings, MSG_NOSIGNAL) == (ssize_t)sizeof pings);
    usleep(100000);
    CHECK(send(c, put2, sizeof put2, MSG_NOSIGNAL) == (ssize_t)sizeof put2);
    usleep(100000);
    CHECK(write(go[1], "g", 1) == 1);  /* B's commit goes through ... */
    CHECK(read(ready[0], &r, 1) == 1); /* ... and then the second child holds the lock */
    size_t got = drain(a, sizeof pings, 2000);
    CHECK_MSG(got > 0 && got <= 64 * 8,
              "A got %zu of its %d answers while C waited: one peer's turn was not bounded",
              got / 8, NPING);
    CHECK(write(go2[1], "g", 1) == 1);
    got += drain(a, sizeof pings - got, 5000);
    CHECK_INT(got, sizeof pings); /* and the rest once the worker is free */
out:
    for (int i = 0; i < 2; i++) {
        int *p = i == 0 ? go : go2;
        pid_t k = i == 0 ? child : child2;
        if (k > 0) {
            if (p[1] >= 0)
                (void)!write(p[1], "g", 1);
            waitpid(k, NULL, 0);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (go2[i] >= 0)
            close(go2[i]);
        if (go[i] >= 0)
            close(go[i]);
        if (ready[i] >= 0)
            close(ready[i]);
    }
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    if (c >= 0)
        close(c);
    if (node != NULL)
        ant_node_stop(node);
    rm_rf(dir);
    free(dir);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_identity_create_and_reload),
    ANT_TEST(test_identity_refusals),
    ANT_TEST(test_store_round_trip),
    ANT_TEST(test_store_full_map),
    ANT_TEST(test_store_concurrent_group_commit),
    ANT_TEST(test_store_verify_reads),
    ANT_TEST(test_store_refuses_symlinked_dir),
    ANT_TEST(test_proto_parse_table),
    ANT_TEST(test_proto_pipelined_and_encode),
    ANT_TEST(test_proto_random_bytes),
    ANT_TEST(test_ini_parse_table),
    ANT_TEST(test_ini_random_input),
    ANT_TEST(test_config_values),
    ANT_TEST(test_config_precedence_table),
    ANT_TEST(test_config_print),
    ANT_TEST(test_node_hooks),
    ANT_TEST(test_hostport),
    ANT_TEST(test_xor_order),
    ANT_TEST(test_guard_table_and_budget),
    ANT_TEST(test_server_hostile_in_process),
    ANT_TEST(test_server_pipelined_frames_yield_per_turn),
};

ANT_TEST_MAIN(tests)
