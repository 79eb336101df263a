/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_cache.c - GetCertificate's cache against a real Redis: own writes at once, another
 * controller's writes within the relay's lag, private keys always from Redis */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "controller/service/service_types.h"
#include "controller/service/service_util.h"
#include "controller/store/certrec.h"
#include "controller/store/store.h"
#include "shared/x509.h"
#include "tests/support/harness.h"

static cp_test_redis_t g_redis;
static ctl_config_t g_cfg;
static ctl_service_t *g_svc;
static ctl_thread_t *g_t;
static ctl_store_t *g_other; /* "another controller": writes with events, not through g_svc */
static char *g_pem, *g_key;

static const ctl_caller_t ADMIN = {.scopes = CTL_SCOPE_ADMIN, .token_id = "ad", .peer = "x"};
static const ctl_caller_t READ = {.scopes = CTL_SCOPE_READ, .token_id = "rd", .peer = "x"};

static void make_pem(const char *name, char **pem, char **key)
{
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    const char *names[] = {name};
    assert_int_equal(cp_x509_key_generate(CP_KEY_EC_P256, &k, NULL), 0);
    assert_int_equal(cp_x509_self_signed(k, names, 1, 90, &x, NULL), 0);
    assert_int_equal(cp_x509_cert_to_pem(x, pem, NULL), 0);
    assert_int_equal(cp_x509_key_to_pem(k, key, NULL), 0);
    X509_free(x);
    EVP_PKEY_free(k);
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(cp_test_redis_start(&g_redis, NULL), 0);
    g_cfg.redis_url = g_redis.url;
    g_cfg.api_tokens = "t:admin";
    g_cfg.acme_email = "ops@example.com";
    g_cfg.acme_provider = "letsencrypt-staging";
    g_cfg.acme_timeout_ms = 5000;
    g_cfg.edge_ttl_ms = 30000;
    g_cfg.events_max = 100000;
    assert_int_equal(ctl_service_new(&g_cfg, &g_svc, NULL), 0);
    assert_int_equal(ctl_service_start(g_svc, NULL), 0);
    g_t = ctl_thread_new(g_svc);
    assert_non_null(g_t);
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &g_other, NULL), 0);
    make_pem("cache.example.com", &g_pem, &g_key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ctl_store_free(g_other);
    ctl_thread_free(g_t);
    ctl_service_free(g_svc);
    cp_test_redis_stop(&g_redis);
    free(g_pem);
    free(g_key);
    return 0;
}

static int call(const ctl_caller_t *who, const char *rpc, const void *req, void **resp,
                cp_err_t *err)
{
    ProtobufCMessage *out = NULL;
    memset(err, 0, sizeof *err);
    int rc = ctl_service_invoke(g_svc, g_t, who, ctl_service_rpc_by_name(rpc), req, &out, err);
    if (resp != NULL)
        *resp = out;
    else
        protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

static Certplane__V1__Certificate *get(const ctl_caller_t *who, const char *name, bool key, int *rc)
{
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    cp_err_t err;
    void *out = NULL;
    g.name = (char *)name;
    g.include_private_key = key;
    *rc = call(who, "GetCertificate", &g, &out, &err);
    return out;
}

static int64_t import(const char *name, bool overwrite)
{
    Certplane__V1__ImportCertificateRequest req = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    cp_err_t err;
    void *out = NULL;
    req.name = (char *)name;
    req.fullchain_pem = g_pem;
    req.private_key_pem = g_key;
    req.overwrite = overwrite;
    assert_int_equal(call(&ADMIN, "ImportCertificate", &req, &out, &err), 0);
    int64_t rev = ((Certplane__V1__Certificate *)out)->revision;
    protobuf_c_message_free_unpacked(out, NULL);
    return rev;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads name until its revision is `rev` (or NOT_FOUND when rev is 0), at most 3 s; returns the
 * seconds it took. */
static double wait_rev(const char *name, int64_t rev)
{
    double t0 = now_s();
    for (int i = 0; i < 3000; i++) {
        int rc;
        Certplane__V1__Certificate *c = get(&READ, name, false, &rc);
        int64_t got = rc == 0 ? c->revision : 0;
        protobuf_c_message_free_unpacked(c ? &c->base : NULL, NULL);
        if ((rev == 0 && rc == CP_ENOTFOUND) || (rev != 0 && got == rev))
            return now_s() - t0;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("revision %lld of %s never became visible", (long long)rev, name);
    return 0;
}

/* Waits until a read of name is a cache hit (the relay enables the cache after its first read). */
static void wait_hit(const char *name)
{
    ctl_certcache_stats_t before, after;
    ctl_certcache_get_stats(g_svc->cache, &before);
    for (int i = 0; i < 3000; i++) {
        int rc;
        Certplane__V1__Certificate *w = get(&READ, name, false, &rc);
        protobuf_c_message_free_unpacked(w != NULL ? &w->base : NULL, NULL);
        ctl_certcache_get_stats(g_svc->cache, &after);
        if (after.hits > before.hits)
            return;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("%s never became a cache hit", name);
}

static void test_reads_are_served_from_the_cache_without_keys(void **state)
{
    (void)state;
    int rc;
    int64_t rev = import("cached", false);
    wait_rev("cached", rev);
    /* Seeing the revision does not mean the relay has enabled the cache yet (a miss reads Redis):
     * wait for the first hit before counting. */
    wait_hit("cached");
    ctl_certcache_stats_t before, after;
    ctl_certcache_get_stats(g_svc->cache, &before);
    for (int i = 0; i < 10; i++) {
        Certplane__V1__Certificate *c = get(&READ, "cached", false, &rc);
        assert_int_equal(rc, 0);
        assert_int_equal(c->revision, rev);
        assert_string_equal(c->private_key_pem, "");
        assert_non_null(strstr(c->fullchain_pem, "BEGIN CERTIFICATE"));
        protobuf_c_message_free_unpacked(&c->base, NULL);
    }
    ctl_certcache_get_stats(g_svc->cache, &after);
    assert_true(after.hits >= before.hits + 9);
    /* An admin who asks for the key gets it from Redis, whatever the cache holds. */
    Certplane__V1__Certificate *c = get(&ADMIN, "cached", true, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(c->private_key_pem, "BEGIN PRIVATE KEY"));
    protobuf_c_message_free_unpacked(&c->base, NULL);
    /* And a reader still cannot ask for it. */
    assert_null(get(&READ, "cached", true, &rc));
    assert_int_equal(rc, CP_EPERM);
}

static int get_cached(const ctl_caller_t *who, const char *name, bool key,
                      Certplane__V1__Certificate **c)
{
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    cp_err_t err = {0};
    g.name = (char *)name;
    g.include_private_key = key;
    return ctl_service_get_cached(g_svc, who, &g, c, &err);
}

/* The gateway's loop calls ctl_service_get_cached: with Redis frozen (SIGSTOP) a cached read must
 * still answer at once, and everything else must say "needs Redis" (0) or fail validation, never
 * wait. */
static void test_get_cached_answers_from_memory_while_redis_is_frozen(void **state)
{
    (void)state;
    Certplane__V1__Certificate *c = NULL;
    const ctl_caller_t nobody = {.scopes = 0, .token_id = "no", .peer = "x"};
    int64_t rev = import("frozen", false);
    wait_rev("frozen", rev);
    Certplane__V1__Certificate *m = NULL, *k = NULL, *n = NULL;
    int hit = 0, miss = -1, key = -1, perm = 0, bad = 0;
    /* The relay may drop the entry once more when it applies the import's own event after our first
     * hit (a refused fill), so a run that finds it gone is tried again; each run must be fast. */
    for (int attempt = 0; attempt < 5 && hit != 1; attempt++) {
        wait_hit("frozen");
        assert_int_equal(kill(g_redis.proc.pid, SIGSTOP), 0);
        double t0 = now_s();
        hit = get_cached(&READ, "frozen", false, &c);
        miss = get_cached(&READ, "not-cached", false, &m);
        key = get_cached(&ADMIN, "frozen", true, &k);
        perm = get_cached(&nobody, "frozen", false, &n);
        bad = get_cached(&READ, "Bad Name!", false, &n);
        double took = now_s() - t0;
        assert_int_equal(kill(g_redis.proc.pid, SIGCONT), 0);
        assert_true(took < 0.1);
    }
    assert_int_equal(hit, 1);
    assert_non_null(c);
    assert_int_equal(c->revision, rev);
    assert_string_equal(c->private_key_pem, "");
    protobuf_c_message_free_unpacked(&c->base, NULL);
    assert_int_equal(miss, 0);
    assert_null(m);
    assert_int_equal(key, 0); /* a key is read from Redis, on a thread that may wait */
    assert_null(k);
    assert_int_equal(perm, CP_EPERM);
    assert_int_equal(bad, CP_EINVAL);
    assert_null(n);
}

static void test_own_write_is_read_back_at_once(void **state)
{
    (void)state;
    int rc;
    int64_t r1 = import("mine", false);
    wait_rev("mine", r1);
    for (int round = 0; round < 20; round++) {
        int64_t r2 = import("mine", true);
        assert_true(r2 > r1);
        /* No wait: the write dropped the cached copy before it answered. */
        Certplane__V1__Certificate *c = get(&READ, "mine", false, &rc);
        assert_int_equal(rc, 0);
        assert_int_equal(c->revision, r2);
        protobuf_c_message_free_unpacked(&c->base, NULL);
        r1 = r2;
    }
    Certplane__V1__DeleteCertificateRequest d = CERTPLANE__V1__DELETE_CERTIFICATE_REQUEST__INIT;
    cp_err_t err;
    d.name = "mine";
    assert_int_equal(call(&ADMIN, "DeleteCertificate", &d, NULL, &err), 0);
    assert_null(get(&READ, "mine", false, &rc));
    assert_int_equal(rc, CP_ENOTFOUND);
}

static void test_another_controllers_writes_arrive_within_the_relay_lag(void **state)
{
    (void)state;
    int rc;
    int64_t r1 = import("theirs", false);
    wait_rev("theirs", r1);
    Certplane__V1__Certificate *c = get(&ADMIN, "theirs", true, &rc);
    assert_int_equal(rc, 0);
    /* Another controller changes the e-mail (record + event in one script). */
    char *json = NULL;
    size_t len = 0;
    int64_t r2 = 0;
    ctl_service__set_string(&c->email, "other@example.com");
    assert_int_equal(ctl_certrec_encode(c, &json, &len, NULL), 0);
    ctl_store_cert_write_t w = {.name = "theirs",
                                .json = json,
                                .json_len = len,
                                .mode = CTL_STORE_MATCH,
                                .expected_revision = r1,
                                .renew_at = -1};
    assert_int_equal(ctl_store_cert_put(g_other, &w, &r2, NULL), 0);
    free(json);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    double lag = wait_rev("theirs", r2);
    printf("[ info ] another controller's write visible after %.1f ms\n", lag * 1000);
    assert_true(lag < 1.0);
    c = get(&READ, "theirs", false, &rc);
    assert_string_equal(c->email, "other@example.com");
    protobuf_c_message_free_unpacked(&c->base, NULL);
    /* A delete by the other controller too. */
    assert_int_equal(ctl_store_cert_delete(g_other, "theirs", 0, NULL, NULL), 0);
    lag = wait_rev("theirs", 0);
    printf("[ info ] another controller's delete visible after %.1f ms\n", lag * 1000);
    assert_true(lag < 1.0);
}

/* This controller keeps writing (each write invalidates in the cache, which moves its generation)
 * while another controller changes one certificate; the relay's refresh of that certificate must
 * never leave the older revision cached. */
static atomic_bool g_storm_stop;

static void *storm(void *arg)
{
    (void)arg;
    ctl_thread_t *t = ctl_thread_new(g_svc);
    Certplane__V1__ImportCertificateRequest req = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    req.name = "storm";
    req.fullchain_pem = g_pem;
    req.private_key_pem = g_key;
    req.overwrite = true;
    while (!atomic_load(&g_storm_stop)) {
        ProtobufCMessage *out = NULL;
        cp_err_t err = {0};
        if (ctl_service_invoke(g_svc, t, &ADMIN, ctl_service_rpc_by_name("ImportCertificate"),
                               &req.base, &out, &err) == 0)
            protobuf_c_message_free_unpacked(out, NULL);
    }
    ctl_thread_free(t);
    return NULL;
}

static void test_other_controllers_writes_are_not_lost_while_this_one_writes(void **state)
{
    (void)state;
    int rc;
    int64_t rev = import("contended", false);
    wait_rev("contended", rev);
    pthread_t tid;
    atomic_store(&g_storm_stop, false);
    assert_int_equal(pthread_create(&tid, NULL, storm, NULL), 0);
    double worst = 0;
    for (int i = 0; i < 150; i++) {
        Certplane__V1__Certificate *c = get(&ADMIN, "contended", true, &rc);
        assert_int_equal(rc, 0);
        char *json = NULL;
        size_t len = 0;
        assert_int_equal(ctl_certrec_encode(c, &json, &len, NULL), 0);
        ctl_store_cert_write_t w = {.name = "contended",
                                    .json = json,
                                    .json_len = len,
                                    .mode = CTL_STORE_MATCH,
                                    .expected_revision = c->revision,
                                    .renew_at = -1};
        int64_t next = 0;
        assert_int_equal(ctl_store_cert_put(g_other, &w, &next, NULL), 0);
        free(json);
        protobuf_c_message_free_unpacked(&c->base, NULL);
        double lag = wait_rev("contended", next); /* fails the test when it never arrives */
        worst = lag > worst ? lag : worst;
    }
    atomic_store(&g_storm_stop, true);
    pthread_join(tid, NULL);
    printf("[ info ] 150 writes by another controller under this one's own writes: worst lag "
           "%.1f ms\n",
           worst * 1000);
    assert_true(worst < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_are_served_from_the_cache_without_keys),
        cmocka_unit_test(test_get_cached_answers_from_memory_while_redis_is_frozen),
        cmocka_unit_test(test_own_write_is_read_back_at_once),
        cmocka_unit_test(test_another_controllers_writes_arrive_within_the_relay_lag),
        cmocka_unit_test(test_other_controllers_writes_are_not_lost_while_this_one_writes),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
