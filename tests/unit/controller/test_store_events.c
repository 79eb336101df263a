/* SPDX-License-Identifier: Apache-2.0 */
/* test_store_events.c - the events stream: ids are revisions, replay, no secrets, the cap, blocking
 * reads */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/controller/store_fixture.h"

static void test_event_ids_are_revisions_and_replay_after_r_returns_the_later_ones(void **state)
{
    (void)state;
    cp_err_t err = {0};
    int64_t rev[5];
    char name[8];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "e%d", i);
        assert_int_equal(st_put(name, "{\"v\":1}", CTL_STORE_CREATE, 0, &rev[i], &err), 0);
    }
    assert_int_equal(ctl_store_challenge_set(g_store, "tokA", "tokA.thumb", 0, &rev[4], &err), 0);
    redisReply *ids = st_raw("XRANGE events - +");
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
        st_put("k", "{\"private_key_pem\":\"SECRETKEY\"}", CTL_STORE_CREATE, 0, NULL, &err), 0);
    redisReply *r = st_raw("XRANGE events - +");
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
    st_raw_ok("CONFIG SET %s %s", "stream-node-max-entries", "10");
    ctl_store_t *s = st_open(g_redis.url, 3000, 20);
    cp_err_t err = {0};
    for (int i = 0; i < 200; i++)
        assert_int_equal(ctl_store_challenge_set(s, "t", "t.k", 60, NULL, &err), 0);
    st_raw_ok("CONFIG SET %s %s", "stream-node-max-entries", "100");
    long long len = st_raw_int("XLEN %s", "events");
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
    long long t0 = st_now_ms();
    assert_int_equal(ctl_store_events_read(g_store, 0, 10, 300, &ev, &n, &err), 0);
    long long took = st_now_ms() - t0;
    assert_int_equal(n, 0);
    assert_true(took >= 250 && took < 2000);
    int64_t first = -1;
    assert_int_equal(ctl_store_events_first(g_store, &first, &err), 0);
    assert_int_equal(first, 0);
    /* Blocking longer than the command timeout works: the socket timeout is raised meanwhile. */
    ctl_store_t *s = st_open(g_redis.url, 200, 0);
    t0 = st_now_ms();
    assert_int_equal(ctl_store_events_read(s, 0, 10, 600, &ev, &n, &err), 0);
    assert_true(st_now_ms() - t0 >= 550);
    assert_int_equal(ctl_store_ping(s, &err),
                     0); /* and it is lowered again, on a live connection */
    ctl_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, st_setup, st_teardown)
        T(test_event_ids_are_revisions_and_replay_after_r_returns_the_later_ones),
        T(test_events_stream_is_never_given_the_certificate_itself),
        T(test_events_stream_is_capped_and_events_first_moves),
        T(test_events_read_blocks_until_the_timeout_when_nothing_is_new),
#undef T
    };
    return cmocka_run_group_tests(tests, st_group_setup, st_group_teardown);
}
