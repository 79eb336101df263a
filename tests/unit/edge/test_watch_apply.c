/* SPDX-License-Identifier: Apache-2.0 */
/* test_watch_apply.c - Watch events applied to a table version: snapshots versus replays */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "edge/certmap.h"
#include "edge/watch_internal.h"
#include "tests/unit/edge/testcert.h"

static char *g_chain, *g_key;

static int group_setup(void **state)
{
    (void)state;
    const char *names[] = {"a.test"};
    edge_test_pem(names, 1, NULL, &g_chain, &g_key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_chain);
    free(g_key);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_moves_the_revision_only_at_its_end_and_replaces_the_table),
        cmocka_unit_test(test_replay_moves_the_revision_with_every_event_and_keeps_the_table),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
