/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_issue.c - issuance against real Pebble: HTTP-01, SANs and key types, DNS-01, IP
 * addresses */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/x509.h>

#include "controller/acme/acme_internal.h"
#include "tests/integration/acme_env.h"

static acme_env_t env;
static ctl_acme_t *client;

static int group_setup(void **state)
{
    (void)state;
    cp_test_pebble_opts_t opts = {.alternate_roots = 1};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (acme_env_start(&env, &opts) != 0)
        return -1;
    client = acme_env_client(&env, "issue@certplane.example", CP_KEY_EC_P256, 120000);
    return client ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    ctl_acme_stats_t st;
    ctl_acme_get_stats(client, &st);
    printf("[ stats ] %lu requests, %lu badNonce retries, %lu orders, %lu polls\n", st.requests,
           st.bad_nonce_retries, st.orders_created, st.polls);
    ctl_acme_free(client);
    acme_env_stop(&env);
    curl_global_cleanup();
    return 0;
}

static void issue_and_verify(const char *const *names, size_t n, cp_key_type_t type,
                             ctl_acme_dns_t *dns)
{
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    ctl_acme_request_t req = {.names = names, .n_names = n, .key_type = type, .dns = dns};
    assert_int_equal(acme_env_issue(&env, client, &req, &res, &err), 0);
    assert_int_equal(acme_env_verify(&env, &res, names, n), 0);
    assert_non_null(res.cert_url);
    assert_non_null(res.order_url);
    ctl_acme_result_dispose(&res);
    assert_true(acme_env_no_challenge_left(&env));
}

static void test_one_name_http01_rsa2048_default(void **state)
{
    (void)state;
    const char *names[] = {"one.certplane.example"};
    issue_and_verify(names, 1, CP_KEY_DEFAULT, NULL);
}

static void test_five_sans_every_key_type(void **state)
{
    (void)state;
    const char *names[] = {"a.five.example", "b.five.example", "c.five.example", "d.five.example",
                           "e.five.example"};
    const cp_key_type_t types[] = {CP_KEY_RSA_2048, CP_KEY_EC_P256, CP_KEY_EC_P384, CP_KEY_RSA_3072,
                                   CP_KEY_RSA_4096};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        issue_and_verify(names, 5, types[i], NULL);
}

static void test_wildcard_through_dns01_exec(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_dns_t *dns = NULL;
    assert_int_equal(ctl_acme_dns_exec_new(env.dns_script, 10000, &dns, &err), 0);
    const char *names[] = {"*.wild.example", "wild.example"};
    issue_and_verify(names, 2, CP_KEY_EC_P256, dns);
    ctl_acme_dns_free(dns);
}

static void test_ip_address_certificate_http01(void **state)
{
    (void)state;
    const char *names[] = {"127.0.0.1"};
    issue_and_verify(names, 1, CP_KEY_EC_P256, NULL);
}

static void test_mixed_dns_and_ip(void **state)
{
    (void)state;
    const char *names[] = {"mixed.example", "127.0.0.1"};
    issue_and_verify(names, 2, CP_KEY_EC_P256, NULL);
}

/* Subject CN of a certificate from Pebble's management API. */
static void mgmt_cn(const char *path, char *cn, size_t size)
{
    char *pem = NULL;
    cp_x509_chain_t *ch = NULL;
    assert_int_equal(cp_test_pebble_mgmt_get(&env.pebble, path, &pem), 0);
    assert_int_equal(cp_x509_chain_parse(pem, strlen(pem), &ch, NULL), 0);
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(ch->certs[0]), NID_commonName, cn,
                                          (int)size) > 0);
    cp_x509_chain_free(ch);
    free(pem);
}

static void test_preferred_chain_is_picked_among_alternates(void **state)
{
    (void)state;
    char root0[256], root1[256];
    cp_err_t err = {0};
    const char *names[] = {"chain.example"};
    mgmt_cn("/roots/0", root0, sizeof(root0));
    mgmt_cn("/roots/1", root1, sizeof(root1));
    assert_string_not_equal(root0, root1);
    for (int i = 0; i < 2; i++) {
        ctl_acme_result_t res = {0};
        const char *want = i == 0 ? root1 : root0;
        ctl_acme_request_t req = {
            .names = names, .n_names = 1, .key_type = CP_KEY_EC_P256, .preferred_chain = want};
        assert_int_equal(acme_env_issue(&env, client, &req, &res, &err), 0);
        assert_true(ctl_acme__chain_matches(res.fullchain_pem, want));
        printf("[ info ] preferred \"%s\": chain top issued by it\n", want);
        ctl_acme_result_dispose(&res);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_name_http01_rsa2048_default),
        cmocka_unit_test(test_five_sans_every_key_type),
        cmocka_unit_test(test_wildcard_through_dns01_exec),
        cmocka_unit_test(test_ip_address_certificate_http01),
        cmocka_unit_test(test_mixed_dns_and_ip),
        cmocka_unit_test(test_preferred_chain_is_picked_among_alternates),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
