/* SPDX-License-Identifier: Apache-2.0 */
/* test_fault_matrix.c - issue 15's fault matrix against real processes: Redis killed and restarted
 * mid-issuance, a controller kill -9'd mid-issuance and restarted, a controller killed for good
 * with a second one running, and the edge's controller stopped while the edge serves. After each
 * fault every certificate is VALID within 60 s, Pebble saw exactly one order per certificate, and a
 * TLS load on the edge never failed a handshake.
 *
 * Faults must land mid-issuance, not by luck of timing: an edge record that reported once and
 * never applies anything ("frozen", live for --edge-ttl) makes every worker wait in the challenge
 * propagation step, after newOrder was recorded and before the CA validates. The fault strikes
 * there; the frozen edge ages out a few seconds later and the issuances go on.
 *
 * Pebble validates HTTP-01 through the edge (it answers challenges from its Watch stream and stays
 * up all along), as a load balancer in front of edges would; Redis runs with appendfsync always, so
 * a kill -9 loses nothing it acknowledged and the test measures certplane, not Redis's fsync
 * window. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <openssl/ssl.h>

#include "controller/store/store.h"
#include "controller/store/store_edges.h"
#include "tests/support/controller.h"
#include "tests/support/edge.h"
#include "tests/support/harness.h"
#include "tests/support/pebble.h"
#include "tests/support/tlsload.h"

#define ADMIN "admintok"
#define CERTS_PER_FAULT 4
/* The frozen edge counts as live this long (--edge-ttl): the window in which a fault strikes. */
#define EDGE_TTL "--edge-ttl=6s"

static char g_dir[256];
static cp_test_redis_t g_redis;
static cp_test_pebble_t g_pebble;
static cp_test_controller_t g_a, g_b;
static int g_a_grpc, g_a_http, g_edge_http;
static cp_test_edge_t g_edge;
static SSL_CTX *g_cctx;
static cp_test_tlsload_t g_load;
static int g_created; /* certificates requested in all: Pebble must see exactly this many orders */

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin,edgetok:edge",
                                  "ASAN_OPTIONS=detect_leaks=0", NULL};

static int start_controller(cp_test_controller_t *c, const char *id, int grpc, int http)
{
    char provider[400], ca[400], idf[64];
    snprintf(provider, sizeof provider, "--acme-provider=%s", g_pebble.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", g_pebble.ca_file);
    snprintf(idf, sizeof idf, "--controller-id=%s", id);
    /* --job-timeout stays long: only the presence takeover can make recovery fast. */
    const char *args[] = {provider,
                          ca,
                          idf,
                          "--acme-email=ops@example.com",
                          "--workers=2",
                          "--job-timeout=10m",
                          "--acme-timeout=60s",
                          "--challenge-propagation-timeout=30s",
                          EDGE_TTL,
                          NULL};
    return cp_test_controller_start_on(c, grpc, http, g_redis.url, g_dir, args, g_ctl_env);
}

/* Field `field` (a JSON string) of GET /v1/certificates/name through controller port, "" when
 * unreachable. */
static const char *cert_field(int http_port, const char *name, const char *field)
{
    return cp_test_sh("curl -s -m 5 -H 'Authorization: Bearer " ADMIN "' "
                      "http://127.0.0.1:%d/v1/certificates/%s | python3 -c 'import json,sys\n"
                      "try: print(json.load(sys.stdin).get(\"%s\",\"\"), end=\"\")\n"
                      "except Exception: pass'",
                      http_port, name, field);
}

static void create(int http_port, const char *name)
{
    const char *out = cp_test_sh(
        "curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer " ADMIN "' "
        "-H 'Content-Type: application/json' -d '{\"name\":\"%s\",\"domains\":"
        "[\"%s.example.com\"],\"keyType\":\"EC_P256\"}' http://127.0.0.1:%d/v1/certificates",
        name, name, http_port);
    assert_string_equal(out, "200");
    g_created++;
}

/* Waits until every certificate of names is VALID (asked through the controller on port, which
 * may be down for a while); returns the seconds it took or -1. */
static double wait_valid(int http_port, char names[][32], int n, int timeout_s)
{
    double t0 = cp_test_now_s();
    while (cp_test_now_s() - t0 < timeout_s) {
        int valid = 0;
        for (int i = 0; i < n; i++)
            valid += strcmp(cert_field(http_port, names[i], "state"), "VALID") == 0;
        if (valid == n)
            return cp_test_now_s() - t0;
        usleep(200 * 1000);
    }
    return -1;
}

static long long redis_int(const char *cmd)
{
    return atoll(cp_test_sh("redis-cli -p %d %s", g_redis.port, cmd));
}

/* Every write fsynced before Redis acknowledges it (CONFIG SET does not survive a restart). */
static int redis_durable(void)
{
    return strstr(cp_test_sh("redis-cli -p %d CONFIG SET appendfsync always", g_redis.port),
                  "OK") != NULL
               ? 0
               : -1;
}

/* Reports a frozen edge (applied revision 0, seen now): workers wait for it at each challenge. */
static void freeze_edges(void)
{
    ctl_store_t *s = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &s, &err), 0);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    ctl_store_edge_t e = {.edge_id = "edge-frozen",
                          .applied_revision = 0,
                          .last_seen_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000};
    assert_int_equal(ctl_store_edge_report(s, &e, &err), 0);
    ctl_store_free(s);
}

/* Freezes the edges, creates CERTS_PER_FAULT certificates named <prefix>-<i> through alternating
 * controllers, and returns once every one has its challenge presented (all held mid-issuance) and
 * the controller with id `holder` (NULL: any) holds jobs. */
static void hold_mid_issuance(const char *prefix, char names[][32], const char *holder)
{
    freeze_edges();
    long long before = redis_int("EVAL \"return #redis.call('KEYS','challenge:*')\" 0");
    for (int i = 0; i < CERTS_PER_FAULT; i++) {
        snprintf(names[i], 32, "%s-%d", prefix, i);
        create(i % 2 != 0 || g_b.proc.pid == 0 ? g_a_http : g_b.http_port, names[i]);
    }
    bool held = false;
    for (int i = 0; i < 200 && !held; i++) {
        long long now = redis_int("EVAL \"return #redis.call('KEYS','challenge:*')\" 0");
        held = now - before >= CERTS_PER_FAULT &&
               (holder == NULL ||
                strstr(cp_test_sh("redis-cli -p %d XPENDING jobs controllers", g_redis.port),
                       holder) != NULL);
        if (!held)
            usleep(50 * 1000);
    }
    assert_true(held);
    usleep(500 * 1000);
}

/* After a fault: all VALID within 60 s, and still exactly one order per certificate. */
static void expect_recovered(const char *fault, char names[][32], double fault_end)
{
    double took = wait_valid(g_a_http, names, CERTS_PER_FAULT, 60);
    int orders = cp_test_pebble_new_orders(&g_pebble);
    print_message("[ fault ] %s: %d certificates VALID %.1f s after the fault ended; Pebble orders "
                  "%d for %d certificates; edge probes ok %ld, failed %ld\n",
                  fault, CERTS_PER_FAULT, took < 0 ? -1 : cp_test_now_s() - fault_end, orders,
                  g_created, (long)atomic_load(&g_load.ok), cp_test_tlsload_failures(&g_load));
    if (took < 0 || orders != g_created) {
        cp_test_controller_dump_log(&g_a, 30);
        if (g_b.proc.pid != 0)
            cp_test_controller_dump_log(&g_b, 30);
    }
    assert_true(took >= 0);
    assert_true(cp_test_now_s() - fault_end <= 60);
    assert_int_equal(orders, g_created);
    assert_int_equal(cp_test_tlsload_failures(&g_load), 0);
}

static void test_redis_killed_and_restarted_mid_issuance(void **state)
{
    (void)state;
    char names[CERTS_PER_FAULT][32];
    hold_mid_issuance("redis", names, NULL);
    assert_int_equal(cp_test_redis_crash_restart(&g_redis, SIGKILL, 3000), 0);
    assert_int_equal(redis_durable(), 0);
    expect_recovered("redis kill -9, down 3 s", names, cp_test_now_s());
}

/* Redis dies after the CA issued and before the commit: the certificate is kept in memory and
 * committed once Redis is back. The window is made wide by stopping Pebble the moment the order
 * record holds its key (finalize is being sent); the certificate cannot be committed before Pebble
 * runs again, and by then Redis is down. */
static void test_redis_killed_between_finalize_and_commit(void **state)
{
    (void)state;
    char names[1][32];
    bool caught = false;
    redisContext *rc = redisConnect("127.0.0.1", g_redis.port);
    assert_true(rc != NULL && rc->err == 0);
    for (int attempt = 0; attempt < 8 && !caught; attempt++) {
        snprintf(names[0], sizeof names[0], "commit-%d", attempt);
        char key[64];
        snprintf(key, sizeof key, "order:%s", names[0]);
        create(g_a_http, names[0]);
        /* The record holds a key from just before finalize until the commit deletes it. */
        for (double t0 = cp_test_now_s(); !caught && cp_test_now_s() - t0 < 30;) {
            redisReply *r = redisCommand(rc, "HEXISTS %s key", key);
            caught = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
            freeReplyObject(r);
        }
        assert_int_equal(kill(g_pebble.pebble.pid, SIGSTOP), 0);
        if (caught && strcmp(cert_field(g_a_http, names[0], "state"), "VALID") == 0)
            caught = false; /* it finished before Pebble stopped: try again */
        if (!caught)
            assert_int_equal(kill(g_pebble.pebble.pid, SIGCONT), 0);
    }
    redisFree(rc);
    assert_true(caught);
    usleep(500 * 1000);
    assert_int_equal(cp_test_stop(&g_redis.proc, SIGKILL, 2000), 0);
    assert_int_equal(kill(g_pebble.pebble.pid, SIGCONT), 0);
    sleep(3);
    assert_int_equal(cp_test_redis_crash_restart(&g_redis, SIGKILL, 0), 0);
    assert_int_equal(redis_durable(), 0);
    double took = wait_valid(g_a_http, names, 1, 60);
    int waited = atoi(
        cp_test_sh("cat '%s' '%s' | grep -c 'commit waits for Redis'", g_a.log_path, g_b.log_path));
    print_message("[ fault ] redis kill -9 between finalize and commit: VALID %.1f s after Redis "
                  "was back; commits that waited for Redis: %d; Pebble orders %d for %d "
                  "certificates\n",
                  took, waited, cp_test_pebble_new_orders(&g_pebble), g_created);
    assert_true(took >= 0);
    assert_true(waited >= 1);
    assert_int_equal(cp_test_pebble_new_orders(&g_pebble), g_created);
    assert_int_equal(cp_test_tlsload_failures(&g_load), 0);
}

static void test_controller_killed_mid_issuance_and_restarted(void **state)
{
    (void)state;
    char names[CERTS_PER_FAULT][32];
    hold_mid_issuance("restart", names, "ctl-a/");
    assert_int_equal(cp_test_stop(&g_a.proc, SIGKILL, 2000), 0);
    assert_int_equal(start_controller(&g_a, "ctl-a", g_a_grpc, g_a_http), 0);
    expect_recovered("controller A kill -9 and restart", names, cp_test_now_s());
}

static void test_controller_killed_for_good_with_a_second_running(void **state)
{
    (void)state;
    char names[CERTS_PER_FAULT][32];
    hold_mid_issuance("gone", names, "ctl-b/");
    assert_int_equal(cp_test_stop(&g_b.proc, SIGKILL, 2000), 0);
    expect_recovered("controller B kill -9 for good", names, cp_test_now_s());
    assert_true(atoi(cp_test_sh("grep -c 'its controller is gone' '%s'", g_a.log_path)) >= 1);
}

static void test_edge_serves_while_its_controller_is_stopped(void **state)
{
    (void)state;
    long ok0 = atomic_load(&g_load.ok);
    assert_int_equal(cp_test_controller_stop(&g_a), 0);
    sleep(4);
    long ok_down = atomic_load(&g_load.ok) - ok0;
    assert_int_equal(start_controller(&g_a, "ctl-a", g_a_grpc, g_a_http), 0);
    /* The edge reconnects (it must be on the stream again before a challenge can reach it: Pebble
     * validates through it); on a loaded machine that can take a while. The restarted controller
     * logs the watcher joining (the edge itself logs "up" only with the first message). */
    bool back = false;
    for (double t0 = cp_test_now_s(); !back && cp_test_now_s() - t0 < 30;) {
        back = atoi(cp_test_sh("grep -c 'joins at revision' '%s'", g_a.log_path)) > 0;
        if (!back)
            usleep(100 * 1000);
    }
    assert_true(back);
    /* The edge is back on the stream: a certificate issued now reaches it. */
    char names[1][32] = {"after"};
    create(g_a_http, names[0]);
    double valid_s = wait_valid(g_a_http, names, 1, 90);
    if (valid_s < 0) {
        cp_test_controller_dump_log(&g_a, 40);
        cp_test_edge_dump_log(&g_edge, 20);
    }
    assert_true(valid_s >= 0);
    char serial[128];
    snprintf(serial, sizeof serial, "%s", cert_field(g_a_http, "after", "serial"));
    double seen =
        cp_test_tls_wait_serial(g_cctx, g_edge.https_port, "after.example.com", serial, 30);
    print_message("[ fault ] edge's controller stopped 4 s: %ld handshakes served meanwhile; new "
                  "certificate on the edge %.1f s after it was VALID; failures %ld\n",
                  ok_down, seen, cp_test_tlsload_failures(&g_load));
    assert_true(ok_down > 0);
    assert_true(seen >= 0);
    assert_int_equal(cp_test_tlsload_failures(&g_load), 0);
    assert_int_equal(cp_test_pebble_new_orders(&g_pebble), g_created);
}

static int group_setup(void **state)
{
    (void)state;
    g_cctx = SSL_CTX_new(TLS_client_method());
    if (cp_test_tmpdir("cp-faults-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0 || redis_durable() != 0)
        return -1;
    g_a_grpc = cp_test_free_port();
    g_a_http = cp_test_free_port();
    g_edge_http = cp_test_free_port();
    cp_test_pebble_opts_t po = {.http_port = g_edge_http};
    if (cp_test_pebble_start(&g_pebble, &po) != 0 ||
        start_controller(&g_a, "ctl-a", g_a_grpc, g_a_http) != 0 ||
        start_controller(&g_b, "ctl-b", 0, 0) != 0)
        return -1;
    /* The edge follows A only, so stopping A really leaves it without a controller. */
    char ctl[64];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_a_grpc);
    const char *args[] = {ctl, "--threads=2", "--reconnect-max=1s", "--report-interval=1s", NULL};
    const char *env[] = {"CERTPLANE_EDGE_TOKEN=edgetok", "ASAN_OPTIONS=detect_leaks=0", NULL};
    if (cp_test_edge_start_http(&g_edge, g_dir, g_edge_http, args, env) != 0)
        return -1;
    /* A certificate the edge serves all along, under a TLS load that must never fail. */
    char steady[1][32] = {"steady"};
    g_created = 0;
    create(g_a_http, steady[0]);
    if (wait_valid(g_a_http, steady, 1, 60) < 0)
        return -1;
    char serial[128];
    snprintf(serial, sizeof serial, "%s", cert_field(g_a_http, "steady", "serial"));
    if (cp_test_tls_wait_serial(g_cctx, g_edge.https_port, "steady.example.com", serial, 30) < 0)
        return -1;
    cp_test_tlsload_opts_t lo = {.ctx = g_cctx,
                                 .port = g_edge.https_port,
                                 .sni = "steady.example.com",
                                 .clients = 2,
                                 .max_probes = 2000000,
                                 .max_seconds = 400,
                                 .pause_ms = 20};
    return cp_test_tlsload_start(&g_load, &lo) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_tlsload_stop(&g_load);
    print_message("[ fault ] edge under load all along: %ld handshakes, %ld failed (connect %ld, "
                  "handshake %ld)\n",
                  (long)g_load.ok, cp_test_tlsload_failures(&g_load), (long)g_load.failed_connect,
                  (long)g_load.failed_handshake);
    cp_test_edge_stop(&g_edge);
    cp_test_controller_stop(&g_a);
    if (g_b.proc.pid != 0)
        cp_test_controller_stop(&g_b);
    cp_test_pebble_stop(&g_pebble);
    cp_test_redis_stop(&g_redis);
    SSL_CTX_free(g_cctx);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_killed_and_restarted_mid_issuance),
        cmocka_unit_test(test_redis_killed_between_finalize_and_commit),
        cmocka_unit_test(test_controller_killed_mid_issuance_and_restarted),
        cmocka_unit_test(test_controller_killed_for_good_with_a_second_running),
        cmocka_unit_test(test_edge_serves_while_its_controller_is_stopped),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
