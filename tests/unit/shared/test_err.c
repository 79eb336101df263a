/* SPDX-License-Identifier: Apache-2.0 */
/* test_err.c - unit tests of the error table and the fixed-buffer error detail */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <string.h>

#include "shared/err.h"

static void test_every_code_has_text_name_and_grpc_status(void **state)
{
    (void)state;
    static const int codes[] = {
#define X(name, num, grpc, text) CP_##name,
        CP_ERR_MAP(X)
#undef X
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(cp_strerror(codes[i]), "unknown error");
        assert_string_not_equal(cp_errname(codes[i]), "EUNKNOWN");
        int g = cp_err_grpc_status(codes[i]);
        assert_true(g > 0 && g <= 16);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
    assert_string_equal(cp_strerror(12345), "unknown error");
    assert_int_equal(cp_err_grpc_status(12345), 2);
    assert_int_equal(cp_err_grpc_status(CP_OK), 0);
}

static void test_grpc_mapping_matches_the_gateway_table(void **state)
{
    (void)state;
    assert_int_equal(cp_err_grpc_status(CP_EINVAL), 3);    /* INVALID_ARGUMENT -> 400 */
    assert_int_equal(cp_err_grpc_status(CP_ENOTFOUND), 5); /* NOT_FOUND -> 404 */
    assert_int_equal(cp_err_grpc_status(CP_EEXIST), 6);    /* ALREADY_EXISTS -> 409 */
    assert_int_equal(cp_err_grpc_status(CP_EAUTH), 16);    /* UNAUTHENTICATED -> 401 */
    assert_int_equal(cp_err_grpc_status(CP_EPERM), 7);     /* PERMISSION_DENIED -> 403 */
    assert_int_equal(cp_err_grpc_status(CP_EUNAVAIL), 14); /* UNAVAILABLE -> 503 */
}

static void test_set_formats_and_truncates(void **state)
{
    (void)state;
    cp_err_t err;
    assert_int_equal(cp_err_set(&err, CP_EINVAL, "domains[%d]: %s", 2, "expected string"),
                     CP_EINVAL);
    assert_int_equal(err.code, CP_EINVAL);
    assert_string_equal(err.msg, "domains[2]: expected string");
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cp_err_set(&err, CP_ETOOBIG, "%s", big);
    assert_int_equal(strlen(err.msg), CP_ERR_MSG_MAX - 1);
    assert_int_equal(cp_err_set(NULL, CP_EIO, "x"), CP_EIO);
}

static void test_prefix_builds_a_path(void **state)
{
    (void)state;
    cp_err_t err;
    cp_err_set(&err, CP_EINVAL, "expected string");
    cp_err_prefix(&err, "domains[%d]", 2);
    cp_err_prefix(&err, "certificate");
    assert_string_equal(err.msg, "certificate: domains[2]: expected string");
    cp_err_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
    cp_err_prefix(&err, "alone");
    assert_string_equal(err.msg, "alone");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_text_name_and_grpc_status),
        cmocka_unit_test(test_grpc_mapping_matches_the_gateway_table),
        cmocka_unit_test(test_set_formats_and_truncates),
        cmocka_unit_test(test_prefix_builds_a_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
