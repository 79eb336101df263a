/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_ha.c - two controllers on one Redis: every certificate ordered once; dead consumers'
 * jobs are taken over */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "controller/store/store_edges.h"
#include "tests/integration/test_work_env.h"

#define N_CERTS 20
#define JOB_TIMEOUT_MS 3000

static int issued_one(const ctl_work_stats_t *st)
{
    return st->issued >= 1;
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

/* Jobs delivered and not acknowledged in the group, or -1. */
static long pending_jobs(void)
{
    redisContext *r = redisConnect("127.0.0.1", env.acme.redis.port);
    long n = -1;
    redisReply *rep = r != NULL && !r->err ? redisCommand(r, "XPENDING jobs controllers") : NULL;
    if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1)
        n = (long)rep->element[0]->integer;
    freeReplyObject(rep);
    redisFree(r);
    return n;
}

static void test_two_controllers_order_each_certificate_once(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char name[32];
    ctl_config_t *cfg_a = work_env_config(&env, "ctl-a", 2, JOB_TIMEOUT_MS);
    ctl_config_t *cfg_b = work_env_config(&env, "ctl-b", 2, JOB_TIMEOUT_MS);
    int orders0 = work_env_orders(&env);
    for (int i = 0; i < N_CERTS; i++) {
        snprintf(name, sizeof(name), "ha-%02d", i);
        assert_int_equal(work_env_create(&env, name, CP_KEY_EC_P256, 600000), 0);
    }
    /* A controller that dies mid-issue: it took the first job and the certificate's lock (which
     * expires on its own), and never acknowledges. */
    ctl_store_job_t dead = {0};
    char token[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_jobs_init(env.acme.store, &err), 0);
    assert_int_equal(ctl_store_job_read(env.acme.store, "ctl-dead/0", 0, &dead, &err), 0);
    assert_string_equal(dead.name, "ha-00");
    assert_int_equal(ctl_store_lock_acquire(env.acme.store, dead.name, 4000, token, &err), 0);

    int64_t t0 = work_env_now_ms();
    ctl_work_t *a = work_env_run(&env, cfg_a);
    assert_non_null(a);
    ctl_work_t *b = work_env_run(&env, cfg_b);
    assert_non_null(b);
    for (int i = 0; i < N_CERTS; i++) {
        snprintf(name, sizeof(name), "ha-%02d", i);
        int64_t left = t0 + 100000 - work_env_now_ms();
        Certplane__V1__Certificate *c =
            work_env_wait(&env, name, CERTPLANE__V1__STATE__VALID, NULL, left > 0 ? (int)left : 1);
        assert_non_null(c);
        assert_int_equal(work_env_verify(&env, c), 0);
        work_env_cert_free(c);
    }
    double all_s = (double)(work_env_now_ms() - t0) / 1000.0;
    /* Let duplicate deliveries (reclaims of jobs still in progress) drain. */
    for (int i = 0; i < 100 && pending_jobs() != 0; i++)
        usleep(100 * 1000);
    int orders = work_env_orders(&env) - orders0;
    ctl_work_stats_t sa, sb;
    for (int i = 0; i < 100; i++) { /* counters trail the records they count by a moment */
        ctl_work_get_stats(a, &sa);
        ctl_work_get_stats(b, &sb);
        if (sa.issued + sb.issued >= N_CERTS)
            break;
        usleep(20 * 1000);
    }
    printf("[ work ] %d certificates VALID in %.1f s with 2 controllers x 2 workers; %d orders\n",
           N_CERTS, all_s, orders);
    work_env_print_stats("ctl-a", a);
    work_env_print_stats("ctl-b", b);
    work_env_halt(&env, a);
    work_env_halt(&env, b);
    ctl_store_job_dispose(&dead);
    assert_int_equal(orders, N_CERTS);
    assert_int_equal(sa.issued + sb.issued, N_CERTS);
    assert_true(sa.jobs_reclaimed + sb.jobs_reclaimed >= 1);
    assert_int_equal(pending_jobs(), 0);
    assert_int_equal(work_env_challenge_keys(&env), 0);
}

/* A child process running a controller, killed with SIGKILL while it waits in the middle of an
 * issuance (its challenge is presented and a live edge has not applied it): its job, its lock and
 * its ISSUING record are left behind, and another controller must finish the certificate. */
static void test_job_of_a_killed_controller_is_finished_by_another(void **state)
{
    (void)state;
    cp_err_t err = {0};
    /* An edge that reported once and never applies anything: live for the doomed controller (60 s
     * TTL), already gone for the survivor (1 s TTL). */
    ctl_store_edge_t edge = {
        .edge_id = "edge-frozen", .applied_revision = 0, .last_seen_ms = work_env_now_ms()};
    assert_int_equal(ctl_store_edge_report(env.acme.store, &edge, &err), 0);
    ctl_config_t *doomed = work_env_config(&env, "ctl-doomed", 1, JOB_TIMEOUT_MS);
    doomed->acme_timeout_ms = 5000;
    doomed->edge_ttl_ms = 60000;
    doomed->challenge_propagation_ms = 15000;
    ctl_config_t *survivor = work_env_config(&env, "ctl-survivor", 1, JOB_TIMEOUT_MS);
    survivor->edge_ttl_ms = 1000;
    int orders0 = work_env_orders(&env);
    assert_int_equal(work_env_create(&env, "doomed", CP_KEY_EC_P256, 600000), 0);

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        ctl_work_t *w = NULL;
        if (ctl_work_start(doomed, &w, &err) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    /* Mid-issue: the record is ISSUING and the challenge is in Redis, waiting for the edge. */
    Certplane__V1__Certificate *c =
        work_env_wait(&env, "doomed", CERTPLANE__V1__STATE__ISSUING, NULL, 30000);
    for (int i = 0; i < 200 && work_env_challenge_keys(&env) < 1; i++)
        usleep(50 * 1000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_non_null(c);
    work_env_cert_free(c);
    assert_int_equal(work_env_challenge_keys(&env), 1);

    int64_t t0 = work_env_now_ms();
    ctl_work_t *w = work_env_run(&env, survivor);
    assert_non_null(w);
    c = work_env_wait(&env, "doomed", CERTPLANE__V1__STATE__VALID, NULL, 90000);
    double took = (double)(work_env_now_ms() - t0) / 1000.0;
    ctl_work_stats_t st;
    work_env_stats_until(w, &st, issued_one);
    work_env_print_stats("ctl-survivor", w);
    work_env_halt(&env, w);
    assert_non_null(c);
    assert_int_equal(work_env_verify(&env, c), 0);
    work_env_cert_free(c);
    int orders = work_env_orders(&env) - orders0;
    printf("[ work ] killed controller's certificate finished by another after %.1f s (lock TTL of "
           "the dead one: %.0f s); %d orders\n",
           took, (double)(doomed->acme_timeout_ms + doomed->challenge_propagation_ms + 5000) / 1000,
           orders);
    assert_true(st.jobs_reclaimed >= 1);
    assert_int_equal(st.issued, 1);
    /* The dead controller's order was recorded (order:{name}) and resumed, not ordered again; its
     * lock was taken over once its presence lapsed (5 s), not after the lock's own TTL. */
    assert_int_equal(orders, 1);
    assert_true(took < 15.0);
    assert_int_equal(pending_jobs(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_controllers_order_each_certificate_once),
        cmocka_unit_test(test_job_of_a_killed_controller_is_finished_by_another),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
