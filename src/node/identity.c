/*
 * Node identity (see ant/node_identity.h for the file format). The key file is the one
 * piece of node state that must survive every restart and upgrade unchanged, so it is
 * written exactly once, through a temp file that is linked into place (link(2) fails
 * rather than overwrite), and every later start only reads and checks it.
 */
#include "ant/node_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/log.h"

/* "ANTNID" NUL, then the format version. */
static const uint8_t identity_magic[ANT_NODE_IDENTITY_MAGIC_BYTES] = {'A', 'N', 'T', 'N',
                                                                       'I', 'D', 0,   1};

#define OFF_PK ANT_NODE_IDENTITY_MAGIC_BYTES
#define OFF_SK (OFF_PK + ANT_MLDSA65_PUBLICKEYBYTES)
#define OFF_SUM (OFF_SK + ANT_MLDSA65_SECRETKEYBYTES)

struct ant_node_identity {
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    uint8_t peer_id[ANT_NODE_PEER_ID_BYTES];
    char peer_id_hex[ANT_NODE_PEER_ID_HEXBYTES];
};

void ant_node_identity_free(struct ant_node_identity *id)
{
    if (id == NULL)
        return;
    explicit_bzero(id, sizeof *id);
    free(id);
}

const uint8_t *ant_node_identity_public_key(const struct ant_node_identity *id)
{
    return id->pk;
}

const uint8_t *ant_node_identity_peer_id(const struct ant_node_identity *id)
{
    return id->peer_id;
}

const char *ant_node_identity_peer_id_hex(const struct ant_node_identity *id)
{
    return id->peer_id_hex;
}

ant_err ant_node_identity_sign(const struct ant_node_identity *id,
                               uint8_t sig[ANT_MLDSA65_SIGBYTES], const uint8_t *msg,
                               size_t msglen, const uint8_t *ctx, size_t ctxlen)
{
    if (id == NULL || sig == NULL || (msg == NULL && msglen > 0))
        return ANT_ERR_INVALID_ARG;
    return ant_mldsa65_sign(sig, msg, msglen, ctx, ctxlen, id->sk);
}

static ant_err finish_identity(struct ant_node_identity *id)
{
    ant_err err = ant_sha256(id->peer_id, id->pk, sizeof id->pk);
    if (err != ANT_OK)
        return err;
    ant_hex_encode(id->peer_id_hex, id->peer_id, sizeof id->peer_id);
    return ANT_OK;
}

/* Decodes and checks a file image. Safety: the checksum only detects accidents; the
 * pk-from-sk comparison is what guarantees the pair belongs together. */
static ant_err decode_image(const uint8_t *img, struct ant_node_identity *id)
{
    uint8_t sum[ANT_SHA256_BYTES];
    uint8_t pk_check[ANT_MLDSA65_PUBLICKEYBYTES];
    ant_err err;

    if (memcmp(img, identity_magic, sizeof identity_magic) != 0)
        return ANT_ERR_CORRUPT;
    err = ant_sha256(sum, img, OFF_SUM);
    if (err != ANT_OK)
        return err;
    if (ant_ct_memcmp(sum, img + OFF_SUM, sizeof sum) != 0)
        return ANT_ERR_CORRUPT;
    memcpy(id->pk, img + OFF_PK, sizeof id->pk);
    memcpy(id->sk, img + OFF_SK, sizeof id->sk);
    err = ant_mldsa65_pk_from_sk(pk_check, id->sk, sizeof id->sk);
    if (err != ANT_OK)
        return err == ANT_ERR_BAD_KEY ? ANT_ERR_CORRUPT : err;
    if (memcmp(pk_check, id->pk, sizeof pk_check) != 0)
        return ANT_ERR_CORRUPT;
    return finish_identity(id);
}

static ant_err read_full(int fd, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return ANT_ERR_IO;
        }
        if (n == 0)
            return ANT_ERR_TRUNCATED;
        done += (size_t)n;
    }
    return ANT_OK;
}

static ant_err write_full(int fd, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == ENOSPC ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
        }
        done += (size_t)n;
    }
    return ANT_OK;
}

ant_err ant_node_identity_load(int root_dirfd, struct ant_node_identity **out)
{
    struct ant_node_identity *id = NULL;
    uint8_t *img = NULL;
    struct stat st;
    ant_err err;
    int fd = -1;

    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    fd = openat(root_dirfd, ANT_NODE_IDENTITY_FILE,
                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return ANT_ERR_NOT_FOUND;
        if (errno == ELOOP) {
            ant_log(ANT_LOG_ERROR, "node", "Identity file is a symlink, refusing it file=%s",
                    ANT_NODE_IDENTITY_FILE);
            return ANT_ERR_UNSAFE_FILE;
        }
        return ANT_ERR_IO;
    }
    if (fstat(fd, &st) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    /* Safety: the file holds the secret key, so anything another user could have read
     * (or replaced) is refused rather than silently tightened. */
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        ant_log(ANT_LOG_ERROR, "node",
                "Identity file is unsafe, refusing it file=%s mode=%04o uid=%u regular=%d",
                ANT_NODE_IDENTITY_FILE, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                S_ISREG(st.st_mode) ? 1 : 0);
        err = ANT_ERR_UNSAFE_FILE;
        goto out;
    }
    if (st.st_size != (off_t)ANT_NODE_IDENTITY_FILE_BYTES) {
        err = st.st_size < (off_t)ANT_NODE_IDENTITY_FILE_BYTES ? ANT_ERR_TRUNCATED
                                                               : ANT_ERR_CORRUPT;
        goto out;
    }
    img = malloc(ANT_NODE_IDENTITY_FILE_BYTES);
    id = calloc(1, sizeof *id);
    if (img == NULL || id == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    err = read_full(fd, img, ANT_NODE_IDENTITY_FILE_BYTES);
    if (err != ANT_OK)
        goto out;
    err = decode_image(img, id);
    if (err != ANT_OK)
        goto out;
    *out = id;
    id = NULL;
out:
    if (img != NULL) {
        explicit_bzero(img, ANT_NODE_IDENTITY_FILE_BYTES);
        free(img);
    }
    ant_node_identity_free(id);
    if (fd >= 0)
        close(fd);
    if (err == ANT_ERR_CORRUPT || err == ANT_ERR_TRUNCATED)
        ant_log(ANT_LOG_ERROR, "node", "Identity file is damaged, refusing it file=%s error=%s",
                ANT_NODE_IDENTITY_FILE, ant_strerror(err));
    return err;
}

/* Writes a new key file under a random temp name, then link(2)s it to the final name.
 * link never replaces an existing file, so two processes racing on one root end up with
 * the same identity: the loser gets EEXIST and loads the winner's file. */
static ant_err create_identity(int root_dirfd)
{
    struct ant_node_identity *id = NULL;
    uint8_t *img = NULL;
    char tmpname[64];
    uint8_t rnd[8];
    ant_err err;
    int fd = -1;
    int have_tmp = 0;

    img = calloc(1, ANT_NODE_IDENTITY_FILE_BYTES);
    id = calloc(1, sizeof *id);
    if (img == NULL || id == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    err = ant_mldsa65_keypair(id->pk, id->sk);
    if (err != ANT_OK)
        goto out;
    memcpy(img, identity_magic, sizeof identity_magic);
    memcpy(img + OFF_PK, id->pk, sizeof id->pk);
    memcpy(img + OFF_SK, id->sk, sizeof id->sk);
    err = ant_sha256(img + OFF_SUM, img, OFF_SUM);
    if (err != ANT_OK)
        goto out;

    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        err = ANT_ERR_RNG;
        goto out;
    }
    {
        char hex[2 * sizeof rnd + 1];
        ant_hex_encode(hex, rnd, sizeof rnd);
        snprintf(tmpname, sizeof tmpname, ".tmp-identity-%s", hex);
    }
    fd = openat(root_dirfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
    if (fd < 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    have_tmp = 1;
    err = write_full(fd, img, ANT_NODE_IDENTITY_FILE_BYTES);
    if (err != ANT_OK)
        goto out;
    /* Durability: the key must be on disk before its name is, or a crash could leave a
     * named but empty identity file that refuses to load. */
    if (fsync(fd) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    if (linkat(root_dirfd, tmpname, root_dirfd, ANT_NODE_IDENTITY_FILE, 0) != 0) {
        err = errno == EEXIST ? ANT_ERR_EXISTS : ANT_ERR_IO;
        goto out;
    }
    if (fsync(root_dirfd) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    err = ANT_OK;
out:
    if (fd >= 0)
        close(fd);
    if (have_tmp)
        (void)unlinkat(root_dirfd, tmpname, 0);
    if (img != NULL) {
        explicit_bzero(img, ANT_NODE_IDENTITY_FILE_BYTES);
        free(img);
    }
    explicit_bzero(rnd, sizeof rnd);
    ant_node_identity_free(id);
    return err;
}

ant_err ant_node_identity_load_or_create(int root_dirfd, struct ant_node_identity **out,
                                         int *created)
{
    ant_err err;

    if (created != NULL)
        *created = 0;
    err = ant_node_identity_load(root_dirfd, out);
    if (err != ANT_ERR_NOT_FOUND)
        return err;
    err = create_identity(root_dirfd);
    if (err == ANT_OK && created != NULL)
        *created = 1;
    if (err != ANT_OK && err != ANT_ERR_EXISTS)
        return err;
    return ant_node_identity_load(root_dirfd, out);
}
