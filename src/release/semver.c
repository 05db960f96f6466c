/*
 * Semantic versions (semver 2.0.0) as declared in include/ant/semver.h. Release tags come
 * from a server we do not trust, so the parser is strict (the grammar of semver.org, no
 * leniency beyond one leading 'v') and bounded: every part has a length cap, numbers are
 * checked for overflow, and the whole text must fit ANT_SEMVER_TEXT_MAX so formatting a
 * parsed version can never be cut. Ordering is semver §11.
 */
#include "ant/semver.h"

#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-';
}

/* Parses a numeric core part at *p: no leading zero unless it is "0", no overflow. */
static bool parse_number(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (!is_digit(*s))
        return false;
    if (s[0] == '0' && is_digit(s[1]))
        return false;
    while (is_digit(*s)) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

/*
 * Checks a dot-separated identifier list [s, s+len): no empty identifier, only
 * [0-9A-Za-z-], and (for pre-release, `numeric_rule`) no leading zero in a purely
 * numeric identifier. Build metadata allows leading zeros (semver §10).
 */
static bool idents_ok(const char *s, size_t len, bool numeric_rule)
{
    size_t start = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (!is_ident_char(s[i]))
                return false;
            continue;
        }
        size_t n = i - start;
        if (n == 0)
            return false;
        if (numeric_rule && n > 1 && s[start] == '0') {
            bool digits_only = true;
            for (size_t k = start; k < i; k++)
                digits_only = digits_only && is_digit(s[k]);
            if (digits_only)
                return false;
        }
        start = i + 1;
    }
    return true;
}

ant_err ant_semver_parse(const char *text, struct ant_semver *out)
{
    struct ant_semver v;
    const char *p;

    if (text == NULL || out == NULL)
        return ANT_ERR_INVALID_ARG;
    memset(&v, 0, sizeof v);
    p = text;
    if (*p == 'v')
        p++;
    /* The canonical text is the input minus the 'v', so this bound is also the bound on
     * what ant_semver_format writes (it has to fit ANT_SEMVER_TEXT_MAX with its NUL). */
    if (strnlen(p, ANT_SEMVER_TEXT_MAX) >= ANT_SEMVER_TEXT_MAX)
        return ANT_ERR_BAD_VERSION;

    if (!parse_number(&p, &v.major) || *p++ != '.' || !parse_number(&p, &v.minor) ||
        *p++ != '.' || !parse_number(&p, &v.patch))
        return ANT_ERR_BAD_VERSION;

    if (*p == '-') {
        const char *pre = ++p;
        size_t n = strcspn(pre, "+");
        if (n > ANT_SEMVER_PRE_MAX || !idents_ok(pre, n, true))
            return ANT_ERR_BAD_VERSION;
        memcpy(v.pre, pre, n);
        v.pre[n] = '\0';
        p = pre + n;
    }
    if (*p == '+') {
        const char *build = ++p;
        size_t n = strlen(build);
        if (n > ANT_SEMVER_BUILD_MAX || !idents_ok(build, n, false))
            return ANT_ERR_BAD_VERSION;
        memcpy(v.build, build, n);
        v.build[n] = '\0';
        p = build + n;
    }
    if (*p != '\0')
        return ANT_ERR_BAD_VERSION;
    *out = v;
    return ANT_OK;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
    }
    return n > 0;
}

/* Compares pre-release lists per semver §11.4. Numeric identifiers have no leading zeros
 * (the parser enforces it), so a longer digit string is the larger number; that keeps the
 * comparison exact for identifiers too long for any integer type. */
static int cmp_pre(const char *a, const char *b)
{
    for (;;) {
        size_t na = strcspn(a, "."), nb = strcspn(b, ".");
        bool da = all_digits(a, na), db = all_digits(b, nb);
        int c;
        if (da && db) {
            c = na < nb ? -1 : na > nb ? 1 : memcmp(a, b, na);
        } else if (da != db) {
            c = da ? -1 : 1; /* numeric identifiers sort below alphanumeric ones */
        } else {
            size_t n = na < nb ? na : nb;
            c = memcmp(a, b, n);
            if (c == 0)
                c = na < nb ? -1 : na > nb ? 1 : 0;
        }
        if (c != 0)
            return c < 0 ? -1 : 1;
        a += na;
        b += nb;
        if (*a == '\0' || *b == '\0')
            return *a == '\0' ? (*b == '\0' ? 0 : -1) : 1; /* fewer identifiers: lower */
        a++;
        b++;
    }
}

int ant_semver_compare(const struct ant_semver *a, const struct ant_semver *b)
{
    int c = cmp_u64(a->major, b->major);
    if (c == 0)
        c = cmp_u64(a->minor, b->minor);
    if (c == 0)
        c = cmp_u64(a->patch, b->patch);
    if (c != 0)
        return c;
    if (a->pre[0] == '\0' || b->pre[0] == '\0') /* a release ranks above its pre-releases */
        return a->pre[0] == '\0' ? (b->pre[0] == '\0' ? 0 : 1) : -1;
    return cmp_pre(a->pre, b->pre);
}

bool ant_semver_is_prerelease(const struct ant_semver *v)
{
    return v->pre[0] != '\0';
}

bool ant_semver_format(const struct ant_semver *v, char *buf, size_t cap)
{
    int n;
    if (v == NULL || buf == NULL || cap == 0)
        return false;
    n = snprintf(buf, cap, "%llu.%llu.%llu%s%s%s%s", (unsigned long long)v->major,
                 (unsigned long long)v->minor, (unsigned long long)v->patch,
                 v->pre[0] ? "-" : "", v->pre, v->build[0] ? "+" : "", v->build);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return false;
    }
    return true;
}
