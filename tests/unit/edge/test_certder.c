/* SPDX-License-Identifier: Apache-2.0 */
/* test_certder.c - the leaf DER reader (edge/certder.h) against OpenSSL's parse of the same leaf */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "edge/certder.h"
#include "shared/x509.h"
#include "tests/unit/edge/testcert.h"

static int slice_is(edge_der_t s, const char *text)
{
    size_t n = (size_t)(s.end - s.p);
    return strlen(text) == n && memcmp(s.p, text, n) == 0;
}

/* The leaf's DER from a PEM chain (the first block). */
static unsigned char *leaf_der(const char *chain, size_t *len)
{
    BIO *bio = BIO_new_mem_buf(chain, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    assert_non_null(x);
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    *len = (size_t)n;
    X509_free(x);
    BIO_free(bio);
    return der;
}

/* What edge_leaf_read finds is what OpenSSL finds. */
static void check_same(const unsigned char *der, size_t len)
{
    edge_leaf_t *l = malloc(sizeof *l);
    assert_int_equal(edge_leaf_read(der, len, l), 0);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    cp_x509_info_t info;
    edge_spki_t spki;
    assert_int_equal(cp_x509_info_get(x, &info, NULL), 0);
    assert_int_equal(l->n_dns, info.n_dns_names);
    assert_int_equal(l->n_ip, info.n_ip_addresses);
    assert_int_equal(l->not_after, info.not_after);
    assert_int_equal(l->cn.p == NULL, info.common_name == NULL);
    if (info.common_name != NULL)
        assert_true(slice_is(l->cn, info.common_name));
    for (size_t i = 0; i < l->n_dns; i++)
        assert_true(slice_is(l->dns[i], info.dns_names[i]));
    for (size_t i = 0; i < l->n_ip; i++) {
        char text[64];
        size_t n = (size_t)(l->ip[i].end - l->ip[i].p);
        inet_ntop(n == 4 ? AF_INET : AF_INET6, l->ip[i].p, text, sizeof text);
        assert_string_equal(text, info.ip_addresses[i]);
    }
    assert_int_equal(edge_spki_from_x509(x, &spki), 0);
    assert_int_equal(l->spki.alg, spki.alg);
    assert_int_equal(l->spki.curve, spki.curve);
    assert_int_equal(l->spki.pub_len, spki.pub_len);
    assert_memory_equal(l->spki.pub, spki.pub, spki.pub_len);
    cp_x509_info_dispose(&info);
    X509_free(x);
    free(l);
}

static void test_names_expiry_and_key_as_openssl_reads_them(void **state)
{
    (void)state;
    const char *names[] = {"a.test", "*.w.test", "Mixed.Case.test"};
    char *chain, *key;
    size_t len;
    edge_test_pem(names, 3, NULL, &chain, &key);
    unsigned char *der = leaf_der(chain, &len);
    check_same(der, len);
    OPENSSL_free(der);
    free(chain);
    free(key);
    /* IP addresses (and no subject at all), through a made cert's kept DER. */
    edge_cert_t *c = edge_test_cert_san("ip", "IP:127.0.0.1,IP:::1,DNS:b.test,IP:2001:db8::7");
    check_same(c->leaf_der, c->leaf_len);
    assert_int_equal(c->n_ips, 3);
    assert_string_equal(c->ips[2], "2001:db8::7");
    edge_cert_release(c);
}

/* Every truncation and every single-byte change of a leaf either reads or says "not mine"; none
 * reads outside the buffer (ASan) and what reads and still parses in OpenSSL agrees with it. */
static void test_truncated_and_mutated_leaves(void **state)
{
    (void)state;
    const char *names[] = {"a.test"};
    char *chain, *key;
    size_t len;
    edge_test_pem(names, 1, NULL, &chain, &key);
    unsigned char *der = leaf_der(chain, &len);
    edge_leaf_t *l = malloc(sizeof *l);
    for (size_t n = 0; n < len; n++) {
        unsigned char *copy = malloc(n + 1); /* exactly n bytes readable */
        memcpy(copy, der, n);
        assert_int_equal(edge_leaf_read(copy, n, l), 1);
        free(copy);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char *copy = malloc(len);
        memcpy(copy, der, len);
        copy[i] ^= 0x5a;
        if (edge_leaf_read(copy, len, l) == 0) {
            const unsigned char *p = copy;
            X509 *x = d2i_X509(NULL, &p, (long)len);
            cp_x509_info_t info;
            if (x != NULL && p == copy + len && cp_x509_info_get(x, &info, NULL) == 0) {
                cp_x509_info_dispose(&info);
                check_same(copy, len);
            }
            X509_free(x);
        }
        free(copy);
    }
    assert_int_equal(edge_leaf_read((const unsigned char *)"\x30\x00", 2, l), 1);
    free(l);
    OPENSSL_free(der);
    free(chain);
    free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_expiry_and_key_as_openssl_reads_them),
        cmocka_unit_test(test_truncated_and_mutated_leaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
