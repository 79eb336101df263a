/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_harness.c - the shared test harness (tests/support): spawning, waiting for, stopping
 * processes; temp dirs; ports */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/controller/store_fixture.h"

static void test_spawn_passes_env_logs_output_and_reports_exit_status(void **state)
{
    (void)state;
    char dir[256], log[300], buf[128] = {0};
    assert_int_equal(cp_test_tmpdir("cp-harness-", dir, sizeof dir), 0);
    snprintf(log, sizeof log, "%s/out.log", dir);
    cp_test_proc_t p;
    char *argv[] = {"sh", "-c", "echo \"x=$CP_HARNESS_X\"; echo err >&2; exit 3", NULL};
    char *env[] = {"CP_HARNESS_X=42", NULL};
    assert_int_equal(cp_test_spawn(&p, "sh", argv, env, log), 0);
    int status = 0;
    assert_int_equal(cp_test_wait_exit(&p, 5000, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    assert_int_equal(p.pid, 0);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
    fclose(f);
    assert_string_equal(buf, "x=42\nerr\n");
    assert_int_equal(cp_test_rmrf(dir), 0);
}

static void test_spawn_of_a_missing_program_is_enotfound(void **state)
{
    (void)state;
    cp_test_proc_t p;
    char *missing[] = {"/nonexistent/cp-no-such-program", NULL};
    assert_int_equal(cp_test_spawn(&p, "none", missing, NULL, NULL), CP_ENOTFOUND);
}

static void test_wait_exit_times_out_and_stop_ends_the_process(void **state)
{
    (void)state;
    cp_test_proc_t p;
    char *sleeper[] = {"sleep", "30", NULL};
    assert_int_equal(cp_test_spawn(&p, "sleep", sleeper, NULL, NULL), 0);
    assert_int_equal(cp_test_wait_exit(&p, 50, NULL), CP_ETIMEDOUT);
    assert_int_equal(cp_test_stop(&p, SIGTERM, 2000), 0);
    assert_int_equal(p.pid, 0);
}

static void test_rmrf_removes_unless_kept_and_refuses_the_root(void **state)
{
    (void)state;
    char dir[256];
    assert_int_equal(cp_test_tmpdir("cp-harness-", dir, sizeof dir), 0);
    assert_int_equal(cp_test_rmrf(dir), 0);
    const char *keep = getenv("CP_KEEP_TMP");
    assert_int_equal(access(dir, F_OK) == 0, keep != NULL && strcmp(keep, "1") == 0);
    assert_int_equal(cp_test_rmrf("/"), CP_EINVAL);
}

static void test_wait_port_sees_a_listener_and_times_out_on_a_free_port(void **state)
{
    (void)state;
    assert_int_equal(cp_test_wait_port(g_redis.port, 1000), 0);
    assert_int_equal(cp_test_wait_port(cp_test_free_port(), 100), CP_ETIMEDOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        cmocka_unit_test(test_spawn_passes_env_logs_output_and_reports_exit_status),
        cmocka_unit_test(test_spawn_of_a_missing_program_is_enotfound),
        cmocka_unit_test(test_wait_exit_times_out_and_stop_ends_the_process),
        cmocka_unit_test(test_rmrf_removes_unless_kept_and_refuses_the_root),
        cmocka_unit_test(test_wait_port_sees_a_listener_and_times_out_on_a_free_port),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
