/* SPDX-License-Identifier: Apache-2.0 */
/* test_webhooks.c - webhook signatures (the Standard Webhooks test vector), secrets, the retry
 * back-off and CreateWebhook's input checks (issue 16) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "controller/service/service_webhooks.h"
#include "controller/work/webhook_sign.h"
#include "shared/base64.h"

/* The example of the Standard Webhooks specification (and its reference libraries). */
static void test_sign_matches_the_standard_webhooks_vector(void **state)
{
    (void)state;
    char sig[CTL_WEBHOOK_SIG_SIZE];
    cp_err_t err = {0};
    const char *body = "{\"test\": 2432232314}";
    assert_int_equal(ctl_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                      "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                      strlen(body), sig, &err),
                     0);
    assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    /* Any change of id, time or body changes it. */
    char other[CTL_WEBHOOK_SIG_SIZE];
    assert_int_equal(ctl_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                      "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body,
                                      strlen(body), other, &err),
                     0);
    assert_string_not_equal(sig, other);
}

static void test_sign_refuses_what_is_not_a_secret(void **state)
{
    (void)state;
    char sig[CTL_WEBHOOK_SIG_SIZE];
    cp_err_t err = {0};
    assert_int_equal(
        ctl_webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "{}", 2, sig, &err),
        CP_EINVAL);
    assert_int_equal(ctl_webhook_sign("whsec_!!!", "m", 1, "{}", 2, sig, &err), CP_EINVAL);
    assert_int_equal(ctl_webhook_sign("whsec_c2hvcnQ=", "m", 1, "{}", 2, sig, &err), CP_EINVAL);
    assert_int_equal(ctl_webhook_sign(NULL, "m", 1, "{}", 2, sig, &err), CP_EINVAL);
}

static void test_secret_is_whsec_and_32_random_bytes(void **state)
{
    (void)state;
    char a[CTL_WEBHOOK_SECRET_SIZE], b[CTL_WEBHOOK_SECRET_SIZE];
    cp_err_t err = {0};
    assert_int_equal(ctl_webhook_secret_new(a, &err), 0);
    assert_int_equal(ctl_webhook_secret_new(b, &err), 0);
    assert_memory_equal(a, "whsec_", 6);
    assert_string_not_equal(a, b);
    uint8_t raw[64];
    size_t n = 0;
    assert_int_equal(cp_base64_decode_to(a + 6, strlen(a + 6), 0, raw, &n), 0);
    assert_int_equal(n, 32);
    char sig[CTL_WEBHOOK_SIG_SIZE];
    assert_int_equal(ctl_webhook_sign(a, "msg_1", 1, "{}", 2, sig, &err), 0);
}

static void test_backoff_doubles_is_capped_and_jittered(void **state)
{
    (void)state;
    /* Jitter keeps each wait in [half, whole] of the doubled base. */
    for (int attempt = 1; attempt <= 12; attempt++) {
        int64_t whole = 1000;
        for (int i = 1; i < attempt && whole < 60000; i++)
            whole *= 2;
        if (whole > 60000)
            whole = 60000;
        int64_t lo = ctl_webhook_backoff_ms(attempt, 1000, 60000, 0);
        int64_t hi = ctl_webhook_backoff_ms(attempt, 1000, 60000, (uint32_t)(whole - whole / 2));
        assert_int_equal(lo, whole / 2);
        assert_int_equal(hi, whole);
        for (uint32_t r = 0; r < 5000; r += 97) {
            int64_t d = ctl_webhook_backoff_ms(attempt, 1000, 60000, r * 2654435761u);
            assert_true(d >= whole / 2 && d <= whole);
        }
    }
    /* A huge attempt count neither overflows nor passes the cap. */
    assert_true(ctl_webhook_backoff_ms(1000000, 1000, 3600000, UINT32_MAX) <= 3600000);
    assert_true(ctl_webhook_backoff_ms(1000000, 1000, 3600000, 0) >= 1800000);
}

static int check(const char *url, const char *const *events, size_t n, const char *filter,
                 cp_err_t *err)
{
    Certplane__V1__CreateWebhookRequest r = CERTPLANE__V1__CREATE_WEBHOOK_REQUEST__INIT;
    r.url = (char *)url;
    r.events = (char **)events;
    r.n_events = n;
    r.name_filter = (char *)filter;
    return ctl_service__webhook_check(&r, err);
}

static void test_create_checks_every_field(void **state)
{
    (void)state;
    cp_err_t err = {0};
    const char *ok[] = {"issued",  "renewed", "renewal_failed", "expiring_soon",
                        "revoked", "deleted", "edge_lagging"};
    assert_int_equal(check("https://hooks.example.com/x?y=1", ok, 7, "*.example.com", &err), 0);
    assert_int_equal(check("http://127.0.0.1:8080/", ok, 1, "", &err), 0);
    static const struct {
        const char *url, *event, *filter, *msg;
    } bad[] = {
        {"", "issued", "", "url: required"},
        {"ftp://x.test/", "issued", "", "url: must start with http:// or https://"},
        {"file:///etc/passwd", "issued", "", "url: must start with"},
        {"http://", "issued", "", "url: not a valid URL"},
        {"http://x.test/a b", "issued", "", "url: spaces"},
        {"http://x.test/\n", "issued", "", "url: spaces"},
        {"http://x.test/", "Issued", "", "events[0]: unknown event type \"Issued\""},
        {"http://x.test/", "issued", "a b", "name_filter: printable"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *ev[] = {bad[i].event};
        assert_int_equal(check(bad[i].url, ev, 1, bad[i].filter, &err), CP_EINVAL);
        if (strstr(err.msg, bad[i].msg) == NULL)
            fail_msg("%s: %s", bad[i].url, err.msg);
    }
    assert_int_equal(check("http://x.test/", ok, 0, "", &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "events: at least one"));
    const char *twice[] = {"issued", "revoked", "issued"};
    assert_int_equal(check("http://x.test/", twice, 3, "", &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "events[2]: \"issued\" given twice"));
    char longurl[2100] = "http://x.test/";
    memset(longurl + 14, 'a', 2040);
    longurl[2054] = '\0';
    assert_int_equal(check(longurl, ok, 1, "", &err), CP_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 2048"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_matches_the_standard_webhooks_vector),
        cmocka_unit_test(test_sign_refuses_what_is_not_a_secret),
        cmocka_unit_test(test_secret_is_whsec_and_32_random_bytes),
        cmocka_unit_test(test_backoff_doubles_is_capped_and_jittered),
        cmocka_unit_test(test_create_checks_every_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
