/*
 * Test-only driver that exposes libant's ML-DSA-65 to the Node.js cross-check
 * (crosscheck.mjs) over a line protocol on stdin/stdout, so one process serves every case.
 * Each request is one line of space-separated words; byte strings are lower- or upper-case
 * hex, with "-" for the empty string. Each request gets exactly one reply line:
 * "ok ..." or "err <reason>".
 *
 *   keygen SEED                          -> ok PK SK       (KeyGen_internal from the seed)
 *   sign SK CTX MSG                      -> ok SIG         (hedged, fresh rnd)
 *   signdet SK CTX MSG                   -> ok SIG         (deterministic, rnd = 0^32)
 *   verify PK CTX MSG SIG                -> ok valid | ok invalid
 *   streamsign SK CTX MSG CHUNKSEED      -> ok SIG         (deterministic streaming signer)
 *   streamverify PK CTX MSG SIG CHUNKSEED -> ok valid | ok invalid
 *
 * The streaming commands feed MSG in pieces whose sizes (including empty pieces) come from
 * a small PRNG seeded with CHUNKSEED (decimal), so chunk boundaries vary per case.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ant/digest.h"
#include "ant/mldsa65.h"
#include "crypto/mldsa65_backend.h"

#define MAX_LINE (4u * 1024u * 1024u)
#define MAX_WORDS 8

struct bytes {
    uint8_t *p;
    size_t len;
};

/* Decodes a hex word ("-" is empty) into a fresh buffer; 0 on success. */
static int unhex(const char *word, struct bytes *out)
{
    out->p = NULL;
    out->len = 0;
    if (strcmp(word, "-") == 0)
        return 0;
    size_t digits = strlen(word);
    if (digits % 2 != 0)
        return -1;
    out->len = digits / 2;
    out->p = malloc(out->len);
    if (out->p == NULL || ant_hex_decode(out->p, out->len, word) != ANT_OK) {
        free(out->p);
        out->p = NULL;
        return -1;
    }
    return 0;
}

static void reply_hex(const char *prefix, const uint8_t *a, size_t alen, const uint8_t *b,
                      size_t blen)
{
    char *hex = malloc(2 * (alen > blen ? alen : blen) + 1);
    if (hex == NULL) {
        puts("err nomem");
        return;
    }
    fputs(prefix, stdout);
    ant_hex_encode(hex, a, alen);
    fputs(hex, stdout);
    if (b != NULL) {
        ant_hex_encode(hex, b, blen);
        putchar(' ');
        fputs(hex, stdout);
    }
    putchar('\n');
    free(hex);
}

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: only chunk sizes depend on it. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* The next piece length: often tiny or empty, sometimes large, never past the end. */
static size_t next_chunk(uint64_t *s, size_t left)
{
    uint64_t r = next_rand(s);
    size_t n;
    switch (r % 4) {
    case 0: n = 0; break;
    case 1: n = (size_t)(r >> 8) % 8; break;
    case 2: n = (size_t)(r >> 8) % 200; break;
    default: n = (size_t)(r >> 8) % 40000; break;
    }
    return n < left ? n : left;
}

static void handle(char **w, int nw)
{
    struct bytes a = {0}, b = {0}, c = {0}, d = {0};
    const char *cmd = w[0];
    ant_err err;

    if (strcmp(cmd, "keygen") == 0 && nw == 2) {
        uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES], sk[ANT_MLDSA65_SECRETKEYBYTES];
        if (unhex(w[1], &a) != 0 || a.len != ANT_MLDSA65_SEEDBYTES) {
            puts("err seed");
            goto out;
        }
        err = ant_mldsa65_keypair_from_seed(pk, sk, a.p);
        if (err != ANT_OK)
            printf("err %s\n", ant_strerror(err));
        else
            reply_hex("ok ", pk, sizeof pk, sk, sizeof sk);
    } else if ((strcmp(cmd, "sign") == 0 || strcmp(cmd, "signdet") == 0 ||
                strcmp(cmd, "streamsign") == 0) &&
               nw == (strcmp(cmd, "streamsign") == 0 ? 5 : 4)) {
        uint8_t sig[ANT_MLDSA65_SIGBYTES];
        if (unhex(w[1], &a) != 0 || a.len != ANT_MLDSA65_SECRETKEYBYTES ||
            unhex(w[2], &b) != 0 || unhex(w[3], &c) != 0) {
            puts("err args");
            goto out;
        }
        if (strcmp(cmd, "sign") == 0) {
            err = ant_mldsa65_sign(sig, c.p, c.len, b.p, b.len, a.p);
        } else if (strcmp(cmd, "signdet") == 0) {
            err = ant_mldsa65_sign_deterministic(sig, c.p, c.len, b.p, b.len, a.p);
        } else {
            uint64_t s = strtoull(w[4], NULL, 10) | 1;
            struct ant_mldsa65_signer *signer = NULL;
            err = ant_mldsa65_signer_new(&signer, a.p, b.p, b.len, 1);
            size_t off = 0;
            while (err == ANT_OK && off < c.len) {
                size_t n = next_chunk(&s, c.len - off);
                err = ant_mldsa65_signer_update(signer, c.p + off, n);
                off += n;
            }
            /* A final empty update must change nothing. */
            if (err == ANT_OK)
                err = ant_mldsa65_signer_update(signer, c.p, 0);
            if (err == ANT_OK)
                err = ant_mldsa65_signer_final(signer, sig);
            ant_mldsa65_signer_free(signer);
        }
        if (err != ANT_OK)
            printf("err %s\n", ant_strerror(err));
        else
            reply_hex("ok ", sig, sizeof sig, NULL, 0);
    } else if ((strcmp(cmd, "verify") == 0 && nw == 5) ||
               (strcmp(cmd, "streamverify") == 0 && nw == 6)) {
        if (unhex(w[1], &a) != 0 || unhex(w[2], &b) != 0 || unhex(w[3], &c) != 0 ||
            unhex(w[4], &d) != 0) {
            puts("err args");
            goto out;
        }
        if (nw == 5) {
            err = ant_mldsa65_verify(d.p, d.len, c.p, c.len, b.p, b.len, a.p, a.len);
        } else {
            uint64_t s = strtoull(w[5], NULL, 10) | 1;
            struct ant_mldsa65_verifier *v = NULL;
            err = ant_mldsa65_verifier_new(&v, a.p, a.len, b.p, b.len);
            size_t off = 0;
            while (err == ANT_OK && off < c.len) {
                size_t n = next_chunk(&s, c.len - off);
                err = ant_mldsa65_verifier_update(v, c.p + off, n);
                off += n;
            }
            if (err == ANT_OK)
                err = ant_mldsa65_verifier_final(v, d.p, d.len);
            ant_mldsa65_verifier_free(v);
        }
        if (err == ANT_OK)
            puts("ok valid");
        else if (err == ANT_ERR_BAD_SIGNATURE)
            puts("ok invalid");
        else
            printf("err %s\n", ant_strerror(err));
    } else {
        printf("err unknown request '%s' with %d words\n", cmd, nw);
    }
out:
    free(a.p);
    free(b.p);
    free(c.p);
    free(d.p);
}

int main(int argc, char **argv)
{
    /* --portable: run on the portable ML-DSA backend even where AVX2 is available, so the
     * cross-check covers both backends (test-only switch, see crypto/mldsa65_backend.h). */
    if (argc > 1 && strcmp(argv[1], "--portable") == 0)
        (void)mldsa_backend_force_for_testing(MLDSA_FORCE_PORTABLE);
    else if (argc > 1) {
        fprintf(stderr, "usage: mldsa_driver [--portable]\n");
        return 2;
    }
    fprintf(stderr, "mldsa_driver: ML-DSA-65 backend %s\n", mldsa_backend()->name);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) > 0) {
        if ((size_t)len > MAX_LINE) {
            puts("err line too long");
            fflush(stdout);
            continue;
        }
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        char *w[MAX_WORDS];
        int nw = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " ", &save); t != NULL && nw < MAX_WORDS;
             t = strtok_r(NULL, " ", &save))
            w[nw++] = t;
        if (nw == 0)
            puts("err empty");
        else
            handle(w, nw);
        fflush(stdout);
    }
    free(line);
    return 0;
}
