/*
 * The host-wide list of versions that failed a trial (`<binary>.bad-versions`, ARCHITECTURE.md
 * §5 step 11), beside the binary every node of the host shares: a node that rolls back marks
 * the version here so its siblings do not install it, and every install and selection asks
 * it together with the node's own marks (engine_bad_blocks). The list is read-modify-written
 * under its own lock with an atomic replace, stays within a cap that earlier releases can
 * read, and keeps the bare version lines those releases understand.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "upgrade/engine.h"

#define HOST_BAD_SUFFIX ".bad-versions"
/* Read cap: HOST_BAD_MAX marks as host_update writes them (two lines each) always fit. The
 * writer keeps the file within the 4 KiB that earlier releases read. */
#define HOST_BAD_CAP 32768
#define HOST_BAD_WRITE_CAP 4096
#define HOST_LINE_MAX (2 * ANT_SEMVER_TEXT_MAX + 56 + BAD_REASON_MAX)
_Static_assert(HOST_BAD_MAX * HOST_LINE_MAX <= HOST_BAD_CAP, "host bad list fits its cap");

static bool host_bad_name(const struct ant_upgrade *u, char *name, size_t cap)
{
    int n = snprintf(name, cap, "%s%s", u->binary_name, HOST_BAD_SUFFIX);
    return n > 0 && (size_t)n < cap && ant_fsx_name_ok(name);
}

/*
 * Parses `<binary>.bad-versions`. Each mark is two lines: the bare `<version>` that earlier
 * releases read (they skip every line that is not a version, and a node rolled back to one
 * of them must still see the mark), then `#mark <version> <marked_at> <marks> <reason>`
 * with what they ignore. A bare line alone is a mark of an earlier release: one mark, time
 * unknown. Lines that do not parse are skipped (anyone who can write the binary's dir can
 * write the list; it only ever delays versions). A detail line replaces what was known of
 * its version; only the newest `cap` versions are kept, never the first ones.
 */
#define MARK_PREFIX "#mark "

static size_t host_parse(char *text, struct bad_mark *out, size_t cap)
{
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL && cap > 0;
         line = strtok_r(NULL, "\n", &save)) {
        struct bad_mark m;
        struct ant_semver v;
        bool detail = strncmp(line, MARK_PREFIX, sizeof MARK_PREFIX - 1) == 0;
        char *fsave = NULL, *end = NULL;
        char *ver = strtok_r(detail ? line + sizeof MARK_PREFIX - 1 : line, " ", &fsave);
        memset(&m, 0, sizeof m);
        m.marks = 1;
        if (ver == NULL || ant_semver_parse(ver, &v) != ANT_OK ||
            !ant_semver_format(&v, m.version, sizeof m.version))
            continue;
        state_copy(m.reason, sizeof m.reason, "unknown");
        size_t i = 0;
        while (i < n && strcmp(out[i].version, m.version) != 0)
            i++;
        if (!detail) {
            if (strtok_r(NULL, " ", &fsave) != NULL)
                continue;
            if (i < n)
                continue; /* its details are known already */
        } else {
            char *at = strtok_r(NULL, " ", &fsave);
            char *marks = strtok_r(NULL, " ", &fsave);
            char *reason = strtok_r(NULL, " ", &fsave);
            if (at == NULL)
                continue;
            errno = 0;
            long long t = strtoll(at, &end, 10);
            bool ok = errno == 0 && *end == '\0' && t >= 0 && marks != NULL;
            unsigned long k = ok ? strtoul(marks, &end, 10) : 0;
            if (!ok || errno != 0 || *end != '\0' || k < 1 || k > 1000 || reason == NULL ||
                strtok_r(NULL, " ", &fsave) != NULL)
                continue;
            /* The reason is informational; bad_mark_record keeps only a clean token. */
            struct bad_mark tmp;
            memset(&tmp, 0, sizeof tmp);
            bad_mark_record(&tmp, m.version, reason, 0, 0, 1);
            memcpy(m.reason, tmp.reason, sizeof m.reason);
            m.marked_at = (int64_t)t;
            m.marks = (unsigned)k;
        }
        if (i < n) {
            memmove(&out[i], &out[i + 1], sizeof out[0] * (n - i - 1));
            n--;
        } else if (n == cap) {
            memmove(&out[0], &out[1], sizeof out[0] * (cap - 1));
            n--;
        }
        out[n++] = m;
    }
    return n;
}

ant_err engine_host_bad_list(const struct ant_upgrade *u, struct bad_mark *out, size_t cap,
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
    if (cap > 0 && ant_fsx_read_capped(dirfd, name, HOST_BAD_CAP, &data, &len) == ANT_OK)
        *n = host_parse((char *)data, out, cap);
    free(data);
    close(dirfd);
    return ANT_OK;
}

static const struct bad_mark *find_mark(const struct bad_mark *list, size_t n,
                                        const char *version)
{
    struct ant_semver want, have;
    if (ant_semver_parse(version, &want) != ANT_OK)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (ant_semver_parse(list[i].version, &have) == ANT_OK &&
            ant_semver_compare(&want, &have) == 0)
            return &list[i];
    }
    return NULL;
}

bool engine_host_bad(const struct ant_upgrade *u, const char *version)
{
    struct bad_mark list[HOST_BAD_MAX];
    size_t n = 0;
    if (engine_host_bad_list(u, list, HOST_BAD_MAX, &n) != ANT_OK)
        return false;
    const struct bad_mark *m = find_mark(list, n, version);
    return m != NULL && bad_mark_blocks(m, engine_now(), u->cfg.bad_version_backoff_ms,
                                        u->cfg.bad_version_max_marks);
}

bool engine_bad_blocks(const struct ant_upgrade *u, const struct upgrade_state *st,
                       const char *version)
{
    const struct bad_mark *m = state_find_bad(st, version);
    if (m != NULL && bad_mark_blocks(m, engine_now(), u->cfg.bad_version_backoff_ms,
                                     u->cfg.bad_version_max_marks))
        return true;
    return engine_host_bad(u, version);
}

/*
 * Read-modify-write with an atomic replace, under `<binary>.bad-versions.lock`. Without the
 * lock, two nodes rolling back at once each read the list, add their mark and rename their
 * copy into place, and the second rename drops the first mark (or counts one failure
 * twice). The lock (rather than one O_APPEND write per mark) keeps the two properties
 * readers rely on: the file never grows past HOST_BAD_CAP, and a reader only ever sees a
 * complete file, old or new (rename), never a half-written line. A NULL `reason`
 * means: remove its mark.
 */
static ant_err host_update(const struct ant_upgrade *u, const char *version, const char *reason,
                           struct bad_mark *out, bool *found)
{
    char name[NAME_MAX + 1], lockname[NAME_MAX + 1];
    uint8_t *data = NULL;
    size_t len = 0, n = 0;
    char *text = NULL;
    int dirfd = -1, lockfd = -1;
    struct bad_mark *list = NULL;
    struct ant_semver v;
    ant_err err;

    if (found != NULL)
        *found = false;
    if (!host_bad_name(u, name, sizeof name) || ant_semver_parse(version, &v) != ANT_OK)
        return ANT_ERR_INVALID_ARG;
    int ln = snprintf(lockname, sizeof lockname, "%s.lock", name);
    if (ln < 0 || (size_t)ln >= sizeof lockname || !ant_fsx_name_ok(lockname))
        return ANT_ERR_INVALID_ARG;
    list = calloc(HOST_BAD_MAX + 1, sizeof *list);
    size_t linemax = HOST_LINE_MAX; /* two versions, two numbers, a reason, separators */
    text = malloc((HOST_BAD_MAX + 1) * linemax);
    if (list == NULL || text == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    err = engine_open_binary_dir(u, &dirfd);
    if (err != ANT_OK)
        goto out;
    err = ant_fsx_lock(dirfd, lockname, u->cfg.lock_timeout_ms, &lockfd);
    if (err != ANT_OK)
        goto out;
    err = ant_fsx_read_capped(dirfd, name, HOST_BAD_CAP, &data, &len);
    if (err == ANT_ERR_NOT_FOUND)
        err = ANT_OK;
    else if (err == ANT_OK)
        n = host_parse((char *)data, list, HOST_BAD_MAX);
    if (err != ANT_OK)
        goto out;
    struct bad_mark *m = (struct bad_mark *)find_mark(list, n, version);
    if (found != NULL)
        *found = m != NULL;
    if (reason == NULL) {
        if (m == NULL)
            goto out;
        size_t i = (size_t)(m - list);
        memmove(&list[i], &list[i + 1], sizeof list[0] * (n - i - 1));
        n--;
    } else {
        struct bad_mark cur;
        if (m != NULL) {
            cur = *m;
            size_t i = (size_t)(m - list);
            memmove(&list[i], &list[i + 1], sizeof list[0] * (n - i - 1));
            n--;
        } else {
            memset(&cur, 0, sizeof cur);
            if (!ant_semver_format(&v, cur.version, sizeof cur.version)) {
                err = ANT_ERR_INVALID_ARG;
                goto out;
            }
        }
        bad_mark_record(&cur, cur.version, reason, engine_now(), u->cfg.bad_version_backoff_ms,
                        u->cfg.bad_version_max_marks);
        if (out != NULL)
            *out = cur;
        /* The newest mark goes last; the oldest goes when the list is full. */
        if (n == HOST_BAD_MAX) {
            memmove(&list[0], &list[1], sizeof list[0] * (HOST_BAD_MAX - 1));
            n--;
        }
        list[n++] = cur;
    }
    /* Newest last; the oldest marks go first while the file would exceed what earlier
     * releases read (HOST_BAD_WRITE_CAP), so they never lose the list as a whole. */
    size_t off = 0, first = 0;
    for (;;) {
        off = 0;
        for (size_t i = first; i < n; i++) {
            int w = snprintf(text + off, linemax, "%s\n" MARK_PREFIX "%s %lld %u %s\n",
                             list[i].version, list[i].version, (long long)list[i].marked_at,
                             list[i].marks, list[i].reason);
            if (w < 0 || (size_t)w >= linemax) {
                err = ANT_ERR_INTERNAL;
                goto out;
            }
            off += (size_t)w;
        }
        if (off <= HOST_BAD_WRITE_CAP || first + 1 >= n)
            break;
        first++;
    }
    err = ant_fsx_write_atomic(dirfd, name, text, off, 0644);
out:
    ant_fsx_unlock(lockfd);
    free(text);
    free(list);
    free(data);
    if (dirfd >= 0)
        close(dirfd);
    return err;
}

ant_err engine_host_mark_bad(const struct ant_upgrade *u, const char *version, const char *reason,
                             struct bad_mark *out)
{
    return host_update(u, version, reason != NULL ? reason : "unknown", out, NULL);
}

ant_err engine_host_clear_bad(const struct ant_upgrade *u, const char *version, bool *found)
{
    return host_update(u, version, NULL, NULL, found);
}
