/* SPDX-License-Identifier: Apache-2.0 */
/* x509_fixture.c - the keys, the small test CA and the string assertions of the test_x509_*.c tests
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "shared/mem.h"
#include "tests/unit/shared/x509_fixture.h"

EVP_PKEY *g_rsa;
EVP_PKEY *g_ec;
EVP_PKEY *g_ec2;
X509 *g_root;
X509 *g_inter;
X509 *g_leaf;

static void add_conf_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

X509 *xt_make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca,
                   long serial, const char *san)
{
    X509 *cert = X509_new();
    assert_non_null(cert);
    assert_int_equal(X509_set_version(cert, X509_VERSION_3), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), 0));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 86400));
    if (cn != NULL)
        assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                                    (const unsigned char *)cn, -1, -1, 0),
                         1);
    X509 *signer = issuer != NULL ? issuer : cert;
    assert_int_equal(X509_set_issuer_name(cert, X509_get_subject_name(signer)), 1);
    assert_int_equal(X509_set_pubkey(cert, key), 1);
    add_conf_ext(cert, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (san != NULL)
        add_conf_ext(cert, signer, NID_subject_alt_name, san);
    assert_true(X509_sign(cert, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
    return cert;
}

char *xt_bio_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0);
    char *s = cp_xcalloc((size_t)n + 1, 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    return s;
}

char *xt_cert_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
    char *s = xt_bio_string(bio);
    BIO_free(bio);
    return s;
}

char *xt_concat(const char *first, ...)
{
    size_t len = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        len += strlen(s);
    va_end(ap);
    char *out = cp_xcalloc(len + 1, 1);
    assert_non_null(out);
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        strcat(out, s);
    va_end(ap);
    return out;
}

void xt_assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

void xt_assert_contains(const char *s, const char *part)
{
    if (strstr(s, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

int xt_group_setup(void **state)
{
    (void)state;
    if (cp_x509_key_generate(CP_KEY_DEFAULT, &g_rsa, NULL) != 0 ||
        cp_x509_key_generate(CP_KEY_EC_P256, &g_ec, NULL) != 0 ||
        cp_x509_key_generate(CP_KEY_EC_P256, &g_ec2, NULL) != 0)
        return -1;
    g_root = xt_make_cert(g_rsa, "Test Root", NULL, NULL, 1, 1, NULL);
    g_inter = xt_make_cert(g_ec2, "Test Intermediate", g_root, g_rsa, 1, 2, NULL);
    g_leaf = xt_make_cert(g_ec, "leaf.example", g_inter, g_ec2, 0, 3, "DNS:leaf.example");
    return 0;
}

int xt_group_teardown(void **state)
{
    (void)state;
    X509_free(g_leaf);
    X509_free(g_inter);
    X509_free(g_root);
    EVP_PKEY_free(g_ec2);
    EVP_PKEY_free(g_ec);
    EVP_PKEY_free(g_rsa);
    return 0;
}
