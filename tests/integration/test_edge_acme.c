/* SPDX-License-Identifier: Apache-2.0 */
/* test_edge_acme.c - end to end: Pebble validates HTTP-01 through an edge, two edges serve what the
 * controller issued, and a renewal under load reaches both within a second */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/controller.h"
#include "tests/support/edge.h"
#include "tests/support/pebble.h"
#include "tests/support/tlsload.h"

#define ADMIN "Authorization: Bearer admintok"

static cp_test_redis_t g_redis;
static cp_test_pebble_t g_pebble;
static cp_test_controller_t g_ctl;
static cp_test_edge_t g_edges[2]; /* edge-1 answers Pebble's HTTP-01 requests, edge-2 the load */
static char g_dir[256], g_root[320], g_inter[320];
static SSL_CTX *g_cctx;

/* ---- the controller's REST API ---- */

/* Parses a JSON body (the caller frees it with json_decref); fails the test when it is not JSON. */
static json_t *rest(const char *method, const char *path, const char *body)
{
    const char *out =
        cp_test_sh("curl -s --max-time 20 -X %s http://127.0.0.1:%d%s -H '" ADMIN
                   "' -H 'Content-Type: application/json' %s%s%s",
                   method, g_ctl.http_port, path, body != NULL ? "--data-binary '" : "",
                   body != NULL ? body : "", body != NULL ? "'" : "");
    json_t *j = json_loads(out, 0, NULL);
    if (j == NULL)
        fail_msg("%s %s: not JSON: %s", method, path, out);
    return j;
}

static const char *jstr(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s != NULL ? s : "";
}

/* RFC 3339 UTC ("2024-05-01T10:00:00.123Z") to Unix seconds; 0 when it does not parse. */
static double rfc3339(const char *s)
{
    struct tm tm = {0};
    const char *rest_ = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest_ == NULL)
        return 0;
    double frac = *rest_ == '.' ? strtod(rest_, NULL) : 0;
    return (double)timegm(&tm) + frac;
}

/* Creates a certificate over REST; domains is a JSON array text. */
static void create(const char *name, const char *domains, const char *key_type)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"domains\":%s,\"email\":\"ops@example.com\",\"keyType\":\"%s\"}",
             name, domains, key_type);
    json_t *j = rest("POST", "/v1/certificates", body);
    if (strcmp(jstr(j, "state"), "PENDING") != 0)
        fail_msg("create %s: %s", name, json_dumps(j, 0));
    json_decref(j);
}

/* Waits up to timeout_s until `name` is VALID with a serial other than `not_serial` (may be "");
 * returns the certificate (caller frees). */
static json_t *wait_valid(const char *name, const char *not_serial, double timeout_s)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/certificates/%s", name);
    double t0 = cp_test_now_s();
    json_t *j = NULL;
    while (cp_test_now_s() - t0 < timeout_s) {
        j = rest("GET", path, NULL);
        if (strcmp(jstr(j, "state"), "VALID") == 0 && strcmp(jstr(j, "serial"), not_serial) != 0)
            return j;
        if (strcmp(jstr(j, "state"), "FAILED") == 0)
            fail_msg("%s failed: %s", name, jstr(j, "lastError"));
        json_decref(j);
        usleep(10000);
    }
    cp_test_controller_dump_log(&g_ctl, 40);
    fail_msg("%s not VALID after %.0f s", name, timeout_s);
    return NULL;
}

/* ---- what an edge serves ---- */

static void upper_hex(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] != '\0' && i < size - 1; i++)
        out[i] = (char)(in[i] >= 'a' && in[i] <= 'f' ? in[i] - 32 : in[i]);
    out[i] = '\0';
}

/* openssl s_client on the edge with SNI `sni`: the leaf has `serial` and names `sni`, and the chain
 * the edge sends verifies against Pebble's root with `openssl verify`; its intermediate is the one
 * Pebble's management API reports. */
static void check_served(const cp_test_edge_t *e, const char *sni, const char *serial)
{
    char want[160], leaf[400], chain[400], inter[400];
    snprintf(leaf, sizeof leaf, "%s/leaf.pem", g_dir);
    snprintf(chain, sizeof chain, "%s/chain.pem", g_dir);
    snprintf(inter, sizeof inter, "%s/served-intermediate.pem", g_dir);
    cp_test_sh(
        "echo | openssl s_client -connect 127.0.0.1:%d -servername %s -showcerts 2>/dev/null "
        "> %s; openssl x509 -in %s -out %s; awk '/BEGIN CERT/{n++} n==2' %s > %s",
        e->https_port, sni, chain, chain, leaf, chain, inter);
    const char *out = cp_test_sh("openssl x509 -in %s -noout -serial -ext subjectAltName", leaf);
    upper_hex(serial, want, sizeof want);
    char *serial_line = strstr(out, "serial=");
    if (serial_line == NULL || strncmp(serial_line + 7, want, strlen(want)) != 0)
        fail_msg("edge :%d %s: serial %s, want %s", e->https_port, sni, out, want);
    out = cp_test_sh("openssl verify -CAfile %s -untrusted %s %s 2>&1", g_root, chain, leaf);
    if (strstr(out, ": OK") == NULL)
        fail_msg("edge :%d %s: chain does not verify: %s", e->https_port, sni, out);
    out = cp_test_sh("openssl x509 -in %s -noout -fingerprint -sha256; openssl x509 -in %s -noout "
                     "-fingerprint -sha256",
                     inter, g_inter);
    const char *nl = strchr(out, '\n');
    if (nl == NULL || strncmp(out, nl + 1, (size_t)(nl - out)) != 0)
        fail_msg("edge :%d %s: served intermediate is not Pebble's: %s", e->https_port, sni, out);
    /* s_client with Pebble's root as the only trust anchor agrees. */
    out = cp_test_sh("echo | openssl s_client -connect 127.0.0.1:%d -servername %s -CAfile %s "
                     "-verify_hostname %s 2>/dev/null | grep 'Verify return code'",
                     e->https_port, sni, g_root, sni);
    if (strstr(out, "Verify return code: 0 (ok)") == NULL)
        fail_msg("edge :%d %s: s_client: %s", e->https_port, sni, out);
}

/* curl trusting only Pebble's root, over HTTP/2 and HTTP/1.1 (proxied to the controller's
 * /healthz). */
static void check_curl(const cp_test_edge_t *e, const char *sni)
{
    static const char *const proto[][2] = {{"--http2", "2 200"}, {"--http1.1", "1.1 200"}};
    for (int i = 0; i < 2; i++) {
        const char *out = cp_test_sh("curl -s %s --cacert %s --resolve %s:%d:127.0.0.1 "
                                     "https://%s:%d/healthz -o /dev/null -w '%%{http_version} "
                                     "%%{http_code}'",
                                     proto[i][0], g_root, sni, e->https_port, sni, e->https_port);
        if (strcmp(out, proto[i][1]) != 0)
            fail_msg("curl %s %s on edge :%d: %s", proto[i][0], sni, e->https_port, out);
    }
}

static void check_fallback(const cp_test_edge_t *e, const char *sni)
{
    const char *out = cp_test_sh("echo | openssl s_client -connect 127.0.0.1:%d -servername %s "
                                 "2>/dev/null | openssl x509 -noout -subject",
                                 e->https_port, sni);
    if (strstr(out, "certplane-edge.invalid") == NULL)
        fail_msg("edge :%d %s: not the fallback: %s", e->https_port, sni, out);
}

/* ---- environment ---- */

static int write_mgmt(const char *path, const char *file)
{
    char *pem = NULL;
    if (cp_test_pebble_mgmt_get(&g_pebble, path, &pem) != 0)
        return -1;
    FILE *f = fopen(file, "w");
    int rc = f != NULL && fputs(pem, f) >= 0 ? 0 : -1;
    if (f != NULL)
        fclose(f);
    free(pem);
    return rc;
}

static int start_controller(void)
{
    char acme[400], ca[400], dns[600], chall[128],
        tokens[] = "CERTPLANE_API_TOKENS=admintok:admin,edgetok:edge";
    const char *src = getenv("CP_SOURCE_DIR") != NULL ? getenv("CP_SOURCE_DIR") : ".";
    snprintf(acme, sizeof acme, "--acme-provider=%s", g_pebble.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", g_pebble.ca_file);
    snprintf(dns, sizeof dns, "--dns-exec=%s/tests/integration/dns_exec_challtestsrv.sh", src);
    snprintf(chall, sizeof chall, "CP_CHALLTESTSRV_URL=%s", g_pebble.chall_mgmt_url);
    const char *args[] = {acme,
                          ca,
                          dns,
                          "--acme-email=ops@example.com",
                          "--workers=2",
                          "--acme-timeout=60s",
                          "--challenge-propagation-timeout=10s",
                          NULL};
    const char *env[] = {tokens, chall, "ASAN_OPTIONS=detect_leaks=0", NULL};
    return cp_test_controller_start(&g_ctl, g_redis.url, g_dir, args, env);
}

static int start_edge(cp_test_edge_t *e, int http_port, const char *id)
{
    char ctl[64], def[64], eid[64], supp[600];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    snprintf(def, sizeof def, "--default-upstream=http://127.0.0.1:%d", g_ctl.http_port);
    snprintf(eid, sizeof eid, "--edge-id=%s", id);
    snprintf(supp, sizeof supp, "LSAN_OPTIONS=suppressions=%s/tests/lsan.supp",
             getenv("CP_SOURCE_DIR") != NULL ? getenv("CP_SOURCE_DIR") : ".");
    /* Two loops per edge: table swaps are announced to every loop, which once exposed loops whose
     * h2o state had been created on the main thread (edge/server.c, worker_setup). */
    const char *args[] = {
        ctl, def, eid, "--threads=2", "--reconnect-max=1s", "--report-interval=1s", NULL};
    const char *env[] = {"CERTPLANE_EDGE_TOKEN=edgetok", supp, NULL};
    if (cp_test_edge_start_http(e, g_dir, http_port, args, env) != 0)
        return -1;
    for (int i = 0; i < 100; i++) {
        if (strcmp(cp_test_sh("curl -s http://127.0.0.1:%d/readyz", e->admin_port), "ready\n") == 0)
            return 0;
        usleep(100000);
    }
    cp_test_edge_dump_log(e, 30);
    return -1;
}

/* Waits until the controller counts both edges as live (so a challenge waits for both). */
static int wait_edges_live(void)
{
    for (int i = 0; i < 100; i++) {
        json_t *j = rest("GET", "/v1/edges", NULL);
        size_t n = json_array_size(json_object_get(j, "edges"));
        json_decref(j);
        if (n == 2)
            return 0;
        usleep(100000);
    }
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    g_cctx = SSL_CTX_new(TLS_client_method());
    if (cp_test_tmpdir("cp-edge-acme-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    /* Pebble validates HTTP-01 on edge #0's HTTP port, fixed before the edge exists. */
    int http0 = cp_test_free_port();
    cp_test_pebble_opts_t po = {.http_port = http0};
    if (cp_test_pebble_start(&g_pebble, &po) != 0)
        return -1;
    snprintf(g_root, sizeof g_root, "%s/root.pem", g_dir);
    snprintf(g_inter, sizeof g_inter, "%s/intermediate.pem", g_dir);
    if (write_mgmt("/roots/0", g_root) != 0 || write_mgmt("/intermediates/0", g_inter) != 0 ||
        start_controller() != 0 || start_edge(&g_edges[0], http0, "edge-1") != 0 ||
        start_edge(&g_edges[1], 0, "edge-2") != 0 || wait_edges_live() != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = 0;
    for (int i = 0; i < 2; i++)
        if (cp_test_edge_stop(&g_edges[i]) != 0) {
            cp_test_edge_dump_log(&g_edges[i], 30);
            rc = -1;
        }
    cp_test_controller_stop(&g_ctl);
    cp_test_pebble_stop(&g_pebble);
    cp_test_redis_stop(&g_redis);
    SSL_CTX_free(g_cctx);
    cp_test_rmrf(g_dir);
    return rc;
}

/* ---- tests ---- */

typedef struct issued {
    const char *name, *domains, *key_type;
    const char *snis[5]; /* names to connect with (a wildcard's: names under it) */
} issued_t;

static const issued_t ISSUED[] = {
    {"exact", "[\"exact.acme.test\"]", "EC_P256", {"exact.acme.test"}},
    {"five-ec",
     "[\"e1.acme.test\",\"e2.acme.test\",\"e3.acme.test\",\"e4.acme.test\",\"e5.acme.test\"]",
     "EC_P256",
     {"e1.acme.test", "e2.acme.test", "e3.acme.test", "e4.acme.test", "e5.acme.test"}},
    {"five-rsa",
     "[\"r1.acme.test\",\"r2.acme.test\",\"r3.acme.test\",\"r4.acme.test\",\"r5.acme.test\"]",
     "RSA_2048",
     {"r1.acme.test", "r2.acme.test", "r3.acme.test", "r4.acme.test", "r5.acme.test"}},
    {"wild", "[\"*.wild.acme.test\"]", "EC_P256", {"a.wild.acme.test", "b.wild.acme.test"}},
};
#define N_ISSUED (sizeof ISSUED / sizeof ISSUED[0])

static long metric(const cp_test_edge_t *e, const char *name)
{
    const char *out =
        cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep '^%s'", e->admin_port, name);
    const char *sp = strrchr(out, ' ');
    return sp != NULL ? atol(sp + 1) : -1;
}

static void test_issued_certificates_are_served_by_both_edges_and_verify(void **state)
{
    (void)state;
    double t0 = cp_test_now_s();
    for (size_t i = 0; i < N_ISSUED; i++)
        create(ISSUED[i].name, ISSUED[i].domains, ISSUED[i].key_type);
    char serials[N_ISSUED][128];
    for (size_t i = 0; i < N_ISSUED; i++) {
        json_t *c = wait_valid(ISSUED[i].name, "", 90);
        snprintf(serials[i], sizeof serials[i], "%s", jstr(c, "serial"));
        json_decref(c);
    }
    print_message("issued %zu certificates (HTTP-01 through edge-1, DNS-01 for the wildcard) in "
                  "%.1f s\n",
                  N_ISSUED, cp_test_now_s() - t0);
    for (int e = 0; e < 2; e++) {
        for (size_t i = 0; i < N_ISSUED; i++) {
            assert_true(cp_test_tls_wait_serial(g_cctx, g_edges[e].https_port, ISSUED[i].snis[0],
                                                serials[i], 5) >= 0);
            for (size_t k = 0; k < 5 && ISSUED[i].snis[k] != NULL; k++)
                check_served(&g_edges[e], ISSUED[i].snis[k], serials[i]);
            check_curl(&g_edges[e], ISSUED[i].snis[0]);
        }
        check_fallback(&g_edges[e], "unknown.acme.test");
        check_fallback(&g_edges[e], "a.b.wild.acme.test"); /* a wildcard covers one label */
    }
    /* Pebble asked edge-1 for the HTTP-01 answers: every challenge was held there, none is left. */
    assert_int_equal(metric(&g_edges[0], "certplane_edge_challenges"), 0);
    assert_int_equal(metric(&g_edges[0], "certplane_edge_certificates"), (long)N_ISSUED);
    assert_int_equal(metric(&g_edges[1], "certplane_edge_certificates"), (long)N_ISSUED);
}

static void test_renewal_under_load_reaches_both_edges_within_a_second(void **state)
{
    (void)state;
    json_t *c = rest("GET", "/v1/certificates/exact", NULL);
    char old[128];
    snprintf(old, sizeof old, "%s", jstr(c, "serial"));
    json_decref(c);
    assert_true(old[0] != '\0');
    /* edge-2 carries the load: new connections, one request each. edge-1 is probed every 5 ms (it
     * also answers Pebble's HTTP-01 requests meanwhile). */
    cp_test_tlsload_t load, probe;
    cp_test_tlsload_opts_t lo = {.ctx = g_cctx,
                                 .port = g_edges[1].https_port,
                                 .sni = "exact.acme.test",
                                 .request_path = "/healthz",
                                 .clients = 3,
                                 .max_probes = 60000,
                                 .max_seconds = 90};
    cp_test_tlsload_opts_t po = lo;
    po.port = g_edges[0].https_port;
    po.request_path = NULL;
    po.clients = 1;
    po.pause_ms = 5;
    assert_int_equal(cp_test_tlsload_start(&load, &lo), 0);
    assert_int_equal(cp_test_tlsload_start(&probe, &po), 0);
    usleep(500000);
    double asked = cp_test_wall_s();
    c = rest("POST", "/v1/certificates/exact:renew", "{}");
    assert_string_equal(jstr(c, "state"), "RENEWING");
    json_decref(c);
    /* The commit: the record with the new serial, seen by polling (at most ~15 ms late); its
     * updateTime is written just before the commit, so it is an earlier bound. */
    c = wait_valid("exact", old, 60);
    double seen_commit = cp_test_wall_s();
    double update_time = rfc3339(jstr(c, "updateTime"));
    char fresh[128];
    snprintf(fresh, sizeof fresh, "%s", jstr(c, "serial"));
    json_decref(c);
    double t1 = cp_test_tls_wait_serial(g_cctx, g_edges[1].https_port, "exact.acme.test", fresh, 5);
    double t0 = cp_test_tls_wait_serial(g_cctx, g_edges[0].https_port, "exact.acme.test", fresh, 5);
    usleep(500000);
    cp_test_tlsload_stop(&load);
    cp_test_tlsload_stop(&probe);
    double lat1 = load.first_new - update_time, lat0 = probe.first_new - update_time;
    print_message("renewal: committed %.2f s after RenewCertificate (updateTime %.3f, seen by "
                  "polling %.0f ms later)\n",
                  update_time - asked, update_time, (seen_commit - update_time) * 1000);
    print_message("new serial served %.0f ms (edge-1) and %.0f ms (edge-2) after updateTime, "
                  "%.0f / %.0f ms after the poll saw the commit\n",
                  lat0 * 1000, lat1 * 1000, (probe.first_new - seen_commit) * 1000,
                  (load.first_new - seen_commit) * 1000);
    print_message("load on edge-2: %ld requests ok, %ld failed (connect %ld, handshake %ld, "
                  "request %ld); old serial %ld, new %ld, other %ld, old after new %ld; edge-1 "
                  "probes %ld (failed %ld)\n",
                  (long)load.ok, cp_test_tlsload_failures(&load), (long)load.failed_connect,
                  (long)load.failed_handshake, (long)load.failed_request, (long)load.served_old,
                  (long)load.served_new, (long)load.served_other, load.fresh_then_old,
                  (long)probe.ok, cp_test_tlsload_failures(&probe));
    assert_true(t0 >= 0 && t1 >= 0);
    assert_int_equal(cp_test_tlsload_failures(&load), 0);
    assert_int_equal(cp_test_tlsload_failures(&probe), 0);
    assert_string_equal(load.fresh, fresh);
    assert_string_equal(probe.fresh, fresh);
    assert_int_equal(load.served_other + probe.served_other, 0);
    assert_int_equal(load.fresh_then_old + probe.fresh_then_old, 0);
    assert_true(load.served_old > 0 && load.served_new > 0);
    assert_true(lat0 < 1.0 && lat1 < 1.0);
    check_served(&g_edges[0], "exact.acme.test", fresh);
    check_served(&g_edges[1], "exact.acme.test", fresh);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issued_certificates_are_served_by_both_edges_and_verify),
        cmocka_unit_test(test_renewal_under_load_reaches_both_edges_within_a_second),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
