/*
 * The logger: formats into a stack buffer and emits the whole line with one write(2).
 * Keeping it to one system call per line is what makes lines atomic when several node
 * processes append to the same file (O_APPEND) or pipe, which the devnet report relies on.
 */
#include "ant/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level = ANT_LOG_INFO;
static atomic_int log_fd = STDERR_FILENO;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
/* syslog priorities for journald: err, warning, info, debug */
static const char *const journal_prefix[] = {"<3>", "<4>", "<6>", "<7>"};

void ant_log_set_level(enum ant_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum ant_log_level ant_log_get_level(void)
{
    return (enum ant_log_level)atomic_load(&log_level);
}

bool ant_log_parse_level(const char *text, enum ant_log_level *level)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (text == NULL || level == NULL)
        return false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(text, names[i]) == 0) {
            *level = (enum ant_log_level)i;
            return true;
        }
    }
    if (strcasecmp(text, "warning") == 0) {
        *level = ANT_LOG_WARN;
        return true;
    }
    return false;
}

void ant_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

/* Appends at most what fits; returns the new length (never past cap - 1). */
static size_t append(char *buf, size_t len, size_t cap, const char *text)
{
    size_t n = strlen(text);
    if (len >= cap - 1)
        return len;
    if (n > cap - 1 - len)
        n = cap - 1 - len;
    memcpy(buf + len, text, n);
    return len + n;
}

void ant_log(enum ant_log_level level, const char *module, const char *fmt, ...)
{
    char line[4096];
    size_t len = 0;
    int saved_errno = errno; /* logging must not disturb the caller's errno */

    if ((int)level < 0 || (int)level > ANT_LOG_DEBUG || (int)level > atomic_load(&log_level))
        return;

    if (getenv("JOURNAL_STREAM") != NULL)
        len = append(line, len, sizeof line, journal_prefix[level]);

    struct timespec now;
    struct tm tm;
    char stamp[40];
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t slen = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + slen, sizeof stamp - slen, ".%03ldZ ", now.tv_nsec / 1000000L);
    len = append(line, len, sizeof line, stamp);
    len = append(line, len, sizeof line, level_names[level]);
    len = append(line, len, sizeof line, " ");
    len = append(line, len, sizeof line, module != NULL ? module : "-");
    len = append(line, len, sizeof line, " ");

    size_t body_start = len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + len, sizeof line - 1 - len, fmt, ap);
    va_end(ap);
    if (n > 0)
        len += ((size_t)n < sizeof line - 1 - len) ? (size_t)n : sizeof line - 2 - len;
    for (size_t i = body_start; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    line[len++] = '\n';

    int fd = atomic_load(&log_fd);
    const char *p = line;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        len -= (size_t)w;
    }
    errno = saved_errno;
}
