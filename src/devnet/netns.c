/*
 * Network namespaces for `ant-devnet up --netns`: every host gets its own namespace with its
 * own address, so its nodes see a network of their own as on separate machines. The devnet
 * builds a private LAN entirely inside this machine with iproute2: one bridge in the root
 * namespace holding 10.X.Y.1/24 (where nginx also listens), and per host a namespace and a
 * veth pair whose root end is a bridge port and whose other end, inside the namespace, holds
 * 10.X.Y.(h+2)/24. Nothing is routed anywhere else: the /24 lives on links this code creates.
 * Names carry a hash of the devnet's realpath, so two devnets never share one, and every
 * namespace and link is recorded in D/netns.list BEFORE it is created, so `down` can delete
 * it after a failed step or a killed supervisor.
 */
#include "devnet/devnet_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ant/log.h"

#define LIST_MAX (64u << 10)
#define NAME_MAX_LEN 15 /* IFNAMSIZ - 1 */

static const char *ip_binary(void)
{
    static const char *const cands[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        if (access(cands[i], X_OK) == 0)
            return cands[i];
    }
    return NULL;
}

bool dn_netns_available(void)
{
    return ip_binary() != NULL && geteuid() == 0;
}

/* Runs `ip` with argv (argv[0] ignored); stderr kept unless quiet. ANT_OK on exit 0. */
static ant_err run_ip(const char *const *args, bool quiet)
{
    const char *ip = ip_binary();
    if (ip == NULL)
        return ANT_ERR_NOT_FOUND;
    const char *argv[16];
    size_t n = 0;
    argv[n++] = "ip";
    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return ANT_ERR_IO;
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            if (quiet)
                dup2(devnull, STDERR_FILENO);
        }
        execv(ip, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return ANT_ERR_IO;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return ANT_OK;
    if (!quiet) {
        char cmd[512];
        size_t used = 0;
        for (size_t i = 0; argv[i] != NULL && used < sizeof cmd; i++) {
            int w = snprintf(cmd + used, sizeof cmd - used, "%s%s", i ? " " : "", argv[i]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        ant_log(ANT_LOG_ERROR, "devnet", "network setup failed cmd=\"%.*s\" status=%d",
                (int)(used < sizeof cmd ? used : sizeof cmd - 1), cmd, status);
    }
    return ANT_ERR_IO;
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* True if some interface of the root namespace already has an address in 10.a.b.0/24
 * (another devnet's bridge, or a real network that must not be shadowed). */
static bool subnet_in_use(unsigned a, unsigned b)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0)
        return true;
    bool used = false;
    for (struct ifaddrs *i = ifs; i != NULL && !used; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
            continue;
        uint32_t ip = ntohl(((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr);
        used = (ip >> 8) == ((10u << 16) | (a << 8) | b);
    }
    freeifaddrs(ifs);
    return used;
}

ant_err dn_netns_plan(struct dn_config *cfg)
{
    uint32_t h = fnv1a(cfg->dir);
    snprintf(cfg->net_id, sizeof cfg->net_id, "%08x", (unsigned)h);
    /* 10.200.0.0 - 10.249.255.0: 12800 candidate /24s, the first picked by the hash so
     * side-by-side devnets rarely even probe the same one. */
    for (uint32_t k = 0; k < 256; k++) {
        uint32_t v = (h + k * 2654435761u) % (50u * 256u);
        unsigned a = 200 + v / 256, b = v % 256;
        if (!subnet_in_use(a, b)) {
            snprintf(cfg->net_prefix, sizeof cfg->net_prefix, "10.%u.%u", a, b);
            cfg->netns = true;
            return ANT_OK;
        }
    }
    ant_log(ANT_LOG_ERROR, "devnet", "no free private /24 for --netns");
    return ANT_ERR_IO;
}

ant_err dn_netns_name(const struct dn_config *cfg, unsigned h, char *buf, size_t cap)
{
    return dn_path(buf, cap, "antdn-%s-h%u", cfg->net_id, h);
}

ant_err dn_netns_server_ip(const struct dn_config *cfg, char *buf, size_t cap)
{
    return dn_path(buf, cap, "%s.1", cfg->net_prefix);
}

ant_err dn_netns_host_ip(const struct dn_config *cfg, unsigned h, char *buf, size_t cap)
{
    return dn_path(buf, cap, "%s.%u", cfg->net_prefix, h + 2);
}

static bool exists(const char *kind, const char *name)
{
    char path[PATH_MAX];
    if (dn_path(path, sizeof path, strcmp(kind, "link") == 0 ? "/sys/class/net/%s" : "/run/netns/%s",
                name) != ANT_OK)
        return true;
    return access(path, F_OK) == 0;
}

/* Appends "<kind> <name>\n" to D/netns.list and syncs it, before the object exists. A name
 * that exists already is not ours (a leftover of a devnet whose dir was removed without
 * `down`): refused rather than recorded, so no `down` of ours ever deletes it. */
static ant_err record(const struct dn_config *cfg, const char *kind, const char *name)
{
    char path[PATH_MAX], line[64];
    if (exists(kind, name)) {
        ant_log(ANT_LOG_ERROR, "devnet", "%s %s exists already (not created by this devnet)",
                kind, name);
        return ANT_ERR_EXISTS;
    }
    ant_err e = dn_path(path, sizeof path, "%s/%s", cfg->dir, DN_NETNS_FILE);
    if (e == ANT_OK)
        e = dn_path(line, sizeof line, "%s %s\n", kind, name);
    if (e != ANT_OK)
        return e;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ANT_ERR_IO;
    size_t len = strlen(line);
    ssize_t w = write(fd, line, len);
    bool ok = w == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    return ok ? ANT_OK : ANT_ERR_IO;
}

ant_err dn_netns_create(const struct dn_config *cfg)
{
    char br[NAME_MAX_LEN + 1], ns[64], vr[NAME_MAX_LEN + 1], vp[NAME_MAX_LEN + 1];
    char addr[32], sip[24];
    ant_err e = dn_path(br, sizeof br, "adn%sb", cfg->net_id);
    if (e == ANT_OK)
        e = dn_netns_server_ip(cfg, sip, sizeof sip);
    if (e == ANT_OK)
        e = dn_path(addr, sizeof addr, "%s/24", sip);
    if (e == ANT_OK)
        e = record(cfg, "link", br);
    if (e != ANT_OK)
        return e;
    {
        const char *a1[] = {"link", "add", br, "type", "bridge", NULL};
        const char *a2[] = {"addr", "add", addr, "dev", br, NULL};
        const char *a3[] = {"link", "set", br, "up", NULL};
        e = run_ip(a1, false);
        if (e == ANT_OK)
            e = run_ip(a2, false);
        if (e == ANT_OK)
            e = run_ip(a3, false);
        if (e != ANT_OK)
            return e;
    }
    for (unsigned h = 0; h < cfg->hosts; h++) {
        char hip[24];
        e = dn_netns_name(cfg, h, ns, sizeof ns);
        if (e == ANT_OK)
            e = dn_path(vr, sizeof vr, "adn%sr%u", cfg->net_id, h);
        if (e == ANT_OK)
            e = dn_path(vp, sizeof vp, "adn%sp%u", cfg->net_id, h);
        if (e == ANT_OK)
            e = dn_netns_host_ip(cfg, h, hip, sizeof hip);
        if (e == ANT_OK)
            e = dn_path(addr, sizeof addr, "%s/24", hip);
        if (e == ANT_OK)
            e = record(cfg, "netns", ns);
        if (e != ANT_OK)
            return e;
        const char *a1[] = {"netns", "add", ns, NULL};
        if ((e = run_ip(a1, false)) != ANT_OK)
            return e;
        if ((e = record(cfg, "link", vr)) != ANT_OK)
            return e;
        /* The peer is created directly inside the namespace: it never exists in the root
         * namespace, where its name could collide with something else. */
        const char *a2[] = {"link", "add", vr, "type", "veth", "peer", "name", vp, "netns", ns,
                            NULL};
        const char *a3[] = {"link", "set", vr, "master", br, "up", NULL};
        const char *a4[] = {"-n", ns, "addr", "add", addr, "dev", vp, NULL};
        const char *a5[] = {"-n", ns, "link", "set", vp, "up", NULL};
        const char *a6[] = {"-n", ns, "link", "set", "lo", "up", NULL};
        const char *const *steps[] = {a2, a3, a4, a5, a6};
        for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
            if ((e = run_ip(steps[k], false)) != ANT_OK)
                return e;
        }
    }
    ant_log(ANT_LOG_INFO, "devnet", "Network namespaces up hosts=%u bridge=%s server=%s",
            cfg->hosts, br, sip);
    return ANT_OK;
}

/* A name this code could have written: our prefixes, [a-z0-9-] only, fits an ifname. */
static bool valid_name(const char *kind, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 32 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != len)
        return false;
    if (strcmp(kind, "link") == 0)
        return len <= NAME_MAX_LEN && strncmp(name, "adn", 3) == 0;
    return strncmp(name, "antdn-", 6) == 0;
}

ant_err dn_netns_destroy(const char *dir)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    ant_err e = dn_path(path, sizeof path, "%s/%s", dir, DN_NETNS_FILE);
    if (e != ANT_OK)
        return e;
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return ANT_OK;
    e = dn_read_file(path, LIST_MAX, &text, &len);
    if (e == ANT_ERR_NOT_FOUND)
        return ANT_OK;
    if (e != ANT_OK)
        return e;
    /* Links first (deleting a root-side veth takes its peer along), then namespaces; a
     * name that is already gone counts as deleted. */
    unsigned left = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *want = pass == 0 ? "link" : "netns";
        for (char *line = text; line != NULL && *line != '\0';) {
            char *nl = strchr(line, '\n');
            size_t ll = nl != NULL ? (size_t)(nl - line) : strlen(line);
            char kind[8], name[40];
            if (ll < sizeof name + sizeof kind && sscanf(line, "%7s %39s", kind, name) == 2 &&
                strcmp(kind, want) == 0 && valid_name(kind, name) && exists(kind, name)) {
                const char *al[] = {"link", "del", name, NULL};
                const char *an[] = {"netns", "del", name, NULL};
                (void)run_ip(pass == 0 ? al : an, true);
                if (exists(kind, name)) {
                    ant_log(ANT_LOG_ERROR, "devnet", "could not delete %s=%s", kind, name);
                    left++;
                }
            }
            line = nl != NULL ? nl + 1 : NULL;
        }
    }
    free(text);
    if (left > 0)
        return ANT_ERR_IO;
    unlink(path);
    return ANT_OK;
}
