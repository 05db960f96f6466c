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
#include <sys/stat.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"
#include "ant/validate.h"
#include "upgrade/engine.h"
#include "upgrade/upgrade_metrics.h"


static int cmp_text(const char *a, const char *b)
{
    struct ant_semver va, vb;
    if (ant_semver_parse(a, &va) != ANT_OK || ant_semver_parse(b, &vb) != ANT_OK)
        return 0;
    return ant_semver_compare(&va, &vb);
}

/* Copies `size` bytes of the open file `in` (from offset 0) to `dst` in `dirfd`
 * atomically with `mode`. */
static ant_err copy_fd_to(int dirfd, int in, uint64_t size, const char *dst, mode_t mode)
{
    struct ant_fsx_tmp *tmp = NULL;
    uint64_t copied = 0;
    if (lseek(in, 0, SEEK_SET) != 0)
        return ANT_ERR_IO;
    ant_err err = ant_fsx_tmp_open(dirfd, dst, mode, &tmp);
    if (err != ANT_OK)
        return err;
    err = ant_fsx_copy_fd(in, ant_fsx_tmp_fd(tmp), size, &copied);
    if (err == ANT_OK && copied != size)
        err = ANT_ERR_TRUNCATED;
    if (err != ANT_OK) {
        ant_fsx_tmp_abort(tmp);
        return err;
    }
    return ant_fsx_tmp_commit(tmp, dst);
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
    int dirfd = -1, lockfd = -1, bfd = -1;
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
    /* What runs next comes from this directory: it must be ours (or root's) and closed to
     * everyone else, like the cache dir, or whoever can write it picks our next binary. */
    err = ant_fsx_open_trusted_dir(u->binary_dir, false, &dirfd);
    if (err != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "upgrade",
                "Binary directory unsafe, not restoring backup path=%s error=\"%s\"", u->binary_dir,
                ant_strerror(err));
        goto out;
    }

    if (engine_binary_version(u->binary_path, ondisk, sizeof ondisk) == ANT_OK &&
        cmp_text(ondisk, failed) < 0) {
        ant_log(ANT_LOG_INFO, "upgrade",
                "Binary already rolled back by another service version=%s", ondisk);
        state_copy(restored, cap, ondisk);
        err = ANT_OK;
        goto out;
    }
    /* The backup is opened once (no symlink, a regular file of ours or root's that nobody
     * else may write), and that one open file is asked for its version and copied. */
    uint64_t bsize = 0;
    struct stat bst;
    err = ant_fsx_open_capped(dirfd, backup, BINARY_CAP, &bfd, &bsize);
    if (err == ANT_OK && (fstat(bfd, &bst) != 0 || (bst.st_uid != geteuid() && bst.st_uid != 0) ||
                          (bst.st_mode & 022) != 0))
        err = ANT_ERR_UNSAFE_FILE;
    if (err != ANT_OK) {
        ant_log(ANT_LOG_ERROR, "upgrade",
                "Backup binary unsafe, not restoring it path=%s error=\"%s\"", backup_path,
                ant_strerror(err));
        goto out;
    }
    /* The backup must itself be a working older binary, or restoring it helps nobody. */
    char bversion[ANT_SEMVER_TEXT_MAX];
    const char *why = NULL;
    err = ant_validate_run_version_fd(bfd, ANT_VALIDATE_TIMEOUT_MS, bversion, sizeof bversion,
                                      &why);
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
    err = copy_fd_to(dirfd, bfd, bsize, u->binary_name, 0755);
    if (err != ANT_OK)
        goto out;
    state_copy(restored, cap, bversion);
out:
    if (bfd >= 0)
        close(bfd);
    if (dirfd >= 0)
        close(dirfd);
    ant_fsx_unlock(lockfd);
    return err;
}

/*
 * Marks `version` bad for `reason` in the node's state and beside the binary, and says so
 * at ERROR with when it may be retried: the one line an operator needs to see why a
 * release is being kept out, also shown by `ant-node upgrade status`.
 */
static void mark_bad(struct ant_upgrade *u, struct upgrade_state *st, const char *version,
                     const char *reason, unsigned attempts)
{
    struct bad_mark node, host;
    int64_t now = engine_now();
    memset(&host, 0, sizeof host);
    state_add_bad(st, version, reason, now, u->cfg.bad_version_backoff_ms,
                  u->cfg.bad_version_max_marks, &node);
    ant_err herr = engine_host_mark_bad(u, version, reason, &host);
    if (herr != ANT_OK)
        ant_log(ANT_LOG_WARN, "upgrade", "Cannot record bad version beside binary error=%s",
                ant_strerror(herr));
    /* The host's count is the one that decides for every node sharing the binary. */
    const struct bad_mark *m = host.marks > node.marks ? &host : &node;
    int64_t retry = bad_mark_retry_at(m, u->cfg.bad_version_backoff_ms,
                                      u->cfg.bad_version_max_marks);
    char retry_text[32];
    if (retry < 0)
        snprintf(retry_text, sizeof retry_text, "never");
    else
        snprintf(retry_text, sizeof retry_text, "%lld", (long long)retry);
    ant_log(ANT_LOG_ERROR, "upgrade",
            "Version marked bad version=%s reason=%s attempts=%u marks=%u max_marks=%u "
            "retry_at=%s",
            version, m->reason, attempts, m->marks, u->cfg.bad_version_max_marks, retry_text);
}

ant_err ant_upgrade_clear_bad(struct ant_upgrade *u, const char *version)
{
    struct upgrade_state st;
    struct ant_semver v;
    int lockfd = -1;
    bool host_found = false, node_found = false;
    if (u == NULL || version == NULL || ant_semver_parse(version, &v) != ANT_OK)
        return ANT_ERR_BAD_VERSION;
    ant_err err = state_lock(u->rootfd, u->cfg.lock_timeout_ms, &lockfd);
    if (err != ANT_OK)
        return err;
    err = state_load(u->rootfd, &st);
    if (err != ANT_OK)
        goto out;
    node_found = state_clear_bad(&st, version);
    if (node_found) {
        err = state_save(u->rootfd, &st);
        if (err != ANT_OK)
            goto out;
    }
    err = engine_host_clear_bad(u, version, &host_found);
    if (err != ANT_OK)
        goto out;
    if (!node_found && !host_found) {
        err = ANT_ERR_NOT_FOUND;
        goto out;
    }
    ant_log(ANT_LOG_WARN, "upgrade", "Bad version mark cleared version=%s node=%s host=%s",
            version, node_found ? "yes" : "no", host_found ? "yes" : "no");
out:
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
        bool marked = engine_bad_blocks(u, &st, u->running);
        if (st.trial.attempts >= u->cfg.trial_max_attempts || marked) {
            char restored[ANT_SEMVER_TEXT_MAX], backup_path[PATH_MAX + 16];
            unsigned attempts = st.trial.attempts;
            err = restore_backup(u, u->running, st.trial.from, restored, sizeof restored,
                                 backup_path, sizeof backup_path);
            mark_bad(u, &st, u->running, marked ? "marked-on-host" : "trial-failed", attempts);
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
        mark_bad(u, &st, st.trial.version, "rolled-back-on-host", st.trial.attempts);
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
