/* SPDX-License-Identifier: Apache-2.0 */
/* test_controller_ha.c - controller binaries against real Redis and Pebble: one controller
 * completes HTTP-01 on its own HTTP port; two controllers share the work, order each certificate
 * once, and one survives the other's kill -9 in the middle of issuing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/controller.h"
#include "tests/support/harness.h"
#include "tests/support/pebble.h"

#define ADMIN "ha-admin-token"

typedef struct env {
    char dir[256];
    cp_test_redis_t redis;
    cp_test_pebble_t pebble;
    int http_port; /* controller A's HTTP port: where Pebble validates HTTP-01 */
} env_t;

static char *sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Output of a shell command (at most 256 KiB), for small checks. */
static char *sh(const char *fmt, ...)
{
    static char buf[256 * 1024];
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

static void env_start(env_t *e)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(cp_test_tmpdir("ctlha", e->dir, sizeof e->dir), 0);
    assert_int_equal(cp_test_redis_start(&e->redis, NULL), 0);
    e->http_port = cp_test_free_port();
    cp_test_pebble_opts_t o = {.http_port = e->http_port};
    assert_int_equal(cp_test_pebble_start(&e->pebble, &o), 0);
}

static void env_stop(env_t *e)
{
    cp_test_pebble_stop(&e->pebble);
    cp_test_redis_stop(&e->redis);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(e->dir);
}

static void controller_start(env_t *e, cp_test_controller_t *c, int http_port, const char *workers)
{
    char provider[400], ca[400];
    snprintf(provider, sizeof provider, "--acme-provider=%s", e->pebble.directory_url);
    snprintf(ca, sizeof ca, "--acme-ca-file=%s", e->pebble.ca_file);
    const char *args[] = {provider,
                          ca,
                          "--acme-email=ops@example.com",
                          workers,
                          "--job-timeout=3s",
                          "--acme-timeout=10s",
                          "--challenge-propagation-timeout=1s",
                          NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin", NULL};
    assert_int_equal(cp_test_controller_start_on(c, 0, http_port, e->redis.url, e->dir, args, env),
                     0);
}

static void create(const cp_test_controller_t *c, const char *name)
{
    char *out = sh("curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer " ADMIN "' "
                   "-H 'Content-Type: application/json' -d '{\"name\":\"%s\",\"domains\":"
                   "[\"%s.example.com\",\"www.%s.example.com\"],\"keyType\":\"EC_P256\"}' "
                   "http://127.0.0.1:%d/v1/certificates",
                   name, name, name, c->http_port);
    assert_string_equal(out, "200");
}

/* The state of a certificate, read through any controller's REST API. */
static const char *state_of(int http_port, const char *name)
{
    static char state[32];
    char *out = sh("curl -s -H 'Authorization: Bearer " ADMIN "' "
                   "http://127.0.0.1:%d/v1/certificates/%s",
                   http_port, name);
    char *p = strstr(out, "\"state\":\"");
    snprintf(state, sizeof state, "%.*s", p != NULL ? (int)strcspn(p + 9, "\"") : 0,
             p != NULL ? p + 9 : "");
    return state;
}

/* Waits until every certificate of names is VALID; returns how many are. */
static int wait_valid(int http_port, char names[][32], int n, int timeout_s)
{
    time_t end = time(NULL) + timeout_s;
    int valid = 0;
    while (time(NULL) < end) {
        valid = 0;
        for (int i = 0; i < n; i++)
            valid += strcmp(state_of(http_port, names[i]), "VALID") == 0;
        if (valid == n)
            break;
        sleep(1);
    }
    return valid;
}

static void test_one_controller_completes_http01_on_its_own_http_port(void **state)
{
    (void)state;
    env_t e;
    env_start(&e);
    cp_test_controller_t a;
    controller_start(&e, &a, e.http_port, "--workers=2");
    create(&a, "solo");
    char names[1][32] = {"solo"};
    int valid = wait_valid(a.http_port, names, 1, 60);
    if (valid != 1)
        cp_test_controller_dump_log(&a, 40);
    assert_int_equal(valid, 1);
    /* The chain verifies against Pebble's root, with the intermediate it served. */
    char *root = NULL, *inter = NULL;
    assert_int_equal(cp_test_pebble_mgmt_get(&e.pebble, "/roots/0", &root), 0);
    assert_int_equal(cp_test_pebble_mgmt_get(&e.pebble, "/intermediates/0", &inter), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/root.pem", e.dir);
    FILE *f = fopen(path, "w");
    fputs(root, f);
    fclose(f);
    free(root);
    free(inter);
    char *out =
        sh("cd '%s' && curl -s -H 'Authorization: Bearer " ADMIN "' "
           "http://127.0.0.1:%d/v1/certificates/solo?includePrivateKey=true | "
           "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"fullchainPem\"], end=\"\")'"
           " > chain.pem && awk 'BEGIN{n=0} /BEGIN CERT/{n++} n>1' chain.pem > inter.pem && "
           "openssl verify -CAfile root.pem -untrusted inter.pem chain.pem && "
           "openssl x509 -in chain.pem -noout -ext subjectAltName",
           e.dir, a.http_port);
    assert_non_null(strstr(out, "chain.pem: OK"));
    assert_non_null(strstr(out, "DNS:solo.example.com"));
    assert_non_null(strstr(out, "DNS:www.solo.example.com"));
    assert_int_equal(cp_test_controller_stop(&a), 0);
    env_stop(&e);
}

static void test_two_controllers_order_each_certificate_once_and_survive_kill_9(void **state)
{
    (void)state;
    env_t e;
    env_start(&e);
    cp_test_controller_t a, b;
    controller_start(&e, &a, e.http_port, "--workers=2");
    controller_start(&e, &b, 0, "--workers=2");
    char names[20][32];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof names[i], "ha-%02d", i);
        create(i % 2 ? &a : &b, names[i]); /* created through both */
    }
    int valid = wait_valid(a.http_port, names, 20, 120);
    int orders = cp_test_pebble_log_count(&e.pebble, "Added order \"");
    if (valid != 20 || orders != 20) {
        cp_test_controller_dump_log(&a, 30);
        cp_test_controller_dump_log(&b, 30);
    }
    assert_int_equal(valid, 20);
    assert_int_equal(orders, 20); /* each ordered exactly once */

    /* B dies with kill -9 while it is issuing; A (whose HTTP port Pebble validates on) finishes.
     * Against a stopped Pebble an issuance cannot finish, so B's workers are sure to hold jobs
     * when it dies: with Pebble running a job takes ~50 ms, and on a loaded machine B could be
     * done with all of its jobs before the test looks at who holds what. */
    assert_int_equal(kill(e.pebble.pebble.pid, SIGSTOP), 0);
    char more[8][32];
    for (int i = 0; i < 8; i++) {
        snprintf(more[i], sizeof more[i], "kill-%d", i);
        create(&b, more[i]);
    }
    /* Kill B only once it holds jobs of its own (its consumers, named <host>-<pid>/<n>, have
     * entries pending in the group), so the survivor really has to take over in-flight work. B's
     * workers wait in XREADGROUP, so this is a matter of milliseconds; the bound stays short of
     * --acme-timeout, which A's own jobs spend waiting for Pebble meanwhile. */
    char mine[32];
    snprintf(mine, sizeof mine, "-%d/", (int)b.proc.pid);
    bool b_busy = false;
    for (time_t end = time(NULL) + 5; !b_busy && time(NULL) <= end;) {
        b_busy =
            strstr(sh("redis-cli -p %d XPENDING jobs controllers", e.redis.port), mine) != NULL;
        if (!b_busy)
            usleep(10 * 1000);
    }
    if (b_busy)
        assert_int_equal(kill(b.proc.pid, SIGKILL), 0);
    assert_int_equal(kill(e.pebble.pebble.pid, SIGCONT), 0);
    assert_true(b_busy);
    cp_test_stop(&b.proc, SIGKILL, 2000);
    valid = wait_valid(a.http_port, more, 8, 90);
    if (valid != 8)
        cp_test_controller_dump_log(&a, 40);
    assert_int_equal(valid, 8);
    /* A got there by taking over B's pending jobs, not only its own. */
    assert_true(atoi(sh("grep -c 'reclaimed after' '%s'", a.log_path)) >= 1);
    assert_int_equal(cp_test_controller_stop(&a), 0);
    env_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_controller_completes_http01_on_its_own_http_port),
        cmocka_unit_test(test_two_controllers_order_each_certificate_once_and_survive_kill_9),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
