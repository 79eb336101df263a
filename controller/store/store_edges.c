/* SPDX-License-Identifier: Apache-2.0 */
/* store_edges.c - edge reports (hash `edges`, sorted set `edges:seen`) and the challenge listing */
#include "controller/store/store_edges.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/store_internal.h"
#include "shared/mem.h"

/* Removes edges not seen for 10 x the TTL, then returns the records of those seen within the TTL.
 * KEYS: edges, edges:seen. ARGV: prune cutoff, live cutoff (milliseconds). */
static const char LUA_EDGES_LIVE[] =
    "local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1])\n"
    "for i = 1, #old, 500 do\n"
    "  local part = {unpack(old, i, math.min(i + 499, #old))}\n"
    "  redis.call('HDEL', KEYS[1], unpack(part))\n"
    "  redis.call('ZREM', KEYS[2], unpack(part))\n"
    "end\n"
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[2], '+inf')\n"
    "if #ids == 0 then return {} end\n"
    "return redis.call('HMGET', KEYS[1], unpack(ids))\n";

static char *dup_or_empty(const char *s)
{
    return ctl_store__xstrndup(s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

int ctl_store_edge_report(ctl_store_t *s, const ctl_store_edge_t *e, cp_err_t *err)
{
    if (e == NULL || !ctl_store__name_ok(e->edge_id))
        return cp_err_set(err, CP_EINVAL, "edge report: empty edge_id");
    json_t *o = json_pack("{s:s, s:I, s:i, s:s, s:s, s:I}", "edge_id", e->edge_id,
                          "applied_revision", (json_int_t)e->applied_revision, "certificates",
                          (int)e->certificates, "version", e->version != NULL ? e->version : "",
                          "address", e->address != NULL ? e->address : "", "last_seen_ms",
                          (json_int_t)e->last_seen_ms);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) /* jansson refuses strings that are not UTF-8 */
        return cp_err_set(err, CP_EINVAL, "edge report: version or address is not UTF-8");
    ctl_store__args_t hset = {0}, zadd = {0};
    ctl_store__arg(&hset, "HSET");
    ctl_store__arg(&hset, "edges");
    ctl_store__arg(&hset, e->edge_id);
    ctl_store__arg(&hset, text);
    ctl_store__arg(&zadd, "ZADD");
    ctl_store__arg(&zadd, "edges:seen");
    ctl_store__argf(&zadd, "%" PRId64, e->last_seen_ms);
    ctl_store__arg(&zadd, e->edge_id);
    const ctl_store__args_t *cmds[] = {&hset, &zadd};
    redisReply *exec = NULL;
    int rc = ctl_store__multi(s, CTL_STORE__WRITE, 2, cmds, &exec, err);
    freeReplyObject(exec);
    ctl_store__args_dispose(&hset);
    ctl_store__args_dispose(&zadd);
    free(text);
    return rc;
}

static bool edge_parse(const char *text, size_t len, ctl_store_edge_t *e)
{
    json_t *o = json_loadb(text, len, 0, NULL);
    const char *id = NULL, *version = "", *address = "";
    json_int_t rev = 0, seen = 0;
    int certs = 0;
    bool ok = o != NULL && json_unpack(o, "{s:s, s?I, s?i, s?s, s?s, s?I}", "edge_id", &id,
                                       "applied_revision", &rev, "certificates", &certs, "version",
                                       &version, "address", &address, "last_seen_ms", &seen) == 0;
    if (ok) {
        e->edge_id = dup_or_empty(id);
        e->applied_revision = rev;
        e->certificates = certs;
        e->version = dup_or_empty(version);
        e->address = dup_or_empty(address);
        e->last_seen_ms = seen;
    }
    json_decref(o);
    return ok;
}

int ctl_store_edges_live(ctl_store_t *s, int64_t now_ms, int64_t ttl_ms, ctl_store_edge_t **out,
                         size_t *n, cp_err_t *err)
{
    *out = NULL;
    *n = 0;
    if (ttl_ms <= 0)
        return cp_err_set(err, CP_EINVAL, "edges: ttl must be positive");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "EVAL");
    ctl_store__arg(&a, LUA_EDGES_LIVE);
    ctl_store__arg(&a, "2");
    ctl_store__arg(&a, "edges");
    ctl_store__arg(&a, "edges:seen");
    ctl_store__argf(&a, "%" PRId64, now_ms - 10 * ttl_ms);
    ctl_store__argf(&a, "%" PRId64, now_ms - ttl_ms);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__WRITE, 0, &a, &r, err);
    ctl_store__args_dispose(&a);
    if (rc == 0 && r->type != REDIS_REPLY_ARRAY)
        rc = ctl_store__proto(err, "edges");
    if (rc == 0 && r->elements > 0) {
        ctl_store_edge_t *v = cp_xcalloc(1, r->elements * sizeof *v);
        size_t k = 0;
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *x = r->element[i];
            if (x->type == REDIS_REPLY_STRING && edge_parse(x->str, x->len, &v[k]))
                k++;
        }
        *out = v;
        *n = k;
    }
    freeReplyObject(r);
    return rc;
}

void ctl_store_edges_free(ctl_store_edge_t *e, size_t n)
{
    for (size_t i = 0; e != NULL && i < n; i++) {
        free(e[i].edge_id);
        free(e[i].version);
        free(e[i].address);
    }
    free(e);
}

/* ---- challenges ----------------------------------------------------------------------------- */

static bool challenge_parse(const char *key, const redisReply *x, ctl_store_challenge_t *c)
{
    if (x->type != REDIS_REPLY_STRING)
        return false; /* gone since the SCAN (used, or its TTL ran out) */
    json_t *o = json_loadb(x->str, x->len, 0, NULL);
    const char *token = NULL, *auth = NULL, *exp = NULL, *ident = NULL;
    bool ok = o != NULL && json_unpack(o, "{s?s, s:s, s?s, s?s}", "token", &token, "authorization",
                                       &auth, "expires_at", &exp, "identifier", &ident) == 0;
    if (ok) {
        /* The key is the truth; the seed also stores the token in the record. */
        c->token = dup_or_empty(key + strlen("challenge:"));
        c->key_authorization = dup_or_empty(auth);
        c->expires_at = exp != NULL ? dup_or_empty(exp) : NULL;
        c->identifier = ident != NULL ? dup_or_empty(ident) : NULL;
    }
    json_decref(o);
    return ok;
}

/* GETs the keys of one SCAN step (MGET) and appends the challenges to *v. */
static int challenges_get(ctl_store_t *s, const redisReply *keys, ctl_store_challenge_t **v,
                          size_t *n, cp_err_t *err)
{
    size_t nk = keys->elements;
    if (nk == 0)
        return 0;
    const char **argv = cp_xcalloc(1, (nk + 1) * sizeof *argv);
    size_t *lens = cp_xcalloc(1, (nk + 1) * sizeof *lens);
    argv[0] = "MGET";
    lens[0] = 4;
    for (size_t i = 0; i < nk; i++) {
        argv[i + 1] = keys->element[i]->str;
        lens[i + 1] = keys->element[i]->len;
    }
    redisReply *r = NULL;
    int rc = ctl_store__raw(s, CTL_STORE__READ, 0, (int)nk + 1, argv, lens, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR)
        rc = ctl_store__reply_error(r, err);
    else if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != nk))
        rc = ctl_store__proto(err, "MGET");
    if (rc == 0) {
        *v = cp_xrealloc(*v, (*n + nk) * sizeof **v);
        for (size_t i = 0; i < nk; i++)
            if (challenge_parse(keys->element[i]->str, r->element[i], &(*v)[*n]))
                (*n)++;
    }
    freeReplyObject(r);
    free(argv);
    free(lens);
    return rc;
}

int ctl_store_challenges_list(ctl_store_t *s, ctl_store_challenge_t **out, size_t *n, cp_err_t *err)
{
    ctl_store_challenge_t *v = NULL;
    size_t k = 0;
    char cursor[32] = "0";
    int rc = 0;
    do {
        ctl_store__args_t a = {0};
        redisReply *r = NULL;
        ctl_store__arg(&a, "SCAN");
        ctl_store__arg(&a, cursor);
        ctl_store__arg(&a, "MATCH");
        ctl_store__arg(&a, "challenge:*");
        ctl_store__arg(&a, "COUNT");
        ctl_store__arg(&a, "500");
        rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
        ctl_store__args_dispose(&a);
        if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                        r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= 32 ||
                        r->element[1]->type != REDIS_REPLY_ARRAY))
            rc = ctl_store__proto(err, "SCAN");
        if (rc == 0) {
            memcpy(cursor, r->element[0]->str, r->element[0]->len);
            cursor[r->element[0]->len] = '\0';
            rc = challenges_get(s, r->element[1], &v, &k, err);
        }
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    if (rc != 0) {
        ctl_store_challenges_free(v, k);
        v = NULL;
        k = 0;
    }
    /* SCAN may return a key twice; the Watch snapshot sends a CHALLENGE_SET twice then, harmlessly.
     */
    *out = k > 0 ? v : NULL;
    if (k == 0)
        free(v);
    *n = k;
    return rc;
}

void ctl_store_challenges_free(ctl_store_challenge_t *c, size_t n)
{
    for (size_t i = 0; c != NULL && i < n; i++) {
        free(c[i].token);
        free(c[i].key_authorization);
        free(c[i].identifier);
        free(c[i].expires_at);
    }
    free(c);
}
