/* SPDX-License-Identifier: Apache-2.0 */
/* test_edge_attacks.c - certplane-edge under attack (issue 15): an HTTP/2 rapid-reset flood, a
 * request with conflicting Content-Length headers, and bursts of slowloris connections; the edge
 * runs against a real controller and redis-server, the attackers are edge_attacks.py (python3-h2)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "tests/support/controller.h"
#include "tests/support/edge.h"
#include "tests/support/tlsload.h"
#include "tests/support/upstream.h"

#define SCRIPT CP_TEST_SOURCE_DIR "/tests/integration/edge_attacks.py"
#define MIB 1024L /* in the kB of /proc/PID/status */

/* Under ASan the edge's heap is ASan's (quarantine, shadow memory, no malloc_trim): its RSS says
 * nothing about the edge, so the memory bounds are checked in the normal build only. */
#if defined(__SANITIZE_ADDRESS__)
#define MEMORY_CHECKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMORY_CHECKED 0
#endif
#endif
#ifndef MEMORY_CHECKED
#define MEMORY_CHECKED 1
#endif

static cp_test_redis_t g_redis;
static cp_test_controller_t g_ctl;
static cp_test_edge_t g_edge;
static char g_dir[256];
static SSL_CTX *g_cctx;
static cp_test_upstream_t g_up; /* counts the connections that reach it */

/* ---- the edge's resident memory ---- */

static long edge_rss_kb(void)
{
    char path[64], line[256];
    long kb = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)g_edge.proc.pid);
    FILE *f = fopen(path, "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

/* Waits up to timeout_s for the RSS to come within limit_kb of base_kb; returns the last RSS. */
static long wait_rss_within(long base_kb, long limit_kb, double timeout_s)
{
    double end = cp_test_now_s() + timeout_s;
    long rss = edge_rss_kb();
    while (rss - base_kb >= limit_kb && cp_test_now_s() < end) {
        usleep(100000);
        rss = edge_rss_kb();
    }
    return rss;
}

/* ---- setup: a controller holding a certificate for attack.test and up.test, and an edge ---- */

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=admintok:admin,edgetok:edge",
                                  "ASAN_OPTIONS=detect_leaks=0", NULL};

static int import_certificate(void)
{
    const char *ctl = getenv("CP_CTL_BIN");
    const char *out = cp_test_sh(
        "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
        "-subj /CN=attack.test -addext subjectAltName=DNS:attack.test,DNS:up.test -keyout k.pem "
        "-out c.pem >/dev/null 2>&1 && %s --addr http://127.0.0.1:%d --token admintok import "
        "attack --cert c.pem --key k.pem 2>&1; echo rc=$?",
        g_dir, ctl != NULL ? ctl : "certplanectl", g_ctl.http_port);
    if (strstr(out, "rc=0") == NULL) {
        fprintf(stderr, "import failed: %s\n", out);
        return -1;
    }
    char serial[128];
    for (int i = 0; i < 100; i++) {
        if (cp_test_tls_probe(g_cctx, g_edge.https_port, "attack.test", "/", serial,
                              sizeof serial) == 0)
            return 0;
        usleep(100000);
    }
    fprintf(stderr, "the edge never served attack.test\n");
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max; /* the edge inherits it: 1,000 connections at once */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    g_cctx = SSL_CTX_new(TLS_client_method());
    if (cp_test_tmpdir("cp-edge-attacks-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0 ||
        cp_test_controller_start(&g_ctl, g_redis.url, g_dir, NULL, g_ctl_env) != 0 ||
        cp_test_upstream_start(&g_up) != 0)
        return -1;
    char ctl[64], up[96];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    snprintf(up, sizeof up, "--route=up.test=http://127.0.0.1:%d", g_up.port);
    const char *args[] = {ctl, up, "--route=attack.test=respond:200:ok", "--threads=2", NULL};
    char supp[600];
    snprintf(supp, sizeof supp, "LSAN_OPTIONS=suppressions=%s/tests/lsan.supp", CP_TEST_SOURCE_DIR);
    const char *env[] = {"CERTPLANE_EDGE_TOKEN=edgetok", supp, NULL};
    if (cp_test_edge_start(&g_edge, g_dir, args, env) != 0 || import_certificate() != 0) {
        cp_test_edge_dump_log(&g_edge, 30);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = cp_test_edge_stop(&g_edge);
    if (rc != 0)
        cp_test_edge_dump_log(&g_edge, 30);
    cp_test_controller_stop(&g_ctl);
    cp_test_redis_stop(&g_redis);
    cp_test_upstream_stop(&g_up);
    SSL_CTX_free(g_cctx);
    cp_test_rmrf(g_dir);
    return rc == 0 ? 0 : -1;
}

/* A plain TCP connection to 127.0.0.1:port (no byte sent), or -1. */
static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Whether the peer closed fd within timeout_ms (EOF or reset). */
static int closed_by_peer(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    return poll(&p, 1, timeout_ms) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/* ---- a concurrent client: HTTP/1.1 requests on a kept-alive TLS connection, timed ---- */

enum { MAX_SAMPLES = 20000 };

typedef struct bystander {
    pthread_t tid;
    atomic_int stop;
    int n, failed;
    double ms[MAX_SAMPLES];
    long peak_kb;
} bystander_t;

/* Opens a TLS connection to the edge for attack.test, or NULL. */
static SSL *bystander_connect(void)
{
    int fd = tcp_connect(g_edge.https_port);
    if (fd < 0)
        return NULL;
    SSL *ssl = SSL_new(g_cctx);
    SSL_set_tlsext_host_name(ssl, "attack.test");
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        close(fd);
        return NULL;
    }
    return ssl;
}

/* One GET on ssl; the respond route answers "ok" with a Content-Length. Returns 0 or -1. */
static int bystander_request(SSL *ssl)
{
    static const char req[] = "GET /bystander HTTP/1.1\r\nHost: attack.test\r\n\r\n";
    char buf[2048];
    size_t len = 0;
    if (SSL_write(ssl, req, sizeof req - 1) != (int)sizeof req - 1)
        return -1;
    while (len < sizeof buf - 1) {
        int n = SSL_read(ssl, buf + len, (int)(sizeof buf - 1 - len));
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\nok") != NULL)
            return strncmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
    }
    return -1;
}

static void bystander_close(SSL *ssl)
{
    if (ssl == NULL)
        return;
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
}

static void *bystander_main(void *arg)
{
    bystander_t *b = arg;
    SSL *ssl = bystander_connect();
    while (!atomic_load(&b->stop) && b->n < MAX_SAMPLES) {
        double t0 = cp_test_now_s();
        if (ssl == NULL || bystander_request(ssl) != 0) {
            b->failed++;
            bystander_close(ssl);
            ssl = bystander_connect();
        }
        b->ms[b->n++] = (cp_test_now_s() - t0) * 1000;
        long rss = edge_rss_kb();
        if (rss > b->peak_kb)
            b->peak_kb = rss;
        usleep(1000);
    }
    bystander_close(ssl);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double p99(bystander_t *b)
{
    qsort(b->ms, (size_t)b->n, sizeof b->ms[0], cmp_double);
    return b->ms[(size_t)(b->n * 99 / 100)];
}

/* ---- the attacks ---- */

static void test_rapid_reset_flood_gets_goaway_and_close_without_hurting_others(void **state)
{
    (void)state;
    long base = edge_rss_kb();
    static bystander_t bs; /* static: a failed assertion must not leak it (ASan's leak check) */
    bystander_t *b = &bs;
    memset(b, 0, sizeof *b);
    b->peak_kb = base;
    assert_int_equal(pthread_create(&b->tid, NULL, bystander_main, b), 0);
    usleep(200000);
    /* Cleartext HTTP/2 with prior knowledge on the plain HTTP listener: the same h2o HTTP/2
     * connection code as h2 over TLS, without TLS in the attacker's way. */
    char out[1024];
    snprintf(out, sizeof out, "%s",
             cp_test_sh("/usr/bin/python3 %s flood %d 200000 attack.test 2>&1", SCRIPT,
                        g_edge.http_port));
    usleep(300000);
    atomic_store(&b->stop, 1);
    pthread_join(b->tid, NULL);
    long after = wait_rss_within(base, 16 * MIB, MEMORY_CHECKED ? 5 : 0);
    double q = p99(b);
    fprintf(stderr,
            "flood: %s  bystander: %d requests, %d failed, p99 %.1f ms, max %.1f ms; RSS %ld kB "
            "-> peak %ld kB -> %ld kB\n",
            out, b->n, b->failed, q, b->ms[b->n - 1], base, b->peak_kb, after);
    /* Every connection: GOAWAY with ENHANCE_YOUR_CALM (11), then closed by the edge. */
    int conns = -1, goaways = -2, closed = -3;
    const char *p = strstr(out, "\"connections\": ");
    assert_non_null(p);
    assert_int_equal(sscanf(p,
                            "\"connections\": %d, \"goaway_enhance_your_calm\": %d, "
                            "\"closed\": %d",
                            &conns, &goaways, &closed),
                     3);
    assert_non_null(strstr(out, "\"pairs_sent\": 200000,"));
    /* Every connection is closed by the edge. The GOAWAY in front of the close can be lost to the
     * TCP reset a close with unread attack bytes provokes (seen once under ASan in CI: 82 GOAWAYs
     * on 83 connections), so most, not all, must show it. */
    assert_int_equal(closed, conns);
    assert_true(goaways >= conns - conns / 10 - 1);
    assert_true(b->n >= 20);
    assert_int_equal(b->failed, 0);
    assert_true(q < 50);
    if (MEMORY_CHECKED) {
        assert_true(b->peak_kb - base < 64 * MIB);
        assert_true(after - base < 16 * MIB);
    }
}

static void test_conflicting_content_length_gets_400_and_never_reaches_the_upstream(void **state)
{
    (void)state;
    long before = atomic_load(&g_up.requests);
    const char *out =
        cp_test_sh("/usr/bin/python3 %s smuggle %d up.test 2>&1", SCRIPT, g_edge.https_port);
    fprintf(stderr, "smuggle: %s", out);
    usleep(300000);
    assert_non_null(strstr(out, "\"statuses\": [400]"));
    assert_non_null(strstr(out, "\"closed\": true"));
    assert_int_equal(atomic_load(&g_up.requests), before);
    /* The route itself works: a plain request reaches the upstream. */
    char serial[128];
    assert_int_equal(
        cp_test_tls_probe(g_cctx, g_edge.https_port, "up.test", "/", serial, sizeof serial), 0);
    assert_int_equal(atomic_load(&g_up.requests), before + 1);
}

static void test_memory_returns_after_slowloris_bursts(void **state)
{
    (void)state;
    long base = edge_rss_kb(), peak = base;
    for (int burst = 0; burst < 3; burst++) {
        const char *out = cp_test_sh("/usr/bin/python3 %s slowloris %d 1000 1 attack.test 2>&1",
                                     SCRIPT, g_edge.https_port);
        long rss = edge_rss_kb();
        if (rss > peak)
            peak = rss;
        fprintf(stderr, "slowloris burst %d: %s  RSS %ld kB\n", burst + 1, out, rss);
        assert_non_null(strstr(out, "\"connections\": 1000"));
    }
    long after = wait_rss_within(base, 16 * MIB, MEMORY_CHECKED ? 10 : 0);
    fprintf(stderr, "slowloris: RSS %ld kB -> peak %ld kB -> %ld kB\n", base, peak, after);
    if (MEMORY_CHECKED)
        assert_true(after - base < 16 * MIB);
    /* And the edge still serves. */
    char serial[128];
    assert_int_equal(
        cp_test_tls_probe(g_cctx, g_edge.https_port, "attack.test", "/", serial, sizeof serial), 0);
}

static void test_connections_beyond_max_connections_are_closed_at_once(void **state)
{
    (void)state;
    enum { CAP = 100, EXTRA = 50 };
    cp_test_edge_t e;
    char ctl[64];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    const char *args[] = {ctl, "--max-connections=100", "--threads=1", NULL};
    const char *env[] = {"CERTPLANE_EDGE_TOKEN=edgetok", "ASAN_OPTIONS=detect_leaks=0", NULL};
    assert_int_equal(cp_test_edge_start(&e, g_dir, args, env), 0);
    usleep(300000); /* the harness's own port probes are closed by now */
    int fds[CAP + EXTRA], closed_early = 0, closed_late = 0;
    for (int i = 0; i < CAP + EXTRA; i++) {
        fds[i] = tcp_connect(e.http_port);
        assert_true(fds[i] >= 0);
    }
    for (int i = 0; i < CAP + EXTRA; i++)
        if (i < CAP)
            closed_early += closed_by_peer(fds[i], 0);
        else
            closed_late += closed_by_peer(fds[i], 2000);
    usleep(200000);
    for (int i = 0; i < CAP; i++)
        closed_early += closed_by_peer(fds[i], 0);
    const char *metrics = cp_test_sh("curl -s http://127.0.0.1:%d/metrics", e.admin_port);
    fprintf(stderr, "cap: %d of the first %d closed, %d of the next %d closed\n", closed_early, CAP,
            closed_late, EXTRA);
    assert_int_equal(closed_early, 0);
    assert_int_equal(closed_late, EXTRA);
    assert_non_null(strstr(metrics, "certplane_edge_connections_rejected_total 50\n"));
    for (int i = 0; i < CAP + EXTRA; i++)
        close(fds[i]);
    /* Below the cap again: served. */
    usleep(200000);
    const char *code =
        cp_test_sh("curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d/x", e.http_port);
    assert_string_equal(code, "308");
    assert_int_equal(cp_test_edge_stop(&e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rapid_reset_flood_gets_goaway_and_close_without_hurting_others),
        cmocka_unit_test(test_conflicting_content_length_gets_400_and_never_reaches_the_upstream),
        cmocka_unit_test(test_memory_returns_after_slowloris_bursts),
        cmocka_unit_test(test_connections_beyond_max_connections_are_closed_at_once),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
