/*
 * The fleet page's JSON (ant_devnet_fleet_json) over a synthetic devnet whose node logs the
 * test writes itself: per-node version, downloads, cache hits, rollbacks, errors, last
 * event, per-host sums, version changes in time order, the rollout against its window; a
 * log line crafted to break out of the JSON or the page (`</script>` in a version) comes out
 * escaped; logs appended between two reads are picked up; the operator's steering record
 * becomes the page's step markers; and the page itself references nothing outside itself.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/devnet_serve.h"
#include "test.h"

static char dir[64];

static void write_file(const char *rel, const char *text, const char *mode)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    f = fopen(path, mode);
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void make_devnet(void)
{
    char path[256], cfg[512];
    char tmpl[] = "/tmp/ant-fleet-json-XXXXXX";
    CHECK(mkdtemp(tmpl) != NULL);
    snprintf(dir, sizeof dir, "%s", tmpl);
    for (int h = 0; h < 2; h++) {
        snprintf(path, sizeof path, "%s/hosts", dir);
        (void)mkdir(path, 0700);
        snprintf(path, sizeof path, "%s/hosts/h%d", dir, h);
        CHECK(mkdir(path, 0700) == 0);
        snprintf(path, sizeof path, "%s/hosts/h%d/logs", dir, h);
        CHECK(mkdir(path, 0700) == 0);
    }
    snprintf(cfg, sizeof cfg,
             "{\"format\":1,\"dir\":\"%s\",\"hosts\":2,\"nodes_per_host\":2,\"https_port\":1,"
             "\"rollout_window_s\":100,\"check_interval_s\":10,\"release_ttl_s\":30,"
             "\"trial_period_s\":0,\"restart_delay_ms\":500,\"channel\":\"stable\","
             "\"platform\":\"linux-x64\",\"initial_version\":\"0.1.0\","
             "\"node_ports\":[1,2,3,4]}",
             dir);
    write_file("devnet.json", cfg, "w");
    write_file("published.json", "[{\"version\":\"0.2.0\",\"published_at\":1000}]", "w");
#define L(t, rest) "2026-01-01T00:00:" t "Z INFO " rest "\n"
    /* h0n0 downloads and moves to 0.2.0; h0n1 takes the cache hit. */
    write_file("hosts/h0/logs/n0.log",
               L("01.000", "node Node started version=0.1.0 peer_id=aa pid=1")
               L("10.000", "upgrade Upgrade scheduled version=0.2.0 first_seen=1767225610 delay_s=5 at=1767225615")
               L("15.000", "upgrade Downloading ant-node archive... version=0.2.0 url=https://x")
               L("16.000", "upgrade Restarting into new binary version=0.2.0 mode=service scheduled_at=1767225615")
               L("17.000", "node Node started version=0.2.0 peer_id=aa pid=2"),
               "w");
    write_file("hosts/h0/logs/n1.log",
               L("02.000", "node Node started version=0.1.0 peer_id=bb pid=3")
               L("08.000", "upgrade Upgrade scheduled version=0.2.0 first_seen=1767225608 delay_s=20 at=1767225628")
               L("28.000", "upgrade Reused signature-verified cached archive for 0.2.0 version=0.2.0")
               L("29.000", "node Node started version=0.2.0 peer_id=bb pid=4"),
               "w");
    /* h1n0 fails a download, then rolls a trial back; h1n1 logs a hostile version. */
    write_file("hosts/h1/logs/n0.log",
               L("03.000", "node Node started version=0.1.0 peer_id=cc pid=5")
               L("20.000", "upgrade Upgrade failed version=0.2.0 stage=download error=timeout")
               L("40.000", "upgrade Rolling back failed upgrade version=0.2.0 attempts=3 backup=/x"),
               "w");
    write_file("hosts/h1/logs/n1.log",
               L("04.000", "node Node started version=</script><img/src=x>\"q pid=6"), "w");
}

static json_object *get(json_object *o, const char *k)
{
    json_object *v = NULL;
    CHECK_MSG(json_object_object_get_ex(o, k, &v), "missing key %s", k);
    return v;
}

static int64_t geti(json_object *o, const char *k)
{
    return json_object_get_int64(get(o, k));
}

static void test_fleet_json(void)
{
    char *text = NULL;
    size_t len = 0;
    json_object *root, *nodes, *n0, *n1, *n2, *n3, *tr, *h0, *ro;

    make_devnet();
    CHECK_OK(ant_devnet_fleet_json(dir, &text, &len));
    CHECK(text != NULL && strlen(text) == len);
    /* A log line must not be able to close a <script> the JSON might be embedded in. */
    CHECK(text != NULL && strstr(text, "</script>") == NULL);
    root = json_tokener_parse(text);
    CHECK(root != NULL);
    if (root == NULL)
        goto out;
    nodes = get(root, "nodes");
    CHECK_INT(json_object_array_length(nodes), 4);
    n0 = json_object_array_get_idx(nodes, 0);
    n1 = json_object_array_get_idx(nodes, 1);
    n2 = json_object_array_get_idx(nodes, 2);
    n3 = json_object_array_get_idx(nodes, 3);
    CHECK_STR(json_object_get_string(get(n0, "id")), "h0n0");
    CHECK_STR(json_object_get_string(get(n0, "version")), "0.2.0");
    CHECK_INT(geti(n0, "downloads"), 1);
    CHECK_INT(geti(n0, "cache_hits"), 0);
    CHECK_INT(geti(n0, "restarts"), 1); /* no state file: starts - 1 */
    CHECK(json_object_get_boolean(get(n0, "alive")) == 0);
    CHECK_STR(json_object_get_string(get(get(n0, "last_event"), "event")), "started");
    CHECK_INT(geti(n1, "cache_hits"), 1);
    CHECK_STR(json_object_get_string(get(n2, "version")), "0.1.0");
    CHECK_INT(geti(n2, "errors"), 1);
    CHECK_INT(geti(n2, "rollbacks"), 1);
    CHECK_STR(json_object_get_string(get(get(n2, "last_event"), "event")), "rolled back");
    CHECK_STR(json_object_get_string(get(n3, "version")), "</script><img/src=x>\"q");
    h0 = json_object_array_get_idx(get(root, "hosts_summary"), 0);
    CHECK_INT(geti(h0, "downloads"), 1);
    CHECK_INT(geti(h0, "cache_hits"), 1);
    tr = get(root, "transitions");
    CHECK_INT(json_object_array_length(tr), 6);
    for (size_t i = 1; i < json_object_array_length(tr); i++)
        CHECK(json_object_get_double(json_object_array_get_idx(json_object_array_get_idx(tr, i - 1), 0)) <=
              json_object_get_double(json_object_array_get_idx(json_object_array_get_idx(tr, i), 0)));
    ro = get(root, "rollout");
    CHECK_STR(json_object_get_string(get(ro, "version")), "0.2.0");
    CHECK_INT(geti(ro, "on_target"), 2);
    CHECK_INT(geti(ro, "nodes"), 4);
    CHECK(json_object_get_double(get(ro, "window_start")) == 1767225608.0); /* earliest */
    CHECK_INT(geti(root, "rollout_window_s"), 100);
    json_object_put(root);

    /* The report's snapshot: the page with this JSON inside, the hostile version unable to
     * end the script element. */
    CHECK_OK(ant_devnet_fleet_snapshot(dir));
    {
        char path[128], *html = calloc(1, 1 << 20);
        FILE *f;
        size_t n = 0;
        snprintf(path, sizeof path, "%s/fleet.html", dir);
        f = fopen(path, "r");
        CHECK(f != NULL && html != NULL);
        if (f != NULL && html != NULL) {
            n = fread(html, 1, (1 << 20) - 1, f);
            html[n] = '\0';
        }
        if (f != NULL)
            fclose(f);
        CHECK(html != NULL && strstr(html, "<script id=\"fleet-snapshot\" type=\"application/json\">") != NULL);
        CHECK(html != NULL && strstr(html, "<img") == NULL);
        CHECK(html != NULL && strstr(html, "\\u003c\\/script>\\u003cimg") != NULL);
        CHECK(html != NULL && strstr(html, "\"h1n1\"") != NULL);
        free(html);
    }

    /* The node that rolled back starts again: the next read sees it. */
    free(text);
    text = NULL;
    write_file("hosts/h1/logs/n0.log", L("41.000", "node Node started version=0.1.0 pid=7"), "a");
    CHECK_OK(ant_devnet_fleet_json(dir, &text, &len));
    root = text != NULL ? json_tokener_parse(text) : NULL;
    CHECK(root != NULL);
    if (root != NULL) {
        n2 = json_object_array_get_idx(get(root, "nodes"), 2);
        CHECK_INT(geti(n2, "restarts"), 1);
        CHECK_STR(json_object_get_string(get(get(n2, "last_event"), "event")), "started");
        json_object_put(root);
    }
out:
    free(text);
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

/* The operator's steps (steering.json) come out as the page's markers with their labels,
 * and the rollout chart follows the newest release that was not yanked. */
static void test_fleet_json_steering(void)
{
    char *text = NULL, steer[2048], seed[65];
    size_t len = 0;
    make_devnet();
    write_file("published.json", "[{\"version\":\"0.2.0\",\"published_at\":1000},"
               "{\"version\":\"0.3.0\",\"published_at\":2000}]", "w");
    memset(seed, 'a', 64);
    seed[64] = '\0';
#define STEP(at, ppm, halted)                                                               \
    "{\"kind\":\"rollout\",\"at\":" #at ",\"version\":\"0.2.0\",\"cursor_ppm\":" #ppm \
    ",\"halted\":" #halted ",\"seed\":\"%s\"},"
    snprintf(steer, sizeof steer,
             "[" STEP(1001, 0, false) STEP(1100, 200000, false) STEP(1200, 200000, true)
                 STEP(1300, 500000, true) STEP(1400, 500000, false) STEP(1500, 1000000, false)
             "{\"kind\":\"yank\",\"at\":2001,\"version\":\"0.3.0\"},"
             "{\"kind\":\"minimum\",\"at\":2100,\"version\":\"0.2.0\"}]",
             seed, seed, seed, seed, seed, seed);
#undef STEP
    write_file("steering.json", steer, "w");
    CHECK_OK(ant_devnet_fleet_json(dir, &text, &len));
    json_object *root = text != NULL ? json_tokener_parse(text) : NULL;
    CHECK(root != NULL);
    if (root != NULL) {
        static const char *const labels[] = {"0%", "20%", "halt", "50% (halted)", "resume 50%",
                                             "100%", "yank 0.3.0", "minimum 0.2.0"};
        json_object *st = get(root, "steering");
        CHECK_INT(json_object_array_length(st), 8);
        for (size_t i = 0; i < 8 && i < json_object_array_length(st); i++)
            CHECK_STR(json_object_get_string(get(json_object_array_get_idx(st, i), "label")),
                      labels[i]);
        CHECK(json_object_get_double(get(json_object_array_get_idx(st, 2), "t")) == 1200.0);
        CHECK_STR(json_object_get_string(get(get(root, "rollout"), "version")), "0.2.0");
        json_object_put(root);
    }
    free(text);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void test_no_devnet(void)
{
    char *text = NULL;
    size_t len = 0;
    CHECK_ERR(ant_devnet_fleet_json("/nonexistent-ant-devnet", &text, &len), ANT_ERR_NOT_FOUND);
    CHECK(text == NULL);
}

/* Self-contained: no script, style, image or font is fetched from anywhere. */
static void test_page_is_self_contained(void)
{
    const char *page = ant_devnet_fleet_page();
    static const char *const banned[] = {"<script src", "<link", "@import", "url(", "https://",
                                         "<img", "<iframe"};
    CHECK(page != NULL && strstr(page, "<!DOCTYPE html>") == page);
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        CHECK_MSG(strstr(page, banned[i]) == NULL, "page contains %s", banned[i]);
    /* The only absolute URL is the SVG namespace name, which is never fetched. */
    for (const char *p = strstr(page, "http://"); p != NULL; p = strstr(p + 1, "http://"))
        CHECK(strncmp(p, "http://www.w3.org/2000/svg", 26) == 0);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_fleet_json),
    ANT_TEST(test_fleet_json_steering),
    ANT_TEST(test_no_devnet),
    ANT_TEST(test_page_is_self_contained),
};

ANT_TEST_MAIN(tests)
