/* SPDX-License-Identifier: Apache-2.0 */
/* ondemand.c - the on-demand name table and the asking thread (ondemand.h) */
#include "edge/ondemand.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "certplane/v1/certplane.pb-c.h"
#include "shared/clock.h"
#include "shared/hash.h"
#include "shared/log.h"
#include "shared/mem.h"

#define METHOD "/certplane.v1.Certificates/RequestOnDemandCertificate"
#define BUCKETS 1024
#define MAX_NAMES 4096
#define CALL_DEADLINE_MS 5000
#define ALLOWED_EXTRA_MS 30000
#define ERROR_KEEP_MS 5000
#define USED_MAX 4096

typedef enum { ST_ASKING, ST_ALLOWED, ST_REFUSED } state_t;

typedef struct entry {
    struct entry *next;  /* in its bucket */
    struct entry *qnext; /* in the question queue while ST_ASKING and not yet taken */
    state_t state;
    int64_t until_ms; /* ST_ALLOWED / ST_REFUSED: forgotten after this */
    char name[];
} entry_t;

struct edge_ondemand {
    edge_ondemand_opts_t o;
    edge_metrics_t *m;
    edge_rpc_t *rpc;
    pthread_t tid;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    entry_t *buckets[BUCKETS];
    size_t n_names;
    entry_t *qhead, **qtail;
    atomic_int parked;
    /* certificate names served since the last report (edge_ondemand_used) */
    char *used[USED_MAX];
    size_t n_used;
};

int edge_ondemand_new(const edge_ondemand_opts_t *opts, edge_metrics_t *m, edge_ondemand_t **out,
                      cp_err_t *err)
{
    edge_ondemand_t *od = cp_xcalloc(1, sizeof *od);
    od->o = *opts;
    od->m = m;
    od->qtail = &od->qhead;
    pthread_mutex_init(&od->mu, NULL);
    pthread_cond_init(&od->cv, NULL);
    int rc = edge_rpc_new(&opts->rpc, &od->rpc, err);
    if (rc != 0) {
        edge_ondemand_free(od);
        od = NULL;
    }
    *out = od;
    return rc;
}

/* Drops answers that have run out (under mu). */
static void sweep(edge_ondemand_t *od, int64_t now)
{
    for (size_t b = 0; b < BUCKETS; b++)
        for (entry_t **pp = &od->buckets[b]; *pp != NULL;) {
            entry_t *e = *pp;
            if (e->state != ST_ASKING && e->until_ms <= now) {
                *pp = e->next;
                free(e);
                od->n_names--;
            } else {
                pp = &e->next;
            }
        }
}

/* Queues the question for e (under mu). */
static void enqueue(edge_ondemand_t *od, entry_t *e)
{
    e->state = ST_ASKING;
    e->qnext = NULL;
    *od->qtail = e;
    od->qtail = &e->qnext;
    atomic_fetch_add(&od->m->od_asks, 1);
    pthread_cond_signal(&od->cv);
}

static entry_t *find(edge_ondemand_t *od, const char *name, size_t *bucket)
{
    size_t b = cp_hash_fnv1a32_str(name) % BUCKETS;
    entry_t *e = od->buckets[b];
    while (e != NULL && strcmp(e->name, name) != 0)
        e = e->next;
    if (bucket != NULL)
        *bucket = b;
    return e;
}

bool edge_ondemand_waiting(edge_ondemand_t *od, const char *name)
{
    pthread_mutex_lock(&od->mu);
    entry_t *e = find(od, name, NULL);
    bool waiting = e != NULL && e->state != ST_REFUSED;
    pthread_mutex_unlock(&od->mu);
    return waiting;
}

edge_ondemand_verdict_t edge_ondemand_check(edge_ondemand_t *od, const char *name)
{
    size_t b = 0;
    int64_t now = cp_clock_mono_ms();
    edge_ondemand_verdict_t v = EDGE_ONDEMAND_FALLBACK;
    pthread_mutex_lock(&od->mu);
    entry_t *e = find(od, name, &b);
    if (e != NULL && e->state != ST_ASKING && e->until_ms <= now)
        enqueue(od, e); /* the answer ran out: ask again */
    if (e == NULL) {
        if (od->n_names >= MAX_NAMES)
            sweep(od, now);
        if (od->n_names < MAX_NAMES) {
            size_t len = strlen(name) + 1;
            e = cp_xcalloc(1, sizeof *e + len);
            memcpy(e->name, name, len);
            e->state = ST_ASKING;
            e->next = od->buckets[b];
            od->buckets[b] = e;
            od->n_names++;
            enqueue(od, e);
        } else {
            atomic_fetch_add(&od->m->od_names_full, 1);
        }
    }
    if (e != NULL)
        v = e->state == ST_REFUSED ? EDGE_ONDEMAND_FALLBACK : EDGE_ONDEMAND_WAIT;
    pthread_mutex_unlock(&od->mu);
    return v;
}

bool edge_ondemand_park_take(edge_ondemand_t *od)
{
    if (atomic_fetch_add(&od->parked, 1) >= od->o.max_parked) {
        atomic_fetch_sub(&od->parked, 1);
        return false;
    }
    atomic_fetch_add(&od->m->od_parked, 1);
    return true;
}

void edge_ondemand_park_release(edge_ondemand_t *od)
{
    atomic_fetch_sub(&od->parked, 1);
    atomic_fetch_sub(&od->m->od_parked, 1);
}

void edge_ondemand_used(edge_ondemand_t *od, const char *cert)
{
    pthread_mutex_lock(&od->mu);
    bool seen = false;
    for (size_t i = 0; i < od->n_used && !seen; i++)
        seen = strcmp(od->used[i], cert) == 0;
    if (!seen && od->n_used < USED_MAX)
        od->used[od->n_used++] = cp_xstrdup(cert);
    pthread_mutex_unlock(&od->mu);
}

size_t edge_ondemand_take_used(void *arg, char **names, size_t max)
{
    edge_ondemand_t *od = arg;
    pthread_mutex_lock(&od->mu);
    size_t n = od->n_used < max ? od->n_used : max;
    memcpy(names, od->used + od->n_used - n, n * sizeof *names);
    od->n_used -= n;
    pthread_mutex_unlock(&od->mu);
    return n;
}

int64_t edge_ondemand_wait_ms(const edge_ondemand_t *od)
{
    return od->o.wait_ms;
}

/* The controller's answer for e (under mu). */
static void settle(edge_ondemand_t *od, entry_t *e, grpc_status_code status,
                   const Certplane__V1__RequestOnDemandCertificateResponse *r)
{
    int64_t now = cp_clock_mono_ms();
    if (status == GRPC_STATUS_OK &&
        r->decision == CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__ALLOWED) {
        e->state = ST_ALLOWED;
        e->until_ms = now + od->o.wait_ms + ALLOWED_EXTRA_MS;
        return;
    }
    e->state = ST_REFUSED;
    int64_t keep = ERROR_KEEP_MS;
    if (status == GRPC_STATUS_OK) {
        keep = (int64_t)r->retry_after_seconds * 1000;
        keep = keep < 5000 ? 5000 : keep > 300000 ? 300000 : keep;
        atomic_fetch_add(&od->m->od_refused, 1);
    } else {
        atomic_fetch_add(&od->m->od_errors, 1);
    }
    e->until_ms = now + keep;
}

static void ask(edge_ondemand_t *od, entry_t *e)
{
    Certplane__V1__RequestOnDemandCertificateRequest req =
        CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_REQUEST__INIT;
    req.name = e->name; /* stable: an ST_ASKING entry is never freed */
    req.edge_id = (char *)od->o.edge_id;
    ProtobufCMessage *resp = NULL;
    grpc_status_code st =
        edge_rpc_call(od->rpc, METHOD, &req.base,
                      &certplane__v1__request_on_demand_certificate_response__descriptor,
                      CALL_DEADLINE_MS, &resp);
    const Certplane__V1__RequestOnDemandCertificateResponse *r = (const void *)resp;
    const char *kv[] = {"name", e->name, NULL};
    if (st != GRPC_STATUS_OK)
        CP_LOGKV(CP_LOG_WARN, "ondemand", kv, "RequestOnDemandCertificate failed: status %d",
                 (int)st);
    else
        CP_LOGKV(CP_LOG_DEBUG, "ondemand", kv, "decision %d (%s)", (int)r->decision, r->reason);
    pthread_mutex_lock(&od->mu);
    settle(od, e, st, r);
    pthread_mutex_unlock(&od->mu);
    protobuf_c_message_free_unpacked(resp, NULL);
}

static void *asker_main(void *arg)
{
    edge_ondemand_t *od = arg;
    pthread_mutex_lock(&od->mu);
    while (!od->stop) {
        if (od->qhead == NULL) {
            pthread_cond_wait(&od->cv, &od->mu);
            continue;
        }
        entry_t *e = od->qhead;
        od->qhead = e->qnext;
        if (od->qhead == NULL)
            od->qtail = &od->qhead;
        pthread_mutex_unlock(&od->mu);
        ask(od, e);
        od->o.wake(od->o.wake_arg);
        pthread_mutex_lock(&od->mu);
    }
    pthread_mutex_unlock(&od->mu);
    return NULL;
}

int edge_ondemand_start(edge_ondemand_t *od, cp_err_t *err)
{
    if (pthread_create(&od->tid, NULL, asker_main, od) != 0)
        return cp_err_set(err, CP_EIO, "cannot start the on-demand thread");
    pthread_setname_np(od->tid, "edge-ondemand");
    od->started = 1;
    return 0;
}

void edge_ondemand_stop(edge_ondemand_t *od)
{
    if (od == NULL || !od->started)
        return;
    pthread_mutex_lock(&od->mu);
    od->stop = true;
    pthread_cond_broadcast(&od->cv);
    pthread_mutex_unlock(&od->mu);
    pthread_join(od->tid, NULL);
    od->started = 0;
}

void edge_ondemand_free(edge_ondemand_t *od)
{
    if (od == NULL)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        while (od->buckets[b] != NULL) {
            entry_t *e = od->buckets[b];
            od->buckets[b] = e->next;
            free(e);
        }
    for (size_t i = 0; i < od->n_used; i++)
        free(od->used[i]);
    edge_rpc_free(od->rpc);
    pthread_mutex_destroy(&od->mu);
    pthread_cond_destroy(&od->cv);
    free(od);
}
