/* SPDX-License-Identifier: Apache-2.0 */
/* test_http.c - certplanectl's REST client: error answers become codes and the API's message */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "controller/cli/http.h"

static void test_api_error_bodies_give_the_message_and_a_code(void **state)
{
    (void)state;
    cp_err_t err;
    const char *nf = "{\"code\":5,\"message\":\"certificate \\\"x\\\" not found\",\"details\":[]}";
    assert_int_equal(ctl_cli_http_error(404, nf, strlen(nf), &err), CP_ENOTFOUND);
    assert_string_equal(err.msg, "certificate \"x\" not found");
    const char *auth = "{\"code\":16,\"message\":\"unknown token\"}";
    assert_int_equal(ctl_cli_http_error(401, auth, strlen(auth), &err), CP_EAUTH);
    assert_string_equal(err.msg, "unknown token");
    assert_int_equal(ctl_cli_http_error(503, "", 0, &err), CP_EUNAVAIL);
    assert_string_equal(err.msg, "HTTP 503");
    assert_int_equal(ctl_cli_http_error(504, NULL, 0, &err), CP_ETIMEDOUT);
    assert_int_equal(ctl_cli_http_error(409, "{}", 2, &err), CP_EEXIST);
    assert_int_equal(ctl_cli_http_error(400, "{}", 2, &err), CP_EINVAL);
    assert_int_equal(ctl_cli_http_error(500, "{}", 2, &err), CP_EPROTO);
}

static void test_non_json_bodies_show_their_first_line(void **state)
{
    (void)state;
    cp_err_t err;
    const char *body = "Request Entity Too Large\nmore";
    assert_int_equal(ctl_cli_http_error(413, body, strlen(body), &err), CP_ETOOBIG);
    assert_string_equal(err.msg, "HTTP 413: Request Entity Too Large");
}

static void test_grpc_codes_map_like_http_statuses(void **state)
{
    (void)state;
    assert_int_equal(ctl_cli_grpc_to_err(0), 0);
    assert_int_equal(ctl_cli_grpc_to_err(5), CP_ENOTFOUND);
    assert_int_equal(ctl_cli_grpc_to_err(14), CP_EUNAVAIL);
    assert_int_equal(ctl_cli_grpc_to_err(4), CP_ETIMEDOUT);
    assert_int_equal(ctl_cli_grpc_to_err(8), CP_ETOOBIG);
    assert_int_equal(ctl_cli_grpc_to_err(16), CP_EAUTH);
    assert_int_equal(ctl_cli_grpc_to_err(2), CP_EPROTO);
}

static void test_addresses_without_scheme_are_accepted(void **state)
{
    (void)state;
    ctl_cli_http_t *h = NULL;
    cp_err_t err;
    assert_int_equal(ctl_cli_http_new("", "t", &h, &err), CP_EINVAL);
    assert_null(h);
    assert_int_equal(ctl_cli_http_new("127.0.0.1:1/", NULL, &h, &err), 0);
    /* Nothing listens on port 1: the call fails as "unavailable", not as an API error. */
    ctl_cli_resp_t resp;
    assert_int_equal(ctl_cli_http_call(h, "GET", "/healthz", NULL, &resp, &err), CP_EUNAVAIL);
    assert_non_null(strstr(err.msg, "http://127.0.0.1:1:"));
    char *e = ctl_cli_http_escape(h, "a b/c");
    assert_string_equal(e, "a%20b%2Fc");
    free(e);
    ctl_cli_http_free(h);
    ctl_cli_http_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_error_bodies_give_the_message_and_a_code),
        cmocka_unit_test(test_non_json_bodies_show_their_first_line),
        cmocka_unit_test(test_grpc_codes_map_like_http_statuses),
        cmocka_unit_test(test_addresses_without_scheme_are_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
