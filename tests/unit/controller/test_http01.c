/* SPDX-License-Identifier: Apache-2.0 */
/* test_http01.c - HTTP-01 responder: token validation, 200 with the key authorization, 404, 405 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "controller/gateway/http01.h"

static int lookup(void *ctx, const char *token, char **ka)
{
    (void)ctx;
    if (strcmp(token, "tok_EN-1") == 0) {
        *ka = strdup("tok_EN-1.thumb");
        return 0;
    }
    if (strcmp(token, "broken") == 0)
        return CP_EUNAVAIL;
    return CP_ENOTFOUND;
}

typedef struct sink {
    char buf[256];
    size_t len;
} sink_t;

static size_t on_data(char *d, size_t size, size_t nmemb, void *ud)
{
    sink_t *s = ud;
    size_t n = size * nmemb;
    if (s->len + n < sizeof(s->buf)) {
        memcpy(s->buf + s->len, d, n);
        s->len += n;
        s->buf[s->len] = '\0';
    }
    return n;
}

static long get(uint16_t port, const char *path, const char *method, sink_t *s)
{
    char url[256];
    long status = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", (unsigned)port, path);
    memset(s, 0, sizeof(*s));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    if (method != NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static void test_token_must_be_base64url(void **state)
{
    (void)state;
    assert_true(ctl_http01_token_valid("abc-_XYZ09", 10));
    assert_false(ctl_http01_token_valid("", 0));
    assert_false(ctl_http01_token_valid("a/b", 3));
    assert_false(ctl_http01_token_valid("a.b", 3));
    assert_false(ctl_http01_token_valid("a=", 2));
}

static void test_server_answers_known_tokens_only(void **state)
{
    (void)state;
    cp_err_t err = {0};
    ctl_http01_server_t *s = NULL;
    sink_t body;
    assert_int_equal(ctl_http01_server_start("127.0.0.1", 0, lookup, NULL, &s, &err), 0);
    uint16_t port = ctl_http01_server_port(s);
    assert_int_equal(get(port, "/.well-known/acme-challenge/tok_EN-1", NULL, &body), 200);
    assert_string_equal(body.buf, "tok_EN-1.thumb");
    assert_int_equal(get(port, "/.well-known/acme-challenge/unknown", NULL, &body), 404);
    assert_int_equal(get(port, "/.well-known/acme-challenge/bad.token", NULL, &body), 404);
    assert_int_equal(get(port, "/.well-known/acme-challenge/", NULL, &body), 404);
    assert_int_equal(get(port, "/.well-known/acme-challenge/broken", NULL, &body), 503);
    assert_int_equal(get(port, "/.well-known/acme-challenge/tok_EN-1", "POST", &body), 405);
    assert_int_equal(get(port, "/other", NULL, &body), 404);
    assert_true(ctl_http01_server_requests(s) >= 6);
    ctl_http01_server_stop(s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_must_be_base64url),
        cmocka_unit_test(test_server_answers_known_tokens_only),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
