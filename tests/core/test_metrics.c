/*
 * The metrics registry and exposition writer (ant/metrics.h): registration rules (names,
 * label values, buckets, idempotence, shape mismatch), exact counts under concurrent
 * updates, histogram buckets, the rendered text byte for byte, escaping of collector
 * values that an attacker could influence, the output cap, and health components.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ant/metrics.h"
#include "test.h"

static const char *const ops[] = {"get", "put"};

static struct ant_metrics *fresh(void)
{
    struct ant_metrics *reg = NULL;
    CHECK_OK(ant_metrics_new(&reg));
    return reg;
}

static char *render(struct ant_metrics *reg)
{
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(ant_metrics_render(reg, &text, &len));
    CHECK(text == NULL || strlen(text) == len);
    return text;
}

static void test_register_rules(void)
{
    struct ant_metrics *reg = fresh();
    struct ant_metric *a = NULL, *b = NULL;
    static const uint64_t bk[] = {10, 5};
    static const char *const dup[] = {"x", "x"};
    static const char *const quote[] = {"a\"b"};
    const struct ant_metric_desc bad[] = {
        {"1abc_total", "h", ANT_METRIC_COUNTER, NULL, NULL, 0, NULL, 0},
        {"a-b_total", "h", ANT_METRIC_COUNTER, NULL, NULL, 0, NULL, 0},
        {"no_suffix", "h", ANT_METRIC_COUNTER, NULL, NULL, 0, NULL, 0},
        {"gauge_total", "h", ANT_METRIC_GAUGE, NULL, NULL, 0, NULL, 0},
        {"x_total", "h", ANT_METRIC_COUNTER, "__reserved", ops, 2, NULL, 0},
        {"x_total", "h", ANT_METRIC_COUNTER, "op", dup, 2, NULL, 0},
        {"x_total", "h", ANT_METRIC_COUNTER, "op", quote, 1, NULL, 0},
        {"x_total", "h", ANT_METRIC_COUNTER, "op", ops, 0, NULL, 0},
        {"h_seconds", "h", ANT_METRIC_HISTOGRAM, NULL, NULL, 0, bk, 2},
        {"h_seconds", "h", ANT_METRIC_HISTOGRAM, NULL, NULL, 0, NULL, 0},
        {"h_seconds", "h", ANT_METRIC_HISTOGRAM, "le", ops, 2, bk, 1},
        {"x_total", NULL, ANT_METRIC_COUNTER, NULL, NULL, 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ant_metric *m = (struct ant_metric *)1;
        CHECK_ERR(ant_metrics_register(reg, &bad[i], &m), ANT_ERR_INVALID_ARG);
        CHECK(m == NULL);
    }
    const struct ant_metric_desc ok = {"req_total", "h", ANT_METRIC_COUNTER, "op", ops, 2,
                                       NULL, 0};
    const struct ant_metric_desc other = {"req_total", "h", ANT_METRIC_COUNTER, "op", ops, 1,
                                          NULL, 0};
    CHECK_OK(ant_metrics_register(reg, &ok, &a));
    CHECK_OK(ant_metrics_register(reg, &ok, &b));
    CHECK(a != NULL && a == b); /* same shape: the same series keep counting */
    CHECK_ERR(ant_metrics_register(reg, &other, &b), ANT_ERR_INVALID_ARG);
    CHECK_INT(ant_metric_index(a, "put", 9), 1);
    CHECK_INT(ant_metric_index(a, "nope", 9), 9);
    /* Out-of-range indexes and wrong-type updates are ignored, NULL is a no-op. */
    ant_metric_inc(a, 2);
    ant_metric_set(a, 0, 5);
    ant_metric_inc(NULL, 0);
    CHECK_INT(ant_metric_value(a, 0), 0);
    CHECK_INT(ant_metric_value(a, 2), 0);
    ant_metrics_free(reg);
}

struct hammer {
    struct ant_metric *c, *g, *h;
};

#define HAMMER_N 100000

static void *hammer_main(void *arg)
{
    struct hammer *hm = arg;
    for (int i = 0; i < HAMMER_N; i++) {
        ant_metric_inc(hm->c, (size_t)(i & 1));
        ant_metric_gauge_add(hm->g, 0, (i & 1) ? 1 : -1);
        ant_metric_observe(hm->h, 0, (uint64_t)(i % 3) * 1000);
    }
    return NULL;
}

static void test_concurrent_updates_are_exact(void)
{
    struct ant_metrics *reg = fresh();
    static const uint64_t bk[] = {500, 1500};
    const struct ant_metric_desc c = {"c_total", "h", ANT_METRIC_COUNTER, "op", ops, 2, NULL, 0};
    const struct ant_metric_desc g = {"g", "h", ANT_METRIC_GAUGE, NULL, NULL, 0, NULL, 0};
    const struct ant_metric_desc h = {"h_seconds", "h", ANT_METRIC_HISTOGRAM, NULL, NULL, 0,
                                      bk, 2};
    struct hammer hm;
    pthread_t t[4];
    CHECK_OK(ant_metrics_register(reg, &c, &hm.c));
    CHECK_OK(ant_metrics_register(reg, &g, &hm.g));
    CHECK_OK(ant_metrics_register(reg, &h, &hm.h));
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, hammer_main, &hm) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(ant_metric_value(hm.c, 0), 2 * HAMMER_N);
    CHECK_INT(ant_metric_value(hm.c, 1), 2 * HAMMER_N);
    CHECK_INT(ant_metric_value(hm.g, 0), 0);
    CHECK_INT(ant_metric_value(hm.h, 0), 4 * HAMMER_N);
    ant_metrics_free(reg);
}

static void collect_hostile(void *ctx, struct ant_metrics_writer *w)
{
    (void)ctx;
    ant_metrics_write_family(w, "pending_info", ANT_METRIC_GAUGE, "help with \\ and\nnewline");
    ant_metrics_write_sample(w, "pending_info",
                             (const char *[]){"version", "1\"}\nevil 1\\\x01\xc3", NULL}, 1);
}

static void test_render_exact(void)
{
    struct ant_metrics *reg = fresh();
    static const uint64_t bk[] = {100, 2500000};
    const struct ant_metric_desc c = {"req_total", "Requests.", ANT_METRIC_COUNTER, "op", ops, 2,
                                      NULL, 0};
    const struct ant_metric_desc g = {"temp_celsius", "T.", ANT_METRIC_GAUGE, NULL, NULL, 0,
                                      NULL, 0};
    const struct ant_metric_desc h = {"dur_seconds", "D.", ANT_METRIC_HISTOGRAM, NULL, NULL, 0,
                                      bk, 2};
    struct ant_metric *mc, *mg, *mh;
    char *text;

    CHECK_OK(ant_metrics_register(reg, &c, &mc));
    CHECK_OK(ant_metrics_register(reg, &g, &mg));
    CHECK_OK(ant_metrics_register(reg, &h, &mh));
    ant_metric_add(mc, 1, 3);
    ant_metric_set(mg, 0, -7);
    ant_metric_observe(mh, 0, 100);     /* on the bound: counts in le=0.0001 */
    ant_metric_observe(mh, 0, 101);     /* next bucket */
    ant_metric_observe(mh, 0, 9000000); /* +Inf */
    CHECK_OK(ant_metrics_add_collector(reg, collect_hostile, NULL));
    text = render(reg);
    CHECK_STR(text, "# HELP req_total Requests.\n"
                    "# TYPE req_total counter\n"
                    "req_total{op=\"get\"} 0\n"
                    "req_total{op=\"put\"} 3\n"
                    "# HELP temp_celsius T.\n"
                    "# TYPE temp_celsius gauge\n"
                    "temp_celsius -7\n"
                    "# HELP dur_seconds D.\n"
                    "# TYPE dur_seconds histogram\n"
                    "dur_seconds_bucket{le=\"0.0001\"} 1\n"
                    "dur_seconds_bucket{le=\"2.5\"} 2\n"
                    "dur_seconds_bucket{le=\"+Inf\"} 3\n"
                    "dur_seconds_sum 9.000201\n"
                    "dur_seconds_count 3\n"
                    "# HELP pending_info help with \\\\ and\\nnewline\n"
                    "# TYPE pending_info gauge\n"
                    "pending_info{version=\"1\\\"}\\nevil 1\\\\??\"} 1\n");
    free(text);
    /* After removal the collector is gone from the output. */
    ant_metrics_remove_collector(reg, collect_hostile, NULL);
    text = render(reg);
    CHECK(text != NULL && strstr(text, "pending_info") == NULL);
    free(text);
    ant_metrics_free(reg);
}

static void collect_bad_name(void *ctx, struct ant_metrics_writer *w)
{
    (void)ctx;
    ant_metrics_write_family(w, "bad name", ANT_METRIC_GAUGE, "h");
}

static void collect_huge(void *ctx, struct ant_metrics_writer *w)
{
    (void)ctx;
    ant_metrics_write_family(w, "big", ANT_METRIC_GAUGE, "h");
    for (int i = 0; i < 200000; i++)
        ant_metrics_write_sample(w, "big", (const char *[]){"i", "xxxxxxxxxxxxxxxx", NULL}, i);
}

static void test_render_failures(void)
{
    struct ant_metrics *reg = fresh();
    char *text = (char *)1;
    size_t len = 1;
    CHECK_OK(ant_metrics_add_collector(reg, collect_bad_name, NULL));
    CHECK_ERR(ant_metrics_render(reg, &text, &len), ANT_ERR_INVALID_ARG);
    CHECK(text == NULL && len == 0);
    ant_metrics_remove_collector(reg, collect_bad_name, NULL);
    CHECK_OK(ant_metrics_add_collector(reg, collect_huge, NULL));
    CHECK_ERR(ant_metrics_render(reg, &text, &len), ANT_ERR_TOO_LARGE);
    CHECK(text == NULL);
    ant_metrics_remove_collector(reg, collect_huge, NULL);
    text = render(reg);
    CHECK_STR(text, "");
    free(text);
    ant_metrics_free(reg);
}

static void test_health(void)
{
    struct ant_metrics *reg = fresh();
    char why[ANT_METRICS_REASON_MAX + 40];
    CHECK(!ant_metrics_healthy(reg, why, sizeof why));
    CHECK_STR(why, "not started");
    CHECK_OK(ant_metrics_health_set(reg, "node", true, "serving"));
    CHECK(ant_metrics_healthy(reg, why, sizeof why));
    CHECK_OK(ant_metrics_health_set(reg, "upgrade", false, "restarting into 0.2.0\r\nX: y"));
    CHECK(!ant_metrics_healthy(reg, why, sizeof why));
    CHECK_STR(why, "upgrade: restarting into 0.2.0__X: y");
    ant_metrics_health_clear(reg, "upgrade");
    CHECK(ant_metrics_healthy(reg, why, sizeof why));
    CHECK_ERR(ant_metrics_health_set(reg, "", true, "x"), ANT_ERR_INVALID_ARG);
    for (int i = 0; i < ANT_METRICS_HEALTH_MAX - 1; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        CHECK_OK(ant_metrics_health_set(reg, name, true, "ok"));
    }
    CHECK_ERR(ant_metrics_health_set(reg, "onemore", true, "ok"), ANT_ERR_TOO_LARGE);
    ant_metrics_free(reg);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_register_rules),
    ANT_TEST(test_concurrent_updates_are_exact),
    ANT_TEST(test_render_exact),
    ANT_TEST(test_render_failures),
    ANT_TEST(test_health),
};

ANT_TEST_MAIN(tests)
