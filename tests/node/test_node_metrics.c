/*
 * The node's metrics hooks in-process (src/node/node_metrics.c): antnode_ready and the
 * `node` health component follow start and stop, and twenty nodes started in one process
 * (more than the registry has collector slots) all start and serve — metrics never stop a
 * node from starting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/metrics.h"
#include "ant/node.h"
#include "ant/node_client.h"
#include "test.h"

#define NODES 20

static double sample(const char *series)
{
    char *text = NULL;
    size_t len = 0, n = strlen(series);
    double v = -1;
    if (ant_metrics_render(ant_metrics_default(), &text, &len) != ANT_OK)
        return -2;
    for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    free(text);
    return v;
}

static void test_many_nodes_in_one_process(void)
{
    char tmpl[] = "/tmp/ant-node-metrics-XXXXXX", root[128], why[256], cmd[128];
    struct ant_node *nodes[NODES] = {0};
    char *dir = mkdtemp(tmpl);

    CHECK(dir != NULL);
    if (dir == NULL)
        return;
    CHECK(!ant_metrics_healthy(ant_metrics_default(), why, sizeof why));
    for (int i = 0; i < NODES; i++) {
        struct ant_node_config cfg;
        snprintf(root, sizeof root, "%s/n%d", dir, i);
        ant_node_config_defaults(&cfg, NULL);
        CHECK_OK(ant_node_config_set(&cfg, "root-dir", root, ANT_NODE_CONFIG_CLI, NULL, 0));
        CHECK_OK(ant_node_config_set(&cfg, "map-size", "16MiB", ANT_NODE_CONFIG_CLI, NULL, 0));
        CHECK_OK(ant_node_config_set(&cfg, "workers", "1", ANT_NODE_CONFIG_CLI, NULL, 0));
        CHECK_OK(ant_node_start(&cfg, &nodes[i]));
    }
    CHECK(sample("antnode_ready") == 1);
    CHECK(ant_metrics_healthy(ant_metrics_default(), why, sizeof why));
    for (int i = 0; i < NODES; i++) {
        struct ant_node_client *c = NULL;
        char addr[64];
        if (nodes[i] == NULL)
            continue;
        snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)ant_node_port(nodes[i]));
        CHECK_OK(ant_node_client_connect(addr, 5000, &c));
        CHECK_OK(ant_node_client_ping(c));
        ant_node_client_close(c);
    }
    CHECK_INT((long long)sample("antnode_protocol_requests_total{op=\"ping\"}"), NODES);
    for (int i = 0; i < NODES; i++)
        ant_node_stop(nodes[i]);
    /* Stopped: not ready, and no component left to vouch for the process. */
    CHECK(sample("antnode_ready") == 0);
    CHECK(!ant_metrics_healthy(ant_metrics_default(), why, sizeof why));
    CHECK(sample("antnode_store_chunks") == -1); /* every store collector removed */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static const struct ant_test_case tests[] = {
    ANT_TEST(test_many_nodes_in_one_process),
};

ANT_TEST_MAIN(tests)
