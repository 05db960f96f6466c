/*
 * Release discovery and selection (ARCHITECTURE.md §5 steps 2-3): the GitHub REST release list
 * (`GET {api}/repos/{owner}/{repo}/releases?per_page=30`) parsed into a release list, and
 * the choice of the one release this node should try next.
 *
 * The list comes from the network or from an attacker-writable cache file, so parsing is
 * bounded (ANT_RELEASES_JSON_MAX bytes, nesting depth, counts and string lengths) and
 * forgiving per release: null or missing optional fields take their defaults, and a
 * release with a wrong-typed field (or a tag that is not a semantic version) is skipped on
 * its own, so one bad release never breaks the check. Nothing chosen here is trusted: the
 * signature over the archive decides what runs; the list only decides what to try.
 */
#ifndef ANT_RELEASES_H
#define ANT_RELEASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"
#include "ant/http.h"
#include "ant/semver.h"

#define ANT_RELEASES_JSON_MAX (1024u * 1024u) /* cap on a release list body, bytes */
#define ANT_RELEASES_MAX 100                  /* releases kept from one list */
#define ANT_RELEASE_ASSETS_MAX 100            /* assets kept per release */
#define ANT_RELEASE_NAME_MAX 255              /* longest asset name or tag kept */
#define ANT_RELEASES_DEFAULT_API "https://api.github.com"
#define ANT_RELEASE_SIG_SUFFIX ".sig"

enum ant_release_channel {
    ANT_RELEASE_CHANNEL_STABLE = 1, /* only versions without a pre-release suffix */
    ANT_RELEASE_CHANNEL_BETA = 2,   /* finals and `-beta[.…]` pre-releases (see below) */
};

/*
 * Whether a node on `channel` may take `v` automatically (ARCHITECTURE.md §10): `stable`
 * only finals not flagged `prerelease` on the server; `beta` also pre-releases whose first
 * identifier is exactly `beta` (1.2.0-beta, 1.2.0-beta.3; not -betamax.1, -rc.1, -alpha.1).
 * Every other pre-release is installed only by an operator naming it. The Rust ant-node
 * learned this: its beta nodes jumped onto release candidates.
 */
bool ant_release_channel_accepts(enum ant_release_channel channel, const struct ant_semver *v,
                                 bool flagged_prerelease);

/* Parses "stable" or "beta" (case-sensitive). Returns false otherwise. */
bool ant_release_channel_parse(const char *text, enum ant_release_channel *out);

/* This build's platform name, "linux-x64" or "linux-arm64", or NULL when it is built for
 * anything else (then no release ever matches). */
const char *ant_release_host_platform(void);

/* Writes the asset name for `platform` ("ant-node-cli-linux-x64.tar.gz") into buf.
 * Errors: ANT_ERR_PLATFORM (not linux-x64 / linux-arm64), ANT_ERR_TOO_LARGE (cap). */
ANT_MUST_CHECK ant_err ant_release_asset_name(const char *platform, char *buf, size_t cap);

/*
 * Checks `repo` ("OWNER/NAME": owner 1-39 of [A-Za-z0-9-] not starting with '-', name
 * 1-100 of [A-Za-z0-9._-], not "." or "..") and `api_url` (NULL = the default; must pass
 * ant_http_url_allowed; one trailing '/' ignored), and writes
 * "{api}/repos/{repo}/releases?per_page=30" into buf.
 * Errors: ANT_ERR_INVALID_ARG (bad repo), ANT_ERR_INSECURE_URL, ANT_ERR_TOO_LARGE.
 */
ANT_MUST_CHECK ant_err ant_releases_api_url(const char *api_url, const char *repo, char *buf,
                                            size_t cap);

/* An immutable parsed release list. */
struct ant_release_list;

/*
 * Parses a GitHub release list (a JSON array of release objects) of at most
 * ANT_RELEASES_JSON_MAX bytes. Per release: tag_name (string, required, a semver after one
 * optional 'v'), draft and prerelease (bool; null/missing = false), published_at (string
 * or null), assets (array or null); per asset: name and browser_download_url (strings,
 * required), size (integer ≥ 0; null/missing = unknown). A release breaking these rules is
 * skipped; an asset breaking them is skipped alone. Releases beyond ANT_RELEASES_MAX and
 * assets beyond ANT_RELEASE_ASSETS_MAX are ignored.
 * On success *out is a new list (maybe empty) the caller frees with ant_releases_free.
 * Errors: ANT_ERR_TOO_LARGE (len over the cap), ANT_ERR_PARSE (not JSON, too deep, root not
 * an array), ANT_ERR_NOMEM, ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_releases_parse(const char *json, size_t len,
                                          struct ant_release_list **out);

/* Number of releases kept (drafts included). */
size_t ant_releases_count(const struct ant_release_list *list);

/* The version of release `i` (< count) in list order, or NULL. Points into the list. */
const struct ant_semver *ant_releases_version(const struct ant_release_list *list, size_t i);

void ant_releases_free(struct ant_release_list *list);

/* What this node accepts. `bad_versions` (n_bad entries, may be NULL when 0) are versions
 * never to try again, e.g. ones that failed their trial boot. */
struct ant_release_criteria {
    struct ant_semver running;           /* the version running now */
    const struct ant_semver *floor;      /* NULL = none; else candidates must be ≥ floor */
    enum ant_release_channel channel;
    const char *platform;                /* "linux-x64" / "linux-arm64" */
    const struct ant_semver *bad_versions;
    size_t n_bad;
    /* The release API URL the list came from; NULL = an HTTPS API. Asset and signature
     * URLs may be plain http (to loopback) only when this is itself a plain-http loopback
     * URL (a test server): an HTTPS API naming http://127.0.0.1/... would otherwise make
     * every node request a local admin service on each check (blind SSRF). */
    const char *api_url;
    /* Not NULL: only this version, and the channel does not apply (an operator named it:
     * `ant-node upgrade apply --release-version V`, ARCHITECTURE.md §10). Running, floor
     * and bad marks still do. */
    const struct ant_semver *exact;
};

/* The chosen release: a plain value type (copied into the caller's state). Sizes are 0
 * when the list did not give them. */
struct ant_release_choice {
    struct ant_semver version;
    char tag[ANT_RELEASE_NAME_MAX + 1];        /* tag_name as listed, e.g. "v0.2.0" */
    char asset_name[ANT_RELEASE_NAME_MAX + 1]; /* "ant-node-cli-linux-x64.tar.gz" */
    char asset_url[ANT_HTTP_URL_MAX + 1];
    uint64_t asset_size;
    char sig_url[ANT_HTTP_URL_MAX + 1];
    uint64_t sig_size;
};

/*
 * Chooses the highest version that is not a draft, fits the channel (stable also refuses
 * a release flagged prerelease), is above `running`, at or above `floor`, not in
 * `bad_versions`, and lists both the platform's asset (exact name, see
 * ant_release_asset_name; never another OS or a bare-arch name) and `<asset>.sig`, both
 * with URLs that pass ant_http_url_allowed and are https unless `api_url` is plain http
 * to loopback. Ties keep the first listed.
 * Errors: ANT_ERR_NOT_FOUND (nothing eligible; *out zeroed), ANT_ERR_PLATFORM,
 * ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_releases_select(const struct ant_release_list *list,
                                           const struct ant_release_criteria *criteria,
                                           struct ant_release_choice *out);

/*
 * GETs `url` (from ant_releases_api_url) with the GitHub Accept header and a body cap of
 * ANT_RELEASES_JSON_MAX, and parses it. `http` may be NULL (defaults); its github_api
 * field is forced on. Every request that returned a body logs
 * `Fetched release info url=...` (the devnet counts these lines).
 * Errors: those of ant_http_get_mem (status in *status_out if not NULL) and
 * ant_releases_parse.
 */
ANT_MUST_CHECK ant_err ant_releases_fetch(const char *url, const struct ant_http_opts *http,
                                          struct ant_release_list **out, long *status_out);

#endif
