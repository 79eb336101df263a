/* SPDX-License-Identifier: Apache-2.0 */
/* service_watch.c - Watch: a replay or a snapshot on the caller's thread, then the relay's live
 * events */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/service/relay.h"
#include "controller/service/relay_ocsp.h"
#include "controller/service/service_util.h"
#include "controller/service/service_watch.h"
#include "controller/store/store_edges.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/status.h"

#define BATCH 1000
/* Pacing of a snapshot or replay (sink->fill): wait while the queue is over half full, polling
 * every PACE_STEP_MS; a reader that leaves it full for PACE_MAX_MS is cut off as too slow. */
#define PACE_FILL 500
#define PACE_STEP_MS 2
#define PACE_MAX_MS 60000

/* Where a watch stands while it is being started on the caller's thread. */
typedef struct start {
    ctl_thread_t *t;
    const ctl_watch_sink_t *sink;
    bool with_keys;
    bool sent; /* once anything was sent, failures end the stream instead of returning an error */
    int64_t pos;
    size_t batch; /* snapshot UPSERTs per message (WatchRequest.snapshot_batch, capped); 0: one */
} start_t;

/* Caps of a snapshot batch: certificates, and (roughly) bytes per message. */
#define SNAPSHOT_BATCH_MAX 256
#define SNAPSHOT_BATCH_BYTES (512 * 1024)

/* Waits until the transport's queue has room (see PACE_*). CP_ECANCELED: the client left;
 * CP_ETOOBIG: the stream was ended as too slow. */
static int pace(start_t *st, cp_err_t *err)
{
    const ctl_watch_sink_t *k = st->sink;
    for (int waited = 0; k->fill != NULL && k->fill(k->u) > PACE_FILL; waited += PACE_STEP_MS) {
        if (k->closed != NULL && k->closed(k->u))
            return cp_err_set(err, CP_ECANCELED, "watch: the client is gone");
        if (waited >= PACE_MAX_MS) {
            k->finish(k->u, CP_GRPC_RESOURCE_EXHAUSTED, "watcher too slow: the snapshot stalled");
            return cp_err_set(err, CP_ETOOBIG, "watch: the reader took nothing for %d s",
                              PACE_MAX_MS / 1000);
        }
        nanosleep(&(struct timespec){0, PACE_STEP_MS * 1000000L}, NULL);
    }
    return 0;
}

static int send_one(start_t *st, Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    int rc = pace(st, err);
    if (rc != 0)
        return rc;
    rc = ctl_relay_event_send(st->sink, ev, st->with_keys, err);
    if (rc == 0)
        st->sent = true;
    return rc;
}

/* Sends the events after st->pos up to `upto`, which the stream holds (checked by the caller).
 * Returns CP_ESTATE when the stream was trimmed past st->pos meanwhile. */
static int replay(start_t *st, int64_t upto, cp_err_t *err)
{
    while (st->pos < upto) {
        ctl_store_event_t *ev = NULL;
        size_t n = 0;
        int rc = ctl_store_events_read(st->t->store, st->pos, BATCH, 0, &ev, &n, err);
        if (rc != 0)
            return ctl_service__store_fail(rc, err);
        if (n == 0 || ev[0].revision > st->pos + 1) {
            ctl_store_events_free(ev, n);
            return cp_err_set(err, CP_ESTATE, "event history no longer holds revision %lld",
                              (long long)(st->pos + 1));
        }
        for (size_t i = 0; rc == 0 && i < n && ev[i].revision <= upto; i++) {
            Certplane__V1__CertificateEvent *pe = NULL;
            rc = ctl_relay_event_build(st->t->store, &ev[i], &pe, err);
            if (rc == 0 && pe != NULL)
                rc = send_one(st, pe, err);
            if (rc == 0)
                st->pos = ev[i].revision;
            ctl_relay_event_free(pe);
        }
        ctl_store_events_free(ev, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int send_cert(start_t *st, const Certplane__V1__Certificate *c, cp_err_t *err)
{
    if (c == NULL) /* deleted since it was listed (its DELETE event follows), or unreadable */
        return 0;
    Certplane__V1__CertificateEvent ev = CERTPLANE__V1__CERTIFICATE_EVENT__INIT;
    ev.type = CERTPLANE__V1__EVENT_TYPE__UPSERT;
    ev.revision = c->revision;
    ev.name = c->name;
    ev.certificate = (Certplane__V1__Certificate *)c;
    return send_one(st, &ev, err);
}

/* The loaded certificates certs[0..n) as SNAPSHOT_BATCH messages of at most st->batch events and
 * ~SNAPSHOT_BATCH_BYTES each. A watcher without the edge scope never gets a key: they are wiped
 * from these copies first (ctl_relay_event_send hides only a single event's). */
static int send_certs_batched(start_t *st, Certplane__V1__Certificate **certs, size_t n,
                              cp_err_t *err)
{
    Certplane__V1__CertificateEvent *evs = cp_xcalloc(n > 0 ? n : 1, sizeof *evs);
    Certplane__V1__CertificateEvent **items = cp_xcalloc(n > 0 ? n : 1, sizeof *items);
    size_t k = 0, bytes = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        Certplane__V1__Certificate *c = i < n ? certs[i] : NULL;
        if (i < n && c == NULL)
            continue; /* deleted since it was listed, or unreadable */
        if (c != NULL && !st->with_keys && c->private_key_pem != protobuf_c_empty_string) {
            cp_secure_free_str(c->private_key_pem);
            c->private_key_pem = (char *)protobuf_c_empty_string;
        }
        size_t size = c == NULL ? 0 : 256 + strlen(c->fullchain_pem) + strlen(c->private_key_pem);
        if (k > 0 && (c == NULL || k == st->batch || bytes + size > SNAPSHOT_BATCH_BYTES)) {
            Certplane__V1__CertificateEvent ev = CERTPLANE__V1__CERTIFICATE_EVENT__INIT;
            ev.type = CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BATCH;
            ev.n_batch = k;
            ev.batch = items;
            rc = send_one(st, k == 1 ? items[0] : &ev, err);
            k = bytes = 0;
        }
        if (c == NULL || rc != 0)
            continue;
        Certplane__V1__CertificateEvent *e = &evs[k];
        certplane__v1__certificate_event__init(e);
        e->type = CERTPLANE__V1__EVENT_TYPE__UPSERT;
        e->revision = c->revision;
        e->name = c->name;
        e->certificate = c;
        items[k++] = e;
        bytes += size;
    }
    free(items);
    free(evs);
    return rc;
}

static int snapshot_certs(start_t *st, cp_err_t *err)
{
    char after[128] = "";
    size_t n = BATCH;
    int rc = 0;
    while (rc == 0 && n == BATCH) {
        char **names = NULL;
        size_t bad = 0;
        rc = ctl_store_cert_list(st->t->store, after, BATCH, &names, &n, err);
        if (rc != 0)
            return ctl_service__store_fail(rc, err);
        Certplane__V1__Certificate **certs = cp_xcalloc(n > 0 ? n : 1, sizeof *certs);
        rc = ctl_service__store_fail(
            ctl_certrepo_load_many(&st->t->repo, (const char *const *)names, n, certs, &bad, err),
            err);
        if (bad > 0)
            CP_LOG(CP_LOG_WARN, "watch", "snapshot skips %zu unreadable record(s)", bad);
        if (rc == 0 && st->batch > 1)
            rc = send_certs_batched(st, certs, n, err);
        for (size_t i = 0; rc == 0 && st->batch <= 1 && i < n; i++)
            rc = send_cert(st, certs[i], err);
        if (n > 0)
            snprintf(after, sizeof after, "%s", names[n - 1]);
        for (size_t i = 0; i < n; i++)
            ctl_certrepo_cert_free(certs[i]);
        free(certs);
        ctl_store_strv_free(names, n);
    }
    return rc;
}

/* Challenges are not in cert records: the snapshot reads the challenge:{token} keys themselves,
 * which are exactly the answers in use now (cleared ones are deleted, stale ones expire), whereas
 * the stream may have been trimmed past their CHALLENGE_SET. */
/* An edge's snapshot carries the session-ticket keys (when there are any yet). */
static int snapshot_tickets(start_t *st, int64_t rev, cp_err_t *err)
{
    Certplane__V1__CertificateEvent *ev = cp_xcalloc(1, sizeof *ev);
    certplane__v1__certificate_event__init(ev);
    ev->revision = rev;
    int rc = ctl_relay_ticket_keys(st->t->store, ev, err);
    if (rc != 0)
        rc = ctl_service__store_fail(rc, err);
    else if (ev->n_ticket_keys > 0)
        rc = send_one(st, ev, err);
    ctl_relay_event_free(ev);
    return rc;
}

static int snapshot_challenges(start_t *st, int64_t rev, cp_err_t *err)
{
    ctl_store_challenge_t *ch = NULL;
    size_t n = 0;
    int rc = ctl_store_challenges_list(st->t->store, &ch, &n, err);
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        Certplane__V1__Challenge c = CERTPLANE__V1__CHALLENGE__INIT;
        Certplane__V1__CertificateEvent ev = CERTPLANE__V1__CERTIFICATE_EVENT__INIT;
        c.token = ch[i].token;
        c.key_authorization = ch[i].key_authorization;
        c.expire_time = ctl_relay_parse_time(ch[i].expires_at);
        if (ch[i].identifier != NULL) {
            c.type = CERTPLANE__V1__CHALLENGE_TYPE__TLS_ALPN_01;
            c.identifier = ch[i].identifier;
        }
        ev.type = CERTPLANE__V1__EVENT_TYPE__CHALLENGE_SET;
        ev.revision = rev;
        ev.challenge = &c;
        rc = send_one(st, &ev, err);
        free(c.expire_time);
    }
    ctl_store_challenges_free(ch, n);
    return rc;
}

/* SNAPSHOT_BEGIN at `rev`, every certificate and challenge, then SNAPSHOT_END at `rev`, read before
 * anything else: whatever changed while the snapshot was read comes again as an event after rev,
 * and events are idempotent (UPSERT carries the certificate as it is, DELETE and CHALLENGE_CLEAR of
 * what is absent are no-ops). SNAPSHOT_BEGIN tells the client a snapshot, not a replay, follows. */
/* OCSP stapling (issue 14): an edge's snapshot carries the stapleable OCSP responses. */
static int ocsp_send(void *u, Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    return send_one(u, ev, err);
}

static int snapshot(start_t *st, int64_t rev, cp_err_t *err)
{
    Certplane__V1__CertificateEvent begin = CERTPLANE__V1__CERTIFICATE_EVENT__INIT;
    begin.type = CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN;
    begin.revision = rev;
    int rc = send_one(st, &begin, err);
    if (rc == 0)
        rc = snapshot_certs(st, err);
    if (rc == 0)
        rc = snapshot_challenges(st, rev, err);
    if (rc == 0 && st->with_keys)
        rc = snapshot_tickets(st, rev, err);
    if (rc == 0 && st->with_keys)
        rc = ctl_relay_ocsp_snapshot(st->t->store, rev, ocsp_send, st, err);
    if (rc != 0)
        return rc;
    Certplane__V1__CertificateEvent end = CERTPLANE__V1__CERTIFICATE_EVENT__INIT;
    end.type = CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END;
    end.revision = rev;
    rc = send_one(st, &end, err);
    if (rc == 0)
        st->pos = rev;
    return rc;
}

/* ---- the per-token bound -------------------------------------------------------------------- */

/* Used when the configuration leaves it unset (a hand-built ctl_config_t). */
#define WATCH_MAX_DEFAULT 64

/* The transport's sink, wrapped so that releasing it gives the token's slot back. */
typedef struct counted {
    ctl_watch_sink_t inner;
    ctl_service_t *svc;
    unsigned char key[32];
} counted_t;

/* Takes one of the caller's Watch slots. CP_ETOOBIG (RESOURCE_EXHAUSTED) when all are in use. */
static int slot_take(ctl_service_t *svc, const ctl_caller_t *caller, cp_err_t *err)
{
    int max = svc->cfg->watch_max_per_token > 0 ? svc->cfg->watch_max_per_token : WATCH_MAX_DEFAULT;
    int rc = 0;
    pthread_mutex_lock(&svc->watch_mu);
    ctl_service__watch_count_t *c = svc->watch_counts;
    while (c != NULL && memcmp(c->key, caller->token_key, sizeof c->key) != 0)
        c = c->next;
    if (c == NULL) {
        c = cp_xcalloc(1, sizeof *c);
        memcpy(c->key, caller->token_key, sizeof c->key);
        c->next = svc->watch_counts;
        svc->watch_counts = c;
    }
    if (c->n >= max)
        rc = cp_err_set(err, CP_ETOOBIG,
                        "too many Watch streams: token %s already holds %d (--watch-max-per-token)",
                        caller->token_id, c->n);
    else
        c->n++;
    pthread_mutex_unlock(&svc->watch_mu);
    return rc;
}

static void slot_give(ctl_service_t *svc, const unsigned char key[32])
{
    pthread_mutex_lock(&svc->watch_mu);
    for (ctl_service__watch_count_t **pc = &svc->watch_counts; *pc != NULL; pc = &(*pc)->next) {
        ctl_service__watch_count_t *c = *pc;
        if (memcmp(c->key, key, sizeof c->key) != 0)
            continue;
        if (--c->n <= 0) {
            *pc = c->next;
            free(c);
        }
        break;
    }
    pthread_mutex_unlock(&svc->watch_mu);
}

static int counted_send(void *u, const Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    counted_t *c = u;
    return c->inner.send(c->inner.u, ev, err);
}

static void counted_finish(void *u, int grpc_status, const char *message)
{
    counted_t *c = u;
    c->inner.finish(c->inner.u, grpc_status, message);
}

static bool counted_closed(void *u)
{
    counted_t *c = u;
    return c->inner.closed != NULL && c->inner.closed(c->inner.u);
}

static int counted_fill(void *u)
{
    counted_t *c = u;
    return c->inner.fill != NULL ? c->inner.fill(c->inner.u) : 0;
}

static void counted_release(void *u)
{
    counted_t *c = u;
    slot_give(c->svc, c->key); /* first: once released, the transport may start another */
    c->inner.release(c->inner.u);
    free(c);
}

/* ---- starting a watch ------------------------------------------------------------------------ */

static int watch_check(ctl_service_t *svc, const ctl_caller_t *caller,
                       const Certplane__V1__WatchRequest *req, cp_err_t *err)
{
    if ((caller->scopes & (CTL_SCOPE_READ | CTL_SCOPE_EDGE)) == 0)
        return cp_err_set(err, CP_EPERM, "permission denied: Watch needs the read or edge scope");
    if (req->from_revision < 0)
        return cp_err_set(err, CP_EINVAL, "from_revision: must be >= 0");
    if (req->edge_id != NULL && req->edge_id[0] != '\0' &&
        ctl_service__check_edge_id(req->edge_id, err) != 0)
        return CP_EINVAL;
    if (svc->relay == NULL || !ctl_relay_running(svc->relay))
        return cp_err_set(err, CP_EUNAVAIL, "event relay not running");
    return 0;
}

/* Sends the replay or the snapshot; the watcher then has every event up to st->pos. */
static int watch_begin(start_t *st, int64_t from, cp_err_t *err)
{
    int64_t first = 0, rev = 0;
    int rc = ctl_store_events_first(st->t->store, &first, err);
    if (rc == 0)
        rc = ctl_store_revision(st->t->store, &rev, err);
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    /* A replay needs every event after `from` still in the stream. A client ahead of the counter
     * knows revisions this Redis never had (it was reset): it needs a snapshot too. */
    bool can_replay = from > 0 && from <= rev && (from == rev || (first > 0 && from >= first - 1));
    if (can_replay) {
        st->pos = from;
        rc = replay(st, rev, err);
        if (rc != CP_ESTATE || st->sent)
            return rc;
        /* Trimmed while we started, before anything was sent: a snapshot will do. */
        if ((rc = ctl_store_revision(st->t->store, &rev, err)) != 0)
            return ctl_service__store_fail(rc, err);
    }
    return snapshot(st, rev, err);
}

int ctl_service__watch(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                       const Certplane__V1__WatchRequest *req, const ctl_watch_sink_t *sink,
                       cp_err_t *err)
{
    cp_err_t local = {0};
    if (err == NULL)
        err = &local;
    int rc = watch_check(svc, caller, req, err);
    if (rc == 0)
        rc = slot_take(svc, caller, err);
    if (rc != 0)
        return rc;
    counted_t *c = cp_xcalloc(1, sizeof *c);
    c->inner = *sink;
    c->svc = svc;
    memcpy(c->key, caller->token_key, sizeof c->key);
    const ctl_watch_sink_t counted = {.u = c,
                                      .send = counted_send,
                                      .finish = counted_finish,
                                      .closed = counted_closed,
                                      .release = counted_release,
                                      .fill = sink->fill != NULL ? counted_fill : NULL};
    sink = &counted;
    start_t st = {.t = t,
                  .sink = sink,
                  .with_keys = (caller->scopes & CTL_SCOPE_EDGE) != 0,
                  .batch = req->snapshot_batch > SNAPSHOT_BATCH_MAX ? SNAPSHOT_BATCH_MAX
                                                                    : req->snapshot_batch};
    char who[96];
    snprintf(who, sizeof who, "%s@%s", req->edge_id[0] != '\0' ? req->edge_id : caller->token_id,
             caller->peer);
    rc = watch_begin(&st, req->from_revision, err);
    if (rc != 0 && !st.sent) {
        /* The sink was never touched: the transport answers with the error. */
        slot_give(svc, c->key);
        free(c);
        return rc;
    }
    if (rc == 0)
        rc = ctl_relay_add(svc->relay, sink, st.with_keys, st.pos, who, err);
    if (rc != 0) {
        /* Part of the stream went out: end it with the status, and the service is done with it. */
        if (rc != CP_ECANCELED && rc != CP_ETOOBIG)
            sink->finish(sink->u, cp_err_grpc_status(rc), err->msg);
        sink->release(sink->u);
        CP_LOG(CP_LOG_INFO, "watch", "watch by %s ended while starting: %s", who, err->msg);
        return 0;
    }
    CP_LOG(CP_LOG_INFO, "watch", "watcher %s joins at revision %lld (asked %lld)", who,
           (long long)st.pos, (long long)req->from_revision);
    return 0;
}
