/*
 * The node's side of the service manager (ant/node_service.h, ARCHITECTURE.md §11): READY,
 * STATUS, the watchdog, STOPPING, and the listening socket kept in the manager's fd store
 * across restarts. The watchdog is tied to the serving loop rather than to a timer thread of
 * its own: a ping goes out only while the node's heartbeat is fresh (its acceptor turns
 * and some worker is free to serve, ant_node_heartbeat_ms), so a node whose loop hangs or
 * whose every worker is stuck in a request stops pinging and is killed, which a trial
 * start counts as a failed attempt.
 */
#include "ant/node_service.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/node_client.h"
#include "ant/sysd.h"

#define PROBE_TIMEOUT_MS 5000
#define STATUS_MAX 200

struct ant_node_service {
    const struct ant_node_config *cfg;
    int listenfd;          /* taken from LISTEN_FDS until handed to the node */
    bool inherited;        /* the node serves on a socket the manager already holds */
    uint64_t watchdog_ms;  /* the manager's interval, 0 = none */
    struct ant_node *node; /* set by ant_node_service_ready */
    atomic_bool ready;
    atomic_uint stale_seen; /* stale heartbeats since the last health probe */
    unsigned failed_probes; /* consecutive failed health probes (monitor thread only) */
    pthread_t thread;
    bool thread_running;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Takes our listener from LISTEN_FDS; closes the rest. */
static void take_passed_fds(struct ant_node_service *s)
{
    struct ant_sysd_fd fds[ANT_SYSD_LISTEN_FDS_MAX];
    size_t n = 0;
    ant_err err = ant_sysd_listen_fds(fds, ANT_SYSD_LISTEN_FDS_MAX, &n);
    if (err == ANT_ERR_NOT_FOUND)
        return;
    if (err != ANT_OK) {
        /* ant_sysd_listen_fds made the counted fds close-on-exec: no child inherits them. */
        ant_log(ANT_LOG_WARN, "node", "Ignoring malformed LISTEN_FDS error=%s",
                ant_strerror(err));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (s->listenfd < 0 && strcmp(fds[i].name, ANT_NODE_SERVICE_FDNAME) == 0) {
            err = ant_node_listener_check(s->cfg->listen, fds[i].fd);
            if (err == ANT_OK) {
                s->listenfd = fds[i].fd;
                ant_log(ANT_LOG_INFO, "node", "Taking over listening socket from the service "
                        "manager fd=%d", fds[i].fd);
                continue;
            }
            /* A store that still holds the old socket would hand it back at every start. */
            ant_log(ANT_LOG_WARN, "node",
                    "Passed listening socket does not match listen, binding afresh listen=%s "
                    "error=%s", s->cfg->listen, ant_strerror(err));
            if (ant_sysd_fdstore_remove(ANT_NODE_SERVICE_FDNAME) != ANT_OK)
                ant_log(ANT_LOG_DEBUG, "node", "Could not drop the stale stored listener");
        } else {
            ant_log(ANT_LOG_WARN, "node", "Closing unexpected passed fd fd=%d name=%s",
                    fds[i].fd, fds[i].name);
        }
        close(fds[i].fd);
    }
}

ant_err ant_node_service_new(const struct ant_node_config *cfg, struct ant_node_service **out)
{
    struct ant_node_service *s;
    pthread_condattr_t ca;
    uint64_t usec = 0;

    if (cfg == NULL || out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return ANT_ERR_NOMEM;
    s->cfg = cfg;
    s->listenfd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);

    take_passed_fds(s);
    ant_err err = ant_sysd_watchdog_usec(&usec);
    if (err == ANT_OK)
        s->watchdog_ms = usec / 1000 > 0 ? usec / 1000 : 1;
    else if (err != ANT_ERR_NOT_FOUND)
        ant_log(ANT_LOG_WARN, "node", "Ignoring malformed WATCHDOG_USEC error=%s",
                ant_strerror(err));
    *out = s;
    return ANT_OK;
}

int ant_node_service_take_listener(struct ant_node_service *s)
{
    int fd = s != NULL ? s->listenfd : -1;
    if (s != NULL) {
        s->inherited = fd >= 0;
        s->listenfd = -1;
    }
    return fd;
}

static bool heartbeat_fresh(struct ant_node_service *s)
{
    uint64_t beat = ant_node_heartbeat_ms(s->node), now = mono_ms();
    return beat > now || now - beat < ANT_NODE_SERVICE_STALE_MS;
}

static void *watchdog_main(void *arg)
{
    struct ant_node_service *s = arg;
    uint64_t interval = s->watchdog_ms / 2 > 0 ? s->watchdog_ms / 2 : 1;
    bool warned = false;

    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->mu);
        if (heartbeat_fresh(s)) {
            ant_err err = ant_sysd_notify("WATCHDOG=1");
            if (err != ANT_OK && !warned) {
                ant_log(ANT_LOG_WARN, "node", "Watchdog ping failed error=%s",
                        ant_strerror(err));
                warned = true;
            }
        } else {
            atomic_fetch_add(&s->stale_seen, 1);
            ant_log(ANT_LOG_ERROR, "node",
                    "Serving loop stalled, withholding the watchdog ping stalled_ms=%llu",
                    (unsigned long long)(mono_ms() - ant_node_heartbeat_ms(s->node)));
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (interval % 1000) * 1000000;
        ts.tv_sec += (time_t)(interval / 1000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_mutex_lock(&s->mu);
        while (!s->stop && pthread_cond_timedwait(&s->cond, &s->mu, &ts) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* "serving on port P" plus what the upgrade engine is doing, in words. */
static void format_status(struct ant_node_service *s, const char *state, char *out, size_t cap)
{
    char version[64];
    const char *at_sep;
    uint64_t at = 0;
    unsigned port = s->node != NULL ? ant_node_port(s->node) : 0;
    const char *head = atomic_load(&s->ready) ? "Serving" : "Starting";

    if (state == NULL || strcmp(state, "idle") == 0) {
        snprintf(out, cap, "%s on port %u", head, port);
    } else if (strncmp(state, "scheduled-", 10) == 0 && (at_sep = strstr(state, "-at-")) != NULL &&
               (size_t)(at_sep - state - 10) < sizeof version &&
               ant_sysd_parse_u64(at_sep + 4, INT64_MAX, &at)) {
        /* The version may carry '-' itself (a pre-release): it ends at the "-at-". */
        memcpy(version, state + 10, (size_t)(at_sep - state - 10));
        version[at_sep - state - 10] = '\0';
        time_t t = (time_t)at;
        struct tm tm;
        char when[32] = "?";
        if (gmtime_r(&t, &tm) == NULL ||
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            snprintf(when, sizeof when, "%llu", (unsigned long long)at);
        snprintf(out, cap, "%s on port %u, upgrade to %s scheduled at %s", head, port, version,
                 when);
    } else if (strncmp(state, "trial-", 6) == 0) {
        snprintf(out, cap, "%s on port %u, trial of %s", head, port, state + 6);
    } else if (strncmp(state, "restarting-", 11) == 0) {
        snprintf(out, cap, "Restarting into %s", state + 11);
    } else if (strncmp(state, "applying-", 9) == 0) {
        snprintf(out, cap, "%s on port %u, installing %s", head, port, state + 9);
    } else {
        snprintf(out, cap, "%s on port %u, upgrade %s", head, port, state);
    }
}

void ant_node_service_status(struct ant_node_service *s, const char *upgrade_state)
{
    char text[STATUS_MAX];
    if (s == NULL)
        return;
    format_status(s, upgrade_state, text, sizeof text);
    ant_err err = ant_sysd_status(text);
    if (err != ANT_OK && err != ANT_ERR_NOT_FOUND)
        ant_log(ANT_LOG_DEBUG, "node", "Status notification failed error=%s", ant_strerror(err));
}

ant_err ant_node_service_ready(struct ant_node_service *s, struct ant_node *node)
{
    char text[STATUS_MAX], state[ANT_NODE_UPGRADE_STATE_MAX];
    int fd = -1;

    if (s == NULL || node == NULL)
        return ANT_ERR_INVALID_ARG;
    s->node = node;
    if (s->watchdog_ms > 0) {
        if (pthread_create(&s->thread, NULL, watchdog_main, s) != 0)
            return ANT_ERR_NOMEM;
        s->thread_running = true;
    }
    atomic_store(&s->ready, true);
    ant_node_get_upgrade_state(node, state, sizeof state);
    format_status(s, state, text, sizeof text);
    char msg[sizeof "READY=1\nSTATUS=" + STATUS_MAX];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", text);
    ant_err err = ant_sysd_notify(msg);
    if (err == ANT_ERR_NOT_FOUND)
        return ANT_OK; /* no manager: nothing to store the listener in either */
    if (err != ANT_OK)
        ant_log(ANT_LOG_WARN, "node", "Cannot notify the service manager error=%s",
                ant_strerror(err));
    /* Pushed as soon as we serve, so the socket outlives this process however it ends.
     * A socket that came from the manager is in its store already (systemd 252 would not
     * take a second copy, with FileDescriptorStoreMax=1, and says so). */
    if (!s->inherited && ant_node_dup_listener(node, &fd) == ANT_OK) {
        err = ant_sysd_fdstore(fd, ANT_NODE_SERVICE_FDNAME);
        if (err != ANT_OK)
            ant_log(ANT_LOG_WARN, "node", "Cannot hand the listener to the fd store error=%s",
                    ant_strerror(err));
        close(fd);
    }
    return ANT_OK;
}

/* The probe's socket holds local_port now: the node admits it past the peers' limits. */
static void probe_bound(uint16_t local_port, void *arg)
{
    ant_node_expect_probe(arg, local_port);
}

bool ant_node_service_healthy(void *arg)
{
    struct ant_node_service *s = arg;
    char host[256], addr[300];
    uint16_t port;
    const char *reason = NULL;

    if (s == NULL || !atomic_load(&s->ready) || s->node == NULL) {
        reason = "not-ready";
    } else if (atomic_exchange(&s->stale_seen, 0) > 0 || !heartbeat_fresh(s)) {
        reason = "watchdog";
    } else if (ant_node_split_hostport(s->cfg->listen, host, sizeof host, &port) != ANT_OK) {
        reason = "listen-address";
    } else {
        /* A wildcard listener is probed on loopback; anything else on its own address. */
        const char *h = strcmp(host, "0.0.0.0") == 0 ? "127.0.0.1"
                        : strcmp(host, "::") == 0    ? "::1"
                                                     : host;
        snprintf(addr, sizeof addr, strchr(h, ':') != NULL ? "[%s]:%u" : "%s:%u", h,
                 (unsigned)ant_node_port(s->node));
        struct ant_node_client *c = NULL;
        ant_err err = ant_node_client_connect_bound(addr, PROBE_TIMEOUT_MS, probe_bound,
                                                    s->node, &c);
        if (err == ANT_OK)
            err = ant_node_client_ping(c);
        /* The registration ends with this attempt, while the socket still holds the port
         * (connect returns before the node has accepted: not earlier). */
        ant_node_expect_probe(s->node, 0);
        ant_node_client_close(c);
        if (err != ANT_OK)
            reason = "ping";
    }
    if (reason == NULL) {
        s->failed_probes = 0;
        return true;
    }
    ant_log(ANT_LOG_WARN, "node", "Health check failed reason=%s", reason);
    if (s != NULL && ++s->failed_probes >= ANT_NODE_SERVICE_TRIAL_PROBES &&
        s->cfg->stop_on_upgrade && s->node != NULL) {
        /* Up but never healthy is a hang the manager cannot see: leave, so the start is
         * counted as a failed attempt and the next one (or the rollback) follows. */
        ant_log(ANT_LOG_ERROR, "node", "Trial start never became healthy, exiting probes=%u",
                s->failed_probes);
        ant_node_request_exit(s->node, ANT_NODE_SERVICE_EXIT_UNHEALTHY, "unhealthy");
    }
    return false;
}

static void stop_thread(struct ant_node_service *s)
{
    if (!s->thread_running)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->thread_running = false;
}

void ant_node_service_stopping(struct ant_node_service *s, int exit_code)
{
    char msg[96];
    if (s == NULL)
        return;
    stop_thread(s);
    snprintf(msg, sizeof msg, "STOPPING=1\nSTATUS=%s (exit %d)",
             exit_code == ANT_NODE_EXIT_RESTART ? "Restarting for an upgrade" : "Stopping",
             exit_code);
    ant_err err = ant_sysd_notify(msg);
    if (err != ANT_OK && err != ANT_ERR_NOT_FOUND)
        ant_log(ANT_LOG_DEBUG, "node", "Stopping notification failed error=%s", ant_strerror(err));
}

void ant_node_service_free(struct ant_node_service *s)
{
    if (s == NULL)
        return;
    stop_thread(s);
    if (s->listenfd >= 0)
        close(s->listenfd);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
