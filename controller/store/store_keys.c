/* SPDX-License-Identifier: Apache-2.0 */
/* store_keys.c - raw access to sealed values for key rotation (keyrotate.c) */
#include "controller/store/store_keys.h"
#include "controller/store/store_internal.h"
#include "shared/mem.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static bool is_url_entry(const redisReply *k)
{
    return k->len >= 4 && memcmp(k->str + k->len - 4, ":url", 4) == 0;
}

int ctl_store_account_scan(ctl_store_t *s, uint64_t cursor, uint64_t *next, char ***keys, size_t *n,
                           cp_err_t *err)
{
    *keys = NULL;
    *n = 0;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "SCAN");
    ctl_store__argf(&a, "%" PRIu64, cursor);
    ctl_store__arg(&a, "MATCH");
    ctl_store__arg(&a, "account:*");
    ctl_store__arg(&a, "COUNT");
    ctl_store__arg(&a, "200");
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 &&
        (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
         r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY))
        rc = ctl_store__proto(err, "SCAN");
    if (rc == 0) {
        const redisReply *list = r->element[1];
        char **v = cp_xcalloc(list->elements + 1, sizeof *v);
        size_t k = 0;
        for (size_t i = 0; i < list->elements; i++)
            if (list->element[i]->type == REDIS_REPLY_STRING && !is_url_entry(list->element[i]))
                v[k++] = ctl_store__xstrndup(list->element[i]->str, list->element[i]->len);
        *next = strtoull(r->element[0]->str, NULL, 10);
        *keys = v;
        *n = k;
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_value_get(ctl_store_t *s, const char *key, char **value, cp_err_t *err)
{
    *value = NULL;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "GET");
    ctl_store__arg(&a, key);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_NIL)
        rc = cp_err_set(err, CP_ENOTFOUND, "%s not found", key);
    else if (rc == 0 && r->type != REDIS_REPLY_STRING)
        rc = ctl_store__proto(err, "GET");
    if (rc == 0)
        *value = ctl_store__xstrndup(r->str, r->len);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_value_cas(ctl_store_t *s, const char *key, const char *expected, const char *value,
                        cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, key);
    ctl_store__arg(&a, expected);
    ctl_store__arg(&a, value);
    redisReply *r = NULL;
    /* Compare-and-set: repeating it after an I/O error is harmless. */
    int rc = ctl_store__eval(s, CTL_STORE__LUA_VALUE_CAS, CTL_STORE__READ, 1, &a, &r, err);
    if (rc == 0)
        rc = ctl_store__status(r, key, NULL, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_cert_renew_at(ctl_store_t *s, const char *name, double *renew_at, cp_err_t *err)
{
    *renew_at = -1;
    if (!ctl_store__name_ok(name))
        return cp_err_set(err, CP_EINVAL, "certificate: empty name");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "ZSCORE");
    ctl_store__arg(&a, "certs:by_expiry");
    ctl_store__arg(&a, name);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type != REDIS_REPLY_NIL && r->type != REDIS_REPLY_STRING)
        rc = ctl_store__proto(err, "ZSCORE");
    if (rc == 0 && r->type == REDIS_REPLY_STRING)
        *renew_at = strtod(r->str, NULL);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}
