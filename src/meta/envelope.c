/*
 * DSSE envelopes of the metadata roles (ARCHITECTURE.md §9): parse, sign, serialise,
 * and count the valid signatures of one role's keys.
 *
 * A signature is ML-DSA-65 over DSSE's pre-authentication encoding
 *   PAE = "DSSEv1" SP len(payloadType) SP payloadType SP len(payload) SP payload
 * (lengths in ASCII decimal) with the context "ant-node-metadata-v1:<role>", so neither a
 * payload of another type nor a signature made for another role can be replayed. The PAE
 * is streamed through the verifier (OpenSSL SHAKE256 for the bulk), never copied: a 4 MiB
 * targets file costs one pass per signature and no second buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/meta_int.h"

ant_err ant_meta_keyid(char out[ANT_META_KEYID_HEX], const uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES])
{
    uint8_t h[ANT_SHA256_BYTES];
    ant_err err = ant_sha256(h, pk, ANT_MLDSA65_PUBLICKEYBYTES);
    if (err != ANT_OK) {
        out[0] = '\0';
        return err;
    }
    ant_hex_encode(out, h, sizeof h);
    return ANT_OK;
}

void ant_meta_envelope_free(struct ant_meta_envelope *env)
{
    if (env == NULL)
        return;
    for (size_t i = 0; i < env->nsigs; i++)
        free(env->sigs[i].sig);
    free(env->payload);
    free(env);
}

static size_t role_cap(enum ant_meta_role role)
{
    switch (role) {
    case ANT_META_ROLE_ROOT:
        return ANT_META_ROOT_MAX;
    case ANT_META_ROLE_TARGETS:
        return ANT_META_TARGETS_MAX;
    case ANT_META_ROLE_TIMESTAMP:
        return ANT_META_TIMESTAMP_MAX;
    }
    return 0;
}

/* A string member of at most `max` bytes without NUL; NULL if absent or another type. */
static const char *get_str(json_object *o, const char *key, size_t max, size_t *len)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *s = json_object_get_string(v);
    int n = json_object_get_string_len(v);
    if (s == NULL || n <= 0 || (size_t)n > max || strlen(s) != (size_t)n)
        return NULL;
    if (len != NULL)
        *len = (size_t)n;
    return s;
}

ant_err ant_meta_envelope_parse(enum ant_meta_role role, const uint8_t *data, size_t len,
                                struct ant_meta_envelope **out)
{
    json_object *root = NULL, *sigs = NULL;
    struct ant_meta_envelope *env = NULL;
    char want_type[64];
    const char *s;
    size_t slen = 0, cap = role_cap(role);
    ant_err err;

    if (out == NULL || data == NULL || cap == 0 || !meta_payload_type(role, want_type, sizeof want_type))
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    err = meta_json_parse(data, len, cap, &root);
    if (err != ANT_OK)
        return err;
    err = ANT_ERR_PARSE;
    if (!json_object_is_type(root, json_type_object))
        goto out;
    s = get_str(root, "payloadType", 128, NULL);
    if (s == NULL || strcmp(s, want_type) != 0)
        goto out;
    env = calloc(1, sizeof *env);
    if (env == NULL) {
        err = ANT_ERR_NOMEM;
        goto out;
    }
    env->role = role;
    s = get_str(root, "payload", cap, &slen);
    if (s == NULL)
        goto out;
    err = meta_b64_decode(s, slen, cap, &env->payload, &env->payload_len);
    if (err != ANT_OK)
        goto out;
    err = ANT_ERR_PARSE;
    if (!json_object_object_get_ex(root, "signatures", &sigs) ||
        !json_object_is_type(sigs, json_type_array))
        goto out;
    size_t n = json_object_array_length(sigs);
    if (n > ANT_META_MAX_SIGNATURES) {
        err = ANT_ERR_TOO_LARGE;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(sigs, i);
        const char *kid, *sig;
        size_t siglen = 0, rawlen = 0;
        struct meta_sig *ms = &env->sigs[env->nsigs];
        if (!json_object_is_type(e, json_type_object))
            goto out;
        kid = get_str(e, "keyid", 256, NULL);
        sig = get_str(e, "sig", 2 * ANT_MLDSA65_SIGBYTES, &siglen);
        if (kid == NULL || sig == NULL)
            goto out;
        env->nsigs++;
        /* A keyid or a signature of the wrong shape only makes that one signature count
         * for nothing: DSSE verifiers skip what they cannot use. */
        if (meta_is_hex64(kid))
            memcpy(ms->keyid, kid, ANT_META_KEYID_HEX);
        if (meta_b64_decode(sig, siglen, ANT_MLDSA65_SIGBYTES, &ms->sig, &rawlen) != ANT_OK ||
            rawlen != ANT_MLDSA65_SIGBYTES) {
            free(ms->sig);
            ms->sig = NULL;
        }
    }
    *out = env;
    env = NULL;
    err = ANT_OK;
out:
    ant_meta_envelope_free(env);
    json_object_put(root);
    return err;
}

ant_err ant_meta_envelope_new(enum ant_meta_role role, const uint8_t *payload, size_t len,
                              struct ant_meta_envelope **out)
{
    struct ant_meta_envelope *env;
    if (out == NULL || payload == NULL || len == 0 || role_cap(role) == 0)
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    if (len > role_cap(role))
        return ANT_ERR_TOO_LARGE;
    env = calloc(1, sizeof *env);
    if (env == NULL)
        return ANT_ERR_NOMEM;
    env->payload = malloc(len);
    if (env->payload == NULL) {
        free(env);
        return ANT_ERR_NOMEM;
    }
    memcpy(env->payload, payload, len);
    env->payload_len = len;
    env->role = role;
    *out = env;
    return ANT_OK;
}

const uint8_t *ant_meta_envelope_payload(const struct ant_meta_envelope *env, size_t *len)
{
    if (len != NULL)
        *len = env != NULL ? env->payload_len : 0;
    return env != NULL ? env->payload : NULL;
}

size_t ant_meta_envelope_signature_count(const struct ant_meta_envelope *env)
{
    return env != NULL ? env->nsigs : 0;
}

const char *ant_meta_envelope_signature_keyid(const struct ant_meta_envelope *env, size_t i)
{
    if (env == NULL || i >= env->nsigs)
        return NULL;
    return env->sigs[i].keyid;
}

/* The PAE header (everything before the payload) into `buf`; its length, 0 on overflow. */
static size_t pae_header(const struct ant_meta_envelope *env, char *buf, size_t cap)
{
    char type[64];
    if (!meta_payload_type(env->role, type, sizeof type))
        return 0;
    int n = snprintf(buf, cap, "DSSEv1 %zu %s %zu ", strlen(type), type, env->payload_len);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

ant_err ant_meta_envelope_sign(struct ant_meta_envelope *env,
                               const uint8_t sk[ANT_MLDSA65_SECRETKEYBYTES])
{
    uint8_t pk[ANT_MLDSA65_PUBLICKEYBYTES];
    char kid[ANT_META_KEYID_HEX], ctx[64], hdr[128];
    struct ant_mldsa65_signer *signer = NULL;
    uint8_t *sig = NULL;
    size_t hlen;
    ant_err err;

    if (env == NULL || sk == NULL)
        return ANT_ERR_INVALID_ARG;
    err = ant_mldsa65_pk_from_sk(pk, sk, ANT_MLDSA65_SECRETKEYBYTES);
    if (err != ANT_OK)
        return err;
    err = ant_meta_keyid(kid, pk);
    if (err != ANT_OK)
        return err;
    for (size_t i = 0; i < env->nsigs; i++)
        if (strcmp(env->sigs[i].keyid, kid) == 0)
            return ANT_ERR_EXISTS;
    if (env->nsigs >= ANT_META_MAX_SIGNATURES)
        return ANT_ERR_TOO_LARGE;
    hlen = pae_header(env, hdr, sizeof hdr);
    if (hlen == 0 || !meta_sig_context(env->role, ctx, sizeof ctx))
        return ANT_ERR_INTERNAL;
    sig = malloc(ANT_MLDSA65_SIGBYTES);
    if (sig == NULL)
        return ANT_ERR_NOMEM;
    err = ant_mldsa65_signer_new(&signer, sk, (const uint8_t *)ctx, strlen(ctx), 0);
    if (err == ANT_OK)
        err = ant_mldsa65_signer_update(signer, (const uint8_t *)hdr, hlen);
    if (err == ANT_OK)
        err = ant_mldsa65_signer_update(signer, env->payload, env->payload_len);
    if (err == ANT_OK)
        err = ant_mldsa65_signer_final(signer, sig);
    ant_mldsa65_signer_free(signer);
    if (err != ANT_OK) {
        free(sig);
        return err;
    }
    memcpy(env->sigs[env->nsigs].keyid, kid, sizeof kid);
    env->sigs[env->nsigs].sig = sig;
    env->nsigs++;
    return ANT_OK;
}

/* Adds `v` under `key`; false (and `v` released) on failure. */
static bool put(json_object *o, const char *key, json_object *v)
{
    if (v == NULL)
        return false;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

ant_err ant_meta_envelope_serialize(const struct ant_meta_envelope *env, uint8_t **out,
                                    size_t *len)
{
    json_object *root = NULL, *arr = NULL;
    char type[64], *b64 = NULL;
    const char *text;
    size_t tlen = 0;
    ant_err err = ANT_ERR_NOMEM;

    if (env == NULL || out == NULL || len == NULL || !meta_payload_type(env->role, type, sizeof type))
        return ANT_ERR_INVALID_ARG;
    *out = NULL;
    *len = 0;
    root = json_object_new_object();
    b64 = meta_b64_encode(env->payload, env->payload_len);
    if (root == NULL || b64 == NULL || !put(root, "payloadType", json_object_new_string(type)) ||
        !put(root, "payload", json_object_new_string(b64)))
        goto out;
    arr = json_object_new_array();
    if (!put(root, "signatures", arr))
        goto out;
    for (size_t i = 0; i < env->nsigs; i++) {
        json_object *e;
        char *sb;
        /* never re-publish a signature that could not count */
        if (env->sigs[i].sig == NULL || env->sigs[i].keyid[0] == '\0')
            continue;
        e = json_object_new_object();
        if (e == NULL || json_object_array_add(arr, e) != 0) {
            json_object_put(e);
            goto out;
        }
        sb = meta_b64_encode(env->sigs[i].sig, ANT_MLDSA65_SIGBYTES);
        if (sb == NULL || !put(e, "keyid", json_object_new_string(env->sigs[i].keyid)) ||
            !put(e, "sig", json_object_new_string(sb))) {
            free(sb);
            goto out;
        }
        free(sb);
    }
    text = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE, &tlen);
    if (text == NULL)
        goto out;
    *out = malloc(tlen + 2);
    if (*out == NULL)
        goto out;
    memcpy(*out, text, tlen);
    (*out)[tlen] = '\n';
    (*out)[tlen + 1] = '\0';
    *len = tlen + 1;
    err = ANT_OK;
out:
    free(b64);
    json_object_put(root);
    return err;
}

ant_err ant_meta_envelope_verify(const struct ant_meta_envelope *env,
                                 const struct ant_meta_root *root, enum ant_meta_role role,
                                 unsigned *valid)
{
    const struct meta_role_def *rd;
    bool counted[ANT_META_MAX_KEYS] = {false};
    char ctx[64], hdr[128];
    size_t hlen;
    unsigned n = 0;

    if (valid != NULL)
        *valid = 0;
    if (env == NULL || root == NULL || role < ANT_META_ROLE_ROOT || role > ANT_META_ROLE_TIMESTAMP)
        return ANT_ERR_INVALID_ARG;
    /* The envelope's own role decides its payloadType and context; a timestamp envelope
     * is never accepted as targets, whatever keys signed it. */
    if (env->role != role)
        return ANT_ERR_BAD_SIGNATURE;
    rd = &root->roles[role - 1];
    hlen = pae_header(env, hdr, sizeof hdr);
    if (hlen == 0 || !meta_sig_context(role, ctx, sizeof ctx))
        return ANT_ERR_INTERNAL;
    /* The node passes no counter and stops at the threshold; a counter asks for all. */
    for (size_t i = 0; i < env->nsigs && (valid != NULL || n < rd->threshold); i++) {
        const struct meta_sig *s = &env->sigs[i];
        struct ant_mldsa65_verifier *v = NULL;
        size_t k;
        ant_err err;
        if (s->sig == NULL || s->keyid[0] == '\0')
            continue;
        for (k = 0; k < rd->nkeys; k++)
            if (strcmp(root->keys[rd->keyidx[k]].keyid, s->keyid) == 0)
                break;
        /* Safety: a keyid of another role, or one already counted, adds nothing. */
        if (k == rd->nkeys || counted[k])
            continue;
        err = ant_mldsa65_verifier_new(&v, root->keys[rd->keyidx[k]].pk,
                                       ANT_MLDSA65_PUBLICKEYBYTES, (const uint8_t *)ctx,
                                       strlen(ctx));
        if (err == ANT_OK)
            err = ant_mldsa65_verifier_update(v, (const uint8_t *)hdr, hlen);
        if (err == ANT_OK)
            err = ant_mldsa65_verifier_update(v, env->payload, env->payload_len);
        if (err == ANT_OK)
            err = ant_mldsa65_verifier_final(v, s->sig, ANT_MLDSA65_SIGBYTES);
        ant_mldsa65_verifier_free(v);
        if (err == ANT_OK) {
            counted[k] = true;
            n++;
        } else if (err != ANT_ERR_BAD_SIGNATURE) {
            return err;
        }
    }
    if (valid != NULL)
        *valid = n;
    return n >= rd->threshold && rd->threshold > 0 ? ANT_OK : ANT_ERR_BAD_SIGNATURE;
}
