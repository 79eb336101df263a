/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_jws.c - JWK, RFC 7638 thumbprints, ES256/RS256 JWS signatures, EAB */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include "controller/acme/acme_internal.h"
#include "shared/base64.h"

/* RFC 7638 section 3.1. */
static const char RFC7638_N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
    "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQ"
    "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
    "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char RFC7638_THUMBPRINT[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static EVP_PKEY *rsa_public_from_jwk(const char *n64, const char *e64)
{
    unsigned char *n = NULL, *e = NULL;
    size_t nl = 0, el = 0;
    assert_int_equal(cp_base64_decode(n64, strlen(n64), 0, &n, &nl), 0);
    assert_int_equal(cp_base64_decode(e64, strlen(e64), 0, &e, &el), 0);
    BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el, NULL);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *key = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return key;
}

static void test_thumbprint_matches_rfc7638_example(void **state)
{
    (void)state;
    char tp[64];
    EVP_PKEY *key = rsa_public_from_jwk(RFC7638_N, "AQAB");
    assert_int_equal(ctl_acme__thumbprint(key, tp, sizeof(tp), NULL), 0);
    assert_string_equal(tp, RFC7638_THUMBPRINT);
    assert_int_equal(ctl_acme__thumbprint(key, tp, 10, NULL), CP_EINVAL);
    EVP_PKEY_free(key);
}

/* Decodes a flattened JWS, checks its header members and verifies the signature with `key`. */
static void verify_jws(json_t *jws, EVP_PKEY *key, const char *alg, const char *kid)
{
    const char *p64 = json_string_value(json_object_get(jws, "protected"));
    const char *pl64 = json_string_value(json_object_get(jws, "payload"));
    const char *s64 = json_string_value(json_object_get(jws, "signature"));
    unsigned char *ph = NULL, *sig = NULL;
    size_t phl, sl;
    assert_int_equal(cp_base64_decode(p64, strlen(p64), 0, &ph, &phl), 0);
    json_t *hdr = json_loadb((const char *)ph, phl, 0, NULL);
    assert_non_null(hdr);
    assert_string_equal(json_string_value(json_object_get(hdr, "alg")), alg);
    assert_string_equal(json_string_value(json_object_get(hdr, "nonce")), "n0nce");
    assert_string_equal(json_string_value(json_object_get(hdr, "url")), "https://ca/x");
    if (kid != NULL) {
        assert_string_equal(json_string_value(json_object_get(hdr, "kid")), kid);
        assert_null(json_object_get(hdr, "jwk"));
    } else {
        assert_true(json_is_object(json_object_get(hdr, "jwk")));
        assert_null(json_object_get(hdr, "kid"));
    }
    assert_int_equal(cp_base64_decode(s64, strlen(s64), 0, &sig, &sl), 0);
    unsigned char *der = NULL;
    int derl = (int)sl;
    if (alg[0] == 'E') {
        assert_int_equal(sl, 64);
        ECDSA_SIG *es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
        derl = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
    }
    size_t inl = strlen(p64) + 1 + strlen(pl64);
    char *in = malloc(inl + 1);
    snprintf(in, inl + 1, "%s.%s", p64, pl64);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestVerify(md, der ? der : sig, (size_t)derl, (unsigned char *)in, inl),
                     1);
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    free(in);
    free(sig);
    free(ph);
    json_decref(hdr);
}

static void test_es256_signatures_verify_and_are_64_bytes(void **state)
{
    (void)state;
    /* Many rounds: an r or s with a leading zero byte must still give 64 bytes. */
    for (int i = 0; i < 300; i++) {
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        json_t *jws = NULL;
        assert_string_equal(ctl_acme__jws_alg(key), "ES256");
        assert_int_equal(ctl_acme__jws_sign(key, i % 2 ? "https://ca/acct/1" : NULL, "n0nce",
                                            "https://ca/x", "{\"a\":1}", &jws, NULL),
                         0);
        verify_jws(jws, key, "ES256", i % 2 ? "https://ca/acct/1" : NULL);
        json_decref(jws);
        EVP_PKEY_free(key);
    }
}

static void test_rs256_signature_verifies_and_post_as_get_payload_is_empty(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    json_t *jws = NULL;
    assert_string_equal(ctl_acme__jws_alg(key), "RS256");
    assert_int_equal(
        ctl_acme__jws_sign(key, "https://ca/acct/1", "n0nce", "https://ca/x", NULL, &jws, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
    verify_jws(jws, key, "RS256", "https://ca/acct/1");
    json_decref(jws);
    EVP_PKEY_free(key);
}

static void test_ec_jwk_has_padded_coordinates(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    json_t *jwk = NULL;
    assert_int_equal(ctl_acme__jwk(key, &jwk, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-384");
    assert_int_equal(strlen(json_string_value(json_object_get(jwk, "x"))), 64);
    assert_int_equal(strlen(json_string_value(json_object_get(jwk, "y"))), 64);
    assert_int_equal(json_object_size(jwk), 4);
    assert_string_equal(ctl_acme__jws_alg(key), "ES384");
    json_decref(jwk);
    EVP_PKEY_free(key);
}

static void test_eab_is_hs256_over_the_account_jwk(void **state)
{
    (void)state;
    const unsigned char mac[] = "0123456789abcdef0123456789abcdef";
    EVP_PKEY *acct = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    json_t *eab = NULL, *jwk = NULL;
    assert_int_equal(ctl_acme__jws_eab("kid-1", mac, 32, acct, "https://ca/new-acct", &eab, NULL),
                     0);
    const char *p64 = json_string_value(json_object_get(eab, "protected"));
    const char *pl64 = json_string_value(json_object_get(eab, "payload"));
    unsigned char *ph = NULL, *pl = NULL;
    size_t phl, pll;
    cp_base64_decode(p64, strlen(p64), 0, &ph, &phl);
    cp_base64_decode(pl64, strlen(pl64), 0, &pl, &pll);
    json_t *hdr = json_loadb((char *)ph, phl, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "HS256");
    assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "kid-1");
    assert_string_equal(json_string_value(json_object_get(hdr, "url")), "https://ca/new-acct");
    assert_null(json_object_get(hdr, "nonce"));
    json_t *payload = json_loadb((char *)pl, pll, 0, NULL);
    assert_int_equal(ctl_acme__jwk(acct, &jwk, NULL), 0);
    assert_true(json_equal(payload, jwk));
    /* Recompute the MAC. */
    char in[2048];
    unsigned char md[32];
    unsigned int mdl = 32;
    snprintf(in, sizeof(in), "%s.%s", p64, pl64);
    HMAC(EVP_sha256(), mac, 32, (unsigned char *)in, strlen(in), md, &mdl);
    char *want = cp_base64_encode(md, mdl, CP_BASE64_URL);
    assert_string_equal(json_string_value(json_object_get(eab, "signature")), want);
    free(want);
    json_decref(payload);
    json_decref(hdr);
    json_decref(jwk);
    json_decref(eab);
    free(ph);
    free(pl);
    EVP_PKEY_free(acct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thumbprint_matches_rfc7638_example),
        cmocka_unit_test(test_es256_signatures_verify_and_are_64_bytes),
        cmocka_unit_test(test_rs256_signature_verifies_and_post_as_get_payload_is_empty),
        cmocka_unit_test(test_ec_jwk_has_padded_coordinates),
        cmocka_unit_test(test_eab_is_hs256_over_the_account_jwk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
