/* SPDX-License-Identifier: Apache-2.0 */
/* http01.c - HTTP-01 responder on h2o 2.2.5 (evloop): handler plus a standalone loopback server */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <h2o.h>

#include "controller/gateway/http01.h"
#include "shared/mem.h"

#define PREFIX "/.well-known/acme-challenge/"

typedef struct http01_handler {
    h2o_handler_t super;
    ctl_http01_lookup_fn lookup;
    void *ctx;
    atomic_ulong *requests; /* optional counter */
} http01_handler_t;

int ctl_http01_token_valid(const char *token, size_t len)
{
    if (len == 0 || len > CTL_HTTP01_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = token[i];
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_';
        if (!ok)
            return 0;
    }
    return 1;
}

int ctl_http01_parse(h2o_req_t *req, char token[CTL_HTTP01_TOKEN_MAX + 1])
{
    size_t plen = sizeof(PREFIX) - 1;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) &&
        !h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        h2o_send_error_generic(req, 405, "Method Not Allowed", "method not allowed", 0);
        return 0;
    }
    h2o_iovec_t path = req->path_normalized;
    if (path.len <= plen || memcmp(path.base, PREFIX, plen) != 0 ||
        !ctl_http01_token_valid(path.base + plen, path.len - plen)) {
        h2o_send_error_404(req, "Not Found", "not found", 0);
        return 0;
    }
    memcpy(token, path.base + plen, path.len - plen);
    token[path.len - plen] = '\0';
    return 1;
}

void ctl_http01_answer(h2o_req_t *req, int rc, const char *ka)
{
    if (rc == CP_ENOTFOUND || (rc == 0 && ka == NULL)) {
        h2o_send_error_404(req, "Not Found", "not found", 0);
        return;
    }
    if (rc != 0) {
        h2o_send_error_503(req, "Service Unavailable", "challenge lookup failed", 0);
        return;
    }
    size_t n = strlen(ka);
    char *body = h2o_mem_alloc_pool(&req->pool, n ? n : 1);
    memcpy(body, ka, n);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain"));
    h2o_send_inline(req, body, n);
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    http01_handler_t *h = (http01_handler_t *)self;
    char token[CTL_HTTP01_TOKEN_MAX + 1];
    char *ka = NULL;
    if (h->requests != NULL)
        atomic_fetch_add(h->requests, 1);
    if (!ctl_http01_parse(req, token))
        return 0;
    int rc = h->lookup(h->ctx, token, &ka);
    ctl_http01_answer(req, rc, ka);
    free(ka);
    return 0;
}

static h2o_handler_t *register_handler(h2o_pathconf_t *pathconf, ctl_http01_lookup_fn lookup,
                                       void *ctx, atomic_ulong *requests)
{
    http01_handler_t *h = (http01_handler_t *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->lookup = lookup;
    h->ctx = ctx;
    h->requests = requests;
    return &h->super;
}

h2o_handler_t *ctl_http01_register(h2o_pathconf_t *pathconf, ctl_http01_lookup_fn lookup, void *ctx)
{
    return register_handler(pathconf, lookup, ctx, NULL);
}

/* ---- standalone server ---- */

struct ctl_http01_server {
    pthread_t thread;
    atomic_int stop;
    atomic_ulong requests;
    int fd;
    uint16_t port;
    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
};

static void on_accept(h2o_socket_t *listener, const char *err)
{
    ctl_http01_server_t *s = listener->data;
    h2o_socket_t *sock;
    if (err != NULL)
        return;
    if ((sock = h2o_evloop_socket_accept(listener)) == NULL)
        return;
    h2o_accept(&s->accept_ctx, sock);
}

static void *serve(void *arg)
{
    ctl_http01_server_t *s = arg;
    while (!atomic_load(&s->stop))
        h2o_evloop_run(s->loop, 50);
    h2o_socket_read_stop(s->listener);
    h2o_socket_close(s->listener);
    /* Let the close and any in-flight responses finish before the context goes away. */
    for (int i = 0; i < 4; i++)
        h2o_evloop_run(s->loop, 10);
    return NULL;
}

static int listen_on(const char *host, uint16_t port, int *fd_out, uint16_t *port_out,
                     cp_err_t *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    socklen_t sl = sizeof(sa);
    int one = 1;
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return cp_err_set(err, CP_EINVAL, "http01: not an IPv4 address: %s", host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return cp_err_set(err, CP_EIO, "http01: socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        int e = errno;
        close(fd);
        return cp_err_set(err, CP_EIO, "http01: listen on %s:%u: %s", host, (unsigned)port,
                          strerror(e));
    }
    *fd_out = fd;
    *port_out = ntohs(sa.sin_port);
    return 0;
}

int ctl_http01_server_start(const char *host, uint16_t port, ctl_http01_lookup_fn lookup, void *ctx,
                            ctl_http01_server_t **out, cp_err_t *err)
{
    ctl_http01_server_t *s = cp_xcalloc(1, sizeof(*s));
    int rc = listen_on(host, port, &s->fd, &s->port, err);
    if (rc != 0) {
        free(s);
        return rc;
    }
    h2o_config_init(&s->config);
    h2o_hostconf_t *hc =
        h2o_config_register_host(&s->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pc = h2o_config_register_path(hc, "/.well-known/acme-challenge", 0);
    register_handler(pc, lookup, ctx, &s->requests);
    s->loop = h2o_evloop_create();
    h2o_context_init(&s->ctx, s->loop, &s->config);
    s->accept_ctx.ctx = &s->ctx;
    s->accept_ctx.hosts = s->config.hosts;
    s->listener = h2o_evloop_socket_create(s->loop, s->fd, H2O_SOCKET_FLAG_DONT_READ);
    s->listener->data = s;
    h2o_socket_read_start(s->listener, on_accept);
    /* From here on only the server thread touches the loop. */
    if (pthread_create(&s->thread, NULL, serve, s) != 0) {
        fprintf(stderr, "certplane: cannot start the http01 thread\n");
        abort();
    }
    *out = s;
    return 0;
}

uint16_t ctl_http01_server_port(const ctl_http01_server_t *s)
{
    return s->port;
}

unsigned long ctl_http01_server_requests(const ctl_http01_server_t *s)
{
    return atomic_load(&((ctl_http01_server_t *)s)->requests);
}

void ctl_http01_server_stop(ctl_http01_server_t *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    h2o_context_dispose(&s->ctx);
    /* The context's queue closes its sockets asynchronously: let the loop finish that. */
    for (int i = 0; i < 3; i++)
        h2o_evloop_run(s->loop, 0);
    h2o_evloop_destroy(s->loop);
    h2o_config_dispose(&s->config);
    free(s);
}
