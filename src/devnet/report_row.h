/*
 * One row of `ant-devnet report` (ARCHITECTURE.md §7): a check, what it expects, a value for
 * the whole fleet and one per host, and the counts the JSON form carries. report.c owns the
 * table; sdreport.c appends the systemd hosts' rows to it through the same builder, so a row
 * is made, judged and printed one way.
 */
#ifndef ANT_DEVNET_REPORT_ROW_H
#define ANT_DEVNET_REPORT_ROW_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devnet/fleet.h"

struct dn_row {
    char check[96];
    char version[DN_VERSION_MAX + 1];
    char expect[256];
    bool pass;
    char value[200];
    unsigned nhosts;
    char hv[ANT_DEVNET_MAX_HOSTS][64];
    bool hp[ANT_DEVNET_MAX_HOSTS];
    json_object *counts; /* owned by the table */
};

/* Appends a passing row for `nhosts` hosts to rows[0..cap) at *n; NULL when the table is
 * full (the row is then not reported, never overwritten). */
struct dn_row *dn_row_new(struct dn_row *rows, size_t cap, size_t *n, unsigned nhosts,
                          const char *check, const char *version, const char *expect);

/* Host h's value; a failing host fails the row. */
void dn_row_host(struct dn_row *w, unsigned h, bool pass, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A named count for the JSON form (w may be NULL: a row the full table dropped). */
void dn_row_count(struct dn_row *w, const char *k, int64_t v);

#endif
