/*
 * The replay driver: a main() that feeds every file of the given corpus directories (or
 * single files) to LLVMFuzzerTestOneInput once, so CTest exercises each fuzz target's
 * corpus on every run with any compiler; no clang or libFuzzer needed. Files are fed in
 * name order so a failure reproduces. A directory that does not exist is skipped (the
 * regression directory of a target with no findings yet), but a run that fed no input at
 * all fails: an empty corpus must not pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

/* Inputs are small by construction; anything above this is a mistake, not a seed. */
#define REPLAY_INPUT_MAX ((size_t)16 << 20)

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* Reads the regular file `path` whole into a malloc'd block of exactly its size, so an
 * over-read by the target of even one byte is caught under ASan. */
static int read_input(const char *path, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    uint8_t *buf = NULL;
    int rc = -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
        (uint64_t)st.st_size > REPLAY_INPUT_MAX)
        goto out;
    size_t n = (size_t)st.st_size;
    buf = malloc(n > 0 ? n : 1);
    if (buf == NULL)
        goto out;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    *out = buf;
    buf = NULL;
    *len = n;
    rc = 0;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int run_file(const char *path, size_t *count)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (read_input(path, &data, &len) != 0) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    (*count)++;
    return 0;
}

static int skip_dot(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int run_dir(const char *dir, size_t *count)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, skip_dot, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s\n", dir);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        int m = snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && (m < 0 || (size_t)m >= sizeof path || run_file(path, count) != 0))
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            if (errno == ENOENT) {
                printf("replay: %s does not exist, skipped\n", argv[i]);
                continue;
            }
            fprintf(stderr, "replay: cannot stat %s\n", argv[i]);
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i], &count);
        if (rc != 0)
            return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("replay: %zu inputs in %.2f s\n", count, secs);
    if (count == 0) {
        fprintf(stderr, "replay: no input found; was the corpus generated?\n");
        return 1;
    }
    return 0;
}
