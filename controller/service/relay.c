/* SPDX-License-Identifier: Apache-2.0 */
/* relay.c - the event relay thread: tails the events stream, catches new watchers up, fans out */
#include "controller/service/relay.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/service/relay_ocsp.h"
#include "controller/store/certrepo.h"
#include "controller/store/store_tickets.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/log.h"
#include "shared/mem.h"
#include "shared/status.h"

/* How long one blocking read of the stream waits: also how soon a new watcher is caught up when
 * nothing happens, how soon a closed watcher is noticed, and how long stopping takes at most. */
#define RELAY_POLL_MS 200
/* Events read per round trip. */
#define RELAY_BATCH 1000
/* Backoff while the stream's end cannot be read at start (Redis not there yet): doubles from the
 * first to the cap. */
#define RELAY_START_RETRY_MS 100
#define RELAY_START_RETRY_MAX_MS 2000

typedef struct watcher {
    ctl_watch_sink_t sink;
    bool with_keys;
    int64_t pos; /* the last revision this watcher has */
    char who[96];
    struct watcher *next;
} watcher_t;

struct ctl_relay {
    ctl_store_t *store; /* used by the relay thread only (and ctl_relay_start before it runs) */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;
    watcher_t *pending; /* mu: handed over, not yet caught up; FIFO through pending_tail */
    watcher_t **pending_tail;
    atomic_size_t n_watchers;
    atomic_bool positioned; /* pos has been read from Redis: the relay follows the stream */
    watcher_t *live;        /* relay thread only */
    int64_t pos; /* relay thread only: every event <= pos has been sent to the live set */
    ctl_certcache_t *cache; /* borrowed, may be NULL; kept current by the relay thread */
};

/* ---- events --------------------------------------------------------------------------------- */

Google__Protobuf__Timestamp *ctl_relay_parse_time(const char *text)
{
    char quoted[96];
    ProtobufCMessage *m = NULL;
    if (text == NULL || strlen(text) > 64)
        return NULL;
    for (const char *p = text; *p != '\0'; p++)
        if (strchr("0123456789TtZz:.+-", *p) == NULL)
            return NULL;
    /* Timestamps decode from a JSON string; the seed writes local ISO times without an offset,
     * which are read as UTC. */
    int n = snprintf(quoted, sizeof quoted, "\"%s\"", text);
    if (cp_json_decode(&google__protobuf__timestamp__descriptor, quoted, (size_t)n, 0, &m, NULL) !=
        0) {
        n = snprintf(quoted, sizeof quoted, "\"%sZ\"", text);
        if (cp_json_decode(&google__protobuf__timestamp__descriptor, quoted, (size_t)n, 0, &m,
                           NULL) != 0)
            return NULL;
    }
    return (Google__Protobuf__Timestamp *)m;
}

static int build_upsert(ctl_store_t *s, const char *name, Certplane__V1__CertificateEvent *ev,
                        bool *skip, cp_err_t *err)
{
    const ctl_certrepo_t repo = {.store = s};
    cp_err_t lerr = {0};
    int rc = ctl_certrepo_load(&repo, name, &ev->certificate, &lerr);
    if (rc == CP_ENOTFOUND) {
        /* Deleted since: its DELETE event follows. */
        *skip = true;
        return 0;
    }
    if (rc == CP_EINVAL) {
        CP_LOG(CP_LOG_WARN, "relay", "skipping an unreadable certificate record: %s", lerr.msg);
        *skip = true;
        return 0;
    }
    if (rc != 0 && err != NULL)
        *err = lerr;
    return rc;
}

int ctl_relay_ticket_keys(ctl_store_t *s, Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    ctl_store_ticket_key_t keys[CTL_STORE_TICKET_KEYS_MAX];
    size_t n = 0;
    int rc = ctl_store_tickets_get(s, keys, &n, err);
    ev->type = CERTPLANE__V1__EVENT_TYPE__TICKET_KEYS;
    ev->ticket_keys = n > 0 ? cp_xcalloc(n, sizeof *ev->ticket_keys) : NULL;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        Certplane__V1__TicketKey *k = cp_xcalloc(1, sizeof *k);
        certplane__v1__ticket_key__init(k);
        k->name.data = cp_xmalloc(sizeof keys[i].name);
        memcpy(k->name.data, keys[i].name, k->name.len = sizeof keys[i].name);
        k->secret.data = cp_xmalloc(sizeof keys[i].secret);
        memcpy(k->secret.data, keys[i].secret, k->secret.len = sizeof keys[i].secret);
        k->create_time = cp_xcalloc(1, sizeof *k->create_time);
        google__protobuf__timestamp__init(k->create_time);
        k->create_time->seconds = keys[i].created_ms / 1000;
        ev->ticket_keys[ev->n_ticket_keys++] = k;
    }
    explicit_bzero(keys, sizeof keys);
    return rc;
}

void ctl_relay_event_free(Certplane__V1__CertificateEvent *ev)
{
    if (ev == NULL)
        return;
    for (size_t i = 0; i < ev->n_ticket_keys; i++)
        if (ev->ticket_keys[i]->secret.data != NULL)
            explicit_bzero(ev->ticket_keys[i]->secret.data, ev->ticket_keys[i]->secret.len);
    Certplane__V1__Certificate *c = ev->certificate;
    if (c != NULL && c->private_key_pem != NULL && c->private_key_pem != protobuf_c_empty_string)
        explicit_bzero(c->private_key_pem, strlen(c->private_key_pem));
    protobuf_c_message_free_unpacked(&ev->base, NULL);
}

int ctl_relay_event_build(ctl_store_t *s, const ctl_store_event_t *in,
                          Certplane__V1__CertificateEvent **out, cp_err_t *err)
{
    Certplane__V1__CertificateEvent *ev = cp_xcalloc(1, sizeof *ev);
    const char *type = in->type != NULL ? in->type : "";
    bool skip = false;
    int rc = 0;

    certplane__v1__certificate_event__init(ev);
    ev->revision = in->revision;
    *out = NULL;
    if ((strcmp(type, "UPSERT") == 0 || strcmp(type, "DELETE") == 0) && in->name != NULL) {
        ev->name = cp_xstrdup(in->name);
        if (type[0] == 'U') {
            ev->type = CERTPLANE__V1__EVENT_TYPE__UPSERT;
            rc = build_upsert(s, in->name, ev, &skip, err);
        } else {
            ev->type = CERTPLANE__V1__EVENT_TYPE__DELETE;
        }
    } else if (strncmp(type, "CHALLENGE_", 10) == 0 && in->token != NULL) {
        Certplane__V1__Challenge *ch = cp_xcalloc(1, sizeof *ch);
        certplane__v1__challenge__init(ch);
        ch->token = cp_xstrdup(in->token);
        ev->challenge = ch;
        if (strcmp(type, "CHALLENGE_SET") == 0) {
            ev->type = CERTPLANE__V1__EVENT_TYPE__CHALLENGE_SET;
            ch->key_authorization = cp_xstrdup(in->key_authorization ? in->key_authorization : "");
            ch->expire_time = ctl_relay_parse_time(in->expires_at);
            if (in->identifier != NULL) {
                ch->type = CERTPLANE__V1__CHALLENGE_TYPE__TLS_ALPN_01;
                ch->identifier = cp_xstrdup(in->identifier);
            }
        } else {
            ev->type = CERTPLANE__V1__EVENT_TYPE__CHALLENGE_CLEAR;
        }
    } else if (strcmp(type, "TICKET_KEYS") == 0) {
        rc = ctl_relay_ticket_keys(s, ev, err);
    } else if (strcmp(type, "OCSP_RESPONSE") == 0 && in->name != NULL) { /* OCSP stapling */
        rc = ctl_relay_ocsp_event(s, in->name, cp_clock_wall_ms(), ev, &skip, err);
    } else {
        skip = true; /* a type this controller does not know (a newer one wrote it) */
    }
    if (rc != 0 || skip)
        ctl_relay_event_free(ev);
    else
        *out = ev;
    return rc;
}

int ctl_relay_event_send(const ctl_watch_sink_t *sink, Certplane__V1__CertificateEvent *ev,
                         bool with_keys, cp_err_t *err)
{
    if ((ev->type == CERTPLANE__V1__EVENT_TYPE__TICKET_KEYS ||
         ev->type == CERTPLANE__V1__EVENT_TYPE__OCSP_RESPONSE) &&
        !with_keys)
        return 0; /* ticket keys and OCSP responses (for stapling) go to edges only */
    Certplane__V1__Certificate *c = ev->certificate;
    if (c == NULL || with_keys || c->private_key_pem == NULL || c->private_key_pem[0] == '\0')
        return sink->send(sink->u, ev, err);
    /* The sink copies what it queues, so the key can be hidden for this one call. */
    char *key = c->private_key_pem;
    c->private_key_pem = (char *)protobuf_c_empty_string;
    int rc = sink->send(sink->u, ev, err);
    c->private_key_pem = key;
    return rc;
}

/* ---- watchers ------------------------------------------------------------------------------- */

/* Ends a watcher: finishes its stream with status (0: the transport already ended it) and releases
 * it. */
static void drop(ctl_relay_t *r, watcher_t *w, int status, const char *msg)
{
    if (status != 0)
        w->sink.finish(w->sink.u, status, msg);
    CP_LOG(CP_LOG_INFO, "relay", "watcher %s left at revision %lld%s%s", w->who, (long long)w->pos,
           msg != NULL ? ": " : "", msg != NULL ? msg : "");
    w->sink.release(w->sink.u);
    free(w);
    atomic_fetch_sub(&r->n_watchers, 1);
}

/* Sends one built event (NULL: nothing to send) to w if w does not have it yet. Returns false when
 * w must be dropped (its transport has ended the stream). */
static bool deliver(watcher_t *w, int64_t revision, Certplane__V1__CertificateEvent *ev)
{
    if (revision <= w->pos)
        return true;
    if (ev != NULL && ctl_relay_event_send(&w->sink, ev, w->with_keys, NULL) != 0)
        return false;
    w->pos = revision;
    return true;
}

/* Sends a joining watcher the events after its position up to the relay's, reading them itself,
 * then adds it to the live set. Runs on the relay thread between two fan-outs, so nothing is sent
 * twice and nothing is missed. */
static void catch_up(ctl_relay_t *r, watcher_t *w)
{
    char msg[CP_ERR_MSG_MAX];
    while (w->pos < r->pos) {
        ctl_store_event_t *ev = NULL;
        size_t n = 0;
        cp_err_t err = {0};
        if (ctl_store_events_read(r->store, w->pos, RELAY_BATCH, 0, &ev, &n, &err) != 0) {
            drop(r, w, CP_GRPC_UNAVAILABLE, err.msg);
            return;
        }
        if (n == 0 || ev[0].revision > w->pos + 1) {
            ctl_store_events_free(ev, n);
            snprintf(msg, sizeof msg, "event history no longer holds revision %lld; reconnect",
                     (long long)(w->pos + 1));
            drop(r, w, CP_GRPC_ABORTED, msg);
            return;
        }
        for (size_t i = 0; i < n && ev[i].revision <= r->pos; i++) {
            Certplane__V1__CertificateEvent *pe = NULL;
            int rc = ctl_relay_event_build(r->store, &ev[i], &pe, &err);
            bool ok = rc == 0 && deliver(w, ev[i].revision, pe);
            ctl_relay_event_free(pe);
            if (!ok) {
                ctl_store_events_free(ev, n);
                drop(r, w, rc != 0 ? CP_GRPC_UNAVAILABLE : 0, rc != 0 ? err.msg : NULL);
                return;
            }
        }
        ctl_store_events_free(ev, n);
    }
    w->next = r->live;
    r->live = w;
}

static void join_pending(ctl_relay_t *r)
{
    pthread_mutex_lock(&r->mu);
    watcher_t *w = r->pending;
    r->pending = NULL;
    r->pending_tail = &r->pending;
    pthread_mutex_unlock(&r->mu);
    while (w != NULL) {
        watcher_t *next = w->next;
        w->next = NULL;
        catch_up(r, w);
        w = next;
    }
}

/* Drops live watchers that are closed, or every one when status is not 0. */
static void drop_live(ctl_relay_t *r, int status, const char *msg)
{
    for (watcher_t **pw = &r->live; *pw != NULL;) {
        watcher_t *w = *pw;
        if (status != 0 || (w->sink.closed != NULL && w->sink.closed(w->sink.u))) {
            *pw = w->next;
            drop(r, w, status, msg);
        } else {
            pw = &w->next;
        }
    }
}

/* Fans n events out to the live set. Stops early when an UPSERT cannot be read (Redis failed): the
 * relay's position stays before it and the next round reads it again. */
static void dispatch(ctl_relay_t *r, const ctl_store_event_t *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        Certplane__V1__CertificateEvent *pe = NULL;
        cp_err_t err = {0};
        uint64_t gen = ctl_certcache_gen(r->cache);
        if (ctl_relay_event_build(r->store, &ev[i], &pe, &err) != 0) {
            CP_LOG(CP_LOG_WARN, "relay", "event %lld: %s", (long long)ev[i].revision, err.msg);
            ctl_certcache_invalidate(r->cache, ev[i].name);
            return;
        }
        /* The cache first, so a client that gets this event and then reads sees it. A fill is
         * refused when anything was invalidated meanwhile (any name: the generation is global);
         * then the entry must go, or the revision before this event would stay cached until the
         * certificate's next change (seen with two controllers: a create through one controller
         * while its relay applied the other's commit). */
        bool filled = pe != NULL && pe->certificate != NULL &&
                      ctl_certcache_fill(r->cache, pe->certificate, gen);
        /* Refused because the cache already holds this revision (the writer on this controller
         * filled it, with its sealed key) or a newer one: nothing older stays. */
        if (!filled && pe != NULL && pe->certificate != NULL && ev[i].name != NULL &&
            ctl_certcache_revision(r->cache, ev[i].name) >= pe->certificate->revision)
            filled = true;
        if (!filled && ev[i].name != NULL)
            ctl_certcache_invalidate(r->cache, ev[i].name); /* also DELETE, or an UPSERT now gone */
        for (watcher_t **pw = &r->live; *pw != NULL;) {
            watcher_t *w = *pw;
            if (deliver(w, ev[i].revision, pe)) {
                pw = &w->next;
            } else {
                *pw = w->next;
                drop(r, w, 0, "too slow or gone");
            }
        }
        ctl_relay_event_free(pe);
        r->pos = ev[i].revision;
    }
}

static void nap(ctl_relay_t *r, int ms)
{
    for (int i = 0; i < ms / 50 && !atomic_load(&r->stop); i++) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* With nothing new to read: a revision counter behind our position means Redis lost data (a reset,
 * a failover to an older replica): the watchers' revisions mean nothing any more. */
static void check_reset(ctl_relay_t *r)
{
    int64_t rev = 0;
    if (ctl_store_revision(r->store, &rev, NULL) != 0 || rev >= r->pos)
        return;
    CP_LOG(CP_LOG_WARN, "relay", "revision went back from %lld to %lld: Redis lost data",
           (long long)r->pos, (long long)rev);
    drop_live(r, CP_GRPC_ABORTED, "event history was reset; reconnect");
    ctl_certcache_reset(r->cache, true);
    r->pos = rev;
}

/* Reads the stream's end, retrying with a capped backoff until Redis answers (a controller may
 * start before its Redis). False when stopped first. */
static bool position(ctl_relay_t *r)
{
    int wait_ms = RELAY_START_RETRY_MS;
    bool logged = false;
    for (;;) {
        cp_err_t err = {0};
        if (ctl_store_revision(r->store, &r->pos, &err) == 0)
            break;
        if (!logged)
            CP_LOG(CP_LOG_WARN, "relay", "waiting for Redis: %s", err.msg);
        logged = true;
        nap(r, wait_ms);
        if (atomic_load(&r->stop))
            return false;
        wait_ms = wait_ms * 2 > RELAY_START_RETRY_MAX_MS ? RELAY_START_RETRY_MAX_MS : wait_ms * 2;
    }
    if (logged)
        CP_LOG(CP_LOG_INFO, "relay", "Redis answers: relaying events from revision %lld",
               (long long)r->pos);
    atomic_store(&r->positioned, true);
    return true;
}

static void *relay_main(void *arg)
{
    ctl_relay_t *r = arg;
    bool failing = false, cache_on = false;
    if (!atomic_load(&r->positioned) && !position(r))
        return NULL;
    while (!atomic_load(&r->stop)) {
        ctl_store_event_t *ev = NULL;
        size_t n = 0;
        cp_err_t err = {0};
        join_pending(r);
        drop_live(r, 0, NULL);
        if (ctl_store_events_read(r->store, r->pos, RELAY_BATCH, RELAY_POLL_MS, &ev, &n, &err) !=
            0) {
            if (!failing)
                CP_LOG(CP_LOG_WARN, "relay", "reading events: %s", err.msg);
            /* Changes are no longer seen: the cache cannot be trusted until the stream reads. */
            ctl_certcache_reset(r->cache, false);
            failing = true;
            nap(r, 500);
            continue;
        }
        if (failing)
            CP_LOG(CP_LOG_INFO, "relay", "reading events again at revision %lld",
                   (long long)r->pos);
        if (failing || !cache_on) {
            /* Every change from here on is seen (the read starts at the relay's position). */
            ctl_certcache_reset(r->cache, true);
            cache_on = true;
        }
        failing = false;
        if (n == 0) {
            check_reset(r);
            continue;
        }
        if (ev[0].revision > r->pos + 1) {
            CP_LOG(CP_LOG_WARN, "relay", "events %lld-%lld were trimmed before they were relayed",
                   (long long)r->pos + 1, (long long)ev[0].revision - 1);
            drop_live(r, CP_GRPC_ABORTED, "events were lost; reconnect");
            ctl_certcache_reset(r->cache, true);
            r->pos = ev[0].revision - 1;
        }
        dispatch(r, ev, n);
        ctl_store_events_free(ev, n);
    }
    return NULL;
}

/* ---- lifetime ------------------------------------------------------------------------------- */

int ctl_relay_new(const char *redis_url, const ctl_store_opts_t *opts, ctl_relay_t **out,
                  cp_err_t *err)
{
    ctl_store_t *s = NULL;
    int rc = ctl_store_new(redis_url, opts, &s, err);
    if (rc != 0)
        return rc;
    ctl_relay_t *r = cp_xcalloc(1, sizeof *r);
    r->store = s;
    pthread_mutex_init(&r->mu, NULL);
    r->pending_tail = &r->pending;
    atomic_init(&r->stop, false);
    atomic_init(&r->n_watchers, 0);
    atomic_init(&r->positioned, false);
    *out = r;
    return 0;
}

void ctl_relay_set_cache(ctl_relay_t *r, ctl_certcache_t *cache)
{
    r->cache = cache;
}

int ctl_relay_start(ctl_relay_t *r, cp_err_t *err)
{
    if (r->started)
        return cp_err_set(err, CP_ESTATE, "event relay already started");
    /* One try here, so a controller whose Redis answers is ready at once; otherwise the thread
     * waits for Redis. */
    if (ctl_store_revision(r->store, &r->pos, NULL) == 0)
        atomic_store(&r->positioned, true);
    if (pthread_create(&r->thread, NULL, relay_main, r) != 0)
        return cp_err_set(err, CP_EIO, "event relay: cannot create its thread");
    pthread_setname_np(r->thread, "cp-relay");
    pthread_mutex_lock(&r->mu);
    r->started = true;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

bool ctl_relay_running(ctl_relay_t *r)
{
    pthread_mutex_lock(&r->mu);
    bool running = r->started && !atomic_load(&r->stop);
    pthread_mutex_unlock(&r->mu);
    return running;
}

int ctl_relay_add(ctl_relay_t *r, const ctl_watch_sink_t *sink, bool with_keys, int64_t pos,
                  const char *who, cp_err_t *err)
{
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    if (!r->started || atomic_load(&r->stop)) {
        rc = cp_err_set(err, CP_EUNAVAIL, "event relay not running");
        goto out;
    }
    watcher_t *w = cp_xcalloc(1, sizeof *w);
    w->sink = *sink;
    w->with_keys = with_keys;
    w->pos = pos;
    snprintf(w->who, sizeof w->who, "%s", who != NULL ? who : "-");
    *r->pending_tail = w;
    r->pending_tail = &w->next;
    atomic_fetch_add(&r->n_watchers, 1);
out:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

bool ctl_relay_ready(ctl_relay_t *r)
{
    return atomic_load(&r->positioned);
}

size_t ctl_relay_watchers(ctl_relay_t *r)
{
    return atomic_load(&r->n_watchers);
}

void ctl_relay_free(ctl_relay_t *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    atomic_store(&r->stop, true);
    bool started = r->started;
    watcher_t *w = r->pending;
    r->pending = NULL;
    pthread_mutex_unlock(&r->mu);
    if (started)
        pthread_join(r->thread, NULL);
    ctl_certcache_reset(r->cache, false); /* nothing keeps it current any more */
    while (w != NULL) {
        watcher_t *next = w->next;
        drop(r, w, CP_GRPC_UNAVAILABLE, "controller shutting down");
        w = next;
    }
    drop_live(r, CP_GRPC_UNAVAILABLE, "controller shutting down");
    ctl_store_free(r->store);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
