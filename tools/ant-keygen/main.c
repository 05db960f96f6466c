/*
 * ant-keygen: release signing keys and detached ML-DSA-65 signatures for ant-node releases.
 * Subcommands generate, sign, verify, fingerprint and verify-key; main() parses the command
 * line strictly (exact option names, no abbreviations, no repeated or stray arguments) and
 * maps results to three exit codes: 0 success, 1 the checked input was rejected (a signature
 * or key that does not verify), 2 usage errors and anything that stopped the check itself
 * (unreadable or unsafe files, a key file of the wrong size, I/O or RNG failures).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

#include "ant/digest.h"
#include "ant/mldsa65.h"
#include "ant/release_context.h"
#include "ant/version.h"
#include "kgio.h"

#define EXIT_VALID 0
#define EXIT_REJECTED 1
#define EXIT_USAGE 2

#define SECRET_NAME "release-signing-key.secret"
#define PUBLIC_NAME "release-signing-key.pub"

/* --- option parsing ----------------------------------------------------------------- */

struct opt {
    const char *name; /* without the leading "--" */
    bool has_value;
    char *value;      /* points into argv (writable, so a secret can be wiped there) */
    bool seen;
};

/* Parses argv[first..] against `opts`. Accepts `--name value` and `--name=value`; a value
 * may be empty. Returns 0, EXIT_USAGE after printing why, or -1 for --help/-h. */
static int parse_opts(int argc, char **argv, int first, struct opt *opts, size_t nopts,
                      const char *cmd)
{
    for (int i = first; i < argc; i++) {
        char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return -1;
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "ant-keygen %s: unexpected argument '%s' (see --help)\n", cmd, arg);
            return EXIT_USAGE;
        }
        char *name = arg + 2;
        char *eq = strchr(name, '=');
        size_t namelen = eq != NULL ? (size_t)(eq - name) : strlen(name);
        struct opt *o = NULL;
        for (size_t k = 0; k < nopts; k++) {
            if (strlen(opts[k].name) == namelen && strncmp(opts[k].name, name, namelen) == 0)
                o = &opts[k];
        }
        if (o == NULL) {
            fprintf(stderr, "ant-keygen %s: unknown option '%.*s' (see --help)\n", cmd,
                    (int)(namelen + 2), arg);
            return EXIT_USAGE;
        }
        if (o->seen) {
            fprintf(stderr, "ant-keygen %s: --%s given twice\n", cmd, o->name);
            return EXIT_USAGE;
        }
        o->seen = true;
        if (!o->has_value) {
            if (eq != NULL) {
                fprintf(stderr, "ant-keygen %s: --%s takes no value\n", cmd, o->name);
                return EXIT_USAGE;
            }
            continue;
        }
        if (eq != NULL) {
            o->value = eq + 1;
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "ant-keygen %s: --%s needs a value\n", cmd, o->name);
                return EXIT_USAGE;
            }
            o->value = argv[++i];
        }
    }
    return 0;
}

static int require(const struct opt *o, const char *cmd)
{
    if (o->seen)
        return 0;
    fprintf(stderr, "ant-keygen %s: --%s is required (see --help)\n", cmd, o->name);
    return EXIT_USAGE;
}

/* --- the signature context ------------------------------------------------------------ */

struct context {
    uint8_t bytes[ANT_MLDSA65_CTX_MAX];
    size_t len;
};

/* Index of each context option in a subcommand's option table. */
struct ctx_opts {
    struct opt *text, *hex, *version, *platform;
};

/* Builds the context from at most one of --context, --context-hex or
 * --release-version + --platform; none means the empty context. */
static int parse_context(const struct ctx_opts *c, struct context *ctx, const char *cmd)
{
    int forms = (int)c->text->seen + (int)c->hex->seen +
                (int)(c->version->seen || c->platform->seen);
    ctx->len = 0;
    if (forms > 1) {
        fprintf(stderr,
                "ant-keygen %s: give only one of --context, --context-hex, or "
                "--release-version with --platform\n",
                cmd);
        return EXIT_USAGE;
    }
    if (c->text->seen) {
        size_t n = strlen(c->text->value);
        if (n > ANT_MLDSA65_CTX_MAX) {
            fprintf(stderr, "ant-keygen %s: context is %zu bytes; ML-DSA allows at most %d\n",
                    cmd, n, ANT_MLDSA65_CTX_MAX);
            return EXIT_USAGE;
        }
        memcpy(ctx->bytes, c->text->value, n);
        ctx->len = n;
    } else if (c->hex->seen) {
        size_t digits = strlen(c->hex->value);
        if (digits % 2 != 0) {
            fprintf(stderr, "ant-keygen %s: --context-hex needs an even number of hex digits\n",
                    cmd);
            return EXIT_USAGE;
        }
        if (digits / 2 > ANT_MLDSA65_CTX_MAX) {
            fprintf(stderr, "ant-keygen %s: context is %zu bytes; ML-DSA allows at most %d\n",
                    cmd, digits / 2, ANT_MLDSA65_CTX_MAX);
            return EXIT_USAGE;
        }
        if (digits > 0 && ant_hex_decode(ctx->bytes, digits / 2, c->hex->value) != ANT_OK) {
            fprintf(stderr, "ant-keygen %s: --context-hex is not hexadecimal\n", cmd);
            return EXIT_USAGE;
        }
        ctx->len = digits / 2;
    } else if (c->version->seen || c->platform->seen) {
        if (!c->version->seen || !c->platform->seen) {
            /* No default platform: a release manager signs every platform's archive on one
             * machine, and defaulting to its own would mislabel the others. */
            fprintf(stderr, "ant-keygen %s: --release-version and --platform go together\n",
                    cmd);
            return EXIT_USAGE;
        }
        char buf[ANT_RELEASE_CONTEXT_CAP];
        ant_err err = ant_release_context(buf, sizeof buf, c->version->value,
                                          c->platform->value);
        if (err == ANT_ERR_BAD_VERSION) {
            fprintf(stderr, "ant-keygen %s: '%s' is not a release version (like 0.2.0)\n", cmd,
                    c->version->value);
            return EXIT_USAGE;
        }
        if (err == ANT_ERR_PLATFORM) {
            fprintf(stderr,
                    "ant-keygen %s: unknown platform '%s' (linux-x64 or linux-arm64)\n", cmd,
                    c->platform->value);
            return EXIT_USAGE;
        }
        if (err != ANT_OK) {
            fprintf(stderr, "ant-keygen %s: %s\n", cmd, ant_strerror(err));
            return EXIT_USAGE;
        }
        ctx->len = strlen(buf);
        memcpy(ctx->bytes, buf, ctx->len);
    }
    return 0;
}

#define CONTEXT_OPTS                                                                      \
    {"context", true, NULL, false}, {"context-hex", true, NULL, false},                   \
        {"release-version", true, NULL, false}, { "platform", true, NULL, false }

#define CONTEXT_HELP                                                                      \
    "Context (at most one form; none means the empty context):\n"                         \
    "  --context STR            the bytes of STR (0-255 bytes)\n"                         \
    "  --context-hex HEX        the bytes given in hex ('' is the empty context)\n"       \
    "  --release-version V --platform P\n"                                                \
    "                           the release context ant-node-release-v2:V:P, P being\n"   \
    "                           linux-x64 or linux-arm64; the upgrader checks exactly\n"  \
    "                           this, so a signature for one version or platform never\n" \
    "                           verifies for another\n"

/* --- helpers -------------------------------------------------------------------------- */

static int fingerprint_hex(const uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES],
                           char hex[ANT_SHA256_HEXBYTES])
{
    uint8_t digest[ANT_SHA256_BYTES];
    if (ant_sha256(digest, pk, ANT_MLDSA65_PUBLICKEYBYTES) != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: SHA-256 failed\n");
        return EXIT_USAGE;
    }
    ant_hex_encode(hex, digest, sizeof digest);
    return 0;
}

/* A key-file size that matches the other kind of key gets a hint. */
static void key_size_hint(uint64_t found, bool want_secret)
{
    if (want_secret && found == ANT_MLDSA65_PUBLICKEYBYTES)
        fprintf(stderr, "ant-keygen: hint: that is the size of a public key (.pub); this "
                        "command needs the secret key\n");
    if (!want_secret && found == ANT_MLDSA65_SECRETKEYBYTES)
        fprintf(stderr, "ant-keygen: hint: that is the size of a secret key; this command "
                        "needs the public key (.pub)\n");
}

static int read_public_key(const char *path, uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES])
{
    uint64_t found = 0;
    ant_err err = kg_read_exact(path, "public key", pk, ANT_MLDSA65_PUBLICKEYBYTES, &found, 0);
    if (err == ANT_OK)
        return 0;
    if (err == ANT_ERR_TRUNCATED || err == ANT_ERR_TOO_LARGE)
        key_size_hint(found, false);
    return EXIT_USAGE;
}

static int read_secret_key(const char *path, uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    uint64_t found = 0;
    ant_err err = kg_read_exact(path, "secret key", sk, ANT_MLDSA65_SECRETKEYBYTES, &found, 0);
    if (err == ANT_OK) {
        struct stat st;
        /* Like ssh: say so when others could have read the key, but do not refuse (the
         * key is already exposed; refusing would not undo that). */
        if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
            fprintf(stderr,
                    "ant-keygen: warning: secret key %s is accessible by group or others "
                    "(mode %03o); it should be 0600\n",
                    path, (unsigned)(st.st_mode & 0777));
        return 0;
    }
    if (err == ANT_ERR_TRUNCATED || err == ANT_ERR_TOO_LARGE)
        key_size_hint(found, true);
    return EXIT_USAGE;
}

/* --- generate -------------------------------------------------------------------------- */

static const char generate_help[] =
    "Usage: ant-keygen generate [--out-dir DIR] [--seed-hex HEX]\n"
    "\n"
    "Creates a new ML-DSA-65 release signing key pair:\n"
    "  DIR/" SECRET_NAME "  raw 4032-byte secret key, mode 0600\n"
    "  DIR/" PUBLIC_NAME "     raw 1952-byte public key, mode 0644\n"
    "and prints the key's fingerprint (hex SHA-256 of the public key). Existing key files\n"
    "are never overwritten: the command fails instead.\n"
    "\n"
    "  --out-dir DIR   where to write the keys (default: the current directory; created\n"
    "                  with mode 0700 if missing)\n"
    "  --seed-hex HEX  derive the key pair from this 32-byte seed (64 hex digits) instead\n"
    "                  of the OS random generator. Only for test vectors and reproducible\n"
    "                  test fleets: anyone who knows the seed has the secret key, and the\n"
    "                  seed on a command line is visible to other local users.\n";

static int cmd_generate(int argc, char **argv)
{
    struct opt opts[] = {{"out-dir", true, NULL, false}, {"seed-hex", true, NULL, false}};
    int rc = parse_opts(argc, argv, 2, opts, 2, "generate");
    if (rc < 0) {
        fputs(generate_help, stdout);
        return 0;
    }
    if (rc != 0)
        return rc;

    uint8_t seed[ANT_MLDSA65_SEEDBYTES];
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    char shown_sk[4096], shown_pk[4096];
    char fp[ANT_SHA256_HEXBYTES];
    int dirfd = -1, skfd = -1, pkfd = -1;
    bool made_sk = false, made_pk = false;
    const char *dir = opts[0].seen ? opts[0].value : ".";
    ant_err err;

    rc = EXIT_USAGE;
    if (opts[1].seen) {
        char *hex = opts[1].value;
        size_t n = strlen(hex);
        err = n == 2 * ANT_MLDSA65_SEEDBYTES ? ant_hex_decode(seed, sizeof seed, hex)
                                              : ANT_ERR_PARSE;
        /* Safety: the seed is the secret key; do not leave it in our argv, which
         * /proc/<pid>/cmdline shows for as long as we run. */
        explicit_bzero(hex, n);
        if (err != ANT_OK) {
            fprintf(stderr, "ant-keygen generate: --seed-hex needs exactly 64 hex digits\n");
            goto out;
        }
    }
    if (dir[0] == '\0') {
        fprintf(stderr, "ant-keygen generate: --out-dir is empty\n");
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "ant-keygen: error: cannot create directory %s: %s\n", dir,
                strerror(errno));
        goto out;
    }
    dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        fprintf(stderr, "ant-keygen: error: cannot open directory %s: %s\n", dir,
                strerror(errno));
        goto out;
    }
    snprintf(shown_sk, sizeof shown_sk, "%s/%s", dir, SECRET_NAME);
    snprintf(shown_pk, sizeof shown_pk, "%s/%s", dir, PUBLIC_NAME);

    /* Both files are claimed before any key exists, so a refusal costs nothing and never
     * leaves half a key pair behind. */
    if (kg_create_new(dirfd, SECRET_NAME, shown_sk, 0600, &skfd) != ANT_OK)
        goto out;
    made_sk = true;
    if (kg_create_new(dirfd, PUBLIC_NAME, shown_pk, 0644, &pkfd) != ANT_OK)
        goto out;
    made_pk = true;

    err = opts[1].seen ? ant_mldsa65_keypair_from_seed(pk, sk, seed) : ant_mldsa65_keypair(pk, sk);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: key generation failed: %s\n", ant_strerror(err));
        goto out;
    }
    if (kg_write_all_sync(skfd, sk, sizeof sk, shown_sk) != ANT_OK ||
        kg_write_all_sync(pkfd, pk, sizeof pk, shown_pk) != ANT_OK)
        goto out;
    if (fsync(dirfd) != 0) {
        fprintf(stderr, "ant-keygen: error: fsync directory %s: %s\n", dir, strerror(errno));
        goto out;
    }
    if (fingerprint_hex(pk, fp) != 0)
        goto out;
    printf("Wrote %s (secret, mode 0600)\n", shown_sk);
    printf("Wrote %s\n", shown_pk);
    printf("Fingerprint: %s\n", fp);
    made_sk = made_pk = false;
    rc = 0;
out:
    if (skfd >= 0)
        close(skfd);
    if (pkfd >= 0)
        close(pkfd);
    /* Only files this run created (O_EXCL) are removed, never pre-existing ones. */
    if (made_sk)
        unlinkat(dirfd, SECRET_NAME, 0);
    if (made_pk)
        unlinkat(dirfd, PUBLIC_NAME, 0);
    if (dirfd >= 0)
        close(dirfd);
    explicit_bzero(seed, sizeof seed);
    explicit_bzero(sk, sizeof sk);
    return rc;
}

/* --- sign ------------------------------------------------------------------------------ */

/* True if both paths exist and name the same file (after following symlinks). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static const char sign_help[] =
    "Usage: ant-keygen sign --key SECRET --input FILE --output SIG [context] [--deterministic]\n"
    "\n"
    "Signs FILE with ML-DSA-65 (FIPS 204 pure ML-DSA.Sign, hedged) and writes the raw\n"
    "3309-byte detached signature to SIG atomically (mode 0644; an existing SIG is\n"
    "replaced). FILE is streamed, so memory use does not depend on its size; a progress\n"
    "line is shown on a terminal for files over 64 MiB. The new signature is verified\n"
    "against the key's public half in the same pass before it is written.\n"
    "\n"
    "  --key SECRET       raw 4032-byte secret key\n"
    "  --input FILE       the file to sign (e.g. ant-node-cli-linux-x64.tar.gz)\n"
    "  --output SIG       where to write the signature (never FILE or SECRET)\n"
    "  --deterministic    rnd = 32 zero bytes instead of fresh randomness (reproducible\n"
    "                     signatures for tests; the hedged default is preferred)\n"
    "\n" CONTEXT_HELP;

struct sign_state {
    struct ant_mldsa65_signer *signer;
    struct ant_mldsa65_verifier *verifier;
};

static ant_err sign_sink(void *arg, const uint8_t *data, size_t len)
{
    struct sign_state *s = arg;
    ant_err err = ant_mldsa65_signer_update(s->signer, data, len);
    if (err == ANT_OK)
        err = ant_mldsa65_verifier_update(s->verifier, data, len);
    if (err != ANT_OK)
        fprintf(stderr, "ant-keygen: error: hashing the input failed: %s\n", ant_strerror(err));
    return err;
}

static int cmd_sign(int argc, char **argv)
{
    struct opt opts[] = {{"key", true, NULL, false},    {"input", true, NULL, false},
                         {"output", true, NULL, false}, {"deterministic", false, NULL, false},
                         CONTEXT_OPTS};
    struct ctx_opts copts = {&opts[4], &opts[5], &opts[6], &opts[7]};
    int rc = parse_opts(argc, argv, 2, opts, sizeof opts / sizeof opts[0], "sign");
    if (rc < 0) {
        fputs(sign_help, stdout);
        return 0;
    }
    if (rc != 0)
        return rc;
    for (int i = 0; i < 3; i++)
        if ((rc = require(&opts[i], "sign")) != 0)
            return rc;

    struct context ctx;
    if ((rc = parse_context(&copts, &ctx, "sign")) != 0)
        return rc;

    uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    char fp[ANT_SHA256_HEXBYTES];
    struct sign_state st = {NULL, NULL};
    uint64_t total = 0;
    ant_err err;

    rc = EXIT_USAGE;
    /* The signature replaces --output by rename: never let that be the file being signed
     * or the key (a typo would otherwise destroy a release archive or the signing key). */
    for (int i = 0; i < 2; i++) {
        if (same_file(opts[2].value, opts[i].value)) {
            fprintf(stderr, "ant-keygen sign: --output %s is the %s; refusing to replace it\n",
                    opts[2].value, i == 0 ? "secret key" : "input file");
            goto out;
        }
    }
    if (read_secret_key(opts[0].value, sk) != 0)
        goto out;
    /* Checks the secret key is well formed and gives the public half for the self-check. */
    err = ant_mldsa65_pk_from_sk(pk, sk, sizeof sk);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: secret key %s is malformed: %s\n", opts[0].value,
                ant_strerror(err));
        goto out;
    }
    err = ant_mldsa65_signer_new(&st.signer, sk, ctx.bytes, ctx.len, opts[3].seen ? 1 : 0);
    if (err == ANT_OK)
        err = ant_mldsa65_verifier_new(&st.verifier, pk, sizeof pk, ctx.bytes, ctx.len);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: %s\n", ant_strerror(err));
        goto out;
    }
    if (kg_stream_file(opts[1].value, "signing", sign_sink, &st, &total) != ANT_OK)
        goto out;
    err = ant_mldsa65_signer_final(st.signer, sig);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: signing failed: %s\n", ant_strerror(err));
        goto out;
    }
    /* Safety: a fault during signing must not publish a signature the fleet rejects. */
    err = ant_mldsa65_verifier_final(st.verifier, sig, sizeof sig);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: the new signature does not verify (%s); nothing "
                        "written\n",
                ant_strerror(err));
        goto out;
    }
    if (kg_write_atomic(opts[2].value, sig, sizeof sig, 0644) != ANT_OK)
        goto out;
    if (fingerprint_hex(pk, fp) != 0)
        goto out;
    printf("Signed %s (%llu bytes), context %zu bytes\n", opts[1].value,
           (unsigned long long)total, ctx.len);
    printf("Key fingerprint: %s\n", fp);
    printf("Wrote %s\n", opts[2].value);
    rc = 0;
out:
    ant_mldsa65_signer_free(st.signer);
    ant_mldsa65_verifier_free(st.verifier);
    explicit_bzero(sk, sizeof sk);
    return rc;
}

/* --- verify ---------------------------------------------------------------------------- */

static const char verify_help[] =
    "Usage: ant-keygen verify --key PUB --input FILE --signature SIG [context]\n"
    "\n"
    "Verifies a detached ML-DSA-65 signature (FIPS 204 pure ML-DSA.Verify) over FILE,\n"
    "streaming it (memory does not depend on its size; progress on a terminal for files\n"
    "over 64 MiB). Prints 'Signature is VALID' and exits 0, or 'Signature is INVALID' and\n"
    "exits 1. A signature file that is not exactly 3309 bytes is an invalid signature\n"
    "(exit 1). Exit 2: bad usage, an unreadable, special or symlinked key or signature\n"
    "file, a key file of the wrong size, or an I/O error.\n"
    "\n"
    "  --key PUB          raw 1952-byte public key\n"
    "  --input FILE       the signed file\n"
    "  --signature SIG    the raw signature\n"
    "\n" CONTEXT_HELP;

static ant_err verify_sink(void *arg, const uint8_t *data, size_t len)
{
    ant_err err = ant_mldsa65_verifier_update(arg, data, len);
    if (err != ANT_OK)
        fprintf(stderr, "ant-keygen: error: hashing the input failed: %s\n", ant_strerror(err));
    return err;
}

static int cmd_verify(int argc, char **argv)
{
    struct opt opts[] = {{"key", true, NULL, false},
                         {"input", true, NULL, false},
                         {"signature", true, NULL, false},
                         CONTEXT_OPTS};
    struct ctx_opts copts = {&opts[3], &opts[4], &opts[5], &opts[6]};
    int rc = parse_opts(argc, argv, 2, opts, sizeof opts / sizeof opts[0], "verify");
    if (rc < 0) {
        fputs(verify_help, stdout);
        return 0;
    }
    if (rc != 0)
        return rc;
    for (int i = 0; i < 3; i++)
        if ((rc = require(&opts[i], "verify")) != 0)
            return rc;

    struct context ctx;
    if ((rc = parse_context(&copts, &ctx, "verify")) != 0)
        return rc;

    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    struct ant_mldsa65_verifier *v = NULL;
    uint64_t found = 0;
    ant_err err;

    rc = EXIT_USAGE;
    if (read_public_key(opts[0].value, pk) != 0)
        goto out;
    /* Every check that needs no input bytes comes before streaming a possibly huge file. */
    err = kg_read_exact(opts[2].value, "signature", sig, sizeof sig, &found, 1);
    if (err == ANT_ERR_TRUNCATED || err == ANT_ERR_TOO_LARGE) {
        /* The signature is untrusted input like the file: a wrong length is a signature
         * that does not verify (FIPS 204 Verify rejects it), not a usage error. */
        fprintf(stderr, "ant-keygen: signature %s is %llu bytes, not %d\n", opts[2].value,
                (unsigned long long)found, ANT_MLDSA65_SIGBYTES);
        puts("Signature is INVALID");
        rc = EXIT_REJECTED;
        goto out;
    }
    if (err != ANT_OK)
        goto out;
    err = ant_mldsa65_verifier_new(&v, pk, sizeof pk, ctx.bytes, ctx.len);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: %s\n", ant_strerror(err));
        goto out;
    }
    if (kg_stream_file(opts[1].value, "verifying", verify_sink, v, NULL) != ANT_OK)
        goto out;
    err = ant_mldsa65_verifier_final(v, sig, sizeof sig);
    if (err == ANT_OK) {
        puts("Signature is VALID");
        rc = EXIT_VALID;
    } else if (err == ANT_ERR_BAD_SIGNATURE) {
        puts("Signature is INVALID");
        rc = EXIT_REJECTED;
    } else {
        fprintf(stderr, "ant-keygen: error: verification could not run: %s\n",
                ant_strerror(err));
    }
out:
    ant_mldsa65_verifier_free(v);
    return rc;
}

/* --- fingerprint ----------------------------------------------------------------------- */

static const char fingerprint_help[] =
    "Usage: ant-keygen fingerprint --key PUB\n"
    "\n"
    "Prints the fingerprint of a raw 1952-byte public key: the lower-case hex SHA-256 of\n"
    "its bytes (the same value generate prints).\n";

static int cmd_fingerprint(int argc, char **argv)
{
    struct opt opts[] = {{"key", true, NULL, false}};
    int rc = parse_opts(argc, argv, 2, opts, 1, "fingerprint");
    if (rc < 0) {
        fputs(fingerprint_help, stdout);
        return 0;
    }
    if (rc != 0 || (rc = require(&opts[0], "fingerprint")) != 0)
        return rc;
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    char fp[ANT_SHA256_HEXBYTES];
    if (read_public_key(opts[0].value, pk) != 0 || fingerprint_hex(pk, fp) != 0)
        return EXIT_USAGE;
    puts(fp);
    return 0;
}

/* --- verify-key ------------------------------------------------------------------------ */

static const char verify_key_help[] =
    "Usage: ant-keygen verify-key --key SECRET [--pub PUB]\n"
    "\n"
    "Checks that SECRET is a well-formed ML-DSA-65 secret key (every field in range, its\n"
    "embedded public-key hash consistent) and prints the fingerprint of its public key.\n"
    "With --pub, also checks that PUB is its public key: the public key recomputed from\n"
    "SECRET must equal PUB, and a fresh signature made with SECRET must verify with PUB.\n"
    "Exit 0: the key is good (and matches); 1: malformed or not matching; 2: bad usage,\n"
    "an unreadable file, or a key file of the wrong size.\n";

static int cmd_verify_key(int argc, char **argv)
{
    struct opt opts[] = {{"key", true, NULL, false}, {"pub", true, NULL, false}};
    int rc = parse_opts(argc, argv, 2, opts, 2, "verify-key");
    if (rc < 0) {
        fputs(verify_key_help, stdout);
        return 0;
    }
    if (rc != 0 || (rc = require(&opts[0], "verify-key")) != 0)
        return rc;

    static const uint8_t probe_ctx[] = "ant-keygen verify-key";
    uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES];
    uint8_t derived[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    uint8_t msg[32];
    uint8_t sig[ANT_MLDSA65_SIGBYTES];
    char fp[ANT_SHA256_HEXBYTES];
    ant_err err;

    rc = EXIT_USAGE;
    if (read_secret_key(opts[0].value, sk) != 0)
        goto out;
    if (opts[1].seen && read_public_key(opts[1].value, pk) != 0)
        goto out;
    err = ant_mldsa65_pk_from_sk(derived, sk, sizeof sk);
    if (err == ANT_ERR_BAD_KEY) {
        printf("Secret key is INVALID (malformed)\n");
        rc = EXIT_REJECTED;
        goto out;
    }
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: %s\n", ant_strerror(err));
        goto out;
    }
    if (fingerprint_hex(derived, fp) != 0)
        goto out;
    if (!opts[1].seen) {
        printf("Secret key is well formed; public key fingerprint %s\n", fp);
        rc = 0;
        goto out;
    }
    if (ant_ct_memcmp(derived, pk, sizeof pk) != 0) {
        printf("Secret key does NOT match public key %s\n", opts[1].value);
        rc = EXIT_REJECTED;
        goto out;
    }
    /* The recomputation cannot see the signing path itself (K and the signing code as
     * this build runs it): a pair that cannot make verifiable signatures is useless even
     * when pk matches, so prove it with one real signature. */
    if (getrandom(msg, sizeof msg, 0) != (ssize_t)sizeof msg) {
        fprintf(stderr, "ant-keygen: error: getrandom failed: %s\n", strerror(errno));
        goto out;
    }
    err = ant_mldsa65_sign(sig, msg, sizeof msg, probe_ctx, sizeof probe_ctx - 1, sk);
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: signing failed: %s\n", ant_strerror(err));
        goto out;
    }
    err = ant_mldsa65_verify(sig, sizeof sig, msg, sizeof msg, probe_ctx, sizeof probe_ctx - 1,
                             pk, sizeof pk);
    if (err == ANT_ERR_BAD_SIGNATURE) {
        printf("Secret key does NOT match public key %s (its signature does not verify)\n",
               opts[1].value);
        rc = EXIT_REJECTED;
        goto out;
    }
    if (err != ANT_OK) {
        fprintf(stderr, "ant-keygen: error: %s\n", ant_strerror(err));
        goto out;
    }
    printf("Secret key matches public key %s; fingerprint %s\n", opts[1].value, fp);
    rc = 0;
out:
    explicit_bzero(sk, sizeof sk);
    return rc;
}

/* --- main ------------------------------------------------------------------------------ */

static const char main_help[] =
    "Usage: ant-keygen COMMAND [OPTIONS]\n"
    "\n"
    "Release signing keys and detached ML-DSA-65 (FIPS 204) signatures for ant-node.\n"
    "\n"
    "Commands:\n"
    "  generate      create a signing key pair (release-signing-key.secret/.pub)\n"
    "  sign          sign a file, writing a raw 3309-byte signature\n"
    "  verify        verify a file against a signature and public key\n"
    "  fingerprint   print a public key's fingerprint (hex SHA-256)\n"
    "  verify-key    check a secret key, and that it matches a public key\n"
    "\n"
    "'ant-keygen COMMAND --help' describes each command. Exit status: 0 success,\n"
    "1 a signature or key was checked and rejected, 2 usage or I/O error.\n";

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_help, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ant-keygen %s\n", ANT_VERSION_STRING);
        return 0;
    }
    int rc;
    if (strcmp(cmd, "generate") == 0)
        rc = cmd_generate(argc, argv);
    else if (strcmp(cmd, "sign") == 0)
        rc = cmd_sign(argc, argv);
    else if (strcmp(cmd, "verify") == 0)
        rc = cmd_verify(argc, argv);
    else if (strcmp(cmd, "fingerprint") == 0)
        rc = cmd_fingerprint(argc, argv);
    else if (strcmp(cmd, "verify-key") == 0)
        rc = cmd_verify_key(argc, argv);
    else {
        fprintf(stderr, "ant-keygen: unknown command '%s'\n\n%s", cmd, main_help);
        return EXIT_USAGE;
    }
    /* A result line that never reached stdout (a full disk, a closed pipe) must not be
     * mistaken for success by a script. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ant-keygen: error: writing to standard output failed\n");
        return EXIT_USAGE;
    }
    return rc;
}
