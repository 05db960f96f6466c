/*
 * The report's row builder (report_row.h), shared by the table in report.c and the systemd
 * rows of sdreport.c.
 */
#include "devnet/report_row.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct dn_row *dn_row_new(struct dn_row *rows, size_t cap, size_t *n, unsigned nhosts,
                          const char *check, const char *version, const char *expect)
{
    if (*n >= cap)
        return NULL;
    struct dn_row *w = &rows[(*n)++];
    memset(w, 0, sizeof *w);
    snprintf(w->check, sizeof w->check, "%s", check);
    snprintf(w->version, sizeof w->version, "%s", version != NULL ? version : "");
    snprintf(w->expect, sizeof w->expect, "%s", expect);
    w->counts = json_object_new_object();
    w->nhosts = nhosts;
    w->pass = true;
    return w;
}

void dn_row_host(struct dn_row *w, unsigned h, bool pass, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->hv[h], sizeof w->hv[h], fmt, ap);
    va_end(ap);
    w->hp[h] = pass;
    if (!pass)
        w->pass = false;
}

void dn_row_count(struct dn_row *w, const char *k, int64_t v)
{
    if (w != NULL && w->counts != NULL)
        json_object_object_add(w->counts, k, json_object_new_int64(v));
}
