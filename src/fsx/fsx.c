/*
 * Safe file primitives (include/ant/fsx.h): everything works on an open directory fd plus
 * one validated name component, so no path is ever re-resolved through a symlink another
 * process swapped in. Reads check the open fd before trusting a single byte of it; writes
 * go through a fresh O_EXCL temp name, fsync, renameat and an fsync of the directory, which
 * is the durability order that survives a crash at any point (the old file or the new one,
 * never a mix).
 */
/* O_TMPFILE and memfd_create (ant_fsx_anon_open). */
#define _GNU_SOURCE
#include "ant/fsx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/log.h"

#define COPY_BUF_BYTES (128u * 1024u)
#define TMP_PREFIX ".tmp-"
#define RANDOM_HEX 16 /* 8 random bytes: collisions are retried anyway */
#define CREATE_ATTEMPTS 16

struct ant_fsx_tmp {
    int dirfd; /* borrowed from the caller */
    int fd;
    char name[sizeof TMP_PREFIX + RANDOM_HEX];
};

bool ant_fsx_name_ok(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '-')
        return false;
    size_t n = 0;
    for (const char *p = name; *p != '\0'; p++, n++) {
        if (n >= 255)
            return false;
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '+' || c == '-';
        if (!ok)
            return false;
    }
    return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Fills `hex` (RANDOM_HEX digits + NUL) from getrandom(2). */
static ant_err random_hex(char hex[RANDOM_HEX + 1])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char bytes[RANDOM_HEX / 2];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t r = getrandom(bytes + got, sizeof bytes - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return ANT_ERR_RNG;
        }
        got += (size_t)r;
    }
    for (size_t i = 0; i < sizeof bytes; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 15];
    }
    hex[RANDOM_HEX] = '\0';
    return ANT_OK;
}

/* Owner euid or root, and nobody else may write: the rule for every directory whose
 * contents we act on. */
static bool dir_stat_trusted(const struct stat *st)
{
    if (!S_ISDIR(st->st_mode))
        return false;
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return false;
    return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* mkdir -p with mode 0700 for every directory it has to create. Existing components are
 * left as they are: they are checked (the last one) by the caller on the open fd. */
static ant_err mkdir_parents(const char *path)
{
    size_t len = strlen(path);
    if (len == 0 || len >= PATH_MAX)
        return ANT_ERR_INVALID_ARG;
    char buf[PATH_MAX];
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            ant_log(ANT_LOG_WARN, "fsx", "cannot create directory path=%s error=%s", buf,
                    strerror(e));
            return e == ENOSPC ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
        }
        buf[i] = saved;
    }
    return ANT_OK;
}

/* Copies `in` into `out` without trailing slashes ("/" stays "/"). Safety: a path ending in
 * '/' makes the kernel resolve a final symlink even under O_NOFOLLOW, so "link/" would
 * open the directory a symlink points to. */
static ant_err strip_trailing_slashes(const char *in, char out[PATH_MAX])
{
    size_t len = strlen(in);
    if (len == 0 || len >= PATH_MAX)
        return ANT_ERR_INVALID_ARG;
    while (len > 1 && in[len - 1] == '/')
        len--;
    memcpy(out, in, len);
    out[len] = '\0';
    return ANT_OK;
}

ant_err ant_fsx_open_trusted_dir(const char *path_in, bool create, int *dirfd)
{
    char path[PATH_MAX];
    if (path_in == NULL || dirfd == NULL || strip_trailing_slashes(path_in, path) != ANT_OK)
        return ANT_ERR_INVALID_ARG;
    *dirfd = -1;
    if (create) {
        ant_err err = mkdir_parents(path);
        if (err != ANT_OK)
            return err;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            return ANT_ERR_NOT_FOUND;
        if (e == ELOOP || e == ENOTDIR) {
            ant_log(ANT_LOG_WARN, "fsx", "refusing directory: a symlink or not a directory path=%s",
                    path);
            return ANT_ERR_UNSAFE_FILE;
        }
        ant_log(ANT_LOG_WARN, "fsx", "cannot open directory path=%s error=%s", path, strerror(e));
        return ANT_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ant_log(ANT_LOG_WARN, "fsx", "cannot stat directory path=%s error=%s", path,
                strerror(errno));
        close(fd);
        return ANT_ERR_IO;
    }
    if (!dir_stat_trusted(&st)) {
        ant_log(ANT_LOG_WARN, "fsx",
                "refusing directory: must be owned by uid %u or root and not group/world-writable"
                " path=%s owner=%u mode=%04o",
                (unsigned)geteuid(), path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        close(fd);
        return ANT_ERR_UNSAFE_FILE;
    }
    *dirfd = fd;
    return ANT_OK;
}

ant_err ant_fsx_open_capped(int dirfd, const char *name, uint64_t cap, int *fd, uint64_t *size)
{
    if (fd == NULL || size == NULL)
        return ANT_ERR_INVALID_ARG;
    *fd = -1;
    *size = 0;
    if (!ant_fsx_name_ok(name) || dirfd < 0)
        return ANT_ERR_INVALID_ARG;

    /* Safety: look before opening so a device node is never opened at all (opening some
     * devices has side effects); the fstat of the open fd below is what closes the race. */
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return ANT_ERR_NOT_FOUND;
        return ANT_ERR_IO;
    }
    if (!S_ISREG(st.st_mode))
        return ANT_ERR_UNSAFE_FILE;

    int f = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (f < 0) {
        int e = errno;
        if (e == ENOENT)
            return ANT_ERR_NOT_FOUND;
        if (e == ELOOP || e == ENXIO || e == EISDIR)
            return ANT_ERR_UNSAFE_FILE;
        return ANT_ERR_IO;
    }
    ant_err err = ANT_OK;
    if (fstat(f, &st) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = ANT_ERR_UNSAFE_FILE;
        goto out;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > cap) {
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    /* A regular file never blocks, but later readers should see ordinary semantics. */
    int flags = fcntl(f, F_GETFL);
    if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    *fd = f;
    *size = (uint64_t)st.st_size;
    f = -1;
out:
    if (f >= 0)
        close(f);
    return err;
}

/* read(2) until `len` bytes or EOF; returns bytes read or -1. */
static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

ant_err ant_fsx_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *buf = data;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == ENOSPC || errno == EDQUOT ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
        }
        done += (size_t)w;
    }
    return ANT_OK;
}

ant_err ant_fsx_read_capped(int dirfd, const char *name, size_t cap, uint8_t **data, size_t *len)
{
    if (data == NULL || len == NULL)
        return ANT_ERR_INVALID_ARG;
    *data = NULL;
    *len = 0;
    if (cap >= SIZE_MAX)
        return ANT_ERR_INVALID_ARG;
    int fd = -1;
    uint64_t size = 0;
    uint8_t *buf = NULL;
    ant_err err = ant_fsx_open_capped(dirfd, name, (uint64_t)cap, &fd, &size);
    if (err != ANT_OK)
        return err;
    size_t n = (size_t)size; /* size <= cap < SIZE_MAX */
    buf = malloc(n + 1);
    if (buf == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    ssize_t r = read_full(fd, buf, n);
    if (r < 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    if ((size_t)r != n) {
        err = ANT_ERR_CORRUPT; /* shrank while we read it */
        goto out;
    }
    uint8_t extra;
    r = read_full(fd, &extra, 1);
    if (r != 0) {
        err = r < 0 ? ANT_ERR_IO : ANT_ERR_CORRUPT; /* grew while we read it */
        goto out;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return err;
}

ant_err ant_fsx_tmp_open(int dirfd, const char *target_name, mode_t mode,
                         struct ant_fsx_tmp **tmp)
{
    if (tmp == NULL)
        return ANT_ERR_INVALID_ARG;
    *tmp = NULL;
    if (dirfd < 0 || !ant_fsx_name_ok(target_name) || (mode & ~(mode_t)0777) != 0)
        return ANT_ERR_INVALID_ARG;
    struct ant_fsx_tmp *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ANT_ERR_NOMEM;
    t->dirfd = dirfd;
    t->fd = -1;
    ant_err err = ANT_ERR_EXISTS;
    for (int attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
        char hex[RANDOM_HEX + 1];
        err = random_hex(hex);
        if (err != ANT_OK)
            goto out;
        memcpy(t->name, TMP_PREFIX, sizeof TMP_PREFIX - 1);
        memcpy(t->name + sizeof TMP_PREFIX - 1, hex, RANDOM_HEX + 1);
        t->fd = openat(dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (t->fd >= 0)
            break;
        if (errno != EEXIST) {
            err = errno == ENOSPC || errno == EDQUOT ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
            goto out;
        }
        err = ANT_ERR_EXISTS;
    }
    if (t->fd < 0)
        goto out;
    /* The umask must not decide the mode of a file we install (a 0755 binary under a
     * umask of 077 would not be runnable by the service user). */
    if (fchmod(t->fd, mode) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    *tmp = t;
    t = NULL;
    err = ANT_OK;
out:
    if (t != NULL)
        ant_fsx_tmp_abort(t);
    return err;
}

int ant_fsx_tmp_fd(const struct ant_fsx_tmp *tmp)
{
    return tmp == NULL ? -1 : tmp->fd;
}

void ant_fsx_tmp_abort(struct ant_fsx_tmp *tmp)
{
    if (tmp == NULL)
        return;
    if (tmp->fd >= 0) {
        close(tmp->fd);
        unlinkat(tmp->dirfd, tmp->name, 0);
    }
    free(tmp);
}

ant_err ant_fsx_tmp_commit(struct ant_fsx_tmp *tmp, const char *name)
{
    if (tmp == NULL)
        return ANT_ERR_INVALID_ARG;
    ant_err err = ANT_OK;
    if (!ant_fsx_name_ok(name) || tmp->fd < 0) {
        err = ANT_ERR_INVALID_ARG;
        goto fail;
    }
    /* Durability: the data must be on disk before the rename makes it visible, or a crash
     * could leave the final name pointing at an empty or partial file. */
    if (fsync(tmp->fd) != 0) {
        err = errno == ENOSPC || errno == EDQUOT ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
        goto fail;
    }
    int fd = tmp->fd;
    tmp->fd = -1;
    if (close(fd) != 0) {
        err = ANT_ERR_IO;
        unlinkat(tmp->dirfd, tmp->name, 0);
        goto free_only;
    }
    if (renameat(tmp->dirfd, tmp->name, tmp->dirfd, name) != 0) {
        err = ANT_ERR_IO;
        unlinkat(tmp->dirfd, tmp->name, 0);
        goto free_only;
    }
    err = ant_fsx_fsync_dir(tmp->dirfd);
free_only:
    free(tmp);
    return err;
fail:
    ant_fsx_tmp_abort(tmp);
    return err;
}

ant_err ant_fsx_write_atomic(int dirfd, const char *name, const void *data, size_t len,
                             mode_t mode)
{
    if (data == NULL && len > 0)
        return ANT_ERR_INVALID_ARG;
    struct ant_fsx_tmp *tmp = NULL;
    ant_err err = ant_fsx_tmp_open(dirfd, name, mode, &tmp);
    if (err != ANT_OK)
        return err;
    err = ant_fsx_write_all(tmp->fd, data, len);
    if (err != ANT_OK) {
        ant_fsx_tmp_abort(tmp);
        return err;
    }
    return ant_fsx_tmp_commit(tmp, name);
}

ant_err ant_fsx_fsync_dir(int dirfd)
{
    if (dirfd < 0)
        return ANT_ERR_INVALID_ARG;
    /* Some file systems cannot fsync a directory and say EINVAL; there is nothing more we
     * could do there, and the rename itself already happened. */
    if (fsync(dirfd) != 0 && errno != EINVAL)
        return ANT_ERR_IO;
    return ANT_OK;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

ant_err ant_fsx_lock(int dirfd, const char *name, unsigned timeout_ms, int *lockfd)
{
    if (lockfd == NULL)
        return ANT_ERR_INVALID_ARG;
    *lockfd = -1;
    if (dirfd < 0 || !ant_fsx_name_ok(name))
        return ANT_ERR_INVALID_ARG;
    /* O_NONBLOCK so a FIFO planted at the lock name cannot hang the open. */
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
                    0600);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENXIO || errno == EISDIR)
            return ANT_ERR_UNSAFE_FILE;
        return ANT_ERR_IO;
    }
    ant_err err = ANT_OK;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        err = ANT_ERR_IO;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = ANT_ERR_UNSAFE_FILE;
        goto out;
    }
    uint64_t deadline = now_ms() + timeout_ms;
    unsigned sleep_ms = 1;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            err = ANT_ERR_IO;
            goto out;
        }
        uint64_t now = now_ms();
        if (now >= deadline) {
            err = ANT_ERR_TIMEOUT;
            goto out;
        }
        /* flock(2) has no timed wait; poll with a short, growing sleep. A waiter wakes
         * within 50 ms of the holder releasing (or dying). */
        uint64_t left = deadline - now;
        unsigned nap = sleep_ms < left ? sleep_ms : (unsigned)left;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)nap * 1000000L};
        nanosleep(&ts, NULL);
        if (sleep_ms < 50)
            sleep_ms *= 2;
    }
    *lockfd = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    return err;
}

void ant_fsx_unlock(int lockfd)
{
    if (lockfd >= 0)
        close(lockfd); /* closing the only fd of the open file description releases flock */
}

ant_err ant_fsx_private_dir_create(const char *parent_path, const char *prefix, char *path,
                                   size_t pathcap, int *dirfd)
{
    if (dirfd == NULL || path == NULL || pathcap == 0)
        return ANT_ERR_INVALID_ARG;
    *dirfd = -1;
    path[0] = '\0';
    if (parent_path == NULL || !ant_fsx_name_ok(prefix) || strlen(prefix) > 200)
        return ANT_ERR_INVALID_ARG;
    int parent = -1;
    ant_err err = ant_fsx_open_trusted_dir(parent_path, true, &parent);
    if (err != ANT_OK)
        return err;

    char name[256];
    bool made = false;
    for (int attempt = 0; attempt < CREATE_ATTEMPTS && !made; attempt++) {
        char hex[RANDOM_HEX + 1];
        err = random_hex(hex);
        if (err != ANT_OK)
            goto out;
        int n = snprintf(name, sizeof name, "%s%s", prefix, hex);
        if (n < 0 || (size_t)n >= sizeof name) {
            err = ANT_ERR_INVALID_ARG;
            goto out;
        }
        n = snprintf(path, pathcap, "%s/%s", parent_path, name);
        if (n < 0 || (size_t)n >= pathcap) {
            path[0] = '\0';
            err = ANT_ERR_INVALID_ARG;
            goto out;
        }
        if (mkdirat(parent, name, 0700) == 0) {
            made = true;
        } else if (errno != EEXIST) {
            err = errno == ENOSPC ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
            goto out;
        }
    }
    if (!made) {
        err = ANT_ERR_EXISTS;
        goto out;
    }
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0) {
        /* Someone replaced our fresh directory in the instant after mkdir. */
        err = fd < 0 ? ANT_ERR_IO : ANT_ERR_UNSAFE_FILE;
        if (fd >= 0)
            close(fd);
        unlinkat(parent, name, AT_REMOVEDIR);
        goto out;
    }
    *dirfd = fd;
    err = ANT_OK;
out:
    if (err != ANT_OK)
        path[0] = '\0';
    close(parent);
    return err;
}

void ant_fsx_private_dir_remove(const char *path, int dirfd)
{
    if (dirfd >= 0) {
        /* unlinkat without AT_REMOVEDIR removes files and symlinks themselves (never their
         * targets); an empty subdirectory is removed too, anything deeper is left. */
        for (int pass = 0; pass < 4; pass++) {
            int dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
            if (dup_fd < 0)
                break;
            DIR *d = fdopendir(dup_fd);
            if (d == NULL) {
                close(dup_fd);
                break;
            }
            rewinddir(d);
            bool removed = false;
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                if (unlinkat(dirfd, e->d_name, 0) == 0 ||
                    unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0)
                    removed = true;
            }
            closedir(d);
            if (!removed)
                break;
        }
        close(dirfd);
    }
    if (path != NULL && path[0] != '\0' && rmdir(path) != 0 && errno != ENOENT)
        ant_log(ANT_LOG_WARN, "fsx", "cannot remove private directory path=%s error=%s", path,
                strerror(errno));
}

ant_err ant_fsx_copy_fd(int in_fd, int out_fd, uint64_t cap, uint64_t *copied)
{
    if (copied != NULL)
        *copied = 0;
    if (in_fd < 0 || out_fd < 0)
        return ANT_ERR_INVALID_ARG;
    uint8_t *buf = malloc(COPY_BUF_BYTES);
    if (buf == NULL)
        return ANT_ERR_NOMEM;
    ant_err err = ANT_OK;
    uint64_t total = 0;
    for (;;) {
        /* Ask for one byte past the cap so "exactly cap" and "more than cap" differ. */
        uint64_t want64 = cap - total + 1;
        size_t want = want64 == 0 || want64 > COPY_BUF_BYTES ? COPY_BUF_BYTES : (size_t)want64;
        ssize_t r = read(in_fd, buf, want);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err = ANT_ERR_IO;
            goto out;
        }
        if (r == 0)
            break;
        size_t n = (size_t)r;
        bool over = (uint64_t)n > cap - total;
        if (over)
            n = (size_t)(cap - total);
        err = ant_fsx_write_all(out_fd, buf, n);
        if (err != ANT_OK)
            goto out;
        total += n;
        if (over) {
            err = ANT_ERR_TOO_LARGE;
            goto out;
        }
    }
out:
    if (copied != NULL)
        *copied = total;
    free(buf);
    return err;
}

ant_err ant_fsx_anon_open(int dirfd, mode_t mode, int *fd)
{
    if (fd == NULL)
        return ANT_ERR_INVALID_ARG;
    *fd = -1;
    if (dirfd < 0 || (mode & ~(mode_t)0700) != 0)
        return ANT_ERR_INVALID_ARG;
    /* O_EXCL: the file can never be given a name with linkat, by us or anyone. */
    int f = openat(dirfd, ".", O_TMPFILE | O_EXCL | O_RDWR | O_CLOEXEC, mode);
    if (f < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        /* A file system without O_TMPFILE: anonymous memory has no name either. */
        f = memfd_create("ant-private", MFD_CLOEXEC);
        if (f >= 0 && fchmod(f, mode) != 0) {
            close(f);
            f = -1;
        }
    }
    if (f < 0)
        return errno == ENOSPC || errno == EDQUOT ? ANT_ERR_NO_SPACE : ANT_ERR_IO;
    *fd = f;
    return ANT_OK;
}

ant_err ant_fsx_reopen_rdonly(int *fd)
{
    char path[64];
    if (fd == NULL || *fd < 0)
        return ANT_ERR_INVALID_ARG;
    snprintf(path, sizeof path, "/proc/self/fd/%d", *fd);
    int r = open(path, O_RDONLY | O_CLOEXEC);
    if (r < 0)
        return ANT_ERR_IO;
    struct stat a, b;
    /* The same inode, or /proc is not what it claims to be. */
    if (fstat(*fd, &a) != 0 || fstat(r, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino) {
        close(r);
        return ANT_ERR_IO;
    }
    close(*fd);
    *fd = r;
    return ANT_OK;
}
