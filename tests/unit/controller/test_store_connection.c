/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_connection.c - the store's connection: AUTH and SELECT from the URL, Redis down, an
 * unresponsive peer, a killed connection */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/unit/controller/store_fixture.h"

static void test_auth_with_the_password_from_the_url_succeeds(void **state)
{
    (void)state;
    cp_err_t err = {0};
    assert_int_equal(ctl_store_ping(g_store, &err), 0);
    int64_t rev = -1;
    assert_int_equal(ctl_store_revision(g_store, &rev, &err), 0);
    assert_int_equal(rev, 0);
}

static void test_wrong_password_fails_with_eauth_on_every_call(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof url, "redis://:wrongsecret@127.0.0.1:%d", g_redis.port);
    ctl_store_t *s = st_open(url, 1000, 0);
    cp_err_t err = {0};
    assert_int_equal(ctl_store_ping(s, &err), CP_EAUTH);
    assert_string_equal(err.msg, "redis: authentication failed");
    int64_t rev;
    assert_int_equal(ctl_store_revision(s, &rev, &err),
                     CP_EAUTH); /* still refused, still no crash */
    ctl_store_free(s);
}

static void test_missing_password_fails_with_eauth(void **state)
{
    (void)state;
    char url[256];
    cp_err_t err = {0};
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", g_redis.port);
    ctl_store_t *s = st_open(url, 1000, 0);
    assert_int_equal(ctl_store_ping(s, &err), CP_EAUTH); /* NOAUTH */
    ctl_store_free(s);
}

static void test_database_index_from_the_url_is_selected(void **state)
{
    (void)state;
    char url[600];
    snprintf(url, sizeof url, "%s/3", g_redis.url);
    ctl_store_t *s = st_open(url, 1000, 0);
    cp_err_t err = {0};
    assert_int_equal(ctl_store_challenge_set(s, "tok3", "tok3.ka", 0, NULL, &err), 0);
    ctl_store_free(s);
    assert_int_equal(st_raw_int("EXISTS %s", "challenge:tok3"), 0); /* db 0 */
    freeReplyObject(st_raw("SELECT 3"));
    assert_int_equal(st_raw_int("EXISTS %s", "challenge:tok3"), 1);
    freeReplyObject(st_raw("FLUSHDB"));
    freeReplyObject(st_raw("SELECT 0"));
}

static void test_redis_down_gives_eunavail_quickly_with_a_message(void **state)
{
    (void)state;
    cp_test_redis_t r;
    assert_int_equal(cp_test_redis_start(&r, g_password), 0);
    ctl_store_t *keep = g_store;
    g_store = st_open(r.url, 1000, 0);
    cp_err_t err = {0};
    assert_int_equal(st_put("x", "{\"v\":1}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    int port = r.port;
    cp_test_redis_stop(&r);
    char where[64];
    snprintf(where, sizeof where, "redis 127.0.0.1:%d: Connection refused", port);
    long long t0 = st_now_ms();
    assert_int_equal(st_put("x", "{\"v\":1}", CTL_STORE_ANY, 0, NULL, &err), CP_EUNAVAIL);
    assert_true(st_now_ms() - t0 < 1000);
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
    ctl_store_t *s = st_open(url, 300, 0);
    cp_err_t err = {0};
    long long t0 = st_now_ms();
    assert_int_equal(ctl_store_ping(s, &err), CP_EUNAVAIL); /* a read: tried twice */
    assert_true(st_now_ms() - t0 < 1500);
    assert_non_null(strstr(err.msg, "timed out"));
    ctl_store_free(s);
    close(fd);
}

static void test_connection_killed_while_idle_is_replaced_before_a_write(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev = 0;
    assert_int_equal(st_put("a", "{\"v\":1}", CTL_STORE_CREATE, 0, &rev, &err), 0);
    /* Kills every other client, the store's idle connection among them. */
    redisReply *k = st_raw("CLIENT KILL TYPE normal SKIPME yes");
    assert_true(k->integer >= 1);
    freeReplyObject(k);
    assert_int_equal(st_put("a", "{\"v\":2}", CTL_STORE_MATCH, rev, &rev, &err), 0);
    assert_int_equal(rev, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_auth_with_the_password_from_the_url_succeeds),
        T(test_wrong_password_fails_with_eauth_on_every_call),
        T(test_missing_password_fails_with_eauth),
        T(test_database_index_from_the_url_is_selected),
        T(test_redis_down_gives_eunavail_quickly_with_a_message),
        T(test_unresponsive_server_times_out_instead_of_hanging),
        T(test_connection_killed_while_idle_is_replaced_before_a_write),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
