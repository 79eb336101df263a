/* SPDX-License-Identifier: Apache-2.0 */
/* test_grpc_api.c - every RPC through Debian's python3-grpcio against a real controller and Redis
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/support/controller.h"
#include "tests/support/harness.h"

static void test_python_grpc_client_drives_every_rpc(void **state)
{
    (void)state;
    char dir[256];
    assert_int_equal(cp_test_tmpdir("grpcapi", dir, sizeof dir), 0);
    cp_test_redis_t redis;
    assert_int_equal(cp_test_redis_start(&redis, NULL), 0);
    char acme[128];
    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    const char *args[] = {acme, "--workers=1", "--acme-timeout=2s", NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=adm1n-token:admin,re4d-token:read,ed9e-token:edge",
                         NULL};
    cp_test_controller_t ctl;
    assert_int_equal(cp_test_controller_start(&ctl, redis.url, dir, args, env), 0);

    char addr[64], script[1024], proto[1024];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ctl.grpc_port);
    snprintf(script, sizeof script, "%s/tests/integration/api/grpc_client.py",
             getenv("CP_SOURCE_DIR"));
    snprintf(proto, sizeof proto, "%s/proto", getenv("CP_SOURCE_DIR"));
    char *const argv[] = {"/usr/bin/python3", script,   "--addr",     addr,     "--admin",
                          "adm1n-token",      "--read", "re4d-token", "--edge", "ed9e-token",
                          "--proto-dir",      proto,    "--work-dir", dir,      NULL};
    cp_test_proc_t py;
    char log[512];
    snprintf(log, sizeof log, "%s/grpc_client.log", dir);
    assert_int_equal(cp_test_spawn(&py, "grpc_client", argv, NULL, log), 0);
    int status = -1;
    int rc = cp_test_wait_exit(&py, 120000, &status);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cat '%s'", log);
    if (system(cmd) != 0)
        fprintf(stderr, "no client log\n");
    int ctl_status = cp_test_controller_stop(&ctl);
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || ctl_status != 0)
        cp_test_controller_dump_log(&ctl, 60);
    cp_test_redis_stop(&redis);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(ctl_status, 0); /* a clean shutdown on SIGTERM */
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_grpc_client_drives_every_rpc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
