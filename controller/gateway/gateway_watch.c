/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_watch.c - Watch over HTTP: a ctl_watch_sink_t that queues NDJSON lines for the gateway
 * loop */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "controller/gateway/gateway_pool.h"
#include "controller/gateway/gateway_util.h"
#include "controller/gateway/gateway_watch.h"
#include "controller/metrics/metrics.h"
#include "shared/json.h"
#include "shared/mem.h"
#include "shared/status.h"

/*
 * A stream is shared by the service (any thread: send, finish, closed, release) and the gateway
 * loop (the h2o generator). Two references keep it: the service's until release(), the loop's until
 * h2o is done with the generator; a third is held while it waits on the gateway's dirty list. `mu`
 * guards the queue, the flags and `gw`; fields marked "loop" are only touched on the loop thread.
 * Lock order: a stream's mu, then the gateway's dirty_mu.
 */

typedef struct line {
    struct line *next;
    size_t len;
    char data[];
} line_t;

struct ctl_gateway__watch {
    pthread_mutex_t mu;
    int refs;
    ctl_gateway_t *gw; /* NULL once the stream left the gateway: no wake-ups any more */
    line_t *head, *tail;
    size_t queued, max_queue;
    bool closed;   /* the service must stop: sends fail with CP_ECANCELED */
    bool finished; /* end the response after the queued lines */
    bool dirty;    /* on the gateway's dirty list */
    bool started;  /* the response has begun: the loop drains the queue (before, nothing does) */
    ctl_gateway__watch_t *dirty_next;
    ctl_watch_sink_t sink;
    /* loop */
    h2o_generator_t gen;
    h2o_req_t *req; /* NULL once h2o is done with the generator */
    h2o_linklist_t link;
    bool sending, stopping;
    bool begun;               /* the response started (start_stream) */
    ctl_gateway_job_t *start; /* the service's start of this Watch, while it runs */
    char *inflight;
};

static void unref(ctl_gateway__watch_t *w)
{
    pthread_mutex_lock(&w->mu);
    int left = --w->refs;
    pthread_mutex_unlock(&w->mu);
    if (left > 0)
        return;
    for (line_t *l = w->head, *n; l != NULL; l = n) {
        n = l->next;
        free(l);
    }
    free(w->inflight);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

static void drop_queue(ctl_gateway__watch_t *w)
{
    for (line_t *l = w->head, *n; l != NULL; l = n) {
        n = l->next;
        free(l);
    }
    w->head = w->tail = NULL;
    w->queued = 0;
}

static void enqueue(ctl_gateway__watch_t *w, const char *text, size_t len)
{
    line_t *l = cp_xmalloc(sizeof(*l) + len + 1);
    memcpy(l->data, text, len);
    l->data[len] = '\n';
    l->len = len + 1;
    l->next = NULL;
    if (w->tail != NULL)
        w->tail->next = l;
    else
        w->head = l;
    w->tail = l;
    w->queued += l->len;
}

static void enqueue_error(ctl_gateway__watch_t *w, int code, const char *message)
{
    json_t *j =
        json_pack("{s:{s:i,s:s?,s:[]}}", "error", "code", code, "message", message, "details");
    if (j == NULL)
        j = json_pack("{s:{s:i,s:[]}}", "error", "code", code, "details");
    char *text = cp_xcheck(json_dumps(j, JSON_COMPACT), "json_dumps");
    json_decref(j);
    enqueue(w, text, strlen(text));
    free(text);
}

/* Puts w on the gateway's dirty list and wakes the loop. Called with w->mu held. */
static void wake(ctl_gateway__watch_t *w)
{
    ctl_gateway_t *g = w->gw;
    if (g == NULL || w->dirty)
        return;
    w->dirty = true;
    w->refs++;
    pthread_mutex_lock(&g->dirty_mu);
    w->dirty_next = g->dirty;
    g->dirty = w;
    bool post = !g->wake_pending;
    g->wake_pending = true;
    pthread_mutex_unlock(&g->dirty_mu);
    if (post)
        h2o_multithread_send_message(&g->rx, &g->wake_msg);
}

/* ---- the sink (any thread) ---- */

static int sink_send(void *u, const Certplane__V1__CertificateEvent *ev, cp_err_t *err)
{
    ctl_gateway__watch_t *w = u;
    char *text = NULL;
    size_t len = 0;
    int rc = cp_json_encode(&ev->base, 0, &text, &len, err);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&w->mu);
    if (w->closed) {
        rc = cp_err_set(err, CP_ECANCELED, "watch: the client is gone");
    } else if (w->queued + len + 1 > w->max_queue) {
        /* A slow reader is cut off rather than allowed to grow memory: what it has not read yet is
         * dropped and it gets the reason as the last line. */
        drop_queue(w);
        enqueue_error(w, CP_GRPC_RESOURCE_EXHAUSTED, "watcher too slow");
        w->finished = w->closed = true;
        wake(w);
        rc = cp_err_set(err, CP_ETOOBIG, "watch: the client reads too slowly");
    } else {
        enqueue(w, text, len);
        wake(w);
    }
    pthread_mutex_unlock(&w->mu);
    free(text);
    return rc;
}

static void sink_finish(void *u, int grpc_status, const char *message)
{
    ctl_gateway__watch_t *w = u;
    pthread_mutex_lock(&w->mu);
    if (!w->finished && w->gw != NULL) {
        if (grpc_status != 0)
            enqueue_error(w, grpc_status, message);
        w->finished = w->closed = true;
        wake(w);
    }
    pthread_mutex_unlock(&w->mu);
}

static bool sink_closed(void *u)
{
    ctl_gateway__watch_t *w = u;
    pthread_mutex_lock(&w->mu);
    bool c = w->closed;
    pthread_mutex_unlock(&w->mu);
    return c;
}

static int sink_fill(void *u)
{
    ctl_gateway__watch_t *w = u;
    pthread_mutex_lock(&w->mu);
    /* Until the response starts (the loop starts it at the first queued line) nothing drains the
     * queue: waiting for room would be in vain, so the fill is unknown (0) until then. */
    int fill = w->started && w->max_queue > 0 ? (int)(w->queued * 1000 / w->max_queue) : 0;
    pthread_mutex_unlock(&w->mu);
    return fill;
}

static void sink_release(void *u)
{
    unref(u);
}

/* ---- the loop side ---- */

static void start_stream(ctl_gateway__watch_t *w, h2o_req_t *req);

/* Takes w out of the gateway: the service sees it closed and nothing wakes the loop for it any
 * more. */
static void leave_gateway(ctl_gateway__watch_t *w)
{
    if (!h2o_linklist_is_linked(&w->link))
        return;
    ctl_gateway_t *g = w->gw;
    h2o_linklist_unlink(&w->link);
    atomic_fetch_sub(&g->watchers, 1);
    ctl_metrics_watch_streams("http", -1);
    pthread_mutex_lock(&w->mu);
    w->gw = NULL;
    w->closed = true;
    drop_queue(w);
    pthread_mutex_unlock(&w->mu);
}

/* Ends the response (nothing is in flight) and drops the loop's reference. */
static void end_stream(ctl_gateway__watch_t *w, h2o_send_state_t state)
{
    h2o_req_t *req = w->req;
    w->req = NULL;
    leave_gateway(w);
    h2o_send(req, NULL, 0, state);
    unref(w);
}

static void flush(ctl_gateway__watch_t *w)
{
    if (w->req == NULL || w->sending)
        return;
    if (w->stopping) {
        end_stream(w, H2O_SEND_STATE_ERROR);
        return;
    }
    pthread_mutex_lock(&w->mu);
    line_t *lines = w->head;
    size_t total = w->queued;
    bool fin = w->finished;
    w->head = w->tail = NULL;
    w->queued = 0;
    pthread_mutex_unlock(&w->mu);
    if (lines == NULL) {
        if (fin)
            end_stream(w, H2O_SEND_STATE_FINAL);
        return;
    }
    /* One malloc'd buffer per write, freed when h2o calls proceed: the request's pool would grow
     * for as long as the stream lives. */
    char *buf = cp_xmalloc(total), *p = buf;
    for (line_t *l = lines, *n; l != NULL; l = n) {
        n = l->next;
        memcpy(p, l->data, l->len);
        p += l->len;
        free(l);
    }
    w->inflight = buf;
    w->sending = true;
    h2o_iovec_t iov = h2o_iovec_init(buf, total);
    h2o_send(w->req, &iov, 1, H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    ctl_gateway__watch_t *w = H2O_STRUCT_FROM_MEMBER(ctl_gateway__watch_t, gen, gen);
    (void)req;
    free(w->inflight);
    w->inflight = NULL;
    w->sending = false;
    flush(w);
}

/* h2o disposes the request while the response is in progress: the client has gone. */
static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    ctl_gateway__watch_t *w = H2O_STRUCT_FROM_MEMBER(ctl_gateway__watch_t, gen, gen);
    (void)req;
    free(w->inflight);
    w->inflight = NULL;
    w->req = NULL;
    leave_gateway(w);
    unref(w);
}

void ctl_gateway__watch_on_wake(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages)
{
    ctl_gateway_t *g = H2O_STRUCT_FROM_MEMBER(ctl_gateway_t, rx, rx);
    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next); /* only g->wake_msg is ever sent */
    pthread_mutex_lock(&g->dirty_mu);
    ctl_gateway__watch_t *list = g->dirty;
    g->dirty = NULL;
    g->wake_pending = false;
    pthread_mutex_unlock(&g->dirty_mu);
    while (list != NULL) {
        ctl_gateway__watch_t *w = list;
        list = w->dirty_next;
        pthread_mutex_lock(&w->mu);
        w->dirty = false;
        pthread_mutex_unlock(&w->mu);
        /* The first lines of a snapshot start the response, so the client reads the snapshot
         * while the service writes it (a snapshot is paced by the queue's fill) instead of the
         * whole of it waiting in the queue. */
        if (!w->begun && w->start != NULL && w->start->req != NULL && !w->stopping)
            start_stream(w, w->start->req);
        flush(w);
        unref(w);
    }
}

/* Whether the peer closed its side: a read would return EOF or an error. */
static bool peer_gone(h2o_req_t *req)
{
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    char c;
    if (sock == NULL)
        return false;
    ssize_t n = recv(h2o_socket_get_fd(sock), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void ctl_gateway__watch_on_check(h2o_timeout_entry_t *entry)
{
    ctl_gateway_t *g = H2O_STRUCT_FROM_MEMBER(ctl_gateway_t, check_entry, entry);
    /* h2o does not read from an HTTP/1 connection while it answers, so a client that leaves an idle
     * stream is only noticed by looking. */
    h2o_linklist_t *node = g->watches.next;
    while (node != &g->watches) {
        ctl_gateway__watch_t *w = H2O_STRUCT_FROM_MEMBER(ctl_gateway__watch_t, link, node);
        node = node->next;
        if (!w->sending && w->req != NULL && peer_gone(w->req))
            end_stream(w, H2O_SEND_STATE_ERROR);
    }
    h2o_timeout_link(g->loop, &g->check_timeout, &g->check_entry);
}

void ctl_gateway__watch_stop_all(ctl_gateway_t *g)
{
    while (!h2o_linklist_is_empty(&g->watches)) {
        ctl_gateway__watch_t *w =
            H2O_STRUCT_FROM_MEMBER(ctl_gateway__watch_t, link, g->watches.next);
        if (w->sending) {
            w->stopping = true; /* ended by on_proceed or on_stop */
            leave_gateway(w);
        } else {
            end_stream(w, H2O_SEND_STATE_ERROR);
        }
    }
}

static ctl_gateway__watch_t *watch_new(ctl_gateway_t *g)
{
    ctl_gateway__watch_t *w = cp_xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    w->refs = 2; /* the service's and the loop's */
    w->gw = g;
    w->max_queue = g->opts.max_watch_queue;
    /* Until the service accepted the sink: no request (flush does nothing) and "sending" (the
     * checks and the stop leave it to the start job). */
    w->sending = true;
    w->gen.proceed = on_proceed;
    w->gen.stop = on_stop;
    w->sink = (ctl_watch_sink_t){.u = w,
                                 .send = sink_send,
                                 .finish = sink_finish,
                                 .closed = sink_closed,
                                 .release = sink_release,
                                 .fill = sink_fill};
    return w;
}

/* The start of one Watch: ctl_service_watch replays from Redis, so it runs on a service thread. */
typedef struct watch_job {
    ctl_gateway_job_t super;
    ctl_gateway__watch_t *w;
    ctl_service_t *svc;
    ctl_caller_t caller;
    ProtobufCMessage *in;
    int rc;
    cp_err_t err;
} watch_job_t;

static void watch_run(ctl_gateway_job_t *job, ctl_thread_t *t)
{
    watch_job_t *j = (watch_job_t *)job;
    j->rc = t == NULL
                ? cp_err_set(&j->err, CP_EUNAVAIL, "storage unavailable")
                : ctl_service_watch(j->svc, t, &j->caller, (Certplane__V1__WatchRequest *)j->in,
                                    &j->w->sink, &j->err);
}

/* Sends the 200 and the headers; the lines follow as the sink queues them. */
static void start_stream(ctl_gateway__watch_t *w, h2o_req_t *req)
{
    w->begun = true;
    w->req = req;
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/x-ndjson"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_start_response(req, &w->gen);
    pthread_mutex_lock(&w->mu);
    w->started = true;
    pthread_mutex_unlock(&w->mu);
    /* Headers go out now, so a client sees 200 before the first event; w->sending is still true,
     * on_proceed sends what the service queued meanwhile. */
    h2o_send(req, NULL, 0, H2O_SEND_STATE_IN_PROGRESS);
}

static void watch_done(ctl_gateway_job_t *job, h2o_req_t *req)
{
    watch_job_t *j = (watch_job_t *)job;
    ctl_gateway__watch_t *w = j->w;
    if (job->cancelled)
        j->rc = cp_err_set(&j->err, CP_EUNAVAIL, "gateway shutting down");
    protobuf_c_message_free_unpacked(j->in, NULL);
    ctl_metrics_request("http", "Watch", cp_err_grpc_status(j->rc));
    w->start = NULL;
    if (w->begun) {
        /* The response began with the snapshot's first lines; a failure after them ends it with
         * an error line (the status is sent). The service holds no sink after a failure. */
        if (j->rc != 0) {
            pthread_mutex_lock(&w->mu);
            if (!w->finished && w->gw != NULL)
                enqueue_error(w, cp_err_grpc_status(j->rc),
                              j->err.msg[0] ? j->err.msg : cp_strerror(j->rc));
            w->finished = w->closed = true;
            pthread_mutex_unlock(&w->mu);
            flush(w);
            unref(w);
        }
    } else if (j->rc == 0 && req != NULL && !w->stopping) {
        start_stream(w, req);
    } else {
        /* The client or the gateway is gone, or the service refused: the stream never starts. */
        w->sending = false;
        leave_gateway(w); /* the service, when it holds the sink, sees it closed and releases it */
        if (j->rc != 0)
            unref(w); /* the service never touched the sink: its reference too */
        unref(w);
        if (req != NULL && j->rc == 0)
            j->rc = cp_err_set(&j->err, CP_EUNAVAIL, "gateway shutting down");
        if (req != NULL)
            ctl_gateway__send_error(req, 0, cp_err_grpc_status(j->rc),
                                    j->err.msg[0] ? j->err.msg : cp_strerror(j->rc));
    }
    unref(w); /* the start's own reference (ctl_gateway__watch) */
    free(j);
}

void ctl_gateway__watch(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route)
{
    ProtobufCMessage *in = NULL;
    ctl_caller_t caller;
    cp_err_t err = {0};
    int http_status = 0;
    int rc = ctl_gateway__caller(g->svc, req, &caller, &err);
    if (rc == 0)
        rc = ctl_gateway__decode(req, g->opts.max_body, route,
                                 &certplane__v1__watch_request__descriptor, NULL, 0, &in,
                                 &http_status, &err);
    else
        http_status = 0;
    if (rc != 0) {
        ctl_metrics_request("http", "Watch", cp_err_grpc_status(rc));
        ctl_gateway__send_error(req, http_status, cp_err_grpc_status(rc),
                                err.msg[0] ? err.msg : cp_strerror(rc));
        return;
    }
    watch_job_t *j = cp_xcalloc(1, sizeof(*j));
    j->super.run = watch_run;
    j->super.done = watch_done;
    j->svc = g->svc;
    j->caller = caller;
    j->in = in;
    j->w = watch_new(g);
    j->w->start = &j->super;
    /* The start holds w too: once the response began early, the client leaving and the service
     * releasing the sink could otherwise free w before watch_done runs. */
    pthread_mutex_lock(&j->w->mu);
    j->w->refs++;
    pthread_mutex_unlock(&j->w->mu);
    /* Linked before the service may send (it can, from inside its call) so wake-ups find it. */
    h2o_linklist_insert(&g->watches, &j->w->link);
    atomic_fetch_add(&g->watchers, 1);
    ctl_metrics_watch_streams("http", 1);
    ctl_gateway_pool_submit(g->pool, &j->super, req, CTL_GW_LANE_ANY);
}
