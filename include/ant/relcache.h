/*
 * The release-info cache: `releases.json` in the shared per-host cache directory
 * (ARCHITECTURE.md §4, §5 step 2), so that every node on a host fetches the release list at most
 * once per TTL. A fresh file is used as is; otherwise the caller takes `releases.lock`
 * (flock with a timeout), looks again (another node may have just fetched), and only then
 * fetches and stores the list atomically.
 *
 * The cache directory is writable by every node of the user, so the file is untrusted
 * input: it is read with the capped O_NOFOLLOW primitives of fsx (1 MiB), and anything
 * odd about it (symlink, FIFO, oversize, unparsable, for another URL, stale, or dated in
 * the future) makes it a miss, never an error. What it can influence is only which
 * version a node tries; the ML-DSA signature over the archive still decides what runs.
 */
#ifndef ANT_RELCACHE_H
#define ANT_RELCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "ant/err.h"
#include "ant/http.h"
#include "ant/releases.h"

#define ANT_RELCACHE_FILE "releases.json"
#define ANT_RELCACHE_LOCK "releases.lock"
#define ANT_RELCACHE_MAX ANT_RELEASES_JSON_MAX /* cap on releases.json, bytes */
#define ANT_RELCACHE_DEFAULT_TTL_S 3600u
#define ANT_RELCACHE_DEFAULT_LOCK_TIMEOUT_MS 90000u
#define ANT_RELCACHE_DEFAULT_RETRY_S 300u
/* How far in the future a fetched_at may lie and still count (clock steps between
 * processes of one host are small; anything beyond is treated as tampering: stale). */
#define ANT_RELCACHE_FUTURE_SKEW_S 300

/* Settings, a plain value type; start from ant_relcache_opts_init(). */
struct ant_relcache_opts {
    const char *api_url;              /* NULL = ANT_RELEASES_DEFAULT_API */
    const char *repo;                 /* OWNER/NAME, required */
    const struct ant_http_opts *http; /* NULL = ant_http_opts_init defaults */
    unsigned ttl_s;                   /* 0 = ANT_RELCACHE_DEFAULT_TTL_S */
    unsigned lock_timeout_ms;         /* 0 = ANT_RELCACHE_DEFAULT_LOCK_TIMEOUT_MS */
    unsigned retry_s;                 /* a failed fetch is remembered this long (capped at
                                         the TTL); 0 = ANT_RELCACHE_DEFAULT_RETRY_S */
};

void ant_relcache_opts_init(struct ant_relcache_opts *opts);

/* Where a list returned by ant_relcache_get came from. */
enum ant_relcache_source {
    ANT_RELCACHE_FETCHED = 1, /* fetched now (and stored if a cache dir was given) */
    ANT_RELCACHE_HIT = 2,     /* read from a fresh releases.json */
};

/*
 * Returns the release list for opts->repo: from `releases.json` in `cache_dirfd` if it is
 * fresh (logs `Using cached release info`), else fetched (ant_releases_fetch logs
 * `Fetched release info url=...`) under `releases.lock` and stored. `cache_dirfd` is an
 * open, already checked directory (ant_fsx_open_trusted_dir) or -1 for no cache (always
 * fetch). If the lock cannot be had within the timeout, or the cache cannot be written,
 * the list is still fetched and returned (with a warning): the cache saves requests, it
 * must not stop upgrades. A failed fetch (HTTP status, network, timeout, oversize or
 * unparsable body) is recorded in releases.json too, and for opts->retry_s every node of
 * the host gets that error back without asking the server again, so a rate-limited or
 * broken API sees one request per host per retry period, not one per node.
 * `source` may be NULL. The caller frees *out.
 * Errors: ANT_ERR_INVALID_ARG (bad repo or arguments), and those of ant_releases_fetch,
 * fresh or remembered (no stale list is returned when a needed fetch fails).
 */
ANT_MUST_CHECK ant_err ant_relcache_get(int cache_dirfd, const struct ant_relcache_opts *opts,
                                        struct ant_release_list **out,
                                        enum ant_relcache_source *source);

#endif
