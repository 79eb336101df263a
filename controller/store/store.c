/* SPDX-License-Identifier: Apache-2.0 */
/* store.c - the Redis connection of ctl_store: lazy connect, dead-socket detection, retries,
 * scripts
 */
#include "controller/store/store_internal.h"
#include "controller/store/store_sentinel.h"
#include "shared/clock.h"
#include "shared/log.h"
#include "shared/mem.h"

#define WAIT_SKIP_MS 10000 /* after a WAIT fell short: no WAIT this long */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

char *ctl_store__xstrndup(const char *p, size_t n)
{
    char *s = cp_xcalloc(1, n + 1);
    memcpy(s, p, n);
    return s;
}

bool ctl_store__name_ok(const char *name)
{
    return name != NULL && name[0] != '\0';
}

void ctl_store__arg(ctl_store__args_t *a, const char *s)
{
    ctl_store__argn(a, s, strlen(s));
}

void ctl_store__argn(ctl_store__args_t *a, const void *p, size_t n)
{
    if (a->argc >= CTL_STORE__MAXARGS) {
        fprintf(stderr, "ctl_store: too many command arguments\n");
        abort();
    }
    a->argv[a->argc] = p;
    a->lens[a->argc] = n;
    a->owned[a->argc] = NULL;
    a->argc++;
}

void ctl_store__argf(ctl_store__args_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = cp_xvasprintf(fmt, ap);
    va_end(ap);
    ctl_store__argn(a, p, strlen(p));
    a->owned[a->argc - 1] = p;
}

void ctl_store__args_dispose(ctl_store__args_t *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->owned[i]);
    a->argc = 0;
}

static struct timeval ms_tv(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* hiredis 0.14 writes with write(2), so a peer that closed the socket raises SIGPIPE. It is blocked
 * in this thread around each round trip and a SIGPIPE raised meanwhile is consumed, so the library
 * needs no process-wide signal setup (the technique libcurl and OpenSSL users apply). */
typedef struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
} sigpipe_guard_t;

static void sigpipe_block(sigpipe_guard_t *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(sigpipe_guard_t *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static void store_drop(ctl_store_t *s)
{
    if (s->c != NULL)
        redisFree(s->c);
    s->c = NULL;
}

/* A connection the server closed while we were idle reads EOF (or an error) at once; a live idle
 * one has nothing to read. Pending bytes would be a stray reply, so that connection is replaced
 * too. */
static bool store_alive(const ctl_store_t *s)
{
    char b;
    ssize_t n = recv(s->c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void ctl_store__drop(ctl_store_t *s)
{
    store_drop(s);
}

static int io_error(ctl_store_t *s, cp_err_t *err)
{
    int rc;
    if (s->c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK))
        rc = cp_err_set(err, CP_EUNAVAIL, "redis %s: timed out", s->where);
    else
        rc = cp_err_set(err, CP_EUNAVAIL, "redis %s: %s", s->where,
                        s->c->errstr[0] ? s->c->errstr : "connection lost");
    store_drop(s);
    return rc;
}

/* Sends n pipelined commands and reads their n replies. On an I/O error the connection is dropped
 * and no reply is returned. */
static int roundtrip_n(ctl_store_t *s, int n, const ctl_store__cmd_t *cmds, redisReply **out,
                       cp_err_t *err)
{
    sigpipe_guard_t g;
    int i, got = 0, ok = REDIS_OK;
    sigpipe_block(&g);
    errno = 0;
    for (i = 0; i < n && ok == REDIS_OK; i++)
        ok = redisAppendCommandArgv(s->c, cmds[i].argc, (const char **)cmds[i].argv,
                                    cmds[i].lens); /* hiredis 0.14 lacks the inner const */
    while (got < n && ok == REDIS_OK) {
        out[got] = NULL;
        ok = redisGetReply(s->c, (void **)&out[got]);
        if (ok == REDIS_OK)
            got++;
    }
    int saved = errno;
    sigpipe_restore(&g);
    errno = saved;
    if (ok == REDIS_OK)
        return 0;
    for (i = 0; i < got; i++) {
        freeReplyObject(out[i]);
        out[i] = NULL;
    }
    return io_error(s, err);
}

static int roundtrip(ctl_store_t *s, int argc, const char *const *argv, const size_t *lens,
                     redisReply **out, cp_err_t *err)
{
    ctl_store__cmd_t cmd = {argc, argv, lens};
    return roundtrip_n(s, 1, &cmd, out, err);
}

/* Sends AUTH and SELECT on a fresh connection. */
static int handshake(ctl_store_t *s, cp_err_t *err)
{
    redisReply *r = NULL;
    int rc = 0;
    if (s->url.password[0] != '\0') {
        const char *argv[3] = {"AUTH"};
        int argc = 1;
        if (s->url.user[0] != '\0') /* an ACL user (Redis 6+) */
            argv[argc++] = s->url.user;
        argv[argc++] = s->url.password;
        rc = roundtrip(s, argc, argv, NULL, &r, err);
        if (rc == 0 && r->type == REDIS_REPLY_ERROR)
            rc = cp_err_set(err, CP_EAUTH, "redis: authentication failed");
        freeReplyObject(r);
        r = NULL;
    }
    if (rc == 0 && s->url.db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", s->url.db);
        rc = roundtrip(s, 2, (const char *[]){"SELECT", db}, NULL, &r, err);
        if (rc == 0 && r->type == REDIS_REPLY_ERROR)
            rc = ctl_store__reply_error(r, err);
        freeReplyObject(r);
    }
    if (rc != 0)
        store_drop(s);
    return rc;
}

static void where_set(ctl_store_t *s, const char *host, int port)
{
    bool v6 = strchr(host, ':') != NULL;
    snprintf(s->where, sizeof s->where, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

/* With sentinels: the master's address from them (into host/port); else the URL's. */
static int store_target(ctl_store_t *s, char *host, size_t size, int *port, cp_err_t *err)
{
    if (s->url.n_sentinels == 0) {
        snprintf(host, size, "%s", s->url.host);
        *port = s->url.port;
        return 0;
    }
    sigpipe_guard_t g;
    sigpipe_block(&g);
    int rc = ctl_store_sentinel_master(&s->url, s->sentinel_password, s->opts.connect_timeout_ms,
                                       host, size, port, err);
    sigpipe_restore(&g);
    if (rc == 0)
        where_set(s, host, *port);
    return rc;
}

/* The server a sentinel named must say it is the master: right after a failover a sentinel may
 * still name the old one, now a replica. */
static int check_master_role(ctl_store_t *s, cp_err_t *err)
{
    redisReply *r = NULL;
    int rc = roundtrip(s, 1, (const char *[]){"ROLE"}, NULL, &r, err);
    if (rc == 0 &&
        (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
         r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "master") != 0)) {
        rc = cp_err_set(err, CP_EUNAVAIL,
                        "redis %s: named master \"%s\" by the sentinels, but "
                        "it is not (yet) a master",
                        s->where, s->url.master);
        store_drop(s);
    }
    freeReplyObject(r);
    return rc;
}

/* rediss://: the TLS connection is made and verified by redis_tls.c, which relays it to a
 * socketpair; hiredis gets the other end. TCP keepalive lives on the TLS socket there (hiredis'
 * own would fail on a Unix socket); the command timeouts below apply to hiredis' end as usual. */
static int connect_tls(ctl_store_t *s, const char *host, int port, redisContext **out,
                       cp_err_t *err)
{
    int fd = -1;
    sigpipe_guard_t g;
    sigpipe_block(&g); /* OpenSSL writes the handshake with write(2) */
    int rc = ctl_redis_tls_connect(s->opts.tls, host, port, s->where, s->opts.connect_timeout_ms,
                                   s->opts.command_timeout_ms, &fd, err);
    sigpipe_restore(&g);
    if (rc == 0)
        *out = cp_xcheck(redisConnectFd(fd), "redisConnectFd");
    return rc;
}

static int store_connect(ctl_store_t *s, cp_err_t *err)
{
    char host[256];
    int port = 0;
    uint64_t epoch = ctl_store_sentinel_epoch();
    int rc = store_target(s, host, sizeof host, &port, err);
    if (rc != 0)
        return rc;
    redisContext *c = NULL;
    if (s->url.tls) {
        rc = connect_tls(s, host, port, &c, err);
        if (rc != 0)
            return rc;
    } else {
        /* hiredis returns NULL only when it cannot allocate the context. */
        c = cp_xcheck(redisConnectWithTimeout(host, port, ms_tv(s->opts.connect_timeout_ms)),
                      "redisConnect");
    }
    if (c->err) {
        rc = cp_err_set(err, CP_EUNAVAIL, "redis %s: %s", s->where, c->errstr);
        redisFree(c);
        return rc;
    }
    s->c = c;
    s->epoch = epoch;
    if (redisSetTimeout(c, ms_tv(s->opts.command_timeout_ms)) != REDIS_OK ||
        (!s->url.tls && redisEnableKeepAlive(c) != REDIS_OK))
        return io_error(s, err);
    rc = handshake(s, err);
    if (rc == 0 && s->url.n_sentinels > 0)
        rc = check_master_role(s, err);
    return rc;
}

/* A READONLY answer: this connection reached a replica (a demoted master). It is dropped, and with
 * sentinels every connection of the process is renewed before its next command. */
static void drop_if_readonly(ctl_store_t *s, int n, redisReply **out)
{
    for (int i = 0; i < n; i++) {
        if (out[i] != NULL && out[i]->type == REDIS_REPLY_ERROR &&
            strncmp(out[i]->str, "READONLY", 8) == 0) {
            store_drop(s);
            if (s->url.n_sentinels > 0)
                ctl_store_sentinel_bump();
            return;
        }
    }
}

/* After a durable write: WAIT for opts.wait_replicas replicas (bounded). A shortfall is logged; the
 * write stands, and for WAIT_SKIP_MS no write waits (a master without replicas, e.g. right after a
 * failover, would otherwise slow every write by the whole bound). */
static void wait_replicas(ctl_store_t *s)
{
    int64_t now = cp_clock_mono_ms();
    if (now < s->wait_skip_until)
        return;
    char n[16], ms[16];
    snprintf(n, sizeof n, "%d", s->opts.wait_replicas);
    snprintf(ms, sizeof ms, "%d", s->opts.wait_timeout_ms);
    redisReply *r = NULL;
    cp_err_t err = {0};
    redisSetTimeout(s->c, ms_tv(s->opts.command_timeout_ms + s->opts.wait_timeout_ms));
    int rc = roundtrip(s, 3, (const char *[]){"WAIT", n, ms}, NULL, &r, &err);
    if (s->c != NULL)
        redisSetTimeout(s->c, ms_tv(s->opts.command_timeout_ms));
    if (rc == 0 && r->type == REDIS_REPLY_INTEGER && r->integer >= s->opts.wait_replicas) {
        freeReplyObject(r);
        return;
    }
    s->wait_skip_until = now + WAIT_SKIP_MS;
    char got[24];
    snprintf(got, sizeof got, "%lld",
             rc == 0 && r->type == REDIS_REPLY_INTEGER ? (long long)r->integer : -1LL);
    const char *kv[] = {"redis", s->where, "replicas", got, NULL};
    CP_LOGKV(
        CP_LOG_WARN, "store", kv,
        "a write was not acknowledged by %d replica(s) within %d ms: it stands, but a failover "
        "before it replicates would lose it; writes do not wait for the next 10 s%s%s",
        s->opts.wait_replicas, s->opts.wait_timeout_ms, rc != 0 ? ": " : "",
        rc != 0 ? err.msg : "");
    freeReplyObject(r);
}

int ctl_store__pipeline(ctl_store_t *s, int kind, int block_ms, int n, const ctl_store__cmd_t *cmds,
                        redisReply **out, cp_err_t *err)
{
    for (int attempt = 0;; attempt++) {
        if (s->c != NULL && (!store_alive(s) || s->epoch != ctl_store_sentinel_epoch()))
            store_drop(s);
        if (s->c == NULL) {
            int rc = store_connect(s, err);
            if (rc != 0)
                return rc;
        }
        if (block_ms > 0)
            redisSetTimeout(s->c, ms_tv(s->opts.command_timeout_ms + block_ms));
        int rc = roundtrip_n(s, n, cmds, out, err);
        if (rc == 0) {
            if (block_ms > 0)
                redisSetTimeout(s->c, ms_tv(s->opts.command_timeout_ms));
            drop_if_readonly(s, n, out);
            if (kind == CTL_STORE__DURABLE && s->c != NULL && s->opts.wait_replicas > 0)
                wait_replicas(s);
            return 0;
        }
        /* A write may have been applied before the connection broke, and a blocking read would wait
         * again: only a plain read is repeated, once. */
        if (kind != CTL_STORE__READ || block_ms > 0 || attempt > 0)
            return rc;
    }
}

int ctl_store__raw(ctl_store_t *s, int kind, int block_ms, int argc, const char *const *argv,
                   const size_t *lens, redisReply **out, cp_err_t *err)
{
    ctl_store__cmd_t cmd = {argc, argv, lens};
    return ctl_store__pipeline(s, kind, block_ms, 1, &cmd, out, err);
}

int ctl_store__multi(ctl_store_t *s, int kind, int n, const ctl_store__args_t *const *cmds,
                     redisReply **exec, cp_err_t *err)
{
    if (n < 1 || n > CTL_STORE__MAXMULTI) {
        fprintf(stderr, "ctl_store: MULTI with %d commands\n", n);
        abort();
    }
    ctl_store__cmd_t c[CTL_STORE__MAXMULTI + 2];
    redisReply *r[CTL_STORE__MAXMULTI + 2] = {0};
    static const char *multi[] = {"MULTI"}, *exec_cmd[] = {"EXEC"};
    c[0] = (ctl_store__cmd_t){1, multi, NULL};
    for (int i = 0; i < n; i++)
        c[i + 1] = (ctl_store__cmd_t){cmds[i]->argc, cmds[i]->argv, cmds[i]->lens};
    c[n + 1] = (ctl_store__cmd_t){1, exec_cmd, NULL};
    *exec = NULL;
    int rc = ctl_store__pipeline(s, kind, 0, n + 2, c, r, err);
    /* A command refused while queueing makes EXEC fail with EXECABORT: report the first error. */
    for (int i = 0; rc == 0 && i < n + 2; i++)
        if (r[i]->type == REDIS_REPLY_ERROR)
            rc = ctl_store__reply_error(r[i], err);
    if (rc == 0 && r[n + 1]->type != REDIS_REPLY_ARRAY)
        rc = ctl_store__proto(err, "EXEC");
    for (int i = 0; i < n + 1; i++)
        freeReplyObject(r[i]);
    if (rc == 0)
        *exec = r[n + 1];
    else
        freeReplyObject(r[n + 1]);
    return rc;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int ctl_store__reply_error(const redisReply *r, cp_err_t *err)
{
    const char *e = r->str != NULL ? r->str : "";
    if (starts_with(e, "NOAUTH") || starts_with(e, "WRONGPASS"))
        return cp_err_set(err, CP_EAUTH, "redis: authentication failed");
    static const char *const transient[] = {"LOADING",  "MASTERDOWN",  "TRYAGAIN", "BUSY ",
                                            "READONLY", "CLUSTERDOWN", "OOM"};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        if (starts_with(e, transient[i]))
            return cp_err_set(err, CP_EUNAVAIL, "redis: %s", e);
    return cp_err_set(err, CP_EPROTO, "redis: %s", e);
}

int ctl_store__call(ctl_store_t *s, int kind, int block_ms, const ctl_store__args_t *a,
                    redisReply **out, cp_err_t *err)
{
    redisReply *r = NULL;
    int rc = ctl_store__raw(s, kind, block_ms, a->argc, a->argv, a->lens, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR) {
        rc = ctl_store__reply_error(r, err);
        freeReplyObject(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

static int script_load(ctl_store_t *s, int id, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "SCRIPT");
    ctl_store__arg(&a, "LOAD");
    ctl_store__arg(&a, ctl_store__lua[id]);
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0 && (r->type != REDIS_REPLY_STRING || r->len != 40))
        rc = ctl_store__proto(err, "SCRIPT LOAD");
    if (rc == 0)
        memcpy(s->sha[id], r->str, 41);
    freeReplyObject(r);
    return rc;
}

int ctl_store__eval(ctl_store_t *s, int id, int kind, int numkeys, const ctl_store__args_t *a,
                    redisReply **out, cp_err_t *err)
{
    if (s->sha[id][0] == '\0') {
        int rc = script_load(s, id, err);
        if (rc != 0)
            return rc;
    }
    const char *argv[CTL_STORE__MAXARGS + 3];
    size_t lens[CTL_STORE__MAXARGS + 3];
    char nk[16];
    snprintf(nk, sizeof nk, "%d", numkeys);
    argv[0] = "EVALSHA", argv[1] = s->sha[id], argv[2] = nk;
    lens[0] = 7, lens[1] = 40, lens[2] = strlen(nk);
    memcpy(argv + 3, a->argv, (size_t)a->argc * sizeof argv[0]);
    memcpy(lens + 3, a->lens, (size_t)a->argc * sizeof lens[0]);
    redisReply *r = NULL;
    int rc = ctl_store__raw(s, kind, 0, a->argc + 3, argv, lens, &r, err);
    if (rc == 0 && r->type == REDIS_REPLY_ERROR && starts_with(r->str, "NOSCRIPT")) {
        /* The server lost its script cache (a restart): EVAL runs the body and caches it again.
         * Nothing ran, so this is no retry of a write. */
        freeReplyObject(r);
        r = NULL;
        argv[0] = "EVAL", argv[1] = ctl_store__lua[id];
        lens[0] = 4, lens[1] = strlen(ctl_store__lua[id]);
        rc = ctl_store__raw(s, kind, 0, a->argc + 3, argv, lens, &r, err);
    }
    if (rc == 0 && r->type == REDIS_REPLY_ERROR)
        rc = ctl_store__reply_error(r, err);
    else if (rc == 0 && (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
                         r->element[0]->type != REDIS_REPLY_INTEGER))
        rc = ctl_store__proto(err, "script reply");
    if (rc != 0) {
        freeReplyObject(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

int ctl_store__status(const redisReply *r, const char *what, int64_t *value, cp_err_t *err)
{
    const redisReply *v = r->elements > 1 ? r->element[1] : NULL;
    long long n = v != NULL && v->type == REDIS_REPLY_INTEGER ? v->integer : 0;
    const char *msg = v != NULL && v->type == REDIS_REPLY_STRING ? v->str : "";
    if (value != NULL)
        *value = n;
    switch (r->element[0]->integer) {
    case CTL_STORE__S_OK:
        return 0;
    case CTL_STORE__S_EXISTS:
        return cp_err_set(err, CP_EEXIST, "%s already exists", what);
    case CTL_STORE__S_MISSING:
        return cp_err_set(err, CP_ENOTFOUND, "%s not found", what);
    case CTL_STORE__S_CONFLICT:
        return cp_err_set(err, CP_ECONFLICT, "%s changed concurrently (now revision %lld)", what,
                          n);
    case CTL_STORE__S_INVALID:
        return cp_err_set(err, CP_EINVAL, "%s: %s", what, msg);
    case CTL_STORE__S_STATE:
        return cp_err_set(err, CP_ESTATE, "%s: %s", what, msg);
    }
    return ctl_store__proto(err, "script status");
}

int ctl_store__proto(cp_err_t *err, const char *what)
{
    return cp_err_set(err, CP_EPROTO, "redis: unexpected reply to %s", what);
}

char *ctl_store__strdup_reply(const redisReply *r)
{
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)
        return NULL;
    return ctl_store__xstrndup(r->str, r->len);
}

int ctl_store__strv(const redisReply *r, size_t skip_prefix, char ***names, size_t *n,
                    cp_err_t *err)
{
    *names = NULL;
    *n = 0;
    if (r->type != REDIS_REPLY_ARRAY)
        return ctl_store__proto(err, "a list");
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i]->len < skip_prefix)
            return ctl_store__proto(err, "a list");
    char **v = cp_xcalloc(1, (r->elements ? r->elements : 1) * sizeof *v);
    for (size_t i = 0; i < r->elements; i++)
        v[i] =
            ctl_store__xstrndup(r->element[i]->str + skip_prefix, r->element[i]->len - skip_prefix);
    *names = v;
    *n = r->elements;
    return 0;
}

int ctl_store__names(ctl_store_t *s, ctl_store__args_t *a, char ***names, size_t *n, cp_err_t *err)
{
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, a, &r, err);
    if (rc == 0)
        rc = ctl_store__strv(r, 0, names, n, err);
    freeReplyObject(r);
    ctl_store__args_dispose(a);
    return rc;
}

int ctl_store__stream_done(ctl_store_t *s, const char *stream, const char *group, const char *id,
                           cp_err_t *err)
{
    ctl_store__args_t ack = {0}, del = {0};
    const char *a1[] = {"XACK", stream, group, id}, *a2[] = {"XDEL", stream, id};
    for (size_t i = 0; i < 4; i++)
        ctl_store__arg(&ack, a1[i]);
    for (size_t i = 0; i < 3; i++)
        ctl_store__arg(&del, a2[i]);
    const ctl_store__args_t *cmds[] = {&ack, &del};
    redisReply *r = NULL;
    /* Acknowledging twice is harmless, so an I/O error may be retried. */
    int rc = ctl_store__multi(s, CTL_STORE__READ, 2, cmds, &r, err);
    freeReplyObject(r);
    return rc;
}

void ctl_store_strv_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int ctl_store_new(const char *url, const ctl_store_opts_t *opts, ctl_store_t **out, cp_err_t *err)
{
    *out = NULL;
    ctl_store_t *s = cp_xcalloc(1, sizeof *s);
    int rc = ctl_store_url_parse(url, &s->url, err);
    if (rc != 0) {
        free(s);
        return rc;
    }
    if (opts != NULL)
        s->opts = *opts;
    if (s->url.tls && s->opts.tls == NULL) {
        explicit_bzero(s->url.password, sizeof s->url.password);
        free(s);
        return cp_err_set(err, CP_EINVAL, "redis URL: rediss:// needs a TLS context (opts->tls)");
    }
    if (s->opts.owner != NULL && strlen(s->opts.owner) >= sizeof s->owner) {
        free(s);
        return cp_err_set(err, CP_EINVAL, "store: owner longer than %d characters",
                          CTL_STORE_OWNER_MAX - 1);
    }
    snprintf(s->owner, sizeof s->owner, "%s", s->opts.owner != NULL ? s->opts.owner : "");
    s->opts.owner = NULL; /* the copy above is what counts */
    if (s->opts.connect_timeout_ms <= 0)
        s->opts.connect_timeout_ms = 2000;
    if (s->opts.command_timeout_ms <= 0)
        s->opts.command_timeout_ms = 5000;
    if (s->opts.events_maxlen <= 0)
        s->opts.events_maxlen = 100000;
    if (s->opts.wait_timeout_ms <= 0)
        s->opts.wait_timeout_ms = 1000;
    snprintf(s->sentinel_password, sizeof s->sentinel_password, "%s",
             s->opts.sentinel_password != NULL ? s->opts.sentinel_password : "");
    s->opts.sentinel_password = NULL;
    if (s->url.n_sentinels > 0)
        snprintf(s->where, sizeof s->where, "master %s", s->url.master);
    else
        where_set(s, s->url.host, s->url.port);
    *out = s;
    return 0;
}

void ctl_store_free(ctl_store_t *s)
{
    if (s == NULL)
        return;
    store_drop(s);
    explicit_bzero(s->url.password, sizeof s->url.password);
    explicit_bzero(s->sentinel_password, sizeof s->sentinel_password);
    free(s);
}

const ctl_keyring_t *ctl_store_keyring(const ctl_store_t *s)
{
    return s->opts.keyring;
}

int ctl_store_ping(ctl_store_t *s, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "PING");
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    freeReplyObject(r);
    return rc;
}

int ctl_store_revision(ctl_store_t *s, int64_t *rev, cp_err_t *err)
{
    ctl_store__args_t a = {0};
    ctl_store__arg(&a, "GET");
    ctl_store__arg(&a, "revision");
    redisReply *r = NULL;
    int rc = ctl_store__call(s, CTL_STORE__READ, 0, &a, &r, err);
    if (rc == 0) {
        char *end = NULL;
        *rev = r->type == REDIS_REPLY_NIL ? 0 : strtoll(r->str ? r->str : "", &end, 10);
        if (r->type != REDIS_REPLY_NIL && (r->type != REDIS_REPLY_STRING || *end != '\0'))
            rc = ctl_store__proto(err, "GET revision");
    }
    freeReplyObject(r);
    return rc;
}
