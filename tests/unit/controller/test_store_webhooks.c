/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_webhooks.c - store_webhooks.c on a real Redis: subscriptions (secret sealed when a
 * keyring is set), the events stream's group (an entry read but not acknowledged is claimed by
 * another consumer), the delivery schedule's lease, retries and dead letters (issue 16) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/store_webhooks.h"
#include "tests/unit/controller/store_fixture.h"

static void test_subscription_put_list_delete(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_webhook_t w = {.id = "wh_0000000000000001",
                             .url = "http://127.0.0.1:1/x",
                             .events = "issued,revoked",
                             .name_filter = "*.example.com",
                             .create_ms = 1234,
                             .secret = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"};
    assert_int_equal(ctl_store_webhook_put(g_store, &w, &err), 0);
    assert_int_equal(ctl_store_webhook_put(g_store, &w, &err), CP_EEXIST);
    ctl_store_webhook_t bad = w;
    bad.id = "wh_0000000000000002";
    bad.url = "http://x/\tinjected";
    assert_int_equal(ctl_store_webhook_put(g_store, &bad, &err), CP_EINVAL);
    ctl_store_webhook_t *l = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_webhook_list(g_store, true, &l, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].url, w.url);
    assert_string_equal(l[0].events, w.events);
    assert_string_equal(l[0].name_filter, w.name_filter);
    assert_int_equal(l[0].create_ms, 1234);
    assert_string_equal(l[0].secret, w.secret);
    ctl_store_webhooks_free(l, n);
    assert_int_equal(ctl_store_webhook_list(g_store, false, &l, &n, &err), 0);
    assert_null(l[0].secret);
    ctl_store_webhooks_free(l, n);
    assert_int_equal(ctl_store_webhook_delete(g_store, w.id, &err), 0);
    assert_int_equal(ctl_store_webhook_delete(g_store, w.id, &err), CP_ENOTFOUND);
}

static void test_unacked_event_is_claimed_by_another_consumer(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_webhook_events_init(g_store, &err), 0);
    assert_int_equal(ctl_store_webhook_events_init(g_store, &err), 0); /* BUSYGROUP is fine */
    assert_int_equal(ctl_store_webhook_cert_event(g_store, "issued", "a", "01ab", NULL, NULL, &err),
                     0);
    ctl_store_whevent_t *ev = NULL;
    size_t n = 0;
    assert_int_equal(
        ctl_store_webhook_events_take(g_store, "dead/webhooks@1", 0, -1, 16, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].n_kv, 6);
    assert_string_equal(ev[0].kv[1], "issued");
    ctl_store_whevents_free(ev, n);
    /* Nothing new for a second consumer; the pending one is claimed once idle long enough. */
    assert_int_equal(
        ctl_store_webhook_events_take(g_store, "live/webhooks@2", 0, -1, 16, &ev, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        ctl_store_webhook_events_take(g_store, "live/webhooks@2", 0, 60000, 16, &ev, &n, &err), 0);
    assert_int_equal(n, 0);
    st_sleep_ms(30);
    assert_int_equal(
        ctl_store_webhook_events_take(g_store, "live/webhooks@2", 0, 10, 16, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ctl_store_webhook_event_ack(g_store, ev[0].id, &err), 0);
    ctl_store_whevents_free(ev, n);
    assert_int_equal(st_raw_int("XLEN %s", "webhook:events"), 0);
}

static void test_due_delivery_is_leased_retried_then_dead(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char **due = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_webhook_schedule(g_store, "d1", 1000, &err), 0);
    assert_int_equal(ctl_store_webhook_schedule(g_store, "d2", 5000, &err), 0);
    int64_t when = 0;
    assert_int_equal(ctl_store_webhook_next_due(g_store, &when, &err), 0);
    assert_int_equal(when, 1000);
    /* At 2000 only d1 is due; leased, it is not due again until the lease ends. */
    assert_int_equal(ctl_store_webhook_due(g_store, 2000, 10000, 16, &due, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(due[0], "d1");
    ctl_store_strv_free(due, n);
    assert_int_equal(ctl_store_webhook_due(g_store, 3000, 10000, 16, &due, &n, &err), 0);
    assert_int_equal(n, 0);
    ctl_store_strv_free(due, n);
    /* A controller that died with it: due again after the lease (12000). */
    assert_int_equal(ctl_store_webhook_due(g_store, 12000, 10000, 16, &due, &n, &err), 0);
    assert_int_equal(n, 2);
    ctl_store_strv_free(due, n);
    assert_int_equal(ctl_store_webhook_finish(g_store, "d1", "d1-retry", 30000, NULL, &err), 0);
    assert_int_equal(ctl_store_webhook_finish(g_store, "d2", NULL, 0, "d2-dead", &err), 0);
    assert_int_equal(st_raw_int("ZCARD %s", "webhook:retry"), 1);
    assert_int_equal(ctl_store_webhook_dead_list(g_store, 10, &due, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(due[0], "d2-dead");
    ctl_store_strv_free(due, n);
    assert_int_equal(ctl_store_webhook_finish(g_store, "d1-retry", NULL, 0, NULL, &err), 0);
    assert_int_equal(st_raw_int("ZCARD %s", "webhook:retry"), 0);
}

static void test_dead_letters_are_capped(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char m[32];
    for (int i = 0; i < CTL_STORE_WEBHOOK_DEAD_MAX + 5; i++) {
        snprintf(m, sizeof m, "x%d", i);
        assert_int_equal(ctl_store_webhook_finish(g_store, m, NULL, 0, m, &err), 0);
    }
    assert_int_equal(st_raw_int("LLEN %s", "webhook:dead"), CTL_STORE_WEBHOOK_DEAD_MAX);
    char *mark = NULL;
    assert_int_equal(ctl_store_webhook_mark_set(g_store, "expiring", "a", "42", &err), 0);
    assert_int_equal(ctl_store_webhook_mark_get(g_store, "expiring", "a", &mark, &err), 0);
    assert_string_equal(mark, "42");
    free(mark);
    assert_int_equal(ctl_store_webhook_mark_set(g_store, "expiring", "a", NULL, &err), 0);
    assert_int_equal(ctl_store_webhook_mark_get(g_store, "expiring", "a", &mark, &err), 0);
    assert_null(mark);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_subscription_put_list_delete),
        T(test_unacked_event_is_claimed_by_another_consumer),
        T(test_due_delivery_is_leased_retried_then_dead),
        T(test_dead_letters_are_capped),
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
