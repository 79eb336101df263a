/* SPDX-License-Identifier: Apache-2.0 */
/* test_edge_tickets.c - issue 14: TLS session resumption on any edge. The controller makes the
 * fleet's session-ticket keys, rotates them (--ticket-key-rotation, short here) and streams them
 * to edges only; two edges share them. A TLS 1.2 and a TLS 1.3 session made on edge 1 resume on
 * edge 2; a ticket never resumes under another name; a ticket survives two rotations and not a
 * third; the keys are sealed in Redis and never reach a read-scope watcher. Through Debian's
 * haproxy (TCP, round-robin) in front of both edges, the second connection lands on the other edge
 * and resumes there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/controller.h"
#include "tests/support/edge.h"
#include "tests/support/haproxy.h"
#include "tests/support/harness.h"
#include "tests/support/tlsload.h"

#define ADMIN "admintok"
#define READ "readtok"
#define ROTATION_S 4

static char g_dir[256];
static cp_test_redis_t g_redis;
static cp_test_controller_t g_ctl;
static cp_test_edge_t g_edge[2];
static cp_test_haproxy_t g_lb; /* TCP round-robin over both edges, as users deploy them */
static int g_lb_port;

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," READ ":read,edgetok:edge",
                                  "ASAN_OPTIONS=detect_leaks=0", NULL};

static void import(const char *name)
{
    const char *out = cp_test_sh(
        "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout %s.key -out %s.crt -days 30 -subj /CN=%s.example.com "
        "-addext subjectAltName=DNS:%s.example.com "
        "2>/dev/null && python3 -c 'import json;print(json.dumps({\"name\":\"%s\","
        "\"fullchainPem\":open(\"%s.crt\").read(),\"privateKeyPem\":open(\"%s.key\").read()}))' "
        "> %s.json && curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer " ADMIN
        "' -H 'Content-Type: application/json' --data-binary @%s.json "
        "http://127.0.0.1:%d/v1/certificates:import",
        g_dir, name, name, name, name, name, name, name, name, name, g_ctl.http_port);
    assert_string_equal(out, "200");
}

/* One handshake with s_client on `port`: "Reused" or "New" (or "" when it failed). sess_out/sess_in
 * may be NULL. TLS 1.3 tickets come after the handshake: stdin stays open a moment to read them. */
static const char *hs_port(int port, const char *sni, const char *version, const char *sess_out,
                           const char *sess_in)
{
    char out[300] = "", in[300] = "";
    if (sess_out != NULL)
        snprintf(out, sizeof out, "-sess_out '%s/%s'", g_dir, sess_out);
    if (sess_in != NULL)
        snprintf(in, sizeof in, "-sess_in '%s/%s'", g_dir, sess_in);
    return cp_test_sh("(sleep 0.3) | timeout 10 openssl s_client -connect 127.0.0.1:%d "
                      "-servername %s %s %s %s 2>/dev/null | grep -o -m1 -E '^(Reused|New),' | "
                      "tr -d ',\\n'",
                      port, sni, version, out, in);
}

/* The same on edge `edge` directly. */
static const char *hs(int edge, const char *sni, const char *version, const char *sess_out,
                      const char *sess_in)
{
    return hs_port(g_edge[edge].https_port, sni, version, sess_out, sess_in);
}

static void wait_served(const char *sni)
{
    for (int e = 0; e < 2; e++) {
        double t0 = cp_test_now_s();
        while (strstr(cp_test_sh("echo | timeout 5 openssl s_client -connect 127.0.0.1:%d "
                                 "-servername %s 2>/dev/null | openssl x509 -noout -subject",
                                 g_edge[e].https_port, sni),
                      sni) == NULL &&
               cp_test_now_s() - t0 < 20)
            usleep(100 * 1000);
    }
}

static void test_sessions_made_on_one_edge_resume_on_the_other(void **state)
{
    (void)state;
    import("tick");
    wait_served("tick.example.com");
    assert_string_equal(hs(0, "tick.example.com", "-tls1_2", "s12", NULL), "New");
    assert_string_equal(hs(1, "tick.example.com", "-tls1_2", NULL, "s12"), "Reused");
    assert_string_equal(hs(0, "tick.example.com", "-tls1_3", "s13", NULL), "New");
    assert_string_equal(hs(1, "tick.example.com", "-tls1_3", NULL, "s13"), "Reused");
    print_message("[ tickets ] TLS 1.2 and 1.3 sessions of edge 1 resumed on edge 2\n");
}

/* A counter of edge e's /metrics (the first line starting with `metric`), or -1. */
static long edge_metric(int e, const char *metric)
{
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep '^%s' | head -1 | "
                               "cut -d' ' -f2",
                               g_edge[e].admin_port, metric);
    return m[0] != '\0' ? atol(m) : -1;
}

static long edge_handshakes(int e)
{
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep "
                               "'^certplane_edge_tls_handshakes_total' | "
                               "awk '{ s += $2 } END { print s + 0 }'",
                               g_edge[e].admin_port);
    return atol(m);
}

/* One handshake through the load balancer. */
static const char *hs_lb(const char *sni, const char *version, const char *sess_out,
                         const char *sess_in)
{
    return hs_port(g_lb_port, sni, version, sess_out, sess_in);
}

/* As users deploy edges: clients reach them only through haproxy (TCP, round-robin), so the next
 * connection lands on the other edge; it resumes there, for TLS 1.2 and 1.3, and that edge counts
 * the resumption (certplane_edge_tls_tickets_resumed_total). */
static void test_resumption_through_the_load_balancer(void **state)
{
    (void)state;
    const char *versions[] = {"-tls1_2", "-tls1_3"};
    for (int v = 0; v < 2; v++) {
        long hs0[2] = {edge_handshakes(0), edge_handshakes(1)};
        long res0[2] = {edge_metric(0, "certplane_edge_tls_tickets_resumed_total"),
                        edge_metric(1, "certplane_edge_tls_tickets_resumed_total")};
        assert_string_equal(hs_lb("tick.example.com", versions[v], "lb", NULL), "New");
        assert_string_equal(hs_lb("tick.example.com", versions[v], NULL, "lb"), "Reused");
        long d[2] = {edge_handshakes(0) - hs0[0], edge_handshakes(1) - hs0[1]};
        long r[2] = {edge_metric(0, "certplane_edge_tls_tickets_resumed_total") - res0[0],
                     edge_metric(1, "certplane_edge_tls_tickets_resumed_total") - res0[1]};
        print_message(
            "[ tickets ] %s through haproxy: handshakes per edge %ld/%ld, resumed %ld/%ld\n",
            versions[v], d[0], d[1], r[0], r[1]);
        assert_int_equal(d[0], 1); /* one handshake on each edge: the two connections alternated */
        assert_int_equal(d[1], 1);
        assert_int_equal(r[0] + r[1],
                         1); /* and the resumption was on the edge that did not make it */
    }
}

static void test_a_ticket_never_resumes_under_another_name(void **state)
{
    (void)state;
    import("other");
    wait_served("other.example.com");
    assert_string_equal(hs(0, "tick.example.com", "-tls1_2", "s12b", NULL), "New");
    assert_string_equal(hs(1, "other.example.com", "-tls1_2", NULL, "s12b"), "New");
    assert_string_equal(hs(0, "tick.example.com", "-tls1_3", "s13b", NULL), "New");
    assert_string_equal(hs(1, "other.example.com", "-tls1_3", NULL, "s13b"), "New");
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep "
                               "'^certplane_edge_tls_tickets_rejected_total' | cut -d' ' -f2",
                               g_edge[1].admin_port);
    print_message("[ tickets ] tickets of another certificate refused by edge 2: %s", m);
    assert_true(atoi(m) >= 1);
}

static void test_tickets_outlive_two_rotations_not_three(void **state)
{
    (void)state;
    assert_string_equal(hs(0, "tick.example.com", "-tls1_2", "rot", NULL), "New");
    sleep(ROTATION_S + 2); /* one rotation: the ticket's key is the previous one */
    assert_string_equal(hs(1, "tick.example.com", "-tls1_2", NULL, "rot"), "Reused");
    sleep(2 * ROTATION_S + 2); /* two more: its key is gone */
    assert_string_equal(hs(1, "tick.example.com", "-tls1_2", NULL, "rot"), "New");
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep "
                               "'^certplane_edge_tls_tickets_renewed_total' | cut -d' ' -f2",
                               g_edge[1].admin_port);
    print_message("[ tickets ] resumed after one rotation, refused after three; renewed: %s", m);
    assert_true(atoi(m) >= 1);
}

static void test_keys_are_sealed_at_rest_and_never_reach_other_watchers(void **state)
{
    (void)state;
    const char *v = cp_test_sh("redis-cli -p %d GET tls:ticket_keys | head -c 40", g_redis.port);
    print_message("[ tickets ] tls:ticket_keys in Redis starts: %s\n", v);
    /* Sealed (keywrap's prefix), not the plaintext "hexname hexsecret created" lines. */
    assert_int_equal(strncmp(v, "cpenc1:", 7), 0);
    assert_null(strchr(v, ' '));
    /* A read-scope watcher across a rotation sees no ticket keys. */
    const char *w = cp_test_sh("timeout %d curl -s -N -H 'Authorization: Bearer " READ "' "
                               "http://127.0.0.1:%d/v1/watch?fromRevision=0",
                               ROTATION_S + 3, g_ctl.http_port);
    assert_non_null(strstr(w, "SNAPSHOT_END"));
    assert_null(strstr(w, "TICKET_KEYS"));
    assert_null(strstr(w, "ticketKeys"));
}

static int group_setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("cp-tickets-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    char acme[128], rot[64];
    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    snprintf(rot, sizeof rot, "--ticket-key-rotation=%ds", ROTATION_S);
    const char *args[] = {acme, rot, "--workers=1", NULL};
    if (cp_test_controller_start(&g_ctl, g_redis.url, g_dir, args, g_ctl_env) != 0)
        return -1;
    char ctl[64];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    const char *eargs[] = {ctl, "--threads=1", "--default-upstream=respond:200:ok", NULL};
    const char *eenv[] = {"CERTPLANE_EDGE_TOKEN=edgetok", "ASAN_OPTIONS=detect_leaks=0", NULL};
    for (int i = 0; i < 2; i++)
        if (cp_test_edge_start(&g_edge[i], g_dir, eargs, eenv) != 0)
            return -1;
    cp_test_haproxy_frontend_t fe = {.backends = {g_edge[0].https_port, g_edge[1].https_port},
                                     .n_backends = 2};
    if (cp_test_haproxy_start(&g_lb, g_dir, &fe, 1) != 0)
        return -1;
    g_lb_port = fe.port;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_haproxy_stop(&g_lb);
    for (int i = 0; i < 2; i++)
        cp_test_edge_stop(&g_edge[i]);
    cp_test_controller_stop(&g_ctl);
    cp_test_redis_stop(&g_redis);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions_made_on_one_edge_resume_on_the_other),
        cmocka_unit_test(test_resumption_through_the_load_balancer),
        cmocka_unit_test(test_a_ticket_never_resumes_under_another_name),
        cmocka_unit_test(test_tickets_outlive_two_rotations_not_three),
        cmocka_unit_test(test_keys_are_sealed_at_rest_and_never_reach_other_watchers),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
