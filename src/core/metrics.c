/*
 * The metrics registry and the Prometheus text exposition writer (ant/metrics.h).
 *
 * A family's series live in one array of atomics allocated at registration: a counter or
 * gauge has one cell per label value; a histogram has, per label value, one cell per bucket
 * (not cumulative, so an observation touches one bucket), then its sum in microseconds. The
 * hot path is a relaxed atomic add: values are statistics, and no other memory is published
 * through them. Rendering reads each cell once; a histogram's count and +Inf bucket are both
 * derived from the same bucket reads, so they always agree even while observations race.
 */
#include "ant/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEALTH_NAME_MAX 32

struct ant_metric {
    char name[ANT_METRICS_NAME_MAX];
    char label[ANT_METRICS_NAME_MAX]; /* "" = no label */
    char *help;
    enum ant_metric_type type;
    char *values[ANT_METRICS_LABEL_VALUES_MAX];
    size_t nvalues; /* series: >= 1 */
    uint64_t buckets[ANT_METRICS_BUCKETS_MAX];
    size_t nbuckets;
    size_t stride; /* cells per series */
    _Atomic int64_t *cells;
};

struct collector {
    ant_metrics_collector fn;
    void *ctx;
};

struct health {
    char name[HEALTH_NAME_MAX];
    bool ok;
    char reason[ANT_METRICS_REASON_MAX];
};

struct ant_metrics {
    pthread_mutex_t lock; /* families, collectors; held while rendering */
    struct ant_metric *families[ANT_METRICS_FAMILIES_MAX];
    size_t nfamilies;
    struct collector collectors[ANT_METRICS_COLLECTORS_MAX];
    size_t ncollectors;
    pthread_mutex_t health_lock; /* apart, so /healthz never waits for a slow collector */
    struct health health[ANT_METRICS_HEALTH_MAX];
    size_t nhealth;
    bool is_default;
};

struct ant_metrics_writer {
    char *buf;
    size_t len;
    size_t cap;
    bool too_large;
    bool nomem;
    bool bad_name;
};

static struct ant_metrics default_registry = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .health_lock = PTHREAD_MUTEX_INITIALIZER,
    .is_default = true,
};

struct ant_metrics *ant_metrics_default(void)
{
    return &default_registry;
}

ant_err ant_metrics_new(struct ant_metrics **out)
{
    struct ant_metrics *reg;
    if (out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return ANT_ERR_NOMEM;
    pthread_mutex_init(&reg->lock, NULL);
    pthread_mutex_init(&reg->health_lock, NULL);
    *out = reg;
    return ANT_OK;
}

static void family_free(struct ant_metric *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nvalues; i++)
        free(m->values[i]);
    free(m->help);
    free((void *)m->cells);
    free(m);
}

void ant_metrics_free(struct ant_metrics *reg)
{
    if (reg == NULL || reg->is_default)
        return;
    for (size_t i = 0; i < reg->nfamilies; i++)
        family_free(reg->families[i]);
    pthread_mutex_destroy(&reg->lock);
    pthread_mutex_destroy(&reg->health_lock);
    free(reg);
}

/* ---- names ------------------------------------------------------------------------- */

static bool name_char(char c, bool first, bool colon_ok)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return true;
    if (c == ':')
        return colon_ok;
    return !first && c >= '0' && c <= '9';
}

/* Metric names may contain ':', label names may not. */
static bool valid_name(const char *s, bool metric)
{
    size_t n;
    if (s == NULL || s[0] == '\0')
        return false;
    n = strlen(s);
    if (n >= ANT_METRICS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i], i == 0, metric))
            return false;
    if (!metric && n >= 2 && s[0] == '_' && s[1] == '_')
        return false; /* reserved for Prometheus itself */
    return true;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* Label values we register must print as themselves: printable ASCII, no quote or
 * backslash (the writer escapes collector values; registered ones never need it). */
static bool valid_value(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) >= ANT_METRICS_NAME_MAX)
        return false;
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

/* ---- registration ------------------------------------------------------------------ */

static ant_err check_desc(const struct ant_metric_desc *d)
{
    if (d == NULL || !valid_name(d->name, true) || d->help == NULL)
        return ANT_ERR_INVALID_ARG;
    if (d->type != ANT_METRIC_COUNTER && d->type != ANT_METRIC_GAUGE &&
        d->type != ANT_METRIC_HISTOGRAM)
        return ANT_ERR_INVALID_ARG;
    /* The exposition format's conventions, enforced so no family can break a scraper. */
    if ((d->type == ANT_METRIC_COUNTER) != ends_with(d->name, "_total"))
        return ANT_ERR_INVALID_ARG;
    if (d->label != NULL) {
        if (!valid_name(d->label, false) || d->nvalues == 0 ||
            d->nvalues > ANT_METRICS_LABEL_VALUES_MAX || d->values == NULL)
            return ANT_ERR_INVALID_ARG;
        if (d->type == ANT_METRIC_HISTOGRAM && strcmp(d->label, "le") == 0)
            return ANT_ERR_INVALID_ARG;
        for (size_t i = 0; i < d->nvalues; i++) {
            if (!valid_value(d->values[i]))
                return ANT_ERR_INVALID_ARG;
            for (size_t j = 0; j < i; j++)
                if (strcmp(d->values[i], d->values[j]) == 0)
                    return ANT_ERR_INVALID_ARG;
        }
    } else if (d->nvalues != 0) {
        return ANT_ERR_INVALID_ARG;
    }
    if (d->type == ANT_METRIC_HISTOGRAM) {
        if (d->nbuckets == 0 || d->nbuckets > ANT_METRICS_BUCKETS_MAX || d->buckets_us == NULL)
            return ANT_ERR_INVALID_ARG;
        for (size_t i = 1; i < d->nbuckets; i++)
            if (d->buckets_us[i] <= d->buckets_us[i - 1])
                return ANT_ERR_INVALID_ARG;
    } else if (d->nbuckets != 0) {
        return ANT_ERR_INVALID_ARG;
    }
    return ANT_OK;
}

static bool same_shape(const struct ant_metric *m, const struct ant_metric_desc *d)
{
    size_t nvalues = d->label != NULL ? d->nvalues : 1;
    if (m->type != d->type || m->nvalues != nvalues || m->nbuckets != d->nbuckets)
        return false;
    if (strcmp(m->label, d->label != NULL ? d->label : "") != 0)
        return false;
    for (size_t i = 0; d->label != NULL && i < d->nvalues; i++)
        if (strcmp(m->values[i], d->values[i]) != 0)
            return false;
    for (size_t i = 0; i < d->nbuckets; i++)
        if (m->buckets[i] != d->buckets_us[i])
            return false;
    return true;
}

static ant_err family_new(const struct ant_metric_desc *d, struct ant_metric **out)
{
    struct ant_metric *m = calloc(1, sizeof *m);
    size_t ncells;
    if (m == NULL)
        return ANT_ERR_NOMEM;
    snprintf(m->name, sizeof m->name, "%s", d->name);
    snprintf(m->label, sizeof m->label, "%s", d->label != NULL ? d->label : "");
    m->type = d->type;
    m->help = strdup(d->help);
    if (m->help == NULL)
        goto nomem;
    m->nvalues = d->label != NULL ? d->nvalues : 1;
    for (size_t i = 0; d->label != NULL && i < d->nvalues; i++) {
        m->values[i] = strdup(d->values[i]);
        if (m->values[i] == NULL)
            goto nomem;
    }
    m->nbuckets = d->nbuckets;
    if (d->nbuckets > 0)
        memcpy(m->buckets, d->buckets_us, d->nbuckets * sizeof m->buckets[0]);
    /* Histogram: finite buckets, +Inf bucket, sum. Bounded by the caps above, so the
     * product cannot overflow. */
    m->stride = m->type == ANT_METRIC_HISTOGRAM ? m->nbuckets + 2 : 1;
    ncells = m->stride * m->nvalues;
    if (ncells == 0) { /* cannot happen: check_desc guarantees one series at least */
        family_free(m);
        return ANT_ERR_INTERNAL;
    }
    m->cells = calloc(ncells, sizeof *m->cells);
    if (m->cells == NULL)
        goto nomem;
    for (size_t i = 0; i < ncells; i++)
        atomic_init(&m->cells[i], 0);
    *out = m;
    return ANT_OK;
nomem:
    family_free(m);
    return ANT_ERR_NOMEM;
}

ant_err ant_metrics_register(struct ant_metrics *reg, const struct ant_metric_desc *desc,
                             struct ant_metric **out)
{
    struct ant_metric *m = NULL;
    ant_err err;

    if (reg == NULL || out == NULL)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    err = check_desc(desc);
    if (err != ANT_OK)
        return err;
    pthread_mutex_lock(&reg->lock);
    for (size_t i = 0; i < reg->nfamilies; i++) {
        if (strcmp(reg->families[i]->name, desc->name) == 0) {
            if (same_shape(reg->families[i], desc)) {
                *out = reg->families[i];
                err = ANT_OK;
            } else {
                err = ANT_ERR_INVALID_ARG;
            }
            goto out;
        }
    }
    if (reg->nfamilies == ANT_METRICS_FAMILIES_MAX) {
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    err = family_new(desc, &m);
    if (err != ANT_OK)
        goto out;
    reg->families[reg->nfamilies++] = m;
    *out = m;
out:
    pthread_mutex_unlock(&reg->lock);
    return err;
}

/* ---- updates ----------------------------------------------------------------------- */

void ant_metric_inc(struct ant_metric *m, size_t idx)
{
    ant_metric_add(m, idx, 1);
}

void ant_metric_add(struct ant_metric *m, size_t idx, uint64_t n)
{
    if (m == NULL || m->type != ANT_METRIC_COUNTER || idx >= m->nvalues || n > INT64_MAX)
        return;
    atomic_fetch_add_explicit(&m->cells[idx], (int64_t)n, memory_order_relaxed);
}

void ant_metric_set(struct ant_metric *m, size_t idx, int64_t v)
{
    if (m == NULL || m->type != ANT_METRIC_GAUGE || idx >= m->nvalues)
        return;
    atomic_store_explicit(&m->cells[idx], v, memory_order_relaxed);
}

void ant_metric_gauge_add(struct ant_metric *m, size_t idx, int64_t delta)
{
    if (m == NULL || m->type != ANT_METRIC_GAUGE || idx >= m->nvalues)
        return;
    atomic_fetch_add_explicit(&m->cells[idx], delta, memory_order_relaxed);
}

void ant_metric_observe(struct ant_metric *m, size_t idx, uint64_t us)
{
    _Atomic int64_t *s;
    size_t b = 0;
    if (m == NULL || m->type != ANT_METRIC_HISTOGRAM || idx >= m->nvalues)
        return;
    s = m->cells + idx * m->stride;
    while (b < m->nbuckets && us > m->buckets[b])
        b++;
    atomic_fetch_add_explicit(&s[b], 1, memory_order_relaxed);
    /* A sum past 2^63 µs (292 000 years) is not a concern; cap a single absurd value. */
    atomic_fetch_add_explicit(&s[m->nbuckets + 1], us > INT32_MAX ? INT32_MAX : (int64_t)us,
                              memory_order_relaxed);
}

int64_t ant_metric_value(const struct ant_metric *m, size_t idx)
{
    int64_t total = 0;
    if (m == NULL || idx >= m->nvalues)
        return 0;
    if (m->type != ANT_METRIC_HISTOGRAM)
        return atomic_load_explicit(&m->cells[idx], memory_order_relaxed);
    for (size_t b = 0; b <= m->nbuckets; b++)
        total += atomic_load_explicit(&m->cells[idx * m->stride + b], memory_order_relaxed);
    return total;
}

size_t ant_metric_index(const struct ant_metric *m, const char *value, size_t fallback)
{
    if (m == NULL || value == NULL || m->label[0] == '\0')
        return fallback;
    for (size_t i = 0; i < m->nvalues; i++)
        if (strcmp(m->values[i], value) == 0)
            return i;
    return fallback;
}

/* ---- writer ------------------------------------------------------------------------ */

static void w_append(struct ant_metrics_writer *w, const char *s, size_t n)
{
    if (w->too_large)
        return;
    if (n > ANT_METRICS_OUTPUT_MAX - w->len - 1) {
        w->too_large = true;
        return;
    }
    if (w->len + n + 1 > w->cap) {
        size_t ncap = w->cap == 0 ? 4096 : w->cap;
        char *nb;
        while (ncap < w->len + n + 1)
            ncap *= 2;
        if (ncap > ANT_METRICS_OUTPUT_MAX)
            ncap = ANT_METRICS_OUTPUT_MAX;
        nb = realloc(w->buf, ncap);
        if (nb == NULL) {
            w->nomem = true;
            w->too_large = true; /* stops every later append */
            return;
        }
        w->buf = nb;
        w->cap = ncap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void w_str(struct ant_metrics_writer *w, const char *s)
{
    w_append(w, s, strlen(s));
}

static void w_fmt(struct ant_metrics_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void w_fmt(struct ant_metrics_writer *w, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        w->bad_name = true;
        return;
    }
    w_append(w, tmp, (size_t)n);
}

/* HELP text escapes backslash and newline; label values also the double quote. Anything
 * else outside printable ASCII becomes '?', so the output is always valid UTF-8. */
static void w_escaped(struct ant_metrics_writer *w, const char *s, bool quote)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\')
            w_str(w, "\\\\");
        else if (c == '\n')
            w_str(w, "\\n");
        else if (c == '"' && quote)
            w_str(w, "\\\"");
        else if (c < 0x20 || c > 0x7e)
            w_str(w, "?");
        else
            w_append(w, (const char *)&c, 1);
    }
}

static const char *type_name(enum ant_metric_type t)
{
    switch (t) {
    case ANT_METRIC_COUNTER:
        return "counter";
    case ANT_METRIC_GAUGE:
        return "gauge";
    case ANT_METRIC_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

static void w_header(struct ant_metrics_writer *w, const char *name, enum ant_metric_type t,
                     const char *help)
{
    w_str(w, "# HELP ");
    w_str(w, name);
    w_str(w, " ");
    w_escaped(w, help, false);
    w_str(w, "\n# TYPE ");
    w_str(w, name);
    w_str(w, " ");
    w_str(w, type_name(t));
    w_str(w, "\n");
}

static void w_double(struct ant_metrics_writer *w, double v)
{
    if (isnan(v))
        w_str(w, "NaN");
    else if (isinf(v))
        w_str(w, v > 0 ? "+Inf" : "-Inf");
    else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double)(int64_t)v)
        w_fmt(w, "%" PRId64, (int64_t)v); /* exact below 2^53: print integers as such */
    else
        w_fmt(w, "%.17g", v);
}

void ant_metrics_write_family(struct ant_metrics_writer *w, const char *name,
                              enum ant_metric_type type, const char *help)
{
    if (w == NULL)
        return;
    if (!valid_name(name, true) || help == NULL || type == ANT_METRIC_HISTOGRAM ||
        (type == ANT_METRIC_COUNTER) != ends_with(name, "_total")) {
        w->bad_name = true;
        return;
    }
    w_header(w, name, type, help);
}

void ant_metrics_write_sample(struct ant_metrics_writer *w, const char *name,
                              const char *const *labels, double value)
{
    if (w == NULL)
        return;
    if (!valid_name(name, true)) {
        w->bad_name = true;
        return;
    }
    w_str(w, name);
    if (labels != NULL && labels[0] != NULL) {
        w_str(w, "{");
        for (size_t i = 0; labels[i] != NULL; i += 2) {
            if (!valid_name(labels[i], false) || labels[i + 1] == NULL) {
                w->bad_name = true;
                return;
            }
            if (i > 0)
                w_str(w, ",");
            w_str(w, labels[i]);
            w_str(w, "=\"");
            w_escaped(w, labels[i + 1], true);
            w_str(w, "\"");
        }
        w_str(w, "}");
    }
    w_str(w, " ");
    w_double(w, value);
    w_str(w, "\n");
}

/* ---- rendering --------------------------------------------------------------------- */

/* The series name with its suffix and label set (the family's label, then `le` for a
 * histogram bucket), followed by the space before the value. */
static void w_series(struct ant_metrics_writer *w, const struct ant_metric *m, const char *suffix,
                     size_t idx, const char *le)
{
    bool any = m->label[0] != '\0' || le != NULL;
    w_str(w, m->name);
    w_str(w, suffix);
    if (!any) {
        w_str(w, " ");
        return;
    }
    w_str(w, "{");
    if (m->label[0] != '\0') {
        w_str(w, m->label);
        w_str(w, "=\"");
        w_str(w, m->values[idx]);
        w_str(w, "\"");
        if (le != NULL)
            w_str(w, ",");
    }
    if (le != NULL) {
        w_str(w, "le=\"");
        w_str(w, le);
        w_str(w, "\"");
    }
    w_str(w, "} ");
}

/* Microseconds as exact decimal seconds. */
static void w_seconds(struct ant_metrics_writer *w, uint64_t us)
{
    w_fmt(w, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

/* A bucket bound in seconds, exact and without trailing zeros ("0.0001", "2.5", "10"). */
static void le_text(char *buf, size_t cap, uint64_t us)
{
    size_t n;
    snprintf(buf, cap, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
    n = strlen(buf);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
}

static void render_family(struct ant_metrics_writer *w, const struct ant_metric *m)
{
    w_header(w, m->name, m->type, m->help);
    for (size_t i = 0; i < m->nvalues; i++) {
        const _Atomic int64_t *s = m->cells + i * m->stride;
        if (m->type != ANT_METRIC_HISTOGRAM) {
            w_series(w, m, "", i, NULL);
            w_fmt(w, "%" PRId64 "\n", atomic_load_explicit(&s[0], memory_order_relaxed));
            continue;
        }
        int64_t cum = 0;
        for (size_t b = 0; b <= m->nbuckets; b++) {
            char le[32];
            cum += atomic_load_explicit(&s[b], memory_order_relaxed);
            if (b < m->nbuckets)
                le_text(le, sizeof le, m->buckets[b]);
            else
                snprintf(le, sizeof le, "+Inf");
            w_series(w, m, "_bucket", i, le);
            w_fmt(w, "%" PRId64 "\n", cum);
        }
        w_series(w, m, "_sum", i, NULL);
        w_seconds(w, (uint64_t)atomic_load_explicit(&s[m->nbuckets + 1], memory_order_relaxed));
        w_str(w, "\n");
        w_series(w, m, "_count", i, NULL);
        w_fmt(w, "%" PRId64 "\n", cum);
    }
}

ant_err ant_metrics_render(struct ant_metrics *reg, char **text, size_t *len)
{
    struct ant_metrics_writer w = {0};
    ant_err err = ANT_OK;

    if (reg == NULL || text == NULL || len == NULL)
        return ANT_ERR_INVALID_ARG;
    *text = NULL;
    *len = 0;
    pthread_mutex_lock(&reg->lock);
    for (size_t i = 0; i < reg->nfamilies; i++)
        render_family(&w, reg->families[i]);
    for (size_t i = 0; i < reg->ncollectors; i++)
        reg->collectors[i].fn(reg->collectors[i].ctx, &w);
    pthread_mutex_unlock(&reg->lock);
    if (w.nomem)
        err = ANT_ERR_NOMEM;
    else if (w.too_large)
        err = ANT_ERR_TOO_LARGE;
    else if (w.bad_name)
        err = ANT_ERR_INVALID_ARG;
    else if (w.buf == NULL)
        w_str(&w, ""); /* an empty registry renders as an empty document */
    if (err == ANT_OK && w.buf == NULL)
        err = ANT_ERR_NOMEM;
    if (err != ANT_OK) {
        free(w.buf);
        return err;
    }
    *text = w.buf;
    *len = w.len;
    return ANT_OK;
}

ant_err ant_metrics_add_collector(struct ant_metrics *reg, ant_metrics_collector fn, void *ctx)
{
    ant_err err = ANT_OK;
    if (reg == NULL || fn == NULL)
        return ANT_ERR_INVALID_ARG;
    pthread_mutex_lock(&reg->lock);
    if (reg->ncollectors == ANT_METRICS_COLLECTORS_MAX) {
        err = ANT_ERR_TOO_LARGE;
    } else {
        reg->collectors[reg->ncollectors].fn = fn;
        reg->collectors[reg->ncollectors].ctx = ctx;
        reg->ncollectors++;
    }
    pthread_mutex_unlock(&reg->lock);
    return err;
}

void ant_metrics_remove_collector(struct ant_metrics *reg, ant_metrics_collector fn,
                                  const void *ctx)
{
    if (reg == NULL)
        return;
    /* Rendering holds the lock while collectors run, so once we hold it none is running. */
    pthread_mutex_lock(&reg->lock);
    for (size_t i = 0; i < reg->ncollectors; i++) {
        if (reg->collectors[i].fn == fn && reg->collectors[i].ctx == ctx) {
            memmove(&reg->collectors[i], &reg->collectors[i + 1],
                    (reg->ncollectors - i - 1) * sizeof reg->collectors[0]);
            reg->ncollectors--;
            break;
        }
    }
    pthread_mutex_unlock(&reg->lock);
}

/* ---- health ------------------------------------------------------------------------ */

ant_err ant_metrics_health_set(struct ant_metrics *reg, const char *component, bool ok,
                               const char *reason)
{
    struct health *h = NULL;
    ant_err err = ANT_OK;
    size_t i;

    if (reg == NULL || component == NULL || component[0] == '\0' ||
        strlen(component) >= HEALTH_NAME_MAX)
        return ANT_ERR_INVALID_ARG;
    pthread_mutex_lock(&reg->health_lock);
    for (i = 0; i < reg->nhealth; i++)
        if (strcmp(reg->health[i].name, component) == 0)
            h = &reg->health[i];
    if (h == NULL) {
        if (reg->nhealth == ANT_METRICS_HEALTH_MAX) {
            err = ANT_ERR_TOO_LARGE;
            goto out;
        }
        h = &reg->health[reg->nhealth++];
        snprintf(h->name, sizeof h->name, "%s", component);
    }
    h->ok = ok;
    /* The reason is one line of an HTTP body: printable ASCII only. */
    for (i = 0; reason != NULL && reason[i] != '\0' && i + 1 < sizeof h->reason; i++)
        h->reason[i] = (reason[i] >= 0x20 && reason[i] < 0x7f) ? reason[i] : '_';
    h->reason[i] = '\0';
out:
    pthread_mutex_unlock(&reg->health_lock);
    return err;
}

void ant_metrics_health_clear(struct ant_metrics *reg, const char *component)
{
    if (reg == NULL || component == NULL)
        return;
    pthread_mutex_lock(&reg->health_lock);
    for (size_t i = 0; i < reg->nhealth; i++) {
        if (strcmp(reg->health[i].name, component) == 0) {
            memmove(&reg->health[i], &reg->health[i + 1],
                    (reg->nhealth - i - 1) * sizeof reg->health[0]);
            reg->nhealth--;
            break;
        }
    }
    pthread_mutex_unlock(&reg->health_lock);
}

bool ant_metrics_healthy(struct ant_metrics *reg, char *reason, size_t cap)
{
    bool ok = true;
    if (reason != NULL && cap > 0)
        reason[0] = '\0';
    if (reg == NULL)
        return false;
    pthread_mutex_lock(&reg->health_lock);
    if (reg->nhealth == 0) {
        ok = false;
        if (reason != NULL && cap > 0)
            snprintf(reason, cap, "not started");
    }
    for (size_t i = 0; ok && i < reg->nhealth; i++) {
        if (!reg->health[i].ok) {
            ok = false;
            if (reason != NULL && cap > 0)
                snprintf(reason, cap, "%s: %s", reg->health[i].name, reg->health[i].reason);
        }
    }
    pthread_mutex_unlock(&reg->health_lock);
    return ok;
}
