/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_ca.c - what controllers share about each CA: an account's rate limit, the provider's
 * caps on orders per hour and in progress, the profiles its directory offers (issue #12) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/store/store_ca.h"
#include "tests/unit/controller/store_fixture.h"

#define P "https://ca.example/dir"
#define HOUR (3600LL * 1000)
/* Mid-hour, so that the next hour is 30 minutes away. */
#define NOW (1800000000LL * 1000 + 30 * 60 * 1000 - (1800000000LL * 1000) % HOUR)

static ctl_store_ca_refusal_t admit(ctl_store_t *s, const char *account, const char *name,
                                    int64_t now, int64_t per_hour, int64_t concurrent,
                                    int64_t *retry)
{
    cp_err_t err = {0};
    ctl_store_ca_caps_t caps = {
        .orders_per_hour = per_hour, .concurrent = concurrent, .lease_ms = 60000};
    ctl_store_ca_refusal_t why = CTL_STORE_CA_ADMITTED;
    int64_t r = 0;
    assert_int_equal(ctl_store_ca_order_admit(s, P, account, name, now, &caps, &why, &r, &err), 0);
    if (retry != NULL)
        *retry = r;
    return why;
}

static void test_rate_limit_holds_the_whole_account_until_its_time(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t until = 0, retry = 0;
    /* The key expires on the server's clock: real time. */
    int64_t now = (int64_t)time(NULL) * 1000;
    assert_int_equal(ctl_store_ca_ratelimit_get(g_store, P, "a@x", now, &until, &err), 0);
    assert_int_equal(until, 0);
    assert_int_equal(ctl_store_ca_ratelimit_set(g_store, P, "a@x", now + 600000, &err), 0);
    assert_int_equal(ctl_store_ca_ratelimit_get(g_store, P, "a@x", now, &until, &err), 0);
    assert_int_equal(until, now + 600000);
    /* Every certificate of the account is held back, whatever its name; another account is not. */
    assert_int_equal(admit(g_store, "a@x", "one", now, 0, 0, &retry), CTL_STORE_CA_RATE_LIMITED);
    assert_int_equal(retry, now + 600000);
    assert_int_equal(admit(g_store, "a@x", "two", now, 0, 0, &retry), CTL_STORE_CA_RATE_LIMITED);
    assert_int_equal(admit(g_store, "b@x", "three", now, 0, 0, &retry), CTL_STORE_CA_ADMITTED);
    /* An earlier time never shortens it; the key expires with it. */
    assert_int_equal(ctl_store_ca_ratelimit_set(g_store, P, "a@x", now + 1000, &err), 0);
    assert_int_equal(ctl_store_ca_ratelimit_get(g_store, P, "a@x", now, &until, &err), 0);
    assert_int_equal(until, now + 600000);
    long long pttl = st_raw_int("PTTL %s", "ratelimit:" P ":a@x");
    assert_true(pttl > 590000 && pttl <= 600000 + 2000);
    /* Once passed, the account orders again. */
    assert_int_equal(ctl_store_ca_ratelimit_get(g_store, P, "a@x", now + 600001, &until, &err), 0);
    assert_int_equal(until, 0);
    assert_int_equal(admit(g_store, "a@x", "one", now + 600001, 0, 0, NULL), CTL_STORE_CA_ADMITTED);
}

/* Seen by another controller: a second connection to the same Redis. */
static void test_rate_limit_is_seen_by_every_controller(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t now = (int64_t)time(NULL) * 1000, until = 0;
    ctl_store_t *other = st_open(g_redis.url, 3000, 0);
    assert_int_equal(ctl_store_ca_ratelimit_set(g_store, P, "a@x", now + 5000, &err), 0);
    assert_int_equal(ctl_store_ca_ratelimit_get(other, P, "a@x", now, &until, &err), 0);
    assert_int_equal(until, now + 5000);
    assert_int_equal(admit(other, "a@x", "n", now, 0, 0, NULL), CTL_STORE_CA_RATE_LIMITED);
    ctl_store_free(other);
}

static void test_hourly_cap_counts_across_controllers_in_fixed_hours(void **state)
{
    (void)state;
    int64_t retry = 0;
    ctl_store_t *other = st_open(g_redis.url, 3000, 0);
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "c%d", i);
        assert_int_equal(admit(i % 2 ? other : g_store, "a@x", name, NOW + i, 5, 0, NULL),
                         CTL_STORE_CA_ADMITTED);
    }
    assert_int_equal(admit(other, "b@x", "c5", NOW + 10, 5, 0, &retry), CTL_STORE_CA_HOURLY_CAP);
    int64_t next_hour = (NOW / HOUR + 1) * HOUR;
    assert_int_equal(retry, next_hour);
    /* The refused order was not counted; the next hour has a fresh bucket. */
    char key[128];
    snprintf(key, sizeof key, "orders:%s:%lld", P, (long long)(NOW / HOUR));
    assert_string_equal(st_raw_str("GET %s", key), "5");
    long long ttl = st_raw_int("TTL %s", key);
    assert_true(ttl > 7000 && ttl <= 7200);
    assert_int_equal(admit(g_store, "a@x", "c6", next_hour, 5, 0, NULL), CTL_STORE_CA_ADMITTED);
    ctl_store_free(other);
}

static void test_concurrent_cap_frees_on_done_or_when_a_lease_ends(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t retry = 0;
    assert_int_equal(admit(g_store, "a@x", "one", NOW, 0, 2, NULL), CTL_STORE_CA_ADMITTED);
    assert_int_equal(admit(g_store, "a@x", "two", NOW + 1, 0, 2, NULL), CTL_STORE_CA_ADMITTED);
    assert_int_equal(admit(g_store, "a@x", "three", NOW + 2, 0, 2, &retry),
                     CTL_STORE_CA_CONCURRENT);
    assert_int_equal(retry, NOW + 60000); /* the earliest lease end */
    /* The same certificate again (a retried job) is not a second order in progress. */
    assert_int_equal(admit(g_store, "a@x", "two", NOW + 3, 0, 2, NULL), CTL_STORE_CA_ADMITTED);
    char woken[64];
    assert_int_equal(ctl_store_ca_order_done(g_store, P, "one", NOW + 3, woken, sizeof woken, &err),
                     0);
    assert_string_equal(woken, "three"); /* it waited for a slot */
    assert_int_equal(admit(g_store, "a@x", "three", NOW + 4, 0, 2, NULL), CTL_STORE_CA_ADMITTED);
    /* A controller that died holding "two" and "three": their leases end, the slots come back. */
    assert_int_equal(admit(g_store, "a@x", "four", NOW + 60005, 0, 2, NULL), CTL_STORE_CA_ADMITTED);
}

/* A freed slot goes to the certificate that waited longest, whose renewal becomes due at once
 * (never later than it was); one slot wakes one waiter; a waiter admitted leaves the queue. */
static void test_a_freed_slot_wakes_the_oldest_waiter(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char woken[64];
    assert_int_equal(admit(g_store, "a@x", "busy", NOW, 0, 1, NULL), CTL_STORE_CA_ADMITTED);
    assert_int_equal(admit(g_store, "a@x", "w1", NOW + 1, 0, 1, NULL), CTL_STORE_CA_CONCURRENT);
    assert_int_equal(admit(g_store, "a@x", "w2", NOW + 2, 0, 1, NULL), CTL_STORE_CA_CONCURRENT);
    assert_int_equal(admit(g_store, "a@x", "w1", NOW + 3, 0, 1, NULL), CTL_STORE_CA_CONCURRENT);
    /* Their deferrals, as the workers index them: w1 in a minute, w2 in ten seconds. */
    freeReplyObject(st_raw("ZADD certs:by_expiry %lld w1 %lld w2", (long long)(NOW / 1000 + 60),
                           (long long)(NOW / 1000 + 10)));
    assert_int_equal(
        ctl_store_ca_order_done(g_store, P, "busy", NOW + 5000, woken, sizeof woken, &err), 0);
    assert_string_equal(woken, "w1"); /* first in the queue, though asked again since */
    assert_int_equal(atoll(st_raw_str("ZSCORE certs:by_expiry %s", "w1")), NOW / 1000 + 5);
    assert_int_equal(atoll(st_raw_str("ZSCORE certs:by_expiry %s", "w2")),
                     NOW / 1000 + 10); /* untouched */
    assert_int_equal(admit(g_store, "a@x", "w1", NOW + 5001, 0, 1, NULL), CTL_STORE_CA_ADMITTED);
    assert_int_equal(
        ctl_store_ca_order_done(g_store, P, "w1", NOW + 20000, woken, sizeof woken, &err), 0);
    assert_string_equal(woken, "w2");
    assert_int_equal(atoll(st_raw_str("ZSCORE certs:by_expiry %s", "w2")),
                     NOW / 1000 + 10); /* never later */
    assert_int_equal(
        ctl_store_ca_order_done(g_store, P, "w2", NOW + 21000, woken, sizeof woken, &err), 0);
    assert_string_equal(woken, "");
    st_raw_int("DEL %s", "certs:by_expiry");
}

static void test_profiles_are_recorded_for_a_day(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char *got = NULL;
    assert_int_equal(ctl_store_ca_profiles_get(g_store, P, &got, &err), CP_ENOTFOUND);
    assert_null(got);
    assert_int_equal(ctl_store_ca_profiles_put(g_store, P, "classic shortlived", &err), 0);
    assert_int_equal(ctl_store_ca_profiles_get(g_store, P, &got, &err), 0);
    assert_string_equal(got, "classic shortlived");
    free(got);
    long long ttl = st_raw_int("TTL %s", "ca:profiles:" P);
    assert_true(ttl > 86000 && ttl <= 86400);
    assert_int_equal(ctl_store_ca_profiles_put(g_store, P, "", &err), 0);
    assert_int_equal(ctl_store_ca_profiles_get(g_store, P, &got, &err), 0);
    assert_string_equal(got, "");
    free(got);
}

static void test_bad_arguments_are_refused(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t until = 0;
    assert_int_equal(ctl_store_ca_ratelimit_set(g_store, "", "a@x", 5, &err), CP_EINVAL);
    assert_int_equal(ctl_store_ca_ratelimit_set(g_store, P, "a@x", 0, &err), CP_EINVAL);
    assert_int_equal(ctl_store_ca_ratelimit_get(g_store, P, "", 0, &until, &err), CP_EINVAL);
    char woken[8];
    assert_int_equal(ctl_store_ca_order_done(g_store, P, "", 0, woken, sizeof woken, &err),
                     CP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_rate_limit_holds_the_whole_account_until_its_time),
        T(test_rate_limit_is_seen_by_every_controller),
        T(test_hourly_cap_counts_across_controllers_in_fixed_hours),
        T(test_concurrent_cap_frees_on_done_or_when_a_lease_ends),
        T(test_a_freed_slot_wakes_the_oldest_waiter),
        T(test_profiles_are_recorded_for_a_day),
        T(test_bad_arguments_are_refused),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
