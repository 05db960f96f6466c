/*
 * The upgrade engine's metrics (upgrade_metrics.h). Counters and the state set live in the
 * process-wide registry and count what this process did; what must survive a restart (the
 * pending version, the trial, the versions marked bad) is read from the state file at
 * scrape time instead (upgrade_metrics_scrape.c), so a node that just restarted into a new version reports its trial
 * at once rather than a reset counter.
 */
#include "upgrade_metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ant/log.h"
#include "ant/metrics.h"
#include "upgrade/engine.h"

enum { CHECK_NONE, CHECK_AVAILABLE, CHECK_ERROR, CHECK_COUNT };
static const char *const check_results[CHECK_COUNT] = {"none", "available", "error"};

enum { VERIFY_OK, VERIFY_BAD_SIGNATURE, VERIFY_ERROR, VERIFY_COUNT };
static const char *const verify_results[VERIFY_COUNT] = {"ok", "bad_signature", "error"};

/* The stages of `Upgrade failed` lines (docs/LOG-EVENTS.md); anything new counts as other. */
static const char *const stages[] = {"discover", "select",  "keys",    "staging", "acquire",
                                     "download", "verify",  "extract", "validate", "backup",
                                     "replace",  "restart", "rollback", "other"};
#define NSTAGES (sizeof stages / sizeof stages[0])

static const char *const states[] = {"idle",       "scheduled", "applying",
                                     "restarting", "trial",     "failed"};
#define NSTATES (sizeof states / sizeof states[0])

static struct ant_metric *m_checks, *m_last_check, *m_downloads, *m_download_bytes,
    *m_cache_hits, *m_verify, *m_failures, *m_rollbacks, *m_state;
static pthread_once_t register_once = PTHREAD_ONCE_INIT;
static atomic_bool trial_failed;

static void register_families(void)
{
    struct ant_metrics *reg = ant_metrics_default();
    const struct ant_metric_desc d[] = {
        {"antnode_upgrade_checks_total", "Release checks by this process, by result.",
         ANT_METRIC_COUNTER, "result", check_results, CHECK_COUNT, NULL, 0},
        {"antnode_upgrade_last_check_timestamp_seconds",
         "Unix time of the last release check (0 before the first).", ANT_METRIC_GAUGE, NULL,
         NULL, 0, NULL, 0},
        {"antnode_upgrade_downloads_total", "Release archives downloaded by this process.",
         ANT_METRIC_COUNTER, NULL, NULL, 0, NULL, 0},
        {"antnode_upgrade_download_bytes_total", "Bytes of release archives downloaded.",
         ANT_METRIC_COUNTER, NULL, NULL, 0, NULL, 0},
        {"antnode_upgrade_cache_hits_total",
         "Upgrades served from the shared per-host cache (re-verified) instead of a download.",
         ANT_METRIC_COUNTER, NULL, NULL, 0, NULL, 0},
        {"antnode_upgrade_signature_verifications_total",
         "Streamed ML-DSA-65 archive verifications, by result.", ANT_METRIC_COUNTER, "result",
         verify_results, VERIFY_COUNT, NULL, 0},
        {"antnode_upgrade_failures_total", "Failed upgrade attempts, by stage.",
         ANT_METRIC_COUNTER, "stage", stages, NSTAGES, NULL, 0},
        {"antnode_upgrade_rollbacks_total",
         "Rollbacks of a failed trial performed by this process.", ANT_METRIC_COUNTER, NULL,
         NULL, 0, NULL, 0},
        {"antnode_upgrade_state", "The upgrade engine's state: 1 for the current one.",
         ANT_METRIC_GAUGE, "state", states, NSTATES, NULL, 0},
    };
    struct ant_metric **out[] = {&m_checks,     &m_last_check, &m_downloads,
                                 &m_download_bytes, &m_cache_hits, &m_verify,
                                 &m_failures,   &m_rollbacks,  &m_state};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        if (ant_metrics_register(reg, &d[i], out[i]) != ANT_OK)
            ant_log(ANT_LOG_WARN, "upgrade", "Cannot register metric name=%s", d[i].name);
    ant_metric_set(m_state, 0, 1); /* idle until told otherwise */
}

static void ensure(void)
{
    pthread_once(&register_once, register_families);
}

void upgrade_metrics_check(ant_err err, bool available)
{
    ensure();
    ant_metric_inc(m_checks, err != ANT_OK ? CHECK_ERROR : available ? CHECK_AVAILABLE
                                                                     : CHECK_NONE);
    ant_metric_set(m_last_check, 0, engine_now());
}

void upgrade_metrics_download(int fd)
{
    struct stat st;
    ensure();
    ant_metric_inc(m_downloads, 0);
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        ant_metric_add(m_download_bytes, 0, (uint64_t)st.st_size);
}

void upgrade_metrics_cache_hit(void)
{
    ensure();
    ant_metric_inc(m_cache_hits, 0);
}

void upgrade_metrics_verify(ant_err err)
{
    ensure();
    ant_metric_inc(m_verify, err == ANT_OK                    ? VERIFY_OK
                             : err == ANT_ERR_BAD_SIGNATURE ? VERIFY_BAD_SIGNATURE
                                                            : VERIFY_ERROR);
}

void upgrade_metrics_failure(const char *stage)
{
    ensure();
    ant_metric_inc(m_failures, ant_metric_index(m_failures, stage, NSTAGES - 1));
}

void upgrade_metrics_rollback(void)
{
    ensure();
    ant_metric_inc(m_rollbacks, 0);
}

static void set_health(bool ok, const char *reason)
{
    if (ant_metrics_health_set(ant_metrics_default(), "upgrade", ok, reason) != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade", "Cannot record upgrade health");
}

void upgrade_metrics_state(const char *token)
{
    char word[16];
    size_t n = 0, cur;
    ensure();
    while (token[n] != '\0' && token[n] != '-' && n + 1 < sizeof word) {
        word[n] = token[n];
        n++;
    }
    word[n] = '\0';
    cur = ant_metric_index(m_state, word, 0);
    for (size_t i = 0; i < NSTATES; i++)
        ant_metric_set(m_state, i, i == cur ? 1 : 0);
    /* A node on its way out for a restart should get no new work from a balancer. */
    if (strcmp(word, "restarting") == 0) {
        char reason[96];
        snprintf(reason, sizeof reason, "restarting into %s", token + n + (token[n] == '-'));
        set_health(false, reason);
    } else if (!atomic_load(&trial_failed)) {
        set_health(true, "ok");
    }
}

void upgrade_metrics_trial_failed(const char *version)
{
    char reason[96];
    ensure();
    atomic_store(&trial_failed, true);
    snprintf(reason, sizeof reason, "version %s failed its trial and could not be rolled back",
             version);
    set_health(false, reason);
}

void upgrade_metrics_health_start(void)
{
    ensure();
    if (!atomic_load(&trial_failed))
        set_health(true, "ok");
}
