/* SPDX-License-Identifier: Apache-2.0 */
/* gateway.h - the HTTP/JSON gateway: REST routes onto the service core, Watch as NDJSON, health,
 * metrics */
#ifndef CTL_GATEWAY_H
#define CTL_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>

#include "controller/gateway/http01.h"
#include "shared/err.h"

/*
 * One h2o (evloop) thread serves HTTP/1.1 on --http-listen (design decision 6: one gateway event
 * loop), and that loop never waits on Redis or the network. Every REST route authenticates and
 * builds its request message on the loop (body, path and query parameters merged, decoded once with
 * the shared proto3-JSON codec), calls the service core on one of the gateway's service threads
 * (each with its own ctl_thread_t; gateway_pool.h), and encodes and sends the answer back on the
 * loop; errors map from gRPC codes to HTTP as grpc-gateway does, with the body
 * {"code": <gRPC code>, "message": "...", "details": []}. Watch starts, /readyz, /metrics and
 * HTTP-01 lookups go to the service threads the same way; /healthz answers on the loop. A client
 * that leaves while its call runs only loses the answer. docs/api.md describes every route.
 *
 * THREAD SAFETY (module): ctl_gateway_start/stop from one thread; the gateway's own code runs on
 * its loop thread and its service threads. The Watch sinks it hands to the service may be called
 * from any thread.
 */

struct ctl_service;

typedef struct ctl_gateway ctl_gateway_t;

/** What a route does. */
typedef enum ctl_gateway_kind {
    CTL_GW_RPC,     /* a unary RPC of ctl_service_rpcs[] */
    CTL_GW_WATCH,   /* Watch, streamed as newline-delimited JSON */
    CTL_GW_HEALTHZ, /* 200 while the process runs */
    CTL_GW_READYZ,  /* 200 while ctl_service_ready, else 503 */
    CTL_GW_METRICS, /* Prometheus text */
    CTL_GW_ACME,    /* HTTP-01 answers (controller/http01.h) */
    CTL_GW_UI,      /* the web console's built-in files (gateway_ui.h) */
    CTL_GW_WHOAMI,  /* the caller's scopes, for the console */
} ctl_gateway_kind_t;

/** How a route takes a request body. */
typedef enum ctl_gateway_body {
    CTL_GW_BODY_NONE,     /* a body is refused (400) */
    CTL_GW_BODY_OPTIONAL, /* JSON body allowed, may be empty */
    CTL_GW_BODY_REQUIRED, /* JSON body expected ("{}" when empty) */
} ctl_gateway_body_t;

/** One route. `pattern` is written as in docs/openapi.yaml: literal text with at most one
 * `{param}`, which matches one path segment (percent-decoded) up to the next '/' or ':'. */
typedef struct ctl_gateway_route {
    const char *method;  /* "GET", "POST", "DELETE" */
    const char *pattern; /* "/v1/certificates/{name}:renew" */
    ctl_gateway_kind_t kind;
    const char *rpc; /* CTL_GW_RPC: the RPC name in ctl_service_rpcs[] */
    ctl_gateway_body_t body;
    const char
        *body_field; /* NULL: the body is the whole request; else the request field it fills */
} ctl_gateway_route_t;

/** Every route the gateway serves, in matching order. */
extern const ctl_gateway_route_t ctl_gateway_routes[];
extern const size_t ctl_gateway_n_routes;

/** Finds the route for a raw request path (no query string) and method. On 200, *route is set and
 *  param/param_len point into `path` at the raw (still percent-encoded) `{param}` text (len 0 when
 * the route has none). Returns 200, 404 (no route has this path) or 405 (other methods do: `allow`,
 * when not NULL, receives them as "GET, DELETE"). THREAD SAFETY: any thread. */
int ctl_gateway_match(const char *path, size_t path_len, const char *method, size_t method_len,
                      const ctl_gateway_route_t **route, const char **param, size_t *param_len,
                      char *allow, size_t allow_size);

/** Options of ctl_gateway_start. Zero values mean the defaults. */
typedef struct ctl_gateway_opts {
    const char *listen; /* "127.0.0.1:8080", "[::1]:8080", ":8080" (all addresses); port 0
                           picks a free one */
    ctl_http01_lookup_fn http01_lookup; /* NULL: /.well-known/acme-challenge/ is answered from
                                           Redis (ctl_service_challenge_answer) with the service
                                           thread's own connection. Set: called instead on the
                                           service threads, several at once (thread-safe) */
    void *http01_ctx;                   /* passed to http01_lookup */
    size_t max_body;                    /* largest request body, bytes (default and cap: 1 MiB) */
    size_t max_watch_queue;     /* bytes queued to one Watch stream before it is cut off (16 MiB) */
    unsigned watch_check_ms;    /* how often idle Watch streams check for a closed client (1000) */
    bool metrics_require_token; /* /metrics (it names certificates) only for a bearer token with
                                   the read scope; false: open, as Prometheus scrapes by default */
} ctl_gateway_opts_t;

/** Binds opts->listen, then serves on a new thread until ctl_gateway_stop. *port (when not NULL)
 * gets the bound port. `svc` must outlive the gateway. Errors: CP_EINVAL (bad listen address),
 * CP_EIO (socket, bind, listen). On error nothing is left running. THREAD SAFETY: any one thread.
 */
int ctl_gateway_start_opts(struct ctl_service *svc, const ctl_gateway_opts_t *opts,
                           ctl_gateway_t **out, int *port, cp_err_t *err);

/** ctl_gateway_start_opts with `listen` and every other option at its default (no HTTP-01 lookup:
 *  /.well-known/acme-challenge/ answers 404). THREAD SAFETY: any one thread. */
int ctl_gateway_start(struct ctl_service *svc, const char *listen, ctl_gateway_t **out, int *port,
                      cp_err_t *err);

/** Open Watch streams (for tests and metrics). THREAD SAFETY: any thread. */
int ctl_gateway_watchers(const ctl_gateway_t *g);

/** Stops accepting, ends open Watch streams, joins the thread and frees everything. Watch sinks the
 *  service still holds stay valid (they report closed) until it releases them. NULL is a no-op.
 *  THREAD SAFETY: the thread that started it, once. */
void ctl_gateway_stop(ctl_gateway_t *g);

#endif
