/* SPDX-License-Identifier: Apache-2.0 */
/* test_x509_keys.c - private keys: generation of every type, PEM in and out, refusing what is not a
 * usable key, matching a certificate */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "shared/mem.h"
#include "tests/unit/shared/x509_fixture.h"

static void test_key_generate_makes_every_type_with_its_size_and_curve(void **state)
{
    (void)state;
    static const struct {
        cp_key_type_t type;
        const char *alg;
        int bits;
        const char *group;
    } cases[] = {
        {CP_KEY_RSA_2048, "RSA", 2048, NULL},     {CP_KEY_RSA_3072, "RSA", 3072, NULL},
        {CP_KEY_RSA_4096, "RSA", 4096, NULL},     {CP_KEY_EC_P256, "EC", 256, "prime256v1"},
        {CP_KEY_EC_P384, "EC", 384, "secp384r1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EVP_PKEY *key = NULL;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_key_generate(cases[i].type, &key, &err), 0);
        assert_true(EVP_PKEY_is_a(key, cases[i].alg));
        assert_int_equal(EVP_PKEY_get_bits(key), cases[i].bits);
        if (cases[i].group != NULL) {
            char group[64];
            assert_int_equal(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                            sizeof group, NULL),
                             1);
            assert_string_equal(group, cases[i].group);
        }
        assert_int_equal(cp_x509_key_type(key), cases[i].type);
        EVP_PKEY_free(key);
    }
}

static void test_key_generate_default_is_rsa_2048(void **state)
{
    (void)state;
    assert_true(EVP_PKEY_is_a(g_rsa, "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(g_rsa), 2048);
    assert_int_equal(cp_x509_key_type(g_rsa), CP_KEY_RSA_2048);
}

static void test_key_generate_rejects_an_unknown_type(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_key_generate((cp_key_type_t)6, &key, &err), CP_EINVAL);
    assert_int_equal(err.code, CP_EINVAL);
    assert_null(key);
    assert_int_equal(cp_x509_key_generate((cp_key_type_t)-1, &key, NULL), CP_EINVAL);
    assert_null(key);
}

static void test_key_type_is_minus_one_for_keys_certplane_does_not_make(void **state)
{
    (void)state;
    EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    EVP_PKEY *ed25519 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(rsa1024);
    assert_non_null(p521);
    assert_non_null(ed25519);
    assert_int_equal(cp_x509_key_type(rsa1024), -1);
    assert_int_equal(cp_x509_key_type(p521), -1);
    assert_int_equal(cp_x509_key_type(ed25519), -1);
    assert_int_equal(cp_x509_key_type(NULL), -1);
    assert_int_equal(ERR_peek_error(), 0);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(p521);
    EVP_PKEY_free(ed25519);
}

static void test_key_pem_round_trip_writes_pkcs8_and_reads_it_back(void **state)
{
    (void)state;
    EVP_PKEY *keys[] = {g_rsa, g_ec};
    for (size_t i = 0; i < 2; i++) {
        char *pem = NULL, *again = NULL;
        EVP_PKEY *back = NULL;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_key_to_pem(keys[i], &pem, &err), 0);
        xt_assert_prefix(pem, "-----BEGIN PRIVATE KEY-----\n");
        xt_assert_contains(pem, "-----END PRIVATE KEY-----\n");
        assert_int_equal(cp_x509_key_from_pem(pem, strlen(pem), &back, &err), 0);
        assert_int_equal(EVP_PKEY_eq(back, keys[i]), 1);
        assert_int_equal(cp_x509_key_type(back), cp_x509_key_type(keys[i]));
        /* The private half survived too: the same key writes the same PKCS#8. */
        assert_int_equal(cp_x509_key_to_pem(back, &again, &err), 0);
        assert_string_equal(again, pem);
        free(again);
        free(pem);
        EVP_PKEY_free(back);
    }
}

static void test_key_from_pem_reads_pkcs1_rsa_and_sec1_ec(void **state)
{
    (void)state;
    EVP_PKEY *keys[] = {g_rsa, g_ec};
    const char *labels[] = {"-----BEGIN RSA PRIVATE KEY-----\n",
                            "-----BEGIN EC PRIVATE KEY-----\n"};
    for (size_t i = 0; i < 2; i++) {
        BIO *bio = BIO_new(BIO_s_mem());
        assert_int_equal(
            PEM_write_bio_PrivateKey_traditional(bio, keys[i], NULL, NULL, 0, NULL, NULL), 1);
        char *pem = xt_bio_string(bio);
        BIO_free(bio);
        xt_assert_prefix(pem, labels[i]);
        EVP_PKEY *back = NULL;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_key_from_pem(pem, strlen(pem), &back, &err), 0);
        assert_int_equal(EVP_PKEY_eq(back, keys[i]), 1);
        assert_int_equal(ERR_peek_error(), 0);
        EVP_PKEY_free(back);
        free(pem);
    }
}

static void test_key_from_pem_rejects_garbage_without_quoting_it(void **state)
{
    (void)state;
    /* "U0VDUkVULU1BVEVSSUFMLTEyMzQ=" is base64 of "SECRET-MATERIAL-1234". */
    static const char *const inputs[] = {
        "SECRET-MATERIAL-1234 is not a key",
        "-----BEGIN PRIVATE KEY-----\nU0VDUkVULU1BVEVSSUFMLTEyMzQ=\n-----END PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\nSECRET-MATERIAL-1234\n-----END RSA PRIVATE KEY-----\n",
        "-----BEGIN EC PRIVATE KEY-----\nU0VDUkVULU1BVEVSSUFMLTEyMzQ=\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        EVP_PKEY *key = NULL;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_key_from_pem(inputs[i], strlen(inputs[i]), &key, &err), CP_EINVAL);
        assert_int_equal(err.code, CP_EINVAL);
        assert_null(key);
        assert_true(err.msg[0] != '\0');
        assert_null(strstr(err.msg, "SECRET"));
        assert_null(strstr(err.msg, "U0VDUkVU"));
        assert_int_equal(ERR_peek_error(), 0);
    }
    EVP_PKEY *key = NULL;
    assert_int_equal(cp_x509_key_from_pem("", 0, &key, NULL), CP_EINVAL);
    assert_null(key);
}

static void assert_key_pem_rejected(BIO *bio)
{
    char *text = xt_bio_string(bio);
    EVP_PKEY *key = NULL;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_key_from_pem(text, strlen(text), &key, &err), CP_EINVAL);
    assert_null(key);
    assert_int_equal(ERR_peek_error(), 0);
    free(text);
}

static void test_key_from_pem_rejects_a_public_key(void **state)
{
    (void)state;
    BIO *pub = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(pub, g_ec), 1);
    assert_key_pem_rejected(pub);
    BIO_free(pub);
}

static void test_key_from_pem_rejects_an_encrypted_key_without_prompting(void **state)
{
    (void)state;
    BIO *enc = BIO_new(BIO_s_mem());
    /* Without the passphrase callback refusing, this would prompt on the terminal and hang. */
    assert_int_equal(PEM_write_bio_PrivateKey(enc, g_ec, EVP_aes_128_cbc(),
                                              (const unsigned char *)"pw", 2, NULL, NULL),
                     1);
    assert_key_pem_rejected(enc);
    BIO_free(enc);
}

static void test_key_matches_only_its_own_certificate(void **state)
{
    (void)state;
    const char *names[] = {"match.example"};
    X509 *ec_cert = NULL, *rsa_cert = NULL;
    cp_err_t err = {0};
    assert_int_equal(cp_x509_self_signed(g_ec, names, 1, 1, &ec_cert, &err), 0);
    assert_int_equal(cp_x509_self_signed(g_rsa, names, 1, 1, &rsa_cert, &err), 0);
    assert_int_equal(cp_x509_key_matches(ec_cert, g_ec, &err), 0);
    assert_int_equal(cp_x509_key_matches(rsa_cert, g_rsa, &err), 0);
    assert_int_equal(cp_x509_key_matches(ec_cert, g_ec2, &err), CP_EINVAL); /* two EC keys */
    assert_string_equal(err.msg, "private key does not match the certificate");
    assert_int_equal(cp_x509_key_matches(ec_cert, g_rsa, &err), CP_EINVAL); /* RSA vs EC */
    assert_int_equal(cp_x509_key_matches(rsa_cert, g_ec, &err), CP_EINVAL);
    assert_int_equal(err.code, CP_EINVAL);
    assert_int_equal(ERR_peek_error(), 0);
    X509_free(ec_cert);
    X509_free(rsa_cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_generate_makes_every_type_with_its_size_and_curve),
        cmocka_unit_test(test_key_generate_default_is_rsa_2048),
        cmocka_unit_test(test_key_generate_rejects_an_unknown_type),
        cmocka_unit_test(test_key_type_is_minus_one_for_keys_certplane_does_not_make),
        cmocka_unit_test(test_key_pem_round_trip_writes_pkcs8_and_reads_it_back),
        cmocka_unit_test(test_key_from_pem_reads_pkcs1_rsa_and_sec1_ec),
        cmocka_unit_test(test_key_from_pem_rejects_garbage_without_quoting_it),
        cmocka_unit_test(test_key_from_pem_rejects_a_public_key),
        cmocka_unit_test(test_key_from_pem_rejects_an_encrypted_key_without_prompting),
        cmocka_unit_test(test_key_matches_only_its_own_certificate),
    };
    return cmocka_run_group_tests(tests, xt_group_setup, xt_group_teardown);
}
