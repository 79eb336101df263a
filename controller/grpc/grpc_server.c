/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_server.c - the gRPC transport on the gRPC C core: calls, unary replies and server streams */
#include "controller/grpc/grpc_server.h"
#include "controller/grpc/grpc_guard.h"
#include "controller/service/service.h"
#include "shared/mem.h"
#include "shared/status.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The named codes are gRPC's own numbers, so they pass to the core library as they are. */
#define CP__GRPC_SAME(name, num, http)                                                             \
    _Static_assert(CP_GRPC_##name == (int)GRPC_STATUS_##name, "gRPC status " #name);
CP_GRPC_MAP(CP__GRPC_SAME)
#undef CP__GRPC_SAME

/* Every completion carries a tag; the poller calls its callback with the completion's success bit.
 */
typedef struct tag {
    void (*cb)(struct tag *t, bool ok);
} tag_t;

/* Calls requested from the server at any time, so a burst of new calls never waits for a slot. */
#define PENDING_REQUESTS 32

struct ctl_grpc_server {
    grpc_server *server;
    ctl_grpc_guard_t *guard;           /* the listener: TLS and the HTTP/2 reset budget */
    grpc_server_credentials *insecure; /* what gRPC's side of a handed-off connection speaks */
    grpc_completion_queue *cq;
    pthread_t *threads;
    int n_threads;
    const ctl_grpc_method_t *methods;
    size_t n_methods;
    void *app;
    ctl_grpc_opts_t opts;
    atomic_bool stopping;
    tag_t shutdown_tag;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool shutdown_done;
};

/* One call from its arrival to its end. Unary calls use t_recv then t_done; streams hand over to a
 * ctl_grpc_stream_t after the request message arrived. */
typedef struct call {
    tag_t t_new, t_recv, t_done;
    ctl_grpc_server_t *srv;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_byte_buffer *recv_bb;
    grpc_byte_buffer *send_bb;
    grpc_slice status_details;
    int cancelled;
    const ctl_grpc_method_t *method;
} call_t;

/* A queued stream message. */
typedef struct qmsg {
    struct qmsg *next;
    grpc_byte_buffer *bb;
    size_t size;
} qmsg_t;

struct ctl_grpc_stream {
    tag_t t_send, t_close;
    call_t *c;
    pthread_mutex_t mu;
    int refs;            /* the handler's references plus one for the transport */
    qmsg_t *head, *tail; /* messages not yet handed to gRPC */
    size_t queued;       /* their bytes */
    size_t max_queue;
    bool sending; /* a batch is in flight: only one at a time */
    bool md_sent;
    bool finish_requested;
    bool status_sent;
    bool close_fired; /* RECV_CLOSE_ON_SERVER completed: the call is over on the wire */
    bool transport_released;
    cp_grpc_status_t finish_status;
    grpc_slice finish_details;
    grpc_byte_buffer *in_flight;
};

static __thread void *poller_ctx;

static void request_call(ctl_grpc_server_t *srv);
static void on_new(tag_t *t, bool ok);
static void on_recv(tag_t *t, bool ok);
static void on_done(tag_t *t, bool ok);

static void call_free(call_t *c)
{
    if (c->call != NULL)
        grpc_call_unref(c->call);
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    if (c->recv_bb != NULL)
        grpc_byte_buffer_destroy(c->recv_bb);
    if (c->send_bb != NULL)
        grpc_byte_buffer_destroy(c->send_bb);
    grpc_slice_unref(c->status_details);
    free(c);
}

static grpc_byte_buffer *pack_message(const ProtobufCMessage *m, size_t *size)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    grpc_slice s = grpc_slice_malloc(n);
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    if (size != NULL)
        *size = n;
    return bb;
}

static ProtobufCMessage *unpack_message(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb)
{
    grpc_byte_buffer_reader r;
    if (!grpc_byte_buffer_reader_init(&r, bb))
        return NULL;
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    ProtobufCMessage *m =
        protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    grpc_byte_buffer_reader_destroy(&r);
    return m;
}

/* Ends a call that never reaches a handler, or a unary call: one batch with the reply (if any) and
 * the status; on_done frees the call. */
static void reply(call_t *c, const ProtobufCMessage *resp, cp_grpc_status_t status, const char *msg)
{
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (resp != NULL) {
        c->send_bb = pack_message(resp, NULL);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->send_bb;
    }
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
    grpc_slice_unref(c->status_details);
    c->status_details = grpc_slice_from_copied_string(msg != NULL ? msg : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)status;
    ops[n++].data.send_status_from_server.status_details = &c->status_details;
    c->t_done.cb = on_done;
    if (grpc_call_start_batch(c->call, ops, n, &c->t_done, NULL) != GRPC_CALL_OK)
        call_free(c);
}

static void on_done(tag_t *t, bool ok)
{
    (void)ok;
    call_t *c = (call_t *)((char *)t - offsetof(call_t, t_done));
    call_free(c);
}

/* A NUL-terminated copy of exactly len bytes. Not strndup: the source is a slice with no NUL after
 * it, and string functions may look one byte past `len` for one (ASan's strndup does). */
static char *copy_bytes(const char *v, size_t len)
{
    char *p = cp_xmalloc(len + 1);
    memcpy(p, v, len);
    p[len] = '\0';
    return p;
}

/* Copies the bearer token out of the "authorization" metadata (values are not NUL-terminated). */
static char *bearer_token(const grpc_metadata_array *md)
{
    for (size_t i = 0; i < md->count; i++) {
        if (grpc_slice_str_cmp(md->metadata[i].key, "authorization") != 0)
            continue;
        const char *v = (const char *)GRPC_SLICE_START_PTR(md->metadata[i].value);
        size_t len = GRPC_SLICE_LENGTH(md->metadata[i].value);
        size_t n = 0;
        const char *b = ctl_service_bearer(v, len, &n);
        return b != NULL ? copy_bytes(b, n) : NULL; /* no scheme: no token, as over REST */
    }
    return NULL;
}

static int64_t deadline_ms(gpr_timespec d)
{
    gpr_timespec rt = gpr_convert_clock_type(d, GPR_CLOCK_REALTIME);
    if (gpr_time_cmp(rt, gpr_inf_future(GPR_CLOCK_REALTIME)) == 0 || rt.tv_sec > INT64_MAX / 2000)
        return INT64_MAX;
    return rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
}

static const ctl_grpc_method_t *find_method(ctl_grpc_server_t *srv, grpc_slice path)
{
    for (size_t i = 0; i < srv->n_methods; i++)
        if (grpc_slice_str_cmp(path, srv->methods[i].path) == 0)
            return &srv->methods[i];
    return NULL;
}

static void request_call(ctl_grpc_server_t *srv)
{
    call_t *c = cp_xcalloc(1, sizeof *c);
    c->srv = srv;
    c->t_new.cb = on_new;
    c->status_details = grpc_empty_slice();
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    if (grpc_server_request_call(srv->server, &c->call, &c->details, &c->md, srv->cq, srv->cq,
                                 &c->t_new) != GRPC_CALL_OK)
        call_free(c);
}

static void on_new(tag_t *t, bool ok)
{
    call_t *c = (call_t *)((char *)t - offsetof(call_t, t_new));
    if (!ok) { /* the server is shutting down */
        call_free(c);
        return;
    }
    if (!atomic_load(&c->srv->stopping))
        request_call(c->srv);
    c->method = find_method(c->srv, c->details.method);
    if (c->method == NULL) {
        reply(c, NULL, CP_GRPC_UNIMPLEMENTED, "unknown method");
        return;
    }
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_bb;
    c->t_recv.cb = on_recv;
    if (grpc_call_start_batch(c->call, &op, 1, &c->t_recv, NULL) != GRPC_CALL_OK)
        call_free(c);
}

static void start_stream(call_t *c, const ctl_grpc_call_info_t *ci, ProtobufCMessage *req);

static void on_recv(tag_t *t, bool ok)
{
    call_t *c = (call_t *)((char *)t - offsetof(call_t, t_recv));
    if (!ok || c->recv_bb == NULL) {
        reply(c, NULL, CP_GRPC_INVALID_ARGUMENT, "no request message");
        return;
    }
    ProtobufCMessage *req = unpack_message(c->method->input, c->recv_bb);
    if (req == NULL) {
        char msg[256];
        snprintf(msg, sizeof msg, "request does not parse as %s", c->method->input->name);
        reply(c, NULL, CP_GRPC_INVALID_ARGUMENT, msg);
        return;
    }
    char *grpc_peer = grpc_call_get_peer(c->call);
    char peer[128];
    ctl_grpc_guard_peer(c->srv->guard, grpc_peer, peer, sizeof peer);
    gpr_free(grpc_peer);
    char *token = bearer_token(&c->md);
    char *method = grpc_slice_to_c_string(c->details.method);
    ctl_grpc_call_info_t ci = {.method = method,
                               .token = token,
                               .peer = peer,
                               .deadline_ms = deadline_ms(c->details.deadline),
                               .thread_ctx = poller_ctx};
    gpr_timespec now = gpr_now(GPR_CLOCK_REALTIME);
    if (ci.deadline_ms != INT64_MAX &&
        now.tv_sec * 1000 + now.tv_nsec / 1000000 >= ci.deadline_ms) {
        reply(c, NULL, CP_GRPC_DEADLINE_EXCEEDED, "deadline exceeded before the call started");
    } else if (c->method->unary != NULL) {
        cp_err_t err = {0};
        ProtobufCMessage *resp = NULL;
        int rc = c->method->unary(c->srv->app, &ci, req, &resp, &err);
        if (rc == 0 && resp != NULL)
            reply(c, resp, CP_GRPC_OK, "");
        else
            reply(c, NULL, rc == 0 ? CP_GRPC_INTERNAL : cp_err_grpc_status(rc),
                  rc == 0 ? "no response" : (err.msg[0] ? err.msg : cp_strerror(rc)));
        if (resp != NULL)
            protobuf_c_message_free_unpacked(resp, NULL);
    } else {
        start_stream(c, &ci, req);
    }
    protobuf_c_message_free_unpacked(req, NULL);
    gpr_free(method);
    free(token);
}

/* ---- server streams ---- */

static void stream_free(ctl_grpc_stream_t *s)
{
    for (qmsg_t *m = s->head, *next; m != NULL; m = next) {
        next = m->next;
        grpc_byte_buffer_destroy(m->bb);
        free(m);
    }
    if (s->in_flight != NULL)
        grpc_byte_buffer_destroy(s->in_flight);
    grpc_slice_unref(s->finish_details);
    pthread_mutex_destroy(&s->mu);
    call_free(s->c);
    free(s);
}

/* Drops the transport's reference once nothing more can happen on the wire. Called with mu held;
 * returns true when the caller must free the stream (after unlocking). */
static bool maybe_release_transport(ctl_grpc_stream_t *s)
{
    if (s->transport_released || !s->close_fired || s->sending)
        return false;
    s->transport_released = true;
    return --s->refs == 0;
}

/* Starts the next batch: the oldest queued message, or the status once finishing and the queue is
 * empty. Called with mu held. */
static void pump(ctl_grpc_stream_t *s)
{
    if (s->sending || s->status_sent || s->close_fired)
        return;
    grpc_op ops[3];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    if (!s->md_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        s->md_sent = true;
    }
    if (s->head != NULL) {
        qmsg_t *m = s->head;
        s->head = m->next;
        if (s->head == NULL)
            s->tail = NULL;
        s->queued -= m->size;
        s->in_flight = m->bb;
        free(m);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = s->in_flight;
    } else if (s->finish_requested) {
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = (grpc_status_code)s->finish_status;
        ops[n++].data.send_status_from_server.status_details = &s->finish_details;
        s->status_sent = true;
    } else if (n == 0) {
        return;
    }
    s->sending = true;
    if (grpc_call_start_batch(s->c->call, ops, n, &s->t_send, NULL) != GRPC_CALL_OK)
        s->sending = false;
}

static void on_send(tag_t *t, bool ok)
{
    ctl_grpc_stream_t *s = (ctl_grpc_stream_t *)((char *)t - offsetof(ctl_grpc_stream_t, t_send));
    pthread_mutex_lock(&s->mu);
    s->sending = false;
    if (s->in_flight != NULL) {
        grpc_byte_buffer_destroy(s->in_flight);
        s->in_flight = NULL;
    }
    if (!ok) /* the call is gone: nothing more will be sent */
        s->status_sent = true;
    pump(s);
    bool last = maybe_release_transport(s);
    pthread_mutex_unlock(&s->mu);
    if (last)
        stream_free(s);
}

static void on_close(tag_t *t, bool ok)
{
    (void)ok;
    ctl_grpc_stream_t *s = (ctl_grpc_stream_t *)((char *)t - offsetof(ctl_grpc_stream_t, t_close));
    pthread_mutex_lock(&s->mu);
    s->close_fired = true;
    bool last = maybe_release_transport(s);
    pthread_mutex_unlock(&s->mu);
    if (last)
        stream_free(s);
}

static void start_stream(call_t *c, const ctl_grpc_call_info_t *ci, ProtobufCMessage *req)
{
    ctl_grpc_stream_t *s = cp_xcalloc(1, sizeof *s);
    s->c = c;
    s->t_send.cb = on_send;
    s->t_close.cb = on_close;
    s->refs = 2; /* the handler's and the transport's */
    s->max_queue = c->srv->opts.max_stream_queue;
    s->finish_details = grpc_empty_slice();
    pthread_mutex_init(&s->mu, NULL);
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (grpc_call_start_batch(c->call, &op, 1, &s->t_close, NULL) != GRPC_CALL_OK) {
        s->close_fired = true; /* never fires: behave as if it had */
    }
    cp_err_t err = {0};
    int rc = c->method->stream(c->srv->app, ci, req, s, &err);
    if (rc != 0) {
        ctl_grpc_stream_finish(s, cp_err_grpc_status(rc), err.msg[0] ? err.msg : cp_strerror(rc));
        ctl_grpc_stream_unref(s);
    }
}

int ctl_grpc_stream_send(ctl_grpc_stream_t *s, const ProtobufCMessage *msg, cp_err_t *err)
{
    size_t size;
    grpc_byte_buffer *bb = pack_message(msg, &size);
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->close_fired || s->finish_requested) {
        rc = cp_err_set(err, CP_ECANCELED, "stream closed");
    } else if (s->queued + size > s->max_queue) {
        /* Drop what is queued so the status goes out next: the reader is too slow to catch up. */
        for (qmsg_t *m = s->head, *next; m != NULL; m = next) {
            next = m->next;
            grpc_byte_buffer_destroy(m->bb);
            free(m);
        }
        s->head = s->tail = NULL;
        s->queued = 0;
        s->finish_requested = true;
        s->finish_status = CP_GRPC_RESOURCE_EXHAUSTED;
        grpc_slice_unref(s->finish_details);
        s->finish_details = grpc_slice_from_copied_string("watcher too slow: send queue full");
        pump(s);
        rc = cp_err_set(err, CP_ETOOBIG, "stream queue over %zu bytes", s->max_queue);
    } else {
        qmsg_t *m = cp_xcalloc(1, sizeof *m);
        m->bb = bb;
        m->size = size;
        bb = NULL;
        if (s->tail != NULL)
            s->tail->next = m;
        else
            s->head = m;
        s->tail = m;
        s->queued += size;
        pump(s);
    }
    pthread_mutex_unlock(&s->mu);
    if (bb != NULL)
        grpc_byte_buffer_destroy(bb);
    return rc;
}

void ctl_grpc_stream_finish(ctl_grpc_stream_t *s, cp_grpc_status_t grpc_status, const char *message)
{
    pthread_mutex_lock(&s->mu);
    if (!s->finish_requested) {
        s->finish_requested = true;
        s->finish_status = grpc_status;
        grpc_slice_unref(s->finish_details);
        s->finish_details = grpc_slice_from_copied_string(message != NULL ? message : "");
        pump(s);
    }
    pthread_mutex_unlock(&s->mu);
}

int ctl_grpc_stream_closed(ctl_grpc_stream_t *s)
{
    pthread_mutex_lock(&s->mu);
    int closed = s->close_fired || s->finish_requested;
    pthread_mutex_unlock(&s->mu);
    return closed;
}

int ctl_grpc_stream_fill(ctl_grpc_stream_t *s)
{
    pthread_mutex_lock(&s->mu);
    int fill = s->max_queue > 0 ? (int)(s->queued * 1000 / s->max_queue) : 0;
    pthread_mutex_unlock(&s->mu);
    return fill;
}

size_t ctl_grpc_stream_queued(ctl_grpc_stream_t *s)
{
    pthread_mutex_lock(&s->mu);
    size_t q = s->queued;
    pthread_mutex_unlock(&s->mu);
    return q;
}

void ctl_grpc_stream_ref(ctl_grpc_stream_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->refs++;
    pthread_mutex_unlock(&s->mu);
}

void ctl_grpc_stream_unref(ctl_grpc_stream_t *s)
{
    pthread_mutex_lock(&s->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last)
        stream_free(s);
}

/* ---- server lifecycle ---- */

static void on_shutdown(tag_t *t, bool ok)
{
    (void)ok;
    ctl_grpc_server_t *srv =
        (ctl_grpc_server_t *)((char *)t - offsetof(ctl_grpc_server_t, shutdown_tag));
    pthread_mutex_lock(&srv->mu);
    srv->shutdown_done = true;
    pthread_cond_broadcast(&srv->cv);
    pthread_mutex_unlock(&srv->mu);
}

static void *poller(void *arg)
{
    ctl_grpc_server_t *srv = arg;
    poller_ctx = srv->opts.thread_init != NULL ? srv->opts.thread_init(srv->app) : NULL;
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type == GRPC_OP_COMPLETE)
            ((tag_t *)ev.tag)->cb(ev.tag, ev.success != 0);
    }
    if (srv->opts.thread_fini != NULL)
        srv->opts.thread_fini(srv->app, poller_ctx);
    return NULL;
}

static grpc_server *create_server(const ctl_grpc_opts_t *o)
{
    grpc_arg args[6];
    memset(args, 0, sizeof args);
    const struct {
        const char *key;
        int value;
    } ints[] = {
        {GRPC_ARG_ALLOW_REUSEPORT, 0}, /* a second server on the same port must fail to bind */
        {GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int)o->max_message},
        {GRPC_ARG_KEEPALIVE_TIME_MS, 30000},
        {GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000},
        {GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1},
        {GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000},
    };
    for (size_t i = 0; i < 6; i++) {
        args[i].type = GRPC_ARG_INTEGER;
        args[i].key = (char *)ints[i].key;
        args[i].value.integer = ints[i].value;
    }
    grpc_channel_args ca = {.num_args = 6, .args = args};
    return grpc_server_create(&ca, NULL);
}

/* The guard's hand-off: gRPC takes the plaintext end of a connection (and closes it in the end). */
static void hand_off(void *user, int fd)
{
    ctl_grpc_server_t *srv = user;
    grpc_server_add_channel_from_fd(srv->server, fd, srv->insecure);
}

int ctl_grpc_server_start(const ctl_grpc_opts_t *opts, const ctl_grpc_method_t *methods, size_t n,
                          void *app, ctl_grpc_server_t **out, int *port, cp_err_t *err)
{
    if (opts->listen == NULL || opts->threads < 1)
        return cp_err_set(err, CP_EINVAL,
                          "gRPC: a listen address and at least one thread are needed");
    ctl_grpc_server_t *srv = cp_xcalloc(1, sizeof *srv);
    srv->opts = *opts;
    if (srv->opts.max_message == 0)
        srv->opts.max_message = 1024 * 1024;
    if (srv->opts.max_stream_queue == 0)
        srv->opts.max_stream_queue = 64 * 1024 * 1024;
    srv->methods = methods;
    srv->n_methods = n;
    srv->app = app;
    srv->shutdown_tag.cb = on_shutdown;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->cv, NULL);
    srv->server = create_server(&srv->opts);
    srv->insecure = grpc_insecure_server_credentials_create();
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    grpc_server_start(srv->server);
    for (int i = 0; i < PENDING_REQUESTS; i++)
        request_call(srv);
    srv->n_threads = opts->threads;
    srv->threads = cp_xcalloc((size_t)opts->threads, sizeof *srv->threads);
    for (int i = 0; i < opts->threads; i++) {
        pthread_create(&srv->threads[i], NULL, poller, srv);
        pthread_setname_np(srv->threads[i], "grpc-cq");
    }
    /* gRPC listens on no port of its own: the guard accepts, and hands over each connection. */
    ctl_grpc_guard_opts_t go = {.listen = opts->listen,
                                .tls_cert_pem = opts->tls_cert_pem,
                                .tls_key_pem = opts->tls_key_pem,
                                .client_ca_pem = opts->client_ca_pem,
                                .limits = opts->reset_limits,
                                .max_connections = opts->max_connections,
                                .hand_off = hand_off,
                                .user = srv};
    int rc = ctl_grpc_guard_start(&go, &srv->guard, port, err);
    if (rc != 0) {
        ctl_grpc_server_stop(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

void ctl_grpc_server_stop(ctl_grpc_server_t *srv)
{
    if (srv == NULL)
        return;
    atomic_store(&srv->stopping, true);
    ctl_grpc_guard_stop(srv->guard); /* no more connections reach gRPC */
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &srv->shutdown_tag);
    grpc_server_cancel_all_calls(srv->server);
    pthread_mutex_lock(&srv->mu);
    while (!srv->shutdown_done)
        pthread_cond_wait(&srv->cv, &srv->mu);
    pthread_mutex_unlock(&srv->mu);
    grpc_server_destroy(srv->server);
    grpc_server_credentials_release(srv->insecure);
    grpc_completion_queue_shutdown(srv->cq);
    for (int i = 0; i < srv->n_threads; i++)
        pthread_join(srv->threads[i], NULL);
    grpc_completion_queue_destroy(srv->cq);
    pthread_cond_destroy(&srv->cv);
    pthread_mutex_destroy(&srv->mu);
    free(srv->threads);
    free(srv);
}
