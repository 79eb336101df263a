/* SPDX-License-Identifier: Apache-2.0 */
/* test_acme_dns.c - the `exec` DNS-01 provider: argv without a shell, exit status, timeout */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "controller/acme/acme_internal.h"
#include "shared/clock.h"

static char dir[] = "/tmp/cp-dns-XXXXXX";

static void write_script(const char *name, const char *body, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    chmod(path, 0700);
}

static void test_exec_passes_arguments_verbatim(void **state)
{
    (void)state;
    char script[300], out[300], body[700], got[512] = "";
    cp_err_t err = {0};
    ctl_acme_dns_t *dns = NULL;
    snprintf(out, sizeof(out), "%s/args", dir);
    snprintf(body, sizeof(body), "printf '%%s|' \"$@\" >> %s", out);
    write_script("rec.sh", body, script, sizeof(script));
    assert_int_equal(ctl_acme_dns_exec_new(script, 5000, &dns, &err), 0);
    /* Shell metacharacters reach the program as data: no shell in between. */
    assert_int_equal(dns->ops->present(dns, "_acme-challenge.a.example.", "v;$(x)", &err), 0);
    assert_int_equal(dns->ops->cleanup(dns, "_acme-challenge.a.example.", "v;$(x)", &err), 0);
    FILE *f = fopen(out, "r");
    assert_non_null(fgets(got, sizeof(got), f));
    fclose(f);
    assert_string_equal(got, "present|_acme-challenge.a.example.|v;$(x)|cleanup|_acme-challenge.a."
                             "example.|v;$(x)|");
    ctl_acme_dns_free(dns);
}

static void test_exec_failure_reports_first_output_line(void **state)
{
    (void)state;
    char script[300];
    cp_err_t err = {0};
    ctl_acme_dns_t *dns = NULL;
    write_script("fail.sh", "echo 'zone not found' >&2; echo more; exit 3", script, sizeof(script));
    assert_int_equal(ctl_acme_dns_exec_new(script, 5000, &dns, &err), 0);
    assert_int_equal(dns->ops->present(dns, "_acme-challenge.b.example.", "v", &err), CP_EIO);
    assert_non_null(strstr(err.msg, "exit status 3: zone not found"));
    ctl_acme_dns_free(dns);
}

static void test_exec_is_killed_after_timeout(void **state)
{
    (void)state;
    char script[300];
    cp_err_t err = {0};
    ctl_acme_dns_t *dns = NULL;
    write_script("slow.sh", "exec sleep 30", script, sizeof(script));
    assert_int_equal(ctl_acme_dns_exec_new(script, 300, &dns, &err), 0);
    int64_t t0 = cp_clock_mono_ms();
    assert_int_equal(dns->ops->present(dns, "_acme-challenge.c.example.", "v", &err), CP_ETIMEDOUT);
    assert_true(cp_clock_mono_ms() - t0 < 5000);
    ctl_acme_dns_free(dns);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "%s/rec.sh", dir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/fail.sh", dir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/slow.sh", dir);
    unlink(cmd);
    snprintf(cmd, sizeof(cmd), "%s/args", dir);
    unlink(cmd);
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exec_passes_arguments_verbatim),
        cmocka_unit_test(test_exec_failure_reports_first_output_line),
        cmocka_unit_test(test_exec_is_killed_after_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
