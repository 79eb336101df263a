/* SPDX-License-Identifier: Apache-2.0 */
/* test_gateway_errors.c - client errors over REST end to end: each bad request answers its HTTP
 * status with the JSON error shape and its gRPC code */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"
#include "tests/unit/controller/gateway_fixture.h"

/* ---- who may call --------------------------------------------------------------------------- */

static void test_create_without_a_token_answers_401(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", NULL, GW_CERT("e1")), 401, 16, NULL);
}

static void test_create_with_an_unknown_token_answers_401(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", "wrong-token", GW_CERT("e1")), 401, 16, NULL);
}

static void test_create_as_reader_answers_403(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", GW_READ, GW_CERT("e1")), 403, 7, NULL);
}

/* ---- bodies --------------------------------------------------------------------------------- */

static void test_create_with_a_domain_that_is_no_string_answers_400_naming_it(void **state)
{
    (void)state;
    gw_expect(
        gw_post("/v1/certificates", GW_ADMIN, "{\"name\":\"e1\",\"domains\":[\"ok.example\",7]}"),
        400, 3, "domains[1]");
}

static void test_create_with_truncated_json_answers_400(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, "{\"name\":"), 400, 3, "invalid JSON");
}

static void test_create_with_a_non_json_content_type_answers_415(void **state)
{
    (void)state;
    gw_expect(gw_http("POST", "/v1/certificates", GW_ADMIN, "text/plain", GW_CERT("e1"),
                      strlen(GW_CERT("e1"))),
              415, 3, NULL);
}

static void test_create_with_a_body_over_one_mib_answers_413(void **state)
{
    (void)state;
    size_t big = 1024 * 1024 + 1;
    char *body = cp_xmalloc(big);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    gw_expect(gw_http("POST", "/v1/certificates", GW_ADMIN, NULL, body, big), 413, 8, NULL);
    free(body);
}

static void test_import_of_unparsable_pem_answers_400(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates:import", GW_ADMIN,
                      "{\"name\":\"imp\",\"fullchainPem\":\"junk\",\"privateKeyPem\":\"junk\"}"),
              400, 3, NULL);
}

/* ---- paths and methods ---------------------------------------------------------------------- */

static void test_get_of_an_escaped_path_traversal_answers_400(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/v1/certificates/..%2Fetc", GW_READ, NULL, NULL, 0), 400, 3, NULL);
}

static void test_get_with_a_bad_percent_escape_answers_400(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/v1/certificates/a%zz", GW_READ, NULL, NULL, 0), 400, 3, "percent");
}

static void test_unknown_path_answers_404(void **state)
{
    (void)state;
    gw_expect(gw_http("GET", "/v1/nothing", GW_READ, NULL, NULL, 0), 404, 5, NULL);
}

static void test_unsupported_method_answers_405_with_the_allowed_ones(void **state)
{
    (void)state;
    gw_resp_t r = gw_http("PUT", "/v1/certificates/web1", GW_ADMIN, NULL, NULL, 0);
    assert_string_equal(r.allow, "GET, DELETE");
    gw_expect(r, 405, 12, NULL);
}

/* ---- custom methods ------------------------------------------------------------------------- */

static void test_revoke_with_a_body_name_other_than_the_path_answers_400(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates/x1:revoke", GW_ADMIN, "{\"name\":\"x2\"}"), 400, 3, "path");
}

static void test_revoke_of_an_unknown_certificate_answers_404(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates/x1:revoke", GW_ADMIN, "{\"reason\":1}"), 404, 5, NULL);
}

static void test_renew_of_an_unknown_certificate_with_an_empty_body_answers_404(void **state)
{
    (void)state;
    gw_expect(gw_post("/v1/certificates/x1:renew", GW_ADMIN, ""), 404, 5, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_without_a_token_answers_401),
        cmocka_unit_test(test_create_with_an_unknown_token_answers_401),
        cmocka_unit_test(test_create_as_reader_answers_403),
        cmocka_unit_test(test_create_with_a_domain_that_is_no_string_answers_400_naming_it),
        cmocka_unit_test(test_create_with_truncated_json_answers_400),
        cmocka_unit_test(test_create_with_a_non_json_content_type_answers_415),
        cmocka_unit_test(test_create_with_a_body_over_one_mib_answers_413),
        cmocka_unit_test(test_import_of_unparsable_pem_answers_400),
        cmocka_unit_test(test_get_of_an_escaped_path_traversal_answers_400),
        cmocka_unit_test(test_get_with_a_bad_percent_escape_answers_400),
        cmocka_unit_test(test_unknown_path_answers_404),
        cmocka_unit_test(test_unsupported_method_answers_405_with_the_allowed_ones),
        cmocka_unit_test(test_revoke_with_a_body_name_other_than_the_path_answers_400),
        cmocka_unit_test(test_revoke_of_an_unknown_certificate_answers_404),
        cmocka_unit_test(test_renew_of_an_unknown_certificate_with_an_empty_body_answers_404),
    };
    return cmocka_run_group_tests(tests, gw_setup, gw_teardown);
}
