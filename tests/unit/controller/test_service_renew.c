/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_renew.c - RenewCertificate: an issued certificate is queued for renewal, a never
 * issued one stays pending, a revoked one is refused and an unknown one is not found */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "tests/unit/controller/service_fixture.h"

static int renew(const char *name, Certplane__V1__Certificate **out, cp_err_t *err)
{
    Certplane__V1__RenewCertificateRequest rr = CERTPLANE__V1__RENEW_CERTIFICATE_REQUEST__INIT;
    rr.name = (char *)name;
    return sf_call(&SF_ADMIN, "RenewCertificate", &rr, (void **)out, err);
}

static void test_renew_of_an_unknown_name_is_not_found(void **state)
{
    (void)state;
    cp_err_t err;
    assert_int_equal(renew("nope", NULL, &err), CP_ENOTFOUND);
}

static void test_renew_of_an_issued_certificate_answers_renewing_without_the_key(void **state)
{
    (void)state;
    cp_err_t err;
    sf_import_ok("ren");
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(renew("ren", &c, &err), 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__RENEWING);
    assert_string_equal(c->private_key_pem, "");
    sf_free_msg(c);
}

static void test_renew_of_an_issued_certificate_queues_one_job(void **state)
{
    (void)state;
    cp_err_t err;
    sf_import_ok("ren-job");
    long long jobs = sf_snap().jobs;
    assert_int_equal(renew("ren-job", NULL, &err), 0);
    assert_int_equal(sf_snap().jobs, jobs + 1);
}

static void test_renew_of_a_never_issued_certificate_stays_pending(void **state)
{
    (void)state;
    cp_err_t err;
    sf_create_ok("web", "web.example.com");
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(renew("web", &c, &err), 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__PENDING);
    sf_free_msg(c);
}

static void
test_renew_of_a_revoked_certificate_is_failed_precondition_and_changes_nothing(void **state)
{
    (void)state;
    cp_err_t err;
    sf_import_ok("ren-revoked");
    sf_force_state("ren-revoked", CERTPLANE__V1__STATE__REVOKED);
    sf_snap_t before = sf_snap();
    assert_int_equal(renew("ren-revoked", NULL, &err), CP_ESTATE);
    assert_int_equal(cp_err_grpc_status(CP_ESTATE), 9);
    sf_snap_t after = sf_snap();
    assert_memory_equal(&before, &after, sizeof before);
}

static void test_renew_refuses_an_invalid_name(void **state)
{
    (void)state;
    Certplane__V1__RenewCertificateRequest rn = CERTPLANE__V1__RENEW_CERTIFICATE_REQUEST__INIT;
    rn.name = "a_b";
    sf_expect_bad("RenewCertificate", &rn, CP_EINVAL, "name:", "renew a_b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renew_of_an_unknown_name_is_not_found),
        cmocka_unit_test(test_renew_of_an_issued_certificate_answers_renewing_without_the_key),
        cmocka_unit_test(test_renew_of_an_issued_certificate_queues_one_job),
        cmocka_unit_test(test_renew_of_a_never_issued_certificate_stays_pending),
        cmocka_unit_test(
            test_renew_of_a_revoked_certificate_is_failed_precondition_and_changes_nothing),
        cmocka_unit_test(test_renew_refuses_an_invalid_name),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
