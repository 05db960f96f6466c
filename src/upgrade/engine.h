/*
 * Internal interface between the parts of the upgrade engine (state.c, rollout.c,
 * step_common.c, host_bad.c, metadata.c, delta.c, apply.c, restart.c, trial.c, monitor.c). Nothing
 * outside src/upgrade and tests/engine includes this; the public API is
 * include/ant/upgrade.h.
 */
#ifndef ANT_UPGRADE_ENGINE_H
#define ANT_UPGRADE_ENGINE_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ant/err.h"
#include "ant/http.h"
#include "ant/meta.h"
#include "ant/releases.h"
#include "ant/semver.h"
#include "ant/upgrade.h"

#define STATE_LOCK_FILE "upgrade_state.lock"
#define STATE_FILE_CAP 65536
#define STATE_BAD_MAX 32
#define STATE_ERROR_MAX 160
#define HOST_BAD_MAX 64 /* entries read from <binary>.bad-versions */

/*
 * A bad-version mark (ARCHITECTURE.md §5 step 11), in the node's state and in
 * `<binary>.bad-versions`. One failed trial is one node's evidence, and a peer that can kill
 * a node during its trial could forge it (issue 13 item 2), so a mark is not forever: it
 * blocks the version for a backoff of `bad_version_backoff_ms` × 2^(marks-1) from
 * `marked_at`, then the version may be tried again; a failure of that retry counts one mark
 * more, and at `bad_version_max_marks` marks the block is permanent until an operator
 * clears it (`ant-node upgrade clear-bad`). Marking a version while its block is still in
 * force adds no mark (the nodes of one host rolling back one failure count once).
 */
#define BAD_REASON_MAX 40
struct bad_mark {
    char version[ANT_SEMVER_TEXT_MAX];
    char reason[BAD_REASON_MAX]; /* a token: trial-failed, rolled-back-on-host, ... */
    int64_t marked_at;           /* Unix s of the latest counted mark; 0 = unknown (legacy) */
    unsigned marks;              /* counted marks, >= 1 */
};

/* The persisted state of one node (see include/ant/upgrade.h). Empty strings = unset. */
struct upgrade_state {
    char floor[ANT_SEMVER_TEXT_MAX];     /* highest version ever installed (ARCHITECTURE.md §3) */
    char confirmed[ANT_SEMVER_TEXT_MAX]; /* highest version confirmed by a trial boot */
    struct {
        char version[ANT_SEMVER_TEXT_MAX];
        int64_t first_seen;
        int64_t candidate_since; /* became a rollout candidate (§10); 0 = not yet */
        int64_t scheduled_at;    /* candidate_since + delay; 0 while not a candidate */
    } pending;
    struct {
        char version[ANT_SEMVER_TEXT_MAX];
        char from[ANT_SEMVER_TEXT_MAX]; /* version it replaced, for status */
        unsigned attempts;
        int64_t started_at;
    } trial;
    struct bad_mark bad[STATE_BAD_MAX];
    size_t nbad;
    struct {
        int64_t time;
        char version[ANT_SEMVER_TEXT_MAX];
        char stage[32];
        char error[STATE_ERROR_MAX];
    } last_error;
};

/* Loads the state; a missing file gives an all-empty state. ANT_ERR_PARSE for a file that
 * is not our JSON (it is never silently reset), plus the fsx read errors. */
ANT_MUST_CHECK ant_err state_load(int rootfd, struct upgrade_state *st);
/* Writes the state atomically (0600). */
ANT_MUST_CHECK ant_err state_save(int rootfd, const struct upgrade_state *st);
/* Serialises to malloc'd JSON text. */
ANT_MUST_CHECK ant_err state_to_json(const struct upgrade_state *st, char **text);
/* Exclusive lock for read-modify-write of the state file. */
ANT_MUST_CHECK ant_err state_lock(int rootfd, unsigned timeout_ms, int *lockfd);
/* True if `version` has any mark in the node's state (blocking or not). */
bool state_is_bad(const struct upgrade_state *st, const char *version);
/* The node's mark of `version`, or NULL. */
const struct bad_mark *state_find_bad(const struct upgrade_state *st, const char *version);
/* When `m` stops blocking (Unix s), or -1 when it blocks until an operator clears it. */
int64_t bad_mark_retry_at(const struct bad_mark *m, uint64_t backoff_ms, unsigned max_marks);
/* True while `m` keeps its version out at `now`. */
bool bad_mark_blocks(const struct bad_mark *m, int64_t now, uint64_t backoff_ms,
                     unsigned max_marks);
/*
 * Records a mark of `version` for `reason` at `now` in `m` (a fresh one when m->marks is
 * 0): a mark whose block is still in force is kept as it is; an expired one counts one
 * mark more from `now`. Returns true when a mark was counted.
 */
bool bad_mark_record(struct bad_mark *m, const char *version, const char *reason, int64_t now,
                     uint64_t backoff_ms, unsigned max_marks);
/* Marks `version` in the node's state (bad_mark_record; oldest entry dropped when full)
 * and copies the resulting mark to *out when not NULL. */
void state_add_bad(struct upgrade_state *st, const char *version, const char *reason,
                   int64_t now, uint64_t backoff_ms, unsigned max_marks, struct bad_mark *out);
/* Removes the node's mark of `version`; true if there was one. */
bool state_clear_bad(struct upgrade_state *st, const char *version);
void state_set_error(struct upgrade_state *st, const char *version, const char *stage,
                     ant_err err, int64_t now);
/* Copies a NUL-terminated string into a fixed buffer; false (and empty dst) if too long. */
bool state_copy(char *dst, size_t cap, const char *src);

/* How the rollout control of ARCHITECTURE.md §10 treats the selected version now. */
enum rollout_mode {
    ROLLOUT_WAIT,   /* the cursor names it and this node is not (yet) a candidate */
    ROLLOUT_WINDOW, /* a candidate (or no cursor for it): the window from candidacy */
    ROLLOUT_NOW,    /* below minimum_version or running a yanked one: at once */
};

/*
 * Applies the rollout rules to `st` for a selected `version` seen at `now` (Unix s): first
 * sighting (or a different version than the pending one) sets first_seen = now; the
 * schedule counts from when the node became a candidate (candidate_since, persisted):
 * ROLLOUT_WINDOW sets it at the first check that finds the node a candidate and schedules
 * candidate_since + delay; ROLLOUT_WAIT leaves it unset (scheduled_at 0) or, once set, as it
 * is; ROLLOUT_NOW moves scheduled_at to `now`. A persisted schedule is never re-rolled by a
 * restart. *changed tells whether `st` was modified.
 */
ANT_MUST_CHECK ant_err rollout_schedule(struct upgrade_state *st, const char *peer_id,
                                        const uint8_t *secret, size_t secret_len,
                                        const char *version, uint64_t window_ms, int64_t now,
                                        enum rollout_mode mode, bool *changed);

/* This check's rollout decision (ARCHITECTURE.md §10), from the fresh metadata. */
struct rollout_decision {
    bool present;                 /* the timestamp carries a rollout */
    struct ant_meta_rollout ro;   /* valid when present */
    bool applies;                 /* ro names the selected version (else: window only) */
    bool candidate;               /* by the cursor; true when it does not apply */
    bool halted;                  /* ro.halted: the operator's brake, stops every start */
    bool cursor_zero;             /* ro names the selected version at cursor 0: nobody */
    bool below_minimum;           /* running < targets' minimum_version */
    bool running_yanked;          /* targets yanks the running version */
    char minimum[ANT_SEMVER_TEXT_MAX];
};

/*
 * Steps 2-3 of a check (monitor.c): the release list through the host cache, the signed
 * metadata, and the one release to try, into *choice and its targets *entry, with the
 * rollout decision for it; *found false when there is none. `named` (may be NULL): only
 * that version, whatever the channel (an operator named it, named.c).
 */
ANT_MUST_CHECK ant_err engine_discover_select(struct ant_upgrade *u,
                                              const struct upgrade_state *st,
                                              const struct ant_semver *named,
                                              struct ant_release_choice *choice,
                                              struct ant_meta_target *entry,
                                              struct rollout_decision *dec, bool *found);

/* The mode for a decision: urgent (below minimum, yanked) beats cursor and window; a halt
 * is not a mode, it shuts the gate whatever the mode (see rollout_decide in monitor.c). */
enum rollout_mode rollout_mode_of(const struct rollout_decision *d);
/* Formats millionths as a percent text ("25", "0.01", "12.5"); `buf` needs 12 bytes. */
void rollout_cursor_text(uint32_t ppm, char *buf, size_t cap);

/*
 * Loads the node's rollout secret (ANT_UPGRADE_SECRET_FILE in `rootfd`), creating it with
 * O_CREAT|O_EXCL|O_NOFOLLOW, 0600, from getrandom when missing. A file that is not exactly
 * ANT_UPGRADE_SECRET_BYTES, not a regular file of the euid, or readable by others is
 * replaced by a new one (logged). Errors: ANT_ERR_RNG, ANT_ERR_IO (no secret: the caller
 * falls back to the public delay and logs it).
 */
ANT_MUST_CHECK ant_err rollout_secret_load(int rootfd, uint8_t secret[ANT_UPGRADE_SECRET_BYTES]);

/* The comparison of ant_upgrade_rollout_candidate on a given hash: hash (big-endian) ×
 * 10^6 ≤ cursor_ppm × (2^256 − 1), exactly; cursors above 10^6 count as 10^6. */
bool rollout_hash_within(const uint8_t hash[32], uint32_t cursor_ppm);

/* The last scheduling check's rollout view (ENGINE_ROLLOUT_STATUS_FILE, rollout.c): whether
 * this node was a candidate, whether the rollout was halted, and the cursor in millionths
 * (-1 when no rollout). False when no check recorded one. */
bool engine_rollout_status(int rootfd, bool *candidate, bool *halted, int64_t *cursor_ppm);
/* Records a scheduling check's rollout view for `upgrade status` (another process) and the
 * metrics; a failure to write is logged, never an error of the check. */
void engine_rollout_status_save(int rootfd, const struct ant_upgrade_plan *plan);
struct json_object;
/* The "rollout" object of `upgrade status --json`: the last check's, or NULL (json null). */
struct json_object *engine_rollout_status_json(int rootfd);

/* The engine object (opaque in the public header). */
struct ant_cache;

struct ant_upgrade {
    struct ant_upgrade_config cfg;
    char running[ANT_SEMVER_TEXT_MAX];
    struct ant_semver running_v;
    char binary_path[PATH_MAX];
    char binary_dir[PATH_MAX];
    char binary_name[NAME_MAX + 1];
    char cache_dir[PATH_MAX];
    char peer_id[129];
    uint8_t secret[ANT_UPGRADE_SECRET_BYTES]; /* rollout secret, wiped at free */
    size_t secret_len;                        /* 0: none could be loaded (public delay) */
    int rootfd;
    struct ant_cache *cache; /* shared per-host cache, NULL when unusable (run uncached) */
    int cachefd;          /* its dir fd (owned by cache), -1 without a cache */
    struct ant_release_choice choice; /* what the last check selected */
    bool have_choice;
    struct ant_meta_target meta_entry; /* the targets entry of `choice` (same check) */
    char **argv; /* NULL-terminated copy */
    int argc;
    int64_t started_ms;   /* CLOCK_MONOTONIC ms at ant_upgrade_new (trial clock) */
    bool trial_open;      /* this start is an unconfirmed trial */
    char restart_version[ANT_SEMVER_TEXT_MAX];
    int64_t restart_scheduled_at;
    atomic_bool restart_pending;
    bool stale_exe_restart; /* engine_check_stale_exe already asked for its one restart */
    /* monitor */
    pthread_t thread;
    bool thread_running;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stop;
    bool thread_done;     /* set by the thread as its last act (under mu) */
    bool abandoned;       /* stop timed out: the thread still uses this object */
};

/*
 * Signed release metadata in the engine (metadata.c, ARCHITECTURE.md §9). The node's
 * record of its last metadata check, in its root dir: the outcome `upgrade status` shows
 * and the version floors passed back to src/meta on the next refresh.
 */
#define ENGINE_META_STATE_FILE "metadata_state.json"
/* The last scheduling check's rollout decision (ARCHITECTURE.md §10), for status. */
#define ENGINE_ROLLOUT_STATUS_FILE "rollout_status.json"
struct engine_meta_record {
    bool checked;          /* a check ever ran (the file exists) */
    struct ant_meta_status status;
    int64_t checked_at;    /* Unix s */
    uint64_t floor_root, floor_targets, floor_timestamp;
};

/* Loads the record (all zero, state missing, when there is none). ANT_ERR_PARSE etc. for a
 * file that is not ours. */
ANT_MUST_CHECK ant_err engine_meta_load(int rootfd, struct engine_meta_record *rec);

/* The "metadata" object of `upgrade status --json` (NULL when out of memory). */
struct json_object *engine_meta_json(const struct engine_meta_record *rec);

/*
 * One metadata refresh for a check: reads the trust anchor (cfg.trusted_root, else the
 * embedded one), refreshes through the host cache with the persisted floors, records the
 * outcome and the raised floors in ENGINE_META_STATE_FILE, and logs a WARN once when the
 * state is not fresh. `force` fetches even within the TTL (the release list was just
 * fetched). Every metadata problem is a state in *status (never an error): only
 * ANT_META_FRESH with *out non-NULL allows an install. The caller frees *out.
 */
ANT_MUST_CHECK ant_err engine_meta_refresh(struct ant_upgrade *u, bool force,
                                           struct ant_meta_trusted **out,
                                           struct ant_meta_status *status);

/* SHA-256 and length of the whole file `fd` (from offset 0, at most `cap` bytes; more is
 * ANT_ERR_TOO_LARGE); leaves the offset at 0. */
ANT_MUST_CHECK ant_err engine_hash_fd(int fd, uint64_t cap, uint64_t *length,
                                      uint8_t sha256[ANT_SHA256_BYTES]);

/*
 * The new binary without the archive (delta.c, issue 19). With a host cache: a binary
 * entry another node stored for `entry` (DELTA_CACHED_BINARY), else the first of the
 * entry's patches whose old binary (`from_sha256`) the cache holds, as a binary entry or
 * inside a cached archive of `from_version`, downloaded beside `archive_url`, checked
 * against its signed length and SHA-256, applied in `stagingfd` under a memory cap
 * (DELTA_PATCHED). On ANT_OK *binfd is an unnamed read-only file in `stagingfd` whose
 * length and SHA-256 are the targets binary's. ANT_ERR_NOT_FOUND otherwise: no cache, no
 * usable patch, or a patch that failed (logged once as `Binary patch failed, downloading
 * full archive`); the caller downloads the archive.
 */
enum delta_source { DELTA_NONE, DELTA_CACHED_BINARY, DELTA_PATCHED };
struct ant_trust_keys;
ANT_MUST_CHECK ant_err engine_delta_acquire(struct ant_upgrade *u,
                                            const struct ant_meta_target *entry,
                                            const struct ant_trust_keys *keys, int stagingfd,
                                            const char *archive_url, int *binfd,
                                            enum delta_source *how);
/* Stores a validated patched binary as the cache's binary entry (a failure is a warning). */
void engine_delta_store(struct ant_upgrade *u, const struct ant_meta_target *entry, int binfd);

/* How long ant_upgrade_monitor_stop waits for a busy monitor (a transfer in flight). */
#define MONITOR_STOP_WAIT_MS 5000

/* Resolves the on-disk binary into u->binary_path/_dir/_name (see ant_upgrade_new). */
ANT_MUST_CHECK ant_err engine_resolve_binary(struct ant_upgrade *u, const char *configured);

/*
 * Monitor check (after the upgrade check found nothing to restart for): if this process
 * runs an unlinked binary (/proc/self/exe ends in " (deleted)") and the on-disk binary
 * passes the ELF check and reports exactly the running version, marks the restart pending
 * onto it (once per engine) and logs `Restarting onto the on-disk binary`. This is how the
 * nodes of a host that never took a version get off the inode a rollback unlinked.
 */
void engine_check_stale_exe(struct ant_upgrade *u);

/* Name prefix of the private staging dirs an uncached upgrade makes in the node's root. */
#define ROOT_STAGING_PREFIX ".upgrade-staging-"

/*
 * Removes the root's staging dirs (ROOT_STAGING_PREFIX) that no live process holds: the
 * upgrader keeps an flock on its staging dir while it works, so an unlocked one was left by
 * a crash. Called once at engine start; best effort (failures are logged).
 */
void engine_sweep_root_staging(struct ant_upgrade *u);

/* Time in Unix seconds (CLOCK_REALTIME). */
int64_t engine_now(void);

/*
 * Shared by the steps (step_common.c). The step files (apply.c, restart.c, trial.c) and
 * metadata.c call these and host_bad.c's functions, never one another; monitor.c drives
 * them all. So the engine's files depend downward only (ARCHITECTURE.md §5).
 */

/* Caps a binary read from disk (the extracted one, the backup, a copy). */
#define BINARY_CAP ((uint64_t)512 << 20)
/* Suffix of the copy of the replaced binary that a rollback restores. */
#define BACKUP_SUFFIX ".backup"

/* Runs `path --version` (5 s limit) and parses `ant-node X.Y.Z`. ANT_ERR_BAD_BINARY if it
 * does not answer that way. */
ANT_MUST_CHECK ant_err engine_binary_version(const char *path, char *version, size_t cap);

/* HTTP options from the engine's settings. */
void engine_http_opts(const struct ant_upgrade *u, struct ant_http_opts *http);

/* Takes `<binary>.replace.lock` beside the binary (whatever cache dir this process uses). */
ANT_MUST_CHECK ant_err engine_replace_lock(struct ant_upgrade *u, int *lockfd);

/* Opens the binary's directory (O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC). */
ANT_MUST_CHECK ant_err engine_open_binary_dir(const struct ant_upgrade *u, int *dirfd);

/* Copies file `src` to `dst` in `dirfd` atomically with `mode` (temp, fsync, rename). */
ANT_MUST_CHECK ant_err engine_copy_file(int dirfd, const char *src, const char *dst,
                                        mode_t mode);

/* Reports the engine state token to cfg.state_changed (printf-style; no-op without it). */
void engine_notify(const struct ant_upgrade *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ant_strerror(err) as one log token in `buf` (LOG-EVENTS.md: values never contain
 * spaces, tabs or '='). */
void engine_error_token(ant_err err, char *buf, size_t cap);

/* Records an error in the state file and logs `Upgrade failed`. */
void engine_fail(struct ant_upgrade *u, const char *version, const char *stage, ant_err err);

/* The host-wide bad-version list beside the binary (host_bad.c). */

/* Host-wide marks of versions that failed a trial, beside the binary (the newest `cap`
 * entries, one per version; a missing or unreadable list is empty). */
ANT_MUST_CHECK ant_err engine_host_bad_list(const struct ant_upgrade *u, struct bad_mark *out,
                                            size_t cap, size_t *n);
/* True while a host-wide mark keeps `version` out now (bad_mark_blocks). */
bool engine_host_bad(const struct ant_upgrade *u, const char *version);
/* True while the node's or the host's mark keeps `version` out now. */
bool engine_bad_blocks(const struct ant_upgrade *u, const struct upgrade_state *st,
                       const char *version);
/* Records a host-wide mark (bad_mark_record under the list's lock); *out (may be NULL)
 * gets the resulting mark. */
ANT_MUST_CHECK ant_err engine_host_mark_bad(const struct ant_upgrade *u, const char *version,
                                            const char *reason, struct bad_mark *out);
/* Removes the host-wide mark of `version` (under the list's lock); *found tells whether
 * there was one. */
ANT_MUST_CHECK ant_err engine_host_clear_bad(const struct ant_upgrade *u, const char *version,
                                             bool *found);

/*
 * Test-only fault points (compiled in only with ANT_TEST_FAULTS): when the environment
 * variable ANT_TEST_FAULT equals `point`, the process kills itself with SIGKILL there, so
 * the crash-safety tests can stop the upgrader between any two durable steps.
 */
#ifdef ANT_TEST_FAULTS
void engine_fault(const char *point);
#define ENGINE_FAULT(point) engine_fault(point)
#else
#define ENGINE_FAULT(point) ((void)0)
#endif

#endif
