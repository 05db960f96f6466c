/*
 * Process discovery through /proc: liveness, start times, executable paths, and the search
 * for every process that belongs to a devnet. A devnet's processes are found by two marks
 * that survive the supervisor crashing: the ANT_DEVNET_DIR=<dir> environment entry every
 * child inherits, and the supervisor's session id. Only processes of our own uid are
 * considered, so `down` can never signal someone else's process.
 */
#include "devnet/devnet_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENVIRON_CAP (256u << 10)

/* Reads at most cap-1 bytes of `path` into buf; returns bytes read or -1. */
static ssize_t read_path(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t used = 0;
    while (used < cap - 1) {
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    buf[used] = '\0';
    return (ssize_t)used;
}

/* Reads /proc/<pid>/<name> as above. */
static ssize_t read_proc(pid_t pid, const char *name, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    return read_path(path, buf, cap);
}

/* Parses /proc/<pid>/stat: state, session and start time (clock ticks after boot). */
static bool proc_stat(pid_t pid, char *state, pid_t *sid, unsigned long long *start)
{
    char buf[1024];
    if (read_proc(pid, "stat", buf, sizeof buf) <= 0)
        return false;
    /* The command name may hold spaces and ')': fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return false;
    p++;
    /* Fields 3..22: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime stime cutime cstime priority nice num_threads itrealvalue starttime. */
    char st = 0;
    long long session = -1;
    unsigned long long starttime = 0;
    char *save = NULL;
    int field = 3;
    for (char *tok = strtok_r(p, " ", &save); tok != NULL && field <= 22;
         tok = strtok_r(NULL, " ", &save), field++) {
        char *end = NULL;
        errno = 0;
        if (field == 3) {
            st = tok[0];
        } else if (field == 6) {
            session = strtoll(tok, &end, 10);
            if (errno != 0 || *end != '\0')
                return false;
        } else if (field == 22) {
            starttime = strtoull(tok, &end, 10);
            if (errno != 0 || *end != '\0')
                return false;
        }
    }
    if (field <= 22 || st == 0 || session < 0)
        return false;
    if (state != NULL)
        *state = st;
    if (sid != NULL)
        *sid = (pid_t)session;
    if (start != NULL)
        *start = starttime;
    return true;
}

bool dn_pid_alive(pid_t pid)
{
    char st = 0;
    if (pid <= 0 || !proc_stat(pid, &st, NULL, NULL))
        return false;
    return st != 'Z' && st != 'X';
}

double dn_pid_start_time(pid_t pid)
{
    unsigned long long start = 0;
    if (pid <= 0 || !proc_stat(pid, NULL, NULL, &start))
        return 0;
    char buf[8192];
    if (read_path("/proc/stat", buf, sizeof buf) <= 0)
        return 0;
    char *b = strstr(buf, "\nbtime ");
    if (b == NULL)
        return 0;
    long long btime = strtoll(b + 7, NULL, 10);
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        return 0;
    return (double)btime + (double)start / (double)hz;
}

ant_err dn_pid_exe(pid_t pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, buf, cap - 1);
    if (n < 0)
        return errno == ENOENT ? ANT_ERR_NOT_FOUND : ANT_ERR_IO;
    buf[n] = '\0';
    return ANT_OK;
}

pid_t dn_read_pid_file(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (dn_read_file(path, 64, &text, &len) != ANT_OK)
        return 0;
    char *end = NULL;
    long v = strtol(text, &end, 10);
    pid_t pid = (end != text && v > 1 && v < (1L << 22)) ? (pid_t)v : 0;
    free(text);
    return pid;
}

/* True if the environment of `pid` holds exactly ANT_DEVNET_DIR=dir. */
static bool has_mark(pid_t pid, const char *mark)
{
    char *env = malloc(ENVIRON_CAP);
    if (env == NULL)
        return false;
    bool found = false;
    ssize_t n = read_proc(pid, "environ", env, ENVIRON_CAP);
    size_t mlen = strlen(mark);
    for (ssize_t i = 0; n > 0 && i < n;) {
        size_t len = strnlen(env + i, (size_t)(n - i));
        if (len == mlen && memcmp(env + i, mark, mlen) == 0) {
            found = true;
            break;
        }
        i += (ssize_t)len + 1;
    }
    free(env);
    return found;
}

/*
 * Whether `pid` is one of the devnet's processes. The environment mark covers the nodes,
 * but not nginx: its master rewrites the memory /proc/<pid>/environ shows to set its
 * process title. The master's title keeps its command line, which names the devnet's
 * configuration file; its workers ("nginx: worker process") are recognised by the
 * executable together with the devnet's session, which outlives a killed supervisor (the
 * kernel does not reuse a pid while a session of that id has members).
 */
static bool belongs(pid_t pid, const char *dir, pid_t sid, pid_t psid, const char *mark)
{
    if (has_mark(pid, mark))
        return true;
    char exe[PATH_MAX];
    size_t dlen = strlen(dir);
    if (dn_pid_exe(pid, exe, sizeof exe) != ANT_OK)
        return false;
    if (strncmp(exe, dir, dlen) == 0 && exe[dlen] == '/')
        return true;
    if (strcmp(exe, DN_NGINX) != 0)
        return false;
    if (sid > 1 && psid == sid)
        return true;
    char cmd[4096], needle[PATH_MAX + 16];
    ssize_t n = read_proc(pid, "cmdline", cmd, sizeof cmd);
    for (ssize_t i = 0; i < n; i++) {
        if (cmd[i] == '\0')
            cmd[i] = ' ';
    }
    snprintf(needle, sizeof needle, "%s/nginx/nginx.conf", dir);
    return n > 0 && strstr(cmd, needle) != NULL;
}

ant_err dn_find_processes(const char *dir, pid_t sid, pid_t *pids, size_t cap, size_t *count)
{
    char mark[PATH_MAX + 32];
    if (dn_path(mark, sizeof mark, "%s=%s", ANT_DEVNET_ENV, dir) != ANT_OK)
        return ANT_ERR_INVALID_ARG;
    DIR *d = opendir("/proc");
    if (d == NULL)
        return ANT_ERR_IO;
    pid_t self = getpid();
    uid_t uid = geteuid();
    *count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        long v = strtol(de->d_name, NULL, 10);
        pid_t pid = (pid_t)v;
        if (pid <= 1 || pid == self)
            continue;
        struct stat st;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d", (int)pid);
        if (stat(path, &st) != 0 || st.st_uid != uid)
            continue;
        char state = 0;
        pid_t psid = 0;
        if (!proc_stat(pid, &state, &psid, NULL) || state == 'Z' || state == 'X')
            continue;
        if (belongs(pid, dir, sid, psid, mark)) {
            if (*count < cap)
                pids[*count] = pid;
            (*count)++;
        }
    }
    closedir(d);
    return ANT_OK;
}
