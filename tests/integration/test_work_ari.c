/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_ari.c - ACME Renewal Information (RFC 9773) end to end: the work machinery against the
 * test ACME front (tests/support/acme_front.py) in front of a real Pebble. Renewals follow the
 * window the test sets, carry `replaces`, survive a CA that refuses it; a CA without renewalInfo
 * keeps the lifetime rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "tests/integration/test_work_env.h"
#include "tests/support/acme_front.h"

/* An hour: long enough that no lifetime rule renews during the test; only windows do. */
#define VALIDITY_S 3600
/* The windows every certificate gets at first (the front's global window): far ahead. */
#define FAR_START_S 1800
#define FAR_END_S 2400

static work_env_t env;
static cp_test_front_t front;       /* with renewalInfo */
static cp_test_front_t front_plain; /* without */
static int64_t far_set_ms;          /* when the far window was set */

static int setup(void **state)
{
    (void)state;
    char body[128];
    if (work_env_setup(&env, VALIDITY_S) != 0)
        return -1;
    /* The CA asks to be polled every second; the controllers clamp to 1-2 s. */
    cp_test_front_opts_t o = {.retry_after_s = 1};
    if (cp_test_front_start(&front, &env.acme.pebble, &o) != 0)
        return -1;
    cp_test_front_opts_t plain = {.no_ari = 1};
    if (cp_test_front_start(&front_plain, &env.acme.pebble, &plain) != 0)
        return -1;
    far_set_ms = work_env_now_ms();
    snprintf(body, sizeof(body), "{\"certID\": \"*\", \"startIn\": %d, \"endIn\": %d}", FAR_START_S,
             FAR_END_S);
    return cp_test_front_post(&front, "/window", body);
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < WORK_ENV_MAX; i++)
        work_env_halt(&env, env.works[i]);
    cp_test_front_stop(&front);
    cp_test_front_stop(&front_plain);
    return work_env_teardown(&env);
}

/* A controller whose CA is `f`, polling ARI every 1-2 s; the only one running (all share the job
 * stream, and a certificate without a provider goes to whichever controller's default CA). */
static ctl_work_t *run_controller(const char *id, const cp_test_front_t *f)
{
    for (int i = 0; i < WORK_ENV_MAX; i++)
        work_env_halt(&env, env.works[i]);
    ctl_config_t *cfg = work_env_config(&env, id, 1, 10000);
    assert_non_null(cfg);
    cfg->acme_provider = (char *)f->directory_url;
    cfg->acme_ca_file = (char *)f->ca_file;
    cfg->ari_poll_min_ms = 1000;
    cfg->ari_poll_max_ms = 2000;
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    return w;
}

static json_t *front_json(const cp_test_front_t *f, const char *path)
{
    char *body = NULL;
    assert_int_equal(cp_test_front_get(f, path, &body), 0);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(j);
    return j;
}

/* The newOrders of certificate `name` the front saw and that counted: created by Pebble (201) or
 * refused by the front for `replaces` (409); a POST Pebble answered badNonce is sent again. A new
 * array: caller decrefs. */
static json_t *orders_of(const cp_test_front_t *f, const char *name)
{
    char domain[128];
    snprintf(domain, sizeof(domain), "%s.example.test", name);
    json_t *all = front_json(f, "/orders"), *out = json_array(), *o;
    size_t i;
    json_array_foreach(all, i, o)
    {
        const char *v = json_string_value(
            json_object_get(json_array_get(json_object_get(o, "identifiers"), 0), "value"));
        json_int_t status = json_integer_value(json_object_get(o, "status"));
        if (v != NULL && strcmp(v, domain) == 0 && (status == 201 || status == 409))
            json_array_append(out, o);
    }
    json_decref(all);
    return out;
}

static const char *replaces_of(const json_t *order)
{
    return json_string_value(json_object_get(order, "replaces"));
}

static int polls_of(const cp_test_front_t *f, const char *cert_id)
{
    json_t *p = front_json(f, "/polls");
    int n = (int)json_integer_value(json_object_get(p, cert_id));
    json_decref(p);
    return n;
}

static int64_t ts_ms(const Google__Protobuf__Timestamp *ts)
{
    return ts != NULL ? ts->seconds * 1000 + ts->nanos / 1000000 : -1;
}

/* Issues `name` through the ARI front and checks the record shows the front's window. */
static Certplane__V1__Certificate *issue_with_window(const char *name)
{
    assert_int_equal(work_env_create(&env, name, CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *c =
        work_env_wait(&env, name, CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(c);
    assert_int_equal(work_env_verify(&env, c), 0);
    /* The ID the controller computed is the one the front computed from the same certificate. */
    assert_true(c->ari_cert_id != NULL && c->ari_cert_id[0] != '\0');
    json_t *certs = front_json(&front, "/certs");
    assert_non_null(json_object_get(certs, c->ari_cert_id));
    json_decref(certs);
    /* The window is the far global one, the renewal time inside it, the next poll within 2 s. */
    int64_t ws = ts_ms(c->ari_window_start), we = ts_ms(c->ari_window_end);
    assert_true(ws >= far_set_ms + FAR_START_S * 1000LL - 1000 &&
                we <= far_set_ms + FAR_END_S * 1000LL + 2000);
    assert_true(ts_ms(c->renew_after) >= ws && ts_ms(c->renew_after) <= we);
    assert_non_null(c->ari_next_poll);
    assert_true(ts_ms(c->ari_next_poll) <= work_env_now_ms() + 2500);
    return c;
}

static void test_renewal_inside_the_window_set_sends_replaces(void **state)
{
    (void)state;
    ctl_work_t *w = run_controller("ctl-ari-a", &front);
    Certplane__V1__Certificate *c = issue_with_window("ari-a");
    char body[256];
    /* Polls go on without renewing while the window is far. */
    sleep(3);
    Certplane__V1__Certificate *same = work_env_get(&env, "ari-a");
    assert_string_equal(same->serial, c->serial);
    work_env_cert_free(same);
    assert_true(polls_of(&front, c->ari_cert_id) >= 2);

    int64_t t_set = work_env_now_ms();
    snprintf(body, sizeof(body), "{\"certID\": \"%s\", \"startIn\": 4, \"endIn\": 7}",
             c->ari_cert_id);
    assert_int_equal(cp_test_front_post(&front, "/window", body), 0);
    Certplane__V1__Certificate *next =
        work_env_wait(&env, "ari-a", CERTPLANE__V1__STATE__VALID, c->serial, 40000);
    assert_non_null(next);
    assert_int_equal(work_env_verify(&env, next), 0);

    json_t *orders = orders_of(&front, "ari-a");
    assert_int_equal(json_array_size(orders), 2);
    const json_t *renewal = json_array_get(orders, 1);
    assert_null(replaces_of(json_array_get(orders, 0)));
    assert_non_null(replaces_of(renewal));
    assert_string_equal(replaces_of(renewal), c->ari_cert_id);
    double at = json_real_value(json_object_get(renewal, "time")) * 1000.0;
    printf("[ ari ] window [+4 s, +7 s] set; renewal ordered at +%.2f s with replaces %s\n",
           (at - (double)t_set) / 1000.0, c->ari_cert_id);
    assert_true(at >= (double)t_set + 4000 - 250 && at <= (double)t_set + 7000 + 3000);
    json_decref(orders);
    work_env_halt(&env, w);
    work_env_cert_free(next);
    work_env_cert_free(c);
}

/* Also: polls that fail during a CA outage keep the window. */
static void test_window_moved_to_now_is_honoured_on_next_poll(void **state)
{
    (void)state;
    ctl_work_t *w = run_controller("ctl-ari-b", &front);
    Certplane__V1__Certificate *c = issue_with_window("ari-b");
    char body[256];
    /* While renewalInfo fails, the last window and renewal time stand; polls go on. */
    assert_int_equal(cp_test_front_post(&front, "/outage",
                                        "{\"mode\": \"5xx\", \"status\": 500, \"path\": "
                                        "\"/renewal-info/\"}"),
                     0);
    sleep(3);
    char *stats = NULL;
    assert_int_equal(cp_test_front_get(&front, "/stats", &stats), 0);
    assert_int_equal(cp_test_front_post(&front, "/outage", "{\"mode\": \"ok\"}"), 0);
    assert_null(strstr(stats, "\"outageAnswers\": 0"));
    free(stats);
    Certplane__V1__Certificate *kept = work_env_get(&env, "ari-b");
    assert_string_equal(kept->serial, c->serial);
    assert_int_equal(ts_ms(kept->ari_window_start), ts_ms(c->ari_window_start));
    assert_int_equal(ts_ms(kept->renew_after), ts_ms(c->renew_after));
    assert_true(ts_ms(kept->ari_next_poll) > ts_ms(c->ari_next_poll));
    work_env_cert_free(kept);
    /* A mass revocation: the CA moves the window to now (already ended: renew at once). */
    int64_t t_set = work_env_now_ms();
    snprintf(body, sizeof(body),
             "{\"certID\": \"%s\", \"startIn\": -60, \"endIn\": 0, \"explanationURL\": "
             "\"https://ca.example/incident\"}",
             c->ari_cert_id);
    assert_int_equal(cp_test_front_post(&front, "/window", body), 0);
    Certplane__V1__Certificate *next =
        work_env_wait(&env, "ari-b", CERTPLANE__V1__STATE__VALID, c->serial, 40000);
    assert_non_null(next);
    json_t *orders = orders_of(&front, "ari-b");
    assert_int_equal(json_array_size(orders), 2);
    double at = json_real_value(json_object_get(json_array_get(orders, 1), "time")) * 1000.0;
    printf("[ ari ] window moved to now; renewal ordered %.2f s later\n",
           (at - (double)t_set) / 1000.0);
    /* The next poll is at most 2 s away; the scheduler acts on it at once. */
    assert_true(at - (double)t_set < 3500);
    /* The new certificate has its own ID and window again. */
    assert_string_not_equal(next->ari_cert_id, c->ari_cert_id);
    assert_true(ts_ms(next->renew_after) > work_env_now_ms() + 60000);
    json_decref(orders);
    work_env_halt(&env, w);
    work_env_cert_free(next);
    work_env_cert_free(c);
}

static void test_replaces_refused_is_retried_without(void **state)
{
    (void)state;
    ctl_work_t *w = run_controller("ctl-ari-c", &front);
    Certplane__V1__Certificate *c = issue_with_window("ari-c");
    char body[256];
    assert_int_equal(
        cp_test_front_post(&front, "/config", "{\"rejectReplaces\": \"alreadyReplaced\"}"), 0);
    snprintf(body, sizeof(body), "{\"certID\": \"%s\", \"startIn\": -10, \"endIn\": 0}",
             c->ari_cert_id);
    assert_int_equal(cp_test_front_post(&front, "/window", body), 0);
    Certplane__V1__Certificate *next =
        work_env_wait(&env, "ari-c", CERTPLANE__V1__STATE__VALID, c->serial, 40000);
    assert_int_equal(cp_test_front_post(&front, "/config", "{\"rejectReplaces\": null}"), 0);
    assert_non_null(next);
    assert_int_equal(work_env_verify(&env, next), 0);
    assert_true(next->last_error == NULL || next->last_error[0] == '\0');
    json_t *orders = orders_of(&front, "ari-c");
    /* The first issuance, the renewal with replaces (refused), the same renewal without. */
    assert_int_equal(json_array_size(orders), 3);
    assert_string_equal(replaces_of(json_array_get(orders, 1)), c->ari_cert_id);
    assert_null(replaces_of(json_array_get(orders, 2)));
    json_decref(orders);
    work_env_halt(&env, w);
    work_env_cert_free(next);
    work_env_cert_free(c);
}

static void test_ca_without_renewal_info_keeps_the_lifetime_rule(void **state)
{
    (void)state;
    ctl_work_t *w = run_controller("ctl-plain", &front_plain);
    assert_int_equal(work_env_create(&env, "plain", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *c =
        work_env_wait(&env, "plain", CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(c);
    assert_null(c->ari_window_start);
    assert_null(c->ari_window_end);
    assert_null(c->ari_next_poll);
    assert_true(c->ari_cert_id == NULL || c->ari_cert_id[0] == '\0');
    /* Under 10 days: renew when half of the lifetime is left, up to a twentieth earlier. */
    int64_t nb = ts_ms(c->not_before), na = ts_ms(c->not_after), at = ts_ms(c->renew_after);
    int64_t half = nb + (na - nb) / 2;
    printf("[ ari ] no renewalInfo: renewal at %.3f of the lifetime\n",
           (double)(at - nb) / (double)(na - nb));
    assert_true(at <= half && at >= half - (na - nb) / 20 - 1000);
    json_t *polls = front_json(&front_plain, "/polls");
    assert_int_equal(json_object_size(polls), 0);
    json_decref(polls);
    work_env_halt(&env, w);
    work_env_cert_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renewal_inside_the_window_set_sends_replaces),
        cmocka_unit_test(test_window_moved_to_now_is_honoured_on_next_poll),
        cmocka_unit_test(test_replaces_refused_is_retried_without),
        cmocka_unit_test(test_ca_without_renewal_info_keeps_the_lifetime_rule),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
