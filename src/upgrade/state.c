/*
 * The node's persisted upgrade state: one small JSON file in the node's root dir, written
 * atomically through fsx (temp, fsync, rename, fsync dir) so a crash leaves either the old
 * or the new state, never a torn one. It holds what must survive a restart: the floor
 * (the highest version ever installed, anti-rollback, ARCHITECTURE.md §3) and the highest
 * confirmed version (the baseline of trial boots), the pending version and its rollout schedule (§5 step 4),
 * the trial state and bad versions (§5 step 11) and the last error (for `upgrade status`).
 * Read-modify-write cycles take `upgrade_state.lock` so the daemon and an operator command
 * never lose each other's update. The file is read with a cap and every field is checked:
 * a file we cannot understand is an error, never silently reset, because resetting the
 * floor would reopen a downgrade.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "upgrade/engine.h"

#define STATE_FORMAT 1

bool state_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;
    if (cap == 0)
        return false;
    if (n >= cap) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src != NULL ? src : "", n);
    dst[n] = '\0';
    return true;
}

int64_t engine_now(void)
{
    return (int64_t)time(NULL);
}

/* A version field must be empty or a semantic version (the file may be edited or damaged). */
static bool version_field(const char *text, char *dst)
{
    struct ant_semver v;
    if (text[0] == '\0') {
        dst[0] = '\0';
        return true;
    }
    if (ant_semver_parse(text, &v) != ANT_OK)
        return false;
    return state_copy(dst, ANT_SEMVER_TEXT_MAX, text);
}

static bool get_string(json_object *obj, const char *key, const char **out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        *out = "";
        return true; /* optional */
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    *out = json_object_get_string(v);
    return true;
}

static bool get_int(json_object *obj, const char *key, int64_t *out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        *out = 0;
        return true;
    }
    if (!json_object_is_type(v, json_type_int))
        return false;
    *out = json_object_get_int64(v);
    return *out >= 0;
}

static bool get_object(json_object *obj, const char *key, json_object **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return true;
    if (!json_object_is_type(v, json_type_object))
        return false;
    *out = v;
    return true;
}

/* A reason is one log token: 1-39 bytes of [a-z0-9-]. */
static bool reason_ok(const char *r)
{
    size_t n = strlen(r);
    if (n == 0 || n >= BAD_REASON_MAX)
        return false;
    for (; *r != '\0'; r++) {
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return false;
    }
    return true;
}

/* Stores `m` as the node's mark of its version (replacing an earlier one; the oldest entry
 * is dropped when the list is full: a version that old is below the floor anyway). */
static void state_put_bad(struct upgrade_state *st, const struct bad_mark *m)
{
    state_clear_bad(st, m->version);
    if (st->nbad == STATE_BAD_MAX) {
        memmove(&st->bad[0], &st->bad[1], sizeof st->bad[0] * (STATE_BAD_MAX - 1));
        st->nbad--;
    }
    st->bad[st->nbad++] = *m;
}

static bool parse_state(json_object *root, struct upgrade_state *st)
{
    const char *s;
    int64_t n;
    json_object *o;

    if (!json_object_is_type(root, json_type_object))
        return false;
    if (!get_int(root, "format", &n) || n != STATE_FORMAT)
        return false;
    if (!get_string(root, "floor", &s) || !version_field(s, st->floor))
        return false;
    if (!get_string(root, "confirmed", &s) || !version_field(s, st->confirmed))
        return false;

    if (!get_object(root, "pending", &o))
        return false;
    if (o != NULL) {
        if (!get_string(o, "version", &s) || !version_field(s, st->pending.version) ||
            !get_int(o, "first_seen", &st->pending.first_seen) ||
            !get_int(o, "scheduled_at", &st->pending.scheduled_at) ||
            !get_int(o, "candidate_since", &st->pending.candidate_since))
            return false;
        /* A schedule written before the signed cursor (§10) was one from the first
         * sighting: every node was a candidate from then. */
        if (st->pending.candidate_since == 0 && st->pending.scheduled_at > 0)
            st->pending.candidate_since = st->pending.first_seen;
    }

    if (!get_object(root, "trial", &o))
        return false;
    if (o != NULL) {
        if (!get_string(o, "version", &s) || !version_field(s, st->trial.version) ||
            !get_string(o, "from", &s) || !version_field(s, st->trial.from) ||
            !get_int(o, "attempts", &n) || n > 1000 ||
            !get_int(o, "started_at", &st->trial.started_at))
            return false;
        st->trial.attempts = (unsigned)n;
    }

    /* "bad" is the list of marked versions exactly as earlier releases wrote and read it
     * (a node rolled back to one of them must still read this file); "bad_marks" holds
     * the details they ignore. A version in "bad" without details is one mark of
     * unknown time (written by an earlier release). */
    json_object *bad = NULL;
    if (json_object_object_get_ex(root, "bad", &bad) && bad != NULL) {
        if (!json_object_is_type(bad, json_type_array))
            return false;
        size_t count = json_object_array_length(bad);
        for (size_t i = 0; i < count; i++) {
            json_object *e = json_object_array_get_idx(bad, i);
            struct bad_mark m;
            memset(&m, 0, sizeof m);
            m.marks = 1;
            state_copy(m.reason, sizeof m.reason, "unknown");
            if (e == NULL || !json_object_is_type(e, json_type_string) ||
                !version_field(json_object_get_string(e), m.version) || m.version[0] == '\0')
                return false;
            state_put_bad(st, &m);
        }
    }
    if (json_object_object_get_ex(root, "bad_marks", &bad) && bad != NULL) {
        if (!json_object_is_type(bad, json_type_array))
            return false;
        size_t count = json_object_array_length(bad);
        for (size_t i = 0; i < count; i++) {
            json_object *e = json_object_array_get_idx(bad, i);
            struct bad_mark m;
            const char *reason;
            memset(&m, 0, sizeof m);
            if (e == NULL || !json_object_is_type(e, json_type_object) ||
                !get_string(e, "version", &s) || !version_field(s, m.version) ||
                m.version[0] == '\0' || !get_string(e, "reason", &reason) || !reason_ok(reason) ||
                !get_int(e, "marked_at", &m.marked_at) || !get_int(e, "marks", &n) || n < 1 ||
                n > 1000)
                return false;
            state_copy(m.reason, sizeof m.reason, reason);
            m.marks = (unsigned)n;
            state_put_bad(st, &m);
        }
    }

    if (!get_object(root, "last_error", &o))
        return false;
    if (o != NULL) {
        if (!get_int(o, "time", &st->last_error.time) || !get_string(o, "version", &s) ||
            !version_field(s, st->last_error.version) || !get_string(o, "stage", &s) ||
            !state_copy(st->last_error.stage, sizeof st->last_error.stage, s) ||
            !get_string(o, "error", &s))
            return false;
        /* The message is informational: keep what fits rather than fail the whole file. */
        snprintf(st->last_error.error, sizeof st->last_error.error, "%s", s);
    }
    return true;
}

ant_err state_load(int rootfd, struct upgrade_state *st)
{
    uint8_t *data = NULL;
    size_t len = 0;
    json_tokener *tok = NULL;
    json_object *root = NULL;
    ant_err err;

    memset(st, 0, sizeof *st);
    err = ant_fsx_read_capped(rootfd, ANT_UPGRADE_STATE_FILE, STATE_FILE_CAP, &data, &len);
    if (err == ANT_ERR_NOT_FOUND) {
        err = ANT_OK;
        goto out;
    }
    if (err != ANT_OK)
        goto out;
    if (len > (size_t)INT32_MAX) {
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    tok = json_tokener_new();
    if (tok == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    root = json_tokener_parse_ex(tok, (const char *)data, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len || !parse_state(root, st)) {
        ant_log(ANT_LOG_ERROR, "upgrade", "Upgrade state file unreadable file=%s",
                ANT_UPGRADE_STATE_FILE);
        memset(st, 0, sizeof *st);
        err = ANT_ERR_PARSE;
        goto out;
    }
    err = ANT_OK;
out:
    json_object_put(root);
    if (tok != NULL)
        json_tokener_free(tok);
    free(data);
    return err;
}

static int add_str(json_object *o, const char *key, const char *value)
{
    json_object *v = json_object_new_string(value);
    if (v == NULL)
        return -1;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

static int add_int(json_object *o, const char *key, int64_t value)
{
    json_object *v = json_object_new_int64(value);
    if (v == NULL)
        return -1;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return -1;
    }
    return 0;
}

static int add_obj(json_object *o, const char *key, json_object *child)
{
    if (child == NULL)
        return -1;
    if (json_object_object_add(o, key, child) != 0) {
        json_object_put(child);
        return -1;
    }
    return 0;
}

static json_object *build_json(const struct upgrade_state *st)
{
    json_object *root = json_object_new_object();
    json_object *pending = json_object_new_object();
    json_object *trial = json_object_new_object();
    json_object *bad = json_object_new_array();
    json_object *marks = json_object_new_array();
    json_object *last = json_object_new_object();
    int rc = 0;

    if (root == NULL || pending == NULL || trial == NULL || bad == NULL || marks == NULL ||
        last == NULL) {
        json_object_put(root);
        json_object_put(pending);
        json_object_put(trial);
        json_object_put(bad);
        json_object_put(marks);
        json_object_put(last);
        return NULL;
    }
    rc |= add_str(pending, "version", st->pending.version);
    rc |= add_int(pending, "first_seen", st->pending.first_seen);
    rc |= add_int(pending, "scheduled_at", st->pending.scheduled_at);
    rc |= add_int(pending, "candidate_since", st->pending.candidate_since);
    rc |= add_str(trial, "version", st->trial.version);
    rc |= add_str(trial, "from", st->trial.from);
    rc |= add_int(trial, "attempts", st->trial.attempts);
    rc |= add_int(trial, "started_at", st->trial.started_at);
    for (size_t i = 0; i < st->nbad; i++) {
        json_object *v = json_object_new_string(st->bad[i].version);
        if (v == NULL || json_object_array_add(bad, v) != 0) {
            json_object_put(v);
            rc = -1;
        }
    }
    for (size_t i = 0; i < st->nbad; i++) {
        json_object *v = json_object_new_object();
        if (v == NULL || add_str(v, "version", st->bad[i].version) != 0 ||
            add_str(v, "reason", st->bad[i].reason) != 0 ||
            add_int(v, "marked_at", st->bad[i].marked_at) != 0 ||
            add_int(v, "marks", st->bad[i].marks) != 0 || json_object_array_add(marks, v) != 0) {
            json_object_put(v);
            rc = -1;
        }
    }
    rc |= add_int(last, "time", st->last_error.time);
    rc |= add_str(last, "version", st->last_error.version);
    rc |= add_str(last, "stage", st->last_error.stage);
    rc |= add_str(last, "error", st->last_error.error);

    rc |= add_int(root, "format", STATE_FORMAT);
    rc |= add_str(root, "floor", st->floor);
    rc |= add_str(root, "confirmed", st->confirmed);
    rc |= add_obj(root, "pending", pending);
    rc |= add_obj(root, "trial", trial);
    rc |= add_obj(root, "bad", bad);
    rc |= add_obj(root, "bad_marks", marks);
    rc |= add_obj(root, "last_error", last);
    if (rc != 0) {
        json_object_put(root);
        return NULL;
    }
    return root;
}

ant_err state_to_json(const struct upgrade_state *st, char **text)
{
    json_object *root = build_json(st);
    *text = NULL;
    if (root == NULL)
        return ANT_ERR_NOMEM;
    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
    if (s != NULL)
        *text = strdup(s);
    json_object_put(root);
    return *text != NULL ? ANT_OK : ANT_ERR_NOMEM;
}

ant_err state_save(int rootfd, const struct upgrade_state *st)
{
    char *text = NULL;
    ant_err err = state_to_json(st, &text);
    if (err != ANT_OK)
        return err;
    err = ant_fsx_write_atomic(rootfd, ANT_UPGRADE_STATE_FILE, text, strlen(text), 0600);
    free(text);
    return err;
}

ant_err state_lock(int rootfd, unsigned timeout_ms, int *lockfd)
{
    return ant_fsx_lock(rootfd, STATE_LOCK_FILE, timeout_ms, lockfd);
}

const struct bad_mark *state_find_bad(const struct upgrade_state *st, const char *version)
{
    struct ant_semver a, b;
    if (ant_semver_parse(version, &a) != ANT_OK)
        return NULL;
    for (size_t i = 0; i < st->nbad; i++) {
        if (ant_semver_parse(st->bad[i].version, &b) == ANT_OK && ant_semver_compare(&a, &b) == 0)
            return &st->bad[i];
    }
    return NULL;
}

bool state_is_bad(const struct upgrade_state *st, const char *version)
{
    return state_find_bad(st, version) != NULL;
}

bool state_clear_bad(struct upgrade_state *st, const char *version)
{
    const struct bad_mark *m = state_find_bad(st, version);
    if (m == NULL)
        return false;
    size_t i = (size_t)(m - st->bad);
    memmove(&st->bad[i], &st->bad[i + 1], sizeof st->bad[0] * (st->nbad - i - 1));
    st->nbad--;
    return true;
}

int64_t bad_mark_retry_at(const struct bad_mark *m, uint64_t backoff_ms, unsigned max_marks)
{
    if (m->marks >= max_marks)
        return -1;
    /* backoff × 2^(marks-1), saturating: an absurd setting blocks for good, never wraps. */
    uint64_t s = backoff_ms / 1000;
    for (unsigned i = 1; i < m->marks && s < ((uint64_t)1 << 40); i++)
        s *= 2;
    if (s > ((uint64_t)1 << 40) || m->marked_at > INT64_MAX - (int64_t)s)
        return -1;
    return m->marked_at + (int64_t)s;
}

bool bad_mark_blocks(const struct bad_mark *m, int64_t now, uint64_t backoff_ms,
                     unsigned max_marks)
{
    int64_t at = bad_mark_retry_at(m, backoff_ms, max_marks);
    return at < 0 || now < at;
}

bool bad_mark_record(struct bad_mark *m, const char *version, const char *reason, int64_t now,
                     uint64_t backoff_ms, unsigned max_marks)
{
    if (m->marks > 0 && bad_mark_blocks(m, now, backoff_ms, max_marks))
        return false;
    if (m->marks == 0)
        state_copy(m->version, sizeof m->version, version);
    m->marks++;
    m->marked_at = now;
    if (!state_copy(m->reason, sizeof m->reason, reason) || !reason_ok(m->reason))
        state_copy(m->reason, sizeof m->reason, "unknown");
    return true;
}

void state_add_bad(struct upgrade_state *st, const char *version, const char *reason,
                   int64_t now, uint64_t backoff_ms, unsigned max_marks, struct bad_mark *out)
{
    struct bad_mark m;
    const struct bad_mark *old = state_find_bad(st, version);
    struct ant_semver v;
    if (ant_semver_parse(version, &v) != ANT_OK)
        return;
    if (old != NULL) {
        m = *old;
    } else {
        memset(&m, 0, sizeof m);
        /* The canonical text, so "v0.2.6" and "0.2.6" are one entry. */
        if (!ant_semver_format(&v, m.version, sizeof m.version))
            return;
    }
    bad_mark_record(&m, m.version, reason, now, backoff_ms, max_marks);
    state_put_bad(st, &m);
    if (out != NULL)
        *out = m;
}

void state_set_error(struct upgrade_state *st, const char *version, const char *stage,
                     ant_err err, int64_t now)
{
    st->last_error.time = now;
    if (version == NULL || !version_field(version, st->last_error.version))
        st->last_error.version[0] = '\0';
    state_copy(st->last_error.stage, sizeof st->last_error.stage, stage);
    snprintf(st->last_error.error, sizeof st->last_error.error, "%s", ant_strerror(err));
}
