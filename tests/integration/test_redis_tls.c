/* SPDX-License-Identifier: Apache-2.0 */
/* test_redis_tls.c - the controller over rediss:// to a redis-server that listens only with TLS:
 * mutual TLS with a password stores and reads back, a server certificate of another CA or for
 * another name is refused before any byte of data, a killed Redis is reconnected to */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/controller.h"
#include "tests/support/edge.h"

#define PASSWORD "tls-s3cret-pw"

static char g_dir[256];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- certificates, made with the openssl command ---- */

/* <ca>.pem and <ca>.key: a P-256 CA named cn. */
static void make_ca(const char *ca, const char *cn)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
             "-keyout %s.key -out %s.pem -days 2 -subj '/CN=%s' "
             "-addext basicConstraints=critical,CA:TRUE "
             "-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null",
             g_dir, ca, ca, cn);
    assert_int_equal(system(cmd), 0);
}

/* <leaf>.pem and <leaf>.key signed by <ca>, with subjectAltName san (or none when NULL). */
static void make_leaf(const char *leaf, const char *ca, const char *san)
{
    char cmd[2048], ext[300];
    snprintf(ext, sizeof ext, "%s%s", san ? "subjectAltName=" : "", san ? san : "");
    snprintf(cmd, sizeof cmd,
             "cd '%s' && printf '%s\\nextendedKeyUsage=serverAuth,clientAuth\\n' >%s.ext && "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s.key "
             "-out %s.csr -subj '/O=certplane test/CN=%s' 2>/dev/null && openssl x509 -req -in "
             "%s.csr -CA %s.pem -CAkey %s.key -CAcreateserial -days 2 -extfile %s.ext -out %s.pem "
             "2>/dev/null",
             g_dir, ext, leaf, leaf, leaf, leaf, leaf, ca, ca, leaf, leaf);
    assert_int_equal(system(cmd), 0);
}

/* ---- a redis-server with TLS only ---- */

typedef struct tls_redis {
    cp_test_proc_t proc;
    int port;
    char leaf[32]; /* its certificate: <leaf>.pem, <leaf>.key */
    char ca[32];   /* the CA that signed it (redis-cli trusts <ca>.pem) */
    char data[512];
} tls_redis_t;

/* redis-cli over TLS as the client "client" (trusting ca), with the password. */
static const char *cli(const tls_redis_t *r, const char *command)
{
    return cp_test_sh("cd '%s' && timeout 10 redis-cli --tls --cacert %s.pem --cert client.pem "
                      "--key client.key --sni localhost -h 127.0.0.1 -p %d -a " PASSWORD
                      " --no-auth-warning %s 2>&1",
                      g_dir, r->ca, r->port, command);
}

/* Starts (or restarts, same port and data) redis-server: --port 0 (no plaintext listener), TLS on
 * r->port with <leaf> as its certificate, client certificates of ca required, a password and an
 * append-only file. Returns once it answers PING over TLS. */
static void redis_start(tls_redis_t *r)
{
    char port[16], cert[300], key[300], ca[300], log[600];
    if (r->port == 0)
        r->port = cp_test_free_port();
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(cert, sizeof cert, "%s/%s.pem", g_dir, r->leaf);
    snprintf(key, sizeof key, "%s/%s.key", g_dir, r->leaf);
    snprintf(ca, sizeof ca, "%s/ca.pem", g_dir);
    snprintf(log, sizeof log, "%s/redis.log", r->data);
    char *argv[] = {"redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--tls-port",
                    port,
                    "--tls-cert-file",
                    cert,
                    "--tls-key-file",
                    key,
                    "--tls-ca-cert-file",
                    ca,
                    "--tls-auth-clients",
                    "yes",
                    "--requirepass",
                    PASSWORD,
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--dir",
                    r->data,
                    "--daemonize",
                    "no",
                    NULL};
    assert_int_equal(cp_test_spawn(&r->proc, "redis-server", argv, NULL, log), 0);
    assert_int_equal(cp_test_wait_port(r->port, 10000), 0);
    long long t0 = now_ms();
    while (strstr(cli(r, "PING"), "PONG") == NULL && now_ms() - t0 < 10000)
        usleep(100 * 1000);
    assert_non_null(strstr(cli(r, "PING"), "PONG"));
}

static void redis_new(tls_redis_t *r, const char *leaf, const char *ca)
{
    memset(r, 0, sizeof *r);
    snprintf(r->leaf, sizeof r->leaf, "%s", leaf);
    snprintf(r->ca, sizeof r->ca, "%s", ca);
    snprintf(r->data, sizeof r->data, "%s/redis-%s", g_dir, leaf);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", r->data);
    assert_int_equal(system(cmd), 0);
    redis_start(r);
}

/* ---- the controller ---- */

static const char *http(const cp_test_controller_t *c, const char *path)
{
    return cp_test_sh("curl -s --max-time 5 -H 'Authorization: Bearer admintok' "
                      "'http://127.0.0.1:%d%s'",
                      c->http_port, path);
}

static void start_controller(cp_test_controller_t *c, const tls_redis_t *r,
                             const char *const *extra)
{
    char url[256], ca[300], cert[300], key[300];
    snprintf(url, sizeof url, "rediss://:%s@127.0.0.1:%d", PASSWORD, r->port);
    snprintf(ca, sizeof ca, "--redis-tls-ca-file=%s/ca.pem", g_dir);
    snprintf(cert, sizeof cert, "--redis-tls-cert=%s/client.pem", g_dir);
    snprintf(key, sizeof key, "--redis-tls-key=%s/client.key", g_dir);
    const char *args[8] = {ca, cert, key, "--workers=1"};
    for (int i = 0; extra != NULL && extra[i] != NULL && i < 3; i++)
        args[4 + i] = extra[i];
    const char *env[] = {"CERTPLANE_API_TOKENS=admintok:admin", NULL};
    assert_int_equal(cp_test_controller_start(c, url, g_dir, args, env), 0);
}

/* /readyz answers "ready\n" or "not ready: <why>\n". */
static bool is_ready(const cp_test_controller_t *c)
{
    return strncmp(http(c, "/readyz"), "ready", 5) == 0;
}

static bool wait_ready(const cp_test_controller_t *c, int timeout_ms)
{
    long long t0 = now_ms();
    while (!is_ready(c)) {
        if (now_ms() - t0 > timeout_ms)
            return false;
        usleep(100 * 1000);
    }
    return true;
}

static bool log_has(const cp_test_controller_t *c, const char *what)
{
    return cp_test_sh("grep -c -F '%s' '%s'", what, c->log_path)[0] != '0';
}

/* Imports <leaf> (a certificate of the test CA) as `name` over REST and reads it back. */
static void import_and_read_back(const cp_test_controller_t *c, const char *name, const char *leaf)
{
    const char *out = cp_test_sh(
        "cd '%s' && printf '{\"name\":\"%s\",\"fullchainPem\":\"%%s\",\"privateKeyPem\":\"%%s\"}' "
        "\"$(awk '{printf \"%%s\\\\n\", $0}' %s.pem)\" \"$(awk '{printf \"%%s\\\\n\", $0}' "
        "%s.key)\" | curl -s --max-time 10 -X POST http://127.0.0.1:%d/v1/certificates:import -H "
        "'Content-Type: application/json' -H 'Authorization: Bearer admintok' --data-binary @-",
        g_dir, name, leaf, leaf, c->http_port);
    if (strstr(out, "\"VALID\"") == NULL)
        fail_msg("import %s failed: %s", name, out);
    char path[128];
    snprintf(path, sizeof path, "/v1/certificates/%s", name);
    out = http(c, path);
    if (strstr(out, "\"VALID\"") == NULL || strstr(out, name) == NULL)
        fail_msg("GET %s: %s", name, out);
}

static int setup(void **state)
{
    (void)state;
    assert_int_equal(cp_test_tmpdir("redistls", g_dir, sizeof g_dir), 0);
    make_ca("ca", "certplane redis test CA");
    make_ca("other", "another CA");
    make_leaf("redis", "ca", "DNS:localhost,IP:127.0.0.1");
    make_leaf("redis-other-ca", "other", "DNS:localhost,IP:127.0.0.1");
    make_leaf("redis-other-name", "ca", "DNS:redis.internal");
    make_leaf("client", "ca", NULL);
    make_leaf("site", "ca", "DNS:site.example.com");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(g_dir);
    return 0;
}

/* (1) rediss:// with the test CA and a client certificate: ready, a certificate imported over
 * REST is in Redis and reads back, and the password never reaches the log. (3) Redis killed with
 * SIGKILL: not ready; started again on its port: ready again without a restart, data kept. */
static void test_mutual_tls_stores_reads_back_and_reconnects_after_a_redis_kill(void **state)
{
    (void)state;
    tls_redis_t r;
    cp_test_controller_t c;
    redis_new(&r, "redis", "ca");
    start_controller(&c, &r, NULL);
    if (!wait_ready(&c, 10000)) {
        cp_test_controller_dump_log(&c, 30);
        fail_msg("not ready over rediss://");
    }
    import_and_read_back(&c, "tls-site", "site");
    assert_string_equal(cli(&r, "EXISTS cert:tls-site"), "1\n");

    assert_int_equal(cp_test_stop(&r.proc, SIGKILL, 5000), 0);
    long long t0 = now_ms();
    while (is_ready(&c) && now_ms() - t0 < 10000)
        usleep(100 * 1000);
    assert_false(is_ready(&c));
    redis_start(&r);
    t0 = now_ms();
    if (!wait_ready(&c, 15000)) {
        cp_test_controller_dump_log(&c, 30);
        fail_msg("not ready again after Redis came back");
    }
    fprintf(stderr, "ready %lld ms after Redis answered again\n", now_ms() - t0);
    assert_non_null(strstr(http(&c, "/v1/certificates/tls-site"), "\"VALID\""));
    import_and_read_back(&c, "tls-site-2", "site");
    assert_string_equal(cli(&r, "EXISTS cert:tls-site-2"), "1\n");

    assert_false(log_has(&c, PASSWORD));
    assert_int_equal(cp_test_controller_stop(&c), 0);
    cp_test_stop(&r.proc, SIGTERM, 10000);
}

/* Not ready for a while, the verifier's reason logged, and nothing written to Redis. */
static void assert_refused(const tls_redis_t *r, const char *reason, const char *const *extra)
{
    cp_test_controller_t c;
    start_controller(&c, r, extra);
    assert_false(wait_ready(&c, 3000));
    if (!log_has(&c, reason)) {
        cp_test_controller_dump_log(&c, 20);
        fail_msg("no \"%s\" in the log", reason);
    }
    assert_string_equal(cli(r, "DBSIZE"), "0\n");
    assert_false(log_has(&c, PASSWORD));
    assert_int_equal(cp_test_controller_stop(&c), 0);
}

/* (2) A server certificate signed by another CA, or for another name than the URL's host, is
 * refused; the name override accepts the second one. */
static void test_untrusted_or_misnamed_server_is_refused_before_any_data(void **state)
{
    (void)state;
    tls_redis_t other_ca, other_name;
    redis_new(&other_ca, "redis-other-ca", "other");
    assert_refused(&other_ca,
                   "TLS certificate verification failed: unable to get local issuer certificate",
                   NULL);
    cp_test_stop(&other_ca.proc, SIGTERM, 10000);

    redis_new(&other_name, "redis-other-name", "ca");
    assert_refused(&other_name, "TLS certificate verification failed: IP address mismatch", NULL);
    const char *wrong[] = {"--redis-tls-server-name=redis.example.com", NULL};
    assert_refused(&other_name, "TLS certificate verification failed: hostname mismatch", wrong);

    const char *right[] = {"--redis-tls-server-name=redis.internal", NULL};
    cp_test_controller_t c;
    start_controller(&c, &other_name, right);
    assert_true(wait_ready(&c, 10000));
    import_and_read_back(&c, "by-name", "site");
    assert_int_equal(cp_test_controller_stop(&c), 0);
    cp_test_stop(&other_name.proc, SIGTERM, 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutual_tls_stores_reads_back_and_reconnects_after_a_redis_kill),
        cmocka_unit_test(test_untrusted_or_misnamed_server_is_refused_before_any_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
