/* SPDX-License-Identifier: Apache-2.0 */
/* proxy.c - routes from Host to upstream or a fixed answer: --route host=URL|respond:STATUS[:BODY],
 * wildcards, --default-upstream */
#include "edge/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/cert.h"
#include "edge/hamt.h"
#include "shared/mem.h"
#include "shared/status.h"

/* A fixed answer ("respond:STATUS[:BODY]"): called directly by the HTTPS handler, never
 * registered with h2o (it needs no per-loop state). */
typedef struct respond_handler {
    h2o_handler_t super;
    struct respond_handler *next;
    int status;
    const char *reason;
    const char *body; /* points into the route string, which outlives the proxy */
    size_t body_len;
} respond_handler_t;

struct edge_proxy {
    edge_hamt_t exact;    /* host -> h2o_handler_t* */
    edge_hamt_t wildcard; /* parent of "*.parent" -> h2o_handler_t* */
    h2o_handler_t *fallback;
    size_t n_upstreams;
    respond_handler_t *responders; /* to free */
};

int edge_proxy_parse_respond(const char *target, int *status, const char **body, size_t *body_len)
{
    static const char prefix[] = EDGE_PROXY_RESPOND_PREFIX;
    if (strncmp(target, prefix, sizeof prefix - 1) != 0)
        return CP_EINVAL;
    const char *p = target + sizeof prefix - 1;
    int v = 0, digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
        v = v * 10 + (*p - '0');
    if (digits != 3 || v < 200 || v > 599 || (*p != '\0' && *p != ':'))
        return CP_EINVAL;
    const char *b = *p == ':' ? p + 1 : p;
    /* 204 and 304 have no body (RFC 9110 sections 15.3.5 and 15.4.5). */
    if ((v == 204 || v == 304) && *b != '\0')
        return CP_EINVAL;
    *status = v;
    *body = b;
    *body_len = strlen(b);
    return 0;
}

static int on_respond(h2o_handler_t *self, h2o_req_t *req)
{
    respond_handler_t *r = (respond_handler_t *)self;
    req->res.status = r->status;
    req->res.reason = r->reason;
    if (r->status != 204 && r->status != 304)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/plain; charset=utf-8"));
    /* A Content-Length, as nginx sends: h2o_send_inline alone would chunk an HTTP/1.1 answer. */
    req->res.content_length = r->body_len;
    h2o_send_inline(req, r->body, r->body_len);
    return 0;
}

static h2o_handler_t *make_responder(edge_proxy_t *p, const char *target, cp_err_t *err)
{
    respond_handler_t *r = cp_xcalloc(1, sizeof *r);
    if (edge_proxy_parse_respond(target, &r->status, &r->body, &r->body_len) != 0) {
        free(r);
        cp_err_set(err, CP_EINVAL, "%s: expected respond:STATUS[:BODY], STATUS 200-599", target);
        return NULL;
    }
    r->reason = cp_http_reason(r->status);
    r->super.on_req = on_respond;
    r->next = p->responders;
    p->responders = r;
    return &r->super;
}

static h2o_handler_t *register_upstream(h2o_globalconf_t *conf, size_t index, const char *url,
                                        uint64_t io_timeout_ms, cp_err_t *err)
{
    h2o_url_t parsed;
    if (h2o_url_parse(url, strlen(url), &parsed) != 0 || parsed.scheme != &H2O_URL_SCHEME_HTTP) {
        cp_err_set(err, CP_EINVAL, "upstream %s: expected http://host[:port][/path]", url);
        return NULL;
    }
    char name[64];
    snprintf(name, sizeof name, "upstream-%zu.certplane.invalid", index);
    h2o_hostconf_t *host =
        h2o_config_register_host(conf, h2o_iovec_init(name, strlen(name)), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_proxy_config_vars_t vars = {0};
    vars.io_timeout = io_timeout_ms;
    vars.keepalive_timeout = 2000;
    vars.preserve_host = 1;
    vars.websocket.timeout = io_timeout_ms;
    h2o_proxy_register_reverse_proxy(path, &parsed, &vars);
    return path->handlers.entries[path->handlers.size - 1];
}

int edge_proxy_new(h2o_globalconf_t *conf, const cp_cfg_list_t *routes,
                   const char *default_upstream, uint64_t io_timeout_ms, edge_proxy_t **out,
                   cp_err_t *err)
{
    edge_proxy_t *p = cp_xcalloc(1, sizeof *p);
    int rc = 0;
    edge_hamt_init(&p->exact, NULL);
    edge_hamt_init(&p->wildcard, NULL);
    conf->proxy.emit_x_forwarded_headers = 1;
    conf->proxy.io_timeout = io_timeout_ms;
    for (size_t i = 0; i < routes->n; i++) {
        const char *eq = strchr(routes->v[i], '=');
        char host[256], raw[256];
        size_t len = eq == NULL ? 0 : (size_t)(eq - routes->v[i]);
        if (len == 0 || len >= sizeof raw) {
            rc = cp_err_set(err, CP_EINVAL, "--route %s: expected host=URL", routes->v[i]);
            goto out;
        }
        memcpy(raw, routes->v[i], len);
        raw[len] = '\0';
        if (edge_cert_normalize_name(raw, host, sizeof host) != 0) {
            rc = cp_err_set(err, CP_EINVAL, "--route %s: bad host", routes->v[i]);
            goto out;
        }
        h2o_handler_t *h =
            strncmp(eq + 1, EDGE_PROXY_RESPOND_PREFIX, sizeof EDGE_PROXY_RESPOND_PREFIX - 1) == 0
                ? make_responder(p, eq + 1, err)
                : register_upstream(conf, p->n_upstreams++, eq + 1, io_timeout_ms, err);
        if (h == NULL) {
            rc = CP_EINVAL;
            goto out;
        }
        if (host[0] == '*' && host[1] == '.')
            edge_hamt_set(&p->wildcard, host + 2, h);
        else
            edge_hamt_set(&p->exact, host, h);
    }
    if (default_upstream != NULL) {
        p->fallback =
            strncmp(default_upstream, EDGE_PROXY_RESPOND_PREFIX,
                    sizeof EDGE_PROXY_RESPOND_PREFIX - 1) == 0
                ? make_responder(p, default_upstream, err)
                : register_upstream(conf, p->n_upstreams++, default_upstream, io_timeout_ms, err);
        if (p->fallback == NULL)
            rc = CP_EINVAL;
    }
out:
    if (rc != 0) {
        edge_proxy_free(p);
        p = NULL;
    }
    *out = p;
    return rc;
}

h2o_handler_t *edge_proxy_find(const edge_proxy_t *p, const char *host, size_t len)
{
    char raw[256], name[256];
    h2o_handler_t *h = NULL;
    if (len > 0 && len < sizeof raw) {
        memcpy(raw, host, len);
        raw[len] = '\0';
        if (edge_cert_normalize_name(raw, name, sizeof name) == 0) {
            h = edge_hamt_get(&p->exact, name);
            const char *dot = strchr(name, '.');
            if (h == NULL && dot != NULL && dot != name && dot[1] != '\0')
                h = edge_hamt_get(&p->wildcard, dot + 1);
        }
    }
    return h != NULL ? h : p->fallback;
}

void edge_proxy_free(edge_proxy_t *p)
{
    if (p == NULL)
        return;
    edge_hamt_dispose(&p->exact);
    edge_hamt_dispose(&p->wildcard);
    while (p->responders != NULL) {
        respond_handler_t *r = p->responders;
        p->responders = r->next;
        free(r);
    }
    free(p);
}
