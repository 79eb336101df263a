/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_ui.c - the web console: its built-in files under /ui/ with strict headers, and
 * GET /v1/whoami, which tells the console what the token it holds may do */
#include <stdio.h>
#include <string.h>

#include "controller/gateway/gateway_ui.h"
#include "controller/gateway/gateway_util.h"
#include "shared/status.h"

/* Scripts, styles and fetches from the controller itself only: no inline script or style, no
 * framing, no plugin, no form posting elsewhere. */
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"

static const struct {
    const char *ext;
    const char *type;
} ui_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
};

static const char *type_of(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof(ui_types) / sizeof(ui_types[0]); i++) {
        size_t e = strlen(ui_types[i].ext);
        if (n > e && strcmp(name + n - e, ui_types[i].ext) == 0)
            return ui_types[i].type;
    }
    return "application/octet-stream";
}

const ctl_gateway_ui_asset_t *ctl_gateway__ui_find(const char *name, size_t len)
{
    if (len == 0) {
        name = "index.html";
        len = strlen(name);
    }
    for (size_t i = 0; i < ctl_gateway_ui_n_assets; i++) {
        const ctl_gateway_ui_asset_t *a = &ctl_gateway_ui_assets[i];
        if (strlen(a->name) == len && memcmp(a->name, name, len) == 0)
            return a;
    }
    return NULL;
}

static void add_header(h2o_req_t *req, const char *name, const char *value)
{
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 0, NULL, value,
                          strlen(value));
}

static void serve_asset(h2o_req_t *req, const char *param, size_t param_len)
{
    const ctl_gateway_ui_asset_t *a = ctl_gateway__ui_find(param, param_len);
    if (a == NULL) {
        ctl_gateway__send_error(req, 0, CP_GRPC_NOT_FOUND, "no such console file");
        return;
    }
    add_header(req, "content-security-policy", UI_CSP);
    add_header(req, "x-content-type-options", "nosniff");
    add_header(req, "x-frame-options", "DENY");
    add_header(req, "referrer-policy", "no-referrer");
    /* Revalidated on every load (the files change with the binary), 304 while the ETag matches. */
    add_header(req, "cache-control", "no-cache");
    add_header(req, "etag", a->etag);
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
    if (i >= 0 && h2o_memis(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                            a->etag, strlen(a->etag))) {
        req->res.status = 304;
        req->res.reason = "Not Modified";
        h2o_send_inline(req, "", 0);
        return;
    }
    ctl_gateway__send_text(req, 200, type_of(a->name), (const char *)a->data, a->len);
}

static void serve_whoami(ctl_service_t *svc, h2o_req_t *req)
{
    ctl_caller_t caller;
    cp_err_t err = {0};
    int rc = ctl_gateway__caller(svc, req, &caller, &err);
    if (rc != 0) {
        ctl_gateway__send_error(req, 0, cp_err_grpc_status(rc), err.msg);
        return;
    }
    char body[64];
    size_t n = 0;
    body[0] = '\0';
    n += (size_t)snprintf(body, sizeof(body), "{\"scopes\":[");
    if ((caller.scopes & CTL_SCOPE_READ) == CTL_SCOPE_READ)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "\"read\",");
    if ((caller.scopes & CTL_SCOPE_EDGE) == CTL_SCOPE_EDGE)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "\"edge\",");
    if ((caller.scopes & CTL_SCOPE_ADMIN) == CTL_SCOPE_ADMIN)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "\"admin\",");
    if (body[n - 1] == ',')
        n--;
    n += (size_t)snprintf(body + n, sizeof(body) - n, "]}");
    add_header(req, "cache-control", "no-store");
    ctl_gateway__send_json(req, 200, body, n);
}

void ctl_gateway__ui(ctl_service_t *svc, h2o_req_t *req, const ctl_gateway_route_t *route,
                     const char *param, size_t param_len)
{
    if (route->kind == CTL_GW_WHOAMI)
        serve_whoami(svc, req);
    else
        serve_asset(req, param, param_len);
}
