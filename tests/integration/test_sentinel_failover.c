/* SPDX-License-Identifier: Apache-2.0 */
/* test_sentinel_failover.c - issue 13: certplane on Redis Sentinel. A master, one replica and three
 * redis-sentinel processes; two controllers on redis+sentinel://; an edge under a TLS load; Pebble
 * behind the test ACME front (which records every order's identifiers). Certificates are created
 * and renewed through both controllers all along while the master is killed with kill -9 and the
 * sentinels promote the replica. Afterwards: every certificate whose create was acknowledged
 * exists and is VALID, no name got more orders than it had acknowledged requests, the edge never
 * failed a handshake, and the API was unavailable for a measured, bounded time. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "tests/support/acme_front.h"
#include "tests/support/controller.h"
#include "tests/support/edge.h"
#include "tests/support/harness.h"
#include "tests/support/pebble.h"
#include "tests/support/tlsload.h"

#define ADMIN "admintok"
#define N_SENTINELS 3
#define MAX_CERTS 200
#define RUN_S 24.0         /* certificates created and renewed this long ... */
#define KILL_AT_S 6.0      /* ... the master killed this far into it */
#define API_GAP_MAX_S 15.0 /* the stated bound on the API's unavailability */

static char g_dir[256], g_url[512];
static cp_test_redis_t g_master, g_replica;
static cp_test_proc_t g_sentinel[N_SENTINELS];
static int g_sentinel_port[N_SENTINELS];
static cp_test_pebble_t g_pebble;
static cp_test_front_t g_front;
static cp_test_controller_t g_ctl[2];
static cp_test_edge_t g_edge;
static SSL_CTX *g_cctx;
static cp_test_tlsload_t g_load;

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin,edgetok:edge",
                                  "ASAN_OPTIONS=detect_leaks=0", NULL};

typedef struct cert {
    char name[32];
    int acked_requests; /* acknowledged create (1) + acknowledged renews */
} cert_t;

static cert_t g_certs[MAX_CERTS];
static int g_n_certs;

/* ---- Redis replication and sentinels ---- */

static const char *sentinel_field(int i, const char *field)
{
    return cp_test_sh("redis-cli -p %d SENTINEL master mymaster 2>/dev/null | "
                      "grep -A1 -x '%s' | tail -1 | tr -d '\\n'",
                      g_sentinel_port[i], field);
}

static int start_sentinel(int i)
{
    char conf[400], name[32];
    g_sentinel_port[i] = cp_test_free_port();
    snprintf(conf, sizeof conf, "%s/sentinel-%d.conf", g_dir, i);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\n"
            "sentinel monitor mymaster 127.0.0.1 %d 2\n"
            "sentinel down-after-milliseconds mymaster 1000\n"
            "sentinel failover-timeout mymaster 10000\n"
            "sentinel parallel-syncs mymaster 1\n",
            g_sentinel_port[i], g_dir, g_master.port);
    fclose(f);
    char log[400];
    snprintf(log, sizeof log, "%s/sentinel-%d.log", g_dir, i);
    snprintf(name, sizeof name, "sentinel-%d", i);
    char *const argv[] = {"/usr/bin/redis-sentinel", conf, NULL};
    if (cp_test_spawn(&g_sentinel[i], name, argv, NULL, log) != 0)
        return -1;
    return cp_test_wait_port(g_sentinel_port[i], 10000);
}

/* Replica attached, every sentinel sees it and the two others. */
static int wait_topology(int timeout_s)
{
    double t0 = cp_test_now_s();
    while (cp_test_now_s() - t0 < timeout_s) {
        int ok = strstr(cp_test_sh("redis-cli -p %d INFO replication", g_replica.port),
                        "master_link_status:up") != NULL;
        for (int i = 0; ok && i < N_SENTINELS; i++)
            ok = strcmp(sentinel_field(i, "num-other-sentinels"), "2") == 0 &&
                 strcmp(sentinel_field(i, "num-slaves"), "1") == 0;
        if (ok)
            return 0;
        usleep(200 * 1000);
    }
    return -1;
}

/* The port the sentinels name as the master now (0: none or they disagree). */
static int master_port(void)
{
    int port = -1;
    for (int i = 0; i < N_SENTINELS; i++) {
        int p = atoi(cp_test_sh("redis-cli -p %d SENTINEL get-master-addr-by-name mymaster | "
                                "tail -1",
                                g_sentinel_port[i]));
        if (port >= 0 && p != port)
            return 0;
        port = p;
    }
    return port;
}

/* ---- the API ---- */

static int api(int ctl, const char *method, const char *path, const char *body)
{
    const char *out = cp_test_sh(
        "curl -s -o /dev/null -w '%%{http_code}' -m 5 -X %s -H 'Authorization: Bearer " ADMIN
        "' -H 'Content-Type: application/json' %s%s%s http://127.0.0.1:%d%s",
        method, body ? "-d '" : "", body ? body : "", body ? "'" : "", g_ctl[ctl].http_port, path);
    return atoi(out);
}

static const char *state_of(int ctl, const char *name)
{
    return cp_test_sh("curl -s -m 5 -H 'Authorization: Bearer " ADMIN "' "
                      "http://127.0.0.1:%d/v1/certificates/%s | python3 -c 'import json,sys\n"
                      "try: print(json.load(sys.stdin).get(\"state\",\"\"), end=\"\")\n"
                      "except Exception: pass'",
                      g_ctl[ctl].http_port, name);
}

/* Orders the front passed to Pebble (201) for name's domain. */
static int orders_for(json_t *orders, const char *name)
{
    char domain[64];
    snprintf(domain, sizeof domain, "%.40s.example.com", name);
    size_t i;
    json_t *o;
    int n = 0;
    json_array_foreach(orders, i, o)
    {
        json_t *id0 = json_array_get(json_object_get(o, "identifiers"), 0);
        const char *v = json_string_value(json_object_get(id0, "value"));
        n += json_integer_value(json_object_get(o, "status")) == 201 && v != NULL &&
             strcmp(v, domain) == 0;
    }
    return n;
}

static void test_master_killed_while_certificates_are_created_and_renewed(void **state)
{
    (void)state;
    int old_master = g_master.port;
    assert_int_equal(master_port(), old_master);
    double t0 = cp_test_now_s(), fail_since = -1, gap_max = 0, killed_at = -1;
    int calls = 0, failed_calls = 0, renews = 0;
    for (int i = 0; cp_test_now_s() - t0 < RUN_S && g_n_certs < MAX_CERTS; i++) {
        double now = cp_test_now_s() - t0;
        if (killed_at < 0 && now >= KILL_AT_S) {
            killed_at = now;
            /* Acknowledged writes waited for the replica (WAIT) before the crash. */
            const char *waits = cp_test_sh("redis-cli -p %d INFO commandstats | grep "
                                           "'^cmdstat_wait:' | cut -d= -f2 | cut -d, -f1",
                                           old_master);
            print_message("[ ha ] WAIT calls at the master before the crash: %s", waits);
            assert_true(atoi(waits) > 0);
            cp_test_stop(&g_master.proc, SIGKILL, 5000);
            print_message("[ ha ] master :%d killed with SIGKILL at %.1f s\n", old_master, now);
        }
        int code, ctl = i % 2;
        if (i % 3 == 2 && g_n_certs > 0) {
            cert_t *c = &g_certs[(i * 7) % g_n_certs];
            char path[96];
            snprintf(path, sizeof path, "/v1/certificates/%s:renew", c->name);
            code = api(ctl, "POST", path, "{}");
            c->acked_requests += code == 200;
            renews += code == 200;
        } else {
            cert_t *c = &g_certs[g_n_certs];
            char body[256];
            snprintf(c->name, sizeof c->name, "ha%d", i);
            snprintf(body, sizeof body,
                     "{\"name\":\"%s\",\"domains\":[\"%s.example.com\"],\"keyType\":\"EC_P256\"}",
                     c->name, c->name);
            code = api(ctl, "POST", "/v1/certificates", body);
            if (code == 200) {
                c->acked_requests = 1;
                g_n_certs++;
            }
        }
        calls++;
        /* 200, or 400 for a renewal refused while its certificate is still being issued. */
        bool up = code == 200 || code == 400 || code == 409;
        failed_calls += !up;
        now = cp_test_now_s() - t0;
        if (!up && fail_since < 0)
            fail_since = now;
        if (up && fail_since >= 0) {
            gap_max = now - fail_since > gap_max ? now - fail_since : gap_max;
            fail_since = -1;
        }
        usleep(150 * 1000);
    }
    if (fail_since >= 0)
        gap_max = cp_test_now_s() - t0 - fail_since > gap_max ? cp_test_now_s() - t0 - fail_since
                                                              : gap_max;
    int promoted = master_port();
    print_message("[ ha ] %d API calls (%d creates acknowledged, %d renewals), %d failed; API "
                  "unavailable at most %.2f s; sentinels now name :%d (replica was :%d)\n",
                  calls, g_n_certs, renews, failed_calls, gap_max, promoted, g_replica.port);
    assert_int_equal(promoted, g_replica.port);
    assert_true(gap_max <= API_GAP_MAX_S);

    /* Every acknowledged certificate exists and ends VALID. */
    double tv = cp_test_now_s();
    int valid = 0;
    while (cp_test_now_s() - tv < 90) {
        valid = 0;
        for (int i = 0; i < g_n_certs; i++)
            valid += strcmp(state_of(i % 2, g_certs[i].name), "VALID") == 0;
        if (valid == g_n_certs)
            break;
        sleep(1);
    }
    print_message("[ ha ] %d of %d acknowledged certificates VALID %.1f s after the run\n", valid,
                  g_n_certs, cp_test_now_s() - tv);
    if (valid != g_n_certs) {
        for (int i = 0; i < g_n_certs; i++)
            if (strcmp(state_of(0, g_certs[i].name), "VALID") != 0)
                print_message("[ ha ] %s: '%s'\n", g_certs[i].name, state_of(0, g_certs[i].name));
        cp_test_controller_dump_log(&g_ctl[0], 30);
        cp_test_controller_dump_log(&g_ctl[1], 30);
    }
    assert_int_equal(valid, g_n_certs);

    /* No name was ordered more often than it was asked for. */
    char *body = NULL;
    assert_int_equal(cp_test_front_get(&g_front, "/orders", &body), 0);
    json_t *orders = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(orders);
    int total = 0, over = 0;
    for (int i = 0; i < g_n_certs; i++) {
        int n = orders_for(orders, g_certs[i].name);
        total += n;
        if (n < 1 || n > g_certs[i].acked_requests) {
            over++;
            print_message("[ ha ] %s: %d orders for %d acknowledged requests\n", g_certs[i].name, n,
                          g_certs[i].acked_requests);
        }
    }
    json_decref(orders);
    print_message("[ ha ] %d orders at the CA for %d certificates and %d renewals\n", total,
                  g_n_certs, renews);
    assert_int_equal(over, 0);
    print_message("[ ha ] edge under load: %ld handshakes, %ld failed\n", (long)g_load.ok,
                  cp_test_tlsload_failures(&g_load));
    assert_true(g_load.ok > 0);
    assert_int_equal(cp_test_tlsload_failures(&g_load), 0);
}

/* ---- setup ---- */

static int start_controllers(void)
{
    char provider[400], ca[400];
    snprintf(provider, sizeof provider, "--acme-provider=%s", g_front.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", g_front.ca_file);
    for (int i = 0; i < 2; i++) {
        char id[32];
        snprintf(id, sizeof id, "--controller-id=ctl-%c", 'a' + i);
        const char *args[] = {provider,
                              ca,
                              id,
                              "--acme-email=ops@example.com",
                              "--workers=2",
                              "--redis-wait-timeout=500ms",
                              "--acme-timeout=60s",
                              "--edge-ttl=6s",
                              NULL};
        if (cp_test_controller_start(&g_ctl[i], g_url, g_dir, args, g_ctl_env) != 0)
            return -1;
    }
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    g_cctx = SSL_CTX_new(TLS_client_method());
    if (cp_test_tmpdir("cp-sentinel-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_master, NULL) != 0 || cp_test_redis_start(&g_replica, NULL) != 0)
        return -1;
    cp_test_sh("redis-cli -p %d CONFIG SET appendfsync always >/dev/null; "
               "redis-cli -p %d REPLICAOF 127.0.0.1 %d >/dev/null",
               g_master.port, g_replica.port, g_master.port);
    for (int i = 0; i < N_SENTINELS; i++)
        if (start_sentinel(i) != 0)
            return -1;
    if (wait_topology(30) != 0) {
        fprintf(stderr, "sentinels did not see the replica and each other\n");
        return -1;
    }
    snprintf(g_url, sizeof g_url,
             "redis+sentinel://127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/mymaster", g_sentinel_port[0],
             g_sentinel_port[1], g_sentinel_port[2]);
    int edge_http = cp_test_free_port();
    cp_test_pebble_opts_t po = {.http_port = edge_http};
    if (cp_test_pebble_start(&g_pebble, &po) != 0 ||
        cp_test_front_start(&g_front, &g_pebble, NULL) != 0 || start_controllers() != 0)
        return -1;
    char c1[64], c2[64];
    snprintf(c1, sizeof c1, "--controller=127.0.0.1:%d", g_ctl[0].grpc_port);
    snprintf(c2, sizeof c2, "--controller=127.0.0.1:%d", g_ctl[1].grpc_port);
    const char *args[] = {c1,  c2, "--threads=2", "--reconnect-max=1s", "--report-interval=1s",
                          NULL};
    const char *env[] = {"CERTPLANE_EDGE_TOKEN=edgetok", "ASAN_OPTIONS=detect_leaks=0", NULL};
    if (cp_test_edge_start_http(&g_edge, g_dir, edge_http, args, env) != 0)
        return -1;
    /* One certificate served all along under a TLS load. */
    if (api(0, "POST", "/v1/certificates",
            "{\"name\":\"steady\",\"domains\":[\"steady.example.com\"],\"keyType\":\"EC_P256\"}") !=
        200)
        return -1;
    double t0 = cp_test_now_s();
    while (strcmp(state_of(0, "steady"), "VALID") != 0 && cp_test_now_s() - t0 < 60)
        usleep(200 * 1000);
    char serial[128];
    snprintf(serial, sizeof serial, "%s",
             cp_test_sh("curl -s -m 5 -H 'Authorization: Bearer " ADMIN "' "
                        "http://127.0.0.1:%d/v1/certificates/steady | python3 -c 'import json,sys\n"
                        "print(json.load(sys.stdin).get(\"serial\",\"\"), end=\"\")'",
                        g_ctl[0].http_port));
    if (cp_test_tls_wait_serial(g_cctx, g_edge.https_port, "steady.example.com", serial, 30) < 0)
        return -1;
    cp_test_tlsload_opts_t lo = {.ctx = g_cctx,
                                 .port = g_edge.https_port,
                                 .sni = "steady.example.com",
                                 .clients = 2,
                                 .max_probes = 2000000,
                                 .max_seconds = 300,
                                 .pause_ms = 20};
    return cp_test_tlsload_start(&g_load, &lo) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_tlsload_stop(&g_load);
    cp_test_edge_stop(&g_edge);
    for (int i = 0; i < 2; i++)
        if (g_ctl[i].proc.pid != 0)
            cp_test_controller_stop(&g_ctl[i]);
    cp_test_front_stop(&g_front);
    cp_test_pebble_stop(&g_pebble);
    for (int i = 0; i < N_SENTINELS; i++)
        cp_test_stop(&g_sentinel[i], SIGTERM, 5000);
    cp_test_redis_stop(&g_replica);
    cp_test_redis_stop(&g_master);
    SSL_CTX_free(g_cctx);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_master_killed_while_certificates_are_created_and_renewed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
