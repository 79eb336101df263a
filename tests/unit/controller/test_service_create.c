/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_create.c - CreateCertificate: what a valid request stores and queues, and each kind
 * of malformed request failing with its code and message while leaving Redis as it was */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "controller/config/providers.h"

#include <stdio.h>
#include <string.h>

#include "tests/unit/controller/service_fixture.h"

/* ---- valid requests ------------------------------------------------------------------------- */

static void test_create_stores_pending_with_normalized_domain_and_default_email(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    sf_snap_t before = sf_snap();
    Certplane__V1__Certificate *c = sf_create("web", "WWW.Example.COM.", &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__PENDING);
    assert_string_equal(c->domains[0], "www.example.com");
    assert_string_equal(c->email, "ops@example.com");
    assert_int_equal(c->revision, before.revision + 1);
    assert_non_null(c->create_time);
    assert_null(c->renew_after);
    sf_free_msg(c);
}

static void test_create_queues_one_issuance_job(void **state)
{
    (void)state;
    sf_snap_t before = sf_snap();
    sf_create_ok("web-job", "web-job.example.com");
    sf_snap_t after = sf_snap();
    assert_int_equal(after.jobs, before.jobs + 1);
}

static void test_created_certificate_is_returned_by_get_to_a_reader(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    Certplane__V1__Certificate *c = sf_create("web-get", "web-get.example.com", &err, &rc);
    assert_int_equal(rc, 0);
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "web-get";
    Certplane__V1__Certificate *got = NULL;
    assert_int_equal(sf_call(&SF_READ, "GetCertificate", &g, (void **)&got, &err), 0);
    assert_string_equal(got->name, "web-get");
    assert_int_equal(got->revision, c->revision);
    sf_free_msg(got);
    sf_free_msg(c);
}

static void test_create_of_an_existing_name_is_already_exists_and_changes_nothing(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    sf_create_ok("web-dup", "web-dup.example.com");
    sf_snap_t after = sf_snap();
    Certplane__V1__Certificate *c = sf_create("web-dup", "other.example.com", &err, &rc);
    assert_null(c);
    assert_int_equal(rc, CP_EEXIST);
    assert_int_equal(cp_err_grpc_status(rc), 6);
    assert_string_equal(err.msg, "certificate \"web-dup\" already exists");
    assert_int_equal(sf_snap().revision, after.revision);
}

/* ---- malformed requests: each gives its code and message and leaves Redis as it was --------- */

typedef struct create_case {
    const char *name;
    const char *domains[3]; /* NULL-terminated; "MANY": 101 names */
    const char *ip;
    const char *email;
    const char *provider;
    const char *profile;
    int key_type, challenge_type, state;
    int64_t revision;
    const char *fullchain;
    int code;
    const char *msg;
} create_case_t;

static void run_create_case(const char *table, size_t i, const create_case_t *k)
{
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__CreateCertificateRequest req = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    char *domains[101], many[101][32];
    char *ips[1] = {(char *)k->ip};
    size_t n = 0;
    for (; n < 3 && k->domains[n] != NULL; n++)
        domains[n] = (char *)k->domains[n];
    if (n == 1 && strcmp(k->domains[0], "MANY") == 0)
        for (n = 0; n < 101; n++) {
            snprintf(many[n], sizeof many[n], "n%zu.example.com", n);
            domains[n] = many[n];
        }
    c.name = (char *)k->name;
    c.n_domains = n;
    c.domains = domains;
    c.n_ip_addresses = k->ip != NULL;
    c.ip_addresses = ips;
    if (k->email != NULL)
        c.email = (char *)k->email;
    if (k->provider != NULL)
        c.provider = (char *)k->provider;
    if (k->profile != NULL)
        c.profile = (char *)k->profile;
    if (k->fullchain != NULL)
        c.fullchain_pem = (char *)k->fullchain;
    c.key_type = (Certplane__V1__KeyType)k->key_type;
    c.challenge_type = (Certplane__V1__ChallengeType)k->challenge_type;
    c.state = (Certplane__V1__State)k->state;
    c.revision = k->revision;
    req.certificate = &c;
    char what[96];
    snprintf(what, sizeof what, "%s case %zu", table, i);
    sf_expect_bad("CreateCertificate", &req, k->code, k->msg, what);
}

#define RUN_CASES(t)                                                                               \
    for (size_t i = 0; i < sizeof(t) / sizeof((t)[0]); i++)                                        \
    run_create_case(#t, i, &(t)[i])

static const create_case_t NAME_CASES[] = {
    {"", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"../x", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"a/b", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"Upper", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"a..b", {"a.example.com"}, .code = CP_EINVAL, .msg = "certificate.name"},
    {"x234567890123456789012345678901234567890123456789012345678901234",
     {"a.example.com"},
     .code = CP_EINVAL,
     .msg = "certificate.name"},
};

static void test_create_refuses_invalid_names(void **state)
{
    (void)state;
    RUN_CASES(NAME_CASES);
}

static const create_case_t DOMAIN_CASES[] = {
    {"ok", {NULL}, .code = CP_EINVAL, .msg = "certificate"},
    {"ok", {"bad..example.com"}, .code = CP_EINVAL, .msg = "certificate.domains[0]"},
    {"ok", {"-x.example.com"}, .code = CP_EINVAL, .msg = "certificate.domains[0]"},
    {"ok",
     {"a.example.com", "*.*.example.com"},
     .code = CP_EINVAL,
     .msg = "certificate.domains[1]"},
    {"ok", {"exa mple.com"}, .code = CP_EINVAL, .msg = "certificate.domains[0]"},
    {"ok", {"localhost"}, .code = CP_EINVAL, .msg = "certificate.domains[0]"},
};

static void test_create_refuses_missing_or_invalid_domains(void **state)
{
    (void)state;
    RUN_CASES(DOMAIN_CASES);
}

static const create_case_t DUPLICATE_DOMAIN_CASES[] = {
    {"ok", {"a.example.com", "A.example.com."}, .code = CP_EINVAL, .msg = "duplicate"},
};

static void test_create_refuses_domains_equal_after_normalization(void **state)
{
    (void)state;
    RUN_CASES(DUPLICATE_DOMAIN_CASES);
}

static const create_case_t TOO_MANY_DOMAIN_CASES[] = {
    {"ok", {"MANY"}, .code = CP_EINVAL, .msg = "certificate"},
};

static void test_create_refuses_more_than_100_domains(void **state)
{
    (void)state;
    RUN_CASES(TOO_MANY_DOMAIN_CASES);
}

static const create_case_t IP_CASES[] = {
    {"ok",
     {"a.example.com"},
     .ip = "1.2.3",
     .code = CP_EINVAL,
     .msg = "certificate.ip_addresses[0]"},
};

static void test_create_refuses_an_invalid_ip_address(void **state)
{
    (void)state;
    RUN_CASES(IP_CASES);
}

static const create_case_t OUTPUT_ONLY_CASES[] = {
    {"ok",
     {"a.example.com"},
     .state = 3,
     .code = CP_EINVAL,
     .msg = "certificate.state: output only"},
    {"ok",
     {"a.example.com"},
     .revision = 5,
     .code = CP_EINVAL,
     .msg = "certificate.revision: output only"},
    {"ok",
     {"a.example.com"},
     .fullchain = "x",
     .code = CP_EINVAL,
     .msg = "certificate.fullchain_pem: output only"},
};

static void test_create_refuses_output_only_fields(void **state)
{
    (void)state;
    RUN_CASES(OUTPUT_ONLY_CASES);
}

static void test_create_refuses_output_only_not_after(void **state)
{
    (void)state;
    Certplane__V1__CreateCertificateRequest cr = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char *d[] = {"t.example.com"};
    c.name = "t";
    c.n_domains = 1;
    c.domains = d;
    c.not_after = &ts;
    cr.certificate = &c;
    sf_expect_bad("CreateCertificate", &cr, CP_EINVAL, "certificate.not_after: output only",
                  "not_after");
}

static void test_create_without_a_certificate_is_refused(void **state)
{
    (void)state;
    Certplane__V1__CreateCertificateRequest cr = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    sf_expect_bad("CreateCertificate", &cr, CP_EINVAL, "certificate: required", "no certificate");
}

static const create_case_t EMAIL_CASES[] = {
    {"ok",
     {"a.example.com"},
     .email = "not-an-email",
     .code = CP_EINVAL,
     .msg = "certificate.email"},
    {"ok",
     {"a.example.com"},
     .email = "a@b@example.com",
     .code = CP_EINVAL,
     .msg = "certificate.email"},
};

static void test_create_refuses_invalid_emails(void **state)
{
    (void)state;
    RUN_CASES(EMAIL_CASES);
}

static const create_case_t PROVIDER_CASES[] = {
    {"ok",
     {"a.example.com"},
     .provider = "ftp://ca.example/dir",
     .code = CP_EINVAL,
     .msg = "certificate.provider: unknown provider"},
    {"ok",
     {"a.example.com"},
     .provider = "nosuchca",
     .code = CP_EINVAL,
     .msg = "certificate.provider"},
};

static void test_create_refuses_unknown_providers(void **state)
{
    (void)state;
    RUN_CASES(PROVIDER_CASES);
}

/* A provider of --providers-file is accepted by name; an unknown name is refused naming the
 * configured ones; issuers are checked one by one, and exclude provider; issued_by is output only.
 */
static void test_create_named_providers_and_issuers(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_provider_t ps[] = {
        {.name = "default", .directory = "letsencrypt-staging", .account_key_type = CP_KEY_EC_P256},
        {.name = "myca",
         .directory = "https://ca.example/dir",
         .account_key_type = CP_KEY_RSA_2048},
    };
    g_cfg.providers = ps;
    g_cfg.n_providers = 2;
    Certplane__V1__CreateCertificateRequest req = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    char *domains[] = {"named.example.com"};
    c.n_domains = 1;
    c.domains = domains;
    req.certificate = &c;
    Certplane__V1__Certificate *got = NULL;
    c.name = "named-myca";
    c.provider = "myca";
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), 0);
    assert_string_equal(got->provider, "myca");
    sf_free_msg(got);
    c.name = "named-unknown";
    c.provider = "nosuchca";
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "certificate.provider: unknown provider \"nosuchca\" "
                                    "(configured: default, myca;"));
    char *issuers[] = {"myca", "default"};
    c.issuers = issuers;
    c.n_issuers = 2;
    c.provider = "myca";
    c.name = "named-both";
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "set provider or issuers, not both"));
    c.provider = NULL;
    c.name = "named-issuers";
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), 0);
    assert_int_equal(got->n_issuers, 2);
    assert_string_equal(got->issuers[1], "default");
    sf_free_msg(got);
    issuers[1] = "nosuchca";
    c.name = "named-bad-issuer";
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "certificate.issuers[1]: unknown provider \"nosuchca\""));
    issuers[1] = "myca";
    c.name = "named-twice";
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "listed twice"));
    c.n_issuers = 0;
    c.issued_by = "myca";
    c.name = "named-issued-by";
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "certificate.issued_by: output only"));
    g_cfg.providers = NULL;
    g_cfg.n_providers = 0;
}

static const create_case_t PROFILE_CASES[] = {
    {"ok",
     {"a.example.com"},
     .profile = "two words",
     .code = CP_EINVAL,
     .msg = "certificate.profile"},
};

static void test_create_refuses_a_profile_with_a_space(void **state)
{
    (void)state;
    RUN_CASES(PROFILE_CASES);
}

#define STAGING "https://acme-staging-v02.api.letsencrypt.org/directory"

static const create_case_t NOT_OFFERED_CASES[] = {
    {"ok",
     {"a.example.com"},
     .profile = "tlsserver",
     .code = CP_EINVAL,
     .msg = "certificate.profile: \"tlsserver\" is not offered by " STAGING
            " (it offers: classic shortlived)"},
    {"ok",
     {"a.example.com"},
     .provider = "letsencrypt-staging",
     .profile = "tlsserver",
     .code = CP_EINVAL,
     .msg = "certificate.profile: \"tlsserver\""},
};

/* Issue #12: when a controller fetched the CA's directory lately (ca:profiles:{directory}), a
 * profile it does not offer is refused at create time; when nobody knows yet, it is accepted (and
 * checked at issuance). --acme-profile counts for certificates of the default CA. */
static void test_create_refuses_a_profile_the_ca_does_not_offer(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int rc = 0;
    Certplane__V1__CreateCertificateRequest req = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    char *domains[] = {"prof.example.com"};
    c.n_domains = 1;
    c.domains = domains;
    req.certificate = &c;
    /* Unknown directory: accepted. */
    c.name = "prof-unknown";
    c.profile = "tlsserver";
    Certplane__V1__Certificate *got = NULL;
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), 0);
    sf_free_msg(got);
    freeReplyObject(sf_raw("SET %s %s", "ca:profiles:" STAGING, "classic shortlived"));
    RUN_CASES(NOT_OFFERED_CASES);
    c.name = "prof-offered";
    c.profile = "shortlived";
    assert_int_equal(sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err), 0);
    assert_string_equal(got->profile, "shortlived");
    sf_free_msg(got);
    /* The default profile of the default CA (the provider "default", --acme-profile) is checked
     * the same way. */
    ctl_provider_t dflt = {.name = "default",
                           .directory = "letsencrypt-staging",
                           .profile = "tlsserver",
                           .account_key_type = CP_KEY_EC_P256};
    g_cfg.providers = &dflt;
    g_cfg.n_providers = 1;
    c.name = "prof-default";
    c.profile = NULL;
    rc = sf_call(&SF_ADMIN, "CreateCertificate", &req, (void **)&got, &err);
    g_cfg.providers = NULL;
    g_cfg.n_providers = 0;
    assert_int_equal(rc, CP_EINVAL);
    assert_non_null(strstr(err.msg, "\"tlsserver\" is not offered"));
    freeReplyObject(sf_raw("DEL %s", "ca:profiles:" STAGING));
}

static const create_case_t KEY_TYPE_CASES[] = {
    {"ok", {"a.example.com"}, .key_type = 99, .code = CP_EINVAL, .msg = "certificate.key_type"},
};

static void test_create_refuses_an_unknown_key_type(void **state)
{
    (void)state;
    RUN_CASES(KEY_TYPE_CASES);
}

static const create_case_t CHALLENGE_CASES[] = {
    {"ok",
     {"a.example.com"},
     .challenge_type = 7,
     .code = CP_EINVAL,
     .msg = "certificate.challenge_type"},
};

static void test_create_refuses_an_unknown_challenge_type(void **state)
{
    (void)state;
    RUN_CASES(CHALLENGE_CASES);
}

static const create_case_t WILDCARD_HTTP01_CASES[] = {
    {"ok",
     {"*.example.com"},
     .challenge_type = 1,
     .code = CP_EINVAL,
     .msg = "wildcard names need DNS_01"},
};

static void test_create_refuses_a_wildcard_with_http01(void **state)
{
    (void)state;
    RUN_CASES(WILDCARD_HTTP01_CASES);
}

static const create_case_t DNS_EXEC_CASES[] = {
    {"ok", {"*.example.com"}, .code = CP_ESTATE, .msg = "--dns-exec"},
    {"ok", {"a.example.com"}, .challenge_type = 2, .code = CP_ESTATE, .msg = "--dns-exec"},
};

static void test_create_needing_dns01_without_dns_exec_is_failed_precondition(void **state)
{
    (void)state;
    RUN_CASES(DNS_EXEC_CASES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_stores_pending_with_normalized_domain_and_default_email),
        cmocka_unit_test(test_create_queues_one_issuance_job),
        cmocka_unit_test(test_created_certificate_is_returned_by_get_to_a_reader),
        cmocka_unit_test(test_create_of_an_existing_name_is_already_exists_and_changes_nothing),
        cmocka_unit_test(test_create_refuses_invalid_names),
        cmocka_unit_test(test_create_refuses_missing_or_invalid_domains),
        cmocka_unit_test(test_create_refuses_domains_equal_after_normalization),
        cmocka_unit_test(test_create_refuses_more_than_100_domains),
        cmocka_unit_test(test_create_refuses_an_invalid_ip_address),
        cmocka_unit_test(test_create_refuses_output_only_fields),
        cmocka_unit_test(test_create_refuses_output_only_not_after),
        cmocka_unit_test(test_create_without_a_certificate_is_refused),
        cmocka_unit_test(test_create_refuses_invalid_emails),
        cmocka_unit_test(test_create_refuses_unknown_providers),
        cmocka_unit_test(test_create_named_providers_and_issuers),
        cmocka_unit_test(test_create_refuses_a_profile_with_a_space),
        cmocka_unit_test(test_create_refuses_a_profile_the_ca_does_not_offer),
        cmocka_unit_test(test_create_refuses_an_unknown_key_type),
        cmocka_unit_test(test_create_refuses_an_unknown_challenge_type),
        cmocka_unit_test(test_create_refuses_a_wildcard_with_http01),
        cmocka_unit_test(test_create_needing_dns01_without_dns_exec_is_failed_precondition),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
