/* SPDX-License-Identifier: Apache-2.0 */
/* store_orders.c - order:{name} records (see store_orders.h) */
#include "controller/store/store_orders.h"
#include "controller/store/keywrap.h"
#include "controller/store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "shared/mem.h"

void ctl_store_order_dispose(ctl_store_order_t *o)
{
    if (o == NULL)
        return;
    free(o->url);
    free(o->request);
    free(o->replaces);
    cp_secure_free_str(o->key_pem);
    memset(o, 0, sizeof *o);
}

int ctl_store_order_get(ctl_store_t *s, const char *name, ctl_store_order_t *out, cp_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!ctl_store__name_ok(name))
        return cp_err_set(err, CP_EINVAL, "order: empty name");
    ctl_store__args_t a = {0};
    const char *argv[] = {"HMGET", "url", "request", "replaces", "key"};
    ctl_store__arg(&a, argv[0]);
    ctl_store__argf(&a, "order:%s", name);
    for (size_t i = 1; i < sizeof argv / sizeof argv[0]; i++)
        ctl_store__arg(&a, argv[i]);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 4))
        rc = ctl_store__proto(err, "HMGET order");
    else if (rc == 0 && r->element[0]->type != REDIS_REPLY_STRING &&
             r->element[1]->type != REDIS_REPLY_STRING)
        rc = cp_err_set(err, CP_ENOTFOUND, "no order recorded for \"%s\"", name);
    else if (rc == 0 && (r->element[0]->type != REDIS_REPLY_STRING ||
                         r->element[1]->type != REDIS_REPLY_STRING))
        rc = cp_err_set(err, CP_EPROTO, "order record of \"%s\" without url or request", name);
    if (rc == 0) {
        out->url = ctl_store__strdup_reply(r->element[0]);
        out->request = ctl_store__strdup_reply(r->element[1]);
        out->replaces = ctl_store__strdup_reply(r->element[2]);
        if (out->replaces == NULL)
            out->replaces = cp_xstrdup("");
        if (r->element[3]->type == REDIS_REPLY_STRING) {
            char record[CTL_STORE_OWNER_MAX + 300];
            snprintf(record, sizeof record, "order:%s", name);
            rc = ctl_keywrap_open(s->opts.keyring, record, r->element[3]->str, &out->key_pem, NULL,
                                  err);
            if (rc != 0)
                ctl_store_order_dispose(out);
        }
    }
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
        r->element[3]->type == REDIS_REPLY_STRING)
        OPENSSL_cleanse(r->element[3]->str, r->element[3]->len);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_order_put(ctl_store_t *s, const char *name, const ctl_store_order_t *o, cp_err_t *err)
{
    if (!ctl_store__name_ok(name) || !ctl_store__name_ok(o->url) || o->request == NULL)
        return cp_err_set(err, CP_EINVAL, "order: empty name, url or request");
    char *sealed = NULL;
    if (o->key_pem != NULL) {
        char *record = cp_xasprintf("order:%s", name);
        int rc =
            ctl_keywrap_seal(s->opts.keyring, record, o->key_pem, strlen(o->key_pem), &sealed, err);
        free(record);
        if (rc != 0)
            return rc;
    }
    ctl_store__args_t del = {0}, set = {0}, ttl = {0};
    ctl_store__arg(&del, "DEL");
    ctl_store__argf(&del, "order:%s", name);
    ctl_store__arg(&set, "HSET");
    ctl_store__argf(&set, "order:%s", name);
    const char *fields[] = {"url",      o->url,     "request",
                            o->request, "replaces", o->replaces != NULL ? o->replaces : ""};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ctl_store__arg(&set, fields[i]);
    if (sealed != NULL) {
        ctl_store__arg(&set, "key");
        ctl_store__arg(&set, sealed);
    }
    ctl_store__arg(&ttl, "EXPIRE");
    ctl_store__argf(&ttl, "order:%s", name);
    ctl_store__argf(&ttl, "%d", CTL_STORE_ORDER_TTL_S);
    const ctl_store__args_t *cmds[] = {&del, &set, &ttl};
    redisReply *r = NULL;
    /* Writing the same record again is harmless, so an I/O error may be retried. */
    int rc = ctl_store__multi(s, CTL_STORE__DURABLE, 3, cmds, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&del);
    ctl_store__args_dispose(&set);
    ctl_store__args_dispose(&ttl);
    cp_secure_free_str(sealed); /* plaintext without a keyring */
    return rc;
}

int ctl_store_order_del(ctl_store_t *s, const char *name, cp_err_t *err)
{
    if (!ctl_store__name_ok(name))
        return cp_err_set(err, CP_EINVAL, "order: empty name");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "DEL");
    ctl_store__argf(&a, "order:%s", name);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}
