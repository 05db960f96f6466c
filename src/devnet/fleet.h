/*
 * The fleet as the node logs describe it: every event of docs/LOG-EVENTS.md read from each
 * node's log file, in order, per node. Shared by `report` (the checks), `watch` (progress)
 * and `status`, so all three read the log interface the same way.
 */
#ifndef ANT_DEVNET_FLEET_H
#define ANT_DEVNET_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "devnet/devnet_int.h"

enum dn_ev_kind {
    EV_STARTED = 1,
    EV_STOPPING,
    EV_FETCHED,
    EV_CACHED_INFO,
    EV_AVAILABLE,
    EV_SCHEDULED,
    EV_REUSED,
    EV_DOWNLOADING,
    EV_VERIFIED,
    EV_STORED,
    EV_REPLACING,
    EV_ALREADY,
    EV_RESTARTING,
    EV_TRIAL_STARTED,
    EV_TRIAL_CONFIRMED,
    EV_ROLLBACK,
    EV_FAILED,
    /* The rollout control (ARCHITECTURE.md §10): logged once per scheduling check. */
    EV_HALTED,       /* Rollout halted, not upgrading */
    EV_BELOW_MIN,    /* Below minimum version, upgrading now */
    EV_YANKED_RUN,   /* Running a yanked version, upgrading now */
    EV_SKIPPED,      /* Release not in signed metadata, skipping (reason=) */
    EV_PATCH_APPLIED,  /* issue 19: `Binary patch applied` (bytes = patch_bytes) */
    EV_PATCH_FAILED,   /* `Binary patch failed, downloading full archive` (bytes received) */
    EV_BINARY_REUSED,  /* `Reused verified cached binary` */
    EV_RESUMED,        /* `Archive download resumed N times, restarted M times` */
};

struct dn_ev {
    double t;
    enum dn_ev_kind kind;
    char version[DN_VERSION_MAX + 1];
    char peer[72];
    pid_t pid;
    double first_seen, at, delay;
    double candidate_since; /* EV_SCHEDULED: when the node became a candidate (0: not logged) */
    bool urgent;            /* EV_SCHEDULED urgent=yes: below minimum or on a yanked version */
    unsigned attempts;
    char stage[32];
    char error[64];
    char mode[12];
    char reason[16];        /* EV_SKIPPED: yanked, not-listed, metadata-not-fresh */
    uint64_t bytes; /* EV_PATCH_APPLIED: patch_bytes; EV_PATCH_FAILED, EV_RESUMED: bytes */
    unsigned resumes, restarts; /* EV_RESUMED, from its message */
};

struct dn_fleet_node {
    unsigned host, node;
    size_t nev, cap;
    struct dn_ev *ev;
    off_t offset;       /* bytes of the log consumed (watch reads incrementally) */
};

struct dn_fleet {
    unsigned hosts, nodes;
    struct dn_fleet_node *node; /* hosts * nodes entries */
};

/* Maps a parsed log line to an event; false if the line is not one of the events. */
bool dn_event_from_line(const struct dn_log_line *l, struct dn_ev *ev);

/* Reads every node's log (new bytes since the last call) and appends its events.
 * `fresh` receives how many events were added (may be NULL). */
ANT_MUST_CHECK ant_err dn_fleet_read(const struct dn_config *cfg, struct dn_fleet *f,
                                     size_t *fresh);
ANT_MUST_CHECK ant_err dn_fleet_init(struct dn_fleet *f, unsigned hosts, unsigned nodes);
void dn_fleet_free(struct dn_fleet *f);
/* The node's latest event of `kind` (optionally for `version`), or NULL. */
const struct dn_ev *dn_fleet_last(const struct dn_fleet_node *n, enum dn_ev_kind kind,
                                  const char *version);
const char *dn_ev_name(enum dn_ev_kind kind);

#endif
