/*
 * Unit tests of src/devnet that need no running fleet: the TLS material (chain, SAN,
 * constraints), packing and signing a release (archive shape, signature bound to version),
 * the log-line parser, the uniformity limit, the SVG histogram (well-formed XML, escaped
 * title), and the report's checks over synthetic node logs and supervisor state, both a
 * clean rollout (every log-derived row PASS) and one broken in each way a row must catch;
 * the same for the rollout-control rows over a steered fleet (steering.json).
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ant/devnet.h"
#include "ant/mldsa65.h"
#include "ant/release_context.h"
#include "ant/upgrade.h"
#include "devnet/devnet_int.h"
#include "devnet/fleet.h"
#include "test.h"

static void make_tmpdir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/ant-devnet-test-XXXXXX");
    CHECK(mkdtemp(buf) != NULL);
}

static void rm_rf(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static X509 *load_cert(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return NULL;
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return c;
}

static mode_t file_mode(const char *dir, const char *name)
{
    char path[PATH_MAX + 300];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return (mode_t)-1;
    return st.st_mode & 07777;
}

static void test_tls_chain_san_and_constraints(void)
{
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    CHECK_OK(dn_tls_create(dir));
    X509 *ca = load_cert(dir, "ca.pem");
    X509 *srv = load_cert(dir, "server.pem");
    CHECK(ca != NULL && srv != NULL);
    if (ca != NULL && srv != NULL) {
        X509_STORE *store = X509_STORE_new();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        CHECK(X509_STORE_add_cert(store, ca) == 1);
        CHECK(X509_STORE_CTX_init(ctx, store, srv, NULL) == 1);
        CHECK_MSG(X509_verify_cert(ctx) == 1, "%s",
                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        CHECK(X509_check_ip_asc(srv, "127.0.0.1", 0) == 1);
        CHECK(X509_check_host(srv, "localhost", 0, 0, NULL) == 1);
        CHECK(X509_check_host(srv, "example.com", 0, 0, NULL) == 0);
        CHECK(X509_check_ca(ca) >= 1);
        CHECK(X509_check_ca(srv) == 0);
        CHECK(X509_check_purpose(srv, X509_PURPOSE_SSL_SERVER, 0) == 1);
        CHECK(X509_get_version(srv) == X509_VERSION_3);
        /* a certificate from another devnet's CA must not verify against this one */
        char dir2[64];
        make_tmpdir(dir2, sizeof dir2);
        CHECK_OK(dn_tls_create(dir2));
        X509 *other = load_cert(dir2, "server.pem");
        X509_STORE *s2 = X509_STORE_new();
        X509_STORE_CTX *c2 = X509_STORE_CTX_new();
        X509_STORE_add_cert(s2, ca);
        X509_STORE_CTX_init(c2, s2, other, NULL);
        CHECK(X509_verify_cert(c2) != 1);
        X509_STORE_CTX_free(c2);
        X509_STORE_free(s2);
        X509_free(other);
        rm_rf(dir2);
    }
    CHECK_INT(file_mode(dir, "ca.key"), 0600);
    CHECK_INT(file_mode(dir, "server.key"), 0600);
    X509_free(ca);
    X509_free(srv);
    rm_rf(dir);
}

static void write_bytes(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(fwrite(data, 1, len, f) == len);
        fclose(f);
    }
}

static size_t read_bytes(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void test_pack_and_sign_bind_the_version(void)
{
    char dir[64], path[PATH_MAX], archive[PATH_MAX];
    make_tmpdir(dir, sizeof dir);
    CHECK_OK(dn_keys_create(dir));
    snprintf(path, sizeof path, "%s/keys", dir);
    CHECK_INT(file_mode(path, "release.key"), 0600);
    CHECK_INT(file_mode(path, "trusted"), 0700);
    snprintf(path, sizeof path, "%s/keys/trusted", dir);
    CHECK_INT(file_mode(path, "devnet.pub"), 0644);

    /* a 300 KiB "binary" of varied bytes, so gzip and the chunked copy both matter */
    size_t blen = 300 * 1024;
    uint8_t *bin = malloc(blen), *back = malloc(blen + 1);
    CHECK(bin != NULL && back != NULL);
    if (bin == NULL || back == NULL)
        return;
    for (size_t i = 0; i < blen; i++)
        bin[i] = (uint8_t)(i * 2654435761u >> 13);
    snprintf(path, sizeof path, "%s/ant-node-src", dir);
    write_bytes(path, bin, blen);
    snprintf(archive, sizeof archive, "%s/out.tar.gz", dir);
    CHECK_OK(dn_pack(path, archive));

    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    CHECK(archive_read_open_filename(a, archive, 10240) == ARCHIVE_OK);
    struct archive_entry *e = NULL;
    int members = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        members++;
        CHECK_STR(archive_entry_pathname(e), "ant-node");
        CHECK(archive_entry_filetype(e) == AE_IFREG);
        CHECK_INT(archive_entry_perm(e), 0755);
        CHECK_INT(archive_entry_size(e), (long long)blen);
        la_ssize_t n = archive_read_data(a, back, blen + 1);
        CHECK_INT(n, (long long)blen);
        CHECK(n == (la_ssize_t)blen && memcmp(back, bin, blen) == 0);
    }
    CHECK_INT(members, 1);
    archive_read_free(a);

    char ctx[ANT_RELEASE_CONTEXT_CAP], ctx_other[ANT_RELEASE_CONTEXT_CAP];
    CHECK_OK(ant_release_context(ctx, sizeof ctx, "0.2.0", "linux-x64"));
    CHECK_OK(ant_release_context(ctx_other, sizeof ctx_other, "0.1.9", "linux-x64"));
    uint8_t sig[ANT_MLDSA65_SIGBYTES], pk[ANT_MLDSA65_PUBLICKEYBYTES];
    snprintf(path, sizeof path, "%s/keys/release.key", dir);
    CHECK_OK(dn_sign_file(archive, path, ctx, sig));
    snprintf(path, sizeof path, "%s/keys/trusted/devnet.pub", dir);
    CHECK_INT(read_bytes(path, pk, sizeof pk), sizeof pk);
    uint8_t *arch = malloc(1 << 20);
    size_t alen = arch != NULL ? read_bytes(archive, arch, 1 << 20) : 0;
    CHECK(alen > 0);
    CHECK_OK(ant_mldsa65_verify(sig, sizeof sig, arch, alen, (const uint8_t *)ctx, strlen(ctx),
                                pk, sizeof pk));
    /* the same bytes under another version's context must not verify */
    CHECK_ERR(ant_mldsa65_verify(sig, sizeof sig, arch, alen, (const uint8_t *)ctx_other,
                                 strlen(ctx_other), pk, sizeof pk),
              ANT_ERR_BAD_SIGNATURE);
    arch[alen / 2] ^= 1;
    CHECK_ERR(ant_mldsa65_verify(sig, sizeof sig, arch, alen, (const uint8_t *)ctx, strlen(ctx),
                                 pk, sizeof pk),
              ANT_ERR_BAD_SIGNATURE);
    /* a secret key file of the wrong size is refused */
    snprintf(path, sizeof path, "%s/short.key", dir);
    write_bytes(path, bin, 100);
    CHECK_ERR(dn_sign_file(archive, path, ctx, sig), ANT_ERR_BAD_KEY);
    free(arch);
    free(bin);
    free(back);
    rm_rf(dir);
}

static void test_log_parse(void)
{
    struct dn_log_line l;
    struct dn_ev ev;
    CHECK(dn_log_parse("2026-11-27T06:20:29.123Z INFO upgrade Upgrade scheduled version=0.2.0 "
                       "first_seen=100 delay_s=42 at=142",
                       &l));
    CHECK_STR(l.level, "INFO");
    CHECK_STR(l.module, "upgrade");
    CHECK_STR(l.message, "Upgrade scheduled");
    CHECK_STR(dn_log_get(&l, "delay_s"), "42");
    CHECK(dn_log_get(&l, "nope") == NULL);
    CHECK(dn_event_from_line(&l, &ev) && ev.kind == EV_SCHEDULED && ev.delay == 42 &&
          ev.at == 142 && ev.first_seen == 100);
    CHECK(l.t > 1795000000.0 && l.t - (double)(long long)l.t > 0.12);

    CHECK(dn_log_parse("<6>2026-11-27T06:20:29.000Z INFO upgrade Reused signature-verified cached "
                       "archive for 0.2.0 version=0.2.0",
                       &l));
    CHECK(dn_event_from_line(&l, &ev) && ev.kind == EV_REUSED);
    CHECK_STR(ev.version, "0.2.0");
    CHECK(dn_log_parse("2026-11-27T06:20:29.000Z INFO upgrade Binary already upgraded to 0.2.0 by "
                       "another service, skipping replacement version=0.2.0",
                       &l));
    CHECK(dn_event_from_line(&l, &ev) && ev.kind == EV_ALREADY);
    CHECK(dn_log_parse("2026-11-27T06:20:29.000Z INFO upgrade Downloading ant-node archive... "
                       "version=0.2.0 url=https://127.0.0.1:1/x",
                       &l));
    CHECK(dn_event_from_line(&l, &ev) && ev.kind == EV_DOWNLOADING);
    /* the same message from another module is not the event */
    CHECK(dn_log_parse("2026-11-27T06:20:29.000Z INFO node Upgrade failed version=1", &l));
    CHECK(!dn_event_from_line(&l, &ev));
    /* near misses of a message are not events either */
    CHECK(dn_log_parse("2026-11-27T06:20:29.000Z INFO node Node started later version=1", &l));
    CHECK(!dn_event_from_line(&l, &ev));

    static const char *const bad[] = {
        "",
        "not a log line",
        "2026-11-27 06:20:29 INFO node Node started",
        "2026-13-27T06:20:29.000Z INFO node Node started",
        "2026-11-27T06:20:29.000Z INFO node",
        "2026-11-27T06:20:29.000 INFO node Node started",
        "2026-11-27T06:20:29.Z INFO node Node started",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!dn_log_parse(bad[i], &l), "accepted '%s'", bad[i]);
    char *huge = malloc(10000);
    if (huge != NULL) {
        memset(huge, 'a', 9999);
        huge[9999] = '\0';
        memcpy(huge, "2026-11-27T06:20:29.000Z INFO node ", 35);
        CHECK(!dn_log_parse(huge, &l));
        free(huge);
    }
}

static void test_uniform_limit(void)
{
    /* 15 nodes: mean 1.25; a uniform sample puts 3+ in some bin 90 % of the time, but 8+
     * only ~0.01 % (simulated), so the limit is 7. */
    CHECK_INT(dn_uniform_bin_limit(15, 12), 7);
    /* 300 nodes: the statistical limit is below 2 x mean (50), so 2 x mean decides. */
    unsigned l300 = dn_uniform_bin_limit(300, 12);
    CHECK(l300 >= 40 && l300 < 50);
    CHECK_INT(dn_uniform_bin_limit(0, 12), 0);
    CHECK_INT(dn_uniform_bin_limit(1, 12), 1);
}

static int python_parses_xml(const char *path)
{
    char cmd[PATH_MAX + 200];
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot(); "
             "sys.exit(0 if r.tag.endswith('svg') else 1)\" '%s' 2>/dev/null",
             path);
    return system(cmd);
}

static void test_svg_is_well_formed(void)
{
    char dir[64], path[PATH_MAX];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/h.svg", dir);
    unsigned s[DN_BINS] = {1, 2, 0, 1, 3, 1, 1, 2, 0, 1, 2, 1};
    unsigned a[DN_BINS] = {0, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1};
    CHECK_OK(dn_svg_histogram(path, "v<0.2.0> & \"quotes\" \x01", s, a, 60, 7));
    CHECK_INT(python_parses_xml(path), 0);
    /* the check itself rejects a broken document */
    snprintf(path, sizeof path, "%s/broken.svg", dir);
    write_bytes(path, (const uint8_t *)"<svg><rect></svg>", 17);
    CHECK(python_parses_xml(path) != 0);
    rm_rf(dir);
}

/* --- synthetic fleet for the report --------------------------------------------------- */

#define FH 2
#define FN 3
#define T0 1795000000.0 /* first sighting of the release */

static FILE *logs[FH][FN];

static void logline(unsigned h, unsigned n, double t, const char *level, const char *module,
                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void logline(unsigned h, unsigned n, double t, const char *level, const char *module,
                    const char *fmt, ...)
{
    time_t secs = (time_t)t;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[40];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(logs[h][n], "%s.%03dZ %s %s ", stamp, (int)((t - (double)secs) * 1000), level, module);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(logs[h][n], fmt, ap);
    va_end(ap);
    fputc('\n', logs[h][n]);
}

enum breakage {
    CLEAN,
    TWO_DOWNLOADS,     /* host 0 downloads twice */
    FETCH_TOO_OFTEN,   /* host 1 fetches twice within the TTL */
    UPGRADE_ERROR,     /* one node logs Upgrade failed */
    PEER_CHANGED,      /* one node comes back with another identity */
    NOT_RESTARTED,     /* supervisor saw no new start after the restart */
    UNVERIFIED_HIT,    /* a cache hit without its signature check */
    EARLY_RESTART,     /* a node restarts before its scheduled time */
    SILENT_DOWNLOAD,   /* the server served an archive no node logged */
    PUBLIC_DELAY,      /* a node with a rollout secret scheduled on the public formula */
    DELTA,             /* published with a patch: every host patches, its others reuse */
    DELTA_HOST_FULL,   /* ... but host 1 downloads the archive */
    DELTA_CORRUPT,     /* served corrupt: every host fails the patch once, then the archive */
    RESUMED,           /* every download was cut and resumed */
    RESUMED_FAILED,    /* ... and host 1's downloader logged an upgrade failure after it */
};

static FILE *access_log;

static void served(const char *path)
{
    fprintf(access_log,
            "127.0.0.1 - - [27/Nov/2026:06:38:01 +0000] \"GET %s HTTP/1.1\" 200 792 \"-\" "
            "\"ant-node/0.1.0\"\n",
            path);
}

static const char *peer_of(unsigned h, unsigned n, char *buf)
{
    /* 64 hex digits, distinct per node */
    snprintf(buf, 65, "%02x%02x%060x", h, n, 0xabcu + h * 16 + n);
    return buf;
}

/* Writes a two-host, three-node devnet dir whose logs tell a whole 0.1.0 -> 0.2.0 rollout. */
static void make_fixture(const char *dir, enum breakage b)
{
    struct dn_config *cfg = calloc(1, sizeof *cfg);
    struct dn_state *st = calloc(1, sizeof *st);
    char path[PATH_MAX];
    if (cfg == NULL || st == NULL)
        return;
    snprintf(cfg->dir, sizeof cfg->dir, "%s", dir);
    cfg->hosts = FH;
    cfg->nodes = FN;
    cfg->https_port = 1;
    cfg->rollout_window_s = 120;
    cfg->check_interval_s = 10;
    cfg->release_ttl_s = 30;
    cfg->restart_delay_ms = 500;
    snprintf(cfg->channel, sizeof cfg->channel, "stable");
    snprintf(cfg->platform, sizeof cfg->platform, "linux-x64");
    snprintf(cfg->initial_version, sizeof cfg->initial_version, "0.1.0");
    for (unsigned i = 0; i < FH * FN; i++)
        cfg->node_port[i] = (uint16_t)(20000 + i);
    CHECK_OK(dn_config_save(cfg));
    snprintf(path, sizeof path, "%s/published.json", dir);
    char pub[256];
    snprintf(pub, sizeof pub, "[{\"version\":\"0.2.0\",\"published_at\":%.0f,\"static\":false,"
             "\"archive_bytes\":100000,\"deltas\":%d,\"delta_corrupt\":%s}]",
             T0 - 5, b == DELTA || b == DELTA_HOST_FULL || b == DELTA_CORRUPT ? 1 : 0,
             b == DELTA_CORRUPT ? "true" : "false");
    write_bytes(path, (const uint8_t *)pub, strlen(pub));

    st->hosts = FH;
    st->nodes = FN;
    st->supervisor_pid = 1;
    pid_t next_pid = 1000;
    snprintf(path, sizeof path, "%s/nginx/logs", dir);
    CHECK_OK(dn_mkdirs(path, 0700));
    snprintf(path, sizeof path, "%s/nginx/logs/access.log", dir);
    access_log = fopen(path, "w");
    CHECK(access_log != NULL);
    if (access_log == NULL)
        return;
    /* a 404 and a POST are not counted */
    fprintf(access_log, "127.0.0.1 - - [x] \"GET /nope HTTP/1.1\" 404 1 \"-\" \"x\"\n");
    fprintf(access_log, "127.0.0.1 - - [x] \"POST /repos/devnet/ant-node/releases HTTP/1.1\" 200 1 \"-\" \"x\"\n");
    if (b == SILENT_DOWNLOAD)
        served("/devnet/ant-node/releases/download/v0.2.0/ant-node-cli-linux-x64.tar.gz");
    for (unsigned h = 0; h < FH; h++) {
        snprintf(path, sizeof path, "%s/hosts/h%u/logs", dir, h);
        CHECK_OK(dn_mkdirs(path, 0700));
        for (unsigned n = 0; n < FN; n++) {
            snprintf(path, sizeof path, "%s/hosts/h%u/logs/n%u.log", dir, h, n);
            logs[h][n] = fopen(path, "w");
            CHECK(logs[h][n] != NULL);
        }
        /* one fetch per host at T0 (by node 0), cached for the others; host 1 also at +40 s
         * (past the 30 s TTL), or at +10 s when testing the TTL row */
        logline(h, 0, T0 - 0.5, "INFO", "release", "Fetched release info url=x releases=1");
        served("/repos/devnet/ant-node/releases?per_page=30");
        if (h == 1) {
            logline(h, 1, b == FETCH_TOO_OFTEN ? T0 + 10 : T0 + 40, "INFO", "release",
                    "Fetched release info url=x releases=1");
            served("/repos/devnet/ant-node/releases?per_page=30");
        }
        for (unsigned n = 0; n < FN; n++) {
            struct dn_node_state *ns = &st->node[h * FN + n];
            char peer[72];
            peer_of(h, n, peer);
            pid_t p1 = next_pid++, p2 = next_pid++;
            logline(h, n, T0 - 60, "INFO", "node", "Node started version=0.1.0 peer_id=%s pid=%d root=r",
                    peer, (int)p1);
            /* Host 0's nodes have a rollout secret (as every real node does), host 1's
             * none: the report must check both kinds of delay from their logged values. */
            uint8_t secret[ANT_UPGRADE_SECRET_BYTES];
            memset(secret, 0x30 + (int)(h * FN + n), sizeof secret);
            size_t slen = h == 0 ? sizeof secret : 0;
            if (slen > 0) {
                snprintf(path, sizeof path, "%s/hosts/h%u/nodes/n%u", dir, h, n);
                CHECK_OK(dn_mkdirs(path, 0700));
                snprintf(path, sizeof path, "%s/hosts/h%u/nodes/n%u/%s", dir, h, n,
                         ANT_UPGRADE_SECRET_FILE);
                write_bytes(path, secret, sizeof secret);
            }
            if (b == PUBLIC_DELAY && h == 0 && n == 1)
                slen = 0;
            uint64_t dms = 0;
            CHECK_OK(ant_upgrade_rollout_delay_keyed(secret, slen, peer, "0.2.0",
                                                     cfg->rollout_window_s * 1000, &dms));
            uint64_t d = dms / 1000;
            double at = T0 + (double)d;
            logline(h, n, T0, "INFO", "upgrade",
                    "Upgrade scheduled version=0.2.0 first_seen=%.0f delay_s=%llu at=%.0f", T0,
                    (unsigned long long)d, at);
            double ta = at + 0.2;
            bool patched = (b == DELTA || (b == DELTA_HOST_FULL && h == 0));
            if (b == DELTA_CORRUPT && n == 0)
                logline(h, n, ta - 0.1, "WARN", "upgrade",
                        "Binary patch failed, downloading full archive version=0.2.0 from=0.1.0 "
                        "stage=patch-digest error=mismatch bytes=8000");
            if (patched && n == 0) {
                logline(h, n, ta, "INFO", "upgrade", "Binary patch applied version=0.2.0 "
                        "from=0.1.0 patch_bytes=8000 archive_bytes=100000");
                logline(h, n, ta + 0.2, "INFO", "upgrade", "Replacing binary... version=0.2.0 path=p");
            } else if (patched) {
                logline(h, n, ta, "INFO", "upgrade", "Reused verified cached binary version=0.2.0");
                logline(h, n, ta + 0.2, "INFO", "upgrade",
                        "Binary already upgraded to 0.2.0 by another service, skipping "
                        "replacement version=0.2.0");
            } else if (n == 0 || (b == TWO_DOWNLOADS && h == 0 && n == 1)) {
                logline(h, n, ta, "INFO", "upgrade", "Downloading ant-node archive... version=0.2.0 url=x");
                if (b == RESUMED || b == RESUMED_FAILED)
                    logline(h, n, ta + 0.05, "INFO", "upgrade", "Archive download resumed 2 times, "
                            "restarted 0 times version=0.2.0 bytes=100000");
                if (b == RESUMED_FAILED && h == 1)
                    logline(h, n, ta + 0.06, "ERROR", "upgrade",
                            "Upgrade failed version=0.2.0 stage=download error=x");
                served("/devnet/ant-node/releases/download/v0.2.0/ant-node-cli-linux-x64.tar.gz");
                served("/devnet/ant-node/releases/download/v0.2.0/ant-node-cli-linux-x64.tar.gz.sig");
                logline(h, n, ta + 0.1, "INFO", "upgrade", "Archive signature verified version=0.2.0 key=k");
                logline(h, n, ta + 0.2, "INFO", "upgrade", "Replacing binary... version=0.2.0 path=p");
            } else {
                logline(h, n, ta, "INFO", "upgrade",
                        "Reused signature-verified cached archive for 0.2.0 version=0.2.0");
                if (!(b == UNVERIFIED_HIT && h == 1 && n == 2))
                    logline(h, n, ta + 0.1, "INFO", "upgrade",
                            "Archive signature verified version=0.2.0 key=k");
                logline(h, n, ta + 0.2, "INFO", "upgrade",
                        "Binary already upgraded to 0.2.0 by another service, skipping "
                        "replacement version=0.2.0");
            }
            double tr = (b == EARLY_RESTART && h == 0 && n == 2) ? at - 5 : at + 0.5;
            logline(h, n, tr, "INFO", "upgrade",
                    "Restarting into new binary version=0.2.0 mode=exit75 scheduled_at=%.0f", at);
            if (b == UPGRADE_ERROR && h == 1 && n == 0)
                logline(h, n, tr, "ERROR", "upgrade", "Upgrade failed version=0.2.0 stage=store error=x");
            if (b == PEER_CHANGED && h == 0 && n == 1)
                peer[0] = peer[0] == 'f' ? 'e' : 'f';
            logline(h, n, tr + 1, "INFO", "node", "Node started version=0.2.0 peer_id=%s pid=%d root=r",
                    peer, (int)p2);
            ns->nstarts = 2;
            ns->starts[0].pid = p1;
            ns->starts[0].at = T0 - 60.1;
            ns->starts[0].prev_status = -1;
            ns->starts[1].pid = p2;
            ns->starts[1].at = tr + 0.6;
            ns->starts[1].prev_status = 75 << 8; /* exited with 75 */
            ns->restarts = 1;
            ns->pid = p2;
            if (b == NOT_RESTARTED && h == 1 && n == 1) {
                ns->nstarts = 1;
                ns->restarts = 0;
            }
        }
        for (unsigned n = 0; n < FN; n++)
            fclose(logs[h][n]);
    }
    fclose(access_log);
    CHECK_OK(dn_state_save(dir, st));
    free(st);
    free(cfg);
}

/* Runs the report on the fixture and returns report.json's rows (caller puts it). */
static json_object *report_rows(const char *dir)
{
    bool pass = true;
    FILE *devnull = fopen("/dev/null", "w");
    CHECK_OK(ant_devnet_report(dir, false, devnull, &pass));
    fclose(devnull);
    /* the "now" rows look at live processes, which a fixture has none of */
    CHECK(!pass);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_object *o = json_object_from_file(path);
    CHECK(o != NULL);
    snprintf(path, sizeof path, "%s/restarts.svg", dir);
    CHECK_INT(python_parses_xml(path), 0);
    snprintf(path, sizeof path, "%s/report.md", dir);
    CHECK(access(path, R_OK) == 0);
    return o;
}

static const char *row_status(json_object *o, const char *check)
{
    json_object *rows = NULL;
    if (o == NULL || !json_object_object_get_ex(o, "rows", &rows))
        return "missing";
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *r = json_object_array_get_idx(rows, i), *c = NULL, *s = NULL;
        if (json_object_object_get_ex(r, "check", &c) &&
            strcmp(json_object_get_string(c), check) == 0 &&
            json_object_object_get_ex(r, "status", &s))
            return json_object_get_string(s);
    }
    return "missing";
}

static const char *const log_rows[] = {
    "release info fetched per host",
    "upgrade errors",
    "peer id before = after",
    "archive downloaded per host",
    "cache hits re-verified",
    "restart times across the window",
    "restart at its scheduled time (hash-derived delay)",
    "real restart (new PID, restart counted)",
    "release server requests match node logs",
};

static void test_report_clean_rollout_passes_log_rows(void)
{
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, CLEAN);
    json_object *o = report_rows(dir);
    for (size_t i = 0; i < sizeof log_rows / sizeof log_rows[0]; i++)
        CHECK_MSG(strcmp(row_status(o, log_rows[i]), "PASS") == 0, "%s: %s", log_rows[i],
                  row_status(o, log_rows[i]));
    /* nothing runs in a fixture: the rows about running processes must fail */
    CHECK_STR(row_status(o, "binaries on the new version, statically linked where built so"),
              "FAIL");
    CHECK_STR(row_status(o, "/proc/<pid>/exe ending \" (deleted)\""), "FAIL");
    /* no rollback happened, so there are no rollback rows */
    CHECK_STR(row_status(o, "rollback: failed version rolled back on every host"), "missing");
    json_object_put(o);
    rm_rf(dir);
}

static void test_report_catches_each_breakage(void)
{
    static const struct {
        enum breakage b;
        const char *row;
    } cases[] = {
        {TWO_DOWNLOADS, "archive downloaded per host"},
        {FETCH_TOO_OFTEN, "release info fetched per host"},
        {UPGRADE_ERROR, "upgrade errors"},
        {PEER_CHANGED, "peer id before = after"},
        {NOT_RESTARTED, "real restart (new PID, restart counted)"},
        {UNVERIFIED_HIT, "cache hits re-verified"},
        {TWO_DOWNLOADS, "cache hits re-verified"},
        {EARLY_RESTART, "restart at its scheduled time (hash-derived delay)"},
        {PUBLIC_DELAY, "restart at its scheduled time (hash-derived delay)"},
        {SILENT_DOWNLOAD, "release server requests match node logs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[64];
        make_tmpdir(dir, sizeof dir);
        make_fixture(dir, cases[i].b);
        json_object *o = report_rows(dir);
        CHECK_MSG(strcmp(row_status(o, cases[i].row), "FAIL") == 0, "breakage %d: %s is %s",
                  (int)cases[i].b, cases[i].row, row_status(o, cases[i].row));
        /* and the rows about other things stay green */
        CHECK_STR(row_status(o, "restart times across the window"), "PASS");
        json_object_put(o);
        rm_rf(dir);
    }
}

/* Binary patches (issue 19): the delta rows and the rows they change, from both sides. */
static void test_report_delta_rows(void)
{
    static const char *const applied = "delta: patch applied on every host";
    static const char *const bytes = "delta: bytes downloaded per host (patch vs full archive)";
    static const char *const fallback = "delta: corrupt patch falls back to the archive on every host";
    char dir[64];
    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, DELTA);
    json_object *o = report_rows(dir);
    for (size_t i = 0; i < sizeof log_rows / sizeof log_rows[0]; i++)
        CHECK_MSG(strcmp(row_status(o, log_rows[i]), "PASS") == 0, "%s: %s", log_rows[i],
                  row_status(o, log_rows[i]));
    CHECK_STR(row_status(o, applied), "PASS");
    CHECK_STR(row_status(o, bytes), "PASS");
    CHECK_STR(row_status(o, fallback), "missing");
    json_object_put(o);
    rm_rf(dir);

    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, DELTA_HOST_FULL);
    o = report_rows(dir);
    CHECK_STR(row_status(o, applied), "FAIL");
    CHECK_STR(row_status(o, bytes), "FAIL");
    CHECK_STR(row_status(o, "archive downloaded per host"), "PASS");
    json_object_put(o);
    rm_rf(dir);

    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, DELTA_CORRUPT);
    o = report_rows(dir);
    CHECK_STR(row_status(o, fallback), "PASS");
    CHECK_STR(row_status(o, bytes), "PASS");
    CHECK_STR(row_status(o, applied), "missing");
    CHECK_STR(row_status(o, "archive downloaded per host"), "PASS");
    json_object_put(o);
    rm_rf(dir);

    /* a clean archive rollout has no delta rows */
    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, CLEAN);
    o = report_rows(dir);
    CHECK_STR(row_status(o, applied), "missing");
    json_object_put(o);
    rm_rf(dir);
}

/* Downloads cut by the server and resumed (issue 19): the resume row and its counts. */
static void test_report_resume_row(void)
{
    static const char *const row = "resume: downloads cut by the server completed";
    char dir[64], path[PATH_MAX];
    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, RESUMED);
    json_object *o = report_rows(dir);
    CHECK_STR(row_status(o, row), "PASS");
    CHECK_STR(row_status(o, "release server requests match node logs"), "PASS");
    json_object_put(o);
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = NULL;
    size_t len = 0;
    CHECK_OK(dn_read_file(path, 1 << 20, &md, &len));
    CHECK(md != NULL && strstr(md, "2 downloads resumed: 4 continuations, 0 start-overs") != NULL);
    free(md);
    rm_rf(dir);

    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, RESUMED_FAILED);
    o = report_rows(dir);
    CHECK_STR(row_status(o, row), "FAIL");
    json_object_put(o);
    rm_rf(dir);

    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, CLEAN);
    o = report_rows(dir);
    CHECK_STR(row_status(o, row), "missing");
    json_object_put(o);
    rm_rf(dir);
}

static void test_report_without_publish_is_not_found(void)
{
    char dir[64], path[PATH_MAX];
    make_tmpdir(dir, sizeof dir);
    make_fixture(dir, CLEAN);
    snprintf(path, sizeof path, "%s/published.json", dir);
    unlink(path);
    bool pass = true;
    FILE *devnull = fopen("/dev/null", "w");
    CHECK_ERR(ant_devnet_report(dir, false, devnull, &pass), ANT_ERR_NOT_FOUND);
    fclose(devnull);
    CHECK(!pass);
    rm_rf(dir);
}

/* --- synthetic staged rollout for the rollout-control rows ---------------------------- */

/*
 * A 2 x 3 fleet steered as the devnet records it (steering.json) with the node logs a real
 * one writes (window 120 s, check 10 s, TTL 30 s: the lag is 45.5 s):
 *   T0        cursor 0        nobody
 *   T0+100    cursor 50       the 50 % candidates schedule from T0+105 and restart
 *   T0+400    halt            the rest log the halt from T0+405
 *   T0+450    cursor 100      still halted: the rest become candidates, their time falls
 *                             inside the halt
 *   T0+800    resume (100)    the rest restart at T0+806 (held by the halt)
 *   T0+1000   yank 0.3.0      (published at T0+990) every node skips it as yanked
 * and, for the minimum fixture, instead: every node scheduled in the window at T0, then
 * `minimum 0.2.0` at T0+50, each node `Below minimum version` and restarting at T0+61.
 */
enum steer_breakage {
    STEER_CLEAN,
    NONCAND_UPGRADED, /* a node outside 50 % restarts during the 50 % step */
    HALT_BREACH,      /* a held node restarts in the middle of the halt */
    HALT_UNSEEN,      /* a held node never logs the halt */
    YANK_INSTALLED,   /* a node downloads the yanked release after the yank */
    PRE_CURSOR,       /* a node outside 50 % saw the release before the first cursor and
                       * restarted on its window before the cursor reached it: allowed */
    PRE_CURSOR_LATE,  /* the same, but restarting after the cursor 0 reached it */
    MIN_CLEAN,
    MIN_LATE,         /* one node takes the minimum version 200 s after it was signed */
    FALSE_URGENT,     /* a node outside 50 % says it runs below a minimum nobody signed and
                       * restarts during the 50 % step */
    URGENT_IN_HALT,   /* `minimum 0.2.0` signed during the halt; a held node restarts into
                       * it mid-halt, which only the halt may stop (ARCHITECTURE.md §10) */
};

static const uint8_t STEER_SEED_BASE = 7;

static void steer_fixture(const char *dir, enum steer_breakage b, uint8_t seed[32],
                          bool cand50[FH * FN])
{
    struct dn_config *cfg = calloc(1, sizeof *cfg);
    char path[PATH_MAX];
    if (cfg == NULL)
        return;
    snprintf(cfg->dir, sizeof cfg->dir, "%s", dir);
    cfg->hosts = FH;
    cfg->nodes = FN;
    cfg->https_port = 1;
    cfg->rollout_window_s = 120;
    cfg->check_interval_s = 10;
    cfg->release_ttl_s = 30;
    cfg->restart_delay_ms = 500;
    snprintf(cfg->channel, sizeof cfg->channel, "stable");
    snprintf(cfg->platform, sizeof cfg->platform, "linux-x64");
    snprintf(cfg->initial_version, sizeof cfg->initial_version, "0.1.0");
    for (unsigned i = 0; i < FH * FN; i++)
        cfg->node_port[i] = (uint16_t)(20000 + i);
    CHECK_OK(dn_config_save(cfg));
    bool minimum = b == MIN_CLEAN || b == MIN_LATE;
    char pub[256];
    snprintf(path, sizeof path, "%s/published.json", dir);
    snprintf(pub, sizeof pub,
             "[{\"version\":\"0.2.0\",\"published_at\":%.0f},"
             "{\"version\":\"0.3.0\",\"published_at\":%.0f}]",
             T0 - 5, T0 + 990);
    write_bytes(path, (const uint8_t *)pub, strlen(pub));

    /* a seed whose 50 % takes some nodes but not all (the test computes it as the report) */
    char peers[FH * FN][72];
    for (unsigned i = 0; i < FH * FN; i++)
        peer_of(i / FN, i % FN, peers[i]);
    memset(seed, 0, 32);
    for (uint8_t s = STEER_SEED_BASE;; s++) {
        seed[0] = s;
        unsigned c = 0;
        for (unsigned i = 0; i < FH * FN; i++) {
            CHECK_OK(ant_upgrade_rollout_candidate(seed, peers[i], 500000, &cand50[i]));
            c += cand50[i];
        }
        if (c > 0 && c < FH * FN)
            break;
    }
    /* the node each breakage moves: the first one outside the 50 % */
    unsigned victim = 0;
    while (victim + 1 < FH * FN && cand50[victim])
        victim++;
    struct dn_steer steps[] = {
        {.kind = DN_STEER_ROLLOUT, .at = T0, .cursor_ppm = 0},
        {.kind = DN_STEER_ROLLOUT, .at = T0 + 100, .cursor_ppm = 500000},
        {.kind = DN_STEER_ROLLOUT, .at = T0 + 400, .cursor_ppm = 500000, .halted = true},
        {.kind = DN_STEER_ROLLOUT, .at = T0 + 450, .cursor_ppm = 1000000, .halted = true},
        {.kind = DN_STEER_ROLLOUT, .at = T0 + 800, .cursor_ppm = 1000000},
        {.kind = DN_STEER_YANK, .at = T0 + 1000},
    };
    if (minimum) {
        struct dn_steer m = {.kind = DN_STEER_MINIMUM, .at = T0 + 50};
        snprintf(m.version, sizeof m.version, "0.2.0");
        CHECK_OK(dn_steer_append(dir, &m));
    } else {
        for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
            snprintf(steps[i].version, sizeof steps[i].version, "%s",
                     steps[i].kind == DN_STEER_YANK ? "0.3.0" : "0.2.0");
            memcpy(steps[i].seed, seed, 32);
            CHECK_OK(dn_steer_append(dir, &steps[i]));
            if (b == URGENT_IN_HALT && steps[i].at == T0 + 450) {
                struct dn_steer m = {.kind = DN_STEER_MINIMUM, .at = T0 + 500};
                snprintf(m.version, sizeof m.version, "0.2.0");
                CHECK_OK(dn_steer_append(dir, &m));
            }
        }
    }

    for (unsigned h = 0; h < FH; h++) {
        snprintf(path, sizeof path, "%s/hosts/h%u/logs", dir, h);
        CHECK_OK(dn_mkdirs(path, 0700));
        for (unsigned n = 0; n < FN; n++) {
            unsigned i = h * FN + n;
            snprintf(path, sizeof path, "%s/hosts/h%u/logs/n%u.log", dir, h, n);
            logs[h][n] = fopen(path, "w");
            CHECK(logs[h][n] != NULL);
            if (logs[h][n] == NULL)
                continue;
            logline(h, n, T0 - 60, "INFO", "node",
                    "Node started version=0.1.0 peer_id=%s pid=%u root=r", peers[i], 100 + i);
            uint64_t dms = 0;
            CHECK_OK(ant_upgrade_rollout_delay(peers[i], "0.2.0", 120000, &dms));
            double d = (double)(dms / 1000), since, at, tr;
            if (minimum) {
                logline(h, n, T0, "INFO", "upgrade", "Upgrade scheduled version=0.2.0 "
                        "first_seen=%.0f candidate_since=%.0f delay_s=%.0f at=%.0f keyed=no",
                        T0, T0, d, T0 + d);
                logline(h, n, T0 + 60, "WARN", "upgrade", "Below minimum version, upgrading "
                        "now running=0.1.0 minimum=0.2.0 version=0.2.0");
                logline(h, n, T0 + 60, "INFO", "upgrade", "Upgrade scheduled version=0.2.0 "
                        "first_seen=%.0f candidate_since=%.0f at=%.0f urgent=yes", T0, T0,
                        T0 + 60);
                at = T0 + 60;
                tr = b == MIN_LATE && i == 4 ? T0 + 250 : T0 + 61;
            } else {
                bool pre = (b == PRE_CURSOR || b == PRE_CURSOR_LATE) && i == victim;
                bool early = cand50[i] || (b == NONCAND_UPGRADED && i == victim) || pre ||
                             (b == FALSE_URGENT && i == victim);
                since = pre ? T0 - 20 : early ? T0 + 105 : T0 + 455;
                at = pre ? (b == PRE_CURSOR ? T0 + 10 : T0 + 60) : since + d;
                if (pre)
                    d = at - since;
                logline(h, n, since, "INFO", "upgrade", "Upgrade scheduled version=0.2.0 "
                        "first_seen=%.0f candidate_since=%.0f delay_s=%.0f at=%.0f keyed=no",
                        T0 + 1, since, d, at);
                tr = early ? at + 0.5 : T0 + 806;
                if (b == HALT_BREACH && i == victim)
                    tr = T0 + 600;
                if ((b == FALSE_URGENT || b == URGENT_IN_HALT) && i == victim) {
                    tr = b == FALSE_URGENT ? T0 + 151 : T0 + 600;
                    logline(h, n, tr - 1, "WARN", "upgrade", "Below minimum version, "
                            "upgrading now running=0.1.0 minimum=0.2.0 version=0.2.0");
                }
                if (!early && !(b == HALT_UNSEEN && i == victim))
                    for (double t = T0 + 405; t < T0 + 800; t += 10)
                        if (t < tr)
                            logline(h, n, t + 0.1 * n, "INFO", "upgrade", "Rollout halted, not "
                                    "upgrading version=0.2.0 rollout=0.2.0 cursor=50");
            }
            logline(h, n, tr - 0.3, "INFO", "upgrade",
                    "Downloading ant-node archive... version=0.2.0 url=x");
            logline(h, n, tr, "INFO", "upgrade",
                    "Restarting into new binary version=0.2.0 mode=exit75 scheduled_at=%.0f", at);
            logline(h, n, tr + 1, "INFO", "node",
                    "Node started version=0.2.0 peer_id=%s pid=%u root=r", peers[i], 200 + i);
            if (!minimum) {
                logline(h, n, T0 + 1010 + n, "WARN", "upgrade", "Release not in signed "
                        "metadata, skipping version=0.3.0 reason=yanked");
                if (b == YANK_INSTALLED && i == 2)
                    logline(h, n, T0 + 1100, "INFO", "upgrade",
                            "Downloading ant-node archive... version=0.3.0 url=x");
            }
            fclose(logs[h][n]);
        }
    }
    free(cfg);
}

static const char *const steer_rows[] = {
    "staged rollout: upgraded = candidates at each cursor step",
    "halt: the rest held on the old version until resumed",
    "yanked release never installed",
    "restart times across the window",
    "restart at its scheduled time (hash-derived delay)",
};

/* The numbers of one step of the steps row (index among the 0.2.0 steps). */
static void step_counts(json_object *o, size_t step, int64_t *cand, int64_t *up)
{
    json_object *rows = NULL, *c = NULL, *steps = NULL, *s = NULL, *x = NULL;
    *cand = *up = -1;
    if (!json_object_object_get_ex(o, "rows", &rows))
        return;
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *r = json_object_array_get_idx(rows, i);
        if (json_object_object_get_ex(r, "check", &c) &&
            strcmp(json_object_get_string(c), steer_rows[0]) == 0 &&
            json_object_object_get_ex(r, "counts", &x) &&
            json_object_object_get_ex(x, "steps", &steps))
            break;
        steps = NULL;
    }
    if (steps == NULL || step >= json_object_array_length(steps))
        return;
    s = json_object_array_get_idx(steps, step);
    if (json_object_object_get_ex(s, "candidates", &x))
        *cand = json_object_get_int64(x);
    if (json_object_object_get_ex(s, "upgraded", &x))
        *up = json_object_get_int64(x);
}

/* counts[key] of the row `check`, or -1. */
static int64_t row_count(json_object *o, const char *check, const char *key)
{
    json_object *rows = NULL, *c = NULL, *counts = NULL, *v = NULL;
    if (!json_object_object_get_ex(o, "rows", &rows))
        return -1;
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *r = json_object_array_get_idx(rows, i);
        if (json_object_object_get_ex(r, "check", &c) &&
            strcmp(json_object_get_string(c), check) == 0 &&
            json_object_object_get_ex(r, "counts", &counts) &&
            json_object_object_get_ex(counts, key, &v))
            return json_object_get_int64(v);
    }
    return -1;
}

static void test_report_staged_rollout_rows(void)
{
    char dir[64];
    uint8_t seed[32];
    bool cand[FH * FN];
    make_tmpdir(dir, sizeof dir);
    steer_fixture(dir, STEER_CLEAN, seed, cand);
    json_object *o = report_rows(dir);
    for (size_t i = 0; i < sizeof steer_rows / sizeof steer_rows[0]; i++)
        CHECK_MSG(strcmp(row_status(o, steer_rows[i]), "PASS") == 0, "%s: %s", steer_rows[i],
                  row_status(o, steer_rows[i]));
    unsigned c50 = 0;
    for (unsigned i = 0; i < FH * FN; i++)
        c50 += cand[i];
    /* the table: 0 % nobody, 50 % its candidates, 100 % everybody */
    int64_t c = 0, u = 0;
    step_counts(o, 0, &c, &u);
    CHECK_INT(c, 0);
    CHECK_INT(u, 0);
    step_counts(o, 1, &c, &u);
    CHECK_INT(c, c50);
    CHECK_INT(u, c50);
    step_counts(o, 4, &c, &u);
    CHECK_INT(c, FH * FN);
    CHECK_INT(u, FH * FN);
    /* the rest's times fell in the halt: they are on time at the resume, and out of the
     * window's actual bins */
    CHECK_INT(row_count(o, "restart times across the window", "held_by_halt"), FH * FN - c50);
    CHECK_INT(row_count(o, "halt: the rest held on the old version until resumed", "held"),
              FH * FN - c50);
    /* no minimum was set: no minimum row; 0.3.0 is judged by the yank row only */
    CHECK_STR(row_status(o, "minimum version reached every node within one check"), "missing");
    json_object_put(o);
    rm_rf(dir);

    static const struct {
        enum steer_breakage b;
        const char *row;
    } cases[] = {
        {NONCAND_UPGRADED, "staged rollout: upgraded = candidates at each cursor step"},
        {HALT_BREACH, "halt: the rest held on the old version until resumed"},
        {HALT_UNSEEN, "halt: the rest held on the old version until resumed"},
        {YANK_INSTALLED, "yanked release never installed"},
        {PRE_CURSOR_LATE, "staged rollout: upgraded = candidates at each cursor step"},
        {FALSE_URGENT, "staged rollout: upgraded = candidates at each cursor step"},
        {URGENT_IN_HALT, "halt: the rest held on the old version until resumed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_tmpdir(dir, sizeof dir);
        steer_fixture(dir, cases[i].b, seed, cand);
        o = report_rows(dir);
        CHECK_MSG(strcmp(row_status(o, cases[i].row), "FAIL") == 0, "breakage %d: %s is %s",
                  (int)cases[i].b, cases[i].row, row_status(o, cases[i].row));
        json_object_put(o);
        rm_rf(dir);
    }
}

/* A node that saw the release before its first cursor went by the window alone until the
 * cursor reached it (within the lag): the step rows do not count that against the cursor. */
static void test_report_steps_allow_a_schedule_before_the_cursor(void)
{
    char dir[64];
    uint8_t seed[32];
    bool cand[FH * FN];
    make_tmpdir(dir, sizeof dir);
    steer_fixture(dir, PRE_CURSOR, seed, cand);
    json_object *o = report_rows(dir);
    CHECK_STR(row_status(o, steer_rows[0]), "PASS");
    json_object_put(o);
    rm_rf(dir);
}

static void test_report_minimum_version_row(void)
{
    char dir[64];
    uint8_t seed[32];
    bool cand[FH * FN];
    make_tmpdir(dir, sizeof dir);
    steer_fixture(dir, MIN_CLEAN, seed, cand);
    json_object *o = report_rows(dir);
    CHECK_STR(row_status(o, "minimum version reached every node within one check"), "PASS");
    CHECK_STR(row_status(o, "restart at its scheduled time (hash-derived delay)"), "PASS");
    CHECK_STR(row_status(o, "staged rollout: upgraded = candidates at each cursor step"),
              "missing");
    CHECK_STR(row_status(o, "halt: the rest held on the old version until resumed"), "missing");
    json_object_put(o);
    rm_rf(dir);
    make_tmpdir(dir, sizeof dir);
    steer_fixture(dir, MIN_LATE, seed, cand);
    o = report_rows(dir);
    CHECK_STR(row_status(o, "minimum version reached every node within one check"), "FAIL");
    json_object_put(o);
    rm_rf(dir);
}


/*
 * Issue 13 item 7: `ant-devnet --dir` took a directory someone else owned (or one made
 * 0777 by another user), whose `hosts/` that user could swap so that the root supervisor
 * executed their binary. The dir and every parent must now be safe: the dir owned by the
 * euid and not group/other-writable, each parent owned by root or the euid and not
 * writable by others unless sticky, and no symlink anywhere on the path.
 */
static void test_dir_must_be_trusted(void)
{
    char base[128], dir[256], real[PATH_MAX], link[300];
    make_tmpdir(base, sizeof base);
    snprintf(dir, sizeof dir, "%s/devnet", base);
    /* A fresh dir (created by us, 0700) passes, made or not. */
    CHECK_OK(dn_resolve_dir(dir, true, real, sizeof real));
    CHECK_STR(real, dir);
    CHECK_OK(dn_resolve_dir(dir, false, real, sizeof real));

    /* World-writable (the attack), group-writable. */
    CHECK(chmod(dir, 0777) == 0);
    CHECK_ERR(dn_resolve_dir(dir, false, real, sizeof real), ANT_ERR_UNSAFE_FILE);
    CHECK_ERR(ant_devnet_status(dir, stdout), ANT_ERR_UNSAFE_FILE);
    CHECK_ERR(ant_devnet_down(dir), ANT_ERR_UNSAFE_FILE);
    struct ant_devnet_up_opts up = {.dir = dir, .binary = "/bin/true", .hosts = 1,
                                    .nodes_per_host = 1};
    CHECK_ERR(ant_devnet_up(&up), ANT_ERR_UNSAFE_FILE);
    char hosts[300];
    snprintf(hosts, sizeof hosts, "%s/hosts", dir);
    struct stat st;
    CHECK(stat(hosts, &st) != 0); /* nothing was built in it */
    CHECK(chmod(dir, 0770) == 0);
    CHECK_ERR(dn_resolve_dir(dir, false, real, sizeof real), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(dir, 0700) == 0);

    /* Owned by someone else (needs root to set up). */
    if (geteuid() == 0) {
        CHECK(chown(dir, 65534, 65534) == 0);
        CHECK_ERR(dn_resolve_dir(dir, false, real, sizeof real), ANT_ERR_UNSAFE_FILE);
        CHECK(chown(dir, 0, 0) == 0);
    }
    CHECK_OK(dn_resolve_dir(dir, false, real, sizeof real));

    /* A parent others can write (not sticky): they could rename the dir away and put
     * their own in its place. */
    CHECK(chmod(base, 0777) == 0);
    CHECK_ERR(dn_resolve_dir(dir, false, real, sizeof real), ANT_ERR_UNSAFE_FILE);
    CHECK(chmod(base, 01777) == 0); /* sticky like /tmp: fine */
    CHECK_OK(dn_resolve_dir(dir, false, real, sizeof real));
    CHECK(chmod(base, 0700) == 0);

    /* A symlink to a good dir is refused, as the dir itself or as a parent. */
    snprintf(link, sizeof link, "%s/link", base);
    CHECK(symlink(dir, link) == 0);
    CHECK_ERR(dn_resolve_dir(link, false, real, sizeof real), ANT_ERR_UNSAFE_FILE);
    char below[400];
    snprintf(below, sizeof below, "%s/sub", link);
    CHECK_ERR(dn_resolve_dir(below, true, real, sizeof real), ANT_ERR_UNSAFE_FILE);
    struct stat sst;
    CHECK(stat(below, &sst) != 0); /* nothing was made through the symlink */
    /* Nor below a parent others can write. */
    char open_parent_dir[300], inside[400];
    snprintf(open_parent_dir, sizeof open_parent_dir, "%s/open", base);
    CHECK(mkdir(open_parent_dir, 0777) == 0 && chmod(open_parent_dir, 0777) == 0);
    snprintf(inside, sizeof inside, "%s/devnet", open_parent_dir);
    CHECK_ERR(dn_resolve_dir(inside, true, real, sizeof real), ANT_ERR_UNSAFE_FILE);
    CHECK(stat(inside, &sst) != 0);
    /* Missing levels under trusted parents are made, 0700. */
    char deep[400];
    snprintf(deep, sizeof deep, "%s/a/b/c", base);
    CHECK_OK(dn_resolve_dir(deep, true, real, sizeof real));
    CHECK(stat(deep, &sst) == 0 && S_ISDIR(sst.st_mode) && (sst.st_mode & 0777) == 0700);
    rm_rf(base);
}

static const struct ant_test_case cases[] = {
    ANT_TEST(test_tls_chain_san_and_constraints),
    ANT_TEST(test_pack_and_sign_bind_the_version),
    ANT_TEST(test_log_parse),
    ANT_TEST(test_uniform_limit),
    ANT_TEST(test_svg_is_well_formed),
    ANT_TEST(test_report_clean_rollout_passes_log_rows),
    ANT_TEST(test_report_catches_each_breakage),
    ANT_TEST(test_report_delta_rows),
    ANT_TEST(test_report_resume_row),
    ANT_TEST(test_report_without_publish_is_not_found),
    ANT_TEST(test_report_staged_rollout_rows),
    ANT_TEST(test_report_steps_allow_a_schedule_before_the_cursor),
    ANT_TEST(test_report_minimum_version_row),
    ANT_TEST(test_dir_must_be_trusted),
};
ANT_TEST_MAIN(cases)
