/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_auth.c - the service core's bearer tokens (file and list), its token configuration,
 * the scope each RPC needs, and a Redis it cannot reach */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "tests/unit/controller/service_fixture.h"

/* ---- authentication ------------------------------------------------------------------------- */

static void test_file_admin_token_gets_admin_scope_and_an_id_that_hides_it(void **state)
{
    (void)state;
    ctl_caller_t c;
    cp_err_t err = {0};
    assert_int_equal(ctl_service_authenticate(g_svc, "file-admin-token", "p", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_ADMIN);
    assert_null(strstr(c.token_id, "admin-token"));
}

static void test_file_read_token_with_spaces_and_comment_gets_read_scope(void **state)
{
    (void)state;
    ctl_caller_t c;
    cp_err_t err = {0};
    assert_int_equal(ctl_service_authenticate(g_svc, "file-read-token", "p", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_READ);
}

static void test_list_token_with_colons_gets_its_scope(void **state)
{
    (void)state;
    ctl_caller_t c;
    cp_err_t err = {0};
    assert_int_equal(ctl_service_authenticate(g_svc, "list:admin:token", "p", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_ADMIN);
}

static void test_edge_token_gets_edge_scope_and_keeps_the_peer(void **state)
{
    (void)state;
    ctl_caller_t c;
    cp_err_t err = {0};
    assert_int_equal(ctl_service_authenticate(g_svc, "edge-token", "1.2.3.4", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_EDGE);
    assert_string_equal(c.peer, "1.2.3.4");
}

static void test_missing_token_is_refused(void **state)
{
    (void)state;
    ctl_caller_t c;
    cp_err_t err = {0};
    assert_int_equal(ctl_service_authenticate(g_svc, NULL, "p", &c, &err), CP_EAUTH);
    assert_string_equal(err.msg, "missing bearer token");
}

static void test_prefix_of_a_token_is_an_unknown_token(void **state)
{
    (void)state;
    ctl_caller_t c;
    cp_err_t err = {0};
    assert_int_equal(ctl_service_authenticate(g_svc, "edge-toke", "p", &c, &err), CP_EAUTH);
    assert_string_equal(err.msg, "unknown token");
}

static void test_comment_in_the_tokens_file_is_not_a_token(void **state)
{
    (void)state;
    ctl_caller_t c;
    cp_err_t err = {0};
    assert_int_equal(ctl_service_authenticate(g_svc, "reader", "p", &c, &err), CP_EAUTH);
}

/* ---- token configuration -------------------------------------------------------------------- */

static void test_unknown_scope_is_refused_without_quoting_the_token(void **state)
{
    (void)state;
    ctl_config_t cfg = g_cfg;
    ctl_service_t *svc = (ctl_service_t *)1;
    cp_err_t err = {0};
    cfg.api_tokens_file = NULL;
    cfg.api_tokens = "sekrit:superuser";
    assert_int_equal(ctl_service_new(&cfg, &svc, &err), CP_EINVAL);
    assert_null(svc);
    assert_null(strstr(err.msg, "sekrit"));
}

static void test_token_without_a_scope_is_refused(void **state)
{
    (void)state;
    ctl_config_t cfg = g_cfg;
    ctl_service_t *svc = NULL;
    cp_err_t err = {0};
    cfg.api_tokens_file = NULL;
    cfg.api_tokens = "sekrit";
    assert_int_equal(ctl_service_new(&cfg, &svc, &err), CP_EINVAL);
}

static void test_missing_tokens_file_is_an_io_error(void **state)
{
    (void)state;
    ctl_config_t cfg = g_cfg;
    ctl_service_t *svc = NULL;
    cp_err_t err = {0};
    cfg.api_tokens = NULL;
    cfg.api_tokens_file = "/nonexistent/tokens";
    assert_int_equal(ctl_service_new(&cfg, &svc, &err), CP_EIO);
}

static void test_insecure_no_auth_admits_a_caller_without_token_as_admin(void **state)
{
    (void)state;
    ctl_config_t cfg = g_cfg;
    ctl_service_t *svc = NULL;
    cp_err_t err = {0};
    cfg.api_tokens = NULL;
    cfg.api_tokens_file = NULL;
    cfg.insecure_no_auth = true;
    assert_int_equal(ctl_service_new(&cfg, &svc, &err), 0);
    ctl_caller_t c;
    assert_int_equal(ctl_service_authenticate(svc, NULL, "p", &c, &err), 0);
    assert_int_equal(c.scopes, CTL_SCOPE_ADMIN);
    ctl_service_free(svc);
}

/* ---- scopes --------------------------------------------------------------------------------- */

static void test_create_needs_the_admin_scope(void **state)
{
    (void)state;
    cp_err_t err;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__CreateCertificateRequest cr = CERTPLANE__V1__CREATE_CERTIFICATE_REQUEST__INIT;
    char *d[] = {"s.example.com"};
    c.name = "s";
    c.n_domains = 1;
    c.domains = d;
    cr.certificate = &c;
    assert_int_equal(sf_call(&SF_READ, "CreateCertificate", &cr, NULL, &err), CP_EPERM);
    assert_string_equal(err.msg, "permission denied: CreateCertificate needs the admin scope");
    assert_int_equal(sf_call(&SF_EDGE, "CreateCertificate", &cr, NULL, &err), CP_EPERM);
}

static void test_list_needs_the_read_scope(void **state)
{
    (void)state;
    cp_err_t err;
    Certplane__V1__ListCertificatesRequest lr = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    assert_int_equal(sf_call(&SF_EDGE, "ListCertificates", &lr, NULL, &err), CP_EPERM);
    assert_string_equal(err.msg, "permission denied: ListCertificates needs the read scope");
}

static void test_edge_report_needs_the_edge_scope(void **state)
{
    (void)state;
    cp_err_t err;
    Certplane__V1__ReportEdgeStatusRequest er = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    er.edge_id = "e1";
    assert_int_equal(sf_call(&SF_READ, "ReportEdgeStatus", &er, NULL, &err), CP_EPERM);
    assert_string_equal(err.msg, "permission denied: ReportEdgeStatus needs the edge scope");
}

static void test_delete_of_an_existing_certificate_needs_the_admin_scope(void **state)
{
    (void)state;
    cp_err_t err;
    sf_create_ok("scope-del", "scope-del.example.com");
    Certplane__V1__DeleteCertificateRequest dr = CERTPLANE__V1__DELETE_CERTIFICATE_REQUEST__INIT;
    dr.name = "scope-del";
    assert_int_equal(sf_call(&SF_READ, "DeleteCertificate", &dr, NULL, &err), CP_EPERM);
}

static void test_private_key_of_an_existing_certificate_needs_the_admin_scope(void **state)
{
    (void)state;
    cp_err_t err;
    sf_create_ok("scope-key", "scope-key.example.com");
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "scope-key";
    g.include_private_key = true;
    assert_int_equal(sf_call(&SF_READ, "GetCertificate", &g, NULL, &err), CP_EPERM);
    assert_string_equal(err.msg, "permission denied: include_private_key needs the admin scope");
    assert_int_equal(sf_call(&SF_EDGE, "GetCertificate", &g, NULL, &err), CP_EPERM);
}

/* ---- a Redis that cannot be reached --------------------------------------------------------- */

typedef struct outage {
    ctl_service_t *svc;
    ctl_thread_t *t;
} outage_t;

static outage_t outage_new(void)
{
    ctl_config_t cfg = g_cfg;
    outage_t o = {0};
    cfg.redis_url = "redis://127.0.0.1:1";
    assert_int_equal(ctl_service_new(&cfg, &o.svc, NULL), 0);
    o.t = ctl_thread_new(o.svc);
    return o;
}

static void outage_free(outage_t o)
{
    ctl_thread_free(o.t);
    ctl_service_free(o.svc);
}

static void test_redis_outage_makes_calls_unavailable_naming_the_address(void **state)
{
    (void)state;
    outage_t o = outage_new();
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "web";
    ProtobufCMessage *out = NULL;
    cp_err_t err = {0};
    int rc = ctl_service_invoke(o.svc, o.t, &SF_ADMIN, ctl_service_rpc_by_name("GetCertificate"),
                                &g.base, &out, &err);
    assert_int_equal(rc, CP_EUNAVAIL);
    assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    outage_free(o);
}

static void test_redis_outage_makes_that_service_not_ready_and_no_other(void **state)
{
    (void)state;
    outage_t o = outage_new();
    assert_int_equal(ctl_service_start(o.svc, NULL), 0);
    assert_false(ctl_service_ready(o.svc, o.t));
    /* Ready needs the event relay too: a started service on the live Redis. */
    ctl_service_t *up = NULL;
    assert_int_equal(ctl_service_new(&g_cfg, &up, NULL), 0);
    ctl_thread_t *t = ctl_thread_new(up);
    assert_false(ctl_service_ready(up, t));
    assert_int_equal(ctl_service_start(up, NULL), 0);
    assert_true(ctl_service_ready(up, t));
    ctl_thread_free(t);
    ctl_service_free(up);
    outage_free(o);
}

/* A controller may start before its Redis: the start does not fail, the service stays not ready. */
static void test_redis_outage_start_succeeds_and_stays_not_ready(void **state)
{
    (void)state;
    outage_t o = outage_new();
    cp_err_t serr = {0};
    assert_int_equal(ctl_service_start(o.svc, &serr), 0);
    assert_false(ctl_service_ready(o.svc, o.t));
    outage_free(o);
}

static void test_bearer_needs_the_scheme_in_any_case_and_a_token(void **state)
{
    (void)state;
    size_t n = 99;
    const char *v = "Bearer abc";
    assert_ptr_equal(ctl_service_bearer(v, strlen(v), &n), v + 7);
    assert_int_equal(n, 3);
    v = "bEARER   abc";
    assert_ptr_equal(ctl_service_bearer(v, strlen(v), &n), v + 9);
    assert_int_equal(n, 3);
    static const char *const no[] = {"abc",       "Bearer",    "Bearer ",
                                     "Bearer   ", "Basic abc", "Bearerabc"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_null(ctl_service_bearer(no[i], strlen(no[i]), &n));
    assert_null(ctl_service_bearer(NULL, 0, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_admin_token_gets_admin_scope_and_an_id_that_hides_it),
        cmocka_unit_test(test_file_read_token_with_spaces_and_comment_gets_read_scope),
        cmocka_unit_test(test_list_token_with_colons_gets_its_scope),
        cmocka_unit_test(test_edge_token_gets_edge_scope_and_keeps_the_peer),
        cmocka_unit_test(test_missing_token_is_refused),
        cmocka_unit_test(test_prefix_of_a_token_is_an_unknown_token),
        cmocka_unit_test(test_comment_in_the_tokens_file_is_not_a_token),
        cmocka_unit_test(test_unknown_scope_is_refused_without_quoting_the_token),
        cmocka_unit_test(test_token_without_a_scope_is_refused),
        cmocka_unit_test(test_missing_tokens_file_is_an_io_error),
        cmocka_unit_test(test_insecure_no_auth_admits_a_caller_without_token_as_admin),
        cmocka_unit_test(test_create_needs_the_admin_scope),
        cmocka_unit_test(test_list_needs_the_read_scope),
        cmocka_unit_test(test_edge_report_needs_the_edge_scope),
        cmocka_unit_test(test_delete_of_an_existing_certificate_needs_the_admin_scope),
        cmocka_unit_test(test_private_key_of_an_existing_certificate_needs_the_admin_scope),
        cmocka_unit_test(test_redis_outage_makes_calls_unavailable_naming_the_address),
        cmocka_unit_test(test_redis_outage_makes_that_service_not_ready_and_no_other),
        cmocka_unit_test(test_redis_outage_start_succeeds_and_stays_not_ready),
        cmocka_unit_test(test_bearer_needs_the_scheme_in_any_case_and_a_token),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
