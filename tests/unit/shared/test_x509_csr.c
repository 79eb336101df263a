/* SPDX-License-Identifier: Apache-2.0 */
/* test_x509_csr.c - CSRs: every name in the SAN, the first DNS name as CN when it fits, refused
 * names and IPs named by index */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "shared/mem.h"
#include "tests/unit/shared/x509_fixture.h"

static X509_REQ *parse_csr(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    assert_non_null(req);
    assert_ptr_equal(p, der + len);
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    assert_non_null(pub);
    assert_int_equal(X509_REQ_verify(req, pub), 1);
    return req;
}

/* The CSR's one subjectAltName extension, decoded, and whether it is critical. */
static GENERAL_NAMES *csr_sans(X509_REQ *req, int *critical)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    assert_non_null(exts);
    int i = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
    assert_true(i >= 0);
    assert_int_equal(X509v3_get_ext_by_NID(exts, NID_subject_alt_name, i), -1);
    X509_EXTENSION *ext = X509v3_get_ext(exts, i);
    *critical = X509_EXTENSION_get_critical(ext);
    GENERAL_NAMES *gens = X509V3_EXT_d2i(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    assert_non_null(gens);
    return gens;
}

static void assert_dns_san(GENERAL_NAMES *gens, int i, const char *name)
{
    int type = 0;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &type);
    assert_int_equal(type, GEN_DNS);
    assert_int_equal(ASN1_STRING_length(s), strlen(name));
    assert_memory_equal(ASN1_STRING_get0_data(s), name, strlen(name));
}

static void assert_ip_san(GENERAL_NAMES *gens, int i, int af, const char *text)
{
    unsigned char addr[16];
    size_t len = af == AF_INET ? 4 : 16;
    assert_int_equal(inet_pton(af, text, addr), 1);
    int type = 0;
    const ASN1_STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &type);
    assert_int_equal(type, GEN_IPADD);
    assert_int_equal(ASN1_STRING_length(s), len);
    assert_memory_equal(ASN1_STRING_get0_data(s), addr, len);
}

static void test_csr_holds_every_name_and_the_first_dns_name_as_cn(void **state)
{
    (void)state;
    const char *dns[] = {"www.example.com", "example.com", "api.example.com", "*.example.org",
                         "mail.example.net"};
    const char *ips[] = {"192.0.2.10", "2001:db8::1"};
    unsigned char *der = NULL;
    size_t len = 0;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_csr_build(g_rsa, dns, 5, ips, 2, &der, &len, &err), 0);
    X509_REQ *req = parse_csr(der, len);
    assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), g_rsa), 1);
    assert_int_equal(X509_REQ_get_signature_nid(req), NID_sha256WithRSAEncryption);
    const X509_NAME *subject = X509_REQ_get_subject_name(req);
    assert_int_equal(X509_NAME_entry_count(subject), 1);
    char cn[256];
    assert_true(X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn) > 0);
    assert_string_equal(cn, "www.example.com");
    int critical = -1;
    GENERAL_NAMES *gens = csr_sans(req, &critical);
    assert_int_equal(critical, 0);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 7);
    for (int i = 0; i < 5; i++)
        assert_dns_san(gens, i, dns[i]);
    assert_ip_san(gens, 5, AF_INET, ips[0]);
    assert_ip_san(gens, 6, AF_INET6, ips[1]);
    GENERAL_NAMES_free(gens);
    X509_REQ_free(req);
    free(der);
}

static void test_csr_with_only_ips_has_no_cn_and_a_critical_san(void **state)
{
    (void)state;
    const char *ips[] = {"198.51.100.7", "::1"};
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(cp_x509_csr_build(g_ec, NULL, 0, ips, 2, &der, &len, NULL), 0);
    X509_REQ *req = parse_csr(der, len);
    assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), g_ec), 1);
    assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA256);
    assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
    int critical = -1;
    GENERAL_NAMES *gens = csr_sans(req, &critical);
    assert_int_equal(critical, 1);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
    assert_ip_san(gens, 0, AF_INET, ips[0]);
    assert_ip_san(gens, 1, AF_INET6, ips[1]);
    GENERAL_NAMES_free(gens);
    X509_REQ_free(req);
    free(der);
}

static void test_csr_leaves_a_first_name_over_64_bytes_out_of_the_cn(void **state)
{
    (void)state;
    char name65[66], name64[65];
    memset(name65, 'a', sizeof name65);
    memcpy(name65 + 61, ".com", 5); /* 61 + 4 = 65 bytes */
    memset(name64, 'b', sizeof name64);
    memcpy(name64 + 60, ".com", 5); /* 60 + 4 = 64 bytes */
    const char *long_first[] = {name65, "short.example"};
    const char *fits[] = {name64};
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(cp_x509_csr_build(g_ec, long_first, 2, NULL, 0, &der, &len, NULL), 0);
    X509_REQ *req = parse_csr(der, len);
    assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)), 0);
    int critical = -1;
    GENERAL_NAMES *gens = csr_sans(req, &critical);
    assert_int_equal(critical, 1);
    assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
    assert_dns_san(gens, 0, name65);
    assert_dns_san(gens, 1, "short.example");
    GENERAL_NAMES_free(gens);
    X509_REQ_free(req);
    free(der);

    assert_int_equal(cp_x509_csr_build(g_ec, fits, 1, NULL, 0, &der, &len, NULL), 0);
    req = parse_csr(der, len);
    char cn[256];
    assert_true(X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn,
                                          sizeof cn) > 0);
    assert_string_equal(cn, name64);
    X509_REQ_free(req);
    free(der);
}

static void test_csr_rejects_a_bad_ip_naming_its_index(void **state)
{
    (void)state;
    const char *dns[] = {"ok.example"};
    static const char *const bad_ips[] = {"999.1.1.1", "10.1",     "fe80::1%eth0", "example.com",
                                          "",          "1.2.3.4 ", "::g"};
    for (size_t i = 0; i < sizeof bad_ips / sizeof bad_ips[0]; i++) {
        const char *ips[] = {"192.0.2.1", bad_ips[i]};
        unsigned char *der = NULL;
        size_t len = 0;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_csr_build(g_ec, dns, 1, ips, 2, &der, &len, &err), CP_EINVAL);
        xt_assert_prefix(err.msg, "ip_addresses[1]: ");
        assert_null(der);
        assert_int_equal(ERR_peek_error(), 0);
    }
}

static void test_csr_rejects_a_bad_dns_name_naming_its_index(void **state)
{
    (void)state;
    static const char *const bad_names[] = {"", "two words.example", "evil.example\nDNS:x",
                                            "caf\xc3\xa9.example"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        const char *names[] = {"ok.example", bad_names[i]};
        unsigned char *der = NULL;
        size_t len = 0;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_csr_build(g_ec, names, 2, NULL, 0, &der, &len, &err), CP_EINVAL);
        xt_assert_prefix(err.msg, "dns_names[1]: ");
        assert_null(der);
    }
}

static void test_csr_needs_a_name_and_a_key(void **state)
{
    (void)state;
    const char *dns[] = {"ok.example"};
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(cp_x509_csr_build(g_ec, NULL, 0, NULL, 0, &der, &len, NULL), CP_EINVAL);
    assert_int_equal(cp_x509_csr_build(NULL, dns, 1, NULL, 0, &der, &len, NULL), CP_EINVAL);
    assert_null(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csr_holds_every_name_and_the_first_dns_name_as_cn),
        cmocka_unit_test(test_csr_with_only_ips_has_no_cn_and_a_critical_san),
        cmocka_unit_test(test_csr_leaves_a_first_name_over_64_bytes_out_of_the_cn),
        cmocka_unit_test(test_csr_rejects_a_bad_ip_naming_its_index),
        cmocka_unit_test(test_csr_rejects_a_bad_dns_name_naming_its_index),
        cmocka_unit_test(test_csr_needs_a_name_and_a_key),
    };
    return cmocka_run_group_tests(tests, xt_group_setup, xt_group_teardown);
}
