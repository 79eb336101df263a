/* SPDX-License-Identifier: Apache-2.0 */
/* gateway.c - the gateway's h2o event loop: listener, thread, dispatch, health, readiness and
 * metrics */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/gateway/gateway_internal.h"
#include "controller/metrics/metrics.h"

typedef struct gw_handler {
    h2o_handler_t super;
    ctl_gateway_t *gw;
} gw_handler_t;

ctl_thread_t *ctl_gateway__thread(ctl_gateway_t *g)
{
    if (g->t == NULL)
        g->t = ctl_thread_new(g->svc);
    return g->t;
}

int ctl_gateway_watchers(const ctl_gateway_t *g)
{
    return atomic_load(&((ctl_gateway_t *)g)->watchers);
}

static void send_text(h2o_req_t *req, int status, const char *reason, const char *type,
                      const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_send_inline(req, body, len);
}

static void serve_metrics(ctl_gateway_t *g, h2o_req_t *req)
{
    size_t len = 0;
    char *text = ctl_gateway__metrics(g->svc, ctl_gateway__thread(g), &len);
    send_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static void serve_builtin(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *r)
{
    ctl_thread_t *t;
    switch (r->kind) {
    case CTL_GW_HEALTHZ:
        send_text(req, 200, "OK", "text/plain; charset=utf-8", H2O_STRLIT("ok\n"));
        break;
    case CTL_GW_READYZ:
        t = ctl_gateway__thread(g);
        if (t != NULL && ctl_service_ready(g->svc, t))
            send_text(req, 200, "OK", "text/plain; charset=utf-8", H2O_STRLIT("ready\n"));
        else
            send_text(req, 503, "Service Unavailable", "text/plain; charset=utf-8",
                      H2O_STRLIT("not ready: storage unavailable\n"));
        break;
    case CTL_GW_METRICS:
        serve_metrics(g, req);
        break;
    default: /* CTL_GW_ACME without a lookup: the h2o path registered for it answers otherwise */
        ctl_gateway__send_error(req, 404, 5, "not found");
        break;
    }
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
        ctl_gateway__send_error(req, 404, 5, "no such route");
        return 0;
    }
    if (st == 405) {
        char *a = h2o_mem_alloc_pool(&req->pool, strlen(allow));
        memcpy(a, allow, strlen(allow));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, a, strlen(allow));
        ctl_gateway__send_error(req, 405, 12, "method not allowed");
        return 0;
    }
    if (route->kind == CTL_GW_RPC)
        ctl_gateway__rpc(g, req, route, param, param_len);
    else if (route->kind == CTL_GW_WATCH)
        ctl_gateway__watch(g, req, route);
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
    ctl_gateway__thread(g); /* a ctl_thread_t belongs to the thread that made it: this one */
    h2o_timeout_link(g->loop, &g->check_timeout, &g->check_entry);
    while (!atomic_load(&g->stop))
        h2o_evloop_run(g->loop, 50);
    h2o_socket_read_stop(g->listener);
    h2o_socket_close(g->listener);
    ctl_gateway__watch_stop_all(g);
    /* Let the closes and any in-flight responses finish before the context goes away. */
    for (int i = 0; i < 5; i++)
        h2o_evloop_run(g->loop, 10);
    if (h2o_timeout_is_linked(&g->check_entry))
        h2o_timeout_unlink(&g->check_entry);
    ctl_thread_free(g->t);
    g->t = NULL;
    ctl_gateway__json_cache_free(g);
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
    if (g->opts.http01_lookup != NULL)
        ctl_http01_register(h2o_config_register_path(hc, "/.well-known/acme-challenge", 0),
                            g->opts.http01_lookup, g->opts.http01_ctx);
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
    ctl_gateway_t *g = calloc(1, sizeof(*g));
    if (g == NULL)
        abort();
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
