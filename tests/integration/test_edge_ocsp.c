/* SPDX-License-Identifier: Apache-2.0 */
/* test_edge_ocsp.c - issue 14: OCSP stapling. A CA made with `openssl`, a leaf whose AIA names an
 * `openssl ocsp` responder on loopback (delegated responder certificate, nextUpdate one minute
 * ahead), imported through the API; one controller, two edges behind Debian's haproxy (TCP,
 * round-robin; clients connect only to haproxy). `openssl s_client -status` gets a good stapled
 * response through both edges after exactly one fetch (the responder's log); with the responder
 * stopped the controller's refreshes fail, and once nextUpdate has passed no edge staples it. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/controller.h"
#include "tests/support/edge.h"
#include "tests/support/harness.h"
#include "tests/support/tlsload.h"

#define ADMIN "admintok"
#define NAME "ocsp.example.com"

static char g_dir[256];
static cp_test_redis_t g_redis;
static cp_test_controller_t g_ctl;
static cp_test_edge_t g_edge[2];
static cp_test_proc_t g_responder, g_haproxy;
static int g_ocsp_port, g_lb_port;

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin,edgetok:edge",
                                  "ASAN_OPTIONS=detect_leaks=0", NULL};

/* The CA, a delegated OCSP responder certificate, the leaf (AIA OCSP -> the responder) and the
 * responder's index. */
static int make_pki(void)
{
    const char *out = cp_test_sh(
        "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout ca.key -out ca.crt -days 30 -subj '/CN=certplane test OCSP CA' "
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
        "2>/dev/null && "
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rsp.key "
        "-out rsp.csr -subj '/CN=certplane test OCSP responder' 2>/dev/null && "
        "printf 'extendedKeyUsage=OCSPSigning\\nkeyUsage=critical,digitalSignature\\n' > rsp.ext "
        "&& "
        "openssl x509 -req -in rsp.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 "
        "-extfile rsp.ext -out rsp.crt 2>/dev/null && "
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key "
        "-out leaf.csr -subj /CN=" NAME " 2>/dev/null && "
        "printf 'subjectAltName=DNS:" NAME "\\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:%d/\\n"
        "extendedKeyUsage=serverAuth\\n' > leaf.ext && "
        "openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 "
        "-extfile leaf.ext -out leaf.crt 2>/dev/null && "
        "printf 'V\\t301231235959Z\\t\\t%%s\\tunknown\\t/CN=" NAME "\\n' "
        "$(openssl x509 -in leaf.crt -noout -serial | cut -d= -f2) > index.txt && "
        "cat leaf.crt ca.crt > fullchain.pem && echo ok",
        g_dir, g_ocsp_port);
    return strcmp(out, "ok\n") == 0 ? 0 : -1;
}

static int start_responder(void)
{
    char port[16], index[300], log[300], rsp[300], key[300], ca[300];
    snprintf(port, sizeof port, "%d", g_ocsp_port);
    snprintf(index, sizeof index, "%s/index.txt", g_dir);
    snprintf(log, sizeof log, "%s/responder.log", g_dir);
    snprintf(rsp, sizeof rsp, "%s/rsp.crt", g_dir);
    snprintf(key, sizeof key, "%s/rsp.key", g_dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", g_dir);
    /* stdbuf: its -text log (one "OCSP Request Data:" per request) is read while it runs. */
    char *argv[] = {"stdbuf", "-oL", "openssl",  "ocsp", "-index", index,
                    "-port",  port,  "-rsigner", rsp,    "-rkey",  key,
                    "-CA",    ca,    "-nmin",    "1",    "-text",  NULL};
    if (cp_test_spawn(&g_responder, "ocsp", argv, NULL, log) != 0)
        return -1;
    /* Not cp_test_wait_port: OpenSSL 3.0's responder hangs on a connection closed before a
     * request (every later request then times out). Its log says when it listens. */
    for (int i = 0; i < 100; i++) {
        if (strstr(cp_test_sh("cat '%s'", log), "waiting for OCSP client") != NULL)
            return 0;
        usleep(100 * 1000);
    }
    return -1;
}

static int start_haproxy(void)
{
    char cfg[300], log[300];
    snprintf(cfg, sizeof cfg, "%s/haproxy.cfg", g_dir);
    snprintf(log, sizeof log, "%s/haproxy.log", g_dir);
    FILE *f = fopen(cfg, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "global\n  maxconn 256\ndefaults\n  mode tcp\n  timeout connect 2s\n"
            "  timeout client 20s\n  timeout server 20s\n"
            "frontend tls\n  bind 127.0.0.1:%d\n  default_backend edges\n"
            "backend edges\n  balance roundrobin\n  server e1 127.0.0.1:%d\n"
            "  server e2 127.0.0.1:%d\n",
            g_lb_port, g_edge[0].https_port, g_edge[1].https_port);
    fclose(f);
    char *argv[] = {"haproxy", "-db", "-f", cfg, NULL};
    if (cp_test_spawn(&g_haproxy, "haproxy", argv, NULL, log) != 0)
        return -1;
    return cp_test_wait_port(g_lb_port, 10000);
}

/* One handshake through haproxy asking for certificate status: the OCSP lines s_client printed. */
static const char *status_hs(void)
{
    return cp_test_sh("echo | timeout 10 openssl s_client -connect 127.0.0.1:%d -servername " NAME
                      " -status 2>/dev/null | grep -E 'OCSP response:|OCSP Response Status:|"
                      "Cert Status:' | sed 's/^ *//'",
                      g_lb_port);
}

static long edge_metric(int e, const char *name)
{
    return atol(cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep '^%s ' | cut -d' ' -f2",
                           g_edge[e].admin_port, name));
}

static int responder_requests(void)
{
    return atoi(cp_test_sh("grep -c 'OCSP Request Data:' '%s/responder.log'", g_dir));
}

static void test_one_fetch_staples_good_on_both_edges(void **state)
{
    (void)state;
    const char *out = cp_test_sh(
        "cd '%s' && python3 -c 'import json;print(json.dumps({\"name\":\"ocsp\","
        "\"fullchainPem\":open(\"fullchain.pem\").read(),\"privateKeyPem\":open(\"leaf.key\")."
        "read()}))' > imp.json && curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: "
        "Bearer " ADMIN "' -H 'Content-Type: application/json' --data-binary @imp.json "
        "http://127.0.0.1:%d/v1/certificates:import",
        g_dir, g_ctl.http_port);
    assert_string_equal(out, "200");
    /* Both edges staple (stapled count on each), through haproxy only. */
    double t0 = cp_test_now_s();
    while ((edge_metric(0, "certplane_edge_ocsp_stapled_total") < 1 ||
            edge_metric(1, "certplane_edge_ocsp_stapled_total") < 1) &&
           cp_test_now_s() - t0 < 30)
        status_hs();
    for (int i = 0; i < 6; i++) {
        const char *s = status_hs();
        print_message("[ ocsp ] handshake %d through haproxy: %s", i, s);
        assert_non_null(strstr(s, "OCSP Response Status: successful"));
        assert_non_null(strstr(s, "Cert Status: good"));
    }
    long a = edge_metric(0, "certplane_edge_ocsp_stapled_total");
    long b = edge_metric(1, "certplane_edge_ocsp_stapled_total");
    print_message("[ ocsp ] stapled by edge 1: %ld, edge 2: %ld; responder requests: %d\n", a, b,
                  responder_requests());
    assert_true(a >= 3 && b >= 3);
    assert_int_equal(responder_requests(), 1);
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep '^certplane_ocsp_'",
                               g_ctl.http_port);
    print_message("[ ocsp ] controller: %s", m);
    assert_non_null(strstr(m, "certplane_ocsp_fetches_total{result=\"ok\"} 1\n"));
    assert_non_null(strstr(m, "certplane_ocsp_responses_stored_total 1\n"));
}

static void test_stale_response_is_not_stapled(void **state)
{
    (void)state;
    cp_test_stop(&g_responder, SIGTERM, 2000); /* refreshes fail from now on */
    double t0 = cp_test_now_s();
    const char *s = "";
    while (strstr(s = status_hs(), "OCSP response: no response sent") == NULL &&
           cp_test_now_s() - t0 < 100)
        sleep(2);
    print_message("[ ocsp ] after nextUpdate (%.0f s later): %s", cp_test_now_s() - t0, s);
    for (int i = 0; i < 4; i++) {
        s = status_hs();
        assert_non_null(strstr(s, "OCSP response: no response sent"));
        assert_null(strstr(s, "Cert Status"));
    }
    long a = edge_metric(0, "certplane_edge_ocsp_stale_skipped_total");
    long b = edge_metric(1, "certplane_edge_ocsp_stale_skipped_total");
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep "
                               "'^certplane_ocsp_fetches_total{result=\"failed\"}' | cut -d' ' -f2",
                               g_ctl.http_port);
    print_message("[ ocsp ] stale skipped by edge 1: %ld, edge 2: %ld; failed fetches: %s", a, b,
                  m);
    assert_true(a >= 1 && b >= 1);
    assert_true(atoi(m) >= 1);
}

static int group_setup(void **state)
{
    (void)state;
    g_ocsp_port = cp_test_free_port();
    g_lb_port = cp_test_free_port();
    if (cp_test_tmpdir("cp-ocsp-", g_dir, sizeof g_dir) != 0 || make_pki() != 0 ||
        start_responder() != 0 || cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    char acme[128];
    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    const char *args[] = {acme, "--workers=1", NULL};
    if (cp_test_controller_start(&g_ctl, g_redis.url, g_dir, args, g_ctl_env) != 0)
        return -1;
    char ctl[64];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    const char *eargs[] = {ctl, "--threads=1", "--default-upstream=respond:200:ok", NULL};
    const char *eenv[] = {"CERTPLANE_EDGE_TOKEN=edgetok", "ASAN_OPTIONS=detect_leaks=0", NULL};
    for (int i = 0; i < 2; i++)
        if (cp_test_edge_start(&g_edge[i], g_dir, eargs, eenv) != 0)
            return -1;
    return start_haproxy();
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_stop(&g_haproxy, SIGTERM, 2000);
    cp_test_stop(&g_responder, SIGTERM, 2000);
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
        cmocka_unit_test(test_one_fetch_staples_good_on_both_edges),
        cmocka_unit_test(test_stale_response_is_not_stapled),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
