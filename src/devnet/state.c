/*
 * The supervisor's state file, D/state.json: for every node its current pid, when it was
 * started, how many times it was restarted, the last exit status, and its most recent starts
 * (pid, time, status of the run before). The supervisor rewrites it atomically after every
 * change, so `status`, `watch`, `report` and `down` always read a whole snapshot, and the
 * report can prove a restart really happened (new pid, counted) without trusting node logs.
 */
#include "devnet/devnet_int.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAX (8u << 20)

ant_err dn_state_save(const char *dir, const struct dn_state *st)
{
    ant_err e = ANT_ERR_NOMEM;
    char path[PATH_MAX];
    json_object *o = json_object_new_object();
    json_object *nodes = json_object_new_array();
    if (o == NULL || nodes == NULL)
        goto out;
    json_object_object_add(o, "supervisor_pid", json_object_new_int(st->supervisor_pid));
    json_object_object_add(o, "sid", json_object_new_int(st->sid));
    json_object_object_add(o, "nginx_pid", json_object_new_int(st->nginx_pid));
    json_object_object_add(o, "started_at", json_object_new_double(st->started_at));
    json_object_object_add(o, "stopping", json_object_new_boolean(st->stopping));
    json_object_object_add(o, "hosts", json_object_new_int64(st->hosts));
    json_object_object_add(o, "nodes_per_host", json_object_new_int64(st->nodes));
    for (unsigned i = 0; i < st->hosts * st->nodes; i++) {
        const struct dn_node_state *n = &st->node[i];
        json_object *jn = json_object_new_object();
        json_object *starts = json_object_new_array();
        if (jn == NULL || starts == NULL) {
            json_object_put(jn);
            json_object_put(starts);
            goto out;
        }
        json_object_object_add(jn, "host", json_object_new_int64(i / st->nodes));
        json_object_object_add(jn, "node", json_object_new_int64(i % st->nodes));
        json_object_object_add(jn, "pid", json_object_new_int(n->pid));
        json_object_object_add(jn, "started_at", json_object_new_double(n->started_at));
        json_object_object_add(jn, "restarts", json_object_new_int64(n->restarts));
        json_object_object_add(jn, "last_status", json_object_new_int(n->last_status));
        for (size_t k = 0; k < n->nstarts; k++) {
            json_object *js = json_object_new_object();
            if (js == NULL) {
                json_object_put(starts);
                json_object_put(jn);
                goto out;
            }
            json_object_object_add(js, "pid", json_object_new_int(n->starts[k].pid));
            json_object_object_add(js, "at", json_object_new_double(n->starts[k].at));
            json_object_object_add(js, "prev_status", json_object_new_int(n->starts[k].prev_status));
            json_object_array_add(starts, js);
        }
        json_object_object_add(jn, "starts", starts);
        json_object_array_add(nodes, jn);
    }
    json_object_object_add(o, "nodes", nodes);
    nodes = NULL;
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    e = dn_path(path, sizeof path, "%s/%s", dir, DN_STATE_FILE);
    if (e == ANT_OK)
        e = dn_write_file(path, text, strlen(text), 0600);
out:
    json_object_put(nodes);
    json_object_put(o);
    return e;
}

static int64_t get_i(json_object *o, const char *k)
{
    json_object *x = NULL;
    if (!json_object_object_get_ex(o, k, &x))
        return 0;
    return json_object_get_int64(x);
}

static double get_d(json_object *o, const char *k)
{
    json_object *x = NULL;
    if (!json_object_object_get_ex(o, k, &x))
        return 0;
    return json_object_get_double(x);
}

ant_err dn_state_load(const char *dir, struct dn_state **out)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    json_object *o = NULL;
    struct dn_state *st = NULL;
    ant_err e = dn_path(path, sizeof path, "%s/%s", dir, DN_STATE_FILE);
    *out = NULL;
    if (e != ANT_OK)
        return e;
    e = dn_read_file(path, STATE_MAX, &text, &len);
    if (e != ANT_OK)
        return e;
    e = ANT_ERR_NOMEM;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        goto out;
    e = ANT_ERR_PARSE;
    o = json_tokener_parse(text);
    if (o == NULL || !json_object_is_type(o, json_type_object))
        goto out;
    int64_t hosts = get_i(o, "hosts"), nodes = get_i(o, "nodes_per_host");
    if (hosts <= 0 || hosts > ANT_DEVNET_MAX_HOSTS || nodes <= 0 ||
        nodes > ANT_DEVNET_MAX_NODES_PER_HOST)
        goto out;
    st->hosts = (unsigned)hosts;
    st->nodes = (unsigned)nodes;
    st->supervisor_pid = (pid_t)get_i(o, "supervisor_pid");
    st->sid = (pid_t)get_i(o, "sid");
    st->nginx_pid = (pid_t)get_i(o, "nginx_pid");
    st->started_at = get_d(o, "started_at");
    json_object *x = NULL;
    st->stopping = json_object_object_get_ex(o, "stopping", &x) && json_object_get_boolean(x);
    json_object *arr = NULL;
    if (!json_object_object_get_ex(o, "nodes", &arr) || !json_object_is_type(arr, json_type_array) ||
        json_object_array_length(arr) != (size_t)(hosts * nodes))
        goto out;
    for (size_t i = 0; i < (size_t)(hosts * nodes); i++) {
        json_object *jn = json_object_array_get_idx(arr, i);
        struct dn_node_state *n = &st->node[i];
        n->pid = (pid_t)get_i(jn, "pid");
        n->started_at = get_d(jn, "started_at");
        n->restarts = (unsigned)get_i(jn, "restarts");
        n->last_status = (int)get_i(jn, "last_status");
        json_object *starts = NULL;
        if (json_object_object_get_ex(jn, "starts", &starts) &&
            json_object_is_type(starts, json_type_array)) {
            size_t ns = json_object_array_length(starts);
            if (ns > DN_STARTS_KEPT)
                ns = DN_STARTS_KEPT;
            for (size_t k = 0; k < ns; k++) {
                json_object *js = json_object_array_get_idx(starts, k);
                n->starts[k].pid = (pid_t)get_i(js, "pid");
                n->starts[k].at = get_d(js, "at");
                n->starts[k].prev_status = (int)get_i(js, "prev_status");
            }
            n->nstarts = ns;
        }
    }
    *out = st;
    st = NULL;
    e = ANT_OK;
out:
    json_object_put(o);
    free(text);
    free(st);
    return e;
}
