/* SPDX-License-Identifier: Apache-2.0 */
/* store_jobs.c - the jobs stream, per-certificate locks and ACME account keys */
#include "controller/store/store_jobs.h"
#include "controller/store/store_internal.h"
#include "shared/mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define GROUP "controllers"

void ctl_store_job_dispose(ctl_store_job_t *job)
{
    if (job == NULL)
        return;
    free(job->name);
    memset(job, 0, sizeof *job);
}

static bool job_kind_ok(const char *k)
{
    return k != NULL && (strcmp(k, "issue") == 0 || strcmp(k, "renew") == 0 ||
                         strcmp(k, "revoke") == 0 || strcmp(k, "ari") == 0);
}

/* Fills job from a stream entry [id, [field, value, ...]]; job is untouched on failure. */
static int parse_job(const redisReply *e, ctl_store_job_t *job, cp_err_t *err)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len >= sizeof job->id ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return ctl_store__proto(err, "a jobs entry");
    const char *kind = NULL, *name = NULL, *rev = NULL;
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "kind") == 0)
            kind = v;
        else if (strcmp(k, "name") == 0)
            name = v;
        else if (strcmp(k, "revision") == 0)
            rev = v;
    }
    if (!job_kind_ok(kind) || name == NULL || rev == NULL)
        return cp_err_set(err, CP_EPROTO, "jobs entry %s: missing or bad fields",
                          e->element[0]->str);
    memset(job, 0, sizeof *job);
    memcpy(job->id, e->element[0]->str, e->element[0]->len + 1);
    snprintf(job->kind, sizeof job->kind, "%s", kind);
    job->name = ctl_store__xstrndup(name, strlen(name));
    job->revision = strtoll(rev, NULL, 10);
    job->deliveries = 1;
    return 0;
}

int ctl_store_jobs_init(ctl_store_t *s, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    const char *argv[] = {"XGROUP", "CREATE", "jobs", GROUP, "0", "MKSTREAM"};
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        ctl_store__arg(&a, argv[i]);
    redisReply *r = NULL;
    int rc = ctl_store__raw(s, CTL_STORE__READ, 0, a.argc, a.argv, a.lens, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
        rc = ctl_store__reply_error(r, err);
    freeReplyObject(r);
    return rc;
}

int ctl_store_job_enqueue(ctl_store_t *s, const char *kind, const char *name, int64_t revision,
                          cp_err_t *err)
{
    if (!job_kind_ok(kind) || !ctl_store__name_ok(name))
        return cp_err_set(err, CP_EINVAL, "job: bad kind or empty name");
    ctl_store__args_t a = {0};
    const char *argv[] = {"XADD", "jobs", "*", "kind", kind, "name", name, "revision"};
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        ctl_store__arg(&a, argv[i]);
    ctl_store__argf(&a, "%" PRId64, revision);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__DURABLE, 0, &a, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

/* Runs a consumer-group command; a missing group (NOGROUP: a fresh or flushed Redis) is created and
 * the command repeated once. */
static int group_call(ctl_store_t *s, int block_ms, const ctl_store__args_t *a, redisReply **out,
                      cp_err_t *err)
{
    for (int attempt = 0;; attempt++) {
        redisReply *r = NULL;
        int rc = ctl_store__raw(s, CTL_STORE__READ, block_ms, a->argc, a->argv, a->lens, &r, err);
        if (rc == 0 && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOGROUP", 7) == 0 &&
            attempt == 0) {
            freeReplyObject(r);
            if ((rc = ctl_store_jobs_init(s, err)) != 0)
                return rc;
            continue;
        }
        if (rc == 0 && r->type == REDIS_REPLY_ERROR) {
            rc = ctl_store__reply_error(r, err);
            freeReplyObject(r);
            r = NULL;
        }
        *out = r;
        return rc;
    }
}

int ctl_store_job_read(ctl_store_t *s, const char *consumer, int block_ms, ctl_store_job_t *job,
                       cp_err_t *err)
{
    if (!ctl_store__name_ok(consumer) || block_ms < 0)
        return cp_err_set(err, CP_EINVAL, "job: empty consumer or negative block time");
    ctl_store__args_t a = {0};
    const char *argv[] = {"XREADGROUP", "GROUP", GROUP, consumer, "COUNT", "1"};
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        ctl_store__arg(&a, argv[i]);
    if (block_ms > 0) {
        ctl_store__arg(&a, "BLOCK");
        ctl_store__argf(&a, "%d", block_ms);
    }
    ctl_store__arg(&a, "STREAMS");
    ctl_store__arg(&a, "jobs");
    ctl_store__arg(&a, ">");
    redisReply *r = NULL;
    int rc = group_call(s, block_ms, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_NIL)
        rc = cp_err_set(err, CP_ETIMEDOUT, "jobs: none within %d ms", block_ms);
    else if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
                         r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements != 2 ||
                         r->element[0]->element[1]->type != REDIS_REPLY_ARRAY ||
                         r->element[0]->element[1]->elements != 1))
        rc = ctl_store__proto(err, "XREADGROUP");
    if (rc == 0)
        rc = parse_job(r->element[0]->element[1]->element[0], job, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

/* Reads how often the pending entry `id` was delivered (XPENDING with a range of one ID). */
static int job_deliveries(ctl_store_t *s, ctl_store_job_t *job, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    const char *argv[] = {"XPENDING", "jobs", GROUP, job->id, job->id, "1"};
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        ctl_store__arg(&a, argv[i]);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 4 &&
        r->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
        job->deliveries = r->element[0]->element[3]->integer;
    freeReplyObject(r);
    return rc;
}

/* One XAUTOCLAIM step from *cursor. rc 0 and *found: job filled; otherwise *cursor moves on ("0-0"
 * when the pending list was scanned to its end). */
static int autoclaim_step(ctl_store_t *s, const char *consumer, int min_idle_ms, char *cursor,
                          size_t size, ctl_store_job_t *job, bool *found, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    const char *argv[] = {"XAUTOCLAIM", "jobs", GROUP, consumer};
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++)
        ctl_store__arg(&a, argv[i]);
    ctl_store__argf(&a, "%d", min_idle_ms);
    ctl_store__arg(&a, cursor);
    ctl_store__arg(&a, "COUNT");
    ctl_store__arg(&a, "1");
    redisReply *r = NULL;
    int rc = group_call(s, 0, &a, &r, err);
    if (rc == 0 &&
        (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
         r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY))
        rc = ctl_store__proto(err, "XAUTOCLAIM");
    *found = false;
    if (rc == 0) {
        snprintf(cursor, size, "%s", r->element[0]->str);
        const redisReply *claimed = r->element[1];
        /* Redis 6.2 lists an entry deleted meanwhile as NIL; 7.0 leaves it out. */
        if (claimed->elements > 0 && claimed->element[0]->type == REDIS_REPLY_ARRAY) {
            rc = parse_job(claimed->element[0], job, err);
            *found = rc == 0;
        }
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_job_reclaim(ctl_store_t *s, const char *consumer, int min_idle_ms,
                          ctl_store_job_t *job, cp_err_t *err)
{
    if (!ctl_store__name_ok(consumer) || min_idle_ms < 0)
        return cp_err_set(err, CP_EINVAL, "job: empty consumer or negative idle time");
    char cursor[48] = "0-0";
    /* The scan is bounded: each step claims or skips at least one pending entry. */
    for (int step = 0; step < 1000; step++) {
        bool found = false;
        int rc = autoclaim_step(s, consumer, min_idle_ms, cursor, sizeof cursor, job, &found, err);
        if (rc != 0)
            return rc;
        if (found) {
            rc = job_deliveries(s, job, err);
            if (rc != 0)
                ctl_store_job_dispose(job);
            return rc;
        }
        if (strcmp(cursor, "0-0") == 0)
            break;
    }
    return cp_err_set(err, CP_ENOTFOUND, "jobs: none idle for %d ms", min_idle_ms);
}

int ctl_store_job_reclaim_dead(ctl_store_t *s, const char *consumer, ctl_store_job_t *job,
                               cp_err_t *err)
{
    if (!ctl_store__name_ok(consumer))
        return cp_err_set(err, CP_EINVAL, "job: empty consumer");
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "jobs");
    ctl_store__arg(&a, GROUP);
    ctl_store__arg(&a, consumer);
    redisReply *r = NULL;
    int rc = ctl_store__eval(s, CTL_STORE__LUA_JOB_RECLAIM_DEAD, CTL_STORE__WRITE, 1, &a, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 0 &&
        r->element[2]->type == REDIS_REPLY_INTEGER) {
        rc = parse_job(r->element[1], job, err);
        if (rc == 0)
            job->deliveries = r->element[2]->integer;
    } else if (rc == 0) {
        rc = ctl_store__status(r, "jobs of dead controllers", NULL, err);
        if (rc == 0 || rc == CP_ENOTFOUND)
            rc = cp_err_set(err, CP_ENOTFOUND, "jobs: none held by a dead controller");
        else if (strstr(err->msg, "NOGROUP") != NULL)
            rc = cp_err_set(err, CP_ENOTFOUND, "jobs: no consumer group yet");
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_job_ack(ctl_store_t *s, const ctl_store_job_t *job, cp_err_t *err)
{
    if (job == NULL || job->id[0] == '\0')
        return cp_err_set(err, CP_EINVAL, "job: no ID");
    return ctl_store__stream_done(s, "jobs", GROUP, job->id, err);
}

/* ---- locks --------------------------------------------------------------------------------------
 */

int ctl_store_lock_acquire(ctl_store_t *s, const char *name, int ttl_ms,
                           char token[CTL_STORE_LOCK_TOKEN_SIZE], cp_err_t *err)
{
    unsigned char raw[16];
    token[0] = '\0';
    if (!ctl_store__name_ok(name) || ttl_ms <= 0)
        return cp_err_set(err, CP_EINVAL, "lock: empty name or ttl <= 0");
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return cp_err_set(err, CP_EIO, "lock: getrandom: %s", strerror(errno));
    char tok[CTL_STORE_LOCK_TOKEN_SIZE];
    size_t n = s->owner[0] != '\0' ? (size_t)snprintf(tok, sizeof tok, "%s|", s->owner) : 0;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(tok + n + 2 * i, 3, "%02x", raw[i]);
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "lock:cert:%s", name);
    ctl_store__arg(&a, tok);
    ctl_store__argf(&a, "%d", ttl_ms);
    redisReply *r = NULL;
    int64_t how = 0;
    int rc = ctl_store__eval(s, CTL_STORE__LUA_LOCK_ACQUIRE, CTL_STORE__DURABLE, 1, &a, &r, err);
    if (rc == 0) {
        char what[300];
        snprintf(what, sizeof what, "lock on certificate \"%s\"", name);
        rc = ctl_store__status(r, what, &how, err);
    }
    if (rc == CP_EEXIST)
        rc = cp_err_set(err, CP_EBUSY, "lock on certificate \"%s\" is held", name);
    if (rc == 0) {
        memcpy(token, tok, sizeof tok);
        rc = how == 2 ? 1 : 0;
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

static int lock_script(ctl_store_t *s, int id, const char *name, const char *token, int ttl_ms,
                       cp_err_t *err)
{
    if (!ctl_store__name_ok(name) || !ctl_store__name_ok(token) || ttl_ms < 0)
        return cp_err_set(err, CP_EINVAL, "lock: empty name or token");
    ctl_store__args_t a = {0};
    ctl_store__argf(&a, "lock:cert:%s", name);
    ctl_store__arg(&a, token);
    if (id == CTL_STORE__LUA_LOCK_EXTEND)
        ctl_store__argf(&a, "%d", ttl_ms);
    redisReply *r = NULL;
    /* Extending again is harmless; a repeated release would report a lock it did delete as lost. */
    int kind = id == CTL_STORE__LUA_LOCK_EXTEND ? CTL_STORE__READ : CTL_STORE__WRITE;
    int rc = ctl_store__eval(s, id, kind, 1, &a, &r, err);
    if (rc == 0) {
        char what[300];
        snprintf(what, sizeof what, "lock on certificate \"%s\"", name);
        rc = ctl_store__status(r, what, NULL, err);
    }
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_lock_extend(ctl_store_t *s, const char *name, const char *token, int ttl_ms,
                          cp_err_t *err)
{
    if (ttl_ms <= 0)
        return cp_err_set(err, CP_EINVAL, "lock: ttl <= 0");
    return lock_script(s, CTL_STORE__LUA_LOCK_EXTEND, name, token, ttl_ms, err);
}

int ctl_store_lock_release(ctl_store_t *s, const char *name, const char *token, cp_err_t *err)
{
    return lock_script(s, CTL_STORE__LUA_LOCK_RELEASE, name, token, 0, err);
}

/* ---- accounts -----------------------------------------------------------------------------------
 */

static int account_key(const char *provider, const char *email, char *key, size_t size,
                       cp_err_t *err)
{
    if (!ctl_store__name_ok(provider) || !ctl_store__name_ok(email))
        return cp_err_set(err, CP_EINVAL, "account: empty provider or email");
    if ((size_t)snprintf(key, size, "account:%s:%s", provider, email) >= size)
        return cp_err_set(err, CP_EINVAL, "account: provider or email too long");
    return 0;
}

int ctl_store_account_get(ctl_store_t *s, const char *provider, const char *email, char **key_pem,
                          char **account_url, cp_err_t *err)
{
    char key[1024];
    *key_pem = NULL;
    if (account_url != NULL)
        *account_url = NULL;
    int rc = account_key(provider, email, key, sizeof key, err);
    if (rc != 0)
        return rc;
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "MGET");
    ctl_store__arg(&a, key);
    ctl_store__argf(&a, "%s:url", key);
    redisReply *r = NULL;
    rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements != 2))
        rc = ctl_store__proto(err, "MGET account");
    else if (rc == 0 && r->element[0]->type != REDIS_REPLY_STRING)
        rc = cp_err_set(err, CP_ENOTFOUND, "account %s for %s not found", provider, email);
    if (rc == 0)
        rc = ctl_keywrap_open(s->opts.keyring, key, r->element[0]->str, key_pem, NULL, err);
    if (rc == 0 && account_url != NULL)
        *account_url = ctl_store__strdup_reply(r->element[1]);
    freeReplyObject(r);
    ctl_store__args_dispose(&a);
    return rc;
}

int ctl_store_account_put(ctl_store_t *s, const char *provider, const char *email,
                          const char *key_pem, const char *account_url, cp_err_t *err)
{
    char key[1024];
    int rc = account_key(provider, email, key, sizeof key, err);
    if (rc != 0)
        return rc;
    if (!ctl_store__name_ok(key_pem))
        return cp_err_set(err, CP_EINVAL, "account: empty key");
    char *sealed = NULL;
    rc = ctl_keywrap_seal(s->opts.keyring, key, key_pem, strlen(key_pem), &sealed, err);
    if (rc != 0)
        return rc;
    ctl_store__args_t set = {0}, url = {0};
    ctl_store__arg(&set, "SET");
    ctl_store__arg(&set, key);
    ctl_store__arg(&set, sealed);
    if (account_url != NULL) {
        ctl_store__arg(&url, "SET");
        ctl_store__argf(&url, "%s:url", key);
        ctl_store__arg(&url, account_url);
    } else {
        ctl_store__arg(&url, "DEL");
        ctl_store__argf(&url, "%s:url", key);
    }
    const ctl_store__args_t *cmds[] = {&set, &url};
    redisReply *r = NULL;
    /* Writing the same values again is harmless, so an I/O error may be retried. */
    rc = ctl_store__multi(s, CTL_STORE__READ, 2, cmds, &r, err);
    freeReplyObject(r);
    ctl_store__args_dispose(&url);
    cp_secure_free_str(sealed); /* plaintext without a keyring */
    return rc;
}
