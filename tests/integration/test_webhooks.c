/* SPDX-License-Identifier: Apache-2.0 */
/* test_webhooks.c - webhooks end to end (issue 16): a real controller, Pebble, Redis and python3
 * receivers (tests/integration/webhook_receiver.py) that verify every signature with hmac. Every
 * event type is produced (issued, renewed through Renew, revoked, deleted, renewal_failed from an
 * order Pebble refuses, expiring_soon from an imported certificate near its end, edge_lagging from
 * an edge that reports an old revision); a receiver that fails the first two attempts gets each
 * one on the third; one that is down while the controller is stopped and restarted gets every
 * event made before the restart afterwards; a filtered subscription gets only what it asked for;
 * a receiver that always fails ends in the dead-letter list, read through REST and certplanectl. */
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
#include "tests/support/harness.h"
#include "tests/support/pebble.h"

#define ADMIN "wh-admin-token"
#define EDGE "wh-edge-token"
#define BLOCKED "blocked.example.com"

/* The events every unfiltered subscription must get, as "type name" (edge_lagging: the edge). */
static const char *const k_expected[] = {
    "issued keep1",   "issued other1",          "renewed keep1",      "revoked other1",
    "deleted other1", "renewal_failed blocked", "expiring_soon imp1", "edge_lagging edge-w1"};
#define N_EXPECTED (sizeof k_expected / sizeof k_expected[0])

typedef struct receiver {
    cp_test_proc_t proc;
    int port;
    char secret_file[300];
    char out[300];
    char id[32]; /* the subscription's ID */
} receiver_t;

typedef struct env {
    char dir[256];
    cp_test_redis_t redis;
    cp_test_pebble_t pebble;
    int http_port;
    cp_test_controller_t ctl;
    receiver_t flaky, restart, filtered, dead;
} env_t;

static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Output of a shell command (at most 256 KiB), without a trailing newline. */
static char *sh(const char *fmt, ...)
{
    static char buf[256 * 1024];
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return buf;
}

static void receiver_init(env_t *e, receiver_t *r, const char *name)
{
    r->port = cp_test_free_port();
    snprintf(r->secret_file, sizeof r->secret_file, "%s/%s.secret", e->dir, name);
    snprintf(r->out, sizeof r->out, "%s/%s.jsonl", e->dir, name);
}

static void receiver_start(env_t *e, receiver_t *r, const char *mode, const char *arg)
{
    char script[400], port[16], log[400];
    snprintf(script, sizeof script, "%s/tests/integration/webhook_receiver.py",
             getenv("CP_SOURCE_DIR"));
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/receiver-%d.log", e->dir, r->port);
    char *argv[] = {"python3", script,       port,        r->secret_file,
                    r->out,    (char *)mode, (char *)arg, NULL};
    assert_int_equal(cp_test_spawn(&r->proc, "receiver", argv, NULL, log), 0);
    assert_int_equal(cp_test_wait_port(r->port, 10000), 0);
}

static void controller_start(env_t *e, const char *max_attempts)
{
    char provider[400], ca[400];
    snprintf(provider, sizeof provider, "--acme-provider=%s", e->pebble.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", e->pebble.ca_file);
    const char *args[] = {provider,
                          ca,
                          "--acme-email=ops@example.com",
                          "--workers=2",
                          "--job-timeout=5s",
                          "--acme-timeout=10s",
                          "--challenge-propagation-timeout=1s",
                          "--webhook-retry-base=200ms",
                          "--webhook-retry-max=1s",
                          max_attempts,
                          "--webhook-scan-interval=300ms",
                          "--webhook-edge-lag=1s",
                          "--webhook-expiring-within=7d",
                          "--webhook-timeout=1s",
                          NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," EDGE ":edge", NULL};
    assert_int_equal(cp_test_controller_start_on(&e->ctl, e->ctl.grpc_port, e->http_port,
                                                 e->redis.url, e->dir, args, env),
                     0);
}

/* curl against the controller; prints "<status> <body>". */
static char *api(env_t *e, const char *method, const char *path, const char *body)
{
    return sh("curl -s -w ' %%{http_code}' -X %s -H 'Authorization: Bearer " ADMIN "' "
              "-H 'Content-Type: application/json' %s%s%s http://127.0.0.1:%d%s",
              method, body ? "--data-binary '" : "", body ? body : "", body ? "'" : "",
              e->http_port, path);
}

/* Creates a subscription for r and writes its secret where the receiver reads it. */
static void subscribe(env_t *e, receiver_t *r, const char *events, const char *filter)
{
    char body[600];
    snprintf(body, sizeof body, "{\"url\":\"http://127.0.0.1:%d/hook\",\"events\":[%s]%s%s%s}",
             r->port, events, filter ? ",\"nameFilter\":\"" : "", filter ? filter : "",
             filter ? "\"" : "");
    char *out = api(e, "POST", "/v1/webhooks", body);
    char *p = strstr(out, "\"secret\":\"whsec_"), *q = strstr(out, "\"id\":\"wh_");
    if (p == NULL || q == NULL)
        fail_msg("create webhook: %s", out);
    snprintf(r->id, sizeof r->id, "%.19s", q + 6);
    FILE *f = fopen(r->secret_file, "w");
    fprintf(f, "%.*s\n", (int)strcspn(p + 10, "\""), p + 10);
    fclose(f);
}

/* A checker over a receiver's records: argv out, min_attempt, mode, expected... Mode "missing"
 * prints the expected events without a valid 2xx record of at least that attempt; "extra" prints
 * the events received that are not expected; "invalid" counts records with a bad signature. */
static const char k_check_py[] =
    "import json, os, sys\n"
    "out, least, mode, exp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]\n"
    "recs = [json.loads(l) for l in open(out)] if os.path.exists(out) else []\n"
    "key = lambda r: '%s %s' % (r['type'], r['name'] or r['edge'])\n"
    "ok = set(key(r) for r in recs if r['valid'] and r['status'] == 204 and r['attempt'] >= "
    "least)\n"
    "if mode == 'missing': print(' '.join(x for x in exp if x not in ok))\n"
    "if mode == 'extra': print(' '.join(sorted(set(key(r) for r in recs) - set(exp))))\n"
    "if mode == 'invalid': print(sum(1 for r in recs if not r['valid']))\n"
    "if mode == 'count': print(len(recs))\n";

static char *check(env_t *e, const receiver_t *r, int least, const char *mode,
                   const char *const *exp, size_t n)
{
    char list[1024] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), " '%s'", exp[i]);
    return sh("python3 %s/check.py %s %d %s%s", e->dir, r->out, least, mode, list);
}

/* Waits up to timeout_s until r has every expected event; returns what is still missing. */
static char *wait_all(env_t *e, const receiver_t *r, int least, const char *const *exp, size_t n,
                      int timeout_s)
{
    time_t end = time(NULL) + timeout_s;
    char *m;
    while ((m = check(e, r, least, "missing", exp, n))[0] != '\0' && time(NULL) < end)
        sleep(1);
    return m;
}

static const char *state_of(env_t *e, const char *name)
{
    static char state[32];
    char path[200];
    snprintf(path, sizeof path, "/v1/certificates/%s", name);
    char *out = api(e, "GET", path, NULL);
    char *p = strstr(out, "\"state\":\"");
    snprintf(state, sizeof state, "%.*s", p != NULL ? (int)strcspn(p + 9, "\"") : 0,
             p != NULL ? p + 9 : "");
    return state;
}

static void wait_state(env_t *e, const char *name, const char *want, int timeout_s)
{
    time_t end = time(NULL) + timeout_s;
    while (strcmp(state_of(e, name), want) != 0 && time(NULL) < end)
        sleep(1);
    if (strcmp(state_of(e, name), want) != 0) {
        cp_test_controller_dump_log(&e->ctl, 40);
        fail_msg("%s: state %s, expected %s", name, state_of(e, name), want);
    }
}

static void create(env_t *e, const char *name, const char *domain)
{
    char body[300];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"domains\":[\"%s\"],\"keyType\":\"EC_P256\"}",
             name, domain);
    char *out = api(e, "POST", "/v1/certificates", body);
    if (strstr(out, " 200") == NULL)
        fail_msg("create %s: %s", name, out);
}

/* Imports a self-signed certificate that ends in 2 days. */
static void import_near_end(env_t *e, const char *name)
{
    char *out =
        sh("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
           "-subj /CN=imp.test -addext subjectAltName=DNS:imp.test -keyout imp.key -out imp.pem "
           "2>/dev/null && python3 -c 'import json; print(json.dumps({\"name\": \"%s\", "
           "\"fullchainPem\": open(\"imp.pem\").read(), \"privateKeyPem\": "
           "open(\"imp.key\").read()}))'"
           " > imp.json && curl -s -o /dev/null -w '%%{http_code}' -X POST -H 'Authorization: "
           "Bearer " ADMIN "' -H 'Content-Type: application/json' --data-binary @imp.json "
           "http://127.0.0.1:%d/v1/certificates:import",
           e->dir, name, e->http_port);
    assert_string_equal(out, "200");
}

static void env_start(env_t *e)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(cp_test_tmpdir("webhooks", e->dir, sizeof e->dir), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/check.py", e->dir);
    FILE *f = fopen(path, "w");
    fputs(k_check_py, f);
    fclose(f);
    assert_int_equal(cp_test_redis_start(&e->redis, NULL), 0);
    e->http_port = cp_test_free_port();
    e->ctl.grpc_port = cp_test_free_port();
    cp_test_pebble_opts_t o = {.http_port = e->http_port, .blocked_domain = BLOCKED};
    assert_int_equal(cp_test_pebble_start(&e->pebble, &o), 0);
    receiver_init(e, &e->flaky, "flaky");
    receiver_init(e, &e->restart, "restart");
    receiver_init(e, &e->filtered, "filtered");
    receiver_init(e, &e->dead, "dead");
}

static void env_stop(env_t *e)
{
    receiver_t *rs[] = {&e->flaky, &e->restart, &e->filtered, &e->dead};
    for (size_t i = 0; i < 4; i++)
        cp_test_stop(&rs[i]->proc, SIGTERM, 2000);
    cp_test_pebble_stop(&e->pebble);
    cp_test_redis_stop(&e->redis);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(e->dir);
}

#define ALL                                                                                        \
    "\"issued\",\"renewed\",\"renewal_failed\",\"expiring_soon\",\"revoked\",\"deleted\","         \
    "\"edge_lagging\""

/* Produces one event of every type while the controller runs. */
static void produce_events(env_t *e)
{
    create(e, "keep1", "keep1.example.com");
    create(e, "other1", "other1.example.com");
    create(e, "blocked", BLOCKED);
    wait_state(e, "keep1", "VALID", 90);
    wait_state(e, "other1", "VALID", 90);
    wait_state(e, "blocked", "FAILED", 90);
    char *out = api(e, "POST", "/v1/certificates/keep1:renew", "{}");
    assert_non_null(strstr(out, " 200"));
    out = api(e, "POST", "/v1/certificates/other1:revoke", "{}");
    assert_non_null(strstr(out, " 200"));
    /* A revocation that fails at the CA (an --acme-timeout on a loaded machine) is retried after a
     * minute's back-off: wait for that too. */
    wait_state(e, "other1", "REVOKED", 150);
    out = api(e, "DELETE", "/v1/certificates/other1", NULL);
    assert_non_null(strstr(out, " 200"));
    import_near_end(e, "imp1");
    /* An edge that says it applied nothing: it lags behind every revision. */
    out = sh("curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer " EDGE "' "
             "-H 'Content-Type: application/json' -d "
             "'{\"edgeId\":\"edge-w1\",\"appliedRevision\":\"0\"}' "
             "http://127.0.0.1:%d/v1/edges:report",
             e->http_port);
    assert_string_equal(out, "200");
    /* The renewal commits once more: VALID again after RENEWING. */
    wait_state(e, "keep1", "VALID", 90);
}

static void test_every_event_at_least_once_signed_across_outage_and_restart(void **state)
{
    (void)state;
    env_t e;
    env_start(&e);
    controller_start(&e, "--webhook-max-attempts=100");
    receiver_start(&e, &e.flaky, "--fail-first", "2");
    receiver_start(&e, &e.filtered, "--fail-first", "0");
    receiver_start(&e, &e.dead, "--always-fail", NULL);
    /* The restart receiver is down until the controller has been stopped. */
    subscribe(&e, &e.flaky, ALL, NULL);
    subscribe(&e, &e.restart, ALL, NULL);
    subscribe(&e, &e.filtered, "\"issued\"", "keep*");
    subscribe(&e, &e.dead, "\"deleted\"", NULL);
    produce_events(&e);

    /* Every event on the third attempt at the flaky receiver: two 500s, then 204. */
    char *m = wait_all(&e, &e.flaky, 3, k_expected, N_EXPECTED, 60);
    if (m[0] != '\0')
        cp_test_controller_dump_log(&e.ctl, 60);
    assert_string_equal(m, "");
    assert_string_equal(check(&e, &e.flaky, 0, "extra", k_expected, N_EXPECTED), "");
    /* Retries are counted. */
    char *metrics = sh("curl -s http://127.0.0.1:%d/metrics | grep "
                       "'certplane_webhook_deliveries_total{result=\"retried\"}'",
                       e.http_port);
    assert_null(strstr(metrics, "} 0"));

    /* Stop the controller with the restart receiver's deliveries still pending, bring the
     * receiver up, start the controller again: everything made before the restart arrives. */
    assert_string_equal(check(&e, &e.restart, 0, "count", NULL, 0), "0");
    assert_int_equal(cp_test_controller_stop(&e.ctl), 0);
    receiver_start(&e, &e.restart, "--fail-first", "0");
    sleep(1);
    assert_string_equal(check(&e, &e.restart, 0, "count", NULL, 0), "0");
    controller_start(&e, "--webhook-max-attempts=3");
    m = wait_all(&e, &e.restart, 1, k_expected, N_EXPECTED, 60);
    if (m[0] != '\0')
        cp_test_controller_dump_log(&e.ctl, 60);
    assert_string_equal(m, "");

    /* The filtered subscription got keep1's issuance and nothing else. */
    const char *only[] = {"issued keep1"};
    assert_string_equal(check(&e, &e.filtered, 1, "missing", only, 1), "");
    assert_string_equal(check(&e, &e.filtered, 0, "extra", only, 1), "");

    /* Every signature was valid at every receiver. */
    receiver_t *rs[] = {&e.flaky, &e.restart, &e.filtered, &e.dead};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(check(&e, rs[i], 0, "invalid", NULL, 0), "0");

    /* The receiver that always fails: the deleted event ends in the dead-letter list. */
    time_t end = time(NULL) + 30;
    char *dl = NULL;
    while (time(NULL) < end) {
        dl = api(&e, "GET", "/v1/webhooks:deadLetters", NULL);
        if (strstr(dl, e.dead.id) != NULL)
            break;
        sleep(1);
    }
    if (strstr(dl, e.dead.id) == NULL || strstr(dl, "\"type\":\"deleted\"") == NULL ||
        strstr(dl, "HTTP 500") == NULL)
        fail_msg("dead letters: %s", dl);
    char *ctl = sh("CERTPLANE_TOKEN=" ADMIN " %s --addr http://127.0.0.1:%d webhook dead-letters",
                   getenv("CP_CTL_BIN"), e.http_port);
    assert_non_null(strstr(ctl, e.dead.id));
    assert_int_equal(cp_test_controller_stop(&e.ctl), 0);
    env_stop(&e);
}

/* Bad input: a clear error each, and nothing stored; the CLI creates, lists and deletes; a
 * read-only token manages nothing; the secret is never listed or logged. */
static void test_bad_input_changes_nothing_and_cli_manages(void **state)
{
    (void)state;
    env_t e;
    env_start(&e);
    controller_start(&e, "--webhook-max-attempts=3");
    static const struct {
        const char *body, *msg;
    } bad[] = {
        {"{\"events\":[\"issued\"]}", "url: required"},
        {"{\"url\":\"ftp://x.test/\",\"events\":[\"issued\"]}", "url: must start with http"},
        {"{\"url\":\"http://\",\"events\":[\"issued\"]}", "url: not a valid URL"},
        {"{\"url\":\"http://a b.test/\",\"events\":[\"issued\"]}", "url: spaces"},
        {"{\"url\":\"http://x.test/\"}", "events: at least one"},
        {"{\"url\":\"http://x.test/\",\"events\":[\"issued\",\"bogus\"]}",
         "events[1]: unknown event type"},
        {"{\"url\":\"http://x.test/\",\"events\":[\"issued\",\"issued\"]}", "given twice"},
        {"{\"url\":\"http://x.test/\",\"events\":[\"issued\"],\"nameFilter\":\"a b\"}",
         "name_filter: printable"},
        {"{\"url\":\"http://x.test/\",\"events\":[\"issued\"],\"secret\":\"whsec_x\"}", ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = api(&e, "POST", "/v1/webhooks", bad[i].body);
        if (strstr(out, " 400") == NULL || strstr(out, bad[i].msg) == NULL)
            fail_msg("%s: %s", bad[i].body, out);
    }
    assert_non_null(strstr(api(&e, "DELETE", "/v1/webhooks/wh_0123456789abcdef", NULL), " 404"));
    assert_non_null(strstr(api(&e, "DELETE", "/v1/webhooks/nope", NULL), " 400"));
    assert_string_equal(api(&e, "GET", "/v1/webhooks", NULL), "{} 200");
    char *ro = sh("curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer " EDGE "' "
                  "http://127.0.0.1:%d/v1/webhooks",
                  e.http_port);
    assert_string_equal(ro, "403");

    const char *bin = getenv("CP_CTL_BIN");
    char *out = sh("CERTPLANE_TOKEN=" ADMIN " %s --addr http://127.0.0.1:%d webhook create "
                   "http://127.0.0.1:9/hook --event issued --event revoked --name-filter "
                   "'*.example.com' 2>&1",
                   bin, e.http_port);
    char *sec = strstr(out, "whsec_");
    if (sec == NULL)
        fail_msg("webhook create: %s", out);
    char secret[80];
    snprintf(secret, sizeof secret, "%.*s", (int)strcspn(sec, "\n"), sec);
    out = sh("redis-cli -p %d HGETALL webhook:subs", e.redis.port);
    assert_non_null(strstr(out, "http://127.0.0.1:9/hook"));
    assert_null(strstr(out, secret + 6));
    out = sh("CERTPLANE_TOKEN=" ADMIN " %s --addr http://127.0.0.1:%d webhook list --json", bin,
             e.http_port);
    assert_non_null(strstr(out, "\"nameFilter\":\"*.example.com\""));
    assert_null(strstr(out, "whsec_"));
    char *id = strstr(out, "\"id\":\"wh_");
    assert_non_null(id);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "webhook delete %.19s", id + 6);
    out = sh("CERTPLANE_TOKEN=" ADMIN " %s --addr http://127.0.0.1:%d %s", bin, e.http_port, cmd);
    assert_non_null(strstr(out, "deleted webhook wh_"));
    assert_string_equal(api(&e, "GET", "/v1/webhooks", NULL), "{} 200");
    out = sh("%s webhook create http://x.test/ 2>&1; echo \" rc=$?\"", bin);
    assert_non_null(strstr(out, "give at least one --event"));
    assert_non_null(strstr(out, " rc=2"));
    /* The secret is in no log line and, sealed, not in Redis in the clear. */
    out = sh("grep -c '%s' %s", secret, e.ctl.log_path);
    assert_string_equal(out, "0");
    /* The same RPCs over gRPC (python3-grpcio, stubs from proto/). */
    out = sh("/usr/bin/python3 %s/tests/integration/api/webhook_grpc.py --addr 127.0.0.1:%d "
             "--admin " ADMIN " --edge " EDGE
             " --proto-dir %s/proto --work-dir %s 2>&1; echo \" rc=$?\"",
             getenv("CP_SOURCE_DIR"), e.ctl.grpc_port, getenv("CP_SOURCE_DIR"), e.dir);
    if (strstr(out, "0 failed") == NULL || strstr(out, " rc=0") == NULL)
        fail_msg("webhook_grpc.py: %s", out);
    assert_int_equal(cp_test_controller_stop(&e.ctl), 0);
    env_stop(&e);
}

/* A receiver that answers too late, and one that answers too much: each attempt fails within the
 * bounds (--webhook-timeout, 64 KiB), and both deliveries end as dead letters saying why. */
static void test_slow_and_huge_answers_are_bounded(void **state)
{
    (void)state;
    env_t e;
    env_start(&e);
    controller_start(&e, "--webhook-max-attempts=2");
    receiver_start(&e, &e.flaky, "--slow", "3");
    receiver_start(&e, &e.dead, "--huge", NULL);
    subscribe(&e, &e.flaky, "\"deleted\"", NULL);
    subscribe(&e, &e.dead, "\"deleted\"", NULL);
    import_near_end(&e, "imp1");
    assert_non_null(strstr(api(&e, "DELETE", "/v1/certificates/imp1", NULL), " 200"));
    time_t end = time(NULL) + 30;
    char *dl = "";
    while (time(NULL) < end) {
        dl = api(&e, "GET", "/v1/webhooks:deadLetters", NULL);
        if (strstr(dl, e.flaky.id) != NULL && strstr(dl, e.dead.id) != NULL)
            break;
        sleep(1);
    }
    if (strstr(dl, "timeout after 1000 ms") == NULL ||
        strstr(dl, "answer longer than 65536 bytes") == NULL)
        fail_msg("dead letters: %s", dl);
    /* Both receivers were reached, with valid signatures, twice each. */
    const char *del[] = {"deleted imp1"};
    assert_string_equal(check(&e, &e.flaky, 0, "count", del, 1), "2");
    assert_string_equal(check(&e, &e.dead, 0, "count", del, 1), "2");
    assert_string_equal(check(&e, &e.flaky, 0, "invalid", NULL, 0), "0");
    assert_int_equal(cp_test_controller_stop(&e.ctl), 0);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_input_changes_nothing_and_cli_manages),
        cmocka_unit_test(test_every_event_at_least_once_signed_across_outage_and_restart),
        cmocka_unit_test(test_slow_and_huge_answers_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
