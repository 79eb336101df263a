/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_ondemand_unused.c - issue 14: --on-demand-unused-after. Two on-demand certificates
 * with a 30 s lifetime (Pebble): one an edge keeps reporting in use (ondemand:used), one nobody
 * uses. At renewal time the used one is renewed (a second order, a new serial); the unused one is
 * not (no order), its last_error says why, and it stays served (VALID) until it expires. An
 * ordinary certificate unused as long is renewed as always. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "controller/store/certrec.h"
#include "controller/store/store_cert.h"
#include "controller/store/store_ondemand.h"
#include "tests/integration/test_work_env.h"

#define VALIDITY_S 30

static work_env_t env;

/* work_env_create, marked on_demand as RequestOnDemandCertificate marks it. */
static int create(const char *name, bool on_demand)
{
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    char domain[128], *domains[] = {domain}, *json = NULL;
    size_t len = 0;
    int64_t now = work_env_now_ms();
    snprintf(domain, sizeof domain, "%s.example.test", name);
    c.name = (char *)name;
    c.n_domains = 1;
    c.domains = domains;
    c.email = env.email;
    c.key_type = CERTPLANE__V1__KEY_TYPE__EC_P256;
    c.state = CERTPLANE__V1__STATE__PENDING;
    c.on_demand = on_demand;
    created.seconds = now / 1000;
    c.create_time = &created;
    c.update_time = &created;
    cp_err_t err = {0};
    int rc = ctl_certrec_encode(&c, &json, &len, &err);
    ctl_store_cert_write_t w = {.name = name,
                                .json = json,
                                .json_len = len,
                                .mode = CTL_STORE_CREATE,
                                .renew_at = (double)(now + 10000) / 1000.0,
                                .job_kind = "issue"};
    if (rc == 0)
        rc = ctl_store_cert_put(env.acme.store, &w, NULL, &err);
    free(json);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    return work_env_setup(&env, VALIDITY_S);
}

static int teardown(void **state)
{
    (void)state;
    return work_env_teardown(&env);
}

static void test_unused_on_demand_certificate_is_not_renewed(void **state)
{
    (void)state;
    ctl_config_t *cfg = work_env_config(&env, "ctl-od", 2, 10000);
    cfg->on_demand_unused_ms = 8000;
    ctl_work_t *w = work_env_run(&env, cfg);
    assert_non_null(w);
    assert_int_equal(create("used", true), 0);
    assert_int_equal(create("idle", true), 0);
    assert_int_equal(create("plain", false), 0);
    char serial[3][128];
    const char *names[] = {"used", "idle", "plain"};
    for (int i = 0; i < 3; i++) {
        Certplane__V1__Certificate *c =
            work_env_wait(&env, names[i], CERTPLANE__V1__STATE__VALID, NULL, 60000);
        assert_non_null(c);
        snprintf(serial[i], sizeof serial[i], "%s", c->serial);
        work_env_cert_free(c);
    }
    int orders0 = work_env_orders(&env);
    /* An edge reports "used" every second until past its renewal time (a third of 30 s left). */
    const char *used[] = {"used"};
    int64_t t0 = work_env_now_ms();
    while (work_env_now_ms() - t0 < 30000) {
        ctl_store_ondemand_used(env.acme.store, used, 1, work_env_now_ms(), NULL);
        Certplane__V1__Certificate *u = work_env_get(&env, "used");
        bool renewed = u != NULL && strcmp(u->serial, serial[0]) != 0 &&
                       u->state == CERTPLANE__V1__STATE__VALID;
        work_env_cert_free(u);
        Certplane__V1__Certificate *p = work_env_get(&env, "plain");
        renewed = renewed && p != NULL && strcmp(p->serial, serial[2]) != 0;
        work_env_cert_free(p);
        if (renewed)
            break;
        sleep(1);
    }
    sleep(2);
    Certplane__V1__Certificate *u = work_env_get(&env, "used"), *i = work_env_get(&env, "idle"),
                               *p = work_env_get(&env, "plain");
    print_message("[ unused ] used: %s -> %s; plain: %s -> %s; idle: %s (%s), last_error: %s; "
                  "orders since: %d\n",
                  serial[0], u->serial, serial[2], p->serial, i->serial,
                  i->state == CERTPLANE__V1__STATE__VALID ? "VALID" : "not VALID", i->last_error,
                  work_env_orders(&env) - orders0);
    assert_string_not_equal(u->serial, serial[0]);
    assert_string_not_equal(p->serial, serial[2]);
    assert_string_equal(i->serial, serial[1]);
    assert_int_equal(i->state, CERTPLANE__V1__STATE__VALID);
    assert_non_null(strstr(i->last_error, "not renewed (--on-demand-unused-after)"));
    assert_int_equal(work_env_orders(&env) - orders0, 2);
    work_env_cert_free(u);
    work_env_cert_free(i);
    work_env_cert_free(p);
    work_env_halt(&env, w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unused_on_demand_certificate_is_not_renewed, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
