/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_edges.c - ReportEdgeStatus and ListEdges: what an edge reports is listed with its
 * peer address, stale edges are neither listed nor kept, and malformed reports change nothing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "tests/unit/controller/service_fixture.h"

/* Per-test setup: no edge registered, so each test lists only its own. */
static int clear_edges(void **state)
{
    (void)state;
    freeReplyObject(sf_raw("DEL edges edges:seen"));
    return 0;
}

static Certplane__V1__ReportEdgeStatusResponse *report(void)
{
    cp_err_t err;
    Certplane__V1__ReportEdgeStatusRequest er = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    er.edge_id = "edge-1.dc_2";
    er.applied_revision = 12;
    er.certificates = 3;
    er.version = "0.1.0";
    Certplane__V1__ReportEdgeStatusResponse *resp = NULL;
    assert_int_equal(sf_call(&SF_EDGE, "ReportEdgeStatus", &er, (void **)&resp, &err), 0);
    return resp;
}

/* An edge last seen long ago (more than 10 TTLs). */
static void add_stale_edge(void)
{
    freeReplyObject(sf_raw("ZADD edges:seen 1000 %s", "old-edge"));
    freeReplyObject(
        sf_raw("HSET edges old-edge %s", "{\"edge_id\":\"old-edge\",\"last_seen_ms\":1000}"));
}

static Certplane__V1__ListEdgesResponse *list(void)
{
    cp_err_t err;
    Certplane__V1__ListEdgesRequest lr = CERTPLANE__V1__LIST_EDGES_REQUEST__INIT;
    Certplane__V1__ListEdgesResponse *le = NULL;
    assert_int_equal(sf_call(&SF_READ, "ListEdges", &lr, (void **)&le, &err), 0);
    return le;
}

static void test_edge_report_answers_the_ttl_in_seconds(void **state)
{
    (void)state;
    Certplane__V1__ReportEdgeStatusResponse *resp = report();
    assert_int_equal(resp->ttl_seconds, 30);
    sf_free_msg(resp);
}

static void test_listed_edge_carries_its_report_and_peer_address(void **state)
{
    (void)state;
    sf_free_msg(report());
    Certplane__V1__ListEdgesResponse *le = list();
    assert_string_equal(le->edges[0]->edge_id, "edge-1.dc_2");
    assert_int_equal(le->edges[0]->applied_revision, 12);
    assert_int_equal(le->edges[0]->certificates, 3);
    assert_string_equal(le->edges[0]->address, "10.0.0.3:55");
    assert_non_null(le->edges[0]->last_seen);
    sf_free_msg(le);
}

static void test_stale_edge_is_not_listed(void **state)
{
    (void)state;
    sf_free_msg(report());
    add_stale_edge();
    Certplane__V1__ListEdgesResponse *le = list();
    assert_int_equal(le->n_edges, 1);
    assert_string_equal(le->edges[0]->edge_id, "edge-1.dc_2");
    sf_free_msg(le);
}

static void test_stale_edge_is_pruned_when_edges_are_listed(void **state)
{
    (void)state;
    add_stale_edge();
    sf_free_msg(list());
    assert_int_equal(sf_raw_int("HEXISTS edges %s", "old-edge"), 0);
}

static void test_edge_report_refuses_invalid_edge_ids(void **state)
{
    (void)state;
    Certplane__V1__ReportEdgeStatusRequest er = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    er.edge_id = "bad/id";
    sf_expect_bad("ReportEdgeStatus", &er, CP_EINVAL, "edge_id", "edge bad/id");
    char longid[300];
    memset(longid, 'e', 254);
    longid[254] = '\0';
    er.edge_id = longid;
    sf_expect_bad("ReportEdgeStatus", &er, CP_EINVAL, "edge_id", "edge id too long");
    er.edge_id = "";
    sf_expect_bad("ReportEdgeStatus", &er, CP_EINVAL, "edge_id", "edge id empty");
}

static void test_edge_report_refuses_a_negative_applied_revision(void **state)
{
    (void)state;
    Certplane__V1__ReportEdgeStatusRequest er = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    er.edge_id = "e";
    er.applied_revision = -1;
    sf_expect_bad("ReportEdgeStatus", &er, CP_EINVAL, "applied_revision", "edge revision -1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_edge_report_answers_the_ttl_in_seconds, clear_edges),
        cmocka_unit_test_setup(test_listed_edge_carries_its_report_and_peer_address, clear_edges),
        cmocka_unit_test_setup(test_stale_edge_is_not_listed, clear_edges),
        cmocka_unit_test_setup(test_stale_edge_is_pruned_when_edges_are_listed, clear_edges),
        cmocka_unit_test_setup(test_edge_report_refuses_invalid_edge_ids, clear_edges),
        cmocka_unit_test_setup(test_edge_report_refuses_a_negative_applied_revision, clear_edges),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
