/*
 * The devnet's own record of how its operator steered the rollouts (ARCHITECTURE.md §10):
 * every `ant-devnet rollout`, `yank` and `minimum` that was signed appends one entry to
 * D/steering.json, with the time it was signed and what it set (cursor, halt flag and seed of
 * the timestamp; the version yanked or made the minimum). The report reads it to rebuild the
 * cursor steps and halts and to judge the nodes against them: it is the operator's side of
 * the story, the node logs are the nodes' side, and a row passes only when they agree.
 * The file is written whole (temp, fsync, rename) under the repository lock the signing
 * command already holds, so two commands never lose each other's entry.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ant/digest.h"
#include "devnet/devnet_int.h"

#define STEER_FILE_MAX (1u << 20)

static const char *const kind_name[] = {"rollout", "yank", "minimum"};

static ant_err steer_path(const char *dir, char *path, size_t cap)
{
    return dn_path(path, cap, "%s/steering.json", dir);
}

/* The record's JSON array (a new one when there is no file yet). */
static ant_err load_array(const char *path, json_object **arr)
{
    char *text = NULL;
    size_t len = 0;
    ant_err e = dn_read_file(path, STEER_FILE_MAX, &text, &len);
    *arr = NULL;
    if (e == ANT_ERR_NOT_FOUND) {
        *arr = json_object_new_array();
        return *arr != NULL ? ANT_OK : ANT_ERR_NOMEM;
    }
    if (e != ANT_OK)
        return e;
    *arr = json_tokener_parse(text);
    free(text);
    if (*arr == NULL || !json_object_is_type(*arr, json_type_array)) {
        json_object_put(*arr);
        *arr = NULL;
        return ANT_ERR_PARSE;
    }
    return ANT_OK;
}

ant_err dn_steer_append(const char *dir, const struct dn_steer *s)
{
    char path[PATH_MAX], seed[2 * sizeof s->seed + 1];
    json_object *arr = NULL;
    if ((unsigned)s->kind >= sizeof kind_name / sizeof kind_name[0])
        return ANT_ERR_INVALID_ARG;
    ant_err e = steer_path(dir, path, sizeof path);
    if (e == ANT_OK)
        e = load_array(path, &arr);
    if (e != ANT_OK)
        return e;
    json_object *o = json_object_new_object();
    if (o == NULL) {
        json_object_put(arr);
        return ANT_ERR_NOMEM;
    }
    json_object_object_add(o, "kind", json_object_new_string(kind_name[s->kind]));
    json_object_object_add(o, "at", json_object_new_double(s->at));
    json_object_object_add(o, "version", json_object_new_string(s->version));
    if (s->kind == DN_STEER_ROLLOUT) {
        ant_hex_encode(seed, s->seed, sizeof s->seed);
        json_object_object_add(o, "cursor_ppm", json_object_new_int64(s->cursor_ppm));
        json_object_object_add(o, "halted", json_object_new_boolean(s->halted));
        json_object_object_add(o, "seed", json_object_new_string(seed));
    }
    json_object_array_add(arr, o);
    const char *text = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY);
    e = dn_write_file(path, text, strlen(text), 0600);
    json_object_put(arr);
    return e;
}

ant_err dn_steer_load(const char *dir, struct dn_steer *out, size_t cap, size_t *n)
{
    char path[PATH_MAX];
    json_object *arr = NULL;
    *n = 0;
    ant_err e = steer_path(dir, path, sizeof path);
    if (e == ANT_OK)
        e = load_array(path, &arr);
    if (e != ANT_OK)
        return e;
    for (size_t i = 0; i < json_object_array_length(arr) && *n < cap; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *x = NULL;
        struct dn_steer *s = &out[*n];
        memset(s, 0, sizeof *s);
        if (!json_object_object_get_ex(o, "kind", &x) || !json_object_is_type(x, json_type_string))
            continue;
        size_t k = 0;
        while (k < sizeof kind_name / sizeof kind_name[0] &&
               strcmp(kind_name[k], json_object_get_string(x)) != 0)
            k++;
        if (k == sizeof kind_name / sizeof kind_name[0])
            continue; /* an entry of a later kind: not ours to judge */
        s->kind = (enum dn_steer_kind)k;
        if (!json_object_object_get_ex(o, "version", &x) ||
            !json_object_is_type(x, json_type_string) ||
            snprintf(s->version, sizeof s->version, "%s", json_object_get_string(x)) >=
                (int)sizeof s->version)
            continue;
        if (json_object_object_get_ex(o, "at", &x))
            s->at = json_object_get_double(x);
        if (s->kind == DN_STEER_ROLLOUT) {
            int64_t ppm = -1;
            if (json_object_object_get_ex(o, "cursor_ppm", &x))
                ppm = json_object_get_int64(x);
            if (ppm < 0 || ppm > 1000000)
                continue;
            s->cursor_ppm = (uint32_t)ppm;
            s->halted = json_object_object_get_ex(o, "halted", &x) && json_object_get_boolean(x);
            if (!json_object_object_get_ex(o, "seed", &x) ||
                !json_object_is_type(x, json_type_string) ||
                ant_hex_decode(s->seed, sizeof s->seed, json_object_get_string(x)) != ANT_OK)
                continue;
        }
        (*n)++;
    }
    json_object_put(arr);
    return ANT_OK;
}
