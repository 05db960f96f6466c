/*
 * Logging: one line per event, `time level module message key=value...`, to stderr
 * (ARCHITECTURE.md §6). Under systemd (JOURNAL_STREAM set) each line starts with the syslog
 * priority `<N>` so journald keeps the level. Each line is emitted with a single write(2),
 * so lines from threads and from sibling processes sharing a file never interleave.
 */
#ifndef ANT_LOG_H
#define ANT_LOG_H

#include <stdbool.h>

enum ant_log_level {
    ANT_LOG_ERROR = 0,
    ANT_LOG_WARN = 1,
    ANT_LOG_INFO = 2,
    ANT_LOG_DEBUG = 3,
};

/* Lines above `level` are dropped. The default is ANT_LOG_INFO. */
void ant_log_set_level(enum ant_log_level level);
enum ant_log_level ant_log_get_level(void);

/* Parses "error", "warn", "info" or "debug" (case-insensitive). Returns false otherwise. */
bool ant_log_parse_level(const char *text, enum ant_log_level *level);

/* Writes further lines to `fd` instead of stderr (the fd is not closed by the logger). */
void ant_log_set_fd(int fd);

/*
 * Logs one event. `module` is the short module name ("upgrade", "node", ...); `fmt` yields
 * the message, then space-separated key=value pairs. Lines longer than 4 KiB are cut.
 * Newlines in the formatted text are replaced so one event stays one line.
 */
void ant_log(enum ant_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
