/* SPDX-License-Identifier: Apache-2.0 */
/* http.c - the edge's request handlers: HTTPS routing, HTTP-01 answers and redirects, admin */
#include "edge/http.h"
#include <stdio.h>
#include <string.h>

#include "edge/server.h"
#include "shared/mem.h"

#define CHALLENGE_PREFIX "/.well-known/acme-challenge/"

typedef struct app_handler {
    h2o_handler_t super;
    edge_server__app_t *app;
} app_handler_t;

typedef struct status_logger {
    h2o_logger_t super;
    edge_metrics_t *metrics;
} status_logger_t;

/* --hsts: a host pattern (exact, "*.example.com" for one label, "*" for all) and its header. */
typedef struct hsts_rule {
    h2o_iovec_t host;
    h2o_iovec_t value;
} hsts_rule_t;

typedef struct hsts_filter {
    h2o_filter_t super;
    hsts_rule_t *rules;
    size_t n;
} hsts_filter_t;

/* The host part of an authority ("a.test:8443" -> "a.test", "[::1]:443" -> "::1"). */
static h2o_iovec_t host_of(h2o_iovec_t authority)
{
    const char *p = authority.base, *end = p + authority.len;
    if (authority.len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', authority.len);
        return close == NULL ? authority : h2o_iovec_init(p + 1, (size_t)(close - p - 1));
    }
    const char *colon = memchr(p, ':', authority.len);
    return h2o_iovec_init(p, (size_t)((colon != NULL ? colon : end) - p));
}

static int hsts_match(h2o_iovec_t pattern, h2o_iovec_t host)
{
    if (pattern.len == 1 && pattern.base[0] == '*')
        return 1;
    if (pattern.len > 2 && pattern.base[0] == '*' && pattern.base[1] == '.') {
        const char *dot = memchr(host.base, '.', host.len);
        return dot != NULL && dot > host.base &&
               h2o_lcstris(dot + 1, host.len - (size_t)(dot + 1 - host.base), pattern.base + 2,
                           pattern.len - 2);
    }
    return h2o_lcstris(host.base, host.len, pattern.base, pattern.len);
}

/* Adds Strict-Transport-Security to an HTTPS answer whose host has an --hsts rule (the first that
 * matches), unless the upstream set one. */
static void on_hsts_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    hsts_filter_t *f = (hsts_filter_t *)self;
    h2o_iovec_t host = host_of(req->authority);
    for (size_t i = 0; i < f->n; i++) {
        if (!hsts_match(f->rules[i].host, host))
            continue;
        if (h2o_find_header(&req->res.headers, H2O_TOKEN_STRICT_TRANSPORT_SECURITY, -1) == -1)
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_STRICT_TRANSPORT_SECURITY, NULL,
                           f->rules[i].value.base, f->rules[i].value.len);
        break;
    }
    h2o_setup_next_ostream(req, slot);
}

/* The --hsts rules as a filter of the HTTPS host (none: no filter). They live as long as the
 * server's configuration. */
static void register_hsts(h2o_hostconf_t *https, const edge_config_t *cfg)
{
    if (cfg->hsts.n == 0)
        return;
    h2o_pathconf_t *path = &https->paths.entries[0];
    hsts_filter_t *f = (hsts_filter_t *)h2o_create_filter(path, sizeof *f);
    f->super.on_setup_ostream = on_hsts_setup;
    f->rules = cp_xcalloc(cfg->hsts.n, sizeof *f->rules);
    for (size_t i = 0; i < cfg->hsts.n; i++) {
        const char *spec = cfg->hsts.v[i], *eq = strchr(spec, '=');
        char value[128];
        if (eq == NULL || edge_config_hsts_value(spec, value, sizeof value) != 0)
            continue; /* refused by edge_config_parse already */
        f->rules[f->n].host = h2o_strdup(NULL, spec, (size_t)(eq - spec));
        f->rules[f->n].value = h2o_strdup(NULL, value, strlen(value));
        f->n++;
    }
}

static void send_text(h2o_req_t *req, int status, const char *reason, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; charset=utf-8"));
    h2o_send_inline(req, h2o_strdup(&req->pool, body, len).base, len);
}

static int on_https(h2o_handler_t *self, h2o_req_t *req)
{
    edge_server__app_t *app = ((app_handler_t *)self)->app;
    h2o_iovec_t host = host_of(req->authority);
    h2o_handler_t *upstream = edge_proxy_find(app->proxy, host.base, host.len);
    if (upstream != NULL)
        return upstream->on_req(upstream, req);
    static const char body[] = "421 Misdirected Request: no site is configured for this name\n";
    send_text(req, 421, "Misdirected Request", body, sizeof body - 1);
    return 0;
}

static int answer_challenge(edge_server__app_t *app, h2o_req_t *req, h2o_iovec_t path)
{
    char token[256];
    size_t len = path.len - (sizeof CHALLENGE_PREFIX - 1);
    const char *key_auth = NULL;
    if (len > 0 && len < sizeof token) {
        memcpy(token, path.base + sizeof CHALLENGE_PREFIX - 1, len);
        token[len] = '\0';
        /* The table is read within this loop iteration, so the grace period covers the copy. */
        key_auth = edge_certmap_challenge_get0(edge_sni_current0(app->sni), token);
    }
    if (key_auth == NULL) {
        static const char body[] = "no such challenge\n";
        send_text(req, 404, "Not Found", body, sizeof body - 1);
        return 0;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/octet-stream"));
    h2o_iovec_t body = h2o_strdup(&req->pool, key_auth, strlen(key_auth));
    h2o_send_inline(req, body.base, body.len);
    return 0;
}

static int on_http(h2o_handler_t *self, h2o_req_t *req)
{
    edge_server__app_t *app = ((app_handler_t *)self)->app;
    h2o_iovec_t path = req->path_normalized;
    if (path.len >= sizeof CHALLENGE_PREFIX - 1 &&
        memcmp(path.base, CHALLENGE_PREFIX, sizeof CHALLENGE_PREFIX - 1) == 0)
        return answer_challenge(app, req, path);
    if (!app->cfg->redirect) {
        static const char body[] = "not found\n";
        send_text(req, 404, "Not Found", body, sizeof body - 1);
        return 0;
    }
    h2o_iovec_t host = host_of(req->authority);
    char port[16] = "";
    if (app->https_port != 443)
        snprintf(port, sizeof port, ":%d", app->https_port);
    size_t cap = host.len + req->path.len + 32;
    char *url = h2o_mem_alloc_pool(&req->pool, cap);
    int n = snprintf(url, cap, "https://%.*s%s%.*s", (int)host.len, host.base, port,
                     (int)req->path.len, req->path.base);
    h2o_send_redirect(req, 308, "Permanent Redirect", url, (size_t)n);
    return 0;
}

static int on_admin(h2o_handler_t *self, h2o_req_t *req)
{
    edge_server__app_t *app = ((app_handler_t *)self)->app;
    if (h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/healthz"))) {
        send_text(req, 200, "OK", H2O_STRLIT("ok\n"));
    } else if (h2o_memis(req->path_normalized.base, req->path_normalized.len,
                         H2O_STRLIT("/readyz"))) {
        if (atomic_load(&app->metrics->ready))
            send_text(req, 200, "OK", H2O_STRLIT("ready\n"));
        else
            send_text(req, 503, "Service Unavailable",
                      H2O_STRLIT("waiting for the first snapshot\n"));
    } else if (h2o_memis(req->path_normalized.base, req->path_normalized.len,
                         H2O_STRLIT("/metrics"))) {
        enum { CAP = 8192 };
        char *buf = h2o_mem_alloc_pool(&req->pool, CAP);
        size_t len = edge_metrics_render(app->metrics, app->sni, buf, CAP);
        req->res.status = 200;
        req->res.reason = "OK";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/plain; version=0.0.4"));
        h2o_send_inline(req, buf, len);
    } else {
        send_text(req, 404, "Not Found", H2O_STRLIT("not found\n"));
    }
    return 0;
}

static void on_log(h2o_logger_t *self, h2o_req_t *req)
{
    edge_metrics_t *m = ((status_logger_t *)self)->metrics;
    int status = req->res.status, cls = status / 100;
    atomic_fetch_add_explicit(&m->requests[cls >= 1 && cls <= 5 ? cls : 0], 1,
                              memory_order_relaxed);
    /* Only the proxy sets overrides; its 502-504 mean the upstream failed or timed out. */
    if (req->overrides != NULL && status >= 502 && status <= 504)
        atomic_fetch_add_explicit(&m->upstream_errors, 1, memory_order_relaxed);
}

static h2o_hostconf_t *register_host(h2o_globalconf_t *conf, const char *name,
                                     edge_server__app_t *app,
                                     int (*on_req)(h2o_handler_t *, h2o_req_t *), int count)
{
    h2o_hostconf_t *host =
        h2o_config_register_host(conf, h2o_iovec_init(name, strlen(name)), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    app_handler_t *h = (app_handler_t *)h2o_create_handler(path, sizeof *h);
    h->super.on_req = on_req;
    h->app = app;
    if (count) {
        status_logger_t *l = (status_logger_t *)h2o_create_logger(path, sizeof *l);
        l->super.log_access = on_log;
        l->metrics = app->metrics;
    }
    return host;
}

void edge_http__register(h2o_globalconf_t *conf, edge_server__app_t *app,
                         edge_server__hosts_t *hosts)
{
    /* Each listener sees exactly one host, so h2o always picks it; routing by name is ours. */
    hosts->https[0] = register_host(conf, "https.certplane.invalid", app, on_https, 1);
    register_hsts(hosts->https[0], app->cfg);
    hosts->http[0] = register_host(conf, "http.certplane.invalid", app, on_http, 1);
    hosts->admin[0] = register_host(conf, "admin.certplane.invalid", app, on_admin, 0);
    hosts->https[1] = hosts->http[1] = hosts->admin[1] = NULL;
}
