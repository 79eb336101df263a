/* SPDX-License-Identifier: Apache-2.0 */
/* test_certparse.c - certificates parsed without OpenSSL's decoder search: formats, key checks,
 * shared intermediates, and what one certificate costs in memory */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "edge/cert.h"
#include "edge/certparse.h"

enum { FMT_PKCS8, FMT_TRADITIONAL };

static EVP_PKEY *g_ca_key;
static X509 *g_ca;
static char *g_ca_pem;

static char *bio_text(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    BIO_free(b);
    return s;
}

static char *cert_pem(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(b, x), 1);
    return bio_text(b);
}

static char *key_pem(EVP_PKEY *k, int fmt)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = fmt == FMT_PKCS8
                 ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_bio_PrivateKey_traditional(b, k, NULL, NULL, 0, NULL, NULL);
    assert_int_equal(ok, 1);
    return bio_text(b);
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ex);
    assert_int_equal(X509_add_ext(cert, ex, -1), 1);
    X509_EXTENSION_free(ex);
}

/* A certificate for `key` named `cn`, signed by the test CA (or self-signed for the CA). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, int ca)
{
    static long serial = 1;
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, key);
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, ca ? n : X509_get_subject_name(g_ca));
    add_ext(c, ca ? c : g_ca, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (!ca) {
        char san[300];
        snprintf(san, sizeof san, "DNS:%s", cn);
        add_ext(c, g_ca, NID_subject_alt_name, san);
    }
    assert_true(X509_sign(c, ca ? key : g_ca_key, EVP_sha256()) > 0);
    return c;
}

/* Leaf + CA PEM for a fresh key of `type` ("EC" P-256, "RSA" 2048, "ED25519"). */
static char *make_chain(const char *type, const char *cn, EVP_PKEY **key)
{
    *key = strcmp(type, "RSA") == 0       ? EVP_RSA_gen(2048)
           : strcmp(type, "ED25519") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                                          : EVP_EC_gen("P-256");
    assert_non_null(*key);
    X509 *leaf = make_cert(*key, cn, 0);
    char *lp = cert_pem(leaf);
    X509_free(leaf);
    char *chain = malloc(strlen(lp) + strlen(g_ca_pem) + 1);
    assert_non_null(chain);
    strcpy(chain, lp);
    strcat(chain, g_ca_pem);
    free(lp);
    return chain;
}

static int group_setup(void **state)
{
    (void)state;
    g_ca_key = EVP_EC_gen("P-256");
    g_ca = make_cert(g_ca_key, "test CA", 1);
    g_ca_pem = cert_pem(g_ca);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    X509_free(g_ca);
    EVP_PKEY_free(g_ca_key);
    free(g_ca_pem);
    return 0;
}

static int new_cert(const char *chain, const char *key, edge_cert_t **out, cp_err_t *err)
{
    return edge_cert_new("c", chain, strlen(chain), key, strlen(key), 1, out, err);
}

/* ---- PEM ---- */

static void test_pem_blocks_text_between_and_whitespace(void **state)
{
    (void)state;
    const char *pem = "junk before\n-----BEGIN A-----\nTWFu\r\nTQ==\n-----END A-----\n"
                      "comment\n-----BEGIN B B-----\n TW E=\n-----END B B-----\n";
    const char *pos = pem, *end = pem + strlen(pem);
    char label[EDGE_PEM_LABEL_MAX];
    unsigned char *der;
    size_t len;
    assert_int_equal(edge_pem_next(&pos, end, label, &der, &len), 0);
    assert_string_equal(label, "A");
    assert_int_equal(len, 4);
    assert_memory_equal(der, "ManM", 4);
    free(der);
    assert_int_equal(edge_pem_next(&pos, end, label, &der, &len), 0);
    assert_string_equal(label, "B B");
    assert_int_equal(len, 2);
    assert_memory_equal(der, "Ma", 2);
    free(der);
    assert_int_equal(edge_pem_next(&pos, end, label, &der, &len), 1);
}

static void test_pem_rejects_what_it_does_not_handle(void **state)
{
    (void)state;
    const char *bad[] = {
        "-----BEGIN A-----\nProc-Type: 4,ENCRYPTED\n\nTWFu\n-----END A-----\n", /* header */
        "-----BEGIN A-----\nTWFu\n-----END B-----\n",                           /* no END */
        "-----BEGIN A-----\nTW=u\n-----END A-----\n",                           /* '=' inside */
        "-----BEGIN A-----\nTWFuT\n-----END A-----\n", /* one char too many */
        "-----BEGIN A-----\nTWF=\n-----END A-----\n",  /* non-zero padding bits ("Ma" is TWE=) */
        "-----BEGIN A-----\n\n-----END A-----\n",      /* empty */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *pos = bad[i];
        char label[EDGE_PEM_LABEL_MAX];
        unsigned char *der = NULL;
        size_t len;
        assert_int_equal(edge_pem_next(&pos, bad[i] + strlen(bad[i]), label, &der, &len), -1);
        assert_null(der);
    }
}

/* ---- keys ---- */

static void check_key_formats(const char *type)
{
    EVP_PKEY *k;
    char *chain = make_chain(type, "a.test", &k);
    for (int fmt = FMT_PKCS8; fmt <= FMT_TRADITIONAL; fmt++) {
        char *kp = key_pem(k, fmt);
        edge_cert_t *c = NULL;
        cp_err_t err = {0};
        assert_int_equal(new_cert(chain, kp, &c, &err), 0);
        X509 *leaf = NULL;
        EVP_PKEY *key = NULL;
        assert_int_equal(edge_cert_materialize(c, &leaf, &key, &err), 0);
        assert_int_equal(EVP_PKEY_eq(key, k), 1);
        assert_int_equal(c->n_names, 1);
        assert_string_equal(c->names[0], "a.test");
        assert_int_equal(sk_X509_num(c->chain), 1);
        /* The key works: sign with it, verify with the certificate. */
        unsigned char sig[512];
        size_t sig_len = sizeof sig;
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
        assert_int_equal(EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)"x", 1), 1);
        EVP_MD_CTX_reset(md);
        assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(leaf)),
                         1);
        assert_int_equal(EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)"x", 1), 1);
        EVP_MD_CTX_free(md);
        X509_free(leaf);
        EVP_PKEY_free(key);
        edge_cert_release(c);
        free(kp);
    }
    EVP_PKEY_free(k);
    free(chain);
}

/* Found by tests/fuzz/fuzz_certparse: a NUL in the label shortened the END line searched for, and
 * the position moved past the end of the text by the label's full length. */
static void test_pem_rejects_nul_in_label(void **state)
{
    (void)state;
    static const char whole[] = "-----BEGIN A\0B-----\nTWFu\n-----END A\0B-----\n";
    static const char cut[] = "-----BEGIN A\0BCDEFGH-----\nTWFu\n-----END A";
    const struct {
        const char *text;
        size_t len;
    } bad[] = {{whole, sizeof whole - 1}, {cut, sizeof cut - 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *pos = bad[i].text;
        char label[EDGE_PEM_LABEL_MAX];
        unsigned char *der = NULL;
        size_t len;
        assert_int_equal(edge_pem_next(&pos, bad[i].text + bad[i].len, label, &der, &len), -1);
        assert_null(der);
        assert_ptr_equal(pos, bad[i].text);
    }
}

/* Found by tests/fuzz/fuzz_certparse: a leaf whose RSA public key has a modulus but no valid
 * exponent made the key check free the modulus twice. */
static void test_rsa_leaf_with_bad_exponent(void **state)
{
    (void)state;
    EVP_PKEY *k;
    char *chain = make_chain("RSA", "r.test", &k);
    BIO *bio = BIO_new_mem_buf(chain, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(x);
    unsigned char *der = NULL, *kder = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    X509_free(x);
    /* The exponent 65537 (INTEGER 01 00 01) becomes a NULL-tagged value. */
    unsigned char *e = NULL;
    for (int i = 0; i + 5 <= n && e == NULL; i++)
        if (memcmp(der + i, "\x02\x03\x01\x00\x01", 5) == 0)
            e = der + i;
    assert_non_null(e);
    e[0] = 0x05;
    const unsigned char *p = der;
    X509 *leaf = d2i_X509(NULL, &p, n);
    assert_non_null(leaf);
    int kn = i2d_PrivateKey(k, &kder); /* PKCS#1 RSAPrivateKey */
    assert_true(kn > 0);
    EVP_PKEY *out = NULL;
    edge_spki_t spki;
    assert_int_equal(edge_spki_from_x509(leaf, &spki), 0);
    assert_int_equal(edge_key_from_der("RSA PRIVATE KEY", kder, (size_t)kn, &spki, &out), -1);
    assert_null(out);
    X509_free(leaf);
    OPENSSL_free(der);
    OPENSSL_free(kder);
    BIO_free(bio);
    EVP_PKEY_free(k);
    free(chain);
}

static void test_ec_keys_pkcs8_and_sec1(void **state)
{
    (void)state;
    check_key_formats("EC");
}

static void test_rsa_keys_pkcs8_and_pkcs1(void **state)
{
    (void)state;
    check_key_formats("RSA");
}

static void test_other_algorithms_take_openssls_reader(void **state)
{
    (void)state;
    EVP_PKEY *k;
    char *chain = make_chain("ED25519", "ed.test", &k);
    char *kp = key_pem(k, FMT_PKCS8);
    /* Not ours: the fast reader says so, the cert is still made (and checked) the slow way. */
    const char *pos = kp;
    char label[EDGE_PEM_LABEL_MAX];
    unsigned char *der;
    size_t len;
    EVP_PKEY *out = NULL;
    assert_int_equal(edge_pem_next(&pos, kp + strlen(kp), label, &der, &len), 0);
    edge_cert_t *c = NULL;
    assert_int_equal(new_cert(chain, kp, &c, NULL), 0);
    X509 *leaf = NULL;
    EVP_PKEY *key = NULL;
    edge_spki_t spki;
    assert_int_equal(edge_cert_materialize(c, &leaf, &key, NULL), 0);
    assert_int_equal(edge_spki_from_x509(leaf, &spki), 0);
    assert_int_equal(edge_key_from_der(label, der, len, &spki, &out), 1);
    assert_null(out);
    X509_free(leaf);
    EVP_PKEY_free(key);
    free(der);
    edge_cert_release(c);
    free(kp);
    free(chain);
    EVP_PKEY_free(k);
}

static void test_key_of_another_certificate_rejected(void **state)
{
    (void)state;
    const char *types[] = {"EC", "RSA"};
    for (int t = 0; t < 2; t++) {
        EVP_PKEY *k1, *k2;
        char *chain = make_chain(types[t], "a.test", &k1);
        char *other = make_chain(types[t], "b.test", &k2);
        for (int fmt = FMT_PKCS8; fmt <= FMT_TRADITIONAL; fmt++) {
            char *kp = key_pem(k2, fmt);
            edge_cert_t *c = NULL;
            cp_err_t err = {0};
            assert_int_equal(new_cert(chain, kp, &c, &err), CP_EINVAL);
            assert_null(c);
            assert_non_null(strstr(err.msg, "does not match"));
            free(kp);
        }
        /* An EC key for an RSA certificate and the other way round. */
        EVP_PKEY *k3;
        char *cross = make_chain(types[1 - t], "c.test", &k3);
        char *kp = key_pem(k3, FMT_PKCS8);
        edge_cert_t *c = NULL;
        assert_int_equal(new_cert(chain, kp, &c, NULL), CP_EINVAL);
        free(kp);
        free(cross);
        EVP_PKEY_free(k3);
        free(chain);
        free(other);
        EVP_PKEY_free(k1);
        EVP_PKEY_free(k2);
    }
}

/* A key file carrying the certificate's public point beside another private scalar: comparing
 * public halves (EVP_PKEY_eq) would accept it; deriving the point from the scalar does not. The
 * quick check at apply compares the carried point only (so a snapshot of N certificates costs no
 * N scalar multiplications); the full check runs when the key is built for a handshake, so such
 * a key is still never served: the certificate is marked bad at its first use. (The controller
 * checks every key against its certificate before it stores it; such a record needs the KEK.) */
static void test_ec_key_with_copied_public_point_rejected(void **state)
{
    (void)state;
    EVP_PKEY *k1, *k2;
    char *chain = make_chain("EC", "a.test", &k1);
    k2 = EVP_EC_gen("P-256");
    BIGNUM *priv = NULL;
    unsigned char pub[65];
    size_t pub_len = 0;
    assert_int_equal(EVP_PKEY_get_bn_param(k2, OSSL_PKEY_PARAM_PRIV_KEY, &priv), 1);
    assert_int_equal(
        EVP_PKEY_get_octet_string_param(k1, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &pub_len), 1);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *forged = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &forged, EVP_PKEY_KEYPAIR, params), 1);
    assert_int_equal(EVP_PKEY_eq(forged, k1), 1); /* the public halves are equal */
    for (int fmt = FMT_PKCS8; fmt <= FMT_TRADITIONAL; fmt++) {
        char *kp = key_pem(forged, fmt);
        edge_cert_t *c = NULL;
        cp_err_t err = {0};
        X509 *leaf = NULL;
        EVP_PKEY *key = NULL;
        int rc = new_cert(chain, kp, &c, &err);
        if (rc == 0) { /* taken by the quick check: refused at first use, and for good */
            assert_int_equal(edge_cert_materialize(c, &leaf, &key, &err), CP_EINVAL);
            assert_non_null(strstr(err.msg, "does not match"));
            assert_true(edge_cert_is_bad(c));
            assert_int_equal(edge_cert_materialize(c, &leaf, &key, &err), CP_EINVAL);
            assert_null(leaf);
            assert_null(key);
            edge_cert_release(c);
        } else {
            assert_int_equal(rc, CP_EINVAL);
            assert_non_null(strstr(err.msg, "does not match"));
        }
        free(kp);
    }
    EVP_PKEY_free(forged);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(priv);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    free(chain);
}

static void test_malformed_input_still_gets_openssls_errors(void **state)
{
    (void)state;
    EVP_PKEY *k;
    char *chain = make_chain("EC", "a.test", &k);
    char *kp = key_pem(k, FMT_PKCS8);
    cp_err_t err = {0};
    edge_cert_t *c = NULL;
    /* A key block where a certificate belongs. */
    size_t n = strlen(chain) + strlen(kp) + 1;
    char *mixed = malloc(n);
    snprintf(mixed, n, "%s%s", chain, kp);
    assert_int_equal(new_cert(mixed, kp, &c, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "private key block is not a certificate"));
    /* Garbage base64 inside the key. */
    char *bad = strdup(kp);
    bad[40] = '*';
    assert_int_equal(new_cert(chain, bad, &c, &err), CP_EINVAL);
    /* No certificate at all. */
    assert_int_equal(new_cert("nothing here", kp, &c, &err), CP_EINVAL);
    assert_null(c);
    free(bad);
    free(mixed);
    free(kp);
    free(chain);
    EVP_PKEY_free(k);
}

/* ---- shared intermediates and memory ---- */

static void test_intermediates_shared_between_certificates(void **state)
{
    (void)state;
    size_t before = edge_cert_shared_chains();
    EVP_PKEY *k1, *k2;
    char *c1 = make_chain("EC", "a.test", &k1), *c2 = make_chain("EC", "b.test", &k2);
    char *p1 = key_pem(k1, FMT_PKCS8), *p2 = key_pem(k2, FMT_PKCS8);
    edge_cert_t *a = NULL, *b = NULL, *self = NULL;
    assert_int_equal(new_cert(c1, p1, &a, NULL), 0);
    assert_int_equal(new_cert(c2, p2, &b, NULL), 0);
    assert_ptr_equal(a->chain, b->chain);
    assert_ptr_equal(sk_X509_value(a->chain, 0), sk_X509_value(b->chain, 0));
    assert_int_equal(X509_cmp(sk_X509_value(a->chain, 0), g_ca), 0);
    assert_int_equal(edge_cert_shared_chains(), before + 1);
    /* A leaf alone has its own (empty) chain entry. */
    char *lp = strdup(c1);
    strstr(lp, "-----END CERTIFICATE-----")[25] = '\0';
    assert_int_equal(new_cert(lp, p1, &self, NULL), 0);
    assert_int_equal(sk_X509_num(self->chain), 0);
    assert_int_equal(edge_cert_shared_chains(), before + 2);
    edge_cert_release(a);
    assert_int_equal(edge_cert_shared_chains(), before + 2);
    edge_cert_release(b);
    edge_cert_release(self);
    assert_int_equal(edge_cert_shared_chains(), before);
    free(lp);
    free(c1);
    free(c2);
    free(p1);
    free(p2);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
}

/* What one certificate costs in heap (malloc's own count; a sanitizer's allocator reports none,
 * then only the breakdown's shape is checked): compact as edge_cert_new keeps it, and parsed for
 * handshakes (edge_cert_materialize, held by the cache). Printed for docs/benchmarks.md. */
static void test_memory_per_certificate(void **state)
{
    (void)state;
    enum { N = 300 };
    char *chains[N], *keys[N];
    for (int i = 0; i < N; i++) {
        EVP_PKEY *k;
        char cn[32];
        snprintf(cn, sizeof cn, "c%03d.test", i);
        chains[i] = make_chain("EC", cn, &k);
        keys[i] = key_pem(k, FMT_PKCS8);
        EVP_PKEY_free(k);
    }
    edge_cert_t *certs[N];
    edge_cert_cache_set_max(N);
    size_t m0 = mallinfo2().uordblks;
    for (int i = 0; i < N; i++)
        assert_int_equal(new_cert(chains[i], keys[i], &certs[i], NULL), 0);
    size_t m1 = mallinfo2().uordblks;
    for (int i = 0; i < N; i++) {
        X509 *leaf;
        EVP_PKEY *key;
        assert_int_equal(edge_cert_materialize(certs[i], &leaf, &key, NULL), 0);
        X509_free(leaf); /* the cache keeps its own references */
        EVP_PKEY_free(key);
    }
    size_t m2 = mallinfo2().uordblks;
    double per = (double)(m1 - m0) / N, parsed = (double)(m2 - m1) / N;
    printf("# per certificate: %.0f B compact (leaf DER, key PEM, names, digests, struct; "
           "intermediate shared); %.0f B more while parsed (X509 and EVP_PKEY)\n",
           per, parsed);
    if (m1 > m0) /* glibc malloc: the budget (an intermediate X509 alone is ~4 KiB) */
        assert_true(per < 1536 && parsed < 8 * 1024);
    edge_cert_cache_set_max(1);
    edge_cert_cache_stats_t st;
    edge_cert_cache_stats(&st);
    assert_int_equal(st.held, 1);
    for (int i = 0; i < N; i++) {
        edge_cert_release(certs[i]);
        free(chains[i]);
        free(keys[i]);
    }
    edge_cert_cache_stats(&st);
    assert_int_equal(st.held, 0);
    edge_cert_cache_set_max(EDGE_CERT_CACHE_DEFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pem_blocks_text_between_and_whitespace),
        cmocka_unit_test(test_pem_rejects_what_it_does_not_handle),
        cmocka_unit_test(test_pem_rejects_nul_in_label),
        cmocka_unit_test(test_rsa_leaf_with_bad_exponent),
        cmocka_unit_test(test_ec_keys_pkcs8_and_sec1),
        cmocka_unit_test(test_rsa_keys_pkcs8_and_pkcs1),
        cmocka_unit_test(test_other_algorithms_take_openssls_reader),
        cmocka_unit_test(test_key_of_another_certificate_rejected),
        cmocka_unit_test(test_ec_key_with_copied_public_point_rejected),
        cmocka_unit_test(test_malformed_input_still_gets_openssls_errors),
        cmocka_unit_test(test_intermediates_shared_between_certificates),
        cmocka_unit_test(test_memory_per_certificate),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
