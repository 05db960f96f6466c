/*
 * The seed corpus generator: `fuzz_make_corpus OUTDIR` writes OUTDIR/<target>/<seed> for
 * every fuzz target, built here from our own code at build/test time, never copied from
 * elsewhere. Signatures come from our keygen with the fixed seed of fuzz.h (so they verify
 * in the target), archives from libarchive's writer (valid ones and each malformed shape
 * the extractor must refuse), and the rest from the formats' own rules: a GitHub release
 * list and the release-info cache file, cache meta files (one matching the cache_meta
 * target's archive), protocol frames, INI files and versions. Each seed is small so the
 * CTest replay of a whole corpus stays well under a second.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ant/cache.h"
#include "ant/digest.h"
#include "ant/meta.h"
#include "ant/httpd.h"
#include "ant/mldsa65.h"
#include "ant/node_config.h"
#include "ant/node_proto.h"
#include "ant/node_store.h"
#include "ant/patch.h"
#include "fuzz.h"

static const char *outdir;
static int failures;

static void mkdir_p(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: mkdir %s: %s\n", path, strerror(errno));
        failures++;
    }
}

static void put(const char *target, const char *name, const void *data, size_t len)
{
    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/%s", outdir, target);
    mkdir_p(dir);
    int m = snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = m > 0 && (size_t)m < sizeof path ? fopen(path, "wb") : NULL;
    if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        failures++;
    }
}

static void put_str(const char *target, const char *name, const char *text)
{
    put(target, name, text, strlen(text));
}

/* ---- semver --------------------------------------------------------------------- */

static void gen_semver(void)
{
    static const char *const seeds[] = {
        "1.2.3", "v1.2.3", "0.0.0", "1.2.3-rc.1+build.5\n1.2.3\n1.2.4-alpha",
        "1.0.0-alpha\n1.0.0-alpha.1\n1.0.0-alpha.beta",
        "1.0.0-beta.2\n1.0.0-beta.11\n1.0.0-rc.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92",
        "1.0.0-x-y-z.--", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85",
        "18446744073709551615.18446744073709551615.18446744073709551615",
        "18446744073709551616.0.0", "01.2.3", "1.02.3", "1.2.03", "1.0.0-01", "1.2",
        "1.2.3.4", "1.2.3-", "1.2.3+", "1.2.3-a..b", "1.2.3+a..b", "1.0.0+a+b", "v", "",
        "vv1.0.0", "V1.0.0", " 1.0.0", "1.0.0 ", "-1.0.0", "1.0.0-\xc3\xa9",
        "1.0.0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "1.0.0-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "1.0.0-1.0.0\n1.0.0-1.0\n1.0.0-1",
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed-%02zu", i);
        put_str("semver", name, seeds[i]);
    }
    /* The same text with a NUL inside: the parser sees only the part before it. */
    put("semver", "nul-inside", "1.0.0\0garbage", 13);
}

/* ---- node_frame ------------------------------------------------------------------ */

struct buf {
    uint8_t data[8192];
    size_t len;
};

static void frame(struct buf *b, uint8_t type, const void *payload, size_t len)
{
    uint8_t hdr[ANT_NODE_PROTO_HEADER_BYTES];
    if (ant_node_proto_header(hdr, type, len) != ANT_OK ||
        b->len + sizeof hdr + len > sizeof b->data) {
        failures++;
        return;
    }
    memcpy(b->data + b->len, hdr, sizeof hdr);
    b->len += sizeof hdr;
    if (len > 0)
        memcpy(b->data + b->len, payload, len);
    b->len += len;
}

static void put_frames(const char *name, uint8_t selector, const struct buf *b, size_t cut)
{
    uint8_t out[sizeof b->data + 1];
    out[0] = selector;
    memcpy(out + 1, b->data, b->len);
    put("node_frame", name, out, 1 + b->len - cut);
}

static void gen_node_frame(void)
{
    uint8_t addr[ANT_NODE_ADDR_BYTES + 100];
    for (size_t i = 0; i < sizeof addr; i++)
        addr[i] = (uint8_t)(i * 7);
    /* Selector 9 is SIZE_MAX, 7 the smallest frame that holds a chunk, 6 is 4096. */
    struct buf b = {.len = 0};
    frame(&b, ANT_FRAME_PING, "hello", 5);
    put_frames("ping", 9, &b, 0);
    put_frames("ping-truncated", 9, &b, 2);
    put_frames("ping-small-max", 3, &b, 0);
    b.len = 0;
    frame(&b, ANT_FRAME_STATUS, NULL, 0);
    frame(&b, ANT_FRAME_GET, addr, ANT_NODE_ADDR_BYTES);
    frame(&b, ANT_FRAME_HAS, addr, ANT_NODE_ADDR_BYTES);
    frame(&b, ANT_FRAME_PUT, addr, sizeof addr);
    put_frames("pipeline", 6, &b, 0);
    put_frames("pipeline-chunkmax", 7, &b, 0);
    b.len = 0;
    frame(&b, ANT_FRAME_STATUS | ANT_FRAME_REPLY, "{\"version\":\"0.1.0\"}", 19);
    frame(&b, ANT_FRAME_PUT | ANT_FRAME_REPLY, "\1", 1);
    frame(&b, ANT_FRAME_HAS | ANT_FRAME_REPLY, "\0", 1);
    frame(&b, ANT_FRAME_GET | ANT_FRAME_REPLY, addr, 40);
    frame(&b, ANT_FRAME_PING | ANT_FRAME_REPLY, "hello", 5);
    put_frames("replies", 9, &b, 0);
    b.len = 0;
    uint8_t errp[4 + ANT_NODE_PROTO_ERRMSG_MAX];
    size_t elen = ant_node_proto_error_payload(errp, sizeof errp, ANT_ERR_NOT_FOUND,
                                               "no such chunk\tat all\x01");
    frame(&b, ANT_FRAME_ERROR, errp, elen);
    put_frames("error", 9, &b, 0);
    b.len = 0;
    frame(&b, ANT_FRAME_ERROR, "\0\0\0\1", 4); /* a non-negative code */
    put_frames("error-positive-code", 9, &b, 0);
    b.len = 0;
    frame(&b, ANT_FRAME_GET, addr, 31); /* wrong address size */
    put_frames("get-short-addr", 9, &b, 0);
    b.len = 0;
    frame(&b, 0x06, NULL, 0); /* unknown type */
    put_frames("unknown-type", 9, &b, 0);
    b.len = 0;
    frame(&b, ANT_FRAME_PING, NULL, 0);
    b.data[4] = 2; /* version 2 */
    put_frames("bad-version", 9, &b, 0);
    b.data[4] = 1;
    b.data[7] = 1; /* reserved bits */
    put_frames("reserved-bits", 9, &b, 0);
    static const uint8_t huge[] = {9, 0xff, 0xff, 0xff, 0xff, 1, ANT_FRAME_PUT, 0, 0};
    put("node_frame", "huge-length", huge, sizeof huge);
    static const uint8_t short_hdr[] = {9, 0, 0, 0};
    put("node_frame", "short-header", short_hdr, sizeof short_hdr);
}

/* ---- ini_config ------------------------------------------------------------------ */

static void gen_ini(void)
{
    put_str("ini_config", "full",
            "# ant-node configuration\n"
            "[node]\n"
            "root-dir = /var/lib/ant\n"
            "listen = 127.0.0.1:12000\n"
            "workers = 4\n"
            "max-frame = 5MiB\n"
            "max-connections = 256\n"
            "idle-timeout = 2m\n"
            "map-size = 1G\n"
            "verify-reads = yes\n"
            "log-level = debug\n"
            "; upgrades\n"
            "[upgrade]\n"
            "no-auto-upgrade = off\n"
            "stop-on-upgrade = 1\n"
            "upgrade-api-url = \"https://api.github.com\"\n"
            "upgrade-repo = maidsafe/ant-node\n"
            "upgrade-channel = beta\n"
            "cache-dir = /tmp/cache\n"
            "check-interval = 1h\n"
            "rollout-window = 1d\n"
            "release-ttl = 3600\n"
            "connect-timeout = 1500ms\n"
            "transfer-timeout = 10m\n"
            "stall-timeout = 30s\n"
            "lock-timeout = 90s\n"
            "trial-period = 5m\n");
    put_str("ini_config", "crlf", "workers = 2\r\nmap-size = 4KiB\r\n\r\n");
    put_str("ini_config", "strict-unknown", "#!strict\nworkers = 2\nno-such-key = 1\n");
    put_str("ini_config", "strict-bad-value", "#!strict\nidle-timeout = 5 fortnights\n");
    put_str("ini_config", "bad-values",
            "workers = 0\nworkers = 65\nmax-frame = 18446744073709551615T\n"
            "idle-timeout = 99999999999999999999d\nverify-reads = maybe\nlog-level = loud\n"
            "upgrade-channel = nightly\nmap-size = -1\n");
    put_str("ini_config", "no-equals", "workers 4\n");
    put_str("ini_config", "empty-key", " = 4\n");
    put_str("ini_config", "open-quote", "listen = \"127.0.0.1:1\n");
    put_str("ini_config", "lone-quote", "listen = \"\n");
    put_str("ini_config", "empty-quotes", "cache-dir = \"\"\n");
    put_str("ini_config", "bad-section", "[upgrade\nworkers = 1\n");
    put_str("ini_config", "empty-section", "[]\n");
    put_str("ini_config", "no-newline-at-end", "workers=3");
    put("ini_config", "nul-byte", "workers = 4\0\n", 13);
    char longline[ANT_NODE_CONFIG_LINE_MAX + 32];
    memset(longline, 'a', sizeof longline - 1);
    memcpy(longline, "listen = ", 9);
    longline[sizeof longline - 1] = '\0';
    put_str("ini_config", "line-too-long", longline);
}

/* ---- releases_json --------------------------------------------------------------- */

#define GH "https://github.com/o/r/releases/download/"

static void gen_releases(void)
{
    char json[8192];
    snprintf(json, sizeof json,
             "[{\"tag_name\":\"v0.3.0-rc.1\",\"draft\":false,\"prerelease\":true,"
             "\"published_at\":\"2026-01-03T00:00:00Z\",\"assets\":["
             "{\"name\":\"ant-node-cli-linux-x64.tar.gz\",\"size\":1000,"
             "\"browser_download_url\":\"" GH "v0.3.0-rc.1/ant-node-cli-linux-x64.tar.gz\"},"
             "{\"name\":\"ant-node-cli-linux-x64.tar.gz.sig\",\"size\":3309,"
             "\"browser_download_url\":\"" GH "v0.3.0-rc.1/ant-node-cli-linux-x64.tar.gz.sig\"}]},"
             "{\"tag_name\":\"v0.2.0\",\"draft\":false,\"prerelease\":false,"
             "\"published_at\":null,\"assets\":["
             "{\"name\":\"ant-node-cli-linux-x64.tar.gz\",\"size\":null,"
             "\"browser_download_url\":\"" GH "v0.2.0/ant-node-cli-linux-x64.tar.gz\"},"
             "{\"name\":\"ant-node-cli-linux-x64.tar.gz.sig\","
             "\"browser_download_url\":\"" GH "v0.2.0/ant-node-cli-linux-x64.tar.gz.sig\"},"
             "{\"name\":\"ant-node-cli-linux-arm64.tar.gz\",\"size\":900,"
             "\"browser_download_url\":\"" GH "v0.2.0/ant-node-cli-linux-arm64.tar.gz\"},"
             "{\"name\":\"ant-node-cli-linux-arm64.tar.gz.sig\",\"size\":3309,"
             "\"browser_download_url\":\"" GH "v0.2.0/ant-node-cli-linux-arm64.tar.gz.sig\"}]},"
             "{\"tag_name\":\"v9.9.9\",\"draft\":true,\"assets\":[]},"
             "{\"tag_name\":\"0.1.5+build.7\",\"assets\":null},"
             "{\"tag_name\":\"not-a-version\",\"assets\":[]},"
             "{\"tag_name\":42},"
             "{\"tag_name\":\"v0.4.0\",\"draft\":\"no\"},"
             "{\"tag_name\":\"v0.5.0\",\"assets\":[{\"name\":\"ant-node-cli-linux-x64.tar.gz\","
             "\"size\":-1,\"browser_download_url\":\"http://evil.example/a.tar.gz\"},"
             "{\"name\":\"ant-node-cli-linux-x64.tar.gz.sig\",\"size\":3309,"
             "\"browser_download_url\":\"" GH "v0.5.0/ant-node-cli-linux-x64.tar.gz.sig\"}]}]");
    put_str("releases_json", "github-list", json);
    put_str("releases_json", "empty-array", "[]");
    put_str("releases_json", "not-array", "{\"message\":\"API rate limit exceeded\"}");
    put_str("releases_json", "trailing-garbage", "[] x");
    put_str("releases_json", "truncated", "[{\"tag_name\":\"v1.0.0\",\"assets\":[{\"name\":");
    put_str("releases_json", "deep",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
    put_str("releases_json", "unicode-escape",
            "[{\"tag_name\":\"v1.0.0\\u0000x\",\"assets\":[{\"name\":\"ant-node-cli-linux-x64"
            ".tar.gz\\u0000\",\"browser_download_url\":\"https://a/\\ud800\"}]}]");
    put_str("releases_json", "big-numbers",
            "[{\"tag_name\":\"v1.0.0\",\"assets\":[{\"name\":\"ant-node-cli-linux-x64.tar.gz\","
            "\"size\":18446744073709551616,\"browser_download_url\":\"https://a/b\"},"
            "{\"name\":\"ant-node-cli-linux-x64.tar.gz.sig\",\"size\":1e400,"
            "\"browser_download_url\":\"https://a/b.sig\"}]}]");
    put_str("releases_json", "duplicate-keys",
            "[{\"tag_name\":\"v1.0.0\",\"tag_name\":\"v2.0.0\",\"assets\":[],\"assets\":null}]");
    /* The release-info cache file around a list (src/release/relcache.c). */
    char cachefile[9000];
    snprintf(cachefile, sizeof cachefile,
             "{\"format\":1,\"source\":\"https://api.github.com/repos/o/r/releases?per_page=30\","
             "\"fetched_at\":1790000000,\"releases\":%s}",
             json);
    put_str("releases_json", "relcache-file", cachefile);
    put_str("releases_json", "relcache-failure",
            "{\"format\":1,\"source\":\"https://api.github.com/repos/o/r/releases?per_page=30\","
            "\"fetched_at\":1790000000,\"error\":-20,\"status\":403}");
}

/* ---- cache_meta ------------------------------------------------------------------ */

static void gen_cache_meta(void)
{
    uint8_t sha[ANT_SHA256_BYTES];
    char hex[ANT_SHA256_HEXBYTES], text[1024];
    if (ant_sha256(sha, FUZZ_CACHE_ARCHIVE, sizeof FUZZ_CACHE_ARCHIVE - 1) != ANT_OK) {
        failures++;
        return;
    }
    ant_hex_encode(hex, sha, sizeof sha);
    size_t size = sizeof FUZZ_CACHE_ARCHIVE - 1;
#define META(name, ver, plat, sz, h)                                                       \
    do {                                                                                   \
        snprintf(text, sizeof text,                                                        \
                 "{\"version\":\"%s\",\"platform\":\"%s\",\"archive_size\":%s,"            \
                 "\"sha256\":\"%s\"}",                                                     \
                 ver, plat, sz, h);                                                        \
        put_str("cache_meta", name, text);                                                 \
    } while (0)
    char sz[32];
    snprintf(sz, sizeof sz, "%zu", size);
    META("matching", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, sz, hex);
    META("other-version", "0.2.0", FUZZ_CACHE_PLATFORM, sz, hex);
    META("other-platform", FUZZ_CACHE_VERSION, "linux-arm64", sz, hex);
    META("wrong-size", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, "1", hex);
    META("negative-size", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, "-1", hex);
    META("huge-size", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, "99999999999999999999", hex);
    META("float-size", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, "28.0", hex);
    META("string-size", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, "\"28\"", hex);
    char bad[ANT_SHA256_HEXBYTES];
    memcpy(bad, hex, sizeof bad);
    bad[0] = bad[0] == '0' ? '1' : '0';
    META("wrong-sha", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, sz, bad);
    bad[5] = 'g';
    META("non-hex-sha", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, sz, bad);
    META("short-sha", FUZZ_CACHE_VERSION, FUZZ_CACHE_PLATFORM, sz, "abcd");
    META("nul-in-version", "0.1.0\\u0000x", FUZZ_CACHE_PLATFORM, sz, hex);
    put_str("cache_meta", "empty-object", "{}");
    put_str("cache_meta", "array", "[]");
    put_str("cache_meta", "nested", "{\"version\":{\"a\":{\"b\":1}}}");
    put_str("cache_meta", "trailing", "{} {}");
    put("cache_meta", "empty", "", 0);
    char big[ANT_CACHE_META_CAP + 2];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '}';
    put("cache_meta", "over-cap", big, sizeof big);
#undef META
}

/* ---- extract --------------------------------------------------------------------- */

enum member_kind { M_FILE, M_DIR, M_SYMLINK, M_HARDLINK, M_FIFO, M_CHARDEV };

struct member {
    const char *name;
    enum member_kind kind;
    const char *data; /* M_FILE contents; NULL with zeros */
    size_t zeros;     /* M_FILE: extra zero bytes */
    const char *link;
    bool noise;       /* M_FILE: the extra bytes are pseudo-random, not zeros */
};

/* Builds a tar (format: 'p' pax, 'u' ustar, 'g' gnutar) in memory, gzipped when asked. */
static void put_archive(const char *name, char format, bool gzip, const struct member *m,
                        size_t n, size_t cut)
{
    static uint8_t out[1 << 20];
    size_t used = 0;
    struct archive *a = archive_write_new();
    bool ok = a != NULL;
    ok = ok && (!gzip || archive_write_add_filter_gzip(a) == ARCHIVE_OK);
    if (ok && format == 'u')
        ok = archive_write_set_format_ustar(a) == ARCHIVE_OK;
    else if (ok && format == 'g')
        ok = archive_write_set_format_gnutar(a) == ARCHIVE_OK;
    else if (ok)
        ok = archive_write_set_format_pax_restricted(a) == ARCHIVE_OK;
    ok = ok && archive_write_open_memory(a, out, sizeof out, &used) == ARCHIVE_OK;
    for (size_t i = 0; ok && i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        if (e == NULL) {
            ok = false;
            break;
        }
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_mtime(e, 1790000000, 0);
        size_t dlen = m[i].data != NULL ? strlen(m[i].data) : 0;
        switch (m[i].kind) {
        case M_FILE:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_perm(e, 0755);
            archive_entry_set_size(e, (la_int64_t)(dlen + m[i].zeros));
            break;
        case M_DIR:
            archive_entry_set_filetype(e, AE_IFDIR);
            archive_entry_set_perm(e, 0755);
            break;
        case M_SYMLINK:
            archive_entry_set_filetype(e, AE_IFLNK);
            archive_entry_set_symlink(e, m[i].link);
            break;
        case M_HARDLINK:
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, m[i].link);
            break;
        case M_FIFO:
            archive_entry_set_filetype(e, AE_IFIFO);
            break;
        case M_CHARDEV:
            archive_entry_set_filetype(e, AE_IFCHR);
            archive_entry_set_rdev(e, makedev(1, 3));
            break;
        }
        ok = archive_write_header(a, e) == ARCHIVE_OK;
        if (ok && m[i].kind == M_FILE) {
            if (dlen > 0)
                ok = archive_write_data(a, m[i].data, dlen) == (la_ssize_t)dlen;
            static char fill[4096];
            uint32_t x = 12345;
            for (size_t left = m[i].zeros; ok && left > 0;) {
                size_t k = left < sizeof fill ? left : sizeof fill;
                for (size_t j = 0; j < k; j++) {
                    x = x * 1103515245u + 12345u;
                    fill[j] = m[i].noise ? (char)(x >> 16) : 0;
                }
                ok = archive_write_data(a, fill, k) == (la_ssize_t)k;
                left -= k;
            }
        }
        archive_entry_free(e);
    }
    ok = ok && archive_write_close(a) == ARCHIVE_OK;
    if (a != NULL)
        archive_write_free(a);
    if (!ok || cut > used) {
        fprintf(stderr, "make_corpus: cannot build archive %s\n", name);
        failures++;
        return;
    }
    put("extract", name, out, used - cut);
}

static void gen_extract(void)
{
    const char *elf = "\x7f" "ELF fuzz binary\n";
    struct member good[] = {{"ant-node", M_FILE, elf, 0, NULL, false}};
    put_archive("good-pax", 'p', true, good, 1, 0);
    put_archive("good-ustar", 'u', true, good, 1, 0);
    put_archive("good-gnutar", 'g', true, good, 1, 0);
    put_archive("plain-tar", 'p', false, good, 1, 0);
    put_archive("truncated", 'p', true, good, 1, 20);
    /* Truncated past the first 64 KiB read block: incompressible data, cut near the end. */
    struct member noisy[] = {{"ant-node", M_FILE, elf, 60000, NULL, true},
                             {"data", M_FILE, NULL, 100000, NULL, true}};
    put_archive("truncated-after-first-block", 'p', true, noisy, 2, 5000);
    struct member dotslash[] = {{"./", M_DIR, NULL, 0, NULL, false},
                                {"./README.md", M_FILE, "read me\n", 0, NULL, false},
                                {"./ant-node", M_FILE, elf, 0, NULL, false}};
    put_archive("dot-slash-with-extras", 'p', true, dotslash, 3, 0);
    struct member two[] = {{"ant-node", M_FILE, elf, 0, NULL, false}, {"./ant-node", M_FILE, elf, 0, NULL, false}};
    put_archive("two-binaries", 'p', true, two, 2, 0);
    struct member none[] = {{"README.md", M_FILE, "no binary here\n", 0, NULL, false}};
    put_archive("no-binary", 'p', true, none, 1, 0);
    struct member sym[] = {{"ant-node", M_SYMLINK, NULL, 0, "/bin/sh", false}};
    put_archive("symlink", 'p', true, sym, 1, 0);
    struct member hard[] = {{"x", M_FILE, elf, 0, NULL, false}, {"ant-node", M_HARDLINK, NULL, 0, "x", false}};
    put_archive("hardlink", 'p', true, hard, 2, 0);
    struct member fifo[] = {{"ant-node", M_FIFO, NULL, 0, NULL, false}};
    put_archive("fifo", 'p', true, fifo, 1, 0);
    struct member dev[] = {{"ant-node", M_CHARDEV, NULL, 0, NULL, false}};
    put_archive("chardev", 'p', true, dev, 1, 0);
    struct member dir[] = {{"ant-node/", M_DIR, NULL, 0, NULL, false}};
    put_archive("directory", 'p', true, dir, 1, 0);
    struct member dotdot[] = {{"../ant-node", M_FILE, elf, 0, NULL, false}};
    put_archive("dotdot", 'p', true, dotdot, 1, 0);
    struct member abs[] = {{"/ant-node", M_FILE, elf, 0, NULL, false}};
    put_archive("absolute", 'p', true, abs, 1, 0);
    struct member nested[] = {{"bin/ant-node", M_FILE, elf, 0, NULL, false},
                              {"ant-node", M_FILE, elf, 0, NULL, false}};
    put_archive("nested-name", 'p', true, nested, 2, 0);
    /* Over the target's member cap, and a bomb over its total cap in an ignored member. */
    struct member big[] = {{"ant-node", M_FILE, elf, FUZZ_EXTRACT_MEMBER_CAP, NULL, false}};
    put_archive("member-over-cap", 'p', true, big, 1, 0);
    struct member bomb[] = {{"padding", M_FILE, NULL, FUZZ_EXTRACT_TOTAL_CAP, NULL, false},
                            {"ant-node", M_FILE, elf, 0, NULL, false}};
    put_archive("bomb", 'p', true, bomb, 2, 0);
    struct member many[FUZZ_EXTRACT_MAX_ENTRIES + 1];
    char names[FUZZ_EXTRACT_MAX_ENTRIES + 1][16];
    for (size_t i = 0; i < FUZZ_EXTRACT_MAX_ENTRIES + 1; i++) {
        snprintf(names[i], sizeof names[i], "f%zu", i);
        many[i] = (struct member){names[i], M_FILE, "x", 0, NULL, false};
    }
    put_archive("too-many-entries", 'p', true, many, FUZZ_EXTRACT_MAX_ENTRIES + 1, 0);
    put("extract", "empty", "", 0);
    put_str("extract", "not-gzip", "this is not an archive");
}

/* ---- mldsa65_verify -------------------------------------------------------------- */

static void put_sig_seed(const char *name, uint8_t mode, uint8_t flags, const uint8_t *pk,
                         const uint8_t *ctx, size_t ctxlen, const uint8_t *sig,
                         const uint8_t *msg, size_t msglen, const uint8_t *mu)
{
    static uint8_t out[2 + ANT_MLDSA65_PUBLICKEYBYTES + 1 + 255 + ANT_MLDSA65_SIGBYTES + 512];
    size_t n = 0;
    out[n++] = mode;
    out[n++] = flags;
    if (mode == 1) {
        memcpy(out + n, pk, ANT_MLDSA65_PUBLICKEYBYTES);
        n += ANT_MLDSA65_PUBLICKEYBYTES;
    }
    if (mode <= 1) {
        out[n++] = (uint8_t)ctxlen;
        if (ctxlen > 0)
            memcpy(out + n, ctx, ctxlen);
        n += ctxlen;
    }
    if (mode == 2) {
        memcpy(out + n, mu, ANT_MLDSA65_MUBYTES);
        n += ANT_MLDSA65_MUBYTES;
    }
    memcpy(out + n, sig, ANT_MLDSA65_SIGBYTES);
    n += ANT_MLDSA65_SIGBYTES;
    if (mode != 2 && msglen > 0) {
        memcpy(out + n, msg, msglen);
        n += msglen;
    }
    put("mldsa65_verify", name, out, n);
}

static void gen_mldsa(void)
{
    static uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES], sk[ANT_MLDSA65_SECRETKEYBYTES];
    static uint8_t pk2[ANT_MLDSA65_PUBLICKEYBYTES], sk2[ANT_MLDSA65_SECRETKEYBYTES];
    uint8_t seed[ANT_MLDSA65_SEEDBYTES], sig[ANT_MLDSA65_SIGBYTES], mu[ANT_MLDSA65_MUBYTES];
    uint8_t rnd[ANT_MLDSA65_RNDBYTES];
    memset(seed, FUZZ_MLDSA_SEED_BYTE, sizeof seed);
    memset(rnd, 0, sizeof rnd);
    bool ok = ant_mldsa65_keypair_from_seed(pk, sk, seed) == ANT_OK;
    memset(seed, 0x11, sizeof seed);
    ok = ok && ant_mldsa65_keypair_from_seed(pk2, sk2, seed) == ANT_OK;
    const uint8_t msg[] = "ant-node 0.1.0 linux-x64 release archive";
    const uint8_t ctx[] = "ant-node-release-v2:0.1.0:linux-x64";
    size_t msglen = sizeof msg - 1, ctxlen = sizeof ctx - 1;

    ok = ok && ant_mldsa65_sign_deterministic(sig, msg, msglen, ctx, ctxlen, sk) == ANT_OK;
    if (ok) {
        put_sig_seed("pure-fixed-key", 0, 0, pk, ctx, ctxlen, sig, msg, msglen, NULL);
        put_sig_seed("pure-fixed-key-split", 0, 0x78, pk, ctx, ctxlen, sig, msg, msglen, NULL);
        put_sig_seed("pure-siglen-plus-one", 0, 1, pk, ctx, ctxlen, sig, msg, msglen, NULL);
        put_sig_seed("pure-siglen-minus-one", 0, 2, pk, ctx, ctxlen, sig, msg, msglen, NULL);
        put_sig_seed("pure-input-key", 1, 0, pk, ctx, ctxlen, sig, msg, msglen, NULL);
        put_sig_seed("pure-input-key-short", 1, 4, pk, ctx, ctxlen, sig, msg, msglen, NULL);
        put_sig_seed("pure-other-key", 1, 0, pk2, ctx, ctxlen, sig, msg, msglen, NULL);
        put_sig_seed("pure-wrong-ctx", 0, 0, pk, ctx, ctxlen - 1, sig, msg, msglen, NULL);
        sig[ANT_MLDSA65_SIGBYTES - 1] ^= 1; /* the hint encoding */
        put_sig_seed("pure-bad-hint", 0, 0, pk, ctx, ctxlen, sig, msg, msglen, NULL);
        sig[ANT_MLDSA65_SIGBYTES - 1] ^= 1;
        sig[40] ^= 0x80; /* a z coefficient */
        put_sig_seed("pure-bad-z", 0, 0, pk, ctx, ctxlen, sig, msg, msglen, NULL);
    }
    /* No context and an empty message. */
    ok = ok && ant_mldsa65_sign_deterministic(sig, NULL, 0, NULL, 0, sk) == ANT_OK;
    if (ok)
        put_sig_seed("pure-empty", 0, 0, pk, NULL, 0, sig, NULL, 0, NULL);
    /* External mu, as the streaming verifier computes it. */
    struct ant_mldsa65_verifier *v = NULL;
    ok = ok && ant_mldsa65_verifier_new(&v, pk, sizeof pk, ctx, ctxlen) == ANT_OK;
    ok = ok && ant_mldsa65_verifier_update(v, msg, msglen) == ANT_OK;
    ok = ok && ant_mldsa65_verifier_final_mu(v, mu) == ANT_OK;
    ant_mldsa65_verifier_free(v);
    ok = ok && ant_mldsa65_sign_mu(sig, mu, rnd, sk) == ANT_OK;
    if (ok) {
        put_sig_seed("mu", 2, 0, pk, NULL, 0, sig, NULL, 0, mu);
        mu[0] ^= 1;
        put_sig_seed("mu-wrong", 2, 0, pk, NULL, 0, sig, NULL, 0, mu);
    }
    /* Verify_internal over M' as given. */
    ok = ok && ant_mldsa65_sign_internal(sig, msg, msglen, rnd, sk) == ANT_OK;
    if (ok)
        put_sig_seed("internal", 3, 0, pk, NULL, 0, sig, msg, msglen, NULL);
    /* All-zero and all-ones signatures and keys: the decoders' edge cases. */
    memset(sig, 0, sizeof sig);
    put_sig_seed("zero-sig", 0, 0, pk, NULL, 0, sig, msg, msglen, NULL);
    memset(sig, 0xff, sizeof sig);
    memset(pk2, 0xff, sizeof pk2);
    put_sig_seed("ones-key-ones-sig", 1, 0, pk2, NULL, 0, sig, msg, msglen, NULL);
    explicit_bzero(sk, sizeof sk);
    explicit_bzero(sk2, sizeof sk2);
    if (!ok) {
        fprintf(stderr, "make_corpus: ML-DSA-65 seed generation failed\n");
        failures++;
    }
}


/* ---- signed metadata (meta_envelope, meta_root, meta_targets, meta_timestamp) ------ */

static void put_buf(const char *target, const char *name, uint8_t *data, size_t len)
{
    if (data == NULL) {
        fprintf(stderr, "make_corpus: could not build %s/%s\n", target, name);
        failures++;
        return;
    }
    put(target, name, data, len);
}

/* A fresh cached set for meta_cache: timestamp SEP targets (SEP root 2), all signed by the
 * fuzz key, the root-2 variant a valid rotation to the same key. */
static void gen_meta_cache(const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    uint8_t pk[1][ANT_MLDSA65_PUBLICKEYBYTES];
    struct ant_meta_role_keys rk = {NULL, 1, 1};
    struct ant_meta_target e;
    struct ant_meta_targets_ref ref;
    uint8_t *p = NULL, *tg = NULL, *ts = NULL, *r2 = NULL;
    size_t plen = 0, tglen = 0, tslen = 0, r2len = 0;
    struct ant_meta_envelope *env = NULL;
    const size_t seplen = strlen(FUZZ_META_SEP);

    if (ant_mldsa65_pk_from_sk(pk[0], sk, ANT_MLDSA65_SECRETKEYBYTES) != ANT_OK)
        goto fail;
    rk.keys = (const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])pk;
    memset(&e, 0, sizeof e);
    snprintf(e.version, sizeof e.version, "0.2.0");
    snprintf(e.platform, sizeof e.platform, "linux-x64");
    snprintf(e.archive_name, sizeof e.archive_name, "ant-node-cli-linux-x64.tar.gz");
    e.archive_length = 10;
    e.binary_length = 20;
    if (ant_meta_targets_build(NULL, 2, FUZZ_META_EXPIRES, &e, NULL, &p, &plen) != ANT_OK ||
        ant_meta_envelope_new(ANT_META_ROLE_TARGETS, p, plen, &env) != ANT_OK ||
        ant_meta_envelope_sign(env, sk) != ANT_OK ||
        ant_meta_envelope_serialize(env, &tg, &tglen) != ANT_OK)
        goto fail;
    ant_meta_envelope_free(env);
    env = NULL;
    free(p);
    p = NULL;
    ref.version = 2;
    ref.length = tglen;
    if (ant_sha256(ref.sha256, tg, tglen) != ANT_OK ||
        ant_meta_timestamp_build(NULL, 3, FUZZ_META_EXPIRES, &ref, NULL, &p, &plen) != ANT_OK ||
        ant_meta_envelope_new(ANT_META_ROLE_TIMESTAMP, p, plen, &env) != ANT_OK ||
        ant_meta_envelope_sign(env, sk) != ANT_OK ||
        ant_meta_envelope_serialize(env, &ts, &tslen) != ANT_OK)
        goto fail;
    ant_meta_envelope_free(env);
    env = NULL;
    free(p);
    p = NULL;
    if (ant_meta_root_build(2, FUZZ_META_EXPIRES, &rk, &rk, &rk, &p, &plen) != ANT_OK ||
        ant_meta_envelope_new(ANT_META_ROLE_ROOT, p, plen, &env) != ANT_OK ||
        ant_meta_envelope_sign(env, sk) != ANT_OK ||
        ant_meta_envelope_serialize(env, &r2, &r2len) != ANT_OK)
        goto fail;
    size_t n = tslen + seplen + tglen + seplen + r2len;
    uint8_t *all = malloc(n);
    if (all == NULL)
        goto fail;
    memcpy(all, ts, tslen);
    memcpy(all + tslen, FUZZ_META_SEP, seplen);
    memcpy(all + tslen + seplen, tg, tglen);
    put("meta_cache", "fresh-set", all, tslen + seplen + tglen);
    memcpy(all + tslen + seplen + tglen, FUZZ_META_SEP, seplen);
    memcpy(all + tslen + seplen + tglen + seplen, r2, r2len);
    put("meta_cache", "fresh-set-root2", all, n);
    put("meta_cache", "timestamp-only", ts, tslen);
    free(all);
    put_str("meta_cache", "empty", "");
    goto out;
fail:
    fprintf(stderr, "make_corpus: could not build the meta_cache seeds\n");
    failures++;
out:
    ant_meta_envelope_free(env);
    free(p);
    free(tg);
    free(ts);
    free(r2);
}

static void gen_meta(void)
{
    uint8_t pk[1][ANT_MLDSA65_PUBLICKEYBYTES], sk[ANT_MLDSA65_SECRETKEYBYTES], seed[32];
    struct ant_meta_role_keys rk = {NULL, 1, 1};
    struct ant_meta_target e;
    struct ant_meta_targets_ref ref;
    struct ant_meta_envelope *env = NULL;
    uint8_t *p = NULL, *text = NULL;
    size_t plen = 0, tlen = 0;
    const int64_t exp = 1900000000;

    memset(seed, FUZZ_MLDSA_SEED_BYTE, sizeof seed);
    if (ant_mldsa65_keypair_from_seed(pk[0], sk, seed) != ANT_OK) {
        failures++;
        return;
    }
    rk.keys = (const uint8_t(*)[ANT_MLDSA65_PUBLICKEYBYTES])pk;
    if (ant_meta_root_build(1, exp, &rk, &rk, &rk, &p, &plen) == ANT_OK) {
        put_buf("meta_root", "root-v1", p, plen);
        if (ant_meta_envelope_new(ANT_META_ROLE_ROOT, p, plen, &env) == ANT_OK &&
            ant_meta_envelope_sign(env, sk) == ANT_OK &&
            ant_meta_envelope_serialize(env, &text, &tlen) == ANT_OK)
            put_buf("meta_envelope", "root-signed", text, tlen);
        free(text);
        text = NULL;
        ant_meta_envelope_free(env);
        env = NULL;
    } else {
        failures++;
    }
    free(p);
    p = NULL;
    memset(&e, 0, sizeof e);
    snprintf(e.version, sizeof e.version, "0.2.0");
    snprintf(e.platform, sizeof e.platform, "linux-x64");
    snprintf(e.archive_name, sizeof e.archive_name, "ant-node-cli-linux-x64.tar.gz");
    e.archive_length = 1234;
    e.binary_length = 5678;
    memset(e.archive_sha256, 0xaa, 32);
    memset(e.binary_sha256, 0xbb, 32);
    if (ant_meta_targets_build(NULL, 3, exp, &e, NULL, &p, &plen) == ANT_OK) {
        put_buf("meta_targets", "targets-one", p, plen);
        if (ant_meta_envelope_new(ANT_META_ROLE_TARGETS, p, plen, &env) == ANT_OK &&
            ant_meta_envelope_sign(env, sk) == ANT_OK &&
            ant_meta_envelope_serialize(env, &text, &tlen) == ANT_OK)
            put_buf("meta_envelope", "targets-signed", text, tlen);
        free(text);
        text = NULL;
        ant_meta_envelope_free(env);
        env = NULL;
    } else {
        failures++;
    }
    free(p);
    p = NULL;
    ref.version = 3;
    ref.length = 999;
    memset(ref.sha256, 0xcc, 32);
    if (ant_meta_timestamp_build(NULL, 7, exp, &ref, NULL, &p, &plen) == ANT_OK) {
        put_buf("meta_timestamp", "timestamp-plain", p, plen);
        if (ant_meta_envelope_new(ANT_META_ROLE_TIMESTAMP, p, plen, &env) == ANT_OK &&
            ant_meta_envelope_serialize(env, &text, &tlen) == ANT_OK)
            put_buf("meta_envelope", "timestamp-unsigned", text, tlen);
        free(text);
        ant_meta_envelope_free(env);
    } else {
        failures++;
    }
    free(p);
    gen_meta_cache(sk);
    put_str("meta_timestamp", "rollout",
            "{\"type\":\"timestamp\",\"version\":9,\"expires\":\"2030-01-01T00:00:00Z\","
            "\"targets\":{\"version\":4,\"length\":10,\"sha256\":"
            "\"2222222222222222222222222222222222222222222222222222222222222222\"},"
            "\"rollout\":{\"version\":\"0.2.0\",\"seed\":"
            "\"abababababababababababababababababababababababababababababababab\","
            "\"cursor\":\"12.5\",\"halted\":true}}");
    put_str("meta_timestamp", "bad-cursor",
            "{\"type\":\"timestamp\",\"version\":9,\"expires\":\"2030-01-01T00:00:00Z\","
            "\"targets\":{\"version\":4,\"length\":10,\"sha256\":"
            "\"2222222222222222222222222222222222222222222222222222222222222222\"},"
            "\"rollout\":{\"version\":\"0.2.0\",\"seed\":\"00\",\"cursor\":\"101\"}}");
    put_str("meta_targets", "yanked-minimum",
            "{\"type\":\"targets\",\"version\":4,\"expires\":\"2030-01-01T00:00:00Z\","
            "\"minimum_version\":\"0.2.0\",\"yanked\":[\"0.2.1\"],\"releases\":{\"0.2.1\":"
            "{\"linux-x64\":{\"archive\":{\"name\":\"a.tar.gz\",\"length\":1,\"sha256\":"
            "\"0000000000000000000000000000000000000000000000000000000000000000\"},"
            "\"binary\":{\"length\":2,\"sha256\":"
            "\"1111111111111111111111111111111111111111111111111111111111111111\"}}}}}");
    put_str("meta_targets", "bad-version-key",
            "{\"type\":\"targets\",\"version\":4,\"expires\":\"2030-01-01T00:00:00Z\","
            "\"releases\":{\"v01.2\":{}}}");
    put_str("meta_root", "threshold-too-high",
            "{\"type\":\"root\",\"version\":1,\"expires\":\"2030-01-01T00:00:00Z\",\"keys\":{},"
            "\"roles\":{\"root\":{\"keyids\":[],\"threshold\":1}}}");
    put_str("meta_envelope", "duplicate-sigs",
            "{\"payloadType\":\"application/vnd.ant-node.root+json\",\"payload\":\"e30=\","
            "\"signatures\":[{\"keyid\":\"00\",\"sig\":\"QQ==\"},{\"keyid\":\"00\",\"sig\":\"QQ==\"}]}");
    put_str("meta_envelope", "bad-padding",
            "{\"payloadType\":\"application/vnd.ant-node.targets+json\",\"payload\":\"QR==\","
            "\"signatures\":[]}");
}

/* ---- httpd_head ------------------------------------------------------------------ */

static void gen_httpd_head(void)
{
    /* The first byte picks the header cap and the piece size (see fuzz/httpd_head.c). */
    static const char *const seeds[] = {
        "\x04GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n",
        "\x0cGET /healthz HTTP/1.0\n\n",
        "\x04GET /metrics?name[]=x HTTP/1.1\r\n\r\n",
        "\x04POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        "\x04GET /metrics HTTP/2\r\n\r\n",
        "\x04GET metrics HTTP/1.1\r\n\r\n",
        "\x04GET /a b HTTP/1.1\r\n\r\n",
        "\x04GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n",
        "\x04GET /metrics HTTP/1.1\r\n: empty\r\n\r\n",
        "\x04\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        "\x01GET / HTTP/1.1\r\na:b\r\nc:d\r\n\r\n",
        "\x04GET /\x7f HTTP/1.1\r\n\r\n",
        "\x04G\xc3\xa9T / HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed-%02zu", i);
        put_str("httpd_head", name, seeds[i]);
    }
    /* A path one byte under and at the cap, and a head of many header lines. */
    {
        static char big[ANT_HTTPD_PATH_MAX + 64];
        for (int over = 0; over < 2; over++) {
            size_t n = 0;
            big[n++] = 0x04;
            memcpy(big + n, "GET /", 5);
            n += 5;
            memset(big + n, 'a', ANT_HTTPD_PATH_MAX - 2 + (size_t)over);
            n += ANT_HTTPD_PATH_MAX - 2 + (size_t)over;
            memcpy(big + n, " HTTP/1.1\r\n\r\n", 13);
            n += 13;
            put("httpd_head", over ? "path-at-cap" : "path-under-cap", big, n);
        }
    }
    {
        static char many[4096];
        size_t n = 0;
        many[n++] = 0x04;
        n += (size_t)snprintf(many + n, sizeof many - n, "GET / HTTP/1.1\r\n");
        for (int i = 0; i < 80 && n + 8 < sizeof many; i++)
            n += (size_t)snprintf(many + n, sizeof many - n, "h%d:v\r\n", i);
        n += (size_t)snprintf(many + n, sizeof many - n, "\r\n");
        put("httpd_head", "many-headers", many, n);
    }
}

/* ---- patch (issue 19) --------------------------------------------------------------- */

static void gen_patch(void)
{
    static uint8_t old[FUZZ_PATCH_OLD_LEN], neu[FUZZ_PATCH_NEW_LEN];
    uint8_t *patch = NULL, *bad = NULL;
    size_t plen = 0;
    fuzz_patch_old_new(old, neu);
    if (ant_patch_make(old, sizeof old, neu, sizeof neu, 3, &patch, &plen) != ANT_OK ||
        (bad = malloc(plen + 16)) == NULL) {
        fprintf(stderr, "make_corpus: cannot make the patch seed\n");
        failures++;
        free(patch);
        return;
    }
    put("patch", "valid", patch, plen);
    put("patch", "cut-half", patch, plen / 2);
    put("patch", "header-only", patch, plen < 6 ? plen : 6);
    memcpy(bad, patch, plen);
    bad[plen / 2] ^= 0x10;
    put("patch", "flipped-middle", bad, plen);
    memcpy(bad, patch, plen);
    bad[plen - 1] ^= 0x01;
    put("patch", "flipped-checksum", bad, plen);
    memcpy(bad, patch, plen);
    memset(bad + plen, 0, 16);
    put("patch", "trailing-zeros", bad, plen + 16);
    put("patch", "empty", "", 0);
    free(bad);
    free(patch);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    mkdir_p(outdir);
    gen_semver();
    gen_node_frame();
    gen_httpd_head();
    gen_ini();
    gen_releases();
    gen_cache_meta();
    gen_extract();
    gen_mldsa();
    gen_meta();
    gen_patch();
    return failures == 0 ? 0 : 1;
}
