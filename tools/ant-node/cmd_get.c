/*
 * `ant-node get MANIFEST --from ADDR... -o FILE`: fetches every chunk listed in a manifest
 * written by `ant-node put`, trying nodes in XOR-distance order (where put placed them),
 * checks each chunk against its address and size, and the whole file against the
 * manifest's size and SHA-256 before it is renamed into place. A failed get leaves no
 * output file.
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

#define GET_USAGE                                                                          \
    "usage: ant-node get MANIFEST --from HOST:PORT[,HOST:PORT...] [--from ...]\n"          \
    "                [--devnet-manifest F] -o FILE"

#define MANIFEST_MAX ((size_t)64 << 20)

static bool get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *v)
{
    json_object *x;
    if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_int))
        return false;
    *v = json_object_get_int64(x);
    return *v >= min && *v <= max;
}

static bool get_hex32(json_object *o, const char *key, uint8_t out[32])
{
    json_object *x;
    if (!json_object_object_get_ex(o, key, &x) || !json_object_is_type(x, json_type_string))
        return false;
    return ant_hex_decode(out, 32, json_object_get_string(x)) == ANT_OK;
}

int cmd_get(int argc, char **argv)
{
    struct ant_node_config cfg;
    struct node_cli cli;
    const char *from[NODE_CLI_MULTI_MAX];
    size_t nfrom = 0, npeers = 0;
    const char *outpath = NULL, *devnet = NULL;
    const struct node_cli_opt own[] = {
        {"--from", NULL, NULL, from, &nfrom},
        {"-o", &outpath, NULL, NULL, NULL},
        {"--output", &outpath, NULL, NULL, NULL},
        {"--devnet-manifest", &devnet, NULL, NULL, NULL},
    };
    struct node_peer peers[NODE_CLI_MULTI_MAX];
    size_t order[NODE_CLI_MULTI_MAX];
    json_object *manifest = NULL, *chunks, *fmt;
    struct ant_fsx_tmp *tmp = NULL;
    struct ant_digest *whole = NULL;
    uint8_t want_sum[32], sum[32];
    int64_t size, sum_sizes = 0;
    char *d = NULL, *b = NULL;
    int dirfd = -1, rc, connected = 0;
    size_t n;
    ant_err err;

    rc = node_cli_parse_help("get", GET_USAGE, argc, argv, 1, own, sizeof own / sizeof own[0], &cli);
    if (rc != 0 || cli.help)
        return rc;
    if (devnet != NULL && node_cli_devnet_addrs("get", devnet, from, &nfrom, &cli) != 0)
        return 2;
    if (cli.npos != 1 || nfrom == 0 || outpath == NULL) {
        fprintf(stderr, "%s\n", GET_USAGE);
        return 2;
    }
    rc = node_cli_config("get", &cli, &cfg);
    if (rc != 0)
        return rc;
    rc = 1;
    if (node_cli_read_json("get", cli.pos[0], MANIFEST_MAX, &manifest) != 0)
        goto out;
    if (!json_object_object_get_ex(manifest, "format", &fmt) ||
        !json_object_is_type(fmt, json_type_string) ||
        strcmp(json_object_get_string(fmt), "ant-manifest-1") != 0 ||
        !get_int(manifest, "size", 0, INT64_MAX, &size) ||
        !get_hex32(manifest, "sha256", want_sum) ||
        !json_object_object_get_ex(manifest, "chunks", &chunks) ||
        !json_object_is_type(chunks, json_type_array)) {
        fprintf(stderr, "ant-node get: %s: not an ant-node manifest\n", cli.pos[0]);
        goto out;
    }
    n = json_object_array_length(chunks);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(chunks, i);
        uint8_t addr[32];
        int64_t csize;
        if (!json_object_is_type(e, json_type_object) || !get_hex32(e, "addr", addr) ||
            !get_int(e, "size", 0, (int64_t)ANT_NODE_CHUNK_MAX, &csize)) {
            fprintf(stderr, "ant-node get: %s: chunk %zu is malformed\n", cli.pos[0], i);
            goto out;
        }
        sum_sizes += csize;
    }
    if (sum_sizes != size) {
        fprintf(stderr, "ant-node get: %s: chunk sizes do not add up to the file size\n",
                cli.pos[0]);
        goto out;
    }

    /* Nodes that are down are skipped: the chunks have replicas elsewhere. */
    if (node_cli_connect_some("get", from, nfrom, (unsigned)cfg.connect_timeout_ms, peers,
                              &npeers) != 0)
        goto out;
    connected = 1;
    d = strdup(outpath);
    b = strdup(outpath);
    if (d == NULL || b == NULL || ant_digest_new(&whole, ANT_DIGEST_SHA256) != ANT_OK)
        goto out;
    dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fprintf(stderr, "ant-node get: %s: %s\n", outpath, strerror(errno));
        goto out;
    }
    err = ant_fsx_tmp_open(dirfd, basename(b), 0644, &tmp);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node get: %s: %s\n", outpath, ant_strerror(err));
        goto out;
    }

    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(chunks, i);
        uint8_t addr[32], *data = NULL;
        size_t len = 0;
        int64_t csize = 0;
        char hex[ANT_SHA256_HEXBYTES];
        bool ok = false;

        (void)get_hex32(e, "addr", addr);
        (void)get_int(e, "size", 0, (int64_t)ANT_NODE_CHUNK_MAX, &csize);
        ant_hex_encode(hex, addr, sizeof addr);
        node_cli_order_by_distance(peers, npeers, addr, order);
        for (size_t k = 0; k < npeers && !ok; k++) {
            struct node_peer *p = &peers[order[k]];
            err = ant_node_client_get(p->client, addr, &data, &len);
            if (err == ANT_OK && len == (size_t)csize) {
                ok = true;
                break;
            }
            if (err == ANT_OK)
                err = ANT_ERR_MISMATCH;
            free(data);
            data = NULL;
            fprintf(stderr, "ant-node get: chunk %s from %s: %s\n", hex,
                    ant_node_client_address(p->client), ant_strerror(err));
        }
        if (!ok) {
            fprintf(stderr, "ant-node get: chunk %s is on none of the given nodes\n", hex);
            goto out;
        }
        if (ant_digest_update(whole, data, len) != ANT_OK ||
            ant_fsx_write_all(ant_fsx_tmp_fd(tmp), data, len) != ANT_OK) {
            free(data);
            fprintf(stderr, "ant-node get: cannot write %s\n", outpath);
            goto out;
        }
        free(data);
    }
    if (ant_digest_final(whole, sum, sizeof sum) != ANT_OK)
        goto out;
    if (memcmp(sum, want_sum, sizeof sum) != 0) {
        fprintf(stderr, "ant-node get: reassembled file does not match the manifest SHA-256\n");
        goto out;
    }
    err = ant_fsx_tmp_commit(tmp, basename(b));
    tmp = NULL;
    if (err != ANT_OK) {
        fprintf(stderr, "ant-node get: %s: %s\n", outpath, ant_strerror(err));
        goto out;
    }
    printf("%s %lld bytes -> %s\n", json_object_get_string(json_object_object_get(manifest, "sha256")),
           (long long)size, outpath);
    rc = 0;
out:
    if (tmp != NULL)
        ant_fsx_tmp_abort(tmp);
    if (connected)
        node_cli_close_all(peers, npeers);
    if (manifest != NULL)
        json_object_put(manifest);
    ant_digest_free(whole);
    if (dirfd >= 0)
        close(dirfd);
    free(d);
    free(b);
    return rc;
}
