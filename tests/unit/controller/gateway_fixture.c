/* SPDX-License-Identifier: Apache-2.0 */
/* gateway_fixture.c - the redis-server, service, gateway and libcurl client shared by the
 * test_gateway*.c tests */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/store/certrec.h"
#include "controller/store/store.h"
#include "shared/mem.h"
#include "tests/unit/controller/gateway_fixture.h"

cp_test_redis_t g_redis;
ctl_service_t *g_svc;
ctl_gateway_t *g_gw;
int g_port;
static ctl_config_t g_cfg;

size_t gw_on_body(char *p, size_t sz, size_t n, void *u)
{
    gw_resp_t *r = u;
    r->body = cp_xrealloc(r->body, r->len + sz * n + 1);
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = '\0';
    return sz * n;
}

size_t gw_on_header(char *p, size_t sz, size_t n, void *u)
{
    gw_resp_t *r = u;
    size_t len = sz * n;
    if (len > 6 && strncasecmp(p, "Allow:", 6) == 0)
        snprintf(r->allow, sizeof(r->allow), "%.*s", (int)strcspn(p + 7, "\r\n"), p + 7);
    if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0)
        snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)strcspn(p + 14, "\r\n"), p + 14);
    return len;
}

gw_resp_t gw_http(const char *method, const char *path, const char *token, const char *ctype,
                  const char *body, size_t blen)
{
    gw_resp_t r = {0};
    char url[1024], auth[128], ct[128];
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", g_port, path);
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (body != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
        h = curl_slist_append(h, ct);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gw_on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, gw_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (r.body == NULL)
        r.body = cp_xcalloc(1, 1);
    return r;
}

gw_resp_t gw_post(const char *path, const char *token, const char *json)
{
    return gw_http("POST", path, token, NULL, json, strlen(json));
}

void gw_expect(gw_resp_t r, long status, int code, const char *part)
{
    if (r.status != status)
        fail_msg("status %ld, want %ld: %s", r.status, status, r.body);
    if (code >= 0) {
        char want[64];
        snprintf(want, sizeof(want), "{\"code\":%d,\"message\":", code);
        if (strncmp(r.body, want, strlen(want)) != 0 || strstr(r.body, "\"details\":[]") == NULL)
            fail_msg("body %s, want code %d", r.body, code);
    }
    if (part != NULL && strstr(r.body, part) == NULL)
        fail_msg("body %s lacks %s", r.body, part);
    free(r.body);
}

void gw_create_ok(const char *name)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"domains\":[\"%s.example.com\"],\"email\":\"ops@example.com\"}",
             name, name);
    gw_expect(gw_post("/v1/certificates", GW_ADMIN, body), 200, -1, NULL);
}

static int lookup(void *ctx, const char *token, char **ka)
{
    (void)ctx;
    if (strcmp(token, "tok_A-1") != 0)
        return CP_ENOTFOUND;
    *ka = cp_xstrdup("tok_A-1.thumbprint");
    return 0;
}

int gw_setup(void **state)
{
    (void)state;
    cp_err_t err = {0};
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    char *argv[] = {"ctl",
                    "--redis-url",
                    g_redis.url,
                    "--api-tokens",
                    GW_ADMIN ":admin," GW_READ ":read," GW_EDGE ":edge",
                    "--insecure-plaintext-keys",
                    NULL};
    /* Keys are sealed as in production: the keyring main.c would load from --kek-file. */
    if (ctl_config_parse(&g_cfg, 6, argv, &err) != 0 ||
        ctl_keyring_parse("gw-1 Y2VydHBsYW5lIHRlc3Qga2V5LWVuY3J5cHRpb24gMzI=\n", "test",
                          &g_cfg.keyring, &err) != 0 ||
        ctl_service_new(&g_cfg, &g_svc, &err) != 0 || ctl_service_start(g_svc, &err) != 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    ctl_gateway_opts_t o = {.listen = "127.0.0.1:0",
                            .http01_lookup = lookup,
                            .watch_check_ms = 200,
                            .max_watch_queue = GW_WATCH_QUEUE};
    if (ctl_gateway_start_opts(g_svc, &o, &g_gw, &g_port, &err) != 0) {
        fprintf(stderr, "gateway: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int gw_teardown(void **state)
{
    (void)state;
    ctl_gateway_stop(g_gw);
    ctl_service_free(g_svc);
    ctl_keyring_free(g_cfg.keyring);
    ctl_config_dispose(&g_cfg);
    cp_test_redis_stop(&g_redis);
    curl_global_cleanup();
    return 0;
}

void gw_force_record(const char *name, Certplane__V1__State state, const char *fullchain)
{
    ctl_store_t *s = NULL;
    char *json = NULL, *enc = NULL;
    size_t len = 0;
    Certplane__V1__Certificate *c = NULL;
    assert_int_equal(ctl_store_new(g_redis.url, NULL, &s, NULL), 0);
    assert_int_equal(ctl_store_cert_get(s, name, &json, &len, NULL), 0);
    assert_int_equal(ctl_certrec_decode(name, json, len, &c, NULL), 0);
    c->state = state;
    if (fullchain != NULL) {
        if (c->fullchain_pem != protobuf_c_empty_string)
            free(c->fullchain_pem);
        c->fullchain_pem = cp_xstrdup(fullchain);
    }
    assert_int_equal(ctl_certrec_encode(c, &enc, &len, NULL), 0);
    ctl_store_cert_write_t w = {.name = name, .json = enc, .mode = CTL_STORE_ANY, .renew_at = -1};
    assert_int_equal(ctl_store_cert_put(s, &w, NULL, NULL), 0);
    free(json);
    free(enc);
    protobuf_c_message_free_unpacked(&c->base, NULL);
    ctl_store_free(s);
}

long long gw_jobs_queued(void)
{
    redisContext *r = redisConnect("127.0.0.1", g_redis.port);
    assert_non_null(r);
    assert_int_equal(r->err, 0);
    redisReply *x = redisCommand(r, "XLEN jobs");
    assert_non_null(x);
    assert_int_equal(x->type, REDIS_REPLY_INTEGER);
    long long n = x->integer;
    freeReplyObject(x);
    redisFree(r);
    return n;
}
