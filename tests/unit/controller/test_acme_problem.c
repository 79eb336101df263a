/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_problem.c - problem documents as readable errors; Retry-After; Link headers; providers
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controller/acme/acme_internal.h"

static void test_problem_with_subproblems_names_identifiers(void **state)
{
    (void)state;
    char buf[CP_ERR_MSG_MAX];
    json_t *p = json_loads(
        "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"Some names were "
        "rejected\",\"subproblems\":[{\"type\":\"urn:ietf:params:acme:error:unauthorized\","
        "\"detail\":"
        "\"no\",\"identifier\":{\"type\":\"dns\",\"value\":\"a.example\"}},{\"type\":\"urn:ietf:"
        "params:"
        "acme:error:malformed\",\"detail\":\"bad\",\"identifier\":{\"type\":\"ip\",\"value\":\"10."
        "0.0.1\"}}]}",
        0, NULL);
    ctl_acme__problem_format(p, buf, sizeof(buf));
    assert_string_equal(buf,
                        "urn:ietf:params:acme:error:rejectedIdentifier: Some names were rejected "
                        "(dns a.example: urn:ietf:params:acme:error:unauthorized: no; ip "
                        "10.0.0.1: urn:ietf:params:acme:error:malformed: bad)");
    char small[16];
    ctl_acme__problem_format(p, small, sizeof(small));
    assert_int_equal(strlen(small), 15);
    json_decref(p);
}

static void test_problem_err_from_response(void **state)
{
    (void)state;
    cp_err_t err;
    ctl_acme__resp_t r = {.status = 403};
    r.body = strdup("{\"type\":\"urn:ietf:params:acme:error:unauthorized\",\"detail\":\"nope\"}");
    r.len = strlen(r.body);
    r.content_type = strdup("application/problem+json");
    assert_int_equal(ctl_acme__problem_err(&r, "newOrder", &err), CP_EACME);
    assert_string_equal(err.msg, "newOrder: urn:ietf:params:acme:error:unauthorized: nope");
    assert_true(ctl_acme__problem_is(&r, "unauthorized"));
    assert_false(ctl_acme__problem_is(&r, "badNonce"));
    ctl_acme__resp_dispose(&r);

    /* Not a problem document: the status and a printable excerpt. */
    r.status = 502;
    r.body = strdup("<html>\nbad gateway</html>");
    r.len = strlen(r.body);
    assert_int_equal(ctl_acme__problem_err(&r, "directory", &err), CP_EACME);
    assert_string_equal(err.msg, "directory: HTTP 502: <html> bad gateway</html>");
    ctl_acme__resp_dispose(&r);
}

static void test_retry_after_seconds_and_http_dates(void **state)
{
    (void)state;
    time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(ctl_acme__retry_after_parse("120", now), 120);
    assert_int_equal(ctl_acme__retry_after_parse(" 0", now), 0);
    assert_int_equal(ctl_acme__retry_after_parse("Sun, 06 Nov 1994 08:50:37 GMT", now), 60);
    assert_int_equal(ctl_acme__retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", now), 0);
    assert_int_equal(ctl_acme__retry_after_parse(NULL, now), -1);
    assert_int_equal(ctl_acme__retry_after_parse("soon", now), -1);
    assert_int_equal(ctl_acme__retry_after_parse("12abc", now), -1);
    assert_int_equal(ctl_acme__retry_after_parse("Sun, 06 Foo 1994 08:50:37 GMT", now), -1);
    assert_int_equal(ctl_acme__retry_after_parse("99999999999", now), 86400L * 365);
}

static void test_provider_names_resolve(void **state)
{
    (void)state;
    assert_string_equal(ctl_acme_directory_url("letsencrypt"),
                        "https://acme-v02.api.letsencrypt.org/directory");
    assert_string_equal(ctl_acme_directory_url("letsencrypt-staging"),
                        "https://acme-staging-v02.api.letsencrypt.org/directory");
    assert_string_equal(ctl_acme_directory_url("buypass"),
                        "https://api.buypass.com/acme/directory");
    assert_string_equal(ctl_acme_directory_url("google"),
                        "https://dv.acme-v02.api.pki.goog/directory");
    assert_string_equal(ctl_acme_directory_url("https://ca.example/dir"), "https://ca.example/dir");
    assert_null(ctl_acme_directory_url("http://ca.example/dir"));
    assert_null(ctl_acme_directory_url("https://"));
    assert_null(ctl_acme_directory_url("nope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_problem_with_subproblems_names_identifiers),
        cmocka_unit_test(test_problem_err_from_response),
        cmocka_unit_test(test_retry_after_seconds_and_http_dates),
        cmocka_unit_test(test_provider_names_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
