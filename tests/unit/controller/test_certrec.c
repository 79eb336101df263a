/* SPDX-License-Identifier: Apache-2.0 */
/* test_certrec.c - unit tests of certificate records: round trip, seed records, garbage */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "controller/store/certrec.h"
#include "shared/json.h"
#include "shared/x509.h"

static char *g_pem;     /* self-signed certificate for www.example.com, example.com */
static char *g_key_pem; /* its key */
static cp_x509_info_t g_info;

static int group_setup(void **state)
{
    (void)state;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    const char *names[] = {"www.example.com", "example.com"};
    assert_int_equal(cp_x509_key_generate(CP_KEY_EC_P256, &key, NULL), 0);
    assert_int_equal(cp_x509_self_signed(key, names, 2, 90, &cert, NULL), 0);
    assert_int_equal(cp_x509_cert_to_pem(cert, &g_pem, NULL), 0);
    assert_int_equal(cp_x509_key_to_pem(key, &g_key_pem, NULL), 0);
    assert_int_equal(cp_x509_info_get(cert, &g_info, NULL), 0);
    X509_free(cert);
    EVP_PKEY_free(key);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    free(g_pem);
    free(g_key_pem);
    cp_x509_info_dispose(&g_info);
    return 0;
}

static Google__Protobuf__Timestamp *ts(int64_t s, int32_t nanos)
{
    Google__Protobuf__Timestamp *t = malloc(sizeof *t);
    assert_non_null(t);
    google__protobuf__timestamp__init(t);
    t->seconds = s;
    t->nanos = nanos;
    return t;
}

/* JSON-escapes a PEM (newlines) into a malloc'd string. */
static char *json_escape(const char *s)
{
    char *out = malloc(strlen(s) * 2 + 1);
    char *p = out;
    assert_non_null(out);
    for (; *s != '\0'; s++) {
        if (*s == '\n') {
            *p++ = '\\';
            *p++ = 'n';
        } else {
            *p++ = *s;
        }
    }
    *p = '\0';
    return out;
}

static void test_full_certificate_round_trips_and_revision_is_left_to_the_store(void **state)
{
    (void)state;
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    char *domains[] = {"example.com", "*.example.com"};
    char *ips[] = {"192.0.2.1", "2001:db8::1"};
    c.name = "web";
    c.n_domains = 2;
    c.domains = domains;
    c.n_ip_addresses = 2;
    c.ip_addresses = ips;
    c.email = "ops@example.com";
    c.provider = "letsencrypt-staging";
    c.profile = "shortlived";
    c.preferred_chain = "ISRG Root X1";
    c.key_type = CERTPLANE__V1__KEY_TYPE__EC_P384;
    c.challenge_type = CERTPLANE__V1__CHALLENGE_TYPE__DNS_01;
    c.state = CERTPLANE__V1__STATE__RENEWING;
    c.not_before = ts(1700000000, 0);
    c.not_after = ts(1707776000, 0);
    c.renew_after = ts(1705000000, 500000000);
    c.serial = "0a1b";
    c.issuer = "CN=Test CA";
    c.fullchain_pem = g_pem;
    c.private_key_pem = g_key_pem;
    c.last_error = "urn:ietf:params:acme:error:rateLimited: too many";
    c.failure_count = 3;
    c.revision = 42;
    c.create_time = ts(1690000000, 0);
    c.update_time = ts(1700000001, 123000000);

    char *json = NULL;
    size_t len = 0;
    assert_int_equal(ctl_certrec_encode(&c, &json, &len, NULL), 0);
    assert_int_equal(len, strlen(json));
    assert_null(strstr(json, "\"revision\""));
    assert_non_null(strstr(json, "\"fullchain_pem\""));
    assert_non_null(strstr(json, "\"private_key_pem\""));
    assert_non_null(strstr(json, "\"state\":\"RENEWING\""));

    /* What the store writes: the revision first, then the record without its brace. */
    char *stored = NULL;
    assert_true(asprintf(&stored, "{\"revision\":\"42\",%s", json + 1) > 0);
    Certplane__V1__Certificate *d = NULL;
    assert_int_equal(ctl_certrec_decode("web", stored, strlen(stored), &d, NULL), 0);
    assert_int_equal(d->revision, 42);

    /* Equal messages pack to equal bytes. */
    size_t n1 = protobuf_c_message_get_packed_size(&c.base);
    size_t n2 = protobuf_c_message_get_packed_size(&d->base);
    assert_int_equal(n1, n2);
    uint8_t *b1 = malloc(n1), *b2 = malloc(n2);
    protobuf_c_message_pack(&c.base, b1);
    protobuf_c_message_pack(&d->base, b2);
    assert_memory_equal(b1, b2, n1);

    free(b1);
    free(b2);
    free(stored);
    free(json);
    protobuf_c_message_free_unpacked(&d->base, NULL);
    free(c.not_before);
    free(c.not_after);
    free(c.renew_after);
    free(c.create_time);
    free(c.update_time);
}

static void test_seed_record_decodes_as_valid_with_facts_from_its_pem(void **state)
{
    (void)state;
    char *pem = json_escape(g_pem), *key = json_escape(g_key_pem), *rec = NULL;
    assert_true(
        asprintf(&rec,
                 "{\"domains\":[\"www.example.com\",\"example.com\"],\"email\":\"a@example.com\","
                 "\"fullchain_pem\":\"%s\",\"private_key_pem\":\"%s\","
                 "\"created_at\":\"2024-01-01T00:00:00.123456\","
                 "\"expires_at\":\"2024-03-31T00:00:00\"}",
                 pem, key) > 0);
    Certplane__V1__Certificate *c = NULL;
    cp_err_t err = {0};
    assert_int_equal(ctl_certrec_decode("www", rec, strlen(rec), &c, &err), 0);
    assert_string_equal(c->name, "www");
    assert_int_equal(c->state, CERTPLANE__V1__STATE__VALID);
    assert_int_equal(c->revision, 0);
    assert_int_equal(c->n_domains, 2);
    assert_string_equal(c->domains[1], "example.com");
    assert_string_equal(c->email, "a@example.com");
    assert_string_equal(c->fullchain_pem, g_pem);
    assert_string_equal(c->private_key_pem, g_key_pem);
    assert_non_null(c->not_before);
    assert_non_null(c->not_after);
    assert_int_equal(c->not_before->seconds, g_info.not_before);
    assert_int_equal(c->not_after->seconds, g_info.not_after);
    assert_string_equal(c->serial, g_info.serial);
    assert_string_equal(c->issuer, g_info.issuer);
    assert_string_equal(c->issuer, "CN=www.example.com");
    protobuf_c_message_free_unpacked(&c->base, NULL);
    free(rec);
    free(pem);
    free(key);
}

static void test_seed_record_without_certificate_is_pending(void **state)
{
    (void)state;
    const char *rec = "{\"domains\":[\"a.example.com\"],\"email\":\"a@example.com\"}";
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(ctl_certrec_decode("a", rec, strlen(rec), &c, NULL), 0);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__PENDING);
    assert_null(c->not_after);
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

static void test_name_comes_from_the_key(void **state)
{
    (void)state;
    const char *rec = "{\"revision\":\"7\",\"name\":\"other\",\"domains\":[\"a.example.com\"],"
                      "\"state\":\"FAILED\"}";
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(ctl_certrec_decode("mine", rec, strlen(rec), &c, NULL), 0);
    assert_string_equal(c->name, "mine");
    assert_int_equal(c->revision, 7);
    assert_int_equal(c->state, CERTPLANE__V1__STATE__FAILED);
    protobuf_c_message_free_unpacked(&c->base, NULL);
}

static void test_garbage_records_are_einval_naming_the_key(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "not json",
        "[1,2]",
        "\"a string\"",
        "{\"domains\":\"example.com\"}",
        "{\"domains\":[1]}",
        "{\"state\":\"SOMETHING\"}",
        "{\"revision\":\"abc\"}",
        "{\"not_after\":\"yesterday\"}",
        "{\"fullchain_pem\":\"-----BEGIN CERTIFICATE-----\\nAAAA\\n-----END CERTIFICATE-----\\n\"}",
        "{\"fullchain_pem\":\"garbage\"}",
        "{\"domains\":[\"a.example.com\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Certplane__V1__Certificate *c = (Certplane__V1__Certificate *)1;
        cp_err_t err = {0};
        int rc = ctl_certrec_decode("broken", bad[i], strlen(bad[i]), &c, &err);
        if (rc != CP_EINVAL)
            fail_msg("record %zu: rc %d, want CP_EINVAL", i, rc);
        assert_null(c);
        if (strncmp(err.msg, "cert:broken", 11) != 0)
            fail_msg("record %zu: message \"%s\" does not name the key", i, err.msg);
    }
}

static void test_encode_rejects_null_and_bad_utf8(void **state)
{
    (void)state;
    char *json = NULL;
    assert_int_equal(ctl_certrec_encode(NULL, &json, NULL, NULL), CP_EINVAL);
    Certplane__V1__Certificate c = CERTPLANE__V1__CERTIFICATE__INIT;
    c.name = "x";
    c.last_error = "\xff\xfe";
    assert_int_equal(ctl_certrec_encode(&c, &json, NULL, NULL), CP_EINVAL);
    assert_null(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_certificate_round_trips_and_revision_is_left_to_the_store),
        cmocka_unit_test(test_seed_record_decodes_as_valid_with_facts_from_its_pem),
        cmocka_unit_test(test_seed_record_without_certificate_is_pending),
        cmocka_unit_test(test_name_comes_from_the_key),
        cmocka_unit_test(test_garbage_records_are_einval_naming_the_key),
        cmocka_unit_test(test_encode_rejects_null_and_bad_utf8),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
