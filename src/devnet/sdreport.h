/*
 * The report rows of a devnet of systemd hosts (`up --systemd`, ARCHITECTURE.md §11),
 * judged from what systemd and journald say (D/hosts/h<h>/systemd.json, exported by
 * nspawn.c) against the nodes' own logs, and from the ping clients. They replace the rows
 * that read the devnet supervisor's state and /proc, which do not see inside a container.
 * They are appended to report.c's table (report_row.h).
 */
#ifndef ANT_DEVNET_SDREPORT_H
#define ANT_DEVNET_SDREPORT_H

#include <json-c/json.h>

#include "devnet/fleet.h"
#include "devnet/report_row.h"

struct dn_sd_version {
    const char *version;
    bool rolled_back;
};

/*
 * Appends to rows[0..cap) at *n, for the published versions (in order) and the final version
 * the fleet should run: per good version "restarts counted by systemd", per rolled-back
 * version "hanging release rolled back and marked bad", then "units active", "0 refused
 * connections" and "journald priorities". Rows past cap are dropped.
 */
void dn_sd_rows(const struct dn_config *cfg, const struct dn_fleet *f,
                const struct dn_sd_version *pub, size_t npub, const char *final_version,
                struct dn_row *rows, size_t cap, size_t *n);

#endif
