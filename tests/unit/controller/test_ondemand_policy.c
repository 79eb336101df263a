/* SPDX-License-Identifier: Apache-2.0 */
/* test_ondemand_policy.c - on-demand TLS names and patterns: hostile SNI never passes, patterns
 * match exactly one label under a wildcard, long names get a hashed certificate name */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "controller/service/ondemand_policy.h"

static void test_names_are_normalized(void **state)
{
    (void)state;
    char out[CTL_ONDEMAND_NAME_BUF];
    assert_true(ctl_ondemand_name("Shop.Example.COM.", out, sizeof out));
    assert_string_equal(out, "shop.example.com");
    assert_true(ctl_ondemand_name("a-b.c0.example", out, sizeof out));
    assert_string_equal(out, "a-b.c0.example");
}

static void test_hostile_names_are_refused(void **state)
{
    (void)state;
    char out[CTL_ONDEMAND_NAME_BUF] = "untouched", label64[80], long254[300];
    memset(label64, 'a', 64);
    strcpy(label64 + 64, ".example.com");
    for (int i = 0; i < 254; i += 2)
        memcpy(long254 + i, "a.", 2);
    strcpy(long254 + 252, "com"); /* 255 bytes */
    const char *bad[] = {
        "",
        "localhost",
        "127.0.0.1",
        "10.0.0.1.",
        "[::1]",
        "::1",
        "*.example.com",
        "a..example.com",
        ".example.com",
        "-a.example.com",
        "a-.example.com",
        "a_b.example.com",
        "a b.example.com",
        "exa\xc3\xa9mple.com",
        "1.2.3.999",
        "a.example.com..",
        label64,
        long254,
        "a.b.c.123",
        "a\n.example.com",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ctl_ondemand_name(bad[i], out, sizeof out))
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_false(ctl_ondemand_name(NULL, out, sizeof out));
    assert_string_equal(out, "untouched");
    char tiny[4];
    assert_false(ctl_ondemand_name("a.example.com", tiny, sizeof tiny));
}

static void test_patterns_match_exactly_one_label(void **state)
{
    (void)state;
    const char *p[] = {"*.example.com", "shop.example.org"};
    assert_true(ctl_ondemand_match(p, 2, "a.example.com"));
    assert_true(ctl_ondemand_match(p, 2, "shop.example.org"));
    assert_true(ctl_ondemand_match(p, 2, "SHOP.example.org"));
    assert_false(ctl_ondemand_match(p, 2, "example.com"));
    assert_false(ctl_ondemand_match(p, 2, "a.b.example.com"));
    assert_false(ctl_ondemand_match(p, 2, "aexample.com"));
    assert_false(ctl_ondemand_match(p, 2, "a.example.com.evil.net"));
    assert_false(ctl_ondemand_match(p, 2, "x.shop.example.org"));
    assert_false(ctl_ondemand_match(p, 0, "a.example.com"));
}

static void test_pattern_syntax(void **state)
{
    (void)state;
    assert_true(ctl_ondemand_pattern_ok("example.com"));
    assert_true(ctl_ondemand_pattern_ok("*.example.com"));
    assert_false(ctl_ondemand_pattern_ok("*.com.")); /* one label, and a trailing dot */
    assert_false(ctl_ondemand_pattern_ok("*"));
    assert_false(ctl_ondemand_pattern_ok("a.*.example.com"));
    assert_false(ctl_ondemand_pattern_ok("Example.com")); /* patterns are lower case */
    assert_false(ctl_ondemand_pattern_ok("10.0.0.1"));
    assert_false(ctl_ondemand_pattern_ok(NULL));
}

static void test_certificate_names(void **state)
{
    (void)state;
    char out[CTL_ONDEMAND_NAME_BUF], name[200];
    ctl_ondemand_cert_name("shop.example.com", out, sizeof out);
    assert_string_equal(out, "shop.example.com");
    memset(name, 'a', 70);
    strcpy(name + 70, ".example.com");
    ctl_ondemand_cert_name(name, out, sizeof out);
    assert_int_equal(strlen(out), 35);
    assert_memory_equal(out, "od-", 3);
    char again[CTL_ONDEMAND_NAME_BUF];
    ctl_ondemand_cert_name(name, again, sizeof again);
    assert_string_equal(out, again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_normalized),
        cmocka_unit_test(test_hostile_names_are_refused),
        cmocka_unit_test(test_patterns_match_exactly_one_label),
        cmocka_unit_test(test_pattern_syntax),
        cmocka_unit_test(test_certificate_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
