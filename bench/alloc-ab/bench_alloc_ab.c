/*
 * Allocator A/B client (issue 7 §4): many small frames against one ant-node from N client
 * threads (default 4), to compare builds of the same node that differ only in libc and
 * allocator. Each thread owns a pool of chunks of 64 B .. 16 KiB (sizes and bytes from a
 * seed, addresses hashed before the clock starts) and runs a fixed list of operations: for
 * each pool slot a PUT, then a GET of an earlier chunk (bytes compared with the source) and
 * a HAS; every `--reconnect` requests it closes its connection and opens a new one, so the
 * node also allocates and frees its per-connection state under load. A wrong or failed
 * answer fails the run. The node's peak RssAnon / RssFile are sampled from
 * /proc/<pid>/status every 10 ms. bench/alloc-ab/run.sh drives it against each build.
 *
 *   bench_alloc_ab --addr 127.0.0.1:PORT --pid PID [--threads 4] [--chunks 4096]
 *                  [--rounds 3] [--reconnect 64] [--seed N]
 *
 * Prints one line: RESULT ops=… seconds=… ops_per_s=… rss_anon_kib=… rss_file_kib=…
 * node_cpu_s=…
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ant/digest.h"
#include "ant/node_client.h"
#include "node_proc.h"

#define MIN_LEN 64u
#define MAX_LEN (16u * 1024u)
#define MAX_THREADS 64

struct chunk {
    uint8_t *data;
    size_t len;
    uint8_t addr[ANT_NODE_ADDR_BYTES];
};

struct worker {
    pthread_t tid;
    const char *addr;
    struct chunk *pool;
    size_t nchunks;
    unsigned rounds, reconnect;
    uint64_t seed;
    uint64_t ops;
    ant_err err;
    const char *what;
};

static uint64_t next_rand(uint64_t *x)
{
    /* xorshift64*: a fixed sequence per seed, so every build gets the same requests. */
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545f4914f6cdd1dull;
}

/* Builds a thread's pool before the clock starts. */
static ant_err make_pool(struct worker *w)
{
    uint64_t x = w->seed;
    w->pool = calloc(w->nchunks, sizeof *w->pool);
    if (w->pool == NULL)
        return ANT_ERR_NOMEM;
    for (size_t i = 0; i < w->nchunks; i++) {
        struct chunk *c = &w->pool[i];
        c->len = MIN_LEN + (size_t)(next_rand(&x) % (MAX_LEN - MIN_LEN + 1));
        c->data = malloc(c->len);
        if (c->data == NULL)
            return ANT_ERR_NOMEM;
        for (size_t k = 0; k < c->len; k += 8) {
            uint64_t v = next_rand(&x);
            memcpy(c->data + k, &v, c->len - k < 8 ? c->len - k : 8);
        }
        ant_err e = ant_sha256(c->addr, c->data, c->len);
        if (e != ANT_OK)
            return e;
    }
    return ANT_OK;
}

static void free_pool(struct worker *w)
{
    for (size_t i = 0; w->pool != NULL && i < w->nchunks; i++)
        free(w->pool[i].data);
    free(w->pool);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct ant_node_client *c = NULL;
    uint8_t *buf = malloc(MAX_LEN);
    uint64_t x = w->seed ^ 0x9e3779b97f4a7c15ull;
    unsigned since_connect = 0;
    w->err = buf == NULL ? ANT_ERR_NOMEM : ANT_OK;
    for (unsigned r = 0; r < w->rounds && w->err == ANT_OK; r++) {
        for (size_t i = 0; i < w->nchunks && w->err == ANT_OK; i++) {
            if (c == NULL || since_connect >= w->reconnect) {
                ant_node_client_close(c);
                c = NULL;
                since_connect = 0;
                w->what = "connect";
                w->err = ant_node_client_connect(w->addr, 30000, &c);
                if (w->err != ANT_OK)
                    break;
            }
            const struct chunk *p = &w->pool[i];
            /* An earlier chunk of this thread (all of them after the first round). */
            size_t limit = r > 0 ? w->nchunks : i + 1;
            const struct chunk *g = &w->pool[next_rand(&x) % limit];
            const struct chunk *h = &w->pool[next_rand(&x) % w->nchunks];
            size_t len = 0;
            bool present = false;
            w->what = "PUT";
            w->err = ant_node_client_put(c, p->addr, p->data, p->len, NULL);
            if (w->err == ANT_OK) {
                w->what = "GET";
                w->err = ant_node_client_get_into(c, g->addr, buf, MAX_LEN, &len, false);
            }
            if (w->err == ANT_OK && (len != g->len || memcmp(buf, g->data, len) != 0)) {
                w->what = "GET (wrong bytes)";
                w->err = ANT_ERR_MISMATCH;
            }
            if (w->err == ANT_OK) {
                w->what = "HAS";
                w->err = ant_node_client_has(c, h->addr, &present);
            }
            /* h was stored already when it is at or before i, or in any later round. */
            if (w->err == ANT_OK && (r > 0 || (size_t)(h - w->pool) <= i) && !present) {
                w->what = "HAS (stored chunk missing)";
                w->err = ANT_ERR_MISMATCH;
            }
            if (w->err == ANT_OK)
                w->ops += 3;
            since_connect += 3;
        }
    }
    ant_node_client_close(c);
    free(buf);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_alloc_ab --addr HOST:PORT --pid PID [--threads N] "
                    "[--chunks N] [--rounds N] [--reconnect N] [--seed N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    long pid = 0, threads = 4, chunks = 4096, rounds = 3, reconnect = 64;
    uint64_t seed = 1;
    struct worker w[MAX_THREADS];
    struct bench_rss r;
    pthread_t rt;
    int rc = 1, nthreads = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--addr") == 0)
            addr = v;
        else if (strcmp(k, "--pid") == 0)
            pid = strtol(v, NULL, 10);
        else if (strcmp(k, "--threads") == 0)
            threads = strtol(v, NULL, 10);
        else if (strcmp(k, "--chunks") == 0)
            chunks = strtol(v, NULL, 10);
        else if (strcmp(k, "--rounds") == 0)
            rounds = strtol(v, NULL, 10);
        else if (strcmp(k, "--reconnect") == 0)
            reconnect = strtol(v, NULL, 10);
        else if (strcmp(k, "--seed") == 0)
            seed = (uint64_t)strtoull(v, NULL, 10);
        else
            return usage();
    }
    if (argc % 2 == 0 || addr == NULL || pid <= 0 || threads < 1 || threads > MAX_THREADS ||
        chunks < 1 || chunks > 1000000 || rounds < 1 || rounds > 1000 || reconnect < 1)
        return usage();

    memset(w, 0, sizeof w);
    for (int i = 0; i < threads; i++) {
        w[i].addr = addr;
        w[i].nchunks = (size_t)chunks;
        w[i].rounds = (unsigned)rounds;
        w[i].reconnect = (unsigned)reconnect;
        /* Distinct, non-zero per-thread seeds (xorshift needs a non-zero state). */
        w[i].seed = (seed + 1) * UINT64_C(0x100000001b3) + (uint64_t)i * UINT64_C(0xff51afd7ed558ccd);
        if (w[i].seed == 0)
            w[i].seed = 1;
        if (make_pool(&w[i]) != ANT_OK) {
            fprintf(stderr, "bench_alloc_ab: cannot build the chunk pool\n");
            nthreads = i + 1;
            goto out;
        }
    }
    nthreads = (int)threads;

    memset(&r, 0, sizeof r);
    r.pid = (pid_t)pid;
    atomic_store(&r.stop, false);
    if (pthread_create(&rt, NULL, bench_rss_main, &r) != 0)
        goto out;
    double c0 = bench_node_cpu_s(r.pid), t0 = bench_now_s();
    int started = 0;
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(w[i].tid, NULL);
    double secs = bench_now_s() - t0, c1 = bench_node_cpu_s(r.pid);
    atomic_store(&r.stop, true);
    pthread_join(rt, NULL);

    uint64_t ops = 0;
    rc = started == nthreads ? 0 : 1;
    for (int i = 0; i < started; i++) {
        ops += w[i].ops;
        if (w[i].err != ANT_OK) {
            fprintf(stderr, "bench_alloc_ab: thread %d: %s failed: %s\n", i, w[i].what,
                    ant_strerror(w[i].err));
            rc = 1;
        }
    }
    if (rc == 0)
        printf("RESULT ops=%" PRIu64 " seconds=%.3f ops_per_s=%.1f rss_anon_kib=%" PRIu64
               " rss_file_kib=%" PRIu64 " node_cpu_s=%.2f\n",
               ops, secs, (double)ops / secs, r.anon_kib, r.file_kib, c1 - c0);
out:
    for (int i = 0; i < nthreads; i++)
        free_pool(&w[i]);
    return rc;
}
