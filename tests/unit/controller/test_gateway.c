/* SPDX-License-Identifier: Apache-2.0 */
/* test_gateway.c - the HTTP/JSON gateway end to end: service core, real redis-server, libcurl
 * client */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/config/config.h"
#include "controller/gateway/gateway.h"
#include "controller/service/service.h"
#include "controller/store/certrec.h"
#include "controller/store/store.h"
#include "shared/mem.h"
#include "tests/support/harness.h"

static cp_test_redis_t g_redis;
static ctl_config_t g_cfg;
static ctl_service_t *g_svc;
static ctl_gateway_t *g_gw;
static int g_port;

#define ADMIN "admintok-0123456789"
#define READ "readtok-0123456789"
#define EDGE "edgetok-0123456789"

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char allow[64];
    char ctype[64];
} resp_t;

static size_t on_body(char *p, size_t sz, size_t n, void *u)
{
    resp_t *r = u;
    r->body = realloc(r->body, r->len + sz * n + 1);
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *u)
{
    resp_t *r = u;
    size_t len = sz * n;
    if (len > 6 && strncasecmp(p, "Allow:", 6) == 0)
        snprintf(r->allow, sizeof(r->allow), "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
    if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
        snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)strcspn(p + 14, "\r\n"), p + 14);
    return len;
}

/* One request; ctype NULL means application/json when there is a body. */
static resp_t http(const char *method, const char *path, const char *token, const char *ctype,
                   const char *body, size_t blen)
{
    resp_t r = {0};
    char url[1024], auth[128], ct[128];
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", g_port, path);
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (body != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
        h = curl_slist_append(h, ct);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (r.body == NULL)
        r.body = calloc(1, 1);
    return r;
}

static resp_t post(const char *path, const char *token, const char *json)
{
    return http("POST", path, token, NULL, json, strlen(json));
}

/* Asserts the status and, for errors, the JSON error shape with the gRPC code and a message part.
 */
static void expect(resp_t r, long status, int code, const char *part)
{
    if (r.status != status)
        fail_msg("status %ld, want %ld: %s", r.status, status, r.body);
    if (code >= 0) {
        char want[64];
        snprintf(want, sizeof(want), "{\"code\":%d,\"message\":", code);
        if (strncmp(r.body, want, strlen(want)) != 0 || strstr(r.body, "\"details\":[]") == NULL)
            fail_msg("body %s, want code %d", r.body, code);
    }
    if (part != NULL && strstr(r.body, part) == NULL)
        fail_msg("body %s lacks %s", r.body, part);
    free(r.body);
}

static int lookup(void *ctx, const char *token, char **ka)
{
    (void)ctx;
    if (strcmp(token, "tok_A-1") != 0)
        return CP_ENOTFOUND;
    *ka = strdup("tok_A-1.thumbprint");
    return 0;
}

static int setup(void **state)
{
    (void)state;
    cp_err_t err = {0};
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    char *argv[] = {"ctl",
                    "--redis-url",
                    g_redis.url,
                    "--api-tokens",
                    ADMIN ":admin," READ ":read," EDGE ":edge",
                    NULL};
    if (ctl_config_parse(&g_cfg, 5, argv, &err) != 0 ||
        ctl_service_new(&g_cfg, &g_svc, &err) != 0 || ctl_service_start(g_svc, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    ctl_gateway_opts_t o = {
        .listen = "127.0.0.1:0", .http01_lookup = lookup, .watch_check_ms = 200};
    if (ctl_gateway_start_opts(g_svc, &o, &g_gw, &g_port, &err) != 0) {
        fprintf(stderr, "gateway: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ctl_gateway_stop(g_gw);
    ctl_service_free(g_svc);
    ctl_config_dispose(&g_cfg);
    cp_test_redis_stop(&g_redis);
    curl_global_cleanup();
    return 0;
}

#define CERT(n)                                                                                    \
    "{\"name\":\"" n "\",\"domains\":[\"" n ".example.com\"],\"email\":\"ops@example.com\"}"

static void test_health_and_metrics(void **state)
{
    (void)state;
    resp_t r = http("GET", "/healthz", NULL, NULL, NULL, 0);
    expect(r, 200, -1, "ok");
    expect(http("GET", "/readyz", NULL, NULL, NULL, 0), 200, -1, "ready");
    r = http("GET", "/metrics", NULL, NULL, NULL, 0);
    assert_non_null(strstr(r.ctype, "text/plain; version=0.0.4"));
    expect(r, 200, -1, "certplane_certificates_scrape_success 1");
}

static void test_create_get_list_delete(void **state)
{
    (void)state;
    resp_t r = post("/v1/certificates", ADMIN, CERT("web1"));
    assert_string_equal(r.ctype, "application/json");
    expect(r, 200, -1, "\"state\":\"PENDING\"");
    expect(post("/v1/certificates", ADMIN, CERT("web1")), 409, 6, NULL);
    expect(http("GET", "/v1/certificates/web1", READ, NULL, NULL, 0), 200, -1, "\"name\":\"web1\"");
    expect(http("GET", "/v1/certificates/web%31", READ, NULL, NULL, 0), 200, -1, "\"web1\"");
    expect(http("GET", "/v1/certificates/web1?includePrivateKey=true", READ, NULL, NULL, 0), 403, 7,
           NULL);
    expect(http("GET", "/v1/certificates/web1?include_private_key=true", ADMIN, NULL, NULL, 0), 200,
           -1, "web1");
    expect(http("GET", "/v1/certificates/web1?includePrivateKey=maybe", ADMIN, NULL, NULL, 0), 400,
           3, "include_private_key");
    expect(http("GET", "/v1/certificates?pageSize=1&state=PENDING", READ, NULL, NULL, 0), 200, -1,
           "\"certificates\":[");
    expect(http("GET", "/v1/certificates?page_size=1", READ, NULL, NULL, 0), 200, -1, "web1");
    expect(http("GET", "/v1/certificates?bogus=1", READ, NULL, NULL, 0), 400, 3, "bogus");
    expect(http("GET", "/v1/certificates?state=NOPE", READ, NULL, NULL, 0), 400, 3, "state");
    expect(http("DELETE", "/v1/certificates/web1", ADMIN, NULL, NULL, 0), 200, -1, "{}");
    expect(http("DELETE", "/v1/certificates/web1", ADMIN, NULL, NULL, 0), 404, 5, NULL);
    expect(http("GET", "/v1/certificates/web1", READ, NULL, NULL, 0), 404, 5, NULL);
}

/* Reads come from the service's cache and the loop's encoded answers: equal while nothing changes,
 * the new content at once after a change through this controller. */
static void test_repeated_reads_follow_each_change(void **state)
{
    (void)state;
    expect(post("/v1/certificates", ADMIN, CERT("web2")), 200, -1, NULL);
    resp_t a = http("GET", "/v1/certificates/web2", READ, NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    for (int i = 0; i < 5; i++) {
        resp_t b = http("GET", "/v1/certificates/web2", READ, NULL, NULL, 0);
        assert_int_equal(b.status, 200);
        assert_string_equal(a.body, b.body);
        free(b.body);
    }
    free(a.body);
    expect(http("DELETE", "/v1/certificates/web2", ADMIN, NULL, NULL, 0), 200, -1, "{}");
    expect(http("GET", "/v1/certificates/web2", READ, NULL, NULL, 0), 404, 5, NULL);
    expect(post("/v1/certificates", ADMIN,
                "{\"name\":\"web2\",\"domains\":[\"web2.example.com\"],"
                "\"email\":\"other@example.com\"}"),
           200, -1, NULL);
    expect(http("GET", "/v1/certificates/web2", READ, NULL, NULL, 0), 200, -1,
           "\"email\":\"other@example.com\"");
    expect(http("DELETE", "/v1/certificates/web2", ADMIN, NULL, NULL, 0), 200, -1, "{}");
}

static void test_client_errors(void **state)
{
    (void)state;
    expect(post("/v1/certificates", NULL, CERT("e1")), 401, 16, NULL);
    expect(post("/v1/certificates", "wrong-token", CERT("e1")), 401, 16, NULL);
    expect(post("/v1/certificates", READ, CERT("e1")), 403, 7, NULL);
    expect(post("/v1/certificates", ADMIN, "{\"name\":\"e1\",\"domains\":[\"ok.example\",7]}"), 400,
           3, "domains[1]");
    expect(post("/v1/certificates", ADMIN, "{\"name\":"), 400, 3, "invalid JSON");
    expect(http("POST", "/v1/certificates", ADMIN, "text/plain", CERT("e1"), strlen(CERT("e1"))),
           415, 3, NULL);
    size_t big = 1024 * 1024 + 1;
    char *body = malloc(big);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    expect(http("POST", "/v1/certificates", ADMIN, NULL, body, big), 413, 8, NULL);
    free(body);
    expect(http("GET", "/v1/certificates/..%2Fetc", READ, NULL, NULL, 0), 400, 3, NULL);
    expect(http("GET", "/v1/certificates/a%zz", READ, NULL, NULL, 0), 400, 3, "percent");
    expect(http("GET", "/v1/nothing", READ, NULL, NULL, 0), 404, 5, NULL);
    resp_t r = http("PUT", "/v1/certificates/web1", ADMIN, NULL, NULL, 0);
    assert_string_equal(r.allow, "GET, DELETE");
    expect(r, 405, 12, NULL);
    expect(post("/v1/certificates/x1:revoke", ADMIN, "{\"name\":\"x2\"}"), 400, 3, "path");
    expect(post("/v1/certificates/x1:revoke", ADMIN, "{\"reason\":1}"), 404, 5, NULL);
    expect(post("/v1/certificates/x1:renew", ADMIN, ""), 404, 5, NULL);
    expect(post("/v1/certificates:import", ADMIN,
                "{\"name\":\"imp\",\"fullchainPem\":\"junk\",\"privateKeyPem\":\"junk\"}"),
           400, 3, NULL);
}

/* ---- renew ---- */

/* Rewrites certificate `name` in Redis, as a worker would, with `state` and (when not NULL) an
 * issued chain: renew reads the record from the store, so the state it meets is exactly this one.
 */
static void force_record(const char *name, Certplane__V1__State state, const char *fullchain)
{
    ctl_store_t *s = NULL;
    char *json = NULL, *enc = NULL;
    size_t len = 0;
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &s, NULL), 0);
    assert_int_equal(ctl_store_cert_get(s, name, &json, &len, NULL), 0);
    assert_int_equal(ctl_certrec_decode(name, json, len, &c, NULL), 0);
    c->state = state;
    if (fullchain != NULL) {
        if (c->fullchain_pem != protobuf_c_empty_string)
            free(c->fullchain_pem);
        c->fullchain_pem = cp_xstrdup(fullchain);
    }
    assert_int_equal(ctl_certrec_encode(c, &enc, &len, NULL), 0);
    ctl_store_cert_write_t w = {.name = name, .json = enc, .mode = CTL_STORE_ANY, .renew_at = -1};
    assert_int_equal(ctl_store_cert_put(s, &w, NULL, NULL), 0);
    free(json);
    free(enc);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    ctl_store_free(s);
}

/* Entries in the jobs stream: a renewal that is accepted queues exactly one. */
static long long jobs_queued(void)
{
    redisContext *r = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(r);
    assert_int_equal(r->err, 0);
    redisReply *x = redisCommand(r, "XLEN jobs");
    assert_non_null(x);
    assert_int_equal(x->type, REDIS_REPLY_INTEGER);
    long long n = x->integer;
    freeReplyObject(x);
    redisFree(r);
    return n;
}

static void test_renew_of_an_issued_certificate_answers_200_renewing_and_queues_a_job(void **state)
{
    (void)state;
    expect(post("/v1/certificates", ADMIN, CERT("ren1")), 200, -1, NULL);
    force_record("ren1", CERTPLANE__V1__STATE__VALID, "-----BEGIN CERTIFICATE-----\n");
    long long jobs = jobs_queued();
    resp_t r = post("/v1/certificates/ren1:renew", ADMIN, "");
    assert_non_null(strstr(r.body, "\"name\":\"ren1\""));
    assert_null(strstr(r.body, "privateKeyPem"));
    expect(r, 200, -1, "\"state\":\"RENEWING\"");
    assert_int_equal(jobs_queued(), jobs + 1);
}

static void test_renew_of_a_never_issued_certificate_answers_200_and_stays_pending(void **state)
{
    (void)state;
    expect(post("/v1/certificates", ADMIN, CERT("ren2")), 200, -1, NULL);
    long long jobs = jobs_queued();
    expect(post("/v1/certificates/ren2:renew", ADMIN, ""), 200, -1, "\"state\":\"PENDING\"");
    assert_int_equal(jobs_queued(), jobs + 1);
}

static void test_renew_of_a_certificate_being_issued_answers_200_and_stays_issuing(void **state)
{
    (void)state;
    expect(post("/v1/certificates", ADMIN, CERT("ren3")), 200, -1, NULL);
    force_record("ren3", CERTPLANE__V1__STATE__ISSUING, NULL);
    expect(post("/v1/certificates/ren3:renew", ADMIN, "{\"name\":\"ren3\"}"), 200, -1,
           "\"state\":\"ISSUING\"");
}

static void test_renew_of_a_revoked_certificate_answers_400_failed_precondition(void **state)
{
    (void)state;
    expect(post("/v1/certificates", ADMIN, CERT("ren4")), 200, -1, NULL);
    force_record("ren4", CERTPLANE__V1__STATE__REVOKED, "-----BEGIN CERTIFICATE-----\n");
    long long jobs = jobs_queued();
    expect(post("/v1/certificates/ren4:renew", ADMIN, ""), 400, 9,
           "\"message\":\"certificate \\\"ren4\\\" is revoked: delete and create it again "
           "instead\"");
    assert_int_equal(jobs_queued(), jobs); /* refused: nothing queued */
    expect(http("GET", "/v1/certificates/ren4", READ, NULL, NULL, 0), 200, -1,
           "\"state\":\"REVOKED\"");
}

static void test_renew_of_an_unknown_certificate_answers_404(void **state)
{
    (void)state;
    expect(post("/v1/certificates/ren-none:renew", ADMIN, ""), 404, 5,
           "\"message\":\"certificate \\\"ren-none\\\" not found\"");
}

static void test_renew_needs_the_admin_role(void **state)
{
    (void)state;
    expect(post("/v1/certificates", ADMIN, CERT("ren5")), 200, -1, NULL);
    expect(post("/v1/certificates/ren5:renew", READ, ""), 403, 7, NULL);
}

/* ---- edges ---- */

static void test_edge_reports_are_listed_and_counted(void **state)
{
    (void)state;
    expect(post("/v1/edges:report", EDGE, "{\"edgeId\":\"edge-a\",\"appliedRevision\":\"3\"}"), 200,
           -1, "ttlSeconds");
    expect(http("GET", "/v1/edges", READ, NULL, NULL, 0), 200, -1, "edge-a");
    expect(post("/v1/edges:report", READ, "{\"edgeId\":\"edge-a\"}"), 403, 7, NULL);
    resp_t r = http("GET", "/metrics", NULL, NULL, NULL, 0);
    expect(
        r, 200, -1,
        "certplane_requests_total{transport=\"http\",method=\"ReportEdgeStatus\",code=\"OK\"} 1");
}

static void test_acme_challenge_is_mounted(void **state)
{
    (void)state;
    expect(http("GET", "/.well-known/acme-challenge/tok_A-1", NULL, NULL, NULL, 0), 200, -1,
           "tok_A-1.thumbprint");
    resp_t r = http("GET", "/.well-known/acme-challenge/other", NULL, NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    free(r.body);
}

/* ---- Watch ---- */

typedef struct watcher {
    pthread_t th;
    pthread_mutex_t mu;
    resp_t r;
    atomic_int stop;
    long status;
} watcher_t;

static size_t on_watch_body(char *p, size_t sz, size_t n, void *u)
{
    watcher_t *w = u;
    pthread_mutex_lock(&w->mu);
    on_body(p, sz, n, &w->r);
    pthread_mutex_unlock(&w->mu);
    return sz * n;
}

static int on_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    return atomic_load(&((watcher_t *)u)->stop) ? 1 : 0;
}

static void *watch_thread(void *arg)
{
    watcher_t *w = arg;
    char url[256];
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " READ);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/watch?fromRevision=0", g_port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &w->r);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &w->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static bool wait_for(watcher_t *w, const char *part, int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        pthread_mutex_lock(&w->mu);
        bool found = w->r.body != NULL && strstr(w->r.body, part) != NULL;
        pthread_mutex_unlock(&w->mu);
        if (found)
            return true;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_watch_streams_snapshot_then_live_events(void **state)
{
    (void)state;
    expect(post("/v1/certificates", ADMIN, CERT("snap1")), 200, -1, NULL);
    watcher_t w = {0};
    pthread_mutex_init(&w.mu, NULL);
    assert_int_equal(pthread_create(&w.th, NULL, watch_thread, &w), 0);
    if (!wait_for(&w, "\"type\":\"SNAPSHOT_END\"", 10000))
        fail_msg("no snapshot end: %s", w.r.body ? w.r.body : "(nothing)");
    assert_non_null(strstr(w.r.body, "\"name\":\"snap1\""));
    assert_int_equal(ctl_gateway_watchers(g_gw), 1);
    expect(post("/v1/certificates", ADMIN, CERT("live1")), 200, -1, NULL);
    if (!wait_for(&w, "\"name\":\"live1\"", 10000))
        fail_msg("no live event: %s", w.r.body);
    pthread_mutex_lock(&w.mu);
    /* One JSON object per line, each a CertificateEvent; the first says a snapshot follows. */
    char *nl = strchr(w.r.body, '\n');
    assert_non_null(nl);
    *nl = '\0';
    assert_non_null(strstr(w.r.body, "\"type\":\"SNAPSHOT_BEGIN\""));
    *nl = '\n';
    for (char *line = w.r.body; *line != '\0'; line = strchr(line, '\n') + 1) {
        assert_int_equal(line[0], '{');
        assert_non_null(strchr(line, '\n'));
    }
    pthread_mutex_unlock(&w.mu);
    assert_string_equal(w.r.ctype, "application/x-ndjson");
    atomic_store(&w.stop, 1);
    pthread_join(w.th, NULL);
    assert_int_equal(w.status, 200);
    /* The gateway notices the client left and drops the stream (and the service's sink). */
    int i = 0;
    while (ctl_gateway_watchers(g_gw) != 0 && i++ < 100) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(ctl_gateway_watchers(g_gw), 0);
    free(w.r.body);
    pthread_mutex_destroy(&w.mu);
    expect(http("GET", "/v1/watch?fromRevision=x", READ, NULL, NULL, 0), 400, 3, NULL);
    expect(http("GET", "/v1/watch", NULL, NULL, NULL, 0), 401, 16, NULL);
}

static void test_readyz_follows_redis(void **state)
{
    (void)state;
    assert_int_equal(cp_test_stop(&g_redis.proc, SIGTERM, 10000), 0);
    expect(http("GET", "/readyz", NULL, NULL, NULL, 0), 503, -1, NULL);
    expect(http("GET", "/healthz", NULL, NULL, NULL, 0), 200, -1, NULL);
    expect(http("GET", "/v1/certificates", READ, NULL, NULL, 0), 503, 14, NULL);
    assert_int_equal(cp_test_redis_restart(&g_redis), 0);
    long st = 0;
    for (int i = 0; i < 100 && st != 200; i++) {
        resp_t r = http("GET", "/readyz", NULL, NULL, NULL, 0);
        st = r.status;
        free(r.body);
        struct timespec ts = {0, 100 * 1000000L};
        if (st != 200)
            nanosleep(&ts, NULL);
    }
    assert_int_equal(st, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_metrics),
        cmocka_unit_test(test_create_get_list_delete),
        cmocka_unit_test(test_repeated_reads_follow_each_change),
        cmocka_unit_test(test_client_errors),
        cmocka_unit_test(test_renew_of_an_issued_certificate_answers_200_renewing_and_queues_a_job),
        cmocka_unit_test(test_renew_of_a_never_issued_certificate_answers_200_and_stays_pending),
        cmocka_unit_test(test_renew_of_a_certificate_being_issued_answers_200_and_stays_issuing),
        cmocka_unit_test(test_renew_of_a_revoked_certificate_answers_400_failed_precondition),
        cmocka_unit_test(test_renew_of_an_unknown_certificate_answers_404),
        cmocka_unit_test(test_renew_needs_the_admin_role),
        cmocka_unit_test(test_edge_reports_are_listed_and_counted),
        cmocka_unit_test(test_acme_challenge_is_mounted),
        cmocka_unit_test(test_watch_streams_snapshot_then_live_events),
        cmocka_unit_test(test_readyz_follows_redis),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
