/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_sched_start.c - the scheduler's start indexes seed records only, not every record */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "tests/integration/test_work_env.h"

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

/* Whether certs:by_expiry holds name. */
static int indexed(redisContext *rc, const char *name)
{
    redisReply *r = redisCommand(rc, "ZSCORE certs:by_expiry %s", name);
    assert_non_null(r);
    int yes = r->type == REDIS_REPLY_STRING;
    freeReplyObject(r);
    return yes;
}

/* A record the controller wrote out of certs:by_expiry on purpose (ImportCertificate without
 * auto_renew: VALID, a certificate, no renewal time) is in `certs`: the start leaves it out of the
 * renewals, and reads only the seed record (not in `certs`), which it indexes. Before issue 13 the
 * start read and decoded every record (1,000,000 at start) and scheduled the import's renewal. */
static void test_start_indexes_only_seed_records(void **state)
{
    (void)state;
    static const char imported[] =
        "{\"state\":\"VALID\",\"fullchain_pem\":\"x\",\"not_before\":\"2026-01-01T00:00:00Z\","
        "\"not_after\":\"2030-01-01T00:00:00Z\",\"domains\":[\"imported.example.test\"]}";
    ctl_store_cert_write_t w = {
        .name = "imported", .json = imported, .mode = CTL_STORE_CREATE, .renew_at = -1};
    cp_err_t err = {0};
    assert_int_equal(ctl_store_cert_put(env.acme.store, &w, NULL, &err), 0);
    redisContext *rc = redisConnect("127.0.0.1", env.acme.redis.port);
    assert_true(rc != NULL && rc->err == 0);
    if (env.acme.redis.password[0] != '\0')
        freeReplyObject(redisCommand(rc, "AUTH %s", env.acme.redis.password));
    freeReplyObject(redisCommand(rc, "SET cert:seed %s",
                                 "{\"domains\":[\"seed.example.test\"],\"email\":\"a@b.test\"}"));
    assert_false(indexed(rc, "imported"));

    ctl_config_t *cfg = work_env_config(&env, "ctl-s", 1, 60000);
    ctl_work_t *wk = work_env_run(&env, cfg);
    assert_non_null(wk);
    int seen = 0;
    for (int i = 0; i < 200 && !(seen = indexed(rc, "seed")); i++)
        usleep(50 * 1000);
    assert_true(seen);
    usleep(300 * 1000); /* the start's pass has ended: nothing more comes */
    assert_false(indexed(rc, "imported"));
    work_env_halt(&env, wk);
    redisFree(rc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_indexes_only_seed_records),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
