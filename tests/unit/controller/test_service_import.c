/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_import.c - ImportCertificate with auto_renew gets the one renewal policy (renew.h):
 * the same jitter and clamp as an issued certificate */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "controller/service/service.h"
#include "controller/work/renew.h"
#include "shared/x509.h"
#include "tests/support/harness.h"

static cp_test_redis_t g_redis;
static ctl_config_t g_cfg;
static ctl_service_t *g_svc;
static ctl_thread_t *g_t;

static const ctl_caller_t ADMIN = {.scopes = CTL_SCOPE_ADMIN, .token_id = "adm", .peer = "t"};

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(cp_test_redis_start(&g_redis, NULL), 0);
    g_cfg.redis_url = g_redis.url;
    g_cfg.api_tokens = (char *)"t:admin";
    g_cfg.acme_email = (char *)"ops@example.com";
    g_cfg.acme_provider = (char *)"letsencrypt-staging";
    g_cfg.job_timeout_ms = 30000;
    assert_int_equal(ctl_service_new(&g_cfg, &g_svc, NULL), 0);
    g_t = ctl_thread_new(g_svc);
    assert_non_null(g_t);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ctl_thread_free(g_t);
    ctl_service_free(g_svc);
    cp_test_redis_stop(&g_redis);
    return 0;
}

/* Imports a fresh self-signed certificate valid `days` under `name` with auto_renew; returns the
 * response (renew_after, not_before, not_after set). */
static Certplane__V1__Certificate *import(const char *name, int days)
{
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    char *pem = NULL, *key = NULL;
    const char *names[] = {"import.example.com"};
    assert_int_equal(cp_x509_key_generate(CP_KEY_EC_P256, &k, NULL), 0);
    assert_int_equal(cp_x509_self_signed(k, names, 1, days, &x, NULL), 0);
    assert_int_equal(cp_x509_cert_to_pem(x, &pem, NULL), 0);
    assert_int_equal(cp_x509_key_to_pem(k, &key, NULL), 0);
    Certplane__V1__ImportCertificateRequest r = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    r.name = (char *)name;
    r.fullchain_pem = pem;
    r.private_key_pem = key;
    r.auto_renew = true;
    ProtobufCMessage *out = NULL;
    cp_err_t err = {0};
    int rc = ctl_service_invoke(g_svc, g_t, &ADMIN, ctl_service_rpc_by_name("ImportCertificate"),
                                &r.base, &out, &err);
    if (rc != 0)
        fail_msg("ImportCertificate: %s", err.msg);
    free(pem);
    free(key);
    X509_free(x);
    EVP_PKEY_free(k);
    return (Certplane__V1__Certificate *)out;
}

static int64_t ms(const Google__Protobuf__Timestamp *ts)
{
    assert_non_null(ts);
    return ts->seconds * 1000 + ts->nanos / 1000000;
}

/* 90 days: renewal a third of the lifetime before the end, made earlier by the policy's jitter (a
 * part fixed by the name plus a random part), exactly as ctl_renew_at_ms() places an issued one. */
static void test_imported_certificate_renews_with_the_policy_jitter(void **state)
{
    (void)state;
    g_cfg.renew_before_ms = 0;
    const char *name = "imported-jitter";
    Certplane__V1__Certificate *c = import(name, 90);
    int64_t nb = c->not_before->seconds * 1000, na = c->not_after->seconds * 1000;
    int64_t at = ms(c->renew_after);
    int64_t lead = ctl_renew_lead_ms(nb, na, 0);
    int64_t spread = ctl_renew_spread_ms(lead);
    int64_t fixed = ctl_renew_jitter_ms(name, spread, 0); /* the part fixed by the name */
    /* The test tells the policies apart only when the name's part is not tiny. */
    assert_true(fixed > 1000);
    assert_true(at <= na - lead - fixed);
    assert_true(at > na - lead - spread);
    /* The same range the policy gives an issued certificate, whatever its random part. */
    assert_true(at <= ctl_renew_at_ms(name, nb, na, 0, 0));
    assert_true(at >= ctl_renew_at_ms(name, nb, na, 0, (uint64_t)(spread / 2 - 1)));
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

/* --renew-before longer than the lifetime is held back to the floor after not_before (issue #12).
 */
static void test_imported_certificate_renewal_is_clamped_to_its_lifetime(void **state)
{
    (void)state;
    g_cfg.renew_before_ms = 365LL * 86400 * 1000;
    Certplane__V1__Certificate *c = import("imported-clamp", 30);
    int64_t nb = c->not_before->seconds * 1000, na = c->not_after->seconds * 1000;
    assert_int_equal(ms(c->renew_after), nb + ctl_renew_floor_ms(nb, na));
    g_cfg.renew_before_ms = 0;
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imported_certificate_renews_with_the_policy_jitter),
        cmocka_unit_test(test_imported_certificate_renewal_is_clamped_to_its_lifetime),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
