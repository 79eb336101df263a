/* SPDX-License-Identifier: Apache-2.0 */
/* test_status.c - unit tests of the named gRPC status codes and their HTTP equivalents */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "shared/err.h"
#include "shared/status.h"

static void test_names_and_numbers_are_the_canonical_grpc_codes(void **state)
{
    (void)state;
    assert_int_equal(CP_GRPC_OK, 0);
    assert_int_equal(CP_GRPC_ABORTED, 10);
    assert_int_equal(CP_GRPC_UNIMPLEMENTED, 12);
    assert_int_equal(CP_GRPC_INTERNAL, 13);
    assert_int_equal(CP_GRPC_UNAUTHENTICATED, 16);
    assert_string_equal(cp_grpc_status_name(CP_GRPC_NOT_FOUND), "NOT_FOUND");
    assert_string_equal(cp_grpc_status_name(99), "UNKNOWN");
    for (int i = 0; i < CP_GRPC_N_CODES; i++)
        assert_string_not_equal(cp_grpc_status_name(i), "");
}

static void test_http_mapping_follows_grpc_gateway(void **state)
{
    (void)state;
    assert_int_equal(cp_grpc_http_status(CP_GRPC_OK), 200);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_CANCELLED), 499);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_INVALID_ARGUMENT), 400);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_FAILED_PRECONDITION), 400);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_NOT_FOUND), 404);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_ABORTED), 409);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_RESOURCE_EXHAUSTED), 429);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_UNIMPLEMENTED), 501);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_UNAVAILABLE), 503);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_UNAUTHENTICATED), 401);
    assert_int_equal(cp_grpc_http_status(CP_GRPC_DATA_LOSS), 500);
    assert_int_equal(cp_grpc_http_status(-3), 500);
}

static void test_error_codes_map_to_named_statuses(void **state)
{
    (void)state;
    assert_int_equal(cp_err_grpc_status(CP_OK), CP_GRPC_OK);
    assert_int_equal(cp_err_grpc_status(CP_ECONFLICT), CP_GRPC_ABORTED);
    assert_int_equal(cp_err_grpc_status(CP_EAUTH), CP_GRPC_UNAUTHENTICATED);
    assert_int_equal(cp_err_grpc_status(-999), CP_GRPC_UNKNOWN);
}

static void test_http_reasons_for_known_statuses_and_classes(void **state)
{
    (void)state;
    assert_string_equal(cp_http_reason(404), "Not Found");
    assert_string_equal(cp_http_reason(413), "Payload Too Large");
    assert_string_equal(cp_http_reason(499), "Client Closed Request");
    assert_string_equal(cp_http_reason(502), "Bad Gateway");
    assert_string_equal(cp_http_reason(299), "OK");
    assert_string_equal(cp_http_reason(418), "Client Error");
    assert_string_equal(cp_http_reason(599), "Server Error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_numbers_are_the_canonical_grpc_codes),
        cmocka_unit_test(test_http_mapping_follows_grpc_gateway),
        cmocka_unit_test(test_error_codes_map_to_named_statuses),
        cmocka_unit_test(test_http_reasons_for_known_statuses_and_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
