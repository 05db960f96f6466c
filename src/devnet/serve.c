/*
 * The live fleet page (ant/devnet_serve.h). The JSON is computed from the same three inputs
 * `report` reads — node logs through the dn_fleet event model, D/state.json, D/published.json
 * — so the page and the report can never disagree about what happened. The server keeps one
 * dn_fleet and reads only the bytes appended to the logs since the previous request, so
 * polling every two seconds costs what the fleet logged meanwhile, not the whole history.
 * Everything runs on the ant_httpd thread: one request at a time, no locking.
 */
#include "ant/devnet_serve.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ant/httpd.h"
#include "ant/log.h"
#include "devnet/devnet_int.h"
#include "devnet/fleet.h"
#include "devnet/nspawn.h"

/* The page, generated from fleet_page.html by src/devnet/CMakeLists.txt. */
#include "fleet_page.inc"

#define MAX_PUBLISHED 64
#define MAX_TRANSITIONS 65536 /* version changes listed (the page's timeline) */

struct view {
    struct dn_config *cfg;
    struct dn_fleet f;
    bool fleet_ok;
};

struct ant_devnet_server {
    struct view v;
    struct ant_httpd *httpd;
};

const char *ant_devnet_fleet_page(void)
{
    return (const char *)fleet_page_html;
}

static ant_err view_open(const char *dir, struct view *v)
{
    ant_err e;
    memset(v, 0, sizeof *v);
    v->cfg = calloc(1, sizeof *v->cfg);
    if (v->cfg == NULL)
        return ANT_ERR_NOMEM;
    e = dn_config_load(dir, v->cfg);
    if (e == ANT_OK)
        e = dn_fleet_init(&v->f, v->cfg->hosts, v->cfg->nodes);
    if (e != ANT_OK) {
        free(v->cfg);
        v->cfg = NULL;
        return e;
    }
    v->fleet_ok = true;
    return ANT_OK;
}

static void view_close(struct view *v)
{
    if (v->fleet_ok)
        dn_fleet_free(&v->f);
    free(v->cfg);
    memset(v, 0, sizeof *v);
}

/* D/published.json as [{version, at}] in publish order; an empty array before any. */
static json_object *load_published(const struct dn_config *cfg)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    json_object *out = json_object_new_array(), *arr = NULL;
    if (out == NULL || dn_path(path, sizeof path, "%s/published.json", cfg->dir) != ANT_OK ||
        dn_read_file(path, DN_RELEASES_MAX, &text, &len) != ANT_OK)
        return out;
    arr = json_tokener_parse(text);
    free(text);
    for (size_t i = 0; arr != NULL && json_object_is_type(arr, json_type_array) &&
                       i < json_object_array_length(arr) && i < MAX_PUBLISHED;
         i++) {
        json_object *o = json_object_array_get_idx(arr, i), *x = NULL, *p;
        if (!json_object_object_get_ex(o, "version", &x) || !json_object_is_type(x, json_type_string))
            continue;
        p = json_object_new_object();
        json_object_object_add(p, "version", json_object_new_string(json_object_get_string(x)));
        json_object_object_add(p, "at", json_object_new_double(
                                            json_object_object_get_ex(o, "published_at", &x)
                                                ? json_object_get_double(x)
                                                : 0));
        json_object_array_add(out, p);
    }
    json_object_put(arr);
    return out;
}

#define MAX_STEER 64

/*
 * The operator's steps (D/steering.json, steer.c) for the page's markers: each with its
 * time, kind, version and a short label: "20%", "halt", "resume 50%", "50% (halted)",
 * "yank 0.3.0", "minimum 0.2.0". *yanked (cap entries) receives the versions yanked, so the
 * rollout chart follows the newest release that was not withdrawn.
 */
static json_object *load_steering(const struct dn_config *cfg, char yanked[][DN_VERSION_MAX + 1],
                                  size_t cap, size_t *nyanked)
{
    struct dn_steer *s = calloc(MAX_STEER, sizeof *s);
    json_object *out = json_object_new_array();
    size_t n = 0;
    bool was_halted = false;
    *nyanked = 0;
    if (s == NULL || out == NULL || dn_steer_load(cfg->dir, s, MAX_STEER, &n) != ANT_OK)
        n = 0;
    for (size_t i = 0; i < n && out != NULL; i++) {
        char label[DN_VERSION_MAX + 32], pct[16];
        json_object *o = json_object_new_object();
        if (o == NULL)
            break;
        if (s[i].cursor_ppm % 10000u == 0)
            snprintf(pct, sizeof pct, "%u%%", s[i].cursor_ppm / 10000u);
        else
            snprintf(pct, sizeof pct, "%u.%04u%%", s[i].cursor_ppm / 10000u,
                     s[i].cursor_ppm % 10000u);
        if (s[i].kind == DN_STEER_YANK) {
            snprintf(label, sizeof label, "yank %s", s[i].version);
            if (*nyanked < cap)
                snprintf(yanked[(*nyanked)++], DN_VERSION_MAX + 1, "%s", s[i].version);
        } else if (s[i].kind == DN_STEER_MINIMUM) {
            snprintf(label, sizeof label, "minimum %s", s[i].version);
        } else {
            if (s[i].halted && !was_halted)
                snprintf(label, sizeof label, "halt");
            else if (s[i].halted)
                snprintf(label, sizeof label, "%s (halted)", pct);
            else if (was_halted)
                snprintf(label, sizeof label, "resume %s", pct);
            else
                snprintf(label, sizeof label, "%s", pct);
            was_halted = s[i].halted;
            json_object_object_add(o, "cursor_ppm", json_object_new_int64(s[i].cursor_ppm));
            json_object_object_add(o, "halted", json_object_new_boolean(s[i].halted));
        }
        static const char *const kinds[] = {"rollout", "yank", "minimum"};
        json_object_object_add(o, "t", json_object_new_double(s[i].at));
        json_object_object_add(o, "kind", json_object_new_string(kinds[s[i].kind]));
        json_object_object_add(o, "version", json_object_new_string(s[i].version));
        json_object_object_add(o, "label", json_object_new_string(label));
        json_object_array_add(out, o);
    }
    free(s);
    return out;
}

static unsigned count_kind(const struct dn_fleet_node *n, enum dn_ev_kind kind)
{
    unsigned c = 0;
    for (size_t i = 0; i < n->nev; i++)
        c += n->ev[i].kind == kind;
    return c;
}

/* Short event names for the page (the log messages are long). */
static const char *ev_short(enum dn_ev_kind k)
{
    switch (k) {
    case EV_STARTED: return "started";
    case EV_STOPPING: return "stopping";
    case EV_FETCHED: return "fetched releases";
    case EV_CACHED_INFO: return "cached release list";
    case EV_AVAILABLE: return "upgrade available";
    case EV_SCHEDULED: return "scheduled";
    case EV_REUSED: return "cache hit";
    case EV_DOWNLOADING: return "downloading";
    case EV_VERIFIED: return "signature verified";
    case EV_STORED: return "stored in cache";
    case EV_REPLACING: return "replacing binary";
    case EV_ALREADY: return "binary already replaced";
    case EV_RESTARTING: return "restarting";
    case EV_TRIAL_STARTED: return "trial started";
    case EV_TRIAL_CONFIRMED: return "trial confirmed";
    case EV_ROLLBACK: return "rolled back";
    case EV_FAILED: return "upgrade failed";
    case EV_HALTED: return "rollout halted";
    case EV_BELOW_MIN: return "below minimum";
    case EV_YANKED_RUN: return "running yanked";
    case EV_SKIPPED: return "skipped release";
    case EV_PATCH_APPLIED: return "patch applied";
    case EV_PATCH_FAILED: return "patch failed";
    case EV_BINARY_REUSED: return "cached binary";
    case EV_RESUMED: return "download resumed";
    }
    return "?";
}

struct transition {
    double t;
    unsigned node;
    const char *version;
};

static int cmp_transition(const void *a, const void *b)
{
    const struct transition *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t ? 1 : (x->node > y->node) - (x->node < y->node);
}

static void add_int(json_object *o, const char *k, int64_t v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
}

static ant_err build(struct view *v, char **out, size_t *outlen)
{
    const struct dn_config *cfg = v->cfg;
    unsigned total = cfg->hosts * cfg->nodes;
    struct dn_state *st = NULL;
    struct transition *tr = NULL;
    size_t ntr = 0, trcap = 0;
    json_object *root = NULL, *nodes, *hosts, *trs, *pub, *rollout;
    const char *target = NULL;
    double first_seen = 0, published_at = 0;
    unsigned on_target = 0;
    ant_err e;

    e = dn_fleet_read(cfg, &v->f, NULL);
    if (e != ANT_OK)
        return e;
    if (dn_state_load(cfg->dir, &st) != ANT_OK)
        st = NULL; /* a devnet that never ran, or a torn read: show no liveness */
    /* Room for exactly the version changes there are (every `Node started`), capped. */
    for (unsigned i = 0; i < total && ntr < MAX_TRANSITIONS; i++)
        ntr += count_kind(&v->f.node[i], EV_STARTED);
    if (ntr > MAX_TRANSITIONS)
        ntr = MAX_TRANSITIONS;
    e = ANT_ERR_NOMEM;
    root = json_object_new_object();
    tr = calloc(ntr > 0 ? ntr : 1, sizeof *tr);
    if (root == NULL || tr == NULL)
        goto out;
    trcap = ntr;
    ntr = 0;
    pub = load_published(cfg);
    json_object_object_add(root, "generated_at", json_object_new_double(dn_now()));
    add_int(root, "hosts", cfg->hosts);
    add_int(root, "nodes_per_host", cfg->nodes);
    add_int(root, "rollout_window_s", (int64_t)cfg->rollout_window_s);
    json_object_object_add(root, "initial_version", json_object_new_string(cfg->initial_version));
    json_object_object_add(root, "published", pub);
    char yanked[16][DN_VERSION_MAX + 1];
    size_t nyanked = 0;
    json_object_object_add(root, "steering", load_steering(cfg, yanked, 16, &nyanked));
    /* The rollout followed: the newest published release that was not yanked. */
    for (size_t k = pub != NULL ? json_object_array_length(pub) : 0; k-- > 0 && target == NULL;) {
        json_object *p = json_object_array_get_idx(pub, k), *x;
        if (!json_object_object_get_ex(p, "version", &x))
            continue;
        bool withdrawn = false;
        for (size_t y = 0; y < nyanked; y++)
            withdrawn = withdrawn || strcmp(yanked[y], json_object_get_string(x)) == 0;
        if (withdrawn)
            continue;
        target = json_object_get_string(x);
        if (json_object_object_get_ex(p, "at", &x))
            published_at = json_object_get_double(x);
    }

    nodes = json_object_new_array();
    hosts = json_object_new_array();
    json_object_object_add(root, "nodes", nodes);
    json_object_object_add(root, "hosts_summary", hosts);
    for (unsigned h = 0; h < cfg->hosts; h++) {
        unsigned hd = 0, hc = 0, hr = 0, hb = 0, he = 0;
        for (unsigned k = 0; k < cfg->nodes; k++) {
            unsigned i = h * cfg->nodes + k;
            const struct dn_fleet_node *n = &v->f.node[i];
            const struct dn_ev *started = dn_fleet_last(n, EV_STARTED, NULL);
            const char *version = started != NULL ? started->version : cfg->initial_version;
            json_object *o = json_object_new_object();
            char id[32];
            unsigned starts = count_kind(n, EV_STARTED);
            unsigned restarts = st != NULL ? st->node[i].restarts : (starts > 0 ? starts - 1 : 0);
            unsigned dl = count_kind(n, EV_DOWNLOADING), ch = count_kind(n, EV_REUSED);
            unsigned rb = count_kind(n, EV_ROLLBACK), er = count_kind(n, EV_FAILED);
            bool alive = st != NULL && st->node[i].pid > 0 && dn_pid_alive(st->node[i].pid);
            pid_t mainpid = 0;
            /* systemd hosts: the unit's state and systemd's count (devnet/nspawn.h) */
            if (cfg->systemd && !dn_nspawn_node_main(cfg, i, &mainpid, &alive, &restarts))
                alive = false;

            snprintf(id, sizeof id, "h%un%u", h, k);
            json_object_object_add(o, "id", json_object_new_string(id));
            add_int(o, "host", h);
            add_int(o, "node", k);
            json_object_object_add(o, "version", json_object_new_string(version));
            json_object_object_add(o, "alive", json_object_new_boolean(alive));
            add_int(o, "restarts", restarts);
            add_int(o, "downloads", dl);
            add_int(o, "cache_hits", ch);
            add_int(o, "rollbacks", rb);
            add_int(o, "errors", er);
            if (n->nev > 0) {
                const struct dn_ev *last = &n->ev[n->nev - 1];
                json_object *le = json_object_new_object();
                json_object_object_add(le, "t", json_object_new_double(last->t));
                json_object_object_add(le, "event", json_object_new_string(ev_short(last->kind)));
                json_object_object_add(le, "version", json_object_new_string(last->version));
                if (last->stage[0] != '\0')
                    json_object_object_add(le, "stage", json_object_new_string(last->stage));
                json_object_object_add(o, "last_event", le);
            }
            if (target != NULL) {
                const struct dn_ev *sch = dn_fleet_last(n, EV_SCHEDULED, target);
                if (sch != NULL) {
                    json_object_object_add(o, "scheduled_at", json_object_new_double(sch->at));
                    if (first_seen == 0 || sch->first_seen < first_seen)
                        first_seen = sch->first_seen;
                }
                for (size_t x = 0; x < n->nev; x++) {
                    if (n->ev[x].kind == EV_STARTED && strcmp(n->ev[x].version, target) == 0) {
                        json_object_object_add(o, "on_target_at",
                                               json_object_new_double(n->ev[x].t));
                        break;
                    }
                }
                on_target += strcmp(version, target) == 0;
            }
            for (size_t x = 0; x < n->nev && ntr < trcap; x++)
                if (n->ev[x].kind == EV_STARTED)
                    tr[ntr++] = (struct transition){n->ev[x].t, i, n->ev[x].version};
            json_object_array_add(nodes, o);
            hd += dl;
            hc += ch;
            hr += restarts;
            hb += rb;
            he += er;
        }
        json_object *ho = json_object_new_object();
        add_int(ho, "host", h);
        add_int(ho, "downloads", hd);
        add_int(ho, "cache_hits", hc);
        add_int(ho, "restarts", hr);
        add_int(ho, "rollbacks", hb);
        add_int(ho, "errors", he);
        json_object_array_add(hosts, ho);
    }

    /* Every version change, oldest first: [t, node index, version]. */
    qsort(tr, ntr, sizeof *tr, cmp_transition);
    trs = json_object_new_array();
    json_object_object_add(root, "transitions", trs);
    for (size_t i = 0; i < ntr; i++) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_double(tr[i].t));
        json_object_array_add(a, json_object_new_int64(tr[i].node));
        json_object_array_add(a, json_object_new_string(tr[i].version));
        json_object_array_add(trs, a);
    }

    rollout = json_object_new_object();
    json_object_object_add(root, "rollout", rollout);
    if (target != NULL) {
        json_object_object_add(rollout, "version", json_object_new_string(target));
        json_object_object_add(rollout, "published_at", json_object_new_double(published_at));
        /* The window opens at the first sighting; before any node saw it, at publishing. */
        json_object_object_add(rollout, "window_start",
                               json_object_new_double(first_seen > 0 ? first_seen : published_at));
        add_int(rollout, "on_target", on_target);
    }
    add_int(rollout, "nodes", total);

    {
        const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
        *outlen = strlen(text);
        *out = strdup(text);
        e = *out != NULL ? ANT_OK : ANT_ERR_NOMEM;
    }
out:
    json_object_put(root);
    free(tr);
    free(st);
    return e;
}

ant_err ant_devnet_fleet_json(const char *dir, char **json, size_t *len)
{
    struct view v;
    ant_err e;
    if (dir == NULL || json == NULL || len == NULL)
        return ANT_ERR_INVALID_ARG;
    *json = NULL;
    *len = 0;
    e = view_open(dir, &v);
    if (e != ANT_OK)
        return e;
    e = build(&v, json, len);
    view_close(&v);
    return e;
}

static void handle(void *ctx, const char *path, struct ant_httpd_response *resp)
{
    struct ant_devnet_server *s = ctx;
    if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
        resp->content_type = "text/html; charset=utf-8";
        resp->body = strdup(ant_devnet_fleet_page());
        resp->len = resp->body != NULL ? strlen(resp->body) : 0;
        if (resp->body == NULL)
            resp->status = 500;
        return;
    }
    if (strcmp(path, "/api/fleet.json") == 0) {
        ant_err e = build(&s->v, &resp->body, &resp->len);
        if (e != ANT_OK) {
            ant_log(ANT_LOG_WARN, "devnet", "Cannot build the fleet view error=%s",
                    ant_strerror(e));
            resp->status = 500;
            resp->body = strdup("{\"error\":\"cannot read the devnet\"}");
            resp->len = resp->body != NULL ? strlen(resp->body) : 0;
        }
        resp->content_type = "application/json";
        return;
    }
    resp->status = 404;
    resp->body = strdup("not found\n");
    resp->len = resp->body != NULL ? strlen(resp->body) : 0;
}

ant_err ant_devnet_serve_start(const char *dir, const char *listen,
                               struct ant_devnet_server **out)
{
    struct ant_devnet_server *s;
    struct ant_httpd_opts o;
    ant_err e;

    if (dir == NULL || out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return ANT_ERR_NOMEM;
    e = view_open(dir, &s->v);
    if (e != ANT_OK) {
        free(s);
        return e;
    }
    ant_httpd_opts_init(&o);
    o.listen = listen != NULL ? listen : "127.0.0.1:0";
    o.log_module = "devnet";
    o.handler = handle;
    o.handler_ctx = s;
    /* The JSON of a 4096-node fleet takes a while to build on a loaded machine. */
    o.deadline_ms = 15000;
    e = ant_httpd_start(&o, &s->httpd);
    if (e != ANT_OK) {
        view_close(&s->v);
        free(s);
        return e;
    }
    *out = s;
    return ANT_OK;
}

uint16_t ant_devnet_serve_port(const struct ant_devnet_server *s)
{
    return s != NULL ? ant_httpd_port(s->httpd) : 0;
}

void ant_devnet_serve_stop(struct ant_devnet_server *s)
{
    if (s == NULL)
        return;
    ant_httpd_stop(s->httpd); /* joins the thread: no request is being built after this */
    view_close(&s->v);
    free(s);
}

ant_err ant_devnet_serve_auto(const char *dir, struct ant_devnet_server **out)
{
    const char *env = getenv("ANT_DEVNET_SERVE");
    char path[PATH_MAX], url[64];
    int n;
    ant_err e;

    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (env != NULL && strcmp(env, "0") == 0)
        return ANT_OK;
    e = ant_devnet_serve_start(dir, NULL, out);
    if (e == ANT_OK) {
        n = snprintf(url, sizeof url, "http://127.0.0.1:%u/\n",
                     (unsigned)ant_devnet_serve_port(*out));
        e = dn_path(path, sizeof path, "%s/%s", dir, ANT_DEVNET_FLEET_URL_FILE);
        if (e == ANT_OK)
            e = dn_write_file(path, url, (size_t)n, 0600);
    }
    if (e != ANT_OK) {
        ant_log(ANT_LOG_WARN, "devnet", "Fleet page not started error=%s", ant_strerror(e));
        ant_devnet_serve_stop(*out);
        *out = NULL;
        return e;
    }
    url[n - 1] = '\0';
    ant_log(ANT_LOG_INFO, "devnet", "Fleet page url=%s", url);
    return ANT_OK;
}

ant_err ant_devnet_fleet_snapshot(const char *dir)
{
    static const char marker[] = "<script>";
    const char *page = ant_devnet_fleet_page(), *at = strstr(page, marker);
    char *json = NULL, *html = NULL, path[PATH_MAX];
    size_t len = 0, lt = 0, pos = 0, cap;
    struct view v;
    ant_err e;

    if (at == NULL)
        return ANT_ERR_INTERNAL;
    e = view_open(dir, &v);
    if (e != ANT_OK)
        return e;
    e = build(&v, &json, &len);
    view_close(&v);
    if (e != ANT_OK)
        return e;
    for (size_t i = 0; i < len; i++)
        lt += json[i] == '<';
    /* page + the element around the JSON + 5 more bytes per '<' (\u003c); all small. */
    cap = strlen(page) + len + 5 * lt + 128;
    html = malloc(cap);
    e = ANT_ERR_NOMEM;
    if (html == NULL)
        goto out;
    memcpy(html, page, (size_t)(at - page));
    pos = (size_t)(at - page);
    pos += (size_t)snprintf(html + pos, cap - pos,
                            "<script id=\"fleet-snapshot\" type=\"application/json\">");
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '<') {
            memcpy(html + pos, "\\u003c", 6);
            pos += 6;
        } else {
            html[pos++] = json[i];
        }
    }
    pos += (size_t)snprintf(html + pos, cap - pos, "</script>\n");
    memcpy(html + pos, at, strlen(at));
    pos += strlen(at);
    e = dn_path(path, sizeof path, "%s/%s", dir, ANT_DEVNET_FLEET_SNAPSHOT_FILE);
    if (e == ANT_OK)
        e = dn_write_file(path, html, pos, 0644);
out:
    free(html);
    free(json);
    return e;
}
