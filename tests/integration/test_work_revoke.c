/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_revoke.c - RevokeCertificate queues the revocation; a worker revokes at Pebble with the
 * account that issued the certificate and commits REVOKED */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controller/service/service.h"
#include "shared/x509.h"
#include "tests/integration/test_work_env.h"

static work_env_t env;

static int setup(void **state)
{
    (void)state;
    return work_env_setup(&env, 0);
}

static int teardown(void **state)
{
    (void)state;
    return work_env_teardown(&env);
}

static const ctl_caller_t ADMIN = {.scopes = CTL_SCOPE_ADMIN, .token_id = "adm", .peer = "test"};

/* Pebble's view of a certificate: 1 when it is revoked. */
static int pebble_revoked(const char *fullchain)
{
    cp_x509_chain_t *ch = NULL;
    cp_x509_info_t info = {0};
    char path[256], *body = NULL;
    assert_int_equal(cp_x509_chain_parse(fullchain, strlen(fullchain), &ch, NULL), 0);
    assert_int_equal(cp_x509_info_get(ch->certs[0], &info, NULL), 0);
    snprintf(path, sizeof(path), "/cert-status-by-serial/%s", info.serial);
    assert_int_equal(cp_test_pebble_mgmt_get(&env.acme.pebble, path, &body), 0);
    int r = strstr(body, "Revoked") != NULL;
    free(body);
    cp_x509_info_dispose(&info);
    cp_x509_chain_free(ch);
    return r;
}

/* RevokeCertificate through the service core, as both transports call it. */
static int revoke(const ctl_config_t *cfg, const char *name, int reason, cp_err_t *err)
{
    ctl_service_t *svc = NULL;
    ProtobufCMessage *resp = NULL;
    Certplane__V1__RevokeCertificateRequest rr = CERTPLANE__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    rr.name = (char *)name;
    rr.reason = reason;
    assert_int_equal(ctl_service_new(cfg, &svc, NULL), 0);
    ctl_thread_t *t = ctl_thread_new(svc);
    assert_non_null(t);
    int64_t t0 = work_env_now_ms();
    int rc = ctl_service_invoke(svc, t, &ADMIN, ctl_service_rpc_by_name("RevokeCertificate"),
                                &rr.base, &resp, err);
    printf("[ revoke ] %s: RevokeCertificate answered in %lld ms\n", name,
           (long long)(work_env_now_ms() - t0));
    protobuf_c_message_free_unpacked(resp, NULL);
    ctl_thread_free(t);
    ctl_service_free(svc);
    return rc;
}

/* Issues `name` through the workers of cfg, revokes it, and checks the end: REVOKED in Redis, out
 * of the renewal index, revoked at Pebble. */
static void issue_then_revoke(ctl_config_t *cfg, const char *name)
{
    cp_err_t err = {0};
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, name, CP_KEY_EC_P256, 30000), 0);
    Certplane__V1__Certificate *c =
        work_env_wait(&env, name, CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(c);
    assert_false(pebble_revoked(c->fullchain_pem));
    if (revoke(cfg, name, 4, &err) != 0)
        fail_msg("RevokeCertificate: %s", err.msg);
    Certplane__V1__Certificate *r =
        work_env_wait(&env, name, CERTPLANE__V1__STATE__REVOKED, NULL, 60000);
    assert_non_null(r);
    assert_string_equal(r->last_error, "");
    assert_null(r->renew_after);
    assert_string_equal(r->serial, c->serial);
    assert_true(pebble_revoked(c->fullchain_pem));
    ctl_work_stats_t st;
    ctl_work_get_stats(w, &st);
    printf("[ revoke ] %s: jobs acked %lu\n", name, st.jobs_acked);
    work_env_cert_free(r);
    work_env_cert_free(c);
    work_env_halt(&env, w);
}

static void test_revocation_is_queued_and_a_worker_revokes_at_the_ca(void **state)
{
    (void)state;
    issue_then_revoke(work_env_config(&env, "ctl-r1", 1, 30000), "rv-one");
}

/* The worker stores a contactless account under the email "-"; the revocation must use that same
 * account. (The old synchronous revoke path looked the account up under "" and could not revoke.)
 */
static void test_contactless_account_revokes_what_it_issued(void **state)
{
    (void)state;
    ctl_config_t *cfg = work_env_config(&env, "ctl-r2", 1, 30000);
    cfg->acme_email = NULL;
    env.email[0] = '\0';
    issue_then_revoke(cfg, "rv-nomail");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revocation_is_queued_and_a_worker_revokes_at_the_ca),
        cmocka_unit_test(test_contactless_account_revokes_what_it_issued),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
