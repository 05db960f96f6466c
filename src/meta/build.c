/*
 * Building metadata payloads for the release operator (`ant-release`): the inverse of
 * payload.c. Each builder writes the JSON that payload.c reads back, with fields in a
 * fixed order, and the result is parsed again before it is returned, so a builder can
 * never produce a file the client would refuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta_int.h"

static bool put(json_object *o, const char *key, json_object *v)
{
    if (v == NULL)
        return false;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

static bool put_header(json_object *o, const char *type, uint64_t version, int64_t expires)
{
    char t[32];
    if (!ant_meta_time_format(expires, t, sizeof t))
        return false;
    return put(o, "type", json_object_new_string(type)) &&
           put(o, "version", json_object_new_int64((int64_t)version)) &&
           put(o, "expires", json_object_new_string(t));
}

static bool put_hex(json_object *o, const char *key, const uint8_t h[32])
{
    char hex[65];
    ant_hex_encode(hex, h, 32);
    return put(o, key, json_object_new_string(hex));
}

/* Prints `o` and checks it with `check` (one of the parsers); takes ownership of `o`. */
static ant_err finish(json_object *o, enum ant_meta_role role, uint8_t **out, size_t *len)
{
    const char *text;
    size_t tlen = 0;
    ant_err err = ANT_ERR_NOMEM;

    *out = NULL;
    *len = 0;
    text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PRETTY |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE, &tlen);
    if (text == NULL)
        goto out;
    *out = malloc(tlen + 1);
    if (*out == NULL)
        goto out;
    memcpy(*out, text, tlen + 1);
    *len = tlen;
    if (role == ANT_META_ROLE_ROOT) {
        struct ant_meta_root *r = NULL;
        err = ant_meta_root_parse(*out, tlen, &r);
        ant_meta_root_free(r);
    } else if (role == ANT_META_ROLE_TARGETS) {
        struct ant_meta_targets *t = NULL;
        err = ant_meta_targets_parse(*out, tlen, &t);
        ant_meta_targets_free(t);
    } else {
        struct ant_meta_timestamp *t = NULL;
        err = ant_meta_timestamp_parse(*out, tlen, &t);
        ant_meta_timestamp_free(t);
    }
out:
    if (err != ANT_OK) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    json_object_put(o);
    return err;
}

/* One role's keys from either explicit public keys or (rk NULL) `prev`'s role. */
static ant_err add_role(json_object *keys, json_object *roles, enum ant_meta_role role,
                        const struct ant_meta_role_keys *rk, const struct ant_meta_root *prev)
{
    json_object *ro = json_object_new_object(), *ids = json_object_new_array();
    size_t n = rk != NULL ? rk->count : prev->roles[role - 1].nkeys;
    unsigned threshold = rk != NULL ? rk->threshold : prev->roles[role - 1].threshold;
    size_t distinct = 0;

    if (!put(roles, ant_meta_role_name(role), ro) || !put(ro, "keyids", ids))
        return ANT_ERR_NOMEM;
    if (n > ANT_META_MAX_KEYS)
        return ANT_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *pk = rk != NULL ? rk->keys[i] : prev->keys[prev->roles[role - 1].keyidx[i]].pk;
        char kid[ANT_META_KEYID_HEX];
        json_object *kv = NULL, *seen = NULL;
        bool dup = false;
        ant_err err = ant_meta_keyid(kid, pk);
        if (err != ANT_OK)
            return err;
        for (size_t j = 0; j < json_object_array_length(ids); j++)
            if (strcmp(json_object_get_string(json_object_array_get_idx(ids, j)), kid) == 0)
                dup = true;
        if (dup)
            continue;
        if (json_object_array_add(ids, json_object_new_string(kid)) != 0)
            return ANT_ERR_NOMEM;
        distinct++;
        if (json_object_object_get_ex(keys, kid, &seen))
            continue; /* a key shared by two roles is defined once */
        if (json_object_object_length(keys) >= ANT_META_MAX_KEYS)
            return ANT_ERR_INVALID_ARG;
        char *b64 = meta_b64_encode(pk, ANT_MLDSA65_PUBLICKEYBYTES);
        kv = json_object_new_object();
        if (b64 == NULL || !put(keys, kid, kv) ||
            !put(kv, "scheme", json_object_new_string("ml-dsa-65")) ||
            !put(kv, "public", json_object_new_string(b64))) {
            free(b64);
            return ANT_ERR_NOMEM;
        }
        free(b64);
    }
    if (threshold == 0 || threshold > distinct)
        return ANT_ERR_INVALID_ARG;
    if (!put(ro, "threshold", json_object_new_int64(threshold)))
        return ANT_ERR_NOMEM;
    return ANT_OK;
}

ant_err ant_meta_root_rebuild(const struct ant_meta_root *prev, uint64_t version, int64_t expires,
                              const struct ant_meta_role_keys *root_keys,
                              const struct ant_meta_role_keys *targets_keys,
                              const struct ant_meta_role_keys *timestamp_keys, uint8_t **out,
                              size_t *len)
{
    const struct ant_meta_role_keys *rk[3] = {root_keys, targets_keys, timestamp_keys};
    json_object *o, *keys, *roles;
    ant_err err;

    if (out == NULL || len == NULL || version == 0)
        return ANT_ERR_INVALID_ARG;
    for (int i = 0; i < 3; i++)
        if (rk[i] == NULL && prev == NULL)
            return ANT_ERR_INVALID_ARG;
    o = json_object_new_object();
    keys = json_object_new_object();
    roles = json_object_new_object();
    if (o == NULL || !put_header(o, "root", version, expires) || !put(o, "keys", keys) ||
        !put(o, "roles", roles)) {
        json_object_put(o);
        return o == NULL ? ANT_ERR_NOMEM : ANT_ERR_INVALID_ARG;
    }
    for (int i = 0; i < 3; i++) {
        err = add_role(keys, roles, (enum ant_meta_role)(i + 1), rk[i], prev);
        if (err != ANT_OK) {
            json_object_put(o);
            return err;
        }
    }
    return finish(o, ANT_META_ROLE_ROOT, out, len);
}

ant_err ant_meta_root_build(uint64_t version, int64_t expires,
                            const struct ant_meta_role_keys *root_keys,
                            const struct ant_meta_role_keys *targets_keys,
                            const struct ant_meta_role_keys *timestamp_keys, uint8_t **out,
                            size_t *len)
{
    if (root_keys == NULL || targets_keys == NULL || timestamp_keys == NULL)
        return ANT_ERR_INVALID_ARG;
    return ant_meta_root_rebuild(NULL, version, expires, root_keys, targets_keys,
                                 timestamp_keys, out, len);
}

static json_object *entry_json(const struct ant_meta_target *e)
{
    json_object *p = json_object_new_object(), *a = json_object_new_object(),
                *b = json_object_new_object();
    if (p == NULL || !put(p, "archive", a) || !put(p, "binary", b) ||
        !put(a, "name", json_object_new_string(e->archive_name)) ||
        !put(a, "length", json_object_new_int64((int64_t)e->archive_length)) ||
        !put_hex(a, "sha256", e->archive_sha256) ||
        !put(b, "length", json_object_new_int64((int64_t)e->binary_length)) ||
        !put_hex(b, "sha256", e->binary_sha256)) {
        json_object_put(p);
        return NULL;
    }
    if (e->ndeltas == 0)
        return p;
    json_object *arr = json_object_new_array();
    if (!put(p, "deltas", arr) || e->ndeltas > ANT_META_MAX_DELTAS) {
        json_object_put(p);
        return NULL;
    }
    for (size_t i = 0; i < e->ndeltas; i++) {
        const struct ant_meta_delta *d = &e->deltas[i];
        json_object *o = json_object_new_object();
        if (o == NULL || json_object_array_add(arr, o) != 0) {
            json_object_put(o);
            json_object_put(p);
            return NULL;
        }
        if (!put(o, "from_version", json_object_new_string(d->from_version)) ||
            !put_hex(o, "from_sha256", d->from_sha256) ||
            !put(o, "name", json_object_new_string(d->name)) ||
            !put(o, "length", json_object_new_int64((int64_t)d->length)) ||
            !put_hex(o, "sha256", d->sha256)) {
            json_object_put(p);
            return NULL;
        }
    }
    return p;
}

ant_err ant_meta_targets_build(const struct ant_meta_targets *prev, uint64_t version,
                               int64_t expires, const struct ant_meta_target *entry,
                               const struct ant_meta_targets_policy *policy, uint8_t **out,
                               size_t *len)
{
    json_object *o = json_object_new_object(), *rel = json_object_new_object(), *y = NULL;
    const char *minimum = prev != NULL ? prev->minimum_version : "";
    const char *yank = policy != NULL ? policy->yank : NULL;
    bool added = entry == NULL;

    if (out == NULL || len == NULL || version == 0 ||
        (entry != NULL && !meta_version_canonical(entry->version))) {
        json_object_put(o);
        json_object_put(rel);
        return ANT_ERR_INVALID_ARG;
    }
    if (policy != NULL && policy->minimum_version != NULL)
        minimum = policy->minimum_version;
    if ((minimum[0] != '\0' && !meta_version_canonical(minimum)) ||
        (yank != NULL && !meta_version_canonical(yank))) {
        json_object_put(o);
        json_object_put(rel);
        return ANT_ERR_BAD_VERSION;
    }
    if (o == NULL || !put_header(o, "targets", version, expires))
        goto nomem;
    if (minimum[0] != '\0' && !put(o, "minimum_version", json_object_new_string(minimum)))
        goto nomem;
    if ((prev != NULL && prev->nyanked > 0) || yank != NULL) {
        y = json_object_new_array();
        if (!put(o, "yanked", y))
            goto nomem;
        for (size_t i = 0; prev != NULL && i < prev->nyanked; i++) {
            if (yank != NULL && strcmp(prev->yanked[i], yank) == 0)
                yank = NULL; /* already yanked: listed once */
            if (json_object_array_add(y, json_object_new_string(prev->yanked[i])) != 0)
                goto nomem;
        }
        if (yank != NULL && json_object_array_add(y, json_object_new_string(yank)) != 0)
            goto nomem;
    }
    if (!put(o, "releases", rel)) {
        rel = NULL;
        goto nomem;
    }
    size_t n = prev != NULL ? prev->nentries : 0;
    for (size_t i = 0; i <= n; i++) {
        const struct ant_meta_target *e;
        json_object *plats = NULL;
        if (i < n) {
            e = &prev->entries[i];
            if (entry != NULL && strcmp(e->version, entry->version) == 0 &&
                strcmp(e->platform, entry->platform) == 0) {
                e = entry; /* replaced in place, keeping the order */
                added = true;
            }
        } else {
            if (added)
                break;
            e = entry;
        }
        if (!json_object_object_get_ex(rel, e->version, &plats)) {
            plats = json_object_new_object();
            if (!put(rel, e->version, plats))
                goto nomem;
        }
        if (!put(plats, e->platform, entry_json(e)))
            goto nomem;
    }
    return finish(o, ANT_META_ROLE_TARGETS, out, len);
nomem:
    json_object_put(o);
    return ANT_ERR_NOMEM;
}

ant_err ant_meta_timestamp_build(const struct ant_meta_timestamp *prev, uint64_t version,
                                 int64_t expires, const struct ant_meta_targets_ref *ref,
                                 const struct ant_meta_rollout *rollout, uint8_t **out,
                                 size_t *len)
{
    json_object *o = json_object_new_object(), *t = json_object_new_object();
    if (out == NULL || len == NULL || version == 0 || ref == NULL) {
        json_object_put(o);
        json_object_put(t);
        return ANT_ERR_INVALID_ARG;
    }
    if (o == NULL || !put_header(o, "timestamp", version, expires) || !put(o, "targets", t) ||
        !put(t, "version", json_object_new_int64((int64_t)ref->version)) ||
        !put(t, "length", json_object_new_int64((int64_t)ref->length)) ||
        !put_hex(t, "sha256", ref->sha256))
        goto nomem;
    if (rollout == NULL && prev != NULL)
        rollout = &prev->rollout;
    if (rollout != NULL && rollout->present) {
        json_object *r = json_object_new_object();
        char cur[24];
        const struct ant_meta_rollout *ro = rollout;
        if (ro->cursor_ppm > 1000000 || !meta_version_canonical(ro->version)) {
            json_object_put(r);
            json_object_put(o);
            return ANT_ERR_INVALID_ARG;
        }
        snprintf(cur, sizeof cur, "%u.%04u", ro->cursor_ppm / 10000, ro->cursor_ppm % 10000);
        if (!put(o, "rollout", r) || !put(r, "version", json_object_new_string(ro->version)) ||
            !put_hex(r, "seed", ro->seed) || !put(r, "cursor", json_object_new_string(cur)) ||
            !put(r, "halted", json_object_new_boolean(ro->halted)))
            goto nomem;
    }
    return finish(o, ANT_META_ROLE_TIMESTAMP, out, len);
nomem:
    json_object_put(o);
    return ANT_ERR_NOMEM;
}
