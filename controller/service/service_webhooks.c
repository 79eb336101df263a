/* SPDX-License-Identifier: Apache-2.0 */
/* service_webhooks.c - the webhook subscription RPCs (service_webhooks.h) */
#include "controller/service/service_webhooks.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "controller/service/service_util.h"
#include "controller/store/store_webhooks.h"
#include "controller/work/webhook_sign.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

#define URL_MAX 2048
#define FILTER_MAX 253
#define DEAD_LIST_MAX 1000

static const char *const k_types[] = {"issued",  "renewed", "renewal_failed", "expiring_soon",
                                      "revoked", "deleted", "edge_lagging"};
#define N_TYPES (sizeof k_types / sizeof k_types[0])

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

static int check_url(const char *url, cp_err_t *err)
{
    if (url == NULL || url[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "url: required");
    if (strlen(url) > URL_MAX)
        return cp_err_set(err, CP_EINVAL, "url: longer than %d bytes", URL_MAX);
    if (!printable(url))
        return cp_err_set(err, CP_EINVAL, "url: spaces and control characters are not allowed");
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return cp_err_set(err, CP_EINVAL, "url: must start with http:// or https://");
    CURLU *u = curl_url();
    char *host = NULL;
    int ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host != NULL &&
             host[0] != '\0';
    curl_free(host);
    curl_url_cleanup(u);
    if (!ok)
        return cp_err_set(err, CP_EINVAL, "url: not a valid URL with a host");
    return 0;
}

int ctl_service__webhook_check(const Certplane__V1__CreateWebhookRequest *r, cp_err_t *err)
{
    int rc = check_url(r->url, err);
    if (rc != 0)
        return rc;
    if (r->n_events == 0)
        return cp_err_set(err, CP_EINVAL, "events: at least one event type is required");
    if (r->n_events > N_TYPES)
        return cp_err_set(err, CP_EINVAL, "events: at most %zu event types", N_TYPES);
    for (size_t i = 0; i < r->n_events; i++) {
        size_t k = 0;
        while (k < N_TYPES && strcmp(k_types[k], r->events[i]) != 0)
            k++;
        if (k == N_TYPES)
            return cp_err_set(err, CP_EINVAL,
                              "events[%zu]: unknown event type \"%.64s\" (issued, renewed, "
                              "renewal_failed, expiring_soon, revoked, deleted, edge_lagging)",
                              i, r->events[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->events[j], r->events[i]) == 0)
                return cp_err_set(err, CP_EINVAL, "events[%zu]: \"%s\" given twice", i,
                                  r->events[i]);
    }
    if (r->name_filter != NULL && strlen(r->name_filter) > FILTER_MAX)
        return cp_err_set(err, CP_EINVAL, "name_filter: longer than %d characters", FILTER_MAX);
    if (r->name_filter != NULL && !printable(r->name_filter))
        return cp_err_set(err, CP_EINVAL, "name_filter: printable characters without spaces only");
    return 0;
}

/* A Webhook message from a stored subscription (secret: NULL for none). */
static Certplane__V1__Webhook *to_msg(const ctl_store_webhook_t *w, const char *secret)
{
    Certplane__V1__Webhook *m = cp_xcalloc(1, sizeof *m);
    certplane__v1__webhook__init(m);
    m->id = cp_xstrdup(w->id);
    m->url = cp_xstrdup(w->url);
    m->name_filter = cp_xstrdup(w->name_filter);
    m->secret = cp_xstrdup(secret != NULL ? secret : "");
    m->create_time = cp_clock_ts_new(w->create_ms);
    for (const char *p = w->events; *p;) {
        size_t n = strcspn(p, ",");
        m->events = cp_xrealloc(m->events, (m->n_events + 1) * sizeof *m->events);
        m->events[m->n_events++] = cp_xstrndup(p, n);
        p += n + (p[n] == ',');
    }
    return m;
}

int ctl_service__webhook_create(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                                const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__CreateWebhookRequest *r = (const void *)req;
    (void)svc;
    int rc = ctl_service__webhook_check(r, err);
    if (rc != 0)
        return rc;
    unsigned char raw[8];
    char id[24], secret[CTL_WEBHOOK_SECRET_SIZE], events[160] = "";
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return cp_err_set(err, CP_EINTERNAL, "webhook: no randomness");
    snprintf(id, sizeof id, "wh_");
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(id + 3 + 2 * i, 3, "%02x", raw[i]);
    for (size_t i = 0; i < r->n_events; i++)
        snprintf(events + strlen(events), sizeof events - strlen(events), "%s%s", i ? "," : "",
                 r->events[i]);
    rc = ctl_webhook_secret_new(secret, err);
    if (rc != 0)
        return cp_err_set(err, CP_EINTERNAL, "webhook: %s", err->msg);
    ctl_store_webhook_t w = {.id = id,
                             .url = r->url,
                             .events = events,
                             .name_filter = r->name_filter != NULL ? r->name_filter : "",
                             .create_ms = cp_clock_wall_ms(),
                             .secret = secret};
    rc = ctl_store_webhook_put(t->store, &w, err);
    if (rc == 0) {
        *resp = &to_msg(&w, secret)->base;
        CP_LOG(CP_LOG_INFO, "service", "webhook %s created by %s for %s (%s)", id, caller->token_id,
               r->url, events);
    } else if (rc != CP_ETOOBIG) {
        rc = ctl_service__store_fail(rc, err);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

int ctl_service__webhook_list(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                              const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    (void)svc, (void)caller, (void)req;
    ctl_store_webhook_t *w = NULL;
    size_t n = 0;
    int rc = ctl_store_webhook_list(t->store, false, &w, &n, err);
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    Certplane__V1__ListWebhooksResponse *out = cp_xcalloc(1, sizeof *out);
    certplane__v1__list_webhooks_response__init(out);
    out->webhooks = n > 0 ? cp_xcalloc(n, sizeof *out->webhooks) : NULL;
    for (size_t i = 0; i < n; i++)
        out->webhooks[out->n_webhooks++] = to_msg(&w[i], NULL);
    ctl_store_webhooks_free(w, n);
    *resp = &out->base;
    return 0;
}

int ctl_service__webhook_delete(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                                const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    const Certplane__V1__DeleteWebhookRequest *r = (const void *)req;
    (void)svc;
    size_t n = r->id != NULL ? strlen(r->id) : 0;
    if (n != 19 || strncmp(r->id, "wh_", 3) != 0 || strspn(r->id + 3, "0123456789abcdef") != 16)
        return cp_err_set(err, CP_EINVAL, "id: not a webhook ID (wh_ and 16 hex digits)");
    int rc = ctl_store_webhook_delete(t->store, r->id, err);
    if (rc != 0)
        return rc == CP_ENOTFOUND ? rc : ctl_service__store_fail(rc, err);
    CP_LOG(CP_LOG_INFO, "service", "webhook %s deleted by %s", r->id, caller->token_id);
    Certplane__V1__DeleteWebhookResponse *out = cp_xcalloc(1, sizeof *out);
    certplane__v1__delete_webhook_response__init(out);
    *resp = &out->base;
    return 0;
}

/* A dead letter "id\tsub\ttype\tattempts\tdead_ms\terror\tbody" as a message; NULL if malformed. */
static Certplane__V1__WebhookDeadLetter *dead_msg(const char *e)
{
    const char *f[7];
    size_t len[7];
    for (int i = 0; i < 7; i++) {
        const char *tab = i < 6 ? strchr(e, '\t') : e + strlen(e);
        if (tab == NULL)
            return NULL;
        f[i] = e, len[i] = (size_t)(tab - e);
        e = tab + (i < 6);
    }
    Certplane__V1__WebhookDeadLetter *m = cp_xcalloc(1, sizeof *m);
    certplane__v1__webhook_dead_letter__init(m);
    m->delivery_id = cp_xstrndup(f[0], len[0]);
    m->webhook_id = cp_xstrndup(f[1], len[1]);
    m->type = cp_xstrndup(f[2], len[2]);
    m->attempts = (int32_t)strtol(f[3], NULL, 10);
    m->dead_time = cp_clock_ts_new(strtoll(f[4], NULL, 10));
    m->last_error = cp_xstrndup(f[5], len[5]);
    m->payload = cp_xstrndup(f[6], len[6]);
    return m;
}

int ctl_service__webhook_dead(ctl_service_t *svc, ctl_thread_t *t, const ctl_caller_t *caller,
                              const ProtobufCMessage *req, ProtobufCMessage **resp, cp_err_t *err)
{
    (void)svc, (void)caller, (void)req;
    char **e = NULL;
    size_t n = 0;
    int rc = ctl_store_webhook_dead_list(t->store, DEAD_LIST_MAX, &e, &n, err);
    if (rc != 0)
        return ctl_service__store_fail(rc, err);
    Certplane__V1__ListWebhookDeadLettersResponse *out = cp_xcalloc(1, sizeof *out);
    certplane__v1__list_webhook_dead_letters_response__init(out);
    out->dead_letters = n > 0 ? cp_xcalloc(n, sizeof *out->dead_letters) : NULL;
    for (size_t i = 0; i < n; i++) {
        Certplane__V1__WebhookDeadLetter *m = dead_msg(e[i]);
        if (m != NULL)
            out->dead_letters[out->n_dead_letters++] = m;
    }
    ctl_store_strv_free(e, n);
    *resp = &out->base;
    return 0;
}
