/* SPDX-License-Identifier: Apache-2.0 */
/* test_clienthello.c - the ClientHello peek of on-demand TLS: real OpenSSL ClientHellos give their
 * SNI and ALPN; every truncation asks for more or gives up, never reads past the end; malformed
 * lengths, hostile names (IP literals, long labels, non-LDH bytes) are never eligible */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#include "edge/clienthello.h"

/* The first flight of an OpenSSL client for sni (NULL: none) and alpn (NULL: none). */
static size_t client_hello(const char *sni, const char *alpn, uint8_t *out, size_t size)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, rb, wb);
    if (sni != NULL)
        SSL_set_tlsext_host_name(ssl, sni);
    if (alpn != NULL) {
        unsigned char wire[64];
        wire[0] = (unsigned char)strlen(alpn);
        memcpy(wire + 1, alpn, strlen(alpn));
        SSL_set_alpn_protos(ssl, wire, (unsigned)strlen(alpn) + 1);
    }
    SSL_connect(ssl);
    int n = BIO_read(wb, out, (int)size);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_sni_and_alpn_of_a_real_client_hello(void **state)
{
    (void)state;
    uint8_t buf[EDGE_CLIENTHELLO_MAX];
    edge_clienthello_t ch;
    size_t n = client_hello("Shop.Example.COM", "acme-tls/1", buf, sizeof buf);
    assert_int_equal(edge_clienthello_parse(buf, n, &ch), EDGE_CLIENTHELLO_DONE);
    assert_true(ch.has_sni);
    assert_true(ch.eligible);
    assert_true(ch.acme_alpn);
    assert_string_equal(ch.name, "shop.example.com");
    n = client_hello(NULL, "h2", buf, sizeof buf);
    assert_int_equal(edge_clienthello_parse(buf, n, &ch), EDGE_CLIENTHELLO_DONE);
    assert_false(ch.has_sni);
    assert_false(ch.acme_alpn);
}

static void test_every_truncation_asks_for_more(void **state)
{
    (void)state;
    uint8_t buf[EDGE_CLIENTHELLO_MAX];
    edge_clienthello_t ch;
    size_t n = client_hello("a.example.com", NULL, buf, sizeof buf);
    for (size_t cut = 0; cut < n; cut++) {
        /* a copy of exactly cut bytes, so ASan sees any read past it */
        uint8_t *p = malloc(cut > 0 ? cut : 1);
        memcpy(p, buf, cut);
        assert_int_equal(edge_clienthello_parse(p, cut, &ch), EDGE_CLIENTHELLO_MORE);
        free(p);
    }
}

static void test_hostile_names_are_not_eligible(void **state)
{
    (void)state;
    char label64[80], long254[300];
    memset(label64, 'a', 64);
    strcpy(label64 + 64, ".example.com");
    for (int i = 0; i < 252; i += 2)
        memcpy(long254 + i, "a.", 2);
    strcpy(long254 + 252, "com");
    const char *bad[] = {
        "127.0.0.1",     "localhost", "a..b.com", "-a.example.com", "a_b.example.com",
        "*.example.com", "x.123",     label64,    long254,          "caf\xc3\xa9.example.com"};
    uint8_t buf[EDGE_CLIENTHELLO_MAX];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        edge_clienthello_t ch;
        size_t n = client_hello(bad[i], NULL, buf, sizeof buf);
        assert_int_equal(edge_clienthello_parse(buf, n, &ch), EDGE_CLIENTHELLO_DONE);
        if (ch.eligible)
            fail_msg("\"%s\" eligible", bad[i]);
        assert_true(ch.has_sni);
    }
}

static void test_malformed_input_is_left_to_tls(void **state)
{
    (void)state;
    edge_clienthello_t ch;
    const uint8_t http[] = "GET / HTTP/1.1\r\n";
    assert_int_equal(edge_clienthello_parse(http, sizeof http - 1, &ch), EDGE_CLIENTHELLO_OTHER);
    const uint8_t huge_record[] = {22, 3, 1, 0x40, 0x01}; /* 16385 bytes: too long */
    assert_int_equal(edge_clienthello_parse(huge_record, 5, &ch), EDGE_CLIENTHELLO_OTHER);
    const uint8_t not_hello[] = {22, 3, 1, 0, 4, 2, 0, 0, 0}; /* a ServerHello */
    assert_int_equal(edge_clienthello_parse(not_hello, sizeof not_hello, &ch),
                     EDGE_CLIENTHELLO_OTHER);
    /* Random flips of a real ClientHello: any answer but never a read past the end (ASan). */
    uint8_t buf[EDGE_CLIENTHELLO_MAX];
    size_t n = client_hello("flip.example.com", "h2", buf, sizeof buf);
    srand(14);
    for (int round = 0; round < 20000; round++) {
        uint8_t *p = malloc(n);
        memcpy(p, buf, n);
        for (int k = 0; k < 1 + rand() % 4; k++)
            p[5 + (size_t)rand() % (n - 5)] = (uint8_t)rand();
        edge_clienthello_rc_t rc = edge_clienthello_parse(p, n, &ch);
        assert_true(rc == EDGE_CLIENTHELLO_DONE || rc == EDGE_CLIENTHELLO_OTHER ||
                    rc == EDGE_CLIENTHELLO_MORE);
        if (ch.eligible)
            assert_true(strlen(ch.name) >= 3 && strlen(ch.name) <= 253);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sni_and_alpn_of_a_real_client_hello),
        cmocka_unit_test(test_every_truncation_asks_for_more),
        cmocka_unit_test(test_hostile_names_are_not_eligible),
        cmocka_unit_test(test_malformed_input_is_left_to_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
