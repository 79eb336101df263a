/* SPDX-License-Identifier: Apache-2.0 */
/* test_edge_ondemand.c - issue 14: on-demand TLS behind a real load balancer. Two edges
 * (--on-demand, two loops each) behind Debian's haproxy in TCP mode, round-robin; one controller
 * (--on-demand-allow=*.shop.test) and Pebble, which validates HTTP-01 through haproxy's HTTP
 * frontend; clients connect only to haproxy's TLS frontend.
 *   - 50 concurrent handshakes for one new allowed name, spread over both edges: exactly one ACME
 *     order; every handshake succeeds with the new certificate or (past --on-demand-wait) the
 *     fallback; the certificate is an ordinary one marked on_demand;
 *   - a refused name: the fallback at once, no order, no certificate;
 *   - an allowed name the CA refuses: the first handshake is held for --on-demand-wait and gets the
 *     fallback, then the controller answers COOLDOWN and handshakes go on at once;
 *   - 1,000 handshakes with random refused (and hostile) names: no order, while a concurrent client
 *     on a known name sees no failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "tests/support/controller.h"
#include "tests/support/edge.h"
#include "tests/support/haproxy.h"
#include "tests/support/harness.h"
#include "tests/support/pebble.h"
#include "tests/support/tlsload.h"

#define ADMIN "admintok"
#define N_CONCURRENT 50
#define N_RANDOM 1000

static char g_dir[256];
static cp_test_redis_t g_redis;
static cp_test_pebble_t g_pebble;
static cp_test_controller_t g_ctl;
static cp_test_edge_t g_edges[2];
static cp_test_haproxy_t g_lb;
static int g_lb_tls, g_lb_http;
static SSL_CTX *g_ctx;

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin,edgetok:edge",
                                  "ASAN_OPTIONS=detect_leaks=0", NULL};

static const char *field(const char *name, const char *f)
{
    return cp_test_sh("curl -s -m 5 -H 'Authorization: Bearer " ADMIN "' "
                      "http://127.0.0.1:%d/v1/certificates/%s | python3 -c 'import json,sys\n"
                      "try: print(json.load(sys.stdin).get(\"%s\",\"\"), end=\"\")\n"
                      "except Exception: pass'",
                      g_ctl.http_port, name, f);
}

static int wait_state(const char *name, const char *state, double timeout_s)
{
    double t0 = cp_test_now_s();
    while (cp_test_now_s() - t0 < timeout_s) {
        if (strcmp(field(name, "state"), state) == 0)
            return 0;
        usleep(200 * 1000);
    }
    return -1;
}

static long metric(const cp_test_edge_t *e, const char *line)
{
    return atol(cp_test_sh("curl -s http://127.0.0.1:%d/metrics | "
                           "awk -v k='%s' '$1 == k {print $2}' | head -1",
                           e->admin_port, line));
}

static long edges_metric(const char *line)
{
    return metric(&g_edges[0], line) + metric(&g_edges[1], line);
}

typedef struct probe {
    pthread_t tid;
    const char *sni;
    pthread_barrier_t *start;
    int rc;
    double seconds;
    char serial[128];
} probe_t;

static void *probe_main(void *arg)
{
    probe_t *p = arg;
    pthread_barrier_wait(p->start);
    double t0 = cp_test_now_s();
    p->rc = cp_test_tls_probe(g_ctx, g_lb_tls, p->sni, NULL, p->serial, sizeof p->serial);
    p->seconds = cp_test_now_s() - t0;
    return NULL;
}

static void test_concurrent_handshakes_for_a_new_name_make_one_order(void **state)
{
    (void)state;
    const char *name = "new.shop.test";
    int orders0 = cp_test_pebble_new_orders(&g_pebble);
    static probe_t p[N_CONCURRENT];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N_CONCURRENT);
    for (int i = 0; i < N_CONCURRENT; i++) {
        p[i] = (probe_t){.sni = name, .start = &start};
        pthread_create(&p[i].tid, NULL, probe_main, &p[i]);
    }
    for (int i = 0; i < N_CONCURRENT; i++)
        pthread_join(p[i].tid, NULL);
    pthread_barrier_destroy(&start);
    if (wait_state(name, "VALID", 60) != 0) {
        cp_test_controller_dump_log(&g_ctl, 30);
        cp_test_edge_dump_log(&g_edges[0], 20);
    }
    assert_string_equal(field(name, "state"), "VALID");
    assert_string_equal(field(name, "onDemand"), "True");
    char serial[128];
    snprintf(serial, sizeof serial, "%s", field(name, "serial"));
    int fresh = 0, fallback = 0, failed = 0;
    double max_fresh = 0, max_all = 0;
    for (int i = 0; i < N_CONCURRENT; i++) {
        if (p[i].rc != 0)
            failed++;
        else if (strcasecmp(p[i].serial, serial) == 0)
            fresh++, max_fresh = p[i].seconds > max_fresh ? p[i].seconds : max_fresh;
        else
            fallback++;
        max_all = p[i].seconds > max_all ? p[i].seconds : max_all;
    }
    sleep(2); /* an order made late would show by now */
    int orders = cp_test_pebble_new_orders(&g_pebble) - orders0;
    print_message("[ ondemand ] %d concurrent handshakes for %s: %d new certificate (slowest "
                  "%.2f s), %d fallback, %d failed; slowest %.2f s; ACME orders: %d\n",
                  N_CONCURRENT, name, fresh, max_fresh, fallback, failed, max_all, orders);
    print_message(
        "[ ondemand ] edges: asks %ld, resumed with the certificate %ld, "
        "with the fallback %ld\n",
        edges_metric("certplane_edge_ondemand_asks_total"),
        edges_metric("certplane_edge_ondemand_handshakes_total{outcome=\"certificate\"}"),
        edges_metric("certplane_edge_ondemand_handshakes_total{outcome=\"fallback_wait\"}"));
    assert_int_equal(failed, 0);
    assert_int_equal(fresh + fallback, N_CONCURRENT);
    assert_int_equal(orders, 1);
    assert_true(fresh > 0); /* Pebble issues in well under --on-demand-wait */
    /* both edges held handshakes (round-robin spread them) */
    assert_true(metric(&g_edges[0], "certplane_edge_ondemand_asks_total") >= 1);
    assert_true(metric(&g_edges[1], "certplane_edge_ondemand_asks_total") >= 1);
    /* the next handshake, on either edge, gets the certificate */
    for (int i = 0; i < 4; i++) {
        char s[128];
        assert_int_equal(cp_test_tls_probe(g_ctx, g_lb_tls, name, NULL, s, sizeof s), 0);
        assert_string_equal(s, serial);
    }
    /* the edges report serving it: the controller keeps its last use (--on-demand-unused-after) */
    double t0 = cp_test_now_s();
    const char *used = "";
    while (cp_test_now_s() - t0 < 10) {
        used = cp_test_sh("redis-cli -p %d HGET ondemand:used %s", g_redis.port, name);
        if (atoll(used) > 0)
            break;
        usleep(200 * 1000);
    }
    print_message("[ ondemand ] last use recorded: %s", used);
    assert_true(atoll(used) > 0);
}

static void test_a_refused_name_gets_the_fallback_and_no_order(void **state)
{
    (void)state;
    int orders0 = cp_test_pebble_new_orders(&g_pebble);
    char s[128];
    for (int i = 0; i < 4; i++) { /* both edges, first ask and cached refusal */
        double t0 = cp_test_now_s();
        assert_int_equal(cp_test_tls_probe(g_ctx, g_lb_tls, "evil.other.test", NULL, s, sizeof s),
                         0);
        double took = cp_test_now_s() - t0;
        print_message("[ ondemand ] refused name: fallback in %.3f s\n", took);
        assert_true(took < 2.0);
    }
    sleep(1);
    assert_int_equal(cp_test_pebble_new_orders(&g_pebble), orders0);
    assert_string_equal(field("evil.other.test", "state"), "");
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep "
                               "'certplane_ondemand_requests_total{decision=\"refused\","
                               "reason=\"pattern\"}'",
                               g_ctl.http_port);
    print_message("[ ondemand ] controller: %s", m);
    assert_non_null(strstr(m, "pattern"));
}

/* Allowed, but the CA refuses it (Pebble's domain blocklist): the issuance fails at once. The first
 * handshake is held for the whole --on-demand-wait and gets the fallback; afterwards the controller
 * answers COOLDOWN, so the other edge sends its handshake on at once. */
static void test_past_the_wait_the_fallback_then_cooldown(void **state)
{
    (void)state;
    char s[128];
    double t0 = cp_test_now_s();
    assert_int_equal(cp_test_tls_probe(g_ctx, g_lb_tls, "blocked.shop.test", NULL, s, sizeof s), 0);
    double first = cp_test_now_s() - t0;
    assert_int_equal(wait_state("blocked.shop.test", "FAILED", 30), 0);
    t0 = cp_test_now_s();
    assert_int_equal(cp_test_tls_probe(g_ctx, g_lb_tls, "blocked.shop.test", NULL, s, sizeof s), 0);
    double second = cp_test_now_s() - t0;
    print_message("[ ondemand ] issuance fails: first handshake held %.2f s (the fallback), the "
                  "next (other edge) %.3f s; %s\n",
                  first, second, field("blocked.shop.test", "lastError"));
    assert_true(first > 9.0 && first < 13.0); /* --on-demand-wait=10s */
    assert_true(second < 2.0);
    assert_true(
        edges_metric("certplane_edge_ondemand_handshakes_total{outcome=\"fallback_wait\"}") >= 1);
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep "
                               "'certplane_ondemand_requests_total{decision=\"cooldown\"'",
                               g_ctl.http_port);
    assert_non_null(strstr(m, "reason=\"cooldown\""));
}

typedef struct flood {
    pthread_t tid;
    int n, ok, failed, seed;
} flood_t;

static void *flood_main(void *arg)
{
    flood_t *f = arg;
    unsigned seed = (unsigned)f->seed;
    for (int i = 0; i < f->n; i++) {
        char sni[300], s[128];
        int kind = rand_r(&seed) % 10;
        if (kind == 0)
            snprintf(sni, sizeof sni, "10.%d.%d.%d", rand_r(&seed) % 256, rand_r(&seed) % 256,
                     rand_r(&seed) % 256);
        else if (kind == 1)
            snprintf(sni, sizeof sni, "%070d.x%d.shop.test", rand_r(&seed), i); /* label > 63 */
        else
            snprintf(sni, sizeof sni, "r%08x%04d.nope.test", rand_r(&seed), i);
        if (cp_test_tls_probe(g_ctx, g_lb_tls, sni, NULL, s, sizeof s) == 0)
            f->ok++;
        else
            f->failed++;
    }
    return NULL;
}

static void test_random_refused_names_cost_no_order_and_no_failure(void **state)
{
    (void)state;
    int orders0 = cp_test_pebble_new_orders(&g_pebble);
    cp_test_tlsload_t known;
    cp_test_tlsload_opts_t ko = {.ctx = g_ctx,
                                 .port = g_lb_tls,
                                 .sni = "new.shop.test",
                                 .clients = 2,
                                 .max_probes = 1000000,
                                 .max_seconds = 120};
    assert_int_equal(cp_test_tlsload_start(&known, &ko), 0);
    enum { THREADS = 8 };
    flood_t f[THREADS];
    double t0 = cp_test_now_s();
    for (int i = 0; i < THREADS; i++) {
        f[i] = (flood_t){.n = N_RANDOM / THREADS, .seed = 14 + i};
        pthread_create(&f[i].tid, NULL, flood_main, &f[i]);
    }
    int ok = 0, failed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(f[i].tid, NULL);
        ok += f[i].ok;
        failed += f[i].failed;
    }
    double took = cp_test_now_s() - t0;
    cp_test_tlsload_stop(&known);
    sleep(1);
    int orders = cp_test_pebble_new_orders(&g_pebble) - orders0;
    print_message("[ ondemand ] %d random refused names: %d handshakes ok, %d failed in %.2f s "
                  "(%.0f/s); known-name client: %ld handshakes, %ld failed; ACME orders: %d\n",
                  N_RANDOM, ok, failed, took, N_RANDOM / took, atomic_load(&known.probes),
                  cp_test_tlsload_failures(&known), orders);
    print_message(
        "[ ondemand ] edges: asks %ld, refused answers %ld, fallback at once %ld\n",
        edges_metric("certplane_edge_ondemand_asks_total"),
        edges_metric("certplane_edge_ondemand_refused_total"),
        edges_metric("certplane_edge_ondemand_handshakes_total{outcome=\"fallback_refused\"}"));
    assert_int_equal(failed, 0);
    assert_int_equal(orders, 0);
    assert_int_equal(cp_test_tlsload_failures(&known), 0);
    assert_true(atomic_load(&known.probes) > 0);
    assert_int_equal(atomic_load(&known.served_other), 0); /* always the issued certificate */
}

static int start_edge(int i)
{
    char ctl[64], id[32];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    snprintf(id, sizeof id, "--edge-id=edge-%c", 'a' + i);
    const char *ondemand =
        getenv("CP_TEST_NO_ONDEMAND") != NULL ? "--on-demand=false" : "--on-demand";
    const char *args[] = {ctl,
                          id,
                          "--threads=2",
                          "--report-interval=1s",
                          ondemand,
                          "--on-demand-wait=10s",
                          "--default-upstream=respond:200:ok",
                          NULL};
    const char *env[] = {"CERTPLANE_EDGE_TOKEN=edgetok", "ASAN_OPTIONS=detect_leaks=0", NULL};
    return cp_test_edge_start(&g_edges[i], g_dir, args, env);
}

static int start_lb(void)
{
    cp_test_haproxy_frontend_t fe[2] = {
        {.port = g_lb_tls,
         .backends = {g_edges[0].https_port, g_edges[1].https_port},
         .n_backends = 2},
        {.port = g_lb_http,
         .backends = {g_edges[0].http_port, g_edges[1].http_port},
         .n_backends = 2},
    };
    return cp_test_haproxy_start(&g_lb, g_dir, fe, 2);
}

static int group_setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("cp-ondemand-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    g_lb_tls = cp_test_free_port();
    g_lb_http = cp_test_free_port();
    cp_test_pebble_opts_t po = {
        .http_port = g_lb_http, .tls_port = g_lb_tls, .blocked_domain = "blocked.shop.test"};
    if (cp_test_pebble_start(&g_pebble, &po) != 0)
        return -1;
    char provider[400], ca[400];
    snprintf(provider, sizeof provider, "--acme-provider=%s", g_pebble.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", g_pebble.ca_file);
    const char *args[] = {provider,
                          ca,
                          "--workers=2",
                          "--acme-email=ops@example.com",
                          "--edge-ttl=10s",
                          "--on-demand-allow=*.shop.test",
                          "--on-demand-max-per-hour=1000",
                          NULL};
    if (cp_test_controller_start(&g_ctl, g_redis.url, g_dir, args, g_ctl_env) != 0 ||
        start_edge(0) != 0 || start_edge(1) != 0 || start_lb() != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        double t0 = cp_test_now_s();
        while (strstr(cp_test_sh("curl -s http://127.0.0.1:%d/readyz", g_edges[i].admin_port),
                      "ok") == NULL &&
               cp_test_now_s() - t0 < 20)
            usleep(100 * 1000);
    }
    sleep(2); /* both edges reported: the controller waits for them before a challenge */
    g_ctx = SSL_CTX_new(TLS_client_method());
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    SSL_CTX_free(g_ctx);
    cp_test_haproxy_stop(&g_lb);
    cp_test_edge_stop(&g_edges[0]);
    cp_test_edge_stop(&g_edges[1]);
    cp_test_controller_stop(&g_ctl);
    cp_test_pebble_stop(&g_pebble);
    cp_test_redis_stop(&g_redis);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_handshakes_for_a_new_name_make_one_order),
        cmocka_unit_test(test_a_refused_name_gets_the_fallback_and_no_order),
        cmocka_unit_test(test_past_the_wait_the_fallback_then_cooldown),
        cmocka_unit_test(test_random_refused_names_cost_no_order_and_no_failure),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
