/* SPDX-License-Identifier: Apache-2.0 */
/* ocsp.c - the edge's OCSP staples (ocsp.h) */
#include "edge/ocsp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "shared/clock.h"
#include "shared/mem.h"
#include "shared/ocsp.h"

#define BUCKETS 1024

typedef struct entry {
    unsigned char leaf[32];
    unsigned char *der;
    size_t len;
    int64_t this_ms, next_ms;
    struct entry *next;
} entry_t;

static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static entry_t *g_table[BUCKETS];
static size_t g_held;
static atomic_ullong g_stapled, g_stale;

static size_t bucket(const unsigned char *leaf)
{
    return ((size_t)leaf[0] << 8 | leaf[1]) % BUCKETS;
}

static void entry_free(entry_t *e)
{
    free(e->der);
    free(e);
}

/* Drops the stale entries (under the write lock). */
static void sweep(int64_t now_ms)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        for (entry_t **p = &g_table[b]; *p != NULL;) {
            entry_t *e = *p;
            if (e->next_ms > now_ms) {
                p = &e->next;
                continue;
            }
            *p = e->next;
            entry_free(e);
            g_held--;
        }
    }
}

/* Puts e in place of the entry of its leaf (under the write lock). 0: stored; 1: the held one is
 * newer (e freed); -1: full. */
static int insert(entry_t *e)
{
    entry_t **p = &g_table[bucket(e->leaf)];
    for (; *p != NULL; p = &(*p)->next) {
        if (memcmp((*p)->leaf, e->leaf, 32) != 0)
            continue;
        if ((*p)->this_ms > e->this_ms) {
            entry_free(e);
            return 1;
        }
        e->next = (*p)->next;
        entry_free(*p);
        *p = e;
        return 0;
    }
    if (g_held >= EDGE_OCSP_MAX) {
        entry_free(e);
        return -1;
    }
    *p = e;
    g_held++;
    return 0;
}

int edge_ocsp_put(const unsigned char *leaf_sha256, size_t leaf_len, const unsigned char *der,
                  size_t len, int64_t next_update_ms, int64_t now_ms, cp_err_t *err)
{
    int64_t this_ms = 0, next_ms = 0;
    if (leaf_len != 32 || der == NULL || cp_ocsp_times(der, len, &this_ms, &next_ms) != 0 ||
        next_ms == 0)
        return cp_err_set(err, CP_EPROTO, "OCSP_RESPONSE: not a usable OCSP response");
    if (next_update_ms > 0 && next_update_ms < next_ms)
        next_ms = next_update_ms;
    entry_t *e = cp_xcalloc(1, sizeof *e);
    memcpy(e->leaf, leaf_sha256, 32);
    e->der = cp_xmalloc(len);
    memcpy(e->der, der, e->len = len);
    e->this_ms = this_ms;
    e->next_ms = next_ms;
    pthread_rwlock_wrlock(&g_lock);
    sweep(now_ms);
    int rc = next_ms > now_ms ? insert(e) : (entry_free(e), 1);
    pthread_rwlock_unlock(&g_lock);
    return rc < 0 ? cp_err_set(err, CP_ETOOBIG, "OCSP: %d responses held already", EDGE_OCSP_MAX)
                  : 0;
}

/* A copy of the fresh response for leaf (OPENSSL_malloc'd: the SSL frees it), or NULL. */
static unsigned char *lookup(const unsigned char *leaf, int64_t now_ms, size_t *len)
{
    unsigned char *out = NULL;
    pthread_rwlock_rdlock(&g_lock);
    for (const entry_t *e = g_table[bucket(leaf)]; e != NULL; e = e->next) {
        if (memcmp(e->leaf, leaf, 32) != 0)
            continue;
        if (e->next_ms > now_ms) {
            out = OPENSSL_memdup(e->der, e->len);
            *len = e->len;
        } else {
            atomic_fetch_add_explicit(&g_stale, 1, memory_order_relaxed);
        }
        break;
    }
    pthread_rwlock_unlock(&g_lock);
    return out;
}

/* status_request: runs after the certificate callback installed the served certificate. */
static int on_status(SSL *ssl, void *arg)
{
    (void)arg;
    X509 *x = SSL_get_certificate(ssl);
    unsigned char md[32];
    unsigned int n = 0;
    if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != sizeof md)
        return SSL_TLSEXT_ERR_NOACK;
    size_t len = 0;
    unsigned char *der = lookup(md, cp_clock_wall_ms(), &len);
    if (der == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    if (SSL_set_tlsext_status_ocsp_resp(ssl, der, (long)len) != 1) {
        OPENSSL_free(der);
        return SSL_TLSEXT_ERR_NOACK;
    }
    atomic_fetch_add_explicit(&g_stapled, 1, memory_order_relaxed);
    return SSL_TLSEXT_ERR_OK;
}

void edge_ocsp_install(SSL_CTX *ctx)
{
    SSL_CTX_set_tlsext_status_cb(ctx, on_status);
    SSL_CTX_set_tlsext_status_arg(ctx, NULL);
}

void edge_ocsp_get_stats(edge_ocsp_stats_t *out)
{
    out->stapled = atomic_load_explicit(&g_stapled, memory_order_relaxed);
    out->stale_skipped = atomic_load_explicit(&g_stale, memory_order_relaxed);
    pthread_rwlock_rdlock(&g_lock);
    out->held = g_held;
    pthread_rwlock_unlock(&g_lock);
}

void edge_ocsp_clear(void)
{
    pthread_rwlock_wrlock(&g_lock);
    sweep(INT64_MAX);
    pthread_rwlock_unlock(&g_lock);
}
