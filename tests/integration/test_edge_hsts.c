/* SPDX-License-Identifier: Apache-2.0 */
/* test_edge_hsts.c - issue 14: HSTS per host, off by default. --hsts adds Strict-Transport-Security
 * to HTTPS answers for the hosts it names (exact, one-label wildcard), never to plain HTTP, and
 * not to other hosts; an upstream's own header is kept; a malformed --hsts is refused at start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/edge.h"
#include "tests/support/harness.h"

static char g_dir[256];
static cp_test_edge_t g_edge;

/* The Strict-Transport-Security header curl sees for host over https (or http), "" when none. */
static const char *sts(const char *scheme, const char *host, int port)
{
    return cp_test_sh("curl -sk -o /dev/null -D - -m 5 --resolve %s:%d:127.0.0.1 %s://%s:%d/ | "
                      "tr -d '\\r' | grep -i '^strict-transport-security:' | cut -d' ' -f2- | "
                      "tr -d '\\n'",
                      host, port, scheme, host, port);
}

static void test_hsts_only_where_configured_and_only_over_https(void **state)
{
    (void)state;
    assert_string_equal(sts("https", "shop.example.com", g_edge.https_port),
                        "max-age=31536000; includeSubDomains");
    assert_string_equal(sts("https", "a.blog.example.com", g_edge.https_port),
                        "max-age=600; preload");
    assert_string_equal(sts("https", "a.b.blog.example.com", g_edge.https_port), "");
    assert_string_equal(sts("https", "other.example.com", g_edge.https_port), "");
    assert_string_equal(sts("http", "shop.example.com", g_edge.http_port), "");
}

static void test_a_malformed_hsts_is_refused_at_start(void **state)
{
    (void)state;
    const char *out = cp_test_sh("%s --controller=127.0.0.1:1 --hsts 'shop.example.com=soon' "
                                 "2>&1; echo \" rc=$?\"",
                                 cp_test_edge_bin());
    assert_non_null(strstr(out, "--hsts shop.example.com=soon"));
    assert_null(strstr(out, " rc=0"));
}

static int group_setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("cp-hsts-", g_dir, sizeof g_dir) != 0)
        return -1;
    const char *args[] = {"--controller=127.0.0.1:1",
                          "--threads=1",
                          "--hsts=shop.example.com=31536000;includeSubDomains",
                          "--hsts=*.blog.example.com=600;preload",
                          "--default-upstream=respond:200:ok",
                          NULL};
    const char *env[] = {"ASAN_OPTIONS=detect_leaks=0", "CERTPLANE_EDGE_TOKEN=x", NULL};
    return cp_test_edge_start(&g_edge, g_dir, args, env);
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_edge_stop(&g_edge);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hsts_only_where_configured_and_only_over_https),
        cmocka_unit_test(test_a_malformed_hsts_is_refused_at_start),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
