/*
 * The rollout report (ARCHITECTURE.md §7): every row of the table, per host and in total, with the
 * counts behind each PASS/FAIL, computed from three independent sources: the nodes' own logs
 * (what each node says it did), the supervisor's state (what really started and exited, with
 * which pid), and /proc plus the host binaries on disk (what is running now). A row passes
 * only when the sources agree, e.g. "real restart" needs the node's `Restarting into new
 * binary`, an exit 75 seen by the supervisor, a new pid, and that pid logging the new version.
 *
 * Versions are judged in the order they were published: a version some node rolled back gets
 * the rollback rows, every other version the rollout rows; the "now" rows (binaries, nodes,
 * /proc) check the last version that was not rolled back.
 */
#include "devnet/fleet.h"
#include "devnet/nspawn.h"
#include "devnet/report_row.h"
#include "devnet/sdreport.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ant/devnet_serve.h"
#include "ant/log.h"
#include "ant/meta.h"
#include "ant/releases.h"
#include "ant/upgrade.h"

#define MAX_ROWS 64
#define MAX_PUBLISHED 32
#define MAX_STEER 64
/* Clock and logging slack when comparing a logged time with a computed one. */
#define SLACK_S 1.0

struct published {
    char version[DN_VERSION_MAX + 1];
    double at;
    bool is_static;
    bool rolled_back;
    bool yanked; /* judged by the yanked row, not the rollout rows */
    uint64_t archive_bytes;
    unsigned deltas;       /* binary patches published with it (issue 19) */
    bool delta_corrupt;    /* served corrupt: a fallback scenario */
};

struct host_bin {
    char version[DN_VERSION_MAX + 1];
    bool is_static;
    bool ok;
    char path[PATH_MAX];
};

struct rctx {
    struct dn_config *cfg;
    struct dn_state *st;
    struct dn_fleet f;
    struct published pub[MAX_PUBLISHED];
    size_t npub;
    struct host_bin bin[ANT_DEVNET_MAX_HOSTS];
    struct dn_row *rows;
    size_t nrows;
    char final_version[DN_VERSION_MAX + 1];
    bool final_static;
    bool final_static_known;
    unsigned sched_bins[DN_BINS], actual_bins[DN_BINS];
    double limit;
    char hist_version[DN_VERSION_MAX + 1];
    struct dn_steer steer[MAX_STEER]; /* the operator's steering record, in order */
    size_t nsteer;
    double report_at;
};

unsigned dn_uniform_bin_limit(unsigned n, unsigned bins)
{
    if (n == 0 || bins == 0)
        return 0;
    double p = 1.0 / bins;
    /* P(bin >= k) for Binomial(n, p), summed from the top; the limit is the largest count
     * k-1 such that bins * P(X >= k) < 0.001. */
    for (unsigned k = 1; k <= n; k++) {
        double tail = 0;
        for (unsigned j = k; j <= n; j++) {
            double lc = lgamma((double)n + 1) - lgamma((double)j + 1) - lgamma((double)(n - j) + 1);
            tail += exp(lc + j * log(p) + (n - j) * log1p(-p));
        }
        if (bins * tail < 0.001)
            return k - 1;
    }
    return n;
}

static struct dn_row *new_row(struct rctx *r, const char *check, const char *version,
                           const char *expect)
{
    return dn_row_new(r->rows, MAX_ROWS, &r->nrows, r->cfg->hosts, check, version, expect);
}

static struct dn_fleet_node *node_at(struct rctx *r, unsigned h, unsigned n)
{
    return &r->f.node[h * r->cfg->nodes + n];
}

static size_t count_ev(const struct dn_fleet_node *n, enum dn_ev_kind kind, const char *version)
{
    size_t c = 0;
    for (size_t i = 0; i < n->nev; i++)
        c += n->ev[i].kind == kind && (version == NULL || strcmp(n->ev[i].version, version) == 0);
    return c;
}

static const struct dn_ev *first_ev(const struct dn_fleet_node *n, enum dn_ev_kind kind,
                                    const char *version)
{
    for (size_t i = 0; i < n->nev; i++) {
        if (n->ev[i].kind == kind && (version == NULL || strcmp(n->ev[i].version, version) == 0))
            return &n->ev[i];
    }
    return NULL;
}

/* --- inputs ------------------------------------------------------------------------- */

static ant_err load_published(struct rctx *r)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    ant_err e = dn_path(path, sizeof path, "%s/published.json", r->cfg->dir);
    if (e == ANT_OK)
        e = dn_read_file(path, DN_RELEASES_MAX, &text, &len);
    if (e != ANT_OK)
        return e;
    json_object *arr = json_tokener_parse(text);
    free(text);
    if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
        json_object_put(arr);
        return ANT_ERR_PARSE;
    }
    for (size_t i = 0; i < json_object_array_length(arr) && r->npub < MAX_PUBLISHED; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *x = NULL;
        struct published *p = &r->pub[r->npub];
        memset(p, 0, sizeof *p);
        if (!json_object_object_get_ex(o, "version", &x))
            continue;
        snprintf(p->version, sizeof p->version, "%s", json_object_get_string(x));
        if (json_object_object_get_ex(o, "published_at", &x))
            p->at = json_object_get_double(x);
        if (json_object_object_get_ex(o, "static", &x))
            p->is_static = json_object_get_boolean(x);
        if (json_object_object_get_ex(o, "archive_bytes", &x))
            p->archive_bytes = (uint64_t)json_object_get_int64(x);
        if (json_object_object_get_ex(o, "deltas", &x))
            p->deltas = (unsigned)json_object_get_int64(x);
        if (json_object_object_get_ex(o, "delta_corrupt", &x))
            p->delta_corrupt = json_object_get_boolean(x);
        r->npub++;
    }
    json_object_put(arr);
    return r->npub > 0 ? ANT_OK : ANT_ERR_NOT_FOUND;
}

static void load_bins(struct rctx *r)
{
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        struct host_bin *b = &r->bin[h];
        if (dn_path(b->path, sizeof b->path, "%s/hosts/h%u/bin/ant-node", r->cfg->dir, h) != ANT_OK)
            continue;
        b->ok = dn_binary_version(b->path, b->version, sizeof b->version) == ANT_OK &&
                dn_elf_is_static(b->path, &b->is_static) == ANT_OK;
    }
}

/* --- rows --------------------------------------------------------------------------- */

static void row_fetches(struct rctx *r)
{
    char expect[96];
    snprintf(expect, sizeof expect, "<= 1 per TTL (%llus) per host",
             (unsigned long long)r->cfg->release_ttl_s);
    struct dn_row *w = new_row(r, "release info fetched per host", NULL, expect);
    if (w == NULL)
        return;
    size_t total = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        double times[4096];
        size_t nt = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            for (size_t i = 0; i < fn->nev && nt < 4096; i++) {
                if (fn->ev[i].kind == EV_FETCHED)
                    times[nt++] = fn->ev[i].t;
            }
        }
        /* insertion sort: a host fetches a handful of times */
        for (size_t i = 1; i < nt; i++) {
            double v = times[i];
            size_t j = i;
            while (j > 0 && times[j - 1] > v) {
                times[j] = times[j - 1];
                j--;
            }
            times[j] = v;
        }
        double min_gap = -1;
        for (size_t i = 1; i < nt; i++) {
            double g = times[i] - times[i - 1];
            if (min_gap < 0 || g < min_gap)
                min_gap = g;
        }
        bool ok = nt >= 1 && (nt == 1 || min_gap >= (double)r->cfg->release_ttl_s - SLACK_S);
        if (nt <= 1)
            dn_row_host(w, h, ok, "%zu fetch", nt);
        else
            dn_row_host(w, h, ok, "%zu fetches, min gap %.0fs", nt, min_gap);
        total += nt;
    }
    snprintf(w->value, sizeof w->value, "%zu fetches", total);
    dn_row_count(w, "total", (int64_t)total);
}

static void row_errors(struct rctx *r)
{
    struct dn_row *w = new_row(r, "upgrade errors", NULL, "0");
    if (w == NULL)
        return;
    size_t total = 0;
    char first[256] = "";
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        size_t c = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            for (size_t i = 0; i < fn->nev; i++) {
                if (fn->ev[i].kind != EV_FAILED)
                    continue;
                c++;
                if (first[0] == '\0')
                    snprintf(first, sizeof first, " (first: h%u/n%u stage=%s error=%s)", h, n,
                             fn->ev[i].stage, fn->ev[i].error);
            }
        }
        dn_row_host(w, h, c == 0, "%zu", c);
        total += c;
    }
    /* The first error's text is cut to what the cell holds beside the count. */
    snprintf(w->value, sizeof w->value, "%zu%.160s", total, first);
    dn_row_count(w, "total", (int64_t)total);
}

static void row_peer_ids(struct rctx *r)
{
    struct dn_row *w = new_row(r, "peer id before = after", NULL, "all nodes");
    if (w == NULL)
        return;
    unsigned same_total = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        unsigned same = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            const struct dn_ev *a = first_ev(fn, EV_STARTED, NULL);
            const struct dn_ev *b = dn_fleet_last(fn, EV_STARTED, NULL);
            bool ok = a != NULL && b != NULL && a->peer[0] != '\0' &&
                      strcmp(a->peer, b->peer) == 0 && count_ev(fn, EV_STARTED, NULL) >= 2;
            /* and every start in between carried the same id */
            for (size_t i = 0; ok && i < fn->nev; i++) {
                if (fn->ev[i].kind == EV_STARTED && strcmp(fn->ev[i].peer, a->peer) != 0)
                    ok = false;
            }
            same += ok;
        }
        dn_row_host(w, h, same == r->cfg->nodes, "%u/%u", same, r->cfg->nodes);
        same_total += same;
    }
    snprintf(w->value, sizeof w->value, "%u/%u (each over >= 2 starts)", same_total,
             r->cfg->hosts * r->cfg->nodes);
    dn_row_count(w, "same", same_total);
}

static void row_downloads(struct rctx *r, const char *v)
{
    struct dn_row *w = new_row(r, "archive downloaded per host", v,
                            "exactly 1 (the archive, or a binary patch instead)");
    if (w == NULL)
        return;
    size_t total = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        size_t c = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++)
            c += count_ev(node_at(r, h, n), EV_DOWNLOADING, v) +
                 count_ev(node_at(r, h, n), EV_PATCH_APPLIED, v);
        dn_row_host(w, h, c == 1, "%zu", c);
        total += c;
    }
    snprintf(w->value, sizeof w->value, "%zu downloads", total);
    dn_row_count(w, "total", (int64_t)total);
}

static void row_cache_hits(struct rctx *r, const char *v)
{
    char expect[96];
    snprintf(expect, sizeof expect, "nodes per host - 1 = %u", r->cfg->nodes - 1);
    struct dn_row *w = new_row(r, "cache hits re-verified", v, expect);
    if (w == NULL)
        return;
    size_t total = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        size_t hits = 0, verified = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            size_t c = count_ev(fn, EV_REUSED, v);
            hits += c;
            /* A hit counts as re-verified only if that node logged the signature check of
             * the same version itself (the hit is verified from its private copy). */
            if (c > 0 && count_ev(fn, EV_VERIFIED, v) >= c)
                verified += c;
            /* A binary another node rebuilt from a patch: its line is logged only once the
             * private copy matched this node's signed binary digest. */
            size_t b = count_ev(fn, EV_BINARY_REUSED, v);
            hits += b;
            verified += b;
        }
        dn_row_host(w, h, hits == r->cfg->nodes - 1 && verified == hits,
                    "%zu hits, %zu verified", hits, verified);
        total += hits;
    }
    snprintf(w->value, sizeof w->value, "%zu hits", total);
    dn_row_count(w, "total", (int64_t)total);
}

/* Node (h, n)'s rollout secret from its root dir into `out`: its length, or 0 when it has
 * none (it then schedules with the public formula). */
static size_t node_secret(const struct rctx *r, unsigned h, unsigned n,
                          uint8_t out[ANT_UPGRADE_SECRET_BYTES])
{
    char path[PATH_MAX];
    char *data = NULL;
    size_t len = 0, got = 0;
    if (dn_path(path, sizeof path, "%s/hosts/h%u/nodes/n%u/%s", r->cfg->dir, h, n,
                ANT_UPGRADE_SECRET_FILE) == ANT_OK &&
        dn_read_file(path, 64, &data, &len) == ANT_OK && len == ANT_UPGRADE_SECRET_BYTES) {
        memcpy(out, data, len);
        got = len;
    }
    if (data != NULL) {
        explicit_bzero(data, len);
        free(data);
    }
    return got;
}

static double steer_lag(const struct rctx *r);
static double hold_until(const struct rctx *r, const char *v, double t);

/*
 * The window rows. A node's delay counts from when it became a candidate (candidate_since
 * in its `Upgrade scheduled` line; first_seen when there is no cursor, or in a log from
 * before candidacy). Two kinds of node are judged on their own terms: one scheduled
 * urgently (below the minimum or on a yanked version: at once, no window, so it has no bin)
 * must restart at that time; one whose time fell in a halt (or cursor 0) restarts when the
 * rollout resumes, so its actual restart is not in the window's bins, and is on time when it
 * came within a check of the resume reaching it.
 */
static void row_timing(struct rctx *r, const char *v, bool last)
{
    char expect[128];
    double window = (double)r->cfg->rollout_window_s;
    unsigned total = r->cfg->hosts * r->cfg->nodes;
    unsigned limit_u = dn_uniform_bin_limit(total, DN_BINS);
    double mean = (double)total / DN_BINS;
    double limit = 2 * mean > limit_u ? 2 * mean : (double)limit_u;
    snprintf(expect, sizeof expect, "%d bins over %.0fs, none above %.1f (2x mean %.2f)", DN_BINS,
             window, limit, 2 * mean);
    struct dn_row *w = new_row(r, "restart times across the window", v, expect);
    struct dn_row *w2 = new_row(r, "restart at its scheduled time (hash-derived delay)", v,
                             "logged delay in [0, window), at = candidate_since + delay, delay = "
                             "window x H(secret||peer||version)/2^64 (public H(peer||version) "
                             "without a secret); restart >= scheduled (urgent: at once; held by "
                             "a halt: at the resume)");
    if (w == NULL || w2 == NULL)
        return;
    unsigned sched[DN_BINS] = {0}, actual[DN_BINS] = {0};
    unsigned seen = 0, on_time_total = 0, urgent = 0, held = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        unsigned hs = 0, on_time = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            const struct dn_ev *s = dn_fleet_last(fn, EV_SCHEDULED, v);
            const struct dn_ev *x = first_ev(fn, EV_RESTARTING, v);
            const struct dn_ev *st = first_ev(fn, EV_STARTED, NULL);
            if (s == NULL || x == NULL || window <= 0)
                continue;
            hs++;
            if (s->urgent) {
                urgent++;
                on_time += x->t >= s->at - SLACK_S &&
                           x->t <= s->at + (double)r->cfg->check_interval_s + 60.0;
                continue;
            }
            double since = s->candidate_since > 0 ? s->candidate_since : s->first_seen;
            double resumed = hold_until(r, v, s->at);
            bool was_held = resumed > 0 && x->t >= resumed - SLACK_S;
            double ds = s->delay, da = x->t - since;
            int bs = (int)(ds / window * DN_BINS), ba = (int)(da / window * DN_BINS);
            bs = bs < 0 ? 0 : bs >= DN_BINS ? DN_BINS - 1 : bs;
            ba = ba < 0 ? 0 : ba >= DN_BINS ? DN_BINS - 1 : ba;
            sched[bs]++;
            if (was_held)
                held++;
            else
                actual[ba]++;
            /* The delay is the node's logged one: with its secret mixed in, nobody outside
             * the node can compute it from the peer id. The report can, from the node's
             * secret file, and checks that the logged value is exactly that. */
            uint8_t secret[ANT_UPGRADE_SECRET_BYTES];
            size_t slen = node_secret(r, h, n, secret);
            uint64_t want = 0;
            bool formula = st != NULL && s->delay >= 0 && s->delay < window &&
                           ant_upgrade_rollout_delay_keyed(secret, slen, st->peer, v,
                                                           r->cfg->rollout_window_s * 1000u,
                                                           &want) == ANT_OK &&
                           fabs((double)want / 1000.0 - s->delay) <= SLACK_S &&
                           fabs(s->at - (since + s->delay)) <= SLACK_S;
            explicit_bzero(secret, sizeof secret);
            double due = was_held ? resumed + steer_lag(r) : s->at;
            bool timely = x->t >= s->at - SLACK_S &&
                          x->t <= due + (double)r->cfg->check_interval_s + 60.0;
            on_time += formula && timely;
        }
        dn_row_host(w, h, hs == r->cfg->nodes, "%u/%u restarts", hs, r->cfg->nodes);
        dn_row_host(w2, h, on_time == r->cfg->nodes, "%u/%u", on_time, r->cfg->nodes);
        seen += hs;
        on_time_total += on_time;
    }
    unsigned max_s = 0, max_a = 0;
    char bs_text[80] = "", ba_text[80] = "";
    json_object *js = json_object_new_array(), *ja = json_object_new_array();
    for (int b = 0; b < DN_BINS; b++) {
        max_s = sched[b] > max_s ? sched[b] : max_s;
        max_a = actual[b] > max_a ? actual[b] : max_a;
        size_t l1 = strlen(bs_text), l2 = strlen(ba_text);
        snprintf(bs_text + l1, sizeof bs_text - l1, "%s%u", b ? " " : "", sched[b]);
        snprintf(ba_text + l2, sizeof ba_text - l2, "%s%u", b ? " " : "", actual[b]);
        json_object_array_add(js, json_object_new_int((int)sched[b]));
        json_object_array_add(ja, json_object_new_int((int)actual[b]));
    }
    if (!((double)max_s <= limit && (double)max_a <= limit && seen == total))
        w->pass = false;
    int vn = snprintf(w->value, sizeof w->value, "scheduled [%s] actual [%s] max %u/%u", bs_text,
                      ba_text, max_s, max_a);
    if ((urgent > 0 || held > 0) && vn > 0 && (size_t)vn < sizeof w->value)
        snprintf(w->value + vn, sizeof w->value - (size_t)vn, "; %u urgent (no window), %u held "
                 "by a halt", urgent, held);
    dn_row_count(w, "urgent", urgent);
    dn_row_count(w, "held_by_halt", held);
    json_object_object_add(w->counts, "scheduled_bins", js);
    json_object_object_add(w->counts, "actual_bins", ja);
    json_object_object_add(w->counts, "limit", json_object_new_double(limit));
    json_object_object_add(w->counts, "two_x_mean", json_object_new_double(2 * mean));
    json_object_object_add(w->counts, "uniform_p001_limit", json_object_new_int((int)limit_u));
    dn_row_count(w, "restarts", seen);
    snprintf(w2->value, sizeof w2->value, "%u/%u", on_time_total, total);
    dn_row_count(w2, "on_time", on_time_total);
    if (last) {
        memcpy(r->sched_bins, sched, sizeof sched);
        memcpy(r->actual_bins, actual, sizeof actual);
        r->limit = limit;
        snprintf(r->hist_version, sizeof r->hist_version, "%s", v);
    }
}

/* The supervisor's record of the start that followed time t, or NULL. */
static const struct dn_start *start_after(const struct dn_node_state *ns, double t)
{
    for (size_t k = 0; k < ns->nstarts; k++) {
        if (ns->starts[k].at >= t - SLACK_S)
            return &ns->starts[k];
    }
    return NULL;
}

static void row_real_restart(struct rctx *r, const char *v)
{
    struct dn_row *w = new_row(r, "real restart (new PID, restart counted)", v,
                            "all: exit 75, new pid starts the new version");
    if (w == NULL)
        return;
    unsigned total_ok = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        unsigned ok_n = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            const struct dn_ev *x = first_ev(fn, EV_RESTARTING, v);
            if (x == NULL || r->st == NULL)
                continue;
            /* the process that left: the last start logged before the restart */
            const struct dn_ev *before = NULL, *after = NULL;
            for (size_t i = 0; i < fn->nev; i++) {
                if (fn->ev[i].kind != EV_STARTED)
                    continue;
                if (fn->ev[i].t <= x->t)
                    before = &fn->ev[i];
                else if (after == NULL && strcmp(fn->ev[i].version, v) == 0)
                    after = &fn->ev[i];
            }
            const struct dn_node_state *ns = &r->st->node[h * r->cfg->nodes + n];
            const struct dn_start *s = start_after(ns, x->t);
            bool ok = before != NULL && after != NULL && s != NULL && ns->restarts >= 1 &&
                      after->pid == s->pid && after->pid != before->pid &&
                      s->prev_status >= 0 && WIFEXITED(s->prev_status) &&
                      WEXITSTATUS(s->prev_status) == ANT_UPGRADE_EXIT_RESTART;
            ok_n += ok;
        }
        dn_row_host(w, h, ok_n == r->cfg->nodes, "%u/%u", ok_n, r->cfg->nodes);
        total_ok += ok_n;
    }
    unsigned restarts = 0;
    for (unsigned i = 0; r->st != NULL && i < r->cfg->hosts * r->cfg->nodes; i++)
        restarts += r->st->node[i].restarts;
    snprintf(w->value, sizeof w->value, "%u/%u (supervisor counted %u restarts)", total_ok,
             r->cfg->hosts * r->cfg->nodes, restarts);
    dn_row_count(w, "ok", total_ok);
    dn_row_count(w, "supervisor_restarts", restarts);
}

static void row_binaries(struct rctx *r)
{
    char expect[256];
    snprintf(expect, sizeof expect, "all on %s%s", r->final_version,
             r->final_static_known ? (r->final_static ? ", static" : ", dynamic as built") : "");
    struct dn_row *w = new_row(r, "binaries on the new version, statically linked where built so",
                            r->final_version, expect);
    if (w == NULL)
        return;
    unsigned nodes_ok = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        const struct host_bin *b = &r->bin[h];
        bool bin_ok = b->ok && strcmp(b->version, r->final_version) == 0 &&
                      (!r->final_static_known || b->is_static == r->final_static);
        unsigned on = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            const struct dn_ev *s = dn_fleet_last(fn, EV_STARTED, NULL);
            pid_t pid = r->st != NULL ? r->st->node[h * r->cfg->nodes + n].pid : 0;
            on += s != NULL && strcmp(s->version, r->final_version) == 0 && s->pid == pid &&
                  dn_pid_alive(pid);
        }
        dn_row_host(w, h, bin_ok && on == r->cfg->nodes, "bin %s%s, %u/%u nodes",
                    b->ok ? b->version : "?", b->is_static ? " static" : "", on, r->cfg->nodes);
        nodes_ok += on;
    }
    snprintf(w->value, sizeof w->value, "%u/%u nodes", nodes_ok, r->cfg->hosts * r->cfg->nodes);
    dn_row_count(w, "nodes_on_version", nodes_ok);
}

/*
 * Signed release metadata (ARCHITECTURE.md §9): what each node's last check verified (its
 * root's metadata_state.json) against the repository the devnet serves. Not frozen: every
 * node `fresh` on the newest root version (after a rotation too). Frozen (`ant-devnet
 * freeze`): every node `stale` and no binary replaced since the freeze.
 */
static void row_metadata(struct rctx *r)
{
    char path[PATH_MAX], expect[160];
    char *text = NULL;
    size_t len = 0;
    uint64_t newest = 0;
    double frozen_at = 0;
    bool frozen = false;
    if (dn_path(path, sizeof path, "%s/meta.frozen", r->cfg->dir) == ANT_OK &&
        dn_read_file(path, 64, &text, &len) == ANT_OK) {
        frozen = true;
        frozen_at = strtod(text, NULL);
    }
    free(text);
    text = NULL;
    if (dn_meta_dir(r->cfg->dir, path, sizeof path) == ANT_OK) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            if (ant_meta_repo_newest(fd, ANT_META_ROLE_ROOT, &newest) != ANT_OK)
                newest = 0;
            close(fd);
        }
    }
    if (frozen)
        snprintf(expect, sizeof expect, "every node stale, nothing replaced since the freeze");
    else
        snprintf(expect, sizeof expect, "every node fresh on root version %llu",
                 (unsigned long long)newest);
    struct dn_row *w = new_row(r,
                            frozen ? "metadata frozen: every node stale, no install"
                                   : "release metadata fresh on every node (newest root)",
                            NULL, expect);
    if (w == NULL)
        return;
    unsigned total = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        unsigned ok = 0;
        char states[48] = "";
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            char state[24] = "?";
            uint64_t rv = 0;
            if (dn_path(path, sizeof path, "%s/hosts/h%u/nodes/n%u/metadata_state.json",
                        r->cfg->dir, h, n) == ANT_OK &&
                dn_read_file(path, 8192, &text, &len) == ANT_OK) {
                json_object *o = json_tokener_parse(text), *x = NULL;
                if (o != NULL && json_object_object_get_ex(o, "state", &x))
                    snprintf(state, sizeof state, "%s", json_object_get_string(x));
                if (o != NULL && json_object_object_get_ex(o, "root_version", &x))
                    rv = (uint64_t)json_object_get_int64(x);
                json_object_put(o);
            }
            free(text);
            text = NULL;
            bool good;
            if (frozen) {
                const struct dn_fleet_node *fn = node_at(r, h, n);
                size_t late = 0;
                for (size_t i = 0; i < fn->nev; i++)
                    late += fn->ev[i].kind == EV_REPLACING && fn->ev[i].t > frozen_at;
                good = strcmp(state, "stale") == 0 && late == 0;
            } else {
                good = strcmp(state, "fresh") == 0 && rv == newest && newest > 0;
            }
            ok += good;
            if (n == 0)
                snprintf(states, sizeof states, "%s", state);
            else if (strcmp(states, state) != 0)
                snprintf(states, sizeof states, "mixed");
        }
        dn_row_host(w, h, ok == r->cfg->nodes, "%u/%u %s", ok, r->cfg->nodes, states);
        total += ok;
    }
    snprintf(w->value, sizeof w->value, "%u/%u nodes (root version %llu)", total,
             r->cfg->hosts * r->cfg->nodes, (unsigned long long)newest);
    dn_row_count(w, "nodes_ok", total);
    dn_row_count(w, "root_version", (int64_t)newest);
}

static void row_deleted(struct rctx *r)
{
    struct dn_row *w = new_row(r, "/proc/<pid>/exe ending \" (deleted)\"", NULL,
                            "none (every node runs its host's on-disk binary)");
    if (w == NULL)
        return;
    unsigned deleted_total = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        unsigned deleted = 0, other = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            pid_t pid = r->st != NULL ? r->st->node[h * r->cfg->nodes + n].pid : 0;
            char exe[PATH_MAX];
            if (pid <= 0 || dn_pid_exe(pid, exe, sizeof exe) != ANT_OK) {
                other++;
                continue;
            }
            size_t l = strlen(exe);
            const char *suffix = " (deleted)";
            if (l >= strlen(suffix) && strcmp(exe + l - strlen(suffix), suffix) == 0)
                deleted++;
            else if (strcmp(exe, r->bin[h].path) != 0)
                other++;
        }
        dn_row_host(w, h, deleted == 0 && other == 0, "%u deleted%s", deleted,
                    other ? ", some not running the host binary" : "");
        deleted_total += deleted;
    }
    snprintf(w->value, sizeof w->value, "%u", deleted_total);
    dn_row_count(w, "deleted", deleted_total);
}

static void rows_rollback(struct rctx *r, const char *bad)
{
    struct dn_row *w1 = new_row(r, "rollback: failed version rolled back on every host", bad,
                             ">= 1 rollback per host after the trial attempts");
    struct dn_row *w2 = new_row(r, "rollback: failed version never reinstalled", bad,
                             "no replace/download of it after the rollback");
    /* systemd hosts: "every unit back" is judged from systemd instead (sdreport.c) */
    struct dn_row *w3 = r->cfg->systemd ? NULL
                                     : new_row(r, "rollback: every node back on the previous version",
                                               bad, r->final_version);
    if (w1 == NULL || w2 == NULL || (w3 == NULL && !r->cfg->systemd))
        return;
    unsigned hosts_rb = 0, back_total = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        size_t rb = 0;
        unsigned attempts = 0;
        size_t tried = 0;
        double first_rb = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            const struct dn_ev *e = first_ev(fn, EV_ROLLBACK, bad);
            rb += count_ev(fn, EV_ROLLBACK, bad);
            tried += count_ev(fn, EV_TRIAL_STARTED, bad);
            if (e != NULL && (first_rb == 0 || e->t < first_rb)) {
                first_rb = e->t;
                attempts = e->attempts;
            }
        }
        dn_row_host(w1, h, rb >= 1, "%zu rollback(s), %zu trial starts, attempts=%u", rb, tried,
                    attempts);
        hosts_rb += rb >= 1;
        size_t again = 0;
        for (unsigned n = 0; n < r->cfg->nodes && first_rb > 0; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            for (size_t i = 0; i < fn->nev; i++) {
                const struct dn_ev *e = &fn->ev[i];
                if (e->t > first_rb && strcmp(e->version, bad) == 0 &&
                    (e->kind == EV_REPLACING || e->kind == EV_DOWNLOADING))
                    again++;
            }
        }
        dn_row_host(w2, h, first_rb > 0 && again == 0, "%zu", again);
        unsigned back = 0;
        for (unsigned n = 0; w3 != NULL && n < r->cfg->nodes; n++) {
            const struct dn_ev *s = dn_fleet_last(node_at(r, h, n), EV_STARTED, NULL);
            pid_t pid = r->st != NULL ? r->st->node[h * r->cfg->nodes + n].pid : 0;
            back += s != NULL && strcmp(s->version, r->final_version) == 0 && s->pid == pid &&
                    dn_pid_alive(pid);
        }
        bool bin_back = r->bin[h].ok && strcmp(r->bin[h].version, r->final_version) == 0;
        if (w3 != NULL)
            dn_row_host(w3, h, back == r->cfg->nodes && bin_back, "%u/%u, bin %s", back,
                        r->cfg->nodes, r->bin[h].ok ? r->bin[h].version : "?");
        back_total += back;
    }
    snprintf(w1->value, sizeof w1->value, "%u/%u hosts", hosts_rb, r->cfg->hosts);
    snprintf(w2->value, sizeof w2->value, "%s", w2->pass ? "none" : "reinstalled");
    dn_row_count(w1, "hosts", hosts_rb);
    if (w3 != NULL) {
        snprintf(w3->value, sizeof w3->value, "%u/%u nodes", back_total,
                 r->cfg->hosts * r->cfg->nodes);
        dn_row_count(w3, "nodes", back_total);
    }
}

/* systemd hosts (ARCHITECTURE.md §11): the rows sdreport.c judges from systemd and journald. */
static void rows_systemd(struct rctx *r)
{
    struct dn_sd_version pub[MAX_PUBLISHED];
    for (size_t i = 0; i < r->npub; i++) {
        pub[i].version = r->pub[i].version;
        pub[i].rolled_back = r->pub[i].rolled_back;
    }
    dn_sd_rows(r->cfg, &r->f, pub, r->npub, r->final_version, r->rows, MAX_ROWS, &r->nrows);
}

#define ACCESS_LOG_CAP (64u << 20)

/* Counts successful GETs in nginx's access log ("combined" format): the release list, the
 * archives and their signatures. */
static ant_err count_requests(const struct rctx *r, size_t *list, size_t *archives, size_t *sigs)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    *list = *archives = *sigs = 0;
    ant_err e = dn_path(path, sizeof path, "%s/nginx/logs/access.log", r->cfg->dir);
    if (e == ANT_OK)
        e = dn_read_file(path, ACCESS_LOG_CAP, &text, &len);
    if (e != ANT_OK)
        return e;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char *req = strstr(line, "\"GET ");
        if (req == NULL)
            continue;
        char *p = req + 5;
        char *sp = strchr(p, ' ');
        char *q = sp != NULL ? strchr(sp, '"') : NULL;
        /* 206: a ranged continuation of a cut archive download (issue 19); a request cut
         * by a killed worker is never logged, so each download logs exactly one. */
        if (sp == NULL || q == NULL ||
            (strncmp(q, "\" 200 ", 6) != 0 && strncmp(q, "\" 206 ", 6) != 0))
            continue;
        *sp = '\0';
        char *query = strchr(p, '?');
        if (query != NULL)
            *query = '\0';
        size_t pl = strlen(p);
        if (strcmp(p, "/repos/" ANT_DEVNET_OWNER "/" ANT_DEVNET_REPO "/releases") == 0)
            (*list)++;
        else if (pl > 11 && strcmp(p + pl - 11, ".tar.gz.sig") == 0)
            (*sigs)++;
        else if (pl > 7 && strcmp(p + pl - 7, ".tar.gz") == 0)
            (*archives)++;
    }
    free(text);
    return ANT_OK;
}

/* The release server's own log must agree with what the nodes logged: one list GET per
 * `Fetched release info`, one archive and one signature GET per download. This is the
 * server-side evidence that the per-host cache really saved the requests. */
static void row_server(struct rctx *r)
{
    struct dn_row *w = new_row(r, "release server requests match node logs", NULL,
                            "list GETs = fetches (+ abandoned at a stop), archive GETs = sig GETs = downloads");
    if (w == NULL)
        return;
    size_t list = 0, archives = 0, sigs = 0, fetched = 0, downloads = 0, stops = 0;
    ant_err e = count_requests(r, &list, &archives, &sigs);
    for (unsigned i = 0; i < r->cfg->hosts * r->cfg->nodes; i++) {
        fetched += count_ev(&r->f.node[i], EV_FETCHED, NULL);
        downloads += count_ev(&r->f.node[i], EV_DOWNLOADING, NULL);
        stops += count_ev(&r->f.node[i], EV_STOPPING, NULL);
    }
    /* A node logs `Fetched release info` after the response arrived, and the node logs
     * were read before the access log: every logged fetch is in the access log, which may
     * hold a few more, answered but not (yet) logged: at most one in flight per host (the
     * fetch runs under the host's releases.lock) and one abandoned per clean stop (a
     * restart). Downloads are logged before their request, by the node that then restarts
     * itself, so those counts must be equal. */
    w->pass = e == ANT_OK && list >= fetched && list <= fetched + r->cfg->hosts + stops &&
              archives == downloads && sigs == downloads;
    for (unsigned h = 0; h < w->nhosts; h++) {
        snprintf(w->hv[h], sizeof w->hv[h], "-");
        w->hp[h] = true;
    }
    snprintf(w->value, sizeof w->value,
             "%zu list, %zu archive, %zu sig GETs; nodes logged %zu fetches, %zu downloads%s",
             list, archives, sigs, fetched, downloads, e == ANT_OK ? "" : " (no access log)");
    dn_row_count(w, "list_requests", (int64_t)list);
    dn_row_count(w, "archive_requests", (int64_t)archives);
    dn_row_count(w, "sig_requests", (int64_t)sigs);
    dn_row_count(w, "requests_total", (int64_t)(list + archives + sigs));
}

/*
 * Binary patches (issue 19), for a version published with them: what each host downloaded
 * (the patch or the archive, in bytes, against the full archive), and either the patch
 * applied on every host or, when the devnet served it corrupt, one logged fallback and one
 * archive download per host and no patched install.
 */
static void rows_delta(struct rctx *r, const struct published *p)
{
    const char *v = p->version;
    struct dn_row *wb = new_row(r, "delta: bytes downloaded per host (patch vs full archive)", v,
                             p->delta_corrupt ? "the archive (the patch was served corrupt)"
                                              : "a patch, smaller than the archive");
    struct dn_row *wa = new_row(r, p->delta_corrupt
                                    ? "delta: corrupt patch falls back to the archive on every host"
                                    : "delta: patch applied on every host",
                             v, p->delta_corrupt
                                    ? "1 `Binary patch failed`, 1 archive download, 0 patched"
                                    : ">= 1 `Binary patch applied`, 0 failed");
    if (wb == NULL || wa == NULL)
        return;
    uint64_t total = 0, full = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        size_t applied = 0, failed = 0, downloads = 0;
        uint64_t bytes = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            for (size_t k = 0; k < fn->nev; k++) {
                const struct dn_ev *e = &fn->ev[k];
                if (strcmp(e->version, v) != 0)
                    continue;
                if (e->kind == EV_PATCH_APPLIED) {
                    applied++;
                    bytes += e->bytes;
                } else if (e->kind == EV_PATCH_FAILED) {
                    failed++;
                    bytes += e->bytes;
                } else if (e->kind == EV_DOWNLOADING) {
                    downloads++;
                    bytes += p->archive_bytes;
                }
            }
        }
        total += bytes;
        full += p->archive_bytes;
        bool patched = applied >= 1 && failed == 0 && downloads == 0;
        bool fell_back = applied == 0 && failed == 1 && downloads == 1;
        dn_row_host(wb, h, p->delta_corrupt ? fell_back : patched && bytes < p->archive_bytes,
                    "%s %llu B", applied > 0 ? "patch" : "archive", (unsigned long long)bytes);
        dn_row_host(wa, h, p->delta_corrupt ? fell_back : patched,
                    "%zu applied, %zu failed, %zu downloads", applied, failed, downloads);
    }
    snprintf(wb->value, sizeof wb->value, "%llu B for %u hosts, full archives %llu B (%.1f %%)",
             (unsigned long long)total, r->cfg->hosts, (unsigned long long)full,
             full > 0 ? 100.0 * (double)total / (double)full : 0.0);
    snprintf(wa->value, sizeof wa->value, "%u patches published%s", p->deltas,
             p->delta_corrupt ? ", served corrupt" : "");
    dn_row_count(wb, "bytes", (int64_t)total);
    dn_row_count(wb, "full_archive_bytes", (int64_t)full);
}

/*
 * Downloads cut by the server and resumed (issue 19), for a version whose downloads some
 * node logged as resumed: every host's one download finished (the node that logged it
 * went on to replace the binary or restart), no upgrade failed, and the resumes are counted.
 */
static void row_resume(struct rctx *r, const char *v)
{
    size_t resumed = 0;
    for (unsigned i = 0; i < r->cfg->hosts * r->cfg->nodes; i++)
        resumed += count_ev(&r->f.node[i], EV_RESUMED, v);
    if (resumed == 0)
        return;
    struct dn_row *w = new_row(r, "resume: downloads cut by the server completed", v,
                            "each host's download finished after its ranged continuations, "
                            "no upgrade error");
    if (w == NULL)
        return;
    unsigned resumes = 0, restarts = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        unsigned hr = 0, hs = 0;
        size_t finished = 0, failed = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            for (size_t k = 0; k < fn->nev; k++) {
                const struct dn_ev *e = &fn->ev[k];
                if (strcmp(e->version, v) != 0)
                    continue;
                if (e->kind == EV_RESUMED) {
                    hr += e->resumes;
                    hs += e->restarts;
                }
                failed += e->kind == EV_FAILED;
            }
            if (count_ev(fn, EV_DOWNLOADING, v) > 0 && count_ev(fn, EV_RESTARTING, v) > 0)
                finished++;
        }
        dn_row_host(w, h, finished == 1 && failed == 0, "%u resumes, %u restarts", hr, hs);
        resumes += hr;
        restarts += hs;
    }
    snprintf(w->value, sizeof w->value, "%zu downloads resumed: %u continuations, %u start-overs",
             resumed, resumes, restarts);
    dn_row_count(w, "resumes", resumes);
    dn_row_count(w, "restarts", restarts);
}

/* --- rollout control (ARCHITECTURE.md §10) -------------------------------------------- */

/*
 * The operator's steps come from the devnet's own record (D/steering.json, steer.c): each
 * signed `ant-devnet rollout` opens a step that lasts until the next one. The nodes' side
 * comes from their logs. A node acts on a step only once its check has fetched the new
 * timestamp: up to the release-info TTL plus one (jittered, +5 %) check interval, plus the
 * seconds a check takes to fetch and verify. Within that lag after a step a node may still
 * act on the step before.
 */
#define CHECK_SLACK_S 5.0

static double steer_lag(const struct rctx *r)
{
    return (double)r->cfg->release_ttl_s + 1.05 * (double)r->cfg->check_interval_s +
           CHECK_SLACK_S;
}

/* Where step i (a rollout entry) ends: the next rollout entry, or the report's time. */
static double step_end(const struct rctx *r, size_t i)
{
    for (size_t j = i + 1; j < r->nsteer; j++) {
        if (r->steer[j].kind == DN_STEER_ROLLOUT)
            return r->steer[j].at;
    }
    return r->report_at;
}

/* A step in which no new upgrade of `v` starts: halted (every version), or cursor 0 for v. */
static bool step_holds(const struct dn_steer *s, const char *v)
{
    return s->kind == DN_STEER_ROLLOUT &&
           (s->halted || (s->cursor_ppm == 0 && strcmp(s->version, v) == 0));
}

/* The end of the holding step that covers time t for version v, or 0 when none does. */
static double hold_until(const struct rctx *r, const char *v, double t)
{
    for (size_t i = 0; i < r->nsteer; i++) {
        if (step_holds(&r->steer[i], v) && t >= r->steer[i].at && t < step_end(r, i))
            return step_end(r, i);
    }
    return 0;
}

static const char *peer_of(const struct dn_fleet_node *fn)
{
    const struct dn_ev *s = first_ev(fn, EV_STARTED, NULL);
    return s != NULL && s->peer[0] != '\0' ? s->peer : NULL;
}

/* When the node restarted into v (its first `Restarting into new binary`), or -1. */
static double upgraded_at(const struct dn_fleet_node *fn, const char *v)
{
    const struct dn_ev *x = first_ev(fn, EV_RESTARTING, v);
    return x != NULL ? x->t : -1;
}

/* True when the steering record backs an urgent upgrade logged at time t by a node that was
 * running `run`: a minimum above it, or a yank of it, was signed by then. */
static bool urgent_signed(const struct rctx *r, const char *run, double t)
{
    struct ant_semver rv, sv;
    if (ant_semver_parse(run, &rv) != ANT_OK)
        return false;
    for (size_t i = 0; i < r->nsteer; i++) {
        const struct dn_steer *s = &r->steer[i];
        if (s->at > t || ant_semver_parse(s->version, &sv) != ANT_OK)
            continue;
        if ((s->kind == DN_STEER_MINIMUM && ant_semver_compare(&rv, &sv) < 0) ||
            (s->kind == DN_STEER_YANK && ant_semver_compare(&rv, &sv) == 0))
            return true;
    }
    return false;
}

/* True when the node logged, within the lag before t, that it upgrades now because it runs
 * below the minimum or a yanked version, and the devnet did sign that minimum or yank: such
 * a start skips the cursor by design. The node's word alone excuses nothing (the report
 * judges the node), so a node that thinks itself urgent wrongly fails the cursor's row. */
static bool urgent_before(const struct rctx *r, const struct dn_fleet_node *fn, double t)
{
    const struct dn_ev *run = NULL;
    for (size_t i = 0; i < fn->nev; i++) {
        const struct dn_ev *e = &fn->ev[i];
        if (e->kind == EV_STARTED && e->t <= t)
            run = e;
        if ((e->kind == EV_BELOW_MIN || e->kind == EV_YANKED_RUN) && e->t <= t &&
            e->t >= t - steer_lag(r) - (double)r->cfg->check_interval_s && run != NULL &&
            urgent_signed(r, run->version, e->t))
            return true;
    }
    return false;
}

static bool steer_candidate(const struct dn_steer *s, const char *peer)
{
    bool c = false;
    if (peer == NULL || s->cursor_ppm == 0)
        return false;
    return ant_upgrade_rollout_candidate(s->seed, peer, s->cursor_ppm, &c) == ANT_OK && c;
}

/* A restart into v at time t is the rollout control's doing when some step of v that had
 * the node as a candidate and did not hold was in force then (or within the lag before),
 * or when the node was below the minimum or on a yanked version. One more is nobody's
 * fault: a node that scheduled v before the first cursor for it was signed (a publish is
 * followed by its cursor, and a check may fall between) had only the window to go by until
 * the cursor reached it. */
static bool restart_allowed(const struct rctx *r, const struct dn_fleet_node *fn, const char *v,
                            double t)
{
    const char *peer = peer_of(fn);
    double first = -1;
    for (size_t i = 0; i < r->nsteer; i++) {
        const struct dn_steer *s = &r->steer[i];
        if (s->kind != DN_STEER_ROLLOUT || strcmp(s->version, v) != 0)
            continue;
        if (first < 0)
            first = s->at;
        if (step_holds(s, v))
            continue;
        if (t >= s->at && t < step_end(r, i) + steer_lag(r) && steer_candidate(s, peer))
            return true;
    }
    const struct dn_ev *sch = first_ev(fn, EV_SCHEDULED, v);
    if (first >= 0 && sch != NULL && sch->t < first && t < first + steer_lag(r))
        return true;
    return urgent_before(r, fn, t);
}

static void cursor_text(uint32_t ppm, char *buf, size_t cap)
{
    if (ppm % 10000u == 0)
        snprintf(buf, cap, "%u%%", ppm / 10000u);
    else
        snprintf(buf, cap, "%u.%04u%%", ppm / 10000u, ppm % 10000u);
}

/*
 * Per cursor step of a version: how many nodes had upgraded by the step's end against how
 * many the step's cursor made candidates (computed here from the signed seed and each
 * node's logged peer id, the node's own function). None else may have: a node outside the
 * cursor that upgraded fails the step it upgraded in. Every candidate must have, unless the
 * operator moved on before a candidate could have (the step was shorter than the lag plus
 * the window): that step says "cut short". A holding step (halt, cursor 0) is judged by
 * the halt row; here it shows how many it held.
 */
static void row_steps(struct rctx *r, const char *v)
{
    struct dn_row *w = new_row(r, "staged rollout: upgraded = candidates at each cursor step", v,
                            "by each step's end exactly the candidates of its cursor "
                            "(none else; all, unless the step ended within lag + window)");
    if (w == NULL)
        return;
    unsigned total = r->cfg->hosts * r->cfg->nodes;
    double need = steer_lag(r) + (double)r->cfg->rollout_window_s + 15.0;
    json_object *steps = json_object_new_array();
    size_t nsteps = 0;
    unsigned host_up[ANT_DEVNET_MAX_HOSTS] = {0}, host_cand[ANT_DEVNET_MAX_HOSTS] = {0};
    bool host_ok[ANT_DEVNET_MAX_HOSTS];
    for (unsigned h = 0; h < r->cfg->hosts; h++)
        host_ok[h] = true;
    size_t vl = 0;
    w->value[0] = '\0';
    for (size_t i = 0; i < r->nsteer; i++) {
        const struct dn_steer *s = &r->steer[i];
        if (s->kind != DN_STEER_ROLLOUT || strcmp(s->version, v) != 0)
            continue;
        double from = s->at, to = step_end(r, i);
        bool holds = step_holds(s, v), last = to >= r->report_at;
        unsigned cand = 0, up = 0, extra = 0, missing = 0, fresh = 0;
        for (unsigned k = 0; k < total; k++) {
            const struct dn_fleet_node *fn = &r->f.node[k];
            bool c = !holds && steer_candidate(s, peer_of(fn));
            double t = upgraded_at(fn, v);
            bool u = t >= 0 && (last || t < to);
            bool bad = t >= from && u && !restart_allowed(r, fn, v, t);
            cand += c;
            up += u;
            extra += bad;
            missing += c && !u;
            fresh += u && t >= from + steer_lag(r);
            if (bad)
                host_ok[fn->host] = false;
            if (last) {
                host_up[fn->host] += u;
                host_cand[fn->host] += c;
            }
        }
        bool cut = !holds && missing > 0 && to - from < need;
        if (extra > 0 || (missing > 0 && !holds && !cut))
            w->pass = false;
        char pct[16];
        cursor_text(s->cursor_ppm, pct, sizeof pct);
        if (vl < sizeof w->value) {
            int n;
            if (holds)
                n = snprintf(w->value + vl, sizeof w->value - vl, "%s%s%s: %u, %u new",
                             nsteps ? "; " : "", s->halted ? "halted at " : "", pct, up, fresh);
            else
                n = snprintf(w->value + vl, sizeof w->value - vl, "%s%s: %u/%u%s%s",
                             nsteps ? "; " : "", pct, up, cand, extra ? " (non-candidates!)" : "",
                             cut ? " (cut short)" : "");
            vl += n > 0 ? (size_t)n : 0;
        }
        json_object *js = json_object_new_object();
        json_object_object_add(js, "at", json_object_new_double(from));
        json_object_object_add(js, "cursor_ppm", json_object_new_int64(s->cursor_ppm));
        json_object_object_add(js, "halted", json_object_new_boolean(s->halted));
        json_object_object_add(js, "candidates", json_object_new_int64(cand));
        json_object_object_add(js, "upgraded", json_object_new_int64(up));
        json_object_object_add(js, "non_candidates_upgraded", json_object_new_int64(extra));
        json_object_object_add(js, "candidates_not_upgraded", json_object_new_int64(missing));
        json_object_object_add(js, "cut_short", json_object_new_boolean(cut));
        json_object_array_add(steps, js);
        nsteps++;
    }
    for (unsigned h = 0; h < r->cfg->hosts; h++)
        dn_row_host(w, h, host_ok[h], "%u/%u at the last step", host_up[h], host_cand[h]);
    json_object_object_add(w->counts, "steps", steps);
}

/* True when rollout entry i starts a halt (the rollout entry before it did not halt). */
static bool halt_starts(const struct rctx *r, size_t i)
{
    if (r->steer[i].kind != DN_STEER_ROLLOUT || !r->steer[i].halted)
        return false;
    for (size_t j = i; j-- > 0;) {
        if (r->steer[j].kind == DN_STEER_ROLLOUT)
            return !r->steer[j].halted;
    }
    return true;
}

/*
 * Each halt: the nodes not yet upgraded when it was
 * signed (beyond the lag) stay on the old version until the step ends, and each of them
 * logs `Rollout halted, not upgrading`; how long the last of them took to is the halt's
 * propagation, bounded by the TTL plus one check interval (plus the check's own seconds).
 */
static void row_halts(struct rctx *r)
{
    size_t halts = 0;
    for (size_t i = 0; i < r->nsteer; i++)
        halts += halt_starts(r, i);
    if (halts == 0)
        return;
    char expect[200];
    snprintf(expect, sizeof expect, "nodes not upgraded at the halt: none upgrades until the "
             "resume, each logs the halt within TTL + check interval (+%.0fs) = %.0fs",
             CHECK_SLACK_S, steer_lag(r));
    struct dn_row *w = new_row(r, "halt: the rest held on the old version until resumed", NULL,
                            expect);
    if (w == NULL)
        return;
    unsigned total = r->cfg->hosts * r->cfg->nodes;
    unsigned held_h[ANT_DEVNET_MAX_HOSTS] = {0}, rest_h[ANT_DEVNET_MAX_HOSTS] = {0};
    unsigned rest_all = 0, held_all = 0;
    double worst = 0;
    json_object *jh = json_object_new_array();
    for (size_t i = 0; i < r->nsteer; i++) {
        const struct dn_steer *s = &r->steer[i];
        if (!halt_starts(r, i))
            continue;
        /* a cursor moved while halted stays in the same halt: it ends at the resume */
        size_t e = i;
        while (e + 1 < r->nsteer && (r->steer[e + 1].kind != DN_STEER_ROLLOUT ||
                                     r->steer[e + 1].halted))
            e++;
        double from = s->at, to = step_end(r, e), prop = 0;
        unsigned rest = 0, held = 0, unseen = 0;
        for (unsigned k = 0; k < total; k++) {
            const struct dn_fleet_node *fn = &r->f.node[k];
            double t = upgraded_at(fn, s->version);
            /* upgraded before the halt reached it: not held back by this halt */
            if (t >= 0 && t < from + steer_lag(r))
                continue;
            rest++;
            rest_h[fn->host]++;
            /* An urgent upgrade does not excuse a restart here: only a halt stops the
             * minimum's and the yank's upgrades (ARCHITECTURE.md §10), so it stops them. */
            bool kept = t < 0 || t >= to;
            double seen = -1;
            for (size_t x = 0; x < fn->nev && seen < 0; x++) {
                if (fn->ev[x].kind == EV_HALTED && fn->ev[x].t >= from && fn->ev[x].t < to)
                    seen = fn->ev[x].t;
            }
            if (seen < 0)
                unseen++;
            else if (seen - from > prop)
                prop = seen - from;
            held += kept && seen >= 0;
            held_h[fn->host] += kept && seen >= 0;
        }
        if (held != rest || prop > steer_lag(r))
            w->pass = false;
        worst = prop > worst ? prop : worst;
        rest_all += rest;
        held_all += held;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "at", json_object_new_double(from));
        json_object_object_add(o, "until", json_object_new_double(to));
        json_object_object_add(o, "not_upgraded", json_object_new_int64(rest));
        json_object_object_add(o, "held", json_object_new_int64(held));
        json_object_object_add(o, "never_logged_halt", json_object_new_int64(unseen));
        json_object_object_add(o, "propagation_s", json_object_new_double(prop));
        json_object_array_add(jh, o);
    }
    for (unsigned h = 0; h < r->cfg->hosts; h++)
        dn_row_host(w, h, held_h[h] == rest_h[h], "%u/%u held", held_h[h], rest_h[h]);
    snprintf(w->value, sizeof w->value, "%u/%u held over %zu halt(s), halt reached the last "
             "of them after %.1fs", held_all, rest_all, halts, worst);
    json_object_object_add(w->counts, "halts", jh);
    dn_row_count(w, "held", held_all);
    json_object_object_add(w->counts, "propagation_s", json_object_new_double(worst));
}

/*
 * A yanked release (`ant-devnet yank`): once the new targets reached the nodes (the lag),
 * none downloads, replaces or restarts into it, and every node below it says it skipped it
 * as yanked (so the row cannot pass because nobody looked).
 */
static void row_yanked(struct rctx *r, const struct dn_steer *y)
{
    struct dn_row *w = new_row(r, "yanked release never installed", y->version,
                            "no download/replace/restart of it after the yank; every node "
                            "below it skipped it as yanked");
    if (w == NULL)
        return;
    struct ant_semver yv, nv;
    enum ant_release_channel ch;
    bool yok = ant_semver_parse(y->version, &yv) == ANT_OK;
    /* Only a node whose channel would take it selects it and then says why it skips it. */
    bool offered = yok && ant_release_channel_parse(r->cfg->channel, &ch) &&
                   ant_release_channel_accepts(ch, &yv, false);
    unsigned installs = 0, early = 0, below = 0, skipped = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        unsigned hi = 0, hb = 0, hs = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            bool saw = false;
            for (size_t i = 0; i < fn->nev; i++) {
                const struct dn_ev *e = &fn->ev[i];
                if (strcmp(e->version, y->version) != 0)
                    continue;
                bool inst = e->kind == EV_DOWNLOADING || e->kind == EV_REPLACING ||
                            e->kind == EV_RESTARTING || e->kind == EV_REUSED;
                if (inst && e->t >= y->at + steer_lag(r))
                    hi++;
                else if (inst && e->t >= y->at)
                    early++;
                saw = saw || (e->kind == EV_SKIPPED && strcmp(e->reason, "yanked") == 0 &&
                              e->t >= y->at);
            }
            const struct dn_ev *s = dn_fleet_last(fn, EV_STARTED, NULL);
            bool is_below = offered && s != NULL &&
                            ant_semver_parse(s->version, &nv) == ANT_OK &&
                            ant_semver_compare(&nv, &yv) < 0;
            hb += is_below;
            hs += is_below && saw;
        }
        dn_row_host(w, h, hi == 0 && hs == hb, "%u installs, %u/%u skipped it", hi, hs, hb);
        installs += hi;
        below += hb;
        skipped += hs;
    }
    snprintf(w->value, sizeof w->value, "%u installs after the yank%s; %u/%u nodes below it "
             "skipped it as yanked", installs, early ? " (some within the lag)" : "", skipped,
             below);
    dn_row_count(w, "installs", installs);
    dn_row_count(w, "installs_within_lag", early);
    dn_row_count(w, "skipped", skipped);
}

/*
 * A minimum version (`ant-devnet minimum`): every node running below it when it was signed
 * restarts into it (or newer) at its next check once the targets reached it, whatever its
 * window: within the TTL plus one check interval, plus the seconds to fetch, verify and
 * restart.
 */
static void row_minimum(struct rctx *r, const struct dn_steer *m)
{
    char expect[200];
    double bound = steer_lag(r) + 15.0;
    snprintf(expect, sizeof expect, "every node below it restarts into it within TTL + check "
             "interval (+%.0fs to check, fetch, verify, restart) = %.0fs, window %llus",
             CHECK_SLACK_S + 15.0, bound, (unsigned long long)r->cfg->rollout_window_s);
    struct dn_row *w = new_row(r, "minimum version reached every node within one check", m->version,
                            expect);
    if (w == NULL)
        return;
    struct ant_semver mv, nv;
    bool mok = ant_semver_parse(m->version, &mv) == ANT_OK;
    unsigned below = 0, reached = 0;
    double worst = 0;
    for (unsigned h = 0; h < r->cfg->hosts; h++) {
        unsigned hb = 0, hr = 0;
        for (unsigned n = 0; n < r->cfg->nodes; n++) {
            const struct dn_fleet_node *fn = node_at(r, h, n);
            /* the version it ran when the minimum was signed */
            const struct dn_ev *run = NULL;
            for (size_t i = 0; i < fn->nev; i++) {
                if (fn->ev[i].kind == EV_STARTED && fn->ev[i].t <= m->at)
                    run = &fn->ev[i];
            }
            if (!mok || run == NULL || ant_semver_parse(run->version, &nv) != ANT_OK ||
                ant_semver_compare(&nv, &mv) >= 0)
                continue;
            hb++;
            for (size_t i = 0; i < fn->nev; i++) {
                const struct dn_ev *e = &fn->ev[i];
                if (e->kind != EV_RESTARTING || e->t < m->at ||
                    ant_semver_parse(e->version, &nv) != ANT_OK || ant_semver_compare(&nv, &mv) < 0)
                    continue;
                if (e->t - m->at <= bound)
                    hr++;
                worst = e->t - m->at > worst ? e->t - m->at : worst;
                break;
            }
        }
        dn_row_host(w, h, hr == hb && hb > 0, "%u/%u", hr, hb);
        below += hb;
        reached += hr;
    }
    snprintf(w->value, sizeof w->value, "%u/%u nodes below it restarted into it, the last "
             "%.1fs after it was signed", reached, below, worst);
    dn_row_count(w, "below", below);
    dn_row_count(w, "reached", reached);
    json_object_object_add(w->counts, "last_s", json_object_new_double(worst));
}

/* The rows of the rollout control, each only when its scenario happened. */
static void rows_steering(struct rctx *r)
{
    if (r->nsteer == 0)
        return;
    /* one steps row per version the cursor steered, in the order first steered */
    for (size_t i = 0; i < r->nsteer; i++) {
        const struct dn_steer *s = &r->steer[i];
        bool first = s->kind == DN_STEER_ROLLOUT;
        for (size_t j = 0; j < i && first; j++)
            first = !(r->steer[j].kind == DN_STEER_ROLLOUT &&
                      strcmp(r->steer[j].version, s->version) == 0);
        if (first)
            row_steps(r, s->version);
    }
    row_halts(r);
    for (size_t i = 0; i < r->nsteer; i++) {
        if (r->steer[i].kind == DN_STEER_YANK)
            row_yanked(r, &r->steer[i]);
        else if (r->steer[i].kind == DN_STEER_MINIMUM)
            row_minimum(r, &r->steer[i]);
    }
}

/* --- output ------------------------------------------------------------------------- */

static json_object *rows_json(const struct rctx *r, bool all_pass)
{
    json_object *o = json_object_new_object();
    json_object *rows = json_object_new_array();
    json_object *dn = json_object_new_object();
    json_object_object_add(dn, "dir", json_object_new_string(r->cfg->dir));
    json_object_object_add(dn, "hosts", json_object_new_int64(r->cfg->hosts));
    json_object_object_add(dn, "nodes_per_host", json_object_new_int64(r->cfg->nodes));
    json_object_object_add(dn, "initial_version", json_object_new_string(r->cfg->initial_version));
    json_object_object_add(dn, "final_version", json_object_new_string(r->final_version));
    json_object_object_add(dn, "rollout_window_s", json_object_new_int64((int64_t)r->cfg->rollout_window_s));
    json_object_object_add(dn, "check_interval_s", json_object_new_int64((int64_t)r->cfg->check_interval_s));
    json_object_object_add(dn, "release_ttl_s", json_object_new_int64((int64_t)r->cfg->release_ttl_s));
    json_object_object_add(o, "devnet", dn);
    json_object_object_add(o, "all_pass", json_object_new_boolean(all_pass));
    for (size_t i = 0; i < r->nrows; i++) {
        const struct dn_row *w = &r->rows[i];
        json_object *jr = json_object_new_object();
        json_object_object_add(jr, "check", json_object_new_string(w->check));
        if (w->version[0] != '\0')
            json_object_object_add(jr, "version", json_object_new_string(w->version));
        json_object_object_add(jr, "status", json_object_new_string(w->pass ? "PASS" : "FAIL"));
        json_object_object_add(jr, "expect", json_object_new_string(w->expect));
        json_object_object_add(jr, "value", json_object_new_string(w->value));
        json_object_object_add(jr, "counts", json_object_get(w->counts));
        json_object *hosts = json_object_new_array();
        for (unsigned h = 0; h < w->nhosts; h++) {
            json_object *jh = json_object_new_object();
            json_object_object_add(jh, "host", json_object_new_int64(h));
            json_object_object_add(jh, "status", json_object_new_string(w->hp[h] ? "PASS" : "FAIL"));
            json_object_object_add(jh, "value", json_object_new_string(w->hv[h]));
            json_object_array_add(hosts, jh);
        }
        json_object_object_add(jr, "hosts", hosts);
        json_object_array_add(rows, jr);
    }
    json_object_object_add(o, "rows", rows);
    return o;
}

/* Escapes '|' so a value cannot break the markdown table. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s, f);
    }
}

static ant_err write_md(const struct rctx *r, bool all_pass, char **out, size_t *outlen)
{
    FILE *f = open_memstream(out, outlen);
    if (f == NULL)
        return ANT_ERR_NOMEM;
    fprintf(f, "# ant-devnet rollout report\n\n");
    fprintf(f, "%u hosts x %u nodes, %s -> %s, window %llus, check interval %llus, TTL %llus\n\n",
            r->cfg->hosts, r->cfg->nodes, r->cfg->initial_version, r->final_version,
            (unsigned long long)r->cfg->rollout_window_s,
            (unsigned long long)r->cfg->check_interval_s,
            (unsigned long long)r->cfg->release_ttl_s);
    fprintf(f, "| check | version | expectation | total |");
    for (unsigned h = 0; h < r->cfg->hosts && h < 8; h++)
        fprintf(f, " h%u |", h);
    fprintf(f, " status |\n|---|---|---|---|");
    for (unsigned h = 0; h < r->cfg->hosts && h < 8; h++)
        fprintf(f, "---|");
    fprintf(f, "---|\n");
    for (size_t i = 0; i < r->nrows; i++) {
        const struct dn_row *w = &r->rows[i];
        fputs("| ", f);
        md_cell(f, w->check);
        fputs(" | ", f);
        md_cell(f, w->version[0] ? w->version : "-");
        fputs(" | ", f);
        md_cell(f, w->expect);
        fputs(" | ", f);
        md_cell(f, w->value);
        fputs(" |", f);
        for (unsigned h = 0; h < w->nhosts && h < 8; h++) {
            fputc(' ', f);
            md_cell(f, w->hv[h]);
            fputs(w->hp[h] ? " |" : " (FAIL) |", f);
        }
        fprintf(f, " %s |\n", w->pass ? "PASS" : "FAIL");
    }
    if (r->cfg->hosts > 8)
        fprintf(f, "\n(per-host columns for the first 8 hosts; all hosts in report.json)\n");
    fprintf(f, "\nOverall: %s\n", all_pass ? "PASS" : "FAIL");
    fprintf(f, "\nNotes: restart times are binned by seconds after each node became a "
               "candidate for the release (when it first saw it, without a signed cursor; "
               "scheduled = its logged delay, actual = its `Restarting into new binary`). "
               "The bin limit is max(2 x mean, the largest count a uniform sample of this many "
               "nodes exceeds in any of the 12 bins with probability < 0.1%%): with few nodes "
               "2 x mean alone fails most uniform samples. Histogram: restarts.svg. Fleet charts "
               "(nodes by version over time, rollout against the window, downloads and cache "
               "hits per host, each node's last event): fleet.html.\n");
    if (r->nsteer > 0)
        fprintf(f, "\nThe rollout-control rows judge the nodes against the devnet's own record "
                   "of `ant-devnet rollout`, `yank` and `minimum` (steering.json); a node acts "
                   "on a step within TTL + one check interval (+%.0fs) of it.\n",
                CHECK_SLACK_S);
    if (fclose(f) != 0)
        return ANT_ERR_IO;
    return ANT_OK;
}

ant_err ant_devnet_report(const char *dir, bool json, FILE *out, bool *all_pass)
{
    struct rctx r;
    memset(&r, 0, sizeof r);
    char path[PATH_MAX];
    char *md = NULL;
    size_t mdlen = 0;
    json_object *jo = NULL;
    ant_err e = ANT_ERR_NOMEM;
    *all_pass = false;

    r.cfg = calloc(1, sizeof *r.cfg);
    r.rows = calloc(MAX_ROWS, sizeof *r.rows);
    if (r.cfg == NULL || r.rows == NULL)
        goto out;
    e = dn_config_load(dir, r.cfg);
    if (e != ANT_OK)
        goto out;
    if (dn_state_load(r.cfg->dir, &r.st) != ANT_OK)
        r.st = NULL;
    /* systemd hosts: fresh logs and unit state out of the containers first */
    if (r.cfg->systemd && dn_nspawn_sync(r.cfg) != ANT_OK)
        ant_log(ANT_LOG_WARN, "devnet", "systemd hosts not synced; reporting the last export");
    e = load_published(&r);
    if (e != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "devnet", "no release was published dir=%s", r.cfg->dir);
        goto out;
    }
    e = dn_fleet_init(&r.f, r.cfg->hosts, r.cfg->nodes);
    if (e == ANT_OK)
        e = dn_fleet_read(r.cfg, &r.f, NULL);
    if (e != ANT_OK)
        goto out;
    load_bins(&r);
    r.report_at = dn_now();
    if (dn_steer_load(r.cfg->dir, r.steer, MAX_STEER, &r.nsteer) != ANT_OK)
        r.nsteer = 0; /* an unreadable record: the steering rows are left out */
    for (size_t i = 0; i < r.npub; i++) {
        for (size_t k = 0; k < r.nsteer; k++)
            r.pub[i].yanked = r.pub[i].yanked || (r.steer[k].kind == DN_STEER_YANK &&
                                                  strcmp(r.steer[k].version, r.pub[i].version) == 0);
    }

    snprintf(r.final_version, sizeof r.final_version, "%s", r.cfg->initial_version);
    for (size_t i = 0; i < r.npub; i++) {
        for (unsigned k = 0; k < r.cfg->hosts * r.cfg->nodes; k++) {
            if (count_ev(&r.f.node[k], EV_ROLLBACK, r.pub[i].version) > 0)
                r.pub[i].rolled_back = true;
        }
        if (!r.pub[i].rolled_back && !r.pub[i].yanked) {
            snprintf(r.final_version, sizeof r.final_version, "%s", r.pub[i].version);
            r.final_static = r.pub[i].is_static;
            r.final_static_known = true;
        }
    }

    row_fetches(&r);
    row_errors(&r);
    row_peer_ids(&r);
    size_t last_ok = SIZE_MAX;
    for (size_t i = 0; i < r.npub; i++) {
        if (!r.pub[i].rolled_back && !r.pub[i].yanked)
            last_ok = i;
    }
    for (size_t i = 0; i < r.npub; i++) {
        const char *v = r.pub[i].version;
        if (r.pub[i].yanked)
            continue; /* row_yanked judges it */
        if (r.pub[i].rolled_back) {
            rows_rollback(&r, v);
            continue;
        }
        row_downloads(&r, v);
        row_cache_hits(&r, v);
        if (r.pub[i].deltas > 0)
            rows_delta(&r, &r.pub[i]);
        row_resume(&r, v);
        row_timing(&r, v, i == last_ok);
        if (!r.cfg->systemd)
            row_real_restart(&r, v);
    }
    if (r.cfg->systemd) {
        rows_systemd(&r); /* restarts, units, binaries from systemd; no /proc inside */
    } else {
        row_binaries(&r);
        row_deleted(&r);
    }
    rows_steering(&r);
    row_metadata(&r);
    row_server(&r);

    bool pass = r.nrows > 0;
    for (size_t i = 0; i < r.nrows; i++)
        pass = pass && r.rows[i].pass;

    jo = rows_json(&r, pass);
    e = write_md(&r, pass, &md, &mdlen);
    if (e != ANT_OK)
        goto out;
    const char *jtext = json_object_to_json_string_ext(jo, JSON_C_TO_STRING_PRETTY |
                                                               JSON_C_TO_STRING_NOSLASHESCAPE);
    e = dn_path(path, sizeof path, "%s/report.json", r.cfg->dir);
    if (e == ANT_OK)
        e = dn_write_file(path, jtext, strlen(jtext), 0644);
    if (e == ANT_OK)
        e = dn_path(path, sizeof path, "%s/report.md", r.cfg->dir);
    if (e == ANT_OK)
        e = dn_write_file(path, md, mdlen, 0644);
    if (e == ANT_OK)
        e = dn_path(path, sizeof path, "%s/restarts.svg", r.cfg->dir);
    if (e == ANT_OK) {
        char title[256];
        snprintf(title, sizeof title, "Restart times of %s across the %llus rollout window",
                 r.hist_version[0] ? r.hist_version : r.final_version,
                 (unsigned long long)r.cfg->rollout_window_s);
        e = dn_svg_histogram(path, title, r.sched_bins, r.actual_bins,
                             (double)r.cfg->rollout_window_s, r.limit);
    }
    /* The fleet page's charts of the same run, data inside (ant/devnet_serve.h). */
    if (e == ANT_OK)
        e = ant_devnet_fleet_snapshot(r.cfg->dir);
    if (e != ANT_OK)
        goto out;
    /* A report that could not be written must not read as a pass (disk full, closed pipe). */
    if (json ? fprintf(out, "%s\n", jtext) < 0 : fwrite(md, 1, mdlen, out) != mdlen) {
        e = ANT_ERR_IO;
        goto out;
    }
    *all_pass = pass;
out:
    json_object_put(jo);
    free(md);
    for (size_t i = 0; r.rows != NULL && i < r.nrows; i++)
        json_object_put(r.rows[i].counts);
    free(r.rows);
    dn_fleet_free(&r.f);
    free(r.st);
    free(r.cfg);
    return e;
}
