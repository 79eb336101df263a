/* SPDX-License-Identifier: Apache-2.0 */
/* grpc_server.h - the gRPC transport: gRPC C core server that decodes, calls the service core,
 * encodes */
#ifndef CTL_GRPC_SERVER_H
#define CTL_GRPC_SERVER_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/grpc/grpc_guard_h2.h"
#include "shared/err.h"
#include "shared/status.h"

/* Threads: `threads` completion-queue threads poll one completion queue; every handler runs on one
 * of them. Stream sends may come from any thread. */

typedef struct ctl_grpc_server ctl_grpc_server_t;
typedef struct ctl_grpc_stream ctl_grpc_stream_t;

/** What a handler learns about its call. Strings are valid for the duration of the handler call. */
typedef struct ctl_grpc_call_info {
    const char *method;  /* "/certplane.v1.Certificates/GetCertificate" */
    const char *token;   /* bearer token of the "authorization" metadata, or NULL */
    const char *peer;    /* "ipv4:127.0.0.1:5555" */
    int64_t deadline_ms; /* absolute, CLOCK_REALTIME milliseconds; INT64_MAX when none */
    void *thread_ctx;    /* what opts.thread_init returned for this completion-queue thread */
} ctl_grpc_call_info_t;

/** A unary handler: fills *resp (freed by the transport with protobuf_c_message_free_unpacked(resp,
 *  NULL), so every part must be malloc'd) and returns 0, or returns a CP_E* code with err filled
 * (the transport answers with cp_err_grpc_status(code) and err->msg). */
typedef int (*ctl_grpc_unary_fn)(void *app, const ctl_grpc_call_info_t *ci,
                                 const ProtobufCMessage *req, ProtobufCMessage **resp,
                                 cp_err_t *err);

/** A server-streaming handler: returns 0 after taking the stream (it then owns one reference and
 * must end with ctl_grpc_stream_finish and ctl_grpc_stream_unref), or a CP_E* code to end the call
 * at once. */
typedef int (*ctl_grpc_stream_fn)(void *app, const ctl_grpc_call_info_t *ci,
                                  const ProtobufCMessage *req, ctl_grpc_stream_t *stream,
                                  cp_err_t *err);

typedef struct ctl_grpc_method {
    const char *path; /* full method path */
    const ProtobufCMessageDescriptor *input;
    ctl_grpc_unary_fn unary; /* exactly one of unary and stream */
    ctl_grpc_stream_fn stream;
} ctl_grpc_method_t;

typedef struct ctl_grpc_opts {
    const char *listen;       /* "127.0.0.1:8443", "[::]:8443"; port 0 picks a free one */
    int threads;              /* completion-queue threads, >= 1 */
    const char *tls_cert_pem; /* NULL: plaintext */
    const char *tls_key_pem;
    const char *client_ca_pem; /* non-NULL: require and verify client certificates */
    size_t max_message;        /* largest request accepted, bytes (default 1 MiB) */
    size_t max_stream_queue; /* bytes queued to one stream before it is cut off (default 64 MiB) */
    ctl_h2_limits_t
        reset_limits;    /* one connection's budget (zeros: 100 resets in 10 s, 1000 open) */
    int max_connections; /* connections open at once; beyond, a new one is closed at accept (0: no
                            cap) */
    void *(*thread_init)(void *app); /* per completion-queue thread context, may be NULL */
    void (*thread_fini)(void *app, void *ctx);
} ctl_grpc_opts_t;

/** Creates, binds and starts the server. *port receives the bound port. Errors: CP_EINVAL (bad
 *  options, TLS material), CP_EIO (cannot bind). THREAD SAFETY: any one thread; grpc_init must have
 *  been called. */
int ctl_grpc_server_start(const ctl_grpc_opts_t *opts, const ctl_grpc_method_t *methods, size_t n,
                          void *app, ctl_grpc_server_t **out, int *port, cp_err_t *err);

/** Stops accepting, cancels every call (streams see their close), joins the threads and frees.
 *  NULL is a no-op. THREAD SAFETY: one thread, once. */
void ctl_grpc_server_stop(ctl_grpc_server_t *srv);

/** Packs `msg` and queues it on the stream. Returns CP_ECANCELED once the client has gone or the
 * stream was finished, CP_ETOOBIG when the queue would pass max_stream_queue (the stream is then
 * finished with RESOURCE_EXHAUSTED "watcher too slow": a slow reader never grows memory without
 * bound). THREAD SAFETY: any thread. */
int ctl_grpc_stream_send(ctl_grpc_stream_t *s, const ProtobufCMessage *msg, cp_err_t *err);

/** Ends the stream with a status after the queued messages are sent. Later calls are no-ops.
 *  THREAD SAFETY: any thread. */
void ctl_grpc_stream_finish(ctl_grpc_stream_t *s, cp_grpc_status_t grpc_status,
                            const char *message);

/** 1 once the client cancelled, disconnected, passed its deadline, or the stream was finished.
 *  THREAD SAFETY: any thread. */
int ctl_grpc_stream_closed(ctl_grpc_stream_t *s);

/** How full the send queue is, in per mille of its bound (max_stream_queue), past which
 * ctl_grpc_stream_send() ends the stream as too slow. THREAD SAFETY: any thread. */
int ctl_grpc_stream_fill(ctl_grpc_stream_t *s);

/** Bytes queued and not yet sent. THREAD SAFETY: any thread. */
size_t ctl_grpc_stream_queued(ctl_grpc_stream_t *s);

/** Adds / drops a reference. The stream's memory lives until the last reference and the transport's
 *  own are gone. THREAD SAFETY: any thread. */
void ctl_grpc_stream_ref(ctl_grpc_stream_t *s);
void ctl_grpc_stream_unref(ctl_grpc_stream_t *s);

#endif
