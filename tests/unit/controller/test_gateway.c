/* SPDX-License-Identifier: Apache-2.0 */
/* test_gateway.c - the HTTP/JSON gateway end to end beyond the certificate resources: health,
 * metrics, renew, edges, the HTTP-01 mount, the NDJSON Watch stream and readiness following Redis
 * (certificate resources: test_gateway_certs.c; client errors: test_gateway_errors.c) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/controller/gateway_fixture.h"

/* ---- health and metrics ---- */

static void test_healthz_answers_200_ok_without_a_token(void **state)
{
    (void)state;
    gw_resp_t r = gw_http("GET", "/healthz", NULL, NULL, NULL, 0);
    gw_expect(r, 200, -1, "ok");
}

static void test_readyz_answers_200_ready_while_redis_is_up(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/readyz", NULL, NULL, NULL, 0), 200, -1, "ready");
}

static void test_metrics_answers_prometheus_text_with_a_successful_scrape(void **state)
{
    (void)state;
    gw_resp_t r = gw_http("GET", "/metrics", NULL, NULL, NULL, 0);
    assert_non_null(strstr(r.ctype, "text/plain; version=0.0.4"));
    gw_expect(r, 200, -1, "certplane_certificates_scrape_success 1");
}

/* --metrics-require-token: /metrics names certificates, so it can be closed to anonymous scrapers.
 */
static void test_metrics_with_require_token_needs_a_read_token(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_gateway_t *gw = NULL;
    int port = 0, saved = g_port;
    ctl_gateway_opts_t o = {.listen = "127.0.0.1:0", .metrics_require_token = true};
    assert_int_equal(ctl_gateway_start_opts(g_svc, &o, &gw, &port, &err), 0);
    g_port = port;
    gw_expect(gw_http("GET", "/metrics", NULL, NULL, NULL, 0), 401, 16, "missing bearer token");
    gw_expect(gw_http("GET", "/metrics", "nope", NULL, NULL, 0), 401, 16, NULL);
    gw_expect(gw_http("GET", "/metrics", GW_EDGE, NULL, NULL, 0), 403, 7, "read scope");
    gw_expect(gw_http("GET", "/metrics", GW_READ, NULL, NULL, 0), 200, -1,
              "certplane_certificates_scrape_success 1");
    /* Health and readiness stay open for probes. */
    gw_expect(gw_http("GET", "/readyz", NULL, NULL, NULL, 0), 200, -1, "ready");
    g_port = saved;
    ctl_gateway_stop(gw);
}

/* ---- renew ---- */

static void test_renew_of_an_issued_certificate_answers_200_renewing_and_queues_a_job(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("ren1")), 200, -1, NULL);
    gw_force_record("ren1", CERTPLANE__V1__STATE__VALID, "-----BEGIN CERTIFICATE-----\n");
    long long jobs = gw_jobs_queued();
    gw_resp_t r = gw_post("/v1/certificates/ren1:renew", GW_ADMIN, "");
    assert_non_null(strstr(r.body, "\"name\":\"ren1\""));
    assert_null(strstr(r.body, "privateKeyPem"));
    gw_expect(r, 200, -1, "\"state\":\"RENEWING\"");
    assert_int_equal(gw_jobs_queued(), jobs + 1);
}

static void test_renew_of_a_never_issued_certificate_answers_200_and_stays_pending(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("ren2")), 200, -1, NULL);
    long long jobs = gw_jobs_queued();
    gw_expect(gw_post("/v1/certificates/ren2:renew", GW_ADMIN, ""), 200, -1,
              "\"state\":\"PENDING\"");
    assert_int_equal(gw_jobs_queued(), jobs + 1);
}

static void test_renew_of_a_certificate_being_issued_answers_200_and_stays_issuing(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("ren3")), 200, -1, NULL);
    gw_force_record("ren3", CERTPLANE__V1__STATE__ISSUING, NULL);
    gw_expect(gw_post("/v1/certificates/ren3:renew", GW_ADMIN, "{\"name\":\"ren3\"}"), 200, -1,
              "\"state\":\"ISSUING\"");
}

static void test_renew_of_a_revoked_certificate_answers_400_failed_precondition(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("ren4")), 200, -1, NULL);
    gw_force_record("ren4", CERTPLANE__V1__STATE__REVOKED, "-----BEGIN CERTIFICATE-----\n");
    long long jobs = gw_jobs_queued();
    gw_expect(gw_post("/v1/certificates/ren4:renew", GW_ADMIN, ""), 400, 9,
              "\"message\":\"certificate \\\"ren4\\\" is revoked: delete and create it again "
              "instead\"");
    assert_int_equal(gw_jobs_queued(), jobs); /* refused: nothing queued */
    gw_expect(gw_http("GET", "/v1/certificates/ren4", GW_READ, NULL, NULL, 0), 200, -1,
              "\"state\":\"REVOKED\"");
}

static void test_renew_of_an_unknown_certificate_answers_404(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates/ren-none:renew", GW_ADMIN, ""), 404, 5,
              "\"message\":\"certificate \\\"ren-none\\\" not found\"");
}

static void test_renew_needs_the_admin_role(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("ren5")), 200, -1, NULL);
    gw_expect(gw_post("/v1/certificates/ren5:renew", GW_READ, ""), 403, 7, NULL);
}

/* ---- edges ---- */

static void test_edge_report_answers_200_with_the_ttl(void **state)
{
    (void)state;
    gw_expect(
        gw_post("/v1/edges:report", GW_EDGE, "{\"edgeId\":\"edge-a\",\"appliedRevision\":\"3\"}"),
        200, -1, "ttlSeconds");
}

static void test_reported_edge_is_listed(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/edges:report", GW_EDGE, "{\"edgeId\":\"edge-b\"}"), 200, -1, NULL);
    gw_expect(gw_http("GET", "/v1/edges", GW_READ, NULL, NULL, 0), 200, -1, "edge-b");
}

static void test_edge_report_as_reader_answers_403(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/edges:report", GW_READ, "{\"edgeId\":\"edge-a\"}"), 403, 7, NULL);
}

#define EDGE_REPORTS_OK                                                                            \
    "certplane_requests_total{transport=\"http\",method=\"ReportEdgeStatus\",code=\"OK\"} "

/* The successful edge reports /metrics counts so far (0 before the first). */
static long edge_reports_counted(void)
{
    gw_resp_t r = gw_http("GET", "/metrics", NULL, NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    const char *p = strstr(r.body, EDGE_REPORTS_OK);
    long n = p != NULL ? strtol(p + strlen(EDGE_REPORTS_OK), NULL, 10) : 0;
    free(r.body);
    return n;
}

static void test_each_edge_report_is_counted_in_metrics(void **state)
{
    (void)state;
    long before = edge_reports_counted();
    gw_expect(gw_post("/v1/edges:report", GW_EDGE, "{\"edgeId\":\"edge-c\"}"), 200, -1, NULL);
    char want[256];
    snprintf(want, sizeof want, EDGE_REPORTS_OK "%ld\n", before + 1);
    gw_resp_t r = gw_http("GET", "/metrics", NULL, NULL, NULL, 0);
    gw_expect(r, 200, -1, want);
}

/* ---- the HTTP-01 mount ---- */

static void test_acme_challenge_of_a_known_token_answers_its_key_authorization(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/.well-known/acme-challenge/tok_A-1", NULL, NULL, NULL, 0), 200, -1,
              "tok_A-1.thumbprint");
}

static void test_acme_challenge_of_an_unknown_token_answers_404(void **state)
{
    (void)state;
    gw_resp_t r = gw_http("GET", "/.well-known/acme-challenge/other", NULL, NULL, NULL, 0);
    assert_int_equal(r.status, 404);
    free(r.body);
}

/* ---- Watch ---- */

typedef struct watcher {
    pthread_t th;
    pthread_mutex_t mu;
    gw_resp_t r;
    atomic_int stop;
    long status;
} watcher_t;

static size_t on_watch_body(char *p, size_t sz, size_t n, void *u)
{
    watcher_t *w = u;
    pthread_mutex_lock(&w->mu);
    gw_on_body(p, sz, n, &w->r);
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
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " GW_READ);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/watch?fromRevision=0", g_port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_watch_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, gw_on_header);
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
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("snap1")), 200, -1, NULL);
    watcher_t w = {0};
    pthread_mutex_init(&w.mu, NULL);
    assert_int_equal(pthread_create(&w.th, NULL, watch_thread, &w), 0);
    if (!wait_for(&w, "\"type\":\"SNAPSHOT_END\"", 10000))
        fail_msg("no snapshot end: %s", w.r.body ? w.r.body : "(nothing)");
    assert_non_null(strstr(w.r.body, "\"name\":\"snap1\""));
    assert_int_equal(ctl_gateway_watchers(g_gw), 1);
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("live1")), 200, -1, NULL);
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
}

/* A snapshot larger than the stream's queue (GW_WATCH_QUEUE) streams whole: the response starts
 * with its first lines and the service waits for room. It used to start only after the whole
 * snapshot was queued, so one beyond the queue was cut off as "watcher too slow" (issue 13: REST
 * Watch failed from about 5,000 certificates with keys). */
static void test_watch_snapshot_larger_than_the_queue_streams_whole(void **state)
{
    (void)state;
    char body[256], name[32];
    int n = 0;
    for (; n < 2000; n++) {
        snprintf(name, sizeof name, "big%04d", n);
        snprintf(body, sizeof body,
                 "{\"name\":\"%s\",\"domains\":[\"%s.example.com\",\"www.%s.example.com\"],"
                 "\"email\":\"ops@example.com\"}",
                 name, name, name);
        gw_expect(gw_post("/v1/certificates", GW_ADMIN, body), 200, -1, NULL);
    }
    watcher_t w = {0};
    pthread_mutex_init(&w.mu, NULL);
    assert_int_equal(pthread_create(&w.th, NULL, watch_thread, &w), 0);
    bool end = wait_for(&w, "\"type\":\"SNAPSHOT_END\"", 30000);
    pthread_mutex_lock(&w.mu);
    size_t len = w.r.body != NULL ? strlen(w.r.body) : 0;
    bool cut = w.r.body != NULL && strstr(w.r.body, "too slow") != NULL;
    bool last = w.r.body != NULL && strstr(w.r.body, "\"name\":\"big1999\"") != NULL;
    pthread_mutex_unlock(&w.mu);
    print_message("[ watch ] snapshot of %d certificates: %zu bytes through a %d-byte queue%s\n", n,
                  len, GW_WATCH_QUEUE, cut ? " (cut off: too slow)" : "");
    atomic_store(&w.stop, 1);
    pthread_join(w.th, NULL);
    assert_false(cut);
    assert_true(end);
    assert_true(last);
    assert_true(len > 2 * GW_WATCH_QUEUE);
    free(w.r.body);
    pthread_mutex_destroy(&w.mu);
}

static void test_watch_with_a_non_numeric_from_revision_answers_400(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/v1/watch?fromRevision=x", GW_READ, NULL, NULL, 0), 400, 3, NULL);
}

static void test_watch_without_a_token_answers_401(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/v1/watch", NULL, NULL, NULL, 0), 401, 16, NULL);
}

/* ---- readiness follows Redis (these run last: they stop the executable's server) ---- */

static void redis_down(void)
{
    assert_int_equal(cp_test_stop(&g_redis.proc, SIGTERM, 10000), 0);
}

/* Restarts the server and waits until /readyz answers 200 again (10 s at most). */
static void redis_up_and_ready(void)
{
    assert_int_equal(cp_test_redis_restart(&g_redis), 0);
    long st = 0;
    for (int i = 0; i < 100 && st != 200; i++) {
        gw_resp_t r = gw_http("GET", "/readyz", NULL, NULL, NULL, 0);
        st = r.status;
        free(r.body);
        struct timespec ts = {0, 100 * 1000000L};
        if (st != 200)
            nanosleep(&ts, NULL);
    }
    assert_int_equal(st, 200);
}

static void test_readyz_answers_503_while_redis_is_down(void **state)
{
    (void)state;
    redis_down();
    gw_expect(gw_http("GET", "/readyz", NULL, NULL, NULL, 0), 503, -1, NULL);
    redis_up_and_ready();
}

static void test_healthz_still_answers_200_while_redis_is_down(void **state)
{
    (void)state;
    redis_down();
    gw_expect(gw_http("GET", "/healthz", NULL, NULL, NULL, 0), 200, -1, NULL);
    redis_up_and_ready();
}

static void test_calls_answer_503_unavailable_while_redis_is_down(void **state)
{
    (void)state;
    redis_down();
    gw_expect(gw_http("GET", "/v1/certificates", GW_READ, NULL, NULL, 0), 503, 14, NULL);
    redis_up_and_ready();
}

static void test_readyz_answers_200_again_after_redis_restarts(void **state)
{
    (void)state;
    redis_down();
    redis_up_and_ready();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_answers_200_ok_without_a_token),
        cmocka_unit_test(test_readyz_answers_200_ready_while_redis_is_up),
        cmocka_unit_test(test_metrics_answers_prometheus_text_with_a_successful_scrape),
        cmocka_unit_test(test_metrics_with_require_token_needs_a_read_token),
        cmocka_unit_test(test_renew_of_an_issued_certificate_answers_200_renewing_and_queues_a_job),
        cmocka_unit_test(test_renew_of_a_never_issued_certificate_answers_200_and_stays_pending),
        cmocka_unit_test(test_renew_of_a_certificate_being_issued_answers_200_and_stays_issuing),
        cmocka_unit_test(test_renew_of_a_revoked_certificate_answers_400_failed_precondition),
        cmocka_unit_test(test_renew_of_an_unknown_certificate_answers_404),
        cmocka_unit_test(test_renew_needs_the_admin_role),
        cmocka_unit_test(test_edge_report_answers_200_with_the_ttl),
        cmocka_unit_test(test_reported_edge_is_listed),
        cmocka_unit_test(test_edge_report_as_reader_answers_403),
        cmocka_unit_test(test_each_edge_report_is_counted_in_metrics),
        cmocka_unit_test(test_acme_challenge_of_a_known_token_answers_its_key_authorization),
        cmocka_unit_test(test_acme_challenge_of_an_unknown_token_answers_404),
        cmocka_unit_test(test_watch_streams_snapshot_then_live_events),
        cmocka_unit_test(test_watch_snapshot_larger_than_the_queue_streams_whole),
        cmocka_unit_test(test_watch_with_a_non_numeric_from_revision_answers_400),
        cmocka_unit_test(test_watch_without_a_token_answers_401),
        cmocka_unit_test(test_readyz_answers_503_while_redis_is_down),
        cmocka_unit_test(test_healthz_still_answers_200_while_redis_is_down),
        cmocka_unit_test(test_calls_answer_503_unavailable_while_redis_is_down),
        cmocka_unit_test(test_readyz_answers_200_again_after_redis_restarts),
    };
    return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
