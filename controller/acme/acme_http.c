/* SPDX-License-Identifier: Apache-2.0 */
/* acme_http.c - libcurl wrapper: one request, the response as a value */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "controller/acme/acme_internal.h"
#include "shared/clock.h"
#include "shared/mem.h"

char *ctl_acme__strdup(const char *s)
{
    return s != NULL ? cp_xstrdup(s) : NULL;
}

static char *dup_range(const char *s, size_t n)
{
    char *d = cp_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

int ctl_acme__http_init(ctl_acme__http_t *h, const char *ca_file, long connect_ms, long total_ms,
                        size_t max_body, cp_err_t *err)
{
    memset(h, 0, sizeof(*h));
    h->curl = curl_easy_init();
    if (h->curl == NULL)
        return cp_err_set(err, CP_EINTERNAL, "curl_easy_init failed");
    h->ca_file = ctl_acme__strdup(ca_file);
    h->connect_ms = connect_ms;
    h->total_ms = total_ms;
    h->max_body = max_body;
    return 0;
}

void ctl_acme__http_dispose(ctl_acme__http_t *h)
{
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    free(h->ca_file);
    memset(h, 0, sizeof(*h));
}

void ctl_acme__resp_dispose(ctl_acme__resp_t *r)
{
    free(r->body);
    free(r->content_type);
    free(r->location);
    free(r->nonce);
    free(r->retry_after);
    for (size_t i = 0; i < r->n_alternates; i++)
        free(r->alternates[i]);
    memset(r, 0, sizeof(*r));
}

typedef struct recv_ctx {
    ctl_acme__resp_t *resp;
    size_t cap;
    size_t max;
    int too_big;
} recv_ctx_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    recv_ctx_t *rc = ud;
    size_t n = size * nmemb;
    ctl_acme__resp_t *r = rc->resp;
    if (r->len + n > rc->max) {
        rc->too_big = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (r->len + n + 1 > rc->cap) {
        size_t cap = rc->cap ? rc->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        r->body = cp_xrealloc(r->body, cap);
        rc->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* Parses one Link header value (possibly several comma-separated links) and keeps rel="alternate".
 */
static void parse_link(ctl_acme__resp_t *r, const char *v, size_t n)
{
    const char *end = v + n;
    while (v < end) {
        const char *lt = memchr(v, '<', (size_t)(end - v));
        if (lt == NULL)
            return;
        const char *gt = memchr(lt, '>', (size_t)(end - lt));
        if (gt == NULL)
            return;
        const char *next = memchr(gt, ',', (size_t)(end - gt));
        const char *params_end = next ? next : end;
        char *params = dup_range(gt + 1, (size_t)(params_end - gt - 1));
        for (char *p = params; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        int alt = strstr(params, "rel=\"alternate\"") != NULL || strstr(params, "rel=alternate");
        free(params);
        if (alt && r->n_alternates < CTL_ACME__MAX_LINKS)
            r->alternates[r->n_alternates++] = dup_range(lt + 1, (size_t)(gt - lt - 1));
        v = params_end + (next ? 1 : 0);
    }
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    recv_ctx_t *rc = ud;
    ctl_acme__resp_t *r = rc->resp;
    size_t n = size * nmemb;
    const char *colon = memchr(data, ':', n);
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or 100-continue): forget the headers of the previous
         * one. */
        free(r->location), r->location = NULL;
        for (size_t i = 0; i < r->n_alternates; i++)
            free(r->alternates[i]), r->alternates[i] = NULL;
        r->n_alternates = 0;
        return n;
    }
    if (colon == NULL)
        return n;
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vlen = (size_t)(end - v);
    char **slot = NULL;
    if (nlen == 12 && strncasecmp(data, "Replay-Nonce", 12) == 0)
        slot = &r->nonce;
    else if (nlen == 8 && strncasecmp(data, "Location", 8) == 0)
        slot = &r->location;
    else if (nlen == 11 && strncasecmp(data, "Retry-After", 11) == 0)
        slot = &r->retry_after;
    else if (nlen == 12 && strncasecmp(data, "Content-Type", 12) == 0)
        slot = &r->content_type;
    else if (nlen == 4 && strncasecmp(data, "Link", 4) == 0)
        parse_link(r, v, vlen);
    if (slot != NULL) {
        free(*slot);
        *slot = dup_range(v, vlen);
    }
    return n;
}

/* Failures that another attempt cannot cure: the server's certificate is not trusted (unknown CA,
 * wrong name, pinned key) or the URL itself is unusable. Retrying them only burns the deadline. */
static int tls_untrusted(CURLcode cc)
{
    return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
           cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
           cc == CURLE_SSL_INVALIDCERTSTATUS || cc == CURLE_SSL_CRL_BADFILE;
}

static int map_curl_error(ctl_acme__http_t *h, CURLcode cc, const recv_ctx_t *rc, long total_ms,
                          const char *method, const char *url, const char *detail, cp_err_t *err)
{
    const char *why = detail[0] ? detail : curl_easy_strerror(cc);
    if (rc->too_big) {
        h->permanent = 1;
        return cp_err_set(err, CP_ETOOBIG, "%s %s: response body larger than the cap of %zu bytes",
                          method, url, rc->max);
    }
    if (tls_untrusted(cc)) {
        h->permanent = 1;
        return cp_err_set(err, CP_EUNAVAIL,
                          "%s %s: the server's TLS certificate was not trusted: %s", method, url,
                          why);
    }
    if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT) {
        h->permanent = 1;
        return cp_err_set(err, CP_EUNAVAIL, "%s %s: unusable URL: %s", method, url, why);
    }
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return cp_err_set(err, CP_ETIMEDOUT, "%s %s: no answer within %ld ms%s: %s", method, url,
                          total_ms, total_ms < h->total_ms ? " (the operation's deadline)" : "",
                          why);
    return cp_err_set(err, CP_EUNAVAIL, "%s %s: %s", method, url, why);
}

int ctl_acme__http_request(ctl_acme__http_t *h, const char *method, const char *url,
                           const char *body, long timeout_ms, ctl_acme__resp_t *resp, cp_err_t *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    recv_ctx_t rc = {.resp = resp, .max = h->max_body};
    CURL *cu = h->curl;
    long total = h->total_ms;
    int rcode = 0;

    memset(resp, 0, sizeof(*resp));
    h->permanent = 0;
    if (timeout_ms > 0 && timeout_ms < total)
        total = timeout_ms;
    curl_easy_reset(cu);
    curl_easy_setopt(cu, CURLOPT_URL, url);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, h->connect_ms);
    if (total <= 0)
        total = 1;
    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, total);
    curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(cu, CURLOPT_USERAGENT, "certplane/" CERTPLANE_VERSION);
    curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, &rc);
    curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(cu, CURLOPT_HEADERDATA, &rc);
    if (h->ca_file != NULL)
        curl_easy_setopt(cu, CURLOPT_CAINFO, h->ca_file);
    if (strcmp(method, "POST") == 0) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/jose+json");
        curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(cu, CURLOPT_NOBODY, 1L);
    }
    int64_t t0 = cp_clock_mono_ns();
    CURLcode cc = curl_easy_perform(cu);
    if (h->observe != NULL)
        h->observe((double)(cp_clock_mono_ns() - t0) / 1e9);
    if (cc != CURLE_OK) {
        rcode = map_curl_error(h, cc, &rc, total, method, url, errbuf, err);
        ctl_acme__resp_dispose(resp);
        goto out;
    }
    curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &resp->status);
    if (resp->body == NULL)
        resp->body = ctl_acme__strdup("");
out:
    curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    return rcode;
}

int ctl_acme__resp_json(const ctl_acme__resp_t *r, const char *what, json_t **out, cp_err_t *err)
{
    json_error_t je;
    json_t *j = json_loadb(r->body ? r->body : "", r->len, 0, &je);
    if (j == NULL || !json_is_object(j)) {
        json_decref(j);
        return cp_err_set(err, CP_EPROTO, "%s: response is not a JSON object (HTTP %ld)", what,
                          r->status);
    }
    *out = j;
    return 0;
}
