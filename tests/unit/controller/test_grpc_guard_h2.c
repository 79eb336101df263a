/* SPDX-License-Identifier: Apache-2.0 */
/* test_grpc_guard_h2.c - the gRPC guard's HTTP/2 frame accounting: frame headers split across
 * reads, the reset budget (count, window, completed calls), the open-stream cap, frame boundaries
 * of the server's bytes and the GOAWAY frame */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "controller/grpc/grpc_guard_h2.h"

static const ctl_h2_limits_t LIM = {.max_resets = 100, .window_ms = 10000, .max_open = 1000};

/* Appends a frame header (and `len` zero payload bytes) to p; returns its size. */
static size_t put_frame(uint8_t *p, uint8_t type, uint8_t flags, uint32_t sid, uint32_t len)
{
    uint8_t h[9] = {
        (uint8_t)(len >> 16), (uint8_t)(len >> 8),  (uint8_t)len,        type,        flags,
        (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid};
    memcpy(p, h, 9);
    memset(p + 9, 0, len);
    return 9 + len;
}

/* The preface, then `pairs` HEADERS(20 bytes of block)+RST_STREAM pairs from stream id `sid`. */
static size_t flood(uint8_t *p, uint32_t sid, int pairs, int preface)
{
    size_t n = 0;
    if (preface) {
        memcpy(p, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
        n = 24;
    }
    for (int i = 0; i < pairs; i++, sid += 2) {
        n += put_frame(p + n, 1, 4, sid, 20);
        n += put_frame(p + n, 3, 0, sid, 4);
    }
    return n;
}

static uint8_t buf[200 * 1024];

static void test_resets_over_budget_are_abusive_even_byte_by_byte(void **state)
{
    (void)state;
    ctl_h2_acct_t a;
    ctl_h2_acct_init(&a, 0);
    size_t n = flood(buf, 1, 100, 1);
    for (size_t i = 0; i < n; i++) /* one byte at a time: headers split everywhere */
        assert_int_equal(ctl_h2_acct_client(&a, buf + i, 1, 5, &LIM), 0);
    assert_int_equal(a.opened, 100);
    assert_int_equal(a.resets, 100);
    n = flood(buf, 201, 1, 0);
    assert_int_equal(ctl_h2_acct_client(&a, buf, n, 5, &LIM), 1); /* the 101st reset */
    assert_int_equal(a.last_client_sid, 201);
}

static void test_completed_calls_and_a_new_window_keep_a_client_in_budget(void **state)
{
    (void)state;
    ctl_h2_acct_t a;
    ctl_h2_acct_init(&a, 0);
    size_t n = flood(buf, 1, 150, 1);
    uint8_t out[150 * 9];
    size_t m = 0;
    for (uint32_t sid = 1; sid < 300; sid += 2)
        m += put_frame(out + m, 1, 5, sid, 0); /* trailers: HEADERS END_STREAM|END_HEADERS */
    assert_int_equal(ctl_h2_acct_server(&a, out, m), 0);
    assert_int_equal(a.completed, 150);
    assert_int_equal(ctl_h2_acct_client(&a, buf, n, 5, &LIM), 0); /* 150 resets, 150 calls done */
    /* A later window starts from zero: 100 more resets are fine again, one more is not. */
    n = flood(buf, 301, 100, 0);
    assert_int_equal(ctl_h2_acct_client(&a, buf, n, 20000, &LIM), 0);
    n = flood(buf, 501, 1, 0);
    assert_int_equal(ctl_h2_acct_client(&a, buf, n, 20001, &LIM), 1);
}

static void test_too_many_open_streams_are_abusive(void **state)
{
    (void)state;
    ctl_h2_acct_t a;
    ctl_h2_acct_init(&a, 0);
    memcpy(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    size_t n = 24;
    for (uint32_t i = 0; i < 1000; i++)
        n += put_frame(buf + n, 1, 4, 1 + 2 * i, 10);
    assert_int_equal(ctl_h2_acct_client(&a, buf, n, 0, &LIM), 0);
    n = put_frame(buf, 0, 1, 1999, 5); /* DATA on an open stream: no new stream */
    assert_int_equal(ctl_h2_acct_client(&a, buf, n, 0, &LIM), 0);
    n = put_frame(buf, 1, 4, 2001, 10);
    assert_int_equal(ctl_h2_acct_client(&a, buf, n, 0, &LIM), 1);
}

static void test_server_bytes_report_the_partial_frame(void **state)
{
    (void)state;
    ctl_h2_acct_t a;
    ctl_h2_acct_init(&a, 0);
    size_t n = put_frame(buf, 4, 0, 0, 6); /* SETTINGS, 15 bytes */
    n += put_frame(buf + n, 0, 0, 1, 100);
    assert_int_equal(ctl_h2_acct_server(&a, buf, 15), 0);
    assert_int_equal(ctl_h2_acct_server(&a, buf + 15, 5), 5);      /* inside a frame header */
    assert_int_equal(ctl_h2_acct_server(&a, buf + 20, 50), 55);    /* inside its payload */
    assert_int_equal(ctl_h2_acct_server(&a, buf + 70, n - 70), 0); /* at the end of it */
    assert_int_equal(a.completed, 0);                              /* DATA without END_STREAM */
}

static void test_goaway_frame(void **state)
{
    (void)state;
    uint8_t g[17];
    ctl_h2_goaway(g, 0x80000201u, CTL_H2_ENHANCE_YOUR_CALM);
    const uint8_t want[17] = {0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 11};
    assert_memory_equal(g, want, 17);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resets_over_budget_are_abusive_even_byte_by_byte),
        cmocka_unit_test(test_completed_calls_and_a_new_window_keep_a_client_in_budget),
        cmocka_unit_test(test_too_many_open_streams_are_abusive),
        cmocka_unit_test(test_server_bytes_report_the_partial_frame),
        cmocka_unit_test(test_goaway_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
