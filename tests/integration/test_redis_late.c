/* SPDX-License-Identifier: Apache-2.0 */
/* test_redis_late.c - a controller started before its Redis: alive but not ready, then ready,
 * serving RPCs and Watch events once Redis appears, without a restart (a Kubernetes cold start) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/controller.h"
#include "tests/support/harness.h"

#define ADMIN "adm1n-token"
#define READ "re4d-token"

static char *sh_out(const char *cmd)
{
    static char buf[65536];
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    return buf;
}

/* The HTTP status of GET path (with the token when not NULL), as text ("000": no answer). */
static const char *http_code(int port, const char *path, const char *token)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null --max-time 5 -w '%%{http_code}' %s%s%s "
             "'http://127.0.0.1:%d%s'",
             token != NULL ? "-H 'Authorization: Bearer " : "", token != NULL ? token : "",
             token != NULL ? "'" : "", port, path);
    return sh_out(cmd);
}

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "rb");
    size_t n = f != NULL ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f != NULL)
        fclose(f);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_controller_started_before_redis_becomes_ready_when_redis_appears(void **state)
{
    (void)state;
    char dir[256], cmd[2048], acme[128], watch_out[300], buf[65536];
    assert_int_equal(cp_test_tmpdir("redislate", dir, sizeof dir), 0);
    /* Redis's port and directory, then nothing listening on that port. */
    cp_test_redis_t redis;
    assert_int_equal(cp_test_redis_start(&redis, NULL), 0);
    assert_int_equal(cp_test_stop(&redis.proc, SIGTERM, 10000), 0);

    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    const char *args[] = {acme, "--workers=1", "--acme-timeout=2s", "--watch-max-per-token=1",
                          NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," READ ":read", NULL};
    cp_test_controller_t ctl;
    assert_int_equal(cp_test_controller_start(&ctl, redis.url, dir, args, env), 0);

    /* Alive, not ready; and it stays up while Redis is away. */
    for (int i = 0; i < 3; i++) {
        assert_string_equal(http_code(ctl.http_port, "/healthz", NULL), "200");
        assert_string_equal(http_code(ctl.http_port, "/readyz", NULL), "503");
        usleep(300 * 1000);
    }
    assert_int_equal(kill(ctl.proc.pid, 0), 0);

    /* Redis appears on its port: ready within a bound, no restart. */
    assert_int_equal(cp_test_redis_restart(&redis), 0);
    long long t0 = now_ms();
    while (strcmp(http_code(ctl.http_port, "/readyz", NULL), "200") != 0 && now_ms() - t0 < 10000)
        usleep(100 * 1000);
    assert_string_equal(http_code(ctl.http_port, "/readyz", NULL), "200");
    fprintf(stderr, "ready %lld ms after Redis answered\n", now_ms() - t0);

    /* A Watch started now gets live events: the relay runs. */
    snprintf(watch_out, sizeof watch_out, "%s/watch.ndjson", dir);
    snprintf(cmd, sizeof cmd,
             "curl -s -N --max-time 6 -H 'Authorization: Bearer " READ "' "
             "'http://127.0.0.1:%d/v1/watch?fromRevision=0' > '%s' 2>/dev/null &",
             ctl.http_port, watch_out);
    assert_int_equal(system(cmd), 0);
    t0 = now_ms();
    do {
        usleep(100 * 1000);
        slurp(watch_out, buf, sizeof buf);
    } while (strstr(buf, "SNAPSHOT_END") == NULL && now_ms() - t0 < 5000);
    assert_non_null(strstr(buf, "SNAPSHOT_END"));

    /* A second Watch of the same token is over --watch-max-per-token=1: 429. */
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null --max-time 3 -w '%%{http_code}' -H 'Authorization: Bearer " READ
             "' 'http://127.0.0.1:%d/v1/watch?fromRevision=0'",
             ctl.http_port);
    assert_string_equal(sh_out(cmd), "429");

    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer " ADMIN "' "
             "-H 'Content-Type: application/json' -d '{\"name\":\"late\",\"domains\":"
             "[\"late.example.com\"],\"email\":\"ops@example.com\"}' "
             "http://127.0.0.1:%d/v1/certificates",
             ctl.http_port);
    assert_string_equal(sh_out(cmd), "200");
    t0 = now_ms();
    do {
        usleep(100 * 1000);
        slurp(watch_out, buf, sizeof buf);
    } while (strstr(buf, "\"name\":\"late\"") == NULL && now_ms() - t0 < 5000);
    if (strstr(buf, "\"name\":\"late\"") == NULL) {
        cp_test_controller_dump_log(&ctl, 40);
        fail_msg("no event for the new certificate on the watch:\n%s", buf);
    }

    int ctl_status = cp_test_controller_stop(&ctl);
    cp_test_redis_stop(&redis);
    assert_int_equal(ctl_status, 0);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_controller_started_before_redis_becomes_ready_when_redis_appears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
