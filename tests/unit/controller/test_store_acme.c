/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_acme.c - the ACME keys: HTTP-01 challenges (TTL, seed format, events) and accounts */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/unit/controller/store_fixture.h"

static void test_challenge_set_get_clear_with_a_3600s_ttl_in_the_seed_format(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0;
    time_t t0 = time(NULL);
    assert_int_equal(ctl_store_challenge_set(g_store, "tok1", "tok1.thumb", 0, &rev, &err), 0);
    long long ttl = st_raw_int("TTL %s", "challenge:tok1");
    assert_true(ttl > 3590 && ttl <= 3600);
    char expect[160], ts[32];
    time_t exp = t0 + 3600;
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&exp, &tm));
    snprintf(expect, sizeof expect,
             "{\"token\":\"tok1\",\"authorization\":\"tok1.thumb\",\"expires_at\":\"%s\"}", ts);
    const char *stored = st_raw_str("GET %s", "challenge:tok1");
    if (strcmp(stored, expect) != 0) { /* the second may have ticked */
        exp++;
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&exp, &tm));
        snprintf(expect, sizeof expect,
                 "{\"token\":\"tok1\",\"authorization\":\"tok1.thumb\",\"expires_at\":\"%s\"}", ts);
    }
    assert_string_equal(stored, expect);
    char *ka = NULL;
    assert_int_equal(ctl_store_challenge_get(g_store, "tok1", &ka, &err), 0);
    assert_string_equal(ka, "tok1.thumb");
    free(ka);
    int64_t crev = 0;
    assert_int_equal(ctl_store_challenge_clear(g_store, "tok1", &crev, &err), 0);
    assert_int_equal(crev, rev + 1);
    assert_int_equal(st_raw_int("EXISTS %s", "challenge:tok1"), 0);
    assert_int_equal(ctl_store_challenge_get(g_store, "tok1", &ka, &err), CP_ENOTFOUND);
    assert_null(ka);
    ctl_store_event_t *ev = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_events_read(g_store, rev, 10, 0, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "CHALLENGE_CLEAR");
    assert_string_equal(ev[0].token, "tok1");
    ctl_store_events_free(ev, n);
}

static void test_challenge_get_reads_seed_records(void **state)
{
    (void)state;
    /* The seed (Python json.dumps) writes spaces after separators. */
    st_raw_ok("SET %s %s", "challenge:abc123",
              "{\"token\": \"abc123\", \"authorization\": \"abc123.def456\", "
              "\"expires_at\": \"2024-01-15T12:00:00Z\"}");
    st_raw_ok("SET %s %s", "challenge:bad-secret", "not json");
    cp_err_t err = {0};
    char *ka = NULL;
    assert_int_equal(ctl_store_challenge_get(g_store, "abc123", &ka, &err), 0);
    assert_string_equal(ka, "abc123.def456");
    free(ka);
    assert_int_equal(ctl_store_challenge_get(g_store, "bad-secret", &ka, &err), CP_EPROTO);
    assert_non_null(strstr(err.msg, "bad-"));
    assert_null(strstr(err.msg, "secret")); /* a token shows by its first 4 characters only */
}

static void test_account_put_get_writes_key_and_url_together(void **state)
{
    (void)state;
    cp_err_t err = {0};
    const char *pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    char *key = NULL, *url = NULL;
    assert_int_equal(ctl_store_account_get(g_store, "letsencrypt", "a@b.example", &key, &url, &err),
                     CP_ENOTFOUND);
    assert_int_equal(ctl_store_account_put(g_store, "letsencrypt", "a@b.example", pem,
                                           "https://acme.example/acct/1", &err),
                     0);
    assert_string_equal(st_raw_str("GET %s", "account:letsencrypt:a@b.example"), pem);
    assert_string_equal(st_raw_str("GET %s", "account:letsencrypt:a@b.example:url"),
                        "https://acme.example/acct/1");
    assert_int_equal(ctl_store_account_get(g_store, "letsencrypt", "a@b.example", &key, &url, &err),
                     0);
    assert_string_equal(key, pem);
    assert_string_equal(url, "https://acme.example/acct/1");
    free(key), free(url);
    /* Seed data has the key alone. */
    st_raw_ok("SET %s %s", "account:zerossl:c@d", pem);
    assert_int_equal(ctl_store_account_get(g_store, "zerossl", "c@d", &key, &url, &err), 0);
    assert_string_equal(key, pem);
    assert_null(url);
    free(key);
    assert_int_equal(ctl_store_account_put(g_store, "letsencrypt", "a@b.example", pem, NULL, &err),
                     0);
    assert_int_equal(st_raw_int("EXISTS %s", "account:letsencrypt:a@b.example:url"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_challenge_set_get_clear_with_a_3600s_ttl_in_the_seed_format),
        T(test_challenge_get_reads_seed_records),
        T(test_account_put_get_writes_key_and_url_together),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
