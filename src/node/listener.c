/*
 * Listening sockets handed over between processes (ARCHITECTURE.md §11). A socket that comes
 * back from the service manager's fd store or from a restarting parent is served on only if
 * it is what this start's configuration asks for: a listening TCP socket bound to the
 * configured address and port. After an operator changed `listen`, the old socket is the
 * wrong one and the node binds afresh, so a stale store can never pin a node to an old port.
 */
#include "node/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ant/log.h"
#include "ant/node.h"

/* Here rather than in server.c: every user of an address text (the listeners, the client,
 * the service's probe) needs it, and the server uses this file, not the other way round. */
ant_err ant_node_split_hostport(const char *text, char *host, size_t hostcap, uint16_t *port)
{
    const char *colon, *hstart, *hend, *p;
    unsigned long v = 0;
    size_t hlen;

    if (text == NULL || host == NULL || port == NULL || hostcap == 0)
        return ANT_ERR_INVALID_ARG;
    if (text[0] == '[') {
        hend = strchr(text, ']');
        if (hend == NULL || hend[1] != ':')
            return ANT_ERR_PARSE;
        hstart = text + 1;
        colon = hend + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
            return ANT_ERR_PARSE;
        hstart = text;
        hend = colon;
    }
    hlen = (size_t)(hend - hstart);
    if (hlen == 0 || hlen >= hostcap)
        return ANT_ERR_PARSE;
    p = colon + 1;
    if (*p == '\0' || strlen(p) > 5)
        return ANT_ERR_PARSE;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return ANT_ERR_PARSE;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535)
        return ANT_ERR_PARSE;
    memcpy(host, hstart, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return ANT_OK;
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

ant_err node_listener_bind(const char *text, bool loopback_only, int backlog,
                           const char *module, int *fd_out, uint16_t *port_out)
{
    struct addrinfo hints, *res = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    char host[256], portstr[8];
    uint16_t port = 0;
    ant_err err = ANT_ERR_NETWORK;
    int fd = -1, one = 1, rc;

    if (text == NULL || ant_node_split_hostport(text, host, sizeof host, &port) != ANT_OK) {
        ant_log(ANT_LOG_ERROR, module, "Bad listen address listen=%s",
                text != NULL ? text : "");
        return ANT_ERR_INVALID_ARG;
    }
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0 || res == NULL) {
        ant_log(ANT_LOG_ERROR, module, "Cannot resolve listen address listen=%s error=\"%s\"",
                text, gai_strerror(rc));
        return ANT_ERR_INVALID_ARG;
    }
    if (loopback_only && !addr_is_loopback(res->ai_addr)) {
        ant_log(ANT_LOG_ERROR, module,
                "Refusing a non-loopback listen address without allow-remote listen=%s", text);
        err = ANT_ERR_INVALID_ARG;
        goto out;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto out;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
        ant_log(ANT_LOG_ERROR, module, "Cannot listen listen=%s error=\"%s\"", text,
                strerror(errno));
        goto out;
    }
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
        goto out;
    *port_out = sockaddr_port(&ss);
    *fd_out = fd;
    fd = -1;
    err = ANT_OK;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return err;
}

ant_err node_listener_adopt(int fd, uint16_t *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
        return ANT_ERR_NETWORK;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
        return ANT_ERR_NETWORK;
    *port = sockaddr_port(&ss);
    return ANT_OK;
}

/* Same family, address and (unless `any_port`) port. */
static bool same_address(const struct sockaddr_storage *bound, const struct addrinfo *ai,
                         bool any_port)
{
    if (bound->ss_family != ai->ai_family)
        return false;
    if (ai->ai_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)bound;
        const struct sockaddr_in *b = (const struct sockaddr_in *)ai->ai_addr;
        return a->sin_addr.s_addr == b->sin_addr.s_addr &&
               (any_port || a->sin_port == b->sin_port);
    }
    if (ai->ai_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)bound;
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)ai->ai_addr;
        return memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0 &&
               (any_port || a->sin6_port == b->sin6_port);
    }
    return false;
}

ant_err ant_node_listener_check(const char *listen_addr, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    struct addrinfo hints, *res = NULL;
    struct stat sb;
    char host[256], portstr[8];
    uint16_t port;
    int val = 0;
    socklen_t vlen = sizeof val;

    if (listen_addr == NULL || fd < 0)
        return ANT_ERR_INVALID_ARG;
    if (fstat(fd, &sb) != 0 || !S_ISSOCK(sb.st_mode))
        return ANT_ERR_INVALID_ARG;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &vlen) != 0 || val != SOCK_STREAM)
        return ANT_ERR_INVALID_ARG;
    vlen = sizeof val;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &vlen) != 0 || val != 1)
        return ANT_ERR_INVALID_ARG;
    memset(&ss, 0, sizeof ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
        return ANT_ERR_INVALID_ARG;

    if (ant_node_split_hostport(listen_addr, host, sizeof host, &port) != ANT_OK)
        return ANT_ERR_INVALID_ARG;
    snprintf(portstr, sizeof portstr, "%u", (unsigned)port);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || res == NULL)
        return ANT_ERR_INVALID_ARG;
    ant_err err = ANT_ERR_MISMATCH;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (same_address(&ss, ai, port == 0)) {
            err = ANT_OK;
            break;
        }
    }
    freeaddrinfo(res);
    return err;
}
