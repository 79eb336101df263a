/* SPDX-License-Identifier: Apache-2.0 */
/* store_ca.c - rate limits, order caps and offered profiles per CA (see store_ca.h) */
#include "controller/store/store_ca.h"
#include "controller/store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "shared/mem.h"

#define HOUR_MS (3600LL * 1000)
#define PROFILES_TTL_S 86400

/* The scripts are short and run once per order: sent with EVAL (Redis caches them by digest). */

/* KEYS: ratelimit:{p}:{a}  ARGV: until_ms */
static const char lua_ratelimit_set[] =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "local u = tonumber(ARGV[1])\n"
    "if u > cur then redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1]) end\n"
    "return 0\n";

/* KEYS: ratelimit:{p}:{a} orders:{p}:{hour} inflight:{p}
 * ARGV: now member lease max_per_hour max_concurrent next_hour_ms
 * Returns {refusal, retry_at}. Only leases that ended are dropped before the checks. */
static const char lua_admit[] =
    "local now = tonumber(ARGV[1])\n"
    "local rl = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "if rl > now then return {1, rl} end\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)\n"
    "local maxc = tonumber(ARGV[5])\n"
    "local mine = redis.call('ZSCORE', KEYS[3], ARGV[2])\n"
    "if maxc > 0 and not mine and redis.call('ZCARD', KEYS[3]) >= maxc then\n"
    "  redis.call('ZADD', KEYS[4], 'NX', now, ARGV[2])\n"
    "  redis.call('PEXPIRE', KEYS[4], 86400000)\n"
    "  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')\n"
    "  return {3, tonumber(first[2])}\n"
    "end\n"
    "local maxh = tonumber(ARGV[4])\n"
    "if maxh > 0 then\n"
    "  local n = tonumber(redis.call('GET', KEYS[2]) or '0') or 0\n"
    "  if n >= maxh then return {2, tonumber(ARGV[6])} end\n"
    "end\n"
    "redis.call('INCR', KEYS[2])\n"
    "redis.call('PEXPIRE', KEYS[2], 7200000)\n"
    "redis.call('ZREM', KEYS[4], ARGV[2])\n"
    "redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[2])\n"
    "redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[3]))\n"
    "return {0, 0}\n";

/* An order ended: its slot is free; the certificate that has waited longest for a slot is due now
 * (its index entry moved earlier, never later) and is returned. KEYS: inflight, waiting,
 * certs:by_expiry; ARGV: member, now in seconds. */
static const char lua_done[] = "redis.call('ZREM', KEYS[1], ARGV[1])\n"
                               "local w = redis.call('ZRANGE', KEYS[2], 0, 0)\n"
                               "if #w == 0 then return false end\n"
                               "redis.call('ZREM', KEYS[2], w[1])\n"
                               "redis.call('ZADD', KEYS[3], 'XX', 'LT', ARGV[2], w[1])\n"
                               "return w[1]\n";

static int names_ok(const char *provider, const char *other, cp_err_t *err)
{
    if (!ctl_store__name_ok(provider) || !ctl_store__name_ok(other))
        return cp_err_set(err, CP_EINVAL, "CA state: empty provider, account or name");
    return 0;
}

/* EVAL of body with the keys and arguments in a (after the script and numkeys). */
static int eval(ctl_store_t *s, const char *body, int numkeys, const ctl_store__args_t *a,
                redisReply **out, cp_err_t *err)
{
    ctl_store__args_t e = {0};
    ctl_store__arg(&e, "EVAL");
    ctl_store__arg(&e, body);
    ctl_store__argf(&e, "%d", numkeys);
    for (int i = 0; i < a->argc; i++)
        ctl_store__argn(&e, a->argv[i], a->lens[i]);
    int rc = ctl_store__call(s, CTL_STORE__WRITE, 0, &e, out, err);
    ctl_store__args_dispose(&e);
    return rc;
}

int ctl_store_ca_ratelimit_set(ctl_store_t *s, const char *provider, const char *account,
                               int64_t until_ms, cp_err_t *err)
{
    if (names_ok(provider, account, err) != 0 || until_ms <= 0)
        return cp_err_set(err, CP_EINVAL, "rate limit: empty name or no time");
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "ratelimit:%s:%s", provider, account);
    ctl_store__argf(&a, "%lld", (long long)until_ms);
    redisReply *r = NULL;
    int rc = eval(s, lua_ratelimit_set, 1, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_ca_ratelimit_get(ctl_store_t *s, const char *provider, const char *account,
                               int64_t now_ms, int64_t *until_ms, cp_err_t *err)
{
    *until_ms = 0;
    if (names_ok(provider, account, err) != 0)
        return CP_EINVAL;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "GET");
    ctl_store__argf(&a, "ratelimit:%s:%s", provider, account);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_STRING) {
        long long v = strtoll(r->str, NULL, 10);
        *until_ms = v > now_ms ? v : 0;
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_ca_order_admit(ctl_store_t *s, const char *provider, const char *account,
                             const char *member, int64_t now_ms, const ctl_store_ca_caps_t *caps,
                             ctl_store_ca_refusal_t *refusal, int64_t *retry_at_ms, cp_err_t *err)
{
    *refusal = CTL_STORE_CA_ADMITTED;
    *retry_at_ms = 0;
    if (names_ok(provider, account, err) != 0 || names_ok(provider, member, err) != 0)
        return CP_EINVAL;
    int64_t hour = now_ms / HOUR_MS;
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "ratelimit:%s:%s", provider, account);
    ctl_store__argf(&a, "orders:%s:%lld", provider, (long long)hour);
    ctl_store__argf(&a, "inflight:%s", provider);
    ctl_store__argf(&a, "waiting:%s", provider);
    ctl_store__argf(&a, "%lld", (long long)now_ms);
    ctl_store__arg(&a, member);
    ctl_store__argf(&a, "%lld", (long long)(caps->lease_ms > 0 ? caps->lease_ms : HOUR_MS));
    ctl_store__argf(&a, "%lld", (long long)caps->orders_per_hour);
    ctl_store__argf(&a, "%lld", (long long)caps->concurrent);
    ctl_store__argf(&a, "%lld", (long long)((hour + 1) * HOUR_MS));
    redisReply *r = NULL;
    int rc = eval(s, lua_admit, 4, &a, &r, err);
    if (rc == 0 &&
        (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
         r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER))
        rc = ctl_store__proto(err, "order admission");
    if (rc == 0) {
        *refusal = (ctl_store_ca_refusal_t)r->element[0]->integer;
        *retry_at_ms = (int64_t)r->element[1]->integer;
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_ca_order_done(ctl_store_t *s, const char *provider, const char *member,
                            int64_t now_ms, char *woken, size_t woken_size, cp_err_t *err)
{
    if (woken_size > 0)
        woken[0] = '\0';
    if (names_ok(provider, member, err) != 0)
        return CP_EINVAL;
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "inflight:%s", provider);
    ctl_store__argf(&a, "waiting:%s", provider);
    ctl_store__arg(&a, "certs:by_expiry");
    ctl_store__arg(&a, member);
    ctl_store__argf(&a, "%.3f", (double)now_ms / 1000.0);
    redisReply *r = NULL;
    int rc = eval(s, lua_done, 3, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_STRING && woken_size > 0)
        snprintf(woken, woken_size, "%s", r->str);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_ca_profiles_put(ctl_store_t *s, const char *provider, const char *profiles,
                              cp_err_t *err)
{
    if (!ctl_store__name_ok(provider) || profiles == NULL)
        return cp_err_set(err, CP_EINVAL, "profiles: empty provider");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "SET");
    ctl_store__argf(&a, "ca:profiles:%s", provider);
    ctl_store__arg(&a, profiles);
    ctl_store__arg(&a, "EX");
    ctl_store__argf(&a, "%d", PROFILES_TTL_S);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_ca_profiles_get(ctl_store_t *s, const char *provider, char **profiles, cp_err_t *err)
{
    *profiles = NULL;
    if (!ctl_store__name_ok(provider))
        return cp_err_set(err, CP_EINVAL, "profiles: empty provider");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "GET");
    ctl_store__argf(&a, "ca:profiles:%s", provider);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_STRING)
        *profiles = ctl_store__strdup_reply(r);
    else if (rc == 0)
        rc = cp_err_set(err, CP_ENOTFOUND, "profiles of %s not known", provider);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}
