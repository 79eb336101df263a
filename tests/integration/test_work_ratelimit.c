/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_ratelimit.c - rate-limit discipline of the workers against a scripted CA (issue #12):
 * a 429 holds back the whole account on every controller, the hourly cap holds, jobs are deferred
 * rather than failed; a profile the CA does not offer fails the certificate naming the offered
 * ones */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "controller/store/store_ca.h"
#include "tests/integration/acme_fake.h"
#include "tests/integration/test_work_env.h"

#define RATE_LIMITED                                                                               \
    "{\"type\":\"urn:ietf:params:acme:error:rateLimited\",\"detail\":\"too many new orders\"}"
#define REJECTED "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\",\"detail\":\"no\"}"
#define DIR_WITH_PROFILES                                                                          \
    "{\"newNonce\":\"$BASE/nonce\",\"newAccount\":\"$BASE/acct-new\","                             \
    "\"newOrder\":\"$BASE/order-new\",\"revokeCert\":\"$BASE/revoke\","                            \
    "\"meta\":{\"profiles\":{\"classic\":\"90 days\",\"tlsserver\":\"TLS server only\"}}}"

static work_env_t env;
static acme_fake_t *fake;
static char dir_url[128];

static int setup(void **state)
{
    if (work_env_setup(&env, 0) != 0 || acme_fake_start(&fake) != 0)
        return -1;
    snprintf(dir_url, sizeof(dir_url), "%s/dir", acme_fake_base(fake));
    (void)state;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    acme_fake_stop(fake);
    return work_env_teardown(&env);
}

/* Each test starts with an empty script and configurations free again (the previous test's
 * controllers are stopped). */
static void fresh(void)
{
    acme_fake_reset(fake);
    env.n_cfgs = 0;
}

/* A controller whose default CA is the fake. */
static ctl_config_t *fake_config(const char *id, int workers)
{
    ctl_config_t *cfg = work_env_config(&env, id, workers, 10000);
    cfg->acme_provider = dir_url;
    cfg->acme_ca_file = (char *)acme_fake_ca_file(fake);
    return cfg;
}

static void push_sticky(const char *path, int status, const char *headers, const char *body)
{
    acme_fake_reply_t r = {.status = status, .headers = headers, .body = body, .sticky = 1};
    acme_fake_push(fake, path, &r);
}

static size_t new_orders(void)
{
    return acme_fake_hits(fake, "/order-new", NULL, 0);
}

/* Waits until cert:{name} has a last_error containing `what`; the record, or NULL. */
static Certplane__V1__Certificate *wait_error(const char *name, const char *what, int timeout_ms)
{
    int64_t until = work_env_now_ms() + timeout_ms;
    while (work_env_now_ms() < until) {
        Certplane__V1__Certificate *c = work_env_get(&env, name);
        if (c != NULL && c->last_error != NULL && strstr(c->last_error, what) != NULL)
            return c;
        work_env_cert_free(c);
        usleep(50 * 1000);
    }
    return NULL;
}

static void test_hourly_cap_defers_the_next_order(void **state)
{
    (void)state;
    fresh();
    snprintf(env.email, sizeof(env.email), "cap@example.test");
    push_sticky("/order-new", 400, NULL, REJECTED);
    ctl_config_t *cfg = fake_config("ctl-cap", 2);
    cfg->acme_orders_per_hour = 1;
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, "cap-a", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *a = wait_error("cap-a", "rejectedIdentifier", 20000);
    assert_non_null(a);
    assert_int_equal(a->state, CERTPLANE__V1__STATE__FAILED);
    assert_int_equal(work_env_create(&env, "cap-b", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *b = wait_error("cap-b", "--acme-orders-per-hour", 20000);
    assert_non_null(b);
    printf("[ cap ] %s\n", b->last_error);
    assert_int_equal(b->state, CERTPLANE__V1__STATE__PENDING);
    assert_int_equal(b->failure_count, 0);
    /* Due again at the next wall-clock hour. */
    int64_t next_hour = (work_env_now_ms() / 3600000 + 1) * 3600000;
    assert_true(b->renew_after->seconds * 1000 >= next_hour - 1000);
    assert_int_equal(new_orders(), 1);
    work_env_halt(&env, w);
    work_env_cert_free(a);
    work_env_cert_free(b);
}

/* The CA answers every newOrder with 429 and an hour's Retry-After: after the first, no order of
 * that account goes out from either controller, and its certificates wait (PENDING, not FAILED)
 * until the Retry-After. */
static void test_rate_limit_holds_back_the_whole_account(void **state)
{
    (void)state;
    fresh();
    snprintf(env.email, sizeof(env.email), "limited@example.test");
    push_sticky("/order-new", 429, "Retry-After: 3600\r\n", RATE_LIMITED);
    ctl_work_t *w1 = work_env_run(&env, fake_config("ctl-rl1", 2));
    ctl_work_t *w2 = work_env_run(&env, fake_config("ctl-rl2", 2));
    assert_non_null(w1);
    assert_non_null(w2);
    int64_t t0 = work_env_now_ms();
    assert_int_equal(work_env_create(&env, "rl-a", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *a = wait_error("rl-a", "rate limited", 20000);
    assert_non_null(a);
    printf("[ ratelimit ] %s: %s\n", a->name, a->last_error);
    assert_int_equal(a->state, CERTPLANE__V1__STATE__PENDING);
    assert_int_equal(a->failure_count, 0);
    int64_t due = a->renew_after->seconds * 1000;
    assert_true(due >= t0 + 3590 * 1000 && due <= work_env_now_ms() + 3600 * 1000);
    assert_int_equal(new_orders(), 1);

    /* Shared through Redis for every controller. */
    cp_err_t err = {0};
    int64_t until = 0;
    assert_int_equal(ctl_store_ca_ratelimit_get(env.acme.store, dir_url, "limited@example.test",
                                                work_env_now_ms(), &until, &err),
                     0);
    assert_true(until >= t0 + 3590 * 1000);

    const char *more[] = {"rl-b", "rl-c", "rl-d", "rl-e"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(work_env_create(&env, more[i], CP_KEY_EC_P256, 10000), 0);
    for (size_t i = 0; i < 4; i++) {
        Certplane__V1__Certificate *c = wait_error(more[i], "rate limited", 20000);
        assert_non_null(c);
        assert_int_equal(c->state, CERTPLANE__V1__STATE__PENDING);
        assert_int_equal(c->failure_count, 0);
        assert_true(c->renew_after->seconds * 1000 >= until - 1000);
        work_env_cert_free(c);
    }
    printf("[ ratelimit ] 5 certificates of the account, 2 controllers: %zu newOrder\n",
           new_orders());
    assert_int_equal(new_orders(), 1);

    /* Another account at the same CA is not held back: it reaches the CA (and meets its 429). */
    snprintf(env.email, sizeof(env.email), "other@example.test");
    assert_int_equal(work_env_create(&env, "rl-other", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *o = wait_error("rl-other", "rate limited", 20000);
    assert_non_null(o);
    assert_int_equal(new_orders(), 2);
    work_env_halt(&env, w1);
    work_env_halt(&env, w2);
    work_env_cert_free(o);
    work_env_cert_free(a);
}

/* A short Retry-After is waited out inside the issuance; meanwhile the limit is already in Redis,
 * so another worker does not order for the account: its certificate waits. */
static void test_short_retry_after_holds_the_account_while_it_is_waited_out(void **state)
{
    (void)state;
    fresh();
    snprintf(env.email, sizeof(env.email), "short@example.test");
    acme_fake_reply_t once = {.status = 429, .headers = "Retry-After: 5\r\n", .body = RATE_LIMITED};
    acme_fake_push(fake, "/order-new", &once);
    push_sticky("/order-new", 400, NULL, REJECTED);
    ctl_work_t *w = work_env_run(&env, fake_config("ctl-short", 2));
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, "short-a", CP_KEY_EC_P256, 10000), 0);
    int64_t until = work_env_now_ms() + 20000;
    while (new_orders() == 0 && work_env_now_ms() < until)
        usleep(10 * 1000);
    assert_int_equal(new_orders(), 1);
    assert_int_equal(work_env_create(&env, "short-b", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *b = wait_error("short-b", "rate limited", 4000);
    assert_non_null(b);
    printf("[ ratelimit ] while short-a waits out Retry-After: %s\n", b->last_error);
    assert_int_equal(b->state, CERTPLANE__V1__STATE__PENDING);
    assert_int_equal(new_orders(), 1); /* short-a still waits; short-b sent nothing */
    /* short-a retries after 5 s (and is rejected); short-b orders once the limit is over. */
    Certplane__V1__Certificate *a = wait_error("short-a", "rejectedIdentifier", 20000);
    assert_non_null(a);
    Certplane__V1__Certificate *b2 = wait_error("short-b", "rejectedIdentifier", 20000);
    assert_non_null(b2);
    assert_int_equal(new_orders(), 3);
    work_env_halt(&env, w);
    work_env_cert_free(a);
    work_env_cert_free(b);
    work_env_cert_free(b2);
}

static void test_profile_not_offered_fails_the_certificate_clearly(void **state)
{
    (void)state;
    cp_err_t err = {0};
    fresh();
    snprintf(env.email, sizeof(env.email), "profile@example.test");
    push_sticky("/dir", 200, NULL, DIR_WITH_PROFILES);
    ctl_config_t *cfg = fake_config("ctl-prof", 1);
    cfg->acme_profile = "shortlived"; /* the default CA's default profile */
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, "prof", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *c = wait_error("prof", "shortlived", 20000);
    assert_non_null(c);
    printf("[ profile ] %s\n", c->last_error);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__FAILED);
    assert_non_null(strstr(c->last_error, "classic"));
    assert_non_null(strstr(c->last_error, "tlsserver"));
    assert_int_equal(new_orders(), 0);
    /* What the directory offers is now known to every controller (the create-time check). */
    char *offered = NULL;
    assert_int_equal(ctl_store_ca_profiles_get(env.acme.store, dir_url, &offered, &err), 0);
    assert_non_null(strstr(offered, "classic"));
    assert_non_null(strstr(offered, "tlsserver"));
    free(offered);
    work_env_halt(&env, w);
    work_env_cert_free(c);
}

/* Waits until the fake saw n newOrders; the time then (work_env_now_ms), or -1. */
static int64_t wait_orders(size_t n, int timeout_ms)
{
    int64_t until = work_env_now_ms() + timeout_ms;
    while (work_env_now_ms() < until) {
        if (new_orders() >= n)
            return work_env_now_ms();
        usleep(10 * 1000);
    }
    return -1;
}

/* --acme-concurrent-orders 1: the second certificate waits for the slot and its order starts as
 * soon as the first order ends (here: the CA never answers, so at the 1.5 s ACME deadline), woken
 * through Redis - not at a poll seconds later, and without polling meanwhile. */
static void test_a_freed_slot_starts_the_waiting_order_at_once(void **state)
{
    (void)state;
    fresh();
    snprintf(env.email, sizeof(env.email), "slot@example.test");
    acme_fake_reply_t hang = {.action = FAKE_HANG, .sticky = 1};
    acme_fake_push(fake, "/order-new", &hang);
    ctl_config_t *cfg = fake_config("ctl-slot", 2);
    cfg->acme_concurrent_orders = 1;
    cfg->acme_timeout_ms = 1500;
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, "slot-a", CP_KEY_EC_P256, 10000), 0);
    int64_t t1 = wait_orders(1, 10000);
    assert_true(t1 > 0);
    assert_int_equal(work_env_create(&env, "slot-b", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *b = wait_error("slot-b", "--acme-concurrent-orders", 5000);
    assert_non_null(b);
    printf("[ slot ] %s\n", b->last_error);
    work_env_cert_free(b);
    int64_t t2 = wait_orders(2, 15000);
    printf("[ slot ] the waiting order started %.2f s after the first (deadline 1.5 s)\n",
           (double)(t2 - t1) / 1000.0);
    assert_true(t2 > 0);
    assert_true(t2 - t1 < 2600); /* polling retried 3-6 s after the refusal */
    assert_int_equal(new_orders(), 2);
    work_env_halt(&env, w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hourly_cap_defers_the_next_order),
        cmocka_unit_test(test_rate_limit_holds_back_the_whole_account),
        cmocka_unit_test(test_short_retry_after_holds_the_account_while_it_is_waited_out),
        cmocka_unit_test(test_profile_not_offered_fails_the_certificate_clearly),
        cmocka_unit_test(test_a_freed_slot_starts_the_waiting_order_at_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
