/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_resilience.c - Retry-After, deadlines, timeouts, body cap, network and TLS failures
 * of the real ACME client against a scripted fake server */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "controller/acme/acme_internal.h"
#include "shared/x509.h"
#include "tests/integration/acme_fake.h"
#include "tests/support/harness.h"

#define RATE_LIMITED                                                                               \
    "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"slow down\"}"
#define BUSY "{\"type\":\"urn:ietf:params:acme:error:serverInternal\",\"detail\":\"busy\"}"
#define BAD_NONCE "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"detail\":\"stale\"}"

static acme_fake_t *fake;
static char dir_url[128];
static char *cert_pem; /* a PEM chain the fake hands out as the issued certificate */
static int presented, cleaned;

static int hook_present(void *ctx, const char *token, const char *ka, cp_err_t *err)
{
    (void)ctx, (void)token, (void)ka, (void)err;
    presented++;
    return 0;
}

static int hook_cleanup(void *ctx, const char *token, cp_err_t *err)
{
    (void)ctx, (void)token, (void)err;
    cleaned++;
    return 0;
}

static const ctl_acme_hooks_t HOOKS = {.challenge_present = hook_present,
                                       .challenge_cleanup = hook_cleanup};

static int group_setup(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    const char *names[] = {"fake.example"};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (acme_fake_start(&fake) != 0)
        return -1;
    snprintf(dir_url, sizeof(dir_url), "%s/dir", acme_fake_base(fake));
    int rc = cp_x509_key_generate(CP_KEY_EC_P256, &key, NULL);
    if (rc == 0)
        rc = cp_x509_self_signed(key, names, 1, 1, &cert, NULL);
    if (rc == 0)
        rc = cp_x509_cert_to_pem(cert, &cert_pem, NULL);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    acme_fake_stop(fake);
    free(cert_pem);
    curl_global_cleanup();
    return 0;
}

static int reset(void **state)
{
    (void)state;
    acme_fake_reset(fake);
    presented = cleaned = 0;
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static ctl_acme_t *client(const char *directory, const char *ca_file, long deadline_ms,
                          long request_ms, size_t max_body)
{
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    ctl_acme_config_t cfg = {.directory = directory,
                             .ca_file = ca_file,
                             .deadline_ms = deadline_ms,
                             .request_timeout_ms = request_ms,
                             .max_body = max_body};
    assert_int_equal(ctl_acme_new(&cfg, &HOOKS, &c, &err), 0);
    return c;
}

static ctl_acme_t *fake_client(long deadline_ms)
{
    return client(dir_url, acme_fake_ca_file(fake), deadline_ms, 0, 0);
}

static void push(const char *path, int status, const char *headers, const char *body)
{
    acme_fake_reply_t r = {.status = status, .headers = headers, .body = body};
    acme_fake_push(fake, path, &r);
}

static void push_sticky(const char *path, int status, const char *headers, const char *body)
{
    acme_fake_reply_t r = {.status = status, .headers = headers, .body = body, .sticky = 1};
    acme_fake_push(fake, path, &r);
}

static void push_action(const char *path, acme_fake_action_t action, int sticky)
{
    acme_fake_reply_t r = {
        .action = action, .status = 200, .body = "{\"status\":\"valid\"}", .sticky = sticky};
    acme_fake_push(fake, path, &r);
}

static size_t hits(const char *path)
{
    return acme_fake_hits(fake, path, NULL, 0);
}

static void test_503_with_retry_after_waits_then_succeeds(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_stats_t st;
    struct timespec t0;
    ctl_acme_t *c = fake_client(20000);
    push("/acct-new", 503, "Retry-After: 1\r\n", BUSY);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), 0);
    double s = seconds_since(&t0);
    printf("[ info ] 503 + Retry-After: 1 -> account after %.2f s\n", s);
    assert_true(s >= 0.95 && s < 3.0);
    ctl_acme_get_stats(c, &st);
    assert_int_equal(st.busy_retries, 1);
    assert_int_equal(hits("/acct-new"), 2);
    assert_int_equal(acme_fake_nonce_reuses(fake), 0);
    ctl_acme_free(c);
}

static void test_503_on_directory_and_nonce_is_retried(void **state)
{
    (void)state;
    cp_err_t err = {0};
    struct timespec t0;
    ctl_acme_t *c = fake_client(20000);
    push("/dir", 503, "Retry-After: 1\r\n", NULL);
    push("/nonce", 503, "Retry-After: 0\r\n", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), 0);
    double s = seconds_since(&t0);
    printf("[ info ] directory 503 (Retry-After: 1), newNonce 503 (0): account after %.2f s\n", s);
    assert_true(s >= 0.95 && s < 3.0);
    assert_int_equal(hits("/dir"), 2);
    assert_int_equal(hits("/nonce"), 2);
    ctl_acme_free(c);
}

static void test_rate_limited_past_the_deadline_fails_at_once_naming_the_retry_time(void **state)
{
    (void)state;
    cp_err_t err = {0};
    struct timespec t0;
    ctl_acme_t *c = fake_client(10000);
    push_sticky("/acct-new", 429, "Retry-After: 3600\r\n", RATE_LIMITED);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_EACME);
    double s = seconds_since(&t0);
    printf("[ info ] %.2f s: %s\n", s, err.msg);
    assert_true(s < 1.0);
    assert_non_null(strstr(err.msg, "rateLimited"));
    assert_non_null(strstr(err.msg, "retry after 3600 s (at 20"));
    assert_non_null(strstr(err.msg, "deadline"));
    assert_int_equal(hits("/acct-new"), 1);
    ctl_acme_free(c);
}

static void test_retry_after_as_http_date_is_honoured(void **state)
{
    (void)state;
    cp_err_t err = {0};
    struct timespec t0;
    char hdr[96];
    struct tm tm;
    time_t at = time(NULL) + 2;
    gmtime_r(&at, &tm);
    strftime(hdr, sizeof(hdr), "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    ctl_acme_t *c = fake_client(20000);
    push("/acct-new", 429, hdr, RATE_LIMITED);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), 0);
    double s = seconds_since(&t0);
    printf("[ info ] Retry-After as an HTTP date 2 s ahead: account after %.2f s\n", s);
    assert_true(s >= 0.95 && s < 3.5);
    assert_int_equal(hits("/acct-new"), 2);
    ctl_acme_free(c);
}

static void test_bad_nonce_is_retried_with_the_fresh_nonce(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_stats_t st;
    ctl_acme_t *c = fake_client(20000);
    push("/acct-new", 400, NULL, BAD_NONCE);
    assert_int_equal(ctl_acme_account_ensure(c, &err), 0);
    ctl_acme_get_stats(c, &st);
    assert_int_equal(st.bad_nonce_retries, 1);
    assert_int_equal(st.busy_retries, 0);
    assert_int_equal(hits("/nonce"), 1); /* the second POST used the badNonce answer's nonce */
    assert_int_equal(acme_fake_nonce_reuses(fake), 0);
    ctl_acme_free(c);
}

/* An order that needs no authorization: ready at once, finalized, then polled. */
static void push_ready_order(void)
{
    push("/order-new", 201, "Location: $BASE/order/1\r\n",
         "{\"status\":\"ready\",\"finalize\":\"$BASE/finalize/1\",\"authorizations\":[]}");
    push("/finalize/1", 200, "Retry-After: 1\r\n", "{\"status\":\"processing\"}");
}

static void assert_intervals_follow_retry_after(const char *path)
{
    int64_t t[16];
    size_t n = acme_fake_hits(fake, path, t, 16);
    assert_true(n >= 2);
    for (size_t i = 1; i < n && i < 16; i++) {
        printf("[ info ] %s poll %zu after %lld ms\n", path, i, (long long)(t[i] - t[i - 1]));
        assert_true(t[i] - t[i - 1] >= 950 && t[i] - t[i - 1] < 2000);
    }
}

static void test_processing_order_polls_per_retry_after_then_issues(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    const char *names[] = {"fake.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 1, .key_type = CP_KEY_EC_P256};
    ctl_acme_t *c = fake_client(20000);
    push_ready_order();
    push("/order/1", 200, "Retry-After: 1\r\n", "{\"status\":\"processing\"}");
    push("/order/1", 200, NULL, "{\"status\":\"valid\",\"certificate\":\"$BASE/cert/1\"}");
    /* An interim 103 with a Link header must not leak (the final answer replaces its headers). */
    acme_fake_reply_t cert = {
        .status = 200,
        .preface = "HTTP/1.1 103 Early Hints\r\nLink: <$BASE/hint>;rel=\"alternate\"\r\n\r\n",
        .headers = "Content-Type: application/pem-certificate-chain\r\n",
        .body = cert_pem};
    acme_fake_push(fake, "/cert/1", &cert);
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), 0);
    assert_non_null(strstr(res.fullchain_pem, "BEGIN CERTIFICATE"));
    assert_int_equal(hits("/order/1"), 2);
    assert_int_equal(hits("/hint"), 0);
    assert_intervals_follow_retry_after("/order/1");
    assert_int_equal(acme_fake_nonce_reuses(fake), 0);
    ctl_acme_result_dispose(&res);
    ctl_acme_free(c);
}

static void test_processing_order_ends_at_the_deadline(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    struct timespec t0;
    const char *names[] = {"fake.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 1, .key_type = CP_KEY_EC_P256};
    ctl_acme_t *c = fake_client(3500);
    push_ready_order();
    push_sticky("/order/1", 200, "Retry-After: 1\r\n", "{\"status\":\"processing\"}");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), CP_ETIMEDOUT);
    double s = seconds_since(&t0);
    printf("[ info ] %.2f s: %s\n", s, err.msg);
    assert_true(s < 4.5);
    assert_non_null(strstr(err.msg, "order still processing"));
    assert_non_null(strstr(err.msg, "deadline of 3500 ms"));
    assert_true(hits("/order/1") >= 2);
    assert_intervals_follow_retry_after("/order/1");
    assert_null(res.fullchain_pem);
    ctl_acme_free(c);
}

static void test_pending_authorization_polls_per_retry_after_until_the_deadline(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    struct timespec t0;
    const char *names[] = {"a.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 1, .key_type = CP_KEY_EC_P256};
    ctl_acme_t *c = fake_client(3000);
    push("/order-new", 201, "Location: $BASE/order/1\r\n",
         "{\"status\":\"pending\",\"finalize\":\"$BASE/finalize/1\","
         "\"authorizations\":[\"$BASE/authz/1\"]}");
    push_sticky("/authz/1", 200, "Retry-After: 1\r\n",
                "{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"},"
                "\"challenges\":[{\"type\":\"http-01\",\"url\":\"$BASE/chal/1\","
                "\"token\":\"tok1\"}]}");
    push("/chal/1", 200, NULL, "{\"status\":\"processing\"}");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), CP_ETIMEDOUT);
    double s = seconds_since(&t0);
    printf("[ info ] %.2f s: %s\n", s, err.msg);
    assert_true(s < 3.5);
    assert_non_null(strstr(err.msg, "authorization still pending: dns a.example"));
    assert_int_equal(presented, 1);
    assert_int_equal(cleaned, 1);
    assert_int_equal(hits("/chal/1"), 1);
    assert_true(hits("/authz/1") >= 3); /* the first fetch, then polls */
    ctl_acme_free(c);
}

/* Without Retry-After the waits start at 25 ms and double (25, 50, 100, 200 ...): a fast CA is
 * seen at once, a slow one is not hammered. */
static void test_processing_order_without_retry_after_polls_at_doubling_intervals(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    const char *names[] = {"fake.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 1, .key_type = CP_KEY_EC_P256};
    ctl_acme_t *c = fake_client(20000);
    push("/order-new", 201, "Location: $BASE/order/1\r\n",
         "{\"status\":\"ready\",\"finalize\":\"$BASE/finalize/1\",\"authorizations\":[]}");
    push("/finalize/1", 200, NULL, "{\"status\":\"processing\"}");
    for (int i = 0; i < 4; i++)
        push("/order/1", 200, NULL, "{\"status\":\"processing\"}");
    push("/order/1", 200, NULL, "{\"status\":\"valid\",\"certificate\":\"$BASE/cert/1\"}");
    acme_fake_reply_t cert = {.status = 200,
                              .headers = "Content-Type: application/pem-certificate-chain\r\n",
                              .body = cert_pem};
    acme_fake_push(fake, "/cert/1", &cert);
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), 0);
    int64_t t[8];
    size_t n = acme_fake_hits(fake, "/order/1", t, 8);
    assert_int_equal(n, 5);
    /* The first poll follows finalize at once; then 25, 50, 100, 200 ms (scheduling adds a few). */
    const int64_t want[] = {25, 50, 100, 200};
    for (size_t i = 1; i < n; i++) {
        int64_t d = t[i] - t[i - 1];
        printf("[ info ] poll %zu after %lld ms (schedule %lld)\n", i, (long long)d,
               (long long)want[i - 1]);
        assert_true(d >= want[i - 1] - 2 && d < want[i - 1] + 150);
    }
    assert_non_null(strstr(res.fullchain_pem, "BEGIN CERTIFICATE"));
    ctl_acme_result_dispose(&res);
    ctl_acme_free(c);
}

static void test_server_that_never_answers_hits_the_request_timeout(void **state)
{
    (void)state;
    cp_err_t err = {0};
    struct timespec t0;
    ctl_acme_t *c = client(dir_url, acme_fake_ca_file(fake), 20000, 1000, 0);
    push_action("/acct-new", FAKE_HANG, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_ETIMEDOUT);
    double s = seconds_since(&t0);
    printf("[ info ] %.2f s: %s\n", s, err.msg);
    assert_true(s >= 0.9 && s < 3.0);
    assert_non_null(strstr(err.msg, "no answer within 1000 ms"));
    ctl_acme_free(c);
}

static void test_deadline_bounds_a_request_shorter_than_its_timeout(void **state)
{
    (void)state;
    cp_err_t err = {0};
    struct timespec t0;
    ctl_acme_t *c = client(dir_url, acme_fake_ca_file(fake), 1500, 30000, 0);
    push_action("/acct-new", FAKE_HANG, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_ETIMEDOUT);
    double s = seconds_since(&t0);
    printf("[ info ] %.2f s: %s\n", s, err.msg);
    assert_true(s < 2.5);
    assert_non_null(strstr(err.msg, "deadline"));
    ctl_acme_free(c);
}

static void test_body_over_the_cap_is_a_clear_error(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = client(dir_url, acme_fake_ca_file(fake), 20000, 0, 4096);
    acme_fake_reply_t big = {.status = 200, .body = "{\"newNonce\":\"x\"}", .pad = 200000};
    acme_fake_push(fake, "/dir", &big);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_ETOOBIG);
    printf("[ info ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "larger than the cap of 4096 bytes"));
    assert_int_equal(hits("/dir"), 1); /* not retried */
    ctl_acme_free(c);
}

static void test_connection_refused_retries_with_backoff_then_unavailable(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_stats_t st;
    struct timespec t0;
    char url[64];
    snprintf(url, sizeof(url), "https://localhost:%d/dir", cp_test_free_port());
    ctl_acme_t *c = client(url, acme_fake_ca_file(fake), 20000, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_EUNAVAIL);
    double s = seconds_since(&t0);
    printf("[ info ] %.2f s: %s\n", s, err.msg);
    ctl_acme_get_stats(c, &st);
    assert_int_equal(st.requests, 4);
    assert_true(s >= 1.7 && s < 4.0); /* 250 + 500 + 1000 ms of backoff */
    assert_non_null(strstr(err.msg, "ACME directory: network (4 attempts)"));
    ctl_acme_free(c);
}

static void test_reset_mid_response_retries_with_fresh_nonces_then_unavailable(void **state)
{
    (void)state;
    cp_err_t err = {0};
    struct timespec t0;
    ctl_acme_t *c = fake_client(20000);
    push_action("/acct-new", FAKE_RESET, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_EUNAVAIL);
    double s = seconds_since(&t0);
    printf("[ info ] %.2f s: %s\n", s, err.msg);
    assert_true(s >= 1.7 && s < 5.0);
    assert_int_equal(hits("/acct-new"), 4);
    assert_non_null(strstr(err.msg, "newAccount: network (4 attempts)"));
    assert_int_equal(acme_fake_nonce_reuses(fake), 0);
    ctl_acme_free(c);
}

static void test_one_reset_then_success(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = fake_client(20000);
    push_action("/acct-new", FAKE_CLOSE, 0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), 0);
    assert_int_equal(hits("/acct-new"), 2);
    assert_int_equal(acme_fake_nonce_reuses(fake), 0);
    ctl_acme_free(c);
}

static void assert_untrusted_fails_at_once(const char *directory, const char *ca_file)
{
    cp_err_t err = {0};
    ctl_acme_stats_t st;
    struct timespec t0;
    ctl_acme_t *c = client(directory, ca_file, 20000, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_EUNAVAIL);
    double s = seconds_since(&t0);
    printf("[ info ] %.2f s: %s\n", s, err.msg);
    ctl_acme_get_stats(c, &st);
    assert_int_equal(st.requests, 1);
    assert_true(s < 1.0);
    assert_non_null(strstr(err.msg, "TLS certificate was not trusted"));
    ctl_acme_free(c);
}

static void test_untrusted_ca_fails_at_once(void **state)
{
    (void)state;
    assert_untrusted_fails_at_once(dir_url, NULL); /* the system store does not know our CA */
}

static void test_wrong_certificate_name_fails_at_once(void **state)
{
    (void)state;
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/dir", acme_fake_port(fake));
    assert_untrusted_fails_at_once(url, acme_fake_ca_file(fake));
}

static void test_alternate_chain_that_fails_to_load_keeps_the_default(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    const char *names[] = {"fake.example"};
    ctl_acme_request_t req = {.names = names,
                              .n_names = 1,
                              .key_type = CP_KEY_EC_P256,
                              .preferred_chain = "Some Other Root"};
    ctl_acme_t *c = fake_client(20000);
    push_ready_order();
    push("/order/1", 200, NULL, "{\"status\":\"valid\",\"certificate\":\"$BASE/cert/1\"}");
    push("/cert/1", 200,
         "Content-Type: application/pem-certificate-chain\r\n"
         "Link: <$BASE/alt/1>;rel=\"alternate\"\r\nLink: <$BASE/alt/2>;rel=\"alternate\"\r\n",
         cert_pem);
    push_action("/alt/1", FAKE_CLOSE, 1);
    push("/alt/2", 200, "Content-Type: application/pem-certificate-chain\r\n", "not a PEM chain");
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), 0);
    assert_string_equal(res.fullchain_pem, cert_pem);
    assert_int_equal(hits("/alt/1"), 4);
    assert_int_equal(hits("/alt/2"), 1);
    ctl_acme_result_dispose(&res);
    ctl_acme_free(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, reset)
    const struct CMUnitTest tests[] = {
        T(test_503_with_retry_after_waits_then_succeeds),
        T(test_503_on_directory_and_nonce_is_retried),
        T(test_rate_limited_past_the_deadline_fails_at_once_naming_the_retry_time),
        T(test_retry_after_as_http_date_is_honoured),
        T(test_bad_nonce_is_retried_with_the_fresh_nonce),
        T(test_processing_order_polls_per_retry_after_then_issues),
        T(test_processing_order_ends_at_the_deadline),
        T(test_pending_authorization_polls_per_retry_after_until_the_deadline),
        T(test_processing_order_without_retry_after_polls_at_doubling_intervals),
        T(test_server_that_never_answers_hits_the_request_timeout),
        T(test_deadline_bounds_a_request_shorter_than_its_timeout),
        T(test_body_over_the_cap_is_a_clear_error),
        T(test_connection_refused_retries_with_backoff_then_unavailable),
        T(test_reset_mid_response_retries_with_fresh_nonces_then_unavailable),
        T(test_one_reset_then_success),
        T(test_untrusted_ca_fails_at_once),
        T(test_wrong_certificate_name_fails_at_once),
        T(test_alternate_chain_that_fails_to_load_keeps_the_default),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
