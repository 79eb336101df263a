/* SPDX-License-Identifier: Apache-2.0 */
/* test_grpc_tls.c - gRPC over TLS and mutual TLS against real processes: a controller with
 * --grpc-tls-cert/--grpc-tls-key (and --grpc-client-ca), python3-grpcio clients, certplane-edge
 * with --controller-ca/--client-cert/--client-key/--controller-server-name, and a controller that
 * must refuse a key that does not match its certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/x509.h"
#include "tests/support/controller.h"
#include "tests/support/edge.h"

#define ADMIN "adm1n-token"
#define EDGE "ed9e-token"

static cp_test_redis_t g_redis;
static cp_test_controller_t g_tls;  /* TLS, no client certificates */
static cp_test_controller_t g_mtls; /* TLS + --grpc-client-ca */
static char g_dir[256];

static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," EDGE ":edge", NULL};

/* Certificates made with the openssl command (all P-256, valid 2 days):
 *   ca           signs server.crt (SAN IP:127.0.0.1, DNS:controller.test; serverAuth)
 *   client-ca    the controller's --grpc-client-ca; signs client.crt (clientAuth)
 *   other-ca     signs other-client.crt; trusted by nobody
 *   wrong.key    an EC key of no certificate; wrong-rsa.key an RSA one */
static const char CERT_SCRIPT[] =
    "set -e\n"
    "ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1.key "
    "-out $1.crt -days 2 -subj \"/CN=$2\"; }\n"
    "leaf() { openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $1.key "
    "-out $1.csr -subj \"/CN=$3\"\n"
    "  printf 'basicConstraints=CA:FALSE\\nextendedKeyUsage=%s\\n%s\\n' $4 \"$5\" > $1.ext\n"
    "  openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key -CAcreateserial -days 2 "
    "-extfile $1.ext -out $1.crt; }\n"
    "ca ca 'certplane test server CA'\n"
    "ca client-ca 'certplane test client CA'\n"
    "ca other-ca 'some other CA'\n"
    "leaf server ca controller.test serverAuth 'subjectAltName=IP:127.0.0.1,DNS:controller.test'\n"
    "leaf client client-ca edge-1 clientAuth 'subjectAltName=DNS:edge-1.test'\n"
    "leaf other-client other-ca edge-2 clientAuth 'subjectAltName=DNS:edge-2.test'\n"
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out wrong.key\n"
    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out wrong-rsa.key\n"
    "echo certs-ok\n";

static int make_certs(void)
{
    char path[400];
    snprintf(path, sizeof path, "%s/certs.sh", g_dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(CERT_SCRIPT, f);
    fclose(f);
    const char *out = cp_test_sh("cd '%s' && sh certs.sh 2>certs.log", g_dir);
    if (strstr(out, "certs-ok") == NULL) {
        cp_test_sh("cat '%s/certs.log' >&2", g_dir);
        return -1;
    }
    return 0;
}

/* Starts a TLS controller on the shared Redis; with `client_ca`, clients must present a
 * certificate signed by client-ca.crt. */
static int start_tls_controller(cp_test_controller_t *c, int client_ca)
{
    char acme[128], cert[400], key[400], ca[400];
    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    snprintf(cert, sizeof cert, "--grpc-tls-cert=%s/server.crt", g_dir);
    snprintf(key, sizeof key, "--grpc-tls-key=%s/server.key", g_dir);
    snprintf(ca, sizeof ca, "--grpc-client-ca=%s/client-ca.crt", g_dir);
    const char *args[] = {
        acme, "--workers=1", "--acme-timeout=2s", cert, key, client_ca ? ca : NULL, NULL};
    return cp_test_controller_start(c, g_redis.url, g_dir, args, g_ctl_env);
}

static int group_setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("cp-grpctls-", g_dir, sizeof g_dir) != 0 || make_certs() != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0 || start_tls_controller(&g_tls, 0) != 0 ||
        start_tls_controller(&g_mtls, 1) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int a = cp_test_controller_stop(&g_tls), b = cp_test_controller_stop(&g_mtls);
    if (a != 0)
        cp_test_controller_dump_log(&g_tls, 40);
    if (b != 0)
        cp_test_controller_dump_log(&g_mtls, 40);
    cp_test_redis_stop(&g_redis);
    if (a == 0 && b == 0)
        cp_test_rmrf(g_dir);
    return a == 0 && b == 0 ? 0 : -1; /* both shut down cleanly on SIGTERM */
}

/* ---- (1) + (2): python3-grpcio over TLS and mTLS ---- */

static void test_python_grpcio_over_tls_and_mutual_tls(void **state)
{
    (void)state;
    char tls[64], mtls[64], script[1024], proto[1024], log[512], work[400];
    const char *src = getenv("CP_SOURCE_DIR");
    snprintf(tls, sizeof tls, "127.0.0.1:%d", g_tls.grpc_port);
    snprintf(mtls, sizeof mtls, "127.0.0.1:%d", g_mtls.grpc_port);
    snprintf(script, sizeof script, "%s/tests/integration/api/grpc_tls.py", src);
    snprintf(proto, sizeof proto, "%s/proto", src);
    snprintf(work, sizeof work, "%s/py", g_dir);
    snprintf(log, sizeof log, "%s/grpc_tls.py.log", g_dir);
    assert_int_equal(mkdir(work, 0700), 0);
    char *const argv[] = {"/usr/bin/python3", script, "--tls-addr", tls,   "--mtls-addr", mtls,
                          "--certs",          g_dir,  "--admin",    ADMIN, "--proto-dir", proto,
                          "--work-dir",       work,   NULL};
    cp_test_proc_t py;
    assert_int_equal(cp_test_spawn(&py, "grpc_tls.py", argv, NULL, log), 0);
    int status = -1;
    int rc = cp_test_wait_exit(&py, 60000, &status);
    if (rc != 0)
        cp_test_stop(&py, SIGKILL, 1000);
    cp_test_sh("cat '%s' >&2", log);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- (4): the HTTP/JSON gateway stays plaintext ---- */

static void test_http_gateway_stays_plaintext(void **state)
{
    (void)state;
    const cp_test_controller_t *ctls[] = {&g_tls, &g_mtls};
    for (size_t i = 0; i < 2; i++) {
        const char *out = cp_test_sh(
            "curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer " ADMIN "' "
            "http://127.0.0.1:%d/v1/certificates",
            ctls[i]->http_port);
        assert_string_equal(out, "200");
        out = cp_test_sh("curl -sk -o /dev/null -w '%%{http_code}' --max-time 5 "
                         "https://127.0.0.1:%d/healthz",
                         ctls[i]->http_port);
        assert_string_equal(out, "000"); /* no TLS there */
        /* ... and the gRPC port does not speak plain HTTP/1.1 JSON either */
        out = cp_test_sh("curl -s -o /dev/null -w '%%{http_code}' --max-time 5 "
                         "http://127.0.0.1:%d/healthz",
                         ctls[i]->grpc_port);
        assert_string_equal(out, "000");
    }
}

/* ---- (3): edges over mTLS ---- */

static void json_escape(const char *s, FILE *f)
{
    for (; *s != '\0'; s++)
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
}

/* Imports a fresh self-signed certificate for `dns` as `name` through the (plaintext) JSON
 * gateway of `ctl`; writes its serial in upper-case hex, as openssl x509 -serial prints it. */
static void import_cert(const cp_test_controller_t *ctl, const char *name, const char *dns,
                        char *serial, size_t size)
{
    cp_err_t err = {0};
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    char *cpem = NULL, *kpem = NULL;
    const char *names[] = {dns};
    assert_int_equal(cp_x509_key_generate(CP_KEY_EC_P256, &key, &err), 0);
    assert_int_equal(cp_x509_self_signed(key, names, 1, 30, &cert, &err), 0);
    assert_int_equal(cp_x509_cert_to_pem(cert, &cpem, &err), 0);
    assert_int_equal(cp_x509_key_to_pem(key, &kpem, &err), 0);
    cp_x509_info_t info;
    assert_int_equal(cp_x509_info_get(cert, &info, &err), 0);
    size_t i = 0;
    for (; info.serial[i] != '\0' && i < size - 1; i++)
        serial[i] = (char)(info.serial[i] >= 'a' && info.serial[i] <= 'f' ? info.serial[i] - 32
                                                                          : info.serial[i]);
    serial[i] = '\0';
    cp_x509_info_dispose(&info);
    char path[512];
    snprintf(path, sizeof path, "%s/import-%s.json", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"name\":\"%s\",\"fullchainPem\":\"", name);
    json_escape(cpem, f);
    fputs("\",\"privateKeyPem\":\"", f);
    json_escape(kpem, f);
    fputs("\"}", f);
    fclose(f);
    const char *out = cp_test_sh("curl -s -X POST http://127.0.0.1:%d/v1/certificates:import -H "
                                 "'Content-Type: application/json' -H 'Authorization: Bearer " ADMIN
                                 "' --data-binary @%s",
                                 ctl->http_port, path);
    if (strstr(out, "\"VALID\"") == NULL)
        fail_msg("import %s failed: %s", name, out);
    free(cpem);
    free(kpem);
    X509_free(cert);
    EVP_PKEY_free(key);
}

static int readyz_code(const cp_test_edge_t *e)
{
    return atoi(cp_test_sh("curl -s -o /dev/null -w '%%{http_code}' --max-time 2 "
                           "http://127.0.0.1:%d/readyz",
                           e->admin_port));
}

/* Starts an edge against the mTLS controller; `client_cert`: with client.crt/.key. */
static void start_edge(cp_test_edge_t *e, int client_cert)
{
    char ctl[64], ca[400], cert[400], key[400];
    snprintf(ctl, sizeof ctl, "--controller=127.0.0.1:%d", g_mtls.grpc_port);
    snprintf(ca, sizeof ca, "--controller-ca=%s/ca.crt", g_dir);
    snprintf(cert, sizeof cert, "--client-cert=%s/client.crt", g_dir);
    snprintf(key, sizeof key, "--client-key=%s/client.key", g_dir);
    /* server.crt names 127.0.0.1 too; the override makes the edge check controller.test instead */
    const char *args[] = {ctl,
                          ca,
                          "--controller-server-name=controller.test",
                          "--threads=1",
                          "--reconnect-max=1s",
                          client_cert ? cert : NULL,
                          key,
                          NULL};
    const char *env[] = {"CERTPLANE_EDGE_TOKEN=" EDGE, NULL};
    assert_int_equal(cp_test_edge_start(e, g_dir, args, env), 0);
}

static void test_edge_with_client_certificate_serves_imported_certificate(void **state)
{
    (void)state;
    cp_test_edge_t e;
    start_edge(&e, 1);
    int code = 0;
    for (int i = 0; i < 100 && code != 200; i++) {
        code = readyz_code(&e);
        if (code != 200)
            usleep(100000);
    }
    if (code != 200)
        cp_test_edge_dump_log(&e, 30);
    assert_int_equal(code, 200);
    char serial[128];
    import_cert(&g_mtls, "mtls-edge", "mtls-edge.test", serial, sizeof serial);
    const char *out = "";
    for (int i = 0; i < 50; i++) {
        out = cp_test_sh("echo | openssl s_client -connect 127.0.0.1:%d -servername mtls-edge.test "
                         "2>/dev/null | openssl x509 -noout -serial -subject",
                         e.https_port);
        if (strstr(out, serial) != NULL)
            break;
        usleep(200000);
    }
    if (strstr(out, serial) == NULL) {
        cp_test_edge_dump_log(&e, 30);
        fail_msg("edge serves %s, not serial %s", out, serial);
    }
    assert_non_null(strstr(out, "CN = mtls-edge.test"));
    int rc = cp_test_edge_stop(&e);
    if (rc != 0)
        cp_test_edge_dump_log(&e, 30);
    assert_int_equal(rc, 0);
}

static void test_edge_without_client_certificate_never_ready_and_says_why(void **state)
{
    (void)state;
    cp_test_edge_t e;
    start_edge(&e, 0);
    int ready = 0;
    for (int i = 0; i < 30; i++) { /* 3 s: several attempts with --reconnect-max=1s */
        int code = readyz_code(&e);
        assert_int_equal(code, 503);
        ready |= code == 200;
        usleep(100000);
    }
    assert_false(ready);
    int rc = cp_test_edge_stop(&e);
    const char *log = cp_test_sh("cat '%s'", e.log_path);
    print_message("edge without a client certificate logged:\n%s", log);
    assert_int_equal(rc, 0);
    assert_null(strstr(log, "first snapshot applied"));
    assert_non_null(strstr(log, "stream to 127.0.0.1"));
    assert_non_null(strstr(log, "status 14"));
    assert_non_null(strstr(log, "--grpc-client-ca also needs --client-cert/--client-key"));
}

/* ---- a key that does not match the certificate ---- */

static void expect_refused(const char *key_file)
{
    char grpc[64], http[64], redis[600], cert[400], key[400], log[512];
    snprintf(grpc, sizeof grpc, "--grpc-listen=127.0.0.1:%d", cp_test_free_port());
    snprintf(http, sizeof http, "--http-listen=127.0.0.1:%d", cp_test_free_port());
    snprintf(redis, sizeof redis, "CERTPLANE_REDIS_URL=%s", g_redis.url);
    snprintf(cert, sizeof cert, "--grpc-tls-cert=%s/server.crt", g_dir);
    snprintf(key, sizeof key, "--grpc-tls-key=%s/%s", g_dir, key_file);
    snprintf(log, sizeof log, "%s/refused-%s.log", g_dir, key_file);
    char *const argv[] = {(char *)cp_test_controller_bin(), grpc, http, cert, key, NULL};
    char *const env[] = {redis, (char *)g_ctl_env[0], (char *)cp_test_kek_env(g_dir), NULL};
    cp_test_proc_t p;
    assert_int_equal(cp_test_spawn(&p, "controller", argv, env, log), 0);
    int status = -1;
    int rc = cp_test_wait_exit(&p, 20000, &status);
    if (rc != 0)
        cp_test_stop(&p, SIGKILL, 2000);
    const char *out = cp_test_sh("cat '%s'", log);
    print_message("%s: %s", key_file, out);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(out, "cannot start"));
    assert_non_null(strstr(out, "--grpc-tls-key"));
    assert_non_null(strstr(out, "does not match"));
}

static void test_key_not_matching_the_certificate_is_refused_at_start(void **state)
{
    (void)state;
    expect_refused("wrong.key");     /* same type as the certificate's key */
    expect_refused("wrong-rsa.key"); /* another type */
    expect_refused("client.key");    /* a valid key, of another certificate */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_grpcio_over_tls_and_mutual_tls),
        cmocka_unit_test(test_http_gateway_stays_plaintext),
        cmocka_unit_test(test_edge_with_client_certificate_serves_imported_certificate),
        cmocka_unit_test(test_edge_without_client_certificate_never_ready_and_says_why),
        cmocka_unit_test(test_key_not_matching_the_certificate_is_refused_at_start),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
