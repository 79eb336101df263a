/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_jobs.c - certificate locks and the jobs stream: acquire, extend, release; enqueue,
 * read, ack, reclaim */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <string.h>

#include "tests/unit/controller/store_fixture.h"

static const char wrong_token[] = "00000000000000000000000000000000";

static void test_lock_acquire_stores_a_32_hex_digit_token(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tok[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok, &err), 0);
    assert_int_equal(strlen(tok), 32);
    assert_int_equal(strspn(tok, "0123456789abcdef"), 32);
    assert_string_equal(st_raw_str("GET %s", "lock:cert:x"), tok);
}

static void test_lock_held_by_another_is_ebusy(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tok[CTL_STORE_LOCK_TOKEN_SIZE], tok2[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok, &err), 0);
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok2, &err), CP_EBUSY);
}

static void test_lock_extend_with_the_token_raises_the_ttl(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tok[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok, &err), 0);
    assert_int_equal(ctl_store_lock_extend(g_store, "x", tok, 60000, &err), 0);
    assert_true(st_raw_int("PTTL %s", "lock:cert:x") > 50000);
}

static void test_lock_wrong_token_neither_extends_nor_releases(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tok[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok, &err), 0);
    assert_int_equal(ctl_store_lock_extend(g_store, "x", wrong_token, 60000, &err), CP_ESTATE);
    assert_int_equal(ctl_store_lock_release(g_store, "x", wrong_token, &err), CP_ESTATE);
    assert_string_equal(st_raw_str("GET %s", "lock:cert:x"), tok); /* still held */
}

static void test_lock_released_is_gone_and_cannot_be_extended(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tok[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok, &err), 0);
    assert_int_equal(ctl_store_lock_release(g_store, "x", tok, &err), 0);
    assert_int_equal(st_raw_int("EXISTS %s", "lock:cert:x"), 0);
    assert_int_equal(ctl_store_lock_extend(g_store, "x", tok, 1000, &err), CP_ESTATE); /* lost */
}

static void test_lock_expired_may_be_taken_and_the_old_token_is_void(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tok[CTL_STORE_LOCK_TOKEN_SIZE], tok2[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok, &err), 0);
    assert_int_equal(ctl_store_lock_release(g_store, "x", tok, &err), 0);
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 50, tok2, &err), 0);
    assert_string_not_equal(tok, tok2);
    st_sleep_ms(120); /* expired: anyone may take it */
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 1000, tok, &err), 0);
    assert_int_equal(ctl_store_lock_release(g_store, "x", tok2, &err), CP_ESTATE);
}

static void test_jobs_enqueue_read_ack(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_job_t job = {0};
    assert_int_equal(ctl_store_jobs_init(g_store, &err), 0);
    assert_int_equal(ctl_store_jobs_init(g_store, &err), 0); /* BUSYGROUP is fine */
    int64_t rev = 0;
    ctl_store_cert_write_t w = {
        .name = "j", .json = "{\"v\":1}", .renew_at = -1, .job_kind = "issue"};
    assert_int_equal(ctl_store_cert_put(g_store, &w, &rev, &err), 0);
    assert_int_equal(ctl_store_job_enqueue(g_store, "renew", "k", 42, &err), 0);
    assert_int_equal(ctl_store_job_enqueue(g_store, "reboot", "k", 42, &err), CP_EINVAL);
    assert_int_equal(ctl_store_job_read(g_store, "c1", 0, &job, &err), 0);
    assert_string_equal(job.kind, "issue");
    assert_string_equal(job.name, "j");
    assert_int_equal(job.revision, rev);
    assert_int_equal(job.deliveries, 1);
    assert_int_equal(ctl_store_job_ack(g_store, &job, &err), 0);
    ctl_store_job_dispose(&job);
    assert_int_equal(ctl_store_job_read(g_store, "c1", 0, &job, &err), 0);
    assert_string_equal(job.kind, "renew");
    assert_int_equal(job.revision, 42);
    assert_int_equal(ctl_store_job_ack(g_store, &job, &err), 0);
    ctl_store_job_dispose(&job);
    assert_int_equal(st_raw_int("XLEN %s", "jobs"), 0); /* acknowledged jobs are deleted */
    long long t0 = st_now_ms();
    assert_int_equal(ctl_store_job_read(g_store, "c1", 200, &job, &err), CP_ETIMEDOUT);
    assert_true(st_now_ms() - t0 >= 150);
    assert_null(job.name);
}

static void test_job_read_creates_a_missing_group(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_job_t job = {0};
    assert_int_equal(ctl_store_job_read(g_store, "c1", 0, &job, &err), CP_ETIMEDOUT);
    assert_int_equal(ctl_store_job_enqueue(g_store, "revoke", "z", 1, &err), 0);
    assert_int_equal(ctl_store_job_read(g_store, "c1", 0, &job, &err), 0);
    assert_string_equal(job.kind, "revoke");
    ctl_store_job_dispose(&job);
}

static void test_unacked_job_is_reclaimed_by_a_second_consumer(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_job_t job = {0}, again = {0};
    assert_int_equal(ctl_store_jobs_init(g_store, &err), 0);
    assert_int_equal(ctl_store_job_enqueue(g_store, "issue", "r", 7, &err), 0);
    assert_int_equal(ctl_store_job_read(g_store, "dead", 0, &job, &err), 0);
    /* Not idle long enough yet. */
    assert_int_equal(ctl_store_job_reclaim(g_store, "alive", 5000, &again, &err), CP_ENOTFOUND);
    st_sleep_ms(80);
    assert_int_equal(ctl_store_job_reclaim(g_store, "alive", 50, &again, &err), 0);
    assert_string_equal(again.id, job.id);
    assert_string_equal(again.name, "r");
    assert_int_equal(again.revision, 7);
    assert_int_equal(again.deliveries, 2);
    assert_int_equal(ctl_store_job_ack(g_store, &again, &err), 0);
    assert_int_equal(ctl_store_job_reclaim(g_store, "alive", 0, &again, &err), CP_ENOTFOUND);
    redisReply *p = st_raw("XPENDING jobs controllers");
    assert_int_equal(p->element[0]->integer, 0);
    freeReplyObject(p);
    ctl_store_job_dispose(&job);
    ctl_store_job_dispose(&again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_lock_acquire_stores_a_32_hex_digit_token),
        T(test_lock_held_by_another_is_ebusy),
        T(test_lock_extend_with_the_token_raises_the_ttl),
        T(test_lock_wrong_token_neither_extends_nor_releases),
        T(test_lock_released_is_gone_and_cannot_be_extended),
        T(test_lock_expired_may_be_taken_and_the_old_token_is_void),
        T(test_jobs_enqueue_read_ack),
        T(test_job_read_creates_a_missing_group),
        T(test_unacked_job_is_reclaimed_by_a_second_consumer),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
