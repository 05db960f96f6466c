/*
 * The service-manager side channel (ARCHITECTURE.md §11): systemd's notification protocol
 * and its socket passing, written here so the static musl build needs no libsystemd.
 *
 * Notifications are single datagrams of newline-separated KEY=VALUE lines sent to the
 * AF_UNIX socket named by $NOTIFY_SOCKET: a path (`/run/systemd/notify`) or an abstract
 * name (`@name`). File descriptors ride along as SCM_RIGHTS (FDSTORE=1). Nothing is sent
 * when $NOTIFY_SOCKET is unset; that is "not under a service manager", not an error
 * callers need to act on (ANT_ERR_NOT_FOUND).
 *
 * Sockets come back through LISTEN_FDS: fds 3..3+N-1, named by LISTEN_FDNAMES, valid only
 * when LISTEN_PID is this process (the variables are inherited by children that must not
 * take them). The environment is the service manager's, but a malformed one (a huge count,
 * a pid that is not a number, names that do not match the count) is refused with a clear
 * error rather than acted on.
 */
#ifndef ANT_SYSD_H
#define ANT_SYSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_SYSD_LISTEN_FDS_START 3
/* LISTEN_FDS above this is refused as malformed: a node takes one listener back. */
#define ANT_SYSD_LISTEN_FDS_MAX 16
/* systemd's limit on FDNAME= (fdname_is_valid): printable ASCII, no ':'. */
#define ANT_SYSD_FDNAME_MAX 255

/* Room for "LISTEN_PID=" and any pid_t in decimal, with its terminator. */
#define ANT_SYSD_LISTEN_PID_VAR_MAX 40

/*
 * Writes "LISTEN_PID=<pid>" into var (ANT_SYSD_LISTEN_PID_VAR_MAX bytes). Made for the
 * child between fork and exec that hands a listener on (the engine's successor, the
 * devnet's service manager), which only then knows its pid: async-signal-safe, with no
 * locale, allocation or lock. Inline so the upgrade engine uses it without linking sysd.c.
 */
static inline void ant_sysd_listen_pid_var(char *var, long pid)
{
    static const char key[] = "LISTEN_PID=";
    char digits[24];
    size_t at = 0, n = 0;
    for (; key[at] != '\0'; at++)
        var[at] = key[at];
    do {
        digits[n++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0 && n < sizeof digits);
    while (n > 0)
        var[at++] = digits[--n];
    var[at] = '\0';
}
/* One datagram; systemd reads at most PIPE_BUF bytes of a notification. */
#define ANT_SYSD_MESSAGE_MAX 4096
/* How long a notification may wait for room in the manager's socket buffer. */
#define ANT_SYSD_SEND_TIMEOUT_MS 1000

/*
 * Sends `state` (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET, with `nfds` file
 * descriptors from `fds` attached (SCM_RIGHTS; nfds may be 0, at most
 * ANT_SYSD_LISTEN_FDS_MAX). The caller keeps its fds. Never blocks longer than
 * ANT_SYSD_SEND_TIMEOUT_MS; safe from any thread (no shared state).
 * Errors: ANT_ERR_NOT_FOUND ($NOTIFY_SOCKET unset or empty), ANT_ERR_INVALID_ARG (an
 * address that is neither absolute nor abstract, or does not fit sockaddr_un; an empty
 * state, too many fds), ANT_ERR_TOO_LARGE (state over ANT_SYSD_MESSAGE_MAX), ANT_ERR_IO
 * (socket or send failed, including a manager that is gone).
 */
ANT_MUST_CHECK ant_err ant_sysd_notify_with_fds(const char *state, const int *fds, size_t nfds);

/* ant_sysd_notify_with_fds() without fds. */
ANT_MUST_CHECK ant_err ant_sysd_notify(const char *state);

/*
 * Sends "STATUS=<text>": `text` is cut to 200 bytes and every byte that is not printable
 * ASCII becomes '_', so a status can never smuggle another assignment in on a new line.
 * Errors: those of ant_sysd_notify().
 */
ANT_MUST_CHECK ant_err ant_sysd_status(const char *text);

/*
 * Hands `fd` to the manager's file-descriptor store under `name` ("FDSTORE=1\nFDNAME=name");
 * it comes back in LISTEN_FDS on the next start of the service. The caller keeps `fd`.
 * Errors: ANT_ERR_INVALID_ARG (fd < 0, a name that is empty, over ANT_SYSD_FDNAME_MAX,
 * not printable ASCII or holding ':'), then those of ant_sysd_notify_with_fds().
 */
ANT_MUST_CHECK ant_err ant_sysd_fdstore(int fd, const char *name);

/* Drops the stored fds named `name` ("FDSTOREREMOVE=1\nFDNAME=name"). Errors as above. */
ANT_MUST_CHECK ant_err ant_sysd_fdstore_remove(const char *name);

/*
 * The watchdog interval the manager expects pings within: WATCHDOG_USEC, when set and
 * (if WATCHDOG_PID is set) meant for this process.
 * Errors: ANT_ERR_NOT_FOUND (no watchdog for us), ANT_ERR_PARSE (not a positive decimal
 * number; a WATCHDOG_PID that is not one).
 */
ANT_MUST_CHECK ant_err ant_sysd_watchdog_usec(uint64_t *usec);

/* One passed descriptor. `name` is "unknown" when LISTEN_FDNAMES was not given. */
struct ant_sysd_fd {
    int fd;
    char name[ANT_SYSD_FDNAME_MAX + 1];
};

/*
 * Takes the descriptors passed through LISTEN_FDS into out[0..*n-1] (cap entries), marks
 * each close-on-exec, and removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from the
 * environment so no child sees them. The caller owns the fds from then on.
 * *n = 0 and ANT_ERR_NOT_FOUND when LISTEN_FDS or LISTEN_PID is unset or LISTEN_PID names
 * another process (the variables are then left alone, and so are the fds).
 * Errors: ANT_ERR_PARSE (LISTEN_PID or LISTEN_FDS not a decimal number, LISTEN_FDS 0,
 * LISTEN_FDNAMES with a different count or an invalid name), ANT_ERR_TOO_LARGE (LISTEN_FDS
 * over ANT_SYSD_LISTEN_FDS_MAX or over cap), ANT_ERR_IO (a listed fd is not open). On any
 * error nothing is owned by the caller. A malformed LISTEN_PID leaves variables and fds as
 * they were (they may be another process's); once LISTEN_PID names this process the
 * variables are removed whatever the outcome, and when LISTEN_FDS is a number the fds it
 * counts that are open are made close-on-exec (not closed), so none leaks into a child.
 */
ANT_MUST_CHECK ant_err ant_sysd_listen_fds(struct ant_sysd_fd *out, size_t cap, size_t *n);

/*
 * Parses a strict decimal number (digits only, no sign, no spaces, at most `max`).
 * Exposed for the callers that read their own manager variables. Returns false otherwise.
 */
bool ant_sysd_parse_u64(const char *text, uint64_t max, uint64_t *out);

#endif
