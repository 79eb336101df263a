/* SPDX-License-Identifier: Apache-2.0 */
/* test_clock.c - unit tests of the clocks, RFC 3339 text and Timestamp <-> ms */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "shared/clock.h"

static void test_wall_clock_is_unix_ms_and_monotonic_advances(void **state)
{
    (void)state;
    int64_t wall = cp_clock_wall_ms();
    assert_true(wall > INT64_C(1600000000000)); /* after 2020 */
    assert_true((int64_t)time(NULL) - wall / 1000 <= 1);
    int64_t m0 = cp_clock_mono_ms();
    struct timespec nap = {0, 20 * 1000000};
    nanosleep(&nap, NULL);
    int64_t m1 = cp_clock_mono_ms();
    assert_true(m1 - m0 >= 19 && m1 - m0 < 5000);
    assert_true(cp_clock_mono_ns() / 1000000 >= m1);
}

static void test_after_adds_milliseconds_with_carry(void **state)
{
    (void)state;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct timespec t = cp_clock_after(CLOCK_MONOTONIC, 1999);
    int64_t d = ((int64_t)t.tv_sec - now.tv_sec) * 1000 + (t.tv_nsec - now.tv_nsec) / 1000000;
    assert_true(d >= 1998 && d <= 2100);
    assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000);
}

static void test_rfc3339_format_uses_3_6_or_9_fraction_digits(void **state)
{
    (void)state;
    char buf[CP_CLOCK_RFC3339_MAX];
    assert_int_equal(cp_clock_rfc3339_format(1700000000, 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "2023-11-14T22:13:20Z");
    assert_int_equal(cp_clock_rfc3339_format(1700000000, 500000000, buf, sizeof buf), 0);
    assert_string_equal(buf, "2023-11-14T22:13:20.500Z");
    assert_int_equal(cp_clock_rfc3339_format(0, 1000, buf, sizeof buf), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00.000001Z");
    assert_int_equal(cp_clock_rfc3339_format(-1, 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "1969-12-31T23:59:59.000000001Z");
    assert_int_equal(cp_clock_rfc3339_format(INT64_C(-62135596800), 0, buf, sizeof buf), 0);
    assert_string_equal(buf, "0001-01-01T00:00:00Z");
}

static void test_rfc3339_format_rejects_out_of_range(void **state)
{
    (void)state;
    char buf[CP_CLOCK_RFC3339_MAX];
    assert_int_equal(cp_clock_rfc3339_format(INT64_C(-62135596801), 0, buf, sizeof buf), -1);
    assert_int_equal(cp_clock_rfc3339_format(INT64_C(253402300800), 0, buf, sizeof buf), -1);
    assert_int_equal(cp_clock_rfc3339_format(0, -1, buf, sizeof buf), -1);
    assert_int_equal(cp_clock_rfc3339_format(0, 1000000000, buf, sizeof buf), -1);
    assert_int_equal(cp_clock_rfc3339_format(0, 0, buf, 10), -1);
}

static int parse(const char *s, int64_t *sec, int32_t *ns)
{
    return cp_clock_rfc3339_parse(s, strlen(s), sec, ns);
}

static void test_rfc3339_parse_accepts_offsets_and_fractions(void **state)
{
    (void)state;
    int64_t sec = 0;
    int32_t ns = 0;
    assert_int_equal(parse("2023-11-14T22:13:20Z", &sec, &ns), 0);
    assert_true(sec == 1700000000 && ns == 0);
    assert_int_equal(parse("2023-11-14t23:13:20.5+01:00", &sec, &ns), 0);
    assert_true(sec == 1700000000 && ns == 500000000);
    assert_int_equal(parse("1969-12-31T23:59:59.999999999z", &sec, &ns), 0);
    assert_true(sec == -1 && ns == 999999999);
    assert_int_equal(parse("2024-02-29T00:00:00Z", &sec, &ns), 0);
}

static void test_rfc3339_parse_rejects_malformed_text(void **state)
{
    (void)state;
    static const char *bad[] = {"",
                                "2023-11-14",
                                "2023-11-14 22:13:20Z",
                                "2023-11-14T22:13:20",
                                "2023-02-29T00:00:00Z",
                                "2023-13-01T00:00:00Z",
                                "2023-11-14T24:00:00Z",
                                "2023-11-14T22:13:20.Z",
                                "2023-11-14T22:13:20.1234567890Z",
                                "2023-11-14T22:13:20+0100",
                                "0000-12-31T00:00:00Z",
                                "2023-11-14T22:13:20Zjunk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t sec = 42;
        int32_t ns = 42;
        assert_int_equal(parse(bad[i], &sec, &ns), -1);
        assert_true(sec == 42 && ns == 42);
    }
}

static void test_timestamp_from_negative_ms_floors(void **state)
{
    (void)state;
    Google__Protobuf__Timestamp ts;
    cp_clock_ts_set(&ts, -1);
    assert_true(ts.seconds == -1 && ts.nanos == 999000000);
    cp_clock_ts_set(&ts, -1000);
    assert_true(ts.seconds == -1 && ts.nanos == 0);
    cp_clock_ts_set(&ts, 1700000000123);
    assert_true(ts.seconds == 1700000000 && ts.nanos == 123000000);
}

static void test_timestamp_to_ms_round_trips_and_handles_null(void **state)
{
    (void)state;
    static const int64_t values[] = {0, 1, -1, 999, -999, -1001, 1700000000123, -62135596800000};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        Google__Protobuf__Timestamp *ts = cp_clock_ts_new(values[i]);
        assert_true(ts->nanos >= 0 && ts->nanos < 1000000000);
        assert_int_equal(cp_clock_ts_ms(ts, 0), values[i]);
        free(ts);
    }
    assert_int_equal(cp_clock_ts_ms(NULL, -7), -7);
    Google__Protobuf__Timestamp sub = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    sub.seconds = -1;
    sub.nanos = 999999999; /* -0.000000001 s: floors to -1 ms, not 0 */
    assert_int_equal(cp_clock_ts_ms(&sub, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wall_clock_is_unix_ms_and_monotonic_advances),
        cmocka_unit_test(test_after_adds_milliseconds_with_carry),
        cmocka_unit_test(test_rfc3339_format_uses_3_6_or_9_fraction_digits),
        cmocka_unit_test(test_rfc3339_format_rejects_out_of_range),
        cmocka_unit_test(test_rfc3339_parse_accepts_offsets_and_fractions),
        cmocka_unit_test(test_rfc3339_parse_rejects_malformed_text),
        cmocka_unit_test(test_timestamp_from_negative_ms_floors),
        cmocka_unit_test(test_timestamp_to_ms_round_trips_and_handles_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
