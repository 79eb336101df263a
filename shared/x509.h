/* SPDX-License-Identifier: Apache-2.0 */
/* x509.h - keys, certificates, chains and CSRs on OpenSSL 3 */
#ifndef CP_X509_H
#define CP_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "shared/err.h"

/* Key types. The numbers are those of certplane.v1.KeyType, so a proto value converts by a cast;
 * CP_KEY_DEFAULT (0) means RSA 2048, the seed's default. */
typedef enum cp_key_type {
    CP_KEY_DEFAULT = 0,
    CP_KEY_RSA_2048 = 1,
    CP_KEY_RSA_3072 = 2,
    CP_KEY_RSA_4096 = 3,
    CP_KEY_EC_P256 = 4,
    CP_KEY_EC_P384 = 5,
} cp_key_type_t;

/** Generates a fresh private key of `type` into *out (caller frees with EVP_PKEY_free).
 *  Errors: CP_EINVAL (unknown type), CP_ECRYPTO. THREAD SAFETY: any thread. */
int cp_x509_key_generate(cp_key_type_t type, EVP_PKEY **out, cp_err_t *err);

/** The key type of `key`, or -1 when it is none of cp_key_type_t (CP_KEY_DEFAULT is never returned).
 *  THREAD SAFETY: any thread. */
int cp_x509_key_type(const EVP_PKEY *key);

/** Writes `key` as unencrypted PKCS#8 PEM into *pem (NUL-terminated, malloc'd, caller frees; it is a secret:
 *  the caller should clear it with OPENSSL_cleanse before free when practical). Errors: CP_ECRYPTO. */
int cp_x509_key_to_pem(const EVP_PKEY *key, char **pem, cp_err_t *err);

/** Reads a private key (PKCS#8, PKCS#1 RSA or SEC1 EC PEM) from `pem` of `len` bytes. Errors: CP_EINVAL
 *  with a message that never quotes the key material. THREAD SAFETY: any thread. */
int cp_x509_key_from_pem(const char *pem, size_t len, EVP_PKEY **out, cp_err_t *err);

/** A parsed chain: certs[0] is the leaf, the rest its chain in the order given. */
typedef struct cp_x509_chain {
    X509 **certs;
    size_t n;
} cp_x509_chain_t;

/** Parses every CERTIFICATE block of `pem` (len bytes) into *out (caller frees with cp_x509_chain_free).
 *  Text between blocks is ignored; any other PEM block, a malformed block, or no certificate at all is
 *  CP_EINVAL ("certificate 2: ..."). At most 16 certificates. THREAD SAFETY: any thread. */
int cp_x509_chain_parse(const char *pem, size_t len, cp_x509_chain_t **out, cp_err_t *err);

/** Frees a chain; NULL is a no-op. */
void cp_x509_chain_free(cp_x509_chain_t *chain);

/** Facts about one certificate. Strings are malloc'd; release with cp_x509_info_dispose. */
typedef struct cp_x509_info {
    int64_t not_before;  /* Unix seconds */
    int64_t not_after;   /* Unix seconds */
    char *serial;        /* lower-case hex, no leading zeros beyond one byte, no colons */
    char *issuer;        /* RFC 2253 distinguished name */
    char *subject;       /* RFC 2253 distinguished name */
    char *common_name;   /* subject CN, or NULL */
    char **dns_names;    /* SAN dNSName entries, in order */
    size_t n_dns_names;
    char **ip_addresses; /* SAN iPAddress entries, canonical text (inet_ntop) */
    size_t n_ip_addresses;
    unsigned char sha256[32]; /* SHA-256 of the DER certificate */
    int key_type;             /* as cp_x509_key_type() of its public key */
} cp_x509_info_t;

/** Fills *info from `cert`. Errors: CP_ECRYPTO, CP_EINVAL (unreadable validity dates).
 *  On failure *info holds nothing to free. THREAD SAFETY: any thread. */
int cp_x509_info_get(X509 *cert, cp_x509_info_t *info, cp_err_t *err);

/** Frees the strings of *info and zeroes it. */
void cp_x509_info_dispose(cp_x509_info_t *info);

/** 0 when `key` is the private key of `cert`'s public key, CP_EINVAL ("private key does not match the
 *  certificate") otherwise. THREAD SAFETY: any thread. */
int cp_x509_key_matches(X509 *cert, EVP_PKEY *key, cp_err_t *err);

/** Builds a DER CSR signed by `key` (SHA-256) with every DNS name and IP address in a subjectAltName
 *  extension and the first DNS name as CN when it fits in 64 bytes (never an IP address in the CN).
 *  *der is malloc'd (caller frees). Errors: CP_EINVAL (no names, an unparsable IP), CP_ECRYPTO. */
int cp_x509_csr_build(EVP_PKEY *key, const char *const *dns_names, size_t n_dns,
                      const char *const *ip_addresses, size_t n_ip, unsigned char **der, size_t *der_len,
                      cp_err_t *err);

/** Makes a self-signed certificate for `key` with the given DNS names (CN = the first, SANs = all),
 *  valid from one hour ago for `days` days, serial random. Caller frees with X509_free.
 *  Used for the edge's fallback certificate and in tests. THREAD SAFETY: any thread. */
int cp_x509_self_signed(EVP_PKEY *key, const char *const *dns_names, size_t n_dns, int days, X509 **out,
                        cp_err_t *err);

/** PEM text of one certificate, malloc'd NUL-terminated (caller frees). Errors: CP_ECRYPTO. */
int cp_x509_cert_to_pem(X509 *cert, char **pem, cp_err_t *err);

#endif
