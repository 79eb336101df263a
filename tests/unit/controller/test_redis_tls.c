/* SPDX-License-Identifier: Apache-2.0 */
/* test_redis_tls.c - ctl_redis_tls against a TLS-only redis-server: hiredis over the relayed
 * socketpair carries values far larger than the relay's buffers, either side's close reaches the
 * other, bad files, a silent server and a closed port fail within bounds with clear messages */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "controller/store/redis_tls.h"
#include "controller/store/store.h"
#include "shared/mem.h"
#include "tests/support/harness.h"

static char g_dir[256];
static cp_test_proc_t g_redis;
static int g_port;
static ctl_redis_tls_t *g_tls;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ca.pem, a server certificate for 127.0.0.1 (srv), and a second key that matches nothing. */
static void make_certs(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.pem -days 2 -subj '/CN=unit CA' "
             "-addext basicConstraints=critical,CA:TRUE 2>/dev/null && "
             "printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key "
             "-out srv.csr -subj '/O=unit' 2>/dev/null && openssl x509 -req -in srv.csr -CA ca.pem "
             "-CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem 2>/dev/null && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key",
             g_dir);
    assert_int_equal(system(cmd), 0);
}

static void start_redis(void)
{
    char port[16], cert[300], key[300], ca[300], log[300];
    snprintf(port, sizeof port, "%d", g_port);
    snprintf(cert, sizeof cert, "%s/srv.pem", g_dir);
    snprintf(key, sizeof key, "%s/srv.key", g_dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    snprintf(log, sizeof log, "%s/redis.log", g_dir);
    char *argv[] = {"redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--tls-port",
                    port,
                    "--tls-cert-file",
                    cert,
                    "--tls-key-file",
                    key,
                    "--tls-ca-cert-file",
                    ca,
                    "--tls-auth-clients",
                    "no",
                    "--save",
                    "",
                    "--dir",
                    g_dir,
                    "--daemonize",
                    "no",
                    NULL};
    assert_int_equal(cp_test_spawn(&g_redis, "redis-server", argv, NULL, log), 0);
    assert_int_equal(cp_test_wait_port(g_port, 10000), 0);
}

static redisContext *tls_context(void)
{
    int fd = -1;
    cp_err_t err = {0};
    int rc = ctl_redis_tls_connect(g_tls, "127.0.0.1", g_port, "test", 2000, 5000, &fd, &err);
    if (rc != 0)
        fail_msg("connect: %s", err.msg);
    redisContext *c = redisConnectFd(fd);
    assert_non_null(c);
    struct timeval tv = {5, 0};
    assert_int_equal(redisSetTimeout(c, tv), REDIS_OK);
    return c;
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(cp_test_tmpdir("redistlsunit", g_dir, sizeof g_dir), 0);
    make_certs();
    g_port = cp_test_free_port();
    start_redis();
    char ca[300];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    ctl_redis_tls_opts_t o = {.ca_file = ca};
    cp_err_t err = {0};
    assert_int_equal(ctl_redis_tls_new(&o, &g_tls, &err), 0);
    /* the server may need a moment after its port opens */
    for (int i = 0; i < 50; i++) {
        int fd = -1;
        if (ctl_redis_tls_connect(g_tls, "127.0.0.1", g_port, "t", 1000, 1000, &fd, &err) == 0) {
            close(fd);
            break;
        }
        usleep(100 * 1000);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ctl_redis_tls_free(g_tls);
    cp_test_stop(&g_redis, SIGTERM, 10000);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(g_dir);
    return 0;
}

/* 4 connections, each pipelining 8 SETs of 256 KiB then reading them back: 8 MiB through relay
 * buffers of 16 KiB, partial writes on both sides, nothing lost or reordered. */
static void test_relay_carries_values_larger_than_its_buffers(void **state)
{
    (void)state;
    enum { CONNS = 4, VALUES = 8, SIZE = 256 * 1024 };
    redisContext *c[CONNS];
    char *v = cp_xmalloc(SIZE);
    for (int i = 0; i < CONNS; i++)
        c[i] = tls_context();
    for (int i = 0; i < CONNS; i++)
        for (int k = 0; k < VALUES; k++) {
            memset(v, 'a' + (i * VALUES + k) % 26, SIZE);
            redisAppendCommand(c[i], "SET big:%d:%d %b", i, k, v, (size_t)SIZE);
        }
    for (int i = 0; i < CONNS; i++)
        for (int k = 0; k < VALUES; k++) {
            redisReply *r = NULL;
            assert_int_equal(redisGetReply(c[i], (void **)&r), REDIS_OK);
            assert_int_equal(r->type, REDIS_REPLY_STATUS);
            freeReplyObject(r);
            redisAppendCommand(c[i], "GET big:%d:%d", i, k);
        }
    for (int i = 0; i < CONNS; i++) {
        for (int k = 0; k < VALUES; k++) {
            redisReply *r = NULL;
            assert_int_equal(redisGetReply(c[i], (void **)&r), REDIS_OK);
            assert_int_equal(r->type, REDIS_REPLY_STRING);
            assert_int_equal(r->len, SIZE);
            memset(v, 'a' + (i * VALUES + k) % 26, SIZE);
            assert_memory_equal(r->str, v, SIZE);
            freeReplyObject(r);
        }
        redisFree(c[i]);
    }
    free(v);
}

static long long connected_clients(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO clients");
    assert_non_null(r);
    const char *p = strstr(r->str, "connected_clients:");
    long long n = p ? atoll(p + strlen("connected_clients:")) : -1;
    freeReplyObject(r);
    return n;
}

/* hiredis freeing its context closes the TLS connection (Redis counts one client less), and the
 * store API works over rediss:// with the same context. */
static void test_closing_hiredis_closes_the_tls_connection(void **state)
{
    (void)state;
    redisContext *watch = tls_context(), *c = tls_context();
    long long before = connected_clients(watch);
    redisFree(c);
    long long t0 = now_ms();
    while (connected_clients(watch) != before - 1 && now_ms() - t0 < 3000)
        usleep(20 * 1000);
    assert_int_equal(connected_clients(watch), before - 1);
    redisFree(watch);

    char url[64];
    snprintf(url, sizeof url, "rediss://127.0.0.1:%d", g_port);
    ctl_store_opts_t o = {.tls = g_tls};
    ctl_store_t *s = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_new(url, &o, &s, &err), 0);
    if (ctl_store_ping(s, &err) != 0)
        fail_msg("ping: %s", err.msg);
    ctl_store_free(s);
}

/* The file errors name the file and never show key material. */
static void test_new_refuses_bad_files(void **state)
{
    (void)state;
    char ca[300], cert[300], key[300], other[300];
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    snprintf(cert, sizeof cert, "%s/srv.pem", g_dir);
    snprintf(key, sizeof key, "%s/srv.key", g_dir);
    snprintf(other, sizeof other, "%s/other.key", g_dir);
    const ctl_redis_tls_opts_t bad[] = {
        {.ca_file = "/nonexistent/ca.pem"},
        {.ca_file = ca, .cert_file = cert},
        {.ca_file = ca, .cert_file = cert, .key_file = other},
        {.ca_file = ca, .cert_file = key, .key_file = key},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctl_redis_tls_t *t = NULL;
        cp_err_t err = {0};
        assert_int_equal(ctl_redis_tls_new(&bad[i], &t, &err), CP_EINVAL);
        assert_null(t);
        assert_null(strstr(err.msg, "PRIVATE KEY"));
        assert_true(err.msg[0] != '\0');
    }
    ctl_redis_tls_opts_t good = {.ca_file = ca, .cert_file = cert, .key_file = key};
    ctl_redis_tls_t *t = NULL;
    assert_int_equal(ctl_redis_tls_new(&good, &t, NULL), 0);
    ctl_redis_tls_free(t);
}

/* A server that accepts TCP but never speaks TLS: the connect timeout bounds the handshake. A
 * closed port: refused at once. */
static void test_silent_server_and_closed_port_fail_within_the_timeout(void **state)
{
    (void)state;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    int fd = -1;
    cp_err_t err = {0};
    long long t0 = now_ms();
    assert_int_equal(ctl_redis_tls_connect(g_tls, "127.0.0.1", ntohs(a.sin_port), "silent", 300,
                                           1000, &fd, &err),
                     CP_EUNAVAIL);
    long long took = now_ms() - t0;
    assert_true(took >= 250 && took < 2000);
    assert_string_equal(err.msg, "redis silent: TLS handshake timed out");
    close(l); /* the port is closed now */
    assert_int_equal(ctl_redis_tls_connect(g_tls, "127.0.0.1", ntohs(a.sin_port), "closed", 300,
                                           1000, &fd, &err),
                     CP_EUNAVAIL);
    assert_string_equal(err.msg, "redis closed: Connection refused");
}

/* Redis killed: an idle context's socket reads EOF at once (what the store checks before each
 * command), and a command fails at once rather than after its timeout. */
static void test_redis_killed_is_seen_at_once(void **state)
{
    (void)state;
    redisContext *c = tls_context();
    redisReply *r = redisCommand(c, "PING");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(cp_test_stop(&g_redis, SIGKILL, 5000), 0);
    long long t0 = now_ms();
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    char b;
    assert_int_equal(recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT), 0);
    r = redisCommand(c, "PING");
    assert_null(r);
    assert_true(now_ms() - t0 < 2000);
    redisFree(c);
    start_redis();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis may write to its end after the relay closed it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_carries_values_larger_than_its_buffers),
        cmocka_unit_test(test_closing_hiredis_closes_the_tls_connection),
        cmocka_unit_test(test_new_refuses_bad_files),
        cmocka_unit_test(test_silent_server_and_closed_port_fail_within_the_timeout),
        cmocka_unit_test(test_redis_killed_is_seen_at_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
