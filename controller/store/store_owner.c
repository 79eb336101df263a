/* SPDX-License-Identifier: Apache-2.0 */
/* store_owner.c - controller presence keys (see store_owner.h) */
#include "controller/store/store_owner.h"
#include "controller/store/store_internal.h"

#include <stdio.h>
#include <string.h>

bool ctl_store_id_ok(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n == 0 || n > CTL_STORE_ID_MAX)
        return false;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == n;
}

static int check(const char *id, const char *incarnation, cp_err_t *err)
{
    if (!ctl_store_id_ok(id) || incarnation == NULL || incarnation[0] == '\0' ||
        strspn(incarnation, "0123456789abcdef") != strlen(incarnation))
        return cp_err_set(err, CP_EINVAL, "presence: bad controller ID or incarnation");
    return 0;
}

int ctl_store_presence_set(ctl_store_t *s, const char *id, const char *incarnation, int ttl_ms,
                           bool *was_present, cp_err_t *err)
{
    int rc = check(id, incarnation, err);
    if (rc != 0)
        return rc;
    if (ttl_ms <= 0)
        return cp_err_set(err, CP_EINVAL, "presence: ttl <= 0");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "SET");
    ctl_store__argf(&a, "controller:%s", id);
    ctl_store__arg(&a, incarnation);
    ctl_store__arg(&a, "PX");
    ctl_store__argf(&a, "%d", ttl_ms);
    ctl_store__arg(&a, "GET");
    redisReply *r = NULL;
    /* Setting the same value again is harmless: an I/O error may be retried. */
    rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && was_present != NULL)
        *was_present = r->type == REDIS_REPLY_STRING && strcmp(r->str, incarnation) == 0;
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_presence_clear(ctl_store_t *s, const char *id, const char *incarnation, cp_err_t *err)
{
    int rc = check(id, incarnation, err);
    if (rc != 0)
        return rc;
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "controller:%s", id);
    ctl_store__arg(&a, incarnation);
    redisReply *r = NULL;
    rc = ctl_store__eval(s, CTL_STORE__LUA_PRESENCE_CLEAR, CTL_STORE__READ, 1, &a, &r, err);
    if (rc == 0)
        rc = ctl_store__status(r, "presence", NULL, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}
