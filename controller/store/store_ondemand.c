/* SPDX-License-Identifier: Apache-2.0 */
/* store_ondemand.c - the on-demand hourly cap and last-used times (store_ondemand.h) */
#include "controller/store/store_ondemand.h"

#include <stdlib.h>

#include "controller/store/store_internal.h"

#define HOUR_MS 3600000LL

int ctl_store_ondemand_admit(ctl_store_t *s, int64_t now_ms, int64_t max, bool *admitted,
                             cp_err_t *err)
{
    *admitted = true;
    if (max <= 0)
        return 0;
    ctl_store__args_t incr = {0}, expire = {0};
    ctl_store__arg(&incr, "INCR");
    ctl_store__argf(&incr, "ondemand:orders:%lld", (long long)(now_ms / HOUR_MS));
    ctl_store__arg(&expire, "PEXPIRE");
    ctl_store__argf(&expire, "ondemand:orders:%lld", (long long)(now_ms / HOUR_MS));
    ctl_store__argf(&expire, "%lld", 2 * HOUR_MS);
    const ctl_store__args_t *cmds[] = {&incr, &expire};
    redisReply *r = NULL;
    int rc = ctl_store__multi(s, CTL_STORE__WRITE, 2, cmds, &r, err);
    if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                    r->element[0]->type != REDIS_REPLY_INTEGER))
        rc = ctl_store__proto(err, "on-demand admission");
    /* A refused admission stays counted: the hour is full either way. */
    if (rc == 0)
        *admitted = r->element[0]->integer <= max;
    freeReplyObject(r);
    ctl_store__args_dispose(&incr);
    ctl_store__args_dispose(&expire);
    return rc;
}

int ctl_store_ondemand_used(ctl_store_t *s, const char *const *names, size_t n, int64_t now_ms,
                            cp_err_t *err)
{
    if (n == 0)
        return 0;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "HSET");
    ctl_store__arg(&a, "ondemand:used");
    for (size_t i = 0; i < n; i++) {
        ctl_store__arg(&a, names[i]);
        ctl_store__argf(&a, "%lld", (long long)now_ms);
    }
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__WRITE, 0, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_ondemand_last_used(ctl_store_t *s, const char *name, int64_t *ms, cp_err_t *err)
{
    *ms = 0;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "HMGET");
    ctl_store__arg(&a, "ondemand:used");
    ctl_store__arg(&a, name);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_STRING)
        *ms = strtoll(r->element[0]->str, NULL, 10);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}
