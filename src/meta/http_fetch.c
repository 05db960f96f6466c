/*
 * The metadata fetch callback over src/net: base URL + file name, the byte cap passed
 * straight to the transfer (counted while receiving, so an endless or oversize response
 * stops at the cap), and 404 turned into ANT_ERR_NOT_FOUND, which is how the root chain
 * walk learns that root.<N+1>.json does not exist yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ant/fsx.h"
#include "ant/meta.h"

ant_err ant_meta_http_init(struct ant_meta_http *h, const char *base_url, const char *repo,
                           const struct ant_http_opts *http)
{
    int n;
    if (h == NULL)
        return ANT_ERR_INVALID_ARG;
    memset(h, 0, sizeof *h);
    if (base_url != NULL) {
        size_t bl = strlen(base_url);
        n = snprintf(h->base, sizeof h->base, "%s%s", base_url,
                     bl > 0 && base_url[bl - 1] == '/' ? "" : "/");
    } else {
        if (repo == NULL || repo[0] == '\0' || strchr(repo, '/') == NULL ||
            strpbrk(repo, "?#%@: ") != NULL || strstr(repo, "..") != NULL)
            return ANT_ERR_INVALID_ARG;
        n = snprintf(h->base, sizeof h->base, ANT_META_DEFAULT_URL_FMT, repo);
    }
    /* room for the longest file name we ask for, "root.<20 digits>.json" */
    if (n <= 0 || (size_t)n + 32 >= sizeof h->base)
        return ANT_ERR_INVALID_ARG;
    if (!ant_http_url_allowed(h->base))
        return ANT_ERR_INSECURE_URL;
    if (http != NULL)
        h->http = *http;
    else
        ant_http_opts_init(&h->http);
    return ANT_OK;
}

ant_err ant_meta_http_fetch(void *arg, const char *name, size_t cap, uint8_t **data,
                            size_t *len)
{
    struct ant_meta_http *h = arg;
    struct ant_http_result res;
    char url[ANT_HTTP_URL_MAX + 1];
    ant_err err;

    if (h == NULL || name == NULL || data == NULL || len == NULL || !ant_fsx_name_ok(name))
        return ANT_ERR_INVALID_ARG;
    int n = snprintf(url, sizeof url, "%s%s", h->base, name);
    if (n <= 0 || (size_t)n >= sizeof url)
        return ANT_ERR_INVALID_ARG;
    memset(&res, 0, sizeof res);
    err = ant_http_get_mem(url, &h->http, cap, data, len, &res);
    h->last_status = res.status;
    if (err == ANT_ERR_HTTP_STATUS && (res.status == 404 || res.status == 410))
        return ANT_ERR_NOT_FOUND;
    return err;
}
