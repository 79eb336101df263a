/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_util.c - JSON and error answers, the caller, and the request message built in one pass */
#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/gateway/gateway_util.h"
#include "shared/json.h"
#include "shared/mem.h"
#include "shared/status.h"

void ctl_gateway__send_text(h2o_req_t *req, int status, const char *type, const char *body,
                            size_t len)
{
    req->res.status = status;
    req->res.reason = cp_http_reason(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_send_inline(req, body, len); /* copies the body into the request's pool */
}

void ctl_gateway__send_json(h2o_req_t *req, int status, const char *body, size_t len)
{
    ctl_gateway__send_text(req, status, "application/json", body, len);
}

void ctl_gateway__send_error(h2o_req_t *req, int http_status, int grpc_code, const char *msg)
{
    if (http_status == 0)
        http_status = cp_grpc_http_status(grpc_code);
    json_t *j = json_pack("{s:i,s:s?,s:[]}", "code", grpc_code, "message", msg, "details");
    /* A message that is not UTF-8 (it may quote client input) still gets a valid body. */
    if (j == NULL)
        j = json_pack("{s:i,s:s,s:[]}", "code", grpc_code, "message", "(unprintable message)",
                      "details");
    char *text = cp_xcheck(json_dumps(j, JSON_COMPACT), "json_dumps");
    json_decref(j);
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

int ctl_gateway__caller(ctl_service_t *svc, h2o_req_t *req, ctl_caller_t *caller, cp_err_t *err)
{
    char peer[64];
    const char *token = NULL;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    format_peer(req, peer, sizeof(peer));
    if (i >= 0) {
        h2o_iovec_t v = req->headers.entries[i].value;
        size_t n = 0;
        const char *b = ctl_service_bearer(v.base, v.len, &n);
        if (b != NULL) {
            char *t = h2o_mem_alloc_pool(&req->pool, n + 1);
            memcpy(t, b, n);
            t[n] = '\0';
            token = t;
        }
    }
    return ctl_service_authenticate(svc, token, peer, caller, err);
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

/* The lowerCamelCase JSON name of a proto field name ("page_size" -> "pageSize"). */
static void camel_name(const char *n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t k = 0; n[k] != '\0' && o + 1 < size; k++) {
        if (n[k] == '_' && n[k + 1] != '\0')
            out[o++] = (char)toupper((unsigned char)n[++k]);
        else
            out[o++] = n[k];
    }
    out[o] = '\0';
}

/* A field by its proto name or its lowerCamelCase JSON name. */
static const ProtobufCFieldDescriptor *field_by_any_name(const ProtobufCMessageDescriptor *d,
                                                         const char *key)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        char camel[128];
        if (strcmp(d->fields[i].name, key) == 0)
            return &d->fields[i];
        camel_name(d->fields[i].name, camel, sizeof(camel));
        if (strcmp(camel, key) == 0)
            return &d->fields[i];
    }
    return NULL;
}

/* The value the body gave field f, under either spelling; NULL when none. */
static json_t *body_value(json_t *obj, const ProtobufCFieldDescriptor *f)
{
    char camel[128];
    json_t *v = json_object_get(obj, f->name);
    if (v != NULL)
        return v;
    camel_name(f->name, camel, sizeof(camel));
    return json_object_get(obj, camel);
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
        if (body_value(obj, f) != NULL)
            return cp_err_set(err, CP_EINVAL, "%s: given more than once", f->name);
        json_t *v;
        int rc = query_value(f, val, &v, err);
        if (rc != 0)
            return rc;
        json_object_set_new(obj, f->name, v);
    }
    return 0;
}

/* Puts the percent-decoded path parameter into obj under the pattern's parameter name, unless
 * the body already gave the same value (under either spelling). */
static int merge_param(h2o_req_t *req, const ctl_gateway_route_t *route,
                       const ProtobufCMessageDescriptor *desc, const char *param, size_t param_len,
                       json_t *obj, cp_err_t *err)
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
    const ProtobufCFieldDescriptor *f = field_by_any_name(desc, name);
    json_t *have = f != NULL ? body_value(obj, f) : json_object_get(obj, name);
    if (have != NULL && json_is_string(have) && strcmp(json_string_value(have), v) == 0)
        return 0;
    if (have != NULL)
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

/* Parses the body (once) into *obj: the request object, or {body_field: body}; an empty body
 * gives an empty object. */
static int parse_body(h2o_req_t *req, size_t max, const ctl_gateway_route_t *route, json_t **obj,
                      int *http_status, cp_err_t *err)
{
    if (req->entity.base == NULL || req->entity.len == 0) {
        *obj = json_object();
        return 0;
    }
    if (route->body == CTL_GW_BODY_NONE)
        return cp_err_set(err, CP_EINVAL, "%s %s takes no request body", route->method,
                          route->pattern);
    if (req->entity.len > max || req->entity.len > CP_JSON_MAX_SIZE) {
        *http_status = 413;
        return cp_err_set(err, CP_ETOOBIG, "request body larger than %zu bytes", max);
    }
    if (!is_json_type(req)) {
        *http_status = 415;
        return cp_err_set(err, CP_EINVAL, "Content-Type must be application/json");
    }
    /* The flags of cp_json_decode: NULs reach the decoder, which names the field. */
    json_error_t jerr;
    json_t *j = json_loadb(req->entity.base, req->entity.len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (j == NULL)
        return cp_err_set(err, CP_EINVAL, "invalid JSON at line %d column %d: %s", jerr.line,
                          jerr.column, jerr.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return cp_err_set(err, CP_EINVAL, "document is not an object");
    }
    if (route->body_field != NULL) {
        *obj = json_object();
        json_object_set_new(*obj, route->body_field, j);
    } else {
        *obj = j;
    }
    return 0;
}

int ctl_gateway__decode(h2o_req_t *req, size_t max_body, const ctl_gateway_route_t *route,
                        const ProtobufCMessageDescriptor *desc, const char *param, size_t param_len,
                        ProtobufCMessage **out, int *http_status, cp_err_t *err)
{
    json_t *obj = NULL;
    *out = NULL;
    *http_status = 400;
    int rc = parse_body(req, max_body, route, &obj, http_status, err);
    if (rc == 0)
        rc = merge_param(req, route, desc, param, param_len, obj, err);
    if (rc == 0)
        rc = merge_query(req, desc, obj, err);
    if (rc == 0)
        rc = cp_json_from_jansson(desc, obj, 0, out, err);
    json_decref(obj);
    return rc;
}
