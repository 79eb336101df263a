/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_req.c - one REST request: auth, body + path + query into a request message, call, answer
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/gateway/gateway_internal.h"
#include "controller/metrics/metrics.h"
#include "shared/json.h"

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 499:
        return "Client Closed Request";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Internal Server Error";
    }
}

void ctl_gateway__send_json(h2o_req_t *req, int status, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json"));
    h2o_send_inline(req, body, len); /* copies the body into the request's pool */
}

void ctl_gateway__send_error(h2o_req_t *req, int http_status, int grpc_code, const char *msg)
{
    if (http_status == 0)
        http_status = ctl_gateway_http_status(grpc_code);
    json_t *j = json_pack("{s:i,s:s?,s:[]}", "code", grpc_code, "message", msg, "details");
    /* A message that is not UTF-8 (it may quote client input) still gets a valid body. */
    if (j == NULL)
        j = json_pack("{s:i,s:s,s:[]}", "code", grpc_code, "message", "(unprintable message)",
                      "details");
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL)
        abort();
    if (http_status == 401)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer"));
    ctl_gateway__send_json(req, http_status, text, strlen(text));
    free(text);
}

static void format_peer(h2o_req_t *req, char *out, size_t size)
{
    struct sockaddr_storage ss;
    char host[INET6_ADDRSTRLEN] = "?";
    socklen_t sl = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    snprintf(out, size, "unknown");
    if (sl == 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        snprintf(out, size, "ipv4:%s:%u", host, (unsigned)ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        snprintf(out, size, "ipv6:[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
    }
}

int ctl_gateway__caller(ctl_gateway_t *g, h2o_req_t *req, ctl_caller_t *caller, cp_err_t *err)
{
    char peer[64];
    const char *token = NULL;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    format_peer(req, peer, sizeof(peer));
    if (i >= 0) {
        h2o_iovec_t v = req->headers.entries[i].value;
        if (v.len > 7 && strncasecmp(v.base, "Bearer ", 7) == 0) {
            size_t off = 7;
            while (off < v.len && v.base[off] == ' ')
                off++;
            char *t = h2o_mem_alloc_pool(&req->pool, v.len - off + 1);
            memcpy(t, v.base + off, v.len - off);
            t[v.len - off] = '\0';
            token = t;
        }
    }
    return ctl_service_authenticate(g->svc, token, peer, caller, err);
}

/* Percent-decodes n bytes of s into out (room for n + 1); '+' is a space in query strings.
 * Returns -1 for a bad escape or a NUL byte. */
static int pct_decode(const char *s, size_t n, bool plus_space, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            if (!isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
                return -1;
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            c = (char)strtol(hex, NULL, 16);
            i += 2;
        } else if (c == '+' && plus_space) {
            c = ' ';
        }
        if (c == '\0')
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

/* A field by its proto name or its lowerCamelCase JSON name. */
static const ProtobufCFieldDescriptor *field_by_any_name(const ProtobufCMessageDescriptor *d,
                                                         const char *key)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        const char *n = d->fields[i].name;
        char camel[128];
        size_t o = 0;
        if (strcmp(n, key) == 0)
            return &d->fields[i];
        for (size_t k = 0; n[k] != '\0' && o + 1 < sizeof(camel); k++) {
            if (n[k] == '_' && n[k + 1] != '\0')
                camel[o++] = (char)toupper((unsigned char)n[++k]);
            else
                camel[o++] = n[k];
        }
        camel[o] = '\0';
        if (strcmp(camel, key) == 0)
            return &d->fields[i];
    }
    return NULL;
}

/* The JSON value of a query parameter for field f. */
static int query_value(const ProtobufCFieldDescriptor *f, const char *v, json_t **out,
                       cp_err_t *err)
{
    char *end;
    *out = NULL;
    if (f->label == PROTOBUF_C_LABEL_REPEATED || f->type == PROTOBUF_C_TYPE_MESSAGE)
        return cp_err_set(err, CP_EINVAL, "%s: not accepted as a query parameter", f->name);
    if (f->type == PROTOBUF_C_TYPE_BOOL) {
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
            *out = json_true();
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
            *out = json_false();
        else
            return cp_err_set(err, CP_EINVAL, "%s: expected true or false", f->name);
        return 0;
    }
    if (f->type == PROTOBUF_C_TYPE_ENUM && v[0] != '\0' && strtoll(v, &end, 10) >= 0 &&
        *end == '\0')
        *out = json_integer(strtoll(v, NULL, 10));
    else if ((f->type == PROTOBUF_C_TYPE_FLOAT || f->type == PROTOBUF_C_TYPE_DOUBLE) &&
             (strtod(v, &end), *end == '\0' && v[0] != '\0'))
        *out = json_real(strtod(v, NULL));
    else
        *out = json_string(v);
    if (*out == NULL)
        return cp_err_set(err, CP_EINVAL, "%s: not valid UTF-8", f->name);
    return 0;
}

static int merge_query(h2o_req_t *req, const ProtobufCMessageDescriptor *desc, json_t *obj,
                       cp_err_t *err)
{
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *q = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q)), *stop = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q)), *kend = eq ? eq : stop;
        char *key = h2o_mem_alloc_pool(&req->pool, (size_t)(kend - q) + 1);
        char *val = h2o_mem_alloc_pool(&req->pool, eq ? (size_t)(stop - eq) : 1);
        if (pct_decode(q, (size_t)(kend - q), true, key) != 0 ||
            pct_decode(eq ? eq + 1 : "", eq ? (size_t)(stop - eq - 1) : 0, true, val) != 0)
            return cp_err_set(err, CP_EINVAL, "query: invalid percent-encoding");
        q = stop + 1;
        if (key[0] == '\0')
            continue;
        const ProtobufCFieldDescriptor *f = field_by_any_name(desc, key);
        if (f == NULL)
            return cp_err_set(err, CP_EINVAL, "unknown query parameter \"%.64s\"", key);
        if (json_object_get(obj, f->name) != NULL)
            return cp_err_set(err, CP_EINVAL, "%s: given more than once", f->name);
        json_t *v;
        int rc = query_value(f, val, &v, err);
        if (rc != 0)
            return rc;
        json_object_set_new(obj, f->name, v);
    }
    return 0;
}

/* Puts the percent-decoded path parameter into obj under the pattern's parameter name. */
static int merge_param(h2o_req_t *req, const ctl_gateway_route_t *route, const char *param,
                       size_t param_len, json_t *obj, cp_err_t *err)
{
    const char *open = strchr(route->pattern, '{');
    if (open == NULL)
        return 0;
    char name[32];
    size_t nl = (size_t)(strchr(open, '}') - open - 1);
    snprintf(name, sizeof(name), "%.*s", (int)nl, open + 1);
    char *v = h2o_mem_alloc_pool(&req->pool, param_len + 1);
    if (pct_decode(param, param_len, false, v) != 0)
        return cp_err_set(err, CP_EINVAL, "%s: invalid percent-encoding in the path", name);
    json_t *have = json_object_get(obj, name);
    if (have != NULL && (!json_is_string(have) || strcmp(json_string_value(have), v) != 0))
        return cp_err_set(err, CP_EINVAL, "%s: the body says \"%.64s\" but the path says \"%.64s\"",
                          name, json_is_string(have) ? json_string_value(have) : "?", v);
    json_t *s = json_string(v);
    if (s == NULL)
        return cp_err_set(err, CP_EINVAL, "%s: not valid UTF-8", name);
    json_object_set_new(obj, name, s);
    return 0;
}

static bool is_json_type(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0)
        return false;
    h2o_iovec_t v = req->headers.entries[i].value;
    size_t n = sizeof("application/json") - 1;
    return v.len >= n && strncasecmp(v.base, "application/json", n) == 0 &&
           (v.len == n || v.base[n] == ';' || v.base[n] == ' ');
}

/* The body as a JSON object in proto field names, or an empty object when there is none. */
static int decode_body(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route,
                       const ProtobufCMessageDescriptor *desc, json_t **obj, int *http_status,
                       cp_err_t *err)
{
    size_t max = g->opts.max_body;
    if (req->entity.base == NULL || req->entity.len == 0) {
        *obj = json_object();
        return 0;
    }
    if (route->body == CTL_GW_BODY_NONE)
        return cp_err_set(err, CP_EINVAL, "%s %s takes no request body", route->method,
                          route->pattern);
    if (req->entity.len > max) {
        *http_status = 413;
        return cp_err_set(err, CP_ETOOBIG, "request body larger than %zu bytes", max);
    }
    if (!is_json_type(req)) {
        *http_status = 415;
        return cp_err_set(err, CP_EINVAL, "Content-Type must be application/json");
    }
    const ProtobufCMessageDescriptor *bdesc = desc;
    if (route->body_field != NULL)
        bdesc =
            protobuf_c_message_descriptor_get_field_by_name(desc, route->body_field)->descriptor;
    ProtobufCMessage *m = NULL;
    int rc = cp_json_decode(bdesc, req->entity.base, req->entity.len, 0, &m, err);
    if (rc != 0)
        return rc == CP_ETOOBIG ? (*http_status = 413, rc) : rc;
    json_t *j = cp_json_to_jansson(m, CP_JSON_ORIG_NAMES, err);
    protobuf_c_message_free_unpacked(m, NULL);
    if (j == NULL)
        return CP_EINVAL;
    if (route->body_field != NULL) {
        *obj = json_object();
        json_object_set_new(*obj, route->body_field, j);
    } else {
        *obj = j;
    }
    return 0;
}

int ctl_gateway__decode(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route,
                        const ProtobufCMessageDescriptor *desc, const char *param, size_t param_len,
                        ProtobufCMessage **out, int *http_status, cp_err_t *err)
{
    json_t *obj = NULL;
    *out = NULL;
    *http_status = 400;
    int rc = decode_body(g, req, route, desc, &obj, http_status, err);
    if (rc == 0)
        rc = merge_param(req, route, param, param_len, obj, err);
    if (rc == 0)
        rc = merge_query(req, desc, obj, err);
    if (rc == 0)
        rc = cp_json_from_jansson(desc, obj, 0, out, err);
    json_decref(obj);
    return rc;
}

/* The slot of the encoded-answer cache for a certificate name (FNV-1a). */
static ctl_gateway__json_slot_t *json_slot(ctl_gateway_t *g, const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p != '\0'; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return &g->json_cache[h % CTL_GATEWAY__JSON_SLOTS];
}

static void json_slot_clear(ctl_gateway__json_slot_t *s)
{
    free(s->packed);
    free(s->text);
    memset(s, 0, sizeof *s);
}

void ctl_gateway__json_cache_free(ctl_gateway_t *g)
{
    for (size_t i = 0; i < CTL_GATEWAY__JSON_SLOTS; i++)
        json_slot_clear(&g->json_cache[i]);
    free(g->json_scratch);
    g->json_scratch = NULL;
    g->json_scratch_size = 0;
}

static void *xmemdup(const void *p, size_t n)
{
    void *d = malloc(n != 0 ? n : 1);
    if (d == NULL)
        abort();
    memcpy(d, p, n);
    return d;
}

/* Encodes an RPC's answer into *text (malloc'd). A key-less certificate whose exact content was
 * encoded before (same protobuf bytes) copies that encoding instead: the JSON encoding was a third
 * of a GetCertificate's CPU, packing and comparing costs a few percent of it. A certificate
 * carrying its private key is never cached. */
static int encode_answer(ctl_gateway_t *g, const ProtobufCMessage *resp, char **text, size_t *len,
                         cp_err_t *err)
{
    const Certplane__V1__Certificate *c = (const void *)resp;
    if (resp->descriptor != &certplane__v1__certificate__descriptor || c->name == NULL ||
        c->private_key_pem == NULL || c->private_key_pem[0] != '\0')
        return cp_json_encode(resp, 0, text, len, err);
    size_t n = protobuf_c_message_get_packed_size(resp);
    if (n > g->json_scratch_size) {
        free(g->json_scratch);
        g->json_scratch = malloc(n);
        if (g->json_scratch == NULL)
            abort();
        g->json_scratch_size = n;
    }
    protobuf_c_message_pack(resp, g->json_scratch);
    ctl_gateway__json_slot_t *s = json_slot(g, c->name);
    if (s->packed == NULL || s->packed_len != n || memcmp(s->packed, g->json_scratch, n) != 0) {
        char *t = NULL;
        size_t tn = 0;
        int rc = cp_json_encode(resp, 0, &t, &tn, err);
        if (rc != 0)
            return rc;
        json_slot_clear(s);
        s->packed = xmemdup(g->json_scratch, n);
        s->packed_len = n;
        s->text = t;
        s->len = tn;
    }
    *text = xmemdup(s->text, s->len + 1);
    *len = s->len;
    return 0;
}

void ctl_gateway__rpc(ctl_gateway_t *g, h2o_req_t *req, const ctl_gateway_route_t *route,
                      const char *param, size_t param_len)
{
    const ctl_rpc_t *rpc = ctl_service_rpc_by_name(route->rpc);
    ProtobufCMessage *in = NULL, *resp = NULL;
    ctl_caller_t caller;
    cp_err_t err = {0};
    int http_status = 0;
    char *text = NULL;
    size_t len = 0;
    int rc;
    if (rpc == NULL) {
        ctl_gateway__send_error(req, 501, 12, "not implemented");
        return;
    }
    rc = ctl_gateway__caller(g, req, &caller, &err);
    if (rc == 0)
        rc = ctl_gateway__decode(g, req, route, rpc->input, param, param_len, &in, &http_status,
                                 &err);
    else
        http_status = 0;
    if (rc == 0) {
        http_status = 0;
        ctl_thread_t *t = ctl_gateway__thread(g);
        rc = t == NULL ? cp_err_set(&err, CP_EUNAVAIL, "storage unavailable")
                       : ctl_service_invoke(g->svc, t, &caller, rpc, in, &resp, &err);
    }
    if (rc == 0 && encode_answer(g, resp, &text, &len, &err) != 0)
        rc = CP_EINTERNAL; /* the answer could not be encoded: our fault, not the client's */
    int code = cp_err_grpc_status(rc);
    ctl_metrics_request("http", rpc->name, code);
    if (rc == 0)
        ctl_gateway__send_json(req, 200, text, len);
    else
        ctl_gateway__send_error(req, http_status, code, err.msg[0] ? err.msg : cp_strerror(rc));
    free(text);
    if (in != NULL)
        protobuf_c_message_free_unpacked(in, NULL);
    if (resp != NULL)
        protobuf_c_message_free_unpacked(resp, NULL);
}
