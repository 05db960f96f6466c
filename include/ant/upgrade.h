/*
 * The upgrade engine of one node (ARCHITECTURE.md §3 anti-rollback, §5 steps 1-11): the monitor
 * thread that discovers and selects releases, the staged-rollout gate, acquiring a signed
 * archive through the shared per-host cache, replacing the on-disk binary once per host,
 * restarting into it, and the trial boot that rolls a failing version back.
 *
 * How the daemon uses it (all calls from the main thread unless noted):
 *
 *   ant_upgrade_config_init(&cfg); fill cfg from the node configuration;
 *   ant_upgrade_new(&cfg, argc, argv, &u);       before anything else that takes time
 *   ant_upgrade_boot(u, &restart);               trial-boot check, before serving
 *   if (restart) -> ant_upgrade_restart(u, &code); return code from main();
 *   ... start the node ...
 *   ant_upgrade_set_peer_id(u, peer_id_hex);     once the identity is loaded
 *   ant_upgrade_monitor_start(u);                once the node is up (also confirms a trial)
 *   ... node runs; cfg.request_shutdown is called (monitor thread) when a restart is due ...
 *   ant_upgrade_monitor_stop(u);                 during clean shutdown
 *   if (ant_upgrade_restart_pending(u)) ant_upgrade_restart(u, &code);   after the node
 *                                                released its port and store; exit with code
 *   ant_upgrade_free(u);
 *
 * Persistent state is one small JSON file, `upgrade_state.json`, in the node's root dir
 * (written atomically, under `upgrade_state.lock`): the floor (the highest version this node
 * has ever installed; nothing below it is installed again), the highest confirmed version
 * (the baseline of trial boots), the pending version with its first-seen and scheduled
 * times, the trial state, bad versions and the last error. Versions that failed a trial on
 * this host are also listed beside the binary in `<binary>.bad-versions`, so the other nodes
 * sharing that binary do not install it again.
 *
 * Log lines follow docs/LOG-EVENTS.md exactly (module "upgrade").
 */
#ifndef ANT_UPGRADE_H
#define ANT_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"
#include "ant/semver.h"

/* The exit code that asks a service manager to start the (new) binary again. */
#define ANT_UPGRADE_EXIT_RESTART 75

#define ANT_UPGRADE_STATE_FILE "upgrade_state.json"

/*
 * Settings. Strings are borrowed: they must outlive the engine. Start from
 * ant_upgrade_config_init(); NULL strings and the defaults noted below mean "default".
 */
struct ant_upgrade_config {
    const char *root_dir;         /* required: the node's root dir (state file) */
    const char *peer_id;          /* hex peer id, seeds the rollout delay; required by the
                                   * monitor and checks, may instead be set later with
                                   * ant_upgrade_set_peer_id() (the identity loads after boot) */
    const char *running_version;  /* default ANT_VERSION_STRING */
    const char *binary_path;      /* on-disk binary; default: /proc/self/exe at ant_upgrade_new */
    const char *cache_dir;        /* default $XDG_DATA_HOME/ant/upgrades, ~/.local/share/... */
    const char *api_url;          /* default https://api.github.com */
    const char *repo;             /* OWNER/NAME, default "WithAutonomi/ant-node" */
    const char *channel;          /* "stable" (default) or "beta" */
    const char *trusted_keys_dir; /* extra trusted release keys; NULL = embedded key only */
    const char *ca_file;          /* CA bundle for HTTPS; NULL = the usual paths */
    const char *trusted_root;     /* metadata trust anchor file (--trusted-root); NULL = the
                                   * build's embedded packaging/root.json */
    const char *metadata_url;     /* metadata base URL; NULL = ANT_META_DEFAULT_URL_FMT of
                                   * repo. https, or http to loopback only */
    uint64_t archive_cap;         /* bytes; default 200 MiB */
    unsigned lock_timeout_ms;     /* download/replace/state locks; default 120 000;
                                   * download.lock waits at least 2 × the transfer
                                   * timeout + 65 s (its holder is downloading) */
    uint64_t connect_timeout_ms;  /* HTTP connect + TLS; 0 = ant_http default */
    uint64_t transfer_timeout_ms; /* whole HTTP transfer; default 600 000 */
    uint64_t stall_timeout_ms;    /* HTTP stall (< 1 byte/s) limit; 0 = ant_http default */
    uint64_t release_ttl_ms;      /* releases.json freshness; default 3 600 000 */
    uint64_t check_interval_ms;   /* default 3 600 000, each wait jittered by ±5 % */
    uint64_t first_check_min_ms;  /* first check after start: uniform in [min, max], */
    uint64_t first_check_max_ms;  /*   default 30 000-90 000, both capped at the interval */
    uint64_t rollout_window_ms;   /* default 86 400 000 (24 h); 0 = no delay */
    uint64_t trial_period_ms;     /* healthy time before a trial is confirmed; default 60 000 */
    unsigned trial_max_attempts;  /* default 3 */
    uint64_t bad_version_backoff_ms; /* a version that failed its trial is kept out this
                                      * long × 2^(marks-1), then retried; default
                                      * 86 400 000 (24 h) */
    unsigned bad_version_max_marks;  /* at this many marks the version stays out until an
                                      * operator clears it (ant_upgrade_clear_bad);
                                      * default 3 */
    bool stop_on_upgrade;         /* restart by exit 75 (service manager) instead of spawn */
    bool auto_upgrade;            /* default true; false = monitor only confirms trials */
    /* Called from the monitor thread when the node must restart into a new binary: the
     * daemon begins a clean shutdown and then calls ant_upgrade_restart(). */
    void (*request_shutdown)(void *arg);
    void *request_shutdown_arg;
    /* Optional health probe for trial confirmation (monitor thread); NULL = healthy while
     * the process runs. */
    bool (*healthy)(void *arg);
    void *healthy_arg;
    /* Optional: told the engine's state as one token without spaces whenever it changes
     * (any thread): "idle", "trial-<v>", "scheduled-<v>-at-<unix s>", "applying-<v>",
     * "restarting-<v>", "failed-<stage>". For the node's STATUS (ant_node_set_upgrade_state). */
    void (*state_changed)(void *arg, const char *state);
    void *state_changed_arg;
};

/* Fills `cfg` with the defaults above. */
void ant_upgrade_config_init(struct ant_upgrade_config *cfg);

struct ant_upgrade;

/*
 * Creates the engine. Resolves the on-disk binary once, from cfg->binary_path or
 * /proc/self/exe: a trailing " (deleted)" (the binary was replaced since exec) is stripped
 * and the path kept only if a file exists there; the engine never executes
 * /proc/self/exe itself. argv (argc entries) is copied for a standalone restart.
 * Opens (creating 0700) the root dir. Nothing is fetched.
 * Errors: ANT_ERR_INVALID_ARG (missing root_dir/peer_id, bad channel or version),
 * ANT_ERR_NOT_FOUND (binary path unresolvable), ANT_ERR_UNSAFE_FILE (root dir), ANT_ERR_IO,
 * ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_upgrade_new(const struct ant_upgrade_config *cfg, int argc,
                                       char *const argv[], struct ant_upgrade **out);

/* Sets (copies) the peer id used for the rollout delay. ANT_ERR_INVALID_ARG if empty or
 * longer than 128 bytes. */
ANT_MUST_CHECK ant_err ant_upgrade_set_peer_id(struct ant_upgrade *u, const char *peer_id);

/* Stops the monitor if running and frees the engine. NULL is fine. */
void ant_upgrade_free(struct ant_upgrade *u);

/* The on-disk binary path resolved by ant_upgrade_new (owned by the engine). */
const char *ant_upgrade_binary_path(const struct ant_upgrade *u);

/*
 * Trial-boot check; call once at start before the node serves (ARCHITECTURE.md §5 step 11).
 * - First run (no state yet): the running version becomes floor and confirmed version.
 * - Running version above the confirmed one: a trial; this start counts one attempt
 *   (`Trial boot started`) and raises the floor to it. If trial_max_attempts starts already
 *   failed, the engine restores
 *   `<binary>.backup` under replace.lock (unless another node already did), marks the version
 *   bad (`Rolling back failed upgrade`) and sets *restart: the caller then calls
 *   ant_upgrade_restart() and exits with its code without starting the node.
 * - Running the confirmed version while a trial of a higher one was open: that version was
 *   rolled back (by another node sharing the binary) and is marked bad.
 * The trial is confirmed by the monitor after trial_period_s (or ant_upgrade_confirm()).
 * Errors: ANT_ERR_TIMEOUT (state or replace lock), ANT_ERR_IO, ANT_ERR_PARSE (state file
 * unreadable; it is never silently reset). A failed rollback copy is logged and reported as
 * the copy's error with *restart false.
 */
ANT_MUST_CHECK ant_err ant_upgrade_boot(struct ant_upgrade *u, bool *restart);

/*
 * Clears the marks of `version` (failed trials) from this node's state and from
 * `<binary>.bad-versions`, so it may be selected again (`ant-node upgrade clear-bad`).
 * Logs `Bad version mark cleared`. Errors: ANT_ERR_BAD_VERSION (not a version),
 * ANT_ERR_NOT_FOUND (no mark of it anywhere), state and lock errors.
 */
ANT_MUST_CHECK ant_err ant_upgrade_clear_bad(struct ant_upgrade *u, const char *version);

/* Confirms the running trial now: the running version becomes the confirmed version
 * (`Trial boot confirmed`). ANT_OK when no trial is open. */
ANT_MUST_CHECK ant_err ant_upgrade_confirm(struct ant_upgrade *u);

/*
 * The version of this node's open (started, not yet confirmed) trial boot, from the state
 * file: copied into `version` (capacity `cap`), "" when no trial is open. For operator
 * commands that must not install over an unconfirmed binary (its .backup would then be
 * the unconfirmed version, leaving nothing good to roll back to).
 * Errors: those of reading the state file (ANT_ERR_PARSE, ...), ANT_ERR_INVALID_ARG (does
 * not fit in `cap`).
 */
ANT_MUST_CHECK ant_err ant_upgrade_open_trial(struct ant_upgrade *u, char *version, size_t cap);

/* Starts the monitor thread (ARCHITECTURE.md §5 step 1). Errors: ANT_ERR_INVALID_ARG (already
 * running), ANT_ERR_IO (thread creation). */
ANT_MUST_CHECK ant_err ant_upgrade_monitor_start(struct ant_upgrade *u);

/* Wakes and joins the monitor thread. A monitor busy in a transfer or lock wait is waited
 * for at most 5 s, then left behind (logged): the caller is shutting down, every upgrade
 * step is crash-safe, and ant_upgrade_free() then leaves the engine to the process exit. */
void ant_upgrade_monitor_stop(struct ant_upgrade *u);

/* True once the monitor (or ant_upgrade_run_once) has replaced or found the new binary and
 * the node should restart into it. Thread-safe. */
bool ant_upgrade_restart_pending(const struct ant_upgrade *u);

/*
 * Leaves for the on-disk binary (ARCHITECTURE.md §5 step 10); call after the node shut down
 * cleanly. With stop_on_upgrade sets *exit_code = 75; standalone, spawns the on-disk path
 * with the saved argv (never /proc/self/exe) and sets *exit_code = 0. Logs
 * `Restarting into new binary`. The caller returns *exit_code from main().
 * Errors: ANT_ERR_IO (spawn failed; *exit_code is then 75 so a supervisor still helps).
 */
ANT_MUST_CHECK ant_err ant_upgrade_restart(struct ant_upgrade *u, int *exit_code);

/* The fd a standalone successor finds its inherited listener at (systemd's first). */
#define ANT_UPGRADE_LISTEN_FD 3

/*
 * ant_upgrade_restart() handing the node's listening socket `listen_fd` (a duplicate the
 * caller keeps and closes afterwards; -1 for none) to the successor, so connections that
 * arrive during the restart wait in its backlog instead of being refused
 * (ARCHITECTURE.md §11). Standalone, the successor gets it as fd ANT_UPGRADE_LISTEN_FD with
 * LISTEN_FDS=1, LISTEN_FDNAMES=listener and LISTEN_PID set to its own pid, as systemd
 * passes fds. With stop_on_upgrade the fd is unused: the service manager's fd store
 * already holds the socket (ant/node_service.h). Errors: as ant_upgrade_restart().
 */
ANT_MUST_CHECK ant_err ant_upgrade_restart_with_listener(struct ant_upgrade *u, int listen_fd,
                                                         int *exit_code);

/* What a check found (a plain value type). */
struct ant_upgrade_plan {
    bool available;                       /* a release above running and floor exists */
    char running[ANT_SEMVER_TEXT_MAX];
    char floor[ANT_SEMVER_TEXT_MAX];
    char version[ANT_SEMVER_TEXT_MAX];    /* selected version when available */
    int64_t first_seen;                   /* Unix seconds; 0 if not yet scheduled */
    int64_t scheduled_at;                 /* Unix seconds the rollout gate opens */
    uint64_t delay_ms;                    /* this node's rollout delay for `version` */
    /* The rollout control (ARCHITECTURE.md §10) as this check saw it. */
    bool held;                            /* the gate stays shut now, whatever the time */
    bool urgent;                          /* below minimum_version or on a yanked version */
    bool rollout;                         /* the timestamp carries a rollout */
    char rollout_version[ANT_SEMVER_TEXT_MAX];
    char cursor[16];                      /* percent text, "" without a rollout */
    bool halted;
    bool candidate;                       /* by the cursor; true when no cursor applies */
    char reason[ANT_SEMVER_TEXT_MAX * 3 + 96]; /* one line: why it will or will not upgrade now */
};

/*
 * Discovers and selects (steps 2-4). With `schedule`, records the selection as pending
 * (first sighting fixes first_seen; a newer release replaces the pending one) and logs
 * `Upgrade available` / `Upgrade scheduled`; without, only computes what would happen.
 * Errors: those of release discovery (ANT_ERR_NETWORK, ANT_ERR_HTTP_STATUS, ...), state
 * file errors.
 */
ANT_MUST_CHECK ant_err ant_upgrade_check(struct ant_upgrade *u, bool schedule,
                                         struct ant_upgrade_plan *plan);

/*
 * Acquires, verifies, extracts, validates, stores and installs `plan->version` on disk
 * (steps 5-9), whether or not its rollout time has come (the caller decides). The archive
 * must match the signed targets entry the check found (length and SHA-256) before it is
 * extracted, and the binary inside it the entry's binary digest before it runs. On success
 * the restart is pending. Errors are logged as `Upgrade failed` with the stage and kept as
 * the state's last error: ANT_ERR_DOWNGRADE, ANT_ERR_BAD_VERSION_SEEN, ANT_ERR_BAD_SIGNATURE,
 * ANT_ERR_BAD_ARCHIVE, ANT_ERR_BAD_BINARY, ANT_ERR_NO_SPACE, ANT_ERR_TIMEOUT, network errors.
 */
ANT_MUST_CHECK ant_err ant_upgrade_apply(struct ant_upgrade *u,
                                         const struct ant_upgrade_plan *plan);

/*
 * Installs an operator's archive in hand (`ant-node upgrade apply --archive FILE
 * --signature FILE --release-version V`, air-gapped): without release metadata, but the
 * floor and bad marks, the detached signature (ARCHITECTURE.md §3) and the binary
 * validation all apply as for ant_upgrade_apply. Logs a WARN that no metadata vouched for
 * it. The restart is not scheduled (nodes sharing the binary find it installed).
 * Errors: those of ant_upgrade_apply, ANT_ERR_NOT_FOUND / ANT_ERR_UNSAFE_FILE (a file that
 * is missing or not regular), ANT_ERR_TOO_LARGE.
 */
ANT_MUST_CHECK ant_err ant_upgrade_apply_archive(struct ant_upgrade *u, const char *version,
                                                 const char *archive_path,
                                                 const char *signature_path);

/*
 * Selects the release the operator names (`ant-node upgrade apply --release-version V`,
 * online), for ant_upgrade_apply to install now: any channel (an -rc or -alpha no node
 * installs by itself), and whatever the signed cursor, a halt or the window say. The fresh
 * signed targets must list V for this platform and not yank it; V must be above the
 * running version and the floor, in the release list, and not marked bad on this node.
 * plan->reason says why on every refusal. Errors: ANT_ERR_NOT_FOUND (not listed in the
 * targets, not in the release list, or metadata not fresh), ANT_ERR_DOWNGRADE (yanked, or
 * not above running/floor), ANT_ERR_BAD_VERSION, and those of ant_upgrade_check.
 */
ANT_MUST_CHECK ant_err ant_upgrade_select_version(struct ant_upgrade *u, const char *version,
                                                  struct ant_upgrade_plan *plan);

/*
 * One monitor tick: check with scheduling, then apply if the gate is open (`now` ≥
 * scheduled_at). *next_s is how long to sleep before the next tick (the scheduled time if
 * it comes before the next interval). The monitor thread calls this; tests may too.
 */
ANT_MUST_CHECK ant_err ant_upgrade_run_once(struct ant_upgrade *u, uint64_t *next_s);

/*
 * The node's upgrade status as malloc'd text (the caller frees it): JSON with `json`,
 * else "key: value" lines. Reads the state file only; no network.
 */
ANT_MUST_CHECK ant_err ant_upgrade_status(struct ant_upgrade *u, bool json, char **text);

/* Formats a plan the same two ways (for `ant-node upgrade check`). */
ANT_MUST_CHECK ant_err ant_upgrade_plan_format(const struct ant_upgrade_plan *plan, bool json,
                                               char **text);

/* The node-local secret mixed into the rollout delay: ANT_UPGRADE_SECRET_BYTES random
 * bytes in the root dir, 0600, created O_EXCL on first use. */
#define ANT_UPGRADE_SECRET_FILE "rollout.secret"
#define ANT_UPGRADE_SECRET_BYTES 32

/*
 * This node's rollout delay for `version` as the engine computes it: with a secret
 * (`secret_len` > 0), window × first-8-bytes-big-endian(SHA-256("ant-node rollout delay
 * v2" ‖ 0x00 ‖ secret ‖ peer_id ‖ 0x00 ‖ version)) / 2^64; without (`secret_len` 0), the
 * public formula of ant_upgrade_rollout_delay. The secret keeps the in-window restart
 * moment of a node unknown to anyone who only knows its peer id (issue 13 item 9), while
 * the delay stays uniform over the window and stable across restarts.
 * Errors: ANT_ERR_INVALID_ARG (empty strings, secret NULL with a length), ANT_ERR_CRYPTO.
 */
ANT_MUST_CHECK ant_err ant_upgrade_rollout_delay_keyed(const uint8_t *secret, size_t secret_len,
                                                       const char *peer_id, const char *version,
                                                       uint64_t window, uint64_t *delay);

/*
 * Rollout candidacy by the signed cursor (ARCHITECTURE.md §10): true when SHA-256(seed ‖
 * peer_id), the 32 seed bytes then the peer id's text, read as a 256-bit big-endian number
 * H, satisfies H ≤ cursor × (2^256 − 1) / 100. The cursor comes in millionths of the whole
 * (`cursor_ppm`, 1 000 000 = 100 %, as struct ant_meta_rollout carries it), so the test is
 * done exactly, without division, as H × 1 000 000 ≤ cursor_ppm × (2^256 − 1) in 320-bit
 * integers. 0 selects nobody (H = 0 aside, a 2^-256 chance), 1 000 000 everybody, and a
 * higher cursor keeps every node a lower one chose. Cursors above 1 000 000 count as 100 %.
 * Errors: ANT_ERR_INVALID_ARG (NULL or empty peer id), ANT_ERR_CRYPTO.
 */
ANT_MUST_CHECK ant_err ant_upgrade_rollout_candidate(const uint8_t seed[32], const char *peer_id,
                                                     uint32_t cursor_ppm, bool *candidate);

/*
 * The public rollout delay for `version` (ARCHITECTURE.md §5 step 4), used when a node has
 * no secret:
 * window × first-8-bytes-big-endian(SHA-256(peer_id ‖ version)) / 2^64, peer_id and
 * version hashed as their text bytes, in the unit of `window` (the engine uses ms).
 * Always < window (0 when window is 0). Errors: ANT_ERR_INVALID_ARG (empty strings),
 * ANT_ERR_CRYPTO.
 */
ANT_MUST_CHECK ant_err ant_upgrade_rollout_delay(const char *peer_id, const char *version,
                                                 uint64_t window, uint64_t *delay);

#endif
