/*
 * The devnet's live fleet page (ARCHITECTURE.md §12): `ant-devnet serve` answers, on
 * loopback, one self-contained HTML page (no CDN, no external script: the charts are SVG
 * drawn by inline JavaScript) and the JSON it polls, built from the same inputs as
 * `report` — the nodes' logs (docs/LOG-EVENTS.md), the supervisor's state and the list of
 * published releases:
 *
 *   GET /                 the page
 *   GET /api/fleet.json   the fleet now: every node's version, liveness, restarts,
 *                         downloads, cache hits, rollbacks, errors and last event; per-host
 *                         sums; every version change (for "nodes by version over time");
 *                         the newest release's rollout against its window.
 */
#ifndef ANT_DEVNET_SERVE_H
#define ANT_DEVNET_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

/*
 * The fleet JSON of devnet `dir` as malloc'd text (*json, *len; caller frees). Works on a
 * stopped devnet too (nodes then show as not alive).
 * Errors: ANT_ERR_NOT_FOUND (no devnet in dir), ANT_ERR_PARSE, ANT_ERR_IO, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_devnet_fleet_json(const char *dir, char **json, size_t *len);

/* The page itself (static text, NUL-terminated). */
const char *ant_devnet_fleet_page(void);

struct ant_devnet_server;

/*
 * Serves the page for devnet `dir` on `listen` ("127.0.0.1:0" when NULL: any free port;
 * loopback only) from its own thread. Logs are read incrementally between requests.
 * Errors: ANT_ERR_NOT_FOUND (no devnet), those of ant_httpd_start, ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_devnet_serve_start(const char *dir, const char *listen,
                                              struct ant_devnet_server **out);
uint16_t ant_devnet_serve_port(const struct ant_devnet_server *s);
/* Stops and frees. NULL is a no-op. */
void ant_devnet_serve_stop(struct ant_devnet_server *s);

/* Name of the file in D holding the running page's URL (written by ant_devnet_serve_auto). */
#define ANT_DEVNET_FLEET_URL_FILE "fleet.url"
/* Name of the snapshot ant_devnet_fleet_snapshot writes in D. */
#define ANT_DEVNET_FLEET_SNAPSHOT_FILE "fleet.html"

/*
 * What the supervisor calls once the devnet is up: unless the environment says
 * ANT_DEVNET_SERVE=0 (`ant-devnet up --no-serve`), starts the page on a free loopback port,
 * writes its URL to D/fleet.url and logs it. *out is NULL when disabled. A failure is
 * logged and returned; the devnet runs on without the page.
 */
ANT_MUST_CHECK ant_err ant_devnet_serve_auto(const char *dir, struct ant_devnet_server **out);

/*
 * Writes D/fleet.html: the same page with the fleet JSON of this moment embedded, so it
 * renders once without a server (the end-of-run report's charts). The JSON's '<' are
 * written as \u003c, so no log content can end the script element it sits in.
 * Errors: those of ant_devnet_fleet_json, ANT_ERR_IO.
 */
ANT_MUST_CHECK ant_err ant_devnet_fleet_snapshot(const char *dir);

#endif
