/* SPDX-License-Identifier: Apache-2.0 */
/* keypool.c - a small pool of fresh certificate keys, refilled by a low-priority thread */
#include "controller/acme/keypool.h"
#include "shared/mem.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Slots indexed by cp_key_type_t (CP_KEY_DEFAULT shares RSA 2048's). */
#define N_TYPES (CP_KEY_EC_P384 + 1)
/* The refill thread's nice value: issuances and API calls go first. */
#define REFILL_NICE 10

struct ctl_keypool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a type is taken from and on stop */
    pthread_t thread;
    size_t per_type;
    bool stop;                                         /* mu */
    bool wanted[N_TYPES];                              /* mu: asked for at least once */
    EVP_PKEY *keys[N_TYPES][CTL_KEYPOOL_MAX_PER_TYPE]; /* mu: a stack per type */
    size_t n[N_TYPES];                                 /* mu */
    unsigned long hits, misses;                        /* mu */
};

static cp_key_type_t slot(cp_key_type_t type)
{
    return type == CP_KEY_DEFAULT ? CP_KEY_RSA_2048 : type;
}

/* The first wanted type below its target, or -1. Called with mu held. */
static int next_type(const ctl_keypool_t *p)
{
    for (int t = 1; t < N_TYPES; t++)
        if (p->wanted[t] && p->n[t] < p->per_type)
            return t;
    return -1;
}

static void *refill_main(void *arg)
{
    ctl_keypool_t *p = arg;
    /* Linux applies a nice value to one thread when given its thread id. Failing is harmless. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), REFILL_NICE);
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int t = next_type(p);
        if (t < 0) {
            pthread_cond_wait(&p->cv, &p->mu);
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        EVP_PKEY *key = NULL;
        int rc = cp_x509_key_generate((cp_key_type_t)t, &key, NULL);
        pthread_mutex_lock(&p->mu);
        if (rc != 0) {
            /* Cannot happen for a known type short of a broken OpenSSL: stop asking for it, so the
             * thread does not spin; takers generate their own keys. */
            p->wanted[t] = false;
        } else if (p->n[t] < p->per_type && !p->stop) {
            p->keys[t][p->n[t]++] = key;
            key = NULL;
        }
        EVP_PKEY_free(key);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int ctl_keypool_new(size_t per_type, ctl_keypool_t **out, cp_err_t *err)
{
    if (per_type < 1 || per_type > CTL_KEYPOOL_MAX_PER_TYPE)
        return cp_err_set(err, CP_EINVAL, "key pool: %zu keys per type is not in 1..%d", per_type,
                          CTL_KEYPOOL_MAX_PER_TYPE);
    ctl_keypool_t *p = cp_xcalloc(1, sizeof *p);
    p->per_type = per_type;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, refill_main, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return cp_err_set(err, CP_EIO, "key pool: cannot create its thread");
    }
    pthread_setname_np(p->thread, "cp-keypool");
    *out = p;
    return 0;
}

int ctl_keypool_take(ctl_keypool_t *pool, cp_key_type_t type, EVP_PKEY **out, cp_err_t *err)
{
    cp_key_type_t t = slot(type);
    if (pool == NULL || (int)t < 1 || (int)t >= N_TYPES)
        return cp_x509_key_generate(type, out, err); /* names an unknown type */
    EVP_PKEY *key = NULL;
    pthread_mutex_lock(&pool->mu);
    if (pool->n[t] > 0) {
        key = pool->keys[t][--pool->n[t]];
        pool->keys[t][pool->n[t]] = NULL;
        pool->hits++;
    } else {
        pool->misses++;
    }
    pool->wanted[t] = true;
    pthread_cond_signal(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    if (key == NULL)
        return cp_x509_key_generate(t, out, err);
    *out = key;
    return 0;
}

size_t ctl_keypool_count(ctl_keypool_t *pool, cp_key_type_t type)
{
    cp_key_type_t t = slot(type);
    if (pool == NULL || (int)t < 1 || (int)t >= N_TYPES)
        return 0;
    pthread_mutex_lock(&pool->mu);
    size_t n = pool->n[t];
    pthread_mutex_unlock(&pool->mu);
    return n;
}

void ctl_keypool_stats(ctl_keypool_t *pool, unsigned long *hits, unsigned long *misses)
{
    pthread_mutex_lock(&pool->mu);
    if (hits != NULL)
        *hits = pool->hits;
    if (misses != NULL)
        *misses = pool->misses;
    pthread_mutex_unlock(&pool->mu);
}

void ctl_keypool_free(ctl_keypool_t *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->stop = true;
    pthread_cond_signal(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    pthread_join(pool->thread, NULL);
    for (int t = 0; t < N_TYPES; t++)
        for (size_t i = 0; i < pool->n[t]; i++)
            EVP_PKEY_free(pool->keys[t][i]);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}
