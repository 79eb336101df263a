/* SPDX-License-Identifier: Apache-2.0 */
/* test_keypool.c - the key pool: fresh distinct keys, the right types, refill, threads, shutdown */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/x509.h>
#include <pthread.h>

#include "controller/acme/keypool.h"

/* The DER public key of k, malloc'd. */
static unsigned char *pub_der(EVP_PKEY *k, int *len)
{
    unsigned char *der = NULL;
    *len = i2d_PUBKEY(k, &der);
    assert_true(*len > 0);
    return der;
}

/* Waits (at most 20 s) until the pool holds n keys of type; returns whether it did. */
static int wait_count(ctl_keypool_t *p, cp_key_type_t type, size_t n)
{
    for (int i = 0; i < 2000; i++) {
        if (ctl_keypool_count(p, type) >= n)
            return 1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void test_pool_starts_empty_and_refills_only_a_used_type(void **state)
{
    (void)state;
    ctl_keypool_t *p = NULL;
    EVP_PKEY *k = NULL;
    assert_int_equal(ctl_keypool_new(3, &p, NULL), 0);
    assert_int_equal(ctl_keypool_count(p, CP_KEY_EC_P256), 0);
    assert_int_equal(ctl_keypool_take(p, CP_KEY_EC_P256, &k, NULL), 0); /* generated inline */
    EVP_PKEY_free(k);
    assert_true(wait_count(p, CP_KEY_EC_P256, 3));
    assert_int_equal(ctl_keypool_count(p, CP_KEY_EC_P384), 0);
    assert_int_equal(ctl_keypool_count(p, CP_KEY_RSA_2048), 0);
    /* Taken from the pool now, then topped up again, never above the bound. */
    assert_int_equal(ctl_keypool_take(p, CP_KEY_EC_P256, &k, NULL), 0);
    EVP_PKEY_free(k);
    assert_true(wait_count(p, CP_KEY_EC_P256, 3));
    assert_int_equal(ctl_keypool_count(p, CP_KEY_EC_P256), 3);
    unsigned long hits = 0, misses = 0;
    ctl_keypool_stats(p, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 1);
    ctl_keypool_free(p);
}

static void test_keys_have_the_requested_type(void **state)
{
    (void)state;
    ctl_keypool_t *p = NULL;
    EVP_PKEY *k = NULL;
    assert_int_equal(ctl_keypool_new(1, &p, NULL), 0);
    const cp_key_type_t types[] = {CP_KEY_EC_P256, CP_KEY_EC_P384, CP_KEY_RSA_2048};
    for (size_t round = 0; round < 2; round++) { /* inline, then pooled */
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(ctl_keypool_take(p, types[i], &k, NULL), 0);
            assert_int_equal(cp_x509_key_type(k), types[i]);
            EVP_PKEY_free(k);
            assert_true(wait_count(p, types[i], 1));
        }
    }
    /* CP_KEY_DEFAULT is RSA 2048 and shares its keys. */
    assert_int_equal(ctl_keypool_take(p, CP_KEY_DEFAULT, &k, NULL), 0);
    assert_int_equal(cp_x509_key_type(k), CP_KEY_RSA_2048);
    EVP_PKEY_free(k);
    ctl_keypool_free(p);
}

static void test_unknown_type_and_bad_size_are_errors(void **state)
{
    (void)state;
    ctl_keypool_t *p = NULL;
    EVP_PKEY *k = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_keypool_new(0, &p, &err), CP_EINVAL);
    assert_int_equal(ctl_keypool_new(CTL_KEYPOOL_MAX_PER_TYPE + 1, &p, &err), CP_EINVAL);
    assert_int_equal(ctl_keypool_new(2, &p, NULL), 0);
    assert_int_equal(ctl_keypool_take(p, (cp_key_type_t)99, &k, &err), CP_EINVAL);
    assert_null(k);
    assert_int_equal(ctl_keypool_count(p, (cp_key_type_t)99), 0);
    ctl_keypool_free(p);
    /* Without a pool, keys are generated on the caller's thread. */
    assert_int_equal(ctl_keypool_take(NULL, CP_KEY_EC_P256, &k, NULL), 0);
    assert_int_equal(cp_x509_key_type(k), CP_KEY_EC_P256);
    EVP_PKEY_free(k);
}

#define N_THREADS 4
#define PER_THREAD 12

typedef struct taker {
    ctl_keypool_t *p;
    EVP_PKEY *keys[PER_THREAD];
} taker_t;

static void *take_many(void *arg)
{
    taker_t *t = arg;
    for (int i = 0; i < PER_THREAD; i++)
        if (ctl_keypool_take(t->p, CP_KEY_EC_P256, &t->keys[i], NULL) != 0)
            t->keys[i] = NULL;
    return NULL;
}

static void test_concurrent_takers_get_distinct_keys_once(void **state)
{
    (void)state;
    ctl_keypool_t *p = NULL;
    taker_t t[N_THREADS];
    pthread_t tid[N_THREADS];
    assert_int_equal(ctl_keypool_new(4, &p, NULL), 0);
    EVP_PKEY *warm = NULL;
    assert_int_equal(ctl_keypool_take(p, CP_KEY_EC_P256, &warm, NULL), 0);
    EVP_PKEY_free(warm);
    assert_true(wait_count(p, CP_KEY_EC_P256, 4));
    for (int i = 0; i < N_THREADS; i++) {
        t[i].p = p;
        assert_int_equal(pthread_create(&tid[i], NULL, take_many, &t[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(tid[i], NULL);
    /* Every key is a different key: none was handed out twice, pooled or not. */
    unsigned char *der[N_THREADS * PER_THREAD];
    int len[N_THREADS * PER_THREAD];
    size_t n = 0;
    for (int i = 0; i < N_THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++) {
            assert_non_null(t[i].keys[j]);
            der[n] = pub_der(t[i].keys[j], &len[n]);
            for (size_t k = 0; k < n; k++)
                assert_false(len[k] == len[n] && memcmp(der[k], der[n], (size_t)len[n]) == 0);
            n++;
        }
    unsigned long hits = 0, misses = 0;
    ctl_keypool_stats(p, &hits, &misses);
    assert_int_equal(hits + misses, 1 + N_THREADS * PER_THREAD);
    assert_true(hits >= 4);
    for (size_t i = 0; i < n; i++)
        OPENSSL_free(der[i]);
    for (int i = 0; i < N_THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++)
            EVP_PKEY_free(t[i].keys[j]);
    ctl_keypool_free(p);
}

static void test_free_while_refilling_stops_and_frees_everything(void **state)
{
    (void)state;
    ctl_keypool_t *p = NULL;
    EVP_PKEY *k = NULL;
    ctl_keypool_free(NULL);
    /* Freed with keys pooled (the sanitizer build checks nothing leaks). */
    assert_int_equal(ctl_keypool_new(2, &p, NULL), 0);
    assert_int_equal(ctl_keypool_take(p, CP_KEY_EC_P256, &k, NULL), 0);
    EVP_PKEY_free(k);
    assert_true(wait_count(p, CP_KEY_EC_P256, 2));
    ctl_keypool_free(p);
    /* Freed while the thread generates RSA 4096 keys: it waits for that one and returns. */
    assert_int_equal(ctl_keypool_new(4, &p, NULL), 0);
    assert_int_equal(ctl_keypool_take(p, CP_KEY_RSA_4096, &k, NULL), 0);
    EVP_PKEY_free(k);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ctl_keypool_free(p);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec < 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_starts_empty_and_refills_only_a_used_type),
        cmocka_unit_test(test_keys_have_the_requested_type),
        cmocka_unit_test(test_unknown_type_and_bad_size_are_errors),
        cmocka_unit_test(test_concurrent_takers_get_distinct_keys_once),
        cmocka_unit_test(test_free_while_refilling_stops_and_frees_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
