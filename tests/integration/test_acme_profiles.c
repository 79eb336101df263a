/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_profiles.c - newOrder carries the profile the directory's meta.profiles offers; a
 * profile the CA does not offer is refused before any order, naming the offered ones (issue #12) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "controller/acme/acme.h"
#include "tests/integration/acme_fake.h"

#define DIR_WITH_PROFILES                                                                          \
    "{\"newNonce\":\"$BASE/nonce\",\"newAccount\":\"$BASE/acct-new\","                             \
    "\"newOrder\":\"$BASE/order-new\",\"revokeCert\":\"$BASE/revoke\","                            \
    "\"meta\":{\"profiles\":{\"classic\":\"90 days\",\"shortlived\":\"160 hours\"}}}"
#define DIR_WITHOUT_PROFILES                                                                       \
    "{\"newNonce\":\"$BASE/nonce\",\"newAccount\":\"$BASE/acct-new\","                             \
    "\"newOrder\":\"$BASE/order-new\",\"meta\":{\"termsOfService\":\"$BASE/tos\"}}"
/* newOrder refused, so the issuance stops right after it: the test only looks at what was sent. */
#define REJECTED "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"no\"}"

static acme_fake_t *fake;
static char dir_url[128];

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (acme_fake_start(&fake) != 0)
        return -1;
    snprintf(dir_url, sizeof(dir_url), "%s/dir", acme_fake_base(fake));
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    acme_fake_stop(fake);
    curl_global_cleanup();
    return 0;
}

static int reset(void **state)
{
    (void)state;
    acme_fake_reset(fake);
    return 0;
}

static void serve_directory(const char *body)
{
    acme_fake_reply_t r = {.status = 200, .body = body, .sticky = 1};
    acme_fake_push(fake, "/dir", &r);
    acme_fake_reply_t no = {.status = 400, .body = REJECTED, .sticky = 1};
    acme_fake_push(fake, "/order-new", &no);
}

/* One issuance of an IP address (no HTTP-01 hook needed) asking for `profile`. */
static int issue(const char *profile, ctl_acme_t **out, cp_err_t *err)
{
    const char *names[] = {"127.0.0.1"};
    ctl_acme_config_t cfg = {
        .directory = dir_url, .ca_file = acme_fake_ca_file(fake), .deadline_ms = 10000};
    assert_int_equal(ctl_acme_new(&cfg, NULL, out, err), 0);
    ctl_acme_request_t req = {.names = names, .n_names = 1, .profile = profile};
    ctl_acme_result_t res = {0};
    int rc = ctl_acme_issue(*out, &req, &res, err);
    ctl_acme_result_dispose(&res);
    return rc;
}

static size_t new_orders(void)
{
    return acme_fake_hits(fake, "/order-new", NULL, 0);
}

/* The payload of the last newOrder, parsed. */
static json_t *last_new_order(void)
{
    char *p = acme_fake_last_payload(fake, "/order-new");
    assert_non_null(p);
    json_t *j = json_loads(p, 0, NULL);
    free(p);
    assert_non_null(j);
    return j;
}

static void test_offered_profile_is_sent_in_new_order(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    serve_directory(DIR_WITH_PROFILES);
    assert_int_equal(issue("shortlived", &c, &err), CP_EACME); /* the fake rejects the order */
    assert_int_equal(new_orders(), 1);
    json_t *j = last_new_order();
    assert_string_equal(json_string_value(json_object_get(j, "profile")), "shortlived");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "identifiers"), 0), "value")),
                        "127.0.0.1");
    json_decref(j);
    const char *offered = ctl_acme_profiles_get0(c);
    assert_non_null(offered);
    assert_true(ctl_acme_profile_offered(offered, "classic"));
    assert_true(ctl_acme_profile_offered(offered, "shortlived"));
    assert_false(ctl_acme_profile_offered(offered, "short"));
    ctl_acme_free(c);
}

static void test_no_profile_sends_none(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    serve_directory(DIR_WITH_PROFILES);
    assert_int_equal(issue(NULL, &c, &err), CP_EACME);
    json_t *j = last_new_order();
    assert_null(json_object_get(j, "profile"));
    json_decref(j);
    ctl_acme_free(c);
}

static void test_profile_not_offered_is_refused_before_any_order(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    serve_directory(DIR_WITH_PROFILES);
    assert_int_equal(issue("tlsserver", &c, &err), CP_EINVAL);
    printf("[ info ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "\"tlsserver\""));
    assert_non_null(strstr(err.msg, "classic"));
    assert_non_null(strstr(err.msg, "shortlived"));
    assert_int_equal(new_orders(), 0);
    ctl_acme_free(c);
}

static void test_profile_at_a_ca_without_profiles_is_refused(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    serve_directory(DIR_WITHOUT_PROFILES);
    assert_int_equal(issue("shortlived", &c, &err), CP_EINVAL);
    printf("[ info ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "\"shortlived\""));
    assert_non_null(strstr(err.msg, "lists no profiles"));
    assert_int_equal(new_orders(), 0);
    assert_string_equal(ctl_acme_profiles_get0(c), "");
    ctl_acme_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_offered_profile_is_sent_in_new_order, reset),
        cmocka_unit_test_setup(test_no_profile_sends_none, reset),
        cmocka_unit_test_setup(test_profile_not_offered_is_refused_before_any_order, reset),
        cmocka_unit_test_setup(test_profile_at_a_ca_without_profiles_is_refused, reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
