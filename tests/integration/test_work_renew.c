/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_renew.c - the scheduler renews short-lived certificates at half their lifetime,
 * atomically */
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

#include "controller/store/certrec.h"
#include "tests/integration/test_work_env.h"

#define VALIDITY_S 60
#define WINDOW_MS 75000
#define MAX_SERIALS 8

static work_env_t env;

/* A reader polling cert:{name} on its own connection, as an edge or an API client would. */
typedef struct reader {
    pthread_t tid;
    atomic_int stop;
    unsigned long reads, mismatches;
} reader_t;

static void *reader_main(void *arg)
{
    reader_t *r = arg;
    ctl_store_t *s = NULL;
    if (ctl_store_new(env.acme.redis.url, NULL, &s, NULL) != 0)
        return NULL;
    while (!atomic_load(&r->stop)) {
        char *json = NULL;
        size_t len = 0;
        Certplane__V1__Certificate *c = NULL;
        if (ctl_store_cert_get(s, "short", &json, &len, NULL) == 0 &&
            ctl_certrec_decode("short", json, len, &c, NULL) == 0 && c->fullchain_pem != NULL &&
            c->fullchain_pem[0] != '\0') {
            r->reads++;
            if (!work_env_key_matches(c))
                r->mismatches++;
        }
        work_env_cert_free(c);
        free(json);
        usleep(5 * 1000);
    }
    ctl_store_free(s);
    return NULL;
}

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

static void test_short_certificate_renewed_at_half_life_atomically(void **state)
{
    (void)state;
    ctl_config_t *cfg = work_env_config(&env, "ctl-r", 2, 10000);
    int orders0 = work_env_orders(&env);
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(work_env_create(&env, "short", CP_KEY_EC_P256, 10000), 0);
    Certplane__V1__Certificate *c =
        work_env_wait(&env, "short", CERTPLANE__V1__STATE__VALID, NULL, 60000);
    assert_non_null(c);
    assert_int_equal(work_env_verify(&env, c), 0);

    reader_t r = {0};
    atomic_init(&r.stop, 0);
    assert_int_equal(pthread_create(&r.tid, NULL, reader_main, &r), 0);
    int64_t t0 = work_env_now_ms();
    int renewals = 0;
    while (work_env_now_ms() < t0 + WINDOW_MS) {
        Certplane__V1__Certificate *next =
            work_env_wait(&env, "short", CERTPLANE__V1__STATE__VALID, c->serial,
                          (int)(t0 + WINDOW_MS - work_env_now_ms()));
        if (next == NULL)
            break;
        int64_t seen = work_env_now_ms();
        int64_t nb = c->not_before->seconds * 1000, na = c->not_after->seconds * 1000;
        double pos = (double)(seen - nb) / (double)(na - nb);
        printf(
            "[ work ] renewal %d: serial %s -> %s at %.2f of the lifetime (%.1f s after not_before)"
            "\n",
            renewals + 1, c->serial, next->serial, pos, (double)(seen - nb) / 1000.0);
        /* Half of the lifetime minus at most a tenth of the lead time, plus the issuance. */
        assert_true(pos > 0.40 && pos < 0.80);
        assert_true(seen < na);
        assert_int_equal(work_env_verify(&env, next), 0);
        work_env_cert_free(c);
        c = next;
        renewals++;
    }
    atomic_store(&r.stop, 1);
    pthread_join(r.tid, NULL);
    int orders = work_env_orders(&env) - orders0;
    printf("[ work ] %d renewals in %d s, %d orders; reader: %lu reads, %lu key mismatches\n",
           renewals, WINDOW_MS / 1000, orders, r.reads, r.mismatches);
    work_env_print_stats("renew", w);
    ctl_work_stats_t st;
    ctl_work_get_stats(w, &st);
    work_env_halt(&env, w);
    work_env_cert_free(c);
    /* About every 30 s: two renewals in 75 s, never a tight loop. */
    assert_true(renewals >= 2 && renewals <= 3);
    assert_int_equal(orders, 1 + renewals);
    assert_int_equal(st.enqueued, (unsigned long)renewals);
    assert_true(r.reads > 100);
    assert_int_equal(r.mismatches, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_certificate_renewed_at_half_life_atomically),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
