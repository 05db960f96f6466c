/*
 * Small strict helpers of src/meta: the JSON reader every metadata file goes through,
 * base64 without any leniency (two encodings of one signature would make "the same
 * envelope" ambiguous), RFC 3339 UTC times, and the names of the roles and states.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meta/meta_int.h"

/* Deep enough for our payloads (targets nest 5 levels), shallow enough that a hostile
 * file cannot make json-c recurse far. */
#define JSON_DEPTH 12

const char *ant_meta_role_name(enum ant_meta_role role)
{
    switch (role) {
    case ANT_META_ROLE_ROOT:
        return "root";
    case ANT_META_ROLE_TARGETS:
        return "targets";
    case ANT_META_ROLE_TIMESTAMP:
        return "timestamp";
    }
    return "?";
}

const char *ant_meta_state_name(enum ant_meta_state state)
{
    switch (state) {
    case ANT_META_FRESH:
        return "fresh";
    case ANT_META_STALE:
        return "stale";
    case ANT_META_ROOT_EXPIRED:
        return "root_expired";
    case ANT_META_MISSING:
        return "missing";
    case ANT_META_INVALID:
        return "invalid";
    }
    return "invalid";
}

bool meta_payload_type(enum ant_meta_role role, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s%s%s", META_PAYLOAD_TYPE_PREFIX, ant_meta_role_name(role),
                     META_PAYLOAD_TYPE_SUFFIX);
    return n > 0 && (size_t)n < cap;
}

bool meta_sig_context(enum ant_meta_role role, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s%s", META_SIG_CTX_PREFIX, ant_meta_role_name(role));
    return n > 0 && (size_t)n < cap;
}

ant_err meta_json_parse(const uint8_t *data, size_t len, size_t cap, json_object **out)
{
    json_tokener *tok = NULL;
    json_object *obj = NULL;
    ant_err err = ANT_OK;

    *out = NULL;
    if (len > cap)
        return ANT_ERR_TOO_LARGE;
    /* json-c stops at a NUL; bytes after it would be signed but never read. */
    if (len == 0 || memchr(data, 0, len) != NULL)
        return ANT_ERR_PARSE;
    tok = json_tokener_new_ex(JSON_DEPTH);
    if (tok == NULL)
        return ANT_ERR_NOMEM;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* len <= cap <= ANT_META_TARGETS_MAX, far below INT_MAX */
    obj = json_tokener_parse_ex(tok, (const char *)data, (int)len);
    if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        err = ANT_ERR_PARSE;
        goto out;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        uint8_t c = data[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            err = ANT_ERR_PARSE;
            goto out;
        }
    }
    *out = obj;
    obj = NULL;
out:
    json_object_put(obj);
    json_tokener_free(tok);
    return err;
}

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

ant_err meta_b64_decode(const char *text, size_t textlen, size_t cap, uint8_t **out,
                        size_t *outlen)
{
    size_t pad = 0, n, o = 0;
    uint8_t *buf;

    *out = NULL;
    *outlen = 0;
    if (textlen == 0 || textlen % 4 != 0)
        return ANT_ERR_PARSE;
    if (text[textlen - 1] == '=')
        pad = text[textlen - 2] == '=' ? 2 : 1;
    n = textlen / 4 * 3 - pad;
    if (n > cap)
        return ANT_ERR_TOO_LARGE;
    buf = malloc(n + 1);
    if (buf == NULL)
        return ANT_ERR_NOMEM;
    for (size_t i = 0; i < textlen; i += 4) {
        int v[4];
        bool last = i + 4 == textlen;
        for (size_t j = 0; j < 4; j++) {
            if (last && j >= 4 - pad) {
                v[j] = 0;
                continue;
            }
            v[j] = b64_value(text[i + j]);
            if (v[j] < 0)
                goto bad;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        /* Safety: the bits a padded group leaves unused must be zero, or two texts
         * would decode to the same bytes. */
        if (last && pad == 1 && (w & 0xff) != 0)
            goto bad;
        if (last && pad == 2 && (w & 0xffff) != 0)
            goto bad;
        buf[o++] = (uint8_t)(w >> 16);
        if (!(last && pad == 2))
            buf[o++] = (uint8_t)(w >> 8);
        if (!(last && pad >= 1))
            buf[o++] = (uint8_t)w;
    }
    *out = buf;
    *outlen = o;
    return ANT_OK;
bad:
    free(buf);
    return ANT_ERR_PARSE;
}

char *meta_b64_encode(const uint8_t *data, size_t len)
{
    size_t n = (len + 2) / 3 * 4, o = 0;
    char *s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t w = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            w |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            w |= data[i + 2];
        s[o++] = b64_alphabet[w >> 18 & 63];
        s[o++] = b64_alphabet[w >> 12 & 63];
        s[o++] = i + 1 < len ? b64_alphabet[w >> 6 & 63] : '=';
        s[o++] = i + 2 < len ? b64_alphabet[w & 63] : '=';
    }
    s[o] = '\0';
    return s;
}

bool meta_is_hex64(const char *s)
{
    size_t i;
    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        if (i >= 64 || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return i == 64;
}

bool meta_version_canonical(const char *name)
{
    struct ant_semver v;
    char buf[ANT_SEMVER_TEXT_MAX];
    if (ant_semver_parse(name, &v) != ANT_OK || !ant_semver_format(&v, buf, sizeof buf))
        return false;
    return strcmp(buf, name) == 0;
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

ant_err ant_meta_time_parse(const char *text, int64_t *out)
{
    struct tm tm;
    int y, mo, d, h, mi, s;
    time_t t;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    *out = 0;
    if (text == NULL || strlen(text) != 20 || text[4] != '-' || text[7] != '-' ||
        text[10] != 'T' || text[13] != ':' || text[16] != ':' || text[19] != 'Z')
        return ANT_ERR_PARSE;
    if (!digits(text, 4, &y) || !digits(text + 5, 2, &mo) || !digits(text + 8, 2, &d) ||
        !digits(text + 11, 2, &h) || !digits(text + 14, 2, &mi) || !digits(text + 17, 2, &s))
        return ANT_ERR_PARSE;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
        s > 59)
        return ANT_ERR_PARSE;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return ANT_ERR_PARSE;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return ANT_ERR_PARSE;
    *out = (int64_t)t;
    return ANT_OK;
}

bool ant_meta_time_format(int64_t t, char *buf, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (buf == NULL || cap < 21 || t < 0 || gmtime_r(&tt, &tm) == NULL)
        return false;
    return strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 20;
}
