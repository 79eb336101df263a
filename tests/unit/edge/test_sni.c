/* SPDX-License-Identifier: Apache-2.0 */
/* test_sni.c - in-memory TLS handshakes (BIO pairs) against the edge's SSL_CTX */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "edge/sni.h"
#include "shared/mem.h"
#include "tests/unit/edge/testcert.h"

static edge_sni_t g_sni;
static edge_cert_t *g_fallback;
static edge_cert_t *g_ip; /* SANs 127.0.0.1 and ::1 */

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
    g_ip = edge_test_cert_san("ip", "IP:127.0.0.1,IP:::1");
    edge_certmap_put(m, g_ip);
    int rc = edge_sni_init(&g_sni, m, &err);
    edge_certmap_release(m);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    edge_sni_dispose(&g_sni);
    edge_cert_release(g_fallback);
    edge_cert_release(g_ip);
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
    if (memcmp(g_ip->sha256, md, 32) == 0)
        return "ip";
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
    unsigned char *der = NULL;
    int der_len = i2d_X509(peer, &der);
    assert_int_equal((size_t)der_len, fresh->leaf_len);
    assert_memory_equal(der, fresh->leaf_der, fresh->leaf_len);
    OPENSSL_free(der);
    X509_free(peer);
    /* The connection made before the swap still works. */
    char buf[4];
    assert_int_equal(SSL_write(before.server, "y", 1), 1);
    assert_int_equal(SSL_read(before.client, buf, sizeof buf), 1);
    edge_cert_release(fresh);
    conn_free(&before);
    conn_free(&after);
}

/* ---- IP-address certificates: chosen by the connection's local address ---- */

static const char *choose(const edge_certmap_t *m, const char *sni, const char *local,
                          edge_match_t *how)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (local != NULL && inet_pton(AF_INET, local, &in->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (local != NULL && inet_pton(AF_INET6, local, &in6->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    edge_cert_t *c = edge_sni_choose0(m, sni, local != NULL ? (struct sockaddr *)&ss : NULL, how);
    return c == g_fallback ? "fallback" : c->name;
}

static void test_choice_by_local_address_then_fallback(void **state)
{
    (void)state;
    const struct {
        const char *sni, *local, *want;
        edge_match_t how;
    } cases[] = {
        {NULL, "127.0.0.1", "ip", EDGE_MATCH_IP},
        {NULL, "::1", "ip", EDGE_MATCH_IP},
        {NULL, "::ffff:127.0.0.1", "ip", EDGE_MATCH_IP}, /* dual-stack socket, IPv4 client */
        {NULL, "10.9.8.7", "fallback", EDGE_MATCH_FALLBACK},
        {NULL, NULL, "fallback", EDGE_MATCH_FALLBACK},
        {"127.0.0.1", "10.9.8.7", "ip", EDGE_MATCH_IP}, /* an IP literal sent as SNI */
        {"0:0::1", NULL, "ip", EDGE_MATCH_IP},
        {"10.1.1.1", "::1", "ip", EDGE_MATCH_IP},       /* an unknown literal: the local address */
        {"a.test", "127.0.0.1", "a", EDGE_MATCH_EXACT}, /* a name is chosen by name */
        {"x.w.test", "::1", "w", EDGE_MATCH_WILDCARD},
        {"nope.test", "127.0.0.1", "fallback", EDGE_MATCH_FALLBACK},
        {"host1", "127.0.0.1", "fallback", EDGE_MATCH_FALLBACK}, /* a name ending in a digit */
        {"1.2.3", "::1", "fallback", EDGE_MATCH_FALLBACK},
    };
    edge_certmap_t *m = edge_sni_current0(&g_sni);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        edge_match_t how = EDGE_MATCH_EXACT;
        const char *got = choose(m, cases[i].sni, cases[i].local, &how);
        if (strcmp(got, cases[i].want) != 0 || how != cases[i].how)
            fail_msg("case %zu (%s, %s): got %s/%d, want %s/%d", i, cases[i].sni, cases[i].local,
                     got, how, cases[i].want, cases[i].how);
    }
    /* Without an IP-address certificate nothing changes: the fallback, as before. */
    edge_certmap_t *none = edge_certmap_clone(m, 0);
    assert_int_equal(edge_certmap_delete(none, "ip"), 1);
    edge_match_t how = EDGE_MATCH_IP;
    assert_string_equal(choose(none, NULL, "127.0.0.1", &how), "fallback");
    assert_int_equal(how, EDGE_MATCH_FALLBACK);
    assert_string_equal(choose(none, "127.0.0.1", "127.0.0.1", &how), "fallback");
    edge_certmap_release(none);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* What the choice costs a handshake (~1 ms of crypto): printed, and bounded loosely. */
static void test_choice_cost(void **state)
{
    (void)state;
    enum { N = 200000 };
    edge_certmap_t *m = edge_sni_current0(&g_sni);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_storage ss;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof in), 0);
    double t0 = now_ns();
    for (int i = 0; i < N; i++)
        assert_non_null(edge_certmap_get0(m, "a.test", NULL));
    double t1 = now_ns();
    for (int i = 0; i < N; i++)
        assert_non_null(edge_sni_choose0(m, "a.test", NULL, NULL));
    double t2 = now_ns();
    for (int i = 0; i < N; i++) {
        socklen_t len = sizeof ss;
        assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
        assert_ptr_equal(edge_sni_choose0(m, NULL, (struct sockaddr *)&ss, NULL), g_ip);
    }
    double t3 = now_ns();
    for (int i = 0; i < N; i++)
        assert_ptr_equal(edge_sni_choose0(m, NULL, (struct sockaddr *)&ss, NULL), g_ip);
    double t4 = now_ns();
    close(fd);
    print_message("[ perf ] per ClientHello: name lookup %.0f ns; the same through the IP-aware "
                  "choice %.0f ns; no SNI: address lookup %.0f ns, with getsockname %.0f ns\n",
                  (t1 - t0) / N, (t2 - t1) / N, (t4 - t3) / N, (t3 - t2) / N);
    assert_true((t3 - t2) / N < 50000); /* far below a handshake even under sanitizers */
}

/* A loopback TCP connection (`family`; AF_INET6 bound to "::ffff:127.0.0.1" for a v4-mapped
 * server side) with the server SSL on the accepted socket, so getsockname sees its address. */
typedef struct tcp {
    conn_t c;
    int fds[2];
} tcp_t;

static void tcp_pair(const char *server_addr, int fds[2])
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    int fam = strchr(server_addr, ':') != NULL ? AF_INET6 : AF_INET;
    if (fam == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, server_addr, &in->sin_addr);
        len = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, server_addr, &in6->sin6_addr);
        len = sizeof *in6;
    }
    int lfd = socket(fam, SOCK_STREAM, 0), zero = 0;
    assert_true(lfd >= 0);
    if (fam == AF_INET6)
        setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(lfd, (struct sockaddr *)&ss, len) != 0 || listen(lfd, 4) != 0)
        skip(); /* no IPv6 loopback here */
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    int mapped = fam == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr);
    if (mapped) { /* the client connects over IPv4 */
        struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = in6->sin6_port};
        memcpy(&v4.sin_addr, &in6->sin6_addr.s6_addr[12], 4);
        memcpy(in, &v4, sizeof v4);
        len = sizeof v4;
    }
    fds[0] = socket(mapped ? AF_INET : fam, SOCK_STREAM, 0);
    assert_int_equal(connect(fds[0], (struct sockaddr *)&ss, len), 0);
    fds[1] = accept(lfd, NULL, NULL);
    assert_true(fds[1] >= 0);
    close(lfd);
    for (int i = 0; i < 2; i++)
        fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
}

static int step(SSL *ssl, int rc)
{
    if (rc == 1)
        return 1;
    int e = SSL_get_error(ssl, rc);
    assert_true(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
    return 0;
}

static void tcp_handshake(tcp_t *t, const char *server_addr, const char *sni, SSL_SESSION *resume)
{
    tcp_pair(server_addr, t->fds);
    SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_session_cache_mode(cctx, SSL_SESS_CACHE_CLIENT);
    t->c.client = SSL_new(cctx);
    SSL_CTX_free(cctx);
    t->c.server = SSL_new(g_sni.ctx);
    SSL_set_fd(t->c.client, t->fds[0]);
    SSL_set_fd(t->c.server, t->fds[1]);
    SSL_set_connect_state(t->c.client);
    SSL_set_accept_state(t->c.server);
    if (sni != NULL)
        SSL_set_tlsext_host_name(t->c.client, sni);
    if (resume != NULL)
        SSL_set_session(t->c.client, resume);
    int dc = 0, ds = 0, got = 0;
    char buf[4];
    for (int i = 0; i < 2000 && !(dc && ds && got); i++) {
        dc = dc || step(t->c.client, SSL_do_handshake(t->c.client));
        ds = ds || step(t->c.server, SSL_do_handshake(t->c.server));
        if (dc && ds && i % 2 == 0) /* one byte: the client also reads the session tickets */
            SSL_write(t->c.server, "x", 1);
        if (dc && ds)
            got = SSL_read(t->c.client, buf, sizeof buf) > 0;
        if (!(dc && ds && got))
            usleep(200);
    }
    assert_true(dc && ds && got);
}

static void tcp_free(tcp_t *t)
{
    conn_free(&t->c);
    close(t->fds[0]);
    close(t->fds[1]);
}

static void test_no_sni_over_tcp_gets_ip_certificate(void **state)
{
    (void)state;
    const char *addrs[] = {"127.0.0.1", "::1", "::ffff:127.0.0.1"};
    for (size_t i = 0; i < 3; i++) {
        tcp_t t;
        tcp_handshake(&t, addrs[i], NULL, NULL);
        if (strcmp(served(&t.c), "ip") != 0)
            fail_msg("no SNI on %s: served %s", addrs[i], served(&t.c));
        tcp_free(&t);
    }
    tcp_t t; /* an IP literal as SNI, and a name still by name */
    tcp_handshake(&t, "127.0.0.1", "::1", NULL);
    assert_string_equal(served(&t.c), "ip");
    tcp_free(&t);
    tcp_handshake(&t, "::1", "b.test", NULL);
    assert_string_equal(served(&t.c), "b.test");
    tcp_free(&t);
}

/* A session made under the IP-address certificate resumes only under it. */
static void test_ip_session_bound_to_ip_certificate(void **state)
{
    (void)state;
    for (int tls12 = 0; tls12 < 2; tls12++) {
        tcp_t first, same, other;
        if (tls12)
            SSL_CTX_set_max_proto_version(g_sni.ctx, TLS1_2_VERSION);
        tcp_handshake(&first, "127.0.0.1", NULL, NULL);
        assert_string_equal(served(&first.c), "ip");
        SSL_SESSION *sess = SSL_get1_session(first.c.client);
        assert_int_equal(SSL_SESSION_is_resumable(sess), 1);
        tcp_handshake(&same, "::1", NULL, sess);
        assert_int_equal(SSL_session_reused(same.c.client), 1); /* positive control */
        tcp_handshake(&other, "127.0.0.1", "a.test", sess);
        assert_int_equal(SSL_session_reused(other.c.server), 0);
        assert_string_equal(served(&other.c), "a.test");
        SSL_CTX_set_max_proto_version(g_sni.ctx, 0);
        SSL_SESSION_free(sess);
        tcp_free(&first);
        tcp_free(&same);
        tcp_free(&other);
    }
}

/* Whether the client of `c` was served `cert` (by the leaf's SHA-256). */
static int served_cert(const conn_t *c, const edge_cert_t *cert)
{
    X509 *peer = SSL_get1_peer_certificate(c->client);
    unsigned char md[32];
    unsigned int len = 0;
    X509_digest(peer, EVP_sha256(), md, &len);
    X509_free(peer);
    return memcmp(cert->sha256, md, 32) == 0;
}

static int g_bad_calls;

static void on_bad(const edge_cert_t *cert, const cp_err_t *err)
{
    g_bad_calls++;
    assert_string_equal(cert->name, "bad");
    assert_non_null(strstr(err->msg, "does not match"));
}

/* Certificates are parsed at their first handshake and kept in a cache of at most --cert-cache:
 * every name is still served its own certificate when the cache is smaller than the table, and
 * the cache never holds more. */
static void test_cold_certificates_parsed_on_demand_cache_bounded(void **state)
{
    (void)state;
    enum { N = 5 };
    edge_certmap_t *prev = edge_certmap_retain(edge_sni_current0(&g_sni));
    edge_certmap_t *next = edge_certmap_clone(prev, 0);
    edge_cert_t *certs[N];
    for (int i = 0; i < N; i++) {
        char name[16], dns[32];
        snprintf(name, sizeof name, "c%d", i);
        snprintf(dns, sizeof dns, "c%d.test", i);
        const char *names[] = {dns};
        certs[i] = edge_test_cert(name, names, 1, NULL);
        edge_certmap_put(next, certs[i]);
    }
    edge_certmap_release(edge_sni_swap(&g_sni, next));
    edge_cert_cache_set_max(2);
    edge_cert_cache_stats_t before, after;
    edge_cert_cache_stats(&before);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++) {
            char dns[32];
            snprintf(dns, sizeof dns, "c%d.test", i);
            conn_t c;
            handshake(&c, dns, NULL, round == 0 ? TLS1_3_VERSION : TLS1_2_VERSION);
            assert_true(served_cert(&c, certs[i]));
            conn_free(&c);
            edge_cert_cache_stats(&after);
            assert_true(after.held <= 2);
        }
    assert_true(after.misses - before.misses >= 2 * N); /* each evicted before its turn came */
    assert_true(after.evictions > before.evictions);
    edge_cert_cache_set_max(EDGE_CERT_CACHE_DEFAULT);
    edge_certmap_release(edge_sni_swap(&g_sni, prev));
    for (int i = 0; i < N; i++)
        edge_cert_release(certs[i]);
}

/* A certificate whose key turns out not to be its leaf's when it is first parsed for a handshake
 * (edge_cert_new checks it before, so this swaps the key afterwards) is never served: the
 * fallback is, the hook is told once, it is counted, and later handshakes skip it at once. */
static void test_bad_certificate_at_first_handshake_gets_fallback(void **state)
{
    (void)state;
    const char *names[] = {"bad.test"}, *other[] = {"other.test"};
    edge_cert_t *bad = edge_test_cert("bad", names, 1, NULL);
    char *chain = NULL, *key = NULL;
    edge_test_pem(other, 1, NULL, &chain, &key);
    cp_secure_free(bad->key_pem, bad->key_len + 1);
    bad->key_pem = key; /* taken over: freed with the cert */
    bad->key_len = strlen(key);
    free(chain);
    edge_certmap_t *prev = edge_certmap_retain(edge_sni_current0(&g_sni));
    edge_certmap_t *next = edge_certmap_clone(prev, 0);
    edge_certmap_put(next, bad);
    edge_certmap_release(edge_sni_swap(&g_sni, next));
    edge_sni_set_on_bad(&g_sni, on_bad);
    edge_cert_cache_stats_t st0, st1;
    edge_cert_cache_stats(&st0);
    unsigned long long fb = atomic_load(&g_sni.handshakes[EDGE_MATCH_FALLBACK]);
    for (int i = 0; i < 2; i++) {
        conn_t c;
        handshake(&c, "bad.test", NULL, TLS1_3_VERSION);
        assert_true(served_cert(&c, g_fallback));
        conn_free(&c);
    }
    edge_cert_cache_stats(&st1);
    assert_int_equal(g_bad_calls, 1);
    assert_int_equal(st1.bad - st0.bad, 1);
    assert_true(edge_cert_is_bad(bad));
    assert_int_equal(atomic_load(&g_sni.handshakes[EDGE_MATCH_FALLBACK]) - fb, 2);
    edge_sni_set_on_bad(&g_sni, NULL);
    edge_certmap_release(edge_sni_swap(&g_sni, prev));
    edge_cert_release(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sni_chooses_exact_wildcard_and_fallback),
        cmocka_unit_test(test_tls12_works_and_tls11_refused),
        cmocka_unit_test(test_session_not_resumable_across_names_tls13),
        cmocka_unit_test(test_session_not_resumable_across_names_tls12),
        cmocka_unit_test(test_swap_serves_new_certificate_to_next_handshake),
        cmocka_unit_test(test_choice_by_local_address_then_fallback),
        cmocka_unit_test(test_no_sni_over_tcp_gets_ip_certificate),
        cmocka_unit_test(test_ip_session_bound_to_ip_certificate),
        cmocka_unit_test(test_cold_certificates_parsed_on_demand_cache_bounded),
        cmocka_unit_test(test_bad_certificate_at_first_handshake_gets_fallback),
        cmocka_unit_test(test_choice_cost),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
