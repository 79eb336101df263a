/* SPDX-License-Identifier: Apache-2.0 */
/* testcert.h - test helpers of the edge unit tests: self-signed PEM certificates and keys */
#ifndef EDGE_TESTCERT_H
#define EDGE_TESTCERT_H

#include <stddef.h>

#include "edge/cert.h"

/** A self-signed certificate for `names` (first = CN) with a fresh EC P-256 key, or with `key_pem`
 *  reused when not NULL (faster for large tables). *chain and *key are malloc'd PEM; *key is a copy
 *  of key_pem when given. Aborts the test on failure. */
void edge_test_pem(const char *const *names, size_t n, const char *key_pem, char **chain,
                   char **key);

/** edge_test_pem then edge_cert_new under `cert_name`; aborts on failure. */
edge_cert_t *edge_test_cert(const char *cert_name, const char *const *names, size_t n,
                            const char *key_pem);

/** A self-signed certificate (fresh EC P-256 key, empty subject: no CN) whose subjectAltName is
 *  `san` in OpenSSL's config syntax ("IP:127.0.0.1,IP:::1,DNS:a.test"), made into a cert named
 *  `cert_name`; aborts on failure. */
edge_cert_t *edge_test_cert_san(const char *cert_name, const char *san);

#endif
