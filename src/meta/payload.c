/*
 * The payloads of the three roles (ARCHITECTURE.md §9, §10), parsed from the exact bytes
 * that were signed. Every field is type-checked; unknown fields are ignored so a later
 * format can add some; anything present but of the wrong type or shape is a parse error,
 * never a default. Integers are taken only in [0, 2^53] so no other JSON reader could see
 * a different value.
 *
 * Root payload:
 *   {"type":"root","version":N,"expires":"...Z",
 *    "keys":{"<keyid>":{"scheme":"ml-dsa-65","public":"<base64 of 1952 bytes>"}},
 *    "roles":{"root":{"keyids":[...],"threshold":k},"targets":{...},"timestamp":{...}}}
 * Targets payload:
 *   {"type":"targets","version":M,"expires":"...","minimum_version":"X.Y.Z","yanked":[...],
 *    "releases":{"X.Y.Z":{"<platform>":{"archive":{"name":..,"length":..,"sha256":..},
 *                                        "binary":{"length":..,"sha256":..},
 *                                        "deltas":[{"from_version":"X.Y.Z",
 *                                                   "from_sha256":..,"name":..,
 *                                                   "length":..,"sha256":..}]}}}}
 *   ("deltas" optional, at most ANT_META_MAX_DELTAS, distinct from_sha256.)
 * Timestamp payload:
 *   {"type":"timestamp","version":T,"expires":"...",
 *    "targets":{"version":M,"length":L,"sha256":"<hex>"},
 *    "rollout":{"version":"X.Y.Z","seed":"<64 hex>","cursor":"<percent>","halted":false}}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ant/fsx.h"
#include "meta/meta_int.h"

static const char *str_field(json_object *o, const char *key, size_t max)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    int n = json_object_get_string_len(v);
    if (s == NULL || n <= 0 || (size_t)n > max || strlen(s) != (size_t)n)
        return NULL;
    return s;
}

static bool int_field(json_object *o, const char *key, int64_t min, uint64_t *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    int64_t x = json_object_get_int64(v);
    if (x < min || x > META_INT_MAX)
        return false;
    *out = (uint64_t)x;
    return true;
}

static bool hex32_field(json_object *o, const char *key, uint8_t out[32])
{
    const char *s = str_field(o, key, 64);
    return s != NULL && meta_is_hex64(s) && ant_hex_decode(out, 32, s) == ANT_OK;
}

/* type, version, expires: common to every payload. */
static ant_err header(json_object *o, const char *type, uint64_t *version, int64_t *expires)
{
    const char *t;
    if (!json_object_is_type(o, json_type_object))
        return ANT_ERR_PARSE;
    t = str_field(o, "type", 32);
    if (t == NULL || strcmp(t, type) != 0)
        return ANT_ERR_PARSE;
    if (!int_field(o, "version", 1, version))
        return ANT_ERR_BAD_VERSION;
    t = str_field(o, "expires", 32);
    if (t == NULL || ant_meta_time_parse(t, expires) != ANT_OK)
        return ANT_ERR_PARSE;
    return ANT_OK;
}

/* ---- root ---------------------------------------------------------------------------- */

void ant_meta_root_free(struct ant_meta_root *root)
{
    if (root == NULL)
        return;
    free(root->keys);
    free(root);
}

static ant_err parse_role(json_object *roles, enum ant_meta_role role,
                          struct ant_meta_root *r)
{
    json_object *o = NULL, *ids = NULL;
    struct meta_role_def *rd = &r->roles[role - 1];
    uint64_t th = 0;

    if (!json_object_object_get_ex(roles, ant_meta_role_name(role), &o) ||
        !json_object_is_type(o, json_type_object))
        return ANT_ERR_PARSE;
    if (!json_object_object_get_ex(o, "keyids", &ids) ||
        !json_object_is_type(ids, json_type_array))
        return ANT_ERR_PARSE;
    size_t n = json_object_array_length(ids);
    if (n > ANT_META_MAX_KEYS)
        return ANT_ERR_TOO_LARGE;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(ids, i);
        const char *kid;
        size_t k, j;
        if (!json_object_is_type(e, json_type_string))
            return ANT_ERR_PARSE;
        kid = json_object_get_string(e);
        for (k = 0; k < r->nkeys; k++)
            if (strcmp(r->keys[k].keyid, kid) == 0)
                break;
        if (k == r->nkeys)
            return ANT_ERR_BAD_KEY; /* a role key the root does not define */
        for (j = 0; j < rd->nkeys; j++)
            if (rd->keyidx[j] == k)
                break;
        if (j == rd->nkeys)
            rd->keyidx[rd->nkeys++] = k; /* a repeated keyid counts once */
    }
    if (!int_field(o, "threshold", 1, &th))
        return ANT_ERR_PARSE;
    /* A threshold above the distinct keys could never be met: refuse it now rather than
     * accept a root that freezes its role. */
    if (th > rd->nkeys)
        return ANT_ERR_BAD_KEY;
    rd->threshold = (unsigned)th;
    return ANT_OK;
}

ant_err ant_meta_root_parse(const uint8_t *payload, size_t len, struct ant_meta_root **out)
{
    json_object *o = NULL, *keys = NULL, *roles = NULL;
    struct ant_meta_root *r = NULL;
    ant_err err;

    if (out == NULL || payload == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    err = meta_json_parse(payload, len, ANT_META_ROOT_MAX, &o);
    if (err != ANT_OK)
        return err;
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    err = header(o, "root", &r->version, &r->expires);
    if (err != ANT_OK)
        goto out;
    err = ANT_ERR_PARSE;
    if (!json_object_object_get_ex(o, "keys", &keys) ||
        !json_object_is_type(keys, json_type_object))
        goto out;
    if (json_object_object_length(keys) > ANT_META_MAX_KEYS) {
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    r->keys = calloc((size_t)json_object_object_length(keys) + 1, sizeof *r->keys);
    if (r->keys == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    json_object_object_foreach(keys, kid, kv)
    {
        const char *scheme, *pub;
        uint8_t *raw = NULL;
        size_t rawlen = 0;
        struct meta_key *mk = &r->keys[r->nkeys];
        if (!meta_is_hex64(kid) || !json_object_is_type(kv, json_type_object)) {
            err = ANT_ERR_PARSE;
            goto out;
        }
        scheme = str_field(kv, "scheme", 32);
        pub = str_field(kv, "public", 4 * ANT_MLDSA65_PUBLICKEYBYTES);
        if (scheme == NULL || strcmp(scheme, "ml-dsa-65") != 0 || pub == NULL) {
            err = ANT_ERR_BAD_KEY;
            goto out;
        }
        err = meta_b64_decode(pub, strlen(pub), ANT_MLDSA65_PUBLICKEYBYTES, &raw, &rawlen);
        if (err != ANT_OK || rawlen != ANT_MLDSA65_PUBLICKEYBYTES) {
            free(raw);
            err = ANT_ERR_BAD_KEY;
            goto out;
        }
        memcpy(mk->pk, raw, rawlen);
        free(raw);
        err = ant_meta_keyid(mk->keyid, mk->pk);
        if (err != ANT_OK)
            goto out;
        /* Safety: the keyid must be the key's own hash, or one key could be listed under
         * two keyids and its one signature counted twice toward a threshold. */
        if (strcmp(mk->keyid, kid) != 0) {
            err = ANT_ERR_BAD_KEY;
            goto out;
        }
        r->nkeys++;
    }
    err = ANT_ERR_PARSE;
    if (!json_object_object_get_ex(o, "roles", &roles) ||
        !json_object_is_type(roles, json_type_object))
        goto out;
    for (int role = ANT_META_ROLE_ROOT; role <= ANT_META_ROLE_TIMESTAMP; role++) {
        err = parse_role(roles, (enum ant_meta_role)role, r);
        if (err != ANT_OK)
            goto out;
    }
    *out = r;
    r = NULL;
    err = ANT_OK;
out:
    ant_meta_root_free(r);
    json_object_put(o);
    return err;
}

uint64_t ant_meta_root_version(const struct ant_meta_root *root)
{
    return root != NULL ? root->version : 0;
}

int64_t ant_meta_root_expires(const struct ant_meta_root *root)
{
    return root != NULL ? root->expires : 0;
}

unsigned ant_meta_root_threshold(const struct ant_meta_root *root, enum ant_meta_role role)
{
    if (root == NULL || role < ANT_META_ROLE_ROOT || role > ANT_META_ROLE_TIMESTAMP)
        return 0;
    return root->roles[role - 1].threshold;
}

const char *ant_meta_root_keyid(const struct ant_meta_root *root, enum ant_meta_role role,
                                size_t i)
{
    if (root == NULL || role < ANT_META_ROLE_ROOT || role > ANT_META_ROLE_TIMESTAMP ||
        i >= root->roles[role - 1].nkeys)
        return NULL;
    return root->keys[root->roles[role - 1].keyidx[i]].keyid;
}

const uint8_t *ant_meta_root_key(const struct ant_meta_root *root, enum ant_meta_role role,
                                 size_t i)
{
    if (root == NULL || role < ANT_META_ROLE_ROOT || role > ANT_META_ROLE_TIMESTAMP ||
        i >= root->roles[role - 1].nkeys)
        return NULL;
    return root->keys[root->roles[role - 1].keyidx[i]].pk;
}

bool ant_meta_root_has_key(const struct ant_meta_root *root, enum ant_meta_role role,
                           const uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES])
{
    if (root == NULL || pk == NULL || role < ANT_META_ROLE_ROOT || role > ANT_META_ROLE_TIMESTAMP)
        return false;
    const struct meta_role_def *rd = &root->roles[role - 1];
    for (size_t i = 0; i < rd->nkeys; i++)
        if (memcmp(root->keys[rd->keyidx[i]].pk, pk, ANT_MLDSA65_PUBLICKEYBYTES) == 0)
            return true;
    return false;
}

bool meta_role_changed(const struct ant_meta_root *a, const struct ant_meta_root *b,
                       enum ant_meta_role role)
{
    const struct meta_role_def *ra = &a->roles[role - 1], *rb = &b->roles[role - 1];
    if (ra->threshold != rb->threshold || ra->nkeys != rb->nkeys)
        return true;
    for (size_t i = 0; i < ra->nkeys; i++) {
        size_t j;
        for (j = 0; j < rb->nkeys; j++)
            if (strcmp(a->keys[ra->keyidx[i]].keyid, b->keys[rb->keyidx[j]].keyid) == 0)
                break;
        if (j == rb->nkeys)
            return true;
    }
    return false;
}

bool meta_roles_share_key(const struct ant_meta_root *root, enum ant_meta_role a,
                          enum ant_meta_role b)
{
    const struct meta_role_def *ra = &root->roles[a - 1], *rb = &root->roles[b - 1];
    for (size_t i = 0; i < ra->nkeys; i++)
        for (size_t j = 0; j < rb->nkeys; j++)
            if (ra->keyidx[i] == rb->keyidx[j]) /* keys are defined once in a root */
                return true;
    return false;
}

/* ---- targets ------------------------------------------------------------------------- */

void ant_meta_targets_free(struct ant_meta_targets *t)
{
    if (t == NULL)
        return;
    free(t->entries);
    free(t->yanked);
    free(t);
}

static bool platform_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n >= ANT_META_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/*
 * The optional "deltas" of an entry. A patch is only as safe as what the node checks
 * around it (its own length and SHA-256 here, the result against the binary entry), so the
 * parser's job is shape: every field present and typed, the name a plain file name, the
 * count bounded, and no two patches from the same old binary (which one would a node take?).
 */
static ant_err parse_deltas(json_object *pv, struct ant_meta_target *e)
{
    json_object *arr = NULL;
    if (!json_object_object_get_ex(pv, "deltas", &arr))
        return ANT_OK;
    if (!json_object_is_type(arr, json_type_array))
        return ANT_ERR_PARSE;
    size_t n = json_object_array_length(arr);
    if (n > ANT_META_MAX_DELTAS)
        return ANT_ERR_TOO_LARGE;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        struct ant_meta_delta *d = &e->deltas[i];
        const char *fv, *name;
        if (!json_object_is_type(o, json_type_object))
            return ANT_ERR_PARSE;
        fv = str_field(o, "from_version", ANT_SEMVER_TEXT_MAX - 1);
        if (fv == NULL || !meta_version_canonical(fv))
            return ANT_ERR_BAD_VERSION;
        name = str_field(o, "name", ANT_META_NAME_MAX - 1);
        if (name == NULL || !ant_fsx_name_ok(name))
            return ANT_ERR_PARSE;
        if (!hex32_field(o, "from_sha256", d->from_sha256) ||
            !int_field(o, "length", 1, &d->length) || !hex32_field(o, "sha256", d->sha256))
            return ANT_ERR_PARSE;
        snprintf(d->from_version, sizeof d->from_version, "%s", fv);
        snprintf(d->name, sizeof d->name, "%s", name);
        for (size_t j = 0; j < i; j++)
            if (memcmp(e->deltas[j].from_sha256, d->from_sha256, ANT_SHA256_BYTES) == 0)
                return ANT_ERR_PARSE;
        e->ndeltas = i + 1;
    }
    return ANT_OK;
}

static ant_err parse_entry(const char *version, const char *platform, json_object *pv,
                           struct ant_meta_target *e)
{
    json_object *a = NULL, *b = NULL;
    const char *name;
    memset(e, 0, sizeof *e);
    if (!platform_ok(platform) || !json_object_is_type(pv, json_type_object))
        return ANT_ERR_PARSE;
    snprintf(e->version, sizeof e->version, "%s", version);
    snprintf(e->platform, sizeof e->platform, "%s", platform);
    if (!json_object_object_get_ex(pv, "archive", &a) || !json_object_is_type(a, json_type_object) ||
        !json_object_object_get_ex(pv, "binary", &b) || !json_object_is_type(b, json_type_object))
        return ANT_ERR_PARSE;
    name = str_field(a, "name", ANT_META_NAME_MAX - 1);
    if (name == NULL || !ant_fsx_name_ok(name))
        return ANT_ERR_PARSE;
    snprintf(e->archive_name, sizeof e->archive_name, "%s", name);
    if (!int_field(a, "length", 1, &e->archive_length) || !hex32_field(a, "sha256", e->archive_sha256) ||
        !int_field(b, "length", 1, &e->binary_length) || !hex32_field(b, "sha256", e->binary_sha256))
        return ANT_ERR_PARSE;
    return parse_deltas(pv, e);
}

ant_err ant_meta_targets_parse(const uint8_t *payload, size_t len, struct ant_meta_targets **out)
{
    json_object *o = NULL, *rel = NULL, *v = NULL;
    struct ant_meta_targets *t = NULL;
    size_t cap = 0;
    ant_err err;

    if (out == NULL || payload == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    err = meta_json_parse(payload, len, ANT_META_TARGETS_MAX, &o);
    if (err != ANT_OK)
        return err;
    t = calloc(1, sizeof *t);
    if (t == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    err = header(o, "targets", &t->version, &t->expires);
    if (err != ANT_OK)
        goto out;
    err = ANT_ERR_PARSE;
    if (json_object_object_get_ex(o, "minimum_version", &v)) {
        const char *mv = str_field(o, "minimum_version", ANT_SEMVER_TEXT_MAX - 1);
        if (mv == NULL || !meta_version_canonical(mv)) {
            err = ANT_ERR_BAD_VERSION;
            goto out;
        }
        snprintf(t->minimum_version, sizeof t->minimum_version, "%s", mv);
    }
    if (json_object_object_get_ex(o, "yanked", &v)) {
        if (!json_object_is_type(v, json_type_array))
            goto out;
        size_t n = json_object_array_length(v);
        if (n > ANT_META_MAX_RELEASES) {
            err = ANT_ERR_TOO_LARGE;
            goto out;
        }
        t->yanked = calloc(n + 1, sizeof *t->yanked);
        if (t->yanked == NULL) {
            err = ANT_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(v, i);
            const char *s;
            if (!json_object_is_type(e, json_type_string))
                goto out;
            s = json_object_get_string(e);
            if (strlen(s) >= ANT_SEMVER_TEXT_MAX || !meta_version_canonical(s)) {
                err = ANT_ERR_BAD_VERSION;
                goto out;
            }
            snprintf(t->yanked[t->nyanked++], ANT_SEMVER_TEXT_MAX, "%s", s);
        }
    }
    if (!json_object_object_get_ex(o, "releases", &rel) ||
        !json_object_is_type(rel, json_type_object))
        goto out;
    if (json_object_object_length(rel) > ANT_META_MAX_RELEASES) {
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    json_object_object_foreach(rel, version, plats)
    {
        if (strlen(version) >= ANT_SEMVER_TEXT_MAX || !meta_version_canonical(version)) {
            err = ANT_ERR_BAD_VERSION;
            goto out;
        }
        if (!json_object_is_type(plats, json_type_object)) {
            err = ANT_ERR_PARSE;
            goto out;
        }
        if (json_object_object_length(plats) > META_MAX_PLATFORMS) {
            err = ANT_ERR_TOO_LARGE;
            goto out;
        }
        json_object_object_foreach(plats, platform, pv)
        {
            if (t->nentries == cap) {
                size_t ncap = cap == 0 ? 16 : cap * 2;
                struct ant_meta_target *ne;
                if (t->nentries >= META_MAX_ENTRIES) {
                    err = ANT_ERR_TOO_LARGE;
                    goto out;
                }
                ne = realloc(t->entries, ncap * sizeof *ne);
                if (ne == NULL) {
                    err = ANT_ERR_NOMEM;
                    goto out;
                }
                t->entries = ne;
                cap = ncap;
            }
            err = parse_entry(version, platform, pv, &t->entries[t->nentries]);
            if (err != ANT_OK)
                goto out;
            t->nentries++;
        }
    }
    *out = t;
    t = NULL;
    err = ANT_OK;
out:
    ant_meta_targets_free(t);
    json_object_put(o);
    return err;
}

uint64_t ant_meta_targets_version(const struct ant_meta_targets *t)
{
    return t != NULL ? t->version : 0;
}

int64_t ant_meta_targets_expires(const struct ant_meta_targets *t)
{
    return t != NULL ? t->expires : 0;
}

size_t ant_meta_targets_count(const struct ant_meta_targets *t)
{
    return t != NULL ? t->nentries : 0;
}

ant_err ant_meta_targets_entry(const struct ant_meta_targets *t, size_t i,
                               struct ant_meta_target *out)
{
    if (t == NULL || out == NULL || i >= t->nentries)
        return ANT_ERR_INVALID_ARG;
    *out = t->entries[i];
    return ANT_OK;
}

/* The canonical text of `version` (a leading 'v' or build text as written is accepted
 * from the caller); false if it is not a version. */
static bool canonical(const char *version, char *buf, size_t cap)
{
    struct ant_semver v;
    return version != NULL && ant_semver_parse(version, &v) == ANT_OK &&
           ant_semver_format(&v, buf, cap);
}

ant_err ant_meta_targets_find(const struct ant_meta_targets *t, const char *version,
                              const char *platform, struct ant_meta_target *out)
{
    char want[ANT_SEMVER_TEXT_MAX];
    if (t == NULL || platform == NULL || out == NULL || !canonical(version, want, sizeof want))
        return ANT_ERR_INVALID_ARG;
    for (size_t i = 0; i < t->nentries; i++)
        if (strcmp(t->entries[i].version, want) == 0 &&
            strcmp(t->entries[i].platform, platform) == 0) {
            *out = t->entries[i];
            return ANT_OK;
        }
    memset(out, 0, sizeof *out);
    return ANT_ERR_NOT_FOUND;
}

const char *ant_meta_targets_minimum_version(const struct ant_meta_targets *t)
{
    return t != NULL ? t->minimum_version : "";
}

bool ant_meta_targets_is_yanked(const struct ant_meta_targets *t, const char *version)
{
    char want[ANT_SEMVER_TEXT_MAX];
    if (t == NULL || !canonical(version, want, sizeof want))
        return false;
    for (size_t i = 0; i < t->nyanked; i++)
        if (strcmp(t->yanked[i], want) == 0)
            return true;
    return false;
}

size_t ant_meta_targets_yanked_count(const struct ant_meta_targets *t)
{
    return t != NULL ? t->nyanked : 0;
}

/* ---- timestamp ----------------------------------------------------------------------- */

void ant_meta_timestamp_free(struct ant_meta_timestamp *ts)
{
    free(ts);
}

/* "<percent>" with at most 4 decimals, 0..100, into millionths. */
static bool parse_cursor(const char *s, uint32_t *ppm)
{
    uint64_t whole = 0, frac = 0;
    size_t i = 0, fd = 0;
    if (s[0] == '\0')
        return false;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 3)
            return false;
        whole = whole * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == 0)
        return false;
    if (s[i] == '.') {
        i++;
        for (; s[i] >= '0' && s[i] <= '9'; i++, fd++) {
            if (fd >= 4)
                return false;
            frac = frac * 10 + (uint64_t)(s[i] - '0');
        }
        if (fd == 0)
            return false;
    }
    if (s[i] != '\0')
        return false;
    for (; fd < 4; fd++)
        frac *= 10;
    uint64_t v = whole * 10000 + frac;
    if (v > 1000000)
        return false;
    *ppm = (uint32_t)v;
    return true;
}

ant_err ant_meta_cursor_parse(const char *text, uint32_t *ppm)
{
    if (text == NULL || ppm == NULL)
        return ANT_ERR_INVALID_ARG;
    return parse_cursor(text, ppm) ? ANT_OK : ANT_ERR_PARSE;
}

ant_err ant_meta_timestamp_parse(const uint8_t *payload, size_t len,
                                 struct ant_meta_timestamp **out)
{
    json_object *o = NULL, *tg = NULL, *ro = NULL, *h = NULL;
    struct ant_meta_timestamp *ts = NULL;
    ant_err err;

    if (out == NULL || payload == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    err = meta_json_parse(payload, len, ANT_META_TIMESTAMP_MAX, &o);
    if (err != ANT_OK)
        return err;
    ts = calloc(1, sizeof *ts);
    if (ts == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    err = header(o, "timestamp", &ts->version, &ts->expires);
    if (err != ANT_OK)
        goto out;
    err = ANT_ERR_PARSE;
    if (!json_object_object_get_ex(o, "targets", &tg) || !json_object_is_type(tg, json_type_object) ||
        !int_field(tg, "version", 1, &ts->targets.version) ||
        !int_field(tg, "length", 1, &ts->targets.length) ||
        !hex32_field(tg, "sha256", ts->targets.sha256))
        goto out;
    if (json_object_object_get_ex(o, "rollout", &ro)) {
        const char *rv, *cur;
        if (!json_object_is_type(ro, json_type_object))
            goto out;
        rv = str_field(ro, "version", ANT_SEMVER_TEXT_MAX - 1);
        cur = str_field(ro, "cursor", 16);
        if (rv == NULL || !meta_version_canonical(rv) || cur == NULL ||
            !parse_cursor(cur, &ts->rollout.cursor_ppm) ||
            !hex32_field(ro, "seed", ts->rollout.seed))
            goto out;
        if (json_object_object_get_ex(ro, "halted", &h)) {
            if (!json_object_is_type(h, json_type_boolean))
                goto out;
            ts->rollout.halted = json_object_get_boolean(h);
        }
        snprintf(ts->rollout.version, sizeof ts->rollout.version, "%s", rv);
        ts->rollout.present = true;
    }
    *out = ts;
    ts = NULL;
    err = ANT_OK;
out:
    ant_meta_timestamp_free(ts);
    json_object_put(o);
    return err;
}

uint64_t ant_meta_timestamp_version(const struct ant_meta_timestamp *ts)
{
    return ts != NULL ? ts->version : 0;
}

int64_t ant_meta_timestamp_expires(const struct ant_meta_timestamp *ts)
{
    return ts != NULL ? ts->expires : 0;
}

void ant_meta_timestamp_targets(const struct ant_meta_timestamp *ts,
                                struct ant_meta_targets_ref *out)
{
    if (out == NULL)
        return;
    if (ts == NULL)
        memset(out, 0, sizeof *out);
    else
        *out = ts->targets;
}

void ant_meta_timestamp_rollout(const struct ant_meta_timestamp *ts, struct ant_meta_rollout *out)
{
    if (out == NULL)
        return;
    if (ts == NULL)
        memset(out, 0, sizeof *out);
    else
        *out = ts->rollout;
}
