/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_clients.c - clients we did not write (python3-grpcio, curl) against a real controller +
 * Redis */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/controller.h"
#include "tests/support/harness.h"

/* Tokens as long as real ones (48 hex digits): gRPC keeps such metadata in heap slices of exactly
 * their size, where reading one byte too far is caught by ASan. */
#define ADMIN "adm1n-7c1f0a9e5b3d4c2a8f6e1b0d9c7a5e3f1b2d4c6a8e0f1a3b"
#define READ "re4d-9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"
#define EDGE "ed9e-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"

/* Starts Redis and a controller (whose ACME CA is a closed port, so queued work fails fast and
 * quietly), runs tests/integration/api/<script> with the addresses and tokens, and checks every
 * exit status. */
static void run_script(const char *script_name)
{
    char dir[256];
    assert_int_equal(cp_test_tmpdir("apiclients", dir, sizeof dir), 0);
    cp_test_redis_t redis;
    assert_int_equal(cp_test_redis_start(&redis, NULL), 0);
    char acme[128];
    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    const char *args[] = {acme, "--workers=1", "--acme-timeout=2s", NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," READ ":read," EDGE ":edge", NULL};
    cp_test_controller_t ctl;
    assert_int_equal(cp_test_controller_start(&ctl, redis.url, dir, args, env), 0);

    char addr[64], http[16], rport[16], script[1024], proto[1024], log[512];
    const char *src = getenv("CP_SOURCE_DIR");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", ctl.grpc_port);
    snprintf(http, sizeof http, "%d", ctl.http_port);
    snprintf(rport, sizeof rport, "%d", redis.port);
    snprintf(script, sizeof script, "%s/tests/integration/api/%s", src, script_name);
    snprintf(proto, sizeof proto, "%s/proto", src);
    snprintf(log, sizeof log, "%s/%s.log", dir, script_name);
    char *const argv[] = {
        "/usr/bin/python3", script, "--addr", addr, "--http", http, "--redis-port", rport,
        "--admin",          ADMIN,  "--read", READ, "--edge", EDGE, "--proto-dir",  proto,
        "--work-dir",       dir,    NULL};
    cp_test_proc_t py;
    assert_int_equal(cp_test_spawn(&py, "client", argv, NULL, log), 0);
    int status = -1;
    int rc = cp_test_wait_exit(&py, 180000, &status);
    if (rc != 0)
        cp_test_stop(&py, SIGKILL, 1000);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cat '%s'", log);
    if (system(cmd) != 0)
        fprintf(stderr, "no client log\n");
    int ctl_status = cp_test_controller_stop(&ctl);
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || ctl_status != 0)
        cp_test_controller_dump_log(&ctl, 60);
    cp_test_redis_stop(&redis);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(ctl_status, 0); /* a clean shutdown on SIGTERM */
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(dir);
}

static void test_python_grpc_client_drives_every_rpc(void **state)
{
    (void)state;
    run_script("grpc_client.py");
}

static void test_curl_on_every_route_and_malformed_requests_change_nothing(void **state)
{
    (void)state;
    run_script("rest_malformed.py");
}

/* HTTP status of GET /v1/certificates with `token`, through the curl command. */
static int status_with(int port, const char *token)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' -H 'Authorization: Bearer %s' "
             "http://127.0.0.1:%d/v1/certificates",
             token, port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int code = 0;
    if (fscanf(p, "%d", &code) != 1)
        code = -1;
    pclose(p);
    return code;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_sighup_rotates_tokens_from_the_file_and_keeps_them_on_a_bad_file(void **state)
{
    (void)state;
    char dir[256], file[400], flag[420];
    assert_int_equal(cp_test_tmpdir("tokens", dir, sizeof dir), 0);
    snprintf(file, sizeof file, "%s/tokens", dir);
    snprintf(flag, sizeof flag, "--api-tokens-file=%s", file);
    write_file(file, "# first generation\nold-admin-token admin\n");
    cp_test_redis_t redis;
    assert_int_equal(cp_test_redis_start(&redis, NULL), 0);
    const char *args[] = {flag, "--workers=1", NULL};
    cp_test_controller_t ctl;
    assert_int_equal(cp_test_controller_start(&ctl, redis.url, dir, args, NULL), 0);
    assert_int_equal(status_with(ctl.http_port, "old-admin-token"), 200);
    assert_int_equal(status_with(ctl.http_port, "new-admin-token"), 401);

    write_file(file, "new-admin-token admin\nnew-read-token read\n");
    kill(ctl.proc.pid, SIGHUP);
    int old = 0, fresh = 0;
    for (int i = 0; i < 50 && !(old == 401 && fresh == 200); i++) {
        usleep(100 * 1000); /* the controller takes signals at least once a second */
        old = status_with(ctl.http_port, "old-admin-token");
        fresh = status_with(ctl.http_port, "new-admin-token");
    }
    assert_int_equal(old, 401);
    assert_int_equal(fresh, 200);
    assert_int_equal(status_with(ctl.http_port, "new-read-token"), 200);

    write_file(file, "broken line with three words\n");
    kill(ctl.proc.pid, SIGHUP);
    sleep(2);
    assert_int_equal(status_with(ctl.http_port, "new-admin-token"), 200); /* kept */
    int ctl_status = cp_test_controller_stop(&ctl);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "grep -q 'tokens kept unchanged' '%s'", ctl.log_path);
    int logged = system(cmd);
    snprintf(cmd, sizeof cmd, "grep -q 'new-admin-token\\|old-admin-token' '%s'", ctl.log_path);
    int leaked = system(cmd);
    cp_test_redis_stop(&redis);
    assert_int_equal(ctl_status, 0);
    assert_int_equal(logged, 0);
    assert_int_not_equal(leaked, 0); /* no token in the log */
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(dir);
}

/* Output of a shell command (at most 64 KiB), for small checks. */
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

static void test_seed_records_written_by_the_python_seed_are_listed_and_served(void **state)
{
    (void)state;
    char dir[256], cmd[2048];
    assert_int_equal(cp_test_tmpdir("seed", dir, sizeof dir), 0);
    cp_test_redis_t redis;
    assert_int_equal(cp_test_redis_start(&redis, NULL), 0);
    /* A record as the seed wrote it: its field names, its extra fields, no state and no revision.
     */
    snprintf(
        cmd, sizeof cmd,
        "cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -days 90 "
        "-subj /CN=legacy.example -addext subjectAltName=DNS:legacy.example 2>/dev/null && "
        "python3 -c 'import json; print(json.dumps({\"domains\": [\"legacy.example\"], "
        "\"email\": \"ops@example.com\", \"fullchain_pem\": open(\"c.pem\").read(), "
        "\"private_key_pem\": open(\"k.pem\").read(), \"created_at\": "
        "\"2024-01-15T12:00:00Z\", \"expires_at\": \"2024-04-14T12:00:00Z\"}))' > rec.json && "
        "redis-cli -p %d -x SET cert:legacy < rec.json",
        dir, redis.port);
    assert_string_equal(sh_out(cmd), "OK\n");
    const char *args[] = {"--workers=1", NULL};
    const char *env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin," EDGE ":edge", NULL};
    cp_test_controller_t ctl;
    assert_int_equal(cp_test_controller_start(&ctl, redis.url, dir, args, env), 0);
    snprintf(cmd, sizeof cmd,
             "curl -s -H 'Authorization: Bearer " ADMIN "' http://127.0.0.1:%d/v1/certificates",
             ctl.http_port);
    char *list = NULL;
    for (int i = 0; i < 50; i++) { /* the controller indexes seed records at start */
        list = sh_out(cmd);
        if (strstr(list, "\"legacy\"") != NULL)
            break;
        usleep(100 * 1000);
    }
    assert_non_null(strstr(list, "\"name\":\"legacy\""));
    assert_non_null(strstr(list, "\"state\":\"VALID\""));
    assert_non_null(strstr(list, "\"notAfter\":"));
    snprintf(cmd, sizeof cmd,
             "curl -s -N --max-time 2 -H 'Authorization: Bearer " EDGE "' "
             "'http://127.0.0.1:%d/v1/watch?fromRevision=0'",
             ctl.http_port);
    char *watch = sh_out(cmd);
    assert_non_null(strstr(watch, "\"name\":\"legacy\""));
    assert_non_null(strstr(watch, "BEGIN PRIVATE KEY")); /* the edge gets the key to serve it */
    int ctl_status = cp_test_controller_stop(&ctl);
    cp_test_redis_stop(&redis);
    assert_int_equal(ctl_status, 0);
    if (getenv("CP_KEEP_TMP") == NULL)
        cp_test_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_grpc_client_drives_every_rpc),
        cmocka_unit_test(test_curl_on_every_route_and_malformed_requests_change_nothing),
        cmocka_unit_test(test_sighup_rotates_tokens_from_the_file_and_keeps_them_on_a_bad_file),
        cmocka_unit_test(test_seed_records_written_by_the_python_seed_are_listed_and_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
