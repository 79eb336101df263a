/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_providers.c - named providers and ordered issuers end to end: the work machinery
 * against two test ACME fronts (tests/support/acme_front.py) in front of one Pebble, as CA #1 and
 * CA #2, and a second Pebble that requires external account binding. Issuance falls over to #2
 * while #1 refuses connections, answers 5xx or rate limits for long, and the next renewal returns
 * to #1 once it is back; a provider with EAB and an RSA account key issues at the EAB Pebble. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "controller/config/providers.h"
#include "controller/gateway/http01.h"
#include "controller/store/store_jobs.h"
#include "controller/work/work_acme.h"
#include "tests/integration/test_work_env.h"
#include "tests/support/acme_front.h"

/* An hour: no lifetime rule renews during the test; only the windows the test moves do. */
#define VALIDITY_S 3600
#define EAB_KID "kid-providers"
#define EAB_KEY "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"

static work_env_t env;
static cp_test_front_t one, two; /* CA #1 and CA #2 (the same Pebble behind both) */
static cp_test_pebble_t eab;     /* a Pebble that requires EAB */
static ctl_provider_t providers[3];
static char *issuers_12[] = {"one", "two"};
static char *issuers_eab[] = {"eabca"};

static int setup(void **state)
{
    (void)state;
    if (work_env_setup(&env, VALIDITY_S) != 0)
        return -1;
    cp_test_front_opts_t o = {.retry_after_s = 1};
    if (cp_test_front_start(&one, &env.acme.pebble, &o) != 0 ||
        cp_test_front_start(&two, &env.acme.pebble, &o) != 0)
        return -1;
    const char *far = "{\"certID\": \"*\", \"startIn\": 1800, \"endIn\": 2400}";
    if (cp_test_front_post(&one, "/window", far) != 0 ||
        cp_test_front_post(&two, "/window", far) != 0)
        return -1;
    cp_test_pebble_opts_t po = {.http_port = ctl_http01_server_port(env.acme.http01),
                                .validity_s = VALIDITY_S,
                                .eab_kid = EAB_KID,
                                .eab_key = EAB_KEY};
    if (cp_test_pebble_start(&eab, &po) != 0)
        return -1;
    providers[0] = (ctl_provider_t){.name = "one",
                                    .directory = one.directory_url,
                                    .ca_file = one.ca_file,
                                    .account_key_type = CP_KEY_EC_P256};
    providers[1] = (ctl_provider_t){.name = "two",
                                    .directory = two.directory_url,
                                    .ca_file = two.ca_file,
                                    .account_key_type = CP_KEY_EC_P256};
    providers[2] = (ctl_provider_t){.name = "eabca",
                                    .directory = eab.directory_url,
                                    .ca_file = eab.ca_file,
                                    .eab_kid = EAB_KID,
                                    .eab_hmac_key = EAB_KEY,
                                    .account_key_type = CP_KEY_RSA_2048};
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < WORK_ENV_MAX; i++)
        work_env_halt(&env, env.works[i]);
    cp_test_front_stop(&one);
    cp_test_front_stop(&two);
    cp_test_pebble_stop(&eab);
    return work_env_teardown(&env);
}

/* The only controller running, with the three providers and --issuers `issuers`. */
static ctl_work_t *run_controller(const char *id, char **issuers, size_t n)
{
    for (int i = 0; i < WORK_ENV_MAX; i++)
        work_env_halt(&env, env.works[i]);
    ctl_config_t *cfg = work_env_config(&env, id, 1, 10000);
    assert_non_null(cfg);
    cfg->providers = providers;
    cfg->n_providers = 3;
    cfg->issuers = issuers;
    cfg->n_issuers = n;
    cfg->failover_rate_limit_ms = 3600000;
    cfg->ari_poll_min_ms = 1000;
    cfg->ari_poll_max_ms = 2000;
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    return w;
}

/* newOrders for `name` the front passed to Pebble (201). */
static int orders_at(const cp_test_front_t *f, const char *name)
{
    char domain[128], *body = NULL;
    snprintf(domain, sizeof(domain), "%s.example.test", name);
    assert_int_equal(cp_test_front_get(f, "/orders", &body), 0);
    json_t *all = json_loads(body, 0, NULL), *o;
    free(body);
    assert_non_null(all);
    size_t i;
    int n = 0;
    json_array_foreach(all, i, o)
    {
        const char *v = json_string_value(
            json_object_get(json_array_get(json_object_get(o, "identifiers"), 0), "value"));
        if (v != NULL && strcmp(v, domain) == 0 &&
            json_integer_value(json_object_get(o, "status")) == 201)
            n++;
    }
    json_decref(all);
    return n;
}

/* Issues `name` while CA #1 is in outage `mode`: CA #2 issues it. */
static Certplane__V1__Certificate *issue_during_outage(const char *name, const char *mode)
{
    assert_int_equal(cp_test_front_post(&one, "/outage", mode), 0);
    assert_int_equal(work_env_create(&env, name, CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *c =
        work_env_wait(&env, name, CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_int_equal(cp_test_front_post(&one, "/outage", "{\"mode\": \"ok\"}"), 0);
    assert_non_null(c);
    assert_int_equal(work_env_verify(&env, c), 0);
    assert_string_equal(c->issued_by, "two");
    assert_int_equal(orders_at(&one, name), 0);
    assert_int_equal(orders_at(&two, name), 1);
    return c;
}

static void test_failover_to_the_second_ca_and_back(void **state)
{
    (void)state;
    ctl_work_t *w = run_controller("ctl-prov-a", issuers_12, 2);
    /* #1 healthy: #1 issues. */
    assert_int_equal(work_env_create(&env, "prov-ok", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *ok =
        work_env_wait(&env, "prov-ok", CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(ok);
    assert_string_equal(ok->issued_by, "one");
    assert_int_equal(orders_at(&two, "prov-ok"), 0);
    /* #1 down (connection refused; 500 answers): #2 issues. */
    Certplane__V1__Certificate *a = issue_during_outage("prov-refuse", "{\"mode\": \"refuse\"}");
    Certplane__V1__Certificate *b =
        issue_during_outage("prov-5xx", "{\"mode\": \"5xx\", \"status\": 500}");
    /* #1 is back; #2 (whose ARI the controller follows now) moves the window of the first to
     * now: the renewal goes to #1 again. */
    char body[256];
    snprintf(body, sizeof(body), "{\"certID\": \"%s\", \"startIn\": -5, \"endIn\": 1}",
             a->ari_cert_id);
    assert_int_equal(cp_test_front_post(&two, "/window", body), 0);
    Certplane__V1__Certificate *next =
        work_env_wait(&env, "prov-refuse", CERTPLANE__V1__STATE__VALID, a->serial, 40000);
    assert_non_null(next);
    assert_int_equal(work_env_verify(&env, next), 0);
    assert_string_equal(next->issued_by, "one");
    assert_int_equal(orders_at(&one, "prov-refuse"), 1);
    assert_int_equal(orders_at(&two, "prov-refuse"), 1);
    printf("[ providers ] refuse and 5xx at #1: issued by %s and %s; renewal returned to %s\n",
           a->issued_by, b->issued_by, next->issued_by);
    /* Last (the account stays held back at #1 for two hours): #1 rate limits with a Retry-After
     * beyond --failover-rate-limit, so #2 issues instead of the certificate waiting. */
    Certplane__V1__Certificate *r =
        issue_during_outage("prov-429", "{\"mode\": \"429\", \"retryAfter\": 7200}");
    work_env_cert_free(r);
    work_env_halt(&env, w);
    work_env_cert_free(next);
    work_env_cert_free(a);
    work_env_cert_free(b);
    work_env_cert_free(ok);
}

/* A provider with its own EAB pair and RSA account keys: the EAB Pebble accepts the account and
 * issues; the stored account key is RSA. */
static void test_provider_with_eab_and_rsa_account(void **state)
{
    (void)state;
    ctl_work_t *w = run_controller("ctl-prov-eab", issuers_eab, 1);
    assert_int_equal(work_env_create(&env, "prov-eab", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *c =
        work_env_wait(&env, "prov-eab", CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(c);
    assert_string_equal(c->issued_by, "eabca");
    assert_true(cp_test_pebble_new_orders(&eab) >= 1);
    char *pem = NULL, *url = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_account_get(env.acme.store, eab.directory_url,
                                           ctl_work_acme_account_email(env.email), &pem, &url,
                                           &err),
                     0);
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    assert_non_null(key);
    assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_RSA);
    assert_int_equal(EVP_PKEY_get_bits(key), 2048);
    printf("[ providers ] EAB provider: account %s, RSA %d\n", url, EVP_PKEY_get_bits(key));
    EVP_PKEY_free(key);
    BIO_free(bio);
    free(pem);
    free(url);
    work_env_halt(&env, w);
    work_env_cert_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failover_to_the_second_ca_and_back),
        cmocka_unit_test(test_provider_with_eab_and_rsa_account),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
