/*
 * Report rows for systemd hosts (sdreport.h): each compares what systemd counted (restarts,
 * exits with 75, start timeouts, the unit's main pid and state, journald's priority of each
 * line) with what the node logged, so a row passes only when the service manager and the
 * node tell the same story.
 */
#include "devnet/sdreport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLACK_S 1.5

static json_object *load_host(const struct dn_config *c, unsigned h, const char *name)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    if (dn_path(path, sizeof path, "%s/hosts/h%u/%s", c->dir, h, name) != ANT_OK ||
        dn_read_file(path, 64u << 20, &text, &len) != ANT_OK)
        return NULL;
    json_object *o = json_tokener_parse(text);
    free(text);
    return o;
}

static json_object *unit_at(json_object *host, unsigned n)
{
    json_object *arr = NULL;
    if (host == NULL || !json_object_object_get_ex(host, "units", &arr) ||
        !json_object_is_type(arr, json_type_array) || n >= json_object_array_length(arr))
        return NULL;
    return json_object_array_get_idx(arr, n);
}

static int64_t jint(json_object *o, const char *k)
{
    json_object *x = NULL;
    return o != NULL && json_object_object_get_ex(o, k, &x) ? json_object_get_int64(x) : -1;
}

static const char *jstr(json_object *o, const char *k)
{
    json_object *x = NULL;
    if (o == NULL || !json_object_object_get_ex(o, k, &x) ||
        !json_object_is_type(x, json_type_string))
        return NULL;
    return json_object_get_string(x);
}

/* How many times in array `k` of unit u fall in [from, to]. */
static unsigned times_in(json_object *u, const char *k, double from, double to)
{
    json_object *arr = NULL;
    unsigned c = 0;
    if (u == NULL || !json_object_object_get_ex(u, k, &arr) ||
        !json_object_is_type(arr, json_type_array))
        return 0;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        double t = json_object_get_double(json_object_array_get_idx(arr, i));
        c += t >= from && t <= to;
    }
    return c;
}

static const struct dn_ev *first_of(const struct dn_fleet_node *n, enum dn_ev_kind kind,
                                    const char *version, double after)
{
    for (size_t i = 0; i < n->nev; i++) {
        if (n->ev[i].kind == kind && n->ev[i].t >= after &&
            (version == NULL || strcmp(n->ev[i].version, version) == 0))
            return &n->ev[i];
    }
    return NULL;
}

static struct dn_row *new_row(const struct dn_config *cfg, struct dn_row *rows, size_t cap,
                              size_t *n, const char *check, const char *version,
                              const char *expect)
{
    return dn_row_new(rows, cap, n, cfg->hosts, check, version, expect);
}

/* Each node's move to v: the node logged `Restarting into new binary` (it exits 75), systemd
 * saw the unit deactivate successfully (75 is in SuccessExitStatus=, so not a failure: a
 * crash or a kill would read "Failed") and scheduled exactly one restart, and v's `Node
 * started` followed. */
static void row_restarts(const struct dn_config *c, const struct dn_fleet *f, json_object **hosts,
                         const char *v, bool exact_total, unsigned good_versions,
                         struct dn_row *w)
{
    unsigned ok_total = 0;
    int64_t nrestarts = 0;
    for (unsigned h = 0; h < c->hosts; h++) {
        unsigned ok = 0;
        for (unsigned n = 0; n < c->nodes; n++) {
            const struct dn_fleet_node *fn = &f->node[h * c->nodes + n];
            json_object *u = unit_at(hosts[h], n);
            nrestarts += jint(u, "NRestarts") > 0 ? jint(u, "NRestarts") : 0;
            const struct dn_ev *x = first_of(fn, EV_RESTARTING, v, 0);
            const struct dn_ev *s = x != NULL ? first_of(fn, EV_STARTED, v, x->t) : NULL;
            if (s == NULL)
                continue;
            ok += times_in(u, "clean_exits_at", x->t - SLACK_S, s->t + SLACK_S) == 1 &&
                  times_in(u, "restarts_at", x->t - SLACK_S, s->t + SLACK_S) == 1;
        }
        dn_row_host(w, h, ok == c->nodes, "%u/%u", ok, c->nodes);
        ok_total += ok;
    }
    unsigned want = c->hosts * c->nodes * good_versions;
    if (exact_total && nrestarts != (int64_t)want)
        w->pass = false;
    snprintf(w->value, sizeof w->value, "%u/%u nodes; NRestarts total %lld%s", ok_total,
             c->hosts * c->nodes, (long long)nrestarts,
             exact_total ? (nrestarts == (int64_t)want ? " = nodes x versions" : " != nodes x versions")
                         : "");
    dn_row_count(w, "ok", ok_total);
    dn_row_count(w, "nrestarts", nrestarts);
}

/* Node n runs `version` under systemd: unit active, and the unit's main pid is the pid whose
 * latest `Node started` names that version. */
static bool unit_on(const struct dn_fleet_node *fn, json_object *u, const char *version)
{
    const struct dn_ev *s = dn_fleet_last(fn, EV_STARTED, NULL);
    const char *state = jstr(u, "ActiveState");
    return s != NULL && state != NULL && strcmp(state, "active") == 0 &&
           strcmp(s->version, version) == 0 && jint(u, "MainPID") > 0 &&
           s->pid == (pid_t)jint(u, "MainPID");
}

static void row_active(const struct dn_config *c, const struct dn_fleet *f, json_object **hosts,
                       const char *final, struct dn_row *w)
{
    unsigned total = 0;
    for (unsigned h = 0; h < c->hosts; h++) {
        unsigned on = 0;
        for (unsigned n = 0; n < c->nodes; n++)
            on += unit_on(&f->node[h * c->nodes + n], unit_at(hosts[h], n), final);
        const char *bin = jstr(hosts[h], "binary_version");
        bool bin_ok = bin != NULL && strcmp(bin, final) == 0;
        dn_row_host(w, h, on == c->nodes && bin_ok, "%u/%u, bin %s", on, c->nodes,
                    bin != NULL ? bin : "?");
        total += on;
    }
    snprintf(w->value, sizeof w->value, "%u/%u units", total, c->hosts * c->nodes);
    dn_row_count(w, "active_on_version", total);
}

static bool listed(json_object *host, const char *key, const char *v)
{
    json_object *arr = NULL;
    if (host == NULL || !json_object_object_get_ex(host, key, &arr) ||
        !json_object_is_type(arr, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(arr, i));
        if (s != NULL && strcmp(s, v) == 0)
            return true;
    }
    return false;
}

/* A release that hangs at start: systemd's start timeout killed it, a trial rolled the
 * host back and marked it bad, and every unit serves the previous version again. */
static void row_hang(const struct dn_config *c, const struct dn_fleet *f, json_object **hosts,
                     const char *bad, const char *final, struct dn_row *w)
{
    unsigned hosts_ok = 0;
    unsigned timeouts_total = 0;
    for (unsigned h = 0; h < c->hosts; h++) {
        unsigned rb = 0, timeouts = 0, back = 0;
        double since = 0;
        for (unsigned n = 0; n < c->nodes; n++) {
            const struct dn_fleet_node *fn = &f->node[h * c->nodes + n];
            const struct dn_ev *x = first_of(fn, EV_REPLACING, bad, 0);
            if (x == NULL)
                x = first_of(fn, EV_RESTARTING, bad, 0);
            if (x != NULL && (since == 0 || x->t < since))
                since = x->t;
            rb += first_of(fn, EV_ROLLBACK, bad, 0) != NULL;
            back += unit_on(fn, unit_at(hosts[h], n), final);
        }
        for (unsigned n = 0; n < c->nodes && since > 0; n++)
            timeouts += times_in(unit_at(hosts[h], n), "timeouts_at", since, 1e18);
        bool marked = listed(hosts[h], "bad_versions", bad);
        bool ok = rb >= 1 && timeouts >= 1 && marked && back == c->nodes;
        dn_row_host(w, h, ok, "%u rollback, %u timeouts, %s, %u/%u back", rb, timeouts,
                    marked ? "marked bad" : "NOT marked", back, c->nodes);
        hosts_ok += ok;
        timeouts_total += timeouts;
    }
    snprintf(w->value, sizeof w->value, "%u/%u hosts (%u start timeouts)", hosts_ok, c->hosts,
             timeouts_total);
    dn_row_count(w, "hosts", hosts_ok);
    dn_row_count(w, "start_timeouts", timeouts_total);
}

static void row_pings(const struct dn_config *c, struct dn_row *w)
{
    int64_t refused = 0, dropped = 0, ok = 0, gap = 0;
    for (unsigned h = 0; h < c->hosts; h++) {
        json_object *p = load_host(c, h, "ping.json");
        int64_t r = jint(p, "refused"), d = jint(p, "dropped"), k = jint(p, "ok"),
                g = jint(p, "longest_gap_ms");
        dn_row_host(w, h, p != NULL && r == 0 && k > 0, "%lld ok, %lld refused, gap %lld ms",
                    (long long)k, (long long)r, (long long)g);
        if (p != NULL) {
            refused += r;
            dropped += d;
            ok += k;
            gap = g > gap ? g : gap;
        }
        json_object_put(p);
    }
    snprintf(w->value, sizeof w->value, "%lld refused, %lld dropped of %lld; longest gap %lld ms",
             (long long)refused, (long long)dropped,
             (long long)ok + (long long)refused + (long long)dropped,
             (long long)gap);
    dn_row_count(w, "refused", refused);
    dn_row_count(w, "dropped", dropped);
    dn_row_count(w, "ok", ok);
    dn_row_count(w, "longest_gap_ms", gap);
}

/* The replaced binary is what runs: no unit's main process runs a deleted file. */
static void row_exe(const struct dn_config *c, json_object **hosts, struct dn_row *w)
{
    static const char binary[] = "/opt/ant-node/bin/ant-node";
    unsigned deleted_total = 0;
    for (unsigned h = 0; h < c->hosts; h++) {
        unsigned deleted = 0, other = 0;
        for (unsigned n = 0; n < c->nodes; n++) {
            const char *exe = jstr(unit_at(hosts[h], n), "exe");
            if (exe != NULL && strstr(exe, " (deleted)") != NULL)
                deleted++;
            else if (exe == NULL || strcmp(exe, binary) != 0)
                other++;
        }
        dn_row_host(w, h, deleted == 0 && other == 0, "%u deleted%s", deleted,
                    other ? ", some not running the installed binary" : "");
        deleted_total += deleted;
    }
    snprintf(w->value, sizeof w->value, "%u", deleted_total);
    dn_row_count(w, "deleted", deleted_total);
}

static void row_priorities(const struct dn_config *c, json_object **hosts, struct dn_row *w)
{
    int64_t lines = 0, wrong = 0;
    for (unsigned h = 0; h < c->hosts; h++) {
        int64_t hl = 0, hw = 0, he = 0;
        unsigned silent = 0;
        for (unsigned n = 0; n < c->nodes; n++) {
            json_object *u = unit_at(hosts[h], n);
            int64_t l = jint(u, "node_lines");
            silent += l <= 0;
            hl += l > 0 ? l : 0;
            hw += jint(u, "priority_wrong") > 0 ? jint(u, "priority_wrong") : 0;
            he += jint(u, "err_lines") > 0 ? jint(u, "err_lines") : 0;
        }
        dn_row_host(w, h, hosts[h] != NULL && silent == 0 && hw == 0,
                    "%lld lines, %lld wrong, %lld at err", (long long)hl, (long long)hw,
                    (long long)he);
        lines += hl;
        wrong += hw;
    }
    snprintf(w->value, sizeof w->value, "%lld of %lld lines at the wrong priority",
             (long long)wrong, (long long)lines);
    dn_row_count(w, "lines", lines);
    dn_row_count(w, "wrong", wrong);
}

void dn_sd_rows(const struct dn_config *cfg, const struct dn_fleet *f,
                const struct dn_sd_version *pub, size_t npub, const char *final_version,
                struct dn_row *rows, size_t cap, size_t *n)
{
    json_object *hosts[ANT_DEVNET_MAX_HOSTS] = {0};
    unsigned good = 0;
    bool any_bad = false;
    for (unsigned h = 0; h < cfg->hosts; h++)
        hosts[h] = load_host(cfg, h, "systemd.json");
    for (size_t i = 0; i < npub; i++) {
        good += !pub[i].rolled_back;
        any_bad |= pub[i].rolled_back;
    }
    for (size_t i = 0; i < npub; i++) {
        struct dn_row *w;
        if (pub[i].rolled_back) {
            w = new_row(cfg, rows, cap, n, "hanging release rolled back on every node, marked bad",
                        pub[i].version,
                        "per host: start timeout, rollback, in .bad-versions; every unit back");
            if (w != NULL)
                row_hang(cfg, f, hosts, pub[i].version, final_version, w);
            continue;
        }
        w = new_row(cfg, rows, cap, n, "restarts counted by systemd = nodes", pub[i].version,
                    "per node: clean exit (75), one scheduled restart, then the new version");
        if (w != NULL)
            row_restarts(cfg, f, hosts, pub[i].version, !any_bad, good, w);
    }
    struct dn_row *w = new_row(cfg, rows, cap, n, "units active after rollout", final_version,
                                  "every unit active, its MainPID logged the version");
    if (w != NULL)
        row_active(cfg, f, hosts, final_version, w);
    w = new_row(cfg, rows, cap, n, "/proc/<MainPID>/exe ending \" (deleted)\" (in the container)",
                NULL, "none (every unit runs /opt/ant-node/bin/ant-node)");
    if (w != NULL)
        row_exe(cfg, hosts, w);
    w = new_row(cfg, rows, cap, n, "0 refused connections across the rollout", NULL,
                "a client PINGing node 0 of each host every 10 ms: 0 refused");
    if (w != NULL)
        row_pings(cfg, w);
    w = new_row(cfg, rows, cap, n, "journald priorities match the node's levels", NULL,
                "ERROR=3 WARN=4 INFO=6 DEBUG=7 on every line");
    if (w != NULL)
        row_priorities(cfg, hosts, w);
    for (unsigned h = 0; h < cfg->hosts; h++)
        json_object_put(hosts[h]);
}
