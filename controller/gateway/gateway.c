/* SPDX-License-Identifier: Apache-2.0 */
/* gateway.c - the gateway's h2o event loop: listener, thread, dispatch, health on the loop, and
 * readiness and metrics handed to the service threads */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/gateway/gateway_acme.h"
#include "controller/gateway/gateway_internal.h"
#include "controller/gateway/gateway_metrics.h"
#include "controller/gateway/gateway_pool.h"
#include "controller/gateway/gateway_req.h"
#include "controller/gateway/gateway_ui.h"
#include "controller/gateway/gateway_util.h"
#include "controller/gateway/gateway_watch.h"
#include "shared/mem.h"
#include "shared/status.h"

/* Service threads: CTL_GW_LANE_ANY runs the RPCs, Watch starts, /metrics and /readyz; the read
 * lane the GetCertificate reads and HTTP-01 lookups (gateway_pool.h). */
#define ANY_THREADS 4
#define READ_THREADS 2

typedef struct gw_handler {
    h2o_handler_t super;
    ctl_gateway_t *gw;
} gw_handler_t;

int ctl_gateway_watchers(const ctl_gateway_t *g)
{
    return atomic_load(&((ctl_gateway_t *)g)->watchers);
}

#define TEXT "text/plain; charset=utf-8"
#define PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/* /readyz and /metrics: both read Redis, so both are answered from a service thread. */
typedef struct builtin_job {
    ctl_gateway_job_t super;
    ctl_service_t *svc;
    ctl_gateway_kind_t kind;
    bool ready;
    char *text; /* /metrics */
    size_t len;
} builtin_job_t;

static void builtin_run(ctl_gateway_job_t *job, ctl_thread_t *t)
{
    builtin_job_t *j = (builtin_job_t *)job;
    if (j->kind == CTL_GW_READYZ)
        j->ready = t != NULL && ctl_service_ready(j->svc, t);
    else
        j->text = ctl_gateway__metrics(j->svc, t, &j->len);
}

static void builtin_done(ctl_gateway_job_t *job, h2o_req_t *req)
{
    builtin_job_t *j = (builtin_job_t *)job;
    if (req != NULL && j->kind == CTL_GW_METRICS && j->text != NULL)
        ctl_gateway__send_text(req, 200, PROMETHEUS, j->text, j->len);
    else if (req != NULL && j->kind == CTL_GW_READYZ && j->ready)
        ctl_gateway__send_text(req, 200, TEXT, H2O_STRLIT("ready\n"));
    else if (req != NULL && j->kind == CTL_GW_READYZ)
        ctl_gateway__send_text(req, 503, TEXT, H2O_STRLIT("not ready: storage unavailable\n"));
    else if (req != NULL)
        ctl_gateway__send_text(req, 503, TEXT, H2O_STRLIT("gateway shutting down\n"));
    free(j->text);
    free(j);
}

static void serve_builtin(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *r)
{
    if (r->kind == CTL_GW_HEALTHZ) { /* from memory, on the loop */
        ctl_gateway__send_text(req, 200, TEXT, H2O_STRLIT("ok\n"));
        return;
    }
    if (r->kind != CTL_GW_READYZ && r->kind != CTL_GW_METRICS) {
        /* CTL_GW_ACME without a lookup: with one, the path registered for it answers first */
        ctl_gateway__send_error(req, 0, CP_GRPC_NOT_FOUND, "not found");
        return;
    }
    if (r->kind == CTL_GW_METRICS && g->opts.metrics_require_token) {
        ctl_caller_t caller;
        cp_err_t err = {0};
        int rc = ctl_gateway__caller(g->svc, req, &caller, &err);
        if (rc == 0 && (caller.scopes & CTL_SCOPE_READ) != CTL_SCOPE_READ)
            rc = cp_err_set(&err, CP_EPERM, "permission denied: /metrics needs the read scope");
        if (rc != 0) {
            ctl_gateway__send_error(req, 0, cp_err_grpc_status(rc), err.msg);
            return;
        }
    }
    builtin_job_t *j = cp_xcalloc(1, sizeof(*j));
    j->super.run = builtin_run;
    j->super.done = builtin_done;
    j->svc = g->svc;
    j->kind = r->kind;
    ctl_gateway_pool_submit(g->pool, &j->super, req, CTL_GW_LANE_ANY);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    ctl_gateway_t *g = ((gw_handler_t *)self)->gw;
    const ctl_gateway_route_t *route = NULL;
    const char *param = NULL;
    size_t param_len = 0, path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    char allow[64];
    /* The raw path, not h2o's normalized one: a name is percent-decoded exactly once, by us, after
     * the route is chosen, so "%2F" can never turn into a path separator. */
    int st = ctl_gateway_match(req->path.base, path_len, req->method.base, req->method.len, &route,
                               &param, &param_len, allow, sizeof(allow));
    if (st == 404) {
        ctl_gateway__send_error(req, 0, CP_GRPC_NOT_FOUND, "no such route");
        return 0;
    }
    if (st == 405) {
        char *a = h2o_mem_alloc_pool(&req->pool, strlen(allow));
        memcpy(a, allow, strlen(allow));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, a, strlen(allow));
        ctl_gateway__send_error(req, 405, CP_GRPC_UNIMPLEMENTED, "method not allowed");
        return 0;
    }
    if (route->kind == CTL_GW_RPC)
        ctl_gateway__rpc(g, req, route, param, param_len);
    else if (route->kind == CTL_GW_WATCH)
        ctl_gateway__watch(g, req, route);
    else if (route->kind == CTL_GW_UI || route->kind == CTL_GW_WHOAMI)
        ctl_gateway__ui(g->svc, req, route, param, param_len);
    else
        serve_builtin(g, req, route);
    return 0;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    ctl_gateway_t *g = listener->data;
    h2o_socket_t *sock;
    if (err != NULL || (sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    h2o_accept(&g->accept_ctx, sock);
}

static void *serve(void *arg)
{
    ctl_gateway_t *g = arg;
    h2o_timeout_link(g->loop, &g->check_timeout, &g->check_entry);
    while (!atomic_load(&g->stop))
        h2o_evloop_run(g->loop, 50);
    h2o_socket_read_stop(g->listener);
    h2o_socket_close(g->listener);
    /* Calls in flight finish (their answers go out or are dropped), queued ones are refused. */
    ctl_gateway_pool_stop(g->pool, g->loop);
    g->pool = NULL;
    ctl_gateway__watch_stop_all(g);
    /* Let the closes and any in-flight responses finish before the context goes away. */
    for (int i = 0; i < 5; i++)
        h2o_evloop_run(g->loop, 10);
    if (h2o_timeout_is_linked(&g->check_entry))
        h2o_timeout_unlink(&g->check_entry);
    ctl_gateway__json_cache_free(g);
    ctl_gateway__acme_free(g);
    return NULL;
}

/* Splits "host:port", "[v6]:port" or ":port" and binds a listening socket. */
static int listen_on(const char *listen_spec, int *fd_out, int *port_out, cp_err_t *err)
{
    char host[256];
    const char *colon = strrchr(listen_spec, ':');
    if (colon == NULL || colon[1] == '\0' || (size_t)(colon - listen_spec) >= sizeof(host))
        return cp_err_set(err, CP_EINVAL, "http-listen: expected host:port, got \"%s\"",
                          listen_spec);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - listen_spec), listen_spec);
    char *h = host;
    if (h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai = NULL;
    int gai = getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &ai);
    if (gai != 0)
        return cp_err_set(err, CP_EINVAL, "http-listen: %s: %s", listen_spec, gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, e = 0;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0)
        e = errno;
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (e == 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        e = errno;
    if (e != 0) {
        if (fd >= 0)
            close(fd);
        return cp_err_set(err, CP_EIO, "http-listen: %s: %s", listen_spec, strerror(e));
    }
    *port_out = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    *fd_out = fd;
    return 0;
}

static void configure(ctl_gateway_t *g)
{
    h2o_config_init(&g->config);
    g->config.max_request_entity_size =
        2 * CTL_GATEWAY__MAX_BODY;        /* ours answers 413 in JSON first */
    g->config.http1.upgrade_to_http2 = 0; /* HTTP/1.1 only (plaintext) */
    h2o_hostconf_t *hc =
        h2o_config_register_host(&g->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    /* Registration order is match order and matching is by prefix: the longer path first. */
    ctl_gateway__acme_register(g, h2o_config_register_path(hc, "/.well-known/acme-challenge", 0));
    gw_handler_t *h =
        (gw_handler_t *)h2o_create_handler(h2o_config_register_path(hc, "/", 0), sizeof(*h));
    h->super.on_req = on_req;
    h->gw = g;
}

int ctl_gateway_start_opts(struct ctl_service *svc, const ctl_gateway_opts_t *opts,
                           ctl_gateway_t **out, int *port, cp_err_t *err)
{
    if (svc == NULL || opts == NULL || opts->listen == NULL || out == NULL)
        return cp_err_set(err, CP_EINVAL, "gateway: svc, opts->listen and out are required");
    ctl_gateway_t *g = cp_xcalloc(1, sizeof(*g));
    g->svc = svc;
    g->opts = *opts;
    g->opts.listen = NULL; /* not kept: the caller's string */
    if (g->opts.max_body == 0 || g->opts.max_body > CTL_GATEWAY__MAX_BODY)
        g->opts.max_body = CTL_GATEWAY__MAX_BODY;
    if (g->opts.max_watch_queue == 0)
        g->opts.max_watch_queue = 16 * 1024 * 1024;
    if (g->opts.watch_check_ms == 0)
        g->opts.watch_check_ms = 1000;
    int rc = listen_on(opts->listen, &g->fd, &g->port, err);
    if (rc != 0) {
        free(g);
        return rc;
    }
    configure(g);
    g->loop = h2o_evloop_create();
    h2o_context_init(&g->ctx, g->loop, &g->config);
    g->accept_ctx.ctx = &g->ctx;
    g->accept_ctx.hosts = g->config.hosts;
    pthread_mutex_init(&g->dirty_mu, NULL);
    h2o_linklist_init_anchor(&g->watches);
    /* Registered before the loop thread or any sink exists, so no message can race it. */
    h2o_multithread_register_receiver(g->ctx.queue, &g->rx, ctl_gateway__watch_on_wake);
    g->pool = ctl_gateway_pool_new(svc, &g->ctx, ANY_THREADS, READ_THREADS);
    h2o_timeout_init(g->loop, &g->check_timeout, g->opts.watch_check_ms);
    g->check_entry.cb = ctl_gateway__watch_on_check;
    g->listener = h2o_evloop_socket_create(g->loop, g->fd, H2O_SOCKET_FLAG_DONT_READ);
    g->listener->data = g;
    h2o_socket_read_start(g->listener, on_accept);
    if (pthread_create(&g->thread, NULL, serve, g) != 0) {
        fprintf(stderr, "certplane: cannot start the gateway thread\n");
        abort();
    }
    if (port != NULL)
        *port = g->port;
    *out = g;
    return 0;
}

int ctl_gateway_start(struct ctl_service *svc, const char *listen, ctl_gateway_t **out, int *port,
                      cp_err_t *err)
{
    ctl_gateway_opts_t opts = {.listen = listen};
    return ctl_gateway_start_opts(svc, &opts, out, port, err);
}

void ctl_gateway_stop(ctl_gateway_t *g)
{
    if (g == NULL)
        return;
    atomic_store(&g->stop, 1);
    pthread_join(g->thread, NULL);
    h2o_multithread_unregister_receiver(g->ctx.queue, &g->rx);
    h2o_timeout_dispose(g->loop, &g->check_timeout);
    h2o_context_dispose(&g->ctx);
    h2o_evloop_destroy(g->loop);
    h2o_config_dispose(&g->config);
    pthread_mutex_destroy(&g->dirty_mu);
    free(g);
}
