/* SPDX-License-Identifier: Apache-2.0 */
/* test_gateway_certs.c - the certificate resources over REST end to end: create, get, list and
 * delete, each answer's status and JSON, and repeated reads following each change */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>

#include "tests/unit/controller/gateway_fixture.h"

/* ---- create --------------------------------------------------------------------------------- */

static void test_create_answers_200_json_with_the_pending_certificate(void **state)
{
    (void)state;
    gw_resp_t r = gw_post("/v1/certificates", GW_ADMIN, GW_CERT("web1"));
    assert_string_equal(r.ctype, "application/json");
    gw_expect(r, 200, -1, "\"state\":\"PENDING\"");
}

static void test_create_of_an_existing_name_answers_409_already_exists(void **state)
{
    (void)state;
    gw_create_ok("dup1");
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("dup1")), 409, 6, NULL);
}

/* ---- get ------------------------------------------------------------------------------------ */

static void test_get_answers_200_with_the_certificate(void **state)
{
    (void)state;
    gw_create_ok("get1");
    gw_expect(gw_http("GET", "/v1/certificates/get1", GW_READ, NULL, NULL, 0), 200, -1,
              "\"name\":\"get1\"");
}

static void test_get_decodes_percent_escapes_in_the_name(void **state)
{
    (void)state;
    gw_create_ok("get2");
    gw_expect(gw_http("GET", "/v1/certificates/get%32", GW_READ, NULL, NULL, 0), 200, -1,
              "\"get2\"");
}

static void test_get_private_key_as_reader_answers_403(void **state)
{
    (void)state;
    gw_create_ok("key1");
    gw_expect(
        gw_http("GET", "/v1/certificates/key1?includePrivateKey=true", GW_READ, NULL, NULL, 0), 403,
        7, NULL);
}

static void test_get_private_key_as_admin_accepts_the_snake_case_parameter(void **state)
{
    (void)state;
    gw_create_ok("key2");
    gw_expect(
        gw_http("GET", "/v1/certificates/key2?include_private_key=true", GW_ADMIN, NULL, NULL, 0),
        200, -1, "key2");
}

static void test_get_with_a_non_boolean_include_private_key_answers_400(void **state)
{
    (void)state;
    gw_create_ok("key3");
    gw_expect(
        gw_http("GET", "/v1/certificates/key3?includePrivateKey=maybe", GW_ADMIN, NULL, NULL, 0),
        400, 3, "include_private_key");
}

/* ---- list ----------------------------------------------------------------------------------- */

static void test_list_filtered_by_state_with_camel_case_page_size_answers_200(void **state)
{
    (void)state;
    gw_create_ok("list1");
    gw_expect(gw_http("GET", "/v1/certificates?pageSize=1&state=PENDING", GW_READ, NULL, NULL, 0),
              200, -1, "\"certificates\":[");
}

/* "a0" sorts before every other name here, so a page of one holds it. */
static void test_list_accepts_the_snake_case_page_size(void **state)
{
    (void)state;
    gw_create_ok("a0");
    gw_expect(gw_http("GET", "/v1/certificates?page_size=1", GW_READ, NULL, NULL, 0), 200, -1,
              "a0");
}

static void test_list_with_an_unknown_parameter_answers_400_naming_it(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/v1/certificates?bogus=1", GW_READ, NULL, NULL, 0), 400, 3, "bogus");
}

static void test_list_with_an_unknown_state_answers_400(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/v1/certificates?state=NOPE", GW_READ, NULL, NULL, 0), 400, 3,
              "state");
}

/* ---- delete --------------------------------------------------------------------------------- */

static void test_delete_answers_200_with_an_empty_object(void **state)
{
    (void)state;
    gw_create_ok("del1");
    gw_expect(gw_http("DELETE", "/v1/certificates/del1", GW_ADMIN, NULL, NULL, 0), 200, -1, "{}");
}

static void test_delete_of_a_deleted_certificate_answers_404(void **state)
{
    (void)state;
    gw_create_ok("del2");
    gw_expect(gw_http("DELETE", "/v1/certificates/del2", GW_ADMIN, NULL, NULL, 0), 200, -1, "{}");
    gw_expect(gw_http("DELETE", "/v1/certificates/del2", GW_ADMIN, NULL, NULL, 0), 404, 5, NULL);
}

static void test_get_of_a_deleted_certificate_answers_404(void **state)
{
    (void)state;
    gw_create_ok("del3");
    gw_expect(gw_http("DELETE", "/v1/certificates/del3", GW_ADMIN, NULL, NULL, 0), 200, -1, "{}");
    gw_expect(gw_http("GET", "/v1/certificates/del3", GW_READ, NULL, NULL, 0), 404, 5, NULL);
}

/* ---- repeated reads ------------------------------------------------------------------------- */

/* Reads come from the service's cache and the loop's encoded answers: equal while nothing changes,
 * the new content at once after a change through this controller. */
static void test_repeated_reads_follow_each_change(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, GW_CERT("web2")), 200, -1, NULL);
    gw_resp_t a = gw_http("GET", "/v1/certificates/web2", GW_READ, NULL, NULL, 0);
    assert_int_equal(a.status, 200);
    for (int i = 0; i < 5; i++) {
        gw_resp_t b = gw_http("GET", "/v1/certificates/web2", GW_READ, NULL, NULL, 0);
        assert_int_equal(b.status, 200);
        assert_string_equal(a.body, b.body);
        free(b.body);
    }
    free(a.body);
    gw_expect(gw_http("DELETE", "/v1/certificates/web2", GW_ADMIN, NULL, NULL, 0), 200, -1, "{}");
    gw_expect(gw_http("GET", "/v1/certificates/web2", GW_READ, NULL, NULL, 0), 404, 5, NULL);
    gw_expect(gw_post("/v1/certificates", GW_ADMIN,
                      "{\"name\":\"web2\",\"domains\":[\"web2.example.com\"],"
                      "\"email\":\"other@example.com\"}"),
              200, -1, NULL);
    gw_expect(gw_http("GET", "/v1/certificates/web2", GW_READ, NULL, NULL, 0), 200, -1,
              "\"email\":\"other@example.com\"");
    gw_expect(gw_http("DELETE", "/v1/certificates/web2", GW_ADMIN, NULL, NULL, 0), 200, -1, "{}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_answers_200_json_with_the_pending_certificate),
        cmocka_unit_test(test_create_of_an_existing_name_answers_409_already_exists),
        cmocka_unit_test(test_get_answers_200_with_the_certificate),
        cmocka_unit_test(test_get_decodes_percent_escapes_in_the_name),
        cmocka_unit_test(test_get_private_key_as_reader_answers_403),
        cmocka_unit_test(test_get_private_key_as_admin_accepts_the_snake_case_parameter),
        cmocka_unit_test(test_get_with_a_non_boolean_include_private_key_answers_400),
        cmocka_unit_test(test_list_filtered_by_state_with_camel_case_page_size_answers_200),
        cmocka_unit_test(test_list_accepts_the_snake_case_page_size),
        cmocka_unit_test(test_list_with_an_unknown_parameter_answers_400_naming_it),
        cmocka_unit_test(test_list_with_an_unknown_state_answers_400),
        cmocka_unit_test(test_delete_answers_200_with_an_empty_object),
        cmocka_unit_test(test_delete_of_a_deleted_certificate_answers_404),
        cmocka_unit_test(test_get_of_a_deleted_certificate_answers_404),
        cmocka_unit_test(test_repeated_reads_follow_each_change),
    };
    return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
