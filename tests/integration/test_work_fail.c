/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_fail.c - failed issuances back off, record the error and keep serving the old
 * certificate */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "tests/integration/test_work_env.h"

static work_env_t env;

static int setup(void **state)
{
    (void)state;
    return work_env_setup(&env, 60);
}

static int teardown(void **state)
{
    (void)state;
    return work_env_teardown(&env);
}

/* Waits until the record shows `failures` failures; returns it or NULL. */
static Certplane__V1__Certificate *wait_failures(const char *name, int failures, int timeout_ms)
{
    int64_t deadline = work_env_now_ms() + timeout_ms;
    do {
        Certplane__V1__Certificate *c = work_env_get(&env, name);
        if (c != NULL && c->failure_count >= failures)
            return c;
        work_env_cert_free(c);
        usleep(50 * 1000);
    } while (work_env_now_ms() < deadline);
    return NULL;
}

static void check_backoff(const Certplane__V1__Certificate *c, int64_t failed_at_ms)
{
    int64_t retry_ms = c->renew_after->seconds * 1000;
    printf("[ work ] %s: %s, failure_count %d, retry in %.1f s, last_error \"%.120s\"\n", c->name,
           c->state == CERTPLANE__V1__STATE__VALID ? "VALID" : "FAILED", c->failure_count,
           (double)(retry_ms - failed_at_ms) / 1000.0, c->last_error);
    assert_int_equal(c->failure_count, 1);
    assert_true(c->last_error != NULL && c->last_error[0] != '\0');
    /* One minute of back-off after the first failure. */
    assert_true(retry_ms > failed_at_ms + 50000 && retry_ms < failed_at_ms + 65000);
}

static void test_failed_renewal_backs_off_and_keeps_the_old_certificate(void **state)
{
    (void)state;
    ctl_config_t *cfg = work_env_config(&env, "ctl-f", 1, 10000);
    /* 60 s certificates renewed 50 s before expiry: the renewal is due 5-10 s after issuance. */
    cfg->renew_before_ms = 50000;
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, "keep", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *c0 =
        work_env_wait(&env, "keep", CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(c0);

    /* Nobody answers HTTP-01 any more: the CA cannot validate. */
    ctl_http01_server_stop(env.acme.http01);
    env.acme.http01 = NULL;
    Certplane__V1__Certificate *c = wait_failures("keep", 1, 40000);
    int64_t failed_at = work_env_now_ms();
    assert_non_null(c);
    check_backoff(c, failed_at);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__VALID);
    assert_string_equal(c->serial, c0->serial);
    assert_string_equal(c->fullchain_pem, c0->fullchain_pem);
    assert_string_equal(c->private_key_pem, c0->private_key_pem);
    assert_int_equal(work_env_verify(&env, c), 0);
    work_env_cert_free(c);

    /* A first issuance that fails has nothing to keep: FAILED, same back-off. */
    assert_int_equal(work_env_create(&env, "never", CP_KEY_EC_P256, 10000), 0);
    c = wait_failures("never", 1, 40000);
    failed_at = work_env_now_ms();
    assert_non_null(c);
    check_backoff(c, failed_at);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__FAILED);
    assert_true(c->fullchain_pem == NULL || c->fullchain_pem[0] == '\0');
    work_env_cert_free(c);

    /* No retry before the back-off expires. */
    int orders = work_env_orders(&env);
    sleep(8);
    assert_int_equal(work_env_orders(&env), orders);
    c = work_env_get(&env, "keep");
    assert_int_equal(c->failure_count, 1);
    work_env_cert_free(c);
    assert_int_equal(work_env_challenge_keys(&env), 0);
    work_env_print_stats("fail", w);
    work_env_halt(&env, w);
    work_env_cert_free(c0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failed_renewal_backs_off_and_keeps_the_old_certificate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
