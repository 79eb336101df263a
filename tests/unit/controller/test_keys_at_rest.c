/* SPDX-License-Identifier: Apache-2.0 */
/* test_keys_at_rest.c - private keys sealed in a real redis-server: no PEM in the raw records,
 * seed plaintext records read and rewritten sealed, account keys likewise, unknown KEKs reported
 * without losing the record, and rotation while another connection keeps writing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/certrepo.h"
#include "controller/store/keyrotate.h"
#include "shared/mem.h"
#include "tests/support/harness.h"

#define K1 "k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
#define K2 "k2 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n"
#define PEM                                                                                        \
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n"

/* PEM as JSON text (the seed writes it with json.dumps). */
#define PEM_JSON                                                                                   \
    "-----BEGIN PRIVATE KEY-----\\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\\n-----END PRIVATE "           \
    "KEY-----\\n"

static cp_test_redis_t g_redis;
static ctl_keyring_t *g_k1, *g_k21, *g_k2; /* {k1}, {k2 active, k1}, {k2} */

static ctl_keyring_t *ring(const char *text)
{
    ctl_keyring_t *kr = NULL;
    assert_int_equal(ctl_keyring_parse(text, "test", &kr, NULL), 0);
    return kr;
}

static ctl_store_t *open_store(const ctl_keyring_t *kr)
{
    ctl_store_t *s = NULL;
    ctl_store_opts_t o = {.keyring = kr};
    assert_int_equal(ctl_store_new(g_redis.url, &o, &s, NULL), 0);
    return s;
}

/* The raw value of a Redis key (malloc'd), or NULL. */
static char *raw_get(const char *key)
{
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "GET %s", key);
    assert_non_null(r);
    char *v = r->type == REDIS_REPLY_STRING ? cp_xstrdup(r->str) : NULL;
    freeReplyObject(r);
    redisFree(c);
    return v;
}

static void raw_set(const char *key, const char *value)
{
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "SET %s %s", key, value);
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(c);
}

static void flushall(void)
{
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    redisFree(c);
}

/* Asserts that the raw record holds no key in the clear and is sealed under `kek`. */
static void assert_sealed(const char *key, const char *kek)
{
    char *v = raw_get(key), want[80];
    assert_non_null(v);
    snprintf(want, sizeof want, "cpenc1:%s:", kek);
    if (strstr(v, "BEGIN") != NULL || strstr(v, want) == NULL)
        fail_msg("%s is not sealed under %s: %s", key, kek, v);
    free(v);
}

static Certplane__V1__Certificate *cert_new(const char *name)
{
    Certplane__V1__Certificate *c = cp_xcalloc(1, sizeof *c);
    certplane__v1__certificate__init(c);
    c->name = cp_xstrdup(name);
    c->n_domains = 1;
    c->domains = cp_xcalloc(1, sizeof *c->domains);
    c->domains[0] = cp_xstrdup("rest.example.com");
    c->state = CERTPLANE__V1__STATE__PENDING;
    c->private_key_pem = cp_xstrdup(PEM);
    return c;
}

static int64_t put_new(ctl_store_t *s, const char *name)
{
    ctl_certrepo_t repo = {s, NULL};
    Certplane__V1__Certificate *c = cert_new(name);
    ctl_certrepo_write_t w = {.mode = CTL_STORE_CREATE, .renew_at_ms = 1700000000000LL};
    int64_t rev = 0;
    assert_int_equal(ctl_certrepo_put(&repo, c, &w, &rev, NULL), 0);
    ctl_certrepo_cert_free(c);
    return rev;
}

static void load_ok(ctl_store_t *s, const char *name)
{
    ctl_certrepo_t repo = {s, NULL};
    Certplane__V1__Certificate *c = NULL;
    cp_err_t err = {0};
    if (ctl_certrepo_load(&repo, name, &c, &err) != 0)
        fail_msg("load %s: %s", name, err.msg);
    assert_string_equal(c->private_key_pem, PEM);
    ctl_certrepo_cert_free(c);
}

static void test_a_put_stores_no_key_in_the_clear(void **state)
{
    (void)state;
    ctl_store_t *s = open_store(g_k1);
    put_new(s, "www");
    assert_sealed("cert:www", "k1");
    load_ok(s, "www");
    /* Many at once (the list/watch path) open too. */
    const char *names[] = {"www"};
    Certplane__V1__Certificate *out[1];
    size_t bad = 9;
    ctl_certrepo_t repo = {s, NULL};
    assert_int_equal(ctl_certrepo_load_many(&repo, names, 1, out, &bad, NULL), 0);
    assert_int_equal(bad, 0);
    assert_string_equal(out[0]->private_key_pem, PEM);
    ctl_certrepo_cert_free(out[0]);
    ctl_store_free(s);
}

/* The Watch snapshot path (load_many through the read cache): the second read of a sealed record
 * comes from the cache, with the same key opened; the cache holds the key only sealed; a record
 * whose key is in the clear (a seed one) is never served from it with its key. */
static void test_load_many_through_the_cache_opens_the_sealed_key(void **state)
{
    (void)state;
    ctl_store_t *s = open_store(g_k1);
    ctl_certcache_t *cache = ctl_certcache_new(0);
    ctl_certcache_reset(cache, true);
    ctl_certrepo_t repo = {s, cache};
    put_new(s, "cached1");
    raw_set("cert:plain1", "{\"domains\": [\"plain.example.com\"], \"fullchain_pem\": \"\", "
                           "\"private_key_pem\": \"" PEM_JSON "\"}");
    const char *names[] = {"cached1", "plain1"};
    Certplane__V1__Certificate *out[2];
    size_t bad = 9;
    for (int round = 0; round < 2; round++) {
        assert_int_equal(ctl_certrepo_load_many(&repo, names, 2, out, &bad, NULL), 0);
        assert_int_equal(bad, 0);
        assert_string_equal(out[0]->private_key_pem, PEM);
        assert_string_equal(out[1]->private_key_pem, PEM);
        ctl_certrepo_cert_free(out[0]);
        ctl_certrepo_cert_free(out[1]);
    }
    ctl_certcache_stats_t st;
    ctl_certcache_get_stats(cache, &st);
    assert_int_equal(st.hits, 1); /* cached1 in round 2; plain1 is read from Redis each time */
    Certplane__V1__Certificate *c = NULL;
    char *sealed = NULL;
    assert_int_equal(ctl_certcache_get_sealed(cache, "cached1", &c, &sealed), 1);
    assert_non_null(strstr(sealed, "cpenc1:k1:"));
    assert_null(strstr(sealed, "PRIVATE KEY"));
    assert_string_equal(c->private_key_pem, "");
    free(sealed);
    ctl_certrepo_cert_free(c);
    assert_int_equal(ctl_certcache_get_sealed(cache, "plain1", &c, &sealed), 0);
    /* A write through the repository leaves its new revision cached with the sealed key (what a
     * read would decode), so the next snapshot reads nothing back; a delete drops it. */
    Certplane__V1__Certificate *w = cert_new("written1");
    ctl_certrepo_write_t wr = {.mode = CTL_STORE_CREATE, .renew_at_ms = -1};
    int64_t rev = 0;
    assert_int_equal(ctl_certrepo_put(&repo, w, &wr, &rev, NULL), 0);
    assert_int_equal(ctl_certcache_revision(cache, "written1"), rev);
    const char *wn[] = {"written1"};
    assert_int_equal(ctl_certrepo_load_many(&repo, wn, 1, out, &bad, NULL), 0);
    assert_string_equal(out[0]->private_key_pem, PEM);
    assert_int_equal(out[0]->revision, rev);
    ctl_certrepo_cert_free(out[0]);
    ctl_certcache_get_stats(cache, &st);
    assert_int_equal(st.hits, 3); /* and the get_sealed above */
    /* A write that fails (a stale revision) drops the entry: it may have been applied. */
    wr.mode = CTL_STORE_MATCH;
    wr.expected_revision = rev - 1;
    assert_int_equal(ctl_certrepo_put(&repo, w, &wr, NULL, NULL), CP_ECONFLICT);
    assert_int_equal(ctl_certcache_revision(cache, "written1"), -1);
    ctl_certrepo_cert_free(w);
    ctl_certcache_free(cache);
    ctl_store_free(s);
}

static void test_a_seed_record_is_read_and_rewritten_sealed(void **state)
{
    (void)state;
    ctl_store_t *s = open_store(g_k1);
    ctl_certrepo_t repo = {s, NULL};
    /* The Python seed's record: no revision, no state, the key in the clear. */
    raw_set("cert:seed", "{\"domains\": [\"seed.example.com\"], \"email\": \"a@b.example\", "
                         "\"fullchain_pem\": \"\", \"private_key_pem\": \"" PEM_JSON "\"}");
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(ctl_certrepo_load(&repo, "seed", &c, NULL), 0);
    assert_string_equal(c->private_key_pem, PEM);
    assert_int_equal(c->revision, 0);
    ctl_certrepo_write_t w = {.mode = CTL_STORE_MATCH, .expected_revision = 0, .renew_at_ms = -1};
    assert_int_equal(ctl_certrepo_put(&repo, c, &w, NULL, NULL), 0);
    ctl_certrepo_cert_free(c);
    assert_sealed("cert:seed", "k1");
    load_ok(s, "seed");
    ctl_store_free(s);
}

static void test_account_keys_are_sealed_and_seed_ones_read(void **state)
{
    (void)state;
    ctl_store_t *s = open_store(g_k1);
    char *key = NULL, *url = NULL;
    assert_int_equal(ctl_store_account_put(s, "le", "a@b", PEM, "https://acme/acct/1", NULL), 0);
    assert_sealed("account:le:a@b", "k1");
    assert_int_equal(ctl_store_account_get(s, "le", "a@b", &key, &url, NULL), 0);
    assert_string_equal(key, PEM);
    assert_string_equal(url, "https://acme/acct/1");
    cp_secure_free_str(key);
    free(url);
    raw_set("account:le:seed@b", PEM); /* the seed's account record */
    assert_int_equal(ctl_store_account_get(s, "le", "seed@b", &key, NULL, NULL), 0);
    assert_string_equal(key, PEM);
    assert_int_equal(ctl_store_account_put(s, "le", "seed@b", key, NULL, NULL), 0);
    cp_secure_free_str(key);
    assert_sealed("account:le:seed@b", "k1");
    /* A key copied under another account does not open there. */
    char *v = raw_get("account:le:a@b");
    raw_set("account:le:thief@b", v);
    free(v);
    cp_err_t err = {0};
    assert_int_equal(ctl_store_account_get(s, "le", "thief@b", &key, NULL, &err), CP_ECRYPTO);
    assert_null(key);
    ctl_store_free(s);
}

/* The key an order record holds from finalize on (store_orders.h) is sealed like every other. */
static void test_order_record_keys_are_sealed(void **state)
{
    (void)state;
    ctl_store_t *s = open_store(g_k1);
    ctl_store_order_t o = {.url = "https://acme/order/1", .request = "r", .key_pem = PEM};
    ctl_store_order_t got = {0};
    assert_int_equal(ctl_store_order_put(s, "o", &o, NULL), 0);
    redisContext *c = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "HGET order:o key");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_null(strstr(r->str, "BEGIN"));
    assert_non_null(strstr(r->str, "cpenc1:k1:"));
    freeReplyObject(r);
    assert_int_equal(ctl_store_order_get(s, "o", &got, NULL), 0);
    assert_string_equal(got.key_pem, PEM);
    ctl_store_order_dispose(&got);
    /* Sealed for order:o: copied to another order it does not open. */
    r = redisCommand(c, "COPY order:o order:p");
    freeReplyObject(r);
    cp_err_t err = {0};
    assert_int_equal(ctl_store_order_get(s, "p", &got, &err), CP_ECRYPTO);
    assert_null(got.url);
    redisFree(c);
    ctl_store_free(s);
}

static void test_an_unknown_kek_is_an_error_and_keeps_the_record(void **state)
{
    (void)state;
    flushall();
    ctl_store_t *s2 = open_store(g_k2), *s1 = open_store(g_k1);
    ctl_certrepo_t repo = {s1, NULL};
    put_new(s2, "later");
    char *before = raw_get("cert:later");
    Certplane__V1__Certificate *c = (void *)1, *out[1];
    cp_err_t err = {0};
    assert_int_equal(ctl_certrepo_load(&repo, "later", &c, &err), CP_ESTATE);
    assert_null(c);
    assert_non_null(strstr(err.msg, "KEK \"k2\", which is not in the keyring"));
    const char *names[] = {"later"};
    size_t bad = 0;
    assert_int_equal(ctl_certrepo_load_many(&repo, names, 1, out, &bad, NULL), 0);
    assert_int_equal(bad, 1);
    assert_null(out[0]);
    /* Rotation with that keyring counts it as failed and leaves it alone. */
    ctl_keyrotate_stats_t st;
    assert_int_equal(ctl_keyrotate_run(s1, &st, &err), 0);
    assert_int_equal(st.failed, 1);
    char *after = raw_get("cert:later");
    assert_string_equal(after, before);
    /* A sealed value copied into another certificate does not open there. */
    raw_set("cert:copy", before);
    assert_int_equal(ctl_certrepo_load(&(ctl_certrepo_t){s2, NULL}, "copy", &c, &err), CP_ECRYPTO);
    free(before);
    free(after);
    ctl_store_free(s1);
    ctl_store_free(s2);
}

/* ---- rotation while a writer keeps updating records ---- */

#define N_CERTS 200

typedef struct writer {
    atomic_bool stop;
    atomic_long writes;
    char last[N_CERTS][64]; /* the email of each certificate's last successful write */
} writer_t;

static void *writer_run(void *arg)
{
    writer_t *w = arg;
    ctl_store_t *s = open_store(g_k21); /* a controller that reloaded the new keyring */
    ctl_certrepo_t repo = {s, NULL};
    unsigned seq = 0;
    while (!atomic_load(&w->stop)) {
        int i = (int)(seq % N_CERTS);
        char name[32];
        snprintf(name, sizeof name, "c%03d", i);
        Certplane__V1__Certificate *c = NULL;
        if (ctl_certrepo_load(&repo, name, &c, NULL) == 0) {
            char email[64];
            snprintf(email, sizeof email, "w%u@example.com", seq);
            if (c->email != protobuf_c_empty_string)
                free(c->email);
            c->email = cp_xstrdup(email);
            ctl_certrepo_write_t wr = {.mode = CTL_STORE_MATCH,
                                       .expected_revision = c->revision,
                                       .renew_at_ms = 1700000000000LL};
            if (ctl_certrepo_put(&repo, c, &wr, NULL, NULL) == 0) {
                snprintf(w->last[i], sizeof w->last[i], "%s", email);
                atomic_fetch_add(&w->writes, 1);
            }
            ctl_certrepo_cert_free(c);
        }
        seq += 7; /* visits every record (7 and N_CERTS are coprime) */
    }
    ctl_store_free(s);
    return NULL;
}

static void test_rotation_rewraps_everything_while_writes_go_on(void **state)
{
    (void)state;
    flushall();
    ctl_store_t *old = open_store(g_k1);
    for (int i = 0; i < N_CERTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%03d", i);
        put_new(old, name);
    }
    assert_int_equal(ctl_store_account_put(old, "le", "a@b", PEM, NULL, NULL), 0);
    raw_set("account:le:seed@b", PEM);
    static writer_t w;
    memset(&w, 0, sizeof w);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_run, &w), 0);
    while (atomic_load(&w.writes) < 20)
        ;
    ctl_store_t *s = open_store(g_k21);
    ctl_keyrotate_stats_t st;
    cp_err_t err = {0};
    long before = atomic_load(&w.writes);
    if (ctl_keyrotate_run(s, &st, &err) != 0)
        fail_msg("rotate: %s", err.msg);
    long during = atomic_load(&w.writes) - before;
    atomic_store(&w.stop, true);
    pthread_join(t, NULL);
    print_message("rotation: %zu/%zu certificates and %zu/%zu accounts re-wrapped, %zu failed, "
                  "%zu conflicts retried, %ld concurrent writes\n",
                  st.certs_rewrapped, st.certs, st.accounts_rewrapped, st.accounts, st.failed,
                  st.conflicts, during);
    assert_int_equal(st.certs, N_CERTS);
    assert_int_equal(st.accounts, 2);
    assert_int_equal(st.accounts_rewrapped, 2);
    assert_int_equal(st.failed, 0);
    assert_true(during > 0);
    /* Every record is under k2, so k1 can be retired: a keyring with k2 alone opens them all. And
     * no concurrent write was overwritten by the rotation. */
    ctl_store_t *s2 = open_store(g_k2);
    ctl_certrepo_t repo = {s2, NULL};
    for (int i = 0; i < N_CERTS; i++) {
        char name[32], key[40];
        snprintf(name, sizeof name, "c%03d", i);
        snprintf(key, sizeof key, "cert:%s", name);
        assert_sealed(key, "k2");
        Certplane__V1__Certificate *c = NULL;
        assert_int_equal(ctl_certrepo_load(&repo, name, &c, NULL), 0);
        assert_string_equal(c->private_key_pem, PEM);
        if (w.last[i][0] != '\0')
            assert_string_equal(c->email, w.last[i]);
        ctl_certrepo_cert_free(c);
    }
    assert_sealed("account:le:a@b", "k2");
    assert_sealed("account:le:seed@b", "k2");
    /* A second run finds nothing to do. */
    assert_int_equal(ctl_keyrotate_run(s, &st, &err), 0);
    assert_int_equal(st.certs_rewrapped + st.accounts_rewrapped, 0);
    ctl_store_free(s2);
    ctl_store_free(s);
    ctl_store_free(old);
}

static int group_setup(void **state)
{
    (void)state;
    g_k1 = ring(K1);
    g_k21 = ring(K2 K1);
    g_k2 = ring(K2);
    return cp_test_redis_start(&g_redis, NULL) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_redis_stop(&g_redis);
    ctl_keyring_free(g_k1);
    ctl_keyring_free(g_k21);
    ctl_keyring_free(g_k2);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_put_stores_no_key_in_the_clear),
        cmocka_unit_test(test_load_many_through_the_cache_opens_the_sealed_key),
        cmocka_unit_test(test_a_seed_record_is_read_and_rewritten_sealed),
        cmocka_unit_test(test_account_keys_are_sealed_and_seed_ones_read),
        cmocka_unit_test(test_order_record_keys_are_sealed),
        cmocka_unit_test(test_an_unknown_kek_is_an_error_and_keeps_the_record),
        cmocka_unit_test(test_rotation_rewraps_everything_while_writes_go_on),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
