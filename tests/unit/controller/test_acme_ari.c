/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_ari.c - RFC 9773 certificate IDs: the RFC's own example, short serials, no AKI */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "controller/acme/acme.h"

/* A self-signed certificate with `serial` and, when kid != NULL, an AKI with that keyIdentifier;
 * PEM, malloc'd. */
static char *make_pem(uint64_t serial, const unsigned char *kid, size_t kid_len)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    assert_non_null(key);
    X509_set_version(x, 2);
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"ari.test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    if (kid != NULL) {
        AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
        akid->keyid = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(akid->keyid, kid, (int)kid_len);
        assert_int_equal(X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0), 1);
        AUTHORITY_KEYID_free(akid);
    }
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    char *pem = calloc(1, (size_t)len + 1);
    memcpy(pem, data, (size_t)len);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(key);
    return pem;
}

/* RFC 9773, section 4.1: keyid 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4 and
 * serial 00:87:65:43:21 give "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" (the serial's leading zero byte
 * is part of its DER encoding and of the ID). */
static void test_rfc9773_example(void **state)
{
    (void)state;
    static const unsigned char kid[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
                                        0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
    char *pem = make_pem(0x87654321ULL, kid, sizeof(kid));
    char *id = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_acme_ari_cert_id(pem, &id, &err), 0);
    assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
    free(id);
    free(pem);
}

static void test_short_serial_has_no_padding(void **state)
{
    (void)state;
    static const unsigned char kid[] = {0x01, 0x02, 0x03};
    char *pem = make_pem(0x0102ULL, kid, sizeof(kid));
    char *id = NULL;
    assert_int_equal(ctl_acme_ari_cert_id(pem, &id, NULL), 0);
    assert_string_equal(id, "AQID.AQI");
    free(id);
    free(pem);
}

static void test_without_aki_or_certificate_is_einval(void **state)
{
    (void)state;
    char *pem = make_pem(7, NULL, 0);
    char *id = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_acme_ari_cert_id(pem, &id, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "authority key identifier"));
    assert_null(id);
    assert_int_equal(ctl_acme_ari_cert_id("not a certificate", &id, NULL), CP_EINVAL);
    assert_int_equal(ctl_acme_ari_cert_id(NULL, &id, NULL), CP_EINVAL);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9773_example),
        cmocka_unit_test(test_short_serial_has_no_padding),
        cmocka_unit_test(test_without_aki_or_certificate_is_einval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
