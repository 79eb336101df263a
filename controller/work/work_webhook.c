/* SPDX-License-Identifier: Apache-2.0 */
/* work_webhook.c - the webhook thread: fan-out of webhook:events and deliveries (work_webhook.h) */
#include "controller/work/work_webhook.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "controller/metrics/metrics.h"
#include "controller/store/store_webhooks.h"
#include "controller/work/webhook_sign.h"
#include "controller/work/work_util.h"
#include "controller/work/work_webhook_http.h"
#include "controller/work/work_webhook_scan.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

#define BATCH 16
#define READ_BLOCK_MS 500
#define CLAIM_IDLE_MS 15000
#define CLAIM_EVERY_MS 5000
#define ERROR_PAUSE_MS 1000

/* A subscription matches an event of type t about certificate `name` (NULL: none). */
static int matches(const ctl_store_webhook_t *w, const char *type, const char *name)
{
    char padded[256], want[64];
    snprintf(padded, sizeof padded, ",%s,", w->events);
    snprintf(want, sizeof want, ",%s,", type);
    if (strstr(padded, want) == NULL)
        return 0;
    return w->name_filter[0] == '\0' || name == NULL || fnmatch(w->name_filter, name, 0) == 0;
}

static const char *kv_get(const ctl_store_whevent_t *ev, const char *k)
{
    for (size_t i = 0; i + 1 < ev->n_kv; i += 2)
        if (strcmp(ev->kv[i], k) == 0)
            return ev->kv[i + 1];
    return NULL;
}

/* The JSON body {"type", "timestamp", "data"} of an event (malloc'd); the time is the entry's. */
static char *event_body(const ctl_store_whevent_t *ev, const char *type)
{
    char ts[CP_CLOCK_RFC3339_MAX];
    int64_t ms = strtoll(ev->id, NULL, 10);
    cp_clock_rfc3339_format(ms / 1000, (int32_t)(ms % 1000) * 1000000, ts, sizeof ts);
    json_t *data = json_object();
    for (size_t i = 0; i + 1 < ev->n_kv; i += 2)
        if (strcmp(ev->kv[i], "type") != 0)
            json_object_set_new(data, ev->kv[i], json_string(ev->kv[i + 1]));
    json_t *o = json_pack("{s:s, s:s, s:o}", "type", type, "timestamp", ts, "data", data);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *out = cp_xstrdup(s != NULL ? s : "{}");
    free(s);
    return out;
}

/* Schedules one delivery per matching subscription, then acknowledges the entry. */
static int fan_out(ctl_work_thread_t *t, const ctl_store_webhook_t *subs, size_t n,
                   const ctl_store_whevent_t *ev, cp_err_t *err)
{
    const char *type = kv_get(ev, "type"), *name = kv_get(ev, "name");
    int rc = 0;
    char *body = type != NULL ? event_body(ev, type) : NULL;
    for (size_t i = 0; body != NULL && rc == 0 && i < n; i++) {
        if (!matches(&subs[i], type, name))
            continue;
        /* The member is the same for a repeated fan-out (a claimed entry): ZADD then only moves
         * it, so a receiver gets one delivery per event and subscription. */
        size_t len = strlen(body) + 256;
        char *m = cp_xmalloc(len);
        snprintf(m, len, "%s\tmsg_%s_%s\t0\t%s\t%s", subs[i].id, ev->id, subs[i].id, type, body);
        rc = ctl_store_webhook_schedule(t->store, m, cp_clock_wall_ms(), err);
        free(m);
    }
    free(body);
    if (rc == 0)
        rc = ctl_store_webhook_event_ack(t->store, ev->id, err);
    return rc;
}

/* Takes new events (or, every CLAIM_EVERY_MS, those a dead consumer left) and fans them out. */
static int take_events(ctl_work_thread_t *t, int block_ms, int64_t *next_claim, cp_err_t *err)
{
    ctl_store_whevent_t *ev = NULL;
    size_t n = 0;
    int64_t now = cp_clock_mono_ms();
    int claim = now >= *next_claim;
    if (claim)
        *next_claim = now + CLAIM_EVERY_MS;
    int rc = ctl_store_webhook_events_take(t->store, t->consumer, claim ? 0 : block_ms,
                                           claim ? CLAIM_IDLE_MS : -1, BATCH, &ev, &n, err);
    ctl_store_webhook_t *subs = NULL;
    size_t ns = 0;
    if (rc == 0 && n > 0)
        rc = ctl_store_webhook_list(t->store, false, &subs, &ns, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fan_out(t, subs, ns, &ev[i], err);
    if (claim && n > 0)
        CP_LOG(CP_LOG_INFO, "webhooks", "%zu events claimed from a dead consumer", n);
    ctl_store_webhooks_free(subs, ns);
    ctl_store_whevents_free(ev, n);
    return rc;
}

/* A delivery member split: sub, id, attempts, type, body (pointers into m, which is modified). */
typedef struct delivery {
    char *sub, *id, *type, *body;
    int attempts;
} delivery_t;

static int split(char *m, delivery_t *d)
{
    char *f[5];
    for (int i = 0; i < 5; i++) {
        f[i] = m;
        char *tab = i < 4 ? strchr(m, '\t') : NULL;
        if (i < 4 && tab == NULL)
            return -1;
        if (tab != NULL)
            *tab = '\0', m = tab + 1;
    }
    d->sub = f[0], d->id = f[1], d->attempts = atoi(f[2]), d->type = f[3], d->body = f[4];
    return 0;
}

/* Records the outcome of one failed attempt: a retry with back-off, or a dead letter. */
static int failed(ctl_work_thread_t *t, const char *member, const delivery_t *d, const char *why,
                  cp_err_t *err)
{
    const ctl_config_t *cfg = t->w->cfg;
    int attempts = d->attempts + 1;
    size_t len = strlen(d->body) + strlen(why) + 512;
    char *next = cp_xmalloc(len);
    int rc;
    ctl_metrics_webhook("failed");
    if (attempts >= cfg->webhook_max_attempts) {
        snprintf(next, len, "%s\t%s\t%s\t%d\t%" PRId64 "\t%s\t%s", d->id, d->sub, d->type, attempts,
                 cp_clock_wall_ms(), why, d->body);
        rc = ctl_store_webhook_finish(t->store, member, NULL, 0, next, err);
        if (rc == 0) {
            ctl_metrics_webhook("dead");
            CP_LOG(CP_LOG_WARN, "webhooks", "delivery %s to %s: dead after %d attempts: %s", d->id,
                   d->sub, attempts, why);
        }
    } else {
        uint32_t rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            rnd = (uint32_t)cp_clock_mono_ns();
        int64_t wait = ctl_webhook_backoff_ms(attempts, cfg->webhook_retry_base_ms,
                                              cfg->webhook_retry_max_ms, rnd);
        snprintf(next, len, "%s\t%s\t%d\t%s\t%s", d->sub, d->id, attempts, d->type, d->body);
        rc = ctl_store_webhook_finish(t->store, member, next, cp_clock_wall_ms() + wait, NULL, err);
        if (rc == 0) {
            ctl_metrics_webhook("retried");
            CP_LOG(CP_LOG_INFO, "webhooks",
                   "delivery %s to %s: attempt %d failed (%s); retry in %" PRId64 " ms", d->id,
                   d->sub, attempts, why, wait);
        }
    }
    free(next);
    return rc;
}

/* One attempt at a leased delivery. */
static int deliver(ctl_work_thread_t *t, const ctl_store_webhook_t *subs, size_t n,
                   const char *member, cp_err_t *err)
{
    char *m = cp_xstrdup(member);
    delivery_t d;
    const ctl_store_webhook_t *w = NULL;
    int rc = split(m, &d);
    for (size_t i = 0; rc == 0 && i < n && w == NULL; i++)
        w = strcmp(subs[i].id, d.sub) == 0 ? &subs[i] : NULL;
    if (rc != 0 || w == NULL) { /* malformed, or the subscription was deleted */
        free(m);
        return ctl_store_webhook_finish(t->store, member, NULL, 0, NULL, err);
    }
    char sig[CTL_WEBHOOK_SIG_SIZE], why[160] = "";
    int64_t ts = cp_clock_wall_ms() / 1000;
    rc = ctl_webhook_sign(w->secret, d.id, ts, d.body, strlen(d.body), sig, err);
    int ok = rc == 0 && ctl_work__webhook_post(w->url, d.id, ts, sig, d.body,
                                               t->w->cfg->webhook_timeout_ms, why, sizeof why);
    if (rc != 0)
        snprintf(why, sizeof why, "%.150s", err->msg);
    if (ok) {
        rc = ctl_store_webhook_finish(t->store, member, NULL, 0, NULL, err);
        ctl_metrics_webhook("ok");
        CP_LOG(CP_LOG_DEBUG, "webhooks", "delivery %s to %s: sent", d.id, d.sub);
    } else {
        rc = failed(t, member, &d, why, err);
    }
    free(m);
    return rc;
}

/* Leases and attempts the deliveries that are due. The lease outlasts one attempt by far. */
static int deliver_due(ctl_work_thread_t *t, cp_err_t *err)
{
    char **due = NULL;
    size_t n = 0;
    int64_t lease = t->w->cfg->webhook_timeout_ms * 2 + 30000;
    int rc = ctl_store_webhook_due(t->store, cp_clock_wall_ms(), lease, BATCH, &due, &n, err);
    ctl_store_webhook_t *subs = NULL;
    size_t ns = 0;
    if (rc == 0 && n > 0)
        rc = ctl_store_webhook_list(t->store, true, &subs, &ns, err);
    for (size_t i = 0; rc == 0 && i < n && !ctl_work__stopping(t->w); i++)
        rc = deliver(t, subs, ns, due[i], err);
    ctl_store_webhooks_free(subs, ns);
    ctl_store_strv_free(due, n);
    return rc;
}

/* How long the next read may wait: until the earliest due delivery, at most READ_BLOCK_MS. */
static int block_for(ctl_work_thread_t *t)
{
    cp_err_t err = {0};
    int64_t when = INT64_MAX;
    if (ctl_store_webhook_next_due(t->store, &when, &err) != 0)
        return READ_BLOCK_MS;
    int64_t wait = when - cp_clock_wall_ms();
    return wait <= 0 ? 0 : wait < READ_BLOCK_MS ? (int)wait : READ_BLOCK_MS;
}

void *ctl_work__webhook_main(void *arg)
{
    ctl_work_thread_t *t = arg;
    cp_err_t err = {0};
    int initialized = 0;
    int64_t next_claim = 0;
    ctl_work__webhook_scan_t scan = {0};
    while (!ctl_work__stopping(t->w)) {
        if (!atomic_load(&t->w->present)) {
            ctl_work__sleep(t->w, 100, 0);
            continue;
        }
        int rc = initialized ? 0 : ctl_store_webhook_events_init(t->store, &err);
        initialized = rc == 0;
        if (rc == 0)
            rc = deliver_due(t, &err);
        if (rc == 0) {
            int block = block_for(t);
            rc = take_events(t, block == 0 ? 1 : block, &next_claim, &err);
        }
        if (rc == 0)
            ctl_work__webhook_scan(t, &scan);
        if (rc != 0 && !ctl_work__stopping(t->w)) {
            CP_LOG(CP_LOG_WARN, "webhooks", "%s", err.msg);
            ctl_work__sleep(t->w, ERROR_PAUSE_MS, 0);
        }
    }
    ctl_work__webhook_scan_dispose(&scan);
    return NULL;
}
