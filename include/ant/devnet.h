/*
 * ant-devnet: a fleet of ant-node processes on one machine (ARCHITECTURE.md §7).
 *
 * A devnet lives in one directory D. `up` lays out H host trees under D (each with its own
 * bin dir holding one ant-node shared by its N nodes, its own shared upgrade cache and the
 * nodes' root dirs), a devnet ML-DSA-65 release key trusted by the nodes through
 * --trusted-keys-dir, a devnet CA with a server certificate for 127.0.0.1/localhost, and
 * starts a supervisor process (its own session) that runs nginx (TLS on a free loopback
 * port, serving a GitHub-shaped release list and the assets) and the nodes, restarting any
 * exited node like systemd Restart=always. `publish` packs, signs and lists a release;
 * `report` checks a rollout from the nodes' logs, the supervisor's state and /proc; `down`
 * stops everything, also what a crashed supervisor left behind.
 *
 * Every process the devnet starts carries ANT_DEVNET_DIR=<realpath of D> in its environment
 * and lives in the supervisor's session; `down` finds leftovers by both marks.
 */
#ifndef ANT_DEVNET_H
#define ANT_DEVNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ant/err.h"

#define ANT_DEVNET_MAX_HOSTS 64
#define ANT_DEVNET_MAX_NODES_PER_HOST 64
/* Owner/name of the devnet's GitHub-shaped repository. */
#define ANT_DEVNET_OWNER "devnet"
#define ANT_DEVNET_REPO "ant-node"
/* The environment variable that marks every process of a devnet. */
#define ANT_DEVNET_ENV "ANT_DEVNET_DIR"

struct ant_devnet_up_opts {
    const char *dir;            /* devnet directory; created 0700 (must not hold a devnet) */
    const char *binary;         /* ant-node to install on every host (required) */
    unsigned hosts;             /* 1..ANT_DEVNET_MAX_HOSTS */
    unsigned nodes_per_host;    /* 1..ANT_DEVNET_MAX_NODES_PER_HOST */
    bool netns;                 /* one network namespace per host (root only), see up */
    uint64_t rollout_window_s;  /* passed to every node */
    uint64_t check_interval_s;
    uint64_t release_ttl_s;
    uint64_t trial_period_s;    /* 0 = the node's default */
    const char *channel;        /* "stable" (NULL) or "beta" */
    unsigned restart_delay_ms;  /* supervisor's RestartSec; 0 = 500 ms */
    bool systemd;               /* hosts are systemd containers (root; implies netns), see up */
    const char *rootfs;         /* with systemd: root file system of scripts/systemd-host-rootfs.sh */
    const char *packaging;      /* with systemd: dir of install.sh and systemd/ant-node@.service */
};

/* Writes the default devnet dir: $XDG_DATA_HOME/ant/devnet, else ~/.local/share/ant/devnet.
 * Errors: ANT_ERR_NOT_FOUND (neither XDG_DATA_HOME nor HOME set), ANT_ERR_INVALID_ARG
 * (does not fit in cap). */
ANT_MUST_CHECK ant_err ant_devnet_default_dir(char *buf, size_t cap);

/*
 * Creates the devnet in opts->dir and starts it: supervisor daemonized (pid file
 * D/supervisor.pid), nginx answering over TLS, every node started. Returns once all of that
 * is true, or stops whatever it started and returns the error.
 * With opts->netns every host gets its own network namespace (antdn-<id>-h<i>, <id> a hash
 * of D's realpath) joined to a bridge in the root namespace over a veth pair, on a private
 * 10.X.Y.0/24 no interface here used before: nginx also listens on 10.X.Y.1 (in the server
 * certificate too), host i's nodes run inside its namespace on 10.X.Y.(i+2). Everything is
 * recorded in D/netns.list before it is created; `down` deletes it.
 * With opts->systemd (root; implies netns) every host is a systemd-nspawn container booting
 * systemd from opts->rootfs (read-only, a tmpfs overlay on top) in its namespace, where
 * opts->packaging's install.sh installs ant-node as ant-node@1..N (the shipped unit, plus a
 * drop-in shortening TimeoutStartSec); the supervisor runs the containers and a client
 * PINGing node 0 of each host every 10 ms (ARCHITECTURE.md §11).
 * Errors: ANT_ERR_INVALID_ARG (bad options, --netns when not root), ANT_ERR_EXISTS (D
 * already holds a devnet, or a namespace or link of its name exists already), ANT_ERR_NOT_FOUND (binary, /usr/sbin/nginx, or for --netns ip,
 * missing), ANT_ERR_IO (also: a namespace, link or address could not be created),
 * ANT_ERR_CRYPTO, ANT_ERR_TIMEOUT (nginx or the supervisor did not come up).
 */
ANT_MUST_CHECK ant_err ant_devnet_up(const struct ant_devnet_up_opts *opts);

/*
 * Publishes release `version` of `binary`: packs ant-node-cli-<platform>.tar.gz (ant-node at
 * the root, 0755), signs it with the devnet key under the context
 * ant-node-release-v2:<version>:<platform> and atomically rewrites the release list with
 * the new release first. The binary must report `ant-node <version>` (checked by running
 * `<binary> --version`), so a mislabelled release cannot be published by mistake.
 * Errors: ANT_ERR_NOT_FOUND (no devnet in dir), ANT_ERR_BAD_VERSION, ANT_ERR_EXISTS (version
 * already published), ANT_ERR_MISMATCH (binary reports another version), ANT_ERR_IO,
 * ANT_ERR_CRYPTO, ANT_ERR_BAD_ARCHIVE (libarchive failed).
 */
ANT_MUST_CHECK ant_err ant_devnet_publish(const char *dir, const char *binary,
                                          const char *version, bool prerelease);

/* Binary patches with a release (issue 19). */
enum ant_devnet_delta {
    ANT_DEVNET_DELTA_NONE = 0,
    ANT_DEVNET_DELTA = 1,         /* patches from each host's binary and earlier releases */
    ANT_DEVNET_DELTA_CORRUPT = 2, /* the same, served with a byte flipped (fault scenario) */
};

/*
 * ant_devnet_publish, and with `delta` also binary patches to the release's binary from
 * every distinct binary the hosts run now and from the newest 3 earlier releases (at most
 * 4), made with libzstd as `ant-release add --delta-from` does, served beside the archive
 * and listed in the targets entry; published.json records their count and bytes.
 * Errors: those of ant_devnet_publish, plus ANT_ERR_NOMEM and ANT_ERR_INTERNAL (libzstd).
 */
ANT_MUST_CHECK ant_err ant_devnet_publish_delta(const char *dir, const char *binary,
                                                const char *version, bool prerelease,
                                                enum ant_devnet_delta delta);

/* Prints the devnet's state (supervisor, nginx, one line per node) to `out`.
 * Errors: ANT_ERR_NOT_FOUND (no devnet), ANT_ERR_PARSE, ANT_ERR_IO. */
ANT_MUST_CHECK ant_err ant_devnet_status(const char *dir, FILE *out);

/*
 * Prints one progress line per node event (docs/LOG-EVENTS.md) as the logs grow, and
 * returns when every node runs `version` (its latest `Node started` says so and that
 * process is alive) or after timeout_s (ANT_ERR_TIMEOUT). `quiet` prints only a summary
 * line every few seconds.
 */
ANT_MUST_CHECK ant_err ant_devnet_watch(const char *dir, const char *version, unsigned timeout_s,
                                        bool quiet, FILE *out);

/*
 * Checks the rollout (ARCHITECTURE.md §7 table, plus rollback rows when a rollback happened) and
 * writes D/report.json, D/report.md, D/restarts.svg and D/fleet.html (ant/devnet_serve.h); prints the markdown table (or the
 * JSON with `json`) to `out`. *all_pass is true only if every row passed.
 * Errors: ANT_ERR_NOT_FOUND (no devnet or no release published), ANT_ERR_IO, ANT_ERR_PARSE.
 */
ANT_MUST_CHECK ant_err ant_devnet_report(const char *dir, bool json, FILE *out, bool *all_pass);

/*
 * Signed release metadata scenarios (ARCHITECTURE.md §9). freeze (true) stops the
 * supervisor re-signing the timestamp: the nodes go `stale` once it expires and install
 * nothing; thaw (false) re-signs it at once and the schedule resumes.
 * Errors: ANT_ERR_NOT_FOUND (no devnet), ANT_ERR_IO, signing errors.
 */
ANT_MUST_CHECK ant_err ant_devnet_freeze(const char *dir, bool freeze);

/*
 * Replaces the keys of `role` ("root", "targets" or "timestamp") through a new root
 * version signed by two old root keys (and two new ones for "root"); new targets keys
 * re-sign the current targets; the timestamp is re-signed. *root_version = the new root
 * version. Errors: ANT_ERR_INVALID_ARG (role), ANT_ERR_NOT_FOUND, ANT_ERR_IO, signing
 * errors.
 */
ANT_MUST_CHECK ant_err ant_devnet_rotate(const char *dir, const char *role,
                                         uint64_t *root_version);

/*
 * The rollout control of ARCHITECTURE.md §10, signed with the devnet's online key: the next
 * timestamp with a rollout for `version` (NULL: the previous rollout's), cursor text
 * `cursor` ("25", "0.01"; NULL: keep the previous), `halt` 1 halts, 0 resumes, -1 keeps.
 * The seed is kept for the same version and drawn fresh for a new one. The supervisor's
 * re-signing keeps it. Errors: ANT_ERR_NOT_FOUND (no devnet, no previous rollout to
 * steer, or `version` not listed in the targets), ANT_ERR_INVALID_ARG (a new version
 * without a cursor), ANT_ERR_PARSE (cursor), ANT_ERR_BUSY (frozen: thaw first), signing
 * errors.
 */
ANT_MUST_CHECK ant_err ant_devnet_rollout(const char *dir, const char *version,
                                          const char *cursor, int halt);

/*
 * The next targets, signed by two of the devnet's targets keys, with `version` yanked
 * (`yank`) or as minimum_version, then a timestamp naming it. Errors: ANT_ERR_NOT_FOUND,
 * ANT_ERR_BAD_VERSION, signing errors.
 */
ANT_MUST_CHECK ant_err ant_devnet_policy(const char *dir, const char *version, bool yank);

/*
 * Stops the supervisor, the nodes and nginx, then kills (SIGKILL) any process still marked
 * as this devnet's (environment or session), even if the supervisor had crashed or `up`
 * failed half way; then deletes every network namespace and link D/netns.list records.
 * Leaves D's files for inspection. ANT_OK when nothing was running.
 * Errors: ANT_ERR_TIMEOUT (a process survived SIGKILL for 5 s), ANT_ERR_IO (also: a
 * namespace or link could not be deleted; the list is kept for the next `down`).
 */
ANT_MUST_CHECK ant_err ant_devnet_down(const char *dir);

/* Counts live processes marked as this devnet's (for tests and `status`). */
ANT_MUST_CHECK ant_err ant_devnet_count_processes(const char *dir, unsigned *count);

/*
 * The supervisor's main loop, for `ant-devnet up` internally (runs in the daemonized child;
 * `ready_fd` receives one line, "ok" or an error, once nginx and the nodes were started,
 * then is closed). Returns when SIGTERM/SIGINT arrives, after stopping everything.
 */
ANT_MUST_CHECK ant_err ant_devnet_supervise(const char *dir, int ready_fd);

#endif
