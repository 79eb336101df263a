/* SPDX-License-Identifier: Apache-2.0 */
/* test_x509.c - unit tests of keys, CSRs, self-signed certificates, certificate facts and PEM
 * chains */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "shared/x509.h"

/* Keys and a small CA made once for the whole group: root (RSA) signs intermediate (EC) signs leaf.
 */
static EVP_PKEY *g_rsa; /* CP_KEY_DEFAULT */
static EVP_PKEY *g_ec;
static EVP_PKEY *g_ec2;
static X509 *g_root;
static X509 *g_inter;
static X509 *g_leaf;

/* ---- helpers (the test CA uses OpenSSL directly, never the code under test) ---- */

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

/* A certificate for `key`, signed by issuer_key (NULL: self-signed). cn and san may be NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca,
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

static char *bio_string(BIO *bio)
{
    char *data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    assert_true(n > 0);
    char *s = calloc((size_t)n + 1, 1);
    assert_non_null(s);
    memcpy(s, data, (size_t)n);
    return s;
}

static char *test_cert_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_X509(bio, cert), 1);
    char *s = bio_string(bio);
    BIO_free(bio);
    return s;
}

/* Concatenates NULL-terminated arguments into a malloc'd string. */
static char *concat(const char *first, ...)
{
    size_t len = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        len += strlen(s);
    va_end(ap);
    char *out = calloc(len + 1, 1);
    assert_non_null(out);
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        strcat(out, s);
    va_end(ap);
    return out;
}

static void assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

static void assert_contains(const char *s, const char *part)
{
    if (strstr(s, part) == NULL)
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

static int group_setup(void **state)
{
    (void)state;
    if (cp_x509_key_generate(CP_KEY_DEFAULT, &g_rsa, NULL) != 0 ||
        cp_x509_key_generate(CP_KEY_EC_P256, &g_ec, NULL) != 0 ||
        cp_x509_key_generate(CP_KEY_EC_P256, &g_ec2, NULL) != 0)
        return -1;
    g_root = make_cert(g_rsa, "Test Root", NULL, NULL, 1, 1, NULL);
    g_inter = make_cert(g_ec2, "Test Intermediate", g_root, g_rsa, 1, 2, NULL);
    g_leaf = make_cert(g_ec, "leaf.example", g_inter, g_ec2, 0, 3, "DNS:leaf.example");
    return 0;
}

static int group_teardown(void **state)
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

/* ---- keys ---- */

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
        assert_prefix(pem, "-----BEGIN PRIVATE KEY-----\n");
        assert_contains(pem, "-----END PRIVATE KEY-----\n");
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
        char *pem = bio_string(bio);
        BIO_free(bio);
        assert_prefix(pem, labels[i]);
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

static void test_key_from_pem_rejects_public_and_encrypted_keys(void **state)
{
    (void)state;
    BIO *pub = BIO_new(BIO_s_mem());
    BIO *enc = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(pub, g_ec), 1);
    /* Without the passphrase callback refusing, this would prompt on the terminal and hang. */
    assert_int_equal(PEM_write_bio_PrivateKey(enc, g_ec, EVP_aes_128_cbc(),
                                              (const unsigned char *)"pw", 2, NULL, NULL),
                     1);
    char *texts[] = {bio_string(pub), bio_string(enc)};
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *key = NULL;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_key_from_pem(texts[i], strlen(texts[i]), &key, &err), CP_EINVAL);
        assert_null(key);
        assert_int_equal(ERR_peek_error(), 0);
        free(texts[i]);
    }
    BIO_free(pub);
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

/* ---- CSRs ---- */

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

static void test_csr_rejects_bad_ips_and_names_naming_the_index(void **state)
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
        assert_prefix(err.msg, "ip_addresses[1]: ");
        assert_null(der);
        assert_int_equal(ERR_peek_error(), 0);
    }
    static const char *const bad_names[] = {"", "two words.example", "evil.example\nDNS:x",
                                            "caf\xc3\xa9.example"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        const char *names[] = {"ok.example", bad_names[i]};
        unsigned char *der = NULL;
        size_t len = 0;
        cp_err_t err = {0};
        assert_int_equal(cp_x509_csr_build(g_ec, names, 2, NULL, 0, &der, &len, &err), CP_EINVAL);
        assert_prefix(err.msg, "dns_names[1]: ");
        assert_null(der);
    }
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(cp_x509_csr_build(g_ec, NULL, 0, NULL, 0, &der, &len, NULL), CP_EINVAL);
    assert_int_equal(cp_x509_csr_build(NULL, dns, 1, NULL, 0, &der, &len, NULL), CP_EINVAL);
    assert_null(der);
}

/* ---- self-signed certificates and their facts ---- */

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

static void test_self_signed_rejects_bad_days_and_names(void **state)
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
    assert_int_equal(cp_x509_self_signed(g_ec, ok, 1, 0, &cert, &err), CP_EINVAL);
    assert_int_equal(
        cp_x509_self_signed(g_ec, ok, 1, CP_X509_SELF_SIGNED_MAX_DAYS + 1, &cert, &err), CP_EINVAL);
    assert_int_equal(cp_x509_self_signed(g_ec, ok, 0, 1, &cert, &err), CP_EINVAL);
    assert_int_equal(cp_x509_self_signed(g_ec, too_long, 1, 1, &cert, &err), CP_EINVAL);
    assert_int_equal(cp_x509_self_signed(g_ec, bad, 1, 1, &cert, &err), CP_EINVAL);
    assert_int_equal(cp_x509_self_signed(NULL, ok, 1, 1, &cert, &err), CP_EINVAL);
    assert_null(cert);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_info_formats_serials_and_ip_sans_and_skips_other_kinds(void **state)
{
    (void)state;
    X509 *cert = make_cert(g_rsa, NULL, NULL, NULL, 0, 0x0a1b,
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

    /* A serial with the top bit set gets a 0x00 byte in DER, which is not part of the number. */
    cert = make_cert(g_rsa, "ca.example", NULL, NULL, 1, 0x80, NULL);
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
    X509 *cert = make_cert(g_ec, "good.example", NULL, NULL, 0, 9, NULL);
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
    assert_contains(err.msg, "NUL");
    assert_null(info.serial); /* zeroed: nothing to free */
    assert_null(info.common_name);
    assert_null(info.dns_names);
    assert_int_equal(info.n_dns_names, 0);
    assert_int_equal(ERR_peek_error(), 0);
    cp_x509_info_dispose(&info);
    X509_free(cert);
}

/* ---- PEM chains ---- */

static void test_chain_parse_reads_leaf_intermediate_root_in_order_around_text(void **state)
{
    (void)state;
    assert_int_equal(X509_check_issued(g_root, g_inter), X509_V_OK);
    assert_int_equal(X509_check_issued(g_inter, g_leaf), X509_V_OK);
    char *leaf = test_cert_pem(g_leaf), *inter = test_cert_pem(g_inter),
         *root = test_cert_pem(g_root);
    char *pem = concat("Bag Attributes\n  friendlyName: leaf\n", leaf,
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
    assert_prefix(err.msg, prefix);
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
    char *leaf = test_cert_pem(g_leaf);
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
    unsigned char *data = calloc((size_t)len + extra, 1);
    assert_non_null(data);
    memcpy(data, der, (size_t)len);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio(bio, "CERTIFICATE", header, data, len + (long)extra) > 0);
    char *pem = bio_string(bio);
    BIO_free(bio);
    free(data);
    OPENSSL_free(der);
    return pem;
}

static void test_chain_parse_rejects_trailing_der_bytes_and_pem_headers(void **state)
{
    (void)state;
    char *plain = leaf_block("", 0);
    cp_x509_chain_t *chain = NULL;
    assert_int_equal(cp_x509_chain_parse(plain, strlen(plain), &chain, NULL), 0); /* the control */
    cp_x509_chain_free(chain);
    char *trailing = leaf_block("", 3);
    assert_chain_rejected(trailing, strlen(trailing), "certificate 1: trailing data");
    char *headers = leaf_block("Comment: not for certificates\n", 0);
    assert_contains(headers, "Comment: ");
    assert_chain_rejected(headers, strlen(headers), "certificate 1: PEM headers");
    free(headers);
    free(trailing);
    free(plain);
}

static void test_chain_parse_accepts_16_certificates_and_rejects_17(void **state)
{
    (void)state;
    char *leaf = test_cert_pem(g_leaf);
    size_t one = strlen(leaf);
    char *pem = calloc(17 * one + 1, 1);
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
    char *leaf = test_cert_pem(g_leaf), *inter = test_cert_pem(g_inter), *key = NULL;
    /* Corrupt the intermediate's first base64 line with characters outside base64. */
    char *line = strchr(inter, '\n') + 1;
    memset(line, '!', 10);
    char *pem = concat(leaf, inter, NULL);
    assert_chain_rejected(pem, strlen(pem), "certificate 2: ");
    free(pem);
    /* A valid block of another kind in second place is named the same way. */
    assert_int_equal(cp_x509_key_to_pem(g_ec, &key, NULL), 0);
    pem = concat(leaf, key, NULL);
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
        assert_prefix(pem, "-----BEGIN CERTIFICATE-----\n");
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
        cmocka_unit_test(test_key_generate_makes_every_type_with_its_size_and_curve),
        cmocka_unit_test(test_key_generate_default_is_rsa_2048),
        cmocka_unit_test(test_key_generate_rejects_an_unknown_type),
        cmocka_unit_test(test_key_type_is_minus_one_for_keys_certplane_does_not_make),
        cmocka_unit_test(test_key_pem_round_trip_writes_pkcs8_and_reads_it_back),
        cmocka_unit_test(test_key_from_pem_reads_pkcs1_rsa_and_sec1_ec),
        cmocka_unit_test(test_key_from_pem_rejects_garbage_without_quoting_it),
        cmocka_unit_test(test_key_from_pem_rejects_public_and_encrypted_keys),
        cmocka_unit_test(test_key_matches_only_its_own_certificate),
        cmocka_unit_test(test_csr_holds_every_name_and_the_first_dns_name_as_cn),
        cmocka_unit_test(test_csr_with_only_ips_has_no_cn_and_a_critical_san),
        cmocka_unit_test(test_csr_leaves_a_first_name_over_64_bytes_out_of_the_cn),
        cmocka_unit_test(test_csr_rejects_bad_ips_and_names_naming_the_index),
        cmocka_unit_test(test_self_signed_cert_info_reports_every_field),
        cmocka_unit_test(test_self_signed_rejects_bad_days_and_names),
        cmocka_unit_test(test_info_formats_serials_and_ip_sans_and_skips_other_kinds),
        cmocka_unit_test(test_info_names_the_issuer_of_a_ca_signed_cert),
        cmocka_unit_test(test_info_rejects_a_dns_name_with_a_nul_byte),
        cmocka_unit_test(test_chain_parse_reads_leaf_intermediate_root_in_order_around_text),
        cmocka_unit_test(test_chain_parse_rejects_input_without_certificates),
        cmocka_unit_test(test_chain_parse_rejects_a_lone_private_key_without_quoting_it),
        cmocka_unit_test(test_chain_parse_rejects_truncated_base64),
        cmocka_unit_test(test_chain_parse_rejects_trailing_der_bytes_and_pem_headers),
        cmocka_unit_test(test_chain_parse_accepts_16_certificates_and_rejects_17),
        cmocka_unit_test(test_chain_parse_names_the_broken_second_block),
        cmocka_unit_test(test_cert_to_pem_round_trips_through_chain_parse),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
