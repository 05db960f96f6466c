/*
 * Fuzz target: extraction of the binary from a release archive (ant_extract_binary,
 * ARCHITECTURE.md §5 step 6). The input is the archive itself, handed over on a memfd, and the
 * output goes into one private 0700 temp directory (on /dev/shm when it exists, so the
 * fsync of an accepted binary is cheap). Small limits keep a decompression bomb fast.
 * Checked after every input: on success exactly one regular file `ant-node`, mode 0755,
 * within the member cap; on any error a reason and nothing at all left in the directory
 * (no `ant-node`, no temp file); only the documented rejection codes.
 */
#define _GNU_SOURCE /* memfd_create */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/extract.h"
#include "ant/log.h"
#include "fuzz.h"

static int out_dirfd = -1;
static char out_path[256];

/* Removes every entry of the output dir; returns how many there were. */
static size_t empty_dir(void)
{
    int fd = dup(out_dirfd);
    FUZZ_ASSERT(fd >= 0);
    DIR *d = fdopendir(fd);
    FUZZ_ASSERT(d != NULL);
    rewinddir(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        FUZZ_ASSERT(unlinkat(out_dirfd, e->d_name, 0) == 0 ||
                    unlinkat(out_dirfd, e->d_name, AT_REMOVEDIR) == 0);
    }
    closedir(d);
    return n;
}

static void cleanup(void)
{
    if (out_dirfd >= 0) {
        (void)empty_dir();
        close(out_dirfd);
        out_dirfd = -1;
        rmdir(out_path);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ant_log_set_level(ANT_LOG_ERROR);
    fuzz_make_temp_dir(out_path, sizeof out_path, "ant-fuzz-extract-");
    out_dirfd = open(out_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    FUZZ_ASSERT(out_dirfd >= 0);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (out_dirfd < 0)
        LLVMFuzzerInitialize(NULL, NULL);
    int fd = memfd_create("fuzz-archive", MFD_CLOEXEC);
    FUZZ_ASSERT(fd >= 0);
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        FUZZ_ASSERT(w > 0);
        off += (size_t)w;
    }
    FUZZ_ASSERT(lseek(fd, 0, SEEK_SET) == 0);

    struct ant_extract_limits limits;
    ant_extract_limits_default(&limits);
    FUZZ_ASSERT(limits.member_cap == ANT_EXTRACT_MEMBER_CAP_DEFAULT);
    limits.member_cap = FUZZ_EXTRACT_MEMBER_CAP;
    limits.total_cap = FUZZ_EXTRACT_TOTAL_CAP;
    limits.max_entries = FUZZ_EXTRACT_MAX_ENTRIES;

    const char *reason = "unset";
    ant_err err = ant_extract_binary(fd, out_dirfd, &limits, &reason);
    close(fd);

    struct stat st;
    if (err == ANT_OK) {
        FUZZ_ASSERT(reason == NULL);
        FUZZ_ASSERT(fstatat(out_dirfd, ANT_EXTRACT_MEMBER_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0);
        FUZZ_ASSERT(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0755);
        FUZZ_ASSERT((uint64_t)st.st_size <= FUZZ_EXTRACT_MEMBER_CAP);
        FUZZ_ASSERT(empty_dir() == 1);
    } else {
        FUZZ_ASSERT(err == ANT_ERR_BAD_ARCHIVE || err == ANT_ERR_TRUNCATED ||
                    err == ANT_ERR_TOO_LARGE);
        FUZZ_ASSERT(reason != NULL && strcmp(reason, "unset") != 0);
        FUZZ_ASSERT(empty_dir() == 0);
    }
    return 0;
}
