/* SPDX-License-Identifier: Apache-2.0 */
/* test_store.c - unit tests of ctl_store against a real redis-server started by the shared harness
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/store/store.h"
#include "tests/support/harness.h"

/* One server for the whole file, with a password that needs percent-encoding in the URL. */
static cp_test_redis_t g_redis;
static redisContext *g_raw; /* the test's own connection, to check what the store wrote */
static ctl_store_t *g_store;
static const char g_password[] = "pw:s3cr@t/x";

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static redisReply *raw(const char *fmt, ...)
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

static void raw_ok(const char *fmt, const char *a1, const char *a2)
{
    redisReply *r = raw(fmt, a1, a2);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static long long raw_int(const char *fmt, const char *arg)
{
    redisReply *r = raw(fmt, arg);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* The string reply of a command, or "(nil)"; valid until the next call. */
static const char *raw_str(const char *fmt, const char *arg)
{
    static char buf[4096];
    redisReply *r = raw(fmt, arg);
    assert_true(r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL);
    snprintf(buf, sizeof buf, "%s", r->type == REDIS_REPLY_NIL ? "(nil)" : r->str);
    freeReplyObject(r);
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every key with its DUMP (value and type) and TTL, sorted: equal snapshots mean nothing changed.
 */
static char *snapshot(void)
{
    redisReply *keys = raw("KEYS *");
    size_t n = keys->elements, cap = 64, len = 0;
    char **names = calloc(n + 1, sizeof *names), *out = malloc(cap);
    for (size_t i = 0; i < n; i++)
        names[i] = keys->element[i]->str;
    qsort(names, n, sizeof *names, cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        redisReply *d = raw("DUMP %s", names[i]);
        long long ttl = raw_int("TTL %s", names[i]);
        size_t need = len + strlen(names[i]) + 2 * d->len + 64;
        if (need > cap)
            out = realloc(out, cap = need * 2);
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

static ctl_store_t *open_store(const char *url, int command_timeout_ms, long maxlen)
{
    ctl_store_opts_t o = {.connect_timeout_ms = 1000,
                          .command_timeout_ms = command_timeout_ms,
                          .events_maxlen = maxlen};
    ctl_store_t *s = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_new(url, &o, &s, &err), 0);
    return s;
}

static int group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_DFL); /* the store must cope without a process-wide SIG_IGN */
    return cp_test_redis_start(&g_redis, g_password) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_redis_stop(&g_redis);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    freeReplyObject(raw("FLUSHALL"));
    g_store = open_store(g_redis.url, 3000, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ctl_store_free(g_store);
    g_store = NULL;
    if (g_raw != NULL)
        redisFree(g_raw);
    g_raw = NULL;
    return 0;
}

/* put with the given mode; returns the rc, *rev the new revision. */
static int put(const char *name, const char *json, int mode, int64_t expected, int64_t *rev,
               cp_err_t *err)
{
    ctl_store_cert_write_t w = {
        .name = name, .json = json, .mode = mode, .expected_revision = expected, .renew_at = -1};
    return ctl_store_cert_put(g_store, &w, rev, err);
}

static void assert_stored(const char *name, const char *expected)
{
    char *json = NULL;
    size_t len = 0;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_cert_get(g_store, name, &json, &len, &err), 0);
    assert_string_equal(json, expected);
    assert_int_equal(len, strlen(expected));
    free(json);
}

/* ---- URL ----------------------------------------------------------------------------------------
 */

static void test_url_parse_accepts_good_urls(void **state)
{
    (void)state;
    static const struct {
        const char *url, *host, *user, *password;
        int port, db;
    } good[] = {
        {"redis://localhost", "localhost", "", "", 6379, 0},
        {"redis://127.0.0.1:6380", "127.0.0.1", "", "", 6380, 0},
        {"redis://h:1/15", "h", "", "", 1, 15},
        {"redis://h/", "h", "", "", 6379, 0},
        {"REDIS://h:65535/0", "h", "", "", 65535, 0},
        {"redis://:p%40ss%3Aw%2Fd@h:7/2", "h", "", "p@ss:w/d", 7, 2},
        {"redis://secret@h", "h", "", "secret", 6379, 0},
        {"redis://al%20ice:pw@redis.example:6379/3", "redis.example", "al ice", "pw", 6379, 3},
        {"redis://[::1]:6380/1", "::1", "", "", 6380, 1},
        {"redis://[::1]", "::1", "", "", 6379, 0},
        {"redis://u:p@[fe80::1]:9", "fe80::1", "u", "p", 9, 0},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ctl_store_url_t u;
        cp_err_t err = {0};
        int rc = ctl_store_url_parse(good[i].url, &u, &err);
        if (rc != 0)
            fail_msg("%s: %s", good[i].url, err.msg);
        assert_string_equal(u.host, good[i].host);
        assert_string_equal(u.user, good[i].user);
        assert_string_equal(u.password, good[i].password);
        assert_int_equal(u.port, good[i].port);
        assert_int_equal(u.db, good[i].db);
    }
}

static void test_url_parse_rejects_bad_urls_without_leaking_the_password(void **state)
{
    (void)state;
    static const char *const bad[] = {
        NULL,
        "",
        "http://h",
        "rediss://h",
        "redis://",
        "redis://:6379",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:-1",
        "redis://h:12x",
        "redis://h:",
        "redis://h/16",
        "redis://h/-1",
        "redis://h/99999999999",
        "redis://h/1x",
        "redis://h/1/2",
        "redis://h?db=1",
        "redis://[::1",
        "redis://[::1]x",
        "redis://h%20x",
        "redis://:topsecret%zz@h",
        "redis://:topsecret%4@h",
        "redis://:topsecret%00@h",
        "redis://user:@h",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ctl_store_url_t u;
        cp_err_t err = {0};
        int rc = ctl_store_url_parse(bad[i], &u, &err);
        if (rc != CP_EINVAL)
            fail_msg("\"%s\" was accepted", bad[i] ? bad[i] : "(null)");
        assert_true(err.msg[0] != '\0');
        assert_null(strstr(err.msg, "topsecret"));
        assert_string_equal(u.host, "");
    }
    ctl_store_t *s = NULL;
    assert_int_equal(ctl_store_new("redis://h/16", NULL, &s, NULL), CP_EINVAL);
    assert_null(s);
}

/* ---- harness ------------------------------------------------------------------------------------
 */

static void test_harness_spawns_with_env_and_log_and_reports_exit_status(void **state)
{
    (void)state;
    char dir[256], log[300], buf[128] = {0};
    assert_int_equal(cp_test_tmpdir("cp-harness-", dir, sizeof dir), 0);
    snprintf(log, sizeof log, "%s/out.log", dir);
    cp_test_proc_t p;
    char *argv[] = {"sh", "-c", "echo \"x=$CP_HARNESS_X\"; echo err >&2; exit 3", NULL};
    char *env[] = {"CP_HARNESS_X=42", NULL};
    assert_int_equal(cp_test_spawn(&p, "sh", argv, env, log), 0);
    int status = 0;
    assert_int_equal(cp_test_wait_exit(&p, 5000, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    assert_int_equal(p.pid, 0);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
    fclose(f);
    assert_string_equal(buf, "x=42\nerr\n");
    char *missing[] = {"/nonexistent/cp-no-such-program", NULL};
    assert_int_equal(cp_test_spawn(&p, "none", missing, NULL, NULL), CP_ENOTFOUND);
    char *sleeper[] = {"sleep", "30", NULL};
    assert_int_equal(cp_test_spawn(&p, "sleep", sleeper, NULL, NULL), 0);
    assert_int_equal(cp_test_wait_exit(&p, 50, NULL), CP_ETIMEDOUT);
    assert_int_equal(cp_test_stop(&p, SIGTERM, 2000), 0);
    assert_int_equal(p.pid, 0);
    assert_int_equal(cp_test_rmrf(dir), 0);
    const char *keep = getenv("CP_KEEP_TMP");
    assert_int_equal(access(dir, F_OK) == 0, keep != NULL && strcmp(keep, "1") == 0);
    assert_int_equal(cp_test_rmrf("/"), CP_EINVAL);
    assert_int_equal(cp_test_wait_port(g_redis.port, 1000), 0);
    assert_int_equal(cp_test_wait_port(cp_test_free_port(), 100), CP_ETIMEDOUT);
}

/* ---- AUTH ---------------------------------------------------------------------------------------
 */

static void test_auth_with_the_password_from_the_url_succeeds(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_ping(g_store, &err), 0);
    int64_t rev = -1;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, 0);
}

static void test_wrong_or_missing_password_fails_with_eauth(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "redis://:wrongsecret@127.0.0.1:%d", g_redis.port);
    ctl_store_t *s = open_store(url, 1000, 0);
    cp_err_t err = {0};
    assert_int_equal(ctl_store_ping(s, &err), CP_EAUTH);
    assert_string_equal(err.msg, "redis: authentication failed");
    int64_t rev;
    assert_int_equal(ctl_store_revision(s, &rev, &err),
                     CP_EAUTH); /* still refused, still no crash */
    ctl_store_free(s);

    snprintf(url, sizeof url, "redis://127.0.0.1:%d", g_redis.port);
    s = open_store(url, 1000, 0);
    assert_int_equal(ctl_store_ping(s, &err), CP_EAUTH); /* NOAUTH */
    ctl_store_free(s);
}

static void test_database_index_from_the_url_is_selected(void **state)
{
    (void)state;
    char url[600];
    snprintf(url, sizeof url, "%s/3", g_redis.url);
    ctl_store_t *s = open_store(url, 1000, 0);
    cp_err_t err = {0};
    assert_int_equal(ctl_store_challenge_set(s, "tok3", "tok3.ka", 0, NULL, &err), 0);
    ctl_store_free(s);
    assert_int_equal(raw_int("EXISTS %s", "challenge:tok3"), 0); /* db 0 */
    freeReplyObject(raw("SELECT 3"));
    assert_int_equal(raw_int("EXISTS %s", "challenge:tok3"), 1);
    freeReplyObject(raw("FLUSHDB"));
    freeReplyObject(raw("SELECT 0"));
}

/* ---- certificate writes -------------------------------------------------------------------------
 */

static void test_put_stores_the_revision_first_and_revisions_increase(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t r1 = 0, r2 = 0, r3 = 0;
    assert_int_equal(put("a", "{\"domains\":[\"a.example\"]}", CTL_STORE_CREATE, 0, &r1, &err), 0);
    assert_int_equal(r1, 1);
    assert_stored("a", "{\"revision\":\"1\",\"domains\":[\"a.example\"]}");
    assert_int_equal(put("b", "  {\"x\": 1 }", CTL_STORE_ANY, 0, &r2, &err), 0);
    assert_int_equal(r2, 2);
    assert_stored("b", "{\"revision\":\"2\",\"x\": 1 }");
    assert_int_equal(put("a", "{\"state\":\"VALID\"}", CTL_STORE_MATCH, r1, &r3, &err), 0);
    assert_int_equal(r3, 3);
    assert_stored("a", "{\"revision\":\"3\",\"state\":\"VALID\"}");
    assert_int_equal(put("a", "{\"state\":\"X\"}", CTL_STORE_ANY, 0, &r3, &err), 0);
    assert_int_equal(r3, 4);
    int64_t rev = 0;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, 4);
    assert_string_equal(raw_str("ZSCORE certs %s", "a"), "0");
    assert_string_equal(raw_str("ZSCORE certs %s", "b"), "0");
}

static void assert_put_fails_unchanged(const char *name, const char *json, int mode,
                                       int64_t expected, int code)
{
    char *before = snapshot();
    cp_err_t err = {0};
    int64_t rev = 12345;
    assert_int_equal(put(name, json, mode, expected, &rev, &err), code);
    assert_int_equal(err.code, code);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(rev, 12345);
    char *after = snapshot();
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void test_failed_puts_are_eexist_enotfound_econflict_and_change_nothing(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0;
    ctl_store_cert_write_t w = {
        .name = "a", .json = "{\"v\":1}", .renew_at = 100, .job_kind = "issue"};
    assert_int_equal(ctl_store_cert_put(g_store, &w, &rev, &err), 0);
    assert_int_equal(rev, 1);
    assert_put_fails_unchanged("a", "{\"v\":2}", CTL_STORE_CREATE, 0, CP_EEXIST);
    assert_put_fails_unchanged("missing", "{\"v\":2}", CTL_STORE_MATCH, 0, CP_ENOTFOUND);
    assert_put_fails_unchanged("a", "{\"v\":2}", CTL_STORE_MATCH, 0, CP_ECONFLICT);
    assert_put_fails_unchanged("a", "{\"v\":2}", CTL_STORE_MATCH, 2, CP_ECONFLICT);
    assert_int_equal(put("a", "{\"v\":2}", CTL_STORE_MATCH, 7, NULL, &err), CP_ECONFLICT);
    assert_non_null(strstr(err.msg, "revision 1"));
    assert_stored("a", "{\"revision\":\"1\",\"v\":1}");
}

static void test_put_rejects_json_that_is_no_object_or_owns_revision(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(put("a", "{\"v\":1}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    static const char *const bad[] = {"",
                                      "[1,2]",
                                      "{}",
                                      " { } ",
                                      "{\"revision\":\"9\",\"v\":1}",
                                      "{\"v\":1,\"revision\":null}",
                                      "{\"v\":",
                                      "{\"v\":1}x",
                                      "\"text\"",
                                      "{v:1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_put_fails_unchanged("a", bad[i], CTL_STORE_ANY, 0, CP_EINVAL);
    assert_put_fails_unchanged("", "{\"v\":1}", CTL_STORE_ANY, 0, CP_EINVAL);
    assert_put_fails_unchanged("a", "{\"v\":1}", 7, 0, CP_EINVAL);
    ctl_store_cert_write_t w = {
        .name = "a", .json = "{\"v\":1}", .mode = CTL_STORE_ANY, .job_kind = "explode"};
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), CP_EINVAL);
    /* A nested "revision" is the caller's business. */
    assert_int_equal(put("n", "{\"acme\":{\"revision\":2}}", CTL_STORE_CREATE, 0, NULL, &err), 0);
}

static void test_seed_record_reads_as_is_and_matches_revision_zero(void **state)
{
    (void)state;
    const char *seed = "{\"domains\": [\"old.example\"], \"email\": \"a@b\", "
                       "\"fullchain_pem\": \"x\", \"private_key_pem\": \"y\"}";
    raw_ok("SET %s %s", "cert:old", seed);
    assert_stored("old", seed);
    cp_err_t err = {0};
    int64_t rev = 0;
    assert_int_equal(put("old", "{\"v\":1}", CTL_STORE_MATCH, 1, &rev, &err), CP_ECONFLICT);
    assert_int_equal(put("old", "{\"domains\": [\"old.example\"], \"state\": \"VALID\"}",
                         CTL_STORE_MATCH, 0, &rev, &err),
                     0);
    assert_int_equal(rev, 1);
    assert_stored("old",
                  "{\"revision\":\"1\",\"domains\": [\"old.example\"], \"state\": \"VALID\"}");
    /* A record whose revision is not first (written by another tool) is still read by its field. */
    raw_ok("SET %s %s", "cert:moved", "{\"a\":1,\"revision\":\"5\"}");
    assert_int_equal(put("moved", "{\"a\":2}", CTL_STORE_MATCH, 0, &rev, &err), CP_ECONFLICT);
    assert_int_equal(put("moved", "{\"a\":2}", CTL_STORE_MATCH, 5, &rev, &err), 0);
}

static void test_mget_returns_null_where_missing(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(put("a", "{\"v\":1}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    assert_int_equal(put("c", "{\"v\":3}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    const char *names[] = {"a", "b", "c"};
    char *jsons[3];
    assert_int_equal(ctl_store_cert_mget(g_store, names, 3, jsons, &err), 0);
    assert_string_equal(jsons[0], "{\"revision\":\"1\",\"v\":1}");
    assert_null(jsons[1]);
    assert_string_equal(jsons[2], "{\"revision\":\"2\",\"v\":3}");
    free(jsons[0]);
    free(jsons[2]);
    char *json = NULL;
    assert_int_equal(ctl_store_cert_get(g_store, "b", &json, NULL, &err), CP_ENOTFOUND);
    assert_null(json);
}

/* ---- events -------------------------------------------------------------------------------------
 */

static void test_event_ids_are_revisions_and_replay_after_r_returns_the_later_ones(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev[5];
    char name[8];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "e%d", i);
        assert_int_equal(put(name, "{\"v\":1}", CTL_STORE_CREATE, 0, &rev[i], &err), 0);
    }
    assert_int_equal(ctl_store_challenge_set(g_store, "tokA", "tokA.thumb", 0, &rev[4], &err), 0);
    redisReply *ids = raw("XRANGE events - +");
    assert_int_equal(ids->elements, 5);
    for (size_t i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "%lld-0", (long long)rev[i]);
        assert_string_equal(ids->element[i]->element[0]->str, id);
    }
    freeReplyObject(ids);

    ctl_store_event_t *ev = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_events_read(g_store, rev[1], 100, 0, &ev, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].revision, rev[2]);
    assert_string_equal(ev[0].type, "UPSERT");
    assert_string_equal(ev[0].name, "e2");
    assert_null(ev[0].token);
    assert_int_equal(ev[2].revision, rev[4]);
    assert_string_equal(ev[2].type, "CHALLENGE_SET");
    assert_string_equal(ev[2].token, "tokA");
    assert_string_equal(ev[2].key_authorization, "tokA.thumb");
    assert_int_equal(strlen(ev[2].expires_at), 20);
    assert_null(ev[2].name);
    ctl_store_events_free(ev, n);

    assert_int_equal(ctl_store_events_read(g_store, 0, 2, 0, &ev, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].revision, 1);
    ctl_store_events_free(ev, n);
    assert_int_equal(ctl_store_events_read(g_store, rev[4], 10, 0, &ev, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(ev);
    int64_t first = -1;
    assert_int_equal(ctl_store_events_first(g_store, &first, &err), 0);
    assert_int_equal(first, 1);
}

static void test_events_stream_is_never_given_the_certificate_itself(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(
        put("k", "{\"private_key_pem\":\"SECRETKEY\"}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    redisReply *r = raw("XRANGE events - +");
    assert_int_equal(r->elements, 1);
    const redisReply *f = r->element[0]->element[1];
    assert_int_equal(f->elements, 4); /* type, name */
    for (size_t i = 0; i < f->elements; i++)
        assert_null(strstr(f->element[i]->str, "SECRETKEY"));
    freeReplyObject(r);
}

static void test_events_stream_is_capped_and_events_first_moves(void **state)
{
    (void)state;
    /* MAXLEN ~ trims whole stream nodes: make them small so the cap shows with few entries. */
    raw_ok("CONFIG SET %s %s", "stream-node-max-entries", "10");
    ctl_store_t *s = open_store(g_redis.url, 3000, 20);
    cp_err_t err = {0};
    for (int i = 0; i < 200; i++)
        assert_int_equal(ctl_store_challenge_set(s, "t", "t.k", 60, NULL, &err), 0);
    raw_ok("CONFIG SET %s %s", "stream-node-max-entries", "100");
    long long len = raw_int("XLEN %s", "events");
    assert_true(len >= 20 && len <= 30);
    int64_t first = 0;
    assert_int_equal(ctl_store_events_first(s, &first, &err), 0);
    assert_int_equal(first, 200 - len + 1); /* contiguous revisions up to 200 */
    ctl_store_event_t *ev = NULL;
    size_t n = 0;
    /* A replay from before `first` returns what is left; the caller sees the gap by events_first.
     */
    assert_int_equal(ctl_store_events_read(s, 0, 1000, 0, &ev, &n, &err), 0);
    assert_int_equal(n, (size_t)len);
    assert_int_equal(ev[0].revision, first);
    assert_int_equal(ev[n - 1].revision, 200);
    ctl_store_events_free(ev, n);
    ctl_store_free(s);
}

static void test_events_read_blocks_until_the_timeout_when_nothing_is_new(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_event_t *ev = NULL;
    size_t n = 7;
    long long t0 = now_ms();
    assert_int_equal(ctl_store_events_read(g_store, 0, 10, 300, &ev, &n, &err), 0);
    long long took = now_ms() - t0;
    assert_int_equal(n, 0);
    assert_true(took >= 250 && took < 2000);
    int64_t first = -1;
    assert_int_equal(ctl_store_events_first(g_store, &first, &err), 0);
    assert_int_equal(first, 0);
    /* Blocking longer than the command timeout works: the socket timeout is raised meanwhile. */
    ctl_store_t *s = open_store(g_redis.url, 200, 0);
    t0 = now_ms();
    assert_int_equal(ctl_store_events_read(s, 0, 10, 600, &ev, &n, &err), 0);
    assert_true(now_ms() - t0 >= 550);
    assert_int_equal(ctl_store_ping(s, &err),
                     0); /* and it is lowered again, on a live connection */
    ctl_store_free(s);
}

/* ---- delete, list, due --------------------------------------------------------------------------
 */

static void test_delete_removes_the_cert_and_its_indexes_and_emits_delete(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0, drev = 0;
    ctl_store_cert_write_t w = {.name = "d", .json = "{\"v\":1}", .renew_at = 500};
    assert_int_equal(ctl_store_cert_put(g_store, &w, &rev, &err), 0);
    assert_int_equal(ctl_store_cert_delete(g_store, "d", rev + 1, &drev, &err), CP_ECONFLICT);
    assert_int_equal(ctl_store_cert_delete(g_store, "nope", 0, &drev, &err), CP_ENOTFOUND);
    assert_int_equal(ctl_store_cert_delete(g_store, "d", rev, &drev, &err), 0);
    assert_int_equal(drev, rev + 1);
    assert_int_equal(raw_int("EXISTS %s", "cert:d"), 0);
    assert_string_equal(raw_str("ZSCORE certs %s", "d"), "(nil)");
    assert_string_equal(raw_str("ZSCORE certs:by_expiry %s", "d"), "(nil)");
    ctl_store_event_t *ev = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_events_read(g_store, rev, 10, 0, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].revision, drev);
    assert_string_equal(ev[0].type, "DELETE");
    assert_string_equal(ev[0].name, "d");
    ctl_store_events_free(ev, n);
    /* expected 0 deletes any revision, including a seed record's. */
    raw_ok("SET %s %s", "cert:seed", "{\"domains\":[]}");
    assert_int_equal(ctl_store_cert_delete(g_store, "seed", 0, NULL, &err), 0);
    assert_int_equal(ctl_store_cert_delete(g_store, "seed", 0, NULL, &err), CP_ENOTFOUND);
}

static void test_list_pages_through_250_names_in_name_order(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char name[16];
    /* Written in a scrambled order: 97 is prime to 250, so i*97 % 250 visits every number once. */
    for (int i = 0; i < 250; i++) {
        snprintf(name, sizeof name, "n%03d", (i * 97) % 250);
        assert_int_equal(put(name, "{\"v\":1}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    }
    char after[16] = "";
    int seen = 0;
    size_t pages[4], npages = 0;
    for (;;) {
        char **names = NULL;
        size_t n = 0;
        assert_int_equal(ctl_store_cert_list(g_store, after, 100, &names, &n, &err), 0);
        pages[npages++] = n;
        for (size_t i = 0; i < n; i++, seen++) {
            snprintf(name, sizeof name, "n%03d", seen);
            assert_string_equal(names[i], name);
        }
        if (n > 0)
            snprintf(after, sizeof after, "%s", names[n - 1]);
        ctl_store_strv_free(names, n);
        if (n < 100)
            break;
    }
    assert_int_equal(seen, 250);
    assert_int_equal(npages, 3);
    assert_int_equal(pages[0], 100);
    assert_int_equal(pages[1], 100);
    assert_int_equal(pages[2], 50);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_cert_list(g_store, NULL, 0, &names, &n, &err), CP_EINVAL);
}

static void test_due_and_next_due_follow_renewal_times(void **state)
{
    (void)state;
    cp_err_t err = {0};
    double when = 0;
    assert_int_equal(ctl_store_next_due(g_store, &when, &err), 0);
    assert_true(when == -1);
    ctl_store_cert_write_t w = {.name = "late", .json = "{\"v\":1}", .renew_at = 3000.5};
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), 0);
    w.name = "early", w.renew_at = 1000;
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), 0);
    w.name = "none", w.renew_at = -1;
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), 0);
    assert_int_equal(ctl_store_next_due(g_store, &when, &err), 0);
    assert_true(when == 1000);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_due(g_store, 2000, 10, &names, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], "early");
    ctl_store_strv_free(names, n);
    assert_int_equal(ctl_store_due(g_store, 5000, 10, &names, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[1], "late");
    ctl_store_strv_free(names, n);
    /* A renewal time < 0 takes the certificate out of the schedule. */
    w.name = "early", w.renew_at = -1, w.mode = CTL_STORE_ANY;
    assert_int_equal(ctl_store_cert_put(g_store, &w, NULL, &err), 0);
    assert_int_equal(ctl_store_next_due(g_store, &when, &err), 0);
    assert_true(when == 3000.5);
}

static void test_scan_and_index_backfill_seed_records(void **state)
{
    (void)state;
    char key[32];
    for (int i = 0; i < 250; i++) {
        snprintf(key, sizeof key, "cert:s%03d", i);
        raw_ok("SET %s %s", key, "{\"domains\":[]}");
    }
    raw_ok("SET %s %s", "challenge:x", "{}");
    raw_ok("SET %s %s", "certs:by_expiry:junk", "x"); /* not a cert:* key */
    cp_err_t err = {0};
    uint64_t cursor = 0;
    int rounds = 0;
    char seen[250] = {0};
    do {
        char **names = NULL;
        size_t n = 0;
        assert_int_equal(ctl_store_cert_scan(g_store, cursor, &cursor, &names, &n, &err), 0);
        for (size_t i = 0; i < n; i++) {
            int k = atoi(names[i] + 1);
            assert_true(names[i][0] == 's' && k >= 0 && k < 250);
            seen[k] = 1;
            assert_int_equal(ctl_store_cert_index(g_store, names[i], 100 + k, &err), 0);
        }
        ctl_store_strv_free(names, n);
        rounds++;
    } while (cursor != 0 && rounds < 1000);
    for (int i = 0; i < 250; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(raw_int("ZCARD %s", "certs"), 250);
    double when = 0;
    assert_int_equal(ctl_store_next_due(g_store, &when, &err), 0);
    assert_true(when == 100);
    assert_int_equal(ctl_store_cert_index(g_store, "ghost", 1, &err), CP_ENOTFOUND);
    assert_int_equal(raw_int("ZCARD %s", "certs"), 250);
    int64_t rev = -1;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, 0); /* backfill is no change */
}

/* ---- challenges and accounts --------------------------------------------------------------------
 */

static void test_challenge_set_get_clear_with_a_3600s_ttl_in_the_seed_format(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0;
    time_t t0 = time(NULL);
    assert_int_equal(ctl_store_challenge_set(g_store, "tok1", "tok1.thumb", 0, &rev, &err), 0);
    long long ttl = raw_int("TTL %s", "challenge:tok1");
    assert_true(ttl > 3590 && ttl <= 3600);
    char expect[160], ts[32];
    time_t exp = t0 + 3600;
    struct tm tm;
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&exp, &tm));
    snprintf(expect, sizeof expect,
             "{\"token\":\"tok1\",\"authorization\":\"tok1.thumb\",\"expires_at\":\"%s\"}", ts);
    const char *stored = raw_str("GET %s", "challenge:tok1");
    if (strcmp(stored, expect) != 0) { /* the second may have ticked */
        exp++;
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&exp, &tm));
        snprintf(expect, sizeof expect,
                 "{\"token\":\"tok1\",\"authorization\":\"tok1.thumb\",\"expires_at\":\"%s\"}", ts);
    }
    assert_string_equal(stored, expect);
    char *ka = NULL;
    assert_int_equal(ctl_store_challenge_get(g_store, "tok1", &ka, &err), 0);
    assert_string_equal(ka, "tok1.thumb");
    free(ka);
    int64_t crev = 0;
    assert_int_equal(ctl_store_challenge_clear(g_store, "tok1", &crev, &err), 0);
    assert_int_equal(crev, rev + 1);
    assert_int_equal(raw_int("EXISTS %s", "challenge:tok1"), 0);
    assert_int_equal(ctl_store_challenge_get(g_store, "tok1", &ka, &err), CP_ENOTFOUND);
    assert_null(ka);
    ctl_store_event_t *ev = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_events_read(g_store, rev, 10, 0, &ev, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "CHALLENGE_CLEAR");
    assert_string_equal(ev[0].token, "tok1");
    ctl_store_events_free(ev, n);
}

static void test_challenge_get_reads_seed_records(void **state)
{
    (void)state;
    /* The seed (Python json.dumps) writes spaces after separators. */
    raw_ok("SET %s %s", "challenge:abc123",
           "{\"token\": \"abc123\", \"authorization\": \"abc123.def456\", "
           "\"expires_at\": \"2024-01-15T12:00:00Z\"}");
    raw_ok("SET %s %s", "challenge:bad-secret", "not json");
    cp_err_t err = {0};
    char *ka = NULL;
    assert_int_equal(ctl_store_challenge_get(g_store, "abc123", &ka, &err), 0);
    assert_string_equal(ka, "abc123.def456");
    free(ka);
    assert_int_equal(ctl_store_challenge_get(g_store, "bad-secret", &ka, &err), CP_EPROTO);
    assert_non_null(strstr(err.msg, "bad-"));
    assert_null(strstr(err.msg, "secret")); /* a token shows by its first 4 characters only */
}

static void test_account_put_get_writes_key_and_url_together(void **state)
{
    (void)state;
    cp_err_t err = {0};
    const char *pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    char *key = NULL, *url = NULL;
    assert_int_equal(ctl_store_account_get(g_store, "letsencrypt", "a@b.example", &key, &url, &err),
                     CP_ENOTFOUND);
    assert_int_equal(ctl_store_account_put(g_store, "letsencrypt", "a@b.example", pem,
                                           "https://acme.example/acct/1", &err),
                     0);
    assert_string_equal(raw_str("GET %s", "account:letsencrypt:a@b.example"), pem);
    assert_string_equal(raw_str("GET %s", "account:letsencrypt:a@b.example:url"),
                        "https://acme.example/acct/1");
    assert_int_equal(ctl_store_account_get(g_store, "letsencrypt", "a@b.example", &key, &url, &err),
                     0);
    assert_string_equal(key, pem);
    assert_string_equal(url, "https://acme.example/acct/1");
    free(key), free(url);
    /* Seed data has the key alone. */
    raw_ok("SET %s %s", "account:zerossl:c@d", pem);
    assert_int_equal(ctl_store_account_get(g_store, "zerossl", "c@d", &key, &url, &err), 0);
    assert_string_equal(key, pem);
    assert_null(url);
    free(key);
    assert_int_equal(ctl_store_account_put(g_store, "letsencrypt", "a@b.example", pem, NULL, &err),
                     0);
    assert_int_equal(raw_int("EXISTS %s", "account:letsencrypt:a@b.example:url"), 0);
}

/* ---- locks --------------------------------------------------------------------------------------
 */

static void test_lock_acquire_busy_extend_release_and_wrong_token(void **state)
{
    (void)state;
    cp_err_t err = {0};
    char tok[CTL_STORE_LOCK_TOKEN_SIZE], tok2[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok, &err), 0);
    assert_int_equal(strlen(tok), 32);
    assert_int_equal(strspn(tok, "0123456789abcdef"), 32);
    assert_string_equal(raw_str("GET %s", "lock:cert:x"), tok);
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 10000, tok2, &err), CP_EBUSY);
    assert_int_equal(ctl_store_lock_extend(g_store, "x", tok, 60000, &err), 0);
    assert_true(raw_int("PTTL %s", "lock:cert:x") > 50000);
    const char *wrong = "00000000000000000000000000000000";
    assert_int_equal(ctl_store_lock_extend(g_store, "x", wrong, 60000, &err), CP_ESTATE);
    assert_int_equal(ctl_store_lock_release(g_store, "x", wrong, &err), CP_ESTATE);
    assert_string_equal(raw_str("GET %s", "lock:cert:x"), tok); /* still held */
    assert_int_equal(ctl_store_lock_release(g_store, "x", tok, &err), 0);
    assert_int_equal(raw_int("EXISTS %s", "lock:cert:x"), 0);
    assert_int_equal(ctl_store_lock_extend(g_store, "x", tok, 1000, &err), CP_ESTATE); /* lost */
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 50, tok2, &err), 0);
    assert_string_not_equal(tok, tok2);
    sleep_ms(120); /* expired: anyone may take it */
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 1000, tok, &err), 0);
    assert_int_equal(ctl_store_lock_release(g_store, "x", tok2, &err), CP_ESTATE);
}

/* ---- jobs ---------------------------------------------------------------------------------------
 */

static void test_jobs_enqueue_read_ack(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_job_t job = {0};
    assert_int_equal(ctl_store_jobs_init(g_store, &err), 0);
    assert_int_equal(ctl_store_jobs_init(g_store, &err), 0); /* BUSYGROUP is fine */
    int64_t rev = 0;
    ctl_store_cert_write_t w = {
        .name = "j", .json = "{\"v\":1}", .renew_at = -1, .job_kind = "issue"};
    assert_int_equal(ctl_store_cert_put(g_store, &w, &rev, &err), 0);
    assert_int_equal(ctl_store_job_enqueue(g_store, "renew", "k", 42, &err), 0);
    assert_int_equal(ctl_store_job_enqueue(g_store, "reboot", "k", 42, &err), CP_EINVAL);
    assert_int_equal(ctl_store_job_read(g_store, "c1", 0, &job, &err), 0);
    assert_string_equal(job.kind, "issue");
    assert_string_equal(job.name, "j");
    assert_int_equal(job.revision, rev);
    assert_int_equal(job.deliveries, 1);
    assert_int_equal(ctl_store_job_ack(g_store, &job, &err), 0);
    ctl_store_job_dispose(&job);
    assert_int_equal(ctl_store_job_read(g_store, "c1", 0, &job, &err), 0);
    assert_string_equal(job.kind, "renew");
    assert_int_equal(job.revision, 42);
    assert_int_equal(ctl_store_job_ack(g_store, &job, &err), 0);
    ctl_store_job_dispose(&job);
    assert_int_equal(raw_int("XLEN %s", "jobs"), 0); /* acknowledged jobs are deleted */
    long long t0 = now_ms();
    assert_int_equal(ctl_store_job_read(g_store, "c1", 200, &job, &err), CP_ETIMEDOUT);
    assert_true(now_ms() - t0 >= 150);
    assert_null(job.name);
}

static void test_job_read_creates_a_missing_group(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_job_t job = {0};
    assert_int_equal(ctl_store_job_read(g_store, "c1", 0, &job, &err), CP_ETIMEDOUT);
    assert_int_equal(ctl_store_job_enqueue(g_store, "revoke", "z", 1, &err), 0);
    assert_int_equal(ctl_store_job_read(g_store, "c1", 0, &job, &err), 0);
    assert_string_equal(job.kind, "revoke");
    ctl_store_job_dispose(&job);
}

static void test_unacked_job_is_reclaimed_by_a_second_consumer(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_store_job_t job = {0}, again = {0};
    assert_int_equal(ctl_store_jobs_init(g_store, &err), 0);
    assert_int_equal(ctl_store_job_enqueue(g_store, "issue", "r", 7, &err), 0);
    assert_int_equal(ctl_store_job_read(g_store, "dead", 0, &job, &err), 0);
    /* Not idle long enough yet. */
    assert_int_equal(ctl_store_job_reclaim(g_store, "alive", 5000, &again, &err), CP_ENOTFOUND);
    sleep_ms(80);
    assert_int_equal(ctl_store_job_reclaim(g_store, "alive", 50, &again, &err), 0);
    assert_string_equal(again.id, job.id);
    assert_string_equal(again.name, "r");
    assert_int_equal(again.revision, 7);
    assert_int_equal(again.deliveries, 2);
    assert_int_equal(ctl_store_job_ack(g_store, &again, &err), 0);
    assert_int_equal(ctl_store_job_reclaim(g_store, "alive", 0, &again, &err), CP_ENOTFOUND);
    redisReply *p = raw("XPENDING jobs controllers");
    assert_int_equal(p->element[0]->integer, 0);
    freeReplyObject(p);
    ctl_store_job_dispose(&job);
    ctl_store_job_dispose(&again);
}

/* ---- connection failures ------------------------------------------------------------------------
 */

static void test_redis_down_gives_eunavail_quickly_with_a_message(void **state)
{
    (void)state;
    cp_test_redis_t r;
    assert_int_equal(cp_test_redis_start(&r, g_password), 0);
    ctl_store_t *keep = g_store;
    g_store = open_store(r.url, 1000, 0);
    cp_err_t err = {0};
    assert_int_equal(put("x", "{\"v\":1}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    int port = r.port;
    cp_test_redis_stop(&r);
    char where[64];
    snprintf(where, sizeof where, "redis 127.0.0.1:%d: Connection refused", port);
    long long t0 = now_ms();
    assert_int_equal(put("x", "{\"v\":1}", CTL_STORE_ANY, 0, NULL, &err), CP_EUNAVAIL);
    assert_true(now_ms() - t0 < 1000);
    assert_string_equal(err.msg, where);
    char *json = NULL;
    assert_int_equal(ctl_store_cert_get(g_store, "x", &json, NULL, &err), CP_EUNAVAIL);
    int64_t rev;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), CP_EUNAVAIL);
    ctl_store_event_t *ev = NULL;
    size_t n = 0;
    assert_int_equal(ctl_store_events_read(g_store, 0, 10, 500, &ev, &n, &err), CP_EUNAVAIL);
    ctl_store_job_t job = {0};
    assert_int_equal(ctl_store_job_read(g_store, "c", 500, &job, &err), CP_EUNAVAIL);
    char tok[CTL_STORE_LOCK_TOKEN_SIZE];
    assert_int_equal(ctl_store_lock_acquire(g_store, "x", 100, tok, &err), CP_EUNAVAIL);
    ctl_store_free(g_store);
    g_store = keep;
}

/* A peer that accepts connections (the kernel's backlog) but never answers. */
static void test_unresponsive_server_times_out_instead_of_hanging(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = cp_test_free_port();
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    ctl_store_t *s = open_store(url, 300, 0);
    cp_err_t err = {0};
    long long t0 = now_ms();
    assert_int_equal(ctl_store_ping(s, &err), CP_EUNAVAIL); /* a read: tried twice */
    assert_true(now_ms() - t0 < 1500);
    assert_non_null(strstr(err.msg, "timed out"));
    ctl_store_free(s);
    close(fd);
}

static void test_connection_killed_while_idle_is_replaced_before_a_write(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0;
    assert_int_equal(put("a", "{\"v\":1}", CTL_STORE_CREATE, 0, &rev, &err), 0);
    /* Kills every other client, the store's idle connection among them. */
    redisReply *k = raw("CLIENT KILL TYPE normal SKIPME yes");
    assert_true(k->integer >= 1);
    freeReplyObject(k);
    assert_int_equal(put("a", "{\"v\":2}", CTL_STORE_MATCH, rev, &rev, &err), 0);
    assert_int_equal(rev, 2);
}

/* ---- restart ------------------------------------------------------------------------------------
 */

#define RESTART_N 200

typedef struct writer {
    const char *prefix;
    int64_t rev[RESTART_N];
    int unavailable; /* writes that failed with CP_EUNAVAIL and were retried */
    int landed;      /* retries that found the failed write had landed (CP_EEXIST) */
    int other_rc;    /* any other failure */
    volatile int progress;
} writer_t;

static void writer_json(const char *prefix, int i, char *buf, size_t size)
{
    snprintf(buf, size, "{\"domains\":[\"%s%03d.example\"],\"i\":%d,\"pad\":\"%0200d\"}", prefix, i,
             i, i);
}

/* Writes one certificate until it is acknowledged: CREATE, and after a CP_EUNAVAIL again CREATE,
 * whose CP_EEXIST means the failed write did land (its revision is then read back). */
static void write_acked(ctl_store_t *s, writer_t *w, int i)
{
    char name[32], json[512];
    snprintf(name, sizeof name, "%s%03d", w->prefix, i);
    writer_json(w->prefix, i, json, sizeof json);
    ctl_store_cert_write_t cw = {.name = name, .json = json, .renew_at = 1000 + i};
    for (int attempt = 0; attempt < 2000; attempt++) {
        cp_err_t err = {0};
        int rc = ctl_store_cert_put(s, &cw, &w->rev[i], &err);
        if (rc == 0)
            return;
        if (rc == CP_EEXIST && attempt > 0) {
            char *got = NULL;
            if (ctl_store_cert_get(s, name, &got, NULL, &err) == 0)
                w->rev[i] = strtoll(got + strlen("{\"revision\":\""), NULL, 10);
            free(got);
            w->landed++;
            return;
        }
        if (rc != CP_EUNAVAIL) {
            w->other_rc++;
            return;
        }
        w->unavailable++;
        sleep_ms(5);
    }
    w->other_rc++;
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    ctl_store_t *s = NULL; /* each thread opens its own */
    if (ctl_store_new(g_redis.url, NULL, &s, NULL) != 0)
        return NULL;
    for (int i = 0; i < RESTART_N; i++) {
        write_acked(s, w, i);
        w->progress = i + 1;
        sleep_ms(2); /* paced, so that the restart lands in the middle of the run */
    }
    ctl_store_free(s);
    return NULL;
}

static void assert_all_acknowledged(const writer_t *w, int64_t floor)
{
    char name[32], json[512], expect[600];
    for (int i = 0; i < RESTART_N; i++) {
        assert_true(w->rev[i] > (i == 0 ? floor : w->rev[i - 1]));
        snprintf(name, sizeof name, "%s%03d", w->prefix, i);
        writer_json(w->prefix, i, json, sizeof json);
        snprintf(expect, sizeof expect, "{\"revision\":\"%lld\",%s", (long long)w->rev[i],
                 json + 1);
        assert_stored(name, expect);
    }
}

static void test_acknowledged_writes_survive_restarts(void **state)
{
    (void)state;
    static writer_t seq = {.prefix = "s"}, conc = {.prefix = "c"};
    cp_err_t err = {0};
    /* 1. Sequential: the restart happens while the store's connection is idle. The first call after
     * it must succeed outright, although it is a write (never retried). */
    int first_after_restart_rc = 1;
    for (int i = 0; i < RESTART_N; i++) {
        if (i == RESTART_N / 2) {
            assert_int_equal(cp_test_redis_restart(&g_redis), 0);
            char name[8] = "s100", json[512];
            writer_json("s", i, json, sizeof json);
            ctl_store_cert_write_t cw = {.name = name, .json = json, .renew_at = 1000 + i};
            first_after_restart_rc = ctl_store_cert_put(g_store, &cw, &seq.rev[i], &err);
            assert_int_equal(first_after_restart_rc, 0);
            continue;
        }
        write_acked(g_store, &seq, i);
    }
    assert_int_equal(seq.unavailable, 0);
    assert_int_equal(seq.other_rc, 0);

    /* 2. Concurrent: the restart (from this thread, which owns the server) hits a writer
     * mid-stream. */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_main, &conc), 0);
    while (conc.progress < RESTART_N / 4)
        sleep_ms(1);
    long long t0 = now_ms();
    assert_int_equal(cp_test_redis_restart(&g_redis), 0);
    long long downtime = now_ms() - t0;
    pthread_join(t, NULL);
    assert_int_equal(conc.progress, RESTART_N);
    assert_int_equal(conc.other_rc, 0);

    assert_all_acknowledged(&seq, 0);
    assert_all_acknowledged(&conc, seq.rev[RESTART_N - 1]);
    int64_t rev = 0;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, conc.rev[RESTART_N - 1]); /* no revision lost or skipped */
    assert_int_equal(rev, 2 * RESTART_N);
    printf("restart test: %d+%d certificates acknowledged; idle restart: first call rc=%d; "
           "concurrent restart (%lld ms): %d writes failed with EUNAVAIL and were retried, %d had "
           "landed; final revision %lld\n",
           RESTART_N, RESTART_N, first_after_restart_rc, downtime, conc.unavailable, conc.landed,
           (long long)rev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse_accepts_good_urls),
        cmocka_unit_test(test_url_parse_rejects_bad_urls_without_leaking_the_password),
        cmocka_unit_test(test_harness_spawns_with_env_and_log_and_reports_exit_status),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_auth_with_the_password_from_the_url_succeeds),
        T(test_wrong_or_missing_password_fails_with_eauth),
        T(test_database_index_from_the_url_is_selected),
        T(test_put_stores_the_revision_first_and_revisions_increase),
        T(test_failed_puts_are_eexist_enotfound_econflict_and_change_nothing),
        T(test_put_rejects_json_that_is_no_object_or_owns_revision),
        T(test_seed_record_reads_as_is_and_matches_revision_zero),
        T(test_mget_returns_null_where_missing),
        T(test_event_ids_are_revisions_and_replay_after_r_returns_the_later_ones),
        T(test_events_stream_is_never_given_the_certificate_itself),
        T(test_events_stream_is_capped_and_events_first_moves),
        T(test_events_read_blocks_until_the_timeout_when_nothing_is_new),
        T(test_delete_removes_the_cert_and_its_indexes_and_emits_delete),
        T(test_list_pages_through_250_names_in_name_order),
        T(test_due_and_next_due_follow_renewal_times),
        T(test_scan_and_index_backfill_seed_records),
        T(test_challenge_set_get_clear_with_a_3600s_ttl_in_the_seed_format),
        T(test_challenge_get_reads_seed_records),
        T(test_account_put_get_writes_key_and_url_together),
        T(test_lock_acquire_busy_extend_release_and_wrong_token),
        T(test_jobs_enqueue_read_ack),
        T(test_job_read_creates_a_missing_group),
        T(test_unacked_job_is_reclaimed_by_a_second_consumer),
        T(test_redis_down_gives_eunavail_quickly_with_a_message),
        T(test_unresponsive_server_times_out_instead_of_hanging),
        T(test_connection_killed_while_idle_is_replaced_before_a_write),
        T(test_acknowledged_writes_survive_restarts),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
