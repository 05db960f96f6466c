/*
 * ant-keygen's file handling (see kgio.h): key and signature files are read only when the
 * open fd is a regular file of the exact expected size, new key files are created with
 * O_EXCL|O_NOFOLLOW so an existing key or a planted symlink is never written through, the
 * signature lands by atomic rename, and inputs stream through one fixed 1 MiB buffer.
 */
#include "kgio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/digest.h"

static ant_err errno_to_err(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return ANT_ERR_NOT_FOUND;
    case ELOOP:
        return ANT_ERR_UNSAFE_FILE;
    case ENOSPC:
    case EDQUOT:
        return ANT_ERR_NO_SPACE;
    case ENOMEM:
        return ANT_ERR_NOMEM;
    default:
        return ANT_ERR_IO;
    }
}

/* Opens `path` for reading without following a final symlink (when `nofollow`) and
 * without blocking on a FIFO, and checks the open fd is a regular file. */
static ant_err open_regular(const char *path, const char *what, int nofollow, int *fd_out,
                            struct stat *st)
{
    *fd_out = -1;
    int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
    int fd = open(path, flags);
    if (fd < 0) {
        int e = errno;
        if (e == ELOOP && nofollow)
            fprintf(stderr, "ant-keygen: error: %s %s is a symlink; give the real file\n",
                    what, path);
        else
            fprintf(stderr, "ant-keygen: error: cannot open %s %s: %s\n", what, path,
                    strerror(e));
        return errno_to_err(e);
    }
    if (fstat(fd, st) != 0) {
        int e = errno;
        fprintf(stderr, "ant-keygen: error: cannot stat %s %s: %s\n", what, path, strerror(e));
        close(fd);
        return errno_to_err(e);
    }
    if (!S_ISREG(st->st_mode)) {
        fprintf(stderr, "ant-keygen: error: %s %s is not a regular file\n", what, path);
        close(fd);
        return ANT_ERR_UNSAFE_FILE;
    }
    /* The file is regular, so reads cannot block; clear O_NONBLOCK for ordinary reads. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        fprintf(stderr, "ant-keygen: error: fcntl on %s %s: %s\n", what, path, strerror(e));
        close(fd);
        return errno_to_err(e);
    }
    *fd_out = fd;
    return ANT_OK;
}

/* Reads up to `len` bytes, retrying short reads and EINTR; *got < len only at EOF. */
static ant_err read_full(int fd, uint8_t *buf, size_t len, size_t *got)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            *got = done;
            return errno_to_err(errno);
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return ANT_OK;
}

ant_err kg_read_exact(const char *path, const char *what, uint8_t *buf, size_t size,
                      uint64_t *found_size, int quiet_size)
{
    ant_err err;
    int fd = -1;
    struct stat st;
    size_t got = 0;
    uint8_t extra;

    if (found_size != NULL)
        *found_size = 0;
    err = open_regular(path, what, 1, &fd, &st);
    if (err != ANT_OK)
        goto out;
    if (found_size != NULL)
        *found_size = (uint64_t)st.st_size;
    if ((uint64_t)st.st_size != (uint64_t)size) {
        err = (uint64_t)st.st_size < (uint64_t)size ? ANT_ERR_TRUNCATED : ANT_ERR_TOO_LARGE;
        if (!quiet_size)
            fprintf(stderr, "ant-keygen: error: %s %s is %llu bytes, expected exactly %zu\n",
                    what, path, (unsigned long long)st.st_size, size);
        goto out;
    }
    err = read_full(fd, buf, size, &got);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: reading %s %s: %s\n", what, path, strerror(errno));
        goto out;
    }
    if (got != size) {
        fprintf(stderr, "ant-keygen: error: %s %s shrank while being read\n", what, path);
        err = ANT_ERR_TRUNCATED;
        goto out;
    }
    /* One more byte proves the file did not grow between fstat and the read. */
    err = read_full(fd, &extra, 1, &got);
    if (err == ANT_OK && got != 0) {
        fprintf(stderr, "ant-keygen: error: %s %s grew while being read\n", what, path);
        err = ANT_ERR_TOO_LARGE;
    }
out:
    if (fd >= 0)
        close(fd);
    if (err != ANT_OK)
        explicit_bzero(buf, size);
    return err;
}

ant_err kg_create_new(int dirfd, const char *name, const char *shown, mode_t mode, int *fd_out)
{
    *fd_out = -1;
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        if (e == EEXIST) {
            fprintf(stderr,
                    "ant-keygen: error: %s already exists; refusing to overwrite it "
                    "(move it away or choose another --out-dir)\n",
                    shown);
            return ANT_ERR_EXISTS;
        }
        fprintf(stderr, "ant-keygen: error: cannot create %s: %s\n", shown, strerror(e));
        return errno_to_err(e);
    }
    /* The umask may only have removed bits; set the documented mode exactly. */
    if (fchmod(fd, mode) != 0) {
        int e = errno;
        fprintf(stderr, "ant-keygen: error: cannot set mode of %s: %s\n", shown, strerror(e));
        close(fd);
        unlinkat(dirfd, name, 0);
        return errno_to_err(e);
    }
    *fd_out = fd;
    return ANT_OK;
}

ant_err kg_write_all_sync(int fd, const uint8_t *data, size_t len, const char *shown)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            fprintf(stderr, "ant-keygen: error: writing %s: %s\n", shown, strerror(e));
            return errno_to_err(e);
        }
        done += (size_t)n;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        fprintf(stderr, "ant-keygen: error: fsync %s: %s\n", shown, strerror(e));
        return errno_to_err(e);
    }
    return ANT_OK;
}

ant_err kg_write_atomic(const char *path, const uint8_t *data, size_t len, mode_t mode)
{
    ant_err err = ANT_OK;
    int dirfd = -1, fd = -1;
    char *dir = NULL;
    char tmp[64] = "";
    const char *base;
    uint8_t rnd[8];

    const char *slash = strrchr(path, '/');
    base = slash != NULL ? slash + 1 : path;
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        fprintf(stderr, "ant-keygen: error: output %s does not name a file\n", path);
        return ANT_ERR_INVALID_ARG;
    }
    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return ANT_ERR_NOMEM;

    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        int e = errno;
        fprintf(stderr, "ant-keygen: error: cannot open directory %s: %s\n", dir, strerror(e));
        err = errno_to_err(e);
        goto out;
    }
    /* A random temp name, created exclusively, so a concurrent writer or a planted file or
     * symlink under a predictable name cannot be written through. */
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        fprintf(stderr, "ant-keygen: error: getrandom failed: %s\n", strerror(errno));
        err = ANT_ERR_RNG;
        goto out;
    }
    char hex[2 * sizeof rnd + 1];
    ant_hex_encode(hex, rnd, sizeof rnd);
    snprintf(tmp, sizeof tmp, ".ant-keygen-%s.tmp", hex);

    err = kg_create_new(dirfd, tmp, path, mode, &fd);
    if (err != ANT_OK) {
        tmp[0] = '\0';
        goto out;
    }
    err = kg_write_all_sync(fd, data, len, path);
    if (err != ANT_OK)
        goto out;
    if (close(fd) != 0) {
        fd = -1;
        fprintf(stderr, "ant-keygen: error: closing %s: %s\n", path, strerror(errno));
        err = ANT_ERR_IO;
        goto out;
    }
    fd = -1;
    if (renameat(dirfd, tmp, dirfd, base) != 0) {
        int e = errno;
        fprintf(stderr, "ant-keygen: error: cannot rename into %s: %s\n", path, strerror(e));
        err = errno_to_err(e);
        goto out;
    }
    tmp[0] = '\0';
    /* The rename is durable only once the directory itself is on disk. */
    if (fsync(dirfd) != 0) {
        int e = errno;
        fprintf(stderr, "ant-keygen: error: fsync directory %s: %s\n", dir, strerror(e));
        err = errno_to_err(e);
    }
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0] != '\0' && dirfd >= 0)
        unlinkat(dirfd, tmp, 0);
    if (dirfd >= 0)
        close(dirfd);
    free(dir);
    return err;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One progress line, redrawn in place; at most a few redraws a second. */
struct progress {
    int on;
    const char *verb;
    uint64_t total;
    int last_pct;
    double last_time;
};

static void progress_show(struct progress *p, uint64_t done, int final)
{
    if (!p->on)
        return;
    int pct = p->total != 0 ? (int)(done * 100 / p->total) : 100;
    double t = now_seconds();
    if (!final && (pct == p->last_pct || t - p->last_time < 0.2))
        return;
    p->last_pct = pct;
    p->last_time = t;
    fprintf(stderr, "\rant-keygen: %s %3d%% (%llu/%llu MiB)", p->verb, pct,
            (unsigned long long)(done >> 20), (unsigned long long)(p->total >> 20));
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

ant_err kg_stream_file(const char *path, const char *verb, kg_sink sink, void *arg,
                       uint64_t *total)
{
    ant_err err;
    int fd = -1;
    uint8_t *buf = NULL;
    struct stat before, after;
    uint64_t done = 0;
    struct progress prog = {0};

    if (total != NULL)
        *total = 0;
    /* The input is data, not a trust anchor: a symlink to it is fine, a FIFO is not. */
    err = open_regular(path, "input", 0, &fd, &before);
    if (err != ANT_OK)
        goto out;
    buf = malloc(KG_CHUNK);
    if (buf == NULL) {
        err = ANT_ERR_NOMEM;
        fprintf(stderr, "ant-keygen: error: out of memory\n");
        goto out;
    }
    /* Advisory only: a failure just means slower read-ahead. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    prog.on = isatty(STDERR_FILENO) && (uint64_t)before.st_size > KG_PROGRESS_MIN;
    prog.verb = verb;
    prog.total = (uint64_t)before.st_size;
    prog.last_pct = -1;

    for (;;) {
        size_t got = 0;
        err = read_full(fd, buf, KG_CHUNK, &got);
        if (err != ANT_OK) {
            fprintf(stderr, "ant-keygen: error: reading input %s: %s\n", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        err = sink(arg, buf, got);
        if (err != ANT_OK)
            goto out;
        done += got;
        progress_show(&prog, done, 0);
        if (got < KG_CHUNK)
            break;
    }
    progress_show(&prog, done, 1);

    if (fstat(fd, &after) != 0) {
        err = errno_to_err(errno);
        fprintf(stderr, "ant-keygen: error: cannot stat input %s: %s\n", path, strerror(errno));
        goto out;
    }
    if (done != (uint64_t)before.st_size || after.st_size != before.st_size ||
        after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
        after.st_mtim.tv_nsec != before.st_mtim.tv_nsec) {
        fprintf(stderr, "ant-keygen: error: input %s changed while being read\n", path);
        err = ANT_ERR_CORRUPT;
        goto out;
    }
    if (total != NULL)
        *total = done;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return err;
}
