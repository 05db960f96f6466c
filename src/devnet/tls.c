/*
 * The devnet's TLS material, made with libcrypto: a throw-away CA and one server certificate
 * for 127.0.0.1 and localhost (with --netns also the bridge address) that nginx presents.
 * The nodes trust the CA through --ca-file, so the devnet exercises the same HTTPS-only
 * client path (certificate and host name verification on) as production; nothing is switched off for it. EC P-256 keeps generation
 * instant; 30 days is far longer than any devnet lives and short enough not to matter if a
 * key leaks from a scratch directory.
 */
#include "devnet/devnet_int.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "ant/log.h"

#define VALID_DAYS 30

static EVP_PKEY *make_key(void)
{
    return EVP_EC_gen("P-256");
}

static bool add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return false;
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* A v3 certificate for `key` named `cn`, signed by issuer_key (self-signed when issuer is
 * NULL), with the given extensions (pairs of nid and value, ending with 0). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       const int *nids, const char *const *values)
{
    X509 *cert = X509_new();
    BIGNUM *serial = BN_new();
    bool ok = false;
    if (cert == NULL || serial == NULL)
        goto out;
    /* Random 64-bit serial: two devnets' certificates never collide in a browser's store. */
    if (BN_rand(serial, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL)
        goto out;
    if (X509_set_version(cert, X509_VERSION_3) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), (long)VALID_DAYS * 86400) == NULL ||
        X509_set_pubkey(cert, key) != 1)
        goto out;
    X509_NAME *name = X509_get_subject_name(cert);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"ant devnet",
                                   -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        goto out;
    X509 *iss = issuer != NULL ? issuer : cert;
    if (X509_set_issuer_name(cert, X509_get_subject_name(iss)) != 1)
        goto out;
    for (size_t i = 0; nids[i] != 0; i++) {
        if (!add_ext(cert, iss, nids[i], values[i]))
            goto out;
    }
    if (X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <= 0)
        goto out;
    ok = true;
out:
    BN_free(serial);
    if (!ok) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

static ant_err write_pem(const char *dir, const char *name, X509 *cert, EVP_PKEY *key)
{
    char path[PATH_MAX];
    ant_err e = dn_path(path, sizeof path, "%s/%s", dir, name);
    if (e != ANT_OK)
        return e;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return ANT_ERR_NOMEM;
    int ok = cert != NULL ? PEM_write_bio_X509(bio, cert)
                          : PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (ok != 1 || len <= 0)
        e = ANT_ERR_CRYPTO;
    else
        e = dn_write_file(path, data, (size_t)len, cert != NULL ? 0644 : 0600);
    /* The memory BIO held a private key: clear it before it goes back to the heap. */
    if (len > 0 && data != NULL)
        OPENSSL_cleanse(data, (size_t)len);
    BIO_free(bio);
    return e;
}

ant_err dn_tls_create(const char *tls_dir)
{
    return dn_tls_create_ip(tls_dir, NULL);
}

ant_err dn_tls_create_ip(const char *tls_dir, const char *extra_ip)
{
    ant_err e = ANT_ERR_CRYPTO;
    EVP_PKEY *ca_key = NULL, *srv_key = NULL;
    X509 *ca = NULL, *srv = NULL;

    static const int ca_nids[] = {NID_basic_constraints, NID_key_usage,
                                  NID_subject_key_identifier, 0};
    static const char *const ca_vals[] = {"critical,CA:TRUE,pathlen:0",
                                          "critical,keyCertSign,cRLSign", "hash"};
    static const int srv_nids[] = {NID_basic_constraints,         NID_key_usage,
                                   NID_ext_key_usage,             NID_subject_alt_name,
                                   NID_authority_key_identifier, NID_subject_key_identifier,
                                   0};
    char san[96] = "IP:127.0.0.1,DNS:localhost";
    /* With --netns the nodes reach the server on the bridge address: it must be in the SAN
     * for the nodes' host name verification to accept the certificate. */
    if (extra_ip != NULL && dn_path(san, sizeof san, "IP:127.0.0.1,IP:%s,DNS:localhost",
                                    extra_ip) != ANT_OK)
        return ANT_ERR_INVALID_ARG;
    const char *const srv_vals[] = {"critical,CA:FALSE",
                                    "critical,digitalSignature",
                                    "serverAuth",
                                    san,
                                    "keyid:always",
                                    "hash"};

    ca_key = make_key();
    srv_key = make_key();
    if (ca_key == NULL || srv_key == NULL)
        goto out;
    ca = make_cert(ca_key, "ant devnet CA", NULL, NULL, ca_nids, ca_vals);
    if (ca == NULL)
        goto out;
    srv = make_cert(srv_key, "127.0.0.1", ca, ca_key, srv_nids, srv_vals);
    if (srv == NULL)
        goto out;
    e = write_pem(tls_dir, "ca.key", NULL, ca_key);
    if (e == ANT_OK)
        e = write_pem(tls_dir, "ca.pem", ca, NULL);
    if (e == ANT_OK)
        e = write_pem(tls_dir, "server.key", NULL, srv_key);
    if (e == ANT_OK)
        e = write_pem(tls_dir, "server.pem", srv, NULL);
out:
    if (e == ANT_ERR_CRYPTO)
        ant_log(ANT_LOG_ERROR, "devnet", "TLS certificate generation failed dir=%s", tls_dir);
    X509_free(srv);
    X509_free(ca);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(ca_key);
    return e;
}
