/* SPDX-License-Identifier: Apache-2.0 */
/* store_fixture.c - the redis-server, store and raw connection shared by the test_store_*.c tests
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/mem.h"
#include "tests/unit/controller/store_fixture.h"

cp_test_redis_t g_redis;
ctl_store_t *g_store;
const char g_password[] = "pw:s3cr@t/x";
static redisContext *g_raw; /* the test's own connection, to check what the store wrote */

long long st_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void st_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

redisReply *st_raw(const char *fmt, ...)
{
    if (g_raw != NULL && g_raw->err) {
        redisFree(g_raw);
        g_raw = NULL;
    }
    if (g_raw == NULL) {
        g_raw = redisConnect("127.0.0.1", g_redis.port);
        assert_non_null(g_raw);
        assert_int_equal(g_raw->err, 0);
        redisReply *a = redisCommand(g_raw, "AUTH %s", g_password);
        assert_non_null(a);
        assert_int_equal(a->type, REDIS_REPLY_STATUS);
        freeReplyObject(a);
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(g_raw, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    return r;
}

void st_raw_ok(const char *fmt, const char *a1, const char *a2)
{
    redisReply *r = st_raw(fmt, a1, a2);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

long long st_raw_int(const char *fmt, const char *arg)
{
    redisReply *r = st_raw(fmt, arg);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

const char *st_raw_str(const char *fmt, const char *arg)
{
    static char buf[4096];
    redisReply *r = st_raw(fmt, arg);
    assert_true(r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL);
    snprintf(buf, sizeof buf, "%s", r->type == REDIS_REPLY_NIL ? "(nil)" : r->str);
    freeReplyObject(r);
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *st_snapshot(void)
{
    redisReply *keys = st_raw("KEYS *");
    size_t n = keys->elements, cap = 64, len = 0;
    char **names = cp_xcalloc(n + 1, sizeof *names), *out = cp_xmalloc(cap);
    for (size_t i = 0; i < n; i++)
        names[i] = keys->element[i]->str;
    qsort(names, n, sizeof *names, cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        redisReply *d = st_raw("DUMP %s", names[i]);
        long long ttl = st_raw_int("TTL %s", names[i]);
        size_t need = len + strlen(names[i]) + 2 * d->len + 64;
        if (need > cap)
            out = cp_xrealloc(out, cap = need * 2);
        len += (size_t)sprintf(out + len, "%s ttl=%lld ", names[i], ttl > 0 ? 1 : ttl);
        for (size_t j = 0; j < d->len; j++)
            len += (size_t)sprintf(out + len, "%02x", (unsigned char)d->str[j]);
        out[len++] = '\n';
        out[len] = '\0';
        freeReplyObject(d);
    }
    free(names);
    freeReplyObject(keys);
    return out;
}

ctl_store_t *st_open(const char *url, int command_timeout_ms, long maxlen)
{
    ctl_store_opts_t o = {.connect_timeout_ms = 1000,
                          .command_timeout_ms = command_timeout_ms,
                          .events_maxlen = maxlen};
    ctl_store_t *s = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_new(url, &o, &s, &err), 0);
    return s;
}

int st_group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL); /* the store must cope without a process-wide SIG_IGN */
    return cp_test_redis_start(&g_redis, g_password) == 0 ? 0 : -1;
}

int st_group_teardown(void **state)
{
    (void)state;
    cp_test_redis_stop(&g_redis);
    return 0;
}

int st_setup(void **state)
{
    (void)state;
    freeReplyObject(st_raw("FLUSHALL"));
    g_store = st_open(g_redis.url, 3000, 0);
    return 0;
}

int st_teardown(void **state)
{
    (void)state;
    ctl_store_free(g_store);
    g_store = NULL;
    if (g_raw != NULL)
        redisFree(g_raw);
    g_raw = NULL;
    return 0;
}

int st_put(const char *name, const char *json, int mode, int64_t expected, int64_t *rev,
           cp_err_t *err)
{
    ctl_store_cert_write_t w = {
        .name = name, .json = json, .mode = mode, .expected_revision = expected, .renew_at = -1};
    return ctl_store_cert_put(g_store, &w, rev, err);
}

void st_assert_stored(const char *name, const char *expected)
{
    char *json = NULL;
    size_t len = 0;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_cert_get(g_store, name, &json, &len, &err), 0);
    assert_string_equal(json, expected);
    assert_int_equal(len, strlen(expected));
    free(json);
}

void st_assert_put_fails_unchanged(const char *name, const char *json, int mode, int64_t expected,
                                   int code)
{
    char *before = st_snapshot();
    cp_err_t err = {0};
    int64_t rev = 12345;
    assert_int_equal(st_put(name, json, mode, expected, &rev, &err), code);
    assert_int_equal(err.code, code);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(rev, 12345);
    char *after = st_snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
}
