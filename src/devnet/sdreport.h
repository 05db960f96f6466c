/*
 * The report rows of a devnet of systemd hosts (`up --systemd`, ARCHITECTURE.md §11),
 * judged from what systemd and journald say (D/hosts/h<h>/systemd.json, exported by
 * nspawn.c) against the nodes' own logs, and from the ping clients. They replace the rows
 * that read the devnet supervisor's state and /proc, which do not see inside a container.
 * report.c copies them into its table.
 */
#ifndef ANT_DEVNET_SDREPORT_H
#define ANT_DEVNET_SDREPORT_H

#include <json-c/json.h>

#include "devnet/fleet.h"

struct dn_sd_row {
    char check[96];
    char version[DN_VERSION_MAX + 1];
    char expect[256];
    bool pass;
    char value[200];
    char hv[ANT_DEVNET_MAX_HOSTS][64];
    bool hp[ANT_DEVNET_MAX_HOSTS];
    json_object *counts; /* owned; the caller takes it */
};

struct dn_sd_version {
    const char *version;
    bool rolled_back;
};

/*
 * Fills up to `cap` rows for the published versions (in order) and the final version the
 * fleet should run: per good version "restarts counted by systemd", per rolled-back version
 * "hanging release rolled back and marked bad", then "units active", "0 refused
 * connections" and "journald priorities". Returns the number of rows written.
 */
size_t dn_sd_rows(const struct dn_config *cfg, const struct dn_fleet *f,
                  const struct dn_sd_version *pub, size_t npub, const char *final_version,
                  struct dn_sd_row *rows, size_t cap);

#endif
