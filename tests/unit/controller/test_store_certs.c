/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_certs.c - certificate records: put modes and revisions, refused puts that change
 * nothing, seed records, mget, delete */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/controller/store_fixture.h"

static void test_put_stores_the_revision_first_and_revisions_increase(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t r1 = 0, r2 = 0, r3 = 0;
    assert_int_equal(st_put("a", "{\"domains\":[\"a.example\"]}", CTL_STORE_CREATE, 0, &r1, &err),
                     0);
    assert_int_equal(r1, 1);
    st_assert_stored("a", "{\"revision\":\"1\",\"domains\":[\"a.example\"]}");
    assert_int_equal(st_put("b", "  {\"x\": 1 }", CTL_STORE_ANY, 0, &r2, &err), 0);
    assert_int_equal(r2, 2);
    st_assert_stored("b", "{\"revision\":\"2\",\"x\": 1 }");
    assert_int_equal(st_put("a", "{\"state\":\"VALID\"}", CTL_STORE_MATCH, r1, &r3, &err), 0);
    assert_int_equal(r3, 3);
    st_assert_stored("a", "{\"revision\":\"3\",\"state\":\"VALID\"}");
    assert_int_equal(st_put("a", "{\"state\":\"X\"}", CTL_STORE_ANY, 0, &r3, &err), 0);
    assert_int_equal(r3, 4);
    int64_t rev = 0;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, 4);
    assert_string_equal(st_raw_str("ZSCORE certs %s", "a"), "0");
    assert_string_equal(st_raw_str("ZSCORE certs %s", "b"), "0");
}

/* Certificate "a" at revision 1, with a renewal time and an issue job. */
static void put_a_at_revision_1(void)
{
    cp_err_t err = {0};
    int64_t rev = 0;
    ctl_store_cert_write_t w = {
        .name = "a", .json = "{\"v\":1}", .renew_at = 100, .job_kind = "issue"};
    assert_int_equal(ctl_store_cert_put(g_store, &w, &rev, &err), 0);
    assert_int_equal(rev, 1);
}

static void test_create_of_an_existing_name_is_eexist_and_changes_nothing(void **state)
{
    (void)state;
    put_a_at_revision_1();
    st_assert_put_fails_unchanged("a", "{\"v\":2}", CTL_STORE_CREATE, 0, CP_EEXIST);
}

static void test_match_of_a_missing_name_is_enotfound_and_changes_nothing(void **state)
{
    (void)state;
    put_a_at_revision_1();
    st_assert_put_fails_unchanged("missing", "{\"v\":2}", CTL_STORE_MATCH, 0, CP_ENOTFOUND);
}

static void test_match_of_another_revision_is_econflict_naming_the_current_one(void **state)
{
    (void)state;
    cp_err_t err = {0};
    put_a_at_revision_1();
    st_assert_put_fails_unchanged("a", "{\"v\":2}", CTL_STORE_MATCH, 0, CP_ECONFLICT);
    st_assert_put_fails_unchanged("a", "{\"v\":2}", CTL_STORE_MATCH, 2, CP_ECONFLICT);
    assert_int_equal(st_put("a", "{\"v\":2}", CTL_STORE_MATCH, 7, NULL, &err), CP_ECONFLICT);
    assert_non_null(strstr(err.msg, "revision 1"));
    st_assert_stored("a", "{\"revision\":\"1\",\"v\":1}");
}

static void test_put_rejects_json_that_is_no_object_or_owns_revision(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(st_put("a", "{\"v\":1}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    static const char *const bad[] = {"",
                                      "[1,2]",
                                      "{}",
                                      " { } ",
                                      "{\"revision\":\"9\",\"v\":1}",
                                      "{\"v\":1,\"revision\":null}",
                                      "{\"v\":",
                                      "{\"v\":1}x",
                                      "\"text\"",
                                      "{v:1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        st_assert_put_fails_unchanged("a", bad[i], CTL_STORE_ANY, 0, CP_EINVAL);
    st_assert_put_fails_unchanged("", "{\"v\":1}", CTL_STORE_ANY, 0, CP_EINVAL);
    st_assert_put_fails_unchanged("a", "{\"v\":1}", 7, 0, CP_EINVAL);
    ctl_store_cert_write_t w = {
        .name = "a", .json = "{\"v\":1}", .mode = CTL_STORE_ANY, .job_kind = "explode"};
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), CP_EINVAL);
    /* A nested "revision" is the caller's business. */
    assert_int_equal(st_put("n", "{\"acme\":{\"revision\":2}}", CTL_STORE_CREATE, 0, NULL, &err),
                     0);
}

static void test_seed_record_reads_as_is_and_matches_revision_zero(void **state)
{
    (void)state;
    const char *seed = "{\"domains\": [\"old.example\"], \"email\": \"a@b\", "
                       "\"fullchain_pem\": \"x\", \"private_key_pem\": \"y\"}";
    st_raw_ok("SET %s %s", "cert:old", seed);
    st_assert_stored("old", seed);
    cp_err_t err = {0};
    int64_t rev = 0;
    assert_int_equal(st_put("old", "{\"v\":1}", CTL_STORE_MATCH, 1, &rev, &err), CP_ECONFLICT);
    assert_int_equal(st_put("old", "{\"domains\": [\"old.example\"], \"state\": \"VALID\"}",
                            CTL_STORE_MATCH, 0, &rev, &err),
                     0);
    assert_int_equal(rev, 1);
    st_assert_stored("old",
                     "{\"revision\":\"1\",\"domains\": [\"old.example\"], \"state\": \"VALID\"}");
    /* A record whose revision is not first (written by another tool) is still read by its field. */
    st_raw_ok("SET %s %s", "cert:moved", "{\"a\":1,\"revision\":\"5\"}");
    assert_int_equal(st_put("moved", "{\"a\":2}", CTL_STORE_MATCH, 0, &rev, &err), CP_ECONFLICT);
    assert_int_equal(st_put("moved", "{\"a\":2}", CTL_STORE_MATCH, 5, &rev, &err), 0);
}

static void test_mget_returns_null_where_missing(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(st_put("a", "{\"v\":1}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    assert_int_equal(st_put("c", "{\"v\":3}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    const char *names[] = {"a", "b", "c"};
    char *jsons[3];
    assert_int_equal(ctl_store_cert_mget(g_store, names, 3, jsons, &err), 0);
    assert_string_equal(jsons[0], "{\"revision\":\"1\",\"v\":1}");
    assert_null(jsons[1]);
    assert_string_equal(jsons[2], "{\"revision\":\"2\",\"v\":3}");
    free(jsons[0]);
    free(jsons[2]);
    char *json = NULL;
    assert_int_equal(ctl_store_cert_get(g_store, "b", &json, NULL, &err), CP_ENOTFOUND);
    assert_null(json);
}

static void test_delete_removes_the_cert_and_its_indexes_and_emits_delete(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0, drev = 0;
    ctl_store_cert_write_t w = {.name = "d", .json = "{\"v\":1}", .renew_at = 500};
    assert_int_equal(ctl_store_cert_put(g_store, &w, &rev, &err), 0);
    assert_int_equal(ctl_store_cert_delete(g_store, "d", rev + 1, &drev, &err), CP_ECONFLICT);
    assert_int_equal(ctl_store_cert_delete(g_store, "nope", 0, &drev, &err), CP_ENOTFOUND);
    assert_int_equal(ctl_store_cert_delete(g_store, "d", rev, &drev, &err), 0);
    assert_int_equal(drev, rev + 1);
    assert_int_equal(st_raw_int("EXISTS %s", "cert:d"), 0);
    assert_string_equal(st_raw_str("ZSCORE certs %s", "d"), "(nil)");
    assert_string_equal(st_raw_str("ZSCORE certs:by_expiry %s", "d"), "(nil)");
    ctl_store_event_t *ev = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_events_read(g_store, rev, 10, 0, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].revision, drev);
    assert_string_equal(ev[0].type, "DELETE");
    assert_string_equal(ev[0].name, "d");
    ctl_store_events_free(ev, n);
    /* expected 0 deletes any revision, including a seed record's. */
    st_raw_ok("SET %s %s", "cert:seed", "{\"domains\":[]}");
    assert_int_equal(ctl_store_cert_delete(g_store, "seed", 0, NULL, &err), 0);
    assert_int_equal(ctl_store_cert_delete(g_store, "seed", 0, NULL, &err), CP_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_put_stores_the_revision_first_and_revisions_increase),
        T(test_create_of_an_existing_name_is_eexist_and_changes_nothing),
        T(test_match_of_a_missing_name_is_enotfound_and_changes_nothing),
        T(test_match_of_another_revision_is_econflict_naming_the_current_one),
        T(test_put_rejects_json_that_is_no_object_or_owns_revision),
        T(test_seed_record_reads_as_is_and_matches_revision_zero),
        T(test_mget_returns_null_where_missing),
        T(test_delete_removes_the_cert_and_its_indexes_and_emits_delete),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
