/* SPDX-License-Identifier: Apache-2.0 */
/* store_ocsp.c - OCSP responses for stapling in ocsp:{name} and ocsp:due (store_ocsp.h) */
#include "controller/store/store_ocsp.h"

#include <stdlib.h>
#include <string.h>

#include "controller/store/store_internal.h"
#include "shared/mem.h"

#define DUE "ocsp:due"
/* The names holding a stored response, scored by its nextUpdate (what a Watch snapshot reads). */
#define HELD "ocsp:held"
#define DISCOVER_BATCH 1000

int ctl_store_ocsp_due(ctl_store_t *s, int64_t now_ms, size_t max, char ***names, size_t *n,
                       cp_err_t *err)
{
    *names = NULL;
    *n = 0;
    if (max == 0 || max > 1000)
        return cp_err_set(err, CP_EINVAL, "ocsp due: max %zu is not in 1-1000", max);
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "ZRANGEBYSCORE");
    ctl_store__arg(&a, DUE);
    ctl_store__arg(&a, "-inf");
    ctl_store__argf(&a, "%lld", (long long)now_ms);
    ctl_store__arg(&a, "LIMIT");
    ctl_store__arg(&a, "0");
    ctl_store__argf(&a, "%zu", max);
    return ctl_store__names(s, &a, names, n, err);
}

int ctl_store_ocsp_names(ctl_store_t *s, size_t offset, size_t max, char ***names, size_t *n,
                         cp_err_t *err)
{
    *names = NULL;
    *n = 0;
    if (max == 0)
        return 0;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "ZRANGE");
    ctl_store__arg(&a, HELD);
    ctl_store__argf(&a, "%zu", offset);
    ctl_store__argf(&a, "%zu", offset + max - 1);
    return ctl_store__names(s, &a, names, n, err);
}

/* ZADD ocsp:due NX 0 for the names of one page of `certs`, in one command. */
static int discover_page(ctl_store_t *s, char **names, size_t n, cp_err_t *err)
{
    if (n == 0)
        return 0;
    size_t argc = 3 + 2 * n;
    const char **argv = cp_xcalloc(argc, sizeof *argv);
    size_t *lens = cp_xcalloc(argc, sizeof *lens);
    argv[0] = "ZADD";
    argv[1] = DUE;
    argv[2] = "NX";
    for (size_t i = 0; i < n; i++) {
        argv[3 + 2 * i] = "0";
        argv[4 + 2 * i] = names[i];
    }
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = NULL;
    int rc = ctl_store__raw(s, CTL_STORE__WRITE, 0, (int)argc, argv, lens, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR)
        rc = ctl_store__reply_error(r, err);
    freeReplyObject(r);
    free(argv);
    free(lens);
    return rc;
}

int ctl_store_ocsp_discover(ctl_store_t *s, cp_err_t *err)
{
    for (size_t off = 0;; off += DISCOVER_BATCH) {
        ctl_store__args_t a = {0};
        ctl_store__arg(&a, "ZRANGE");
        ctl_store__arg(&a, "certs");
        ctl_store__argf(&a, "%zu", off);
        ctl_store__argf(&a, "%zu", off + DISCOVER_BATCH - 1);
        char **names = NULL;
        size_t n = 0;
        int rc = ctl_store__names(s, &a, &names, &n, err);
        if (rc == 0)
            rc = discover_page(s, names, n, err);
        ctl_store_strv_free(names, n);
        if (rc != 0 || n < DISCOVER_BATCH)
            return rc;
    }
}

int ctl_store_ocsp_claim(ctl_store_t *s, const char *name, int64_t now_ms, int64_t lease_ms,
                         int *won, cp_err_t *err)
{
    *won = 0;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, DUE);
    ctl_store__arg(&a, name);
    ctl_store__argf(&a, "%lld", (long long)now_ms);
    ctl_store__argf(&a, "%lld", (long long)lease_ms);
    redisReply *r = NULL;
    int rc = ctl_store__eval(s, CTL_STORE__LUA_OCSP_CLAIM, CTL_STORE__WRITE, 1, &a, &r, err);
    if (rc == 0)
        *won = r->element[0]->integer == 0;
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

static int64_t reply_ll(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

int ctl_store_ocsp_get(ctl_store_t *s, const char *name, ctl_store_ocsp_t *out, cp_err_t *err)
{
    memset(out, 0, sizeof *out);
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "HMGET");
    ctl_store__argf(&a, "ocsp:%s", name);
    const char *fields[] = {"der", "leaf", "this", "next", "fails"};
    for (size_t i = 0; i < 5; i++)
        ctl_store__arg(&a, fields[i]);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 5))
        rc = ctl_store__proto(err, "HMGET ocsp:");
    if (rc == 0) {
        redisReply **e = r->element;
        if (e[0]->type == REDIS_REPLY_STRING && e[0]->len > 0) {
            out->der = cp_xmalloc(e[0]->len);
            memcpy(out->der, e[0]->str, out->der_len = e[0]->len);
        }
        if (e[1]->type == REDIS_REPLY_STRING && e[1]->len < sizeof out->leaf)
            memcpy(out->leaf, e[1]->str, e[1]->len + 1);
        out->this_update_ms = reply_ll(e[2]);
        out->next_update_ms = reply_ll(e[3]);
        out->fails = (int)reply_ll(e[4]);
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_ocsp_put(ctl_store_t *s, const char *name, const ctl_store_ocsp_t *in, int64_t due_ms,
                       int64_t lease_ms, int *stored, int64_t *rev, cp_err_t *err)
{
    *stored = 0;
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "ocsp:%s", name);
    ctl_store__arg(&a, DUE);
    ctl_store__arg(&a, "events");
    ctl_store__arg(&a, "revision");
    ctl_store__argf(&a, "cert:%s", name);
    ctl_store__arg(&a, name);
    ctl_store__argn(&a, in->der, in->der_len);
    ctl_store__arg(&a, in->leaf);
    ctl_store__argf(&a, "%lld", (long long)in->this_update_ms);
    ctl_store__argf(&a, "%lld", (long long)in->next_update_ms);
    ctl_store__argf(&a, "%lld", (long long)due_ms);
    ctl_store__argf(&a, "%ld", s->opts.events_maxlen);
    ctl_store__argf(&a, "%lld", (long long)lease_ms);
    redisReply *r = NULL;
    int64_t v = 0;
    int rc = ctl_store__eval(s, CTL_STORE__LUA_OCSP_PUT, CTL_STORE__DURABLE, 5, &a, &r, err);
    if (rc == 0 && r->element[0]->integer == CTL_STORE__S_EXISTS)
        rc = 0; /* a newer response for this leaf is kept */
    else if (rc == 0 && (rc = ctl_store__status(r, "certificate", &v, err)) == 0)
        *stored = 1;
    if (rev != NULL)
        *rev = *stored ? v : 0;
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_ocsp_reschedule(ctl_store_t *s, const char *name, int64_t due_ms, int64_t lease_ms,
                              int fails, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "ocsp:%s", name);
    ctl_store__arg(&a, DUE);
    ctl_store__arg(&a, name);
    ctl_store__argf(&a, "%lld", (long long)due_ms);
    ctl_store__argf(&a, "%lld", (long long)lease_ms);
    ctl_store__argf(&a, "%d", fails);
    redisReply *r = NULL;
    int rc = ctl_store__eval(s, CTL_STORE__LUA_OCSP_RESCHEDULE, CTL_STORE__WRITE, 2, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

void ctl_store_ocsp_dispose(ctl_store_ocsp_t *o)
{
    free(o->der);
    memset(o, 0, sizeof *o);
}
