/* SPDX-License-Identifier: Apache-2.0 */
/* test_service_import_rpc.c - ImportCertificate through the service core: what an import stores and
 * schedules, who gets the key back, overwrite in one revision, and each refused import leaving
 * Redis as it was (the renewal policy of imports is test_service_import.c) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "shared/x509.h"
#include "tests/unit/controller/service_fixture.h"

static Certplane__V1__Certificate *get(const ctl_caller_t *who, const char *name, bool key)
{
    cp_err_t err;
    Certplane__V1__GetCertificateRequest g = CERTPLANE__V1__GET_CERTIFICATE_REQUEST__INIT;
    g.name = (char *)name;
    g.include_private_key = key;
    Certplane__V1__Certificate *got = NULL;
    assert_int_equal(sf_call(who, "GetCertificate", &g, (void **)&got, &err), 0);
    return got;
}

/* ---- a new name ----------------------------------------------------------------------------- */

static void test_import_stores_a_valid_certificate_described_by_its_chain(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    Certplane__V1__Certificate *c = sf_import("imp", g_pem, g_key, false, &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__VALID);
    assert_int_equal(c->n_domains, 2);
    assert_string_equal(c->domains[0], "imp.example.com");
    assert_non_null(c->not_after);
    assert_true(c->serial[0] != '\0');
    assert_string_equal(c->issuer, "CN=imp.example.com");
    assert_int_equal(c->key_type, CERTPLANE__V1__KEY_TYPE__EC_P256);
    sf_free_msg(c);
}

static void test_import_answer_carries_no_private_key(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    Certplane__V1__Certificate *c = sf_import("imp-answer", g_pem, g_key, false, &err, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(c->private_key_pem, "");
    sf_free_msg(c);
}

static void test_import_without_auto_renew_is_not_scheduled(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    Certplane__V1__Certificate *c = sf_import("imp-manual", g_pem, g_key, false, &err, &rc);
    assert_int_equal(rc, 0);
    assert_null(c->renew_after);
    sf_free_msg(c);
    assert_int_equal(sf_raw_int("ZSCORE certs:by_expiry %s", "imp-manual"), 0);
}

static void test_get_of_an_imported_certificate_hides_the_key_from_readers(void **state)
{
    (void)state;
    sf_import_ok("imp-read");
    Certplane__V1__Certificate *got = get(&SF_READ, "imp-read", false);
    assert_string_equal(got->private_key_pem, "");
    sf_free_msg(got);
}

static void test_get_of_an_imported_certificate_gives_the_key_to_admins_who_ask(void **state)
{
    (void)state;
    sf_import_ok("imp-admin");
    Certplane__V1__Certificate *got = get(&SF_ADMIN, "imp-admin", true);
    assert_non_null(strstr(got->private_key_pem, "BEGIN PRIVATE KEY"));
    sf_free_msg(got);
}

static void test_import_with_auto_renew_is_scheduled_before_expiry_with_default_email(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    Certplane__V1__Certificate *c = sf_import("imp-auto", g_pem, g_key, true, &err, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(c->renew_after);
    assert_true(c->renew_after->seconds < c->not_after->seconds);
    assert_string_equal(c->email, "ops@example.com");
    sf_free_msg(c);
}

static void test_import_of_an_existing_name_is_already_exists(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    sf_import_ok("imp-twice");
    Certplane__V1__Certificate *c = sf_import("imp-twice", g_pem, g_key, false, &err, &rc);
    assert_null(c);
    assert_int_equal(rc, CP_EEXIST);
}

/* ---- overwrite ------------------------------------------------------------------------------ */

/* name imported from g_pem/g_key (first), and a second certificate with its key to replace it. */
typedef struct ow {
    Certplane__V1__Certificate *first;
    char *pem2, *key2;
} ow_t;

static ow_t ow_new(const char *name)
{
    cp_err_t err;
    int rc;
    ow_t o = {0};
    sf_make_pem("ow.example.com", 90, &o.pem2, &o.key2);
    o.first = sf_import(name, g_pem, g_key, false, &err, &rc);
    assert_int_equal(rc, 0);
    usleep(5000); /* a later update_time, so a kept create_time shows */
    return o;
}

static void ow_free(ow_t *o)
{
    sf_free_msg(o->first);
    free(o->pem2);
    free(o->key2);
}

static void test_import_without_overwrite_of_an_existing_name_changes_nothing(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    ow_t o = ow_new("ow-keep");
    sf_snap_t before = sf_snap();
    assert_null(sf_import("ow-keep", o.pem2, o.key2, false, &err, &rc));
    assert_int_equal(rc, CP_EEXIST);
    sf_snap_t after = sf_snap();
    assert_true(before.revision == after.revision && before.keys == after.keys);
    ow_free(&o);
}

static void test_import_overwrite_with_a_key_that_does_not_match_changes_nothing(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    ow_t o = ow_new("ow-mismatch");
    sf_snap_t before = sf_snap();
    assert_null(sf_import_ow("ow-mismatch", o.pem2, g_key, false, true, &err, &rc));
    assert_int_equal(rc, CP_EINVAL);
    sf_snap_t after = sf_snap();
    assert_true(before.revision == after.revision && before.keys == after.keys);
    ow_free(&o);
}

static void test_import_overwrite_replaces_chain_and_key_in_one_revision(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    ow_t o = ow_new("ow");
    sf_snap_t before = sf_snap();
    Certplane__V1__Certificate *c2 = sf_import_ow("ow", o.pem2, o.key2, false, true, &err, &rc);
    assert_int_equal(rc, 0);
    /* One write: one revision (so one UPSERT carrying the new chain and key together). */
    assert_int_equal(c2->revision, before.revision + 1);
    assert_int_equal(sf_snap().revision, before.revision + 1);
    assert_string_not_equal(c2->serial, o.first->serial);
    assert_string_equal(c2->domains[0], "ow.example.com");
    Certplane__V1__Certificate *got = get(&SF_ADMIN, "ow", true);
    assert_string_equal(got->fullchain_pem, o.pem2);
    assert_string_equal(got->serial, c2->serial);
    cp_x509_chain_t *ch = NULL;
    EVP_PKEY *k = NULL;
    assert_int_equal(cp_x509_chain_parse(got->fullchain_pem, strlen(got->fullchain_pem), &ch, NULL),
                     0);
    assert_int_equal(
        cp_x509_key_from_pem(got->private_key_pem, strlen(got->private_key_pem), &k, NULL), 0);
    assert_int_equal(cp_x509_key_matches(ch->certs[0], k, NULL), 0);
    cp_x509_chain_free(ch);
    EVP_PKEY_free(k);
    sf_free_msg(got);
    sf_free_msg(c2);
    ow_free(&o);
}

static void test_import_overwrite_keeps_create_time_and_advances_update_time(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    ow_t o = ow_new("ow-times");
    Certplane__V1__Certificate *c1 = o.first;
    Certplane__V1__Certificate *c2 =
        sf_import_ow("ow-times", o.pem2, o.key2, false, true, &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c2->create_time->seconds, c1->create_time->seconds);
    assert_int_equal(c2->create_time->nanos, c1->create_time->nanos);
    assert_true(c2->update_time->seconds * 1000000000LL + c2->update_time->nanos >
                c1->update_time->seconds * 1000000000LL + c1->update_time->nanos);
    sf_free_msg(c2);
    ow_free(&o);
}

static void test_import_overwrite_of_an_unknown_name_creates_it(void **state)
{
    (void)state;
    cp_err_t err;
    int rc;
    char *pem2 = NULL, *key2 = NULL;
    sf_make_pem("ow.example.com", 90, &pem2, &key2);
    Certplane__V1__Certificate *c3 = sf_import_ow("ow-new", pem2, key2, false, true, &err, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(c3->state, CERTPLANE__V1__STATE__VALID);
    sf_free_msg(c3);
    free(pem2);
    free(key2);
}

/* ---- refused imports: each gives its code and message and leaves Redis as it was ------------ */

static Certplane__V1__ImportCertificateRequest good_import(void)
{
    Certplane__V1__ImportCertificateRequest im = CERTPLANE__V1__IMPORT_CERTIFICATE_REQUEST__INIT;
    im.name = "imp2";
    im.fullchain_pem = g_pem;
    im.private_key_pem = g_key;
    return im;
}

static void test_import_refuses_an_invalid_name(void **state)
{
    (void)state;
    Certplane__V1__ImportCertificateRequest im = good_import();
    im.name = "x y";
    sf_expect_bad("ImportCertificate", &im, CP_EINVAL, "name:", "import bad name");
}

static void test_import_refuses_a_missing_or_unparsable_chain(void **state)
{
    (void)state;
    Certplane__V1__ImportCertificateRequest im = good_import();
    im.fullchain_pem = "";
    sf_expect_bad("ImportCertificate", &im, CP_EINVAL, "fullchain_pem: required", "import no pem");
    im.fullchain_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    sf_expect_bad("ImportCertificate", &im, CP_EINVAL, "fullchain_pem", "import garbage pem");
}

static void test_import_refuses_a_key_that_does_not_match_the_chain(void **state)
{
    (void)state;
    Certplane__V1__ImportCertificateRequest im = good_import();
    im.private_key_pem = g_other_key;
    sf_expect_bad("ImportCertificate", &im, CP_EINVAL,
                  "private_key_pem: private key does not match", "import key mismatch");
}

static void test_import_refuses_an_unparsable_key(void **state)
{
    (void)state;
    Certplane__V1__ImportCertificateRequest im = good_import();
    im.private_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    sf_expect_bad("ImportCertificate", &im, CP_EINVAL, "private_key_pem", "import garbage key");
}

static void test_import_refuses_an_expired_certificate(void **state)
{
    (void)state;
    Certplane__V1__ImportCertificateRequest im = good_import();
    im.fullchain_pem = g_expired_pem;
    im.private_key_pem = g_expired_key;
    sf_expect_bad("ImportCertificate", &im, CP_EINVAL, "expired", "import expired");
}

static void test_import_with_auto_renew_refuses_an_invalid_email(void **state)
{
    (void)state;
    Certplane__V1__ImportCertificateRequest im = good_import();
    im.auto_renew = true;
    im.email = "bad email@example.com";
    sf_expect_bad("ImportCertificate", &im, CP_EINVAL, "email", "import bad email");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_stores_a_valid_certificate_described_by_its_chain),
        cmocka_unit_test(test_import_answer_carries_no_private_key),
        cmocka_unit_test(test_import_without_auto_renew_is_not_scheduled),
        cmocka_unit_test(test_get_of_an_imported_certificate_hides_the_key_from_readers),
        cmocka_unit_test(test_get_of_an_imported_certificate_gives_the_key_to_admins_who_ask),
        cmocka_unit_test(test_import_with_auto_renew_is_scheduled_before_expiry_with_default_email),
        cmocka_unit_test(test_import_of_an_existing_name_is_already_exists),
        cmocka_unit_test(test_import_without_overwrite_of_an_existing_name_changes_nothing),
        cmocka_unit_test(test_import_overwrite_with_a_key_that_does_not_match_changes_nothing),
        cmocka_unit_test(test_import_overwrite_replaces_chain_and_key_in_one_revision),
        cmocka_unit_test(test_import_overwrite_keeps_create_time_and_advances_update_time),
        cmocka_unit_test(test_import_overwrite_of_an_unknown_name_creates_it),
        cmocka_unit_test(test_import_refuses_an_invalid_name),
        cmocka_unit_test(test_import_refuses_a_missing_or_unparsable_chain),
        cmocka_unit_test(test_import_refuses_a_key_that_does_not_match_the_chain),
        cmocka_unit_test(test_import_refuses_an_unparsable_key),
        cmocka_unit_test(test_import_refuses_an_expired_certificate),
        cmocka_unit_test(test_import_with_auto_renew_refuses_an_invalid_email),
    };
    return cmocka_run_group_tests(tests, sf_group_setup, sf_group_teardown);
}
