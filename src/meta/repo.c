/*
 * A metadata repository directory (ARCHITECTURE.md §9): the files a node fetches,
 * root.<N>.json, targets.<M>.json and timestamp.json, and the operator's steps on them.
 * Each step writes the next version of one role unsigned (init, add, timestamp, rotate)
 * or adds one signature (sign), so key holders sign in turn, each on their own machine.
 * `ant-release` is a thin command line over these; the devnet drives them directly.
 *
 * Every file is read with the capped O_NOFOLLOW reads of fsx and written atomically; a
 * step refuses what a node would refuse later (a timestamp over an under-signed targets,
 * a signature by a key that is not the role's), so mistakes surface at the operator.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "meta/meta_int.h"

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (why == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

static size_t role_cap(enum ant_meta_role role)
{
    return role == ANT_META_ROLE_ROOT      ? ANT_META_ROOT_MAX
           : role == ANT_META_ROLE_TARGETS ? ANT_META_TARGETS_MAX
                                           : ANT_META_TIMESTAMP_MAX;
}

/* Highest N of "<prefix>.<N>.json" in the directory; 0 if none. */
static uint64_t newest_numbered(int dirfd, const char *prefix)
{
    int fd = dup(dirfd);
    DIR *d;
    struct dirent *de;
    uint64_t best = 0;
    size_t pl = strlen(prefix);
    if (fd < 0)
        return 0;
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return 0;
    }
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        const char *s = de->d_name;
        char *end = NULL;
        if (strncmp(s, prefix, pl) != 0 || s[pl] != '.' || s[pl + 1] < '1' || s[pl + 1] > '9')
            continue;
        unsigned long long v = strtoull(s + pl + 1, &end, 10);
        if (end != NULL && strcmp(end, ".json") == 0 && v > best && v <= (uint64_t)META_INT_MAX)
            best = v;
    }
    closedir(d);
    return best;
}

void ant_meta_repo_file_name(enum ant_meta_role role, uint64_t version, char *buf, size_t cap)
{
    if (role == ANT_META_ROLE_TIMESTAMP)
        snprintf(buf, cap, "timestamp.json");
    else
        snprintf(buf, cap, "%s.%llu.json", ant_meta_role_name(role), (unsigned long long)version);
}

ant_err ant_meta_repo_load(int dirfd, enum ant_meta_role role, uint64_t version,
                           struct ant_meta_envelope **env, char *why, size_t whycap)
{
    char name[64];
    uint8_t *data = NULL;
    size_t len = 0;
    ant_err err;

    if (env == NULL)
        return ANT_ERR_INVALID_ARG;
    *env = NULL;
    ant_meta_repo_file_name(role, version, name, sizeof name);
    err = ant_fsx_read_capped(dirfd, name, role_cap(role), &data, &len);
    if (err != ANT_OK) {
        say(why, whycap, "cannot read %s: %s", name, ant_strerror(err));
        return err;
    }
    err = ant_meta_envelope_parse(role, data, len, env);
    free(data);
    if (err != ANT_OK)
        say(why, whycap, "%s is not a %s envelope: %s", name, ant_meta_role_name(role),
            ant_strerror(err));
    return err;
}

ant_err ant_meta_repo_newest(int dirfd, enum ant_meta_role role, uint64_t *version)
{
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_timestamp *ts = NULL;
    size_t plen = 0;
    ant_err err;

    if (version == NULL || role < ANT_META_ROLE_ROOT || role > ANT_META_ROLE_TIMESTAMP)
        return ANT_ERR_INVALID_ARG;
    *version = 0;
    if (role != ANT_META_ROLE_TIMESTAMP) {
        *version = newest_numbered(dirfd, ant_meta_role_name(role));
        return ANT_OK;
    }
    if (faccessat(dirfd, "timestamp.json", F_OK, AT_SYMLINK_NOFOLLOW) != 0)
        return ANT_OK;
    err = ant_meta_repo_load(dirfd, role, 0, &env, NULL, 0);
    if (err == ANT_OK) {
        const uint8_t *p = ant_meta_envelope_payload(env, &plen);
        err = ant_meta_timestamp_parse(p, plen, &ts);
        if (err == ANT_OK)
            *version = ts->version;
    }
    ant_meta_timestamp_free(ts);
    ant_meta_envelope_free(env);
    return err;
}

/* The root of version `version` (payload parsed). */
static ant_err load_root(int dirfd, uint64_t version, struct ant_meta_envelope **env,
                         struct ant_meta_root **root, char *why, size_t whycap)
{
    size_t plen = 0;
    *root = NULL;
    ant_err err = ant_meta_repo_load(dirfd, ANT_META_ROLE_ROOT, version, env, why, whycap);
    if (err != ANT_OK)
        return err;
    const uint8_t *p = ant_meta_envelope_payload(*env, &plen);
    err = ant_meta_root_parse(p, plen, root);
    if (err != ANT_OK) {
        say(why, whycap, "root.%llu.json: %s", (unsigned long long)version, ant_strerror(err));
        ant_meta_envelope_free(*env);
        *env = NULL;
    }
    return err;
}

static ant_err write_env(int dirfd, const char *name, const struct ant_meta_envelope *env,
                         char *why, size_t whycap)
{
    uint8_t *text = NULL;
    size_t len = 0;
    ant_err err = ant_meta_envelope_serialize(env, &text, &len);
    if (err == ANT_OK)
        err = ant_fsx_write_atomic(dirfd, name, text, len, 0644);
    free(text);
    if (err != ANT_OK)
        say(why, whycap, "cannot write %s: %s", name, ant_strerror(err));
    return err;
}

/* Wraps `payload` (taken) in an unsigned envelope written as the role's file of `version`;
 * an existing file is replaced only for the timestamp. */
static ant_err write_new(int dirfd, enum ant_meta_role role, uint64_t version, uint8_t *payload,
                         size_t len, char *why, size_t whycap)
{
    struct ant_meta_envelope *env = NULL;
    struct stat st;
    char name[64];
    ant_err err;

    ant_meta_repo_file_name(role, version, name, sizeof name);
    if (role != ANT_META_ROLE_TIMESTAMP && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        say(why, whycap, "%s already exists", name);
        free(payload);
        return ANT_ERR_EXISTS;
    }
    err = ant_meta_envelope_new(role, payload, len, &env);
    free(payload);
    if (err != ANT_OK) {
        say(why, whycap, "%s: %s", name, ant_strerror(err));
        return err;
    }
    err = write_env(dirfd, name, env, why, whycap);
    ant_meta_envelope_free(env);
    return err;
}

/*
 * Refuses a root in which a timestamp key is also a targets key. The timestamp key is the
 * online one, kept on a server to re-sign on a schedule; if it could also sign targets, a
 * theft of that server would list any release wherever the targets threshold is 1, which
 * is what keeping the targets keys offline is for. (Root version 1 of packaging/root.json
 * predates this rule; it is written by hand, not through these steps.)
 */
static ant_err refuse_online_targets_key(const uint8_t *payload, size_t len, char *why,
                                         size_t whycap)
{
    struct ant_meta_root *root = NULL;
    ant_err err = ant_meta_root_parse(payload, len, &root);
    if (err == ANT_OK && meta_roles_share_key(root, ANT_META_ROLE_TARGETS,
                                              ANT_META_ROLE_TIMESTAMP)) {
        say(why, whycap, "a timestamp key (online) may not also be a targets key (offline)");
        err = ANT_ERR_INVALID_ARG;
    }
    ant_meta_root_free(root);
    return err;
}

ant_err ant_meta_repo_init(int dirfd, const struct ant_meta_role_keys *root_keys,
                           const struct ant_meta_role_keys *targets_keys,
                           const struct ant_meta_role_keys *timestamp_keys, int64_t expires,
                           char *why, size_t whycap)
{
    uint8_t *payload = NULL;
    size_t len = 0;
    ant_err err = ant_meta_root_build(1, expires, root_keys, targets_keys, timestamp_keys,
                                      &payload, &len);
    if (err != ANT_OK) {
        say(why, whycap, "keys or thresholds refused: %s", ant_strerror(err));
        return err;
    }
    err = refuse_online_targets_key(payload, len, why, whycap);
    if (err != ANT_OK) {
        free(payload);
        return err;
    }
    return write_new(dirfd, ANT_META_ROLE_ROOT, 1, payload, len, why, whycap);
}

ant_err ant_meta_repo_add(int dirfd, const struct ant_meta_target *entry,
                          const struct ant_meta_targets_policy *policy, int64_t expires,
                          uint64_t *version, char *why, size_t whycap)
{
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_targets *prev = NULL;
    uint8_t *payload = NULL;
    size_t len = 0, plen = 0;
    uint64_t m = 0;
    ant_err err;

    if (entry == NULL && policy == NULL)
        return ANT_ERR_INVALID_ARG;
    err = ant_meta_repo_newest(dirfd, ANT_META_ROLE_TARGETS, &m);
    if (err == ANT_OK && m > 0) {
        err = ant_meta_repo_load(dirfd, ANT_META_ROLE_TARGETS, m, &env, why, whycap);
        if (err == ANT_OK) {
            const uint8_t *p = ant_meta_envelope_payload(env, &plen);
            err = ant_meta_targets_parse(p, plen, &prev);
            if (err != ANT_OK)
                say(why, whycap, "targets.%llu.json does not parse: %s", (unsigned long long)m,
                    ant_strerror(err));
        }
    }
    if (err == ANT_OK) {
        err = ant_meta_targets_build(prev, m + 1, expires, entry, policy, &payload, &len);
        if (err != ANT_OK)
            say(why, whycap, "entry refused: %s (versions X.Y.Z[-pre], platforms [a-z0-9_-])",
                ant_strerror(err));
    }
    if (err == ANT_OK)
        err = write_new(dirfd, ANT_META_ROLE_TARGETS, m + 1, payload, len, why, whycap);
    if (err == ANT_OK && version != NULL)
        *version = m + 1;
    ant_meta_targets_free(prev);
    ant_meta_envelope_free(env);
    return err;
}

ant_err ant_meta_repo_timestamp(int dirfd, const struct ant_meta_rollout *rollout,
                                int64_t expires, uint64_t *version, char *why, size_t whycap)
{
    struct ant_meta_envelope *renv = NULL, *tenv = NULL, *penv = NULL;
    struct ant_meta_root *root = NULL;
    struct ant_meta_timestamp *prev = NULL;
    struct ant_meta_targets_ref ref;
    uint8_t *data = NULL, *payload = NULL;
    size_t len = 0, plen = 0;
    uint64_t n = 0, m = 0, tv = 0;
    char name[64];
    unsigned valid = 0;
    ant_err err;

    if ((err = ant_meta_repo_newest(dirfd, ANT_META_ROLE_ROOT, &n)) != ANT_OK ||
        (err = ant_meta_repo_newest(dirfd, ANT_META_ROLE_TARGETS, &m)) != ANT_OK)
        return err;
    if (n == 0 || m == 0) {
        say(why, whycap, "no %s file", n == 0 ? "root" : "targets");
        return ANT_ERR_NOT_FOUND;
    }
    if ((err = load_root(dirfd, n, &renv, &root, why, whycap)) != ANT_OK)
        goto out;
    ant_meta_repo_file_name(ANT_META_ROLE_TARGETS, m, name, sizeof name);
    err = ant_fsx_read_capped(dirfd, name, ANT_META_TARGETS_MAX, &data, &len);
    if (err == ANT_OK)
        err = ant_meta_envelope_parse(ANT_META_ROLE_TARGETS, data, len, &tenv);
    if (err != ANT_OK) {
        say(why, whycap, "cannot read %s: %s", name, ant_strerror(err));
        goto out;
    }
    if (ant_meta_envelope_verify(tenv, root, ANT_META_ROLE_TARGETS, &valid) != ANT_OK) {
        say(why, whycap, "%s has %u valid signature(s), the threshold is %u: sign it first",
            name, valid, ant_meta_root_threshold(root, ANT_META_ROLE_TARGETS));
        err = ANT_ERR_BAD_SIGNATURE;
        goto out;
    }
    ref.version = m;
    ref.length = len;
    if ((err = ant_sha256(ref.sha256, data, len)) != ANT_OK)
        goto out;
    if (faccessat(dirfd, "timestamp.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        if ((err = ant_meta_repo_load(dirfd, ANT_META_ROLE_TIMESTAMP, 0, &penv, why, whycap)) != ANT_OK)
            goto out;
        const uint8_t *p = ant_meta_envelope_payload(penv, &plen);
        if ((err = ant_meta_timestamp_parse(p, plen, &prev)) != ANT_OK) {
            say(why, whycap, "the current timestamp.json does not parse: %s", ant_strerror(err));
            goto out;
        }
        tv = prev->version;
    }
    err = ant_meta_timestamp_build(prev, tv + 1, expires, &ref, rollout, &payload, &plen);
    if (err != ANT_OK) {
        say(why, whycap, "timestamp refused: %s", ant_strerror(err));
        goto out;
    }
    err = write_new(dirfd, ANT_META_ROLE_TIMESTAMP, tv + 1, payload, plen, why, whycap);
    if (err == ANT_OK && version != NULL)
        *version = tv + 1;
out:
    ant_meta_timestamp_free(prev);
    ant_meta_envelope_free(penv);
    ant_meta_envelope_free(tenv);
    ant_meta_root_free(root);
    ant_meta_envelope_free(renv);
    free(data);
    return err;
}

ant_err ant_meta_repo_sign(int dirfd, enum ant_meta_role role,
                           const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES], size_t *signatures,
                           char *why, size_t whycap)
{
    struct ant_meta_envelope *renv = NULL, *penv = NULL, *env = NULL;
    struct ant_meta_root *root = NULL, *prev = NULL;
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    uint64_t n = 0, v = 0;
    char name[64];
    ant_err err;

    if (sk == NULL || role < ANT_META_ROLE_ROOT || role > ANT_META_ROLE_TIMESTAMP)
        return ANT_ERR_INVALID_ARG;
    err = ant_mldsa65_pk_from_sk(pk, sk, ANT_MLDSA65_SECRETKEYBYTES);
    if (err != ANT_OK) {
        say(why, whycap, "not a valid ML-DSA-65 secret key");
        return err;
    }
    if ((err = ant_meta_repo_newest(dirfd, ANT_META_ROLE_ROOT, &n)) != ANT_OK)
        return err;
    if (n == 0) {
        say(why, whycap, "no root file");
        return ANT_ERR_NOT_FOUND;
    }
    if ((err = load_root(dirfd, n, &renv, &root, why, whycap)) != ANT_OK)
        goto out;
    bool allowed = ant_meta_root_has_key(root, role, pk);
    /* a new root is signed by the old root keys as well as its own */
    if (role == ANT_META_ROLE_ROOT && n > 1) {
        if ((err = load_root(dirfd, n - 1, &penv, &prev, why, whycap)) != ANT_OK)
            goto out;
        allowed = allowed || ant_meta_root_has_key(prev, ANT_META_ROLE_ROOT, pk);
    }
    if (!allowed) {
        char kid[ANT_META_KEYID_HEX];
        if (ant_meta_keyid(kid, pk) != ANT_OK)
            kid[0] = '\0';
        say(why, whycap, "key %s is not a %s key of root version %llu%s", kid,
            ant_meta_role_name(role), (unsigned long long)n,
            role == ANT_META_ROLE_ROOT && n > 1 ? " or the one before" : "");
        err = ANT_ERR_BAD_KEY;
        goto out;
    }
    if (role == ANT_META_ROLE_ROOT) {
        env = renv;
        renv = NULL;
        v = n;
    } else {
        if (role == ANT_META_ROLE_TARGETS &&
            (err = ant_meta_repo_newest(dirfd, role, &v)) != ANT_OK)
            goto out;
        if ((err = ant_meta_repo_load(dirfd, role, v, &env, why, whycap)) != ANT_OK)
            goto out;
    }
    ant_meta_repo_file_name(role, v, name, sizeof name);
    err = ant_meta_envelope_sign(env, sk);
    if (err == ANT_ERR_EXISTS) {
        say(why, whycap, "%s already carries this key's signature", name);
        goto out;
    }
    if (err != ANT_OK) {
        say(why, whycap, "%s: %s", name, ant_strerror(err));
        goto out;
    }
    err = write_env(dirfd, name, env, why, whycap);
    if (err == ANT_OK && signatures != NULL)
        *signatures = ant_meta_envelope_signature_count(env);
out:
    ant_meta_envelope_free(env);
    ant_meta_root_free(prev);
    ant_meta_envelope_free(penv);
    ant_meta_root_free(root);
    ant_meta_envelope_free(renv);
    return err;
}

ant_err ant_meta_repo_rotate(int dirfd, const struct ant_meta_role_keys *root_keys,
                             const struct ant_meta_role_keys *targets_keys,
                             const struct ant_meta_role_keys *timestamp_keys, int64_t expires,
                             uint64_t *version, char *why, size_t whycap)
{
    struct ant_meta_envelope *renv = NULL;
    struct ant_meta_root *root = NULL;
    uint8_t *payload = NULL;
    size_t len = 0;
    uint64_t n = 0;
    ant_err err;

    if ((err = ant_meta_repo_newest(dirfd, ANT_META_ROLE_ROOT, &n)) != ANT_OK)
        return err;
    if (n == 0) {
        say(why, whycap, "no root file");
        return ANT_ERR_NOT_FOUND;
    }
    if ((err = load_root(dirfd, n, &renv, &root, why, whycap)) != ANT_OK)
        goto out;
    err = ant_meta_root_rebuild(root, n + 1, expires, root_keys, targets_keys, timestamp_keys,
                                &payload, &len);
    if (err != ANT_OK) {
        say(why, whycap, "keys or thresholds refused: %s", ant_strerror(err));
        goto out;
    }
    err = refuse_online_targets_key(payload, len, why, whycap);
    if (err != ANT_OK) {
        free(payload);
        goto out;
    }
    err = write_new(dirfd, ANT_META_ROLE_ROOT, n + 1, payload, len, why, whycap);
    if (err == ANT_OK && version != NULL)
        *version = n + 1;
out:
    ant_meta_root_free(root);
    ant_meta_envelope_free(renv);
    return err;
}
