/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_delete.c - DeleteCertificate: one revision removes the record and its index entry,
 * and the name is then not found */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>

#include "tests/unit/controller/service_fixture.h"

/* Creates name and deletes it as admin; returns the revision before the delete. */
static long long create_and_delete(const char *name)
{
    cp_err_t err;
    char domain[128];
    snprintf(domain, sizeof domain, "%s.example.com", name);
    sf_create_ok(name, domain);
    Certplane__V1__DeleteCertificateRequest dr = CERTPLANE__V1__DELETE_CERTIFICATE_REQUEST__INIT;
    dr.name = (char *)name;
    long long rev = sf_snap().revision;
    assert_int_equal(sf_call(&SF_ADMIN, "DeleteCertificate", &dr, NULL, &err), 0);
    return rev;
}

static void test_delete_removes_record_and_index_entry_in_one_revision(void **state)
{
    (void)state;
    long long rev = create_and_delete("del");
    assert_int_equal(sf_snap().revision, rev + 1);
    assert_int_equal(sf_raw_int("EXISTS %s", "cert:del"), 0);
    assert_int_equal(sf_raw_int("ZSCORE certs %s", "del"), 0);
}

static void test_delete_of_a_deleted_certificate_is_not_found(void **state)
{
    (void)state;
    cp_err_t err;
    create_and_delete("del-twice");
    Certplane__V1__DeleteCertificateRequest dr = CERTPLANE__V1__DELETE_CERTIFICATE_REQUEST__INIT;
    dr.name = "del-twice";
    assert_int_equal(sf_call(&SF_ADMIN, "DeleteCertificate", &dr, NULL, &err), CP_ENOTFOUND);
    assert_string_equal(err.msg, "certificate \"del-twice\" not found");
}

static void test_get_of_a_deleted_certificate_is_not_found(void **state)
{
    (void)state;
    cp_err_t err;
    create_and_delete("del-get");
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "del-get";
    assert_int_equal(sf_call(&SF_READ, "GetCertificate", &g, NULL, &err), CP_ENOTFOUND);
}

static void test_delete_refuses_an_invalid_name(void **state)
{
    (void)state;
    Certplane__V1__DeleteCertificateRequest dl = CERTPLANE__V1__DELETE_CERTIFICATE_REQUEST__INIT;
    dl.name = "..";
    sf_expect_bad("DeleteCertificate", &dl, CP_EINVAL, "name:", "delete ..");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_removes_record_and_index_entry_in_one_revision),
        cmocka_unit_test(test_delete_of_a_deleted_certificate_is_not_found),
        cmocka_unit_test(test_get_of_a_deleted_certificate_is_not_found),
        cmocka_unit_test(test_delete_refuses_an_invalid_name),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
