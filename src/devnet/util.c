/*
 * Small helpers of the devnet module: bounded path formatting, directory creation, whole-file
 * reads and atomic writes at absolute paths (through the fsx primitives on the parent's fd),
 * free loopback ports, running `ant-node --version` with a deadline, the ELF static check,
 * and devnet.json. The devnet runs only the user's own files, but it still reads them with
 * caps so a broken or hostile file cannot make the report or `down` hang or balloon.
 */
#include "devnet/devnet_int.h"

#include <arpa/inet.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ant/fsx.h"
#include "ant/log.h"

ant_err dn_path(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            buf[0] = '\0';
        return ANT_ERR_INVALID_ARG;
    }
    return ANT_OK;
}

double dn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

ant_err dn_mkdirs(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (dn_path(buf, sizeof buf, "%s", path) != ANT_OK || buf[0] != '/')
        return ANT_ERR_INVALID_ARG;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, mode) != 0 && errno != EEXIST) {
                ant_log(ANT_LOG_ERROR, "devnet", "mkdir failed path=%s errno=%d", buf, errno);
                return ANT_ERR_IO;
            }
            *p = saved;
            if (saved == '\0')
                break;
        }
    }
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return ANT_ERR_UNSAFE_FILE;
    return ANT_OK;
}

/*
 * The trusted-dir walk of dn_resolve_dir: opens every component of the absolute path
 * `abs` from "/" with O_NOFOLLOW (a symlink anywhere is refused) and checks each on its
 * open fd. A parent must be owned by root or the euid and not writable by group or others
 * unless sticky (like /tmp, where others cannot rename what we own); the dir itself must
 * be owned by the euid and not group/other-writable. The devnet's supervisor runs as this
 * user (root with --netns) and executes what lies under the dir: anyone else who can
 * write any part of the chain could swap `hosts/` and choose what it runs.
 */
static ant_err walk_trusted(const char *abs, bool create, char *norm, size_t cap)
{
    char buf[PATH_MAX];
    ant_err e = dn_path(buf, sizeof buf, "%s", abs);
    if (e != ANT_OK || buf[0] != '/')
        return ANT_ERR_INVALID_ARG;
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return ANT_ERR_IO;
    size_t used = 0;
    norm[0] = '\0';
    char *save = NULL;
    const char *why = NULL;
    e = ANT_OK;
    for (char *comp = strtok_r(buf + 1, "/", &save);; comp = strtok_r(NULL, "/", &save)) {
        struct stat st;
        if (fstat(fd, &st) != 0) {
            e = ANT_ERR_IO;
            break;
        }
        bool last = comp == NULL;
        uid_t me = geteuid();
        if (last ? st.st_uid != me : st.st_uid != me && st.st_uid != 0)
            why = "owned by another user";
        else if ((st.st_mode & 022) != 0 && (last || (st.st_mode & S_ISVTX) == 0))
            why = "writable by group or others";
        if (why != NULL) {
            ant_log(ANT_LOG_ERROR, "devnet",
                    "Refusing devnet dir: %s must be owned by uid %u (parents: or root) and not "
                    "group/world-writable (parents: unless sticky) reason=\"%s\" path=%s owner=%u "
                    "mode=%04o",
                    last ? "the dir" : "a parent", (unsigned)me, why,
                    norm[0] != '\0' ? norm : "/", (unsigned)st.st_uid,
                    (unsigned)(st.st_mode & 07777));
            e = ANT_ERR_UNSAFE_FILE;
            break;
        }
        if (last)
            break;
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
            e = ANT_ERR_INVALID_ARG;
            break;
        }
        size_t l = strlen(comp);
        if (used + 1 + l >= cap) {
            e = ANT_ERR_INVALID_ARG;
            break;
        }
        norm[used++] = '/';
        memcpy(norm + used, comp, l + 1);
        used += l;
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        /* A missing component is made in the parent just checked, through its fd: nothing
         * is created below a dir others could have swapped or through a symlink. */
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, comp, 0700) != 0 && errno != EEXIST) {
                ant_log(ANT_LOG_ERROR, "devnet", "mkdir failed path=%s errno=%d", norm, errno);
                e = ANT_ERR_IO;
                break;
            }
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            int err = errno;
            if (err == ELOOP || err == ENOTDIR) {
                ant_log(ANT_LOG_ERROR, "devnet",
                        "Refusing devnet dir: a symlink or not a directory on its path path=%s",
                        norm);
                e = ANT_ERR_UNSAFE_FILE;
            } else {
                e = err == ENOENT ? ANT_ERR_NOT_FOUND : ANT_ERR_IO;
            }
            break;
        }
        close(fd);
        fd = next;
    }
    close(fd);
    return e;
}

ant_err dn_resolve_dir(const char *dir, bool create, char *out, size_t cap)
{
    char abs[PATH_MAX];
    if (dir == NULL || dir[0] == '\0')
        return ANT_ERR_INVALID_ARG;
    if (dir[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL)
            return ANT_ERR_IO;
        if (dn_path(abs, sizeof abs, "%s/%s", cwd, dir) != ANT_OK)
            return ANT_ERR_INVALID_ARG;
    } else if (dn_path(abs, sizeof abs, "%s", dir) != ANT_OK) {
        return ANT_ERR_INVALID_ARG;
    }
    /* No realpath: a symlink on the way is refused, not followed. */
    char norm[PATH_MAX];
    ant_err e = walk_trusted(abs, create, norm, sizeof norm);
    if (e != ANT_OK)
        return e;
    return dn_path(out, cap, "%s", norm[0] != '\0' ? norm : "/");
}

/* Splits an absolute path into an open parent dir fd and the last component. */
static ant_err open_parent(const char *path, int *dirfd, const char **name)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash[1] == '\0')
        return ANT_ERR_INVALID_ARG;
    char parent[PATH_MAX];
    size_t plen = (size_t)(slash - path);
    if (plen == 0)
        plen = 1;
    if (plen >= sizeof parent)
        return ANT_ERR_INVALID_ARG;
    memcpy(parent, path, plen);
    parent[plen] = '\0';
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ANT_ERR_NOT_FOUND : ANT_ERR_IO;
    *dirfd = fd;
    *name = slash + 1;
    return ANT_OK;
}

ant_err dn_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int dirfd = -1;
    const char *name = NULL;
    ant_err e = open_parent(path, &dirfd, &name);
    if (e != ANT_OK)
        return e;
    e = ant_fsx_write_atomic(dirfd, name, data, len, mode);
    close(dirfd);
    return e;
}

ant_err dn_read_file(const char *path, size_t cap, char **data, size_t *len)
{
    int dirfd = -1;
    const char *name = NULL;
    *data = NULL;
    *len = 0;
    ant_err e = open_parent(path, &dirfd, &name);
    if (e != ANT_OK)
        return e;
    uint8_t *buf = NULL;
    e = ant_fsx_read_capped(dirfd, name, cap, &buf, len);
    close(dirfd);
    if (e == ANT_OK)
        *data = (char *)buf;
    return e;
}

ant_err dn_copy_file(const char *src, const char *dst, mode_t mode)
{
    int sdir = -1, ddir = -1, in = -1;
    const char *sname = NULL, *dname = NULL;
    struct ant_fsx_tmp *tmp = NULL;
    uint64_t size = 0, copied = 0;
    ant_err e = open_parent(src, &sdir, &sname);
    if (e != ANT_OK)
        goto out;
    e = ant_fsx_open_capped(sdir, sname, DN_BINARY_MAX, &in, &size);
    if (e != ANT_OK)
        goto out;
    e = open_parent(dst, &ddir, &dname);
    if (e != ANT_OK)
        goto out;
    e = ant_fsx_tmp_open(ddir, dname, mode, &tmp);
    if (e != ANT_OK)
        goto out;
    e = ant_fsx_copy_fd(in, ant_fsx_tmp_fd(tmp), DN_BINARY_MAX, &copied);
    if (e == ANT_OK && copied != size)
        e = ANT_ERR_CORRUPT;
    /* The temp file was created with the umask applied; the installed binary must be
     * exactly `mode` (0755 for ant-node). */
    if (e == ANT_OK && fchmod(ant_fsx_tmp_fd(tmp), mode) != 0)
        e = ANT_ERR_IO;
    if (e != ANT_OK) {
        ant_fsx_tmp_abort(tmp);
        tmp = NULL;
        goto out;
    }
    e = ant_fsx_tmp_commit(tmp, dname);
    tmp = NULL;
out:
    if (in >= 0)
        close(in);
    if (sdir >= 0)
        close(sdir);
    if (ddir >= 0)
        close(ddir);
    return e;
}

ant_err dn_free_port(uint16_t *port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return ANT_ERR_IO;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t alen = sizeof a;
    ant_err e = ANT_OK;
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &alen) != 0)
        e = ANT_ERR_IO;
    else
        *port = ntohs(a.sin_port);
    close(s);
    return e;
}

bool dn_port_open(uint16_t port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
}

ant_err dn_pipe(int fds[2])
{
    /* pipe2 needs _GNU_SOURCE; set close-on-exec right away instead (no thread of ours
     * forks in between). */
    if (pipe(fds) != 0)
        return ANT_ERR_IO;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
        close(fds[0]);
        close(fds[1]);
        return ANT_ERR_IO;
    }
    return ANT_OK;
}

ant_err dn_binary_version(const char *binary, char *version, size_t cap)
{
    int pfd[2] = {-1, -1};
    pid_t pid = -1;
    ant_err e = ANT_OK;
    char out[256];
    size_t used = 0;

    if (cap > 0)
        version[0] = '\0';
    if (dn_pipe(pfd) != ANT_OK)
        return ANT_ERR_IO;
    pid = fork();
    if (pid < 0) {
        e = ANT_ERR_IO;
        goto out;
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls until exec; _exit on failure. */
        dup2(pfd[1], STDOUT_FILENO);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDERR_FILENO);
        }
        execl(binary, "ant-node", "--version", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    pfd[1] = -1;
    double deadline = dn_now() + 5.0;
    for (;;) {
        double left = deadline - dn_now();
        if (left <= 0) {
            e = ANT_ERR_TIMEOUT;
            break;
        }
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        if (used >= sizeof out - 1) {
            e = ANT_ERR_TOO_LARGE;
            break;
        }
        ssize_t n = read(pfd[0], out + used, sizeof out - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    out[used] = '\0';
out:
    if (pid > 0) {
        int status = 0;
        if (e != ANT_OK)
            kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (e == ANT_OK && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
            e = ANT_ERR_BAD_BINARY;
    }
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (e != ANT_OK)
        return e;
    const char *prefix = "ant-node ";
    if (strncmp(out, prefix, strlen(prefix)) != 0)
        return ANT_ERR_BAD_BINARY;
    const char *v = out + strlen(prefix);
    size_t vlen = strcspn(v, " \r\n");
    if (vlen == 0 || vlen >= cap || vlen > DN_VERSION_MAX)
        return ANT_ERR_BAD_BINARY;
    memcpy(version, v, vlen);
    version[vlen] = '\0';
    return ANT_OK;
}

ant_err dn_elf_is_static(const char *path, bool *is_static)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? ANT_ERR_NOT_FOUND : ANT_ERR_IO;
    ant_err e = ANT_ERR_BAD_BINARY;
    Elf64_Ehdr eh;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
        goto out;
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
        goto out;
    *is_static = true;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        off_t off = (off_t)eh.e_phoff + (off_t)i * (off_t)sizeof ph;
        if (pread(fd, &ph, sizeof ph, off) != (ssize_t)sizeof ph)
            goto out;
        if (ph.p_type == PT_INTERP)
            *is_static = false;
    }
    e = ANT_OK;
out:
    close(fd);
    return e;
}

ant_err ant_devnet_default_dir(char *buf, size_t cap)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg != NULL && xdg[0] == '/')
        return dn_path(buf, cap, "%s/ant/devnet", xdg);
    const char *home = getenv("HOME");
    if (home == NULL || home[0] != '/')
        return ANT_ERR_NOT_FOUND;
    return dn_path(buf, cap, "%s/.local/share/ant/devnet", home);
}

/* --- devnet.json -------------------------------------------------------------------- */

ant_err dn_config_save(const struct dn_config *cfg)
{
    ant_err e = ANT_ERR_NOMEM;
    json_object *o = json_object_new_object();
    json_object *ports = json_object_new_array();
    char path[PATH_MAX];
    if (o == NULL || ports == NULL)
        goto out;
    json_object_object_add(o, "format", json_object_new_int(1));
    json_object_object_add(o, "dir", json_object_new_string(cfg->dir));
    json_object_object_add(o, "hosts", json_object_new_int64(cfg->hosts));
    json_object_object_add(o, "nodes_per_host", json_object_new_int64(cfg->nodes));
    json_object_object_add(o, "https_port", json_object_new_int(cfg->https_port));
    json_object_object_add(o, "rollout_window_s", json_object_new_int64((int64_t)cfg->rollout_window_s));
    json_object_object_add(o, "check_interval_s", json_object_new_int64((int64_t)cfg->check_interval_s));
    json_object_object_add(o, "release_ttl_s", json_object_new_int64((int64_t)cfg->release_ttl_s));
    json_object_object_add(o, "trial_period_s", json_object_new_int64((int64_t)cfg->trial_period_s));
    json_object_object_add(o, "restart_delay_ms", json_object_new_int64(cfg->restart_delay_ms));
    json_object_object_add(o, "channel", json_object_new_string(cfg->channel));
    json_object_object_add(o, "platform", json_object_new_string(cfg->platform));
    json_object_object_add(o, "initial_version", json_object_new_string(cfg->initial_version));
    if (cfg->netns) {
        json_object_object_add(o, "netns", json_object_new_boolean(1));
        json_object_object_add(o, "net_id", json_object_new_string(cfg->net_id));
        json_object_object_add(o, "net_prefix", json_object_new_string(cfg->net_prefix));
    }
    if (cfg->systemd) {
        json_object_object_add(o, "systemd", json_object_new_boolean(1));
        json_object_object_add(o, "rootfs", json_object_new_string(cfg->rootfs));
        json_object_object_add(o, "packaging", json_object_new_string(cfg->packaging));
    }
    for (unsigned i = 0; i < cfg->hosts * cfg->nodes; i++)
        json_object_array_add(ports, json_object_new_int(cfg->node_port[i]));
    json_object_object_add(o, "node_ports", ports);
    ports = NULL;
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
    e = dn_path(path, sizeof path, "%s/%s", cfg->dir, DN_CONFIG_FILE);
    if (e == ANT_OK)
        e = dn_write_file(path, text, strlen(text), 0600);
out:
    json_object_put(ports);
    json_object_put(o);
    return e;
}

static bool get_u64(json_object *o, const char *k, uint64_t max, uint64_t *v)
{
    json_object *x = NULL;
    if (!json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, json_type_int))
        return false;
    int64_t n = json_object_get_int64(x);
    if (n < 0 || (uint64_t)n > max)
        return false;
    *v = (uint64_t)n;
    return true;
}

static bool get_str(json_object *o, const char *k, char *buf, size_t cap)
{
    json_object *x = NULL;
    if (!json_object_object_get_ex(o, k, &x) || !json_object_is_type(x, json_type_string))
        return false;
    return dn_path(buf, cap, "%s", json_object_get_string(x)) == ANT_OK;
}
/* True for exactly "10.A.B" with A and B decimal octets (0-255, no sign, no leading
 * zeros beyond "0", nothing after): the private /24 prefix `up --netns` records. */
static bool net_prefix_ok(const char *text)
{
    if (strncmp(text, "10.", 3) != 0)
        return false;
    const char *p = text + 3;
    for (int octet = 0; octet < 2; octet++) {
        if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
            return false;
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (errno != 0 || end == p || v > 255)
            return false;
        p = end;
        if (octet == 0 && *p++ != '.')
            return false;
    }
    return *p == '\0';
}


ant_err dn_config_load(const char *dir, struct dn_config *cfg)
{
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    json_object *o = NULL;
    ant_err e;
    char real[PATH_MAX];

    memset(cfg, 0, sizeof *cfg);
    e = dn_resolve_dir(dir, false, real, sizeof real);
    if (e != ANT_OK)
        return e;
    e = dn_path(path, sizeof path, "%s/%s", real, DN_CONFIG_FILE);
    if (e != ANT_OK)
        return e;
    e = dn_read_file(path, DN_CONFIG_MAX, &text, &len);
    if (e != ANT_OK)
        return e;
    e = ANT_ERR_PARSE;
    o = json_tokener_parse(text);
    if (o == NULL || !json_object_is_type(o, json_type_object))
        goto out;
    uint64_t hosts, nodes, port, window, interval, ttl, trial, delay;
    if (!get_u64(o, "hosts", ANT_DEVNET_MAX_HOSTS, &hosts) || hosts == 0 ||
        !get_u64(o, "nodes_per_host", ANT_DEVNET_MAX_NODES_PER_HOST, &nodes) || nodes == 0 ||
        !get_u64(o, "https_port", 65535, &port) ||
        !get_u64(o, "rollout_window_s", UINT32_MAX, &window) ||
        !get_u64(o, "check_interval_s", UINT32_MAX, &interval) ||
        !get_u64(o, "release_ttl_s", UINT32_MAX, &ttl) ||
        !get_u64(o, "trial_period_s", UINT32_MAX, &trial) ||
        !get_u64(o, "restart_delay_ms", 600000, &delay) ||
        !get_str(o, "channel", cfg->channel, sizeof cfg->channel) ||
        !get_str(o, "platform", cfg->platform, sizeof cfg->platform) ||
        !get_str(o, "initial_version", cfg->initial_version, sizeof cfg->initial_version))
        goto out;
    cfg->hosts = (unsigned)hosts;
    cfg->nodes = (unsigned)nodes;
    cfg->https_port = (uint16_t)port;
    cfg->rollout_window_s = window;
    cfg->check_interval_s = interval;
    cfg->release_ttl_s = ttl;
    cfg->trial_period_s = trial;
    cfg->restart_delay_ms = (unsigned)delay;
    memcpy(cfg->dir, real, sizeof cfg->dir);
    json_object *jn = NULL;
    if (json_object_object_get_ex(o, "netns", &jn) && json_object_get_boolean(jn)) {
        /* These end up in interface names and `ip` arguments: accept only what `up` writes. */
        if (!get_str(o, "net_id", cfg->net_id, sizeof cfg->net_id) ||
            strlen(cfg->net_id) != 8 || strspn(cfg->net_id, "0123456789abcdef") != 8 ||
            !get_str(o, "net_prefix", cfg->net_prefix, sizeof cfg->net_prefix) ||
            !net_prefix_ok(cfg->net_prefix))
            goto out;
        cfg->netns = true;
    }
    if (json_object_object_get_ex(o, "systemd", &jn) && json_object_get_boolean(jn)) {
        /* Containers live in the hosts' namespaces: no systemd host without them. */
        if (!cfg->netns || !get_str(o, "rootfs", cfg->rootfs, sizeof cfg->rootfs) ||
            cfg->rootfs[0] != '/' ||
            !get_str(o, "packaging", cfg->packaging, sizeof cfg->packaging) ||
            cfg->packaging[0] != '/')
            goto out;
        cfg->systemd = true;
    }
    json_object *ports = NULL;
    if (!json_object_object_get_ex(o, "node_ports", &ports) ||
        !json_object_is_type(ports, json_type_array) ||
        json_object_array_length(ports) != hosts * nodes)
        goto out;
    for (size_t i = 0; i < hosts * nodes; i++) {
        int64_t p = json_object_get_int64(json_object_array_get_idx(ports, i));
        if (p <= 0 || p > 65535)
            goto out;
        cfg->node_port[i] = (uint16_t)p;
    }
    e = ANT_OK;
out:
    json_object_put(o);
    free(text);
    return e;
}
