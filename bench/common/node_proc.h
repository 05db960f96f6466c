/*
 * What the node benchmarks read about the node under test from /proc: its peak RssAnon /
 * RssFile / RssShmem (sampled by a thread every 10 ms) and its CPU time, plus a monotonic
 * clock. Shared by bench/node-chunks and bench/alloc-ab.
 */
#ifndef ANT_BENCH_NODE_PROC_H
#define ANT_BENCH_NODE_PROC_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

/* Peaks in KiB since the last reset; the sampler thread runs until `stop` is set. */
struct bench_rss {
    pid_t pid;
    atomic_bool stop;
    uint64_t anon_kib, file_kib, shmem_kib;
};

/* Seconds on CLOCK_MONOTONIC. */
double bench_now_s(void);

/* Reads /proc/<pid>/status once and raises the peaks it exceeds. */
void bench_rss_sample(struct bench_rss *r);

/* pthread entry: samples every 10 ms until r->stop, then once more. */
void *bench_rss_main(void *r);

/* utime + stime of pid in seconds, from /proc/<pid>/stat; 0 when unreadable. */
double bench_node_cpu_s(pid_t pid);

#endif
