/* SPDX-License-Identifier: Apache-2.0 */
/* watch_apply.c - applying Watch stream events to an unpublished table version */
#include "edge/watch_apply.h"
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "edge/ocsp.h"
#include "edge/watch_internal.h"
#include "shared/clock.h"
#include "shared/mem.h"

/* ---- the snapshot's parse pool ---------------------------------------------------------------
 * A snapshot names every certificate: parsing them (chain, key, the key check) is nearly all of the
 * time an edge takes to become ready. Inside a snapshot an UPSERT becomes a job: threads parse the
 * jobs while the rest of the snapshot streams in, and SNAPSHOT_END applies them to the builder in
 * stream order, so the table is exactly what applying them one by one would have made. */

typedef struct job {
    char *name;
    int64_t revision;
    int del;           /* remove `name` (revoked, no key, or a DELETE) */
    char *chain, *key; /* to parse, NULL when cert is already known */
    size_t chain_len, key_len;
    edge_cert_t *cert; /* the parsed or reused certificate */
    int rc;
    cp_err_t err;
} job_t;

struct edge_watch__pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    job_t **jobs;
    size_t n, cap, next; /* jobs[next..n) wait for a thread */
    pthread_t *tids;
    int n_threads;
    int stop;   /* no more jobs will come: threads leave once the queue is empty */
    int cancel; /* the snapshot is abandoned: skip what is left */
};

static void job_run(job_t *j)
{
    if (j->chain == NULL)
        return;
    j->rc = edge_cert_new(j->name, j->chain, j->chain_len, j->key, j->key_len, j->revision,
                          &j->cert, &j->err);
    cp_secure_free(j->key, j->key_len); /* a secret */
    free(j->chain);
    j->key = j->chain = NULL;
}

static void job_free(job_t *j)
{
    cp_secure_free(j->key, j->key_len);
    free(j->chain);
    free(j->name);
    edge_cert_release(j->cert);
    free(j);
}

/* Takes and runs jobs until the queue is empty and stop (or cancel) is set. */
static void pool_work(edge_watch__pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->next == p->n && !p->stop)
            pthread_cond_wait(&p->work, &p->lock);
        if (p->next == p->n)
            break;
        job_t *j = p->jobs[p->next++];
        int skip = p->cancel;
        pthread_mutex_unlock(&p->lock);
        if (!skip)
            job_run(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
}

static void *pool_main(void *arg)
{
    pool_work(arg);
    return NULL;
}

static edge_watch__pool_t *pool_new(int threads)
{
    edge_watch__pool_t *p = cp_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    p->tids = cp_xcalloc(1, (size_t)threads * sizeof *p->tids);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->tids[p->n_threads], NULL, pool_main, p) != 0)
            break; /* fewer threads; with none, pool_finish's own thread does all the work */
        pthread_setname_np(p->tids[p->n_threads], "edge-parse");
        p->n_threads++;
    }
    return p;
}

static void pool_push(edge_watch__pool_t *p, job_t *j)
{
    pthread_mutex_lock(&p->lock);
    if (p->n == p->cap) {
        p->cap = p->cap == 0 ? 256 : p->cap * 2;
        p->jobs = cp_xrealloc(p->jobs, p->cap * sizeof *p->jobs);
    }
    p->jobs[p->n++] = j;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
}

/* Lets the threads drain the queue (helping them), or skip it with `cancel`, and joins them. */
static void pool_finish(edge_watch__pool_t *p, int cancel)
{
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    p->cancel = cancel;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    pool_work(p);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->tids[i], NULL);
    p->n_threads = 0;
}

static void pool_free(edge_watch__pool_t *p)
{
    if (p == NULL)
        return;
    pool_finish(p, 1);
    for (size_t i = 0; i < p->n; i++)
        job_free(p->jobs[i]);
    free(p->jobs);
    free(p->tids);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    free(p);
}

/* SNAPSHOT_END: every job parsed, applied in stream order. */
static void pool_apply(edge_watch__batch_t *b)
{
    edge_watch__pool_t *p = b->pool;
    b->pool = NULL;
    pool_finish(p, 0);
    for (size_t i = 0; i < p->n; i++) {
        job_t *j = p->jobs[i];
        if (j->del)
            edge_certmap_delete(b->builder, j->name);
        else if (j->cert != NULL && edge_certmap_get0_by_name(b->builder, j->name) != j->cert)
            edge_certmap_put(b->builder, j->cert);
        else if (j->cert == NULL && b->on_error != NULL)
            b->on_error(b->on_error_arg, j->name, j->revision, &j->err);
    }
    pool_free(p);
}

static void defer(edge_watch__batch_t *b, job_t *j)
{
    if (b->pool == NULL)
        b->pool = pool_new(b->parse_threads);
    pool_push(b->pool, j);
}

int edge_watch__default_parse_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

void edge_watch__batch_init(edge_watch__batch_t *b)
{
    memset(b, 0, sizeof *b);
    edge_hamt_init(&b->seen_names, NULL);
    edge_hamt_init(&b->seen_tokens, NULL);
}

void edge_watch__batch_dispose(edge_watch__batch_t *b)
{
    pool_free(b->pool);
    edge_certmap_release(b->builder);
    edge_hamt_dispose(&b->seen_names);
    edge_hamt_dispose(&b->seen_tokens);
    memset(b, 0, sizeof *b);
}

static int upsert(edge_watch__batch_t *b, const char *name, const Certplane__V1__Certificate *c,
                  int64_t revision, cp_err_t *err)
{
    if (b->in_snapshot || !b->saw_end) /* what a SNAPSHOT_END will keep */
        edge_hamt_set(&b->seen_names, name, (void *)1);
    const char *chain = c->fullchain_pem, *key = c->private_key_pem;
    bool deferred = b->in_snapshot && b->parse_threads > 0;
    /* Nothing to serve (not issued yet, revoked, or sent without its key): stop serving it. */
    if (c->state == CERTPLANE__V1__STATE__REVOKED || chain == NULL || chain[0] == '\0' ||
        key == NULL || key[0] == '\0') {
        if (deferred) {
            job_t *j = cp_xcalloc(1, sizeof *j);
            j->name = cp_xstrndup(name, strlen(name));
            j->del = 1;
            defer(b, j);
        } else {
            edge_certmap_delete(b->builder, name);
        }
        return 0;
    }
    unsigned char digest[32];
    size_t chain_len = strlen(chain), key_len = strlen(key);
    /* Deferred jobs are not in the builder yet, but one that matches here has the very same input,
     * so reusing the parsed cert gives what parsing it again would. The digest is only taken when
     * there is one to compare with (not for a first snapshot: edge_cert_new takes its own). */
    edge_cert_t *have = edge_certmap_get0_by_name(b->builder, name);
    if (have != NULL)
        edge_cert_pem_digest(chain, chain_len, key, key_len, digest);
    bool same = have != NULL && memcmp(have->pem_digest, digest, sizeof digest) == 0;
    if (deferred) {
        job_t *j = cp_xcalloc(1, sizeof *j);
        j->name = cp_xstrndup(name, strlen(name));
        j->revision = revision;
        if (same) {
            j->cert = edge_cert_retain(have);
        } else {
            j->chain = cp_xstrndup(chain, chain_len);
            j->key = cp_xstrndup(key, key_len);
            j->chain_len = chain_len;
            j->key_len = key_len;
        }
        defer(b, j);
        return 0;
    }
    if (same)
        return 0; /* the same certificate again (a snapshot after a reconnect): keep the parsed one
                   */
    edge_cert_t *cert = NULL;
    int rc = edge_cert_new(name, chain, chain_len, key, key_len, revision, &cert, err);
    if (rc != 0)
        return rc;
    edge_certmap_put(b->builder, cert);
    edge_cert_release(cert);
    return 0;
}

/* The fleet's session-ticket keys (the active one first). */
static int tickets_set(edge_watch__batch_t *b, const Certplane__V1__CertificateEvent *ev,
                       cp_err_t *err)
{
    edge_ticket_key_t keys[EDGE_TICKETS_MAX];
    size_t n = ev->n_ticket_keys < EDGE_TICKETS_MAX ? ev->n_ticket_keys : EDGE_TICKETS_MAX;
    for (size_t i = 0; i < n; i++) {
        const Certplane__V1__TicketKey *k = ev->ticket_keys[i];
        if (k->name.len != EDGE_TICKET_NAME_LEN || k->secret.len != EDGE_TICKET_SECRET_LEN) {
            explicit_bzero(keys, sizeof keys);
            return cp_err_set(err, CP_EPROTO, "TICKET_KEYS: a key of the wrong size");
        }
        memcpy(keys[i].name, k->name.data, EDGE_TICKET_NAME_LEN);
        memcpy(keys[i].secret, k->secret.data, EDGE_TICKET_SECRET_LEN);
    }
    edge_tickets_t *t = NULL;
    int rc = n > 0 ? edge_tickets_new(keys, n, &t, err) : 0;
    explicit_bzero(keys, sizeof keys);
    if (rc == 0)
        edge_certmap_set_tickets(b->builder, t);
    edge_tickets_release(t);
    return rc;
}

/* A TLS-ALPN-01 challenge: its validation certificate is made here, once per edge and challenge
 * (a key generation and a signature, about a millisecond). */
static int alpn_set(edge_watch__batch_t *b, const Certplane__V1__Challenge *ch, cp_err_t *err)
{
    char ident[256];
    size_t n = ch->identifier != NULL ? strlen(ch->identifier) : 0;
    if (n == 0 || n >= sizeof ident)
        return cp_err_set(err, CP_EPROTO, "TLS-ALPN-01 challenge without an identifier");
    for (size_t i = 0; i <= n; i++)
        ident[i] = (char)tolower((unsigned char)ch->identifier[i]);
    edge_cert_t *cert = NULL;
    int rc = edge_cert_new_alpn(ident, ch->key_authorization, &cert, err);
    if (rc != 0)
        return rc;
    edge_certmap_alpn_set(b->builder, ch->token, ch->key_authorization, ident, cert);
    edge_cert_release(cert);
    return 0;
}

int edge_watch__apply(edge_watch__batch_t *b, const edge_certmap_t *current,
                      const Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    if (b->builder == NULL)
        b->builder = edge_certmap_clone(current, 0);
    /* In a snapshot, UPSERTs carry their certificates' revisions (any order, some beyond the
     * snapshot's): only SNAPSHOT_END says where the table stands. */
    if (!b->in_snapshot && ev->type != CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN &&
        ev->revision > b->max_rev)
        b->max_rev = ev->revision;
    b->n++;
    const char *name = ev->name != NULL && ev->name[0] != '\0' ? ev->name
                       : ev->certificate != NULL               ? ev->certificate->name
                                                               : NULL;
    const Certplane__V1__Challenge *ch = ev->challenge;
    switch (ev->type) {
    case CERTPLANE__V1__EVENT_TYPE__UPSERT:
        if (name == NULL || name[0] == '\0' || ev->certificate == NULL)
            return cp_err_set(err, CP_EPROTO, "UPSERT without a certificate");
        return upsert(b, name, ev->certificate, ev->revision, err);
    case CERTPLANE__V1__EVENT_TYPE__DELETE:
        if (name == NULL)
            return cp_err_set(err, CP_EPROTO, "DELETE without a name");
        edge_hamt_remove(&b->seen_names, name);
        if (b->pool != NULL) { /* after the deferred UPSERTs before it */
            job_t *j = cp_xcalloc(1, sizeof *j);
            j->name = cp_xstrndup(name, strlen(name));
            j->del = 1;
            defer(b, j);
        } else {
            edge_certmap_delete(b->builder, name);
        }
        return 0;
    case CERTPLANE__V1__EVENT_TYPE__CHALLENGE_SET:
        if (ch == NULL || ch->token == NULL || ch->key_authorization == NULL)
            return cp_err_set(err, CP_EPROTO, "CHALLENGE_SET without a challenge");
        if (b->in_snapshot || !b->saw_end)
            edge_hamt_set(&b->seen_tokens, ch->token, (void *)1);
        if (ch->type == CERTPLANE__V1__CHALLENGE_TYPE__TLS_ALPN_01)
            return alpn_set(b, ch, err);
        edge_certmap_challenge_set(b->builder, ch->token, ch->key_authorization);
        return 0;
    case CERTPLANE__V1__EVENT_TYPE__TICKET_KEYS:
        return tickets_set(b, ev, err);
    case CERTPLANE__V1__EVENT_TYPE__OCSP_RESPONSE: { /* OCSP stapling (issue 14): edge/ocsp.h */
        const Certplane__V1__OcspResponse *o = ev->ocsp_response;
        if (o == NULL)
            return cp_err_set(err, CP_EPROTO, "OCSP_RESPONSE without a response");
        int64_t next = o->next_update != NULL ? cp_clock_ts_ms(o->next_update, 0) : 0;
        cp_err_t ignored = {0}; /* one the edge cannot use is not stapled; the stream goes on */
        edge_ocsp_put(o->leaf_sha256.data, o->leaf_sha256.len, o->der.data, o->der.len, next,
                      cp_clock_wall_ms(), &ignored);
        return 0;
    }
    case CERTPLANE__V1__EVENT_TYPE__CHALLENGE_CLEAR:
        if (ch == NULL || ch->token == NULL)
            return cp_err_set(err, CP_EPROTO, "CHALLENGE_CLEAR without a token");
        edge_hamt_remove(&b->seen_tokens, ch->token);
        edge_certmap_challenge_clear(b->builder, ch->token);
        return 0;
    case CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN:
        /* What the snapshot names from here on is what the table will hold at SNAPSHOT_END. */
        edge_hamt_dispose(&b->seen_names);
        edge_hamt_dispose(&b->seen_tokens);
        edge_hamt_init(&b->seen_names, NULL);
        edge_hamt_init(&b->seen_tokens, NULL);
        b->in_snapshot = true;
        return 0;
    case CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END:
        if (b->pool != NULL)
            pool_apply(b);
        /* The snapshot replaces the table: what it did not name is gone. */
        edge_certmap_prune(b->builder, &b->seen_names, &b->seen_tokens);
        /* Only a snapshot's end needs them: not kept for the rest of the stream (~100 B a name);
         * a later snapshot starts with SNAPSHOT_BEGIN, which tracks them again. */
        edge_hamt_dispose(&b->seen_names);
        edge_hamt_dispose(&b->seen_tokens);
        edge_hamt_init(&b->seen_names, NULL);
        edge_hamt_init(&b->seen_tokens, NULL);
        b->in_snapshot = false;
        b->saw_end = true;
        b->end_rev = ev->revision;
        b->max_rev = ev->revision;
        return 0;
    default:
        return 0; /* a newer controller's event type: ignored */
    }
}
