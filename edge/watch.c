/* SPDX-License-Identifier: Apache-2.0 */
/* watch.c - the watch client thread: certificates and challenges streamed from the controllers */
#include "edge/watch.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "edge/ctlchan.h"
#include "edge/watch_internal.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

/* Certificates per message the edge asks for in a snapshot (WatchRequest.snapshot_batch). */
#define SNAPSHOT_BATCH 128
#define WATCH_METHOD "/certplane.v1.Certificates/Watch"
#define REPORT_METHOD "/certplane.v1.Certificates/ReportEdgeStatus"
#define BATCH_QUIET_MS 3 /* a burst is over after this long without a message */
#define BATCH_MAX 1024   /* outside a snapshot, publish at least every this many events */
#define POLL_MS 200      /* how often the thread checks for stop */

struct edge_watch {
    edge_watch_opts_t o;
    edge_sni_t *sni;
    edge_metrics_t *m;
    grpc_channel_credentials *creds; /* NULL: insecure */
    char *auth;                      /* "Bearer <token>" or NULL */
    pthread_t tid;
    int started;
    atomic_int stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int64_t resume_rev; /* last revision known applied; Watch resumes after it */
    int64_t next_report_ms;
};

enum { TAG_START = 1, TAG_MSG, TAG_STATUS };

static gpr_timespec deadline_in(int64_t ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* The auth metadata, when a token is configured. */
static size_t auth_md(const edge_watch_t *w, grpc_metadata *md)
{
    if (w->auth == NULL)
        return 0;
    memset(md, 0, sizeof *md);
    md->key = grpc_slice_from_static_string("authorization");
    md->value = grpc_slice_from_static_string(w->auth);
    return 1;
}

/* ReportEdgeStatus, synchronously with a 2 s deadline; failures are logged at debug level only
 * (the stream's own state says whether the controller is there). */
static void report(edge_watch_t *w, grpc_channel *ch)
{
    Certplane__V1__ReportEdgeStatusRequest req = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    req.edge_id = (char *)w->o.edge_id;
    req.applied_revision = w->resume_rev;
    req.certificates = (int32_t)edge_certmap_count(edge_sni_current0(w->sni));
    req.version = (char *)CERTPLANE_VERSION;
    char *used[256]; /* on-demand TLS: certificates served lately */
    req.on_demand_used = used;
    req.n_on_demand_used = w->o.used != NULL ? w->o.used(w->o.used_arg, used, 256) : 0;
    grpc_status_code status =
        edge_ctlchan_unary(ch, w->auth, REPORT_METHOD, &req.base, NULL, 2000, NULL);
    if (status != GRPC_STATUS_OK)
        CP_LOG(CP_LOG_DEBUG, "watch", "ReportEdgeStatus failed: status %d", (int)status);
    for (size_t i = 0; i < req.n_on_demand_used; i++)
        free(used[i]);
    w->next_report_ms = cp_clock_mono_ms() + w->o.report_interval_ms;
}

/* Publishes the pending batch (one swap) and moves the resume revision to it. Never called inside
 * a snapshot: a snapshot is published whole, at its SNAPSHOT_END. */
static void publish(edge_watch_t *w, edge_watch__batch_t *b, grpc_channel *ch)
{
    if (b->max_rev > w->resume_rev || b->saw_end)
        w->resume_rev = b->max_rev;
    if (b->builder == NULL)
        return;
    edge_certmap_set_revision(b->builder, w->resume_rev);
    edge_certmap_t *old = edge_sni_swap(w->sni, b->builder);
    b->builder = NULL;
    w->o.retire(w->o.retire_arg, old);
    atomic_fetch_add(&w->m->swaps, 1);
    atomic_store(&w->m->revision, w->resume_rev);
    if (b->saw_end && !atomic_load(&w->m->ready)) {
        atomic_store(&w->m->ready, 1);
        CP_LOG(CP_LOG_INFO, "watch", "first snapshot applied: %zu certificates, revision %lld",
               edge_certmap_count(edge_sni_current0(w->sni)), (long long)w->resume_rev);
    }
    CP_LOG(CP_LOG_DEBUG, "watch", "published %zu events, revision %lld", b->n,
           (long long)w->resume_rev);
    /* Parsing a snapshot leaves the parse threads' malloc arenas full of freed scratch between the
     * certificates kept: give those pages back (about 1 KiB per certificate of a large snapshot).
     */
    if (b->saw_end && b->n > 256)
        malloc_trim(0);
    b->n = 0;
    report(w, ch); /* at once, so the controller sees a CHALLENGE_SET applied */
}

static void on_message(edge_watch_t *w, edge_watch__batch_t *b, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader r;
    grpc_byte_buffer_reader_init(&r, bb);
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    Certplane__V1__CertificateEvent *ev = certplane__v1__certificate_event__unpack(
        NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    cp_err_t err = {0};
    if (ev == NULL) {
        CP_LOG(CP_LOG_WARN, "watch", "undecodable event skipped");
        atomic_fetch_add(&w->m->apply_errors, 1);
        return;
    }
    /* A snapshot batch (WatchRequest.snapshot_batch) is its events one after the other. */
    bool batch = ev->type == CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BATCH;
    size_t n = batch ? ev->n_batch : 1;
    for (size_t i = 0; i < n; i++) {
        const Certplane__V1__CertificateEvent *one = batch ? ev->batch[i] : ev;
        atomic_fetch_add(&w->m->events, 1);
        if (edge_watch__apply(b, edge_sni_current0(w->sni), one, &err) != 0) {
            const char *kv[] = {"cert", one->name != NULL ? one->name : "", NULL};
            CP_LOGKV(CP_LOG_WARN, "watch", kv, "event at revision %lld not applied: %s",
                     (long long)one->revision, err.msg);
            atomic_fetch_add(&w->m->apply_errors, 1);
        }
    }
    certplane__v1__certificate_event__free_unpacked(ev, NULL);
}

/* A snapshot certificate parsed in the background that did not parse or whose key did not match. */
static void on_apply_error(void *arg, const char *name, int64_t revision, const cp_err_t *err)
{
    edge_watch_t *w = arg;
    const char *kv[] = {"cert", name, NULL};
    CP_LOGKV(CP_LOG_WARN, "watch", kv, "event at revision %lld not applied: %s",
             (long long)revision, err->msg);
    atomic_fetch_add(&w->m->apply_errors, 1);
}

typedef struct stream {
    grpc_call *call;
    grpc_completion_queue *cq;
    grpc_byte_buffer *in;
    grpc_metadata_array initial, trailing;
    grpc_status_code status;
    grpc_slice details;
    bool msg_pending, status_done, got_message;
} stream_t;

static int stream_start(edge_watch_t *w, stream_t *st, grpc_channel *ch)
{
    Certplane__V1__WatchRequest req = CERTPLANE__V1__WATCH_REQUEST__INIT;
    req.from_revision = w->resume_rev;
    req.edge_id = (char *)w->o.edge_id;
    req.snapshot_batch = SNAPSHOT_BATCH; /* several certificates per message in a snapshot */
    st->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, st->cq,
                                        grpc_slice_from_static_string(WATCH_METHOD), NULL,
                                        gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    grpc_metadata md;
    grpc_byte_buffer *out = edge_ctlchan_pack(&req.base);
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = auth_md(w, &md);
    ops[0].data.send_initial_metadata.metadata = &md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = out;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &st->initial;
    grpc_call_error e = grpc_call_start_batch(st->call, ops, 4, (void *)TAG_START, NULL);
    grpc_byte_buffer_destroy(out); /* the batch holds its own reference */
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &st->trailing;
    ops[0].data.recv_status_on_client.status = &st->status;
    ops[0].data.recv_status_on_client.status_details = &st->details;
    if (e == GRPC_CALL_OK)
        e = grpc_call_start_batch(st->call, ops, 1, (void *)TAG_STATUS, NULL);
    return e == GRPC_CALL_OK ? 0 : CP_EINTERNAL;
}

static void stream_recv(stream_t *st)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &st->in;
    st->msg_pending =
        grpc_call_start_batch(st->call, &op, 1, (void *)TAG_MSG, NULL) == GRPC_CALL_OK;
}

/* One Watch call on `ch` until it ends or stop is asked. Returns true when it delivered events. */
static bool stream_run(edge_watch_t *w, grpc_channel *ch, const char *target)
{
    stream_t st = {.cq = grpc_completion_queue_create_for_next(NULL),
                   .details = grpc_empty_slice()};
    edge_watch__batch_t b;
    edge_watch__batch_init(&b);
    b.parse_threads = edge_watch__default_parse_threads();
    b.on_error = on_apply_error;
    b.on_error_arg = w;
    grpc_metadata_array_init(&st.initial);
    grpc_metadata_array_init(&st.trailing);
    bool cancelled = false, started = stream_start(w, &st, ch) == 0;
    if (started)
        stream_recv(&st);
    else
        st.status_done = true;
    while (!st.status_done || st.msg_pending) {
        if (atomic_load(&w->stop) && !cancelled) {
            grpc_call_cancel(st.call, NULL);
            cancelled = true;
        }
        int64_t now = cp_clock_mono_ms(), wait = POLL_MS;
        if (b.n > 0 && !b.in_snapshot)
            wait = BATCH_QUIET_MS;
        if (st.got_message && w->next_report_ms - now < wait)
            wait = w->next_report_ms - now;
        grpc_event ev = grpc_completion_queue_next(st.cq, deadline_in(wait < 0 ? 0 : wait), NULL);
        now = cp_clock_mono_ms();
        if (ev.type == GRPC_QUEUE_TIMEOUT) {
            if (!cancelled && b.n > 0 && !b.in_snapshot)
                publish(w, &b, ch);
            if (!cancelled && st.got_message && now >= w->next_report_ms)
                report(w, ch);
            continue;
        }
        if ((intptr_t)ev.tag == TAG_STATUS) {
            st.status_done = true;
        } else if ((intptr_t)ev.tag == TAG_MSG) {
            st.msg_pending = false;
            if (ev.success && st.in != NULL) {
                if (!st.got_message) {
                    st.got_message = true;
                    atomic_store(&w->m->stream_connected, 1);
                    CP_LOG(CP_LOG_INFO, "watch", "stream to %s up, from revision %lld", target,
                           (long long)w->resume_rev);
                }
                bool was_snapshot = b.in_snapshot;
                on_message(w, &b, st.in);
                grpc_byte_buffer_destroy(st.in);
                st.in = NULL;
                /* A snapshot is swapped in whole at its SNAPSHOT_END; a replay or live events go
                 * in bursts (several events, one swap), at most BATCH_MAX at a time. */
                if ((was_snapshot && !b.in_snapshot) || (!b.in_snapshot && b.n >= BATCH_MAX))
                    publish(w, &b, ch);
                if (!cancelled)
                    stream_recv(&st);
            }
        }
    }
    if (b.n > 0 && !cancelled && !b.in_snapshot)
        publish(w, &b, ch); /* what arrived before the end is valid and in revision order */
    else if (b.in_snapshot && !cancelled)
        CP_LOG(CP_LOG_INFO, "watch", "snapshot cut off before its end: discarded (%zu events)",
               b.n);
    atomic_store(&w->m->stream_connected, 0);
    char *details = grpc_slice_to_c_string(st.details);
    /* A TLS handshake the controller refused (no or an untrusted client certificate) reaches us as
     * a bare "Socket closed": say what to check. */
    const char *hint = "";
    if (w->o.ca_file != NULL && !st.got_message && st.status == GRPC_STATUS_UNAVAILABLE &&
        strstr(details, "Connection refused") == NULL)
        hint = w->o.cert_file == NULL
                   ? " (TLS handshake failed? check --controller-ca and --controller-server-name; "
                     "a controller with --grpc-client-ca also needs --client-cert/--client-key)"
                   : " (TLS handshake failed? check --controller-ca, --controller-server-name and "
                     "that the controller's --grpc-client-ca signed --client-cert)";
    if (!cancelled)
        CP_LOG(CP_LOG_WARN, "watch", "stream to %s ended: status %d %s%s", target, (int)st.status,
               details, hint);
    gpr_free(details);
    edge_watch__batch_dispose(&b);
    grpc_slice_unref(st.details);
    grpc_metadata_array_destroy(&st.initial);
    grpc_metadata_array_destroy(&st.trailing);
    if (st.call != NULL)
        grpc_call_unref(st.call);
    grpc_completion_queue_shutdown(st.cq);
    while (grpc_completion_queue_next(st.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(st.cq);
    return st.got_message;
}

/* Sleeps up to ms, returning early when stop is asked. */
static void pause_ms(edge_watch_t *w, int64_t ms)
{
    struct timespec ts = cp_clock_after(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&w->lock);
    while (!atomic_load(&w->stop) && pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
        ;
    pthread_mutex_unlock(&w->lock);
}

static void *watch_main(void *arg)
{
    edge_watch_t *w = arg;
    int64_t backoff = 250;
    for (size_t attempt = 0; !atomic_load(&w->stop); attempt++) {
        const char *target = w->o.targets[attempt % w->o.n_targets];
        grpc_channel *ch = edge_ctlchan_open(target, w->creds, w->o.server_name);
        bool delivered = stream_run(w, ch, target);
        grpc_channel_destroy(ch);
        if (atomic_load(&w->stop))
            break;
        atomic_fetch_add(&w->m->reconnects, 1);
        if (delivered)
            backoff = 250; /* it worked for a while: start the back-off over */
        /* Full back-off with jitter in [backoff/2, backoff], so edges do not reconnect in step. */
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
            r = (uint32_t)cp_clock_mono_ms();
        int64_t wait = backoff / 2 + (int64_t)(r % (uint32_t)(backoff / 2 + 1));
        CP_LOG(CP_LOG_INFO, "watch", "reconnecting in %lld ms (next: %s)", (long long)wait,
               w->o.targets[(attempt + 1) % w->o.n_targets]);
        pause_ms(w, wait);
        backoff = backoff * 2 > w->o.backoff_max_ms ? w->o.backoff_max_ms : backoff * 2;
    }
    return NULL;
}

int edge_watch_new(const edge_watch_opts_t *opts, edge_sni_t *sni, edge_metrics_t *metrics,
                   edge_watch_t **out, cp_err_t *err)
{
    edge_watch_t *w = cp_xcalloc(1, sizeof *w);
    w->o = *opts;
    if (w->o.backoff_max_ms < 250)
        w->o.backoff_max_ms = 250;
    if (w->o.report_interval_ms < 100)
        w->o.report_interval_ms = 100;
    w->sni = sni;
    w->m = metrics;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    if (opts->token != NULL && opts->token[0] != '\0') {
        size_t len = strlen(opts->token) + 8;
        w->auth = cp_xmalloc(len);
        snprintf(w->auth, len, "Bearer %s", opts->token);
    }
    int rc = edge_ctlchan_creds(w->o.ca_file, w->o.cert_file, w->o.key_file, &w->creds, err);
    if (rc != 0) {
        edge_watch_free(w);
        w = NULL;
    }
    *out = w;
    return rc;
}

int edge_watch_start(edge_watch_t *w, cp_err_t *err)
{
    if (pthread_create(&w->tid, NULL, watch_main, w) != 0)
        return cp_err_set(err, CP_EIO, "cannot start the watch thread");
    pthread_setname_np(w->tid, "edge-watch");
    w->started = 1;
    return 0;
}

void edge_watch_stop(edge_watch_t *w)
{
    if (!w->started)
        return;
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stop, 1);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->tid, NULL);
    w->started = 0;
}

void edge_watch_free(edge_watch_t *w)
{
    if (w == NULL)
        return;
    if (w->creds != NULL)
        grpc_channel_credentials_release(w->creds);
    cp_secure_free_str(w->auth); /* a secret */
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w);
}
