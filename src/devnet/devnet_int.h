/*
 * Internals of the devnet module shared between its files and tests/devnet: the layout of
 * a devnet directory, its configuration file, the supervisor's state file, the pieces of
 * `up` (TLS material, nginx), publishing, process discovery, and the report's log model.
 *
 * Layout of a devnet directory D (all 0700 unless noted):
 *   D/devnet.json                 configuration written by `up` (hosts, ports, timings)
 *   D/state.json                  supervisor state: per node pid, start time, restarts
 *   D/supervisor.pid, supervisor.log
 *   D/keys/release.key (0600), release.pub; D/keys/trusted/devnet.pub (0644): --trusted-keys-dir
 *   D/keys/meta/<role>-<i>.key|.pub, trusted-root.json: signed metadata keys, --trusted-root
 *   D/www/devnet/ant-node/releases/download/metadata/   root.<N>.json, targets.<M>.json,
 *                                 timestamp.json (--metadata-url); D/meta.frozen: freeze
 *   D/tls/ca.pem, ca.key, server.pem, server.key
 *   D/nginx/nginx.conf, nginx.pid, logs/, tmp/
 *   D/www/repos/devnet/ant-node/releases                the release list (GitHub shape)
 *   D/www/devnet/ant-node/releases/download/v<V>/...    the assets
 *   D/hosts/h<i>/bin/ant-node     one binary per host, shared by its nodes
 *   D/hosts/h<i>/cache            the host's shared upgrade cache
 *   D/hosts/h<i>/nodes/n<j>       node root dirs
 *   D/hosts/h<i>/logs/n<j>.log    each node's stderr, every run appended
 *   D/report.json, report.md, restarts.svg
 *   D/netns.list                  with --netns: every namespace and link created, one a line
 *   D/hosts/h<i>/container.pid, systemd.json, ping.json, devnet/
 *                                 with --systemd: the host's container (devnet/nspawn.h)
 */
#ifndef ANT_DEVNET_INT_H
#define ANT_DEVNET_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ant/devnet.h"
#include "ant/err.h"
#include "ant/meta.h"

#define DN_CONFIG_FILE "devnet.json"
#define DN_STATE_FILE "state.json"
#define DN_NETNS_FILE "netns.list"
#define DN_PID_FILE "supervisor.pid"
#define DN_NGINX "/usr/sbin/nginx"
#define DN_RELEASES_MAX (1u << 20)   /* cap on the release list we read back */
#define DN_CONFIG_MAX (256u << 10)
#define DN_BINARY_MAX (200ull << 20) /* same cap as the upgrade engine's archive cap */
#define DN_VERSION_MAX 128
#define DN_STARTS_KEPT 32            /* start history kept per node in the state file */

/* devnet.json */
struct dn_config {
    char dir[PATH_MAX];        /* realpath of D */
    unsigned hosts;
    unsigned nodes;            /* per host */
    uint16_t https_port;
    uint64_t rollout_window_s;
    uint64_t check_interval_s;
    uint64_t release_ttl_s;
    uint64_t trial_period_s;
    unsigned restart_delay_ms;
    char channel[16];
    char platform[16];
    char initial_version[DN_VERSION_MAX + 1];
    uint16_t node_port[ANT_DEVNET_MAX_HOSTS * ANT_DEVNET_MAX_NODES_PER_HOST];
    bool netns;                /* one network namespace per host */
    char net_id[12];           /* 8 hex digits naming this devnet's namespaces and links */
    char net_prefix[16];       /* "10.X.Y": server X.Y.1, host h at .(h+2), a /24 */
    bool systemd;              /* hosts are systemd-nspawn containers (nspawn.h); implies netns */
    char rootfs[PATH_MAX];     /* with systemd: the hosts' cached root file system */
    char packaging[PATH_MAX];  /* with systemd: the dir holding install.sh and systemd/ */
};

ANT_MUST_CHECK ant_err dn_config_save(const struct dn_config *cfg);
/* Loads D/devnet.json; ANT_ERR_NOT_FOUND when D holds no devnet. */
ANT_MUST_CHECK ant_err dn_config_load(const char *dir, struct dn_config *cfg);

/* snprintf into buf; ANT_ERR_INVALID_ARG when it does not fit. */
ANT_MUST_CHECK ant_err dn_path(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* mkdir -p with mode 0700 for every created component; an existing dir is kept. */
ANT_MUST_CHECK ant_err dn_mkdirs(const char *path, mode_t mode);
/* Makes a devnet dir absolute (with create, missing components are made 0700 with mkdirat
 * on the fd of the parent just checked) and checks it as trusted:
 * no symlink on its path, the dir owned by the euid and not group/other-writable, every
 * parent owned by root or the euid and not writable by others unless sticky. Every
 * devnet command resolves its --dir through this. Errors: ANT_ERR_UNSAFE_FILE (logged with
 * the reason), ANT_ERR_NOT_FOUND, ANT_ERR_INVALID_ARG (`.`/`..` components, too long),
 * ANT_ERR_IO. */
ANT_MUST_CHECK ant_err dn_resolve_dir(const char *dir, bool create, char *out, size_t cap);
/* Writes a whole file atomically at an absolute path (ant_fsx_write_atomic in its dir). */
ANT_MUST_CHECK ant_err dn_write_file(const char *path, const void *data, size_t len,
                                     mode_t mode);
/* Reads a whole regular file (capped) at an absolute path; *data NUL-terminated. */
ANT_MUST_CHECK ant_err dn_read_file(const char *path, size_t cap, char **data, size_t *len);
/* Copies a regular file (capped at DN_BINARY_MAX) atomically to dst with mode. */
ANT_MUST_CHECK ant_err dn_copy_file(const char *src, const char *dst, mode_t mode);
/* A free TCP port on 127.0.0.1 (bound and released; the caller binds it soon after). */
ANT_MUST_CHECK ant_err dn_free_port(uint16_t *port);
/* pipe(2) with both ends close-on-exec. */
ANT_MUST_CHECK ant_err dn_pipe(int fds[2]);
/* Runs `binary --version` (5 s limit) and extracts X from "ant-node X". */
ANT_MUST_CHECK ant_err dn_binary_version(const char *binary, char *version, size_t cap);
/* True when the ELF file at path has no PT_INTERP (static); ANT_ERR_BAD_BINARY if not ELF. */
ANT_MUST_CHECK ant_err dn_elf_is_static(const char *path, bool *is_static);
double dn_now(void);

/* --- TLS material (tls.c) -------------------------------------------------------------- */

/* Creates a devnet CA (EC P-256, CA:TRUE, keyCertSign) and a server certificate signed by it
 * for IP 127.0.0.1 and DNS localhost (CA:FALSE, serverAuth), each valid 30 days, as PEM
 * files in `tls_dir`: ca.pem, ca.key, server.pem, server.key (keys 0600). */
ANT_MUST_CHECK ant_err dn_tls_create(const char *tls_dir);
/* The same with one more IP address in the server certificate (NULL: none). */
ANT_MUST_CHECK ant_err dn_tls_create_ip(const char *tls_dir, const char *extra_ip);

/* --- nginx (nginx.c) ------------------------------------------------------------------- */

/* Writes D/nginx/nginx.conf for cfg (port, TLS files, document root, logs under D). */
ANT_MUST_CHECK ant_err dn_nginx_write_conf(const struct dn_config *cfg);
/* Starts nginx (`daemon off`, in the caller's session) and waits until it answers a TLS
 * handshake on the port; *pid is its master. ANT_ERR_TIMEOUT if it does not come up. */
ANT_MUST_CHECK ant_err dn_nginx_start(const struct dn_config *cfg, pid_t *pid);
/* Quick TCP connect to 127.0.0.1:port. */
bool dn_port_open(uint16_t port);

/* --- network namespaces (netns.c) ---------------------------------------------------- */

/* True when this process may create namespaces (root) and iproute2's `ip` is installed. */
bool dn_netns_available(void);
/* Sets cfg->netns, net_id (hash of cfg->dir) and net_prefix (a private 10.X.Y.0/24 no
 * interface of this machine uses yet). ANT_ERR_IO when none is free. */
ANT_MUST_CHECK ant_err dn_netns_plan(struct dn_config *cfg);
/* Creates the bridge (server address), and per host a namespace and a veth pair, recording
 * each in D/netns.list before creating it. On error the caller runs dn_netns_destroy. */
ANT_MUST_CHECK ant_err dn_netns_create(const struct dn_config *cfg);
/* Deletes everything D/netns.list names that still exists, then the list. ANT_OK when there
 * is no list; ANT_ERR_IO when something could not be deleted (the list is kept). */
ANT_MUST_CHECK ant_err dn_netns_destroy(const char *dir);
/* Host h's namespace name (under /run/netns), the server's and host h's addresses. */
ANT_MUST_CHECK ant_err dn_netns_name(const struct dn_config *cfg, unsigned h, char *buf,
                                     size_t cap);
ANT_MUST_CHECK ant_err dn_netns_server_ip(const struct dn_config *cfg, char *buf, size_t cap);
ANT_MUST_CHECK ant_err dn_netns_host_ip(const struct dn_config *cfg, unsigned h, char *buf,
                                        size_t cap);

/* --- publish (publish.c) --------------------------------------------------------------- */

/* Writes a gzip'd tar at `out_path` holding one member `ant-node` (0755, root-owned) with
 * the bytes of `binary`. */
ANT_MUST_CHECK ant_err dn_pack(const char *binary, const char *out_path);
/* Signs the file at `path` (streamed) with the raw secret key file and context. */
ANT_MUST_CHECK ant_err dn_sign_file(const char *path, const char *sk_path, const char *ctx,
                                    uint8_t sig[3309]);
/* Creates the devnet release key pair: D/keys/release.key (0600), release.pub and the
 * trusted copy D/keys/trusted/devnet.pub (0644) in a 0700 dir. */
ANT_MUST_CHECK ant_err dn_keys_create(const char *dir);

/* --- signed release metadata (meta.c) ------------------------------------------------- */

/* The metadata repository dir under D/www (served as the `metadata` release's assets). */
ANT_MUST_CHECK ant_err dn_meta_dir(const char *dir, char *buf, size_t cap);
/* Keys (3 root thr 2, 3 targets thr 2, 1 timestamp), root.1.json, the nodes' anchor
 * D/keys/meta/trusted-root.json, an empty targets and a timestamp. */
ANT_MUST_CHECK ant_err dn_meta_create(const struct dn_config *cfg);
/* Lists a release in a new targets (two targets signatures) and re-signs the timestamp;
 * the caller holds D/publish.lock. */
ANT_MUST_CHECK ant_err dn_meta_publish_locked(const struct dn_config *cfg, const char *version,
                                              const char *archive, const char *binary,
                                              const struct ant_meta_delta *deltas,
                                              size_t ndeltas);
/* Binary patches of release `version` (`binary`, being published into `reldir`) from each
 * host's current binary and the newest 3 published releases, one per distinct old binary,
 * at most ANT_META_MAX_DELTAS, listed into out[] (*nout) with their total size in *bytes.
 * With `corrupt` each is served with one byte flipped (listed with its true digest). */
ANT_MUST_CHECK ant_err dn_delta_make(const struct dn_config *cfg, const char *version,
                                     const char *binary, const char *reldir, bool corrupt,
                                     struct ant_meta_delta *out, size_t *nout, uint64_t *bytes);
/* Re-signs the timestamp (under D/publish.lock) unless D/meta.frozen exists. */
ANT_MUST_CHECK ant_err dn_meta_resign(const struct dn_config *cfg);
/* How long a timestamp is valid: 3 check intervals, at least 60 s. */
uint64_t dn_meta_timestamp_expiry(const struct dn_config *cfg);

/* --- processes (proc.c) ---------------------------------------------------------------- */

/* True if process `pid` exists and is not a zombie. */
bool dn_pid_alive(pid_t pid);
/* Process start time in seconds since boot clock ticks converted to Unix seconds; 0 if gone. */
double dn_pid_start_time(pid_t pid);
/* Lists live processes of this uid that belong to the devnet in `dir`: marked with
 * ANT_DEVNET_DIR=dir, executing a file under dir, or nginx run with dir's configuration or
 * in the devnet's session `sid` (sid <= 1: not used). Writes up to cap pids; *count is the
 * total found. */
ANT_MUST_CHECK ant_err dn_find_processes(const char *dir, pid_t sid, pid_t *pids, size_t cap,
                                         size_t *count);
/* readlink /proc/<pid>/exe into buf. */
ANT_MUST_CHECK ant_err dn_pid_exe(pid_t pid, char *buf, size_t cap);
/* Reads the pid in a pid file; 0 when absent or malformed. */
pid_t dn_read_pid_file(const char *path);

/* --- supervisor state (state.c) -------------------------------------------------------- */

struct dn_start {
    pid_t pid;
    double at;          /* Unix seconds the supervisor started it */
    int prev_status;    /* wait status of the run before (-1 for the first start) */
};

struct dn_node_state {
    pid_t pid;          /* 0 while waiting to restart */
    double started_at;
    unsigned restarts;  /* starts after the first */
    int last_status;    /* last wait status, -1 if none */
    size_t nstarts;
    struct dn_start starts[DN_STARTS_KEPT]; /* the most recent starts, oldest first */
};

struct dn_state {
    pid_t supervisor_pid;
    pid_t sid;
    pid_t nginx_pid;
    double started_at;
    bool stopping;
    unsigned hosts, nodes;
    struct dn_node_state node[ANT_DEVNET_MAX_HOSTS * ANT_DEVNET_MAX_NODES_PER_HOST];
};

ANT_MUST_CHECK ant_err dn_state_save(const char *dir, const struct dn_state *st);
/* Allocates and loads *st (free with free()). ANT_ERR_NOT_FOUND without a state file. */
ANT_MUST_CHECK ant_err dn_state_load(const char *dir, struct dn_state **st);

/* --- report model (report.c, svg.c) ---------------------------------------------------- */

/* One parsed log line. Keys point into the line buffer owned by the caller. */
struct dn_log_line {
    double t;
    char level[8];
    char module[16];
    char message[256];
    size_t nkeys;
    char key[12][24];
    char val[12][160];
};

/* Parses `line` (one log line, without the newline); false if it is not an event line. */
bool dn_log_parse(const char *line, struct dn_log_line *out);
/* The value of key k, or NULL. */
const char *dn_log_get(const struct dn_log_line *l, const char *k);
/* Parses "2026-11-27T06:20:29.123Z" into Unix seconds; false if malformed. */
bool dn_parse_time(const char *text, double *t);

/* --- the operator's steering record (steer.c) ---------------------------------------- */

enum dn_steer_kind { DN_STEER_ROLLOUT, DN_STEER_YANK, DN_STEER_MINIMUM };

/* One signed `ant-devnet rollout` (cursor, halt flag, seed of the timestamp), `yank` or
 * `minimum` (the version), with the time it was signed. */
struct dn_steer {
    enum dn_steer_kind kind;
    double at;
    char version[DN_VERSION_MAX + 1];
    uint32_t cursor_ppm;
    bool halted;
    uint8_t seed[32];
};

/* Appends s to D/steering.json (the caller holds the repository lock). */
ANT_MUST_CHECK ant_err dn_steer_append(const char *dir, const struct dn_steer *s);
/* Up to cap entries of D/steering.json in the order they were signed (*n = 0 when the
 * devnet was never steered). Entries it cannot read are left out. */
ANT_MUST_CHECK ant_err dn_steer_load(const char *dir, struct dn_steer *out, size_t cap,
                                     size_t *n);

#define DN_BINS 12

/*
 * Largest bin count that a uniform distribution of n samples over `bins` bins exceeds with
 * probability below 0.1 % (union bound over bins of the binomial tail). For large n this is
 * below 2 x mean; for a small fleet (15 nodes: mean 1.25) "2 x mean" fails nine uniform
 * samples in ten, so the report uses max(2 x mean, this).
 */
unsigned dn_uniform_bin_limit(unsigned n, unsigned bins);

/* Writes an SVG histogram: two series (scheduled, actual) of DN_BINS bins over
 * [0, window_s], with mean and limit lines. */
ANT_MUST_CHECK ant_err dn_svg_histogram(const char *path, const char *title,
                                        const unsigned sched[DN_BINS],
                                        const unsigned actual[DN_BINS], double window_s,
                                        double limit);

#endif
