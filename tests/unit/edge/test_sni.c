/* SPDX-License-Identifier: Apache-2.0 */
/* test_sni.c - in-memory TLS handshakes (BIO pairs) against the edge's SSL_CTX */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "edge/sni.h"
#include "tests/unit/edge/testcert.h"

static edge_sni_t g_sni;
static edge_cert_t *g_fallback;

static void put(edge_certmap_t *m, const char *name, const char *const *names, size_t n)
{
    edge_cert_t *c = edge_test_cert(name, names, n, NULL);
    edge_certmap_put(m, c);
    edge_cert_release(c);
}

static int group_setup(void **state)
{
    (void)state;
    cp_err_t err = {0};
    if (edge_cert_new_self_signed("fallback.invalid", &g_fallback, &err) != 0)
        return -1;
    edge_certmap_t *m = edge_certmap_new(g_fallback);
    const char *a[] = {"a.test"}, *b[] = {"b.test"}, *w[] = {"*.w.test"};
    put(m, "a", a, 1);
    put(m, "b", b, 1);
    put(m, "w", w, 1);
    int rc = edge_sni_init(&g_sni, m, &err);
    edge_certmap_release(m);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    edge_sni_dispose(&g_sni);
    edge_cert_release(g_fallback);
    return 0;
}

typedef struct conn {
    SSL *client;
    SSL *server;
} conn_t;

/* Runs a handshake between a fresh client (SNI `name` or none, optional session to resume, TLS
 * version pinned to `version`) and a server SSL of the edge's context, in memory. */
static void handshake(conn_t *c, const char *name, SSL_SESSION *resume, int version)
{
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(cctx, version);
    SSL_CTX_set_max_proto_version(cctx, version);
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
    c->client = SSL_new(cctx);
    SSL_CTX_free(cctx); /* the SSL keeps its own reference */
    c->server = SSL_new(g_sni.ctx);
    BIO *cb, *sb;
    assert_int_equal(BIO_new_bio_pair(&cb, 0, &sb, 0), 1);
    SSL_set_bio(c->client, cb, cb);
    SSL_set_bio(c->server, sb, sb);
    SSL_set_connect_state(c->client);
    SSL_set_accept_state(c->server);
    if (name != NULL)
        SSL_set_tlsext_host_name(c->client, name);
    if (resume != NULL)
        SSL_set_session(c->client, resume);
    int done_c = 0, done_s = 0;
    for (int i = 0; i < 50 && !(done_c && done_s); i++) {
        if (!done_c) {
            int rc = SSL_do_handshake(c->client);
            done_c = rc == 1;
            if (rc <= 0)
                assert_true(SSL_get_error(c->client, rc) == SSL_ERROR_WANT_READ);
        }
        if (!done_s) {
            int rc = SSL_do_handshake(c->server);
            done_s = rc == 1;
            if (rc <= 0)
                assert_true(SSL_get_error(c->server, rc) == SSL_ERROR_WANT_READ);
        }
    }
    assert_true(done_c && done_s);
    /* One byte each way, so the client also reads TLS 1.3 NewSessionTicket messages. */
    char buf[4];
    assert_int_equal(SSL_write(c->server, "x", 1), 1);
    assert_int_equal(SSL_read(c->client, buf, sizeof buf), 1);
}

static void conn_free(conn_t *c)
{
    SSL_free(c->client);
    SSL_free(c->server);
}

/* The name of the certificate the client saw: compared by the leaf's SHA-256. */
static const char *served(const conn_t *c)
{
    static const char *names[] = {"a.test", "b.test", "x.w.test"};
    X509 *peer = SSL_get1_peer_certificate(c->client);
    assert_non_null(peer);
    unsigned char md[32];
    unsigned int len = 0;
    X509_digest(peer, EVP_sha256(), md, &len);
    X509_free(peer);
    edge_certmap_t *m = edge_sni_current0(&g_sni);
    for (size_t i = 0; i < 3; i++)
        if (memcmp(edge_certmap_get0(m, names[i], NULL)->sha256, md, 32) == 0)
            return names[i];
    return memcmp(g_fallback->sha256, md, 32) == 0 ? "fallback" : "?";
}

static void test_sni_chooses_exact_wildcard_and_fallback(void **state)
{
    (void)state;
    const struct {
        const char *sni, *want;
    } cases[] = {{"a.test", "a.test"},     {"B.TEST", "b.test"},       {"x.w.test", "x.w.test"},
                 {"y.w.test", "x.w.test"}, {"z.y.w.test", "fallback"}, {"nope.test", "fallback"},
                 {NULL, "fallback"}};
    unsigned long long before = atomic_load(&g_sni.handshakes[EDGE_MATCH_FALLBACK]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        conn_t c;
        handshake(&c, cases[i].sni, NULL, TLS1_3_VERSION);
        assert_string_equal(served(&c), cases[i].want);
        conn_free(&c);
    }
    assert_int_equal(atomic_load(&g_sni.handshakes[EDGE_MATCH_FALLBACK]) - before, 3);
}

static void test_tls12_works_and_tls11_refused(void **state)
{
    (void)state;
    conn_t c;
    handshake(&c, "a.test", NULL, TLS1_2_VERSION);
    assert_int_equal(SSL_version(c.server), TLS1_2_VERSION);
    assert_string_equal(served(&c), "a.test");
    /* An ECDHE AEAD suite from the intermediate list. */
    assert_non_null(strstr(SSL_get_cipher_name(c.server), "ECDHE"));
    conn_free(&c);

    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(cctx, 0);
    SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(cctx, TLS1_1_VERSION);
    SSL_CTX_set_cipher_list(cctx, "ALL:@SECLEVEL=0");
    SSL *cl = SSL_new(cctx), *sv = SSL_new(g_sni.ctx);
    BIO *cb, *sb;
    BIO_new_bio_pair(&cb, 0, &sb, 0);
    SSL_set_bio(cl, cb, cb);
    SSL_set_bio(sv, sb, sb);
    SSL_set_connect_state(cl);
    SSL_set_accept_state(sv);
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        SSL_do_handshake(cl);
        if (SSL_do_handshake(sv) == 1)
            ok = 1;
    }
    assert_false(ok);
    ERR_clear_error();
    SSL_free(cl);
    SSL_free(sv);
    SSL_CTX_free(cctx);
}

/* A session made for one certificate resumes only under the same certificate. */
static void check_sessions_bound(int version)
{
    conn_t first, same, other;
    handshake(&first, "a.test", NULL, version);
    SSL_SESSION *sess = SSL_get1_session(first.client);
    assert_non_null(sess);
    assert_int_equal(SSL_SESSION_is_resumable(sess), 1);

    handshake(&same, "a.test", sess, version);
    assert_int_equal(SSL_session_reused(same.client), 1); /* positive control */

    handshake(&other, "b.test", sess, version);
    assert_int_equal(SSL_session_reused(other.client), 0);
    assert_int_equal(SSL_session_reused(other.server), 0);
    assert_string_equal(served(&other), "b.test");
    SSL_SESSION_free(sess);
    conn_free(&first);
    conn_free(&same);
    conn_free(&other);
}

static void test_session_not_resumable_across_names_tls13(void **state)
{
    (void)state;
    check_sessions_bound(TLS1_3_VERSION);
}

static void test_session_not_resumable_across_names_tls12(void **state)
{
    (void)state;
    check_sessions_bound(TLS1_2_VERSION);
    /* Also with the stateful session cache instead of tickets. */
    SSL_CTX_set_options(g_sni.ctx, SSL_OP_NO_TICKET);
    check_sessions_bound(TLS1_2_VERSION);
    SSL_CTX_clear_options(g_sni.ctx, SSL_OP_NO_TICKET);
}

static void test_swap_serves_new_certificate_to_next_handshake(void **state)
{
    (void)state;
    conn_t before, after;
    handshake(&before, "a.test", NULL, TLS1_3_VERSION);
    edge_certmap_t *next = edge_certmap_clone(edge_sni_current0(&g_sni), 0);
    const char *a[] = {"a.test"};
    edge_cert_t *fresh = edge_test_cert("a", a, 1, NULL);
    edge_certmap_put(next, fresh);
    edge_certmap_release(edge_sni_swap(&g_sni, next));
    handshake(&after, "a.test", NULL, TLS1_3_VERSION);
    X509 *peer = SSL_get1_peer_certificate(after.client);
    assert_int_equal(X509_cmp(peer, fresh->leaf), 0);
    X509_free(peer);
    /* The connection made before the swap still works. */
    char buf[4];
    assert_int_equal(SSL_write(before.server, "y", 1), 1);
    assert_int_equal(SSL_read(before.client, buf, sizeof buf), 1);
    edge_cert_release(fresh);
    conn_free(&before);
    conn_free(&after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sni_chooses_exact_wildcard_and_fallback),
        cmocka_unit_test(test_tls12_works_and_tls11_refused),
        cmocka_unit_test(test_session_not_resumable_across_names_tls13),
        cmocka_unit_test(test_session_not_resumable_across_names_tls12),
        cmocka_unit_test(test_swap_serves_new_certificate_to_next_handshake),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
