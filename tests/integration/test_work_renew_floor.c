/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_renew_floor.c - no flag makes a certificate be ordered again the moment it is issued
 * (issue #12: --renew-before 115s on 120-second certificates gave 54 orders in 25 s) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "controller/work/renew.h"
#include "tests/integration/test_work_env.h"

#define VALIDITY_S 120
#define WATCH_MS 30000

static work_env_t env;

static int setup(void **state)
{
    (void)state;
    return work_env_setup(&env, VALIDITY_S);
}

static int teardown(void **state)
{
    (void)state;
    return work_env_teardown(&env);
}

static void test_renew_before_near_the_lifetime_cannot_loop(void **state)
{
    (void)state;
    ctl_config_t *cfg = work_env_config(&env, "ctl-floor", 2, 10000);
    cfg->renew_before_ms = 115000; /* 5 s of a 120 s lifetime left: "renew at once" */
    int orders0 = work_env_orders(&env);
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, "floor", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *c =
        work_env_wait(&env, "floor", CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(c);
    int64_t nb = c->not_before->seconds * 1000, na = c->not_after->seconds * 1000;
    int64_t floor = ctl_renew_floor_ms(nb, na);
    int64_t renew_at = c->renew_after->seconds * 1000 + c->renew_after->nanos / 1000000;
    printf("[ floor ] lifetime %lld s, renewal %.1f s after not_before (floor %lld s)\n",
           (long long)((na - nb) / 1000), (double)(renew_at - nb) / 1000.0,
           (long long)(floor / 1000));
    assert_true(renew_at >= nb + floor);

    /* Bounded watch: the certificate stays as issued, no order goes out. */
    int64_t t0 = work_env_now_ms();
    while (work_env_now_ms() < t0 + WATCH_MS && work_env_now_ms() < nb + floor - 2000)
        usleep(200 * 1000);
    int orders = work_env_orders(&env) - orders0;
    printf("[ floor ] %d order(s) in the %.1f s after issuance\n", orders,
           (double)(work_env_now_ms() - nb) / 1000.0);
    assert_int_equal(orders, 1);

    /* Renewal still happens, once the floor has passed. */
    Certplane__V1__Certificate *next =
        work_env_wait(&env, "floor", CERTPLANE__V1__STATE__VALID, c->serial, 60000);
    assert_non_null(next);
    int64_t seen = work_env_now_ms();
    printf("[ floor ] renewed %.1f s after not_before; %d orders in all\n",
           (double)(seen - nb) / 1000.0, work_env_orders(&env) - orders0);
    assert_true(seen >= nb + floor);
    assert_true(work_env_orders(&env) - orders0 <= 3);
    work_env_halt(&env, w);
    work_env_cert_free(next);
    work_env_cert_free(c);
}

/* What can be checked before any certificate exists: a --renew-before that no public certificate
 * outlives is refused at start, with a message that names the flag. */
static void test_renew_before_past_any_lifetime_is_refused_at_start(void **state)
{
    (void)state;
    ctl_config_t *cfg = work_env_config(&env, "ctl-refuse", 1, 10000);
    cfg->renew_before_ms = 200LL * 86400 * 1000;
    ctl_work_t *w = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_work_start(cfg, &w, &err), CP_EINVAL);
    assert_null(w);
    printf("[ floor ] refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "--renew-before"));
    cfg->renew_before_ms = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renew_before_past_any_lifetime_is_refused_at_start),
        cmocka_unit_test(test_renew_before_near_the_lifetime_cannot_loop),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
