/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_account.c - accounts against real Pebble and Redis: reuse, revocation, key rollover */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "controller/acme/acme_internal.h"
#include "tests/integration/acme_env.h"

static acme_env_t env;

static int group_setup(void **state)
{
    (void)state;
    cp_test_pebble_opts_t opts = {0};
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

static void test_account_is_reused_across_runs_through_redis(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_stats_t st;
    char *key_pem = NULL, *url = NULL;

    ctl_acme_t *c1 = acme_env_client(&env, "reuse@certplane.example", CP_KEY_EC_P256, 60000);
    assert_int_equal(ctl_acme_account_ensure(c1, &err), 0);
    ctl_acme_get_stats(c1, &st);
    assert_int_equal(st.accounts_created, 1);
    char *url1 = strdup(ctl_acme_account_url(c1));
    ctl_acme_free(c1);

    /* Stored in Redis: key and URL. */
    assert_int_equal(ctl_store_account_get(env.store, env.pebble.directory_url,
                                           "reuse@certplane.example", &key_pem, &url, &err),
                     0);
    assert_string_equal(url, url1);
    free(key_pem);
    free(url);

    /* Second run: a lookup with the stored key, no creation. */
    ctl_acme_t *c2 = acme_env_client(&env, "reuse@certplane.example", CP_KEY_RSA_2048, 60000);
    assert_int_equal(ctl_acme_account_ensure(c2, &err), 0);
    ctl_acme_get_stats(c2, &st);
    assert_int_equal(st.accounts_created, 0);
    assert_int_equal(st.account_lookups, 1);
    assert_string_equal(ctl_acme_account_url(c2), url1);
    ctl_acme_free(c2);
    free(url1);
}

static void test_rsa_account_key_rs256(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t res = {0};
    const char *names[] = {"rs256.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 1, .key_type = CP_KEY_EC_P256};
    ctl_acme_t *c = acme_env_client(&env, "rs256@certplane.example", CP_KEY_RSA_2048, 60000);
    assert_int_equal(acme_env_issue(&env, c, &req, &res, &err), 0);
    assert_int_equal(acme_env_verify(&env, &res, names, 1), 0);
    ctl_acme_result_dispose(&res);
    ctl_acme_free(c);
}

/* Pebble's view of a certificate: "Revoked" or "Good" in /cert-status-by-serial/<hex>. */
static int revoked(const char *fullchain)
{
    cp_x509_chain_t *ch = NULL;
    cp_x509_info_t info = {0};
    char path[256], *body = NULL;
    assert_int_equal(cp_x509_chain_parse(fullchain, strlen(fullchain), &ch, NULL), 0);
    assert_int_equal(cp_x509_info_get(ch->certs[0], &info, NULL), 0);
    snprintf(path, sizeof(path), "/cert-status-by-serial/%s", info.serial);
    assert_int_equal(cp_test_pebble_mgmt_get(&env.pebble, path, &body), 0);
    int r = strstr(body, "Revoked") != NULL;
    assert_true(r || strstr(body, "Valid") != NULL || strstr(body, "Good") != NULL);
    free(body);
    cp_x509_info_dispose(&info);
    cp_x509_chain_free(ch);
    return r;
}

static void test_revocation_by_account_and_by_certificate_key(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_acme_result_t a = {0}, b = {0};
    const char *na[] = {"revoke-a.example"}, *nb[] = {"revoke-b.example"};
    ctl_acme_request_t ra = {.names = na, .n_names = 1, .key_type = CP_KEY_EC_P256};
    ctl_acme_request_t rb = {.names = nb, .n_names = 1, .key_type = CP_KEY_RSA_2048};
    ctl_acme_t *c = acme_env_client(&env, "revoke@certplane.example", CP_KEY_EC_P256, 60000);
    assert_int_equal(acme_env_issue(&env, c, &ra, &a, &err), 0);
    assert_int_equal(acme_env_issue(&env, c, &rb, &b, &err), 0);
    assert_false(revoked(a.fullchain_pem));

    /* By the account (kid), reason 4 = superseded. */
    assert_int_equal(ctl_acme_revoke(c, a.fullchain_pem, 4, NULL, &err), 0);
    assert_true(revoked(a.fullchain_pem));
    assert_false(revoked(b.fullchain_pem));
    /* Twice: the CA says alreadyRevoked, readable. */
    assert_int_equal(ctl_acme_revoke(c, a.fullchain_pem, 4, NULL, &err), CP_EACME);
    printf("[ info ] second revocation: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "revokeCert"));

    /* By the certificate's own key (jwk), reason 1 = keyCompromise. */
    EVP_PKEY *key = NULL;
    assert_int_equal(cp_x509_key_from_pem(b.private_key_pem, strlen(b.private_key_pem), &key, NULL),
                     0);
    assert_int_equal(ctl_acme_revoke(c, b.fullchain_pem, 1, key, &err), 0);
    assert_true(revoked(b.fullchain_pem));
    EVP_PKEY_free(key);
    ctl_acme_result_dispose(&a);
    ctl_acme_result_dispose(&b);
    ctl_acme_free(c);
}

static void test_key_rollover_old_key_fails_new_key_works(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tp_new[64], tp_stored[64];
    char *key_pem = NULL, *url = NULL;
    ctl_acme_result_t res = {0};
    const char *names[] = {"rollover.example"};
    ctl_acme_request_t req = {.names = names, .n_names = 1, .key_type = CP_KEY_EC_P256};

    ctl_acme_t *c = acme_env_client(&env, "roll@certplane.example", CP_KEY_EC_P256, 60000);
    assert_int_equal(ctl_acme_account_ensure(c, &err), 0);
    EVP_PKEY *old_key = c->account_key;
    EVP_PKEY_up_ref(old_key);
    char *acct = strdup(ctl_acme_account_url(c));

    assert_int_equal(ctl_acme_account_rollover(c, CP_KEY_EC_P256, &err), 0);
    assert_string_equal(ctl_acme_account_url(c), acct);
    assert_int_equal(acme_env_issue(&env, c, &req, &res, &err), 0);
    ctl_acme_result_dispose(&res);

    /* Redis holds the new key. */
    assert_int_equal(ctl_store_account_get(env.store, env.pebble.directory_url,
                                           "roll@certplane.example", &key_pem, &url, &err),
                     0);
    EVP_PKEY *stored = NULL;
    assert_int_equal(cp_x509_key_from_pem(key_pem, strlen(key_pem), &stored, NULL), 0);
    assert_int_equal(ctl_acme__thumbprint(stored, tp_stored, sizeof(tp_stored), NULL), 0);
    assert_int_equal(ctl_acme_account_thumbprint(c, tp_new, sizeof(tp_new), NULL), 0);
    assert_string_equal(tp_stored, tp_new);
    assert_string_equal(url, acct);

    /* The old key no longer opens the account. */
    ctl_acme_t *old = acme_env_client(&env, "roll-old@certplane.example", CP_KEY_EC_P256, 60000);
    old->account_key = old_key;
    old->account_url = strdup(acct);
    old->account_checked = 1;
    int rc = ctl_acme_issue(old, &req, &res, &err);
    printf("[ info ] old key after rollover: %s\n", err.msg);
    assert_int_equal(rc, CP_EACME);
    assert_non_null(strstr(err.msg, "urn:ietf:params:acme:error:"));

    EVP_PKEY_free(stored);
    free(key_pem);
    free(url);
    free(acct);
    ctl_acme_free(old);
    ctl_acme_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_account_is_reused_across_runs_through_redis),
        cmocka_unit_test(test_rsa_account_key_rs256),
        cmocka_unit_test(test_revocation_by_account_and_by_certificate_key),
        cmocka_unit_test(test_key_rollover_old_key_fails_new_key_works),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
