/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_acme.c - the one ACME client factory: which CA gets the EAB pair, which account email
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <string.h>

#include "controller/work/work_acme.h"

static ctl_config_t cfg_with_eab(const char *default_ca)
{
    ctl_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.acme_provider = (char *)default_ca;
    cfg.acme_email = (char *)"ops@example.com";
    cfg.eab_kid = (char *)"kid-1";
    cfg.eab_hmac_key = (char *)"c2VjcmV0LWhtYWMta2V5LXRoYXQtaXMtbG9uZy1lbm91Z2g";
    cfg.acme_timeout_ms = 1234;
    return cfg;
}

/* The EAB pair of the configuration belongs to its default CA: a certificate at another CA gets an
 * account without binding (the revoke path once sent it to every CA). */
static void test_eab_is_applied_to_the_default_ca_only(void **state)
{
    (void)state;
    ctl_config_t cfg = cfg_with_eab("zerossl");
    ctl_acme_config_t ac;
    ctl_work_acme_config(&cfg, "zerossl", "a@example.com", &ac);
    assert_string_equal(ac.eab_kid, "kid-1");
    assert_string_equal(ac.eab_hmac_key, cfg.eab_hmac_key);
    assert_string_equal(ac.directory, "zerossl");
    assert_int_equal(ac.deadline_ms, 1234);
    ctl_work_acme_config(&cfg, "letsencrypt", "a@example.com", &ac);
    assert_null(ac.eab_kid);
    assert_null(ac.eab_hmac_key);
    ctl_work_acme_config(&cfg, "https://acme.other.example/directory", NULL, &ac);
    assert_null(ac.eab_kid);
    assert_null(ac.eab_hmac_key);
}

/* A provider name and its directory URL are one CA. */
static void test_default_ca_is_compared_by_directory_url(void **state)
{
    (void)state;
    const char *url = ctl_acme_directory_url("letsencrypt");
    assert_non_null(url);
    ctl_config_t cfg = cfg_with_eab("letsencrypt");
    ctl_acme_config_t ac;
    ctl_work_acme_config(&cfg, url, "a@example.com", &ac);
    assert_string_equal(ac.eab_kid, "kid-1");
    cfg.acme_provider = (char *)url;
    ctl_work_acme_config(&cfg, "letsencrypt", "a@example.com", &ac);
    assert_string_equal(ac.eab_kid, "kid-1");
    ctl_work_acme_config(&cfg, "letsencrypt-staging", "a@example.com", &ac);
    assert_null(ac.eab_kid);
}

/* An account without contact is stored under "-" by every client of the factory (the revoke path
 * once looked it up under "", where issuance never stored it). */
static void test_contactless_account_is_stored_under_a_dash(void **state)
{
    (void)state;
    ctl_config_t cfg = cfg_with_eab("letsencrypt");
    ctl_acme_config_t ac;
    ctl_work_acme_config(&cfg, "letsencrypt", "", &ac);
    assert_null(ac.email); /* no contact is sent to the CA */
    assert_string_equal(ctl_work_acme_account_email(""), "-");
    assert_string_equal(ctl_work_acme_account_email(NULL), "-");
    assert_string_equal(ctl_work_acme_account_email("a@example.com"), "a@example.com");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eab_is_applied_to_the_default_ca_only),
        cmocka_unit_test(test_default_ca_is_compared_by_directory_url),
        cmocka_unit_test(test_contactless_account_is_stored_under_a_dash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
