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

/* A store whose locks belong to owner (store_owner.h). */
static ctl_store_t *owned_store(const char *owner)
{
    cp_err_t err = {0};
    ctl_store_t *s = NULL;
    ctl_store_opts_t o = {.command_timeout_ms = 3000, .owner = owner};
    assert_int_equal(ctl_store_new(g_redis.url, &o, &s, &err), 0);
    return s;
}

static void test_lock_of_a_dead_owner_is_taken_over_and_a_live_one_is_not(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tok[CTL_STORE_LOCK_TOKEN_SIZE], tok2[CTL_STORE_LOCK_TOKEN_SIZE];
    ctl_store_t *a = owned_store("ctl-a@00aa"), *b = owned_store("ctl-b@00bb");
    assert_int_equal(ctl_store_presence_set(a, "ctl-a", "00aa", 5000, NULL, &err), 0);
    assert_int_equal(ctl_store_lock_acquire(a, "x", 60000, tok, &err), 0);
    assert_int_equal(strncmp(tok, "ctl-a@00aa|", 11), 0);
    /* Alive: B waits. */
    assert_int_equal(ctl_store_lock_acquire(b, "x", 60000, tok2, &err), CP_EBUSY);
    /* A restarted under the same ID is another incarnation: the old one is dead. */
    assert_int_equal(ctl_store_presence_set(g_store, "ctl-a", "11aa", 5000, NULL, &err), 0);
    assert_int_equal(ctl_store_lock_acquire(b, "x", 60000, tok2, &err), 1);
    assert_string_equal(st_raw_str("GET %s", "lock:cert:x"), tok2);
    /* The old holder's token is void. */
    assert_int_equal(ctl_store_lock_extend(a, "x", tok, 1000, &err), CP_ESTATE);
    /* Gone altogether (a clean stop deletes the key): taken over as well. */
    assert_int_equal(ctl_store_presence_set(b, "ctl-b", "00bb", 5000, NULL, &err), 0);
    assert_int_equal(ctl_store_presence_clear(b, "ctl-b", "00bb", &err), 0);
    assert_string_equal(st_raw_str("GET %s", "controller:ctl-b"), "(nil)");
    assert_int_equal(ctl_store_lock_acquire(a, "x", 60000, tok, &err), 1);
    /* An anonymous lock (no owner) is only freed by its TTL. */
    assert_int_equal(ctl_store_lock_acquire(g_store, "y", 60000, tok, &err), 0);
    assert_int_equal(ctl_store_lock_acquire(b, "y", 60000, tok2, &err), CP_EBUSY);
    ctl_store_free(a);
    ctl_store_free(b);
}

static void test_presence_set_reports_a_lapse(void **state)
{
    (void)state;
    cp_err_t err = {0};
    bool was = true;
    assert_int_equal(ctl_store_presence_set(g_store, "c", "01", 5000, &was, &err), 0);
    assert_false(was);
    assert_int_equal(ctl_store_presence_set(g_store, "c", "01", 5000, &was, &err), 0);
    assert_true(was);
    assert_true(st_raw_int("PTTL %s", "controller:c") > 4000);
    st_raw_ok("DEL %s", "controller:c", NULL);
    assert_int_equal(ctl_store_presence_set(g_store, "c", "01", 5000, &was, &err), 0);
    assert_false(was);
    assert_int_equal(ctl_store_presence_set(g_store, "c/x", "01", 5000, &was, &err), CP_EINVAL);
    assert_int_equal(ctl_store_presence_set(g_store, "c", "0x", 5000, &was, &err), CP_EINVAL);
    /* Clearing another incarnation's key leaves it. */
    assert_int_equal(ctl_store_presence_clear(g_store, "c", "02", &err), 0);
    assert_string_equal(st_raw_str("GET %s", "controller:c"), "01");
}

static void test_jobs_of_a_dead_owner_are_reclaimed_at_once(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_job_t j1 = {0}, j2 = {0}, got = {0};
    assert_int_equal(ctl_store_jobs_init(g_store, &err), 0);
    assert_int_equal(ctl_store_job_enqueue(g_store, "issue", "live", 1, &err), 0);
    assert_int_equal(ctl_store_job_enqueue(g_store, "renew", "dead", 2, &err), 0);
    assert_int_equal(ctl_store_presence_set(g_store, "alive", "0a", 5000, NULL, &err), 0);
    assert_int_equal(ctl_store_job_read(g_store, "alive/0@0a", 0, &j1, &err), 0);
    assert_int_equal(ctl_store_job_read(g_store, "gone/1@0b", 0, &j2, &err), 0);
    /* An old-style consumer name is never taken for dead: only --job-timeout reclaims it. */
    assert_int_equal(ctl_store_job_enqueue(g_store, "issue", "legacy", 3, &err), 0);
    ctl_store_job_t j3 = {0};
    assert_int_equal(ctl_store_job_read(g_store, "legacy-1", 0, &j3, &err), 0);
    assert_int_equal(ctl_store_job_reclaim_dead(g_store, "alive/1@0a", &got, &err), 0);
    assert_string_equal(got.id, j2.id);
    assert_string_equal(got.name, "dead");
    assert_int_equal(got.deliveries, 2);
    ctl_store_job_dispose(&got);
    assert_int_equal(ctl_store_job_reclaim_dead(g_store, "alive/1@0a", &got, &err), CP_ENOTFOUND);
    /* A deleted entry of a dead owner is acknowledged away, not handed out. */
    assert_int_equal(ctl_store_job_enqueue(g_store, "issue", "x", 4, &err), 0);
    ctl_store_job_t j4 = {0};
    assert_int_equal(ctl_store_job_read(g_store, "gone/1@0b", 0, &j4, &err), 0);
    st_raw_ok("XDEL jobs %s", j4.id, NULL);
    assert_int_equal(ctl_store_job_reclaim_dead(g_store, "alive/1@0a", &got, &err), CP_ENOTFOUND);
    redisReply *p = st_raw("XPENDING jobs controllers");
    assert_int_equal(p->element[0]->integer, 3); /* live, dead (now alive/1's), legacy */
    freeReplyObject(p);
    ctl_store_job_dispose(&j1);
    ctl_store_job_dispose(&j2);
    ctl_store_job_dispose(&j3);
    ctl_store_job_dispose(&j4);
}

static void test_order_record_round_trip_and_removal_with_its_certificate(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_order_t o = {.url = "https://ca/order/1", .request = "ca\nme\n1\na.example"};
    ctl_store_order_t got = {0};
    assert_int_equal(ctl_store_order_get(g_store, "c", &got, &err), CP_ENOTFOUND);
    assert_int_equal(ctl_store_order_put(g_store, "c", &o, &err), 0);
    assert_int_equal(ctl_store_order_get(g_store, "c", &got, &err), 0);
    assert_string_equal(got.url, o.url);
    assert_string_equal(got.request, o.request);
    assert_string_equal(got.replaces, "");
    assert_null(got.key_pem);
    ctl_store_order_dispose(&got);
    o.key_pem = "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n";
    o.replaces = "0a1b";
    assert_int_equal(ctl_store_order_put(g_store, "c", &o, &err), 0);
    assert_int_equal(ctl_store_order_get(g_store, "c", &got, &err), 0);
    assert_string_equal(got.key_pem, o.key_pem);
    assert_string_equal(got.replaces, "0a1b");
    ctl_store_order_dispose(&got);
    long long ttl = st_raw_int("TTL %s", "order:c");
    assert_true(ttl > 6 * 24 * 3600 && ttl <= CTL_STORE_ORDER_TTL_S);
    /* Deleting the certificate deletes its order record. */
    int64_t rev = 0;
    assert_int_equal(st_put("c", "{\"name\":\"c\"}", CTL_STORE_CREATE, 0, &rev, &err), 0);
    assert_int_equal(ctl_store_cert_delete(g_store, "c", 0, NULL, &err), 0);
    assert_int_equal(ctl_store_order_get(g_store, "c", &got, &err), CP_ENOTFOUND);
    assert_int_equal(ctl_store_order_put(g_store, "c", &o, &err), 0);
    assert_int_equal(ctl_store_order_del(g_store, "c", &err), 0);
    assert_int_equal(ctl_store_order_get(g_store, "c", &got, &err), CP_ENOTFOUND);
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
        T(test_lock_of_a_dead_owner_is_taken_over_and_a_live_one_is_not),
        T(test_presence_set_reports_a_lapse),
        T(test_jobs_of_a_dead_owner_are_reclaimed_at_once),
        T(test_order_record_round_trip_and_removal_with_its_certificate),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
