/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_edges.c - HTTP-01 challenges wait until every live edge has applied them (bounded) */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "controller/store/store_edges.h"
#include "tests/integration/test_work_env.h"

#define PROPAGATION_MS 3000
#define EDGE_DELAY_MS 400

static int issued_one(const ctl_work_stats_t *st)
{
    return st->issued >= 1;
}

static work_env_t env;

/* An edge that follows the events stream and reports what it applied EDGE_DELAY_MS later (or never,
 * when stuck), with a heartbeat so it stays live. */
typedef struct fake_edge {
    pthread_t tid;
    atomic_int stop;
    int stuck;
    const char *id;
} fake_edge_t;

static void report(ctl_store_t *s, const char *id, int64_t applied)
{
    ctl_store_edge_t e = {
        .edge_id = (char *)id, .applied_revision = applied, .last_seen_ms = work_env_now_ms()};
    ctl_store_edge_report(s, &e, NULL);
}

static void *edge_main(void *arg)
{
    fake_edge_t *f = arg;
    ctl_store_t *s = NULL;
    int64_t applied = 0;
    if (ctl_store_new(env.acme.redis.url, NULL, &s, NULL) != 0)
        return NULL;
    ctl_store_revision(s, &applied, NULL);
    report(s, f->id, applied);
    while (!atomic_load(&f->stop)) {
        ctl_store_event_t *ev = NULL;
        size_t n = 0;
        int64_t seen = applied;
        if (ctl_store_events_read(s, applied, 100, 100, &ev, &n, NULL) == 0 && n > 0)
            seen = ev[n - 1].revision;
        ctl_store_events_free(ev, n);
        if (seen > applied && !f->stuck) {
            usleep(EDGE_DELAY_MS * 1000);
            applied = seen;
        }
        report(s, f->id, applied);
    }
    ctl_store_free(s);
    return NULL;
}

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

/* Issues `name` with one controller while `edge` runs; returns the issuance's wall time (s). */
static double issue_with_edge(const char *id, const char *name, fake_edge_t *edge)
{
    atomic_init(&edge->stop, 0);
    assert_int_equal(pthread_create(&edge->tid, NULL, edge_main, edge), 0);
    usleep(200 * 1000);
    ctl_config_t *cfg = work_env_config(&env, id, 1, 30000);
    cfg->challenge_propagation_ms = PROPAGATION_MS;
    cfg->edge_ttl_ms = 5000;
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, name, CP_KEY_EC_P256, 30000), 0);
    Certplane__V1__Certificate *c =
        work_env_wait(&env, name, CERTPLANE__V1__STATE__VALID, NULL, 60000);
    atomic_store(&edge->stop, 1);
    pthread_join(edge->tid, NULL);
    assert_non_null(c);
    assert_int_equal(work_env_verify(&env, c), 0);
    work_env_cert_free(c);
    ctl_work_stats_t st;
    work_env_stats_until(w, &st, issued_one);
    work_env_print_stats(name, w);
    work_env_halt(&env, w);
    assert_int_equal(st.issued, 1);
    return st.issue_wall_s;
}

static void test_issuance_waits_for_a_live_edge_to_apply_the_challenge(void **state)
{
    (void)state;
    fake_edge_t edge = {.id = "edge-follows"};
    double wall = issue_with_edge("ctl-e1", "follows", &edge);
    printf("[ work ] edge applying after %d ms: issuance took %.3f s\n", EDGE_DELAY_MS, wall);
    assert_true(wall >= EDGE_DELAY_MS / 1000.0);
    assert_true(wall < PROPAGATION_MS / 1000.0);
}

static void test_a_stuck_edge_delays_issuance_by_the_timeout_only(void **state)
{
    (void)state;
    fake_edge_t edge = {.id = "edge-stuck", .stuck = 1};
    double wall = issue_with_edge("ctl-e2", "stuck", &edge);
    printf("[ work ] stuck edge: issuance took %.3f s (timeout %d ms)\n", wall, PROPAGATION_MS);
    assert_true(wall >= PROPAGATION_MS / 1000.0);
    assert_true(wall < PROPAGATION_MS / 1000.0 + 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issuance_waits_for_a_live_edge_to_apply_the_challenge),
        cmocka_unit_test(test_a_stuck_edge_delays_issuance_by_the_timeout_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
