/* SPDX-License-Identifier: Apache-2.0 */
/* test_grpc_flood.c - the HTTP/2 rapid-reset flood (CVE-2023-44487) against a real controller,
 * plaintext and TLS: tests/integration/api/grpc_flood_check.py sends 200,000
 * HEADERS+RST_STREAM(CANCEL) pairs (python3-h2's hpack, tests/integration/grpc_flood.py) while a
 * python3-grpcio client calls GetCertificate, samples the controller's RSS from /proc/PID/status
 * and checks: GOAWAY(ENHANCE_YOUR_CALM) and a closed connection, RSS growth < 64 MiB, back within
 * 16 MiB of the baseline afterwards, GetCertificate p99 < 50 ms. Without the guard in
 * controller/grpc/grpc_guard.c the RSS reaches gigabytes and no GOAWAY comes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/controller.h"
#include "tests/support/edge.h" /* cp_test_sh */

#define ADMIN "adm1n-token"

/* Under ASan the quarantine keeps freed memory and everything runs slower: the RSS and latency
 * goals are checked on normal builds only. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED "--sanitized"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED "--sanitized"
#endif
#endif
#ifndef SANITIZED
#define SANITIZED "--pairs=200000"
#endif

static cp_test_redis_t g_redis;
static char g_dir[256];
static const char *g_ctl_env[] = {"CERTPLANE_API_TOKENS=" ADMIN ":admin", NULL};

static int group_setup(void **state)
{
    (void)state;
    if (cp_test_tmpdir("cp-grpcflood-", g_dir, sizeof g_dir) != 0 ||
        cp_test_redis_start(&g_redis, NULL) != 0)
        return -1;
    const char *out = cp_test_sh(
        "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
        "-keyout server.key -out server.crt -days 2 -subj /CN=controller.test "
        "-addext subjectAltName=IP:127.0.0.1 2>certs.log && echo certs-ok",
        g_dir);
    return strstr(out, "certs-ok") != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cp_test_redis_stop(&g_redis);
    cp_test_rmrf(g_dir);
    return 0;
}

/* Starts a controller (TLS when `tls`), runs the check script against it, stops it. */
static void run_flood(int tls)
{
    char acme[128], cert[400], key[400];
    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    snprintf(cert, sizeof cert, "--grpc-tls-cert=%s/server.crt", g_dir);
    snprintf(key, sizeof key, "--grpc-tls-key=%s/server.key", g_dir);
    const char *args[] = {acme, "--workers=1", tls ? cert : NULL, key, NULL};
    cp_test_controller_t c;
    assert_int_equal(cp_test_controller_start(&c, g_redis.url, g_dir, args, g_ctl_env), 0);

    char addr[64], pid[32], script[1024], proto[1024], log[512], work[400], ca[400];
    const char *src = getenv("CP_SOURCE_DIR");
    snprintf(addr, sizeof addr, "127.0.0.1:%d", c.grpc_port);
    snprintf(pid, sizeof pid, "%d", (int)c.proc.pid);
    snprintf(script, sizeof script, "%s/tests/integration/api/grpc_flood_check.py", src);
    snprintf(proto, sizeof proto, "%s/proto", src);
    snprintf(work, sizeof work, "%s/py-%s", g_dir, tls ? "tls" : "plain");
    snprintf(log, sizeof log, "%s/grpc_flood_check-%s.log", g_dir, tls ? "tls" : "plain");
    snprintf(ca, sizeof ca, "%s/server.crt", g_dir);
    assert_int_equal(mkdir(work, 0700), 0);
    char *const argv[] = {"/usr/bin/python3",
                          script,
                          "--addr",
                          addr,
                          "--pid",
                          pid,
                          "--admin",
                          ADMIN,
                          "--proto-dir",
                          proto,
                          "--work-dir",
                          work,
                          SANITIZED,
                          tls ? "--ca" : NULL,
                          ca,
                          NULL};
    cp_test_proc_t py;
    assert_int_equal(cp_test_spawn(&py, "grpc_flood_check", argv, NULL, log), 0);
    int status = -1;
    int rc = cp_test_wait_exit(&py, 150000, &status);
    if (rc != 0)
        cp_test_stop(&py, SIGKILL, 1000);
    cp_test_sh("cat '%s' >&2", log);
    int stopped = cp_test_controller_stop(&c);
    if (stopped != 0 || rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        cp_test_controller_dump_log(&c, 20);
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(stopped, 0); /* and it still shuts down cleanly */
}

/* --grpc-max-connections: connections beyond the cap are closed at accept (before TLS or a byte),
 * so idle unauthenticated connections cannot pile up; once some close, new ones are served. */
static void test_connections_beyond_the_cap_are_closed_at_once(void **state)
{
    (void)state;
    char acme[128];
    snprintf(acme, sizeof acme, "--acme-provider=https://127.0.0.1:%d/dir", cp_test_free_port());
    const char *args[] = {acme, "--workers=1", "--grpc-max-connections=20", NULL};
    cp_test_controller_t c;
    assert_int_equal(cp_test_controller_start(&c, g_redis.url, g_dir, args, g_ctl_env), 0);
    int fds[30], closed_early = 0;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)c.grpc_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < 30; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&a, sizeof a), 0);
        usleep(5000);
    }
    usleep(300000);
    for (int i = 0; i < 30; i++) {
        char b;
        struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(fds[i], &b, 1, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            closed_early +=
                i >= 20; /* the first 20 stay open (the prefaceless ones time out later) */
        else
            assert_true(i < 20);
    }
    print_message("[ cap ] 30 connections, cap 20: %d of the last 10 closed at once\n",
                  closed_early);
    assert_int_equal(closed_early, 10);
    for (int i = 0; i < 30; i++)
        close(fds[i]);
    usleep(300000);
    /* Served again: a real gRPC call through the guard. */
    const char *out = cp_test_sh("cd '%s/tests/integration/api' && /usr/bin/python3 -c "
                                 "'import grpc,sys; ch=grpc.insecure_channel(\"127.0.0.1:%d\"); "
                                 "grpc.channel_ready_future(ch).result(timeout=10); print(\"ok\")' "
                                 "2>&1",
                                 getenv("CP_SOURCE_DIR"), c.grpc_port);
    assert_non_null(strstr(out, "ok"));
    assert_int_equal(cp_test_controller_stop(&c), 0);
}

static void test_reset_flood_plaintext(void **state)
{
    (void)state;
    run_flood(0);
}

static void test_reset_flood_tls(void **state)
{
    (void)state;
    run_flood(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connections_beyond_the_cap_are_closed_at_once),
        cmocka_unit_test(test_reset_flood_plaintext),
        cmocka_unit_test(test_reset_flood_tls),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
