/*
 * GitHub release list: parsing with json-c, selection of the release to try, the API URL
 * and the fetch. The input is untrusted twice over (network, attacker-writable cache), so
 * every size is bounded before json-c sees it, the tokenizer runs strict with a small
 * depth limit, and each release is taken or skipped on its own: a malformed neighbour
 * must not hide a good release, and a good-looking release is only a candidate to try
 * (the signature check in the upgrade engine decides whether it runs).
 */
#include "ant/releases.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ant/log.h"
#include "ant/release_context.h"
#include "release/releases_json.h"

#define MOD "release"
#define JSON_DEPTH 16 /* GitHub's release objects nest 4 deep (release/assets/asset/uploader) */

struct asset {
    char *name;
    char *url;
    uint64_t size; /* 0 when unknown */
    bool size_known;
};

struct release {
    struct ant_semver version;
    char *tag;
    char *published_at; /* NULL when absent */
    bool draft;
    bool prerelease;
    struct asset *assets;
    size_t n_assets;
};

struct ant_release_list {
    struct release *items;
    size_t n;
};

bool ant_release_channel_parse(const char *text, enum ant_release_channel *out)
{
    if (text == NULL || out == NULL)
        return false;
    if (strcmp(text, "stable") == 0)
        *out = ANT_RELEASE_CHANNEL_STABLE;
    else if (strcmp(text, "beta") == 0)
        *out = ANT_RELEASE_CHANNEL_BETA;
    else
        return false;
    return true;
}

bool ant_release_channel_accepts(enum ant_release_channel channel, const struct ant_semver *v,
                                 bool flagged_prerelease)
{
    if (v == NULL)
        return false;
    if (!ant_semver_is_prerelease(v))
        return channel == ANT_RELEASE_CHANNEL_BETA || !flagged_prerelease;
    if (channel != ANT_RELEASE_CHANNEL_BETA)
        return false;
    /* The first dot-separated identifier, compared whole: "betamax" is not "beta". */
    return strncmp(v->pre, "beta", 4) == 0 && (v->pre[4] == '\0' || v->pre[4] == '.');
}

const char *ant_release_host_platform(void)
{
    /* core's list (shared with the signature context) names Linux builds only */
#if defined(__linux__)
    return ant_release_platform_host();
#else
    return NULL;
#endif
}

ant_err ant_release_asset_name(const char *platform, char *buf, size_t cap)
{
    int n;
    if (buf == NULL || cap == 0)
        return ANT_ERR_INVALID_ARG;
    buf[0] = '\0';
    /* An exact list, not a pattern: OS and arch are matched together, so neither a
     * darwin/windows build nor a bare "x64" name can ever be picked. */
    if (!ant_release_platform_valid(platform))
        return ANT_ERR_PLATFORM;
    n = snprintf(buf, cap, "ant-node-cli-%s.tar.gz", platform);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return ANT_ERR_TOO_LARGE;
    }
    return ANT_OK;
}

/* ---- API URL ---------------------------------------------------------------------- */

static bool owner_ok(const char *s, size_t n)
{
    if (n == 0 || n > 39 || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return true;
}

static bool repo_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 100 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

ant_err ant_releases_api_url(const char *api_url, const char *repo, char *buf, size_t cap)
{
    const char *slash;
    size_t alen;
    int n;

    if (buf == NULL || cap == 0)
        return ANT_ERR_INVALID_ARG;
    buf[0] = '\0';
    if (repo == NULL || (slash = strchr(repo, '/')) == NULL ||
        !owner_ok(repo, (size_t)(slash - repo)) || !repo_name_ok(slash + 1, strlen(slash + 1))) {
        ant_log(ANT_LOG_ERROR, MOD, "Invalid upgrade repository (want OWNER/NAME) repo=%.120s",
                repo ? repo : "(null)");
        return ANT_ERR_INVALID_ARG;
    }
    if (api_url == NULL)
        api_url = ANT_RELEASES_DEFAULT_API;
    alen = strnlen(api_url, ANT_HTTP_URL_MAX + 1);
    if (alen > 0 && api_url[alen - 1] == '/')
        alen--;
    n = snprintf(buf, cap, "%.*s/repos/%s/releases?per_page=30", (int)alen, api_url, repo);
    if (n < 0 || (size_t)n >= cap || (size_t)n > ANT_HTTP_URL_MAX) {
        buf[0] = '\0';
        return ANT_ERR_TOO_LARGE;
    }
    if (!ant_http_url_allowed(buf)) {
        ant_log(ANT_LOG_ERROR, MOD, "Refusing upgrade API URL (HTTPS only) url=%.200s", api_url);
        buf[0] = '\0';
        return ANT_ERR_INSECURE_URL;
    }
    return ANT_OK;
}

/* ---- parsing ---------------------------------------------------------------------- */

ant_err releases_json_parse(const char *json, size_t len, size_t cap, json_object **out)
{
    json_tokener *tok;
    json_object *obj;
    ant_err err = ANT_OK;

    *out = NULL;
    if (len > cap)
        return ANT_ERR_TOO_LARGE;
    tok = json_tokener_new_ex(JSON_DEPTH);
    if (tok == NULL)
        return ANT_ERR_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* len <= cap <= ANT_RELEASES_JSON_MAX (callers' caps), far below INT_MAX */
    obj = json_tokener_parse_ex(tok, json, (int)len);
    if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        err = ANT_ERR_PARSE;
        goto out;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        char c = json[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            err = ANT_ERR_PARSE;
            goto out;
        }
    }
    *out = obj;
    obj = NULL;
out:
    json_object_put(obj);
    json_tokener_free(tok);
    return err;
}

enum field_rc { FIELD_ABSENT, FIELD_OK, FIELD_BAD };

/* A string field: absent/null → FIELD_ABSENT; a string of 1..max bytes without NUL →
 * FIELD_OK (*s points into obj); anything else → FIELD_BAD. */
static enum field_rc get_string(json_object *obj, const char *key, size_t max, const char **s)
{
    json_object *v = NULL;
    *s = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return FIELD_ABSENT;
    if (!json_object_is_type(v, json_type_string))
        return FIELD_BAD;
    const char *str = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (str == NULL || n == 0 || n > max || strlen(str) != n)
        return FIELD_BAD;
    *s = str;
    return FIELD_OK;
}

static enum field_rc get_bool(json_object *obj, const char *key, bool *b)
{
    json_object *v = NULL;
    *b = false;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return FIELD_ABSENT;
    if (!json_object_is_type(v, json_type_boolean))
        return FIELD_BAD;
    *b = json_object_get_boolean(v) != 0;
    return FIELD_OK;
}

static enum field_rc get_size(json_object *obj, const char *key, uint64_t *size)
{
    json_object *v = NULL;
    *size = 0;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return FIELD_ABSENT;
    if (!json_object_is_type(v, json_type_int))
        return FIELD_BAD;
    int64_t i = json_object_get_int64(v);
    if (i < 0)
        return FIELD_BAD;
    *size = (uint64_t)i;
    return FIELD_OK;
}

static void release_clear(struct release *r)
{
    for (size_t i = 0; i < r->n_assets; i++) {
        free(r->assets[i].name);
        free(r->assets[i].url);
    }
    free(r->assets);
    free(r->tag);
    free(r->published_at);
    memset(r, 0, sizeof *r);
}

void ant_releases_free(struct ant_release_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->n; i++)
        release_clear(&list->items[i]);
    free(list->items);
    free(list);
}

/* Returns ANT_OK (asset kept or skipped) or ANT_ERR_NOMEM. */
static ant_err parse_asset(json_object *a, struct release *r, size_t index)
{
    const char *name, *url;
    uint64_t size;
    enum field_rc sz;

    if (!json_object_is_type(a, json_type_object) ||
        get_string(a, "name", ANT_RELEASE_NAME_MAX, &name) != FIELD_OK ||
        get_string(a, "browser_download_url", ANT_HTTP_URL_MAX, &url) != FIELD_OK ||
        (sz = get_size(a, "size", &size)) == FIELD_BAD) {
        ant_log(ANT_LOG_DEBUG, MOD, "Skipping malformed asset tag=%s index=%zu", r->tag, index);
        return ANT_OK;
    }
    struct asset *as = &r->assets[r->n_assets];
    as->name = strdup(name);
    as->url = strdup(url);
    if (as->name == NULL || as->url == NULL) {
        free(as->name);
        free(as->url);
        as->name = as->url = NULL;
        return ANT_ERR_NOMEM;
    }
    as->size = size;
    as->size_known = sz == FIELD_OK;
    r->n_assets++;
    return ANT_OK;
}

/* Fills *r from one release object. ANT_OK: kept; ANT_ERR_PARSE: skip this release (the
 * reason is logged at debug level); ANT_ERR_NOMEM. */
static ant_err parse_release(json_object *o, size_t index, struct release *r)
{
    const char *tag = NULL, *published = NULL;
    json_object *assets = NULL;
    ant_err err;
    const char *why = NULL;

    memset(r, 0, sizeof *r);
    if (!json_object_is_type(o, json_type_object)) {
        why = "not an object";
    } else if (get_string(o, "tag_name", ANT_RELEASE_NAME_MAX, &tag) != FIELD_OK) {
        why = "tag_name missing or not a string";
    } else if (ant_semver_parse(tag, &r->version) != ANT_OK) {
        why = "tag_name is not a semantic version";
    } else if (get_bool(o, "draft", &r->draft) == FIELD_BAD ||
               get_bool(o, "prerelease", &r->prerelease) == FIELD_BAD) {
        why = "draft or prerelease is not a boolean";
    } else if (get_string(o, "published_at", 64, &published) == FIELD_BAD) {
        why = "published_at is not a string";
    } else if (json_object_object_get_ex(o, "assets", &assets) && assets != NULL &&
               !json_object_is_type(assets, json_type_array)) {
        why = "assets is not an array";
    }
    if (why != NULL) {
        ant_log(ANT_LOG_DEBUG, MOD, "Skipping release index=%zu: %s", index, why);
        return ANT_ERR_PARSE;
    }

    r->tag = strdup(tag);
    if (r->tag == NULL)
        goto nomem;
    if (published != NULL && (r->published_at = strdup(published)) == NULL)
        goto nomem;
    if (assets != NULL) {
        size_t n = json_object_array_length(assets);
        if (n > ANT_RELEASE_ASSETS_MAX)
            n = ANT_RELEASE_ASSETS_MAX;
        if (n > 0 && (r->assets = calloc(n, sizeof *r->assets)) == NULL)
            goto nomem;
        for (size_t i = 0; i < n; i++) {
            err = parse_asset(json_object_array_get_idx(assets, i), r, i);
            if (err != ANT_OK)
                goto nomem;
        }
    }
    return ANT_OK;
nomem:
    release_clear(r);
    return ANT_ERR_NOMEM;
}

ant_err releases_list_from_json(json_object *array, struct ant_release_list **out)
{
    struct ant_release_list *list;
    size_t n;

    *out = NULL;
    if (array == NULL || !json_object_is_type(array, json_type_array))
        return ANT_ERR_PARSE;
    list = calloc(1, sizeof *list);
    if (list == NULL)
        return ANT_ERR_NOMEM;
    n = json_object_array_length(array);
    if (n > ANT_RELEASES_MAX)
        n = ANT_RELEASES_MAX;
    if (n > 0 && (list->items = calloc(n, sizeof *list->items)) == NULL) {
        free(list);
        return ANT_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        ant_err err = parse_release(json_object_array_get_idx(array, i), i,
                                    &list->items[list->n]);
        if (err == ANT_ERR_NOMEM) {
            ant_releases_free(list);
            return err;
        }
        if (err == ANT_OK)
            list->n++;
    }
    *out = list;
    return ANT_OK;
}

ant_err ant_releases_parse(const char *json, size_t len, struct ant_release_list **out)
{
    json_object *root = NULL;
    ant_err err;

    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (json == NULL)
        return ANT_ERR_INVALID_ARG;
    err = releases_json_parse(json, len, ANT_RELEASES_JSON_MAX, &root);
    if (err == ANT_OK)
        err = releases_list_from_json(root, out);
    json_object_put(root);
    if (err == ANT_ERR_TOO_LARGE)
        ant_log(ANT_LOG_WARN, MOD, "Release list of %zu bytes is over the %u byte cap", len,
                ANT_RELEASES_JSON_MAX);
    else if (err == ANT_ERR_PARSE)
        ant_log(ANT_LOG_WARN, MOD, "Release list is not a JSON array of releases");
    return err;
}

size_t ant_releases_count(const struct ant_release_list *list)
{
    return list != NULL ? list->n : 0;
}

const struct ant_semver *ant_releases_version(const struct ant_release_list *list, size_t i)
{
    return list != NULL && i < list->n ? &list->items[i].version : NULL;
}

/* ---- serialising (for the cache) -------------------------------------------------- */

/* Adds `v` (NULL when its constructor ran out of memory) under `key`. json-c does not
 * take ownership when the add itself fails, so `v` is released here in that case. */
static bool add(json_object *o, const char *key, json_object *v)
{
    if (v == NULL)
        return false;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

json_object *releases_list_to_json(const struct ant_release_list *list)
{
    json_object *arr = json_object_new_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < list->n; i++) {
        const struct release *r = &list->items[i];
        json_object *o = json_object_new_object();
        json_object *assets;
        if (o == NULL || json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            goto fail;
        }
        if (!add(o, "tag_name", json_object_new_string(r->tag)) ||
            !add(o, "draft", json_object_new_boolean(r->draft)) ||
            !add(o, "prerelease", json_object_new_boolean(r->prerelease)) ||
            (r->published_at != NULL &&
             !add(o, "published_at", json_object_new_string(r->published_at))) ||
            !add(o, "assets", assets = json_object_new_array()))
            goto fail;
        for (size_t k = 0; k < r->n_assets; k++) {
            const struct asset *a = &r->assets[k];
            json_object *ao = json_object_new_object();
            if (ao == NULL || json_object_array_add(assets, ao) != 0) {
                json_object_put(ao);
                goto fail;
            }
            if (!add(ao, "name", json_object_new_string(a->name)) ||
                !add(ao, "browser_download_url", json_object_new_string(a->url)) ||
                (a->size_known && !add(ao, "size", json_object_new_int64((int64_t)a->size))))
                goto fail;
        }
    }
    return arr;
fail:
    json_object_put(arr);
    return NULL;
}

/* ---- selection -------------------------------------------------------------------- */

static const struct asset *find_asset(const struct release *r, const char *name)
{
    for (size_t i = 0; i < r->n_assets; i++) {
        if (strcmp(r->assets[i].name, name) == 0)
            return &r->assets[i];
    }
    return NULL;
}

static bool is_bad(const struct ant_release_criteria *c, const struct ant_semver *v)
{
    for (size_t i = 0; i < c->n_bad; i++) {
        if (ant_semver_compare(&c->bad_versions[i], v) == 0)
            return true;
    }
    return false;
}

/* ant_http_url_allowed passes https anywhere and plain http to loopback only; a URL it
 * passes that does not start with "https://" is therefore plain http to loopback. */
static bool is_https(const char *url)
{
    return strncasecmp(url, "https://", 8) == 0;
}

/*
 * An asset or signature URL from the list. Plain http is only for a list that itself came
 * from a plain-http loopback API (a test server): from an HTTPS API it would let the list
 * aim every node at a local admin service on each check (issue 13 item 6, blind SSRF).
 */
static bool asset_url_ok(const char *url, bool plain_ok)
{
    return ant_http_url_allowed(url) && (plain_ok || is_https(url));
}

ant_err ant_releases_select(const struct ant_release_list *list,
                            const struct ant_release_criteria *c, struct ant_release_choice *out)
{
    char asset_name[ANT_RELEASE_NAME_MAX + 1], sig_name[ANT_RELEASE_NAME_MAX + 1];
    const struct release *best = NULL;
    const struct asset *best_asset = NULL, *best_sig = NULL;
    ant_err err;

    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    if (list == NULL || c == NULL || (c->n_bad > 0 && c->bad_versions == NULL) ||
        (c->channel != ANT_RELEASE_CHANNEL_STABLE && c->channel != ANT_RELEASE_CHANNEL_BETA))
        return ANT_ERR_INVALID_ARG;
    err = ant_release_asset_name(c->platform, asset_name, sizeof asset_name);
    if (err != ANT_OK)
        return err;
    if (snprintf(sig_name, sizeof sig_name, "%s" ANT_RELEASE_SIG_SUFFIX, asset_name) < 0)
        return ANT_ERR_INTERNAL;
    bool plain_ok = c->api_url != NULL && ant_http_url_allowed(c->api_url) &&
                    !is_https(c->api_url);

    for (size_t i = 0; i < list->n; i++) {
        const struct release *r = &list->items[i];
        const struct asset *a, *s;
        if (r->draft)
            continue;
        if (c->exact != NULL ? ant_semver_compare(&r->version, c->exact) != 0
                             : !ant_release_channel_accepts(c->channel, &r->version, r->prerelease))
            continue;
        if (ant_semver_compare(&r->version, &c->running) <= 0)
            continue;
        if (c->floor != NULL && ant_semver_compare(&r->version, c->floor) < 0)
            continue;
        if (best != NULL && ant_semver_compare(&r->version, &best->version) <= 0)
            continue;
        if (is_bad(c, &r->version)) {
            ant_log(ANT_LOG_DEBUG, MOD, "Skipping version marked bad tag=%s", r->tag);
            continue;
        }
        a = find_asset(r, asset_name);
        s = find_asset(r, sig_name);
        if (a == NULL || s == NULL) {
            ant_log(ANT_LOG_DEBUG, MOD, "Release lacks %s or its .sig tag=%s", asset_name,
                    r->tag);
            continue;
        }
        if (!asset_url_ok(a->url, plain_ok) || !asset_url_ok(s->url, plain_ok)) {
            ant_log(ANT_LOG_WARN, MOD, "Skipping release with a non-HTTPS asset URL tag=%s",
                    r->tag);
            continue;
        }
        best = r;
        best_asset = a;
        best_sig = s;
    }
    if (best == NULL)
        return ANT_ERR_NOT_FOUND;

    out->version = best->version;
    /* every string below was bounded by the parser to fit these fields */
    snprintf(out->tag, sizeof out->tag, "%s", best->tag);
    snprintf(out->asset_name, sizeof out->asset_name, "%s", best_asset->name);
    snprintf(out->asset_url, sizeof out->asset_url, "%s", best_asset->url);
    snprintf(out->sig_url, sizeof out->sig_url, "%s", best_sig->url);
    out->asset_size = best_asset->size;
    out->sig_size = best_sig->size;
    return ANT_OK;
}

/* ---- fetch ------------------------------------------------------------------------ */

ant_err ant_releases_fetch(const char *url, const struct ant_http_opts *http,
                           struct ant_release_list **out, long *status_out)
{
    struct ant_http_opts o;
    struct ant_http_result res;
    uint8_t *body = NULL;
    size_t len = 0;
    ant_err err;

    if (status_out != NULL)
        *status_out = 0;
    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (url == NULL)
        return ANT_ERR_INVALID_ARG;
    if (http != NULL)
        o = *http;
    else
        ant_http_opts_init(&o);
    o.github_api = true;

    err = ant_http_get_mem(url, &o, ANT_RELEASES_JSON_MAX, &body, &len, &res);
    if (status_out != NULL)
        *status_out = res.status;
    if (err != ANT_OK) {
        ant_log(ANT_LOG_WARN, MOD, "Release info fetch failed: %s status=%ld url=%s",
                ant_strerror(err), res.status, url);
        return err;
    }
    ant_log(ANT_LOG_INFO, MOD, "Fetched release info url=%s bytes=%zu", url, len);
    err = ant_releases_parse((const char *)body, len, out);
    free(body);
    return err;
}
