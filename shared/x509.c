/* SPDX-License-Identifier: Apache-2.0 */
/* x509.c - private keys: generation, type, PEM, matching a certificate; helpers of x509_*.c */
#include "shared/x509.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "shared/mem.h"

/* The key types certplane makes, with the OpenSSL names they are generated from and recognised by.
 */
static const struct x509_key_spec {
    cp_key_type_t type;
    int rsa_bits;      /* RSA modulus size, or 0 for an EC key */
    const char *curve; /* EC group name for EVP_PKEY_Q_keygen, or NULL for RSA */
    int curve_nid;
} x509_key_specs[] = {
    {CP_KEY_RSA_2048, 2048, NULL, NID_undef},    {CP_KEY_RSA_3072, 3072, NULL, NID_undef},
    {CP_KEY_RSA_4096, 4096, NULL, NID_undef},    {CP_KEY_EC_P256, 0, "P-256", NID_X9_62_prime256v1},
    {CP_KEY_EC_P384, 0, "P-384", NID_secp384r1},
};

#define X509_N_KEY_SPECS (sizeof x509_key_specs / sizeof x509_key_specs[0])

int cp_x509__ossl_fail(cp_err_t *err, int code, const char *fmt, ...)
{
    char what[CP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* The last error is the most specific one. ERR_error_string_n prints the library and the reason
     * only, never the data an error carries, so no input (possibly key material) reaches the
     * message. */
    unsigned long e = ERR_peek_last_error();
    char reason[256] = "";
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    if (reason[0] == '\0')
        return cp_err_set(err, code, "%s", what);
    return cp_err_set(err, code, "%s: %s", what, reason);
}

void *cp_x509__xcalloc(size_t n, size_t size)
{
    return cp_xcalloc(n, size); /* never NULL, also for zero sizes */
}

char *cp_x509__xstrndup(const char *s, size_t len)
{
    char *copy = cp_x509__xcalloc(len + 1, 1);
    memcpy(copy, s, len);
    return copy;
}

char *cp_x509__bio_to_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    return cp_x509__xstrndup(n > 0 ? data : "", n > 0 ? (size_t)n : 0);
}

int cp_x509_key_generate(cp_key_type_t type, EVP_PKEY **out, cp_err_t *err)
{
    if (out == NULL)
        return cp_err_set(err, CP_EINVAL, "key generation: no output");
    if (type == CP_KEY_DEFAULT)
        type = CP_KEY_RSA_2048;
    const struct x509_key_spec *spec = NULL;
    for (size_t i = 0; i < X509_N_KEY_SPECS; i++)
        if (x509_key_specs[i].type == type)
            spec = &x509_key_specs[i];
    if (spec == NULL)
        return cp_err_set(err, CP_EINVAL, "key generation: unknown key type %d", (int)type);
    EVP_PKEY *key;
    if (spec->curve == NULL)
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)spec->rsa_bits);
    else
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", spec->curve);
    if (key == NULL)
        return cp_x509__ossl_fail(err, CP_ECRYPTO, "key generation");
    *out = key;
    return 0;
}

/* NID of an EC key's group, or NID_undef. OpenSSL 3 reports the group by its short name
 * ("prime256v1"); a NIST name ("P-256") is accepted too. */
static int x509_ec_curve_nid(const EVP_PKEY *key)
{
    char group[80];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1) {
        ERR_clear_error();
        return NID_undef;
    }
    int nid = OBJ_sn2nid(group);
    return nid != NID_undef ? nid : EC_curve_nist2nid(group);
}

int cp_x509_key_type(const EVP_PKEY *key)
{
    if (key == NULL)
        return -1;
    int is_rsa = EVP_PKEY_is_a(key, "RSA");
    if (!is_rsa && !EVP_PKEY_is_a(key, "EC"))
        return -1;
    int bits = is_rsa ? EVP_PKEY_get_bits(key) : 0;
    int nid = is_rsa ? NID_undef : x509_ec_curve_nid(key);
    for (size_t i = 0; i < X509_N_KEY_SPECS; i++) {
        const struct x509_key_spec *spec = &x509_key_specs[i];
        if (is_rsa ? spec->rsa_bits == bits : spec->curve_nid == nid)
            return spec->type;
    }
    return -1;
}

int cp_x509_key_to_pem(const EVP_PKEY *key, char **pem, cp_err_t *err)
{
    if (key == NULL || pem == NULL)
        return cp_err_set(err, CP_EINVAL, "private key: no key or output");
    int rc = 0;
    /* A secure-memory BIO clears its buffer when freed, so no copy of the key lingers in the heap.
     */
    BIO *bio = BIO_new(BIO_s_secmem());
    if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "private key: writing PEM");
        goto out;
    }
    *pem = cp_x509__bio_to_string(bio);
out:
    BIO_free(bio);
    return rc;
}

/* Refuses every passphrase request, so an encrypted key fails instead of prompting on a terminal.
 */
static int x509_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

int cp_x509_key_from_pem(const char *pem, size_t len, EVP_PKEY **out, cp_err_t *err)
{
    if (pem == NULL || out == NULL || len == 0)
        return cp_err_set(err, CP_EINVAL, "private key: empty input");
    if (len > INT_MAX)
        return cp_err_set(err, CP_EINVAL, "private key: input of %zu bytes is too large", len);
    int rc = 0;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = NULL;
    if (bio != NULL)
        key = PEM_read_bio_PrivateKey(bio, NULL, x509_no_passphrase, NULL);
    if (key == NULL) {
        rc = cp_x509__ossl_fail(err, CP_EINVAL,
                                "private key: not an unencrypted PKCS#8, PKCS#1 or SEC1 PEM key");
        goto out;
    }
    /* Decoders tried and rejected on the way may have left entries behind. */
    ERR_clear_error();
    *out = key;
out:
    BIO_free(bio);
    return rc;
}

int cp_x509_key_matches(X509 *cert, EVP_PKEY *key, cp_err_t *err)
{
    EVP_PKEY *pub = cert != NULL ? X509_get0_pubkey(cert) : NULL;
    /* EVP_PKEY_eq is 1 for equal keys, 0 for different ones, negative for different types. */
    int eq = pub != NULL && key != NULL ? EVP_PKEY_eq(pub, key) : 0;
    ERR_clear_error();
    if (eq != 1)
        return cp_err_set(err, CP_EINVAL, "private key does not match the certificate");
    return 0;
}
