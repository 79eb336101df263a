/* SPDX-License-Identifier: Apache-2.0 */
/* http.c - certplanectl's REST client: one libcurl handle, JSON requests, NDJSON streams */
#include "controller/cli/http.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"

/* Larger answers are refused rather than buffered (a full list page is far below this). */
#define CTL_CLI_MAX_BODY (64u * 1024 * 1024)
#define CTL_CLI_CONNECT_TIMEOUT_MS 10000L
#define CTL_CLI_CALL_TIMEOUT_MS 60000L

struct ctl_cli_http {
    CURL *curl;
    char *base; /* "http://host:port", no trailing '/' */
    char *auth; /* "Authorization: Bearer ..." or NULL */
};

typedef struct buf {
    char *p;
    size_t len;
    bool too_big;
} buf_t;

/* Stream state: lines go to fn while the status is 200; any other answer is kept in `body`. */
typedef struct stream {
    ctl_cli_http_t *h;
    buf_t line;
    buf_t body;
    ctl_cli_line_fn fn;
    void *ctx;
    int fn_rc; /* what fn returned when it stopped the stream */
    bool stopped;
} stream_t;

static void buf_add(buf_t *b, const char *data, size_t n)
{
    if (b->len + n > CTL_CLI_MAX_BODY) {
        b->too_big = true;
        return;
    }
    char *p = cp_xrealloc(b->p, b->len + n + 1);
    b->p = p;
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    buf_add(arg, data, size * nmemb);
    return size * nmemb;
}

int ctl_cli_grpc_to_err(int grpc_code)
{
    switch (grpc_code) {
    case 0:
        return 0;
    case 1:
        return CP_ECANCELED;
    case 3:
    case 11:
        return CP_EINVAL;
    case 4:
        return CP_ETIMEDOUT;
    case 5:
        return CP_ENOTFOUND;
    case 6:
        return CP_EEXIST;
    case 7:
        return CP_EPERM;
    case 8:
        return CP_ETOOBIG;
    case 9:
        return CP_ESTATE;
    case 10:
        return CP_ECONFLICT;
    case 14:
        return CP_EUNAVAIL;
    case 16:
        return CP_EAUTH;
    default:
        return CP_EPROTO;
    }
}

static int status_to_err(long status)
{
    switch (status) {
    case 400:
        return CP_EINVAL;
    case 401:
        return CP_EAUTH;
    case 403:
        return CP_EPERM;
    case 404:
        return CP_ENOTFOUND;
    case 409:
        return CP_EEXIST;
    case 413:
    case 429:
        return CP_ETOOBIG;
    case 502:
    case 503:
        return CP_EUNAVAIL;
    case 504:
        return CP_ETIMEDOUT;
    default:
        return CP_EPROTO;
    }
}

int ctl_cli_http_error(long status, const char *body, size_t len, cp_err_t *err)
{
    int code = status_to_err(status);
    json_t *doc = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *msg = json_object_get(doc, "message");
    if (json_is_string(msg) && json_string_length(msg) > 0) {
        cp_err_set(err, code, "%s", json_string_value(msg));
    } else {
        /* Not an API error body (a proxy, or a different server on that port): show its start. */
        size_t n = 0;
        while (body != NULL && n < len && n < 200 && body[n] != '\n' && body[n] != '\r')
            n++;
        cp_err_set(err, code, "HTTP %ld%s%.*s", status, n > 0 ? ": " : "", (int)n,
                   body != NULL ? body : "");
    }
    json_decref(doc);
    return code;
}

/* Translates a libcurl failure (never passed upward as a CURLcode). */
static int curl_to_err(CURLcode cc, const ctl_cli_http_t *h, cp_err_t *err)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return cp_err_set(err, CP_ETIMEDOUT, "%s: timed out", h->base);
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
        return cp_err_set(err, CP_EUNAVAIL, "%s: %s", h->base, curl_easy_strerror(cc));
    default:
        return cp_err_set(err, CP_EPROTO, "%s: %s", h->base, curl_easy_strerror(cc));
    }
}

int ctl_cli_http_new(const char *addr, const char *token, ctl_cli_http_t **out, cp_err_t *err)
{
    *out = NULL;
    if (addr == NULL || addr[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "empty controller address");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cp_err_set(err, CP_EINTERNAL, "libcurl initialisation failed");
    ctl_cli_http_t *h = cp_xcalloc(1, sizeof *h);
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        free(h);
        return cp_err_set(err, CP_EINTERNAL, "libcurl initialisation failed");
    }
    bool has_scheme = strstr(addr, "://") != NULL;
    h->base = cp_xasprintf("%s%s", has_scheme ? "" : "http://", addr);
    if (token != NULL && token[0] != '\0')
        h->auth = cp_xasprintf("Authorization: Bearer %s", token);
    size_t n = strlen(h->base);
    while (n > 0 && h->base[n - 1] == '/')
        h->base[--n] = '\0';
    *out = h;
    return 0;
}

void ctl_cli_http_free(ctl_cli_http_t *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    free(h->base);
    cp_secure_free_str(h->auth); /* the token must not linger in freed memory */
    free(h);
    curl_global_cleanup();
}

char *ctl_cli_http_escape(ctl_cli_http_t *h, const char *s)
{
    char *e = cp_xcheck(curl_easy_escape(h->curl, s, 0), "curl_easy_escape");
    char *copy = cp_xstrdup(e);
    curl_free(e);
    return copy;
}

void ctl_cli_resp_dispose(ctl_cli_resp_t *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

/* Resets the handle and sets what every request has: URL, headers, timeouts. */
static struct curl_slist *prepare(ctl_cli_http_t *h, const char *method, const char *path,
                                  const char *json_body, long timeout_ms)
{
    char *url = cp_xasprintf("%s%s", h->base, path);
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, CTL_CLI_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "certplanectl/" CERTPLANE_VERSION);
    struct curl_slist *hdr = NULL;
    if (h->auth != NULL)
        hdr = curl_slist_append(hdr, h->auth);
    if (json_body != NULL) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, json_body);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdr);
    return hdr;
}

static int perform(ctl_cli_http_t *h, const char *method, const char *path, const char *json_body,
                   ctl_cli_resp_t *resp, cp_err_t *err)
{
    memset(resp, 0, sizeof *resp);
    buf_t b = {0};
    struct curl_slist *hdr = prepare(h, method, path, json_body, CTL_CLI_CALL_TIMEOUT_MS);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &b);
    CURLcode cc = curl_easy_perform(h->curl);
    curl_slist_free_all(hdr);
    int rc = 0;
    if (cc != CURLE_OK)
        rc = curl_to_err(cc, h, err);
    else if (b.too_big)
        rc = cp_err_set(err, CP_ETOOBIG, "%s%s: answer larger than %u bytes", h->base, path,
                        CTL_CLI_MAX_BODY);
    if (rc != 0) {
        free(b.p);
        return rc;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body = b.p != NULL ? b.p : cp_xstrdup("");
    resp->len = b.len;
    return 0;
}

int ctl_cli_http_call(ctl_cli_http_t *h, const char *method, const char *path,
                      const char *json_body, ctl_cli_resp_t *resp, cp_err_t *err)
{
    int rc = perform(h, method, path, json_body, resp, err);
    if (rc != 0 || (resp->status >= 200 && resp->status < 300))
        return rc;
    rc = ctl_cli_http_error(resp->status, resp->body, resp->len, err);
    ctl_cli_resp_dispose(resp);
    return rc;
}

int ctl_cli_http_get_any(ctl_cli_http_t *h, const char *path, ctl_cli_resp_t *resp, cp_err_t *err)
{
    return perform(h, "GET", path, NULL, resp, err);
}

/* Hands complete lines to the callback; keeps a partial last line for the next chunk. */
static size_t on_stream(char *data, size_t size, size_t nmemb, void *arg)
{
    stream_t *s = arg;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(s->h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        buf_add(&s->body, data, n);
        return n;
    }
    buf_add(&s->line, data, n);
    if (s->line.too_big)
        return 0;
    size_t start = 0;
    for (size_t i = 0; i < s->line.len; i++) {
        if (s->line.p[i] != '\n')
            continue;
        s->line.p[i] = '\0';
        int rc = i > start ? s->fn(s->ctx, s->line.p + start, i - start) : 0;
        start = i + 1;
        if (rc != 0) {
            s->fn_rc = rc < 0 ? rc : 0;
            s->stopped = true;
            return 0; /* makes libcurl end the transfer */
        }
    }
    memmove(s->line.p, s->line.p + start, s->line.len - start);
    s->line.len -= start;
    return n;
}

int ctl_cli_http_stream(ctl_cli_http_t *h, const char *path, int64_t timeout_ms, ctl_cli_line_fn fn,
                        void *ctx, cp_err_t *err)
{
    stream_t s = {.h = h, .fn = fn, .ctx = ctx};
    struct curl_slist *hdr = prepare(h, "GET", path, NULL, (long)timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &s);
    CURLcode cc = curl_easy_perform(h->curl);
    curl_slist_free_all(hdr);
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (s.stopped)
        rc = s.fn_rc;
    else if (s.line.too_big)
        rc = cp_err_set(err, CP_ETOOBIG, "watch: a line longer than %u bytes", CTL_CLI_MAX_BODY);
    else if (cc != CURLE_OK)
        rc = curl_to_err(cc, h, err);
    else if (status != 200)
        rc = ctl_cli_http_error(status, s.body.p, s.body.len, err);
    else if (s.line.len > 0) /* a last line without '\n' */
        rc = fn(ctx, s.line.p, s.line.len);
    if (rc > 0)
        rc = 0;
    free(s.line.p);
    free(s.body.p);
    return rc;
}
