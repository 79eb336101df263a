/* SPDX-License-Identifier: Apache-2.0 */
/* store_events.c - the events stream and the HTTP-01 challenges that emit events */
#include "controller/store/store_events.h"
#include "controller/store/store_internal.h"
#include "shared/mem.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EVENTS 10000

void ctl_store_events_free(ctl_store_event_t *ev, size_t n)
{
    if (ev == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(ev[i].type);
        free(ev[i].name);
        free(ev[i].token);
        free(ev[i].key_authorization);
        free(ev[i].identifier);
        free(ev[i].expires_at);
    }
    free(ev);
}

static bool is_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING;
}

/* Fills ev from a stream entry [id, [field, value, ...]]. */
static int parse_event(const redisReply *e, ctl_store_event_t *ev, cp_err_t *err)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || !is_str(e->element[0]) ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return ctl_store__proto(err, "an events entry");
    ev->revision = strtoll(e->element[0]->str, NULL, 10);
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (!is_str(k) || !is_str(v))
            return ctl_store__proto(err, "an events entry");
        char **slot = strcmp(k->str, "type") == 0                ? &ev->type
                      : strcmp(k->str, "name") == 0              ? &ev->name
                      : strcmp(k->str, "token") == 0             ? &ev->token
                      : strcmp(k->str, "key_authorization") == 0 ? &ev->key_authorization
                      : strcmp(k->str, "expires_at") == 0        ? &ev->expires_at
                      : strcmp(k->str, "identifier") == 0        ? &ev->identifier
                                                                 : NULL;
        if (slot != NULL && *slot == NULL)
            *slot = ctl_store__xstrndup(v->str, v->len);
    }
    if (ev->type == NULL)
        return ctl_store__proto(err, "an events entry without type");
    return 0;
}

/* Parses the entries of XREAD's [[stream, [entry, ...]]] (or NIL: none). */
static int parse_xread(const redisReply *r, ctl_store_event_t **out, size_t *n, cp_err_t *err)
{
    if (r->type == REDIS_REPLY_NIL)
        return 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements != 2 ||
        r->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
        return ctl_store__proto(err, "XREAD events");
    const redisReply *entries = r->element[0]->element[1];
    if (entries->elements == 0)
        return 0;
    ctl_store_event_t *ev = cp_xcalloc(1, entries->elements * sizeof *ev);
    int rc = 0;
    size_t i;
    for (i = 0; i < entries->elements && rc == 0; i++)
        rc = parse_event(entries->element[i], &ev[i], err);
    if (rc != 0) {
        ctl_store_events_free(ev, i);
        return rc;
    }
    *out = ev;
    *n = entries->elements;
    return 0;
}

int ctl_store_events_read(ctl_store_t *s, int64_t after_revision, size_t max, int block_ms,
                          ctl_store_event_t **out, size_t *n, cp_err_t *err)
{
    *out = NULL;
    *n = 0;
    if (after_revision < 0 || max == 0 || max > MAX_EVENTS || block_ms < 0)
        return cp_err_set(err, CP_EINVAL, "events: bad arguments");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "XREAD");
    ctl_store__arg(&a, "COUNT");
    ctl_store__argf(&a, "%zu", max);
    if (block_ms > 0) {
        ctl_store__arg(&a, "BLOCK");
        ctl_store__argf(&a, "%d", block_ms);
    }
    ctl_store__arg(&a, "STREAMS");
    ctl_store__arg(&a, "events");
    /* XREAD returns the entries with an ID greater than this one. */
    ctl_store__argf(&a, "%" PRId64 "-0", after_revision);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, block_ms, &a, &r, err);
    if (rc == 0)
        rc = parse_xread(r, out, n, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_events_first(ctl_store_t *s, int64_t *first_revision, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "XRANGE");
    ctl_store__arg(&a, "events");
    ctl_store__arg(&a, "-");
    ctl_store__arg(&a, "+");
    ctl_store__arg(&a, "COUNT");
    ctl_store__arg(&a, "1");
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type != REDIS_REPLY_ARRAY)
        rc = ctl_store__proto(err, "XRANGE events");
    if (rc == 0) {
        ctl_store_event_t ev = {0};
        *first_revision = 0;
        if (r->elements > 0 && (rc = parse_event(r->element[0], &ev, err)) == 0)
            *first_revision = ev.revision;
        free(ev.type), free(ev.name), free(ev.token), free(ev.key_authorization);
        free(ev.expires_at), free(ev.identifier);
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

/* Runs a challenge script and maps its status; *rev (may be NULL) receives the event's revision. */
static int challenge_eval(ctl_store_t *s, int id, ctl_store__args_t *a, const char *token,
                          int64_t *rev, cp_err_t *err)
{
    redisReply *r = NULL;
    int rc = ctl_store__eval(s, id, CTL_STORE__WRITE, 3, a, &r, err);
    if (rc == 0) {
        char what[160];
        snprintf(what, sizeof what, "challenge %.4s...", token);
        int64_t v = 0;
        rc = ctl_store__status(r, what, &v, err);
        if (rc == 0 && rev != NULL)
            *rev = v;
    }
    freeReplyObject(r);
    ctl_store__args_dispose(a);
    return rc;
}

int ctl_store_challenge_set(ctl_store_t *s, const char *token, const char *key_authorization,
                            int ttl_s, int64_t *rev, cp_err_t *err)
{
    return ctl_store_challenge_set_for(s, token, key_authorization, NULL, ttl_s, rev, err);
}

int ctl_store_challenge_set_for(ctl_store_t *s, const char *token, const char *key_authorization,
                                const char *identifier, int ttl_s, int64_t *rev, cp_err_t *err)
{
    if (!ctl_store__name_ok(token) || !ctl_store__name_ok(key_authorization))
        return cp_err_set(err, CP_EINVAL, "challenge: empty token or key authorization");
    if (ttl_s <= 0)
        ttl_s = 3600;
    time_t exp = time(NULL) + ttl_s;
    struct tm tm;
    char expires[32];
    gmtime_r(&exp, &tm);
    strftime(expires, sizeof expires, "%Y-%m-%dT%H:%M:%SZ", &tm);
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "challenge:%s", token);
    ctl_store__arg(&a, "events");
    ctl_store__arg(&a, "revision");
    ctl_store__arg(&a, token);
    ctl_store__arg(&a, key_authorization);
    ctl_store__arg(&a, expires);
    ctl_store__argf(&a, "%d", ttl_s);
    ctl_store__argf(&a, "%ld", s->opts.events_maxlen);
    ctl_store__arg(&a, identifier != NULL ? identifier : "");
    return challenge_eval(s, CTL_STORE__LUA_CHALLENGE_SET, &a, token, rev, err);
}

int ctl_store_challenge_clear(ctl_store_t *s, const char *token, int64_t *rev, cp_err_t *err)
{
    if (!ctl_store__name_ok(token))
        return cp_err_set(err, CP_EINVAL, "challenge: empty token");
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "challenge:%s", token);
    ctl_store__arg(&a, "events");
    ctl_store__arg(&a, "revision");
    ctl_store__arg(&a, token);
    ctl_store__argf(&a, "%ld", s->opts.events_maxlen);
    return challenge_eval(s, CTL_STORE__LUA_CHALLENGE_CLEAR, &a, token, rev, err);
}

int ctl_store_challenge_get(ctl_store_t *s, const char *token, char **key_authorization,
                            cp_err_t *err)
{
    *key_authorization = NULL;
    if (!ctl_store__name_ok(token))
        return cp_err_set(err, CP_EINVAL, "challenge: empty token");
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "challenge:%s", token);
    redisReply *r = NULL;
    /* The record is decoded by the server's cjson, so the store needs no JSON library. */
    int rc = ctl_store__eval(s, CTL_STORE__LUA_CHALLENGE_GET, CTL_STORE__READ, 1, &a, &r, err);
    if (rc == 0) {
        char what[160];
        snprintf(what, sizeof what, "challenge %.4s...", token);
        rc = ctl_store__status(r, what, NULL, err);
        if (rc == CP_ESTATE)
            rc = cp_err_set(err, CP_EPROTO, "%s: not a challenge record", what);
        else if (rc == 0 && (r->elements != 2 || !is_str(r->element[1])))
            rc = ctl_store__proto(err, "challenge script");
    }
    if (rc == 0)
        *key_authorization = ctl_store__xstrndup(r->element[1]->str, r->element[1]->len);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}
