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

/** Generates a fresh private key of `type` into *out (caller frees with EVP_PKEY_free). RSA keys
 *  have the public exponent 65537; EC keys are on the named curve. Errors: CP_EINVAL (unknown
 *  type), CP_ECRYPTO. THREAD SAFETY: any thread. */
int cp_x509_key_generate(cp_key_type_t type, EVP_PKEY **out, cp_err_t *err);

/** The key type of `key`, or -1 when it is none of cp_key_type_t (CP_KEY_DEFAULT is never returned;
 *  a NULL key, another RSA size, another curve or another algorithm is -1). THREAD SAFETY: any
 *  thread. */
int cp_x509_key_type(const EVP_PKEY *key);

/** Writes `key` as unencrypted PKCS#8 PEM into *pem (NUL-terminated, malloc'd, caller frees; it is
 *  a secret: the caller should clear it with OPENSSL_cleanse before free when practical). Errors:
 *  CP_EINVAL (NULL argument), CP_ECRYPTO (e.g. a key without its private half). THREAD SAFETY: any
 *  thread. */
int cp_x509_key_to_pem(const EVP_PKEY *key, char **pem, cp_err_t *err);

/** Reads a private key (PKCS#8, PKCS#1 RSA or SEC1 EC PEM) from `pem` of `len` bytes into *out
 *  (caller frees with EVP_PKEY_free). The first private key block counts; text around it is
 *  ignored. An encrypted key is refused (never a passphrase prompt). PKCS#8 may hold another
 *  algorithm (Ed25519): check cp_x509_key_type() when only RSA and EC will do. Errors: CP_EINVAL
 *  (empty, malformed, encrypted, no private key) with a message that never quotes the input. THREAD
 *  SAFETY: any thread. */
int cp_x509_key_from_pem(const char *pem, size_t len, EVP_PKEY **out, cp_err_t *err);

/** Most certificates cp_x509_chain_parse accepts in one chain. */
#define CP_X509_CHAIN_MAX 16

/** A parsed chain: certs[0] is the leaf, the rest its chain in the order given (not verified). */
typedef struct cp_x509_chain {
    X509 **certs;
    size_t n;
} cp_x509_chain_t;

/** Facts about one certificate. Strings are malloc'd; release with cp_x509_info_dispose. */
typedef struct cp_x509_info {
    int64_t not_before; /* Unix seconds */
    int64_t not_after;  /* Unix seconds */
    char *serial;       /* lower-case hex, no leading zeros beyond one byte, no colons */
    char *issuer;       /* RFC 2253 distinguished name */
    char *subject;      /* RFC 2253 distinguished name */
    char *common_name;  /* subject CN, or NULL */
    char **dns_names;   /* SAN dNSName entries, in order */
    size_t n_dns_names;
    char **ip_addresses; /* SAN iPAddress entries, canonical text (inet_ntop) */
    size_t n_ip_addresses;
    unsigned char sha256[32]; /* SHA-256 of the DER certificate */
    int key_type;             /* as cp_x509_key_type() of its public key */
} cp_x509_info_t;

/** 0 when `key` is the private key of `cert`'s public key, CP_EINVAL ("private key does not match
 *  the certificate") otherwise, also for NULL arguments. Only the public halves are compared (a
 *  key from cp_x509_key_from_pem always has its private half). THREAD SAFETY: any thread. */
int cp_x509_key_matches(X509 *cert, EVP_PKEY *key, cp_err_t *err);

/** Longest validity cp_x509_self_signed accepts, in days. */
#define CP_X509_SELF_SIGNED_MAX_DAYS 36500

/* Internal to shared/x509*.c, which share them across the module's files; not part of the API. */

/** Sets err to code and "<formatted what>: <OpenSSL's last error>", then clears OpenSSL's error
 *  queue. Returns code. */
int cp_x509__ossl_fail(cp_err_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** calloc that aborts when out of memory; never NULL, also for n or size 0. */
void *cp_x509__xcalloc(size_t n, size_t size);
/** A malloc'd NUL-terminated copy of len bytes of s; aborts when out of memory. */
char *cp_x509__xstrndup(const char *s, size_t len);
/** A malloc'd NUL-terminated copy of a memory BIO's content; aborts when out of memory. */
char *cp_x509__bio_to_string(BIO *bio);

/* The parts (each declares the functions of its .c file); included last, so that they see the
 * types above and users of this header keep the whole API. */
#include "shared/x509_cert.h"
#include "shared/x509_csr.h"

#endif
