/* SPDX-License-Identifier: Apache-2.0 */
/* store_perm.c - the Redis user's permissions, checked at start (store_perm.h) */
#include "controller/store/store_perm.h"

#include <string.h>

#include "controller/store/store_internal.h"

#define P "cp:permission-probe"

/* What the controller sends (helm/certplane/files/redis-acl.rules lists the same), each on a key
 * of every pattern it touches; arguments only have to be well-formed. */
static const char *const probes[][8] = {
    {"PING"},
    {"ROLE"},
    {"WAIT", "0", "0"},
    {"SCRIPT", "LOAD", "return 1"},
    {"EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "1", "cert:" P},
    {"EVAL", "return 1", "1", "cert:" P},
    {"GET", "tls:ticket_keys"},
    {"MGET", "cert:" P, "account:" P, "challenge:" P},
    {"SET", "controller:" P, "x"},
    {"DEL", "lock:cert:" P, "order:" P},
    {"EXISTS", "ca:profiles:" P},
    {"INCR", "revision"},
    {"EXPIRE", "ratelimit:" P, "1"},
    {"PEXPIRE", "orders:" P, "1"},
    {"ZADD", "certs:by_expiry", "0", P},
    {"ZREM", "inflight:" P, P},
    {"ZCARD", "waiting:" P},
    {"ZSCORE", "edges:seen", P},
    {"ZMSCORE", "certs", P, P},
    {"ZRANGE", "certs", "0", "0"},
    {"ZRANGEBYLEX", "certs", "-", "+", "LIMIT", "0", "1"},
    {"ZRANGEBYSCORE", "certs:by_expiry", "0", "0"},
    {"ZREMRANGEBYSCORE", "inflight:" P, "0", "0"},
    {"HSET", "edges", P, "x"},
    {"HMGET", "order:" P, "url"},
    {"HDEL", "edges", P},
    {"XADD", "events", "1-1", "type", "probe"},
    {"XREAD", "COUNT", "1", "STREAMS", "events", "0"},
    {"XRANGE", "events", "-", "+", "COUNT", "1"},
    {"XDEL", "jobs", "1-1"},
    {"XGROUP", "CREATE", "jobs", P, "$", "MKSTREAM"},
    {"XREADGROUP", "GROUP", P, P, "STREAMS", "jobs", ">"},
    {"XACK", "jobs", P, "1-1"},
    {"XPENDING", "jobs", P},
    {"XCLAIM", "jobs", P, P, "0", "1-1"},
    {"XAUTOCLAIM", "jobs", P, P, "0", "0"},
    {"SCAN", "0", "MATCH", "cert:*", "COUNT", "1"},
    /* OCSP stapling (issue 14): ocsp:{name} and the schedule ocsp:due */
    {"HSET", "ocsp:" P, "der", "x"},
    {"ZADD", "ocsp:due", "0", P},
    {"ZADD", "ocsp:held", "0", P},
    /* webhooks (store_webhooks.c) */
    {"HGET", "webhook:marks:" P, P},
    {"HGETALL", "webhook:subs"},
    {"HLEN", "webhook:subs"},
    {"HSETNX", "webhook:marks:" P, P, "x"},
    {"LPUSH", "webhook:" P, "x"},
    {"LTRIM", "webhook:dead", "0", "999"},
    {"LRANGE", "webhook:dead", "0", "0"},
    {"XADD", "webhook:events", "1-1", "type", "probe"},
    {"XAUTOCLAIM", "webhook:events", P, P, "0", "0"},
    {"ZADD", "webhook:retry", "0", P},
    /* on-demand TLS (store_ondemand.c) */
    {"INCR", "ondemand:orders:" P},
    {"PEXPIRE", "ondemand:orders:" P, "1"},
    {"HSET", "ondemand:used", P, "0"},
    {"HMGET", "ondemand:used", P},
};
#define N_PROBES (sizeof probes / sizeof probes[0])

int ctl_store_check_permissions(ctl_store_t *s, cp_err_t *err)
{
    ctl_store__cmd_t cmds[N_PROBES + 2];
    static const char *multi[] = {"MULTI"}, *discard[] = {"DISCARD"};
    cmds[0] = (ctl_store__cmd_t){1, multi, NULL};
    for (size_t i = 0; i < N_PROBES; i++) {
        int argc = 0;
        while (argc < 8 && probes[i][argc] != NULL)
            argc++;
        cmds[i + 1] = (ctl_store__cmd_t){argc, probes[i], NULL};
    }
    cmds[N_PROBES + 1] = (ctl_store__cmd_t){1, discard, NULL};
    redisReply *r[N_PROBES + 2] = {0};
    int rc = ctl_store__pipeline(s, CTL_STORE__READ, 0, (int)N_PROBES + 2, cmds, r, err);
    /* A connection left inside MULTI (DISCARD refused) would queue every later command. */
    if (rc == 0 && r[N_PROBES + 1]->type == REDIS_REPLY_ERROR) {
        ctl_store__drop(s);
        rc = cp_err_set(err, CP_EPERM, "redis user cannot run DISCARD: %s", r[N_PROBES + 1]->str);
    }
    for (size_t i = 1; rc == 0 && i <= N_PROBES; i++) {
        if (r[i]->type != REDIS_REPLY_ERROR || strncmp(r[i]->str, "NOPERM", 6) != 0)
            continue;
        rc = cp_err_set(err, CP_EPERM, "redis user cannot run %s %s: %s", probes[i - 1][0],
                        probes[i - 1][1] != NULL ? probes[i - 1][1] : "", r[i]->str);
    }
    for (size_t i = 0; i < N_PROBES + 2; i++)
        freeReplyObject(r[i]);
    return rc;
}
