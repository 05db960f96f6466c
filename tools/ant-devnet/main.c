/*
 * ant-devnet: command-line front end of the devnet module (include/ant/devnet.h). It only
 * parses options and maps results to exit codes: 0 success, 1 failure, 2 usage error,
 * 3 `report` written but some row FAILED.
 */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ant/devnet.h"
#include "ant/devnet_serve.h"
#include "ant/log.h"
#include "ant/version.h"

#define EXIT_USAGE 2
#define EXIT_REPORT_FAIL 3

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ant-devnet <command> [--dir D] [options]\n"
            "\n"
            "commands:\n"
            "  up [--binary PATH] [--hosts H] [--nodes-per-host N] [--rollout-window DUR]\n"
            "     [--check-interval DUR] [--release-ttl DUR] [--trial-period DUR]\n"
            "     [--channel stable|beta] [--restart-delay-ms MS] [--netns] [--no-serve]\n"
            "     [--systemd [--rootfs DIR] [--packaging DIR]]\n"
            "                      create the devnet in D and start nginx, the nodes and the\n"
            "                      fleet page (its URL in D/fleet.url; --no-serve: none)\n"
            "  publish --binary PATH --release-version V [--prerelease] [--delta|--delta-corrupt]\n"
            "                      pack, sign and list release V; --delta also binary patches\n"
            "                      from the hosts' binaries and the last 3 releases\n"
            "                      (--delta-corrupt: served with a byte flipped)\n"
            "  status              supervisor, release server and one line per node\n"
            "  watch --release-version V [--timeout DUR] [--quiet]\n"
            "                      print node events until every node runs V\n"
            "  report [--json]     check the rollout; writes report.json, report.md,\n"
            "                      restarts.svg and the fleet page's snapshot fleet.html in D\n"
            "                      (exit 3 if a row FAILs)\n"
            "  freeze              stop re-signing the release metadata timestamp: the nodes\n"
            "                      go `stale` once it expires and install nothing\n"
            "  thaw                re-sign the timestamp now and resume the schedule\n"
            "  rollout [--release-version V] [--cursor PCT] [--halt | --resume]\n"
            "                      sign a timestamp steering the rollout of V (default: the\n"
            "                      current one): cursor percent, halt, resume (ARCHITECTURE §10)\n"
            "  yank --release-version V\n"
            "                      signed targets yanking V: never installed, nodes on it move on\n"
            "  minimum --release-version V\n"
            "                      signed targets with minimum_version V: nodes below it upgrade\n"
            "                      at their next check\n"
            "  rotate --role root|targets|timestamp\n"
            "                      new keys for the role through a new root version\n"
            "  down                stop the supervisor, the nodes and nginx\n"
            "  serve [--listen 127.0.0.1:PORT]\n"
            "                      serve the live fleet page (and its JSON) until SIGINT/SIGTERM\n"
            "\n"
            "D defaults to $XDG_DATA_HOME/ant/devnet (~/.local/share/ant/devnet); --binary to\n"
            "the ant-node beside ant-devnet (or in its build tree), else the one on PATH.\n"
            "DUR is seconds, or a number with s, m or h. --netns (root only) puts each host in\n"
            "its own network namespace on a private 10.X.Y.0/24 bridge; `down` deletes them.\n"
            "--systemd (root only, implies --netns) makes each host a systemd-nspawn container\n"
            "booting Debian 12's systemd from --rootfs (made by scripts/systemd-host-rootfs.sh;\n"
            "default " ANT_DEVNET_DEFAULT_ROOTFS ")\n"
            "where --packaging's install.sh (default " ANT_DEVNET_DEFAULT_PACKAGING ")\n"
            "installs ant-node@1..N; `report` then reads restarts and logs from systemd.\n");
}

/* Parses a duration into seconds: N, Ns, Nm, Nh. */
static bool parse_duration(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return false;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0)
        return false;
    uint64_t mul = 1;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        mul = 1;
    else if (strcmp(end, "m") == 0)
        mul = 60;
    else if (strcmp(end, "h") == 0)
        mul = 3600;
    else
        return false;
    if (v > UINT32_MAX / mul)
        return false;
    *out = (uint64_t)v * mul;
    return true;
}

static bool parse_uint(const char *text, unsigned max, unsigned *out)
{
    char *end = NULL;
    errno = 0;
    if (text == NULL || text[0] < '0' || text[0] > '9')
        return false;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

struct opts {
    const char *dir, *binary, *version, *channel, *listen, *role, *cursor, *rootfs, *packaging;
    unsigned hosts, nodes, restart_delay_ms;
    uint64_t window, interval, ttl, trial, timeout;
    bool netns, prerelease, json, quiet, no_serve, halt, resume, systemd, delta, delta_corrupt;
};

/* Accepts `--name value` and `--name=value`. Returns the index after the option, or -1. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    for (int i = 2; i < argc; i++) {
        char *arg = argv[i];
        char *val = NULL;
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "ant-devnet: unexpected argument '%s'\n", arg);
            return -1;
        }
        char name[64];
        char *eq = strchr(arg, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        if (nlen >= sizeof name) {
            fprintf(stderr, "ant-devnet: unknown option '%s'\n", arg);
            return -1;
        }
        memcpy(name, arg, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "--netns") == 0 || strcmp(name, "--prerelease") == 0 ||
            strcmp(name, "--json") == 0 || strcmp(name, "--quiet") == 0 ||
            strcmp(name, "--no-serve") == 0 || strcmp(name, "--halt") == 0 ||
            strcmp(name, "--resume") == 0 || strcmp(name, "--systemd") == 0 ||
            strcmp(name, "--delta") == 0 || strcmp(name, "--delta-corrupt") == 0) {
            if (eq != NULL) {
                fprintf(stderr, "ant-devnet: %s takes no value\n", name);
                return -1;
            }
            o->netns |= strcmp(name, "--netns") == 0;
            o->prerelease |= strcmp(name, "--prerelease") == 0;
            o->json |= strcmp(name, "--json") == 0;
            o->quiet |= strcmp(name, "--quiet") == 0;
            o->no_serve |= strcmp(name, "--no-serve") == 0;
            o->halt |= strcmp(name, "--halt") == 0;
            o->resume |= strcmp(name, "--resume") == 0;
            o->systemd |= strcmp(name, "--systemd") == 0;
            o->delta |= strcmp(name, "--delta") == 0;
            o->delta_corrupt |= strcmp(name, "--delta-corrupt") == 0;
            continue;
        }
        if (eq != NULL) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "ant-devnet: %s needs a value\n", name);
                return -1;
            }
            val = argv[++i];
        }
        bool ok = true;
        if (strcmp(name, "--dir") == 0)
            o->dir = val;
        else if (strcmp(name, "--binary") == 0)
            o->binary = val;
        else if (strcmp(name, "--listen") == 0)
            o->listen = val;
        else if (strcmp(name, "--release-version") == 0)
            o->version = val;
        else if (strcmp(name, "--channel") == 0)
            o->channel = val;
        else if (strcmp(name, "--role") == 0)
            o->role = val;
        else if (strcmp(name, "--cursor") == 0)
            o->cursor = val;
        else if (strcmp(name, "--rootfs") == 0)
            o->rootfs = val;
        else if (strcmp(name, "--packaging") == 0)
            o->packaging = val;
        else if (strcmp(name, "--hosts") == 0)
            ok = parse_uint(val, ANT_DEVNET_MAX_HOSTS, &o->hosts) && o->hosts > 0;
        else if (strcmp(name, "--nodes-per-host") == 0)
            ok = parse_uint(val, ANT_DEVNET_MAX_NODES_PER_HOST, &o->nodes) && o->nodes > 0;
        else if (strcmp(name, "--restart-delay-ms") == 0)
            ok = parse_uint(val, 600000, &o->restart_delay_ms);
        else if (strcmp(name, "--rollout-window") == 0)
            ok = parse_duration(val, &o->window);
        else if (strcmp(name, "--check-interval") == 0)
            ok = parse_duration(val, &o->interval) && o->interval > 0;
        else if (strcmp(name, "--release-ttl") == 0)
            ok = parse_duration(val, &o->ttl);
        else if (strcmp(name, "--trial-period") == 0)
            ok = parse_duration(val, &o->trial);
        else if (strcmp(name, "--timeout") == 0)
            ok = parse_duration(val, &o->timeout);
        else {
            fprintf(stderr, "ant-devnet: unknown option '%s'\n", name);
            return -1;
        }
        if (!ok) {
            fprintf(stderr, "ant-devnet: bad value for %s: '%s'\n", name, val);
            return -1;
        }
    }
    return argc;
}

/* The ant-node to deploy when --binary is not given: next to this program (an installed
 * bin dir), in the build tree's tools/ant-node, or the first ant-node on PATH. */
static bool default_binary(char *buf, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            static const char *const rel[] = {"/ant-node", "/../ant-node/ant-node"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                int w = snprintf(buf, cap, "%s%s", self, rel[i]);
                if (w > 0 && (size_t)w < cap && access(buf, X_OK) == 0)
                    return true;
            }
        }
    }
    const char *path = getenv("PATH");
    while (path != NULL && *path != '\0') {
        size_t len = strcspn(path, ":");
        int w = snprintf(buf, cap, "%.*s/ant-node", (int)len, path);
        if (len > 0 && w > 0 && (size_t)w < cap && access(buf, X_OK) == 0)
            return true;
        path += len + (path[len] == ':');
    }
    return false;
}

static int fail(const char *what, ant_err e)
{
    fprintf(stderr, "ant-devnet: %s failed: %s\n", what, ant_strerror(e));
    return EXIT_FAILURE;
}

/* Prints the fleet page's URL that the supervisor wrote, if it runs one. */
static void print_fleet_url(const char *dir)
{
    char path[PATH_MAX], url[64] = "";
    FILE *f;
    if (snprintf(path, sizeof path, "%s/%s", dir, ANT_DEVNET_FLEET_URL_FILE) >= (int)sizeof path)
        return;
    f = fopen(path, "re");
    if (f == NULL)
        return;
    if (fgets(url, sizeof url, f) != NULL && strncmp(url, "http://127.0.0.1:", 17) == 0)
        printf("fleet page: %s", url);
    (void)fclose(f); /* read-only: nothing to lose */
}

/* `serve`: the fleet page on loopback until SIGINT/SIGTERM (taken synchronously). */
static int cmd_serve(const struct opts *o)
{
    struct ant_devnet_server *srv = NULL;
    sigset_t mask;
    int sig = 0;
    ant_err e;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    /* Blocked before the server thread exists, so it inherits the mask. */
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0)
        return fail("serve", ANT_ERR_IO);
    e = ant_devnet_serve_start(o->dir, o->listen, &srv);
    if (e != ANT_OK)
        return fail("serve", e);
    printf("fleet page: http://127.0.0.1:%u/\n", (unsigned)ant_devnet_serve_port(srv));
    fflush(stdout);
    (void)sigwait(&mask, &sig);
    ant_devnet_serve_stop(srv);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ant-devnet %s\n", ANT_VERSION_STRING);
        return EXIT_SUCCESS;
    }
    struct opts o = {
        .hosts = 3,
        .nodes = 5,
        .window = 60,
        .interval = 10,
        .ttl = 30,
        .timeout = 600,
    };
    if (parse_opts(argc, argv, &o) < 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    char defdir[PATH_MAX];
    if (o.dir == NULL) {
        ant_err e = ant_devnet_default_dir(defdir, sizeof defdir);
        if (e != ANT_OK)
            return fail("finding the default devnet dir (set --dir)", e);
        o.dir = defdir;
    }

    ant_err e;
    if (strcmp(cmd, "up") == 0) {
        char found[PATH_MAX];
        if (o.binary == NULL) {
            if (!default_binary(found, sizeof found)) {
                fprintf(stderr, "ant-devnet: no ant-node found beside ant-devnet or on PATH; "
                                "give --binary PATH\n");
                return EXIT_USAGE;
            }
            o.binary = found;
        }
        if (o.systemd && geteuid() != 0) {
            fprintf(stderr, "ant-devnet: --systemd needs root (containers in network "
                            "namespaces)\n");
            return EXIT_USAGE;
        }
        if (o.netns && geteuid() != 0) {
            fprintf(stderr, "ant-devnet: --netns needs root (it creates a network namespace "
                            "and a veth pair per host)\n");
            return EXIT_USAGE;
        }
        struct ant_devnet_up_opts up = {
            .dir = o.dir,
            .binary = o.binary,
            .hosts = o.hosts,
            .nodes_per_host = o.nodes,
            .netns = o.netns,
            .rollout_window_s = o.window,
            .check_interval_s = o.interval,
            .release_ttl_s = o.ttl,
            .trial_period_s = o.trial,
            .channel = o.channel,
            .restart_delay_ms = o.restart_delay_ms,
            .systemd = o.systemd,
            .rootfs = o.rootfs != NULL ? o.rootfs : ANT_DEVNET_DEFAULT_ROOTFS,
            .packaging = o.packaging != NULL ? o.packaging : ANT_DEVNET_DEFAULT_PACKAGING,
        };
        /* The supervisor (forked by ant_devnet_up) reads this to leave the page off. */
        if (o.no_serve && setenv("ANT_DEVNET_SERVE", "0", 1) != 0)
            return fail("up", ANT_ERR_NOMEM);
        e = ant_devnet_up(&up);
        if (e != ANT_OK)
            return fail("up", e);
        printf("devnet up in %s\n", o.dir);
        print_fleet_url(o.dir);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "publish") == 0) {
        if (o.binary == NULL || o.version == NULL) {
            fprintf(stderr, "ant-devnet: publish needs --binary PATH and --release-version V\n");
            return EXIT_USAGE;
        }
        e = ant_devnet_publish_delta(o.dir, o.binary, o.version, o.prerelease,
                                     o.delta_corrupt ? ANT_DEVNET_DELTA_CORRUPT
                                     : o.delta       ? ANT_DEVNET_DELTA
                                                     : ANT_DEVNET_DELTA_NONE);
        if (e != ANT_OK)
            return fail("publish", e);
        printf("published %s\n", o.version);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "status") == 0) {
        e = ant_devnet_status(o.dir, stdout);
        return e == ANT_OK ? EXIT_SUCCESS : fail("status", e);
    }
    if (strcmp(cmd, "watch") == 0) {
        if (o.version == NULL) {
            fprintf(stderr, "ant-devnet: watch needs --release-version V\n");
            return EXIT_USAGE;
        }
        e = ant_devnet_watch(o.dir, o.version, (unsigned)o.timeout, o.quiet, stdout);
        return e == ANT_OK ? EXIT_SUCCESS : fail("watch", e);
    }
    if (strcmp(cmd, "report") == 0) {
        bool pass = false;
        e = ant_devnet_report(o.dir, o.json, stdout, &pass);
        if (e != ANT_OK)
            return fail("report", e);
        return pass ? EXIT_SUCCESS : EXIT_REPORT_FAIL;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(&o);
    if (strcmp(cmd, "freeze") == 0 || strcmp(cmd, "thaw") == 0) {
        e = ant_devnet_freeze(o.dir, strcmp(cmd, "freeze") == 0);
        if (e != ANT_OK)
            return fail(cmd, e);
        printf("release metadata %s in %s\n", strcmp(cmd, "freeze") == 0 ? "frozen" : "thawed",
               o.dir);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "rollout") == 0) {
        if ((o.halt && o.resume) || (o.cursor == NULL && !o.halt && !o.resume)) {
            fprintf(stderr, "ant-devnet: rollout needs --cursor PCT, --halt or --resume "
                    "(not both of the last two)\n");
            return EXIT_USAGE;
        }
        e = ant_devnet_rollout(o.dir, o.version, o.cursor, o.halt ? 1 : o.resume ? 0 : -1);
        if (e != ANT_OK)
            return fail("rollout", e);
        printf("rollout %s%s%s%s\n", o.version != NULL ? o.version : "(current)",
               o.cursor != NULL ? " cursor " : "", o.cursor != NULL ? o.cursor : "",
               o.halt ? " halted" : o.resume ? " resumed" : "");
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "yank") == 0 || strcmp(cmd, "minimum") == 0) {
        if (o.version == NULL) {
            fprintf(stderr, "ant-devnet: %s needs --release-version V\n", cmd);
            return EXIT_USAGE;
        }
        e = ant_devnet_policy(o.dir, o.version, strcmp(cmd, "yank") == 0);
        if (e != ANT_OK)
            return fail(cmd, e);
        printf("%s %s\n", strcmp(cmd, "yank") == 0 ? "yanked" : "minimum version", o.version);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "rotate") == 0) {
        uint64_t rv = 0;
        if (o.role == NULL || (strcmp(o.role, "root") != 0 && strcmp(o.role, "targets") != 0 &&
                               strcmp(o.role, "timestamp") != 0)) {
            fprintf(stderr, "ant-devnet: rotate needs --role root|targets|timestamp\n");
            return EXIT_USAGE;
        }
        e = ant_devnet_rotate(o.dir, o.role, &rv);
        if (e != ANT_OK)
            return fail("rotate", e);
        printf("rotated the %s keys: root version %llu\n", o.role, (unsigned long long)rv);
        return EXIT_SUCCESS;
    }
    if (strcmp(cmd, "down") == 0) {
        e = ant_devnet_down(o.dir);
        if (e != ANT_OK)
            return fail("down", e);
        printf("devnet down in %s\n", o.dir);
        return EXIT_SUCCESS;
    }
    fprintf(stderr, "ant-devnet: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
