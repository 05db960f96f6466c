/*
 * The upgrade engine's metrics (internal to src/upgrade; ARCHITECTURE.md §12): counters the
 * engine bumps where things happen (checks, downloads, cache hits, signature
 * verifications, failures by stage, rollbacks), the engine state as a state set, the
 * `upgrade` health component (upgrade_metrics.c, below every step), and a scrape-time
 * collector over the persisted state file (pending version and schedule, trial, versions
 * marked bad; upgrade_metrics_scrape.c, above the files it reads). Every function is safe to
 * call from any thread and does nothing if the families could not be registered.
 */
#ifndef ANT_UPGRADE_METRICS_H
#define ANT_UPGRADE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "ant/err.h"

struct ant_upgrade;

/* A check finished: `err` its result, `available` whether it selected a release. */
void upgrade_metrics_check(ant_err err, bool available);
/* An archive download completed into `fd` (its size is the byte count). */
void upgrade_metrics_download(int fd);
void upgrade_metrics_cache_hit(void);
/* A streamed signature verification returned `err`. */
void upgrade_metrics_verify(ant_err err);
/* An upgrade failed at `stage` (the stage names of `Upgrade failed` log lines). */
void upgrade_metrics_failure(const char *stage);
void upgrade_metrics_rollback(void);
/* The state token given to cfg.state_changed ("idle", "trial-<v>", ...). */
void upgrade_metrics_state(const char *token);
/* This process runs a version that failed its trial and could not be rolled back. */
void upgrade_metrics_trial_failed(const char *version);

/* The `upgrade` health component reports ok unless a trial failed (upgrade_metrics_attach
 * calls it). */
void upgrade_metrics_health_start(void);

/* The state-file collector of a running engine (upgrade_metrics_scrape.c): added by the
 * monitor, removed (and not running any more once it returns) before the engine is freed. */
void upgrade_metrics_attach(struct ant_upgrade *u);
void upgrade_metrics_detach(struct ant_upgrade *u);

#endif
