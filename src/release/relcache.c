/*
 * The release-info cache of include/ant/relcache.h.
 *
 * File format (`releases.json`, one JSON object, at most 1 MiB):
 *   {"format":1,"source":"<API URL>","fetched_at":<unix seconds>,"releases":[...]}
 * where "releases" holds the kept fields of the GitHub release objects, so the one parser
 * of releases.c reads both the API body and the cache; or, after a failed fetch,
 *   {"format":1,"source":...,"fetched_at":...,"error":<ant_err>,"status":<HTTP status>}
 * which answers every node with that error for retry_s seconds (capped at the TTL).
 *
 * Freshness comes from fetched_at inside the file, not from the file's mtime. Both are
 * writable by anyone who can write the cache directory, so neither is proof of anything;
 * the difference is what a forged value can do. We accept fetched_at only within
 * [now - TTL, now + ANT_RELCACHE_FUTURE_SKEW_S]: a date far in the future (which would
 * otherwise keep a planted list "fresh" for ever and pin the host to old releases) is
 * stale at once, so a single forged write buys at most TTL + skew of staleness, and
 * keeping a host pinned needs an attacker who rewrites the file continuously. Such an
 * attacker could as well delete releases or block the network; and whatever list they
 * plant, it only chooses which version we try: the upgrade engine downloads that version
 * and installs it only if its ML-DSA signature, bound to version and platform, verifies
 * against our trust anchors. The source URL is stored too, so nodes configured for
 * different repositories or API servers never take each other's lists.
 */
#include "ant/relcache.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "release/releases_json.h"

#define MOD "release"
#define CACHE_FORMAT 1

void ant_relcache_opts_init(struct ant_relcache_opts *opts)
{
    if (opts == NULL)
        return;
    memset(opts, 0, sizeof *opts);
    opts->ttl_s = ANT_RELCACHE_DEFAULT_TTL_S;
    opts->lock_timeout_ms = ANT_RELCACHE_DEFAULT_LOCK_TIMEOUT_MS;
}

/* Only failures that say something about the server or the path to it are remembered;
 * a fault of this process (memory, arguments) must not hold back the other nodes. */
static bool failure_is_remembered(ant_err err)
{
    return err != ANT_OK && err != ANT_ERR_NOMEM && err != ANT_ERR_INVALID_ARG &&
           err != ANT_ERR_INTERNAL && err != ANT_ERR_IO;
}

/*
 * Reads releases.json. Returns ANT_OK with *out for a fresh list for `url`; the recorded
 * error (with *status) for a fresh failure record; ANT_ERR_NOT_FOUND for anything else
 * (absent, stale, unusual). With `warn`, an unusual file is logged at warning level (it
 * points at tampering or a bug); the re-check under the lock passes false so one miss is
 * reported once.
 */
static ant_err cache_load(int dirfd, const char *url, const struct ant_relcache_opts *o,
                          bool warn, struct ant_release_list **out, int64_t *age_s,
                          long *status)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_object *root = NULL, *v = NULL;
    const char *why = NULL;
    int64_t fetched_at, now;
    ant_err err;

    *out = NULL;
    err = ant_fsx_read_capped(dirfd, ANT_RELCACHE_FILE, ANT_RELCACHE_MAX, &data, &len);
    if (err == ANT_ERR_NOT_FOUND)
        return err;
    if (err != ANT_OK) {
        if (warn)
            ant_log(ANT_LOG_WARN, MOD, "Ignoring cached release info: %s file=%s",
                    ant_strerror(err), ANT_RELCACHE_FILE);
        return ANT_ERR_NOT_FOUND;
    }
    err = releases_json_parse((const char *)data, len, ANT_RELCACHE_MAX, &root);
    if (err != ANT_OK || !json_object_is_type(root, json_type_object)) {
        why = "not a JSON object";
        goto miss;
    }
    if (!json_object_object_get_ex(root, "format", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) != CACHE_FORMAT) {
        why = "unknown format";
        goto miss;
    }
    if (!json_object_object_get_ex(root, "source", &v) ||
        !json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), url) != 0) {
        /* another repository or API server: a plain miss, not a warning */
        json_object_put(root);
        free(data);
        return ANT_ERR_NOT_FOUND;
    }
    if (!json_object_object_get_ex(root, "fetched_at", &v) ||
        !json_object_is_type(v, json_type_int)) {
        why = "no fetched_at";
        goto miss;
    }
    fetched_at = json_object_get_int64(v);
    now = (int64_t)time(NULL);
    if (fetched_at > now + ANT_RELCACHE_FUTURE_SKEW_S) {
        why = "fetched_at lies in the future";
        goto miss;
    }
    /* Safety: a planted value near INT64_MIN would overflow now - fetched_at below. */
    if (fetched_at < 0) {
        why = "fetched_at is negative";
        goto miss;
    }
    *age_s = now - fetched_at;
    if (json_object_object_get_ex(root, "error", &v)) {
        /* a failure record: it holds back retries for retry_s (never longer than ttl_s) */
        json_object *sv = NULL;
        int64_t code = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
        unsigned window = o->retry_s < o->ttl_s ? o->retry_s : o->ttl_s;
        if (code >= 0 || code < -1000 || !failure_is_remembered((ant_err)code)) {
            why = "malformed failure record";
            goto miss;
        }
        if (json_object_object_get_ex(root, "status", &sv) &&
            json_object_is_type(sv, json_type_int))
            *status = (long)json_object_get_int64(sv);
        json_object_put(root);
        free(data);
        return fetched_at <= now - (int64_t)window ? ANT_ERR_NOT_FOUND : (ant_err)code;
    }
    if (fetched_at <= now - (int64_t)o->ttl_s) {
        json_object_put(root); /* stale: the ordinary way a cache entry ends */
        free(data);
        return ANT_ERR_NOT_FOUND;
    }
    if (!json_object_object_get_ex(root, "releases", &v) ||
        releases_list_from_json(v, out) != ANT_OK) {
        why = "no release list";
        goto miss;
    }
    json_object_put(root);
    free(data);
    return ANT_OK;
miss:
    if (warn)
        ant_log(ANT_LOG_WARN, MOD, "Ignoring cached release info: %s file=%s", why,
                ANT_RELCACHE_FILE);
    json_object_put(root);
    free(data);
    return ANT_ERR_NOT_FOUND;
}

/* Adds `v` under `key`, releasing `v` if it cannot be added (json-c keeps ownership with
 * the caller on failure); false also for a NULL `v` from a failed constructor. */
static bool put_field(json_object *o, const char *key, json_object *v)
{
    if (v == NULL)
        return false;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

/* Stores the list, or (list NULL) the failure `fail` with its HTTP status. Problems are
 * logged and otherwise ignored: the cache saves requests, it never decides the outcome. */
static void cache_store(int dirfd, const char *url, const struct ant_release_list *list,
                        ant_err fail, long status)
{
    json_object *root = json_object_new_object();
    const char *text;
    size_t len = 0;
    ant_err err;

    if (root == NULL || !put_field(root, "format", json_object_new_int(CACHE_FORMAT)) ||
        !put_field(root, "source", json_object_new_string(url)) ||
        !put_field(root, "fetched_at", json_object_new_int64((int64_t)time(NULL))) ||
        (list != NULL && !put_field(root, "releases", releases_list_to_json(list))) ||
        (list == NULL && (!put_field(root, "error", json_object_new_int((int)fail)) ||
                          !put_field(root, "status", json_object_new_int64(status))))) {
        ant_log(ANT_LOG_WARN, MOD, "Not caching release info: out of memory");
        json_object_put(root);
        return;
    }
    text = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (text == NULL || len > ANT_RELCACHE_MAX) {
        ant_log(ANT_LOG_WARN, MOD, "Not caching release info: %s",
                text == NULL ? "out of memory" : "over the size cap");
        json_object_put(root);
        return;
    }
    err = ant_fsx_write_atomic(dirfd, ANT_RELCACHE_FILE, text, len, 0600);
    if (err != ANT_OK)
        ant_log(ANT_LOG_WARN, MOD, "Could not cache release info: %s file=%s",
                ant_strerror(err), ANT_RELCACHE_FILE);
    json_object_put(root);
}

ant_err ant_relcache_get(int cache_dirfd, const struct ant_relcache_opts *opts_in,
                         struct ant_release_list **out, enum ant_relcache_source *source)
{
    struct ant_relcache_opts o;
    char url[ANT_HTTP_URL_MAX + 1];
    int lockfd = -1;
    int64_t age = 0;
    long status = 0;
    ant_err err;

    if (out == NULL || opts_in == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    o = *opts_in;
    if (o.ttl_s == 0)
        o.ttl_s = ANT_RELCACHE_DEFAULT_TTL_S;
    if (o.lock_timeout_ms == 0)
        o.lock_timeout_ms = ANT_RELCACHE_DEFAULT_LOCK_TIMEOUT_MS;
    if (o.retry_s == 0)
        o.retry_s = ANT_RELCACHE_DEFAULT_RETRY_S;
    err = ant_releases_api_url(o.api_url, o.repo, url, sizeof url);
    if (err != ANT_OK)
        return err;

    if (cache_dirfd >= 0) {
        err = cache_load(cache_dirfd, url, &o, true, out, &age, &status);
        if (err != ANT_ERR_NOT_FOUND)
            goto cached;
        err = ant_fsx_lock(cache_dirfd, ANT_RELCACHE_LOCK, o.lock_timeout_ms, &lockfd);
        if (err != ANT_OK) {
            ant_log(ANT_LOG_WARN, MOD, "Could not take %s (%s); fetching release info anyway",
                    ANT_RELCACHE_LOCK, ant_strerror(err));
            lockfd = -1;
        } else {
            /* another node may have fetched (or failed) while we waited for the lock */
            err = cache_load(cache_dirfd, url, &o, false, out, &age, &status);
            if (err != ANT_ERR_NOT_FOUND) {
                ant_fsx_unlock(lockfd);
                goto cached;
            }
        }
    }

    err = ant_releases_fetch(url, o.http, out, &status);
    if (cache_dirfd >= 0 && (err == ANT_OK || failure_is_remembered(err)))
        cache_store(cache_dirfd, url, err == ANT_OK ? *out : NULL, err, status);
    ant_fsx_unlock(lockfd);
    if (err == ANT_OK && source != NULL)
        *source = ANT_RELCACHE_FETCHED;
    return err;

cached:
    if (err != ANT_OK) {
        ant_log(ANT_LOG_WARN, MOD, "Release info fetch failed %llds ago (%s status=%ld); "
                "not retrying before %us have passed url=%s",
                (long long)age, ant_strerror(err), status,
                o.retry_s < o.ttl_s ? o.retry_s : o.ttl_s, url);
        return err;
    }
    ant_log(ANT_LOG_INFO, MOD, "Using cached release info url=%s age_s=%lld", url,
            (long long)age);
    if (source != NULL)
        *source = ANT_RELCACHE_HIT;
    return ANT_OK;
}
