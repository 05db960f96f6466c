/*
 * The LMDB chunk store (see ant/node_store.h). One environment with two sub-databases:
 * "chunks" maps a 32-byte SHA-256 address to the chunk bytes, "meta" holds the running
 * totals (chunk count, payload bytes) updated in the same transaction as each insert, so
 * STATUS never has to scan the store and the totals can never drift from the contents.
 *
 * Writes use group commit: LMDB has one writer at a time and every commit is synced, so
 * instead of each PUT paying its own fsync, a PUT that finds no commit in progress becomes
 * the leader and commits every PUT queued so far in one transaction; PUTs arriving
 * meanwhile wait for the next batch. Each PUT still returns only after the commit that
 * holds it is on disk, so the durability promise is unchanged; what changes is that N
 * concurrent PUTs cost one sync instead of N.
 */
#include "ant/node_store.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/log.h"

#define TOTALS_KEY "totals"

/* A PUT waiting for a group commit; lives on the waiting thread's stack. */
struct pending {
    const uint8_t *addr;
    const void *data;
    size_t len;
    ant_err result;
    bool created;
    bool done;
    struct pending *next;
};

/* A batch stops growing at this many bytes, bounding one transaction's dirty pages. */
#define BATCH_MAX_BYTES ((size_t)64 << 20)

struct ant_node_store {
    MDB_env *env;
    MDB_dbi chunks;
    MDB_dbi meta;
    bool verify_reads;

    pthread_mutex_t qlock; /* guards the queue and `leader` */
    pthread_cond_t qdone;
    struct pending *qhead;
    struct pending **qtail;
    bool leader;
};

/* Maps an LMDB or errno result to ant_err and logs faults with LMDB's own text. */
static ant_err map_rc(int rc, const char *what)
{
    switch (rc) {
    case MDB_SUCCESS:
        return ANT_OK;
    case MDB_NOTFOUND:
        return ANT_ERR_NOT_FOUND;
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
        ant_log(ANT_LOG_ERROR, "store",
                "Chunk store is full, raise map-size op=%s error=\"%s\"", what,
                mdb_strerror(rc));
        return ANT_ERR_NO_SPACE;
    case ENOSPC:
        ant_log(ANT_LOG_ERROR, "store", "File system is full op=%s", what);
        return ANT_ERR_NO_SPACE;
    case MDB_INVALID:
    case MDB_CORRUPTED:
    case MDB_VERSION_MISMATCH:
    case MDB_PAGE_NOTFOUND:
        ant_log(ANT_LOG_ERROR, "store", "Chunk store is damaged op=%s error=\"%s\"", what,
                mdb_strerror(rc));
        return ANT_ERR_CORRUPT;
    case MDB_READERS_FULL:
        ant_log(ANT_LOG_ERROR, "store", "Chunk store reader table full op=%s", what);
        return ANT_ERR_BUSY;
    case ENOMEM:
        return ANT_ERR_NOMEM;
    default:
        ant_log(ANT_LOG_ERROR, "store", "Chunk store operation failed op=%s error=\"%s\"",
                what, mdb_strerror(rc));
        return ANT_ERR_IO;
    }
}

ant_err ant_node_store_open(const char *root_path, int root_dirfd,
                            const struct ant_node_store_options *opts,
                            struct ant_node_store **out)
{
    struct ant_node_store *s = NULL;
    MDB_txn *txn = NULL;
    char *path = NULL;
    struct stat st;
    size_t plen;
    ant_err err;
    int rc;

    if (root_path == NULL || opts == NULL || out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (opts->map_size < ((uint64_t)1 << 20) || opts->map_size > SIZE_MAX)
        return ANT_ERR_INVALID_ARG;

    if (mkdirat(root_dirfd, ANT_NODE_STORE_DIR, 0700) != 0 && errno != EEXIST)
        return ANT_ERR_IO;
    if (fstatat(root_dirfd, ANT_NODE_STORE_DIR, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return ANT_ERR_IO;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
        ant_log(ANT_LOG_ERROR, "store",
                "Chunk directory is unsafe (symlink, not a directory, foreign owner or "
                "writable by others) dir=%s/%s",
                root_path, ANT_NODE_STORE_DIR);
        return ANT_ERR_UNSAFE_FILE;
    }

    plen = strlen(root_path);
    if (plen > 4000)
        return ANT_ERR_INVALID_ARG;
    path = malloc(plen + sizeof("/" ANT_NODE_STORE_DIR));
    s = calloc(1, sizeof *s);
    if (path == NULL || s == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    snprintf(path, plen + sizeof("/" ANT_NODE_STORE_DIR), "%s/%s", root_path,
             ANT_NODE_STORE_DIR);
    s->verify_reads = opts->verify_reads;
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qdone, NULL);
    s->qtail = &s->qhead;

    rc = mdb_env_create(&s->env);
    if (rc != MDB_SUCCESS) {
        err = map_rc(rc, "env_create");
        goto out;
    }
    rc = mdb_env_set_mapsize(s->env, (size_t)opts->map_size);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxdbs(s->env, 2);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_set_maxreaders(s->env, 256);
    if (rc != MDB_SUCCESS) {
        err = map_rc(rc, "env_set");
        goto out;
    }
    /* MDB_NOTLS: read transactions are short and may run on any worker thread; without
     * it LMDB ties a reader slot to each thread.
     * Durability: MDB_NOMETASYNC makes a commit fsync its data pages but not the meta page
     * that publishes them; ant_node_store_put then calls mdb_env_sync() before it
     * acknowledges, so every acknowledged chunk is fully synced, exactly as with LMDB's
     * default. The difference is where the second sync happens: outside the writer lock,
     * so the next batch writes and syncs its data while this one's meta page is flushed.
     * A crash between the two syncs loses only unacknowledged chunks (LMDB rolls back to
     * the previous meta page, which stays consistent). */
    rc = mdb_env_open(s->env, path, MDB_NOTLS | MDB_NOMETASYNC, 0600);
    if (rc != MDB_SUCCESS) {
        err = map_rc(rc, "env_open");
        goto out;
    }
    /* A reader slot left by a killed process would pin old pages forever. */
    {
        int dead = 0;
        (void)mdb_reader_check(s->env, &dead);
    }
    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn, ANT_NODE_STORE_DB_CHUNKS, MDB_CREATE, &s->chunks);
    if (rc == MDB_SUCCESS)
        rc = mdb_dbi_open(txn, ANT_NODE_STORE_DB_META, MDB_CREATE, &s->meta);
    if (rc == MDB_SUCCESS) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc != MDB_SUCCESS) {
        err = map_rc(rc, "dbi_open");
        goto out;
    }
    *out = s;
    s = NULL;
    err = ANT_OK;
out:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (s != NULL) {
        if (s->env != NULL)
            mdb_env_close(s->env);
        if (s->qtail != NULL) {
            pthread_cond_destroy(&s->qdone);
            pthread_mutex_destroy(&s->qlock);
        }
        free(s);
    }
    free(path);
    return err;
}

void ant_node_store_close(struct ant_node_store *s)
{
    if (s == NULL)
        return;
    mdb_env_close(s->env);
    pthread_cond_destroy(&s->qdone);
    pthread_mutex_destroy(&s->qlock);
    free(s);
}

static void load_u64(const uint8_t *p, uint64_t *v)
{
    uint64_t r = 0;
    for (int i = 0; i < 8; i++)
        r = (r << 8) | p[i];
    *v = r;
}

static void store_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static int read_totals(MDB_txn *txn, MDB_dbi meta, uint64_t *chunks, uint64_t *bytes)
{
    MDB_val key = {sizeof TOTALS_KEY - 1, (void *)TOTALS_KEY};
    MDB_val val;
    int rc = mdb_get(txn, meta, &key, &val);
    if (rc == MDB_NOTFOUND) {
        *chunks = 0;
        *bytes = 0;
        return MDB_SUCCESS;
    }
    if (rc != MDB_SUCCESS)
        return rc;
    if (val.mv_size != 16)
        return MDB_CORRUPTED;
    load_u64(val.mv_data, chunks);
    load_u64((const uint8_t *)val.mv_data + 8, bytes);
    return MDB_SUCCESS;
}

/*
 * Writes the batch `head` in one transaction. On any LMDB error the transaction is
 * aborted and, if the batch had more than one entry, each entry is retried on its own, so
 * one chunk that does not fit (MDB_MAP_FULL) fails alone and the others still land.
 */
static void commit_batch(struct ant_node_store *s, struct pending *head, bool single)
{
    uint64_t nchunks, nbytes, add_chunks = 0, add_bytes = 0;
    uint8_t totals[16];
    MDB_txn *txn = NULL;
    MDB_val key, val;
    int rc;

    rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != MDB_SUCCESS)
        goto fail;
    for (struct pending *p = head; p != NULL; p = single ? NULL : p->next) {
        key.mv_size = ANT_NODE_ADDR_BYTES;
        key.mv_data = (void *)p->addr;
        val.mv_size = p->len;
        val.mv_data = (void *)p->data;
        rc = mdb_put(txn, s->chunks, &key, &val, MDB_NOOVERWRITE);
        if (rc == MDB_KEYEXIST) {
            /* Content addressing: the existing entry holds these bytes (reads re-verify
             * if configured), so re-storing is a successful no-op. This also covers the
             * same chunk twice in one batch. */
            p->created = false;
            continue;
        }
        if (rc != MDB_SUCCESS)
            goto fail;
        p->created = true;
        add_chunks++;
        add_bytes += p->len;
    }
    if (add_chunks > 0) {
        rc = read_totals(txn, s->meta, &nchunks, &nbytes);
        if (rc != MDB_SUCCESS)
            goto fail;
        store_u64(totals, nchunks + add_chunks);
        store_u64(totals + 8, nbytes + add_bytes);
        key.mv_size = sizeof TOTALS_KEY - 1;
        key.mv_data = (void *)TOTALS_KEY;
        val.mv_size = sizeof totals;
        val.mv_data = totals;
        rc = mdb_put(txn, s->meta, &key, &val, 0);
        if (rc != MDB_SUCCESS)
            goto fail;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != MDB_SUCCESS)
        goto fail;
    for (struct pending *p = head; p != NULL; p = single ? NULL : p->next)
        p->result = ANT_OK;
    return;
fail:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (!single && head->next != NULL) {
        for (struct pending *p = head; p != NULL; p = p->next)
            commit_batch(s, p, true);
        return;
    }
    head->created = false;
    head->result = map_rc(rc, "put");
}

ant_err ant_node_store_put(struct ant_node_store *s, const uint8_t addr[ANT_NODE_ADDR_BYTES],
                           const void *data, size_t len, bool *created)
{
    uint8_t sum[ANT_SHA256_BYTES];
    struct pending me;
    ant_err err;

    if (created != NULL)
        *created = false;
    if (s == NULL || addr == NULL || (data == NULL && len > 0))
        return ANT_ERR_INVALID_ARG;
    if (len > ANT_NODE_CHUNK_MAX)
        return ANT_ERR_TOO_LARGE;
    /* The address check runs before anything is queued, so a hostile PUT costs one hash
     * and never delays honest ones. */
    err = ant_sha256(sum, data, len);
    if (err != ANT_OK)
        return err;
    if (memcmp(sum, addr, sizeof sum) != 0)
        return ANT_ERR_MISMATCH;

    memset(&me, 0, sizeof me);
    me.addr = addr;
    me.data = data;
    me.len = len;
    me.result = ANT_ERR_INTERNAL;
    pthread_mutex_lock(&s->qlock);
    *s->qtail = &me;
    s->qtail = &me.next;
    while (!me.done) {
        struct pending *batch, *p, **cut;
        size_t bytes = 0;
        int rc;
        if (s->leader || s->qhead == NULL) {
            pthread_cond_wait(&s->qdone, &s->qlock);
            continue;
        }
        /* Lead: take the queue (up to BATCH_MAX_BYTES; at least one entry). The queue
         * may no longer hold our own entry (an earlier leader took it and is syncing);
         * leading the next batch meanwhile is still useful work. */
        s->leader = true;
        batch = s->qhead;
        cut = &s->qhead;
        while (*cut != NULL && (bytes == 0 || bytes + (*cut)->len <= BATCH_MAX_BYTES)) {
            bytes += (*cut)->len + 1;
            cut = &(*cut)->next;
        }
        s->qhead = *cut;
        *cut = NULL;
        if (s->qhead == NULL)
            s->qtail = &s->qhead;
        pthread_mutex_unlock(&s->qlock);

        commit_batch(s, batch, false);

        /* Hand the writer role on before the meta-page sync (see mdb_env_open). */
        pthread_mutex_lock(&s->qlock);
        s->leader = false;
        pthread_cond_broadcast(&s->qdone);
        pthread_mutex_unlock(&s->qlock);
        rc = mdb_env_sync(s->env, 1);
        pthread_mutex_lock(&s->qlock);
        for (p = batch; p != NULL;) {
            struct pending *next = p->next;
            if (rc != MDB_SUCCESS && p->result == ANT_OK)
                p->result = map_rc(rc, "sync");
            p->done = true; /* after this, p's owner may return and its frame vanish */
            p = next;
        }
        pthread_cond_broadcast(&s->qdone);
    }
    pthread_mutex_unlock(&s->qlock);
    if (me.result == ANT_OK && created != NULL)
        *created = me.created;
    return me.result;
}

ant_err ant_node_store_get(struct ant_node_store *s, const uint8_t addr[ANT_NODE_ADDR_BYTES],
                           ant_node_store_sink sink, void *ctx)
{
    uint8_t sum[ANT_SHA256_BYTES];
    MDB_txn *txn = NULL;
    MDB_val key, val;
    ant_err err;
    int rc;

    if (s == NULL || addr == NULL || sink == NULL)
        return ANT_ERR_INVALID_ARG;
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "get_begin");
    key.mv_size = ANT_NODE_ADDR_BYTES;
    key.mv_data = (void *)addr;
    rc = mdb_get(txn, s->chunks, &key, &val);
    if (rc != MDB_SUCCESS) {
        err = rc == MDB_NOTFOUND ? ANT_ERR_NOT_FOUND : map_rc(rc, "get");
        goto out;
    }
    if (val.mv_size > ANT_NODE_CHUNK_MAX) {
        err = ANT_ERR_CORRUPT;
        goto out;
    }
    if (s->verify_reads) {
        err = ant_sha256(sum, val.mv_data, val.mv_size);
        if (err != ANT_OK)
            goto out;
        if (memcmp(sum, addr, sizeof sum) != 0) {
            char hex[ANT_SHA256_HEXBYTES];
            ant_hex_encode(hex, addr, ANT_NODE_ADDR_BYTES);
            ant_log(ANT_LOG_ERROR, "store", "Stored chunk does not match its address addr=%s",
                    hex);
            err = ANT_ERR_CORRUPT;
            goto out;
        }
    }
    err = sink(ctx, val.mv_data, val.mv_size);
out:
    mdb_txn_abort(txn);
    return err;
}

struct copy_ctx {
    uint8_t *data;
    size_t len;
};

static ant_err copy_sink(void *ctx, const uint8_t *data, size_t len)
{
    struct copy_ctx *c = ctx;
    c->data = malloc(len > 0 ? len : 1);
    if (c->data == NULL)
        return ANT_ERR_NOMEM;
    if (len > 0)
        memcpy(c->data, data, len);
    c->len = len;
    return ANT_OK;
}

ant_err ant_node_store_get_copy(struct ant_node_store *s,
                                const uint8_t addr[ANT_NODE_ADDR_BYTES], uint8_t **data,
                                size_t *len)
{
    struct copy_ctx c = {NULL, 0};
    ant_err err;

    if (data == NULL || len == NULL)
        return ANT_ERR_INVALID_ARG;
    *data = NULL;
    *len = 0;
    err = ant_node_store_get(s, addr, copy_sink, &c);
    if (err != ANT_OK) {
        free(c.data);
        return err;
    }
    *data = c.data;
    *len = c.len;
    return ANT_OK;
}

ant_err ant_node_store_has(struct ant_node_store *s, const uint8_t addr[ANT_NODE_ADDR_BYTES],
                           bool *present)
{
    MDB_txn *txn = NULL;
    MDB_val key, val;
    int rc;

    if (s == NULL || addr == NULL || present == NULL)
        return ANT_ERR_INVALID_ARG;
    *present = false;
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "has_begin");
    key.mv_size = ANT_NODE_ADDR_BYTES;
    key.mv_data = (void *)addr;
    rc = mdb_get(txn, s->chunks, &key, &val);
    mdb_txn_abort(txn);
    if (rc == MDB_NOTFOUND)
        return ANT_OK;
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "has");
    *present = true;
    return ANT_OK;
}

ant_err ant_node_store_stats(struct ant_node_store *s, uint64_t *chunks, uint64_t *bytes)
{
    MDB_txn *txn = NULL;
    int rc;

    if (s == NULL || chunks == NULL || bytes == NULL)
        return ANT_ERR_INVALID_ARG;
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "stats_begin");
    rc = read_totals(txn, s->meta, chunks, bytes);
    mdb_txn_abort(txn);
    return map_rc(rc, "stats");
}

ant_err ant_node_store_map_usage(struct ant_node_store *s, uint64_t *used, uint64_t *size)
{
    MDB_envinfo info;
    MDB_stat st;
    int rc;

    if (s == NULL || used == NULL || size == NULL)
        return ANT_ERR_INVALID_ARG;
    rc = mdb_env_info(s->env, &info);
    if (rc == MDB_SUCCESS)
        rc = mdb_env_stat(s->env, &st);
    if (rc != MDB_SUCCESS)
        return map_rc(rc, "map_usage");
    /* me_last_pgno is the highest page ever used: what the map holds, free pages included. */
    *used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    *size = (uint64_t)info.me_mapsize;
    return ANT_OK;
}
