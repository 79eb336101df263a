/* SPDX-License-Identifier: Apache-2.0 */
/* x509_fixture.h - what the test_x509_*.c tests share: keys and a small CA made once per executable
 * (root (RSA) signs intermediate (EC) signs leaf), built with OpenSSL directly, never with the code
 * under test, and a few string assertions.
 *
 * THREAD SAFETY: the globals are written by xt_group_setup/teardown only; one thread.
 */
#ifndef TESTS_UNIT_SHARED_X509_FIXTURE_H
#define TESTS_UNIT_SHARED_X509_FIXTURE_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "shared/x509.h"

extern EVP_PKEY *g_rsa; /* CP_KEY_DEFAULT */
extern EVP_PKEY *g_ec;
extern EVP_PKEY *g_ec2;
extern X509 *g_root;  /* "Test Root", serial 1, self-signed with g_rsa */
extern X509 *g_inter; /* "Test Intermediate", serial 2, key g_ec2, signed by g_root */
extern X509 *g_leaf;  /* "leaf.example", serial 3, key g_ec, signed by g_inter */

/** cmocka group setup/teardown: make and free the keys and certificates above. */
int xt_group_setup(void **state);
int xt_group_teardown(void **state);

/** A certificate for `key`, signed by issuer_key (NULL: self-signed). cn and san may be NULL. */
X509 *xt_make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca,
                   long serial, const char *san);

/** The contents of a memory BIO as a NUL-terminated string; free with free(). */
char *xt_bio_string(BIO *bio);

/** cert as PEM, written by OpenSSL; free with free(). */
char *xt_cert_pem(X509 *cert);

/** Concatenates NULL-terminated arguments; free with free(). */
char *xt_concat(const char *first, ...);

/** Fail the test unless s starts with prefix / contains part. */
void xt_assert_prefix(const char *s, const char *prefix);
void xt_assert_contains(const char *s, const char *part);

#endif
