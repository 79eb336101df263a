/* SPDX-License-Identifier: Apache-2.0 */
/* x509_csr.c - certificate signing requests and self-signed certificates */
#include "shared/x509_csr.h"
#include "shared/x509.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* ub-common-name of RFC 5280: a longer first name is left out of the CN. */
#define X509_CN_MAX 64
/* RFC 1035's limit on a domain name in text form. */
#define X509_DNS_NAME_MAX 253

/* A SAN dNSName is an IA5String: printable ASCII without spaces is all a DNS name (or a wildcard)
 * needs, and refusing the rest keeps control bytes out of certificates. Full syntax is
 * ctl_validate's. */
static int x509_check_dns_name(const char *name, size_t i, cp_err_t *err)
{
    size_t len = name != NULL ? strlen(name) : 0;
    if (len == 0 || len > X509_DNS_NAME_MAX)
        return cp_err_set(err, CP_EINVAL, "dns_names[%zu]: empty or longer than %d bytes", i,
                          X509_DNS_NAME_MAX);
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)name[k];
        if (c <= ' ' || c >= 0x7f)
            return cp_err_set(err, CP_EINVAL, "dns_names[%zu]: byte %zu is not printable ASCII", i,
                              k);
    }
    return 0;
}

/* Appends a GEN_DNS or GEN_IPADD entry holding a copy of data. */
static int x509_add_general_name(GENERAL_NAMES *gens, int type, const void *data, size_t len)
{
    int rc = -1;
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_STRING *s = type == GEN_DNS ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
    if (gen == NULL || s == NULL || ASN1_STRING_set(s, data, (int)len) != 1)
        goto out;
    GENERAL_NAME_set0_value(gen, type, s);
    s = NULL; /* owned by gen now */
    if (sk_GENERAL_NAME_push(gens, gen) <= 0)
        goto out;
    gen = NULL;
    rc = 0;
out:
    ASN1_STRING_free(s);
    GENERAL_NAME_free(gen);
    return rc;
}

/* Binary form of an IPv4 or IPv6 address in text: its length (4 or 16), or 0 when it is neither.
 * inet_pton takes no shorthand ("10.1") and no IPv6 zone ("fe80::1%eth0"). */
static size_t x509_parse_ip(const char *text, unsigned char addr[16])
{
    if (text == NULL)
        return 0;
    if (inet_pton(AF_INET, text, addr) == 1)
        return 4;
    if (inet_pton(AF_INET6, text, addr) == 1)
        return 16;
    return 0;
}

/* Builds the subjectAltName entries directly, DNS names first, so no name passes through OpenSSL's
 * configuration-string parser (where "DNS:a, IP:b" in a name would inject entries). */
static int x509_build_sans(const char *const *dns_names, size_t n_dns,
                           const char *const *ip_addresses, size_t n_ip, GENERAL_NAMES **out,
                           cp_err_t *err)
{
    if (n_dns + n_ip == 0 || (n_dns > 0 && dns_names == NULL) || (n_ip > 0 && ip_addresses == NULL))
        return cp_err_set(err, CP_EINVAL, "no DNS names or IP addresses");
    int rc = 0;
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    if (gens == NULL) {
        rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "subjectAltName");
        goto out;
    }
    for (size_t i = 0; i < n_dns && rc == 0; i++) {
        rc = x509_check_dns_name(dns_names[i], i, err);
        if (rc == 0 &&
            x509_add_general_name(gens, GEN_DNS, dns_names[i], strlen(dns_names[i])) != 0)
            rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "subjectAltName");
    }
    for (size_t i = 0; i < n_ip && rc == 0; i++) {
        unsigned char addr[16];
        size_t len = x509_parse_ip(ip_addresses[i], addr);
        if (len == 0)
            rc = cp_err_set(err, CP_EINVAL, "ip_addresses[%zu]: not an IPv4 or IPv6 address", i);
        else if (x509_add_general_name(gens, GEN_IPADD, addr, len) != 0)
            rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "subjectAltName");
    }
    if (rc == 0) {
        *out = gens;
        gens = NULL;
    }
out:
    GENERAL_NAMES_free(gens);
    return rc;
}

static int x509_set_cn(X509_NAME *name, const char *cn)
{
    return X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                      (const unsigned char *)cn, -1, -1, 0) == 1
               ? 0
               : -1;
}

static int x509_req_to_der(const X509_REQ *req, unsigned char **der, size_t *der_len, cp_err_t *err)
{
    int n = i2d_X509_REQ(req, NULL);
    if (n <= 0)
        return cp_x509__ossl_fail(err, CP_ECRYPTO, "CSR: DER encoding");
    unsigned char *buf = cp_x509__xcalloc((size_t)n, 1), *p = buf;
    if (i2d_X509_REQ(req, &p) != n) {
        free(buf);
        return cp_x509__ossl_fail(err, CP_ECRYPTO, "CSR: DER encoding");
    }
    *der = buf;
    *der_len = (size_t)n;
    return 0;
}

int cp_x509_csr_build(EVP_PKEY *key, const char *const *dns_names, size_t n_dns,
                      const char *const *ip_addresses, size_t n_ip, unsigned char **der,
                      size_t *der_len, cp_err_t *err)
{
    if (key == NULL || der == NULL || der_len == NULL)
        return cp_err_set(err, CP_EINVAL, "CSR: no key or output");
    X509_REQ *req = NULL;
    STACK_OF(X509_EXTENSION) *exts = NULL;
    GENERAL_NAMES *gens = NULL;
    int rc = x509_build_sans(dns_names, n_dns, ip_addresses, n_ip, &gens, err);
    if (rc != 0)
        goto out;
    int with_cn = n_dns > 0 && strlen(dns_names[0]) <= X509_CN_MAX;
    /* RFC 5280 4.2.1.6: with an empty subject the subjectAltName extension is critical. */
    req = X509_REQ_new();
    if (req == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
        (with_cn && x509_set_cn(X509_REQ_get_subject_name(req), dns_names[0]) != 0) ||
        X509_REQ_set_pubkey(req, key) != 1 ||
        X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, !with_cn, X509V3_ADD_DEFAULT) != 1 ||
        X509_REQ_add_extensions(req, exts) != 1 || X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
        rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "CSR: building and signing");
        goto out;
    }
    rc = x509_req_to_der(req, der, der_len, err);
out:
    ERR_clear_error();
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    GENERAL_NAMES_free(gens);
    X509_REQ_free(req);
    return rc;
}

/* A random positive serial of exactly 16 bytes (the top bit clear, the next one set). */
static int x509_set_random_serial(X509 *cert)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static int x509_check_self_signed_args(const char *const *dns_names, size_t n_dns, int days,
                                       cp_err_t *err)
{
    if (n_dns == 0 || dns_names == NULL || dns_names[0] == NULL)
        return cp_err_set(err, CP_EINVAL, "self-signed certificate: no DNS names");
    if (days < 1 || days > CP_X509_SELF_SIGNED_MAX_DAYS)
        return cp_err_set(err, CP_EINVAL, "self-signed certificate: days must be 1 to %d, not %d",
                          CP_X509_SELF_SIGNED_MAX_DAYS, days);
    /* The issuer of a self-signed certificate is its subject, which RFC 5280 requires non-empty. */
    if (strlen(dns_names[0]) > X509_CN_MAX)
        return cp_err_set(err, CP_EINVAL, "dns_names[0]: longer than %d bytes, cannot be the CN",
                          X509_CN_MAX);
    return 0;
}

int cp_x509_self_signed(EVP_PKEY *key, const char *const *dns_names, size_t n_dns, int days,
                        X509 **out, cp_err_t *err)
{
    if (key == NULL || out == NULL)
        return cp_err_set(err, CP_EINVAL, "self-signed certificate: no key or output");
    X509 *cert = NULL;
    GENERAL_NAMES *gens = NULL;
    int rc = x509_check_self_signed_args(dns_names, n_dns, days, err);
    if (rc == 0)
        rc = x509_build_sans(dns_names, n_dns, NULL, 0, &gens, err);
    if (rc != 0)
        goto out;
    time_t now = time(NULL);
    cert = X509_new();
    if (cert == NULL || X509_set_version(cert, X509_VERSION_3) != 1 ||
        x509_set_random_serial(cert) != 0 ||
        X509_time_adj_ex(X509_getm_notBefore(cert), 0, -3600, &now) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(cert), days, -3600, &now) == NULL ||
        x509_set_cn(X509_get_subject_name(cert), dns_names[0]) != 0 ||
        X509_set_issuer_name(cert, X509_get_subject_name(cert)) != 1 ||
        X509_set_pubkey(cert, key) != 1 ||
        X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1 ||
        X509_sign(cert, key, EVP_sha256()) <= 0) {
        rc = cp_x509__ossl_fail(err, CP_ECRYPTO, "self-signed certificate: building and signing");
        goto out;
    }
    *out = cert;
    cert = NULL;
out:
    ERR_clear_error();
    GENERAL_NAMES_free(gens);
    X509_free(cert);
    return rc;
}
