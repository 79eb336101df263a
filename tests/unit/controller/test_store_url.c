/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_url.c - ctl_store_url_parse: which redis:// and rediss:// URLs the store accepts, and
 * that a rejected one never shows its password */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdbool.h>
#include <string.h>

#include "controller/store/store.h"

static void test_url_parse_accepts_good_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url, *host, *user, *password;
        int port, db;
    } good[] = {
        {"redis://localhost", "localhost", "", "", 6379, 0},
        {"redis://127.0.0.1:6380", "127.0.0.1", "", "", 6380, 0},
        {"redis://h:1/15", "h", "", "", 1, 15},
        {"redis://h/", "h", "", "", 6379, 0},
        {"REDIS://h:65535/0", "h", "", "", 65535, 0},
        {"redis://:p%40ss%3Aw%2Fd@h:7/2", "h", "", "p@ss:w/d", 7, 2},
        {"redis://secret@h", "h", "", "secret", 6379, 0},
        {"redis://al%20ice:pw@redis.example:6379/3", "redis.example", "al ice", "pw", 6379, 3},
        {"redis://[::1]:6380/1", "::1", "", "", 6380, 1},
        {"redis://[::1]", "::1", "", "", 6379, 0},
        {"redis://u:p@[fe80::1]:9", "fe80::1", "u", "p", 9, 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ctl_store_url_t u;
        cp_err_t err = {0};
        int rc = ctl_store_url_parse(good[i].url, &u, &err);
        if (rc != 0)
            fail_msg("%s: %s", good[i].url, err.msg);
        assert_string_equal(u.host, good[i].host);
        assert_string_equal(u.user, good[i].user);
        assert_string_equal(u.password, good[i].password);
        assert_int_equal(u.port, good[i].port);
        assert_int_equal(u.db, good[i].db);
    }
}

static void test_sentinel_urls_name_sentinels_and_master(void **state)
{
    (void)state;
    ctl_store_url_t u;
    cp_err_t err = {0};
    assert_int_equal(
        ctl_store_url_parse("redis+sentinel://certplane:p%40w@s1:26380,[::1],10.0.0.3:5/mymaster/2",
                            &u, &err),
        0);
    assert_int_equal(u.n_sentinels, 3);
    assert_string_equal(u.sentinels[0].host, "s1");
    assert_int_equal(u.sentinels[0].port, 26380);
    assert_string_equal(u.sentinels[1].host, "::1");
    assert_int_equal(u.sentinels[1].port, 26379);
    assert_string_equal(u.sentinels[2].host, "10.0.0.3");
    assert_int_equal(u.sentinels[2].port, 5);
    assert_string_equal(u.master, "mymaster");
    assert_int_equal(u.db, 2);
    assert_string_equal(u.user, "certplane");
    assert_string_equal(u.password, "p@w");
    assert_string_equal(u.host, "");
    assert_int_equal(ctl_store_url_parse("REDIS+SENTINEL://h/my-master.1", &u, &err), 0);
    assert_int_equal(u.n_sentinels, 1);
    assert_string_equal(u.master, "my-master.1");
    assert_int_equal(u.db, 0);
    /* A plain URL names no sentinels. */
    assert_int_equal(ctl_store_url_parse("redis://h", &u, &err), 0);
    assert_int_equal(u.n_sentinels, 0);
}

static void test_url_parse_rejects_bad_urls_without_leaking_the_password(void **state)
{
    (void)state;
    static const char *const bad[] = {
        NULL,
        "",
        "http://h",
        "redis://:topsecret@h?x",
        "rediss//h",
        "rediss:/h",
        "redisss://h",
        "rediss://",
        "rediss://:topsecret@:6380",
        "rediss://:topsecret%zz@h",
        "rediss://h/16",
        "redis://",
        "redis://:6379",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:-1",
        "redis://h:12x",
        "redis://h:",
        "redis://h/16",
        "redis://h/-1",
        "redis://h/99999999999",
        "redis://h/1x",
        "redis://h/1/2",
        "redis://h?db=1",
        "redis://[::1",
        "redis://[::1]x",
        "redis://h%20x",
        "redis://:topsecret%zz@h",
        "redis://:topsecret%4@h",
        "redis://:topsecret%00@h",
        "redis://user:@h",
        "redis+sentinel://h:26379",
        "redis+sentinel://h:26379/",
        "redis+sentinel://h1,,h2/m",
        "redis+sentinel://h1,/m",
        "redis+sentinel://h:0/m",
        "redis+sentinel://h/m y",
        "redis+sentinel://h/m/16",
        "redis+sentinel://:topsecret%zz@h/m",
        "redis+sentinel://a,b,c,d,e,f,g,h,i/m",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctl_store_url_t u;
        cp_err_t err = {0};
        int rc = ctl_store_url_parse(bad[i], &u, &err);
        if (rc != CP_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i] ? bad[i] : "(null)");
        assert_true(err.msg[0] != '\0');
        assert_null(strstr(err.msg, "topsecret"));
        assert_string_equal(u.host, "");
    }
    ctl_store_t *s = NULL;
    assert_int_equal(ctl_store_new("redis://h/16", NULL, &s, NULL), CP_EINVAL);
    assert_null(s);
}

/* rediss:// is Redis over TLS: the same fields, tls set; redis:// leaves it unset. */
static void test_url_parse_rediss_sets_tls(void **state)
{
    (void)state;
    static const struct {
        const char *url, *host, *user, *password;
        int port, db;
        bool tls;
    } cases[] = {
        {"rediss://h", "h", "", "", 6379, 0, true},
        {"REDISS://u:p%40w@redis.example:6380/3", "redis.example", "u", "p@w", 6380, 3, true},
        {"rediss://secret@[::1]:7000", "::1", "", "secret", 7000, 0, true},
        {"rediss://127.0.0.1:6380/", "127.0.0.1", "", "", 6380, 0, true},
        {"redis://h", "h", "", "", 6379, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ctl_store_url_t u;
        cp_err_t err = {0};
        int rc = ctl_store_url_parse(cases[i].url, &u, &err);
        if (rc != 0)
            fail_msg("%s: %s", cases[i].url, err.msg);
        assert_string_equal(u.host, cases[i].host);
        assert_string_equal(u.user, cases[i].user);
        assert_string_equal(u.password, cases[i].password);
        assert_int_equal(u.port, cases[i].port);
        assert_int_equal(u.db, cases[i].db);
        assert_int_equal(u.tls, cases[i].tls);
    }
    /* A store for rediss:// needs the TLS context of its options: without one it is refused
     * rather than connecting in the clear. */
    ctl_store_t *s = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_new("rediss://:topsecret@h", NULL, &s, &err), CP_EINVAL);
    assert_null(s);
    assert_null(strstr(err.msg, "topsecret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse_accepts_good_urls),
        cmocka_unit_test(test_sentinel_urls_name_sentinels_and_master),
        cmocka_unit_test(test_url_parse_rejects_bad_urls_without_leaking_the_password),
        cmocka_unit_test(test_url_parse_rediss_sets_tls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
