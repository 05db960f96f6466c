/*
 * The devnet's own machinery without a rollout (seconds, not minutes): `up` builds the tree
 * and starts nginx and the supervisor; the release server answers over TLS only for a
 * client that trusts the devnet CA (checked with the project's own HTTPS client);
 * `publish` puts a signed archive behind the GitHub-shaped list that verifies under the
 * version-bound context; the supervisor restarts crashing nodes with new pids and counts
 * it; and `down` leaves nothing running even after the supervisor was SIGKILLed.
 *
 * The deployed binary is the broken-release fixture (devnet_bad_node): it answers
 * --version like ant-node and exits at start, which is exactly a crash loop for the
 * supervisor to handle.
 */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/devnet.h"
#include "ant/http.h"
#include "ant/meta.h"
#include "ant/mldsa65.h"
#include "ant/release_context.h"
#include "devnet/devnet_int.h"
#include "test.h"

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (st.st_mode & 07777) : (mode_t)-1;
}

static ant_err get(const char *url, const char *ca, uint8_t **body, size_t *len, long *status)
{
    struct ant_http_opts o;
    ant_http_opts_init(&o);
    o.ca_file = ca;
    o.timeout_ms = 10000;
    struct ant_http_result r;
    memset(&r, 0, sizeof r);
    ant_err e = ant_http_get_mem(url, &o, 1u << 24, body, len, &r);
    *status = r.status;
    return e;
}

/* The timestamp's rollout and the targets' policy, as the devnet's repository now holds. */
static void read_controls(const char *devdir, struct ant_meta_rollout *ro, char *minimum,
                          size_t mcap, size_t *yanked)
{
    char path[PATH_MAX];
    struct ant_meta_envelope *env = NULL;
    struct ant_meta_targets *t = NULL;
    struct ant_meta_timestamp *ts = NULL;
    uint64_t m = 0;
    size_t plen = 0;
    memset(ro, 0, sizeof *ro);
    minimum[0] = '\0';
    *yanked = 0;
    CHECK_OK(dn_meta_dir(devdir, path, sizeof path));
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_OK(ant_meta_repo_newest(fd, ANT_META_ROLE_TARGETS, &m));
    CHECK_OK(ant_meta_repo_load(fd, ANT_META_ROLE_TARGETS, m, &env, NULL, 0));
    const uint8_t *p = env != NULL ? ant_meta_envelope_payload(env, &plen) : NULL;
    if (p != NULL && ant_meta_targets_parse(p, plen, &t) == ANT_OK) {
        snprintf(minimum, mcap, "%s", ant_meta_targets_minimum_version(t));
        *yanked = ant_meta_targets_yanked_count(t);
    }
    ant_meta_targets_free(t);
    ant_meta_envelope_free(env);
    env = NULL;
    CHECK_OK(ant_meta_repo_load(fd, ANT_META_ROLE_TIMESTAMP, 0, &env, NULL, 0));
    p = env != NULL ? ant_meta_envelope_payload(env, &plen) : NULL;
    if (p != NULL && ant_meta_timestamp_parse(p, plen, &ts) == ANT_OK)
        ant_meta_timestamp_rollout(ts, ro);
    ant_meta_timestamp_free(ts);
    ant_meta_envelope_free(env);
    close(fd);
}

/* `ant-devnet rollout | yank | minimum` (ARCHITECTURE.md §10) on the devnet's metadata. */
static void check_rollout_control(const char *dir, const char *devdir, const char *version)
{
    struct ant_meta_rollout ro;
    char minimum[64];
    size_t yanked = 0;
    CHECK_ERR(ant_devnet_rollout(dir, NULL, "50", -1), ANT_ERR_NOT_FOUND); /* none to steer */
    CHECK_ERR(ant_devnet_rollout(dir, "9.9.9", "50", -1), ANT_ERR_NOT_FOUND); /* unlisted */
    CHECK_ERR(ant_devnet_rollout(dir, version, NULL, 1), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_devnet_rollout(dir, version, "101", -1), ANT_ERR_PARSE);
    CHECK_OK(ant_devnet_rollout(dir, version, "20", -1));
    read_controls(devdir, &ro, minimum, sizeof minimum, &yanked);
    CHECK(ro.present && !ro.halted);
    CHECK_STR(ro.version, version);
    CHECK_INT(ro.cursor_ppm, 200000);
    uint8_t seed[32];
    memcpy(seed, ro.seed, sizeof seed);
    CHECK_OK(ant_devnet_rollout(dir, NULL, NULL, 1));
    read_controls(devdir, &ro, minimum, sizeof minimum, &yanked);
    CHECK(ro.present && ro.halted);
    CHECK_INT(ro.cursor_ppm, 200000);
    CHECK(memcmp(ro.seed, seed, sizeof seed) == 0);
    CHECK_OK(ant_devnet_rollout(dir, NULL, "50", 0));
    read_controls(devdir, &ro, minimum, sizeof minimum, &yanked);
    CHECK(ro.present && !ro.halted);
    CHECK_INT(ro.cursor_ppm, 500000);
    CHECK_INT(yanked, 0);
    CHECK_OK(ant_devnet_policy(dir, version, false));
    CHECK_OK(ant_devnet_policy(dir, "0.0.1", true));
    CHECK_ERR(ant_devnet_policy(dir, "0.1", true), ANT_ERR_BAD_VERSION);
    read_controls(devdir, &ro, minimum, sizeof minimum, &yanked);
    CHECK_STR(minimum, version);
    CHECK_INT(yanked, 1);
    CHECK(ro.present && ro.cursor_ppm == 500000); /* the new timestamp kept the rollout */
}

static void test_up_publish_supervise_down(void)
{
    const char *bad = getenv("ANT_BAD_NODE_BIN");
    const char *bad_version = getenv("ANT_BAD_VERSION");
    CHECK_MSG(bad != NULL && bad_version != NULL, "run through ctest");
    if (bad == NULL || bad_version == NULL)
        return;
    char dir[64], path[PATH_MAX + 64], ca[PATH_MAX + 64], url[PATH_MAX];
    snprintf(dir, sizeof dir, "/tmp/ant-devnet-life-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);

    struct ant_devnet_up_opts o = {
        .dir = dir,
        .binary = bad,
        .hosts = 2,
        .nodes_per_host = 2,
        .rollout_window_s = 60,
        .check_interval_s = 10,
        .release_ttl_s = 30,
        .restart_delay_ms = 200,
    };
    /* --netns needs root: refused before anything is written. When the test runs as root
     * (devnet_e2e_netns covers --netns there), the refusal is checked in a child that gave
     * up root first. */
    o.netns = true;
    if (geteuid() != 0) {
        CHECK_ERR(ant_devnet_up(&o), ANT_ERR_INVALID_ARG);
    } else {
        fflush(NULL);
        pid_t child = fork();
        CHECK(child >= 0);
        if (child == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(2);
            _exit(ant_devnet_up(&o) == ANT_ERR_INVALID_ARG ? 0 : 1);
        }
        int status = -1;
        CHECK(child > 0 && waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    snprintf(path, sizeof path, "%s/devnet.json", dir);
    CHECK(access(path, F_OK) != 0);
    o.netns = false;
    CHECK_OK(ant_devnet_up(&o));
    /* one devnet per dir */
    CHECK_ERR(ant_devnet_up(&o), ANT_ERR_EXISTS);

    struct dn_config *cfg = calloc(1, sizeof *cfg);
    CHECK(cfg != NULL);
    if (cfg == NULL)
        return;
    CHECK_OK(dn_config_load(dir, cfg));
    snprintf(path, sizeof path, "%s/keys/trusted", cfg->dir);
    CHECK_INT(mode_of(path), 0700);
    snprintf(path, sizeof path, "%s/keys/trusted/devnet.pub", cfg->dir);
    CHECK_INT(mode_of(path), 0644);
    snprintf(path, sizeof path, "%s/hosts/h1/bin/ant-node", cfg->dir);
    CHECK_INT(mode_of(path), 0755);
    snprintf(ca, sizeof ca, "%s/tls/ca.pem", cfg->dir);

    /* The release list over TLS: trusted through the devnet CA, by IP and by name; a
     * client with only the system's CAs refuses the server. */
    uint8_t *body = NULL;
    size_t len = 0;
    long status = 0;
    snprintf(url, sizeof url, "https://127.0.0.1:%u/repos/devnet/ant-node/releases?per_page=30",
             (unsigned)cfg->https_port);
    CHECK_OK(get(url, ca, &body, &len, &status));
    CHECK_INT(status, 200);
    CHECK(body != NULL && strcmp((char *)body, "[]\n") == 0);
    free(body);
    body = NULL;
    snprintf(url, sizeof url, "https://localhost:%u/repos/devnet/ant-node/releases",
             (unsigned)cfg->https_port);
    CHECK_OK(get(url, ca, &body, &len, &status));
    free(body);
    body = NULL;
    CHECK_ERR(get(url, NULL, &body, &len, &status), ANT_ERR_NETWORK);
    snprintf(url, sizeof url, "https://127.0.0.1:%u/keys/release.key", (unsigned)cfg->https_port);
    CHECK_ERR(get(url, ca, &body, &len, &status), ANT_ERR_HTTP_STATUS);
    CHECK_INT(status, 404);

    /* publish: list entry, archive and signature served, signature bound to the version */
    CHECK_ERR(ant_devnet_publish(dir, bad, "9.9.9", false), ANT_ERR_MISMATCH);
    CHECK_OK(ant_devnet_publish(dir, bad, bad_version, false));
    CHECK_ERR(ant_devnet_publish(dir, bad, bad_version, false), ANT_ERR_EXISTS);
    snprintf(url, sizeof url, "https://127.0.0.1:%u/repos/devnet/ant-node/releases?per_page=30",
             (unsigned)cfg->https_port);
    CHECK_OK(get(url, ca, &body, &len, &status));
    json_object *list = body != NULL ? json_tokener_parse((char *)body) : NULL;
    free(body);
    body = NULL;
    CHECK(list != NULL && json_object_array_length(list) == 1);
    json_object *rel = list != NULL ? json_object_array_get_idx(list, 0) : NULL, *x = NULL;
    char tag[160];
    snprintf(tag, sizeof tag, "v%s", bad_version);
    CHECK(rel != NULL && json_object_object_get_ex(rel, "tag_name", &x) &&
          strcmp(json_object_get_string(x), tag) == 0);
    json_object *assets = NULL;
    CHECK(rel != NULL && json_object_object_get_ex(rel, "assets", &assets) &&
          json_object_array_length(assets) == 2);
    uint8_t *archive = NULL, *sig = NULL;
    size_t alen = 0, slen = 0;
    for (size_t i = 0; assets != NULL && i < json_object_array_length(assets); i++) {
        json_object *a = json_object_array_get_idx(assets, i), *u = NULL, *n = NULL, *sz = NULL;
        CHECK(json_object_object_get_ex(a, "browser_download_url", &u) &&
              json_object_object_get_ex(a, "name", &n) && json_object_object_get_ex(a, "size", &sz));
        const char *name = json_object_get_string(n);
        bool is_sig = strstr(name, ".sig") != NULL;
        CHECK_OK(get(json_object_get_string(u), ca, is_sig ? &sig : &archive,
                     is_sig ? &slen : &alen, &status));
        CHECK_INT((long long)(is_sig ? slen : alen), json_object_get_int64(sz));
    }
    json_object_put(list);
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    snprintf(path, sizeof path, "%s/keys/trusted/devnet.pub", cfg->dir);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL && fread(pk, 1, sizeof pk, f) == sizeof pk);
    if (f != NULL)
        fclose(f);
    char ctx[ANT_RELEASE_CONTEXT_CAP];
    CHECK_OK(ant_release_context(ctx, sizeof ctx, bad_version, ant_release_platform_host()));
    CHECK(archive != NULL && sig != NULL);
    if (archive != NULL && sig != NULL)
        CHECK_OK(ant_mldsa65_verify(sig, slen, archive, alen, (const uint8_t *)ctx, strlen(ctx),
                                    pk, sizeof pk));
    free(archive);
    free(sig);

    check_rollout_control(dir, cfg->dir, bad_version);

    /* The nodes crash at start: the supervisor restarts each with a new pid and counts. */
    struct dn_state *st = NULL;
    bool looping = false;
    for (int i = 0; i < 60 && !looping; i++) {
        sleep_s(0.25);
        free(st);
        st = NULL;
        if (dn_state_load(dir, &st) != ANT_OK)
            continue;
        looping = true;
        for (unsigned k = 0; k < 4; k++)
            looping = looping && st->node[k].restarts >= 3;
    }
    CHECK_MSG(looping, "the supervisor did not keep restarting the crashing nodes");
    if (st != NULL) {
        const struct dn_node_state *n = &st->node[3];
        CHECK(n->nstarts >= 3);
        for (size_t k = 1; k < n->nstarts; k++) {
            CHECK(n->starts[k].pid != n->starts[k - 1].pid);
            CHECK(n->starts[k].at >= n->starts[k - 1].at + 0.15); /* the restart delay */
            CHECK(WIFEXITED(n->starts[k].prev_status) && WEXITSTATUS(n->starts[k].prev_status) == 1);
        }
    }
    snprintf(path, sizeof path, "%s/hosts/h1/logs/n1.log", cfg->dir);
    char *log = NULL;
    size_t loglen = 0;
    CHECK_OK(dn_read_file(path, 1u << 20, &log, &loglen));
    CHECK(log != NULL && strstr(log, "Cannot load identity") != NULL);
    free(log);

    /* A crashed supervisor leaves nginx and nodes behind; `down` still finds them all. */
    unsigned left = 0;
    CHECK_OK(ant_devnet_count_processes(dir, &left));
    CHECK(left >= 3); /* supervisor, nginx master and worker at least */
    CHECK(st != NULL && kill(st->supervisor_pid, SIGKILL) == 0);
    free(st);
    sleep_s(0.3);
    CHECK_OK(ant_devnet_count_processes(dir, &left));
    CHECK(left >= 2);
    CHECK_OK(ant_devnet_down(dir));
    CHECK_OK(ant_devnet_count_processes(dir, &left));
    CHECK_INT(left, 0);
    CHECK(!dn_port_open(cfg->https_port));
    /* down is idempotent */
    CHECK_OK(ant_devnet_down(dir));
    free(cfg);
    if (ant_test_failures == 0) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
    }
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_up_publish_supervise_down),
};
ANT_TEST_MAIN(cases)
