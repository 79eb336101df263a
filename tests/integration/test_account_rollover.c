/* SPDX-License-Identifier: Apache-2.0 */
/* test_account_rollover.c - RolloverAccountKey against real Pebble and Redis: two controllers issue
 * with the account, one rolls its key over through REST, the stored key changes (sealed) and both
 * controllers go on issuing with the new key under the same account URL */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "controller/acme/acme.h"
#include "controller/store/keywrap.h"
#include "controller/store/store_jobs.h"
#include "shared/mem.h"
#include "tests/support/controller.h"
#include "tests/support/edge.h" /* cp_test_sh */
#include "tests/support/harness.h"
#include "tests/support/pebble.h"

#define ADMIN "roll-admin-token"
#define READ "roll-read-token"
#define EMAIL "ops@example.com"

typedef struct env {
    char dir[256];
    cp_test_redis_t redis;
    cp_test_pebble_t pebble;
    cp_test_controller_t a, b; /* a answers Pebble's HTTP-01 requests; b started before the roll */
} env_t;

static void controller_start(env_t *e, cp_test_controller_t *c, int http_port)
{
    char provider[400], ca[400];
    snprintf(provider, sizeof provider, "--acme-provider=%s", e->pebble.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", e->pebble.ca_file);
    const char *args[] = {provider,
                          ca,
                          "--acme-email=" EMAIL,
                          "--workers=1",
                          "--job-timeout=5s",
                          "--acme-timeout=20s",
                          "--challenge-propagation-timeout=1s",
                          NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," READ ":read", NULL};
    assert_int_equal(cp_test_controller_start_on(c, 0, http_port, e->redis.url, e->dir, args, env),
                     0);
}

/* The stored account of the default CA and EMAIL, opened with the controllers' KEK: key PEM and
 * URL (malloc'd). */
static void stored_account(env_t *e, char **pem, char **url)
{
    ctl_keyring_t *kr = NULL;
    ctl_store_t *s = NULL;
    cp_err_t err = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/test-kek", e->dir);
    assert_int_equal(ctl_keyring_load(path, &kr, &err), 0);
    ctl_store_opts_t o = {.keyring = kr};
    assert_int_equal(ctl_store_new(e->redis.url, &o, &s, &err), 0);
    int rc = ctl_store_account_get(s, e->pebble.directory_url, EMAIL, pem, url, &err);
    if (rc != 0)
        fprintf(stderr, "account_get: %s\n", err.msg);
    assert_int_equal(rc, 0);
    ctl_store_free(s);
    ctl_keyring_free(kr);
}

static void create(const cp_test_controller_t *c, const char *name)
{
    const char *out =
        cp_test_sh("curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer " ADMIN "' "
                   "-H 'Content-Type: application/json' -d '{\"name\":\"%s\",\"domains\":"
                   "[\"%s.example.com\"],\"keyType\":\"EC_P256\"}' "
                   "http://127.0.0.1:%d/v1/certificates",
                   name, name, c->http_port);
    assert_string_equal(out, "200");
}

static const char *state_of(int http_port, const char *name)
{
    static char state[32];
    const char *out = cp_test_sh("curl -s -H 'Authorization: Bearer " ADMIN "' "
                                 "http://127.0.0.1:%d/v1/certificates/%s",
                                 http_port, name);
    char *p = strstr(out, "\"state\":\"");
    snprintf(state, sizeof state, "%.*s", p != NULL ? (int)strcspn(p + 9, "\"") : 0,
             p != NULL ? p + 9 : "");
    return state;
}

static int issued_by(const cp_test_controller_t *c)
{
    return atoi(cp_test_sh("grep -c 'VALID: certificate issued' '%s'", c->log_path));
}

/* Creates certificates (prefix-N) until each controller has issued at least one more than it had,
 * each waited for until VALID (FAILED fails the test). */
static void issue_on_both(env_t *e, const char *prefix)
{
    int a0 = issued_by(&e->a), b0 = issued_by(&e->b);
    for (int i = 0; i < 24 && (issued_by(&e->a) == a0 || issued_by(&e->b) == b0); i++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%d", prefix, i);
        create(i % 2 ? &e->a : &e->b, name);
        time_t end = time(NULL) + 60;
        const char *st = "";
        while (time(NULL) < end) {
            st = state_of(e->a.http_port, name);
            if (strcmp(st, "VALID") == 0 || strcmp(st, "FAILED") == 0)
                break;
            usleep(200 * 1000);
        }
        if (strcmp(st, "VALID") != 0) {
            fprintf(stderr, "%s: %s\n", name,
                    cp_test_sh("curl -s -H 'Authorization: Bearer " ADMIN "' "
                               "http://127.0.0.1:%d/v1/certificates/%s",
                               e->a.http_port, name));
            cp_test_controller_dump_log(&e->a, 30);
            cp_test_controller_dump_log(&e->b, 30);
        }
        assert_string_equal(st, "VALID");
    }
    assert_true(issued_by(&e->a) > a0);
    assert_true(issued_by(&e->b) > b0);
}

/* POST /v1/accounts:rollover with token and body; the HTTP status, the answer in *doc. */
static int rollover(const cp_test_controller_t *c, const char *token, const char *body,
                    json_t **doc)
{
    const char *out = cp_test_sh("curl -s -w '\\n%%{http_code}' -H 'Authorization: Bearer %s' "
                                 "-H 'Content-Type: application/json' -d '%s' "
                                 "http://127.0.0.1:%d/v1/accounts:rollover",
                                 token, body, c->http_port);
    char *nl = strrchr(out, '\n');
    assert_non_null(nl);
    int status = atoi(nl + 1);
    *nl = '\0';
    *doc = json_loads(out, 0, NULL);
    if (status != 200)
        fprintf(stderr, "rollover: %d %s\n", status, out);
    return status;
}

static void test_rollover_over_rest_then_both_controllers_issue_with_the_new_key(void **state)
{
    (void)state;
    env_t e;
    memset(&e, 0, sizeof e);
    assert_int_equal(cp_test_tmpdir("roll", e.dir, sizeof e.dir), 0);
    assert_int_equal(cp_test_redis_start(&e.redis, NULL), 0);
    int http_port = cp_test_free_port();
    cp_test_pebble_opts_t o = {.http_port = http_port};
    assert_int_equal(cp_test_pebble_start(&e.pebble, &o), 0);
    controller_start(&e, &e.a, http_port);
    controller_start(&e, &e.b, 0);

    /* Both controllers' workers hold a client with the account key in memory. */
    issue_on_both(&e, "before");
    char *pem0 = NULL, *url0 = NULL;
    stored_account(&e, &pem0, &url0);
    assert_non_null(url0);

    json_t *doc = NULL;
    assert_int_equal(rollover(&e.a, READ, "{}", &doc), 403);
    json_decref(doc);
    /* While another controller rolls the account (its lock is held), a second rollover waits for
     * nothing and is refused: ABORTED, 409. */
    cp_test_sh("redis-cli -p %d SET 'lock:cert:account:%s:%s' other-holder PX 60000", e.redis.port,
               e.pebble.directory_url, EMAIL);
    assert_int_equal(rollover(&e.a, ADMIN, "{}", &doc), 409);
    json_decref(doc);
    cp_test_sh("redis-cli -p %d DEL 'lock:cert:account:%s:%s'", e.redis.port,
               e.pebble.directory_url, EMAIL);
    assert_int_equal(rollover(&e.a, ADMIN, "{\"keyType\":\"RSA_2048\"}", &doc), 200);
    const char *tp = json_string_value(json_object_get(doc, "keyThumbprint"));
    assert_non_null(tp);
    assert_string_equal(json_string_value(json_object_get(doc, "accountUrl")), url0);
    assert_string_equal(json_string_value(json_object_get(doc, "keyType")), "RSA_2048");
    assert_string_equal(json_string_value(json_object_get(doc, "email")), EMAIL);
    assert_null(json_object_get(doc, "key"));
    char *text = json_dumps(doc, 0);
    assert_null(strstr(text, "PRIVATE"));
    free(text);

    /* The stored key changed, is the one the answer names, and is sealed at rest. */
    char *pem1 = NULL, *url1 = NULL;
    stored_account(&e, &pem1, &url1);
    assert_string_not_equal(pem0, pem1);
    assert_non_null(strstr(pem1, "PRIVATE KEY"));
    assert_string_equal(url1, url0);
    char stored_tp[64];
    cp_err_t err = {0};
    assert_int_equal(ctl_acme_key_thumbprint(pem1, stored_tp, sizeof stored_tp, &err), 0);
    assert_string_equal(stored_tp, tp);
    const char *raw = cp_test_sh("redis-cli -p %d GET 'account:%s:%s'", e.redis.port,
                                 e.pebble.directory_url, EMAIL);
    assert_true(strlen(raw) > 10);
    assert_null(strstr(raw, "PRIVATE KEY"));
    json_decref(doc);

    /* Both go on issuing: the controller that rolled remade its clients; the other one finds out at
     * the CA's refusal of the old key and tries again with the stored one. */
    issue_on_both(&e, "after");
    assert_int_equal(atoi(cp_test_sh("grep -c 'rolled over elsewhere' '%s'", e.a.log_path)), 0);
    assert_true(atoi(cp_test_sh("grep -c 'rolled over elsewhere' '%s'", e.b.log_path)) >= 1);
    char *pem2 = NULL, *url2 = NULL;
    stored_account(&e, &pem2, &url2);
    assert_string_equal(pem2, pem1); /* no new account, no second rollover */
    assert_string_equal(url2, url0);

    /* certplanectl account rollover: the same RPC, the new thumbprint printed, never the key. */
    const char *cli = cp_test_sh("'%s' account rollover --addr http://127.0.0.1:%d --token " ADMIN
                                 " --key-type ec-p256 2>&1",
                                 getenv("CP_CTL_BIN"), e.a.http_port);
    assert_null(strstr(cli, "PRIVATE"));
    char *pem3 = NULL, *url3 = NULL;
    stored_account(&e, &pem3, &url3);
    assert_int_equal(ctl_acme_key_thumbprint(pem3, stored_tp, sizeof stored_tp, &err), 0);
    if (strstr(cli, stored_tp) == NULL || strstr(cli, "EC_P256") == NULL)
        fail_msg("certplanectl: %s (stored key %s)", cli, stored_tp);
    assert_string_equal(url3, url0);
    cp_secure_free_str(pem3);
    free(url3);
    /* EC to EC: the old key's signature type is still accepted, its signature no longer verifies.
     */
    int stale_b = atoi(cp_test_sh("grep -c 'rolled over elsewhere' '%s'", e.b.log_path));
    issue_on_both(&e, "after-cli");
    assert_true(atoi(cp_test_sh("grep -c 'rolled over elsewhere' '%s'", e.b.log_path)) > stale_b);
    assert_int_equal(atoi(cp_test_sh("grep -c 'rolled over elsewhere' '%s'", e.a.log_path)), 0);

    cp_secure_free_str(pem0);
    cp_secure_free_str(pem1);
    cp_secure_free_str(pem2);
    free(url0);
    free(url1);
    free(url2);
    assert_int_equal(cp_test_controller_stop(&e.a), 0);
    assert_int_equal(cp_test_controller_stop(&e.b), 0);
    cp_test_pebble_stop(&e.pebble);
    cp_test_redis_stop(&e.redis);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(e.dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollover_over_rest_then_both_controllers_issue_with_the_new_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
