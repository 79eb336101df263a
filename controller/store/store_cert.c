/* SPDX-License-Identifier: Apache-2.0 */
/* store_cert.c - certificate records, their indexes (certs, certs:by_expiry) and the revision
 * counter */
#include "controller/store/store_cert.h"
#include "controller/store/store_internal.h"
#include "shared/mem.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PAGE 10000

static bool job_kind_ok(const char *k)
{
    return strcmp(k, "issue") == 0 || strcmp(k, "renew") == 0 || strcmp(k, "revoke") == 0 ||
           strcmp(k, "ari") == 0;
}

/* The script checks the JSON itself (cjson); here only what decides how to splice it: it must start
 * with
 * `{` once leading white space is skipped. */
static int check_write(const ctl_store_cert_write_t *w, const char **json, size_t *len,
                       cp_err_t *err)
{
    if (w == NULL || !ctl_store__name_ok(w->name))
        return cp_err_set(err, CP_EINVAL, "certificate: empty name");
    if (w->mode != CTL_STORE_CREATE && w->mode != CTL_STORE_MATCH && w->mode != CTL_STORE_ANY)
        return cp_err_set(err, CP_EINVAL, "certificate \"%s\": bad write mode %d", w->name,
                          w->mode);
    if (w->job_kind != NULL && !job_kind_ok(w->job_kind))
        return cp_err_set(err, CP_EINVAL, "certificate \"%s\": bad job kind", w->name);
    if (isnan(w->renew_at) || isinf(w->renew_at))
        return cp_err_set(err, CP_EINVAL, "certificate \"%s\": renew_at is not finite", w->name);
    const char *p = w->json;
    size_t n = p == NULL ? 0 : w->json_len ? w->json_len : strlen(p);
    while (n > 0 && isspace((unsigned char)*p))
        p++, n--;
    if (n == 0 || *p != '{')
        return cp_err_set(err, CP_EINVAL, "certificate \"%s\": not a JSON object", w->name);
    *json = p;
    *len = n;
    return 0;
}

int ctl_store_cert_put(ctl_store_t *s, const ctl_store_cert_write_t *w, int64_t *new_revision,
                       cp_err_t *err)
{
    static const char *const modes[] = {"create", "match", "any"};
    const char *json = NULL;
    size_t len = 0;
    int rc = check_write(w, &json, &len, err);
    if (rc != 0)
        return rc;
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "cert:%s", w->name);
    ctl_store__arg(&a, "certs");
    ctl_store__arg(&a, "certs:by_expiry");
    ctl_store__arg(&a, "events");
    ctl_store__arg(&a, "revision");
    ctl_store__arg(&a, "jobs");
    ctl_store__arg(&a, w->name);
    ctl_store__argn(&a, json, len);
    ctl_store__arg(&a, modes[w->mode]);
    ctl_store__argf(&a, "%" PRId64, w->expected_revision);
    if (w->renew_at < 0)
        ctl_store__arg(&a, "");
    else
        ctl_store__argf(&a, "%.17g", w->renew_at);
    ctl_store__arg(&a, w->job_kind ? w->job_kind : "");
    ctl_store__argf(&a, "%ld", s->opts.events_maxlen);
    redisReply *r = NULL;
    rc = ctl_store__eval(s, CTL_STORE__LUA_CERT_PUT, CTL_STORE__DURABLE, 6, &a, &r, err);
    if (rc == 0) {
        char what[300];
        snprintf(what, sizeof what, "certificate \"%s\"", w->name);
        int64_t rev = 0;
        rc = ctl_store__status(r, what, &rev, err);
        if (rc == 0 && new_revision != NULL)
            *new_revision = rev;
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_cert_get(ctl_store_t *s, const char *name, char **json, size_t *len, cp_err_t *err)
{
    *json = NULL;
    if (!ctl_store__name_ok(name))
        return cp_err_set(err, CP_EINVAL, "certificate: empty name");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "GET");
    ctl_store__argf(&a, "cert:%s", name);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_NIL)
        rc = cp_err_set(err, CP_ENOTFOUND, "certificate \"%s\" not found", name);
    else if (rc == 0 && r->type != REDIS_REPLY_STRING)
        rc = ctl_store__proto(err, "GET cert");
    if (rc == 0) {
        *json = ctl_store__xstrndup(r->str, r->len);
        if (len != NULL)
            *len = r->len;
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_cert_mget(ctl_store_t *s, const char *const *names, size_t n, char **jsons,
                        cp_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        jsons[i] = NULL;
        if (!ctl_store__name_ok(names[i]))
            return cp_err_set(err, CP_EINVAL, "certificate: empty name at %zu", i);
    }
    if (n == 0)
        return 0;
    const char **argv = cp_xcalloc(1, (n + 1) * sizeof *argv);
    size_t *lens = cp_xcalloc(1, (n + 1) * sizeof *lens);
    argv[0] = "MGET", lens[0] = 4;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        char *k = cp_xcalloc(1, l + 6);
        memcpy(k, "cert:", 5);
        memcpy(k + 5, names[i], l);
        argv[i + 1] = k, lens[i + 1] = l + 5;
    }
    redisReply *r = NULL;
    int rc = ctl_store__raw(s, CTL_STORE__READ, 0, (int)n + 1, argv, lens, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR)
        rc = ctl_store__reply_error(r, err);
    else if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != n))
        rc = ctl_store__proto(err, "MGET");
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            jsons[i] = ctl_store__xstrndup(r->element[i]->str, r->element[i]->len);
    freeReplyObject(r);
    for (size_t i = 1; i <= n; i++)
        free((char *)argv[i]);
    free(argv);
    free(lens);
    return rc;
}

int ctl_store_cert_delete(ctl_store_t *s, const char *name, int64_t expected_revision,
                          int64_t *new_revision, cp_err_t *err)
{
    if (!ctl_store__name_ok(name))
        return cp_err_set(err, CP_EINVAL, "certificate: empty name");
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "cert:%s", name);
    ctl_store__arg(&a, "certs");
    ctl_store__arg(&a, "certs:by_expiry");
    ctl_store__arg(&a, "events");
    ctl_store__arg(&a, "revision");
    ctl_store__arg(&a, name);
    ctl_store__argf(&a, "%" PRId64, expected_revision);
    ctl_store__argf(&a, "%ld", s->opts.events_maxlen);
    redisReply *r = NULL;
    int rc = ctl_store__eval(s, CTL_STORE__LUA_CERT_DELETE, CTL_STORE__DURABLE, 5, &a, &r, err);
    if (rc == 0) {
        char what[300];
        snprintf(what, sizeof what, "certificate \"%s\"", name);
        int64_t rev = 0;
        rc = ctl_store__status(r, what, &rev, err);
        if (rc == 0 && new_revision != NULL)
            *new_revision = rev;
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_cert_list(ctl_store_t *s, const char *after, size_t limit, char ***names, size_t *n,
                        cp_err_t *err)
{
    *names = NULL;
    *n = 0;
    if (limit == 0 || limit > MAX_PAGE)
        return cp_err_set(err, CP_EINVAL, "list: limit %zu is not in 1-%d", limit, MAX_PAGE);
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "ZRANGEBYLEX");
    ctl_store__arg(&a, "certs");
    if (after == NULL || after[0] == '\0')
        ctl_store__arg(&a, "-");
    else
        ctl_store__argf(&a, "(%s", after);
    ctl_store__arg(&a, "+");
    ctl_store__arg(&a, "LIMIT");
    ctl_store__arg(&a, "0");
    ctl_store__argf(&a, "%zu", limit);
    return ctl_store__names(s, &a, names, n, err);
}

int ctl_store_cert_index(ctl_store_t *s, const char *name, double renew_at, cp_err_t *err)
{
    if (!ctl_store__name_ok(name))
        return cp_err_set(err, CP_EINVAL, "certificate: empty name");
    if (isnan(renew_at) || isinf(renew_at))
        return cp_err_set(err, CP_EINVAL, "certificate \"%s\": renew_at is not finite", name);
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "cert:%s", name);
    ctl_store__arg(&a, "certs");
    ctl_store__arg(&a, "certs:by_expiry");
    ctl_store__arg(&a, name);
    if (renew_at < 0)
        ctl_store__arg(&a, "");
    else
        ctl_store__argf(&a, "%.17g", renew_at);
    redisReply *r = NULL;
    /* Idempotent, so it may be repeated after an I/O error. */
    int rc = ctl_store__eval(s, CTL_STORE__LUA_CERT_INDEX, CTL_STORE__READ, 3, &a, &r, err);
    if (rc == 0) {
        char what[300];
        snprintf(what, sizeof what, "certificate \"%s\"", name);
        rc = ctl_store__status(r, what, NULL, err);
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_cert_scan(ctl_store_t *s, uint64_t cursor, uint64_t *next, char ***names, size_t *n,
                        cp_err_t *err)
{
    *names = NULL;
    *n = 0;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "SCAN");
    ctl_store__argf(&a, "%" PRIu64, cursor);
    ctl_store__arg(&a, "MATCH");
    ctl_store__arg(&a, "cert:*");
    ctl_store__arg(&a, "COUNT");
    ctl_store__arg(&a, "200");
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    /* The cursor comes back as a string. */
    if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                    r->element[0]->type != REDIS_REPLY_STRING))
        rc = ctl_store__proto(err, "SCAN");
    if (rc == 0) {
        *next = strtoull(r->element[0]->str, NULL, 10);
        rc = ctl_store__strv(r->element[1], 5, names, n, err);
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_cert_unlisted(ctl_store_t *s, char **names, size_t *n, cp_err_t *err)
{
    if (*n == 0)
        return 0;
    const char **argv = cp_xcalloc(*n + 2, sizeof *argv);
    size_t *lens = cp_xcalloc(*n + 2, sizeof *lens);
    argv[0] = "ZMSCORE", lens[0] = 7;
    argv[1] = "certs", lens[1] = 5;
    for (size_t i = 0; i < *n; i++)
        argv[i + 2] = names[i], lens[i + 2] = strlen(names[i]);
    redisReply *r = NULL;
    int rc = ctl_store__raw(s, CTL_STORE__READ, 0, (int)*n + 2, argv, lens, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR)
        rc = ctl_store__reply_error(r, err);
    else if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != *n))
        rc = ctl_store__proto(err, "ZMSCORE certs");
    size_t kept = 0;
    for (size_t i = 0; rc == 0 && i < *n; i++) {
        if (r->element[i]->type == REDIS_REPLY_NIL)
            names[kept++] = names[i];
        else
            free(names[i]);
    }
    if (rc == 0)
        *n = kept;
    freeReplyObject(r);
    free(argv);
    free(lens);
    return rc;
}

int ctl_store_due(ctl_store_t *s, double now, size_t limit, char ***names, size_t *n, cp_err_t *err)
{
    *names = NULL;
    *n = 0;
    if (limit == 0 || limit > MAX_PAGE || isnan(now))
        return cp_err_set(err, CP_EINVAL, "due: limit %zu is not in 1-%d", limit, MAX_PAGE);
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "ZRANGEBYSCORE");
    ctl_store__arg(&a, "certs:by_expiry");
    ctl_store__arg(&a, "-inf");
    ctl_store__argf(&a, "%.17g", now);
    ctl_store__arg(&a, "LIMIT");
    ctl_store__arg(&a, "0");
    ctl_store__argf(&a, "%zu", limit);
    return ctl_store__names(s, &a, names, n, err);
}

int ctl_store_next_due(ctl_store_t *s, double *when, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "ZRANGE");
    ctl_store__arg(&a, "certs:by_expiry");
    ctl_store__arg(&a, "0");
    ctl_store__arg(&a, "0");
    ctl_store__arg(&a, "WITHSCORES");
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || (r->elements != 0 && r->elements != 2) ||
                    (r->elements == 2 && r->element[1]->type != REDIS_REPLY_STRING)))
        rc = ctl_store__proto(err, "ZRANGE certs:by_expiry");
    if (rc == 0)
        *when = r->elements == 0 ? -1 : strtod(r->element[1]->str, NULL);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}
