/* SPDX-License-Identifier: Apache-2.0 */
/* test_certcache.c - the GetCertificate cache: no keys, generations, revisions, reset, threads */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "controller/store/certcache.h"

static Certplane__V1__Certificate *cert(const char *name, int64_t rev, const char *key)
{
    Certplane__V1__Certificate *c = calloc(1, sizeof *c);
    certplane__v1__certificate__init(c);
    c->name = strdup(name);
    c->revision = rev;
    c->private_key_pem = strdup(key);
    c->fullchain_pem = strdup("-----BEGIN CERTIFICATE-----\n...");
    return c;
}

static void cert_free(Certplane__V1__Certificate *c)
{
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

/* The revision cached for name, or -1 on a miss. */
static int64_t cached_rev(ctl_certcache_t *cc, const char *name)
{
    Certplane__V1__Certificate *got = NULL;
    if (!ctl_certcache_get(cc, name, &got))
        return -1;
    int64_t rev = got->revision;
    cert_free(got);
    return rev;
}

static void test_disabled_cache_misses_and_ignores_fills(void **state)
{
    (void)state;
    ctl_certcache_t *cc = ctl_certcache_new(0);
    Certplane__V1__Certificate *c = cert("a", 3, "SECRET");
    assert_false(ctl_certcache_fill(cc, c, ctl_certcache_gen(cc)));
    assert_int_equal(cached_rev(cc, "a"), -1);
    assert_int_equal(cached_rev(NULL, "a"), -1);
    cert_free(c);
    ctl_certcache_free(cc);
    ctl_certcache_free(NULL);
}

static void test_hit_never_carries_the_private_key(void **state)
{
    (void)state;
    ctl_certcache_t *cc = ctl_certcache_new(0);
    ctl_certcache_reset(cc, true);
    Certplane__V1__Certificate *c = cert("a", 3, "-----BEGIN PRIVATE KEY-----SECRET");
    assert_true(ctl_certcache_fill(cc, c, ctl_certcache_gen(cc)));
    assert_string_equal(c->private_key_pem, "-----BEGIN PRIVATE KEY-----SECRET"); /* unchanged */
    Certplane__V1__Certificate *got = NULL;
    assert_int_equal(ctl_certcache_get(cc, "a", &got), 1);
    assert_string_equal(got->name, "a");
    assert_int_equal(got->revision, 3);
    assert_string_equal(got->private_key_pem, "");
    assert_string_equal(got->fullchain_pem, c->fullchain_pem);
    cert_free(got);
    ctl_certcache_stats_t st;
    ctl_certcache_get_stats(cc, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.entries, 1);
    cert_free(c);
    ctl_certcache_free(cc);
}

static void test_fill_after_an_invalidation_is_refused(void **state)
{
    (void)state;
    ctl_certcache_t *cc = ctl_certcache_new(0);
    ctl_certcache_reset(cc, true);
    Certplane__V1__Certificate *old = cert("a", 3, "K");
    /* A reader starts its Redis read, a write lands and invalidates, the reader offers rev 3. */
    uint64_t gen = ctl_certcache_gen(cc);
    ctl_certcache_invalidate(cc, "a");
    assert_false(ctl_certcache_fill(cc, old, gen));
    assert_int_equal(cached_rev(cc, "a"), -1);
    /* The same after a delete of a cached entry. */
    assert_true(ctl_certcache_fill(cc, old, ctl_certcache_gen(cc)));
    gen = ctl_certcache_gen(cc);
    ctl_certcache_invalidate(cc, "a");
    assert_int_equal(cached_rev(cc, "a"), -1);
    assert_false(ctl_certcache_fill(cc, old, gen));
    cert_free(old);
    ctl_certcache_free(cc);
}

static void test_older_revision_never_replaces_a_newer_one(void **state)
{
    (void)state;
    ctl_certcache_t *cc = ctl_certcache_new(0);
    ctl_certcache_reset(cc, true);
    Certplane__V1__Certificate *v5 = cert("a", 5, "K"), *v4 = cert("a", 4, "K"),
                               *v6 = cert("a", 6, "K");
    assert_true(ctl_certcache_fill(cc, v5, ctl_certcache_gen(cc)));
    assert_false(ctl_certcache_fill(cc, v4, ctl_certcache_gen(cc)));
    assert_false(ctl_certcache_fill(cc, v5, ctl_certcache_gen(cc)));
    assert_int_equal(cached_rev(cc, "a"), 5);
    assert_true(ctl_certcache_fill(cc, v6, ctl_certcache_gen(cc)));
    assert_int_equal(cached_rev(cc, "a"), 6);
    cert_free(v4);
    cert_free(v5);
    cert_free(v6);
    ctl_certcache_free(cc);
}

static void test_reset_empties_and_disable_stops_serving(void **state)
{
    (void)state;
    ctl_certcache_t *cc = ctl_certcache_new(0);
    ctl_certcache_reset(cc, true);
    Certplane__V1__Certificate *c = cert("a", 1, "K");
    uint64_t gen = ctl_certcache_gen(cc);
    assert_true(ctl_certcache_fill(cc, c, gen));
    ctl_certcache_reset(cc, false); /* the relay lost the stream */
    assert_int_equal(cached_rev(cc, "a"), -1);
    assert_false(ctl_certcache_fill(cc, c, ctl_certcache_gen(cc)));
    ctl_certcache_reset(cc, true); /* reading again: fills from before are refused */
    assert_false(ctl_certcache_fill(cc, c, gen));
    assert_true(ctl_certcache_fill(cc, c, ctl_certcache_gen(cc)));
    assert_int_equal(cached_rev(cc, "a"), 1);
    cert_free(c);
    ctl_certcache_free(cc);
}

static void test_full_cache_stays_bounded(void **state)
{
    (void)state;
    ctl_certcache_t *cc = ctl_certcache_new(8);
    ctl_certcache_reset(cc, true);
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof name, "n%d", i);
        Certplane__V1__Certificate *c = cert(name, i + 1, "K");
        assert_true(ctl_certcache_fill(cc, c, ctl_certcache_gen(cc)));
        cert_free(c);
        ctl_certcache_stats_t st;
        ctl_certcache_get_stats(cc, &st);
        assert_true(st.entries <= 8);
    }
    assert_int_equal(cached_rev(cc, "n99"), 100);
    /* Full, it evicts one entry per fill, never the whole cache: a snapshot of more certificates
     * than fit keeps (nearly) a full cache instead of emptying it again and again. */
    ctl_certcache_stats_t st;
    ctl_certcache_get_stats(cc, &st);
    assert_int_equal(st.entries, 8);
    assert_int_equal(st.evictions, 92);
    ctl_certcache_free(cc);
}

/* The sealed key (as Redis stores it) is kept beside the key-less certificate for snapshots; a
 * fill that did not know it (the relay's) is no hit for them, and a later fill of the same
 * revision with the key known completes the entry. */
static void test_sealed_key_kept_beside_the_certificate(void **state)
{
    (void)state;
    ctl_certcache_t *cc = ctl_certcache_new(0);
    ctl_certcache_reset(cc, true);
    Certplane__V1__Certificate *c = cert("a", 3, "PLAINTEXT-KEY"), *got = NULL;
    char *sealed = NULL;
    assert_true(ctl_certcache_fill(cc, c, ctl_certcache_gen(cc)));
    assert_int_equal(ctl_certcache_get_sealed(cc, "a", &got, &sealed), 0);
    assert_true(ctl_certcache_fill_sealed(cc, c, "cpenc1:kek:nonce:ct", ctl_certcache_gen(cc)));
    assert_false(ctl_certcache_fill_sealed(cc, c, "cpenc1:kek:nonce:ct", ctl_certcache_gen(cc)));
    assert_int_equal(ctl_certcache_get_sealed(cc, "a", &got, &sealed), 1);
    assert_string_equal(sealed, "cpenc1:kek:nonce:ct");
    assert_string_equal(got->private_key_pem, ""); /* the opened key is never cached */
    assert_int_equal(got->revision, 3);
    cert_free(got);
    free(sealed);
    /* An older revision never replaces it; an invalidation drops both. */
    Certplane__V1__Certificate *old = cert("a", 2, "K");
    assert_false(ctl_certcache_fill_sealed(cc, old, "cpenc1:old", ctl_certcache_gen(cc)));
    ctl_certcache_invalidate(cc, "a");
    assert_int_equal(ctl_certcache_get_sealed(cc, "a", &got, &sealed), 0);
    /* A certificate without a key is cached as such (""), and is a hit. */
    Certplane__V1__Certificate *nokey = cert("b", 1, "");
    assert_true(ctl_certcache_fill_sealed(cc, nokey, "", ctl_certcache_gen(cc)));
    assert_int_equal(ctl_certcache_get_sealed(cc, "b", &got, &sealed), 1);
    assert_string_equal(sealed, "");
    cert_free(got);
    free(sealed);
    cert_free(old);
    cert_free(nokey);
    cert_free(c);
    ctl_certcache_free(cc);
}

#define ROUNDS 2000

static void *reader(void *arg)
{
    ctl_certcache_t *cc = arg;
    for (int i = 0; i < ROUNDS * 4; i++) {
        Certplane__V1__Certificate *got = NULL;
        if (ctl_certcache_get(cc, "hot", &got)) {
            assert_string_equal(got->private_key_pem, "");
            cert_free(got);
        }
    }
    return NULL;
}

/* Readers, a filler and an invalidator at once: no torn value, and the last write wins. */
static void test_concurrent_readers_and_writers(void **state)
{
    (void)state;
    ctl_certcache_t *cc = ctl_certcache_new(0);
    ctl_certcache_reset(cc, true);
    pthread_t tid[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, reader, cc), 0);
    for (int i = 1; i <= ROUNDS; i++) {
        Certplane__V1__Certificate *c = cert("hot", i, "K");
        uint64_t gen = ctl_certcache_gen(cc);
        ctl_certcache_fill(cc, c, gen);
        if (i % 7 == 0)
            ctl_certcache_invalidate(cc, "hot");
        cert_free(c);
    }
    for (int i = 0; i < 3; i++)
        pthread_join(tid[i], NULL);
    Certplane__V1__Certificate *c = cert("hot", ROUNDS + 1, "K");
    assert_true(ctl_certcache_fill(cc, c, ctl_certcache_gen(cc)));
    assert_int_equal(cached_rev(cc, "hot"), ROUNDS + 1);
    cert_free(c);
    ctl_certcache_free(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disabled_cache_misses_and_ignores_fills),
        cmocka_unit_test(test_hit_never_carries_the_private_key),
        cmocka_unit_test(test_fill_after_an_invalidation_is_refused),
        cmocka_unit_test(test_older_revision_never_replaces_a_newer_one),
        cmocka_unit_test(test_reset_empties_and_disable_stops_serving),
        cmocka_unit_test(test_full_cache_stays_bounded),
        cmocka_unit_test(test_sealed_key_kept_beside_the_certificate),
        cmocka_unit_test(test_concurrent_readers_and_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
