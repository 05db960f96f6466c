/*
 * `status` and `watch`: the fleet at a glance and a rollout as it happens. Both read the same
 * sources as the report (supervisor state, node logs, /proc) and never change anything, so
 * they can run while a rollout is in progress or after the devnet is down.
 */
#include "devnet/fleet.h"
#include "devnet/nspawn.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void node_line(FILE *out, const struct dn_config *cfg, const struct dn_state *st,
                      const struct dn_fleet *f, unsigned i, double now)
{
    const struct dn_fleet_node *fn = &f->node[i];
    const struct dn_node_state *ns = st != NULL ? &st->node[i] : NULL;
    const struct dn_ev *s = dn_fleet_last(fn, EV_STARTED, NULL);
    const struct dn_ev *last = fn->nev > 0 ? &fn->ev[fn->nev - 1] : NULL;
    pid_t pid = ns != NULL ? ns->pid : 0;
    bool alive = dn_pid_alive(pid);
    /* The node's last signed-metadata check (ARCHITECTURE.md §9), from its root. */
    char path[PATH_MAX], meta[40] = "-";
    char *text = NULL;
    size_t len = 0;
    if (dn_path(path, sizeof path, "%s/hosts/h%u/nodes/n%u/metadata_state.json", cfg->dir,
                i / cfg->nodes, i % cfg->nodes) == ANT_OK &&
        dn_read_file(path, 8192, &text, &len) == ANT_OK) {
        json_object *o = json_tokener_parse(text), *x = NULL, *r = NULL;
        if (o != NULL && json_object_object_get_ex(o, "state", &x) &&
            json_object_object_get_ex(o, "root_version", &r))
            snprintf(meta, sizeof meta, "%.20s/root%lld", json_object_get_string(x),
                     (long long)json_object_get_int64(r));
        json_object_put(o);
    }
    free(text);
    fprintf(out,
            "  h%u/n%-3u pid %-7d %-5s version %-12s restarts %-3u up %5.0fs  metadata %-16s "
            "last: %s %s\n",
            i / cfg->nodes, i % cfg->nodes, (int)pid, alive ? "up" : "down",
            s != NULL ? s->version : "(starting)", ns != NULL ? ns->restarts : 0,
            alive && ns != NULL ? now - ns->started_at : 0.0, meta,
            last != NULL ? dn_ev_name(last->kind) : "-", last != NULL ? last->version : "");
}

ant_err ant_devnet_status(const char *dir, FILE *out)
{
    struct dn_config *cfg = calloc(1, sizeof *cfg);
    struct dn_state *st = NULL;
    struct dn_fleet f;
    memset(&f, 0, sizeof f);
    if (cfg == NULL)
        return ANT_ERR_NOMEM;
    ant_err e = dn_config_load(dir, cfg);
    if (e != ANT_OK)
        goto out;
    if (dn_state_load(cfg->dir, &st) != ANT_OK)
        st = NULL;
    e = dn_fleet_init(&f, cfg->hosts, cfg->nodes);
    if (e == ANT_OK)
        e = dn_fleet_read(cfg, &f, NULL);
    if (e != ANT_OK)
        goto out;
    unsigned procs = 0;
    e = ant_devnet_count_processes(cfg->dir, &procs);
    if (e != ANT_OK)
        goto out;
    fprintf(out, "devnet %s: %u hosts x %u nodes, initial version %s\n", cfg->dir, cfg->hosts,
            cfg->nodes, cfg->initial_version);
    fprintf(out, "release server https://127.0.0.1:%u/repos/%s/%s/releases (nginx pid %d, %s)\n",
            (unsigned)cfg->https_port, ANT_DEVNET_OWNER, ANT_DEVNET_REPO,
            st != NULL ? (int)st->nginx_pid : 0,
            st != NULL && dn_pid_alive(st->nginx_pid) ? "up" : "down");
    if (cfg->netns)
        fprintf(out, "network namespaces antdn-%s-h0..h%u on %s.0/24, server %s.1\n",
                cfg->net_id, cfg->hosts - 1, cfg->net_prefix, cfg->net_prefix);
    fprintf(out, "supervisor pid %d (%s), %u devnet processes running\n",
            st != NULL ? (int)st->supervisor_pid : 0,
            st != NULL && dn_pid_alive(st->supervisor_pid) ? "up" : "down", procs);
    double now = dn_now();
    if (cfg->systemd) {
        fprintf(out, "systemd hosts (containers of %s), as of the last export:\n", cfg->rootfs);
        dn_nspawn_status(cfg, out);
    }
    for (unsigned i = 0; !cfg->systemd && i < cfg->hosts * cfg->nodes; i++)
        node_line(out, cfg, st, &f, i, now);
out:
    dn_fleet_free(&f);
    free(st);
    free(cfg);
    return e;
}

/* Events worth a line of their own in `watch` (release-info cache hits, and the halt and
 * skip lines every check repeats, are too chatty). */
static bool shown(enum dn_ev_kind k)
{
    return k != EV_CACHED_INFO && k != EV_AVAILABLE && k != EV_HALTED && k != EV_SKIPPED;
}

static void print_event(FILE *out, const struct dn_fleet_node *fn, const struct dn_ev *ev,
                        double t0)
{
    fprintf(out, "[%+7.1fs] h%u/n%-3u %s", ev->t - t0, fn->host, fn->node, dn_ev_name(ev->kind));
    if (ev->version[0] != '\0')
        fprintf(out, " version=%s", ev->version);
    switch (ev->kind) {
    case EV_STARTED:
        fprintf(out, " pid=%d", (int)ev->pid);
        break;
    case EV_SCHEDULED:
        fprintf(out, " delay_s=%.0f", ev->delay);
        break;
    case EV_RESTARTING:
        fprintf(out, " mode=%s", ev->mode);
        break;
    case EV_TRIAL_STARTED:
        fprintf(out, " attempt=%u", ev->attempts);
        break;
    case EV_ROLLBACK:
        fprintf(out, " attempts=%u", ev->attempts);
        break;
    case EV_FAILED:
        fprintf(out, " stage=%s error=%s", ev->stage, ev->error);
        break;
    default:
        break;
    }
    fputc('\n', out);
}

struct pending {
    const struct dn_fleet_node *fn;
    const struct dn_ev *ev;
};

static int by_time(const void *a, const void *b)
{
    const struct pending *x = a, *y = b;
    return (x->ev->t > y->ev->t) - (x->ev->t < y->ev->t);
}

/* Prints the events that arrived since the last round across all nodes, oldest first. */
static void print_new(FILE *out, const struct dn_fleet *f, const size_t *seen, double t0)
{
    size_t count = 0;
    for (unsigned i = 0; i < f->hosts * f->nodes; i++)
        count += f->node[i].nev - seen[i];
    if (count == 0)
        return;
    struct pending *p = calloc(count, sizeof *p);
    if (p == NULL)
        return;
    size_t k = 0;
    for (unsigned i = 0; i < f->hosts * f->nodes; i++) {
        for (size_t j = seen[i]; j < f->node[i].nev; j++) {
            p[k].fn = &f->node[i];
            p[k].ev = &f->node[i].ev[j];
            k++;
        }
    }
    qsort(p, count, sizeof *p, by_time);
    for (size_t j = 0; j < count; j++) {
        if (shown(p[j].ev->kind))
            print_event(out, p[j].fn, p[j].ev, t0);
    }
    free(p);
}

ant_err ant_devnet_watch(const char *dir, const char *version, unsigned timeout_s, bool quiet,
                         FILE *out)
{
    struct dn_config *cfg = calloc(1, sizeof *cfg);
    struct dn_state *st = NULL;
    struct dn_fleet f;
    memset(&f, 0, sizeof f);
    size_t *seen = NULL;
    if (cfg == NULL || version == NULL) {
        free(cfg);
        return cfg == NULL ? ANT_ERR_NOMEM : ANT_ERR_INVALID_ARG;
    }
    ant_err e = dn_config_load(dir, cfg);
    if (e == ANT_OK)
        e = dn_fleet_init(&f, cfg->hosts, cfg->nodes);
    if (e != ANT_OK)
        goto out;
    unsigned total = cfg->hosts * cfg->nodes;
    seen = calloc(total, sizeof *seen);
    if (seen == NULL) {
        e = ANT_ERR_NOMEM;
        goto out;
    }
    double t0 = dn_now(), last_progress = 0;
    /* Events already in the logs are history: show only what happens from now on. */
    e = dn_fleet_read(cfg, &f, NULL);
    if (e != ANT_OK)
        goto out;
    for (unsigned i = 0; i < total; i++)
        seen[i] = f.node[i].nev;
    for (;;) {
        e = dn_fleet_read(cfg, &f, NULL);
        if (e != ANT_OK)
            goto out;
        free(st);
        st = NULL;
        if (dn_state_load(cfg->dir, &st) != ANT_OK)
            st = NULL;
        unsigned on = 0, restarting = 0, downloads = 0, hits = 0, errors = 0, rollbacks = 0;
        if (!quiet)
            print_new(out, &f, seen, t0);
        for (unsigned i = 0; i < total; i++) {
            const struct dn_fleet_node *fn = &f.node[i];
            seen[i] = fn->nev;
            for (size_t k = 0; k < fn->nev; k++) {
                const struct dn_ev *ev = &fn->ev[k];
                if (ev->t < t0 - 3600)
                    continue;
                downloads += ev->kind == EV_DOWNLOADING && strcmp(ev->version, version) == 0;
                hits += ev->kind == EV_REUSED && strcmp(ev->version, version) == 0;
                restarting += ev->kind == EV_RESTARTING && strcmp(ev->version, version) == 0;
                errors += ev->kind == EV_FAILED;
                rollbacks += ev->kind == EV_ROLLBACK;
            }
            const struct dn_ev *s = dn_fleet_last(fn, EV_STARTED, NULL);
            pid_t pid = st != NULL ? st->node[i].pid : 0;
            bool alive = dn_pid_alive(pid);
            /* systemd hosts: the unit's main pid (inside its container) and state instead */
            unsigned nrestarts = 0;
            if (cfg->systemd && !dn_nspawn_node_main(cfg, i, &pid, &alive, &nrestarts))
                alive = false;
            on += s != NULL && strcmp(s->version, version) == 0 && s->pid == pid && alive;
        }
        double now = dn_now();
        if (on == total || now - last_progress >= (quiet ? 5.0 : 15.0)) {
            fprintf(out, "[%+7.1fs] progress: %u/%u nodes on %s, %u downloads, %u cache hits, "
                         "%u restarts, %u rollbacks, %u errors\n",
                    now - t0, on, total, version, downloads, hits, restarting, rollbacks, errors);
            last_progress = now;
        }
        fflush(out);
        if (on == total) {
            e = ANT_OK;
            break;
        }
        if (now - t0 > (double)timeout_s) {
            e = ANT_ERR_TIMEOUT;
            break;
        }
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
out:
    free(seen);
    dn_fleet_free(&f);
    free(st);
    free(cfg);
    return e;
}
