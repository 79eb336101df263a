/* SPDX-License-Identifier: Apache-2.0 */
/* x509_cert.c - certificates: PEM chains, the facts of one certificate, PEM output */
#include "shared/x509_cert.h"
#include "shared/x509.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* Reads the next PEM block of `bio`, block number `index` (from 1), into *cert. Returns 0 with
 * *cert set, 1 when no block is left, or a negative CP_E* code. */
static int x509_chain_read_block(BIO *bio, size_t index, X509 **cert, cp_err_t *err)
{
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    int rc = 0;
    if (PEM_read_bio(bio, &name, &header, &data, &len) != 1) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
            ERR_clear_error(); /* the normal end of the input */
            return 1;
        }
        return cp_x509__ossl_fail(err, CP_EINVAL, "certificate %zu: malformed PEM block", index);
    }
    /* The block's label is not quoted back: it is input, and a key block says enough by its kind.
     */
    if (strcmp(name, PEM_STRING_X509) != 0) {
        rc = cp_err_set(err, CP_EINVAL, "certificate %zu: %s", index,
                        strstr(name, "PRIVATE KEY") != NULL
                            ? "a private key block is not a certificate"
                            : "not a CERTIFICATE block");
        goto out;
    }
    if (header[0] != '\0') {
        rc = cp_err_set(err, CP_EINVAL, "certificate %zu: PEM headers are not allowed", index);
        goto out;
    }
    const unsigned char *p = data;
    *cert = d2i_X509(NULL, &p, len);
    if (*cert == NULL) {
        rc = cp_x509__ossl_fail(err, CP_EINVAL, "certificate %zu: not a DER certificate", index);
        goto out;
    }
    if (p != data + len) {
        X509_free(*cert);
        *cert = NULL;
        rc = cp_err_set(err, CP_EINVAL, "certificate %zu: trailing data after the certificate",
                        index);
    }
out:
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    return rc;
}

int cp_x509_chain_parse(const char *pem, size_t len, cp_x509_chain_t **out, cp_err_t *err)
{
    if (pem == NULL || out == NULL)
        return cp_err_set(err, CP_EINVAL, "certificate chain: no input");
    if (len > INT_MAX)
        return cp_err_set(err, CP_EINVAL, "certificate chain: input of %zu bytes is too large",
                          len);
    cp_x509_chain_t *chain = cp_x509__xcalloc(1, sizeof *chain);
    chain->certs = cp_x509__xcalloc(CP_X509_CHAIN_MAX, sizeof chain->certs[0]);
    BIO *bio = BIO_new_mem_buf(len > 0 ? pem : "", (int)len);
    int rc = bio != NULL ? 0 : cp_x509__ossl_fail(err, CP_ECRYPTO, "certificate chain");
    while (rc == 0) {
        X509 *cert = NULL;
        rc = x509_chain_read_block(bio, chain->n + 1, &cert, err);
        if (rc == 1) {
            rc = 0;
            break;
        }
        if (rc == 0 && chain->n == CP_X509_CHAIN_MAX) {
            X509_free(cert);
            rc = cp_err_set(err, CP_EINVAL, "certificate chain: more than %d certificates",
                            CP_X509_CHAIN_MAX);
        }
        if (rc == 0)
            chain->certs[chain->n++] = cert;
    }
    if (rc == 0 && chain->n == 0)
        rc = cp_err_set(err, CP_EINVAL, "certificate chain: no certificate found");
    if (rc == 0) {
        *out = chain;
        chain = NULL;
    }
    ERR_clear_error();
    BIO_free(bio);
    cp_x509_chain_free(chain);
    return rc;
}

void cp_x509_chain_free(cp_x509_chain_t *chain)
{
    if (chain == NULL)
        return;
    for (size_t i = 0; i < chain->n; i++)
        X509_free(chain->certs[i]);
    free(chain->certs);
    free(chain);
}

static int x509_time_to_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    /* ASN1_TIME_to_tm reads the current time for NULL, which would hide a missing date. */
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* The serial number as lower-case hex: BN_bn2hex writes whole bytes without a leading zero byte. */
static char *x509_serial_hex(const X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    char *s = hex != NULL ? cp_x509__xstrndup(hex, strlen(hex)) : NULL;
    for (char *c = s; c != NULL && *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    OPENSSL_free(hex);
    BN_free(bn);
    return s;
}

static char *x509_name_text(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0)
        s = cp_x509__bio_to_string(bio);
    BIO_free(bio);
    return s;
}

/* Copies the first CN of `name` into *out (left NULL when there is none). */
static int x509_common_name(const X509_NAME *name, char **out, cp_err_t *err)
{
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (i < 0)
        return 0;
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (n < 0)
        return cp_x509__ossl_fail(err, CP_EINVAL, "certificate: unreadable subject CN");
    /* A NUL inside a name would make the C string say something else than the certificate. */
    int rc = 0;
    if (memchr(utf8, '\0', (size_t)n) != NULL)
        rc = cp_err_set(err, CP_EINVAL, "certificate: subject CN contains a NUL byte");
    else
        *out = cp_x509__xstrndup((const char *)utf8, (size_t)n);
    OPENSSL_free(utf8);
    return rc;
}

/* Appends one SAN entry to info's arrays, which have room for every entry. Other kinds are skipped.
 */
static int x509_info_add_san(cp_x509_info_t *info, const GENERAL_NAME *gen, cp_err_t *err)
{
    int type = 0;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(gen, &type);
    if (type != GEN_DNS && type != GEN_IPADD)
        return 0;
    const unsigned char *data = ASN1_STRING_get0_data(s);
    size_t len = (size_t)ASN1_STRING_length(s);
    if (type == GEN_DNS) {
        if (memchr(data, '\0', len) != NULL)
            return cp_err_set(err, CP_EINVAL, "certificate: a SAN dNSName contains a NUL byte");
        info->dns_names[info->n_dns_names++] = cp_x509__xstrndup((const char *)data, len);
        return 0;
    }
    char text[INET6_ADDRSTRLEN];
    int af = len == 4 ? AF_INET : len == 16 ? AF_INET6 : AF_UNSPEC;
    if (af == AF_UNSPEC || inet_ntop(af, data, text, sizeof text) == NULL)
        return cp_err_set(err, CP_EINVAL, "certificate: a SAN iPAddress has %zu bytes", len);
    info->ip_addresses[info->n_ip_addresses++] = cp_x509__xstrndup(text, strlen(text));
    return 0;
}

static int x509_info_sans(X509 *cert, cp_x509_info_t *info, cp_err_t *err)
{
    int crit = 0;
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (gens == NULL && crit == -1)
        return 0; /* no SAN extension */
    if (gens == NULL)
        return cp_x509__ossl_fail(err, CP_EINVAL,
                                  "certificate: unreadable or repeated SAN extension");
    int n = sk_GENERAL_NAME_num(gens);
    info->dns_names = cp_x509__xcalloc((size_t)n, sizeof info->dns_names[0]);
    info->ip_addresses = cp_x509__xcalloc((size_t)n, sizeof info->ip_addresses[0]);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = x509_info_add_san(info, sk_GENERAL_NAME_value(gens, i), err);
    GENERAL_NAMES_free(gens);
    return rc;
}

int cp_x509_info_get(X509 *cert, cp_x509_info_t *info, cp_err_t *err)
{
    if (cert == NULL || info == NULL)
        return cp_err_set(err, CP_EINVAL, "certificate: no certificate or output");
    cp_x509_info_t tmp = {0};
    int rc = 0;
    unsigned int md_len = 0;
    if (x509_time_to_unix(X509_get0_notBefore(cert), &tmp.not_before) != 0 ||
        x509_time_to_unix(X509_get0_notAfter(cert), &tmp.not_after) != 0) {
        rc = cp_x509__ossl_fail(err, CP_EINVAL, "certificate: unreadable validity dates");
        goto out;
    }
    tmp.serial = x509_serial_hex(cert);
    tmp.issuer = x509_name_text(X509_get_issuer_name(cert));
    tmp.subject = x509_name_text(X509_get_subject_name(cert));
    if (tmp.serial == NULL || tmp.issuer == NULL || tmp.subject == NULL) {
        rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "certificate: reading the serial and names");
        goto out;
    }
    rc = x509_common_name(X509_get_subject_name(cert), &tmp.common_name, err);
    if (rc == 0)
        rc = x509_info_sans(cert, &tmp, err);
    if (rc != 0)
        goto out;
    if (X509_digest(cert, EVP_sha256(), tmp.sha256, &md_len) != 1 || md_len != sizeof tmp.sha256) {
        rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "certificate: SHA-256 digest");
        goto out;
    }
    tmp.key_type = cp_x509_key_type(X509_get0_pubkey(cert));
    *info = tmp;
    memset(&tmp, 0, sizeof tmp);
out:
    if (rc != 0)
        memset(info, 0, sizeof *info);
    /* X509_get0_pubkey fails, leaving an error behind, for a key algorithm OpenSSL does not know.
     */
    ERR_clear_error();
    cp_x509_info_dispose(&tmp);
    return rc;
}

void cp_x509_info_dispose(cp_x509_info_t *info)
{
    if (info == NULL)
        return;
    free(info->serial);
    free(info->issuer);
    free(info->subject);
    free(info->common_name);
    for (size_t i = 0; i < info->n_dns_names; i++)
        free(info->dns_names[i]);
    free(info->dns_names);
    for (size_t i = 0; i < info->n_ip_addresses; i++)
        free(info->ip_addresses[i]);
    free(info->ip_addresses);
    memset(info, 0, sizeof *info);
}

int cp_x509_cert_to_pem(X509 *cert, char **pem, cp_err_t *err)
{
    if (cert == NULL || pem == NULL)
        return cp_err_set(err, CP_EINVAL, "certificate: no certificate or output");
    int rc = 0;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_X509(bio, cert) != 1) {
        rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "certificate: writing PEM");
        goto out;
    }
    *pem = cp_x509__bio_to_string(bio);
out:
    BIO_free(bio);
    return rc;
}
