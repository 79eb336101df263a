/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_revoke.c - RevokeCertificate is queued work: the call answers at once with the
 * request recorded and a job queued (a worker revokes, waiting for the certificate's lock), and
 * refuses what cannot be revoked */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "controller/store/store.h"
#include "tests/unit/controller/service_fixture.h"

static int revoke(const ctl_caller_t *who, const char *name, int reason,
                  Certplane__V1__Certificate **out, cp_err_t *err)
{
    Certplane__V1__RevokeCertificateRequest rr = CERTPLANE__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    rr.name = (char *)name;
    rr.reason = reason;
    return sf_call(who, "RevokeCertificate", &rr, (void **)out, err);
}

/* A worker's lock on name, held until unlock(). */
typedef struct lock {
    ctl_store_t *s;
    const char *name;
    char tok[CTL_STORE_LOCK_TOKEN_SIZE];
} lock_t;

static void lock(lock_t *l, const char *name)
{
    l->name = name;
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &l->s, NULL), 0);
    assert_int_equal(ctl_store_lock_acquire(l->s, name, 10000, l->tok, NULL), 0);
}

static void unlock(lock_t *l)
{
    assert_int_equal(ctl_store_lock_release(l->s, l->name, l->tok, NULL), 0);
    ctl_store_free(l->s);
}

static void test_revoke_of_an_unknown_name_is_not_found(void **state)
{
    (void)state;
    cp_err_t err;
    assert_int_equal(revoke(&SF_ADMIN, "nope", 0, NULL, &err), CP_ENOTFOUND);
}

static void test_revoke_of_a_never_issued_certificate_is_failed_precondition(void **state)
{
    (void)state;
    cp_err_t err;
    sf_create_ok("web", "web.example.com");
    assert_int_equal(revoke(&SF_ADMIN, "web", 0, NULL, &err), CP_ESTATE);
    assert_string_equal(err.msg, "certificate \"web\" has no issued certificate to revoke");
}

static void test_revoke_of_a_revoked_certificate_is_failed_precondition(void **state)
{
    (void)state;
    cp_err_t err;
    sf_import_ok("ren");
    sf_force_state("ren", CERTPLANE__V1__STATE__REVOKED);
    assert_int_equal(revoke(&SF_ADMIN, "ren", 0, NULL, &err), CP_ESTATE);
    assert_string_equal(err.msg, "certificate \"ren\" is already revoked");
}

/* A certificate being worked on (locked) is queued all the same, and the worker waits for the
 * lock. */
static void test_revoke_of_a_locked_certificate_answers_at_once_and_queues_one_job(void **state)
{
    (void)state;
    cp_err_t err;
    lock_t l;
    sf_import_ok("rev");
    lock(&l, "rev");
    sf_snap_t before = sf_snap();
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(revoke(&SF_ADMIN, "rev", 4, &c, &err), 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__VALID);
    assert_non_null(c->revoke_request_time);
    assert_int_equal(c->revocation_reason, 4);
    sf_free_msg(c);
    assert_int_equal(sf_snap().revision, before.revision + 1);
    assert_int_equal(sf_snap().jobs, before.jobs + 1);
    unlock(&l);
}

static void test_revoke_asked_again_while_queued_changes_nothing(void **state)
{
    (void)state;
    cp_err_t err;
    lock_t l;
    sf_import_ok("rev-again");
    lock(&l, "rev-again");
    assert_int_equal(revoke(&SF_ADMIN, "rev-again", 4, NULL, &err), 0);
    sf_snap_t queued = sf_snap();
    assert_int_equal(revoke(&SF_ADMIN, "rev-again", 4, NULL, &err), 0);
    assert_int_equal(sf_snap().revision, queued.revision);
    unlock(&l);
}

static void test_revoke_needs_the_admin_scope(void **state)
{
    (void)state;
    cp_err_t err;
    sf_import_ok("rev-scope");
    assert_int_equal(revoke(&SF_READ, "rev-scope", 4, NULL, &err), CP_EPERM);
}

static void test_revoke_refuses_reasons_rfc5280_does_not_allow(void **state)
{
    (void)state;
    sf_import_ok("imp");
    Certplane__V1__RevokeCertificateRequest rv = CERTPLANE__V1__REVOKE_CERTIFICATE_REQUEST__INIT;
    rv.name = "imp";
    int reasons[] = {7, 11, -1};
    for (size_t i = 0; i < 3; i++) {
        rv.reason = reasons[i];
        sf_expect_bad("RevokeCertificate", &rv, CP_EINVAL, "reason", "bad reason");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revoke_of_an_unknown_name_is_not_found),
        cmocka_unit_test(test_revoke_of_a_never_issued_certificate_is_failed_precondition),
        cmocka_unit_test(test_revoke_of_a_revoked_certificate_is_failed_precondition),
        cmocka_unit_test(test_revoke_of_a_locked_certificate_answers_at_once_and_queues_one_job),
        cmocka_unit_test(test_revoke_asked_again_while_queued_changes_nothing),
        cmocka_unit_test(test_revoke_needs_the_admin_scope),
        cmocka_unit_test(test_revoke_refuses_reasons_rfc5280_does_not_allow),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
