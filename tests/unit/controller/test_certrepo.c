/* SPDX-License-Identifier: Apache-2.0 */
/* test_certrepo.c - the certificate repository against a real redis-server: load, put, delete,
 * revision checks, index, jobs, and the read cache dropped on every write */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/certrepo.h"
#include "shared/mem.h"
#include "tests/support/harness.h"

static cp_test_redis_t g_redis;
static ctl_store_t *g_store;
static ctl_certcache_t *g_cache;
static ctl_certrepo_t g_repo;

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(cp_test_redis_start(&g_redis, NULL), 0);
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &g_store, NULL), 0);
    g_cache = ctl_certcache_new(0);
    ctl_certcache_reset(g_cache, true);
    g_repo.store = g_store;
    g_repo.cache = g_cache;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ctl_certcache_free(g_cache);
    ctl_store_free(g_store);
    cp_test_redis_stop(&g_redis);
    return 0;
}

static long long redis_int(const char *fmt, const char *arg)
{
    redisContext *rc = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(rc);
    redisReply *r = redisCommand(rc, fmt, arg);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : -1;
    freeReplyObject(r);
    redisFree(rc);
    return v;
}

/* A certificate record as a worker would hold it, key included. */
static Certplane__V1__Certificate *cert_new(const char *name)
{
    Certplane__V1__Certificate *c = cp_xcalloc(1, sizeof *c);
    certplane__v1__certificate__init(c);
    c->name = cp_xstrdup(name);
    c->n_domains = 1;
    c->domains = cp_xcalloc(1, sizeof *c->domains);
    c->domains[0] = cp_xstrdup("repo.example.com");
    c->state = CERTPLANE__V1__STATE__PENDING;
    c->private_key_pem =
        cp_xstrdup("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    return c;
}

static void test_load_of_a_missing_certificate_is_not_found_with_its_name(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = (void *)1;
    cp_err_t err = {0};
    assert_int_equal(ctl_certrepo_load(&g_repo, "nope", &c, &err), CP_ENOTFOUND);
    assert_null(c);
    assert_string_equal(err.msg, "certificate \"nope\" not found");
}

static void test_put_then_load_round_trips_with_the_new_revision(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = cert_new("rt"), *back = NULL;
    int64_t rev = 0;
    ctl_certrepo_write_t w = {.mode = CTL_STORE_CREATE, .renew_at_ms = 1700000000123LL};
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, &rev, NULL), 0);
    assert_true(rev > 0);
    assert_int_equal(ctl_certrepo_load(&g_repo, "rt", &back, NULL), 0);
    assert_int_equal(back->revision, rev);
    assert_string_equal(back->domains[0], "repo.example.com");
    assert_string_equal(back->private_key_pem, c->private_key_pem);
    /* The renewal index takes the time in seconds. */
    assert_int_equal(redis_int("ZSCORE certs:by_expiry %s", "rt"), 1700000000);
    ctl_certrepo_cert_free(back);
    ctl_certrepo_cert_free(c);
}

static void test_put_checks_mode_and_revision(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = cert_new("rev");
    cp_err_t err = {0};
    int64_t rev = 0, rev2 = 0;
    ctl_certrepo_write_t w = {.mode = CTL_STORE_MATCH, .expected_revision = 1, .renew_at_ms = -1};
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, NULL, &err), CP_ENOTFOUND);
    assert_string_equal(err.msg, "certificate \"rev\" not found");
    w.mode = CTL_STORE_CREATE;
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, &rev, NULL), 0);
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, NULL, &err), CP_EEXIST);
    assert_string_equal(err.msg, "certificate \"rev\" already exists");
    w.mode = CTL_STORE_MATCH;
    w.expected_revision = rev - 1;
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, NULL, &err), CP_ECONFLICT);
    w.expected_revision = rev;
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, &rev2, NULL), 0);
    assert_true(rev2 > rev);
    w.mode = CTL_STORE_ANY;
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, NULL, NULL), 0);
    /* renew_at < 0: out of the renewal index. */
    assert_int_equal(redis_int("ZSCORE certs:by_expiry %s", "rev"), -1);
    ctl_certrepo_cert_free(c);
}

static void test_put_with_a_job_enqueues_it_in_the_same_write(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = cert_new("job");
    long long jobs = redis_int("XLEN %s", "jobs");
    ctl_certrepo_write_t w = {.mode = CTL_STORE_CREATE, .renew_at_ms = -1, .job_kind = "revoke"};
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, NULL, NULL), 0);
    assert_int_equal(redis_int("XLEN %s", "jobs"), jobs + 1);
    ctl_certrepo_cert_free(c);
}

/* Fills the cache with the stored record of name, as GetCertificate does. */
static void fill(const char *name)
{
    Certplane__V1__Certificate *c = NULL;
    uint64_t gen = ctl_certcache_gen(g_cache);
    assert_int_equal(ctl_certrepo_load(&g_repo, name, &c, NULL), 0);
    assert_true(ctl_certcache_fill(g_cache, c, gen));
    ctl_certrepo_cert_free(c);
    assert_int_equal(ctl_certcache_get(g_cache, name, &c), 1);
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

static void test_every_write_drops_the_cached_certificate(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = cert_new("cached"), *got = NULL;
    int64_t rev = 0;
    ctl_certrepo_write_t w = {.mode = CTL_STORE_CREATE, .renew_at_ms = -1};
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, &rev, NULL), 0);
    fill("cached");
    w.mode = CTL_STORE_MATCH;
    w.expected_revision = rev;
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, &rev, NULL), 0);
    assert_int_equal(ctl_certcache_get(g_cache, "cached", &got), 0);
    /* A write that fails drops it too: it may have been applied before a connection broke. */
    fill("cached");
    w.expected_revision = rev - 1;
    assert_int_equal(ctl_certrepo_put(&g_repo, c, &w, NULL, NULL), CP_ECONFLICT);
    assert_int_equal(ctl_certcache_get(g_cache, "cached", &got), 0);
    fill("cached");
    assert_int_equal(ctl_certrepo_delete(&g_repo, "cached", 0, NULL, NULL), 0);
    assert_int_equal(ctl_certcache_get(g_cache, "cached", &got), 0);
    cp_err_t err = {0};
    assert_int_equal(ctl_certrepo_delete(&g_repo, "cached", 0, NULL, &err), CP_ENOTFOUND);
    assert_string_equal(err.msg, "certificate \"cached\" not found");
    ctl_certrepo_cert_free(c);
}

static void test_unreadable_records_are_invalid_and_counted_by_load_many(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = NULL, *certs[3] = {0};
    cp_err_t err = {0};
    redisContext *rc = redisConnect("127.0.0.1", g_redis.port);
    freeReplyObject(redisCommand(rc, "SET cert:broken %s", "{\"domains\":42}"));
    redisFree(rc);
    assert_int_equal(ctl_certrepo_load(&g_repo, "broken", &c, &err), CP_EINVAL);
    assert_null(c);
    assert_non_null(strstr(err.msg, "cert:broken"));
    const char *names[] = {"rt", "broken", "gone"};
    size_t bad = 99;
    assert_int_equal(ctl_certrepo_load_many(&g_repo, names, 3, certs, &bad, NULL), 0);
    assert_non_null(certs[0]);
    assert_string_equal(certs[0]->name, "rt");
    assert_null(certs[1]);
    assert_null(certs[2]);
    assert_int_equal(bad, 1);
    for (size_t i = 0; i < 3; i++)
        ctl_certrepo_cert_free(certs[i]);
    assert_int_equal(ctl_certrepo_load_many(&g_repo, names, 0, certs, &bad, NULL), 0);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_of_a_missing_certificate_is_not_found_with_its_name),
        cmocka_unit_test(test_put_then_load_round_trips_with_the_new_revision),
        cmocka_unit_test(test_put_checks_mode_and_revision),
        cmocka_unit_test(test_put_with_a_job_enqueues_it_in_the_same_write),
        cmocka_unit_test(test_every_write_drops_the_cached_certificate),
        cmocka_unit_test(test_unreadable_records_are_invalid_and_counted_by_load_many),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
