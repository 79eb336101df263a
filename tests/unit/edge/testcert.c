/* SPDX-License-Identifier: Apache-2.0 */
/* testcert.c - test helpers of the edge unit tests: self-signed PEM certificates and keys */
#include "tests/unit/edge/testcert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
