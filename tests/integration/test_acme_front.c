/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_front.c - the test ACME front (tests/support/acme_front.py) itself, through the ACME
 * client: issuance through it with Pebble's checks intact, renewalInfo (default window,
 * Retry-After), meta.profiles, the newOrder record, and the outage modes (429, 5xx, hang, refuse)
 */
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
#include <jansson.h>

#include "tests/integration/acme_env.h"
#include "tests/support/acme_front.h"

static acme_env_t env;
static cp_test_front_t front;

static int group_setup(void **state)
{
    (void)state;
    cp_test_pebble_opts_t opts = {.validity_s = 3000};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (acme_env_start(&env, &opts) != 0)
        return -1;
    cp_test_front_opts_t fo = {.retry_after_s = 77,
                               .profiles = "{\"classic\": \"90 days\", \"shortlived\": \"160 h\"}"};
    return cp_test_front_start(&front, &env.pebble, &fo);
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_front_stop(&front);
    acme_env_stop(&env);
    curl_global_cleanup();
    return 0;
}

/* A fresh client of the front (nothing cached: every call reads the directory again). */
static ctl_acme_t *client(long deadline_ms)
{
    ctl_acme_t *c = NULL;
    ctl_acme_config_t cfg = {.directory = front.directory_url,
                             .ca_file = front.ca_file,
                             .email = "front@certplane.example",
                             .deadline_ms = deadline_ms};
    assert_int_equal(ctl_acme_new(&cfg, &env.hooks, &c, NULL), 0);
    return c;
}

static size_t sink(char *d, size_t size, size_t n, void *ud)
{
    json_t **out = ud;
    json_decref(*out);
    *out = json_loadb(d, size * n, 0, NULL);
    return size * n;
}

static void test_issue_through_front_and_renewal_info(void **state)
{
    (void)state;
    ctl_acme_t *c = client(120000);
    const char *names[] = {"front.certplane.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 1, .key_type = CP_KEY_EC_P256};
    ctl_acme_result_t res = {0};
    cp_err_t err = {0};
    assert_int_equal(acme_env_issue(&env, c, &req, &res, &err), 0);
    assert_int_equal(acme_env_verify(&env, &res, names, 1), 0);
    assert_int_equal(ctl_acme_has_ari(c, &err), 1);
    /* Default window: the middle third of the lifetime, with the configured Retry-After. */
    char *id = NULL;
    ctl_acme_ari_t ari = {0};
    assert_int_equal(ctl_acme_ari_cert_id(res.fullchain_pem, &id, &err), 0);
    assert_int_equal(ctl_acme_renewal_info(c, id, &ari, &err), 0);
    int64_t now = (int64_t)time(NULL) * 1000;
    assert_true(ari.start_ms > now + 900000 && ari.start_ms < now + 1100000);
    assert_true(ari.end_ms - ari.start_ms > 990000 && ari.end_ms - ari.start_ms < 1010000);
    assert_int_equal(ari.retry_after_s, 77);
    ctl_acme_ari_dispose(&ari);
    /* An ID the front never saw is 404. */
    assert_int_equal(ctl_acme_renewal_info(c, "AAAA.AQ", &ari, &err), CP_EACME);
    /* The newOrder was recorded (no replaces, no profile). */
    char *orders = NULL;
    assert_int_equal(cp_test_front_get(&front, "/orders", &orders), 0);
    assert_non_null(strstr(orders, "front.certplane.example"));
    assert_non_null(strstr(orders, "\"replaces\": null"));
    free(orders);
    free(id);
    ctl_acme_result_dispose(&res);
    ctl_acme_free(c);
}

/* A CA that refuses `replaces` as malformed gets the order once more without it; a CA that takes
 * it (Pebble ignores the member) simply issues. */
static void test_replaces_refused_as_malformed_is_sent_again_without(void **state)
{
    (void)state;
    ctl_acme_t *c = client(120000);
    const char *names[] = {"replaces.certplane.example"};
    ctl_acme_request_t req = {.names = names,
                              .n_names = 1,
                              .key_type = CP_KEY_EC_P256,
                              .replaces = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"};
    ctl_acme_result_t res = {0};
    cp_err_t err = {0};
    ctl_acme_stats_t st;
    assert_int_equal(cp_test_front_post(&front, "/config", "{\"rejectReplaces\": \"malformed\"}"),
                     0);
    int rc = acme_env_issue(&env, c, &req, &res, &err);
    assert_int_equal(cp_test_front_post(&front, "/config", "{\"rejectReplaces\": null}"), 0);
    assert_int_equal(rc, 0);
    ctl_acme_get_stats(c, &st);
    assert_int_equal(st.replaces_refused, 1);
    ctl_acme_result_dispose(&res);
    assert_int_equal(acme_env_issue(&env, c, &req, &res, &err), 0);
    ctl_acme_get_stats(c, &st);
    assert_int_equal(st.replaces_refused, 1);
    ctl_acme_result_dispose(&res);
    char *orders = NULL;
    assert_int_equal(cp_test_front_get(&front, "/orders", &orders), 0);
    assert_non_null(strstr(orders, "\"replaces\": \"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE\""));
    free(orders);
    ctl_acme_free(c);
}

static void test_directory_offers_profiles_and_renewal_info(void **state)
{
    (void)state;
    json_t *dir = NULL;
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, front.directory_url);
    curl_easy_setopt(h, CURLOPT_CAINFO, front.ca_file);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &dir);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_cleanup(h);
    assert_non_null(dir);
    const char *ri = json_string_value(json_object_get(dir, "renewalInfo"));
    assert_non_null(ri);
    assert_int_equal(strncmp(ri, front.directory_url, strlen(front.directory_url) - 4), 0);
    json_t *profiles = json_object_get(json_object_get(dir, "meta"), "profiles");
    assert_string_equal(json_string_value(json_object_get(profiles, "shortlived")), "160 h");
    /* Pebble's URLs point back at the front (the Host header went through). */
    assert_int_equal(strncmp(json_string_value(json_object_get(dir, "newOrder")),
                             front.directory_url, strlen(front.directory_url) - 4),
                     0);
    json_decref(dir);
}

/* ctl_acme_has_ari on a fresh client (a directory GET) under the given outage. */
static int under_outage(const char *outage, long deadline_ms, cp_err_t *err)
{
    assert_int_equal(cp_test_front_post(&front, "/outage", outage), 0);
    ctl_acme_t *c = client(deadline_ms);
    int rc = ctl_acme_has_ari(c, err);
    ctl_acme_stats_t st;
    ctl_acme_get_stats(c, &st);
    ctl_acme_free(c);
    assert_int_equal(cp_test_front_post(&front, "/outage", "{\"mode\": \"ok\"}"), 0);
    printf("[ front ] %s -> %s (%s), %lu busy retries\n", outage, cp_strerror(rc),
           rc < 0 ? err->msg : "", st.busy_retries);
    return rc;
}

static void test_outage_modes(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(under_outage("{\"mode\": \"429\", \"retryAfter\": 3600}", 5000, &err),
                     CP_EACME);
    assert_non_null(strstr(err.msg, "rateLimited"));
    assert_non_null(strstr(err.msg, "3600"));
    assert_int_equal(under_outage("{\"mode\": \"5xx\", \"status\": 500}", 5000, &err), CP_EACME);
    assert_non_null(strstr(err.msg, "serverInternal"));
    /* One 503, then the CA is back: the client's retry gets through. */
    assert_int_equal(
        under_outage("{\"mode\": \"5xx\", \"status\": 503, \"count\": 1}", 10000, &err), 1);
    assert_int_equal(under_outage("{\"mode\": \"hang\"}", 1500, &err), CP_ETIMEDOUT);
    assert_int_equal(under_outage("{\"mode\": \"refuse\"}", 3000, &err), CP_EUNAVAIL);
    /* A path filter: only renewalInfo fails, the directory answers. */
    assert_int_equal(
        under_outage("{\"mode\": \"5xx\", \"status\": 500, \"path\": \"/renewal-info/\"}", 5000,
                     &err),
        1);
    /* And everything works again afterwards. */
    ctl_acme_t *c = client(5000);
    assert_int_equal(ctl_acme_has_ari(c, &err), 1);
    ctl_acme_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_through_front_and_renewal_info),
        cmocka_unit_test(test_replaces_refused_as_malformed_is_sent_again_without),
        cmocka_unit_test(test_directory_offers_profiles_and_renewal_info),
        cmocka_unit_test(test_outage_modes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
