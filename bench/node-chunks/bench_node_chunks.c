/*
 * Chunk throughput of one ant-node: PUT then GET of a file's bytes in chunks of 256 KiB to
 * 1 MiB (sizes drawn from a fixed seed) from N client threads (default 4), with the
 * node's peak RssAnon / RssFile / RssShmem sampled from /proc/<pid>/status every 10 ms.
 * Driven by bench/node-chunks/run.sh, which also times `openssl dgst -sha256` on the same
 * bytes (the ceiling: every PUT and every verified GET hashes each chunk once on the node).
 *
 * Chunk addresses are computed before the clock starts (a real uploader hashes while it
 * reads its file; here the client and the node share the same two cores, so the client's
 * own hashing is kept out of the node's figure). GET results are compared byte for byte
 * with the source, so a wrong answer fails the run.
 *
 *   bench_node_chunks --addr 127.0.0.1:PORT --pid PID --file DATA [--threads 4]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/node_client.h"
#include "node_proc.h"

#define MIN_CHUNK ((size_t)256 * 1024)
#define MAX_CHUNK ((size_t)1 << 20)

struct chunk {
    size_t off, len;
    uint8_t addr[32];
};

struct bench {
    const char *addr;
    const uint8_t *data;
    struct chunk *chunks;
    size_t nchunks;
    atomic_size_t next;
    atomic_int failed;
    int phase; /* 0 = PUT, 1 = GET */
};

static void *worker(void *arg)
{
    struct bench *b = arg;
    struct ant_node_client *c = NULL;
    uint8_t *buf = NULL;
    ant_err err = ant_node_client_connect(b->addr, 30000, &c);
    if (err == ANT_OK && b->phase == 1 && (buf = malloc(MAX_CHUNK)) == NULL)
        err = ANT_ERR_NOMEM;
    while (err == ANT_OK) {
        size_t i = atomic_fetch_add(&b->next, 1);
        const struct chunk *ch;
        if (i >= b->nchunks)
            break;
        ch = &b->chunks[i];
        if (b->phase == 0) {
            err = ant_node_client_put(c, ch->addr, b->data + ch->off, ch->len, NULL);
        } else {
            size_t len = 0;
            err = ant_node_client_get_into(c, ch->addr, buf, MAX_CHUNK, &len, false);
            if (err == ANT_OK && (len != ch->len || memcmp(buf, b->data + ch->off, len) != 0))
                err = ANT_ERR_MISMATCH;
        }
    }
    if (err != ANT_OK) {
        fprintf(stderr, "bench_node_chunks: %s failed: %s\n", b->phase ? "GET" : "PUT",
                ant_strerror(err));
        atomic_store(&b->failed, 1);
    }
    free(buf);
    ant_node_client_close(c);
    return NULL;
}

static double run_phase(struct bench *b, int phase, int threads)
{
    pthread_t t[64];
    double t0;
    b->phase = phase;
    atomic_store(&b->next, 0);
    t0 = bench_now_s();
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, b) != 0)
            return -1;
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return bench_now_s() - t0;
}

int main(int argc, char **argv)
{
    const char *addr = NULL, *file = NULL;
    long pid = 0;
    int threads = 4, fd;
    struct stat st;
    struct bench b;
    struct bench_rss r;
    pthread_t rt;
    uint64_t x = 0x243f6a8885a308d3ull;
    double tput, tget, mib, c0, c1, c2;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--addr") == 0)
            addr = argv[i + 1];
        else if (strcmp(argv[i], "--file") == 0)
            file = argv[i + 1];
        else if (strcmp(argv[i], "--pid") == 0)
            pid = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = (int)strtol(argv[i + 1], NULL, 10);
    }
    if (addr == NULL || file == NULL || pid <= 0 || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: bench_node_chunks --addr HOST:PORT --pid PID --file DATA "
                        "[--threads N]\n");
        return 2;
    }
    fd = open(file, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        fprintf(stderr, "bench_node_chunks: %s: %s\n", file, strerror(errno));
        return 1;
    }
    memset(&b, 0, sizeof b);
    b.addr = addr;
    b.data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (b.data == MAP_FAILED)
        return 1;
    b.chunks = calloc((size_t)st.st_size / MIN_CHUNK + 1, sizeof *b.chunks);
    for (size_t off = 0; off < (size_t)st.st_size;) {
        struct chunk *ch = &b.chunks[b.nchunks++];
        size_t len;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        len = MIN_CHUNK + (size_t)(x % (MAX_CHUNK - MIN_CHUNK + 1));
        if (len > (size_t)st.st_size - off)
            len = (size_t)st.st_size - off;
        ch->off = off;
        ch->len = len;
        if (ant_sha256(ch->addr, b.data + off, len) != ANT_OK)
            return 1;
        off += len;
    }
    mib = (double)st.st_size / (1024.0 * 1024.0);

    memset(&r, 0, sizeof r);
    r.pid = (pid_t)pid;
    bench_rss_sample(&r);
    printf("node before: RssAnon %" PRIu64 " KiB, RssFile %" PRIu64 " KiB\n", r.anon_kib,
           r.file_kib);
    r.anon_kib = r.file_kib = r.shmem_kib = 0;
    pthread_create(&rt, NULL, bench_rss_main, &r);
    c0 = bench_node_cpu_s(r.pid);
    tput = run_phase(&b, 0, threads);
    c1 = bench_node_cpu_s(r.pid);
    tget = atomic_load(&b.failed) ? -1 : run_phase(&b, 1, threads);
    c2 = bench_node_cpu_s(r.pid);
    atomic_store(&r.stop, true);
    pthread_join(rt, NULL);
    if (atomic_load(&b.failed) || tput <= 0 || tget <= 0)
        return 1;
    printf("chunks: %zu (256 KiB..1 MiB, mean %.0f KiB), %d client threads, %.0f MiB\n",
           b.nchunks, mib * 1024.0 / (double)b.nchunks, threads, mib);
    printf("PUT: %.3f s = %.1f MiB/s; node CPU %.2f s\n", tput, mib / tput, c1 - c0);
    printf("GET: %.3f s = %.1f MiB/s (every byte compared with the source); node CPU %.2f s\n",
           tget, mib / tget, c2 - c1);
    printf("node peak: RssAnon %.1f MiB, RssFile %.1f MiB, RssShmem %.1f MiB\n",
           (double)r.anon_kib / 1024.0, (double)r.file_kib / 1024.0,
           (double)r.shmem_kib / 1024.0);
    printf("RESULT put_mibs=%.1f get_mibs=%.1f rss_anon_kib=%" PRIu64 " rss_file_kib=%" PRIu64
           " put_cpu_s=%.2f get_cpu_s=%.2f\n",
           mib / tput, mib / tget, r.anon_kib, r.file_kib, c1 - c0, c2 - c1);
    munmap((void *)b.data, (size_t)st.st_size);
    free(b.chunks);
    close(fd);
    return 0;
}
