/*
 * Trust anchors and streamed release verification (include/ant/trust.h).
 *
 * The release key is compiled in from a generated array (src/upgrade/CMakeLists.txt reads
 * ANT_RELEASE_KEY_FILE at configure time and fails the configure if it is missing or not
 * 1952 bytes). Extra keys come only from a directory that passes the same owner and mode
 * rules as the cache, checked on open fds.
 *
 * The stream runs as a pipeline over a small ring of buffers: this thread reads a chunk and
 * absorbs it into the first key's mu, while helper threads hash the same chunk with SHA-256
 * and write the copy, and absorb it into the other keys' mu. SHAKE256 is the slowest step,
 * so the pass costs about one SHAKE256 over the file (bench/cache-hit measures exactly this).
 */
#include "ant/trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/release_context.h"

/* Generated from ANT_RELEASE_KEY_FILE: `static const uint8_t release_key[1952]`. */
#include "release_key.inc"
#include "upgrade/upgrade_metrics.h"

_Static_assert(sizeof release_key == ANT_MLDSA65_PUBLICKEYBYTES,
               "the compiled-in release key must be a raw ML-DSA-65 public key");

#define RING_SLOTS 4
#define SLOT_BYTES ((size_t)256 << 10)

struct ant_trust_keys {
    size_t count;
    uint8_t pk[ANT_TRUST_MAX_KEYS][ANT_MLDSA65_PUBLICKEYBYTES];
};

const uint8_t *ant_trust_release_key(void)
{
    return release_key;
}

ant_err ant_trust_keys_new_empty(struct ant_trust_keys **out)
{
    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = calloc(1, sizeof **out);
    return *out == NULL ? ANT_ERR_NOMEM : ANT_OK;
}

/* Adds `pk` unless an equal key is already present. */
static ant_err keys_add(struct ant_trust_keys *keys, const uint8_t *pk)
{
    for (size_t i = 0; i < keys->count; i++)
        if (memcmp(keys->pk[i], pk, ANT_MLDSA65_PUBLICKEYBYTES) == 0)
            return ANT_OK;
    if (keys->count >= ANT_TRUST_MAX_KEYS)
        return ANT_ERR_TOO_LARGE;
    memcpy(keys->pk[keys->count++], pk, ANT_MLDSA65_PUBLICKEYBYTES);
    return ANT_OK;
}

ant_err ant_trust_keys_new(struct ant_trust_keys **out)
{
    ant_err err = ant_trust_keys_new_empty(out);
    if (err != ANT_OK)
        return err;
    return keys_add(*out, release_key);
}

size_t ant_trust_keys_count(const struct ant_trust_keys *keys)
{
    return keys == NULL ? 0 : keys->count;
}

void ant_trust_keys_free(struct ant_trust_keys *keys)
{
    free(keys);
}

__attribute__((format(printf, 4, 5))) static ant_err refuse(ant_err err, char *why,
                                                            size_t whycap, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ant_log(ANT_LOG_ERROR, "upgrade", "Trusted keys refused: %s", line);
    if (why != NULL && whycap > 0)
        snprintf(why, whycap, "%s", line);
    return err;
}

/* Owner root or euid, no group/other write: the rule for the dir and every key file. */
static bool owner_mode_ok(const struct stat *st)
{
    return (st->st_uid == 0 || st->st_uid == geteuid()) &&
           (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static bool has_key_suffix(const char *name)
{
    size_t n = strlen(name), s = sizeof ANT_TRUST_KEY_SUFFIX - 1;
    return n > s && strcmp(name + n - s, ANT_TRUST_KEY_SUFFIX) == 0;
}

/* Reads one key file `name` from `dfd` after checking it on the open fd. */
static ant_err read_key_file(int dfd, const char *dir, const char *name,
                             uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES], char *why, size_t whycap)
{
    if (!ant_fsx_name_ok(name))
        return refuse(ANT_ERR_UNSAFE_FILE, why, whycap, "%s/%s: unsafe file name", dir, name);
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return refuse(ANT_ERR_IO, why, whycap, "%s/%s: %s", dir, name, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return refuse(ANT_ERR_UNSAFE_FILE, why, whycap, "%s/%s: is a symlink", dir, name);
    if (!S_ISREG(st.st_mode))
        return refuse(ANT_ERR_UNSAFE_FILE, why, whycap, "%s/%s: not a regular file", dir, name);
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ELOOP)
            return refuse(ANT_ERR_UNSAFE_FILE, why, whycap, "%s/%s: is a symlink", dir, name);
        return refuse(ANT_ERR_IO, why, whycap, "%s/%s: %s", dir, name, strerror(errno));
    }
    ant_err err = ANT_OK;
    if (fstat(fd, &st) != 0) {
        err = refuse(ANT_ERR_IO, why, whycap, "%s/%s: %s", dir, name, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = refuse(ANT_ERR_UNSAFE_FILE, why, whycap, "%s/%s: not a regular file", dir, name);
        goto out;
    }
    if (!owner_mode_ok(&st)) {
        err = refuse(ANT_ERR_UNSAFE_FILE, why, whycap,
                     "%s/%s: must be owned by root or uid %u and not group/world-writable "
                     "(owner %u, mode %04o)",
                     dir, name, (unsigned)geteuid(), (unsigned)st.st_uid,
                     (unsigned)(st.st_mode & 07777));
        goto out;
    }
    if (st.st_size != ANT_MLDSA65_PUBLICKEYBYTES) {
        err = refuse(ANT_ERR_BAD_KEY, why, whycap,
                     "%s/%s: not a raw ML-DSA-65 public key (%lld bytes, want %d)", dir, name,
                     (long long)st.st_size, ANT_MLDSA65_PUBLICKEYBYTES);
        goto out;
    }
    size_t got = 0;
    while (got < ANT_MLDSA65_PUBLICKEYBYTES) {
        ssize_t r = read(fd, pk + got, ANT_MLDSA65_PUBLICKEYBYTES - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            err = refuse(ANT_ERR_IO, why, whycap, "%s/%s: short read", dir, name);
            goto out;
        }
        got += (size_t)r;
    }
out:
    close(fd);
    return err;
}

ant_err ant_trust_keys_add_dir(struct ant_trust_keys *keys, const char *dir_in, char *why,
                               size_t whycap)
{
    if (why != NULL && whycap > 0)
        why[0] = '\0';
    if (keys == NULL || dir_in == NULL || dir_in[0] == '\0' || strlen(dir_in) >= PATH_MAX)
        return ANT_ERR_INVALID_ARG;
    /* Safety: without its trailing slashes, or "link/" would make the kernel follow a
     * symlinked directory despite O_NOFOLLOW ("/" stays "/"). */
    char dir[PATH_MAX];
    size_t dlen = strlen(dir_in);
    while (dlen > 1 && dir_in[dlen - 1] == '/')
        dlen--;
    memcpy(dir, dir_in, dlen);
    dir[dlen] = '\0';
    struct ant_trust_keys *staged = NULL;
    DIR *d = NULL;
    ant_err err = ANT_OK;

    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return refuse(ANT_ERR_NOT_FOUND, why, whycap, "%s: no such directory", dir);
        if (errno == ELOOP || errno == ENOTDIR) {
            /* Linux reports a symlink under O_DIRECTORY|O_NOFOLLOW as ENOTDIR; look again
             * only to word the message (the open already refused it). */
            struct stat lst;
            bool link = errno == ELOOP || (lstat(dir, &lst) == 0 && S_ISLNK(lst.st_mode));
            return refuse(ANT_ERR_UNSAFE_FILE, why, whycap,
                          link ? "%s: is a symlink" : "%s: not a directory", dir);
        }
        return refuse(ANT_ERR_IO, why, whycap, "%s: %s", dir, strerror(errno));
    }
    struct stat st;
    if (fstat(dfd, &st) != 0) {
        err = refuse(ANT_ERR_IO, why, whycap, "%s: %s", dir, strerror(errno));
        goto out;
    }
    if (!owner_mode_ok(&st)) {
        err = refuse(ANT_ERR_UNSAFE_FILE, why, whycap,
                     "%s: must be owned by root or uid %u and not group/world-writable "
                     "(owner %u, mode %04o)",
                     dir, (unsigned)geteuid(), (unsigned)st.st_uid,
                     (unsigned)(st.st_mode & 07777));
        goto out;
    }
    /* All or nothing: collect into a copy, replace the caller's set only at the end. */
    staged = malloc(sizeof *staged);
    if (staged == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    memcpy(staged, keys, sizeof *staged);
    int lfd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
    if (lfd < 0 || (d = fdopendir(lfd)) == NULL) {
        if (lfd >= 0)
            close(lfd);
        err = refuse(ANT_ERR_IO, why, whycap, "%s: cannot list", dir);
        goto out;
    }
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (e == NULL) {
            if (errno != 0)
                err = refuse(ANT_ERR_IO, why, whycap, "%s: cannot list", dir);
            break;
        }
        if (!has_key_suffix(e->d_name))
            continue;
        uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
        err = read_key_file(dfd, dir, e->d_name, pk, why, whycap);
        if (err != ANT_OK)
            goto out;
        err = keys_add(staged, pk);
        if (err != ANT_OK) {
            err = refuse(err, why, whycap, "%s: more than %d trusted keys", dir,
                         ANT_TRUST_MAX_KEYS);
            goto out;
        }
    }
    if (err == ANT_OK)
        memcpy(keys, staged, sizeof *keys);
out:
    if (d != NULL)
        closedir(d);
    free(staged);
    close(dfd);
    return err;
}

/* ---- the one-pass stream --------------------------------------------------------- */

/*
 * The reader (the calling thread) fills ring slots in order and absorbs each chunk into the
 * first key's mu. Helper threads consume the same chunks in the same order, read-only:
 * helper 0 does SHA-256 and the copy (when asked for), the others absorb the remaining keys'
 * mu (mu depends on the key, so every key needs its own SHAKE256 stream). A slot is refilled
 * only after every helper has finished the chunk it held.
 */
#define MAX_HELPERS 4 /* one for SHA-256 + copy, up to three for extra keys' mu */

struct ring {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *slot[RING_SLOTS];
    size_t len[RING_SLOTS];
    uint64_t produced;                 /* chunks filled by the reader */
    uint64_t consumed[MAX_HELPERS];    /* chunks finished by each helper */
    bool done;                         /* the reader filled its last chunk, or gave up */
    ant_err err;                       /* first helper failure */
};

struct helper {
    struct ring *r;
    size_t index;
    struct ant_digest *sha;                 /* helper 0 only; NULL when not wanted */
    int out_fd;                             /* helper 0 only; -1 when not wanted */
    struct ant_mldsa65_verifier *const *v;  /* this helper's verifiers: v[0], v[stride], ... */
    size_t nv, stride;
    pthread_t thread;
};

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    struct ring *r = h->r;
    uint64_t *mine = &r->consumed[h->index];
    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (*mine == r->produced && !r->done)
            pthread_cond_wait(&r->cv, &r->mu);
        if (*mine == r->produced || r->err != ANT_OK)
            break; /* drained after the last chunk, or someone failed */
        size_t i = (size_t)(*mine % RING_SLOTS);
        pthread_mutex_unlock(&r->mu);

        ant_err err = ANT_OK;
        if (h->sha != NULL)
            err = ant_digest_update(h->sha, r->slot[i], r->len[i]);
        if (err == ANT_OK && h->out_fd >= 0)
            err = ant_fsx_write_all(h->out_fd, r->slot[i], r->len[i]);
        for (size_t k = 0; k < h->nv && err == ANT_OK; k++)
            err = ant_mldsa65_verifier_update(h->v[k * h->stride], r->slot[i], r->len[i]);

        pthread_mutex_lock(&r->mu);
        (*mine)++;
        if (err != ANT_OK && r->err == ANT_OK)
            r->err = err;
        pthread_cond_broadcast(&r->cv);
        if (err != ANT_OK)
            break;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static ant_err read_some(int fd, uint8_t *buf, size_t want, size_t *got)
{
    *got = 0;
    while (*got < want) {
        ssize_t n = read(fd, buf + *got, want - *got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ANT_ERR_IO;
        }
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return ANT_OK;
}

/* True once every helper is done with chunk `chunk` (so its slot may be refilled). */
static bool helpers_past(const struct ring *r, size_t nhelpers, uint64_t chunk)
{
    for (size_t w = 0; w < nhelpers; w++)
        if (r->consumed[w] <= chunk)
            return false;
    return true;
}

/* Stops and joins the helpers that were started. */
static void stop_helpers(struct ring *r, struct helper *h, size_t started)
{
    pthread_mutex_lock(&r->mu);
    r->done = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (size_t w = 0; w < started; w++)
        pthread_join(h[w].thread, NULL);
}

/* metrics: every verification's result is counted by the wrapper after this function. */
static ant_err verify_stream(const struct ant_trust_keys *keys, const char *version,
                             const char *platform, int in_fd, uint64_t cap, int out_fd,
                             const uint8_t *sig, size_t siglen,
                             uint8_t sha256[ANT_SHA256_BYTES], uint64_t *size)
{
    if (sha256 != NULL)
        memset(sha256, 0, ANT_SHA256_BYTES);
    if (size != NULL)
        *size = 0;
    if (keys == NULL || in_fd < 0 || (sig == NULL && siglen > 0))
        return ANT_ERR_INVALID_ARG;
    /* Safety: the signature length is checked before a single archive byte is read. */
    if (siglen != ANT_MLDSA65_SIGBYTES)
        return ANT_ERR_BAD_SIGNATURE;
    if (keys->count == 0)
        return ANT_ERR_BAD_KEY;
    char ctx[ANT_RELEASE_CONTEXT_CAP];
    ant_err err = ant_release_context(ctx, sizeof ctx, version, platform);
    if (err != ANT_OK)
        return err;

    struct ant_mldsa65_verifier *v[ANT_TRUST_MAX_KEYS] = {0};
    struct ant_digest *sha = NULL;
    struct ring r;
    struct helper h[MAX_HELPERS];
    memset(&r, 0, sizeof r);
    memset(h, 0, sizeof h);
    bool sync_ok = false, sha_done = false;
    size_t started = 0, nhelpers = 0;
    uint64_t total = 0;

    for (size_t k = 0; k < keys->count; k++) {
        err = ant_mldsa65_verifier_new(&v[k], keys->pk[k], ANT_MLDSA65_PUBLICKEYBYTES,
                                       (const uint8_t *)ctx, strlen(ctx));
        if (err != ANT_OK)
            goto out;
    }
    if (sha256 != NULL) {
        err = ant_digest_new(&sha, ANT_DIGEST_SHA256);
        if (err != ANT_OK)
            goto out;
    }
    for (size_t i = 0; i < RING_SLOTS; i++) {
        r.slot[i] = malloc(SLOT_BYTES);
        if (r.slot[i] == NULL) {
            err = ANT_ERR_NOMEM;
            goto out;
        }
    }
    /* Helper 0 for SHA-256 and the copy; keys 1.. spread over up to three more helpers
     * (key k goes to helper 1 + (k - 1) % nkey_helpers). Key 0 stays with the reader. */
    if (sha != NULL || out_fd >= 0) {
        h[nhelpers].sha = sha;
        h[nhelpers].out_fd = out_fd;
        h[nhelpers].nv = 0;
        nhelpers++;
    }
    size_t extra = keys->count - 1;
    size_t nkey_helpers = extra < MAX_HELPERS - 1 ? extra : MAX_HELPERS - 1;
    for (size_t j = 0; j < nkey_helpers; j++) {
        h[nhelpers].out_fd = -1;
        h[nhelpers].v = &v[1 + j];
        h[nhelpers].stride = nkey_helpers;
        h[nhelpers].nv = (extra - j + nkey_helpers - 1) / nkey_helpers;
        nhelpers++;
    }
    if (pthread_mutex_init(&r.mu, NULL) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    if (pthread_cond_init(&r.cv, NULL) != 0) {
        pthread_mutex_destroy(&r.mu);
        err = ANT_ERR_IO;
        goto out;
    }
    sync_ok = true;
    for (size_t w = 0; w < nhelpers; w++) {
        h[w].r = &r;
        h[w].index = w;
        if (pthread_create(&h[w].thread, NULL, helper_main, &h[w]) != 0) {
            err = ANT_ERR_IO;
            goto out;
        }
        started++;
    }

    for (uint64_t chunk = 0;; chunk++) {
        size_t i = (size_t)(chunk % RING_SLOTS);
        /* Wait until every helper is done with the chunk that used this slot last. */
        pthread_mutex_lock(&r.mu);
        while (chunk >= RING_SLOTS && !helpers_past(&r, nhelpers, chunk - RING_SLOTS) &&
               r.err == ANT_OK)
            pthread_cond_wait(&r.cv, &r.mu);
        ant_err herr = r.err;
        pthread_mutex_unlock(&r.mu);
        if (herr != ANT_OK) {
            err = herr;
            break;
        }
        /* Ask for one byte more than the cap allows, so "exactly cap" still passes. */
        uint64_t room = cap - total;
        size_t want = room >= SLOT_BYTES ? SLOT_BYTES : (size_t)room + 1;
        size_t got = 0;
        err = read_some(in_fd, r.slot[i], want, &got);
        if (err != ANT_OK || got == 0)
            break;
        if ((uint64_t)got > room) {
            err = ANT_ERR_TOO_LARGE;
            break;
        }
        total += got;
        r.len[i] = got;
        pthread_mutex_lock(&r.mu);
        r.produced = chunk + 1;
        pthread_cond_broadcast(&r.cv);
        pthread_mutex_unlock(&r.mu);
        err = ant_mldsa65_verifier_update(v[0], r.slot[i], got);
        if (err != ANT_OK)
            break;
    }
    stop_helpers(&r, h, started);
    started = 0;
    if (err == ANT_OK)
        err = r.err;
    if (err != ANT_OK)
        goto out;
    if (sha != NULL) {
        err = ant_digest_final(sha, sha256, ANT_SHA256_BYTES);
        if (err != ANT_OK)
            goto out;
        sha_done = true;
    }
    err = ANT_ERR_BAD_SIGNATURE;
    for (size_t k = 0; k < keys->count; k++) {
        ant_err e = ant_mldsa65_verifier_final(v[k], sig, siglen);
        if (e == ANT_OK) {
            err = ANT_OK;
            break;
        }
        if (e != ANT_ERR_BAD_SIGNATURE) {
            err = e; /* a fault, not a rejection: report it rather than "bad signature" */
            break;
        }
    }
out:
    if (started > 0)
        stop_helpers(&r, h, started);
    if (sync_ok) {
        pthread_cond_destroy(&r.cv);
        pthread_mutex_destroy(&r.mu);
    }
    for (size_t i = 0; i < RING_SLOTS; i++)
        free(r.slot[i]);
    ant_digest_free(sha);
    for (size_t k = 0; k < ANT_TRUST_MAX_KEYS; k++)
        ant_mldsa65_verifier_free(v[k]);
    /* After a full read the checksum and size stay meaningful on a bad signature, so a
     * caller can tell corruption (checksum differs too) from a forgery. */
    bool full_read = err == ANT_OK || (err == ANT_ERR_BAD_SIGNATURE && sha_done);
    if (sha256 != NULL && !full_read)
        memset(sha256, 0, ANT_SHA256_BYTES);
    if (size != NULL && full_read)
        *size = total;
    return err;
}

ant_err ant_trust_verify_stream(const struct ant_trust_keys *keys, const char *version,
                                const char *platform, int in_fd, uint64_t cap, int out_fd,
                                const uint8_t *sig, size_t siglen,
                                uint8_t sha256[ANT_SHA256_BYTES], uint64_t *size)
{
    ant_err err = verify_stream(keys, version, platform, in_fd, cap, out_fd, sig, siglen,
                                sha256, size);
    upgrade_metrics_verify(err); /* metrics */
    return err;
}
