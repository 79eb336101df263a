/* SPDX-License-Identifier: Apache-2.0 */
/* testcert.c - test helpers of the edge unit tests: self-signed PEM certificates and keys */
#include "tests/unit/edge/testcert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "shared/mem.h"
#include "shared/x509.h"

static void die(const char *what, const cp_err_t *err)
{
    fprintf(stderr, "testcert: %s: %s\n", what, err->msg);
    abort();
}

void edge_test_pem(const char *const *names, size_t n, const char *key_pem, char **chain,
                   char **key)
{
    cp_err_t err = {0};
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    if (key_pem != NULL) {
        if (cp_x509_key_from_pem(key_pem, strlen(key_pem), &pkey, &err) != 0)
            die("key_from_pem", &err);
    } else if (cp_x509_key_generate(CP_KEY_EC_P256, &pkey, &err) != 0) {
        die("key_generate", &err);
    }
    if (cp_x509_self_signed(pkey, names, n, 30, &cert, &err) != 0)
        die("self_signed", &err);
    if (cp_x509_cert_to_pem(cert, chain, &err) != 0 || cp_x509_key_to_pem(pkey, key, &err) != 0)
        die("to_pem", &err);
    X509_free(cert);
    EVP_PKEY_free(pkey);
}

edge_cert_t *edge_test_cert(const char *cert_name, const char *const *names, size_t n,
                            const char *key_pem)
{
    char *chain, *key;
    edge_cert_t *c = NULL;
    cp_err_t err = {0};
    edge_test_pem(names, n, key_pem, &chain, &key);
    if (edge_cert_new(cert_name, chain, strlen(chain), key, strlen(key), 1, &c, &err) != 0)
        die("edge_cert_new", &err);
    free(chain);
    free(key);
    return c;
}

/* A self-signed certificate with the subjectAltName `san` and no subject. */
static X509 *self_signed_san(EVP_PKEY *pkey, const char *san)
{
    X509 *x = X509_new();
    unsigned char serial[16];
    X509V3_CTX v3;
    if (x == NULL || RAND_bytes(serial, sizeof serial) != 1)
        abort();
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    X509_EXTENSION *ext = NULL;
    int ok = bn != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) != NULL &&
             X509_set_issuer_name(x, X509_get_subject_name(x)) == 1 &&
             X509_set_pubkey(x, pkey) == 1;
    if (ok) {
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        ok = ext != NULL && X509_add_ext(x, ext, -1) == 1 && X509_sign(x, pkey, EVP_sha256()) > 0;
    }
    X509_EXTENSION_free(ext);
    BN_free(bn);
    if (!ok) {
        fprintf(stderr, "testcert: self-signed certificate for %s failed\n", san);
        abort();
    }
    return x;
}

edge_cert_t *edge_test_cert_san(const char *cert_name, const char *san)
{
    cp_err_t err = {0};
    EVP_PKEY *pkey = NULL;
    char *chain, *key;
    edge_cert_t *c = NULL;
    if (cp_x509_key_generate(CP_KEY_EC_P256, &pkey, &err) != 0)
        die("key_generate", &err);
    X509 *cert = self_signed_san(pkey, san);
    if (cp_x509_cert_to_pem(cert, &chain, &err) != 0 || cp_x509_key_to_pem(pkey, &key, &err) != 0)
        die("to_pem", &err);
    if (edge_cert_new(cert_name, chain, strlen(chain), key, strlen(key), 1, &c, &err) != 0)
        die("edge_cert_new", &err);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    free(chain);
    cp_secure_free_str(key);
    return c;
}
