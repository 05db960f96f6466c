/*
 * Safe extraction of `ant-node` from a release archive (include/ant/extract.h).
 *
 * libarchive is used as a reader only: we never call archive_read_extract(), so no member
 * path, link target, owner or mode from the archive reaches the file system. Every entry's
 * path is checked (absolute paths and `..` components reject the whole archive, because an
 * archive that tries them is hostile even if we would not have written that member), and all
 * data, including members we ignore, is pulled through our own read loop so the byte caps
 * count what the decompressor really produces. The binary goes to a temp file that becomes
 * `ant-node` only once the archive has been read to its end without a second candidate.
 */
#include "ant/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"

#define READ_BLOCK_BYTES (64u * 1024u)
#define DATA_BUF_BYTES (64u * 1024u)

void ant_extract_limits_default(struct ant_extract_limits *limits)
{
    if (limits == NULL)
        return;
    limits->member_cap = ANT_EXTRACT_MEMBER_CAP_DEFAULT;
    limits->total_cap = ANT_EXTRACT_TOTAL_CAP_DEFAULT;
    limits->max_entries = ANT_EXTRACT_MAX_ENTRIES_DEFAULT;
}

/* The archive's own path checks: true if `path` is relative and has no `..` component. */
static bool path_is_contained(const char *path, const char **reason)
{
    if (path[0] == '/') {
        *reason = "archive member has an absolute path";
        return false;
    }
    const char *p = path;
    while (*p != '\0') {
        const char *end = strchr(p, '/');
        size_t n = end == NULL ? strlen(p) : (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            *reason = "archive member path contains a '..' component";
            return false;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return true;
}

/* True if the member is the binary at the archive root: `ant-node` or `./ant-node`. */
static bool is_binary_name(const char *path)
{
    if (strncmp(path, "./", 2) == 0)
        path += 2;
    return strcmp(path, ANT_EXTRACT_MEMBER_NAME) == 0;
}

/* Maps a libarchive failure to our error: a stream that ends early is its own case
 * (a partial download), anything else is a malformed archive. */
static ant_err archive_failure(struct archive *a, const char **reason)
{
    const char *msg = archive_error_string(a);
    if (msg != NULL && (strstr(msg, "runcated") != NULL || strstr(msg, "end of file") != NULL ||
                        strstr(msg, "Premature end") != NULL)) {
        *reason = "archive is truncated";
        return ANT_ERR_TRUNCATED;
    }
    *reason = "archive is corrupt (not a readable gzip tar stream)";
    return ANT_ERR_BAD_ARCHIVE;
}

/*
 * Pulls one member's data through `buf`, counting it against both caps. With out_fd >= 0
 * the bytes are written there (the binary); otherwise they are only counted (an ignored
 * member still costs decompression, which is exactly what a gzip bomb exploits).
 */
static ant_err drain_member(struct archive *a, uint8_t *buf, int out_fd, uint64_t member_cap,
                            uint64_t total_cap, uint64_t *total, const char **reason)
{
    uint64_t member = 0;
    for (;;) {
        la_ssize_t r = archive_read_data(a, buf, DATA_BUF_BYTES);
        if (r == 0)
            return ANT_OK;
        if (r < 0)
            return archive_failure(a, reason);
        uint64_t n = (uint64_t)r;
        if (out_fd >= 0 && n > member_cap - member) {
            *reason = "ant-node member exceeds its size cap";
            return ANT_ERR_TOO_LARGE;
        }
        if (n > total_cap - *total) {
            *reason = "archive decompresses to more than its total size cap (gzip bomb?)";
            return ANT_ERR_TOO_LARGE;
        }
        member += n;
        *total += n;
        if (out_fd >= 0) {
            ant_err err = ant_fsx_write_all(out_fd, buf, (size_t)r);
            if (err != ANT_OK) {
                *reason = "cannot write the extracted binary";
                return err;
            }
        }
    }
}

/* The binary goes either into `out_dirfd` as ANT_EXTRACT_MEMBER_NAME (temp + rename) or,
 * with out_fd >= 0, straight into that (empty) file. */
static ant_err extract(int archive_fd, int out_dirfd, int out_fd,
                       const struct ant_extract_limits *limits, const char **why)
{
    struct ant_extract_limits lim;
    if (limits != NULL)
        lim = *limits;
    else
        ant_extract_limits_default(&lim);

    ant_err err = ANT_OK;
    struct archive *a = NULL;
    struct ant_fsx_tmp *tmp = NULL;
    uint8_t *buf = NULL;
    bool found = false;
    size_t entries = 0;
    uint64_t total = 0;

    buf = malloc(DATA_BUF_BYTES);
    a = archive_read_new();
    if (buf == NULL || a == NULL) {
        err = ANT_ERR_NOMEM;
        *why = "out of memory";
        goto out;
    }
    /* Only what a release is: gzip around a tar (ustar, pax or GNU). Every other filter and
     * format stays disabled, which also keeps their parsers out of reach of hostile input. */
    if (archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
        archive_read_support_format_tar(a) != ARCHIVE_OK) {
        err = ANT_ERR_INTERNAL;
        *why = "libarchive lacks gzip or tar support";
        goto out;
    }
    /* Opening already bids for the filter and the format; whether gzip won is known now,
     * even when the open fails (a plain tar, random bytes, an empty file). Filter 0 is the
     * one nearest the tar reader; input with no compression has only "none". */
    int opened = archive_read_open_fd(a, archive_fd, READ_BLOCK_BYTES);
    /* A gzip stream that ends inside the first read block fails the open itself, and the
     * failed open drops the gzip filter before we can look at it: libarchive's own
     * "truncated gzip input" is then the only sign that this is a partial download and not
     * some other format. Either way the input is refused; only the reason differs. */
    const char *open_error = opened != ARCHIVE_OK ? archive_error_string(a) : NULL;
    if (open_error != NULL && strstr(open_error, "gzip") != NULL &&
        archive_failure(a, why) == ANT_ERR_TRUNCATED) {
        err = ANT_ERR_TRUNCATED;
        goto out;
    }
    if (archive_filter_count(a) != 2 || archive_filter_code(a, 0) != ARCHIVE_FILTER_GZIP) {
        err = ANT_ERR_BAD_ARCHIVE;
        *why = "archive is not gzip-compressed";
        goto out;
    }
    if (opened != ARCHIVE_OK) {
        err = archive_failure(a, why);
        goto out;
    }

    for (;;) {
        struct archive_entry *entry = NULL;
        int r = archive_read_next_header(a, &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            /* ARCHIVE_WARN included: a tar header libarchive had to guess at is not ours. */
            err = archive_failure(a, why);
            goto out;
        }
        if (++entries > lim.max_entries) {
            err = ANT_ERR_TOO_LARGE;
            *why = "archive has too many entries";
            goto out;
        }
        const char *path = archive_entry_pathname(entry);
        if (path == NULL || path[0] == '\0') {
            err = ANT_ERR_BAD_ARCHIVE;
            *why = "archive member has no usable path";
            goto out;
        }
        if (!path_is_contained(path, why)) {
            err = ANT_ERR_BAD_ARCHIVE;
            goto out;
        }
        if (!is_binary_name(path)) {
            /* Ignored, but its data still counts against the total cap. */
            err = drain_member(a, buf, -1, lim.member_cap, lim.total_cap, &total, why);
            if (err != ANT_OK)
                goto out;
            continue;
        }
        if (archive_entry_hardlink(entry) != NULL) {
            err = ANT_ERR_BAD_ARCHIVE;
            *why = "ant-node member is a hardlink";
            goto out;
        }
        mode_t type = archive_entry_filetype(entry);
        if (type != AE_IFREG) {
            err = ANT_ERR_BAD_ARCHIVE;
            if (type == AE_IFLNK)
                *why = "ant-node member is a symlink";
            else if (type == AE_IFCHR || type == AE_IFBLK)
                *why = "ant-node member is a device";
            else if (type == AE_IFDIR)
                *why = "ant-node member is a directory";
            else
                *why = "ant-node member is not a regular file";
            goto out;
        }
        if (found) {
            err = ANT_ERR_BAD_ARCHIVE;
            *why = "archive has two ant-node members";
            goto out;
        }
        found = true;
        if (out_fd < 0) {
            err = ant_fsx_tmp_open(out_dirfd, ANT_EXTRACT_MEMBER_NAME, 0755, &tmp);
            if (err != ANT_OK) {
                *why = "cannot create the extracted binary";
                goto out;
            }
        }
        err = drain_member(a, buf, out_fd >= 0 ? out_fd : ant_fsx_tmp_fd(tmp), lim.member_cap,
                           lim.total_cap, &total, why);
        if (err != ANT_OK)
            goto out;
    }
    if (!found) {
        err = ANT_ERR_BAD_ARCHIVE;
        *why = "archive has no ant-node member at its root";
        goto out;
    }
    if (out_fd < 0) {
        err = ant_fsx_tmp_commit(tmp, ANT_EXTRACT_MEMBER_NAME);
        tmp = NULL;
        if (err != ANT_OK)
            *why = "cannot install the extracted binary in the staging directory";
    }
out:
    if (tmp != NULL)
        ant_fsx_tmp_abort(tmp);
    /* Nothing of a rejected archive stays in the caller's file either. */
    if (err != ANT_OK && out_fd >= 0 && ftruncate(out_fd, 0) != 0)
        err = ANT_ERR_IO;
    char detail[160] = "";
    if (a != NULL && archive_error_string(a) != NULL)
        snprintf(detail, sizeof detail, "%s", archive_error_string(a));
    if (a != NULL)
        archive_read_free(a);
    free(buf);
    if (err != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade", "Archive rejected reason=\"%s\" error=\"%s\" detail=\"%s\"",
                *why, ant_strerror(err), detail);
    return err;
}

ant_err ant_extract_binary(int archive_fd, int out_dirfd, const struct ant_extract_limits *limits,
                           const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    if (archive_fd < 0 || out_dirfd < 0) {
        *why = "invalid argument";
        return ANT_ERR_INVALID_ARG;
    }
    return extract(archive_fd, out_dirfd, -1, limits, why);
}

ant_err ant_extract_binary_fd(int archive_fd, int out_fd, const struct ant_extract_limits *limits,
                              const char **reason)
{
    const char *why_local = NULL;
    const char **why = reason != NULL ? reason : &why_local;
    *why = NULL;
    struct stat st;
    if (archive_fd < 0 || out_fd < 0 || fstat(out_fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size != 0 || lseek(out_fd, 0, SEEK_SET) != 0) {
        *why = "invalid argument";
        return ANT_ERR_INVALID_ARG;
    }
    return extract(archive_fd, -1, out_fd, limits, why);
}
