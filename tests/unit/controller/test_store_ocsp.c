/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_ocsp.c - OCSP stapling (issue 14) in Redis: every certificate write makes its OCSP
 * state due at once; one claim wins (one fetch for all controllers); a response is stored with an
 * OCSP_RESPONSE event, an older one for the same leaf never over a newer one; a write whose claim
 * was overtaken by a certificate change leaves the schedule due; a delete removes both keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controller/store/store_cert.h"
#include "controller/store/store_ocsp.h"
#include "tests/unit/controller/store_fixture.h"

#define LEAF_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static long long due_of(const char *name)
{
    const char *s = st_raw_str("ZSCORE ocsp:due %s", name);
    return strcmp(s, "(nil)") != 0 ? atoll(s) : -1;
}

static ctl_store_ocsp_t response(const char *der, int64_t this_ms, int64_t next_ms)
{
    ctl_store_ocsp_t o = {.der = (unsigned char *)der, .der_len = strlen(der)};
    memcpy(o.leaf, LEAF_A, sizeof o.leaf);
    o.this_update_ms = this_ms;
    o.next_update_ms = next_ms;
    return o;
}

static void test_a_write_makes_it_due_and_one_claim_wins(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0;
    int won = 0;
    assert_int_equal(st_put("c", "{\"domains\":[\"c.example\"]}", CTL_STORE_CREATE, 0, &rev, &err),
                     0);
    assert_int_equal(due_of("c"), 0);
    assert_int_equal(ctl_store_ocsp_claim(g_store, "c", 1000, 61000, &won, &err), 0);
    assert_int_equal(won, 1);
    assert_int_equal(due_of("c"), 61000);
    /* A second controller (or a second look) does not get it while the claim holds. */
    assert_int_equal(ctl_store_ocsp_claim(g_store, "c", 2000, 62000, &won, &err), 0);
    assert_int_equal(won, 0);
    /* The claim lapses: another may take it. */
    assert_int_equal(ctl_store_ocsp_claim(g_store, "c", 61000, 121000, &won, &err), 0);
    assert_int_equal(won, 1);
    assert_int_equal(ctl_store_ocsp_claim(g_store, "nope", 1000, 61000, &won, &err), 0);
    assert_int_equal(won, 0);
}

static void test_store_keeps_the_newer_and_streams_an_event(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0, erev = 0;
    int won = 0, stored = 0;
    assert_int_equal(st_put("d", "{\"domains\":[\"d.example\"]}", CTL_STORE_CREATE, 0, &rev, &err),
                     0);
    assert_int_equal(ctl_store_ocsp_claim(g_store, "d", 1000, 61000, &won, &err), 0);
    ctl_store_ocsp_t a = response("resp-2000", 2000, 9000);
    assert_int_equal(ctl_store_ocsp_put(g_store, "d", &a, 5500, 61000, &stored, &erev, &err), 0);
    assert_int_equal(stored, 1);
    assert_true(erev > rev);
    assert_int_equal(due_of("d"), 5500);
    redisReply *r = st_raw("XREVRANGE events + - COUNT 1");
    assert_int_equal(r->elements, 1);
    redisReply *f = r->element[0]->element[1]; /* type OCSP_RESPONSE name d */
    assert_string_equal(f->element[1]->str, "OCSP_RESPONSE");
    assert_string_equal(f->element[3]->str, "d");
    freeReplyObject(r);
    /* An older response for the same leaf never replaces it. */
    ctl_store_ocsp_t old = response("resp-1000", 1000, 8000);
    assert_int_equal(ctl_store_ocsp_put(g_store, "d", &old, 4500, 5500, &stored, &erev, &err), 0);
    assert_int_equal(stored, 0);
    ctl_store_ocsp_t got;
    assert_int_equal(ctl_store_ocsp_get(g_store, "d", &got, &err), 0);
    assert_int_equal(got.der_len, 9);
    assert_memory_equal(got.der, "resp-2000", 9);
    assert_string_equal(got.leaf, LEAF_A);
    assert_int_equal(got.this_update_ms, 2000);
    assert_int_equal(got.next_update_ms, 9000);
    ctl_store_ocsp_dispose(&got);
    /* A failure records its count, keeps the response and reschedules. */
    assert_int_equal(ctl_store_ocsp_reschedule(g_store, "d", 7000, 4500, 3, &err), 0);
    assert_int_equal(due_of("d"), 7000);
    assert_int_equal(ctl_store_ocsp_get(g_store, "d", &got, &err), 0);
    assert_int_equal(got.fails, 3);
    assert_memory_equal(got.der, "resp-2000", 9);
    ctl_store_ocsp_dispose(&got);
}

static void test_a_change_during_a_fetch_stays_due_and_delete_clears(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0, erev = 0;
    int won = 0, stored = 0;
    assert_int_equal(st_put("e", "{\"domains\":[\"e.example\"]}", CTL_STORE_CREATE, 0, &rev, &err),
                     0);
    assert_int_equal(ctl_store_ocsp_claim(g_store, "e", 1000, 61000, &won, &err), 0);
    /* Renewed meanwhile: the write sets it due again; the finished fetch must not hide that. */
    assert_int_equal(
        st_put("e", "{\"domains\":[\"e.example\"],\"x\":1}", CTL_STORE_ANY, 0, &rev, &err), 0);
    ctl_store_ocsp_t a = response("resp-e", 2000, 9000);
    assert_int_equal(ctl_store_ocsp_put(g_store, "e", &a, 5500, 61000, &stored, &erev, &err), 0);
    assert_int_equal(due_of("e"), 0);
    assert_int_equal(ctl_store_ocsp_reschedule(g_store, "e", 5500, 61000, -1, &err), 0);
    assert_int_equal(due_of("e"), 0);
    assert_int_equal(ctl_store_cert_delete(g_store, "e", 0, &rev, &err), 0);
    assert_int_equal(due_of("e"), -1);
    assert_int_equal(st_raw_int("EXISTS ocsp:%s", "e"), 0);
    /* Gone: nothing stored for it. */
    assert_int_equal(ctl_store_ocsp_put(g_store, "e", &a, 5500, 61000, &stored, &erev, &err),
                     CP_ENOTFOUND);
}

static void test_discover_adds_what_the_schedule_lacks(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0;
    assert_int_equal(st_put("f", "{\"domains\":[\"f.example\"]}", CTL_STORE_CREATE, 0, &rev, &err),
                     0);
    freeReplyObject(st_raw("ZREM ocsp:due f"));
    freeReplyObject(st_raw("ZADD ocsp:due 777 g"));
    assert_int_equal(ctl_store_ocsp_discover(g_store, &err), 0);
    assert_int_equal(due_of("f"), 0);
    assert_int_equal(due_of("g"), 777); /* NX: a scheduled one keeps its time */
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_ocsp_due(g_store, 100, 10, &names, &n, &err), 0);
    assert_true(n >= 1);
    ctl_store_strv_free(names, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_write_makes_it_due_and_one_claim_wins, st_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_store_keeps_the_newer_and_streams_an_event, st_setup,
                                        st_teardown),
        cmocka_unit_test_setup_teardown(test_a_change_during_a_fetch_stays_due_and_delete_clears,
                                        st_setup, st_teardown),
        cmocka_unit_test_setup_teardown(test_discover_adds_what_the_schedule_lacks, st_setup,
                                        st_teardown),
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
