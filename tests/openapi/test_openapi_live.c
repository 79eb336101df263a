/* SPDX-License-Identifier: Apache-2.0 */
/* test_openapi_live.c - every gateway route of a real controller (Redis + Pebble) answers as
 * docs/openapi.yaml says: starts the servers and runs tests/openapi/live.py against them */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/support/controller.h"
#include "tests/support/harness.h"
#include "tests/support/pebble.h"

#define ADMIN "live-admin-7c1f0a9e5b3d4c2a8f6e1b0d9c7a5e3f1b2d4c6a"
#define READ "live-read-9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"
#define EDGE "live-edge-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"

static void test_every_route_answers_as_documented(void **state)
{
    (void)state;
    char dir[256];
    assert_int_equal(cp_test_tmpdir("openapi", dir, sizeof dir), 0);
    cp_test_redis_t redis;
    assert_int_equal(cp_test_redis_start(&redis, NULL), 0);
    int http_port = cp_test_free_port();
    cp_test_pebble_t pebble;
    cp_test_pebble_opts_t o = {.http_port = http_port};
    assert_int_equal(cp_test_pebble_start(&pebble, &o), 0);
    char provider[400], ca[400];
    snprintf(provider, sizeof provider, "--acme-provider=%s", pebble.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", pebble.ca_file);
    const char *args[] = {provider,
                          ca,
                          "--acme-email=ops@example.com",
                          "--workers=1",
                          "--job-timeout=5s",
                          "--acme-timeout=20s",
                          "--challenge-propagation-timeout=1s",
                          NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," READ ":read," EDGE ":edge", NULL};
    cp_test_controller_t ctl;
    assert_int_equal(cp_test_controller_start_on(&ctl, 0, http_port, redis.url, dir, args, env), 0);

    char http[16], rport[16], script[1024], spec[1024], routes[1024], log[512];
    const char *src = getenv("CP_SOURCE_DIR");
    snprintf(http, sizeof http, "%d", ctl.http_port);
    snprintf(rport, sizeof rport, "%d", redis.port);
    snprintf(script, sizeof script, "%s/tests/openapi/live.py", src);
    snprintf(spec, sizeof spec, "%s/docs/openapi.yaml", src);
    snprintf(routes, sizeof routes, "%s/controller/gateway/gateway_routes.c", src);
    snprintf(log, sizeof log, "%s/live.log", dir);
    char *const argv[] = {
        "/usr/bin/python3", script, "--http", http, "--redis-port", rport, "--admin",  ADMIN,
        "--read",           READ,   "--edge", EDGE, "--spec",       spec,  "--routes", routes,
        "--work-dir",       dir,    NULL};
    cp_test_proc_t py;
    assert_int_equal(cp_test_spawn(&py, "live", argv, NULL, log), 0);
    int status = -1;
    int rc = cp_test_wait_exit(&py, 240000, &status);
    if (rc != 0)
        cp_test_stop(&py, SIGKILL, 1000);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cat '%s'", log);
    if (system(cmd) != 0)
        fprintf(stderr, "no live.py log\n");
    int ctl_status = cp_test_controller_stop(&ctl);
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        cp_test_controller_dump_log(&ctl, 40);
    cp_test_pebble_stop(&pebble);
    cp_test_redis_stop(&redis);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(ctl_status, 0);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_answers_as_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
