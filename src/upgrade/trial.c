/*
 * Trial boot and rollback (ARCHITECTURE.md §5 step 11), and the anti-rollback floor (§3).
 *
 * A version above the highest confirmed one runs on trial. Its first start raises the floor
 * (the highest version ever installed: nothing below it is installed again, ARCHITECTURE.md §3,
 * even after a rollback, because the bad version stays marked). Every start counts one attempt in the state file before the node serves anything,
 * so a binary that dies during start-up, crashes later, or is killed by its supervisor is
 * counted without any help from the process that failed. After trial_max_attempts starts
 * without a confirmation, the next start restores `<binary>.backup` (the copy the replacer
 * made, ARCHITECTURE.md §5 step 9), marks the version bad for this node and for every node that
 * shares the binary (`<binary>.bad-versions`), and restarts into the old version. A trial
 * is confirmed after trial_period of health; only then does the baseline move, so a
 * version that never came up still counts as on trial however often it is started.
 * This is what ant-node lacked in its issue #171: a release that would not start left a
 * node offline for 14 hours.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "upgrade/engine.h"
#include "upgrade/upgrade_metrics.h"

#define HOST_BAD_SUFFIX ".bad-versions"
#define HOST_BAD_CAP 4096
#define BACKUP_SUFFIX ".backup"
#define BINARY_CAP ((uint64_t)512 << 20)

static int cmp_text(const char *a, const char *b)
{
    struct ant_semver va, vb;
    if (ant_semver_parse(a, &va) != ANT_OK || ant_semver_parse(b, &vb) != ANT_OK)
        return 0;
    return ant_semver_compare(&va, &vb);
}

ant_err engine_open_binary_dir(const struct ant_upgrade *u, int *dirfd)
{
    *dirfd = open(u->binary_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*dirfd < 0) {
        ant_log(ANT_LOG_ERROR, "upgrade", "Cannot open binary directory path=%s errno=%d",
                u->binary_dir, errno);
        return errno == ENOENT ? ANT_ERR_NOT_FOUND : ANT_ERR_IO;
    }
    return ANT_OK;
}

ant_err engine_copy_file(int dirfd, const char *src, const char *dst, mode_t mode)
{
    struct ant_fsx_tmp *tmp = NULL;
    int in = -1;
    uint64_t size = 0, copied = 0;
    ant_err err = ant_fsx_open_capped(dirfd, src, BINARY_CAP, &in, &size);
    if (err != ANT_OK)
        goto out;
    err = ant_fsx_tmp_open(dirfd, dst, mode, &tmp);
    if (err != ANT_OK)
        goto out;
    err = ant_fsx_copy_fd(in, ant_fsx_tmp_fd(tmp), size, &copied);
    if (err == ANT_OK && copied != size)
        err = ANT_ERR_TRUNCATED;
    if (err != ANT_OK) {
        ant_fsx_tmp_abort(tmp);
        goto out;
    }
    err = ant_fsx_tmp_commit(tmp, dst);
out:
    if (in >= 0)
        close(in);
    return err;
}

static bool host_bad_name(const struct ant_upgrade *u, char *name, size_t cap)
{
    int n = snprintf(name, cap, "%s%s", u->binary_name, HOST_BAD_SUFFIX);
    return n > 0 && (size_t)n < cap && ant_fsx_name_ok(name);
}

ant_err engine_host_bad_list(const struct ant_upgrade *u, struct ant_semver *out, size_t cap,
                             size_t *n)
{
    char name[NAME_MAX + 1];
    uint8_t *data = NULL;
    size_t len = 0;
    int dirfd = -1;

    *n = 0;
    if (!host_bad_name(u, name, sizeof name))
        return ANT_ERR_INVALID_ARG;
    ant_err err = engine_open_binary_dir(u, &dirfd);
    if (err != ANT_OK)
        return err;
    /* Missing, unreadable or unsafe list: nothing is known bad (it only ever blocks). */
    if (cap > 0 && ant_fsx_read_capped(dirfd, name, HOST_BAD_CAP, &data, &len) == ANT_OK) {
        /* engine_host_mark_bad appends, so the newest marks are at the end: keep the last
         * `cap` entries (a ring; callers only test membership), never the first ones. */
        size_t total = 0;
        char *save = NULL;
        for (char *line = strtok_r((char *)data, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
            if (ant_semver_parse(line, &out[total % cap]) == ANT_OK)
                total++;
        }
        *n = total < cap ? total : cap;
    }
    free(data);
    close(dirfd);
    return ANT_OK;
}

bool engine_host_bad(const struct ant_upgrade *u, const char *version)
{
    struct ant_semver list[HOST_BAD_MAX], want;
    size_t n = 0;
    if (ant_semver_parse(version, &want) != ANT_OK ||
        engine_host_bad_list(u, list, HOST_BAD_MAX, &n) != ANT_OK)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (ant_semver_compare(&want, &list[i]) == 0)
            return true;
    }
    return false;
}

/*
 * Read-modify-write with an atomic replace, under `<binary>.bad-versions.lock`. Without the
 * lock, two nodes rolling back at once each read the list, add their mark and rename their
 * copy into place, and the second rename drops the first mark. The lock (rather than one
 * O_APPEND write per mark) keeps the two properties readers rely on: the file never grows
 * past HOST_BAD_CAP (trimming is itself a rewrite, which appenders would race with), and a
 * reader only ever sees a complete file, old or new (rename), never a half-written line.
 */
ant_err engine_host_mark_bad(const struct ant_upgrade *u, const char *version)
{
    char name[NAME_MAX + 1], lockname[NAME_MAX + 1];
    uint8_t *data = NULL;
    size_t len = 0;
    char *out = NULL;
    int dirfd = -1, lockfd = -1;
    ant_err err;

    if (!host_bad_name(u, name, sizeof name))
        return ANT_ERR_INVALID_ARG;
    int ln = snprintf(lockname, sizeof lockname, "%s.lock", name);
    if (ln < 0 || (size_t)ln >= sizeof lockname || !ant_fsx_name_ok(lockname))
        return ANT_ERR_INVALID_ARG;
    if (engine_host_bad(u, version))
        return ANT_OK;
    err = engine_open_binary_dir(u, &dirfd);
    if (err != ANT_OK)
        return err;
    err = ant_fsx_lock(dirfd, lockname, u->cfg.lock_timeout_ms, &lockfd);
    if (err != ANT_OK)
        goto out;
    /* Again under the lock: another node may have marked it since the unlocked look. */
    if (engine_host_bad(u, version))
        goto out;
    err = ant_fsx_read_capped(dirfd, name, HOST_BAD_CAP, &data, &len);
    if (err == ANT_ERR_NOT_FOUND) {
        len = 0;
        err = ANT_OK;
    }
    if (err != ANT_OK)
        goto out;
    /* Keep the newest entries when the list would outgrow its cap. */
    size_t vlen = strlen(version);
    size_t start = 0;
    while (len - start + vlen + 1 > HOST_BAD_CAP && start < len) {
        const char *nl = memchr(data + start, '\n', len - start);
        start = nl != NULL ? (size_t)(nl - (const char *)data) + 1 : len;
    }
    out = malloc(len - start + vlen + 2);
    if (out == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    if (len > start)
        memcpy(out, data + start, len - start);
    memcpy(out + (len - start), version, vlen);
    out[len - start + vlen] = '\n';
    err = ant_fsx_write_atomic(dirfd, name, out, len - start + vlen + 1, 0644);
out:
    ant_fsx_unlock(lockfd);
    free(out);
    free(data);
    close(dirfd);
    return err;
}

/*
 * Puts `<binary>.backup` back in place unless the on-disk binary already is a version below
 * `failed` (another node sharing it rolled back first). Runs under replace.lock so two
 * nodes never write the binary at once. The backup must lie in [from, failed): `from` is
 * the confirmed version the trial started from ("" when unknown), and a rollback returns to
 * it, never below (a stale .backup from an older upgrade would be a downgrade past the last
 * known-good version, which the floor then keeps the node from ever leaving).
 */
static ant_err restore_backup(struct ant_upgrade *u, const char *failed, const char *from,
                              char *restored, size_t cap, char *backup_path, size_t bcap)
{
    char backup[NAME_MAX + 1];
    char ondisk[ANT_SEMVER_TEXT_MAX];
    int dirfd = -1, lockfd = -1;
    ant_err err;

    restored[0] = '\0';
    int n = snprintf(backup, sizeof backup, "%s%s", u->binary_name, BACKUP_SUFFIX);
    if (n < 0 || (size_t)n >= sizeof backup)
        return ANT_ERR_INVALID_ARG;
    n = snprintf(backup_path, bcap, "%s/%s", u->binary_dir, backup);
    if (n < 0 || (size_t)n >= bcap)
        return ANT_ERR_INVALID_ARG;
    err = engine_replace_lock(u, &lockfd);
    if (err != ANT_OK)
        return err;
    err = engine_open_binary_dir(u, &dirfd);
    if (err != ANT_OK)
        goto out;

    if (engine_binary_version(u->binary_path, ondisk, sizeof ondisk) == ANT_OK &&
        cmp_text(ondisk, failed) < 0) {
        ant_log(ANT_LOG_INFO, "upgrade",
                "Binary already rolled back by another service version=%s", ondisk);
        state_copy(restored, cap, ondisk);
        err = ANT_OK;
        goto out;
    }
    /* The backup must itself be a working older binary, or restoring it helps nobody. */
    char bversion[ANT_SEMVER_TEXT_MAX];
    err = engine_binary_version(backup_path, bversion, sizeof bversion);
    if (err != ANT_OK)
        goto out;
    if (cmp_text(bversion, failed) >= 0) {
        err = ANT_ERR_BAD_BINARY;
        goto out;
    }
    if (from[0] != '\0' && cmp_text(bversion, from) < 0) {
        ant_log(ANT_LOG_ERROR, "upgrade",
                "Backup is older than the confirmed version, not restoring it backup=%s "
                "confirmed=%s", bversion, from);
        err = ANT_ERR_DOWNGRADE;
        goto out;
    }
    err = engine_copy_file(dirfd, backup, u->binary_name, 0755);
    if (err != ANT_OK)
        goto out;
    state_copy(restored, cap, bversion);
out:
    if (dirfd >= 0)
        close(dirfd);
    ant_fsx_unlock(lockfd);
    return err;
}

ant_err ant_upgrade_boot(struct ant_upgrade *u, bool *restart)
{
    struct upgrade_state st;
    int lockfd = -1;
    bool save = false;
    ant_err err;

    *restart = false;
    u->trial_open = false;
    err = state_lock(u->rootfd, u->cfg.lock_timeout_ms, &lockfd);
    if (err != ANT_OK)
        return err;
    err = state_load(u->rootfd, &st);
    if (err != ANT_OK)
        goto out;

    if (st.confirmed[0] == '\0') {
        /* First start of this node: what runs now is what was installed. */
        state_copy(st.confirmed, sizeof st.confirmed, u->running);
        if (st.floor[0] == '\0' || cmp_text(u->running, st.floor) > 0)
            state_copy(st.floor, sizeof st.floor, u->running);
        memset(&st.trial, 0, sizeof st.trial);
        save = true;
        goto done;
    }

    int c = cmp_text(u->running, st.confirmed);
    if (c > 0) {
        if (cmp_text(st.trial.version, u->running) != 0 || st.trial.version[0] == '\0') {
            memset(&st.trial, 0, sizeof st.trial);
            state_copy(st.trial.version, sizeof st.trial.version, u->running);
            state_copy(st.trial.from, sizeof st.trial.from, st.confirmed);
        }
        /* It is installed and running now: nothing below it may be installed again. */
        if (cmp_text(u->running, st.floor) > 0)
            state_copy(st.floor, sizeof st.floor, u->running);
        bool marked = state_is_bad(&st, u->running) || engine_host_bad(u, u->running);
        if (st.trial.attempts >= u->cfg.trial_max_attempts || marked) {
            char restored[ANT_SEMVER_TEXT_MAX], backup_path[PATH_MAX + 16];
            unsigned attempts = st.trial.attempts;
            err = restore_backup(u, u->running, st.trial.from, restored, sizeof restored,
                                 backup_path, sizeof backup_path);
            state_add_bad(&st, u->running);
            ant_err herr = engine_host_mark_bad(u, u->running);
            if (herr != ANT_OK)
                ant_log(ANT_LOG_WARN, "upgrade", "Cannot record bad version beside binary error=%s",
                        ant_strerror(herr));
            if (err != ANT_OK) {
                /* Nothing to go back to: keep trying this version rather than stop. */
                state_set_error(&st, u->running, "rollback", err, engine_now());
                upgrade_metrics_failure("rollback");     /* metrics */
                upgrade_metrics_trial_failed(u->running); /* metrics */
                ant_log(ANT_LOG_ERROR, "upgrade", "Upgrade failed version=%s stage=rollback error=%s",
                        u->running, ant_strerror(err));
                save = true;
                goto done;
            }
            ant_log(ANT_LOG_WARN, "upgrade",
                    "Rolling back failed upgrade version=%s attempts=%u backup=%s", u->running,
                    attempts, backup_path);
            upgrade_metrics_rollback(); /* metrics */
            memset(&st.trial, 0, sizeof st.trial);
            if (cmp_text(st.pending.version, u->running) == 0)
                memset(&st.pending, 0, sizeof st.pending);
            state_copy(u->restart_version, sizeof u->restart_version, restored);
            engine_notify(u, "restarting-%s", restored);
            u->restart_scheduled_at = 0;
            atomic_store(&u->restart_pending, true);
            *restart = true;
            save = true;
            goto done;
        }
        st.trial.attempts++;
        st.trial.started_at = engine_now();
        u->trial_open = true;
        save = true;
        ant_log(ANT_LOG_INFO, "upgrade", "Trial boot started version=%s attempt=%u", u->running,
                st.trial.attempts);
        engine_notify(u, "trial-%s", u->running);
        goto done;
    }

    /* Running the confirmed version (or, after a manual downgrade, below it): a trial of a
     * higher version that is still open ended without us in it, so it failed. */
    if (st.trial.version[0] != '\0' && cmp_text(st.trial.version, u->running) > 0) {
        ant_log(ANT_LOG_WARN, "upgrade",
                "Trial of newer version ended on an older binary, marking it bad version=%s running=%s",
                st.trial.version, u->running);
        state_add_bad(&st, st.trial.version);
    }
    if (st.trial.version[0] != '\0') {
        memset(&st.trial, 0, sizeof st.trial);
        save = true;
    }
    if (cmp_text(u->running, st.floor) < 0 && !state_is_bad(&st, st.floor))
        ant_log(ANT_LOG_WARN, "upgrade", "Running below the upgrade floor version=%s floor=%s",
                u->running, st.floor);
done:
    if (save) {
        ant_err serr = state_save(u->rootfd, &st);
        if (err == ANT_OK)
            err = serr;
    }
out:
    ant_fsx_unlock(lockfd);
    return err;
}

ant_err ant_upgrade_confirm(struct ant_upgrade *u)
{
    struct upgrade_state st;
    int lockfd = -1;
    ant_err err;

    if (!u->trial_open)
        return ANT_OK;
    err = state_lock(u->rootfd, u->cfg.lock_timeout_ms, &lockfd);
    if (err != ANT_OK)
        return err;
    err = state_load(u->rootfd, &st);
    if (err != ANT_OK)
        goto out;
    if (cmp_text(st.trial.version, u->running) == 0 && st.trial.version[0] != '\0') {
        if (cmp_text(u->running, st.floor) > 0)
            state_copy(st.floor, sizeof st.floor, u->running);
        state_copy(st.confirmed, sizeof st.confirmed, u->running);
        memset(&st.trial, 0, sizeof st.trial);
        if (st.pending.version[0] != '\0' && cmp_text(st.pending.version, u->running) <= 0)
            memset(&st.pending, 0, sizeof st.pending);
        err = state_save(u->rootfd, &st);
        if (err != ANT_OK)
            goto out;
        ant_log(ANT_LOG_INFO, "upgrade", "Trial boot confirmed version=%s", u->running);
        engine_notify(u, "idle");
    }
    u->trial_open = false;
out:
    ant_fsx_unlock(lockfd);
    return err;
}

ant_err ant_upgrade_open_trial(struct ant_upgrade *u, char *version, size_t cap)
{
    struct upgrade_state st;
    if (u == NULL || version == NULL || cap == 0)
        return ANT_ERR_INVALID_ARG;
    version[0] = '\0';
    ant_err err = state_load(u->rootfd, &st);
    if (err != ANT_OK)
        return err;
    return state_copy(version, cap, st.trial.version) ? ANT_OK : ANT_ERR_INVALID_ARG;
}
