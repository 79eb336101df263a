/* SPDX-License-Identifier: Apache-2.0 */
/* test_renew.c - unit tests of the renewal policy (controller/renew.h) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "controller/work/renew.h"

#define S 1000LL
#define MIN (60 * S)
#define DAY (86400 * S)
#define T0 (1700000000LL * S)

static void test_lead_is_one_third_for_90_days(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 90 * DAY, 0), 30 * DAY);
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 30 * DAY, 0), 10 * DAY);
    /* Exactly 10 days is not "under 10 days". */
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 10 * DAY, 0), 10 * DAY / 3);
}

static void test_lead_is_one_half_under_10_days(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 6 * DAY, 0), 3 * DAY);
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 10 * DAY - 1, 0), (10 * DAY - 1) / 2);
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 60 * S, 0), 30 * S);
}

static void test_lead_renew_before_overrides(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 90 * DAY, 7 * DAY), 7 * DAY);
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 6 * DAY, 1 * DAY), 1 * DAY);
    assert_int_equal(ctl_renew_lead_ms(T0, T0 + 60 * S, 0), 30 * S);
}

static void test_lead_empty_lifetime_is_zero(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_lead_ms(T0, T0, 0), 0);
    assert_int_equal(ctl_renew_lead_ms(T0, T0 - DAY, 5 * DAY), 0);
}

static void test_spread_is_a_tenth_of_the_lead(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_spread_ms(30 * DAY), 3 * DAY);
    assert_int_equal(ctl_renew_spread_ms(30 * S), 3 * S);
    assert_int_equal(ctl_renew_spread_ms(0), 0);
    assert_int_equal(ctl_renew_spread_ms(-5), 0);
}

static void test_jitter_stays_within_spread(void **state)
{
    (void)state;
    const char *names[] = {"a", "example", "www.example.com", "x9", NULL};
    for (size_t i = 0; i < 5; i++)
        for (uint64_t r = 0; r < 5000; r++) {
            uint64_t rnd = r * 0x9e3779b97f4a7c15ULL;
            int64_t j = ctl_renew_jitter_ms(names[i], 3 * DAY, rnd);
            assert_true(j >= 0 && j < 3 * DAY);
            j = ctl_renew_jitter_ms(names[i], 3 * S, rnd);
            assert_true(j >= 0 && j < 3 * S);
        }
    assert_int_equal(ctl_renew_jitter_ms("a", 0, 12345), 0);
    assert_int_equal(ctl_renew_jitter_ms("a", 1, 12345), 0);
    assert_int_equal(ctl_renew_jitter_ms(NULL, 100, 7), 7);
}

static void test_jitter_fixed_part_depends_on_name_only(void **state)
{
    (void)state;
    /* Same name, same random draw: same jitter (controllers agree). */
    assert_int_equal(ctl_renew_jitter_ms("www.example.com", DAY, 42),
                     ctl_renew_jitter_ms("www.example.com", DAY, 42));
    /* With the random part pinned to 0, names spread over the fixed half-window. */
    int distinct = 0;
    int64_t prev = -1;
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "cert-%d", i);
        int64_t j = ctl_renew_jitter_ms(name, DAY, 0);
        assert_true(j >= 0 && j < DAY / 2);
        if (j != prev)
            distinct++;
        prev = j;
    }
    assert_true(distinct > 90);
}

static void test_jitter_random_part_is_bounded_by_half(void **state)
{
    (void)state;
    int64_t fixed = ctl_renew_jitter_ms("n", DAY, 0);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint64_t r = 0; r < 20000; r++) {
        int64_t j = ctl_renew_jitter_ms("n", DAY, r * 0x2545f4914f6cdd1dULL);
        lo = j < lo ? j : lo;
        hi = j > hi ? j : hi;
    }
    assert_true(lo >= fixed);
    assert_true(hi < fixed + DAY / 2);
    /* The random part really varies: it covers most of its half-window. */
    assert_true(hi - lo > DAY / 2 * 9 / 10);
}

static void test_renew_at_90_days_is_about_30_days_before_expiry(void **state)
{
    (void)state;
    for (uint64_t r = 0; r < 1000; r++) {
        int64_t at = ctl_renew_at_ms("www.example.com", T0, T0 + 90 * DAY, 0, r * 7919);
        assert_true(at <= T0 + 60 * DAY);
        assert_true(at > T0 + 57 * DAY);
    }
}

static void test_renew_at_6_days_is_about_half(void **state)
{
    (void)state;
    for (uint64_t r = 0; r < 1000; r++) {
        int64_t at = ctl_renew_at_ms("short", T0, T0 + 6 * DAY, 0, r * 104729);
        assert_true(at <= T0 + 3 * DAY);
        assert_true(at > T0 + 3 * DAY - 3 * DAY / 10);
    }
}

static void test_renew_at_60_seconds_is_about_half(void **state)
{
    (void)state;
    for (uint64_t r = 0; r < 1000; r++) {
        int64_t at = ctl_renew_at_ms("t", T0, T0 + 60 * S, 0, r);
        assert_true(at <= T0 + 30 * S && at > T0 + 27 * S);
    }
}

static void test_renew_at_with_renew_before(void **state)
{
    (void)state;
    int64_t at = ctl_renew_at_ms("x", T0, T0 + 90 * DAY, 7 * DAY, 0);
    assert_true(at <= T0 + 83 * DAY && at > T0 + 83 * DAY - 7 * DAY / 10);
}

static void test_floor_is_a_tenth_and_at_least_a_minute(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_floor_ms(T0, T0 + 90 * DAY), 9 * DAY);
    assert_int_equal(ctl_renew_floor_ms(T0, T0 + 160 * 3600 * S), 16 * 3600 * S);
    assert_int_equal(ctl_renew_floor_ms(T0, T0 + 120 * S), 40 * S); /* a third under 3 minutes */
    assert_int_equal(ctl_renew_floor_ms(T0, T0 + 3 * MIN), MIN);
    assert_int_equal(ctl_renew_floor_ms(T0, T0 + 5 * MIN), MIN);
    assert_int_equal(ctl_renew_floor_ms(T0, T0 + 60 * S), 20 * S);
    assert_int_equal(ctl_renew_floor_ms(T0, T0), 0);
    assert_int_equal(ctl_renew_floor_ms(T0, T0 - DAY), 0);
}

/* Issue #12: --renew-before 115s on 120-second certificates renewed each one at issuance, in a
 * loop. Whatever --renew-before says, the renewal waits at least the floor after not_before. */
static void test_renew_before_past_the_lifetime_is_held_at_the_floor(void **state)
{
    (void)state;
    for (uint64_t r = 0; r < 1000; r++) {
        uint64_t rnd = r * 0x9e3779b97f4a7c15ULL;
        assert_int_equal(ctl_renew_at_ms("x", T0, T0 + 120 * S, 115 * S, rnd), T0 + 40 * S);
        assert_int_equal(ctl_renew_at_ms("x", T0, T0 + 6 * DAY, 30 * DAY, rnd), T0 + 6 * DAY / 10);
        assert_int_equal(ctl_renew_at_ms("x", T0, T0 + 6 * DAY, 6 * DAY, rnd), T0 + 6 * DAY / 10);
        assert_true(ctl_renew_at_ms("y", T0, T0 + 10 * S, 10 * S - 1, rnd) >= T0 + 10 * S / 3);
    }
}

/* The floor never moves the default policy (half or a third of the lifetime), only flags that ask
 * for more than about 90 % of it. */
static void test_floor_never_moves_the_default_policy(void **state)
{
    (void)state;
    int64_t lifetimes[] = {60 * S, 120 * S, 10 * MIN, DAY, 6 * DAY, 47 * DAY, 90 * DAY};
    for (size_t i = 0; i < sizeof(lifetimes) / sizeof(lifetimes[0]); i++)
        for (uint64_t r = 0; r < 200; r++) {
            uint64_t rnd = r * 0x2545f4914f6cdd1dULL;
            int64_t at = ctl_renew_at_ms("n", T0, T0 + lifetimes[i], 0, rnd);
            int64_t lead = ctl_renew_lead_ms(T0, T0 + lifetimes[i], 0);
            assert_true(at > T0 + ctl_renew_floor_ms(T0, T0 + lifetimes[i]));
            assert_true(at <= T0 + lifetimes[i] - lead);
        }
}

static void test_renew_before_too_long(void **state)
{
    (void)state;
    assert_true(ctl_renew_before_too_long(T0, T0 + 120 * S, 120 * S));
    assert_true(ctl_renew_before_too_long(T0, T0 + 120 * S, 200 * S));
    assert_false(ctl_renew_before_too_long(T0, T0 + 120 * S, 115 * S));
    assert_false(ctl_renew_before_too_long(T0, T0, DAY));
}

static void test_renew_at_never_past_expiry(void **state)
{
    (void)state;
    int64_t lifetimes[] = {1, 2, 3, 10, 999, 60 * S, DAY, 10 * DAY, 90 * DAY, 397 * DAY};
    int64_t befores[] = {0, 1, 5 * S, DAY, 100 * DAY};
    for (size_t i = 0; i < sizeof(lifetimes) / sizeof(lifetimes[0]); i++)
        for (size_t b = 0; b < sizeof(befores) / sizeof(befores[0]); b++)
            for (uint64_t r = 0; r < 200; r++) {
                uint64_t rnd = r * 0x9e3779b97f4a7c15ULL;
                int64_t at = ctl_renew_at_ms("n", T0, T0 + lifetimes[i], befores[b], rnd);
                assert_true(at >= T0);
                assert_true(at <= T0 + lifetimes[i]);
                if (lifetimes[i] > 1)
                    assert_true(at < T0 + lifetimes[i]);
            }
}

static void test_renew_at_empty_lifetime_is_not_before(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_at_ms("x", T0, T0, 0, 99), T0);
    assert_int_equal(ctl_renew_at_ms("x", T0, T0 - DAY, 0, 99), T0);
}

static void test_renew_at_is_deterministic(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_at_ms("a", T0, T0 + 90 * DAY, 0, 5),
                     ctl_renew_at_ms("a", T0, T0 + 90 * DAY, 0, 5));
    assert_int_not_equal(ctl_renew_at_ms("a", T0, T0 + 90 * DAY, 0, 5),
                         ctl_renew_at_ms("a", T0, T0 + 90 * DAY, 0, 5 + DAY / 4));
}

static void test_pick_uses_the_suggested_window(void **state)
{
    (void)state;
    ctl_renew_window_t w = {T0 + 50 * DAY, T0 + 52 * DAY};
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (uint64_t r = 0; r < 10000; r++) {
        int64_t at = ctl_renew_pick_ms(&w, "a", T0, T0 + 90 * DAY, 0, r * 0x9e3779b97f4a7c15ULL);
        assert_true(at >= w.start_ms && at <= w.end_ms);
        lo = at < lo ? at : lo;
        hi = at > hi ? at : hi;
    }
    /* A random moment inside, not one end: the draws cover most of the window. */
    assert_true(hi - lo > 2 * DAY * 9 / 10);
}

static void test_pick_single_point_window(void **state)
{
    (void)state;
    ctl_renew_window_t w = {T0 + DAY, T0 + DAY};
    assert_int_equal(ctl_renew_pick_ms(&w, "a", T0, T0 + 90 * DAY, 0, 123456), T0 + DAY);
}

static void test_pick_past_window_is_returned_as_is(void **state)
{
    (void)state;
    ctl_renew_window_t w = {T0 - 2 * DAY, T0 - DAY};
    int64_t at = ctl_renew_pick_ms(&w, "a", T0, T0 + 90 * DAY, 0, 77);
    assert_true(at >= T0 - 2 * DAY && at <= T0 - DAY);
}

static void test_pick_without_window_is_the_policy(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_pick_ms(NULL, "a", T0, T0 + 90 * DAY, 0, 9),
                     ctl_renew_at_ms("a", T0, T0 + 90 * DAY, 0, 9));
    ctl_renew_window_t bad = {T0 + 2 * DAY, T0 + DAY};
    assert_int_equal(ctl_renew_pick_ms(&bad, "a", T0, T0 + 90 * DAY, 0, 9),
                     ctl_renew_at_ms("a", T0, T0 + 90 * DAY, 0, 9));
}

static void test_pick_full_range_window(void **state)
{
    (void)state;
    ctl_renew_window_t w = {INT64_MIN / 2, INT64_MAX / 2};
    int64_t at = ctl_renew_pick_ms(&w, NULL, 0, 1, 0, UINT64_MAX);
    assert_true(at >= w.start_ms && at <= w.end_ms);
}

/* Polling the same window keeps the renewal time; a moved window (or a choice outside it) draws a
 * new uniformly random moment inside the new one, spread over it. */
static void test_ari_at_keeps_choice_until_the_window_moves(void **state)
{
    (void)state;
    ctl_renew_window_t w = {T0 + 60 * DAY, T0 + 62 * DAY};
    assert_int_equal(ctl_renew_ari_at_ms(&w, &w, T0 + 61 * DAY, 5), T0 + 61 * DAY);
    ctl_renew_window_t moved = {T0, T0 + DAY};
    int buckets[4] = {0};
    for (uint64_t r = 0; r < 4000; r++) {
        int64_t at = ctl_renew_ari_at_ms(&moved, &w, T0 + 61 * DAY, r * 0x9e3779b97f4a7c15ULL);
        assert_true(at >= moved.start_ms && at <= moved.end_ms);
        buckets[(at - moved.start_ms) * 4 / (DAY + 1)]++;
    }
    for (int i = 0; i < 4; i++)
        assert_true(buckets[i] > 800 && buckets[i] < 1200);
    /* No previous window, or a previous choice outside the window: a fresh pick inside it. */
    assert_in_range(ctl_renew_ari_at_ms(&w, NULL, 0, 3), w.start_ms, w.end_ms);
    assert_in_range(ctl_renew_ari_at_ms(&w, &w, T0, 3), w.start_ms, w.end_ms);
    /* A window that already ended gives a time in the past: renew at once. */
    ctl_renew_window_t past = {T0 - 2 * DAY, T0 - DAY};
    assert_true(ctl_renew_ari_at_ms(&past, NULL, 0, 99) <= T0 - DAY);
}

static void test_ari_poll_is_retry_after_clamped(void **state)
{
    (void)state;
    const int64_t H = 3600 * S;
    assert_int_equal(ctl_renew_ari_poll_ms(6 * 3600, 0, 0), 6 * H);
    assert_int_equal(ctl_renew_ari_poll_ms(60, 0, 0), H);
    assert_int_equal(ctl_renew_ari_poll_ms(86400 * 3, 0, 0), 12 * H);
    assert_int_equal(ctl_renew_ari_poll_ms(-1, 0, 0), 12 * H);
    assert_int_equal(ctl_renew_ari_poll_ms(0x7fffffffL, 0, 0), 12 * H);
    /* Test bounds (--ari-poll-min/--ari-poll-max). */
    assert_int_equal(ctl_renew_ari_poll_ms(2, 1 * S, 10 * S), 2 * S);
    assert_int_equal(ctl_renew_ari_poll_ms(0, 1 * S, 10 * S), 1 * S);
    assert_int_equal(ctl_renew_ari_poll_ms(-1, 1 * S, 10 * S), 10 * S);
}

static void test_backoff_steps(void **state)
{
    (void)state;
    assert_int_equal(ctl_renew_backoff_ms(-1), 0);
    assert_int_equal(ctl_renew_backoff_ms(0), 0);
    assert_int_equal(ctl_renew_backoff_ms(1), 1 * MIN);
    assert_int_equal(ctl_renew_backoff_ms(2), 10 * MIN);
    assert_int_equal(ctl_renew_backoff_ms(3), 100 * MIN);
    assert_int_equal(ctl_renew_backoff_ms(4), DAY);
    assert_int_equal(ctl_renew_backoff_ms(5), DAY);
    assert_int_equal(ctl_renew_backoff_ms(1000000), DAY);
    assert_int_equal(ctl_renew_backoff_ms(INT64_MAX), DAY);
}

static void test_retry_at_follows_the_schedule_with_bounded_jitter(void **state)
{
    (void)state;
    int64_t steps[] = {1 * MIN, 10 * MIN, 100 * MIN, DAY, DAY};
    for (int64_t n = 1; n <= 5; n++) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (uint64_t r = 0; r < 2000; r++) {
            int64_t at = ctl_renew_retry_at_ms(T0, n, 0, r * 0x9e3779b97f4a7c15ULL);
            assert_true(at >= T0 + steps[n - 1]);
            assert_true(at < T0 + steps[n - 1] + steps[n - 1] / 20);
            lo = at < lo ? at : lo;
            hi = at > hi ? at : hi;
        }
        assert_true(hi - lo > steps[n - 1] / 40); /* it does spread */
    }
    assert_int_equal(ctl_renew_retry_at_ms(T0, 0, 0, 12345), T0);
    /* The back-off is at most a tenth of the lifetime: 160-hour certificates retry every 16 h at
     * the most (not daily), 90-day ones keep the daily step; never under a minute. */
    const int64_t H = 3600LL * 1000;
    int64_t at = ctl_renew_retry_at_ms(T0, 6, 160 * H, 0);
    assert_int_equal(at, T0 + 16 * H);
    assert_int_equal(ctl_renew_retry_at_ms(T0, 6, 90 * 24 * H, 0), T0 + 24 * H);
    assert_int_equal(ctl_renew_retry_at_ms(T0, 3, 5 * 60 * 1000, 0), T0 + 60 * 1000);
    assert_int_equal(ctl_renew_retry_at_ms(T0, 1, 160 * H, 0), T0 + 60 * 1000);
}

static void test_random_varies(void **state)
{
    (void)state;
    uint64_t a = ctl_renew_random(), b = ctl_renew_random(), c = ctl_renew_random();
    assert_false(a == b && b == c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lead_is_one_third_for_90_days),
        cmocka_unit_test(test_lead_is_one_half_under_10_days),
        cmocka_unit_test(test_lead_renew_before_overrides),
        cmocka_unit_test(test_lead_empty_lifetime_is_zero),
        cmocka_unit_test(test_spread_is_a_tenth_of_the_lead),
        cmocka_unit_test(test_jitter_stays_within_spread),
        cmocka_unit_test(test_jitter_fixed_part_depends_on_name_only),
        cmocka_unit_test(test_jitter_random_part_is_bounded_by_half),
        cmocka_unit_test(test_renew_at_90_days_is_about_30_days_before_expiry),
        cmocka_unit_test(test_renew_at_6_days_is_about_half),
        cmocka_unit_test(test_renew_at_60_seconds_is_about_half),
        cmocka_unit_test(test_renew_at_with_renew_before),
        cmocka_unit_test(test_floor_is_a_tenth_and_at_least_a_minute),
        cmocka_unit_test(test_renew_before_past_the_lifetime_is_held_at_the_floor),
        cmocka_unit_test(test_floor_never_moves_the_default_policy),
        cmocka_unit_test(test_renew_before_too_long),
        cmocka_unit_test(test_renew_at_never_past_expiry),
        cmocka_unit_test(test_renew_at_empty_lifetime_is_not_before),
        cmocka_unit_test(test_renew_at_is_deterministic),
        cmocka_unit_test(test_pick_uses_the_suggested_window),
        cmocka_unit_test(test_pick_single_point_window),
        cmocka_unit_test(test_pick_past_window_is_returned_as_is),
        cmocka_unit_test(test_pick_without_window_is_the_policy),
        cmocka_unit_test(test_pick_full_range_window),
        cmocka_unit_test(test_ari_at_keeps_choice_until_the_window_moves),
        cmocka_unit_test(test_ari_poll_is_retry_after_clamped),
        cmocka_unit_test(test_backoff_steps),
        cmocka_unit_test(test_retry_at_follows_the_schedule_with_bounded_jitter),
        cmocka_unit_test(test_random_varies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
