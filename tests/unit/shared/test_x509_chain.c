/* SPDX-License-Identifier: Apache-2.0 */
/* test_x509_chain.c - PEM chains: parsing in order around text, the 16-certificate limit, refused
 * blocks named by position, writing PEM */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "shared/mem.h"
#include "tests/unit/shared/x509_fixture.h"

static void test_chain_parse_reads_leaf_intermediate_root_in_order_around_text(void **state)
{
    (void)state;
    assert_int_equal(X509_check_issued(g_root, g_inter), X509_V_OK);
    assert_int_equal(X509_check_issued(g_inter, g_leaf), X509_V_OK);
    char *leaf = xt_cert_pem(g_leaf), *inter = xt_cert_pem(g_inter), *root = xt_cert_pem(g_root);
    char *pem = xt_concat("Bag Attributes\n  friendlyName: leaf\n", leaf,
                          "\nsubject=CN = Test Intermediate\r\nissuer=CN = Test Root\r\n", inter,
                          "# the root\n", root, "trailing text without a newline", NULL);
    cp_x509_chain_t *chain = NULL;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_chain_parse(pem, strlen(pem), &chain, &err), 0);
    assert_int_equal(chain->n, 3);
    assert_int_equal(X509_cmp(chain->certs[0], g_leaf), 0);
    assert_int_equal(X509_cmp(chain->certs[1], g_inter), 0);
    assert_int_equal(X509_cmp(chain->certs[2], g_root), 0);
    assert_int_equal(ERR_peek_error(), 0);
    cp_x509_chain_free(chain);
    cp_x509_chain_free(NULL);
    free(pem);
    free(leaf);
    free(inter);
    free(root);
}

/* Asserts that parsing `pem` fails with CP_EINVAL and a message starting with `prefix`. */
static void assert_chain_rejected(const char *pem, size_t len, const char *prefix)
{
    cp_x509_chain_t *chain = NULL;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_chain_parse(pem, len, &chain, &err), CP_EINVAL);
    assert_int_equal(err.code, CP_EINVAL);
    assert_null(chain);
    xt_assert_prefix(err.msg, prefix);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_chain_parse_rejects_input_without_certificates(void **state)
{
    (void)state;
    assert_chain_rejected("", 0, "certificate chain: no certificate found");
    const char *text = "no PEM here\n-----BEGIN nothing\n";
    assert_chain_rejected(text, strlen(text), "certificate chain: no certificate found");
}

static void test_chain_parse_rejects_a_lone_private_key_without_quoting_it(void **state)
{
    (void)state;
    char *key = NULL;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_key_to_pem(g_ec, &key, &err), 0);
    assert_chain_rejected(key, strlen(key), "certificate 1: a private key block");
    cp_x509_chain_t *chain = NULL;
    assert_int_equal(cp_x509_chain_parse(key, strlen(key), &chain, &err), CP_EINVAL);
    char base64[17];
    memcpy(base64, strchr(key, '\n') + 1, 16); /* the start of the key's base64 */
    base64[16] = '\0';
    assert_null(strstr(err.msg, base64));
    free(key);
}

static void test_chain_parse_rejects_truncated_base64(void **state)
{
    (void)state;
    char *leaf = xt_cert_pem(g_leaf);
    /* Cut in the middle: no END line. */
    assert_chain_rejected(leaf, strlen(leaf) / 2, "certificate 1: ");
    /* One full base64 line (48 bytes) removed: the PEM is well formed, the DER too short. */
    char *line2 = strchr(leaf, '\n') + 1;
    char *line3 = strchr(line2, '\n') + 1;
    memmove(line2, line3, strlen(line3) + 1);
    assert_chain_rejected(leaf, strlen(leaf), "certificate 1: ");
    free(leaf);
}

/* A PEM block written by hand around the leaf's DER plus `extra` bytes, with PEM headers `header`.
 */
static char *leaf_block(const char *header, size_t extra)
{
    unsigned char *der = NULL;
    int len = i2d_X509(g_leaf, &der);
    assert_true(len > 0);
    unsigned char *data = cp_xcalloc((size_t)len + extra, 1);
    assert_non_null(data);
    memcpy(data, der, (size_t)len);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio(bio, "CERTIFICATE", header, data, len + (long)extra) > 0);
    char *pem = xt_bio_string(bio);
    BIO_free(bio);
    free(data);
    OPENSSL_free(der);
    return pem;
}

static void test_chain_parse_rejects_trailing_der_bytes(void **state)
{
    (void)state;
    char *plain = leaf_block("", 0);
    cp_x509_chain_t *chain = NULL;
    assert_int_equal(cp_x509_chain_parse(plain, strlen(plain), &chain, NULL), 0); /* the control */
    cp_x509_chain_free(chain);
    char *trailing = leaf_block("", 3);
    assert_chain_rejected(trailing, strlen(trailing), "certificate 1: trailing data");
    free(trailing);
    free(plain);
}

static void test_chain_parse_rejects_pem_headers(void **state)
{
    (void)state;
    char *headers = leaf_block("Comment: not for certificates\n", 0);
    xt_assert_contains(headers, "Comment: ");
    assert_chain_rejected(headers, strlen(headers), "certificate 1: PEM headers");
    free(headers);
}

static void test_chain_parse_accepts_16_certificates_and_rejects_17(void **state)
{
    (void)state;
    char *leaf = xt_cert_pem(g_leaf);
    size_t one = strlen(leaf);
    char *pem = cp_xcalloc(17 * one + 1, 1);
    assert_non_null(pem);
    for (int i = 0; i < 17; i++)
        memcpy(pem + (size_t)i * one, leaf, one);
    cp_x509_chain_t *chain = NULL;
    assert_int_equal(cp_x509_chain_parse(pem, 16 * one, &chain, NULL), 0);
    assert_int_equal(chain->n, CP_X509_CHAIN_MAX);
    cp_x509_chain_free(chain);
    assert_chain_rejected(pem, 17 * one, "certificate chain: more than 16 certificates");
    free(pem);
    free(leaf);
}

static void test_chain_parse_names_the_broken_second_block(void **state)
{
    (void)state;
    char *leaf = xt_cert_pem(g_leaf), *inter = xt_cert_pem(g_inter), *key = NULL;
    /* Corrupt the intermediate's first base64 line with characters outside base64. */
    char *line = strchr(inter, '\n') + 1;
    memset(line, '!', 10);
    char *pem = xt_concat(leaf, inter, NULL);
    assert_chain_rejected(pem, strlen(pem), "certificate 2: ");
    free(pem);
    /* A valid block of another kind in second place is named the same way. */
    assert_int_equal(cp_x509_key_to_pem(g_ec, &key, NULL), 0);
    pem = xt_concat(leaf, key, NULL);
    assert_chain_rejected(pem, strlen(pem), "certificate 2: a private key block");
    free(pem);
    free(key);
    free(inter);
    free(leaf);
}

static void test_cert_to_pem_round_trips_through_chain_parse(void **state)
{
    (void)state;
    X509 *certs[] = {g_leaf, g_root};
    for (size_t i = 0; i < 2; i++) {
        char *pem = NULL;
        cp_x509_chain_t *chain = NULL;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_cert_to_pem(certs[i], &pem, &err), 0);
        xt_assert_prefix(pem, "-----BEGIN CERTIFICATE-----\n");
        assert_string_equal(pem + strlen(pem) - 26, "-----END CERTIFICATE-----\n");
        assert_int_equal(cp_x509_chain_parse(pem, strlen(pem), &chain, &err), 0);
        assert_int_equal(chain->n, 1);
        assert_int_equal(X509_cmp(chain->certs[0], certs[i]), 0);
        cp_x509_chain_free(chain);
        free(pem);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_parse_reads_leaf_intermediate_root_in_order_around_text),
        cmocka_unit_test(test_chain_parse_rejects_input_without_certificates),
        cmocka_unit_test(test_chain_parse_rejects_a_lone_private_key_without_quoting_it),
        cmocka_unit_test(test_chain_parse_rejects_truncated_base64),
        cmocka_unit_test(test_chain_parse_rejects_trailing_der_bytes),
        cmocka_unit_test(test_chain_parse_rejects_pem_headers),
        cmocka_unit_test(test_chain_parse_accepts_16_certificates_and_rejects_17),
        cmocka_unit_test(test_chain_parse_names_the_broken_second_block),
        cmocka_unit_test(test_cert_to_pem_round_trips_through_chain_parse),
    };
    return cmocka_run_group_tests(tests, xt_group_setup, xt_group_teardown);
}
