/* SPDX-License-Identifier: Apache-2.0 */
/* test_x509_info.c - self-signed certificates and the facts cp_x509_info_get reports about a
 * certificate */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <ctype.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "shared/mem.h"
#include "tests/unit/shared/x509_fixture.h"

static void test_self_signed_cert_info_reports_every_field(void **state)
{
    (void)state;
    const char *names[] = {"fallback.example", "alt.example"};
    X509 *cert = NULL;
    cp_err_t err = {0};
    time_t now = time(NULL);
    assert_int_equal(cp_x509_self_signed(g_ec, names, 2, 30, &cert, &err), 0);
    assert_int_equal(X509_verify(cert, g_ec), 1);
    assert_int_equal(X509_get_version(cert), X509_VERSION_3);
    cp_x509_info_t info = {0};
    assert_int_equal(cp_x509_info_get(cert, &info, &err), 0);
    assert_true(info.not_before >= now - 3600 - 2 && info.not_before <= now - 3600 + 2);
    assert_int_equal(info.not_after - info.not_before, 30 * 86400);
    /* 16 random bytes with the top bit clear: 32 lower-case hex digits, equal to the ASN.1 serial.
     */
    assert_int_equal(strlen(info.serial), 32);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = BN_bn2hex(bn);
    for (char *c = hex; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    assert_string_equal(info.serial, hex);
    OPENSSL_free(hex);
    BN_free(bn);
    assert_string_equal(info.subject, "CN=fallback.example");
    assert_string_equal(info.issuer, info.subject);
    assert_string_equal(info.common_name, "fallback.example");
    assert_int_equal(info.n_dns_names, 2);
    assert_string_equal(info.dns_names[0], "fallback.example");
    assert_string_equal(info.dns_names[1], "alt.example");
    assert_int_equal(info.n_ip_addresses, 0);
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    int der_len = i2d_X509(cert, &der);
    assert_true(der_len > 0);
    assert_int_equal(EVP_Digest(der, (size_t)der_len, md, &md_len, EVP_sha256(), NULL), 1);
    assert_int_equal(md_len, 32);
    assert_memory_equal(info.sha256, md, 32);
    assert_int_equal(info.key_type, CP_KEY_EC_P256);
    OPENSSL_free(der);
    cp_x509_info_dispose(&info);
    assert_null(info.serial);
    assert_null(info.dns_names);
    assert_int_equal(info.n_dns_names, 0);
    cp_x509_info_dispose(&info); /* a zeroed info is a no-op */
    X509_free(cert);
}

static void test_self_signed_rejects_validity_outside_1_to_max_days(void **state)
{
    (void)state;
    const char *ok[] = {"ok.example"};
    X509 *cert = NULL;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_self_signed(g_ec, ok, 1, 0, &cert, &err), CP_EINVAL);
    assert_int_equal(
        cp_x509_self_signed(g_ec, ok, 1, CP_X509_SELF_SIGNED_MAX_DAYS + 1, &cert, &err), CP_EINVAL);
    assert_null(cert);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_self_signed_rejects_no_names_bad_names_and_no_key(void **state)
{
    (void)state;
    char name65[66];
    memset(name65, 'a', sizeof name65);
    memcpy(name65 + 61, ".com", 5);
    const char *ok[] = {"ok.example"};
    const char *too_long[] = {name65};
    const char *bad[] = {"bad name"};
    X509 *cert = NULL;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_self_signed(g_ec, ok, 0, 1, &cert, &err), CP_EINVAL);
    assert_int_equal(cp_x509_self_signed(g_ec, too_long, 1, 1, &cert, &err), CP_EINVAL);
    assert_int_equal(cp_x509_self_signed(g_ec, bad, 1, 1, &cert, &err), CP_EINVAL);
    assert_int_equal(cp_x509_self_signed(NULL, ok, 1, 1, &cert, &err), CP_EINVAL);
    assert_null(cert);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_info_formats_ip_sans_and_skips_other_kinds(void **state)
{
    (void)state;
    X509 *cert = xt_make_cert(g_rsa, NULL, NULL, NULL, 0, 0x0a1b,
                              "DNS:x.example, IP:192.0.2.1, IP:2001:0db8:0:0:0:0:0:1, "
                              "email:a@b.example");
    cp_x509_info_t info = {0};
    cp_err_t err = {0};
    assert_int_equal(cp_x509_info_get(cert, &info, &err), 0);
    assert_string_equal(info.serial, "0a1b");
    assert_null(info.common_name);
    assert_string_equal(info.subject, "");
    assert_int_equal(info.n_dns_names, 1);
    assert_string_equal(info.dns_names[0], "x.example");
    assert_int_equal(info.n_ip_addresses, 2);
    assert_string_equal(info.ip_addresses[0], "192.0.2.1");
    assert_string_equal(info.ip_addresses[1], "2001:db8::1");
    assert_int_equal(info.key_type, CP_KEY_RSA_2048);
    cp_x509_info_dispose(&info);
    X509_free(cert);
}

/* A serial with the top bit set gets a 0x00 byte in DER, which is not part of the number. */
static void test_info_serial_leaves_out_the_der_sign_byte(void **state)
{
    (void)state;
    cp_x509_info_t info = {0};
    cp_err_t err = {0};
    X509 *cert = xt_make_cert(g_rsa, "ca.example", NULL, NULL, 1, 0x80, NULL);
    assert_int_equal(cp_x509_info_get(cert, &info, &err), 0);
    assert_string_equal(info.serial, "80");
    assert_string_equal(info.subject, "CN=ca.example");
    assert_int_equal(info.n_dns_names, 0);
    assert_int_equal(info.n_ip_addresses, 0);
    cp_x509_info_dispose(&info);
    X509_free(cert);
}

static void test_info_names_the_issuer_of_a_ca_signed_cert(void **state)
{
    (void)state;
    cp_x509_info_t info = {0};
    cp_err_t err = {0};
    assert_int_equal(cp_x509_info_get(g_leaf, &info, &err), 0);
    assert_string_equal(info.issuer, "CN=Test Intermediate");
    assert_string_equal(info.subject, "CN=leaf.example");
    assert_string_equal(info.serial, "03");
    assert_int_equal(info.key_type, CP_KEY_EC_P256);
    cp_x509_info_dispose(&info);
}

static void test_info_rejects_a_dns_name_with_a_nul_byte(void **state)
{
    (void)state;
    static const char evil[] = "good.example\0evil.example";
    X509 *cert = xt_make_cert(g_ec, "good.example", NULL, NULL, 0, 9, NULL);
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    assert_int_equal(ASN1_STRING_set(s, evil, sizeof evil - 1), 1);
    GENERAL_NAME_set0_value(gen, GEN_DNS, s);
    assert_true(sk_GENERAL_NAME_push(gens, gen) > 0);
    assert_int_equal(X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT), 1);
    GENERAL_NAMES_free(gens);
    cp_x509_info_t info;
    memset(&info, 0x5a, sizeof info);
    cp_err_t err = {0};
    assert_int_equal(cp_x509_info_get(cert, &info, &err), CP_EINVAL);
    xt_assert_contains(err.msg, "NUL");
    assert_null(info.serial); /* zeroed: nothing to free */
    assert_null(info.common_name);
    assert_null(info.dns_names);
    assert_int_equal(info.n_dns_names, 0);
    assert_int_equal(ERR_peek_error(), 0);
    cp_x509_info_dispose(&info);
    X509_free(cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_signed_cert_info_reports_every_field),
        cmocka_unit_test(test_self_signed_rejects_validity_outside_1_to_max_days),
        cmocka_unit_test(test_self_signed_rejects_no_names_bad_names_and_no_key),
        cmocka_unit_test(test_info_formats_ip_sans_and_skips_other_kinds),
        cmocka_unit_test(test_info_serial_leaves_out_the_der_sign_byte),
        cmocka_unit_test(test_info_names_the_issuer_of_a_ca_signed_cert),
        cmocka_unit_test(test_info_rejects_a_dns_name_with_a_nul_byte),
    };
    return cmocka_run_group_tests(tests, xt_group_setup, xt_group_teardown);
}
