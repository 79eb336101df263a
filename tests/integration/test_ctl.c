/* SPDX-License-Identifier: Apache-2.0 */
/* test_ctl.c - certplanectl against a real controller + Redis: every command, JSON, exit statuses
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/controller.h"
#include "tests/support/harness.h"

#define ADMIN "adm1n-token"
#define READ "re4d-token"
#define EDGE "ed9e-token"
#define WRONG "wr0ng-token-never-printed"

/* The group's servers (one Redis and one controller whose ACME CA is a closed port, so every
 * issuance fails within a few seconds). */
static char dir[256];
static char addr[64];
static cp_test_redis_t redis;
static cp_test_controller_t ctl;

/* One run of certplanectl: its exit status and output. */
typedef struct run {
    int status;
    char out[256 * 1024];
    char err[16 * 1024];
} run_t;

static run_t r;

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = f != NULL ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f != NULL)
        fclose(f);
}

/* Runs certplanectl with the NULL-terminated arguments; `env` entries "K=V" set and "K" unset a
 * variable for the child only. Returns the exit status (also in r.status). */
static int ctl_run(const char *const *env, ...)
{
    const char *argv[64];
    char bin[1024], out_path[300], err_path[300];
    snprintf(bin, sizeof bin, "%s/bin/certplanectl", getenv("CP_BINARY_DIR"));
    snprintf(out_path, sizeof out_path, "%s/out.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/err.txt", dir);
    argv[0] = getenv("CP_CTL_BIN") != NULL ? getenv("CP_CTL_BIN") : bin;
    va_list ap;
    va_start(ap, env);
    size_t n = 1;
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 63;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            if (strchr(env[i], '=') != NULL)
                putenv((char *)env[i]);
            else
                unsetenv(env[i]);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    slurp(out_path, r.out, sizeof r.out);
    slurp(err_path, r.err, sizeof r.err);
    r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    if (strstr(r.out, WRONG) != NULL || strstr(r.err, WRONG) != NULL || strstr(r.out, ADMIN) ||
        strstr(r.err, ADMIN))
        fail_msg("a token was printed");
    return r.status;
}

#define CTL(...) ctl_run(NULL, __VA_ARGS__, NULL)

static void expect(int want, int got)
{
    if (want != got)
        fail_msg("exit %d, want %d\nstdout: %s\nstderr: %s", got, want, r.out, r.err);
}

static void expect_in(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("\"%s\" not in:\n%s\n(stderr: %s)", needle, haystack, r.err);
}

/* Parses the whole of r.out as one JSON document (the caller releases it). */
static json_t *out_json(void)
{
    json_error_t je;
    json_t *doc = json_loads(r.out, 0, &je);
    if (doc == NULL)
        fail_msg("stdout is not JSON (%s): %s", je.text, r.out);
    return doc;
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

/* An edge reports itself, so ListEdges has something to show. */
static void report_edge(void)
{
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://%s/v1/edges:report", addr);
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " EDGE);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS,
                     "{\"edgeId\":\"edge-1\",\"appliedRevision\":\"1\",\"certificates\":1,"
                     "\"version\":\"t\"}");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static int setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("ctl", dir, sizeof dir) != 0 || cp_test_redis_start(&redis, NULL) != 0)
        return -1;
    char acme[128];
    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    const char *args[] = {acme, "--workers=1", "--acme-timeout=2s", NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," READ ":read," EDGE ":edge", NULL};
    if (cp_test_controller_start(&ctl, redis.url, dir, args, env) != 0)
        return -1;
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ctl.http_port);
    setenv("CERTPLANE_ADDR", addr, 1);
    setenv("CERTPLANE_TOKEN", ADMIN, 1);
    report_edge();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (cp_test_controller_stop(&ctl) != 0)
        cp_test_controller_dump_log(&ctl, 60);
    cp_test_redis_stop(&redis);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(dir);
    return 0;
}

static void test_usage_errors_exit_2_and_help_and_version_exit_0(void **state)
{
    (void)state;
    expect(2, CTL("frob"));
    expect_in(r.err, "certplanectl: unknown command \"frob\"");
    expect(2, CTL("get"));
    expect(2, CTL("create", "x", "--email", "e@example.com"));
    expect(2, CTL("revoke", "x", "--reason", "whatever"));
    expect(2, ctl_run(NULL, NULL));
    expect(0, CTL("help"));
    expect_in(r.out, "Exit status");
    expect(0, CTL("help", "create"));
    expect_in(r.out, "--preferred-chain");
    expect(0, CTL("version"));
    expect_in(r.out, "certplanectl " CERTPLANE_VERSION);
    expect(0, CTL("--help"));
}

static void test_create_wait_ends_failed_with_the_acme_error_and_exit_1(void **state)
{
    (void)state;
    expect(1,
           CTL("create", "web", "--domain", "www.example.com", "--domain", "example.com", "--email",
               "ops@example.com", "--key-type", "ec-p256", "--wait", "--timeout", "60s"));
    expect_in(r.out, "web: PENDING\n");
    expect_in(r.out, "web: FAILED: ");
    expect_in(r.err, "certplanectl: web: FAILED: ");
    expect_in(r.err, "Couldn't connect"); /* the ACME error: the CA's port is closed */
    /* --json: progress on stderr, the final certificate as JSON on stdout. */
    expect(1, CTL("create", "api", "--ip", "192.0.2.7", "--email", "ops@example.com", "--json",
                  "--wait"));
    json_t *doc = out_json();
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "FAILED");
    assert_non_null(json_object_get(doc, "lastError"));
    json_decref(doc);
    expect_in(r.err, "api: PENDING\n");
    /* An existing name is an API error: exit 1 with the API's message. */
    expect(1, CTL("create", "web", "--domain", "www.example.com", "--email", "ops@example.com"));
    expect_in(r.err, "certplanectl: ");
    /* A wait that runs out of time is "unavailable". */
    expect(4, CTL("create", "slow", "--domain", "slow.example.com", "--email", "o@example.com",
                  "--wait", "--timeout", "100ms"));
    expect_in(r.err, "certplanectl: slow: still ");
}

/* --issuer, repeatable and ordered, becomes the certificate's issuers; get shows them; an unknown
 * provider is the API's clear error and creates nothing. */
static void test_create_with_ordered_issuers(void **state)
{
    (void)state;
    expect(0, CTL("create", "multi", "--domain", "multi.example.com", "--email", "o@example.com",
                  "--issuer", "letsencrypt-staging", "--issuer", "https://ca.example.net/dir",
                  "--json"));
    json_t *doc = out_json();
    json_t *iss = json_object_get(doc, "issuers");
    assert_int_equal(json_array_size(iss), 2);
    assert_string_equal(json_string_value(json_array_get(iss, 0)), "letsencrypt-staging");
    assert_string_equal(json_string_value(json_array_get(iss, 1)), "https://ca.example.net/dir");
    assert_string_equal(json_string_value(json_object_get(doc, "keyType")), "RSA_2048");
    json_decref(doc);
    expect(0, CTL("get", "multi"));
    expect_in(r.out, "letsencrypt-staging, https://ca.example.net/dir");
    /* Issue 16: no --key-type given, the controller names the default. */
    expect_in(r.out, "RSA_2048\n");
    expect(1, CTL("create", "bad", "--domain", "bad.example.com", "--email", "o@example.com",
                  "--issuer", "letsencrypt", "--issuer", "nosuchca"));
    expect_in(r.err, "issuers[1]: unknown provider \"nosuchca\"");
    expect(3, CTL("get", "bad"));
    expect(1, CTL("create", "both", "--domain", "both.example.com", "--email", "o@example.com",
                  "--provider", "letsencrypt", "--issuer", "zerossl"));
    expect_in(r.err, "provider or issuers, not both");
    expect(0, CTL("help", "create"));
    expect_in(r.out, "--issuer");
    expect(0, CTL("delete", "multi"));
}

static void test_import_of_a_self_signed_certificate_shows_valid(void **state)
{
    (void)state;
    char cmd[1024], cert[300], key[300];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 "
             "-subj /CN=imp.example.com -addext subjectAltName=DNS:imp.example.com "
             "-keyout '%s' -out '%s' 2>/dev/null",
             key, cert);
    assert_int_equal(system(cmd), 0);
    expect(0, CTL("import", "imp", "--cert", cert, "--key", key));
    expect_in(r.out, "State:        VALID\n");
    expect_in(r.out, "Not after:");
    expect(0, CTL("get", "imp", "--json"));
    json_t *doc = out_json();
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "VALID");
    assert_non_null(json_object_get(doc, "notAfter"));
    assert_null(json_object_get(doc, "privateKeyPem"));
    json_decref(doc);
    expect(0, CTL("get", "imp", "--private-key"));
    expect_in(r.out, "BEGIN PRIVATE KEY");
    expect(1, CTL("get", "imp", "--private-key", "--token", READ)); /* read scope: 403 */
    expect_in(r.err, "certplanectl: ");
}

static void test_list_pages_through_everything_in_a_table_or_json(void **state)
{
    (void)state;
    expect(0, CTL("list"));
    /* The header names the columns in order, aligned with two spaces or more between them. */
    static const char *const cols[] = {"NAME  ",      "STATE  ",       "DOMAINS  ",
                                       "NOT AFTER  ", "RENEW AFTER  ", "LAST ERROR\n"};
    const char *at = r.out;
    for (size_t i = 0; i < 6; i++) {
        const char *next = strstr(at, cols[i]);
        assert_non_null(next);
        assert_true(next < strchr(r.out, '\n') + 1);
        at = next + strlen(cols[i]);
    }
    expect_in(r.out, "www.example.com +1");
    const char *imp = strstr(r.out, "\nimp ");
    assert_non_null(imp);
    assert_true(strncmp(imp + strcspn(imp, "V"), "VALID ", 6) == 0);
    expect(0, CTL("list", "--json", "--page-size", "1"));
    json_t *doc = out_json();
    json_t *certs = json_object_get(doc, "certificates");
    assert_true(json_array_size(certs) >= 4); /* web, api, slow, imp: one page each */
    json_decref(doc);
    expect(0, CTL("list", "--json", "--state", "valid", "--page-size", "1"));
    doc = out_json();
    certs = json_object_get(doc, "certificates");
    assert_int_equal(json_array_size(certs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(certs, 0), "name")),
                        "imp");
    json_decref(doc);
}

static void test_missing_certificates_exit_3(void **state)
{
    (void)state;
    expect(3, CTL("get", "nope"));
    expect_in(r.err, "certplanectl: ");
    expect_in(r.err, "not found");
    expect(3, CTL("delete", "nope"));
    expect(3, CTL("renew", "nope"));
    expect(3, CTL("revoke", "nope"));
}

static void test_renew_revoke_and_delete(void **state)
{
    (void)state;
    expect(1, CTL("renew", "web", "--wait", "--timeout", "60s"));
    expect_in(r.err, "web: FAILED");
    expect(0, CTL("renew", "web", "--json"));
    json_t *doc = out_json();
    assert_string_equal(json_string_value(json_object_get(doc, "name")), "web");
    json_decref(doc);
    /* Revocation is queued work: the API answers at once (the request is recorded with the
     * certificate); the worker then fails at the CA, which cannot be reached, and records why,
     * while the certificate is still served. */
    expect(0, CTL("revoke", "imp", "--reason", "superseded", "--json"));
    doc = out_json();
    assert_non_null(json_object_get(doc, "revokeRequestTime"));
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "VALID");
    json_decref(doc);
    const char *last_error = NULL;
    for (int i = 0; i < 300; i++) {
        expect(0, CTL("get", "imp", "--json"));
        doc = out_json();
        last_error = json_string_value(json_object_get(doc, "lastError"));
        bool failed = last_error != NULL && last_error[0] != '\0';
        if (failed)
            assert_string_equal(json_string_value(json_object_get(doc, "state")), "VALID");
        json_decref(doc);
        if (failed)
            break;
        last_error = NULL;
        usleep(100 * 1000);
    }
    if (last_error == NULL)
        fail_msg("the failed revocation left no lastError");
    expect(3, CTL("revoke", "nope"));
    expect(0, CTL("delete", "web"));
    expect_in(r.out, "deleted web");
    expect(3, CTL("get", "web"));
    expect(0, CTL("delete", "api", "--json"));
    json_decref(out_json());
}

static void test_watch_prints_one_line_per_event_and_json_lines_parse(void **state)
{
    (void)state;
    expect(0, CTL("watch", "--timeout", "1s"));
    assert_true(strncmp(r.out, "REVISION ", 9) == 0); /* issue 16: labelled columns */
    expect_in(r.out, "UPSERT");
    /* imp's failed revocation (test_renew_revoke_and_delete) follows as its last error. */
    expect_in(r.out, " imp VALID imp.example.com");
    expect_in(r.out, "SNAPSHOT_END\n");
    expect(0, CTL("watch", "--json", "--timeout", "1s", "--token", READ));
    bool snapshot_end = false;
    char *save = NULL;
    for (char *line = strtok_r(r.out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_t *ev = json_loads(line, 0, NULL);
        assert_non_null(ev);
        assert_non_null(json_object_get(ev, "revision"));
        snapshot_end |= strcmp(json_string_value(json_object_get(ev, "type")), "SNAPSHOT_END") == 0;
        json_decref(ev);
    }
    assert_true(snapshot_end);
}

static void test_status_and_edges(void **state)
{
    (void)state;
    /* Reported again here: an edge counts as live for --edge-ttl (30 s) after its last report, and
     * the tests before this one can take that long on a loaded machine (ASan in CI). */
    report_edge();
    expect(0, CTL("status"));
    expect_in(r.out, "Health:      ok\n");
    expect_in(r.out, "Ready:       ready\n");
    expect_in(r.out, "edge-1");
    expect(0, CTL("status", "--json"));
    json_t *doc = out_json();
    assert_true(json_is_true(json_object_get(doc, "ready")));
    assert_int_equal(json_array_size(json_object_get(doc, "edges")), 1);
    json_decref(doc);
    expect(0, CTL("edges"));
    expect_in(r.out, "EDGE ID  ADDRESS");
    expect_in(r.out, "edge-1");
    expect(0, CTL("edges", "--json", "--token", READ));
    doc = out_json();
    assert_int_equal(json_array_size(json_object_get(doc, "edges")), 1);
    json_decref(doc);
}

static void test_address_and_token_from_environment_or_flags(void **state)
{
    (void)state;
    char flag_addr[80];
    snprintf(flag_addr, sizeof flag_addr, "http://%s/", addr);
    /* The environment (set in setup) alone works. */
    expect(0, CTL("get", "imp"));
    /* A wrong token: 401, its message, exit 1; the token never shows. */
    const char *bad_env[] = {"CERTPLANE_TOKEN=" WRONG, NULL};
    expect(1, ctl_run(bad_env, "get", "imp", NULL));
    expect_in(r.err, "certplanectl: ");
    expect_in(r.err, "token");
    expect(1, CTL("list", "--token", WRONG));
    /* No token at all is also a 401. */
    const char *no_token[] = {"CERTPLANE_TOKEN", NULL};
    expect(1, ctl_run(no_token, "list", NULL));
    /* Flags win over the environment. */
    const char *wrong_env[] = {"CERTPLANE_ADDR=http://127.0.0.1:1", "CERTPLANE_TOKEN=" WRONG, NULL};
    expect(4, ctl_run(wrong_env, "list", NULL));
    expect(0, ctl_run(wrong_env, "--addr", flag_addr, "--token", ADMIN, "list", NULL));
}

static void test_unreachable_or_stopped_controller_exits_4(void **state)
{
    (void)state;
    char wrong[64];
    snprintf(wrong, sizeof wrong, "127.0.0.1:%d", cp_test_free_port());
    expect(4, CTL("--addr", wrong, "list"));
    expect_in(r.err, "certplanectl: ");
    expect(4, CTL("status", "--addr", wrong));
    assert_int_equal(cp_test_controller_stop(&ctl), 0);
    expect(4, CTL("get", "imp"));
    expect(4, CTL("status"));
    expect(4, CTL("watch"));
}

static void test_account_rollover_usage_scope_and_an_unreachable_ca(void **state)
{
    (void)state;
    expect(2, CTL("account"));
    expect(2, CTL("account", "frob"));
    expect_in(r.err, "expected rollover");
    expect(2, CTL("account", "rollover", "--key-type", "rsa-4096"));
    expect(0, CTL("help", "account"));
    expect_in(r.out, "--key-type");
    const char *reader[] = {"CERTPLANE_TOKEN=" READ, NULL};
    expect(1, ctl_run(reader, "account", "rollover", NULL));
    expect_in(r.err, "admin scope");
    /* This controller's CA does not answer: an error within --acme-timeout, never a hang. */
    int st = CTL("account", "rollover", "--email", "nobody@example.com");
    if (st != 4 && st != 1)
        fail_msg("exit %d\nstderr: %s", st, r.err);
    expect_in(r.err, "certplanectl: ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_errors_exit_2_and_help_and_version_exit_0),
        cmocka_unit_test(test_create_wait_ends_failed_with_the_acme_error_and_exit_1),
        cmocka_unit_test(test_create_with_ordered_issuers),
        cmocka_unit_test(test_import_of_a_self_signed_certificate_shows_valid),
        cmocka_unit_test(test_list_pages_through_everything_in_a_table_or_json),
        cmocka_unit_test(test_missing_certificates_exit_3),
        cmocka_unit_test(test_renew_revoke_and_delete),
        cmocka_unit_test(test_watch_prints_one_line_per_event_and_json_lines_parse),
        cmocka_unit_test(test_status_and_edges),
        cmocka_unit_test(test_address_and_token_from_environment_or_flags),
        cmocka_unit_test(test_account_rollover_usage_scope_and_an_unreachable_ca),
        cmocka_unit_test(test_unreachable_or_stopped_controller_exits_4),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
