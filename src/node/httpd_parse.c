/*
 * Request-head parsing for the observability HTTP server (httpd_parse.h). Deliberately
 * strict and small: one request line `METHOD SP TARGET SP HTTP/1.x`, header lines
 * `token ":" anything`, LF or CRLF line ends, nothing else; what it does not understand is
 * a 400, never a guess. Header values are not interpreted at all (no Host routing, no
 * keep-alive, no body), so there is nothing in them to get wrong.
 */
#include "node/httpd_parse.h"

#include <stdbool.h>
#include <string.h>

int httpd_scan_head(const char *buf, size_t len, struct httpd_scan *s, unsigned max_headers,
                    size_t *end)
{
    for (; s->scanned < len; s->scanned++) {
        size_t i = s->scanned, ll;
        if (buf[i] != '\n')
            continue;
        ll = i - s->line_start;
        if (ll > 0 && buf[i - 1] == '\r')
            ll--;
        s->line_start = i + 1;
        if (s->lines > 0 && ll == 0) {
            s->scanned = i + 1;
            *end = i + 1;
            return HTTPD_HEAD_DONE;
        }
        s->lines++;
        if (s->lines > (size_t)max_headers + 1)
            return HTTPD_HEAD_TOO_MANY;
    }
    return HTTPD_HEAD_MORE;
}

/* RFC 9110 token characters. */
static bool tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool all_tchar(const char *p, const char *lim)
{
    for (; p < lim; p++)
        if (!tchar(*p))
            return false;
    return true;
}

int httpd_parse_head(const char *buf, size_t end, char path[ANT_HTTPD_PATH_MAX])
{
    const char *p = buf, *lim = buf + end, *eol, *sp1, *sp2, *q;
    size_t tl, vl;

    path[0] = '\0';
    eol = memchr(p, '\n', end);
    if (eol == NULL)
        return 400;
    sp1 = memchr(p, ' ', (size_t)(eol - p));
    sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == p || !all_tchar(p, sp1))
        return 400;
    vl = (size_t)(eol - sp2 - 1);
    if (vl > 0 && sp2[vl] == '\r')
        vl--;
    if (vl != 8 || (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
        return 400;
    /* Header lines: `name: value` with a token name, up to the blank line. */
    for (const char *l = eol + 1; l < lim;) {
        const char *le = memchr(l, '\n', (size_t)(lim - l)), *colon;
        size_t ll = le != NULL ? (size_t)(le - l) : (size_t)(lim - l);
        if (ll > 0 && l[ll - 1] == '\r')
            ll--;
        if (ll == 0)
            break;
        colon = memchr(l, ':', ll);
        if (colon == NULL || colon == l || !all_tchar(l, colon))
            return 400;
        l = le != NULL ? le + 1 : lim;
    }
    if ((size_t)(sp1 - p) != 3 || memcmp(p, "GET", 3) != 0)
        return 405;
    tl = (size_t)(sp2 - sp1 - 1);
    q = memchr(sp1 + 1, '?', tl);
    if (q != NULL)
        tl = (size_t)(q - sp1 - 1);
    if (tl == 0 || sp1[1] != '/')
        return 400;
    if (tl >= ANT_HTTPD_PATH_MAX)
        return 414;
    for (size_t i = 0; i < tl; i++)
        if (sp1[1 + i] <= ' ' || sp1[1 + i] > '~')
            return 400;
    memcpy(path, sp1 + 1, tl);
    path[tl] = '\0';
    return 0;
}
