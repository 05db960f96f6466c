/*
 * Metrics and health (ARCHITECTURE.md §12): a registry of metric families that the daemon's
 * modules update on their hot paths, rendered on demand in the Prometheus text exposition
 * format 0.0.4, and the health conditions behind `/healthz`.
 *
 * Every family is declared once with a fixed set of label values (an operation, a result, a
 * stage): an update is one relaxed atomic add on a slot chosen by index, nothing is
 * allocated after registration, and no peer input can create a new time series. Values
 * that already live elsewhere (store size, the upgrade state file) are not copied into the
 * registry: a collector callback writes them at scrape time through the writer functions.
 *
 * One process-wide registry, ant_metrics_default(), is what the node and the upgrade engine
 * use (one node per process, like every Prometheus client's default registry); tests may
 * make their own with ant_metrics_new(). All functions are thread-safe; updates take no
 * lock. Update functions accept a NULL family and do nothing, so a hook never needs to
 * check whether registration succeeded.
 */
#ifndef ANT_METRICS_H
#define ANT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ant/err.h"

#define ANT_METRICS_NAME_MAX 96        /* bytes of a metric or label name, NUL included */
#define ANT_METRICS_LABEL_VALUES_MAX 32 /* label values of one family */
#define ANT_METRICS_BUCKETS_MAX 24     /* finite histogram buckets */
#define ANT_METRICS_FAMILIES_MAX 128   /* families of one registry */
#define ANT_METRICS_COLLECTORS_MAX 16
#define ANT_METRICS_HEALTH_MAX 8       /* health components of one registry */
#define ANT_METRICS_REASON_MAX 160     /* bytes of a health reason, NUL included */
#define ANT_METRICS_OUTPUT_MAX ((size_t)1 << 20) /* cap on one rendering */

/* The Content-Type of ant_metrics_render()'s output. */
#define ANT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum ant_metric_type {
    ANT_METRIC_COUNTER = 1,   /* monotonic; name must end in _total */
    ANT_METRIC_GAUGE = 2,     /* signed value, set or added to */
    ANT_METRIC_HISTOGRAM = 3, /* observations in microseconds, exposed in seconds */
};

/*
 * A family. `label` (NULL = no label) names the one label dimension and `values` its
 * `nvalues` permitted values (1..ANT_METRICS_LABEL_VALUES_MAX); without a label the family
 * has one series and the index passed to updates is 0. A histogram's `buckets_us` are its
 * `nbuckets` upper bounds in microseconds, strictly increasing (+Inf is implicit). The
 * strings are copied.
 */
struct ant_metric_desc {
    const char *name;
    const char *help;
    enum ant_metric_type type;
    const char *label;
    const char *const *values;
    size_t nvalues;
    const uint64_t *buckets_us;
    size_t nbuckets;
};

struct ant_metrics;        /* a registry */
struct ant_metric;         /* a registered family */
struct ant_metrics_writer; /* output of one rendering, for collectors */

/* The process-wide registry (static storage; never NULL, never freed). */
struct ant_metrics *ant_metrics_default(void);

/* A private registry. Errors: ANT_ERR_NOMEM. Free with ant_metrics_free(). */
ANT_MUST_CHECK ant_err ant_metrics_new(struct ant_metrics **out);

/* Frees a registry from ant_metrics_new() and its families (NULL and the default registry
 * are no-ops). No other thread may use it or its families any more. */
void ant_metrics_free(struct ant_metrics *reg);

/*
 * Registers a family, or finds the one already registered under that name if its shape
 * (type, label, values, buckets) is identical, so a module started twice in one process
 * keeps counting into the same series. *out lives as long as the registry.
 * Errors: ANT_ERR_INVALID_ARG (bad name — [a-zA-Z_:][a-zA-Z0-9_:]*, counters ending in
 * _total, label names without a leading "__" —, empty or repeated label value, bad bucket
 * list, a different family under that name), ANT_ERR_TOO_LARGE (registry full),
 * ANT_ERR_NOMEM.
 */
ANT_MUST_CHECK ant_err ant_metrics_register(struct ant_metrics *reg,
                                            const struct ant_metric_desc *desc,
                                            struct ant_metric **out);

/* Hot-path updates: `idx` is the label value's index in desc.values (0 without a label);
 * an index out of range is ignored. Counters only grow: ant_metric_add adds `n`. */
void ant_metric_inc(struct ant_metric *m, size_t idx);
void ant_metric_add(struct ant_metric *m, size_t idx, uint64_t n);
/* Gauges. */
void ant_metric_set(struct ant_metric *m, size_t idx, int64_t v);
void ant_metric_gauge_add(struct ant_metric *m, size_t idx, int64_t delta);
/* Histograms: one observation of `us` microseconds. */
void ant_metric_observe(struct ant_metric *m, size_t idx, uint64_t us);

/* Current value of a counter or gauge series (a histogram's observation count), for tests
 * and for readers in the same process. 0 for NULL or an index out of range. */
int64_t ant_metric_value(const struct ant_metric *m, size_t idx);

/* Index of `value` among the family's label values, or `fallback` when absent. */
size_t ant_metric_index(const struct ant_metric *m, const char *value, size_t fallback);

/*
 * Collectors: `fn(ctx, w)` runs during every rendering (under the registry's lock, one at
 * a time) and writes whole families with the writer functions below. Names must not
 * repeat a registered family. After ant_metrics_remove_collector returns, `fn` is not
 * running and will not run again with that ctx.
 * Errors: ANT_ERR_TOO_LARGE (ANT_METRICS_COLLECTORS_MAX reached), ANT_ERR_INVALID_ARG.
 */
typedef void (*ant_metrics_collector)(void *ctx, struct ant_metrics_writer *w);
ANT_MUST_CHECK ant_err ant_metrics_add_collector(struct ant_metrics *reg,
                                                 ant_metrics_collector fn, void *ctx);
void ant_metrics_remove_collector(struct ant_metrics *reg, ant_metrics_collector fn,
                                  const void *ctx);

/* Starts a family in a collector's output: `# HELP` and `# TYPE` lines (type counter or
 * gauge). A bad name marks the rendering failed. */
void ant_metrics_write_family(struct ant_metrics_writer *w, const char *name,
                              enum ant_metric_type type, const char *help);
/*
 * One sample of the family just started. `labels` is NULL or a NULL-terminated list of
 * name, value pairs; values are escaped as the format requires, names are checked.
 */
void ant_metrics_write_sample(struct ant_metrics_writer *w, const char *name,
                              const char *const *labels, double value);

/*
 * Renders every family (registration order), then every collector, into a malloc'd,
 * NUL-terminated buffer (*text, length *len; the caller frees it).
 * Errors: ANT_ERR_TOO_LARGE (over ANT_METRICS_OUTPUT_MAX), ANT_ERR_INVALID_ARG (a
 * collector wrote a bad name), ANT_ERR_NOMEM. Nothing is returned on error.
 */
ANT_MUST_CHECK ant_err ant_metrics_render(struct ant_metrics *reg, char **text, size_t *len);

/*
 * Health: named components (at most ANT_METRICS_HEALTH_MAX, names up to 31 bytes), each ok
 * or not with a one-line reason (cut to ANT_METRICS_REASON_MAX - 1 bytes, control
 * characters replaced). Setting a component again replaces its state.
 * Errors: ANT_ERR_TOO_LARGE (too many components), ANT_ERR_INVALID_ARG.
 */
ANT_MUST_CHECK ant_err ant_metrics_health_set(struct ant_metrics *reg, const char *component,
                                              bool ok, const char *reason);

/* Removes a component (a module that stops stops reporting). */
void ant_metrics_health_clear(struct ant_metrics *reg, const char *component);

/* True when at least one component is registered and all are ok. Otherwise false, and
 * `reason` (capacity cap) gets "component: reason" of the first failing one, or
 * "not started" when there are none. */
bool ant_metrics_healthy(struct ant_metrics *reg, char *reason, size_t cap);

#endif
