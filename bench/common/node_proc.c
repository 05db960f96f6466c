/* See node_proc.h. */
#include "node_proc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_rss_sample(struct bench_rss *r)
{
    char path[64], line[256];
    FILE *f;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)r->pid);
    f = fopen(path, "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f) != NULL) {
        uint64_t v;
        if (sscanf(line, "RssAnon: %" SCNu64, &v) == 1 && v > r->anon_kib)
            r->anon_kib = v;
        else if (sscanf(line, "RssFile: %" SCNu64, &v) == 1 && v > r->file_kib)
            r->file_kib = v;
        else if (sscanf(line, "RssShmem: %" SCNu64, &v) == 1 && v > r->shmem_kib)
            r->shmem_kib = v;
    }
    fclose(f);
}

void *bench_rss_main(void *arg)
{
    struct bench_rss *r = arg;
    while (!atomic_load(&r->stop)) {
        bench_rss_sample(r);
        usleep(10000);
    }
    bench_rss_sample(r);
    return NULL;
}

double bench_node_cpu_s(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may contain spaces */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                            &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
