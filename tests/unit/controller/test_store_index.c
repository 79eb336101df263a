/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_index.c - the certificate indexes: listing in name order, the renewal schedule,
 * backfilling seed records */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/mem.h"
#include "tests/unit/controller/store_fixture.h"

static void test_list_pages_through_250_names_in_name_order(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char name[16];
    /* Written in a scrambled order: 97 is prime to 250, so i*97 % 250 visits every number once. */
    for (int i = 0; i < 250; i++) {
        snprintf(name, sizeof name, "n%03d", (i * 97) % 250);
        assert_int_equal(st_put(name, "{\"v\":1}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    }
    char after[16] = "";
    int seen = 0;
    size_t pages[4], npages = 0;
    for (;;) {
        char **names = NULL;
        size_t n = 0;
        assert_int_equal(ctl_store_cert_list(g_store, after, 100, &names, &n, &err), 0);
        pages[npages++] = n;
        for (size_t i = 0; i < n; i++, seen++) {
            snprintf(name, sizeof name, "n%03d", seen);
            assert_string_equal(names[i], name);
        }
        if (n > 0)
            snprintf(after, sizeof after, "%s", names[n - 1]);
        ctl_store_strv_free(names, n);
        if (n < 100)
            break;
    }
    assert_int_equal(seen, 250);
    assert_int_equal(npages, 3);
    assert_int_equal(pages[0], 100);
    assert_int_equal(pages[1], 100);
    assert_int_equal(pages[2], 50);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_cert_list(g_store, NULL, 0, &names, &n, &err), CP_EINVAL);
}

static void test_due_and_next_due_follow_renewal_times(void **state)
{
    (void)state;
    cp_err_t err = {0};
    double when = 0;
    assert_int_equal(ctl_store_next_due(g_store, &when, &err), 0);
    assert_true(when == -1);
    ctl_store_cert_write_t w = {.name = "late", .json = "{\"v\":1}", .renew_at = 3000.5};
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), 0);
    w.name = "early", w.renew_at = 1000;
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), 0);
    w.name = "none", w.renew_at = -1;
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), 0);
    assert_int_equal(ctl_store_next_due(g_store, &when, &err), 0);
    assert_true(when == 1000);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_due(g_store, 2000, 10, &names, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "early");
    ctl_store_strv_free(names, n);
    assert_int_equal(ctl_store_due(g_store, 5000, 10, &names, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[1], "late");
    ctl_store_strv_free(names, n);
    /* A renewal time < 0 takes the certificate out of the schedule. */
    w.name = "early", w.renew_at = -1, w.mode = CTL_STORE_ANY;
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), 0);
    assert_int_equal(ctl_store_next_due(g_store, &when, &err), 0);
    assert_true(when == 3000.5);
}

static void test_scan_and_index_backfill_seed_records(void **state)
{
    (void)state;
    char key[32];
    for (int i = 0; i < 250; i++) {
        snprintf(key, sizeof key, "cert:s%03d", i);
        st_raw_ok("SET %s %s", key, "{\"domains\":[]}");
    }
    st_raw_ok("SET %s %s", "challenge:x", "{}");
    st_raw_ok("SET %s %s", "certs:by_expiry:junk", "x"); /* not a cert:* key */
    cp_err_t err = {0};
    uint64_t cursor = 0;
    int rounds = 0;
    char seen[250] = {0};
    do {
        char **names = NULL;
        size_t n = 0;
        assert_int_equal(ctl_store_cert_scan(g_store, cursor, &cursor, &names, &n, &err), 0);
        for (size_t i = 0; i < n; i++) {
            int k = atoi(names[i] + 1);
            assert_true(names[i][0] == 's' && k >= 0 && k < 250);
            seen[k] = 1;
            assert_int_equal(ctl_store_cert_index(g_store, names[i], 100 + k, &err), 0);
        }
        ctl_store_strv_free(names, n);
        rounds++;
    } while (cursor != 0 && rounds < 1000);
    for (int i = 0; i < 250; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(st_raw_int("ZCARD %s", "certs"), 250);
    double when = 0;
    assert_int_equal(ctl_store_next_due(g_store, &when, &err), 0);
    assert_true(when == 100);
    assert_int_equal(ctl_store_cert_index(g_store, "ghost", 1, &err), CP_ENOTFOUND);
    assert_int_equal(st_raw_int("ZCARD %s", "certs"), 250);
    int64_t rev = -1;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, 0); /* backfill is no change */
}

/* The start's filter: only the names `certs` does not hold survive, in order (issue 13). */
static void test_unlisted_keeps_names_outside_certs(void **state)
{
    (void)state;
    st_raw_ok("ZADD %s 0 %s", "certs", "ours");
    char **names = cp_xcalloc(3, sizeof *names);
    names[0] = cp_xstrdup("seed1"), names[1] = cp_xstrdup("ours"), names[2] = cp_xstrdup("seed2");
    size_t n = 3;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_cert_unlisted(g_store, names, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "seed1");
    assert_string_equal(names[1], "seed2");
    size_t zero = 0;
    assert_int_equal(ctl_store_cert_unlisted(g_store, names, &zero, &err), 0);
    ctl_store_strv_free(names, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_list_pages_through_250_names_in_name_order),
        T(test_due_and_next_due_follow_renewal_times),
        T(test_scan_and_index_backfill_seed_records),
        T(test_unlisted_keeps_names_outside_certs),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
