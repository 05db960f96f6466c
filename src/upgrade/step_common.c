/*
 * The helpers every step of the upgrade engine shares (apply.c, restart.c, trial.c,
 * monitor.c, metadata.c): reporting a state token and a failure, asking a binary its
 * version, the replace lock and the directory beside the binary, the atomic file copy, the
 * HTTP options from the engine's settings, and the test-only fault points. They live below
 * the step files so that each step depends downward only (ARCHITECTURE.md §5): before,
 * the steps reached into one another for these and the four files called each other in a
 * circle. Nothing here decides anything about a release.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/http.h"
#include "ant/log.h"
#include "ant/validate.h"
#include "upgrade/engine.h"
#include "upgrade/upgrade_metrics.h"

#define REPLACE_LOCK "replace.lock"

#ifdef ANT_TEST_FAULTS
void engine_fault(const char *point)
{
    const char *want = getenv("ANT_TEST_FAULT");
    if (want != NULL && strcmp(want, point) == 0) {
        ant_log(ANT_LOG_WARN, "upgrade", "Test fault point reached, killing self point=%s", point);
        kill(getpid(), SIGKILL);
    }
}
#endif

void engine_error_token(ant_err err, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", ant_strerror(err));
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\t' || *p == '=')
            *p = '_';
    }
}

void engine_notify(const struct ant_upgrade *u, const char *fmt, ...)
{
    char token[160];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(token, sizeof token, fmt, ap);
    va_end(ap);
    if (n > 0)
        upgrade_metrics_state(token); /* metrics */
    if (n > 0 && u->cfg.state_changed != NULL)
        u->cfg.state_changed(u->cfg.state_changed_arg, token);
}

void engine_fail(struct ant_upgrade *u, const char *version, const char *stage, ant_err err)
{
    char tok[STATE_ERROR_MAX];
    struct upgrade_state st;
    int lockfd = -1;

    engine_error_token(err, tok, sizeof tok);
    ant_log(ANT_LOG_ERROR, "upgrade", "Upgrade failed version=%s stage=%s error=%s",
            version != NULL && version[0] != '\0' ? version : "-", stage, tok);
    upgrade_metrics_failure(stage); /* metrics */
    engine_notify(u, "failed-%s", stage);
    /* Best effort: the error is already logged, the state copy is for `upgrade status`. */
    if (state_lock(u->rootfd, u->cfg.lock_timeout_ms, &lockfd) != ANT_OK)
        return;
    if (state_load(u->rootfd, &st) == ANT_OK) {
        state_set_error(&st, version, stage, err, engine_now());
        if (state_save(u->rootfd, &st) != ANT_OK)
            ant_log(ANT_LOG_WARN, "upgrade", "Cannot record last error in state file");
    }
    ant_fsx_unlock(lockfd);
}

ant_err engine_binary_version(const char *path, char *version, size_t cap)
{
    const char *reason = NULL;
    return ant_validate_run_version(path, NULL, ANT_VALIDATE_TIMEOUT_MS, version, cap, &reason);
}

ant_err engine_replace_lock(struct ant_upgrade *u, int *lockfd)
{
    /* The lock lives beside the binary it guards, not in the cache: every process that may
     * write this binary (nodes with another or no usable cache dir, an operator's `upgrade
     * apply` with a different $HOME) must exclude the others, or one of them could back up
     * the binary another has just replaced and leave no older .backup to roll back to. */
    char name[NAME_MAX + 1];
    int dirfd = -1;
    ant_err err = ANT_ERR_INVALID_ARG;
    int n = snprintf(name, sizeof name, "%s.%s", u->binary_name, REPLACE_LOCK);
    if (n >= 0 && (size_t)n < sizeof name) {
        err = engine_open_binary_dir(u, &dirfd);
        if (err != ANT_OK)
            return err;
        err = ant_fsx_lock(dirfd, name, u->cfg.lock_timeout_ms, lockfd);
        close(dirfd);
    }
    /* A binary dir we cannot create the lock in is one we cannot replace the binary in
     * either, and a binary name that is no safe lock name (ant_fsx_name_ok) has no lock
     * beside it; the cache's lock then still serialises the 'already upgraded' check. */
    if ((err == ANT_ERR_IO || err == ANT_ERR_INVALID_ARG) && u->cachefd >= 0)
        err = ant_fsx_lock(u->cachefd, REPLACE_LOCK, u->cfg.lock_timeout_ms, lockfd);
    return err;
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

void engine_http_opts(const struct ant_upgrade *u, struct ant_http_opts *http)
{
    ant_http_opts_init(http);
    http->ca_file = u->cfg.ca_file;
    if (u->cfg.connect_timeout_ms > 0)
        http->connect_timeout_ms = (unsigned)(u->cfg.connect_timeout_ms > UINT32_MAX
                                                  ? UINT32_MAX
                                                  : u->cfg.connect_timeout_ms);
    if (u->cfg.transfer_timeout_ms > 0)
        http->timeout_ms = (unsigned)(u->cfg.transfer_timeout_ms > UINT32_MAX
                                          ? UINT32_MAX
                                          : u->cfg.transfer_timeout_ms);
    if (u->cfg.stall_timeout_ms >= 1000)
        http->stall_seconds = (unsigned)(u->cfg.stall_timeout_ms / 1000 > UINT32_MAX
                                             ? UINT32_MAX
                                             : u->cfg.stall_timeout_ms / 1000);
}
