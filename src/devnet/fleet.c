/*
 * Reading the fleet's node logs (docs/LOG-EVENTS.md): each line is
 * `time level module message key=value...`, optionally prefixed by a journald `<N>`. Values
 * never hold spaces, so the trailing `k=v` tokens are the keys and what precedes them is the
 * message. Only the listed events are kept; anything else a node prints is ignored, and an
 * over-long or malformed line is skipped rather than trusted.
 */
#include "devnet/fleet.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_READ_CAP (256u << 20) /* per node log */
#define LINE_MAX_BYTES 4096

/* Reads exactly `n` decimal digits at p into *v. */
static bool digits(const char *p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return false;
        *v = *v * 10 + (p[i] - '0');
    }
    return true;
}

bool dn_parse_time(const char *text, double *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int year, mon, day, hh, mm, ss;
    /* Fixed layout YYYY-MM-DDTHH:MM:SS, as the logger writes it. */
    if (strnlen(text, 20) < 19 || !digits(text, 4, &year) || text[4] != '-' ||
        !digits(text + 5, 2, &mon) || text[7] != '-' || !digits(text + 8, 2, &day) ||
        text[10] != 'T' || !digits(text + 11, 2, &hh) || text[13] != ':' ||
        !digits(text + 14, 2, &mm) || text[16] != ':' || !digits(text + 17, 2, &ss))
        return false;
    double frac = 0;
    const char *p = text + 19;
    if (*p == '.') {
        double scale = 0.1;
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p)) {
            frac += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    if (*p != 'Z' || p[1] != '\0')
        return false;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
        return false;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    time_t secs = timegm(&tm);
    if (secs == (time_t)-1)
        return false;
    *t = (double)secs + frac;
    return true;
}

static bool is_key_token(const char *tok, size_t len)
{
    size_t i = 0;
    while (i < len && (islower((unsigned char)tok[i]) || tok[i] == '_'))
        i++;
    return i > 0 && i < len && tok[i] == '=';
}

bool dn_log_parse(const char *line, struct dn_log_line *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strnlen(line, LINE_MAX_BYTES + 1);
    if (len > LINE_MAX_BYTES)
        return false;
    const char *p = line;
    if (p[0] == '<' && isdigit((unsigned char)p[1]) && p[2] == '>')
        p += 3;
    char stamp[40];
    int n = 0;
    if (sscanf(p, "%39s %7s %15s %n", stamp, out->level, out->module, &n) != 3 || n == 0)
        return false;
    if (!dn_parse_time(stamp, &out->t))
        return false;
    p += n;
    const char *end = line + len;
    while (end > p && (end[-1] == ' ' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    /* Peel key=value tokens off the end. */
    const char *keys_start[12];
    size_t keys_len[12];
    size_t nk = 0;
    while (end > p) {
        const char *tok = end;
        while (tok > p && tok[-1] != ' ')
            tok--;
        size_t tlen = (size_t)(end - tok);
        if (!is_key_token(tok, tlen) || nk == 12)
            break;
        keys_start[nk] = tok;
        keys_len[nk] = tlen;
        nk++;
        end = tok;
        while (end > p && end[-1] == ' ')
            end--;
    }
    size_t mlen = (size_t)(end - p);
    if (mlen == 0 || mlen >= sizeof out->message)
        return false;
    memcpy(out->message, p, mlen);
    out->message[mlen] = '\0';
    for (size_t i = 0; i < nk; i++) {
        size_t k = nk - 1 - i; /* restore left-to-right order */
        const char *eq = memchr(keys_start[k], '=', keys_len[k]);
        size_t kl = (size_t)(eq - keys_start[k]);
        size_t vl = keys_len[k] - kl - 1;
        if (kl >= sizeof out->key[0] || vl >= sizeof out->val[0])
            continue;
        memcpy(out->key[out->nkeys], keys_start[k], kl);
        out->key[out->nkeys][kl] = '\0';
        memcpy(out->val[out->nkeys], eq + 1, vl);
        out->val[out->nkeys][vl] = '\0';
        out->nkeys++;
    }
    return true;
}

const char *dn_log_get(const struct dn_log_line *l, const char *k)
{
    for (size_t i = 0; i < l->nkeys; i++) {
        if (strcmp(l->key[i], k) == 0)
            return l->val[i];
    }
    return NULL;
}

static const struct {
    enum dn_ev_kind kind;
    const char *module;
    const char *message; /* exact, or a prefix when it ends with '*' */
} events[] = {
    {EV_STARTED, "node", "Node started"},
    {EV_STOPPING, "node", "Node stopping"},
    {EV_FETCHED, "release", "Fetched release info"},
    {EV_CACHED_INFO, "release", "Using cached release info"},
    {EV_AVAILABLE, "upgrade", "Upgrade available"},
    {EV_SCHEDULED, "upgrade", "Upgrade scheduled"},
    {EV_REUSED, "upgrade", "Reused signature-verified cached archive for *"},
    {EV_DOWNLOADING, "upgrade", "Downloading ant-node archive..."},
    {EV_VERIFIED, "upgrade", "Archive signature verified"},
    {EV_STORED, "upgrade", "Stored archive in cache"},
    {EV_REPLACING, "upgrade", "Replacing binary..."},
    {EV_ALREADY, "upgrade", "Binary already upgraded to *"},
    {EV_RESTARTING, "upgrade", "Restarting into new binary"},
    {EV_TRIAL_STARTED, "upgrade", "Trial boot started"},
    {EV_TRIAL_CONFIRMED, "upgrade", "Trial boot confirmed"},
    {EV_ROLLBACK, "upgrade", "Rolling back failed upgrade"},
    {EV_FAILED, "upgrade", "Upgrade failed"},
    {EV_HALTED, "upgrade", "Rollout halted, not upgrading"},
    {EV_BELOW_MIN, "upgrade", "Below minimum version, upgrading now"},
    {EV_YANKED_RUN, "upgrade", "Running a yanked version, upgrading now"},
    {EV_SKIPPED, "upgrade", "Release not in signed metadata, skipping"},
    {EV_PATCH_APPLIED, "upgrade", "Binary patch applied"},
    {EV_PATCH_FAILED, "upgrade", "Binary patch failed, downloading full archive"},
    {EV_BINARY_REUSED, "upgrade", "Reused verified cached binary"},
    {EV_RESUMED, "upgrade", "Archive download resumed *"},
};

const char *dn_ev_name(enum dn_ev_kind kind)
{
    /* The two messages that embed the version read better without it (the version is
     * shown from its key). */
    if (kind == EV_REUSED)
        return "Reused signature-verified cached archive";
    if (kind == EV_ALREADY)
        return "Binary already upgraded by another service, skipping replacement";
    if (kind == EV_RESUMED)
        return "Archive download resumed";
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        if (events[i].kind == kind)
            return events[i].message;
    }
    return "?";
}

static void copy_val(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v != NULL ? v : "");
}

static double num(const char *v)
{
    if (v == NULL)
        return 0;
    char *end = NULL;
    double d = strtod(v, &end);
    return end != v ? d : 0;
}

/* N and M of `Archive download resumed N times, restarted M times` (0 and 0 otherwise). */
static void resume_counts(const char *msg, unsigned *resumes, unsigned *restarts)
{
    static const char a[] = "Archive download resumed ", b[] = " times, restarted ";
    char *end = NULL;
    *resumes = *restarts = 0;
    if (strncmp(msg, a, sizeof a - 1) != 0)
        return;
    unsigned long n = strtoul(msg + sizeof a - 1, &end, 10);
    if (end == msg + sizeof a - 1 || strncmp(end, b, sizeof b - 1) != 0 || n > 1000)
        return;
    const char *p = end + sizeof b - 1;
    unsigned long m = strtoul(p, &end, 10);
    if (end == p || strcmp(end, " times") != 0 || m > 1000)
        return;
    *resumes = (unsigned)n;
    *restarts = (unsigned)m;
}

bool dn_event_from_line(const struct dn_log_line *l, struct dn_ev *ev)
{
    memset(ev, 0, sizeof *ev);
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        if (strcmp(l->module, events[i].module) != 0)
            continue;
        const char *m = events[i].message;
        size_t ml = strlen(m);
        bool match = m[ml - 1] == '*' ? strncmp(l->message, m, ml - 1) == 0
                                      : strcmp(l->message, m) == 0;
        if (!match)
            continue;
        ev->kind = events[i].kind;
        ev->t = l->t;
        copy_val(ev->version, sizeof ev->version, dn_log_get(l, "version"));
        copy_val(ev->peer, sizeof ev->peer, dn_log_get(l, "peer_id"));
        ev->pid = (pid_t)num(dn_log_get(l, "pid"));
        ev->first_seen = num(dn_log_get(l, "first_seen"));
        ev->at = num(dn_log_get(l, "at"));
        ev->delay = num(dn_log_get(l, "delay_s"));
        if (ev->kind == EV_RESTARTING)
            ev->at = num(dn_log_get(l, "scheduled_at"));
        ev->attempts = (unsigned)num(dn_log_get(l, ev->kind == EV_ROLLBACK ? "attempts" : "attempt"));
        copy_val(ev->stage, sizeof ev->stage, dn_log_get(l, "stage"));
        copy_val(ev->error, sizeof ev->error, dn_log_get(l, "error"));
        copy_val(ev->mode, sizeof ev->mode, dn_log_get(l, "mode"));
        copy_val(ev->reason, sizeof ev->reason, dn_log_get(l, "reason"));
        ev->candidate_since = num(dn_log_get(l, "candidate_since"));
        const char *urgent = dn_log_get(l, "urgent");
        ev->urgent = urgent != NULL && strcmp(urgent, "yes") == 0;
        ev->bytes = (uint64_t)num(dn_log_get(l, ev->kind == EV_PATCH_APPLIED ? "patch_bytes"
                                                                             : "bytes"));
        if (ev->kind == EV_RESUMED)
            resume_counts(l->message, &ev->resumes, &ev->restarts);
        return true;
    }
    return false;
}

ant_err dn_fleet_init(struct dn_fleet *f, unsigned hosts, unsigned nodes)
{
    memset(f, 0, sizeof *f);
    f->node = calloc((size_t)hosts * nodes, sizeof *f->node);
    if (f->node == NULL)
        return ANT_ERR_NOMEM;
    f->hosts = hosts;
    f->nodes = nodes;
    for (unsigned i = 0; i < hosts * nodes; i++) {
        f->node[i].host = i / nodes;
        f->node[i].node = i % nodes;
    }
    return ANT_OK;
}

void dn_fleet_free(struct dn_fleet *f)
{
    if (f->node != NULL) {
        for (unsigned i = 0; i < f->hosts * f->nodes; i++)
            free(f->node[i].ev);
    }
    free(f->node);
    memset(f, 0, sizeof *f);
}

static ant_err push(struct dn_fleet_node *n, const struct dn_ev *ev)
{
    if (n->nev == n->cap) {
        size_t cap = n->cap == 0 ? 64 : n->cap * 2;
        if (cap > (SIZE_MAX / sizeof *n->ev))
            return ANT_ERR_NOMEM;
        struct dn_ev *p = realloc(n->ev, cap * sizeof *p);
        if (p == NULL)
            return ANT_ERR_NOMEM;
        n->ev = p;
        n->cap = cap;
    }
    n->ev[n->nev++] = *ev;
    return ANT_OK;
}

/* Reads complete lines from the node's log past n->offset. */
static ant_err read_node(const char *path, struct dn_fleet_node *n, size_t *fresh)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? ANT_OK : ANT_ERR_IO;
    ant_err e = ANT_OK;
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        e = ANT_ERR_UNSAFE_FILE;
        goto out;
    }
    if (st.st_size <= n->offset)
        goto out;
    off_t want = st.st_size - n->offset;
    if (want > (off_t)LOG_READ_CAP) {
        e = ANT_ERR_TOO_LARGE;
        goto out;
    }
    buf = malloc((size_t)want + 1);
    if (buf == NULL) {
        e = ANT_ERR_NOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)want) {
        ssize_t r = pread(fd, buf + got, (size_t)want - got, n->offset + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    size_t pos = 0;
    struct dn_log_line *line = malloc(sizeof *line);
    if (line == NULL) {
        e = ANT_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        char *nl = memchr(buf + pos, '\n', got - pos);
        if (nl == NULL)
            break; /* a partial last line is read next time */
        *nl = '\0';
        struct dn_ev ev;
        if (dn_log_parse(buf + pos, line) && dn_event_from_line(line, &ev)) {
            e = push(n, &ev);
            if (e != ANT_OK)
                break;
            if (fresh != NULL)
                (*fresh)++;
        }
        pos = (size_t)(nl - buf) + 1;
    }
    free(line);
    n->offset += (off_t)pos;
out:
    free(buf);
    close(fd);
    return e;
}

ant_err dn_fleet_read(const struct dn_config *cfg, struct dn_fleet *f, size_t *fresh)
{
    if (fresh != NULL)
        *fresh = 0;
    for (unsigned i = 0; i < f->hosts * f->nodes; i++) {
        char path[PATH_MAX];
        ant_err e = dn_path(path, sizeof path, "%s/hosts/h%u/logs/n%u.log", cfg->dir,
                            f->node[i].host, f->node[i].node);
        if (e == ANT_OK)
            e = read_node(path, &f->node[i], fresh);
        if (e != ANT_OK)
            return e;
    }
    return ANT_OK;
}

const struct dn_ev *dn_fleet_last(const struct dn_fleet_node *n, enum dn_ev_kind kind,
                                  const char *version)
{
    for (size_t i = n->nev; i > 0; i--) {
        const struct dn_ev *ev = &n->ev[i - 1];
        if (ev->kind == kind && (version == NULL || strcmp(ev->version, version) == 0))
            return ev;
    }
    return NULL;
}
