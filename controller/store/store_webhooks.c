/* SPDX-License-Identifier: Apache-2.0 */
/* store_webhooks.c - webhook subscriptions, events, delivery schedule and dead letters
 * (store_webhooks.h) */
#include "controller/store/store_webhooks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/keywrap.h"
#include "controller/store/store_internal.h"
#include "shared/mem.h"

#define SUBS "webhook:subs"
#define EVENTS "webhook:events"
#define GROUP "webhooks"
#define RETRY "webhook:retry"
#define DEAD "webhook:dead"
#define EVENTS_MAXLEN "100000"

static bool clean(const char *v)
{
    return v != NULL && strpbrk(v, "\t\r\n") == NULL;
}

void ctl_store_webhooks_free(ctl_store_webhook_t *w, size_t n)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(w[i].id), free(w[i].url), free(w[i].events), free(w[i].name_filter);
        cp_secure_free_str(w[i].secret);
    }
    free(w);
}

int ctl_store_webhook_put(ctl_store_t *s, const ctl_store_webhook_t *w, cp_err_t *err)
{
    if (!clean(w->id) || !clean(w->url) || !clean(w->events) || !clean(w->name_filter) ||
        w->secret == NULL)
        return cp_err_set(err, CP_EINVAL, "webhook: a field holds a tab or newline");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "HLEN");
    ctl_store__arg(&a, SUBS);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    ctl_store__args_dispose(&a);
    if (rc == 0 && r->type == REDIS_REPLY_INTEGER && r->integer >= CTL_STORE_WEBHOOKS_MAX)
        rc = cp_err_set(err, CP_ETOOBIG, "at most %d webhooks", CTL_STORE_WEBHOOKS_MAX);
    freeReplyObject(r);
    r = NULL;
    if (rc != 0)
        return rc;
    char record[96], *sealed = NULL;
    snprintf(record, sizeof record, SUBS "/%s", w->id);
    rc = ctl_keywrap_seal(s->opts.keyring, record, w->secret, strlen(w->secret), &sealed, err);
    if (rc != 0)
        return rc;
    ctl_store__arg(&a, "HSETNX");
    ctl_store__arg(&a, SUBS);
    ctl_store__arg(&a, w->id);
    ctl_store__argf(&a, "%s\t%s\t%s\t%" PRId64 "\t%s", w->url, w->events, w->name_filter,
                    w->create_ms, sealed);
    rc = ctl_store__call(s, CTL_STORE__WRITE, 0, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
        rc = cp_err_set(err, CP_EEXIST, "webhook %s already exists", w->id);
    freeReplyObject(r);
    /* The formatted argument holds the sealed secret only: no plaintext to wipe. */
    ctl_store__args_dispose(&a);
    cp_secure_free_str(sealed);
    return rc;
}

/* Splits one record into w (fields malloc'd); the secret is opened when with_secret. */
static int parse_sub(ctl_store_t *s, const redisReply *k, const redisReply *v, bool with_secret,
                     ctl_store_webhook_t *w, cp_err_t *err)
{
    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
        return ctl_store__proto(err, "a webhook record");
    const char *p = v->str, *f[5];
    size_t len[5];
    for (int i = 0; i < 5; i++) {
        const char *tab = i < 4 ? strchr(p, '\t') : p + strlen(p);
        if (tab == NULL)
            return ctl_store__proto(err, "a webhook record");
        f[i] = p, len[i] = (size_t)(tab - p);
        p = tab + (i < 4);
    }
    w->id = ctl_store__xstrndup(k->str, k->len);
    w->url = ctl_store__xstrndup(f[0], len[0]);
    w->events = ctl_store__xstrndup(f[1], len[1]);
    w->name_filter = ctl_store__xstrndup(f[2], len[2]);
    w->create_ms = strtoll(f[3], NULL, 10);
    if (!with_secret)
        return 0;
    char record[96], *sealed = ctl_store__xstrndup(f[4], len[4]);
    snprintf(record, sizeof record, SUBS "/%s", w->id);
    int rc = ctl_keywrap_open(s->opts.keyring, record, sealed, &w->secret, NULL, err);
    free(sealed);
    return rc;
}

static int cmp_sub(const void *a, const void *b)
{
    return strcmp(((const ctl_store_webhook_t *)a)->id, ((const ctl_store_webhook_t *)b)->id);
}

int ctl_store_webhook_list(ctl_store_t *s, bool with_secrets, ctl_store_webhook_t **out, size_t *n,
                           cp_err_t *err)
{
    *out = NULL;
    *n = 0;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "HGETALL");
    ctl_store__arg(&a, SUBS);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    ctl_store__args_dispose(&a);
    if (rc == 0 && r->type != REDIS_REPLY_ARRAY)
        rc = ctl_store__proto(err, "HGETALL " SUBS);
    if (rc != 0 || r->elements < 2) {
        freeReplyObject(r);
        return rc;
    }
    size_t m = r->elements / 2, i;
    ctl_store_webhook_t *w = cp_xcalloc(m, sizeof *w);
    for (i = 0; i < m && rc == 0; i++)
        rc = parse_sub(s, r->element[2 * i], r->element[2 * i + 1], with_secrets, &w[i], err);
    freeReplyObject(r);
    if (rc != 0) {
        ctl_store_webhooks_free(w, m);
        return rc;
    }
    qsort(w, m, sizeof *w, cmp_sub);
    *out = w;
    *n = m;
    return 0;
}

int ctl_store_webhook_delete(ctl_store_t *s, const char *id, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "HDEL");
    ctl_store__arg(&a, SUBS);
    ctl_store__arg(&a, id);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && (r->type != REDIS_REPLY_INTEGER || r->integer == 0))
        rc = cp_err_set(err, CP_ENOTFOUND, "webhook \"%s\" not found", id);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_webhook_emit(ctl_store_t *s, const char *const *kv, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    const char *head[] = {"XADD", EVENTS, "MAXLEN", "~", EVENTS_MAXLEN, "*"};
    for (size_t i = 0; i < 6; i++)
        ctl_store__arg(&a, head[i]);
    size_t i = 0;
    for (; kv[i] != NULL && kv[i + 1] != NULL && a.argc + 2 <= CTL_STORE__MAXARGS; i += 2) {
        ctl_store__arg(&a, kv[i]);
        ctl_store__arg(&a, kv[i + 1]);
    }
    if (i == 0 || kv[i] != NULL) {
        ctl_store__args_dispose(&a);
        return cp_err_set(err, CP_EINVAL, "webhook event: no fields, odd or too many");
    }
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__WRITE, 0, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_webhook_events_init(ctl_store_t *s, cp_err_t *err)
{
    const char *argv[] = {"XGROUP", "CREATE", EVENTS, GROUP, "0", "MKSTREAM"};
    redisReply *r = NULL;
    int rc = ctl_store__raw(s, CTL_STORE__READ, 0, 6, argv, NULL, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
        rc = ctl_store__reply_error(r, err);
    freeReplyObject(r);
    return rc;
}

void ctl_store_whevents_free(ctl_store_whevent_t *ev, size_t n)
{
    if (ev == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ctl_store_strv_free(ev[i].kv, ev[i].n_kv);
    free(ev);
}

/* Fills ev from the entries array [[id, [f, v, ...]], ...]; NIL entries (deleted) are skipped. */
static int parse_entries(const redisReply *entries, ctl_store_whevent_t **out, size_t *n,
                         cp_err_t *err)
{
    if (entries->type != REDIS_REPLY_ARRAY)
        return ctl_store__proto(err, "webhook events");
    ctl_store_whevent_t *ev = cp_xcalloc(entries->elements + 1, sizeof *ev);
    size_t m = 0;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        snprintf(ev[m].id, sizeof ev[m].id, "%s", e->element[0]->str);
        if (ctl_store__strv(e->element[1], 0, &ev[m].kv, &ev[m].n_kv, err) != 0) {
            ctl_store_whevents_free(ev, m + 1);
            return CP_EPROTO;
        }
        m++;
    }
    if (m == 0) { /* the contract: NULL when there is none */
        free(ev);
        ev = NULL;
    }
    *out = ev;
    *n = m;
    return 0;
}

int ctl_store_webhook_events_take(ctl_store_t *s, const char *consumer, int block_ms,
                                  int min_idle_ms, size_t max, ctl_store_whevent_t **out, size_t *n,
                                  cp_err_t *err)
{
    *out = NULL;
    *n = 0;
    if (!ctl_store__name_ok(consumer) || max == 0 || max > 1000 || block_ms < 0)
        return cp_err_set(err, CP_EINVAL, "webhook events: bad arguments");
    ctl_store__args_t a = {0};
    if (min_idle_ms >= 0) {
        const char *argv[] = {"XAUTOCLAIM", EVENTS, GROUP, consumer};
        for (size_t i = 0; i < 4; i++)
            ctl_store__arg(&a, argv[i]);
        ctl_store__argf(&a, "%d", min_idle_ms);
        ctl_store__arg(&a, "0-0");
        ctl_store__arg(&a, "COUNT");
        ctl_store__argf(&a, "%zu", max);
    } else {
        const char *argv[] = {"XREADGROUP", "GROUP", GROUP, consumer, "COUNT"};
        for (size_t i = 0; i < 5; i++)
            ctl_store__arg(&a, argv[i]);
        ctl_store__argf(&a, "%zu", max);
        if (block_ms > 0) {
            ctl_store__arg(&a, "BLOCK");
            ctl_store__argf(&a, "%d", block_ms);
        }
        ctl_store__arg(&a, "STREAMS");
        ctl_store__arg(&a, EVENTS);
        ctl_store__arg(&a, ">");
    }
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__WRITE, block_ms, &a, &r, err);
    ctl_store__args_dispose(&a);
    if (rc == 0 && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && min_idle_ms >= 0)
        rc = parse_entries(r->element[1], out, n, err);
    else if (rc == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
             r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2)
        rc = parse_entries(r->element[0]->element[1], out, n, err);
    else if (rc == 0 && r->type != REDIS_REPLY_NIL)
        rc = ctl_store__proto(err, "webhook events");
    freeReplyObject(r);
    return rc;
}

int ctl_store_webhook_event_ack(ctl_store_t *s, const char *id, cp_err_t *err)
{
    return ctl_store__stream_done(s, EVENTS, GROUP, id, err);
}

int ctl_store_webhook_schedule(ctl_store_t *s, const char *member, int64_t due_ms, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "ZADD");
    ctl_store__arg(&a, RETRY);
    ctl_store__argf(&a, "%" PRId64, due_ms);
    ctl_store__arg(&a, member);
    redisReply *r = NULL;
    /* Adding the same member twice only moves it: an I/O error may be retried. */
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

/* Moves member's score to until_ms if it is still due (its score <= now_ms): 1 when this caller
 * leased it, 0 when another did first. */
static int lease(ctl_store_t *s, const char *member, int64_t now_ms, int64_t until_ms,
                 cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "EVAL");
    ctl_store__arg(&a, "local sc = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
                       "if not sc or tonumber(sc) > tonumber(ARGV[2]) then return 0 end\n"
                       "redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) return 1");
    ctl_store__arg(&a, "1");
    ctl_store__arg(&a, RETRY);
    ctl_store__arg(&a, member);
    ctl_store__argf(&a, "%" PRId64, now_ms);
    ctl_store__argf(&a, "%" PRId64, until_ms);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__WRITE, 0, &a, &r, err);
    if (rc == 0)
        rc = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_webhook_due(ctl_store_t *s, int64_t now_ms, int64_t lease_ms, size_t max,
                          char ***members, size_t *n, cp_err_t *err)
{
    *members = NULL;
    *n = 0;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "ZRANGEBYSCORE");
    ctl_store__arg(&a, RETRY);
    ctl_store__arg(&a, "-inf");
    ctl_store__argf(&a, "%" PRId64, now_ms);
    ctl_store__arg(&a, "LIMIT");
    ctl_store__arg(&a, "0");
    ctl_store__argf(&a, "%zu", max);
    redisReply *r = NULL;
    char **v = NULL;
    size_t m = 0, kept = 0;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    ctl_store__args_dispose(&a);
    if (rc == 0)
        rc = ctl_store__strv(r, 0, &v, &m, err);
    freeReplyObject(r);
    for (size_t i = 0; rc == 0 && i < m; i++) {
        int got = lease(s, v[i], now_ms, now_ms + lease_ms, err);
        if (got < 0)
            rc = got;
        else if (got == 1) {
            char *x = v[i];
            v[i] = NULL;
            v[kept++] = x;
        } else
            free(v[i]), v[i] = NULL;
    }
    if (rc != 0) {
        ctl_store_strv_free(v, m);
        return rc;
    }
    *members = v;
    *n = kept;
    return 0;
}

int ctl_store_webhook_next_due(ctl_store_t *s, int64_t *when_ms, cp_err_t *err)
{
    const char *argv[] = {"ZRANGE", RETRY, "0", "0", "WITHSCORES"};
    redisReply *r = NULL;
    *when_ms = INT64_MAX;
    int rc = ctl_store__raw(s, CTL_STORE__READ, 0, 5, argv, NULL, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR)
        rc = ctl_store__reply_error(r, err);
    else if (rc == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[1]->type == REDIS_REPLY_STRING)
        *when_ms = strtoll(r->element[1]->str, NULL, 10);
    freeReplyObject(r);
    return rc;
}

int ctl_store_webhook_finish(ctl_store_t *s, const char *member, const char *next, int64_t due_ms,
                             const char *dead, cp_err_t *err)
{
    ctl_store__args_t rem = {0}, add = {0}, push = {0}, trim = {0};
    ctl_store__arg(&rem, "ZREM");
    ctl_store__arg(&rem, RETRY);
    ctl_store__arg(&rem, member);
    const ctl_store__args_t *cmds[3] = {&rem, NULL, NULL};
    int nc = 1;
    if (dead != NULL) {
        ctl_store__arg(&push, "LPUSH");
        ctl_store__arg(&push, DEAD);
        ctl_store__arg(&push, dead);
        ctl_store__arg(&trim, "LTRIM");
        ctl_store__arg(&trim, DEAD);
        ctl_store__arg(&trim, "0");
        ctl_store__argf(&trim, "%d", CTL_STORE_WEBHOOK_DEAD_MAX - 1);
        cmds[nc++] = &push;
        cmds[nc++] = &trim;
    } else if (next != NULL) {
        ctl_store__arg(&add, "ZADD");
        ctl_store__arg(&add, RETRY);
        ctl_store__argf(&add, "%" PRId64, due_ms);
        ctl_store__arg(&add, next);
        cmds[nc++] = &add;
    }
    redisReply *r = NULL;
    int rc = ctl_store__multi(s, CTL_STORE__WRITE, nc, cmds, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&trim);
    ctl_store__args_dispose(&add);
    return rc;
}

int ctl_store_webhook_dead_list(ctl_store_t *s, size_t max, char ***entries, size_t *n,
                                cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "LRANGE");
    ctl_store__arg(&a, DEAD);
    ctl_store__arg(&a, "0");
    ctl_store__argf(&a, "%zu", max > 0 ? max - 1 : 0);
    redisReply *r = NULL;
    *entries = NULL;
    *n = 0;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0)
        rc = ctl_store__strv(r, 0, entries, n, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_webhook_mark_get(ctl_store_t *s, const char *which, const char *field, char **value,
                               cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "HGET");
    ctl_store__argf(&a, "webhook:marks:%s", which);
    ctl_store__arg(&a, field);
    redisReply *r = NULL;
    *value = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0)
        *value = ctl_store__strdup_reply(r);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_webhook_mark_set(ctl_store_t *s, const char *which, const char *field,
                               const char *value, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, value != NULL ? "HSET" : "HDEL");
    ctl_store__argf(&a, "webhook:marks:%s", which);
    ctl_store__arg(&a, field);
    if (value != NULL)
        ctl_store__arg(&a, value);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_webhook_cert_event(ctl_store_t *s, const char *type, const char *name,
                                 const char *serial, const char *not_after, const char *error,
                                 cp_err_t *err)
{
    const char *kv[12] = {"type", type, "name", name};
    int n = 4;
    const char *opt[][2] = {{"serial", serial}, {"notAfter", not_after}, {"error", error}};
    for (size_t i = 0; i < 3; i++)
        if (opt[i][1] != NULL && opt[i][1][0] != '\0') {
            kv[n++] = opt[i][0];
            kv[n++] = opt[i][1];
        }
    kv[n] = NULL;
    return ctl_store_webhook_emit(s, kv, err);
}
