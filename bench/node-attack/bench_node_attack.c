/*
 * The announced-frame attack of issue 13 against one running ant-node: CONNS connections
 * (default 1024) spread over ADDRS source addresses 127.0.0.2.. (default 32, so the
 * per-address limit does not hide the memory question), each announcing the largest PUT
 * the node accepts and then sending BYTES bytes in all (default 10: the header, then one
 * byte per round so every byte is a separate wakeup of the node), held for HOLD seconds.
 * It samples the node's peak RssAnon every 10 ms and times a STATUS from 127.0.0.1
 * while the attack holds, and prints one RESULT line.
 *
 *   bench_node_attack --port PORT --pid PID [--conns 1024] [--addrs 32] [--bytes 10]
 *                     [--hold 3]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ant/node_client.h"
#include "ant/node_proto.h"
#include "node_proc.h"

static int connect_from(unsigned src_last_octet, uint16_t port)
{
    struct sockaddr_in src, dst;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl(0x7f000000u | src_last_octet);
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons(port);
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    unsigned long port = 0, conns = 1024, addrs = 32, bytes = 10, hold = 3;
    long pid = 0;
    struct bench_rss rss;
    pthread_t sampler;
    struct rlimit rl;
    uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES];
    int *fds;
    unsigned long opened = 0, alive = 0;
    double t0, status_ms = -1;

    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long v = strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--port") == 0)
            port = v;
        else if (strcmp(argv[i], "--pid") == 0)
            pid = (long)v;
        else if (strcmp(argv[i], "--conns") == 0)
            conns = v;
        else if (strcmp(argv[i], "--addrs") == 0)
            addrs = v;
        else if (strcmp(argv[i], "--bytes") == 0)
            bytes = v;
        else if (strcmp(argv[i], "--hold") == 0)
            hold = v;
    }
    if (port == 0 || port > 65535 || pid <= 0 || conns == 0 || addrs == 0 || addrs > 250 ||
        bytes < ANT_NODE_PROTO_HEADER_BYTES) {
        fprintf(stderr, "usage: bench_node_attack --port PORT --pid PID [--conns N] "
                        "[--addrs N] [--bytes N>=8] [--hold S]\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < conns + 64) {
        rl.rlim_cur = rl.rlim_max < conns + 64 ? rl.rlim_max : conns + 64;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    fds = calloc(conns, sizeof *fds);
    if (fds == NULL)
        return 1;
    memset(&rss, 0, sizeof rss);
    rss.pid = (pid_t)pid;
    bench_rss_sample(&rss);
    printf("idle node: RssAnon %" PRIu64 " KiB\n", rss.anon_kib);
    if (pthread_create(&sampler, NULL, bench_rss_main, &rss) != 0)
        return 1;
    if (ant_node_proto_header(hdr, ANT_FRAME_PUT, ANT_NODE_ADDR_BYTES + ANT_NODE_CHUNK_MAX) !=
        ANT_OK)
        return 1;
    t0 = bench_now_s();
    for (unsigned long i = 0; i < conns; i++) {
        fds[i] = connect_from(2 + (unsigned)(i % addrs), (uint16_t)port);
        if (fds[i] >= 0 && send(fds[i], hdr, sizeof hdr, MSG_NOSIGNAL) == (ssize_t)sizeof hdr)
            opened++;
    }
    /* The rest one byte per round: each byte is its own wakeup of the node. */
    for (unsigned long b = sizeof hdr; b < bytes; b++) {
        uint8_t one = 0;
        usleep(20000);
        for (unsigned long i = 0; i < conns; i++)
            if (fds[i] >= 0 && send(fds[i], &one, 1, MSG_NOSIGNAL) != 1) {
                close(fds[i]);
                fds[i] = -1;
            }
    }
    {
        struct ant_node_client *c = NULL;
        struct ant_node_status st;
        char addr[32];
        double s = bench_now_s();
        snprintf(addr, sizeof addr, "127.0.0.1:%lu", port);
        if (ant_node_client_connect(addr, 10000, &c) == ANT_OK &&
            ant_node_client_status(c, &st) == ANT_OK)
            status_ms = (bench_now_s() - s) * 1000;
        ant_node_client_close(c);
    }
    sleep((unsigned)hold);
    for (unsigned long i = 0; i < conns; i++) {
        uint8_t b;
        if (fds[i] < 0)
            continue;
        ssize_t r = recv(fds[i], &b, 1, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            alive++;
        close(fds[i]);
    }
    atomic_store(&rss.stop, true);
    pthread_join(sampler, NULL);
    printf("RESULT conns=%lu addrs=%lu bytes_each=%lu sent_total=%lu opened=%lu "
           "still_open_after_hold=%lu peak_rss_anon_kib=%" PRIu64 " status_ms=%.1f "
           "attack_s=%.1f\n",
           conns, addrs, bytes, conns * bytes, opened, alive, rss.anon_kib, status_ms,
           bench_now_s() - t0);
    free(fds);
    return 0;
}
