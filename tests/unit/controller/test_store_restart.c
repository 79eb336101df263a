/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_restart.c - acknowledged writes survive a Redis restart, idle or in the middle of a
 * write */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/controller/store_fixture.h"

#define RESTART_N 200

typedef struct writer {
    const char *prefix;
    int64_t rev[RESTART_N];
    int unavailable; /* writes that failed with CP_EUNAVAIL and were retried */
    int landed;      /* retries that found the failed write had landed (CP_EEXIST) */
    int other_rc;    /* any other failure */
    volatile int progress;
} writer_t;

static void writer_json(const char *prefix, int i, char *buf, size_t size)
{
    snprintf(buf, size, "{\"domains\":[\"%s%03d.example\"],\"i\":%d,\"pad\":\"%0200d\"}", prefix, i,
             i, i);
}

/* Writes one certificate until it is acknowledged: CREATE, and after a CP_EUNAVAIL again CREATE,
 * whose CP_EEXIST means the failed write did land (its revision is then read back). */
static void write_acked(ctl_store_t *s, writer_t *w, int i)
{
    char name[32], json[512];
    snprintf(name, sizeof name, "%s%03d", w->prefix, i);
    writer_json(w->prefix, i, json, sizeof json);
    ctl_store_cert_write_t cw = {.name = name, .json = json, .renew_at = 1000 + i};
    for (int attempt = 0; attempt < 2000; attempt++) {
        cp_err_t err = {0};
        int rc = ctl_store_cert_put(s, &cw, &w->rev[i], &err);
        if (rc == 0)
            return;
        if (rc == CP_EEXIST && attempt > 0) {
            char *got = NULL;
            if (ctl_store_cert_get(s, name, &got, NULL, &err) == 0)
                w->rev[i] = strtoll(got + strlen("{\"revision\":\""), NULL, 10);
            free(got);
            w->landed++;
            return;
        }
        if (rc != CP_EUNAVAIL) {
            w->other_rc++;
            return;
        }
        w->unavailable++;
        st_sleep_ms(5);
    }
    w->other_rc++;
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    ctl_store_t *s = NULL; /* each thread opens its own */
    if (ctl_store_new(g_redis.url, NULL, &s, NULL) != 0)
        return NULL;
    for (int i = 0; i < RESTART_N; i++) {
        write_acked(s, w, i);
        w->progress = i + 1;
        st_sleep_ms(2); /* paced, so that the restart lands in the middle of the run */
    }
    ctl_store_free(s);
    return NULL;
}

static void assert_all_acknowledged(const writer_t *w, int64_t floor)
{
    char name[32], json[512], expect[600];
    for (int i = 0; i < RESTART_N; i++) {
        assert_true(w->rev[i] > (i == 0 ? floor : w->rev[i - 1]));
        snprintf(name, sizeof name, "%s%03d", w->prefix, i);
        writer_json(w->prefix, i, json, sizeof json);
        snprintf(expect, sizeof expect, "{\"revision\":\"%lld\",%s", (long long)w->rev[i],
                 json + 1);
        st_assert_stored(name, expect);
    }
}

/* The restart happens while the store's connection is idle. The first call after it must succeed
 * outright, although it is a write (never retried). */
static void test_acknowledged_writes_survive_a_restart_while_idle(void **state)
{
    (void)state;
    static writer_t seq = {.prefix = "s"};
    cp_err_t err = {0};
    int first_after_restart_rc = 1;
    for (int i = 0; i < RESTART_N; i++) {
        if (i == RESTART_N / 2) {
            assert_int_equal(cp_test_redis_restart(&g_redis), 0);
            char name[8] = "s100", json[512];
            writer_json("s", i, json, sizeof json);
            ctl_store_cert_write_t cw = {.name = name, .json = json, .renew_at = 1000 + i};
            first_after_restart_rc = ctl_store_cert_put(g_store, &cw, &seq.rev[i], &err);
            assert_int_equal(first_after_restart_rc, 0);
            continue;
        }
        write_acked(g_store, &seq, i);
    }
    assert_int_equal(seq.unavailable, 0);
    assert_int_equal(seq.other_rc, 0);
    assert_all_acknowledged(&seq, 0);
    int64_t rev = 0;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, seq.rev[RESTART_N - 1]);
    printf("idle restart: %d certificates acknowledged; first call after it rc=%d\n", RESTART_N,
           first_after_restart_rc);
}

/* The restart (from this thread, which owns the server) hits a writer mid-stream. */
static void test_acknowledged_writes_survive_a_restart_mid_write(void **state)
{
    (void)state;
    static writer_t conc = {.prefix = "c"};
    cp_err_t err = {0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_main, &conc), 0);
    while (conc.progress < RESTART_N / 4)
        st_sleep_ms(1);
    long long t0 = st_now_ms();
    assert_int_equal(cp_test_redis_restart(&g_redis), 0);
    long long downtime = st_now_ms() - t0;
    pthread_join(t, NULL);
    assert_int_equal(conc.progress, RESTART_N);
    assert_int_equal(conc.other_rc, 0);
    assert_all_acknowledged(&conc, 0);
    int64_t rev = 0;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, conc.rev[RESTART_N - 1]); /* no revision lost or skipped */
    assert_int_equal(rev, RESTART_N);
    printf("concurrent restart (%lld ms): %d certificates acknowledged; %d writes failed with "
           "EUNAVAIL and were retried, %d had landed; final revision %lld\n",
           downtime, RESTART_N, conc.unavailable, conc.landed, (long long)rev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_acknowledged_writes_survive_a_restart_while_idle),
        T(test_acknowledged_writes_survive_a_restart_mid_write),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
