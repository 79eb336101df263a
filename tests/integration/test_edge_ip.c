/* SPDX-License-Identifier: Apache-2.0 */
/* test_edge_ip.c - certplane-edge serves an IP-address certificate (RFC 8738) to clients that send
 * no SNI, chosen by the local address: 127.0.0.1, [::1] and an IPv4-mapped dual-stack socket; a
 * name certificate is still chosen by SNI; without an IP certificate the fallback, as before */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/controller.h"
#include "tests/support/edge.h"

static cp_test_redis_t g_redis;
static cp_test_controller_t g_ctl;
static cp_test_edge_t g_edge;
static char g_dir[256];
static int g_port6;       /* [::1] */
static int g_port_mapped; /* [::ffff:127.0.0.1]: IPv4 clients on an IPv6 socket */

/* ---- a test CA and its leaves, made with the openssl command ---- */

/* ca.pem and ca.key: a P-256 CA. */
static int make_ca(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout ca.key -out ca.pem -days 2 -subj '/CN=certplane test CA' "
             "-addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null",
             g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* <leaf>.pem and <leaf>.key signed by the CA, with subjectAltName `san` and no CN. */
static int make_leaf(const char *leaf, const char *san)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && printf 'subjectAltName=critical,%s\\nextendedKeyUsage=serverAuth\\n' "
             ">%s.ext && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout %s.key -out %s.csr -subj '/O=certplane test' 2>/dev/null && "
             "openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile %s.ext -out %s.pem 2>/dev/null",
             g_dir, san, leaf, leaf, leaf, leaf, leaf, leaf);
    return system(cmd) == 0 ? 0 : -1;
}

/* The serial openssl prints ("serial=0A1B..."), of a file or of what a server sent. */
static const char *serial_of(const char *leaf)
{
    static char out[128];
    snprintf(out, sizeof out, "%s",
             cp_test_sh("openssl x509 -noout -serial -in '%s/%s.pem'", g_dir, leaf));
    return out;
}

/* ---- ImportCertificate over REST ---- */

static void json_file(FILE *out, const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int ch;
    while ((ch = fgetc(f)) != EOF)
        if (ch == '\n')
            fputs("\\n", out);
        else
            fputc(ch, out);
    fclose(f);
}

static void import_leaf(const char *name, const char *leaf)
{
    char path[512], pem[512], key[512];
    snprintf(path, sizeof path, "%s/import-%s.json", g_dir, leaf);
    snprintf(pem, sizeof pem, "%s/%s.pem", g_dir, leaf);
    snprintf(key, sizeof key, "%s/%s.key", g_dir, leaf);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"name\":\"%s\",\"fullchainPem\":\"", name);
    json_file(f, pem);
    fputs("\",\"privateKeyPem\":\"", f);
    json_file(f, key);
    fputs("\"}", f);
    fclose(f);
    const char *out =
        cp_test_sh("curl -s -X POST http://127.0.0.1:%d/v1/certificates:import -H "
                   "'Content-Type: application/json' -H 'Authorization: Bearer admintok' "
                   "--data-binary @%s",
                   g_ctl.http_port, path);
    if (strstr(out, "\"VALID\"") == NULL)
        fail_msg("import %s failed: %s", name, out);
}

/* ---- what the edge serves ---- */

/* The serial (or the subject, `what` = "subject") of the leaf served at host:port with SNI `sni`
 * (NULL: none, as a client connecting to an IP address). */
static const char *served(const char *host, int port, const char *sni, const char *what)
{
    char servername[300] = "";
    if (sni != NULL)
        snprintf(servername, sizeof servername, "-servername %s", sni);
    return cp_test_sh("echo | timeout 10 openssl s_client -connect %s:%d %s 2>/dev/null | openssl "
                      "x509 -noout -%s 2>/dev/null",
                      host, port, servername, what);
}

/* Waits up to 10 s until the no-SNI certificate at 127.0.0.1 has `serial` (its presence = 1) or
 * no longer has it (0). */
static void wait_no_sni(const char *serial, int present)
{
    time_t end = time(NULL) + 10;
    while (time(NULL) <= end) {
        if ((strcmp(served("127.0.0.1", g_edge.https_port, NULL, "serial"), serial) == 0) ==
            present)
            return;
        usleep(50000);
    }
    fail_msg("the edge did not %s serial %s within 10 s", present ? "serve" : "stop serving",
             serial);
}

/* curl --cacert ca.pem https://<url_host>:<port>/: "<exit code> <HTTP status>". */
static const char *curl_verify(const char *url_host, int port, const char *resolve)
{
    return cp_test_sh("curl -s -o /dev/null -w '%%{http_code}' --max-time 10 --cacert '%s/ca.pem' "
                      "%s https://%s:%d/; echo \" $?\"",
                      g_dir, resolve != NULL ? resolve : "", url_host, port);
}

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=admintok:admin,edgetok:edge",
                                  "ASAN_OPTIONS=detect_leaks=0", NULL};

static int edge_ready(void)
{
    for (int i = 0; i < 100; i++) {
        const char *r = cp_test_sh("curl -s http://127.0.0.1:%d/readyz", g_edge.admin_port);
        if (strstr(r, "ready\n") != NULL && strstr(r, "waiting") == NULL)
            return 0;
        usleep(100000);
    }
    cp_test_edge_dump_log(&g_edge, 30);
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("cp-edgeip-", g_dir, sizeof g_dir) != 0 || make_ca() != 0 ||
        make_leaf("ip", "IP:127.0.0.1,IP:::1") != 0 || make_leaf("name", "DNS:ipname.test") != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0 ||
        cp_test_controller_start(&g_ctl, g_redis.url, g_dir, NULL, g_ctl_env) != 0)
        return -1;
    g_port6 = cp_test_free_port();
    g_port_mapped = cp_test_free_port();
    /* Besides the harness's 127.0.0.1 listener: [::1] and a dual-stack socket on the IPv4-mapped
     * loopback (IPv4 clients, getsockname says ::ffff:127.0.0.1); all loopback only. */
    char ctl[64], v6[64], mapped[64];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_ctl.grpc_port);
    snprintf(v6, sizeof v6, "--listen=[::1]:%d", g_port6);
    snprintf(mapped, sizeof mapped, "--listen=[::ffff:127.0.0.1]:%d", g_port_mapped);
    const char *args[] = {ctl,           v6,  mapped, "--default-upstream=respond:200:ok",
                          "--threads=2", NULL};
    char supp[600];
    snprintf(supp, sizeof supp, "LSAN_OPTIONS=suppressions=%s/tests/lsan.supp",
             getenv("CP_SOURCE_DIR") != NULL ? getenv("CP_SOURCE_DIR") : ".");
    const char *env[] = {"CERTPLANE_EDGE_TOKEN=edgetok", supp, NULL};
    if (cp_test_edge_start(&g_edge, g_dir, args, env) != 0 ||
        cp_test_wait_port(g_port_mapped, 5000))
        return -1;
    return edge_ready();
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = cp_test_edge_stop(&g_edge);
    if (rc != 0)
        cp_test_edge_dump_log(&g_edge, 30);
    cp_test_controller_stop(&g_ctl);
    cp_test_redis_stop(&g_redis);
    cp_test_rmrf(g_dir);
    return rc == 0 ? 0 : -1;
}

/* Runs first: no IP certificate yet, so a client without SNI gets the fallback, as before. */
static void test_without_ip_certificate_fallback_is_served(void **state)
{
    (void)state;
    import_leaf("name", "name"); /* a name certificate alone changes nothing for addresses */
    assert_non_null(
        strstr(served("127.0.0.1", g_edge.https_port, NULL, "subject"), "certplane-edge.invalid"));
    assert_non_null(strstr(served("[::1]", g_port6, NULL, "subject"), "certplane-edge.invalid"));
    const char *out = curl_verify("127.0.0.1", g_edge.https_port, NULL);
    if (strcmp(out, "000 60\n") != 0) /* 60: the peer's certificate did not verify */
        fail_msg("curl https://127.0.0.1 without an IP certificate: %s", out);
}

static void test_ip_certificate_verifies_on_ipv4_ipv6_and_mapped(void **state)
{
    (void)state;
    char ip_serial[128];
    snprintf(ip_serial, sizeof ip_serial, "%s", serial_of("ip"));
    import_leaf("loopback-ip", "ip");
    wait_no_sni(ip_serial, 1);
    /* openssl s_client without -servername gets it on every address. */
    assert_string_equal(served("127.0.0.1", g_edge.https_port, NULL, "serial"), ip_serial);
    assert_string_equal(served("[::1]", g_port6, NULL, "serial"), ip_serial);
    assert_string_equal(served("127.0.0.1", g_port_mapped, NULL, "serial"), ip_serial);
    /* An IP literal sent as SNI (RFC 6066 forbids it; some clients do it). */
    assert_string_equal(served("127.0.0.1", g_edge.https_port, "127.0.0.1", "serial"), ip_serial);
    /* curl verifies it against the CA, HTTP/2 and HTTP/1.1. */
    assert_string_equal(curl_verify("127.0.0.1", g_edge.https_port, NULL), "200 0\n");
    assert_string_equal(curl_verify("[::1]", g_port6, NULL), "200 0\n");
    assert_string_equal(curl_verify("127.0.0.1", g_port_mapped, "--http1.1"), "200 0\n");
    const char *m = cp_test_sh("curl -s http://127.0.0.1:%d/metrics", g_edge.admin_port);
    assert_non_null(strstr(m, "certplane_edge_tls_handshakes_total{match=\"ip\"} "));
    assert_null(strstr(m, "certplane_edge_tls_handshakes_total{match=\"ip\"} 0\n"));
}

static void test_name_certificate_still_chosen_by_sni(void **state)
{
    (void)state;
    char name_serial[128], resolve[128];
    snprintf(name_serial, sizeof name_serial, "%s", serial_of("name"));
    assert_string_equal(served("127.0.0.1", g_edge.https_port, "ipname.test", "serial"),
                        name_serial);
    assert_string_equal(served("[::1]", g_port6, "ipname.test", "serial"), name_serial);
    snprintf(resolve, sizeof resolve, "--resolve ipname.test:%d:127.0.0.1", g_edge.https_port);
    assert_string_equal(curl_verify("ipname.test", g_edge.https_port, resolve), "200 0\n");
    /* An unknown name: the fallback, not the IP certificate. */
    assert_non_null(strstr(served("127.0.0.1", g_edge.https_port, "unknown.test", "subject"),
                           "certplane-edge.invalid"));
}

static void test_deleted_ip_certificate_falls_back(void **state)
{
    (void)state;
    char ip_serial[128];
    snprintf(ip_serial, sizeof ip_serial, "%s", serial_of("ip"));
    cp_test_sh("curl -s -X DELETE http://127.0.0.1:%d/v1/certificates/loopback-ip -H "
               "'Authorization: Bearer admintok'",
               g_ctl.http_port);
    wait_no_sni(ip_serial, 0);
    assert_non_null(strstr(served("[::1]", g_port6, NULL, "subject"), "certplane-edge.invalid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_ip_certificate_fallback_is_served),
        cmocka_unit_test(test_ip_certificate_verifies_on_ipv4_ipv6_and_mapped),
        cmocka_unit_test(test_name_certificate_still_chosen_by_sni),
        cmocka_unit_test(test_deleted_ip_certificate_falls_back),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
