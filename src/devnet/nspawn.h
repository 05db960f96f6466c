/*
 * A devnet of systemd hosts (`ant-devnet up --systemd`, ARCHITECTURE.md §11): each host is a
 * systemd-nspawn container booting Debian 12's systemd from the cached root file system
 * (scripts/systemd-host-rootfs.sh), in its host's network namespace of the --netns
 * machinery, with ant-node installed by packaging/install.sh and run by the shipped
 * ant-node@.service. The supervisor starts the containers instead of the nodes; systemd in
 * each container is then the service manager. What the report and `status` need from the
 * containers (node logs from the journals, NRestarts/ExecMainPID/ActiveState from systemd,
 * the nodes' rollout secrets and metadata state) is exported into the devnet's usual layout
 * by dn_nspawn_sync, so the log-based report rows read it as for any other devnet.
 *
 * Per host h, beside the usual tree:
 *   D/hosts/h<h>/container.pid     "<nspawn pid> <leader pid> <leader start time>"
 *   D/hosts/h<h>/devnet/           files bound read-only at /mnt/devnet (env files, trust
 *                                  anchors, the unit drop-in) and copied into place
 *   D/hosts/h<h>/logs/console.log  the container's console
 *   D/hosts/h<h>/systemd.json      the last sync: per unit NRestarts, ExecMainPID,
 *                                  ActiveState, systemd's restarts/exits/timeouts seen in
 *                                  the journal, journald priority checks; the binary's version
 *                                  and the host's bad versions
 *   D/hosts/h<h>/ping.json         the client PINGing node 0 of the host every 10 ms
 */
#ifndef ANT_DEVNET_NSPAWN_H
#define ANT_DEVNET_NSPAWN_H

#include <stdio.h>

#include "devnet/devnet_int.h"

/* Every node of host h listens on <host address>:DN_NSPAWN_BASE_PORT + n. */
#define DN_NSPAWN_BASE_PORT 12000
/* The drop-in's TimeoutStartSec: a start that never becomes ready fails in seconds. */
#define DN_NSPAWN_START_TIMEOUT_S 8

struct dn_nspawn;

/* Checks what `up --systemd` needs: root, systemd-nspawn, the root file system
 * (lib/systemd/systemd and the .ant-complete mark) and packaging/install.sh. Logs what is
 * missing. ANT_ERR_NOT_FOUND / ANT_ERR_INVALID_ARG. */
ANT_MUST_CHECK ant_err dn_nspawn_check(const struct dn_config *cfg);
/* Writes each host's D/hosts/h<h>/devnet files (before the supervisor starts). */
ANT_MUST_CHECK ant_err dn_nspawn_prepare(const struct dn_config *cfg);
/* Supervisor: boots every container, installs ant-node in each, waits until every unit is
 * active (READY=1), starts the ping clients. On error what was started is stopped. */
ANT_MUST_CHECK ant_err dn_nspawn_up(const struct dn_config *cfg, struct dn_nspawn **out);
/* Supervisor: a reaped child of ours (container or client) is logged; true if it was ours. */
bool dn_nspawn_reaped(struct dn_nspawn *ns, pid_t pid, int status);
/* Supervisor: exports the containers' state every few seconds. */
void dn_nspawn_poll(struct dn_nspawn *ns, double now);
/* Supervisor: stops the clients and powers the containers off (SIGKILL after a grace
 * time); frees ns. NULL is fine. */
void dn_nspawn_stop(struct dn_nspawn *ns);
/* Exports every live container's journal, unit state and node files into D (see above). */
ANT_MUST_CHECK ant_err dn_nspawn_sync(const struct dn_config *cfg);
/* `down`: kills every container D/hosts/h<h>/container.pid still names (checked: the same
 * process, a systemd in another pid namespace) and removes the pid files. */
ANT_MUST_CHECK ant_err dn_nspawn_destroy(const char *dir);
/* Node i's unit as of the last sync: its main pid (inside the container), whether it is
 * active and systemd's NRestarts. False when unknown. */
bool dn_nspawn_node_main(const struct dn_config *cfg, unsigned i, pid_t *pid, bool *active,
                         unsigned *nrestarts);
/* Reads the regular file `rel` (at most cap bytes) under the directory `rootfd` as if it
 * were "/": every component, symlinks and ".." included, resolves inside it
 * (openat2 RESOLVE_IN_ROOT), the last one is never a symlink, and nothing but a regular
 * file is ever opened to read (an O_PATH handle first: a FIFO or device at the path is
 * refused without being opened). How files come out of a
 * container, whose nodes own their state dirs. ANT_ERR_NOT_FOUND, ANT_ERR_UNSAFE_FILE (not
 * a regular file, too large, a symlink at the end), ANT_ERR_NOMEM. */
ANT_MUST_CHECK ant_err dn_nspawn_read_at_root(int rootfd, const char *rel, size_t cap,
                                              char **data, size_t *len);
/* Runs argv (argv[0] absolute) as every command the devnet runs inside a container runs,
 * but without entering one: a fork child that drops every capability (bounding, ambient,
 * effective, permitted, inheritable), locks the securebits so uid 0 regains none at exec,
 * sets no_new_privs and gets a fixed environment. Stdout into *out as by the sync. For the
 * attack test of that drop. */
ANT_MUST_CHECK ant_err dn_nspawn_run_capless(const char *const *argv, char **out,
                                             size_t *outlen, int *status);
/* `status`: one line per unit from the last sync. */
void dn_nspawn_status(const struct dn_config *cfg, FILE *out);

#endif
