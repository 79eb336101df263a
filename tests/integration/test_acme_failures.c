/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_failures.c - failures against real Pebble: clear errors, nothing half-written; EAB */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "tests/integration/acme_env.h"

#define EAB_KID "kid-certplane"
#define EAB_KEY "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"

static acme_env_t env;

static int group_setup(void **state)
{
    (void)state;
    cp_test_pebble_opts_t opts = {
        .eab_kid = EAB_KID, .eab_key = EAB_KEY, .blocked_domain = "blocked.example"};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return acme_env_start(&env, &opts) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    acme_env_stop(&env);
    curl_global_cleanup();
    return 0;
}

static ctl_acme_t *eab_client(const char *email, const char *key)
{
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    ctl_acme_config_t cfg = {.directory = env.pebble.directory_url,
                             .ca_file = env.pebble.ca_file,
                             .email = email,
                             .eab_kid = key ? EAB_KID : NULL,
                             .eab_hmac_key = key,
                             .deadline_ms = 60000};
    assert_int_equal(ctl_acme_new(&cfg, &env.hooks, &c, &err), 0);
    return c;
}

static void assert_no_account_stored(const char *email)
{
    char *key = NULL, *url = NULL;
    assert_int_equal(
        ctl_store_account_get(env.store, env.pebble.directory_url, email, &key, &url, NULL),
        CP_ENOTFOUND);
}

static void test_eab_required_missing_is_a_clear_error_and_stores_nothing(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = eab_client("noeab@certplane.example", NULL);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_EACME);
    printf("[ info ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "externalAccountRequired"));
    assert_null(ctl_acme_account_url(c));
    assert_no_account_stored("noeab@certplane.example");
    ctl_acme_free(c);
}

static void test_eab_wrong_key_fails(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c =
        eab_client("badeab@certplane.example", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_EACME);
    printf("[ info ] %s\n", err.msg);
    assert_no_account_stored("badeab@certplane.example");
    ctl_acme_free(c);
}

static void test_eab_account_then_issue(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    const char *names[] = {"eab.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 1, .key_type = CP_KEY_EC_P256};
    ctl_acme_t *c = eab_client("eab@certplane.example", EAB_KEY);
    assert_int_equal(acme_env_issue(&env, c, &req, &res, &err), 0);
    assert_int_equal(acme_env_verify(&env, &res, names, 1), 0);
    ctl_acme_result_dispose(&res);
    ctl_acme_free(c);
}

static void test_unreachable_directory_is_a_network_error(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    char url[64];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/dir", cp_test_free_port());
    ctl_acme_config_t cfg = {.directory = url, .ca_file = env.pebble.ca_file, .deadline_ms = 5000};
    assert_int_equal(ctl_acme_new(&cfg, &env.hooks, &c, &err), 0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_EUNAVAIL);
    printf("[ info ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "ACME directory"));
    assert_no_account_stored("-");
    ctl_acme_free(c);
}

static void test_untrusted_tls_fails_at_once_without_retries(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    ctl_acme_stats_t st;
    ctl_acme_config_t cfg = {.directory = env.pebble.directory_url, .deadline_ms = 5000};
    assert_int_equal(ctl_acme_new(&cfg, &env.hooks, &c, &err), 0);
    assert_int_equal(ctl_acme_account_ensure(c, &err), CP_EUNAVAIL);
    printf("[ info ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "TLS certificate was not trusted"));
    ctl_acme_get_stats(c, &st);
    assert_int_equal(st.requests, 1); /* another CA will not appear by retrying */
    ctl_acme_free(c);
}

static void test_unknown_provider_and_plain_http_are_rejected(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_t *c = NULL;
    ctl_acme_config_t cfg = {.directory = "letsencrypt-typo"};
    assert_int_equal(ctl_acme_new(&cfg, NULL, &c, &err), CP_EINVAL);
    cfg.directory = "http://127.0.0.1:1/dir";
    assert_int_equal(ctl_acme_new(&cfg, NULL, &c, &err), CP_EINVAL);
    assert_string_equal(ctl_acme_directory_url("zerossl"), "https://acme.zerossl.com/v2/DV90");
}

static void test_unanswered_challenge_fails_and_leaves_nothing(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    const char *names[] = {"answered.example", "unanswered.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 2, .key_type = CP_KEY_EC_P256};
    ctl_acme_t *c = eab_client("fail@certplane.example", EAB_KEY);
    env.present_drops = 1;
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), CP_EACME);
    env.present_drops = 0;
    printf("[ info ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "authorization for dns"));
    assert_non_null(strstr(err.msg, "urn:ietf:params:acme:error:"));
    assert_null(res.fullchain_pem);
    assert_true(env.n_tokens > 0);
    assert_true(acme_env_no_challenge_left(&env));
    ctl_acme_free(c);
}

static void test_rejected_identifiers_are_clear_errors(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    ctl_acme_t *c = eab_client("fail@certplane.example", EAB_KEY);
    const char *blocked[] = {"ok.example", "blocked.example"};
    ctl_acme_request_t req = {.names = blocked, .n_names = 2};
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), CP_EACME);
    printf("[ info ] %s\n", err.msg);
    assert_non_null(strstr(err.msg, "newOrder: urn:ietf:params:acme:error:rejectedIdentifier"));

    const char *bad[] = {"bad_name!.example"};
    req.names = bad;
    req.n_names = 1;
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), CP_EACME);
    printf("[ info ] %s\n", err.msg);

    const char *wild[] = {"*.nodns.example"};
    req.names = wild;
    assert_int_equal(ctl_acme_issue(c, &req, &res, &err), CP_EINVAL);
    printf("[ info ] %s\n", err.msg);
    assert_null(res.fullchain_pem);
    ctl_acme_free(c);
}

static void test_dns_exec_failure_is_reported(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_dns_t *dns = NULL;
    assert_int_equal(ctl_acme_dns_exec_new("/bin/false", 2000, &dns, &err), 0);
    assert_int_equal(dns->ops->present(dns, "_acme-challenge.x.example.", "v", &err), CP_EIO);
    printf("[ info ] %s\n", err.msg);
    ctl_acme_dns_free(dns);
    assert_int_equal(ctl_acme_dns_exec_new("/bin/sleep", 300, &dns, &err), 0);
    /* `sleep present ...` fails fast; the timeout is proven with a program that blocks on input. */
    ctl_acme_dns_free(dns);
    assert_int_equal(ctl_acme_dns_exec_new("relative/path", 0, &dns, &err), CP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eab_required_missing_is_a_clear_error_and_stores_nothing),
        cmocka_unit_test(test_eab_wrong_key_fails),
        cmocka_unit_test(test_eab_account_then_issue),
        cmocka_unit_test(test_unreachable_directory_is_a_network_error),
        cmocka_unit_test(test_untrusted_tls_fails_at_once_without_retries),
        cmocka_unit_test(test_unknown_provider_and_plain_http_are_rejected),
        cmocka_unit_test(test_unanswered_challenge_fails_and_leaves_nothing),
        cmocka_unit_test(test_rejected_identifiers_are_clear_errors),
        cmocka_unit_test(test_dns_exec_failure_is_reported),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
