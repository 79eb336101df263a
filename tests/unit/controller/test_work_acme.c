/* SPDX-License-Identifier: Apache-2.0 */
/* test_work_acme.c - the one ACME client factory and the providers it takes everything from:
 * which CA gets which EAB pair and account key type, which account email, providers from
 * --providers-file and their checks at start, the issuer order and which failures fail over */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/work/work_acme.h"
#include "controller/work/work_issuers.h"

#define MAC "c2VjcmV0LWhtYWMta2V5LXRoYXQtaXMtbG9uZy1lbm91Z2g"

/* Parses the flags (plus the ones every test needs) into *cfg; returns ctl_config_parse's code. */
static int parse(ctl_config_t *cfg, cp_err_t *err, const char *const *flags)
{
    char *argv[32] = {"certplane-controller", "--insecure-no-auth", "--insecure-plaintext-keys",
                      "--acme-timeout", "1234ms"};
    int argc = 5;
    for (size_t i = 0; flags[i] != NULL; i++)
        argv[argc++] = (char *)flags[i];
    argv[argc] = NULL;
    return ctl_config_parse(cfg, argc, argv, err);
}

static void config_for(ctl_config_t *cfg, const ctl_provider_t **p, const char *ref,
                       const char *email, ctl_acme_config_t *ac, ctl_provider_t *adhoc)
{
    *p = ctl_work_provider(cfg, ref, adhoc);
    assert_non_null(*p);
    ctl_work_acme_config(*p, cfg, email, ac);
}

/* The EAB pair of the flags belongs to the default CA: a certificate at another CA gets an account
 * without binding (the revoke path once sent it to every CA). */
static void test_eab_is_applied_to_the_default_ca_only(void **state)
{
    (void)state;
    ctl_config_t cfg;
    cp_err_t err = {0};
    const char *f[] = {"--acme-provider", "zerossl", "--eab-kid", "kid-1",
                       "--eab-hmac-key",  MAC,       NULL};
    assert_int_equal(parse(&cfg, &err, f), 0);
    ctl_acme_config_t ac;
    ctl_provider_t adhoc;
    const ctl_provider_t *p;
    config_for(&cfg, &p, "zerossl", "a@example.com", &ac, &adhoc);
    assert_string_equal(p->name, "default");
    assert_string_equal(ac.eab_kid, "kid-1");
    assert_string_equal(ac.eab_hmac_key, MAC);
    assert_string_equal(ac.directory, "zerossl");
    assert_int_equal(ac.deadline_ms, 1234);
    assert_int_equal(ac.account_key_type, CP_KEY_EC_P256);
    config_for(&cfg, &p, "letsencrypt", "a@example.com", &ac, &adhoc);
    assert_null(ac.eab_kid);
    assert_null(ac.eab_hmac_key);
    config_for(&cfg, &p, "https://acme.other.example/directory", NULL, &ac, &adhoc);
    assert_null(ac.eab_kid);
    assert_null(ctl_work_provider(&cfg, "myca", &adhoc)); /* neither name, alias nor URL */
    ctl_config_dispose(&cfg);
}

/* A provider name and its directory URL are one CA. */
static void test_default_ca_is_compared_by_directory_url(void **state)
{
    (void)state;
    const char *url = ctl_acme_directory_url("letsencrypt");
    ctl_config_t cfg;
    cp_err_t err = {0};
    const char *f[] = {"--eab-kid", "kid-1", "--eab-hmac-key", MAC, NULL};
    assert_int_equal(parse(&cfg, &err, f), 0);
    ctl_acme_config_t ac;
    ctl_provider_t adhoc;
    const ctl_provider_t *p;
    config_for(&cfg, &p, url, "a@example.com", &ac, &adhoc);
    assert_string_equal(ac.eab_kid, "kid-1");
    config_for(&cfg, &p, "default", "a@example.com", &ac, &adhoc);
    assert_string_equal(ac.eab_kid, "kid-1");
    config_for(&cfg, &p, "letsencrypt-staging", "a@example.com", &ac, &adhoc);
    assert_null(ac.eab_kid);
    ctl_config_dispose(&cfg);
}

/* An account without contact is stored under "-" by every client of the factory. */
static void test_contactless_account_is_stored_under_a_dash(void **state)
{
    (void)state;
    ctl_config_t cfg;
    cp_err_t err = {0};
    const char *f[] = {NULL};
    assert_int_equal(parse(&cfg, &err, f), 0);
    ctl_acme_config_t ac;
    ctl_provider_t adhoc;
    const ctl_provider_t *p;
    config_for(&cfg, &p, "letsencrypt", "", &ac, &adhoc);
    assert_null(ac.email); /* no contact is sent to the CA */
    assert_string_equal(ctl_work_acme_account_email(""), "-");
    assert_string_equal(ctl_work_acme_account_email(NULL), "-");
    assert_string_equal(ctl_work_acme_account_email("a@example.com"), "a@example.com");
    ctl_config_dispose(&cfg);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A provider of the file: its own directory, CA bundle, EAB (MAC from a file or a variable),
 * profile and RSA account key; the issuer list names providers. */
static void test_providers_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/cp-providers-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char json[300], mac[300], ca[300];
    snprintf(json, sizeof json, "%s/providers.json", dir);
    snprintf(mac, sizeof mac, "%s/mac", dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    write_file(mac, MAC "\n");
    write_file(ca, "-\n");
    char text[2048];
    snprintf(text, sizeof text,
             "{\"providers\": {\"myca\": {\"directory\": \"https://ca.example/dir\", "
             "\"ca_file\": \"%s\", \"eab_kid\": \"kid-9\", \"eab_hmac_key_file\": \"%s\", "
             "\"profile\": \"tlsserver\", \"account_key_type\": \"RSA_2048\"}, "
             "\"other\": {\"directory\": \"letsencrypt-staging\", \"eab_kid\": \"k2\", "
             "\"eab_hmac_key_env\": \"CP_TEST_MAC\"}}}",
             ca, mac);
    write_file(json, text);
    setenv("CP_TEST_MAC", "bWFj", 1);
    ctl_config_t cfg;
    cp_err_t err = {0};
    const char *f[] = {"--providers-file", json, "--issuers", "myca,default", NULL};
    assert_int_equal(parse(&cfg, &err, f), 0);
    assert_int_equal(cfg.n_providers, 3);
    assert_int_equal(ctl_work_check_providers(&cfg, &err), 0);
    ctl_acme_config_t ac;
    ctl_provider_t adhoc;
    const ctl_provider_t *p;
    config_for(&cfg, &p, "myca", "a@example.com", &ac, &adhoc);
    assert_string_equal(ac.directory, "https://ca.example/dir");
    assert_string_equal(ac.ca_file, ca);
    assert_string_equal(ac.eab_kid, "kid-9");
    assert_string_equal(ac.eab_hmac_key, MAC);
    assert_int_equal(ac.account_key_type, CP_KEY_RSA_2048);
    assert_string_equal(p->profile, "tlsserver");
    config_for(&cfg, &p, "other", "a@example.com", &ac, &adhoc);
    assert_string_equal(ac.eab_hmac_key, "bWFj");
    /* The certificate's issuers, its provider, or --issuers. */
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    const char *refs[CTL_WORK_MAX_ISSUERS];
    assert_int_equal(ctl_work_issuers(&cfg, &c, refs, CTL_WORK_MAX_ISSUERS), 2);
    assert_string_equal(refs[0], "myca");
    assert_string_equal(refs[1], "default");
    c.provider = (char *)"other";
    assert_int_equal(ctl_work_issuers(&cfg, &c, refs, CTL_WORK_MAX_ISSUERS), 1);
    assert_string_equal(refs[0], "other");
    ctl_config_dispose(&cfg);
    unlink(json);
    unlink(mac);
    unlink(ca);
    rmdir(dir);
}

/* Mistakes in the file are refused at start, naming the file, the provider and the field. */
static void test_providers_file_mistakes(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *flags;
        const char *says;
    } cases[] = {
        {"{\"providers\": {\"a\": {}}}", NULL, "provider \"a\": directory: required"},
        {"{\"providers\": {\"a\": {\"directory\": \"http://x/\"}}}", NULL, "not an https://"},
        {"{\"providers\": {\"a\": {\"directory\": \"letsencrypt\", \"colour\": \"red\"}}}", NULL,
         "unknown field \"colour\""},
        {"{\"providers\": {\"a\": {\"directory\": \"letsencrypt\", \"eab_kid\": \"k\", "
         "\"eab_hmac_key\": \"x\"}}}",
         NULL, "use eab_hmac_key_file or eab_hmac_key_env"},
        {"{\"providers\": {\"a\": {\"directory\": \"letsencrypt\", \"eab_kid\": \"k\"}}}", NULL,
         "go together"},
        {"{\"providers\": {\"a\": {\"directory\": \"letsencrypt\", \"account_key_type\": "
         "\"EC_P384\"}}}",
         NULL, "EC_P256 or RSA_2048"},
        {"{\"providers\": {\"Bad Name\": {\"directory\": \"letsencrypt\"}}}", NULL, "a name is"},
        {"{\"providers\": {\"default\": {\"directory\": \"letsencrypt\"}}}", NULL, "defined twice"},
        {"{\"providers\": {\"a\": {\"directory\": \"letsencrypt\"}}}", "b",
         "--issuers: no provider \"b\" (configured: default, a)"},
        {"{\"providers\": [", NULL, ".json:1:15: "},
    };
    char path[] = "/tmp/cp-providers-XXXXXX.json";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].json);
        ctl_config_t cfg;
        cp_err_t err = {0};
        const char *f[] = {"--providers-file", path, "--issuers",
                           cases[i].flags != NULL ? cases[i].flags : "default", NULL};
        assert_int_equal(parse(&cfg, &err, f), CP_EINVAL);
        if (strstr(err.msg, cases[i].says) == NULL)
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg, cases[i].says);
        ctl_config_dispose(&cfg);
    }
    unlink(path);
    /* An alias the client does not know is caught at start, one floor up. */
    ctl_config_t cfg;
    cp_err_t err = {0};
    const char *f[] = {"--acme-provider", "myca", NULL};
    assert_int_equal(parse(&cfg, &err, f), 0);
    assert_int_equal(ctl_work_check_providers(&cfg, &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "provider \"default\": directory \"myca\""));
    ctl_config_dispose(&cfg);
}

/* Which failures move an issuance on to the next issuer. */
static void test_failover_worthy(void **state)
{
    (void)state;
    cp_err_t e = {0};
    int64_t now = 1000000, hour = 3600000;
    assert_true(ctl_work_failover_worthy(CP_EUNAVAIL, &e, 0, now, hour));
    assert_true(ctl_work_failover_worthy(CP_ETIMEDOUT, &e, 0, now, hour));
    assert_true(ctl_work_failover_worthy(CP_EBUSY, &e, now + 2 * hour, now, hour));
    assert_false(ctl_work_failover_worthy(CP_EBUSY, &e, now + 60000, now, hour));
    snprintf(e.msg, sizeof e.msg, "newOrder: urn:ietf:params:acme:error:serverInternal: down");
    assert_true(ctl_work_failover_worthy(CP_EACME, &e, 0, now, hour));
    snprintf(e.msg, sizeof e.msg, "newOrder: newNonce: HTTP 500 without Replay-Nonce");
    assert_true(ctl_work_failover_worthy(CP_EPROTO, &e, 0, now, hour));
    snprintf(e.msg, sizeof e.msg, "newAccount: urn:ietf:params:acme:error:unauthorized: no");
    assert_true(ctl_work_failover_worthy(CP_EACME, &e, 0, now, hour));
    snprintf(e.msg, sizeof e.msg,
             "authorization a.example: urn:ietf:params:acme:error:"
             "unauthorized: invalid response");
    assert_false(ctl_work_failover_worthy(CP_EACME, &e, 0, now, hour));
    snprintf(e.msg, sizeof e.msg, "newOrder: urn:ietf:params:acme:error:rejectedIdentifier");
    assert_false(ctl_work_failover_worthy(CP_EACME, &e, 0, now, hour));
    assert_false(ctl_work_failover_worthy(CP_EINVAL, &e, 0, now, hour));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eab_is_applied_to_the_default_ca_only),
        cmocka_unit_test(test_default_ca_is_compared_by_directory_url),
        cmocka_unit_test(test_contactless_account_is_stored_under_a_dash),
        cmocka_unit_test(test_providers_file),
        cmocka_unit_test(test_providers_file_mistakes),
        cmocka_unit_test(test_failover_worthy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
