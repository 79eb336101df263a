/* SPDX-License-Identifier: Apache-2.0 */
/* test_shortlived_ip.c - issue 12 end to end with real processes: an IP-address certificate for
 * 127.0.0.1 and ::1 ordered under the `shortlived` profile from the test ACME front in front of
 * Pebble (validity 160 hours; Pebble validates HTTP-01 at the IP addresses themselves, which reach
 * the edge), served by the edge to clients that send no SNI (curl --cacert Pebble's root verifies
 * over IPv4 and IPv6), renewed with `replaces` when the test moves the certificate's ARI window to
 * now, while a client verifying every few milliseconds never fails. The same IP address under
 * `classic` is refused by the CA (as Let's Encrypt does) and the refusal is on the certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/support/acme_front.h"
#include "tests/support/controller.h"
#include "tests/support/edge.h"
#include "tests/support/harness.h"
#include "tests/support/pebble.h"
#include "tests/support/tlsload.h"

#define ADMIN "admintok"
#define VALIDITY_S (160L * 3600)
#define PROFILES "{\"classic\": \"90 days\", \"shortlived\": \"160 hours\"}"

static char g_dir[256];
static cp_test_redis_t g_redis;
static cp_test_pebble_t g_pebble;
static cp_test_front_t g_front;
static cp_test_controller_t g_ctl;
static cp_test_edge_t g_edge;
static int g_port6; /* the edge's [::1] HTTPS listener */
static char g_root[320];

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin,edgetok:edge",
                                  "ASAN_OPTIONS=detect_leaks=0", NULL};

/* GET /v1/certificates/NAME parsed; NULL when unreachable. */
static json_t *get_cert(const char *name)
{
    const char *out = cp_test_sh("curl -s -m 5 -H 'Authorization: Bearer " ADMIN "' "
                                 "http://127.0.0.1:%d/v1/certificates/%s",
                                 g_ctl.http_port, name);
    return json_loads(out, 0, NULL);
}

static const char *str(json_t *j, const char *field)
{
    const char *s = json_string_value(json_object_get(j, field));
    return s != NULL ? s : "";
}

/* An RFC 3339 timestamp as Unix seconds (fractions dropped); -1 when absent. */
static long unix_s(json_t *j, const char *field)
{
    const char *s = str(j, field);
    struct tm tm = {0};
    if (*s == '\0' || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return -1;
    return (long)timegm(&tm);
}

/* Waits until NAME's state is `state` (or, with want_error, until its lastError is set); the
 * certificate then, or NULL after timeout_s. */
static json_t *wait_for(const char *name, const char *state, int want_error, int timeout_s)
{
    double t0 = cp_test_now_s();
    while (cp_test_now_s() - t0 < timeout_s) {
        json_t *j = get_cert(name);
        if (j != NULL && ((state != NULL && strcmp(str(j, "state"), state) == 0) ||
                          (want_error && *str(j, "lastError") != '\0')))
            return j;
        json_decref(j);
        usleep(200 * 1000);
    }
    return NULL;
}

static void create(const char *name, const char *ips_json, const char *profile)
{
    const char *out = cp_test_sh(
        "curl -s -w ' %%{http_code}' -H 'Authorization: Bearer " ADMIN "' "
        "-H 'Content-Type: application/json' -d '{\"name\":\"%s\",\"ipAddresses\":%s,"
        "\"profile\":\"%s\",\"keyType\":\"EC_P256\"}' http://127.0.0.1:%d/v1/certificates",
        name, ips_json, profile, g_ctl.http_port);
    if (strstr(out, " 200") == NULL)
        fail_msg("create %s: %s", name, out);
}

/* curl --cacert <Pebble's root> https://HOST:PORT/ (no SNI for an IP): "<status> <exit>". */
static const char *curl_verify(const char *host, int port)
{
    return cp_test_sh("curl -s -o /dev/null -w '%%{http_code}' --max-time 10 --cacert '%s' "
                      "https://%s:%d/; echo \" $?\"",
                      g_root, host, port);
}

/* The serial the edge serves on HOST:PORT without SNI, as openssl prints it ("" on failure). */
static const char *served_serial(const char *host, int port)
{
    return cp_test_sh("echo | timeout 10 openssl s_client -connect '%s:%d' -noservername "
                      "2>/dev/null | openssl x509 -noout -serial 2>/dev/null | cut -d= -f2 | "
                      "tr -d '\\n'",
                      host, port);
}

/* Orders the front passed to Pebble (status 201) with an identifier of type ip, as JSON. */
static json_t *ip_orders(void)
{
    char *body = NULL;
    assert_int_equal(cp_test_front_get(&g_front, "/orders", &body), 0);
    json_t *all = json_loads(body, 0, NULL), *out = json_array(), *o;
    free(body);
    assert_non_null(all);
    size_t i;
    json_array_foreach(all, i, o)
    {
        json_t *id0 = json_array_get(json_object_get(o, "identifiers"), 0);
        if (json_integer_value(json_object_get(o, "status")) == 201 &&
            strcmp(str(id0, "type"), "ip") == 0)
            json_array_append(out, o);
    }
    json_decref(all);
    return out;
}

static void test_ip_under_classic_is_refused_by_the_ca_with_a_clear_error(void **state)
{
    (void)state;
    create("ip-classic", "[\"127.0.0.1\"]", "classic");
    json_t *c = wait_for("ip-classic", NULL, 1, 60);
    assert_non_null(c);
    print_message("[ ip ] classic: state %s, lastError: %s\n", str(c, "state"),
                  str(c, "lastError"));
    assert_non_null(strstr(str(c, "lastError"), "only issued under the profiles shortlived"));
    assert_string_equal(str(c, "notAfter"), "");
    json_decref(c);
    json_t *orders = ip_orders();
    assert_int_equal(json_array_size(orders), 0); /* Pebble never got it */
    json_decref(orders);
}

static void test_shortlived_ip_certificate_is_issued_served_and_renewed_without_a_gap(void **state)
{
    (void)state;
    double t0 = cp_test_now_s();
    create("loopback", "[\"127.0.0.1\", \"::1\"]", "shortlived");
    json_t *c = wait_for("loopback", "VALID", 0, 90);
    if (c == NULL) {
        cp_test_controller_dump_log(&g_ctl, 30);
        cp_test_edge_dump_log(&g_edge, 20);
    }
    assert_non_null(c);
    long nb = unix_s(c, "notBefore"), na = unix_s(c, "notAfter"), ra = unix_s(c, "renewAfter");
    long ws = unix_s(c, "ariWindowStart"), we = unix_s(c, "ariWindowEnd");
    print_message("[ ip ] VALID in %.1f s: lifetime %.1f h, renew after %.1f h (ARI window "
                  "%.1f-%.1f h), issued by %s\n",
                  cp_test_now_s() - t0, (na - nb) / 3600.0, (ra - nb) / 3600.0, (ws - nb) / 3600.0,
                  (we - nb) / 3600.0, str(c, "issuedBy"));
    /* The profile's lifetime, and a renewal time inside the window the CA suggested for it. */
    assert_true(labs(na - nb - VALIDITY_S) <= 60);
    assert_true(ws > nb && we < na && ra >= ws - 1 && ra <= we + 1);
    char serial1[128];
    snprintf(serial1, sizeof serial1, "%s", str(c, "serial"));
    json_decref(c);

    json_t *orders = ip_orders();
    assert_int_equal(json_array_size(orders), 1);
    json_t *o = json_array_get(orders, 0);
    assert_string_equal(str(o, "profile"), "shortlived");
    assert_int_equal(json_array_size(json_object_get(o, "identifiers")), 2);
    json_decref(orders);

    /* Served without SNI by local address, verified by curl against Pebble's root. */
    double ts = cp_test_now_s();
    while (cp_test_now_s() - ts < 30 &&
           strcmp(curl_verify("127.0.0.1", g_edge.https_port), "200 0\n") != 0)
        usleep(200 * 1000);
    assert_string_equal(curl_verify("127.0.0.1", g_edge.https_port), "200 0\n");
    assert_string_equal(curl_verify("[::1]", g_port6), "200 0\n");

    /* The CA moves the window to now (say, a mass revocation): the controller's next ARI poll
     * sees it and renews with `replaces`, while a client verifying all along never fails. */
    char *certs = NULL;
    assert_int_equal(cp_test_front_get(&g_front, "/certs", &certs), 0);
    json_t *learned = json_loads(certs, 0, NULL);
    free(certs);
    const char *cert_id = NULL, *key;
    json_t *v;
    json_object_foreach(learned, key, v)
    {
        const char *s = str(v, "serial");
        if (strcasecmp(s, serial1) == 0 || strcasestr(serial1, s) != NULL)
            cert_id = key;
    }
    assert_non_null(cert_id);
    char body[512];
    snprintf(body, sizeof body, "{\"certID\": \"%s\", \"startIn\": -60, \"endIn\": 5}", cert_id);
    assert_int_equal(cp_test_front_post(&g_front, "/window", body), 0);

    int checks = 0, failures = 0;
    char serial2[128] = "";
    double tr = cp_test_now_s();
    while (cp_test_now_s() - tr < 60 && checks < 3000) {
        const char *r = curl_verify(checks % 2 == 0 ? "127.0.0.1" : "[::1]",
                                    checks % 2 == 0 ? g_edge.https_port : g_port6);
        checks++;
        if (strcmp(r, "200 0\n") != 0) {
            failures++;
            print_message("[ ip ] check %d failed: %s", checks, r);
        }
        json_t *now = get_cert("loopback");
        if (now != NULL && strcmp(str(now, "state"), "VALID") == 0 &&
            strcmp(str(now, "serial"), serial1) != 0)
            snprintf(serial2, sizeof serial2, "%s", str(now, "serial"));
        json_decref(now);
        if (*serial2 != '\0' &&
            strcasecmp(served_serial("127.0.0.1", g_edge.https_port), serial2) == 0 &&
            strcasecmp(served_serial("[::1]", g_port6), serial2) == 0)
            break;
    }
    print_message("[ ip ] window moved to now: renewed and served in %.1f s, %d verified "
                  "requests during it, %d failed\n",
                  cp_test_now_s() - tr, checks, failures);
    assert_string_not_equal(serial2, "");
    assert_int_equal(strcasecmp(served_serial("127.0.0.1", g_edge.https_port), serial2), 0);
    assert_int_equal(strcasecmp(served_serial("[::1]", g_port6), serial2), 0);
    assert_int_equal(failures, 0);
    orders = ip_orders();
    assert_int_equal(json_array_size(orders), 2);
    o = json_array_get(orders, 1);
    assert_string_equal(str(o, "profile"), "shortlived");
    assert_string_equal(str(o, "replaces"), cert_id);
    json_decref(orders);
    json_decref(learned);
}

static int group_setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("cp-shortip-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    int edge_http = cp_test_free_port();
    cp_test_pebble_opts_t po = {.http_port = edge_http, .validity_s = VALIDITY_S};
    cp_test_front_opts_t fo = {
        .profiles = PROFILES, .ip_profiles = "[\"shortlived\"]", .retry_after_s = 1};
    if (cp_test_pebble_start(&g_pebble, &po) != 0 ||
        cp_test_front_start(&g_front, &g_pebble, &fo) != 0)
        return -1;
    char *root = NULL;
    snprintf(g_root, sizeof g_root, "%s/pebble-root.pem", g_dir);
    FILE *f = fopen(g_root, "w");
    if (f == NULL || cp_test_pebble_mgmt_get(&g_pebble, "/roots/0", &root) != 0)
        return -1;
    fputs(root, f);
    fclose(f);
    free(root);

    char provider[400], ca[400];
    snprintf(provider, sizeof provider, "--acme-provider=%s", g_front.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", g_front.ca_file);
    const char *args[] = {provider,
                          ca,
                          "--workers=2",
                          "--acme-email=ops@example.com",
                          "--ari-poll-min=1s",
                          "--ari-poll-max=2s",
                          "--edge-ttl=10s",
                          NULL};
    if (cp_test_controller_start(&g_ctl, g_redis.url, g_dir, args, g_ctl_env) != 0)
        return -1;

    /* HTTP-01 for ::1 comes to [::1]: the plain listener is dual-stack. */
    g_port6 = cp_test_free_port();
    char ctl[64], v6[64], http[64];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    snprintf(v6, sizeof v6, "--listen=[::1]:%d", g_port6);
    snprintf(http, sizeof http, "--http-listen=[::]:%d", edge_http);
    const char *eargs[] = {
        ctl, v6, http, "--threads=1", "--report-interval=1s", "--default-upstream=respond:200:ok",
        NULL};
    const char *eenv[] = {"CERTPLANE_EDGE_TOKEN=edgetok", "ASAN_OPTIONS=detect_leaks=0", NULL};
    return cp_test_edge_start_http(&g_edge, g_dir, edge_http, eargs, eenv);
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_edge_stop(&g_edge);
    cp_test_controller_stop(&g_ctl);
    cp_test_front_stop(&g_front);
    cp_test_pebble_stop(&g_pebble);
    cp_test_redis_stop(&g_redis);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_under_classic_is_refused_by_the_ca_with_a_clear_error),
        cmocka_unit_test(test_shortlived_ip_certificate_is_issued_served_and_renewed_without_a_gap),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
