/*
 * `ant-node put FILE --to ADDR... [--manifest-out M] [--chunk-size N] [--replicas R]`:
 * splits FILE into chunks of at most 1 MiB, stores each on the R (default 3) nodes whose
 * peer ids are closest by XOR to the chunk address, and writes a manifest listing the
 * chunks (docs/PROTOCOL.md, "Manifest"). Every chosen replica must accept the chunk, so a
 * finished put means each chunk is on R nodes (or on all of them when fewer are given).
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/fsx.h"
#include "ant/node_client.h"
#include "node_cli.h"

#define PUT_USAGE                                                                          \
    "usage: ant-node put FILE --to HOST:PORT[,HOST:PORT...] [--to ...] [--devnet-manifest F]\n" \
    "                [--manifest-out M]\n"                                                   \
    "                [--chunk-size BYTES (<= 1 MiB)] [--replicas N (default 3)]"

#define PUT_CHUNK_MAX ((size_t)1 << 20)

/* Writes `text` to `path` atomically (temp file in the same directory, then rename). */
static int write_file_atomic(const char *cmd, const char *path, const char *text, size_t len,
                             mode_t mode)
{
    char *d = strdup(path), *b = strdup(path);
    int dirfd = -1, rc = 1;
    ant_err err;

    if (d == NULL || b == NULL)
        goto out;
    dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fprintf(stderr, "ant-node %s: %s: %s\n", cmd, path, strerror(errno));
        goto out;
    }
    err = ant_fsx_write_atomic(dirfd, basename(b), text, len, mode);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node %s: cannot write %s: %s\n", cmd, path, ant_strerror(err));
        goto out;
    }
    rc = 0;
out:
    if (dirfd >= 0)
        close(dirfd);
    free(d);
    free(b);
    return rc;
}

static int parse_count(const char *text, unsigned long min, unsigned long max,
                       unsigned long *out)
{
    char *end;
    unsigned long v;
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cmd_put(int argc, char **argv)
{
    struct ant_node_config cfg;
    struct node_cli cli;
    const char *to[NODE_CLI_MULTI_MAX];
    size_t nto = 0;
    const char *manifest_out = NULL, *chunk_text = NULL, *replica_text = NULL, *devnet = NULL;
    const struct node_cli_opt own[] = {
        {"--to", NULL, NULL, to, &nto},
        {"--manifest-out", &manifest_out, NULL, NULL, NULL},
        {"--chunk-size", &chunk_text, NULL, NULL, NULL},
        {"--replicas", &replica_text, NULL, NULL, NULL},
        {"--devnet-manifest", &devnet, NULL, NULL, NULL},
    };
    struct node_peer peers[NODE_CLI_MULTI_MAX];
    size_t order[NODE_CLI_MULTI_MAX];
    unsigned long chunk_size = PUT_CHUNK_MAX, replicas = 3;
    struct ant_digest *whole = NULL;
    json_object *manifest = NULL, *chunks = NULL;
    uint8_t *buf = NULL;
    uint8_t sum[ANT_SHA256_BYTES];
    char hex[ANT_SHA256_HEXBYTES], mpath[4096];
    uint64_t total = 0;
    int fd = -1, rc, connected = 0;
    struct stat st;
    ant_err err;

    rc = node_cli_parse_help("put", PUT_USAGE, argc, argv, 1, own, sizeof own / sizeof own[0], &cli);
    if (rc != 0 || cli.help)
        return rc;
    if (devnet != NULL && node_cli_devnet_addrs("put", devnet, to, &nto, &cli) != 0)
        return 2;
    if (cli.npos != 1 || nto == 0) {
        fprintf(stderr, "%s\n", PUT_USAGE);
        return 2;
    }
    if ((chunk_text != NULL && parse_count(chunk_text, 1, PUT_CHUNK_MAX, &chunk_size) != 0) ||
        (replica_text != NULL && parse_count(replica_text, 1, NODE_CLI_MULTI_MAX, &replicas) != 0)) {
        fprintf(stderr, "ant-node put: --chunk-size is 1..%zu, --replicas 1..%d\n",
                PUT_CHUNK_MAX, NODE_CLI_MULTI_MAX);
        return 2;
    }
    rc = node_cli_config("put", &cli, &cfg);
    if (rc != 0)
        return rc;
    if (replicas > nto)
        replicas = nto;
    if (manifest_out == NULL) {
        snprintf(mpath, sizeof mpath, "%s.manifest.json", cli.pos[0]);
        manifest_out = mpath;
    }

    rc = 1;
    fd = open(cli.pos[0], O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "ant-node put: %s: not a readable regular file\n", cli.pos[0]);
        goto out;
    }
    if (node_cli_connect_all("put", to, nto, (unsigned)cfg.connect_timeout_ms, peers) != 0)
        goto out;
    connected = 1;
    buf = malloc(chunk_size);
    manifest = json_object_new_object();
    chunks = json_object_new_array();
    if (buf == NULL || manifest == NULL || chunks == NULL ||
        ant_digest_new(&whole, ANT_DIGEST_SHA256) != ANT_OK) {
        fprintf(stderr, "ant-node put: out of memory\n");
        goto out;
    }

    for (;;) {
        size_t len = 0;
        json_object *entry;
        while (len < chunk_size) {
            ssize_t r = read(fd, buf + len, chunk_size - len);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                fprintf(stderr, "ant-node put: %s: %s\n", cli.pos[0], strerror(errno));
                goto out;
            }
            if (r == 0)
                break;
            len += (size_t)r;
        }
        if (len == 0 && total > 0)
            break;
        if (ant_sha256(sum, buf, len) != ANT_OK || ant_digest_update(whole, buf, len) != ANT_OK)
            goto out;
        ant_hex_encode(hex, sum, sizeof sum);
        node_cli_order_by_distance(peers, nto, sum, order);
        for (size_t k = 0; k < replicas; k++) {
            struct node_peer *p = &peers[order[k]];
            err = ant_node_client_put(p->client, sum, buf, len, NULL);
            if (err != ANT_OK) {
                fprintf(stderr, "ant-node put: chunk %s to %s: %s\n", hex,
                        ant_node_client_address(p->client), ant_strerror(err));
                goto out;
            }
        }
        entry = json_object_new_object();
        if (entry == NULL)
            goto out;
        json_object_object_add(entry, "addr", json_object_new_string(hex));
        json_object_object_add(entry, "size", json_object_new_int64((int64_t)len));
        json_object_array_add(chunks, entry);
        total += len;
        if (len < chunk_size)
            break;
    }
    if (ant_digest_final(whole, sum, sizeof sum) != ANT_OK)
        goto out;
    ant_hex_encode(hex, sum, sizeof sum);
    json_object_object_add(manifest, "format", json_object_new_string("ant-manifest-1"));
    json_object_object_add(manifest, "size", json_object_new_int64((int64_t)total));
    json_object_object_add(manifest, "sha256", json_object_new_string(hex));
    json_object_object_add(manifest, "chunk_size", json_object_new_int64((int64_t)chunk_size));
    json_object_object_add(manifest, "replicas", json_object_new_int64((int64_t)replicas));
    json_object_object_add(manifest, "chunks", chunks);
    chunks = NULL; /* owned by manifest now */
    {
        const char *text = json_object_to_json_string_ext(manifest, JSON_C_TO_STRING_PLAIN);
        size_t tlen = strlen(text);
        char *withnl = malloc(tlen + 2);
        if (withnl == NULL)
            goto out;
        memcpy(withnl, text, tlen);
        withnl[tlen] = '\n';
        withnl[tlen + 1] = '\0';
        rc = write_file_atomic("put", manifest_out, withnl, tlen + 1, 0644);
        free(withnl);
    }
    if (rc == 0)
        printf("%s %llu bytes in %zu chunks -> %s\n", hex, (unsigned long long)total,
               json_object_array_length(json_object_object_get(manifest, "chunks")),
               manifest_out);
out:
    if (connected)
        node_cli_close_all(peers, nto);
    if (chunks != NULL)
        json_object_put(chunks);
    if (manifest != NULL)
        json_object_put(manifest);
    ant_digest_free(whole);
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}
