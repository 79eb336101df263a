/* SPDX-License-Identifier: Apache-2.0 */
/* test_edge_tls_alpn.c - issue 14: TLS-ALPN-01 (RFC 8737) end to end. Pebble validates the
 * challenge for real by connecting with ALPN acme-tls/1 to Debian's haproxy (TCP, round-robin) in
 * front of two edges, as users deploy them (HTTP-01 cannot succeed: nothing listens where Pebble
 * would look). The controller streams the challenge to every edge; whichever one haproxy picks
 * answers with the validation certificate (critical acmeIdentifier extension); the
 * certificate becomes VALID and is served to ordinary handshakes, which still negotiate h2; an
 * acme-tls/1 handshake for a name without a challenge gets no acme-tls/1; a wildcard with
 * TLS_ALPN_01 is refused. */
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
#include "tests/support/pebble.h"
#include "tests/support/tlsload.h"

#define ADMIN "admintok"

static char g_dir[256];
static cp_test_redis_t g_redis;
static cp_test_pebble_t g_pebble;
static cp_test_controller_t g_ctl;
static cp_test_edge_t g_edge[2];
static cp_test_haproxy_t g_lb;
static int g_tls_port; /* haproxy's frontend (TCP, round-robin over both edges): where Pebble
                        * validates TLS-ALPN-01 and where every client connects */

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

static const char *create(const char *name, const char *domain)
{
    return cp_test_sh("curl -s -w ' %%{http_code}' -H 'Authorization: Bearer " ADMIN "' "
                      "-H 'Content-Type: application/json' -d '{\"name\":\"%s\",\"domains\":"
                      "[\"%s\"],\"challengeType\":\"TLS_ALPN_01\",\"keyType\":\"EC_P256\"}' "
                      "http://127.0.0.1:%d/v1/certificates",
                      name, domain, g_ctl.http_port);
}

/* `openssl s_client` against the edge: "<serial> <ALPN protocol or none>". */
static const char *handshake(const char *sni, const char *alpn)
{
    return cp_test_sh(
        "out=$(echo | timeout 10 openssl s_client -connect 127.0.0.1:%d -servername %s -alpn %s "
        "2>/dev/null); serial=$(printf '%%s' \"$out\" | openssl x509 -noout -serial 2>/dev/null "
        "| cut -d= -f2); proto=$(printf '%%s' \"$out\" | sed -n 's/^ALPN protocol: //p'); "
        "printf '%%s %%s' \"$serial\" \"${proto:-none}\"",
        g_tls_port, sni, alpn);
}

static void test_tls_alpn_01_is_answered_by_the_edge_and_pebble_validates_it(void **state)
{
    (void)state;
    const char *out = create("alpn", "alpn.example.com");
    if (strstr(out, " 200") == NULL)
        fail_msg("create: %s", out);
    double t0 = cp_test_now_s();
    while (strcmp(field("alpn", "state"), "VALID") != 0 && cp_test_now_s() - t0 < 60) {
        if (strcmp(field("alpn", "state"), "FAILED") == 0)
            break;
        usleep(200 * 1000);
    }
    if (strcmp(field("alpn", "state"), "VALID") != 0) {
        print_message("[ alpn ] state %s: %s\n", field("alpn", "state"),
                      field("alpn", "lastError"));
        cp_test_controller_dump_log(&g_ctl, 30);
        cp_test_edge_dump_log(&g_edge[0], 30);
        cp_test_edge_dump_log(&g_edge[1], 30);
    }
    assert_string_equal(field("alpn", "state"), "VALID");
    print_message("[ alpn ] VALID in %.1f s through TLS-ALPN-01\n", cp_test_now_s() - t0);
    int answered = 0;
    for (int e = 0; e < 2; e++) {
        const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics | grep "
                                   "'^certplane_edge_acme_tls_alpn_answered_total' | cut -d' ' -f2",
                                   g_edge[e].admin_port);
        print_message("[ alpn ] acme-tls/1 handshakes answered by edge %d: %s", e + 1, m);
        answered += atoi(m);
    }
    assert_true(answered >= 1);
    /* Pebble never reached an HTTP-01 responder (none listens): it validated over TLS. */
    assert_int_equal(cp_test_pebble_log_count(&g_pebble, "http-01"), 0);

    /* Ordinary handshakes get the issued certificate and still negotiate h2. */
    char serial[128];
    snprintf(serial, sizeof serial, "%s", field("alpn", "serial"));
    double ts = cp_test_now_s();
    const char *got = "";
    while (cp_test_now_s() - ts < 20) {
        got = handshake("alpn.example.com", "h2,http/1.1");
        if (strncasecmp(got, serial, strlen(serial)) == 0)
            break;
        usleep(200 * 1000);
    }
    print_message("[ alpn ] served: %s (issued serial %s)\n", got, serial);
    assert_int_equal(strncasecmp(got, serial, strlen(serial)), 0);
    assert_non_null(strstr(got, " h2"));
    /* acme-tls/1 for a name with no challenge (the challenge was cleared after validation):
     * never negotiated. */
    got = handshake("alpn.example.com", "acme-tls/1");
    print_message("[ alpn ] acme-tls/1 after the challenge: %s\n", got);
    assert_non_null(strstr(got, " none"));
}

static void test_wildcard_with_tls_alpn_01_is_refused(void **state)
{
    (void)state;
    const char *out = create("wild", "*.wild.example.com");
    print_message("[ alpn ] wildcard: %s\n", out);
    assert_non_null(strstr(out, " 400"));
    assert_non_null(strstr(out, "TLS_ALPN_01"));
}

static int group_setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("cp-alpn-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    g_tls_port = cp_test_free_port();
    /* HTTP-01 would go to a port where nothing listens. */
    cp_test_pebble_opts_t po = {.http_port = cp_test_free_port(), .tls_port = g_tls_port};
    if (cp_test_pebble_start(&g_pebble, &po) != 0)
        return -1;
    char provider[400], ca[400];
    snprintf(provider, sizeof provider, "--acme-provider=%s", g_pebble.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", g_pebble.ca_file);
    const char *args[] = {provider,         ca,  "--workers=1", "--acme-email=ops@example.com",
                          "--edge-ttl=10s", NULL};
    if (cp_test_controller_start(&g_ctl, g_redis.url, g_dir, args, g_ctl_env) != 0)
        return -1;
    char ctl[64];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    const char *eargs[] = {ctl, "--threads=1", "--report-interval=1s",
                           "--default-upstream=respond:200:ok", NULL};
    const char *eenv[] = {"CERTPLANE_EDGE_TOKEN=edgetok", "ASAN_OPTIONS=detect_leaks=0", NULL};
    for (int e = 0; e < 2; e++)
        if (cp_test_edge_start(&g_edge[e], g_dir, eargs, eenv) != 0)
            return -1;
    /* As users deploy edges: Debian's haproxy in TCP mode, round-robin, in front of both. */
    cp_test_haproxy_frontend_t fe = {.port = g_tls_port,
                                     .backends = {g_edge[0].https_port, g_edge[1].https_port},
                                     .n_backends = 2};
    if (cp_test_haproxy_start(&g_lb, g_dir, &fe, 1) != 0)
        return -1;
    /* The edges must be live (reported) before the challenge, so the controller waits for them. */
    for (int e = 0; e < 2; e++) {
        double t0 = cp_test_now_s();
        while (strstr(cp_test_sh("curl -s http://127.0.0.1:%d/readyz", g_edge[e].admin_port),
                      "ok") == NULL &&
               cp_test_now_s() - t0 < 20)
            usleep(100 * 1000);
    }
    sleep(2);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_haproxy_stop(&g_lb);
    cp_test_edge_stop(&g_edge[0]);
    cp_test_edge_stop(&g_edge[1]);
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
        cmocka_unit_test(test_tls_alpn_01_is_answered_by_the_edge_and_pebble_validates_it),
        cmocka_unit_test(test_wildcard_with_tls_alpn_01_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
