/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_read.c - GetCertificate and ListCertificates: paging in name order, the state
 * filter, no private keys in lists, and malformed reads failing without changing Redis */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tests/unit/controller/service_fixture.h"

/* Walks every page of page_size as a reader; each page holds at most page_size certificates, names
 * rise strictly across pages and none carries a private key. Returns how many were listed. */
static size_t walk_pages(int page_size)
{
    cp_err_t err;
    Certplane__V1__ListCertificatesRequest lr = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    lr.page_size = page_size;
    char token[256] = "";
    size_t total = 0, pages = 0;
    char last[64] = "";
    do {
        lr.page_token = token;
        Certplane__V1__ListCertificatesResponse *resp = NULL;
        assert_int_equal(sf_call(&SF_READ, "ListCertificates", &lr, (void **)&resp, &err), 0);
        assert_true(resp->n_certificates <= (size_t)page_size);
        for (size_t i = 0; i < resp->n_certificates; i++) {
            assert_true(strcmp(last, resp->certificates[i]->name) < 0);
            snprintf(last, sizeof last, "%s", resp->certificates[i]->name);
            assert_string_equal(resp->certificates[i]->private_key_pem, "");
        }
        total += resp->n_certificates;
        pages++;
        snprintf(token, sizeof token, "%s", resp->next_page_token);
        sf_free_msg(resp);
    } while (token[0] != '\0' && pages < 100);
    return total;
}

static void test_list_pages_of_two_cover_every_certificate_once_in_name_order(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    const char *names[] = {"l-a", "l-b", "l-c", "l-d", "l-e"};
    for (size_t i = 0; i < 5; i++) {
        char d[64];
        snprintf(d, sizeof d, "%s.example.com", names[i]);
        sf_free_msg(sf_create(names[i], d, &err, &rc));
        assert_int_equal(rc, 0);
    }
    assert_int_equal(walk_pages(2), (size_t)sf_raw_int("ZCARD %s", "certs"));
}

static void test_list_never_returns_private_keys_even_of_imported_certificates(void **state)
{
    (void)state;
    sf_import_ok("l-keyed-a");
    sf_import_ok("l-keyed-b");
    assert_true(walk_pages(2) >= 2);
}

static void test_list_filtered_by_state_returns_only_that_state(void **state)
{
    (void)state;
    cp_err_t err;
    sf_import_ok("l-valid-a");
    sf_import_ok("l-valid-b");
    sf_create_ok("l-pending", "l-pending.example.com");
    Certplane__V1__ListCertificatesRequest lr = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    lr.page_size = 0;
    lr.page_token = "";
    lr.state = CERTPLANE__V1__STATE__VALID;
    Certplane__V1__ListCertificatesResponse *resp = NULL;
    assert_int_equal(sf_call(&SF_READ, "ListCertificates", &lr, (void **)&resp, &err), 0);
    assert_true(resp->n_certificates >= 2);
    for (size_t i = 0; i < resp->n_certificates; i++)
        assert_int_equal(resp->certificates[i]->state, CERTPLANE__V1__STATE__VALID);
    assert_string_equal(resp->next_page_token, "");
    sf_free_msg(resp);
}

static void test_get_refuses_invalid_names(void **state)
{
    (void)state;
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "../etc";
    sf_expect_bad("GetCertificate", &g, CP_EINVAL, "name:", "get ../etc");
    g.name = "";
    sf_expect_bad("GetCertificate", &g, CP_EINVAL, "name:", "get empty");
}

static void test_get_of_an_unknown_name_is_not_found(void **state)
{
    (void)state;
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = "absent";
    sf_expect_bad("GetCertificate", &g, CP_ENOTFOUND, "certificate \"absent\" not found",
                  "get absent");
}

static void test_list_refuses_a_page_size_out_of_range(void **state)
{
    (void)state;
    Certplane__V1__ListCertificatesRequest l = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    l.page_size = 1001;
    sf_expect_bad("ListCertificates", &l, CP_EINVAL, "page_size", "page_size 1001");
    l.page_size = -1;
    sf_expect_bad("ListCertificates", &l, CP_EINVAL, "page_size", "page_size -1");
}

static void test_list_refuses_page_tokens_it_did_not_make(void **state)
{
    (void)state;
    Certplane__V1__ListCertificatesRequest l = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    l.page_token = "!!!";
    sf_expect_bad("ListCertificates", &l, CP_EINVAL, "invalid page_token", "token !!!");
    l.page_token = "Li4veA"; /* "../x" */
    sf_expect_bad("ListCertificates", &l, CP_EINVAL, "invalid page_token", "token ../x");
    l.page_token = "d2Vi="; /* padding is not ours */
    sf_expect_bad("ListCertificates", &l, CP_EINVAL, "invalid page_token", "token padded");
}

static void test_list_refuses_an_unknown_state(void **state)
{
    (void)state;
    Certplane__V1__ListCertificatesRequest l = CERTPLANE__V1__LIST_CERTIFICATES_REQUEST__INIT;
    l.page_token = "";
    l.state = (Certplane__V1__State)42;
    sf_expect_bad("ListCertificates", &l, CP_EINVAL, "state", "state 42");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_pages_of_two_cover_every_certificate_once_in_name_order),
        cmocka_unit_test(test_list_never_returns_private_keys_even_of_imported_certificates),
        cmocka_unit_test(test_list_filtered_by_state_returns_only_that_state),
        cmocka_unit_test(test_get_refuses_invalid_names),
        cmocka_unit_test(test_get_of_an_unknown_name_is_not_found),
        cmocka_unit_test(test_list_refuses_a_page_size_out_of_range),
        cmocka_unit_test(test_list_refuses_page_tokens_it_did_not_make),
        cmocka_unit_test(test_list_refuses_an_unknown_state),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
