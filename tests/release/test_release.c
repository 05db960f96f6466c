/*
 * Tests of src/release without the network: semver parsing and ordering (semver.org §11
 * chain, invalid forms), and the GitHub release list parser and selection as one table
 * (nulls, missing fields, wrong types, drafts, channels, pre-release ordering, foreign
 * platform decoys, missing .sig, non-semver tags, floor, bad versions, oversize input).
 */
#include <stdlib.h>

#include "ant/releases.h"
#include "ant/semver.h"
#include "test.h"

/* ---- semver ----------------------------------------------------------------------- */

static void test_semver_valid(void)
{
    static const struct {
        const char *in, *formatted;
        uint64_t major, minor, patch;
        const char *pre, *build;
    } cases[] = {
        {"0.0.0", "0.0.0", 0, 0, 0, "", ""},
        {"1.2.3", "1.2.3", 1, 2, 3, "", ""},
        {"v1.2.3", "1.2.3", 1, 2, 3, "", ""},
        {"10.20.30", "10.20.30", 10, 20, 30, "", ""},
        {"1.0.0-alpha", "1.0.0-alpha", 1, 0, 0, "alpha", ""},
        {"1.0.0-0.3.7", "1.0.0-0.3.7", 1, 0, 0, "0.3.7", ""},
        {"1.0.0-x.7.z.92", "1.0.0-x.7.z.92", 1, 0, 0, "x.7.z.92", ""},
        {"1.0.0-x-y-z.--", "1.0.0-x-y-z.--", 1, 0, 0, "x-y-z.--", ""},
        {"1.0.0-0a.01b", "1.0.0-0a.01b", 1, 0, 0, "0a.01b", ""},
        {"1.0.0+20130313144700", "1.0.0+20130313144700", 1, 0, 0, "", "20130313144700"},
        {"1.0.0-beta+exp.sha.5114f85", "1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "beta",
         "exp.sha.5114f85"},
        {"1.0.0+001", "1.0.0+001", 1, 0, 0, "", "001"},
        {"18446744073709551615.0.0", "18446744073709551615.0.0", UINT64_MAX, 0, 0, "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ant_semver v;
        char buf[ANT_SEMVER_TEXT_MAX];
        CHECK_OK(ant_semver_parse(cases[i].in, &v));
        CHECK_MSG(v.major == cases[i].major && v.minor == cases[i].minor &&
                      v.patch == cases[i].patch, "%s", cases[i].in);
        CHECK_STR(v.pre, cases[i].pre);
        CHECK_STR(v.build, cases[i].build);
        CHECK(ant_semver_format(&v, buf, sizeof buf));
        CHECK_STR(buf, cases[i].formatted);
        CHECK(ant_semver_is_prerelease(&v) == (cases[i].pre[0] != '\0'));
    }
    /* The longest text accepted formats into ANT_SEMVER_TEXT_MAX; a small buffer fails. */
    char longest[ANT_SEMVER_TEXT_MAX + 8], buf[ANT_SEMVER_TEXT_MAX];
    struct ant_semver v;
    size_t n = (size_t)snprintf(longest, sizeof longest, "%s",
                                "18446744073709551615.18446744073709551615.1-");
    memset(longest + n, 'a', ANT_SEMVER_PRE_MAX);
    n += ANT_SEMVER_PRE_MAX;
    longest[n++] = '+';
    memset(longest + n, 'b', ANT_SEMVER_TEXT_MAX - 1 - n);
    longest[ANT_SEMVER_TEXT_MAX - 1] = '\0'; /* 159 bytes, the most accepted */
    CHECK_OK(ant_semver_parse(longest, &v));
    CHECK(ant_semver_format(&v, buf, sizeof buf));
    CHECK_STR(buf, longest);
    CHECK(!ant_semver_format(&v, buf, 10));
    longest[ANT_SEMVER_TEXT_MAX - 1] = 'b'; /* one byte more: refused */
    longest[ANT_SEMVER_TEXT_MAX] = '\0';
    CHECK_ERR(ant_semver_parse(longest, &v), ANT_ERR_BAD_VERSION);
}

static void test_semver_invalid(void)
{
    static const char *const bad[] = {
        "", "v", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "vv1.2.3", "V1.2.3",
        " 1.2.3", "1.2.3 ", "1.2.3-", "1.2.3+", "1.2.3-+b", "1.2.3-a..b", "1.2.3-.a",
        "1.2.3-a.", "1.2.3-01", "1.2.3-a.00", "1.2.3+a..b", "1.2.3-a_b", "1.2.3-ä",
        "1.2.3+b+c", "-1.2.3", "1.-2.3", "+1.2.3", "1.2.3-a\n", "latest", "v1",
        "18446744073709551616.0.0", "1.99999999999999999999.0", "0x1.2.3", "1.2.3\xff",
        "release-2024", "1.0.0.0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ant_semver v;
        CHECK_MSG(ant_semver_parse(bad[i], &v) == ANT_ERR_BAD_VERSION, "\"%s\"", bad[i]);
    }
    /* overlong parts */
    char pre[ANT_SEMVER_PRE_MAX + 16], text[256];
    struct ant_semver v;
    memset(pre, 'p', ANT_SEMVER_PRE_MAX + 1);
    pre[ANT_SEMVER_PRE_MAX + 1] = '\0';
    snprintf(text, sizeof text, "1.0.0-%s", pre);
    CHECK_ERR(ant_semver_parse(text, &v), ANT_ERR_BAD_VERSION);
    snprintf(text, sizeof text, "1.0.0+%s", pre);
    CHECK_ERR(ant_semver_parse(text, &v), ANT_ERR_BAD_VERSION);
    pre[ANT_SEMVER_PRE_MAX] = '\0'; /* exactly the maximum is fine */
    snprintf(text, sizeof text, "1.0.0-%s", pre);
    CHECK_OK(ant_semver_parse(text, &v));
    CHECK_ERR(ant_semver_parse(NULL, &v), ANT_ERR_INVALID_ARG);
}

static int cmp_text(const char *a, const char *b)
{
    struct ant_semver va, vb;
    if (ant_semver_parse(a, &va) != ANT_OK || ant_semver_parse(b, &vb) != ANT_OK)
        return 99;
    return ant_semver_compare(&va, &vb);
}

static void test_semver_order(void)
{
    /* semver.org §11: each is lower than the next. */
    static const char *const chain[] = {
        "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
        "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "2.1.0", "2.1.1",
        "10.0.0",
    };
    size_t n = sizeof chain / sizeof chain[0];
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < n; k++) {
            int want = i < k ? -1 : i > k ? 1 : 0;
            int got = cmp_text(chain[i], chain[k]);
            CHECK_MSG(got == want, "%s vs %s: %d, want %d", chain[i], chain[k], got, want);
        }
    }
    CHECK_INT(cmp_text("1.0.0+a", "1.0.0+b"), 0);           /* build metadata ignored */
    CHECK_INT(cmp_text("v1.0.0", "1.0.0"), 0);
    CHECK_INT(cmp_text("1.0.0-rc.2", "1.0.0-rc.10"), -1);   /* numeric, not text */
    CHECK_INT(cmp_text("1.0.0-1", "1.0.0-a"), -1);          /* numeric below alnum */
    CHECK_INT(cmp_text("1.0.0-Z", "1.0.0-a"), -1);          /* ASCII order */
    CHECK_INT(cmp_text("1.0.0-99999999999999999999999", "1.0.0-99999999999999999999998"), 1);
    CHECK_INT(cmp_text("1.0.0-9", "1.0.0-10000000000000000000000"), -1);
    CHECK_INT(cmp_text("1.0.0-a.b", "1.0.0-a"), 1);
    CHECK_INT(cmp_text("1.0.0-a-b", "1.0.0-a"), 1);
}

/* ---- release list ----------------------------------------------------------------- */

/* Fixtures are written with ' for " to stay readable; this swaps them. */
static char *json_of(const char *text)
{
    char *s = strdup(text);
    for (char *p = s; p && *p; p++) {
        if (*p == '\'')
            *p = '"';
    }
    return s;
}

#define X64 "ant-node-cli-linux-x64.tar.gz"
#define ARM "ant-node-cli-linux-arm64.tar.gz"
#define U "https://github.com/o/r/releases/download/"
#define A(tag, name) "{'name':'" name "','size':1000,'browser_download_url':'" U tag "/" name "'}"
#define SIGNED(tag, name) A(tag, name) "," A(tag, name ".sig")
#define REL(tag, extra, assets) "{'tag_name':'" tag "'," extra "'assets':[" assets "]}"
#define GOOD(tag) REL(tag, "'draft':false,'prerelease':false,", SIGNED(tag, X64))

struct sel_case {
    const char *name;
    const char *json;
    const char *running;
    enum ant_release_channel channel;
    const char *platform;
    const char *floor;      /* NULL: none */
    const char *bad;        /* NULL: none */
    ant_err want;
    const char *want_version;
    size_t want_count;      /* releases kept by the parser */
};

static const struct sel_case sel_cases[] = {
    {"basic", "[" GOOD("v0.2.0") "]", "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL,
     NULL, ANT_OK, "0.2.0", 1},
    {"highest wins, list order irrelevant",
     "[" GOOD("v0.2.0") "," GOOD("v0.10.0") "," GOOD("v0.3.0") "]", "0.1.0",
     ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.10.0", 3},
    {"nulls tolerated",
     "[{'tag_name':'v0.2.0','draft':null,'prerelease':null,'published_at':null,'body':null,"
     "'assets':[{'name':'" X64 "','size':null,'browser_download_url':'" U "v/a'},"
     "{'name':'" X64 ".sig','browser_download_url':'" U "v/a.sig'}]}]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 1},
    {"missing assets: release kept but never chosen",
     "[{'tag_name':'v0.9.0'}," GOOD("v0.2.0") ",{'tag_name':'v0.8.0','assets':null}]", "0.1.0",
     ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 3},
    {"wrong types skip only their release",
     "[" REL("v0.9.0", "'draft':'no',", SIGNED("v0.9.0", X64)) ","
     REL("v0.8.0", "'prerelease':1,", SIGNED("v0.8.0", X64)) ","
     "{'tag_name':'v0.7.0','assets':{}},"
     "{'tag_name':7,'assets':[" SIGNED("v7", X64) "]},"
     REL("v0.6.0", "'published_at':5,", SIGNED("v0.6.0", X64)) ","
     "'v0.5.0',null,[],"
     GOOD("v0.2.0") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 1},
    {"wrong-typed asset skipped alone",
     "[" REL("v0.3.0", "", "{'name':'" X64 "','size':'big','browser_download_url':'" U "a'},"
     A("v0.3.0", X64 ".sig")) "," GOOD("v0.2.0") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 2},
    {"negative size refused",
     "[" REL("v0.3.0", "", "{'name':'" X64 "','size':-1,'browser_download_url':'" U "a'},"
     A("v0.3.0", X64 ".sig")) "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_ERR_NOT_FOUND, NULL, 1},
    {"drafts skipped",
     "[" REL("v0.3.0", "'draft':true,", SIGNED("v0.3.0", X64)) "," GOOD("v0.2.0") "]", "0.1.0",
     ANT_RELEASE_CHANNEL_BETA, "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 2},
    {"stable skips pre-release suffix",
     "[" GOOD("v0.3.0-rc.1") "," GOOD("v0.2.0") "]", "0.1.0", ANT_RELEASE_CHANNEL_STABLE,
     "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 2},
    {"beta skips release candidate",
     "[" GOOD("v0.3.0-rc.1") "," GOOD("v0.2.0") "]", "0.1.0", ANT_RELEASE_CHANNEL_BETA,
     "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 2},
    {"beta takes beta pre-release",
     "[" GOOD("v0.3.0-beta.1") "," GOOD("v0.2.0") "]", "0.1.0", ANT_RELEASE_CHANNEL_BETA,
     "linux-x64", NULL, NULL, ANT_OK, "0.3.0-beta.1", 2},
    {"stable skips prerelease flag",
     "[" REL("v0.3.0", "'prerelease':true,", SIGNED("v0.3.0", X64)) "," GOOD("v0.2.0") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 2},
    {"beta pre-release ordering",
     "[" GOOD("v0.3.0-rc.2") "," GOOD("v0.3.0-rc.10") "," GOOD("v0.3.0-beta.5") ","
     GOOD("v0.3.0-alpha") "," GOOD("v0.2.9") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_BETA, "linux-x64", NULL, NULL, ANT_OK, "0.3.0-beta.5", 5},
    {"release above its pre-releases",
     "[" GOOD("v0.3.0-rc.10") "," GOOD("v0.3.0") "]", "0.3.0-rc.2", ANT_RELEASE_CHANNEL_BETA,
     "linux-x64", NULL, NULL, ANT_OK, "0.3.0", 2},
    {"foreign platform decoys only",
     "[" REL("v0.9.0", "", SIGNED("v0.9.0", "ant-node-cli-darwin-x64.tar.gz") ","
     SIGNED("v0.9.0", "ant-node-cli-windows-x64.tar.gz") "," SIGNED("v0.9.0", ARM) ","
     SIGNED("v0.9.0", "ant-node-cli-x64.tar.gz") ","
     SIGNED("v0.9.0", "ant-node-cli-macos-x64.tar.gz") ","
     SIGNED("v0.9.0", "ant-node-cli-linux-x64.zip") ","
     SIGNED("v0.9.0", "ANT-NODE-CLI-LINUX-X64.TAR.GZ") ","
     SIGNED("v0.9.0", "ant-node-cli-linux-x64.tar.gz.zip") ","
     SIGNED("v0.9.0", "x-ant-node-cli-linux-x64.tar.gz") ","
     SIGNED("v0.9.0", "ant-node-cli-linux-x64-musl.tar.gz")) "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_ERR_NOT_FOUND, NULL, 1},
    {"decoys around the real asset",
     "[" REL("v0.9.0", "", SIGNED("v0.9.0", "ant-node-cli-darwin-x64.tar.gz") ","
     SIGNED("v0.9.0", ARM) "," SIGNED("v0.9.0", X64)) "," GOOD("v0.4.0") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.9.0", 2},
    {"arm64 host takes arm64",
     "[" REL("v0.9.0", "", SIGNED("v0.9.0", "ant-node-cli-darwin-arm64.tar.gz") ","
     SIGNED("v0.9.0", ARM) "," SIGNED("v0.9.0", "ant-node-cli-arm64.tar.gz")) ","
     GOOD("v0.8.0") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-arm64", NULL, NULL, ANT_OK, "0.9.0", 2},
    {"missing .sig skips release",
     "[" REL("v0.5.0", "", A("v0.5.0", X64) "," A("v0.5.0", ARM ".sig") ","
     A("v0.5.0", X64 ".minisig")) "," GOOD("v0.2.0") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 2},
    {"non-semver tags skipped",
     "[" GOOD("latest") "," GOOD("v1") "," GOOD("release-2024") "," GOOD("vv1.0.0") ","
     GOOD("1.0.0.0") "," GOOD("v01.0.0") "," GOOD("v0.2.0") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.2.0", 1},
    {"floor below candidates", "[" GOOD("v0.2.0") "," GOOD("v0.4.0") "]", "0.1.0",
     ANT_RELEASE_CHANNEL_STABLE, "linux-x64", "0.3.0", NULL, ANT_OK, "0.4.0", 2},
    {"floor equal is allowed", "[" GOOD("v0.2.0") "]", "0.1.0", ANT_RELEASE_CHANNEL_STABLE,
     "linux-x64", "0.2.0", NULL, ANT_OK, "0.2.0", 1},
    {"floor above everything", "[" GOOD("v0.2.0") "," GOOD("v0.4.0") "]", "0.1.0",
     ANT_RELEASE_CHANNEL_STABLE, "linux-x64", "0.5.0", NULL, ANT_ERR_NOT_FOUND, NULL, 2},
    {"nothing above running", "[" GOOD("v0.2.0") "," GOOD("v0.1.0") "]", "0.2.0",
     ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_ERR_NOT_FOUND, NULL, 2},
    {"bad version skipped", "[" GOOD("v0.4.0") "," GOOD("v0.3.0") "]", "0.1.0",
     ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, "0.4.0", ANT_OK, "0.3.0", 2},
    {"plain http asset URL skipped",
     "[" REL("v0.4.0", "", "{'name':'" X64 "','browser_download_url':'http://evil.example/a'},"
     A("v0.4.0", X64 ".sig")) "," GOOD("v0.3.0") "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_OK, "0.3.0", 2},
    {"NUL inside a name",
     "[" REL("v0.4.0", "", "{'name':'" X64 "\\u0000x','browser_download_url':'" U "a'},"
     A("v0.4.0", X64 ".sig")) "]",
     "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_ERR_NOT_FOUND, NULL, 1},
    {"empty list", "[]", "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL,
     ANT_ERR_NOT_FOUND, NULL, 0},
    {"root object", "{'message':'API rate limit exceeded'}", "0.1.0",
     ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL, ANT_ERR_PARSE, NULL, 0},
    {"not JSON", "<html>", "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL,
     ANT_ERR_PARSE, NULL, 0},
    {"truncated", "[" GOOD("v0.2.0"), "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL,
     NULL, ANT_ERR_PARSE, NULL, 0},
    {"trailing garbage", "[] []", "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "linux-x64", NULL, NULL,
     ANT_ERR_PARSE, NULL, 0},
    {"trailing comma", "[" GOOD("v0.2.0") ",]", "0.1.0", ANT_RELEASE_CHANNEL_STABLE,
     "linux-x64", NULL, NULL, ANT_ERR_PARSE, NULL, 0},
    {"unsupported platform", "[" GOOD("v0.2.0") "]", "0.1.0", ANT_RELEASE_CHANNEL_STABLE,
     "darwin-x64", NULL, NULL, ANT_ERR_PLATFORM, NULL, 1},
    {"bare arch platform", "[" GOOD("v0.2.0") "]", "0.1.0", ANT_RELEASE_CHANNEL_STABLE, "x64",
     NULL, NULL, ANT_ERR_PLATFORM, NULL, 1},
};

static void run_sel_case(const struct sel_case *c)
{
    struct ant_release_list *list = NULL;
    struct ant_release_criteria crit;
    struct ant_release_choice choice;
    struct ant_semver floor, bad;
    char *json = json_of(c->json);
    ant_err err;

    CHECK(json != NULL);
    if (json == NULL)
        return;
    memset(&crit, 0, sizeof crit);
    CHECK_OK(ant_semver_parse(c->running, &crit.running));
    crit.channel = c->channel;
    crit.platform = c->platform;
    if (c->floor != NULL) {
        CHECK_OK(ant_semver_parse(c->floor, &floor));
        crit.floor = &floor;
    }
    if (c->bad != NULL) {
        CHECK_OK(ant_semver_parse(c->bad, &bad));
        crit.bad_versions = &bad;
        crit.n_bad = 1;
    }
    err = ant_releases_parse(json, strlen(json), &list);
    if (err != ANT_OK) {
        CHECK_MSG(err == c->want, "%s: parse %s", c->name, ant_strerror(err));
        CHECK(list == NULL);
        free(json);
        return;
    }
    CHECK_MSG(ant_releases_count(list) == c->want_count, "%s: %zu releases kept", c->name,
              ant_releases_count(list));
    err = ant_releases_select(list, &crit, &choice);
    CHECK_MSG(err == c->want, "%s: select %s", c->name, ant_strerror(err));
    if (err == ANT_OK && c->want_version != NULL) {
        char v[ANT_SEMVER_TEXT_MAX];
        CHECK(ant_semver_format(&choice.version, v, sizeof v));
        CHECK_MSG(strcmp(v, c->want_version) == 0, "%s: chose %s, want %s", c->name, v,
                  c->want_version);
        CHECK(strlen(choice.asset_url) > 0);
        CHECK_MSG(strlen(choice.sig_url) == strlen(choice.asset_url) + 4 &&
                      strcmp(choice.sig_url + strlen(choice.asset_url), ".sig") == 0,
                  "%s: sig url %s", c->name, choice.sig_url);
        CHECK(strncmp(choice.asset_name, "ant-node-cli-", 13) == 0);
    }
    if (err != ANT_OK)
        CHECK(choice.asset_url[0] == '\0');
    ant_releases_free(list);
    free(json);
}

static void test_select_table(void)
{
    for (size_t i = 0; i < sizeof sel_cases / sizeof sel_cases[0]; i++)
        run_sel_case(&sel_cases[i]);
}

static void test_choice_fields(void)
{
    char *json = json_of("[{'tag_name':'v0.2.0','assets':["
                         "{'name':'" X64 "','size':12345,'browser_download_url':'" U "x'},"
                         "{'name':'" X64 ".sig','size':3309,'browser_download_url':'" U "x.sig'},"
                         "{'name':'" ARM "','size':999,'browser_download_url':'" U "arm'}]}]");
    struct ant_release_list *list = NULL;
    struct ant_release_criteria crit;
    struct ant_release_choice ch;
    memset(&crit, 0, sizeof crit);
    crit.channel = ANT_RELEASE_CHANNEL_STABLE;
    crit.platform = "linux-x64";
    CHECK_OK(ant_releases_parse(json, strlen(json), &list));
    CHECK_OK(ant_releases_select(list, &crit, &ch));
    CHECK_STR(ch.tag, "v0.2.0");
    CHECK_STR(ch.asset_name, X64);
    CHECK_STR(ch.asset_url, U "x");
    CHECK_STR(ch.sig_url, U "x.sig");
    CHECK_INT(ch.asset_size, 12345);
    CHECK_INT(ch.sig_size, 3309);
    CHECK(ant_releases_version(list, 0) != NULL && ant_releases_version(list, 1) == NULL);
    crit.channel = (enum ant_release_channel)0;
    CHECK_ERR(ant_releases_select(list, &crit, &ch), ANT_ERR_INVALID_ARG);
    ant_releases_free(list);
    free(json);

    enum ant_release_channel chan;
    CHECK(ant_release_channel_parse("beta", &chan) && chan == ANT_RELEASE_CHANNEL_BETA);
    CHECK(ant_release_channel_parse("stable", &chan) && chan == ANT_RELEASE_CHANNEL_STABLE);
    CHECK(!ant_release_channel_parse("nightly", &chan));
    /* The channel table (ARCHITECTURE.md §10): beta is the first identifier, whole. */
    static const struct {
        const char *v;
        bool flagged, stable, beta;
    } chans[] = {
        {"1.2.0", false, true, true},          {"1.2.0", true, false, true},
        {"1.2.0-beta", false, false, true},    {"1.2.0-beta.1", false, false, true},
        {"1.2.0-beta.1.x", false, false, true}, {"1.2.0-rc.1", false, false, false},
        {"1.2.0-alpha.1", false, false, false}, {"1.2.0-betamax.1", false, false, false},
        {"1.2.0-beta-2", false, false, false},  {"1.2.0-bet", false, false, false},
        {"1.2.0-1.beta", false, false, false},  {"1.2.0-BETA.1", false, false, false},
        {"1.2.0-beta+build.5", false, false, true},
    };
    for (size_t i = 0; i < sizeof chans / sizeof chans[0]; i++) {
        struct ant_semver sv;
        CHECK_OK(ant_semver_parse(chans[i].v, &sv));
        CHECK_MSG(ant_release_channel_accepts(ANT_RELEASE_CHANNEL_STABLE, &sv, chans[i].flagged) ==
                      chans[i].stable,
                  "stable %s", chans[i].v);
        CHECK_MSG(ant_release_channel_accepts(ANT_RELEASE_CHANNEL_BETA, &sv, chans[i].flagged) ==
                      chans[i].beta,
                  "beta %s", chans[i].v);
    }
    char name[64];
    CHECK_OK(ant_release_asset_name("linux-arm64", name, sizeof name));
    CHECK_STR(name, ARM);
    CHECK_ERR(ant_release_asset_name("linux-arm64", name, 8), ANT_ERR_TOO_LARGE);
    CHECK_ERR(ant_release_asset_name("windows-x64", name, sizeof name), ANT_ERR_PLATFORM);
    CHECK(ant_release_host_platform() != NULL);
}

static void test_size_and_depth_caps(void)
{
    struct ant_release_list *list = NULL;
    /* 50 MiB of valid JSON: refused on its length before json-c sees it. */
    size_t big = 50u * 1024 * 1024;
    char *s = malloc(big + 1);
    CHECK(s != NULL);
    if (s == NULL)
        return;
    memset(s, ' ', big);
    s[0] = '[';
    s[big - 1] = ']';
    s[big] = '\0';
    CHECK_ERR(ant_releases_parse(s, big, &list), ANT_ERR_TOO_LARGE);
    CHECK(list == NULL);
    /* one byte over the cap, one byte under */
    s[ANT_RELEASES_JSON_MAX] = ']';
    CHECK_ERR(ant_releases_parse(s, ANT_RELEASES_JSON_MAX + 1, &list), ANT_ERR_TOO_LARGE);
    s[ANT_RELEASES_JSON_MAX - 1] = ']';
    CHECK_OK(ant_releases_parse(s, ANT_RELEASES_JSON_MAX, &list));
    ant_releases_free(list);
    list = NULL;

    /* deep nesting inside a release is refused (json-c depth limit), not recursed into */
    size_t depth = 1000, n = 0;
    n += (size_t)snprintf(s + n, big - n, "[{\"tag_name\":\"v1.0.0\",\"x\":");
    for (size_t i = 0; i < depth; i++)
        s[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        s[n++] = ']';
    n += (size_t)snprintf(s + n, big - n, "}]");
    CHECK_ERR(ant_releases_parse(s, n, &list), ANT_ERR_PARSE);

    /* more releases than kept */
    n = 0;
    s[n++] = '[';
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(s + n, big - n, "%s{\"tag_name\":\"v0.%d.0\"}", i ? "," : "", i);
    s[n++] = ']';
    CHECK_OK(ant_releases_parse(s, n, &list));
    CHECK_INT(ant_releases_count(list), ANT_RELEASES_MAX);
    ant_releases_free(list);
    free(s);
}

static void test_api_url(void)
{
    char buf[ANT_HTTP_URL_MAX + 1];
    CHECK_OK(ant_releases_api_url(NULL, "WithAutonomi/ant-node", buf, sizeof buf));
    CHECK_STR(buf, "https://api.github.com/repos/WithAutonomi/ant-node/releases?per_page=30");
    CHECK_OK(ant_releases_api_url("http://127.0.0.1:8080/", "a/b.c_d-e", buf, sizeof buf));
    CHECK_STR(buf, "http://127.0.0.1:8080/repos/a/b.c_d-e/releases?per_page=30");
    static const char *const bad_repos[] = {"", "a", "a/", "/b", "a/b/c", "-a/b", "a/..",
                                            "a/.", "a b/c", "a/b?x", "a/b#", "ä/b", NULL};
    for (size_t i = 0; bad_repos[i] != NULL; i++)
        CHECK_MSG(ant_releases_api_url(NULL, bad_repos[i], buf, sizeof buf) ==
                      ANT_ERR_INVALID_ARG, "%s", bad_repos[i]);
    CHECK_ERR(ant_releases_api_url(NULL, NULL, buf, sizeof buf), ANT_ERR_INVALID_ARG);
    CHECK_ERR(ant_releases_api_url("http://api.github.com", "a/b", buf, sizeof buf),
              ANT_ERR_INSECURE_URL);
    CHECK_ERR(ant_releases_api_url(NULL, "a/b", buf, 20), ANT_ERR_TOO_LARGE);
}


/*
 * Issue 13 item 6 (blind SSRF): a release list from an HTTPS API names plain-http asset
 * URLs on loopback, so every node would GET http://127.0.0.1:<port>/... on each check. Such
 * URLs are accepted only when the API URL is itself plain http on loopback (tests).
 */
static void test_loopback_http_assets_need_loopback_api(void)
{
#define LB "http://127.0.0.1:9/admin/"
    char *json = json_of("[" REL("v0.4.0", "",
                                 "{'name':'" X64 "','browser_download_url':'" LB "a'},"
                                 "{'name':'" X64 ".sig','browser_download_url':'" LB "a.sig'}")
                         "," GOOD("v0.3.0") "]");
#undef LB
    struct ant_release_list *list = NULL;
    struct ant_release_criteria crit;
    struct ant_release_choice ch;
    char v[ANT_SEMVER_TEXT_MAX];
    memset(&crit, 0, sizeof crit);
    CHECK_OK(ant_semver_parse("0.1.0", &crit.running));
    crit.channel = ANT_RELEASE_CHANNEL_STABLE;
    crit.platform = "linux-x64";
    CHECK(json != NULL);
    CHECK_OK(ant_releases_parse(json, strlen(json), &list));
    const char *https_apis[] = {NULL, "https://api.github.com", "https://127.0.0.1:8443",
                                "HTTP://api.github.com"};
    for (size_t i = 0; i < sizeof https_apis / sizeof https_apis[0]; i++) {
        crit.api_url = https_apis[i];
        CHECK_OK(ant_releases_select(list, &crit, &ch));
        CHECK(ant_semver_format(&ch.version, v, sizeof v));
        CHECK_MSG(strcmp(v, "0.3.0") == 0, "api %s chose %s", https_apis[i], v);
    }
    const char *loopback_apis[] = {"http://127.0.0.1:8080", "http://localhost:1/x",
                                   "http://[::1]:80"};
    for (size_t i = 0; i < sizeof loopback_apis / sizeof loopback_apis[0]; i++) {
        crit.api_url = loopback_apis[i];
        CHECK_OK(ant_releases_select(list, &crit, &ch));
        CHECK(ant_semver_format(&ch.version, v, sizeof v));
        CHECK_MSG(strcmp(v, "0.4.0") == 0, "api %s chose %s", loopback_apis[i], v);
    }
    ant_releases_free(list);
    free(json);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_semver_valid),      ANT_TEST(test_semver_invalid),
    ANT_TEST(test_semver_order),      ANT_TEST(test_select_table),
    ANT_TEST(test_choice_fields),     ANT_TEST(test_size_and_depth_caps),
    ANT_TEST(test_api_url),           ANT_TEST(test_loopback_http_assets_need_loopback_api),
};
ANT_TEST_MAIN(cases)
