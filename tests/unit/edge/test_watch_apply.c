/* SPDX-License-Identifier: Apache-2.0 */
/* test_watch_apply.c - Watch events applied to a table version: snapshots versus replays */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/certmap.h"
#include "edge/watch_internal.h"
#include "tests/unit/edge/testcert.h"

static char *g_chain, *g_key, *g_chain2, *g_key2;

static int group_setup(void **state)
{
    (void)state;
    const char *names[] = {"a.test"};
    edge_test_pem(names, 1, NULL, &g_chain, &g_key);
    const char *names2[] = {"b.test"};
    edge_test_pem(names2, 1, NULL, &g_chain2, &g_key2);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_chain);
    free(g_key);
    free(g_chain2);
    free(g_key2);
    return 0;
}

/* The table an edge holds before the stream: certificate "old" and challenge "t-old". */
static edge_certmap_t *current_table(void)
{
    const char *names[] = {"fallback.invalid"};
    edge_cert_t *fb = edge_test_cert("fallback", names, 1, NULL);
    edge_certmap_t *m = edge_certmap_new(fb);
    edge_cert_release(fb);
    edge_cert_t *old = NULL;
    assert_int_equal(
        edge_cert_new("old", g_chain, strlen(g_chain), g_key, strlen(g_key), 3, &old, NULL), 0);
    edge_certmap_put(m, old);
    edge_cert_release(old);
    edge_certmap_challenge_set(m, "t-old", "t-old.thumb");
    return m;
}

static int apply_rc(edge_watch__batch_t *b, const edge_certmap_t *cur, int type, int64_t rev,
                    const char *name, const char *chain, const char *key)
{
    Certplane__V1__CertificateEvent ev = CERTPLANE__V1__CERTIFICATE_EVENT__INIT;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    ev.type = (Certplane__V1__EventType)type;
    ev.revision = rev;
    ev.name = (char *)name;
    c.name = (char *)name;
    c.state = CERTPLANE__V1__STATE__VALID;
    c.fullchain_pem = (char *)chain;
    c.private_key_pem = (char *)key;
    ev.certificate = &c;
    return edge_watch__apply(b, cur, &ev, NULL);
}

static void apply_pem(edge_watch__batch_t *b, const edge_certmap_t *cur, int type, int64_t rev,
                      const char *name, const char *chain, const char *key)
{
    assert_int_equal(apply_rc(b, cur, type, rev, name, chain, key), 0);
}

static void apply(edge_watch__batch_t *b, const edge_certmap_t *cur, int type, int64_t rev,
                  const char *name, const char *token)
{
    Certplane__V1__CertificateEvent ev = CERTPLANE__V1__CERTIFICATE_EVENT__INIT;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Certplane__V1__Challenge ch = CERTPLANE__V1__CHALLENGE__INIT;
    ev.type = (Certplane__V1__EventType)type;
    ev.revision = rev;
    if (name != NULL) {
        ev.name = (char *)name;
        c.name = (char *)name;
        c.state = CERTPLANE__V1__STATE__VALID;
        c.fullchain_pem = g_chain;
        c.private_key_pem = g_key;
        ev.certificate = &c;
    }
    if (token != NULL) {
        ch.token = (char *)token;
        ch.key_authorization = "ka";
        ev.challenge = &ch;
    }
    cp_err_t err = {0};
    if (edge_watch__apply(b, cur, &ev, &err) != 0)
        fail_msg("apply: %s", err.msg);
}

static void test_snapshot_moves_the_revision_only_at_its_end_and_replaces_the_table(void **state)
{
    (void)state;
    edge_certmap_t *cur = current_table();
    edge_watch__batch_t b;
    edge_watch__batch_init(&b);
    apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN, 10, NULL, NULL);
    assert_true(b.in_snapshot);
    /* A certificate changed after the snapshot's revision carries its own, later revision. */
    apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__UPSERT, 12, "a", NULL);
    apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__CHALLENGE_SET, 10, NULL, "t-1");
    assert_true(b.in_snapshot);
    assert_int_equal(b.max_rev, 0); /* nothing to resume from yet */
    apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 10, NULL, NULL);
    assert_false(b.in_snapshot);
    assert_true(b.saw_end);
    assert_int_equal(b.max_rev, 10);
    /* The snapshot replaced the table: what it did not name is gone. */
    assert_non_null(edge_certmap_get0_by_name(b.builder, "a"));
    assert_null(edge_certmap_get0_by_name(b.builder, "old"));
    assert_non_null(edge_certmap_challenge_get0(b.builder, "t-1"));
    assert_null(edge_certmap_challenge_get0(b.builder, "t-old"));
    /* The table the loops serve was not touched. */
    assert_non_null(edge_certmap_get0_by_name(cur, "old"));
    /* Live events after the snapshot move the revision with each event. */
    apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__DELETE, 11, "a", NULL);
    assert_int_equal(b.max_rev, 11);
    edge_watch__batch_dispose(&b);
    edge_certmap_release(cur);
}

static void test_replay_moves_the_revision_with_every_event_and_keeps_the_table(void **state)
{
    (void)state;
    edge_certmap_t *cur = current_table();
    edge_watch__batch_t b;
    edge_watch__batch_init(&b);
    apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__UPSERT, 4, "a", NULL);
    assert_false(b.in_snapshot);
    assert_int_equal(b.max_rev, 4);
    apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__CHALLENGE_CLEAR, 5, NULL, "t-old");
    assert_int_equal(b.max_rev, 5);
    assert_false(b.saw_end);
    assert_non_null(edge_certmap_get0_by_name(b.builder, "a"));
    assert_non_null(edge_certmap_get0_by_name(b.builder, "old")); /* a replay prunes nothing */
    assert_null(edge_certmap_challenge_get0(b.builder, "t-old"));
    edge_watch__batch_dispose(&b);
    edge_certmap_release(cur);
}

typedef struct errors {
    int n;
    char name[64];
} errors_t;

static void on_error(void *arg, const char *name, int64_t revision, const cp_err_t *err)
{
    (void)revision;
    errors_t *e = arg;
    e->n++;
    snprintf(e->name, sizeof e->name, "%s", name);
    assert_non_null(strstr(err->msg, "does not match"));
}

/* A snapshot's certificates are parsed on threads while it streams and applied in stream order at
 * SNAPSHOT_END: the table is the same as applying them one by one. */
static void test_snapshot_parsed_on_threads_applies_in_stream_order(void **state)
{
    (void)state;
    for (int threads = 0; threads <= 2; threads++) {
        edge_certmap_t *cur = current_table();
        edge_watch__batch_t b;
        edge_watch__batch_init(&b);
        errors_t errs = {0};
        b.parse_threads = threads;
        b.on_error = on_error;
        b.on_error_arg = &errs;
        const int T = CERTPLANE__V1__EVENT_TYPE__UPSERT;
        apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN, 20, NULL, NULL);
        /* "old" comes again unchanged (kept), then changed to b.test: the last one wins. */
        apply_pem(&b, cur, T, 3, "old", g_chain, g_key);
        apply_pem(&b, cur, T, 15, "old", g_chain2, g_key2);
        /* "x": b.test, then a.test again. */
        apply_pem(&b, cur, T, 16, "x", g_chain2, g_key2);
        apply_pem(&b, cur, T, 17, "x", g_chain, g_key);
        /* "gone": upserted, then deleted within the snapshot. */
        apply_pem(&b, cur, T, 18, "gone", g_chain2, g_key2);
        apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__DELETE, 19, "gone", NULL);
        /* "bad": a key that is not the certificate's; "good" after it is unaffected. */
        assert_int_equal(apply_rc(&b, cur, T, 19, "bad", g_chain, g_key2),
                         threads > 0 ? 0 : CP_EINVAL);
        apply_pem(&b, cur, T, 19, "good", g_chain2, g_key2);
        if (threads > 0)
            assert_null(b.builder != NULL ? edge_certmap_get0_by_name(b.builder, "good") : NULL);
        apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_END, 20, NULL, NULL);
        assert_int_equal(edge_certmap_count(b.builder), 3);
        assert_string_equal(edge_certmap_get0_by_name(b.builder, "old")->names[0], "b.test");
        assert_string_equal(edge_certmap_get0_by_name(b.builder, "x")->names[0], "a.test");
        assert_null(edge_certmap_get0_by_name(b.builder, "gone"));
        assert_null(edge_certmap_get0_by_name(b.builder, "bad"));
        assert_non_null(edge_certmap_get0_by_name(b.builder, "good"));
        assert_string_equal(edge_certmap_get0(b.builder, "a.test", NULL)->name, "x");
        assert_string_equal(edge_certmap_get0(b.builder, "b.test", NULL)->name, "good");
        /* On threads the failure is reported at SNAPSHOT_END; inline, apply returned it. */
        assert_int_equal(errs.n, threads > 0 ? 1 : 0);
        if (threads > 0)
            assert_string_equal(errs.name, "bad");
        edge_watch__batch_dispose(&b);
        edge_certmap_release(cur);
    }
}

/* A stream cut inside a snapshot: the parse jobs are dropped, nothing leaks, nothing published. */
static void test_snapshot_cut_off_discards_its_jobs(void **state)
{
    (void)state;
    long live = edge_cert_live_count();
    edge_certmap_t *cur = current_table();
    edge_watch__batch_t b;
    edge_watch__batch_init(&b);
    b.parse_threads = 2;
    apply(&b, cur, CERTPLANE__V1__EVENT_TYPE__SNAPSHOT_BEGIN, 20, NULL, NULL);
    char name[16];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "n%d", i);
        apply_pem(&b, cur, CERTPLANE__V1__EVENT_TYPE__UPSERT, 5, name, g_chain, g_key);
    }
    assert_true(b.in_snapshot);
    edge_watch__batch_dispose(&b);
    assert_int_equal(edge_certmap_count(cur), 1);
    edge_certmap_release(cur);
    assert_int_equal(edge_cert_live_count(), live);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_moves_the_revision_only_at_its_end_and_replaces_the_table),
        cmocka_unit_test(test_replay_moves_the_revision_with_every_event_and_keeps_the_table),
        cmocka_unit_test(test_snapshot_parsed_on_threads_applies_in_stream_order),
        cmocka_unit_test(test_snapshot_cut_off_discards_its_jobs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
