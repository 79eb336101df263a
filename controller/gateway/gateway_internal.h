/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_internal.h - what the gateway's files share: the server object and the request helpers */
#ifndef CTL_GATEWAY_INTERNAL_H
#define CTL_GATEWAY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <h2o.h>

#include "controller/gateway/gateway.h"
#include "controller/service/service.h"

/* The request body limit; opts.max_body may lower it. */
#define CTL_GATEWAY__MAX_BODY (1024 * 1024)

typedef struct ctl_gateway__watch ctl_gateway__watch_t;

/* Slots of the loop's cache of encoded GetCertificate answers (direct-mapped by name). */
#define CTL_GATEWAY__JSON_SLOTS 1024

/* One encoded key-less certificate: its protobuf encoding (the key: equal bytes encode to the same
 * JSON, whatever revisions mean after a Redis reset) and its JSON text. */
typedef struct ctl_gateway__json_slot {
    uint8_t *packed; /* NULL: empty */
    size_t packed_len;
    char *text;
    size_t len;
} ctl_gateway__json_slot_t;

struct ctl_gateway {
    ctl_service_t *svc;
    ctl_thread_t *t; /* loop thread only; made there, lazily again after a failure */
    ctl_gateway_opts_t opts;
    pthread_t thread;
    atomic_int stop;
    atomic_int watchers;
    int fd;
    int port;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
    /* Watch plumbing: sinks on other threads put streams on `dirty` and wake the loop with one
     * message, which is never queued twice (wake_pending), so it can live in this struct. */
    h2o_multithread_receiver_t rx;
    h2o_multithread_message_t wake_msg;
    pthread_mutex_t dirty_mu;
    ctl_gateway__watch_t *dirty; /* each holds a reference */
    bool wake_pending;
    h2o_linklist_t watches; /* open streams; loop thread only */
    h2o_timeout_t check_timeout;
    h2o_timeout_entry_t check_entry;
    ctl_gateway__json_slot_t json_cache[CTL_GATEWAY__JSON_SLOTS]; /* loop thread only */
    uint8_t *json_scratch; /* loop thread only: the packed answer being looked up */
    size_t json_scratch_size;
};

/* Frees the loop's encoded-answer cache. Loop thread, or after it ended. */
void ctl_gateway__json_cache_free(ctl_gateway_t *g);

/** The gateway's ctl_thread_t, made on first use; NULL when it cannot be made now. Loop thread. */
ctl_thread_t *ctl_gateway__thread(ctl_gateway_t *g);

/** Sends `body` (JSON) with `status`; the body is copied. */
void ctl_gateway__send_json(h2o_req_t *req, int status, const char *body, size_t len);

/** Sends {"code": grpc_code, "message": msg, "details": []} with http_status (0: mapped from the
 * code). */
void ctl_gateway__send_error(h2o_req_t *req, int http_status, int grpc_code, const char *msg);

/** Authenticates the request's `Authorization: Bearer` token. Errors: CP_EAUTH (from the service).
 */
int ctl_gateway__caller(ctl_gateway_t *g, h2o_req_t *req, ctl_caller_t *caller, cp_err_t *err);

/** Builds the request message of `desc` from the body (per route->body and route->body_field), the
 *  path parameter (raw text param/param_len) and the query string. On error *http_status is 400,
 * 413 or 415 and err says why (CP_EINVAL, CP_ETOOBIG). The caller frees *out with
 *  protobuf_c_message_free_unpacked. */
int ctl_gateway__decode(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route,
                        const ProtobufCMessageDescriptor *desc, const char *param, size_t param_len,
                        ProtobufCMessage **out, int *http_status, cp_err_t *err);

/** Answers a CTL_GW_RPC route. */
void ctl_gateway__rpc(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route,
                      const char *param, size_t param_len);

/** Answers GET /v1/watch: a JSON error, or a 200 NDJSON stream fed by the service. */
void ctl_gateway__watch(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route);

/** The loop's message receiver: flushes the streams that have news. */
void ctl_gateway__watch_on_wake(h2o_multithread_receiver_t *rx, h2o_linklist_t *messages);

/** Periodic timer: ends the streams whose client has gone. */
void ctl_gateway__watch_on_check(h2o_timeout_entry_t *entry);

/** The /metrics page: the registry plus the certificates listed through the service core (pages of
 *  ListCertificates as an internal read caller); when the store cannot be listed the certificate
 *  gauges are left out and certplane_certificates_scrape_success is 0. Returns malloc'd text of
 *  *len bytes. */
char *ctl_gateway__metrics(ctl_service_t *svc, ctl_thread_t *t, size_t *len);

/** Ends every open stream and drops the pending wake-ups (the loop thread, while stopping). */
void ctl_gateway__watch_stop_all(ctl_gateway_t *g);

#endif
