/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_ondemand.c - RequestOnDemandCertificate on Redis: refusals (disabled, invalid,
 * pattern, rate) write nothing and queue no job; an allowed name creates one on-demand certificate
 * and one issue job, and asking again is answered by the existing certificate */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controller/metrics/metrics.h"
#include "controller/service/ondemand_ask.h"
#include "tests/unit/controller/service_fixture.h"

typedef Certplane__V1__RequestOnDemandCertificateResponse resp_t;

static char *g_patterns[] = {"*.shop.test", "exact.test"};

static int set_policy(void **state)
{
    (void)state;
    g_cfg.on_demand_allow.v = g_patterns;
    g_cfg.on_demand_allow.n = 2;
    g_cfg.on_demand_max_per_hour = 0;
    g_cfg.on_demand_cooldown_ms = 600000;
    freeReplyObject(sf_raw("DEL ondemand:used"));
    return 0;
}

static int unset_policy(void **state)
{
    (void)state;
    g_cfg.on_demand_allow.v = NULL;
    g_cfg.on_demand_allow.n = 0;
    return 0;
}

static resp_t *ask(const ctl_caller_t *who, const char *name)
{
    cp_err_t err = {0};
    Certplane__V1__RequestOnDemandCertificateRequest r =
        CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_REQUEST__INIT;
    r.name = (char *)name;
    r.edge_id = "edge-1";
    resp_t *out = NULL;
    int rc = sf_call(who, "RequestOnDemandCertificate", &r, (void **)&out, &err);
    if (rc != 0)
        fail_msg("RequestOnDemandCertificate %s: %s", name, err.msg);
    return out;
}

static void expect(const char *name, int decision, const char *reason)
{
    resp_t *out = ask(&SF_EDGE, name);
    assert_int_equal(out->decision, decision);
    assert_string_equal(out->reason, reason);
    sf_free_msg(out);
}

#define ALLOWED CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__ALLOWED
#define REFUSED CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__REFUSED
#define COOLDOWN CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_RESPONSE__DECISION__COOLDOWN

static void test_needs_the_edge_scope(void **state)
{
    (void)state;
    cp_err_t err = {0};
    Certplane__V1__RequestOnDemandCertificateRequest r =
        CERTPLANE__V1__REQUEST_ON_DEMAND_CERTIFICATE_REQUEST__INIT;
    r.name = "a.shop.test";
    assert_int_equal(sf_call(&SF_READ, "RequestOnDemandCertificate", &r, NULL, &err), CP_EPERM);
}

static void test_off_without_a_policy(void **state)
{
    (void)state;
    sf_snap_t before = sf_snap();
    expect("a.shop.test", REFUSED, "disabled");
    sf_snap_t after = sf_snap();
    assert_int_equal(after.revision, before.revision);
    assert_int_equal(after.jobs, before.jobs);
}

static void test_refusals_write_nothing(void **state)
{
    (void)state;
    sf_snap_t before = sf_snap();
    expect("127.0.0.1", REFUSED, "invalid");
    expect("bad_name.shop.test", REFUSED, "invalid");
    expect("*.shop.test", REFUSED, "invalid");
    expect("other.test", REFUSED, "pattern");
    expect("a.b.shop.test", REFUSED, "pattern");
    expect("shop.test", REFUSED, "pattern");
    sf_snap_t after = sf_snap();
    assert_int_equal(after.revision, before.revision);
    assert_int_equal(after.keys, before.keys);
    assert_int_equal(after.jobs, before.jobs);
}

static void test_allowed_name_creates_one_certificate(void **state)
{
    (void)state;
    sf_snap_t before = sf_snap();
    resp_t *out = ask(&SF_EDGE, "New.Shop.Test.");
    assert_int_equal(out->decision, ALLOWED);
    assert_string_equal(out->reason, "created");
    assert_string_equal(out->certificate, "new.shop.test");
    sf_free_msg(out);
    for (int i = 0; i < 5; i++) /* every later ask: the same certificate, no new job */
        expect("new.shop.test", ALLOWED, "exists");
    sf_snap_t after = sf_snap();
    assert_int_equal(after.jobs, before.jobs + 1);
    assert_int_equal(after.revision, before.revision + 1);
    redisReply *r = sf_raw("GET cert:new.shop.test");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, "\"on_demand\":true"));
    assert_non_null(strstr(r->str, "\"domains\":[\"new.shop.test\"]"));
    freeReplyObject(r);
}

static void test_the_hourly_cap_is_global(void **state)
{
    (void)state;
    freeReplyObject(sf_raw("EVAL %s 0", "for _,k in ipairs(redis.call('KEYS','ondemand:orders:*')) "
                                        "do redis.call('DEL',k) end"));
    g_cfg.on_demand_max_per_hour = 2;
    expect("r1.shop.test", ALLOWED, "created");
    expect("r2.shop.test", ALLOWED, "created");
    sf_snap_t before = sf_snap();
    resp_t *out = ask(&SF_EDGE, "r3.shop.test");
    assert_int_equal(out->decision, COOLDOWN);
    assert_string_equal(out->reason, "rate");
    assert_true(out->retry_after_seconds > 0 && out->retry_after_seconds <= 3601);
    sf_free_msg(out);
    assert_int_equal(sf_snap().jobs, before.jobs);
    expect("r1.shop.test", ALLOWED, "exists"); /* an existing one is no new order */
}

static void test_failed_on_demand_certificate_cools_down(void **state)
{
    (void)state;
    expect("fail.shop.test", ALLOWED, "created");
    /* What a failed first issuance leaves: failure_count and a fresh update_time. */
    freeReplyObject(sf_raw("EVAL %s 1 cert:fail.shop.test",
                           "local c = cjson.decode(redis.call('GET', KEYS[1])) "
                           "c['failure_count'] = 1 "
                           "redis.call('SET', KEYS[1], cjson.encode(c))"));
    expect("fail.shop.test", COOLDOWN, "cooldown");
}

/* The ask endpoint: 200 for domain=*.ask.test, 403 otherwise; counts the requests. */
static atomic_int g_asked;
static int g_ask_fd;

static void *ask_main(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(g_ask_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[2048] = "";
        ssize_t n = recv(c, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        atomic_fetch_add(&g_asked, 1);
        char *sp = strchr(buf + 4, ' ');
        if (sp != NULL)
            *sp = '\0';
        bool ok = strlen(buf) > 9 && strcmp(buf + strlen(buf) - 9, ".ask.test") == 0;
        const char *ans = ok ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                             : "HTTP/1.1 403 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send(c, ans, strlen(ans), 0);
        close(c);
    }
}

static void test_the_ask_url_decides_and_is_cached(void **state)
{
    (void)state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    g_ask_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(g_ask_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(g_ask_fd, 16), 0);
    getsockname(g_ask_fd, (struct sockaddr *)&a, &len);
    pthread_t tid;
    pthread_create(&tid, NULL, ask_main, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/check?x=1", ntohs(a.sin_port));
    g_cfg.on_demand_allow.n = 0; /* the ask URL alone */
    g_cfg.on_demand_ask = url;
    g_cfg.on_demand_ask_ttl_ms = 60000;
    ctl_ondemand_ask_clear();
    sf_snap_t before = sf_snap();
    for (int i = 0; i < 3; i++) /* asked once, then from the cache */
        expect("no.other.test", REFUSED, "ask");
    assert_int_equal(atomic_load(&g_asked), 1);
    assert_int_equal(sf_snap().jobs, before.jobs);
    expect("yes.ask.test", ALLOWED, "created");
    assert_int_equal(atomic_load(&g_asked), 2);
    /* an unreachable ask URL refuses */
    g_cfg.on_demand_ask = "http://127.0.0.1:1/ask";
    expect("other.ask.test", REFUSED, "ask");
    g_cfg.on_demand_ask = NULL;
    shutdown(g_ask_fd, SHUT_RDWR);
    close(g_ask_fd);
    pthread_join(tid, NULL);
    ctl_ondemand_ask_clear();
}

static void test_edges_report_what_they_served(void **state)
{
    (void)state;
    cp_err_t err = {0};
    Certplane__V1__ReportEdgeStatusRequest er = CERTPLANE__V1__REPORT_EDGE_STATUS_REQUEST__INIT;
    char *used[] = {"new.shop.test", "Not A Name"};
    er.edge_id = "edge-1";
    er.version = "0.1.0";
    er.on_demand_used = used;
    er.n_on_demand_used = 2;
    assert_int_equal(sf_call(&SF_EDGE, "ReportEdgeStatus", &er, NULL, &err), 0);
    assert_true(sf_raw_int("HGET ondemand:used %s", "new.shop.test") > 1700000000000LL);
    assert_int_equal(sf_raw_int("HLEN ondemand:used", NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs_the_edge_scope),
        cmocka_unit_test_setup(test_off_without_a_policy, unset_policy),
        cmocka_unit_test_setup(test_refusals_write_nothing, set_policy),
        cmocka_unit_test_setup(test_allowed_name_creates_one_certificate, set_policy),
        cmocka_unit_test_setup(test_the_hourly_cap_is_global, set_policy),
        cmocka_unit_test_setup(test_failed_on_demand_certificate_cools_down, set_policy),
        cmocka_unit_test_setup(test_edges_report_what_they_served, set_policy),
        cmocka_unit_test_setup(test_the_ask_url_decides_and_is_cached, set_policy),
    };
    int rc = cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
    g_cfg.on_demand_allow.v = NULL; /* not the config's to free */
    g_cfg.on_demand_allow.n = 0;
    return rc;
}
