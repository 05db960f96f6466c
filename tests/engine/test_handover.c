/*
 * The standalone restart hands the listening socket to the successor (ARCHITECTURE.md §11):
 * a node (fake_node --listen 1, the daemon's listener in miniature) upgrades in spawn mode,
 * and the new binary it spawns finds the very socket as fd 3 through LISTEN_FDS with
 * LISTEN_PID = its own pid, serves on the same port, and a client connecting to that port
 * after the old process is gone is not refused. And the successor inherits nothing else:
 * an fd the old process left inheritable (fake_node --leak-fd 1) is not passed on, with a
 * listener or without one.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

/* The number after `key` on node n's last log line containing `needle`, or 0 (waits 4 s). */
static long logged_number(struct world *w, unsigned n, const char *needle, const char *key)
{
    char logp[400], line[512];
    world_log(w, n, logp, sizeof logp);
    for (int tries = 0; tries < 200; tries++) {
        long v = 0;
        FILE *f = fopen(logp, "r");
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            const char *k = strstr(line, needle) != NULL ? strstr(line, key) : NULL;
            if (k != NULL)
                v = strtol(k + strlen(key), NULL, 10);
        }
        if (f != NULL)
            fclose(f);
        if (v > 0)
            return v;
        usleep(20000);
    }
    return 0;
}

/* The value after "Fake inherited fds=" on node n's last such line ("" if none). */
static void last_inherited(struct world *w, unsigned n, char *out, size_t cap)
{
    char logp[400], line[512];
    const char *key = "Fake inherited fds=";
    world_log(w, n, logp, sizeof logp);
    out[0] = '\0';
    FILE *f = fopen(logp, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        const char *k = strstr(line, key);
        if (k != NULL) {
            snprintf(out, cap, "%s", k + strlen(key));
            out[strcspn(out, "\n")] = '\0';
        }
    }
    if (f != NULL)
        fclose(f);
}

static int connect_port(long port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

static void test_spawned_successor_inherits_the_listener(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    const char *args[] = {"--window-ms", "0", "--check-ms", "600000", "--trial-ms", "60000",
                          "--run-ms", "3000", "--listen", "1", "--leak-fd", "1", NULL};
    pid_t a = world_spawn(&w, w.binary, "run", 0, args, NULL);
    CHECK_INT(world_wait(a, 20000), 0);
    /* The successor logs on its own time: wait for its line before counting. */
    long second = logged_number(&w, 0, "inherited=yes", "port=");
    long first = logged_number(&w, 0, "inherited=no", "port=");
    CHECK_INT(world_log_count(&w, 0, "Fake listener port="), 2);
    CHECK(first > 0);
    CHECK_INT(second, first);
    CHECK_INT(world_log_count(&w, 0, "listener=inherited"), 1);
    /* The successor started with the listener as fd 3 and nothing else above stderr (the
     * first process may inherit whatever the test runner leaves open). */
    char fds[512];
    CHECK_INT(world_log_count(&w, 0, "Fake inherited fds="), 2);
    last_inherited(&w, 0, fds, sizeof fds);
    CHECK_STR(fds, "3");
    /* The parent has exited; the 0.2.0 successor holds the socket: connections succeed. */
    long pid = logged_number(&w, 0, "Node started version=0.2.0", "pid=");
    CHECK(pid > 0);
    CHECK(connect_port(first) == 0);
    if (pid > 0)
        kill((pid_t)pid, SIGTERM);
    usleep(200000);
    if (ant_test_failures > 0) {
        char logp[400], cmd[512];
        world_log(&w, 0, logp, sizeof logp);
        snprintf(cmd, sizeof cmd, "tail -20 '%s' >&2", logp);
        if (system(cmd) != 0)
            fprintf(stderr, "  (no log)\n");
    }
    world_free(&w);
}

/* Spawn mode without a listener (posix_spawn): the successor inherits no fd above 2. */
static void test_spawned_successor_inherits_no_stray_fd(void)
{
    struct world w;
    CHECK(world_init(&w, NULL, FAKE_V1) == 0);
    CHECK(world_publish(&w, "0.2.0", FAKE_V2, NULL) == 0);
    const char *args[] = {"--window-ms", "0", "--check-ms", "600000", "--trial-ms", "60000",
                          "--run-ms", "3000", "--leak-fd", "1", NULL};
    pid_t a = world_spawn(&w, w.binary, "run", 0, args, NULL);
    CHECK_INT(world_wait(a, 20000), 0);
    long pid = logged_number(&w, 0, "Node started version=0.2.0", "pid=");
    CHECK(pid > 0);
    char fds[512];
    CHECK_INT(world_log_count(&w, 0, "Fake inherited fds="), 2);
    last_inherited(&w, 0, fds, sizeof fds);
    CHECK_STR(fds, "-");
    if (pid > 0)
        kill((pid_t)pid, SIGTERM);
    usleep(200000);
    if (ant_test_failures > 0) {
        char logp[400], cmd[512];
        world_log(&w, 0, logp, sizeof logp);
        snprintf(cmd, sizeof cmd, "tail -20 '%s' >&2", logp);
        if (system(cmd) != 0)
            fprintf(stderr, "  (no log)\n");
    }
    world_free(&w);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_spawned_successor_inherits_the_listener),
    ANT_TEST(test_spawned_successor_inherits_no_stray_fd),
};

ANT_TEST_MAIN(tests)
