/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_issue.c - a PENDING certificate with an "issue" job becomes VALID through the workers
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "tests/integration/test_work_env.h"

static int issued_two(const ctl_work_stats_t *st)
{
    return st->issued >= 2;
}

static work_env_t env;

static int setup(void **state)
{
    (void)state;
    return work_env_setup(&env, 0);
}

static int teardown(void **state)
{
    (void)state;
    return work_env_teardown(&env);
}

static int count_events(const char *type)
{
    ctl_store_event_t *ev = NULL;
    size_t n = 0;
    int count = 0;
    if (ctl_store_events_read(env.acme.store, 0, 10000, 0, &ev, &n, NULL) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        count += ev[i].type != NULL && strcmp(ev[i].type, type) == 0;
    ctl_store_events_free(ev, n);
    return count;
}

static void check_issued(const char *name, int key_type)
{
    Certplane__V1__Certificate *c =
        work_env_wait(&env, name, CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(c);
    assert_int_equal(work_env_verify(&env, c), 0);
    assert_int_equal((int)c->key_type, key_type);
    assert_string_equal(c->last_error, "");
    assert_int_equal(c->failure_count, 0);
    assert_non_null(c->not_before);
    assert_non_null(c->not_after);
    assert_true(c->serial != NULL && c->serial[0] != '\0');
    assert_true(c->issuer != NULL && strstr(c->issuer, "Pebble") != NULL);
    /* Renewal when a third of the lifetime remains, a little earlier for jitter. */
    double nb = (double)c->not_before->seconds, na = (double)c->not_after->seconds;
    double at = (double)c->renew_after->seconds;
    printf("[ work ] %s: lifetime %.0f s, renew at %.3f of it\n", name, na - nb,
           (at - nb) / (na - nb));
    assert_true(at <= nb + (na - nb) * 2 / 3 + 1);
    assert_true(at >= nb + (na - nb) * 0.6 - 1);
    work_env_cert_free(c);
}

static void test_pending_certificate_becomes_valid(void **state)
{
    (void)state;
    ctl_config_t *cfg = work_env_config(&env, "ctl-a", 2, 30000);
    int orders0 = work_env_orders(&env);
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, "alpha", CP_KEY_EC_P256, 30000), 0);
    assert_int_equal(work_env_create(&env, "beta", CP_KEY_DEFAULT, 30000), 0);
    check_issued("alpha", CP_KEY_EC_P256);
    check_issued("beta", CP_KEY_RSA_2048); /* the default, named on read (issue 16) */
    /* Challenges were presented through Redis (with events for the edges) and cleaned up. */
    assert_int_equal(work_env_challenge_keys(&env), 0);
    assert_true(count_events("CHALLENGE_SET") >= 2);
    assert_int_equal(count_events("CHALLENGE_SET"), count_events("CHALLENGE_CLEAR"));
    assert_int_equal(work_env_orders(&env) - orders0, 2);
    work_env_print_stats("issue", w);
    ctl_work_stats_t st;
    work_env_stats_until(w, &st, issued_two);
    assert_int_equal(st.issued, 2);
    assert_int_equal(st.failed, 0);
    work_env_halt(&env, w);
}

static void test_deleted_certificate_job_is_dropped(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_config_t *cfg = work_env_config(&env, "ctl-b", 1, 30000);
    int orders0 = work_env_orders(&env);
    /* Created and deleted before any worker runs: its job must be acknowledged without an order. */
    assert_int_equal(work_env_create(&env, "gone", CP_KEY_EC_P256, 30000), 0);
    assert_int_equal(ctl_store_cert_delete(env.acme.store, "gone", 0, NULL, &err), 0);
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    ctl_work_stats_t st = {0};
    for (int i = 0; i < 100 && st.jobs_acked < 1; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ctl_work_get_stats(w, &st);
    }
    work_env_halt(&env, w);
    assert_int_equal(st.jobs_acked, 1);
    assert_int_equal(st.issued, 0);
    assert_int_equal(work_env_orders(&env), orders0);
}

/* Writes cert:{name} as the Python seed did: no state, no revision, no index entries. */
static void write_seed_record(const char *name, const Certplane__V1__Certificate *from)
{
    json_t *o =
        json_pack("{s:[s], s:s, s:s, s:s}", "domains", from->domains[0], "email", from->email,
                  "fullchain_pem", from->fullchain_pem, "private_key_pem", from->private_key_pem);
    char *text = json_dumps(o, JSON_COMPACT);
    redisContext *r = redisConnect("127.0.0.1", env.acme.redis.port);
    assert_true(r != NULL && r->err == 0);
    redisReply *rep = redisCommand(r, "SET cert:%s %s", name, text);
    assert_non_null(rep);
    freeReplyObject(rep);
    redisFree(r);
    free(text);
    json_decref(o);
}

static double by_expiry_score(const char *name)
{
    redisContext *r = redisConnect("127.0.0.1", env.acme.redis.port);
    redisReply *rep =
        r != NULL && !r->err ? redisCommand(r, "ZSCORE certs:by_expiry %s", name) : NULL;
    double score = rep != NULL && rep->type == REDIS_REPLY_STRING ? atof(rep->str) : -1;
    freeReplyObject(rep);
    redisFree(r);
    return score;
}

static void test_seed_record_indexed_at_startup_and_stop_is_prompt(void **state)
{
    (void)state;
    Certplane__V1__Certificate *alpha = work_env_get(&env, "alpha");
    assert_non_null(alpha);
    write_seed_record("seed", alpha);
    assert_true(by_expiry_score("seed") < 0);
    ctl_config_t *cfg = work_env_config(&env, "ctl-c", 2, 30000);
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    double score = -1;
    for (int i = 0; i < 100 && score < 0; i++) {
        usleep(50 * 1000);
        score = by_expiry_score("seed");
    }
    /* The seed's certificate renews on the policy: about a third of its lifetime before expiry. */
    double nb = (double)alpha->not_before->seconds, na = (double)alpha->not_after->seconds;
    printf("[ work ] seed record indexed at %.3f of its lifetime\n", (score - nb) / (na - nb));
    assert_true(score >= nb + (na - nb) * 0.6 - 1 && score <= nb + (na - nb) * 2 / 3 + 1);
    /* Nothing else changed: no revision, no job, no event for a seed record. */
    Certplane__V1__Certificate *seed = work_env_get(&env, "seed");
    assert_non_null(seed);
    assert_int_equal(seed->revision, 0);
    assert_int_equal(seed->state, CERTPLANE__V1__STATE__VALID);
    work_env_cert_free(seed);
    work_env_cert_free(alpha);
    /* Idle workers block at most a second in XREADGROUP; the scheduler sleeps on a condition. */
    int64_t t0 = work_env_now_ms();
    work_env_halt(&env, w);
    int64_t stop_ms = work_env_now_ms() - t0;
    printf("[ work ] ctl_work_stop took %lld ms\n", (long long)stop_ms);
    assert_true(stop_ms < 2500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_certificate_becomes_valid),
        cmocka_unit_test(test_deleted_certificate_job_is_dropped),
        cmocka_unit_test(test_seed_record_indexed_at_startup_and_stop_is_prompt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
