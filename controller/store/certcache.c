/* SPDX-License-Identifier: Apache-2.0 */
/* certcache.c - the read cache of certificates (keys only sealed) behind reads and Watch snapshots
 */
#include "controller/store/certcache.h"
#include "shared/hash.h"
#include "shared/mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_BUCKETS 16384 /* chains of ~4 when the default 65,536 entries are held */
#define DEFAULT_MAX CTL_CERTCACHE_DEFAULT

typedef struct entry {
    struct entry *next;
    int64_t revision;
    size_t len;
    uint8_t *packed; /* the key-less certificate, protobuf */
    char *sealed;    /* its private key as stored (sealed), "" for none; NULL: not known */
    char name[];
} entry_t;

struct ctl_certcache {
    pthread_rwlock_t lock;
    entry_t *buckets[N_BUCKETS]; /* lock */
    size_t n, max;               /* lock */
    size_t evict_at;             /* lock: the bucket the next eviction starts from */
    bool enabled;                /* lock */
    uint64_t gen;                /* lock (written under the write side) */
    atomic_ulong hits, misses, fills, evictions;
};

static size_t hash(const char *s)
{
    return cp_hash_fnv1a32_str(s) % N_BUCKETS;
}

static entry_t **find(ctl_certcache_t *c, const char *name)
{
    entry_t **pe = &c->buckets[hash(name)];
    while (*pe != NULL && strcmp((*pe)->name, name) != 0)
        pe = &(*pe)->next;
    return pe;
}

static void entry_free(entry_t *e)
{
    free(e->packed);
    free(e->sealed);
    free(e);
}

/* Makes room for one entry: drops the first entry of the next non-empty bucket after the last
 * eviction (a cheap pseudo-random choice; a miss only costs one Redis read). Write lock held. */
static void evict_one(ctl_certcache_t *c)
{
    for (size_t i = 0; i < N_BUCKETS && c->n > 0; i++) {
        size_t b = (c->evict_at + i) % N_BUCKETS;
        entry_t *e = c->buckets[b];
        if (e == NULL)
            continue;
        c->buckets[b] = e->next;
        entry_free(e);
        c->n--;
        c->evict_at = b + 1;
        atomic_fetch_add_explicit(&c->evictions, 1, memory_order_relaxed);
        return;
    }
}

/* Drops every entry. Called with the write lock held. */
static void drop_all(ctl_certcache_t *c)
{
    for (size_t i = 0; i < N_BUCKETS; i++) {
        while (c->buckets[i] != NULL) {
            entry_t *e = c->buckets[i];
            c->buckets[i] = e->next;
            entry_free(e);
        }
    }
    c->n = 0;
}

ctl_certcache_t *ctl_certcache_new(size_t max_entries)
{
    ctl_certcache_t *c = cp_xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    pthread_rwlock_init(&c->lock, NULL);
    c->max = max_entries != 0 ? max_entries : DEFAULT_MAX;
    atomic_init(&c->hits, 0);
    atomic_init(&c->misses, 0);
    atomic_init(&c->fills, 0);
    atomic_init(&c->evictions, 0);
    return c;
}

void ctl_certcache_free(ctl_certcache_t *c)
{
    if (c == NULL)
        return;
    drop_all(c);
    pthread_rwlock_destroy(&c->lock);
    free(c);
}

int ctl_certcache_get(ctl_certcache_t *c, const char *name, Certplane__V1__Certificate **out)
{
    Certplane__V1__Certificate *cert = NULL;
    if (c == NULL)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    entry_t *e = c->enabled ? *find(c, name) : NULL;
    if (e != NULL)
        cert = certplane__v1__certificate__unpack(NULL, e->len, e->packed);
    pthread_rwlock_unlock(&c->lock);
    if (cert == NULL) {
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return 0;
    }
    atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    *out = cert;
    return 1;
}

int ctl_certcache_get_sealed(ctl_certcache_t *c, const char *name, Certplane__V1__Certificate **out,
                             char **sealed)
{
    Certplane__V1__Certificate *cert = NULL;
    char *key = NULL;
    if (c == NULL)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    entry_t *e = c->enabled ? *find(c, name) : NULL;
    if (e != NULL && e->sealed != NULL) {
        cert = certplane__v1__certificate__unpack(NULL, e->len, e->packed);
        key = cert != NULL ? cp_xstrdup(e->sealed) : NULL;
    }
    pthread_rwlock_unlock(&c->lock);
    if (cert == NULL) {
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return 0;
    }
    atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    *out = cert;
    *sealed = key;
    return 1;
}

uint64_t ctl_certcache_gen(ctl_certcache_t *c)
{
    if (c == NULL)
        return 0;
    pthread_rwlock_rdlock(&c->lock);
    uint64_t g = c->gen;
    pthread_rwlock_unlock(&c->lock);
    return g;
}

/* The key-less protobuf of cert, packed outside the lock. The key is hidden for the pack only. */
static entry_t *entry_make(Certplane__V1__Certificate *cert, const char *sealed)
{
    size_t nlen = strlen(cert->name);
    entry_t *e = cp_xmalloc(sizeof *e + nlen + 1);
    memcpy(e->name, cert->name, nlen + 1);
    e->next = NULL;
    e->revision = cert->revision;
    e->sealed = sealed != NULL ? cp_xstrdup(sealed) : NULL;
    char *key = cert->private_key_pem;
    cert->private_key_pem = (char *)protobuf_c_empty_string;
    e->len = protobuf_c_message_get_packed_size(&cert->base);
    e->packed = cp_xmalloc(e->len);
    protobuf_c_message_pack(&cert->base, e->packed);
    cert->private_key_pem = key;
    return e;
}

bool ctl_certcache_fill(ctl_certcache_t *c, Certplane__V1__Certificate *cert, uint64_t gen)
{
    return ctl_certcache_fill_sealed(c, cert, NULL, gen);
}

bool ctl_certcache_fill_sealed(ctl_certcache_t *c, Certplane__V1__Certificate *cert,
                               const char *sealed, uint64_t gen)
{
    if (c == NULL || cert == NULL || cert->name == NULL || cert->name[0] == '\0')
        return false;
    entry_t *e = entry_make(cert, sealed);
    bool stored = false;
    pthread_rwlock_wrlock(&c->lock);
    if (c->enabled && c->gen == gen) {
        entry_t **pe = find(c, e->name);
        if (*pe == NULL && c->n >= c->max) {
            evict_one(c); /* full: one entry goes, not the whole cache (a snapshot of more
                           * certificates than fit would otherwise empty it again and again) */
            pe = find(c, e->name);
        }
        if (*pe == NULL) {
            *pe = e;
            c->n++;
            stored = true;
        } else if ((*pe)->revision < e->revision ||
                   ((*pe)->revision == e->revision && (*pe)->sealed == NULL && e->sealed != NULL)) {
            /* a newer revision, or the same one now with its sealed key known */
            e->next = (*pe)->next;
            entry_free(*pe);
            *pe = e;
            stored = true;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    if (!stored)
        entry_free(e);
    else
        atomic_fetch_add_explicit(&c->fills, 1, memory_order_relaxed);
    return stored;
}

int64_t ctl_certcache_revision(ctl_certcache_t *c, const char *name)
{
    if (c == NULL || name == NULL)
        return -1;
    pthread_rwlock_rdlock(&c->lock);
    entry_t *e = c->enabled ? *find(c, name) : NULL;
    int64_t rev = e != NULL ? e->revision : -1;
    pthread_rwlock_unlock(&c->lock);
    return rev;
}

void ctl_certcache_invalidate(ctl_certcache_t *c, const char *name)
{
    if (c == NULL || name == NULL)
        return;
    pthread_rwlock_wrlock(&c->lock);
    c->gen++;
    entry_t **pe = find(c, name);
    if (*pe != NULL) {
        entry_t *e = *pe;
        *pe = e->next;
        entry_free(e);
        c->n--;
    }
    pthread_rwlock_unlock(&c->lock);
}

void ctl_certcache_reset(ctl_certcache_t *c, bool enabled)
{
    if (c == NULL)
        return;
    pthread_rwlock_wrlock(&c->lock);
    c->gen++;
    drop_all(c);
    c->enabled = enabled;
    pthread_rwlock_unlock(&c->lock);
}

void ctl_certcache_get_stats(ctl_certcache_t *c, ctl_certcache_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (c == NULL)
        return;
    out->hits = atomic_load(&c->hits);
    out->misses = atomic_load(&c->misses);
    out->fills = atomic_load(&c->fills);
    out->evictions = atomic_load(&c->evictions);
    pthread_rwlock_rdlock(&c->lock);
    out->entries = c->n;
    pthread_rwlock_unlock(&c->lock);
}
