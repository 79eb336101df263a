/* SPDX-License-Identifier: Apache-2.0 */
/* test_proxy.c - route targets: respond:STATUS[:BODY] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "edge/proxy.h"

static void test_respond_targets(void **state)
{
    (void)state;
    int status = 0;
    const char *body = NULL;
    size_t len = 0;
    assert_int_equal(edge_proxy_parse_respond("respond:200:ok", &status, &body, &len), 0);
    assert_int_equal(status, 200);
    assert_int_equal(len, 2);
    assert_memory_equal(body, "ok", 2);
    assert_int_equal(edge_proxy_parse_respond("respond:503:down: back soon", &status, &body, &len),
                     0);
    assert_int_equal(status, 503);
    assert_string_equal(body, "down: back soon");
    assert_int_equal(edge_proxy_parse_respond("respond:204", &status, &body, &len), 0);
    assert_int_equal(len, 0);
    const char *bad[] = {"respond:",    "respond:99",    "respond:600", "respond:2000",
                         "respond:20x", "respond:204:x", "http://a:1",  "respond:200x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(edge_proxy_parse_respond(bad[i], &status, &body, &len), CP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_respond_targets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
