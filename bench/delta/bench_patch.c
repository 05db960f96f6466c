/*
 * The node's own patch code (src/upgrade/patch.c) on real binaries, for bench/delta/node.sh:
 *   bench_patch make OLD NEW PATCH [LEVEL]   makes PATCH with ant_patch_make (release side)
 *   bench_patch apply OLD PATCH NEW          applies it exactly as the node does
 *                                            (ant_patch_apply_fd, file to file, the engine's
 *                                            256 MiB cap) and checks the result is NEW
 * Each prints one line: bytes and seconds (CLOCK_MONOTONIC around the call). Peak memory is
 * measured from outside (GNU time), so the process does nothing else that costs memory:
 * `apply` never holds NEW, it compares the output file with it in 64 KiB pieces.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ant/patch.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = NULL;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0)
        goto out;
    buf = malloc((size_t)st.st_size);
    if (buf == NULL || read(fd, buf, (size_t)st.st_size) != st.st_size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    *len = (size_t)st.st_size;
out:
    if (fd >= 0)
        close(fd);
    return buf;
}

static int same_files(int a, int b)
{
    static uint8_t x[65536], y[65536];
    for (off_t off = 0;; off += (off_t)sizeof x) {
        ssize_t n = pread(a, x, sizeof x, off), m = pread(b, y, sizeof y, off);
        if (n != m || n < 0)
            return 0;
        if (n == 0)
            return 1;
        if (memcmp(x, y, (size_t)n) != 0)
            return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "make") == 0) {
        size_t ol = 0, nl = 0, pl = 0;
        uint8_t *o = slurp(argv[2], &ol), *n = slurp(argv[3], &nl), *p = NULL;
        int level = argc > 5 ? (int)strtol(argv[5], NULL, 10) : 0;
        if (o == NULL || n == NULL)
            return 2;
        double t0 = now();
        if (ant_patch_make(o, ol, n, nl, level, &p, &pl) != ANT_OK)
            return 1;
        double t1 = now();
        FILE *f = fopen(argv[4], "wb");
        if (f == NULL || fwrite(p, 1, pl, f) != pl || fclose(f) != 0)
            return 2;
        printf("make patch_bytes=%zu seconds=%.3f window_log=%u\n", pl, t1 - t0,
               ant_patch_window_log(ol, nl));
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "apply") == 0) {
        struct stat so, sp, sn;
        int of = open(argv[2], O_RDONLY | O_CLOEXEC), pf = open(argv[3], O_RDONLY | O_CLOEXEC);
        int nf = open(argv[4], O_RDONLY | O_CLOEXEC);
        char tmpl[] = "/tmp/bench_patch-XXXXXX";
        int out = mkstemp(tmpl);
        if (of < 0 || pf < 0 || nf < 0 || out < 0 || fstat(of, &so) != 0 ||
            fstat(pf, &sp) != 0 || fstat(nf, &sn) != 0)
            return 2;
        unlink(tmpl);
        double t0 = now();
        ant_err err = ant_patch_apply_fd(of, (uint64_t)so.st_size, pf, (uint64_t)sp.st_size, out,
                                         (uint64_t)sn.st_size, (uint64_t)256 << 20);
        double t1 = now();
        if (err != ANT_OK) {
            fprintf(stderr, "apply: %s\n", ant_strerror(err));
            return 1;
        }
        if (!same_files(out, nf)) {
            fprintf(stderr, "apply: result differs from %s\n", argv[4]);
            return 1;
        }
        printf("apply seconds=%.3f\n", t1 - t0);
        return 0;
    }
    fprintf(stderr, "usage: bench_patch make OLD NEW PATCH [LEVEL] | apply OLD PATCH NEW\n");
    return 2;
}
