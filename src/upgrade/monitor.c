/*
 * The engine object and the monitor thread (ARCHITECTURE.md §5 step 1).
 *
 * The first check comes 30-90 s after start (random, so nodes started together do not
 * check together), then every check interval ±5 % jitter. While a pending release waits
 * for its rollout time, the thread wakes at that time rather than at the next interval,
 * so restarts follow the per-node schedule and not the check grid. A trial boot is
 * confirmed by the same thread once the node has been healthy for the trial period;
 * until then no further upgrade is attempted (a second upgrade would back up an
 * unconfirmed binary). When a restart is due the thread asks the daemon to shut down and
 * ends; the daemon calls ant_upgrade_restart() after its clean shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/relcache.h"
#include "ant/releases.h"
#include "ant/version.h"
#include "upgrade/engine.h"
#include "upgrade/upgrade_metrics.h"

void ant_upgrade_config_init(struct ant_upgrade_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->api_url = "https://api.github.com";
    cfg->repo = "WithAutonomi/ant-node";
    cfg->channel = "stable";
    cfg->archive_cap = (uint64_t)200 << 20;
    cfg->lock_timeout_ms = 120000;
    cfg->transfer_timeout_ms = 600000;
    cfg->release_ttl_ms = 3600000;
    cfg->check_interval_ms = 3600000;
    cfg->first_check_min_ms = 30000;
    cfg->first_check_max_ms = 90000;
    cfg->rollout_window_ms = 86400000;
    cfg->trial_period_ms = 60000;
    cfg->trial_max_attempts = 3;
    cfg->bad_version_backoff_ms = 86400000;
    cfg->bad_version_max_marks = 3;
    cfg->auto_upgrade = true;
}

static uint64_t random_u64(void)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        /* Jitter only spreads load; a clock-derived value is good enough if getrandom fails. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = ((uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15)) ^ (uint64_t)getpid();
    }
    return r;
}

/* Uniform in [lo, hi] (hi >= lo). */
static uint64_t uniform(uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = hi - lo;
    if (span == UINT64_MAX)
        return random_u64();
    return lo + random_u64() % (span + 1);
}

static uint64_t jittered_interval(const struct ant_upgrade *u)
{
    uint64_t iv = u->cfg.check_interval_ms;
    uint64_t j = iv / 20; /* ±5 % */
    return uniform(iv - j, iv + j);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ant_err ant_upgrade_set_peer_id(struct ant_upgrade *u, const char *peer_id)
{
    if (u == NULL || peer_id == NULL || peer_id[0] == '\0' ||
        !state_copy(u->peer_id, sizeof u->peer_id, peer_id))
        return ANT_ERR_INVALID_ARG;
    return ANT_OK;
}

ant_err ant_upgrade_new(const struct ant_upgrade_config *cfg, int argc, char *const argv[],
                        struct ant_upgrade **out)
{
    struct ant_upgrade *u = NULL;
    ant_err err = ANT_ERR_INVALID_ARG;

    *out = NULL;
    if (cfg == NULL || cfg->root_dir == NULL || cfg->root_dir[0] == '\0' || argc < 1 ||
        argv == NULL || argv[0] == NULL)
        return ANT_ERR_INVALID_ARG;
    if (cfg->channel != NULL && strcmp(cfg->channel, "stable") != 0 &&
        strcmp(cfg->channel, "beta") != 0)
        return ANT_ERR_INVALID_ARG;
    u = calloc(1, sizeof *u);
    if (u == NULL)
        return ANT_ERR_NOMEM;
    u->rootfd = -1;
    u->cachefd = -1;
    u->cfg = *cfg;
    if (u->cfg.channel == NULL)
        u->cfg.channel = "stable";
    if (u->cfg.api_url == NULL)
        u->cfg.api_url = "https://api.github.com";
    if (u->cfg.repo == NULL)
        u->cfg.repo = "WithAutonomi/ant-node";
    if (u->cfg.trial_max_attempts == 0)
        u->cfg.trial_max_attempts = 3;
    if (u->cfg.bad_version_backoff_ms == 0)
        u->cfg.bad_version_backoff_ms = 86400000;
    if (u->cfg.bad_version_max_marks == 0)
        u->cfg.bad_version_max_marks = 3;
    if (u->cfg.archive_cap == 0)
        u->cfg.archive_cap = (uint64_t)200 << 20;
    atomic_init(&u->restart_pending, false);
    if (pthread_mutex_init(&u->mu, NULL) != 0) {
        free(u);
        return ANT_ERR_IO;
    }
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        pthread_mutex_destroy(&u->mu);
        free(u);
        return ANT_ERR_IO;
    }
    /* The attribute is destroyed on both paths once it was initialised. */
    bool cond_ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
                   pthread_cond_init(&u->cond, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!cond_ok) {
        pthread_mutex_destroy(&u->mu);
        free(u);
        return ANT_ERR_IO;
    }
    u->started_ms = mono_ms();

    const char *running = cfg->running_version != NULL ? cfg->running_version : ANT_VERSION_STRING;
    if (ant_semver_parse(running, &u->running_v) != ANT_OK ||
        !ant_semver_format(&u->running_v, u->running, sizeof u->running))
        goto out;
    if (cfg->peer_id != NULL && cfg->peer_id[0] != '\0') {
        err = ant_upgrade_set_peer_id(u, cfg->peer_id);
        if (err != ANT_OK)
            goto out;
    }
    if (cfg->cache_dir != NULL && cfg->cache_dir[0] != '\0') {
        if (!state_copy(u->cache_dir, sizeof u->cache_dir, cfg->cache_dir))
            goto out;
    } else if (ant_cache_default_dir(u->cache_dir, sizeof u->cache_dir) != ANT_OK) {
        /* No usable default: the engine proceeds uncached (ARCHITECTURE.md §4). */
        u->cache_dir[0] = '\0';
    }
    if (cfg->metadata_url != NULL && cfg->metadata_url[0] != '\0' &&
        !ant_http_url_allowed(cfg->metadata_url)) {
        /* Plain http reaches only loopback (as for the release API): refused at start, not
         * at the first check an hour later. */
        err = ANT_ERR_INSECURE_URL;
        goto out;
    }
    err = engine_resolve_binary(u, cfg->binary_path);
    if (err != ANT_OK)
        goto out;
    err = ant_fsx_open_trusted_dir(cfg->root_dir, true, &u->rootfd);
    if (err != ANT_OK)
        goto out;
    /* Without its secret the node still upgrades, on the public delay (logged). */
    if (rollout_secret_load(u->rootfd, u->secret) == ANT_OK) {
        u->secret_len = sizeof u->secret;
    } else {
        explicit_bzero(u->secret, sizeof u->secret);
        ant_log(ANT_LOG_WARN, "upgrade",
                "No rollout secret, the rollout delay is the public formula file=%s",
                ANT_UPGRADE_SECRET_FILE);
    }
    /* A crash during an uncached upgrade leaves its staging dir (up to an archive and a
     * binary) in the root; nothing else would ever remove it. */
    engine_sweep_root_staging(u);
    /* The shared cache is opened once; if it is unsafe (the cache logged why) or cannot be
     * created, upgrades still run, uncached (ARCHITECTURE.md §4). */
    if (u->cache_dir[0] != '\0') {
        if (ant_cache_open(u->cache_dir, u->cfg.archive_cap, &u->cache) == ANT_OK) {
            u->cachefd = ant_cache_dirfd(u->cache);
        } else {
            ant_log(ANT_LOG_WARN, "upgrade", "Cache dir refused, upgrading without cache path=%s",
                    u->cache_dir);
            u->cache = NULL;
        }
    }

    u->argv = calloc((size_t)argc + 1, sizeof *u->argv);
    if (u->argv == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    u->argc = argc;
    for (int i = 0; i < argc; i++) {
        u->argv[i] = strdup(argv[i] != NULL ? argv[i] : "");
        if (u->argv[i] == NULL) {
            err = ANT_ERR_NOMEM;
            goto out;
        }
    }
    *out = u;
    u = NULL;
    err = ANT_OK;
out:
    ant_upgrade_free(u);
    return err;
}

void ant_upgrade_free(struct ant_upgrade *u)
{
    if (u == NULL)
        return;
    upgrade_metrics_detach(u); /* metrics: before anything its collector reads goes */
    ant_upgrade_monitor_stop(u);
    if (u->abandoned)
        return; /* still in use by the monitor thread; the process exit reclaims it */
    if (u->rootfd >= 0)
        close(u->rootfd);
    ant_cache_close(u->cache);
    if (u->argv != NULL) {
        for (int i = 0; i < u->argc; i++)
            free(u->argv[i]);
        free(u->argv);
    }
    pthread_cond_destroy(&u->cond);
    pthread_mutex_destroy(&u->mu);
    explicit_bzero(u->secret, sizeof u->secret);
    free(u);
}

/* Sleeps up to `ms` or until stopped. Returns true if stop was requested. */
static bool wait_ms(struct ant_upgrade *u, uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (ms % 1000) * 1000000u;
    ts.tv_sec += (time_t)(ms / 1000) + (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_mutex_lock(&u->mu);
    while (!u->stop) {
        int rc = pthread_cond_timedwait(&u->cond, &u->mu, &ts);
        if (rc == ETIMEDOUT)
            break;
    }
    bool stop = u->stop;
    pthread_mutex_unlock(&u->mu);
    return stop;
}

static void *monitor_main(void *arg)
{
    struct ant_upgrade *u = arg;
    uint64_t iv = u->cfg.check_interval_ms;
    uint64_t lo = u->cfg.first_check_min_ms, hi = u->cfg.first_check_max_ms;
    /* A short check interval (devnet, tests) also shortens the first wait. */
    if (hi > iv)
        hi = iv;
    if (lo > hi)
        lo = hi;
    int64_t next_check = mono_ms() + (int64_t)uniform(lo, hi);

    for (;;) {
        int64_t now = mono_ms();
        if (u->trial_open) {
            int64_t confirm_at = u->started_ms + (int64_t)u->cfg.trial_period_ms;
            if (now >= confirm_at) {
                bool healthy = u->cfg.healthy == NULL || u->cfg.healthy(u->cfg.healthy_arg);
                if (healthy) {
                    ant_err err = ant_upgrade_confirm(u);
                    if (err != ANT_OK)
                        ant_log(ANT_LOG_WARN, "upgrade", "Cannot confirm trial boot error=%s",
                                ant_strerror(err));
                } else {
                    /* Not healthy yet: look again after another trial period. */
                    u->started_ms = now;
                }
                continue;
            }
            if (wait_ms(u, (uint64_t)(confirm_at - now)))
                break;
            continue;
        }
        if (now < next_check) {
            if (wait_ms(u, (uint64_t)(next_check - now)))
                break;
            continue;
        }
        if (!u->cfg.auto_upgrade)
            break; /* only trial confirmation was wanted */
        uint64_t next_ms = jittered_interval(u);
        ant_err err = ant_upgrade_run_once(u, &next_ms);
        if (err != ANT_OK)
            next_ms = jittered_interval(u);
        /* Also after a failed check (the release server may be down): getting off an
         * unlinked inode needs no network. At this node's own jittered check time, so the
         * nodes of a host do not all restart at once after a rollback. */
        if (!atomic_load(&u->restart_pending))
            engine_check_stale_exe(u);
        if (atomic_load(&u->restart_pending)) {
            if (u->cfg.request_shutdown != NULL)
                u->cfg.request_shutdown(u->cfg.request_shutdown_arg);
            break;
        }
        next_check = mono_ms() + (int64_t)next_ms;
    }
    pthread_mutex_lock(&u->mu);
    u->thread_done = true;
    pthread_cond_broadcast(&u->cond);
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

ant_err ant_upgrade_monitor_start(struct ant_upgrade *u)
{
    if (u == NULL || u->thread_running)
        return ANT_ERR_INVALID_ARG;
    if (u->cfg.auto_upgrade && u->peer_id[0] == '\0')
        return ANT_ERR_INVALID_ARG;
    u->stop = false;
    u->thread_done = false;
    if (pthread_create(&u->thread, NULL, monitor_main, u) != 0)
        return ANT_ERR_IO;
    u->thread_running = true;
    upgrade_metrics_attach(u); /* metrics */
    return ANT_OK;
}

void ant_upgrade_monitor_stop(struct ant_upgrade *u)
{
    if (u == NULL || !u->thread_running)
        return;
    /* A sleeping monitor wakes at once; one inside a download or a lock wait only notices
     * when that returns (up to the transfer timeout). Shutdown must not wait that long:
     * after MONITOR_STOP_WAIT_MS the thread is left behind (the process is about to exit,
     * and every step of an upgrade is crash-safe) and the engine object is never freed. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += MONITOR_STOP_WAIT_MS / 1000;
    pthread_mutex_lock(&u->mu);
    u->stop = true;
    pthread_cond_broadcast(&u->cond);
    while (!u->thread_done) {
        if (pthread_cond_timedwait(&u->cond, &u->mu, &deadline) == ETIMEDOUT)
            break;
    }
    bool done = u->thread_done;
    pthread_mutex_unlock(&u->mu);
    if (done) {
        pthread_join(u->thread, NULL);
    } else {
        ant_log(ANT_LOG_WARN, "upgrade", "Upgrade monitor busy at shutdown, leaving it behind");
        pthread_detach(u->thread);
        u->abandoned = true;
    }
    u->thread_running = false;
}

ant_err ant_upgrade_run_once(struct ant_upgrade *u, uint64_t *next_ms)
{
    struct ant_upgrade_plan plan;
    uint64_t iv = jittered_interval(u);
    *next_ms = iv;
    ant_err err = ant_upgrade_check(u, true, &plan);
    upgrade_metrics_check(err, plan.available); /* metrics */
    if (err != ANT_OK || !plan.available)
        return err;
    int64_t now = engine_now();
    if (plan.held) {
        /* Halted, or not a candidate at the cursor (ARCHITECTURE.md §10): the persisted
         * schedule waits; the next check sees a resumed or raised cursor. */
        engine_notify(u, "held-%s", plan.version);
        return ANT_OK;
    }
    if (now < plan.scheduled_at) {
        engine_notify(u, "scheduled-%s-at-%lld", plan.version, (long long)plan.scheduled_at);
        uint64_t wait = (uint64_t)(plan.scheduled_at - now) * 1000u;
        if (wait < *next_ms)
            *next_ms = wait;
        return ANT_OK;
    }
    return ant_upgrade_apply(u, &plan);
}

static ant_err format_kv(char **text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static ant_err format_kv(char **text, const char *fmt, ...)
{
    va_list ap, ap2;
    *text = NULL;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0) {
        *text = malloc((size_t)n + 1);
        if (*text != NULL)
            vsnprintf(*text, (size_t)n + 1, fmt, ap2);
    }
    va_end(ap2);
    return *text != NULL ? ANT_OK : ANT_ERR_NOMEM;
}

/* One bad-version mark as `upgrade status` shows it: why, how often, and until when. */
static json_object *mark_json(const struct ant_upgrade *u, const struct bad_mark *m,
                              const char *scope, int64_t now)
{
    json_object *o = json_object_new_object();
    int64_t retry = bad_mark_retry_at(m, u->cfg.bad_version_backoff_ms,
                                      u->cfg.bad_version_max_marks);
    json_object *f[] = {json_object_new_string(m->version), json_object_new_string(scope),
                        json_object_new_string(m->reason), json_object_new_int64(m->marks),
                        json_object_new_int64(u->cfg.bad_version_max_marks),
                        json_object_new_int64(m->marked_at), json_object_new_int64(retry),
                        json_object_new_boolean(retry < 0 || now < retry)};
    static const char *const keys[] = {"version",   "scope",     "reason",   "marks",
                                       "max_marks", "marked_at", "retry_at", "blocked"};
    bool ok = o != NULL;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (ok && f[i] != NULL && json_object_object_add(o, keys[i], f[i]) == 0)
            continue;
        ok = false;
        json_object_put(f[i]);
    }
    if (!ok) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static ant_err append(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ant_err append(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ANT_ERR_INTERNAL;
    char *p = realloc(*buf, *len + (size_t)n + 1);
    if (p == NULL)
        return ANT_ERR_NOMEM;
    *buf = p;
    va_start(ap, fmt);
    vsnprintf(p + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
    return ANT_OK;
}


ant_err ant_upgrade_status(struct ant_upgrade *u, bool json, char **text)
{
    struct upgrade_state st;
    struct bad_mark host[HOST_BAD_MAX];
    size_t nhost = 0;
    char *state_json = NULL;
    int64_t now = engine_now();
    ant_err err;

    *text = NULL;
    err = state_load(u->rootfd, &st);
    if (err != ANT_OK)
        return err;
    if (engine_host_bad_list(u, host, HOST_BAD_MAX, &nhost) != ANT_OK)
        nhost = 0;
    struct engine_meta_record mrec;
    if (engine_meta_load(u->rootfd, &mrec) != ANT_OK) {
        memset(&mrec, 0, sizeof mrec);
        mrec.checked = true;
        mrec.status.state = ANT_META_INVALID;
        state_copy(mrec.status.error, sizeof mrec.status.error,
                   ENGINE_META_STATE_FILE " unreadable");
    }
    if (json) {
        err = state_to_json(&st, &state_json);
        if (err != ANT_OK)
            return err;
        /* The state object plus what only the running engine knows. */
        json_object *root = json_object_new_object();
        json_object *state = json_tokener_parse(state_json);
        free(state_json);
        json_object *run = json_object_new_string(u->running);
        json_object *bin = json_object_new_string(u->binary_path);
        json_object *marks = json_object_new_array();
        json_object *meta = engine_meta_json(&mrec);
        if (root == NULL || meta == NULL || json_object_object_add(root, "metadata", meta) != 0) {
            json_object_put(meta);
            meta = NULL;
        }
        /* null until a scheduling check ran (ARCHITECTURE.md §10). */
        json_object *ro = engine_rollout_status_json(u->rootfd);
        if (root == NULL || json_object_object_add(root, "rollout", ro) != 0) {
            json_object_put(ro);
            json_object_put(meta);
            meta = NULL;
        }
        if (root == NULL || state == NULL || run == NULL || bin == NULL || marks == NULL ||
            meta == NULL ||
            json_object_object_add(root, "running", run) != 0 ||
            (run = NULL, json_object_object_add(root, "binary", bin) != 0) ||
            (bin = NULL, json_object_object_add(root, "state", state) != 0) ||
            (state = NULL, json_object_object_add(root, "bad_versions", marks) != 0)) {
            json_object_put(root);
            json_object_put(state);
            json_object_put(run);
            json_object_put(bin);
            json_object_put(marks);
            return ANT_ERR_NOMEM;
        }
        for (size_t i = 0; i < st.nbad + nhost; i++) {
            json_object *m = i < st.nbad ? mark_json(u, &st.bad[i], "node", now)
                                         : mark_json(u, &host[i - st.nbad], "host", now);
            if (m == NULL || json_object_array_add(marks, m) != 0) {
                json_object_put(m);
                json_object_put(root);
                return ANT_ERR_NOMEM;
            }
        }
        const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
        err = s != NULL ? format_kv(text, "%s\n", s) : ANT_ERR_NOMEM;
        json_object_put(root);
        return err;
    }
    char bad[STATE_BAD_MAX * ANT_SEMVER_TEXT_MAX + 1] = "";
    size_t off = 0;
    for (size_t i = 0; i < st.nbad; i++) {
        int n = snprintf(bad + off, sizeof bad - off, "%s%s", i ? "," : "", st.bad[i].version);
        if (n < 0 || (size_t)n >= sizeof bad - off)
            break;
        off += (size_t)n;
    }
    char *out = NULL;
    size_t len = 0;
    err = append(
        &out, &len,
        "running: %s\nbinary: %s\nfloor: %s\nconfirmed: %s\npending: %s\nfirst_seen: %lld\n"
        "scheduled_at: %lld\ntrial: %s\ntrial_attempts: %u\nbad_versions: %s\n"
        "last_error: %s%s%s%s%s\n",
        u->running, u->binary_path, st.floor[0] ? st.floor : "-",
        st.confirmed[0] ? st.confirmed : "-",
        st.pending.version[0] ? st.pending.version : "-", (long long)st.pending.first_seen,
        (long long)st.pending.scheduled_at, st.trial.version[0] ? st.trial.version : "-",
        st.trial.attempts, bad[0] ? bad : "-", st.last_error.stage[0] ? st.last_error.stage : "-",
        st.last_error.stage[0] ? " " : "", st.last_error.version,
        st.last_error.stage[0] ? " " : "", st.last_error.error);
    if (err == ANT_OK) {
        json_object *ro = engine_rollout_status_json(u->rootfd), *rs = NULL;
        err = append(&out, &len, "rollout: %s\n",
                     ro != NULL && json_object_object_get_ex(ro, "reason", &rs) &&
                             json_object_is_type(rs, json_type_string)
                         ? json_object_get_string(rs)
                         : "no scheduling check yet");
        json_object_put(ro);
    }
    if (err == ANT_OK) {
        char expires[32] = "-";
        if (mrec.status.timestamp_expires > 0 &&
            !ant_meta_time_format(mrec.status.timestamp_expires, expires, sizeof expires))
            snprintf(expires, sizeof expires, "-");
        err = append(&out, &len,
                     "metadata: %s root_version=%llu targets_version=%llu "
                     "timestamp_version=%llu timestamp_expires=%s\nmetadata_error: %s\n",
                     ant_meta_state_name(mrec.status.state),
                     (unsigned long long)mrec.status.root_version,
                     (unsigned long long)mrec.status.targets_version,
                     (unsigned long long)mrec.status.timestamp_version, expires,
                     !mrec.checked                  ? "no metadata check yet"
                     : mrec.status.error[0] != '\0' ? mrec.status.error
                                                    : "-");
    }
    /* One line per mark, node's and host's: why the version is out and until when. */
    for (size_t i = 0; err == ANT_OK && i < st.nbad + nhost; i++) {
        const struct bad_mark *m = i < st.nbad ? &st.bad[i] : &host[i - st.nbad];
        int64_t retry = bad_mark_retry_at(m, u->cfg.bad_version_backoff_ms,
                                          u->cfg.bad_version_max_marks);
        char rt[32];
        if (retry < 0)
            snprintf(rt, sizeof rt, "never");
        else
            snprintf(rt, sizeof rt, "%lld", (long long)retry);
        err = append(&out, &len,
                     "bad_version: %s scope=%s reason=%s marks=%u/%u marked_at=%lld "
                     "retry_at=%s blocked=%s\n",
                     m->version, i < st.nbad ? "node" : "host", m->reason, m->marks,
                     u->cfg.bad_version_max_marks, (long long)m->marked_at, rt,
                     retry < 0 || now < retry ? "yes" : "no");
    }
    if (err != ANT_OK) {
        free(out);
        return err;
    }
    *text = out;
    return ANT_OK;
}

ant_err ant_upgrade_plan_format(const struct ant_upgrade_plan *plan, bool json, char **text)
{
    if (json) {
        json_object *o = json_object_new_object();
        json_object *ro = plan->rollout || plan->available ? json_object_new_object() : NULL;
        json_object *f[] = {
            json_object_new_boolean(plan->available),
            json_object_new_string(plan->running),
            json_object_new_string(plan->floor),
            json_object_new_string(plan->version),
            json_object_new_int64(plan->first_seen),
            json_object_new_int64(plan->scheduled_at),
            json_object_new_int64((int64_t)plan->delay_ms),
            json_object_new_boolean(plan->held),
            json_object_new_boolean(plan->urgent),
            json_object_new_string(plan->reason),
        };
        static const char *const keys[] = {"available", "running",  "floor",    "version",
                                           "first_seen", "scheduled_at", "delay_ms", "held",
                                           "urgent",    "reason"};
        json_object *rf[] = {
            plan->rollout ? json_object_new_string(plan->rollout_version) : NULL,
            plan->rollout ? json_object_new_string(plan->cursor) : NULL,
            json_object_new_boolean(plan->halted),
            json_object_new_boolean(plan->available && plan->candidate),
            json_object_new_string(plan->reason),
        };
        static const char *const rkeys[] = {"version", "cursor", "halted", "candidate",
                                            "reason"};
        bool ok = o != NULL;
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
            if (ok && f[i] != NULL && json_object_object_add(o, keys[i], f[i]) == 0)
                continue;
            ok = false;
            json_object_put(f[i]);
        }
        for (size_t i = 0; i < sizeof rf / sizeof rf[0]; i++) {
            if (ok && ro != NULL && (rf[i] != NULL || i < 2) &&
                json_object_object_add(ro, rkeys[i], rf[i]) == 0)
                continue;
            json_object_put(rf[i]);
            ok = ok && ro == NULL;
        }
        if (ok && json_object_object_add(o, "rollout", ro) == 0)
            ro = NULL;
        else
            ok = false;
        json_object_put(ro);
        const char *t = ok ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
        ant_err err = t != NULL ? format_kv(text, "%s\n", t) : ANT_ERR_NOMEM;
        json_object_put(o);
        return err;
    }
    if (!plan->available)
        return format_kv(text, "running: %s\nfloor: %s\nupgrade: none\nreason: %s\n",
                         plan->running, plan->floor[0] ? plan->floor : "-",
                         plan->reason[0] ? plan->reason : "-");
    return format_kv(text,
                     "running: %s\nfloor: %s\nupgrade: %s\nfirst_seen: %lld\nscheduled_at: %lld\n"
                     "delay_ms: %llu\nreason: %s\n",
                     plan->running, plan->floor[0] ? plan->floor : "-", plan->version,
                     (long long)plan->first_seen, (long long)plan->scheduled_at,
                     (unsigned long long)plan->delay_ms, plan->reason);
}

/*
 * The rollout control of ARCHITECTURE.md §10 for the selected version `sel`, from the same
 * fresh metadata that listed it. The cursor steers only the version the timestamp names:
 * for any other (a timestamp without a rollout, or naming an older release) the window
 * alone applies, as before the cursor existed. A timestamp naming a version targets does
 * not list cannot install it: selection only ever offers listed versions, so such a
 * cursor matches nothing (its halt flag still holds the fleet). `halted` stops every
 * version: it is the operator's brake, and minimum_version does not release it. Cursor 0
 * makes nobody a candidate (status says halted), but a node below minimum_version or on a
 * yanked version still upgrades: that path skips the cursor by design.
 */
static ant_err rollout_decide(const struct ant_upgrade *u, const struct ant_meta_trusted *meta,
                              const struct ant_semver *sel, struct rollout_decision *dec)
{
    const struct ant_meta_targets *t = ant_meta_trusted_targets(meta);
    const struct ant_meta_timestamp *ts = ant_meta_trusted_timestamp(meta);
    struct ant_semver rv, minv;

    memset(dec, 0, sizeof *dec);
    dec->candidate = true;
    if (t != NULL) {
        const char *m = ant_meta_targets_minimum_version(t);
        if (m != NULL && m[0] != '\0' && ant_semver_parse(m, &minv) == ANT_OK) {
            state_copy(dec->minimum, sizeof dec->minimum, m);
            dec->below_minimum = ant_semver_compare(&u->running_v, &minv) < 0;
        }
        dec->running_yanked = ant_meta_targets_is_yanked(t, u->running);
    }
    if (ts == NULL)
        return ANT_OK;
    ant_meta_timestamp_rollout(ts, &dec->ro);
    if (!dec->ro.present)
        return ANT_OK;
    dec->present = true;
    dec->halted = dec->ro.halted;
    dec->applies = ant_semver_parse(dec->ro.version, &rv) == ANT_OK &&
                   ant_semver_compare(&rv, sel) == 0;
    if (!dec->applies)
        return ANT_OK;
    if (dec->ro.cursor_ppm == 0) {
        dec->cursor_zero = true; /* nobody starts (§10), whatever H is */
        dec->candidate = false;
        return ANT_OK;
    }
    return ant_upgrade_rollout_candidate(dec->ro.seed, u->peer_id, dec->ro.cursor_ppm,
                                         &dec->candidate);
}

/* Fills the plan's rollout fields and its one-line reason from the decision. */
static void plan_rollout(struct ant_upgrade_plan *plan, const struct rollout_decision *dec,
                         const char *running, int64_t now)
{
    enum rollout_mode mode = rollout_mode_of(dec);
    plan->rollout = dec->present;
    plan->halted = dec->halted || dec->cursor_zero;
    plan->candidate = dec->candidate;
    plan->urgent = mode == ROLLOUT_NOW;
    if (dec->present) {
        state_copy(plan->rollout_version, sizeof plan->rollout_version, dec->ro.version);
        rollout_cursor_text(dec->ro.cursor_ppm, plan->cursor, sizeof plan->cursor);
    }
    plan->held = dec->halted || mode == ROLLOUT_WAIT;
    if (dec->halted)
        snprintf(plan->reason, sizeof plan->reason,
                 "halted: the rollout of %s is halted, no upgrade starts", dec->ro.version);
    else if (dec->running_yanked)
        snprintf(plan->reason, sizeof plan->reason,
                 "running version %s is yanked: upgrading to %s now", running, plan->version);
    else if (dec->below_minimum)
        snprintf(plan->reason, sizeof plan->reason,
                 "below minimum version %s: upgrading to %s now", dec->minimum, plan->version);
    else if (dec->cursor_zero)
        snprintf(plan->reason, sizeof plan->reason,
                 "halted: the rollout of %s is at cursor 0%%, no upgrade starts", plan->version);
    else if (mode == ROLLOUT_WAIT)
        snprintf(plan->reason, sizeof plan->reason, "not a candidate at %s%% for %s",
                 plan->cursor, plan->version);
    else if (plan->scheduled_at > now && dec->applies)
        snprintf(plan->reason, sizeof plan->reason,
                 "candidate at %s%%: waiting for the rollout window until %lld", plan->cursor,
                 (long long)plan->scheduled_at);
    else if (plan->scheduled_at > now)
        snprintf(plan->reason, sizeof plan->reason,
                 "no cursor for %s: waiting for the rollout window until %lld", plan->version,
                 (long long)plan->scheduled_at);
    else
        snprintf(plan->reason, sizeof plan->reason, "%s: upgrading to %s now",
                 dec->applies ? "candidate, window passed" : "window passed", plan->version);
}

/* Once per scheduling check: why the gate is open or shut (LOG-EVENTS.md). */
static void rollout_log(const struct ant_upgrade_plan *plan, const struct rollout_decision *dec)
{
    if (dec->halted || (dec->cursor_zero && !plan->urgent))
        ant_log(ANT_LOG_INFO, "upgrade", "Rollout halted, not upgrading version=%s rollout=%s "
                "cursor=%s", plan->version, plan->rollout_version, plan->cursor);
    else if (dec->running_yanked)
        ant_log(ANT_LOG_WARN, "upgrade", "Running a yanked version, upgrading now running=%s "
                "version=%s", plan->running, plan->version);
    else if (dec->below_minimum)
        ant_log(ANT_LOG_WARN, "upgrade", "Below minimum version, upgrading now running=%s "
                "minimum=%s version=%s", plan->running, dec->minimum, plan->version);
    else if (plan->held)
        ant_log(ANT_LOG_INFO, "upgrade", "Not a rollout candidate version=%s cursor=%s",
                plan->version, plan->cursor);
}

/* Versions passed over in one check because targets does not list them (or yanks them):
 * each is excluded and the selection runs again, so a newer unlisted release in the list
 * does not hide an older listed one. */
#define META_SKIP_MAX 16

/* Steps 2-3: the release list (through releases.json), the signed metadata (§9) and the
 * one release to try (`named`: only that version, whatever the channel; see engine.h). */
ant_err engine_discover_select(struct ant_upgrade *u, const struct upgrade_state *st,
                               const struct ant_semver *named,
                               struct ant_release_choice *choice,
                               struct ant_meta_target *entry, struct rollout_decision *dec,
                               bool *found)
{
    struct ant_release_list *list = NULL;
    struct ant_relcache_opts ro;
    struct ant_http_opts http;
    struct ant_release_criteria crit;
    struct ant_semver floor, bad[STATE_BAD_MAX + HOST_BAD_MAX + META_SKIP_MAX];
    struct bad_mark hostmarks[HOST_BAD_MAX];
    size_t nbad = 0, nhost = 0;
    ant_err err;

    *found = false;
    memset(dec, 0, sizeof *dec);
    engine_http_opts(u, &http);
    ant_relcache_opts_init(&ro);
    ro.api_url = u->cfg.api_url;
    ro.repo = u->cfg.repo;
    ro.http = &http;
    ro.ttl_s = (unsigned)(u->cfg.release_ttl_ms / 1000 > UINT32_MAX ? UINT32_MAX
                                                                    : u->cfg.release_ttl_ms / 1000);
    if (ro.ttl_s == 0)
        ro.ttl_s = 1; /* 0 would mean the default hour */
    ro.lock_timeout_ms = u->cfg.lock_timeout_ms;
    struct ant_meta_trusted *meta = NULL;
    struct ant_meta_status mstatus;
    enum ant_relcache_source src = ANT_RELCACHE_HIT;
    err = ant_relcache_get(u->cachefd, &ro, &list, &src);
    if (err != ANT_OK)
        return err;
    /* No install without fresh metadata: a stale, expired, missing or invalid set leaves
     * the node on its version (engine_meta_refresh logged the state once). A release list
     * fetched now brings the metadata with it, so a release and its targets entry are
     * seen together rather than up to one TTL apart. */
    err = engine_meta_refresh(u, src == ANT_RELCACHE_FETCHED, &meta, &mstatus);
    if (err != ANT_OK || meta == NULL || mstatus.state != ANT_META_FRESH)
        goto out;

    memset(&crit, 0, sizeof crit);
    crit.running = u->running_v;
    if (st->floor[0] != '\0' && ant_semver_parse(st->floor, &floor) == ANT_OK)
        crit.floor = &floor;
    if (!ant_release_channel_parse(u->cfg.channel, &crit.channel)) {
        err = ANT_ERR_INVALID_ARG;
        goto out;
    }
    crit.platform = ant_release_host_platform();
    if (crit.platform == NULL) {
        err = ANT_ERR_PLATFORM;
        goto out;
    }
    /* Only marks still in force keep a version out; an expired one is retried once more
     * (see struct bad_mark). */
    int64_t now = engine_now();
    for (size_t i = 0; i < st->nbad; i++) {
        if (bad_mark_blocks(&st->bad[i], now, u->cfg.bad_version_backoff_ms,
                            u->cfg.bad_version_max_marks) &&
            ant_semver_parse(st->bad[i].version, &bad[nbad]) == ANT_OK)
            nbad++;
    }
    if (engine_host_bad_list(u, hostmarks, HOST_BAD_MAX, &nhost) == ANT_OK) {
        for (size_t i = 0; i < nhost; i++) {
            if (bad_mark_blocks(&hostmarks[i], now, u->cfg.bad_version_backoff_ms,
                                u->cfg.bad_version_max_marks) &&
                ant_semver_parse(hostmarks[i].version, &bad[nbad]) == ANT_OK)
                nbad++;
        }
    }
    crit.bad_versions = bad;
    crit.n_bad = nbad;
    crit.api_url = u->cfg.api_url; /* NULL: the default, an HTTPS API */
    crit.exact = named;
    /* The release list is transport (URLs); what may be installed is what the fresh
     * targets lists for this platform (ARCHITECTURE.md §9). */
    for (size_t skipped = 0;; skipped++) {
        crit.n_bad = nbad;
        err = ant_releases_select(list, &crit, choice);
        if (err == ANT_ERR_NOT_FOUND) {
            err = ANT_OK;
            goto out;
        }
        if (err != ANT_OK)
            goto out;
        char v[ANT_SEMVER_TEXT_MAX];
        if (!ant_semver_format(&choice->version, v, sizeof v)) {
            err = ANT_ERR_BAD_VERSION;
            goto out;
        }
        ant_err lerr = ant_meta_lookup(meta, v, crit.platform, entry);
        if (lerr == ANT_OK)
            break;
        ant_log(ANT_LOG_WARN, "upgrade",
                "Release not in signed metadata, skipping version=%s reason=%s", v,
                lerr == ANT_ERR_DOWNGRADE ? "yanked"
                : lerr == ANT_ERR_NOT_FOUND ? "not-listed"
                                            : "metadata-not-fresh");
        if (lerr != ANT_ERR_NOT_FOUND && lerr != ANT_ERR_DOWNGRADE)
            goto out; /* nothing may be installed at all */
        if (skipped + 1 >= META_SKIP_MAX)
            goto out;
        bad[nbad++] = choice->version;
    }
    /* Anti-rollback (ARCHITECTURE.md §3), checked here again so that no change in selection can
     * ever let a version at or below the running one, or below the floor, through. */
    if (ant_semver_compare(&choice->version, &u->running_v) <= 0 ||
        (crit.floor != NULL && ant_semver_compare(&choice->version, crit.floor) < 0)) {
        err = ANT_ERR_DOWNGRADE;
        goto out;
    }
    err = rollout_decide(u, meta, &choice->version, dec);
    if (err != ANT_OK)
        goto out;
    *found = true;
out:
    ant_meta_trusted_free(meta);
    ant_releases_free(list);
    return err;
}

ant_err ant_upgrade_check(struct ant_upgrade *u, bool schedule, struct ant_upgrade_plan *plan)
{
    struct upgrade_state st;
    struct ant_release_choice choice;
    struct rollout_decision dec;
    bool found = false, changed = false;
    int lockfd = -1;
    ant_err err;

    memset(plan, 0, sizeof *plan);
    state_copy(plan->running, sizeof plan->running, u->running);
    if (u->peer_id[0] == '\0')
        return ANT_ERR_INVALID_ARG;
    err = state_load(u->rootfd, &st);
    if (err != ANT_OK)
        return err;
    state_copy(plan->floor, sizeof plan->floor, st.floor);
    struct ant_meta_target entry;
    err = engine_discover_select(u, &st, NULL, &choice, &entry, &dec, &found);
    if (err != ANT_OK) {
        engine_fail(u, NULL, "discover", err);
        return err;
    }
    if (!found) {
        struct engine_meta_record mrec;
        if (engine_meta_load(u->rootfd, &mrec) == ANT_OK && mrec.checked &&
            mrec.status.state != ANT_META_FRESH)
            snprintf(plan->reason, sizeof plan->reason,
                     "release metadata %s: installing nothing",
                     ant_meta_state_name(mrec.status.state));
        else
            snprintf(plan->reason, sizeof plan->reason,
                     "no newer release listed in fresh signed metadata for channel %s",
                     u->cfg.channel != NULL ? u->cfg.channel : "stable");
        if (schedule)
            engine_rollout_status_save(u->rootfd, plan);
        return ANT_OK;
    }
    char version[ANT_SEMVER_TEXT_MAX];
    if (!ant_semver_format(&choice.version, version, sizeof version))
        return ANT_ERR_BAD_VERSION;
    u->choice = choice;
    u->meta_entry = entry;
    u->have_choice = true;
    plan->available = true;
    state_copy(plan->version, sizeof plan->version, version);
    err = ant_upgrade_rollout_delay_keyed(u->secret, u->secret_len, u->peer_id, version,
                                          u->cfg.rollout_window_ms, &plan->delay_ms);
    if (err != ANT_OK)
        return err;
    enum rollout_mode mode = rollout_mode_of(&dec);
    int64_t now = engine_now();

    if (!schedule) {
        /* Read-only: what a scheduling check would do now, from the persisted schedule. */
        struct upgrade_state what = st;
        err = rollout_schedule(&what, u->peer_id, u->secret, u->secret_len, version,
                               u->cfg.rollout_window_ms, now, mode, &changed);
        if (err != ANT_OK)
            return err;
        /* 0: not persisted yet (a scheduling check would record it now). */
        plan->first_seen =
            what.pending.first_seen == st.pending.first_seen ? st.pending.first_seen : 0;
        plan->scheduled_at = what.pending.scheduled_at;
        plan_rollout(plan, &dec, u->running, now);
        return ANT_OK;
    }

    ant_log(ANT_LOG_INFO, "upgrade", "Upgrade available version=%s current=%s", version,
            u->running);
    err = state_lock(u->rootfd, u->cfg.lock_timeout_ms, &lockfd);
    if (err != ANT_OK)
        return err;
    err = state_load(u->rootfd, &st); /* again, under the lock */
    if (err == ANT_OK)
        err = rollout_schedule(&st, u->peer_id, u->secret, u->secret_len, version,
                               u->cfg.rollout_window_ms, now, mode, &changed);
    if (err == ANT_OK && changed)
        err = state_save(u->rootfd, &st);
    ant_fsx_unlock(lockfd);
    if (err != ANT_OK)
        return err;
    plan->first_seen = st.pending.first_seen;
    plan->scheduled_at = st.pending.scheduled_at;
    plan_rollout(plan, &dec, u->running, now);
    rollout_log(plan, &dec);
    engine_rollout_status_save(u->rootfd, plan);
    return ANT_OK;
}
